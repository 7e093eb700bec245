"""Validation of book operations against the book (all-or-nothing checks).

Manager registries, share specifications (managers, basis points summing to
100%, the primary), tiers against the policy, and vectorised per-customer
checks (known, unique, not back-dated, in the right state, same branch as
its managers).  Checks collect ``(position, error)`` problems;
:func:`raise_problems` raises the first for a single customer or all of them
as a :class:`~custvalue.allocation.BatchAllocationError`.  Nothing here
changes a book.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from typing import Any, Literal, TypeAlias

import numpy as np
from numpy.typing import NDArray

from ._coerce import date_of, id_array, text
from ._delta import customer_state
from ._errors import (
    AllocationError,
    AlreadyAllocatedError,
    BackdatedOperationError,
    BatchAllocationError,
    CrossBranchError,
    DuplicateCustomerError,
    DuplicateManagerError,
    IneligibleTierError,
    InvalidShareError,
    NoChangeError,
    NotAllocatedError,
    PrimaryManagerError,
    ShareSumError,
    UnknownBranchError,
    UnknownCustomerError,
    UnknownTierError,
)
from ._queries import lookup, manager_index
from ._shares import BP_WHOLE, SharesLike, parse_share
from ._state import BookState
from ._types import IdArray, ShareSpec

__all__ = [
    "Problems",
    "check_customers",
    "check_new_customers",
    "check_registry",
    "parse_spec",
    "raise_problems",
    "tier_ranks",
]

#: ``(position in the operation's ids, error)`` pairs, sorted by position.
Problems: TypeAlias = list[tuple[int, AllocationError]]


# --------------------------------------------------------------------------- registries


def check_registry(managers: Mapping[str, str], branches: Iterable[str] | None) -> set[str]:
    """Check a manager registry ``{manager_id: branch_id}``; return the branch ids.

    ``branches`` defaults to the managers' branches and must contain them all.
    """
    if not isinstance(managers, Mapping):
        raise AllocationError("managers must be a mapping manager_id -> branch_id")
    for m, b in managers.items():
        text(m, "manager id")
        text(b, f"branch of manager {m!r}")
    branch_set = set(managers.values()) if branches is None else set(branches)
    for b in branch_set:
        text(b, "branch id")
    for m, b in managers.items():
        if b not in branch_set:
            raise UnknownBranchError(
                f"manager's branch {b!r} is not in the branch registry",
                manager_id=m,
                branch_id=b,
            )
    return branch_set


# --------------------------------------------------------------------------- specifications


def parse_spec(
    book: BookState,
    primary: str,
    shares: SharesLike | None,
    *,
    customer_id: str | None,
    effective: _dt.date,
) -> ShareSpec:
    """Validate a manager/share specification; primary first, then by id."""
    text(primary, "primary manager id")
    ctx: dict[str, Any] = {"customer_id": customer_id, "effective": effective}
    items: list[tuple[object, object]]
    if shares is None:
        items = [(primary, BP_WHOLE)]
    elif isinstance(shares, Mapping):
        items = list(shares.items())
    elif isinstance(shares, str | bytes):
        raise AllocationError("shares must be a mapping or a sequence of pairs", **ctx)
    else:
        items = []
        for pair in shares:
            if not isinstance(pair, tuple | list) or len(pair) != 2:
                raise AllocationError(f"shares entry {pair!r} is not a (manager_id, share) pair", **ctx)
            items.append((pair[0], pair[1]))
    if not items:
        raise ShareSumError("no managers given", **ctx)
    seen: dict[str, int] = {}
    for mid, raw in items:
        m = text(mid, "manager id")
        if m in seen:
            raise DuplicateManagerError("manager appears more than once", manager_id=m, **ctx)
        try:
            bp = parse_share(raw)
        except InvalidShareError as exc:
            raise InvalidShareError(exc.message, manager_id=m, **ctx) from None
        if bp <= 0:
            raise InvalidShareError(f"share must be > 0, got {bp} bp", manager_id=m, **ctx)
        if bp > BP_WHOLE:
            raise InvalidShareError(f"share {bp} bp exceeds 100% (10000 bp)", manager_id=m, **ctx)
        seen[m] = bp
    total = sum(seen.values())
    if total != BP_WHOLE:
        listing = ", ".join(f"{m}={bp}" for m, bp in seen.items())
        raise ShareSumError(f"shares sum to {total} bp, not exactly 10000 bp (100%): {listing}", **ctx)
    if primary not in seen:
        raise PrimaryManagerError(
            "the primary manager must be one of the managers with a share",
            manager_id=primary,
            **ctx,
        )
    order = [primary, *sorted(m for m in seen if m != primary)]
    mgr = np.array([manager_index(book, m, customer_id, effective) for m in order], dtype=np.int32)
    bps = np.array([seen[m] for m in order], dtype=np.int16)
    prim = np.zeros(len(order), dtype=np.bool_)
    prim[0] = True
    return mgr, bps, prim


def _tier_at(tiers: object, ids: IdArray, p: int) -> str:
    """The tier given for customer ``p`` (to echo it in an error)."""
    if isinstance(tiers, str):
        return tiers
    if isinstance(tiers, Mapping):
        return str(tiers.get(str(ids[p]), ""))
    return str(np.asarray(tiers)[p])


def tier_ranks(book: BookState, tiers: object, ids: IdArray) -> NDArray[np.int64]:
    """Rank of each customer's tier in the tier order (-1 for unknown)."""
    order = np.array(book.policy.tier_order, dtype=str)
    if isinstance(tiers, str):
        t = np.full(ids.size, tiers)
    elif isinstance(tiers, Mapping):
        t = np.array([tiers.get(c, "") for c in ids.tolist()], dtype=str)
    else:
        t = np.asarray(tiers)
        if t.shape != ids.shape:
            raise AllocationError(f"tiers must align with customer_ids: shape {t.shape} != {ids.shape}")
        if t.size and t.dtype.kind != "U":
            t = id_array(t, "tiers")
    sorter = np.argsort(order)
    pos = np.searchsorted(order, t, sorter=sorter)
    np.minimum(pos, order.size - 1, out=pos)
    ranks = sorter[pos].astype(np.int64)
    ranks[order[ranks] != t] = -1
    return ranks


# --------------------------------------------------------------------------- customers


def check_customers(
    book: BookState,
    ids: IdArray,
    day: int,
    *,
    state: Literal["unallocated", "allocated", "any"],
    tiers: object | None = None,
    check_tier: bool = True,
    spec_mgr: NDArray[np.int32] | None = None,
    to_branch: int | None = None,
) -> tuple[NDArray[np.int64], Problems]:
    """Vectorised per-customer checks; returns indices and problems by position."""
    eff = date_of(day)
    idx, found = lookup(book, ids)
    problems: Problems = []

    def report(mask: NDArray[np.bool_], make: Any) -> None:
        for p in np.flatnonzero(mask).tolist():
            problems.append((p, make(p)))

    report(
        ~found,
        lambda p: UnknownCustomerError("customer is not in the book", customer_id=str(ids[p]), effective=eff),
    )
    idx = np.where(found, idx, 0)
    order = np.argsort(ids, kind="stable")
    dup = np.zeros(ids.size, np.bool_)
    if ids.size > 1:
        dup[order[1:]] = ids[order[1:]] == ids[order[:-1]]
    report(
        dup,
        lambda p: DuplicateCustomerError(
            "customer appears more than once in the operation",
            customer_id=str(ids[p]),
            effective=eff,
        ),
    )
    if book.customer_ids.size == 0:
        return idx, sorted(problems, key=lambda e: e[0])
    last, alloc, cbranch = customer_state(book, idx)
    report(
        found & (last > day),
        lambda p: BackdatedOperationError(
            f"effective date is before the customer's latest recorded change on "
            f"{date_of(int(last[p])).isoformat()} (no back-dated rewrites)",
            customer_id=str(ids[p]),
            effective=eff,
        ),
    )
    if state == "unallocated":
        report(
            found & alloc,
            lambda p: AlreadyAllocatedError(
                "customer already has managers; use adjust() or recall() first",
                customer_id=str(ids[p]),
                effective=eff,
            ),
        )
    elif state == "allocated":
        report(
            found & ~alloc,
            lambda p: NotAllocatedError(
                "customer has no managers (it is in its branch's unallocated pool)",
                customer_id=str(ids[p]),
                effective=eff,
            ),
        )
    if to_branch is not None:
        report(
            found & (cbranch == to_branch),
            lambda p: NoChangeError(
                "customer already belongs to the target branch",
                customer_id=str(ids[p]),
                branch_id=str(book.branch_ids[to_branch]),
                effective=eff,
            ),
        )
    if tiers is not None and check_tier:
        ranks = tier_ranks(book, tiers, ids)
        report(
            found & (ranks < 0),
            lambda p: UnknownTierError(
                f"unknown tier {_tier_at(tiers, ids, p)!r}; tiers: {', '.join(book.policy.tier_order)}",
                customer_id=str(ids[p]),
                effective=eff,
            ),
        )
        limit = book.policy.tier_order.index(book.policy.min_tier)
        report(
            found & (ranks > limit),
            lambda p: IneligibleTierError(
                f"tier {book.policy.tier_order[int(ranks[p])]!r} is below the minimum "
                f"allocatable tier {book.policy.min_tier!r}; the customer stays with its "
                "branch",
                customer_id=str(ids[p]),
                effective=eff,
            ),
        )
    if spec_mgr is not None and not book.policy.allow_cross_branch:
        for m in spec_mgr.tolist():
            mb = int(book.manager_branch[m])
            report(
                found & (cbranch != mb),
                lambda p, m=m, mb=mb: CrossBranchError(
                    f"manager belongs to branch {str(book.branch_ids[mb])!r}, not the "
                    f"customer's branch {str(book.branch_ids[int(cbranch[p])])!r}",
                    customer_id=str(ids[p]),
                    manager_id=str(book.manager_ids[m]),
                    effective=eff,
                ),
            )
    return idx, sorted(problems, key=lambda e: e[0])


def check_new_customers(
    book: BookState, ids: IdArray, branches: IdArray, effective: _dt.date
) -> tuple[NDArray[np.intp], NDArray[np.intp], Problems]:
    """Checks of customers to add: new, unique, known branches.

    Returns the stable sort order of ``ids`` (reused to index them), the
    position of each branch in the registry and the problems by position.
    """
    problems: Problems = []
    _, found = lookup(book, ids)
    for p in np.flatnonzero(found).tolist():
        problems.append(
            (
                p,
                DuplicateCustomerError(
                    "customer is already in the book",
                    customer_id=str(ids[p]),
                    effective=effective,
                ),
            )
        )
    order = np.argsort(ids, kind="stable")
    if ids.size > 1:
        dup = np.zeros(ids.size, np.bool_)
        dup[order[1:]] = ids[order[1:]] == ids[order[:-1]]
        for p in np.flatnonzero(dup).tolist():
            problems.append(
                (
                    p,
                    DuplicateCustomerError(
                        "customer appears more than once in the operation",
                        customer_id=str(ids[p]),
                        effective=effective,
                    ),
                )
            )
    bpos = np.searchsorted(book.branch_ids, branches)
    bpos = np.minimum(bpos, max(book.branch_ids.size - 1, 0))
    known = book.branch_ids[bpos] == branches if book.branch_ids.size else np.zeros(ids.size, np.bool_)
    for p in np.flatnonzero(~known).tolist():
        problems.append(
            (
                p,
                UnknownBranchError(
                    "branch is not in the branch registry",
                    customer_id=str(ids[p]),
                    branch_id=str(branches[p]),
                    effective=effective,
                ),
            )
        )
    problems.sort(key=lambda e: e[0])
    return order, bpos, problems


def raise_problems(problems: Problems, ids: IdArray, single: bool, eff: _dt.date) -> None:
    """Raise nothing, the first problem (``single``) or all as a :class:`BatchAllocationError`."""
    if not problems:
        return
    if single:
        raise problems[0][1]
    raise BatchAllocationError(
        [
            (str(ids[p]), e.message + (f" (manager {e.manager_id!r})" if e.manager_id else ""))
            for p, e in problems
        ],
        effective=eff,
        causes=[e for _, e in problems],
    )
