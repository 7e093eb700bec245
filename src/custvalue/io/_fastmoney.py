"""Fast exact parsing of yuan text columns stored as fixed-width bytes.

The file readers get millions of cells such as ``"123456.78"``.  This parser
works on the ``uint8`` matrix of an ``S``-dtype array (no Python objects, no
floats).  It accepts only the plain shape ``[+-]digits[.d[d]]`` with at most
16 integer digits and returns ``None`` for anything else, so the caller can
fall back to :func:`custvalue.money.parse_yuan_array`, which decides exactly
and names the bad value.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

__all__ = ["parse_yuan_bytes"]

_POW10: Final = np.array([10**k for k in range(19)], dtype=np.int64)
_MAX_DIGITS: Final = 16


def parse_yuan_bytes(arr: NDArray[np.bytes_]) -> NDArray[np.int64] | None:
    """Parse an ``S``-dtype array of plain yuan amounts into fen, or ``None``.

    Examples
    --------
    >>> parse_yuan_bytes(np.array([b"1", b"-2.5", b".01", b"500000.00"])).tolist()
    [100, -250, 1, 50000000]
    >>> parse_yuan_bytes(np.array([b"1.234"])) is None
    True
    """
    n = arr.shape[0]
    w = arr.dtype.itemsize
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if w == 0:
        return None
    if n > _BLOCK:  # cache-sized blocks: every pass below stays in cache
        out = np.empty(n, dtype=np.int64)
        for lo in range(0, n, _BLOCK):
            part = _parse_block(arr[lo: lo + _BLOCK])
            if part is None:
                return None
            out[lo: lo + _BLOCK] = part
        return out
    return _parse_block(arr)


_BLOCK = 1 << 15


def _parse_block(arr: NDArray[np.bytes_]) -> NDArray[np.int64] | None:
    """Parse one cache-sized block, character column by character column.

    The ``(n, w)`` byte matrix is transposed once so that each step is a
    contiguous pass over the block: a small state machine (digits so far,
    decimals so far, seen a dot, reached the NUL padding) runs across the
    ``w`` character positions.
    """
    n = arr.shape[0]
    w = arr.dtype.itemsize
    cols = np.ascontiguousarray(np.ascontiguousarray(arr).view(np.uint8).reshape(n, w).T)
    first = cols[0]
    neg = first == 45
    signed = neg | (first == 43)
    valid = first != 0
    fen = np.zeros(n, dtype=np.int64)
    digits = np.zeros(n, dtype=np.int8)
    decimals = np.zeros(n, dtype=np.int8)
    seen_dot = np.zeros(n, dtype=bool)
    ended = np.zeros(n, dtype=bool)
    value = np.empty(n, dtype=np.uint8)
    for j in range(w):
        c = cols[j]
        np.subtract(c, 48, out=value)  # uint8 wrap-around: digits are exactly value <= 9
        is_digit = value <= 9
        is_nul = c == 0
        is_dot = c == 46
        allowed = is_digit | is_dot | is_nul
        if j == 0:
            allowed |= signed
        # nothing but padding after the padding starts; at most one dot
        valid &= allowed & ~(ended & ~is_nul) & ~(is_dot & seen_dot)
        live = is_digit & ~ended
        step = live.view(np.int8)  # 0/1
        fen *= 1 + 9 * step.astype(np.int64)  # x10 where a digit follows
        fen += value * step
        digits += step
        decimals += step & seen_dot.view(np.int8)
        seen_dot |= is_dot
        ended |= is_nul
    int_digits = digits - decimals
    valid &= (digits > 0) & (decimals <= 2) & (int_digits <= _MAX_DIGITS)
    if not valid.all():
        return None
    fen *= _POW10[2 - decimals]
    fen *= 1 - 2 * neg.view(np.int8).astype(np.int64)
    return fen
