"""DMN models beyond single tables: decision requirement graphs, literal expressions,
business knowledge models, structured inputs and item definitions.

The models are in ``tests/rules/models/``; every expected value below was worked
out by hand from the DMN 1.5 semantics (hit policies, FEEL arithmetic, null
propagation, three-valued logic), not taken from custvalue's output.  Each case
runs through the scalar reference (:meth:`DmnModel.evaluate_scalar`) and the
vectorised path (:meth:`CompiledModel.evaluate`, all cases of a model batched
as columns), and both must give the expected value.
"""

from __future__ import annotations

import datetime as dt
import re
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
    ItemDefinition,
    ItemError,
    ModelResult,
    NullableColumn,
    read_dmn,
)

MODELS = Path(__file__).parent / "models"

AGE, INCOME, AMOUNT = "Applicant Age", "Monthly Income", "Loan Amount"
NO_OFFER = {"Status": None, "Rate": D(0)}

#: model file -> [(case id, inputs, expected decision values)]
CASES: dict[str, list[tuple[str, dict[str, Any], dict[str, Any]]]] = {
    "drg_chain.dmn": [
        (
            "prime-affordable",
            {AGE: 30, INCOME: 5000, AMOUNT: 100000},
            {
                "Risk Category": "Low",  # 30 in [25..60]
                "Affordable": True,  # 60000 >= 50000
                "Approval": "Approved",  # FIRST: decline/review do not match
                "Offer": {"Status": "offer", "Rate": D("3.5")},
                "Annual Interest": D(3500),  # 100000 * 3.5 / 100
            },
        ),
        (
            "young-unaffordable",
            {AGE: 20, INCOME: 1000, AMOUNT: 100000},
            {
                "Risk Category": "High",
                "Affordable": False,  # 12000 < 50000
                "Approval": "Declined",  # rule 'decline' comes first
                "Offer": NO_OFFER,  # UNIQUE, no match: defaults (Status has none: null)
                "Annual Interest": D(0),
            },
        ),
        (
            "senior",
            {AGE: 70, INCOME: 4000, AMOUNT: 80000},
            {
                "Risk Category": "Medium",
                "Affordable": True,
                "Approval": "Approved",
                "Offer": {"Status": "offer", "Rate": D("4.25")},
                "Annual Interest": D(3400),
            },
        ),
        (
            "young-affordable-review",
            {AGE: 22, INCOME: 10000, AMOUNT: 50000},
            {
                "Risk Category": "High",
                "Affordable": True,
                "Approval": "Review",
                "Offer": {"Status": "call", "Rate": D(6)},
                "Annual Interest": D(3000),
            },
        ),
        (
            "age-null",
            {AGE: None, INCOME: 3000, AMOUNT: 60000},
            {
                "Risk Category": None,  # null matches no comparison; UNIQUE without default
                "Affordable": True,
                "Approval": "Approved",  # "High" does not match null
                "Offer": NO_OFFER,
                "Annual Interest": D(0),
            },
        ),
        (
            "boundaries",
            {AGE: 25, INCOME: D("2500.50"), AMOUNT: 60012},
            {
                "Risk Category": "Low",  # [25..60] is closed
                "Affordable": True,  # 30006.00 >= 30006
                "Approval": "Approved",
                "Offer": {"Status": "offer", "Rate": D("3.5")},
                "Annual Interest": D("2100.42"),  # 60012 * 3.5 / 100
            },
        ),
    ],
    "literal.dmn": [
        (
            "not-eligible",
            {"Base Salary": 8000, "Years of Service": 6, "Bonus Rate": D("0.05"), "Name": "li"},
            {
                "Annual Salary": D(96000),
                "Seniority Bonus": D(5160),  # 6**2*10 + 96000*0.05 = 360 + 4800
                "Eligible": False,  # 96000 > 100000 is false
                "Greeting": "Dear LI",
            },
        ),
        (
            "eligible",
            {"Base Salary": 9000, "Years of Service": 10, "Bonus Rate": D("0.1"), "Name": "Wang Fang"},
            {
                "Annual Salary": D(108000),
                "Seniority Bonus": D(11800),  # 1000 + 10800
                "Eligible": True,
                "Greeting": "Dear WANG FANG",
            },
        ),
        (
            "nulls",
            {"Base Salary": None, "Years of Service": 2, "Bonus Rate": D("0.05"), "Name": None},
            {
                "Annual Salary": None,  # null * 12
                "Seniority Bonus": None,  # 40 + null
                "Eligible": False,  # false and null = false
                "Greeting": None,  # upper case(null) = null; "Dear " + null = null
            },
        ),
        (
            "zeros",
            {"Base Salary": 1000, "Years of Service": 0, "Bonus Rate": 0, "Name": ""},
            {"Annual Salary": D(12000), "Seniority Bonus": D(0), "Eligible": False, "Greeting": "Dear "},
        ),
    ],
    "bkm.dmn": [
        (
            "business-big",
            {"Customer": "Business", "Quantity": 12, "Unit Price": 10},
            {
                "Discount": D("0.15"),
                "Total": D(102),  # 120 * (1 - 0.15)
                "Discount Points": D(15),
                "Invoiced Unit Price": D("8.5"),
            },
        ),
        (
            "business-small",
            {"Customer": "Business", "Quantity": 5, "Unit Price": 20},
            {"Discount": D("0.10"), "Total": D(90), "Discount Points": D(10), "Invoiced Unit Price": D(18)},
        ),
        (
            "private",
            {"Customer": "Private", "Quantity": 100, "Unit Price": D("1.5")},
            {
                "Discount": D("0.05"),
                "Total": D("142.5"),  # 150 * 0.95
                "Discount Points": D(5),
                "Invoiced Unit Price": D("1.425"),
            },
        ),
        (
            "unknown-customer",
            {"Customer": "Other", "Quantity": 3, "Unit Price": 10},
            {"Discount": None, "Total": None, "Discount Points": None, "Invoiced Unit Price": None},
        ),
        (
            "boundary",
            {"Customer": "Business", "Quantity": 10, "Unit Price": 2},
            {
                "Discount": D("0.15"),
                "Total": D(17),
                "Discount Points": D(15),
                "Invoiced Unit Price": D("1.7"),
            },
        ),
    ],
    "structured.dmn": [
        (
            "retail",
            {"applicant": {"age": 30, "income": 1000, "segment": "retail"}},
            {"Band": "R", "Double Income": D(2000)},
        ),
        (
            "senior",
            {"applicant": {"age": 65, "income": D("2500.5"), "segment": "retail"}},
            {"Band": "S", "Double Income": D(5001)},
        ),
        (
            "private",
            {"applicant": {"age": 40, "income": 0, "segment": "private"}},
            {"Band": "P", "Double Income": D(0)},
        ),
        (
            "private-senior-no-income",
            {"applicant": {"age": 70, "income": None, "segment": "private"}},
            {"Band": "P", "Double Income": None},  # FIRST: 'private' precedes 'senior'
        ),
    ],
    "items.dmn": [
        (
            "prime",
            {"Score": 750, "Grade": "A", "Opened": dt.date(2025, 5, 1)},
            {"Result": "prime", "Old Account": True},
        ),
        (
            "boundary",
            {"Score": 700, "Grade": "B", "Opened": dt.date(2026, 1, 1)},
            {"Result": "standard", "Old Account": False},  # date < itself is false
        ),
        (
            "top-score-no-date",
            {"Score": 1000, "Grade": "A", "Opened": None},
            {"Result": "prime", "Old Account": None},
        ),
    ],
    "vacation.dmn": [
        # (Age, Years of Service) -> Base, case one (MAX), case two (MAX), case three (MAX), total
        (
            "minor",
            {"Age": 16, "Years of Service": 1},
            {
                "Base Vacation Days": D(22),
                "Extra days case 1": D(5),  # Age < 18
                "Extra days case 2": D(0),  # no match: default 0
                "Extra days case 3": D(0),
                "Total Vacation Days": D(27),  # 22 + max(5, 0) + 0
            },
        ),
        ("young", {"Age": 25, "Years of Service": 5}, {"Total Vacation Days": D(22)}),
        (
            "mid-career",
            {"Age": 44, "Years of Service": 20},
            {"Extra days case 3": D(2), "Total Vacation Days": D(24)},  # [18..60) and [15..30)
        ),
        (
            "long-service",
            {"Age": 44, "Years of Service": 30},
            {
                "Extra days case 1": D(5),
                "Extra days case 2": D(3),
                "Extra days case 3": D(0),  # 30 is outside [15..30)
                "Total Vacation Days": D(30),
            },
        ),
        ("both-case-three-rules", {"Age": 50, "Years of Service": 25}, {"Total Vacation Days": D(24)}),
        (
            "sixty",
            {"Age": 60, "Years of Service": 20},
            {
                "Extra days case 1": D(5),  # >= 60
                "Extra days case 2": D(3),
                "Extra days case 3": D(2),  # 60 is outside [18..60), but >= 45
                "Total Vacation Days": D(30),  # 22 + max(5, 2) + 3
            },
        ),
        (
            "age-null",
            {"Age": None, "Years of Service": 10},
            {"Extra days case 1": D(0), "Extra days case 3": D(0), "Total Vacation Days": D(22)},
        ),
    ],
}

IDS = [(m, i) for m, cases in CASES.items() for i in range(len(cases))]


@cache
def model(name: str) -> DmnModel:
    return read_dmn(MODELS / name)


def same(expected: Any, actual: Any) -> bool:
    if expected is None or isinstance(expected, bool | str):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, D | int):
        return isinstance(actual, D) and actual == expected
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and set(actual) == set(expected)
            and all(same(v, actual[k]) for k, v in expected.items())
        )
    if isinstance(expected, dt.date):
        return actual == expected
    raise AssertionError(expected)


def flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            flatten(f"{prefix}.{k}", v, out)
    else:
        out[prefix] = value


def columns(rows: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, int]]:
    """Columns (dotted keys for structures) and the scales of decimal columns."""
    flat: list[dict[str, Any]] = []
    for r in rows:
        f: dict[str, Any] = {}
        for k, v in r.items():
            flatten(k, v, f)
        flat.append(f)
    cols: dict[str, Any] = {}
    scales: dict[str, int] = {}
    for key in flat[0]:
        values = [f[key] for f in flat]
        present = [v for v in values if v is not None]
        valid = np.array([v is not None for v in values])
        if present and all(isinstance(v, bool) for v in present):
            cols[key] = np.ma.MaskedArray(np.array([bool(v) for v in values]), mask=~valid)
        elif present and all(isinstance(v, int | D) for v in present):
            exp = max([-D(v).as_tuple().exponent for v in present] + [0])  # type: ignore[operator]
            arr = np.array([int(D(v) * 10**exp) if v is not None else 0 for v in values], dtype=np.int64)
            cols[key] = arr if valid.all() else NullableColumn(arr, valid)
            if exp:
                scales[key] = 10**exp
        elif present and all(isinstance(v, dt.date) for v in present):
            cols[key] = np.array([v if v is not None else "NaT" for v in values], dtype="datetime64[D]")
        else:
            cols[key] = np.array(values, dtype=object)
    return cols, scales


@cache
def vectorised(name: str) -> ModelResult:
    cols, scales = columns([inputs for _, inputs, _ in CASES[name]])
    return model(name).compile(scales=scales).evaluate(cols)


@pytest.mark.parametrize(("name", "i"), IDS, ids=[f"{m[:-4]}-{CASES[m][i][0]}" for m, i in IDS])
def test_scalar_and_vectorised_give_the_hand_computed_values(name: str, i: int) -> None:
    _, inputs, expected = CASES[name][i]
    got = model(name).evaluate_scalar(inputs)
    result = vectorised(name)
    assert list(got) == list(model(name).order)
    for decision, want in expected.items():
        assert same(want, got[decision]), ("scalar", decision, want, got[decision])
        vec = result.value(decision, i)
        assert same(want, vec), ("vectorised", decision, want, vec)


def test_one_decision_and_what_it_requires() -> None:
    m = model("drg_chain.dmn")
    got = m.evaluate_scalar({AGE: 30, INCOME: 5000, AMOUNT: 100000}, decision="Approval")
    assert list(got) == ["Risk Category", "Affordable", "Approval"]
    cols, _ = columns([{AGE: 30, INCOME: 5000, AMOUNT: 100000}])
    res = m.compile().evaluate(cols, decisions=["Approval"])
    assert res.decisions == ("Risk Category", "Affordable", "Approval")


def test_result_arrays_and_structured_outputs() -> None:
    res = vectorised("drg_chain.dmn")
    assert res["Approval"].tolist() == ["Approved", "Declined", "Approved", "Review", "Approved", "Approved"]
    offer = res["Offer"]
    assert offer["Status"].tolist() == ["offer", None, "offer", "call", None, "offer"]
    assert res["Offer.Rate"].tolist() == [D("3.5"), D(0), D("4.25"), D(6), D(0), D("3.5")]
    frame = res.to_pandas()
    assert list(frame.columns) == [
        "Risk Category",
        "Affordable",
        "Approval",
        "Offer.Status",
        "Offer.Rate",
        "Annual Interest",
    ]


def test_explain_across_the_graph() -> None:
    ex = vectorised("drg_chain.dmn").explain(1)
    assert [d.decision for d in ex.decisions] == list(model("drg_chain.dmn").order)
    approval = ex["Approval"]
    assert approval.value == "Declined"
    assert approval.matched_rule_ids == ("decline", "review")
    assert approval.hit_rule_ids == ("decline",)
    assert dict(approval.inputs) == {"Affordable": False, "Risk Category": "High"}
    assert dict(ex["Annual Interest"].inputs) == {"Loan Amount": D(100000), "Offer.Rate": D(0)}
    assert str(approval) == (
        'Approval = "Declined" (rules decline of matched decline, review) '
        '<- Affordable = false, Risk Category = "High"'
    )


@pytest.mark.parametrize(
    ("inputs", "where", "message"),
    [
        ({"Score": 1001, "Grade": "A"}, "Score", "value 1001 is not allowed by tScore ([0..1000])"),
        ({"Score": -1, "Grade": "A"}, "Score", "value -1 is not allowed by tScore"),
        ({"Score": 500, "Grade": "D"}, "Grade", "value 'D' is not allowed by tGrade"),
        ({"Score": "high", "Grade": "A"}, "Score", "value 'high' is a string, expected number"),
        (
            {"Score": 1, "Grade": "A", "Opened": "2026-01-01"},
            "Opened",
            "value '2026-01-01' is a string, expected date",
        ),
    ],
)
def test_item_definitions_are_checked_on_input(inputs: dict[str, Any], where: str, message: str) -> None:
    m = model("items.dmn")
    with pytest.raises(ItemError, match="^" + re.escape(f"input '{where}': {message}")) as info:
        m.evaluate_scalar(inputs)
    assert info.value.input == where and info.value.row is None
    rows = [{"Score": 700, "Grade": "B", "Opened": None}, {"Opened": None, **inputs}]
    cols, scales = columns(rows)
    with pytest.raises(ItemError, match=f"input '{where}', row 1: ") as vinfo:
        m.compile(scales=scales).evaluate(cols)
    assert vinfo.value.row == 1 and vinfo.value.input == where


@pytest.mark.parametrize(
    ("applicant", "where", "message"),
    [
        ({"age": 17, "income": 1, "segment": "retail"}, "applicant.age", "value 17 is not allowed by tAge"),
        ({"age": 30, "income": 1, "segment": "vip"}, "applicant.segment", "value 'vip' is not allowed"),
        ({"age": 30, "income": "1000", "segment": "retail"}, "applicant.income", "value '1000' is a string"),
    ],
)
def test_structured_inputs_are_checked_component_by_component(
    applicant: dict[str, Any], where: str, message: str
) -> None:
    m = model("structured.dmn")
    with pytest.raises(ItemError, match=f"input '{where}': {message}"):
        m.evaluate_scalar({"applicant": applicant})
    with pytest.raises(ItemError, match=f"input '{where}': {message}"):
        m.evaluate_scalar({f"applicant.{k}": v for k, v in applicant.items()})
    cols, _ = columns(
        [{"applicant": {"age": 30, "income": 1, "segment": "retail"}}, {"applicant": applicant}]
    )
    with pytest.raises(ItemError, match=f"input '{where}', row 1: {message}"):
        m.compile().evaluate(cols)


def test_a_structure_without_a_declared_component_is_an_error() -> None:
    with pytest.raises(ItemError, match="tApplicant has no component 'city'"):
        model("structured.dmn").evaluate_scalar({"applicant": {"age": 30, "city": "Wuhan"}})


def test_missing_columns_name_the_decision() -> None:
    m = model("drg_chain.dmn")
    with pytest.raises(ValueError, match="decision 'Risk Category' needs the column 'Applicant Age'"):
        m.compile().evaluate({INCOME: np.array([1]), AMOUNT: np.array([1])})


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.none() | st.integers(0, 100),
            st.integers(0, 20000),
            st.integers(0, 500000),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_vectorised_agrees_with_scalar_on_random_rows(rows: list[tuple[int | None, int, int]]) -> None:
    m = model("drg_chain.dmn")
    dicts = [{AGE: a, INCOME: i, AMOUNT: amount} for a, i, amount in rows]
    cols, scales = columns(dicts)
    res = m.compile(scales=scales).evaluate(cols)
    for r, inputs in enumerate(dicts):
        expected = m.evaluate_scalar(inputs)
        for decision, value in expected.items():
            assert same(value, res.value(decision, r)), (decision, inputs)


def test_collections_are_checked_item_by_item() -> None:
    scores = ItemDefinition("tScores", "number", allowed_values="[0..100]", is_collection=True)
    table = DecisionTable("Level", "FIRST", ["Level In"], ["Level"], [("any", ["-"], ['"ok"'])])
    m = DmnModel(
        "lists",
        [DmnDecision("Level", table, ["Level In"])],
        {"Scores": "tScores", "Level In": "number"},
        item_definitions=[scores],
    )
    assert m.evaluate_scalar({"Scores": [1, 100], "Level In": 1}) == {"Level": "ok"}
    with pytest.raises(ItemError, match=re.escape("input 'Scores[1]': value 101 is not allowed by tScores")):
        m.evaluate_scalar({"Scores": [1, 101]})
    with pytest.raises(ItemError, match="is not a list"):
        m.evaluate_scalar({"Scores": 5})
    lists = np.empty(2, dtype=object)
    lists[0], lists[1] = [1, 2], [3, -1]
    with pytest.raises(ItemError, match=re.escape("input 'Scores[1]', row 1: value -1 is not allowed")):
        m.compile().evaluate({"Scores": lists, "Level In": np.array([1, 2])})
