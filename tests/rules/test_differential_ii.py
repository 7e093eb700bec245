"""Differential property tests, part II: ``if``/``between``/``in``, list literals and list
functions, and tests reading other inputs, on *typed* columns (scaled int64 with a
validity mask, float64 with NaN, datetime64 with NaT, object strings, object lists), so
that the numpy paths (not only the element-by-element object path) are compared with the
scalar reference row by row."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from custvalue.rules import (
    DecisionTable,
    HitPolicyViolation,
    NullableColumn,
    OutputClause,
    compile_table,
    evaluate_expression,
    evaluate_table_scalar,
    parse_expression,
)
from custvalue.rules._vexpr import evaluate_vector

DATES = [dt.date(2024, 2, 29), dt.date(2025, 12, 31), dt.date(2026, 1, 1), dt.date(2026, 3, 1)]
STAMPS = [dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 1, 12), dt.datetime(2025, 12, 31, 23, 59)]

ROW = st.fixed_dictionaries(
    {
        "a": st.none() | st.integers(-300, 300),  # fen: a scaled int64 column (scale 100)
        "b": st.integers(-3, 3),  # a plain int64 column
        "c": st.sampled_from([float("nan"), -1.5, 0.0, 0.25, 2.0]),  # float64, NaN is null
        "d": st.none() | st.sampled_from(DATES),  # datetime64[D]
        "e": st.none() | st.sampled_from(STAMPS),  # datetime64[us]
        "s": st.none() | st.sampled_from(["", "a", "ab", "B"]),  # object strings
        "L": st.none() | st.lists(st.integers(-2, 2), max_size=3),  # object column of lists
    }
)


def iso(rows: list[dict[str, Any]], key: str) -> list[str]:
    return ["NaT" if r[key] is None else r[key].isoformat() for r in rows]


def columns(rows: list[dict[str, Any]]) -> dict[str, Any]:
    a = [r["a"] for r in rows]
    lists = np.empty(len(rows), dtype=object)
    lists[:] = [r["L"] for r in rows]
    return {
        "a": NullableColumn(
            np.array([v or 0 for v in a], dtype=np.int64), np.array([v is not None for v in a])
        ),
        "b": np.array([r["b"] for r in rows], dtype=np.int64),
        "c": np.array([r["c"] for r in rows], dtype=np.float64),
        "d": np.array(iso(rows, "d"), dtype="datetime64[D]"),
        "e": np.array(iso(rows, "e"), dtype="datetime64[us]"),
        "s": np.array([r["s"] for r in rows], dtype=object),
        "L": lists,
    }


def scalar_row(r: dict[str, Any]) -> dict[str, Any]:
    """The row as the scalar reference sees it (fen as yuan)."""
    return {**r, "a": None if r["a"] is None else Decimal(r["a"]) / 100}


def same(x: Any, y: Any) -> bool:
    if isinstance(x, list) or isinstance(y, list):
        return (
            isinstance(x, list)
            and isinstance(y, list)
            and len(x) == len(y)
            and all(same(p, q) for p, q in zip(x, y, strict=True))
        )
    if x is None or y is None:
        return x is None and y is None
    return type(x) is type(y) and x == y


NUMBERS = st.sampled_from(["a", "b", "c", "1", "-0.5", "2.25", "null"])
DATE_VALUES = st.sampled_from(
    ["d", "e", 'date("2026-01-01")', 'date and time("2026-01-01T06:00:00")', "null"]
)


def _expr() -> st.SearchStrategy[str]:
    def grow(sub: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(sub, st.sampled_from(["+", "-", "*"]), sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(sub, sub, sub).map(lambda t: f"(if {t[0]} > {t[1]} then {t[1]} else {t[2]})"),
            st.tuples(sub, sub, sub).map(lambda t: f"(if {t[0]} between {t[1]} and {t[2]} then 1 else 0)"),
            st.tuples(sub, sub).map(lambda t: f"(if {t[0]} in ({t[1]}, 1, [-1..0)) then {t[1]} else 7)"),
            st.tuples(sub, sub).map(lambda t: f"(if {t[0]} in > {t[1]} then 2 else null)"),
            st.tuples(sub, sub).map(lambda t: f"(if {t[0]} in [{t[1]}, 2] then 1 else 0)"),
            st.tuples(st.sampled_from(["count", "sum", "mean", "min", "max"]), sub, sub).map(
                lambda t: f"{t[0]}([{t[1]}, {t[2]}])"
            ),
            st.tuples(sub, sub).map(lambda t: f"(if list contains([{t[0]}, 1], {t[1]}) then 1 else 0)"),
            st.tuples(sub, sub).map(lambda t: f"(if [{t[0]}, 1] = [{t[1]}, 1] then 1 else 0)"),
        )

    numeric = st.recursive(NUMBERS, grow, max_leaves=6)
    on_dates = st.one_of(
        st.tuples(DATE_VALUES, DATE_VALUES).map(lambda t: f"(if {t[0]} < {t[1]} then 1 else 0)"),
        st.tuples(DATE_VALUES, DATE_VALUES, DATE_VALUES).map(lambda t: f"({t[0]} between {t[1]} and {t[2]})"),
        st.tuples(DATE_VALUES, DATE_VALUES).map(lambda t: f'({t[0]} in [{t[1]}..date("2026-02-01")])'),
        st.sampled_from(["d.weekday", "e.weekday", "d.year + d.month", "if d = e then 1 else 2"]),
    )
    on_lists = st.sampled_from(
        [
            "count(L)",
            "sum(L)",
            "mean(L)",
            "max(L)",
            "list contains(L, b)",
            "b in (L)",
            "if count(L) > b then L else [a]",
            "[b, 1] = L",
        ]
    )
    on_strings = st.sampled_from(
        ['if s in ("a", "B") then s else "z"', 's between "a" and "b"', 'list contains([s, "ab"], "ab")']
    )
    return st.one_of(numeric, numeric, on_dates, on_lists, on_strings)


@settings(max_examples=200, deadline=None)
@given(text=_expr(), rows=st.lists(ROW, min_size=1, max_size=8))
def test_new_constructs_on_typed_columns_equal_the_reference(text: str, rows: list[dict[str, Any]]) -> None:
    expr = parse_expression(text)
    got = evaluate_vector(expr, columns(rows), len(rows), scales={"a": 100}).to_values()
    for i, r in enumerate(rows):
        want = evaluate_expression(expr, scalar_row(r))
        assert same(want, got[i]), (text, r, want, got[i])


TESTS_READING_INPUTS = [
    "> b",
    "<= b * 2",
    "[b..c]",
    "]b..3]",
    "= b",
    "[1, b, -1]",
    "not(b)",
    "not(b, 0)",
    "? between b and c",
    "? in [b..2)",
    "-",
]
OUTPUTS = ["a", "b", "if a > b then a else b", "count([a, b, c])", "a + b", "null"]


@settings(max_examples=150, deadline=None)
@given(
    policy=st.sampled_from(
        [
            ("FIRST", None),
            ("UNIQUE", None),
            ("COLLECT", None),
            ("RULE ORDER", None),
            ("COLLECT", "SUM"),
            ("COLLECT", "MAX"),
            ("COLLECT", "COUNT"),
        ]
    ),
    rules=st.lists(
        st.tuples(st.sampled_from(TESTS_READING_INPUTS), st.sampled_from(OUTPUTS)), min_size=1, max_size=4
    ),
    default=st.none() | st.sampled_from(["b * 10", "if c > 0 then 1 else 2"]),
    rows=st.lists(ROW, min_size=1, max_size=8),
)
def test_tables_with_tests_reading_inputs_equal_the_reference(
    policy: tuple[str, str | None],
    rules: list[tuple[str, str]],
    default: str | None,
    rows: list[dict[str, Any]],
) -> None:
    hit, agg = policy
    assume(agg is None or all(out != "null" for _, out in rules))  # SUM/MAX need number outputs
    table = DecisionTable(
        "t",
        hit,
        ["a"],
        [OutputClause("o", default=default)],
        [(f"r{k}", [test], [out]) for k, (test, out) in enumerate(rules)],
        aggregation=agg,
    )
    res = compile_table(table, scales={"a": 100}).evaluate(columns(rows), raise_on_violation=False)
    for i, r in enumerate(rows):
        try:
            want = evaluate_table_scalar(table, scalar_row(r)).value
        except HitPolicyViolation:
            assert res.violations is not None and bool(res.violations[i]), (i, r)
            continue
        assert same(want, res.value(i)), (policy, rules, default, r, want, res.value(i))
