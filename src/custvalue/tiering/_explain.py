"""Explanations and summaries of tier results (see :meth:`TierResult.explain`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import numpy as np

from .._arrays import exact_group_sums, exact_sum
from ..money import format_yuan
from ..months import Month
from ..policy import EVENT_TYPES, STATUSES
from ..portfolio import CARD_LEVELS
from ..rules import match_unary_tests
from ..rules.ast import CompareTest, EqualTest, IntervalTest, NumberLit
from ._codes import MOVEMENTS
from ._features import compute_features
from ._state import ResultState

__all__ = ["RuleCheck", "RuleTrace", "TierExplanation", "explain_customer", "summary_text"]


@attrs.frozen
class RuleCheck:
    """One input test of a rule, with the customer's value."""

    feature: str
    value: str
    test: str
    passed: bool


@attrs.frozen
class RuleTrace:
    """One tier-table rule evaluated for a customer."""

    rule_id: str
    tier: str
    matched: bool
    checks: tuple[RuleCheck, ...]
    description: str | None


@attrs.frozen
class TierExplanation:
    """Why a customer got its tier, status and movement (data and text).

    Use ``str(explanation)`` or :attr:`text` for people, the fields for programs.
    """

    customer_id: str
    as_of: Month
    tier: str
    status: str
    months_below: int
    previous_tier: str | None
    movement: str
    churned_tier: str | None
    decided_by: tuple[RuleTrace, ...]
    rules: tuple[RuleTrace, ...]
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        """The explanation as text."""
        return "\n".join(self.lines)

    def __str__(self) -> str:
        return self.text


def _feature_value(result: ResultState, name: str, raw: int) -> tuple[Any, str]:
    """(value in policy units for tests, display text) of a feature value."""
    cp = result.compiled
    spec = next(f for f in cp.features if f.name == name)
    if spec.column == "card_level" and spec.op != "run":
        level = CARD_LEVELS[raw]
        return level, f'"{level}"'
    if spec.op == "run":
        return Decimal(raw), f"{raw} months"
    return Decimal(raw) / cp.policy.scale, format_yuan(raw) if cp.policy.scale == 100 else str(raw)


def _label(result: ResultState, name: str) -> str:
    spec = next(f for f in result.compiled.features if f.name == name)
    if name.startswith("max_aum_w") and spec.column == "aum" and spec.op == "max":
        return f"max AUM in {spec.window}+1 months"
    return name


def _test_text(result: ResultState, name: str, ut: Any) -> str:
    """A unary test with money endpoints shown in yuan (``>= 500,000.00``)."""
    cp = result.compiled
    spec = next(f for f in cp.features if f.name == name)
    if spec.column == "card_level" or spec.op == "run" or cp.policy.scale != 100:
        return str(ut.to_feel())

    def num(e: Any) -> str:
        if isinstance(e, NumberLit) and (e.value * 100) == (e.value * 100).to_integral_value():
            return format_yuan(int(e.value * 100))
        return str(e.to_feel())

    parts = []
    for t in ut.tests:
        if isinstance(t, CompareTest):
            parts.append(f"{t.op} {num(t.endpoint)}")
        elif isinstance(t, EqualTest):
            parts.append(num(t.endpoint))
        elif isinstance(t, IntervalTest):
            parts.append(
                f"{'[' if t.low_closed else '('}{num(t.low)}..{num(t.high)}{']' if t.high_closed else ')'}"
            )
        else:  # pragma: no cover - every simple test kind is handled above
            parts.append(str(t.to_feel()))
    body = ", ".join(parts)
    return f"not({body})" if ut.negated else body


def explain_customer(result: ResultState, customer_id: str) -> TierExplanation:
    """The :class:`TierExplanation` of one customer of ``result``."""
    cp = result.compiled
    policy = cp.policy
    i = result.index_of(customer_id)
    sub = result.portfolio.rows(i, i + 1)
    feats = compute_features(sub, cp.features, result.as_of, aum=policy.aum, amount_scale=policy.scale)
    table = cp.table
    names = policy.tier_order
    traces = []
    for r, rule in enumerate(table.rules):
        checks = []
        for clause, ut in zip(table.inputs, table.rule_tests(r), strict=True):
            if ut.is_any:
                continue
            raw = int(feats.values[clause.name][0])
            value, shown = _feature_value(result, clause.name, raw)
            order = CARD_LEVELS if clause.name in cp.coded_features else None
            checks.append(
                RuleCheck(
                    _label(result, clause.name),
                    shown,
                    _test_text(result, clause.name, ut),
                    bool(match_unary_tests(ut, value, order=order)),
                )
            )
        traces.append(
            RuleTrace(
                rule.id,
                names[int(cp.rule_tier[r])],
                all(c.passed for c in checks),
                tuple(checks),
                rule.annotation,
            )
        )
    decided = tuple(t for t in traces if t.rule_id in result.reasons_at(i))
    if result.tier_codes[i] < 0:
        first = result.portfolio.months[int(result.portfolio.history_start[i])]
        line = (
            f"customer {customer_id}, as of {result.as_of}: no tier — the customer's data "
            f"starts in {first}, after the as-of month"
        )
        return TierExplanation(
            customer_id, result.as_of, "", STATUSES[0], 0, None, "new", None, (), tuple(traces), (line,)
        )
    tier = names[int(result.tier_codes[i])]
    spec = policy.tier(tier)
    status = STATUSES[int(result.status_codes[i])]
    k = int(result.months_below[i])
    label = f" ({spec.label_zh})" if spec.label_zh else ""
    lines = [f"customer {customer_id}, as of {result.as_of}: {tier}{label}, status {status}"]
    for t in decided:
        if t.checks:
            tests = "; ".join(f"{c.feature} = {c.value} {c.test}" for c in t.checks)
            lines.append(f"  {tier} because rule {t.rule_id} holds: {tests}")
        else:
            lines.append(f"  {tier}: no higher tier's criterion holds (rule {t.rule_id})")
    if spec.aum_floor is not None and result.reasons_at(i) and result.reasons_at(i)[0].endswith(".aum"):
        floor = format_yuan(int(cp.floor_fen[int(result.tier_codes[i])]))
        if k:
            lines.append(
                f"  {status}: AUM below the {tier} floor {floor} for {k} month(s) in a row (k = {k})"
            )
        else:
            lines.append(f"  normal: AUM at the as-of month is at or above the {tier} floor {floor}")
    mv = MOVEMENTS[int(result.movement_codes[i])]
    prev = names[int(result.previous_tier_codes[i])] if result.previous_tier_codes[i] >= 0 else None
    lines.append(f"  movement {mv}" + (f" from {prev}" if prev else " (no data for the month before)"))
    churned = names[int(result.churned_tier_codes[i])] if result.churned_tier_codes[i] >= 0 else None
    if churned:
        w = policy.tier(churned).window
        lines.append(
            f"  churned {churned}: its AUM criterion lapsed (AUM below its floor for "
            f"{(w or 0) + 1} months in a row)"
        )
    if not result.history_complete[i]:
        lines.append(
            f"  history incomplete: fewer than {cp.history_needed + 1} months of data; "
            "evaluated on the months that exist"
        )
    ev = result.events.names_at(i)
    if ev:
        lines.append(
            "  events: " + ", ".join(f"{e} -> {', '.join(policy.actions(e)) or 'no action'}" for e in ev)
        )
    return TierExplanation(
        customer_id, result.as_of, tier, status, k, prev, mv, churned, decided, tuple(traces), tuple(lines)
    )


def _pct(part: int, whole: int) -> str:
    """``part / whole`` as a percentage with two decimals, rounded half up, in integers."""
    hundredths = (2 * 10000 * part + whole) // (2 * whole) if whole else 0
    return f"{hundredths // 100}.{hundredths % 100:02d}%"


def summary_text(result: ResultState) -> str:
    """The text of :meth:`TierResult.summary`."""
    policy = result.policy
    c = result.counts()
    n = max(len(result), 1)
    aum = result.portfolio.aum(policy.aum)[:, result.portfolio.months.index(result.as_of)]
    grand = exact_sum(aum, what="AUM")
    total = grand or 1
    held = result.tier_codes >= 0
    by_tier = exact_group_sums(result.tier_codes[held], aum[held], len(policy.tier_order), what="tier AUM")
    lines = [
        f"as of {result.as_of}, policy {policy.name!r}: {len(result):,} customers, "
        f"AUM {format_yuan(grand)} yuan",
        "",
        f"{'tier':<12}{'customers':>12}{'share':>9}{'AUM share':>11}",
    ]
    for k, tier in enumerate(policy.tier_order):
        cnt = c["tier"][tier]
        lines.append(f"{tier:<12}{cnt:>12,}{_pct(cnt, n):>9}{_pct(int(by_tier[k]), total):>11}")
    lines += [
        "",
        "status:    " + ", ".join(f"{k} {v:,}" for k, v in c["status"].items()),
        "movement:  " + ", ".join(f"{k} {v:,}" for k, v in c["movement"].items()),
        "churned:   " + (", ".join(f"{k} {v:,}" for k, v in c["churned"].items() if v) or "none"),
        "",
        "events:",
    ]
    ev = result.events.counts()
    for e in EVENT_TYPES:
        acts = ", ".join(policy.actions(e)) or "no action"
        lines.append(f"  {e:<20}{ev[e]:>10,}  -> {acts}")
    incomplete = int(np.count_nonzero(~result.history_complete))
    if incomplete:
        lines.append(
            f"\n{incomplete:,} customers have less than {result.compiled.history_needed + 1} "
            "months of history (history_complete = False)"
        )
    return "\n".join(lines)
