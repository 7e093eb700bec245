"""The customer-migration Markov model: estimation, value, reduction to the explicit CLV."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custvalue import Portfolio, default_policy, evaluate_path, synthetic
from custvalue.analytics import (
    AnalyticsError,
    MarkovChain,
    churn_mask,
    estimate_markov,
    geometric_clv,
    markov_value,
    reference_clv,
    reference_transition_counts,
)
from custvalue.policy import Policy


def policy(**value: Any) -> Policy:
    doc = default_policy().to_dict()
    doc["value"] = {"margins": {"deposits": Decimal("0.012")}, **value}
    return Policy.from_dict(doc)


def one_tier_policy(**value: Any) -> Policy:
    doc = default_policy().to_dict()
    doc["tiers"] = [{"id": "all", "criteria": []}]
    doc["minimum_allocation_tier"] = "all"
    doc["value"] = {"margins": {"deposits": Decimal("0.012")}, **value}
    return Policy.from_dict(doc)


def test_counts_rows_and_absorbing() -> None:
    port = synthetic.generate(3000, months=14)
    pol = policy(markov={"churn_below": 100})
    chain = estimate_markov(port, pol)
    k = len(chain.states)
    assert chain.states[-1] == "churned" and chain.states[:-1] == pol.tier_order
    assert len(chain.months) == 13 and chain.monthly_counts.shape == (12, k, k)
    assert (chain.monthly_counts.sum(axis=0) == chain.counts).all()
    np.testing.assert_allclose(chain.probabilities.sum(axis=1), 1.0)
    # churned is absorbing: nothing leaves it
    assert chain.counts[-1, :-1].sum() == 0
    assert chain.probabilities[-1].tolist() == [0.0] * (k - 1) + [1.0]
    # counts are what a customer-by-customer count gives
    path = evaluate_path(port, pol, first=chain.months[0], last=chain.months[-1])
    total = port.deposits + port.wealth + port.investments + port.mortgage_loan + port.credit_loan
    have = np.arange(14)[None, :] >= port.history_start[:, None]
    raw = (total < 100_00) & have  # churn_below = 100 yuan; made absorbing by the reference
    want = reference_transition_counts(path.tier_codes, raw[:, 1:], k)
    assert (churn_mask(port, pol) == np.logical_or.accumulate(raw, axis=1)).all()
    assert (chain.counts == want).all()
    # estimated probabilities are the row-normalised counts
    rows = chain.counts.sum(axis=1)
    for i in np.flatnonzero(rows):
        np.testing.assert_allclose(chain.probabilities[i], chain.counts[i] / rows[i])
    assert "churned" in chain.text() and len(chain.report()) == k * k


@settings(max_examples=40)
@given(
    st.lists(
        st.lists(st.sampled_from([0, 50, 250_000_00, 600_000_00, 6_000_000_00]), min_size=5, max_size=5),
        min_size=1,
        max_size=12,
    ),
    st.integers(0, 3),
)
def test_estimation_equals_reference(rows: list[list[int]], late: int) -> None:
    n = len(rows)
    dep = np.array(rows, dtype=np.int64)
    hs = np.zeros(n, np.int16)
    hs[0] = late
    dep[0, :late] = 0
    port = Portfolio.from_arrays(
        customer_ids=[f"C{i}" for i in range(n)],
        branch_ids=["X"] * n,
        start="2026-06",
        deposits=dep,
        history_start=hs,
    )
    pol = policy()
    chain = estimate_markov(port, pol, months=4)
    path = evaluate_path(port, pol)
    raw = (dep == 0) & (np.arange(5)[None, :] >= hs[:, None])
    want = reference_transition_counts(path.tier_codes, raw, len(chain.states))
    assert (chain.counts == want).all()
    np.testing.assert_allclose(chain.probabilities.sum(axis=1), 1.0)


def test_returns_are_reported_not_counted() -> None:
    dep = np.array([[300_000_00, 0, 300_000_00]])
    port = Portfolio.from_arrays(customer_ids=["A"], branch_ids=["X"], start="2026-08", deposits=dep)
    chain = estimate_markov(port, policy())
    gold = chain.states.index("gold")
    assert chain.counts[gold, -1] == 1 and chain.counts[-1, -1] == 1
    assert chain.returns[gold] == 1


def test_unobserved_rows_stay_put() -> None:
    c = MarkovChain.from_counts(["a", "b", "churned"], [[3, 1, 0], [0, 0, 0], [0, 0, 0]])
    assert c.observed.tolist() == [True, False, True]
    assert c.probabilities[1].tolist() == [0.0, 1.0, 0.0]


@settings(max_examples=100)
@given(
    st.integers(1, 99), st.integers(0, 5_000_000), st.decimals("0.001", "0.05", places=3), st.integers(1, 120)
)
def test_single_tier_chain_reduces_to_explicit_clv(stay: int, m: int, d: Decimal, h: int) -> None:
    c = MarkovChain.from_counts(["all", "churned"], [[stay, 100 - stay], [0, 0]])
    r = Decimal(stay) / 100
    v = c.state_values([float(m)], float(d), h)
    want = geometric_clv([float(m)], [float(r)], [float(d)], h)[0]
    assert abs(v[0] - want) <= 1e-9 * max(1.0, abs(want))
    assert abs(v[0] - float(reference_clv(m, r, d, h))) <= 1e-6 * max(1.0, abs(want))
    inf = c.state_values([float(m)], float(d), None)
    assert abs(inf[0] - float(reference_clv(m, r, d, None))) <= 1e-7 * max(1.0, abs(inf[0]))
    assert v[1] == 0.0 and inf[1] == 0.0


@settings(max_examples=60)
@given(
    st.integers(1, 98),
    st.integers(1, 98),
    st.decimals("0.001", "0.05", places=3),
    st.one_of(st.none(), st.integers(1, 60)),
)
def test_value_monotone_in_retention(s1: int, s2: int, d: Decimal, h: int | None) -> None:
    lo, hi = sorted((s1, s2))

    def value(stay: int) -> float:
        c = MarkovChain.from_counts(["all", "churned"], [[stay, 100 - stay], [0, 0]])
        return float(c.state_values([1000.0], float(d), h)[0])

    assert value(lo) <= value(hi) + 1e-9


def test_estimated_single_tier_matches_item_one() -> None:
    # 10 customers; each month 1 of the remaining ones leaves, so the estimate is a known ratio
    n, t = 10, 6
    dep = np.full((n, t), 1_000_000_00, np.int64)
    for i in range(4):
        dep[i, i + 2 :] = 0
    port = Portfolio.from_arrays(
        customer_ids=[f"C{i}" for i in range(n)], branch_ids=["X"] * n, start="2026-05", deposits=dep
    )
    pol = one_tier_policy(period="month", discount_rate=Decimal("0.01"), horizon=24)
    mv = markov_value(port, pol)
    chain = mv.chain
    stays, leaves = int(chain.counts[0, 0]), int(chain.counts[0, 1])
    assert (stays, leaves) == (10 + 9 + 8 + 7 + 6, 4)
    r = stays / (stays + leaves)
    # value per month of the tier: mean monthly margin of its customers now (1,000,000 × 1.2 % / 12)
    assert mv.tier_values.tolist() == [100_000.0]  # 1,000.00 yuan
    want = geometric_clv([100_000.0], [r], [0.01], 24)[0]
    assert abs(mv.state_values[0] - want) < 1e-6
    assert mv.clv.tolist()[-1] == int(np.rint(want)) and mv.clv.tolist()[0] == 0  # C0 churned
    assert mv.report().column("customers").tolist() == [6, 4]


def test_yearly_period_uses_monthly_discount() -> None:
    pol = one_tier_policy(period="year", discount_rate=Decimal("0.1"), horizon=2)
    port = Portfolio.from_arrays(
        customer_ids=["A"], branch_ids=["X"], start="2026-09", deposits=np.full((1, 2), 1_200_00)
    )
    mv = markov_value(port, pol)
    d = 1.1 ** (1 / 12) - 1
    assert abs(mv.discount_rate - d) < 1e-15 and mv.horizon == 24
    # never leaves: Σ_{t=1..24} 120 fen / (1+d)^t (1,200 yuan × 1.2 % / 12 = 1.20 yuan a month)
    want = sum(120 / (1 + d) ** t for t in range(1, 25))
    assert abs(mv.estimate[0] - want) < 1e-9


def test_bad_inputs() -> None:
    pol = policy()
    port = Portfolio.from_arrays(
        customer_ids=["A"], branch_ids=["X"], start="2026-10", deposits=np.array([[1]])
    )
    with pytest.raises(AnalyticsError, match="at least two months"):
        estimate_markov(port, pol)
    c = MarkovChain.from_counts(["a", "churned"], [[1, 0], [0, 0]])
    with pytest.raises(AnalyticsError, match="positive discount rate"):
        c.state_values([1.0], 0.0, None)
    with pytest.raises(AnalyticsError, match="> -1"):
        c.state_values([1.0], -1.0, 3)
    with pytest.raises(AnalyticsError, match="one value per tier"):
        c.state_values([1.0, 2.0], 0.1, 3)
    with pytest.raises(AnalyticsError, match="must be 2 × 2"):
        MarkovChain.from_counts(["a", "churned"], [[1, 0, 0]])


def test_infinite_horizon_with_a_negative_rate_must_converge() -> None:
    c = MarkovChain.from_counts(["a", "churned"], [[9, 1], [0, 0]])
    # 0.9 / (1 - 0.05) < 1: converges, equal to the geometric series
    v = c.state_values([100.0], -0.05, None)[0]
    assert abs(v - float(reference_clv(100, Decimal("0.9"), Decimal("-0.05"), None))) < 1e-9
    with pytest.raises(AnalyticsError, match="does not converge"):
        c.state_values([100.0], -0.2, None)  # 0.9 / 0.8 > 1


@settings(max_examples=60)
@given(
    st.lists(st.integers(0, 10**6), min_size=2, max_size=2),
    st.lists(st.integers(0, 10**6), min_size=2, max_size=2),
    st.decimals("0.001", "0.05", places=3),
    st.decimals("0.001", "0.05", places=3),
    st.one_of(st.none(), st.integers(1, 60)),
)
def test_value_monotone_in_margin_and_decreasing_in_the_discount_rate(
    v1: list[int], v2: list[int], d1: Decimal, d2: Decimal, h: int | None
) -> None:
    c = MarkovChain.from_counts(["gold", "potential", "churned"], [[80, 15, 5], [10, 85, 5], [0, 0, 0]])
    lo = np.minimum(v1, v2).astype(float)
    hi = np.maximum(v1, v2).astype(float)
    lo_d, hi_d = sorted((float(d1), float(d2)))
    tol = 1e-9 * (1 + float(hi.max()) * 100)
    assert (c.state_values(lo, lo_d, h) <= c.state_values(hi, lo_d, h) + tol).all()
    assert (c.state_values(hi, hi_d, h) <= c.state_values(hi, lo_d, h) + tol).all()


@pytest.mark.parametrize("delta", [-1, 0, 1])
def test_churn_below_is_exclusive_to_the_fen(delta: int) -> None:
    # churned when the balances sum *below* churn_below (100 yuan): 99.99 churns, 100.00 does not
    total = 100_00 + delta
    dep = np.array([[500_000_00, total // 2]])
    wea = np.array([[0, total - total // 2]])
    port = Portfolio.from_arrays(
        customer_ids=["A"], branch_ids=["X"], start="2026-09", deposits=dep, wealth=wea
    )
    pol = policy(markov={"churn_below": 100})
    assert churn_mask(port, pol).tolist() == [[False, delta < 0]]
    chain = estimate_markov(port, pol, months=1)
    assert int(chain.counts[:, -1].sum()) == (1 if delta < 0 else 0)
