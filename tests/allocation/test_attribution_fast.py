"""The vectorised attribution fast path (cached day layouts, per-size columns,
chunked splitting, overflow-guarded int64 totals) against the scalar reference."""

from __future__ import annotations

import datetime as dt
import gc
import itertools
from unittest import mock

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from custvalue.allocation import AllocationBook, AttributionError, attribute
from custvalue.allocation import _attribution as impl
from custvalue.allocation._coerce import day_of
from custvalue.allocation._reference import reference_attribution, reference_split

I64_MIN, I64_MAX = -(2**63), 2**63 - 1
D0 = dt.date(2026, 1, 1)
D1 = dt.date(2026, 3, 1)
D2 = dt.date(2026, 6, 1)
MANAGERS = {
    **{f"M{i}": "B0" for i in range(5)},
    **{f"N{i}": "B1" for i in range(3)},
}
BRANCH_MANAGERS = {b: sorted(m for m, mb in MANAGERS.items() if mb == b) for b in ("B0", "B1")}
# Shares with many equal remainders (ties) besides random partitions.
TIE_SHARES = {
    1: [[10000]],
    2: [[5000, 5000], [9999, 1], [1, 9999]],
    3: [[3334, 3333, 3333], [3333, 3334, 3333], [3333, 3333, 3334], [5000, 2500, 2500]],
    4: [[2500] * 4, [2501, 2500, 2500, 2499]],
    5: [[2000] * 5],
}

AMOUNTS = st.one_of(
    st.integers(-3, 3),
    st.integers(-(10**15), 10**15),
    st.integers(I64_MAX - 3, I64_MAX),
    st.integers(I64_MIN, I64_MIN + 3),
    st.integers(I64_MIN, I64_MAX),
)

Spec = tuple[str, dict[str, int], str] | None


@st.composite
def shares(draw: st.DrawFn, branch: str) -> tuple[dict[str, int], str]:
    mine = BRANCH_MANAGERS[branch]
    k = draw(st.integers(1, len(mine)))
    chosen = draw(st.permutations(mine))[:k]
    if draw(st.booleans()):
        bps = draw(st.sampled_from(TIE_SHARES[k]))
    else:
        cuts = draw(st.lists(st.integers(1, 9999), min_size=k - 1, max_size=k - 1, unique=True))
        edges = [0, *sorted(cuts), 10000]
        bps = [b - a for a, b in itertools.pairwise(edges)]
    primary = draw(st.sampled_from(chosen))
    return dict(zip(chosen, bps, strict=True)), primary


@st.composite
def books(draw: st.DrawFn) -> tuple[AllocationBook, list[dict[str, Spec]]]:
    """A book and, per date (D1, D2), each customer's ``(branch, shares, primary)``."""
    n = draw(st.integers(1, 12))
    ids = [f"C{i:02d}" for i in range(n)]
    branches = [draw(st.sampled_from(["B0", "B1", "B2"])) for _ in ids]
    book = AllocationBook.empty(MANAGERS, branches=["B0", "B1", "B2"])
    for b in ("B0", "B1", "B2"):
        mine = [c for c, cb in zip(ids, branches, strict=True) if cb == b]
        if mine:
            book, _ = book.add_customers(mine, b, effective=D0, operator="t")
    at1: dict[str, Spec] = {}
    at2: dict[str, Spec] = {}
    for c, b in zip(ids, branches, strict=True):
        at1[c] = at2[c] = (b, {}, None)  # type: ignore[assignment]
        if b == "B2" or draw(st.integers(0, 4)) == 0:
            continue
        spec, primary = draw(shares(b))
        book, _ = book.allocate(c, primary, spec, tier="gold", effective=D1, operator="t")
        at1[c] = at2[c] = (b, spec, primary)
        change = draw(st.integers(0, 3))
        if change == 1:  # new managers/shares from D2 on
            spec2, primary2 = draw(shares(b))
            if (spec2, primary2) != (spec, primary):
                book, _ = book.adjust(
                    c, primary=primary2, shares=spec2, tier="gold", effective=D2, operator="t", reason="r"
                )
                at2[c] = (b, spec2, primary2)
        elif change == 2:
            book, _ = book.recall(c, effective=D2, operator="t")
            at2[c] = (b, {}, None)  # type: ignore[assignment]
    return book, [at1, at2]


def _expected(
    state: dict[str, Spec], amounts: dict[str, int]
) -> tuple[dict[tuple[str, str], int], dict[str, int], dict[str, int]] | None:
    """Reference parts and totals, or ``None`` if a total overflows int64."""
    parts, mtot, btot = reference_attribution(state, MANAGERS, amounts)  # type: ignore[arg-type]
    unalloc: dict[str, int] = {}
    for c, spec in state.items():
        assert spec is not None
        if not spec[1]:
            unalloc[spec[0]] = unalloc.get(spec[0], 0) + amounts[c]
    totals = [*mtot.values(), *btot.values(), *unalloc.values()]
    if not all(I64_MIN <= t <= I64_MAX for t in totals):
        return None
    return parts, mtot, btot


def _check(book: AllocationBook, state: dict[str, Spec], amounts: list[int], day: dt.date) -> None:
    ids = book.customer_ids.tolist()
    amt = dict(zip(ids, amounts, strict=True))
    expected = _expected(state, amt)
    if expected is None:
        with pytest.raises(AttributionError, match="overflows int64"):
            attribute(book, np.array(amounts, np.int64), day)
        return
    parts, mtot, btot = expected
    res = attribute(book, np.array(amounts, np.int64), day)
    got = {
        (ids[c], str(res.manager_ids[m])): int(v)
        for c, m, v in zip(
            res.part_customer.tolist(), res.part_manager.tolist(), res.part_amount.tolist(), strict=True
        )
    }
    assert got == parts
    assert np.all(np.diff(res.part_customer) >= 0)  # grouped by customer
    assert res.by_manager() == mtot
    assert res.by_branch() == {**dict.fromkeys(book.branch_ids.tolist(), 0), **btot}
    assert res.total == sum(amounts)
    assert res.manager_totals.sum(dtype=object) + res.branch_unallocated.sum(dtype=object) == res.total


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book_states=books(), data=st.data(), chunk=st.sampled_from([1, 2, 3, 1 << 15]))
def test_fast_path_equals_reference(
    book_states: tuple[AllocationBook, list[dict[str, Spec]]], data: st.DataObject, chunk: int
) -> None:
    book, states = book_states
    n = book.customer_ids.size
    with mock.patch.object(impl, "_CHUNK", chunk):
        for day, state in zip((D1, D2), states, strict=True):
            amounts = data.draw(st.lists(AMOUNTS, min_size=n, max_size=n))
            _check(book, state, amounts, day)
            # the same book and day again: served from the cached layout
            _check(book, state, amounts, day)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book_states=books(), data=st.data())
def test_exact_sums_path_agrees_with_fast_sums(
    book_states: tuple[AllocationBook, list[dict[str, Spec]]], data: st.DataObject
) -> None:
    book, _ = book_states
    n = book.customer_ids.size
    amounts = np.array(data.draw(st.lists(st.integers(-(10**17), 10**17), min_size=n, max_size=n)), np.int64)
    fast = attribute(book, amounts, D1)
    with mock.patch.object(impl, "_sums_fit", lambda amt: False):
        exact = attribute(book, amounts, D1)
    for field in ("part_customer", "part_manager", "part_amount", "manager_totals", "branch_totals"):
        assert np.array_equal(getattr(fast, field), getattr(exact, field)), field
    assert fast.total == exact.total


def _three_way_book(primary: str, bps: dict[str, int]) -> AllocationBook:
    book = AllocationBook.empty({"A": "B", "M": "B", "Z": "B"})
    book, _ = book.add_customers(["C1", "C2"], "B", effective=D0, operator="t")
    book, _ = book.allocate("C1", primary, bps, tier="gold", effective=D0, operator="t")
    return book


@pytest.mark.parametrize("primary", ["A", "M", "Z"])
@pytest.mark.parametrize("amount", [1, -1, 2, -2, I64_MAX, I64_MIN, I64_MAX - 1, I64_MIN + 1])
def test_one_fen_three_ways_ties(primary: str, amount: int) -> None:
    equal = {"A": 3333, "M": 3333, "Z": 3334}
    book = _three_way_book(primary, equal)
    res = attribute(book, np.array([amount, 0], np.int64), D0)
    state = {"C1": ("B", equal, primary), "C2": ("B", {}, None)}
    parts, _, _ = reference_attribution(state, book.managers, {"C1": amount, "C2": 0})
    assert res.parts_of("C1") == {m: v for (c, m), v in parts.items() if c == "C1"}
    assert sum(res.parts_of("C1").values()) == amount
    if amount == 1:
        # remainders .3333, .3333, .3334: the largest remainder (Z) gets the fen
        assert res.parts_of("C1")["Z"] == 1


def test_sums_fit_bound() -> None:
    assert impl._sums_fit(np.zeros(0, np.int64))
    assert impl._sums_fit(np.array([I64_MAX], np.int64))
    assert impl._sums_fit(np.array([I64_MIN + 1], np.int64))
    assert not impl._sums_fit(np.array([I64_MAX, 0], np.int64))  # conservative: exact sums
    assert not impl._sums_fit(np.array([I64_MAX, 1], np.int64))
    assert not impl._sums_fit(np.array([I64_MIN, 0], np.int64))
    assert not impl._sums_fit(np.array([2**62, -(2**62)], np.int64))
    assert impl._sums_fit(np.array([2**61, -(2**61)], np.int64))
    # many mid-sized amounts: the max bound fails, the sum of |amounts| decides
    many = np.full(100_000, 10**13, np.int64)
    many[::2] *= -1
    assert impl._sums_fit(many)  # 1e18
    assert not impl._sums_fit(many * 10)  # 1e19 > 2**63


def test_layout_cache_is_per_book_day_bounded_and_weak() -> None:
    book = _three_way_book("M", {"A": 5000, "M": 2500, "Z": 2500})
    amounts = np.array([7, 3], np.int64)
    first = attribute(book, amounts, D0)
    again = attribute(book, amounts, D0)
    assert first.parts_of("C1") == reference_split(
        7, [("A", 5000, False), ("M", 2500, True), ("Z", 2500, False)]
    )
    assert first.part_amount.tolist() == again.part_amount.tolist()
    days = [D0 + dt.timedelta(days=k) for k in range(impl._LAYOUTS_PER_BOOK + 3)]
    for day in days:
        assert attribute(book, amounts, day).by_branch() == {"B": 10}
    cached = impl._layout_cache[book]
    assert list(cached) == [day_of(d, "d") for d in days[-impl._LAYOUTS_PER_BOOK :]]
    # A changed book is a new object with its own layouts.
    book2, _ = book.adjust(
        "C1", shares={"A": 2500, "M": 5000, "Z": 2500}, tier="gold", effective=D2, operator="t", reason="r"
    )
    assert attribute(book2, amounts, D2).parts_of("C1") == {"A": 2, "M": 3, "Z": 2}
    assert attribute(book2, amounts, D0).parts_of("C1") == {"A": 3, "M": 2, "Z": 2}
    assert attribute(book, amounts, D2).parts_of("C1") == {"A": 3, "M": 2, "Z": 2}
    size = len(impl._layout_cache)
    del book, book2, first, again, cached
    gc.collect()
    assert len(impl._layout_cache) <= size - 2


def test_results_are_read_only_and_do_not_alias_the_book() -> None:
    book = _three_way_book("A", {"A": 3334, "M": 3333, "Z": 3333})
    res = attribute(book, np.array([100, 5], np.int64), D0)
    for arr in (res.part_customer, res.part_manager, res.part_amount, res.manager_totals):
        assert not arr.flags.writeable
    with pytest.raises(ValueError):
        res.part_amount[0] = 1
    # amounts are not modified (int64 input is used without a copy)
    amounts = np.array([100, 5], np.int64)
    attribute(book, amounts, D0)
    assert amounts.tolist() == [100, 5]


def test_absent_customers_with_amounts_are_rejected() -> None:
    book = AllocationBook.empty({"M": "B"})
    book, _ = book.add_customers(["C1"], "B", effective=D0, operator="t")
    book, _ = book.add_customers(["C2"], "B", effective=D2, operator="t")
    assert attribute(book, np.array([5, 0], np.int64), D1).by_branch() == {"B": 5}
    with pytest.raises(AttributionError, match="not in the book"):
        attribute(book, np.array([5, 1], np.int64), D1)
    assert attribute(book, np.array([5, 1], np.int64), D2).by_branch() == {"B": 6}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.integers(-(10**12), 10**12) | st.just(0)), min_size=1, max_size=15)
)
def test_absent_customers_are_excluded_and_reported(rows: list[tuple[bool, int]]) -> None:
    """``absent="exclude"``: the same as attributing the amounts with the absent ones set to 0,
    the absent customers with an amount listed and their amounts summed (every customer absent
    included); the caller's amounts untouched."""
    later = [i for i, (late, _) in enumerate(rows) if late]
    book = AllocationBook.empty({"M": "B"})
    early_ids = [f"C{i:02d}" for i, (late, _) in enumerate(rows) if not late]
    if early_ids:
        book, _ = book.add_customers(early_ids, "B", effective=D0, operator="t")
    book, _ = book.add_customers([f"C{i:02d}" for i in later] or ["Z"], "B", effective=D2, operator="t")
    order = {c: k for k, c in enumerate(book.customer_ids.tolist())}
    amounts = np.zeros(book.customer_ids.size, np.int64)
    for i, (_, v) in enumerate(rows):
        amounts[order[f"C{i:02d}"]] = v
    given_amounts = amounts.copy()
    res = attribute(book, amounts, D1, absent="exclude")
    assert amounts.tolist() == given_amounts.tolist()
    gone = sorted(order[f"C{i:02d}"] for i in later if rows[i][1] != 0)
    assert res.excluded is not None and res.excluded.tolist() == gone
    assert res.excluded_total == sum(rows[i][1] for i in later)
    kept = amounts.copy()
    kept[[order[f"C{i:02d}"] for i in later]] = 0
    plain = attribute(book, kept, D1)  # nothing absent left with an amount: no error
    assert res.by_branch() == plain.by_branch() and res.total == plain.total
    assert res.part_amount.tolist() == plain.part_amount.tolist()
    if gone:
        with pytest.raises(AttributionError, match="not in the book"):
            attribute(book, amounts, D1)
