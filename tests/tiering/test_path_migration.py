"""Tier paths over time, migration matrices, and the result's conversions and displays."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from custvalue import Month, Portfolio, default_policy, evaluate
from custvalue.policy import compile_policy
from custvalue.synthetic import generate
from custvalue.tiering import RESULT_COLUMNS, evaluate_path, tier_migration

YUAN = 100
FLOORS = [10_000_000 * YUAN, 5_000_000 * YUAN, 500_000 * YUAN, 200_000 * YUAN]


def volatile(seed: int, n: int = 60, t: int = 20) -> Portfolio:
    """AUM jumping between values near the floors, loans and cards at band edges,
    and some customers with a late history start."""
    rng = np.random.default_rng(seed)
    levels = np.array([0, *FLOORS, *(f - 1 for f in FLOORS), *(f * 2 for f in FLOORS)])
    aum = rng.choice(levels, size=(n, t))
    # runs: keep the previous month's value most of the time
    keep = rng.random((n, t)) < 0.7
    for j in range(1, t):
        aum[:, j] = np.where(keep[:, j], aum[:, j - 1], aum[:, j])
    credit = rng.choice([0, 300_000 * YUAN, 600_000 * YUAN - 1, 600_000 * YUAN], size=(n, t))
    mortgage = rng.choice([0, 0, 1_500_000 * YUAN, 5_000_000 * YUAN], size=(n, t))
    card = rng.choice([0, 0, 0, 4], size=(n, t)).astype(np.int8)
    spend = rng.choice([0, 0, 10_000 * YUAN, 50_000 * YUAN], size=(n, t))
    hs = np.where(rng.random(n) < 0.3, rng.integers(0, t, size=n), 0)
    before = np.arange(t)[None, :] < hs[:, None]
    for a in (aum, credit, mortgage, card, spend):
        a[before] = 0
    return Portfolio.from_arrays(
        customer_ids=[f"V{i:03d}" for i in range(n)], branch_ids=["B"] * n, start="2025-03",
        deposits=aum, credit_loan=credit, mortgage_loan=mortgage, card_level=card,
        card_spend=spend, history_start=hs)


PORTFOLIOS = {
    "volatile-1": lambda: volatile(1),
    "volatile-2": lambda: volatile(2, n=25, t=16),
    "synthetic": lambda: generate(300, months=20, seed=3),
}


@pytest.mark.parametrize("name", PORTFOLIOS)
def test_path_equals_month_by_month(name: str) -> None:
    p = PORTFOLIOS[name]()
    cp = compile_policy(default_policy())
    path = evaluate_path(p, cp)
    assert path.months == tuple(p.months)
    assert path.tier_codes.shape == (p.n_customers, p.n_months)
    hs = p.history_start.astype(int)
    for j, m in enumerate(p.months):
        r = evaluate(p, cp, as_of=m)
        has = hs <= j
        assert path.tier_codes[has, j].tolist() == r.tier_codes[has].tolist(), m
        assert path.status_codes[has, j].tolist() == r.status_codes[has].tolist(), m
        # no tier in a month before the customer's history
        assert (path.tier_codes[~has, j] == -1).all()
        # the previous tier of an evaluation is the path's previous month
        if j:
            prev = np.where(hs <= j - 1, path.tier_codes[:, j - 1], -1)
            assert r.previous_tier_codes[has].tolist() == prev[has].tolist()


def test_path_subrange_and_chunks() -> None:
    p = volatile(3)
    whole = evaluate_path(p)
    part = evaluate_path(p, first="2025-10", last="2026-02", chunk_size=7)
    assert part.months[0] == Month(2025, 10) and len(part.months) == 5
    c = whole.column("2025-10")
    assert part.tier_codes.tolist() == whole.tier_codes[:, c:c + 5].tolist()
    assert part.status_codes.tolist() == whole.status_codes[:, c:c + 5].tolist()
    assert "TierPath" in repr(part)


@pytest.mark.parametrize("name", PORTFOLIOS)
@pytest.mark.parametrize(("f", "t"), [(-2, -1), (-13, -1), (0, -1), (-1, -6)])
def test_tier_migration_adds_up(name: str, f: int, t: int) -> None:
    p = PORTFOLIOS[name]()
    fm, tm = p.months[p.n_months + f if f < 0 else f], p.months[p.n_months + t]
    m = tier_migration(p, None, fm, tm)
    assert int(m.counts.sum()) == p.n_customers
    to_aum = p.aum()[:, p.months.index(tm)]
    assert int(m.aum.sum()) == int(to_aum.sum())
    # the matrix is the pair of tiers at the two months
    path = evaluate_path(p)
    a, b = path.tier_codes[:, path.column(fm)], path.tier_codes[:, path.column(tm)]
    k = len(m.labels)
    a = np.where(a < 0, k - 1, a)
    b = np.where(b < 0, k - 1, b)
    want = np.zeros((k, k), dtype=np.int64)
    want_aum = np.zeros((k, k), dtype=np.int64)
    np.add.at(want, (a, b), 1)
    np.add.at(want_aum, (a, b), to_aum)
    assert m.counts.tolist() == want.tolist()
    assert m.aum.tolist() == want_aum.tolist()
    assert (m.from_label, m.to_label) == (str(fm), str(tm))
    assert m.labels[-1] == "(none)"
    text = m.text()
    assert str(fm) in text and "platinum" in text
    assert "," in m.text(values="aum") or int(m.aum.max()) < 100_000
    df = m.to_pandas()
    assert df.to_numpy().tolist() == m.counts.tolist()


def test_migration_of_a_lapse() -> None:
    """Example 4 of the SPEC: platinum in 2026-09, gold in 2026-10."""
    t = 15
    aum = np.array([[600_000 * YUAN] * 8 + [300_000 * YUAN] * 7], dtype=np.int64)
    p = Portfolio.from_arrays(customer_ids=["A"], branch_ids=["B"], start="2025-08", deposits=aum)
    assert aum.shape[1] == t
    m = tier_migration(p, default_policy(), "2026-09", "2026-10")
    i, j = m.labels.index("platinum"), m.labels.index("gold")
    assert int(m.counts[i, j]) == 1 and int(m.counts.sum()) == 1
    assert int(m.aum[i, j]) == 300_000 * YUAN


# --------------------------------------------------------------------------- conversions


def _docstring_portfolio() -> Portfolio:
    aum = np.full((3, 14), 612_345_00, dtype=np.int64)
    aum[0, -4:] = 300_000_00
    credit = np.zeros_like(aum)
    credit[2] = 600_000 * YUAN
    aum[2] = 0
    return Portfolio.from_arrays(customer_ids=["A", "B", "C"], branch_ids=["X"] * 3,
                                 start="2025-09", deposits=aum, credit_loan=credit)


def test_to_pandas_and_arrow() -> None:
    r = evaluate(volatile(4))
    df = r.to_pandas()
    assert tuple(df.columns) == RESULT_COLUMNS
    assert len(df) == len(r)
    assert df["tier"].astype(str).tolist() == r.tiers().tolist()
    assert df["months_below"].tolist() == r.months_below.tolist()
    assert df["history_complete"].tolist() == r.history_complete.tolist()
    assert df["customer_id"].tolist() == r.customer_ids.tolist()
    assert set(df["as_of"]) == {str(r.as_of)}
    for i in range(len(r)):
        assert df["reasons"][i] == ";".join(r.reasons_at(i))
    tbl = r.to_arrow()
    assert tuple(tbl.column_names) == RESULT_COLUMNS
    assert tbl.num_rows == len(r)
    assert tbl.column("tier").to_pylist() == r.tiers().tolist()
    assert tbl.column("movement").to_pylist() == r.movements().tolist()
    assert tbl.column("churned_tier").to_pylist() == r.churned_tiers().tolist()


def test_repr_html_summary() -> None:
    r = evaluate(_docstring_portfolio())
    text = repr(r)
    assert "TierResult" in text and "3 customers" in text and "platinum=3" in text
    h = r._repr_html_()
    assert h.startswith("<div>") and "<table>" in h and "platinum" in h and "attention: 1" in h
    s = r.summary()
    for word in ("platinum", "potential", "attention 1", "entered_attention", "sms_rm"):
        assert word in s, word
    assert "912,345.00" in s  # AUM at the as-of month: 300,000.00 + 612,345.00 + 0


def test_explain_text() -> None:
    r = evaluate(_docstring_portfolio())
    ex = r.explain("A")
    assert (ex.tier, ex.status, ex.months_below, ex.movement) == ("platinum", "attention", 4,
                                                                 "same")
    text = str(ex)
    assert text == ex.text
    assert "platinum.aum" in text
    assert "612,345.00" in text and "500,000.00" in text
    assert "k = 4" in text
    assert "entered_attention" in text
    assert [t.rule_id for t in ex.decided_by] == ["platinum.aum"]
    assert [t.rule_id for t in ex.rules] == list(r.compiled.rule_ids)
    assert all(t.matched == (t.rule_id in {"platinum.aum", "gold.aum", "potential.default"})
               for t in ex.rules)
    # a tier held through a loan names that rule and the loan amount
    c = str(r.explain("C"))
    assert "platinum.credit_loan" in c and "600,000.00" in c
    # a customer in normal status
    b = r.explain("B")
    assert b.status == "normal" and "normal" in b.text


def test_explain_churn_and_new() -> None:
    aum = np.array([[600_000 * YUAN] * 8 + [300_000 * YUAN] * 7,
                    [0] * 14 + [700_000 * YUAN]], dtype=np.int64)
    p = Portfolio.from_arrays(customer_ids=["A", "N"], branch_ids=["B"] * 2, start="2025-08",
                              deposits=aum, history_start=[0, 14])
    r = evaluate(p)
    a = r.explain("A")
    assert a.churned_tier == "platinum" and a.previous_tier == "platinum"
    assert "churned platinum" in a.text and "gold.aum" in a.text and "300,000.00" in a.text
    n = r.explain("N")
    assert n.movement == "new" and n.previous_tier is None
    assert "history incomplete" in n.text and "700,000.00" in n.text


def test_what_if_floor_change_moves_the_explained_customer() -> None:
    p = _docstring_portfolio()
    new = default_policy().with_tier("platinum", aum_floor=Decimal("612345.01"))
    r = evaluate(p, new)
    assert r.row("B")["tier"] == "gold"
    text = str(r.explain("B"))
    assert "gold.aum" in text and "612,345.00" in text


def test_migration_matrix_renders_in_notebooks() -> None:
    import numpy as np

    from custvalue import migration_matrix

    m = migration_matrix(np.array([0, 1, -1]), np.array([1, 1, 0]), np.array([100, 250, 7]),
                         ("a", "b"), from_label="x", to_label="y")
    assert m.counts.tolist() == [[0, 1, 0], [0, 1, 0], [1, 0, 0]]
    assert m.aum.tolist() == [[0, 100, 0], [0, 250, 0], [7, 0, 0]]
    html = m._repr_html_()
    assert "<table>" in html and "(none)" in html and "2.50 yuan" in html
    assert "x → y" in repr(m)
