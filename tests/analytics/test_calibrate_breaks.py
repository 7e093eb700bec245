"""Calibration by natural breaks (Fisher-Jenks, the ``jenks`` extra)."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custvalue import MissingDependencyError, Portfolio, default_policy, evaluate, load_policy
from custvalue.analytics import AnalyticsError, calibrate
from custvalue.analytics._calibrate import jenks_sample, natural_breaks
from custvalue.io import write_balances
from custvalue.synthetic import generate

TIERS = ("core", "growth", "platinum", "gold")


def flat(aum_yuan: list[int], months: int = 14) -> Portfolio:
    aum = np.repeat(np.asarray(aum_yuan, dtype=np.int64)[:, None] * 100, months, axis=1)
    n = len(aum_yuan)
    return Portfolio.from_arrays(
        customer_ids=[f"C{i:03d}" for i in range(n)], branch_ids=["B"] * n, start="2025-09", deposits=aum
    )


def sdcm(values: list[int], cuts: list[int]) -> float:
    """Sum of squared deviations from the class means (what Jenks minimises)."""
    total = 0.0
    lo = -np.inf
    for hi in [*cuts, np.inf]:
        cls = np.asarray([v for v in values if lo < v <= hi], dtype=np.float64)
        if cls.size:
            total += float(((cls - cls.mean()) ** 2).sum())
        lo = hi
    return total


def test_hand_computed_clusters() -> None:
    # five clusters of AUM (yuan): the four breaks fall between them
    groups = [[10_000, 20_000, 30_000], [190_000, 195_000], [640_000, 655_000], [3_000_000], [12_000_000]]
    p = flat([v for g in groups for v in g])
    c = calibrate(p, method="natural-breaks", step=10_000)
    assert c.method == "natural-breaks" and c.tiers == TIERS
    # exact floor: the lowest AUM of the class above each break; here already whole 10,000 yuan
    assert c.exact_fen == {
        "core": 12_000_000_00,
        "growth": 3_000_000_00,
        "platinum": 640_000_00,
        "gold": 190_000_00,
    }
    assert c.floor_fen == c.exact_fen
    assert c.reached == {"core": 1, "growth": 2, "platinum": 4, "gold": 6}
    assert evaluate(p, c.proposed).counts()["tier"] == {"core": 1, "growth": 1, "platinum": 2, "gold": 2,
                                                       "potential": 3}  # fmt: skip
    # rounded up: the smallest whole 10,000 yuan above each break (the top of the class below)
    up = calibrate(p, method="natural-breaks", step=10_000, direction="up")
    assert up.floor_fen == {
        "core": 3_010_000_00,
        "growth": 660_000_00,
        "platinum": 200_000_00,
        "gold": 40_000_00,
    }
    assert up.reached == c.reached


def test_rounding_when_no_step_lies_between_the_classes() -> None:
    # the break is at 195,000 and the class above starts at 198,000: no whole 10,000 yuan between
    groups = [[10_000, 20_000, 30_000], [190_000, 195_000], [198_000, 650_000], [3_000_000], [12_000_000]]
    p = flat([v for g in groups for v in g])
    cuts, _ = natural_breaks(np.asarray([v * 100 for g in groups for v in g]), 5)
    assert cuts[1] in (195_000_00, 198_000_00)  # Jenks may put 198,000 with either neighbour
    c = calibrate(p, method="natural-breaks", step=10_000)
    up = calibrate(p, method="natural-breaks", step=10_000, direction="up")
    for t in TIERS:
        assert c.floor_fen[t] <= c.exact_fen[t] < c.floor_fen[t] + 10_000_00  # down: at most one step below
        assert up.floor_fen[t] % 10_000_00 == 0 and c.floor_fen[t] % 10_000_00 == 0
        assert c.reached[t] >= up.reached[t]


def test_reached_is_what_evaluate_gives_and_floors_are_rounded() -> None:
    p = generate(3000, seed=5)
    c = calibrate(p, method="natural-breaks", step=10_000)
    floors = [c.floor_fen[t] for t in c.tiers]
    assert floors == sorted(floors, reverse=True) and len(set(floors)) == len(floors)
    assert all(f % 1_000_000 == 0 for f in floors)  # whole 10,000 yuan
    r = evaluate(p, c.proposed, previous=False)
    for k, t in enumerate(c.proposed.tier_order[: len(c.tiers)]):
        assert c.reached[t] == int(((r.tier_codes >= 0) & (r.tier_codes <= k)).sum())
    assert c.target_units == c.reached
    assert "natural breaks of 3,000 values, 5 classes" in c.text()
    assert "exact_break" in c.report().column_names


def test_some_tiers_only() -> None:
    p = generate(2000, seed=6)
    c = calibrate(p, method="natural-breaks", tiers=["growth", "core"])
    assert c.tiers == ("core", "growth")
    assert c.proposed.tier("platinum").aum_floor == default_policy().tier("platinum").aum_floor
    assert "3 classes" in c.report().title
    with pytest.raises(AnalyticsError, match="'growth' keeps its floor; calibrate it too"):
        calibrate(p, method="natural-breaks", tiers=["platinum", "gold"])


def test_large_portfolios_use_the_documented_sample() -> None:
    p = generate(6000, seed=7)
    c = calibrate(p, method="natural-breaks", sample=1000)
    assert c.sample_size == 1000
    again = calibrate(p, method="natural-breaks", sample=1000)
    assert again.floor_fen == c.floor_fen  # deterministic


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.integers(0, 10**12), min_size=1, max_size=300), size=st.integers(1, 120))
def test_jenks_sample_is_evenly_spaced_order_statistics(values: list[int], size: int) -> None:
    got = jenks_sample(np.asarray(values, dtype=np.int64), size)
    s = sorted(values)
    n = len(s)
    if n <= size:
        assert got.tolist() == s
    else:
        assert got.tolist() == [s[((2 * i + 1) * n) // (2 * size)] for i in range(size)]


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.integers(0, 10_000), min_size=4, max_size=10),
    k=st.integers(2, 3),
)
def test_breaks_minimise_the_squared_deviations(values: list[int], k: int) -> None:
    distinct = sorted(set(values))
    if len(distinct) < k:
        with pytest.raises(AnalyticsError, match="distinct"):
            natural_breaks(np.asarray(values), k)
        return
    cuts, used = natural_breaks(np.asarray(values), k)
    assert used == len(values)
    assert cuts == sorted(cuts) and all(c in distinct for c in cuts)
    best = min(sdcm(values, list(cs)) for cs in itertools.combinations(distinct[:-1], k - 1))
    assert sdcm(values, cuts) <= best + 1e-6 * max(best, 1.0)


def test_bad_arguments() -> None:
    p = flat([1_000, 50_000, 300_000, 1_000_000, 9_000_000, 20_000_000])
    with pytest.raises(AnalyticsError, match="no target shares"):
        calibrate(p, targets={"core": "0.1"}, method="natural-breaks")
    with pytest.raises(AnalyticsError, match="unknown tier 'silver'"):
        calibrate(p, method="natural-breaks", tiers=["silver"])
    with pytest.raises(AnalyticsError, match="has no AUM floor"):
        calibrate(p, method="natural-breaks", tiers=["potential"])
    with pytest.raises(AnalyticsError, match="method must be one of"):
        calibrate(p, method="jenks")
    with pytest.raises(AnalyticsError, match=r"tiers=\.\.\. is for natural breaks"):
        calibrate(p, targets={"core": "0.1"}, tiers=["core"])
    with pytest.raises(AnalyticsError, match="distinct AUM value"):
        calibrate(flat([5_000] * 8), method="natural-breaks")
    with pytest.raises(AnalyticsError, match="round to a smaller step"):
        calibrate(p, method="natural-breaks", step=100_000_000)


def test_missing_jenkspy_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jenkspy", None)  # import jenkspy now raises ImportError
    with pytest.raises(MissingDependencyError, match=r"natural-breaks calibration .*custvalue\[jenks\]"):
        calibrate(flat([1, 2, 3, 4, 5, 6]), method="natural-breaks")


def test_cli_calibrate_natural_breaks(tmp_path: Path) -> None:
    p = generate(800, seed=3)
    write_balances(p, tmp_path / "balances.csv")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "custvalue.cli", "policy", "calibrate", "--balances", "balances.csv"]
        return subprocess.run(
            [*cmd, *args], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300
        )

    r = cli("--method", "natural-breaks", "--out", "nb.toml")
    assert r.returncode == 0, r.stderr
    assert "natural breaks of 800 values, 5 classes" in r.stdout
    want = calibrate(p, method="natural-breaks")
    assert load_policy(tmp_path / "nb.toml").tier("gold").aum_floor == want.proposed.tier("gold").aum_floor
    two = cli("--method", "natural-breaks", "--tiers", "core,growth", "--out", "nb2.toml")
    assert two.returncode == 0 and "3 classes" in two.stdout, two.stderr
    bad = cli("--method", "natural-breaks", "--targets", "core=0.1", "--out", "x.toml")
    assert bad.returncode == 2 and "--targets is for --method target-shares" in bad.stderr
    missing = cli("--out", "y.toml")
    assert missing.returncode == 2 and "--targets is required" in missing.stderr
