"""The ``[monitoring]`` section of a policy: asset-fall alerts as S-FEEL tests (SPEC section 6).

An alert fires for a customer when **every** test of its ``when`` table holds
(an AND, like a tier criterion).  The measures an alert may test are
:data:`MONITOR_MEASURES`: amounts in the policy's unit (yuan by default) and
percentages (``*_pct``, in percent: ``"<= -30"`` is a fall of 30 % or more).

The alerts compile to one COLLECT decision table in
:mod:`custvalue.analytics`; this module only parses, checks and writes the
section back out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

import attrs

from ..rules import FeelSyntaxError, parse_unary_tests, tests_names
from ._schema import IDENT, PolicyError

__all__ = [
    "MONITOR_AMOUNTS",
    "MONITOR_MEASURES",
    "MONITOR_PERCENTS",
    "AlertSpec",
    "monitoring_dict",
    "parse_monitoring",
]

#: Measures in the policy's amount unit (stored as fen).
MONITOR_AMOUNTS: Final[tuple[str, ...]] = (
    "aum",
    "deposit_total",
    "investment_total",
    "loan_total",
    "aum_change_mom",
    "aum_change_yoy",
    "aum_avg_3m",
    "aum_avg_6m",
    "aum_avg_12m",
)
#: Measures in percent (shown as basis points rounded half-even, tested exactly; null when the base is 0).
MONITOR_PERCENTS: Final[tuple[str, ...]] = ("aum_change_mom_pct", "aum_change_yoy_pct")
MONITOR_MEASURES: Final[tuple[str, ...]] = MONITOR_AMOUNTS + MONITOR_PERCENTS


@attrs.frozen
class AlertSpec:
    """One asset-monitoring alert of a policy.

    Parameters
    ----------
    id
        Identifier, unique within the policy.
    when
        ``(measure, S-FEEL unary test)`` pairs; the alert fires when all hold.
    description
        Free text for people.
    actions
        Action codes callers act on (the library never sends anything).

    Examples
    --------
    >>> AlertSpec("aum_fall_pct", (("aum_change_mom_pct", "<= -30"),)).measures
    ('aum_change_mom_pct',)
    """

    id: str
    when: tuple[tuple[str, str], ...]
    description: str | None = None
    actions: tuple[str, ...] = ()

    @property
    def measures(self) -> tuple[str, ...]:
        """The measures the alert tests, in document order."""
        return tuple(m for m, _ in self.when)


_FINE = re.compile(r"\d\.\d{3,}")


def _err(path: str, message: str, source: str | None) -> PolicyError:
    return PolicyError(f"{path}: {message}", path=path, file=source)


def _text(v: Any, path: str, source: str | None, *, ident: bool = False) -> str:
    if not isinstance(v, str):
        raise _err(path, f"expected a string, got {type(v).__name__} {v!r}", source)
    if ident and not IDENT.match(v):
        raise _err(
            path, f"{v!r} is not an identifier (letters, digits, _; not starting with a digit)", source
        )
    return v


def parse_monitoring(raw: Any, source: str | None = None) -> tuple[AlertSpec, ...]:
    """Parse and check a ``monitoring`` table: ``{"alerts": [{id, when, description?, actions?}]}``.

    Raises
    ------
    PolicyError
        With the document path (``monitoring.alerts[1].when.aum``) of the problem.

    Examples
    --------
    >>> parse_monitoring({"alerts": [{"id": "fall", "when": {"aum_change_mom": "<= -1000000"}}]})
    (AlertSpec(id='fall', when=(('aum_change_mom', '<= -1000000'),), description=None, actions=()),)
    >>> parse_monitoring({"alerts": [{"id": "x", "when": {"aum_pct": "< 0"}}]})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    custvalue.policy.PolicyError: monitoring.alerts[0].when.aum_pct: unknown measure; known: aum, ...
    """
    if not isinstance(raw, Mapping):
        raise _err("monitoring", f"expected a table, got {type(raw).__name__}", source)
    for k in raw:
        if k != "alerts":
            raise _err(f"monitoring.{k}", "unknown key; allowed: alerts", source)
    alerts_raw = raw.get("alerts", [])
    if not isinstance(alerts_raw, list):
        raise _err("monitoring.alerts", "expected a list of alerts", source)
    out: list[AlertSpec] = []
    seen: set[str] = set()
    for i, ad in enumerate(alerts_raw):
        p = f"monitoring.alerts[{i}]"
        if not isinstance(ad, Mapping):
            raise _err(p, f"expected a table, got {type(ad).__name__}", source)
        for k in ad:
            if k not in ("id", "when", "description", "actions"):
                raise _err(f"{p}.{k}", "unknown key; allowed: id, when, description, actions", source)
        for k in ("id", "when"):
            if k not in ad:
                raise _err(f"{p}.{k}", "missing", source)
        aid = _text(ad["id"], f"{p}.id", source, ident=True)
        if aid in seen:
            raise _err(f"{p}.id", f"duplicate alert id {aid!r}", source)
        seen.add(aid)
        when = ad["when"]
        if not isinstance(when, Mapping) or not when:
            raise _err(f"{p}.when", "expected a non-empty table of measure = test", source)
        pairs = []
        for m, t in when.items():
            wp = f"{p}.when.{m}"
            if m not in MONITOR_MEASURES:
                raise _err(wp, f"unknown measure; known: {', '.join(MONITOR_MEASURES)}", source)
            text = _text(t, wp, source)
            try:
                ut = parse_unary_tests(text)
            except FeelSyntaxError as exc:
                raise _err(wp, f"invalid S-FEEL test {text!r}: {exc}", source) from None
            if tests_names(ut):
                raise _err(wp, f"test {text!r} names other values; write numbers", source)
            if m in MONITOR_PERCENTS and _FINE.search(text):
                raise _err(wp, f"percent thresholds have at most 2 decimals (0.01 %), got {text!r}", source)
            pairs.append((str(m), text))
        acts = ad.get("actions", [])
        if not isinstance(acts, list):
            raise _err(f"{p}.actions", "expected a list of action codes", source)
        desc = ad.get("description")
        out.append(
            AlertSpec(
                id=aid,
                when=tuple(pairs),
                description=None if desc is None else _text(desc, f"{p}.description", source),
                actions=tuple(_text(a, f"{p}.actions[{k}]", source, ident=True) for k, a in enumerate(acts)),
            )
        )
    return tuple(out)


def monitoring_dict(alerts: tuple[AlertSpec, ...]) -> dict[str, Any]:
    """The ``monitoring`` table of a document (inverse of :func:`parse_monitoring`).

    >>> a = parse_monitoring({"alerts": [{"id": "f", "when": {"aum": "< 1"}, "actions": ["x"]}]})
    >>> monitoring_dict(a)
    {'alerts': [{'id': 'f', 'when': {'aum': '< 1'}, 'actions': ['x']}]}
    """
    rows: list[dict[str, Any]] = []
    for a in alerts:
        d: dict[str, Any] = {"id": a.id, "when": dict(a.when)}
        if a.description is not None:
            d["description"] = a.description
        if a.actions:
            d["actions"] = list(a.actions)
        rows.append(d)
    return {"alerts": rows}
