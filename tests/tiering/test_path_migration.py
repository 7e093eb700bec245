"""Tier paths over time, migration matrices, and the result's conversions and displays.

Paths and migrations are checked against the scalar reference and hand-computed
SPEC section 8 cases, not only against ``evaluate()`` (which shares their kernel)."""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from custvalue import Month, Portfolio, default_policy, evaluate
from custvalue.policy import Policy, compile_policy
from custvalue.synthetic import generate
from custvalue.tiering import RESULT_COLUMNS, evaluate_path, reference_evaluate, tier_migration

YUAN = 100
FLOORS = [10_000_000 * YUAN, 5_000_000 * YUAN, 500_000 * YUAN, 200_000 * YUAN]


def volatile(seed: int, n: int = 60, t: int = 20) -> Portfolio:
    """AUM jumping between values near the floors, loans and cards at band edges,
    and some customers with a late history start."""
    rng = np.random.default_rng(seed)
    levels = np.array([0, *FLOORS, *(f - 1 for f in FLOORS), *(f * 2 for f in FLOORS)])
    aum = rng.choice(levels, size=(n, t))
    # runs: keep the previous month's value most of the time
    keep = rng.random((n, t)) < 0.7
    for j in range(1, t):
        aum[:, j] = np.where(keep[:, j], aum[:, j - 1], aum[:, j])
    credit = rng.choice([0, 300_000 * YUAN, 600_000 * YUAN - 1, 600_000 * YUAN], size=(n, t))
    mortgage = rng.choice([0, 0, 1_500_000 * YUAN, 5_000_000 * YUAN], size=(n, t))
    card = rng.choice([0, 0, 0, 4], size=(n, t)).astype(np.int8)
    spend = rng.choice([0, 0, 10_000 * YUAN, 50_000 * YUAN], size=(n, t))
    hs = np.where(rng.random(n) < 0.3, rng.integers(0, t, size=n), 0)
    before = np.arange(t)[None, :] < hs[:, None]
    for a in (aum, credit, mortgage, card, spend):
        a[before] = 0
    return Portfolio.from_arrays(
        customer_ids=[f"V{i:03d}" for i in range(n)],
        branch_ids=["B"] * n,
        start="2025-03",
        deposits=aum,
        credit_loan=credit,
        mortgage_loan=mortgage,
        card_level=card,
        card_spend=spend,
        history_start=hs,
    )


PORTFOLIOS = {
    "volatile-1": lambda: volatile(1),
    "volatile-2": lambda: volatile(2, n=25, t=16),
    "synthetic": lambda: generate(300, months=20, seed=3),
}


@pytest.mark.parametrize("name", PORTFOLIOS)
def test_path_equals_month_by_month(name: str) -> None:
    p = PORTFOLIOS[name]()
    cp = compile_policy(default_policy())
    path = evaluate_path(p, cp)
    assert path.months == tuple(p.months)
    assert path.tier_codes.shape == (p.n_customers, p.n_months)
    hs = p.history_start.astype(int)
    for j, m in enumerate(p.months):
        r = evaluate(p, cp, as_of=m)
        has = hs <= j
        assert path.tier_codes[has, j].tolist() == r.tier_codes[has].tolist(), m
        assert path.status_codes[has, j].tolist() == r.status_codes[has].tolist(), m
        # no tier in a month before the customer's history
        assert (path.tier_codes[~has, j] == -1).all()
        # the previous tier of an evaluation is the path's previous month
        if j:
            prev = np.where(hs <= j - 1, path.tier_codes[:, j - 1], -1)
            assert r.previous_tier_codes[has].tolist() == prev[has].tolist()


def test_path_subrange_and_chunks() -> None:
    p = volatile(3)
    whole = evaluate_path(p)
    part = evaluate_path(p, first="2025-10", last="2026-02", chunk_size=7)
    assert part.months[0] == Month(2025, 10) and len(part.months) == 5
    c = whole.column("2025-10")
    assert part.tier_codes.tolist() == whole.tier_codes[:, c : c + 5].tolist()
    assert part.status_codes.tolist() == whole.status_codes[:, c : c + 5].tolist()
    assert "TierPath" in repr(part)


@pytest.mark.parametrize("name", PORTFOLIOS)
@pytest.mark.parametrize(("f", "t"), [(-2, -1), (-13, -1), (0, -1), (-1, -6)])
def test_tier_migration_adds_up(name: str, f: int, t: int) -> None:
    p = PORTFOLIOS[name]()
    fm, tm = p.months[p.n_months + f if f < 0 else f], p.months[p.n_months + t]
    m = tier_migration(p, None, fm, tm)
    assert int(m.counts.sum()) == p.n_customers
    to_aum = p.aum()[:, p.months.index(tm)]
    assert int(m.aum.sum()) == int(to_aum.sum())
    # the matrix is the pair of tiers at the two months
    path = evaluate_path(p)
    a, b = path.tier_codes[:, path.column(fm)], path.tier_codes[:, path.column(tm)]
    k = len(m.labels)
    a = np.where(a < 0, k - 1, a)
    b = np.where(b < 0, k - 1, b)
    want = np.zeros((k, k), dtype=np.int64)
    want_aum = np.zeros((k, k), dtype=np.int64)
    np.add.at(want, (a, b), 1)
    np.add.at(want_aum, (a, b), to_aum)
    assert m.counts.tolist() == want.tolist()
    assert m.aum.tolist() == want_aum.tolist()
    assert (m.from_label, m.to_label) == (str(fm), str(tm))
    assert m.labels[-1] == "(none)"
    text = m.text()
    assert str(fm) in text and "platinum" in text
    assert "," in m.text(values="aum") or int(m.aum.max()) < 100_000
    df = m.to_pandas()
    assert df.to_numpy().tolist() == m.counts.tolist()


# --------------------------------------------------------------------------- scalar reference
#
# ``evaluate()`` shares ``_kernel.month_state`` with ``evaluate_path`` and
# ``tier_migration``, so the checks above cannot see a kernel bug.  The checks
# below compare with the scalar reference (``reference_evaluate``, plain Python
# written from SPEC section 3) and with hand-computed SPEC section 8 cases.

POLICY = default_policy()
LABELS = (*POLICY.tier_order, "(none)")
REF_COLUMNS = (
    "deposits",
    "wealth",
    "investments",
    "mortgage_loan",
    "credit_loan",
    "card_spend",
    "card_level",
)


def reference_path(p: Portfolio, policy: Policy = POLICY) -> tuple[list[list[str]], list[list[str]]]:
    """Tier names ("" = no tier) and status names of every customer in every month, from
    ``reference_evaluate`` called once per customer-month."""
    tiers, statuses = [], []
    for i in range(p.n_customers):
        cols = {c: [int(v) for v in p.column(c)[i]] for c in REF_COLUMNS}
        hs = int(p.history_start[i])
        rows = [reference_evaluate(policy, cols, hs, j) for j in range(p.n_months)]
        tiers.append([r["tier"] or "" for r in rows])
        statuses.append([r["status"] for r in rows])
    return tiers, statuses


def reference_migration(
    p: Portfolio, ref_tiers: list[list[str]], fj: int, tj: int, policy: Policy = POLICY
) -> tuple[list[list[int]], list[list[int]]]:
    """Counts and AUM (fen, Python ints, at month ``tj``) by (tier at ``fj``, tier at ``tj``)."""
    k = len(LABELS)
    counts = [[0] * k for _ in range(k)]
    aum = [[0] * k for _ in range(k)]
    for i in range(p.n_customers):
        a = LABELS.index(ref_tiers[i][fj] or "(none)")
        b = LABELS.index(ref_tiers[i][tj] or "(none)")
        counts[a][b] += 1
        aum[a][b] += sum(int(p.column(c)[i][tj]) for c in policy.aum)
    return counts, aum


VOLATILE = {
    "volatile-1": lambda: volatile(1),
    "volatile-2": lambda: volatile(2, n=25, t=16),
    "volatile-3": lambda: volatile(3),
}


@functools.cache
def _volatile_with_reference(name: str) -> tuple[Portfolio, list[list[str]], list[list[str]]]:
    p = VOLATILE[name]()
    return (p, *reference_path(p))


def _check_path(
    p: Portfolio,
    ref_tiers: list[list[str]],
    ref_statuses: list[list[str]],
    i0: int,
    i1: int,
    chunk_size: int | None,
) -> None:
    kw: dict[str, Any] = {} if chunk_size is None else {"chunk_size": chunk_size}
    path = evaluate_path(p, POLICY, first=p.months[i0], last=p.months[i1], **kw)
    assert path.months == tuple(p.months[j] for j in range(i0, i1 + 1))
    got_t, got_s = path.tiers().tolist(), path.statuses().tolist()
    for i in range(p.n_customers):
        assert got_t[i] == ref_tiers[i][i0 : i1 + 1], (str(p.customer_ids[i]), i0, i1, chunk_size)
        assert got_s[i] == ref_statuses[i][i0 : i1 + 1], (str(p.customer_ids[i]), i0, i1, chunk_size)
    # no tier exactly in the months before a customer's history start
    hs = p.history_start.astype(int)
    months = np.arange(i0, i1 + 1)
    assert ((path.tier_codes < 0) == (months[None, :] < hs[:, None])).all()


@pytest.mark.parametrize("name", VOLATILE)
@pytest.mark.parametrize(
    ("first", "last", "chunk_size"),
    [
        (0, -1, None),  # the whole month axis, default chunk
        (0, -1, 1),  # one customer per block
        (0, -1, 7),
        (7, 13, 3),  # a subrange: its window reaches before `first`
        (13, 13, 4),  # one month
        (0, 0, 2),  # the first month only (no history before it)
        (-1, -1, 25),  # the last month only
    ],
)
def test_path_equals_reference_every_month(name: str, first: int, last: int, chunk_size: int | None) -> None:
    p, ref_tiers, ref_statuses = _volatile_with_reference(name)
    i0, i1 = first % p.n_months, last % p.n_months
    _check_path(p, ref_tiers, ref_statuses, i0, i1, chunk_size)


AUM_LEVELS = [0, *(f + d for f in FLOORS for d in (-1, 0, 1))]
CREDIT_LEVELS = [0, 300_000 * YUAN - 1, 300_000 * YUAN, 600_000 * YUAN - 1, 600_000 * YUAN]
MORTGAGE_LEVELS = [0, 1_500_000 * YUAN - 1, 1_500_000 * YUAN, 5_000_000 * YUAN - 1, 5_000_000 * YUAN]
# monthly spend whose 12-month sum lands just below / at or above 100,000 and 500,000 yuan
SPEND_LEVELS = [0, 8_333_33, 8_333_34, 41_666_66, 41_666_67, 100_000 * YUAN, 500_000 * YUAN - 1]
CARD_CODES = [0, 0, 1, 2, 3, 4, 4]  # 4 = diamond


def _runs(values: list[int], t: int) -> st.SearchStrategy[list[int]]:
    """``t`` monthly values made of a few runs (long runs reach the lapse at W + 1)."""
    segment = st.tuples(st.sampled_from(values), st.integers(1, t))
    return st.lists(segment, min_size=1, max_size=4).map(
        lambda segs: ([v for v, n in segs for _ in range(n)] + [segs[-1][0]] * t)[:t]
    )


@st.composite
def _aum_series(draw: st.DrawFn, t: int) -> list[int]:
    """AUM at the floors ± 1 fen: a few runs, or one drop from a floor (or above) to below it,
    the shape that walks a tier through observation and attention to its lapse."""
    top = draw(st.sampled_from(FLOORS), label="highest floor")  # lower tiers get a chance
    levels = [v for v in AUM_LEVELS if v <= top + 1]
    if draw(st.booleans(), label="drop"):
        hi = draw(st.sampled_from([top, top + 1]), label="before the drop")
        lo = draw(st.sampled_from([v for v in levels if v < top]), label="after the drop")
        at = draw(st.integers(0, t - 1), label="drop month")
        return [hi] * at + [lo] * (t - at)
    return draw(_runs(levels, t), label="runs")


def _mostly_zero(values: list[int], t: int) -> st.SearchStrategy[list[int]]:
    """Runs of ``values``, or all zero two times in three (so that AUM decides often)."""
    return st.one_of(st.just([0] * t), st.just([0] * t), _runs(values, t))


@st.composite
def small_portfolios(draw: st.DrawFn) -> Portfolio:
    """A few customers × up to 16 months: AUM at the floors ± 1 fen split over the AUM
    classes, loans, spend and cards at band edges, and late history starts."""
    n = draw(st.integers(1, 4), label="n")
    t = draw(st.integers(1, 16), label="T")
    cols: dict[str, list[list[int]]] = {c: [] for c in REF_COLUMNS}
    hs = []
    for _ in range(n):
        h = draw(st.one_of(st.just(0), st.integers(0, t - 1)), label="history_start")
        total = draw(_aum_series(t), label="aum")
        wf, inf = draw(st.tuples(st.integers(0, 4), st.integers(0, 4)), label="split")
        wealth = [v * wf // 4 for v in total]
        invest = [(v - w) * inf // 4 for v, w in zip(total, wealth, strict=True)]
        row = {
            "deposits": [v - w - x for v, w, x in zip(total, wealth, invest, strict=True)],
            "wealth": wealth,
            "investments": invest,
        }
        aum_only = draw(st.booleans(), label="AUM only")  # status and churn need AUM to decide
        for c, levels in [
            ("mortgage_loan", MORTGAGE_LEVELS),
            ("credit_loan", CREDIT_LEVELS),
            ("card_spend", SPEND_LEVELS),
            ("card_level", CARD_CODES),
        ]:
            row[c] = [0] * t if aum_only else draw(_mostly_zero(levels, t), label=c)
        for c, values in row.items():
            cols[c].append([0] * h + values[h:])  # cells before the history start are zero
        hs.append(h)
    arrays: dict[str, Any] = {c: np.array(v, dtype=np.int64) for c, v in cols.items()}
    arrays["card_level"] = arrays["card_level"].astype(np.int8)
    return Portfolio.from_arrays(
        customer_ids=[f"H{i}" for i in range(n)],
        branch_ids=["B"] * n,
        start="2025-07",
        history_start=hs,
        **arrays,
    )


SMALL = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@SMALL
@given(p=small_portfolios(), data=st.data())
def test_path_equals_reference_small_portfolios(p: Portfolio, data: st.DataObject) -> None:
    ref_tiers, ref_statuses = reference_path(p)
    _check_path(p, ref_tiers, ref_statuses, 0, p.n_months - 1, None)
    i0 = data.draw(st.integers(0, p.n_months - 1), label="first")
    i1 = data.draw(st.integers(i0, p.n_months - 1), label="last")
    chunk = data.draw(st.integers(1, 5), label="chunk_size")
    _check_path(p, ref_tiers, ref_statuses, i0, i1, chunk)


@SMALL
@given(p=small_portfolios(), data=st.data())
def test_migration_equals_reference_small_portfolios(p: Portfolio, data: st.DataObject) -> None:
    ref_tiers, _ = reference_path(p)
    fj = data.draw(st.integers(0, p.n_months - 1), label="from")
    tj = data.draw(st.integers(0, p.n_months - 1), label="to")  # before, at or after `from`
    m = tier_migration(p, POLICY, p.months[fj], p.months[tj])
    counts, aum = reference_migration(p, ref_tiers, fj, tj)
    assert m.labels == LABELS
    assert m.counts.tolist() == counts
    assert m.aum.tolist() == aum


@pytest.mark.parametrize("name", VOLATILE)
@pytest.mark.parametrize(("f", "t"), [(-2, -1), (0, -1), (-1, 0), (-1, -7), (5, 12), (9, 9)])
def test_migration_equals_reference(name: str, f: int, t: int) -> None:
    p, ref_tiers, _ = _volatile_with_reference(name)
    fj, tj = f % p.n_months, t % p.n_months
    m = tier_migration(p, POLICY, p.months[fj], p.months[tj])
    counts, aum = reference_migration(p, ref_tiers, fj, tj)
    assert m.labels == LABELS
    assert (m.from_label, m.to_label) == (str(p.months[fj]), str(p.months[tj]))
    assert m.counts.tolist() == counts
    assert m.aum.tolist() == aum
    # the "(none)" row (column) is exercised: customers whose history starts later
    if fj == 0:
        assert sum(counts[-1]) > 0
    if tj == 0:
        assert sum(row[-1] for row in counts) > 0


# --------------------------------------------------------------------------- hand-computed


def test_path_of_example_4_by_hand() -> None:
    """SPEC 8 example 4: 600,000 until 2026-03, 300,000 from 2026-04 (k counts from 2026-04)."""
    aum = np.array([[600_000 * YUAN] * 8 + [300_000 * YUAN] * 7], dtype=np.int64)
    p = Portfolio.from_arrays(customer_ids=["A"], branch_ids=["B"], start="2025-08", deposits=aum)
    expected = [
        ("2025-08", "platinum", "normal"),
        ("2025-09", "platinum", "normal"),
        ("2025-10", "platinum", "normal"),
        ("2025-11", "platinum", "normal"),
        ("2025-12", "platinum", "normal"),
        ("2026-01", "platinum", "normal"),
        ("2026-02", "platinum", "normal"),
        ("2026-03", "platinum", "normal"),
        ("2026-04", "platinum", "observation"),  # k = 1
        ("2026-05", "platinum", "observation"),  # k = 2
        ("2026-06", "platinum", "observation"),  # k = 3
        ("2026-07", "platinum", "attention"),  # k = 4
        ("2026-08", "platinum", "attention"),  # k = 5
        ("2026-09", "platinum", "attention"),  # k = 6: 2026-03 is still in the 6+1 window
        ("2026-10", "gold", "normal"),  # k = 7: platinum lapses; 300,000 ≥ 200,000
    ]
    path = evaluate_path(p)
    assert [str(m) for m in path.months] == [m for m, _, _ in expected]
    assert path.tiers().tolist() == [[t for _, t, _ in expected]]
    assert path.statuses().tolist() == [[s for _, _, s in expected]]
    part = evaluate_path(p, None, first="2026-06", last="2026-10", chunk_size=1)
    assert part.tiers().tolist() == [[t for _, t, _ in expected[10:]]]
    assert part.statuses().tolist() == [[s for _, _, s in expected[10:]]]


def test_path_of_example_7_by_hand() -> None:
    """SPEC 8 example 7: 12,000,000 until 2025-10, 9,000,000 from 2025-11, up to 2026-11."""
    aum = np.array([[12_000_000 * YUAN] * 3 + [9_000_000 * YUAN] * 13], dtype=np.int64)
    p = Portfolio.from_arrays(customer_ids=["A"], branch_ids=["B"], start="2025-08", deposits=aum)
    expected = [
        ("2025-08", "core", "normal"),
        ("2025-09", "core", "normal"),
        ("2025-10", "core", "normal"),
        ("2025-11", "core", "observation"),  # k = 1
        ("2025-12", "core", "observation"),
        ("2026-01", "core", "observation"),
        ("2026-02", "core", "observation"),
        ("2026-03", "core", "observation"),
        ("2026-04", "core", "observation"),  # k = 6
        ("2026-05", "core", "attention"),  # k = 7
        ("2026-06", "core", "attention"),
        ("2026-07", "core", "attention"),
        ("2026-08", "core", "attention"),
        ("2026-09", "core", "attention"),
        ("2026-10", "core", "attention"),  # k = 12: 2025-10 is still in the 12+1 window
        ("2026-11", "growth", "normal"),  # k = 13: core lapses; 9,000,000 ≥ 5,000,000
    ]
    path = evaluate_path(p)
    assert [str(m) for m in path.months] == [m for m, _, _ in expected]
    assert path.tiers().tolist() == [[t for _, t, _ in expected]]
    assert path.statuses().tolist() == [[s for _, _, s in expected]]


def _hand_portfolio() -> Portfolio:
    """2025-08 .. 2026-10 (15 months); tiers at 2026-09 / 2026-10 worked out in the test."""
    t = 15
    y = YUAN
    deposits = np.array(
        [
            [600_000 * y] * 8 + [300_000 * y] * 7,  # A: example 4, platinum -> gold (lapse)
            [500_000 * y] * t,  # B: example 1, platinum -> platinum
            [0] * 14 + [700_000 * y],  # C: new in 2026-10: (none) -> platinum
            [499_999_99] * t,  # D: example 2, gold -> gold
            [50_000 * y] * t,  # E: credit loan 600,000 then 599,999.99
            [0] * t,  # F: potential -> potential
            [100_000 * y] * 14 + [600_000 * y],  # G: potential -> platinum (upgrade)
            [10_000 * y] * t,  # H: mortgage 5,000,000: growth -> growth
        ],
        dtype=np.int64,
    )
    credit = np.zeros_like(deposits)
    credit[4] = [600_000 * y] * 14 + [599_999_99]
    mortgage = np.zeros_like(deposits)
    mortgage[7] = 5_000_000 * y
    return Portfolio.from_arrays(
        customer_ids=list("ABCDEFGH"),
        branch_ids=["X"] * 8,
        start="2025-08",
        deposits=deposits,
        credit_loan=credit,
        mortgage_loan=mortgage,
        history_start=[0, 0, 14, 0, 0, 0, 0, 0],
    )


def test_migration_by_hand() -> None:
    p = _hand_portfolio()
    m = tier_migration(p, None, "2026-09", "2026-10")
    assert m.labels == ("core", "growth", "platinum", "gold", "potential", "(none)")
    assert m.counts.tolist() == [
        # core growth plat gold pot (none)       from 2026-09 (rows) to 2026-10 (columns)
        [0, 0, 0, 0, 0, 0],  # core
        [0, 1, 0, 0, 0, 0],  # growth: H
        [0, 0, 1, 2, 0, 0],  # platinum: B; A (lapse), E (credit loan)
        [0, 0, 0, 1, 0, 0],  # gold: D
        [0, 0, 1, 0, 1, 0],  # potential: G; F
        [0, 0, 1, 0, 0, 0],  # (none): C
    ]
    y = YUAN
    assert m.aum.tolist() == [  # fen at 2026-10
        [0, 0, 0, 0, 0, 0],
        [0, 10_000 * y, 0, 0, 0, 0],
        [0, 0, 500_000 * y, 350_000 * y, 0, 0],  # A 300,000 + E 50,000
        [0, 0, 0, 499_999_99, 0, 0],
        [0, 0, 600_000 * y, 0, 0, 0],
        [0, 0, 700_000 * y, 0, 0, 0],
    ]


def test_migration_backwards_by_hand() -> None:
    """from_month after to_month: rows are 2026-10, columns 2026-09, AUM at 2026-09."""
    p = _hand_portfolio()
    m = tier_migration(p, None, "2026-10", "2026-09")
    assert (m.from_label, m.to_label) == ("2026-10", "2026-09")
    assert m.counts.tolist() == [
        [0, 0, 0, 0, 0, 0],  # core
        [0, 1, 0, 0, 0, 0],  # growth: H
        [0, 0, 1, 0, 1, 1],  # platinum: B; G; C (no tier in 2026-09)
        [0, 0, 2, 1, 0, 0],  # gold: A, E; D
        [0, 0, 0, 0, 1, 0],  # potential: F
        [0, 0, 0, 0, 0, 0],  # (none)
    ]
    y = YUAN
    assert m.aum.tolist() == [
        [0, 0, 0, 0, 0, 0],
        [0, 10_000 * y, 0, 0, 0, 0],
        [0, 0, 500_000 * y, 0, 100_000 * y, 0],  # C had no data in 2026-09: 0
        [0, 0, 350_000 * y, 499_999_99, 0, 0],
        [0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0],
    ]


# --------------------------------------------------------------------------- conversions


def _docstring_portfolio() -> Portfolio:
    aum = np.full((3, 14), 612_345_00, dtype=np.int64)
    aum[0, -4:] = 300_000_00
    credit = np.zeros_like(aum)
    credit[2] = 600_000 * YUAN
    aum[2] = 0
    return Portfolio.from_arrays(
        customer_ids=["A", "B", "C"], branch_ids=["X"] * 3, start="2025-09", deposits=aum, credit_loan=credit
    )


def test_to_pandas_and_arrow() -> None:
    r = evaluate(volatile(4))
    df = r.to_pandas()
    assert tuple(df.columns) == (*RESULT_COLUMNS, "aum_fen")
    assert df["aum_fen"].tolist() == r.aum_fen.tolist()
    assert [str(v) for v in df["aum"].tolist()] == [f"{v // 100}.{v % 100:02d}" for v in r.aum_fen.tolist()]
    assert len(df) == len(r)
    assert df["tier"].astype(str).tolist() == r.tiers().tolist()
    assert df["months_below"].tolist() == r.months_below.tolist()
    assert df["history_complete"].tolist() == r.history_complete.tolist()
    assert df["customer_id"].tolist() == r.customer_ids.tolist()
    assert set(df["as_of"]) == {str(r.as_of)}
    for i in range(len(r)):
        assert df["reasons"][i] == ";".join(r.reasons_at(i))
    tbl = r.to_arrow()
    assert tuple(tbl.column_names) == RESULT_COLUMNS
    assert tbl.num_rows == len(r)
    assert tbl.column("tier").to_pylist() == r.tiers().tolist()
    assert tbl.column("movement").to_pylist() == r.movements().tolist()
    assert tbl.column("churned_tier").to_pylist() == r.churned_tiers().tolist()


def test_repr_html_summary() -> None:
    r = evaluate(_docstring_portfolio())
    text = repr(r)
    assert "TierResult" in text and "3 customers" in text and "platinum=3" in text
    h = r._repr_html_()
    assert h.startswith("<div>") and "<table>" in h and "platinum" in h and "attention: 1" in h
    s = r.summary()
    for word in ("platinum", "potential", "attention 1", "entered_attention", "sms_rm"):
        assert word in s, word
    assert "912,345.00" in s  # AUM at the as-of month: 300,000.00 + 612,345.00 + 0


def test_explain_text() -> None:
    r = evaluate(_docstring_portfolio())
    ex = r.explain("A")
    assert (ex.tier, ex.status, ex.months_below, ex.movement) == ("platinum", "attention", 4, "same")
    text = str(ex)
    assert text == ex.text
    assert "platinum.aum" in text
    assert "612,345.00" in text and "500,000.00" in text
    assert "k = 4" in text
    assert "entered_attention" in text
    assert [t.rule_id for t in ex.decided_by] == ["platinum.aum"]
    assert [t.rule_id for t in ex.rules] == list(r.compiled.rule_ids)
    assert all(
        t.matched == (t.rule_id in {"platinum.aum", "gold.aum", "potential.default"}) for t in ex.rules
    )
    # a tier held through a loan names that rule and the loan amount
    c = str(r.explain("C"))
    assert "platinum.credit_loan" in c and "600,000.00" in c
    # a customer in normal status
    b = r.explain("B")
    assert b.status == "normal" and "normal" in b.text


def test_explain_churn_and_new() -> None:
    aum = np.array([[600_000 * YUAN] * 8 + [300_000 * YUAN] * 7, [0] * 14 + [700_000 * YUAN]], dtype=np.int64)
    p = Portfolio.from_arrays(
        customer_ids=["A", "N"], branch_ids=["B"] * 2, start="2025-08", deposits=aum, history_start=[0, 14]
    )
    r = evaluate(p)
    a = r.explain("A")
    assert a.churned_tier == "platinum" and a.previous_tier == "platinum"
    assert "churned platinum" in a.text and "gold.aum" in a.text and "300,000.00" in a.text
    n = r.explain("N")
    assert n.movement == "new" and n.previous_tier is None
    assert "history incomplete" in n.text and "700,000.00" in n.text


def test_what_if_floor_change_moves_the_explained_customer() -> None:
    p = _docstring_portfolio()
    new = default_policy().with_tier("platinum", aum_floor=Decimal("612345.01"))
    r = evaluate(p, new)
    assert r.row("B")["tier"] == "gold"
    text = str(r.explain("B"))
    assert "gold.aum" in text and "612,345.00" in text


def test_migration_matrix_renders_in_notebooks() -> None:
    import numpy as np

    from custvalue import migration_matrix

    m = migration_matrix(
        np.array([0, 1, -1]),
        np.array([1, 1, 0]),
        np.array([100, 250, 7]),
        ("a", "b"),
        from_label="x",
        to_label="y",
    )
    assert m.counts.tolist() == [[0, 1, 0], [0, 1, 0], [1, 0, 0]]
    assert m.aum.tolist() == [[0, 100, 0], [0, 250, 0], [7, 0, 0]]
    html = m._repr_html_()
    assert "<table>" in html and "(none)" in html and "2.50 yuan" in html
    assert "x → y" in repr(m)


def test_event_table_frames_and_displays() -> None:
    r = evaluate(generate(3000, seed=5))
    ev = r.events
    assert len(ev) > 0
    df = ev.to_pandas()
    assert list(df.columns) == ["customer_id", "event", "actions"]
    assert len(df) == len(ev)
    assert df["customer_id"].tolist() == r.customer_ids[ev.customer_index].tolist()
    assert df["event"].astype(str).tolist() == ev.names().tolist()
    for name, actions in zip(df["event"].astype(str), df["actions"], strict=True):
        assert actions == ";".join(r.policy.actions(name))
    text = repr(ev)
    for name, count in ev.counts().items():
        if count:
            assert f"{name}={count:,}" in text
    page = ev._repr_html_()
    assert page.count("<tr>") == 1 + len(ev.counts()) and "start_retention_workflow" in page
    assert repr(evaluate(generate(50, seed=5), previous=False).events) == "<EventTable: 0 events>"


def test_tier_path_frames_and_displays() -> None:
    p = volatile(7)
    path = evaluate_path(p, first=p.months[-3])
    df = path.to_pandas()
    have = path.tier_codes >= 0
    assert len(df) == int(have.sum())
    assert list(df.columns) == ["customer_id", "month", "tier", "status"]
    i, j = np.argwhere(have)[-1]
    last = df.iloc[-1]
    assert (last["customer_id"], last["month"]) == (p.customer_ids[i], str(path.months[j]))
    assert str(last["tier"]) == path.tiers()[i, j] and str(last["status"]) == path.statuses()[i, j]
    counts = path.counts()
    assert counts.sum(axis=0).tolist() == have.sum(axis=0).tolist()
    page = path._repr_html_()
    assert page.count("<tr>") == 1 + len(default_policy().tier_order)
    assert page.count("<th>") == 1 + 3 + len(default_policy().tier_order)  # tier, 3 months, row heads


def test_result_html_shows_aum_share_next_to_counts() -> None:
    aum = np.full((2, 14), 500_000_00)
    aum[1] = 100_000_00
    p = Portfolio.from_arrays(customer_ids=["A", "B"], branch_ids=["X", "X"], start="2025-09", deposits=aum)
    page = evaluate(p)._repr_html_()
    assert "<th>AUM share</th>" in page
    assert "<td>platinum</td><td>1</td><td>50.0%</td><td>500,000.00</td><td>83.3%</td>" in page
    assert "<td>potential</td><td>1</td><td>50.0%</td><td>100,000.00</td><td>16.7%</td>" in page
