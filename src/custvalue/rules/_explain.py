"""Explain one row: which rules matched, and the values that decided it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import attrs
import numpy as np

from ._columns import CodedColumn, NullableColumn
from ._feel import Function, Value, evaluate_expression, expr_names, lookup, normalize_value, test_truth
from ._table import DecisionTable, format_value
from ._vexpr import FeelVector, to_vector
from .ast import CompareTest, EqualTest, Expr, ExprTest, NumberLit, SimpleTest, UnaryTests

__all__ = [
    "ColumnCheck",
    "RuleExplanation",
    "TableExplanation",
    "explain_columns",
    "explain_row",
    "format_number",
]

Formatter = Callable[[Value], str]


def format_number(value: Value, places: int | None = None) -> str:
    """Format a value for people: numbers with thousands separators.

    Examples
    --------
    >>> format_number(Decimal("612345"), 2), format_number(Decimal("500000")), format_number("x")
    ('612,345.00', '500,000', '"x"')
    """
    if isinstance(value, Decimal) and value.is_finite():
        if places is not None:
            return f"{value.quantize(Decimal(1).scaleb(-places)):,}"
        return f"{value:,}"
    return format_value(value)


@attrs.frozen
class ColumnCheck:
    """One input column of one rule: the value, the test and whether it passed."""

    column: str
    expression: str
    value: Value
    test: str
    passed: bool
    display_value: str
    display_test: str

    def __str__(self) -> str:
        return f"{self.expression} = {self.display_value} {self.display_test}"


@attrs.frozen
class RuleExplanation:
    """One rule: matched or not, with the non-trivial column checks."""

    rule_id: str
    matched: bool
    checks: tuple[ColumnCheck, ...]

    def __str__(self) -> str:
        state = "matched" if self.matched else "did not match"
        shown = (
            [c for c in self.checks if c.passed] if self.matched else [c for c in self.checks if not c.passed]
        )
        detail = "; ".join(str(c) for c in shown)
        return f"rule {self.rule_id} {state}" + (f": {detail}" if detail else "")


@attrs.frozen
class TableExplanation:
    """Why a row got its result: one :class:`RuleExplanation` per rule."""

    table: str
    rules: tuple[RuleExplanation, ...]

    @property
    def matched_rule_ids(self) -> tuple[str, ...]:
        """Ids of the matching rules, in rule order."""
        return tuple(r.rule_id for r in self.rules if r.matched)

    def text(self, only_matched: bool = False) -> str:
        """One line per rule (or per matching rule)."""
        return "\n".join(str(r) for r in self.rules if r.matched or not only_matched)

    def __str__(self) -> str:
        return self.text()


def _fmt_test(tests: UnaryTests, fmt_num: Callable[[Value], str]) -> str:
    def ep(e: Expr) -> str:
        return fmt_num(e.value) if isinstance(e, NumberLit) else e.to_feel()

    def one(t: SimpleTest) -> str:
        if isinstance(t, ExprTest):
            return f"satisfies {t.to_feel()}"
        if isinstance(t, CompareTest):
            return f"{t.op} {ep(t.endpoint)}"
        if isinstance(t, EqualTest):
            return f"= {ep(t.endpoint)}" if not tests.negated else ep(t.endpoint)
        lb = "[" if t.low_closed else "("
        hb = "]" if t.high_closed else ")"
        return f"in {lb}{ep(t.low)}..{ep(t.high)}{hb}"

    if tests.is_any:
        return "(any)"
    if tests.negated:
        return "not in (" + ", ".join(one(t) for t in tests.tests) + ")"
    if len(tests.tests) > 1 and all(isinstance(t, EqualTest) for t in tests.tests):
        return "in (" + ", ".join(ep(t.endpoint) for t in tests.tests) + ")"  # type: ignore[union-attr]
    return " or ".join(one(t) for t in tests.tests)


def explain_row(
    table: DecisionTable,
    row: Mapping[str, object],
    constants: Mapping[str, object] | None = None,
    scales: Mapping[str, int] | None = None,
    formatters: Mapping[str, Formatter] | None = None,
    show_any: bool = False,
    functions: Mapping[str, Function] | None = None,
) -> TableExplanation:
    """Explain one row of raw values.

    Parameters
    ----------
    table
        The table.
    row
        Input values by name, as stored (an integer column with a ``scales``
        entry holds minor units and is divided by its scale).
    constants
        Values of names used in test endpoints.
    scales
        Per-column scale; scaled columns print with 2 decimals and thousands
        separators unless ``formatters`` says otherwise.
    formatters
        Per-column value formatter (the hook for custom money/percent display).
    show_any
        Include ``-`` (any) columns in the checks.
    functions
        User functions (business knowledge models) by name.

    Examples
    --------
    >>> t = DecisionTable("tier", "FIRST", ["max_aum_6"], ["tier"], [
    ...     ("platinum.aum", [">= 500000"], ['"platinum"']), ("other", ["-"], ['"potential"'])])
    >>> e = explain_row(t, {"max_aum_6": 61234500}, scales={"max_aum_6": 100})
    >>> print(e.text(only_matched=True))
    rule platinum.aum matched: max_aum_6 = 612,345.00 >= 500,000
    rule other matched
    """
    consts = {k: normalize_value(v) for k, v in (constants or {}).items()}
    scales = dict(scales or {})
    formatters = dict(formatters or {})
    values: dict[str, object] = {}
    for k, v in row.items():
        if isinstance(v, Mapping):
            values[k] = v
            continue
        nv = normalize_value(v)
        s = scales.get(k)
        if s and isinstance(nv, Decimal):
            nv = nv / s
        values[k] = nv

    def get_const(name: str) -> object:
        return consts[name] if name in consts else values[name]

    def get_input(name: str) -> object:
        return values[name] if name in values else consts[name]

    def resolve(name: str) -> Value:
        return lookup(get_const, name)

    def resolve_input(name: str) -> Value:
        try:
            return lookup(get_input, name)
        except KeyError:
            return None

    col_values = [evaluate_expression(c.expression, resolve_input, functions) for c in table.inputs]
    rules: list[RuleExplanation] = []
    for r, rule in enumerate(table.rules):
        checks: list[ColumnCheck] = []
        matched = True
        for clause, tests, v in zip(table.inputs, table.rule_tests(r), col_values, strict=True):
            passed = test_truth(tests, v, resolve, functions) is True
            matched = matched and passed
            if tests.is_any and not show_any:
                continue
            src = clause.source_name or clause.name
            fmt = formatters.get(src)
            if fmt is None:
                places = 2 if src in scales else None

                def fmt(x: Value, places: int | None = places) -> str:
                    return format_number(x, places)

            checks.append(
                ColumnCheck(
                    column=clause.name,
                    expression=clause.expression_text,
                    value=v,
                    test=tests.to_feel(),
                    passed=passed,
                    display_value=fmt(v),
                    display_test=_fmt_test(tests, format_number),
                )
            )
        rules.append(RuleExplanation(rule.id, matched, tuple(checks)))
    return TableExplanation(table.name, tuple(rules))


def _cell(raw: Any, row: int) -> object:
    if isinstance(raw, FeelVector):
        return raw.item(row)
    if isinstance(raw, np.ndarray) and raw.dtype.kind in "mMO":
        return to_vector(raw[row : row + 1]).item(0)
    if isinstance(raw, CodedColumn):
        code = int(raw.codes[row])
        return None if code < 0 else raw.categories[code]
    if isinstance(raw, NullableColumn):
        return raw.values[row].item() if bool(raw.valid[row]) else None
    if isinstance(raw, np.ma.MaskedArray):
        return None if bool(np.ma.getmaskarray(raw)[row]) else raw.data[row].item()
    v = np.asarray(raw)[row]
    return v.item() if hasattr(v, "item") else v


def explain_columns(
    table: DecisionTable,
    columns: Mapping[str, Any],
    row: int,
    constants: Mapping[str, object] | None = None,
    scales: Mapping[str, int] | None = None,
    formatters: Mapping[str, Formatter] | None = None,
) -> TableExplanation:
    """Explain row ``row`` of the columns a compiled table was evaluated on.

    Examples
    --------
    >>> t = DecisionTable("t", "FIRST", ["x"], ["o"], [("big", [">= 10"], ['"big"'])])
    >>> print(explain_columns(t, {"x": np.array([3, 12])}, 1))
    rule big matched: x = 12 >= 10
    """
    names = set()
    for c in table.inputs:
        names |= expr_names(c.expression)
    keys = {k for k in columns if any(n == k or n.startswith(k + ".") for n in names)}
    values = {k: _cell(columns[k], row) for k in keys}
    return explain_row(table, values, constants, scales, formatters)
