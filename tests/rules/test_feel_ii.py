"""FEEL as analysts write it, part II: names whose later words are numbers, if/between/in,
list literals and list functions, times of day, a date compared with a date-time, and the
operator semantics checked against the DMN TCK (expected values from DMN 1.5 and the TCK,
not from custvalue)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal as D
from typing import Any

import numpy as np
import pytest

from custvalue.rules import (
    CodedColumn,
    DecisionTable,
    FeelSyntaxError,
    TableError,
    compile_table,
    evaluate_expression,
    match_unary_tests,
    parse_expression,
    parse_unary_tests,
)
from custvalue.rules._vexpr import evaluate_vector
from custvalue.rules.ast import BinOp, Call, EqualTest, If, In, IntervalTest, ListLit, Name, NumberLit


def feel(text: str, **env: Any) -> Any:
    """The scalar value, checked against the vectorised value on a one-row column."""
    expr = parse_expression(text)
    want = evaluate_expression(expr, env)
    cols: dict[str, Any] = {}
    for k, v in env.items():
        cols[k] = np.empty(1, dtype=object)
        cols[k][0] = v
    got = evaluate_vector(expr, cols, 1).to_values()[0]
    assert (want is None and got is None) or (type(want) is type(got) and want == got), (text, want, got)
    return want


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Extra days case 1", "Extra days case 1"),
        ("Flight 234 pre check", "Flight 234 pre check"),
        ("applicant.case 2", "applicant.case 2"),
        ("Days in Month", "Days in Month"),  # "in" followed by a word is part of the name
    ],
)
def test_names_whose_later_words_are_numbers(text: str, name: str) -> None:
    assert parse_expression(text) == Name(name)


def test_a_number_after_a_name_joins_it_but_not_a_decimal() -> None:
    assert parse_expression("max(case 1, case 3)") == Call("max", [Name("case 1"), Name("case 3")])
    with pytest.raises(FeelSyntaxError):
        parse_expression("case 1.5")


def test_exponentiation_follows_the_tck() -> None:
    # DMN TCK compliance-level-3/0075-feel-exponent: "-a**b parses as (-a)**b" (decision_001_a:
    # -3 ** 2 = 9) and "exponent is LEFT associative" (decision_001: 3 ** 4 ** 5 = 3486784401)
    assert feel("-3 ** 2") == D(9)
    assert feel("3 ** 4 ** 5") == D(3486784401)
    assert feel('"foo" ** 4') is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # DMN TCK compliance-level-3/0068-feel-equality list_001 .. list_005
        ("[1,2,3] = [1,2,3]", True),
        ("[1,1,1] = [1,1,1,1]", False),
        ("[1,1,1] = [1,1,2]", False),
        ("[] = []", True),
        ("[1,2,3] = [3,2,1]", False),
        ("[] = null", False),
        ("[] = 0", None),
        # time_001 .. time_003, time_010, time_012
        ('time("10:30:00") = time("10:30:00")', True),
        ('time("10:30:00") = time("10:30:01")', False),
        ('time("10:30:00.0000") = time("10:30:00")', True),
        ('time("10:30:00Z") = time("10:30:00+00:00")', True),
        ('time("10:30:00") = 100', None),
    ],
)
def test_equality_follows_the_tck(text: str, expected: bool | None) -> None:
    assert feel(text) is expected


def test_if_between_in() -> None:
    assert feel('if x > 3 then "big" else "small"', x=D(5)) == "big"
    assert feel('if x > 3 then "big" else "small"', x=None) == "small"  # null condition: else
    assert feel("x between 1 and 5", x=D(5)) is True
    assert feel("x between 1 and 5", x=None) is None
    assert feel("x in (1, 2, 3)", x=D(2)) is True
    assert feel("x in [1..5)", x=D(5)) is False
    assert feel("x in [1, 2, 3]", x=D(4)) is False  # a list: one of its items
    assert feel("x in < 3", x=D(2)) is True
    assert feel("x in (L)", x=D(2), L=[D(1), D(2)]) is True
    assert feel("x in (null)", x=None) is True


def test_list_functions() -> None:
    assert feel("count([1, 2, x])", x=None) == D(3)
    assert feel("count(L)", L=[D(1), D(2)]) == D(2)
    assert feel("mean([1, 2, 3, 4])") == D("2.5")
    assert feel("mean([1, x])", x=None) is None
    assert feel("sum(L)", L=[D(1), D("2.5")]) == D("3.5")
    assert feel("max(L)", L=[D(1), D(7)]) == D(7)
    assert feel("list contains([1, x], 2)", x=D(2)) is True
    assert feel('list contains(L, "b")', L=["a"]) is False
    assert feel("list contains(null, 1)") is None


def test_parsed_forms_and_errors() -> None:
    assert parse_expression("if a then 1 else 2") == If(Name("a"), NumberLit(D(1)), NumberLit(D(2)))
    assert parse_expression("x in [1, 2]") == In(
        Name("x"), parse_unary_tests("[1, 2]")
    ) and parse_unary_tests("[1, 2]").tests == (EqualTest(ListLit([NumberLit(D(1)), NumberLit(D(2))])),)
    assert isinstance(parse_unary_tests("[1..2]").tests[0], IntervalTest)
    for text, fragment in [
        ("if a then 1", "expected 'else'"),
        ("if a 1 else 2", "expected 'then'"),
        ("x between 1", "expected 'and'"),
        ("upper case([a])", "does not take a list"),
    ]:
        with pytest.raises(FeelSyntaxError, match=fragment):
            parse_expression(text)


def test_unary_tests_with_lists() -> None:
    assert match_unary_tests(parse_unary_tests("[1, 2, 3]"), 2)
    assert not match_unary_tests(parse_unary_tests("[1, 2, 3]"), 4)
    assert match_unary_tests(parse_unary_tests("not([1, 2, 3])"), 4)
    assert match_unary_tests(parse_unary_tests("not([1, 2, 3])"), None)  # null is not an item


def test_times_of_day() -> None:
    assert feel('time("10:30:00") + duration("PT2H")') == dt.time(12, 30)
    assert feel('time("23:30:00") + duration("PT1H")') == dt.time(0, 30)  # around the clock
    assert feel('time("09:00:00") - time("10:30:00")') == -dt.timedelta(hours=1, minutes=30)
    assert feel('t < time("12:00:00")', t=dt.time(11, 59)) is True
    assert feel('time("10:30:00Z") = time("11:30:00+01:00")') is True
    assert feel('time("10:30:00") < time("10:30:00Z")') is None  # local vs offset: not comparable
    assert feel('time("10:30:00") + duration("P1M")') is None
    assert feel("time(10, 30, 15).second") == D(15)
    assert feel('time(date and time("2026-01-01T08:15:00"))') == dt.time(8, 15)
    assert str(parse_expression('time("10:30:00")')) == 'time("10:30:00")'


def test_named_time_zones_are_refused() -> None:
    with pytest.raises(FeelSyntaxError, match="named time zones are not supported"):
        parse_expression('time("10:30:00@Europe/Paris")')
    with pytest.raises(FeelSyntaxError, match="named time zones are not supported"):
        parse_expression('date and time("2026-01-01T10:30:00@Asia/Shanghai")')
    with pytest.raises(FeelSyntaxError, match="invalid time literal"):
        parse_expression('time("25:00:00")')


def test_a_date_compared_with_a_date_time_is_its_midnight() -> None:
    # DMN 1.5 (10.3.2.3.5, issue DMN15-44): where necessary a date is the date-time of its
    # midnight (UTC midnight when the date-time has an offset)
    assert feel('date("2026-01-01") = date and time("2026-01-01T00:00:00")') is True
    assert feel('date("2026-01-01") < date and time("2026-01-01T10:00:00")') is True
    assert feel('date("2026-01-02") <= date and time("2026-01-01T23:59:59")') is False
    assert feel('date("2026-01-01") = date and time("2026-01-01T00:00:00Z")') is True
    assert feel('date("2026-01-01") < date and time("2026-01-01T00:30:00+01:00")') is False  # 23:30Z
    d = np.array(["2026-01-01", "2026-01-02"], dtype="datetime64[D]")
    t = np.array(["2026-01-01T00:00", "2026-01-01T12:00"], dtype="datetime64[us]")
    got = evaluate_vector(parse_expression("d >= t"), {"d": d, "t": t}, 2).to_values().tolist()
    assert got == [True, True]


def test_tests_on_ordered_categories_cannot_read_other_inputs() -> None:
    t = DecisionTable("t", "FIRST", ["card"], ["o"], [("r", [">= floor"], ["1"])])
    card = CodedColumn(np.array([0, 1]), ("none", "gold"), ordered=True)
    with pytest.raises(TableError, match="ordered categories cannot read another input"):
        compile_table(t).evaluate({"card": card, "floor": np.array(["gold", "gold"], dtype=object)})


def test_weekday_and_time_offset_properties() -> None:
    # DMN 1.5 table 65 (10.3.2.15): weekday is 1 (Monday) to 7; time offset a days and time duration
    days = np.arange(np.datetime64("2023-12-25"), np.datetime64("2024-03-10"))  # across a leap day
    want = [D(x.astype(object).isoweekday()) for x in days]
    assert evaluate_vector(parse_expression("d.weekday"), {"d": days}, len(days)).to_values().tolist() == want
    assert [evaluate_expression(parse_expression("d.weekday"), {"d": x.astype(object)}) for x in days] == want
    assert feel('date("2026-03-01").weekday') == D(7)  # a Sunday
    assert feel('date and time("2026-03-02T10:00:00").weekday') == D(1)
    assert feel('time("10:30:00+01:00").time offset') == dt.timedelta(hours=1)
    assert feel('date and time("2026-03-01T10:00:00-05:30").time offset') == -dt.timedelta(
        hours=5, minutes=30
    )
    assert feel('time("10:30:00").time offset') is None  # a local time has no offset


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("some v in L satisfies v > 1", "quantified expressions"),
        ("every v in [1, 2] satisfies v > 1", "quantified expressions"),
        ("for v in L return v * 2", "for expressions"),
        ("count(for v in L return v)", "for expressions"),
        ("{a: 1}", "contexts ({key: value}) are not supported"),
        ("L[1]", "filters and list indexing"),
        ("x instance of number", "'instance of' is not supported"),
        ("function(a) a + 1", "function definitions are not supported"),
        ('@"2026-01-01"', "temporal literals"),
        ("2e3", "exponent notation"),
        ("[1..5]", "a range ([a..b]) is only supported as a unary test or after 'in'"),
    ],
)
def test_unsupported_feel_is_named(text: str, fragment: str) -> None:
    with pytest.raises(FeelSyntaxError, match=re.escape(fragment)):
        parse_expression(text)


def test_words_of_unsupported_forms_still_make_names() -> None:
    # "return", "satisfies" and "instance" are ordinary words of names elsewhere
    assert parse_expression("Expected return * 2") == BinOp("*", Name("Expected return"), NumberLit(D(2)))
    assert parse_expression("for each customer") == Name("for each customer")
    assert parse_expression("instance count") == Name("instance count")
    assert match_unary_tests(parse_unary_tests("]1..5["), 3)  # an outward bracket is not a filter
