"""Plots of the analytics reports (the ``plot`` extra: matplotlib, imported lazily).

:func:`plot_report` draws any report it knows on a matplotlib ``Axes`` and
returns it, pandas-style: :meth:`Report.plot <custvalue.analytics.Report.plot>`
calls it.  The kind of report is read from its shape (its columns, or the
``matrix`` / ``lorenz_x`` / ``alert_ids`` attributes of the report classes
that carry them), so this module imports no report module (no import cycle
with ``_table``).

Money is drawn in yuan, scaled to thousand / million / billion yuan by the
largest value: a plot is a picture, so amounts become floats here (and only
here, for drawing); the tables and files keep exact fen.

:func:`figure_png` renders a plot to PNG bytes on a figure of its own,
without pyplot (no global state: safe in servers and threads), for the
report files.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from .._optional import import_optional
from ..tiering import MigrationMatrix
from ._errors import AnalyticsError

__all__ = [
    "COLOURS",
    "PLOT_KINDS",
    "figure_png",
    "money_unit",
    "plot_migration",
    "plot_report",
    "report_kind",
]

#: The report shapes :func:`plot_report` draws, and what it draws for each.
PLOT_KINDS: Final[dict[str, str]] = {
    "distribution": "tier_distribution: tier mix bars (kind='mix') or bars per branch (kind='branch')",
    "trend": "tier_trend: one line per tier over the months",
    "migration": "migration_report / MigrationMatrix: heatmap of row shares, counts in the cells",
    "concentration": "concentration: Lorenz curve (kind='lorenz') or Pareto curve (kind='pareto')",
    "churn": "churn_report: bars per tier (kind='tier') or grouped bars per branch (kind='branch')",
    "manager_performance": "performance_report(by='manager'): bars per manager, coloured by branch",
    "branch_performance": "performance_report(by='branch'): bars per branch",
    "branch_assets": "AssetMonitor.by_branch: deposit / investment / loan bars per branch",
    "alerts": "evaluate_alerts: customers per alert",
    "transaction_alerts": "large_transactions: alerts per rule",
}

_DISTRIBUTION: Final = frozenset(
    {"branch_id", "tier", "customers", "aum", "customer_share_bp", "aum_share_bp"}
)
_TREND: Final = frozenset({"month", "tier", "customers", "aum", "customer_share_bp"})
_CHURN: Final = frozenset({"branch_id", "tier", "held_before", "churned", "aum_lost", "churn_rate_bp"})
_MANAGERS: Final = frozenset(
    {"manager_id", "branch_id", "aum", "aum_growth", "sales_credit", "rank_in_branch"}
)
_BRANCHES: Final = frozenset({"branch_id", "aum", "unallocated", "aum_growth", "sales_credit", "rank"})
_ASSETS: Final = frozenset(
    {"branch_id", "customers", "aum", "deposit_total", "investment_total", "loan_total"}
)

#: Colours of the tiers in policy order (matplotlib's tab10), and of "no tier".
COLOURS: Final = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
)
_NONE_COLOUR: Final = "#7f7f7f"
_FIGSIZE: Final = (8.0, 4.5)


def report_kind(report: Any) -> str:
    """Which of :data:`PLOT_KINDS` a report is; :class:`AnalyticsError` for one with no plot.

    >>> import numpy as np
    >>> from custvalue import Portfolio, evaluate
    >>> from custvalue.analytics import tier_distribution, concentration
    >>> p = Portfolio.from_arrays(customer_ids=["A"], branch_ids=["X"], start="2026-10",
    ...                           deposits=np.array([[100_00]]))
    >>> report_kind(tier_distribution(evaluate(p))), report_kind(concentration(evaluate(p)))
    ('distribution', 'concentration')
    """
    if isinstance(report, MigrationMatrix) or isinstance(getattr(report, "matrix", None), MigrationMatrix):
        return "migration"
    if hasattr(report, "lorenz_x") and hasattr(report, "lorenz_y"):
        return "concentration"
    if hasattr(report, "alert_ids") and hasattr(report, "fired"):
        return "alerts"
    if hasattr(report, "rule_ids") and hasattr(report, "rule_codes") and hasattr(report, "skipped_rules"):
        return "transaction_alerts"
    names = set(getattr(report, "column_names", ()))
    for kind, cols in (
        ("distribution", _DISTRIBUTION),
        ("trend", _TREND),
        ("churn", _CHURN),
        ("manager_performance", _MANAGERS),
        ("branch_performance", _BRANCHES),
    ):
        if names == cols:
            return kind
    if _ASSETS <= names and "customer_id" not in names:
        return "branch_assets"
    title = getattr(report, "title", type(report).__name__)
    hint = "; plot its by_branch() roll-up" if "customer_id" in names and "aum_avg_3m" in names else ""
    raise AnalyticsError(
        f"no plot for the report {title!r}{hint}; plots exist for: " + "; ".join(PLOT_KINDS.values())
    )


# ------------------------------------------------------------------ helpers
def _new_axes(ax: Any, figsize: tuple[float, float] = _FIGSIZE) -> Any:
    if ax is not None:
        return ax
    plt = import_optional("matplotlib.pyplot", extra="plot", feature="plots")
    _fig, new = plt.subplots(figsize=figsize)
    return new


def money_unit(values: Any) -> tuple[int, str]:
    """The fen per plotted unit and its label for amounts up to ``max |values|``.

    >>> money_unit([150_000_00]), money_unit([30_000_000_000_00]), money_unit([])
    ((100000, 'thousand yuan'), (100000000000, 'billion yuan'), (100, 'yuan'))
    """
    a = np.asarray(values, dtype=np.int64).reshape(-1)
    top = max(abs(int(a.max())), abs(int(a.min()))) if a.size else 0
    for fen, label in ((10**11, "billion yuan"), (10**8, "million yuan"), (10**5, "thousand yuan")):
        if top >= 10 * fen:
            return fen, label
    return 100, "yuan"


def _scaled(values: Any, fen: int) -> NDArray[np.float64]:
    """Amounts in plotted units (floats for drawing only: exact quotient, then rounded)."""
    return np.asarray([v / fen for v in np.asarray(values, np.int64).tolist()], np.float64)


def _percent(bp: Any, valid: Any | None = None) -> NDArray[np.float64]:
    out = np.asarray(bp, np.int64) / 100.0
    if valid is not None:
        out = np.where(np.asarray(valid, np.bool_), out, np.nan)
    return np.asarray(out, np.float64)


def _colour(i: int, label: str = "") -> str:
    return _NONE_COLOUR if label == "(none)" else COLOURS[i % len(COLOURS)]


def _title(ax: Any, report: Any, title: str | None, default: str | None = None) -> None:
    text = (default if default is not None else str(getattr(report, "title", ""))) if title is None else title
    if text:
        ax.set_title(text)


def _totals(keys: Sequence[str], values: Any, order: Sequence[str]) -> list[int]:
    """Exact sums of ``values`` per key, in ``order`` (Python integers: no int64 bound)."""
    out = dict.fromkeys(order, 0)
    for k, v in zip(keys, np.asarray(values, np.int64).tolist(), strict=True):
        out[k] += v
    return [out[k] for k in order]


def _distinct(values: Any) -> list[str]:
    """Distinct values in first-seen order."""
    return list(dict.fromkeys(np.asarray(values).tolist()))


def _check(value: str, allowed: Sequence[str], what: str) -> str:
    if value not in allowed:
        raise AnalyticsError(f"{what} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def _value_axis(ax: Any, value: str, unit: str) -> None:
    if value in ("customers", "churned", "count"):
        ax.set_ylabel("customers")
    elif value in ("share", "rate"):
        ax.set_ylabel("%")
    else:
        ax.set_ylabel(f"{value.replace('_', ' ')} ({unit})")


def _headroom(ax: Any, heights: Any, *, legend: bool = False) -> None:
    """Bars from 0 when no value is negative, with room above for labels and the legend."""
    h = np.asarray(heights, np.float64)
    h = h[np.isfinite(h)]
    if h.size and float(h.min()) < 0:
        return
    top = float(h.max()) if h.size else 0.0
    ax.set_ylim(0, top * (1.25 if legend else 1.12) if top > 0 else 1.0)


def _grouped_bars(
    ax: Any,
    groups: list[str],
    series: list[str],
    heights: NDArray[np.float64],
    *,
    stacked: bool,
    colours: list[str],
    kwargs: dict[str, Any],
) -> None:
    """``heights[s, g]``: one bar per (series, group), stacked or side by side."""
    x = np.arange(len(groups), dtype=np.float64)
    n = max(len(series), 1)
    width = 0.8 if stacked else 0.8 / n
    bottom = np.zeros(len(groups))
    for s, label in enumerate(series):
        h = heights[s]
        if stacked:
            ax.bar(x, h, width, bottom=bottom, label=label, color=colours[s], **kwargs)
            bottom = bottom + np.nan_to_num(h)
        else:
            ax.bar(x - 0.4 + width * (s + 0.5), h, width, label=label, color=colours[s], **kwargs)
    many = len(groups) > 8
    ax.set_xticks(x, groups, rotation=45 if many else 0, ha="right" if many else "center")
    _headroom(ax, bottom if stacked else heights, legend=bool(series))
    if series:
        ax.legend(fontsize="small", ncols=min(len(series), 5), loc="upper right")


# ------------------------------------------------------------------ per kind
def _distribution(
    report: Any,
    ax: Any,
    *,
    kind: str = "mix",
    value: str = "customers",
    share: bool = False,
    title: str | None = None,
    **kwargs: Any,
) -> Any:
    _check(kind, ("mix", "branch"), "kind")
    _check(value, ("customers", "aum"), "value")
    tiers = _distinct(report.column("tier"))
    branch = report.column("branch_id").tolist()
    tier = report.column("tier").tolist()
    vals = report.column(value)
    if kind == "mix":
        totals = _totals(tier, vals, tiers)
        whole = sum(totals)
        if share:
            heights = np.asarray([t * 100 / whole if whole else 0.0 for t in totals])
            unit = "%"
        elif value == "aum":
            fen, unit = money_unit(totals)
            heights = np.asarray([t / fen for t in totals])
        else:
            heights, unit = np.asarray(totals, np.float64), ""
        bars = ax.bar(tiers, heights, color=[_colour(i) for i in range(len(tiers))], **kwargs)
        labels = [
            f"{h:,.1f}%" if share else (f"{int(t):,}" if value == "customers" else f"{h:,.1f}")
            for h, t in zip(heights.tolist(), totals, strict=True)
        ]
        ax.bar_label(bars, labels=labels, fontsize="small", padding=2)
        _headroom(ax, heights)
        ax.set_xlabel("tier")
        _value_axis(ax, "share" if share else value, unit)
        _title(ax, report, title, f"{report.title}: tier mix ({value}{' share' if share else ''})")
        return ax
    branches = _distinct(report.column("branch_id"))
    k = len(tiers)
    cells = np.asarray(vals, np.int64).reshape(len(branches), k) if branches else np.zeros((0, k), np.int64)
    if share:
        col = "customer_share_bp" if value == "customers" else "aum_share_bp"
        heights = _percent(report.column(col), report.valid.get(col)).reshape(len(branches), k).T
        unit = "%"
    elif value == "aum":
        fen, unit = money_unit(cells)
        heights = (_scaled(cells.reshape(-1), fen).reshape(cells.shape)).T
    else:
        heights, unit = cells.T.astype(np.float64), ""
    del branch, tier
    _grouped_bars(
        ax, branches, tiers, heights, stacked=True, colours=[_colour(i) for i in range(k)], kwargs=kwargs
    )
    ax.set_xlabel("branch")
    _value_axis(ax, "share" if share else value, unit)
    _title(ax, report, title, f"{report.title}: {value}{' share' if share else ''} by branch")
    return ax


def _trend(
    report: Any,
    ax: Any,
    *,
    value: str = "customers",
    logy: bool = False,
    title: str | None = None,
    **kwargs: Any,
) -> Any:
    _check(value, ("customers", "aum", "share"), "value")
    months = _distinct(report.column("month"))
    tiers = _distinct(report.column("tier"))
    shape = (len(months), len(tiers))
    if value == "share":
        y = _percent(report.column("customer_share_bp"), report.valid.get("customer_share_bp")).reshape(shape)
        unit = "%"
    elif value == "aum":
        fen, unit = money_unit(report.column("aum"))
        y = _scaled(report.column("aum"), fen).reshape(shape)
    else:
        y, unit = np.asarray(report.column("customers"), np.float64).reshape(shape), ""
    x = np.arange(len(months))
    for j, t in enumerate(tiers):
        ax.plot(x, y[:, j], marker="o", markersize=3, label=t, color=_colour(j), **kwargs)
    step = max(1, len(months) // 12)
    tilt = len(months) > 6
    ax.set_xticks(
        x[::step],
        months[::step],
        rotation=45 if tilt else 0,
        ha="right" if tilt else "center",
        rotation_mode="anchor",
    )
    ax.set_xlabel("month")
    _value_axis(ax, value, unit)
    if tiers:
        ax.legend(fontsize="small", ncols=min(len(tiers), 5), loc="best")
    if logy:
        ax.set_yscale("symlog", linthresh=10 if value == "customers" else 1)
    finite = y[np.isfinite(y)]
    if not finite.size or float(finite.min()) >= 0:
        top = float(finite.max()) if finite.size else 0.0
        ax.set_ylim(0, top * (6 if logy else 1.2) if top > 0 else 1.0)  # room for the legend
    _title(ax, report, title)
    return ax


def plot_migration(
    source: Any,
    ax: Any = None,
    *,
    values: str = "counts",
    normalize: str = "row",
    annotate: bool = True,
    cmap: str = "Blues",
    title: str | None = None,
    **kwargs: Any,
) -> Any:
    """A tier-migration heatmap: from-tier rows, to-tier columns, the counts written in the cells.

    Parameters
    ----------
    source
        A :class:`~custvalue.MigrationMatrix` (from :func:`custvalue.tier_migration`
        or :func:`custvalue.migration_matrix`) or a
        :class:`~custvalue.analytics.MigrationReport`.
    ax
        The matplotlib ``Axes`` to draw on; a new figure when ``None``.
    values
        ``"counts"`` (customers) or ``"aum"`` (their AUM at the later month,
        in scaled yuan) written in the cells.
    normalize
        The colour of a cell: ``"row"``, its share of the from-tier's row
        (where the tier's customers went); ``"all"``, its share of everyone.
    annotate
        Write the values in the cells (one text per cell).
    kwargs
        Passed to :meth:`matplotlib.axes.Axes.imshow`.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from custvalue import Portfolio, tier_migration
    >>> p = Portfolio.from_arrays(customer_ids=["A"], branch_ids=["X"], start="2026-09",
    ...                           deposits=np.array([[100_00, 300_000_00]]))
    >>> ax = plot_migration(tier_migration(p, None, "2026-09", "2026-10"))
    >>> len(ax.texts), ax.images[0].get_array().shape
    (36, (6, 6))
    """
    _check(values, ("counts", "aum"), "values")
    _check(normalize, ("row", "all"), "normalize")
    mm = source if isinstance(source, MigrationMatrix) else getattr(source, "matrix", None)
    if not isinstance(mm, MigrationMatrix):
        raise AnalyticsError(
            f"plot_migration needs a MigrationMatrix or MigrationReport, got {type(source).__name__}"
        )
    ax = _new_axes(ax, (6.5, 5.5))
    counts = np.asarray(mm.counts, np.int64)
    k = len(mm.labels)
    if normalize == "row":
        rows = counts.sum(axis=1, keepdims=True)
        shade = np.divide(counts, rows, out=np.zeros(counts.shape), where=rows > 0)
    else:
        whole = int(counts.sum())
        shade = counts / whole if whole else np.zeros(counts.shape)
    kwargs.setdefault("vmin", 0.0)
    kwargs.setdefault("vmax", 1.0)
    ax.imshow(shade, cmap=cmap, aspect="auto", **kwargs)
    ax.set_xticks(np.arange(k), mm.labels, rotation=30, ha="right")
    ax.set_yticks(np.arange(k), mm.labels)
    ax.set_xlabel(f"tier at {mm.to_label}")
    ax.set_ylabel(f"tier at {mm.from_label}")
    if annotate:
        if values == "aum":
            fen, unit = money_unit(mm.aum)
            shown = _scaled(np.asarray(mm.aum).reshape(-1), fen).reshape(k, k)
            text = [[f"{v:,.1f}" for v in row] for row in shown.tolist()]
        else:
            unit = "customers"
            text = [[f"{v:,}" for v in row] for row in counts.tolist()]
        for i in range(k):
            for j in range(k):
                dark = shade[i, j] > 0.55 * float(kwargs["vmax"])
                ax.text(
                    j,
                    i,
                    text[i][j],
                    ha="center",
                    va="center",
                    fontsize="small",
                    color="white" if dark else "black",
                )
        shade_what = "row share" if normalize == "row" else "share of all"
        default = f"tier migration {mm.from_label} → {mm.to_label} ({unit}; colour: {shade_what})"
    else:
        default = f"tier migration {mm.from_label} → {mm.to_label}"
    _title(ax, source, title, default)
    return ax


def _concentration(
    report: Any, ax: Any, *, kind: str = "lorenz", title: str | None = None, **kwargs: Any
) -> Any:
    _check(kind, ("lorenz", "pareto"), "kind")
    percent = import_optional("matplotlib.ticker", extra="plot", feature="plots").PercentFormatter(1.0)
    lx = np.asarray(report.lorenz_x, np.float64)
    ly = np.asarray(report.lorenz_y, np.float64)
    gini = f"Gini {float(report.gini):.3f}"
    if kind == "lorenz":
        ax.plot(lx, ly, label=f"Lorenz curve ({gini})", **kwargs)
        ax.plot([0, 1], [0, 1], linestyle="--", color=_NONE_COLOUR, label="equal AUM")
        ax.set_xlabel("customers, least AUM first")
        ax.set_ylabel("share of AUM")
    else:
        px, py = 1 - lx[::-1], 1 - ly[::-1]
        ax.plot(px, py, label=f"Pareto curve ({gini})", **kwargs)
        ax.plot([0, 1], [0, 1], linestyle="--", color=_NONE_COLOUR, label="equal AUM")
        ok = report.valid.get("aum_share_bp", np.ones(len(report), np.bool_))
        n = max(int(report.n_customers), 1)
        xs, ys, labels = [], [], []
        for pct, k, bp, good in zip(
            report.column("top_pct").tolist(),
            report.column("customers").tolist(),
            report.column("aum_share_bp").tolist(),
            np.asarray(ok).tolist(),
            strict=True,
        ):
            if good:
                xs.append(k / n)
                ys.append(bp / 10_000)
                labels.append(f"top {pct}%: {bp // 100}.{bp % 100:02d}%")
        ax.scatter(xs, ys, color="black", zorder=3, s=14)
        for x, y, label in zip(xs, ys, labels, strict=True):
            ax.annotate(label, (x, y), textcoords="offset points", xytext=(6, -12), fontsize="small")
        ax.set_xlabel("customers, most AUM first")
        ax.set_ylabel("share of AUM")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.xaxis.set_major_formatter(percent)
    ax.yaxis.set_major_formatter(percent)
    ax.legend(loc="lower right" if kind == "lorenz" else "center right", fontsize="small")
    _title(ax, report, title)
    return ax


def _churn(
    report: Any,
    ax: Any,
    *,
    kind: str = "tier",
    value: str = "churned",
    title: str | None = None,
    **kwargs: Any,
) -> Any:
    _check(kind, ("tier", "branch"), "kind")
    _check(value, ("churned", "aum_lost", "rate"), "value")
    tiers = _distinct(report.column("tier"))
    tier = report.column("tier").tolist()
    if kind == "tier":
        churned = _totals(tier, report.column("churned"), tiers)
        if value == "rate":
            held = _totals(tier, report.column("held_before"), tiers)
            heights = np.asarray([c * 100 / h if h else np.nan for c, h in zip(churned, held, strict=True)])
            unit, labels = "%", [f"{h:.2f}%" if h == h else "—" for h in heights.tolist()]
        elif value == "aum_lost":
            lost = _totals(tier, report.column("aum_lost"), tiers)
            fen, unit = money_unit(lost)
            heights = np.asarray([v / fen for v in lost])
            labels = [f"{h:,.1f}" for h in heights.tolist()]
        else:
            heights, unit, labels = np.asarray(churned, np.float64), "", [f"{c:,}" for c in churned]
        bars = ax.bar(tiers, heights, color=[_colour(i) for i in range(len(tiers))], **kwargs)
        ax.bar_label(bars, labels=labels, fontsize="small", padding=2)
        _headroom(ax, heights)
        ax.set_xlabel("tier")
    else:
        branches = _distinct(report.column("branch_id"))
        shape = (len(branches), len(tiers))
        if value == "rate":
            heights = (
                _percent(report.column("churn_rate_bp"), report.valid.get("churn_rate_bp")).reshape(shape).T
            )
            unit = "%"
        elif value == "aum_lost":
            fen, unit = money_unit(report.column("aum_lost"))
            heights = _scaled(report.column("aum_lost"), fen).reshape(shape).T
        else:
            heights = np.asarray(report.column("churned"), np.float64).reshape(shape).T
            unit = ""
        _grouped_bars(
            ax,
            branches,
            tiers,
            heights,
            stacked=False,
            colours=[_colour(i) for i in range(len(tiers))],
            kwargs=kwargs,
        )
        ax.set_xlabel("branch")
    _value_axis(ax, value, unit)
    _title(ax, report, title)
    return ax


def _performance(
    report: Any,
    ax: Any,
    *,
    value: str = "aum",
    top: int | None = None,
    title: str | None = None,
    **kwargs: Any,
) -> Any:
    _check(value, ("aum", "aum_growth", "sales_credit"), "value")
    by_manager = "manager_id" in report.column_names
    ids = report.column("manager_id" if by_manager else "branch_id").tolist()
    vals = np.asarray(report.column(value), np.int64)
    ok = np.asarray(report.valid.get(value, np.ones(len(ids), np.bool_)), np.bool_)
    branch = report.column("branch_id").tolist()
    order = list(range(len(ids)))
    if top is not None:
        if isinstance(top, bool) or not isinstance(top, int) or top < 1:
            raise AnalyticsError(f"top must be a whole number >= 1, got {top!r}")
        order = sorted(order, key=lambda i: (-int(vals[i]) if ok[i] else 1 << 70, ids[i]))[:top]
    if by_manager:
        order = sorted(order, key=lambda i: (branch[i], -int(vals[i]), ids[i]))
    fen, unit = money_unit(vals[order] if order else vals[:0])
    heights = np.asarray([vals[i] / fen if ok[i] else np.nan for i in order], np.float64)
    branches = _distinct([branch[i] for i in order])
    colours = [_colour(branches.index(branch[i])) if by_manager else _colour(0) for i in order]
    ax.bar(np.arange(len(order)), heights, color=colours, **kwargs)
    many = len(order) > 8
    ax.set_xticks(
        np.arange(len(order)),
        [ids[i] for i in order],
        rotation=90 if many else 0,
        fontsize="small" if many else None,
    )
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xlabel("account manager (coloured by branch)" if by_manager else "branch")
    _value_axis(ax, value, unit)
    if by_manager and branches:
        patches = import_optional("matplotlib.patches", extra="plot", feature="plots")
        handles = [patches.Patch(color=_colour(i), label=b) for i, b in enumerate(branches)]
        ax.legend(handles=handles, fontsize="small", ncols=min(len(branches), 5))
    _title(ax, report, title)
    return ax


_ASSET_SERIES: Final = ("deposit_total", "investment_total", "loan_total")


def _branch_assets(
    report: Any, ax: Any, *, value: str = "assets", title: str | None = None, **kwargs: Any
) -> Any:
    _check(value, ("assets", "aum", "aum_change_mom", "aum_change_yoy"), "value")
    branches = [str(b) for b in report.column("branch_id").tolist()]
    series = list(_ASSET_SERIES) if value == "assets" else [value]
    cells = (
        np.stack([np.asarray(report.column(s), np.int64) for s in series])
        if branches
        else np.zeros((len(series), 0), np.int64)
    )
    fen, unit = money_unit(cells)
    heights = _scaled(cells.reshape(-1), fen).reshape(cells.shape)
    labels = [s.replace("_total", "").replace("_", " ") for s in series]
    _grouped_bars(
        ax,
        branches,
        labels,
        heights,
        stacked=False,
        colours=[_colour(i) for i in range(len(series))],
        kwargs=kwargs,
    )
    if value != "assets":
        ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xlabel("branch")
    ax.set_ylabel(f"{'assets' if value == 'assets' else value.replace('_', ' ')} ({unit})")
    _title(ax, report, title)
    return ax


def _alerts(report: Any, ax: Any, *, title: str | None = None, **kwargs: Any) -> Any:
    counts = report.counts()
    names = list(counts)
    bars = ax.bar(names, [counts[n] for n in names], color=[_colour(i) for i in range(len(names))], **kwargs)
    ax.bar_label(bars, labels=[f"{counts[n]:,}" for n in names], fontsize="small", padding=2)
    _headroom(ax, [counts[n] for n in names])
    ax.set_xlabel("alert")
    ax.set_ylabel("customers")
    _title(ax, report, title)
    return ax


def _transaction_alerts(report: Any, ax: Any, *, title: str | None = None, **kwargs: Any) -> Any:
    names = list(report.rule_ids)
    counts = np.bincount(np.asarray(report.rule_codes, np.intp), minlength=len(names)).tolist()
    bars = ax.bar(names, counts, color=[_colour(i) for i in range(len(names))], **kwargs)
    ax.bar_label(bars, labels=[f"{c:,}" for c in counts], fontsize="small", padding=2)
    _headroom(ax, counts)
    ax.set_xlabel("rule" + (f" (skipped: {', '.join(report.skipped_rules)})" if report.skipped_rules else ""))
    ax.set_ylabel("alerts")
    _title(ax, report, title, "large-transaction alerts")
    return ax


_DRAW: Final[dict[str, Callable[..., Any]]] = {
    "distribution": _distribution,
    "trend": _trend,
    "concentration": _concentration,
    "churn": _churn,
    "manager_performance": _performance,
    "branch_performance": _performance,
    "branch_assets": _branch_assets,
    "alerts": _alerts,
    "transaction_alerts": _transaction_alerts,
}


def plot_report(report: Any, ax: Any = None, **kwargs: Any) -> Any:
    """Draw a report (see :data:`PLOT_KINDS`) on ``ax`` or a new figure; returns the ``Axes``."""
    kind = report_kind(report)
    if kind == "migration":
        return plot_migration(report, ax, **kwargs)
    figsize = (10.0, 4.5) if kind == "manager_performance" else _FIGSIZE
    return _DRAW[kind](report, _new_axes(ax, figsize), **kwargs)


def figure_png(
    draw: Callable[[Any], Any],
    *,
    size: tuple[float, float] = _FIGSIZE,
    dpi: int = 100,
) -> bytes:
    """PNG bytes of ``draw(ax)`` on a figure of its own (no pyplot, no global state)."""
    figure = import_optional("matplotlib.figure", extra="plot", feature="report charts")
    agg = import_optional("matplotlib.backends.backend_agg", extra="plot", feature="report charts")
    fig = figure.Figure(figsize=size, dpi=dpi, layout="constrained")
    agg.FigureCanvasAgg(fig)
    draw(fig.add_subplot())
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()
