"""FEEL arithmetic (DMN 1.5 §10.3.2.3 and §10.3.2.3.x): decimals, nulls, ``**``, output entries.

Expected values are written from the specification's semantics (FEEL numbers
are decimals of 34 significant digits, rounded half even; null propagates;
division by zero is null), not taken from custvalue's output.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from custvalue.rules import (
    DecisionTable,
    FeelSyntaxError,
    NullableColumn,
    OutputClause,
    TableError,
    compile_table,
    evaluate_expression,
    evaluate_table_scalar,
    parse_expression,
)
from custvalue.rules._feel import FEEL_CONTEXT
from custvalue.rules._vexpr import evaluate_columns, evaluate_vector
from custvalue.rules.ast import BinOp, Name, NumberLit

D = Decimal


def ev(text: str, env: dict[str, Any] | None = None) -> Any:
    return evaluate_expression(parse_expression(text), env or {})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2", D(3)),
        ("0.1 + 0.2", D("0.3")),  # decimal, not binary floating point
        ("10 / 4", D("2.5")),
        ("1 / 3", D("0.3333333333333333333333333333333333")),  # 34 significant digits
        ("2 / 3", D("0.6666666666666666666666666666666667")),  # rounded half even
        ("2 ** 10", D(1024)),
        ("2 ** -2", D("0.25")),
        ("1.5 ** 2", D("2.25")),
        ("-2 ** 2", D(4)),  # negation binds tighter than **
        ("2 ** 3 ** 2", D(64)),  # ** is left-associative like the other operators
        ("2 * 3 ** 2", D(18)),  # ** before *
        ("-(1 + 2) * 3", D(-9)),
        ("99999999999999999999 * 99999999999999999999", D("9.999999999999999999800000000000000E+39")),
        ('"foo" + "bar"', "foobar"),
    ],
)
def test_decimal_arithmetic(text: str, expected: object) -> None:
    assert ev(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "1 / 0",
        "0 / 0",
        "null + 1",
        "1 - null",
        "-null",
        '"a" + 1',
        '"" + 1',
        "true + 1",
        '"a" * 2',
        "(-8) ** 0.5",
    ],
)
def test_null_results(text: str) -> None:
    assert ev(text) is None


def test_power_parses_and_prints() -> None:
    e = parse_expression("a ** 2 * b")
    assert e == BinOp("*", BinOp("**", Name("a"), NumberLit(D(2))), Name("b"))
    for text in ("(a ** b) ** c", "a ** (b ** c)", "(-a) ** 2", "a ** -2", "-(a ** 2)"):
        e = parse_expression(text)
        assert parse_expression(str(e)) == e
    with pytest.raises(FeelSyntaxError):
        parse_expression("a ** ")


def test_vectorised_arithmetic_matches_the_spec() -> None:
    cols = {
        "Monthly Salary": np.array([100_050, 250_000, 0], dtype=np.int64),  # fen
        "Months": NullableColumn(np.array([12, 6, 1]), np.array([True, True, False])),
    }
    out = evaluate_columns(
        parse_expression("Monthly Salary * Months"), cols, 3, scales={"Monthly Salary": 100}
    )
    assert out.tolist() == [D("12006.00"), D("15000.00"), None]
    out = evaluate_columns(parse_expression("Monthly Salary / 3"), cols, 3, scales={"Monthly Salary": 100})
    assert out.tolist() == [D("333.5"), D("833.3333333333333333333333333333333"), D(0)]
    out = evaluate_columns(parse_expression("Months / 0"), cols, 3)
    assert out.tolist() == [None, None, None]


def test_int64_overflow_falls_back_to_exact_decimals() -> None:
    cols = {"x": np.array([2**62, -(2**62), 3], dtype=np.int64)}
    # 2**124 has 38 digits: FEEL keeps 34 significant digits, rounded half even
    sq = FEEL_CONTEXT.plus(D(2**124))
    for text, want in [
        ("x * x", [sq, sq, D(9)]),
        ("x + x", [D(2**63), D(-(2**63)), D(6)]),
        ("x - -x", [D(2**63), D(-(2**63)), D(6)]),
        ("x ** 2", [sq, sq, D(9)]),
        ("abs(x) * 4", [D(2**64), D(2**64), D(12)]),
    ]:
        got = evaluate_columns(parse_expression(text), cols, 3).tolist()
        assert [D(g) for g in got] == want, text


def test_division_by_a_power_of_two_and_five_stays_in_int64() -> None:
    v = evaluate_vector(parse_expression("x / 8"), {"x": np.array([1, 12, -3])}, 3)
    assert v.kind == "number"
    assert v.to_values().tolist() == [D("0.125"), D("1.5"), D("-0.375")]
    v = evaluate_vector(parse_expression("x / 3"), {"x": np.array([1, 12, -3])}, 3)
    assert v.kind == "decimal"


# --------------------------------------------------------------------------- random differential

_NAMES = ("a", "b", "c")


def _expr(depth: int) -> st.SearchStrategy[str]:
    leaf = st.one_of(
        st.sampled_from(_NAMES),
        st.integers(-50, 50).map(str),
        st.sampled_from(["0", "0.5", "1.25", "-3", "100", "null", "0.001"]),
    )
    if depth <= 0:
        return leaf
    sub = _expr(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(sub, st.sampled_from(["+", "-", "*", "/"]), sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(sub, st.sampled_from(["0", "1", "2", "3", "-1", "0.5"])).map(
            lambda t: f"({t[0]}) ** {t[1]}"
        ),
        sub.map(lambda x: f"-({x})"),
        st.tuples(st.sampled_from(["abs", "floor", "ceiling"]), sub).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(sub, st.integers(0, 3)).map(lambda t: f"decimal({t[0]}, {t[1]})"),
        st.tuples(st.sampled_from(["min", "max", "sum"]), sub, sub).map(
            lambda t: f"{t[0]}([{t[1]}, {t[2]}])"
        ),
    )


_CELL = st.one_of(st.none(), st.integers(-(10**6), 10**6), st.sampled_from([2**62, -(2**62), 0, 1]))


def _columns(rows: list[tuple[Any, Any, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """a: plain int64 with nulls, b: fen (scale 100), c: float with NaN."""
    cols: dict[str, Any] = {}
    envs: list[dict[str, Any]] = [{} for _ in rows]
    for k, name in enumerate(_NAMES):
        raw = [r[k] for r in rows]
        valid = np.array([v is not None for v in raw])
        if name == "c":
            arr = np.array([np.nan if v is None else float(v % 1000) / 8 for v in raw])
            cols[name] = arr
            for env, v in zip(envs, raw, strict=True):
                env[name] = None if v is None else D(v % 1000) / 8
            continue
        arr = np.array([0 if v is None else v for v in raw], dtype=np.int64)
        cols[name] = NullableColumn(arr, valid)
        for env, v in zip(envs, raw, strict=True):
            env[name] = None if v is None else (D(v) / 100 if name == "b" else D(v))
    return cols, envs


def _agree(expected: object, got: object) -> bool:
    if isinstance(got, np.generic):
        got = got.item()
    if expected is None or got is None:
        return expected is None and got is None
    if isinstance(expected, D):
        return isinstance(got, D | int) and not isinstance(got, bool) and D(got) == expected
    return type(expected) is type(got) and expected == got


@settings(max_examples=150, deadline=None)
@given(text=_expr(3), rows=st.lists(st.tuples(_CELL, _CELL, _CELL), min_size=1, max_size=6))
def test_vectorised_arithmetic_equals_the_reference(text: str, rows: list[tuple[Any, Any, Any]]) -> None:
    expr = parse_expression(text)
    cols, envs = _columns(rows)
    got = evaluate_vector(expr, cols, len(rows), scales={"b": 100}).to_values()
    for i, env in enumerate(envs):
        want = evaluate_expression(expr, env)
        assert _agree(want, got[i]), (text, env, want, got[i])


_OPERAND = st.sampled_from([*_NAMES, "2", "0.5", "-3", "0", "null", "1.125"])


@settings(max_examples=250, deadline=None)
@given(
    left=_OPERAND,
    op=st.sampled_from(["+", "-", "*", "/", "**", "<", "<=", "=", "!=", ">", ">="]),
    right=_OPERAND,
    rows=st.lists(st.tuples(_CELL, _CELL, _CELL), min_size=1, max_size=6),
)
def test_each_operator_vectorised_equals_the_reference(
    left: str, op: str, right: str, rows: list[tuple[Any, Any, Any]]
) -> None:
    if op == "**" and right in _NAMES:
        right = "2"  # keep powers of data columns small enough to compute
    expr = parse_expression(f"{left} {op} {right}")
    cols, envs = _columns(rows)
    got = evaluate_vector(expr, cols, len(rows), scales={"b": 100}).to_values()
    for i, env in enumerate(envs):
        want = evaluate_expression(expr, env)
        assert _agree(want, got[i]), (str(expr), env, want, got[i])


# --------------------------------------------------------------------------- output entries


def _pay_table(policy: str, aggregation: str | None = None) -> DecisionTable:
    return DecisionTable(
        "pay",
        policy,
        ["Monthly Salary", "Years of Service"],
        [OutputClause("Bonus", output_values=["0", "100"])],
        [
            ("senior", ["-", ">= 10"], ["Monthly Salary * 2 + Years of Service * 100"]),
            ("mid", ["-", "[3..10)"], ["Monthly Salary / 3"]),
            ("flat", ["< 5000", "-"], ["100"]),
            ("none", ["-", "< 3"], ["0"]),
        ],
        aggregation=aggregation,
    )


def test_output_entries_are_expressions_over_inputs() -> None:
    t = _pay_table("FIRST")
    assert t.rule_output_exprs(0)[0] is not None and t.rule_outputs(2) == (D(100),)
    got = evaluate_table_scalar(t, {"Monthly Salary": D("3000.50"), "Years of Service": D(12)})
    assert got.value == D("7201.00")
    cols = {"Monthly Salary": np.array([300050, 600000, 100]), "Years of Service": np.array([12, 4, 1])}
    res = compile_table(t, scales={"Monthly Salary": 100}).evaluate(cols)
    assert res.output_values("Bonus").tolist() == [D("7201.00"), D(2000), D(100)]
    assert [res.value(i) for i in range(3)] == [D("7201.00"), D(2000), D(100)]


@pytest.mark.parametrize(
    ("policy", "aggregation"),
    [
        ("FIRST", None),
        ("UNIQUE", None),
        ("ANY", None),
        ("PRIORITY", None),
        ("RULE ORDER", None),
        ("OUTPUT ORDER", None),
        ("COLLECT", None),
        ("COLLECT", "SUM"),
        ("COLLECT", "MIN"),
        ("COLLECT", "MAX"),
        ("COLLECT", "COUNT"),
    ],
)
@settings(max_examples=25, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.one_of(st.none(), st.integers(0, 10**7)), st.one_of(st.none(), st.integers(0, 20))),
        min_size=1,
        max_size=8,
    )
)
def test_compiled_output_expressions_equal_the_reference(
    policy: str, aggregation: str | None, rows: list[tuple[int | None, int | None]]
) -> None:
    t = _pay_table(policy, aggregation)
    sal = [r[0] for r in rows]
    yrs = [r[1] for r in rows]
    cols = {
        "Monthly Salary": NullableColumn(
            np.array([v or 0 for v in sal]), np.array([v is not None for v in sal])
        ),
        "Years of Service": np.ma.MaskedArray(np.array([v or 0 for v in yrs]), mask=[v is None for v in yrs]),
    }
    res = compile_table(t, scales={"Monthly Salary": 100}).evaluate(cols, raise_on_violation=False)
    for i in range(len(rows)):
        env = {
            "Monthly Salary": None if sal[i] is None else D(sal[i]) / 100,
            "Years of Service": None if yrs[i] is None else D(yrs[i]),
        }
        try:
            want: Any = evaluate_table_scalar(t, env).value
        except TableError:
            want = "violation"
        try:
            got: Any = res.value(i)
        except TableError:
            got = "violation"
        assert _same(want, got), (i, env, want, got)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list):
        return (
            isinstance(b, list) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
        )
    return _agree(a, b) if a != "violation" else b == "violation"


def test_question_mark_is_refused_in_output_entries() -> None:
    with pytest.raises(TableError, match="only allowed in input entries"):
        DecisionTable("t", "FIRST", ["x"], ["y"], [("r", ["-"], ["? * 2"])])


def test_unknown_name_in_an_output_entry_names_the_rule() -> None:
    t = DecisionTable("t", "FIRST", ["x"], ["y"], [("r1", ["-"], ["x * rate"])])
    with pytest.raises(TableError, match="missing input column") as info:
        compile_table(t).evaluate({"x": np.array([1])})
    assert info.value.column == "rate"
    assert compile_table(t, constants={"rate": D("0.5")}).evaluate({"x": np.array([3])}).value(0) == D("1.5")
