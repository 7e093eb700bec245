"""The overflow policy: bounds checked when a portfolio is built, checked sums across customers.

Every sum within one customer (AUM over asset columns, window sums over
months) is proven unable to overflow by the portfolio's bounds (each cell at
most ``MAX_AMOUNT`` fen, at most ``MAX_MONTHS`` months); every sum across
customers is exact or an ``AmountOverflowError``.  Strategies reach the int64
extremes.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custvalue import AmountOverflowError, Month, Portfolio, PortfolioError, evaluate, tier_migration
from custvalue._arrays import INT64_MAX, INT64_MIN, exact_group_sums, exact_sum, readonly
from custvalue.policy import FeatureSpec
from custvalue.portfolio import MAX_AMOUNT, MAX_MONTHS, MONEY_COLUMNS
from custvalue.tiering import compute_features

int64s = st.integers(INT64_MIN, INT64_MAX)
extremes = st.one_of(
    int64s,
    st.sampled_from(
        [INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX - 1, INT64_MAX, 2**62, -(2**62), 2**32, 2**32 - 1]
    ),
)


@given(st.lists(extremes, max_size=40))
def test_exact_sum_is_the_python_sum_or_an_error(values: list[int]) -> None:
    want = sum(values)
    arr = np.array(values, dtype=np.int64)
    if INT64_MIN <= want <= INT64_MAX:
        assert exact_sum(arr, what="x") == want
    else:
        with pytest.raises(AmountOverflowError, match="overflows int64"):
            exact_sum(arr, what="x")


@given(st.lists(st.tuples(st.integers(0, 3), extremes), max_size=40), st.booleans())
def test_exact_group_sums_are_the_python_sums_or_an_error(pairs: list[tuple[int, int]], sealed: bool) -> None:
    """Also for a sealed array, whose peak is remembered: the second sum checks as the first."""
    want = [sum(v for g, v in pairs if g == k) for k in range(4)]
    groups = np.array([g for g, _ in pairs], dtype=np.intp)
    values = np.array([v for _, v in pairs], dtype=np.int64)
    if sealed:
        values = readonly(values)
    for _ in range(2):
        if all(INT64_MIN <= w <= INT64_MAX for w in want):
            assert exact_group_sums(groups, values, 4, what="x").tolist() == want
        else:
            with pytest.raises(AmountOverflowError):
                exact_group_sums(groups, values, 4, what="x")


@given(st.lists(extremes, max_size=20))
def test_peak_is_the_largest_magnitude_found_once_per_sealed_array(values: list[int]) -> None:
    from custvalue._arrays import peak

    want = max((abs(v) for v in values), default=0)
    arr = readonly(np.array(values, dtype=np.int64))
    assert peak(arr) == want and peak(np.array(values, dtype=np.int64)) == want
    assert peak(arr, want + 1) == want  # found already: a later value is not taken
    fresh = readonly(np.array(values, dtype=np.int64))
    assert peak(fresh, want) == want and peak(fresh) == want


def _one(**cols: object) -> Portfolio:
    return Portfolio.from_arrays(customer_ids=["A"], branch_ids=["B"], start="2026-10", **cols)


@pytest.mark.parametrize("column", MONEY_COLUMNS)
def test_cells_above_the_bound_are_refused_at_construction(column: str) -> None:
    _one(**{column: np.array([[MAX_AMOUNT]])})
    with pytest.raises(PortfolioError, match="above the largest supported cell") as info:
        _one(**{column: np.array([[MAX_AMOUNT + 1]])})
    assert info.value.column == column and info.value.customer_id == "A"
    assert info.value.month == "2026-10"


def test_the_reported_wraparound_is_refused() -> None:
    # deposits = wealth = 92,233,720,368,547,758.07 yuan once summed to a negative AUM: potential
    big = np.array([[INT64_MAX]])
    with pytest.raises(PortfolioError, match="above the largest supported cell"):
        _one(deposits=big, wealth=big)


def test_every_column_at_the_bound_for_the_longest_portfolio_evaluates_exactly() -> None:
    t = MAX_MONTHS
    full = np.full((1, t), MAX_AMOUNT, dtype=np.int64)
    p = Portfolio.from_arrays(
        customer_ids=["A"], branch_ids=["B"], start="1927-01", **{c: full for c in MONEY_COLUMNS}
    )
    aum = p.aum(MONEY_COLUMNS)
    assert int(aum[0, 0]) == 6 * MAX_AMOUNT
    f = compute_features(p, [FeatureSpec("s", "sum", "aum", window=t - 1)], p.months.stop, aum=MONEY_COLUMNS)
    assert int(f["s"][0]) == 6 * MAX_AMOUNT * t < INT64_MAX  # the bound's promise
    r = evaluate(p)
    assert r.tiers().tolist() == ["core"]


def test_more_months_than_the_bound_are_refused() -> None:
    with pytest.raises(PortfolioError, match="at most 1,200"):
        Portfolio.from_arrays(
            customer_ids=["A"],
            branch_ids=["B"],
            start="1900-01",
            deposits=np.zeros((1, MAX_MONTHS + 1), dtype=np.int64),
        )


def test_a_long_file_span_is_refused_with_its_line() -> None:
    ids = np.array(["A", "B"])
    first = Month(1000, 1).ordinal
    with pytest.raises(PortfolioError, match="spans 32,769 months") as info:
        Portfolio._from_long(
            ids,
            np.array(["X", "X"]),
            None,
            np.array([first, first + 32_768], dtype=np.int64),
            {c: np.zeros(2, np.int64) for c in MONEY_COLUMNS},
            np.zeros(2, np.int8),
            np.array([2, 3], dtype=np.int64),
            "f.csv",
        )
    assert info.value.file == "f.csv" and info.value.line in (2, 3)


def test_sums_across_customers_are_checked_not_wrapped() -> None:
    n = 10_000  # 10,000 × 10**15 fen > 2**63
    cells = np.full((n, 2), MAX_AMOUNT, dtype=np.int64)
    p = Portfolio.from_arrays(
        customer_ids=[f"C{i}" for i in range(n)], branch_ids=["B"] * n, start="2026-09", deposits=cells
    )
    with pytest.raises(AmountOverflowError, match="migration AUM"):
        tier_migration(p, None, "2026-09", "2026-10")
    r = evaluate(p)
    with pytest.raises(AmountOverflowError, match="AUM total"):
        r.summary()
    small = p.rows(0, 9_000)  # 9e18 < 2**63: exact
    m = tier_migration(small, None, "2026-09", "2026-10")
    assert int(m.aum.sum()) == 9_000 * MAX_AMOUNT


def test_read_only_arrays_cannot_be_made_writeable_again() -> None:
    p = _one(deposits=np.array([[5]]))
    for arr in (
        p.deposits,
        p.card_level,
        p.customer_ids,
        p.history_start,
        p.deposits[:, :1],
        p.select([0]).deposits,
        p.aum(),
    ):
        with pytest.raises(ValueError, match="WRITEABLE"):
            arr.setflags(write=True)
    r = evaluate(p)
    with pytest.raises(ValueError, match="WRITEABLE"):
        r.tier_codes.setflags(write=True)
    src = np.arange(6).reshape(2, 3)
    sealed = readonly(src)
    assert sealed.tolist() == src.tolist() and np.shares_memory(sealed, src)
    assert readonly(sealed) is sealed
    strided = readonly(src[:, ::2])
    assert strided.tolist() == [[0, 2], [3, 5]] and not strided.flags.writeable


@given(
    st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=80),
    st.one_of(st.integers(1, 10_000), st.integers(1, 2**63 - 1)),
    st.booleans(),
)
def test_floor_divmod_by_a_constant_is_exact(nums: list[int], k: int, as_array: bool) -> None:
    """A constant divisor (a scalar or an array of one value) takes numpy's division by a constant:
    still exact, the int64 minimum included (where ``q * k`` wraps)."""
    from custvalue._arrays import floor_divmod

    n = np.array([*nums, -(2**63)], np.int64)
    d: object = np.full(n.size, k, np.int64) if as_array else k
    q, r = floor_divmod(n, d)
    assert q.dtype == np.int64 and r.dtype == np.int64
    assert [(int(x), int(y)) for x, y in zip(q, r, strict=True)] == [divmod(int(a), k) for a in n]


@given(
    st.lists(extremes, max_size=50),
    st.integers(0, 200_000),
    st.integers(0, 2**32 + 5),
)
def test_sort_int64_equals_numpy_sort(specials: list[int], n: int, top: int) -> None:
    """Long arrays take the split (32-bit values apart from the others): the same order as numpy."""
    from custvalue._arrays import sort_int64

    rng = np.random.default_rng(n)
    v = np.concatenate([rng.integers(0, top + 1, n, dtype=np.int64), np.array(specials, np.int64)])
    rng.shuffle(v)
    assert np.array_equal(sort_int64(v), np.sort(v))
    sealed = readonly(v.copy())  # its peak is known: one comparison picks the 32-bit values
    assert np.array_equal(sort_int64(sealed), np.sort(v))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(65_536, 120_000), st.integers(0, 999))
def test_sort_int64_of_values_that_all_fit_32_bits(top: int, n: int, seed: int) -> None:
    """Every value in 0..2**32-1 (a portfolio's AUM, mostly): sorted as uint32 in one go."""
    from custvalue._arrays import sort_int64

    v = np.random.default_rng(seed).integers(0, top + 1, n, dtype=np.int64)
    v[0] = top
    for x in (v, readonly(v.copy())):
        got = sort_int64(x)
        assert got.dtype == np.int64 and np.array_equal(got, np.sort(v))


@settings(max_examples=25, deadline=None)
@given(st.integers(40, 62), st.integers(1, 40_000), st.booleans(), st.integers(0, 999))
def test_python_sum_of_runs_is_exact(bits: int, n: int, negative: bool, seed: int) -> None:
    """Past ``peak × count <= int64``: runs whose sums cannot overflow (or 32-bit halves when the
    runs would be short), added in Python; the exact sum, whatever the size."""
    from custvalue._arrays import python_sum

    top = 2**bits - 1
    rng = np.random.default_rng(seed)
    v = rng.integers(-top if negative else 0, top, n, dtype=np.int64, endpoint=True)
    v[: min(n, 3)] = top
    want = sum(v.tolist())
    assert python_sum(v) == want and python_sum(readonly(v.copy())) == want
    assert python_sum(v, bound=top) == want
