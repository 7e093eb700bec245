"""The JSON document of an allocation book: writing it and replaying it.

A book's document holds its registries, policy and audit log; its state is
fully determined by the log, so reading a document starts from an empty book
and replays every entry through the public operations, which validate it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._changes import log_only
from ._errors import AllocationError, DocumentError
from ._expect import expect_dict, expect_list, expect_str, expect_str_list
from ._types import BOOK_FORMAT, BOOK_VERSION, AllocationPolicy, AuditEntry

if TYPE_CHECKING:
    from ._book import AllocationBook

__all__ = ["book_from_dict", "book_to_dict", "replay"]


def book_to_dict(book: AllocationBook) -> dict[str, Any]:
    """See :meth:`AllocationBook.to_dict`."""
    return {
        "format": BOOK_FORMAT,
        "version": BOOK_VERSION,
        "policy": book.policy.to_dict(),
        "branches": book.branch_ids.tolist(),
        "managers": book.managers,
        "audit": [e.to_dict() for e in book.audit],
    }


def book_from_dict(cls: type[AllocationBook], data: object) -> AllocationBook:
    """See :meth:`AllocationBook.from_dict`; ``cls`` is the book class."""
    d = expect_dict(data, "$", {"format", "version", "policy", "branches", "managers", "audit"})
    if d["format"] != BOOK_FORMAT:
        raise DocumentError(f"expected {BOOK_FORMAT!r}", path="$.format")
    if d["version"] != BOOK_VERSION:
        raise DocumentError(f"unsupported version {d['version']!r}", path="$.version")
    policy = AllocationPolicy.from_dict(d["policy"], "$.policy")
    branches = expect_str_list(d["branches"], "$.branches").tolist()
    mgrs = expect_dict(d["managers"], "$.managers", set(), any_keys=True)
    for k, v in mgrs.items():
        expect_str(v, f"$.managers[{k!r}]")
    try:
        book = cls.empty(mgrs, branches=branches, policy=policy)
    except AllocationError as exc:
        raise DocumentError(exc.message, path="$.managers") from exc
    for i, raw in enumerate(expect_list(d["audit"], "$.audit")):
        path = f"$.audit[{i}]"
        e = AuditEntry.from_dict(raw, path)
        if e.seq != i:
            raise DocumentError(f"seq {e.seq} != position {i}", path=f"{path}.seq")
        try:
            book = replay(book, e)
        except AllocationError as exc:
            raise DocumentError(f"entry cannot be replayed: {exc}", path=path) from exc
    return book


def replay(book: AllocationBook, e: AuditEntry) -> AllocationBook:
    """``book`` after re-applying the operation recorded by ``e``.

    Tiers are not part of the log, so tier eligibility is not re-checked.
    """
    kw: dict[str, Any] = {"effective": e.effective, "operator": e.operator, "reason": e.reason}
    ids = e.customer_ids
    if ids.size == 0 and e.operation in ("add_customers", "batch_allocate", "recall", "transfer"):
        return log_only(book, e)  # 0.1.0 logged operations on no customers; they changed nothing
    if e.operation == "add_customers":
        assert e.branch_ids is not None
        return book.add_customers(ids, e.branch_ids, **kw).book
    if e.operation == "recall":
        return book.recall(ids, **kw).book
    if e.operation == "transfer":
        assert e.branch_ids is not None
        if ids.size and bool(np.any(e.branch_ids != e.branch_ids[0])):
            raise AllocationError("a transfer has one target branch")
        target = str(e.branch_ids[0]) if ids.size else ""
        return book.transfer(ids, target, **kw).book
    assert e.primary is not None
    if e.operation == "batch_allocate":
        return book.batch_allocate(ids, e.primary, list(e.shares), tiers="", _check_tier=False, **kw).book
    if ids.size != 1:
        raise AllocationError(f"{e.operation} concerns exactly one customer")
    if e.operation == "allocate":
        return book.allocate(str(ids[0]), e.primary, list(e.shares), tier="", _check_tier=False, **kw).book
    return book.adjust(
        str(ids[0]), primary=e.primary, shares=list(e.shares), tier="", _check_tier=False, **kw
    ).book
