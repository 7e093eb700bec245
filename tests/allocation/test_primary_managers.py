"""AllocationBook.primary_managers: the vectorised query equals shares_of / branch_of one by one."""

from __future__ import annotations

import datetime as dt

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from custvalue.allocation import AllocationBook, AllocationError

DAY = dt.date(2026, 1, 1)


def _book(ops: list[tuple[int, int, int]]) -> AllocationBook:
    """Customers C0..C5 in B1/B2; ops (customer, manager, day offset) allocate, recall or move."""
    book = AllocationBook.empty({"M1": "B1", "M2": "B1", "M3": "B2"})
    book, _ = book.add_customers([f"C{i}" for i in range(6)], "B1", effective=DAY, operator="s")
    for cust, mgr, off in ops:
        day = DAY + dt.timedelta(days=off)
        cid = f"C{cust}"
        try:
            alloc = book.shares_of(cid, day)
            if alloc.is_allocated:
                book, _ = book.recall(cid, effective=day, operator="s")
            elif mgr == 3:
                book, _ = book.transfer(cid, "B2", effective=day, operator="s")
            else:
                m = f"M{mgr}"
                branch = book.branch_of(cid, day)
                if (branch == "B1") != (m in ("M1", "M2")):
                    m = "M3" if branch == "B2" else "M1"
                book, _ = book.allocate(cid, m, {m: "100%"}, tier="gold", effective=day, operator="s")
        except AllocationError:
            continue
    return book


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5), st.integers(1, 3), st.integers(0, 40)), max_size=25),
    st.lists(st.tuples(st.integers(0, 7), st.integers(-3, 60)), min_size=1, max_size=30),
)
def test_vectorised_equals_one_by_one(
    ops: list[tuple[int, int, int]], queries: list[tuple[int, int]]
) -> None:
    ops = sorted(ops, key=lambda o: o[2])  # effective dates in order
    book = _book(ops)
    ids = [f"C{c}" for c, _ in queries]
    days = [DAY + dt.timedelta(days=d) for _, d in queries]
    pm = book.primary_managers(ids, days)
    for i, (cid, day) in enumerate(zip(ids, days, strict=True)):
        try:
            alloc = book.shares_of(cid, day)
        except AllocationError:
            assert not pm.in_book[i] and pm.branch_ids[i] == "" and pm.primary[i] == ""
            continue
        assert pm.in_book[i]
        assert pm.branch_ids[i] == alloc.branch_id
        assert pm.primary[i] == (alloc.primary or "")


def test_one_date_for_all_and_datetime64_dates() -> None:
    book = _book([(0, 1, 0), (1, 2, 5)])
    one = book.primary_managers(["C0", "C1"], DAY + dt.timedelta(days=10))
    assert one.primary.tolist() == ["M1", "M2"] and one.is_allocated.tolist() == [True, True]
    many = book.primary_managers(["C0", "C1"], np.array(["2026-01-10", "2026-01-02"], "datetime64[D]"))
    assert many.primary.tolist() == ["M1", ""]
    assert len(many) == 2 and many.as_of.tolist()[1] == dt.date(2026, 1, 2)
    with pytest.raises(AllocationError, match="3 dates for 2 customers"):
        book.primary_managers(["C0", "C1"], [DAY, DAY, DAY])
    empty = book.primary_managers([], [])
    assert len(empty) == 0


@settings(max_examples=15, deadline=None)
@given(
    st.integers(1, 300),
    st.lists(st.integers(0, 400), min_size=1, max_size=60),
    st.booleans(),
)
def test_many_ids_are_found_by_packed_keys_as_one_by_one(n: int, some: list[int], long_ids: bool) -> None:
    """From 4,096 queried ids the lookup packs ids into integer keys: the same rows and misses."""
    from custvalue.allocation._queries import lookup

    picks = np.resize(np.asarray(some), 4096 + len(some)).tolist()  # repeated up to a large query
    name = "CUSTOMER-{:06d}" if long_ids else "C{:05d}"  # long ids: the text search
    book = AllocationBook.empty({"M1": "B1"})
    ids = [name.format(i) for i in range(n)][::-1]  # added out of order: the book's sorter matters
    book, _ = book.add_customers(ids, "B1", effective=DAY, operator="s")
    queried = np.asarray([name.format(p) for p in picks])
    idx, found = lookup(book, queried)
    own = book.customer_ids.tolist()
    assert found.tolist() == [p < n for p in picks]
    assert [own[i] for i, f in zip(idx.tolist(), found.tolist(), strict=True) if f] == [
        q for q, p in zip(queried.tolist(), picks, strict=True) if p < n
    ]
