"""FEEL names with spaces (DMN 1.5 §10.3.1.2): parsed, compiled, interpreted, explained, exported."""

from __future__ import annotations

from decimal import Decimal

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given

from custvalue.rules import (
    DecisionTable,
    FeelSyntaxError,
    compile_table,
    evaluate_expression,
    evaluate_table_scalar,
    explain_row,
    parse_expression,
    parse_unary_tests,
    read_dmn,
    write_dmn,
)
from custvalue.rules.ast import BinOp, Compare, CompareTest, Name


def test_a_name_of_several_words_is_one_name() -> None:
    e = parse_expression("Monthly Salary * 12 >= Minimum Income")
    assert e == Compare(">=", BinOp("*", Name("Monthly Salary"), _num(12)), Name("Minimum Income"))
    # any amount of whitespace between the words is one space
    assert parse_expression("Monthly \t  Salary") == Name("Monthly Salary")
    assert str(e) == "Monthly Salary * 12 >= Minimum Income"


def test_keywords_end_a_name() -> None:
    e = parse_expression("Has Card and Years of Service > 2 or not(Is Closed)")
    assert {n for n in _names(e)} == {"Has Card", "Years of Service", "Is Closed"}


def test_apostrophes_question_marks_and_other_scripts_inside_names() -> None:
    assert parse_expression("Customer's Age") == Name("Customer's Age")
    assert parse_expression("Credit Score?") == Name("Credit Score?")
    assert parse_expression("月均 资产") == Name("月均 资产")
    with pytest.raises(FeelSyntaxError):
        parse_expression("'quoted'")


def test_unary_test_endpoints_with_spaces() -> None:
    ut = parse_unary_tests(">= Minimum Income, [Low Bound..High Bound)")
    assert ut.tests[0] == CompareTest(">=", Name("Minimum Income"))
    assert str(ut) == ">= Minimum Income, [Low Bound..High Bound)"


_WORDS = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=6
).filter(  # every word the grammar reads as a keyword (``if A`` starts an if-expression)
    lambda w: (
        w
        not in {
            "and",
            "or",
            "not",
            "true",
            "false",
            "null",
            "between",
            "if",
            "then",
            "else",
            "in",
            "instance",
            "of",
        }
    )
)


@given(words=st.lists(_WORDS, min_size=1, max_size=4), value=st.integers(-(10**6), 10**6))
def test_names_round_trip_and_resolve(words: list[str], value: int) -> None:
    name = " ".join(words)
    e = parse_expression(f"{name} + 1")
    assert parse_expression(str(e)) == e
    assert evaluate_expression(e, {name: Decimal(value)}) == Decimal(value + 1)


def _table() -> DecisionTable:
    return DecisionTable(
        "loan",
        "FIRST",
        ["Monthly Salary", "Years of Service"],
        ["Decision"],
        [
            ("high", [">= Salary Floor", "> 2"], ['"approve"']),
            ("rest", ["-", "-"], ['"review"']),
        ],
    )


def test_tables_compile_and_interpret_names_with_spaces() -> None:
    t = _table()
    consts = {"Salary Floor": Decimal(10_000)}
    cols = {"Monthly Salary": np.array([9_999, 10_000, 12_000]), "Years of Service": np.array([5, 5, 1])}
    res = compile_table(t, constants=consts).evaluate(cols)
    assert res.output_values("Decision").tolist() == ["review", "approve", "review"]
    for i in range(3):
        row = {k: Decimal(int(v[i])) for k, v in cols.items()} | consts
        assert evaluate_table_scalar(t, row).value == res.value(i)
    text = str(explain_row(t, {"Monthly Salary": Decimal(10_000), "Years of Service": Decimal(5)} | consts))
    assert "Monthly Salary" in text


def test_dmn_round_trip_keeps_names_with_spaces() -> None:
    model = read_dmn(write_dmn([_table()]).encode())
    t = model.decision().table
    assert [c.source_name for c in t.inputs] == ["Monthly Salary", "Years of Service"]
    assert str(t.rule_tests(0)[0]) == ">= Salary Floor"


def _num(v: int) -> object:
    from custvalue.rules.ast import NumberLit

    return NumberLit(Decimal(v))


def _names(e: object) -> set[str]:
    from custvalue.rules._feel import expr_names

    return expr_names(e)  # type: ignore[arg-type]
