"""A policy's tier table, segment tables and scoring grade export as one DMN model
that round-trips and decides like the policy."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import attrs
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from custvalue.analytics import policy_dmn, reference_score
from custvalue.cli import main
from custvalue.policy import (
    BonusRule,
    GradeBand,
    ScoreRule,
    ScoringSpec,
    ValueSpec,
    compile_policy,
    default_policy,
    marketing_policy,
)
from custvalue.rules import evaluate_table_scalar, read_dmn, write_dmn

SPEC = ScoringSpec(
    history=(
        ScoreRule("rich", (("aum", ">= 1000000"),), D(60)),
        ScoreRule("some", (("aum", "[100000..1000000)"),), D(30)),
        ScoreRule("card", (("card_level", '"diamond", "platinum"'),), D(20)),
    ),
    forecast=(ScoreRule("growing", (("aum_growth", "> 10"),), D(80)),),
    history_weight=D(60),
    forecast_weight=D(40),
    weights_total=D(100),
    bonus=(BonusRule("vip", (("card_level", '"diamond"'),), D("1.05")),),
    grades=(
        GradeBand("A", "[80..1000]"),
        GradeBand("B", "[50..80)"),
        GradeBand("C", "< 50"),
    ),
    places=2,
)


def scoring_policy():  # type: ignore[no-untyped-def]
    return attrs.evolve(
        marketing_policy(), value=ValueSpec(margins=(("deposits", D("0.015")),), scoring=SPEC)
    )


def test_the_marketing_policy_exports_as_one_model_that_round_trips() -> None:
    model = policy_dmn(marketing_policy())
    assert model.order == ("tier", "activity", "lifecycle")
    text = write_dmn(model)
    assert read_dmn(text) == model
    assert model.input_data["card_level"] == "string" and model.input_data["status"] == "string"


def test_the_exported_tier_decision_decides_like_the_policy() -> None:
    policy = default_policy()
    table = compile_policy(policy).table
    model = read_dmn(write_dmn(policy_dmn(policy)))
    rows = [
        {
            "max_aum_w12": D(12000000),
            "max_aum_w6": D(0),
            "card_spend_12m": 0,
            "mortgage_loan": 0,
            "card_level": "none",
            "credit_loan": 0,
        },
        {
            "max_aum_w12": D(600000),
            "max_aum_w6": D(600000),
            "card_spend_12m": 0,
            "mortgage_loan": 0,
            "card_level": "gold",
            "credit_loan": 0,
        },
        {
            "max_aum_w12": D(1),
            "max_aum_w6": D(1),
            "card_spend_12m": 0,
            "mortgage_loan": 0,
            "card_level": "diamond",
            "credit_loan": 0,
        },
    ]
    for row in rows:
        assert model.evaluate_scalar(row)["tier"] == evaluate_table_scalar(table, row).value


def test_scoring_exports_score_cards_score_and_grade() -> None:
    model = policy_dmn(scoring_policy())
    assert model.order[-5:] == ("history_score", "forecast_score", "bonus", "score", "grade")
    assert model.decision("score").literal is not None
    assert read_dmn(write_dmn(model)) == model


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 3_000_000),
    st.sampled_from(["none", "gold", "platinum", "diamond"]),
    st.none() | st.integers(-50, 50),
)
def test_exported_scores_equal_the_reference_score(aum: int, card: str, growth: int | None) -> None:
    row = {"aum": D(aum), "card_level": card, "aum_growth": None if growth is None else D(growth)}
    want_score, want_grade = reference_score(row, SPEC)
    model = policy_dmn(scoring_policy())
    got = model.evaluate_scalar(row, decision="grade")
    assert got["score"] == want_score
    assert got["grade"] == want_grade
    cols = {
        "aum": np.array([aum]),
        "card_level": np.array([card]),
        "aum_growth": np.ma.MaskedArray([growth or 0], mask=[growth is None]),
    }
    res = model.compile().evaluate(cols, decisions=["grade"])
    assert res.value("score", 0) == want_score and res.value("grade", 0) == want_grade


def test_cli_exports_a_policy_as_dmn(tmp_path: Path) -> None:
    out = tmp_path / "policy.dmn"
    assert main(["policy", "export", "--out", str(out)]) == 0
    model = read_dmn(out)
    assert model == policy_dmn(default_policy())
