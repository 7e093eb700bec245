"""FEEL dates, date-times and durations (DMN 1.5 §10.3.2.3.4-7, §10.3.4.7).

Expected results follow the specification: date - date is a days and time
duration; a years and months duration added to a date keeps the day, or
the month's last day when it has fewer days; the two duration types are
different types, so comparing them is null.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from custvalue.rules import (
    DecisionTable,
    FeelSyntaxError,
    _vexpr,
    compile_table,
    evaluate_expression,
    evaluate_table_scalar,
    match_unary_tests,
    parse_expression,
    parse_unary_tests,
    validate_table,
)
from custvalue.rules._temporal import YearsMonthsDuration as YM
from custvalue.rules._vexpr import evaluate_columns, evaluate_vector

D = Decimal
TD = dt.timedelta


def ev(text: str, env: dict[str, Any] | None = None) -> Any:
    return evaluate_expression(parse_expression(text), env or {})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('date("2026-10-31")', dt.date(2026, 10, 31)),
        ("date(2026, 10, 31)", dt.date(2026, 10, 31)),
        ('date(date and time("2026-10-31T10:00:00"))', dt.date(2026, 10, 31)),
        ('date and time("2026-10-31T10:00:00")', dt.datetime(2026, 10, 31, 10)),
        (
            'date and time("2026-10-31T10:00:00.5Z")',
            dt.datetime(2026, 10, 31, 10, 0, 0, 500000, dt.UTC),
        ),
        (
            'date and time("2026-10-31T10:00:00+08:00")',
            dt.datetime(2026, 10, 31, 10, tzinfo=dt.timezone(TD(hours=8))),
        ),
        ('duration("P6M")', YM(6)),
        ('duration("P1Y2M")', YM(14)),
        ('duration("-P1Y")', YM(-12)),
        ('duration("P2DT3H")', TD(days=2, hours=3)),
        ('duration("PT1.5S")', TD(seconds=1.5)),
        ('years and months duration(date("2011-12-22"), date("2013-08-24"))', YM(20)),  # spec: P1Y8M
        ('years and months duration(date("2013-08-24"), date("2011-12-22"))', YM(-20)),
        ('date("2026-10-31") + duration("P6M")', dt.date(2027, 4, 30)),  # no April 31st
        ('date("2026-01-31") + duration("P1M")', dt.date(2026, 2, 28)),
        ('date("2024-02-29") + duration("P1Y")', dt.date(2025, 2, 28)),
        ('date("2026-03-31") - duration("P1M")', dt.date(2026, 2, 28)),
        ('date("2026-10-31") + duration("P2D")', dt.date(2026, 11, 2)),
        ('date("2026-10-31") + duration("PT25H")', dt.date(2026, 11, 1)),
        ('date("2026-10-31") - date("2026-01-01")', TD(days=303)),
        ('date and time("2026-10-31T10:00:00") + duration("P2DT3H")', dt.datetime(2026, 11, 2, 13)),
        (
            'date and time("2026-10-31T10:00:00") - date and time("2026-10-30T09:30:00")',
            TD(hours=24, minutes=30),
        ),
        ('date and time("2026-01-31T08:00:00") + duration("P1M")', dt.datetime(2026, 2, 28, 8)),
        ('duration("P1D") + duration("PT12H")', TD(hours=36)),
        ('duration("P1Y") - duration("P2M")', YM(10)),
        ('duration("P1D") * 2', TD(days=2)),
        ('3 * duration("P1M")', YM(3)),
        ('duration("P1D") / 4', TD(hours=6)),
        ('duration("P1D") / duration("PT12H")', D(2)),
        ('duration("P1Y") / duration("P6M")', D(2)),
        ('-duration("P1D")', TD(days=-1)),
        ('abs(duration("-P1D"))', TD(days=1)),
        ('date("2026-10-31").year', D(2026)),
        ('date("2026-10-31").month', D(10)),
        ('duration("P14M").years', D(1)),
        ('duration("P2DT3H").hours', D(3)),
    ],
)
def test_temporal_values_and_arithmetic(text: str, expected: object) -> None:
    got = ev(text)
    assert got == expected and type(got) is type(expected), (got, expected)


@pytest.mark.parametrize(
    "text",
    [
        'duration("P1Y") = duration("P365D")',  # different duration types
        'duration("P1Y") < duration("P365D")',
        'date("2026-01-01") < 5',
        'date("2026-01-01") + 1',
        'date("2026-01-01") + date("2026-01-01")',
        'duration("P1Y") + duration("P1D")',
        'duration("P1D") / 0',
        'date and time("2026-01-01T00:00:00") - date and time("2026-01-01T00:00:00Z")',
        'date("2026-02-30" + "")',  # invalid at run time: null
        'years and months duration(date("2026-01-01"), 5)',
    ],
)
def test_undefined_temporal_operations_are_null(text: str) -> None:
    assert ev(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('date("2026-01-01") < date("2026-01-02")', True),
        ('date("2026-01-01") = date("2026-01-01")', True),
        ('duration("P1Y") = duration("P12M")', True),
        ('duration("P1D") = duration("PT24H")', True),
        ('duration("P1D") > duration("PT23H")', True),
        ('date and time("2026-01-01T08:00:00+08:00") = date and time("2026-01-01T00:00:00Z")', True),
    ],
)
def test_comparisons(text: str, expected: bool) -> None:
    assert ev(text) is expected


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ('date("2026-02-30")', 1),
        ('duration("P1Y2D")', 1),
        ('x + date and time("noon")', 5),
        ('duration("")', 1),
    ],
)
def test_invalid_literals_are_syntax_errors_with_position(text: str, column: int) -> None:
    with pytest.raises(FeelSyntaxError, match="invalid") as info:
        parse_expression(text)
    assert info.value.column == column


def test_date_intervals_in_unary_tests() -> None:
    ut = parse_unary_tests('[date("2026-01-01")..date("2026-12-31")]')
    assert str(parse_unary_tests(str(ut))) == str(ut)
    assert match_unary_tests(ut, dt.date(2026, 1, 1))
    assert match_unary_tests(ut, dt.date(2026, 12, 31))
    assert not match_unary_tests(ut, dt.date(2027, 1, 1))
    assert match_unary_tests(ut, dt.datetime(2026, 6, 1))  # a date compares as its midnight (DMN TCK)
    assert not match_unary_tests(ut, None)
    assert match_unary_tests(parse_unary_tests('< date("2026-01-01"), > duration("P1D")'), TD(days=2))
    assert match_unary_tests(parse_unary_tests('>= duration("P6M")'), YM(7))
    assert not match_unary_tests(parse_unary_tests('>= duration("P6M")'), TD(days=365))


def _expiry_table() -> DecisionTable:
    return DecisionTable(
        "review",
        "FIRST",
        ["Opened", "Tenure"],
        ["Next Review"],
        [
            ("this year", ['[date("2026-01-01")..date("2026-12-31")]', "-"], ['Opened + duration("P6M")']),
            ("old", ['< date("2026-01-01")', '>= duration("P365D")'], ['date("2027-01-01")']),
            ("other", ["-", "-"], ['Opened + duration("P1Y")']),
        ],
    )


def test_compiled_tables_over_datetime64_and_object_date_columns() -> None:
    t = _expiry_table()
    days = ["2026-10-31", "2025-03-01", "2027-02-28", "NaT", "2025-12-31"]
    tenure = np.array([10, 400, 1, 0, 100], dtype="timedelta64[D]")
    want = [
        dt.date(2027, 4, 30),
        dt.date(2027, 1, 1),
        dt.date(2028, 2, 28),
        None,
        dt.date(2026, 12, 31),
    ]
    as_objects = np.array([None if d == "NaT" else dt.date.fromisoformat(d) for d in days], dtype=object)
    for opened in (np.array(days, dtype="datetime64[D]"), as_objects):
        res = compile_table(t).evaluate({"Opened": opened, "Tenure": tenure})
        assert [res.value(i) for i in range(5)] == want
        for i in range(5):
            row = {"Opened": as_objects[i], "Tenure": TD(days=int(tenure[i].astype(int)))}
            assert evaluate_table_scalar(t, row).value == want[i]


def test_validation_does_not_misjudge_date_tests() -> None:
    # tests over dates are outside the cell analysis: no false "never fires" or overlap findings
    assert [f.kind for f in validate_table(_expiry_table())] == []


# --------------------------------------------------------------------------- random differential

_DAYS = st.one_of(st.none(), st.integers(-3000, 40000).map(lambda k: dt.date(1970, 1, 1) + TD(days=k)))
_SECS = st.one_of(st.none(), st.integers(-(10**9), 10**9))
_MONTHS = st.one_of(st.none(), st.integers(-240, 240))

_EXPRS = [
    "d + m",
    "d - m",
    "d + u",
    "d - u",
    "d - e",
    "t + u",
    "t - u",
    "t + m",
    "t - date and time(e)",
    "u + u",
    "u - u",
    "m + m",
    "m * 3",
    "u * 2",
    "u / 2",
    'u / duration("PT1H")',
    "-u",
    "abs(u)",
    "years and months duration(d, e)",
    "years and months duration(t, e)",
    "d < e",
    "d = e",
    "d >= e",
    'm < duration("P1Y")',
    'u > duration("P1D")',
    "u = m",
    "d = t",
    "d.year + d.month * d.day",
    "date(t)",
    "date and time(d)",
    "min([d, e])",
    "max(d, e)",
    'max([u, duration("PT1S")])',
    'd + duration("P1M") > e - duration("P2D")',
]


@settings(max_examples=120, deadline=None)
@given(
    text=st.sampled_from(_EXPRS),
    rows=st.lists(st.tuples(_DAYS, _DAYS, _SECS, _SECS, _MONTHS), min_size=1, max_size=6),
    object_dates=st.booleans(),
)
def test_vectorised_temporal_expressions_equal_the_reference(
    text: str, rows: list[tuple[Any, ...]], object_dates: bool
) -> None:
    expr = parse_expression(text)
    d = [r[0] for r in rows]
    e = [r[1] for r in rows]
    t = [None if s is None else dt.datetime(2000, 1, 1) + TD(seconds=s) for s in (r[2] for r in rows)]
    u = [None if s is None else TD(seconds=s) for s in (r[3] for r in rows)]
    m = [None if k is None else YM(k) for k in (r[4] for r in rows)]
    cols: dict[str, Any] = {
        "d": np.array(d, dtype=object)
        if object_dates
        else np.array(["NaT" if x is None else x.isoformat() for x in d], dtype="datetime64[D]"),
        "e": np.array(e, dtype=object),
        "t": np.array([np.datetime64("NaT") if x is None else np.datetime64(x, "us") for x in t]),
        "u": np.array([np.timedelta64("NaT") if x is None else np.timedelta64(x, "us") for x in u]),
        "m": np.array(m, dtype=object),
    }
    got = evaluate_vector(expr, cols, len(rows)).to_values()
    for i in range(len(rows)):
        env = {"d": d[i], "e": e[i], "t": t[i], "u": u[i], "m": m[i]}
        want = evaluate_expression(expr, env)
        g = got[i]
        assert (want is None and g is None) or (type(want) is type(g) and want == g), (text, env, want, g)


@settings(max_examples=60, deadline=None)
@given(
    tests=st.sampled_from(
        [
            '[date("2000-01-01")..date("2030-12-31")]',
            '< date("2000-01-01"), > date("2040-01-01")',
            'not(date("2020-02-29"))',
            '(date("1999-12-31")..date("2001-01-01")]',
            '? > date("2010-01-01") and ?.month = 2',
            'date("2020-02-29")',
        ]
    ),
    days=st.lists(_DAYS, min_size=1, max_size=8),
)
def test_vectorised_date_tests_equal_the_reference(tests: str, days: list[dt.date | None]) -> None:
    ut = parse_unary_tests(tests)
    col = np.array(["NaT" if x is None else x.isoformat() for x in days], dtype="datetime64[D]")
    got = _vexpr.unary_tests_vector(ut, col, len(days))
    want = [match_unary_tests(ut, x) for x in days]
    assert got.tolist() == want


def test_evaluate_columns_returns_numpy_temporal_dtypes() -> None:
    days = np.array(["2026-10-31", "NaT"], dtype="datetime64[D]")
    out = evaluate_columns(parse_expression('d - date("2026-10-01")'), {"d": days}, 2)
    assert out.dtype == np.dtype("timedelta64[us]")
    assert out[0] == np.timedelta64(30, "D") and np.isnat(out[1])
    out = evaluate_columns(parse_expression("date and time(d)"), {"d": days}, 2)
    assert out.dtype == np.dtype("datetime64[us]")
    out = evaluate_columns(parse_expression('d + duration("P1M")'), {"d": days}, 2)
    assert out.tolist()[0] == dt.date(2026, 11, 30)
    out = evaluate_columns(parse_expression('duration("P1M") * 2'), {"d": days}, 2)
    assert out.tolist() == [YM(2), YM(2)]


def test_validation_analyses_date_and_duration_tests() -> None:
    t = DecisionTable(
        "r",
        "UNIQUE",
        ["d", "u"],
        ["o"],
        [
            ("a", ['[date("2026-01-01")..date("2026-12-31")]', "-"], ["1"]),
            ("b", ['>= date("2026-12-31")', '< duration("P1D")'], ["2"]),
            ("c", ['< date("2026-01-01")', '>= duration("P1D")'], ["3"]),
        ],
    )
    found = {(f.kind, f.rule_id) for f in validate_table(t)}
    assert ("overlap", "b") in found  # both match 2026-12-31
    gap = next(f for f in validate_table(t) if f.kind == "gap")
    assert gap.example is not None and gap.example["d"] < dt.date(2026, 1, 1)
    assert gap.example["u"] < TD(days=1)
    t2 = DecisionTable(
        "m",
        "FIRST",
        ["m"],
        ["o"],
        [("a", ['>= duration("P6M")'], ["1"]), ("b", ['> duration("P1Y")'], ["2"])],
    )
    assert {(f.kind, f.rule_id) for f in validate_table(t2)} == {("shadowed", "b"), ("gap", None)}
