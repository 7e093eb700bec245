"""Validation finds planted problems; explain shows the deciding values."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from custvalue.rules import (
    CodedColumn,
    DecisionTable,
    OutputClause,
    explain_columns,
    explain_row,
    validate_table,
)


def kinds(findings: list) -> list[tuple[str, str | None]]:  # type: ignore[type-arg]
    return [(f.kind, f.rule_id) for f in findings]


def test_planted_overlap_unique() -> None:
    t = DecisionTable(
        "t",
        "UNIQUE",
        ["x", "card"],
        ["o"],
        [
            ("a", ["[0..100)", '"gold"'], ["1"]),
            ("b", ["[100..200]", '"gold"'], ["2"]),
            ("c", ["[50..150]", '"gold", "diamond"'], ["3"]),
            ("d", ["-", 'not("gold", "diamond")'], ["4"]),
        ],
    )
    found = validate_table(t, {"x": "number", "card": "string"})
    overlaps = [f for f in found if f.kind == "overlap"]
    assert {(f.message.split()[1], f.rule_id) for f in overlaps} == {("a", "c"), ("b", "c")}
    ex = overlaps[0].example
    assert ex is not None and ex["card"] == "gold"
    # example really is matched by both rules
    assert Decimal(50) <= ex["x"] <= Decimal(150)  # type: ignore[operator]


def test_no_overlap_for_adjacent_half_open_intervals() -> None:
    t = DecisionTable(
        "t",
        "UNIQUE",
        ["x"],
        ["o"],
        [("a", ["< 0"], ["1"]), ("b", ["[0..10)"], ["2"]), ("c", [">= 10"], ["3"])],
    )
    assert validate_table(t) == []


def test_planted_gap_with_example() -> None:
    t = DecisionTable(
        "t",
        "UNIQUE",
        ["x"],
        ["o"],
        [("a", ["< 0"], ["1"]), ("b", ["(0..10)"], ["2"]), ("c", [">= 10"], ["3"])],
    )
    found = validate_table(t)
    assert kinds(found) == [("gap", None)]
    assert found[0].example == {"x": Decimal(0)}
    assert found[0].severity == "warning"
    with_default = DecisionTable(
        "t", "UNIQUE", ["x"], [OutputClause("o", default="0")], [("a", ["< 0"], ["1"]), ("c", ["> 0"], ["3"])]
    )
    assert [f.severity for f in validate_table(with_default)] == ["info"]


def test_multi_column_gap() -> None:
    t = DecisionTable(
        "t", "FIRST", ["x", "y"], ["o"], [("a", ["< 10", "true"], ["1"]), ("b", [">= 10", "false"], ["2"])]
    )
    gaps = [f for f in validate_table(t, {"x": "number", "y": "boolean"}) if f.kind == "gap"]
    assert len(gaps) == 1
    ex = gaps[0].example
    assert ex is not None
    assert (ex["x"] < 10 and ex["y"] is False) or (ex["x"] >= 10 and ex["y"] is True)  # type: ignore[operator]


def test_planted_shadowed_rules() -> None:
    t = DecisionTable(
        "tier",
        "FIRST",
        ["aum", "card"],
        ["tier"],
        [
            ("core", [">= 10000000", "-"], ['"core"']),
            ("growth", [">= 5000000", "-"], ['"growth"']),
            ("dead", [">= 6000000", '"diamond"'], ['"x"']),
            ("low", ["< 100", "-"], ['"low"']),
            ("mid", ["[100..5000000)", "-"], ['"mid"']),
            ("union", ["[0..200]", '"gold"'], ['"y"']),
            ("rest", ["-", "-"], ['"potential"']),
        ],
    )
    found = validate_table(t, {"aum": "number", "card": "string"})
    assert ("shadowed", "dead") in kinds(found)
    assert ("shadowed", "union") in kinds(found)  # covered by low + mid together
    dead = next(f for f in found if f.rule_id == "dead")
    assert "growth" in dead.message
    assert ("shadowed", "rest") not in kinds(found)
    assert not [f for f in found if f.kind == "gap"]


def test_never_fires_unknown_names_type_mismatch() -> None:
    t = DecisionTable(
        "t",
        "FIRST",
        ["x", "z"],
        ["o"],
        [
            ("empty", ["(5..5)", "-"], ["1"]),
            ("typed", ['"abc"', "-"], ["2"]),
            ("named", [">= floor", "-"], ["3"]),
        ],
    )
    found = validate_table(t, {"x": "number"})
    ks = kinds(found)
    assert ("never-fires", "empty") in ks
    assert ("type-mismatch", "typed") in ks
    assert ("unknown-name", "named") in ks
    assert ("unknown-name", None) in ks  # z is not an available feature
    assert all(
        f.kind != "unknown-name" or f.rule_id != "named"
        for f in validate_table(t, {"x": "number", "z": "number"}, constants={"floor": 5})
    )


def test_explain_money_and_categorical() -> None:
    t = DecisionTable(
        "tier",
        "FIRST",
        ["max_aum_6", "card"],
        ["tier"],
        [
            ("growth.card", ["-", '"diamond"'], ['"growth"']),
            ("platinum.aum", [">= 500000", "-"], ['"platinum"']),
        ],
    )
    cols = {
        "max_aum_6": np.array([61234500, 100], dtype=np.int64),
        "card": CodedColumn(np.array([1, 0], dtype=np.int8), ("diamond", "gold")),
    }
    e = explain_columns(t, cols, 0, scales={"max_aum_6": 100})
    assert e.matched_rule_ids == ("platinum.aum",)
    lines = e.text().splitlines()
    assert lines[0] == 'rule growth.card did not match: card = "gold" = "diamond"'
    assert lines[1] == "rule platinum.aum matched: max_aum_6 = 612,345.00 >= 500,000"
    check = e.rules[1].checks[0]
    assert check.value == Decimal("612345") and check.passed
    e2 = explain_row(
        t,
        {"max_aum_6": 100, "card": "diamond"},
        scales={"max_aum_6": 100},
        formatters={"max_aum_6": lambda v: f"CNY {v}"},
    )
    assert e2.rules[1].checks[0].display_value == "CNY 1"
    assert e2.matched_rule_ids == ("growth.card",)
