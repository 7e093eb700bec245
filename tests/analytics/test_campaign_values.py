"""Campaigns that test [value] outputs get them from the run (no ``measures=`` needed)."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custvalue import Portfolio, default_policy, load_policy
from custvalue.analytics import AnalyticsError, customer_value, run_campaigns, score_customers
from custvalue.io import write_balances
from custvalue.policy import Policy, PolicyError, marketing_policy
from custvalue.policy._campaigns import value_outputs  # re-export from custvalue.policy pending
from custvalue.synthetic import generate

VALUE: dict[str, Any] = {
    "margins": {"deposits": Decimal("0.015"), "wealth": Decimal("0.008"), "credit_loan": Decimal("0.02")},
    "retention": Decimal("0.9"),
    "discount_rate": Decimal("0.08"),
    "horizon": 5,
    "formula": {"explicit_value": "annual_margin", "implicit_cost": "aum * 0.0005"},
    "scoring": {
        "weights": {"history": 1, "forecast": 1},
        "weights_total": 2,
        "history": [{"id": "rich", "when": {"aum": ">= 500000"}, "points": 90}],
        "forecast": [{"id": "loan", "when": {"credit_loan": ">= 100000"}, "points": 70}],
        "grades": [
            {"id": "A", "score": ">= 60"},
            {"id": "B", "score": "[30..60)"},
            {"id": "C", "score": "< 30"},
        ],
    },
}


def portfolio() -> Portfolio:
    dep = np.array([[12_000_000_00], [600_000_00], [50_000_00], [10_000_00], [150_000_00]])
    credit = np.array([[0], [0], [400_000_00], [0], [0]])
    return Portfolio.from_arrays(
        customer_ids=["A", "B", "C", "D", "E"],
        branch_ids=["X", "X", "Y", "Y", "Y"],
        start="2026-10",
        deposits=dep,
        credit_loan=credit,
    )


def policy(campaigns: list[dict[str, Any]], value: dict[str, Any] | None = VALUE) -> Policy:
    doc = default_policy().to_dict()
    if value is not None:
        doc["value"] = value
    doc["campaigns"] = campaigns
    return load_policy(doc)


def test_value_outputs_are_known_inputs_only_with_a_value_section() -> None:
    pol = policy([{"id": "x", "when": {"clv": ">= 1"}}])
    numbers, cats = value_outputs(pol.value)
    assert {"clv", "annual_margin", "markov_clv", "value", "implicit_cost", "score"} <= set(numbers)
    assert cats == {"grade": ("A", "B", "C")}
    with pytest.raises(PolicyError) as err:
        policy([{"id": "x", "when": {"clv": ">= 1"}}], value=None)
    assert err.value.path == "campaigns[0].when.clv"
    with pytest.raises(PolicyError) as err:
        policy([{"id": "x", "when": {"grade": '"Z"'}}])
    assert err.value.path == "campaigns[0].when.grade" and "unknown value 'Z'" in str(err.value)
    no_formula = {k: v for k, v in VALUE.items() if k not in ("formula", "scoring")}
    with pytest.raises(PolicyError, match=r"campaigns\[0\]\.when\.value: unknown input"):
        policy([{"id": "x", "when": {"value": ">= 1"}}], value=no_formula)
    with pytest.raises(PolicyError, match=r"campaigns\[0\]\.when\.score: unknown input"):
        policy([{"id": "x", "when": {"score": ">= 1"}}], value=no_formula)


def test_campaigns_test_clv_value_and_grade_by_hand() -> None:
    pol = policy(
        [
            {"id": "valuable", "priority": 1, "exclusive": False, "when": {"clv": ">= 50000"}},
            {"id": "margin", "priority": 2, "exclusive": False, "when": {"annual_margin": "[900..9000]"}},
            {
                "id": "net",
                "priority": 3,
                "exclusive": False,
                "when": {"value": "> 0", "implicit_cost": "< 100"},
            },
            {"id": "graded", "priority": 4, "exclusive": False, "when": {"grade": '"A", "B"'}},
            {"id": "scored", "priority": 5, "exclusive": False, "when": {"score": ">= 80"}},
        ]
    )
    p = portfolio()
    v = customer_value(p, pol)
    # annual margins: A 180,000; B 9,000; C 750 + 8,000; D 150; E 2,250 yuan
    assert v["annual_margin"].tolist() == [18_000_000, 900_000, 875_000, 15_000, 225_000]
    run = run_campaigns(p, pol)
    clv = v["clv"]
    assert run.targets_of("valuable").tolist() == p.customer_ids[clv >= 5_000_000].tolist()
    assert run.targets_of("margin").tolist() == ["B", "C", "E"]
    assert run.targets_of("net").tolist() == ["C", "D", "E"]  # implicit cost < 100 yuan: AUM < 200,000
    scores = score_customers(v)
    # A: (90 + 0)/2 = 45 (B); B: 45 (B); C: (0 + 70)/2 = 35 (B); D, E: 0 (C)
    assert scores.grades().tolist() == ["B", "B", "B", "C", "C"]
    assert run.targets_of("graded").tolist() == ["A", "B", "C"]
    assert run.targets_of("scored").tolist() == []


def test_supplied_measures_override_the_computed_ones() -> None:
    pol = policy([{"id": "valuable", "when": {"clv": ">= 1000.5"}}])
    fake = np.array([100_050, 100_049, 0, 1, 2])
    run = run_campaigns(portfolio(), pol, measures={"clv": (fake, 100)})
    assert run.targets_of("valuable").tolist() == ["A"]
    declared = policy([{"id": "valuable", "measures": ["clv"], "when": {"clv": ">= 1000.5"}}])
    auto = run_campaigns(portfolio(), declared)  # declared and not given: computed from [value]
    v = customer_value(portfolio(), declared)
    assert auto.targets_of("valuable").tolist() == portfolio().customer_ids[v["clv"] >= 100_050].tolist()


def test_only_the_tested_measures_are_computed() -> None:
    pol = policy([{"id": "valuable", "when": {"clv": ">= 1"}}])
    p = portfolio()
    v = customer_value(p, pol)
    run_campaigns(p, pol, values=v)
    computed = set(repr(v).split("computed: ")[1].rstrip(">").split(", "))
    assert computed == {"annual_margin", "monthly_margin", "clv"}
    with pytest.raises(AnalyticsError, match="another portfolio or month"):
        run_campaigns(generate(20, seed=1), pol, values=v)
    with pytest.raises(AnalyticsError, match="must be a CustomerValue"):
        run_campaigns(p, pol, values="clv")  # type: ignore[arg-type]


def test_formula_inputs_come_from_a_given_customer_value() -> None:
    value = dict(VALUE, inputs={"service_cost": "money"})
    value["formula"] = {"explicit_value": "annual_margin", "explicit_cost": "service_cost"}
    pol = policy([{"id": "net", "when": {"value": ">= 8000"}}], value=value)
    p = portfolio()
    with pytest.raises(AnalyticsError, match="service_cost"):
        run_campaigns(p, pol)
    v = customer_value(p, pol, inputs={"service_cost": np.array([0, 200_000, 0, 0, 0])})
    assert run_campaigns(p, pol, values=v).targets_of("net").tolist() == ["A", "C"]  # B: 9,000 - 2,000


def test_markov_value_is_tested_on_a_history() -> None:
    p = generate(400, seed=4, months=14)
    doc = marketing_policy().to_dict()
    doc["value"] = {"margins": {"deposits": "0.015", "wealth": "0.008"}, "retention": "0.9", "horizon": 3}
    doc["campaigns"] = [{"id": "m", "when": {"markov_clv": ">= 5000"}}]
    pol = Policy.from_dict(doc)
    v = customer_value(p, pol)
    run = run_campaigns(p, pol)
    has = run.segments.result.tier_codes >= 0
    want = p.customer_ids[(v["markov_clv"] >= 500_000) & has]
    assert run.targets_of("m").tolist() == want.tolist()
    assert len(want) > 0


@settings(max_examples=25, deadline=None)
@given(cut=st.integers(0, 400_000), seed=st.integers(0, 50))
def test_auto_clv_equals_supplied_clv(cut: int, seed: int) -> None:
    p = generate(60, seed=seed)
    pol = policy([{"id": "c", "when": {"clv": f">= {cut}"}}, {"id": "v", "when": {"value": f"< {cut}"}}])
    v = customer_value(p, pol)
    auto = run_campaigns(p, pol)
    given_ = run_campaigns(p, pol, measures={"clv": (v["clv"], 100), "value": (v["value"], 100)})
    assert auto.counts() == given_.counts()
    assert np.array_equal(auto.outcomes, given_.outcomes)


def test_cli_campaigns_with_a_value_policy(tmp_path: Path) -> None:
    p = generate(300, seed=9)
    write_balances(p, tmp_path / "balances.csv")
    doc = marketing_policy().to_dict()
    doc["value"] = dict(VALUE)
    doc["campaigns"] = [
        {"id": "valuable", "when": {"clv": ">= 20000"}, "actions": ["call_rm"]},
        {"id": "graded", "when": {"grade": '"A"'}},
    ]
    pol = Policy.from_dict(doc)
    pol.dump(tmp_path / "policy.toml")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    cmd = [sys.executable, "-m", "custvalue.cli", "campaigns", "--balances", "balances.csv"]
    cmd += ["--as-of", "2026-10", "--policy", "policy.toml", "--out", "targets.csv"]
    r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    want = run_campaigns(p, pol)
    lines = (tmp_path / "targets.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 + len(want) and want.counts()["valuable"] > 0
    assert f"valuable {want.counts()['valuable']:,}" in r.stderr


def test_explain_and_reasons_show_the_value_measures() -> None:
    pol = policy([{"id": "valuable", "when": {"clv": ">= 50000", "grade": '"B"'}}])
    run = run_campaigns(portfolio(), pol)
    v = customer_value(portfolio(), pol)
    clv_a = f"{int(v['clv'][0]) // 100:,}.{int(v['clv'][0]) % 100:02d}"
    line = f"valuable: targeted — rule valuable matched: clv = {clv_a} >= 50,000; grade = "
    assert line in run.explain("A")
    assert run.records()[0]["reasons"] == "valuable: clv >= 50000; grade = B"
