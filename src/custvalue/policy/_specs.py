"""The parts of a tier policy: features, criteria, status bands, tiers and events (immutable values)."""

from __future__ import annotations

from decimal import Decimal

import attrs

__all__ = ["Criterion", "EventSpec", "FeatureSpec", "StatusBand", "TierSpec"]


@attrs.frozen
class FeatureSpec:
    """A named input computed from a portfolio at the as-of month.

    Parameters
    ----------
    name
        Identifier used in criteria.
    op
        ``value`` (at the as-of month, or ``lag`` months before), ``max``,
        ``min``, ``sum``, ``mean`` (over the as-of month and the ``window``
        months before it) or ``run`` (length of the trailing run of months,
        ending at the as-of month, in which ``test`` holds).
    column
        A portfolio column, or ``aum``.
    window
        W: the window covers W + 1 months.  A ``run`` counts at most W + 1 months.
    lag
        Evaluate as of ``lag`` months before the as-of month.
    test
        S-FEEL unary test for ``run`` (amounts in the policy's unit).
    """

    name: str
    op: str
    column: str
    window: int = 0
    lag: int = 0
    test: str | None = None
    description: str | None = None


@attrs.frozen
class Criterion:
    """A non-AUM criterion of a tier: every ``when`` test must hold."""

    id: str
    when: tuple[tuple[str, str], ...]
    description: str | None = None


@attrs.frozen
class StatusBand:
    """Months below the floor (an S-FEEL unary test on ``k``) mapped to a status."""

    status: str
    months_below: str


@attrs.frozen
class TierSpec:
    """One tier: its AUM criterion (floor and window), status bands and other criteria."""

    id: str
    aum_floor: Decimal | None = None
    window: int | None = None
    status_bands: tuple[StatusBand, ...] = ()
    criteria: tuple[Criterion, ...] = ()
    label: str | None = None
    label_zh: str | None = None
    description: str | None = None

    @property
    def has_aum_criterion(self) -> bool:
        """Whether the tier can be held through AUM (and so has statuses)."""
        return self.aum_floor is not None

    @property
    def is_catch_all(self) -> bool:
        """A tier with no criterion at all: every other customer."""
        return self.aum_floor is None and not self.criteria


@attrs.frozen
class EventSpec:
    """An event type and the action codes it carries."""

    name: str
    actions: tuple[str, ...] = ()
    description: str | None = None
