"""Threshold calibration: floors from target shares, the rounding bound, infeasible targets."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from custvalue import Portfolio, default_policy, evaluate
from custvalue.analytics import AnalyticsError, calibrate, parse_targets
from custvalue.months import Month
from custvalue.synthetic import generate

TIERS = ("core", "growth", "platinum", "gold")


def at_or_above(p: Portfolio, policy: Any, weights: np.ndarray) -> dict[str, int]:
    """What evaluate() gives: customers (or AUM) at each tier or above."""
    r = evaluate(p, policy, previous=False)
    out = {}
    for k, t in enumerate(policy.tier_order):
        sel = (r.tier_codes >= 0) & (r.tier_codes <= k)
        out[t] = int(weights[sel].sum())
    return out


def test_a_hand_computed_calibration() -> None:
    # ten customers, AUM 10k..100k yuan flat; core 10%, growth 10%, platinum 20%, gold 20% (own shares)
    aum = np.repeat(np.arange(1, 11, dtype=np.int64)[:, None] * 10_000_00, 14, axis=1)
    p = Portfolio.from_arrays(
        customer_ids=[f"C{i:02d}" for i in range(10)], branch_ids=["B"] * 10, start="2025-09", deposits=aum
    )
    c = calibrate(p, targets={"core": "0.1", "growth": "0.1", "platinum": "0.2", "gold": "0.2"}, step=5000)
    # cumulative 1, 2, 4, 6 customers: the 1st, 2nd, 4th and 6th largest AUM
    assert c.exact_fen == {"core": 100_000_00, "growth": 90_000_00, "platinum": 70_000_00, "gold": 50_000_00}
    assert c.floors() == {t: Decimal(v) for t, v in zip(TIERS, (100000, 90000, 70000, 50000), strict=True)}
    assert c.reached == {"core": 1, "growth": 2, "platinum": 4, "gold": 6}
    assert c.proposed.name == "default-calibrated"
    assert evaluate(p, c.proposed).counts()["tier"] == {
        "core": 1,
        "growth": 1,
        "platinum": 2,
        "gold": 2,
        "potential": 4,
    }
    # the migration matrix compares the current policy (everyone potential) with the proposal
    assert int(c.migration.counts[4, 0]) == 1 and int(c.migration.counts[4, 4]) == 4
    # rounding down to 30,000 yuan: 90,000 / 60,000 / 30,000 ... floors must strictly decrease
    with pytest.raises(AnalyticsError, match="strictly decrease"):
        calibrate(p, targets={"core": "0.1", "growth": "0.1"}, step=30000)


def test_targets_are_parsed_and_checked() -> None:
    assert parse_targets("core=0.01,growth=4%") == {"core": Decimal("0.01"), "growth": Decimal("0.04")}
    p = generate(50, seed=1)
    with pytest.raises(AnalyticsError, match="unknown tier 'silver'"):
        calibrate(p, targets={"silver": "0.1"})
    with pytest.raises(AnalyticsError, match="no AUM floor"):
        calibrate(p, targets={"potential": "0.1"})
    with pytest.raises(AnalyticsError, match="not exact"):
        calibrate(p, targets={"core": 0.1})
    with pytest.raises(AnalyticsError, match="add up to"):
        calibrate(p, targets={"core": "0.6", "growth": "0.6"})
    with pytest.raises(AnalyticsError, match="outside"):
        calibrate(p, targets={"core": "-0.1"})
    with pytest.raises(AnalyticsError, match="rounding step"):
        calibrate(p, targets={"core": "0.1"}, step=0)
    with pytest.raises(AnalyticsError, match="is not tier=share"):
        parse_targets("core")


def test_non_aum_criteria_that_overshoot_are_reported() -> None:
    p = generate(3000, seed=2)
    with pytest.raises(AnalyticsError, match="other criteria already give") as exc:
        calibrate(p, targets={"core": "0.001", "growth": "0.002", "platinum": "0.01"})
    assert "more than the target" in str(exc.value)


@st.composite
def cases(draw: Any) -> tuple[Portfolio, dict[str, Fraction], int, str, str]:
    n = draw(st.integers(5, 40))
    t = draw(st.integers(1, 14))
    levels = draw(st.lists(st.integers(0, 2_000), min_size=n, max_size=n))  # in 10,000 yuan... /7
    noise = draw(st.lists(st.lists(st.integers(0, 3), min_size=t, max_size=t), min_size=n, max_size=n))
    aum = np.array(levels, np.int64)[:, None] * 700_000 + np.array(noise, np.int64) * 1_000_000_00
    credit = np.zeros((n, t), np.int64)
    if draw(st.booleans()):
        credit[: max(1, n // 10), -1] = 400_000_00  # gold through a loan
    p = Portfolio.from_arrays(
        customer_ids=[f"C{i:03d}" for i in range(n)],
        branch_ids=["B"] * n,
        start=Month(2026, 10) - (t - 1),
        deposits=aum,
        credit_loan=credit,
    )
    raw = draw(st.lists(st.integers(0, 100), min_size=4, max_size=4))
    total = sum(raw) + draw(st.integers(0, 200))
    shares = {tier: Fraction(v, max(total, 1)) for tier, v in zip(TIERS, raw, strict=True)}
    step = draw(st.sampled_from([1, 10_000, 50_000, 1_000_000]))
    return p, shares, step, draw(st.sampled_from(["count", "aum"])), draw(st.sampled_from(["down", "up"]))


@settings(max_examples=60, deadline=None)
@given(cases())
def test_calibration_hits_the_targets_within_one_rounding_step(case: Any) -> None:
    """The bound of the module notes, checked against evaluate() of the proposed policy.

    down: N(F) >= K > N(F + R) (or F is above every remaining measure);
    up:   N(F) <= K < N(F - R).
    """
    p, shares, step, by, direction = case
    pol = default_policy()
    try:
        c = calibrate(p, pol, shares, by=by, step=step, direction=direction)
    except AnalyticsError as exc:
        assert "infeasible" in str(exc)
        event("infeasible")
        return
    event("feasible")
    a = p.n_months - 1
    weights = np.ones(p.n_customers, np.int64) if by == "count" else p.aum(pol.aum)[:, a]
    reached = at_or_above(p, c.proposed, weights)
    total = int(weights.sum())
    step_fen = step * 100
    floors = [c.floor_fen[t] for t in TIERS]
    assert floors == sorted(floors, reverse=True) and len(set(floors)) == 4
    cum = Fraction(0)
    for t in TIERS:
        cum += shares[t]
        k = math.ceil(cum * total)
        assert c.target_units[t] == k
        assert reached[t] == c.reached[t]
        assert c.floor_fen[t] % step_fen == 0
        # one step further (the other floors kept) misses the target
        moved = c.floor_fen[t] + (step_fen if direction == "down" else -step_fen)
        new_floors = [moved if u == t else c.floor_fen[u] for u in TIERS]
        ordered = all(x > y for x, y in itertools.pairwise(new_floors)) and moved >= 0
        if direction == "down":
            assert reached[t] >= k
            if ordered:
                other = at_or_above(p, c.proposed.with_tier(t, aum_floor=Decimal(moved) / 100), weights)[t]
                # fewer than the target, or (the others alone reach it) nobody else enters
                assert other < k or other == reached[t]
        else:
            assert reached[t] <= k
            if ordered and moved > 0:
                other = at_or_above(p, c.proposed.with_tier(t, aum_floor=Decimal(moved) / 100), weights)[t]
                assert other > k


def test_cumulative_targets_and_tiers_left_out() -> None:
    aum = np.repeat(np.arange(1, 11, dtype=np.int64)[:, None] * 1_000_000_00, 14, axis=1)  # 1M..10M
    p = Portfolio.from_arrays(
        customer_ids=[f"C{i:02d}" for i in range(10)], branch_ids=["B"] * 10, start="2025-09", deposits=aum
    )
    own = calibrate(p, targets={"core": "0.1", "growth": "0.2"})
    cum = calibrate(p, targets={"core": "0.1", "growth": "0.3"}, cumulative=True)
    assert own.floors() == cum.floors() == {"core": Decimal(10_000_000), "growth": Decimal(8_000_000)}
    # platinum and gold keep their floors (500,000 and 200,000 yuan): everyone else is platinum
    assert cum.proposed.tier("platinum").aum_floor == Decimal(500_000)
    assert evaluate(p, cum.proposed).counts()["tier"] == {
        "core": 1,
        "growth": 2,
        "platinum": 7,
        "gold": 0,
        "potential": 0,
    }
    assert cum.report().column("reached").tolist() == [1, 3]
    with pytest.raises(AnalyticsError, match="below the tier above"):
        calibrate(p, targets={"core": "0.3", "growth": "0.2"}, cumulative=True)
    with pytest.raises(AnalyticsError, match="keeps its floor"):
        calibrate(p, targets={"core": "0.95"})  # core at 1M yuan is not above growth's 5M
