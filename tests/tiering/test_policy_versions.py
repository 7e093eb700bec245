"""Versioned policies: PolicySet, evaluation under the version in force, and policy diffs."""

from __future__ import annotations

from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from custvalue import Month, default_policy, evaluate
from custvalue.policy import PolicyError, PolicySet, diff_policies, load_policy_set
from custvalue.synthetic import generate
from custvalue.tiering import evaluate_path, tier_migration

OLD = default_policy()
NEW = OLD.with_tier("platinum", aum_floor=300000).with_tier("gold", aum_floor=100000)
P = generate(4000, seed=11)  # 2025-09..2026-10


def test_versions_are_sorted_and_checked() -> None:
    ps = PolicySet([("2026-07", NEW), ("2025-01", OLD)])
    assert [str(m) for m, _ in ps] == ["2025-01", "2026-07"] and len(ps) == 2
    assert ps.at("2026-06") is OLD and ps.at(Month(2026, 7)) is NEW and ps.at("2030-01") is NEW
    with pytest.raises(PolicyError, match="no policy version is in force in 2024-12"):
        ps.at("2024-12")
    with pytest.raises(PolicyError, match="two versions take effect in 2026-07"):
        PolicySet([("2026-07", OLD), ("2026-07", NEW)])
    with pytest.raises(PolicyError, match="at least one version"):
        PolicySet([])
    doc = OLD.to_dict()
    doc["tiers"] = [doc["tiers"][0], *doc["tiers"][2:]]  # no growth tier
    from custvalue.policy import load_policy

    with pytest.raises(PolicyError, match="same order"):
        PolicySet([("2025-01", OLD), ("2026-01", load_policy(doc))])
    with pytest.raises(PolicyError, match="expected a Policy"):
        PolicySet([("2025-01", "default")])  # type: ignore[list-item]
    with pytest.raises(PolicyError, match="expected a month"):
        PolicySet([(202501, OLD)])  # type: ignore[list-item]


@settings(max_examples=12, deadline=None)
@given(change=st.integers(0, 13))
def test_each_month_is_evaluated_under_the_version_in_force(change: int) -> None:
    m_change = P.months[change]
    ps = PolicySet([(P.months[0], OLD), (m_change, NEW)]) if change else PolicySet([(P.months[0], NEW)])
    path = evaluate_path(P, ps)
    old_path, new_path = evaluate_path(P, OLD), evaluate_path(P, NEW)
    for j, m in enumerate(P.months):
        want = new_path if m >= m_change else old_path
        assert path.tier_codes[:, j].tolist() == want.tier_codes[:, j].tolist()
        assert path.status_codes[:, j].tolist() == want.status_codes[:, j].tolist()
    a = P.months[-1]
    r = evaluate(P, ps, as_of=a)
    cur = NEW if a >= m_change else OLD
    prev = NEW if a - 1 >= m_change else OLD
    plain = evaluate(P, cur, as_of=a)
    assert r.tier_codes.tolist() == plain.tier_codes.tolist()
    assert r.reason_bits.tolist() == plain.reason_bits.tolist()
    has_prev = P.history_start <= P.n_months - 2
    want_prev = np.where(has_prev, evaluate(P, prev, as_of=a - 1).tier_codes, -1)
    assert r.previous_tier_codes.tolist() == want_prev.tolist()
    m = tier_migration(P, ps, a - 1, a)
    assert int(m.counts.sum()) == P.n_customers


def test_a_change_at_the_as_of_month_moves_customers_up() -> None:
    a = P.months[-1]
    r = evaluate(P, PolicySet([(P.months[0], OLD), (a, NEW)]), as_of=a)
    # lower floors in force from the as-of month: some customers move up, none churn for it
    assert r.counts()["movement"]["up"] > evaluate(P, OLD, as_of=a).counts()["movement"]["up"]


def test_policy_set_files(tmp_path: Path) -> None:
    OLD.dump(tmp_path / "v1.toml")
    NEW.dump(tmp_path / "v2.toml")
    (tmp_path / "set.toml").write_text(
        'schema = "custvalue.policyset/1"\n'
        '[[versions]]\neffective_from = "2025-01"\npolicy = "v1.toml"\n'
        '[[versions]]\neffective_from = "2026-07"\npolicy = "v2.toml"\n',
        encoding="utf-8",
    )
    ps = load_policy_set(tmp_path / "set.toml")
    assert ps.at("2026-07").tier("platinum").aum_floor == 300000
    assert ps.at("2026-06").tier("platinum").aum_floor == 500000
    inline = load_policy_set(
        {
            "schema": "custvalue.policyset/1",
            "versions": [{"effective_from": "2025-01", "policy": OLD.to_dict()}],
        }
    )
    assert inline.at("2026-01") == OLD
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'schema = "custvalue.policyset/1"\n[[versions]]\neffective_from = "2025-01"\npolicy = "v1.toml"\n'
        '[[versions]]\neffective_from = "2025-01"\npolicy = "v2.toml"\n',
        encoding="utf-8",
    )
    with pytest.raises(PolicyError, match="two versions") as exc:
        load_policy_set(bad)
    assert exc.value.file == str(bad)
    (tmp_path / "nos.toml").write_text("[[versions]]\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="schema"):
        load_policy_set(tmp_path / "nos.toml")
    (tmp_path / "extra.toml").write_text(
        'schema = "custvalue.policyset/1"\n[[versions]]\neffective_from = "2025-01"\n'
        'policy = "v1.toml"\nx = 1\n',
        encoding="utf-8",
    )
    with pytest.raises(PolicyError, match="nothing else") as exc2:
        load_policy_set(tmp_path / "extra.toml")
    assert exc2.value.path == "versions[0]"


def test_diff_names_every_kind_of_change() -> None:
    assert not diff_policies(OLD, OLD)
    assert "no changes" in diff_policies(OLD, OLD).text()
    doc = OLD.to_dict()
    doc["aum"] = ["deposits", "wealth"]
    doc["tiers"][1]["window"] = 10
    doc["tiers"][1]["status_bands"] = [
        {"status": "observation", "months_below": "[1..5]"},
        {"status": "attention", "months_below": "[6..10]"},
    ]
    doc["tiers"][2]["criteria"] = doc["tiers"][2]["criteria"][1:]  # drop platinum.card_spend
    doc["tiers"][3]["criteria"][0]["when"] = {"credit_loan": "[250000..600000)"}
    doc["tiers"][3]["criteria"].append({"id": "spend", "when": {"card_spend_12m": ">= 50000"}})
    doc["features"]["card_spend_12m"]["window"] = 5
    from custvalue.policy import load_policy

    d = diff_policies(OLD, load_policy(doc))
    lines = [str(c) for c in d.changes]
    assert "aum: deposits, wealth, investments -> deposits, wealth" in lines
    assert "tiers.growth.window: 12 -> 10" in lines
    assert "tiers.growth.status_bands.observation: [1..6] -> [1..5]" in lines
    assert "tiers.growth.status_bands.attention: [7..12] -> [6..10]" in lines
    assert "tiers.platinum.criteria.card_spend: removed (was card_spend_12m >= 100000)" in lines
    assert (
        "tiers.gold.criteria.credit_loan: credit_loan [300000..600000) -> credit_loan [250000..600000)"
        in lines
    )
    assert "tiers.gold.criteria.spend: added card_spend_12m >= 50000" in lines
    assert any(x.startswith("features.card_spend_12m: sum card_spend window 11") for x in lines)
    assert len(lines) == 8
    assert d.text().splitlines()[0].endswith("8 change(s)")
