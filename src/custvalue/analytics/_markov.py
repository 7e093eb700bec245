"""Lifetime value from the bank's own history: a customer-migration Markov model (SPEC section 6).

The states are the policy's tiers plus ``churned``.  Each month every
customer is in the tier :func:`custvalue.tiering.evaluate_path` gives it, or
churned — from the first month in which its balances in the policy's
``[value.markov].churn_columns`` sum to less than ``churn_below`` (churned is
**absorbing**: a customer who comes back later is still counted as churned,
and such returns are reported in :attr:`MarkovChain.returns`).

:func:`estimate_markov` counts the monthly transitions ``from → to`` over the
last ``months`` months and row-normalises them into the transition matrix
``P``; the counts stay on the result so an analyst can check every
probability.  With the monthly value ``v`` of each state (a tier's mean
monthly margin, 0 when churned) and a monthly discount rate ``d``, the
expected discounted value of a customer starting in state ``s`` is

.. math::

    V = \\sum_{t=1}^{H} A^t v, \\quad A = \\frac{P}{1+d}
    \\qquad\\text{or, for } H = \\infty, \\qquad V = (I - A)^{-1} A\\, v
    = (I - A)^{-1} v - v,

the same convention as the explicit CLV (the first margin is earned one
period after the as-of month), so a one-tier chain with retention ``r``
reproduces :func:`geometric_clv` exactly.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from decimal import ROUND_CEILING
from typing import Any, Final

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._arrays import exact_group_sums, readonly
from .._optional import import_optional
from ..money import format_yuan
from ..months import Month, MonthLike
from ..policy import Policy, ValueSpec, default_policy
from ..portfolio import Portfolio
from ..tiering import TierPath, evaluate_path
from ._errors import AnalyticsError
from ._table import Report, make_columns
from ._value import ROUNDING, customer_margin, resolve_as_of, round_fen, value_spec

__all__ = [
    "CHURNED",
    "MarkovChain",
    "MarkovValue",
    "churn_mask",
    "estimate_markov",
    "markov_value",
    "monthly_discount",
    "reference_transition_counts",
]

#: The absorbing state's name.
CHURNED: Final = "churned"


@attrs.frozen(eq=False, repr=False)
class MarkovChain:
    """An estimated monthly transition matrix between tiers and ``churned``.

    Attributes
    ----------
    states : tuple of str
        The tiers (highest first), then ``"churned"``.
    months : tuple of Month
        The months observed; transitions go from each month to the next.
    counts : ndarray of int64, shape (K, K)
        ``counts[i, j]`` customer-months that went from state ``i`` to ``j``.
    monthly_counts : ndarray of int64, shape (len(months) - 1, K, K)
        The same, month by month.
    probabilities : ndarray of float64, shape (K, K)
        Rows of ``counts`` divided by their sums (each row sums to 1); the
        ``churned`` row is absorbing; a state never observed as a ``from``
        state stays where it is (see ``observed``).
    observed : ndarray of bool, shape (K,)
        Whether a row was estimated from data.
    returns : ndarray of int64, shape (K,)
        Churned customers seen back in a tier, by that tier (not counted in
        ``counts``: churned is absorbing).
    """

    states: tuple[str, ...]
    months: tuple[Month, ...]
    counts: NDArray[np.int64]
    monthly_counts: NDArray[np.int64]
    probabilities: NDArray[np.float64]
    observed: NDArray[np.bool_]
    returns: NDArray[np.int64]

    @classmethod
    def from_counts(
        cls,
        states: Sequence[str],
        counts: ArrayLike,
        *,
        months: Sequence[Month] = (),
        returns: ArrayLike | None = None,
    ) -> MarkovChain:
        """A chain from a ``K × K`` count matrix (the last state is the absorbing ``churned``).

        >>> c = MarkovChain.from_counts(["gold", "churned"], [[9, 1], [0, 0]])
        >>> c.probabilities.tolist()
        [[0.9, 0.1], [0.0, 1.0]]
        """
        k = len(states)
        c = np.asarray(counts, dtype=np.int64)
        if c.shape != (k, k):
            raise AnalyticsError(f"counts must be {k} × {k}, got shape {c.shape}")
        if bool((c < 0).any()):
            raise AnalyticsError("transition counts must not be negative")
        rows = c.sum(axis=1)
        observed = rows > 0
        p = np.where(observed[:, None], c / np.maximum(rows, 1)[:, None], np.eye(k))
        p[k - 1] = 0.0
        p[k - 1, k - 1] = 1.0
        observed = observed.copy()
        observed[k - 1] = True
        ret = np.zeros(k, np.int64) if returns is None else np.asarray(returns, dtype=np.int64)
        mc = np.zeros((max(len(months) - 1, 0), k, k), np.int64)
        if mc.shape[0] == 1:
            mc[0] = c
        return cls(
            tuple(states),
            tuple(months),
            readonly(c),
            readonly(mc),
            readonly(p),
            readonly(observed),
            readonly(ret),
        )

    @property
    def tiers(self) -> tuple[str, ...]:
        """The tier states (every state but ``churned``)."""
        return self.states[:-1]

    def state_values(
        self, values: ArrayLike, discount_rate: float, horizon: int | None = None
    ) -> NDArray[np.float64]:
        """Expected discounted value of starting in each state: ``Σ_{t=1..H} (P/(1+d))ᵗ v``.

        Parameters
        ----------
        values
            Value per month of each tier (``len(tiers)``; churned is worth 0).
        discount_rate
            Monthly ``d > -1``.
        horizon
            Months; None for an infinite horizon, ``(I − A)⁻¹ A v`` (needs ``d > 0``).

        Examples
        --------
        >>> c = MarkovChain.from_counts(["gold", "churned"], [[9, 1], [0, 0]])
        >>> c.state_values([100.0], 0.0, None).round(9).tolist()   # 100 · 0.9 / 0.1
        [900.0, 0.0]
        """
        k = len(self.states)
        v = np.zeros(k)
        tv = np.asarray(values, dtype=np.float64).reshape(-1)
        if tv.size != k - 1:
            raise AnalyticsError(f"give one value per tier ({k - 1}), got {tv.size}")
        v[: k - 1] = tv
        if not discount_rate > -1:
            raise AnalyticsError(f"discount rate must be > -1 (above -100 %), got {discount_rate}")
        a = self.probabilities / (1 + discount_rate)
        if horizon is None:
            if not self._converges(discount_rate):
                raise AnalyticsError(
                    "an infinite horizon needs a positive discount rate (or a horizon): "
                    "the discounted sum does not converge"
                )
            # churned is worth 0 and absorbing: solve over the tier states only
            at = a[: k - 1, : k - 1]
            out = np.zeros(k)
            try:
                out[: k - 1] = np.linalg.solve(np.eye(k - 1) - at, at @ tv)
            except np.linalg.LinAlgError:
                raise AnalyticsError(
                    "the chain keeps value forever at this discount rate; give a horizon"
                ) from None
        else:
            if horizon < 1:
                raise AnalyticsError(f"horizon must be >= 1 month, got {horizon}")
            out, y = np.zeros(k), v
            for _ in range(horizon):
                y = a @ y
                out += y
        return np.asarray(out, dtype=np.float64)

    def _converges(self, discount_rate: float) -> bool:
        # Σ Aᵗ over the tier states converges when the spectral radius of P_tiers / (1 + d) is below 1
        k = len(self.states)
        if k == 1:
            return True
        p = self.probabilities[: k - 1, : k - 1]
        rho = float(np.max(np.abs(np.linalg.eigvals(p)), initial=0.0)) / (1 + discount_rate)
        return rho < 1 - 1e-12

    # ------------------------------------------------------------ show
    def report(self) -> Report:
        """Counts and probabilities (basis points) as a :class:`Report`, one row per (from, to)."""
        k = len(self.states)
        f = np.repeat(np.asarray(self.states), k)
        t = np.tile(np.asarray(self.states), k)
        bp = np.rint(self.probabilities.reshape(-1) * 10_000).astype(np.int64)
        return Report(
            title=f"Monthly tier transitions {self.months[0]}..{self.months[-1]}"
            if self.months
            else "Transitions",
            columns=make_columns(
                {"from_state": f, "to_state": t, "count": self.counts.reshape(-1), "probability_bp": bp}
            ),
        )

    def text(self) -> str:
        """The matrix as text: counts, with probabilities in percent below."""
        w = max([len(s) for s in self.states] + [9])
        head = f"{'from → to':<{w}} " + " ".join(f"{s:>{w}}" for s in self.states)
        rows = []
        for i, s in enumerate(self.states):
            rows.append(f"{s:<{w}} " + " ".join(f"{int(c):>{w},}" for c in self.counts[i]))
            rows.append(f"{'':<{w}} " + " ".join(f"{p * 100:>{w - 1}.2f}%" for p in self.probabilities[i]))
        return "\n".join([head, *rows])

    def to_pandas(self) -> Any:
        """Probabilities as a :class:`pandas.DataFrame` (from-state rows), needs pandas."""
        pd = import_optional("pandas", extra="pandas")
        return pd.DataFrame(
            self.probabilities,
            index=pd.Index(self.states, name="from"),
            columns=pd.Index(self.states, name="to"),
        )

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(s)}</th>" for s in self.states)
        body = "".join(
            f"<tr><th>{html.escape(s)}</th>"
            + "".join(
                f"<td title='{int(c):,} customer-months'>{p * 100:.2f}%</td>"
                for c, p in zip(self.counts[i], self.probabilities[i], strict=True)
            )
            + "</tr>"
            for i, s in enumerate(self.states)
        )
        return f"<div><b>Monthly transitions</b><table><tr><th></th>{head}</tr>{body}</table></div>"

    def __repr__(self) -> str:
        span = f"{self.months[0]}..{self.months[-1]}" if self.months else "no months"
        return f"<MarkovChain {span}: {int(self.counts.sum()):,} transitions>\n{self.text()}"


def _churn_raw(portfolio: Portfolio, policy: Policy, i0: int, i1: int) -> NDArray[np.bool_]:
    """Months ``i0..i1`` in which the churn columns sum below ``churn_below`` (not yet absorbing)."""
    spec = value_spec(policy)
    below = int((spec.markov.churn_below * policy.scale).to_integral_value(rounding=ROUND_CEILING))
    total = np.zeros((portfolio.n_customers, i1 - i0 + 1), np.int64)
    for c in spec.markov.churn_columns:
        total += getattr(portfolio, c)[:, i0 : i1 + 1]  # every cell <= 10**15: no overflow
    have = np.arange(i0, i1 + 1)[None, :] >= portfolio.history_start.astype(np.int64)[:, None]
    return np.asarray((total < below) & have)


def churn_mask(portfolio: Portfolio, policy: Policy | None = None) -> NDArray[np.bool_]:
    """``(n, T)`` booleans: the months in which a customer counts as churned by ``[value.markov]``.

    A month is churned when the sum of ``churn_columns`` is below
    ``churn_below``; churned is absorbing, so every later month is churned
    too.  Months before a customer's data starts are ``False``.

    >>> import numpy as np
    >>> from custvalue import Portfolio, default_policy
    >>> from custvalue.policy import Policy
    >>> doc = default_policy().to_dict()
    >>> doc["value"] = {"margins": {}}
    >>> p = Portfolio.from_arrays(customer_ids=["A"], branch_ids=["X"], start="2026-08",
    ...                           deposits=np.array([[5, 0, 7]]))
    >>> churn_mask(p, Policy.from_dict(doc)).tolist()
    [[False, True, True]]
    """
    pol = default_policy() if policy is None else policy
    raw = _churn_raw(portfolio, pol, 0, portfolio.n_months - 1)
    return readonly(np.logical_or.accumulate(raw, axis=1))


def _window(
    portfolio: Portfolio, spec: ValueSpec, as_of: MonthLike | None, months: int | None
) -> tuple[Month, Month]:
    last, a = resolve_as_of(portfolio, as_of)
    m = spec.markov.months if months is None else int(months)
    if m < 1:
        raise AnalyticsError(f"months must be >= 1, got {m}")
    first = portfolio.months[max(0, a - m)]
    if first == last:
        raise AnalyticsError(
            f"estimating transitions needs at least two months; the portfolio starts at {last}"
        )
    return first, last


def estimate_markov(
    portfolio: Portfolio,
    policy: Policy | None = None,
    *,
    as_of: MonthLike | None = None,
    months: int | None = None,
    churned: ArrayLike | None = None,
    path: TierPath | None = None,
) -> MarkovChain:
    """Estimate the monthly tier transition matrix from the portfolio's last ``months`` months.

    Parameters
    ----------
    portfolio, policy
        The customers and the tier policy (with a ``[value]`` section).
    as_of
        The last month counted (default: the portfolio's last month).
    months
        Transitions counted (default ``[value.markov].months``, 12); fewer when
        the portfolio is shorter.
    churned
        ``(n, T)`` booleans over the portfolio's months overriding the policy's
        churn rule (made absorbing).
    path
        A :func:`~custvalue.tiering.evaluate_path` result covering the months,
        to reuse.

    Examples
    --------
    >>> import numpy as np
    >>> from custvalue import Portfolio, default_policy
    >>> from custvalue.policy import Policy
    >>> doc = default_policy().to_dict()
    >>> doc["value"] = {"margins": {"deposits": "0.015"}}
    >>> aum = np.array([[300_000_00] * 3, [300_000_00, 0, 0], [100, 600_000_00, 600_000_00]])
    >>> p = Portfolio.from_arrays(customer_ids=["A", "B", "C"], branch_ids=["X"] * 3,
    ...                           start="2026-08", deposits=aum)
    >>> chain = estimate_markov(p, Policy.from_dict(doc))
    >>> int(chain.counts[3, 3]), int(chain.counts[3, 5]), int(chain.counts[4, 2])   # gold→gold, →churned
    (2, 1, 1)
    """
    pol = default_policy() if policy is None else policy
    spec = value_spec(pol)
    first, last = _window(portfolio, spec, as_of, months)
    i0, i1 = portfolio.months.index(first), portfolio.months.index(last)
    if path is None:
        path = evaluate_path(portfolio, pol, first=first, last=last)
    try:
        c0, c1 = path.column(first), path.column(last)
    except ValueError:
        raise AnalyticsError(f"the tier path does not cover {first}..{last}") from None
    tiers = path.tier_codes[:, c0 : c1 + 1]
    if churned is None:
        raw = _churn_raw(portfolio, pol, i0, i1)
    else:
        cm = np.asarray(churned, dtype=bool)
        if cm.shape != (portfolio.n_customers, portfolio.n_months):
            raise AnalyticsError(
                f"churned must have shape {(portfolio.n_customers, portfolio.n_months)}, got {cm.shape}"
            )
        raw = cm[:, i0 : i1 + 1]
    gone = np.logical_or.accumulate(raw, axis=1)
    k = len(pol.tier_order) + 1
    n_steps = i1 - i0
    monthly = np.zeros((n_steps, k, k), np.int64)
    returns = np.zeros(k, np.int64)
    prev = np.where(gone[:, 0], k - 1, tiers[:, 0]).astype(np.int64)
    for j in range(1, n_steps + 1):
        nxt = np.where(gone[:, j], k - 1, tiers[:, j]).astype(np.int64)
        ok = (prev >= 0) & (nxt >= 0)
        cell = prev[ok] * k + nxt[ok]
        monthly[j - 1] = np.bincount(cell, minlength=k * k).reshape(k, k)
        # came back (absorbed all the same): the analyst sees how often, by tier
        back = gone[:, j - 1] & ~raw[:, j] & (tiers[:, j] >= 0)
        returns += np.bincount(tiers[back, j].astype(np.int64), minlength=k)[:k]
        prev = nxt
    counts = monthly.sum(axis=0)
    chain = MarkovChain.from_counts(
        (*pol.tier_order, CHURNED),
        counts,
        months=tuple(portfolio.months[j] for j in range(i0, i1 + 1)),
        returns=returns,
    )
    return attrs.evolve(chain, monthly_counts=readonly(monthly))


def reference_transition_counts(
    tier_codes: NDArray[Any], churned: NDArray[np.bool_], k: int
) -> NDArray[np.int64]:
    """Scalar reference: count transitions customer by customer, month by month (tests only).

    ``tier_codes`` (n, M) codes (-1 no data), ``churned`` (n, M) booleans
    (not yet absorbing), ``k`` states including churned.
    """
    counts = np.zeros((k, k), np.int64)
    n, m = tier_codes.shape
    for i in range(n):
        gone = False
        states = []
        for j in range(m):
            gone = gone or bool(churned[i, j])
            t = int(tier_codes[i, j])
            states.append(k - 1 if gone else t)
        for j in range(m - 1):
            if states[j] >= 0 and states[j + 1] >= 0:
                counts[states[j], states[j + 1]] += 1
    return counts


def monthly_discount(spec: ValueSpec) -> tuple[float, int | None]:
    """The monthly discount rate and the horizon in months of a ``[value]`` section.

    A yearly rate ``d`` becomes ``(1 + d)^(1/12) − 1``; a horizon of ``H``
    years, ``12 H`` months.

    >>> from decimal import Decimal
    >>> from custvalue.policy import ValueSpec
    >>> d, h = monthly_discount(ValueSpec(margins=(), discount_rate=Decimal("0.1"), horizon=2))
    >>> round(d, 8), h
    (0.00797414, 24)
    """
    d = float(spec.discount_rate)
    if spec.period == "year":
        return float(np.expm1(np.log1p(d) / 12)), None if spec.horizon is None else 12 * spec.horizon
    return d, spec.horizon


@attrs.frozen(eq=False, repr=False)
class MarkovValue:
    """Expected discounted value per customer from its current state of a :class:`MarkovChain`.

    Attributes
    ----------
    chain : MarkovChain
    as_of : Month
    tier_values : ndarray of float64
        Monthly value of each tier: the mean monthly margin (fen) of its
        customers at the as-of month.
    state_values : ndarray of float64
        Expected discounted value (fen) of starting in each state.
    discount_rate : float
        Monthly.
    horizon : int or None
        Months.
    states : ndarray of int64
        Each customer's state at the as-of month (-1: no data).
    estimate : ndarray of float64
    clv : ndarray of int64
        ``state_values[state]`` rounded :data:`ROUNDING`.
    """

    chain: MarkovChain
    customer_ids: NDArray[np.str_]
    as_of: Month
    tier_values: NDArray[np.float64]
    state_values: NDArray[np.float64]
    discount_rate: float
    horizon: int | None
    states: NDArray[np.int64]
    estimate: NDArray[np.float64]
    clv: NDArray[np.int64]
    rounding: str = ROUNDING

    def report(self) -> Report:
        """Per state: customers now, value per month and expected discounted value (fen, rounded)."""
        k = len(self.chain.states)
        now = np.bincount(self.states[self.states >= 0], minlength=k)
        return Report(
            title=f"Markov lifetime value at {self.as_of} ({self.rounding})",
            columns=make_columns(
                {
                    "state": np.asarray(self.chain.states),
                    "customers": now,
                    "value_per_month": round_fen(np.append(self.tier_values, 0.0)),
                    "expected_value": round_fen(self.state_values),
                }
            ),
            money=("value_per_month", "expected_value"),
        )

    def __repr__(self) -> str:
        vals = ", ".join(
            f"{s} {format_yuan(int(v))}"
            for s, v in zip(self.chain.states, round_fen(self.state_values).tolist(), strict=True)
        )
        return f"<MarkovValue at {self.as_of}: {vals}>"


def markov_value(
    portfolio: Portfolio,
    policy: Policy | None = None,
    *,
    as_of: MonthLike | None = None,
    chain: MarkovChain | None = None,
    tier_codes: ArrayLike | None = None,
    monthly_margin: ArrayLike | None = None,
) -> MarkovValue:
    """Markov-chain lifetime value of every customer (estimating the chain unless one is given).

    The tier values are the mean monthly margins (exact sums, then one
    division) of the customers in each tier at the as-of month; a
    customer's value is the expected discounted value of its state then
    (0 when its balances are below the churn threshold at the as-of month).

    Examples
    --------
    >>> import numpy as np
    >>> from custvalue import Portfolio, default_policy
    >>> from custvalue.policy import Policy
    >>> doc = default_policy().to_dict()
    >>> doc["value"] = {"margins": {"deposits": "0.012"}, "period": "month", "discount_rate": "0.01"}
    >>> p = Portfolio.from_arrays(customer_ids=["A", "B"], branch_ids=["X"] * 2, start="2026-08",
    ...                           deposits=np.array([[300_000_00] * 3, [300_000_00, 0, 0]]))
    >>> mv = markov_value(p, Policy.from_dict(doc))
    >>> mv.chain.probabilities[3].round(4).tolist()          # gold: stays 2 of 3, churns 1 of 3
    [0.0, 0.0, 0.0, 0.6667, 0.0, 0.3333]
    >>> mv.clv.tolist()                                    # 300 yuan a month, discounted
    [58252, 0]
    """
    pol = default_policy() if policy is None else policy
    spec = value_spec(pol)
    month, a = resolve_as_of(portfolio, as_of)
    if chain is None:
        chain = estimate_markov(portfolio, pol, as_of=month)
    if chain.tiers != pol.tier_order:
        raise AnalyticsError(f"the chain's tiers {chain.tiers} are not the policy's {pol.tier_order}")
    k = len(chain.states)
    if tier_codes is None:
        path = evaluate_path(portfolio, pol, first=month, last=month)
        codes = path.tier_codes[:, 0].astype(np.int64)
    else:
        codes = np.asarray(tier_codes, dtype=np.int64)
    gone = _churn_raw(portfolio, pol, a, a)[:, 0]  # churned now (a customer back with balances is valued)
    state = np.where(gone & (codes >= 0), k - 1, codes)
    if monthly_margin is None:
        margin = customer_margin(portfolio, pol, as_of=month, period="month")
    else:
        margin = np.asarray(monthly_margin, dtype=np.int64)
    in_tier = state >= 0
    groups = np.where(in_tier, state, k - 1)
    sums = exact_group_sums(groups, np.where(in_tier, margin, 0), k, what="tier margin")
    n_in = np.bincount(state[in_tier], minlength=k)
    tier_values = np.asarray(
        [float(int(s)) / int(c) if c else 0.0 for s, c in zip(sums[: k - 1], n_in[: k - 1], strict=True)]
    )
    d, h = monthly_discount(spec)
    sv = chain.state_values(tier_values, d, h)
    est = np.where(state >= 0, sv[np.maximum(state, 0)], 0.0)
    return MarkovValue(
        chain=chain,
        customer_ids=portfolio.customer_ids,
        as_of=month,
        tier_values=readonly(tier_values),
        state_values=readonly(sv),
        discount_rate=d,
        horizon=h,
        states=readonly(state),
        estimate=readonly(est),
        clv=readonly(round_fen(est, what="Markov CLV")),
    )
