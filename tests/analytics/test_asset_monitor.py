"""Asset monitoring: hand-computed measures, nulls, roll-ups that conserve totals, bad input."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from custvalue import AmountOverflowError, InputError, Portfolio, default_policy
from custvalue.analytics import AnalyticsError, AssetMonitor, asset_monitor, half_even_div, ratio_bp
from custvalue.synthetic import generate


def _portfolio() -> Portfolio:
    # 13 months 2025-10..2026-10; C has data from 2026-09 only
    t = 13
    dep = np.zeros((3, t), np.int64)
    dep[0] = np.arange(1, t + 1) * 100_00  # 100, 200, ... 1300 yuan
    dep[1] = 0
    dep[1, -1] = 50_00
    dep[2, -2:] = [1_000_00, 0]
    wealth = np.zeros((3, t), np.int64)
    wealth[0, -1] = 7_00
    inv = np.zeros((3, t), np.int64)
    inv[2, -1] = 3_00
    mort = np.zeros((3, t), np.int64)
    mort[1, -1] = 10_000_00
    credit = np.zeros((3, t), np.int64)
    credit[1, -1] = 1_00
    return Portfolio.from_arrays(
        customer_ids=["A", "B", "C"],
        branch_ids=["X", "Y", "X"],
        household_ids=["h1", "h1", "h2"],
        start="2025-10",
        deposits=dep,
        wealth=wealth,
        investments=inv,
        mortgage_loan=mort,
        credit_loan=credit,
        history_start=np.array([0, 0, 11]),
    )


def test_hand_computed_measures() -> None:
    m = asset_monitor(_portfolio(), "2026-10")
    a, b, c = m.row("A"), m.row("B"), m.row("C")
    assert a["aum"] == 1300_00 + 7_00 and a["deposit_total"] == 1300_00 and a["investment_total"] == 7_00
    assert a["aum_change_mom"] == 1307_00 - 1200_00
    # 10700 / 120000 = 8.9166..% -> 892 bp
    assert a["aum_change_mom_pct_bp"] == 892
    assert a["aum_prev_year"] == 100_00 and a["aum_change_yoy"] == 1207_00
    assert a["aum_change_yoy_pct_bp"] == 120700
    # mean of 1100, 1200, 1307 yuan = 3607/3 = 1202.333.. yuan -> 120233 fen
    assert a["aum_avg_3m"] == 120233 and a["aum_avg_3m_complete"]
    assert (
        a["aum_avg_12m_complete"] and a["aum_avg_12m"] == (sum(range(200, 1301, 100)) * 100 + 700) // 12 + 0
    )
    assert b["loan_total"] == 10_001_00 and b["aum"] == 50_00
    assert b["aum_change_mom"] == 50_00 and b["aum_change_mom_pct_bp"] is None  # base 0: no percentage
    assert c["aum_change_mom"] == -997_00 and c["aum_change_mom_pct_bp"] == -9970
    assert c["aum_change_yoy"] is None and c["aum_prev_year"] is None  # no history a year ago
    assert c["aum_avg_3m"] == 500_00 + 150 and not c["aum_avg_3m_complete"]  # (100000 + 300) / 2


def test_average_rounding_is_half_even() -> None:
    p = Portfolio.from_arrays(
        customer_ids=["A", "B"], branch_ids=["X", "X"], start="2026-09", deposits=np.array([[1, 2], [2, 3]])
    )
    m = asset_monitor(p)
    # 1.5 -> 2 and 2.5 -> 2 (half to even)
    assert m.column("aum_avg_3m").tolist() == [2, 2]


def test_customer_without_data_at_as_of() -> None:
    p = Portfolio.from_arrays(
        customer_ids=["A", "B"],
        branch_ids=["X", "X"],
        start="2026-09",
        deposits=np.array([[5, 6], [0, 9]]),
        history_start=np.array([0, 1]),
    )
    m = asset_monitor(p, "2026-09")
    assert m.column("has_data").tolist() == [True, False]
    assert m.row("B")["aum"] == 0 and m.row("B")["aum_avg_3m_complete"] is False


def test_columns_are_read_only_and_frozen() -> None:
    m = asset_monitor(_portfolio())
    with pytest.raises(ValueError):
        m.column("aum")[0] = 1
    with pytest.raises(AttributeError):
        m.as_of = None  # type: ignore[misc]


def test_percent_matches_decimal_reference() -> None:
    rng = np.random.default_rng(3)
    prev = rng.integers(0, 10**6, 500)
    now = rng.integers(0, 10**6, 500)
    p = Portfolio.from_arrays(
        customer_ids=[f"c{i}" for i in range(500)],
        branch_ids=["X"] * 500,
        start="2026-09",
        deposits=np.stack([prev, now], axis=1),
    )
    m = asset_monitor(p)
    bp, ok = m.measure("aum_change_mom_pct")
    for i in range(500):
        if prev[i] == 0:
            assert not ok[i]
        else:
            want = (Decimal(int(now[i] - prev[i])) * 10000 / Decimal(int(prev[i]))).quantize(
                Decimal(1), rounding=ROUND_HALF_EVEN
            )
            assert ok[i] and int(bp[i]) == int(want)


def test_ratio_bp_beyond_int64_products() -> None:
    n = np.array([3 * 10**15, -(3 * 10**15) + 1])
    d = np.array([7, 3 * 10**15])
    bp, ok = ratio_bp(n, d)
    q = Decimal(3 * 10**19) / 7
    assert bp.tolist()[0] == int(q.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)) and ok.all()
    assert bp.tolist()[1] == -10000
    assert half_even_div(np.array([-3]), np.array([2])).tolist() == [-2]


@settings(max_examples=40)
@given(st.integers(1, 60), st.integers(0, 2**31), st.booleans())
def test_rollups_conserve_totals(n: int, seed: int, households: bool) -> None:
    p = generate(n, seed=seed % 1000, households=households, n_branches=4)
    m = asset_monitor(p)
    for r in [m.by_branch()] + ([m.by_household()] if households else []):
        assert int(r.column("customers").sum()) == n
        for c in ("aum", "deposit_total", "investment_total", "loan_total", "aum_change_mom", "aum_avg_12m"):
            assert int(r.column(c).sum()) == sum(m.column(c).tolist())
        assert int(r.column("aum_change_yoy").sum()) == sum(
            v
            for v, ok in zip(
                m.column("aum_change_yoy").tolist(), m.valid["aum_change_yoy"].tolist(), strict=True
            )
            if ok
        )
    # each branch's changes and bases are its customers' own (the changes are found from the totals)
    by = m.by_branch()
    for row in by.records():
        mine = np.asarray(m.column("branch_id")) == row["branch_id"]
        for c in ("aum_change_mom", "aum_change_yoy", "aum_prev_month", "aum_prev_year"):
            assert row[c] == sum(np.asarray(m.column(c))[mine].tolist()), c


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 60), st.integers(0, 999), st.integers(0, 13))
def test_the_recorded_peaks_are_the_columns_largest_values(n: int, seed: int, back: int) -> None:
    """The monitor records each summed column's largest value block by block (the roll-ups'
    overflow bound): it is the column's true maximum, and no value is negative."""
    from custvalue._arrays import peak
    from custvalue.analytics import _monitor

    p = generate(n, seed=seed, n_branches=2) if n else _portfolio().select(np.zeros(0, np.intp))
    m = asset_monitor(p, p.months.stop - min(back, len(p.months) - 1))
    for c in _monitor._SUMMED:
        col = np.asarray(m.column(c))
        assert int(col.min(initial=0)) >= 0
        assert peak(col, -1) == int(col.max(initial=0)), c  # -1 would be taken were none recorded


def test_branch_rollup_hand_computed() -> None:
    r = asset_monitor(_portfolio()).by_branch()
    rows = {x["branch_id"]: x for x in r.records()}
    assert rows["X"]["customers"] == 2 and rows["X"]["aum"] == 1307_00 + 3_00
    # change 10700 - 99700 = -89000 over base 120000 + 100000
    assert rows["X"]["aum_change_mom"] == -89000 and rows["X"]["aum_change_mom_pct_bp"] == -4045
    assert rows["Y"]["aum_change_mom_pct_bp"] is None
    h = {x["household_id"]: x for x in asset_monitor(_portfolio()).by_household().records()}
    assert h["h1"]["aum"] == 1307_00 + 50_00 and h["h1"]["loan_total"] == 10_001_00


def test_rollup_overflow_is_an_error() -> None:
    big = 10**15
    p = Portfolio.from_arrays(
        customer_ids=[f"c{i}" for i in range(4000)],
        branch_ids=["X"] * 4000,
        start="2026-10",
        deposits=np.full((4000, 1), big),
        wealth=np.full((4000, 1), big),
        investments=np.full((4000, 1), big),
    )
    with pytest.raises(AmountOverflowError):
        asset_monitor(p).by_branch()


def test_bad_inputs() -> None:
    p = _portfolio()
    with pytest.raises(AnalyticsError, match=r"as-of month 2027-01 is outside the portfolio's months"):
        asset_monitor(p, "2027-01")
    with pytest.raises(AnalyticsError, match="is not a month"):
        asset_monitor(p, "October")
    with pytest.raises(AnalyticsError, match="must be a Portfolio"):
        asset_monitor([], "2026-10")  # type: ignore[arg-type]
    with pytest.raises(AnalyticsError, match="unknown customer"):
        asset_monitor(p).row("Z")
    with pytest.raises(AnalyticsError, match="unknown measure"):
        asset_monitor(p).measure("nope")
    no_households = Portfolio.from_arrays(
        customer_ids=["A"], branch_ids=["X"], start="2026-10", deposits=np.array([[1]])
    )
    with pytest.raises(AnalyticsError, match="no household ids"):
        asset_monitor(no_households).by_household()
    assert issubclass(AnalyticsError, InputError)


def test_empty_portfolio() -> None:
    p = _portfolio().select(np.zeros(0, np.intp))
    m = asset_monitor(p)
    assert isinstance(m, AssetMonitor) and len(m) == 0
    assert len(m.by_branch()) == 0 and "customer_id" in m.text()


def test_policy_aum_classes_are_used() -> None:
    import attrs

    pol = attrs.evolve(default_policy(), aum=("deposits",))
    m = asset_monitor(_portfolio(), policy=pol)
    assert m.row("A")["aum"] == 1300_00


@given(st.lists(st.text(st.characters(min_codepoint=0, max_codepoint=300), max_size=10), max_size=40))
def test_group_codes_equal_numpy_unique(keys: list[str]) -> None:
    from custvalue.analytics._table import group_codes

    arr = np.asarray(keys, dtype=str) if keys else np.empty(0, "<U1")
    ids, inv = group_codes(arr)
    want, winv = np.unique(arr, return_inverse=True)
    assert ids.tolist() == want.tolist() and inv.tolist() == winv.reshape(-1).tolist()


@given(
    st.lists(st.tuples(st.integers(-(2**63), 2**63 - 1), st.integers(1, 2**63 - 1)), min_size=1, max_size=30)
)
def test_floor_divmod_is_exact(pairs: list[tuple[int, int]]) -> None:
    from custvalue._arrays import floor_divmod

    n = np.array([a for a, _ in pairs], np.int64)
    d = np.array([b for _, b in pairs], np.int64)
    q, r = floor_divmod(n, d)
    assert [(int(x), int(y)) for x, y in zip(q, r, strict=True)] == [divmod(a, b) for a, b in pairs]


@given(
    st.lists(
        st.tuples(
            st.one_of(st.integers(-(10**15), 10**15), st.integers(-(2**63), 2**63 - 1)),
            st.one_of(st.integers(1, 10**9), st.integers(2**49, 2**51), st.integers(1, 2**63 - 1)),
        ),
        min_size=64,
        max_size=200,
    )
)
def test_floor_divmod_of_long_arrays_is_exact(pairs: list[tuple[int, int]]) -> None:
    """Long arrays of varying divisors: exact at every magnitude, bounds included."""
    from custvalue._arrays import floor_divmod

    n = np.array([a for a, _ in pairs], np.int64)
    d = np.array([b for _, b in pairs], np.int64)
    q, r = floor_divmod(n, d)
    assert [(int(x), int(y)) for x, y in zip(q, r, strict=True)] == [divmod(a, b) for a, b in pairs]


def _half_even(a: int, b: int) -> int:
    q, r = divmod(a, b)
    return q + (1 if 2 * r > b or (2 * r == b and q % 2) else 0)


@given(
    st.lists(
        st.tuples(
            st.one_of(st.integers(-50, 50), st.integers(-(2**63), 2**63 - 1)),
            st.one_of(st.integers(1, 8), st.integers(1, 2**63 - 1)),
        ),
        min_size=1,
        max_size=80,
    ),
    st.one_of(st.integers(1, 12), st.integers(1, 2**63 - 1)),
)
def test_half_even_division_is_exact_with_ties(pairs: list[tuple[int, int]], k: int) -> None:
    """Varying and constant divisors; small values make ties (x.5) frequent, large ones test overflow."""
    n = np.array([a for a, _ in pairs], np.int64)
    d = np.array([b for _, b in pairs], np.int64)
    assert half_even_div(n, d).tolist() == [_half_even(a, b) for a, b in pairs]
    assert half_even_div(n, np.int64(k)).tolist() == [_half_even(a, k) for a, _ in pairs]  # type: ignore[arg-type]
    from custvalue._arrays import Scratch

    out = np.empty(n.size, np.int64)
    got = half_even_div(n, k, out=out, scratch=Scratch())  # type: ignore[arg-type]
    assert got is out and out.tolist() == [_half_even(a, k) for a, _ in pairs]


@given(
    st.lists(
        st.tuples(
            st.one_of(st.integers(-(10**6), 10**6), st.integers(-(2**63), 2**63 - 1)),
            st.one_of(st.integers(-3, 3), st.integers(1, 10**6), st.integers(-(2**63), 2**63 - 1)),
        ),
        min_size=1,
        max_size=80,
    )
)
def test_percent_and_its_comparison_code_are_exact(pairs: list[tuple[int, int]]) -> None:
    from custvalue.analytics._table import ratio_bp_code, ratio_code

    n = np.array([a for a, _ in pairs], np.int64)
    d = np.array([b for _, b in pairs], np.int64)
    want_bp = [_half_even(a * 10_000, b) if b > 0 else 0 for a, b in pairs]
    floors = [(a * 10_000) // b if b > 0 else 0 for a, b in pairs]
    want_code = [
        2 * f + ((a * 10_000) % b != 0) if b > 0 else 0 for f, (a, b) in zip(floors, pairs, strict=True)
    ]
    bp_fits = all(-(2**63) <= v < 2**63 for v in want_bp)
    if not bp_fits:  # overflow is an error, never a wrapped value
        with pytest.raises(AmountOverflowError, match="beyond"):
            ratio_bp(n, d)
    else:
        bp, ok = ratio_bp(n, d)
        assert ok.tolist() == [b > 0 for _, b in pairs]
        assert bp.tolist() == want_bp
    if not bp_fits or not all(-(2**62) <= f < 2**62 for f in floors):
        with pytest.raises(AmountOverflowError, match="beyond"):
            ratio_bp_code(n, d)
        with pytest.raises(AmountOverflowError, match="beyond"):
            ratio_code(n, d)
        return
    bp, ok, code = ratio_bp_code(n, d)
    assert bp.tolist() == want_bp and ok.tolist() == [b > 0 for _, b in pairs]
    assert code.tolist() == want_code
    assert ratio_code(n, d).tolist() == want_code


def test_group_codes_of_a_sealed_array_are_computed_once_and_read_only() -> None:
    from custvalue._arrays import readonly
    from custvalue.analytics._table import group_codes

    keys = readonly(np.array(["B2", "B10", "B2", "A"]))
    ids, inv = group_codes(keys)
    again = group_codes(keys)
    assert again[0] is ids and again[1] is inv
    assert ids.tolist() == ["A", "B10", "B2"] and inv.tolist() == [2, 1, 2, 0]
    assert not inv.flags.writeable
    other = np.array(["B2", "B10", "B2", "A"])  # writable: computed afresh every time
    assert group_codes(other)[1] is not group_codes(other)[1]
