"""Hostile inputs to allocation: share strings that used to hang or leak bare errors, empty operations."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custvalue.allocation import AllocationBook, InvalidShareError, NoChangeError, parse_share

D0, D1 = dt.date(2026, 1, 1), dt.date(2026, 2, 1)


@pytest.mark.parametrize(
    "value",
    [
        "1e999999999%",
        "1e-999999999%",
        Decimal("1e-999999999"),
        Decimal("1e999999999"),
        "1e999999999",
        "²bp",
        "٣%",
        "1" * 5000 + "bp",
        Fraction(10**400, 3),
        "0." + "0" * 5000 + "1",
    ],
)
def test_hostile_shares_are_refused_at_once(value: object) -> None:
    t0 = time.perf_counter()
    with pytest.raises(InvalidShareError):
        parse_share(value)
    assert time.perf_counter() - t0 < 0.5


@settings(max_examples=300)
@given(
    st.one_of(
        st.text(max_size=30),
        st.decimals(allow_nan=True, allow_infinity=True),
        st.fractions(),
        st.from_regex(r"[+-]?[0-9]{0,6}(\.[0-9]{0,8})?(e[+-]?[0-9]{1,10})?(%|bp)?", fullmatch=True),
    )
)
def test_parse_share_gives_basis_points_or_invalid_share_error(value: object) -> None:
    try:
        bp = parse_share(value)
    except InvalidShareError as exc:
        assert str(exc)
        return
    assert isinstance(bp, int)
    if isinstance(value, Fraction | Decimal):
        assert Fraction(value) * 10_000 == bp


def _book() -> AllocationBook:
    b = AllocationBook.empty({"M1": "B1", "M2": "B2"})
    b, _ = b.add_customers(["C1", "C2"], "B1", effective=D0, operator="sys")
    return b


@pytest.mark.parametrize("op", ["add_customers", "batch_allocate", "recall", "transfer"])
def test_operations_on_no_customers_are_refused(op: str) -> None:
    b = _book()
    calls = {
        "add_customers": lambda: b.add_customers([], "B1", effective=D1, operator="x"),
        "batch_allocate": lambda: b.batch_allocate([], "M1", tiers={}, effective=D1, operator="x"),
        "recall": lambda: b.recall([], effective=D1, operator="x"),
        "transfer": lambda: b.transfer([], "B2", effective=D1, operator="x"),
    }
    with pytest.raises(NoChangeError, match="names no customers"):
        calls[op]()
    assert AllocationBook.from_dict(b.to_dict()).to_dict() == b.to_dict()


def test_a_0_1_0_document_with_an_empty_transfer_loads() -> None:
    doc = _book().to_dict()
    entry = dict(doc["audit"][-1])
    entry.update(
        seq=len(doc["audit"]),
        operation="transfer",
        customer_ids=[],
        branch_ids=[],
        effective="2026-02-01",
        operator="HQ",
        reason="",
    )
    doc["audit"] = [*doc["audit"], entry]
    book = AllocationBook.from_dict(doc)
    assert len(book.history("C1")) == 1 and len(book.audit) == len(doc["audit"])
    assert book.to_dict()["audit"][-1]["operation"] == "transfer"
