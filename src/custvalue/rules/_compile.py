"""Vectorised compiler: decision tables to a fixed sequence of numpy passes.

A compiled table turns each distinct (column, test) into one numpy pass,
combines them per rule with constant folding, and applies the hit policy
with one pass per rule.  Rows are processed in cache-sized blocks.

Exactness: thresholds are converted once, at plan time, with exact rational
arithmetic.  On an integer column stored in minor units (``scales``), a
threshold becomes the equivalent integer comparison (``>= 500000.005`` at
scale 100 is ``>= 50000001``); on a float column it becomes a comparison with
the nearest float on the correct side.  No float rounding happens at run time.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, Final, TypeAlias, cast

import attrs
import numpy as np
import numpy.typing as npt

from ._columns import CodedColumn, NullableColumn
from ._feel import (
    CategoryError,
    FeelSyntaxError,
    Function,
    Value,
    evaluate_expression,
    expr_names,
    feel_kind,
    has_placeholder,
    normalize_value,
    rank_tests,
    test_truth,
    tests_names,
)
from ._reference import ResultValue
from ._table import (
    Aggregation,
    DecisionTable,
    HitPolicy,
    HitPolicyViolation,
    TableError,
    same_value,
)
from ._vexpr import (
    FeelVector,
    VectorFunction,
    constant,
    evaluate_vector,
    factorize,
    same_mask,
    select,
    to_vector,
    unary_tests_vector,
    unique_objects,
)
from .ast import (
    BinOp,
    Compare,
    CompareTest,
    EqualTest,
    Expr,
    ExprTest,
    IntervalTest,
    Name,
    SimpleTest,
    UnaryTests,
)

__all__ = ["CompiledTable", "Plan", "TableResult", "compile_table"]

BoolArray: TypeAlias = npt.NDArray[np.bool_]
AnyArray: TypeAlias = npt.NDArray[Any]
Mask: TypeAlias = bool | int  # a constant, or a register index
ColumnLike: TypeAlias = Any

_NEG = {"<": ">=", ">=": "<", ">": "<=", "<=": ">", "=": "!=", "!=": "="}
_UFUNC: dict[str, Callable[..., Any]] = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "=": np.equal,
    "!=": np.not_equal,
}


# --------------------------------------------------------------------------- columns


@attrs.define
class _Col:
    name: str
    kind: str  # "int", "float", "str", "coded", "vec" (any FEEL values, tested through _vexpr)
    values: AnyArray
    valid: BoolArray | None
    categories: tuple[Value, ...] = ()
    scale: int = 1
    ordered: bool = False
    raw: ColumnLike = None
    vec: FeelVector | None = None

    def vector(self) -> FeelVector:
        """The column as a FeelVector (converted once, on first use)."""
        if self.vec is None:
            self.vec = to_vector(self.raw, scale=None if self.scale == 1 else self.scale)
        return self.vec

    def signature(self) -> tuple[object, ...]:
        return (
            self.name,
            self.kind,
            self.values.dtype.str,
            self.valid is not None,
            self.categories,
            self.scale,
            self.ordered,
        )


def _prepare(name: str, raw: ColumnLike, scale: int | None) -> tuple[_Col, int]:
    """Normalise one input column; returns it and the passes spent."""
    passes = 0
    valid: BoolArray | None = None
    if isinstance(raw, FeelVector):
        col = _from_vector(name, raw)
        if scale is not None and scale != 1:
            raise TableError("scales apply to integer columns only", column=name)
        return col, 1
    if isinstance(raw, CodedColumn):
        col = _Col(name, "coded", raw.codes, None, raw.categories, ordered=raw.ordered)
    else:
        if isinstance(raw, NullableColumn):
            values: AnyArray = raw.values
            valid = raw.valid
        elif isinstance(raw, np.ma.MaskedArray):
            values = np.ma.getdata(raw)
            if raw.mask is not np.ma.nomask:
                valid = ~np.ma.getmaskarray(raw)
                passes += 1
        else:
            values = np.asarray(raw)
        kind = values.dtype.kind
        if kind == "b":
            codes = values.view(np.int8)
            if valid is not None:
                codes = np.where(valid, codes, np.int8(-1))
                passes += 1
            col = _Col(name, "coded", codes, None, (False, True))
        elif kind in "iu":
            col = _Col(name, "int", values, valid)
        elif kind == "f":
            col = _Col(name, "float", values, valid)
        elif kind == "U":
            col = _Col(name, "str", values, valid)
        elif kind == "O":
            ok = np.asarray(cast(Any, np.not_equal)(values, None), dtype=bool)
            if valid is not None:
                ok &= valid
            passes += 2
            present = values[ok]
            types = set(map(type, present.tolist()))
            kinds = {feel_kind(_sample(t)) for t in types}
            if len(kinds) == 1 and kinds <= {"string", "number", "date", "days and time duration"}:
                try:
                    cats, inverse = unique_objects(present)
                except TypeError:
                    cats = None
                if cats is not None:
                    codes = np.full(len(values), -1, dtype=np.int32)
                    codes[ok] = inverse
                    categories = tuple(normalize_value(c) for c in cats)
                    col = _Col(name, "coded", codes, None, categories)
                else:
                    col = _Col(name, "vec", values, valid, raw=raw)
            else:
                col = _Col(name, "vec", values, valid, raw=raw)
        elif kind in "mM":
            col = _Col(name, "vec", values, valid, raw=raw)
        else:
            raise TableError(f"unsupported column dtype {values.dtype}", column=name)
    if values_len(col) and col.values.ndim != 1:
        raise TableError("columns must be one-dimensional", column=name)
    if scale is not None and scale != 1:
        if col.kind != "int":
            raise TableError("scales apply to integer columns only", column=name)
        col.scale = int(scale)
    if col.raw is None:
        col.raw = raw
    return col, passes


def _sample(t: type) -> object:
    """A value of type ``t`` for classifying object columns by FEEL type."""
    samples: dict[type, object] = {
        str: "",
        bool: True,
        int: Decimal(0),
        float: Decimal(0),
        Decimal: Decimal(0),
        _dt.date: _dt.date(2000, 1, 1),
        _dt.datetime: _dt.datetime(2000, 1, 1),
        _dt.timedelta: _dt.timedelta(0),
    }
    return samples.get(t, object())


def _from_vector(name: str, vec: FeelVector) -> _Col:
    """A FeelVector input column: scaled numbers stay int64, booleans become codes, the rest generic."""
    if vec.kind == "number" and vec.exp <= 18:
        return _Col(name, "int", vec.data, vec.valid, scale=10**vec.exp, raw=vec, vec=vec)
    if vec.kind == "boolean":
        codes = np.asarray(vec.data, dtype=bool).view(np.int8)
        if vec.valid is not None:
            codes = np.where(vec.valid, codes, np.int8(-1))
        return _Col(name, "coded", codes, None, (False, True), raw=vec, vec=vec)
    return _Col(name, "vec", np.asarray(vec.data), vec.valid, raw=vec, vec=vec)


def values_len(col: _Col) -> int:
    return len(col.values)


# --------------------------------------------------------------------------- thresholds


def _int_compare(op: str, t: Value, scale: int, dtype: np.dtype[Any]) -> tuple[str, int] | bool:
    """Exact integer form of ``v/scale op t``; a bool means constant."""
    assert isinstance(t, Decimal)
    if not t.is_finite():
        if op in ("=", "!="):
            return op == "!="
        big = t > 0
        return {"<": big, "<=": big, ">": not big, ">=": not big}[op]
    x = Fraction(t) * scale
    info = np.iinfo(dtype)
    lo, hi = int(info.min), int(info.max)
    if op in ("=", "!="):
        if x.denominator != 1 or not lo <= x <= hi:
            return op == "!="
        return op, int(x)
    c = math.ceil(x) if op in ("<", ">=") else math.floor(x)
    if op == "<":
        if c > hi:
            return True
        if c <= lo:
            return False
    elif op == ">=":
        if c <= lo:
            return True
        if c > hi:
            return False
    elif op == "<=":
        if c >= hi:
            return True
        if c < lo:
            return False
    else:  # ">"
        if c >= hi:
            return False
        if c < lo:
            return True
    return op, c


def _float_compare(op: str, t: Value, dtype: np.dtype[Any]) -> tuple[str, float] | bool:
    """Exact float form of ``v op t``: compare with the nearest float on the right side."""
    assert isinstance(t, Decimal)
    ft = dtype.type
    inf = ft(np.inf)

    def dec(f: Any) -> Decimal:
        return Decimal(float(f))

    f = ft(float(t))
    if op in ("=", "!="):
        exact = bool(np.isfinite(f)) and dec(f) == t
        if not exact:
            return op == "!="
        return op, float(f)
    if op in (">=", ">"):

        def ok(g: Any) -> bool:
            return dec(g) >= t if op == ">=" else dec(g) > t

        while not ok(f):
            f = np.nextafter(f, inf)
        while True:
            g = np.nextafter(f, -inf)
            if g != f and ok(g):
                f = g
            else:
                break
        return ">=", float(f)

    def ok2(g: Any) -> bool:
        return dec(g) <= t if op == "<=" else dec(g) < t

    while not ok2(f):
        f = np.nextafter(f, -inf)
    while True:
        g = np.nextafter(f, inf)
        if g != f and ok2(g):
            f = g
        else:
            break
    return "<=", float(f)


# --------------------------------------------------------------------------- plan


class _Env:
    __slots__ = ("out", "valid", "values", "vecs")

    def __init__(self) -> None:
        self.values: dict[str, AnyArray] = {}
        self.valid: dict[str, BoolArray | None] = {}
        self.out: dict[str, AnyArray] = {}
        self.vecs: dict[str, Callable[[], FeelVector]] = {}


StepFn: TypeAlias = Callable[[_Env, list[Any]], Any]


@attrs.frozen
class _Step:
    desc: str
    passes: int
    fn: StepFn


@attrs.frozen
class Plan:
    """The numpy program of a compiled table for one column layout.

    Attributes
    ----------
    steps : tuple of str
        One description per step, in execution order.
    n_passes : int
        Number of elementwise numpy passes over the rows (preparation
        included); each pass reads or writes every row once.
    """

    steps: tuple[str, ...]
    n_passes: int

    def __str__(self) -> str:
        return "\n".join(self.steps) + f"\n-- {self.n_passes} passes"


def scalar_functions(functions: Mapping[str, VectorFunction]) -> dict[str, Function]:
    """Scalar adapters of vectorised user functions (each call passes one-row arrays)."""

    def adapt(fn: VectorFunction) -> Function:
        def call(*args: object) -> Value:
            arrays = []
            for a in args:
                one = np.empty(1, dtype=object)
                one[0] = a
                arrays.append(one)
            out = fn(arrays)
            return to_vector(out if isinstance(out, FeelVector) else np.asarray(out)).item(0)

        return call

    return {k: adapt(v) for k, v in functions.items()}


class _Builder:
    def __init__(
        self,
        table: DecisionTable,
        cols: Mapping[str, _Col],
        resolve: Callable[[str], Value],
        functions: Mapping[str, VectorFunction] | None = None,
        constants: Mapping[str, Value] | None = None,
    ) -> None:
        self.table = table
        self.cols = cols
        self.resolve = resolve
        self.functions = dict(functions or {})
        self.scalar_functions = scalar_functions(self.functions)
        self.constants = dict(constants or {})
        self.steps: list[_Step] = []
        self.memo: dict[object, int] = {}

    def emit(self, key: object, desc: str, passes: int, fn: StepFn) -> int:
        if key is not None and key in self.memo:
            return self.memo[key]
        self.steps.append(_Step(desc, passes, fn))
        reg = len(self.steps) - 1
        if key is not None:
            self.memo[key] = reg
        return reg

    # boolean algebra with constant folding
    def and_(self, a: Mask, b: Mask) -> Mask:
        if a is False or b is False:
            return False
        if a is True:
            return b
        if b is True or a == b:
            return a
        lo, hi = sorted((int(a), int(b)))
        return self.emit(
            ("and", lo, hi), f"r{lo} & r{hi}", 1, lambda env, regs: np.logical_and(regs[lo], regs[hi])
        )

    def or_(self, a: Mask, b: Mask) -> Mask:
        if a is True or b is True:
            return True
        if a is False:
            return b
        if b is False or a == b:
            return a
        lo, hi = sorted((int(a), int(b)))
        return self.emit(
            ("or", lo, hi), f"r{lo} | r{hi}", 1, lambda env, regs: np.logical_or(regs[lo], regs[hi])
        )

    def not_(self, a: Mask) -> Mask:
        if isinstance(a, bool):
            return not a
        r = int(a)
        return self.emit(("not", r), f"~r{r}", 1, lambda env, regs: np.logical_not(regs[r]))

    def valid(self, col: _Col) -> Mask:
        name = col.name
        mask: Mask = True
        if col.valid is not None:
            mask = self.emit(("valid", name), f"valid({name})", 0, lambda env, regs: env.valid[name])
        if col.kind == "float":
            nan = self.emit(
                ("notnan", name),
                f"{name} == {name} (not NaN)",
                1,
                lambda env, regs: np.equal(env.values[name], env.values[name]),
            )
            mask = self.and_(mask, nan)
        return mask

    def raw(self, col: _Col, op: str, x: Value) -> Mask:
        """``col op x`` on valid rows (x non-null, same kind as the column)."""
        name = col.name
        dtype = col.values.dtype
        if col.kind == "int":
            spec = _int_compare(op, x, col.scale, dtype)
            if isinstance(spec, bool):
                return spec
            iop, c = spec
            scalar = dtype.type(c)
            ufunc = _UFUNC[iop]
            return self.emit(
                ("cmp", name, iop, c),
                f"{name} {iop} {c}",
                1,
                lambda env, regs: ufunc(env.values[name], scalar),
            )
        if col.kind == "float":
            fspec = _float_compare(op, x, dtype)
            if isinstance(fspec, bool):
                return fspec
            fop, f = fspec
            fscalar = dtype.type(f)
            fufunc = _UFUNC[fop]
            return self.emit(
                ("cmp", name, fop, f),
                f"{name} {fop} {f!r}",
                1,
                lambda env, regs: fufunc(env.values[name], fscalar),
            )
        # str
        sufunc = _UFUNC[op]
        return self.emit(
            ("cmp", name, op, x), f"{name} {op} {x!r}", 1, lambda env, regs: sufunc(env.values[name], x)
        )

    def endpoint(self, expr: Any) -> Value:
        return evaluate_expression(expr, self.resolve, self.scalar_functions)

    def compare_tf(self, col: _Col, op: str, x: Value, want: bool) -> Mask:
        """T (want=True) or F mask of ``v op x`` under FEEL three-valued logic."""
        colkind = "number" if col.kind in ("int", "float") else "string"
        valid = self.valid(col)
        if op == "!=":
            return self.compare_tf(col, "=", x, not want)
        if x is None:
            if op == "=":
                return self.not_(valid) if want else valid
            return False
        xkind = feel_kind(x)
        if xkind != colkind:
            if op == "=":
                return False if want else self.not_(valid)
            return False
        if op == "=":
            if want:
                return self.and_(self.raw(col, "=", x), valid)
            return self.or_(self.raw(col, "!=", x), self.not_(valid))
        rop = op if want else _NEG[op]
        return self.and_(self.raw(col, rop, x), valid)

    def simple_tf(self, col: _Col, test: SimpleTest, want: bool) -> Mask:
        if isinstance(test, CompareTest):
            return self.compare_tf(col, test.op, self.endpoint(test.endpoint), want)
        if isinstance(test, EqualTest):
            x = self.endpoint(test.endpoint)
            if isinstance(x, list):
                # the input is one of the items: true or false, never null
                hit: Mask = False
                for item in x:
                    hit = self.or_(hit, self.compare_tf(col, "=", item, True))
                return hit if want else self.not_(hit)
            return self.compare_tf(col, "=", x, want)
        assert isinstance(test, IntervalTest)
        lo = self.compare_tf(col, ">=" if test.low_closed else ">", self.endpoint(test.low), want)
        hi = self.compare_tf(col, "<=" if test.high_closed else "<", self.endpoint(test.high), want)
        return self.and_(lo, hi) if want else self.or_(lo, hi)

    def tests_mask(self, col: _Col, tests: UnaryTests) -> Mask:
        if tests.is_any:
            return True
        key = ("tests", col.name, tests)
        if key in self.memo:
            return self.memo[key]
        generic = col.kind == "vec" or any(
            isinstance(t, ExprTest)
            or any(
                has_placeholder(e)
                for e in ((t.low, t.high) if isinstance(t, IntervalTest) else (t.endpoint,))
            )
            for t in tests.tests
        )
        # endpoints reading other inputs (``> limit``, ``[low..high]``): compared row by row
        reads = sorted(nm for nm in tests_names(tests) if nm not in self.constants)
        if reads and col.ordered:
            raise TableError(
                f"a test on ordered categories cannot read another input ({reads[0]!r})", column=col.name
            )
        if (generic and col.kind != "coded") or reads:
            name = col.name
            fns, consts = self.functions, self.constants
            for nm in reads:
                if nm not in self.cols:
                    raise KeyError(f"unknown name in test: {nm!r}")

            def run(env: _Env, regs: list[Any], tests: UnaryTests = tests, reads: list[str] = reads) -> Any:
                vec = env.vecs[name]()
                others = {nm: env.vecs[nm]() for nm in reads}
                return unary_tests_vector(tests, vec, len(vec), fns, constants=consts, columns=others)

            return self.emit(key, f"tests[{name}] {tests.to_feel()} (vectorised FEEL)", 1, run)
        if col.kind == "coded":
            if col.ordered:  # compare positions in the declared order, not the values
                try:
                    ranked = rank_tests(tests, [str(c) for c in col.categories])
                except CategoryError as exc:
                    raise TableError(str(exc), column=col.name) from None
                values: list[Value] = [Decimal(i) for i in range(len(col.categories))]
                lut = np.array(
                    [
                        test_truth(ranked, v, self.resolve, self.scalar_functions) is True
                        for v in (*values, None)
                    ],
                    dtype=bool,
                )
            else:
                lut = np.array(
                    [
                        test_truth(tests, v, self.resolve, self.scalar_functions) is True
                        for v in (*col.categories, None)
                    ],
                    dtype=bool,
                )
            if lut.all():
                return True
            if not lut.any():
                return False
            name = col.name
            return self.emit(
                key, f"lut[{name}] for {tests.to_feel()}", 1, lambda env, regs: lut[env.values[name]]
            )
        acc: Mask
        if tests.negated:
            acc = True
            for t in tests.tests:
                acc = self.and_(acc, self.simple_tf(col, t, False))
        else:
            acc = False
            for t in tests.tests:
                acc = self.or_(acc, self.simple_tf(col, t, True))
        if not isinstance(acc, bool):
            self.memo[key] = acc
        return acc

    def rule_masks(self) -> list[Mask]:
        masks: list[Mask] = []
        for r, rule in enumerate(self.table.rules):
            m: Mask = True
            for clause, tests in zip(self.table.inputs, self.table.rule_tests(r), strict=True):
                src = _input_key(clause.expression, clause.expression_text)
                try:
                    m = self.and_(m, self.tests_mask(self.cols[src], tests))
                except (KeyError, FeelSyntaxError, TypeError) as err:
                    raise TableError(
                        f"cannot compile test: {err}",
                        table=self.table.name,
                        rule_id=rule.id,
                        column=clause.name,
                    ) from err
                if m is False:
                    break
            masks.append(m)
        return masks


# --------------------------------------------------------------------------- results


def _input_key(expr: Expr, text: str) -> str:
    """The prepared-column key of an input expression: the name itself, or the expression text."""
    return expr.name if isinstance(expr, Name) else "\u00a7" + text


def _needed(key: str, names: Sequence[str]) -> bool:
    """Whether a provided column ``key`` is read: one of ``names`` or a dotted prefix of one."""
    return any(n == key or n.startswith(key + ".") for n in names)


def _has_prefix(name: str, columns: Mapping[str, object]) -> bool:
    """``name`` or a dotted prefix of it (``applicant`` for ``applicant.age``) is a column."""
    parts = name.split(".")
    return any(".".join(parts[:k]) in columns for k in range(1, len(parts) + 1))


def _row_slice(raw: ColumnLike, row: int) -> ColumnLike:
    if isinstance(raw, FeelVector):
        return raw.slice(row, row + 1)
    if isinstance(raw, CodedColumn):
        return CodedColumn(raw.codes[row : row + 1], raw.categories)
    if isinstance(raw, NullableColumn):
        return NullableColumn(raw.values[row : row + 1], raw.valid[row : row + 1])
    return np.asarray(raw)[row : row + 1] if not isinstance(raw, np.ma.MaskedArray) else raw[row : row + 1]


class _LazyOutputs(Mapping[str, CodedColumn]):
    """Outputs of a table with computed entries: FeelVectors, coded on first access."""

    def __init__(self) -> None:
        self.vectors: dict[str, FeelVector] = {}
        self._coded: dict[str, CodedColumn] = {}

    def __getitem__(self, name: str) -> CodedColumn:
        if name not in self._coded:
            self._coded[name] = factorize(self.vectors[name])
        return self._coded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.vectors)

    def __len__(self) -> int:
        return len(self.vectors)


@attrs.frozen(eq=False)
class TableResult:
    """Vectorised evaluation result.

    Single-hit policies (UNIQUE, FIRST, PRIORITY, ANY) fill ``rule_index``
    (``-1`` = no match) and ``outputs`` (one :class:`CodedColumn` per output,
    code ``-1`` = null).  Multi-hit policies (COLLECT, RULE ORDER, OUTPUT
    ORDER) fill ``matches`` (``n_rules x n`` booleans); COLLECT with an
    aggregation also fills ``aggregate`` (int64, the exact value times
    ``10**aggregate_exponent``) and ``aggregate_valid``.

    ``violations`` flags rows breaking UNIQUE/ANY (None when impossible).
    """

    table: DecisionTable
    rule_ids: tuple[str, ...]
    n_rows: int
    n_passes: int
    rule_index: npt.NDArray[np.int32] | None = None
    outputs: Mapping[str, CodedColumn] = attrs.field(factory=dict)
    matches: BoolArray | None = None
    aggregate: npt.NDArray[np.int64] | None = None
    aggregate_exponent: int = 0
    aggregate_valid: BoolArray | None = None
    violations: BoolArray | None = None
    _row_matcher: Callable[[int], BoolArray] | None = attrs.field(default=None, repr=False)
    #: rule r's output values at row i (tables whose output entries are expressions)
    _rule_values: Callable[[int, int], tuple[Value, ...]] | None = attrs.field(default=None, repr=False)
    #: the aggregate per row (aggregated COLLECT over output entries that are expressions)
    _aggregate_vector: FeelVector | None = attrs.field(default=None, repr=False)
    #: the default output entries' values at row i (some default is an expression)
    _default_values: Callable[[int], tuple[Value, ...]] | None = attrs.field(default=None, repr=False)

    def default_result(self, row: int) -> ResultValue:
        """The no-match result at ``row`` (default output entries, evaluated when expressions)."""
        if self._default_values is None:
            return self.table.default_result()
        return self.table.default_result(self._default_values(row))

    @property
    def matched(self) -> BoolArray:
        """Rows where at least one rule matched."""
        if self.rule_index is not None:
            return self.rule_index >= 0
        assert self.matches is not None
        return np.any(self.matches, axis=0)  # type: ignore[no-any-return]

    def row_matches(self, row: int) -> BoolArray:
        """Boolean per rule: did it match row ``row``?"""
        if self.matches is not None:
            return self.matches[:, row]
        assert self._row_matcher is not None
        return self._row_matcher(row)

    def matched_rule_ids(self, row: int) -> tuple[str, ...]:
        """Every rule matching ``row``, in rule order."""
        m = self.row_matches(row)
        return tuple(rid for rid, hit in zip(self.rule_ids, m.tolist(), strict=True) if hit)

    def output_values(self, name: str) -> npt.NDArray[np.object_]:
        """Decoded values of one output (single-hit policies)."""
        if isinstance(self.outputs, _LazyOutputs):
            return self.outputs.vectors[name].to_values()
        return self.outputs[name].to_values()

    def value(self, row: int) -> ResultValue:
        """The decision value of ``row``, equal to the scalar reference result.

        Raises
        ------
        HitPolicyViolation
            If the row violates UNIQUE/ANY.
        """
        table = self.table
        if self.violations is not None and bool(self.violations[row]):
            ids = self.matched_rule_ids(row)
            raise HitPolicyViolation(
                f"{table.hit_policy.value} violation", table=table.name, rule_ids=ids, row=row
            )
        if self.rule_index is not None and isinstance(self.outputs, _LazyOutputs):
            if int(self.rule_index[row]) < 0 and all(o.default is None for o in table.outputs):
                return None
            return table.row_value([self.outputs.vectors[o.name].item(row) for o in table.outputs])
        if self.rule_index is not None:
            vals = []
            for o in table.outputs:
                col = self.outputs[o.name]
                code = int(col.codes[row])
                vals.append(None if code < 0 else col.categories[code])
            if int(self.rule_index[row]) < 0 and all(o.default is None for o in table.outputs):
                return None
            return table.row_value(vals)
        assert self.matches is not None
        hits = [r for r, hit in enumerate(self.matches[:, row].tolist()) if hit]
        if table.aggregation is Aggregation.COUNT and self._rule_values is not None:
            return Decimal(len(hits))
        if self._aggregate_vector is not None:
            if not hits:
                return self.default_result(row)
            return self._aggregate_vector.item(row)
        if self._rule_values is not None:
            if not hits:
                return self.default_result(row)
            rvals = {r: self._rule_values(r, row) for r in hits}
            if table.hit_policy is HitPolicy.OUTPUT_ORDER:
                hits.sort(key=lambda r: table.rank_values(rvals[r]))
            return [table.row_value(rvals[r]) for r in hits]
        if self.aggregate is not None:
            if table.aggregation is Aggregation.COUNT:
                return Decimal(int(self.aggregate[row]))
            assert self.aggregate_valid is not None
            if not bool(self.aggregate_valid[row]):
                return self.default_result(row)
            return Decimal(int(self.aggregate[row])).scaleb(-self.aggregate_exponent)
        if not hits:
            return self.default_result(row)
        if table.hit_policy is HitPolicy.OUTPUT_ORDER:
            hits.sort(key=table.output_rank)
        return [table.row_value(table.rule_outputs(r)) for r in hits]


# --------------------------------------------------------------------------- compiled table


def _decimal_exponent(values: Sequence[Value]) -> int:
    exp = 0
    for v in values:
        if isinstance(v, Decimal):
            e = v.as_tuple().exponent
            if isinstance(e, int) and e < 0:
                exp = max(exp, -e)
    return exp


@attrs.frozen(eq=False)
class CompiledTable:
    """A decision table compiled for vectorised evaluation.

    Create with :func:`compile_table`.
    """

    table: DecisionTable
    constants: Mapping[str, Value]
    scales: Mapping[str, int]
    functions: Mapping[str, VectorFunction] = attrs.field(factory=dict)
    _cache: dict[tuple[object, ...], tuple[list[_Step], int]] = attrs.field(factory=dict, repr=False)

    _names: dict[str, Any] = attrs.field(factory=dict, repr=False)

    @property
    def columns(self) -> tuple[str, ...]:
        """Names of the columns the table reads (input expressions and computed output entries)."""
        got = self._names.get("columns")
        if got is None:  # the table never changes: found once (each evaluation of a block asks)
            got = self._names["columns"] = self._columns()
        return got

    def _columns(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for clause in self.table.inputs:
            if clause.source_name is not None:
                seen.setdefault(clause.source_name, None)
            else:
                for nm in sorted(expr_names(clause.expression)):
                    if nm not in self.constants:
                        seen.setdefault(nm, None)
        for nm in self._test_names():
            seen.setdefault(nm, None)
        for r in range(len(self.table.rules)):
            for e in self.table.rule_output_exprs(r):
                if e is not None:
                    for nm in sorted(expr_names(e)):
                        if nm not in self.constants:
                            seen.setdefault(nm, None)
        for o in self.table.outputs:
            if o.default_expr is not None:
                for nm in sorted(expr_names(o.default_expr)):
                    if nm not in self.constants:
                        seen.setdefault(nm, None)
        return tuple(seen)

    def _test_names(self) -> list[str]:
        """Names that test endpoints read and that are not constants (other inputs), in table order."""
        got = self._names.get("tests")
        if got is None:
            got = self._names["tests"] = tuple(self._find_test_names())
        return list(got)

    def _find_test_names(self) -> list[str]:
        seen: dict[str, None] = {}
        for r in range(len(self.table.rules)):
            for tests in self.table.rule_tests(r):
                for nm in sorted(tests_names(tests)):
                    if nm not in self.constants:
                        seen.setdefault(nm, None)
        return list(seen)

    def _input_keys(self) -> list[tuple[str, Expr]]:
        """One (key, expression) per distinct input expression; the key names its prepared column."""
        seen: dict[str, Expr] = {}
        for clause in self.table.inputs:
            seen.setdefault(_input_key(clause.expression, clause.expression_text), clause.expression)
        return list(seen.items())

    def _resolve(self, name: str) -> Value:
        if name in self.constants:
            return self.constants[name]
        raise KeyError(f"unknown name {name!r} (not a constant)")

    def _prepare_all(
        self, columns: Mapping[str, ColumnLike], n_rows: int | None = None
    ) -> tuple[dict[str, _Col], int, int]:
        cols: dict[str, _Col] = {}
        passes = 0
        n: int | None = n_rows
        for name in self.columns:
            if name not in columns and not _has_prefix(name, columns):
                raise TableError("missing input column", table=self.table.name, column=name)
            if name in columns:
                size = len(columns[name])
                if n is None:
                    n = size
                elif size != n:
                    raise TableError(
                        f"column has {size} rows, expected {n}", table=self.table.name, column=name
                    )
        if n is None and not self.columns and len(self.table.rules):
            raise TableError("a table without input columns needs n_rows", table=self.table.name)
        if n is None and self.columns:
            n = len(columns[next(k for k in columns if _has_prefix(self.columns[0], {k: None}))])
        n = n or 0
        for key, expr in self._input_keys():
            if isinstance(expr, Name) and expr.name in columns:
                raw = columns[expr.name]
                scale = self.scales.get(expr.name)
            else:
                try:
                    raw = evaluate_vector(
                        expr, columns, n, self.functions, scales=self.scales, constants=self.constants
                    )
                except KeyError as err:
                    raise TableError(
                        f"unknown name in input expression: {err.args[0]}", table=self.table.name, column=key
                    ) from None
                scale = None
                passes += 1
            col, p = _prepare(key, raw, scale)
            passes += p
            cols[key] = col
        for name in self._test_names():
            if name in cols:
                continue
            if name in columns:
                col, p = _prepare(name, columns[name], self.scales.get(name))
            else:  # a dotted path into a structured column
                vec = evaluate_vector(Name(name), columns, n, scales=self.scales, constants=self.constants)
                col, p = _prepare(name, vec, None)
            passes += p
            cols[name] = col
        return cols, passes, n

    def _build(self, cols: Mapping[str, _Col], mode: str) -> tuple[list[_Step], int]:
        key = (mode, *(c.signature() for c in cols.values()))
        if key in self._cache:
            return self._cache[key]
        b = _Builder(self.table, cols, self._resolve, self.functions, self.constants)
        masks = b.rule_masks()
        table = self.table
        n_rules = len(table.rules)
        policy = table.hit_policy
        finish = 0

        def mref(m: Mask) -> Callable[[list[Any]], Any]:
            if isinstance(m, bool):
                return lambda regs: m
            i = int(m)
            return lambda regs: regs[i]

        if mode == "matrix" or not policy.single_hit:
            for r, m in enumerate(masks):
                get = mref(m)

                def put(env: _Env, regs: list[Any], r: int = r, get: Callable[[list[Any]], Any] = get) -> Any:
                    env.out["matches"][r, :] = get(regs)

                b.emit(None, f"matches[{r}] = {m}", 1, put)
            if mode != "matrix" and table.aggregation is not None:
                self._emit_aggregate(b, masks, mref)
        else:
            order = list(range(n_rules))
            if policy is HitPolicy.PRIORITY:
                order.sort(key=lambda i: (table.output_rank(i), i))

            # assign in reverse priority order so that the first match wins
            live = [r for r in order if masks[r] is not False]
            cut = next((k for k, r in enumerate(live) if masks[r] is True), None)
            if cut is not None:
                live = live[: cut + 1]
            else:

                def init(env: _Env, regs: list[Any]) -> Any:
                    env.out["rule_index"].fill(-1)

                b.emit(None, "rule_index = -1", 1, init)
            for r in reversed(live):
                get = mref(masks[r])
                if masks[r] is True:

                    def fill(env: _Env, regs: list[Any], r: int = r) -> Any:
                        env.out["rule_index"].fill(r)

                    b.emit(None, f"rule_index = {r}", 1, fill)
                else:

                    def assign(
                        env: _Env, regs: list[Any], r: int = r, get: Callable[[list[Any]], Any] = get
                    ) -> Any:
                        np.copyto(env.out["rule_index"], np.int32(r), where=get(regs))

                    b.emit(None, f"rule_index[r{masks[r]}] = {r}", 1, assign)
            if policy is HitPolicy.UNIQUE:
                self._emit_violation(b, [[m] for m in masks], mref)
            elif policy is HitPolicy.ANY:
                groups: list[list[int]] = []
                for r in range(n_rules):
                    for g in groups:
                        if all(
                            same_value(a, c)
                            for a, c in zip(table.rule_outputs(g[0]), table.rule_outputs(r), strict=True)
                        ):
                            g.append(r)
                            break
                    else:
                        groups.append([r])
                if len(groups) > 1:
                    self._emit_violation(b, [[masks[r] for r in g] for g in groups], mref)
            for j, o in enumerate(table.outputs):
                _, lut = self._output_lut(j)

                def decode(env: _Env, regs: list[Any], lut: AnyArray = lut, name: str = o.name) -> Any:
                    np.take(lut, env.out["rule_index"], out=env.out["out:" + name])

                b.emit(None, f"{o.name} = lut[rule_index]", 1, decode)
        steps = b.steps
        finish = sum(s.passes for s in steps)
        self._cache[key] = (steps, finish)
        return steps, finish

    def _output_lut(self, j: int) -> tuple[tuple[Value, ...], AnyArray]:
        table = self.table
        cats: list[Value] = []

        def code(v: Value) -> int:
            if v is None:
                return -1
            for i, c in enumerate(cats):
                if same_value(c, v):
                    return i
            cats.append(v)
            return len(cats) - 1

        codes = [code(table.rule_outputs(r)[j]) for r in range(len(table.rules))]
        clause = table.outputs[j]
        codes.append(code(clause.default_value) if clause.default is not None else -1)
        dtype = np.int16 if len(cats) < 32000 else np.int32
        return tuple(cats), np.array(codes, dtype=dtype)

    def _emit_violation(
        self, b: _Builder, groups: list[list[Mask]], mref: Callable[[Mask], Callable[[list[Any]], Any]]
    ) -> None:
        gm: list[Mask] = []
        for g in groups:
            acc: Mask = False
            for m in g:
                acc = b.or_(acc, m)
            if acc is not False:
                gm.append(acc)
        if len(gm) < 2:
            return
        dtype = np.uint8 if len(gm) < 255 else np.uint16

        def init(env: _Env, regs: list[Any]) -> Any:
            return np.zeros(len(env.out["rule_index"]), dtype=dtype)

        cnt = b.emit(None, "count = 0", 1, init)
        for m in gm:
            get = mref(m)

            def add(env: _Env, regs: list[Any], get: Callable[[list[Any]], Any] = get) -> Any:
                np.add(regs[cnt], get(regs), out=regs[cnt], casting="unsafe")

            b.emit(None, f"count += {m}", 1, add)

        def viol(env: _Env, regs: list[Any]) -> Any:
            np.greater(regs[cnt], 1, out=env.out["violations"])

        b.emit(None, "violations = count > 1", 1, viol)

    def _emit_aggregate(
        self, b: _Builder, masks: list[Mask], mref: Callable[[Mask], Callable[[list[Any]], Any]]
    ) -> None:
        table = self.table
        agg = table.aggregation
        values = [table.rule_outputs(r)[0] for r in range(len(table.rules))]
        exp = self._aggregate_exponent()
        ints: list[int] = []
        for v in values:
            if agg is Aggregation.COUNT:
                ints.append(1)
            else:
                assert isinstance(v, Decimal)
                ints.append(int(v.scaleb(exp)))
        big = np.iinfo(np.int64)
        if any(abs(i) * max(1, len(ints)) >= big.max for i in ints):
            raise TableError("aggregate values too large for int64", table=table.name)
        ufunc: Any
        if agg is Aggregation.MIN:
            start, ufunc = big.max, np.minimum
        elif agg is Aggregation.MAX:
            start, ufunc = big.min, np.maximum
        else:
            start, ufunc = 0, np.add

        def init(env: _Env, regs: list[Any]) -> Any:
            env.out["aggregate"].fill(start)

        b.emit(None, f"aggregate = {start}", 1, init)
        anym: Mask = False
        for r, m in enumerate(masks):
            if m is False:
                continue
            anym = b.or_(anym, m)
            get = mref(m)
            val = np.int64(ints[r])

            def step(
                env: _Env, regs: list[Any], get: Callable[[list[Any]], Any] = get, val: np.int64 = val
            ) -> Any:
                out = env.out["aggregate"]
                w = get(regs)
                if w is True:
                    ufunc(out, val, out=out)
                else:
                    ufunc(out, val, out=out, where=w)

            b.emit(None, f"aggregate {ufunc.__name__}= {ints[r]} where {m}", 1, step)
        getany = mref(anym)

        def fin(env: _Env, regs: list[Any]) -> Any:
            env.out["aggregate_valid"][...] = getany(regs)

        b.emit(None, "aggregate_valid = any match", 1, fin)

    def _aggregate_exponent(self) -> int:
        table = self.table
        if table.aggregation in (None, Aggregation.COUNT):
            return 0
        return _decimal_exponent([table.rule_outputs(r)[0] for r in range(len(table.rules))])

    def plan(self, columns: Mapping[str, ColumnLike]) -> Plan:
        """The numpy program for this column layout (steps and pass count).

        Examples
        --------
        >>> t = DecisionTable("t", "FIRST", ["x"], ["y"],
        ...                   [("a", [">= 10"], ['"a"']), ("b", ["-"], ['"b"'])])
        >>> p = compile_table(t).plan({"x": np.arange(5)})
        >>> p.n_passes
        4
        """
        cols, prep, _ = self._prepare_all(columns)
        steps, finish = self._build(cols, "result")
        return Plan(tuple(f"r{i}: {s.desc}" for i, s in enumerate(steps)), prep + finish)

    def match_matrix(self, columns: Mapping[str, ColumnLike], *, n_rows: int | None = None) -> BoolArray:
        """``n_rules x n`` boolean matrix: which rules match which rows.

        ``n_rows`` is the number of rows; it is needed only when the table has
        no input columns (every rule is then ``-`` everywhere), and must agree
        with the columns otherwise.
        """
        cols, _, n = self._prepare_all(columns, n_rows)
        steps, _ = self._build(cols, "matrix")
        env = _Env()
        matches = np.zeros((len(self.table.rules), n), dtype=bool)
        self._run(steps, cols, env, 0, n, {"matches": matches})
        return matches

    @staticmethod
    def _run(
        steps: Sequence[_Step],
        cols: Mapping[str, _Col],
        env: _Env,
        start: int,
        stop: int,
        outs: Mapping[str, AnyArray],
    ) -> None:
        for name, col in cols.items():
            env.values[name] = col.values[start:stop]
            env.valid[name] = None if col.valid is None else col.valid[start:stop]
            env.vecs[name] = lambda col=col: col.vector().slice(start, stop)  # type: ignore[misc]
        for key, arr in outs.items():
            env.out[key] = arr[:, start:stop] if key == "matches" else arr[start:stop]
        regs: list[Any] = []
        for s in steps:
            regs.append(s.fn(env, regs))

    def evaluate(
        self,
        columns: Mapping[str, ColumnLike],
        block_size: int | None = 65536,
        raise_on_violation: bool = True,
        *,
        n_rows: int | None = None,
    ) -> TableResult:
        """Evaluate every row.

        Parameters
        ----------
        columns
            Column per name read (input expressions and output entries; a
            qualified name ``applicant.age`` is the key ``"applicant.age"``
            or a column ``"applicant"`` of mappings): numpy arrays (int,
            float, bool, str, ``datetime64``, ``timedelta64``, or object
            arrays of FEEL values), :class:`CodedColumn`,
            :class:`NullableColumn`, :class:`numpy.ma.MaskedArray` or a
            vector from :mod:`custvalue.rules._vexpr`.  Float NaN and ``NaT``
            are null.
        block_size
            Rows per block (None: one block).
        raise_on_violation
            If True (default), a UNIQUE/ANY violation raises
            :class:`HitPolicyViolation` naming the first offending row;
            otherwise the rows are flagged in ``TableResult.violations`` and
            ``TableResult.value(row)`` raises for them.
        n_rows
            Number of rows; needed only for a table without input columns.

        Examples
        --------
        >>> t = DecisionTable("t", "FIRST", ["x"], ["size"],
        ...                   [("big", [">= 10.5"], ['"big"']), ("small", ["-"], ['"small"'])])
        >>> res = compile_table(t, scales={"x": 100}).evaluate({"x": np.array([1049, 1050])})
        >>> res.rule_index.tolist(), res.output_values("size").tolist()
        ([1, 0], ['small', 'big'])
        """
        if self.table.has_computed_outputs:
            return self._evaluate_computed(columns, raise_on_violation, n_rows)
        cols, prep, n = self._prepare_all(columns, n_rows)
        table = self.table
        single = table.hit_policy.single_hit
        steps, finish = self._build(cols, "result")
        outs: dict[str, AnyArray] = {}
        if single:
            outs["rule_index"] = np.empty(n, dtype=np.int32)
            luts = [self._output_lut(j) for j in range(len(table.outputs))]
            for o, (_, lut) in zip(table.outputs, luts, strict=True):
                outs["out:" + o.name] = np.empty(n, dtype=lut.dtype)
            outs["violations"] = np.zeros(n, dtype=bool)
        else:
            outs["matches"] = np.empty((len(table.rules), n), dtype=bool)
            if table.aggregation is not None:
                outs["aggregate"] = np.empty(n, dtype=np.int64)
                outs["aggregate_valid"] = np.empty(n, dtype=bool)
        env = _Env()
        step = n if not block_size else int(block_size)
        for start in range(0, max(n, 1), max(step, 1)):
            self._run(steps, cols, env, start, min(n, start + step), outs)
        violations: BoolArray | None = None
        if single and table.hit_policy in (HitPolicy.UNIQUE, HitPolicy.ANY):
            violations = outs["violations"]

        def row_matcher(row: int) -> BoolArray:
            sliced = {k: _row_slice(v, row) for k, v in columns.items() if _needed(k, self.columns)}
            return self.match_matrix(sliced, n_rows=1)[:, 0]

        result = TableResult(
            table=table,
            rule_ids=table.rule_ids,
            n_rows=n,
            n_passes=prep + finish,
            rule_index=outs.get("rule_index"),
            outputs={
                o.name: CodedColumn(outs["out:" + o.name], cats)
                for o, (cats, _) in zip(table.outputs, luts, strict=True)
            }
            if single
            else {},
            matches=outs.get("matches"),
            aggregate=outs.get("aggregate"),
            aggregate_exponent=self._aggregate_exponent(),
            aggregate_valid=outs.get("aggregate_valid"),
            violations=violations,
            row_matcher=row_matcher,
        )
        if raise_on_violation and violations is not None and n:
            bad = np.flatnonzero(violations)
            if len(bad):
                row = int(bad[0])
                raise HitPolicyViolation(
                    f"{table.hit_policy.value} violation in {len(bad)} row(s), first",
                    table=table.name,
                    rule_ids=result.matched_rule_ids(row),
                    row=row,
                )
        return result

    def _evaluate_computed(
        self, columns: Mapping[str, ColumnLike], raise_on_violation: bool, n_rows: int | None
    ) -> TableResult:
        """Tables with output entries that are expressions: rule matrix, then per-rule value vectors."""
        table = self.table
        cols, prep, n = self._prepare_all(columns, n_rows)
        steps, finish = self._build(cols, "matrix")
        matches = np.zeros((len(table.rules), n), dtype=bool)
        self._run(steps, cols, _Env(), 0, n, {"matches": matches})
        n_rules, n_out = len(table.rules), len(table.outputs)
        cache: dict[tuple[int, int], FeelVector] = {}

        def value_vec(r: int, j: int) -> FeelVector:
            if (r, j) not in cache:
                e = table.rule_output_exprs(r)[j]
                if e is None:
                    cache[r, j] = constant(table.rule_outputs(r)[j], n)
                else:
                    try:
                        cache[r, j] = evaluate_vector(
                            e, columns, n, self.functions, scales=self.scales, constants=self.constants
                        )
                    except KeyError as err:
                        raise TableError(
                            f"unknown name in output entry: {err.args[0]}",
                            table=table.name,
                            rule_id=table.rules[r].id,
                            column=table.outputs[j].name,
                        ) from None
            return cache[r, j]

        def rule_values(r: int, row: int) -> tuple[Value, ...]:
            return tuple(value_vec(r, j).item(row) for j in range(n_out))

        default_cache: dict[int, FeelVector] = {}

        def default_vec(j: int) -> FeelVector:
            if j not in default_cache:
                o = table.outputs[j]
                if o.default_expr is None:
                    default_cache[j] = constant(o.default_value, n)
                else:
                    try:
                        default_cache[j] = evaluate_vector(
                            o.default_expr,
                            columns,
                            n,
                            self.functions,
                            scales=self.scales,
                            constants=self.constants,
                        )
                    except KeyError as err:
                        raise TableError(
                            f"unknown name in default output entry: {err.args[0]}",
                            table=table.name,
                            column=o.name,
                        ) from None
            return default_cache[j]

        default_values: Callable[[int], tuple[Value, ...]] | None = None
        if any(o.default_expr is not None for o in table.outputs):

            def default_values(row: int) -> tuple[Value, ...]:
                return tuple(default_vec(j).item(row) for j in range(n_out))

        policy = table.hit_policy
        passes = prep + finish
        any_match: BoolArray = np.asarray(matches.any(axis=0), dtype=bool)
        if not policy.single_hit:
            agg_vec: FeelVector | None = None
            if table.aggregation is not None and table.aggregation is not Aggregation.COUNT:
                agg_vec = self._computed_aggregate(matches, value_vec, n)
            return TableResult(
                table=table,
                rule_ids=table.rule_ids,
                n_rows=n,
                n_passes=passes + n_rules,
                matches=matches,
                rule_values=rule_values,
                aggregate_vector=agg_vec,
                aggregate_valid=any_match if agg_vec is not None else None,
                default_values=default_values,
            )
        first = np.where(any_match, np.argmax(matches, axis=0) if n_rules else 0, -1).astype(np.int32)
        rule_index = first
        violations: BoolArray | None = None
        if policy is HitPolicy.UNIQUE:
            violations = matches.sum(axis=0) > 1
        elif policy is HitPolicy.PRIORITY:
            base = max([len(o.output_values) for o in table.outputs] + [0]) + 1
            best = np.full(n, -1, dtype=np.int32)
            best_key = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
            for r in range(n_rules):
                key = np.zeros(n, dtype=np.int64)
                for j, o in enumerate(table.outputs):
                    key = key * base + self._rank_vector(o.output_values, value_vec(r, j), n)
                better = matches[r] & (key < best_key)
                best[better] = r
                best_key[better] = key[better]
            rule_index = best
        outputs = _LazyOutputs()
        chosen: list[FeelVector] = []
        for j, o in enumerate(table.outputs):
            pieces = [(rule_index == r, value_vec(r, j)) for r in range(n_rules)]
            if o.default is not None:
                pieces.append((rule_index < 0, default_vec(j)))
            vec = select(n, pieces)
            chosen.append(vec)
            outputs.vectors[o.name] = vec
        if policy is HitPolicy.ANY:
            violations = np.zeros(n, dtype=bool)
            for r in range(n_rules):
                differs = np.zeros(n, dtype=bool)
                for j in range(n_out):
                    differs |= ~same_mask(value_vec(r, j), chosen[j])
                violations |= matches[r] & differs
        result = TableResult(
            table=table,
            rule_ids=table.rule_ids,
            n_rows=n,
            n_passes=passes + n_rules + n_out,
            rule_index=rule_index,
            outputs=outputs,
            matches=None,
            violations=violations,
            row_matcher=lambda row: matches[:, row],
            rule_values=rule_values,
            default_values=default_values,
        )
        if raise_on_violation and violations is not None and n:
            bad = np.flatnonzero(violations)
            if len(bad):
                row = int(bad[0])
                raise HitPolicyViolation(
                    f"{policy.value} violation in {len(bad)} row(s), first",
                    table=table.name,
                    rule_ids=result.matched_rule_ids(row),
                    row=row,
                )
        return result

    @staticmethod
    def _rank_vector(allowed: Sequence[Value], vec: FeelVector, n: int) -> npt.NDArray[np.int64]:
        rank = np.full(n, len(allowed), dtype=np.int64)
        for i in range(len(allowed) - 1, -1, -1):
            hit = same_mask(vec, constant(allowed[i], n)) & vec.valid_mask
            rank[hit] = i
        return rank

    def _computed_aggregate(
        self, matches: BoolArray, value_vec: Callable[[int, int], FeelVector], n: int
    ) -> FeelVector:
        """SUM/MIN/MAX over the matching rules' number outputs, row by row as the reference does."""
        agg = self.table.aggregation
        acc = constant(Decimal(0), n) if agg is Aggregation.SUM else constant(None, n)
        for r in range(len(self.table.rules)):
            v = value_vec(r, 0)
            is_num = _number_mask(v)
            m = matches[r] & is_num
            if not bool(m.any()):
                continue
            if agg is Aggregation.SUM:
                nxt = evaluate_vector(_PLUS, {"a": acc, "b": v}, n)
            else:
                op = "<" if agg is Aggregation.MIN else ">"
                better = evaluate_vector(Compare(op, Name("b"), Name("a")), {"a": acc, "b": v}, n)
                take = np.asarray(better.data, dtype=bool) & better.valid_mask
                take |= ~acc.valid_mask
                nxt = select(n, [(take, v), (~take, acc)])
            acc = select(n, [(m, nxt), (~m, acc)])
        return acc


_PLUS: Final = BinOp("+", Name("a"), Name("b"))


def _number_mask(v: FeelVector) -> BoolArray:
    if v.kind in ("number", "decimal"):
        return v.valid_mask
    if v.kind == "mixed":
        return np.asarray(np.frompyfunc(lambda x: isinstance(x, Decimal), 1, 1)(v.to_values()), dtype=bool)
    return np.zeros(len(v), dtype=bool)


def compile_table(
    table: DecisionTable,
    constants: Mapping[str, object] | None = None,
    scales: Mapping[str, int] | None = None,
    functions: Mapping[str, VectorFunction] | None = None,
) -> CompiledTable:
    """Compile a decision table for vectorised evaluation.

    Parameters
    ----------
    table
        The table.  Input expressions that are names (``Monthly Salary``,
        ``applicant.age``) read those columns; other input expressions
        (``string length(name)``) and output entries that are expressions
        (``Monthly Salary * 12``) are evaluated vectorised over the columns.
    constants
        Values of names used in test endpoints (policy parameters).
    scales
        Per integer column, how many stored units make one table unit
        (100: the column holds fen, the table's numbers are yuan).
    functions
        User functions (business knowledge models) by name, vectorised (see
        :func:`custvalue.rules._vexpr.evaluate_columns`).

    Returns
    -------
    CompiledTable

    Examples
    --------
    >>> t = DecisionTable("t", "FIRST", ["aum"], ["tier"], [
    ...     ("gold", [">= floor"], ['"gold"']), ("other", ["-"], ['"potential"'])])
    >>> ct = compile_table(t, constants={"floor": Decimal("200000")}, scales={"aum": 100})
    >>> ct.evaluate({"aum": np.array([19999999, 20000000])}).output_values("tier").tolist()
    ['potential', 'gold']
    """
    consts = {k: normalize_value(v) for k, v in (constants or {}).items()}
    for name, s in (scales or {}).items():
        if int(s) <= 0:
            raise TableError(f"scale must be positive, got {s}", table=table.name, column=name)
    fns = dict(functions or {})
    ct = CompiledTable(table, consts, dict(scales or {}), fns)
    scalar = scalar_functions(fns)
    # resolve every endpoint now so unknown names fail at compile time
    for r, rule in enumerate(table.rules):
        for clause, tests in zip(table.inputs, table.rule_tests(r), strict=True):
            for t in tests.tests:
                if isinstance(t, ExprTest):
                    exprs: tuple[Expr, ...] = ()
                else:
                    exprs = (t.low, t.high) if isinstance(t, IntervalTest) else (t.endpoint,)
                for e in exprs:
                    if has_placeholder(e) or any(nm not in consts for nm in expr_names(e)):
                        continue  # evaluated per row (names that are not constants are input columns)
                    try:
                        evaluate_expression(e, ct._resolve, scalar)
                    except KeyError as err:
                        raise TableError(
                            f"unknown name in test: {err.args[0]}",
                            table=table.name,
                            rule_id=rule.id,
                            column=clause.name,
                        ) from err
    return ct
