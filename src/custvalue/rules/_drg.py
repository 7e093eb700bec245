"""Decision requirement graphs: a DMN model's decisions evaluated in dependency order.

A :class:`DmnModel` holds decisions (decision tables, literal expressions,
invocations of business knowledge models), input data, business knowledge
models and item definitions.  It is checked on construction: every
requirement exists, the graph has no cycle, names are unique.

Two evaluators give the same answers:

* :meth:`DmnModel.evaluate_scalar` - one row (a dict of values, nested
  dicts for structured inputs) through the scalar reference interpreter;
* :meth:`DmnModel.compile` - a :class:`CompiledModel` whose
  :meth:`~CompiledModel.evaluate` runs each decision as one compiled
  vectorised pass over column arrays, in topological order, a decision's
  outputs becoming the next decisions' input columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeAlias, cast

import attrs
import numpy as np
import numpy.typing as npt

from .._optional import import_optional
from ._columns import CodedColumn, NullableColumn
from ._compile import CompiledTable, TableResult, compile_table
from ._feel import Value, evaluate_expression, expr_names, normalize_value, parse_expression
from ._feel import tests_names as names_in_tests
from ._items import ItemDefinition, check_column, check_value, items_by_name, resolve_type
from ._model import (
    BusinessKnowledgeModel,
    DmnDecision,
    DmnError,
    Invocation,
    LiteralExpression,
    str_map,
    str_tuple,
)
from ._reference import evaluate_table_scalar
from ._table import DecisionTable, HitPolicy, InputClause, TableError, format_value
from ._vexpr import TAKES_FEEL_VECTORS, FeelVector, evaluate_vector, to_vector
from .ast import Expr, Name

__all__ = [
    "CompiledModel",
    "DecisionExplanation",
    "DmnModel",
    "ModelExplanation",
    "ModelResult",
]

AnyArray: TypeAlias = npt.NDArray[Any]
ColumnLike: TypeAlias = Any


def _decisions(v: Iterable[DmnDecision]) -> tuple[DmnDecision, ...]:
    return tuple(v)


def _bkms(v: Iterable[BusinessKnowledgeModel]) -> tuple[BusinessKnowledgeModel, ...]:
    return tuple(v)


def _item_defs(v: Iterable[ItemDefinition]) -> tuple[ItemDefinition, ...]:
    return tuple(v)


def _input_data(value: Mapping[str, str | None] | Iterable[tuple[str, str | None]]) -> dict[str, str | None]:
    return dict(value)


def _root(name: str, known: Mapping[str, object] | set[str]) -> str | None:
    """The element ``name`` refers to: itself or its longest dotted prefix (``applicant.age``)."""
    if name in known:
        return name
    parts = name.split(".")
    for k in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:k])
        if head in known:
            return head
    return None


def _table_names(table: DecisionTable) -> set[str]:
    names: set[str] = set()
    for clause in table.inputs:
        names |= expr_names(clause.expression)
    for r, rule in enumerate(table.rules):
        for tests in table.rule_tests(r):
            names |= names_in_tests(tests)
        for text in rule.output_entries:
            try:
                names |= expr_names(parse_expression(text))
            except ValueError:  # pragma: no cover - the table parsed it already
                pass
    for o in table.outputs:
        if o.default_expr is not None:
            names |= expr_names(o.default_expr)
    return names


def _read_names(table: DecisionTable) -> set[str]:
    """Names a table reads besides its input expressions: test endpoints and output entries."""
    names: set[str] = set()
    for r in range(len(table.rules)):
        for tests in table.rule_tests(r):
            names |= names_in_tests(tests)
        for e in table.rule_output_exprs(r):
            if e is not None:
                names |= expr_names(e)
    for o in table.outputs:
        if o.default_expr is not None:
            names |= expr_names(o.default_expr)
    return names


def _logic_names(logic: DecisionTable | LiteralExpression | Invocation) -> tuple[set[str], set[str]]:
    """Names read and functions called by a decision's logic."""
    if isinstance(logic, DecisionTable):
        return _table_names(logic), set()
    if isinstance(logic, LiteralExpression):
        return set(logic.names), set(logic.functions)
    names: set[str] = set()
    funcs = {logic.function}
    for b in logic.bindings:
        if b.expression is not None:
            names |= b.expression.names
            funcs |= b.expression.functions
    return names, funcs


def _order(deps: Mapping[str, Sequence[str]], what: str) -> tuple[str, ...]:
    """Topological order (dependencies first, else document order); a cycle is an error naming it."""
    state: dict[str, int] = {}
    out: list[str] = []
    for start in deps:
        if start in state:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[str] = [start]
        state[start] = 1
        while stack:
            node, i = stack[-1]
            kids = deps[node]
            if i < len(kids):
                stack[-1] = (node, i + 1)
                kid = kids[i]
                if state.get(kid) == 1:
                    cycle = [*path[path.index(kid) :], kid]
                    raise DmnError(f"{what} cycle: {' -> '.join(repr(c) for c in cycle)}")
                if kid not in state:
                    state[kid] = 1
                    stack.append((kid, 0))
                    path.append(kid)
            else:
                stack.pop()
                path.pop()
                state[node] = 2
                out.append(node)
    return tuple(out)


@attrs.frozen
class DmnModel:
    """A DMN model: decisions, input data, business knowledge models and item definitions.

    Parameters
    ----------
    name
        The model (``definitions``) name.
    decisions
        :class:`DmnDecision` objects, in document order.
    input_data
        Input data name to type reference (None: untyped).
    knowledge
        :class:`BusinessKnowledgeModel` objects.
    item_definitions
        :class:`ItemDefinition` objects (named types of input data and decisions).

    Raises
    ------
    DmnError
        A requirement the model does not have, a cycle, or a repeated name.

    Examples
    --------
    >>> from custvalue.rules import DecisionTable, LiteralExpression
    >>> risk = DecisionTable("Risk", "UNIQUE", ["Age"], ["Risk"],
    ...                      [("young", ["< 25"], ['"high"']), ("other", [">= 25"], ['"low"'])])
    >>> model = DmnModel("loans", [
    ...     DmnDecision("Risk", risk, ["Age"]),
    ...     DmnDecision("Points", required_inputs=["Age"], literal=LiteralExpression("(Age + 1) * 2")),
    ... ], {"Age": "number"})
    >>> model.order
    ('Risk', 'Points')
    >>> model.evaluate_scalar({"Age": 20})
    {'Risk': 'high', 'Points': Decimal('42')}
    >>> import numpy as np
    >>> result = model.compile().evaluate({"Age": np.array([20, 30])})
    >>> result["Risk"].tolist(), result["Points"].tolist()
    (['high', 'low'], [42, 62])
    """

    name: str | None
    decisions: tuple[DmnDecision, ...] = attrs.field(converter=_decisions)
    input_data: Mapping[str, str | None] = attrs.field(factory=dict, converter=_input_data)
    knowledge: tuple[BusinessKnowledgeModel, ...] = attrs.field(default=(), converter=_bkms)
    item_definitions: tuple[ItemDefinition, ...] = attrs.field(default=(), converter=_item_defs)
    namespace: str | None = attrs.field(default=None, eq=False)
    input_ids: Mapping[str, str] = attrs.field(factory=dict, eq=False, converter=str_map)
    extras: tuple[str, ...] = attrs.field(default=(), eq=False, converter=str_tuple)
    _deps: dict[str, tuple[str, ...]] = attrs.field(init=False, eq=False, repr=False)
    _order: tuple[str, ...] = attrs.field(init=False, eq=False, repr=False)
    _items: dict[str, ItemDefinition] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        seen: dict[str, str] = {}
        for kind, names in (
            ("input data", list(self.input_data)),
            ("decision", [d.name for d in self.decisions]),
            ("business knowledge model", [k.name for k in self.knowledge]),
        ):
            for n in names:
                if n in seen:
                    raise DmnError(f"the name {n!r} is used twice ({seen[n]} and {kind})")
                seen[n] = kind
        try:
            object.__setattr__(self, "_items", items_by_name(self.item_definitions))
        except TableError as err:
            raise DmnError(err.reason) from None
        for n, t in self.input_data.items():
            try:
                resolve_type(t, self._items, f"input data {n!r}")
            except TableError as err:
                raise DmnError(err.reason) from None
        dec_names = {d.name for d in self.decisions}
        bkm_names = {k.name for k in self.knowledge}
        deps: dict[str, tuple[str, ...]] = {}
        for d in self.decisions:
            for r in d.required_decisions:
                if r not in dec_names:
                    raise DmnError(
                        f"decision {d.name!r} requires the decision {r!r}, which the model does not have"
                    )
            for r in d.required_inputs:
                if r not in self.input_data:
                    raise DmnError(
                        f"decision {d.name!r} requires the input {r!r}, which the model does not have"
                    )
            for r in d.required_knowledge:
                if r not in bkm_names:
                    raise DmnError(
                        f"decision {d.name!r} requires the business knowledge model {r!r}, "
                        "which the model does not have"
                    )
            if d.invocation is not None and d.invocation.function not in bkm_names:
                raise DmnError(
                    f"decision {d.name!r} invokes {d.invocation.function!r}, "
                    "which is not a business knowledge model of the model"
                )
            if d.invocation is not None:
                params = self.bkm(d.invocation.function).parameter_names
                for b in d.invocation.bindings:
                    if b.parameter not in params:
                        raise DmnError(
                            f"decision {d.name!r} binds {b.parameter!r}, which is not a parameter of "
                            f"{d.invocation.function!r} (parameters: {', '.join(params) or 'none'})"
                        )
            read, _ = _logic_names(d.logic)
            used = [r for r in (_root(n, dec_names) for n in sorted(read)) if r is not None and r != d.name]
            deps[d.name] = tuple(dict.fromkeys([*d.required_decisions, *used]))
            if d.name in {_root(n, dec_names) for n in read} and d.name not in self.input_data:
                raise DmnError(f"decision requirement cycle: {d.name!r} -> {d.name!r}")
        object.__setattr__(self, "_deps", deps)
        object.__setattr__(self, "_order", _order(deps, "decision requirement"))
        kdeps: dict[str, tuple[str, ...]] = {}
        for k in self.knowledge:
            _, funcs = _logic_names(k.body)
            for r in k.required_knowledge:
                if r not in bkm_names:
                    raise DmnError(
                        f"business knowledge model {k.name!r} requires {r!r}, which the model does not have"
                    )
            kdeps[k.name] = tuple(dict.fromkeys([*k.required_knowledge, *sorted(funcs & bkm_names)]))
        _order(kdeps, "business knowledge model")

    # ------------------------------------------------------------------ access
    def decision(self, name: str | None = None) -> DmnDecision:
        """The decision called ``name`` (or the only one)."""
        if name is None:
            if len(self.decisions) != 1:
                raise TableError(f"model has {len(self.decisions)} decisions; name one")
            return self.decisions[0]
        for d in self.decisions:
            if d.name == name:
                return d
        raise TableError(f"no decision named {name!r}")

    def bkm(self, name: str) -> BusinessKnowledgeModel:
        """The business knowledge model called ``name``."""
        for k in self.knowledge:
            if k.name == name:
                return k
        raise TableError(f"no business knowledge model named {name!r}")

    def item(self, name: str) -> ItemDefinition:
        """The item definition called ``name``."""
        if name not in self._items:
            raise TableError(f"no item definition named {name!r}")
        return self._items[name]

    @property
    def order(self) -> tuple[str, ...]:
        """Decision names in evaluation order (every decision after those it requires)."""
        return self._order

    def dependencies(self, decision: str) -> tuple[str, ...]:
        """The decisions ``decision`` reads directly (declared or used by name)."""
        return self._deps[decision]

    def needed(self, decisions: Iterable[str] | str | None = None) -> tuple[str, ...]:
        """The named decisions and every decision they depend on, in evaluation order."""
        if decisions is None:
            return self._order
        want = [decisions] if isinstance(decisions, str) else list(decisions)
        todo = []
        for d in want:
            self.decision(d)
            todo.append(d)
        need: set[str] = set()
        while todo:
            d = todo.pop()
            if d not in need:
                need.add(d)
                todo.extend(self._deps[d])
        return tuple(d for d in self._order if d in need)

    def input_type(self, name: str) -> ItemDefinition | str | None:
        """The resolved type of an input data: a FEEL type name, an item definition or None."""
        return resolve_type(self.input_data.get(name), self._items, f"input data {name!r}")

    # ------------------------------------------------------------------ evaluation
    def evaluate_scalar(self, inputs: Mapping[str, object], decision: str | None = None) -> dict[str, Any]:
        """Evaluate one row through the scalar reference interpreter.

        Parameters
        ----------
        inputs
            Input values by input-data name; structured inputs as nested dicts
            (``{"applicant": {"age": 30}}``) or dotted keys
            (``{"applicant.age": 30}``).  A missing input is null.
        decision
            Evaluate this decision (and what it requires) only.

        Returns
        -------
        dict
            Each evaluated decision's value, in evaluation order (several
            outputs: a dict keyed by output name; multi-hit tables: a list).

        Raises
        ------
        ItemError
            An input of the wrong type or outside its allowed values.
        DmnError
            A decision reading a name the model and the inputs do not have.
        """
        return _ScalarRun(self, inputs).run(self.needed(decision))

    def compile(
        self, scales: Mapping[str, int] | None = None, constants: Mapping[str, object] | None = None
    ) -> CompiledModel:
        """Compile every decision for vectorised evaluation.

        Parameters
        ----------
        scales
            Integer input columns holding minor units (``{"Salary": 100}``:
            the column holds cents of the model's numbers).
        constants
            Values of names that are neither inputs nor decisions (parameters).
        """
        return CompiledModel(
            self, dict(scales or {}), {k: normalize_value(v) for k, v in (constants or {}).items()}
        )


# --------------------------------------------------------------------------- scalar


def _flatten(prefix: str, value: object, out: dict[str, object]) -> None:
    out[prefix] = value
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}", v, out)


def _nest(inputs: Mapping[str, object], name: str) -> object:
    """The value of input ``name``: given directly, or gathered from dotted keys ``name.x``."""
    if name in inputs:
        return inputs[name]
    prefix = name + "."
    parts = {k[len(prefix) :]: v for k, v in inputs.items() if k.startswith(prefix)}
    if not parts:
        return None
    out: dict[str, object] = {}
    for path, v in parts.items():
        cur = out
        keys = path.split(".")
        for key in keys[:-1]:
            nxt = cur.setdefault(key, {})
            if not isinstance(nxt, dict):
                raise DmnError(f"input {name!r}: {prefix + path!r} is inside a value that is not a structure")
            cur = nxt
        cur[keys[-1]] = v
    return out


class _ScalarRun:
    """One row: an environment of values, decisions evaluated in order."""

    def __init__(self, model: DmnModel, inputs: Mapping[str, object]) -> None:
        self.model = model
        self.env: dict[str, object] = {}
        for k, v in inputs.items():
            if _root(k, model.input_data) is None:
                _flatten(k, v, self.env)  # a free name, read as given
        for name in model.input_data:
            value = _nest(inputs, name)
            value = check_value(model.input_type(name), value, name, model._items)
            _flatten(name, value, self.env)
        self.functions = {k.name: self._bkm_function(k) for k in model.knowledge}
        self.constants: dict[str, Value] = {}

    def _bkm_function(self, bkm: BusinessKnowledgeModel) -> Callable[..., Any]:
        def call(*args: object) -> object:
            if len(args) > len(bkm.parameters):
                raise DmnError(
                    f"business knowledge model {bkm.name!r} takes {len(bkm.parameters)} arguments, "
                    f"got {len(args)}"
                )
            bound = dict(zip(bkm.parameter_names, args, strict=False))
            return self.call_bkm(bkm, bound)

        return call

    def call_bkm(self, bkm: BusinessKnowledgeModel, bound: Mapping[str, object]) -> Any:
        params: dict[str, object] = {}
        for p in bkm.parameters:
            v = check_value(
                resolve_type(p.type_ref, self.model._items, f"parameter {p.name!r} of {bkm.name!r}"),
                bound.get(p.name),
                f"{bkm.name}.{p.name}",
                self.model._items,
            )
            _flatten(p.name, v, params)
        body = bkm.body
        try:
            if isinstance(body, DecisionTable):
                return evaluate_table_scalar(body, params, functions=self.functions).value
            return evaluate_expression(body.expression, params, self.functions)
        except KeyError as err:
            raise DmnError(
                f"business knowledge model {bkm.name!r}: unknown name {err.args[0]!r} "
                f"(parameters: {', '.join(bkm.parameter_names) or 'none'})"
            ) from None

    def get(self, name: str) -> object:
        if name in self.env:
            return self.env[name]
        raise KeyError(name)

    def decide(self, d: DmnDecision) -> Any:
        logic = d.logic
        try:
            if isinstance(logic, DecisionTable):
                return evaluate_table_scalar(logic, self.env, functions=self.functions).value
            if isinstance(logic, LiteralExpression):
                return evaluate_expression(logic.expression, self.get, self.functions)
            bkm = self.model.bkm(logic.function)
            bound = {
                b.parameter: None
                if b.expression is None
                else evaluate_expression(b.expression.expression, self.get, self.functions)
                for b in logic.bindings
            }
            return self.call_bkm(bkm, bound)
        except KeyError as err:
            raise DmnError(
                f"decision {d.name!r} reads {err.args[0]!r}, which is neither an input, a decision "
                "nor a business knowledge model of the model"
            ) from None

    def run(self, names: Sequence[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in names:
            d = self.model.decision(name)
            value = self.decide(d)
            out[name] = value
            _flatten(name, value, self.env)
        return out


# --------------------------------------------------------------------------- vectorised


def _multi_hit_vector(res: TableResult, n: int) -> FeelVector:
    """A multi-hit table's result as a column of per-row lists (in result order).

    Rows without a match hold the no-match result (default output entries,
    or null), as the scalar reference gives.  With constant output entries
    the lists are gathered from the match matrix in one pass (``nonzero``
    over rules and rows); with output entries that are expressions, or an
    aggregation over them, each row's value comes from the table result.
    """
    table = res.table
    out = np.empty(n, dtype=object)
    if res.matches is None or table.has_computed_outputs or table.aggregation is not None:
        for i in range(n):
            out[i] = res.value(i)
    else:
        order = list(range(len(table.rules)))
        if table.hit_policy is HitPolicy.OUTPUT_ORDER:
            order.sort(key=lambda r: (table.output_rank(r), r))
        values = np.empty(len(order), dtype=object)
        for k, r in enumerate(order):
            values[k] = table.row_value(table.rule_outputs(r))
        mo = res.matches[order] if order else np.zeros((0, n), dtype=bool)
        counts = mo.sum(axis=0)
        _, pos = np.nonzero(mo.T)
        flat = values[pos].tolist()
        ends = np.cumsum(counts).tolist()
        default = table.default_result()
        start = 0
        for i, end in enumerate(ends):
            out[i] = flat[start:end] if end > start else default
            start = end
    if list not in set(map(type, out.tolist())):
        return to_vector(out, n)  # no row matched more than the default: classify as usual
    # a column of lists of FEEL values (table outputs, defaults): no per-row normalisation
    present = np.asarray(cast(Any, np.not_equal)(out, None), dtype=bool)
    return FeelVector("mixed", out, None if bool(present.all()) else present)


def _table_vector(res: TableResult, n: int) -> FeelVector:
    """A table's decision values as one column (single values, contexts or lists)."""
    table = res.table
    if res.rule_index is not None and len(table.outputs) == 1:
        return to_vector(res.outputs[table.outputs[0].name], n)
    if res.rule_index is not None:
        vecs = [to_vector(res.outputs[o.name], n).to_values() for o in table.outputs]
        names = [o.name for o in table.outputs]
        no_default = all(o.default is None for o in table.outputs)
        matched = res.rule_index >= 0
        out = np.empty(n, dtype=object)
        for i in range(n):
            out[i] = (
                dict(zip(names, (v[i] for v in vecs), strict=True)) if matched[i] or not no_default else None
            )
        return to_vector(out, n)
    return _multi_hit_vector(res, n)


def _for_table(col: object, scale: int | None) -> tuple[object, int | None]:
    """A column the table compiler reads, and its scale."""
    if not isinstance(col, FeelVector):
        return col, scale
    k = col.kind
    if k == "number":
        data = col.data
        out: object = data if col.valid is None else NullableColumn(data, col.valid)
        return out, (10**col.exp if col.exp else None)
    if k == "boolean":
        return (col.data if col.valid is None else np.ma.MaskedArray(col.data, mask=~col.valid)), None
    if k == "string":
        return col.to_values(), None
    if k == "null":
        return CodedColumn(np.full(len(col), -1, dtype=np.int8), ()), None
    # decimals, dates, durations, mixed: the table compiler tests them through the vector evaluator
    return col, None


def _plain(table: DecisionTable) -> tuple[DecisionTable, dict[str, Expr]]:
    """The table with every non-name input expression replaced by a column ``__input<k>``."""
    exprs: dict[str, Expr] = {}
    clauses: list[InputClause] = []
    for k, clause in enumerate(table.inputs):
        if clause.source_name is None:
            key = f"__input{k}"
            exprs[key] = clause.expression
            clauses.append(attrs.evolve(clause, expression_text=key))
        else:
            clauses.append(clause)
    if not exprs:
        return table, exprs
    return attrs.evolve(table, inputs=clauses), exprs


def _show(v: Any) -> str:
    """A value as FEEL text (``null``, ``"High"``, ``3.5``, ``{Rate: 0}``)."""
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{k}: {_show(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_show(x) for x in v) + "]"
    try:
        return format_value(v)
    except TypeError:
        return str(v)


@attrs.frozen(eq=False)
class DecisionExplanation:
    """One decision at one row: its value, the rules that matched, the inputs it read."""

    decision: str
    kind: str
    value: Any
    inputs: tuple[tuple[str, Any], ...]
    matched_rule_ids: tuple[str, ...] = ()
    hit_rule_ids: tuple[str, ...] = ()

    def __str__(self) -> str:
        head = f"{self.decision} = {_show(self.value)}"
        if self.kind == "decisionTable":
            hits = ", ".join(self.hit_rule_ids) or "none"
            head += f" (rules {hits} of matched {', '.join(self.matched_rule_ids) or 'none'})"
        if self.inputs:
            head += " <- " + ", ".join(f"{k} = {_show(v)}" for k, v in self.inputs)
        return head


@attrs.frozen(eq=False)
class ModelExplanation:
    """Every evaluated decision of one row, in evaluation order."""

    row: int
    decisions: tuple[DecisionExplanation, ...]

    def __getitem__(self, decision: str) -> DecisionExplanation:
        for d in self.decisions:
            if d.decision == decision:
                return d
        raise KeyError(decision)

    def __str__(self) -> str:
        return "\n".join(str(d) for d in self.decisions)


def _cell(col: object, row: int, scale: int | None) -> Any:
    if isinstance(col, FeelVector):
        return col.item(row)
    if isinstance(col, CodedColumn):
        c = int(col.codes[row])
        return None if c < 0 else col.categories[c]
    if isinstance(col, NullableColumn):
        v: Any = col.values[row] if bool(col.valid[row]) else None
    elif isinstance(col, np.ma.MaskedArray):
        v = None if bool(np.ma.getmaskarray(col)[row]) else np.ma.getdata(col)[row]
    else:
        v = np.asarray(col)[row]
    if isinstance(v, Mapping):
        return dict(v)
    nv = normalize_value(v)
    if scale and scale != 1 and isinstance(nv, Decimal):
        nv = nv / scale
    return nv


@attrs.frozen(eq=False)
class ModelResult:
    """Every decision's values for every row (from :meth:`CompiledModel.evaluate`).

    ``result[decision]`` is an array of the decision's values (for a decision
    with several outputs, a dict of arrays keyed by output name; the keys
    ``"Decision.output"`` also work); :meth:`value` is one row's exact value,
    equal to :meth:`DmnModel.evaluate_scalar`'s; :meth:`explain` explains one
    row across the graph.

    Arrays: a single-hit table gives an object array of its values (decoded
    from the compiled output codes in one pass), an aggregated COLLECT and a
    literal expression the vectorised evaluator's array (``int64``, ``bool``,
    ``datetime64`` or objects); a multi-hit table's lists are built row by
    row when asked for (they are not needed to evaluate the graph).
    """

    model: DmnModel
    n_rows: int
    decisions: tuple[str, ...]
    _columns: Mapping[str, object] = attrs.field(repr=False)
    _scales: Mapping[str, int] = attrs.field(repr=False)
    _tables: Mapping[str, TableResult] = attrs.field(repr=False)
    _used: Mapping[str, tuple[str, ...]] = attrs.field(repr=False)

    def table_result(self, decision: str) -> TableResult:
        """The vectorised table result of a decision table (or of an invoked table BKM)."""
        return self._tables[decision]

    def column(self, name: str) -> object:
        """The raw column of an input or decision output (CodedColumn, FeelVector, array)."""
        return self._columns[name]

    def value(self, decision: str, row: int) -> Any:
        """The exact value of ``decision`` at ``row``."""
        if decision in self._tables:
            return self._tables[decision].value(row)
        return _cell(self._columns[decision], row, None)

    def __getitem__(self, name: str) -> Any:
        if name in self._tables:
            res = self._tables[name]
            table = res.table
            if res.rule_index is not None:
                if len(table.outputs) == 1:
                    return res.outputs[table.outputs[0].name].to_values()
                return {o.name: res.outputs[o.name].to_values() for o in table.outputs}
            if res.aggregate is not None:
                col = self._columns[name]
                assert isinstance(col, FeelVector)
                return col.to_array()
            return np.array([None] + [res.value(r) for r in range(self.n_rows)], dtype=object)[1:]
        if name not in self._columns:
            raise KeyError(name)
        col = self._columns[name]
        if isinstance(col, FeelVector):
            return col.to_array()
        if isinstance(col, CodedColumn):
            return col.to_values()
        return col

    def explain(self, row: int) -> ModelExplanation:
        """Each decision's value at ``row``, the rules that matched and the inputs it read."""
        if not 0 <= row < self.n_rows:
            raise IndexError(f"row {row} out of range 0..{self.n_rows - 1}")
        out: list[DecisionExplanation] = []
        for name in self.decisions:
            d = self.model.decision(name)
            used = tuple(
                (u, _cell(self._columns[u], row, self._scales.get(u)))
                for u in self._used[name]
                if u in self._columns
            )
            matched: tuple[str, ...] = ()
            hits: tuple[str, ...] = ()
            kind = d.kind
            if name in self._tables:
                res = self._tables[name]
                kind = "decisionTable"
                matched = res.matched_rule_ids(row)
                if res.rule_index is not None:
                    r = int(res.rule_index[row])
                    hits = () if r < 0 else (res.rule_ids[r],)
                else:
                    hits = matched
            out.append(DecisionExplanation(name, kind, self.value(name, row), used, matched, hits))
        return ModelExplanation(row, tuple(out))

    def to_pandas(self) -> Any:
        """A pandas DataFrame with one column per decision (``Decision.output`` for several outputs)."""
        pd = import_optional("pandas", extra="pandas", feature="ModelResult.to_pandas")
        data: dict[str, Any] = {}
        for name in self.decisions:
            v = self[name]
            if isinstance(v, dict):
                for k, arr in v.items():
                    data[f"{name}.{k}"] = arr
            else:
                data[name] = v
        return pd.DataFrame(data)


@attrs.frozen(eq=False)
class CompiledModel:
    """A DMN model compiled for vectorised evaluation (see :meth:`DmnModel.compile`)."""

    model: DmnModel
    scales: Mapping[str, int]
    constants: Mapping[str, Value]
    _compiled: dict[tuple[object, ...], tuple[CompiledTable, dict[str, Expr]]] = attrs.field(
        factory=dict, repr=False
    )
    _rows: list[int] = attrs.field(factory=lambda: [0], repr=False)
    _functions: dict[str, Callable[[Sequence[AnyArray]], AnyArray]] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(
            self, "_functions", {k.name: self._vector_function(k) for k in self.model.knowledge}
        )

    def _table(
        self, key: str, table: DecisionTable, scales: Mapping[str, int]
    ) -> tuple[CompiledTable, dict[str, Expr]]:
        ck = (key, tuple(sorted(scales.items())))
        if ck not in self._compiled:
            plain, exprs = _plain(table)
            self._compiled[ck] = (
                compile_table(plain, constants=self.constants, scales=scales, functions=self._functions),
                exprs,
            )
        return self._compiled[ck]

    def evaluate(
        self,
        columns: Mapping[str, ColumnLike],
        *,
        decisions: Iterable[str] | str | None = None,
        n_rows: int | None = None,
        check_inputs: bool = True,
    ) -> ModelResult:
        """Evaluate every decision (or ``decisions`` and what they require) over columns.

        Parameters
        ----------
        columns
            One column per input name; structured inputs by dotted path
            (``"applicant.age"``) or as a nested mapping of columns.  Numpy
            arrays, :class:`CodedColumn`, :class:`NullableColumn` or masked arrays.
        decisions
            The decisions wanted (default: all).
        n_rows
            Number of rows, needed only when no column is given.
        check_inputs
            Check each input column against its type and allowed values
            (default); an :class:`ItemError` names the input, row and value.

        Returns
        -------
        ModelResult
        """
        model = self.model
        env: dict[str, object] = {}

        def add(prefix: str, value: object) -> None:
            if isinstance(value, Mapping):
                for k, v in value.items():
                    add(f"{prefix}.{k}", v)
            else:
                env[prefix] = value

        for k, v in columns.items():
            add(k, v)
        n: int | None = n_rows
        for k, v in env.items():
            m = len(v)  # type: ignore[arg-type]
            if n is None:
                n = m
            elif m != n:
                raise DmnError(f"column {k!r} has {m} rows, expected {n}")
        if n is None:
            raise DmnError("no columns given; pass n_rows")
        scales = dict(self.scales)
        if check_inputs:
            for name in model.input_data:
                self._check_input(name, model.input_type(name), env, scales)
        wanted = model.needed(decisions)
        tables: dict[str, TableResult] = {}
        used: dict[str, tuple[str, ...]] = {}
        self._rows[0] = n
        functions = self._functions
        for name in wanted:
            d = model.decision(name)
            names, _ = _logic_names(d.logic)
            known = set(env) | set(model.input_data)
            used[name] = tuple(sorted({r for r in (_root(x, known) or x for x in names) if r in env}))
            self._decide(d, env, scales, n, tables, functions)
        return ModelResult(model, n, wanted, env, scales, tables, used)

    def _check_input(
        self,
        name: str,
        item: ItemDefinition | str | None,
        env: Mapping[str, object],
        scales: Mapping[str, int],
    ) -> None:
        if item is None:
            return
        items = self.model._items
        if isinstance(item, ItemDefinition) and item.components:
            if name in env:
                col = env[name]
                for row, v in enumerate(np.asarray(col, dtype=object).tolist()):
                    check_value(item, v, name, items, row)
                return
            for c in item.components:
                self._check_input(f"{name}.{c.name}", c, env, scales)
            return
        if name in env:
            if isinstance(item, ItemDefinition) and item.is_collection:
                for row, v in enumerate(np.asarray(env[name], dtype=object).tolist()):
                    check_value(item, v, name, items, row)
                return
            check_column(item, env[name], name, items, scale=scales.get(name, 1))

    def _column(
        self, name: str, env: Mapping[str, object], n: int, scales: Mapping[str, int], who: str
    ) -> object:
        if name in env:
            return env[name]
        try:
            return evaluate_vector(Name(name), env, n, scales=scales, constants=self.constants)
        except KeyError:
            raise DmnError(f"decision {who!r} needs the column {name!r}, which is missing") from None

    def _run_table(
        self,
        key: str,
        who: str,
        table: DecisionTable,
        env: Mapping[str, object],
        scales: Mapping[str, int],
        n: int,
        functions: Mapping[str, Any],
    ) -> TableResult:
        cols: dict[str, object] = {}
        tscales: dict[str, int] = {}
        _, exprs = _plain(table)
        for k, clause in enumerate(table.inputs):
            src = clause.source_name
            if src is None:
                try:
                    vec = evaluate_vector(
                        clause.expression,
                        self._env_for(env, clause.expression, n, scales, who),
                        n,
                        functions,
                        scales=scales,
                        constants=self.constants,
                    )
                except KeyError as err:
                    raise DmnError(
                        f"decision {who!r}: unknown name {err.args[0]!r} in input {clause.name!r}"
                    ) from None
                col, s = _for_table(vec, None)
                src = f"__input{k}"
            else:
                col, s = _for_table(self._column(src, env, n, scales, who), scales.get(src))
            cols[src] = col
            if s is not None and s != 1:
                tscales[src] = s
        # other inputs read by test endpoints (``> limit``) and by output entries
        for name in sorted(_read_names(table) - set(cols) - set(self.constants)):
            root = _root(name, env)
            if root is None:
                raise DmnError(f"decision {who!r} needs the column {name!r}, which is missing")
            col, s = _for_table(self._column(root, env, n, scales, who), scales.get(root))
            cols[root] = col
            if s is not None and s != 1:
                tscales[root] = s
        compiled, _ = self._table(key, table, tscales)
        del exprs
        return compiled.evaluate(cols, n_rows=n)

    def _env_for(
        self, env: Mapping[str, object], expr: Expr, n: int, scales: Mapping[str, int], who: str
    ) -> Mapping[str, object]:
        return env

    def _store_table(
        self, name: str, res: TableResult, env: dict[str, object], tables: dict[str, TableResult]
    ) -> None:
        tables[name] = res
        table = res.table
        if res.rule_index is not None:
            if len(table.outputs) == 1:
                env[name] = res.outputs[table.outputs[0].name]
            else:
                for o in table.outputs:
                    env[f"{name}.{o.name}"] = res.outputs[o.name]
        elif res.aggregate is not None:
            env[name] = self._aggregate_vector(name, res)
        else:
            env[name] = _multi_hit_vector(res, res.n_rows)

    @staticmethod
    def _aggregate_vector(name: str, res: TableResult) -> FeelVector:
        """An aggregated COLLECT's values (no match: the default, or null; COUNT: 0)."""
        table = res.table
        assert res.aggregate is not None and res.aggregate_valid is not None
        data = res.aggregate
        valid: npt.NDArray[np.bool_] | None = res.aggregate_valid
        exp = res.aggregate_exponent
        default = table.default_result()
        if table.aggregation is not None and table.aggregation.value == "COUNT":
            valid = None
        elif default is not None:
            if not isinstance(default, Decimal):
                return to_vector(
                    np.array([None, *(res.value(i) for i in range(res.n_rows))], dtype=object)[1:]
                )
            scaled = default.scaleb(exp)
            if scaled != scaled.to_integral_value():
                raise DmnError(f"decision {name!r}: the default {default} has more decimals than the outputs")
            data = np.where(res.aggregate_valid, data, np.int64(int(scaled)))
            valid = None
        return FeelVector("number", data, valid, exp)

    def _decide(
        self,
        d: DmnDecision,
        env: dict[str, object],
        scales: Mapping[str, int],
        n: int,
        tables: dict[str, TableResult],
        functions: Mapping[str, Any],
    ) -> None:
        logic = d.logic
        if isinstance(logic, DecisionTable):
            res = self._run_table(d.name, d.name, logic, env, scales, n, functions)
            self._store_table(d.name, res, env, tables)
            return
        if isinstance(logic, LiteralExpression):
            env[d.name] = self._vexpr(logic.expression, env, n, scales, functions, d.name)
            return
        bkm = self.model.bkm(logic.function)
        bound: dict[str, object] = {}
        for b in logic.bindings:
            if b.expression is not None:
                bound[b.parameter] = self._vexpr(b.expression.expression, env, n, scales, functions, d.name)
        for p in bkm.parameters:
            bound.setdefault(p.name, to_vector(np.full(n, None, dtype=object), n))
        unknown = set(bound) - set(bkm.parameter_names)
        if unknown:
            raise DmnError(
                f"decision {d.name!r} binds {sorted(unknown)[0]!r}, which is not a parameter of {bkm.name!r}"
            )
        if isinstance(bkm.body, DecisionTable):
            res = self._run_table("bkm:" + bkm.name, d.name, bkm.body, bound, {}, n, functions)
            self._store_table(d.name, res, env, tables)
        else:
            env[d.name] = self._vexpr(bkm.body.expression, bound, n, {}, functions, d.name)

    def _vexpr(
        self,
        expr: Expr,
        env: Mapping[str, object],
        n: int,
        scales: Mapping[str, int],
        functions: Mapping[str, Any],
        who: str,
    ) -> FeelVector:
        self._env_for(env, expr, n, scales, who)
        try:
            return evaluate_vector(expr, env, n, functions, scales=scales, constants=self.constants)
        except KeyError as err:
            raise DmnError(
                f"decision {who!r} reads {err.args[0]!r}, which is neither an input, a decision "
                "nor a business knowledge model of the model"
            ) from None

    def _vector_function(self, bkm: BusinessKnowledgeModel) -> Callable[[Sequence[AnyArray]], AnyArray]:
        """The knowledge model as a vectorised function: FeelVector (or array) arguments, a FeelVector
        result (marked with ``TAKES_FEEL_VECTORS``, so calls from FEEL pass columns as they are)."""

        def call(arrays: Sequence[Any]) -> Any:
            if len(arrays) > len(bkm.parameters):
                raise DmnError(
                    f"business knowledge model {bkm.name!r} takes {len(bkm.parameters)} arguments, "
                    f"got {len(arrays)}"
                )
            n = len(arrays[0]) if len(arrays) else self._rows[0]
            bound: dict[str, object] = {
                p: to_vector(a, n) for p, a in zip(bkm.parameter_names, arrays, strict=False)
            }
            for p in bkm.parameter_names[len(arrays) :]:
                bound[p] = to_vector(np.full(n, None, dtype=object), n)
            functions = self._functions
            body = bkm.body
            if isinstance(body, DecisionTable):
                res = self._run_table("bkm:" + bkm.name, bkm.name, body, bound, {}, n, functions)
                if res.aggregate is not None:
                    return self._aggregate_vector(bkm.name, res)
                return _table_vector(res, n)
            return self._vexpr(body.expression, bound, n, {}, functions, bkm.name)

        setattr(call, TAKES_FEEL_VECTORS, True)
        return call
