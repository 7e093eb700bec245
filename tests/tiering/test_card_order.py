"""Card levels are ordered categories: ``>= "gold"`` follows none < standard < gold < platinum < diamond.

Ordering tests used to compare the level names as text (``"none" >= "gold"``
is true alphabetically).  Every path that matches a card test is checked:
the compiled kernel, explain, the scalar reference, and the rules engine's
ordered :class:`CodedColumn` against the scalar matcher.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custvalue import CARD_LEVELS, Portfolio, default_policy, evaluate
from custvalue.policy import Policy, PolicyError
from custvalue.rules import (
    CategoryError,
    CodedColumn,
    DecisionTable,
    TableError,
    compile_table,
    match_unary_tests,
    parse_unary_tests,
)
from custvalue.tiering import reference_evaluate


def _policy(test: str) -> Policy:
    doc = default_policy().to_dict()
    growth = next(t for t in doc["tiers"] if t["id"] == "growth")
    crit = next(c for c in growth["criteria"] if c["id"] == "diamond_card")
    crit["when"] = {"card_level": test}
    return Policy.from_dict(doc)


def _portfolio() -> Portfolio:
    n = len(CARD_LEVELS)
    cards = np.repeat(np.arange(n, dtype=np.int8)[:, None], 14, axis=1)
    return Portfolio.from_arrays(
        customer_ids=list(CARD_LEVELS), branch_ids=["B"] * n, start="2025-09", card_level=cards
    )


@pytest.mark.parametrize(
    ("test", "growth"),
    [
        ('>= "gold"', {"gold", "platinum", "diamond"}),
        ('> "gold"', {"platinum", "diamond"}),
        ('< "gold"', {"none", "standard"}),
        ('["standard".."platinum")', {"standard", "gold"}),
        ('not(<= "standard")', {"gold", "platinum", "diamond"}),
        ('"diamond", "none"', {"diamond", "none"}),
    ],
)
def test_ordering_tests_follow_the_card_order(test: str, growth: set[str]) -> None:
    pol = _policy(test)
    p = _portfolio()
    r = evaluate(p, pol)
    got = {cid for cid, t in zip(p.customer_ids.tolist(), r.tiers().tolist(), strict=True) if t == "growth"}
    assert got == growth
    for i, level in enumerate(CARD_LEVELS):
        ref = reference_evaluate(
            pol,
            {
                c: p.column(c)[i].tolist()
                for c in (
                    "deposits",
                    "wealth",
                    "investments",
                    "mortgage_loan",
                    "credit_loan",
                    "card_spend",
                    "card_level",
                )
            },
            0,
            p.n_months - 1,
        )
        assert (ref["tier"] == "growth") == (level in growth)
        why = r.explain(level)
        check = next(c for t in why.rules if t.rule_id == "growth.diamond_card" for c in t.checks)
        assert check.passed == (level in growth)


def test_unknown_levels_in_policy_tests_are_refused() -> None:
    with pytest.raises(PolicyError, match="unknown card level 'bronze'") as info:
        _policy('>= "bronze"')
    assert info.value.path is not None and info.value.path.endswith("when.card_level")


def test_the_scalar_matcher_ranks_only_with_an_order() -> None:
    t = parse_unary_tests('>= "gold"')
    assert match_unary_tests(t, "none")  # FEEL text order: "none" > "gold"
    assert not match_unary_tests(t, "none", order=CARD_LEVELS)
    with pytest.raises(CategoryError):
        match_unary_tests(t, "bronze", order=CARD_LEVELS)


def test_an_ordered_column_refuses_unknown_categories() -> None:
    table = DecisionTable("t", "FIRST", ["x"], ["y"], [("r", ['>= "bronze"'], ["1"])])
    col = CodedColumn(np.array([0, 1], dtype=np.int8), ("low", "high"), ordered=True)
    with pytest.raises(TableError, match="unknown category 'bronze'"):
        compile_table(table).evaluate({"x": col})


ENDS = st.sampled_from(CARD_LEVELS)


@st.composite
def card_tests(draw: st.DrawFn) -> str:
    def simple() -> str:
        kind = draw(st.integers(0, 2))
        if kind == 0:
            return f'{draw(st.sampled_from(["<", "<=", ">", ">=", "!="]))} "{draw(ENDS)}"'
        if kind == 1:
            return f'"{draw(ENDS)}"'
        lb, hb = draw(st.sampled_from("[(]")), draw(st.sampled_from("])["))
        return f'{lb}"{draw(ENDS)}".."{draw(ENDS)}"{hb}'

    body = ", ".join(simple() for _ in range(draw(st.integers(1, 3))))
    return f"not({body})" if draw(st.booleans()) else body


@given(card_tests(), st.lists(st.integers(-1, len(CARD_LEVELS) - 1), min_size=1, max_size=12))
def test_ordered_compiled_column_equals_the_ordered_scalar_matcher(test: str, codes: list[int]) -> None:
    table = DecisionTable("t", "FIRST", ["x"], ["y"], [("r", [test], ["1"])])
    col = CodedColumn(np.array(codes, dtype=np.int8), CARD_LEVELS, ordered=True)
    got = compile_table(table).match_matrix({"x": col})[0].tolist()
    ut = parse_unary_tests(test)
    want = [match_unary_tests(ut, None if c < 0 else CARD_LEVELS[c], order=CARD_LEVELS) for c in codes]
    assert got == want
