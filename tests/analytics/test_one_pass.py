"""The report set's one pass over the row blocks equals the evaluation, the monitor and the trend alone.

:func:`custvalue.analytics.report_set` evaluates, fills the asset monitor and
tallies the tier trend in one pass (``_one_pass``), sharing each row block's
AUM.  Each part must equal its own call, for any block size (the tallies of
many blocks are added exactly), any as-of month and any trend length.
"""

from __future__ import annotations

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _testing import tier_tally
from custvalue import AmountOverflowError, Portfolio, default_policy, evaluate, evaluate_path
from custvalue._arrays import readonly
from custvalue.analytics import AnalyticsError, asset_monitor, tier_trend
from custvalue.analytics._reportfile import _one_pass
from custvalue.policy import compile_policy
from custvalue.synthetic import generate
from custvalue.tiering import Block, tally_block
from custvalue.tiering import _kernel as kernel

CP = compile_policy(default_policy())
RESULT = (
    "tier_codes",
    "status_codes",
    "months_below",
    "previous_tier_codes",
    "movement_codes",
    "churned_tier_codes",
    "history_complete",
    "reason_bits",
)


def _hand_tally(p: Portfolio, first: int, last: int) -> tuple[list[list[int]], list[list[int]]]:
    """Customers and AUM per month (rows) and tier from the path's tiers, one customer at a time."""
    path = evaluate_path(p, CP, first=p.months[first], last=p.months[last])
    aum = p.aum(CP.policy.aum)[:, first : last + 1]
    counts, sums = tier_tally(np.asarray(path.tier_codes), aum, len(CP.policy.tier_order))
    return [list(r) for r in zip(*counts, strict=True)], [list(r) for r in zip(*sums, strict=True)]


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 70),
    st.integers(0, 10_000),
    st.integers(1, 40),
    st.integers(0, 13),
    st.integers(1, 15),
)
def test_the_pass_equals_evaluate_the_monitor_and_the_trend(
    n: int, seed: int, chunk: int, back: int, months: int
) -> None:
    p = generate(n, seed=seed, n_branches=2)
    month = p.months.stop - back
    a = p.months.index(month)
    result, monitor, tallied = _one_pass(p, CP, month, a, months, None, chunk_size=chunk)
    alone = evaluate(p, CP, as_of=month)
    for name in RESULT:
        assert np.asarray(getattr(result, name)).tolist() == np.asarray(getattr(alone, name)).tolist(), name
    assert result.events.customer_index.tolist() == alone.events.customer_index.tolist()
    assert result.events.event_codes.tolist() == alone.events.event_codes.tolist()
    mon = asset_monitor(p, month, CP.policy)
    assert list(monitor.columns) == list(mon.columns)
    for name, col in mon.columns.items():
        assert np.asarray(monitor.columns[name]).tolist() == np.asarray(col).tolist(), name
    assert {k: v.tolist() for k, v in monitor.valid.items()} == {k: v.tolist() for k, v in mon.valid.items()}
    assert {k: v.tolist() for k, v in monitor.pct_codes.items()} == {
        k: v.tolist() for k, v in mon.pct_codes.items()
    }
    assert tallied is not None
    counts, sums = _hand_tally(p, max(0, a - months + 1), a)
    assert tallied[0].tolist() == counts
    assert tallied[1].tolist() == sums
    trend = tier_trend(p, CP, months=months, as_of=month)
    assert np.asarray(trend.column("customers")).tolist() == [c for row in counts for c in row]


@pytest.mark.parametrize("months", [1, 2, 3, 12])
def test_the_pass_without_a_lookup_table_equals_evaluate_and_the_trend(
    months: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A policy the lookup table cannot express: the evaluation's rules engine and each month's
    own tiers, with the same answers."""
    from custvalue.analytics import _reportfile

    monkeypatch.setattr(kernel, "tier_lut", lambda cp: None)
    monkeypatch.setattr(_reportfile, "tier_lut", lambda cp: None)
    p = generate(50, seed=11, n_branches=2)
    a = len(p.months) - 1
    result, _, tallied = _one_pass(p, CP, p.months.stop, a, months, None, chunk_size=16)
    alone = evaluate(p, CP)
    for name in RESULT:
        assert np.asarray(getattr(result, name)).tolist() == np.asarray(getattr(alone, name)).tolist(), name
    assert tallied is not None
    counts, sums = _hand_tally(p, max(0, a - months + 1), a)
    assert tallied[0].tolist() == counts and tallied[1].tolist() == sums


@pytest.mark.parametrize("first", ["status_codes", "months_below", "events"])
def test_the_pass_leaves_the_status_part_for_first_use(first: str) -> None:
    """No report reads the status: the pass computes it on first use, all three parts at once."""
    p = generate(40, seed=5, n_branches=2)
    result, _, _ = _one_pass(p, CP, p.months.stop, len(p.months) - 1, 12, None)
    assert callable(result._status) and callable(result._events)
    alone = evaluate(p, CP)
    getattr(result, first)
    assert not callable(result._status) and not callable(result._below) and not callable(result._events)
    assert result.status_codes.tolist() == alone.status_codes.tolist()
    assert result.months_below.tolist() == alone.months_below.tolist()
    assert result.events.event_codes.tolist() == alone.events.event_codes.tolist()


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 60),
    st.integers(0, 10_000),
    st.integers(1, 40),
    st.integers(0, 13),
    st.integers(1, 15),
    st.booleans(),
)
def test_with_a_stored_path_the_pass_tallies_the_paths_tiers(
    n: int, seed: int, chunk: int, back: int, months: int, scrambled: bool
) -> None:
    """The trend reads the path's stored tiers (every month, the as-of month too), block by block."""
    p = generate(n, seed=seed, n_branches=2)
    month = p.months.stop - back
    a = p.months.index(month)
    path = evaluate_path(p, CP)
    if scrambled:  # other tiers than the evaluation's: the tally must be the path's
        codes = np.array(path.tier_codes)
        rng = np.random.default_rng(seed)
        have = codes >= 0
        codes[have] = rng.integers(0, len(CP.policy.tier_order), int(have.sum()))
        path = attrs.evolve(path, tier_codes=readonly(codes))
    _, _, tallied = _one_pass(p, CP, month, a, months, path, chunk_size=chunk)
    assert tallied is not None
    i0 = max(0, a - months + 1)
    cols = [path.column(p.months[j]) for j in range(i0, a + 1)]
    aum = p.aum(CP.policy.aum)[:, i0 : a + 1]
    counts, sums = tier_tally(np.asarray(path.tier_codes)[:, cols], aum, len(CP.policy.tier_order))
    assert tallied[0].tolist() == [list(r) for r in zip(*counts, strict=True)]
    assert tallied[1].tolist() == [list(r) for r in zip(*sums, strict=True)]
    trend = tier_trend(p, CP, months=months, as_of=month, path=path)
    assert np.asarray(trend.column("customers")).tolist() == np.asarray(tallied[0]).reshape(-1).tolist()


def test_a_stored_path_that_does_not_fit_is_refused_before_the_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    import custvalue.analytics._reportfile as rf

    p = generate(30, seed=2, n_branches=2)
    a = len(p.months) - 1
    monkeypatch.setattr(rf, "evaluate_visiting", None)  # reached only past the checks
    other = evaluate_path(generate(31, seed=2, n_branches=2), CP)
    with pytest.raises(AnalyticsError, match="customers differ"):
        _one_pass(p, CP, p.months.stop, a, 12, other)
    short = evaluate_path(p, CP, first=p.months[a - 2])
    with pytest.raises(AnalyticsError, match="does not cover the months"):
        _one_pass(p, CP, p.months.stop, a, 12, short)
    stricter = compile_policy(attrs.evolve(CP.policy, name="other"))
    with pytest.raises(AnalyticsError, match="another policy"):
        _one_pass(p, stricter, p.months.stop, a, 12, evaluate_path(p, CP))


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 60), st.integers(0, 10_000), st.integers(0, 12), st.integers(0, 12), st.booleans())
def test_a_blocks_tally_by_table_cell_equals_the_tally_of_its_tiers(
    n: int, seed: int, i: int, j: int, no_table: bool
) -> None:
    """The lookup-table tally (and, without a table, the tiers' own) equals tallying the tier codes."""
    p = generate(n, seed=seed, n_branches=2)
    r0, r1 = min(i, j), max(i, j)
    block = Block(p, slice(0, n), 0, r1, CP.policy.aum, CP.policy.scale)
    codes = kernel.path_tiers(CP, block, r0, r1)
    codes[block.hs[None, :] > np.arange(r0, r1 + 1)[:, None]] = -1
    k = len(CP.policy.tier_order)
    want = tally_block(block, r0, r1, k, codes=codes)
    if no_table:  # the policy's tiers without a lookup table: path_tiers' rules-engine path
        saved = kernel.tier_lut
        kernel.tier_lut = lambda cp: None  # type: ignore[assignment]
        try:
            got = tally_block(block, r0, r1, k, cp=CP)
        finally:
            kernel.tier_lut = saved
    else:
        got = tally_block(block, r0, r1, k, cp=CP)
    assert got[0].tolist() == want[0].tolist()
    assert got[1].tolist() == want[1].tolist()
    # every customer is counted once a month: a tier or the no-tier bucket
    assert got[0].sum(axis=1).tolist() == [n] * (r1 - r0 + 1)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 60), st.integers(0, 10_000), st.permutations(range(6)), st.booleans())
def test_the_table_cells_pack_levels_in_any_feature_order(
    n: int, seed: int, order: list[int], one_level: bool
) -> None:
    """The same lookup table with its features in another order (and a feature of one level,
    which is skipped) packs the levels into other digits: the tiers are the same."""
    plan = kernel.tier_lut(CP)
    assert plan is not None
    lut = np.transpose(plan.lut.reshape(plan.radix), order)
    names = [plan.names[i] for i in order]
    bounds = [plan.bounds[i] for i in order]
    if one_level:  # a feature the tier does not depend on: one level, no boundaries
        names.insert(2, plan.names[order[0]])
        bounds.insert(2, np.zeros(0, np.int64))
        lut = np.expand_dims(lut, 2)
    other = kernel.TierLut(
        tuple(names), tuple(bounds), tuple(lut.shape), np.ascontiguousarray(lut).reshape(-1)
    )
    p = generate(n, seed=seed, n_branches=2)
    block = Block(p, slice(0, n), 0, 13, CP.policy.aum, CP.policy.scale)
    want = kernel.path_tiers(CP, block, 1, 13)
    saved = kernel.tier_lut
    kernel.tier_lut = lambda cp: other  # type: ignore[assignment]
    try:
        got = kernel.path_tiers(CP, block, 1, 13)
    finally:
        kernel.tier_lut = saved
    assert got.tolist() == want.tolist()


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 60), st.integers(0, 10_000), st.integers(1, 13), st.sampled_from([0, 300_000, 80_000]))
def test_the_tables_month_states_equal_the_rules_engines(n: int, seed: int, a: int, floor: int) -> None:
    """With no reasons and no status walk, a month's tier and whether its AUM rule holds it come
    from the lookup table: the same as the rules engine's, for every customer (late histories
    included), under the default policy or another platinum floor."""
    policy = default_policy() if not floor else default_policy().with_tier("platinum", aum_floor=floor)
    cp = compile_policy(policy)
    p = generate(n, seed=seed, n_branches=2)
    block = Block(p, slice(0, n), 0, a, cp.policy.aum, cp.policy.scale)
    quick = kernel.lut_states(cp, block, a - 1, a)
    assert quick is not None
    for j, month in enumerate((a - 1, a)):
        engine = kernel.month_state(cp, block, month, block.hs, reasons=False, walk=False)
        assert quick[j].tier.tolist() == engine.tier.tolist()
        assert quick[j].held.tolist() == engine.held.tolist()


def test_a_tally_needs_the_codes_or_the_policy() -> None:
    p = generate(5, seed=1)
    block = Block(p, slice(0, 5), 0, 13, CP.policy.aum, CP.policy.scale)
    with pytest.raises(ValueError, match="needs the tier codes"):
        tally_block(block, 0, 13, 5)


@pytest.mark.parametrize("chunk", [1000, 65536])
def test_a_tier_total_past_int64_is_an_error_not_a_wrapped_sum(chunk: int) -> None:
    """4,000 customers at 3 × 10**15 fen: one tier's total passes int64, in a block or across blocks."""
    n = 4000
    big = np.full((n, 14), 10**15, np.int64)
    p = Portfolio.from_arrays(
        customer_ids=[f"C{i}" for i in range(n)],
        branch_ids=["B"] * n,
        start="2025-09",
        deposits=big,
        wealth=big,
        investments=big,
    )
    with pytest.raises(AmountOverflowError, match="overflows int64"):
        _one_pass(p, CP, p.months.stop, 13, 12, None, chunk_size=chunk)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 4), st.integers(0, 40), st.integers(0, 2**32 - 1))
def test_fired_rows_are_the_customer_major_pairs(k: int, n: int, seed: int) -> None:
    from custvalue.analytics._alerts import fired_rows

    fired = np.random.default_rng(seed).random((k, n)) < 0.2
    cust, alert = fired_rows(fired)
    want_c, want_k = np.nonzero(fired.T)
    assert cust.tolist() == want_c.tolist() and alert.tolist() == want_k.tolist()
