"""The vocabulary of policy documents: schema id, feature ops, statuses, events, errors."""

from __future__ import annotations

import re
from typing import Final

from .._errors import InputError
from ..portfolio import MONEY_COLUMNS

__all__ = [
    "EVENT_TYPES",
    "FEATURE_COLUMNS",
    "FEATURE_OPS",
    "IDENT",
    "RESERVED_PREFIX",
    "SCHEMA",
    "STATUSES",
    "PolicyError",
]

SCHEMA: Final = "custvalue.policy/1"
#: Feature operations over the month axis.
FEATURE_OPS: Final[tuple[str, ...]] = ("value", "max", "min", "sum", "mean", "run")
#: Statuses of a held tier; ``normal`` is implied by ``months_below == 0``.
STATUSES: Final[tuple[str, ...]] = ("normal", "observation", "attention")
#: Events an evaluation emits.
EVENT_TYPES: Final[tuple[str, ...]] = (
    "tier_up",
    "tier_down",
    "entered_observation",
    "entered_attention",
    "churned",
)
FEATURE_COLUMNS: Final[tuple[str, ...]] = (*MONEY_COLUMNS, "card_level", "aum")
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED_PREFIX = "max_aum_w"


class PolicyError(InputError):
    """An invalid policy document; ``path`` names the place (``tiers[2].criteria[1].when``)."""
