"""Helpers for tests of allocation books with change logs (imported by the test modules)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from custvalue.allocation import AllocationBook, UnknownCustomerError, _delta

#: The array fields of a book's state, in a fixed order.
COLUMNS = (
    "customer_ids",
    "branch_ids",
    "manager_ids",
    "manager_branch",
    "_sorter",
    "_cust_branch",
    "_cust_last",
    "_cust_allocated",
    "_sp_cust",
    "_sp_branch",
    "_sp_start",
    "_sp_end",
    "_as_cust",
    "_as_mgr",
    "_as_bp",
    "_as_primary",
    "_as_start",
    "_as_end",
)


@contextlib.contextmanager
def compaction(min_size: int, fraction: float = 0.0) -> Iterator[None]:
    """Set the change-log limit to ``max(min_size, fraction * book)`` (0, 0: rewrite on every edit)."""
    old = (_delta._MIN_COMPACT, _delta._COMPACT_FRACTION)
    _delta._MIN_COMPACT, _delta._COMPACT_FRACTION = min_size, fraction
    try:
        yield
    finally:
        _delta._MIN_COMPACT, _delta._COMPACT_FRACTION = old


def columns(book: AllocationBook) -> dict[str, tuple[str, list[Any]]]:
    """The book's columns with its change log folded in, compacted afresh (not the cached compaction).

    Values and dtypes: equal columns mean identical query results.
    """
    state = _delta._compact(book) if _delta.has_changes(book) else book
    return {name: (_dtype(getattr(state, name)), getattr(state, name).tolist()) for name in COLUMNS}


def _dtype(arr: np.ndarray) -> str:
    """The dtype, with the width of ``str`` arrays left out (it follows the caller's input)."""
    return "str" if arr.dtype.kind == "U" else arr.dtype.str


def arrays(book: AllocationBook) -> list[np.ndarray]:
    """Every array field of the book's state."""
    return [getattr(book, name) for name in COLUMNS]


def storage(book: AllocationBook) -> tuple[int, int | None, int | None]:
    """Sizes of the logs the book shares: audit entries, change-log entries and operations."""
    log = book._delta
    return len(book._log._items), None if log is None else log.size, None if log is None else log.n_ops


def fingerprint(book: AllocationBook, days: Sequence[int]) -> dict[str, Any]:
    """What the book answers, through the per-customer queries (no compaction)."""
    answers: dict[str, Any] = {"days": tuple(days), "doc": book.to_dict(), "len": len(book)}
    for c in book.customer_ids.tolist():
        answers[f"history {c}"] = [e.to_dict() for e in book.history(c)]
        for d in days:
            day = dt.date.fromordinal(d)
            try:
                got = book.shares_of(c, day)
            except UnknownCustomerError:
                answers[f"{c} {d}"] = None
                continue
            answers[f"{c} {d}"] = (got.branch_id, got.primary, got.shares, book.branch_of(c, day))
    return answers


def replay(book: AllocationBook) -> AllocationBook:
    """The same book rebuilt from its document, rewriting the columns on every edit."""
    with compaction(0):
        return AllocationBook.from_dict(book.to_dict())
