"""CSV balances files: one reading path (a tokeniser feeding the shared builder) and the writer.

Reading.  The file is split into cells by a *tokeniser*, and the cells go to
:func:`~custvalue.io._columns.build_portfolio`, the one builder every reader
shares, so the portfolio and the errors are the same whichever tokeniser ran:

* **pyarrow's CSV reader** (multi-threaded C++), when pyarrow is installed,
  with every column read as text (money stays text until custvalue's exact
  parser reads it, never a float);
* the standard library's :mod:`csv` module otherwise, and for every file
  Arrow cannot read with exact line numbers.  Arrow's row ``i`` must be the
  file's physical line ``i + 2``: a file where that does not hold (a quoted
  line break inside a cell), where Arrow fails (rows with the wrong number of
  fields, bytes that are not UTF-8, a cell longer than Arrow's block), with a
  quote character in the header line, or with an empty ``customer_id`` cell
  (a blank line, which this module skips, or a missing id, which the
  standard-library path reports) is read by :mod:`csv`.

Lines are physical lines, the header being line 1: a record with a quoted
line break is reported at its first line.  Line breaks are ``\\n``, ``\\r\\n``
or a lone ``\\r``: files with old-Mac CR-only line endings are read like any
other (both tokenisers split lines the same way).  Blank lines are skipped but
counted.  A UTF-8 byte-order mark is skipped.  Bytes that are not UTF-8 are an
error naming the line and column of the cell holding them; so is a NUL
character.  Cells may be of any length (the :mod:`csv` module's field size
limit is lifted while a file is read): ids longer than
:data:`~custvalue.io._columns.MAX_ID_LENGTH` characters are refused with their
line and column, amounts of any length are read exactly or refused.

Writing: text with two decimals per amount, cells quoted as :mod:`csv` would
when they hold a comma, a quote or a line break.
"""

from __future__ import annotations

import codecs
import csv
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import chain, islice
from pathlib import Path
from typing import Any, Final

import attrs
import numpy as np
from numpy.typing import NDArray

from .._optional import import_optional
from ..money import format_yuan
from ..portfolio import CARD_LEVELS, MONEY_COLUMNS, Portfolio, PortfolioError
from ._arrow import ArrowAmounts, ArrowText, one_array
from ._columns import (
    Header,
    Rows,
    Wanted,
    build_portfolio,
    card_code,
    file_columns,
    long_blocks,
    month_ordinal,
    resolve_header,
    text_flaw,
    warn_ignored,
)
from ._fastmoney import FAST_WIDTH
from ._long import csv_fen, lazy_blocks, write_ordered
from ._wide import (
    Compact,
    Fallback,
    Layout,
    Money,
    MonthMajor,
    SmallCodes,
    TextColumn,
    customer_codes,
    households,
    id_values,
    per_customer,
    prefetched,
)

__all__ = ["CsvOptions", "read_csv", "write_csv"]

_BOM: Final = b"\xef\xbb\xbf"
#: The header line must end within this many bytes for the Arrow tokeniser.
_SNIFF: Final = 1 << 20
#: Rows transposed at a time by the standard-library tokeniser (few live lists).
_BATCH: Final = 4096
#: Rows turned into arrays at a time by the standard-library tokeniser.
_CHUNK: Final = 131_072
#: Bytes read at a time when counting lines.
_COUNT_BLOCK: Final = 1 << 24
_TEXT_COLUMNS: Final = frozenset({"customer_id", "branch_id", "household_id", "month", "card_level"})
#: Bytes per block of the fast path's streaming reader (about 60,000 rows of a balances file).
_FAST_BLOCK: Final = 1 << 22


@attrs.frozen
class CsvOptions:
    """How to read a CSV file: the columns wanted, the delimiter, the encoding, a progress callback.

    ``encoding`` is a Python codec name; it must be ASCII-compatible (line
    breaks, delimiters and digits are the ASCII bytes), as UTF-8, GBK,
    GB18030, Big5, Shift-JIS and the Latin code pages are.  ``progress`` is
    called as ``progress(done, total)`` with bytes of the file.
    """

    wanted: Wanted = attrs.field(factory=Wanted)
    delimiter: str = ","
    encoding: str = "utf-8"
    progress: Callable[[int, int], None] | None = None

    def __attrs_post_init__(self) -> None:
        d = self.delimiter
        if not isinstance(d, str) or len(d) != 1 or d in '"\r\n' or not d.isascii() or d.isalnum():
            raise ValueError(
                f"delimiter must be one ASCII character other than a quote, a letter, a digit or "
                f"a line break, got {d!r}"
            )
        try:
            name = codecs.lookup(self.encoding).name
        except (LookupError, TypeError):
            raise ValueError(f"unknown encoding {self.encoding!r}") from None
        if '\n\r,;|\t 0123456789.-"'.encode(name, errors="replace") != b'\n\r,;|\t 0123456789.-"':
            raise ValueError(
                f"encoding {self.encoding!r} is not ASCII-compatible; custvalue reads CSV files in "
                "UTF-8, GBK, GB18030 and other encodings that keep ASCII as it is"
            )

    @property
    def codec(self) -> str:
        """The codec's canonical name (``utf-8``, ``gb18030``)."""
        return codecs.lookup(self.encoding).name

    @property
    def utf8(self) -> bool:
        return self.codec in ("utf-8", "utf-8-sig")

    @property
    def label(self) -> str:
        """The encoding as errors name it (``UTF-8``, ``GB18030``)."""
        return "UTF-8" if self.utf8 else self.codec.upper()


def read_csv(path: Path, options: CsvOptions | None = None) -> Portfolio:
    """Read a CSV balances file (see the module notes).

    Columns the file has but custvalue does not read are ignored with one
    :class:`~custvalue.io.ExtraColumnsWarning` once the file is read.
    """
    opts = options or CsvOptions()
    source = str(path)
    report = _Report(path, opts.progress)
    p = _read(path, source, opts, report)
    if report.header is not None and report.header.ignored:
        warn_ignored(report.header.ignored, source, stacklevel=4)
    report.finish()
    return p


def _read(path: Path, source: str, opts: CsvOptions, report: _Report) -> Portfolio:
    try:
        fast = _read_fast(path, source, opts, report)
    except (Fallback, LookupError, TypeError, ValueError):
        fast = None  # the exact path below reads the file and names what is wrong (or reads it)
    if fast is not None:
        return fast
    columns = _arrow_columns(path, source, opts, report)
    if columns is not None:
        header, lines, reader = columns
        try:
            return build_portfolio(
                reader, header.names, lines, source, labels=header.labels, encoding=opts.label
            )
        except reader.failure:  # pyarrow failed on a column: the csv module reads the file
            pass
    return _read_with_csv_module(path, source, opts, report)


class _Report:
    """Progress in bytes of the file (``None``: no reporting)."""

    def __init__(self, path: Path, progress: Callable[[int, int], None] | None) -> None:
        self.progress = progress
        self.header: Header | None = None
        self.total = 0
        self.done = 0
        if progress is not None:
            try:
                self.total = path.stat().st_size
            except OSError:
                self.total = 0

    def at(self, done: int) -> None:
        if self.progress is not None and self.total:
            done = min(max(done, self.done), self.total)
            if done > self.done:
                self.done = done
                self.progress(done, self.total)

    def finish(self) -> None:
        if self.progress is not None:
            self.progress(self.total, self.total)


# ---------------------------------------------------------------- fast path
def _read_fast(
    path: Path, source: str, opts: CsvOptions | None = None, report: _Report | None = None
) -> Portfolio | None:
    """The fast path (:mod:`._wide`): Arrow's streaming CSV reader, batches straight into the arrays.

    ``None`` when pyarrow is missing or the header is not plain; Fallback for
    anything else unusual (the exact path then reads the file).  Quoting is
    off here: a quote character stays in its cell, which the checks refuse,
    so every Arrow row is exactly one physical line.  Money is held per
    batch in 4 bytes a cell (:class:`~._wide.Compact`) until the number of
    customers is known.
    """
    opts = opts or CsvOptions()
    report = report or _Report(path, None)
    start = _arrow_start(path, source, opts)
    if start is None:
        return None
    pa, pacsv, pc, header = start
    report.header = header
    generated = [f"f{k}" for k in range(len(header.canonical))]  # the header's own names may be odd
    used = [k for k, name in enumerate(header.canonical) if name is not None]
    names = [str(header.canonical[k]) for k in used]
    text_type = pa.dictionary(pa.int32(), pa.string())
    types = {
        generated[k]: pa.string() if name in MONEY_COLUMNS else text_type
        for k, name in zip(used, names, strict=True)
    }
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(
                skip_rows=1, column_names=generated, block_size=_FAST_BLOCK, encoding=opts.codec
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=opts.delimiter, quote_char=False, newlines_in_values=False, ignore_empty_lines=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                include_columns=[generated[k] for k in used],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        return _stream(pa, pc, reader, names, report)
    except (pa.ArrowException, OSError):
        raise Fallback("Arrow cannot read the file") from None


def _stream(pa: Any, pc: Any, reader: Any, names: list[str], report: _Report) -> Portfolio:
    """Batches of the columns ``names`` (custvalue's names, in the reader's column order)."""
    index = {name: k for k, name in enumerate(names)}
    ids = TextColumn(pa, pc)
    homes_text = TextColumn(pa, pc) if "household_id" in index else None
    first_month: list[int] = []

    def month_offset(text: str) -> int:  # int16 per row: months relative to the first one seen
        ordinal = month_ordinal(text)
        if not first_month:
            first_month.append(ordinal)
        return ordinal - first_month[0]

    months = SmallCodes(month_offset, np.int16)
    cards = SmallCodes(card_code, np.int8)
    branch_codes: dict[str, int] = {}
    branches = SmallCodes(lambda b: branch_codes.setdefault(b, len(branch_codes)), np.int32)
    money = Money(pa, pc)
    amounts: list[dict[str, Compact]] = []
    has_cards = "card_level" in index
    money_columns = [c for c in MONEY_COLUMNS if c in index]
    read = 0
    for batch in prefetched(reader):
        read += _FAST_BLOCK  # a batch is one block of the file
        report.at(read)
        cust = batch.column(index["customer_id"])
        if bool(pc.any(pc.equal(cust.dictionary, "")).as_py()):
            raise Fallback("blank line or missing id")  # the csv module skips or reports it
        for name in ("customer_id", "branch_id", "household_id"):
            if name in index and bool(
                pc.any(pc.match_substring(batch.column(index[name]).dictionary, '"')).as_py()
            ):
                raise Fallback("a quote")  # quoting is off here: the exact path reads quoted cells
        ids.add(cust)
        if homes_text is not None:
            homes_text.add(batch.column(index["household_id"]))
        months.add(batch.column(index["month"]))
        if has_cards:
            cards.add(batch.column(index["card_level"]))
        branches.add(batch.column(index["branch_id"]))
        amounts.append({c: Compact(money.fen(batch.column(index[c]))) for c in money_columns})
    cust_codes, ids_values = customer_codes(pa, pc, ids)
    n = ids_values.shape[0]
    branch_values = id_values(pa, pc, pa.array(list(branch_codes), type=pa.string()))
    branch_ids = branch_values[per_customer(cust_codes, branches.chunks, n)]
    branches.chunks.clear()
    homes = households(pa, pc, homes_text, cust_codes, n) if homes_text is not None else None
    if not first_month:
        raise Fallback("no rows")
    layout = Layout(cust_codes, months.chunks, n, base=first_month[0])
    months.chunks.clear()
    pa.default_memory_pool().release_unused()
    out = MonthMajor(layout)
    if has_cards:
        out.put_cards(cards.chunks)
    cards.chunks.clear()
    for k in range(len(amounts)):
        block, amounts[k] = amounts[k], {}
        for lo, hi, pos in layout.blocks(k):
            for name, compact in block.items():
                compact.put(out, name, pos, lo, hi)
        del block
    return out.portfolio(ids_values, branch_ids, homes)


# ------------------------------------------------------------ Arrow tokeniser
class _ArrowReader:
    def __init__(self, pa: Any, pc: Any, columns: dict[str, Any]) -> None:
        self._pa, self._pc, self._columns = pa, pc, columns
        self.failure: type[Exception] = pa.ArrowException

    def text(self, name: str, rows: Rows) -> ArrowText:
        arr = one_array(self._pa, self._columns.pop(name), name, rows)
        return ArrowText(self._pa, self._pc, arr, name, rows.source)

    def amounts(self, name: str, rows: Rows) -> ArrowAmounts:
        return ArrowAmounts(self._pa, self._pc, one_array(self._pa, self._columns.pop(name), name, rows))


def _arrow_columns(
    path: Path, source: str, opts: CsvOptions | None = None, report: _Report | None = None
) -> tuple[Header, NDArray[np.int64], _ArrowReader] | None:
    """Tokenise with pyarrow's CSV reader, or ``None`` to use the :mod:`csv` module.

    ``None`` when pyarrow is not installed, or cannot read the file with row
    ``i`` on physical line ``i + 2`` (see the module notes).  A bad header
    is reported here, as the :mod:`csv` path would.
    """
    opts = opts or CsvOptions()
    start = _arrow_start(path, source, opts)
    if start is None:
        return None
    pa, pacsv, pc, header = start
    if report is not None:
        report.header = header
    width = len(header.canonical)
    generated = [f"f{k}" for k in range(width)]  # the header's own names may be odd
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(skip_rows=1, column_names=generated, encoding=opts.codec),
            # a blank line is a row of empty cells (not skipped), so rows and
            # lines stay aligned; a quoted line break is caught by the count below
            parse_options=pacsv.ParseOptions(
                delimiter=opts.delimiter, newlines_in_values=False, ignore_empty_lines=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={g: pa.string() for g in generated},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, OSError, ValueError):
        return None
    n = table.num_rows
    try:
        if table.num_columns != width or n + 1 != _physical_lines(path):
            return None
    except OSError:
        return None
    index = header.index()
    if n and pc.any(pc.equal(table.column(index["customer_id"]), "")).as_py():
        return None  # a blank line or a missing id: the csv module skips or reports it
    columns = {name: table.column(k) for name, k in index.items()}
    del table
    return header, np.arange(2, n + 2, dtype=np.int64), _ArrowReader(pa, pc, columns)


def _arrow_start(path: Path, source: str, opts: CsvOptions) -> tuple[Any, Any, Any, Header] | None:
    """pyarrow's modules and the checked header, or ``None`` for the :mod:`csv` path.

    ``None`` when pyarrow is not installed or the header line cannot be read
    plainly; a bad header is reported here, as the :mod:`csv` path would.
    """
    try:
        pa = import_optional("pyarrow", extra="parquet")
        pacsv = import_optional("pyarrow.csv", extra="parquet")
        pc = import_optional("pyarrow.compute", extra="parquet")
    except ImportError:
        return None
    names = _header_line(path, opts)
    if names is None:
        return None
    header = resolve_header(names, source, opts.wanted, encoding=opts.label, warn=False)
    return pa, pacsv, pc, header


def _header_line(path: Path, opts: CsvOptions) -> list[str] | None:
    """The header's column names (stripped) from the first physical line, or ``None``."""
    try:
        with path.open("rb") as fh:
            head = fh.read(_SNIFF)
    except OSError:
        return None
    if head.startswith(_BOM) and opts.utf8:
        head = head[len(_BOM) :]
    ends = [k for k in (head.find(b"\n"), head.find(b"\r")) if k >= 0]
    if not ends:
        return None
    line = head[: min(ends)]
    if b'"' in line:
        return None  # quoting in the header: the csv module reads it
    try:
        text = line.decode(opts.codec)
    except UnicodeDecodeError:
        return None
    return [h.strip() for h in next(csv.reader([text], delimiter=opts.delimiter), [])]


def _physical_lines(path: Path) -> int:
    """Lines as :mod:`csv` counts them: ended by ``\\n``, ``\\r\\n`` or a lone ``\\r``."""
    count = 0
    buf = bytearray(_COUNT_BLOCK)
    last: int | None = None
    with path.open("rb", buffering=0) as fh:
        while k := fh.readinto(buf):
            block = buf if k == len(buf) else buf[:k]
            count += block.count(b"\n")
            if b"\r" in block:
                count += block.count(b"\r") - block.count(b"\r\n")
            if last == 13 and block[0] == 10:  # a "\r\n" split by the block boundary
                count -= 1
            last = block[-1]
    if last is not None and last not in (10, 13):
        count += 1  # a last line without a line break
    return count


# ------------------------------------------------- standard-library tokeniser
class _Codes(dict[str, int]):
    """Distinct cells numbered in order of first appearance."""

    def __missing__(self, key: str) -> int:
        code = self[key] = len(self)
        return code


class _PyText:
    """A text column from the csv module as :class:`~custvalue.io._columns.TextCells`."""

    def __init__(self) -> None:
        self._table = _Codes()
        self._parts: list[NDArray[np.intp]] = []
        self.codes: NDArray[np.intp] = np.zeros(0, dtype=np.intp)

    def add(self, cells: list[str]) -> None:
        self._parts.append(np.fromiter(map(self._table.__getitem__, cells), dtype=np.intp, count=len(cells)))

    def done(self) -> None:
        self.codes = np.concatenate(self._parts) if self._parts else np.zeros(0, dtype=np.intp)
        self._parts = []

    def lengths(self) -> NDArray[np.int64]:
        return np.fromiter(map(len, self._table), dtype=np.int64, count=len(self._table))

    def flaws(self) -> dict[int, str]:
        joined = "".join(self._table)
        if joined.isascii() and "\x00" not in joined:
            return {}
        return {k: flaw for k, v in enumerate(self._table) if (flaw := text_flaw(v)) is not None}

    def texts(self) -> list[str]:
        return list(self._table)

    def strings(self) -> NDArray[np.str_]:
        return np.array(list(self._table), dtype=str)


class _PyAmounts:
    """A money column from the csv module as :class:`~custvalue.io._columns.AmountText`.

    Cells become an ``S`` array chunk by chunk (at most ``FAST_WIDTH`` bytes
    wide, then narrowed to the widest cell); the few cells the array cannot
    hold exactly (longer, non-ASCII, with a NUL) are kept as text beside it
    and replaced by ``b"?"``, which the fast parser refuses.
    """

    def __init__(self, nul: bool) -> None:
        self._nul = nul  # the file has a NUL byte somewhere
        self._parts: list[NDArray[np.bytes_]] = []
        self._odd: dict[int, str] = {}
        self._n = 0
        self._fixed: NDArray[np.bytes_] = np.zeros(0, dtype="S1")

    def add(self, cells: list[str]) -> None:
        n = len(cells)
        part: NDArray[np.bytes_] | None
        try:
            part = np.array(cells, dtype=f"S{FAST_WIDTH}")  # a longer cell is cut: found below
        except UnicodeEncodeError:
            part = None
        if part is None or self._nul:
            odd = [k for k, c in enumerate(cells) if len(c) > FAST_WIDTH or not c.isascii() or "\x00" in c]
        else:
            full = np.flatnonzero(part.view(np.uint8).reshape(n, FAST_WIDTH)[:, -1])
            odd = [k for k in full.tolist() if len(cells[k]) > FAST_WIDTH]
        if odd:
            for k in odd:
                self._odd[self._n + k] = cells[k]
            if part is None:
                part = np.array(
                    ["?" if self._n + k in self._odd else c for k, c in enumerate(cells)],
                    dtype=f"S{FAST_WIDTH}",
                )
            else:
                part[odd] = b"?"
        assert part is not None
        width = int(np.strings.str_len(part).max(initial=1))
        self._parts.append(part.astype(f"S{width}"))
        self._n += n

    def done(self) -> None:
        self._fixed = np.concatenate(self._parts) if self._parts else np.zeros(0, dtype="S1")
        self._parts = []

    def fixed(self) -> NDArray[np.bytes_]:
        return self._fixed

    def text(self, row: int) -> str:
        odd = self._odd.get(row)
        if odd is not None:
            return odd
        return bytes(self._fixed[row]).decode("ascii")


class _PyReader:
    def __init__(self, columns: dict[str, _PyText | _PyAmounts]) -> None:
        self._columns = columns

    def text(self, name: str, rows: Rows) -> _PyText:
        col = self._columns.pop(name)
        assert isinstance(col, _PyText)
        return col

    def amounts(self, name: str, rows: Rows) -> _PyAmounts:
        col = self._columns.pop(name)
        assert isinstance(col, _PyAmounts)
        return col


_field_limit_lock = threading.Lock()
_field_limit_users = [0, 0]  # readers running, the limit to restore


@contextmanager
def _unlimited_fields() -> Iterator[None]:
    """Lift :mod:`csv`'s field size limit (131,072 characters) while a file is read.

    The limit is process-wide: it is raised while any read runs and put back
    when the last one ends.  Long cells are then judged by the builder, with
    their line and column, whichever tokeniser read them.
    """
    with _field_limit_lock:
        if _field_limit_users[0] == 0:
            _field_limit_users[1] = csv.field_size_limit(2**31 - 1)
        _field_limit_users[0] += 1
    try:
        yield
    finally:
        with _field_limit_lock:
            _field_limit_users[0] -= 1
            if _field_limit_users[0] == 0:
                csv.field_size_limit(_field_limit_users[1])


def _read_with_csv_module(
    path: Path, source: str, opts: CsvOptions | None = None, report: _Report | None = None
) -> Portfolio:
    opts = opts or CsvOptions()
    report = report or _Report(path, None)
    try:
        f = open(
            path, newline="", encoding="utf-8-sig" if opts.utf8 else opts.codec, errors="surrogateescape"
        )
    except OSError as exc:
        raise PortfolioError(f"cannot open balances file: {exc.strerror}", file=source) from None
    with f, _unlimited_fields():
        reader = csv.reader(f, delimiter=opts.delimiter)
        try:
            first = next(reader, None)
            if first is None:
                raise PortfolioError("empty file: a header line is needed", file=source, line=1)
            header = resolve_header(
                [h.strip() for h in first], source, opts.wanted, encoding=opts.label, warn=False
            )
            report.header = header
            raw = f.buffer
            columns, lines = _tokenise(
                reader,
                header,
                source,
                _has_nul(path),
                lambda: report.at(raw.tell()),  # type: ignore[attr-defined]
            )
        except csv.Error as exc:
            raise PortfolioError(f"malformed CSV: {exc}", file=source, line=reader.line_num) from None
    return build_portfolio(
        _PyReader(columns), header.names, lines, source, labels=header.labels, encoding=opts.label
    )


def _has_nul(path: Path) -> bool:
    """Whether the file has a NUL byte (then every amount cell is checked for one)."""
    buf = bytearray(_COUNT_BLOCK)
    with path.open("rb", buffering=0) as fh:
        while k := fh.readinto(buf):
            if b"\x00" in (buf if k == len(buf) else buf[:k]):
                return True
    return False


def _tokenise(
    reader: Any, header: Header, source: str, nul: bool, tick: Callable[[], None]
) -> tuple[dict[str, _PyText | _PyAmounts], NDArray[np.int64]]:
    """All records after the header as column cells and the first line of each record.

    Records are read in small batches (few live lists for the garbage
    collector) and their cells collected row-major; every ``_CHUNK`` rows
    each column's cells (a slice) become arrays.  Ignored columns' cells are
    dropped.  ``tick()`` is called after each chunk.
    """
    width = len(header.canonical)
    columns: dict[str, _PyText | _PyAmounts] = {
        name: _PyText() if name in _TEXT_COLUMNS else _PyAmounts(nul) for name in header.names
    }
    order: list[_PyText | _PyAmounts | None] = [
        None if name is None else columns[name] for name in header.canonical
    ]
    cells: list[str] = []
    lines: list[NDArray[np.int64]] = []
    prev = reader.line_num
    while batch := list(islice(reader, _BATCH)):
        end = reader.line_num
        starts = _record_lines(batch, prev, end)
        prev = end
        if len(batch[0]) != width or len(set(map(len, batch))) != 1:
            keep = [k for k, row in enumerate(batch) if row]  # blank lines are skipped
            for k in keep:
                if len(batch[k]) != width:
                    raise PortfolioError(
                        f"expected {width} fields as in the header, got {len(batch[k])}",
                        file=source,
                        line=int(starts[k]),
                    )
            batch = [batch[k] for k in keep]
            starts = starts[keep]
        lines.append(starts)
        cells.extend(chain.from_iterable(batch))
        if len(cells) >= _CHUNK * width:
            _flush(order, cells)
            tick()
    _flush(order, cells)
    for col in columns.values():
        col.done()
    return columns, np.concatenate(lines) if lines else np.zeros(0, dtype=np.int64)


def _flush(order: list[_PyText | _PyAmounts | None], cells: list[str]) -> None:
    """Hand each column its cells (every ``len(order)``-th cell) and empty ``cells``."""
    if cells:
        width = len(order)
        for k, col in enumerate(order):
            if col is not None:
                col.add(cells[k::width])
        cells.clear()


def _record_lines(batch: list[list[str]], prev: int, end: int) -> NDArray[np.int64]:
    """The first physical line of each record, the reader having moved from line ``prev`` to ``end``.

    Usually every record is one line.  Otherwise a record spans one line more
    per line break inside its (quoted) cells: the csv module keeps those
    breaks in the cells, and every ``\\r`` or ``\\n`` in a cell is one.
    """
    n = len(batch)
    if end - prev == n:
        return np.arange(prev + 1, end + 1, dtype=np.int64)
    spans = np.fromiter((1 + _breaks(row) for row in batch), dtype=np.int64, count=n)
    starts = np.empty(n, dtype=np.int64)
    starts[0] = prev + 1
    np.cumsum(spans[:-1], out=starts[1:])
    starts[1:] += prev + 1
    return starts


def _breaks(row: list[str]) -> int:
    text = ",".join(row)
    return text.count("\n") + text.count("\r") - text.count("\r\n")


# --------------------------------------------------------------------- write
def write_csv(portfolio: Portfolio, tmp: Path, progress: Callable[[int, int], None] | None = None) -> None:
    """Write ``portfolio`` as CSV to ``tmp`` (the caller makes it atomic).

    With pyarrow, and no id that needs quoting, Arrow's CSV writer writes the
    rows (money as ``decimal128(18, 2)``: the same text as
    :func:`~custvalue.money.format_yuan`) in a writer thread while the next
    block of rows is built; otherwise the numpy writer below does, quoting as
    :mod:`csv` would.  Both write the same bytes.
    """
    pa: Any = None
    pacsv: Any = None
    try:
        pa = import_optional("pyarrow", extra="parquet")
        pacsv = import_optional("pyarrow.csv", extra="parquet")
    except ImportError:
        pa = None
    if pa is not None and not any(
        _needs_quotes(getattr(portfolio, ids))
        for ids in ("customer_ids", "branch_ids", "household_ids")
        if getattr(portfolio, ids) is not None
    ):
        _write_arrow_csv(pa, pacsv, portfolio, tmp, progress)
        return
    names = file_columns(portfolio)
    levels = np.array(CARD_LEVELS, dtype="S")
    with open(tmp, "wb") as f:
        f.write((",".join(names) + "\n").encode("utf-8"))
        for block in long_blocks(portfolio, 16_384, progress):
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


def _needs_quotes(values: NDArray[np.str_]) -> bool:
    """Whether a text cell holds a comma, a quote or a line break (checked on the code units)."""
    if not values.size or values.dtype.itemsize == 0:
        return False
    units = np.ascontiguousarray(values).view(np.uint32)
    return bool(np.isin(units, np.array([44, 34, 13, 10], dtype=np.uint32)).any())


def _write_arrow_csv(
    pa: Any, pacsv: Any, portfolio: Portfolio, tmp: Path, progress: Callable[[int, int], None] | None
) -> None:
    names = file_columns(portfolio)
    pa.schema(
        [
            (name, pa.decimal128(18, 2))
            if name in MONEY_COLUMNS
            else (name, pa.dictionary(pa.int16(), pa.string()))
            if name in ("month", "card_level")
            else (name, pa.string())
            for name in names
        ]
    )
    options = pacsv.WriteOptions(include_header=False, quoting_style="none", batch_size=65_536)

    def encode(build: Callable[[], list[Any]]) -> Any:  # in a worker thread: the Arrow work of a block
        out = pa.BufferOutputStream()
        pacsv.write_csv(pa.Table.from_arrays(build(), names=names), out, write_options=options)
        return out.getvalue()

    with pa.OSFile(str(tmp), "wb") as sink:
        sink.write((",".join(names) + "\n").encode("utf-8"))
        blocks = lazy_blocks(pa, portfolio, 32_768, lambda fen: csv_fen(pa, fen), progress=progress)
        write_ordered(blocks, encode, sink.write)


def _yuan_text(fen: NDArray[np.int64]) -> NDArray[np.bytes_]:
    """Vectorised :func:`~custvalue.money.format_yuan` without thousands separators, as bytes."""
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
