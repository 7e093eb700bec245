"""The report file as one self-contained HTML page (see :mod:`._reportfile`).

Inline CSS, no script; charts are PNG images embedded as ``data:`` URIs
(drawn by :mod:`._plot` on figures of their own, without pyplot); every
table is an HTML ``<table>`` with a ``<thead>``, its rows (the first
``max_rows``) and a ``<tfoot>`` of exact totals.  Nothing refers to a file,
a font or a URL, so the page works offline and can be mailed as it is.
"""

from __future__ import annotations

import base64
import html
import importlib.util
from typing import Any, Final

import numpy as np

from ..money import format_yuan
from ._plot import figure_png, plot_report
from ._xlsx import column_heading

__all__ = ["html_page"]

_CSS: Final = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Helvetica Neue", Arial,
       "PingFang SC", "Microsoft YaHei", sans-serif; margin: 2rem auto; max-width: 72rem; color: #222;
       padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.25rem; border-bottom: 1px solid #ccc; padding-bottom: 0.2rem; margin-top: 2.5rem; }
h3 { font-size: 1rem; }
p.meta, p.note { color: #555; font-size: 0.9rem; }
nav ol { columns: 2; font-size: 0.95rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #ddd; padding: 0.2rem 0.5rem; }
thead th { background: #f0f3f7; position: sticky; top: 0; }
tfoot td { font-weight: bold; background: #fafafa; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 0.5rem 0; display: inline-block; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
div.scroll { max-height: 32rem; overflow: auto; display: inline-block; max-width: 100%; }
"""


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _numeric(report: Any, name: str) -> bool:
    return name in report.money or name.endswith("_bp") or np.asarray(report.column(name)).dtype.kind in "iuf"


def _table(report: Any, *, max_rows: int | None, section: Any = None, caption: str = "") -> str:
    names = list(report.column_names)
    num = [_numeric(report, n) for n in names]
    shown = len(report) if max_rows is None else min(len(report), max_rows)
    head = "".join(
        f'<th{" class=num" if k else ""} scope="col">{_esc(column_heading(report, n))}</th>'
        for n, k in zip(names, num, strict=True)
    )
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=num' if k else ''}>{_esc(c)}</td>" for c, k in zip(row, num, strict=True))
        + "</tr>"
        for row in report._cells(shown)
    )
    foot = ""
    totals = section.totals if section is not None else ()
    if totals and len(report):
        cells = []
        for i, n in enumerate(names):
            v = section.total(n) if n in totals else None
            if v is not None:
                cells.append(f"<td class=num>{_esc(format_yuan(v) if n in report.money else f'{v:,}')}</td>")
            else:
                cells.append("<td>Total</td>" if i == 0 else "<td></td>")
        foot = f"<tfoot><tr>{''.join(cells)}</tr></tfoot>"
    cap = f"<caption>{_esc(caption)}</caption>" if caption else ""
    out = (
        f'<div class="scroll"><table>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody>{foot}</table></div>"
    )
    if shown < len(report):
        out += (
            f'<p class="note">The first {shown:,} of {len(report):,} rows; the Excel workbook (.xlsx) and '
            "the report's CSV/Parquet files have them all.</p>"
        )
    elif not len(report):
        out += '<p class="note">No rows.</p>'
    return out


def _summary_value(value: Any, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "money":
        return f"{format_yuan(int(value))} yuan"
    if unit == "count":
        return f"{int(value):,}"
    if unit == "bp":
        v = int(value)
        return f"{'-' if v < 0 else ''}{abs(v) // 100}.{abs(v) % 100:02d}%"
    if unit == "ratio":
        return f"{float(value):.4f}"
    return str(value)


def _image(source: Any, kwargs: dict[str, Any], alt: str) -> str:
    png = figure_png(lambda ax: plot_report(source, ax, **kwargs))
    data = base64.b64encode(png).decode("ascii")
    return f'<figure><img alt="{_esc(alt)}" src="data:image/png;base64,{data}"></figure>'


def charts_available() -> bool:
    """Whether matplotlib (the ``plot`` extra) is installed, so the page can carry charts."""
    return importlib.util.find_spec("matplotlib") is not None


#: Shown on a page written without matplotlib: the tables are all there, the charts are not.
NO_CHARTS_NOTE: Final = (
    "Charts need matplotlib, which is not installed: pip install 'custvalue[plot]' "
    "(in a source checkout: pip install -e '.[plot]'). Every table is complete."
)


def html_page(rs: Any, *, max_rows: int | None = 1000, charts: bool | None = None) -> str:
    """The whole page as text (a :class:`ReportSet` ``rs``).

    ``charts``: embed the charts (``None``: when matplotlib is installed;
    without it the page says so at the top and keeps every table).
    """
    if charts is None:
        charts = charts_available()
    title = f"Customer value report as of {rs.as_of}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{_esc(title)}</h1>",
        f'<p class="meta">Policy {_esc(rs.policy.name)}; made by custvalue. Money in yuan '
        "(exact: from integer fen); percentages from exact sums, rounded half-to-even to 0.01%; "
        "— marks a percentage of nothing.</p>",
        "" if charts else f'<p class="meta">{_esc(NO_CHARTS_NOTE)}</p>',
        "</header>",
        '<nav><h2 id="contents">Contents</h2><ol><li><a href="#summary">Summary</a></li>',
        *[f'<li><a href="#{_esc(s.key)}">{_esc(s.title)}</a></li>' for s in rs.sections],
        "</ol></nav>",
        '<section id="summary"><h2>Summary</h2><table><tbody>',
        *[
            f"<tr><th scope=row>{_esc(label)}</th><td class=num>{_esc(_summary_value(v, unit))}</td></tr>"
            for label, v, unit in rs.summary
        ],
        "</tbody></table></section>",
    ]
    for s in rs.sections:
        parts.append(f'<section id="{_esc(s.key)}"><h2>{_esc(s.title)}</h2>')
        parts.append(f"<p>{_esc(s.description)}</p>")
        if charts:
            parts += [_image(src, kw, f"{s.title}: chart {i + 1}") for i, (src, kw) in enumerate(s.plots)]
        parts.append(_table(s.table, max_rows=max_rows, section=s, caption=s.table.title))
        if s.extra is not None:
            parts.append(f"<h3>{_esc(s.extra.title)}</h3>")
            parts.append(_table(s.extra, max_rows=max_rows))
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
