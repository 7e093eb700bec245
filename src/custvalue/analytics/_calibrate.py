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

**Natural breaks** (``method="natural-breaks"``, the ``jenks`` extra:
`jenkspy <https://pypi.org/project/jenkspy/>`_) propose floors from the
shape of the AUM distribution instead of target shares: the Fisher-Jenks
optimal classification of the tier rule's AUM measure (customers with data
at the as-of month) into ``k + 1`` classes for ``k`` calibrated tiers; the
highest tier's floor is just above the top break, the next tier's above the
next break, and so on.  The exact floor ``F*`` is the lowest AUM of the class
above a break ``b`` (the largest AUM of the class below); rounded ``"down"``
it is ``R × floor(F* / R)``, ``"up"`` the smallest multiple of ``R`` above
``b``: both keep the two classes apart whenever a multiple of ``R`` lies in
``(b, F*]``, otherwise ``"down"`` lets the top of the class below in and
``"up"`` leaves the bottom of the class above out.  Jenks is
``O(k·n²)``: with more than ``sample`` customers (default 5,000) it runs on a
deterministic sample, the ``sample`` evenly spaced order statistics of the
sorted measure (the ``i``-th at rank ``⌊(i + ½)·n / sample⌋``, ``i = 0 ..
sample − 1``), which keeps the distribution's shape; the breaks are values of
that sample, in exact fen.  ``reached`` is what the proposed floors give.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, Final

import attrs
import numpy as np
from numpy.typing import NDArray

from .._optional import import_optional
from ..money import INT64_MAX, format_yuan
from ..months import Month
from ..policy import Policy, compile_policy, default_policy
from ..portfolio import CARD_LEVELS, Portfolio
from ..rules import CodedColumn
from ..tiering import MigrationMatrix, compute_features, what_if
from ._errors import AnalyticsError
from ._monitor import as_month
from ._table import Report, make_columns

__all__ = ["CALIBRATE_BY", "CALIBRATE_METHODS", "Calibration", "calibrate", "natural_breaks", "parse_targets"]

#: What a target share counts: customers or as-of AUM.
CALIBRATE_BY: Final[tuple[str, ...]] = ("count", "aum")
#: How floors are found: from target shares (quantiles) or from natural breaks (Fisher-Jenks).
CALIBRATE_METHODS: Final[tuple[str, ...]] = ("target-shares", "natural-breaks")
#: Largest number of values Jenks classifies (a deterministic sample of order statistics beyond it).
JENKS_SAMPLE: Final = 5000
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
    method : str
        ``"target-shares"`` or ``"natural-breaks"`` (then ``exact_fen`` holds
        the lowest AUM of the class above each Jenks break, and ``targets``
        and ``target_units`` what the proposed floors reach).
    sample_size : int or None
        Natural breaks: how many values Jenks classified (fewer than the
        customers when sampled).
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
    method: str = "target-shares"
    sample_size: int | None = None

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
            ("exact_quantile" if self.method == "target-shares" else "exact_break"): [
                self.exact_fen[t] for t in self.tiers
            ],
            "proposed_floor": [self.floor_fen[t] for t in self.tiers],
            "target": [self.target_units[t] for t in self.tiers],
            "reached": [self.reached[t] for t in self.tiers],
            "reached_bp": [round(Fraction(self.reached[t], unit) * 10_000) for t in self.tiers],
        }
        exact_col = "exact_quantile" if self.method == "target-shares" else "exact_break"
        money: tuple[str, ...] = ("current_floor", exact_col, "proposed_floor")
        if self.by == "aum":
            money = (*money, "target", "reached")
        how = (
            "cumulative shares"
            if self.method == "target-shares"
            else f"natural breaks of {self.sample_size:,} values, {len(self.tiers) + 1} classes"
        )
        return Report(
            title=f"calibration of {self.current.name} by {self.by} as of {self.as_of} "
            f"({how}, step {format_yuan(self.step_fen)} yuan, rounded {self.direction})",
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
    method: str = "target-shares",
    tiers: Sequence[str] | None = None,
    sample: int = JENKS_SAMPLE,
) -> Calibration:
    """Propose tier floors that give target shares of customers (or of AUM) per tier.

    Or, with ``method="natural-breaks"``, floors at the natural breaks of
    the AUM distribution (see the module notes; needs the ``jenks`` extra).

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
    method
        ``"target-shares"`` (default) or ``"natural-breaks"``.
    tiers
        Natural breaks: the tiers to calibrate (default every tier with an
        AUM floor); ``targets`` must then be omitted.
    sample
        Natural breaks: Jenks runs on at most this many values (a
        deterministic sample of order statistics, see the module notes).

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

    Natural breaks of the same portfolio (the ``jenks`` extra), floors rounded
    down to whole 10,000 yuan:

    >>> nb = calibrate(p, method="natural-breaks")
    >>> {t: str(f) for t, f in nb.floors().items()}
    {'core': '26500000', 'growth': '17040000', 'platinum': '2430000', 'gold': '510000'}
    >>> nb.reached, nb.sample_size
    ({'core': 2, 'growth': 8, 'platinum': 397, 'gold': 501}, 5000)
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
    if method not in CALIBRATE_METHODS:
        raise AnalyticsError(f"method must be one of {', '.join(CALIBRATE_METHODS)}, got {method!r}")
    breaks = method == "natural-breaks"
    if breaks:
        if targets:
            raise AnalyticsError(
                "natural breaks take no target shares; name the tiers to calibrate (tiers=...)"
            )
        nb_tiers = _break_tiers(pol, tiers)
        shares = dict.fromkeys(nb_tiers, Fraction(0))
    else:
        if tiers is not None:
            raise AnalyticsError("tiers=... is for natural breaks; give target shares per tier instead")
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
    jenks: dict[int, tuple[list[int], int]] = {}
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
        if breaks and t.id in shares:
            if t.window not in jenks:
                jenks[t.window] = natural_breaks(measure[has], len(shares) + 1, sample=sample)
            cuts, _ = jenks[t.window]
            b = cuts[len(shares) - 1 - list(shares).index(t.id)]  # the top of the class below
            f_exact = int(measure[has & (measure > b)].min())  # the bottom of the class above
            # down: the largest step multiple <= the class's bottom; up: the smallest one above the break
            f = f_exact // step_fen * step_fen if direction == "down" else (b // step_fen + 1) * step_fen
            exact[t.id] = f_exact
            if f <= 0:
                raise AnalyticsError(
                    f"natural breaks: tier {t.id!r} would need a floor of 0 (break at "
                    f"{format_yuan(f_exact)} yuan, below the rounding step); round to a smaller step"
                )
        elif t.id in shares:
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
        if prev_floor is not None and f >= prev_floor[1] and breaks and t.id in shares:
            why = (
                "two breaks round to the same step; round to a smaller step or calibrate fewer tiers"
                if prev_floor[0] in shares
                else f"{prev_floor[0]!r} keeps its floor; calibrate it too"
            )
            raise AnalyticsError(
                f"natural breaks: tier {t.id!r} would get a floor of {format_yuan(f)} yuan, not below "
                f"the floor {format_yuan(prev_floor[1])} of {prev_floor[0]!r} ({why})"
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
    done = tuple(t for t in pol.tier_order if t in shares)
    if breaks:
        want = dict(reached)
        shares = {t: Fraction(reached[t], total or 1) for t in done}
    return Calibration(
        current=pol,
        proposed=proposed,
        as_of=month,
        by=by,
        step_fen=step_fen,
        direction=direction,
        tiers=done,
        targets={t: shares[t] for t in done},
        exact_fen={t: exact[t] for t in done},
        floor_fen={t: floors[t] for t in done},
        reached={t: reached[t] for t in done},
        target_units={t: want[t] for t in done},
        total=total,
        migration=what_if(portfolio, pol, proposed, as_of=month),
        method=method,
        sample_size=next(iter(jenks.values()))[1] if jenks else None,
    )


def _break_tiers(pol: Policy, tiers: Sequence[str] | None) -> list[str]:
    """The tiers natural breaks calibrate, in tier order (default: every tier with an AUM floor)."""
    if tiers is None:
        out = [t.id for t in pol.tiers if t.aum_floor is not None and t.window is not None]
    else:
        if isinstance(tiers, str):
            raise AnalyticsError(f"tiers must be a list of tier ids, got the string {tiers!r}")
        for tid in tiers:
            if tid not in pol.tier_order:
                raise AnalyticsError(f"unknown tier {tid!r}; tiers: {', '.join(pol.tier_order)}")
            if pol.tier(tid).aum_floor is None:
                raise AnalyticsError(f"tier {tid!r} has no AUM floor to calibrate")
        out = [t for t in pol.tier_order if t in set(tiers)]
    if not out:
        raise AnalyticsError("natural breaks: no tier to calibrate")
    return out


def jenks_sample(values: NDArray[np.int64], size: int) -> NDArray[np.int64]:
    """A deterministic sample of ``size`` evenly spaced order statistics (all values when fewer).

    The ``i``-th value has rank ``⌊(i + ½)·n / size⌋`` in the sorted values.

    >>> jenks_sample(np.arange(10, dtype=np.int64)[::-1], 4).tolist()
    [1, 3, 6, 8]
    """
    v = np.sort(np.asarray(values, dtype=np.int64))
    n = v.size
    if n <= size:
        return v
    ranks = ((2 * np.arange(size, dtype=np.int64) + 1) * n) // (2 * size)
    return v[ranks]


def natural_breaks(
    values: NDArray[np.int64], n_classes: int, *, sample: int = JENKS_SAMPLE
) -> tuple[list[int], int]:
    """The Fisher-Jenks breaks of integer ``values`` into ``n_classes`` classes (jenkspy).

    Returns the ``n_classes - 1`` inner breaks, ascending — each the largest
    value of its class, an exact value of the (sampled) data — and the number
    of values classified (at most ``sample``, see :func:`jenks_sample`).

    Raises
    ------
    MissingDependencyError
        Without jenkspy (``pip install 'custvalue[jenks]'``).
    AnalyticsError
        Fewer distinct values than classes.

    Examples
    --------
    >>> natural_breaks(np.array([1, 2, 3, 10, 11, 12, 50, 51]), 3)
    ([3, 12], 8)
    """
    if n_classes < 2:
        raise AnalyticsError(f"natural breaks need at least 2 classes, got {n_classes}")
    if sample < n_classes:
        raise AnalyticsError(f"the Jenks sample ({sample}) must hold at least one value per class")
    jenkspy = import_optional("jenkspy", extra="jenks", feature="natural-breaks calibration")
    data = jenks_sample(values, sample)
    distinct = np.unique(data)
    if distinct.size < n_classes:
        raise AnalyticsError(
            f"natural breaks: {distinct.size} distinct AUM value(s) cannot make {n_classes} classes"
        )
    if distinct.size and int(np.abs(distinct).max()) > 2**53:
        raise AnalyticsError("natural breaks: AUM values beyond 2**53 fen cannot be classified exactly")
    raw = jenkspy.jenks_breaks(data.astype(np.float64), n_classes=n_classes)
    inner = [float(b) for b in list(raw)[1:-1]]
    # each break is a value of the data: map it back to the exact integer (the largest value <= it)
    cuts = [int(distinct[max(int(np.searchsorted(distinct, b, side="right")) - 1, 0)]) for b in inner]
    return cuts, int(data.size)


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
