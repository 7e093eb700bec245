"""The ``[value]`` section of a policy: customer value, value matrix and scoring grade (SPEC section 6).

Everything the value measures of :mod:`custvalue.analytics` need is data here:

* ``margins`` — annual margin rate per balance column (deposit margin, wealth
  fee, loan spread), exact decimals;
* ``period``, ``discount_rate``, ``retention`` (or ``churn``; one number or a
  table by tier) and ``horizon`` — the lifetime-value parameters;
* ``markov`` — how the customer-migration model finds a churned customer;
* ``inputs`` — measures the caller supplies (name = ``"money"`` or ``"number"``);
* ``formula`` — the seeds' value formula, value = explicit value + implicit
  value − explicit cost − implicit cost, each component a measure name, a
  table of ``measure = coefficient`` or an S-FEEL arithmetic expression over
  measures (``"annual_margin + 0.5 * wealth_fee"``; see :data:`FORMULA_FUNCTIONS`);
* ``matrix`` — the current × potential value quadrants, cuts and names;
* ``scoring`` — the seeds' weighted scoring grade: score cards (COLLECT SUM of
  points), weights, bonus rules and grade bands.

This module parses, checks and writes the section back out; the measures are
computed in :mod:`custvalue.analytics`.  Every problem is a
:class:`PolicyError` naming its document path (``value.scoring.weights``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import attrs

from ..portfolio import MONEY_COLUMNS
from ..rules import (
    DecisionTable,
    FeelSyntaxError,
    TableError,
    parse_expression,
    parse_unary_tests,
    tests_names,
    validate_table,
)
from ..rules.ast import BinOp, Call, Expr, ListLit, Name, Neg, NumberLit
from ._schema import IDENT, PolicyError
from ._specs import FeatureSpec

__all__ = [
    "BALANCE_COLUMNS",
    "FORMULA_COMPONENTS",
    "FORMULA_FUNCTIONS",
    "VALUE_MEASURES",
    "BonusRule",
    "FormulaComponent",
    "GradeBand",
    "MarkovSpec",
    "Quadrant",
    "ScoreRule",
    "ScoringSpec",
    "ValueMatrixSpec",
    "ValueSpec",
    "check_value",
    "expression_names",
    "grade_table",
    "parse_formula_expression",
    "parse_value",
    "value_dict",
    "value_measure_kinds",
]

#: Balance columns a margin rate may apply to (card spend is a flow, not a balance).
BALANCE_COLUMNS: Final[tuple[str, ...]] = tuple(c for c in MONEY_COLUMNS if c != "card_spend")
#: Measures derived by the value analytics (fen); names no feature or input may take.
DERIVED_MEASURES: Final[tuple[str, ...]] = (
    "monthly_margin",
    "annual_margin",
    "clv",
    "markov_clv",
    "aum_growth",
    "value",
    "sales",
)
#: Every built-in measure: the monthly columns at the as-of month, AUM and the derived measures.
VALUE_MEASURES: Final[tuple[str, ...]] = (*MONEY_COLUMNS, "aum", "card_level", *DERIVED_MEASURES)
#: The components of the value formula, in the order they are added (+ + − −).
FORMULA_COMPONENTS: Final[tuple[str, ...]] = (
    "explicit_value",
    "implicit_value",
    "explicit_cost",
    "implicit_cost",
)
#: The built-in functions a formula expression may call.
FORMULA_FUNCTIONS: Final[tuple[str, ...]] = ("abs", "ceiling", "floor", "max", "min")
#: The operators of a formula expression.
FORMULA_OPERATORS: Final[tuple[str, ...]] = ("+", "-", "*", "/", "**")
#: Largest magnitude of a ``**`` exponent in a formula expression.
MAX_POWER: Final = 64
_PERIODS: Final = ("year", "month")
_INPUT_KINDS: Final = ("money", "number")
_LEVELS: Final = ("high", "low")
#: Rates, coefficients and factors have at most this many decimals.
_PLACES: Final = 6
_DEFAULT_CHURN_COLUMNS: Final = BALANCE_COLUMNS


def _err(path: str, message: str, source: str | None = None) -> PolicyError:
    return PolicyError(f"{path}: {message}", path=path, file=source)


# --------------------------------------------------------------------------- model


@attrs.frozen
class FormulaComponent:
    """One component of the value formula (fen).

    Either ``Σ coefficient × measure`` (``terms``; ``text`` keeps the
    document's spelling when it was a plain measure name,
    ``explicit_value = "annual_margin"``) or an S-FEEL arithmetic expression
    (``expr``, parsed at policy load; ``text`` is its source).  In an
    expression, money measures are in the policy's amount unit (yuan when
    amounts are yuan) and the result is converted back to fen, rounded
    half-even.

    >>> FormulaComponent((("annual_margin", Decimal(1)),), "annual_margin").names
    ('annual_margin',)
    >>> parse_formula_expression("annual_margin + 0.5 * max(wealth, 0)", "p").names
    ('annual_margin', 'wealth')
    """

    terms: tuple[tuple[str, Decimal], ...] = ()
    text: str | None = None
    expr: Expr | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        """The measures the component reads (document order)."""
        if self.expr is not None:
            return expression_names(self.expr)
        return tuple(n for n, _ in self.terms)

    @property
    def is_expression(self) -> bool:
        """True for an arithmetic expression (not a plain name or a table of coefficients)."""
        return self.expr is not None

    @property
    def empty(self) -> bool:
        """True when the document gives no component (it counts 0)."""
        return self.expr is None and not self.terms


def expression_names(expr: Expr) -> tuple[str, ...]:
    """The names an arithmetic expression reads, in order of first appearance.

    >>> from custvalue.rules import parse_expression
    >>> expression_names(parse_expression("a * (b + a) - min(c, 1)"))
    ('a', 'b', 'c')
    """
    seen: dict[str, None] = {}

    def walk(e: Expr) -> None:
        if isinstance(e, Name):
            seen.setdefault(e.name, None)
        elif isinstance(e, Neg):
            walk(e.operand)
        elif isinstance(e, BinOp):
            walk(e.left)
            walk(e.right)
        elif isinstance(e, Call):
            for a in e.args:
                walk(a)
        elif isinstance(e, ListLit):
            for a in e.items:
                walk(a)

    walk(expr)
    return tuple(seen)


def _whole_literal(e: Expr) -> int | None:
    """The value of an integer literal (``3``, ``-2``), else None."""
    sign = 1
    if isinstance(e, Neg):
        sign, e = -1, e.operand
    if isinstance(e, NumberLit) and e.value == e.value.to_integral_value():
        return sign * int(e.value)
    return None


def _check_arithmetic(e: Expr, path: str, source: str | None) -> None:
    """Only numbers, names, ``+ - * / **``, unary minus and the :data:`FORMULA_FUNCTIONS`."""
    if isinstance(e, NumberLit):
        if not e.value.is_finite() or (e.value and e.value.adjusted() > 16):
            raise _err(path, f"number {e.value} is not below 10**17", source)
        exp = e.value.as_tuple().exponent
        if isinstance(exp, int) and -exp > 18:
            raise _err(path, f"number {e.value} has more than 18 decimals", source)
        return
    if isinstance(e, Name):
        if not IDENT.match(e.name):
            raise _err(path, f"unknown name {e.name!r}", source)
        return
    if isinstance(e, Neg):
        _check_arithmetic(e.operand, path, source)
        return
    if isinstance(e, BinOp):
        if e.op not in FORMULA_OPERATORS:  # pragma: no cover - the parser knows no other operator
            raise _err(path, f"operator {e.op!r} is not arithmetic", source)
        if e.op == "**":
            k = _whole_literal(e.right)
            if k is None or abs(k) > MAX_POWER:
                raise _err(
                    path,
                    f"the exponent of ** must be a whole number from -{MAX_POWER} to {MAX_POWER}, "
                    f"got {e.right}",
                    source,
                )
        _check_arithmetic(e.left, path, source)
        _check_arithmetic(e.right, path, source)
        return
    if isinstance(e, Call):
        f = e.function
        if f not in FORMULA_FUNCTIONS:
            raise _err(
                path, f"function {f!r} is not allowed; allowed: {', '.join(FORMULA_FUNCTIONS)}", source
            )
        args = e.args
        if f in ("min", "max"):
            if len(args) == 1 and isinstance(args[0], ListLit):
                args = args[0].items
            if not args:
                raise _err(path, f"{f}() needs at least one argument", source)
        elif f == "abs":
            if len(args) != 1:
                raise _err(path, f"abs() takes one argument, got {len(args)}", source)
        else:  # floor, ceiling: (n) or (n, scale)
            if len(args) not in (1, 2):
                raise _err(path, f"{f}() takes one or two arguments, got {len(args)}", source)
            if len(args) == 2:
                k = _whole_literal(args[1])
                if k is None or not 0 <= k <= 18:
                    raise _err(
                        path, f"the scale of {f}() must be a whole number 0..18, got {args[1]}", source
                    )
        for a in args:
            if isinstance(a, ListLit):
                raise _err(path, f"a list is only allowed as the one argument of min() or max(): {a}", source)
            _check_arithmetic(a, path, source)
        return
    raise _err(
        path,
        f"{str(e)!r} is not arithmetic; write numbers, measure names, + - * / **, parentheses "
        f"and {', '.join(FORMULA_FUNCTIONS)}",
        source,
    )


def parse_formula_expression(text: str, path: str, source: str | None = None) -> FormulaComponent:
    """Parse a value-formula component written as an S-FEEL arithmetic expression.

    Names are checked against the policy by :func:`check_value`.

    Raises
    ------
    PolicyError
        A syntax error (with its column) or non-arithmetic syntax, naming ``path``.

    Examples
    --------
    >>> parse_formula_expression("annual_margin + 0.5 * wealth", "value.formula.explicit_value").text
    'annual_margin + 0.5 * wealth'
    >>> parse_formula_expression("sqrt(aum)", "value.formula.implicit_value")
    Traceback (most recent call last):
    ...
    custvalue.policy.PolicyError: value.formula.implicit_value: function 'sqrt' is not allowed; ...
    >>> parse_formula_expression("aum > 5", "value.formula.implicit_value")
    Traceback (most recent call last):
    ...
    custvalue.policy.PolicyError: value.formula.implicit_value: 'aum > 5' is not arithmetic; ...
    """
    if len(text) > 4000:
        raise _err(path, f"expression longer than 4000 characters ({len(text)})", source)
    try:
        expr = parse_expression(text)
    except FeelSyntaxError as exc:
        first = str(exc).splitlines()[0]
        raise _err(path, f"invalid S-FEEL expression {text!r}: {first}", source) from None
    except RecursionError:
        raise _err(path, "expression nested too deeply", source) from None
    _check_arithmetic(expr, path, source)
    return FormulaComponent(text=text, expr=expr)


@attrs.frozen
class MarkovSpec:
    """How the customer-migration model is estimated.

    A customer counts as **churned** (absorbing) from the first month in which
    the sum of ``churn_columns`` is below ``churn_below`` (policy amount unit;
    the default 0.01 yuan means "every balance is zero").  ``months`` is the
    number of monthly transitions counted (ending at the as-of month).
    """

    months: int = 12
    churn_columns: tuple[str, ...] = _DEFAULT_CHURN_COLUMNS
    churn_below: Decimal = Decimal("0.01")


@attrs.frozen
class Quadrant:
    """A cell of the value matrix: current value ``high``/``low`` × potential value ``high``/``low``."""

    id: str
    current: str
    potential: str
    label: str | None = None
    label_zh: str | None = None
    description: str | None = None


@attrs.frozen
class ValueMatrixSpec:
    """The value matrix: a customer is ``high`` on an axis when its measure is ``>=`` the cut.

    Cuts are in the policy's amount unit for money measures.  ``aum_growth``
    is the AUM change over ``growth_months`` months (from the customer's first
    month with data when it joined later).
    """

    current: str = "aum"
    potential: str = "clv"
    current_cut: Decimal = Decimal(0)
    potential_cut: Decimal = Decimal(0)
    quadrants: tuple[Quadrant, ...] = ()
    growth_months: int = 12

    def quadrant(self, current: str, potential: str) -> Quadrant:
        """The quadrant of a (current, potential) pair of ``"high"``/``"low"``."""
        for q in self.quadrants:
            if q.current == current and q.potential == potential:
                return q
        raise KeyError((current, potential))


@attrs.frozen
class ScoreRule:
    """A score-card row: ``points`` when every ``when`` test holds (points of matching rows add up)."""

    id: str
    when: tuple[tuple[str, str], ...]
    points: Decimal
    description: str | None = None


@attrs.frozen
class BonusRule:
    """A bonus rule: the score is multiplied by ``factor`` when every test holds (first match wins)."""

    id: str
    when: tuple[tuple[str, str], ...]
    factor: Decimal
    description: str | None = None


@attrs.frozen
class GradeBand:
    """A grade and its score band (S-FEEL unary tests on the score, e.g. ``"[85..100]"``)."""

    id: str
    score: str
    label: str | None = None
    label_zh: str | None = None
    description: str | None = None


@attrs.frozen
class ScoringSpec:
    """The weighted scoring grade: score = (history × w₁ + forecast × w₂) / total × bonus.

    ``weights_total`` is the declared sum of the weights (100 when weights
    are percentages); the score is rounded half-even to ``places`` decimals
    and graded by ``grades``.  ``sales_months`` is the window of the ``sales``
    measure (cumulative sales, e.g. 24 months for the seeds' 2-year rule).
    """

    history: tuple[ScoreRule, ...]
    forecast: tuple[ScoreRule, ...]
    history_weight: Decimal
    forecast_weight: Decimal
    weights_total: Decimal = Decimal(1)
    bonus: tuple[BonusRule, ...] = ()
    grades: tuple[GradeBand, ...] = ()
    places: int = 2
    sales_months: int = 24

    def names(self) -> tuple[str, ...]:
        """Every measure a score card or bonus rule tests, in document order."""
        seen: dict[str, None] = {}
        for rules in (self.history, self.forecast, self.bonus):
            for r in rules:
                for n, _ in r.when:
                    seen.setdefault(n, None)
        return tuple(seen)


@attrs.frozen
class ValueSpec:
    """The ``[value]`` section of a policy.

    Attributes
    ----------
    margins : tuple of (column, Decimal)
        Annual margin rate per balance column (``0.015`` is 1.5 % a year).
    period : str
        ``"year"`` or ``"month"``: the unit of ``retention``, ``discount_rate``
        and ``horizon``.
    discount_rate : Decimal
        Per period, ``> -1``.
    retention : Decimal or None
        Per period, in ``[0, 1]``, for every customer (None when by tier).
    retention_by_tier : tuple of (tier, Decimal)
        Per-tier retention (every tier named), or empty.
    as_churn : bool
        The document wrote ``churn`` (1 − retention) instead of ``retention``.
    horizon : int or None
        Periods; None for an infinite horizon.
    inputs : tuple of (name, kind)
        Measures the caller supplies: ``"money"`` (fen) or ``"number"``.
    formula : tuple of FormulaComponent
        The four components of :data:`FORMULA_COMPONENTS`, in that order.
    markov : MarkovSpec
    matrix : ValueMatrixSpec or None
    scoring : ScoringSpec or None

    Examples
    --------
    >>> v = parse_value({"margins": {"deposits": Decimal("0.015")}, "retention": Decimal("0.9")})
    >>> v.discount_rate, v.horizon, v.retention_of("gold")
    (Decimal('0.08'), None, Decimal('0.9'))
    >>> parse_value(value_dict(v)) == v
    True
    """

    margins: tuple[tuple[str, Decimal], ...]
    period: str = "year"
    discount_rate: Decimal = Decimal("0.08")
    retention: Decimal | None = Decimal(1)
    retention_by_tier: tuple[tuple[str, Decimal], ...] = ()
    as_churn: bool = False
    horizon: int | None = None
    inputs: tuple[tuple[str, str], ...] = ()
    formula: tuple[FormulaComponent, ...] = attrs.field(
        factory=lambda: tuple(FormulaComponent() for _ in FORMULA_COMPONENTS)
    )
    markov: MarkovSpec = MarkovSpec()
    matrix: ValueMatrixSpec | None = None
    scoring: ScoringSpec | None = None

    def retention_of(self, tier: str) -> Decimal:
        """Retention per period of a tier's customers."""
        if self.retention is not None:
            return self.retention
        return dict(self.retention_by_tier)[tier]

    def margin_rate(self, column: str) -> Decimal:
        """Annual margin rate of a balance column (0 when the policy names none)."""
        return dict(self.margins).get(column, Decimal(0))

    def component(self, name: str) -> FormulaComponent:
        """One formula component by name (``explicit_value`` ...)."""
        return self.formula[FORMULA_COMPONENTS.index(name)]


# --------------------------------------------------------------------------- parse helpers


def _table(v: Any, path: str, source: str | None) -> Mapping[str, Any]:
    if not isinstance(v, Mapping):
        raise _err(path, f"expected a table, got {type(v).__name__}", source)
    return v


def _keys(
    d: Mapping[str, Any], allowed: Sequence[str], required: Sequence[str], path: str, source: str | None
) -> None:
    for k in d:
        if k not in allowed:
            raise _err(f"{path}.{k}", f"unknown key; allowed: {', '.join(allowed)}", source)
    for k in required:
        if k not in d:
            raise _err(f"{path}.{k}", "missing", source)


def _text(v: Any, path: str, source: str | None, *, ident: bool = False) -> str:
    if not isinstance(v, str):
        raise _err(path, f"expected a string, got {type(v).__name__} {v!r}", source)
    if ident and not IDENT.match(v):
        raise _err(
            path, f"{v!r} is not an identifier (letters, digits, _; not starting with a digit)", source
        )
    return v


def _opt_text(d: Mapping[str, Any], key: str, path: str, source: str | None) -> str | None:
    return None if key not in d else _text(d[key], f"{path}.{key}", source)


def _number(
    v: Any,
    path: str,
    source: str | None,
    *,
    low: Decimal | None = None,
    high: Decimal | None = None,
    low_open: bool = False,
    places: int = _PLACES,
    what: str = "number",
) -> Decimal:
    """An exact decimal: int, Decimal or decimal string (never a binary float)."""
    if isinstance(v, bool):
        raise _err(path, f"expected a {what}, got {v!r}", source)
    if isinstance(v, float):
        raise _err(path, f"float {v!r} is not exact; write the {what} as a decimal string", source)
    if isinstance(v, int):
        d = Decimal(v) if abs(v) < 10**17 else Decimal("Infinity")
    elif isinstance(v, Decimal):
        d = v
    elif isinstance(v, str) and len(v) <= 64:
        try:
            d = Decimal(v.strip())
        except InvalidOperation:
            raise _err(path, f"{v!r} is not a decimal {what}", source) from None
    else:
        raise _err(path, f"expected a {what}, got {type(v).__name__}", source)
    if not d.is_finite() or (d and d.adjusted() > 16):
        raise _err(path, f"{v!r} is not a finite {what} below 10**17", source)
    exp = d.as_tuple().exponent
    if isinstance(exp, int) and -exp > places:
        raise _err(path, f"{v!r} has more than {places} decimals", source)
    if low is not None and (d <= low if low_open else d < low):
        raise _err(path, f"must be {'>' if low_open else '>='} {low}, got {d}", source)
    if high is not None and d > high:
        raise _err(path, f"must be <= {high}, got {d}", source)
    return d


def _whole(v: Any, path: str, source: str | None, *, low: int, high: int) -> int:
    if isinstance(v, Decimal) and v.is_finite() and v == v.to_integral_value():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise _err(path, f"expected a whole number, got {v!r}", source)
    if not low <= v <= high:
        raise _err(path, f"must be in [{low}, {high}], got {v}", source)
    return v


def _when(v: Any, path: str, source: str | None) -> tuple[tuple[str, str], ...]:
    if not isinstance(v, Mapping) or not v:
        raise _err(path, "expected a non-empty table of measure = test", source)
    out = []
    for name, test in v.items():
        wp = f"{path}.{name}"
        text = _text(test, wp, source)
        _unary(text, wp, source)
        out.append((str(name), text))
    return tuple(out)


def _unary(text: str, path: str, source: str | None) -> None:
    try:
        ut = parse_unary_tests(text)
    except FeelSyntaxError as exc:
        raise _err(path, f"invalid S-FEEL test {text!r}: {str(exc).splitlines()[0]}", source) from None
    if tests_names(ut):
        raise _err(path, f"test {text!r} names other values; write literal numbers or strings", source)


def _list(v: Any, path: str, source: str | None) -> list[Any]:
    if not isinstance(v, list):
        raise _err(path, f"expected a list, got {type(v).__name__}", source)
    return v


def _ids(items: Sequence[Any], path: str, source: str | None) -> None:
    seen: set[str] = set()
    for i, it in enumerate(items):
        if it.id in seen:
            raise _err(f"{path}[{i}].id", f"duplicate id {it.id!r}", source)
        seen.add(it.id)


# --------------------------------------------------------------------------- parse


_TOP_KEYS: Final = (
    "margins",
    "period",
    "discount_rate",
    "retention",
    "churn",
    "horizon",
    "inputs",
    "formula",
    "markov",
    "matrix",
    "scoring",
)


def parse_value(raw: Any, source: str | None = None) -> ValueSpec:
    """Parse a ``value`` table into a :class:`ValueSpec`.

    Names are checked against the policy's tiers and features by :func:`check_value`.

    Raises
    ------
    PolicyError
        With the document path of the problem.

    Examples
    --------
    >>> parse_value({"margins": {"deposits": "0.015"}, "discount_rate": "-1"})
    Traceback (most recent call last):
    ...
    custvalue.policy.PolicyError: value.discount_rate: must be > -1, got -1 (at value.discount_rate)
    >>> parse_value({"margins": {}, "retention": "1.2"})
    Traceback (most recent call last):
    ...
    custvalue.policy.PolicyError: value.retention: must be <= 1, got 1.2 (at value.retention)
    """
    d = _table(raw, "value", source)
    _keys(d, _TOP_KEYS, ("margins",), "value", source)
    margins_raw = _table(d["margins"], "value.margins", source)
    margins = []
    for col, rate in margins_raw.items():
        p = f"value.margins.{col}"
        if col not in BALANCE_COLUMNS:
            raise _err(p, f"unknown balance column; known: {', '.join(BALANCE_COLUMNS)}", source)
        margins.append((str(col), _number(rate, p, source, low=Decimal(-1), high=Decimal(1), what="rate")))
    period = _text(d.get("period", "year"), "value.period", source)
    if period not in _PERIODS:
        raise _err("value.period", f"must be one of {', '.join(_PERIODS)}, got {period!r}", source)
    discount = _number(
        d.get("discount_rate", Decimal("0.08")),
        "value.discount_rate",
        source,
        low=Decimal(-1),
        low_open=True,
        high=Decimal(100),
        what="rate",
    )
    if "retention" in d and "churn" in d:
        raise _err("value.churn", "give retention or churn, not both", source)
    as_churn = "churn" in d
    key = "churn" if as_churn else "retention"
    r_raw = d.get(key, Decimal(1))
    retention: Decimal | None
    by_tier: tuple[tuple[str, Decimal], ...] = ()
    if isinstance(r_raw, Mapping):
        if not r_raw:
            raise _err(f"value.{key}", "name a rate for every tier", source)
        pairs = []
        for tier, rv in r_raw.items():
            x = _number(
                rv, f"value.{key}.{tier}", source, low=Decimal(0), high=Decimal(1), what="probability"
            )
            pairs.append((str(tier), 1 - x if as_churn else x))
        retention, by_tier = None, tuple(pairs)
    else:
        x = _number(r_raw, f"value.{key}", source, low=Decimal(0), high=Decimal(1), what="probability")
        retention = 1 - x if as_churn else x
    horizon = None if "horizon" not in d else _whole(d["horizon"], "value.horizon", source, low=1, high=1200)
    if horizon is not None and period == "year" and horizon > 100:
        raise _err("value.horizon", f"must be in [1, 100] years, got {horizon}", source)
    inputs = []
    for name, kind in _table(d.get("inputs", {}), "value.inputs", source).items():
        p = f"value.inputs.{name}"
        _text(name, p, source, ident=True)
        k = _text(kind, p, source)
        if k not in _INPUT_KINDS:
            raise _err(p, f"kind must be one of {', '.join(_INPUT_KINDS)}, got {k!r}", source)
        inputs.append((str(name), k))
    spec = ValueSpec(
        margins=tuple(margins),
        period=period,
        discount_rate=discount,
        retention=retention,
        retention_by_tier=by_tier,
        as_churn=as_churn,
        horizon=horizon,
        inputs=tuple(inputs),
        formula=_parse_formula(d.get("formula", {}), source),
        markov=_parse_markov(d.get("markov", {}), source),
        matrix=None if "matrix" not in d else _parse_matrix(d["matrix"], source),
        scoring=None if "scoring" not in d else _parse_scoring(d["scoring"], source),
    )
    if horizon is None and retention is not None and retention >= 1 + discount:
        raise _err(
            "value.horizon",
            f"an infinite horizon needs retention < 1 + discount_rate ({retention} >= {1 + discount}); "
            "give a horizon",
            source,
        )
    return spec


def _parse_formula(raw: Any, source: str | None) -> tuple[FormulaComponent, ...]:
    d = _table(raw, "value.formula", source)
    _keys(d, FORMULA_COMPONENTS, (), "value.formula", source)
    out = []
    for comp in FORMULA_COMPONENTS:
        p = f"value.formula.{comp}"
        v = d.get(comp, {})
        if isinstance(v, str):
            if IDENT.match(v.strip()) and v == v.strip():
                out.append(FormulaComponent(((v, Decimal(1)),), v))
            else:
                out.append(parse_formula_expression(v, p, source))
            continue
        terms = []
        for name, coef in _table(v, p, source).items():
            terms.append(
                (
                    _text(name, f"{p}.{name}", source, ident=True),
                    _number(
                        coef,
                        f"{p}.{name}",
                        source,
                        low=Decimal(-(10**6)),
                        high=Decimal(10**6),
                        what="coefficient",
                    ),
                )
            )
        out.append(FormulaComponent(tuple(terms)))
    return tuple(out)


def _parse_markov(raw: Any, source: str | None) -> MarkovSpec:
    d = _table(raw, "value.markov", source)
    _keys(d, ("months", "churn_columns", "churn_below"), (), "value.markov", source)
    cols_raw = _list(
        d.get("churn_columns", list(_DEFAULT_CHURN_COLUMNS)), "value.markov.churn_columns", source
    )
    cols = []
    for i, c in enumerate(cols_raw):
        p = f"value.markov.churn_columns[{i}]"
        name = _text(c, p, source)
        if name not in MONEY_COLUMNS:
            raise _err(p, f"unknown column {name!r}; known: {', '.join(MONEY_COLUMNS)}", source)
        if name in cols:
            raise _err(p, f"column {name!r} listed twice", source)
        cols.append(name)
    if not cols:
        raise _err("value.markov.churn_columns", "name at least one column", source)
    return MarkovSpec(
        months=_whole(d.get("months", 12), "value.markov.months", source, low=1, high=1199),
        churn_columns=tuple(cols),
        churn_below=_number(
            d.get("churn_below", Decimal("0.01")),
            "value.markov.churn_below",
            source,
            low=Decimal(0),
            places=2,
            what="amount",
        ),
    )


def _parse_matrix(raw: Any, source: str | None) -> ValueMatrixSpec:
    p = "value.matrix"
    d = _table(raw, p, source)
    _keys(
        d,
        ("current", "potential", "current_cut", "potential_cut", "quadrants", "growth_months"),
        ("current_cut", "potential_cut", "quadrants"),
        p,
        source,
    )
    quads = []
    for i, qd in enumerate(_list(d["quadrants"], f"{p}.quadrants", source)):
        qp = f"{p}.quadrants[{i}]"
        q = _table(qd, qp, source)
        _keys(
            q,
            ("id", "current", "potential", "label", "label_zh", "description"),
            ("id", "current", "potential"),
            qp,
            source,
        )
        levels = []
        for axis in ("current", "potential"):
            lv = _text(q[axis], f"{qp}.{axis}", source)
            if lv not in _LEVELS:
                raise _err(f"{qp}.{axis}", f"must be 'high' or 'low', got {lv!r}", source)
            levels.append(lv)
        quads.append(
            Quadrant(
                id=_text(q["id"], f"{qp}.id", source, ident=True),
                current=levels[0],
                potential=levels[1],
                label=_opt_text(q, "label", qp, source),
                label_zh=_opt_text(q, "label_zh", qp, source),
                description=_opt_text(q, "description", qp, source),
            )
        )
    _ids(quads, f"{p}.quadrants", source)
    seen: dict[tuple[str, str], int] = {}
    for i, quad in enumerate(quads):
        key = (quad.current, quad.potential)
        if key in seen:
            raise _err(
                f"{p}.quadrants[{i}]",
                f"quadrant {key[0]}/{key[1]} already given at quadrants[{seen[key]}]",
                source,
            )
        seen[key] = i
    missing = [f"{c}/{pt}" for c in _LEVELS for pt in _LEVELS if (c, pt) not in seen]
    if missing:
        raise _err(
            f"{p}.quadrants",
            f"name all four quadrants; missing current/potential {', '.join(missing)}",
            source,
        )
    return ValueMatrixSpec(
        current=_text(d.get("current", "aum"), f"{p}.current", source, ident=True),
        potential=_text(d.get("potential", "clv"), f"{p}.potential", source, ident=True),
        current_cut=_number(d["current_cut"], f"{p}.current_cut", source, places=2, what="amount"),
        potential_cut=_number(d["potential_cut"], f"{p}.potential_cut", source, places=2, what="amount"),
        quadrants=tuple(quads),
        growth_months=_whole(d.get("growth_months", 12), f"{p}.growth_months", source, low=1, high=1199),
    )


def _score_rules(raw: Any, path: str, source: str | None, *, bonus: bool) -> tuple[Any, ...]:
    out: list[Any] = []
    value_key = "factor" if bonus else "points"
    for i, rd in enumerate(_list(raw, path, source)):
        rp = f"{path}[{i}]"
        r = _table(rd, rp, source)
        _keys(r, ("id", "when", value_key, "description"), ("id", "when", value_key), rp, source)
        rid = _text(r["id"], f"{rp}.id", source, ident=True)
        when = _when(r["when"], f"{rp}.when", source)
        desc = _opt_text(r, "description", rp, source)
        if bonus:
            f = _number(
                r["factor"], f"{rp}.factor", source, low=Decimal(0), high=Decimal(1000), what="factor"
            )
            out.append(BonusRule(rid, when, f, desc))
        else:
            pts = _number(
                r["points"],
                f"{rp}.points",
                source,
                low=Decimal(-(10**9)),
                high=Decimal(10**9),
                what="number of points",
            )
            out.append(ScoreRule(rid, when, pts, desc))
    _ids(out, path, source)
    return tuple(out)


def _parse_scoring(raw: Any, source: str | None) -> ScoringSpec:
    p = "value.scoring"
    d = _table(raw, p, source)
    _keys(
        d,
        ("weights", "weights_total", "history", "forecast", "bonus", "grades", "places", "sales_months"),
        ("weights", "history", "forecast"),
        p,
        source,
    )
    w = _table(d["weights"], f"{p}.weights", source)
    _keys(w, ("history", "forecast"), ("history", "forecast"), f"{p}.weights", source)
    wh = _number(
        w["history"], f"{p}.weights.history", source, low=Decimal(0), high=Decimal(10**6), what="weight"
    )
    wf = _number(
        w["forecast"], f"{p}.weights.forecast", source, low=Decimal(0), high=Decimal(10**6), what="weight"
    )
    total = _number(
        d.get("weights_total", Decimal(1)),
        f"{p}.weights_total",
        source,
        low=Decimal(0),
        low_open=True,
        high=Decimal(10**6),
        what="weight",
    )
    if wh + wf != total:
        raise _err(f"{p}.weights", f"weights sum to {wh + wf}, but weights_total declares {total}", source)
    grades = []
    for i, gd in enumerate(_list(d.get("grades", []), f"{p}.grades", source)):
        gp = f"{p}.grades[{i}]"
        g = _table(gd, gp, source)
        _keys(g, ("id", "score", "label", "label_zh", "description"), ("id", "score"), gp, source)
        text = _text(g["score"], f"{gp}.score", source)
        _unary(text, f"{gp}.score", source)
        grades.append(
            GradeBand(
                id=_text(g["id"], f"{gp}.id", source),
                score=text,
                label=_opt_text(g, "label", gp, source),
                label_zh=_opt_text(g, "label_zh", gp, source),
                description=_opt_text(g, "description", gp, source),
            )
        )
    _ids(grades, f"{p}.grades", source)
    _check_bands(grades, f"{p}.grades", source)
    return ScoringSpec(
        history=_score_rules(d["history"], f"{p}.history", source, bonus=False),
        forecast=_score_rules(d["forecast"], f"{p}.forecast", source, bonus=False),
        history_weight=wh,
        forecast_weight=wf,
        weights_total=total,
        bonus=_score_rules(d.get("bonus", []), f"{p}.bonus", source, bonus=True),
        grades=tuple(grades),
        places=_whole(d.get("places", 2), f"{p}.places", source, low=0, high=6),
        sales_months=_whole(d.get("sales_months", 24), f"{p}.sales_months", source, low=1, high=1200),
    )


def grade_table(grades: Sequence[GradeBand]) -> DecisionTable:
    """The grade bands as a UNIQUE decision table over ``score``.

    Rule ids are the grade ids; the output is the grade's index.
    """
    return DecisionTable(
        "grades",
        "UNIQUE",
        ["score"],
        ["grade"],
        [(g.id, [g.score], [str(i)]) for i, g in enumerate(grades)],
    )


def _check_bands(grades: Sequence[GradeBand], path: str, source: str | None) -> None:
    if not grades:
        return
    try:
        table = grade_table(grades)
    except TableError as exc:  # pragma: no cover - entries were parsed one by one above
        raise _err(path, exc.reason, source) from None
    index = {g.id: i for i, g in enumerate(grades)}
    for f in validate_table(table, {"score": "number"}):
        if f.severity == "error" and f.rule_id in index:
            raise _err(f"{path}[{index[f.rule_id]}].score", f"grade bands {f.message}", source)


# --------------------------------------------------------------------------- check against a policy


def value_measure_kinds(
    features: Sequence[FeatureSpec], inputs: Sequence[tuple[str, str]] = ()
) -> dict[str, str]:
    """The measures a ``[value]`` section may name, and their kind.

    Kinds: ``"money"`` (int64 fen, compared in the policy's amount unit),
    ``"number"`` (plain integers, e.g. month counts of a ``run`` feature) and
    ``"coded"`` (the card level, tested with strings such as ``'"gold"'``).
    Policy features take precedence over the column of the same name.

    >>> kinds = value_measure_kinds([FeatureSpec("low_run", "run", "aum", window=5, test="< 1")])
    >>> kinds["clv"], kinds["card_level"], kinds["low_run"]
    ('money', 'coded', 'number')
    """
    kinds = {m: "money" for m in VALUE_MEASURES}
    kinds["card_level"] = "coded"
    for f in features:
        if f.op == "run":
            kinds[f.name] = "number"
        elif f.column == "card_level":
            kinds[f.name] = "coded" if f.op == "value" else "number"
        else:
            kinds[f.name] = "money"
    for name, kind in inputs:
        kinds[name] = kind
    return kinds


def check_value(spec: ValueSpec, *, tiers: Sequence[str], features: Sequence[FeatureSpec]) -> None:
    """Check the names of a ``[value]`` section against its policy's tiers and features.

    Raises
    ------
    PolicyError
        An unknown tier or measure, a reserved name, or a measure of the wrong kind.
    """
    fnames = {f.name for f in features}
    for name in fnames:
        if name in DERIVED_MEASURES:
            raise _err(f"features.{name}", f"{name!r} is the name of a value measure; rename the feature")
    for name, _ in spec.inputs:
        if name in VALUE_MEASURES or name in fnames:
            raise _err(f"value.inputs.{name}", "an input must not take the name of a measure or feature")
    if spec.retention is None:
        given = [t for t, _ in spec.retention_by_tier]
        key = "churn" if spec.as_churn else "retention"
        for t in given:
            if t not in tiers:
                raise _err(f"value.{key}.{t}", f"unknown tier; tiers: {', '.join(tiers)}")
        missing = [t for t in tiers if t not in given]
        if missing:
            raise _err(f"value.{key}", f"name a rate for every tier; missing {', '.join(missing)}")
        if spec.horizon is None:
            for t, r in spec.retention_by_tier:
                if r >= 1 + spec.discount_rate:
                    raise _err(
                        f"value.{key}.{t}",
                        f"an infinite horizon needs retention < 1 + discount_rate ({r} >= "
                        f"{1 + spec.discount_rate}); give a horizon",
                    )
    kinds = value_measure_kinds(features, spec.inputs)
    known = ", ".join(sorted(kinds))

    def numeric(name: str, path: str) -> None:
        kind = kinds.get(name)
        if kind is None:
            raise _err(path, f"unknown measure {name!r}; known: {known}")
        if kind == "coded":
            raise _err(path, f"{name!r} is a code, not an amount; test it in a score card instead")

    for comp, c in zip(FORMULA_COMPONENTS, spec.formula, strict=True):
        for name in c.names:
            path = f"value.formula.{comp}" if c.text is not None else f"value.formula.{comp}.{name}"
            if c.is_expression and name not in kinds:
                raise _err(path, f"unknown name {name!r}; known: {known}")
            numeric(name, path)
            if name == "value":
                raise _err(path, "the value formula cannot use its own result 'value'")
    if spec.matrix is not None:
        numeric(spec.matrix.current, "value.matrix.current")
        numeric(spec.matrix.potential, "value.matrix.potential")
    if spec.scoring is not None:
        for part in ("history", "forecast", "bonus"):
            for i, r in enumerate(getattr(spec.scoring, part)):
                for name, _ in r.when:
                    if name not in kinds:
                        raise _err(
                            f"value.scoring.{part}[{i}].when.{name}", f"unknown measure; known: {known}"
                        )


# --------------------------------------------------------------------------- dump


def _num(x: Decimal) -> int | Decimal:
    return int(x) if x == x.to_integral_value() and abs(x) < 2**63 else x


def _put(d: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        d[key] = value


def value_dict(spec: ValueSpec) -> dict[str, Any]:
    """The ``value`` table of a document (inverse of :func:`parse_value`).

    >>> value_dict(parse_value({"margins": {"deposits": "0.015"}, "churn": "0.1", "horizon": 5}))["churn"]
    Decimal('0.1')
    """
    d: dict[str, Any] = {"margins": {c: _num(r) for c, r in spec.margins}}
    d["period"] = spec.period
    d["discount_rate"] = _num(spec.discount_rate)
    key = "churn" if spec.as_churn else "retention"

    def conv(r: Decimal) -> int | Decimal:
        return _num(1 - r if spec.as_churn else r)

    if spec.retention is not None:
        d[key] = conv(spec.retention)
    else:
        d[key] = {t: conv(r) for t, r in spec.retention_by_tier}
    _put(d, "horizon", spec.horizon)
    if spec.inputs:
        d["inputs"] = dict(spec.inputs)
    formula: dict[str, Any] = {}
    for comp, c in zip(FORMULA_COMPONENTS, spec.formula, strict=True):
        if c.text is not None:
            formula[comp] = c.text
        elif c.terms:
            formula[comp] = {n: _num(k) for n, k in c.terms}
    if formula:
        d["formula"] = formula
    m = spec.markov
    d["markov"] = {
        "months": m.months,
        "churn_columns": list(m.churn_columns),
        "churn_below": _num(m.churn_below),
    }
    if spec.matrix is not None:
        mx = spec.matrix
        quads = []
        for q in mx.quadrants:
            qd: dict[str, Any] = {"id": q.id, "current": q.current, "potential": q.potential}
            _put(qd, "label", q.label)
            _put(qd, "label_zh", q.label_zh)
            _put(qd, "description", q.description)
            quads.append(qd)
        d["matrix"] = {
            "current": mx.current,
            "potential": mx.potential,
            "current_cut": _num(mx.current_cut),
            "potential_cut": _num(mx.potential_cut),
            "growth_months": mx.growth_months,
            "quadrants": quads,
        }
    if spec.scoring is not None:
        s = spec.scoring

        def rules(rs: Sequence[ScoreRule | BonusRule]) -> list[dict[str, Any]]:
            out = []
            for r in rs:
                rd: dict[str, Any] = {"id": r.id, "when": dict(r.when)}
                if isinstance(r, BonusRule):
                    rd["factor"] = _num(r.factor)
                else:
                    rd["points"] = _num(r.points)
                _put(rd, "description", r.description)
                out.append(rd)
            return out

        grades = []
        for g in s.grades:
            gd: dict[str, Any] = {"id": g.id, "score": g.score}
            _put(gd, "label", g.label)
            _put(gd, "label_zh", g.label_zh)
            _put(gd, "description", g.description)
            grades.append(gd)
        d["scoring"] = {
            "weights": {"history": _num(s.history_weight), "forecast": _num(s.forecast_weight)},
            "weights_total": _num(s.weights_total),
            "places": s.places,
            "sales_months": s.sales_months,
            "history": rules(s.history),
            "forecast": rules(s.forecast),
            "bonus": rules(s.bonus),
            "grades": grades,
        }
    return d
