"""Static validation of decision tables, before any evaluation.

The analysis partitions every input column into *cells*: the endpoints used
by any test of that column, the open ranges between them and beyond them,
and null.  Every test is constant on a cell, so evaluating each test once
per cell representative (with the reference semantics) gives an exact,
finite picture of the table.  From it we derive:

* **overlap** (UNIQUE; ANY with different outputs): two rules whose tests
  intersect on every column, with an example row;
* **gap**: a combination of non-null input values no rule matches, with an
  example row (all combinations are enumerated up to a limit; beyond it, a
  value no rule accepts in a single column is reported);
* **shadowed** (FIRST): a rule every cell of which an earlier rule covers
  (exact single-rule containment, and exact union containment within the
  enumeration limit);
* **never fires**: a rule with a column no value can satisfy;
* **unknown name** and **type mismatch**.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from ._feel import (
    Value,
    evaluate_expression,
    expr_names,
    feel_kind,
    has_placeholder,
    normalize_value,
    test_truth,
    tests_names,
)
from ._table import DecisionTable, HitPolicy, format_value, same_value
from ._temporal import YearsMonthsDuration
from .ast import ExprTest, IntervalTest, UnaryTests

__all__ = ["Finding", "validate_table"]

_LIMIT = 20000


@attrs.frozen
class Finding:
    """One validation finding.

    Attributes
    ----------
    severity : str
        ``"error"``, ``"warning"`` or ``"info"``.
    kind : str
        ``overlap``, ``conflict``, ``gap``, ``shadowed``, ``never-fires``,
        ``unknown-name`` or ``type-mismatch``.
    table, rule_id, column, message
        Where and what.
    example : dict or None
        An input row showing the problem (overlap, gap).
    """

    severity: str
    table: str
    rule_id: str | None
    column: str | None
    message: str
    kind: str = ""
    example: Mapping[str, Value] | None = None

    def __str__(self) -> str:
        where = "/".join(p for p in (self.table, self.rule_id, self.column) if p)
        return f"{self.severity}: {where}: {self.message}"


_TEMPORAL = ("date", "date and time", "days and time duration", "years and months duration")
#: declared typeRef -> FEEL type of the column's values
_TYPE_REFS = {
    "number": "number",
    "string": "string",
    "boolean": "boolean",
    "date": "date",
    "dateTime": "date and time",
    "date and time": "date and time",
    "dayTimeDuration": "days and time duration",
    "days and time duration": "days and time duration",
    "yearMonthDuration": "years and months duration",
    "years and months duration": "years and months duration",
}


def _kind(v: Value) -> str:
    k = feel_kind(v)
    return k if k in ("boolean", "number", "string", *_TEMPORAL) else "null"


def _temporal_reps(values: Sequence[Value], kind: str) -> list[Value]:
    """Representatives of the cells of a date or duration column: each endpoint, between, beyond."""
    vals = sorted({v for v in values if feel_kind(v) == kind}, key=_sort_key)
    if kind == "date":
        step: Any = dt.timedelta(days=1)
    elif kind == "years and months duration":
        step = YearsMonthsDuration(1)
    else:
        step = dt.timedelta(microseconds=1)
    if not vals:
        return [
            dt.date(2000, 1, 1)
            if kind == "date"
            else dt.timedelta(0)
            if "time" in kind
            else YearsMonthsDuration(0)
        ]
    reps: list[Value] = []
    try:
        reps.append(vals[0] - step)
    except OverflowError:
        pass
    for a, b in itertools.pairwise(vals):
        reps.append(a)
        mid = a + step
        if mid < b:
            reps.append(mid)
    reps.append(vals[-1])
    try:
        reps.append(vals[-1] + step)
    except OverflowError:
        pass
    return reps


def _sort_key(v: Value) -> Any:
    return v.months if isinstance(v, YearsMonthsDuration) else v


def _endpoints(tests: UnaryTests) -> list[object]:
    out: list[object] = []
    for t in tests.tests:
        if isinstance(t, ExprTest):
            continue
        out.extend((t.low, t.high) if isinstance(t, IntervalTest) else (t.endpoint,))
    return out


def _opaque(tests: UnaryTests, resolve: Callable[[str], Value]) -> bool:
    """Tests the cell analysis cannot decide exactly: ``?`` expressions and date-times."""
    for t in tests.tests:
        if isinstance(t, ExprTest):
            return True
        for e in (t.low, t.high) if isinstance(t, IntervalTest) else (t.endpoint,):
            if has_placeholder(e):
                return True
            try:
                v = evaluate_expression(e, resolve)
            except (KeyError, TypeError):
                continue
            if feel_kind(v) not in ("number", "string", "boolean", "null", "date", *_TEMPORAL[2:]):
                return True
    return False


def _representatives(values: Sequence[Value], types: set[str]) -> list[Value]:
    reps: list[Value] = []
    nums = sorted({v for v in values if isinstance(v, Decimal) and not isinstance(v, bool)})
    if "number" in types:
        if not nums:
            reps.append(Decimal(0))
        else:
            reps.append(nums[0] - 1)
            for a, b in itertools.pairwise(nums):
                reps.extend((a, (a + b) / 2))
            reps.extend((nums[-1], nums[-1] + 1))
    if "string" in types:
        strs = sorted({v for v in values if isinstance(v, str)})
        cand = ["", "\uffff" * 8]
        for s in strs:
            cand.extend((s, s + "\0"))
        reps.extend(sorted(set(cand)))
    if "boolean" in types:
        reps.extend((False, True))
    for kind in _TEMPORAL:
        if kind in types:
            reps.extend(_temporal_reps(values, kind))
    return reps


def validate_table(
    table: DecisionTable,
    input_types: Mapping[str, str] | None = None,
    constants: Mapping[str, object] | None = None,
) -> list[Finding]:
    """Check a decision table for overlaps, gaps, shadowed rules and name/type errors.

    Parameters
    ----------
    table
        The table.
    input_types
        Available feature names and their types (``"number"``, ``"string"``
        or ``"boolean"``).  When given, input names not in it are reported.
        Column types otherwise come from the input clauses' ``type_ref`` or
        from the literals used.
    constants
        Values of names used in test endpoints.

    Returns
    -------
    list of Finding
        Errors first, then warnings and infos; empty if nothing was found.

    Examples
    --------
    >>> t = DecisionTable("grade", "UNIQUE", ["score"], ["grade"], [
    ...     ("A", [">= 90"], ['"A"']), ("B", ["[80..90]"], ['"B"']), ("C", ["< 70"], ['"C"'])])
    >>> for f in validate_table(t):
    ...     print(f)
    error: grade/B: rules A and B overlap, e.g. score = 90
    warning: grade: no rule matches score = 70
    """
    consts = {k: normalize_value(v) for k, v in (constants or {}).items()}
    findings: list[Finding] = []
    name = table.name
    types = dict(input_types or {})
    n_rules = len(table.rules)
    n_cols = len(table.inputs)

    def resolve(n: str) -> Value:
        if n in consts:
            return consts[n]
        raise KeyError(n)

    # column types and names --------------------------------------------------
    col_types: list[set[str]] = []
    for c, clause in enumerate(table.inputs):
        for ref in sorted(expr_names(clause.expression)):
            if input_types is not None and ref not in types:
                findings.append(
                    Finding("error", name, None, clause.name, f"unknown input name {ref!r}", "unknown-name")
                )
        declared = types.get(clause.source_name or "") or clause.type_ref
        declared = _TYPE_REFS.get(declared or "", declared)
        literal_kinds: set[str] = set()
        for r in range(n_rules):
            for e in _endpoints(table.rule_tests(r)[c]):
                try:
                    literal_kinds.add(_kind(evaluate_expression(e, resolve)))  # type: ignore[arg-type]
                except KeyError:
                    pass
        literal_kinds.discard("null")
        if declared in ("number", "string", "boolean", *_TEMPORAL):
            col_types.append({declared})
            for r, rule in enumerate(table.rules):
                bad = set()
                for e in _endpoints(table.rule_tests(r)[c]):
                    try:
                        k = _kind(evaluate_expression(e, resolve))  # type: ignore[arg-type]
                    except KeyError:
                        continue
                    if k not in ("null", declared):
                        bad.add(k)
                if bad:
                    findings.append(
                        Finding(
                            "error",
                            name,
                            rule.id,
                            clause.name,
                            f"{'/'.join(sorted(bad))} test on {declared} input "
                            f"{clause.name!r}: {table.rule_tests(r)[c]}",
                            "type-mismatch",
                        )
                    )
        else:
            col_types.append(literal_kinds or {"number"})
            if len(literal_kinds) > 1:
                findings.append(
                    Finding(
                        "warning",
                        name,
                        None,
                        clause.name,
                        f"tests mix types {sorted(literal_kinds)}",
                        "type-mismatch",
                    )
                )

    # matching per cell ---------------------------------------------------------
    unknown: set[tuple[int, int]] = set()
    reps: list[list[Value]] = []
    opaque = {
        c for c in range(n_cols) if any(_opaque(table.rule_tests(r)[c], resolve) for r in range(n_rules))
    }
    for c in range(n_cols):
        values: list[Value] = []
        if c in opaque:
            # tests over '?', dates or durations: not analysed (no finding can be wrong)
            unknown.update((r, c) for r in range(n_rules) if not table.rule_tests(r)[c].is_any)
            reps.append([None])
            continue
        for r, rule in enumerate(table.rules):
            tests = table.rule_tests(r)[c]
            missing = sorted(n for n in tests_names(tests) if n not in consts)
            if missing:
                unknown.add((r, c))
                findings.append(
                    Finding(
                        "error",
                        name,
                        rule.id,
                        table.inputs[c].name,
                        f"unknown name {missing[0]!r} in test {tests}",
                        "unknown-name",
                    )
                )
                continue
            for e in _endpoints(tests):
                values.append(evaluate_expression(e, resolve))  # type: ignore[arg-type]
        reps.append(_representatives(values, col_types[c]))
    # match[r][c] = set of rep indexes (len(reps[c]) stands for null), None = unknown
    match: list[list[frozenset[int] | None]] = []
    for r in range(n_rules):
        row: list[frozenset[int] | None] = []
        for c in range(n_cols):
            if (r, c) in unknown:
                row.append(None)
                continue
            tests = table.rule_tests(r)[c]
            cells = [*reps[c], None]
            row.append(frozenset(i for i, v in enumerate(cells) if test_truth(tests, v, resolve) is True))
        match.append(row)

    def example(cells: Sequence[int]) -> dict[str, Value]:
        out: dict[str, Value] = {}
        for c, i in enumerate(cells):
            v = reps[c][i] if i < len(reps[c]) else None
            out[table.inputs[c].source_name or table.inputs[c].name] = v
        return out

    def fmt(ex: Mapping[str, Value]) -> str:
        return ", ".join(f"{k} = {format_value(v)}" for k, v in ex.items())

    known = [all(m is not None for m in match[r]) for r in range(n_rules)]

    # never fires -----------------------------------------------------------------
    dead: set[int] = set()
    for r, rule in enumerate(table.rules):
        for c in range(n_cols):
            m = match[r][c]
            if m is not None and not m:
                dead.add(r)
                findings.append(
                    Finding(
                        "warning",
                        name,
                        rule.id,
                        table.inputs[c].name,
                        f"rule can never fire: no value satisfies {table.rule_tests(r)[c]}",
                        "never-fires",
                    )
                )
                break

    # overlaps --------------------------------------------------------------------
    policy = table.hit_policy
    if policy in (HitPolicy.UNIQUE, HitPolicy.ANY):
        for i in range(n_rules):
            for j in range(i + 1, n_rules):
                if not (known[i] and known[j]) or i in dead or j in dead:
                    continue
                if policy is HitPolicy.ANY and all(
                    same_value(a, b)
                    for a, b in zip(table.rule_outputs(i), table.rule_outputs(j), strict=True)
                ):
                    continue
                inter = [match[i][c] & match[j][c] for c in range(n_cols)]  # type: ignore[operator]
                if all(inter):
                    picks = [min(s, key=lambda k, c=c: (k == len(reps[c]), k)) for c, s in enumerate(inter)]
                    ex = example(picks)
                    ids = (table.rules[i].id, table.rules[j].id)
                    kind = "overlap" if policy is HitPolicy.UNIQUE else "conflict"
                    what = "overlap" if kind == "overlap" else "overlap with different outputs"
                    findings.append(
                        Finding(
                            "error",
                            name,
                            ids[1],
                            None,
                            f"rules {ids[0]} and {ids[1]} {what}, e.g. {fmt(ex)}"
                            if n_cols
                            else f"rules {ids[0]} and {ids[1]} {what}",
                            kind,
                            ex,
                        )
                    )

    # shadowed (FIRST) -------------------------------------------------------------
    if policy is HitPolicy.FIRST:
        for j in range(n_rules):
            if not known[j] or j in dead:
                continue
            by = None
            for i in range(j):
                if known[i] and all(
                    match[j][c] <= match[i][c]  # type: ignore[operator]
                    for c in range(n_cols)
                ):
                    by = table.rules[i].id
                    break
            if by is not None:
                findings.append(
                    Finding(
                        "warning",
                        name,
                        table.rules[j].id,
                        None,
                        f"rule can never fire: earlier rule {by} covers it",
                        "shadowed",
                    )
                )
                continue
            sizes = [len(match[j][c]) for c in range(n_cols)]  # type: ignore[arg-type]
            total = 1
            for s in sizes:
                total *= s
            earlier = [i for i in range(j) if i not in dead]
            if total <= _LIMIT and earlier and all(known[i] for i in earlier):
                combos = itertools.product(
                    *(
                        sorted(match[j][c])  # type: ignore[arg-type]
                        for c in range(n_cols)
                    )
                )
                if all(
                    any(
                        all(cell[c] in match[i][c] for c in range(n_cols))  # type: ignore[operator]
                        for i in earlier
                    )
                    for cell in combos
                ):
                    findings.append(
                        Finding(
                            "warning",
                            name,
                            table.rules[j].id,
                            None,
                            "rule can never fire: earlier rules together cover it",
                            "shadowed",
                        )
                    )

    # gaps ----------------------------------------------------------------------------
    has_default = any(o.default is not None for o in table.outputs)
    sev = "info" if has_default else "warning"
    total = 1
    for c in range(n_cols):
        total *= len(reps[c])
    live = [r for r in range(n_rules) if r not in dead]
    if n_cols and total <= _LIMIT:
        for cell in itertools.product(*(range(len(reps[c])) for c in range(n_cols))):
            if not any(
                all(
                    match[r][c] is None or cell[c] in match[r][c]  # type: ignore[operator]
                    for c in range(n_cols)
                )
                for r in live
            ):
                ex = example(cell)
                findings.append(Finding(sev, name, None, None, f"no rule matches {fmt(ex)}", "gap", ex))
                break
    elif n_cols:
        for c in range(n_cols):
            for idx in range(len(reps[c])):
                if not any(
                    match[r][c] is None or idx in match[r][c]  # type: ignore[operator]
                    for r in live
                ):
                    ex = {table.inputs[c].source_name or table.inputs[c].name: reps[c][idx]}
                    findings.append(
                        Finding(
                            sev, name, None, table.inputs[c].name, f"no rule matches {fmt(ex)}", "gap", ex
                        )
                    )
                    break
    order = {"error": 0, "warning": 1, "info": 2}
    findings.sort(key=lambda f: order[f.severity])
    return findings
