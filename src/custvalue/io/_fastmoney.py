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
    b = np.ascontiguousarray(arr).view(np.uint8).reshape(n, w)
    nul = b == 0
    # NUL only as trailing padding; first byte present
    if nul[:, 0].any() or (w > 1 and np.any(nul[:, :-1] & ~nul[:, 1:])):
        return None
    length = w - np.count_nonzero(nul, axis=1)
    digit = (b >= 48) & (b <= 57)
    dot = b == 46
    sign = (b == 45) | (b == 43)
    if np.any(sign[:, 1:]):
        return None
    ok = digit | dot | nul
    ok[:, 0] |= sign[:, 0]
    if not ok.all():
        return None
    ndots = np.count_nonzero(dot, axis=1)
    if np.any(ndots > 1):
        return None
    has_dot = ndots == 1
    dotpos = np.where(has_dot, np.argmax(dot, axis=1), length)
    frac_len = np.where(has_dot, length - dotpos - 1, 0)
    first = sign[:, 0].astype(np.int64)
    int_len = dotpos - first
    if np.any(frac_len > 2) or np.any(int_len > _MAX_DIGITS) or np.any(int_len + frac_len == 0):
        return None
    # Horner over the columns: digits only, then scale by the missing decimals
    fen = np.zeros(n, dtype=np.int64)
    for j in range(w):
        dj = digit[:, j]
        if not dj.any():
            continue
        step = fen * 10 + (b[:, j].astype(np.int64) - 48)
        np.copyto(fen, step, where=dj)
    fen *= _POW10[2 - frac_len]
    neg = b[:, 0] == 45
    fen[neg] = -fen[neg]
    return fen
