"""Tier policies as data: documents, validation, compilation and the default policy.

A policy document is a plain dict (JSON or TOML on disk) naming the AUM
definition, features, tiers (highest first) with their AUM floor, window,
status bands and other criteria, and the actions of each event.  It is
validated on load, round-trips exactly, and never executes code.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from functools import lru_cache
from importlib import resources

from .._errors import publish
from ._compiled import CompiledPolicy, compile_policy
from ._document import Policy, load_policy
from ._monitoring import MONITOR_MEASURES, AlertSpec
from ._schema import EVENT_TYPES, FEATURE_OPS, STATUSES, PolicyError
from ._specs import Criterion, EventSpec, FeatureSpec, StatusBand, TierSpec
from ._transactions import RULE_KINDS, TRANSACTION_DIRECTIONS, TransactionRule
from ._versions import PolicyChange, PolicyDiff, PolicySet, diff_policies, load_policy_set

__all__ = [
    "EVENT_TYPES",
    "FEATURE_OPS",
    "MONITOR_MEASURES",
    "RULE_KINDS",
    "STATUSES",
    "TRANSACTION_DIRECTIONS",
    "AlertSpec",
    "CompiledPolicy",
    "Criterion",
    "EventSpec",
    "FeatureSpec",
    "Policy",
    "PolicyChange",
    "PolicyDiff",
    "PolicyError",
    "PolicySet",
    "StatusBand",
    "TierSpec",
    "TransactionRule",
    "compile_policy",
    "default_policy",
    "default_policy_text",
    "diff_policies",
    "load_policy",
    "load_policy_set",
]

publish(__name__, globals())


def default_policy_text() -> str:
    """The shipped default policy document (TOML text, with its comments)."""
    return resources.files(__package__).joinpath("default.toml").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def default_policy() -> Policy:
    """The default tier policy of the SPEC (section 3), loaded from the shipped document.

    Examples
    --------
    >>> p = default_policy()
    >>> [(t.id, t.aum_floor, t.window) for t in p.tiers][:2]
    [('core', Decimal('10000000'), 12), ('growth', Decimal('5000000'), 12)]
    >>> p.actions("entered_attention")[:2]
    ('sms_rm', 'workstation_alert')
    """
    doc = tomllib.loads(default_policy_text(), parse_float=Decimal)
    return Policy.from_dict(doc, source="custvalue/policy/default.toml")
