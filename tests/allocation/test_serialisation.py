"""Books and audit logs serialise to plain JSON data and back, exactly."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest

from custvalue.allocation import AllocationBook, AuditEntry, DocumentError

D0 = dt.date(2026, 1, 1)


def sample() -> AllocationBook:
    b = AllocationBook.empty(
        {"M1": "B1", "M2": "B1", "M3": "B2"}, branches=["B1", "B2", "B3"], min_tier="platinum"
    )
    b, _ = b.add_customers(["C1", "C2", "C3"], ["B1", "B1", "B2"], effective=D0, operator="sys")
    b, _ = b.batch_allocate(
        ["C1", "C2"],
        "M1",
        {"M1": "60%", "M2": "40%"},
        tiers="core",
        effective=dt.date(2026, 2, 1),
        operator="BM",
        reason="new",
    )
    b, _ = b.adjust(
        "C1",
        primary="M2",
        tier="core",
        effective=dt.date(2026, 3, 1),
        operator="BM",
        reason="dispute",
    )
    b, _ = b.recall("C2", effective=dt.date(2026, 4, 1), operator="BM")
    b, _ = b.transfer("C1", "B2", effective=dt.date(2026, 5, 1), operator="HQ", reason="move")
    b, _ = b.allocate("C1", "M3", tier="platinum", effective=dt.date(2026, 5, 1), operator="BM")
    return b


def test_round_trip_is_exact() -> None:
    book = sample()
    doc = book.to_dict()
    text = json.dumps(doc, sort_keys=True)
    again = AllocationBook.from_dict(json.loads(text))
    assert json.dumps(again.to_dict(), sort_keys=True) == text
    for c in ["C1", "C2", "C3"]:
        for m in range(1, 7):
            d = dt.date(2026, m, 1)
            assert again.shares_of(c, d) == book.shares_of(c, d)
    assert doc["audit"][2]["shares"] == [["M2", 4000], ["M1", 6000]]
    assert doc["policy"]["min_tier"] == "platinum"
    e = book.audit[1]
    assert AuditEntry.from_dict(e.to_dict()).to_dict() == e.to_dict()


def _mutate(doc: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    target = out
    for p in path[:-1]:
        target = target[p]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return out


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        (["format"], "x", r"\$\.format"),
        (["audit", 1, "effective"], "2026/02/01", r"\$\.audit\[1\]\.effective"),
        (["audit", 1, "shares", 0, 1], "60%", r"\$\.audit\[1\]\.shares\[0\]\[1\]"),
        (["audit", 1, "shares", 0, 1], 5000, r"\$\.audit\[1\]"),
        (["audit", 1, "customer_ids", 0], 7, r"\$\.audit\[1\]\.customer_ids\[0\]"),
        (["audit", 2, "effective"], "2026-01-15", r"\$\.audit\[2\]"),
        (["audit", 0, "seq"], 3, r"\$\.audit\[0\]\.seq"),
        (["audit", 3, "operation"], "delete", r"\$\.audit\[3\]\.operation"),
        (["audit", 4, "branch_ids"], KeyError, r"\$\.audit\[4\]"),
        (["managers", "M1"], "B9", r"\$\.managers"),
        (["policy", "min_tier"], "diamond", r"\$\.policy"),
        (["policy", "allow_cross_branch"], "yes", r"\$\.policy\.allow_cross_branch"),
        (["audit", 1, "extra"], 1, r"\$\.audit\[1\]"),
    ],
)
def test_from_dict_errors_name_the_path(path: list[Any], value: Any, where: str) -> None:
    doc = sample().to_dict()
    with pytest.raises(DocumentError, match=where):
        AllocationBook.from_dict(_mutate(doc, path, value))


def test_from_dict_rejects_non_objects() -> None:
    with pytest.raises(DocumentError, match=r"\$"):
        AllocationBook.from_dict([])
