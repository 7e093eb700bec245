"""Built-in functions (DMN 1.5 §10.3.4), the ``?`` placeholder, qualified names and user functions.

Expected values are the specification's examples where it gives them
(``substring("foobar", 3) = "obar"``, ``decimal(2.5, 0) = 2``...).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from custvalue.rules import (
    CodedColumn,
    DecisionTable,
    FeelSyntaxError,
    NullableColumn,
    compile_table,
    evaluate_expression,
    evaluate_table_scalar,
    explain_row,
    match_unary_tests,
    parse_expression,
    parse_unary_tests,
)
from custvalue.rules import _vexpr as vx
from custvalue.rules.ast import Call, ExprTest, Name, Placeholder

D = Decimal


def ev(text: str, env: dict[str, Any] | None = None) -> Any:
    return evaluate_expression(parse_expression(text), env or {})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('upper case("aBc4")', "ABC4"),
        ('lower case("aBc4")', "abc4"),
        ('contains("foobar", "of")', False),
        ('contains("foobar", "ob")', True),
        ('starts with("foobar", "fo")', True),
        ('ends with("foobar", "r")', True),
        ('substring("foobar", 3)', "obar"),
        ('substring("foobar", 3, 3)', "oba"),
        ('substring("foobar", -2, 1)', "a"),
        ('substring("foobar", 1, 0)', ""),
        ('substring("foobar", 7)', ""),
        ('substring("\U0001f600ab", 2)', "ab"),  # characters are code points
        ('string length("foo")', D(3)),
        ('string length("")', D(0)),
        ("abs(-10)", D(10)),
        ("abs(10)", D(10)),
        ("floor(1.5)", D(1)),
        ("floor(-1.5)", D(-2)),
        ("floor(-1.56, 1)", D("-1.6")),
        ("ceiling(1.5)", D(2)),
        ("ceiling(-1.5)", D(-1)),
        ("ceiling(-1.56, 1)", D("-1.5")),
        ("decimal(1/3, 2)", D("0.33")),
        ("decimal(1.5, 0)", D(2)),
        ("decimal(2.5, 0)", D(2)),  # half even
        ("decimal(-2.5, 0)", D(-2)),
        ("decimal(1.005, 2)", D("1.00")),
        ("min([1, 2, 3])", D(1)),
        ("min(1)", D(1)),
        ("min(3, 1, 2)", D(1)),
        ("max([1, 2, 3])", D(3)),
        ('max("a", "c", "b")', "c"),
        ("sum([1, 2, 3])", D(6)),
        ("sum(1, 2, 3)", D(6)),
        ("sum([0.1, 0.2])", D("0.3")),
    ],
)
def test_builtin_functions(text: str, expected: object) -> None:
    got = ev(text)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(
    "text",
    [
        "upper case(1)",
        'contains("a", 1)',
        'substring("foobar", 0)',
        'substring("foobar", 1.5)',
        'substring("foobar", 1, -1)',
        "string length(null)",
        'abs("x")',
        "floor(null)",
        "decimal(1.5, 0.5)",
        "min([])",
        "sum([])",
        'sum([1, "a"])',
        'min(1, "a")',
        "max([1, null])",
        "date(1)",
        'date("2026-02-30" + "")',
    ],
)
def test_builtin_functions_give_null_on_bad_arguments(text: str) -> None:
    assert ev(text) is None


def test_function_names_with_spaces_and_keywords_parse_as_calls() -> None:
    assert parse_expression("string length(Customer Name)") == Call("string length", [Name("Customer Name")])
    e = parse_expression('years and months duration(date("2020-01-01"), Opened)')
    assert isinstance(e, Call) and e.function == "years and months duration"
    assert parse_expression(str(e)) == e
    # a keyword still ends a name that is not a built-in's
    assert str(parse_expression("has card and x")) == "has card and x"


@pytest.mark.parametrize(
    ("text", "fragment", "column"),
    [
        ("upper case(a, b)", "takes 1 argument, got 2", 1),
        ("x + substring(a)", "takes 2 to 3 arguments, got 1", 5),
        ('substring(string: "abc", start position: 2)', "named arguments are not supported", 11),
        ("max([a, b], c)", "one list or several values", 1),
        ("upper case([a])", "does not take a list", 1),
        ("applicant.age(3)", "qualified name", 1),
    ],
)
def test_call_errors_keep_position(text: str, fragment: str, column: int) -> None:
    with pytest.raises(FeelSyntaxError) as info:
        parse_expression(text)
    err = info.value
    assert fragment in err.reason
    assert err.column == column and err.text == text and err.pos == column - 1


# --------------------------------------------------------------------------- ?


def test_placeholder_tests() -> None:
    ut = parse_unary_tests("? > 5 and ? < 10")
    assert ut.tests == (ExprTest(parse_expression("? > 5 and ? < 10")),)
    assert [match_unary_tests(ut, v) for v in (5, 7, 10, None)] == [False, True, False, False]
    ut = parse_unary_tests('starts with(?, "A"), "Bob"')
    assert [match_unary_tests(ut, v) for v in ("Alice", "Bob", "Carol", None)] == [True, True, False, False]
    ut = parse_unary_tests("not(? > 3)")
    assert [match_unary_tests(ut, v) for v in (2, 4, None)] == [True, False, False]
    ut = parse_unary_tests("(? > 1) and (? < 3), (1..2)")
    assert [match_unary_tests(ut, v) for v in (D("1.5"), 2, 3)] == [True, True, False]
    assert parse_expression("? + 1") == parse_expression("(?) + 1")
    assert isinstance(parse_expression("?"), Placeholder)
    for text in ("? > 5 and ? < 10", 'starts with(?, "A"), "Bob"', "not(? > 3)", "string length(?) = 3"):
        assert parse_unary_tests(str(parse_unary_tests(text))) == parse_unary_tests(text)


def test_boolean_tests_without_placeholder_are_errors() -> None:
    with pytest.raises(FeelSyntaxError, match="must use '\\?'") as info:
        parse_unary_tests("1, x > 5")
    assert info.value.column == 4


_PLACEHOLDER_TESTS = [
    "? > 5 and ? < 10",
    "? = 3 or ? < -5",
    "not(? > 0)",
    "abs(?) <= 7",
    "? * 2 > 11, -1",
    "decimal(? / 3, 0) = 2",
    'starts with(?, "A")',
    'string length(?) = 3 or ends with(?, "z")',
    'upper case(?) = "BOB"',
    'substring(?, 2, 1) = "o"',
]
_VALUES = st.one_of(
    st.none(),
    st.integers(-12, 12),
    st.sampled_from(["Alice", "Bob", "bob", "Zz", "", "Aoz", "xyz"]),
)


@settings(max_examples=150, deadline=None)
@given(tests=st.sampled_from(_PLACEHOLDER_TESTS), values=st.lists(_VALUES, min_size=1, max_size=8))
def test_vectorised_placeholder_tests_equal_the_reference(tests: str, values: list[Any]) -> None:
    ut = parse_unary_tests(tests)
    want = [match_unary_tests(ut, v) for v in values]
    if all(v is None or isinstance(v, int) for v in values):
        col: Any = NullableColumn(
            np.array([v or 0 for v in values]), np.array([v is not None for v in values])
        )
    elif all(v is None or isinstance(v, str) for v in values):
        col = CodedColumn.from_values(values)
    else:
        col = np.array(values, dtype=object)
    assert vx.unary_tests_vector(ut, col, len(values)).tolist() == want
    t = DecisionTable("t", "FIRST", ["x"], ["hit"], [("yes", [tests], ["true"]), ("no", ["-"], ["false"])])
    res = compile_table(t).evaluate({"x": col})
    assert [res.value(i) for i in range(len(values))] == want
    assert [evaluate_table_scalar(t, {"x": v}).value for v in values] == want


# --------------------------------------------------------------------------- vectorised built-ins

_FUNCTION_EXPRS = [
    "upper case(s)",
    "lower case(s) + s",
    'contains(s, "o")',
    "starts with(s, t)",
    "ends with(s, t)",
    "substring(s, n)",
    "substring(s, n, 2)",
    "substring(s, -1 * n, n)",
    "string length(s) + n",
    "abs(n - 3)",
    "floor(n / 4)",
    "ceiling(n / 4)",
    "floor(n * 1.25, 1)",
    "decimal(n / 8, 2)",
    "decimal(n * 0.15, 1)",
    "min([n, 3, n * 2])",
    "max(n, 0)",
    "sum([n, n, 1])",
    "sum(n)",
    "min([s, t])",
    "max(s, t)",
    "s + t",
]


@settings(max_examples=200, deadline=None)
@given(
    text=st.sampled_from(_FUNCTION_EXPRS),
    rows=st.lists(
        st.tuples(
            st.one_of(st.none(), st.text(alphabet="aboZ\u00e9\u00df ", max_size=5)),
            st.one_of(st.none(), st.sampled_from(["o", "", "ab", "Z"])),
            st.one_of(st.none(), st.integers(-9, 9)),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_vectorised_functions_equal_the_reference(text: str, rows: list[tuple[Any, Any, Any]]) -> None:
    expr = parse_expression(text)
    s = [r[0] for r in rows]
    t = [r[1] for r in rows]
    n = [r[2] for r in rows]
    cols = {
        "s": np.array(s, dtype=object),
        "t": CodedColumn.from_values(t),
        "n": np.ma.MaskedArray(np.array([v or 0 for v in n]), mask=[v is None for v in n]),
    }
    got = vx.evaluate_vector(expr, cols, len(rows)).to_values()
    for i in range(len(rows)):
        want = evaluate_expression(expr, {"s": s[i], "t": t[i], "n": n[i]})
        g = got[i]
        assert (want is None and g is None) or (type(want) is type(g) and want == g), (text, rows[i], want, g)


# --------------------------------------------------------------------------- qualified names


def test_qualified_names() -> None:
    e = parse_expression("applicant.age + applicant.monthly income * 12")
    assert parse_expression(str(e)) == e
    assert e.left == Name("applicant.age")  # type: ignore[union-attr]
    nested = {"applicant": {"age": 41, "monthly income": D("1000.5")}}
    flat = {"applicant.age": 41, "applicant.monthly income": D("1000.5")}
    assert evaluate_expression(e, nested) == evaluate_expression(e, flat) == D("12047.0")
    assert evaluate_expression(parse_expression("applicant.city"), nested) is None  # missing entry: null
    with pytest.raises(KeyError):
        evaluate_expression(parse_expression("customer.age"), nested)
    cols = {"applicant.age": np.array([41, 20]), "applicant.monthly income": np.array([10, 20])}
    assert vx.evaluate_columns(e, cols, 2).tolist() == [161, 260]
    people = np.array([{"age": 41, "monthly income": 10}, {"age": 20}], dtype=object)
    assert vx.evaluate_columns(e, {"applicant": people}, 2).tolist() == [161, None]


def test_tables_over_qualified_names() -> None:
    t = DecisionTable(
        "risk",
        "UNIQUE",
        ["applicant.age", "string length(applicant.name)"],
        ["risk"],
        [
            ("young", ["< 25", "-"], ['"high"']),
            ("short", [">= 25", "<= 3"], ['"medium"']),
            ("rest", [">= 25", "> 3"], ['"low"']),
        ],
    )
    cols = {"applicant.age": np.array([20, 30, 40]), "applicant.name": np.array(["Li", "Wei", "Zhang"])}
    res = compile_table(t).evaluate(cols)
    assert res.output_values("risk").tolist() == ["high", "medium", "low"]
    for i, (age, name) in enumerate([(20, "Li"), (30, "Wei"), (40, "Zhang")]):
        row = {"applicant": {"age": age, "name": name}}
        assert evaluate_table_scalar(t, row).value == res.value(i)
    assert "applicant.age = 20 < 25" in str(explain_row(t, {"applicant": {"age": 20, "name": "Li"}}))


# --------------------------------------------------------------------------- user functions


def test_user_functions_scalar_and_vectorised() -> None:
    e = parse_expression("Monthly Salary * bonus rate(Years of Service) + sum([1, 2])")

    def rate(years: object) -> object:
        return None if years is None else (D("0.1") if years >= 5 else D("0.05"))  # type: ignore[operator]

    def rate_v(args: Sequence[np.ndarray]) -> np.ndarray:
        years = args[0]
        return np.where(np.ma.getdata(years) >= 5, D("0.1"), D("0.05")).astype(object)

    env = {"Monthly Salary": D(1000), "Years of Service": D(6)}
    assert evaluate_expression(e, env, {"bonus rate": rate}) == D("103.0")
    cols = {"Monthly Salary": np.array([1000, 2000]), "Years of Service": np.array([6, 1])}
    assert vx.evaluate_columns(e, cols, 2, {"bonus rate": rate_v}).tolist() == [D("103.0"), D("103.00")]
    with pytest.raises(KeyError):
        evaluate_expression(e, env)
    t = DecisionTable("b", "FIRST", ["Years of Service"], ["Bonus"], [("r", ["-"], [str(e)])])
    ct = compile_table(t, functions={"bonus rate": rate_v})
    assert [ct.evaluate(cols).value(i) for i in range(2)] == [D(103), D(103)]
    assert evaluate_table_scalar(t, env, functions={"bonus rate": rate}).value == D(103)
