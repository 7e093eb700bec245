"""Lifetime value from explicit inputs: margins by asset class and the geometric CLV (SPEC section 6).

Margins are exact: a customer's margin is ``Σ balance × annual rate`` over the
balance columns of the policy's ``[value.margins]``, computed from integer fen
and the rates' exact decimals, then rounded **half-even to fen** (the monthly
margin divides by 12 before rounding).

The lifetime value of a margin ``m`` per period, retention ``r`` per period,
discount rate ``d`` per period and horizon ``H`` periods is

.. math::

    \\mathrm{CLV} = \\sum_{t=1}^{H} m \\, \\frac{r^t}{(1+d)^t}
                 = m \\, q \\, \\frac{1 - q^H}{1 - q}, \\qquad q = \\frac{r}{1+d},

``m H`` when ``q = 1`` and ``m q / (1 - q)`` for an infinite horizon
(``q < 1``).  :func:`geometric_clv` evaluates it in float64 for every customer
at once (with ``expm1``/``log1p`` so that ``q`` near 1 loses no digits);
:func:`reference_clv` is the exact scalar sum the tests compare against.
Estimates are reported in fen rounded half-even (:func:`round_fen`).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, Final

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._arrays import readonly
from .._errors import AmountOverflowError
from ..money import INT64_MAX
from ..months import Month, MonthLike
from ..policy import Policy, PolicyError, ValueSpec, default_policy
from ..portfolio import Portfolio
from ..tiering import evaluate
from ._errors import AnalyticsError
from ._table import Report, make_columns

__all__ = [
    "ROUNDING",
    "LifetimeValue",
    "customer_margin",
    "exact_linear",
    "geometric_clv",
    "lifetime_value",
    "reference_clv",
    "round_fen",
    "value_spec",
]

#: How every value estimate is rounded to fen.
ROUNDING: Final = "half-even to fen"


def value_spec(policy: Policy) -> ValueSpec:
    """The policy's ``[value]`` section; a :class:`~custvalue.policy.PolicyError` when it has none."""
    if policy.value is None:
        raise PolicyError(
            f"value: policy {policy.name!r} has no [value] section (margins, retention, discount rate)",
            path="value",
        )
    return policy.value


def resolve_as_of(portfolio: Portfolio, as_of: MonthLike | None) -> tuple[Month, int]:
    """The as-of month (default: the portfolio's last) and its column."""
    month = portfolio.months.stop if as_of is None else Month.coerce(as_of)
    try:
        return month, portfolio.months.index(month)
    except (KeyError, ValueError, IndexError):
        raise AnalyticsError(
            f"as-of month {month} is not in the portfolio ({portfolio.months.start}..{portfolio.months.stop})"
        ) from None


# --------------------------------------------------------------------------- exact arithmetic


def half_even_scalar(total: NDArray[np.int64], den: int) -> NDArray[np.int64]:
    """``total / den`` rounded half-even, for int64 ``total`` and a positive Python ``den``."""
    if den == 1:
        return total
    d = np.int64(den)
    q = np.floor_divide(total, d)
    twice = total - q * d  # the remainder, in [0, den)
    twice *= 2
    up = twice > d
    up |= (twice == d) & ((q & 1) == 1)
    q += up
    return q


def half_even_fraction(x: Fraction) -> int:
    """A fraction rounded half-even to an integer."""
    q, r = divmod(x.numerator, x.denominator)
    twice = 2 * r
    return q + (1 if twice > x.denominator or (twice == x.denominator and q % 2) else 0)


def exact_linear_divided(
    arrays: Sequence[ArrayLike],
    coefficients: Sequence[Decimal],
    divisors: Sequence[int],
    *,
    n: int | None = None,
    what: str = "value",
) -> list[NDArray[np.int64]]:
    """:func:`exact_linear` for several divisors at once, sharing the products."""
    if any(d <= 0 for d in divisors):
        raise ValueError(f"divisors must be positive, got {list(divisors)}")
    arrs = [np.asarray(a, dtype=np.int64).reshape(-1) for a in arrays]
    if n is None:
        n = arrs[0].size if arrs else 0
    exp = 0
    for c in coefficients:
        e = c.as_tuple().exponent
        if isinstance(e, int) and e < 0:
            exp = max(exp, -e)
    nums = [int(c.scaleb(exp)) for c in coefficients]
    dens = [10**exp * d for d in divisors]
    if max(dens, default=1) > INT64_MAX // 4:
        raise ValueError(f"divisor {max(dens)} too large")
    pairs = [(a, k) for a, k in zip(arrs, nums, strict=True) if k != 0]
    if not pairs:
        return [np.zeros(n, np.int64) for _ in dens]
    weight = sum(abs(k) for _, k in pairs)
    limit = INT64_MAX // weight
    # fast path: no product can leave int64 anywhere (one max/min per column)
    any_big = any(a.size and (int(a.max()) > limit or int(a.min()) < -limit) for a, _ in pairs)
    big = np.zeros(n, bool)
    if any_big:
        for a, _ in pairs:
            big |= (a > limit) | (a < -limit)
    if len(pairs) == 1 and pairs[0][1] == 1 and dens == [1] and not any_big:
        return [pairs[0][0].copy()]
    total = np.zeros(n, np.int64)
    for a, k in pairs:
        src = np.where(big, 0, a) if any_big else a
        if k == 1:
            total += src
        else:
            total += src * np.int64(k)
    outs = [half_even_scalar(total, den) if den != 1 else total.copy() for den in dens]
    if any_big:
        for i in np.flatnonzero(big).tolist():
            num = sum(int(a[i]) * k for a, k in pairs)
            for out, den in zip(outs, dens, strict=True):
                v = half_even_fraction(Fraction(num, den))
                if not -INT64_MAX - 1 <= v <= INT64_MAX:
                    raise AmountOverflowError(f"{what} of row {i} overflows int64 fen: {v}")
                out[i] = v
    return outs


def exact_linear(
    arrays: Sequence[ArrayLike],
    coefficients: Sequence[Decimal],
    divisor: int = 1,
    *,
    n: int | None = None,
    what: str = "value",
) -> NDArray[np.int64]:
    """``Σ coefficient × array / divisor``, exact, rounded half-even to an integer (fen).

    Coefficients are exact decimals; every product is an integer product.
    Rows whose products could leave int64 are computed with Python integers
    (exactly); a result beyond int64 is an :class:`~custvalue.AmountOverflowError`.

    Examples
    --------
    >>> import numpy as np
    >>> from decimal import Decimal
    >>> exact_linear([np.array([100_000_00, 5]), np.array([0, 3])],
    ...              [Decimal("0.015"), Decimal("0.5")], divisor=12).tolist()
    [12500, 0]
    >>> exact_linear([np.array([2**62])], [Decimal(4)])
    Traceback (most recent call last):
    ...
    custvalue.AmountOverflowError: value of row 0 overflows int64 fen: 18446744073709551616
    """
    if divisor <= 0:
        raise ValueError(f"divisor must be positive, got {divisor}")
    return exact_linear_divided(arrays, coefficients, [divisor], n=n, what=what)[0]


def round_fen(values: ArrayLike, *, what: str = "value") -> NDArray[np.int64]:
    """Float estimates (fen) rounded half-even to whole fen; NaN, infinities and overflow are errors.

    >>> round_fen([0.5, 1.5, 2.5, -0.5]).tolist()
    [0, 2, 2, 0]
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size and not bool(np.isfinite(x).all()):
        i = int(np.flatnonzero(~np.isfinite(x))[0])
        raise AnalyticsError(f"{what} of row {i} is not finite: {x.reshape(-1)[i]}")
    r = np.rint(x)
    if r.size and float(np.abs(r).max()) >= 2.0**63:
        i = int(np.argmax(np.abs(r)))
        raise AmountOverflowError(f"{what} of row {i} overflows int64 fen: {r.reshape(-1)[i]}")
    return r.astype(np.int64)


# --------------------------------------------------------------------------- margins


def customer_margin(
    portfolio: Portfolio,
    policy: Policy | None = None,
    *,
    as_of: MonthLike | None = None,
    period: str = "month",
) -> NDArray[np.int64]:
    """Each customer's margin at the as-of month: ``Σ balance × rate`` (per month or year), fen.

    Balances are the as-of month's; rates are the policy's annual
    ``[value.margins]``.  Exact integer arithmetic, rounded half-even to fen
    (the monthly margin is the annual one divided by 12 before rounding).

    Examples
    --------
    >>> import numpy as np
    >>> from custvalue import Portfolio, default_policy
    >>> from custvalue.policy import Policy
    >>> doc = default_policy().to_dict()
    >>> doc["value"] = {"margins": {"deposits": "0.015", "wealth": "0.008"}}
    >>> pol = Policy.from_dict(doc)
    >>> p = Portfolio.from_arrays(customer_ids=["A"], branch_ids=["B"], start="2026-10",
    ...                           deposits=np.array([[1_000_000_00]]), wealth=np.array([[500_000_00]]))
    >>> customer_margin(p, pol).tolist(), customer_margin(p, pol, period="year").tolist()
    ([158333], [1900000])

    (1,000,000 × 1.5 % + 500,000 × 0.8 % = 19,000.00 yuan a year; 1,583.33 a month.)
    """
    if period not in ("month", "year"):
        raise ValueError(f"period must be 'month' or 'year', got {period!r}")
    monthly, annual = customer_margins(portfolio, policy, as_of=as_of, periods=(period,))
    return monthly if period == "month" else annual


def customer_margins(
    portfolio: Portfolio,
    policy: Policy | None = None,
    *,
    as_of: MonthLike | None = None,
    periods: Sequence[str] = ("month", "year"),
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``(monthly, annual)`` margins of :func:`customer_margin`, sharing the products.

    Only the ``periods`` asked for are computed; the other is an empty array.
    """
    pol = default_policy() if policy is None else policy
    spec = value_spec(pol)
    _, a = resolve_as_of(portfolio, as_of)
    cols = [getattr(portfolio, c)[:, a] for c, _ in spec.margins]
    rates = [r for _, r in spec.margins]
    divisors = [12 if p == "month" else 1 for p in ("month", "year") if p in periods]
    got = exact_linear_divided(cols, rates, divisors, n=portfolio.n_customers, what="margin")
    empty = np.zeros(0, np.int64)
    monthly = readonly(got.pop(0)) if "month" in periods else empty
    annual = readonly(got.pop(0)) if "year" in periods else empty
    return monthly, annual


# --------------------------------------------------------------------------- CLV


def geometric_clv(
    margin: ArrayLike,
    retention: ArrayLike,
    discount_rate: ArrayLike,
    horizon: int | None,
) -> NDArray[np.float64]:
    """``Σ_{t=1..H} m rᵗ / (1+d)ᵗ`` in closed form, for arrays of customers (float64).

    Parameters
    ----------
    margin
        Margin per period ``m`` (fen).
    retention
        Retention per period ``r`` in ``[0, 1]``.
    discount_rate
        Discount rate per period ``d > -1``.
    horizon
        ``H`` periods (≥ 1), or None for an infinite horizon (needs ``r < 1 + d``).

    Examples
    --------
    >>> geometric_clv([100.0], [0.9], [0.1], 2).round(6).tolist()   # 100·(0.9/1.1) + 100·(0.9/1.1)²
    [148.760331]
    >>> geometric_clv([100.0], [1.0], [0.0], 5).tolist()             # q = 1: m·H
    [500.0]
    >>> geometric_clv([100.0], [0.5], [0.0], None).tolist()          # m·q/(1−q)
    [100.0]
    """
    m = np.asarray(margin, dtype=np.float64)
    r = np.asarray(retention, dtype=np.float64)
    d = np.asarray(discount_rate, dtype=np.float64)
    if r.size and (bool((r < 0).any()) or bool((r > 1).any()) or bool(np.isnan(r).any())):
        raise ValueError("retention must be in [0, 1]")
    if d.size and not bool((d > -1).all()):
        raise ValueError("discount rate must be > -1 (above -100 %)")
    q = r / (1 + d)
    x = (r - 1 - d) / (1 + d)  # q - 1 without cancellation
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if horizon is None:
            if q.size and bool((x >= 0).any()):
                raise ValueError("an infinite horizon needs retention < 1 + discount rate")
            g = q / -x
        else:
            if horizon < 1:
                raise ValueError(f"horizon must be >= 1, got {horizon}")
            g = np.where(x == 0, float(horizon), q * np.expm1(horizon * np.log1p(x)) / np.where(x == 0, 1, x))
            g = np.where(q == 0, 0.0, g)
    out: NDArray[np.float64] = m * g
    return out


def reference_clv(
    margin: int | Fraction,
    retention: Decimal | Fraction,
    discount_rate: Decimal | Fraction,
    horizon: int | None,
) -> Fraction:
    """The exact CLV of one customer, summed term by term (the reference for :func:`geometric_clv`).

    >>> reference_clv(100, Decimal("0.9"), Decimal("0.1"), 2)
    Fraction(18000, 121)
    >>> reference_clv(100, Decimal("0.5"), Decimal(0), None)
    Fraction(100, 1)
    """
    q = Fraction(retention) / (1 + Fraction(discount_rate))
    m = Fraction(margin)
    if horizon is None:
        if q >= 1:
            raise ValueError("an infinite horizon needs retention < 1 + discount rate")
        return m * q / (1 - q)
    total, term = Fraction(0), Fraction(1)
    for _ in range(horizon):
        term *= q
        total += term
    return m * total


@attrs.frozen(eq=False, repr=False)
class LifetimeValue:
    """Lifetime value from explicit inputs, per customer.

    Attributes
    ----------
    customer_ids : ndarray of str
    as_of : Month
    period : str
        ``"year"`` or ``"month"``: the unit of ``margin``, ``retention``,
        ``discount_rate`` and ``horizon``.
    margin : ndarray of int64
        Margin per period, fen (exact, rounded half-even).
    retention : ndarray of float64
        Retention per period of each customer (by tier when the policy says so).
    discount_rate : Decimal
    horizon : int or None
    estimate : ndarray of float64
        CLV in fen, unrounded.
    clv : ndarray of int64
        CLV in fen, rounded :data:`ROUNDING`.
    """

    customer_ids: NDArray[np.str_]
    as_of: Month
    period: str
    margin: NDArray[np.int64]
    retention: NDArray[np.float64]
    discount_rate: Decimal
    horizon: int | None
    estimate: NDArray[np.float64]
    clv: NDArray[np.int64]
    rounding: str = ROUNDING

    def report(self) -> Report:
        """A :class:`Report`: customer id, margin per period, retention (float), CLV (fen)."""
        return Report(
            title=f"Lifetime value at {self.as_of} (per {self.period}, {self.rounding})",
            columns=make_columns(
                {
                    "customer_id": self.customer_ids,
                    "margin": self.margin,
                    "retention": self.retention,
                    "clv": self.clv,
                }
            ),
            money=("margin", "clv"),
        )

    def __repr__(self) -> str:
        h = "infinite horizon" if self.horizon is None else f"{self.horizon} {self.period}s"
        return f"<LifetimeValue at {self.as_of}: {self.clv.size:,} customers, {h}, d = {self.discount_rate}>"


def _retention(
    spec: ValueSpec, tier_codes: NDArray[Any] | None, tiers: Sequence[str], n: int
) -> NDArray[np.float64]:
    if spec.retention is not None:
        return np.full(n, float(spec.retention))
    if tier_codes is None:  # pragma: no cover - callers evaluate the tiers first
        raise AnalyticsError("retention by tier needs the customers' tiers")
    lut = np.asarray([float(spec.retention_of(t)) for t in tiers] + [0.0])
    codes = np.asarray(tier_codes, dtype=np.int64)
    return np.asarray(lut[np.where(codes < 0, len(tiers), codes)], dtype=np.float64)


def lifetime_value(
    portfolio: Portfolio,
    policy: Policy | None = None,
    *,
    as_of: MonthLike | None = None,
    tier_codes: ArrayLike | None = None,
    margin: ArrayLike | None = None,
) -> LifetimeValue:
    """CLV from explicit inputs for every customer (margins, retention, discount rate, horizon of the policy).

    ``tier_codes`` (indexes into ``policy.tier_order``, e.g.
    ``evaluate(...).tier_codes``) are needed only for a retention by tier;
    without them the policy is evaluated at the as-of month.  ``margin``
    (fen per period) reuses margins already computed.

    Examples
    --------
    >>> import numpy as np
    >>> from custvalue import Portfolio, default_policy
    >>> from custvalue.policy import Policy
    >>> doc = default_policy().to_dict()
    >>> doc["value"] = {"margins": {"deposits": "0.015"}, "retention": "0.9",
    ...                 "discount_rate": "0.1", "horizon": 2}
    >>> p = Portfolio.from_arrays(customer_ids=["A"], branch_ids=["B"], start="2026-10",
    ...                           deposits=np.array([[1_000_000_00]]))
    >>> lv = lifetime_value(p, Policy.from_dict(doc))
    >>> lv.margin.tolist(), lv.clv.tolist()       # 15,000 yuan a year; 15,000 × (0.8182 + 0.6694)
    ([1500000], [2231405])
    """
    pol = default_policy() if policy is None else policy
    spec = value_spec(pol)
    month, _ = resolve_as_of(portfolio, as_of)
    if margin is None:
        m = customer_margin(portfolio, pol, as_of=month, period=spec.period)
    else:
        m = readonly(np.asarray(margin, dtype=np.int64))
        if m.shape != (portfolio.n_customers,):
            raise AnalyticsError(f"margin must have shape ({portfolio.n_customers},), got {m.shape}")
    codes: NDArray[Any] | None = None
    if spec.retention is None:
        if tier_codes is None:
            codes = evaluate(portfolio, pol, as_of=month, previous=False).tier_codes
        else:
            codes = np.asarray(tier_codes)
    r = _retention(spec, codes, pol.tier_order, portfolio.n_customers)
    est = geometric_clv(m.astype(np.float64), r, float(spec.discount_rate), spec.horizon)
    return LifetimeValue(
        customer_ids=portfolio.customer_ids,
        as_of=month,
        period=spec.period,
        margin=m,
        retention=readonly(r),
        discount_rate=spec.discount_rate,
        horizon=spec.horizon,
        estimate=readonly(est),
        clv=readonly(round_fen(est, what="CLV")),
    )
