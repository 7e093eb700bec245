"""Exact money: amounts are integers of fen (1/100 yuan).

Every amount inside custvalue is an ``int`` (scalar) or an ``int64`` array of
fen.  This module converts to and from that representation exactly:

* :func:`to_fen` accepts ``int`` (already fen), :class:`~decimal.Decimal` and
  decimal strings (yuan).  More than two decimals, non-finite values, values
  outside ``int64`` and malformed text are errors, never rounded.
* :func:`parse_yuan_array` parses a whole column of decimal strings into an
  ``int64`` array without going through ``float``.
* :func:`from_float` is the one door for floats, and it names its rounding.
* :func:`format_yuan` renders fen back to a yuan string that round-trips.

Thousands separators
--------------------
``"1,234.50"`` is accepted only when its commas group the integer digits in
threes (``"1,234.5"`` is 123450 fen, ``"12,34.5"`` is an error).  Pass
``thousands=False`` to reject any comma, which is what the file readers do:
a CSV cell with a comma in it is almost always a quoting mistake.

Long input
----------
Any number of leading zeros is accepted (``"000000000000000000000001.50"`` is
150 fen); an amount whose significant digits cannot fit ``int64`` fen is an
overflow error, found without converting the digits (so a 5,000-digit string
is refused at once, not with Python's integer-conversion limit).  Error
messages quote at most the first characters of a long text.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Decimal,
)
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._arrays import INT64_MAX, INT64_MIN
from ._errors import InputError

__all__ = [
    "FEN_PER_YUAN",
    "INT64_MAX",
    "INT64_MIN",
    "MoneyError",
    "format_yuan",
    "format_yuan_array",
    "from_float",
    "parse_yuan_array",
    "to_fen",
    "yuan_to_fen",
]

FEN_PER_YUAN: Final = 100

#: An int64 amount has at most 19 significant digits of fen.
_FEN_DIGITS: Final = 19
#: Texts longer than this are shortened in error messages.
_SHOWN: Final = 40
_YUAN_RE = re.compile(r"^([+-]?)(\d+|\d{1,3}(?:,\d{3})+)?(?:\.(\d*))?$")
_ROUNDINGS: Final = {
    "half_even": ROUND_HALF_EVEN,
    "half_up": ROUND_HALF_UP,
    "down": ROUND_DOWN,
    "floor": ROUND_FLOOR,
    "ceiling": ROUND_CEILING,
}


class MoneyError(InputError):
    """An amount that cannot be represented exactly in fen."""


def quote_text(text: str) -> str:
    """``repr(text)`` for an error message, shortened when the text is long.

    Shared with the file readers for their messages (not part of the public API).

    >>> quote_text("12.345")
    "'12.345'"
    >>> quote_text("9" * 5000)
    "'99999999999999999999...' (5,000 characters)"
    """
    if len(text) <= _SHOWN:
        return repr(text)
    return f"{text[:20] + '...'!r} ({len(text):,} characters)"


def _overflow(shown: str) -> MoneyError:
    return MoneyError(f"amount {shown} overflows int64 fen")


def _check_range(fen: int, shown: str) -> int:
    if not INT64_MIN <= fen <= INT64_MAX:
        raise _overflow(shown)
    return fen


def _int_shown(value: int) -> str:
    """An int for a message (``repr`` would fail beyond 4,300 digits)."""
    if value.bit_length() <= 128:
        return repr(value)
    return f"of {value.bit_length():,} bits"


def _ascii_digits(digits: str) -> str:
    """Any Unicode decimal digits (what ``\\d`` matches) as ASCII digits."""
    if digits.isascii():
        return digits
    return "".join(str(unicodedata.decimal(ch)) for ch in digits)


def yuan_to_fen(text: str, *, thousands: bool = True) -> int:
    """Parse a decimal yuan string into fen, exactly.

    Parameters
    ----------
    text
        ``"1234.5"``, ``"-0.01"``, ``"1,234.56"`` (see the module notes on
        thousands separators).  Surrounding whitespace is ignored.
    thousands
        Accept commas grouping the integer digits in threes.

    Returns
    -------
    int
        The amount in fen.

    Raises
    ------
    MoneyError
        More than two decimals, malformed text, ``NaN``/``inf``, overflow.

    Examples
    --------
    >>> yuan_to_fen("1,234.5")
    123450
    >>> yuan_to_fen("12.345")
    Traceback (most recent call last):
    ...
    custvalue.money.MoneyError: '12.345' has more than two decimals
    """
    s = text.strip()
    m = _YUAN_RE.match(s)
    if m is None or (m.group(2) is None and not m.group(3)):
        raise MoneyError(f"{quote_text(text)} is not a decimal yuan amount")
    sign, whole, frac = m.group(1), m.group(2) or "0", m.group(3) or ""
    if "," in whole and not thousands:
        raise MoneyError(f"{quote_text(text)} has a thousands separator; write the amount without commas")
    if len(frac) > 2:
        raise MoneyError(f"{quote_text(text)} has more than two decimals")
    digits = (_ascii_digits(whole.replace(",", "")) + _ascii_digits(frac).ljust(2, "0")).lstrip("0")
    if len(digits) > _FEN_DIGITS:  # checked before int(): no conversion of huge digit strings
        raise _overflow(quote_text(text))
    fen = int(digits or "0")
    return _check_range(-fen if sign == "-" else fen, quote_text(text))


def to_fen(value: int | Decimal | str) -> int:
    """Convert an amount to integer fen, exactly.

    Parameters
    ----------
    value
        ``int`` is already fen; :class:`~decimal.Decimal` and ``str`` are yuan.
        ``bool`` and ``float`` are refused (use :func:`from_float`).

    Examples
    --------
    >>> to_fen(150)
    150
    >>> to_fen(Decimal("500000.00"))
    50000000
    >>> to_fen("499999.99")
    49999999
    >>> to_fen(0.1)
    Traceback (most recent call last):
    ...
    custvalue.money.MoneyError: float 0.1 is not an exact amount; use from_float(value, rounding=...)
    """
    if isinstance(value, bool):
        raise MoneyError(f"boolean {value!r} is not an amount")
    if isinstance(value, int | np.integer):
        return _check_range(int(value), _int_shown(int(value)))
    if isinstance(value, Decimal):
        return _decimal_to_fen(value)
    if isinstance(value, str):
        return yuan_to_fen(value)
    if isinstance(value, float | np.floating):
        raise MoneyError(f"float {value!r} is not an exact amount; use from_float(value, rounding=...)")
    raise MoneyError(f"{type(value).__name__} {value!r} is not an amount")


def _decimal_to_fen(value: Decimal) -> int:
    """Exact fen of a Decimal from its digits and exponent: no context, no rounding.

    Decimal arithmetic would round to the context's precision and trap on
    huge exponents, so the check works on ``as_tuple()`` instead.
    """
    shown = repr(value) if len(str(value)) <= _SHOWN else f"Decimal({quote_text(str(value))})"
    if not value.is_finite():
        raise MoneyError(f"{shown} is not a finite amount")
    negative, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    coefficient = "".join(map(str, digits)).rstrip("0")
    if not coefficient:
        return 0
    exponent += len(digits) - len(coefficient)  # the stripped trailing zeros
    shift = exponent + 2  # value in fen = coefficient * 10**shift
    if shift < 0:
        raise MoneyError(f"{shown} has more than two decimals")
    if len(coefficient.lstrip("0")) + shift > _FEN_DIGITS:
        raise _overflow(shown)
    fen = int(coefficient) * 10**shift
    return _check_range(-fen if negative else fen, shown)


def from_float(value: float, *, rounding: str) -> int:
    """Convert a float yuan amount to fen, rounding as named.

    Floats cannot hold most decimal amounts exactly, so the caller must say how
    to round: ``"half_even"``, ``"half_up"``, ``"down"``, ``"floor"`` or
    ``"ceiling"``.  The float is first taken at its shortest round-tripping
    decimal form (``repr``), so ``0.1`` means 0.1 yuan, not 0.1000000000000000055.

    Examples
    --------
    >>> from_float(0.125, rounding="half_even")
    12
    >>> from_float(0.125, rounding="half_up")
    13
    """
    if rounding not in _ROUNDINGS:
        raise ValueError(f"unknown rounding {rounding!r}; choose one of {sorted(_ROUNDINGS)}")
    d = Decimal(repr(float(value)))
    if not d.is_finite():
        raise MoneyError(f"{value!r} is not a finite amount")
    fen = d.scaleb(2).quantize(Decimal(1), rounding=_ROUNDINGS[rounding])
    return _check_range(int(fen), repr(value))


def format_yuan(fen: int, *, thousands: bool = True) -> str:
    """Render fen as a yuan string with exactly two decimals.

    ``yuan_to_fen(format_yuan(x)) == x`` for every int64 ``x``.

    Examples
    --------
    >>> format_yuan(61234500)
    '612,345.00'
    >>> format_yuan(-1, thousands=False)
    '-0.01'
    """
    fen = int(fen)
    sign = "-" if fen < 0 else ""
    whole, frac = divmod(abs(fen), FEN_PER_YUAN)
    w = f"{whole:,}" if thousands else str(whole)
    return f"{sign}{w}.{frac:02d}"


def format_yuan_array(fen: ArrayLike) -> NDArray[np.str_]:
    """Render an array of fen as yuan strings with exactly two decimals, vectorised.

    The inverse of :func:`parse_yuan_array` (no thousands separators), for
    every ``int64`` value; exact integer arithmetic, no float.

    Examples
    --------
    >>> import numpy as np
    >>> format_yuan_array(np.array([61234500, -1, 0, 5])).tolist()
    ['612345.00', '-0.01', '0.00', '0.05']
    """
    a = np.asarray(fen)
    if a.dtype.kind not in "iu":
        raise TypeError(f"fen must be an integer array, got dtype {a.dtype}")
    a = a.astype(np.int64, copy=False).reshape(-1)
    n = a.shape[0]
    neg = a < 0
    # |INT64_MIN| does not fit int64: take magnitudes in uint64
    mag = a.view(np.uint64).copy()
    np.negative(mag, out=mag, where=neg)
    whole, frac = np.divmod(mag, np.uint64(FEN_PER_YUAN))
    width = max(1, len(str(int(whole.max())))) if n else 1
    # right-aligned text in a byte matrix: [pad/sign][whole digits]["."][two digits]
    buf = np.full((n, width + 4), ord(" "), dtype=np.uint8)
    rest = whole.copy()
    for j in range(width, 0, -1):  # digit columns 1..width, last digit first
        digit = (rest % np.uint64(10)).astype(np.uint8)
        show = (rest > 0) | (j == width)
        buf[:, j] = np.where(show, digit + ord("0"), ord(" "))
        rest //= np.uint64(10)
    buf[:, width + 1] = ord(".")
    buf[:, width + 2] = (frac // np.uint64(10)).astype(np.uint8) + ord("0")
    buf[:, width + 3] = (frac % np.uint64(10)).astype(np.uint8) + ord("0")
    if neg.any():
        rows = np.flatnonzero(neg)
        w = whole[rows]
        digits = np.ones(rows.size, dtype=np.int64)  # exact digit counts, no float log
        for k in range(1, width):
            digits += w >= np.uint64(10**k)
        buf[rows, width - digits] = ord("-")  # just before the first digit
    text = np.strings.lstrip(buf.view(f"S{width + 4}").reshape(n), b" ")
    out: NDArray[np.str_] = text.astype(np.str_).reshape(np.shape(fen))
    return out


def parse_yuan_array(values: ArrayLike, *, column: str | None = None) -> NDArray[np.int64]:
    """Parse a column of decimal yuan strings into an ``int64`` fen array.

    Vectorised with numpy string functions; no value passes through
    ``float``.  Commas are not accepted here (file columns must be plain
    numbers).  On the first bad value the error names its row index.

    Examples
    --------
    >>> parse_yuan_array(["1", "-2.5", "0.01", "500000.00"]).tolist()
    [100, -250, 1, 50000000]
    """
    arr = np.asarray(values)
    if arr.dtype.kind not in "UST":
        arr = arr.astype(str)
    if arr.dtype.kind == "S":
        arr = np.char.decode(arr, "ascii")
    arr = np.char.strip(arr.astype(str))
    n = arr.shape[0] if arr.ndim else 1
    arr = arr.reshape(n)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    try:
        return _parse_fast(arr)
    except (ValueError, OverflowError):
        pass
    # Slow path: exact scalar parsing, naming the first offending value (also
    # the path for valid amounts too long for the fast path, e.g. 17 digits).
    out = np.empty(n, dtype=np.int64)
    for i, s in enumerate(arr.tolist()):
        try:
            out[i] = yuan_to_fen(s, thousands=False)
        except MoneyError as exc:
            raise MoneyError(f"row {i}: {exc.message}", column=column) from None
    return out


def _parse_fast(arr: NDArray[np.str_]) -> NDArray[np.int64]:
    neg = np.char.startswith(arr, "-")
    signed = neg | np.char.startswith(arr, "+")
    body = np.where(signed, np.char.lstrip(arr, "+-"), arr)
    # exactly one sign character may go ("--1" is not an amount)
    if np.any(np.char.str_len(arr) - np.char.str_len(body) != signed):
        raise ValueError("sign")
    head, _dot, frac = (np.asarray(x) for x in _partition(body))
    # every character of head and frac must be a digit; at least one digit overall
    if not (np.all(np.char.isdigit(head) | (head == "")) and np.all(np.char.isdigit(frac) | (frac == ""))):
        raise ValueError("non-digit")
    if np.any(np.char.str_len(frac) > 2) or np.any((head == "") & (frac == "")):
        raise ValueError("bad shape")
    if np.any(np.char.count(body, "-") + np.char.count(body, "+") > 0):
        raise ValueError("sign")
    lengths = np.char.str_len(head)
    if np.any(lengths > 16):
        # may overflow: let the scalar path decide exactly
        raise OverflowError
    whole = np.where(head == "", "0", head).astype(np.int64)
    cents = np.char.ljust(np.where(frac == "", "0", frac), 2, "0").astype(np.int64)
    fen = whole * FEN_PER_YUAN + cents
    result: NDArray[np.int64] = np.where(neg, -fen, fen)
    return result


def _partition(arr: NDArray[np.str_]) -> tuple[NDArray[np.str_], NDArray[np.str_], NDArray[np.str_]]:
    parts = np.char.partition(arr, ".")
    return parts[:, 0], parts[:, 1], parts[:, 2]
