"""The JSON document of an allocation book: reading and checking its fields.

A book's document holds its registries, policy and audit log; its state is
fully determined by the log, so :meth:`AllocationBook.from_dict` starts from
an empty book and replays every entry through the public operations, which
validate it.
"""

from __future__ import annotations

from typing import Any

from ._errors import DocumentError
from ._expect import expect_dict, expect_list, expect_str, expect_str_list
from ._types import BOOK_FORMAT, BOOK_VERSION, AllocationPolicy, AuditEntry

__all__ = ["read_document"]


def read_document(data: object) -> tuple[AllocationPolicy, list[str], dict[str, Any], list[AuditEntry]]:
    """Policy, branches, managers and audit entries of a book document, validated field by field.

    The book replays the entries (:meth:`AllocationBook.from_dict`), which
    validates the operations themselves.
    """
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
    entries = []
    for i, raw in enumerate(expect_list(d["audit"], "$.audit")):
        e = AuditEntry.from_dict(raw, f"$.audit[{i}]")
        if e.seq != i:
            raise DocumentError(f"seq {e.seq} != position {i}", path=f"$.audit[{i}].seq")
        entries.append(e)
    return policy, branches, mgrs, entries
