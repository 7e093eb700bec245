"""The synthetic portfolio generator."""

from __future__ import annotations

import numpy as np
import pytest

from custvalue import Month, Portfolio
from custvalue.synthetic import generate


@pytest.fixture(scope="module")
def big() -> Portfolio:
    return generate(200_000, seed=7)


def test_deterministic() -> None:
    a = generate(3000, seed=5, households=True)
    assert a == generate(3000, seed=5, households=True)
    assert a != generate(3000, seed=6, households=True)


def test_shape_ids_and_months() -> None:
    p = generate(1234, months=5, end="2026-03", n_branches=7, seed=1)
    assert (p.n_customers, p.n_months) == (1234, 5)
    assert p.months.stop == Month(2026, 3)
    assert p.customer_ids[0] == "C0000001" and p.customer_ids[-1] == "C0001234"
    assert np.all(p.customer_ids[1:] > p.customer_ids[:-1])
    assert set(p.branch_ids.tolist()) <= {f"B{i:03d}" for i in range(1, 8)}
    assert p.household_ids is None
    assert generate(10, households=True).household_ids is not None
    assert generate(0).n_customers == 0


def test_exact_int64(big: Portfolio) -> None:
    for c in ("deposits", "wealth", "investments", "mortgage_loan", "credit_loan", "card_spend"):
        a = getattr(big, c)
        assert a.dtype == np.int64 and a.min() >= 0 and not a.flags.writeable


def test_aum_distribution(big: Portfolio) -> None:
    a = big.aum()[:, -1] // 100
    assert np.mean(a < 50_000) > 0.5
    assert 0.01 <= np.mean(a >= 500_000) <= 0.03
    assert 0.0005 <= np.mean(a >= 5_000_000) <= 0.002
    s = np.sort(a)[::-1]
    assert s[: len(s) // 5].sum() / s.sum() >= 0.9


def test_dynamics_history_loans_cards(big: Portfolio) -> None:
    hs = big.history_start
    assert 0.01 <= np.mean(hs > 0) <= 0.03
    cols = np.arange(big.n_months)
    before = cols[None, :] < hs[:, None]
    assert not big.aum()[before].any()
    m = big.mortgage_loan[:, -1] // 100
    assert 0.10 <= np.mean(m > 0) <= 0.15
    assert np.any((m >= 1_500_000) & (m < 5_000_000)) and np.any(m >= 5_000_000)
    c = big.credit_loan[:, -1] // 100
    assert 0.02 <= np.mean(c > 0) <= 0.07
    assert np.any((c >= 300_000) & (c < 600_000)) and np.any(c >= 600_000)
    lv = np.bincount(big.card_level[:, -1], minlength=5) / big.n_customers
    assert lv[4] > 0 and lv[4] < 0.002 and lv[1] > lv[2] > lv[3] > lv[4]
    # customers falling below the platinum floor after holding it: lapses exist
    aum = big.aum()
    fell = (aum[:, :-1] >= 50_000_000).any(axis=1) & (aum[:, -1] < 50_000_000)
    assert np.mean(fell) > 0.001
    assert len(set(big.branch_ids.tolist())) == 20


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        generate(-1)
    with pytest.raises(ValueError):
        generate(10, months=0)
    with pytest.raises(TypeError):
        generate(1.5)  # type: ignore[arg-type]
