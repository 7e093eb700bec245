"""Decision tables: immutable, validated on construction."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from .._errors import CustvalueError, with_location
from ._feel import (
    BUILTIN_FUNCTIONS,
    FeelSyntaxError,
    Value,
    evaluate_expression,
    expr_functions,
    expr_names,
    has_placeholder,
    parse_expression,
    parse_unary_tests,
)
from ._temporal import format_temporal
from .ast import EqualTest, Expr, Name, UnaryTests

__all__ = [
    "Aggregation",
    "DecisionTable",
    "HitPolicy",
    "HitPolicyViolation",
    "InputClause",
    "OutputClause",
    "Rule",
    "TableError",
    "format_value",
]


class TableError(CustvalueError, ValueError):
    """A malformed decision table, naming the table, rule and column.

    Attributes
    ----------
    table, rule_id, column : str or None
        Where the problem is.
    path : str
        ``table/rule/column`` path of the problem.
    """

    def __init__(
        self,
        message: str,
        *,
        table: str | None = None,
        rule_id: str | None = None,
        column: str | None = None,
    ) -> None:
        self.reason = message
        self.table = table
        self.rule_id = rule_id
        self.column = column
        parts = [p for p in (table, rule_id, column) if p is not None]
        self.path = "/".join(parts)
        super().__init__(
            with_location(
                message,
                [
                    ("table", None if table is None else repr(table)),
                    ("rule", None if rule_id is None else repr(rule_id)),
                    ("column", None if column is None else repr(column)),
                ],
            )
        )


class HitPolicyViolation(TableError):
    """More than one rule matched under UNIQUE, or conflicting outputs under ANY.

    Attributes
    ----------
    rule_ids : tuple of str
        The rules that matched.
    row : int or None
        The row index, for vectorised evaluation.
    """

    def __init__(self, message: str, *, table: str, rule_ids: Sequence[str], row: int | None = None) -> None:
        self.rule_ids = tuple(rule_ids)
        self.row = row
        suffix = f", row {row}" if row is not None else ""
        super().__init__(f"{message}: rules {', '.join(self.rule_ids)}{suffix}", table=table)


class HitPolicy(enum.Enum):
    """DMN hit policies (values are the DMN XML spellings)."""

    UNIQUE = "UNIQUE"
    FIRST = "FIRST"
    PRIORITY = "PRIORITY"
    ANY = "ANY"
    COLLECT = "COLLECT"
    RULE_ORDER = "RULE ORDER"
    OUTPUT_ORDER = "OUTPUT ORDER"

    @property
    def single_hit(self) -> bool:
        """True for UNIQUE, FIRST, PRIORITY and ANY."""
        return self in (HitPolicy.UNIQUE, HitPolicy.FIRST, HitPolicy.PRIORITY, HitPolicy.ANY)

    @classmethod
    def parse(cls, value: HitPolicy | str) -> HitPolicy:
        """Accept the enum, its name, its DMN spelling or a single letter."""
        if isinstance(value, HitPolicy):
            return value
        key = str(value).strip().upper().replace("_", " ")
        letters = {
            "U": "UNIQUE",
            "F": "FIRST",
            "P": "PRIORITY",
            "A": "ANY",
            "C": "COLLECT",
            "R": "RULE ORDER",
            "O": "OUTPUT ORDER",
        }
        key = letters.get(key, key)
        for member in cls:
            if member.value == key:
                return member
        raise TableError(f"unknown hit policy {value!r}")


class Aggregation(enum.Enum):
    """COLLECT aggregations."""

    SUM = "SUM"
    MIN = "MIN"
    MAX = "MAX"
    COUNT = "COUNT"

    @classmethod
    def parse(cls, value: Aggregation | str | None) -> Aggregation | None:
        """Accept None, the enum, its name or the DMN symbols ``+ < > #``."""
        if value is None or isinstance(value, Aggregation):
            return value
        key = str(value).strip().upper()
        key = {"+": "SUM", "<": "MIN", ">": "MAX", "#": "COUNT"}.get(key, key)
        try:
            return cls(key)
        except ValueError:
            raise TableError(f"unknown aggregation {value!r}") from None


def same_value(a: object, b: object) -> bool:
    """Typed equality: ``True`` is not ``1`` and ``1`` equals ``1.0``."""
    if a is None or b is None:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    return bool(a == b)


def format_value(value: Value) -> str:
    """Render a value as an S-FEEL literal.

    Examples
    --------
    >>> format_value(Decimal("1.50")), format_value("a\\"b"), format_value(None)
    ('1.50', '"a\\\\"b"', 'null')
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    temporal = format_temporal(value)
    if temporal is not None:
        return temporal
    raise TypeError(f"not a FEEL value: {value!r}")


def _output_entry(text: str) -> tuple[Value, Expr | None]:
    """An output entry: its value if constant, else (None, the expression over input names)."""
    expr = parse_expression(text)
    if has_placeholder(expr):
        raise ValueError("'?' is only allowed in input entries")
    if expr_names(expr) or not expr_functions(expr) <= BUILTIN_FUNCTIONS:
        return None, expr
    return evaluate_expression(expr, {}), None


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


@attrs.frozen
class InputClause:
    """An input column: ``name`` (label) and the expression it reads.

    ``expression_text`` defaults to ``name``. ``type_ref`` is ``"number"``,
    ``"string"``, ``"boolean"`` or None; ``allowed_values`` is optional
    unary-tests text (DMN ``inputValues``).
    """

    name: str
    expression_text: str = attrs.field(default=None, converter=_opt_str)
    type_ref: str | None = None
    allowed_values: str | None = None
    expression: Expr = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.expression_text is None:
            object.__setattr__(self, "expression_text", self.name)
        object.__setattr__(self, "expression", parse_expression(self.expression_text))

    @property
    def source_name(self) -> str | None:
        """The feature name read, if the expression is a plain name."""
        return self.expression.name if isinstance(self.expression, Name) else None


def _values_tuple(values: Iterable[object] | str | None) -> tuple[Value, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        tests = parse_unary_tests(values)
        out: list[Value] = []
        for t in tests.tests:
            if not isinstance(t, EqualTest) or tests.negated:
                raise ValueError(f"output values must be a list of literals: {values!r}")
            out.append(evaluate_expression(t.endpoint, {}))
        return tuple(out)
    result: list[Value] = []
    for v in values:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            v = Decimal(str(v)) if isinstance(v, float) else Decimal(v)
        if not (v is None or isinstance(v, (str, bool, Decimal))):
            raise TypeError(f"output value {v!r} is not a FEEL literal value")
        result.append(v)
    return tuple(result)


@attrs.frozen
class OutputClause:
    """An output column.

    ``output_values`` lists the allowed outputs in priority order (used by
    PRIORITY and OUTPUT ORDER); ``default`` is the FEEL text of the default
    output entry (a literal, or an expression over input names such as
    ``Monthly Salary * 12``, evaluated per row when no rule matches), or None.
    ``default_value`` is its value when constant, ``default_expr`` its
    expression when it reads names (else None).

    Examples
    --------
    >>> OutputClause("y", default="x * 2").default_expr
    BinOp(op='*', left=Name(name='x'), right=NumberLit(value=Decimal('2')))
    """

    name: str
    type_ref: str | None = None
    output_values: tuple[Value, ...] = attrs.field(default=(), converter=_values_tuple)
    default: str | None = None
    default_value: Value = attrs.field(init=False, eq=False, repr=False)
    default_expr: Expr | None = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        value: Value = None
        expr: Expr | None = None
        if self.default is not None:
            value, expr = _output_entry(self.default)
        object.__setattr__(self, "default_value", value)
        object.__setattr__(self, "default_expr", expr)


def _entries(values: Iterable[object]) -> tuple[str, ...]:
    if isinstance(values, str):
        return (values,)
    out: list[str] = []
    for v in values:
        if isinstance(v, str):
            out.append(v)
        elif v is None or isinstance(v, (bool, Decimal, int)):
            out.append(format_value(Decimal(v) if isinstance(v, int) and not isinstance(v, bool) else v))
        else:
            raise TypeError(f"entry {v!r} must be FEEL text")
    return tuple(out)


@attrs.frozen
class Rule:
    """One row: ``input_entries`` are unary-tests text, ``output_entries`` FEEL expressions.

    Examples
    --------
    >>> r = Rule("r1", [">= 18", '"High"'], ['"Approved"'])
    >>> r.input_entries, r.output_entries
    (('>= 18', '"High"'), ('"Approved"',))
    """

    id: str
    input_entries: tuple[str, ...] = attrs.field(converter=_entries)
    output_entries: tuple[str, ...] = attrs.field(converter=_entries)
    annotation: str | None = None


def _to_rule(item: Any, index: int) -> Rule:
    if isinstance(item, Rule):
        return item
    if isinstance(item, Mapping):
        return Rule(
            id=str(item.get("id", f"r{index + 1}")),
            input_entries=item["inputs"],
            output_entries=item["outputs"],
            annotation=item.get("annotation"),
        )
    seq = list(item)
    return Rule(str(seq[0]), seq[1], seq[2], *(seq[3:4]))


def _rules(items: Iterable[Any]) -> tuple[Rule, ...]:
    return tuple(_to_rule(item, i) for i, item in enumerate(items))


def _inputs(items: Iterable[InputClause | str]) -> tuple[InputClause, ...]:
    return tuple(InputClause(i) if isinstance(i, str) else i for i in items)


def _outputs(items: Iterable[OutputClause | str]) -> tuple[OutputClause, ...]:
    return tuple(OutputClause(o) if isinstance(o, str) else o for o in items)


def _hit_policy(value: HitPolicy | str) -> HitPolicy:
    return HitPolicy.parse(value)


def _aggregation(value: Aggregation | str | None) -> Aggregation | None:
    return Aggregation.parse(value)


@attrs.frozen
class DecisionTable:
    """An immutable DMN decision table, parsed and validated on construction.

    Parameters
    ----------
    name
        Table (decision) name.
    hit_policy
        A :class:`HitPolicy` or its name (``"FIRST"``, ``"RULE ORDER"``, ``"U"``...).
    inputs, outputs
        Input / output clauses; plain strings are accepted as names.
    rules
        :class:`Rule` objects or ``(id, input_entries, output_entries)`` tuples.
    aggregation
        For COLLECT only: SUM, MIN, MAX or COUNT (or ``+ < > #``).

    Raises
    ------
    TableError
        Naming the table, rule id and column of any bad entry.

    Examples
    --------
    >>> t = DecisionTable("size", "FIRST", ["x"], ["size"],
    ...                   [("big", [">= 100"], ['"big"']), ("small", ["-"], ['"small"'])])
    >>> t.rule_tests(0)[0].to_feel(), t.rule_outputs(1)
    ('>= 100', ('small',))
    >>> try:
    ...     DecisionTable("bad", "FIRST", ["x"], ["y"], [("r1", [">= 1 2"], ["1"])])
    ... except TableError as err:
    ...     print(err.path, err.reason.splitlines()[0])
    bad/r1/x unexpected trailing text, found '2' at line 1, column 6: >= 1 2
    """

    name: str
    hit_policy: HitPolicy = attrs.field(converter=_hit_policy)
    inputs: tuple[InputClause, ...] = attrs.field(converter=_inputs)
    outputs: tuple[OutputClause, ...] = attrs.field(converter=_outputs)
    rules: tuple[Rule, ...] = attrs.field(converter=_rules)
    aggregation: Aggregation | None = attrs.field(default=None, converter=_aggregation)
    _tests: tuple[tuple[UnaryTests, ...], ...] = attrs.field(init=False, eq=False, repr=False)
    _values: tuple[tuple[Value, ...], ...] = attrs.field(init=False, eq=False, repr=False)
    _exprs: tuple[tuple[Expr | None, ...], ...] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        name = self.name
        if not self.outputs:
            raise TableError("a decision table needs at least one output", table=name)
        if self.aggregation is not None:
            if self.hit_policy is not HitPolicy.COLLECT:
                raise TableError("aggregation is only allowed with COLLECT", table=name)
            if len(self.outputs) != 1:
                raise TableError("an aggregated COLLECT table must have one output", table=name)
        seen: set[str] = set()
        for out in self.outputs:
            if out.name in seen:
                raise TableError("duplicate output name", table=name, column=out.name)
            seen.add(out.name)
        ids: set[str] = set()
        tests: list[tuple[UnaryTests, ...]] = []
        values: list[tuple[Value, ...]] = []
        exprs: list[tuple[Expr | None, ...]] = []
        for rule in self.rules:
            if rule.id in ids:
                raise TableError("duplicate rule id", table=name, rule_id=rule.id)
            ids.add(rule.id)
            if len(rule.input_entries) != len(self.inputs):
                raise TableError(
                    f"rule has {len(rule.input_entries)} input entries, table has {len(self.inputs)} inputs",
                    table=name,
                    rule_id=rule.id,
                )
            if len(rule.output_entries) != len(self.outputs):
                raise TableError(
                    f"rule has {len(rule.output_entries)} output entries, table has "
                    f"{len(self.outputs)} outputs",
                    table=name,
                    rule_id=rule.id,
                )
            row: list[UnaryTests] = []
            for clause, text in zip(self.inputs, rule.input_entries, strict=True):
                try:
                    row.append(parse_unary_tests(text))
                except FeelSyntaxError as err:
                    raise TableError(str(err), table=name, rule_id=rule.id, column=clause.name) from err
            outs: list[Value] = []
            oexprs: list[Expr | None] = []
            for oclause, text in zip(self.outputs, rule.output_entries, strict=True):
                try:
                    value, oexpr = _output_entry(text)
                except (FeelSyntaxError, ValueError) as err:
                    raise TableError(str(err), table=name, rule_id=rule.id, column=oclause.name) from err
                oexprs.append(oexpr)
                if self.aggregation is not None and oexpr is None:
                    if self.aggregation is not Aggregation.COUNT and not isinstance(value, Decimal):
                        raise TableError(
                            f"{self.aggregation.value} needs number outputs",
                            table=name,
                            rule_id=rule.id,
                            column=oclause.name,
                        )
                outs.append(value)
            tests.append(tuple(row))
            values.append(tuple(outs))
            exprs.append(tuple(oexprs))
        object.__setattr__(self, "_tests", tuple(tests))
        object.__setattr__(self, "_values", tuple(values))
        object.__setattr__(self, "_exprs", tuple(exprs))

    # accessors
    @property
    def rule_ids(self) -> tuple[str, ...]:
        """Rule ids in rule order."""
        return tuple(r.id for r in self.rules)

    @property
    def input_names(self) -> tuple[str, ...]:
        """Input clause names."""
        return tuple(i.name for i in self.inputs)

    @property
    def output_names(self) -> tuple[str, ...]:
        """Output clause names."""
        return tuple(o.name for o in self.outputs)

    def rule_tests(self, index: int) -> tuple[UnaryTests, ...]:
        """Parsed input entries of rule ``index``."""
        return self._tests[index]

    def rule_outputs(self, index: int) -> tuple[Value, ...]:
        """Output values of rule ``index`` (None for entries that are expressions, see below)."""
        return self._values[index]

    def rule_output_exprs(self, index: int) -> tuple[Expr | None, ...]:
        """Per output of rule ``index``: the entry's expression when it reads names, else None.

        Output entries such as ``Monthly Salary * 12`` are evaluated per row;
        constant entries (literals, ``date("2026-10-31")``, ``1 + 2``) are
        in :meth:`rule_outputs`.
        """
        return self._exprs[index]

    @property
    def has_computed_outputs(self) -> bool:
        """True if some output entry (or default output entry) is an expression over names."""
        return any(e is not None for row in self._exprs for e in row) or any(
            o.default_expr is not None for o in self.outputs
        )

    def rank_values(self, values: Sequence[Value]) -> tuple[int, ...]:
        """Priority key of output values: their ranks in each output's ``output_values``."""
        key: list[int] = []
        for clause, value in zip(self.outputs, values, strict=True):
            ov = clause.output_values
            rank = len(ov)
            for i, allowed in enumerate(ov):
                if same_value(allowed, value):
                    rank = i
                    break
            key.append(rank)
        return tuple(key)

    def output_rank(self, index: int) -> tuple[int, ...]:
        """Priority key of rule ``index``: rank in each output's ``output_values``.

        Values not listed (or outputs without a list) rank last.
        """
        return self.rank_values(self._values[index])

    def row_value(self, values: Sequence[Value]) -> Value | dict[str, Value]:
        """A hit's value: the single output value, or a dict for several outputs."""
        if len(self.outputs) == 1:
            return values[0]
        return {o.name: v for o, v in zip(self.outputs, values, strict=True)}

    def default_result(self, values: Sequence[Value] | None = None) -> Value | dict[str, Value]:
        """The no-match result: default output entries (or null).

        ``values`` are the defaults' values for one row when some default is an
        expression (see :attr:`OutputClause.default_expr`); without them the
        constant defaults are used.
        """
        defaults = list(values) if values is not None else [o.default_value for o in self.outputs]
        if all(o.default is None for o in self.outputs):
            return None
        return self.row_value(defaults)
