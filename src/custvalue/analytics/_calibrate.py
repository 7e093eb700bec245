"""Threshold calibration: propose tier floors from target shares (SPEC section 6).

:func:`calibrate` proposes, for every tier with an AUM floor, the floor at
which the policy would give the target share of customers (``by="count"``)
or of AUM (``by="aum"``) — **cumulatively**, down the tier order: the target
of a tier is the share of customers at that tier *or above*.

How a floor is found (tier by tier, highest first, vectorised over customers):

1. The customers already at this tier or above without the floor: those a
   higher tier took (with the floors proposed for it) and those a non-AUM
   criterion of this tier admits (loans, cards: these do not depend on
   floors).
2. The target count ``K = ceil(target × n)`` (``by="aum"``: ``K`` fen of the
   as-of AUM, ``ceil(target × total AUM)``); ``n`` counts the customers with
   data at the as-of month.
3. The *exact quantile*: the AUM measure the tier rule tests (``max AUM`` over
   the tier's window, in fen) of the remaining customers, sorted descending;
   ``F*`` is the largest value at which the customers already in plus those
   with a measure ``>= F*`` reach ``K``.
4. **Rounding** to the step ``R`` (default 10,000 yuan): ``direction="down"``
   (the default) proposes ``F = R × floor(F* / R)``; ``"up"`` proposes the
   smallest multiple of ``R`` at which the tier reaches *at most* ``K``.

The bound this gives, exactly (``N(F)`` = customers, or AUM, at this tier or
above with floor ``F``): with ``"down"``, ``N(F) >= K > N(F + R)`` — the floor
is the highest multiple of ``R`` that reaches the target, one step more would
miss it; with ``"up"``, ``N(F) <= K < N(F - R)``.  When the customers already
in reach ``K`` without any AUM (``"down"``), the floor is the smallest
multiple of ``R`` above every remaining measure (nobody else enters).  Floors
must strictly decrease down the tier order; targets that would need
otherwise are an :class:`AnalyticsError` naming the tiers.

Natural breaks (``method="jenks"``) are not offered: the target-share method
is what the bank's policy states; see :doc:`/marketing`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any, Final

import attrs
import numpy as np
from numpy.typing import NDArray

from ..money import INT64_MAX, format_yuan
from ..months import Month
from ..policy import Policy, compile_policy, default_policy
from ..portfolio import CARD_LEVELS, Portfolio
from ..rules import CodedColumn
from ..tiering import MigrationMatrix, compute_features, what_if
from ._errors import AnalyticsError
from ._monitor import as_month
from ._table import Report, make_columns

__all__ = ["CALIBRATE_BY", "Calibration", "calibrate", "parse_targets"]

#: What a target share counts: customers or as-of AUM.
CALIBRATE_BY: Final[tuple[str, ...]] = ("count", "aum")
_DIRECTIONS: Final = ("down", "up")


@attrs.frozen(eq=False, repr=False)
class Calibration:
    """A calibration: the proposed policy, its floors, what they reach, and the migration.

    Attributes
    ----------
    current, proposed : Policy
        The policy calibrated and the evolved copy (named ``<name>-calibrated``).
    as_of : Month
    by : str
        ``"count"`` or ``"aum"``.
    step_fen : int
        The rounding step ``R`` in fen.
    direction : str
    tiers : tuple of str
        The calibrated tiers (those with a target), highest first.
    targets : dict of str to Fraction
        The cumulative target share of each calibrated tier.
    exact_fen, floor_fen : dict of str to int
        The exact quantile ``F*`` and the proposed (rounded) floor, fen.
    reached, target_units, total : dict of str to int / int
        ``N(F)`` at the proposed floor and the target ``K`` (customers or fen),
        and ``n`` (or total AUM).
    migration : MigrationMatrix
        Current tier × proposed tier (counts and AUM), from :func:`custvalue.tiering.what_if`.
    """

    current: Policy
    proposed: Policy
    as_of: Month
    by: str
    step_fen: int
    direction: str
    tiers: tuple[str, ...]
    targets: dict[str, Fraction]
    exact_fen: dict[str, int]
    floor_fen: dict[str, int]
    reached: dict[str, int]
    target_units: dict[str, int]
    total: int
    migration: MigrationMatrix

    def floors(self) -> dict[str, Decimal]:
        """The proposed floors in the policy's unit."""
        return {t: self.proposed.tier(t).aum_floor or Decimal(0) for t in self.tiers}

    def report(self) -> Report:
        """One row per calibrated tier: target, exact quantile, proposed floor, what it reaches."""
        cur = {t: int((self.current.tier(t).aum_floor or 0) * self.current.scale) for t in self.tiers}
        unit = self.total if self.total else 1
        cols = {
            "tier": list(self.tiers),
            "target_bp": [round(self.targets[t] * 10_000) for t in self.tiers],
            "current_floor": [cur[t] for t in self.tiers],
            "exact_quantile": [self.exact_fen[t] for t in self.tiers],
            "proposed_floor": [self.floor_fen[t] for t in self.tiers],
            "target": [self.target_units[t] for t in self.tiers],
            "reached": [self.reached[t] for t in self.tiers],
            "reached_bp": [round(Fraction(self.reached[t], unit) * 10_000) for t in self.tiers],
        }
        money: tuple[str, ...] = ("current_floor", "exact_quantile", "proposed_floor")
        if self.by == "aum":
            money = (*money, "target", "reached")
        return Report(
            title=f"calibration of {self.current.name} by {self.by} as of {self.as_of} "
            f"(cumulative shares, step {format_yuan(self.step_fen)} yuan, rounded {self.direction})",
            columns=make_columns(cols),
            money=money,
        )

    def text(self) -> str:
        """The report and the migration matrix as text."""
        return self.report().text() + "\n\n" + self.migration.text()

    def __repr__(self) -> str:
        floors = ", ".join(f"{t}={format_yuan(self.floor_fen[t])}" for t in self.tiers)
        return f"<Calibration {self.current.name} -> {self.proposed.name} by {self.by}: {floors}>"


def parse_targets(text: str) -> dict[str, Decimal]:
    """``"core=0.01,growth=0.04"`` -> ``{"core": Decimal("0.01"), ...}`` (exact; a ``%`` suffix is percent).

    >>> parse_targets("core=0.01, growth=4%")
    {'core': Decimal('0.01'), 'growth': Decimal('0.04')}
    """
    out: dict[str, Decimal] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, eq, value = part.partition("=")
        if not eq or not name.strip():
            raise AnalyticsError(f"target {part!r} is not tier=share")
        v = value.strip()
        pct = v.endswith("%")
        try:
            d = Decimal(v[:-1] if pct else v)
        except ArithmeticError:
            raise AnalyticsError(f"target {part!r}: {v!r} is not a decimal share") from None
        out[name.strip()] = d / 100 if pct else d
    return out


def _share(v: Any, tier: str) -> Fraction:
    if isinstance(v, bool) or isinstance(v, float):
        raise AnalyticsError(f"target of {tier!r}: {v!r} is not exact; give a Decimal, Fraction or string")
    try:
        f = Fraction(str(v).strip()) if isinstance(v, str) else Fraction(v)
    except (ValueError, TypeError, ZeroDivisionError):
        raise AnalyticsError(f"target of {tier!r}: {v!r} is not a share") from None
    if not 0 <= f <= 1:
        raise AnalyticsError(f"target of {tier!r}: {v} is outside [0, 1]")
    return f


def calibrate(
    portfolio: Portfolio,
    policy: Policy | None = None,
    targets: Mapping[str, Any] | None = None,
    *,
    as_of: Month | str | None = None,
    by: str = "count",
    step: Decimal | int | str = 10_000,
    direction: str = "down",
    cumulative: bool = False,
    name: str | None = None,
) -> Calibration:
    """Propose tier floors that give target shares of customers (or of AUM) per tier.

    Parameters
    ----------
    portfolio
        The customers (every customer with data at the as-of month counts).
    policy
        The policy whose floors are calibrated (default: the default policy).
    targets
        Share per tier (``Decimal``, ``Fraction``, ``int`` or decimal string;
        floats are refused as inexact), for tiers with an AUM floor.  By
        default each is the tier's own share and the shares of the tiers above
        it are added up (tier order); ``cumulative=True`` reads each as the
        share at that tier *or above*.  A tier left out keeps its floor (and
        what it admits counts for the tiers below).
    as_of
        The month (default: the portfolio's last).
    by
        ``"count"`` (share of customers) or ``"aum"`` (share of the as-of AUM).
    step
        Rounding step in the policy's unit (yuan; default 10,000), > 0.
    direction
        ``"down"`` (reach at least the target) or ``"up"`` (at most); see the module notes.
    name
        The proposed policy's name (default ``"<name>-calibrated"``).

    Returns
    -------
    Calibration

    Raises
    ------
    AnalyticsError
        Unknown tiers, tiers without an AUM floor, shares outside [0, 1] or
        summing above 1, or targets that would need floors not strictly
        decreasing down the tier order.

    Examples
    --------
    >>> from custvalue.synthetic import generate
    >>> p = generate(5000, seed=2)
    >>> c = calibrate(p, targets={"core": "0.001", "growth": "0.002", "platinum": "0.09",
    ...                           "gold": "0.05"})
    >>> {t: str(f) for t, f in c.floors().items()}
    {'core': '10740000', 'growth': '4780000', 'platinum': '580000', 'gold': '160000'}
    >>> c.target_units
    {'core': 5, 'growth': 15, 'platinum': 465, 'gold': 715}
    >>> c.reached
    {'core': 5, 'growth': 15, 'platinum': 465, 'gold': 726}
    """
    pol = default_policy() if policy is None else policy
    if not isinstance(pol, Policy):
        raise AnalyticsError(f"policy must be a Policy, got {type(pol).__name__}")
    if by not in CALIBRATE_BY:
        raise AnalyticsError(f"by must be one of {', '.join(CALIBRATE_BY)}, got {by!r}")
    if direction not in _DIRECTIONS:
        raise AnalyticsError(f"direction must be one of {', '.join(_DIRECTIONS)}, got {direction!r}")
    month = portfolio.months.stop if as_of is None else as_month(as_of, "as-of month")
    if month not in portfolio.months:
        raise AnalyticsError(f"as-of month {month} is outside the portfolio's months {portfolio.months}")
    step_fen = _step_fen(step, pol)
    shares = _targets(pol, targets or {}, cumulative)
    a = portfolio.months.index(month)
    has = portfolio.history_start.astype(np.int64) <= a
    cp = compile_policy(pol)
    frame = compute_features(portfolio, cp.features, month, aum=pol.aum, amount_scale=pol.scale)
    cols: dict[str, Any] = dict(frame.values)
    for fname in cp.coded_features:
        cols[fname] = CodedColumn(cols[fname], CARD_LEVELS, ordered=True)
    matches = cp.compiled_table.match_matrix(cols, n_rows=portfolio.n_customers)
    if by == "count":
        weights = has.astype(np.int64)
    else:
        weights = np.zeros(portfolio.n_customers, dtype=np.int64)
        for c in pol.aum:  # bounded cells: a customer's sum cannot overflow
            weights += portfolio.column(c)[:, a]
        weights[~has] = 0
    total = _exact_sum(weights)
    at_least = np.zeros(portfolio.n_customers, dtype=bool)  # at this tier or above, by what is decided
    floors: dict[str, int] = {}
    exact: dict[str, int] = {}
    reached: dict[str, int] = {}
    want: dict[str, int] = {}
    prev_floor: tuple[str, int] | None = None
    for ti, t in enumerate(pol.tiers):
        rules = np.flatnonzero(np.asarray(cp.rule_tier) == ti)
        aum_rule = int(cp.aum_rule[ti])
        other = [int(r) for r in rules if int(r) != aum_rule]
        base = at_least.copy()
        for r in other:
            base |= matches[r]
        base &= has
        if t.aum_floor is None or t.window is None:
            at_least = base
            continue
        measure = frame.values[f"max_aum_w{t.window}"]
        if t.id in shares:
            k = _target_units(shares[t.id], total)
            reach = _exact_sum(weights[base], total)
            if reach > k and direction == "down":
                raise AnalyticsError(
                    f"infeasible targets: the tiers above {t.id!r} and its other criteria already "
                    f"give {_units(reach, by)} at {t.id} or above, more than the target "
                    f"{_units(k, by)}: no floor can give the target (give {t.id!r} a larger share)"
                )
            f_exact, f = _floor(measure, weights, base, has, k, step_fen, direction, total)
            want[t.id] = k
            exact[t.id] = f_exact
            if f <= 0:
                raise AnalyticsError(
                    f"infeasible targets: tier {t.id!r} would need a floor of 0 (exact quantile "
                    f"{format_yuan(f_exact)} yuan, below the rounding step); floors are positive "
                    "(round to a smaller step or give the tier a smaller share)"
                )
        else:
            f = int(cp.floor_fen[ti])
        if prev_floor is not None and f >= prev_floor[1] and t.id not in shares:
            raise AnalyticsError(
                f"infeasible targets: tier {t.id!r} keeps its floor {format_yuan(f)} yuan (it has no "
                f"target), not below the proposed floor {format_yuan(prev_floor[1])} of "
                f"{prev_floor[0]!r}; floors must strictly decrease down the tier order (give "
                f"{t.id!r} a target too)"
            )
        if prev_floor is not None and f >= prev_floor[1]:
            raise AnalyticsError(
                f"infeasible targets: tier {t.id!r} would need a floor of {format_yuan(f)} yuan, not "
                f"below the floor {format_yuan(prev_floor[1])} of {prev_floor[0]!r}; floors must "
                "strictly decrease down the tier order (give the lower tier a larger share)"
            )
        prev_floor = (t.id, f)
        floors[t.id] = f
        at_least = base | (has & (measure >= f))
        if t.id in shares:
            reached[t.id] = _exact_sum(weights[at_least], total)
    proposed = pol
    for tid, f in floors.items():
        if tid in shares:
            proposed = proposed.with_tier(tid, aum_floor=Decimal(f) / pol.scale)
    proposed = attrs.evolve(proposed, name=name or f"{pol.name}-calibrated")
    tiers = tuple(t for t in pol.tier_order if t in shares)
    return Calibration(
        current=pol,
        proposed=proposed,
        as_of=month,
        by=by,
        step_fen=step_fen,
        direction=direction,
        tiers=tiers,
        targets={t: shares[t] for t in tiers},
        exact_fen={t: exact[t] for t in tiers},
        floor_fen={t: floors[t] for t in tiers},
        reached={t: reached[t] for t in tiers},
        target_units={t: want[t] for t in tiers},
        total=total,
        migration=what_if(portfolio, pol, proposed, as_of=month),
    )


def _units(v: int, by: str) -> str:
    return f"{v:,} customers" if by == "count" else f"{format_yuan(v)} yuan of AUM"


def _step_fen(step: Decimal | int | str, pol: Policy) -> int:
    try:
        d = Decimal(step) if not isinstance(step, float) else None
    except ArithmeticError:
        d = None
    if d is None or not d.is_finite() or d <= 0:
        raise AnalyticsError(f"the rounding step must be a positive amount, got {step!r}")
    fen = d * pol.scale
    if fen != fen.to_integral_value():
        raise AnalyticsError(f"the rounding step {step} is not a whole number of fen")
    if fen > 10**17:
        raise AnalyticsError(f"the rounding step {step} is too large")
    return int(fen)


def _targets(pol: Policy, targets: Mapping[str, Any], cumulative: bool) -> dict[str, Fraction]:
    for tid in targets:
        if tid not in pol.tier_order:
            raise AnalyticsError(f"unknown tier {tid!r} in the targets; tiers: {', '.join(pol.tier_order)}")
        if pol.tier(tid).aum_floor is None:
            raise AnalyticsError(f"tier {tid!r} has no AUM floor to calibrate")
    own = {t: _share(v, t) for t, v in targets.items()}
    out: dict[str, Fraction] = {}
    running = Fraction(0)
    last = Fraction(0)
    for t in pol.tier_order:
        if t not in own:
            continue
        if cumulative:
            if own[t] < last:
                raise AnalyticsError(
                    f"cumulative target of {t!r} ({own[t]}) is below the tier above it ({last})"
                )
            out[t] = last = own[t]
        else:
            running += own[t]
            out[t] = running
    if out and max(out.values()) > 1:
        raise AnalyticsError(f"the target shares add up to {max(out.values())}, more than 1")
    return out


def _target_units(share: Fraction, total: int) -> int:
    return math.ceil(share * total)


def _exact_sum(values: NDArray[np.int64], bound: int | None = None) -> int:
    """The exact sum of non-negative int64 values (through Python integers when it may pass int64)."""
    if bound is not None and bound <= INT64_MAX:
        return int(values.sum())
    if values.size == 0 or int(values.max()) <= INT64_MAX // max(values.size, 1):
        return int(values.sum())
    return int(values.sum(dtype=object))


def _floor(
    measure: NDArray[np.int64],
    weights: NDArray[np.int64],
    base: NDArray[np.bool_],
    has: NDArray[np.bool_],
    k: int,
    step: int,
    direction: str,
    total: int,
) -> tuple[int, int]:
    """(exact quantile, rounded floor) for target ``k`` (see the module notes).

    Weights are non-negative, so the cumulative sums down the sorted measures
    never decrease and one binary search finds the cut.
    """
    cand = has & ~base
    m = measure[cand]
    w = weights[cand]
    already = _exact_sum(weights[base], total)
    need = k - already
    order = np.argsort(-m, kind="stable")
    ms = m[order]
    cum: NDArray[Any] = np.cumsum(w[order] if total <= INT64_MAX else w[order].astype(object))
    top = int(ms[0]) if ms.size else 0
    if direction == "down":
        if need <= 0:  # the target is met exactly already: nobody else enters
            f = (top // step + 1) * step
            return f, f
        j = int(np.searchsorted(cum, need, side="left"))
        if j >= len(cum):
            raise AnalyticsError(
                f"infeasible target: even a floor of 0 reaches only "
                f"{already + int(cum[-1] if len(cum) else 0)}"
                f" of {k}"
            )
        f_exact = int(ms[j])
        return f_exact, f_exact // step * step
    # "up": the smallest multiple of the step at which at most ``need`` more enter
    if need < 0:
        raise AnalyticsError(f"infeasible target: {already} are in already, more than the {k} wanted")
    # the largest prefix (cut between distinct values) whose sum is <= need
    ends = np.flatnonzero(np.append(ms[1:] != ms[:-1], True)) if ms.size else np.zeros(0, np.intp)
    fit = int(np.searchsorted(cum[ends], need, side="right"))  # groups of equal measures that fit
    if fit >= len(ends):  # everyone may enter: the lowest floor there is
        return 0, step
    f_exact = int(ms[ends[fit]]) + 1  # just above the first value that would overshoot
    return f_exact, -(-f_exact // step) * step
