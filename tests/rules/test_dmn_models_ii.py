"""DMN models as analysts author them, part II: tests against other inputs, names whose
later words are numbers, ``if``/``between``/``in``, list literals and list functions,
default output entries that are expressions, multi-hit tables feeding other decisions,
and times of day.

The models are ``tests/rules/models/limits.dmn``, ``multi_hit.dmn`` and ``times.dmn``; every expected
value below was worked out by hand from the DMN 1.5 semantics (hit policies, FEEL
three-valued logic, null propagation, list functions), not taken from custvalue's output.
Each case runs through the scalar reference and the vectorised path (all cases of a model
batched as columns); both must give the expected value, and the model must survive export.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custvalue.rules import (
    DecisionTable,
    DmnDecision,
    DmnModel,
    LiteralExpression,
    ModelResult,
    NullableColumn,
    OutputClause,
    read_dmn,
    write_dmn,
)

MODELS = Path(__file__).parent / "models"

LIMITS_IN = ("Amount", "Credit Limit", "Floor", "Country", "Home Country", "Score")


def _limits(*values: Any) -> dict[str, Any]:
    return dict(zip(LIMITS_IN, values, strict=True))


CASES: dict[str, list[tuple[str, dict[str, Any], dict[str, Any]]]] = {
    "limits.dmn": [
        (
            "over",
            _limits(12000, 10000, 1000, "CN", "CN", 650),
            {
                "Check": "over",  # 12000 > Credit Limit (another input)
                "Headroom": D(0),  # 12000 >= Credit Limit
                "Band": "mid",  # 650 between 600 and 800
                "Risky": False,
                "Extra days case 1": D("6.5"),  # a name whose last word is a number
                "Extra days case 2": D(14),  # 6.5 * 2 + 1
                "Average": D(11000),  # mean([12000, 10000])
                "Top": D(12002),  # max(12000, 10000, 1000) + count of 2 items
                "Allowed": True,  # "CN" is in ["CN", "HK", "CN"]
            },
        ),
        (
            "domestic",
            _limits(5000, 10000, 1000, "CN", "CN", 820),
            {
                "Check": "domestic",  # in [Floor..Credit Limit] and = Home Country
                "Headroom": D(5000),  # no match: the default entry Credit Limit - Amount
                "Band": "high",  # not between 600 and 800, but > 800
                "Risky": False,
                "Extra days case 1": D("8.2"),
                "Extra days case 2": D("17.4"),
                "Average": D(7500),
                "Top": D(10002),
                "Allowed": True,
            },
        ),
        (
            "listed",
            _limits(1000, 10000, 1000, "HK", "CN", 250),
            {
                "Check": "listed",  # 1000 is the closed lower end; "HK" is in ["HK", "MO"]
                "Headroom": D(9000),
                "Band": "low",
                "Risky": True,  # 250 in [0..300)
                "Extra days case 1": D("2.5"),
                "Extra days case 2": D(6),
                "Average": D(5500),
                "Top": D(10002),
                "Allowed": True,
            },
        ),
        (
            "foreign",
            _limits(3000, 10000, 1000, "XX", "CN", 700),
            {
                "Check": "foreign",  # not(Home Country): "XX" != "CN"
                "Headroom": D(7000),
                "Band": "mid",
                "Risky": True,  # "XX" in ("XX", "YY")
                "Extra days case 1": D(7),
                "Extra days case 2": D(15),
                "Average": D(6500),
                "Top": D(10002),
                "Allowed": False,
            },
        ),
        (
            "small",
            _limits(500, 10000, 1000, "CN", "CN", 300),
            {
                "Check": "small",  # no rule: default if Amount < Floor then "small" ...
                "Headroom": D(9500),
                "Band": "low",
                "Risky": False,  # 300 is the open upper end of [0..300)
                "Extra days case 1": D(3),
                "Extra days case 2": D(7),
                "Average": D(5250),
                "Top": D(10002),
                "Allowed": True,
            },
        ),
        (
            "nulls",
            _limits(None, 10000, 1000, None, "CN", None),
            {
                "Check": "unknown",  # no rule matches a null Amount; null < Floor is null: else branch
                "Headroom": None,  # the default 10000 - null
                "Band": "low",  # both conditions null: else branches
                "Risky": None,  # false or null
                "Extra days case 1": None,
                "Extra days case 2": None,
                "Average": None,  # mean of a list with null
                "Top": None,
                "Allowed": False,  # null is not an item of ["CN", "HK", "CN"]
            },
        ),
    ],
    "multi_hit.dmn": [
        (
            "rich-loyal",
            {"Balance": 150000, "Years": 12},
            {
                "Offers": ["gold", "silver"],  # COLLECT, rule order
                "Fees": [D(5), D(-5)],  # RULE ORDER
                "Ranked": ["A", "B", "C"],  # OUTPUT ORDER: by the output values' order
                "Offer Count": D(2),
                "Has Gold": True,
                "Has Silver": True,
                "Total Fees": D(0),
                "Best": ["A", "B", "C"],  # count 3 > 1
                "Tier": "multi",  # a table whose input expression is count(Offers)
            },
        ),
        (
            "new",
            {"Balance": 500, "Years": 1},
            {
                "Offers": ["starter"],
                "Fees": [D(5), D("2.5")],
                "Ranked": ["C"],
                "Offer Count": D(1),
                "Has Gold": False,
                "Has Silver": False,
                "Total Fees": D("7.5"),
                "Best": None,
                "Tier": "single",
            },
        ),
        (
            "middle",
            {"Balance": 5000, "Years": 5},
            {
                "Offers": None,  # COLLECT without a match and without default: null
                "Fees": [D(5)],
                "Ranked": ["C"],
                "Offer Count": None,  # count(null)
                "Has Gold": False,  # "gold" = null is false
                "Has Silver": None,  # list contains(null, ...)
                "Total Fees": D(5),
                "Best": None,
                "Tier": "none",  # count(Offers) is null: no rule, the default
            },
        ),
        (
            "loyal-poor",
            {"Balance": 800, "Years": 20},
            {
                "Offers": ["silver"],  # starter needs Years < 2
                "Fees": [D(5), D("2.5")],
                "Ranked": ["B", "C"],
                "Offer Count": D(1),
                "Has Gold": False,
                "Has Silver": True,
                "Total Fees": D("7.5"),
                "Best": ["B", "C"],
                "Tier": "single",
            },
        ),
        (
            "null-balance",
            {"Balance": None, "Years": 0},
            {
                "Offers": None,
                "Fees": [D(5)],  # only "-" matches a null
                "Ranked": ["C"],
                "Offer Count": None,
                "Has Gold": False,
                "Has Silver": None,
                "Total Fees": D(5),
                "Best": None,
                "Tier": "none",
            },
        ),
    ],
}

T, DT, H = dt.time, dt.datetime, dt.timedelta
CASES["times.dmn"] = [
    (
        "morning",
        {"Arrival": T(10, 30), "Opened": dt.date(2026, 3, 1), "Checked": DT(2026, 3, 1)},
        {
            "Slot": "morning",  # in [09:00..12:00)
            "Until Close": H(hours=7),  # 17:30 - 10:30
            "Due": T(18, 30),
            "Hour": D(10),
            "Same Day Start": True,  # the date is the date-time of its midnight
            "Checked After Opening": False,  # midnight > midnight
        },
    ),
    (
        "noon",
        {"Arrival": T(12, 0), "Opened": dt.date(2026, 3, 1), "Checked": DT(2026, 3, 2, 9, 15)},
        {
            "Slot": "afternoon",  # 12:00 is the open end of the morning, the closed start of the afternoon
            "Until Close": H(hours=5, minutes=30),
            "Due": T(20, 0),
            "Hour": D(12),
            "Same Day Start": False,
            "Checked After Opening": True,
        },
    ),
    (
        "closing",
        {"Arrival": T(17, 30), "Opened": dt.date(2026, 3, 5), "Checked": DT(2026, 3, 1, 23, 59)},
        {
            "Slot": "afternoon",  # the closed upper end
            "Until Close": H(0),
            "Due": T(1, 30),  # 17:30 + 8 hours, around the clock
            "Hour": D(17),
            "Same Day Start": False,
            "Checked After Opening": False,
        },
    ),
    (
        "late-no-date",
        {"Arrival": T(20, 0), "Opened": None, "Checked": DT(2026, 3, 1)},
        {
            "Slot": "closed",  # no rule: the default
            "Until Close": -H(hours=2, minutes=30),  # a negative duration
            "Due": T(4, 0),
            "Hour": D(20),
            "Same Day Start": False,  # null = a date-time is false
            "Checked After Opening": None,  # ordering with null
        },
    ),
    (
        "nulls",
        {"Arrival": None, "Opened": dt.date(2026, 3, 1), "Checked": None},
        {
            "Slot": "closed",
            "Until Close": None,
            "Due": None,
            "Hour": None,
            "Same Day Start": False,
            "Checked After Opening": None,
        },
    ),
]

IDS = [(m, i) for m, cases in CASES.items() for i in range(len(cases))]


@cache
def model(name: str) -> DmnModel:
    return read_dmn(MODELS / name)


def same(expected: Any, actual: Any) -> bool:
    if expected is None or isinstance(expected, bool | str):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, D | int):
        return isinstance(actual, D) and actual == expected
    if isinstance(expected, dt.date | dt.time | dt.timedelta):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(same(e, a) for e, a in zip(expected, actual, strict=True))
        )
    raise AssertionError(expected)


def columns(rows: list[dict[str, Any]]) -> dict[str, Any]:
    cols: dict[str, Any] = {}
    for key in rows[0]:
        values = [r[key] for r in rows]
        present = [v for v in values if v is not None]
        if present and all(isinstance(v, int) for v in present):
            valid = np.array([v is not None for v in values])
            cols[key] = NullableColumn(np.array([v or 0 for v in values], dtype=np.int64), valid)
        else:
            cols[key] = np.array(values, dtype=object)
    return cols


@cache
def vectorised(name: str) -> ModelResult:
    return model(name).compile().evaluate(columns([inputs for _, inputs, _ in CASES[name]]))


@pytest.mark.parametrize(("name", "i"), IDS, ids=[f"{m[:-4]}-{CASES[m][i][0]}" for m, i in IDS])
def test_scalar_and_vectorised_give_the_hand_computed_values(name: str, i: int) -> None:
    _, inputs, expected = CASES[name][i]
    scalar = model(name).evaluate_scalar(inputs)
    result = vectorised(name)
    for decision, value in expected.items():
        assert same(value, scalar[decision]), (decision, "scalar", scalar[decision])
        assert same(value, result.value(decision, i)), (decision, "vectorised", result.value(decision, i))


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_models_round_trip(name: str) -> None:
    m = model(name)
    assert read_dmn(write_dmn(m)) == m


def test_multi_hit_lists_are_columns_of_lists() -> None:
    result = vectorised("multi_hit.dmn")
    assert result["Offer Count"].tolist() == [D(2), D(1), None, D(1), None]
    assert result["Offers"].tolist() == [["gold", "silver"], ["starter"], None, ["silver"], None]
    assert result.column("Offers").kind == "mixed"  # an object column of per-row lists


def test_tests_reading_inputs_on_a_standalone_table() -> None:
    """``> limit``, ``[low..high]`` and ``= other`` over columns, the same as row by row."""
    from custvalue.rules import compile_table, evaluate_table_scalar

    t = DecisionTable(
        "t",
        "FIRST",
        ["x", "s"],
        [OutputClause("o", default="x * 10")],
        [
            ("over", ["> limit", "-"], ['"over"']),
            ("band", ["[low..high]", "= other"], ['"in"']),
            ("eq", ["= limit", "-"], ["x + limit"]),
            ("list", ["[1, 2, limit]", "not(other)"], ['"list"']),
        ],
    )
    xs = [5, 3, 2, 9, 1, None, 8]
    limit = [4, 3, 7, 10, 8, 1, 8]
    low, high = [1] * 7, [3] * 7
    s, other = list("aabbcab"), list("abbbccb")
    cols = {
        "x": NullableColumn(np.array([v or 0 for v in xs]), np.array([v is not None for v in xs])),
        "limit": np.array(limit),
        "low": np.array(low),
        "high": np.array(high),
        "s": np.array(s, dtype=object),
        "other": np.array(other, dtype=object),
    }
    res = compile_table(t).evaluate(cols)
    expected = ["over", D(6), "in", D(90), "in", None, D(16)]
    for i in range(7):
        row = {"x": xs[i], "limit": limit[i], "low": 1, "high": 3, "s": s[i], "other": other[i]}
        assert same(expected[i], evaluate_table_scalar(t, row).value)
        assert same(expected[i], res.value(i))


ROWS = st.lists(
    st.tuples(st.none() | st.integers(-3, 12), st.integers(-3, 12), st.integers(-3, 12)),
    min_size=1,
    max_size=10,
)
EXPRESSIONS = [
    "if a > b then a else b * 2",
    "a between b and c",
    "a in (b, c, 3)",
    "a in [b..c)",
    "a in [1, b, 7]",
    "count([a, b, c])",
    "mean([a, b, c])",
    "max([a, b]) - min([b, c])",
    "list contains([a, b], c)",
    "[a, b] = [b, a]",
    "sum([a, b, c]) in (> 4)",
    "if a in (< 0) then null else a",
]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(EXPRESSIONS), ROWS)
def test_vectorised_expressions_equal_the_reference(
    text: str, rows: list[tuple[int | None, int, int]]
) -> None:
    m = DmnModel(
        "e",
        [DmnDecision("E", None, ["a", "b", "c"], literal=LiteralExpression(text))],
        dict.fromkeys("abc", "number"),
    )
    cols = columns([{"a": a, "b": b, "c": c} for a, b, c in rows])
    result = m.compile().evaluate(cols)
    for i, (a, b, c) in enumerate(rows):
        expected = m.evaluate_scalar({"a": a, "b": b, "c": c})["E"]
        actual = result.value("E", i)
        assert (expected is None and actual is None) or (
            type(expected) is type(actual) and expected == actual
        ), (text, rows[i], expected, actual)


def test_a_knowledge_model_with_several_outputs_called_from_feel_gives_a_context() -> None:
    """DMN 1.5 8.3.5: a table with several outputs gives a context; a multi-hit one a list of them."""
    from custvalue.rules import BusinessKnowledgeModel, Parameter

    first = DecisionTable("Offer", "FIRST", ["a"], ["rate", "label"], [("r", ["> 1"], ["a / 2", '"big"'])])
    order = DecisionTable(
        "Fees",
        "RULE ORDER",
        ["a"],
        ["fee", "label"],
        [("r1", ["> 1"], ["a", '"x"']), ("r2", ["-"], ["2", '"y"'])],
    )
    knowledge = [
        BusinessKnowledgeModel("Offer", [Parameter("a", "number")], first),
        BusinessKnowledgeModel("Fees", [Parameter("a", "number")], order),
    ]
    texts = {"O": "Offer(x)", "R": "Offer(x).rate + 1", "F": "Fees(x)", "C": "count(Fees(x))"}
    m = DmnModel(
        "m",
        [
            DmnDecision(k, None, ["x"], literal=LiteralExpression(t), required_knowledge=["Offer", "Fees"])
            for k, t in texts.items()
        ],
        {"x": "number"},
        knowledge,
    )
    expected = [
        {
            "O": {"rate": D("1.5"), "label": "big"},
            "R": D("2.5"),
            "F": [{"fee": D(3), "label": "x"}, {"fee": D(2), "label": "y"}],
            "C": D(2),
        },
        {"O": None, "R": None, "F": [{"fee": D(2), "label": "y"}], "C": D(1)},
        {"O": None, "R": None, "F": [{"fee": D(2), "label": "y"}], "C": D(1)},  # null matches only "-"
    ]
    xs = [3, 0, None]
    result = m.compile().evaluate(columns([{"x": x} for x in xs]))
    for i, x in enumerate(xs):
        scalar = m.evaluate_scalar({"x": x})
        for k, want in expected[i].items():
            assert scalar[k] == want and result.value(k, i) == want, (k, i, scalar[k], result.value(k, i))
