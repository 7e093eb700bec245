"""Large-transaction rules: hand-computed cases, window and threshold edges, the scalar reference."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custvalue import AmountOverflowError, Portfolio, default_policy, evaluate
from custvalue.allocation import AllocationBook
from custvalue.analytics import (
    ALERT_COLUMNS,
    TransactionError,
    Transactions,
    large_transactions,
    reference_large_transactions,
    synthetic_transactions,
)
from custvalue.analytics._large import window_sums
from custvalue.policy import Policy, PolicyError, TransactionRule

DAY = 86_400
T0 = int(np.datetime64("2026-10-01T00:00:00", "s").astype(np.int64))


def policy(*rules: TransactionRule, unit: str = "yuan") -> Policy:
    return attrs.evolve(default_policy(), transactions=rules, amount_unit=unit)


def tx(rows: list[tuple[str, int, int, str]]) -> Transactions:
    """(customer, seconds after 2026-10-01, fen, direction) rows."""
    return Transactions.from_arrays(
        customer_ids=[r[0] for r in rows],
        timestamps=np.array([T0 + r[1] for r in rows], dtype="datetime64[s]"),
        amounts=np.array([r[2] for r in rows], dtype=np.int64),
        directions=[r[3] for r in rows],
    )


SINGLE = TransactionRule("big", "single", threshold=Decimal("500"), direction="any")
WINDOW = TransactionRule("sum", "window_sum", threshold=Decimal("1000"), days=2, direction="out")
STRUCT = TransactionRule(
    "smurf", "structuring", threshold=Decimal("100"), margin=Decimal("10"), count=3, days=1
)


def test_single_threshold_edge_one_fen() -> None:
    t = tx([("A", 0, 49_999, "in"), ("A", 1, 50_000, "out"), ("B", 2, 50_001, "in")])
    a = large_transactions(t, policy(SINGLE))
    assert a.records() == [
        ("big", "A", T0 + 1, T0 + 1, 50_000, 1, 0),
        ("big", "B", T0 + 2, T0 + 2, 50_001, 1, 0),
    ]
    assert a.rules().tolist() == ["big", "big"]


def test_direction_filters() -> None:
    t = tx([("A", 0, 60_000, "in"), ("A", 1, 60_000, "out")])
    only_in = attrs.evolve(SINGLE, direction="in")
    assert [r[2] for r in large_transactions(t, policy(only_in)).records()] == [T0]


def test_window_exactly_n_days_is_outside_one_second_less_is_inside() -> None:
    w = 2 * DAY
    apart = tx([("A", 0, 50_000, "out"), ("A", w, 50_000, "out")])
    assert large_transactions(apart, policy(WINDOW)).records() == []
    inside = tx([("A", 1, 50_000, "out"), ("A", w, 50_000, "out")])
    assert large_transactions(inside, policy(WINDOW)).records() == [
        ("sum", "A", T0 + 1, T0 + w, 100_000, 2, 0)
    ]


def test_window_sum_threshold_edge_and_inflows_ignored() -> None:
    t = tx([("A", 0, 50_000, "out"), ("A", 10, 99_999, "in"), ("A", 20, 49_999, "out")])
    assert large_transactions(t, policy(WINDOW)).records() == []
    t = tx([("A", 0, 50_000, "out"), ("A", 20, 50_000, "out"), ("A", 30, 1, "out")])
    assert large_transactions(t, policy(WINDOW)).records() == [
        ("sum", "A", T0, T0 + 20, 100_000, 2, 0),
        ("sum", "A", T0, T0 + 30, 100_001, 3, 0),
    ]


def test_window_ties_give_one_alert_per_second() -> None:
    t = tx([("A", 5, 60_000, "out"), ("A", 5, 60_000, "out")])
    assert large_transactions(t, policy(WINDOW)).records() == [("sum", "A", T0 + 5, T0 + 5, 120_000, 2, 0)]


def test_windows_never_cross_customers() -> None:
    t = tx([("A", 0, 60_000, "out"), ("B", 1, 60_000, "out")])
    assert large_transactions(t, policy(WINDOW)).records() == []


def test_structuring_band_and_count_edges() -> None:
    # band [9000, 10000) fen; 3 within one day
    two = tx(
        [("A", 0, 9_000, "out"), ("A", 10, 9_999, "out"), ("A", 20, 10_000, "out"), ("A", 30, 8_999, "out")]
    )
    assert large_transactions(two, policy(STRUCT)).records() == []
    three = tx([("A", 0, 9_000, "out"), ("A", 10, 9_999, "out"), ("A", DAY - 1, 9_500, "out")])
    assert large_transactions(three, policy(STRUCT)).records() == [
        ("smurf", "A", T0, T0 + DAY - 1, 28_499, 3, 0)
    ]
    late = tx([("A", 0, 9_000, "out"), ("A", 10, 9_999, "out"), ("A", DAY, 9_500, "out")])
    assert large_transactions(late, policy(STRUCT)).records() == []


def _portfolio() -> Portfolio:
    return Portfolio.from_arrays(
        customer_ids=["A", "B"],
        branch_ids=["X", "X"],
        start="2026-09",
        deposits=np.array([[100_000, 100_000], [0, 7]]),
        wealth=np.array([[0, 100_000], [0, 0]]),
    )


def test_aum_share_uses_the_month_and_is_exact() -> None:
    rule = TransactionRule("half", "aum_share", percent=Decimal("50"))
    p = _portfolio()
    t = tx([("A", 0, 99_999, "out"), ("A", 1, 100_000, "out"), ("A", 2, 200_000, "in"), ("B", 3, 4, "out")])
    a = large_transactions(t, policy(rule), portfolio=p)
    assert a.records() == [
        ("half", "A", T0 + 1, T0 + 1, 100_000, 1, 200_000),
        ("half", "B", T0 + 3, T0 + 3, 4, 1, 7),
    ]
    assert a.records() == reference_large_transactions(t, policy(rule), portfolio=p)
    odd = TransactionRule("third", "aum_share", percent=Decimal("33.33"))
    t = tx([("A", 0, 66_659, "out"), ("A", 1, 66_660, "out")])  # 33.33% of 200,000 = 66,660
    assert [r[4] for r in large_transactions(t, policy(odd), portfolio=p).records()] == [66_660]


def test_aum_share_is_skipped_without_a_portfolio_and_refuses_months_outside_it() -> None:
    rule = TransactionRule("half", "aum_share", percent=Decimal("50"))
    t = tx([("A", 0, 1, "out")])
    a = large_transactions(t, policy(rule))
    assert len(a) == 0 and a.skipped_rules == ("half",)
    late = tx([("A", 40 * DAY, 1, "out")])
    with pytest.raises(TransactionError, match="no balances") as info:
        large_transactions(late, policy(rule), portfolio=_portfolio())
    assert (info.value.customer_id, info.value.month) == ("A", "2026-11")
    with pytest.raises(TransactionError, match="not in the portfolio"):
        large_transactions(tx([("Z", 0, 1, "out")]), policy(rule), portfolio=_portfolio())


def test_tier_and_rm_columns() -> None:
    p = _portfolio()
    tiers = evaluate(p, as_of="2026-10")
    day = dt.date(2026, 1, 1)
    book = AllocationBook.empty({"M1": "X"})
    book, _ = book.add_customers(["A", "B"], "X", effective=day, operator="test")
    book, _ = book.allocate("A", "M1", {"M1": "100%"}, tier="gold", effective=day, operator="test")
    t = tx([("A", 0, 6_000_000, "out"), ("B", 0, 6_000_000, "out")])
    a = large_transactions(t, policy(SINGLE), tiers=tiers, book=book)
    assert a.tier.tolist() == tiers.tiers().tolist()
    assert a.rm.tolist() == ["M1", ""]
    df = a.to_pandas()
    assert tuple(df.columns) == ALERT_COLUMNS and df["rm"].tolist() == ["M1", ""]
    assert "M1" in a.text()


def test_policy_unit_fen_and_bad_thresholds() -> None:
    rule = TransactionRule("big", "single", threshold=Decimal("500"), direction="any")
    t = tx([("A", 0, 500, "in"), ("A", 1, 499, "in")])
    assert [r[4] for r in large_transactions(t, policy(rule, unit="fen")).records()] == [500]
    half_fen = TransactionRule("big", "single", threshold=Decimal("0.5"))
    with pytest.raises(PolicyError, match="whole number of fen"):
        large_transactions(t, policy(half_fen, unit="fen"))
    with pytest.raises(PolicyError, match="needs days"):
        TransactionRule("w", "window_sum", threshold=Decimal(1))
    with pytest.raises(PolicyError, match="takes no count"):
        TransactionRule("w", "single", threshold=Decimal(1), count=3)


def test_policy_document_round_trip_and_errors() -> None:
    p = default_policy()
    assert [r.id for r in p.transactions] == ["large_single", "aum_outflow", "outflow_30d", "structuring"]
    assert Policy.from_dict(p.to_dict()) == p
    doc = p.to_dict()
    doc["transactions"]["rules"][2]["days"] = 0
    with pytest.raises(PolicyError, match="days"):
        Policy.from_dict(doc)
    doc = p.to_dict()
    doc["transactions"]["rules"][0]["kind"] = "huge"
    with pytest.raises(PolicyError, match="unknown kind") as info:
        Policy.from_dict(doc)
    assert info.value.path == "transactions.rules[large_single]"
    doc = p.to_dict()
    doc["transactions"]["rules"].append(doc["transactions"]["rules"][0])
    with pytest.raises(PolicyError, match="duplicate rule id"):
        Policy.from_dict(doc)


def test_window_sums_overflow_is_an_error_not_a_wrap() -> None:
    v = np.array([2**62, 2**62, 2**62], dtype=np.int64)
    assert window_sums(v, np.array([0, 2]), np.array([1, 3]), what="x").tolist() == [2**62, 2**62]
    with pytest.raises(AmountOverflowError):
        window_sums(v, np.array([0]), np.array([2]), what="x")


def test_empty_and_immutable() -> None:
    t = Transactions.from_arrays(customer_ids=[], timestamps=[], amounts=[], directions=[])
    a = large_transactions(t)
    assert len(a) == 0 and a.to_pandas().shape == (0, len(ALERT_COLUMNS))
    a = large_transactions(synthetic_transactions(5000, 50, seed=1))
    assert len(a) > 0 and not a.amount.flags.writeable
    assert a == large_transactions(synthetic_transactions(5000, 50, seed=1))


def test_default_policy_matches_reference_on_synthetic_data() -> None:
    t = synthetic_transactions(3000, 40, seed=5, days=60)
    assert large_transactions(t).records() == reference_large_transactions(t)


# ------------------------------------------------------------------ property
EDGE = [0, 1, DAY - 1, DAY, DAY + 1, 2 * DAY - 1, 2 * DAY, 2 * DAY + 1, 5 * DAY]
RULES = (
    TransactionRule("single", "single", threshold=Decimal("1"), direction="any"),
    TransactionRule("share", "aum_share", percent=Decimal("12.5")),
    TransactionRule("sum", "window_sum", threshold=Decimal("3"), days=1),
    TransactionRule("sum_in", "window_sum", threshold=Decimal("2.5"), days=2, direction="in"),
    TransactionRule("smurf", "structuring", threshold=Decimal("1"), margin=Decimal("0.10"), count=3, days=1),
    TransactionRule(
        "smurf2",
        "structuring",
        threshold=Decimal("1"),
        margin=Decimal("0.5"),
        count=2,
        days=2,
        direction="any",
    ),
)

rows = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", "C"]),
        st.one_of(st.sampled_from(EDGE), st.integers(0, 6 * DAY)),
        st.one_of(st.sampled_from([89, 90, 91, 99, 100, 101, 149, 150, 151]), st.integers(1, 400)),
        st.sampled_from(["in", "out"]),
    ),
    max_size=40,
)


@settings(max_examples=300)
@given(rows, st.lists(st.integers(0, 2000), min_size=6, max_size=6))
def test_vectorised_rules_equal_the_scalar_reference(
    data: list[tuple[str, int, int, str]], aum: list[int]
) -> None:
    t = tx(data)
    p = Portfolio.from_arrays(
        customer_ids=["A", "B", "C"],
        branch_ids=["X"] * 3,
        start="2026-10",
        deposits=np.array(aum).reshape(3, 2),
    )
    pol = policy(*RULES)
    got = large_transactions(t, pol, portfolio=p)
    assert got.records() == reference_large_transactions(t, pol, portfolio=p)
    assert sorted(got.records()) == sorted(large_transactions(tx(data[::-1]), pol, portfolio=p).records())
