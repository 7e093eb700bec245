"""Transaction files (CSV or Parquet): one row per transaction, in any order.

Columns (matched by name in the header; any other column is an error):
``customer_id, timestamp, amount, direction`` and optionally ``channel``.

* ``timestamp``: ISO 8601 local time (``2026-10-01T09:30:00``,
  ``2026-10-01 09:30:00``, ``2026-10-01``) read vectorised; other formats
  (``2026/10/01 9:30``, ``01 Oct 2026 09:30``) through
  :func:`dateutil.parser.parse`.  A UTC offset or a fraction of a second is
  an error (timestamps are whole seconds of the bank's local time).  Parquet
  may also store a ``timestamp`` column (whole seconds, no time zone).
* ``amount``: positive yuan with at most two decimals, read exactly (never
  through ``float``); in Parquet also ``decimal`` or integer (whole yuan).
* ``direction``: ``in`` or ``out`` (case and surrounding blanks ignored).
* ``channel``: any text (an empty cell is ``""``).

Every bad cell is a :class:`TransactionFileError` naming file, line (CSV:
physical line, the header being line 1; Parquet: 1-based row), column and,
when known, the customer.  Nothing is dropped: every row of the file is a
transaction or an error (blank CSV lines are skipped but counted).
"""

from __future__ import annotations

import csv
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, NoReturn

import attrs
import numpy as np
from dateutil import parser as _dateparser
from numpy.typing import NDArray

from .._arrays import readonly
from .._atomic import atomic_write
from .._errors import InputError
from .._optional import import_optional
from ..money import MoneyError, format_yuan, yuan_to_fen
from ._columns import MAX_ID_LENGTH, text_flaw
from ._fastmoney import FAST_WIDTH, parse_yuan_bytes
from ._formats import file_format

__all__ = [
    "DIRECTIONS",
    "TRANSACTION_COLUMNS",
    "TransactionFile",
    "TransactionFileError",
    "read_transaction_file",
    "write_transaction_file",
]

#: Required columns of a transaction file, in the order they are written (then ``channel``).
TRANSACTION_COLUMNS: Final[tuple[str, ...]] = ("customer_id", "timestamp", "amount", "direction")
_OPTIONAL: Final = ("channel",)
#: Direction names; a direction code is the index (0 = in, 1 = out).
DIRECTIONS: Final[tuple[str, ...]] = ("in", "out")
_DIRECTION_CODE: Final = {"in": 0, "out": 1}


class TransactionFileError(InputError):
    """A bad transaction file or cell, naming file, line, column and customer."""


@attrs.frozen(eq=False)
class TransactionFile:
    """The validated columns of a transaction file, in file order.

    ``lines[i]`` is the line (CSV) or row number (Parquet) of row ``i``.
    """

    customer_ids: NDArray[np.str_]
    timestamps: NDArray[np.datetime64]
    amounts: NDArray[np.int64]
    direction_codes: NDArray[np.int8]
    channels: NDArray[np.str_]
    lines: NDArray[np.int64]
    source: str


class _Where:
    def __init__(self, source: str, lines: NDArray[np.int64]) -> None:
        self.source, self.lines = source, lines
        self.ids: NDArray[np.str_] | None = None

    def fail(self, row: int, message: str, column: str) -> NoReturn:
        cid = None if self.ids is None or column == "customer_id" else str(self.ids[row])
        raise TransactionFileError(
            message, file=self.source, line=int(self.lines[row]), column=column, customer_id=cid
        )


def _check_header(names: Sequence[str], source: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise TransactionFileError("duplicate column", file=source, line=1, column=name[:64])
        seen.add(name)
        if name not in TRANSACTION_COLUMNS and name not in _OPTIONAL:
            raise TransactionFileError(
                f"unknown column; expected {', '.join(TRANSACTION_COLUMNS)} (and optionally channel)",
                file=source,
                line=1,
                column=name[:64],
            )
    for name in TRANSACTION_COLUMNS:
        if name not in seen:
            raise TransactionFileError("missing column", file=source, line=1, column=name)


# ------------------------------------------------------------------ columns
def _texts(cells: list[str], name: str, where: _Where) -> NDArray[np.str_]:
    distinct = dict.fromkeys(cells)
    joined = "".join(distinct)
    if not joined.isascii() or "\x00" in joined:
        for i, c in enumerate(cells):
            flaw = text_flaw(c)
            if flaw is not None:
                where.fail(i, flaw, name)
    return np.array(cells, dtype=str) if cells else np.zeros(0, dtype="U1")


def _ids(cells: list[str], where: _Where, known: set[str] | None) -> NDArray[np.str_]:
    raw = _texts(cells, "customer_id", where)
    long = (
        [i for i, c in enumerate(cells) if len(c) > MAX_ID_LENGTH]
        if raw.dtype.itemsize > 4 * MAX_ID_LENGTH
        else []
    )
    if long:
        where.fail(long[0], f"an id may have at most {MAX_ID_LENGTH} characters", "customer_id")
    ids: NDArray[np.str_] = np.strings.strip(raw)
    empty = np.flatnonzero(ids == "")
    if empty.size:
        where.fail(int(empty[0]), "missing value", "customer_id")
    if known is not None:
        distinct = np.unique(ids)
        unknown = [c for c in distinct.tolist() if c not in known]
        if unknown:
            bad = np.flatnonzero(np.isin(ids, np.array(unknown)))
            where.fail(
                int(bad[0]),
                f"unknown customer {str(ids[int(bad[0])])!r}: not in the portfolio",
                "customer_id",
            )
    return ids


def _timestamp_of(text: str) -> np.datetime64:
    s = text.strip()
    if not s:
        raise InputError("missing value")
    if len(s) > 64:
        raise InputError(f"{s[:20]!r}... is not a timestamp (too long)")
    try:
        value = _dateparser.parse(s)
    except (ValueError, OverflowError):
        raise InputError(f"{s!r} is not a timestamp") from None
    if value.tzinfo is not None:
        raise InputError(f"{s!r} has a time zone; timestamps are local times without an offset")
    if value.microsecond:
        raise InputError(f"{s!r} has a fraction of a second; timestamps are whole seconds")
    return np.datetime64(value.replace(tzinfo=None), "s")


def _parse_timestamps(cells: Sequence[str], name: str, where: _Where) -> NDArray[np.datetime64]:
    """Whole-second timestamps of text cells: ISO vectorised, the rest through dateutil."""
    arr = np.array(cells, dtype=str) if len(cells) else np.zeros(0, dtype="U1")
    arr = np.strings.strip(arr)
    out: NDArray[np.datetime64] | None = None
    # the plain ISO shapes numpy reads exactly: YYYY-MM-DD and YYYY-MM-DD[T ]hh:mm:ss
    lengths = np.strings.str_len(arr)
    plain = (lengths == 10) | (lengths == 19)
    if arr.size and plain.all() and not np.any(np.strings.find(arr, "NaT") >= 0):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                out = arr.astype("datetime64[s]")
        except (ValueError, Warning):
            out = None
    if out is None:
        out = np.empty(arr.shape[0], dtype="datetime64[s]")
        cache: dict[str, np.datetime64] = {}
        for i, s in enumerate(cells):
            v = cache.get(s)
            if v is None:
                try:
                    v = cache[s] = _timestamp_of(s)
                except InputError as exc:
                    where.fail(i, exc.message, name)
            out[i] = v
    bad = np.flatnonzero(np.isnat(out))
    if bad.size:
        where.fail(int(bad[0]), "missing value", name)
    return out


def _amounts(cells: list[str], where: _Where) -> NDArray[np.int64]:
    try:
        fixed = np.array(cells, dtype=f"S{FAST_WIDTH}")
        cut = [i for i, c in enumerate(cells) if len(c) > FAST_WIDTH]
        fixed[cut] = b"?"
    except UnicodeEncodeError:
        fixed = np.array(
            [c if c.isascii() and len(c) <= FAST_WIDTH else "?" for c in cells], dtype=f"S{FAST_WIDTH}"
        )
    fen, ok = parse_yuan_bytes(fixed)
    for i in np.flatnonzero(~ok).tolist():
        s = cells[i]
        flaw = text_flaw(s)
        if flaw is not None:
            where.fail(i, flaw, "amount")
        if s.strip() == "":
            where.fail(i, "missing value", "amount")
        try:
            fen[i] = yuan_to_fen(s, thousands=False)
        except MoneyError as exc:
            where.fail(i, exc.message, "amount")
    return _positive(fen, where, lambda i: cells[i].strip())


def _positive(fen: NDArray[np.int64], where: _Where, shown: Any) -> NDArray[np.int64]:
    bad = np.flatnonzero(fen <= 0)
    if bad.size:
        i = int(bad[0])
        where.fail(i, f"amount {shown(i)} is not positive; the direction tells in from out", "amount")
    return fen


def _directions(cells: list[str], where: _Where) -> NDArray[np.int8]:
    table: dict[str, int] = {}
    codes = np.empty(len(cells), dtype=np.int8)
    for i, c in enumerate(cells):
        code = table.get(c)
        if code is None:
            code = _DIRECTION_CODE.get(c.strip().lower())
            if code is None:
                shown = c.strip() if len(c) <= 64 else c[:64] + "..."
                where.fail(i, f"unknown direction {shown!r}; expected in or out", "direction")
            table[c] = code
        codes[i] = code
    return codes


def _build(
    columns: dict[str, list[str]], lines: NDArray[np.int64], source: str, known: set[str] | None
) -> TransactionFile:
    where = _Where(source, lines)
    ids = _ids(columns["customer_id"], where, known)
    where.ids = ids
    timestamps = _parse_timestamps(columns["timestamp"], "timestamp", where)
    amounts = _amounts(columns["amount"], where)
    directions = _directions(columns["direction"], where)
    channel_cells = columns.get("channel")
    if channel_cells is None:
        channels: NDArray[np.str_] = np.full(len(lines), "", dtype="U1")
    else:
        channels = np.strings.strip(_texts(channel_cells, "channel", where))
    return _file(ids, timestamps, amounts, directions, channels, lines, source)


def _file(
    ids: NDArray[np.str_],
    timestamps: NDArray[np.datetime64],
    amounts: NDArray[np.int64],
    directions: NDArray[np.int8],
    channels: NDArray[np.str_],
    lines: NDArray[np.int64],
    source: str,
) -> TransactionFile:
    return TransactionFile(
        readonly(ids),
        readonly(timestamps),
        readonly(amounts),
        readonly(directions),
        readonly(channels),
        readonly(lines),
        source,
    )


# ------------------------------------------------------------------ readers
def read_transaction_file(
    path: str | os.PathLike[str],
    *,
    customer_ids: Sequence[str] | NDArray[np.str_] | None = None,
    format: str | None = None,
) -> TransactionFile:
    """Read and validate a transaction file (see the module notes), rows in file order.

    Parameters
    ----------
    path
        ``*.csv``/``*.txt`` or ``*.parquet``/``*.pq``.
    customer_ids
        The known customers (a portfolio's); another id is an error.
    format
        ``"csv"`` or ``"parquet"``, overriding the file name.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "tx.csv"
    >>> _ = f.write_text("customer_id,timestamp,amount,direction,channel\\n"
    ...                  "C1,2026-10-01 09:30:00,50000.00,out,counter\\n"
    ...                  "C2,2026/10/02 14:00,12.5,IN,mobile\\n")
    >>> t = read_transaction_file(f)
    >>> t.amounts.tolist(), t.direction_codes.tolist(), str(t.timestamps[1])
    ([5000000, 1250], [1, 0], '2026-10-02T14:00:00')
    >>> _ = f.write_text(f.read_text().replace("12.5", "-12.5"))
    >>> read_transaction_file(f)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    custvalue.io.TransactionFileError: amount -12.5 is not positive; ...
    line 3, column 'amount', customer 'C2')
    """
    p = Path(path)
    source = str(p)
    known = None if customer_ids is None else set(np.asarray(customer_ids).tolist())
    if file_format(p, format) == "csv":
        columns, lines = _read_csv(p, source)
        return _build(columns, lines, source, known)
    return _read_parquet(p, source, known)


def _read_csv(path: Path, source: str) -> tuple[dict[str, list[str]], NDArray[np.int64]]:
    try:
        f = open(path, newline="", encoding="utf-8-sig", errors="surrogateescape")
    except OSError as exc:
        raise TransactionFileError(f"cannot open transaction file: {exc.strerror}", file=source) from None
    with f:
        reader = csv.reader(f)
        try:
            header = next(reader, None)
            if header is None:
                raise TransactionFileError("empty file: a header line is needed", file=source, line=1)
            names = [h.strip() for h in header]
            _check_header(names, source)
            width = len(names)
            cells: list[list[str]] = [[] for _ in names]
            lines: list[int] = []
            prev = reader.line_num
            for row in reader:
                start, prev = prev + 1, reader.line_num
                if not row:
                    continue  # a blank line
                if len(row) != width:
                    raise TransactionFileError(
                        f"expected {width} fields as in the header, got {len(row)}", file=source, line=start
                    )
                lines.append(start)
                for k, c in enumerate(row):
                    cells[k].append(c)
        except csv.Error as exc:
            raise TransactionFileError(f"malformed CSV: {exc}", file=source, line=reader.line_num) from None
    return dict(zip(names, cells, strict=True)), np.array(lines, dtype=np.int64)


def _read_parquet(path: Path, source: str, known: set[str] | None) -> TransactionFile:
    pq = import_optional("pyarrow.parquet", extra="parquet", feature="reading Parquet")
    pa = import_optional("pyarrow", extra="parquet")
    pc = import_optional("pyarrow.compute", extra="parquet")
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise TransactionFileError(f"cannot read Parquet file: {exc}", file=source) from None
    names = [str(n) for n in table.column_names]
    _check_header(names, source)
    n = table.num_rows
    lines = np.arange(1, n + 1, dtype=np.int64)
    where = _Where(source, lines)
    columns: dict[str, list[str]] = {}
    typed: dict[str, Any] = {}
    for name in names:
        col = table.column(name).combine_chunks()
        if pa.types.is_dictionary(col.type):
            col = col.dictionary_decode()
        t = col.type
        if col.null_count:
            i = int(np.flatnonzero(np.asarray(col.is_null().to_numpy(zero_copy_only=False)))[0])
            where.fail(i, "missing value", name)
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            columns[name] = col.to_pylist()
        elif name == "timestamp" and pa.types.is_timestamp(t):
            if t.tz is not None:
                raise TransactionFileError(
                    f"timestamp column has time zone {t.tz}; store local times without one",
                    file=source,
                    column=name,
                )
            raw = col.cast(pa.int64()).to_numpy()
            per = {"s": 1, "ms": 1000, "us": 10**6, "ns": 10**9}[t.unit]
            frac = np.flatnonzero(raw % per)
            if frac.size:
                where.fail(int(frac[0]), "a fraction of a second; timestamps are whole seconds", name)
            typed[name] = (raw // per).astype("datetime64[s]")
        elif name == "amount" and pa.types.is_decimal(t):
            text = pc.cast(col, pa.string()).to_pylist()  # trailing zeros of the scale are not decimals
            columns[name] = [c.rstrip("0").rstrip(".") if "." in c else c for c in text]
        elif name == "amount" and pa.types.is_integer(t):
            raw = np.asarray(col.to_numpy(), dtype=np.int64) if not pa.types.is_uint64(t) else col.to_numpy()
            over = np.flatnonzero(raw > np.iinfo(np.int64).max // 100)
            if over.size:
                where.fail(int(over[0]), f"amount {int(raw[int(over[0])])} yuan overflows int64 fen", name)
            typed[name] = raw.astype(np.int64) * 100
        else:
            raise TransactionFileError(
                f"unsupported Parquet type {t} for column {name}"
                + (
                    "; money must be decimal, integer yuan or decimal text, never float"
                    if name == "amount"
                    else ""
                ),
                file=source,
                column=name,
            )
    ids = _ids(columns["customer_id"], where, known)
    where.ids = ids
    if "timestamp" in typed:
        timestamps = typed["timestamp"]
    else:
        timestamps = _parse_timestamps(columns["timestamp"], "timestamp", where)
    if "amount" in typed:
        amounts = _positive(
            typed["amount"], where, lambda i: format_yuan(int(typed["amount"][i]), thousands=False)
        )
    else:
        amounts = _amounts(columns["amount"], where)
    directions = _directions(columns["direction"], where)
    if "channel" in columns:
        channels: NDArray[np.str_] = np.strings.strip(_texts(columns["channel"], "channel", where))
    else:
        channels = np.full(n, "", dtype="U1")
    return _file(ids, timestamps, amounts, directions, channels, lines, source)


# ------------------------------------------------------------------ writer
def write_transaction_file(
    path: str | os.PathLike[str],
    *,
    customer_ids: NDArray[np.str_],
    timestamps: NDArray[np.datetime64],
    amounts: NDArray[np.int64],
    direction_codes: NDArray[np.int8],
    channels: NDArray[np.str_],
    format: str | None = None,
) -> Path:
    """Write transactions (one row each) atomically; :func:`read_transaction_file` reads them back.

    CSV: ISO timestamps (``2026-10-01T09:30:00``), yuan with two decimals.
    Parquet: ``timestamp[s]``, ``decimal128(18, 2)`` yuan, strings.
    """
    p = Path(path)
    fmt = file_format(p, format)
    ts = np.asarray(timestamps, dtype="datetime64[s]")
    directions = np.array(DIRECTIONS)[np.asarray(direction_codes, dtype=np.intp)]

    def write_csv(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow([*TRANSACTION_COLUMNS, "channel"])
            text = np.datetime_as_string(ts, unit="s")
            for row in zip(
                customer_ids.tolist(),
                text.tolist(),
                [format_yuan(v, thousands=False) for v in np.asarray(amounts).tolist()],
                directions.tolist(),
                channels.tolist(),
                strict=True,
            ):
                w.writerow(row)

    def write_parquet(tmp: Path) -> None:
        pa = import_optional("pyarrow", extra="parquet", feature="writing Parquet")
        pq = import_optional("pyarrow.parquet", extra="parquet", feature="writing Parquet")
        fen = np.ascontiguousarray(amounts, dtype=np.int64)
        words = np.empty((fen.shape[0], 2), dtype=np.int64)
        words[:, 0] = fen
        words[:, 1] = fen >> 63
        table = pa.table(
            {
                "customer_id": pa.array(customer_ids.tolist(), type=pa.string()),
                "timestamp": pa.array(ts.astype(np.int64), type=pa.int64()).cast(pa.timestamp("s")),
                "amount": pa.Array.from_buffers(
                    pa.decimal128(18, 2), fen.shape[0], [None, pa.py_buffer(words)]
                ),
                "direction": pa.array(directions.tolist(), type=pa.string()),
                "channel": pa.array(channels.tolist(), type=pa.string()),
            }
        )
        pq.write_table(table, tmp)

    return atomic_write(p, write_csv if fmt == "csv" else write_parquet)
