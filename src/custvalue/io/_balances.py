"""The balances file (SPEC section 7): one row per customer-month, CSV or Parquet.

Columns (any order, matched by name in the header):

``customer_id, branch_id, month, deposits, wealth, investments,
mortgage_loan, credit_loan, card_spend, card_level`` and optionally
``household_id``.  Any other column is an error naming it (a misspelt column
would otherwise be silently ignored).

Money columns are yuan with at most two decimals, read exactly, never through
``float``:

* CSV: plain decimal text (``"123456.78"``, ``"-0.5"``, ``"12"``); no
  thousands separators (a comma in a CSV cell is almost always a quoting
  mistake).
* Parquet: ``decimal128`` (yuan; a scale above 2 is accepted only when every
  value is a whole number of fen), integer columns (whole **yuan**), or
  string columns (decimal yuan text as in CSV).  Floating-point columns are
  an error naming the column.

``month`` is ``"YYYY-MM"`` text; ``card_level`` one of ``none, standard,
gold, platinum, diamond`` (an empty cell is ``none``).

Errors are :class:`~custvalue.PortfolioError` and name the file, the line
(CSV: the 1-based physical line, the header being line 1; Parquet: the
1-based row number), the column, and where known the customer and month.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import NDArray

from .._errors import InputError
from .._optional import import_optional
from ..money import INT64_MAX, MoneyError, format_yuan, yuan_to_fen
from ..months import Month
from ..portfolio import CARD_LEVELS, MONEY_COLUMNS, Coded, Portfolio, PortfolioError
from ._atomic import atomic_write
from ._fastmoney import parse_yuan_bytes

__all__ = ["BALANCE_COLUMNS", "read_balances", "write_balances"]

#: Required columns of the balances file, in the order they are written.
BALANCE_COLUMNS: Final[tuple[str, ...]] = (
    "customer_id",
    "branch_id",
    "month",
    *MONEY_COLUMNS,
    "card_level",
)
_OPTIONAL: Final = ("household_id",)
_CARD_CODE: Final = {name: i for i, name in enumerate(CARD_LEVELS)}
_CHUNK: Final = 131_072
_FRAC2: Final = np.array([f".{k:02d}" for k in range(100)], dtype="S3")

Format = Literal["csv", "parquet"]


def _format_of(path: Path, fmt: str | None) -> Format:
    if fmt is not None:
        f = fmt.lower()
        if f not in ("csv", "parquet"):
            raise ValueError(f"unknown balances format {fmt!r}; use 'csv' or 'parquet'")
        return "csv" if f == "csv" else "parquet"
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".parquet", ".pq"):
        return "parquet"
    if suffixes and suffixes[-1] in (".csv", ".txt"):
        return "csv"
    raise ValueError(
        f"cannot tell the format of {str(path)!r} from its name; pass format='csv' or 'parquet'"
    )


def _check_header(names: Sequence[str], source: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise PortfolioError("duplicate column", file=source, line=1, column=name)
        seen.add(name)
        if name not in BALANCE_COLUMNS and name not in _OPTIONAL:
            raise PortfolioError(
                f"unknown column; expected {', '.join(BALANCE_COLUMNS)} "
                f"(and optionally {', '.join(_OPTIONAL)})",
                file=source, line=1, column=name,
            )
    for name in BALANCE_COLUMNS:
        if name not in seen:
            raise PortfolioError("missing column", file=source, line=1, column=name)


# ---------------------------------------------------------------------- read
def read_balances(
    path: str | os.PathLike[str], *, format: Literal["csv", "parquet"] | None = None
) -> Portfolio:
    """Read a balances file (CSV or Parquet) into a :class:`~custvalue.Portfolio`.

    Parameters
    ----------
    path
        The file.  ``*.csv``/``*.txt`` is CSV, ``*.parquet``/``*.pq`` Parquet.
    format
        ``"csv"`` or ``"parquet"``, overriding the file name.

    Returns
    -------
    Portfolio
        Customers in order of first appearance; months from the earliest to
        the latest month in the file.  A customer whose rows start later has
        ``history_start > 0``; every customer needs rows up to the last month
        and no gaps.

    Raises
    ------
    PortfolioError
        A bad header, cell or row, naming file, line, column, customer and
        month (see the module notes).
    MissingDependencyError
        Parquet without ``pyarrow`` installed.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "balances.csv"
    >>> _ = f.write_text(
    ...     "customer_id,branch_id,month,deposits,wealth,investments,"
    ...     "mortgage_loan,credit_loan,card_spend,card_level\\n"
    ...     "C1,B001,2026-09,499999.99,0,0,0,0,0,none\\n"
    ...     "C1,B001,2026-10,500000,0,0,0,0,1234.5,gold\\n")
    >>> p = read_balances(f)
    >>> p.deposits.tolist(), p.card_spend.tolist()
    ([[49999999, 50000000]], [[0, 123450]])
    >>> _ = f.write_text(f.read_text().replace("1234.5", "1234.567"))
    >>> read_balances(f)
    Traceback (most recent call last):
    ...
    custvalue.portfolio.PortfolioError: '1234.567' has more than two decimals (file ...,
    line 3, column 'card_spend', customer 'C1', month 2026-10)
    """
    p = Path(path)
    if _format_of(p, format) == "csv":
        return _read_csv(p)
    return _read_parquet(p)


class _Columns:
    """Accumulates parsed column chunks."""

    def __init__(self, has_household: bool) -> None:
        self.ids: list[NDArray[np.str_]] = []
        self.branches: list[NDArray[np.str_]] = []
        self.households: list[NDArray[np.str_]] | None = [] if has_household else None
        self.months: list[NDArray[np.int64]] = []
        self.money: dict[str, list[NDArray[np.int64]]] = {c: [] for c in MONEY_COLUMNS}
        self.cards: list[NDArray[np.int8]] = []
        self.lines: list[NDArray[np.int64]] = []

    def build(self, source: str) -> Portfolio:
        if not self.ids:
            raise PortfolioError("no rows", file=source)
        households: Any = None
        if self.households is not None:
            hh = np.concatenate(self.households)
            households = hh.astype(object)
            households[hh == ""] = None
        return Portfolio._from_long(
            np.concatenate(self.ids),
            np.concatenate(self.branches),
            households,
            np.concatenate(self.months),
            {c: np.concatenate(v) for c, v in self.money.items()},
            np.concatenate(self.cards),
            np.concatenate(self.lines),
            source,
        )


def _strings(values: Sequence[str]) -> NDArray[np.str_]:
    arr = np.array(values, dtype=str)
    if arr.dtype.itemsize == 0:  # pragma: no cover - numpy gives U1 for empty strings
        arr = arr.astype("U1")
    return arr


def _id_column(
    arr: NDArray[np.str_], name: str, ctx: _Ctx, *, allow_empty: bool = False
) -> NDArray[np.str_]:
    stripped: NDArray[np.str_] = np.strings.strip(arr)
    if not allow_empty:
        empty = stripped == ""
        if empty.any():
            row = int(np.flatnonzero(empty)[0])
            ctx.fail(row, "missing value", name, with_id=name != "customer_id")
    return stripped


class _Ctx:
    """Where a chunk came from, to name the row of an error."""

    def __init__(self, source: str, lines: NDArray[np.int64]) -> None:
        self.source = source
        self.lines = lines
        self.ids: Any = None  # row -> customer id (an array, or a coded lookup)
        self.months: NDArray[np.int64] | None = None

    def fail(self, row: int, message: str, column: str, *, with_id: bool = True) -> None:
        cid = str(self.ids[row]) if with_id and self.ids is not None else None
        month = (
            str(Month.from_ordinal(int(self.months[row]))) if self.months is not None else None
        )
        raise PortfolioError(
            message, file=self.source, line=int(self.lines[row]), column=column,
            customer_id=cid, month=month,
        )


def _text(v: object) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def _lookup(
    values: Sequence[str] | NDArray[Any],
    convert: Callable[[str], int],
    column: str,
    ctx: _Ctx,
    dtype: type[np.integer[Any]],
) -> NDArray[Any]:
    """Map a column with few distinct values (months, card levels) through ``convert``."""
    if isinstance(values, np.ndarray):
        uniq, inverse = np.unique(values, return_inverse=True)
        inverse = inverse.reshape(-1)
        table = np.empty(uniq.shape[0], dtype=dtype)
        for k, u in enumerate(uniq.tolist()):
            try:
                table[k] = convert(_text(u))
            except InputError as exc:
                ctx.fail(int(np.flatnonzero(inverse == k)[0]), exc.message, column)
        result: NDArray[Any] = table[inverse]
        return result
    mapping: dict[str, int] = {}
    for key in set(values):
        try:
            mapping[key] = convert(key)
        except InputError as exc:
            row = next(i for i, v in enumerate(values) if v == key)
            ctx.fail(row, exc.message, column)
    return np.fromiter(map(mapping.__getitem__, values), dtype=dtype, count=len(values))


def _month_of(text: str) -> int:
    if text.strip() == "":
        raise InputError("missing value")
    return Month.parse(text).ordinal


def _card_of(text: str) -> int:
    level = text.strip() or "none"
    code = _CARD_CODE.get(level)
    if code is None:
        raise InputError(f"unknown card level {level!r}; expected one of {', '.join(CARD_LEVELS)}")
    return code


def _month_column(values: Sequence[str] | NDArray[Any], ctx: _Ctx) -> NDArray[np.int64]:
    return _lookup(values, _month_of, "month", ctx, np.int64)


def _card_column(values: Sequence[str] | NDArray[Any], ctx: _Ctx) -> NDArray[np.int8]:
    return _lookup(values, _card_of, "card_level", ctx, np.int8)


def _money_text(values: Sequence[str] | NDArray[Any], column: str, ctx: _Ctx) -> NDArray[np.int64]:
    """Exact fen from decimal yuan text; the error names the first bad cell."""
    fen: NDArray[np.int64] | None = None
    try:
        raw = np.array(values, dtype="S")
    except UnicodeEncodeError:
        raw = None
    if raw is not None and raw.dtype.itemsize > 0:
        fen = parse_yuan_bytes(raw)
    if fen is None:
        out = np.empty(len(values), dtype=np.int64)
        for i, v in enumerate(values):
            s = _text(v)
            if s.strip() == "":
                ctx.fail(i, "missing value", column)
            try:
                out[i] = yuan_to_fen(s, thousands=False)
            except MoneyError as exc:
                ctx.fail(i, exc.message, column)
        fen = out
    neg = fen < 0
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        ctx.fail(i, f"negative balance {_text(values[i]).strip()}", column)
    return fen


def _read_csv(path: Path) -> Portfolio:
    source = str(path)
    fast = _read_csv_arrow(path, source)
    if fast is not None:
        return fast
    try:
        simple = _csv_is_simple(path)
    except OSError as exc:
        raise PortfolioError(f"cannot open balances file: {exc.strerror}", file=source) from None
    if simple:
        return _read_csv_fast(path, source)
    return _read_csv_module(path, source)


_SCAN_BLOCK: Final = 1 << 26
_PARSE_BLOCK: Final = 1 << 24
_BOM: Final = b"\xef\xbb\xbf"


def _csv_is_simple(path: Path) -> bool:
    """No quotes, no carriage returns, no blank lines, a non-empty header line.

    Such a file is plain comma-separated text and can be split with numpy
    instead of the :mod:`csv` module (about ten times faster); every other
    file goes through :mod:`csv`.
    """
    with open(path, "rb") as f:
        first = f.read(_SCAN_BLOCK)
        if first.startswith(_BOM):
            first = first[len(_BOM):]
        if not first or first.startswith(b"\n"):
            return False
        block, last = first, b""
        while block:
            if b'"' in block or b"\r" in block or b"\n\n" in last + block:
                return False
            last = block[-1:]
            block = f.read(_SCAN_BLOCK)
    return True


def _read_csv_fast(path: Path, source: str) -> Portfolio:
    with open(path, "rb") as f:
        head = f.read(_PARSE_BLOCK)
        if head.startswith(_BOM):
            head = head[len(_BOM):]
        cut = head.find(b"\n")
        if cut < 0:
            head += f.read()
            cut = head.find(b"\n")
            if cut < 0:
                head, cut = head + b"\n", len(head)
        try:
            names = [h.strip() for h in head[:cut].decode("utf-8").split(",")]
        except UnicodeDecodeError:
            raise PortfolioError("not UTF-8 text", file=source, line=1) from None
        _check_header(names, source)
        pos = {name: k for k, name in enumerate(names)}
        width = len(names)
        acc = _Columns("household_id" in pos)
        line = 2
        carry = head[cut + 1:]
        eof = False
        while not eof:
            data = f.read(_PARSE_BLOCK)
            eof = not data
            buf = carry + data
            if eof:
                if not buf:
                    break
                if not buf.endswith(b"\n"):
                    buf += b"\n"
                end = len(buf)
            else:
                end = buf.rfind(b"\n") + 1
                if end == 0:
                    carry = buf
                    continue
            carry = buf[end:]
            line = _parse_fast_block(buf[:end], line, width, pos, acc, source)
    return acc.build(source)


def _parse_fast_block(
    block: bytes, line: int, width: int, pos: dict[str, int], acc: _Columns, source: str
) -> int:
    """Split one block of whole lines with numpy; return the next line number."""
    b = np.frombuffer(block, dtype=np.uint8)
    seps = np.flatnonzero((b == 44) | (b == 10))
    newline = b[seps] == 10
    rows = int(np.count_nonzero(newline))
    if seps.size != rows * width or not (
        newline.reshape(rows, width)[:, -1].all() and not newline.reshape(rows, width)[:, :-1].any()
    ):
        for k, text in enumerate(block.split(b"\n")[:rows]):
            got = text.count(b",") + 1
            if got != width:
                raise PortfolioError(f"expected {width} fields as in the header, got {got}",
                                     file=source, line=line + k)
        raise AssertionError("unreachable")  # pragma: no cover
    starts = np.empty_like(seps)
    starts[0] = 0
    starts[1:] = seps[:-1] + 1
    lengths = (seps - starts).reshape(rows, width)
    starts2 = starts.reshape(rows, width)
    cols = {name: _extract(b, starts2[:, k], lengths[:, k]) for name, k in pos.items()}
    lines = np.arange(line, line + rows, dtype=np.int64)
    ctx = _Ctx(source, lines)
    ids = _id_column(_decode(cols["customer_id"], "customer_id", ctx), "customer_id", ctx)
    ctx.ids = ids
    months = _month_column(cols["month"], ctx)
    ctx.months = months
    branches = _id_column(_decode(cols["branch_id"], "branch_id", ctx), "branch_id", ctx)
    if acc.households is not None:
        acc.households.append(
            _id_column(_decode(cols["household_id"], "household_id", ctx), "household_id", ctx,
                       allow_empty=True))
    for c in MONEY_COLUMNS:
        acc.money[c].append(_money_text(cols[c], c, ctx))
    acc.cards.append(_card_column(cols["card_level"], ctx))
    acc.ids.append(ids)
    acc.branches.append(branches)
    acc.months.append(months)
    acc.lines.append(lines)
    return line + rows


def _extract(b: NDArray[np.uint8], starts: NDArray[np.intp], lengths: NDArray[np.intp]
             ) -> NDArray[np.bytes_]:
    """Fields ``b[starts[i]:starts[i] + lengths[i]]`` as a fixed-width bytes array."""
    w = int(lengths.max(initial=0))
    if w == 0:
        return np.zeros(starts.shape[0], dtype="S1")
    offs = np.arange(w)
    idx = starts[:, None] + offs[None, :]
    np.minimum(idx, b.shape[0] - 1, out=idx)
    out = b[idx]
    out[offs[None, :] >= lengths[:, None]] = 0
    fields: NDArray[np.bytes_] = out.view(f"S{w}").reshape(-1)
    return fields


def _decode(arr: NDArray[np.bytes_], column: str, ctx: _Ctx) -> NDArray[np.str_]:
    """UTF-8 bytes to str (fast for ASCII); invalid UTF-8 is an error naming its line."""
    raw = arr.view(np.uint8)
    if not np.any(raw >= 128):
        out: NDArray[np.str_] = arr.astype(f"U{max(arr.dtype.itemsize, 1)}")
        return out
    texts: list[str] = []
    for i, v in enumerate(arr.tolist()):
        try:
            texts.append(v.decode("utf-8"))
        except UnicodeDecodeError:
            ctx.fail(i, "not valid UTF-8 text", column, with_id=column != "customer_id")
    return np.array(texts, dtype=str)


def _read_csv_module(path: Path, source: str) -> Portfolio:
    try:
        f = open(path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise PortfolioError(f"cannot open balances file: {exc.strerror}", file=source) from None
    with f:
        reader = csv.reader(f)
        try:
            header = next(reader, None)
            if header is None:
                raise PortfolioError("empty file: a header line is needed", file=source, line=1)
            names = [h.strip() for h in header]
            _check_header(names, source)
            pos = {name: k for k, name in enumerate(names)}
            width = len(names)
            acc = _Columns("household_id" in pos)
            for rows, lines in _csv_chunks(reader, width, source):
                _parse_chunk(rows, lines, pos, acc, source)
        except UnicodeDecodeError as exc:
            raise PortfolioError(
                f"not UTF-8 text ({exc.reason} at byte {exc.start} of a read block)",
                file=source, line=reader.line_num + 1,
            ) from None
        except csv.Error as exc:
            raise PortfolioError(f"malformed CSV: {exc}", file=source,
                                 line=reader.line_num) from None
    return acc.build(source)


def _csv_chunks(
    reader: Any, width: int, source: str
) -> Iterator[tuple[list[list[str]], NDArray[np.int64]]]:
    prev_end = reader.line_num
    while True:
        rows: list[list[str]] = []
        ends: list[int] = []
        append_row, append_end = rows.append, ends.append
        for row in islice(reader, _CHUNK):
            append_row(row)
            append_end(reader.line_num)
        if not rows:
            return
        end = np.array(ends, dtype=np.int64)
        starts = np.empty_like(end)
        starts[0] = prev_end + 1
        starts[1:] = end[:-1] + 1
        prev_end = int(end[-1])
        lens = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        if np.any(lens != width):
            keep = lens != 0  # blank lines
            bad = np.flatnonzero(keep & (lens != width))
            if bad.size:
                i = int(bad[0])
                raise PortfolioError(
                    f"expected {width} fields as in the header, got {int(lens[i])}",
                    file=source, line=int(starts[i]),
                )
            idx = np.flatnonzero(keep)
            rows = [rows[int(k)] for k in idx]
            starts = starts[idx]
            if not rows:
                continue
        yield rows, starts


def _parse_chunk(
    rows: list[list[str]],
    lines: NDArray[np.int64],
    pos: dict[str, int],
    acc: _Columns,
    source: str,
) -> None:
    cols = list(zip(*rows, strict=True))
    ctx = _Ctx(source, lines)
    ids = _id_column(_strings(cols[pos["customer_id"]]), "customer_id", ctx)
    ctx.ids = ids
    months = _month_column(cols[pos["month"]], ctx)
    ctx.months = months
    branches = _id_column(_strings(cols[pos["branch_id"]]), "branch_id", ctx)
    if acc.households is not None:
        acc.households.append(
            _id_column(_strings(cols[pos["household_id"]]), "household_id", ctx, allow_empty=True)
        )
    for c in MONEY_COLUMNS:
        acc.money[c].append(_money_text(cols[pos[c]], c, ctx))
    acc.cards.append(_card_column(cols[pos["card_level"]], ctx))
    acc.ids.append(ids)
    acc.branches.append(branches)
    acc.months.append(months)
    acc.lines.append(lines)


# ---------------------------------------------------------------- parquet
class _RowIds:
    """Customer id of a row, looked up through the dictionary codes (for errors)."""

    def __init__(self, codes: NDArray[np.intp], values: NDArray[np.str_]) -> None:
        self.codes, self.values = codes, values

    def __getitem__(self, row: int) -> str:
        return str(self.values[self.codes[row]])


def _read_parquet(path: Path) -> Portfolio:
    """Read a Parquet balances file, one column at a time (bounded memory)."""
    pq = import_optional("pyarrow.parquet", extra="parquet", feature="reading Parquet")
    pa = import_optional("pyarrow", extra="parquet")
    source = str(path)
    try:
        pf = pq.ParquetFile(path)
        names = [str(n) for n in pf.schema_arrow.names]
        n = int(pf.metadata.num_rows)
    except (OSError, pa.ArrowException) as exc:
        raise PortfolioError(f"cannot read Parquet file: {exc}", file=source) from None

    def read(name: str) -> Any:
        try:
            return pf.read(columns=[name]).column(0)
        except (OSError, pa.ArrowException) as exc:
            raise PortfolioError(f"cannot read Parquet column: {exc}", file=source,
                                 column=name) from None

    return _from_arrow(read, names, n, source, first_line=1)


def _read_csv_arrow(path: Path, source: str) -> Portfolio | None:
    """Read a CSV balances file with pyarrow's CSV reader, every column as text.

    Money stays text until the exact fen parser reads it (never a float).
    Returns ``None`` when pyarrow is not installed or cannot parse the file
    (ragged rows, bad encoding...), so that the standard-library reader runs
    and reports the exact line.
    """
    try:
        pa = import_optional("pyarrow", extra="parquet")
        pacsv = import_optional("pyarrow.csv", extra="parquet")
    except ImportError:
        return None
    try:
        with path.open("rb") as fh:
            head = fh.readline()
        if head.startswith(_BOM):
            head = head[len(_BOM):]
        names = next(csv.reader([head.decode("utf-8")]))
    except (OSError, UnicodeDecodeError, StopIteration):
        return None
    _check_header(names, source)
    if len(set(names)) != len(names) or _has_blank_line(path):
        return None  # pyarrow skips blank lines, which would shift reported line numbers
    try:
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                strings_can_be_null=False, quoted_strings_can_be_null=False, null_values=[]),
            # quoted newlines would shift line numbers: such files fail here and
            # go to the standard-library reader, which counts physical lines
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
        )
    except (pa.ArrowException, OSError):
        return None
    columns = {name: table.column(name) for name in names}
    del table

    def read(name: str) -> Any:
        return columns.pop(name)

    return _from_arrow(read, names, len(columns[names[0]]), source, first_line=2)


def _has_blank_line(path: Path, chunk: int = 1 << 26) -> bool:
    """Whether the file has an empty line (a fast byte scan, no decoding)."""
    with path.open("rb") as fh:
        data = fh.read(chunk)
        if data.startswith((b"\n", b"\r\n")):
            return True
        while data:
            if b"\n\n" in data or b"\n\r\n" in data:
                return True
            block = fh.read(chunk)
            data = data[-2:] + block if block else b""
    return False


def _from_arrow(read: Callable[[str], Any], names: Sequence[str], n: int, source: str, *,
                first_line: int) -> Portfolio:
    """Build a portfolio from Arrow columns read one at a time by ``read(name)``.

    String columns are dictionary-encoded by Arrow (hashing, in order of first
    appearance), so ids, months and card levels are validated once per
    distinct value, and customers are pivoted by integer codes.  Row ``i`` is
    reported as line ``first_line + i``.
    """
    pa = import_optional("pyarrow", extra="parquet")
    pc = import_optional("pyarrow.compute", extra="parquet")
    _check_header(list(names), source)
    if n == 0:
        raise PortfolioError("no rows", file=source)
    ctx = _Ctx(source, np.arange(first_line, first_line + n, dtype=np.int64))

    def column(name: str) -> Any:
        col = read(name).combine_chunks()
        if col.null_count:
            i = int(np.flatnonzero(np.asarray(col.is_null()))[0])
            ctx.fail(i, "missing value", name, with_id=name != "customer_id")
        return col

    def encode(name: str, *, allow_empty: bool = False) -> Coded:
        col = column(name)
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            raise PortfolioError(f"must be a string column, got type {col.type}",
                                 file=source, column=name)
        enc = pc.dictionary_encode(col)
        del col
        codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.intp)
        raw = _arrow_strings(pa, enc.dictionary, name, ctx)
        values = np.strings.strip(raw)
        if not allow_empty and np.any(values == ""):
            k = int(np.flatnonzero(values == "")[0])
            ctx.fail(int(np.argmax(codes == k)), "missing value", name, with_id=name != "customer_id")
        if not np.array_equal(values, raw):  # stripping may merge values: renumber
            again = Coded.encode(values)
            codes, values = again.codes[codes], again.values
        return Coded(codes, values)

    ids = encode("customer_id")
    ctx.ids = _RowIds(ids.codes, ids.values)
    months_c = encode("month")
    month_lut = _lookup(months_c.values, _month_of, "month",
                        _FirstRowCtx(ctx, months_c.codes), np.int64)
    month_ord = month_lut[months_c.codes]
    del months_c
    ctx.months = month_ord
    cards_c = encode("card_level", allow_empty=True)
    cards = _lookup(cards_c.values, _card_of, "card_level", _FirstRowCtx(ctx, cards_c.codes),
                    np.int8)[cards_c.codes]
    del cards_c
    branches = encode("branch_id")
    households = encode("household_id", allow_empty=True) if "household_id" in names else None
    money = {c: _arrow_money(pa, column(c), c, ctx) for c in MONEY_COLUMNS}
    return Portfolio._from_long(ids, branches, households, month_ord, money, cards, ctx.lines,
                                source)


class _FirstRowCtx(_Ctx):
    """Error context for a dictionary: value ``k`` is reported at its first row."""

    def __init__(self, rows: _Ctx, codes: NDArray[np.intp]) -> None:
        super().__init__(rows.source, rows.lines)
        self.rows, self.codes = rows, codes

    def fail(self, row: int, message: str, column: str, *, with_id: bool = True) -> None:
        self.rows.fail(int(np.argmax(self.codes == row)), message, column, with_id=with_id)


def _arrow_strings(pa: Any, arr: Any, name: str, ctx: _Ctx) -> NDArray[np.str_]:
    t = arr.type
    if pa.types.is_dictionary(t):
        values = _arrow_strings(pa, arr.dictionary, name, ctx)
        idx = np.asarray(arr.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        out: NDArray[np.str_] = values[idx] if values.size else np.full(idx.shape, "", "U1")
        return out
    if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
        raise PortfolioError(f"must be a string column, got Parquet type {t}", file=ctx.source,
                             column=name)
    arr = arr.cast(pa.large_string())
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype="U1")
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[arr.offset: arr.offset + n + 1]
    lengths = np.diff(offsets)
    width = int(lengths[0])
    if width > 0 and np.all(lengths == width):
        data = np.frombuffer(data_buf, dtype=np.uint8)[int(offsets[0]): int(offsets[-1])]
        if not np.any(data >= 128):
            fixed: NDArray[np.str_] = data.view(f"S{width}").astype(f"U{width}")
            return fixed
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object).astype(str)


def _arrow_bytes(pa: Any, arr: Any, block: int = 1 << 20) -> NDArray[np.bytes_]:
    """An Arrow string column as a fixed-width bytes array, without Python objects."""
    pc = import_optional("pyarrow.compute", extra="parquet")
    n = len(arr)
    if n and pc.all(pc.string_is_ascii(arr)).as_py():
        # pad to one width in Arrow, then view the data buffer directly
        width = max(1, pc.max(pc.binary_length(arr)).as_py() or 1)
        padded = pc.utf8_rpad(arr, width=width, padding=" ").cast(pa.large_string())
        _, _, data_buf = padded.buffers()
        start = padded.offset * width
        raw = np.frombuffer(data_buf, dtype=np.uint8)[start: start + n * width].copy()
        raw[raw == 32] = 0  # padding (and any blank) becomes trailing NUL, as numpy pads bytes
        fixed: NDArray[np.bytes_] = raw.view(f"S{width}")
        return fixed
    arr = arr.cast(pa.large_string())
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[arr.offset: arr.offset + n + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    lengths = np.diff(offsets)
    width = max(1, int(lengths.max()) if n else 1)
    out = np.zeros((n, width), dtype=np.uint8)
    for lo in range(0, n, block):  # bounded temporaries
        hi = min(n, lo + block)
        lens = lengths[lo:hi]
        rows = np.repeat(np.arange(lo, hi), lens)
        within = np.arange(int(offsets[hi] - offsets[lo])) - np.repeat(offsets[lo:hi] - offsets[lo], lens)
        out[rows, within] = data[offsets[lo]: offsets[hi]]
    result: NDArray[np.bytes_] = out.view(f"S{width}").reshape(n)
    return result


def _arrow_money(pa: Any, arr: Any, name: str, ctx: _Ctx) -> NDArray[np.int64]:
    t = arr.type
    n = len(arr)
    if pa.types.is_floating(t):
        raise PortfolioError(
            f"floating-point column ({t}) cannot hold exact amounts; store yuan as "
            "decimal128(18, 2), integer yuan or decimal text", file=ctx.source, column=name)
    if pa.types.is_dictionary(t):
        arr = arr.cast(t.value_type)
        t = arr.type
    if pa.types.is_decimal(t):
        if t.bit_width != 128:
            arr = arr.cast(pa.decimal128(38, t.scale))
        words = np.frombuffer(arr.buffers()[1], dtype=np.int64).reshape(-1, 2)
        words = words[arr.offset: arr.offset + n]
        low, high = words[:, 0], words[:, 1]
        big = high != (low >> 63)
        if big.any():
            i = int(np.flatnonzero(big)[0])
            ctx.fail(i, f"amount {arr[i].as_py()} overflows int64 fen", name)
        scale = int(t.scale)
        fen = low.copy()
        if scale > 2:
            q = 10 ** (scale - 2)
            rem = fen % q
            if rem.any():
                i = int(np.flatnonzero(rem)[0])
                ctx.fail(i, f"{arr[i].as_py()} has more than two decimals", name)
            fen //= q
        elif scale < 2:
            mult = 10 ** (2 - scale)
            lim = INT64_MAX // mult
            over = np.abs(fen) > lim
            if over.any():
                i = int(np.flatnonzero(over)[0])
                ctx.fail(i, f"amount {arr[i].as_py()} overflows int64 fen", name)
            fen *= mult
    elif pa.types.is_integer(t):
        yuan = np.asarray(arr.to_numpy(zero_copy_only=False))
        lim = INT64_MAX // 100
        over = (yuan > lim) | (yuan < -lim) if yuan.dtype.kind == "i" else yuan > lim
        if over.any():
            i = int(np.flatnonzero(over)[0])
            ctx.fail(i, f"amount {int(yuan[i])} yuan overflows int64 fen", name)
        fen = yuan.astype(np.int64) * 100
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        return _money_text(_arrow_bytes(pa, arr), name, ctx)
    else:
        raise PortfolioError(
            f"unsupported Parquet type {t} for an amount; use decimal128, integer yuan or "
            "decimal text", file=ctx.source, column=name)
    neg = fen < 0
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        ctx.fail(i, f"negative balance {arr[i].as_py()}", name)
    result: NDArray[np.int64] = fen
    return result


# --------------------------------------------------------------------- write
def write_balances(
    portfolio: Portfolio,
    path: str | os.PathLike[str],
    *,
    format: Literal["csv", "parquet"] | None = None,
) -> Path:
    """Write a portfolio as a balances file, atomically.

    One row per customer-month, customers in portfolio order, months oldest
    first; months before a customer's ``history_start`` are not written, so
    :func:`read_balances` gives back an equal portfolio.  Money is yuan: text
    with two decimals in CSV (``"500000.00"``), ``decimal128(18, 2)`` in
    Parquet (``decimal128(19, 2)`` if an amount needs it).  ``household_id``
    is written when the portfolio has household ids.

    The file is written to a temporary file in the same directory and moved
    into place only when complete: on any error nothing is left behind and an
    existing file is untouched.

    Returns
    -------
    pathlib.Path
        The written file.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import attrs
    >>> from custvalue.synthetic import generate
    >>> p = generate(50, seed=3)
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> q = read_balances(write_balances(p, d / "b.csv"))
    >>> q == attrs.evolve(p, opened=None)  # opening dates are not in the file
    True
    >>> read_balances(write_balances(p, d / "b.parquet")) == q
    True
    """
    p = Path(path)
    fmt = _format_of(p, format)
    if fmt == "csv":
        writer: Callable[[Path], None] = lambda tmp: _write_csv(portfolio, tmp)  # noqa: E731
    else:
        pa = import_optional("pyarrow", extra="parquet", feature="writing Parquet")
        pq = import_optional("pyarrow.parquet", extra="parquet", feature="writing Parquet")
        writer = lambda tmp: _write_parquet(pa, pq, portfolio, tmp)  # noqa: E731
    return atomic_write(p, writer)


def _yuan_text(fen: NDArray[np.int64]) -> NDArray[np.bytes_]:
    """Vectorised :func:`format_yuan` without thousands separators, as bytes."""
    n = fen.shape[0]
    if n == 0:
        return np.zeros(0, dtype="S4")
    if np.any(fen == np.iinfo(np.int64).min):
        return np.array([format_yuan(int(v), thousands=False) for v in fen.tolist()], dtype="S")
    neg = fen < 0
    mag = np.abs(fen)
    digits = max(len(str(int(mag.max()))), 3)
    # zero-padded digits with a dot before the last two, then strip leading zeros
    mat = np.empty((n, digits + 1), dtype=np.uint8)
    rest = mag.copy()
    for k in range(digits, -1, -1):
        if k == digits - 2:
            mat[:, k] = 46
            continue
        mat[:, k] = 48 + rest % 10
        rest //= 10
    # number of leading zeros to drop, keeping at least "0.dd"
    if digits > 3:
        zeros = mat[:, : digits - 3] == 48
        lead = np.where(zeros.all(axis=1), digits - 3, zeros.argmin(axis=1))
    else:
        lead = np.zeros(n, dtype=np.intp)
    out = np.zeros((n, digits + 2), dtype=np.uint8)
    col = np.arange(digits + 2)[None, :]
    src = col + lead[:, None] - neg[:, None]
    ok = (src >= 0) & (src <= digits)
    out[ok] = mat[np.nonzero(ok)[0], src[ok]]
    out[neg, 0] = 45
    text: NDArray[np.bytes_] = out.view(f"S{digits + 2}").reshape(n)
    return text


def _long_blocks(portfolio: Portfolio, block: int) -> Iterator[dict[str, NDArray[Any]]]:
    """Long rows (valid customer-months) in blocks of customers."""
    t = portfolio.n_months
    month_text = np.array([str(m) for m in portfolio.months])
    cols = np.arange(t)
    for lo in range(0, portfolio.n_customers, block):
        part = portfolio.rows(lo, min(lo + block, portfolio.n_customers))
        n = part.n_customers
        valid = (cols[None, :] >= part.history_start[:, None]).ravel()
        out: dict[str, NDArray[Any]] = {
            "customer_id": np.repeat(part.customer_ids, t)[valid],
            "branch_id": np.repeat(part.branch_ids, t)[valid],
        }
        if part.household_ids is not None:
            out["household_id"] = np.repeat(part.household_ids, t)[valid]
        out["month"] = np.tile(month_text, n)[valid]
        out["month_index"] = np.tile(cols, n)[valid]
        for c in MONEY_COLUMNS:
            out[c] = np.asarray(getattr(part, c)).ravel()[valid]
        out["card_level"] = np.asarray(part.card_level).ravel()[valid]
        yield out


def _header(portfolio: Portfolio) -> list[str]:
    names = ["customer_id", "branch_id"]
    if portfolio.household_ids is not None:
        names.append("household_id")
    return [*names, "month", *MONEY_COLUMNS, "card_level"]


def _quote(text: str) -> str:
    if any(ch in text for ch in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_bytes(arr: NDArray[np.str_]) -> NDArray[np.bytes_]:
    """Text cells as UTF-8 bytes, quoted as the csv module would when needed."""
    raw: NDArray[np.bytes_] | None
    try:
        raw = arr.astype(f"S{max(arr.dtype.itemsize // 4, 1)}")
    except UnicodeEncodeError:
        raw = None
    if raw is not None:
        u = raw.view(np.uint8)
        if not np.any((u == 44) | (u == 34) | (u == 13) | (u == 10)):
            return raw
    return np.array([_quote(x).encode("utf-8") for x in arr.tolist()], dtype="S")


def _write_csv(portfolio: Portfolio, tmp: Path) -> None:
    names = _header(portfolio)
    levels = np.array(CARD_LEVELS, dtype="S")
    with open(tmp, "wb") as f:
        f.write((",".join(names) + "\n").encode("utf-8"))
        for block in _long_blocks(portfolio, 16_384):
            cells: list[NDArray[np.bytes_]] = []
            for name in names:
                if name in MONEY_COLUMNS:
                    cells.append(_yuan_text(block[name]))
                elif name == "card_level":
                    cells.append(levels[block[name]])
                else:
                    cells.append(_csv_bytes(block[name]))
            if not cells[0].size:
                continue
            line = cells[0]
            for c in cells[1:]:
                line = np.strings.add(np.strings.add(line, b","), c)
            f.write(b"\n".join(line.tolist()))
            f.write(b"\n")


def _write_parquet(pa: Any, pq: Any, portfolio: Portfolio, tmp: Path) -> None:
    names = _header(portfolio)
    precision = {
        c: 18 if int(np.abs(getattr(portfolio, c)).max(initial=0)) < 10**18 else 19
        for c in MONEY_COLUMNS
    }
    month_dict = pa.array([str(m) for m in portfolio.months], type=pa.string())
    level_dict = pa.array(list(CARD_LEVELS), type=pa.string())
    schema = pa.schema(
        [(name, pa.decimal128(precision[name], 2)) if name in MONEY_COLUMNS
         else (name, pa.dictionary(pa.int16(), pa.string())) if name in ("month", "card_level")
         else (name, pa.string()) for name in names]
    )
    # 14 months per customer: 64k customers is about 900k rows per row group
    with pq.ParquetWriter(tmp, schema) as writer:
        for block in _long_blocks(portfolio, 65_536):
            arrays = []
            for name in names:
                if name in MONEY_COLUMNS:
                    fen = np.ascontiguousarray(block[name], dtype=np.int64)
                    words = np.empty((fen.shape[0], 2), dtype=np.int64)
                    words[:, 0] = fen
                    words[:, 1] = fen >> 63
                    arrays.append(pa.Array.from_buffers(
                        pa.decimal128(precision[name], 2), fen.shape[0],
                        [None, pa.py_buffer(words)]))
                elif name == "month":
                    arrays.append(pa.DictionaryArray.from_arrays(
                        pa.array(block["month_index"].astype(np.int16)), month_dict))
                elif name == "card_level":
                    arrays.append(pa.DictionaryArray.from_arrays(
                        pa.array(block[name].astype(np.int16)), level_dict))
                else:
                    arrays.append(pa.array(block[name], type=pa.string()))
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
