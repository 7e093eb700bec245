"""Property tests of tier evaluation (SPEC section 3 and 9, "Correctness").

* every default threshold at its bound and one fen either side;
* ``k`` at every band edge, the lapse / churn at ``W + 1``, and the window edge
  (a peak exactly ``W`` months back counts, ``W + 1`` does not);
* monotonicity in AUM, independence of customers, row order and chunking;
* the vectorised engine agrees with the scalar reference
  (:func:`custvalue.tiering.reference_evaluate`) on random small
  portfolios, under the default policy and under randomly changed policies;
* ``history_complete`` and new customers.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import attrs
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from numpy.typing import NDArray

from custvalue import Month, Portfolio, default_policy, evaluate
from custvalue.policy import Policy, StatusBand, compile_policy
from custvalue.tiering import TierResult, evaluate_chunks, reference_evaluate

POLICY = default_policy()
CP = compile_policy(POLICY)
TIERS = POLICY.tier_order  # core, growth, platinum, gold, potential
START = Month(2025, 1)
YUAN = 100
COLUMNS = ("deposits", "wealth", "investments", "mortgage_loan", "credit_loan", "card_spend", "card_level")
MONEY = COLUMNS[:-1]

FAST = settings(max_examples=25, deadline=None)
MEDIUM = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
SLOW = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


# --------------------------------------------------------------------------- helpers


def make(
    n_months: int,
    *,
    n: int | None = None,
    history_start: Sequence[int] | None = None,
    **cols: Any,
) -> Portfolio:
    """A portfolio from (n, T) arrays (or 1-d rows for one customer)."""
    arrays = {k: np.atleast_2d(np.asarray(v)) for k, v in cols.items()}
    if n is None:
        n = next(iter(arrays.values())).shape[0] if arrays else 1
    if not arrays:
        arrays["deposits"] = np.zeros((n, n_months), np.int64)
    for a in arrays.values():
        assert a.shape == (n, n_months), a.shape
    hs = None if history_start is None else np.asarray(history_start, dtype=np.int16)
    return Portfolio.from_arrays(
        customer_ids=[f"C{i:03d}" for i in range(n)],
        branch_ids=["B"] * n,
        start=START,
        history_start=hs,
        **arrays,
    )


def one(result: TierResult, i: int = 0) -> dict[str, Any]:
    return result.row(str(result.customer_ids[i]))


def key(row: dict[str, Any]) -> dict[str, Any]:
    """A row without its customer id (to compare customers across portfolios)."""
    return {k: v for k, v in row.items() if k != "customer_id"}


def rows_by_id(result: TierResult) -> dict[str, dict[str, Any]]:
    return {str(c): key(result.row(str(c))) for c in result.customer_ids}


def last(p: Portfolio) -> Month:
    return p.months.stop


# floors in fen of the default policy, with the next tier down
AUM_EDGES = [
    ("core", 10_000_000 * YUAN, "growth"),
    ("growth", 5_000_000 * YUAN, "platinum"),
    ("platinum", 500_000 * YUAN, "gold"),
    ("gold", 200_000 * YUAN, "potential"),
]
FLOOR = {t: f for t, f, _ in AUM_EDGES}
LOWER = {t: lo for t, _, lo in AUM_EDGES}
WINDOW = {"core": 12, "growth": 12, "platinum": 6, "gold": 6}


def band_status(tier: str, k: int) -> str:
    """Status of k months below the floor, from the SPEC table."""
    if k == 0:
        return "normal"
    if tier in ("core", "growth"):
        return "observation" if k <= 6 else "attention"
    return "observation" if k <= 3 else "attention"


# --------------------------------------------------------------------------- thresholds


@pytest.mark.parametrize(("tier", "floor", "lower"), AUM_EDGES)
@pytest.mark.parametrize("delta", [-1, 0, 1])
@FAST
@given(cut=st.tuples(st.integers(0, 1000), st.integers(0, 1000)))
def test_aum_floor_edges_constant_aum(
    tier: str, floor: int, lower: str, delta: int, cut: tuple[int, int]
) -> None:
    """Constant AUM at floor - 1 fen / floor / floor + 1 fen, split over the AUM classes."""
    total = floor + delta
    a, b = sorted(cut)
    wealth = total * a // 1000
    invest = total * b // 1000 - wealth
    deposits = total - wealth - invest
    t = 14
    p = make(t, deposits=[[deposits] * t], wealth=[[wealth] * t], investments=[[invest] * t])
    row = one(evaluate(p))
    want = tier if delta >= 0 else lower
    assert row["tier"] == want
    assert row["status"] == "normal" and row["months_below"] == 0
    assert row["movement"] == "same" and row["churned_tier"] is None
    assert row["reasons"] == ([f"{want}.aum"] if want != "potential" else ["potential.default"])


def test_non_aum_columns_are_not_aum() -> None:
    """Loans and card spend are not assets: a huge mortgage gives growth by mortgage, not AUM."""
    t = 14
    p = make(t, deposits=[[0] * t], card_spend=[[0] * t], mortgage_loan=[[20_000_000 * YUAN] * t])
    assert one(evaluate(p))["reasons"] == ["growth.mortgage"]


@pytest.mark.parametrize(
    ("fen", "tier"),
    [
        (1_500_000 * YUAN - 1, "potential"),
        (1_500_000 * YUAN, "platinum"),
        (1_500_000 * YUAN + 1, "platinum"),
        (5_000_000 * YUAN - 1, "platinum"),
        (5_000_000 * YUAN, "growth"),
        (5_000_000 * YUAN + 1, "growth"),
    ],
)
def test_mortgage_bands(fen: int, tier: str) -> None:
    t = 14
    p = make(t, mortgage_loan=[[fen] * t])
    row = one(evaluate(p))
    assert row["tier"] == tier
    assert row["status"] == "normal" and row["months_below"] == 0
    if tier != "potential":
        assert row["reasons"] == [f"{tier}.mortgage"]


@pytest.mark.parametrize(
    ("fen", "tier"),
    [
        (300_000 * YUAN - 1, "potential"),
        (300_000 * YUAN, "gold"),
        (300_000 * YUAN + 1, "gold"),
        (600_000 * YUAN - 1, "gold"),
        (600_000 * YUAN, "platinum"),
        (600_000 * YUAN + 1, "platinum"),
    ],
)
def test_credit_loan_bands(fen: int, tier: str) -> None:
    t = 14
    p = make(t, credit_loan=[[fen] * t])
    row = one(evaluate(p))
    assert row["tier"] == tier
    if tier != "potential":
        assert row["reasons"] == [f"{tier}.credit_loan"]


@pytest.mark.parametrize("column", ["mortgage_loan", "credit_loan"])
def test_loans_are_read_at_the_as_of_month(column: str) -> None:
    """A loan that held last month but not now: a plain down, no churn."""
    t = 14
    bal = np.full((1, t), 6_000_000 * YUAN if column == "mortgage_loan" else 700_000 * YUAN)
    bal[0, -1] = 0
    p = make(t, **{column: bal})
    row = one(evaluate(p))
    prev = "growth" if column == "mortgage_loan" else "platinum"
    assert (row["tier"], row["previous_tier"], row["movement"], row["churned_tier"]) == (
        "potential",
        prev,
        "down",
        None,
    )
    assert row["events"] == ["tier_down"]
    # and the month before is evaluated on its own value
    assert one(evaluate(p, as_of=last(p) - 1))["tier"] == prev


@pytest.mark.parametrize(
    ("threshold", "tier", "below"),
    [(100_000 * YUAN, "platinum", "potential"), (500_000 * YUAN, "growth", "platinum")],
)
@pytest.mark.parametrize("delta", [-1, 0, 1])
@FAST
@given(weights=st.lists(st.integers(0, 5), min_size=12, max_size=12))
def test_card_spend_sum_edges(threshold: int, tier: str, below: str, delta: int, weights: list[int]) -> None:
    """Spend summed over the as-of month and the 11 before, at the threshold ± 1 fen."""
    total = threshold + delta
    w = np.asarray(weights, dtype=np.int64)
    if w.sum() == 0:
        w[-1] = 1
    parts = total * w // w.sum()
    parts[-1] += total - parts.sum()
    t = 16
    spend = np.zeros((1, t), np.int64)
    spend[0, t - 12 :] = parts
    row = one(evaluate(make(t, card_spend=spend)))
    assert row["tier"] == (tier if delta >= 0 else below)
    if delta >= 0:
        assert row["reasons"] == [f"{tier}.card_spend"]


@pytest.mark.parametrize("back", range(0, 15))
def test_card_spend_window_is_twelve_months(back: int) -> None:
    """A spend ``back`` months before the as-of month counts iff back <= 11."""
    t = 16
    spend = np.zeros((1, t), np.int64)
    spend[0, t - 1 - back] = 500_000 * YUAN
    row = one(evaluate(make(t, card_spend=spend)))
    assert row["tier"] == ("growth" if back <= 11 else "potential")


def test_card_spend_twelve_months_back_does_not_count_in_sum() -> None:
    """Eleven months of spend just below the threshold plus one fen 12 months back: below."""
    t = 16
    spend = np.zeros((1, t), np.int64)
    spend[0, t - 12 :] = 0
    spend[0, t - 1] = 100_000 * YUAN - 1
    spend[0, t - 13] = 1  # 12 months before: not in the window
    assert one(evaluate(make(t, card_spend=spend)))["tier"] == "potential"
    spend[0, t - 12] = 1  # 11 months before: in the window
    assert one(evaluate(make(t, card_spend=spend)))["tier"] == "platinum"


@pytest.mark.parametrize(
    ("level", "tier"),
    [
        ("none", "potential"),
        ("standard", "potential"),
        ("gold", "potential"),
        ("platinum", "potential"),
        ("diamond", "growth"),
    ],
)
def test_card_level(level: str, tier: str) -> None:
    t = 14
    row = one(evaluate(make(t, card_level=np.array([[level] * t]))))
    assert row["tier"] == tier


def test_card_level_read_at_as_of_month() -> None:
    t = 14
    lv = np.array([["diamond"] * (t - 1) + ["none"]])
    row = one(evaluate(make(t, card_level=lv)))
    assert (row["tier"], row["previous_tier"], row["movement"], row["churned_tier"]) == (
        "potential",
        "growth",
        "down",
        None,
    )
    lv = np.array([["none"] * (t - 1) + ["diamond"]])
    row = one(evaluate(make(t, card_level=lv)))
    assert (row["tier"], row["previous_tier"], row["movement"], row["events"]) == (
        "growth",
        "potential",
        "up",
        ["tier_up"],
    )


# --------------------------------------------------------------------------- k and the window


def _amounts(tier: str) -> tuple[st.SearchStrategy[int], st.SearchStrategy[int]]:
    """(at or above the floor, below the floor but at or above the next floor down)."""
    floor = FLOOR[tier]
    lo = FLOOR.get(LOWER[tier], 0)
    higher = {v: k for k, v in LOWER.items()}.get(tier)
    hi = FLOOR[higher] - 1 if higher else floor * 3
    return st.integers(floor, hi), st.integers(lo, floor - 1)


K_CASES = [(t, k) for t in ("core", "growth", "platinum", "gold") for k in range(WINDOW[t] + 3)]


@pytest.mark.parametrize(("tier", "k"), K_CASES)
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_status_at_every_k_and_lapse(tier: str, k: int, data: st.DataObject) -> None:
    """Above the floor, then ``k`` months below it ending at the as-of month."""
    w = WINDOW[tier]
    hi_s, lo_s = _amounts(tier)
    t = w + 5
    above = data.draw(st.lists(hi_s, min_size=t - k, max_size=t - k), label="above")
    below = data.draw(st.lists(lo_s, min_size=k, max_size=k), label="below")
    p = make(t, deposits=[[*above, *below]])
    row = one(evaluate(p))
    lower = LOWER[tier]
    if k <= w:
        assert (row["tier"], row["months_below"], row["status"]) == (tier, k, band_status(tier, k))
        assert (row["previous_tier"], row["movement"], row["churned_tier"]) == (tier, "same", None)
        st_now, st_before = band_status(tier, k), band_status(tier, max(k - 1, 0))
        want = [f"entered_{st_now}"] if st_now != "normal" and st_now != st_before else []
        assert row["events"] == want
        assert row["reasons"] == [f"{tier}.aum"]
    elif k == w + 1:
        # k would reach W + 1: the tier is lost through lapse
        assert (row["tier"], row["status"], row["months_below"]) == (lower, "normal", 0)
        assert (row["previous_tier"], row["movement"], row["churned_tier"]) == (tier, "down", tier)
        assert row["events"] == ["tier_down", "churned"]
    else:
        # the churn is recorded once, in the month of the lapse
        assert (row["tier"], row["previous_tier"], row["movement"], row["churned_tier"]) == (
            lower,
            lower,
            "same",
            None,
        )
        assert row["events"] == []


@pytest.mark.parametrize("tier", ["core", "growth", "platinum", "gold"])
@pytest.mark.parametrize("extra", [-1, 0, 1, 2])
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_peak_exactly_w_months_back(tier: str, extra: int, data: st.DataObject) -> None:
    """One month at the floor, ``W + extra`` months before the as-of month; below elsewhere."""
    w = WINDOW[tier]
    hi_s, lo_s = _amounts(tier)
    t = w + 6
    d = w + extra
    aum = data.draw(st.lists(lo_s, min_size=t, max_size=t), label="below")
    aum[t - 1 - d] = data.draw(hi_s, label="peak")
    row = one(evaluate(make(t, deposits=[aum])))
    if d <= w:
        assert (row["tier"], row["months_below"], row["status"]) == (tier, d, band_status(tier, d))
    else:
        assert row["tier"] == LOWER[tier]
        assert row["churned_tier"] == (tier if d == w + 1 else None)


@pytest.mark.parametrize("tier", ["core", "platinum"])
def test_kept_through_another_criterion_is_not_churned(tier: str) -> None:
    """The AUM criterion lapses but a loan keeps the tier: no churn, status normal."""
    w = WINDOW[tier]
    t = w + 4
    aum = [FLOOR[tier]] * (t - w - 1) + [FLOOR[tier] - 1] * (w + 1)  # lapses at the as-of month
    if tier == "core":
        # core has no other criterion; growth via mortgage keeps growth after core lapses
        row = one(evaluate(make(t, deposits=[aum], mortgage_loan=[[5_000_000 * YUAN] * t])))
        assert (row["tier"], row["churned_tier"]) == ("growth", "core")
        return
    row = one(evaluate(make(t, deposits=[aum], credit_loan=[[600_000 * YUAN] * t])))
    assert (row["tier"], row["status"], row["months_below"]) == ("platinum", "normal", 0)
    assert (row["movement"], row["churned_tier"], row["events"]) == ("same", None, [])
    assert row["reasons"] == ["platinum.credit_loan"]


# --------------------------------------------------------------------------- random portfolios


def candidates(policy: Policy) -> list[int]:
    """AUM values near the policy's floors: ±1..3 fen, and ×0..×3."""
    out = {0, 1}
    for t in policy.tiers:
        if t.aum_floor is None:
            continue
        f = int(t.aum_floor * policy.scale)
        out |= {f + d for d in (-3, -1, 0, 1, 3)} | {f * m for m in (0, 1, 2, 3)} | {f // 2}
    return sorted(v for v in out if v >= 0)


MORTGAGE = [
    0,
    1_500_000 * YUAN - 1,
    1_500_000 * YUAN,
    5_000_000 * YUAN - 1,
    5_000_000 * YUAN,
    5_000_000 * YUAN + 1,
]
CREDIT = [0, 300_000 * YUAN - 1, 300_000 * YUAN, 600_000 * YUAN - 1, 600_000 * YUAN]
SPEND = [0, 1, 8_333_33, 8_333_34, 41_666_66, 41_666_67, 100_000 * YUAN - 1, 500_000 * YUAN]


@attrs.frozen
class Case:
    policy: Policy
    portfolio: Portfolio
    as_of: int


def _cells(rng: np.random.Generator, values: Sequence[int], n: int, t: int) -> NDArray[Any]:
    """An (n, t) array: per customer a palette of 1-3 values from ``values``, switched at
    0-3 random months, so that series have runs (of k months below a floor) and edges.

    Cell values come from a seeded numpy generator: drawing every cell through
    hypothesis costs far more than the evaluation under test.
    """
    vals = np.asarray(values, dtype=np.int64)
    out = np.empty((n, t), dtype=np.int64)
    for i in range(n):
        palette = rng.choice(vals, size=int(rng.integers(1, 4)))
        switch = np.zeros(t, dtype=np.int64)
        switch[rng.integers(0, t, size=int(rng.integers(0, 4)))] = 1
        out[i] = palette[np.cumsum(switch) % palette.size]
    return out


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    """The default policy with random floors, windows, bands, AUM classes and spend window."""
    p = POLICY
    if not draw(st.booleans(), label="change policy"):
        return p
    for t in p.tiers:
        if t.aum_floor is None:
            continue
        floor = Decimal(draw(st.integers(1, 20_000_000 * YUAN), label="floor")) / YUAN
        w = draw(st.integers(0, 8), label="window")
        split = draw(st.integers(0, w), label="split")
        first, second = draw(st.sampled_from([("observation", "attention"), ("attention", "observation")]))
        bands = []
        if split >= 1:
            bands.append(StatusBand(first, f"[1..{split}]"))
        if split < w:
            bands.append(StatusBand(second, f"[{split + 1}..{w}]"))
        p = p.with_tier(t.id, aum_floor=floor, window=w, status_bands=tuple(bands))
    aum = draw(
        st.lists(st.sampled_from(["deposits", "wealth", "investments"]), min_size=1, max_size=3, unique=True),
        label="aum classes",
    )
    spend_w = draw(st.integers(0, 13), label="spend window")
    feats = tuple(attrs.evolve(f, window=spend_w) if f.name == "card_spend_12m" else f for f in p.features)
    return attrs.evolve(p, aum=tuple(aum), features=feats, name="random")


@st.composite
def cases(
    draw: st.DrawFn, *, policy: st.SearchStrategy[Policy] | None = None, max_n: int = 30, max_t: int = 16
) -> Case:
    pol = draw(policy if policy is not None else st.just(POLICY))
    n = draw(st.integers(1, max_n), label="n")
    t = draw(st.integers(1, max_t), label="T")
    a = draw(st.integers(0, t - 1), label="as_of index")
    late = draw(st.lists(st.integers(0, t - 1), min_size=n, max_size=n), label="history_start")
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="cells seed"))
    # about half the customers have the whole month axis
    hs = np.where(rng.random(n) < 0.5, 0, np.asarray(late))
    total = _cells(rng, candidates(pol), n, t)
    w_frac = _cells(rng, [0, 0, 1, 2, 4], n, t)
    i_frac = _cells(rng, [0, 0, 1, 2, 4], n, t)
    wealth = total * w_frac // 4
    invest = (total - wealth) * i_frac // 4
    deposits = total - wealth - invest
    cols = {
        "deposits": deposits,
        "wealth": wealth,
        "investments": invest,
        "mortgage_loan": _cells(rng, MORTGAGE, n, t),
        "credit_loan": _cells(rng, CREDIT, n, t),
        "card_spend": _cells(rng, SPEND, n, t),
        "card_level": _cells(rng, [0, 1, 2, 3, 4], n, t).astype(np.int8),
    }
    # cells before a customer's history start are not data and must be zero
    before = np.arange(t)[None, :] < hs[:, None]
    for c in cols.values():
        c[before] = 0
    return Case(pol, make(t, n=n, history_start=hs.tolist(), **cols), a)


def _reference_rows(case: Case) -> list[dict[str, Any]]:
    p = case.portfolio
    out = []
    for i in range(p.n_customers):
        cols = {c: p.column(c)[i].tolist() for c in COLUMNS}
        out.append(reference_evaluate(case.policy, cols, int(p.history_start[i]), case.as_of))
    return out


def _check_against_reference(case: Case) -> None:
    p = case.portfolio
    r = evaluate(p, case.policy, as_of=p.months[case.as_of])
    for i, ref in enumerate(_reference_rows(case)):
        row = one(r, i)
        got = {
            k: row[k] for k in ("tier", "status", "months_below", "previous_tier", "movement", "churned_tier")
        }
        got["events"] = list(r.events.names_at(i))
        want = {k: ref[k] for k in got}
        assert got == want, (i, int(p.history_start[i]), case.as_of, row)


@SLOW
@given(case=cases())
def test_vectorised_equals_reference_default_policy(case: Case) -> None:
    _check_against_reference(case)


@SLOW
@given(case=cases(policy=policies()))
def test_vectorised_equals_reference_random_policy(case: Case) -> None:
    _check_against_reference(case)


def test_random_policy_strategy_changes_something() -> None:
    """Guard: the random-policy strategy really produces policies unlike the default."""
    seen = set()

    @settings(max_examples=30, deadline=None)
    @given(policies())
    def collect(p: Policy) -> None:
        seen.add((p.tier("platinum").aum_floor, p.tier("platinum").window, p.aum))

    collect()
    assert len(seen) > 5


# --------------------------------------------------------------------------- invariances


@MEDIUM
@given(case=cases(max_n=8), data=st.data())
def test_raising_aum_never_lowers_the_tier(case: Case, data: st.DataObject) -> None:
    p, a = case.portfolio, case.as_of
    i = data.draw(st.integers(0, p.n_customers - 1), label="customer")
    hs = int(p.history_start[i])
    if hs > a:
        return
    j = data.draw(st.integers(hs, a), label="month")
    delta = data.draw(st.sampled_from([1, 100, 200_000 * YUAN, 10_000_000 * YUAN]), label="delta")
    col = data.draw(st.sampled_from(["deposits", "wealth", "investments"]), label="column")
    cols = {c: np.array(p.column(c)) for c in COLUMNS}
    cols[col][i, j] += delta
    q = make(p.n_months, n=p.n_customers, history_start=p.history_start.tolist(), **cols)
    month = p.months[a]
    before, after = evaluate(p, as_of=month), evaluate(q, as_of=month)
    # lower index = higher tier
    assert after.tier_codes[i] <= before.tier_codes[i]
    others = [k for k in range(p.n_customers) if k != i]
    assert [one(after, k) for k in others] == [one(before, k) for k in others]


@MEDIUM
@given(case=cases(max_n=10, policy=policies()), data=st.data())
def test_customers_are_independent(case: Case, data: st.DataObject) -> None:
    p, month = case.portfolio, case.portfolio.months[case.as_of]
    whole = rows_by_id(evaluate(p, case.policy, as_of=month))
    i = data.draw(st.integers(0, p.n_customers - 1), label="i")
    j = data.draw(st.integers(0, p.n_customers - 1), label="j")
    alone_i = rows_by_id(evaluate(p.select([i]), case.policy, as_of=month))
    ids = [i] if i == j else [i, j]
    pair = rows_by_id(evaluate(p.select(ids), case.policy, as_of=month))
    cid = str(p.customer_ids[i])
    assert pair[cid] == alone_i[cid] == whole[cid]
    cjd = str(p.customer_ids[j])
    assert pair[cjd] == whole[cjd]


@MEDIUM
@given(case=cases(max_n=20), perm_seed=st.randoms(use_true_random=False))
def test_customer_order_does_not_matter(case: Case, perm_seed: Any) -> None:
    p, month = case.portfolio, case.portfolio.months[case.as_of]
    perm = list(range(p.n_customers))
    perm_seed.shuffle(perm)
    a = evaluate(p, as_of=month)
    b = evaluate(p.select(perm), as_of=month)
    assert rows_by_id(a) == rows_by_id(b)
    assert a.events.counts() == b.events.counts()


@MEDIUM
@given(case=cases(), chunk=st.integers(1, 9))
def test_chunking_does_not_change_results(case: Case, chunk: int) -> None:
    p, month = case.portfolio, case.portfolio.months[case.as_of]
    whole = evaluate(p, as_of=month)
    want = rows_by_id(whole)
    assert rows_by_id(evaluate(p, as_of=month, chunk_size=7)) == want
    assert rows_by_id(evaluate(p, as_of=month, chunk_size=chunk)) == want
    pieces: dict[str, dict[str, Any]] = {}
    for res in evaluate_chunks(p, as_of=month, chunk_size=chunk):
        assert len(res) <= chunk
        pieces.update(rows_by_id(res))
    assert pieces == want
    manual: dict[str, dict[str, Any]] = {}
    for s in range(0, p.n_customers, chunk):
        manual.update(rows_by_id(evaluate(p.rows(s, s + chunk), as_of=month)))
    assert manual == want
    # the columnar event table is the same too
    ev = evaluate(p, as_of=month, chunk_size=chunk).events
    assert ev.customer_index.tolist() == whole.events.customer_index.tolist()
    assert ev.names().tolist() == whole.events.names().tolist()


# --------------------------------------------------------------------------- history


@MEDIUM
@given(case=cases(max_n=10))
def test_history_complete_and_new_customers(case: Case) -> None:
    p, a = case.portfolio, case.as_of
    r = evaluate(p, as_of=p.months[a])
    for i in range(p.n_customers):
        hs = int(p.history_start[i])
        months_of_data = a - hs + 1
        assert bool(r.history_complete[i]) == (months_of_data >= 14), (hs, a)
        row = one(r, i)
        if hs >= a:  # no data for the month before
            assert (row["movement"], row["previous_tier"], row["churned_tier"]) == ("new", None, None)
            assert "tier_up" not in row["events"] and "tier_down" not in row["events"]
            assert "churned" not in row["events"]
        else:
            assert row["movement"] in ("up", "down", "same")
            assert row["previous_tier"] is not None


@pytest.mark.parametrize("months", [1, 2, 13, 14, 15])
def test_history_complete_needs_fourteen_months(months: int) -> None:
    t = 20
    hs = t - months
    aum = [0] * hs + [600_000 * YUAN] * months
    p = make(t, deposits=[aum], history_start=[hs])
    row = one(evaluate(p))
    assert row["history_complete"] is (months >= 14)
    assert row["tier"] == "platinum"
    assert row["movement"] == ("new" if months == 1 else "same")


@pytest.mark.parametrize("months", [7, 8])
def test_short_history_lapse(months: int) -> None:
    """Platinum in the first month of data, then below the floor: the lapse needs the peak.

    With 8 months of data the peak month is data and the 7th month below lapses
    it (churn); with 7 months there is no month at or above the floor at all.
    """
    t = 16
    hs = t - months
    aum = [0] * hs + [600_000 * YUAN] * (months - 7) + [300_000 * YUAN] * 7
    row = one(evaluate(make(t, deposits=[aum], history_start=[hs])))
    assert row["tier"] == "gold" and row["history_complete"] is False
    assert row["churned_tier"] == ("platinum" if months == 8 else None)
    assert row["previous_tier"] == ("platinum" if months == 8 else "gold")


def _columns(r: TierResult) -> dict[str, Any]:
    return {
        "tier": r.tier_codes.tolist(),
        "status": r.status_codes.tolist(),
        "months_below": r.months_below.tolist(),
        "previous_tier": r.previous_tier_codes.tolist(),
        "movement": r.movement_codes.tolist(),
        "churned_tier": r.churned_tier_codes.tolist(),
        "history_complete": r.history_complete.tolist(),
        "reason_bits": r.reason_bits.tolist(),
        "events": (r.events.customer_index.tolist(), r.events.event_codes.tolist()),
    }


@MEDIUM
@given(case=cases(policy=policies()), chunk=st.integers(1, 9))
def test_tier_and_status_only_agree_with_the_full_evaluation(case: Case, chunk: int) -> None:
    p, month = case.portfolio, case.portfolio.months[case.as_of]
    full = evaluate(p, case.policy, as_of=month)
    quick = evaluate(p, case.policy, as_of=month, previous=False, chunk_size=chunk)
    same = ("tier", "status", "months_below", "history_complete", "reason_bits")
    want, got = _columns(full), _columns(quick)
    assert {k: got[k] for k in same} == {k: want[k] for k in same}  # reasons computed on first use
    assert not quick.reason_bits.flags.writeable
    assert len(quick.events) == 0
    assert set(got["movement"]) <= {0} and set(got["previous_tier"]) <= {-1}


@MEDIUM
@given(case=cases(policy=policies()), chunk=st.integers(1, 9), threads=st.integers(2, 4))
def test_threads_do_not_change_results(case: Case, chunk: int, threads: int) -> None:
    p, month = case.portfolio, case.portfolio.months[case.as_of]
    want = _columns(evaluate(p, case.policy, as_of=month, chunk_size=chunk))
    got = _columns(evaluate(p, case.policy, as_of=month, chunk_size=chunk, threads=threads))
    assert got == want
    done: list[int] = []
    evaluate(
        p, case.policy, as_of=month, chunk_size=chunk, threads=threads, progress=lambda d, n: done.append(d)
    )
    assert done == sorted(done) and done[-1] == p.n_customers


def test_threads_must_be_positive() -> None:
    p = make(14, n=1)
    with pytest.raises(ValueError, match="threads"):
        evaluate(p, threads=0)
