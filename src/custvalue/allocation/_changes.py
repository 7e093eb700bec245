"""Writing validated changes into a book.

Each function takes a book and already-validated arguments (see
:mod:`~custvalue.allocation._validation`) and returns the new book (books
are immutable; every new column is a read-only array): the audit entry of an
operation, new customers appended to their branches, and assignments closed
and opened on the effective day (rows stay sorted by customer).

:func:`apply_change` appends to the book's change log while it is small
(:func:`~custvalue.allocation._delta.record`, O(change)); otherwise, and for
new customers, the columns are rewritten (O(book)), which is also what the
change log reads as.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from .._arrays import readonly
from ._coerce import text
from ._delta import compact, merge_sorted, record
from ._state import Book, BookState
from ._types import OPEN, AuditEntry, IdArray, ShareSpec

__all__ = ["add_rows", "apply_change", "log_only", "make_entry"]


def make_entry(
    book: BookState,
    operation: str,
    effective: _dt.date,
    operator: str,
    reason: str,
    ids: IdArray,
    *,
    branch_ids: IdArray | None = None,
    spec: ShareSpec | None = None,
) -> AuditEntry:
    """The audit entry recording an operation on ``book`` (the next ``seq``)."""
    text(operator, "operator")
    text(reason, "reason")
    primary = None
    shares: tuple[tuple[str, int], ...] = ()
    if spec is not None:
        mgr, bps, _ = spec
        names = book.manager_ids[mgr].tolist()
        primary = names[0]
        shares = tuple(zip(names, (int(b) for b in bps.tolist()), strict=True))
    return AuditEntry(
        seq=book._n_log,
        operation=operation,
        effective=effective,
        operator=operator,
        reason=reason,
        customer_ids=readonly(ids.copy()),
        branch_ids=None if branch_ids is None else readonly(branch_ids.copy()),
        primary=primary,
        shares=shares,
    )


def _logged(book: BookState, entry: AuditEntry) -> dict[str, Any]:
    """The audit-log fields of ``book`` with ``entry`` appended."""
    return {"log": book._log.append(book._n_log, entry), "n_log": book._n_log + 1}


def add_rows(
    book: Book,
    ids: IdArray,
    order: NDArray[np.intp],
    bpos: NDArray[np.intp],
    day: int,
    entry: AuditEntry,
) -> Book:
    """The book with new customers ``ids`` in branches ``bpos`` from ``day`` on.

    ``order`` is the stable sort order of ``ids``.  The columns are rewritten
    (the book is compacted first).
    """
    book = compact(book)
    n0 = book.customer_ids.size
    new_idx = np.arange(n0, n0 + ids.size, dtype=np.int64)
    all_ids = np.concatenate([book.customer_ids, ids])
    runs = np.concatenate([book._sorter, n0 + order.astype(np.int64)])
    sorter = runs[np.argsort(all_ids[runs], kind="stable")]
    b32 = bpos.astype(np.int32)
    return attrs.evolve(
        book,
        customer_ids=readonly(all_ids),
        sorter=readonly(sorter.astype(np.int64)),
        cust_branch=readonly(np.concatenate([book._cust_branch, b32])),
        cust_last=readonly(np.concatenate([book._cust_last, np.full(ids.size, day, np.int32)])),
        cust_allocated=readonly(np.concatenate([book._cust_allocated, np.zeros(ids.size, bool)])),
        sp_cust=readonly(np.concatenate([book._sp_cust, new_idx])),
        sp_branch=readonly(np.concatenate([book._sp_branch, b32])),
        sp_start=readonly(np.concatenate([book._sp_start, np.full(ids.size, day, np.int32)])),
        sp_end=readonly(np.concatenate([book._sp_end, np.full(ids.size, OPEN, np.int32)])),
        **_logged(book, entry),
    )


def _close_assignments(book: BookState, sel: NDArray[np.bool_], day: int) -> dict[str, NDArray[Any]]:
    """The assignment columns with the selected customers' open rows closed at ``day``.

    Rows that would become empty (opened on ``day``) are dropped.
    """
    end = book._as_end.copy()
    close = (end == OPEN) & sel[book._as_cust]
    end[close] = day
    keep = book._as_start < end
    return {
        "cust": book._as_cust[keep],
        "mgr": book._as_mgr[keep],
        "bp": book._as_bp[keep],
        "primary": book._as_primary[keep],
        "start": book._as_start[keep],
        "end": end[keep],
    }


def apply_change(
    book: Book,
    ci: NDArray[np.int64],
    day: int,
    entry: AuditEntry,
    *,
    spec: ShareSpec | None,
    to_branch: int | None = None,
) -> Book:
    """The book after closing the customers' open assignments at ``day`` and opening ``spec``.

    ``spec`` ``None`` leaves the customers unallocated; ``to_branch`` also
    moves them to that branch from ``day`` on.  ``entry`` is appended to the
    audit log.  The change goes to the book's change log when it fits
    (O(change)); otherwise the book is compacted and the change starts a new
    log or, if it is large, rewrites the columns.
    """
    ci = np.sort(ci)
    logged = _logged(book, entry)
    base: Book = book
    out = record(base, ci, day, spec, to_branch)
    if out is None:
        base = compact(book)
        out = record(base, ci, day, spec, to_branch)
    if out is None:
        return _rewrite(base, ci, day, logged, spec=spec, to_branch=to_branch)
    return attrs.evolve(base, delta=out[0], n_delta=out[1], **logged)


def _rewrite(
    book: Book,
    ci: NDArray[np.int64],
    day: int,
    logged: dict[str, Any],
    *,
    spec: ShareSpec | None,
    to_branch: int | None,
) -> Book:
    """:func:`apply_change` by rewriting the columns of a book without a change log."""
    n = book.customer_ids.size
    sel = np.zeros(n, np.bool_)
    sel[ci] = True
    a = _close_assignments(book, sel, day)
    allocated = book._cust_allocated.copy()
    if spec is not None:
        mgr, bps, prim = spec
        k = mgr.size
        new_cols: list[NDArray[Any]] = [
            np.tile(mgr, ci.size),
            np.tile(bps, ci.size),
            np.tile(prim, ci.size),
            np.full(ci.size * k, day, np.int32),
            np.full(ci.size * k, OPEN, np.int32),
        ]
        cust, mg, bp, pr, st, en = merge_sorted(
            a["cust"],
            np.repeat(ci, k),
            [a["mgr"], a["bp"], a["primary"], a["start"], a["end"]],
            list(new_cols),
        )
        allocated[ci] = True
    else:
        cust, mg, bp, pr, st, en = (readonly(a[c]) for c in ("cust", "mgr", "bp", "primary", "start", "end"))
        allocated[ci] = False
    last = book._cust_last.copy()
    last[ci] = day
    changes: dict[str, Any] = {
        "as_cust": cust,
        "as_mgr": mg,
        "as_bp": bp,
        "as_primary": pr,
        "as_start": st,
        "as_end": en,
        "cust_last": readonly(last),
        "cust_allocated": readonly(allocated),
        "delta": None,
        "n_delta": 0,
        **logged,
    }
    if to_branch is not None:
        send = book._sp_end.copy()
        close = (send == OPEN) & sel[book._sp_cust]
        send[close] = day
        keep = book._sp_start < send
        sc, sb, ss, se = merge_sorted(
            book._sp_cust[keep],
            ci,
            [book._sp_branch[keep], book._sp_start[keep], send[keep]],
            [
                np.full(ci.size, to_branch, np.int32),
                np.full(ci.size, day, np.int32),
                np.full(ci.size, OPEN, np.int32),
            ],
        )
        cb = book._cust_branch.copy()
        cb[ci] = to_branch
        changes.update(sp_cust=sc, sp_branch=sb, sp_start=ss, sp_end=se, cust_branch=readonly(cb))
    return attrs.evolve(book, **changes)


def log_only(book: Book, entry: AuditEntry) -> Book:
    """``book`` with ``entry`` appended to its log and nothing else changed.

    For entries of documents written by custvalue 0.1.0, which logged
    operations on an empty customer list (they changed nothing).
    """
    return attrs.evolve(book, **_logged(book, entry))
