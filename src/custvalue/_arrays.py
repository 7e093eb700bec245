"""Array helpers shared across custvalue: read-only arrays and exact integer sums.

* :func:`readonly` is the one way custvalue makes an array read-only: the
  result shares the memory but can never be made writeable again.
* :func:`exact_sum` and :func:`exact_group_sums` add int64 amounts exactly and
  raise :class:`~custvalue.AmountOverflowError` instead of wrapping around.

The overflow policy (see ``docs/portfolio.rst``): every sum *within* a customer
(AUM over asset columns, window sums over months) is proven unable to overflow
by the bounds a :class:`~custvalue.Portfolio` checks when it is built; every
sum *across* customers (totals, migration matrices, roll-ups) goes through the
checked sums here.
"""

from __future__ import annotations

import os
import threading
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from ._errors import AmountOverflowError, InsufficientMemoryError
from ._memo import memo_on

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "Scratch",
    "check_memory",
    "exact_group_sums",
    "exact_sum",
    "floor_divmod",
    "peak",
    "physical_memory",
    "readonly",
    "sort_int64",
]

A = TypeVar("A", bound=NDArray[Any])

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
_CHUNK = 1 << 30  # values per exact partial sum of 32-bit halves


def physical_memory() -> int:
    """Bytes of physical memory (0 when the platform cannot tell)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 0


def check_memory(nbytes: int, what: str) -> None:
    """Refuse an allocation of about ``nbytes`` that cannot fit in physical memory.

    >>> check_memory(10**18, "a demo portfolio of 10**11 customers")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    custvalue.InsufficientMemoryError: a demo portfolio of 10**11 customers needs about 931,322,574.6 GiB ...
    """
    total = physical_memory()
    if total and nbytes > total:
        raise InsufficientMemoryError(
            f"{what} needs about {nbytes / 2**30:,.1f} GiB of memory; this machine has "
            f"{total / 2**30:,.1f} GiB"
        )


def is_sealed(a: NDArray[Any]) -> bool:
    """Whether ``a`` is read-only down to a buffer that cannot be written (as :func:`readonly` makes it).

    >>> import numpy as np
    >>> is_sealed(readonly(np.zeros(2))), is_sealed(np.zeros(2))
    (True, False)
    """
    if a.flags.writeable:
        return False
    base: Any = a
    while isinstance(base, np.ndarray):
        if base.flags.writeable:
            return False
        if base.base is None:
            return False  # owns its memory: the flag could be set again
        base = base.base
    return isinstance(base, bytes) or (isinstance(base, memoryview) and base.readonly)


def readonly(a: A) -> A:
    """The values of ``a`` as an array that is read-only for good.

    No copy when ``a`` is contiguous: the result shares ``a``'s memory through
    a read-only buffer, so ``setflags(write=True)`` on it (or on any view of
    it) fails.  ``a`` itself is left as it was; whoever made it must not keep
    writing to it.  A strided ``a`` is copied once.

    >>> import numpy as np
    >>> r = readonly(np.zeros((2, 3)))
    >>> r.flags.writeable
    False
    >>> r[:, 1:].setflags(write=True)
    Traceback (most recent call last):
    ...
    ValueError: cannot set WRITEABLE flag to True of this array
    """
    if is_sealed(a):
        return a
    if a.dtype.hasobject:  # pragma: no cover - custvalue keeps no object arrays
        raise TypeError("object arrays cannot be sealed read-only")
    if a.flags.f_contiguous and not a.flags.c_contiguous:
        return readonly(a.T).T
    src: NDArray[Any] = a if a.flags.c_contiguous else np.ascontiguousarray(a)
    raw: Any = src.reshape(-1).view(np.uint8)
    buf = memoryview(raw).toreadonly() if src.size else b""
    out = np.frombuffer(buf, dtype=src.dtype).reshape(src.shape)
    return out  # type: ignore[return-value]


class Scratch:
    """Work arrays kept from one row block to the next, one set per thread.

    A fresh large temporary costs a page fault per 4 KiB on first touch (the
    allocator returns big blocks to the system when they are freed), which on
    a virtual machine can cost more than the arithmetic done in it.  Code that
    walks a portfolio block by block asks for its temporaries here by name:
    the same memory each block, uninitialised (``numpy.empty``).

    >>> import numpy as np
    >>> s = Scratch()
    >>> a = s.array("x", (2, 3), np.int16)
    >>> b = s.array("x", (3,), np.int16)
    >>> np.shares_memory(a, b), b.shape
    (True, (3,))
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def array(self, key: str, shape: tuple[int, ...], dtype: Any) -> NDArray[Any]:
        """An uninitialised ``shape`` array of ``dtype``: the one given before under ``key`` when it fits."""
        arrays: dict[str, NDArray[Any]] = self._local.__dict__.setdefault("arrays", {})
        dt = np.dtype(dtype)
        size = int(np.prod(shape, dtype=np.int64))
        got = arrays.get(key)
        if got is None or got.dtype != dt or got.size < size:
            got = arrays[key] = np.empty(size, dt)
        return got[:size].reshape(shape)


def floor_divmod(
    num: Any, den: Any, out: tuple[NDArray[np.int64], NDArray[np.int64]] | None = None
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Exact ``(num // den, num % den)`` for int64 ``num`` and positive int64 ``den`` (a scalar or an array).

    A constant divisor (a scalar, or an array of one value): one
    :func:`numpy.floor_divide` by a Python int, which numpy does without a
    hardware division, and ``r = num - q * den``: about twice as fast as
    :func:`numpy.divmod`.  ``q * den`` can leave int64 only when ``num`` is
    within ``den`` of the int64 minimum; numpy's integer arithmetic then
    wraps, and the remainder, which is in ``0..den-1``, is still exact (the
    arithmetic is modulo 2**64).  Varying divisors: :func:`numpy.divmod`,
    one pass for both.  ``out``: the quotient and remainder arrays to write
    (``num``'s shape); writing into kept arrays spares the page faults of
    fresh ones, which on a virtual machine cost more than the division.

    >>> import numpy as np
    >>> [a.tolist() for a in floor_divmod(np.array([7, -7, 2**62 + 1]), np.array([2, 2, 3]))]
    [[3, -4, 1537228672809129301], [1, 1, 2]]
    >>> [a.tolist() for a in floor_divmod(np.array([-2**63, 5]), 3)]
    [[-3074457345618258603, 1], [1, 2]]
    """
    n = np.asarray(num, np.int64)
    d = np.asarray(den, np.int64)
    q_out, r_out = (None, None) if out is None else out
    if d.ndim == 0 or (d.size and int(d.min()) == int(d.max())):
        k = int(d.flat[0]) if d.size else 1  # a Python int: numpy's fast division by a constant
        q = np.floor_divide(n, k, out=q_out)
        r = np.multiply(q, k, out=r_out)
        np.subtract(n, r, out=r)
        return q, r
    if out is None:  # numpy's stubs take no ``out=None`` here
        q, r = np.divmod(n, d)
    else:
        q, r = np.divmod(n, d, out=out)
    return q, r


def sort_int64(values: NDArray[np.int64]) -> NDArray[np.int64]:
    """``numpy.sort`` of int64 values, the values in ``0..2**32-1`` sorted as ``uint32``.

    numpy sorts 32-bit integers about twice as fast as 64-bit ones, and
    amounts in fen mostly fit (below 42.9 million yuan): those are sorted as
    ``uint32``, the others (negative or larger) as int64, and the three runs
    joined in order.  The same array as :func:`numpy.sort`.

    >>> import numpy as np
    >>> x = sort_int64(np.array([2**40, 5, -3, 0, 2**32, 7] * 20_000))
    >>> x[::20_000].tolist()
    [-3, 0, 5, 7, 4294967296, 1099511627776]
    """
    v = np.asarray(values, np.int64)
    fits = v.ndim == 1 and is_sealed(v) and peak(v) <= 0xFFFF_FFFF  # a sealed column's peak is known
    v = v.reshape(-1)
    if v.size < 65_536:
        return np.sort(v)
    small = v >= 0 if fits else (v >= 0) & (v <= 0xFFFF_FFFF)
    n_small = int(np.count_nonzero(small))
    if n_small < v.size // 2:
        return np.sort(v)
    if n_small == v.size:  # every value fits: no runs to join
        every = v.astype(np.uint32)
        every.sort()
        return every.astype(np.int64)
    low = v[small].astype(np.uint32)
    low.sort()
    rest = v[~small]
    rest.sort()
    k = int(np.searchsorted(rest, 0))  # the negative values come first
    out = np.empty(v.size, np.int64)
    out[:k] = rest[:k]
    out[k : k + n_small] = low
    out[k + n_small :] = rest[k:]
    return out


def peak(values: NDArray[np.int64], known: int | None = None) -> int:
    """The largest magnitude among int64 values (0 when there are none), once per sealed array.

    The overflow checks of the exact sums bound every partial sum by
    ``peak × count``.  For a sealed array (:func:`is_sealed`: it can never
    change) the peak is remembered, so the reports that sum the same column
    find it once; ``known`` records it for such an array when its maker
    already has it (the asset monitor takes its columns' maxima block by
    block, while each block is in cache).  ``known`` must be the exact peak.

    >>> import numpy as np
    >>> peak(np.array([3, -7, 5])), peak(np.zeros(0, np.int64))
    (7, 0)
    """
    v = np.asarray(values)
    if v.ndim == 1 and is_sealed(v):
        return memo_on(v, "peak", lambda: _peak(v) if known is None else known)
    return _peak(v) if known is None else known


def _peak(values: NDArray[np.int64]) -> int:
    return max(abs(int(values.max())), abs(int(values.min()))) if values.size else 0


def exact_group_sums(
    groups: NDArray[np.integer[Any]],
    values: NDArray[np.int64],
    n_groups: int,
    *,
    what: str,
    bound: int | None = None,
) -> NDArray[np.int64]:
    """Per-group sums of int64 values, exact; :class:`AmountOverflowError` if one overflows.

    ``groups[i]`` in ``0..n_groups-1`` is the group of ``values[i]``.  When no
    partial sum can overflow (``max|v| × len(v)`` fits int64, the usual case)
    this is one :func:`numpy.add.at`; otherwise each value is split into a high
    and a low 32-bit half whose sums cannot overflow, recombined exactly.
    ``bound``: a bound on every ``|value|`` the caller knows already (it
    must hold), instead of finding the largest.

    Examples
    --------
    >>> import numpy as np
    >>> exact_group_sums(np.array([0, 1, 0]), np.array([5, 7, -2]), 2, what="x").tolist()
    [3, 7]
    >>> exact_group_sums(np.array([0, 0, 1]), np.array([2**62, 2**62, -1]), 2, what="AUM")
    Traceback (most recent call last):
    ...
    custvalue.AmountOverflowError: AUM total of group 0 overflows int64 fen: 9223372036854775808
    """
    values = np.asarray(values, dtype=np.int64)  # the same array when it is int64 already
    # before the reshape: a sealed column's peak is found once; ``bound``: a known bound on every |value|
    top = peak(values) if bound is None else bound
    values = values.reshape(-1)
    groups = np.asarray(groups, dtype=np.intp).reshape(-1)
    out = np.zeros(n_groups, np.int64)
    if top * values.size <= INT64_MAX:
        np.add.at(out, groups, values)
        return out
    totals = [0] * n_groups
    for start in range(0, values.size, _CHUNK):
        g, v = groups[start : start + _CHUNK], values[start : start + _CHUNK]
        hi = np.zeros(n_groups, np.int64)
        lo = np.zeros(n_groups, np.int64)
        np.add.at(hi, g, v >> 32)  # |v >> 32| <= 2**31, at most 2**30 of them
        np.add.at(lo, g, v & 0xFFFFFFFF)  # < 2**32, at most 2**30 of them
        for k, (h, low) in enumerate(zip(hi.tolist(), lo.tolist(), strict=True)):
            totals[k] += (h << 32) + low
    for k, total in enumerate(totals):
        if not INT64_MIN <= total <= INT64_MAX:
            raise AmountOverflowError(f"{what} total of group {k} overflows int64 fen: {total}")
        out[k] = total
    return out


def python_sum(values: NDArray[np.int64], bound: int | None = None) -> int:
    """The exact sum of int64 values as a Python integer (any size), vectorised.

    When ``peak × count`` fits int64 (the usual case) this is one
    :func:`numpy.add.reduce`.  Otherwise the values are added in runs short
    enough that no run's sum can leave int64 (one :func:`numpy.add.reduceat`,
    a single pass), and the runs' sums in Python; when the peak is so large
    that the runs would be very short, each value's high and low 32-bit
    halves are summed apart.  ``bound``: a known bound on every ``|value|``
    (instead of finding the peak).

    >>> import numpy as np
    >>> python_sum(np.array([2**62, 2**62, 5]))
    9223372036854775813
    """
    v = np.asarray(values, dtype=np.int64)
    top = peak(v) if bound is None else bound
    v = v.reshape(-1)
    if top * v.size <= INT64_MAX:
        return int(np.add.reduce(v)) if v.size else 0
    run = INT64_MAX // top  # values per run whose sum cannot overflow
    if run >= _SHORTEST_RUN:
        return sum(np.add.reduceat(v, np.arange(0, v.size, run)).tolist())
    total = 0
    for start in range(0, v.size, _CHUNK):
        c = v[start : start + _CHUNK]
        total += (int(np.add.reduce(c >> 32)) << 32) + int(np.add.reduce(c & 0xFFFFFFFF))
    return total


#: Below this many values per run, :func:`python_sum` sums 32-bit halves instead.
_SHORTEST_RUN = 4096


def exact_sum(values: NDArray[np.int64], *, what: str) -> int:
    """The exact sum of int64 values; :class:`AmountOverflowError` when it leaves int64.

    >>> import numpy as np
    >>> exact_sum(np.array([2**62, 2**62 - 1, -5]), what="x")   # the partial sum passes 2**63
    9223372036854775802
    >>> exact_sum(np.array([2**62, 2**62, 5]), what="AUM")
    Traceback (most recent call last):
    ...
    custvalue.AmountOverflowError: AUM total overflows int64 fen: 9223372036854775813
    >>> exact_sum(np.array([2**62, -2**62, 7]), what="x")
    7
    """
    total = python_sum(values)
    if not INT64_MIN <= total <= INT64_MAX:
        raise AmountOverflowError(f"{what} total overflows int64 fen: {total}")
    return total
