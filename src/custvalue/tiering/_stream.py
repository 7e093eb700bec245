"""Evaluating a balances file larger than memory: :func:`evaluate_file`.

The file is read in **customer batches** and each batch is evaluated as a
portfolio of its own; a customer's months never straddle two batches, so
every customer's result is the one an in-memory run gives.

* **A file sorted by customer** (every customer's rows together, customers in
  ascending id order -- what :func:`~custvalue.write_balances` writes for a
  portfolio with sorted ids, and what a database export ``ORDER BY
  customer_id`` gives) streams directly: record batches of the file are cut
  at customer boundaries, the partial last customer carried into the next
  batch.  Row-group statistics of ``customer_id``, when the file has them,
  tell up front whether the file is sorted; the order is verified while
  streaming either way.
* **Any other file** is first partitioned by a hash of the customer id into
  temporary Arrow IPC files (an external sort, one pass over the file), each
  partition is evaluated, and the partitions' results are merged back into
  file order.  When a file thought sorted turns out not to be (the check
  fails mid-stream), the run starts over partitioned: nothing was written.

Each batch is built from its Arrow pieces (the input's own column types,
or, for CSV, text columns) by the code :func:`~custvalue.read_balances` uses
for a whole file (``custvalue.io.read_arrow_table``: the fast path, then the
exact builder for anything it declines), so a batch is validated exactly as
a whole file is.  An error names the input file, its line (CSV: the
physical line; Parquet: the 1-based row, and its row group) and the
customer.

The results are in the **order of the in-memory run**: customers in order of
first appearance in the file.  The result file, the events file and the
summary are identical to those of ``evaluate(read_balances(path, policy=policy))`` written
with :meth:`~custvalue.tiering.TierResult.write` and :func:`write_events`.

Output files are written atomically (:func:`~custvalue.io.atomic_write`):
on any error, ``KeyboardInterrupt`` or ``SIGTERM`` raised as an exception
(the command line does), an existing output is left as it was, and the
temporary directory of batches and partitions (beside the output) is
removed.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import attrs
import numpy as np
from numpy.typing import NDArray

from .._optional import MissingDependencyError, import_optional
from .._snapshot import is_snapshot_path
from ..io import (
    ExtraColumnsWarning,
    Header,
    Wanted,
    atomic_write,
    check_output,
    file_format,
    prefetched,
    read_arrow_table,
    read_balances,
    resolve_header,
    warn_ignored,
)
from ..money import format_yuan_array
from ..months import Month, MonthLike, MonthRange
from ..policy import EVENT_TYPES, STATUSES, CompiledPolicy, Policy, PolicySet, default_policy
from ..portfolio import Portfolio, PortfolioError
from ._codes import MOVEMENTS, RESULT_COLUMNS
from ._evaluate import evaluate
from ._files import decimal_yuan
from ._result import TierResult
from ._state import EventTable

__all__ = ["DEFAULT_BATCH", "EVENT_COLUMNS", "FileEvaluation", "evaluate_file", "write_events"]

#: Customers per batch of :func:`evaluate_file` when not told.
DEFAULT_BATCH: Final = 500_000
#: Columns of an events file, in order.
EVENT_COLUMNS: Final[tuple[str, ...]] = ("customer_id", "event", "actions")
#: Rows per record batch read from the input (the Arrow side stays this small).
_READ_ROWS: Final = 1 << 18
#: Records per piece of a CSV file.
_CSV_ROWS: Final = 1 << 15
#: At most this many partitions (open files) for an unsorted file.
_MAX_PARTITIONS: Final = 1024  # < 2**16
_FIRST: Final = "__first_row"
_ROW: Final = "__row"
#: Text columns of a balances file (read from Parquet as dictionaries).
_TEXT_COLUMNS: Final = frozenset({"customer_id", "branch_id", "household_id", "month", "card_level"})


class _Unsorted(Exception):
    """The file is not sorted by customer after all: partition it."""


# --------------------------------------------------------------------------- summary
@attrs.frozen
class FileEvaluation:
    """What :func:`evaluate_file` did: counts over the whole file (the results went to files).

    Attributes
    ----------
    source : str
        The balances file.
    as_of : Month
    policy : Policy
        The policy evaluated (of a policy set, the version in force at ``as_of``).
    n_customers : int
    tiers, statuses, movements, churned : mapping of name to count
        As :meth:`TierResult.counts <custvalue.tiering.TierResult.counts>`.
    events : mapping of event type to count
    incomplete_history : int
        Customers without every month a full evaluation reads.
    without_tier : int
        Customers with no data at the as-of month (their rows start later).
    batches : int
        Batches evaluated.
    partitioned : bool
        Whether the file was partitioned by customer hash first (it was not
        sorted by customer).
    out, events_file : str or None
        The files written.
    """

    source: str
    as_of: Month
    policy: Policy
    n_customers: int
    tiers: Mapping[str, int]
    statuses: Mapping[str, int]
    movements: Mapping[str, int]
    churned: Mapping[str, int]
    events: Mapping[str, int]
    incomplete_history: int
    without_tier: int
    batches: int
    partitioned: bool
    out: str | None = None
    events_file: str | None = None

    @property
    def n_events(self) -> int:
        """Events in all."""
        return sum(self.events.values())

    def summary(self) -> str:
        """A text summary: customers per tier and per status, history, events.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> from custvalue import write_balances
        >>> from custvalue.synthetic import generate
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "b.csv"
        >>> _ = write_balances(generate(300, seed=2), f)
        >>> print(evaluate_file(f, batch_customers=100).summary())  # doctest: +ELLIPSIS
        300 customers as of 2026-10, policy 'default' (3 batches)
          tier: core ..., growth ..., platinum ..., gold ..., potential ...
          status: normal ..., observation ..., attention ...
          incomplete history: 5; without a tier: 0
          events: ...
        """

        def line(counts: Mapping[str, int]) -> str:
            return ", ".join(f"{k} {v:,}" for k, v in counts.items())

        ev = line({k: v for k, v in self.events.items() if v}) or "none"
        how = f"{self.batches:,} batch" + ("es" if self.batches != 1 else "")
        if self.partitioned:
            how += ", partitioned by customer"
        return (
            f"{self.n_customers:,} customers as of {self.as_of}, policy {self.policy.name!r} ({how})\n"
            f"  tier: {line(self.tiers)}\n"
            f"  status: {line(self.statuses)}\n"
            f"  incomplete history: {self.incomplete_history:,}; without a tier: {self.without_tier:,}\n"
            f"  events: {ev}"
        )


class _Tally:
    """Counts over the batches."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.n = 0
        self.batches = 0
        self.tiers: dict[str, int] = {}
        self.statuses: dict[str, int] = {}
        self.movements: dict[str, int] = {}
        self.churned: dict[str, int] = {}
        self.events = dict.fromkeys(EVENT_TYPES, 0)
        self.incomplete = 0
        self.without = 0
        self.policy: Policy | None = None

    def add(self, result: TierResult) -> None:
        self.n += len(result)
        self.batches += 1
        self.policy = result.policy
        c = result.counts()
        for mine, theirs in (
            (self.tiers, c["tier"]),
            (self.statuses, c["status"]),
            (self.movements, c["movement"]),
            (self.churned, c["churned"]),
        ):
            for k, v in theirs.items():
                mine[k] = mine.get(k, 0) + v
        for k, v in result.events.counts().items():
            self.events[k] += v
        self.incomplete += int(np.count_nonzero(~result.history_complete))
        self.without += int(np.count_nonzero(result.tier_codes < 0))


# --------------------------------------------------------------------------- writers
def _result_columns(result: TierResult) -> dict[str, NDArray[Any]]:
    """The result-file columns, with ``aum_fen`` (integers) in place of the ``aum`` text."""
    n = len(result)
    return {
        "customer_id": result.customer_ids,
        "branch_id": result.portfolio.branch_ids,
        "as_of": np.full(n, str(result.as_of)),
        "aum_fen": np.asarray(result.aum_fen),
        "tier": result.tiers(),
        "status": result.statuses(),
        "months_below": np.asarray(result.months_below),
        "previous_tier": result.previous_tiers(),
        "movement": result.movements(),
        "churned_tier": result.churned_tiers(),
        "history_complete": np.asarray(result.history_complete),
        "reasons": result.reason_strings(),
    }


def _event_columns(events: EventTable, customer_ids: NDArray[np.str_]) -> dict[str, NDArray[Any]]:
    codes = np.asarray(events.event_codes, dtype=np.int64)
    names = np.asarray(EVENT_TYPES)
    actions = np.asarray([";".join(events.policy.actions(e)) for e in EVENT_TYPES])
    return {
        "customer_id": np.asarray(customer_ids)[events.customer_index],
        "event": names[codes],
        "actions": actions[codes],
    }


class _Writer:
    """Rows to a CSV or Parquet file, batch by batch (the caller makes the file atomic)."""

    def __init__(self, tmp: Path, fmt: str, kind: str) -> None:
        self.tmp, self.fmt, self.kind = tmp, fmt, kind
        self.columns = RESULT_COLUMNS if kind == "result" else EVENT_COLUMNS
        self._fh: Any = None
        self._csv: Any = None
        self._pq: Any = None
        self._pa: Any = None
        self._schema: Any = None
        self._open()

    def _open(self) -> None:
        if self.fmt == "csv":
            self._fh = self.tmp.open("w", newline="", encoding="utf-8")
            self._csv = csv.writer(self._fh, lineterminator="\n")
            self._csv.writerow(self.columns)
            return
        pa = self._pa = import_optional("pyarrow", extra="parquet", feature="Parquet output")
        pq = import_optional("pyarrow.parquet", extra="parquet", feature="Parquet output")
        if self.kind == "result":
            types = {
                "aum": pa.decimal128(18, 2),
                "months_below": pa.int16(),
                "history_complete": pa.bool_(),
            }
        else:
            types = {}
        self._schema = pa.schema([(c, types.get(c, pa.string())) for c in self.columns])
        self._pq = pq.ParquetWriter(self.tmp, self._schema)

    def write(self, cols: Mapping[str, NDArray[Any]]) -> None:
        """Write rows given as numpy columns (results: ``aum_fen`` for ``aum``)."""
        if self._csv is not None:
            out: list[list[Any]] = []
            for name in self.columns:
                if name == "aum":
                    out.append(format_yuan_array(cols["aum_fen"]).tolist())
                elif name == "history_complete":
                    out.append(["true" if v else "false" for v in cols[name].tolist()])
                else:
                    out.append(cols[name].tolist())
            self._csv.writerows(zip(*out, strict=True))
            return
        pa = self._pa
        arrays = [
            decimal_yuan(pa, np.ascontiguousarray(cols["aum_fen"], dtype=np.int64))
            if name == "aum"
            else pa.array(cols[name], type=self._schema.field(name).type)
            for name in self.columns
        ]
        self._pq.write_table(pa.Table.from_arrays(arrays, schema=self._schema))

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self._pq is not None:
            self._pq.close()
            self._pq = None

    def reset(self) -> None:
        """Start the file again (empty but for the header)."""
        self.close()
        self._open()


def write_events(
    events: EventTable,
    path: str | os.PathLike[str],
    *,
    customer_ids: NDArray[np.str_] | None = None,
    format: str | None = None,
) -> Path:
    """Write an evaluation's events with the policy's action codes, atomically.

    One row per (customer, event), in the order of the table (customers in
    portfolio order, then event code): ``customer_id``, ``event`` (one of
    :data:`custvalue.policy.EVENT_TYPES`) and ``actions``, the policy's action
    codes for the event joined by ``;``.  CSV or Parquet, by the file name
    or ``format``.

    Parameters
    ----------
    events
        :attr:`TierResult.events <custvalue.tiering.TierResult.events>`.
    path
        The file to write.
    customer_ids
        The evaluated portfolio's ids, when the table does not carry them.
    format
        ``"csv"`` or ``"parquet"``, overriding the file name.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from custvalue import evaluate
    >>> from custvalue.synthetic import generate
    >>> r = evaluate(generate(2_000, seed=4), as_of="2026-10")
    >>> f = write_events(r.events, pathlib.Path(tempfile.mkdtemp()) / "events.csv")
    >>> print(f.read_text().splitlines()[0])
    customer_id,event,actions
    >>> len(f.read_text().splitlines()) == len(r.events) + 1
    True
    """
    ids = customer_ids if customer_ids is not None else events.customer_ids
    if ids is None:
        raise ValueError("the event table has no customer ids: pass customer_ids")
    fmt = file_format(path, format)

    def write(tmp: Path) -> None:
        w = _Writer(tmp, fmt, "events")
        try:
            w.write(_event_columns(events, ids))
        finally:
            w.close()

    return atomic_write(path, write)


class _Sinks:
    """The result and events writers of a run (either may be absent)."""

    def __init__(self, result: _Writer | None, events: _Writer | None) -> None:
        self.result, self.events = result, events

    def write(self, res: Mapping[str, NDArray[Any]] | None, ev: Mapping[str, NDArray[Any]] | None) -> None:
        if self.result is not None and res is not None:
            self.result.write(res)
        if self.events is not None and ev is not None:
            self.events.write(ev)

    def reset(self) -> None:
        for w in (self.result, self.events):
            if w is not None:
                w.reset()

    def close(self) -> None:
        for w in (self.result, self.events):
            if w is not None:
                w.close()


# --------------------------------------------------------------------------- hashing
def _trimmed(pa: Any, pc: Any, ids: Any) -> Any:
    """Customer ids as the reader keeps them (surrounding blanks stripped), plain strings."""
    if pa.types.is_dictionary(ids.type):  # trim the distinct values only
        values = ids.dictionary
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            values = values.cast(pa.string())
        return pc.utf8_trim_whitespace(values).take(ids.indices)
    if not (pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type)):
        ids = ids.cast(pa.string())
    return pc.utf8_trim_whitespace(ids)


def _hash(pa: Any, ids: Any) -> NDArray[np.uint64]:
    """A hash of each string, the same in every process and on every platform (no Python ``hash``).

    A polynomial over the UTF-8 bytes modulo 2**64, then a 64-bit finaliser;
    nulls hash as the empty string.
    """
    arr = ids.cast(pa.large_string())
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    lo, hi = int(offsets[0]), int(offsets[-1])
    data = np.frombuffer(bufs[2], dtype=np.uint8)[lo:hi] if bufs[2] is not None else np.zeros(0, np.uint8)
    lengths = np.diff(offsets)
    longest = int(lengths.max(initial=0))
    powers = np.cumprod(np.full(max(longest, 1), 0x100000001B3, dtype=np.uint64))  # wraps mod 2**64
    if longest and int(lengths.min()) == longest:  # one width (the usual ids): a byte matrix
        terms = data.reshape(n, longest).astype(np.uint64)
        terms += np.uint64(1)
        terms *= powers[:longest]
        h = np.asarray(terms.sum(axis=1, dtype=np.uint64), dtype=np.uint64)
        del terms
    elif longest <= 64:  # a loop over byte positions, vectorised over the ids
        h = np.zeros(n, dtype=np.uint64)
        starts = offsets[:-1] - lo
        by_length = np.argsort(lengths, kind="stable")
        first = np.searchsorted(lengths[by_length], np.arange(longest), side="right")
        for j in range(longest):
            live = by_length[int(first[j]) :]  # the ids longer than j bytes
            h[live] += (data[starts[live] + j].astype(np.uint64) + np.uint64(1)) * powers[j]
    else:
        pos = np.arange(hi - lo, dtype=np.int64) - np.repeat(offsets[:-1] - lo, lengths)
        sums = np.asarray((data.astype(np.uint64) + np.uint64(1)) * powers[pos], dtype=np.uint64)
        run = np.zeros(hi - lo + 1, dtype=np.uint64)
        np.cumsum(sums, out=run[1:])
        h = np.asarray(run[offsets[1:] - lo] - run[offsets[:-1] - lo], dtype=np.uint64)
    h ^= lengths.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


def customer_partitions(ids: Any, n_partitions: int) -> NDArray[np.int64]:
    """The partition (``0..n_partitions-1``) of each customer id, by a stable hash.

    The same id always goes to the same partition, in every process (ids are
    stripped of surrounding blanks first, as the readers keep them).  Takes
    a pyarrow array or a sequence of strings.

    Examples
    --------
    >>> customer_partitions(["C1", "C2", " C1 "], 4).tolist() == [customer_partitions(["C1"], 4)[0],
    ...     customer_partitions(["C2"], 4)[0], customer_partitions(["C1"], 4)[0]]
    True
    """
    if n_partitions < 1:
        raise ValueError("n_partitions must be positive")
    pa = import_optional("pyarrow", extra="parquet", feature="partitioning by customer")
    pc = import_optional("pyarrow.compute", extra="parquet")
    arr = ids if isinstance(ids, pa.Array | pa.ChunkedArray) else pa.array(list(ids), type=pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    h = _hash(pa, _trimmed(pa, pc, arr))
    out: NDArray[np.int64] = (h % np.uint64(n_partitions)).astype(np.int64)
    return out


# --------------------------------------------------------------------------- batches
class _Evaluator:
    """Evaluates batch portfolios at one month and checks what spans batches."""

    def __init__(self, policy: Policy | CompiledPolicy | PolicySet | None, as_of: Month | None) -> None:
        self.policy, self.month = policy, as_of
        self.last: Month | None = None  # the file's last month (every customer's last)
        self.first: Month | None = None  # the earliest month seen
        self.first_customer: str | None = None
        self.source = ""

    def reset(self) -> None:
        self.last = self.first = self.first_customer = None

    def run(self, p: Portfolio) -> TierResult:
        months = p.months
        if self.last is None:
            self.last = months.stop
            self.first_customer = str(p.customer_ids[0])
        elif months.stop != self.last:
            later = months.stop > self.last
            raise PortfolioError(
                f"customer's data ends before the portfolio's last month {max(months.stop, self.last)}; "
                "every customer needs rows up to the last month (a customer may start later, not end "
                "earlier)",
                file=self.source,
                customer_id=self.first_customer if later else str(p.customer_ids[0]),
            )
        self.first = months.start if self.first is None else min(self.first, months.start)
        month = self.month if self.month is not None else self.last
        if month > self.last:
            months.index(month)  # the in-memory run's error: outside the range
        if month < months.start:
            p = _pad(p, month)
        return evaluate(p, self.policy, as_of=month)

    def finish(self) -> Month:
        """The as-of month, once every batch was seen (an error if it is before the file's first)."""
        assert self.last is not None and self.first is not None
        month = self.month if self.month is not None else self.last
        MonthRange.between(self.first, self.last).index(month)
        return month


def _pad(p: Portfolio, start: Month) -> Portfolio:
    """``p`` with months from ``start`` (earlier than its own), empty before each history start."""
    shift = p.months.start - start
    t = p.n_months + shift

    def wide(a: NDArray[Any]) -> NDArray[Any]:
        out = np.zeros((p.n_customers, t), dtype=a.dtype, order="F")
        out[:, shift:] = a
        return out

    return Portfolio.from_arrays(
        customer_ids=p.customer_ids,
        branch_ids=p.branch_ids,
        household_ids=p.household_ids,
        opened=p.opened,
        start=start,
        history_start=p.history_start.astype(np.int32) + shift,
        card_level=wide(p.card_level),
        deposits=wide(p.deposits),
        wealth=wide(p.wealth),
        investments=wide(p.investments),
        mortgage_loan=wide(p.mortgage_loan),
        credit_loan=wide(p.credit_loan),
        card_spend=wide(p.card_spend),
    )


def _relocate(
    exc: PortfolioError, source: str, where: Callable[[int], tuple[int, int | None]]
) -> PortfolioError:
    """A batch file's error, told in the input file's terms (its line or row, and row group)."""
    line, group = (None, None) if exc.line is None else where(exc.line)
    message = exc.message if group is None else f"{exc.message}, in row group {group}"
    return PortfolioError(
        message, file=source, line=line, column=exc.column, customer_id=exc.customer_id, month=exc.month
    )


@attrs.frozen
class _Reading:
    """How batch files are read: the input's column mapping and the policy's columns."""

    columns: Mapping[str, str] | None = None
    uses: Any = None
    seen: set[str] = attrs.field(factory=set)

    def name(self, column: str) -> str:
        """The input file's name of one of custvalue's columns."""
        return (self.columns or {}).get(column, column)


def _narrow(pa: Any, batch: Any) -> Any:
    """``batch`` with ``decimal128`` money of precision <= 18 held as ``decimal64`` (half the memory).

    The values are the same (a column is narrowed only when every value fits
    its precision), so the reader sees the same amounts and names the same
    cells.
    """
    if not hasattr(pa, "decimal64"):  # pragma: no cover - a pyarrow before 18
        return batch
    cols = list(batch.columns)
    changed = False
    for k, arr in enumerate(cols):
        t = arr.type
        if not (pa.types.is_decimal(t) and t.bit_width == 128 and t.precision <= 18):
            continue
        try:  # a checked cast: a value that does not fit keeps the column wide
            cols[k] = arr.cast(pa.decimal64(t.precision, t.scale))
        except pa.ArrowInvalid:
            continue
        changed = True
    if not changed:
        return batch
    return pa.RecordBatch.from_arrays(cols, names=batch.schema.names)


def _concat(pa: Any, parts: list[Any]) -> Any:
    """Record batches (or tables) as one table; narrowed and wide pieces are made wide again."""
    tables = [p if isinstance(p, pa.Table) else pa.Table.from_batches([p]) for p in parts]
    first = tables[0].schema
    if all(t.schema.equals(first) for t in tables[1:]):
        return pa.concat_tables(tables)
    fields = []
    for k, f in enumerate(first):
        types = {t.schema.field(k).type for t in tables}
        wide = next((x for x in types if pa.types.is_decimal(x) and x.bit_width == 128), f.type)
        fields.append(pa.field(f.name, wide))
    schema = pa.schema(fields)
    return pa.concat_tables([t.cast(schema) for t in tables])


class _Chunker:
    """Pieces of a sorted file into batches of whole customers, held in memory.

    ``add`` takes a piece (an Arrow table or record batch with the input's
    columns, the stripped ids and the pieces' lines); a batch is handed to
    ``done(pieces, lines)`` as soon as it holds ``batch`` customers and the
    next customer begins.
    """

    def __init__(self, pa: Any, pc: Any, batch: int, done: Callable[..., None]) -> None:
        self.pa, self.pc = pa, pc
        self.batch, self.done = batch, done
        self.prev: str | None = None  # the last id seen
        self.count = 0  # customers begun in the open batch
        self.pieces: list[Any] = []
        self.lines: list[NDArray[np.int64]] = []

    def _write(self, table: Any, lines: NDArray[np.int64]) -> None:
        if not len(table):
            return
        self.pieces.append(table)
        self.lines.append(lines)

    def _close(self) -> None:
        if not self.pieces:
            return
        pieces, self.pieces = self.pieces, []
        lines = np.concatenate(self.lines) if len(self.lines) > 1 else self.lines[0]
        self.lines = []
        self.count = 0
        self.done(pieces, lines)

    def add(self, table: Any, ids: Any, lines: NDArray[np.int64]) -> None:
        pc = self.pc
        n = len(ids)
        if n == 0:
            return
        if n > 1 and bool(pc.any(pc.less(ids.slice(1), ids.slice(0, n - 1))).as_py()):
            raise _Unsorted
        first = ids[0].as_py()
        if self.prev is not None and first is not None and first < self.prev:
            raise _Unsorted
        # starts of customers in this piece
        change = np.zeros(n, dtype=bool)
        if n > 1:
            change[1:] = np.asarray(pc.fill_null(pc.not_equal(ids.slice(1), ids.slice(0, n - 1)), True))
        change[0] = self.prev is None or first != self.prev
        self.prev = ids[n - 1].as_py()
        starts = np.flatnonzero(change)
        pos = 0
        while starts.size:
            room = self.batch - self.count
            if starts.size <= room:
                self.count += int(starts.size)
                break
            cut = int(starts[room])  # the first customer that does not fit
            self._write(table.slice(pos, cut - pos), lines[pos:cut])
            self._close()
            pos = cut
            starts = starts[room:]
        self._write(table.slice(pos), lines[pos:])

    def finish(self) -> None:
        self._close()


# --------------------------------------------------------------------------- the run
class _Run:
    """One evaluation of a file into sinks."""

    def __init__(
        self,
        source: Path,
        kind: str,
        evaluator: _Evaluator,
        batch: int,
        progress: Callable[[int, int], None] | None,
        how: _Reading,
        delimiter: str = ",",
        encoding: str = "utf-8",
    ) -> None:
        self.source, self.kind, self.ev, self.batch = source, kind, evaluator, batch
        self.how, self.delimiter, self.encoding = how, delimiter, encoding
        self.cid = how.name("customer_id")
        self._text = frozenset(how.name(c) for c in _TEXT_COLUMNS)
        self.progress = progress
        self.tally = _Tally()
        self.partitioned = False
        self.name = str(source)
        self.header: Header | None = None
        self.read_columns: list[str] = []
        evaluator.source = self.name
        self._units = (0, 1)

    # ---------------------------------------------------------------- progress
    def _tick(self, done: int, total: int) -> None:
        self._units = (done, total)
        if self.progress is not None:
            self.progress(done, total)

    # ---------------------------------------------------------------- drive
    def run(self, sinks: _Sinks, workdir: Path) -> None:
        if self.kind == "arrow":
            self._snapshot(sinks)
            return
        if self.kind == "csv" and not _has_pyarrow():
            # streaming cuts the file with pyarrow: without it the file is read whole (as before)
            self._snapshot(sinks, self._read_whole())
            return
        if self.kind == "parquet" and self._fits_one_batch():
            # no more rows than a batch has customers: the in-memory reader, as one batch
            self._snapshot(sinks, self._read_whole(warn=True))
            return
        try:
            if self.kind == "parquet":
                self._parquet_sorted(sinks, workdir)
            else:
                self._csv(sinks, workdir)
        except _Unsorted:
            for left in workdir.iterdir():
                left.unlink()
            sinks.reset()
            self.tally.reset()
            self.ev.reset()
            self.partitioned = True
            if self.kind == "parquet":
                self._parquet_partitioned(sinks, workdir)
            else:
                self._csv_partitioned(sinks, workdir)

    def _emit(self, sinks: _Sinks, p: Portfolio) -> None:
        result = self.ev.run(p)
        self.tally.add(result)
        sinks.write(_result_columns(result), _event_columns(result.events, result.customer_ids))

    def _empty(self, sinks: _Sinks) -> None:
        """A file without rows: the in-memory reader decides (it is small)."""
        self._emit(sinks, self._read_whole())

    def _fits_one_batch(self) -> bool:
        """Whether the Parquet file has at most ``batch`` rows (so at most ``batch`` customers)."""
        pq = import_optional("pyarrow.parquet", extra="parquet", feature="reading Parquet")
        try:
            rows = int(pq.ParquetFile(self.source).metadata.num_rows)
        except Exception:  # the streaming reader names what is wrong with the file
            return False
        return 0 < rows <= self.batch

    def _read_whole(self, *, warn: bool = False) -> Portfolio:
        with warnings.catch_warnings():
            if not warn:
                warnings.simplefilter("ignore", ExtraColumnsWarning)
            return read_balances(
                self.source,
                format=None if self.kind == "arrow" else self.kind,  # type: ignore[arg-type]
                columns=self.how.columns,
                policy=self.how.uses,
                delimiter=self.delimiter,
                encoding=self.encoding,
            )

    def _snapshot(self, sinks: _Sinks, whole: Portfolio | None = None) -> None:
        p = Portfolio.load(self.source) if whole is None else whole  # a snapshot is memory-mapped
        n = p.n_customers
        self._tick(0, n)
        if n == 0:
            self._emit(sinks, p)
        for start in range(0, n, self.batch):
            stop = min(n, start + self.batch)
            self._emit(sinks, p.rows(start, stop))
            self._tick(stop, n)

    # ---------------------------------------------------------------- Parquet
    def _parquet(self) -> tuple[Any, Any, Any, Any]:
        pa = import_optional("pyarrow", extra="parquet", feature="reading Parquet")
        pq = import_optional("pyarrow.parquet", extra="parquet", feature="reading Parquet")
        pc = import_optional("pyarrow.compute", extra="parquet")
        try:
            pf = pq.ParquetFile(self.source)
            # text columns as dictionaries: decoded and written again without hashing a row
            text = [
                f.name
                for f in pf.schema_arrow
                if f.name in self._text and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
            ]
            if text:
                pf = pq.ParquetFile(self.source, read_dictionary=text)
        except (OSError, pa.ArrowException) as exc:
            raise PortfolioError(f"cannot read Parquet file: {exc}", file=self.name) from None
        return pa, pq, pc, pf

    def _stats_unsorted(self, pf: Any, col: int) -> bool:
        """Row-group statistics show the file is not sorted by customer (False when unsure)."""
        meta = pf.metadata
        prev: Any = None
        for g in range(meta.num_row_groups):
            st = meta.row_group(g).column(col).statistics
            if st is None or not st.has_min_max:
                return False
            lo, hi = st.min, st.max
            if isinstance(lo, bytes) or isinstance(hi, bytes):
                return False
            if prev is not None and lo < prev:
                return True
            prev = hi
        return False

    def _group_of(self, pf: Any) -> Callable[[int], int]:
        meta = pf.metadata
        ends = np.cumsum([meta.row_group(g).num_rows for g in range(meta.num_row_groups)])

        def group(row: int) -> int:
            return int(np.searchsorted(ends, row - 1, side="right"))

        return group

    def _resolve(self, names: list[str]) -> Header | None:
        """The input's header, resolved once for all batches (``None``: the whole-file reader says why)."""
        uses = self.how.uses
        wanted = Wanted.of(self.how.columns, None if uses is None else uses.input_columns)
        try:
            header = resolve_header(names, self.name, wanted, warn=False)
        except PortfolioError:
            return None
        if header.ignored and "ignored" not in self.how.seen:  # once per run, naming the input
            self.how.seen.add("ignored")
            warn_ignored(header.ignored, self.name, stacklevel=5)
        self.header = header
        self.read_columns = [n for n, c in zip(names, header.canonical, strict=True) if c is not None]
        return header

    def _portfolio(
        self, pieces: list[Any], lines: NDArray[np.int64], group: Callable[[int], int] | None
    ) -> Portfolio:
        """A batch's portfolio straight from its Arrow pieces, validated as a whole file is.

        ``lines`` are the rows' places in the input (Parquet rows, CSV lines),
        so an error names them; a Parquet error also names the row group.
        """
        pa = import_optional("pyarrow", extra="parquet")
        assert self.header is not None
        table = _concat(pa, pieces)
        pieces.clear()
        what = "CSV column" if self.kind == "csv" else "Parquet column"
        try:
            return read_arrow_table(table, self.header, lines, self.name, what=what)
        except PortfolioError as exc:
            if group is None or exc.line is None:
                raise
            raise PortfolioError(
                f"{exc.message}, in row group {group(exc.line)}",
                file=exc.file,
                line=exc.line,
                column=exc.column,
                customer_id=exc.customer_id,
                month=exc.month,
            ) from None

    def _parquet_batches(
        self, pa: Any, pc: Any, pf: Any, *, narrow: bool
    ) -> Iterator[tuple[Any, Any, NDArray[np.int64]]]:
        """The columns read as record batches, their stripped ids and their rows (1-based)."""
        row = 1
        cid = self.read_columns.index(self.cid)
        for rb in _record_batches(pf, _READ_ROWS, self.read_columns):
            n = rb.num_rows
            ids = _trimmed(pa, pc, rb.column(cid))
            yield (_narrow(pa, rb) if narrow else rb), ids, np.arange(row, row + n, dtype=np.int64)
            row += n

    def _parquet_sorted(self, sinks: _Sinks, workdir: Path) -> None:
        pa, _pq, pc, pf = self._parquet()
        names = [str(n) for n in pf.schema_arrow.names]
        total = int(pf.metadata.num_rows)
        if self.cid not in names or total == 0 or self._resolve(names) is None:
            self._empty(sinks)
            return
        col = names.index(self.cid)
        if self._stats_unsorted(pf, col):
            raise _Unsorted
        group = self._group_of(pf)
        self._tick(0, total)

        def done(pieces: list[Any], lines: NDArray[np.int64]) -> None:
            p = self._portfolio(pieces, lines, group)
            self._emit(sinks, p)
            self._tick(int(lines[-1]), total)

        chunker = _Chunker(pa, pc, self.batch, done)
        for rb, ids, lines in prefetched(self._parquet_batches(pa, pc, pf, narrow=True)):
            chunker.add(rb, ids, lines)
        chunker.finish()
        self.ev.finish()

    def _partitions(self, n_rows: int, months: int) -> int:
        customers = max(1, n_rows // max(1, months))
        return max(1, min(_MAX_PARTITIONS, math.ceil(customers / self.batch)))

    def _month_span(self, pf: Any, names: list[str]) -> int:
        """Months in the file, from the ``month`` statistics (14 when they are missing)."""
        month = self.how.name("month")
        if month not in names:
            return 14
        meta = pf.metadata
        col = names.index(month)
        lo: str | None = None
        hi: str | None = None
        for g in range(meta.num_row_groups):
            st = meta.row_group(g).column(col).statistics
            if st is None or not st.has_min_max or not isinstance(st.min, str):
                return 14
            lo = st.min if lo is None else min(lo, st.min)
            hi = st.max if hi is None else max(hi, st.max)
        try:
            return Month.parse(str(hi)) - Month.parse(str(lo)) + 1
        except (ValueError, TypeError):
            return 14

    def _parquet_partitioned(self, sinks: _Sinks, workdir: Path) -> None:
        pa, _pq, pc, pf = self._parquet()
        names = [str(n) for n in pf.schema_arrow.names]
        total = int(pf.metadata.num_rows)
        if self.header is None and self._resolve(names) is None:  # pragma: no cover - found when sorted
            self._empty(sinks)
            return
        parts = self._partitions(total, self._month_span(pf, names))
        splitter = _Splitter(pa, pc, workdir, parts, self.cid)
        for rb, ids, lines in prefetched(self._parquet_batches(pa, pc, pf, narrow=False)):
            splitter.add(rb, ids, lines)
            self._tick(int(lines[-1]), 3 * total)
        group = self._group_of(pf)
        self._evaluate_partitions(sinks, splitter, group, total)

    # ---------------------------------------------------------------- CSV
    def _csv_pieces(self) -> Iterator[tuple[Any, Any, NDArray[np.int64], int, int]]:
        """(table of text columns, stripped ids, first line of each record, bytes read, file size)."""
        pa = import_optional("pyarrow", extra="parquet", feature="streaming a CSV file")
        pc = import_optional("pyarrow.compute", extra="parquet")
        size = os.path.getsize(self.source)
        self._tick(0, size)
        utf8 = self.encoding.lower().replace("_", "-") in ("utf-8", "utf8", "utf-8-sig")
        try:
            f = open(  # closed below, when the pieces end
                self.source,
                newline="",
                encoding="utf-8-sig" if utf8 else self.encoding,
                errors="surrogateescape",
            )
        except LookupError:
            raise PortfolioError(f"unknown text encoding {self.encoding!r}", file=self.name) from None
        except OSError as exc:
            raise PortfolioError(f"cannot open balances file: {exc.strerror}", file=self.name) from None
        old = csv.field_size_limit()
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
        try:
            reader = csv.reader(f, delimiter=self.delimiter)
            try:
                header = next(reader, None)
            except csv.Error as exc:
                raise PortfolioError(f"malformed CSV: {exc}", file=self.name, line=reader.line_num) from None
            if header is None:
                return
            names = [h.strip() for h in header]
            if self.cid not in names or len(set(names)) != len(names):
                return  # the in-memory reader names the header's fault
            width = len(names)
            col = names.index(self.cid)
            while True:
                records: list[list[str]] = []
                lines: list[int] = []
                prev = reader.line_num
                try:
                    for rec in reader:
                        if rec:
                            if len(rec) != width:
                                raise PortfolioError(
                                    f"expected {width} fields as in the header, got {len(rec)}",
                                    file=self.name,
                                    line=prev + 1,
                                )
                            records.append(rec)
                            lines.append(prev + 1)
                        prev = reader.line_num
                        if len(records) >= _CSV_ROWS:
                            break
                except csv.Error as exc:
                    raise PortfolioError(
                        f"malformed CSV: {exc}", file=self.name, line=reader.line_num
                    ) from None
                if not records:
                    return
                columns = list(zip(*records, strict=True))
                arrays = []
                for k, cells in enumerate(columns):
                    try:
                        arrays.append(pa.array(cells, type=pa.string()))
                    except (UnicodeEncodeError, pa.ArrowException):
                        bad = next(i for i, c in enumerate(cells) if not _encodable(c))
                        raise PortfolioError(
                            f"not valid {'UTF-8' if utf8 else self.encoding.upper()} text",
                            file=self.name,
                            line=lines[bad],
                            column=names[k],
                        ) from None
                table = pa.Table.from_arrays(arrays, names=names)
                ids = _trimmed(pa, pc, arrays[col])
                read = int(f.buffer.tell())  # type: ignore[attr-defined]
                yield table, ids, np.asarray(lines, dtype=np.int64), read, size
        finally:
            csv.field_size_limit(old)
            f.close()

    def _csv(self, sinks: _Sinks, workdir: Path) -> None:
        pa = import_optional("pyarrow", extra="parquet", feature="streaming a CSV file")
        pc = import_optional("pyarrow.compute", extra="parquet")
        state: dict[str, Any] = {"read": 0, "size": 1}

        def done(pieces: list[Any], lines: NDArray[np.int64]) -> None:
            p = self._portfolio(pieces, lines, None)
            self._emit(sinks, p)
            self._tick(state["read"], state["size"])

        chunker: _Chunker | None = None
        for table, ids, lines, read, size in self._csv_pieces():
            state.update(read=read, size=size)
            if chunker is None:
                if self._resolve(list(table.column_names)) is None:
                    break
                chunker = _Chunker(pa, pc, self.batch, done)
            chunker.add(table.select(self.read_columns), ids, lines)
        if chunker is None:
            self._empty(sinks)
            return
        chunker.finish()
        self.ev.finish()

    def _csv_partitioned(self, sinks: _Sinks, workdir: Path) -> None:
        pa = import_optional("pyarrow", extra="parquet", feature="streaming a CSV file")
        pc = import_optional("pyarrow.compute", extra="parquet")
        size = os.path.getsize(self.source)
        # about 80 bytes a row, 14 rows a customer
        parts = self._partitions(max(1, size // 80), 14)
        splitter = _Splitter(pa, pc, workdir, parts, self.cid)
        for table, ids, lines, read, size in self._csv_pieces():
            splitter.add(table.select(self.read_columns), ids, lines)
            self._tick(read, 3 * size)
        self._evaluate_partitions(sinks, splitter, None, size)

    # ---------------------------------------------------------------- partitions
    def _evaluate_partitions(
        self,
        sinks: _Sinks,
        splitter: _Splitter,
        group: Callable[[int], int] | None,
        total: int,
    ) -> None:
        """Evaluate each partition, spill its results in first-row order, merge them back."""
        pa = import_optional("pyarrow", extra="parquet")
        pc = import_optional("pyarrow.compute", extra="parquet")
        splitter.close()
        spilled: list[tuple[Path, Path]] = []
        # what a merge cursor holds: memory stays about one batch
        held = max(1024, self.batch // max(1, splitter.parts))
        for k in range(splitter.parts):
            if not splitter.rows[k]:
                continue
            pieces, rows = splitter.read(k)
            # the first row (line) of each customer, in the order the reader numbers them
            cid = self.read_columns.index(self.cid)
            ids = _trimmed(pa, pc, pa.chunked_array([b.column(cid) for b in pieces]).combine_chunks())
            enc = pc.dictionary_encode(ids)  # codes in order of first appearance
            codes = np.asarray(enc.indices)
            seen = np.maximum.accumulate(codes)
            new = np.ones(codes.shape[0], dtype=bool)
            new[1:] = seen[1:] > seen[:-1]
            first_rows = rows[new]  # each customer's first row, customers in code order
            in_order = enc.dictionary
            del ids, enc, codes, seen, new
            p = self._portfolio(pieces, rows, group)
            del rows
            if p.n_customers != first_rows.shape[0] or not np.array_equal(
                in_order.to_numpy(zero_copy_only=False).astype(str), p.customer_ids
            ):  # pragma: no cover - the reader keeps ids as they are, stripped
                raise RuntimeError(f"partition {k}: its customers are not the ids it holds")
            del in_order
            result = self.ev.run(p)
            self.tally.add(result)
            res = _result_columns(result)
            res[_FIRST] = first_rows
            ev = _event_columns(result.events, result.customer_ids)
            ev[_FIRST] = first_rows[np.asarray(result.events.customer_index)]
            rpath = splitter.workdir / f"result-{k:04d}.arrow"
            epath = splitter.workdir / f"events-{k:04d}.arrow"
            _spill(pa, pa.table(res), rpath, held)
            _spill(pa, pa.table(ev), epath, held)
            spilled.append((rpath, epath))
            del result, res, ev, p
            self._tick(total + sum(splitter.rows[: k + 1]) * total // max(1, splitter.total), 3 * total)
        self.ev.finish()
        # merge: windows of first rows, each about one partition's customers
        span = splitter.last_line
        results = [_Cursor(pa, r) for r, _ in spilled]
        events = [_Cursor(pa, e) for _, e in spilled]
        width = max(1, span // max(1, len(spilled)))
        try:
            lo = 0
            while lo <= span:
                hi = lo + width
                for cursors, is_result in ((results, True), (events, False)):
                    parts = [t for c in cursors if (t := c.below(hi)) is not None and len(t)]
                    if not parts:
                        continue
                    table = pa.concat_tables(parts)
                    first = np.asarray(table.column(_FIRST))
                    order = np.argsort(first, kind="stable")
                    cols = {
                        name: table.column(name).to_numpy(zero_copy_only=False)[order]
                        for name in table.column_names
                        if name != _FIRST
                    }
                    if is_result:
                        sinks.write(cols, None)
                    else:
                        sinks.write(None, cols)
                lo = hi
                self._tick(2 * total + min(lo, span) * total // max(1, span), 3 * total)
        finally:
            for c in (*results, *events):
                c.close()


def _spill(pa: Any, table: Any, path: Path, rows: int) -> None:
    """A partition's results to an Arrow IPC file, in record batches of ``rows``."""
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=rows)


def _record_batches(pf: Any, rows: int, columns: list[str] | None = None) -> Iterator[Any]:
    """The file's record batches, one reader per row group.

    One reader over the whole file holds on to decoded data as it goes (its
    Arrow allocations grow with the file); a reader per row group does not.
    """
    for g in range(pf.metadata.num_row_groups):
        yield from pf.iter_batches(batch_size=rows, row_groups=[g], columns=columns)


def _has_pyarrow() -> bool:
    try:
        import_optional("pyarrow", extra="parquet")
    except MissingDependencyError:
        return False
    return True


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _Splitter:
    """Rows into partition files by customer hash, keeping their order and their lines.

    Each partition is an Arrow IPC stream (cheap to write and to read back)
    of the input's columns and ``__row``, the rows' places in the input;
    customer ids are written as plain strings (a Parquet dictionary holds a
    whole row group's ids, which every partition's batch would repeat).
    """

    def __init__(self, pa: Any, pc: Any, workdir: Path, parts: int, cid: str) -> None:
        self.pa, self.pc, self.workdir, self.parts, self.cid = pa, pc, workdir, parts, cid
        self.writers: list[Any] = [None] * parts
        self.sinks: list[Any] = [None] * parts
        self.schema: Any = None
        self.rows = [0] * parts
        self.total = 0
        self.last_line = 0

    def data_path(self, k: int) -> Path:
        return self.workdir / f"part-{k:04d}.arrows"

    def _plain(self, table: Any) -> Any:
        """Id columns as plain strings (the others keep their small dictionaries)."""
        pa = self.pa
        cols = []
        for name, col in zip(table.schema.names, table.columns, strict=True):
            if pa.types.is_dictionary(col.type) and name in (self.cid, "household_id"):
                col = col.cast(col.type.value_type)
            cols.append(col)
        return pa.Table.from_arrays(cols, names=table.schema.names)

    def add(self, table: Any, ids: Any, lines: NDArray[np.int64]) -> None:
        pa = self.pa
        if not isinstance(table, pa.Table):
            table = pa.Table.from_batches([table])
        n = len(table)
        if n == 0:
            return
        # partitions fit 16 bits: numpy's stable argsort is then a radix sort
        part = (_hash(pa, ids) % np.uint64(self.parts)).astype(np.uint16)
        if self.parts > 1:
            order = np.argsort(part, kind="stable")
            part = part[order]
            table = table.take(pa.array(order))
            lines = lines[order]
        bounds = np.searchsorted(part, np.arange(self.parts + 1, dtype=np.int64))
        table = self._plain(table).append_column(_ROW, pa.array(np.ascontiguousarray(lines, dtype=np.int64)))
        if self.schema is None:
            self.schema = table.schema
        elif not table.schema.equals(self.schema):
            table = table.cast(self.schema)
        for k in np.flatnonzero(np.diff(bounds)).tolist():
            lo, hi = int(bounds[k]), int(bounds[k + 1])
            if self.writers[k] is None:
                self.sinks[k] = pa.OSFile(str(self.data_path(k)), "wb")
                self.writers[k] = pa.ipc.new_stream(self.sinks[k], self.schema)
            self.writers[k].write_table(table.slice(lo, hi - lo))
            self.rows[k] += hi - lo
        self.total += n
        self.last_line = max(self.last_line, int(lines.max()))

    def read(self, k: int) -> tuple[list[Any], NDArray[np.int64]]:
        """Partition ``k``'s record batches (without ``__row``) and their rows; the file is removed."""
        pa = self.pa
        path = self.data_path(k)
        pieces: list[Any] = []
        rows: list[NDArray[np.int64]] = []
        with pa.OSFile(str(path), "rb") as source:
            for b in pa.ipc.open_stream(source):
                rows.append(np.asarray(b.column(b.num_columns - 1)))
                b = b.drop_columns([_ROW])
                pieces.append(_narrow(pa, b))
        path.unlink()
        return pieces, np.concatenate(rows)

    def close(self) -> None:
        for k in range(self.parts):
            if self.writers[k] is not None:
                self.writers[k].close()
                self.writers[k] = None
                self.sinks[k].close()
                self.sinks[k] = None


class _Cursor:
    """A spilled partition result (an Arrow IPC file), read in order, handed out up to a first row."""

    def __init__(self, pa: Any, path: Path) -> None:
        self.pa = pa
        self._source = pa.memory_map(str(path), "r")
        self._file = pa.ipc.open_file(self._source)
        self._next = 0
        self._buf: Any = None

    def below(self, hi: int) -> Any:
        pa = self.pa
        pieces = []
        while True:
            if self._buf is None:
                if self._next >= self._file.num_record_batches:
                    break
                self._buf = pa.Table.from_batches([self._file.get_batch(self._next)])
                self._next += 1
            first = np.asarray(self._buf.column(_FIRST))
            k = int(np.searchsorted(first, hi))
            pieces.append(self._buf.slice(0, k))
            if k < len(self._buf):
                self._buf = self._buf.slice(k)
                break
            self._buf = None
        return pa.concat_tables(pieces) if pieces else None

    def close(self) -> None:
        self._buf = None
        with contextlib.suppress(Exception):
            self._source.close()


# --------------------------------------------------------------------------- API
def _kind(path: Path, format: str | None) -> str:
    if format is not None and format.lower() in ("arrow", "feather", "ipc"):
        return "arrow"
    if format is None and is_snapshot_path(path):
        return "arrow"
    return file_format(path, format)


def evaluate_file(
    path: str | os.PathLike[str],
    policy: Policy | CompiledPolicy | PolicySet | None = None,
    *,
    as_of: MonthLike | None = None,
    out: str | os.PathLike[str] | None = None,
    events: str | os.PathLike[str] | None = None,
    batch_customers: int = DEFAULT_BATCH,
    format: str | None = None,
    out_format: str | None = None,
    events_format: str | None = None,
    columns: Mapping[str, str] | None = None,
    delimiter: str = ",",
    encoding: str = "utf-8",
    progress: Callable[[int, int], None] | None = None,
) -> FileEvaluation:
    """Evaluate a balances file in customer batches, with memory bounded by the batch size.

    Parameters
    ----------
    path
        A balances file (CSV or Parquet, see :func:`~custvalue.read_balances`)
        or a portfolio snapshot (``.arrow``, evaluated in batches through its
        memory map).
    policy
        As for :func:`~custvalue.evaluate` (the default policy when omitted).
    as_of
        The month to evaluate; the file's last month when omitted.
    out
        The result file (CSV or Parquet by its name, or ``out_format``):
        identical to ``evaluate(read_balances(path, policy=policy)).write(out)``.
    events
        The events file (see :func:`write_events`).
    batch_customers
        Customers per batch.  Peak memory grows linearly with it (see the
        scale-out page of the docs); results do not depend on it.
    format
        The input's format (``"csv"``, ``"parquet"`` or ``"arrow"``) when its
        name does not tell.
    out_format, events_format
        The outputs' formats when their names do not tell.
    columns, delimiter, encoding
        Reading a file from another system, as for
        :func:`~custvalue.read_balances`: a column mapping (custvalue's name
        to the file's), the CSV separator and text encoding.  Only the
        columns the policy reads are required (``read_balances(path,
        policy=policy)``); other columns are ignored with one
        :class:`~custvalue.io.ExtraColumnsWarning`.
    progress
        Called as ``progress(done, total)`` after each batch; the units are
        rows (Parquet), bytes (CSV) or customers (snapshots).  A file that
        is partitioned counts its work three times over (partitioning,
        evaluating, merging), and ``total`` grows when a file thought sorted
        turns out not to be.

    Returns
    -------
    FileEvaluation
        Counts over the whole file; the results are in the files.

    Raises
    ------
    PortfolioError
        Bad input, naming the file, the line (CSV) or row and row group
        (Parquet), the column and the customer.  Nothing is written.
    OutputError
        An output that is an input or cannot be written (before any work).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import pyarrow.parquet as pq
    >>> from custvalue import evaluate, read_balances, write_balances
    >>> from custvalue.synthetic import generate
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> f = write_balances(generate(1_000, seed=5), d / "balances.parquet")
    >>> s = evaluate_file(f, as_of="2026-10", out=d / "result.parquet", batch_customers=300)
    >>> s.n_customers, s.batches
    (1000, 4)
    >>> evaluate(read_balances(f), as_of="2026-10").write(d / "memory.parquet")
    >>> pq.read_table(d / "result.parquet").equals(pq.read_table(d / "memory.parquet"))
    True
    """
    if isinstance(batch_customers, bool) or batch_customers < 1:
        raise ValueError("batch_customers must be a positive number of customers")
    source = Path(path)
    kind = _kind(source, format)
    month = None if as_of is None else Month.coerce(as_of)
    out_fmt = file_format(out, out_format) if out is not None else None
    ev_fmt = file_format(events, events_format) if events is not None else None
    if out is not None:
        check_output(out, inputs=[source])
    if events is not None:
        check_output(events, inputs=[source, out])
    if not source.exists():
        raise PortfolioError("no such file", file=str(source))
    if len(delimiter) != 1:
        raise ValueError(f"the delimiter must be one character, got {delimiter!r}")
    evaluator = _Evaluator(policy, month)
    uses: Any = policy if policy is not None else default_policy()
    if isinstance(uses, PolicySet):
        uses = uses.at(month) if month is not None else None
    how = _Reading(dict(columns) if columns else None, uses if hasattr(uses, "input_columns") else None)
    run = _Run(source, kind, evaluator, int(batch_customers), progress, how, delimiter, encoding)
    near = Path(out if out is not None else events if events is not None else source).parent
    base = near if os.access(near, os.W_OK) else Path(tempfile.gettempdir())

    def go(res_tmp: Path | None, ev_tmp: Path | None) -> None:
        workdir = Path(tempfile.mkdtemp(prefix=".custvalue-stream-", dir=base))
        sinks = _Sinks(None, None)
        try:
            sinks.result = _Writer(res_tmp, str(out_fmt), "result") if res_tmp is not None else None
            sinks.events = _Writer(ev_tmp, str(ev_fmt), "events") if ev_tmp is not None else None
            run.run(sinks, workdir)
        finally:
            sinks.close()
            shutil.rmtree(workdir, ignore_errors=True)

    if out is not None and events is not None:
        ev_path = events

        def both(r: Path) -> None:
            atomic_write(ev_path, lambda e: go(r, e), inputs=[source])

        atomic_write(out, both, inputs=[source])
    elif out is not None:
        atomic_write(out, lambda r: go(r, None), inputs=[source])
    elif events is not None:
        atomic_write(events, lambda e: go(None, e), inputs=[source])
    else:
        go(None, None)
    t = run.tally
    done_month = evaluator.finish() if evaluator.last is not None else month
    assert done_month is not None and t.policy is not None
    return FileEvaluation(
        source=str(source),
        as_of=done_month,
        policy=t.policy,
        n_customers=t.n,
        tiers=t.tiers,
        statuses=t.statuses or dict.fromkeys(STATUSES, 0),
        movements=t.movements or dict.fromkeys(MOVEMENTS, 0),
        churned=t.churned,
        events=t.events,
        incomplete_history=t.incomplete,
        without_tier=t.without,
        batches=t.batches,
        partitioned=run.partitioned,
        out=None if out is None else str(out),
        events_file=None if events is None else str(events),
    )
