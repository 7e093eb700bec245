"""Transactions: an immutable, columnar list of customer transactions, sorted once.

A :class:`Transactions` holds one row per transaction, sorted by
(customer, timestamp) when it is built (ties keep their input order), so
that every per-customer window of the large-transaction rules is a
contiguous run found with :func:`numpy.searchsorted`.  Customers and
channels are coded strings: ``customer_codes`` index the sorted distinct
``customer_ids``, ``channel_codes`` the sorted distinct ``channels``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._arrays import INT64_MAX, readonly
from .._errors import InputError
from .._optional import import_optional
from ..io import DIRECTIONS, read_transaction_file, write_transaction_file
from ..portfolio import Portfolio

__all__ = [
    "DIRECTIONS",
    "TransactionError",
    "Transactions",
    "read_transactions",
    "synthetic_transactions",
]

_SECONDS_PER_DAY: Final = 86_400
_FIRST: Final = int(np.datetime64("0001-01-01T00:00:00", "s").astype(np.int64))
_LAST: Final = int(np.datetime64("9999-12-31T23:59:59", "s").astype(np.int64))


class TransactionError(InputError):
    """Invalid transactions (arrays given to :meth:`Transactions.from_arrays`), naming the row."""


def _fail(message: str, row: int | None = None, column: str | None = None, cid: str | None = None) -> None:
    where = f"row {row}: " if row is not None else ""
    raise TransactionError(where + message, column=column, customer_id=cid)


@attrs.frozen(eq=False, repr=False)
class Transactions:
    """Customer transactions, immutable and columnar, sorted by (customer, timestamp).

    Build with :meth:`from_arrays` (validated, any row order) or
    :func:`read_transactions`; do not call the constructor directly.

    Attributes
    ----------
    customer_ids : ndarray of str
        The distinct customers, sorted.
    customer_codes : ndarray of int64
        Per transaction, the index of its customer in ``customer_ids``.
    timestamps : ndarray of datetime64[s]
        Per transaction, local time in whole seconds.
    amounts : ndarray of int64
        Per transaction, a positive amount in fen.
    direction_codes : ndarray of int8
        Per transaction, the index into :data:`DIRECTIONS` (0 = in, 1 = out).
    channels : ndarray of str
        The distinct channels, sorted.
    channel_codes : ndarray of int32
        Per transaction, the index of its channel in ``channels``.
    source_rows : ndarray of int64
        Per transaction, its position in the input (file row order).

    Examples
    --------
    >>> t = Transactions.from_arrays(
    ...     customer_ids=["C2", "C1", "C1"],
    ...     timestamps=["2026-10-02T10:00:00", "2026-10-03T09:00:00", "2026-10-01T12:00:00"],
    ...     amounts=[100, 5_000_000, 250], directions=["out", "out", "in"])
    >>> len(t), t.customer_ids.tolist(), t.customer_codes.tolist()
    (3, ['C1', 'C2'], [0, 0, 1])
    >>> t.amounts.tolist(), t.directions().tolist(), t.source_rows.tolist()
    ([250, 5000000, 100], ['in', 'out', 'out'], [2, 1, 0])
    """

    customer_ids: NDArray[np.str_]
    customer_codes: NDArray[np.int64]
    timestamps: NDArray[np.datetime64]
    amounts: NDArray[np.int64]
    direction_codes: NDArray[np.int8]
    channels: NDArray[np.str_]
    channel_codes: NDArray[np.int32]
    source_rows: NDArray[np.int64]

    # ------------------------------------------------------------ build
    @classmethod
    def from_arrays(
        cls,
        *,
        customer_ids: ArrayLike,
        timestamps: ArrayLike,
        amounts: ArrayLike,
        directions: ArrayLike,
        channels: ArrayLike | None = None,
    ) -> Transactions:
        """Validate per-transaction columns (any row order) and sort them once.

        Parameters
        ----------
        customer_ids
            Customer id per transaction (non-empty strings).
        timestamps
            ``datetime64`` (any unit, whole seconds), ISO text, or int64 epoch seconds.
        amounts
            Positive integer fen (int64); floats are refused.
        directions
            ``"in"``/``"out"`` or the codes 0/1.
        channels
            Channel name per transaction (default ``""``).

        Raises
        ------
        TransactionError
            Naming the first bad row and column.

        Examples
        --------
        >>> Transactions.from_arrays(customer_ids=["C1"], timestamps=[0], amounts=[0],
        ...                          directions=["out"])
        Traceback (most recent call last):
        ...
        custvalue.analytics.TransactionError: row 0: amount 0 is not positive (column 'amount', customer 'C1')
        """
        ids = np.asarray(customer_ids)
        if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "U"):
            _fail("customer ids must be a 1-d array of strings", column="customer_id")
        n = ids.shape[0]
        ids = ids.astype(str) if ids.size else np.zeros(0, dtype="U1")
        empty = np.flatnonzero(ids == "")
        if empty.size:
            _fail("missing customer id", int(empty[0]), "customer_id")
        ts = _timestamps(timestamps, n, ids)
        fen = np.asarray(amounts)
        if fen.shape != (n,):
            _fail(
                f"{fen.shape[0] if fen.ndim == 1 else fen.shape} amounts for {n} transactions",
                column="amount",
            )
        if fen.size and fen.dtype.kind not in "iu":
            _fail(f"amounts must be integer fen, got dtype {fen.dtype}", column="amount")
        if fen.dtype == np.uint64 and fen.size and int(fen.max()) > INT64_MAX:
            _fail("amount overflows int64 fen", int(np.argmax(fen)), "amount")
        fen = fen.astype(np.int64)
        bad = np.flatnonzero(fen <= 0)
        if bad.size:
            i = int(bad[0])
            _fail(f"amount {int(fen[i])} is not positive", i, "amount", str(ids[i]))
        direction_codes = _directions(directions, n, ids)
        if channels is None:
            chan = np.full(n, "", dtype="U1")
        else:
            chan = np.asarray(channels)
            if chan.shape != (n,) or (chan.size and chan.dtype.kind != "U"):
                _fail(f"channels must be {n} strings", column="channel")
        customer_table, codes = np.unique(ids, return_inverse=True)
        channel_table, channel_codes = np.unique(chan, return_inverse=True)
        return cls._sorted(
            customer_table,
            codes.astype(np.int64),
            ts,
            fen,
            direction_codes,
            channel_table,
            channel_codes.astype(np.int32),
            np.arange(n, dtype=np.int64),
        )

    @classmethod
    def from_codes(
        cls,
        *,
        customer_ids: NDArray[np.str_],
        customer_codes: ArrayLike,
        timestamps: ArrayLike,
        amounts: ArrayLike,
        direction_codes: ArrayLike,
        channels: NDArray[np.str_] | None = None,
        channel_codes: ArrayLike | None = None,
    ) -> Transactions:
        """Build from already-coded columns (fast path for large synthetic or database data).

        ``customer_ids`` are distinct strings (any order: they are sorted and the
        codes renumbered); ``customer_codes`` index them.  Validated like
        :meth:`from_arrays`.

        >>> t = Transactions.from_codes(customer_ids=np.array(["b", "a"]), customer_codes=[0, 1],
        ...     timestamps=np.array([5, 7], dtype="datetime64[s]"), amounts=[1, 2], direction_codes=[1, 0])
        >>> t.customer_ids.tolist(), t.customer_codes.tolist(), t.amounts.tolist()
        (['a', 'b'], [0, 1], [2, 1])
        """
        table = np.asarray(customer_ids)
        codes = np.asarray(customer_codes, dtype=np.int64)
        n = codes.shape[0]
        if table.ndim != 1 or (table.size and table.dtype.kind != "U"):
            _fail("customer ids must be a 1-d array of strings", column="customer_id")
        if table.size != np.unique(table).size:
            _fail("customer ids must be distinct", column="customer_id")
        if n and (codes.min() < 0 or codes.max() >= table.size):
            _fail("customer code out of range", int(np.flatnonzero((codes < 0) | (codes >= table.size))[0]))
        if np.any(table == ""):
            _fail("missing customer id", column="customer_id")
        order = np.argsort(table, kind="stable")
        rank = np.empty(table.size, dtype=np.int64)
        rank[order] = np.arange(table.size)
        codes = rank[codes]
        table = table[order]
        row_ids: Any = _LazyIds(table, codes)
        ts = _timestamps(timestamps, n, row_ids)
        fen = np.asarray(amounts)
        if fen.shape != (n,) or (fen.size and fen.dtype.kind not in "iu"):
            _fail(f"amounts must be {n} integer fen", column="amount")
        fen = fen.astype(np.int64)
        bad = np.flatnonzero(fen <= 0)
        if bad.size:
            i = int(bad[0])
            _fail(f"amount {int(fen[i])} is not positive", i, "amount", str(row_ids[i]))
        dcodes = _directions(direction_codes, n, row_ids)
        if channels is None:
            chan_table = np.array([""])
            chan_codes = np.zeros(n, dtype=np.int32)
        else:
            chan_table = np.asarray(channels)
            chan_codes = np.asarray(
                channel_codes if channel_codes is not None else np.zeros(n), dtype=np.int32
            )
            if chan_codes.shape != (n,) or (
                n and (chan_codes.min() < 0 or chan_codes.max() >= chan_table.size)
            ):
                _fail("channel codes out of range", column="channel")
            corder = np.argsort(chan_table, kind="stable")
            crank = np.empty(chan_table.size, dtype=np.int32)
            crank[corder] = np.arange(chan_table.size, dtype=np.int32)
            chan_codes, chan_table = crank[chan_codes], chan_table[corder]
        return cls._sorted(
            table, codes, ts, fen, dcodes, chan_table, chan_codes, np.arange(n, dtype=np.int64)
        )

    @classmethod
    def _sorted(
        cls,
        customer_ids: NDArray[np.str_],
        codes: NDArray[np.int64],
        ts: NDArray[np.datetime64],
        fen: NDArray[np.int64],
        dcodes: NDArray[np.int8],
        channels: NDArray[np.str_],
        ccodes: NDArray[np.int32],
        rows: NDArray[np.int64],
    ) -> Transactions:
        seconds = ts.view(np.int64)
        outside = np.flatnonzero((seconds < _FIRST) | (seconds > _LAST))
        if outside.size:
            i = int(outside[0])
            _fail(
                f"timestamp {ts[i]} is outside the years 1..9999",
                int(rows[i]),
                "timestamp",
                str(customer_ids[codes[i]]),
            )
        order = sort_order(codes, seconds)
        if order is not None:
            codes, ts, fen, rows = codes[order], ts[order], fen[order], rows[order]
            dcodes, ccodes = dcodes[order], ccodes[order]
        return cls(
            readonly(customer_ids),
            readonly(codes),
            readonly(ts),
            readonly(fen),
            readonly(dcodes),
            readonly(channels),
            readonly(ccodes),
            readonly(rows),
        )

    # ------------------------------------------------------------ access
    def __len__(self) -> int:
        return int(self.amounts.shape[0])

    @property
    def n_customers(self) -> int:
        """Distinct customers."""
        return int(self.customer_ids.shape[0])

    def directions(self) -> NDArray[np.str_]:
        """Direction name per transaction (``in``/``out``)."""
        return np.array(DIRECTIONS)[self.direction_codes]

    def channel_names(self) -> NDArray[np.str_]:
        """Channel name per transaction."""
        return self.channels[self.channel_codes]

    def row_customer_ids(self) -> NDArray[np.str_]:
        """Customer id per transaction."""
        return self.customer_ids[self.customer_codes]

    def to_pandas(self) -> Any:
        """A :class:`pandas.DataFrame`, one row per transaction in sorted order (needs pandas).

        >>> t = Transactions.from_arrays(customer_ids=["C1"], timestamps=["2026-10-01"],
        ...                              amounts=[150], directions=["in"], channels=["atm"])
        >>> t.to_pandas().to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
        [{'customer_id': 'C1', 'timestamp': Timestamp('2026-10-01 00:00:00'), 'amount': 150,
          'direction': 'in', 'channel': 'atm'}]
        """
        pd = import_optional("pandas", extra="pandas")
        return pd.DataFrame(
            {
                "customer_id": self.row_customer_ids(),
                "timestamp": self.timestamps,
                "amount": self.amounts,
                "direction": self.directions(),
                "channel": self.channel_names(),
            }
        )

    def write(self, path: str | os.PathLike[str], *, format: str | None = None) -> Path:
        """Write a transaction file (CSV or Parquet) atomically; :func:`read_transactions` reads it back.

        >>> import pathlib, tempfile
        >>> t = synthetic_transactions(200, 20, seed=1)
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> read_transactions(t.write(d / "t.csv")) == t
        True
        """
        return write_transaction_file(
            path,
            customer_ids=self.row_customer_ids(),
            timestamps=self.timestamps,
            amounts=self.amounts,
            direction_codes=self.direction_codes,
            channels=self.channel_names(),
            format=format,
        )

    def __eq__(self, other: object) -> bool:
        """Same transactions in the same sorted order (``source_rows`` not compared)."""
        if not isinstance(other, Transactions):
            return NotImplemented
        return bool(
            np.array_equal(self.row_customer_ids(), other.row_customer_ids())
            and np.array_equal(self.timestamps, other.timestamps)
            and np.array_equal(self.amounts, other.amounts)
            and np.array_equal(self.direction_codes, other.direction_codes)
            and np.array_equal(self.channel_names(), other.channel_names())
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if len(self) == 0:
            return "<Transactions: empty>"
        return (
            f"<Transactions: {len(self):,} over {self.n_customers:,} customers, "
            f"{self.timestamps.min()} .. {self.timestamps.max()}>"
        )


class _LazyIds:
    """Customer id of row ``i`` without building the whole per-row id array (for messages)."""

    def __init__(self, table: NDArray[np.str_], codes: NDArray[np.int64]) -> None:
        self._table, self._codes = table, codes

    def __getitem__(self, i: int) -> str:
        return str(self._table[self._codes[i]])


def sort_order(codes: NDArray[np.int64], seconds: NDArray[np.int64]) -> NDArray[np.intp] | None:
    """The stable order by (code, seconds), or ``None`` when the rows are already sorted."""
    n = codes.shape[0]
    if n < 2:
        return None
    dc = np.diff(codes)
    if np.all((dc > 0) | ((dc == 0) & (np.diff(seconds) >= 0))):
        return None
    lo = int(seconds.min())
    span = int(seconds.max()) - lo + 1
    if (int(codes.max()) + 1) * span <= INT64_MAX:  # one int64 key: one stable argsort
        key = codes * span + (seconds - lo)
        return np.argsort(key, kind="stable")
    return np.lexsort((seconds, codes))


def _timestamps(values: ArrayLike, n: int, ids: Any) -> NDArray[np.datetime64]:
    arr = np.asarray(values)
    if arr.shape != (n,):
        _fail(f"{arr.shape} timestamps for {n} transactions", column="timestamp")
    if n == 0:
        return np.zeros(0, dtype="datetime64[s]")
    if arr.dtype.kind == "M":
        ts = arr.astype("datetime64[s]")
        frac = np.flatnonzero((ts.astype(arr.dtype) != arr) & ~np.isnat(arr))
        if frac.size:
            i = int(frac[0])
            _fail("timestamp has a fraction of a second", i, "timestamp", str(ids[i]))
    elif arr.dtype.kind in "iu":
        ts = arr.astype(np.int64).astype("datetime64[s]")
    elif arr.dtype.kind == "U":
        try:
            ts = arr.astype("datetime64[s]")
        except ValueError:
            for i, s in enumerate(arr.tolist()):
                try:
                    np.datetime64(s, "s")
                except ValueError:
                    _fail(f"{s!r} is not an ISO timestamp", i, "timestamp", str(ids[i]))
            raise  # pragma: no cover - one of the cells failed above
    else:
        _fail(
            f"timestamps must be datetime64, ISO text or int epoch seconds, got {arr.dtype}",
            column="timestamp",
        )
    nat = np.flatnonzero(np.isnat(ts))
    if nat.size:
        i = int(nat[0])
        _fail("missing timestamp", i, "timestamp", str(ids[i]))
    return ts


def _directions(values: ArrayLike, n: int, ids: Any) -> NDArray[np.int8]:
    arr = np.asarray(values)
    if arr.shape != (n,):
        _fail(f"{arr.shape} directions for {n} transactions", column="direction")
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    if arr.dtype.kind == "U":
        codes = np.full(n, -1, dtype=np.int8)
        for k, name in enumerate(DIRECTIONS):
            codes[arr == name] = k
    elif arr.dtype.kind in "iub":
        codes = np.where((arr >= 0) & (arr < len(DIRECTIONS)), arr, -1).astype(np.int8)
    else:
        _fail(f"directions must be 'in'/'out' or codes 0/1, got {arr.dtype}", column="direction")
    bad = np.flatnonzero(codes < 0)
    if bad.size:
        i = int(bad[0])
        _fail(f"unknown direction {arr[i]!r}; expected in or out", i, "direction", str(ids[i]))
    return codes


# ------------------------------------------------------------------ files
def read_transactions(
    path: str | os.PathLike[str], portfolio: Portfolio | None = None, *, format: str | None = None
) -> Transactions:
    """Read a transaction file (CSV or Parquet, rows in any order) into :class:`Transactions`.

    The file's columns and rules are those of
    :func:`custvalue.io.read_transaction_file`: ``customer_id, timestamp,
    amount, direction`` and optionally ``channel``.  With a ``portfolio``, a
    customer that is not in it is an error naming the line.

    Raises
    ------
    custvalue.io.TransactionFileError
        A bad cell, naming file, line, column and customer.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "tx.csv"
    >>> _ = f.write_text("customer_id,timestamp,amount,direction\\n"
    ...                  "C2,2026-10-02T10:00:00,100.00,out\\n"
    ...                  "C1,2026-10-01T09:00:00,50000,in\\n")
    >>> t = read_transactions(f)
    >>> t.customer_ids.tolist(), t.amounts.tolist(), t.source_rows.tolist()
    (['C1', 'C2'], [5000000, 10000], [1, 0])
    >>> from custvalue import Portfolio
    >>> p = Portfolio.from_arrays(customer_ids=["C1"], branch_ids=["B"], start="2026-10",
    ...                           deposits=np.array([[1]]))
    >>> read_transactions(f, p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    custvalue.io.TransactionFileError: unknown customer 'C2': not in the portfolio (file ..., line 2,
    column 'customer_id')
    """
    known = None if portfolio is None else portfolio.customer_ids
    f = read_transaction_file(path, customer_ids=known, format=format)
    table, codes = np.unique(f.customer_ids, return_inverse=True)
    chan_table, chan_codes = np.unique(f.channels, return_inverse=True)
    return Transactions._sorted(
        table,
        codes.astype(np.int64),
        f.timestamps,
        f.amounts,
        f.direction_codes,
        chan_table,
        chan_codes.astype(np.int32),
        np.arange(len(f.lines), dtype=np.int64),
    )


# --------------------------------------------------------------- synthetic
def synthetic_transactions(
    n: int,
    n_customers: int,
    *,
    seed: int = 0,
    start: str = "2026-01-01",
    days: int = 365,
    customer_ids: Sequence[str] | NDArray[np.str_] | None = None,
) -> Transactions:
    """Deterministic synthetic transactions for demos, tests and benchmarks.

    ``n`` transactions over ``n_customers`` customers (ids ``C0000001``... or
    ``customer_ids``), timestamps uniform over ``days`` days from ``start``,
    amounts log-uniform from 1 yuan to 2,000,000 yuan, 55% out; 1% are just
    below 50,000 yuan, from 1% of the customers within the first 30 days (so
    that the structuring rule finds some).

    >>> t = synthetic_transactions(1000, 50, seed=7)
    >>> len(t), t.n_customers <= 50, bool((t.amounts > 0).all())
    (1000, True, True)
    """
    rng = np.random.default_rng(seed)
    if customer_ids is None:
        width = max(7, len(str(n_customers)))
        table = np.char.add("C", np.char.zfill(np.arange(1, n_customers + 1).astype(str), width))
    else:
        table = np.asarray(customer_ids, dtype=str)
        n_customers = table.shape[0]
    codes = rng.integers(0, n_customers, size=n, dtype=np.int64)
    t0 = np.datetime64(start, "s").astype(np.int64)
    seconds = t0 + rng.integers(0, days * _SECONDS_PER_DAY, size=n, dtype=np.int64)
    fen = np.exp(rng.uniform(np.log(100), np.log(200_000_000), size=n)).astype(np.int64)
    just_below = rng.random(n) < 0.01
    k = int(just_below.sum())
    fen[just_below] = rng.integers(4_500_000, 5_000_000, size=k, dtype=np.int64)
    # just-below transactions come from 1% of the customers, within 30 days: some structuring
    codes[just_below] = rng.integers(0, max(1, n_customers // 100), size=k, dtype=np.int64)
    seconds[just_below] = t0 + rng.integers(0, min(days, 30) * _SECONDS_PER_DAY, size=k, dtype=np.int64)
    directions = (rng.random(n) < 0.55).astype(np.int8)
    channels = np.array(["atm", "counter", "mobile", "online"])
    ccodes = rng.integers(0, channels.size, size=n, dtype=np.int32)
    return Transactions.from_codes(
        customer_ids=table,
        customer_codes=codes,
        timestamps=seconds.astype("datetime64[s]"),
        amounts=fen,
        direction_codes=directions,
        channels=channels,
        channel_codes=ccodes,
    )
