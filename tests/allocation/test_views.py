"""Attribution and sales performance as an analyst sees them: pandas, text in yuan, HTML."""

from __future__ import annotations

import datetime
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custvalue.allocation import AllocationBook, SalesLedger, attribute

pd = pytest.importorskip("pandas")
D = datetime.date(2026, 10, 1)


def _book() -> AllocationBook:
    book = AllocationBook.empty({"M1": "B1", "M2": "B1", "M3": "B2"})
    book, _ = book.add_customers(["C1", "C2", "C3"], ["B1", "B1", "B2"], effective=D, operator="sys")
    book, _ = book.allocate("C1", "M1", {"M1": "60%", "M2": "40%"}, tier="gold", effective=D, operator="BM")
    book, _ = book.allocate("C3", "M3", tier="gold", effective=D, operator="BM")
    return book


def test_attribution_views() -> None:
    res = attribute(_book(), [1_000_000_01, 5_000_00, 7], D)
    m = res.to_pandas()
    assert m["manager_id"].tolist() == ["M1", "M2", "M3"] and m["branch_id"].tolist() == ["B1", "B1", "B2"]
    assert m["amount_fen"].tolist() == [600_000_01, 400_000_00, 7]
    assert [Decimal(str(v)) for v in m["amount"]] == [
        Decimal("600000.01"),
        Decimal("400000.00"),
        Decimal("0.07"),
    ]
    b = res.to_pandas("branch")
    assert b["unallocated_amount_fen"].tolist() == [5_000_00, 0]
    assert b["amount_fen"].sum() == res.total
    parts = res.to_pandas("part")
    assert parts["amount_fen"].sum() + int(res.branch_unallocated.sum()) == res.total
    text = res.text()
    assert "1,005,000.08 yuan in total" in text and "600,000.01" in text and "5,000.00" in text
    html = res._repr_html_()
    assert "<table>" in html and "600,000.01" in html and "<script" not in html
    assert repr(res).startswith("<Attribution as of 2026-10-01: 1,005,000.08 yuan")
    with pytest.raises(ValueError, match="by must be"):
        res.to_pandas("desk")  # type: ignore[arg-type]


def test_text_limits_long_tables() -> None:
    managers = {f"M{k:03d}": "B1" for k in range(80)}
    book = AllocationBook.empty(managers)
    res = attribute(book, np.zeros(0, np.int64), D)
    text = res.text(limit=10)
    assert "... 70 more" in text and "M009" in text and "M010" not in text


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-(10**12), 10**12), min_size=3, max_size=3))
def test_the_views_conserve_money(amounts: list[int]) -> None:
    res = attribute(_book(), amounts, D)
    m, b = res.to_pandas(), res.to_pandas("branch")
    assert int(m["amount_fen"].sum()) + int(b["unallocated_amount_fen"].sum()) == sum(amounts) == res.total
    assert [int(Decimal(str(v)) * 100) for v in m["amount"]] == m["amount_fen"].tolist()


def test_sales_performance_views() -> None:
    ledger = SalesLedger.create({"M1": "B1", "M2": "B1", "M3": "B2"})
    ledger = ledger.register(
        "S1", customer_id="C1", product="fund", amount=1_000_000_00, date=D, seller="M1", referrer="M2"
    )
    ledger = ledger.register(
        "S2", customer_id="C2", product="bond", amount=300_000_00, date=D, seller="M3", referrer=None
    )
    perf = ledger.performance("manager")
    df = perf.to_pandas()
    assert df["manager_id"].tolist() == ["M1", "M2", "M3"]
    assert df["credit_fen"].tolist() == [700_000_00, 300_000_00, 300_000_00]
    assert df["rank"].tolist() == [1, 2, 2]  # equal credits share a rank
    text = perf.text()
    assert text.splitlines()[0] == "sales performance per manager, all dates: 1,300,000.00 yuan"
    assert text.splitlines()[2].split() == ["1", "M1", "700,000.00"]
    branch = ledger.performance("branch", end=D)
    assert branch.to_pandas()["branch_id"].tolist() == ["B1", "B2"]
    assert "..2026-10-01" in branch.text()
    assert (
        "<table>" in perf._repr_html_() and repr(perf) == "<Performance per manager, all dates: 3 managers>"
    )
