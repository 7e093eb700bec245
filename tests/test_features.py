"""Temporal features: vectorised computation == scalar reference, window edges."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custvalue import Portfolio
from custvalue.policy import FeatureSpec
from custvalue.rules import match_unary_tests, parse_unary_tests
from custvalue.tiering import compute_features, reference_feature


@st.composite
def portfolios(draw: st.DrawFn) -> Portfolio:
    n = draw(st.integers(1, 12))
    t = draw(st.integers(1, 16))
    hs = np.array(draw(st.lists(st.integers(0, t - 1), min_size=n, max_size=n)), dtype=np.int16)
    vals = draw(st.lists(st.integers(0, 10**12), min_size=n * t, max_size=n * t))
    dep = np.array(vals, dtype=np.int64).reshape(n, t)
    dep[np.arange(t)[None, :] < hs[:, None]] = 0
    card = np.array(draw(st.lists(st.integers(0, 4), min_size=n * t, max_size=n * t)), dtype=np.int8).reshape(
        n, t
    )
    card[np.arange(t)[None, :] < hs[:, None]] = 0
    return Portfolio.from_arrays(
        customer_ids=[f"c{i}" for i in range(n)],
        branch_ids=["b"] * n,
        start="2025-01",
        deposits=dep,
        card_level=card,
        history_start=hs,
    )


specs = st.builds(
    FeatureSpec,
    name=st.just("f"),
    op=st.sampled_from(["value", "max", "min", "sum", "mean", "run"]),
    column=st.sampled_from(["deposits", "aum"]),
    window=st.integers(0, 14),
    lag=st.integers(0, 3),
    test=st.sampled_from(["< 5000000", ">= 100", "[1..1000000)", "not(< 3)"]),
)


@settings(max_examples=300, deadline=None)
@given(portfolios(), specs, st.data())
def test_vectorised_equals_reference(p: Portfolio, spec: FeatureSpec, data: st.DataObject) -> None:
    if spec.op == "value":
        spec = FeatureSpec(spec.name, "value", spec.column, lag=spec.lag)
    if spec.op != "run":
        spec = FeatureSpec(
            spec.name, spec.op, spec.column, window=spec.window if spec.op != "value" else 0, lag=spec.lag
        )
    a = data.draw(st.integers(0, p.n_months - 1))
    frame = compute_features(p, [spec], p.months[a], aum=("deposits",))
    ut = parse_unary_tests(spec.test) if spec.test else None

    def test(v: int) -> bool:
        assert ut is not None
        return bool(match_unary_tests(ut, Decimal(v) / 100))

    for i in range(p.n_customers):
        want, complete = reference_feature(
            p.deposits[i].tolist(), int(p.history_start[i]), a, spec, test if spec.op == "run" else None
        )
        assert int(frame.values["f"][i]) == want
        assert bool(frame.complete["f"][i]) == complete


def _one(values: list[int]) -> Portfolio:
    return Portfolio.from_arrays(
        customer_ids=["a"], branch_ids=["b"], start="2025-09", deposits=np.array([values], dtype=np.int64)
    )


@pytest.mark.parametrize("w", [0, 1, 6, 12])
def test_window_covers_w_plus_one_months(w: int) -> None:
    """A peak exactly W months before the as-of month counts; W + 1 does not."""
    t = 14
    for back, counted in ((w, True), (w + 1, False)):
        vals = [0] * t
        if back < t:
            vals[t - 1 - back] = 7
        f = compute_features(_one(vals), [FeatureSpec("m", "max", "deposits", window=w)], "2026-10")
        assert int(f["m"][0]) == (7 if counted and back < t else 0)


def test_run_stops_at_history_start_and_failing_month() -> None:
    p = Portfolio.from_arrays(
        customer_ids=["a", "b"],
        branch_ids=["x", "x"],
        start="2026-06",
        deposits=np.array([[0, 0, 0, 0, 0], [0, 0, 900, 0, 0]]),
        history_start=np.array([2, 0], dtype=np.int16),
    )
    f = compute_features(p, [FeatureSpec("r", "run", "deposits", window=4, test="< 1")], "2026-10")
    assert f["r"].tolist() == [3, 2]
    assert f.complete["r"].tolist() == [False, True]


def test_mean_rounds_half_even_in_fen() -> None:
    f = compute_features(_one([1, 2, 2, 2]), [FeatureSpec("m", "mean", "deposits", window=1)], "2025-12")
    assert int(f["m"][0]) == 2  # mean(2, 2)
    f = compute_features(_one([1, 2, 0, 0]), [FeatureSpec("m", "mean", "deposits", window=1)], "2025-10")
    assert int(f["m"][0]) == 2  # 1.5 -> 2 (half to even)
    f = compute_features(_one([3, 2, 0, 0]), [FeatureSpec("m", "mean", "deposits", window=1)], "2025-10")
    assert int(f["m"][0]) == 2  # 2.5 -> 2 (half to even)


def test_missing_months_are_incomplete_not_invented() -> None:
    f = compute_features(_one([5, 6]), [FeatureSpec("s", "sum", "deposits", window=12)], "2025-10")
    assert int(f["s"][0]) == 11
    assert not bool(f.complete["s"][0])


@settings(max_examples=150, deadline=None)
@given(portfolios(), st.lists(specs, min_size=1, max_size=4), st.data())
def test_path_features_equal_month_by_month(
    p: Portfolio, raw: list[FeatureSpec], data: st.DataObject
) -> None:
    """compute_path (sliding sums, views) == compute() at every month of the path."""
    from custvalue.tiering._features import Block, compute, compute_path

    feats = []
    for k, spec in enumerate(raw):
        if spec.op == "value":
            feats.append(FeatureSpec(f"f{k}", "value", spec.column, lag=spec.lag))
        elif spec.op == "run":
            feats.append(FeatureSpec(f"f{k}", "run", spec.column, window=spec.window, test=spec.test))
        else:
            feats.append(FeatureSpec(f"f{k}", spec.op, spec.column, window=spec.window, lag=spec.lag))
    a0 = data.draw(st.integers(0, p.n_months - 1))
    a1 = data.draw(st.integers(a0, p.n_months - 1))
    block = Block(p, slice(0, p.n_customers), 0, a1, ("deposits", "wealth", "investments"))
    path = compute_path(block, feats, a0, a1)
    for j, a in enumerate(range(a0, a1 + 1)):
        want = compute(block, feats, a, None, with_complete=False).values
        for f in feats:
            assert path[j][f.name].tolist() == want[f.name].tolist(), (f, a)
