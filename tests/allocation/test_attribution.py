"""Attribution: exact conservation, 1-fen bounds, int64 extremes, vectorised == reference."""

from __future__ import annotations

import datetime as dt
import itertools
from fractions import Fraction

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from custvalue.allocation import (
    AllocationBook,
    AttributionError,
    attribute,
    exact_group_sums,
    split_amounts,
)
from custvalue.allocation._reference import reference_attribution, reference_split

I64 = st.integers(-(2**63), 2**63 - 1)
AMOUNT = st.one_of(st.integers(-3, 3), st.integers(-(10**15), 10**15), I64)
D = dt.date(2026, 10, 1)


@st.composite
def partitions(draw: st.DrawFn, max_parts: int = 6) -> list[int]:
    k = draw(st.integers(1, max_parts))
    cuts = sorted(draw(st.lists(st.integers(1, 9999), min_size=k - 1, max_size=k - 1, unique=True)))
    edges = [0, *cuts, 10000]
    return [b - a for a, b in itertools.pairwise(edges)]


@given(amount=AMOUNT, bps=partitions(), data=st.data())
def test_split_conserves_and_is_within_one_fen(amount: int, bps: list[int], data: st.DataObject) -> None:
    k = len(bps)
    keys = data.draw(st.permutations(list(range(k))))
    parts = split_amounts(
        np.full(k, amount, np.int64), np.array(bps), np.array(keys), np.array([0]), np.array([k])
    ).tolist()
    assert sum(parts) == amount
    for p, bp in zip(parts, bps, strict=True):
        assert abs(p - Fraction(amount * bp, 10000)) < 1
    # identical to the scalar reference with the same tie-break order
    ref = reference_split(amount, [(f"{key:03d}", bp, False) for key, bp in zip(keys, bps, strict=True)])
    assert parts == list(ref.values())


@given(bps=partitions(), amount=AMOUNT, data=st.data())
def test_split_does_not_depend_on_input_order(bps: list[int], amount: int, data: st.DataObject) -> None:
    k = len(bps)
    perm = data.draw(st.permutations(list(range(k))))
    keys = np.arange(k)
    a = split_amounts(np.full(k, amount, np.int64), np.array(bps), keys, np.array([0]), np.array([k]))
    p = np.array(perm)
    b = split_amounts(np.full(k, amount, np.int64), np.array(bps)[p], keys[p], np.array([0]), np.array([k]))
    assert a[p].tolist() == b.tolist()


def test_one_fen_three_ways_and_int64_extremes() -> None:
    bps = np.array([3334, 3333, 3333])
    keys = np.array([0, 1, 2])
    one = split_amounts(np.ones(3, np.int64), bps, keys, np.array([0]), np.array([3]))
    assert one.tolist() == [1, 0, 0]
    equal = np.array([3333, 3333, 3334])
    assert split_amounts(np.ones(3, np.int64), equal, keys, np.array([0]), np.array([3])).tolist() == [
        0,
        0,
        1,
    ]
    for amount in (2**63 - 1, -(2**63), 2**63 - 2, -(2**63) + 1):
        parts = split_amounts(np.full(3, amount, np.int64), bps, keys, np.array([0]), np.array([3]))
        assert sum(int(p) for p in parts) == amount
        for p, bp in zip(parts.tolist(), bps.tolist(), strict=True):
            assert abs(p - Fraction(amount * bp, 10000)) < 1


def test_negative_amounts_are_floor_based() -> None:
    bps = np.array([5000, 2500, 2500])
    keys = np.array([0, 1, 2])
    pos = split_amounts(np.full(3, 7, np.int64), bps, keys, np.array([0]), np.array([3]))
    neg = split_amounts(np.full(3, -7, np.int64), bps, keys, np.array([0]), np.array([3]))
    assert pos.tolist() == [3, 2, 2]  # 3.5, 1.75, 1.75: floors 3,1,1; +1 to the .75 remainders
    assert neg.tolist() == [-3, -2, -2]  # floors -4,-2,-2; remainders .5,.25,.25: +1 to .5
    assert sum(neg.tolist()) == -7


def _book(
    n: int, rng: np.random.Generator
) -> tuple[AllocationBook, dict[str, tuple[str, dict[str, int], str | None]]]:
    managers = {f"M{i}": f"B{i % 3}" for i in range(9)}
    book = AllocationBook.empty(managers, branches=["B0", "B1", "B2", "B3"])
    ids = [f"C{i:05d}" for i in range(n)]
    branches = [f"B{int(b)}" for b in rng.integers(0, 4, n)]
    book, _ = book.add_customers(ids, branches, effective=D, operator="sys")
    state: dict[str, tuple[str, dict[str, int], str | None]] = {}
    for c, b in zip(ids, branches, strict=True):
        mine = sorted(m for m, mb in managers.items() if mb == b)
        if not mine or rng.integers(0, 4) == 0:
            state[c] = (b, {}, None)
            continue
        k = int(rng.integers(1, len(mine) + 1))
        chosen = list(rng.choice(mine, k, replace=False))
        cuts = sorted(rng.choice(np.arange(1, 10000), k - 1, replace=False).tolist())
        edges = [0, *cuts, 10000]
        bps = [b2 - a for a, b2 in itertools.pairwise(edges)]
        shares = dict(zip(chosen, bps, strict=True))
        book, _ = book.allocate(c, chosen[0], shares, tier="gold", effective=D, operator="BM")
        state[c] = (b, shares, chosen[0])
    return book, state


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vectorised_equals_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    book, state = _book(300, rng)
    amounts = rng.integers(-(10**12), 10**12, book.customer_ids.size)
    amounts[:30] = rng.integers(-3, 4, 30)
    res = attribute(book, amounts, D)
    ids = book.customer_ids.tolist()
    parts, mtot, btot = reference_attribution(
        state, book.managers, dict(zip(ids, amounts.tolist(), strict=True))
    )
    assert res.parts() == parts
    assert res.by_manager() == mtot
    assert res.by_branch() == {**dict.fromkeys(book.branch_ids.tolist(), 0), **btot}
    assert res.total == int(amounts.sum())
    # customer_ids subset in another order gives the same parts for those customers
    pick = rng.permutation(len(ids))[:50]
    sub = attribute(book, amounts[pick], D, customer_ids=book.customer_ids[pick])
    for i in pick.tolist()[:10]:
        assert sub.parts_of(ids[i]) == res.parts_of(ids[i])


def test_before_allocation_everything_goes_to_the_branch() -> None:
    book, _ = _book(50, np.random.default_rng(5))
    amounts = np.arange(50, dtype=np.int64)
    res = attribute(book, amounts, D - dt.timedelta(days=1) + dt.timedelta(days=1))
    before = book.with_managers({})  # same book
    assert res.total == before.attribute(amounts, D).total
    with pytest.raises(AttributionError, match="not in the book"):
        attribute(book, amounts, D - dt.timedelta(days=1))
    res0 = attribute(book, np.zeros(50, np.int64), D - dt.timedelta(days=1))
    assert res0.part_amount.size == 0 and res0.total == 0


def test_bad_amounts() -> None:
    book, _ = _book(5, np.random.default_rng(1))
    with pytest.raises(AttributionError, match="integer fen"):
        attribute(book, np.ones(5, np.float64), D)
    with pytest.raises(AttributionError, match="5 customers"):
        attribute(book, np.ones(4, np.int64), D)
    with pytest.raises(AttributionError, match="not in the book"):
        attribute(book, [1], D, customer_ids=["nobody"])


def test_total_overflow_is_reported_not_wrapped() -> None:
    book = AllocationBook.empty({"M1": "B1"})
    book, _ = book.add_customers(["C1", "C2"], "B1", effective=D, operator="sys")
    book, _ = book.batch_allocate(["C1", "C2"], "M1", tiers="gold", effective=D, operator="BM")
    big = np.array([2**62, 2**62], np.int64)
    with pytest.raises(AttributionError, match="overflows int64"):
        attribute(book, big, D)
    ok = attribute(book, np.array([2**63 - 1, -(2**63)], np.int64), D)
    assert ok.by_manager() == {"M1": -1}


@settings(max_examples=50)
@given(st.lists(st.tuples(st.integers(0, 3), I64), max_size=30))
def test_exact_group_sums(rows: list[tuple[int, int]]) -> None:
    expect = [sum(v for g, v in rows if g == k) for k in range(4)]
    g = np.array([r[0] for r in rows], np.int64)
    v = np.array([r[1] for r in rows], np.int64)
    if all(-(2**63) <= e < 2**63 for e in expect):
        assert exact_group_sums(g, v, 4, what="t").tolist() == expect
    else:
        with pytest.raises(AttributionError):
            exact_group_sums(g, v, 4, what="t")
