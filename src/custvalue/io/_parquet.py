"""Parquet balances files (needs the optional pyarrow, imported on use).

Reading loads one column at a time (bounded memory) and hands it to the
shared builder :func:`~custvalue.io._columns.build_portfolio`, as the CSV
reader does, so the checks and the errors are the same; "line" is the
1-based row number.  Text columns must be strings (or dictionaries of
strings).  Money columns may be

* ``decimal32/64/128/256`` (yuan; a scale above 2 only when every value is a
  whole number of fen, a negative scale is fine),
* integers (whole **yuan**),
* strings (decimal yuan text, read as in CSV);

floating-point columns, and any other type, are errors naming the column.
A file or column pyarrow cannot read is a :class:`~custvalue.PortfolioError`
naming the file.

Writing: ``decimal128(18, 2)`` money (``decimal128(19, 2)`` if an amount
needs it), dictionary-encoded months and card levels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from .._arrays import INT64_MAX
from .._optional import import_optional
from ..portfolio import CARD_LEVELS, MONEY_COLUMNS, Portfolio, PortfolioError
from ._arrow import ArrowAmounts, ArrowText, is_text, one_array
from ._columns import Fen, Rows, build_portfolio, check_header, file_columns, long_blocks

__all__ = ["read_parquet", "write_parquet"]

_WORDS: Final = {32: np.int32, 64: np.int64, 128: np.int64, 256: np.int64}


class _ParquetReader:
    def __init__(self, pa: Any, pc: Any, pf: Any, source: str) -> None:
        self._pa, self._pc, self._pf, self._source = pa, pc, pf, source

    def _read(self, name: str, rows: Rows) -> Any:
        try:
            column = self._pf.read(columns=[name]).column(0)
        except (OSError, self._pa.ArrowException) as exc:
            raise PortfolioError(
                f"cannot read Parquet column: {exc}", file=self._source, column=name
            ) from None
        if len(column) != rows.lines.shape[0]:
            raise PortfolioError(
                f"column has {len(column):,} rows, the file {rows.lines.shape[0]:,}",
                file=self._source,
                column=name,
            )
        return one_array(self._pa, column, name, rows)

    def text(self, name: str, rows: Rows) -> ArrowText:
        return ArrowText(self._pa, self._pc, self._read(name, rows), name, self._source)

    def amounts(self, name: str, rows: Rows) -> ArrowAmounts | Fen:
        arr = self._read(name, rows)
        if is_text(self._pa, arr):
            return ArrowAmounts(self._pa, self._pc, arr)
        return _typed_fen(self._pa, arr, name, rows)


def read_parquet(path: Path) -> Portfolio:
    """Read a Parquet balances file (see the module notes)."""
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
    check_header(names, source)
    reader = _ParquetReader(pa, pc, pf, source)
    try:
        return build_portfolio(reader, names, np.arange(1, n + 1, dtype=np.int64), source)
    except pa.ArrowException as exc:  # a conversion pyarrow refused
        raise PortfolioError(f"cannot read Parquet file: {exc}", file=source) from None


def _typed_fen(pa: Any, arr: Any, name: str, rows: Rows) -> Fen:
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
            column=name,
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
        column=name,
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
def write_parquet(pa: Any, pq: Any, portfolio: Portfolio, tmp: Path) -> None:
    """Write ``portfolio`` as Parquet to ``tmp`` (the caller makes it atomic)."""
    names = file_columns(portfolio)
    precision = {
        c: 18 if int(np.abs(getattr(portfolio, c)).max(initial=0)) < 10**18 else 19 for c in MONEY_COLUMNS
    }
    month_dict = pa.array([str(m) for m in portfolio.months], type=pa.string())
    level_dict = pa.array(list(CARD_LEVELS), type=pa.string())
    schema = pa.schema(
        [
            (name, pa.decimal128(precision[name], 2))
            if name in MONEY_COLUMNS
            else (name, pa.dictionary(pa.int16(), pa.string()))
            if name in ("month", "card_level")
            else (name, pa.string())
            for name in names
        ]
    )
    # 14 months per customer: 64k customers is about 900k rows per row group
    with pq.ParquetWriter(tmp, schema) as writer:
        for block in long_blocks(portfolio, 65_536):
            arrays = []
            for name in names:
                if name in MONEY_COLUMNS:
                    fen = np.ascontiguousarray(block[name], dtype=np.int64)
                    words = np.empty((fen.shape[0], 2), dtype=np.int64)
                    words[:, 0] = fen
                    words[:, 1] = fen >> 63
                    arrays.append(
                        pa.Array.from_buffers(
                            pa.decimal128(precision[name], 2), fen.shape[0], [None, pa.py_buffer(words)]
                        )
                    )
                elif name == "month":
                    arrays.append(
                        pa.DictionaryArray.from_arrays(
                            pa.array(block["month_index"].astype(np.int16)), month_dict
                        )
                    )
                elif name == "card_level":
                    arrays.append(
                        pa.DictionaryArray.from_arrays(pa.array(block[name].astype(np.int16)), level_dict)
                    )
                else:
                    arrays.append(pa.array(block[name], type=pa.string()))
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
