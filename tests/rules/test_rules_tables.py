"""Decision tables: construction errors, hit policies, compiled edges."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from custvalue.rules import (
    CodedColumn,
    DecisionTable,
    HitPolicyViolation,
    NullableColumn,
    OutputClause,
    TableError,
    compile_table,
    evaluate_table_scalar,
    read_dmn,
    write_dmn,
)


def test_construction_errors_name_table_rule_column() -> None:
    with pytest.raises(TableError) as info:
        DecisionTable(
            "tier", "FIRST", ["aum", "card"], ["tier"], [("core", [">= 1", '"diamond" "x"'], ['"core"'])]
        )
    err = info.value
    assert (err.table, err.rule_id, err.column) == ("tier", "core", "card")
    assert err.path == "tier/core/card"
    with pytest.raises(TableError, match="2 input entries"):
        DecisionTable("t", "FIRST", ["a"], ["o"], [("r", ["1", "2"], ["1"])])
    with pytest.raises(TableError, match="duplicate rule id"):
        DecisionTable("t", "FIRST", ["a"], ["o"], [("r", ["1"], ["1"]), ("r", ["2"], ["1"])])
    with pytest.raises(TableError, match="only allowed in input entries"):
        DecisionTable("t", "FIRST", ["a"], ["o"], [("r", ["1"], ["? + 1"])])
    with pytest.raises(TableError, match="unknown hit policy"):
        DecisionTable("t", "SOMETIMES", ["a"], ["o"], [])
    with pytest.raises(TableError, match="only allowed with COLLECT"):
        DecisionTable("t", "FIRST", ["a"], ["o"], [], aggregation="SUM")


def _age_table(policy: str, aggregation: str | None = None) -> DecisionTable:
    return DecisionTable(
        "t",
        policy,
        ["age"],
        [OutputClause("o", output_values=["low", "mid", "high"])] if aggregation is None else ["o"],
        [
            ("r1", [">= 18"], ['"mid"' if aggregation is None else "10"]),
            ("r2", [">= 60"], ['"high"' if aggregation is None else "2.5"]),
            ("r3", ["< 18"], ['"low"' if aggregation is None else "1"]),
            ("r4", ["> 65"], ['"mid"' if aggregation is None else "7"]),
        ],
        aggregation=aggregation,
    )


AGES = [Decimal(10), Decimal(30), Decimal(62), Decimal(70)]


@pytest.mark.parametrize(
    ("policy", "aggregation", "expected"),
    [
        ("FIRST", None, ["low", "mid", "mid", "mid"]),
        ("PRIORITY", None, ["low", "mid", "mid", "mid"]),
        ("RULE ORDER", None, [["low"], ["mid"], ["mid", "high"], ["mid", "high", "mid"]]),
        ("OUTPUT ORDER", None, [["low"], ["mid"], ["mid", "high"], ["mid", "mid", "high"]]),
        ("COLLECT", None, [["low"], ["mid"], ["mid", "high"], ["mid", "high", "mid"]]),
        ("COLLECT", "SUM", [Decimal(1), Decimal(10), Decimal("12.5"), Decimal("19.5")]),
        ("COLLECT", "MIN", [Decimal(1), Decimal(10), Decimal("2.5"), Decimal("2.5")]),
        ("COLLECT", "MAX", [Decimal(1), Decimal(10), Decimal(10), Decimal(10)]),
        ("COLLECT", "COUNT", [Decimal(1), Decimal(1), Decimal(2), Decimal(3)]),
    ],
)
def test_hit_policies(policy: str, aggregation: str | None, expected: list[object]) -> None:
    table = _age_table(policy, aggregation)
    result = compile_table(table).evaluate({"age": np.array([10, 30, 62, 70])})
    for i, age in enumerate(AGES):
        assert evaluate_table_scalar(table, {"age": age}).value == expected[i]
        assert result.value(i) == expected[i]


def test_priority_picks_highest_ranked_output() -> None:
    t = DecisionTable(
        "t",
        "PRIORITY",
        ["x"],
        [OutputClause("o", output_values='"a", "b"')],
        [("r1", [">= 0"], ['"b"']), ("r2", [">= 5"], ['"a"'])],
    )
    assert evaluate_table_scalar(t, {"x": 7}).value == "a"
    assert evaluate_table_scalar(t, {"x": 1}).value == "b"
    assert compile_table(t).evaluate({"x": np.array([7, 1])}).output_values("o").tolist() == ["a", "b"]


def test_unique_and_any_violations() -> None:
    u = _age_table("UNIQUE")
    assert evaluate_table_scalar(u, {"age": 30}).value == "mid"
    with pytest.raises(HitPolicyViolation) as info:
        evaluate_table_scalar(u, {"age": 62})
    assert info.value.rule_ids == ("r1", "r2")
    ct = compile_table(u)
    with pytest.raises(HitPolicyViolation) as vinfo:
        ct.evaluate({"age": np.array([30, 62])})
    assert vinfo.value.row == 1
    res = ct.evaluate({"age": np.array([30, 62])}, raise_on_violation=False)
    assert res.violations is not None and res.violations.tolist() == [False, True]
    with pytest.raises(HitPolicyViolation):
        res.value(1)
    a = _age_table("ANY")
    assert evaluate_table_scalar(a, {"age": 30}).value == "mid"
    with pytest.raises(HitPolicyViolation):
        evaluate_table_scalar(a, {"age": 62})  # mid vs high
    res = compile_table(a).evaluate({"age": np.array([30, 62, 10])}, raise_on_violation=False)
    assert res.violations is not None and res.violations.tolist() == [False, True, False]


def test_no_match_default_and_null() -> None:
    t = DecisionTable(
        "t", "UNIQUE", ["x"], [OutputClause("o", default='"none"'), "p"], [("r1", ["> 0"], ['"pos"', "1"])]
    )
    assert evaluate_table_scalar(t, {"x": -1}).value == {"o": "none", "p": None}
    res = compile_table(t).evaluate({"x": np.array([-1, 1])})
    assert res.value(0) == {"o": "none", "p": None}
    assert res.value(1) == {"o": "pos", "p": Decimal(1)}
    t2 = DecisionTable("t", "FIRST", ["x"], ["o"], [("r1", ["> 0"], ['"pos"'])])
    assert evaluate_table_scalar(t2, {"x": -1}).value is None
    assert compile_table(t2).evaluate({"x": np.array([-1])}).value(0) is None


@pytest.mark.parametrize(
    ("entry", "at", "below", "above"),
    [
        (">= 500000.00", True, False, True),
        ("> 500000.00", False, False, True),
        ("<= 500000.00", True, True, False),
        ("< 500000.00", False, True, False),
        ("= 500000.00", True, False, False),
        ("!= 500000.00", False, True, True),
        ("[500000..600000]", True, False, True),
        ("(500000..600000]", False, False, True),
        ("[400000..500000)", False, True, False),
        ("[400000..500000]", True, True, False),
    ],
)
def test_bounds_plus_minus_one_fen(entry: str, at: bool, below: bool, above: bool) -> None:
    t = DecisionTable("t", "FIRST", ["aum"], ["o"], [("r", [entry], ["1"])])
    fen = np.array([50000000, 49999999, 50000001], dtype=np.int64)
    res = compile_table(t, scales={"aum": 100}).evaluate({"aum": fen})
    assert (res.rule_index >= 0).tolist() == [at, below, above]
    for v, want in zip(fen.tolist(), [at, below, above], strict=True):
        got = evaluate_table_scalar(t, {"aum": Decimal(v) / 100}).matched_rule_ids == ("r",)
        assert got == want


@pytest.mark.parametrize(
    ("entry", "threshold"),
    [
        (">= 500000.005", 50000001),
        ("< 500000.005", 50000001),
        ("<= 500000.005", 50000000),
        ("> 500000.005", 50000000),
    ],
)
def test_non_integral_thresholds_compile_to_exact_integers(entry: str, threshold: int) -> None:
    t = DecisionTable("t", "FIRST", ["aum"], ["o"], [("r", [entry], ["1"])])
    plan = compile_table(t, scales={"aum": 100}).plan({"aum": np.zeros(3, dtype=np.int64)})
    assert any(f" {threshold}" in step for step in plan.steps), plan
    eq = DecisionTable("t", "FIRST", ["aum"], ["o"], [("r", ["= 500000.005"], ["1"])])
    res = compile_table(eq, scales={"aum": 100}).evaluate({"aum": np.array([50000000, 50000001])})
    assert res.rule_index.tolist() == [-1, -1]


def test_int8_column_with_out_of_range_threshold() -> None:
    t = DecisionTable("t", "FIRST", ["x"], ["o"], [("r", [">= 1000"], ["1"]), ("s", ["< -1000"], ["2"])])
    res = compile_table(t).evaluate({"x": np.array([1, 2], dtype=np.int8)})
    assert res.rule_index.tolist() == [-1, -1]


def test_float_columns_are_exact() -> None:
    t = DecisionTable("t", "FIRST", ["x"], ["o"], [("r", ["<= 0.1"], ["1"])])
    res = compile_table(t).evaluate({"x": np.array([0.1, 0.09, np.nan])})
    # the float 0.1 is slightly above the decimal 0.1
    assert res.rule_index.tolist() == [-1, 0, -1]


def test_coded_and_string_columns() -> None:
    t = DecisionTable(
        "t",
        "FIRST",
        ["card"],
        ["o"],
        [("r1", ['"diamond", "platinum"'], ['"top"']), ("r2", ['not("none")'], ['"some"'])],
    )
    coded = CodedColumn(np.array([0, 1, 2, 3, -1], dtype=np.int8), ("none", "gold", "platinum", "diamond"))
    plain = np.array(["none", "gold", "platinum", "diamond", "x"])
    obj = np.array(["none", "gold", "platinum", "diamond", None], dtype=object)
    expected_coded = [-1, 1, 0, 0, 1]  # null satisfies not("none")
    assert compile_table(t).evaluate({"card": coded}).rule_index.tolist() == expected_coded
    assert compile_table(t).evaluate({"card": obj}).rule_index.tolist() == expected_coded
    assert compile_table(t).evaluate({"card": plain}).rule_index.tolist() == [-1, 1, 0, 0, 1]


def test_nullable_and_masked_columns() -> None:
    t = DecisionTable(
        "t", "FIRST", ["x"], ["o"], [("r1", ["null"], ['"null"']), ("r2", ["not(< 5)"], ['"big"'])]
    )
    col = NullableColumn(np.array([1, 7, 99]), np.array([True, True, False]))
    assert compile_table(t).evaluate({"x": col}).output_values("o").tolist() == [None, "big", "null"]
    masked = np.ma.MaskedArray(np.array([1, 7, 99]), mask=[False, False, True])
    assert compile_table(t).evaluate({"x": masked}).rule_index.tolist() == [-1, 1, 0]


def test_block_sizes_agree() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(0, 1000, 10_000)
    t = _age_table("FIRST")
    ct = compile_table(t)
    a = ct.evaluate({"age": x}, block_size=None).rule_index
    b = ct.evaluate({"age": x}, block_size=777).rule_index
    assert np.array_equal(a, b)


def test_compile_errors() -> None:
    t = DecisionTable("t", "FIRST", ["x"], ["o"], [("r", [">= floor"], ["1"])])
    # a name that is not a constant is another input column, read row by row
    with pytest.raises(TableError, match="missing input column") as info:
        compile_table(t).evaluate({"x": np.zeros(2)})
    assert info.value.column == "floor"
    ct = compile_table(t, constants={"floor": 3})
    with pytest.raises(TableError, match="missing input column"):
        ct.evaluate({"y": np.zeros(2)})
    with pytest.raises(TableError, match="scales apply to integer"):
        compile_table(t, constants={"floor": 3}, scales={"x": 100}).evaluate({"x": np.zeros(2)})


def test_dmn_round_trip() -> None:
    t = DecisionTable(
        "tier",
        "COLLECT",
        ["aum", "card"],
        [OutputClause("score", type_ref="number")],
        [
            ("r1", [">= 500000", '"diamond", "platinum"'], ["1.5"], "big & shiny"),
            ("r2", ["[1..2)", "-"], ["2"]),
        ],
        aggregation="SUM",
    )
    t2 = DecisionTable(
        "other",
        "PRIORITY",
        ["x"],
        [OutputClause("o", "string", '"a", "b"', default='"b"')],
        [("x1", ["<1"], ['"a"'])],
    )
    text = write_dmn([t, t2])
    model = read_dmn(text)
    assert model.decision("tier").table == t
    assert model.decision("other").table == t2
    assert write_dmn([model.decision("tier").table, model.decision("other").table]) == text


def test_dmn_rejects_doctype() -> None:
    evil = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        "<definitions>&e;</definitions>"
    )
    with pytest.raises(TableError, match="DOCTYPE"):
        read_dmn(evil)


def test_a_table_without_inputs_needs_the_row_count() -> None:
    t = DecisionTable("t", "FIRST", [], ["y"], [("r", [], ['"a"'])])
    c = compile_table(t)
    assert c.match_matrix({}, n_rows=3).tolist() == [[True, True, True]]
    assert c.evaluate({}, n_rows=2).output_values("y").tolist() == ["a", "a"]
    with pytest.raises(TableError, match="needs n_rows"):
        c.match_matrix({})
