"""Value-formula components written as S-FEEL arithmetic expressions ([value.formula])."""

from __future__ import annotations

import copy
import tomllib
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custvalue import AmountOverflowError, Portfolio, default_policy
from custvalue.analytics import AnalyticsError, customer_value
from custvalue.analytics._formula import evaluate_formula, reference_formula
from custvalue.policy import Policy, PolicyError, load_policy
from custvalue.rules import evaluate_expression, parse_expression

MARGINS = {"deposits": Decimal("0.015"), "wealth": Decimal("0.008"), "credit_loan": Decimal("0.02")}


def policy(formula: dict[str, Any], **value: Any) -> Policy:
    doc = default_policy().to_dict()
    doc["value"] = {"margins": dict(MARGINS), "formula": formula, **value}
    return Policy.from_dict(doc)


def portfolio(**cols: list[int]) -> Portfolio:
    n = len(next(iter(cols.values())))
    return Portfolio.from_arrays(
        customer_ids=[f"C{i}" for i in range(n)],
        branch_ids=["X"] * n,
        start="2026-10",
        **{k: np.array([[v] for v in vs]) for k, vs in cols.items()},
    )


# --------------------------------------------------------------------------- hand-computed


def test_hand_computed_components() -> None:
    pol = policy(
        {
            # 15,000 + 4,000 yuan margin + half of 0.8 % of wealth again
            "explicit_value": "annual_margin + 0.5 * wealth * 0.008",
            # card spend over 12 months × 0.6 %, at least 10 yuan
            "implicit_value": "max(card_spend_12m * 0.006, 10)",
            "explicit_cost": "floor(aum / 10000) * 2",  # 2 yuan per whole 10,000 yuan of AUM
            "implicit_cost": "(credit_loan / 3) ** 2 / 1000000",
        }
    )
    p = portfolio(
        deposits=[1_000_000_00, 0],
        wealth=[500_000_00, 1_00],
        card_spend=[50_000_00, 0],
        credit_loan=[30_000_00, 0],
    )
    v = customer_value(p, pol)
    c = {k: x.tolist() for k, x in v.components().items()}
    # A: annual margin 15,000 + 4,000 + 600 = 19,600; plus 0.5 × 500,000 × 0.008 = 2,000
    assert c["explicit_value"] == [2_160_000, 1]  # B: 0.008 yuan margin rounds to 1 fen; + 0.4 fen
    assert c["implicit_value"] == [30_000, 1_000]  # 50,000 × 0.6 % = 300; B: the minimum 10 yuan
    assert c["explicit_cost"] == [30_000, 0]  # floor(1,500,000 / 10,000) × 2 = 300 yuan; B: AUM 1 yuan
    assert c["implicit_cost"] == [10_000, 0]  # (30,000 / 3)² / 10⁶ = 100 yuan
    assert v["value"].tolist() == [2_150_000, 1 + 1_000]


def test_hand_computed_explicit_cost_detail() -> None:
    # aum = deposits + wealth + investments (the default policy's AUM columns)
    pol = policy({"explicit_cost": "floor(aum / 10000) * 2"})
    p = portfolio(deposits=[1_000_000_00], wealth=[500_000_00])
    assert pol.aum == ("deposits", "wealth", "investments")
    assert customer_value(p, pol).components()["explicit_cost"].tolist() == [150 * 2 * 100]


def test_rounding_is_half_even_to_fen_once() -> None:
    pol = policy(
        {
            "explicit_value": "deposits / 200",
            "implicit_value": "deposits * 0.005 + 0",
            "explicit_cost": "deposits / 200 + deposits / 200",  # rounded once: 1, 3, 5 fen
            "implicit_cost": "-deposits / 200",
        }
    )
    p = portfolio(deposits=[100, 300, 500])  # halves of a fen: 0.5, 1.5, 2.5
    c = customer_value(p, pol).components()
    assert c["explicit_value"].tolist() == [0, 2, 2]
    assert c["implicit_value"].tolist() == [0, 2, 2]
    assert c["explicit_cost"].tolist() == [1, 3, 5]
    assert c["implicit_cost"].tolist() == [0, -2, -2]


def test_number_measures_and_constants_are_in_the_amount_unit() -> None:
    doc = default_policy().to_dict()
    doc["features"]["low_run"] = {"op": "run", "column": "deposits", "window": 3, "test": "< 1000"}
    doc["value"] = {"margins": dict(MARGINS), "formula": {"implicit_cost": "low_run * 10 + 0.01"}}
    pol = Policy.from_dict(doc)
    p = Portfolio.from_arrays(
        customer_ids=["A", "B"],
        branch_ids=["X", "X"],
        start="2026-08",
        deposits=np.array([[0, 0, 0], [0, 0, 5_000_00]]),
    )
    v = customer_value(p, pol)
    assert v["low_run"].tolist() == [3, 0]
    assert v.components()["implicit_cost"].tolist() == [3_001, 1]  # 30.01 yuan, 0.01 yuan


def test_division_by_zero_names_the_customer() -> None:
    pol = policy({"implicit_value": "annual_margin / deposits"})
    p = portfolio(deposits=[100_00, 0])
    with pytest.raises(
        AnalyticsError, match=r"value\.formula\.implicit_value: division by zero for customer C1"
    ):
        customer_value(p, pol).components()


def test_overflow_is_an_error_and_big_rows_stay_exact() -> None:
    big = 10**15 - 7  # the largest balances: the square leaves int64
    p = portfolio(deposits=[big, 3])
    v = customer_value(p, policy({"implicit_value": "deposits * deposits / deposits"}))
    assert v.components()["implicit_value"].tolist() == [big, 3]  # through Python integers, exactly
    with pytest.raises(AmountOverflowError, match=r"value\.formula\.explicit_value of customer C0"):
        customer_value(p, policy({"explicit_value": "deposits ** 2"})).components()


# --------------------------------------------------------------------------- policy document


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("annual_margin + foo", "unknown name 'foo'"),
        ("sqrt(aum)", "function 'sqrt' is not allowed"),
        ("aum > 5", "is not arithmetic"),
        ('"x" + aum', "is not arithmetic"),
        # refused whether the parser knows if-then-else (not arithmetic) or not (a syntax error)
        ("if aum > 1 then 1 else 0", "is not arithmetic|invalid S-FEEL expression"),
        ("aum +", "invalid S-FEEL expression"),
        ("aum ** 0.5", "exponent of ** must be a whole number"),
        ("aum ** clv", "exponent of ** must be a whole number"),
        ("aum ** 65", "exponent of ** must be a whole number"),
        ("card_level * 2", "is a code, not an amount"),
        ("value / 2", "its own result 'value'"),
        ("abs(aum, 2)", "abs() takes 1 argument"),
        ("floor(aum, clv)", "scale of floor() must be a whole number"),
        ("min()", "min() needs at least one argument|min() takes at least 1"),
        ("aum.year", "unknown name 'aum.year'"),
        ("[aum, clv]", "is not arithmetic"),
        ("abs([aum])", "a list is only allowed|does not take a list"),
        ("aum and clv", "is not arithmetic"),
        ("aum * 1e30", "invalid S-FEEL expression"),
    ],
)
def test_bad_expressions_name_the_document_path(text: str, message: str) -> None:
    doc = default_policy().to_dict()
    doc["value"] = {"margins": dict(MARGINS), "formula": {"implicit_cost": text}}
    with pytest.raises(PolicyError) as err:
        Policy.from_dict(doc, source="bank.toml")
    assert err.value.path == "value.formula.implicit_cost"
    assert str(err.value).startswith("value.formula.implicit_cost: ")
    assert any(m in str(err.value) for m in message.split("|")), str(err.value)
    assert err.value.file == "bank.toml"


def test_expressions_round_trip(tmp_path: Any) -> None:
    formula = {
        "explicit_value": "annual_margin + 0.5 * wealth * 0.008",
        "implicit_value": {"card_spend_12m": Decimal("0.006")},
        "explicit_cost": "aum",
        "implicit_cost": "max(10, min(aum * 0.0005, 2000)) - -1",
    }
    pol = policy(formula)
    d = pol.to_dict()
    assert d["value"]["formula"] == formula
    assert Policy.from_dict(d) == pol
    again = Policy.from_dict(tomllib.loads(pol.to_toml(), parse_float=Decimal))
    assert again == pol and again.value is not None
    assert again.value.component("implicit_cost").text == formula["implicit_cost"]
    assert again.value.component("implicit_cost").is_expression
    assert not again.value.component("explicit_cost").is_expression
    for suffix in ("toml", "json"):
        path = tmp_path / f"p.{suffix}"
        pol.dump(path)
        assert load_policy(path) == pol
    p = portfolio(deposits=[1_000_000_00], wealth=[3_00], card_spend=[1_00])
    a, b = customer_value(p, pol), customer_value(p, again)
    assert a["value"].tolist() == b["value"].tolist()


def test_changed_expression_is_a_different_policy() -> None:
    assert policy({"explicit_value": "aum * 2"}) != policy({"explicit_value": "aum * 3"})
    assert policy({"explicit_value": "aum * 2"}) == policy({"explicit_value": "aum * 2"})


# --------------------------------------------------------------------------- properties

_COLS = ("deposits", "wealth", "credit_loan", "card_spend")
_coef = st.decimals(min_value=Decimal(-1000), max_value=Decimal(1000), places=4, allow_nan=False)
_fen = st.integers(0, 10**11)  # balances are never negative


@settings(max_examples=60, deadline=None)
@given(
    coefs=st.lists(
        st.tuples(st.sampled_from(_COLS), _coef), min_size=1, max_size=4, unique_by=lambda t: t[0]
    ),
    rows=st.lists(st.tuples(_fen, _fen, _fen, _fen), min_size=1, max_size=6),
)
def test_expression_equal_to_a_linear_combination_gives_identical_values(
    coefs: list[tuple[str, Decimal]], rows: list[tuple[int, int, int, int]]
) -> None:
    text = " + ".join(f"{k} * {c}" if i % 2 == 0 else f"({c}) * {k}" for i, (c, k) in enumerate(coefs))
    linear = policy({"implicit_value": {c: k for c, k in coefs}})
    expr = policy({"implicit_value": text})
    cols = {c: [r[i] for r in rows] for i, c in enumerate(_COLS)}
    p = portfolio(**cols)
    got = customer_value(p, expr).components()["implicit_value"]
    want = customer_value(p, linear).components()["implicit_value"]
    assert got.tolist() == want.tolist()


_names = st.sampled_from(["a", "b", "k"])


def _exprs() -> st.SearchStrategy[str]:
    leaf = st.one_of(
        _names,
        st.decimals(min_value=Decimal(-50), max_value=Decimal(50), places=2, allow_nan=False).map(
            lambda d: f"({d})"
        ),
    )

    def grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            inner.map(lambda x: f"-{x}"),
            st.tuples(inner, st.integers(-2, 3)).map(lambda t: f"({t[0]}) ** {t[1]}"),
            st.tuples(st.sampled_from(["min", "max"]), st.lists(inner, min_size=1, max_size=3)).map(
                lambda t: f"{t[0]}({', '.join(t[1])})"
            ),
            st.tuples(st.sampled_from(["floor", "ceiling", "abs"]), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(st.sampled_from(["floor", "ceiling"]), inner, st.integers(0, 3)).map(
                lambda t: f"{t[0]}({t[1]}, {t[2]})"
            ),
        )

    return st.recursive(leaf, grow, max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(
    text=_exprs(),
    rows=st.lists(
        st.tuples(st.integers(-(10**9), 10**9), st.integers(-(10**9), 10**9), st.integers(-20, 20)),
        min_size=1,
        max_size=5,
    ),
)
def test_vectorised_formula_equals_the_fraction_reference(
    text: str, rows: list[tuple[int, int, int]]
) -> None:
    expr = parse_expression(text)
    m = {k: np.array([r[i] for r in rows], np.int64) for i, k in enumerate(("a", "b", "k"))}
    want: list[int | str] = []
    for r in rows:
        try:
            want.append(reference_formula(expr, dict(zip(("a", "b", "k"), r, strict=True)), ["a", "b"], 100))
        except ZeroDivisionError:
            want = ["zero"]
            break
        except OverflowError:  # pragma: no cover - fractions do not overflow
            raise
    try:
        got: list[int | str] = evaluate_formula(expr, m, ["a", "b"], 100, len(rows), what="x").tolist()
    except AnalyticsError as exc:
        assert "division by zero" in str(exc)
        got = ["zero"]
    except AmountOverflowError:
        big = [w for w in want if isinstance(w, int) and not -(2**63) <= w < 2**63]
        assert big, "overflow reported although every value fits"
        return
    assert got == want


@settings(max_examples=100, deadline=None)
@given(
    text=_exprs().filter(
        lambda t: "/" not in t and "**" not in t and "floor" not in t and "ceiling" not in t
    ),
    a=st.integers(-(10**9), 10**9),
    b=st.integers(-(10**9), 10**9),
    k=st.integers(-20, 20),
)
def test_exact_expressions_agree_with_feel(text: str, a: int, b: int, k: int) -> None:
    """Without division FEEL's decimals are exact too: same value before rounding to fen."""
    expr = parse_expression(text)
    feel = evaluate_expression(expr, {"a": Decimal(a) / 100, "b": Decimal(b) / 100, "k": Decimal(k)})
    assert isinstance(feel, Decimal)
    x = Fraction(feel) * 100
    q, r = divmod(x.numerator, x.denominator)
    want = q + (1 if 2 * r > x.denominator or (2 * r == x.denominator and q % 2) else 0)
    got = evaluate_formula(
        expr, {"a": np.array([a]), "b": np.array([b]), "k": np.array([k])}, ["a", "b"], 100, 1
    )
    assert got.tolist() == [want]


def test_deep_copy_and_evaluation_do_not_mutate_measures() -> None:
    pol = policy({"explicit_value": "deposits * 2"})
    p = portfolio(deposits=[5, 6])
    v = customer_value(p, pol)
    before = v["deposits"].copy()
    v.components()
    assert v["deposits"].tolist() == before.tolist()
    assert copy.deepcopy(pol) == pol
