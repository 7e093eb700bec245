"""Checks and coercions of operation arguments: ids, dates and text.

Shared by the book, its queries and attribution.  Every function raises
:class:`~custvalue.allocation.AllocationError` naming what it was checking.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
from numpy.typing import NDArray

from ._errors import AllocationError, NoChangeError

__all__ = [
    "date_of",
    "day_of",
    "empty_ids",
    "id_array",
    "operation_ids",
    "text",
]


def empty_ids() -> NDArray[np.str_]:
    """A new, empty id array."""
    return np.empty(0, dtype="<U1")


def operation_ids(values: object, operation: str) -> NDArray[np.str_]:
    """The customer ids of a book operation; an empty list is refused.

    An operation on no customers would change nothing yet be logged, and a
    log entry that names no customer cannot always be replayed (a transfer
    to no one has no target branch), so it is an error.

    >>> operation_ids([], "recall")
    Traceback (most recent call last):
    ...
    custvalue.allocation.NoChangeError: recall names no customers: nothing to do
    """
    ids = id_array(values, "customer_ids")
    if ids.size == 0:
        raise NoChangeError(f"{operation} names no customers: nothing to do")
    return ids


def id_array(values: object, what: str) -> NDArray[np.str_]:
    """Coerce ids to a 1-d unicode array; every element must be a ``str``.

    A ``str`` array is returned as is (not copied).

    >>> id_array("C1", "customer_ids").tolist(), id_array(["C1", "C2"], "customer_ids").tolist()
    (['C1'], ['C1', 'C2'])
    """
    if isinstance(values, str):
        return np.array([values])
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise AllocationError(f"{what} must be a 1-d sequence of str, got shape {arr.shape}")
    if arr.size == 0:
        return empty_ids()
    if arr.dtype.kind == "U":
        return arr
    if arr.dtype == object and all(isinstance(v, str) for v in arr.tolist()):
        return arr.astype(str)
    raise AllocationError(f"{what} must be str, got dtype {arr.dtype}")


def day_of(value: object, what: str = "effective") -> int:
    """A ``datetime.date`` (not a ``datetime``) as its proleptic ordinal."""
    if not isinstance(value, _dt.date) or isinstance(value, _dt.datetime):
        raise AllocationError(f"{what} must be a datetime.date, got {value!r}")
    return value.toordinal()


def date_of(ordinal: int) -> _dt.date:
    """Inverse of :func:`day_of`."""
    return _dt.date.fromordinal(int(ordinal))


def text(value: object, what: str) -> str:
    """``value`` itself if it is a ``str``."""
    if not isinstance(value, str):
        raise AllocationError(f"{what} must be a str, got {value!r}")
    return value
