"""The vectorised FEEL evaluator: column kinds, result forms, chaining, agreement with the reference."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import assume, given, settings

from custvalue.rules import (
    CodedColumn,
    DecisionTable,
    FeelSyntaxError,
    NullableColumn,
    compile_table,
    evaluate_expression,
    evaluate_table_scalar,
    parse_expression,
)
from custvalue.rules import _vexpr as vx
from custvalue.rules._feel import FEEL_CONTEXT
from custvalue.rules._temporal import YearsMonthsDuration

D = Decimal


def test_result_forms() -> None:
    cols = {"a": np.array([1, 2, 3]), "m": np.ma.MaskedArray([1, 2, 3], mask=[0, 1, 0])}
    out = vx.evaluate_columns(parse_expression("a * 2"), cols, 3)
    assert out.dtype == np.int64 and out.tolist() == [2, 4, 6]
    out = vx.evaluate_columns(parse_expression("a + m"), cols, 3)
    assert isinstance(out, np.ma.MaskedArray) and out.tolist() == [2, None, 6]
    out = vx.evaluate_columns(parse_expression("a > 1"), cols, 3)
    assert out.dtype == bool and out.tolist() == [False, True, True]
    out = vx.evaluate_columns(parse_expression("a * 1.5"), cols, 3)
    assert out.dtype == object and out.tolist() == [D("1.5"), D("3.0"), D("4.5")]
    out = vx.evaluate_columns(parse_expression('"n" + "x"'), cols, 3)
    assert out.tolist() == ["nx"] * 3
    out = vx.evaluate_columns(parse_expression("null"), cols, 3)
    assert out.tolist() == [None] * 3


@pytest.mark.parametrize(
    ("column", "values"),
    [
        (np.array([1, -2], dtype=np.int8), [D(1), D(-2)]),
        (np.array([2**64 - 1, 0], dtype=np.uint64), [D(2**64 - 1), D(0)]),
        (np.array([0.5, np.nan]), [D("0.5"), None]),
        (np.array([True, False]), [True, False]),
        (np.array(["a", "b"]), ["a", "b"]),
        (np.array(["a", None], dtype=object), ["a", None]),
        (np.array([D("1.25"), 3], dtype=object), [D("1.25"), D(3)]),
        (np.array([1, "a"], dtype=object), [D(1), "a"]),
        (CodedColumn(np.array([1, -1], dtype=np.int8), ("x", "y")), ["y", None]),
        (NullableColumn(np.array([7, 8]), np.array([False, True])), [None, D(8)]),
        (np.array(["2026-01-01", "NaT"], dtype="datetime64[D]"), [dt.date(2026, 1, 1), None]),
        (np.array(["2026-01-01T10:00"], dtype="datetime64[m]"), [dt.datetime(2026, 1, 1, 10)]),
        (np.array([3, 90], dtype="timedelta64[s]"), [dt.timedelta(seconds=3), dt.timedelta(seconds=90)]),
        (np.array([14], dtype="timedelta64[M]"), [YearsMonthsDuration(14)]),
        (np.array([YearsMonthsDuration(2), None], dtype=object), [YearsMonthsDuration(2), None]),
        (
            np.array([dt.datetime(2026, 1, 1, tzinfo=dt.UTC), None], dtype=object),
            [dt.datetime(2026, 1, 1, tzinfo=dt.UTC), None],
        ),
    ],
)
def test_column_kinds(column: Any, values: list[Any]) -> None:
    assert vx.to_vector(column).to_values().tolist() == values


def test_scales() -> None:
    v = vx.to_vector(np.array([12345, -5]), scale=100)
    assert (v.kind, v.exp) == ("number", 2)
    assert v.to_values().tolist() == [D("123.45"), D("-0.05")]
    v = vx.to_vector(np.array([1, 2]), scale=3)
    assert v.to_values().tolist() == [FEEL_CONTEXT.divide(D(1), D(3)), FEEL_CONTEXT.divide(D(2), D(3))]
    with pytest.raises(ValueError, match="integer columns"):
        vx.to_vector(np.array([0.5]), scale=100)


def test_unknown_names_and_functions() -> None:
    with pytest.raises(KeyError):
        vx.evaluate_columns(parse_expression("x + 1"), {}, 1)
    with pytest.raises(KeyError):
        vx.evaluate_columns(parse_expression("bonus(1)"), {}, 1)
    assert vx.evaluate_columns(parse_expression("x + 1"), {}, 2, constants={"x": 4}).tolist() == [5, 5]


def test_vectors_chain_into_compiled_tables() -> None:
    salary = np.array([300_000, 1_000_000, 50_000])  # fen
    yearly = vx.evaluate_vector(
        parse_expression("Monthly Salary * 12"), {"Monthly Salary": salary}, 3, scales={"Monthly Salary": 100}
    )
    assert yearly.kind == "number" and yearly.exp == 2
    t = DecisionTable(
        "band",
        "FIRST",
        ["Yearly"],
        ["band"],
        [("high", [">= 100000"], ['"high"']), ("mid", [">= 30000"], ['"mid"']), ("low", ["-"], ['"low"'])],
    )
    res = compile_table(t).evaluate({"Yearly": yearly})
    assert res.output_values("band").tolist() == ["mid", "high", "low"]


def test_select_and_factorize() -> None:
    n = 4
    a = vx.constant(D("1.5"), n)
    b = vx.to_vector(np.array([10, 20, 30, 40]))
    m1 = np.array([True, False, False, True])
    m2 = np.array([True, True, False, False])
    out = vx.select(n, [(m1, a), (m2, b)])
    assert out.kind == "number" and out.to_values().tolist() == [D("1.5"), D(20), None, D("1.5")]
    coded = vx.factorize(out)
    assert coded.to_values().tolist() == [D("1.5"), D(20), None, D("1.5")]
    mixed = vx.select(n, [(m1, vx.constant("x", n)), (m2, b)])
    assert mixed.to_values().tolist() == ["x", D(20), None, "x"]
    assert vx.factorize(mixed).to_values().tolist() == ["x", D(20), None, "x"]


# --------------------------------------------------------------------------- random differential

_CELLS = st.one_of(
    st.none(),
    st.integers(-100, 100),
    st.sampled_from([D("0.5"), D("-2.25"), D(0)]),
    st.sampled_from(["", "a", "B", "ab"]),
    st.booleans(),
    st.sampled_from([dt.date(2026, 1, 31), dt.date(2024, 2, 29)]),
    st.sampled_from([dt.timedelta(days=1), YearsMonthsDuration(1)]),
    st.sampled_from([dt.datetime(2026, 1, 31), dt.datetime(2026, 1, 31, 12), dt.time(10, 30)]),
)
_OPS = ["+", "-", "*", "/", "**", "=", "!=", "<", "<=", ">", ">=", "and", "or"]


def _random_expr() -> st.SearchStrategy[str]:
    leaf = st.sampled_from(
        ["x", "y", "1", "2.5", '"a"', "true", "null", 'duration("P1D")', 'date("2026-01-01")']
    )
    return st.recursive(
        leaf,
        lambda sub: st.one_of(
            st.tuples(sub, st.sampled_from(_OPS), sub).map(lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
            sub.map(lambda s: f"not({s})"),
            sub.map(lambda s: f"-({s})"),
            st.tuples(st.sampled_from(["abs", "string length", "upper case", "date", "floor"]), sub).map(
                lambda t: f"{t[0]}({t[1]})"
            ),
            st.tuples(st.sampled_from(["min", "max", "sum", "mean", "count"]), sub, sub).map(
                lambda t: f"{t[0]}([{t[1]}, {t[2]}])"
            ),
            st.tuples(sub, sub, sub).map(lambda t: f"if ({t[0]}) then ({t[1]}) else ({t[2]})"),
            st.tuples(sub, sub, sub).map(lambda t: f"({t[0]}) between ({t[1]}) and ({t[2]})"),
            st.tuples(sub, sub, sub).map(lambda t: f"({t[0]}) in (({t[1]}), [{t[2]}, 1], < 2)"),
            st.tuples(sub, sub).map(lambda t: f"list contains([{t[0]}, 2], {t[1]})"),
            st.tuples(sub, sub).map(lambda t: f"[{t[0]}] = [{t[1]}]"),
            sub.map(lambda s: f'({s}) in [date("2026-01-01")..date("2026-12-31")]'),
            sub.map(lambda s: f'time("10:30:00") + ({s})'),
        ),
        max_leaves=6,
    )


@settings(max_examples=200, deadline=None)
@given(text=_random_expr(), xs=st.lists(st.tuples(_CELLS, _CELLS), min_size=1, max_size=6))
def test_any_expression_on_mixed_columns_equals_the_reference(text: str, xs: list[tuple[Any, Any]]) -> None:
    try:
        expr = parse_expression(text)
    except FeelSyntaxError:  # date("a"): an invalid literal is refused while parsing
        assume(False)
        raise
    cols = {"x": np.array([a for a, _ in xs], dtype=object), "y": np.array([b for _, b in xs], dtype=object)}
    got = vx.evaluate_vector(expr, cols, len(xs)).to_values()
    for i, (a, b) in enumerate(xs):
        want = evaluate_expression(expr, {"x": a, "y": b})
        g = got[i]
        assert (want is None and g is None) or (type(want) is type(g) and want == g), (text, a, b, want, g)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(-500, 500)),
            st.one_of(st.none(), st.sampled_from(["Li", "Wei", ""])),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_compiled_tables_with_input_expressions_equal_the_reference(rows: list[tuple[Any, Any]]) -> None:
    t = DecisionTable(
        "t",
        "COLLECT",
        ["x * 2 + 1", "string length(name)", "x"],
        ["o"],
        [
            ("a", ["> 0", "-", "-"], ["x / 4"]),
            ("b", ["-", "[1..2]", "? < 100"], ['name + "!"']),
            ("c", ["<= 1", "not(0)", "-"], ["1"]),
        ],
    )
    xs = [r[0] for r in rows]
    names = [r[1] for r in rows]
    cols = {
        "x": NullableColumn(np.array([v or 0 for v in xs]), np.array([v is not None for v in xs])),
        "name": np.array(names, dtype=object),
    }
    res = compile_table(t).evaluate(cols)
    for i in range(len(rows)):
        want = evaluate_table_scalar(t, {"x": xs[i], "name": names[i]}).value
        assert res.value(i) == want, (rows[i], want, res.value(i))


_TEST_POOL = [
    "-",
    "< 10",
    ">= 2.5, null",
    "[1..5)",
    'not("a", 3)',
    '"a", "B"',
    '< "b"',
    "true",
    'not(< date("2025-01-01"))',
    '[date("2024-01-01")..date("2026-12-31")]',
    '> duration("PT12H")',
    '<= duration("P1M")',
    "? > 0 and ? < 50",
    'string length(?) = 1 or ? = date("2026-01-31")',
    "abs(?) >= 3",
    "not(? = 1)",
]


@settings(max_examples=150, deadline=None)
@given(
    tests=st.lists(st.sampled_from(_TEST_POOL), min_size=1, max_size=3),
    values=st.lists(_CELLS, min_size=1, max_size=8),
    as_coded=st.booleans(),
)
def test_compiled_tests_on_mixed_columns_equal_the_reference(
    tests: list[str], values: list[Any], as_coded: bool
) -> None:
    t = DecisionTable(
        "t",
        "RULE ORDER",
        ["x"],
        ["o"],
        [(f"r{i}", [text], [str(i)]) for i, text in enumerate(tests)],
    )
    col: Any = np.array(values, dtype=object)
    if as_coded:
        try:
            col = CodedColumn.from_values(values)
        except TypeError:  # categories of several types do not sort
            pass
    res = compile_table(t).evaluate({"x": col})
    for i, v in enumerate(values):
        assert res.value(i) == evaluate_table_scalar(t, {"x": v}).value, (tests, v)


def test_coded_columns_keep_booleans_apart_from_numbers() -> None:
    c = CodedColumn.from_values([0, False, True, 1, None])
    assert c.to_values().tolist() == [0, False, True, 1, None]
    assert [type(v) for v in c.to_values().tolist()[:4]] == [int, bool, bool, int]
