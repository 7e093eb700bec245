"""Synthetic retail-bank portfolios for demos, tests and benchmarks.

:func:`generate` builds a deterministic :class:`~custvalue.Portfolio` that
looks like the personal-customer book of a Chinese retail bank:

* **AUM** (deposits + wealth + investments) is heavy-tailed: a small share of
  dormant accounts (under 100 yuan), a lognormal body (median about 5,500
  yuan) and a Pareto tail of private-banking customers.  In the last month
  about 85% of customers hold less than 50,000 yuan, about 2% hold 500,000
  yuan or more, about 0.1% hold 5,000,000 or more, and the top 20% of
  customers hold about 93% of all AUM.
* The mix of deposits, wealth management and investments is per customer,
  richer customers holding more wealth and investment products.
* **Dynamics**: every customer drifts (most flat, some growing, some
  declining) with monthly noise; about 4% *lapse*: their AUM drops sharply
  (to 10-50%) at some month, so observation, attention and churn statuses
  occur under the default policy.  About 2% of customers *join* during the
  period (``history_start > 0``, cells before it are zero).
* **Loans**: about 12% hold a mortgage (median 800,000 yuan, about 18% of
  them in the platinum band [1.5M, 5M), a few at or above 5M), slowly
  amortising; about 5% hold a credit/guarantee loan (median 150,000 yuan,
  some in [300k, 600k) and some at or above 600k), some repaid during the
  period.
* **Cards**: about 45% hold a credit card (``standard``, ``gold``,
  ``platinum``; ``diamond`` is rare, about 0.05% of customers), with monthly
  spend depending on the level; some cards lapse to ``none``.
* Customers ``"C0000001"``, ... (fixed width, sorted, unique) in branches
  ``"B001"``, ... of uneven size; optional household ids ``"H0000001"``, ...
  shared by some customers.

Memory and speed
----------------
The money columns are generated block by block straight into the final
``(n, T)`` ``int64`` arrays (float64 intermediates per block of 65,536
customers only), so peak memory is about the size of the portfolio itself:
``6 × 8 × n × T`` bytes of money plus ``n × T`` bytes of card levels plus the
id strings (``4 × 8`` bytes per id character).  Measured on a 2-core machine
(``benchmarks/bench_synthetic.py``), ``T = 14``: 1,000,000 customers take
about 2.5 s and 0.85 GB peak RSS; 10,000,000 customers about 24 s (quiet
machine; 36 s under load) and 7.8-8.1 GB peak RSS, of which 6.9 GB are the
monthly arrays themselves.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from ._arrays import check_memory
from .months import Month, MonthLike
from .portfolio import Portfolio

__all__ = ["generate"]

_BLOCK: Final = 65_536
_FEN: Final = 100.0


def _fixed_width_ids(prefix: str, numbers: NDArray[np.int64], width: int) -> NDArray[np.str_]:
    """``prefix`` + zero-padded decimal ``numbers``, vectorised through bytes."""
    n = numbers.shape[0]
    p = prefix.encode("ascii")
    buf = np.empty((n, len(p) + width), dtype=np.uint8)
    buf[:, : len(p)] = np.frombuffer(p, dtype=np.uint8)
    rest = numbers.astype(np.int64, copy=True)
    for k in range(width - 1, -1, -1):
        buf[:, len(p) + k] = 48 + (rest % 10)
        rest //= 10
    out: NDArray[np.str_] = buf.view(f"S{len(p) + width}").reshape(n).astype(f"U{len(p) + width}")
    return out


def generate(
    n_customers: int,
    *,
    months: int = 14,
    end: MonthLike = "2026-10",
    n_branches: int = 20,
    seed: int = 0,
    households: bool = False,
) -> Portfolio:
    """A deterministic synthetic portfolio of ``n_customers`` × ``months``.

    Parameters
    ----------
    n_customers
        Number of customers ``n`` (0 or more).
    months
        Number of months ``T``, ending at ``end`` (14 = as-of month and the 13
        before it, a full history for the default policy).
    end
        The last month.
    n_branches
        Number of branches, ``"B001"`` ... (sizes are uneven).
    seed
        Seed of :class:`numpy.random.PCG64`; the same arguments give an equal
        portfolio on every platform.
    households
        Also generate household ids (about 30% of customers share a household
        with the customer before them).

    Returns
    -------
    Portfolio
        Customer ids are sorted and unique (``"C0000001"``, width grows past
        9,999,999 customers); money is exact ``int64`` fen.

    Notes
    -----
    See the module documentation for the distributions and the memory
    needed (about ``50 × n × T`` bytes plus ids; 10 million × 14 months take
    about 8 GB).

    Examples
    --------
    >>> p = generate(1000, seed=1)
    >>> p.n_customers, p.n_months, str(p.months.stop)
    (1000, 14, '2026-10')
    >>> p.customer_ids[:2].tolist(), p.branch_ids.dtype.kind
    (['C0000001', 'C0000002'], 'U')
    >>> generate(1000, seed=1) == p
    True
    """
    if isinstance(n_customers, bool) or not isinstance(n_customers, int | np.integer):
        raise TypeError(f"n_customers must be an int, got {n_customers!r}")
    n = int(n_customers)
    if n < 0:
        raise ValueError(f"n_customers must be >= 0, got {n}")
    if not 1 <= months <= 600:
        raise ValueError(f"months must be in 1..600, got {months}")
    if not 1 <= n_branches <= 999:
        raise ValueError(f"n_branches must be in 1..999, got {n_branches}")
    check_memory(n * (60 * months + 64), f"a synthetic portfolio of {n:,} customers × {months} months")
    last = Month.coerce(end)
    start = last - (months - 1)
    t = months
    rng = np.random.Generator(np.random.PCG64(seed))

    width = max(7, len(str(n)))
    ids = _fixed_width_ids("C", np.arange(1, n + 1, dtype=np.int64), width)

    # uneven branch sizes (Zipf-like weights), ids in order of customer number
    weights = 1.0 / np.arange(1, n_branches + 1) ** 0.7
    weights /= weights.sum()
    branch_no = rng.choice(n_branches, size=n, p=weights).astype(np.int64) + 1
    bwidth = max(3, len(str(n_branches)))
    branches = _fixed_width_ids("B", branch_no, bwidth)
    del branch_no

    household_ids = None
    if households:
        joins = rng.random(n) < 0.3
        if n:
            joins[0] = False
        hh_no = np.cumsum(~joins, dtype=np.int64)
        household_ids = _fixed_width_ids("H", hh_no, width)
        del joins, hh_no

    # history: ~2% join during the period
    history_start = np.zeros(n, dtype=np.int16)
    if t > 1:
        joiners = rng.random(n) < 0.02
        history_start[joiners] = rng.integers(1, t, size=int(joiners.sum()), dtype=np.int16)
        del joiners
    # relationship opening dates: joiners in their first month, others up to 20 years earlier
    first_day = np.datetime64(start.first_day, "D")
    m0 = np.datetime64(f"{start.year:04d}-{start.month:02d}", "M")
    join_month = (m0 + history_start.astype("timedelta64[M]")).astype("datetime64[D]")
    opened = np.where(
        history_start > 0,
        join_month + rng.integers(0, 28, size=n).astype("timedelta64[D]"),
        first_day - rng.integers(1, 20 * 365, size=n).astype("timedelta64[D]"),
    ).astype("datetime64[D]")

    shape = (n, t)  # month-major, the portfolio's own layout: from_arrays copies nothing
    deposits = np.empty(shape, dtype=np.int64, order="F")
    wealth = np.empty(shape, dtype=np.int64, order="F")
    investments = np.empty(shape, dtype=np.int64, order="F")
    mortgage = np.empty(shape, dtype=np.int64, order="F")
    credit = np.empty(shape, dtype=np.int64, order="F")
    spend = np.empty(shape, dtype=np.int64, order="F")
    card = np.empty(shape, dtype=np.int8, order="F")
    steps = np.arange(t, dtype=np.float64) - (t - 1)  # months relative to the last one (<= 0)
    col = np.arange(t)

    outputs: tuple[NDArray[Any], ...] = (deposits, wealth, investments, mortgage, credit, spend, card)
    for lo in range(0, n, _BLOCK):
        hi = min(lo + _BLOCK, n)
        # a customer-major scratch block (fast masked row writes), copied month-major once
        scratch = [np.zeros((hi - lo, t), dtype=o.dtype) for o in outputs]
        _fill_block(rng, hi - lo, t, steps, col, history_start[lo:hi], *scratch)
        for o, block in zip(outputs, scratch, strict=True):
            for j in range(t):  # month by month: contiguous writes (4x faster than o[lo:hi] = block)
                o[lo:hi, j] = block[:, j]
        del scratch

    return Portfolio.from_arrays(
        customer_ids=ids,
        branch_ids=branches,
        household_ids=household_ids,
        start=start,
        deposits=deposits,
        wealth=wealth,
        investments=investments,
        mortgage_loan=mortgage,
        credit_loan=credit,
        card_spend=spend,
        card_level=card,
        history_start=history_start,
        opened=opened,
        copy=False,
    )


def _fill_block(
    rng: np.random.Generator,
    b: int,
    t: int,
    steps: NDArray[np.float64],
    col: NDArray[np.int_],
    hist: NDArray[np.int16],
    deposits: NDArray[np.int64],
    wealth: NDArray[np.int64],
    investments: NDArray[np.int64],
    mortgage: NDArray[np.int64],
    credit: NDArray[np.int64],
    spend: NDArray[np.int64],
    card: NDArray[np.int8],
) -> None:
    """Fill rows of one customer block in place (all arrays are views)."""
    # ---- AUM level in the last month (yuan): dormant / lognormal body / Pareto tail
    u = rng.random(b)
    level = np.exp(rng.normal(np.log(5_500.0), 2.2, size=b))
    dormant = u < 0.07
    level[dormant] = rng.random(int(dormant.sum())) * 100.0
    tail = u > 0.9993
    level[tail] = 3_000_000.0 * (1.0 + rng.pareto(1.3, size=int(tail.sum())))
    np.minimum(level, 5e9, out=level)

    # ---- monthly path: drift by segment + random walk, anchored at the last month
    seg = rng.random(b)
    drift = rng.normal(0.0, 0.01, size=b)
    drift[seg < 0.10] += 0.03  # growing
    drift[seg > 0.90] -= 0.03  # declining
    logpath = np.cumsum(rng.normal(0.0, 0.04, size=(b, t)), axis=1)
    logpath -= logpath[:, -1:]
    logpath += drift[:, None] * steps[None, :]
    # lapsing customers: AUM falls to 10-50% from some month on
    lapse = rng.random(b) < 0.04
    k = int(lapse.sum())
    if k and t > 1:
        at = rng.integers(1, t, size=k)
        factor = np.log(rng.uniform(0.1, 0.5, size=k))
        before = col[None, :] < at[:, None]
        logpath[lapse] -= np.where(before, factor[:, None], 0.0)
    aum = np.exp(logpath, out=logpath)
    aum *= level[:, None] * _FEN
    np.floor(aum, out=aum)
    valid = col[None, :] >= hist[:, None].astype(np.int64)
    aum[~valid] = 0.0

    # ---- mix of deposits / wealth / investments (richer: more products)
    rich = np.clip(np.log10(np.maximum(level, 1.0)) - 3.0, 0.0, 4.0)
    g_dep = rng.gamma(4.0, size=b)
    g_wea = rng.gamma(0.3 + 0.6 * rich, size=b)
    g_inv = rng.gamma(0.1 + 0.4 * rich, size=b)
    tot = g_dep + g_wea + g_inv
    s_dep = g_dep / tot
    s_wea = g_wea / tot
    dep = np.floor(aum * s_dep[:, None])
    wea = np.floor(aum * s_wea[:, None])
    deposits[...] = dep
    wealth[...] = wea
    dep += wea
    np.subtract(aum, dep, out=dep)
    investments[...] = dep
    del aum, dep, wea, logpath

    # ---- mortgages: ~12%, amortising ~0.4%/month
    has_m = rng.random(b) < 0.12
    km = int(has_m.sum())
    if km:
        bal = np.exp(rng.normal(np.log(800_000.0), 0.7, size=km))
        path = bal[:, None] * (1.0 - 0.004 * steps[None, :])
        m_rows = np.floor(path * _FEN) * valid[has_m]
        mortgage[has_m] = m_rows
    # ---- credit/guarantee loans: ~5%, a fifth repaid during the period
    has_c = rng.random(b) < 0.05
    kc = int(has_c.sum())
    if kc:
        bal = np.exp(rng.normal(np.log(150_000.0), 0.8, size=kc))
        repaid_at = np.where(rng.random(kc) < 0.2, rng.integers(1, max(t, 2), size=kc), t)
        alive = col[None, :] < repaid_at[:, None]
        c_rows = np.floor(bal * _FEN)[:, None] * (alive & valid[has_c])
        credit[has_c] = c_rows
    # ---- cards: level by wealth, spend by level, some cards lapse
    r = rng.random(b)
    has_card = r < 0.45
    kk = int(has_card.sum())
    if kk:
        lv = np.ones(kk, dtype=np.int8)
        rr = rng.random(kk) + 0.08 * rich[has_card]
        lv[rr > 0.78] = 2
        lv[rr > 0.97] = 3
        lv[rng.random(kk) < 0.0011] = 4  # diamond: rare
        median_spend = np.array([0.0, 2_000.0, 5_000.0, 15_000.0, 60_000.0])[lv]
        monthly = median_spend[:, None] * np.exp(rng.normal(0.0, 0.8, size=(kk, t)))
        monthly[rng.random((kk, t)) < 0.15] = 0.0
        lapsed_at = np.where(rng.random(kk) < 0.03, rng.integers(1, max(t, 2), size=kk), t)
        active = (col[None, :] < lapsed_at[:, None]) & valid[has_card]
        card[has_card] = np.where(active, lv[:, None], 0).astype(np.int8)
        spend[has_card] = np.floor(monthly * _FEN) * active
