"""The elements of a DMN model: input data, decisions, business knowledge models.

Immutable attrs classes, compared by value (so a model read back from its
export is ``==`` to the original).  The evaluation lives in
:mod:`custvalue.rules._drg`; reading and writing XML in
:mod:`custvalue.rules._dmn`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

from ._feel import FeelSyntaxError, expr_functions, expr_names, parse_expression
from ._table import DecisionTable, TableError
from .ast import Expr

__all__ = [
    "Binding",
    "BusinessKnowledgeModel",
    "DmnDecision",
    "DmnError",
    "Invocation",
    "LiteralExpression",
    "Parameter",
]


class DmnError(TableError):
    """A DMN document or model custvalue cannot import or evaluate exactly, naming the place.

    Attributes
    ----------
    file, line, element : str, int, str or None
        The file (when read from one), the 1-based line and the element
        (``decision 'Risk' (id d1)``) of the problem.
    """

    def __init__(
        self, message: str, *, file: str | None = None, line: int | None = None, element: str | None = None
    ) -> None:
        self.file, self.line, self.element = file, line, element
        where = ", ".join(
            p
            for p in (
                element,
                None if file is None else f"file {file}",
                None if line is None else f"line {line}",
            )
            if p
        )
        super().__init__(f"{message} ({where})" if where else message)
        self.reason = message


@attrs.frozen
class LiteralExpression:
    """A FEEL literal expression (``<literalExpression><text>``), parsed on construction.

    Examples
    --------
    >>> e = LiteralExpression("Monthly Salary * 12")
    >>> sorted(e.names)
    ['Monthly Salary']
    """

    text: str
    type_ref: str | None = None
    expression: Expr = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "expression", parse_expression(self.text))

    @property
    def names(self) -> frozenset[str]:
        """The names the expression reads."""
        return frozenset(expr_names(self.expression))

    @property
    def functions(self) -> frozenset[str]:
        """The functions it calls (built-ins and business knowledge models)."""
        return frozenset(expr_functions(self.expression))


@attrs.frozen
class Parameter:
    """A formal parameter of a business knowledge model (or an invocation binding's parameter)."""

    name: str
    type_ref: str | None = None


@attrs.frozen
class Binding:
    """One argument of an invocation: the parameter and the expression bound to it (None: null)."""

    parameter: str
    expression: LiteralExpression | None


def _bindings(v: Iterable[Binding]) -> tuple[Binding, ...]:
    return tuple(v)


@attrs.frozen
class Invocation:
    """A DMN ``invocation``: call ``function`` (a business knowledge model) with named bindings."""

    function: str
    bindings: tuple[Binding, ...] = attrs.field(converter=_bindings)


def _tuple_str(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def str_tuple(values: Iterable[str]) -> tuple[str, ...]:
    """A tuple of strings (an attrs converter)."""
    return tuple(values)


def str_map(values: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """A dict of strings (an attrs converter)."""
    return dict(values)


def _parameters(v: Iterable[Parameter]) -> tuple[Parameter, ...]:
    return tuple(v)


@attrs.frozen
class BusinessKnowledgeModel:
    """A DMN ``businessKnowledgeModel``: a function of ``parameters`` whose body is a table or expression.

    It is invoked from decisions by an ``<invocation>`` or by a FEEL call
    ``name(a, b)``; arguments bind to the parameters by position (calls) or
    by name (invocations).  ``required_knowledge`` lists the other BKMs its
    body may call.
    """

    name: str
    parameters: tuple[Parameter, ...] = attrs.field(converter=_parameters)
    body: DecisionTable | LiteralExpression
    type_ref: str | None = None
    required_knowledge: tuple[str, ...] = attrs.field(default=(), converter=_tuple_str)
    id: str | None = attrs.field(default=None, eq=False)
    requirement_ids: Mapping[str, str] = attrs.field(factory=dict, eq=False, converter=str_map)
    extras: tuple[str, ...] = attrs.field(default=(), eq=False, converter=str_tuple)

    def __attrs_post_init__(self) -> None:
        names = [p.name for p in self.parameters]
        if len(set(names)) != len(names):
            raise TableError(f"business knowledge model {self.name!r} repeats a parameter name")

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """The formal parameters' names, in order."""
        return tuple(p.name for p in self.parameters)


Logic = DecisionTable | LiteralExpression | Invocation


@attrs.frozen
class DmnDecision:
    """One decision of a DMN model.

    ``logic`` is a :class:`DecisionTable`, a :class:`LiteralExpression` or an
    :class:`Invocation`.  ``required_inputs`` and ``required_decisions`` are
    the names of the input data and decisions it reads (its information
    requirements); ``required_knowledge`` the business knowledge models it
    invokes.  ``DmnDecision(name, table)`` (the 0.1 form) still works, and
    ``decision.table`` is the table (None for other logic).
    """

    name: str
    table: DecisionTable | None = None
    required_inputs: tuple[str, ...] = attrs.field(default=(), converter=_tuple_str)
    type_ref: str | None = None
    required_decisions: tuple[str, ...] = attrs.field(default=(), converter=_tuple_str, kw_only=True)
    required_knowledge: tuple[str, ...] = attrs.field(default=(), converter=_tuple_str, kw_only=True)
    literal: LiteralExpression | None = attrs.field(default=None, kw_only=True)
    invocation: Invocation | None = attrs.field(default=None, kw_only=True)
    id: str | None = attrs.field(default=None, kw_only=True, eq=False)
    requirement_ids: Mapping[str, str] = attrs.field(factory=dict, kw_only=True, eq=False, converter=str_map)
    extras: tuple[str, ...] = attrs.field(default=(), kw_only=True, eq=False, converter=str_tuple)

    def __attrs_post_init__(self) -> None:
        given = [x for x in (self.table, self.literal, self.invocation) if x is not None]
        if len(given) != 1:
            raise TableError(
                f"decision {self.name!r} needs exactly one of a table, a literal expression or an invocation"
            )

    @property
    def logic(self) -> Logic:
        """The decision logic: a table, a literal expression or an invocation."""
        logic = self.table or self.literal or self.invocation
        assert logic is not None
        return logic

    @property
    def kind(self) -> str:
        """``"decisionTable"``, ``"literalExpression"`` or ``"invocation"``."""
        if self.table is not None:
            return "decisionTable"
        return "literalExpression" if self.literal is not None else "invocation"

    @property
    def requirements(self) -> tuple[str, ...]:
        """Required decisions then required inputs."""
        return self.required_decisions + self.required_inputs


def literal(text: str, type_ref: str | None = None, *, where: str) -> LiteralExpression:
    """A literal expression, with a syntax error naming ``where``."""
    try:
        return LiteralExpression(text, type_ref)
    except FeelSyntaxError as err:
        raise TableError(f"{where}: {err}") from err
