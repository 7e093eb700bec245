"""Sales registration, adjustments and performance queries."""

from __future__ import annotations

import datetime as dt
import json

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from custvalue.allocation import (
    DocumentError,
    InvalidShareError,
    NoChangeError,
    SalesError,
    SalesLedger,
    SalesSplit,
)

MGRS = {"M1": "B1", "M2": "B1", "M3": "B2"}
D = dt.date(2026, 10, 5)


def test_split_config_is_data() -> None:
    assert SalesSplit.from_dict({"seller": 6000, "referrer": "40%"}).to_dict() == {
        "seller": 6000,
        "referrer": 4000,
    }
    with pytest.raises(DocumentError, match=r"\$\.split"):
        SalesSplit.from_dict({"seller": 6000, "referrer": 3000}, "$.split")
    with pytest.raises(InvalidShareError):
        SalesSplit(0, 10000)


@given(amount=st.integers(-(2**63), 2**63 - 1), seller=st.integers(1, 10000))
def test_credits_sum_exactly(amount: int, seller: int) -> None:
    ledger = SalesLedger.create(MGRS, SalesSplit(seller, 10000 - seller))
    ledger = ledger.register(
        "S", customer_id="C", product="p", amount=amount, date=D, seller="M1", referrer="M3"
    )
    credits = ledger.credits_of("S")
    assert sum(credits.values()) == amount
    assert abs(credits["M1"] * 10000 - amount * seller) < 10000
    try:
        ledger = ledger.adjust("S", {"M1": 1, "M2": 4999, "M3": "50%"}, date=D, operator="BM", reason="r")
    except NoChangeError:
        pass
    assert sum(ledger.credits_of("S").values()) == amount
    perf = ledger.performance("manager").as_dict()
    assert sum(perf.values()) == amount
    assert ledger.performance("branch").as_dict() == {
        "B1": perf["M1"] + perf["M2"],
        "B2": perf["M3"],
    }


def test_register_adjust_and_periods() -> None:
    ledger = SalesLedger.create(MGRS)
    ledger = ledger.register(
        "S1", customer_id="C1", product="fund", amount=1001, date=D, seller="M1", referrer="M2"
    )
    ledger = ledger.register(
        "S2", customer_id="C2", product="bond", amount=500, date=dt.date(2026, 11, 3), seller="M3"
    )
    ledger = ledger.register(
        "S3", customer_id="C2", product="ins", amount=10, date=D, seller="M2", referrer="M2"
    )
    assert ledger.credits_of("S1") == {"M1": 701, "M2": 300}
    assert ledger.credits_of("S3") == {"M2": 10}
    oct_ = ledger.performance("manager", dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    assert oct_.as_dict() == {"M1": 701, "M2": 310, "M3": 0}
    adj = ledger.adjust(
        "S1", {"M3": "100%"}, date=dt.date(2026, 11, 10), operator="BM1", reason="wrong seller"
    )
    assert ledger.credits_of("S1") == {"M1": 701, "M2": 300}  # original untouched
    assert adj.sales == ledger.sales
    assert adj.adjustments[-1].deltas == (("M1", -701), ("M2", -300), ("M3", 1001))
    assert adj.performance("manager", dt.date(2026, 10, 1), dt.date(2026, 10, 31)).as_dict() == oct_.as_dict()
    assert adj.performance("branch", start=dt.date(2026, 11, 1)).as_dict() == {
        "B1": -1001,
        "B2": 1501,
    }
    with pytest.raises(SalesError, match="already registered"):
        ledger.register("S1", customer_id="C", product="p", amount=1, date=D, seller="M1")
    with pytest.raises(SalesError, match="int fen"):
        ledger.register(
            "S9",
            customer_id="C",
            product="p",
            amount=1.5,
            date=D,  # type: ignore[arg-type]
            seller="M1",
        )
    with pytest.raises(SalesError, match="registry"):
        ledger.register("S9", customer_id="C", product="p", amount=1, date=D, seller="MX")
    with pytest.raises(SalesError, match="before"):
        adj.adjust("S1", {"M1": "100%"}, date=D, operator="BM", reason="r")
    with pytest.raises(NoChangeError):
        adj.adjust("S1", {"M3": "100%"}, date=dt.date(2026, 12, 1), operator="BM", reason="r")
    with pytest.raises(SalesError, match="10000"):
        adj.adjust("S1", {"M3": "90%"}, date=dt.date(2026, 12, 1), operator="BM", reason="r")


def test_ledger_round_trip_and_paths() -> None:
    ledger = SalesLedger.create(MGRS)
    ledger = ledger.register(
        "S1", customer_id="C1", product="fund", amount=1001, date=D, seller="M1", referrer="M2"
    )
    ledger = ledger.adjust("S1", {"M1": "50%", "M3": "50%"}, date=D, operator="BM", reason="r")
    doc = json.loads(json.dumps(ledger.to_dict()))
    again = SalesLedger.from_dict(doc)
    assert again.to_dict() == ledger.to_dict()
    assert again.performance().as_dict() == ledger.performance().as_dict()
    bad = json.loads(json.dumps(doc))
    bad["sales"][0]["date"] = "2026-13-01"
    with pytest.raises(DocumentError, match=r"\$\.sales\[0\]\.date"):
        SalesLedger.from_dict(bad)
    bad = json.loads(json.dumps(doc))
    bad["adjustments"][0]["credits"][0][1] += 1
    with pytest.raises(DocumentError, match=r"\$\.adjustments\[0\]"):
        SalesLedger.from_dict(bad)


# --------------------------------------------------------------------------- batch registration


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(-(2**58), 2**58),
            st.sampled_from(["M1", "M2", "M3"]),
            st.sampled_from(["M1", "M2", "M3", None]),
            st.integers(0, 40),
        ),
        max_size=25,
    ),
    st.sampled_from([(7000, 3000), (10000, 0), (3333, 6667), (5000, 5000)]),
)
def test_register_many_equals_register_one_by_one(
    rows: list[tuple[int, str, str | None, int]], split: tuple[int, int]
) -> None:
    from custvalue.allocation import SalesLedger, SalesSplit

    base = SalesLedger.create(
        {"M1": "B1", "M2": "B1", "M3": "B2"}, SalesSplit(seller_bp=split[0], referrer_bp=split[1])
    )
    one = base
    for i, (amount, seller, referrer, day) in enumerate(rows):
        one = one.register(
            f"S{i}",
            customer_id=f"C{i}",
            product="fund",
            amount=amount,
            date=dt.date(2026, 1, 1) + dt.timedelta(days=day),
            seller=seller,
            referrer=referrer,
        )
    many = base.register_many(
        [f"S{i}" for i in range(len(rows))],
        customer_ids=[f"C{i}" for i in range(len(rows))],
        products=["fund"] * len(rows),
        amounts=[r[0] for r in rows],
        dates=[dt.date(2026, 1, 1) + dt.timedelta(days=r[3]) for r in rows],
        sellers=[r[1] for r in rows],
        referrers=[r[2] for r in rows],
    )
    assert many.sales == one.sales
    for by in ("manager", "branch"):
        assert many.performance(by).as_dict() == one.performance(by).as_dict()  # type: ignore[arg-type]


def test_register_many_is_all_or_nothing() -> None:
    from custvalue.allocation import SalesError, SalesLedger

    ledger = SalesLedger.create({"M1": "B1"}).register(
        "S0", customer_id="C0", product="p", amount=1, date=dt.date(2026, 1, 1), seller="M1"
    )
    kw = {
        "customer_ids": ["C1", "C2"],
        "products": ["p", "p"],
        "amounts": [1, 2],
        "dates": [dt.date(2026, 1, 2)] * 2,
    }
    with pytest.raises(SalesError, match="'S2': seller is not in the manager registry"):
        ledger.register_many(["S1", "S2"], sellers=["M1", "MX"], **kw)  # type: ignore[arg-type]
    with pytest.raises(SalesError, match="'S0' is already registered"):
        ledger.register_many(["S0", "S2"], sellers=["M1", "M1"], **kw)  # type: ignore[arg-type]
    with pytest.raises(SalesError, match="appears twice"):
        ledger.register_many(["S1", "S1"], sellers=["M1", "M1"], **kw)  # type: ignore[arg-type]
    with pytest.raises(SalesError, match="amounts must be"):
        ledger.register_many(
            ["S1", "S2"],
            sellers=["M1", "M1"],
            customer_ids=["C1", "C2"],
            products=["p", "p"],
            amounts=[1.5, 2.0],
            dates=[dt.date(2026, 1, 2)] * 2,
        )
    assert len(ledger.sales) == 1


def test_register_many_scales_linearly() -> None:
    """100k sales in one batch (the one-by-one path would copy the ledger 100k times)."""
    import numpy as np

    from custvalue.allocation import SalesLedger

    n = 100_000
    ledger = SalesLedger.create({"M1": "B1", "M2": "B2"}).register_many(
        np.char.add("S", np.arange(n).astype(str)),
        customer_ids=np.full(n, "C"),
        products=np.full(n, "fund"),
        amounts=np.arange(n, dtype=np.int64),
        dates=np.full(n, np.datetime64("2026-10-01")),
        sellers=np.full(n, "M1"),
        referrers=np.full(n, "M2"),
    )
    perf = ledger.performance("branch").as_dict()
    assert sum(perf.values()) == n * (n - 1) // 2
