"""Plots of the reports (``Report.plot``, ``plot_migration``): each rendered to PNG with Agg and checked.

Every test draws a real report of a synthetic portfolio, renders it, and
checks the picture (size, not blank) and the Axes' artists against the
report's exact numbers: one bar per tier (or per branch × tier), one line
per tier, one heatmap cell and one annotation per migration cell, the Lorenz
curve's points.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custvalue import MissingDependencyError, Portfolio, evaluate, tier_migration
from custvalue.allocation import AllocationBook
from custvalue.analytics import (
    AnalyticsError,
    asset_monitor,
    churn_report,
    concentration,
    evaluate_alerts,
    large_transactions,
    migration_report,
    performance_report,
    plot_migration,
    synthetic_transactions,
    tier_distribution,
    tier_trend,
)
from custvalue.analytics._plot import figure_png, money_unit, plot_report
from custvalue.synthetic import generate

SIZE = (6.0, 4.0)
DPI = 80


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    return generate(600, seed=5, n_branches=3)


@pytest.fixture(scope="module")
def result(portfolio: Portfolio) -> Any:
    return evaluate(portfolio, as_of="2026-10")


@pytest.fixture(autouse=True)
def _close_figures() -> Any:
    yield
    plt.close("all")


def _axes() -> Any:
    fig = plt.figure(figsize=SIZE, dpi=DPI)
    return fig.add_subplot()


def _render(ax: Any) -> np.ndarray:
    """The Axes' figure as an RGBA array (through a real PNG file in memory)."""
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png", dpi=DPI)
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    buf.seek(0)
    return np.asarray(mpimg.imread(buf, format="png"))


def _check_image(ax: Any) -> np.ndarray:
    img = _render(ax)
    assert img.shape[:2] == (int(SIZE[1] * DPI), int(SIZE[0] * DPI))
    rgb = img[..., :3]
    assert float(rgb.var()) > 1e-3  # not blank
    assert float((rgb < 0.9).mean()) > 0.01  # some ink besides the white background
    return img


def _bar_heights(ax: Any) -> list[float]:
    return [float(p.get_height()) for p in ax.patches]


def _texts(ax: Any) -> list[str]:
    return [t.get_text() for t in ax.texts]


# ------------------------------------------------------------------ distribution
def test_tier_mix_has_one_labelled_bar_per_tier_with_the_exact_counts(result: Any) -> None:
    d = tier_distribution(result)
    ax = d.plot(_axes())
    _check_image(ax)
    tiers = list(result.policy.tier_order)
    counts = {t: int(d.column("customers")[d.column("tier") == t].sum()) for t in tiers}
    assert len(ax.patches) == len(tiers)
    assert [t.get_text() for t in ax.get_xticklabels()] == tiers
    assert _bar_heights(ax) == [float(counts[t]) for t in tiers]
    assert _texts(ax) == [f"{counts[t]:,}" for t in tiers]
    assert sum(counts.values()) == 600


def test_tier_mix_of_aum_and_shares(result: Any) -> None:
    d = tier_distribution(result)
    ax = d.plot(_axes(), value="aum")
    _check_image(ax)
    total = int(d.column("aum").sum())
    fen, unit = money_unit([total])
    assert unit in ax.get_ylabel()
    assert sum(_bar_heights(ax)) == pytest.approx(total / fen)
    ax = d.plot(_axes(), share=True)
    assert sum(_bar_heights(ax)) == pytest.approx(100.0)


def test_tier_mix_by_branch_stacks_every_branch_and_tier(result: Any) -> None:
    d = tier_distribution(result)
    ax = d.plot(_axes(), kind="branch")
    _check_image(ax)
    branches = sorted(set(d.column("branch_id").tolist()))
    k = len(result.policy.tier_order)
    assert len(ax.patches) == len(branches) * k
    heights = np.asarray(_bar_heights(ax)).reshape(k, len(branches))  # one container per tier
    per_branch = [int(d.column("customers")[d.column("branch_id") == b].sum()) for b in branches]
    assert heights.sum(axis=0).tolist() == per_branch
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(result.policy.tier_order)
    ax = d.plot(_axes(), kind="branch", share=True)
    stacks = np.asarray(_bar_heights(ax)).reshape(k, len(branches)).sum(axis=0)
    assert stacks == pytest.approx([100.0] * len(branches), abs=0.05)  # shares rounded to 0.01%


# ------------------------------------------------------------------ trend
def test_tier_trend_has_one_line_per_tier_through_the_exact_counts(portfolio: Portfolio) -> None:
    t = tier_trend(portfolio, months=6)
    ax = t.plot(_axes())
    _check_image(ax)
    tiers = list(dict.fromkeys(t.column("tier").tolist()))
    assert len(ax.lines) == len(tiers)
    for line, tier in zip(ax.lines, tiers, strict=True):
        assert line.get_label() == tier
        want = t.column("customers")[t.column("tier") == tier].astype(float).tolist()
        assert np.asarray(line.get_ydata()).tolist() == want
        assert len(line.get_xdata()) == 6
    ax = t.plot(_axes(), value="share", logy=True)
    assert ax.get_yscale() == "symlog"
    shares = np.asarray([ln.get_ydata() for ln in ax.lines])
    assert np.nansum(shares, axis=0) == pytest.approx([100.0] * 6, abs=0.05)


# ------------------------------------------------------------------ migration
def test_migration_heatmap_has_a_cell_and_an_exact_count_per_pair(portfolio: Portfolio) -> None:
    m = migration_report(portfolio, None, "2026-09", "2026-10")
    ax = m.plot(_axes())
    _check_image(ax)
    k = len(m.matrix.labels)
    assert len(ax.images) == 1
    shade = np.asarray(ax.images[0].get_array())
    assert shade.shape == (k, k)
    counts = np.asarray(m.matrix.counts)
    rows = counts.sum(axis=1)
    for i in range(k):
        if rows[i]:
            assert shade[i].sum() == pytest.approx(1.0)  # row shares
        else:
            assert shade[i].sum() == 0
    assert len(ax.texts) == k * k
    assert _texts(ax) == [f"{int(v):,}" for v in counts.reshape(-1)]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(m.matrix.labels)


def test_plot_migration_takes_tierings_matrix_and_shows_aum(portfolio: Portfolio) -> None:
    mm = tier_migration(portfolio, None, "2026-09", "2026-10")
    ax = plot_migration(mm, _axes(), values="aum", normalize="all")
    _check_image(ax)
    k = len(mm.labels)
    assert len(ax.texts) == k * k
    assert float(np.asarray(ax.images[0].get_array()).sum()) == pytest.approx(1.0)
    fen, unit = money_unit(mm.aum)
    assert unit in ax.get_title()
    assert _texts(ax)[0] == f"{int(mm.aum[0, 0]) / fen:,.1f}"
    ax = plot_migration(mm, _axes(), annotate=False)
    assert len(ax.texts) == 0
    with pytest.raises(AnalyticsError, match="MigrationMatrix"):
        plot_migration(tier_distribution(evaluate(portfolio)), _axes())


# ------------------------------------------------------------------ concentration
def test_lorenz_curve_is_the_reports_curve_with_the_diagonal(result: Any) -> None:
    c = concentration(result)
    ax = c.plot(_axes())
    _check_image(ax)
    assert len(ax.lines) == 2
    lorenz, diagonal = ax.lines
    assert np.asarray(lorenz.get_xdata()).tolist() == c.lorenz_x.tolist()
    y = np.asarray(lorenz.get_ydata())
    assert y.tolist() == c.lorenz_y.tolist()
    assert y[0] == 0 and y[-1] == 1 and bool(np.all(np.diff(y) >= 0))
    assert np.asarray(diagonal.get_ydata()).tolist() == [0, 1]
    assert f"{c.gini:.3f}" in lorenz.get_label()


def test_pareto_curve_labels_each_top_share(result: Any) -> None:
    c = concentration(result, top=(1, 5, 20))
    ax = c.plot(_axes(), kind="pareto")
    _check_image(ax)
    shares = c.column("aum_share_bp").tolist()
    assert _texts(ax) == [
        f"top {p}%: {s // 100}.{s % 100:02d}%" for p, s in zip(["1", "5", "20"], shares, strict=True)
    ]
    px = np.asarray(ax.lines[0].get_xdata())
    assert px[0] == 0 and px[-1] == 1


# ------------------------------------------------------------------ churn
def _churning_portfolio() -> Portfolio:
    """Two branches; in X two platinum customers fall below the floor long enough to lapse."""
    aum = np.full((4, 14), 700_000_00, np.int64)
    aum[:2, 1:] = 10_000_00
    return Portfolio.from_arrays(
        customer_ids=["A", "B", "C", "D"], branch_ids=["X", "X", "X", "Y"], start="2025-09", deposits=aum
    )


def test_churn_bars_per_tier_and_per_branch() -> None:
    p = _churning_portfolio()
    months = [str(m) for m in p.months]
    r = None
    for m in months[1:]:
        candidate = evaluate(p, as_of=m)
        if int(np.count_nonzero(candidate.churned_tier_codes >= 0)):
            r = candidate
            break
    assert r is not None, "the fixture must churn in some month"
    c = churn_report(r)
    tiers = list(dict.fromkeys(c.column("tier").tolist()))
    ax = c.plot(_axes())
    _check_image(ax)
    assert len(ax.patches) == len(tiers)
    per_tier = [int(c.column("churned")[c.column("tier") == t].sum()) for t in tiers]
    assert _bar_heights(ax) == per_tier and sum(per_tier) == 2
    assert _texts(ax) == [f"{v:,}" for v in per_tier]
    ax = c.plot(_axes(), kind="branch", value="rate")
    _check_image(ax)
    assert len(ax.patches) == 2 * len(tiers)
    ax = c.plot(_axes(), value="aum_lost")
    assert sum(_bar_heights(ax)) > 0


# ------------------------------------------------------------------ performance and assets
def _book(portfolio: Portfolio) -> tuple[AllocationBook, dt.date]:
    day = dt.date(2026, 10, 31)
    ids, br = portfolio.customer_ids.tolist(), portfolio.branch_ids.tolist()
    managers = {f"M{b}{k}": b for b in sorted(set(br)) for k in range(2)}
    book = AllocationBook.empty(managers)
    book = book.add_customers(ids, br, effective=dt.date(2026, 1, 1), operator="ops").book
    for b in sorted(set(br)):
        mine = [c for c, x in zip(ids, br, strict=True) if x == b][:40]
        for k in range(2):
            book = book.batch_allocate(
                mine[k::2], f"M{b}{k}", {f"M{b}{k}": "100%"}, tiers="gold", effective=day, operator="ops"
            ).book
    return book, day


def test_branch_comparison_of_managers_and_branches(portfolio: Portfolio, result: Any) -> None:
    book, day = _book(portfolio)
    att = book.attribute(result.aum_fen, day, customer_ids=result.customer_ids)
    managers = performance_report(att, manager_branch=book.managers)
    ax = managers.plot(_axes())
    _check_image(ax)
    assert len(ax.patches) == len(managers) == 6
    fen, _ = money_unit(managers.column("aum"))
    assert sorted(_bar_heights(ax)) == pytest.approx(sorted(v / fen for v in managers.column("aum").tolist()))
    assert len(ax.get_legend().get_texts()) == 3  # one colour per branch
    ax = managers.plot(_axes(), top=2)
    assert len(ax.patches) == 2
    assert max(_bar_heights(ax)) == pytest.approx(
        max(managers.column("aum").tolist()) / money_unit(sorted(managers.column("aum").tolist())[-2:])[0]
    )
    branches = performance_report(att, by="branch")
    ax = branches.plot(_axes())
    _check_image(ax)
    assert len(ax.patches) == 3
    ax = branches.plot(_axes(), value="sales_credit")  # null without a ledger: no bar height
    assert all(np.isnan(h) for h in _bar_heights(ax))
    with pytest.raises(AnalyticsError, match="top"):
        managers.plot(_axes(), top=0)


def test_asset_monitor_by_branch_bars_and_alerts(portfolio: Portfolio) -> None:
    m = asset_monitor(portfolio)
    b = m.by_branch()
    ax = b.plot(_axes())
    _check_image(ax)
    assert len(ax.patches) == 3 * len(b)
    ax = b.plot(_axes(), value="aum_change_mom")
    assert len(ax.patches) == len(b)
    with pytest.raises(AnalyticsError, match="by_branch"):
        m.plot(_axes())  # per customer: no plot, the roll-up has one
    alerts = evaluate_alerts(m)
    ax = alerts.plot(_axes())
    _check_image(ax)
    assert len(ax.patches) == len(alerts.alert_ids)
    assert _texts(ax) == [f"{v:,}" for v in alerts.counts().values()]


def test_large_transaction_alerts_per_rule(portfolio: Portfolio) -> None:
    tx = synthetic_transactions(
        800, 600, seed=2, start="2026-10-01", days=28, customer_ids=portfolio.customer_ids
    )
    la = large_transactions(tx)
    ax = plot_report(la, _axes())
    _check_image(ax)
    counts = np.bincount(la.rule_codes.astype(np.intp), minlength=len(la.rule_ids)).tolist()
    assert _bar_heights(ax) == counts
    assert "skipped" in ax.get_xlabel()  # aum_outflow needs the portfolio


# ------------------------------------------------------------------ behaviour
def test_plot_without_ax_makes_a_figure_and_kwargs_reach_matplotlib(result: Any) -> None:
    d = tier_distribution(result)
    ax = d.plot(edgecolor="black", title="my title")
    assert ax.get_title() == "my title"
    assert ax.patches[0].get_edgecolor()[:3] == (0.0, 0.0, 0.0)
    _render(ax)
    given_ax = _axes()
    assert d.plot(given_ax) is given_ax
    assert d.plot(_axes(), title="").get_title() == ""


def test_bad_options_and_unknown_reports_are_errors(result: Any) -> None:
    d = tier_distribution(result)
    with pytest.raises(AnalyticsError, match="kind must be one of 'mix', 'branch'"):
        d.plot(_axes(), kind="pie")
    with pytest.raises(AnalyticsError, match="value"):
        d.plot(_axes(), value="profit")
    with pytest.raises(AnalyticsError, match="no plot"):
        plot_report(object(), _axes())


def test_empty_portfolio_plots_are_well_formed() -> None:
    p = Portfolio.from_arrays(
        customer_ids=np.array([], dtype=str),
        branch_ids=np.array([], dtype=str),
        start="2026-09",
        deposits=np.zeros((0, 2), np.int64),
    )
    r = evaluate(p, as_of="2026-10")
    ax = tier_distribution(r).plot(_axes())
    _render(ax)
    assert len(ax.patches) == 0 and ax.get_title()  # no branch, no row: an empty, titled chart
    ax = concentration(r).plot(_axes())
    assert np.asarray(ax.lines[0].get_ydata()).tolist() == [0.0, 1.0]
    ax = migration_report(r).plot(_axes())
    assert set(_texts(ax)) == {"0"}


def test_missing_matplotlib_names_the_extra(monkeypatch: pytest.MonkeyPatch, result: Any) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(MissingDependencyError, match=r"custvalue\[plot\]"):
        tier_distribution(result).plot()


def test_figure_png_renders_without_pyplot(result: Any) -> None:
    before = plt.get_fignums()
    png = figure_png(lambda ax: concentration(result).plot(ax), size=(5, 3), dpi=50)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(io.BytesIO(png), format="png")
    assert img.shape[:2] == (150, 250)
    assert plt.get_fignums() == before  # no pyplot figure left behind


@settings(max_examples=60)
@given(st.lists(st.integers(-(2**62), 2**62), max_size=5))
def test_money_unit_keeps_the_numbers_readable(values: list[int]) -> None:
    fen, label = money_unit(values)
    assert (fen, label) in {
        (100, "yuan"),
        (10**5, "thousand yuan"),
        (10**8, "million yuan"),
        (10**11, "billion yuan"),
    }
    top = max((abs(v) for v in values), default=0)
    if fen > 100:
        assert top / fen >= 10  # never 0.00x of a unit
    if fen < 10**11:
        assert top / fen < 10_000 * 10  # never more than five digits before the next unit
