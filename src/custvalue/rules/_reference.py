"""Scalar reference interpreter: evaluates one row straight from the AST."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TypeAlias

import attrs

from ._feel import FEEL_CONTEXT, Function, Value, evaluate_expression, lookup, test_truth
from ._table import (
    Aggregation,
    DecisionTable,
    HitPolicy,
    HitPolicyViolation,
    TableError,
    same_value,
)

__all__ = [
    "DecisionResult",
    "ResultValue",
    "default_values",
    "evaluate_table_scalar",
    "match_rules_scalar",
    "rule_values",
]

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


Getter = Callable[[str], object]


def _resolver(
    table: DecisionTable, inputs: Mapping[str, object], constants: Mapping[str, object] | None
) -> tuple[Getter, Getter]:
    consts = constants or {}

    def get_const(name: str) -> object:
        if name in consts:
            return consts[name]
        return inputs[name]

    def get_input(name: str) -> object:
        if name in inputs:
            return inputs[name]
        return consts[name]

    def resolve(name: str) -> Value:
        try:
            return lookup(get_const, name)
        except KeyError:
            raise TableError(f"unknown name {name!r}", table=table.name) from None

    def resolve_input(name: str) -> Value:
        try:
            return lookup(get_input, name)
        except KeyError:
            return None  # a missing input is null (DMN TCK convention)

    return resolve, resolve_input


def match_rules_scalar(
    table: DecisionTable,
    inputs: Mapping[str, object],
    constants: Mapping[str, object] | None = None,
    functions: Mapping[str, Function] | None = None,
) -> list[int]:
    """Indexes of the rules that match one row, in rule order."""
    resolve, resolve_input = _resolver(table, inputs, constants)
    values = [evaluate_expression(clause.expression, resolve_input, functions) for clause in table.inputs]
    matched: list[int] = []
    for r in range(len(table.rules)):
        tests = table.rule_tests(r)
        if all(
            test_truth(t, v, resolve, functions) is True  # type: ignore[arg-type]
            for t, v in zip(tests, values, strict=True)
        ):
            matched.append(r)
    return matched


def rule_values(
    table: DecisionTable,
    index: int,
    inputs: Mapping[str, object],
    constants: Mapping[str, object] | None = None,
    functions: Mapping[str, Function] | None = None,
) -> tuple[Value, ...]:
    """The output values of rule ``index`` for one row (output entries that are expressions evaluated)."""
    exprs = table.rule_output_exprs(index)
    literal = table.rule_outputs(index)
    if all(e is None for e in exprs):
        return literal
    _, resolve_input = _resolver(table, inputs, constants)
    return tuple(
        v if e is None else evaluate_expression(e, resolve_input, functions)
        for v, e in zip(literal, exprs, strict=True)
    )


def default_values(
    table: DecisionTable,
    inputs: Mapping[str, object],
    constants: Mapping[str, object] | None = None,
    functions: Mapping[str, Function] | None = None,
) -> ResultValue:
    """The no-match result for one row: the default output entries (expressions evaluated), or null."""
    if all(o.default_expr is None for o in table.outputs):
        return table.default_result()
    _, resolve_input = _resolver(table, inputs, constants)
    return table.default_result(
        [
            o.default_value
            if o.default_expr is None
            else evaluate_expression(o.default_expr, resolve_input, functions)
            for o in table.outputs
        ]
    )


def _aggregate(agg: Aggregation, values: list[Value]) -> Value:
    if agg is Aggregation.COUNT:
        return Decimal(len(values))
    nums = [v for v in values if isinstance(v, Decimal)]
    if agg is Aggregation.SUM:
        total = Decimal(0)
        for v in nums:
            total = FEEL_CONTEXT.add(total, v)
        return total
    if not nums:
        return None
    if agg is Aggregation.MIN:
        return min(nums)
    return max(nums)


def evaluate_table_scalar(
    table: DecisionTable,
    inputs: Mapping[str, object],
    constants: Mapping[str, object] | None = None,
    functions: Mapping[str, Function] | None = None,
) -> DecisionResult:
    """Evaluate ``table`` on one row of input values (the reference semantics).

    Parameters
    ----------
    table
        The decision table.
    inputs
        Input values by name (numbers as ``Decimal``/``int``/``float``,
        strings, booleans, ``None`` for null).  A missing input is null.
        Qualified names (``applicant.age``) are looked up as flattened keys
        or through nested mappings.
    constants
        Values for names used in test endpoints (looked up before inputs).
    functions
        User functions (business knowledge models) by name, called with
        positional FEEL values.

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
    >>> pay = DecisionTable("pay", "FIRST", ["Monthly Salary"], ["Yearly"], [
    ...     ("r1", [">= 0"], ["Monthly Salary * 12"])])
    >>> evaluate_table_scalar(pay, {"Monthly Salary": Decimal("1000.50")}).value
    Decimal('12006.00')
    """
    matched = match_rules_scalar(table, inputs, constants, functions)
    cache: dict[int, tuple[Value, ...]] = {}

    def outputs(r: int) -> tuple[Value, ...]:
        if r not in cache:
            cache[r] = rule_values(table, r, inputs, constants, functions)
        return cache[r]

    ids = table.rule_ids
    matched_ids = tuple(ids[r] for r in matched)
    policy = table.hit_policy
    if not matched:
        if table.aggregation is Aggregation.COUNT:
            return DecisionResult(Decimal(0), (), ())
        return DecisionResult(default_values(table, inputs, constants, functions), (), ())
    if policy is HitPolicy.UNIQUE:
        if len(matched) > 1:
            raise HitPolicyViolation(
                "UNIQUE table matched more than one rule", table=table.name, rule_ids=matched_ids
            )
        r = matched[0]
        return DecisionResult(table.row_value(outputs(r)), matched_ids, (ids[r],))
    if policy is HitPolicy.ANY:
        first = outputs(matched[0])
        for r in matched[1:]:
            other = outputs(r)
            if not all(same_value(a, b) for a, b in zip(first, other, strict=True)):
                raise HitPolicyViolation(
                    "ANY table matched rules with different outputs", table=table.name, rule_ids=matched_ids
                )
        return DecisionResult(table.row_value(first), matched_ids, (ids[matched[0]],))
    if policy is HitPolicy.FIRST:
        r = matched[0]
        return DecisionResult(table.row_value(outputs(r)), matched_ids, (ids[r],))
    if policy is HitPolicy.PRIORITY:
        r = min(matched, key=lambda i: (table.rank_values(outputs(i)), i))
        return DecisionResult(table.row_value(outputs(r)), matched_ids, (ids[r],))
    order = list(matched)
    if policy is HitPolicy.OUTPUT_ORDER:
        order.sort(key=lambda i: table.rank_values(outputs(i)))
    hits = tuple(ids[r] for r in order)
    if table.aggregation is not None:
        vals = [outputs(r)[0] for r in order]
        return DecisionResult(_aggregate(table.aggregation, vals), matched_ids, hits)
    return DecisionResult([table.row_value(outputs(r)) for r in order], matched_ids, hits)
