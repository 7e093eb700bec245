"""A book's change log: operations in O(change), folded into base columns in batches.

A book (:class:`~custvalue.allocation._state.BookState`) is its immutable
*base* columns plus the first ``_n_delta`` entries of a shared, append-only
:class:`~custvalue.allocation._log.ChangeLog`.  An operation on ``k``
customers appends one operation record (effective day, target branch, the
share specification) and ``k`` entries (customer, operation, the customer's
previous entry, its branch afterwards); it copies nothing of the book.

The log is read as if every operation had been written into the columns the
way :func:`~custvalue.allocation._changes.apply_change` writes them: each
operation on a customer closes the customer's open assignment rows on its
effective day and opens the rows of its specification; a transfer also
closes the open branch spell and opens one at the target branch.  Hence

* the base rows of a customer that has entries end, if they were open, on
  the day of its first entry (its branch spell on its first transfer);
* the rows opened by an entry end on the day of the customer's next entry
  (``OPEN`` if there is none), its spell on the next transfer's day;
* rows that would end the day they start are dropped; a customer's rows are
  its base rows, then its entries' rows oldest first.

:func:`compact` builds exactly those columns (vectorised, cached per book),
the same arrays the operations would have written one at a time.  Per-
customer reads (:func:`customer_state`, :func:`customer_rows`,
:func:`customer_spells`) follow the customer's chain of entries from
``latest`` without compacting.  :func:`record` appends an operation while
the log stays below :func:`limit` (a fraction of the base, so compaction,
linear in the book, happens after a number of changes proportional to the
book: O(1) amortised per changed customer).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import attrs
import numpy as np
from numpy.typing import NDArray

from .._arrays import readonly
from ._log import ChangeLog
from ._state import Book, BookState
from ._types import OPEN, ShareSpec

__all__ = [
    "Rows",
    "Spells",
    "compact",
    "customer_rows",
    "customer_spells",
    "customer_state",
    "has_changes",
    "limit",
    "merge_sorted",
    "record",
]

#: The change log is compacted once it would hold more than
#: ``max(_MIN_COMPACT, _COMPACT_FRACTION * (customers + assignment rows))``
#: entries plus the rows they open.  Tests set both to 0 (every operation
#: rewrites the columns, the behaviour before change logs) or to small values.
_MIN_COMPACT = 1024
_COMPACT_FRACTION = 0.125
#: Entry positions are int32.
_MAX_LOG = 2**31 - 2**20


class Rows(NamedTuple):
    """Assignment rows of one customer, in storage order."""

    mgr: NDArray[np.int32]
    bp: NDArray[np.int16]
    primary: NDArray[np.bool_]
    start: NDArray[np.int32]
    end: NDArray[np.int32]


class Spells(NamedTuple):
    """Branch spells of one customer, in storage order."""

    branch: NDArray[np.int32]
    start: NDArray[np.int32]
    end: NDArray[np.int32]


def has_changes(book: BookState) -> bool:
    """Whether the book sees entries of a change log (else its base columns are the book)."""
    return book._delta is not None and book._n_delta > 0


def limit(book: BookState) -> int:
    """The largest weight (entries + rows they open) of a log on ``book``'s base."""
    base = book.customer_ids.size + book._as_cust.size
    return min(max(_MIN_COMPACT, int(base * _COMPACT_FRACTION)), _MAX_LOG)


# --------------------------------------------------------------------------- reading


def _visible(log: ChangeLog, n: int, idx: NDArray[np.int64]) -> NDArray[np.int64]:
    """The newest entry among the first ``n`` of each customer ``idx`` (-1: none); under the lock."""
    p = log.latest[idx].astype(np.int64)
    p -= 1
    prev = log.prev.data
    stale = p >= n
    while stale.any():  # entries of later books on the same log
        p[stale] = prev[p[stale]]
        stale = p >= n
    return p


def customer_state(
    book: BookState, idx: NDArray[np.int64]
) -> tuple[NDArray[np.int32], NDArray[np.bool_], NDArray[np.int32]]:
    """Latest change day, allocated flag and current branch of customers ``idx`` (new arrays)."""
    last = book._cust_last[idx]
    allocated = book._cust_allocated[idx]
    branch = book._cust_branch[idx]
    log = book._delta
    if log is None or book._n_delta == 0 or idx.size == 0:
        return last, allocated, branch
    with log.lock:
        p = _visible(log, book._n_delta, idx)
        hit = np.flatnonzero(p >= 0)
        if hit.size:
            ph = p[hit]
            op = log.op.data[ph]
            last[hit] = log.op_day.data[op]
            allocated[hit] = log.op_k.data[op] > 0
            branch[hit] = log.entry_branch.data[ph]
    return last, allocated, branch


def _chain(log: ChangeLog, n: int, ci: int) -> NDArray[np.int64]:
    """Positions of customer ``ci``'s entries among the first ``n``, oldest first; under the lock."""
    p = int(_visible(log, n, np.array([ci], np.int64))[0])
    prev = log.prev.data
    out: list[int] = []
    while p >= 0:
        out.append(p)
        p = int(prev[p])
    out.reverse()
    return np.array(out, np.int64)


def _entry_rows(
    entries: NDArray[np.int64],
    k: NDArray[np.int32],
    lo: NDArray[np.int64],
    start: NDArray[np.int32],
    end: NDArray[np.int32],
    spec: Sequence[NDArray[Any]],
) -> tuple[NDArray[np.intp], list[NDArray[Any]], NDArray[np.int32], NDArray[np.int32]]:
    """The assignment rows opened by entries (each: ``k`` rows of its specification from ``lo``).

    Returns, for the rows kept (``start < end``), the entry (index into the
    arguments) of each, the specification columns, start and end.
    """
    rep = np.repeat(np.arange(entries.size), k)
    offsets = np.arange(rep.size, dtype=np.int64) - np.repeat(np.cumsum(k, dtype=np.int64) - k, k)
    sidx = lo[rep] + offsets
    s, e = start[rep], end[rep]
    keep = np.flatnonzero(s < e)
    return rep[keep], [col[sidx[keep]] for col in spec], s[keep], e[keep]


def customer_rows(book: BookState, ci: int) -> Rows:
    """Customer ``ci``'s assignment rows as the compacted book stores them."""
    lo, hi = (int(x) for x in np.searchsorted(book._as_cust, [ci, ci + 1]))
    rows = Rows(
        book._as_mgr[lo:hi],
        book._as_bp[lo:hi],
        book._as_primary[lo:hi],
        book._as_start[lo:hi],
        book._as_end[lo:hi],
    )
    log = book._delta
    if log is None or book._n_delta == 0:
        return rows
    with log.lock:
        pos = _chain(log, book._n_delta, ci)
        if pos.size == 0:
            return rows
        op = log.op.data[pos]
        day = log.op_day.data[op]
        k = log.op_k.data[op]
        op_lo = log.op_lo.data[op]
        spec = (log.spec_mgr.data, log.spec_bp.data, log.spec_primary.data)
        nxt = np.append(day[1:], np.int32(OPEN)).astype(np.int32)
        _, (mgr, bp, primary), start, end = _entry_rows(pos, k, op_lo, day, nxt, spec)
    base_end = np.where(rows.end == OPEN, day[0], rows.end).astype(np.int32)
    keep = rows.start < base_end
    return Rows(
        np.concatenate([rows.mgr[keep], mgr]),
        np.concatenate([rows.bp[keep], bp]),
        np.concatenate([rows.primary[keep], primary]),
        np.concatenate([rows.start[keep], start]),
        np.concatenate([base_end[keep], end]),
    )


def customer_spells(book: BookState, ci: int) -> Spells:
    """Customer ``ci``'s branch spells as the compacted book stores them."""
    lo, hi = (int(x) for x in np.searchsorted(book._sp_cust, [ci, ci + 1]))
    spells = Spells(book._sp_branch[lo:hi], book._sp_start[lo:hi], book._sp_end[lo:hi])
    log = book._delta
    if log is None or book._n_delta == 0:
        return spells
    with log.lock:
        pos = _chain(log, book._n_delta, ci)
        op = log.op.data[pos]
        to = log.op_to.data[op]
        moves = to >= 0
        day = log.op_day.data[op[moves]]
        to = to[moves]
    if day.size == 0:
        return spells
    nxt = np.append(day[1:], np.int32(OPEN)).astype(np.int32)
    base_end = np.where(spells.end == OPEN, day[0], spells.end).astype(np.int32)
    keep = spells.start < base_end
    new = day < nxt
    return Spells(
        np.concatenate([spells.branch[keep], to[new]]),
        np.concatenate([spells.start[keep], day[new]]),
        np.concatenate([base_end[keep], nxt[new]]),
    )


# --------------------------------------------------------------------------- compaction


def merge_sorted(
    old_key: NDArray[np.int64],
    new_key: NDArray[np.int64],
    old_cols: Sequence[NDArray[Any]],
    new_cols: Sequence[NDArray[Any]],
) -> list[NDArray[Any]]:
    """Merge new rows into rows sorted by ``key``; new rows go after equal keys, in order."""
    pos = np.searchsorted(old_key, new_key, side="right")
    out = [np.insert(old_key, pos, new_key)]
    out.extend(np.insert(o, pos, n) for o, n in zip(old_cols, new_cols, strict=True))
    return [readonly(a) for a in out]


def compact(book: Book) -> Book:
    """``book`` with its change log folded into fresh base columns (cached; no log: ``book``)."""
    if not has_changes(book):
        return book
    memo = book._memo
    with memo.lock:
        if memo.compacted is None:
            memo.compacted = _compact(book)
        out: Book = memo.compacted
    return out


def _groups(key: NDArray[np.int64]) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """For a sorted ``key``: whether each position starts, and whether it ends, its run."""
    head = np.ones(key.size, np.bool_)
    np.not_equal(key[1:], key[:-1], out=head[1:])
    tail = np.ones(key.size, np.bool_)
    tail[:-1] = head[1:]
    return head, tail


def _next_day(day: NDArray[np.int32], head: NDArray[np.bool_]) -> NDArray[np.int32]:
    """Per position of runs: the day of the next position in the same run, else ``OPEN``."""
    nxt = np.full(day.size, OPEN, np.int32)
    same = ~head[1:]
    nxt[:-1][same] = day[1:][same]
    return nxt


def _compact(book: Book) -> Book:
    log = book._delta
    assert log is not None
    n_entries = book._n_delta
    n = book.customer_ids.size
    with log.lock:
        cust = log.cust.data[:n_entries].copy()
        op = log.op.data[:n_entries].copy()
        branch = log.entry_branch.data[:n_entries].copy()
        n_ops = int(op.max()) + 1
        op_day = log.op_day.data[:n_ops].copy()
        op_to = log.op_to.data[:n_ops].copy()
        op_lo = log.op_lo.data[:n_ops].copy()
        op_k = log.op_k.data[:n_ops].copy()
        n_spec = int(op_lo[-1]) + int(op_k[-1])
        spec = (
            log.spec_mgr.data[:n_spec].copy(),
            log.spec_bp.data[:n_spec].copy(),
            log.spec_primary.data[:n_spec].copy(),
        )
    day, to, k = op_day[op], op_to[op], op_k[op]

    # Entries by customer, oldest first within a customer.
    order = np.argsort(cust, kind="stable")
    cs = cust[order]
    head, tail = _groups(cs)
    ds = day[order]
    first_day = np.full(n, OPEN, np.int32)
    first_day[cs[head]] = ds[head]

    last_e = order[tail]
    lc = cust[last_e]
    cust_last = book._cust_last.copy()
    cust_last[lc] = day[last_e]
    allocated = book._cust_allocated.copy()
    allocated[lc] = k[last_e] > 0
    cust_branch = book._cust_branch.copy()
    cust_branch[lc] = branch[last_e]

    # Assignments: open base rows of changed customers end on their first entry.
    end = book._as_end.copy()
    is_open = np.flatnonzero(end == OPEN)
    end[is_open] = first_day[book._as_cust[is_open]]
    keep = np.flatnonzero(book._as_start < end)
    ent, (mgr, bp, primary), start, new_end = _entry_rows(
        order, k[order], op_lo[op[order]], ds, _next_day(ds, head), spec
    )
    a_cust, a_mgr, a_bp, a_primary, a_start, a_end = merge_sorted(
        book._as_cust[keep],
        cs[ent],
        [book._as_mgr[keep], book._as_bp[keep], book._as_primary[keep], book._as_start[keep], end[keep]],
        [mgr, bp, primary, start, new_end],
    )

    # Branch spells: open base spells of moved customers end on their first transfer.
    t = order[to[order] >= 0]
    changes: dict[str, Any] = {}
    if t.size:
        tc, td = cust[t], day[t]
        t_head, _ = _groups(tc)
        first_move = np.full(n, OPEN, np.int32)
        first_move[tc[t_head]] = td[t_head]
        s_end = book._sp_end.copy()
        is_open = np.flatnonzero(s_end == OPEN)
        s_end[is_open] = first_move[book._sp_cust[is_open]]
        s_keep = np.flatnonzero(book._sp_start < s_end)
        t_end = _next_day(td, t_head)
        new = np.flatnonzero(td < t_end)
        s_cust, s_branch, s_start, s_stop = merge_sorted(
            book._sp_cust[s_keep],
            tc[new],
            [book._sp_branch[s_keep], book._sp_start[s_keep], s_end[s_keep]],
            [to[t][new], td[new], t_end[new]],
        )
        changes.update(sp_cust=s_cust, sp_branch=s_branch, sp_start=s_start, sp_end=s_stop)
    return attrs.evolve(
        book,
        cust_last=readonly(cust_last),
        cust_allocated=readonly(allocated),
        cust_branch=readonly(cust_branch),
        as_cust=a_cust,
        as_mgr=a_mgr,
        as_bp=a_bp,
        as_primary=a_primary,
        as_start=a_start,
        as_end=a_end,
        delta=None,
        n_delta=0,
        **changes,
    )


# --------------------------------------------------------------------------- writing


def record(
    book: BookState,
    ci: NDArray[np.int64],
    day: int,
    spec: ShareSpec | None,
    to_branch: int | None,
) -> tuple[ChangeLog, int] | None:
    """Append a validated change of customers ``ci`` to ``book``'s change log.

    Returns the log and its new size, or ``None`` when the book is not the
    newest of its log (another book already appended to it) or the log would
    pass :func:`limit`: the caller then compacts the book first (a compacted
    book starts a new log) or rewrites its columns.
    """
    k = int(ci.size)
    k_spec = 0 if spec is None else int(spec[0].size)
    weight = k * (1 + k_spec)
    cap = limit(book)
    if weight > cap:
        return None
    if to_branch is None:
        branch = customer_state(book, ci)[2]
    else:
        branch = np.full(k, to_branch, np.int32)
    log = book._delta
    if log is None or book._n_delta == 0:  # a compacted book starts a new log
        log = ChangeLog(book.customer_ids.size)
    with log.lock:
        if log.size != book._n_delta or log.weight + weight > cap:
            return None
        o, s, lo = log.n_ops, log.size, log.n_spec
        if spec is not None:
            log.spec_mgr.write(lo, spec[0])
            log.spec_bp.write(lo, spec[1])
            log.spec_primary.write(lo, spec[2])
        log.op_day.write(o, np.array([day], np.int32))
        log.op_to.write(o, np.array([-1 if to_branch is None else to_branch], np.int32))
        log.op_lo.write(o, np.array([lo], np.int64))
        log.op_k.write(o, np.array([k_spec], np.int32))
        log.cust.write(s, ci)
        log.op.write(s, np.full(k, o, np.int32))
        log.prev.write(s, log.latest[ci] - 1)
        log.entry_branch.write(s, branch)
        # Last: only now can any book reach the new entries (through ``latest``).
        log.latest[ci] = np.arange(s + 1, s + k + 1, dtype=np.int32)
        log.size = s + k
        log.n_ops = o + 1
        log.n_spec = lo + k_spec
        log.weight += weight
        return log, log.size
