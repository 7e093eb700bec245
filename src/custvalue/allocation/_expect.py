"""Readers of JSON-document fields for the ``from_dict`` methods.

Each reader returns the field if it has the expected shape and otherwise
raises :class:`~custvalue.allocation.DocumentError` naming the document path
(``$.audit[3].effective``).  Shared by the allocation book, its value types
and the sales ledger.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Set
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._coerce import empty_ids
from ._errors import DocumentError

__all__ = ["expect_date", "expect_dict", "expect_list", "expect_str", "expect_str_list"]


def expect_dict(
    data: object,
    path: str,
    required: Set[str],
    optional: Set[str] = frozenset(),
    *,
    any_keys: bool = False,
) -> dict[str, Any]:
    """An object with str keys: exactly ``required`` plus any of ``optional``.

    With ``any_keys`` only the keys being strings is checked.

    >>> expect_dict({"a": 1}, "$", {"a"}, {"b"})
    {'a': 1}
    """
    if not isinstance(data, dict):
        raise DocumentError(f"expected an object, got {type(data).__name__}", path=path)
    for k in data:
        if not isinstance(k, str):
            raise DocumentError(f"key {k!r} is not a string", path=path)
    if not any_keys:
        missing = sorted(required - data.keys())
        if missing:
            raise DocumentError(f"missing key(s) {missing}", path=path)
        extra = sorted(data.keys() - required - optional)
        if extra:
            raise DocumentError(f"unexpected key(s) {extra}", path=path)
    return data


def expect_list(data: object, path: str) -> list[Any]:
    """A list."""
    if not isinstance(data, list):
        raise DocumentError(f"expected a list, got {type(data).__name__}", path=path)
    return data


def expect_str(data: object, path: str) -> str:
    """A string."""
    if not isinstance(data, str):
        raise DocumentError(f"expected a string, got {data!r}", path=path)
    return data


def expect_str_list(data: object, path: str) -> NDArray[np.str_]:
    """A list of strings, as a new unicode array."""
    items = expect_list(data, path)
    for i, v in enumerate(items):
        expect_str(v, f"{path}[{i}]")
    return np.array(items, dtype=str) if items else empty_ids()


def expect_date(data: object, path: str) -> _dt.date:
    """An ISO date string ``YYYY-MM-DD``, as a ``datetime.date``."""
    text = expect_str(data, path)
    try:
        value = _dt.date.fromisoformat(text)
    except ValueError:
        raise DocumentError(f"expected an ISO date 'YYYY-MM-DD', got {text!r}", path=path) from None
    if value.isoformat() != text:
        raise DocumentError(f"expected an ISO date 'YYYY-MM-DD', got {text!r}", path=path)
    return value
