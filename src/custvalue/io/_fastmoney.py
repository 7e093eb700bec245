"""Fast exact parsing of yuan text columns stored as fixed-width bytes.

The file readers get millions of cells such as ``"123456.78"``.  This parser
works on the ``uint8`` matrix of an ``S``-dtype array (no Python objects, no
floats) and reads the plain shape ``[+-]digits[.digits]`` of any length:

* a cell of that shape is read exactly when
  :func:`custvalue.money.yuan_to_fen` accepts it (any number of leading
  zeros, at most two decimals, inside ``int64``), and refused otherwise (more
  than two decimals, an overflow, a second dot or sign, no digit at all);
* every other cell (blanks, commas, a NUL byte inside the cell, non-ASCII
  bytes, ...) is refused too.

A refused cell is left to the caller, which reads it with the exact scalar
parser :func:`~custvalue.money.yuan_to_fen` to get the value (surrounding
blanks) or the error message naming the cell.  So "refused" never means
"wrong": for cells of the plain shape it means exactly that
:func:`~custvalue.money.yuan_to_fen` refuses them too (a property test checks
this for digit strings up to 2**16 characters).

The parser is a small state machine run across the character positions of
cache-sized blocks (one contiguous pass per position).  Its one counter (of
decimals) is wide enough for the array's width, and the value is accumulated
in ``uint64`` with an explicit "too big" flag, so no length of digit string
can wrap a counter or the value.  The readers give it cells of at most
:data:`FAST_WIDTH` bytes and read longer cells with the exact scalar parser;
wider arrays work, only more slowly (one pass per character position).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

__all__ = ["FAST_WIDTH", "PLAIN_WIDTH", "parse_plain_yuan", "parse_yuan_bytes"]

#: The widest cell the readers hand to :func:`parse_yuan_bytes` (wider cells,
#: e.g. with many leading zeros, go to the exact scalar parser), so that a
#: single long cell never widens the fixed-width array of a whole column.
FAST_WIDTH: Final = 32

_BLOCK: Final = 1 << 15
#: ``acc >= 10**18`` before another digit: the amount is at least 10**19 fen.
_BIG: Final = np.uint64(10**18)
_SAFE_DIGITS: Final = 18
_SCALE: Final = np.array([100, 10, 1], dtype=np.uint64)
#: The largest digit value of a positive / negative amount with 0, 1, 2 decimals.
_LIMIT: Final = np.array(
    [[(2**63 - 1) // 10 ** (2 - d) for d in range(3)], [2**63 // 10 ** (2 - d) for d in range(3)]],
    dtype=np.uint64,
)


def parse_yuan_bytes(arr: NDArray[np.bytes_]) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Parse an ``S``-dtype array of plain yuan amounts into fen.

    Returns
    -------
    fen : ndarray of int64
        The amount of every accepted cell (0 where refused).
    ok : ndarray of bool
        Which cells were read; the others must go to the exact scalar parser.

    Examples
    --------
    >>> fen, ok = parse_yuan_bytes(np.array([b"1", b"-2.5", b".01", b"500000.00", b"1.234", b" 7"]))
    >>> fen.tolist(), ok.tolist()
    ([100, -250, 1, 50000000, 0, 0], [True, True, True, True, False, False])
    >>> parse_yuan_bytes(np.array([b"1" + b"0" * 256]))[1].tolist()  # overflows int64 fen
    [False]
    >>> parse_yuan_bytes(np.array([b"0" * 300 + b"12.5"]))[0].tolist()
    [1250]
    """
    flat = np.ascontiguousarray(arr).reshape(-1)
    n = flat.shape[0]
    fen = np.zeros(n, dtype=np.int64)
    ok = np.zeros(n, dtype=bool)
    if n == 0 or flat.dtype.itemsize == 0:
        return fen, ok
    for lo in range(0, n, _BLOCK):  # cache-sized blocks: every pass below stays in cache
        hi = min(n, lo + _BLOCK)
        fen[lo:hi], ok[lo:hi] = _parse_block(flat[lo:hi])
    return fen, ok


def _parse_block(arr: NDArray[np.bytes_]) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Parse one block, character position by character position.

    The ``(n, w)`` byte matrix is transposed once so that each step is a
    contiguous pass over the block.  State per cell: the digits so far as a
    ``uint64`` (``big`` once they are at least 10**19, which no int64 amount
    reaches), the number of decimals, whether a dot was seen and whether the
    NUL padding started.
    """
    n = arr.shape[0]
    w = arr.dtype.itemsize
    cols = np.ascontiguousarray(arr.view(np.uint8).reshape(n, w).T)
    first = cols[0]
    neg = first == 45
    ok = first != 0
    acc = np.zeros(n, dtype=np.uint64)
    big = np.zeros(n, dtype=bool)
    any_digit = np.zeros(n, dtype=bool)
    # a counter of at most w: int8 when that cannot wrap
    decimals: NDArray[np.signedinteger[Any]] = np.zeros(n, dtype=np.int8 if w < 128 else np.int64)
    seen_dot = np.zeros(n, dtype=bool)
    ended = np.zeros(n, dtype=bool)
    value = np.empty(n, dtype=np.uint8)
    mul = np.empty(n, dtype=np.uint8)
    for j in range(w):
        c = cols[j]
        np.subtract(c, 48, out=value)  # uint8 wrap-around: digits are exactly value <= 9
        is_digit = value <= 9
        is_nul = c == 0
        is_dot = c == 46
        allowed = is_digit | is_dot | is_nul
        if j == 0:
            allowed |= (c == 43) | neg  # a sign
        ok &= allowed
        # nothing but padding once the padding started (a NUL inside a cell is
        # not text); at most one dot.  On bools, a > b is a & ~b.
        bad = (ended > is_nul) | (is_dot & seen_dot)
        np.greater(ok, bad, out=ok)
        if j >= _SAFE_DIGITS:  # acc < 10**j before this position: no check needed earlier
            big |= is_digit & (acc >= _BIG)
        step = is_digit.view(np.uint8)  # 0/1
        np.multiply(step, 9, out=mul)
        mul += 1
        acc *= mul  # x10 where a digit follows
        value *= step
        acc += value
        any_digit |= is_digit
        decimals += is_digit & seen_dot
        seen_dot |= is_dot
        ended |= is_nul
    ok &= any_digit & (decimals <= 2) & ~big
    d = np.minimum(decimals, 2)
    ok &= acc <= _LIMIT[neg.view(np.uint8), d]
    scale = _SCALE[d]
    magnitude = np.where(ok, acc, 0) * scale
    fen = np.where(neg, np.uint64(0) - magnitude, magnitude).view(np.int64)
    return fen, ok


# ------------------------------------------------------- plain cells, 8 bytes at a time
#: The longest cell :func:`parse_plain_yuan` reads (longer cells are refused).
PLAIN_WIDTH: Final = 16
_U = np.uint64
_HIGH_NIBBLES: Final = _U(0xF0F0F0F0F0F0F0F0)
_LOW7: Final = _U(0x7F7F7F7F7F7F7F7F)
_DOTS: Final = _U(0x2E2E2E2E2E2E2E2E)
#: A dot may only be one of the last three characters (0, 1 or 2 decimals).
_DOT_PLACES: Final = _U(0x8080800000000000)
_PLAIN_BLOCK: Final = 1 << 13


def _digit_words(w: NDArray[np.uint64]) -> NDArray[np.bool_]:
    """Whether all 8 bytes of each word are ASCII digits (SWAR: no byte outside 0x30..0x39)."""
    carried = w + _U(0x0606060606060606)
    carried &= _HIGH_NIBBLES
    carried >>= _U(4)
    carried |= w & _HIGH_NIBBLES
    digits: NDArray[np.bool_] = carried == _U(0x3333333333333333)
    return digits


def _eight_digits(w: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """The value of 8 ASCII digits per word, the first digit in the lowest byte (SWAR)."""
    v = w & _U(0x0F0F0F0F0F0F0F0F)
    v *= _U(2561)
    v >>= _U(8)
    v &= _U(0x00FF00FF00FF00FF)
    v *= _U(6553601)
    v >>= _U(16)
    v &= _U(0x0000FFFF0000FFFF)
    v *= _U(42949672960001)
    v >>= _U(32)
    return v


def parse_plain_yuan(
    words: NDArray[np.uint64], lengths: NDArray[np.integer[Any]]
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Read plain cells 8 bytes at a time: ``digits[.d[d]]`` of 1 to 16 characters.

    ``words`` is an ``(n, 2)`` array: each cell right-aligned in 16 bytes and
    padded on the left with ``'0'`` (what ``pyarrow.compute.ascii_lpad(cells,
    16, "0")`` gives, viewed as little-endian words); ``lengths`` are the
    cells' own lengths in bytes.  A cell of the shape ``[0-9]*[.]?[0-9]*``
    with at most two decimals and at least one digit is read exactly (the
    value :func:`custvalue.money.yuan_to_fen` gives); every other cell (a
    sign, blanks, more decimals, longer, empty, non-ASCII) is refused and
    left to :func:`parse_yuan_bytes` and the exact scalar parser.  The dot is
    found and replaced by ``'0'`` in a word operation, the 16 digits are
    checked and combined by multiplications (no loop over characters), and
    the value is fixed up for the number of decimals.

    Examples
    --------
    >>> cells = [b"1", b"2.5", b"500000.00", b".05", b"7.", b"1.234", b"-1", b"", b".", b"1 "]
    >>> padded = b"".join(c.rjust(16, b"0") for c in cells)
    >>> words = np.frombuffer(padded, dtype="<u8").reshape(-1, 2)
    >>> fen, ok = parse_plain_yuan(words, np.array([len(c) for c in cells]))
    >>> fen[ok].tolist(), ok.tolist()
    ([100, 250, 50000000, 5, 700], [True, True, True, True, True, False, False, False, False, False])
    """
    n = int(words.shape[0])
    fen = np.empty(n, dtype=np.int64)
    ok = np.empty(n, dtype=bool)
    for lo in range(0, n, _PLAIN_BLOCK):  # cache-sized blocks: every pass below stays in cache
        hi = min(n, lo + _PLAIN_BLOCK)
        fen[lo:hi], ok[lo:hi] = _plain_block(words[lo:hi], lengths[lo:hi])
    return fen, ok


def _plain_block(
    words: NDArray[np.uint64], lengths: NDArray[np.integer[Any]]
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    high = np.ascontiguousarray(words[:, 0])
    low = np.array(words[:, 1], dtype=np.uint64)  # a copy: changed below
    # a 0x80 marker in each byte of the low word that is a dot (exact per byte: no carries)
    eq = low ^ _DOTS
    dots = eq & _LOW7
    dots += _LOW7
    dots |= eq
    dots |= _LOW7
    np.invert(dots, out=dots)
    ok = (lengths >= 1) & (lengths <= PLAIN_WIDTH)
    ok &= np.bitwise_count(dots) <= 1
    ok &= (dots & ~_DOT_PLACES) == _U(0)
    ok &= ~((dots == _U(0x80 << 56)) & (lengths == 1))  # "." alone has no digit
    dots >>= _U(7)
    dots *= _U(0x2E ^ 0x30)
    low ^= dots  # the dot becomes '0'
    ok &= _digit_words(high)
    ok &= _digit_words(low)
    value = _eight_digits(high)
    value *= _U(100_000_000)
    value += _eight_digits(low)
    # the digits were read with the dot as 0: fix up per number of decimals
    two = dots == _U(0x1E << 40)
    one = dots == _U(0x1E << 48)
    none = dots == _U(0x1E << 56)
    if bool(two.all()):
        fen = (value // _U(1000)) * _U(100) + value % _U(1000)
    else:
        fen = value * _U(100)
        if two.any():
            fen = np.where(two, (value // _U(1000)) * _U(100) + value % _U(1000), fen)
        if one.any():
            fen = np.where(one, value + _U(9) * (value % _U(100)), fen)
        if none.any():
            fen = np.where(none, value * _U(10), fen)
    fen[~ok] = 0
    out: NDArray[np.int64] = fen.view(np.int64)
    return out, ok
