"""S-FEEL parser: round trips, error positions, robustness."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custvalue.rules import (
    FeelSyntaxError,
    evaluate_expression,
    match_unary_tests,
    parse_expression,
    parse_unary_tests,
)
from custvalue.rules.ast import (
    And,
    Between,
    BinOp,
    BoolLit,
    Compare,
    CompareTest,
    EqualTest,
    If,
    In,
    IntervalTest,
    ListLit,
    Name,
    Neg,
    Not,
    NullLit,
    NumberLit,
    Or,
    UnaryTests,
)
from custvalue.rules.ast import StringLit as Str

KEYWORDS = {"true", "false", "null", "and", "or", "not", "between", "if", "then", "else", "in"}
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True).filter(lambda s: s not in KEYWORDS)
numbers = st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-(10**9), max_value=10**9)
literals = st.one_of(
    numbers.map(NumberLit), st.text(max_size=6).map(Str), st.booleans().map(BoolLit), st.just(NullLit())
)
endpoints = st.one_of(
    literals.filter(lambda x: not isinstance(x, BoolLit | NullLit)) | literals, names.map(Name)
)


positive_tests = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["<", "<=", ">", ">=", "=", "!="]), endpoints).map(
            lambda t: CompareTest(*t)
        ),
        endpoints.map(EqualTest),
        st.lists(endpoints, max_size=3).map(lambda items: EqualTest(ListLit(items))),
        st.tuples(endpoints, endpoints, st.booleans(), st.booleans()).map(lambda t: IntervalTest(*t)),
    ),
    min_size=1,
    max_size=3,
).map(lambda ts: UnaryTests(tuple(ts)))


def _exprs() -> st.SearchStrategy[object]:
    return st.recursive(
        st.one_of(literals, names.map(Name)),
        lambda inner: st.one_of(
            st.tuples(st.sampled_from("+-*/"), inner, inner).map(lambda t: BinOp(*t)),
            st.tuples(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), inner, inner).map(
                lambda t: Compare(*t)
            ),
            st.tuples(inner, inner).map(lambda t: And(*t)),
            st.tuples(inner, inner).map(lambda t: Or(*t)),
            inner.map(Not),
            inner.filter(lambda e: not isinstance(e, NumberLit)).map(Neg),
            st.tuples(inner, inner, inner).map(lambda t: If(*t)),
            st.tuples(inner, inner, inner).map(lambda t: Between(*t)),
            st.lists(inner, max_size=3).map(ListLit),
            st.tuples(inner, positive_tests).map(lambda t: In(*t)),
        ),
        max_leaves=12,
    )


simple_tests = st.one_of(
    st.tuples(st.sampled_from(["<", "<=", ">", ">=", "=", "!="]), endpoints).map(lambda t: CompareTest(*t)),
    endpoints.map(EqualTest),
    st.tuples(endpoints, endpoints, st.booleans(), st.booleans()).map(lambda t: IntervalTest(*t)),
)
unary = st.one_of(
    st.just(UnaryTests(())),
    st.tuples(st.lists(simple_tests, min_size=1, max_size=4), st.booleans()).map(
        lambda t: UnaryTests(tuple(t[0]), t[1])
    ),
)


@given(_exprs())
def test_expression_round_trip(expr: object) -> None:
    text = str(expr)
    assert parse_expression(text) == expr, text


@given(unary)
def test_unary_tests_round_trip(tests: UnaryTests) -> None:
    text = tests.to_feel()
    assert parse_unary_tests(text) == tests, text


@settings(max_examples=500)
@given(
    st.text(alphabet=st.sampled_from(list('<>=!()[].,"-+*/ 0123456789abnotrufl\\\n')), max_size=30)
    | st.text(max_size=30)
)
def test_arbitrary_text_only_raises_feel_syntax_error(text: str) -> None:
    for parse in (parse_unary_tests, parse_expression):
        try:
            parse(text)
        except FeelSyntaxError as err:
            assert err.line >= 1 and err.column >= 1
            assert err.text == text


def test_deep_nesting_is_a_syntax_error() -> None:
    with pytest.raises(FeelSyntaxError, match="nested too deeply"):
        parse_expression("(" * 500 + "1" + ")" * 500)
    with pytest.raises(FeelSyntaxError):
        parse_expression("-" * 500 + "x")


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        ("[1500000 5000000)", 1, 10, "expected '..'"),
        ("[1..2", 1, 6, "expected ']', ')' or '['"),
        (">= ", 1, 4, "expected a literal or a name"),
        ('"abc', 1, 1, "unterminated string"),
        ("1,\n  >= #", 2, 6, "unexpected character"),
        ("1,\n  >= @", 2, 6, "temporal literals"),
        ("not(1", 1, 6, "expected ')'"),
    ],
)
def test_error_positions(text: str, line: int, column: int, fragment: str) -> None:
    with pytest.raises(FeelSyntaxError) as info:
        parse_unary_tests(text)
    err = info.value
    assert (err.line, err.column) == (line, column)
    assert fragment in str(err)
    assert f"line {line}, column {column}" in str(err)
    caret_line = str(err).splitlines()[-1]
    assert caret_line.endswith("^")


def test_syntax_error_is_value_error() -> None:
    assert issubclass(FeelSyntaxError, ValueError)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[1..5]", [False, True, True, True, False]),
        ("(1..5]", [False, False, True, True, False]),
        ("]1..5]", [False, False, True, True, False]),
        ("[1..5)", [False, True, True, False, False]),
        ("[1..5[", [False, True, True, False, False]),
        ("(1..5)", [False, False, True, False, False]),
        ("]1..5[", [False, False, True, False, False]),
    ],
)
def test_bracket_kinds(text: str, expected: list[bool]) -> None:
    # values: below low, at low, inside, at high, above high
    values = [Decimal("0.99"), Decimal(1), Decimal(3), Decimal(5), Decimal("5.01")]
    tests = parse_unary_tests(text)
    assert [match_unary_tests(tests, v) for v in values] == expected


def test_literals_and_lists() -> None:
    t = parse_unary_tests('"diamond", "platinum"')
    assert match_unary_tests(t, "diamond") and not match_unary_tests(t, "gold")
    assert not match_unary_tests(t, None)
    assert match_unary_tests(parse_unary_tests("<18, >=60"), 70)
    assert match_unary_tests(parse_unary_tests("-"), None)
    assert match_unary_tests(parse_unary_tests("null"), None)
    assert not match_unary_tests(parse_unary_tests("null"), 0)
    assert match_unary_tests(parse_unary_tests("[-5..-1]"), -3)
    assert match_unary_tests(parse_unary_tests("true"), True)
    assert not match_unary_tests(parse_unary_tests("true"), 1)
    assert match_unary_tests(parse_unary_tests("!= 3"), None)  # null != 3 is true
    assert not match_unary_tests(parse_unary_tests("not(< 3)"), None)  # null stays null
    assert match_unary_tests(parse_unary_tests("not(3)"), None)
    assert not match_unary_tests(parse_unary_tests('< "b"'), 1)  # type mismatch


def test_names_in_endpoints() -> None:
    t = parse_unary_tests(">= floor")
    assert match_unary_tests(t, 5, {"floor": Decimal(5)})
    with pytest.raises(KeyError):
        match_unary_tests(t, 5)


def test_expression_semantics() -> None:
    env = {"a": Decimal(2), "s": "x", "n": None}
    assert evaluate_expression(parse_expression("a * 3 + 1"), env) == 7
    assert evaluate_expression(parse_expression("-a"), env) == -2
    assert evaluate_expression(parse_expression("a / 0"), env) is None
    assert evaluate_expression(parse_expression("n + 1"), env) is None
    assert evaluate_expression(parse_expression('a > 1 and s = "x"'), env) is True
    assert evaluate_expression(parse_expression("n > 1 or true"), env) is True
    assert evaluate_expression(parse_expression("n > 1 and true"), env) is None
    assert evaluate_expression(parse_expression("not(a < 1)"), env) is True
    assert evaluate_expression(parse_expression("0.1 + 0.2 = 0.3"), env) is True
    assert parse_expression("1 - -2") == BinOp("-", NumberLit(Decimal(1)), NumberLit(Decimal(-2)))


@pytest.mark.parametrize("text", ["a < b < c", "a between 1", "if a then 1", "1 +", "'x'"])
def test_unsupported_syntax(text: str) -> None:
    with pytest.raises(FeelSyntaxError):
        parse_expression(text)
