"""The analysts' report file: every report at one month, as an HTML page or an Excel workbook.

:func:`report_set` computes the reports once (one evaluation at the as-of
month, the tier path for the trend, the asset monitor for the roll-ups and
alerts) into a :class:`ReportSet`; :meth:`ReportSet.write` /
:func:`write_report` write it, atomically, as

* a self-contained **HTML** page (``.html``): every table, the charts
  embedded as base64 PNG (matplotlib, the ``plot`` extra), inline CSS, no
  script, no external file, font or URL: it works offline and can be mailed;
* an **Excel workbook** (``.xlsx``, XlsxWriter, the ``excel`` extra): a
  summary sheet, then one sheet per report with a frozen header row, column
  widths, an autofilter, totals, native Excel charts (chart objects fed by a
  chart-data block beside the table) and yuan formatting.

**Money in the workbook.**  Excel stores numbers as IEEE doubles and shows at
most 15 significant digits.  An amount of ``f`` fen is written as the double
nearest to ``f / 100`` (one correctly rounded division) with the format
``#,##0.00``.  For ``|f| < 10**15`` (below 10 trillion yuan) the yuan amount
has at most 15 significant digits, so that double is the only one that reads
back as that decimal: Excel displays it exactly, and ``round(x * 100)``
(or ``Decimal(repr(x)) * 100``) gives back ``f``.  An amount at or beyond
:data:`EXACT_FEN_LIMIT` is written as exact text (``"12345678901234567.89"``,
right-aligned) rather than as a number that would be rounded.  Percentages
(basis points) are written as ``bp / 10000`` with the format ``0.00%``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, Literal

import attrs
import numpy as np
from numpy.typing import NDArray

from .._arrays import Scratch, is_sealed, python_sum, readonly
from .._memo import memo_on_pair
from ..allocation import AllocationBook, SalesLedger, attribute, primary_managers_at
from ..io import atomic_write, check_output
from ..months import Month
from ..policy import CompiledPolicy, Policy, compile_policy, default_policy
from ..portfolio import Portfolio
from ..tiering import (
    Block,
    TierPath,
    TierResult,
    add_tally,
    evaluate_visiting,
    path_index,
    tally_block,
    tally_totals,
    tier_lut,
)
from ._alerts import evaluate_alerts, fired_rows
from ._errors import AnalyticsError
from ._html import html_page
from ._large import LargeTransactionAlerts, large_transactions
from ._monitor import AssetMonitor, MonitorBuild, month_index
from ._reports import (
    as_of_aum,
    check_months,
    churn_report,
    concentration,
    exact_fold,
    migration_report,
    path_columns,
    performance_report,
    tier_cube,
    tier_distribution,
    trend_of,
)
from ._table import Report, group_codes, make_columns
from ._transactions import Transactions
from ._xlsx import EXACT_FEN_LIMIT, check_workbook, write_workbook

__all__ = [
    "EXACT_FEN_LIMIT",
    "REPORT_FORMATS",
    "ChartSpec",
    "ReportSection",
    "ReportSet",
    "report_format",
    "report_set",
    "write_report",
]

#: Report file formats by suffix.
REPORT_FORMATS: Final[dict[str, str]] = {".html": "html", ".htm": "html", ".xlsx": "xlsx"}

ReportFormat = Literal["html", "xlsx"]


def report_format(path: str | Path, format: str | None = None) -> ReportFormat:
    """``"html"`` or ``"xlsx"``, from ``format`` or the file's suffix; :class:`AnalyticsError` otherwise.

    >>> report_format("monthly.xlsx"), report_format("r.out", "HTML")
    ('xlsx', 'html')
    >>> report_format("report.pdf")
    Traceback (most recent call last):
    ...
    custvalue.analytics.AnalyticsError: a report file is .html or .xlsx, not '.pdf' (file report.pdf)
    """
    if format is not None:
        f = format.lower().lstrip(".")
        if f in ("html", "htm"):
            return "html"
        if f == "xlsx":
            return "xlsx"
        raise AnalyticsError(f"report format must be html or xlsx, got {format!r}", file=str(path))
    suffix = Path(path).suffix.lower()
    if suffix not in REPORT_FORMATS:
        raise AnalyticsError(
            f"a report file is .html or .xlsx, not {suffix or 'a name without suffix'!r}", file=str(path)
        )
    return "html" if REPORT_FORMATS[suffix] == "html" else "xlsx"


@attrs.frozen(eq=False)
class ChartSpec:
    """A native (Excel) chart of a section: categories × series, exact values.

    ``values`` tells the unit of the series: ``"count"`` (integers),
    ``"money"`` (int fen, shown as yuan) or ``"ratio"`` (floats, shown as %).
    ``chart`` is ``"column"``, ``"bar"``, ``"line"`` or ``"scatter"``
    (``categories`` then are the x values); ``subtype`` as XlsxWriter's
    (``"stacked"``, ``"percent_stacked"``, ``"straight"``...); ``shade``: a
    colour scale over the data block (the migration heatmap).
    """

    title: str
    chart: str
    subtype: str | None
    category_title: str
    categories: tuple[Any, ...]
    series: tuple[tuple[str, tuple[Any, ...]], ...]
    values: str
    x_title: str
    y_title: str
    shade: bool = False


@attrs.frozen(eq=False)
class ReportSection:
    """One report of a :class:`ReportSet`: its table, plots (HTML) and native charts (Excel).

    Attributes
    ----------
    key : str
        Identifier (``"distribution"``, ``"trend"``...), the HTML anchor.
    title, sheet, description : str
        Heading, Excel sheet name (at most 31 characters) and a sentence on
        what the table shows.
    table : Report
        The report.
    plots : tuple of (object, dict)
        ``(source, kwargs)``: ``source.plot(ax, **kwargs)`` draws a chart.
    charts : tuple of ChartSpec
        The native Excel charts.
    totals : tuple of str
        Columns summed in a totals row (exact integers).
    extra : Report or None
        A second table (the migration matrix in square form).
    """

    key: str
    title: str
    sheet: str
    description: str
    table: Report
    plots: tuple[tuple[Any, dict[str, Any]], ...] = ()
    charts: tuple[ChartSpec, ...] = ()
    totals: tuple[str, ...] = ()
    extra: Report | None = None

    def total(self, column: str) -> int | None:
        """The exact sum of a column's valid values (a Python integer); ``None`` when none is valid."""
        values = np.asarray(self.table.column(column), np.int64)
        valid = self.table.valid.get(column)
        if valid is not None:
            if not bool(np.any(valid)):
                return None
            values = values[np.asarray(valid, np.bool_)]
        return python_sum(values)


@attrs.frozen(eq=False, repr=False)
class ReportSet:
    """Every analysts' report at one month, ready to write (:meth:`write`).

    Attributes
    ----------
    as_of : Month
    policy : Policy
    summary : tuple of (str, object, str)
        ``(label, value, unit)`` key figures; ``unit`` is ``"count"``,
        ``"money"`` (int fen), ``"bp"``, ``"ratio"`` (float) or ``"text"``.
    sections : tuple of ReportSection
    """

    as_of: Month
    policy: Policy
    summary: tuple[tuple[str, Any, str], ...]
    sections: tuple[ReportSection, ...]

    def section(self, key: str) -> ReportSection:
        """The section with this key; ``KeyError`` names the keys."""
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(f"no section {key!r}; sections: {', '.join(s.key for s in self.sections)}")

    @property
    def keys(self) -> tuple[str, ...]:
        """Section keys in order."""
        return tuple(s.key for s in self.sections)

    def write(
        self,
        path: str | Path,
        *,
        format: str | None = None,
        max_rows: int | None = 1000,
        inputs: Sequence[str | Path | None] = (),
    ) -> Path:
        """Write the report file, atomically (complete, or an existing file left as it was).

        ``format``: ``"html"`` or ``"xlsx"`` (default: from the suffix).
        ``max_rows``: rows of each table shown in the HTML page (``None``:
        all; the workbook always has every row).  ``inputs``: files the
        report was read from, never replaced (:func:`custvalue.io.check_output`).
        """
        fmt = report_format(path, format)
        if max_rows is not None and (
            isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 0
        ):
            raise AnalyticsError(f"max_rows must be a whole number >= 0 or None, got {max_rows!r}")
        if fmt == "html":
            text = html_page(self, max_rows=max_rows)  # everything is built before the file is opened
            data = text.encode("utf-8")

            def write_html(tmp: Path) -> None:
                tmp.write_bytes(data)

            return atomic_write(path, write_html, inputs=inputs)
        check_workbook(self)
        return atomic_write(path, lambda tmp: write_workbook(self, tmp), inputs=inputs)

    def __repr__(self) -> str:
        return f"<ReportSet as of {self.as_of}: {', '.join(self.keys)}>"


# ------------------------------------------------------------------ building
def _distinct(values: Any) -> list[str]:
    return list(dict.fromkeys(np.asarray(values).tolist()))


def _pivot(report: Report, row: str, col: str, value: str) -> tuple[list[str], list[str], list[list[int]]]:
    """``report[value]`` as rows × columns (cells of the long table, which lists every pair)."""
    rows, cols = _distinct(report.column(row)), _distinct(report.column(col))
    cells = [[0] * len(cols) for _ in rows]
    ri = {r: i for i, r in enumerate(rows)}
    ci = {c: j for j, c in enumerate(cols)}
    for r, c, v in zip(
        report.column(row).tolist(), report.column(col).tolist(), report.column(value).tolist(), strict=True
    ):
        cells[ri[r]][ci[c]] += int(v)
    return rows, cols, cells


def _by(report: Report, key: str, value: str) -> tuple[list[str], list[int]]:
    keys = _distinct(report.column(key))
    out = dict.fromkeys(keys, 0)
    for k, v in zip(report.column(key).tolist(), report.column(value).tolist(), strict=True):
        out[k] += int(v)
    return keys, [out[k] for k in keys]


def _series_by_column(cols: list[str], cells: list[list[int]]) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    return tuple((c, tuple(row[j] for row in cells)) for j, c in enumerate(cols))


def transaction_alert_table(alerts: LargeTransactionAlerts) -> Report:
    """The large-transaction alerts as a :class:`Report` (money in fen, windows as datetimes)."""
    cols = alerts.columns()
    return Report(
        title="large-transaction alerts",
        columns=make_columns(cols),
        money=("amount", "aum"),
    )


def _matrix_table(report: Any) -> Report:
    mm = report.matrix
    cols: dict[str, Any] = {f"{mm.from_label} \\ {mm.to_label}": np.asarray(mm.labels)}
    for j, lab in enumerate(mm.labels):
        cols[lab] = np.asarray(mm.counts)[:, j]
    cols["total"] = np.asarray(mm.counts).sum(axis=1)
    return Report(title=f"{report.title} (customers)", columns=make_columns(cols))


def _section_distribution(result: Any) -> ReportSection:
    d = tier_distribution(result)
    branches, tiers, cells = _pivot(d, "branch_id", "tier", "customers")
    tier_names, tier_customers = _by(d, "tier", "customers")
    _, tier_aum = _by(d, "tier", "aum")
    return ReportSection(
        key="distribution",
        title="Tier × branch distribution",
        sheet="Tier distribution",
        description="Customers and AUM per branch and tier at the as-of month; shares are of the branch's "
        "customers and AUM.",
        table=d,
        plots=((d, {"kind": "mix"}), (d, {"kind": "branch", "share": True})),
        charts=(
            ChartSpec(
                "Customers per tier",
                "column",
                None,
                "tier",
                tuple(tier_names),
                (("customers", tuple(tier_customers)),),
                "count",
                "tier",
                "customers",
            ),
            ChartSpec(
                "AUM per tier",
                "column",
                None,
                "tier",
                tuple(tier_names),
                (("AUM", tuple(tier_aum)),),
                "money",
                "tier",
                "AUM (yuan)",
            ),
            ChartSpec(
                "Tier mix by branch",
                "column",
                "percent_stacked",
                "branch",
                tuple(branches),
                _series_by_column(tiers, cells),
                "count",
                "branch",
                "share of customers",
            ),
        ),
        totals=("customers", "aum"),
    )


def _section_trend(
    portfolio: Portfolio,
    plan: CompiledPolicy,
    months: int,
    as_of: Month,
    path: TierPath | None,
    tallied: tuple[NDArray[np.int64], NDArray[np.int64]] | None = None,
) -> ReportSection:
    # the path was checked against the plan before the set's pass (_one_pass)
    t = trend_of(portfolio, plan, months, as_of, path, tallied)
    month_ids, tiers, cells = _pivot(t, "month", "tier", "customers")
    _, _, aum = _pivot(t, "month", "tier", "aum")
    return ReportSection(
        key="trend",
        title="Tier trend",
        sheet="Tier trend",
        description=f"Customers and AUM per tier in each of the last {len(month_ids)} months.",
        table=t,
        plots=((t, {}), (t, {"value": "aum"})),
        charts=(
            ChartSpec(
                "Customers per tier",
                "line",
                None,
                "month",
                tuple(month_ids),
                _series_by_column(tiers, cells),
                "count",
                "month",
                "customers",
            ),
            ChartSpec(
                "AUM per tier",
                "line",
                None,
                "month",
                tuple(month_ids),
                _series_by_column(tiers, aum),
                "money",
                "month",
                "AUM (yuan)",
            ),
        ),
    )


def _section_migration(result: Any) -> ReportSection:
    m = migration_report(result)
    mm = m.matrix
    counts = np.asarray(mm.counts).tolist()
    return ReportSection(
        key="migration",
        title="Tier migration",
        sheet="Tier migration",
        description=f"Customers by tier at {mm.from_label} (rows) and {mm.to_label} (columns); AUM at "
        f"{mm.to_label}; (none): no tier that month.",
        table=m,
        plots=((m, {}),),
        charts=(
            ChartSpec(
                f"Where each tier's customers went ({mm.from_label} → {mm.to_label})",
                "bar",
                "percent_stacked",
                f"tier at {mm.from_label}",
                tuple(mm.labels),
                tuple((lab, tuple(row[j] for row in counts)) for j, lab in enumerate(mm.labels)),
                "count",
                f"tier at {mm.from_label}",
                "share of customers",
                shade=True,
            ),
        ),
        totals=("customers", "aum"),
        extra=_matrix_table(m),
    )


def _section_churn(result: Any) -> ReportSection:
    c = churn_report(result)
    tiers, churned = _by(c, "tier", "churned")
    _, lost = _by(c, "tier", "aum_lost")
    return ReportSection(
        key="churn",
        title="Churn by branch and tier",
        sheet="Churn",
        description="Customers who held a tier the month before, how many lost it through lapse this "
        "month, their AUM and the churn rate.",
        table=c,
        plots=((c, {}), (c, {"kind": "branch", "value": "rate"})),
        charts=(
            ChartSpec(
                "Churned customers per tier",
                "column",
                None,
                "tier",
                tuple(tiers),
                (("churned", tuple(churned)),),
                "count",
                "tier",
                "customers",
            ),
            ChartSpec(
                "AUM lost per tier",
                "column",
                None,
                "tier",
                tuple(tiers),
                (("AUM lost", tuple(lost)),),
                "money",
                "tier",
                "AUM (yuan)",
            ),
        ),
        totals=("held_before", "churned", "aum_lost"),
    )


def _section_concentration(result: Any) -> ReportSection:
    k = concentration(result)
    lx = tuple(float(v) for v in k.lorenz_x.tolist())
    ly = tuple(float(v) for v in k.lorenz_y.tolist())
    return ReportSection(
        key="concentration",
        title="AUM concentration",
        sheet="Concentration",
        description=f"Share of AUM held by the top customers; Gini coefficient {k.gini:.4f} "
        f"({k.n_customers:,} customers with data).",
        table=k,
        plots=((k, {}), (k, {"kind": "pareto"})),
        charts=(
            ChartSpec(
                "Lorenz curve",
                "scatter",
                "straight",
                "share of customers",
                lx,
                (("Lorenz curve", ly), ("equal AUM", lx)),
                "ratio",
                "customers, least AUM first",
                "share of AUM",
            ),
        ),
    )


def _section_assets(monitor: Any) -> ReportSection:
    b = monitor.by_branch()
    ids = [str(x) for x in b.column("branch_id").tolist()]
    return ReportSection(
        key="assets",
        title="Asset monitoring by branch",
        sheet="Branch assets",
        description="AUM, deposits, investments (wealth + investments), loans (mortgage + credit), their "
        "averages and month-over-month and year-over-year changes, summed per branch.",
        table=b,
        plots=((b, {}),),
        charts=(
            ChartSpec(
                "Assets per branch",
                "column",
                None,
                "branch",
                tuple(ids),
                tuple(
                    (name, tuple(int(v) for v in b.column(col).tolist()))
                    for name, col in (
                        ("deposits", "deposit_total"),
                        ("investments", "investment_total"),
                        ("loans", "loan_total"),
                    )
                ),
                "money",
                "branch",
                "yuan",
            ),
        ),
        totals=(
            "customers",
            "aum",
            "deposit_total",
            "investment_total",
            "loan_total",
            "aum_change_mom",
            "aum_change_yoy",
        ),
    )


def _section_alerts(
    monitor: Any,
    policy: Policy,
    book: AllocationBook | None,
    day: Any,
    book_rows: tuple[NDArray[np.intp], NDArray[np.bool_]] | None = None,
) -> ReportSection:
    """The alerts section; with a ``book``, each alerted customer's primary manager, read from
    ``book_rows`` (the portfolio's customers mapped onto the book: row, and whether it is there)."""
    alerts = evaluate_alerts(monitor, policy)
    table: Report = alerts
    if book is not None:
        assert book_rows is not None
        rows = fired_rows(np.asarray(alerts.fired))[0]  # the alert rows: customer-major, as evaluate_alerts
        if not np.array_equal(monitor.columns["customer_id"][rows], alerts.column("customer_id")):
            raise AnalyticsError("internal: the alert rows do not follow the monitor's customers")
        cols = dict(alerts.columns)
        # the primary manager of the alerted customers only (a lookup per alert, not per customer)
        ids = monitor.columns["customer_id"][rows]
        rm = None
        if rows.size:
            days = np.full(rows.size, day.toordinal(), np.int64)
            rm = primary_managers_at(book, ids, book_rows[0][rows], book_rows[1][rows], days).primary
        cols["rm"] = readonly(np.asarray(rm, dtype=str) if rm is not None else np.empty(0, "<U1"))
        table = Report(title=alerts.title, columns=cols, valid=dict(alerts.valid), money=alerts.money)
    counts = alerts.counts()
    return ReportSection(
        key="alerts",
        title="Asset-fall alerts",
        sheet="Asset alerts",
        description="The policy's monitoring alerts that fired at the as-of month, one row per customer "
        "and alert" + (", with the customer's primary account manager." if book is not None else "."),
        table=table,
        plots=((alerts, {}),),
        charts=(
            ChartSpec(
                "Customers per alert",
                "column",
                None,
                "alert",
                tuple(counts),
                (("customers", tuple(counts.values())),),
                "count",
                "alert",
                "customers",
            ),
        )
        if counts
        else (),
        totals=("aum",),
    )


def _section_transactions(
    transactions: Transactions, policy: Policy, portfolio: Portfolio, result: Any, book: AllocationBook | None
) -> ReportSection:
    la = large_transactions(transactions, policy, portfolio=portfolio, tiers=result, book=book)
    table = transaction_alert_table(la)
    codes = np.bincount(la.rule_codes.astype(np.intp), minlength=len(la.rule_ids)).tolist()
    skipped = f" Skipped: {', '.join(la.skipped_rules)}." if la.skipped_rules else ""
    return ReportSection(
        key="transactions",
        title="Large-transaction alerts",
        sheet="Large transactions",
        description="The policy's large-transaction rules over the transaction file: rule, customer, "
        "window, amount (the transaction or the window's sum), count, the customer's tier and RM." + skipped,
        table=table,
        plots=((la, {}),),
        charts=(
            ChartSpec(
                "Alerts per rule",
                "column",
                None,
                "rule",
                tuple(la.rule_ids),
                (("alerts", tuple(codes)),),
                "count",
                "rule",
                "alerts",
            ),
        )
        if la.rule_ids
        else (),
        totals=("amount", "count"),
    )


def _section_performance(
    by: str, attribution: Any, previous: Any, ledger: Any, start: Any, end: Any, book: AllocationBook
) -> ReportSection:
    r = performance_report(
        attribution,
        previous=previous,
        ledger=ledger,
        start=start,
        end=end,
        manager_branch=book.managers,
        by=by,
    )
    ids = [str(x) for x in r.column("manager_id" if by == "manager" else "branch_id").tolist()]
    aum = [int(v) for v in r.column("aum").tolist()]
    if by == "manager":
        order = sorted(range(len(ids)), key=lambda i: (-aum[i], ids[i]))[:20]
        chart_ids, chart_aum, what = (
            [ids[i] for i in order],
            [aum[i] for i in order],
            "Top 20 managers by AUM",
        )
    else:
        chart_ids, chart_aum, what = ids, aum, "AUM per branch"
    return ReportSection(
        key="managers" if by == "manager" else "branches",
        title="Account-manager performance" if by == "manager" else "Branch performance",
        sheet="Manager performance" if by == "manager" else "Branch performance",
        description=(
            "AUM under management (attributed by the allocation book's shares), growth since the month "
            "before, sales credit and rank within the branch."
            if by == "manager"
            else "Branch AUM (its managers' parts and its unallocated customers), growth, sales credit "
            "and rank."
        ),
        table=r,
        plots=((r, {"top": 20} if by == "manager" else {}),),
        charts=(
            ChartSpec(
                what,
                "column",
                None,
                by,
                tuple(chart_ids),
                (("AUM", tuple(chart_aum)),),
                "money",
                by,
                "AUM (yuan)",
            ),
        )
        if ids
        else (),
        totals=("aum", "aum_growth", "sales_credit", *(("unallocated",) if by == "branch" else ())),
    )


def _book_rows(
    book: AllocationBook, ids: NDArray[np.str_]
) -> tuple[NDArray[np.intp], NDArray[np.bool_], bool]:
    """Each portfolio customer's row in the book's customer order, whether the book has it, and
    whether the rows are simply ``0..n-1`` (the book lists the same customers in the same order).

    A book built from the portfolio lists the same ids in the same order:
    one comparison, no lookup.  Otherwise one sort of the book's ids and a
    binary search of the portfolio's.
    """
    own = book.customer_ids
    if is_sealed(own) and is_sealed(ids):  # both immutable: found once per pair
        return memo_on_pair(own, ids, "book rows", lambda: _find_rows(own, ids))
    return _find_rows(own, ids)


def _find_rows(
    own: NDArray[np.str_], ids: NDArray[np.str_]
) -> tuple[NDArray[np.intp], NDArray[np.bool_], bool]:
    if own is ids or (own.shape == ids.shape and np.array_equal(own, ids)):
        return readonly(np.arange(ids.size, dtype=np.intp)), readonly(np.ones(ids.size, np.bool_)), True
    if own.size == 0 or ids.size == 0:
        return readonly(np.zeros(ids.size, np.intp)), readonly(np.zeros(ids.size, np.bool_)), False
    order = np.argsort(own, kind="stable")
    pos = np.minimum(np.searchsorted(own[order], ids), own.size - 1)
    at = order[pos].astype(np.intp)
    return readonly(at), readonly(np.asarray(own[at] == ids, np.bool_)), False


def _on_book(
    amounts: NDArray[np.int64], at: NDArray[np.intp], pick: NDArray[np.bool_], n_book: int, same: bool
) -> NDArray[np.int64]:
    """Amounts of the picked portfolio customers, aligned with the book's customers (0 elsewhere)."""
    if same and bool(pick.all()):
        return amounts  # the book lists the portfolio's customers in its order: no scatter
    out = np.zeros(n_book, np.int64)
    out[at[pick]] = amounts[pick]
    return out


#: Rows per block of the report set's pass: twice the evaluation's.  The
#: trend's tally makes a few hundred numpy calls per block; at 1M × 14 the
#: pass took 261 ms against 270 ms with 65,536 rows (and 271 ms with 196,608),
#: while :func:`~custvalue.evaluate` alone is the same at either size.
SET_CHUNK: Final = 131_072


def _one_pass(
    portfolio: Portfolio,
    plan: CompiledPolicy,
    month: Month,
    a: int,
    months: int,
    path: TierPath | None,
    chunk_size: int = SET_CHUNK,
) -> tuple[TierResult, AssetMonitor, tuple[NDArray[np.int64], NDArray[np.int64]] | None]:
    """The evaluation, the asset monitor and the trend's tally, in one pass over the row blocks.

    Each block's months are read (and its AUM summed) once, while they are
    in cache, by the evaluation (:func:`~custvalue.evaluate`), the monitor
    (:class:`MonitorBuild`) and the trend's tally (customers and AUM per tier
    and month, :func:`~custvalue.tiering.tally_block`): the months before
    the last two tiered here, the last two from the evaluation's tiers and
    previous tiers.  Each equals its own call (the tests compare them).  The
    reasons and the status part (status, months below, events: no report
    reads them) are computed on first use.  With ``path`` the trend tallies
    the path's stored tiers of every month, as the block is visited.
    """
    check_months(months)
    build = MonitorBuild(portfolio, plan.policy, month, a)
    i0 = max(0, a - months + 1)
    stored: list[int] | None = None  # the path's columns of months i0..a
    if path is not None:
        stored = path_columns(portfolio, path, [portfolio.months[j] for j in range(i0, a + 1)])
        assert isinstance(path, TierPath)
        if path.policy != plan.policy:
            raise AnalyticsError("path was evaluated under another policy than the report's")
    tally = stored is None  # the pass tiers the trend's months itself
    earlier = a - 2 >= i0  # months tiered in the pass
    last_two = max(i0, a - 1)  # the evaluation's months
    first = build.first_month
    if tally and earlier:
        first = min(first, max(0, i0 - plan.history_needed))
    if stored is not None:
        first = min(first, i0)
    k = len(plan.policy.tier_order)
    scratch = Scratch()  # the tally's work arrays, the same memory every block
    # with a lookup table, one index of the trend's months and the evaluation's two per block:
    # the evaluation takes its tiers from its last two months (no reasons, no status walk), the
    # tally its cells of the months before the as-of month (their AUM levels found once)
    lo_index = max(0, min(i0, a - 1))
    shared = tally and tier_lut(plan) is not None

    def prepare(block: Block) -> None:
        got = path_index(plan, block, lo_index, a, scratch)
        if got is not None:
            block.index = (plan, lo_index, got[0])

    def visit(
        rows: slice, block: Block, res: dict[str, NDArray[Any]]
    ) -> list[tuple[NDArray[np.int64], NDArray[np.int64]]]:
        build.block(block)
        if stored is not None:  # the path's tiers of the block's rows, month-major
            assert path is not None
            codes = np.ascontiguousarray(path.tier_codes[rows][:, stored].T)
            return [tally_block(block, i0, a, k, codes=codes, scratch=scratch)]
        if block.index is not None:  # the shared index: months i0..a - 1 by their cells
            idx = block.index[2]
            if i0 > a - 1:
                return []
            return [
                tally_block(
                    block, i0, a - 1, k, cp=plan, scratch=scratch, index=idx[i0 - lo_index : a - lo_index]
                )
            ]
        parts = [tally_block(block, i0, a - 2, k, cp=plan, scratch=scratch)] if earlier else []
        if last_two < a:  # the month before, from the previous tiers (the as-of month: the result's cube)
            before = res["previous_tier"][None]
            parts.append(tally_block(block, a - 1, a - 1, k, codes=before, scratch=scratch))
        return parts

    result, seen = evaluate_visiting(
        portfolio,
        plan,
        as_of=month,
        visit=visit,
        first_month=first,
        defer_reasons=True,
        defer_status=True,
        chunk_size=chunk_size,
        prepare=prepare if shared else None,
    )
    monitor = build.result()
    as_of_aum(result, monitor.columns["aum"])  # the reports of the result read it: the same amounts
    m = a + 1 - i0
    counts = np.zeros((m, k + 1), np.int64)
    sums = [[0] * (k + 1) for _ in range(m)]
    for parts in seen:
        j0 = 0
        for c, s in parts:
            counts[j0 : j0 + c.shape[0]] += c
            add_tally(sums, j0, s)
            j0 += c.shape[0]
    if tally:  # the as-of month: the customers with a tier in the result's cube (as the other reports)
        _, cube_counts, cube_aum = tier_cube(result)
        counts[m - 1, :k] = cube_counts[:, :, :k, :].sum(axis=(0, 1, 3))
        tier_aum = exact_fold(cube_aum[:, :, :k, :], (2,), what="AUM of a tier and month")
        add_tally(sums, m - 1, tier_aum[None, :])
    wanted = [portfolio.months[j] for j in range(i0, a + 1)]
    return result, monitor, (counts[:, :k], tally_totals(sums, plan.policy.tier_order, wanted).T)


def report_set(
    portfolio: Portfolio,
    as_of: Month | str | None = None,
    policy: Policy | CompiledPolicy | None = None,
    *,
    transactions: Transactions | None = None,
    book: AllocationBook | None = None,
    ledger: SalesLedger | None = None,
    months: int = 12,
    path: TierPath | None = None,
) -> ReportSet:
    """Every analysts' report of a portfolio at ``as_of`` (default: its last month).

    Parameters
    ----------
    portfolio
        The balances.
    as_of
        The month of the reports.
    policy
        The tier policy, its ``[monitoring]`` alerts and ``[transactions]``
        rules (default: :func:`custvalue.default_policy`).
    transactions
        With them, the large-transaction alerts section.
    book
        An :class:`~custvalue.allocation.AllocationBook`: the manager and
        branch performance sections (the as-of AUM attributed on the month's
        last day, growth against the month before) and each alert's primary
        account manager.  Customers of the portfolio not in the book on that
        day are left out of the attribution and counted in the summary.
    ledger
        A :class:`~custvalue.allocation.SalesLedger`: sales credit over the
        as-of month in the performance sections.
    months
        Months of the tier trend.
    path
        A :func:`~custvalue.evaluate_path` of this portfolio under the same
        policy that covers the trend's months (kept from an earlier run, or
        shared with other reports): the trend reads its tiers instead of
        tiering those months again.  Without it the trend tiers the months
        before the as-of month (:func:`~custvalue.tiering.evaluate_tiers`)
        and takes the last two from this evaluation.

    Returns
    -------
    ReportSet

    Examples
    --------
    >>> from custvalue.synthetic import generate
    >>> rs = report_set(generate(300, seed=3, n_branches=2), "2026-10")
    >>> rs.keys
    ('distribution', 'trend', 'migration', 'churn', 'concentration', 'assets', 'alerts')
    >>> rs.section("distribution").total("customers")
    300
    """
    if not isinstance(portfolio, Portfolio):
        raise AnalyticsError(f"report_set needs a Portfolio, got {type(portfolio).__name__}")
    if transactions is not None and not isinstance(transactions, Transactions):
        raise AnalyticsError(f"transactions must be Transactions, got {type(transactions).__name__}")
    if book is not None and not isinstance(book, AllocationBook):
        raise AnalyticsError(f"book must be an AllocationBook, got {type(book).__name__}")
    if ledger is not None and book is None:
        raise AnalyticsError(
            "a sales ledger is reported with the allocation book's performance: give book too"
        )
    plan = policy if isinstance(policy, CompiledPolicy) else compile_policy(policy or default_policy())
    pol = plan.policy
    month, a = month_index(portfolio, portfolio.months.stop if as_of is None else as_of)
    result, monitor, tallied = _one_pass(portfolio, plan, month, a, months, path)
    day = month.last_day
    assets = _section_assets(monitor)
    summary: list[tuple[str, Any, str]] = [
        ("as-of month", str(month), "text"),
        ("policy", pol.name, "text"),
        ("months in the portfolio", str(portfolio.months), "text"),
        ("customers", portfolio.n_customers, "count"),
        (
            "customers with data at the as-of month",
            int(np.count_nonzero(monitor.columns["has_data"])),
            "count",
        ),
        ("branches", int(group_codes(portfolio.branch_ids)[0].size), "count"),
        # the branch roll-up's exact sums, added up (Python integers: no bound)
        ("AUM", sum(assets.table.column("aum").tolist()), "money"),
        ("deposits", sum(assets.table.column("deposit_total").tolist()), "money"),
        ("investments", sum(assets.table.column("investment_total").tolist()), "money"),
        ("loans", sum(assets.table.column("loan_total").tolist()), "money"),
    ]
    sections = [
        _section_distribution(result),
        _section_trend(portfolio, plan, months, month, path, tallied),
        _section_migration(result),
        _section_churn(result),
        _section_concentration(result),
        assets,
    ]
    perf: list[ReportSection] = []
    if book is not None:
        ids = portfolio.customer_ids
        at, known, same = _book_rows(book, ids)
        n_book = book.customer_ids.size
        # who is in the book on the day (the attribution's own test)
        inside = known & book.in_book(day)[at]
        aum_now = np.asarray(monitor.columns["aum"], np.int64)
        att = attribute(book, _on_book(aum_now, at, inside, n_book, same), day)
        previous = None
        if a > 0:
            before = (month - 1).last_day
            ok = np.asarray(monitor.valid["aum_prev_month"], np.bool_)
            prev_aum = np.where(ok, np.asarray(monitor.columns["aum_prev_month"], np.int64), 0)
            # customers not in the book the day before are left out (their amounts set aside)
            previous = attribute(book, _on_book(prev_aum, at, known, n_book, same), before, absent="exclude")
        outside = ~inside
        summary += [
            (
                "customers not in the allocation book on " + day.isoformat(),
                int(np.count_nonzero(outside)),
                "count",
            ),
            ("their AUM (not attributed)", python_sum(aum_now[outside]), "money"),
        ]
        for by in ("manager", "branch"):
            perf.append(_section_performance(by, att, previous, ledger, month.first_day, day, book))
    alerts = _section_alerts(monitor, pol, book, day, None if book is None else (at, known))
    sections.append(alerts)
    summary.append(("asset-fall alerts", len(alerts.table), "count"))
    if transactions is not None:
        tx = _section_transactions(transactions, pol, portfolio, result, book)
        sections.append(tx)
        summary.append(("large-transaction alerts", len(tx.table), "count"))
    sections += perf
    k = sections[4].table
    summary += [
        ("Gini coefficient of AUM", float(getattr(k, "gini", 0.0)), "ratio"),
        ("AUM share of the top 1% of customers", _top1(k), "bp"),
    ]
    return ReportSet(as_of=month, policy=pol, summary=tuple(summary), sections=tuple(sections))


def _top1(k: Report) -> int | None:
    for pct, bp, ok in zip(
        k.column("top_pct").tolist(),
        k.column("aum_share_bp").tolist(),
        k.valid.get("aum_share_bp", np.ones(len(k), np.bool_)).tolist(),
        strict=True,
    ):
        if pct == "1":
            return int(bp) if ok else None
    return None


def write_report(
    path: str | Path,
    portfolio: Portfolio,
    as_of: Month | str | None = None,
    policy: Policy | CompiledPolicy | None = None,
    *,
    transactions: Transactions | None = None,
    book: AllocationBook | None = None,
    ledger: SalesLedger | None = None,
    months: int = 12,
    format: str | None = None,
    max_rows: int | None = 1000,
    inputs: Sequence[str | Path | None] = (),
) -> ReportSet:
    """Compute every report (:func:`report_set`) and write the report file (:meth:`ReportSet.write`).

    ``path`` ends in ``.html`` (a self-contained page; charts need the
    ``plot`` extra) or ``.xlsx`` (an Excel workbook; the ``excel`` extra).
    The file is written atomically.  Returns the :class:`ReportSet`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from custvalue.synthetic import generate
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "report.xlsx"
    >>> rs = write_report(out, generate(300, seed=3, n_branches=2), "2026-10")
    >>> out.stat().st_size > 10_000, len(rs.sections)
    (True, 7)
    """
    fmt = report_format(path, format)  # a bad name, a missing directory or an input fail before any work
    check_output(path, inputs=inputs)
    rs = report_set(
        portfolio, as_of, policy, transactions=transactions, book=book, ledger=ledger, months=months
    )
    rs.write(path, format=fmt, max_rows=max_rows, inputs=inputs)
    return rs
