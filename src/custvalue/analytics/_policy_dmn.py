"""A policy's decisions as one DMN model: tier table, segment tables and scoring grade.

:func:`policy_dmn` builds a :class:`custvalue.rules.DmnModel` that DMN
modelers open (``custvalue policy export --format dmn``):

* decision ``tier`` - the policy's FIRST tier table over its features;
* one decision per ``[[segments.tables]]`` entry (FIRST or the table's hit
  policy), reading ``tier`` and earlier segment tables as required decisions
  and everything else (tier-result builtins, segment and policy features) as
  input data;
* with a ``[value.scoring]`` section: ``history_score`` and
  ``forecast_score`` (COLLECT SUM score cards, 0 when no row matches),
  ``bonus`` (FIRST, 1 when no rule matches), the literal expression
  ``score`` = ``decimal((history_score * w1 + forecast_score * w2) / total *
  bonus, places)`` (FEEL ``decimal`` rounds half even, like the policy) and
  ``grade`` (UNIQUE over ``score``, output the grade id).

Amounts are in the policy's unit (yuan), as in the policy document.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from ..policy import Policy, compile_policy
from ..rules import (
    DecisionTable,
    DmnDecision,
    DmnModel,
    LiteralExpression,
    OutputClause,
    ast,
)
from ._scoring import score_tables
from ._segments import segment_table

__all__ = ["policy_dmn"]

#: Tier-result inputs of segment tables that hold text.
_TEXT_BUILTINS = ("tier", "status", "movement", "previous_tier", "churned_tier")


def _kind(table: DecisionTable, k: int) -> str | None:
    """``number`` or ``string`` when every literal the column's tests use has that type."""
    kinds: set[str] = set()
    for r in range(len(table.rules)):
        tests = table.rule_tests(r)[k]
        for t in tests.tests:
            ends = (t.low, t.high) if isinstance(t, ast.IntervalTest) else (getattr(t, "endpoint", None),)
            for e in ends:
                if isinstance(e, ast.NumberLit):
                    kinds.add("number")
                elif isinstance(e, ast.StringLit):
                    kinds.add("string")
                elif e is not None:
                    kinds.add("other")
    return kinds.pop() if len(kinds) == 1 and "other" not in kinds else None


def _num(d: Decimal) -> str:
    return format(d, "f")


def policy_dmn(policy: Policy) -> DmnModel:
    """The policy's tier table, segment tables and scoring grade as one DMN model.

    Parameters
    ----------
    policy
        The policy.

    Returns
    -------
    custvalue.rules.DmnModel
        Write it with :func:`custvalue.rules.write_dmn`; it round-trips
        exactly through :func:`custvalue.rules.read_dmn`.

    Examples
    --------
    >>> from custvalue.policy import marketing_policy
    >>> model = policy_dmn(marketing_policy())
    >>> model.order
    ('tier', 'activity', 'lifecycle')
    >>> model.decision("lifecycle").required_decisions
    ('activity',)
    """
    tables: list[DecisionTable] = [attrs.evolve(compile_policy(policy).table, name="tier")]
    if policy.segments is not None:
        tables.extend(segment_table(t) for t in policy.segments.tables)
    literal: dict[str, LiteralExpression] = {}
    scoring = policy.value.scoring if policy.value is not None else None
    if scoring is not None:
        cards = score_tables(scoring)
        for key, default in (("history", "0"), ("forecast", "0"), ("bonus", "1")):
            t = cards[key]
            out = attrs.evolve(t.outputs[0], name=t.name, default=default)
            tables.append(attrs.evolve(t, outputs=[out]))
        literal["score"] = LiteralExpression(
            f"decimal((history_score * {_num(scoring.history_weight)} + forecast_score * "
            f"{_num(scoring.forecast_weight)}) / {_num(scoring.weights_total)} * bonus, {scoring.places})",
            "number",
        )
        if scoring.grades:
            tables.append(
                DecisionTable(
                    "grade",
                    "UNIQUE",
                    ["score"],
                    [OutputClause("grade", "string", output_values=[g.id for g in scoring.grades])],
                    [(g.id, [g.score], [f'"{g.id}"'], g.label) for g in scoring.grades],
                )
            )
    decided = {t.name for t in tables} | set(literal)
    inputs: dict[str, str | None] = {}
    decisions: list[DmnDecision] = []

    def add(name: str, kind: str | None) -> None:
        if name not in decided:
            inputs.setdefault(name, kind)

    for t in tables:
        if t.name == "grade" and literal:
            decisions.append(
                DmnDecision(
                    "score",
                    required_decisions=["history_score", "forecast_score", "bonus"],
                    type_ref="number",
                    literal=literal["score"],
                )
            )
        names = list(dict.fromkeys(c.source_name or c.name for c in t.inputs))
        for k, clause in enumerate(t.inputs):
            src = clause.source_name or clause.name
            add(src, "string" if src in _TEXT_BUILTINS else _kind(t, k))
        decisions.append(
            DmnDecision(
                t.name,
                t,
                [n for n in names if n not in decided],
                required_decisions=[n for n in names if n in decided],
            )
        )
    if literal and not any(d.name == "score" for d in decisions):
        decisions.append(
            DmnDecision(
                "score",
                required_decisions=["history_score", "forecast_score", "bonus"],
                type_ref="number",
                literal=literal["score"],
            )
        )
    return DmnModel(policy.name, decisions, inputs)
