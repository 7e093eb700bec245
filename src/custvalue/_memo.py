"""Values derived once from an immutable object and shared by the reports that read it."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_CACHE: dict[tuple[str, int], tuple[weakref.ref[Any], Any]] = {}


def memo_on(obj: Any, key: str, compute: Callable[[], T]) -> T:
    """``compute()``, remembered for as long as ``obj`` lives (keyed by ``obj``'s identity).

    Only for objects that never change (sealed arrays, frozen results) and
    values that are themselves immutable.  The entry is dropped when ``obj``
    is collected, before its identity can be reused.

    >>> import numpy as np
    >>> from custvalue._arrays import readonly
    >>> a = readonly(np.arange(3))
    >>> calls = []
    >>> f = lambda: calls.append(1) or int(a.sum())
    >>> memo_on(a, "sum", f), memo_on(a, "sum", f), len(calls)
    (3, 3, 1)
    """
    k = (key, id(obj))
    hit = _CACHE.get(k)
    if hit is not None and hit[0]() is obj:
        return hit[1]  # type: ignore[no-any-return]
    value = compute()

    def drop(_ref: Any, k: tuple[str, int] = k) -> None:
        _CACHE.pop(k, None)

    _CACHE[k] = (weakref.ref(obj, drop), value)
    return value


_PAIRS: dict[tuple[str, int, int], tuple[weakref.ref[Any], weakref.ref[Any], Any]] = {}


def memo_on_pair(a: Any, b: Any, key: str, compute: Callable[[], T]) -> T:
    """``compute()`` of two immutable objects, remembered while both live (see :func:`memo_on`).

    The entry is dropped when either object is collected.

    >>> import numpy as np
    >>> from custvalue._arrays import readonly
    >>> a, b = readonly(np.arange(3)), readonly(np.arange(2))
    >>> calls = []
    >>> f = lambda: calls.append(1) or int(a.sum() + b.sum())
    >>> [memo_on_pair(x, y, "sums", f) for x, y in ((a, b), (a, b), (b, a))], len(calls)
    ([4, 4, 4], 2)
    """
    k = (key, id(a), id(b))
    hit = _PAIRS.get(k)
    if hit is not None and hit[0]() is a and hit[1]() is b:
        return hit[2]  # type: ignore[no-any-return]
    value = compute()

    def drop(_ref: Any, k: tuple[str, int, int] = k) -> None:
        _PAIRS.pop(k, None)

    _PAIRS[k] = (weakref.ref(a, drop), weakref.ref(b, drop), value)
    return value
