"""diff_policies and ``custvalue policy diff``: value, segments, campaigns, monitoring, transactions."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custvalue import default_policy, load_policy
from custvalue.policy import Policy, diff_policies, marketing_policy

VALUE: dict[str, Any] = {
    "margins": {"deposits": Decimal("0.015"), "wealth": Decimal("0.008")},
    "retention": Decimal("0.9"),
    "horizon": 5,
    "formula": {"explicit_value": "annual_margin", "implicit_cost": "aum * 0.0005"},
    "matrix": {
        "current_cut": 500000,
        "potential_cut": 20000,
        "quadrants": [
            {"id": "star", "current": "high", "potential": "high", "label_zh": "明星"},
            {"id": "keep", "current": "high", "potential": "low"},
            {"id": "grow", "current": "low", "potential": "high"},
            {"id": "basic", "current": "low", "potential": "low"},
        ],
    },
}


def base() -> dict[str, Any]:
    doc = marketing_policy().to_dict()
    doc["value"] = copy.deepcopy(VALUE)
    return doc


OLD = Policy.from_dict(base())


def changes(doc: dict[str, Any]) -> list[str]:
    return [str(c) for c in diff_policies(OLD, Policy.from_dict(doc)).changes]


def test_no_change_no_lines() -> None:
    assert not diff_policies(OLD, Policy.from_dict(base()))
    assert diff_policies(OLD, OLD).text().endswith("no changes")


def test_value_section() -> None:
    doc = base()
    doc["value"]["discount_rate"] = Decimal("0.1")
    doc["value"]["formula"]["implicit_cost"] = "max(10, aum * 0.0005)"
    doc["value"]["formula"]["implicit_value"] = {"card_spend_12m": Decimal("0.006")}
    doc["value"]["matrix"]["quadrants"][0]["label_zh"] = "重点"
    doc["value"]["margins"].pop("wealth")
    assert changes(doc) == [
        "value.margins.wealth: removed (was 0.008)",
        "value.discount_rate: 0.08 -> 0.1",
        "value.formula.implicit_cost: aum * 0.0005 -> max(10, aum * 0.0005)",
        "value.formula.implicit_value: added {card_spend_12m = 0.006}",
        "value.matrix.quadrants[star].label_zh: 明星 -> 重点",
    ]
    doc.pop("value")
    (only,) = changes(doc)
    assert only.startswith("value: removed (was {margins = {deposits = 0.015, wealth = 0.008}")


def test_segments_section() -> None:
    doc = base()
    doc["segments"]["features"]["changes_6m"]["months"] = 3
    activity = doc["segments"]["tables"][0]
    activity["rules"][0]["when"]["months_since_change"] = "<= 3"
    activity["rules"].append({"id": "big", "when": {"aum": ">= 1000000"}, "output": "active"})
    doc["segments"]["tables"][1]["description"] = "stages"
    assert changes(doc) == [
        "segments.features.changes_6m.months: 6 -> 3",
        "segments.tables[activity].rules[recent_change].when.months_since_change: <= 2 -> <= 3",
        "segments.tables[activity].rules[big]: added {id = big, when = {aum = >= 1000000}, output = active}",
        "segments.tables[lifecycle].description: "
        "lifecycle stage: new, growing, mature, at risk, churned -> stages",
    ]


def test_campaigns_section() -> None:
    doc = base()
    camps = doc["campaigns"]
    camps[0]["cap"]["days"] = 60
    camps[0]["tiers"] = ["core", "growth"]
    camps[2]["when"]["aum"] = ">= 200000"
    gone = camps.pop(1)
    camps.append({"id": "vip_clv", "when": {"clv": ">= 50000"}, "enabled": False})
    got = changes(doc)
    assert got[:2] == [
        "campaigns[retain_at_risk].tiers: [core, growth, platinum, gold] -> [core, growth]",
        "campaigns[retain_at_risk].cap.days: 30 -> 60",
    ]
    assert f"campaigns[{gone['id']}]: removed" in got[2]
    assert "campaigns[wake_dormant].when.aum: added >= 200000" in got
    assert got[-1] == "campaigns[vip_clv]: added {id = vip_clv, when = {clv = >= 50000}, enabled = false}"


def test_campaign_order_is_one_change() -> None:
    doc = base()
    doc["campaigns"] = doc["campaigns"][::-1]
    (only,) = changes(doc)
    ids = [c.id for c in OLD.campaigns]
    assert only == f"campaigns (order): {', '.join(ids)} -> {', '.join(reversed(ids))}"


def test_monitoring_and_transactions_sections() -> None:
    doc = base()
    doc["monitoring"]["alerts"][0]["when"]["aum_change_mom_pct"] = "<= -40"
    doc["monitoring"]["alerts"][1]["actions"] = ["notify_rm", "notify_branch"]
    doc["transactions"]["rules"][0]["threshold"] = "80000"
    doc["transactions"]["rules"][3]["count"] = 4
    assert changes(doc) == [
        "monitoring.alerts[aum_fall_pct].when.aum_change_mom_pct: <= -30 -> <= -40",
        "monitoring.alerts[aum_fall_amount].actions: [notify_rm] -> [notify_rm, notify_branch]",
        "transactions.rules[large_single].threshold: 50000 -> 80000",
        "transactions.rules[structuring].count: 3 -> 4",
    ]


def test_tier_changes_still_come_first() -> None:
    floor = OLD.tier("gold").aum_floor
    new = OLD.with_tier("gold", aum_floor=Decimal(60000))
    doc = new.to_dict()
    doc["value"]["horizon"] = 3
    got = changes(doc)
    assert got == [f"tiers.gold.aum_floor: {floor} -> 60000", "value.horizon: 5 -> 3"]


@settings(max_examples=30, deadline=None)
@given(days=st.integers(1, 3660), contacts=st.integers(0, 50), horizon=st.integers(1, 100))
def test_a_diff_is_empty_exactly_when_the_documents_are_equal(days: int, contacts: int, horizon: int) -> None:
    doc = base()
    doc["campaigns"][0]["cap"] = {"contacts": contacts, "days": days, "scope": "campaign"}
    doc["value"]["horizon"] = horizon
    new = Policy.from_dict(doc)
    d = diff_policies(OLD, new)
    assert bool(d) == (new.to_dict() != OLD.to_dict())
    expected = int(days != 30) + int(contacts != 1) + int(horizon != 5)
    assert len(d.changes) == expected


def test_cli_policy_diff_shows_sections(tmp_path: Path) -> None:
    OLD.dump(tmp_path / "old.toml")
    doc = base()
    doc["value"]["formula"]["implicit_cost"] = "aum * 0.001"
    doc["campaigns"][0]["cap"]["contacts"] = 2
    doc["transactions"]["rules"][0]["threshold"] = "80000"
    load_policy(doc).dump(tmp_path / "new.toml")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    r = subprocess.run(
        [sys.executable, "-m", "custvalue.cli", "policy", "diff", "old.toml", "new.toml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].endswith("3 change(s)")
    assert lines[1:] == [
        "  transactions.rules[large_single].threshold: 50000 -> 80000",
        "  value.formula.implicit_cost: aum * 0.0005 -> aum * 0.001",
        "  campaigns[retain_at_risk].cap.contacts: 1 -> 2",
    ]


def test_default_policy_diff_with_itself_has_no_section_noise() -> None:
    p = default_policy()
    assert diff_policies(p, load_policy(p.to_dict())).changes == ()


@pytest.mark.parametrize("section", ["monitoring", "transactions", "segments", "campaigns"])
def test_section_added_and_removed(section: str) -> None:
    doc = base()
    doc.pop(section)
    gone = [section]
    if section == "segments":  # the campaigns test segment labels: they go too
        doc.pop("campaigns")
        gone.append("campaigns")
    new = Policy.from_dict(doc)
    removed = diff_policies(OLD, new)
    added = diff_policies(new, OLD)
    assert [c.path for c in removed.changes] == gone
    assert removed.changes[0].new is None and added.changes[0].old is None
