"""The S-FEEL syntax tree: immutable nodes produced by the parser.

Expressions (:data:`Expr`) are literals, names, arithmetic, comparisons and
boolean connectives; unary tests (:class:`UnaryTests`) are the input entries
of decision tables.  ``str(node)`` is the node's canonical FEEL text, which
parses back to an equal node.

Examples
--------
>>> from decimal import Decimal
>>> from custvalue.rules import parse_expression
>>> from custvalue.rules.ast import BinOp, Name, NumberLit
>>> e = parse_expression("aum * 2")
>>> e == BinOp("*", Name("aum"), NumberLit(Decimal(2)))
True
>>> str(e)
'aum * 2'
"""

from __future__ import annotations

import abc
from collections.abc import Iterable
from decimal import Decimal
from typing import Final, TypeAlias

import attrs

__all__ = [
    "LITERAL_TYPES",
    "And",
    "AnyTest",
    "Between",
    "BinOp",
    "BoolLit",
    "Call",
    "Compare",
    "CompareTest",
    "EqualTest",
    "Expr",
    "ExprTest",
    "If",
    "In",
    "IntervalTest",
    "ListLit",
    "Literal",
    "Name",
    "Neg",
    "Node",
    "Not",
    "NullLit",
    "NumberLit",
    "Or",
    "Path",
    "Placeholder",
    "SimpleTest",
    "StringLit",
    "UnaryTests",
]


class Node(abc.ABC):
    """Base of the syntax-tree nodes: ``str(node)`` is its canonical FEEL text."""

    __slots__ = ()

    @abc.abstractmethod
    def to_feel(self) -> str:
        """Render as canonical FEEL text."""

    def __str__(self) -> str:
        return self.to_feel()


def _fmt_number(value: Decimal) -> str:
    text = format(value, "f")
    return text


def _fmt_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@attrs.frozen
class NumberLit(Node):
    """A number literal (exact :class:`~decimal.Decimal`, may be negative)."""

    value: Decimal

    def to_feel(self) -> str:
        """Render as canonical FEEL text."""
        return _fmt_number(self.value)


@attrs.frozen
class StringLit(Node):
    """A string literal."""

    value: str

    def to_feel(self) -> str:
        """Render as canonical FEEL text."""
        return _fmt_string(self.value)


@attrs.frozen
class BoolLit(Node):
    """``true`` or ``false``."""

    value: bool

    def to_feel(self) -> str:
        """Render as canonical FEEL text."""
        return "true" if self.value else "false"


@attrs.frozen
class NullLit(Node):
    """``null``."""

    def to_feel(self) -> str:
        """Render as canonical FEEL text."""
        return "null"


@attrs.frozen
class Name(Node):
    """A name: one or more words (``Monthly Salary``), or a qualified name (``applicant.age``).

    A qualified name is one dotted string; it is looked up as that key first
    (a flattened column ``"applicant.age"``), then as a path through nested
    mappings (``{"applicant": {"age": 30}}``).
    """

    name: str

    def to_feel(self) -> str:
        """Render as canonical FEEL text."""
        return self.name


@attrs.frozen
class Placeholder(Node):
    """``?``: the input value of the unary test being evaluated."""

    def to_feel(self) -> str:
        """Render as canonical FEEL text."""
        return "?"


def _args_tuple(args: Iterable[Expr]) -> tuple[Expr, ...]:
    return tuple(args)


@attrs.frozen
class ListLit(Node):
    """A list ``[a, b, c]``: a value (``count([a, b])``, ``x in [1, 2]``, a decision's result)."""

    items: tuple[Expr, ...] = attrs.field(converter=_args_tuple)

    def to_feel(self) -> str:
        """Render as canonical FEEL text."""
        return "[" + ", ".join(i.to_feel() for i in self.items) + "]"


@attrs.frozen
class Call(Node):
    """A function invocation with positional arguments: ``upper case(name)``, ``date("2026-10-31")``.

    ``function`` is the function's name (words joined by single spaces); it
    names a built-in function or a user function (a business knowledge model)
    supplied by the caller.
    """

    function: str
    args: tuple[Expr, ...] = attrs.field(converter=_args_tuple)

    def to_feel(self) -> str:
        """Render as canonical FEEL text."""
        return f"{self.function}(" + ", ".join(a.to_feel() for a in self.args) + ")"


@attrs.frozen
class Path(Node):
    """A property of a computed value: ``date(x).year``, ``?.month``, ``(a + b).days``.

    Qualified names over plain names (``applicant.age``) are :class:`Name` nodes.
    """

    base: Expr
    name: str

    def to_feel(self) -> str:
        """Render as canonical FEEL text."""
        inner = self.base.to_feel()
        if not isinstance(self.base, Call | Placeholder | Path | Name):
            inner = f"({inner})"
        return f"{inner}.{self.name}"


@attrs.frozen
class Neg(Node):
    """Unary minus of a non-literal operand."""

    operand: Expr

    def to_feel(self) -> str:
        """Render as canonical FEEL text."""
        return f"-({self.operand.to_feel()})"


@attrs.frozen
class BinOp(Node):
    """Arithmetic ``+ - * / **`` (all left-associative; ``**`` binds tightest, unary minus tighter)."""

    op: str
    left: Expr
    right: Expr

    def to_feel(self) -> str:
        """Render as canonical FEEL text."""
        prec = _prec(self)
        return f"{_wrap(self.left, prec, False)} {self.op} {_wrap(self.right, prec, True)}"


@attrs.frozen
class Compare(Node):
    """Comparison ``= != < <= > >=`` (non-associative)."""

    op: str
    left: Expr
    right: Expr

    def to_feel(self) -> str:
        """Render as canonical FEEL text."""
        return f"{_wrap(self.left, 3, True)} {self.op} {_wrap(self.right, 3, True)}"


@attrs.frozen
class And(Node):
    """Three-valued conjunction."""

    left: Expr
    right: Expr

    def to_feel(self) -> str:
        """Render as canonical FEEL text."""
        return f"{_wrap(self.left, 2, False)} and {_wrap(self.right, 2, True)}"


@attrs.frozen
class Or(Node):
    """Three-valued disjunction."""

    left: Expr
    right: Expr

    def to_feel(self) -> str:
        """Render as canonical FEEL text."""
        return f"{_wrap(self.left, 1, False)} or {_wrap(self.right, 1, True)}"


@attrs.frozen
class Not(Node):
    """``not(expr)``: three-valued negation."""

    operand: Expr

    def to_feel(self) -> str:
        """Render as canonical FEEL text."""
        return f"not({self.operand.to_feel()})"


@attrs.frozen
class If(Node):
    """``if condition then a else b``: ``a`` when the condition is ``true``, else ``b`` (null too)."""

    condition: Expr
    then: Expr
    otherwise: Expr

    def to_feel(self) -> str:
        """Render as canonical FEEL text."""
        return f"if {self.condition.to_feel()} then {self.then.to_feel()} else {self.otherwise.to_feel()}"


@attrs.frozen
class Between(Node):
    """``value between low and high``: ``value >= low and value <= high`` (three-valued)."""

    value: Expr
    low: Expr
    high: Expr

    def to_feel(self) -> str:
        """Render as canonical FEEL text."""
        value, low, high = (_wrap(x, 4, False) for x in (self.value, self.low, self.high))
        return f"{value} between {low} and {high}"


@attrs.frozen
class In(Node):
    """``value in (tests)``: the positive unary tests applied to ``value`` (``x in [1..5]``,
    ``x in (1, 2, 3)``, ``x in [1, 2, 3]``, ``x in (List)``); true, false or null."""

    value: Expr
    tests: UnaryTests

    def to_feel(self) -> str:
        """Render as canonical FEEL text."""
        return f"{_wrap(self.value, 4, False)} in ({self.tests.to_feel()})"


Expr: TypeAlias = (
    NumberLit
    | StringLit
    | BoolLit
    | NullLit
    | Name
    | Placeholder
    | Path
    | ListLit
    | Call
    | Neg
    | BinOp
    | Compare
    | And
    | Or
    | Not
    | If
    | Between
    | In
)
Literal: TypeAlias = NumberLit | StringLit | BoolLit | NullLit
#: The literal node types.
LITERAL_TYPES: Final = (NumberLit, StringLit, BoolLit, NullLit)


def _prec(expr: Expr) -> int:
    if isinstance(expr, If):
        return 0
    if isinstance(expr, Between | In):
        return 3
    if isinstance(expr, Or):
        return 1
    if isinstance(expr, And):
        return 2
    if isinstance(expr, Compare):
        return 3
    if isinstance(expr, BinOp):
        return 4 if expr.op in "+-" else 6 if expr.op == "**" else 5
    return 7


def _wrap(expr: Expr, prec: int, right: bool) -> str:
    p = _prec(expr)
    text = expr.to_feel()
    if p < prec or (right and p == prec) or (prec == 3 and p == 3):
        return f"({text})"
    return text


# Unary tests ---------------------------------------------------------------


@attrs.frozen
class CompareTest(Node):
    """``< x``, ``<= x``, ``> x``, ``>= x``, ``= x`` or ``!= x``."""

    op: str
    endpoint: Expr

    def to_feel(self) -> str:
        """Render as canonical FEEL text."""
        return f"{self.op} {self.endpoint.to_feel()}"


@attrs.frozen
class EqualTest(Node):
    """A bare endpoint: the input must equal it (``"diamond"``, ``3``, ``null``)."""

    endpoint: Expr

    def to_feel(self) -> str:
        """Render as canonical FEEL text."""
        return self.endpoint.to_feel()


@attrs.frozen
class IntervalTest(Node):
    """An interval ``[a..b]``; ``low_closed``/``high_closed`` give the bracket kinds."""

    low: Expr
    high: Expr
    low_closed: bool
    high_closed: bool

    def to_feel(self) -> str:
        """Render as canonical FEEL text (``(``/``)`` for open ends)."""
        lb = "[" if self.low_closed else "("
        hb = "]" if self.high_closed else ")"
        return f"{lb}{self.low.to_feel()}..{self.high.to_feel()}{hb}"


@attrs.frozen
class AnyTest(Node):
    """``-``: matches every value including null."""

    def to_feel(self) -> str:
        """Render as canonical FEEL text."""
        return "-"


@attrs.frozen
class ExprTest(Node):
    """A boolean expression over ``?`` (``? > 5 and ? < 10``, ``starts with(?, "A")``).

    The test holds when the expression, with ``?`` bound to the input value,
    is ``true``.
    """

    expr: Expr

    def to_feel(self) -> str:
        """Render as canonical FEEL text."""
        return self.expr.to_feel()


SimpleTest: TypeAlias = CompareTest | EqualTest | IntervalTest | ExprTest


def _tests_tuple(tests: Iterable[SimpleTest]) -> tuple[SimpleTest, ...]:
    return tuple(tests)


@attrs.frozen
class UnaryTests(Node):
    """Parsed input entry: ``-``, a list of simple tests, or ``not(list)``.

    ``tests`` is empty exactly for ``-``.
    """

    tests: tuple[SimpleTest, ...] = attrs.field(converter=_tests_tuple)
    negated: bool = False

    @property
    def is_any(self) -> bool:
        """True for ``-``."""
        return not self.tests

    def to_feel(self) -> str:
        """Render as canonical FEEL text.

        Examples
        --------
        >>> from custvalue.rules import parse_unary_tests
        >>> parse_unary_tests('not( "a","b" )').to_feel()
        'not("a", "b")'
        """
        if not self.tests:
            return "-"
        body = ", ".join(t.to_feel() for t in self.tests)
        return f"not({body})" if self.negated else body
