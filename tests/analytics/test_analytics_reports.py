"""Reports: hand-computed small cases, properties (conservation, Gini, Lorenz), files, empties, errors."""

from __future__ import annotations

import csv
import datetime as dt
from fractions import Fraction
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from custvalue import Portfolio, evaluate, tier_migration
from custvalue.allocation import AllocationBook, SalesLedger
from custvalue.analytics import (
    AnalyticsError,
    ConcentrationReport,
    Report,
    asset_monitor,
    churn_report,
    concentration,
    migration_report,
    performance_report,
    tier_distribution,
    tier_trend,
)
from custvalue.synthetic import generate


def _small() -> Portfolio:
    dep = np.array([[600_000_00], [100_00], [300_000_00], [12_000_000_00], [300_00]])
    return Portfolio.from_arrays(
        customer_ids=list("ABCDE"), branch_ids=["X", "X", "X", "Y", "Y"], start="2026-10", deposits=dep
    )


# ------------------------------------------------------------------ distribution
def test_distribution_hand_computed() -> None:
    d = tier_distribution(evaluate(_small()), branches=["Z"])
    rows = {(r["branch_id"], r["tier"]): r for r in d.records()}
    assert len(d) == 3 * 5
    assert rows[("X", "platinum")]["customers"] == 1 and rows[("X", "gold")]["aum"] == 300_000_00
    # X: AUM 900,100 yuan; platinum 600,000 -> 66.6592..% -> 6666 bp; count 1 of 3 -> 3333 bp
    assert (
        rows[("X", "platinum")]["aum_share_bp"] == 6666
        and rows[("X", "platinum")]["customer_share_bp"] == 3333
    )
    assert rows[("Y", "core")]["customers"] == 1
    assert rows[("Z", "core")]["customers"] == 0 and rows[("Z", "core")]["customer_share_bp"] is None


@settings(max_examples=25)
@given(st.integers(0, 60), st.integers(0, 999))
def test_distribution_conserves_totals(n: int, seed: int) -> None:
    p = generate(n, seed=seed, n_branches=3) if n else _small().select(np.zeros(0, np.intp))
    r = evaluate(p)
    d = tier_distribution(r)
    assert int(d.column("customers").sum()) == int((r.tier_codes >= 0).sum())
    assert int(d.column("aum").sum()) == int(asset_monitor(p, r.as_of).column("aum").sum())


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 80), st.integers(0, 5_000), st.integers(0, 12))
def test_distribution_counts_each_customer_once(n: int, seed: int, back: int) -> None:
    """Customers and AUM per branch and tier (a branch named with no customers included) equal a
    count one customer at a time."""
    p = generate(n, seed=seed, n_branches=3)
    r = evaluate(p, as_of=p.months.stop - back)
    d = tier_distribution(r, branches=["ZZ"])
    aum = np.asarray(p.aum(r.policy.aum))[:, p.months.index(r.as_of)]
    has = p.history_start <= p.months.index(r.as_of)
    tiers = list(r.policy.tier_order)
    assert sorted({x["branch_id"] for x in d.records()}) == sorted({*p.branch_ids.tolist(), "ZZ"})
    for row in d.records():
        t = tiers.index(row["tier"])
        mine = [i for i in range(n) if str(p.branch_ids[i]) == row["branch_id"] and has[i]]
        hit = [i for i in mine if int(r.tier_codes[i]) == t]
        assert row["customers"] == len(hit)
        assert row["aum"] == sum(int(aum[i]) for i in hit)
        assert row["customer_share_bp"] == (round(Fraction(10_000 * len(hit), len(mine))) if mine else None)


# ------------------------------------------------------------------ trend, migration
def test_trend_hand_computed_and_short_history() -> None:
    p = Portfolio.from_arrays(
        customer_ids=["A", "B"],
        branch_ids=["X", "X"],
        start="2026-08",
        deposits=np.array([[100_00, 300_000_00, 600_000_00], [5, 5, 5]]),
    )
    t = tier_trend(p, months=12)  # only 3 months exist
    got = [(r["month"], r["tier"], r["customers"], r["aum"]) for r in t.records() if r["customers"]]
    assert got == [
        ("2026-08", "potential", 2, 100_05),
        ("2026-09", "gold", 1, 300_000_00),
        ("2026-09", "potential", 1, 5),
        ("2026-10", "platinum", 1, 600_000_00),
        ("2026-10", "potential", 1, 5),
    ]
    assert len(tier_trend(p, months=2, as_of="2026-09")) == 2 * 5
    with pytest.raises(AnalyticsError, match="months must be a whole number"):
        tier_trend(p, months=0)


def test_migration_report_wraps_the_matrix() -> None:
    p = generate(200, seed=4)
    r = migration_report(p, None, "2026-09", "2026-10")
    m = tier_migration(p, None, "2026-09", "2026-10")
    assert (r.matrix.counts == m.counts).all()
    assert int(r.column("customers").sum()) == 200 and int(r.column("aum").sum()) == int(m.aum.sum())
    with pytest.raises(AnalyticsError, match="from month 2020-01 is outside"):
        migration_report(p, None, "2020-01", "2026-10")


# ------------------------------------------------------------------ churn
def test_churn_hand_computed() -> None:
    aum = np.full((3, 14), 100_000_00)
    aum[0, 0] = 600_000_00  # platinum from the window; lapses at 2026-04 (7th month below)
    aum[1, :] = 600_000_00  # stays platinum
    p = Portfolio.from_arrays(
        customer_ids=["A", "B", "C"], branch_ids=["X", "X", "Y"], start="2025-09", deposits=aum
    )
    c = churn_report(evaluate(p, as_of="2026-04"))
    rows = {(r["branch_id"], r["tier"]): r for r in c.records()}
    assert rows[("X", "platinum")] == {
        "branch_id": "X",
        "tier": "platinum",
        "held_before": 2,
        "churned": 1,
        "aum_lost": 100_000_00,
        "churn_rate_bp": 5000,
    }
    assert rows[("Y", "platinum")]["churn_rate_bp"] is None
    assert {t for _, t in rows} == {"core", "growth", "platinum", "gold"}


# ------------------------------------------------------------------ performance
def _book() -> tuple[AllocationBook, dt.date]:
    day = dt.date(2026, 10, 31)
    book = AllocationBook.empty({"m1": "B1", "m2": "B1", "m3": "B2"})
    book = book.add_customers(
        ["c1", "c2", "c3", "c4"], ["B1", "B1", "B2", "B2"], effective=day, operator="o"
    ).book
    book = book.allocate(
        "c1", "m1", {"m1": "60%", "m2": "40%"}, tier="gold", effective=day, operator="o"
    ).book
    book = book.allocate("c2", "m2", tier="gold", effective=day, operator="o").book
    book = book.allocate("c3", "m3", tier="gold", effective=day, operator="o").book
    return book, day


def test_performance_hand_computed() -> None:
    book, day = _book()
    now = book.attribute([1000_00, 300_00, 200_00, 50_00], day)
    before = book.attribute([900_00, 300_00, 250_00, 0], day)
    ledger = SalesLedger.create({"m1": "B1", "m2": "B1", "m3": "B2"})
    ledger = ledger.register("s1", customer_id="c1", product="fund", amount=100_00, date=day, seller="m1")
    r = performance_report(now, previous=before, ledger=ledger)
    rows = {x["manager_id"]: x for x in r.records()}
    assert rows["m1"] == {
        "manager_id": "m1",
        "branch_id": "B1",
        "aum": 600_00,
        "aum_growth": 60_00,
        "sales_credit": 100_00,
        "rank_in_branch": 2,
    }
    assert rows["m2"]["aum"] == 700_00 and rows["m2"]["rank_in_branch"] == 1
    assert rows["m3"]["rank_in_branch"] == 1 and rows["m3"]["aum_growth"] == -50_00
    b = {x["branch_id"]: x for x in performance_report(now, ledger=ledger, by="branch").records()}
    assert b["B2"]["aum"] == 250_00 and b["B2"]["unallocated"] == 50_00 and b["B1"]["rank"] == 1
    assert b["B1"]["aum_growth"] is None and b["B1"]["sales_credit"] == 100_00
    assert int(r.column("aum").sum()) + int(now.branch_unallocated.sum()) == now.total


def test_performance_bad_inputs() -> None:
    book, day = _book()
    with pytest.raises(AnalyticsError, match="needs an Attribution"):
        performance_report({"m1": 1})  # type: ignore[arg-type]
    with pytest.raises(AnalyticsError, match="by must be"):
        performance_report(book.attribute([0, 0, 0, 0], day), by="region")


# ------------------------------------------------------------------ concentration
def test_concentration_hand_computed() -> None:
    c = concentration(evaluate(_small()), top=(20, 40, 100))
    # AUM sorted: 100, 300, 300000, 600000, 12000000 yuan; total 12,900,400
    assert c.column("customers").tolist() == [1, 2, 5]
    assert c.column("aum").tolist() == [12_000_000_00, 12_600_000_00, 12_900_400_00]
    assert c.column("aum_share_bp").tolist() == [9302, 9767, 10000]
    x = [100, 300, 300_000, 600_000, 12_000_000]
    n, t = 5, sum(x)
    want = Fraction(sum(abs(a - b) for a in x for b in x), 2 * n * n * Fraction(t, n))
    assert c.gini_exact == want and isinstance(c, ConcentrationReport)


@settings(max_examples=50)
@given(st.lists(st.integers(0, 10**12), min_size=0, max_size=60), st.integers(1, 30))
def test_gini_and_lorenz_properties(values: list[int], points: int) -> None:
    n = len(values)
    if n:
        p = Portfolio.from_arrays(
            customer_ids=[f"c{i}" for i in range(n)],
            branch_ids=["X"] * n,
            start="2026-10",
            deposits=np.array(values, np.int64).reshape(n, 1),
        )
    else:
        p = _small().select(np.zeros(0, np.intp))
    c = concentration(asset_monitor(p), points=points)
    assert 0 <= c.gini_exact <= 1
    if n and sum(values):
        mean = Fraction(sum(values), n)
        assert c.gini_exact == Fraction(sum(abs(a - b) for a in values for b in values), 2 * n * n * mean)
    assert c.lorenz_x[0] == 0 and c.lorenz_y[0] == 0 and c.lorenz_x[-1] == 1 and c.lorenz_y[-1] == 1
    assert (np.diff(c.lorenz_x) > 0).all() and (np.diff(c.lorenz_y) >= 0).all()
    assert (c.lorenz_y <= c.lorenz_x + 1e-12).all()


@given(st.integers(1, 50), st.integers(0, 10**12))
def test_gini_is_zero_for_equal_aum(n: int, v: int) -> None:
    p = Portfolio.from_arrays(
        customer_ids=[f"c{i}" for i in range(n)],
        branch_ids=["X"] * n,
        start="2026-10",
        deposits=np.full((n, 1), v),
    )
    assert concentration(asset_monitor(p)).gini_exact == 0


def test_concentration_bad_inputs() -> None:
    m = asset_monitor(_small())
    with pytest.raises(AnalyticsError, match=r"top percentages must be numbers in \(0, 100\]"):
        concentration(m, top=(0,))
    with pytest.raises(AnalyticsError, match="points must be"):
        concentration(m, points=0)
    with pytest.raises(AnalyticsError, match="needs a TierResult or AssetMonitor"):
        concentration(_small())  # type: ignore[arg-type]


# ------------------------------------------------------------------ the common shape
def _all_reports() -> list[Report]:
    p = generate(300, seed=2, n_branches=3)
    r = evaluate(p)
    book, day = _book()
    return [
        asset_monitor(p),
        asset_monitor(p).by_branch(),
        tier_distribution(r),
        tier_trend(p, months=3),
        migration_report(p, None, "2026-09", "2026-10"),
        churn_report(r),
        performance_report(book.attribute([1, 2, 3, 4], day)),
        concentration(r),
    ]


def test_every_report_converts_and_writes(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pq = pytest.importorskip("pyarrow.parquet")
    for k, rep in enumerate(_all_reports()):
        df = rep.to_pandas()
        assert (
            isinstance(df, pd.DataFrame)
            and list(df.columns) == list(rep.column_names)
            and len(df) == len(rep)
        )
        for name, valid in rep.valid.items():
            assert int(df[name].isna().sum()) == int((~valid).sum())
        table = rep.to_arrow()
        assert table.num_rows == len(rep) and table.column_names == list(rep.column_names)
        assert rep.title in rep.text() and "<table>" in rep._repr_html_() and repr(rep).startswith("<")
        rep.write(tmp_path / f"r{k}.csv")
        with (tmp_path / f"r{k}.csv").open(encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        assert rows[0] == list(rep.column_names) and len(rows) == len(rep) + 1
        rep.write(tmp_path / f"r{k}.parquet")
        assert pq.read_table(tmp_path / f"r{k}.parquet").num_rows == len(rep)
        for col in rep.columns.values():
            assert not col.flags.writeable


def test_empty_portfolio_gives_empty_well_formed_reports() -> None:
    p = _small().select(np.zeros(0, np.intp))
    r = evaluate(p)
    for rep in (tier_distribution(r), churn_report(r), asset_monitor(p).by_branch()):
        assert len(rep) == 0 and rep.column_names and rep.to_pandas().shape == (0, len(rep.column_names))
    c = concentration(r)
    assert (
        c.gini == 0 and c.lorenz_x.tolist() == [0.0, 1.0] and c.column("customers").tolist() == [0, 0, 0, 0]
    )
    assert len(tier_trend(p, months=2)) == 1 * 5  # the portfolio has one month
    d = tier_distribution(r, branches=["B9"])
    assert len(d) == 5 and d.column("customers").sum() == 0


def test_write_refuses_an_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown file format"):
        concentration(evaluate(_small())).write(tmp_path / "x.xlsx")


def test_report_checks_its_columns() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        Report(title="t", columns={"a": np.zeros(1), "b": np.zeros(2)})
    with pytest.raises(KeyError, match="is not a column"):
        concentration(evaluate(_small())).column("nope")


def test_text_shows_the_first_rows_only() -> None:
    from custvalue import compile_policy, default_policy

    m = asset_monitor(generate(500, seed=3), policy=compile_policy(default_policy()))
    text = m.text(max_rows=5)
    assert text.splitlines()[-1] == "... 495 more rows" and len(text.splitlines()) == 2 + 5 + 1
    assert len(m.records(3)) == 3 and m._repr_html_().count("<tr>") == 201


# ------------------------------------------------------------------ shared work between reports
@settings(max_examples=20, deadline=None)
@given(st.integers(1, 80), st.integers(0, 999), st.integers(1, 13))
def test_migration_from_a_result_equals_evaluating_both_months(n: int, seed: int, back: int) -> None:
    p = generate(n, seed=seed, n_branches=2)
    as_of = p.months.stop - (back - 1)
    from_result = migration_report(evaluate(p, as_of=as_of))
    from_portfolio = migration_report(p, None, as_of - 1, as_of)
    assert from_result.matrix.counts.tolist() == from_portfolio.matrix.counts.tolist()
    assert from_result.matrix.aum.tolist() == from_portfolio.matrix.aum.tolist()
    assert from_result.records() == from_portfolio.records()


def test_migration_from_a_result_refuses_other_months_and_a_policy() -> None:
    p = generate(20, seed=3)
    r = evaluate(p)
    with pytest.raises(AnalyticsError, match="another month"):
        migration_report(r, None, "2026-01", r.as_of)
    with pytest.raises(AnalyticsError, match="omit policy"):
        migration_report(r, r.policy)
    with pytest.raises(AnalyticsError, match="needs from_month and to_month"):
        migration_report(p)


def test_trend_from_a_shared_path_equals_computing_it() -> None:
    from custvalue import evaluate_path

    p = generate(300, seed=5)
    path = evaluate_path(p)
    assert tier_trend(p, months=6, path=path).records() == tier_trend(p, months=6).records()
    short = evaluate_path(p, first=p.months.stop - 2)
    with pytest.raises(AnalyticsError, match="does not cover"):
        tier_trend(p, months=6, path=short)
    with pytest.raises(AnalyticsError, match="customers differ"):
        tier_trend(generate(10, seed=1), months=2, path=path)


def test_trend_under_a_policy_set_uses_each_months_version() -> None:
    from decimal import Decimal

    from custvalue import default_policy
    from custvalue.policy import PolicySet

    base = default_policy()
    later = base.with_tier("platinum", aum_floor=Decimal(400_000))
    dep = np.full((1, 3), 450_000_00)
    p = Portfolio.from_arrays(customer_ids=["A"], branch_ids=["X"], start="2026-08", deposits=dep)
    ps = PolicySet([("2026-08", base), ("2026-10", later)])
    rows = [(r["month"], r["tier"]) for r in tier_trend(p, ps, months=3).records() if r["customers"]]
    assert rows == [("2026-08", "gold"), ("2026-09", "gold"), ("2026-10", "platinum")]


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 80), st.integers(0, 5_000), st.integers(0, 12))
def test_churn_counts_each_customer_once(n: int, seed: int, back: int) -> None:
    """Held before, churned and AUM lost per branch and tier equal a count one customer at a time."""
    p = generate(n, seed=seed, n_branches=3)
    r = evaluate(p, as_of=p.months.stop - back)
    c = churn_report(r)
    aum = np.asarray(r.portfolio.aum(r.policy.aum))[:, p.months.index(r.as_of)]
    tiers = list(r.policy.tier_order)
    for row in c.records():
        t = tiers.index(row["tier"])
        mine = [i for i in range(n) if str(p.branch_ids[i]) == row["branch_id"]]
        assert row["held_before"] == sum(int(r.previous_tier_codes[i]) == t for i in mine)
        gone = [i for i in mine if int(r.churned_tier_codes[i]) == t]
        assert row["churned"] == len(gone)
        assert row["aum_lost"] == sum(int(aum[i]) for i in gone)
