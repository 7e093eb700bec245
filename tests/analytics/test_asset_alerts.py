"""Asset-fall alerts: policy data, the vectorised table against the scalar reference, explain."""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from custvalue import Portfolio, default_policy
from custvalue.analytics import AlertResult, alert_table, asset_monitor, evaluate_alerts, reference_alerts
from custvalue.policy import AlertSpec, Policy, PolicyError
from custvalue.synthetic import generate


def _policy(alerts: list[dict[str, object]]) -> Policy:
    doc = default_policy().to_dict()
    doc["monitoring"] = {"alerts": alerts}
    return Policy.from_dict(doc)


def _two_months(prev: list[int], now: list[int]) -> Portfolio:
    n = len(prev)
    return Portfolio.from_arrays(
        customer_ids=[f"c{i}" for i in range(n)],
        branch_ids=["X"] * n,
        start="2026-09",
        deposits=np.array([prev, now]).T,
    )


def test_default_alerts_are_policy_data() -> None:
    pol = default_policy()
    assert [a.id for a in pol.monitoring] == ["aum_fall_pct", "aum_fall_amount"]
    assert pol.monitoring[0].when == (("aum_change_mom_pct", "<= -30"),)
    assert Policy.from_dict(pol.to_dict()) == pol


def test_default_alert_boundaries() -> None:
    # exactly -30 %, just above (-29.99999 %), exactly -1,000,000 yuan, just above; zero base
    p = _two_months(
        [1_000_000_00, 1_000_000_00, 5_000_000_00, 5_000_000_00, 0],
        [700_000_00, 700_000_01, 4_000_000_00, 4_000_000_01, 0],
    )
    r = evaluate_alerts(asset_monitor(p))
    assert r.fired.tolist() == [[True, False, False, False, False], [False, False, True, False, False]]
    assert r.counts() == {"aum_fall_pct": 1, "aum_fall_amount": 1}
    assert r.alerts_of("c0") == ("aum_fall_pct",) and r.alerts_of("c4") == ()
    assert r.any_fired().tolist() == [True, False, True, False, False]
    assert isinstance(r, AlertResult) and r.column("customer_id").tolist() == ["c0", "c2"]


def test_explain_names_alert_and_values() -> None:
    p = _two_months([1_000_00, 0], [600_00, 5_00])
    r = evaluate_alerts(asset_monitor(p))
    text = r.explain("c0")
    assert "aum_fall_pct fired: aum_change_mom_pct = -40.00% vs <= -30" in text
    assert "aum_fall_amount not fired: aum_change_mom = -400.00 vs <= -1000000" in text
    assert "aum_change_mom_pct = null" in r.explain("c1")


def test_alerts_with_several_tests_and_yoy() -> None:
    pol = _policy(
        [
            {"id": "big_and_falling", "when": {"aum": ">= 100", "aum_change_mom_pct": "< 0"}},
            {"id": "yoy", "when": {"aum_change_yoy_pct": "<= -50"}, "actions": ["notify_rm"]},
            {"id": "loans", "when": {"loan_total": "> 0"}},
        ]
    )
    p = _two_months([200_00, 50_00], [150_00, 40_00])
    r = evaluate_alerts(asset_monitor(p, policy=pol))
    assert r.fired.tolist() == [[True, False], [False, False], [False, False]]
    assert (reference_alerts(r.monitor) == r.fired).all()


@settings(max_examples=30)
@given(st.integers(1, 80), st.integers(0, 999))
def test_vectorised_alerts_equal_the_scalar_reference(n: int, seed: int) -> None:
    pol = _policy(
        [
            {"id": "pct", "when": {"aum_change_mom_pct": "<= -5"}},
            {"id": "amt", "when": {"aum_change_mom": "<= -1000"}},
            {"id": "yoy", "when": {"aum_change_yoy_pct": "[-20..0)", "aum_avg_3m": ">= 1000"}},
            {"id": "inv", "when": {"investment_total": "> 50000", "deposit_total": "< 100000"}},
        ]
    )
    m = asset_monitor(generate(n, seed=seed), policy=pol)
    assert (evaluate_alerts(m).fired == reference_alerts(m)).all()


def test_alert_table_is_collect() -> None:
    t = alert_table(default_policy())
    assert (
        t.hit_policy.value == "COLLECT" if hasattr(t.hit_policy, "value") else "COLLECT" in str(t.hit_policy)
    )


def test_no_alerts() -> None:
    pol = Policy.from_dict({k: v for k, v in default_policy().to_dict().items() if k != "monitoring"})
    r = evaluate_alerts(asset_monitor(_two_months([1], [0]), policy=pol))
    assert r.fired.shape == (0, 1) and len(r) == 0 and r.counts() == {}


@pytest.mark.parametrize(
    ("alerts", "path"),
    [
        ([{"id": "x", "when": {"aum_pct": "< 0"}}], "monitoring.alerts[0].when.aum_pct: unknown measure"),
        ([{"id": "x", "when": {"aum": "<< 0"}}], "monitoring.alerts[0].when.aum: invalid S-FEEL test"),
        ([{"id": "x", "when": {"aum": "< floor"}}], "names other values"),
        ([{"id": "x", "when": {}}], "monitoring.alerts[0].when: expected a non-empty table"),
        ([{"when": {"aum": "< 0"}}], "monitoring.alerts[0].id: missing"),
        ([{"id": "1x", "when": {"aum": "< 0"}}], "is not an identifier"),
        (
            [{"id": "x", "when": {"aum": "< 0"}}, {"id": "x", "when": {"aum": "< 1"}}],
            "monitoring.alerts[1].id: duplicate alert id",
        ),
        ([{"id": "x", "when": {"aum": "< 0"}, "colour": 1}], "monitoring.alerts[0].colour: unknown key"),
    ],
)
def test_bad_monitoring_sections(alerts: list[dict[str, object]], path: str) -> None:
    with pytest.raises(PolicyError, match=path.replace("[", r"\[").replace("]", r"\]")):
        _policy(alerts)


def test_bad_monitoring_shape() -> None:
    doc = default_policy().to_dict()
    doc["monitoring"] = {"rules": []}
    with pytest.raises(PolicyError, match=r"monitoring\.rules: unknown key"):
        Policy.from_dict(doc)


def test_alert_spec_measures() -> None:
    assert AlertSpec("a", (("aum", "< 1"), ("loan_total", "> 0"))).measures == ("aum", "loan_total")


def test_percent_thresholds_are_exact_not_rounded() -> None:
    # -29.999 % rounds to -30.00 % in basis points, but the alert tests the exact ratio
    p = _two_months([100_000, 100_000, 100_000], [70_001, 70_000, 69_999])
    m = asset_monitor(p)
    assert m.column("aum_change_mom_pct_bp").tolist() == [-3000, -3000, -3000]
    assert evaluate_alerts(m).fired[0].tolist() == [False, True, True]
    pol = _policy(
        [
            {"id": "lt", "when": {"aum_change_mom_pct": "< -30"}},
            {"id": "eq", "when": {"aum_change_mom_pct": "-30"}},
        ]
    )
    r = evaluate_alerts(asset_monitor(p, policy=pol))
    assert r.fired.tolist() == [[False, False, True], [False, True, False]]
    assert (reference_alerts(r.monitor) == r.fired).all()


def test_percent_thresholds_with_more_than_two_decimals_are_refused() -> None:
    with pytest.raises(PolicyError, match="at most 2 decimals"):
        _policy([{"id": "x", "when": {"aum_change_mom_pct": "<= -29.995"}}])
