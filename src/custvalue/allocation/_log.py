"""Append-only storage shared by a line of immutable versions (books, ledgers).

Each immutable object holds a reference to a shared, append-only store and
the number of items it sees (a prefix).  Appending is allowed only to the
newest version, whose count equals the store's size (the *tip*): it writes
past every other version's prefix, so the rows an existing object sees never
change.  Any other version that appends gets a new store (a *fork*).  Every
store has a lock; the objects built on it never hand its buffers out.

* :class:`SharedList` — a list of Python objects (audit entries, credit
  adjustments);
* :class:`Buffer` — a growable numpy column (capacity doubles; ``str``
  columns widen when a longer string arrives);
* :class:`ChangeLog` — the change log of an allocation book (see
  :mod:`~custvalue.allocation._delta`);
* :class:`Memo` — a per-object cache of derived values (compacted columns,
  tuples of records).

They pickle (and copy) without their locks; a copy no longer shares its
store with the objects it was shared with, and a memo is copied empty.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any, Generic, TypeVar

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

__all__ = ["Buffer", "ChangeLog", "Memo", "SharedList", "locked_state", "unlocked_state"]

T = TypeVar("T")


class SharedList(Generic[T]):
    """An append-only list shared by versions that each see a prefix of it."""

    __slots__ = ("_items", "_lock")

    def __init__(self, items: Iterable[T] = ()) -> None:
        self._items: list[T] = list(items)
        self._lock = threading.Lock()

    def append(self, n: int, item: T) -> SharedList[T]:
        """The list of the first ``n`` items and ``item``: ``self`` (appended in place) or a fork."""
        with self._lock:
            if n == len(self._items):
                self._items.append(item)
                return self
            fork: SharedList[T] = SharedList(self._items[:n])
        fork._items.append(item)
        return fork

    def prefix(self, n: int) -> tuple[T, ...]:
        """The first ``n`` items."""
        with self._lock:
            return tuple(self._items[:n])

    def __getstate__(self) -> list[T]:
        with self._lock:
            return list(self._items)

    def __setstate__(self, state: list[T]) -> None:
        self._items = state
        self._lock = threading.Lock()


class Buffer:
    """A growable 1-d array: rows below the writer's position never change.

    ``data`` may be replaced by a larger array (more capacity, or a wider
    ``str`` dtype) holding the same leading rows.  Readers take the owner's
    lock and never hand ``data`` (or views of it) out.
    """

    __slots__ = ("data",)

    def __init__(self, dtype: DTypeLike, capacity: int = 0) -> None:
        self.data: NDArray[Any] = np.empty(capacity, dtype)

    def write(self, start: int, values: ArrayLike, *, own: bool = False) -> None:
        """Write ``values`` at rows ``start, start + 1, ...``, growing or widening first.

        ``own``: ``values`` is a new array nobody else holds; an empty buffer
        takes it over instead of copying it.
        """
        v = np.asarray(values)
        end = start + v.size
        data = self.data
        if own and start == 0 and data.size == 0 and v.ndim == 1 and v.flags.c_contiguous:
            if v.dtype == data.dtype or (data.dtype.kind == "U" and v.dtype.kind == "U"):
                self.data = v
                return
        dtype = data.dtype
        if dtype.kind == "U" and v.dtype.kind == "U" and v.dtype.itemsize > dtype.itemsize:
            dtype = v.dtype  # a longer string: widen (never truncate)
        if end > data.size or dtype != data.dtype:
            grown = np.empty(max(end, 2 * data.size, 16) if end > data.size else data.size, dtype)
            grown[:start] = data[:start]
            self.data = data = grown
        data[start:end] = v


class ChangeLog:
    """The change log of a line of allocation books (layout in ``_delta``).

    Operations (``op_*``: effective day, target branch or -1, and the
    operation's share specification as rows ``spec_*``) and entries, one
    per customer of an operation (``cust``, ``op``, the customer's previous
    entry ``prev`` or -1, and its branch after the operation).  ``latest``
    holds, per customer of the base columns, its newest entry plus one (0:
    none); a book that sees only the first ``L`` entries walks ``prev`` from
    there past the entries it does not see.
    """

    __slots__ = (
        "cust",
        "entry_branch",
        "latest",
        "lock",
        "n_ops",
        "n_spec",
        "op",
        "op_day",
        "op_k",
        "op_lo",
        "op_to",
        "prev",
        "size",
        "spec_bp",
        "spec_mgr",
        "spec_primary",
        "weight",
    )

    def __init__(self, n_customers: int) -> None:
        self.lock = threading.Lock()
        self.size = 0  # entries
        self.n_ops = 0
        self.n_spec = 0
        self.weight = 0  # entries + the assignment rows they open
        self.cust = Buffer(np.int64)
        self.op = Buffer(np.int32)
        self.prev = Buffer(np.int32)
        self.entry_branch = Buffer(np.int32)
        self.op_day = Buffer(np.int32)
        self.op_to = Buffer(np.int32)
        self.op_lo = Buffer(np.int64)
        self.op_k = Buffer(np.int32)
        self.spec_mgr = Buffer(np.int32)
        self.spec_bp = Buffer(np.int16)
        self.spec_primary = Buffer(np.bool_)
        # zeros: pages are only touched for customers that get an entry
        self.latest: NDArray[np.int32] = np.zeros(n_customers, np.int32)

    def __getstate__(self) -> dict[str, Any]:
        return locked_state(self)

    def __setstate__(self, state: dict[str, Any]) -> None:
        unlocked_state(self, state)


class Memo:
    """Mutable cache of values derived from one immutable object.

    Values are computed under ``lock`` (so two threads never both compute
    the same expensive value) and never change once set.
    """

    __slots__ = ("audit", "compacted", "lock", "values")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.compacted: Any = None
        self.audit: Any = None
        self.values: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {}  # a copy starts with an empty cache

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]


def locked_state(obj: Any) -> dict[str, Any]:
    """The slots of an object guarded by its ``lock`` slot, for pickling (the lock left out)."""
    with obj.lock:
        return {name: getattr(obj, name) for name in obj.__slots__ if name != "lock"}


def unlocked_state(obj: Any, state: dict[str, Any]) -> None:
    """Inverse of :func:`locked_state`: the slots, and a new lock."""
    for name, value in state.items():
        setattr(obj, name, value)
    obj.lock = threading.Lock()
