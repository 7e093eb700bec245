"""The shipped example marketing sections (``marketing.toml``) and :func:`marketing_policy`."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

import attrs

from ._campaigns import parse_campaigns
from ._document import Policy
from ._segments import parse_segments

__all__ = ["marketing_policy", "marketing_text"]

_SOURCE = "custvalue/policy/marketing.toml"


def marketing_text() -> str:
    """The shipped example ``[segments]`` and ``[[campaigns]]`` sections (TOML text, with comments)."""
    return resources.files(__package__).joinpath("marketing.toml").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _sections() -> dict[str, Any]:
    doc: dict[str, Any] = tomllib.loads(marketing_text(), parse_float=Decimal)
    return doc


@lru_cache(maxsize=1)
def _default() -> Policy:
    """The shipped default policy (as :func:`custvalue.default_policy` loads it)."""
    text = resources.files(__package__).joinpath("default.toml").read_text(encoding="utf-8")
    return Policy.from_dict(tomllib.loads(text, parse_float=Decimal), source="custvalue/policy/default.toml")


def marketing_policy(base: Policy | None = None) -> Policy:
    """``base`` (default: the default policy) with the shipped segments and campaigns.

    The sections replace any ``[segments]`` and ``[[campaigns]]`` of ``base``;
    the policy keeps its name.  They are checked against ``base`` (its tiers
    and features), like any policy document.

    Examples
    --------
    >>> p = marketing_policy()
    >>> [t.name for t in p.segments.tables], [c.id for c in p.campaigns][:2]
    (['activity', 'lifecycle'], ['retain_at_risk', 'upgrade_near_floor'])
    """
    pol = _default() if base is None else base
    doc = _sections()
    return attrs.evolve(
        pol,
        segments=parse_segments(doc["segments"], _SOURCE),
        campaigns=parse_campaigns(doc["campaigns"], _SOURCE),
    )
