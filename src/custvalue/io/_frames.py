"""Data frames as balances: pandas, Arrow and polars tables into a :class:`~custvalue.Portfolio`.

:func:`read_table` is behind :meth:`Portfolio.from_pandas
<custvalue.Portfolio.from_pandas>`, :meth:`~custvalue.Portfolio.from_arrow`
and :meth:`~custvalue.Portfolio.from_polars`.  A table goes through the same
builder as a balances file (:func:`~custvalue.io._columns.build_portfolio`),
so the checks, the column mapping, the columns a policy needs and the errors
are those of :func:`~custvalue.io.read_balances`; "line" is the 1-based row
number of the table.

Two layouts:

* ``"long"``: one row per customer-month, the balances file's columns;
* ``"wide"``: one row per customer, ``customer_id``, ``branch_id`` (and
  ``household_id``) and one column per field and month named
  ``FIELD@YYYY-MM`` (``deposits@2026-10``, ``card_level@2026-10``), as in a
  portfolio snapshot.  A month whose cells of a customer are all null is not
  data (the customer started later); a partly null month is an error.

Money columns are read exactly as in a Parquet file: decimals (yuan),
integers (whole yuan) or decimal text.  Floating-point columns are refused
unless the caller names a rounding (``floats="half_even"``, see
:func:`custvalue.money.from_float`): cells whose shortest decimal form has at
most two decimals convert exactly (vectorised), the others are rounded as
named, one by one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import NDArray

from .._optional import import_optional
from ..money import MoneyError, from_float
from ..months import Month
from ..portfolio import MONEY_COLUMNS, Portfolio, PortfolioError, register_table_reader
from ._arrow import ArrowAmounts, ArrowText, is_text, one_array
from ._balances import UsesColumns
from ._columns import (
    KNOWN_COLUMNS,
    OPTIONAL_COLUMNS,
    Fen,
    Rows,
    Wanted,
    build_portfolio,
    resolve_header,
    warn_ignored,
)
from ._parquet import typed_fen

__all__ = ["FLOAT_ROUNDINGS", "read_table"]

#: Roundings a float money column may be converted with (``floats=``).
FLOAT_ROUNDINGS: Final = ("half_even", "half_up", "down", "floor", "ceiling")
_MONTHLY: Final = (*MONEY_COLUMNS, "card_level")


def read_table(
    data: Any,
    *,
    layout: Literal["long", "wide"] = "long",
    columns: Mapping[str, str] | None = None,
    policy: UsesColumns | None = None,
    floats: str | None = None,
    source: str | None = None,
) -> Portfolio:
    """A portfolio from a pandas, polars or Arrow table (see the module notes)."""
    pa = import_optional("pyarrow", extra="parquet", feature="reading a data frame")
    pc = import_optional("pyarrow.compute", extra="parquet", feature="reading a data frame")
    if floats is not None and floats not in FLOAT_ROUNDINGS:
        raise ValueError(f"floats must be one of {', '.join(FLOAT_ROUNDINGS)} (or None), got {floats!r}")
    if layout not in ("long", "wide"):
        raise ValueError(f"layout must be 'long' or 'wide', got {layout!r}")
    kind, table = _as_arrow(pa, data)
    src = source or kind
    wanted = Wanted.of(columns, None if policy is None else policy.input_columns)
    if layout == "wide":
        table, lines = _wide_to_long(pa, pc, table, wanted, src)
        wanted = Wanted(required=wanted.required)  # the long table has custvalue's names
        names = [str(n) for n in table.column_names]
        header = resolve_header(names, src, wanted, warn=False)
    else:
        names = [str(n) for n in table.column_names]
        header = resolve_header(names, src, wanted, warn=False)
        lines = np.arange(1, table.num_rows + 1, dtype=np.int64)
    reader = _TableReader(pa, pc, table, header.labels, floats, src)
    p = build_portfolio(reader, header.names, lines, src, labels=header.labels)
    if header.ignored:
        warn_ignored(header.ignored, src, stacklevel=4)
    return p


def _as_arrow(pa: Any, data: Any) -> tuple[str, Any]:
    """``(what it is, an Arrow table)`` for a pandas or polars frame or an Arrow table/batch."""
    module = type(data).__module__.split(".")[0]
    if isinstance(data, pa.Table):
        return "Arrow table", data
    if isinstance(data, pa.RecordBatch):
        return "Arrow table", pa.Table.from_batches([data])
    if module == "polars":
        return "polars DataFrame", data.to_arrow()
    if module == "pandas" and hasattr(data, "columns"):
        return "pandas DataFrame", _pandas_to_arrow(pa, data)
    raise TypeError(f"expected a pandas or polars DataFrame or a pyarrow Table, got {type(data).__name__}")


def _pandas_to_arrow(pa: Any, df: Any) -> Any:
    """Column by column, so that a column Arrow cannot convert is named."""
    pd = import_optional("pandas", extra="pandas")
    arrays, names = [], []
    for name in df.columns:
        col = df[name]
        if not isinstance(name, str):
            raise PortfolioError(f"column names must be text, got {name!r}", file="pandas DataFrame")
        if isinstance(col, pd.DataFrame):
            raise PortfolioError("duplicate column", file="pandas DataFrame", line=1, column=name)
        if isinstance(col.dtype, pd.PeriodDtype):
            col = col.astype(str).where(col.notna(), None)
        try:
            arrays.append(pa.array(col, from_pandas=True))
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise PortfolioError(
                f"cannot read the column: {exc}; money columns hold Decimal yuan, integer yuan "
                "or decimal text",
                file="pandas DataFrame",
                column=name,
            ) from None
        names.append(name)
    return pa.Table.from_arrays(arrays, names=names)


class _TableReader:
    """Columns of an Arrow table as the builder's cells."""

    def __init__(
        self, pa: Any, pc: Any, table: Any, labels: Mapping[str, str], floats: str | None, source: str
    ) -> None:
        self._pa, self._pc, self._table = pa, pc, table
        self._labels, self._floats, self._source = labels, floats, source

    def _array(self, name: str, rows: Rows) -> Any:
        col = one_array(self._pa, self._table.column(self._labels.get(name, name)), name, rows)
        pa = self._pa
        if pa.types.is_string_view(col.type) if hasattr(pa.types, "is_string_view") else False:
            col = col.cast(pa.large_string())
        return col

    def text(self, name: str, rows: Rows) -> ArrowText:
        arr = self._array(name, rows)
        pa, pc = self._pa, self._pc
        if name == "month" and (pa.types.is_date(arr.type) or pa.types.is_timestamp(arr.type)):
            arr = pc.strftime(arr, format="%Y-%m")
        return ArrowText(pa, pc, arr, rows.labels.get(name, name), self._source)

    def amounts(self, name: str, rows: Rows) -> ArrowAmounts | Fen:
        arr = self._array(name, rows)
        pa = self._pa
        if is_text(pa, arr):
            return ArrowAmounts(pa, self._pc, arr)
        if pa.types.is_floating(arr.type) and self._floats is not None:
            return _float_fen(arr, self._floats, name, rows)
        if pa.types.is_floating(arr.type):
            raise PortfolioError(
                f"floating-point column ({arr.type}) cannot hold exact amounts; give yuan as "
                "Decimal, integer yuan or decimal text, or name a rounding "
                "(floats='half_even', see custvalue.money.from_float)",
                file=self._source,
                column=rows.labels.get(name, name),
            )
        return typed_fen(pa, arr, name, rows)


def _float_fen(arr: Any, rounding: str, name: str, rows: Rows) -> Fen:
    """Fen of a float column, as :func:`~custvalue.money.from_float` gives them (vectorised)."""
    x = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)
    bad = ~np.isfinite(x)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        rows.fail(i, f"{x[i]!r} is not a finite amount", name)
    with np.errstate(over="ignore", invalid="ignore"):
        cand = np.rint(x * 100)
        exact = (cand / 100 == x) & (np.abs(cand) < 2.0**62)
    fen = np.zeros(x.shape[0], dtype=np.int64)
    fen[exact] = cand[exact].astype(np.int64)
    for i in np.flatnonzero(~exact).tolist():  # more than two decimals: rounded as named
        try:
            fen[i] = from_float(float(x[i]), rounding=rounding)
        except MoneyError as exc:
            rows.fail(i, exc.message, name)

    def shown(i: int) -> str:
        return repr(float(x[i]))

    return Fen(fen, shown)


def _wide_to_long(pa: Any, pc: Any, table: Any, wanted: Wanted, source: str) -> tuple[Any, NDArray[np.int64]]:
    """A wide table (``FIELD@YYYY-MM`` columns) as a long one, and each long row's wide row number."""
    theirs = dict(wanted.mapping)
    ours = {v: k for k, v in theirs.items()}

    def canonical(name: str) -> str | None:
        if name in ours:
            return ours[name]
        return name if name in KNOWN_COLUMNS and name not in theirs else None

    ids: dict[str, str] = {}
    monthly: dict[Month, dict[str, str]] = {}
    ignored: list[str] = []
    for name in (str(n) for n in table.column_names):
        field, at, month_text = name.rpartition("@")
        field_name = canonical(field) if at else None
        if at and field_name in _MONTHLY:
            try:
                month = Month.parse(month_text)
            except (ValueError, TypeError):
                raise PortfolioError(
                    f"{month_text!r} is not a month; wide columns are FIELD@YYYY-MM",
                    file=source,
                    line=1,
                    column=name,
                ) from None
            if field_name in monthly.setdefault(month, {}):
                raise PortfolioError(f"duplicate column for {field_name}@{month}", file=source, column=name)
            monthly[month][field_name] = name
            continue
        c = canonical(name)
        if c in ("customer_id", "branch_id", *OPTIONAL_COLUMNS):
            ids[c] = name
        else:
            ignored.append(name)
    if not monthly:
        raise PortfolioError(
            "no FIELD@YYYY-MM columns (deposits@2026-10, ...): is the table long? (layout='long')",
            file=source,
        )
    present = {"month", *ids, *(f for cols in monthly.values() for f in cols)}
    missing = [c for c in (*wanted.required,) if c not in present]
    if missing:
        order = [c for c in ("customer_id", "branch_id", "month", *_MONTHLY) if c in missing]
        raise PortfolioError(
            f"missing column{'s' if len(order) > 1 else ''} "
            + ", ".join(repr(c if c in ("customer_id", "branch_id") else f"{c}@YYYY-MM") for c in order),
            file=source,
            line=1,
            column=", ".join(order),
        )
    if ignored:
        warn_ignored(ignored, source, stacklevel=5)
    fields = [f for f in _MONTHLY if any(f in cols for cols in monthly.values())]
    n = table.num_rows
    row_numbers = np.arange(1, n + 1, dtype=np.int64)
    parts: list[Any] = []
    lines: list[NDArray[np.int64]] = []
    for month in sorted(monthly):
        cols = monthly[month]
        cells = {f: table.column(cols[f]) for f in fields if f in cols}
        # a customer-month whose cells are all null is not data (the customer started later)
        present_mask = np.zeros(n, dtype=bool)
        for arr in cells.values():
            present_mask |= ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        keep = pa.array(present_mask)
        part: dict[str, Any] = {c: pc.filter(table.column(name), keep) for c, name in ids.items()}
        k = int(present_mask.sum())
        part["month"] = pa.array([str(month)] * k, type=pa.string())
        for f in fields:
            if f in cells:
                part[f] = pc.filter(cells[f], keep)
            else:
                part[f] = pa.nulls(k)  # the field is missing in this month: a missing value
        parts.append(pa.table(part))
        lines.append(row_numbers[present_mask])
    try:
        long = pa.concat_tables(parts, promote_options="permissive")
    except pa.ArrowException as exc:
        raise PortfolioError(f"the wide columns of one field differ in type: {exc}", file=source) from None
    return long, np.concatenate(lines)


register_table_reader(read_table)
