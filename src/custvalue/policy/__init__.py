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
from ._campaigns import CAP_SCOPES, CampaignSpec, ContactCap
from ._compiled import CompiledPolicy, compile_policy
from ._document import Policy, load_policy
from ._marketing import marketing_policy, marketing_text
from ._monitoring import MONITOR_MEASURES, AlertSpec
from ._schema import EVENT_TYPES, FEATURE_OPS, STATUSES, PolicyError
from ._segments import (
    MOVEMENT_NAMES,
    SEGMENT_BUILTINS,
    SEGMENT_FEATURE_OPS,
    SegmentFeature,
    SegmentRule,
    Segments,
    SegmentTable,
)
from ._specs import Criterion, EventSpec, FeatureSpec, StatusBand, TierSpec
from ._transactions import RULE_KINDS, TRANSACTION_DIRECTIONS, TransactionRule
from ._value import (
    BALANCE_COLUMNS,
    FORMULA_COMPONENTS,
    VALUE_MEASURES,
    BonusRule,
    FormulaComponent,
    GradeBand,
    MarkovSpec,
    Quadrant,
    ScoreRule,
    ScoringSpec,
    ValueMatrixSpec,
    ValueSpec,
    grade_table,
    value_measure_kinds,
)
from ._versions import PolicyChange, PolicyDiff, PolicySet, diff_policies, load_policy_set

__all__ = [
    "BALANCE_COLUMNS",
    "CAP_SCOPES",
    "EVENT_TYPES",
    "FEATURE_OPS",
    "FORMULA_COMPONENTS",
    "MONITOR_MEASURES",
    "MOVEMENT_NAMES",
    "RULE_KINDS",
    "SEGMENT_BUILTINS",
    "SEGMENT_FEATURE_OPS",
    "STATUSES",
    "TRANSACTION_DIRECTIONS",
    "VALUE_MEASURES",
    "AlertSpec",
    "BonusRule",
    "CampaignSpec",
    "CompiledPolicy",
    "ContactCap",
    "Criterion",
    "EventSpec",
    "FeatureSpec",
    "FormulaComponent",
    "GradeBand",
    "MarkovSpec",
    "Policy",
    "PolicyChange",
    "PolicyDiff",
    "PolicyError",
    "PolicySet",
    "Quadrant",
    "ScoreRule",
    "ScoringSpec",
    "SegmentFeature",
    "SegmentRule",
    "SegmentTable",
    "Segments",
    "StatusBand",
    "TierSpec",
    "TransactionRule",
    "ValueMatrixSpec",
    "ValueSpec",
    "compile_policy",
    "default_policy",
    "default_policy_text",
    "diff_policies",
    "grade_table",
    "load_policy",
    "load_policy_set",
    "marketing_policy",
    "marketing_text",
    "value_measure_kinds",
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
