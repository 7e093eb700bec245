"""The [value] policy section, margins, explicit CLV, the value formula and the value matrix."""

from __future__ import annotations

import copy
import json
import tomllib
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from custvalue import AmountOverflowError, Portfolio, default_policy
from custvalue.analytics import (
    AnalyticsError,
    customer_margin,
    customer_value,
    exact_linear,
    geometric_clv,
    lifetime_value,
    reference_clv,
    round_fen,
    value_matrix,
)
from custvalue.policy import Policy, PolicyError, load_policy

VALUE: dict[str, Any] = {
    "margins": {
        "deposits": Decimal("0.015"),
        "wealth": Decimal("0.008"),
        "investments": Decimal("0.008"),
        "mortgage_loan": Decimal("0.02"),
        "credit_loan": Decimal("0.02"),
    },
    "period": "year",
    "discount_rate": Decimal("0.08"),
    "retention": Decimal("0.85"),
    "horizon": 5,
    "inputs": {"service_cost": "money", "sales_forecast": "money"},
    "formula": {
        "explicit_value": "annual_margin",
        "implicit_value": {"card_spend_12m": Decimal("0.006")},
        "explicit_cost": "service_cost",
        "implicit_cost": {"aum": Decimal("0.0005")},
    },
    "matrix": {
        "current": "aum",
        "potential": "clv",
        "current_cut": 500000,
        "potential_cut": 20000,
        "quadrants": [
            {"id": "star", "current": "high", "potential": "high", "label": "star", "label_zh": "明星客户"},
            {"id": "keep", "current": "high", "potential": "low", "label_zh": "维护客户"},
            {"id": "grow", "current": "low", "potential": "high", "label_zh": "潜力客户"},
            {"id": "basic", "current": "low", "potential": "low", "label_zh": "一般客户"},
        ],
    },
}


def policy_with(value: dict[str, Any] | None = None, **changes: Any) -> Policy:
    doc = default_policy().to_dict()
    doc["name"] = "bank"
    v = copy.deepcopy(VALUE if value is None else value)
    for k, x in changes.items():
        if x is None:
            v.pop(k, None)
        else:
            v[k] = x
    doc["value"] = v
    return Policy.from_dict(doc)


def one(deposits: int = 0, **cols: int) -> Portfolio:
    arrays = {k: np.array([[v]]) for k, v in cols.items()}
    return Portfolio.from_arrays(
        customer_ids=["A"], branch_ids=["X"], start="2026-10", deposits=np.array([[deposits]]), **arrays
    )


# --------------------------------------------------------------------------- policy section


def test_round_trip_dict_json_toml(tmp_path: Any) -> None:
    p = policy_with()
    assert Policy.from_dict(p.to_dict()) == p
    for suffix in ("json", "toml"):
        path = tmp_path / f"p.{suffix}"
        p.dump(path)
        assert load_policy(path) == p
    assert p.value is not None and p.value.retention == Decimal("0.85")


def test_documented_example_round_trips_through_toml() -> None:
    path = Path(__file__).resolve().parents[2] / "docs" / "_static" / "value" / "value.toml"
    section = tomllib.loads(path.read_text("utf-8"), parse_float=Decimal)
    doc = default_policy().to_dict()
    doc.update(section)
    p = Policy.from_dict(doc)
    assert p.value is not None and p.value.scoring is not None and p.value.matrix is not None
    again = tomllib.loads(p.to_toml(), parse_float=Decimal)
    assert Policy.from_dict(again) == p
    assert Policy.from_dict(json.loads(p.to_json(), parse_float=Decimal)) == p


def test_churn_by_tier_round_trip() -> None:
    tiers = default_policy().tier_order
    p = policy_with(retention=None, churn={t: Decimal("0.1") for t in tiers})
    v = p.value
    assert v is not None and v.retention is None and v.as_churn
    assert v.retention_of("gold") == Decimal("0.9")
    assert Policy.from_dict(p.to_dict()) == p
    assert p.to_dict()["value"]["churn"]["gold"] == Decimal("0.1")


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"discount_rate": Decimal(-1)}, "value.discount_rate"),
        ({"discount_rate": Decimal("-1.5")}, "value.discount_rate"),
        ({"retention": Decimal("1.01")}, "value.retention"),
        ({"retention": Decimal("-0.01")}, "value.retention"),
        ({"retention": 0.9}, "value.retention"),
        ({"churn": Decimal("0.1")}, "value.churn"),
        ({"margins": {"card_spend": Decimal("0.01")}}, "value.margins.card_spend"),
        ({"margins": {"deposits": "1.5"}}, "value.margins.deposits"),
        ({"margins": {"deposits": "0.0000001"}}, "value.margins.deposits"),
        ({"horizon": 0}, "value.horizon"),
        ({"period": "week"}, "value.period"),
        ({"unknown": 1}, "value.unknown"),
        ({"formula": {"explicit_value": "no_such_measure"}}, "value.formula.explicit_value"),
        ({"formula": {"implicit_value": {"nope": 1}}}, "value.formula.implicit_value.nope"),
        ({"formula": {"explicit_value": "a + b"}}, "value.formula.explicit_value"),
        ({"formula": {"explicit_value": "card_level"}}, "value.formula.explicit_value"),
        ({"formula": {"explicit_value": "value"}}, "value.formula.explicit_value"),
        ({"inputs": {"aum": "money"}}, "value.inputs.aum"),
        ({"inputs": {"x": "float"}}, "value.inputs.x"),
        ({"retention": {"gold": Decimal("0.9")}}, "value.retention"),
        (
            {"retention": {t: 1 for t in ("core", "growth", "platinum", "gold", "potential", "vip")}},
            "value.retention.vip",
        ),
        ({"retention": Decimal(1), "discount_rate": Decimal(0), "horizon": None}, "value.horizon"),
        ({"markov": {"churn_columns": ["cash"]}}, "value.markov.churn_columns[0]"),
        (
            {
                "retention": dict.fromkeys(("core", "growth", "platinum", "gold", "potential"), 1),
                "discount_rate": 0,
                "horizon": None,
            },
            "value.retention.core",
        ),
        ({"matrix": {"current_cut": 1}}, "value.matrix.potential_cut"),
        ({"markov": {"churn_columns": []}}, "value.markov.churn_columns"),
    ],
)
def test_bad_value_sections(changes: dict[str, Any], path: str) -> None:
    v = copy.deepcopy(VALUE)
    for k, x in changes.items():
        if x is None:
            v.pop(k, None)
        else:
            v[k] = x
    doc = default_policy().to_dict()
    doc["value"] = v
    with pytest.raises(PolicyError) as err:
        Policy.from_dict(doc, source="bank.toml")
    assert err.value.path == path, str(err.value)
    assert str(err.value).startswith(path)
    assert err.value.file == "bank.toml"


def test_matrix_sections_checked() -> None:
    m = copy.deepcopy(VALUE["matrix"])
    m["quadrants"][3]["potential"] = "high"
    with pytest.raises(PolicyError, match=r"value.matrix.quadrants\[3\]: quadrant low/high already given"):
        policy_with(matrix=m)
    m = copy.deepcopy(VALUE["matrix"])
    m["quadrants"].pop()
    with pytest.raises(PolicyError, match="missing current/potential low/low"):
        policy_with(matrix=m)
    m = copy.deepcopy(VALUE["matrix"])
    m["potential"] = "lifetime"
    with pytest.raises(PolicyError, match=r"value\.matrix\.potential: unknown measure 'lifetime'"):
        policy_with(matrix=m)


def test_feature_named_like_a_measure_is_refused() -> None:
    doc = default_policy().to_dict()
    doc["features"]["clv"] = {"op": "value", "column": "deposits"}
    doc["value"] = copy.deepcopy(VALUE)
    with pytest.raises(PolicyError, match=r"features.clv: 'clv' is the name of a value measure"):
        Policy.from_dict(doc)


# --------------------------------------------------------------------------- margins


def test_margin_worked_example() -> None:
    p = policy_with()
    port = one(1_000_000_00, wealth=200_000_00, credit_loan=300_000_00)
    # 1,000,000 × 1.5 % + 200,000 × 0.8 % + 300,000 × 2 % = 22,600.00 yuan a year
    assert customer_margin(port, p, period="year").tolist() == [2_260_000]
    # / 12 = 1,883.333... → 1,883.33 (half-even to fen)
    assert customer_margin(port, p).tolist() == [188_333]


@settings(max_examples=150)
@given(
    st.lists(st.integers(-(10**15), 10**15), min_size=1, max_size=4),
    st.lists(st.decimals(-1, 1, places=6, allow_nan=False, allow_infinity=False), min_size=4, max_size=4),
    st.sampled_from([1, 12, 7]),
)
def test_exact_linear_matches_fractions(values: list[int], coefs: list[Decimal], divisor: int) -> None:
    k = len(values)
    arrays = [np.array([v, -v, v // 3]) for v in values]
    got = exact_linear(arrays, coefs[:k], divisor)
    for row in range(3):
        exact = (
            sum(Fraction(int(a[row])) * Fraction(c) for a, c in zip(arrays, coefs[:k], strict=True)) / divisor
        )
        q, r = divmod(exact.numerator, exact.denominator)
        want = q + (1 if 2 * r > exact.denominator or (2 * r == exact.denominator and q % 2) else 0)
        assert int(got[row]) == want


def test_exact_linear_large_rows_and_overflow() -> None:
    # a row beyond the int64 fast path is computed exactly with Python integers
    got = exact_linear([np.array([8 * 10**17, 5])], [Decimal("10.5")], 100)
    assert got.tolist() == [84 * 10**15, 1]  # 5 × 10.5 / 100 = 0.525 -> 1
    assert exact_linear([np.array([5, 15])], [Decimal("0.5")]).tolist() == [2, 8]  # 2.5 -> 2, 7.5 -> 8
    with pytest.raises(AmountOverflowError):
        exact_linear([np.array([9 * 10**17])], [Decimal(11)])


def test_round_fen_is_half_even_and_refuses_nan() -> None:
    assert round_fen([0.5, 1.5, -1.5, 2.4999]).tolist() == [0, 2, -2, 2]
    with pytest.raises(AnalyticsError, match="not finite"):
        round_fen([1.0, float("nan")])
    with pytest.raises(AmountOverflowError):
        round_fen([1e19])


# --------------------------------------------------------------------------- explicit CLV


def test_clv_worked_example() -> None:
    p = policy_with()
    port = one(1_000_000_00)
    lv = lifetime_value(port, p)
    # m = 15,000 yuan, q = 0.85 / 1.08; Σ_{t=1..5} m qᵗ
    want = reference_clv(1_500_000, Decimal("0.85"), Decimal("0.08"), 5)
    assert lv.clv.tolist() == [round(want)]
    assert lv.rounding == "half-even to fen"
    assert lv.report().column("clv").tolist() == lv.clv.tolist()


def test_clv_q_equal_one_and_zero() -> None:
    assert geometric_clv([7.0], [1.0], [0.0], 12).tolist() == [84.0]
    assert geometric_clv([7.0], [0.0], [0.1], 12).tolist() == [0.0]
    with pytest.raises(ValueError, match="infinite horizon"):
        geometric_clv([7.0], [1.0], [0.0], None)
    with pytest.raises(ValueError, match="discount rate"):
        geometric_clv([7.0], [0.5], [-1.0], 3)
    with pytest.raises(ValueError, match="retention"):
        geometric_clv([7.0], [1.5], [0.0], 3)


def test_retention_by_tier_uses_the_tiers() -> None:
    tiers = default_policy().tier_order
    rates = {t: Decimal("0.5") for t in tiers} | {"platinum": Decimal("0.9")}
    p = policy_with(retention=rates)
    port = Portfolio.from_arrays(
        customer_ids=["P", "G"],
        branch_ids=["X", "X"],
        start="2026-10",
        deposits=np.array([[600_000_00], [300_000_00]]),
    )
    lv = lifetime_value(port, p)
    assert lv.retention.tolist() == [0.9, 0.5]


rates = st.decimals(0, 1, places=3)
discounts = st.decimals("-0.5", "0.5", places=3)
horizons = st.one_of(st.none(), st.integers(1, 60))


@settings(max_examples=200)
@given(st.integers(-(10**9), 10**9), rates, discounts, horizons)
def test_vectorised_clv_equals_exact_reference(m: int, r: Decimal, d: Decimal, h: int | None) -> None:
    if h is None and r >= 1 + d:
        return
    got = float(geometric_clv(np.array([float(m)]), np.array([float(r)]), float(d), h)[0])
    want = reference_clv(m, r, d, h)
    assert abs(got - float(want)) <= 1e-9 * max(1.0, abs(float(want))) + 1e-6


@settings(max_examples=150)
@given(st.integers(0, 10**9), st.integers(0, 10**9), rates, rates, discounts, discounts, st.integers(1, 60))
def test_clv_monotone(m1: int, m2: int, r1: Decimal, r2: Decimal, d1: Decimal, d2: Decimal, h: int) -> None:
    lo_m, hi_m = sorted((m1, m2))
    lo_r, hi_r = sorted((r1, r2))
    lo_d, hi_d = sorted((d1, d2))
    # the largest of the values compared must be fen that fit int64 (beyond, the result is an
    # AmountOverflowError, not a value: a negative discount rate with full retention grows fast)
    assume(abs(reference_clv(hi_m, hi_r, lo_d, h)) < 2**62)

    def clv(m: int, r: Decimal, d: Decimal) -> int:
        return int(round_fen(geometric_clv(np.array([float(m)]), float(r), float(d), h))[0])

    # in margin (positive margins), retention, and decreasing in the discount rate
    assert clv(lo_m, lo_r, lo_d) <= clv(hi_m, lo_r, lo_d)
    assert clv(hi_m, lo_r, lo_d) <= clv(hi_m, hi_r, lo_d)
    assert clv(hi_m, hi_r, hi_d) <= clv(hi_m, hi_r, lo_d)
    # and the exact reference agrees on the order
    assert reference_clv(hi_m, hi_r, hi_d, h) <= reference_clv(hi_m, hi_r, lo_d, h)


def test_a_clv_beyond_int64_fen_is_an_overflow_error_not_a_value() -> None:
    """Full retention at a -50% discount rate doubles the margin each period: 2**60 times over."""
    with pytest.raises(AmountOverflowError, match="overflows int64 fen"):
        round_fen(geometric_clv(np.array([105_270.0]), 1.0, -0.5, 60))


# --------------------------------------------------------------------------- value formula


def test_value_formula_components() -> None:
    p = policy_with()
    port = one(1_000_000_00, card_spend=50_000_00)
    v = customer_value(
        port, p, inputs={"service_cost": np.array([1_000_00]), "sales_forecast": np.array([0])}
    )
    c = v.components()
    assert c["explicit_value"].tolist() == [1_500_000]  # annual margin 15,000.00
    assert c["implicit_value"].tolist() == [30_000]  # 50,000 card spend × 0.6 %
    assert c["explicit_cost"].tolist() == [100_000]
    assert c["implicit_cost"].tolist() == [50_000]  # 1,000,000 × 0.05 %
    assert v["value"].tolist() == [1_500_000 + 30_000 - 100_000 - 50_000]
    rep = v.report()
    assert "value" in rep.column_names and rep.records()[0]["value"] == 1_380_000


def test_inputs_are_checked() -> None:
    p = policy_with()
    port = one(5)
    with pytest.raises(AnalyticsError, match="not declared"):
        customer_value(port, p, inputs={"costs": np.array([1])})
    with pytest.raises(AnalyticsError, match="must be integers"):
        customer_value(port, p, inputs={"service_cost": np.array([1.5])})
    with pytest.raises(AnalyticsError, match="shape"):
        customer_value(port, p, inputs={"service_cost": np.array([1, 2])})
    v = customer_value(port, p)
    with pytest.raises(AnalyticsError, match="declared input"):
        v["value"]
    with pytest.raises(AnalyticsError, match="needs a SalesLedger"):
        v["sales"]


def test_policy_without_value_section() -> None:
    with pytest.raises(PolicyError, match="no \\[value\\] section"):
        customer_value(one(5), default_policy())


# --------------------------------------------------------------------------- value matrix


def test_value_matrix_quadrants_counts_and_aum() -> None:
    p = policy_with()
    dep = np.array([[600_000_00], [500_000_00], [100_000_00], [10_000_00], [3_000_000_00]])
    loans = np.array([[0], [0], [1_500_000_00], [0], [0]])
    port = Portfolio.from_arrays(
        customer_ids=list("ABCDE"), branch_ids=["X"] * 5, start="2026-10", deposits=dep, credit_loan=loans
    )
    v = customer_value(port, p)
    m = value_matrix(v)
    # G = Σ_{t=1..5} (0.85/1.08)^t = 2.5811: A's CLV 9,000 × G ≈ 23,230 ≥ 20,000 (potential cut);
    # B's 7,500 × G ≈ 19,358 below it; C has AUM 100,000 but a 1,500,000 loan (margin 31,500 a year)
    g = sum((0.85 / 1.08) ** t for t in range(1, 6))
    assert abs(v["clv"][1] / 100 - 7_500 * g) < 0.01
    assert m.quadrants().tolist() == ["star", "keep", "grow", "basic", "star"]
    assert m.counts.tolist() == [2, 1, 1, 1]
    assert m.aum.tolist() == [360_000_000, 50_000_000, 10_000_000, 1_000_000]
    assert m.customers("star").tolist() == ["A", "E"]
    rep = m.report()
    assert rep.column("label_zh").tolist()[0] == "明星客户"
    assert rep.column("customers").tolist() == [2, 1, 1, 1]
    assert int(rep.column("customers_bp").sum()) == 10_000
    with pytest.raises(AnalyticsError, match="unknown quadrant"):
        m.customers("nope")


def test_value_matrix_plot(tmp_path: Any) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    p = policy_with()
    port = one(600_000_00)
    ax = value_matrix(customer_value(port, p)).plot()
    assert ax.get_title().startswith("Value matrix")
    ax.figure.savefig(tmp_path / "m.png")


def test_aum_growth_and_late_joiners() -> None:
    p = policy_with()
    dep = np.zeros((3, 14), np.int64)
    dep[0] = np.arange(14) * 100  # full history: growth over 12 months = (13 - 1) × 100
    dep[1, 5:] = 700  # joined in month 5: growth since then = 0
    dep[2, 10:] = np.array([100, 200, 300, 400])
    hs = np.array([0, 5, 10], np.int16)
    port = Portfolio.from_arrays(
        customer_ids=["A", "B", "C"], branch_ids=["X"] * 3, start="2025-09", deposits=dep, history_start=hs
    )
    v = customer_value(port, p)
    assert v["aum_growth"].tolist() == [1200, 0, 300]
    # the reference: AUM now minus AUM 12 months back, or at the first month with data
    for i in range(3):
        back = max(13 - 12, int(hs[i]))
        assert int(v["aum_growth"][i]) == int(dep[i, 13] - dep[i, back])


def test_measures_are_computed_once_and_read_only() -> None:
    p = policy_with()
    port = one(1_000_000_00)
    v = customer_value(port, p, inputs={"service_cost": [0], "sales_forecast": [0]})
    a = v["clv"]
    assert v["clv"] is a and not a.flags.writeable
    with pytest.raises(AnalyticsError, match="unknown measure"):
        v["nope"]


@settings(max_examples=40)
@given(
    st.lists(st.tuples(st.integers(0, 10**12), st.integers(0, 10**11)), min_size=1, max_size=40),
    st.integers(0, 10**7),
    st.integers(0, 10**6),
)
def test_value_matrix_equals_scalar_rule(rows: list[tuple[int, int]], cut_c: int, cut_p: int) -> None:
    m = copy.deepcopy(VALUE["matrix"])
    m["current_cut"], m["potential_cut"] = Decimal(cut_c) / 100, Decimal(cut_p) / 100
    m["potential"] = "annual_margin"
    p = policy_with(matrix=m)
    n = len(rows)
    arr = np.array(rows, dtype=np.int64)
    port = Portfolio.from_arrays(
        customer_ids=[f"c{i}" for i in range(n)],
        branch_ids=["X"] * n,
        start="2026-10",
        deposits=arr[:, :1],
        credit_loan=arr[:, 1:],
    )
    vm = value_matrix(customer_value(port, p))
    names = {
        ("high", "high"): "star",
        ("high", "low"): "keep",
        ("low", "high"): "grow",
        ("low", "low"): "basic",
    }
    margin = customer_margin(port, p, period="year")
    for i in range(n):
        cur = "high" if int(arr[i, 0]) >= cut_c else "low"
        pot = "high" if int(margin[i]) >= cut_p else "low"
        assert vm.quadrants()[i] == names[(cur, pot)]
    for q, total in zip(vm.quadrant_ids, vm.aum.tolist(), strict=True):
        assert total == sum(int(arr[i, 0]) for i in range(n) if vm.quadrants()[i] == q)
    assert int(vm.counts.sum()) == n


@settings(max_examples=60)
@given(
    st.lists(st.tuples(st.sampled_from([-1, 0, 1]), st.sampled_from([-1, 0, 1])), min_size=1, max_size=30),
    st.integers(1, 10**9),
    st.integers(1, 10**9),
)
def test_value_matrix_cuts_are_inclusive_to_the_fen(
    offsets: list[tuple[int, int]], cut_c: int, cut_p: int
) -> None:
    """A measure at its cut is high, one fen below is low; quadrants partition customers and AUM."""
    m = copy.deepcopy(VALUE["matrix"])
    m["current_cut"], m["potential_cut"] = Decimal(cut_c) / 100, Decimal(cut_p) / 100
    m["potential"] = "sales_forecast"
    p = policy_with(matrix=m)
    n = len(offsets)
    cur = np.array([cut_c + dc for dc, _ in offsets], dtype=np.int64)
    pot = np.array([cut_p + dp for _, dp in offsets], dtype=np.int64)
    ids = [f"c{i}" for i in range(n)]
    port = Portfolio.from_arrays(
        customer_ids=ids, branch_ids=["X"] * n, start="2026-10", deposits=cur[:, None]
    )
    vm = value_matrix(
        customer_value(port, p, inputs={"service_cost": np.zeros(n, np.int64), "sales_forecast": pot})
    )
    names = {(True, True): "star", (True, False): "keep", (False, True): "grow", (False, False): "basic"}
    assert vm.quadrants().tolist() == [names[(dc >= 0, dp >= 0)] for dc, dp in offsets]
    # a partition: counts and exact AUM sums add up, every customer is listed once
    assert int(vm.counts.sum()) == n and int(vm.aum.sum()) == int(cur.sum())
    listed = [c for q in ("star", "keep", "grow", "basic") for c in vm.customers(q).tolist()]
    assert sorted(listed) == sorted(ids)
    # shares: each half-even basis points of the exact totals, so they sum to 10,000 within 4 × ½ bp
    rep = vm.report()
    for col, total in (("customers_bp", n), ("aum_bp", int(cur.sum()))):
        if total > 0:
            assert abs(int(np.asarray(rep.column(col)).sum()) - 10_000) <= 2
        else:  # a share of nothing is undefined, not 0 %
            assert rep.records()[0][col] is None
