"""The seeds' weighted scoring grade: score cards, weights, bonus, grade bands; exact."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custvalue import Portfolio, default_policy
from custvalue.allocation import SalesLedger
from custvalue.analytics import combine_score, customer_value, reference_score, score_customers
from custvalue.policy import Policy, PolicyError
from custvalue.portfolio import CARD_LEVELS

SCORING: dict[str, Any] = {
    "weights": {"history": 50, "forecast": 50},
    "weights_total": 100,
    "sales_months": 24,
    "history": [
        {"id": "aum_1m", "when": {"aum": ">= 1000000"}, "points": 60},
        {"id": "aum_300k", "when": {"aum": "[300000..1000000)"}, "points": 40},
        {"id": "card", "when": {"card_spend_12m": ">= 100000"}, "points": 30},
        {"id": "diamond", "when": {"card_level": '"diamond", "platinum"'}, "points": "2.5"},
    ],
    "forecast": [
        {"id": "f_4m", "when": {"sales_forecast": ">= 4000000"}, "points": 70},
        {"id": "f_1m", "when": {"sales_forecast": "[1000000..4000000)"}, "points": 40},
    ],
    "bonus": [
        {"id": "sales_2y_big", "when": {"sales": ">= 3000000"}, "factor": "1.1"},
        {"id": "sales_2y", "when": {"sales": ">= 1000000"}, "factor": "1.05"},
    ],
    "grades": [
        {"id": "A", "score": ">= 80", "label_zh": "A类客户"},
        {"id": "B", "score": "[60..80)", "label_zh": "B类客户"},
        {"id": "C", "score": "[30..60)"},
        {"id": "D", "score": "< 30"},
    ],
}


def policy(scoring: dict[str, Any] | None = None) -> Policy:
    doc = default_policy().to_dict()
    doc["value"] = {
        "margins": {},
        "inputs": {"sales_forecast": "money"},
        "scoring": copy.deepcopy(SCORING if scoring is None else scoring),
    }
    return Policy.from_dict(doc, source="bank.toml")


def test_seed_example_is_84() -> None:
    # 客户历史销售额为150万元, 预计销售额为400万元: (90×50% + 70×50%) × 1.05 = 84
    spec = policy().value.scoring  # type: ignore[union-attr]
    assert spec is not None
    assert combine_score(Decimal(90), Decimal(70), Decimal("1.05"), spec) == Decimal("84.00")
    port = Portfolio.from_arrays(
        customer_ids=["K1"],
        branch_ids=["X"],
        start="2026-10",
        deposits=np.array([[1_200_000_00]]),
        card_spend=np.array([[150_000_00]]),
    )
    v = customer_value(
        port, policy(), inputs={"sales_forecast": np.array([4_000_000_00]), "sales": np.array([1_500_000_00])}
    )
    r = score_customers(v)
    assert (int(r.history[0]), int(r.forecast[0]), r.points_exponent) == (900, 700, 1)  # 90.0 and 70.0
    assert r.scores() == [Decimal("84.00")]
    assert r.grades().tolist() == ["A"]
    text = r.explain("K1")
    assert "history score 90.0: aum_1m +60, card +30" in text and "bonus × 1.05: sales_2y" in text
    assert r.explain(0) == text
    assert r.history_matches is not None and r.history_matches[:, 0].tolist() == [True, False, True, False]
    assert r.report().records()[0] == {
        "customer_id": "K1",
        "history": "90.0",
        "forecast": "70.0",
        "bonus": "1.05",
        "score": "84.00",
        "grade": "A",
        "grade_label": "A类客户",
    }


def test_bonus_from_a_sales_ledger() -> None:
    ledger = SalesLedger.create({"M1": "X"})
    ledger = ledger.register(
        "S1", customer_id="K1", product="fund", amount=800_000_00, date=dt.date(2025, 1, 15), seller="M1"
    )
    ledger = ledger.register(
        "S2", customer_id="K1", product="fund", amount=700_000_00, date=dt.date(2026, 10, 31), seller="M1"
    )
    # outside the 24 months ending 2026-10 (2024-11-01 .. 2026-10-31)
    ledger = ledger.register(
        "S3", customer_id="K1", product="fund", amount=9_000_000_00, date=dt.date(2024, 10, 31), seller="M1"
    )
    ledger = ledger.register(
        "S4", customer_id="K2", product="fund", amount=100_00, date=dt.date(2026, 1, 1), seller="M1"
    )
    port = Portfolio.from_arrays(
        customer_ids=["K1", "K2"],
        branch_ids=["X", "X"],
        start="2026-10",
        deposits=np.array([[1_200_000_00], [0]]),
    )
    v = customer_value(port, policy(), inputs={"sales_forecast": np.array([0, 0])}, sales=ledger)
    assert v["sales"].tolist() == [1_500_000_00, 100_00]
    r = score_customers(v)
    assert r.bonus.tolist() == [105, 100] and r.bonus_exponent == 2
    # (60 × 50 + 0 × 50) / 100 × 1.05 = 31.50
    assert r.scores() == [Decimal("31.50"), Decimal("0.00")]
    assert r.grades().tolist() == ["C", "D"]


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (lambda s: s["weights"].update(forecast=40), "value.scoring.weights", "weights sum to 90"),
        (lambda s: s.update(weights_total=1), "value.scoring.weights", "weights_total declares 1"),
        (lambda s: s["grades"][1].update(score="[60..80]"), "value.scoring.grades", "overlap"),
        (lambda s: s["grades"].append({"id": "E", "score": "[10..20]"}), "value.scoring.grades", "overlap"),
        (
            lambda s: s["grades"].append({"id": "A", "score": "< -5"}),
            "value.scoring.grades[4].id",
            "duplicate",
        ),
        (
            lambda s: s["history"][0]["when"].update(nope=">= 1"),
            "value.scoring.history[0].when.nope",
            "unknown measure",
        ),
        (
            lambda s: s["bonus"][0]["when"].update(sales=">= x"),
            "value.scoring.bonus[0].when.sales",
            "names other values",
        ),
        (lambda s: s["bonus"][0].update(factor=-1), "value.scoring.bonus[0].factor", "must be >= 0"),
        (lambda s: s["history"][0].update(points=1.5), "value.scoring.history[0].points", "not exact"),
        (lambda s: s["history"].append(dict(s["history"][0])), "value.scoring.history[4].id", "duplicate"),
        (lambda s: s.update(places=9), "value.scoring.places", r"must be in \[0, 6\]"),
        (lambda s: s.pop("forecast"), "value.scoring.forecast", "missing"),
    ],
)
def test_bad_scoring(change: Any, path: str, message: str) -> None:
    s = copy.deepcopy(SCORING)
    change(s)
    with pytest.raises(PolicyError, match=message) as err:
        policy(s)
    assert err.value.path is not None and err.value.path.startswith(path), str(err.value)
    assert err.value.file == "bank.toml"


def test_gaps_are_allowed_and_give_no_grade() -> None:
    s = copy.deepcopy(SCORING)
    s["grades"] = [{"id": "A", "score": ">= 80"}]
    port = Portfolio.from_arrays(
        customer_ids=["a"], branch_ids=["X"], start="2026-10", deposits=np.array([[1]])
    )
    r = score_customers(customer_value(port, policy(s), inputs={"sales_forecast": [0], "sales": [0]}))
    assert r.grades().tolist() == [""] and r.counts() == {"": 1}


def test_round_trip() -> None:
    p = policy()
    assert Policy.from_dict(p.to_dict()) == p


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3_000_000_00),
            st.integers(0, 300_000_00),
            st.integers(0, 4),
            st.integers(0, 6_000_000_00),
            st.integers(0, 4_000_000_00),
        ),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from([(50, 50, 100), (1, 2, 3), ("0.3", "0.7", 1)]),
    st.integers(0, 3),
)
def test_vectorised_equals_reference(
    rows: list[tuple[int, ...]], weights: tuple[Any, ...], places: int
) -> None:
    s = copy.deepcopy(SCORING)
    s["weights"] = {"history": weights[0], "forecast": weights[1]}
    s["weights_total"] = weights[2]
    s["places"] = places
    s["grades"] = [
        {"id": "A", "score": ">= 80"},
        {"id": "B", "score": "[50..80)"},
        {"id": "C", "score": "< 50"},
    ]
    pol = policy(s)
    cols = np.array(rows, dtype=np.int64)
    port = _one_month(cols, card_level=cols[:, 2:3].astype(np.int8))
    v = customer_value(port, pol, inputs={"sales_forecast": cols[:, 3], "sales": cols[:, 4]})
    r = score_customers(v)
    spec = pol.value.scoring  # type: ignore[union-attr]
    assert spec is not None
    got = list(zip(r.scores(), r.grades().tolist(), strict=True))
    for i in range(len(rows)):
        row = {
            "aum": Decimal(int(cols[i, 0])) / 100,
            "card_spend_12m": Decimal(int(cols[i, 1])) / 100,
            "card_level": CARD_LEVELS[int(cols[i, 2])],
            "sales_forecast": Decimal(int(cols[i, 3])) / 100,
            "sales": Decimal(int(cols[i, 4])) / 100,
        }
        assert got[i] == reference_score(row, spec)


def test_huge_points_take_the_exact_slow_path() -> None:
    s = copy.deepcopy(SCORING)
    s["history"] = [{"id": f"h{k}", "when": {"aum": ">= 0"}, "points": "999999999.999999"} for k in range(3)]
    s["weights"] = {"history": "999999", "forecast": "1"}
    s["weights_total"] = 1000000
    s["places"] = 6
    s["grades"] = []
    pol = policy(s)
    port = Portfolio.from_arrays(
        customer_ids=["a"], branch_ids=["X"], start="2026-10", deposits=np.array([[5]])
    )
    r = score_customers(customer_value(port, pol, inputs={"sales_forecast": [0], "sales": [3_000_000_00]}))
    spec = pol.value.scoring  # type: ignore[union-attr]
    assert spec is not None
    want, _ = reference_score(
        {"aum": Decimal("0.05"), "sales_forecast": Decimal(0), "sales": Decimal(3_000_000)}, spec
    )
    assert r.scores() == [want]
    assert want == Decimal("3299996699.999997")  # 3 × 999,999,999.999999 × 0.999999 × 1.1


def _edge(draw: Any, bounds: tuple[int, ...]) -> int:
    return draw(st.sampled_from(bounds)) + draw(st.sampled_from([-1, 0, 1]))


@st.composite
def edge_rows(draw: Any) -> tuple[int, int, int, int]:
    """AUM, card spend, forecast and sales at a score-card or bonus bound, or 1 fen either side."""
    return (
        _edge(draw, (300_000_00, 1_000_000_00)),
        _edge(draw, (100_000_00,)),
        _edge(draw, (1_000_000_00, 4_000_000_00)),
        _edge(draw, (1_000_000_00, 3_000_000_00)),
    )


def _one_month(cols: np.ndarray, **columns: np.ndarray) -> Portfolio:
    """One month: deposits from column 0 and card spend from column 1 of ``cols``, plus ``columns``."""
    n = cols.shape[0]
    return Portfolio.from_arrays(
        customer_ids=[f"c{i}" for i in range(n)],
        branch_ids=["X"] * n,
        start="2026-10",
        deposits=cols[:, :1],
        card_spend=cols[:, 1:2],
        **columns,
    )


@settings(max_examples=60)
@given(st.lists(edge_rows(), min_size=1, max_size=20))
def test_score_card_and_bonus_bounds_to_the_fen(rows: list[tuple[int, int, int, int]]) -> None:
    """Every score-card and bonus bound at the bound and ±1 fen, against hand-written points."""
    cols = np.array(rows, dtype=np.int64)
    port = _one_month(cols)
    r = score_customers(
        customer_value(port, policy(), inputs={"sales_forecast": cols[:, 2], "sales": cols[:, 3]})
    )
    for i, (aum, card, forecast, sales) in enumerate(rows):
        history = (60 if aum >= 1_000_000_00 else 40 if aum >= 300_000_00 else 0) + (
            30 if card >= 100_000_00 else 0
        )
        fc = 70 if forecast >= 4_000_000_00 else 40 if forecast >= 1_000_000_00 else 0
        bonus = Decimal("1.1") if sales >= 3_000_000_00 else Decimal("1.05") if sales >= 1_000_000_00 else 1
        score = (Decimal(history * 50 + fc * 50) / 100 * bonus).quantize(Decimal("0.01"))
        grade = "A" if score >= 80 else "B" if score >= 60 else "C" if score >= 30 else "D"
        assert r.scores()[i] == score, (rows[i], r.explain(i))
        assert r.grades()[i] == grade


@pytest.mark.parametrize(
    ("aum", "card", "forecast", "score", "grade"),
    [
        # (90 + 70) / 2 = 80.00: the A band's bound is inclusive
        (1_000_000_00, 100_000_00, 4_000_000_00, "80.00", "A"),
        # (60 + 0) / 2 = 30.00: C's lower bound is inclusive, D is below it
        (1_000_000_00, 0, 0, "30.00", "C"),
        # (30 + 0) / 2 = 15.00
        (0, 100_000_00, 0, "15.00", "D"),
        # (40 + 70) / 2 = 55.00 is C and (90 + 40) / 2 = 65.00 is B (no card gives exactly 60 here)
        (300_000_00, 0, 4_000_000_00, "55.00", "C"),
        (1_000_000_00, 100_000_00, 1_000_000_00, "65.00", "B"),
    ],
)
def test_grade_band_bounds(aum: int, card: int, forecast: int, score: str, grade: str) -> None:
    port = Portfolio.from_arrays(
        customer_ids=["a"],
        branch_ids=["X"],
        start="2026-10",
        deposits=np.array([[aum]]),
        card_spend=np.array([[card]]),
    )
    v = customer_value(
        port, policy(), inputs={"sales_forecast": np.array([forecast]), "sales": np.array([0])}
    )
    r = score_customers(v)
    assert (r.scores(), r.grades().tolist()) == ([Decimal(score)], [grade])
