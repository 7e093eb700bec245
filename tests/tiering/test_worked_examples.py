"""SPEC section 8: the worked examples of the default policy, as-of 2026-10.

Every example is one customer; its AUM series runs from 2025-08 (the first
month example 3 names) to the as-of month, oldest first.  Other inputs are
zero / ``none`` unless the example says otherwise.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from custvalue import Month, Portfolio, evaluate

START = Month(2025, 8)
AS_OF = Month(2026, 10)
T = AS_OF - START + 1  # 15 months: the as-of month and 14 before


def yuan(x: str | int) -> int:
    """Yuan (int or decimal string) to fen, exactly."""
    fen = Decimal(x) * 100
    assert fen == fen.to_integral_value()
    return int(fen)


def series(*parts: tuple[int, Month, Month]) -> list[int]:
    """AUM in fen per month from START to the last part's end: (yuan, first, last) runs."""
    out: list[int] = []
    for amount, first, last in parts:
        assert first == START + len(out), "runs must be contiguous"
        out += [yuan(amount)] * (last - first + 1)
    return out


def evaluate_one(aum: list[int], *, as_of: Month = AS_OF, **monthly: int | str) -> dict[str, Any]:
    """Evaluate one customer whose other monthly inputs are constant."""
    t = len(aum)
    cols: dict[str, Any] = {"deposits": np.array([aum], dtype=np.int64)}
    for name, value in monthly.items():
        if name == "card_level":
            cols[name] = np.array([[value] * t])
        else:
            cols[name] = np.full((1, t), value, dtype=np.int64)
    p = Portfolio.from_arrays(customer_ids=["C"], branch_ids=["B"], start=START, **cols)
    return evaluate(p, as_of=as_of).row("C")


def const(amount: str | int) -> list[int]:
    return [yuan(amount)] * T


def check(row: dict[str, Any], **expected: Any) -> None:
    got = {k: row[k] for k in expected}
    assert got == expected, row


def test_example_1_aum_at_platinum_floor() -> None:
    row = evaluate_one(const(500_000))
    check(
        row,
        tier="platinum",
        status="normal",
        months_below=0,
        previous_tier="platinum",
        movement="same",
        churned_tier=None,
        history_complete=True,
        events=[],
    )
    assert row["reasons"] == ["platinum.aum"]


def test_example_2_one_fen_below_platinum_floor() -> None:
    row = evaluate_one(const("499999.99"))
    check(row, tier="gold", status="normal", months_below=0, movement="same", churned_tier=None, events=[])
    assert row["reasons"] == ["gold.aum"]


def test_example_3_platinum_attention_k4() -> None:
    aum = series((600_000, Month(2025, 8), Month(2026, 6)), (300_000, Month(2026, 7), Month(2026, 10)))
    row = evaluate_one(aum)
    check(
        row,
        tier="platinum",
        status="attention",
        months_below=4,
        previous_tier="platinum",
        movement="same",
        churned_tier=None,
    )
    # the month before was k = 3 (observation): attention is entered now
    assert row["events"] == ["entered_attention"]
    # and the month before that: observation, k = 3
    prev = evaluate_one(aum, as_of=AS_OF - 1)
    check(prev, tier="platinum", status="observation", months_below=3)


def test_example_4_platinum_lapses_k7_churn() -> None:
    aum = series((600_000, Month(2025, 8), Month(2026, 3)), (300_000, Month(2026, 4), Month(2026, 10)))
    row = evaluate_one(aum)
    check(
        row,
        tier="gold",
        status="normal",
        months_below=0,
        previous_tier="platinum",
        movement="down",
        churned_tier="platinum",
    )
    assert row["events"] == ["tier_down", "churned"]
    assert row["reasons"] == ["gold.aum"]


def test_example_5_mortgage_5m_is_growth_not_platinum() -> None:
    row = evaluate_one(const(50_000), mortgage_loan=yuan(5_000_000))
    check(row, tier="growth", status="normal", months_below=0, movement="same", churned_tier=None)
    assert row["reasons"] == ["growth.mortgage"]


@pytest.mark.parametrize(
    ("credit", "tier", "rule"),
    [(600_000, "platinum", "platinum.credit_loan"), ("599999.99", "gold", "gold.credit_loan")],
)
def test_example_6_credit_loan_edge(credit: str | int, tier: str, rule: str) -> None:
    row = evaluate_one(const(50_000), credit_loan=yuan(credit))
    check(row, tier=tier, status="normal", months_below=0, movement="same", churned_tier=None)
    assert row["reasons"] == [rule]


def test_example_7_core_attention_k12_then_churn() -> None:
    aum = series((12_000_000, Month(2025, 8), Month(2025, 10)), (9_000_000, Month(2025, 11), Month(2026, 10)))
    row = evaluate_one(aum)
    check(
        row,
        tier="core",
        status="attention",
        months_below=12,
        previous_tier="core",
        movement="same",
        churned_tier=None,
        events=[],
    )
    # one month later, with one more month of 9,000,000: k would reach 13
    later = evaluate_one([*aum, yuan(9_000_000)], as_of=AS_OF + 1)
    check(
        later,
        as_of="2026-11",
        tier="growth",
        status="normal",
        months_below=0,
        previous_tier="core",
        movement="down",
        churned_tier="core",
        events=["tier_down", "churned"],
        reasons=["growth.aum"],
    )


def test_example_8_diamond_card_is_growth() -> None:
    row = evaluate_one(const(10_000), card_level="diamond")
    check(row, tier="growth", status="normal", months_below=0, movement="same", churned_tier=None, events=[])
    assert row["reasons"] == ["growth.diamond_card"]


def test_all_examples_in_one_portfolio_match_one_by_one() -> None:
    """The same eight examples evaluated together give the same rows."""
    aums = [
        const(500_000),
        const("499999.99"),
        series((600_000, Month(2025, 8), Month(2026, 6)), (300_000, Month(2026, 7), AS_OF)),
        series((600_000, Month(2025, 8), Month(2026, 3)), (300_000, Month(2026, 4), AS_OF)),
        const(50_000),
        const(50_000),
        const(50_000),
        series((12_000_000, Month(2025, 8), Month(2025, 10)), (9_000_000, Month(2025, 11), AS_OF)),
        const(10_000),
    ]
    n = len(aums)
    mort = np.zeros((n, T), np.int64)
    mort[4] = yuan(5_000_000)
    cred = np.zeros((n, T), np.int64)
    cred[5], cred[6] = yuan(600_000), yuan("599999.99")
    card = np.zeros((n, T), np.int8)
    card[8] = 4  # diamond
    p = Portfolio.from_arrays(
        customer_ids=[f"E{i}" for i in range(n)],
        branch_ids=["B"] * n,
        start=START,
        deposits=np.array(aums),
        mortgage_loan=mort,
        credit_loan=cred,
        card_level=card,
    )
    r = evaluate(p, as_of="2026-10")
    assert r.tiers().tolist() == [
        "platinum",
        "gold",
        "platinum",
        "gold",
        "growth",
        "platinum",
        "gold",
        "core",
        "growth",
    ]
    assert r.statuses().tolist() == [
        "normal",
        "normal",
        "attention",
        "normal",
        "normal",
        "normal",
        "normal",
        "attention",
        "normal",
    ]
    assert r.months_below.tolist() == [0, 0, 4, 0, 0, 0, 0, 12, 0]
    assert r.churned_tiers().tolist() == ["", "", "", "platinum", "", "", "", "", ""]
    assert r.movements().tolist() == ["same"] * 3 + ["down"] + ["same"] * 5


def test_customer_without_data_at_the_as_of_month_gets_no_tier() -> None:
    """A customer who joins after the as-of month has no tier then (nothing invented)."""
    import numpy as np

    from custvalue import Portfolio, evaluate

    dep = np.full((2, 4), 600_000_00, dtype=np.int64)
    dep[1, :3] = 0
    p = Portfolio.from_arrays(
        customer_ids=["old", "late"],
        branch_ids=["B", "B"],
        start="2026-07",
        deposits=dep,
        history_start=np.array([0, 3], dtype=np.int16),
    )
    r = evaluate(p, as_of="2026-09")
    assert r.tiers().tolist() == ["platinum", ""]
    assert r.row("late")["tier"] is None and r.row("late")["movement"] == "new"
    assert r.reasons("late") == () and r.reasons_at(1) == ()
    assert r.counts()["tier"]["potential"] == 0
    assert "no tier" in r.explain("late").text
    assert "platinum" in r.summary()
    assert evaluate(p, as_of="2026-10").tiers().tolist() == ["platinum", "platinum"]
