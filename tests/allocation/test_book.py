"""Unit tests of the allocation book: shares, validation errors, effective dating."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from custvalue.allocation import (
    AllocationBook,
    AllocationError,
    AlreadyAllocatedError,
    BackdatedOperationError,
    BatchAllocationError,
    CrossBranchError,
    DuplicateCustomerError,
    DuplicateManagerError,
    IneligibleTierError,
    InvalidShareError,
    NoChangeError,
    NotAllocatedError,
    PrimaryManagerError,
    ShareSumError,
    UnknownBranchError,
    UnknownCustomerError,
    UnknownManagerError,
    UnknownTierError,
    parse_share,
)

D0 = dt.date(2026, 1, 1)
OCT = dt.date(2026, 10, 1)
NOV = dt.date(2026, 11, 1)
MANAGERS = {"M1": "B1", "M2": "B1", "M3": "B1", "M9": "B2"}


@pytest.fixture
def book() -> AllocationBook:
    b = AllocationBook.empty(MANAGERS, branches=["B1", "B2", "B3"])
    b, _ = b.add_customers(["C1", "C2", "C3"], ["B1", "B1", "B2"], effective=D0, operator="sys")
    return b


@pytest.mark.parametrize(
    "value",
    [
        "60%",
        " 60 % ",
        "60.00%",
        "0.6",
        Decimal("0.6"),
        Fraction(3, 5),
        6000,
        np.int64(6000),
        "6000bp",
    ],
)
def test_share_spellings(value: object) -> None:
    assert parse_share(value) == 6000


@pytest.mark.parametrize(
    "value",
    [
        Fraction(1, 3),
        "33.333%",
        0.6,
        0.5,
        True,
        "abc",
        "60",
        Decimal("NaN"),
        "inf%",
        None,
        "0.00001",
        "6000.5bp",
    ],
)
def test_share_rejections(value: object) -> None:
    with pytest.raises(InvalidShareError):
        parse_share(value)


def test_allocation_errors_name_customer_manager_date(book: AllocationBook) -> None:
    cases: list[tuple[type[AllocationError], dict[str, object]]] = [
        (ShareSumError, {"shares": {"M1": "60%", "M2": "30%"}}),
        (InvalidShareError, {"shares": {"M1": 10000, "M2": 0}}),
        (InvalidShareError, {"shares": {"M1": Fraction(1, 3), "M2": Fraction(2, 3)}}),
        (PrimaryManagerError, {"shares": {"M2": 10000}}),
        (DuplicateManagerError, {"shares": [("M1", 5000), ("M1", 5000)]}),
        (UnknownManagerError, {"shares": {"M1": 5000, "MX": 5000}}),
        (CrossBranchError, {"shares": {"M1": 5000, "M9": 5000}}),
        (IneligibleTierError, {"tier": "potential"}),
        (UnknownTierError, {"tier": "diamond"}),
    ]
    for kind, override in cases:
        kw: dict[str, object] = {"shares": None, "tier": "gold", **override}
        with pytest.raises(kind) as info:
            book.allocate(
                "C1",
                "M1",
                kw["shares"],
                tier=kw["tier"],
                effective=OCT,  # type: ignore[arg-type]
                operator="BM",
            )
        assert "'C1'" in str(info.value) and "2026-10-01" in str(info.value)
    with pytest.raises(CrossBranchError, match="manager 'M9'"):
        book.allocate("C1", "M9", tier="gold", effective=OCT, operator="BM")
    with pytest.raises(UnknownCustomerError, match="'CX'"):
        book.allocate("CX", "M1", tier="gold", effective=OCT, operator="BM")


def test_effective_dating_and_no_backdating(book: AllocationBook) -> None:
    b, _ = book.allocate("C1", "M1", {"M1": "60%", "M2": "40%"}, tier="gold", effective=OCT, operator="BM")
    b, _ = b.adjust(
        "C1",
        primary="M2",
        shares={"M2": "50%", "M3": "50%"},
        tier="core",
        effective=NOV,
        operator="BM",
        reason="dispute",
    )
    assert b.shares_of("C1", dt.date(2026, 10, 31)).as_dict() == {"M1": 6000, "M2": 4000}
    assert b.shares_of("C1", NOV).shares == (("M2", 5000), ("M3", 5000))
    assert not b.shares_of("C1", dt.date(2026, 9, 30)).is_allocated
    with pytest.raises(BackdatedOperationError, match="2026-11-01"):
        b.recall("C1", effective=dt.date(2026, 10, 15), operator="BM")
    with pytest.raises(AlreadyAllocatedError):
        b.allocate("C1", "M1", tier="gold", effective=NOV, operator="BM")
    with pytest.raises(NotAllocatedError):
        b.recall("C2", effective=NOV, operator="BM")
    with pytest.raises(NoChangeError):
        b.adjust("C1", tier="gold", effective=NOV, operator="BM", reason="x")
    with pytest.raises(UnknownCustomerError, match="not in the book on this date"):
        b.shares_of("C1", dt.date(2025, 12, 31))
    # same-day correction is allowed (>= latest)
    b2, _ = b.adjust(
        "C1",
        shares={"M2": "70%", "M3": "30%"},
        tier="gold",
        effective=NOV,
        operator="BM",
        reason="typo",
    )
    assert b2.shares_of("C1", NOV).as_dict() == {"M2": 7000, "M3": 3000}
    assert [e.operation for e in b2.history("C1")] == [
        "add_customers",
        "allocate",
        "adjust",
        "adjust",
    ]


def test_batch_is_all_or_nothing_with_report(book: AllocationBook) -> None:
    with pytest.raises(BatchAllocationError) as info:
        book.batch_allocate(["C1", "C2", "C3", "CX", "C1"], "M1", tiers="gold", effective=OCT, operator="BM")
    errors = info.value.errors
    assert ("CX", "customer is not in the book") in errors
    assert any(c == "C3" and "branch 'B2'" in m for c, m in errors)
    assert any(c == "C1" and "more than once" in m for c, m in errors)
    assert {type(e) for e in info.value.causes} >= {
        UnknownCustomerError,
        CrossBranchError,
        DuplicateCustomerError,
    }
    b, entry = book.batch_allocate(
        np.array(["C2", "C1"]),
        "M1",
        {"M1": 5000, "M2": 5000},
        tiers={"C1": "gold", "C2": "core"},
        effective=OCT,
        operator="BM",
    )
    assert entry.customer_ids.tolist() == ["C2", "C1"]
    assert b.customers_of("M2", OCT).customer_ids.tolist() == ["C1", "C2"]
    assert b.unallocated("B1", OCT).size == 0
    assert b.unallocated("B2", OCT).tolist() == ["C3"]


def test_cross_branch_policy_and_tier_order() -> None:
    b = AllocationBook.empty(
        {"M1": "B1", "M2": "B2"}, allow_cross_branch=True, min_tier="s", tier_order=("a", "s", "x")
    )
    b, _ = b.add_customers("C1", "B1", effective=D0, operator="sys")
    b, _ = b.allocate("C1", "M1", {"M1": 5000, "M2": 5000}, tier="s", effective=D0, operator="BM")
    with pytest.raises(IneligibleTierError):
        b.adjust("C1", shares={"M1": 1, "M2": 9999}, tier="x", effective=D0, operator="BM", reason="r")
    with pytest.raises(UnknownTierError):
        AllocationBook.empty({}, min_tier="gold", tier_order=("a",))


def test_transfer_recalls_managers(book: AllocationBook) -> None:
    b, _ = book.allocate("C1", "M1", tier="gold", effective=OCT, operator="BM")
    b, _entry = b.transfer("C1", "B2", effective=NOV, operator="HQ", reason="moved")
    assert b.branch_of("C1", NOV) == "B2"
    assert b.shares_of("C1", NOV).primary is None
    assert b.shares_of("C1", OCT).primary == "M1"
    assert b.unallocated("B2", NOV).tolist() == ["C1", "C3"]
    with pytest.raises(NoChangeError):
        b.transfer("C1", "B2", effective=NOV, operator="HQ")
    with pytest.raises(UnknownBranchError):
        b.transfer("C1", "B7", effective=NOV, operator="HQ")
    b, _ = b.allocate("C1", "M9", tier="gold", effective=NOV, operator="BM")
    assert b.customers_of("M9", NOV).total_bp == 10000


def test_add_customers_errors(book: AllocationBook) -> None:
    with pytest.raises(DuplicateCustomerError):
        book.add_customers("C1", "B1", effective=OCT, operator="sys")
    with pytest.raises(BatchAllocationError) as info:
        book.add_customers(["C7", "C7", "C8"], ["B1", "B1", "B9"], effective=OCT, operator="sys")
    assert [c for c, _ in info.value.errors] == ["C7", "C8"]
    with pytest.raises(AllocationError, match="must be str"):
        book.add_customers([1, 2], "B1", effective=OCT, operator="sys")
    with pytest.raises(AllocationError, match=r"datetime\.date"):
        book.add_customers("C9", "B1", effective="2026-10-01", operator="sys")  # type: ignore[arg-type]


def test_book_is_immutable(book: AllocationBook) -> None:
    with pytest.raises(ValueError, match="read-only"):
        book.customer_ids[0] = "Z"
    with pytest.raises(AttributeError):
        book.policy = None  # type: ignore[misc]


def test_batch_of_200k_customers_allocates_and_reports_every_failure() -> None:
    n = 200_000
    ids = np.char.add("C", np.arange(n).astype(str))
    b = AllocationBook.empty({"M1": "B1", "M2": "B1"})
    b, _ = b.add_customers(ids, "B1", effective=D0, operator="sys")
    tiers = np.full(n, "gold")
    b, _ = b.batch_allocate(ids, "M1", {"M1": "70%", "M2": "30%"}, tiers=tiers, effective=OCT, operator="BM")
    assert b.customers_of("M2", OCT).total_bp == 3000 * n
    tiers[[5, 7]] = "potential"
    b2, _ = b.recall(ids, effective=NOV, operator="BM")
    with pytest.raises(BatchAllocationError) as info:
        b2.batch_allocate(ids, "M1", tiers=tiers, effective=NOV, operator="BM")
    assert [c for c, _ in info.value.errors] == ["C5", "C7"]


def test_with_managers_renumbers() -> None:
    b = AllocationBook.empty({"M5": "B1"})
    b, _ = b.add_customers("C1", "B1", effective=D0, operator="sys")
    b, _ = b.allocate("C1", "M5", tier="gold", effective=D0, operator="BM")
    b = b.with_managers({"M1": "B1", "A0": "A"}, branches=["A"])
    assert b.shares_of("C1", D0).as_dict() == {"M5": 10000}
    assert b.branch_of("C1", D0) == "B1"
    with pytest.raises(AllocationError, match="cannot be changed"):
        b.with_managers({"M5": "A"})
