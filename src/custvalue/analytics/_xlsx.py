"""The report file as an Excel workbook, through XlsxWriter (the ``excel`` extra; see :mod:`._reportfile`).

A ``Summary`` sheet, then one sheet per section: the report's table from
``A1`` (header row frozen, autofilter, column widths), a totals row of exact
sums, and to its right a chart-data block per chart with a native Excel
chart (XlsxWriter chart objects) beside it.  The migration block is also
shaded with a colour scale (a heatmap in Excel's own terms).

Money: ``f`` fen is written as the double nearest ``f / 100`` with the
format ``#,##0.00`` when ``|f| < EXACT_FEN_LIMIT`` (``10**15`` fen: at most
15 significant digits, which a double and Excel's display keep exactly),
otherwise as exact text.  (The chart-data blocks beside the tables feed the
charts and always hold numbers; the tables and their totals are the exact
record.)  Strings are never read as formulas, numbers or URLs (an id such as
``=1+1`` stays text).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
from pathlib import Path
from typing import Any, Final

import numpy as np

from .._optional import import_optional
from ..money import format_yuan
from ._errors import AnalyticsError
from ._plot import COLOURS

__all__ = [
    "EXACT_FEN_LIMIT",
    "EXCEL_MAX_ROWS",
    "check_workbook",
    "column_heading",
    "sheet_name",
    "write_workbook",
]

#: Amounts below this many fen (in absolute value) are exact as numbers in the workbook.
EXACT_FEN_LIMIT: Final = 10**15
#: Rows of an Excel sheet.
EXCEL_MAX_ROWS: Final = 1_048_576
#: Largest integer a double (an Excel number) holds exactly.
_EXACT_INT: Final = 2**53
_BAD_SHEET_CHARS: Final = str.maketrans({c: " " for c in "[]:*?/\\"})


def sheet_name(title: str, taken: set[str]) -> str:
    """A valid, unique Excel sheet name (at most 31 characters, none of ``[]:*?/\\``).

    >>> sheet_name("Churn", {"Churn"}), sheet_name("Churn: B001/B002 [draft]", set())
    ('Churn (2)', 'Churn B001 B002 draft')
    """
    base = " ".join(title.translate(_BAD_SHEET_CHARS).split())[:31].strip("'") or "Sheet"
    name, k = base, 1
    while name.lower() in {t.lower() for t in taken}:
        k += 1
        suffix = f" ({k})"
        name = base[: 31 - len(suffix)] + suffix
    return name


def column_heading(report: Any, name: str) -> str:
    """A column's heading in the report file: ``aum (yuan)`` for money, ``aum_share (%)`` for ``*_bp``.

    >>> from custvalue.analytics import Report
    >>> r = Report(title="t", columns={"aum": [1], "aum_share_bp": [2], "tier": ["x"]}, money=("aum",))
    >>> [column_heading(r, n) for n in r.column_names]
    ['aum (yuan)', 'aum_share (%)', 'tier']
    """
    if name in report.money:
        return f"{name} (yuan)"
    if name.endswith("_bp"):
        return f"{name[:-3]} (%)"
    return name


def check_workbook(rs: Any) -> None:
    """Refuse, before any file is opened, a section with more rows than an Excel sheet holds."""
    for s in rs.sections:
        rows = len(s.table) + 2  # header and totals
        if rows > EXCEL_MAX_ROWS:
            raise AnalyticsError(
                f"the section {s.title!r} has {len(s.table):,} rows, more than an Excel sheet holds "
                f"({EXCEL_MAX_ROWS - 2:,}); write it as CSV or Parquet (Report.write) or as HTML"
            )


class _Formats:
    def __init__(self, wb: Any) -> None:
        self.header = wb.add_format({"bold": True, "bg_color": "#DCE6F1", "bottom": 1, "text_wrap": False})
        self.title = wb.add_format({"bold": True, "font_size": 14})
        self.bold = wb.add_format({"bold": True})
        self.money = wb.add_format({"num_format": "#,##0.00"})
        self.money_text = wb.add_format({"align": "right"})
        self.count = wb.add_format({"num_format": "#,##0"})
        self.pct = wb.add_format({"num_format": "0.00%"})
        self.float = wb.add_format({"num_format": "0.0000"})
        self.when = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.text = wb.add_format({})
        self.total_label = wb.add_format({"bold": True, "top": 1})
        self.total_money = wb.add_format({"bold": True, "top": 1, "num_format": "#,##0.00"})
        self.total_money_text = wb.add_format({"bold": True, "top": 1, "align": "right"})
        self.total_count = wb.add_format({"bold": True, "top": 1, "num_format": "#,##0"})
        self.total_blank = wb.add_format({"top": 1})


def _money(ws: Any, r: int, c: int, fen: int, f: _Formats, *, total: bool = False) -> None:
    if abs(fen) < EXACT_FEN_LIMIT:
        ws.write_number(r, c, fen / 100, f.total_money if total else f.money)
    else:
        ws.write_string(
            r, c, format_yuan(fen).replace(",", ""), f.total_money_text if total else f.money_text
        )


def _integer(ws: Any, r: int, c: int, v: int, f: _Formats, *, total: bool = False) -> None:
    if abs(v) <= _EXACT_INT:
        ws.write_number(r, c, v, f.total_count if total else f.count)
    else:
        ws.write_string(r, c, str(v), f.total_money_text if total else f.money_text)


def _kind(report: Any, name: str) -> str:
    if name in report.money:
        return "money"
    if name.endswith("_bp"):
        return "bp"
    kind = np.asarray(report.column(name)).dtype.kind
    return {"b": "bool", "i": "int", "u": "int", "f": "float", "M": "when"}.get(kind, "text")


def _write_table(ws: Any, section: Any, f: _Formats) -> int:
    """The section's table at A1 and its totals row; returns the number of columns used."""
    report, totals = section.table, section.totals
    names = list(report.column_names)
    kinds = [_kind(report, n) for n in names]
    heads = [column_heading(report, n) for n in names]
    widths = [len(h) + 2 for h in heads]
    for j, row in enumerate(zip(*report._cells(200), strict=True)) if len(report) else ():
        widths[j] = max(widths[j], *(len(c) + 2 for c in row))
    for j, head in enumerate(heads):
        ws.write_string(0, j, head, f.header)
        ws.set_column(j, j, min(max(widths[j], 8), 40))
    n_rows = len(report)
    for j, (name, kind) in enumerate(zip(names, kinds, strict=True)):
        values = report.column(name)
        valid = report.valid.get(name)
        ok = np.ones(n_rows, np.bool_) if valid is None else np.asarray(valid, np.bool_)
        if kind == "when":
            cells: list[Any] = values.astype("datetime64[s]").astype(_dt.datetime).tolist()
        else:
            cells = values.tolist()
        for i, (v, good) in enumerate(zip(cells, ok.tolist(), strict=True)):
            r = i + 1
            if not good:
                ws.write_blank(r, j, None)
            elif kind == "money":
                _money(ws, r, j, int(v), f)
            elif kind == "bp":
                ws.write_number(r, j, int(v) / 10_000, f.pct)
            elif kind == "bool":
                ws.write_boolean(r, j, bool(v))
            elif kind == "int":
                _integer(ws, r, j, int(v), f)
            elif kind == "float":
                ws.write_number(r, j, float(v), f.float)
            elif kind == "when":
                ws.write_datetime(r, j, v, f.when)
            else:
                ws.write_string(r, j, str(v), f.text)
    if totals and n_rows:
        r = n_rows + 1
        for j, (name, kind) in enumerate(zip(names, kinds, strict=True)):
            v = section.total(name) if name in totals else None
            if v is not None:
                if kind == "money":
                    _money(ws, r, j, v, f, total=True)
                else:
                    _integer(ws, r, j, v, f, total=True)
            elif j == 0:
                ws.write_string(r, j, "Total", f.total_label)
            else:
                ws.write_blank(r, j, None, f.total_blank)
    ws.freeze_panes(1, 0)
    if names:
        ws.autofilter(0, 0, max(n_rows, 1), len(names) - 1)
    return len(names)


def _chart(wb: Any, ws: Any, sheet: str, spec: Any, r0: int, c0: int, f: _Formats) -> int:
    """The chart-data block at (r0, c0) and its chart beside it; returns the rows used."""
    n = len(spec.categories)
    ws.write_string(r0, c0, spec.category_title, f.header)
    for j, (name, _) in enumerate(spec.series):
        ws.write_string(r0, c0 + 1 + j, name, f.header)
    ws.set_column(c0, c0 + len(spec.series), 14)
    for i, cat in enumerate(spec.categories):
        if isinstance(cat, str):
            ws.write_string(r0 + 1 + i, c0, cat, f.bold)
        else:
            ws.write_number(r0 + 1 + i, c0, float(cat), f.pct if spec.values == "ratio" else f.count)
        for j, (_, values) in enumerate(spec.series):
            v = values[i]
            if spec.values == "money":
                ws.write_number(r0 + 1 + i, c0 + 1 + j, int(v) / 100, f.money)
            elif spec.values == "ratio":
                ws.write_number(r0 + 1 + i, c0 + 1 + j, float(v), f.pct)
            else:
                ws.write_number(r0 + 1 + i, c0 + 1 + j, int(v), f.count)
    if spec.shade and n:
        ws.conditional_format(
            r0 + 1,
            c0 + 1,
            r0 + n,
            c0 + len(spec.series),
            {"type": "2_color_scale", "min_color": "#FFFFFF", "max_color": "#2F6EBA"},
        )
    if n == 0 or not spec.series:
        return 3
    options = {"type": spec.chart} | ({"subtype": spec.subtype} if spec.subtype else {})
    chart = wb.add_chart(options)
    line_like = spec.chart in ("line", "scatter")
    for j, (_name, _) in enumerate(spec.series):
        colour = COLOURS[j % len(COLOURS)]
        series: dict[str, Any] = {
            "name": [sheet, r0, c0 + 1 + j],
            "categories": [sheet, r0 + 1, c0, r0 + n, c0],
            "values": [sheet, r0 + 1, c0 + 1 + j, r0 + n, c0 + 1 + j],
        }
        if line_like:
            series["line"] = {
                "color": colour,
                "width": 2,
                **({"dash_type": "dash"} if j and spec.chart == "scatter" else {}),
            }
            if spec.chart == "line":
                series["marker"] = {
                    "type": "circle",
                    "size": 4,
                    "fill": {"color": colour},
                    "border": {"color": colour},
                }
        else:
            series["fill"] = {"color": colour}
        chart.add_series(series)
    number = {"money": "#,##0", "ratio": "0%", "count": "#,##0"}[spec.values]
    chart.set_title({"name": spec.title, "name_font": {"size": 12}})
    chart.set_x_axis(
        {
            "name": spec.x_title,
            **({"num_format": "0%", "min": 0, "max": 1} if spec.chart == "scatter" else {}),
        }
    )
    chart.set_y_axis(
        {
            "name": spec.y_title,
            "num_format": "0%" if spec.subtype == "percent_stacked" else number,
            "major_gridlines": {"visible": True, "line": {"color": "#DDDDDD"}},
        }
    )
    chart.set_legend({"position": "bottom"} if len(spec.series) > 1 else {"none": True})
    chart.set_size({"width": 620, "height": 330})
    ws.insert_chart(r0, c0 + len(spec.series) + 2, chart)
    return max(n + 3, 19)


def _summary(wb: Any, rs: Any, f: _Formats) -> None:
    ws = wb.add_worksheet("Summary")
    ws.write_string(0, 0, "item", f.header)
    ws.write_string(0, 1, "value", f.header)
    ws.set_column(0, 0, 44)
    ws.set_column(1, 1, 24)
    r = 1
    for label, value, unit in rs.summary:
        ws.write_string(r, 0, label, f.text)
        if value is None:
            ws.write_blank(r, 1, None)
        elif unit == "money":
            _money(ws, r, 1, int(value), f)
        elif unit == "count":
            _integer(ws, r, 1, int(value), f)
        elif unit == "bp":
            ws.write_number(r, 1, int(value) / 10_000, f.pct)
        elif unit == "ratio":
            ws.write_number(r, 1, float(value), f.float)
        else:
            ws.write_string(r, 1, str(value), f.text)
        r += 1
    r += 1
    ws.write_string(r, 0, "sheet", f.header)
    ws.write_string(r, 1, "what it shows", f.header)
    for s in rs.sections:
        r += 1
        ws.write_string(r, 0, s.sheet, f.bold)
        ws.write_string(r, 1, s.description, f.text)
    ws.freeze_panes(1, 0)


def write_workbook(rs: Any, path: Path) -> None:
    """Write the workbook of a :class:`ReportSet` to ``path`` (a fresh temporary file)."""
    xlsxwriter = import_optional("xlsxwriter", extra="excel", feature="Excel report files")
    wb = xlsxwriter.Workbook(
        str(path),
        {
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "nan_inf_to_errors": True,
        },
    )
    try:
        wb.set_properties(
            {"title": f"Customer value report as of {rs.as_of}", "comments": "made by custvalue"}
        )
        f = _Formats(wb)
        _summary(wb, rs, f)
        taken = {"Summary"}
        for s in rs.sections:
            name = sheet_name(s.sheet, taken)
            taken.add(name)
            ws = wb.add_worksheet(name)
            ncols = _write_table(ws, s, f)
            r, c0 = 0, ncols + 1
            for spec in s.charts:
                r += _chart(wb, ws, name, spec, r, c0, f)
    except BaseException:
        with contextlib.suppress(Exception):
            wb.close()
        raise
    wb.close()
