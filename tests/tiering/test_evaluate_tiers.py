"""The tier-only path (:func:`evaluate_tiers`) equals :func:`evaluate_path`'s tiers and an exact tally."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from _testing import tier_tally
from custvalue import default_policy, evaluate_path
from custvalue.policy import PolicySet
from custvalue.synthetic import generate
from custvalue.tiering import evaluate_tiers


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 60),
    st.integers(0, 10_000),
    st.integers(1, 40),
    st.integers(0, 13),
    st.integers(0, 13),
    st.booleans(),
)
def test_tiers_only_equal_the_path_and_an_exact_tally(
    n: int, seed: int, chunk: int, i: int, j: int, versioned: bool
) -> None:
    p = generate(n, seed=seed, n_branches=2)
    first, last = p.months[min(i, j)], p.months[max(i, j)]
    policy: object = default_policy()
    if versioned:  # a lower platinum floor from the middle month on: each month under its version
        later = default_policy().with_tier("platinum", aum_floor=300_000)
        policy = PolicySet([(str(p.months.start), default_policy()), (str(p.months[7]), later)])
    got = evaluate_tiers(p, policy, first=first, last=last, chunk_size=chunk)  # type: ignore[arg-type]
    path = evaluate_path(p, policy, first=first, last=last)  # type: ignore[arg-type]
    assert got.tier_codes.tolist() == path.tier_codes.tolist()
    assert got.months == path.months
    a0 = p.months.index(first)
    aum = p.aum(default_policy().aum)[:, a0 : a0 + len(got.months)]
    counts, sums = tier_tally(np.asarray(got.tier_codes), aum, len(default_policy().tier_order))
    assert got.counts.tolist() == counts
    assert got.aum.tolist() == sums
