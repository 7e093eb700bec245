"""Value-formula expressions, evaluated exactly and vectorised over customers.

A component of ``[value.formula]`` may be an S-FEEL arithmetic expression
(parsed once at policy load, :func:`custvalue.policy.parse_formula_expression`)
over measures: numbers, names, ``+ - * / **`` (whole exponents), unary minus,
parentheses and ``abs``, ``floor``, ``ceiling``, ``min``, ``max``.

Every subexpression is an exact **rational per customer**, a numerator array
over a denominator (one shared integer, or an array after a division by a
measure).  Money measures enter in the policy's amount unit (fen / scale: a
balance of 12,345.67 yuan is 1234567/100); numbers as they are.  Operations
stay in int64 while every product and sum is provably below 2**62 and
otherwise switch the operation to Python integers (numpy object arrays) —
exact either way, with no float anywhere.  The result, in the amount unit,
is converted back to fen and rounded **half-even** once, at the end
(:func:`evaluate_formula`).  :func:`reference_formula` is the scalar
reference over :class:`fractions.Fraction`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from math import gcd
from typing import Any, Final, TypeAlias

import numpy as np
from numpy.typing import NDArray

from .._errors import AmountOverflowError
from ..rules.ast import BinOp, Call, Expr, ListLit, Name, Neg, NumberLit
from ._errors import AnalyticsError
from ._value import half_even_scalar

__all__ = ["evaluate_formula", "reference_formula"]

#: A numerator or denominator: a Python integer (the same for every row) or an int64/object array.
IntLike: TypeAlias = Any
_SAFE: Final = 2**62
_SAFE_F: Final = float(2**62)
_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1


def _obj(x: IntLike) -> IntLike:
    if isinstance(x, np.ndarray) and x.dtype != object:
        return x.astype(object)
    return x


def _magnitude(x: IntLike) -> float:
    if isinstance(x, int):
        return float(abs(x))
    if x.size == 0:
        return 0.0
    if x.dtype == object:
        return float(max(abs(int(v)) for v in (x.min(), x.max())))
    return float(max(abs(float(x.min())), abs(float(x.max()))))


def _small(x: IntLike) -> bool:
    """True when ``x`` is an int64 array or a Python int below 2**62 in magnitude."""
    if isinstance(x, int):
        return abs(x) < _SAFE
    return bool(x.dtype != object) and _magnitude(x) < _SAFE_F


def _mul(a: IntLike, b: IntLike) -> IntLike:
    """``a * b`` exactly: int64 when every product is below 2**62, else Python integers."""
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    if isinstance(a, int) and a in (0, 1):
        return b if a == 1 else np.zeros(np.shape(b), np.int64)
    if isinstance(b, int) and b in (0, 1):
        return a if b == 1 else np.zeros(np.shape(a), np.int64)
    if _small(a) and _small(b):
        if isinstance(a, int) or isinstance(b, int):
            if _magnitude(a) * _magnitude(b) < _SAFE_F:
                return a * b
        else:
            if bool((np.abs(a.astype(np.float64) * b.astype(np.float64)) < _SAFE_F).all()):
                return a * b
    return _obj(a) * _obj(b)


def _add(a: IntLike, b: IntLike, sign: int = 1) -> IntLike:
    """``a + sign * b`` exactly."""
    if isinstance(a, int) and isinstance(b, int):
        return a + sign * b
    if _small(a) and _small(b):
        r = a + b if sign > 0 else a - b  # |a|, |b| < 2**62: no int64 overflow
        if _small(r):
            return r
        return _obj(a) + _obj(b) if sign > 0 else _obj(a) - _obj(b)
    return _obj(a) + _obj(b) if sign > 0 else _obj(a) - _obj(b)


class _Rat:
    """Exact rationals per row: ``num / den`` with ``den > 0`` (a Python int or an array)."""

    __slots__ = ("den", "num")

    def __init__(self, num: IntLike, den: IntLike = 1) -> None:
        self.num = num
        self.den = den

    @classmethod
    def const(cls, x: Fraction) -> _Rat:
        return cls(x.numerator, x.denominator)

    @property
    def is_const(self) -> bool:
        return isinstance(self.num, int) and isinstance(self.den, int)

    def fraction(self) -> Fraction:
        return Fraction(self.num, self.den)


def _from_array(values: NDArray[Any], den: int) -> _Rat:
    arr = np.asarray(values)
    num = arr.astype(np.int64) if arr.dtype.kind in "iub" else arr
    if num.dtype != object and not _small(num):
        num = num.astype(object)
    return _Rat(num, den)


def _neg(a: _Rat) -> _Rat:
    return _Rat(-a.num, a.den)  # every int64 numerator is below 2**62 in magnitude


def _addr(a: _Rat, b: _Rat, sign: int) -> _Rat:
    if isinstance(a.den, int) and isinstance(b.den, int):
        lcm = a.den // gcd(a.den, b.den) * b.den
        return _Rat(_add(_mul(a.num, lcm // a.den), _mul(b.num, lcm // b.den), sign), lcm)
    num = _add(_mul(a.num, b.den), _mul(b.num, a.den), sign)
    return _reduce(num, _mul(a.den, b.den))


def _reduce(num: IntLike, den: IntLike) -> _Rat:
    """Divide out common factors of array denominators once they grow (keeps products in int64)."""
    if isinstance(den, np.ndarray) and (_magnitude(den) >= 2.0**31 or not _small(num)):
        g = np.gcd(num, den)
        g = np.where(g == 0, 1, g)
        num, den = num // g, den // g
    return _Rat(num, den)


def _mulr(a: _Rat, b: _Rat) -> _Rat:
    an, ad, bn, bd = a.num, a.den, b.num, b.den
    # a constant numerator shares digits with the other scalar denominator (0.5 × fen/100): cancel them
    if isinstance(an, int) and isinstance(bd, int):
        g = gcd(an, bd)
        if g > 1:
            an, bd = an // g, bd // g
    if isinstance(bn, int) and isinstance(ad, int):
        g = gcd(bn, ad)
        if g > 1:
            bn, ad = bn // g, ad // g
    num, den = _mul(an, bn), _mul(ad, bd)
    if isinstance(den, np.ndarray):
        return _reduce(num, den)
    if isinstance(num, int):
        f = Fraction(num, den)
        return _Rat(f.numerator, f.denominator)
    return _Rat(num, den)


def _recip(a: _Rat, what: str, ids: NDArray[Any] | None) -> _Rat:
    zero = a.num == 0
    if bool(np.any(zero)):
        row = 0 if isinstance(zero, bool | np.bool_) else int(np.flatnonzero(zero)[0])
        who = f" for customer {ids[row]}" if ids is not None and not isinstance(zero, bool | np.bool_) else ""
        raise AnalyticsError(f"{what}: division by zero{who}", path=what)
    num, den = a.den, a.num
    if isinstance(den, int):
        if den < 0:
            num, den = _add(0, num, -1) if isinstance(num, np.ndarray) else -num, -den
        return _Rat(num, den)
    neg = den < 0
    if bool(neg.any()):
        sign = np.where(neg, -1, 1)
        num = _mul(num, sign) if not isinstance(num, int) else sign * num
        den = _mul(den, sign)
    if isinstance(num, int):
        num = np.full(np.shape(den), num, dtype=object if abs(num) >= _SAFE else np.int64)
    return _reduce(num, den)


def _floor(a: _Rat, ceiling: bool) -> _Rat:
    if ceiling:
        return _neg(_floor(_neg(a), False))
    num = a.num // a.den
    if isinstance(num, np.ndarray) and num.dtype == object:
        num = _shrink(num)
    return _Rat(num, 1)


def _shrink(x: NDArray[Any]) -> IntLike:
    """An object array of integers back to int64 when it fits below 2**62."""
    if x.size == 0 or _magnitude(x) < _SAFE_F:
        return x.astype(np.int64)
    return x


def _compare_less(a: _Rat, b: _Rat) -> Any:
    return _mul(a.num, b.den) < _mul(b.num, a.den)


def _select(mask: Any, a: _Rat, b: _Rat) -> _Rat:
    """Rows where ``mask`` from ``a``, the others from ``b``."""
    if isinstance(mask, bool | np.bool_):
        return a if mask else b
    mask = np.asarray(mask, dtype=bool)
    if isinstance(a.den, int) and isinstance(b.den, int):  # one shared denominator: scale the numerators
        lcm = a.den // gcd(a.den, b.den) * b.den
        an, bn = _mul(a.num, lcm // a.den), _mul(b.num, lcm // b.den)
        return _Rat(np.where(mask, _obj_if(an, bn), _obj_if(bn, an)), lcm)
    num = np.where(mask, _obj_if(a.num, b.num), _obj_if(b.num, a.num))
    den = np.where(mask, _obj_if(a.den, b.den), _obj_if(b.den, a.den))
    return _reduce(num, den)


def _obj_if(x: IntLike, other: IntLike) -> IntLike:
    """``x`` as objects when either is an object array or a big integer (np.where keeps them exact)."""

    def big(v: IntLike) -> bool:
        if isinstance(v, int):
            return abs(v) >= _SAFE
        return bool(v.dtype == object)

    if big(x) or big(other):
        return np.asarray(x, dtype=object) if isinstance(x, int) else _obj(x)
    return x


def _power(a: _Rat, k: int, what: str, ids: NDArray[Any] | None) -> _Rat:
    if k == 0:
        return _Rat(1, 1)
    base = _recip(a, what, ids) if k < 0 else a
    k = abs(k)
    result: _Rat | None = None
    while k:
        if k & 1:
            result = base if result is None else _mulr(result, base)
        k >>= 1
        if k:
            base = _mulr(base, base)
    assert result is not None
    return result


def _evaluate(expr: Expr, leaf: Callable[[str], _Rat], what: str, ids: NDArray[Any] | None) -> _Rat:
    if isinstance(expr, NumberLit):
        return _Rat.const(Fraction(expr.value))
    if isinstance(expr, Name):
        return leaf(expr.name)
    if isinstance(expr, Neg):
        return _neg(_evaluate(expr.operand, leaf, what, ids))
    if isinstance(expr, BinOp):
        a = _evaluate(expr.left, leaf, what, ids)
        if expr.op == "**":
            k = _whole(expr.right)
            return _power(a, k, what, ids)
        b = _evaluate(expr.right, leaf, what, ids)
        if expr.op in ("+", "-"):
            return _addr(a, b, 1 if expr.op == "+" else -1)
        if expr.op == "*":
            return _mulr(a, b)
        if expr.op == "/":
            return _mulr(a, _recip(b, what, ids))
    if isinstance(expr, Call):
        args = list(expr.args)
        if len(args) == 1 and isinstance(args[0], ListLit):
            args = list(args[0].items)
        n_eval = 1 if expr.function in ("floor", "ceiling") else len(args)
        vals = [_evaluate(x, leaf, what, ids) for x in args[:n_eval]]
        f = expr.function
        if f == "abs":
            x = vals[0]
            return _Rat(abs(x.num) if isinstance(x.num, int) else np.abs(x.num), x.den)
        if f in ("floor", "ceiling"):
            scale = 10 ** _whole(args[1]) if len(args) > 1 else 1
            x = _mulr(vals[0], _Rat(scale))
            return _mulr(_floor(x, f == "ceiling"), _Rat(1, scale))
        if f in ("min", "max"):
            acc = vals[0]
            for v in vals[1:]:
                less = _compare_less(v, acc) if f == "min" else _compare_less(acc, v)
                acc = _select(less, v, acc)
            return acc
    raise AnalyticsError(f"{what}: not an arithmetic expression: {expr}", path=what)  # pragma: no cover


def _whole(e: Expr) -> int:
    if isinstance(e, Neg):
        return -_whole(e.operand)
    assert isinstance(e, NumberLit)
    return int(e.value)


def _round_half_even(num: IntLike, den: IntLike) -> IntLike:
    if isinstance(num, np.ndarray) and num.dtype != object and isinstance(den, int) and den < 2**61:
        return half_even_scalar(num, den)
    q = num // den
    r = num - q * den
    twice = r * 2
    up = (twice > den) | ((twice == den) & (q % 2 == 1))
    return q + up


def evaluate_formula(
    expr: Expr,
    measures: Mapping[str, NDArray[Any]],
    money: Sequence[str],
    scale: int,
    n: int,
    *,
    what: str = "value",
    customer_ids: NDArray[Any] | None = None,
) -> NDArray[np.int64]:
    """An arithmetic expression for every customer, exactly, in fen rounded half-even.

    Parameters
    ----------
    expr
        A parsed expression (:attr:`custvalue.policy.FormulaComponent.expr`).
    measures
        Integer arrays by name (fen for money measures).
    money
        The names that are money: they enter as ``fen / scale`` (the policy's amount unit).
    scale
        Fen per amount unit (100 for yuan); the result is multiplied back by it.
    n
        Number of customers.
    what
        The document path, for errors (``value.formula.implicit_cost``).
    customer_ids
        To name the customer of a division by zero.

    Raises
    ------
    AnalyticsError
        A division by zero (naming the first customer).
    AmountOverflowError
        A result beyond int64 fen.

    Examples
    --------
    >>> import numpy as np
    >>> from custvalue.rules import parse_expression
    >>> m = {"a": np.array([100_00, 3_33]), "k": np.array([2, 3])}
    >>> evaluate_formula(parse_expression("a / k + 0.5"), m, ["a"], 100, 2).tolist()   # yuan
    [5050, 161]
    """
    cache: dict[str, _Rat] = {}
    money_set = set(money)

    def leaf(name: str) -> _Rat:
        got = cache.get(name)
        if got is None:
            got = cache[name] = _from_array(measures[name], scale if name in money_set else 1)
        return got

    r = _mulr(_evaluate(expr, leaf, what, customer_ids), _Rat(scale))
    num, den = r.num, r.den
    if isinstance(num, int) and isinstance(den, int):
        v = int(_round_half_even(num, den))
        if not _I64_MIN <= v <= _I64_MAX:
            raise AmountOverflowError(f"{what} overflows int64 fen: {v}")
        return np.full(n, v, np.int64)
    out = _round_half_even(num, den)
    out = np.broadcast_to(np.asarray(out), (n,))
    if out.dtype == object:
        lo, hi = out.min(), out.max()
        if lo < _I64_MIN or hi > _I64_MAX:
            bad = np.flatnonzero((out < _I64_MIN) | (out > _I64_MAX))
            i = int(bad[0])
            who = f" of customer {customer_ids[i]}" if customer_ids is not None else f" of row {i}"
            raise AmountOverflowError(f"{what}{who} overflows int64 fen: {out[i]}")
    return np.ascontiguousarray(out, dtype=np.int64)


def reference_formula(expr: Expr, row: Mapping[str, int], money: Sequence[str], scale: int) -> int:
    """The scalar reference of :func:`evaluate_formula` for one customer (Python fractions).

    >>> from custvalue.rules import parse_expression
    >>> reference_formula(parse_expression("floor(a / 3)"), {"a": 1000}, ["a"], 100)
    300
    """

    def ev(e: Expr) -> Fraction:
        if isinstance(e, NumberLit):
            return Fraction(e.value)
        if isinstance(e, Name):
            v = Fraction(int(row[e.name]))
            return v / scale if e.name in money else v
        if isinstance(e, Neg):
            return -ev(e.operand)
        if isinstance(e, BinOp):
            a = ev(e.left)
            if e.op == "**":
                return a ** _whole(e.right)
            b = ev(e.right)
            return {"+": a + b, "-": a - b, "*": a * b}[e.op] if e.op != "/" else a / b
        if isinstance(e, Call):
            args = list(e.args)
            if len(args) == 1 and isinstance(args[0], ListLit):
                args = list(args[0].items)
            f = e.function
            if f == "abs":
                return abs(ev(args[0]))
            if f in ("floor", "ceiling"):
                s = 10 ** _whole(args[1]) if len(args) > 1 else 1
                x = ev(args[0]) * s
                k = x.numerator // x.denominator
                if f == "ceiling" and k != x:
                    k += 1
                return Fraction(k, s)
            vals = [ev(x) for x in args]
            return min(vals) if f == "min" else max(vals)
        raise ValueError(f"not arithmetic: {e}")

    x = ev(expr) * scale
    q, r = divmod(x.numerator, x.denominator)
    twice = 2 * r
    return q + (1 if twice > x.denominator or (twice == x.denominator and q % 2) else 0)
