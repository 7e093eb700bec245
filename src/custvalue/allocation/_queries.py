"""Read-only queries of an allocation book (分配客户查询).

Index lookups (customer, manager and branch ids to their numbers), the rows
in force on a day, and the implementations of the book's query methods
(:meth:`~custvalue.allocation.AllocationBook.branch_of`, ``shares_of``,
``customers_of``, ``unallocated``, ``history``).  Nothing here builds a new
book; the book's storage layout is described in its module,
:mod:`custvalue.allocation._book`.  Queries of one customer read its rows
through the change log (:mod:`~custvalue.allocation._delta`); queries of
whole columns read the compacted book (compacted once, then cached).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._arrays import is_sealed, readonly
from .._ids import packed_keys, search_sorted
from .._memo import memo_on_pair
from ._coerce import day_of, text
from ._delta import compact, customer_rows, customer_spells, has_changes
from ._errors import UnknownBranchError, UnknownCustomerError, UnknownManagerError
from ._state import BookState
from ._types import OPEN, AuditEntry, CustomerAllocation, IdArray, ManagerCustomers, PrimaryManagers

__all__ = [
    "active",
    "branch_index",
    "branch_of",
    "customer_index",
    "customers_of",
    "history",
    "lookup",
    "manager_index",
    "open_shares",
    "present",
    "primary_managers",
    "shares_of",
    "unallocated",
]


# --------------------------------------------------------------------------- lookups


def lookup(book: BookState, ids: IdArray) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Customer index of each id and whether it is in the book (index 0 if not)."""
    n = book.customer_ids.size
    if n == 0 or ids.size == 0:
        return np.zeros(ids.size, np.int64), np.zeros(ids.size, np.bool_)
    if ids.size >= _PACKED_QUERY:  # many ids: packed integer keys, the queried ids searched in order
        packed = _book_keys(book)
        wanted = packed_keys(ids) if packed is not None else None
        if packed is not None and wanted is not None:
            keys, in_order = packed
            rows = search_sorted(in_order, book._sorter, wanted)
            return rows.astype(np.int64), np.asarray(keys[rows] == wanted, dtype=np.bool_)
    pos = np.searchsorted(book.customer_ids, ids, sorter=book._sorter)
    np.minimum(pos, n - 1, out=pos)
    idx = book._sorter[pos]
    found = book.customer_ids[idx] == ids
    return idx.astype(np.int64), np.asarray(found, dtype=np.bool_)


def _book_keys(book: BookState) -> tuple[NDArray[np.uint64], NDArray[np.uint64]] | None:
    """The book's packed customer keys and the same in sorted order (``None``: ids that do not pack).

    Packed once per book: remembered on the sealed ids and their sorter.
    """
    ids, sorter = book.customer_ids, book._sorter

    def pack() -> tuple[NDArray[np.uint64], NDArray[np.uint64]] | None:
        keys = packed_keys(ids)
        return None if keys is None else (readonly(keys), readonly(keys[sorter]))

    if is_sealed(ids) and is_sealed(sorter):
        return memo_on_pair(ids, sorter, "packed book keys", pack)
    return pack()


#: From this many queried ids on, :func:`lookup` packs the book's ids into integer keys (a pass over
#: the book that a few ids do not repay).
_PACKED_QUERY = 4096


def customer_index(book: BookState, customer_id: str, effective: _dt.date | None = None) -> int:
    """Index of a customer; :class:`UnknownCustomerError` if it is not in the book."""
    text(customer_id, "customer id")
    idx, found = lookup(book, np.array([customer_id]))
    if not found[0]:
        raise UnknownCustomerError(
            "customer is not in the book", customer_id=customer_id, effective=effective
        )
    return int(idx[0])


def manager_index(
    book: BookState,
    manager_id: str,
    customer_id: str | None = None,
    effective: _dt.date | None = None,
) -> int:
    """Index of a registered manager; :class:`UnknownManagerError` otherwise."""
    text(manager_id, "manager id")
    pos = int(np.searchsorted(book.manager_ids, manager_id))
    if pos >= book.manager_ids.size or book.manager_ids[pos] != manager_id:
        raise UnknownManagerError(
            "manager is not in the manager registry",
            manager_id=manager_id,
            customer_id=customer_id,
            effective=effective,
        )
    return pos


def branch_index(book: BookState, branch_id: str, customer_id: str | None = None) -> int:
    """Index of a registered branch; :class:`UnknownBranchError` otherwise."""
    text(branch_id, "branch id")
    pos = int(np.searchsorted(book.branch_ids, branch_id))
    if pos >= book.branch_ids.size or book.branch_ids[pos] != branch_id:
        raise UnknownBranchError(
            "branch is not in the branch registry", branch_id=branch_id, customer_id=customer_id
        )
    return pos


# --------------------------------------------------------------------------- the rows of a day


def present(book: BookState, day: int) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
    """Customers in the book on ``day`` and their branch (by customer index).

    ``book`` is compacted (:func:`~custvalue.allocation._delta.compact`).
    """
    assert not has_changes(book)
    m = (book._sp_start <= day) & (book._sp_end > day)
    return book._sp_cust[m], book._sp_branch[m]


def active(book: BookState, day: int) -> NDArray[np.intp]:
    """Row numbers of the assignments in force on ``day`` (sorted by customer).

    ``book`` is compacted (:func:`~custvalue.allocation._delta.compact`).
    """
    assert not has_changes(book)
    return np.flatnonzero((book._as_start <= day) & (book._as_end > day))


def open_shares(book: BookState, ci: int) -> tuple[str, dict[str, int]]:
    """Primary and ``{manager_id: bp}`` of the open assignment of allocated customer ``ci``."""
    rows = customer_rows(book, ci)
    is_open = rows.end == OPEN
    mgr = rows.mgr[is_open]
    shares = {
        str(book.manager_ids[m]): int(b) for m, b in zip(mgr.tolist(), rows.bp[is_open].tolist(), strict=True)
    }
    return str(book.manager_ids[mgr[rows.primary[is_open]][0]]), shares


# --------------------------------------------------------------------------- queries


def branch_of(book: BookState, customer_id: str, as_of: _dt.date) -> str:
    """See :meth:`AllocationBook.branch_of`."""
    day = day_of(as_of, "as_of")
    ci = customer_index(book, customer_id, as_of)
    spells = customer_spells(book, ci)
    rows = np.flatnonzero((spells.start <= day) & (spells.end > day))
    if rows.size == 0:
        raise UnknownCustomerError(
            "customer is not in the book on this date", customer_id=customer_id, effective=as_of
        )
    return str(book.branch_ids[spells.branch[rows[0]]])


def shares_of(book: BookState, customer_id: str, as_of: _dt.date) -> CustomerAllocation:
    """See :meth:`AllocationBook.shares_of`."""
    day = day_of(as_of, "as_of")
    branch = branch_of(book, customer_id, as_of)
    ci = customer_index(book, customer_id, as_of)
    cr = customer_rows(book, ci)
    rows = np.flatnonzero((cr.start <= day) & (cr.end > day))
    if rows.size == 0:
        return CustomerAllocation(customer_id, as_of, branch, None, ())
    names = book.manager_ids[cr.mgr[rows]].tolist()
    bps = cr.bp[rows].tolist()
    prim = cr.primary[rows].tolist()
    pairs = sorted(zip(prim, names, bps, strict=True), key=lambda t: (not t[0], t[1]))
    return CustomerAllocation(
        customer_id,
        as_of,
        branch,
        pairs[0][1],
        tuple((n, int(b)) for _, n, b in pairs),
    )


def _rows_at(
    key: NDArray[np.int64],
    start: NDArray[np.int32],
    end: NDArray[np.int32],
    ci: NDArray[np.int64],
    day: NDArray[np.int64],
    ask: NDArray[np.bool_],
    want: NDArray[np.bool_] | None = None,
) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
    """For each query (customer ``ci``, ``day``) where ``ask``: its row in force on ``day``.

    Rows are sorted by customer (``key``); ``want`` keeps only some rows (the
    primary assignments).  Returns the row and whether there is one.  Loops
    over a customer's k-th row, vectorised over the queries.
    """
    lo = np.searchsorted(key, ci, side="left")
    hi = np.searchsorted(key, ci, side="right")
    row = np.zeros(ci.shape[0], np.intp)
    found = np.zeros(ci.shape[0], np.bool_)
    for k in range(int((hi - lo).max()) if ci.size else 0):
        r = lo + k
        live = ask & (r < hi)
        rr = np.where(live, r, 0)
        hit = live & (start[rr] <= day) & (end[rr] > day)
        if want is not None:
            hit &= want[rr]
        row[hit] = rr[hit]
        found |= hit
    return row, found


def primary_managers(book: BookState, ids: IdArray, days: NDArray[np.int64]) -> PrimaryManagers:
    """See :meth:`AllocationBook.primary_managers` (``days``: proleptic ordinals, one per id)."""
    ci, known = lookup(compact(book), ids)
    return primary_managers_at(book, ids, ci, known, days)


def primary_managers_at(
    book: BookState,
    ids: IdArray,
    rows: NDArray[np.integer[Any]],
    known: NDArray[np.bool_],
    days: NDArray[np.int64],
) -> PrimaryManagers:
    """:func:`primary_managers` of ids whose rows in ``book.customer_ids`` are known already.

    ``rows``: each id's row (any value where ``known`` is false).  For a
    caller that has mapped its customers onto the book once (the report
    set).  Compaction keeps the customer order, so the rows hold for the
    compacted book.
    """
    book = compact(book)
    n = ids.shape[0]
    ci = np.asarray(rows, np.int64)
    sp, in_book = _rows_at(book._sp_cust, book._sp_start, book._sp_end, ci, days, known)
    asg, allocated = _rows_at(
        book._as_cust, book._as_start, book._as_end, ci, days, in_book, book._as_primary
    )
    branch = np.full(n, "", dtype=book.branch_ids.dtype if book.branch_ids.size else "<U1")
    branch[in_book] = book.branch_ids[book._sp_branch[sp[in_book]]]
    primary = np.full(n, "", dtype=book.manager_ids.dtype if book.manager_ids.size else "<U1")
    primary[allocated] = book.manager_ids[book._as_mgr[asg[allocated]]]
    return PrimaryManagers(
        customer_ids=readonly(np.array(ids)),
        as_of=readonly((days - _EPOCH).astype("datetime64[D]")),
        branch_ids=readonly(branch),
        primary=readonly(primary),
        in_book=readonly(in_book),
    )


#: ``date.toordinal()`` of 1970-01-01: ordinals to ``datetime64[D]``.
_EPOCH = _dt.date(1970, 1, 1).toordinal()


def customers_of(book: BookState, manager_id: str, as_of: _dt.date) -> ManagerCustomers:
    """See :meth:`AllocationBook.customers_of`."""
    day = day_of(as_of, "as_of")
    m = manager_index(book, manager_id)
    book = compact(book)
    rows = active(book, day)
    rows = rows[book._as_mgr[rows] == m]
    ids = book.customer_ids[book._as_cust[rows]]
    order = np.argsort(ids, kind="stable")
    return ManagerCustomers(
        manager_id=manager_id,
        branch_id=str(book.branch_ids[book.manager_branch[m]]),
        as_of=as_of,
        customer_ids=readonly(ids[order]),
        shares_bp=readonly(book._as_bp[rows][order].astype(np.int64)),
        is_primary=readonly(book._as_primary[rows][order]),
    )


def unallocated(book: BookState, branch_id: str, as_of: _dt.date) -> IdArray:
    """See :meth:`AllocationBook.unallocated`."""
    day = day_of(as_of, "as_of")
    b = branch_index(book, branch_id)
    book = compact(book)
    cust, branch = present(book, day)
    allocated = np.zeros(book.customer_ids.size, np.bool_)
    allocated[book._as_cust[active(book, day)]] = True
    pick = cust[(branch == b) & ~allocated[cust]]
    return readonly(np.sort(book.customer_ids[pick]))


def history(book: BookState, customer_id: str) -> tuple[AuditEntry, ...]:
    """See :meth:`AllocationBook.history`."""
    customer_index(book, customer_id)
    return tuple(e for e in book.audit if bool(np.any(e.customer_ids == customer_id)))
