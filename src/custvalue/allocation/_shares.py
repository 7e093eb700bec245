"""Exact shares in basis points and the largest-remainder (Hamilton) splitter.

Shares
------
A share is stored as an integer number of basis points (bp, 1/10000).  The
accepted spellings are exact:

* ``int`` (and numpy integers): basis points, ``6000`` is 60%;
* ``str``: ``"60%"`` (percent, up to two decimals), ``"6000bp"`` or a decimal
  fraction ``"0.6"``;
* :class:`decimal.Decimal` and :class:`fractions.Fraction`: a fraction of
  one, ``Decimal("0.6")`` or ``Fraction(3, 5)``.

Anything not exactly a whole number of basis points (``Fraction(1, 3)``,
``"33.333%"``) is rejected, and so is every ``float`` and ``bool``: a float
cannot say whether ``0.1`` meant exactly 1000 bp.

Splitting
---------
:func:`split_amounts` divides integer amounts (fen) between shares with the
largest-remainder method (Hamilton).  Every part is first the floor of its
exact quota ``amount * bp / 10000`` (floor, also for negative amounts, so a
negative amount is split exactly like a positive one: remainders are the
fractional parts of the exact quotas); the ``deficit = amount - sum(floors)``
fen left over (``0 <= deficit < number of parts``) go one each to the parts
with the largest remainders.  Ties are broken by a caller-supplied key that
does not depend on input order (for allocations: primary manager first, then
manager id ascending).  Hence, per amount, the parts sum exactly to the amount
and every part is ``floor`` or ``ceil`` of its exact quota, i.e. within one fen.

The quota is computed without forming ``amount * bp`` (which overflows int64
above about 9.2e14 fen): with ``q, r = divmod(amount, 10000)``,
``floor(amount * bp / 10000) = q * bp + (r * bp) // 10000`` where ``|q * bp| <=
|amount|`` and ``r * bp < 1e8``; the deficit is ``sum((r * bp) % 10000) //
10000``, which never sums the parts themselves, so amounts anywhere in the
int64 range are split without overflow.

Like every quota method with a fixed rounding rule, Hamilton's method is
subject to the *Alabama paradox*: increasing the amount by one fen can lower a
part by one fen when the remainders reorder.  Parts are nonetheless always
within one fen of the exact share.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import TypeAlias

import numpy as np
from numpy.typing import NDArray

from .._arrays import floor_divmod
from ._errors import InvalidShareError

__all__ = ["BP_WHOLE", "ShareLike", "SharesLike", "parse_share", "split_amounts"]

#: Basis points in a whole (100%).
BP_WHOLE = 10_000

ShareLike: TypeAlias = "int | str | decimal.Decimal | Fraction | np.integer"
SharesLike: TypeAlias = "Mapping[str, ShareLike] | Sequence[tuple[str, ShareLike]]"


def _decimal_to_bp(dec: decimal.Decimal, per_bp: int, shown: object) -> int:
    """``dec`` (in units of ``per_bp`` basis points) as whole basis points, checked cheaply.

    The exponent is looked at before any exact arithmetic, so that
    ``1e999999999`` or ``1e-999999999`` are refused at once instead of
    building a fraction with a billion digits.
    """
    if not dec.is_finite():
        raise InvalidShareError(f"share {shown!r} is not finite")
    if dec.is_zero():
        return 0
    if dec.adjusted() > 6:
        raise InvalidShareError(f"share {shown!r} is out of range (a share is at most 100%)")
    if dec.adjusted() < -12:  # far below one basis point, whatever the unit
        raise InvalidShareError(f"share {shown!r} is not a whole number of basis points")
    norm = dec.normalize(decimal.Context(prec=60, Emin=-(10**6), Emax=10**6))
    if norm.as_tuple().exponent < -12:  # type: ignore[operator]
        raise InvalidShareError(f"share {shown!r} is not a whole number of basis points")
    return _fraction_to_bp(Fraction(norm) * Fraction(per_bp, BP_WHOLE), shown)


def _fraction_to_bp(value: Fraction, shown: object) -> int:
    scaled = value * BP_WHOLE
    if scaled.denominator != 1:
        raise InvalidShareError(
            f"share {shown!r} is not a whole number of basis points ({float(scaled):.4f} bp)"
        )
    return int(scaled)


def parse_share(value: object) -> int:
    """Convert one share to integer basis points, exactly.

    Parameters
    ----------
    value
        ``int`` (basis points), ``"60%"``, ``"6000bp"``, ``"0.6"``,
        ``Decimal("0.6")`` or ``Fraction(3, 5)``.

    Returns
    -------
    int
        Basis points.  The range (``> 0``, total ``10000``) is checked by the
        caller, which knows the customer and manager.

    Raises
    ------
    InvalidShareError
        For floats, bools, non-finite decimals, malformed strings and anything
        that is not a whole number of basis points.

    Examples
    --------
    >>> from decimal import Decimal
    >>> from fractions import Fraction
    >>> [parse_share(v) for v in ("60%", Decimal("0.6"), Fraction(3, 5), 6000, "6000bp")]
    [6000, 6000, 6000, 6000, 6000]
    >>> parse_share(Fraction(1, 3))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    custvalue.allocation.InvalidShareError: share Fraction(1, 3) is not a whole number ...
    """
    if isinstance(value, bool | np.bool_):
        raise InvalidShareError(f"share {value!r} is a bool, not a share")
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        raise InvalidShareError(
            f"share {value!r} is a float; floats are not accepted, pass '60%', "
            "Decimal('0.6'), Fraction(3, 5) or 6000 (basis points)"
        )
    if isinstance(value, Fraction):
        if abs(value) > 10**6:
            raise InvalidShareError(f"share {value!r} is out of range (a share is at most 100%)")
        return _fraction_to_bp(value, value)
    if isinstance(value, decimal.Decimal):
        return _decimal_to_bp(value, BP_WHOLE, value)
    if isinstance(value, str):
        text = value.strip()
        try:
            if not text.isascii() or len(text) > 40:
                raise decimal.InvalidOperation  # e.g. "²bp" or "٣%": ASCII digits only
            if text.endswith("%"):
                dec = decimal.Decimal(text[:-1].strip())
                if not dec.is_finite():
                    raise decimal.InvalidOperation
                return _decimal_to_bp(dec, 100, value)
            if text.lower().endswith("bp"):
                number = text[:-2].strip()
                if not number.lstrip("+-").isdigit():
                    raise decimal.InvalidOperation
                return int(number)
            dec = decimal.Decimal(text)
            if not dec.is_finite():
                raise decimal.InvalidOperation
            if dec.copy_abs() > 1:
                raise InvalidShareError(
                    f"share {value!r} is a fraction of one greater than 1; write percentages "
                    f"with a '%' sign ('{text}%')"
                )
            return _decimal_to_bp(dec, BP_WHOLE, value)
        except decimal.InvalidOperation:
            raise InvalidShareError(
                f"share {value!r} is not a percentage ('60%'), basis points ('6000bp') "
                "or a decimal fraction ('0.6')"
            ) from None
    raise InvalidShareError(f"share {value!r} of type {type(value).__name__} is not supported")


def split_amounts(
    amounts: NDArray[np.int64],
    bp: NDArray[np.integer],
    tiekey: NDArray[np.int64],
    starts: NDArray[np.int64],
    sizes: NDArray[np.int64],
) -> NDArray[np.int64]:
    """Largest-remainder split of grouped records, vectorised.

    Parameters
    ----------
    amounts
        ``int64`` per record: the amount of the record's group (repeated).
    bp
        Share of each record in basis points; each group's shares sum to 10000.
    tiekey
        Non-negative ``int64`` < 2**40 per record, unique within a group:
        among equal remainders the smaller key gets the extra fen first.
    starts, sizes
        Groups are contiguous runs of records: group ``g`` is
        ``records[starts[g] : starts[g] + sizes[g]]``.

    Returns
    -------
    numpy.ndarray
        ``int64`` part per record; each group's parts sum to its amount and
        every part is the floor or the ceiling of ``amount * bp / 10000``.

    Examples
    --------
    >>> import numpy as np
    >>> split_amounts(np.array([1, 1, 1]), np.array([3334, 3333, 3333]),
    ...               np.array([0, 1, 2]), np.array([0]), np.array([3])).tolist()
    [1, 0, 0]
    >>> split_amounts(np.array([-1, -1, -1]), np.array([3334, 3333, 3333]),
    ...               np.array([0, 1, 2]), np.array([0]), np.array([3])).tolist()
    [-1, 0, 0]
    """
    amounts = np.asarray(amounts, dtype=np.int64)
    bp64 = np.asarray(bp, dtype=np.int64)
    q, r = floor_divmod(amounts, BP_WHOLE)
    rbp = r * bp64
    whole, rem = floor_divmod(rbp, BP_WHOLE)
    parts: NDArray[np.int64] = q * bp64 + whole
    sizes = np.asarray(sizes, dtype=np.int64)
    starts = np.asarray(starts, dtype=np.int64)
    if sizes.size == 0:
        return parts
    tiekey = np.asarray(tiekey, dtype=np.int64)
    for g in np.unique(sizes).tolist():
        if g <= 1:
            continue
        idx = starts[sizes == g][:, None] + np.arange(g, dtype=np.int64)
        rem2 = rem[idx]
        deficit = rem2.sum(axis=1) // BP_WHOLE
        if not deficit.any():
            continue
        # Larger remainder first, then the smaller tie key.
        key = ((BP_WHOLE - 1 - rem2) << 40) | tiekey[idx]
        order = np.argsort(key, axis=1, kind="stable")
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(g, dtype=order.dtype)[None, :], axis=1)
        bonus = rank < deficit[:, None]
        parts[idx[bonus]] += 1
    return parts
