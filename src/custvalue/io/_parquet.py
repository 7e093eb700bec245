"""Parquet balances files (needs the optional pyarrow, imported on use).

Reading first tries the fast path (:func:`_read_fast`, see :mod:`._wide`):
text columns as dictionary indices, then each money column of each row group
converted and scattered straight into the month-major arrays.  Anything it
does not accept as plainly valid goes to the exact path, which loads one
column at a time and hands it to the shared builder
:func:`~custvalue.io._columns.build_portfolio`, as the CSV reader does, so
the checks and the errors are the same; "line" is the 1-based row number.
Text columns must be strings (or dictionaries of strings).  Money columns
may be

* ``decimal32/64/128/256`` (yuan; a scale above 2 only when every value is a
  whole number of fen, a negative scale is fine),
* integers (whole **yuan**),
* strings (decimal yuan text, read as in CSV);

floating-point columns, and any other type, are errors naming the column.
A file or column pyarrow cannot read is a :class:`~custvalue.PortfolioError`
naming the file.

Writing (:func:`write_parquet`): ``DECIMAL(18, 2)`` money stored as
``INT64``, delta-encoded; dictionary-encoded, snappy-compressed text; every
column required; no Arrow schema in the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from .._arrays import INT64_MAX
from .._optional import import_optional
from .._snapshot import to_arrow_strings
from ..portfolio import MONEY_COLUMNS, Portfolio, PortfolioError
from ._arrow import ArrowAmounts, ArrowText, is_text, one_array
from ._columns import (
    Fen,
    Header,
    Rows,
    Wanted,
    build_portfolio,
    card_code,
    file_columns,
    month_ordinal,
    resolve_header,
)
from ._long import arrow_blocks, decimal_fen, write_pipelined
from ._wide import (
    TEXT_COLUMNS,
    Fallback,
    Layout,
    Money,
    MonthMajor,
    TextColumn,
    coded_values,
    customer_codes,
    households,
    id_values,
    per_customer,
    prefetched,
)

__all__ = ["read_arrow_table", "read_parquet", "typed_fen", "write_parquet"]

_WORDS: Final = {32: np.int32, 64: np.int64, 128: np.int64, 256: np.int64}
#: Rows per money column read of the fast path (larger row groups are read in batches).
_BATCH_ROWS: Final = 1 << 21


class _ParquetReader:
    """Columns for the exact builder, from a Parquet file or an Arrow table (one column at a time)."""

    def __init__(
        self, pa: Any, pc: Any, pf: Any, source: str, labels: Mapping[str, str], what: str = "Parquet column"
    ) -> None:
        self._pa, self._pc, self._pf, self._source = pa, pc, pf, source
        self._labels = labels
        self._what = what

    def _read(self, name: str, rows: Rows) -> Any:
        label = self._labels.get(name, name)
        try:
            if isinstance(self._pf, self._pa.Table):
                column = self._pf.column(label)
            else:
                column = self._pf.read(columns=[label]).column(0)
        except (OSError, KeyError, self._pa.ArrowException) as exc:
            raise PortfolioError(
                f"cannot read {self._what}: {exc}", file=self._source, column=label
            ) from None
        if len(column) != rows.lines.shape[0]:
            raise PortfolioError(
                f"column has {len(column):,} rows, the file {rows.lines.shape[0]:,}",
                file=self._source,
                column=label,
            )
        return one_array(self._pa, column, name, rows)

    def text(self, name: str, rows: Rows) -> ArrowText:
        return ArrowText(
            self._pa, self._pc, self._read(name, rows), rows.labels.get(name, name), self._source
        )

    def amounts(self, name: str, rows: Rows) -> ArrowAmounts | Fen:
        arr = self._read(name, rows)
        if is_text(self._pa, arr):
            return ArrowAmounts(self._pa, self._pc, arr)
        return typed_fen(self._pa, arr, name, rows)


def read_parquet(
    path: Path, wanted: Wanted | None = None, progress: Callable[[int, int], None] | None = None
) -> Portfolio:
    """Read a Parquet balances file (see the module notes).

    ``progress(done, total)`` is called with column chunks read (the fast
    path) or columns read (the exact path).
    """
    pq = import_optional("pyarrow.parquet", extra="parquet", feature="reading Parquet")
    pa = import_optional("pyarrow", extra="parquet")
    pc = import_optional("pyarrow.compute", extra="parquet")
    source = str(path)
    try:
        pf = pq.ParquetFile(path)
        names = [str(n) for n in pf.schema_arrow.names]
        n = int(pf.metadata.num_rows)
    except (OSError, pa.ArrowException) as exc:
        raise PortfolioError(f"cannot read Parquet file: {exc}", file=source) from None
    header = resolve_header(names, source, wanted)
    try:
        return _read_fast(pa, pq, pc, path, header, progress)
    except (Fallback, OSError, pa.ArrowException, LookupError, TypeError, ValueError):
        pass  # the exact builder below reads the file and names what is wrong (or reads it)
    reader = _ParquetReader(pa, pc, pf, source, header.labels)
    try:
        p = build_portfolio(
            reader, header.names, np.arange(1, n + 1, dtype=np.int64), source, labels=header.labels
        )
    except pa.ArrowException as exc:  # a conversion pyarrow refused
        raise PortfolioError(f"cannot read Parquet file: {exc}", file=source) from None
    if progress is not None:
        progress(1, 1)
    return p


def _read_fast(
    pa: Any,
    pq: Any,
    pc: Any,
    path: Path,
    header: Header | list[str],
    progress: Callable[[int, int], None] | None = None,
) -> Portfolio:
    """The fast path (:mod:`._wide`): text columns as dictionaries, then money column by column.

    Memory: the text columns are read one at a time (as dictionary indices)
    and turned into compact per-row codes before the output exists; money is
    read one column of one row group at a time, converted and scattered
    while the next one is decoded in a background thread.
    """
    if not isinstance(header, Header):
        header = resolve_header(header, str(path))
    labels = header.labels

    def file_name(name: str) -> str:
        return labels.get(name, name)

    text = [file_name(c) for c in header.names if c in TEXT_COLUMNS]
    _check_text_types(pa, pq.ParquetFile(path).schema_arrow, text)
    pf = pq.ParquetFile(path, read_dictionary=text)
    meta = pf.metadata
    starts = np.cumsum([0] + [meta.row_group(g).num_rows for g in range(meta.num_row_groups)])
    money_columns = [c for c in MONEY_COLUMNS if c in header.names]
    sizes = np.diff(starts)
    total = int(np.maximum(1, -(-sizes // _BATCH_ROWS)).sum()) * len(money_columns)

    def column(name: str) -> list[Any]:
        chunks: list[Any] = pf.read(columns=[file_name(name)], use_threads=True).column(0).chunks
        return chunks

    def pieces() -> Iterator[tuple[int, str, Any]]:
        for g in range(meta.num_row_groups):
            rows = int(starts[g + 1] - starts[g])
            for name in money_columns:
                if rows <= _BATCH_ROWS:
                    yield int(starts[g]), name, pf.read_row_group(g, columns=[file_name(name)]).column(0)
                    continue
                lo = int(starts[g])
                for batch in pf.iter_batches(
                    batch_size=_BATCH_ROWS, row_groups=[g], columns=[file_name(name)]
                ):
                    yield lo, name, batch.column(0)
                    lo += batch.num_rows

    return _fast(pa, pc, header, column, int(meta.num_rows), prefetched(pieces()), total, progress)


def _check_text_types(pa: Any, schema: Any, text: list[str]) -> None:
    for name in text:
        t = schema.field(name).type
        value = t.value_type if pa.types.is_dictionary(t) else t
        if not (pa.types.is_string(value) or pa.types.is_large_string(value)):
            raise Fallback("a text column that is not text")


def _fast(
    pa: Any,
    pc: Any,
    header: Header,
    chunks_of: Callable[[str], list[Any]],
    n_rows: int,
    pieces: Iterable[tuple[int, str, Any]],
    total: int,
    progress: Callable[[int, int], None] | None,
) -> Portfolio:
    """The fast path over any source of columns: ``chunks_of(name)`` gives a text column's
    chunks, ``pieces`` the money columns as ``(first row, name, array)``."""
    names = header.names
    if n_rows == 0:
        raise Fallback("no rows")

    def column(name: str) -> TextColumn:
        out = TextColumn(pa, pc)
        for chunk in chunks_of(name):
            out.add(chunk)
        return out

    chunks, ids = customer_codes(pa, pc, column("customer_id"))
    cust = [np.concatenate(chunks)] if len(chunks) > 1 else chunks
    del chunks
    n = ids.shape[0]
    ordinal = coded_values(pa, column("month"), month_ordinal, np.int32)
    cards = coded_values(pa, column("card_level"), card_code, np.int8) if "card_level" in names else []
    bcodes, bvalues = column("branch_id").unify()
    branches = id_values(pa, pc, bvalues)[per_customer(cust, [np.concatenate(bcodes)], n)]
    del bcodes
    homes = None
    if "household_id" in names:
        homes = households(pa, pc, column("household_id"), cust, n)
    layout = Layout(cust, [np.concatenate(ordinal)] if len(ordinal) > 1 else ordinal, n)
    del ordinal
    pa.default_memory_pool().release_unused()
    out = MonthMajor(layout)
    if cards:
        out.put_cards([np.concatenate(cards)] if len(cards) > 1 else cards)
    del cards
    money = Money(pa, pc)
    done = 0
    seen = dict.fromkeys((c for c in MONEY_COLUMNS if c in names), 0)
    for lo, name, arr in pieces:
        hi = lo + len(arr)
        if hi > layout.rows:
            raise Fallback("row count")
        parts = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
        for part in parts:
            end = lo + len(part)
            out.put(name, layout.positions(0, lo, end), money.fen(part))
            lo = end
        seen[name] += len(arr)
        if progress is not None:
            done += 1
            progress(min(done, total), total)
    if n_rows != layout.rows or any(v != layout.rows for v in seen.values()):
        raise Fallback("row count")
    portfolio = out.portfolio(ids, branches, homes)
    if progress is not None and done < total:
        progress(total, total)
    return portfolio


def read_arrow_table(
    table: Any,
    header: Header,
    lines: NDArray[np.int64],
    source: str,
    *,
    encoding: str = "UTF-8",
    what: str = "Parquet column",
) -> Portfolio:
    """A balances table already in memory (Arrow) as a portfolio, validated as a file is.

    ``table`` has the file's columns (``header`` is its resolved header, see
    :func:`~custvalue.io._columns.resolve_header`) as a Parquet or CSV reader
    decodes them: text columns as strings or dictionaries of strings, money
    as decimals, integers or decimal text.  ``lines[i]`` is where row ``i``
    is in ``source`` (the 1-based Parquet row, the CSV line): errors name it,
    so a piece of a bigger file is reported in that file's terms.  The fast
    path is tried first and the exact builder decides anything it declines,
    as :func:`read_parquet` does for a file.
    """
    pa = import_optional("pyarrow", extra="parquet", feature="reading Arrow tables")
    pc = import_optional("pyarrow.compute", extra="parquet")
    labels = header.labels

    def file_name(name: str) -> str:
        return labels.get(name, name)

    n = int(table.num_rows)
    if lines.shape[0] != n:
        raise ValueError("one line number per row is needed")
    if n == 0:
        raise PortfolioError("no rows", file=source)
    try:
        _check_text_types(pa, table.schema, [file_name(c) for c in header.names if c in TEXT_COLUMNS])
        money_columns = [c for c in MONEY_COLUMNS if c in header.names]

        def chunks_of(name: str) -> list[Any]:
            chunks: list[Any] = table.column(file_name(name)).chunks
            return chunks

        pieces = ((0, name, table.column(file_name(name))) for name in money_columns)
        return _fast(pa, pc, header, chunks_of, n, pieces, 1, None)
    except (Fallback, pa.ArrowException, LookupError, TypeError, ValueError):
        pass  # the exact builder names what is wrong (or reads it)
    reader = _ParquetReader(pa, pc, table, source, labels, what)
    try:
        return build_portfolio(reader, header.names, lines, source, labels=labels, encoding=encoding)
    except pa.ArrowException as exc:  # a conversion pyarrow refused
        raise PortfolioError(f"cannot read {what}: {exc}", file=source) from None


def typed_fen(pa: Any, arr: Any, name: str, rows: Rows) -> Fen:
    """Exact fen of a decimal or integer column; a float column is refused."""
    t = arr.type
    source = rows.source

    def shown(i: int) -> str:
        return str(arr[i].as_py())

    if pa.types.is_floating(t):
        raise PortfolioError(
            f"floating-point column ({t}) cannot hold exact amounts; store yuan as "
            "decimal128(18, 2), integer yuan or decimal text",
            file=source,
            column=rows.labels.get(name, name),
        )
    if pa.types.is_decimal(t):
        return Fen(_decimal_fen(arr, name, rows), shown)
    if pa.types.is_integer(t):
        raw = np.asarray(arr.to_numpy(zero_copy_only=False))
        lim = INT64_MAX // 100
        if raw.dtype == np.uint64:
            over = raw > np.uint64(lim)
        else:
            over = (raw.astype(np.int64) > lim) | (raw.astype(np.int64) < -lim)
        if over.any():
            i = int(np.flatnonzero(over)[0])
            rows.fail(i, f"amount {int(raw[i])} yuan overflows int64 fen", name)
        return Fen(raw.astype(np.int64) * 100, shown)
    raise PortfolioError(
        f"unsupported Parquet type {t} for an amount; use decimal128, integer yuan or decimal text",
        file=source,
        column=rows.labels.get(name, name),
    )


def _decimal_fen(arr: Any, name: str, rows: Rows) -> NDArray[np.int64]:
    """Fen from a decimal column's words: exact, int64-checked, no Python objects."""
    t = arr.type
    n = len(arr)
    words_per_value = max(1, t.bit_width // 64)
    words = np.frombuffer(arr.buffers()[1], dtype=_WORDS[t.bit_width])
    words = words.reshape(-1, words_per_value)[arr.offset : arr.offset + n]
    low = words[:, 0].astype(np.int64)
    if words_per_value > 1:  # the value fits int64 when the high words only repeat its sign
        big = np.any(words[:, 1:] != (low >> 63)[:, None], axis=1)
        if big.any():
            i = int(np.flatnonzero(big)[0])
            rows.fail(i, f"amount {arr[i].as_py()} overflows int64 fen", name)
    scale = int(t.scale)
    fen = low.copy()
    if scale > 2:
        q = 10 ** (scale - 2)
        if q > INT64_MAX:  # no int64 value is a whole number of fen, except 0
            rem = fen != 0
        else:
            rem = fen % q != 0
        if rem.any():
            i = int(np.flatnonzero(rem)[0])
            rows.fail(i, f"{arr[i].as_py()} has more than two decimals", name)
        if q <= INT64_MAX:
            fen //= q
    elif scale < 2:
        mult = 10 ** (2 - scale)
        lim = INT64_MAX // mult
        over = (fen > lim) | (fen < -lim)
        if over.any():
            i = int(np.flatnonzero(over)[0])
            rows.fail(i, f"amount {arr[i].as_py()} overflows int64 fen", name)
        if lim:  # otherwise every value is 0
            fen *= mult
    return fen


# --------------------------------------------------------------------- write
def write_parquet(
    pa: Any, pq: Any, portfolio: Portfolio, tmp: Path, progress: Callable[[int, int], None] | None = None
) -> None:
    """Write ``portfolio`` as Parquet to ``tmp`` (the caller makes it atomic).

    The file is plain Parquet that every reader understands, laid out to be
    cheap to write and to read: every column ``required`` (no nulls, so no
    definition levels); money ``DECIMAL(18, 2)`` stored as ``INT64`` with the
    ``DELTA_BINARY_PACKED`` encoding (a balance changes little from month to
    month: as small as snappy-compressed pages, and decoded several times
    faster), written straight from the fen arrays as Arrow ``decimal64``;
    text columns dictionary-encoded (``customer_id`` handed over as a
    dictionary, so its rows are not hashed) and snappy-compressed;
    statistics for ``month``; no Arrow schema, so readers see the Parquet
    types (text, ``decimal(18, 2)``).  Blocks of 65,536 customers (one row
    group each) are built while the previous block is encoded in a writer
    thread.  A pyarrow without ``decimal64`` (before 18) converts
    ``decimal128``; one without ``store_decimal_as_integer`` (before 17)
    writes ``FIXED_LEN_BYTE_ARRAY`` decimals, plainly encoded.
    """
    names = file_columns(portfolio)
    text = [name for name in names if name not in MONEY_COLUMNS]
    # every cell is at most MAX_AMOUNT < 10**18 fen: 18 digits always suffice
    narrow = hasattr(pa, "decimal64")
    money_type = pa.decimal64(18, 2) if narrow else pa.decimal128(18, 2)
    coded_type = pa.dictionary(pa.int32(), pa.string())
    level_type = pa.dictionary(pa.int16(), pa.string())
    # branches: one dictionary for the whole file (few values), so no row is hashed either
    branches = to_arrow_strings(pa, portfolio.branch_ids).dictionary_encode()
    coded: dict[str, Any] = {}
    if len(branches.dictionary) <= 1 << 16:
        codes = np.asarray(branches.indices.to_numpy(zero_copy_only=False), dtype=np.int32)
        coded["branch_id"] = (codes, branches.dictionary)
    schema = pa.schema(
        [
            pa.field(
                name,
                money_type
                if name in MONEY_COLUMNS
                else level_type
                if name in ("month", "card_level")
                else coded_type
                if name == "customer_id" or name in coded
                else pa.string(),
                nullable=False,
            )
            for name in names
        ]
    )
    options: dict[str, Any] = {
        "use_dictionary": text,
        "compression": {name: "snappy" if name in text else "none" for name in names},
        "column_encoding": dict.fromkeys(MONEY_COLUMNS, "DELTA_BINARY_PACKED"),
        "write_statistics": ["month"],
        "store_schema": False,
        "store_decimal_as_integer": True,
    }
    try:
        writer = pq.ParquetWriter(tmp, schema, **options)
    except TypeError:  # a pyarrow before 17: no integer-backed decimals, so no delta encoding either
        options.pop("store_decimal_as_integer")
        options.pop("column_encoding")
        options["compression"] = "snappy"
        writer = pq.ParquetWriter(tmp, schema, **options)

    def money(fen: NDArray[np.int64]) -> Any:
        if narrow:
            return pa.Array.from_buffers(money_type, fen.shape[0], [None, pa.py_buffer(fen)])
        return decimal_fen(pa, fen, 18)

    with writer:
        blocks = arrow_blocks(pa, portfolio, 65_536, money, coded_ids=True, coded=coded, progress=progress)
        write_pipelined(blocks, lambda cols: writer.write_table(pa.Table.from_arrays(cols, schema=schema)))
