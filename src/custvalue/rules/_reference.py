"""Scalar reference interpreter: evaluates one row straight from the AST."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TypeAlias

import attrs

from ._feel import FEEL_CONTEXT, Value, evaluate_expression, normalize_value, test_truth
from ._table import (
    Aggregation,
    DecisionTable,
    HitPolicy,
    HitPolicyViolation,
    TableError,
    same_value,
)

__all__ = ["DecisionResult", "ResultValue", "evaluate_table_scalar", "match_rules_scalar"]

#: A decision result: a value, a dict for several outputs, or a list of those.
ResultValue: TypeAlias = Value | dict[str, Value] | list[Value | dict[str, Value]]


@attrs.frozen
class DecisionResult:
    """Result of evaluating a table on one row.

    Attributes
    ----------
    value
        The decision value per the hit policy.
    matched_rule_ids
        Every rule that matched, in rule order.
    hit_rule_ids
        The rules that produced ``value`` (for single-hit policies the chosen
        rule; for multi-hit policies all matches in result order).
    """

    value: ResultValue
    matched_rule_ids: tuple[str, ...]
    hit_rule_ids: tuple[str, ...]


def _resolver(
    table: DecisionTable, inputs: Mapping[str, object], constants: Mapping[str, object] | None
) -> tuple[object, object]:
    consts = constants or {}

    def resolve(name: str) -> Value:
        if name in consts:
            return normalize_value(consts[name])
        if name in inputs:
            return normalize_value(inputs[name])
        raise TableError(f"unknown name {name!r}", table=table.name)

    def resolve_input(name: str) -> Value:
        if name in inputs:
            return normalize_value(inputs[name])
        if name in consts:
            return normalize_value(consts[name])
        return None  # a missing input is null (DMN TCK convention)

    return resolve, resolve_input


def match_rules_scalar(
    table: DecisionTable,
    inputs: Mapping[str, object],
    constants: Mapping[str, object] | None = None,
) -> list[int]:
    """Indexes of the rules that match one row, in rule order."""
    resolve, resolve_input = _resolver(table, inputs, constants)
    values = [
        evaluate_expression(clause.expression, resolve_input)  # type: ignore[arg-type]
        for clause in table.inputs
    ]
    matched: list[int] = []
    for r in range(len(table.rules)):
        tests = table.rule_tests(r)
        if all(
            test_truth(t, v, resolve) is True  # type: ignore[arg-type]
            for t, v in zip(tests, values, strict=True)
        ):
            matched.append(r)
    return matched


def _aggregate(agg: Aggregation, values: list[Value]) -> Value:
    if agg is Aggregation.COUNT:
        return Decimal(len(values))
    nums = [v for v in values if isinstance(v, Decimal)]
    if agg is Aggregation.SUM:
        total = Decimal(0)
        for v in nums:
            total = FEEL_CONTEXT.add(total, v)
        return total
    if agg is Aggregation.MIN:
        return min(nums)
    return max(nums)


def evaluate_table_scalar(
    table: DecisionTable,
    inputs: Mapping[str, object],
    constants: Mapping[str, object] | None = None,
) -> DecisionResult:
    """Evaluate ``table`` on one row of input values (the reference semantics).

    Parameters
    ----------
    table
        The decision table.
    inputs
        Input values by name (numbers as ``Decimal``/``int``/``float``,
        strings, booleans, ``None`` for null).  A missing input is null.
    constants
        Values for names used in test endpoints (looked up before inputs).

    Returns
    -------
    DecisionResult

    Raises
    ------
    HitPolicyViolation
        UNIQUE with more than one match, or ANY with conflicting outputs.

    Notes
    -----
    No match gives the default output entries (or null) for every policy,
    except COLLECT COUNT which gives 0.

    Examples
    --------
    >>> t = DecisionTable("grade", "FIRST", ["score"], ["grade"], [
    ...     ("A", [">= 90"], ['"A"']), ("B", [">= 80"], ['"B"'])])
    >>> evaluate_table_scalar(t, {"score": 95})
    DecisionResult(value='A', matched_rule_ids=('A', 'B'), hit_rule_ids=('A',))
    >>> evaluate_table_scalar(t, {"score": 10}).value is None
    True
    """
    matched = match_rules_scalar(table, inputs, constants)
    ids = table.rule_ids
    matched_ids = tuple(ids[r] for r in matched)
    policy = table.hit_policy
    if not matched:
        if table.aggregation is Aggregation.COUNT:
            return DecisionResult(Decimal(0), (), ())
        return DecisionResult(table.default_result(), (), ())
    if policy is HitPolicy.UNIQUE:
        if len(matched) > 1:
            raise HitPolicyViolation(
                "UNIQUE table matched more than one rule", table=table.name, rule_ids=matched_ids
            )
        r = matched[0]
        return DecisionResult(table.row_value(table.rule_outputs(r)), matched_ids, (ids[r],))
    if policy is HitPolicy.ANY:
        first = table.rule_outputs(matched[0])
        for r in matched[1:]:
            other = table.rule_outputs(r)
            if not all(same_value(a, b) for a, b in zip(first, other, strict=True)):
                raise HitPolicyViolation(
                    "ANY table matched rules with different outputs", table=table.name, rule_ids=matched_ids
                )
        return DecisionResult(table.row_value(first), matched_ids, (ids[matched[0]],))
    if policy is HitPolicy.FIRST:
        r = matched[0]
        return DecisionResult(table.row_value(table.rule_outputs(r)), matched_ids, (ids[r],))
    if policy is HitPolicy.PRIORITY:
        r = min(matched, key=lambda i: (table.output_rank(i), i))
        return DecisionResult(table.row_value(table.rule_outputs(r)), matched_ids, (ids[r],))
    order = list(matched)
    if policy is HitPolicy.OUTPUT_ORDER:
        order.sort(key=table.output_rank)
    hits = tuple(ids[r] for r in order)
    if table.aggregation is not None:
        vals = [table.rule_outputs(r)[0] for r in order]
        return DecisionResult(_aggregate(table.aggregation, vals), matched_ids, hits)
    return DecisionResult([table.row_value(table.rule_outputs(r)) for r in order], matched_ids, hits)
