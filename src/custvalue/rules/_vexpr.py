"""Vectorised FEEL expressions: one numpy pass per operator over whole columns.

:func:`evaluate_columns` evaluates an expression over column arrays and gives
the same value for every row as the scalar reference
(:func:`custvalue.rules.evaluate_expression`).  Internally every
subexpression is a :class:`FeelVector`: a typed array plus a validity mask
(``False`` = null).

Representation and exactness rule
---------------------------------
* **number** – scaled ``int64``: value = ``data / 10**exp``.  Integer
  columns enter here (an integer column with ``scales={name: 100}`` holds
  hundredths).  ``+``, ``-``, ``*``, unary minus, comparisons, ``abs``,
  ``floor``/``ceiling``/``decimal`` and ``min``/``max``/``sum`` stay in
  int64 while exact; ``/`` stays there when the divisor is a constant whose
  digits have no prime factors but 2 and 5 (``/ 100``, ``/ 4``); ``**`` when
  the exponent is a constant integer 1..64.  Every operation checks int64
  overflow on the valid rows and, on overflow, redoes that one operation in
  the decimal representation.  An exact int64 result equals FEEL's (34
  significant digits never round a 19-digit number).
* **decimal** – object array of :class:`~decimal.Decimal` computed in the
  FEEL context (34 digits, half even): division by other numbers, float
  columns (each float's exact binary value), overflowed results.
* **boolean** (bool array), **date** (``datetime64[D]``), **date and time**
  (naive, ``datetime64[us]``), **days and time duration**
  (``timedelta64[us]``), **years and months duration** (int64 months) –
  vectorised with numpy.
* **string** – object array of ``str``; comparisons and ``+`` run through
  numpy's object loops, string functions element by element.
* **mixed** – object array of FEEL values (an object column mixing types,
  time-zoned date-times, contexts): every operation applies the scalar
  reference element by element, so the two paths agree by construction.

Null propagates as in FEEL: arithmetic and ordering with null are null,
``null = null`` is true, ``and``/``or`` are three-valued.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, TypeAlias, cast

import attrs
import numpy as np
import numpy.typing as npt

from ._columns import CodedColumn, NullableColumn
from ._feel import (
    BUILTIN_FUNCTIONS,
    FEEL_CONTEXT,
    Value,
    arithmetic,
    call_builtin,
    compare_values,
    equal_test_truth,
    evaluate_expression,
    expr_functions,
    expr_names,
    feel_kind,
    has_placeholder,
    negate,
    normalize_value,
    property_value,
)
from ._temporal import YearsMonthsDuration
from .ast import (
    And,
    Between,
    BinOp,
    BoolLit,
    Call,
    Compare,
    CompareTest,
    EqualTest,
    Expr,
    ExprTest,
    If,
    In,
    IntervalTest,
    ListLit,
    Name,
    Neg,
    Not,
    NullLit,
    NumberLit,
    Or,
    Path,
    Placeholder,
    SimpleTest,
    StringLit,
    UnaryTests,
)

__all__ = [
    "ColumnLike",
    "FeelVector",
    "VectorFunction",
    "constant",
    "evaluate_columns",
    "evaluate_vector",
    "factorize",
    "same_mask",
    "select",
    "to_vector",
    "unary_tests_vector",
]

AnyArray: TypeAlias = npt.NDArray[Any]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
#: A column: numpy array, :class:`CodedColumn`, :class:`NullableColumn`, masked array or FeelVector.
ColumnLike: TypeAlias = Any
#: A user function (a business knowledge model), vectorised: argument arrays to a result array.
VectorFunction: TypeAlias = Callable[[Sequence[AnyArray]], AnyArray]
#: Attribute marking a user function that takes and returns :class:`FeelVector` columns
#: (the knowledge models of a compiled DMN model), so that calls skip the array round trip.
TAKES_FEEL_VECTORS: Final = "_takes_feel_vectors"

_I64_MAX: Final = int(np.iinfo(np.int64).max)
_SAFE: Final = float(2**62)
_NUMBER, _DECIMAL, _STRING, _BOOLEAN = "number", "decimal", "string", "boolean"
_DATE, _DATETIME = "date", "date and time"
_DTDUR, _YMDUR = "days and time duration", "years and months duration"
_NULL, _MIXED = "null", "mixed"
_OBJECT_KINDS: Final = frozenset({_DECIMAL, _STRING, _MIXED})
#: FEEL type of each vector kind (both number representations are FEEL numbers).
_FEEL_TYPE: Final = {
    _NUMBER: "number",
    _DECIMAL: "number",
    _STRING: "string",
    _BOOLEAN: "boolean",
    _DATE: "date",
    _DATETIME: "date and time",
    _DTDUR: _DTDUR,
    _YMDUR: _YMDUR,
}
_ORDERED: Final = frozenset({"number", "string", "date", "date and time", _DTDUR, _YMDUR})


class _Overflow(Exception):
    """An int64 fast path would overflow: redo the operation with decimals."""


# --------------------------------------------------------------------------- the vector


@attrs.define(eq=False)
class FeelVector:
    """A column of FEEL values: typed ``data``, ``valid`` mask (None = no nulls).

    ``kind`` is ``number`` (``data`` int64, value ``data / 10**exp``),
    ``decimal``, ``string``, ``mixed`` (object arrays), ``boolean``, ``date``,
    ``date and time``, ``days and time duration``, ``years and months
    duration`` or ``null`` (every row null).  Values at invalid rows are
    arbitrary (object arrays hold None there).

    Examples
    --------
    >>> v = to_vector(np.array([150, 275]), 2, scale=100)
    >>> v.kind, v.exp, v.to_values().tolist()
    ('number', 2, [Decimal('1.50'), Decimal('2.75')])
    """

    kind: str
    data: AnyArray
    valid: BoolArray | None = None
    exp: int = 0

    def __len__(self) -> int:
        return len(self.data)

    @property
    def valid_mask(self) -> BoolArray:
        """The validity mask as an array (all True when there are no nulls)."""
        if self.valid is None:
            return np.ones(len(self.data), dtype=bool)
        return self.valid

    def take(self, index: AnyArray) -> FeelVector:
        """The rows at ``index`` (an integer array)."""
        return FeelVector(
            self.kind, self.data[index], None if self.valid is None else self.valid[index], self.exp
        )

    def slice(self, start: int, stop: int) -> FeelVector:
        """Rows ``start:stop`` (a view)."""
        return FeelVector(
            self.kind, self.data[start:stop], None if self.valid is None else self.valid[start:stop], self.exp
        )

    def to_values(self) -> npt.NDArray[np.object_]:
        """Object array of FEEL values (``Decimal``, ``str``, ``bool``, dates, durations, None)."""
        n = len(self.data)
        k = self.kind
        if k == _NULL:
            return np.full(n, None, dtype=object)
        if k in _OBJECT_KINDS:
            out = np.array(self.data, dtype=object, copy=True)
        elif k == _NUMBER:
            out = _int_to_decimal(self.data, self.exp)
        elif k == _BOOLEAN:
            out = self.data.astype(object)
        elif k in (_DATE, _DATETIME, _DTDUR):
            out = self.data.astype(object)
        elif k == _YMDUR:
            out = _ym_objects(self.data)
        else:  # pragma: no cover - every kind is listed
            raise AssertionError(k)
        if self.valid is not None:
            out[~self.valid] = None
        return out

    def to_array(self) -> AnyArray:
        """The evaluate_columns form: a numeric/temporal dtype where exact, else objects.

        Integer numbers (``exp == 0``) give ``int64`` and booleans ``bool``
        (a :class:`numpy.ma.MaskedArray` when there are nulls); dates give
        ``datetime64[D]``, date-times ``datetime64[us]`` and days and time
        durations ``timedelta64[us]`` (``NaT`` = null); anything else an object
        array of FEEL values (None = null).
        """
        k = self.kind
        if k in (_NUMBER, _BOOLEAN) and (k == _BOOLEAN or self.exp == 0):
            data = np.array(self.data, dtype=np.int64 if k == _NUMBER else bool, copy=True)
            if self.valid is None or bool(self.valid.all()):
                return data
            return np.ma.MaskedArray(data, mask=~self.valid)
        if k in (_DATE, _DATETIME, _DTDUR):
            data = np.array(self.data, copy=True)
            if self.valid is not None:
                data[~self.valid] = np.datetime64("NaT") if k != _DTDUR else np.timedelta64("NaT")
            return data
        return self.to_values()

    def item(self, row: int) -> Value:
        """The FEEL value at ``row``."""
        if self.valid is not None and not bool(self.valid[row]):
            return None
        return self.slice(row, row + 1).to_values()[0]  # type: ignore[no-any-return]


def _int_to_decimal(data: AnyArray, exp: int) -> npt.NDArray[np.object_]:
    if exp == 0:
        return np.frompyfunc(Decimal, 1, 1)(data.astype(object))  # type: ignore[no-any-return]
    return np.frompyfunc(lambda x: Decimal(x).scaleb(-exp), 1, 1)(data.astype(object))  # type: ignore[no-any-return]


def _ym_objects(data: AnyArray) -> npt.NDArray[np.object_]:
    return np.frompyfunc(YearsMonthsDuration, 1, 1)(data.astype(object))  # type: ignore[no-any-return]


def _and_valid(*vs: BoolArray | None) -> BoolArray | None:
    out: BoolArray | None = None
    for v in vs:
        if v is None:
            continue
        out = v if out is None else out & v
    return out


def _full(n: int, value: object, dtype: Any) -> AnyArray:
    return np.broadcast_to(np.array(value, dtype=dtype), (n,))


def _null(n: int) -> FeelVector:
    return FeelVector(_NULL, np.full(n, None, dtype=object), np.zeros(n, dtype=bool))


def constant(value: Value, n: int) -> FeelVector:
    """A vector of ``n`` copies of one FEEL value."""
    v = normalize_value(value)
    if v is None:
        return _null(n)
    if isinstance(v, list):
        one = np.empty(1, dtype=object)
        one[0] = v
        return FeelVector(_MIXED, np.broadcast_to(one, (n,)))
    if isinstance(v, bool):
        return FeelVector(_BOOLEAN, _full(n, v, bool))
    if isinstance(v, Decimal):
        scaled = _decimal_scaled(v)
        if scaled is not None:
            return FeelVector(_NUMBER, _full(n, scaled[0], np.int64), exp=scaled[1])
        return FeelVector(_DECIMAL, _full(n, v, object))
    if isinstance(v, str):
        return FeelVector(_STRING, _full(n, v, object))
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            return FeelVector(_MIXED, _full(n, v, object))
        return FeelVector(_DATETIME, _full(n, np.datetime64(v, "us"), "datetime64[us]"))
    if isinstance(v, dt.date):
        return FeelVector(_DATE, _full(n, np.datetime64(v, "D"), "datetime64[D]"))
    if isinstance(v, dt.time):  # times of day are compared and moved element by element
        return FeelVector(_MIXED, _full(n, v, object))
    if isinstance(v, dt.timedelta):
        return FeelVector(_DTDUR, _full(n, np.timedelta64(v // dt.timedelta(microseconds=1), "us"), "m8[us]"))
    assert isinstance(v, YearsMonthsDuration)
    return FeelVector(_YMDUR, _full(n, v.months, np.int64))


def _decimal_scaled(v: Decimal) -> tuple[int, int] | None:
    """(integer, exp) with ``v == integer / 10**exp``, exp >= 0, fitting int64; else None."""
    if not v.is_finite():
        return None
    t = v.as_tuple()
    e = t.exponent
    assert isinstance(e, int)
    if e >= 0:
        if len(t.digits) + e > 19:
            return None
        i = int(v)
        exp = 0
    else:
        if len(t.digits) > 19:
            return None
        i = int(v.scaleb(-e))
        exp = -e
    if abs(i) > _I64_MAX:
        return None
    return i, exp


# --------------------------------------------------------------------------- input columns


def to_vector(raw: ColumnLike, n: int | None = None, *, scale: int | None = None) -> FeelVector:
    """Convert one input column to a :class:`FeelVector`.

    Accepts numpy arrays (int, uint, float, bool, str, ``datetime64``,
    ``timedelta64``, object), :class:`CodedColumn`, :class:`NullableColumn`,
    :class:`numpy.ma.MaskedArray` and FeelVector.  ``scale`` (integer columns
    only): stored units per FEEL unit (100: the column holds hundredths).
    Float NaN and ``NaT`` are null.
    """
    if isinstance(raw, FeelVector):
        vec = raw
    elif isinstance(raw, CodedColumn):
        cats = _from_objects(np.array([*raw.categories, None], dtype=object))
        codes = np.asarray(raw.codes)
        idx = np.where(codes < 0, len(raw.categories), codes)
        vec = cats.take(idx)
    else:
        valid: BoolArray | None = None
        if isinstance(raw, NullableColumn):
            values: AnyArray = raw.values
            valid = np.asarray(raw.valid, dtype=bool)
        elif isinstance(raw, np.ma.MaskedArray):
            values = np.ma.getdata(raw)
            if raw.mask is not np.ma.nomask:
                valid = ~np.ma.getmaskarray(raw)
        else:
            values = np.asarray(raw)
        if values.ndim != 1:
            raise ValueError("columns must be one-dimensional")
        vec = _from_array(values, valid, scale)
        scale = None
    if scale is not None and scale != 1:
        if vec.kind != _NUMBER or vec.exp != 0:
            raise ValueError("scales apply to integer columns only")
    if n is not None and len(vec) != n:
        raise ValueError(f"column has {len(vec)} rows, expected {n}")
    return vec


def _pow10(scale: int) -> int | None:
    k = 0
    s = int(scale)
    while s % 10 == 0 and s > 1:
        s //= 10
        k += 1
    return k if s == 1 else None


def _from_array(values: AnyArray, valid: BoolArray | None, scale: int | None) -> FeelVector:
    kind = values.dtype.kind
    if scale is not None and scale != 1 and kind not in "iu":
        raise ValueError("scales apply to integer columns only")
    if kind == "b":
        return FeelVector(_BOOLEAN, values, valid)
    if kind in "iu":
        if kind == "u" and values.dtype.itemsize == 8:
            big = values > np.uint64(_I64_MAX)
            if valid is not None:
                big &= valid
            if bool(big.any()):
                return _from_objects(_masked_objects(values.astype(object), valid), scale)
        data = values.astype(np.int64, copy=False)
        if scale is None or scale == 1:
            return FeelVector(_NUMBER, data, valid)
        if int(scale) <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        k = _pow10(int(scale))
        if k is not None:
            return FeelVector(_NUMBER, data, valid, k)
        objs = _masked_objects(data.astype(object), valid)
        s = Decimal(int(scale))
        with decimal.localcontext(FEEL_CONTEXT):
            dec = np.frompyfunc(lambda x: None if x is None else Decimal(x) / s, 1, 1)(objs)
        return FeelVector(_DECIMAL, dec, valid)
    if kind == "f":
        ok = ~np.isnan(values)
        if valid is not None:
            ok &= valid
        objs = _masked_objects(values.astype(object), ok)
        dec = np.frompyfunc(lambda x: None if x is None else Decimal(x), 1, 1)(objs)
        return FeelVector(_DECIMAL, dec, None if bool(ok.all()) else ok)
    if kind in "US":
        objs = values.astype(str).astype(object)
        return FeelVector(_STRING, _masked_objects(objs, valid), valid)
    if kind == "M":
        unit = np.datetime_data(values.dtype)[0]
        nat = np.isnat(values)
        ok = ~nat if valid is None else valid & ~nat
        if unit in ("Y", "M", "W", "D"):
            return FeelVector(_DATE, values.astype("datetime64[D]"), None if bool(ok.all()) else ok)
        us = values.astype("datetime64[us]")
        if unit in ("ns", "ps", "fs", "as") and bool(np.any((us != values) & ok)):
            raise ValueError("date-time columns finer than microseconds are not supported")
        return FeelVector(_DATETIME, us, None if bool(ok.all()) else ok)
    if kind == "m":
        unit = np.datetime_data(values.dtype)[0]
        nat = np.isnat(values)
        ok = ~nat if valid is None else valid & ~nat
        okv = None if bool(ok.all()) else ok
        if unit in ("Y", "M"):
            months = values.astype("timedelta64[M]").view(np.int64)
            return FeelVector(_YMDUR, np.where(ok, months, 0), okv)
        us = values.astype("timedelta64[us]")
        if unit in ("ns", "ps", "fs", "as") and bool(np.any((us != values) & ok)):
            raise ValueError("duration columns finer than microseconds are not supported")
        return FeelVector(_DTDUR, us, okv)
    if kind == "O":
        return _from_objects(_masked_objects(values, valid))
    raise ValueError(f"unsupported column dtype {values.dtype}")


def _masked_objects(values: AnyArray, valid: BoolArray | None) -> npt.NDArray[np.object_]:
    out = np.array(values, dtype=object, copy=True)
    if valid is not None:
        out[~valid] = None
    return out


def _from_objects(values: npt.NDArray[np.object_], scale: int | None = None) -> FeelVector:
    """Classify an object array (None = null) by the types it holds."""
    is_none = _is_none(values)
    valid = ~is_none
    present = values[valid]
    validv = None if bool(valid.all()) else valid
    if len(present) == 0:
        return _null(len(values))
    types = set(map(type, present.tolist()))
    if types <= {str, np.str_}:
        return FeelVector(_STRING, values, validv)
    if types <= {bool, np.bool_}:
        return FeelVector(_BOOLEAN, np.where(valid, values, False).astype(bool), validv)
    if types <= {Decimal, int, float, np.int64, np.float64} and bool not in types:
        objs: AnyArray = np.asarray(np.frompyfunc(normalize_value, 1, 1)(values), dtype=object)
        ok = ~_is_none(objs)
        okv = None if bool(ok.all()) else ok
        if scale is not None and scale != 1:
            s = Decimal(int(scale))
            with decimal.localcontext(FEEL_CONTEXT):
                objs = np.frompyfunc(lambda x: None if x is None else x / s, 1, 1)(objs)
        return _try_scaled(FeelVector(_DECIMAL, objs, okv))
    if types == {dt.date}:
        data = cast(Any, np.where)(valid, values, dt.date(1970, 1, 1)).astype("datetime64[D]")
        return FeelVector(_DATE, data, validv)
    if types == {dt.datetime} and all(v.tzinfo is None for v in present.tolist()):
        data = cast(Any, np.where)(valid, values, dt.datetime(1970, 1, 1)).astype("datetime64[us]")
        return FeelVector(_DATETIME, data, validv)
    if types == {dt.timedelta}:
        data = cast(Any, np.where)(valid, values, dt.timedelta(0)).astype("timedelta64[us]")
        return FeelVector(_DTDUR, data, validv)
    if types == {YearsMonthsDuration}:
        months = np.frompyfunc(lambda d: 0 if d is None else d.months, 1, 1)(values).astype(np.int64)
        return FeelVector(_YMDUR, months, validv)
    mixed = np.asarray(np.frompyfunc(_normalize_any, 1, 1)(values), dtype=object)
    return FeelVector(_MIXED, mixed, validv)


def _is_none(values: AnyArray) -> BoolArray:
    """Elementwise ``x is None`` of an object array."""
    return np.asarray(cast(Any, np.equal)(values, None), dtype=bool)


def _normalize_any(v: object) -> object:
    if isinstance(v, Mapping):
        return v
    return normalize_value(v)


def _try_scaled(vec: FeelVector) -> FeelVector:
    """A decimal vector as scaled int64 when every value fits (else unchanged)."""
    assert vec.kind == _DECIMAL
    valid = vec.valid_mask
    present = vec.data[valid]
    if len(present) == 0:
        return FeelVector(_NUMBER, np.zeros(len(vec), dtype=np.int64), vec.valid)
    exps = [_neg_exponent(d) for d in present.tolist()]
    if any(e is None for e in exps):
        return vec
    exp = max(0, *(int(e) for e in exps if e is not None))
    if exp > 18:
        return vec
    ints = np.frompyfunc(lambda d: int(d.scaleb(exp)), 1, 1)(present)
    big = max(abs(int(i)) for i in ints.tolist())
    if big > _I64_MAX:
        return vec
    data = np.zeros(len(vec), dtype=np.int64)
    data[valid] = ints.astype(np.int64)
    return FeelVector(_NUMBER, data, vec.valid, exp)


def _neg_exponent(d: Decimal) -> int | None:
    if not d.is_finite():
        return None
    e = d.as_tuple().exponent
    assert isinstance(e, int)
    return -e


# --------------------------------------------------------------------------- representation changes


def _as_decimal(v: FeelVector) -> FeelVector:
    """A number vector as object Decimals."""
    if v.kind == _NUMBER:
        data = _int_to_decimal(v.data, v.exp)
        if v.valid is not None:
            data[~v.valid] = None
        return FeelVector(_DECIMAL, data, v.valid)
    return v


def _as_mixed(v: FeelVector) -> FeelVector:
    return FeelVector(_MIXED, v.to_values(), v.valid)


def _rescale(data: AnyArray, k: int, valid: BoolArray | None) -> AnyArray:
    """``data * 10**k`` in int64, raising _Overflow if a valid row would overflow."""
    if k == 0:
        return data
    if k > 18:
        raise _Overflow
    f = 10**k
    lim = _I64_MAX // f
    bad = (data > lim) | (data < -lim)
    if valid is not None:
        bad &= valid
    if bool(bad.any()):
        raise _Overflow
    return data * np.int64(f)


def _checked_add(a: AnyArray, b: AnyArray, valid: BoolArray | None, sub: bool = False) -> AnyArray:
    with np.errstate(over="ignore"):
        r = a - b if sub else a + b
    if sub:
        bad = ((a ^ b) & (a ^ r)) < 0
    else:
        bad = ((a ^ r) & (b ^ r)) < 0
    if valid is not None:
        bad &= valid
    if bool(bad.any()):
        raise _Overflow
    return r


def _checked_mul(a: AnyArray, b: AnyArray, valid: BoolArray | None) -> AnyArray:
    big = np.abs(a.astype(np.float64) * b.astype(np.float64)) >= _SAFE
    if valid is not None:
        big &= valid
    if bool(big.any()):
        raise _Overflow
    return a * b


def _align(a: FeelVector, b: FeelVector, valid: BoolArray | None) -> tuple[AnyArray, AnyArray, int]:
    e = max(a.exp, b.exp)
    return _rescale(a.data, e - a.exp, valid), _rescale(b.data, e - b.exp, valid), e


# --------------------------------------------------------------------------- elementwise fallback


def _elementwise(fn: Callable[..., Value], args: Sequence[FeelVector], n: int) -> FeelVector:
    """Apply a scalar function row by row (object arrays); the result is classified."""
    objs = [a.to_values() for a in args]
    if not objs:
        return constant(fn(), n)
    out = np.frompyfunc(fn, len(objs), 1)(*objs)
    if not isinstance(out, np.ndarray):
        out = np.full(n, out, dtype=object)
    return _from_objects(out.astype(object))


# --------------------------------------------------------------------------- arithmetic


def _arith(op: str, a: FeelVector, b: FeelVector, n: int) -> FeelVector:
    ka, kb = a.kind, b.kind
    if ka == _NULL or kb == _NULL:
        return _null(n)
    valid = _and_valid(a.valid, b.valid)
    if ka == kb == _NUMBER:
        try:
            return _arith_int(op, a, b, valid)
        except _Overflow:
            pass
    ta, tb = _FEEL_TYPE.get(ka), _FEEL_TYPE.get(kb)
    if ta == tb == "number":
        return _arith_decimal(op, _as_decimal(a), _as_decimal(b), valid, n)
    if ka == kb == _STRING:
        if op != "+":
            return _null(n)
        x = np.where(valid, a.data, "") if valid is not None else a.data
        y = np.where(valid, b.data, "") if valid is not None else b.data
        out = np.add(x.astype(object), y.astype(object))
        if valid is not None:
            out[~valid] = None
        return FeelVector(_STRING, out, valid)
    fast = _arith_temporal(op, a, b, valid, n)
    if fast is not None:
        return fast
    if _MIXED not in (ka, kb) and not _temporal_defined(op, ta, tb):
        return _null(n)
    return _elementwise(lambda x, y: arithmetic(op, x, y), (a, b), n)


def _temporal_defined(op: str, ta: str | None, tb: str | None) -> bool:
    """Whether FEEL defines ``ta op tb`` for these (non-number) types at all."""
    dates = ("date", "date and time")
    durs = (_DTDUR, _YMDUR)
    if ta in dates and tb in durs:
        return op in "+-"
    if ta in durs and tb in dates:
        return op == "+"
    if ta == tb and ta in dates:
        return op == "-"
    if ta == tb and ta in durs:
        return op in ("+", "-", "/")
    if ta in durs and tb == "number":
        return op in ("*", "/")
    if ta == "number" and tb in durs:
        return op == "*"
    return False


def _arith_int(op: str, a: FeelVector, b: FeelVector, valid: BoolArray | None) -> FeelVector:
    if op in ("+", "-"):
        x, y, e = _align(a, b, valid)
        return FeelVector(_NUMBER, _checked_add(x, y, valid, sub=op == "-"), valid, e)
    if op == "*":
        return FeelVector(_NUMBER, _checked_mul(a.data, b.data, valid), valid, a.exp + b.exp)
    if op == "/":
        c = _constant_of(b)
        if c is None or c == 0:
            raise _Overflow
        recip = _terminating_reciprocal(c)
        if recip is None:
            raise _Overflow
        m, k = recip  # 1/c == m / 10**k
        data = _checked_mul(a.data, np.broadcast_to(np.int64(m), a.data.shape), valid)
        e = a.exp + k
        if e < 0:
            data = _rescale(data, -e, valid)
            e = 0
        return FeelVector(_NUMBER, data, valid, e)
    if op == "**":
        c = _constant_of(b)
        if c is None or c != c.to_integral_value() or not 1 <= c <= 64:
            raise _Overflow
        return _int_power(a, int(c), valid)
    raise _Overflow


def _constant_of(v: FeelVector) -> Decimal | None:
    """The value of a vector that is one broadcast constant (strides 0), else None."""
    if v.kind != _NUMBER or v.valid is not None or len(v.data) == 0 or v.data.strides != (0,):
        return None
    return Decimal(int(v.data[0])).scaleb(-v.exp)


def _terminating_reciprocal(c: Decimal) -> tuple[int, int] | None:
    """(m, k) with 1/c == m / 10**k exactly, when c's digits have only factors 2 and 5."""
    sign, digits, exp = c.as_tuple()
    assert isinstance(exp, int)
    coef = int("".join(map(str, digits)) or "0")
    if coef == 0:
        return None
    p = q = 0
    while coef % 2 == 0:
        coef //= 2
        p += 1
    while coef % 5 == 0:
        coef //= 5
        q += 1
    if coef != 1:
        return None
    k = max(p, q)
    m = 10**k // (2**p * 5**q)
    # 1/c = 1/(coef * 10**exp) = m / 10**(k + exp)
    return (-m if sign else m), k + exp


def _int_power(a: FeelVector, k: int, valid: BoolArray | None) -> FeelVector:
    result: AnyArray | None = None
    base = a.data
    exp_base = a.exp
    rexp = 0
    while k:
        if k & 1:
            result = base if result is None else _checked_mul(result, base, valid)
            rexp += exp_base
        k >>= 1
        if k:
            base = _checked_mul(base, base, valid)
            exp_base *= 2
    assert result is not None
    return FeelVector(_NUMBER, np.array(result, dtype=np.int64), valid, rexp)


def _arith_decimal(op: str, a: FeelVector, b: FeelVector, valid: BoolArray | None, n: int) -> FeelVector:
    ok = np.ones(n, dtype=bool) if valid is None else valid.copy()
    x = a.data
    y = b.data
    if op == "/":
        zero = cast(Any, np.equal)(y, Decimal(0))
        ok &= ~np.asarray(zero, dtype=bool)
    out = np.full(n, None, dtype=object)
    if op == "**":
        res = _elementwise(lambda p, q: arithmetic("**", p, q), (a, b), n)
        return res
    ufunc = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide}[op]
    try:
        with decimal.localcontext(FEEL_CONTEXT):
            out[ok] = ufunc(np.asarray(x)[ok], np.asarray(y)[ok])
    except decimal.DecimalException:
        return _elementwise(lambda p, q: arithmetic(op, p, q), (a, b), n)
    okv = None if bool(ok.all()) else ok
    return FeelVector(_DECIMAL, out, okv)


def _arith_temporal(
    op: str, a: FeelVector, b: FeelVector, valid: BoolArray | None, n: int
) -> FeelVector | None:
    ka, kb = a.kind, b.kind
    if ka in (_NUMBER, _DECIMAL) or kb in (_NUMBER, _DECIMAL):
        return None
    try:
        if ka == _DATETIME and kb == _DTDUR and op in "+-":
            with np.errstate(over="raise"):
                data = a.data + b.data if op == "+" else a.data - b.data
            return _checked_dates(FeelVector(_DATETIME, data, valid))
        if ka == _DTDUR and kb == _DATETIME and op == "+":
            return _arith_temporal("+", b, a, valid, n)
        if ka == _DATE and kb == _DTDUR and op in "+-":
            mid = a.data.astype("datetime64[us]")
            moved = mid + b.data if op == "+" else mid - b.data
            return _checked_dates(FeelVector(_DATE, moved.astype("datetime64[D]"), valid))
        if ka == _DTDUR and kb == _DATE and op == "+":
            return _arith_temporal("+", b, a, valid, n)
        if ka in (_DATE, _DATETIME) and kb == _YMDUR and op in "+-":
            return _add_months_vec(a, b.data if op == "+" else -b.data, valid)
        if ka == _YMDUR and kb in (_DATE, _DATETIME) and op == "+":
            return _add_months_vec(b, a.data, valid)
        if ka == kb == _DATE and op == "-":
            days = (a.data - b.data).astype("timedelta64[D]").astype("timedelta64[us]")
            return FeelVector(_DTDUR, days, valid)
        if ka == kb == _DATETIME and op == "-":
            return FeelVector(_DTDUR, a.data - b.data, valid)
        if ka == kb == _DTDUR and op in "+-":
            x, y = a.data.view(np.int64), b.data.view(np.int64)
            r = _checked_add(x, y, valid, sub=op == "-")
            return FeelVector(_DTDUR, r.view("timedelta64[us]"), valid)
        if ka == kb == _YMDUR and op in "+-":
            return FeelVector(_YMDUR, _checked_add(a.data, b.data, valid, sub=op == "-"), valid)
    except (_Overflow, FloatingPointError, OverflowError):
        return _elementwise(lambda p, q: arithmetic(op, p, q), (a, b), n)
    return None


_MIN_DAY: Final = np.datetime64("0001-01-01", "D")
_MAX_DAY: Final = np.datetime64("9999-12-31", "D")


def _checked_dates(v: FeelVector) -> FeelVector:
    """Results outside years 1..9999 are null, as in the scalar reference (Python dates)."""
    days = v.data.astype("datetime64[D]")
    ok = (days >= _MIN_DAY) & (days <= _MAX_DAY)
    if bool(ok.all()):
        return v
    return FeelVector(v.kind, v.data, ok if v.valid is None else v.valid & ok)


def _add_months_vec(d: FeelVector, months: AnyArray, valid: BoolArray | None) -> FeelVector:
    day_part = d.data.astype("datetime64[D]")
    ym = day_part.astype("datetime64[M]")
    dom = (day_part - ym).astype(np.int64)  # 0-based day of month
    m_index = ym.astype(np.int64) + months.astype(np.int64)  # months since 1970-01
    target = m_index.astype("datetime64[M]")
    last = (
        (target + np.timedelta64(1, "M")).astype("datetime64[D]") - target.astype("datetime64[D]")
    ).astype(np.int64)
    new_day = target.astype("datetime64[D]") + np.minimum(dom, last - 1).astype("timedelta64[D]")
    if d.kind == _DATETIME:
        tod = d.data - day_part.astype("datetime64[us]")
        out = FeelVector(_DATETIME, new_day.astype("datetime64[us]") + tod, valid)
    else:
        out = FeelVector(_DATE, new_day, valid)
    return _checked_dates(out)


def _neg(a: FeelVector, n: int) -> FeelVector:
    k = a.kind
    if k == _NUMBER:
        bad = a.data == np.iinfo(np.int64).min
        if a.valid is not None:
            bad &= a.valid
        if not bool(bad.any()):
            return FeelVector(_NUMBER, -a.data, a.valid, a.exp)
        a = _as_decimal(a)
        k = _DECIMAL
    if k == _DTDUR:
        return FeelVector(_DTDUR, -a.data, a.valid)
    if k == _YMDUR:
        return FeelVector(_YMDUR, -a.data, a.valid)
    if k in (_DECIMAL, _MIXED):
        return _elementwise(negate, (a,), n)
    return _null(n)


# --------------------------------------------------------------------------- comparisons and logic


def _three(data: BoolArray, valid: BoolArray | None) -> FeelVector:
    return FeelVector(_BOOLEAN, data, valid)


_CMP: Final[dict[str, Callable[..., Any]]] = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "=": np.equal,
    "!=": np.not_equal,
}


def _compare(op: str, a: FeelVector, b: FeelVector, n: int) -> FeelVector:
    ka, kb = a.kind, b.kind
    if {ka, kb} == {_DATE, _DATETIME}:
        # a date compared with a (local) date-time is the date-time of its midnight
        if ka == _DATE:
            a, ka = FeelVector(_DATETIME, a.data.astype("datetime64[us]"), a.valid), _DATETIME
        else:
            b, kb = FeelVector(_DATETIME, b.data.astype("datetime64[us]"), b.valid), _DATETIME
    if _MIXED in (ka, kb):
        return _elementwise(lambda x, y: compare_values(op, x, y), (a, b), n)
    va, vb = a.valid_mask, b.valid_mask
    both = va & vb
    if op in ("=", "!="):
        # with a null operand: equal exactly when both are null
        eq_null = ~va & ~vb
    ta, tb = _FEEL_TYPE.get(ka), _FEEL_TYPE.get(kb)
    same = ta is not None and ta == tb
    if not same or (op not in ("=", "!=") and ta not in _ORDERED):
        if op in ("=", "!="):
            # different types: null where both are present, else the null rule
            res = eq_null if op == "=" else ~eq_null
            return _three(res, ~both)
        return _three(np.zeros(n, dtype=bool), np.zeros(n, dtype=bool))
    raw = _raw_compare(op, a, b, both)
    if op in ("=", "!="):
        res = np.where(both, raw, eq_null if op == "=" else ~eq_null)
        return _three(res, None)
    return _three(raw & both, None if bool(both.all()) else both)


def _raw_compare(op: str, a: FeelVector, b: FeelVector, both: BoolArray) -> BoolArray:
    fn = _CMP[op]
    if a.kind == b.kind == _NUMBER:
        try:
            x, y, _ = _align(a, b, both)
            return np.asarray(fn(x, y), dtype=bool)
        except _Overflow:
            pass
    if _FEEL_TYPE[a.kind] == "number":
        return _object_compare(fn, _as_decimal(a).data, _as_decimal(b).data, both)
    if a.kind == _STRING:
        return _object_compare(fn, a.data, b.data, both)
    return np.asarray(fn(a.data, b.data), dtype=bool)


def _object_compare(fn: Callable[..., Any], x: AnyArray, y: AnyArray, both: BoolArray) -> BoolArray:
    out = np.zeros(len(both), dtype=bool)
    if bool(both.any()):
        out[both] = np.asarray(fn(np.asarray(x)[both], np.asarray(y)[both]), dtype=bool)
    return out


def _as_bool3(v: FeelVector, n: int) -> tuple[BoolArray, BoolArray]:
    """(true mask, known mask) of a vector read as a three-valued boolean."""
    if v.kind == _BOOLEAN:
        valid = v.valid_mask
        return np.asarray(v.data, dtype=bool) & valid, valid
    if v.kind == _MIXED:
        objs = v.to_values()
        is_b = np.frompyfunc(lambda x: isinstance(x, bool), 1, 1)(objs).astype(bool)
        t = np.zeros(n, dtype=bool)
        t[is_b] = objs[is_b].astype(bool)
        return t, is_b
    return np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)


def _and(a: FeelVector, b: FeelVector, n: int) -> FeelVector:
    ta, ka = _as_bool3(a, n)
    tb, kb = _as_bool3(b, n)
    false = (ka & ~ta) | (kb & ~tb)
    true = ta & tb
    return _three(true, true | false)


def _or(a: FeelVector, b: FeelVector, n: int) -> FeelVector:
    ta, ka = _as_bool3(a, n)
    tb, kb = _as_bool3(b, n)
    true = ta | tb
    false = ka & ~ta & kb & ~tb
    return _three(true, true | false)


def _not(a: FeelVector, n: int) -> FeelVector:
    t, k = _as_bool3(a, n)
    return _three(k & ~t, k)


# --------------------------------------------------------------------------- built-in functions


def _call(name: str, args: list[FeelVector | list[FeelVector]], n: int) -> FeelVector:
    if name in ("count", "list contains") and args and isinstance(args[0], list):
        items0 = args[0]
        if name == "count":
            return constant(Decimal(len(items0)), n)
        needle = args[1]
        assert isinstance(needle, FeelVector)
        hit = np.zeros(n, dtype=bool)
        for item in items0:
            hit |= _as_bool3(_compare("=", item, needle, n), n)[0]
        return _three(hit, None)
    if name in ("min", "max", "sum", "mean"):
        items: list[FeelVector]
        if len(args) == 1 and isinstance(args[0], list):
            items = args[0]
        elif len(args) == 1 and isinstance(args[0], FeelVector) and args[0].kind == _MIXED:
            # one argument that may hold lists: the reference, element by element
            return _elementwise(lambda x: call_builtin(name, [x]), [args[0]], n)
        else:
            items = [a for a in args if isinstance(a, FeelVector)]
        if name == "mean":
            total = _list_function("sum", items, n)
            if total.kind in (_NUMBER, _DECIMAL):
                return _arith("/", total, constant(Decimal(len(items)), n), n)
            return _elementwise(lambda *xs: call_builtin("mean", [list(xs)]), items, n)
        return _list_function(name, items, n)
    if any(isinstance(a, list) for a in args):
        # a list literal where the function takes a value: null, as the reference gives
        return _elementwise(
            lambda *xs: call_builtin(name, list(xs)),
            [_list_vector(a, n) if isinstance(a, list) else a for a in args],
            n,
        )
    flat = [a for a in args if isinstance(a, FeelVector)]
    if name == "count" and len(flat) == 1 and flat[0].kind == _MIXED:
        # a column of lists (a multi-hit decision): lengths, without a Decimal per row
        data = flat[0].data
        valid = flat[0].valid_mask & ~_is_none(data)
        lens = np.fromiter((len(x) if isinstance(x, list) else 1 for x in data.tolist()), np.int64, len(data))
        return FeelVector(_NUMBER, lens, None if bool(valid.all()) else valid)
    try:
        fast = _fast_builtin(name, flat, n)
    except _Overflow:
        fast = None
    if fast is not None:
        return fast
    return _elementwise(lambda *xs: call_builtin(name, xs), flat, n)


def _list_vector(items: Sequence[FeelVector], n: int) -> FeelVector:
    """A column of lists (one list per row, built from one vector per item)."""
    if not items:
        return constant([], n)
    objs = [i.to_values() for i in items]
    out = np.asarray(np.frompyfunc(lambda *xs: list(xs), len(objs), 1)(*objs), dtype=object)
    return FeelVector(_MIXED, out)


def _list_function(name: str, items: list[FeelVector], n: int) -> FeelVector:
    if not items:
        return _null(n)
    kinds = {i.kind for i in items}
    if kinds == {_NUMBER}:
        valid = _and_valid(*(i.valid for i in items))
        e = max(i.exp for i in items)
        try:
            datas = [_rescale(i.data, e - i.exp, valid) for i in items]
            if name == "sum":
                acc = datas[0]
                for d in datas[1:]:
                    acc = _checked_add(acc, d, valid)
                return FeelVector(_NUMBER, np.array(acc), valid, e)
            red = np.minimum if name == "min" else np.maximum
            acc = datas[0]
            for d in datas[1:]:
                acc = red(acc, d)
            return FeelVector(_NUMBER, np.array(acc), valid, e)
        except _Overflow:
            pass
    if name != "sum" and len(kinds) == 1 and next(iter(kinds)) in (_DATE, _DATETIME, _DTDUR, _YMDUR):
        valid = _and_valid(*(i.valid for i in items))
        red = np.minimum if name == "min" else np.maximum
        acc = items[0].data
        for i in items[1:]:
            acc = red(acc, i.data)
        return FeelVector(items[0].kind, np.array(acc), valid)

    def fn(*xs: Value) -> Value:
        return call_builtin(name, [list(xs)])

    return _elementwise(fn, items, n)


def _fast_builtin(name: str, args: list[FeelVector], n: int) -> FeelVector | None:
    if not args:
        return None
    a = args[0]
    if name == "abs":
        if a.kind == _NUMBER:
            bad = a.data == np.iinfo(np.int64).min
            if a.valid is not None:
                bad &= a.valid
            if not bool(bad.any()):
                return FeelVector(_NUMBER, np.abs(a.data), a.valid, a.exp)
        if a.kind in (_DTDUR, _YMDUR):
            return FeelVector(a.kind, np.abs(a.data), a.valid)
        return None
    if name in ("floor", "ceiling", "decimal") and a.kind == _NUMBER:
        scale_arg = args[1] if len(args) > 1 else constant(Decimal(0), n)
        sc = _constant_of(scale_arg)
        if sc is None or sc != sc.to_integral_value() or not 0 <= sc <= 18:
            return None
        return _round_int(name, a, int(sc))
    if name == "string length" and a.kind == _STRING:
        valid = a.valid_mask
        lens = np.zeros(n, dtype=np.int64)
        if bool(valid.any()):
            lens[valid] = np.asarray(np.frompyfunc(len, 1, 1)(a.data[valid])).astype(np.int64)
        return FeelVector(_NUMBER, lens, a.valid)
    if name == "date" and len(args) == 1:
        if a.kind == _DATE:
            return a
        if a.kind == _DATETIME:
            return FeelVector(_DATE, a.data.astype("datetime64[D]"), a.valid)
        return None
    if name == "date and time" and len(args) == 1:
        if a.kind == _DATETIME:
            return a
        if a.kind == _DATE:
            return FeelVector(_DATETIME, a.data.astype("datetime64[us]"), a.valid)
        return None
    if name == "years and months duration" and len(args) == 2:
        b = args[1]
        if a.kind in (_DATE, _DATETIME) and b.kind in (_DATE, _DATETIME):
            return FeelVector(_YMDUR, _months_between_vec(a, b), _and_valid(a.valid, b.valid))
        return None
    if name in ("upper case", "lower case", "contains", "starts with", "ends with", "substring"):
        return _string_function(name, args, n)
    return None


def _round_int(name: str, a: FeelVector, scale: int) -> FeelVector:
    """floor/ceiling/decimal(n, scale) on a scaled int64 vector (scale >= 0)."""
    if scale >= a.exp:
        # already exact at this scale: FEEL keeps the value, quantize adds zeros
        data = _rescale(a.data, scale - a.exp, a.valid)
        return FeelVector(_NUMBER, data, a.valid, scale)
    f = np.int64(10 ** (a.exp - scale))
    q, r = np.divmod(a.data, f)  # floor division: q*f + r == data, 0 <= r < f
    if name == "ceiling":
        q = q + (r != 0)
    elif name == "decimal":
        half = f // 2
        up = (r > half) | ((r == half) & (q % 2 == 1))
        q = q + up
    return FeelVector(_NUMBER, q.astype(np.int64), a.valid, scale)


def _months_between_vec(a: FeelVector, b: FeelVector) -> AnyArray:
    """Vectorised :func:`custvalue.rules._temporal.months_between` (truncated toward zero)."""

    def parts(v: FeelVector) -> tuple[AnyArray, AnyArray]:
        us = v.data.astype("datetime64[us]")
        month = us.astype("datetime64[M]")
        rest = (us - month.astype("datetime64[us]")).astype(np.int64)  # microseconds into the month
        return month.astype(np.int64), rest

    ma, ra = parts(a)
    mb, rb = parts(b)
    months = mb - ma
    months = months - ((months > 0) & (rb < ra)) + ((months < 0) & (rb > ra))
    return months


def _string_function(name: str, args: list[FeelVector], n: int) -> FeelVector | None:
    if any(x.kind not in (_STRING, _NUMBER, _NULL) for x in args):
        return None
    if args[0].kind != _STRING:
        return _null(n) if args[0].kind in (_NUMBER, _NULL) else None
    if name in ("contains", "starts with", "ends with") and args[1].kind != _STRING:
        return _null(n)
    valid = _and_valid(*(x.valid for x in args))
    okm = np.ones(n, dtype=bool) if valid is None else valid
    s = args[0].data
    if name in ("upper case", "lower case"):
        meth = str.upper if name == "upper case" else str.lower
        out = np.full(n, None, dtype=object)
        if bool(okm.any()):
            out[okm] = np.frompyfunc(meth, 1, 1)(s[okm])
        return FeelVector(_STRING, out, valid)
    if name in ("contains", "starts with", "ends with"):
        sub = args[1].data
        fn: Callable[[str, str], bool] = {
            "contains": lambda x, y: y in x,
            "starts with": str.startswith,
            "ends with": str.endswith,
        }[name]
        res = np.zeros(n, dtype=bool)
        if bool(okm.any()):
            res[okm] = np.frompyfunc(fn, 2, 1)(s[okm], np.asarray(sub)[okm]).astype(bool)
        return FeelVector(_BOOLEAN, res, valid)
    # substring: numbers must be integers
    if any(x.kind != _NUMBER for x in args[1:]):
        return None
    ints: list[AnyArray] = []
    for x in args[1:]:
        f = np.int64(10**x.exp) if x.exp <= 18 else None
        if f is None:
            return None
        q, r = np.divmod(x.data, f)
        okm = okm & (r == 0)
        ints.append(q)
    start = ints[0]
    okm = okm & (start != 0)
    if len(ints) > 1:
        okm = okm & (ints[1] >= 0)
    out = np.full(n, None, dtype=object)
    idx = np.flatnonzero(okm)
    if len(idx):
        lengths = np.asarray(np.frompyfunc(len, 1, 1)(s[idx])).astype(np.int64)
        st = start[idx]
        i0 = np.where(st > 0, st - 1, lengths + st)
        j = lengths if len(ints) == 1 else i0 + ints[1][idx]
        lo = np.maximum(i0, 0)
        hi = np.minimum(j, lengths)
        nonempty = hi > lo
        lo = np.where(nonempty, lo, 0)
        hi = np.where(nonempty, hi, 0)
        out[idx] = np.frompyfunc(lambda t, a, b: t[a:b], 3, 1)(s[idx], lo, hi)
    return FeelVector(_STRING, out, None if bool(okm.all()) else okm)


# --------------------------------------------------------------------------- evaluation


@attrs.define
class _Env:
    columns: Mapping[str, ColumnLike]
    n: int
    scales: Mapping[str, int]
    constants: Mapping[str, Value]
    functions: Mapping[str, VectorFunction]
    cache: dict[str, FeelVector] = attrs.field(factory=dict)

    def column(self, name: str) -> FeelVector:
        if name in self.cache:
            return self.cache[name]
        if name in self.columns:
            vec = to_vector(self.columns[name], self.n, scale=self.scales.get(name))
        elif name in self.constants:
            vec = constant(self.constants[name], self.n)
        elif "." in name:
            vec = self._path(name)
        else:
            raise KeyError(name)
        self.cache[name] = vec
        return vec

    def _path(self, name: str) -> FeelVector:
        parts = name.split(".")
        for k in range(len(parts) - 1, 0, -1):
            head = ".".join(parts[:k])
            if head in self.columns or head in self.constants or head in self.cache:
                base = self.column(head)
                return _properties(base, parts[k:], self.n)
        raise KeyError(name)


_DATE_FIELDS: Final = ("year", "month", "day", "weekday")


def _properties(v: FeelVector, props: Sequence[str], n: int) -> FeelVector:
    """``v.p1.p2...``: date fields vectorised, contexts and the rest element by element."""
    if len(props) == 1 and v.kind in (_DATE, _DATETIME) and props[0] in _DATE_FIELDS:
        days = v.data.astype("datetime64[D]")
        if props[0] == "year":
            out = days.astype("datetime64[Y]").astype(np.int64) + 1970
        elif props[0] == "month":
            out = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
        elif props[0] == "weekday":  # 1970-01-01 was a Thursday (ISO weekday 4)
            out = (days.astype(np.int64) + 3) % 7 + 1
        else:
            out = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
        return FeelVector(_NUMBER, out, v.valid)
    objs = v.to_values() if v.kind != _MIXED else v.data

    def walk(x: object) -> object:
        for p in props:
            if x is None:
                return None
            x = property_value(x, p)
        return x

    out_o = np.frompyfunc(walk, 1, 1)(objs)
    return _from_objects(np.asarray(out_o, dtype=object))


def _constant_expr(expr: Expr, env: _Env) -> bool:
    """True if the expression reads no column, no ``?`` and no user function."""
    if has_placeholder(expr):
        return False
    for nm in expr_names(expr):
        parts = nm.split(".")
        if any(".".join(parts[:k]) in env.columns for k in range(1, len(parts) + 1)):
            return False
    return all(f in BUILTIN_FUNCTIONS and f not in env.functions for f in expr_functions(expr))


def _eval(expr: Expr, env: _Env) -> FeelVector:
    n = env.n
    if isinstance(expr, NumberLit | StringLit | BoolLit | NullLit):
        return constant(evaluate_expression(expr, {}), n)
    if isinstance(expr, Name):
        return env.column(expr.name)
    if isinstance(expr, Placeholder):
        return env.column("?")
    if isinstance(expr, Path) and not _constant_expr(expr, env):
        return _properties(_eval(expr.base, env), [expr.name], n)
    if _constant_expr(expr, env):
        consts = env.constants

        def resolve(name: str) -> Value:
            if name in consts:
                return consts[name]
            raise KeyError(name)

        return constant(evaluate_expression(expr, resolve), n)
    if isinstance(expr, Neg):
        return _neg(_eval(expr.operand, env), n)
    if isinstance(expr, BinOp):
        return _arith(expr.op, _eval(expr.left, env), _eval(expr.right, env), n)
    if isinstance(expr, Compare):
        return _compare(expr.op, _eval(expr.left, env), _eval(expr.right, env), n)
    if isinstance(expr, And):
        return _and(_eval(expr.left, env), _eval(expr.right, env), n)
    if isinstance(expr, Or):
        return _or(_eval(expr.left, env), _eval(expr.right, env), n)
    if isinstance(expr, Not):
        return _not(_eval(expr.operand, env), n)
    if isinstance(expr, Call):
        user = env.functions.get(expr.function)
        if user is not None:
            if getattr(user, TAKES_FEEL_VECTORS, False):
                vectors: list[Any] = [_eval(a, env) for a in expr.args]
                return to_vector(user(vectors), n)
            arrays = [_eval(a, env).to_array() for a in expr.args]
            result = user(arrays)
            return to_vector(result, n)
        args: list[FeelVector | list[FeelVector]] = [
            [_eval(i, env) for i in a.items] if isinstance(a, ListLit) else _eval(a, env) for a in expr.args
        ]
        if expr.function in BUILTIN_FUNCTIONS:
            return _call(expr.function, args, n)
        raise KeyError(f"{expr.function}()")
    if isinstance(expr, ListLit):
        return _list_vector([_eval(i, env) for i in expr.items], n)
    if isinstance(expr, If):
        cond_true, _ = _as_bool3(_eval(expr.condition, env), n)
        then, otherwise = _eval(expr.then, env), _eval(expr.otherwise, env)
        return select(n, [(cond_true, then), (~cond_true, otherwise)])
    if isinstance(expr, Between):
        v = _eval(expr.value, env)
        lo = _compare(">=", v, _eval(expr.low, env), n)
        hi = _compare("<=", v, _eval(expr.high, env), n)
        return _and(lo, hi, n)
    if isinstance(expr, In):
        value = _eval(expr.value, env)
        sub = _Env(env.columns, n, env.scales, env.constants, env.functions, dict(env.cache))
        sub.cache["?"] = value
        true, known = _tests_bool3(expr.tests, sub)
        return _three(true, known)
    raise TypeError(f"not an expression: {expr!r}")


def evaluate_vector(
    expr: Expr,
    columns: Mapping[str, ColumnLike],
    n_rows: int,
    functions: Mapping[str, VectorFunction] | None = None,
    *,
    scales: Mapping[str, int] | None = None,
    constants: Mapping[str, object] | None = None,
) -> FeelVector:
    """Like :func:`evaluate_columns`, but the typed :class:`FeelVector` result.

    A FeelVector is itself accepted as a column, so results chain (one
    decision's output feeds the next) without conversion.
    """
    consts = {k: normalize_value(v) for k, v in (constants or {}).items()}
    env = _Env(columns, int(n_rows), dict(scales or {}), consts, dict(functions or {}))
    return _eval(expr, env)


def evaluate_columns(
    expr: Expr,
    columns: Mapping[str, ColumnLike],
    n_rows: int,
    functions: Mapping[str, VectorFunction] | None = None,
    *,
    scales: Mapping[str, int] | None = None,
    constants: Mapping[str, object] | None = None,
) -> AnyArray:
    """Evaluate a FEEL expression over whole columns, row for row as the scalar reference.

    Parameters
    ----------
    expr
        A parsed expression (:func:`custvalue.rules.parse_expression`).
    columns
        Column per name: keys are FEEL names, including names with spaces
        and qualified names (``"applicant.age"``; or a column ``"applicant"``
        of mappings).  Values: numpy arrays, :class:`CodedColumn`,
        :class:`NullableColumn`, masked arrays or :class:`FeelVector`.
    n_rows
        Number of rows.
    functions
        User functions (business knowledge models) by name, vectorised: each
        gets one array per argument (in this function's result form) and
        returns an array of ``n_rows`` values.
    scales
        Integer columns holding minor units: ``{"salary": 100}`` means the
        column holds hundredths of the FEEL number.
    constants
        Scalar values of other names.

    Returns
    -------
    numpy.ndarray
        ``int64`` for integer numbers and ``bool`` for booleans (masked
        arrays when some rows are null), ``datetime64[D]`` for dates,
        ``datetime64[us]`` for date-times, ``timedelta64[us]`` for days and
        time durations (``NaT`` = null), otherwise an object array of FEEL
        values (``Decimal``, ``str``, ``bool``, dates, durations; None = null).

    Raises
    ------
    KeyError
        An unknown name or function.

    Examples
    --------
    >>> from custvalue.rules import parse_expression
    >>> cols = {"Monthly Salary": np.array([1000, 2500]), "bonus": np.array([10, -5])}
    >>> evaluate_columns(parse_expression("Monthly Salary * 12 + bonus"), cols, 2).tolist()
    [12010, 29995]
    >>> evaluate_columns(parse_expression("Monthly Salary / 3"), cols, 2)[0]
    Decimal('333.3333333333333333333333333333333')
    >>> days = np.array(["2026-10-31", "2027-01-15"], dtype="datetime64[D]")
    >>> evaluate_columns(parse_expression('d + duration("P6M")'), {"d": days}, 2)
    array(['2027-04-30', '2027-07-15'], dtype='datetime64[D]')
    """
    return evaluate_vector(expr, columns, n_rows, functions, scales=scales, constants=constants).to_array()


# --------------------------------------------------------------------------- unary tests


def _simple_vector(test: SimpleTest, env: _Env) -> FeelVector:
    n = env.n
    value = env.column("?")
    if isinstance(test, ExprTest):
        r = _eval(test.expr, env)
        t, k = _as_bool3(r, n)
        return _three(t, k)
    if isinstance(test, CompareTest):
        return _compare(test.op, value, _eval(test.endpoint, env), n)
    if isinstance(test, EqualTest):
        ep = test.endpoint
        if isinstance(ep, ListLit) and value.kind != _MIXED:
            # the input is one of the items (true or false, never null)
            hit = np.zeros(n, dtype=bool)
            for item in ep.items:
                hit |= _as_bool3(_compare("=", value, _eval(item, env), n), n)[0]
            return _three(hit, None)
        epv = _eval(ep, env)
        if _MIXED in (value.kind, epv.kind):
            return _elementwise(equal_test_truth, (value, epv), n)
        return _compare("=", value, epv, n)
    assert isinstance(test, IntervalTest)
    lo = _compare(">=" if test.low_closed else ">", value, _eval(test.low, env), n)
    hi = _compare("<=" if test.high_closed else "<", value, _eval(test.high, env), n)
    return _and(lo, hi, n)


def unary_tests_vector(
    tests: UnaryTests,
    value: ColumnLike,
    n_rows: int,
    functions: Mapping[str, VectorFunction] | None = None,
    *,
    constants: Mapping[str, object] | None = None,
    columns: Mapping[str, ColumnLike] | None = None,
    scale: int | None = None,
    scales: Mapping[str, int] | None = None,
) -> BoolArray:
    """Rows where the unary tests hold for ``value`` (``?`` is bound to it); null is no match.

    Examples
    --------
    >>> from custvalue.rules import parse_unary_tests
    >>> unary_tests_vector(parse_unary_tests("? > 5 and ? < 10, 20"), np.array([5, 7, 20]), 3).tolist()
    [False, True, True]
    """
    n = int(n_rows)
    consts = {k: normalize_value(v) for k, v in (constants or {}).items()}
    env = _Env(dict(columns or {}), n, dict(scales or {}), consts, dict(functions or {}))
    env.cache["?"] = to_vector(value, n, scale=scale)
    if tests.is_any:
        return np.ones(n, dtype=bool)
    true, _known = _tests_bool3(tests, env)
    return true


def _tests_bool3(tests: UnaryTests, env: _Env) -> tuple[BoolArray, BoolArray]:
    """(true mask, known mask) of unary tests against the vector bound to ``?``."""
    n = env.n
    if tests.is_any:
        return np.ones(n, dtype=bool), np.ones(n, dtype=bool)
    true = np.zeros(n, dtype=bool)
    known_false = np.ones(n, dtype=bool)
    for t in tests.tests:
        r = _simple_vector(t, env)
        tt, kk = _as_bool3(r, n)
        true |= tt
        known_false &= kk & ~tt
    known = true | known_false
    if tests.negated:
        return known_false, known
    return true, known


# --------------------------------------------------------------------------- selecting and coding


def select(n: int, pieces: Sequence[tuple[BoolArray, FeelVector]]) -> FeelVector:
    """Row ``i`` from the first piece whose mask holds at ``i`` (null where none does).

    Pieces of one kind stay typed (numbers are brought to a common scale,
    or to decimals if that would overflow); different kinds give a mixed
    vector.
    """
    live = [(m, v) for m, v in pieces if v.kind != _NULL and bool(np.any(m))]
    covered = np.zeros(n, dtype=bool)
    if not live:
        return _null(n)
    kinds = {v.kind for _, v in live}
    if kinds == {_NUMBER}:
        e = max(v.exp for _, v in live)
        try:
            datas = [_rescale(v.data, e - v.exp, m if v.valid is None else m & v.valid) for m, v in live]
        except _Overflow:
            live = [(m, _as_decimal(v)) for m, v in live]
            kinds = {_DECIMAL}
        else:
            out = np.zeros(n, dtype=np.int64)
            valid = np.zeros(n, dtype=bool)
            for (m, v), d in zip(live, datas, strict=True):
                take = m & ~covered
                out[take] = d[take]
                valid[take] = v.valid_mask[take]
                covered |= take
            return FeelVector(_NUMBER, out, None if bool(valid.all()) else valid, e)
    if len(kinds) == 1 and next(iter(kinds)) not in _OBJECT_KINDS:
        kind = next(iter(kinds))
        first = live[0][1]
        out_t = np.zeros(n, dtype=first.data.dtype)
        valid = np.zeros(n, dtype=bool)
        for m, v in live:
            take = m & ~covered
            out_t[take] = v.data[take]
            valid[take] = v.valid_mask[take]
            covered |= take
        return FeelVector(kind, out_t, None if bool(valid.all()) else valid)
    objs = np.full(n, None, dtype=object)
    for m, v in live:
        take = m & ~covered
        if bool(take.any()):
            objs[take] = v.take(np.flatnonzero(take)).to_values()
        covered |= take
    kind = next(iter(kinds)) if len(kinds) == 1 else _MIXED
    if kind == _MIXED:
        return _from_objects(objs)
    ok = ~_is_none(objs)
    return FeelVector(kind, objs, None if bool(ok.all()) else ok)


def same_mask(a: FeelVector, b: FeelVector) -> BoolArray:
    """Rows where ``a`` and ``b`` hold the same value (typed equality; null equals null)."""
    n = len(a)
    r = _compare("=", a, b, n)
    t, _ = _as_bool3(r, n)
    return t


def unique_objects(values: AnyArray) -> tuple[list[Any], npt.NDArray[np.intp]]:
    """``np.unique(values, return_inverse=True)`` for an object array of one hashable type:
    the sorted distinct values and each value's index among them.  A dict codes the values
    in one pass and only the distinct values are sorted, instead of argsorting every row
    through Python comparisons."""
    index: dict[Any, int] = {}
    first = np.fromiter((index.setdefault(v, len(index)) for v in values.tolist()), np.intp, len(values))
    seen = list(index)
    order = sorted(range(len(seen)), key=seen.__getitem__)
    rank = np.empty(len(seen), dtype=np.intp)
    rank[order] = np.arange(len(seen), dtype=np.intp)
    return [seen[i] for i in order], rank[first]


def factorize(vec: FeelVector) -> CodedColumn:
    """Code a vector as a :class:`CodedColumn` (categories sorted within a type)."""
    valid = vec.valid_mask
    codes = np.full(len(vec), -1, dtype=np.int32)
    if not bool(valid.any()):
        return CodedColumn(codes, ())
    if vec.kind in (_NUMBER, _BOOLEAN, _DATE, _DATETIME, _DTDUR, _YMDUR):
        uniq, inverse = np.unique(np.asarray(vec.data)[valid], return_inverse=True)
        cats = FeelVector(vec.kind, uniq, None, vec.exp).to_values().tolist()
        codes[valid] = inverse
        return CodedColumn(codes, tuple(cats))
    objs = vec.to_values()[valid]
    if vec.kind == _STRING:  # one type: no need to key on the FEEL kind
        cats_s, inv_s = unique_objects(objs)
        codes[valid] = inv_s
        return CodedColumn(codes, tuple(cats_s))
    index: dict[tuple[str, object], int] = {}
    cats_o: list[Value] = []
    inv = np.empty(len(objs), dtype=np.int32)
    for i, v in enumerate(objs.tolist()):
        key = (feel_kind(v), v)
        k = index.get(key)
        if k is None:
            k = index[key] = len(cats_o)
            cats_o.append(v)
        inv[i] = k
    codes[valid] = inv
    return CodedColumn(codes, tuple(cats_o))
