"""Performance attribution: split per-customer amounts across managers, exactly.

Vectorised over customers: the assignments in force on the date are selected
with one comparison (they are stored sorted by customer, so each customer's
managers are a contiguous run), split with the largest-remainder method of
:func:`~custvalue.allocation._shares.split_amounts` and summed per manager and
per branch with :func:`numpy.add.at`.  Totals are accumulated in two 31-bit
halves and recombined with Python integers, so an int64 overflow of a total is
detected and reported instead of wrapping.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from ._book import AllocationBook, IdsLike, _day, _ids, _ro
from ._errors import AttributionError
from ._shares import split_amounts

__all__ = ["Attribution", "attribute", "exact_group_sums"]

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


def exact_group_sums(
    groups: NDArray[np.integer], values: NDArray[np.int64], n_groups: int, *, what: str
) -> NDArray[np.int64]:
    """Per-group int64 sums of int64 values, exact, raising on int64 overflow.

    Examples
    --------
    >>> import numpy as np
    >>> exact_group_sums(np.array([0, 1, 0]), np.array([5, 7, -2]), 2, what="x").tolist()
    [3, 7]
    """
    values = np.asarray(values, dtype=np.int64)
    groups = np.asarray(groups, dtype=np.intp)
    hi = np.zeros(n_groups, np.int64)
    lo = np.zeros(n_groups, np.int64)
    if values.size >= 2**31:  # pragma: no cover - guard for the halves' own range
        raise AttributionError("too many parts to sum exactly in one call")
    np.add.at(hi, groups, values >> 31)
    np.add.at(lo, groups, values & (2**31 - 1))
    out = np.empty(n_groups, np.int64)
    for g, (h, low) in enumerate(zip(hi.tolist(), lo.tolist(), strict=True)):
        total = (h << 31) + low
        if not _INT64_MIN <= total <= _INT64_MAX:
            raise AttributionError(f"{what} total of group {g} overflows int64: {total}")
        out[g] = total
    return out


@attrs.frozen(eq=False)
class Attribution:
    """Result of :func:`attribute`.

    Attributes
    ----------
    as_of
        The date whose shares were used.
    manager_ids, manager_totals
        Every registered manager (sorted) and the sum of its parts (int64 fen).
    branch_ids, branch_totals
        Every registered branch (sorted) and its total: its managers' parts
        plus the amounts of its unallocated customers.
    branch_unallocated
        The part of ``branch_totals`` from unallocated customers.
    customer_ids
        The book's customers (``part_customer`` indexes into it).
    part_customer, part_manager, part_amount
        One row per (customer, manager) in force: customer index, manager
        index and the integer part (fen); rows are grouped by customer.
    total
        Sum of all amounts; equals ``manager_totals.sum() + branch_unallocated.sum()``.
    """

    as_of: _dt.date
    manager_ids: NDArray[np.str_]
    manager_totals: NDArray[np.int64]
    branch_ids: NDArray[np.str_]
    branch_totals: NDArray[np.int64]
    branch_unallocated: NDArray[np.int64]
    customer_ids: NDArray[np.str_]
    part_customer: NDArray[np.int64]
    part_manager: NDArray[np.int32]
    part_amount: NDArray[np.int64]
    total: int

    def by_manager(self) -> dict[str, int]:
        """``{manager_id: total fen}`` for every registered manager."""
        return dict(zip(self.manager_ids.tolist(), self.manager_totals.tolist(), strict=True))

    def by_branch(self) -> dict[str, int]:
        """``{branch_id: total fen}`` for every registered branch."""
        return dict(zip(self.branch_ids.tolist(), self.branch_totals.tolist(), strict=True))

    def parts_of(self, customer_id: str) -> dict[str, int]:
        """``{manager_id: part}`` of one customer (empty if unallocated)."""
        hit = np.flatnonzero(self.customer_ids == customer_id)
        if hit.size == 0:
            raise AttributionError("customer is not in the book", customer_id=customer_id)
        lo, hi = np.searchsorted(self.part_customer, [hit[0], hit[0] + 1])
        return dict(
            zip(
                self.manager_ids[self.part_manager[lo:hi]].tolist(),
                self.part_amount[lo:hi].tolist(),
                strict=True,
            )
        )


def _amount_column(values: Any, n: int) -> NDArray[np.int64]:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise AttributionError(f"amounts must be 1-d, got shape {arr.shape}")
    if arr.size == 0:
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu" and not (arr.dtype == object and _all_ints(arr)):
        raise AttributionError(
            f"amounts must be integer fen (int64), got dtype {arr.dtype}; convert money "
            "explicitly (custvalue.to_fen / parse_yuan_array)"
        )
    if arr.dtype.kind == "u" and arr.size and int(arr.max()) > _INT64_MAX:
        raise AttributionError("amounts exceed the int64 range")
    try:
        out = arr.astype(np.int64) if arr.dtype != object else np.array(arr.tolist(), np.int64)
    except OverflowError:
        raise AttributionError("amounts exceed the int64 range") from None
    if out.shape != (n,):
        raise AttributionError(f"amounts have {out.size} values for {n} customers")
    return out


def _all_ints(arr: NDArray[Any]) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in arr.tolist())


def attribute(
    book: AllocationBook,
    amounts: NDArray[np.int64] | Sequence[int],
    as_of: _dt.date,
    *,
    customer_ids: IdsLike | None = None,
) -> Attribution:
    """Split a per-customer amount column across managers by the shares in force.

    Parameters
    ----------
    book
        The allocation book.
    amounts
        Integer fen per customer (AUM, AUM growth, revenue; negatives allowed),
        aligned with ``book.customer_ids`` or, if given, with ``customer_ids``.
    as_of
        Shares in force on this date are used.
    customer_ids
        Optional ids the amounts belong to (any subset of the book, any order).

    Returns
    -------
    Attribution
        Per-manager and per-branch totals and per-(customer, manager) parts.
        For every customer the parts sum exactly to its amount and each part
        is within one fen of ``amount * share`` (largest remainder; ties: the
        primary first, then manager id ascending; see
        :func:`~custvalue.allocation.split_amounts`).  Unallocated
        customers' amounts go to their branch.

    Raises
    ------
    AttributionError
        Non-integer amounts, misaligned shapes, unknown customers, non-zero
        amounts for customers not in the book on ``as_of``, or a total that
        overflows int64.

    Examples
    --------
    >>> import datetime
    >>> book = AllocationBook.empty({"M1": "B1", "M2": "B1", "M3": "B1"})
    >>> d = datetime.date(2026, 10, 1)
    >>> book, _ = book.add_customers(["C1", "C2"], "B1", effective=d, operator="sys")
    >>> book, _ = book.allocate("C1", "M2", {"M1": 3333, "M2": 3334, "M3": 3333},
    ...                         tier="gold", effective=d, operator="BM1")
    >>> res = attribute(book, [100, 7], d)
    >>> res.parts_of("C1")
    {'M2': 34, 'M1': 33, 'M3': 33}
    >>> res.by_branch()
    {'B1': 107}
    >>> attribute(book, [1, 0], d).parts_of("C1")
    {'M2': 1, 'M1': 0, 'M3': 0}
    """
    day = _day(as_of, "as_of")
    n = book.customer_ids.size
    if customer_ids is None:
        amt = _amount_column(amounts, n)
    else:
        ids = _ids(customer_ids, "customer_ids")
        col = _amount_column(amounts, ids.size)
        idx, found = book._lookup(ids)
        if not found.all():
            bad = ids[~found][:5].tolist()
            raise AttributionError(f"{int((~found).sum())} customer(s) not in the book: {bad}")
        if np.unique(idx).size != idx.size:
            raise AttributionError("customer_ids has duplicates")
        amt = np.zeros(n, np.int64)
        amt[idx] = col
    present_cust, present_branch = book._present(day)
    present = np.zeros(n, np.bool_)
    present[present_cust] = True
    absent = ~present & (amt != 0)
    if absent.any():
        bad = book.customer_ids[absent][:5].tolist()
        raise AttributionError(
            f"{int(absent.sum())} customer(s) with non-zero amounts are not in the book on "
            f"{as_of.isoformat()}: {bad}"
        )
    rows = book._active(day)
    cust = book._as_cust[rows]
    mgr = book._as_mgr[rows]
    bp = book._as_bp[rows]
    if cust.size:
        starts = np.flatnonzero(np.concatenate([[True], cust[1:] != cust[:-1]]))
    else:
        starts = np.empty(0, np.intp)
    sizes = np.diff(np.append(starts, cust.size))
    # Tie-break key: primary (0) before secondary (1), then manager id ascending
    # (manager indices follow the sorted manager ids).
    tiekey = ((~book._as_primary[rows]).astype(np.int64) << 32) | mgr.astype(np.int64)
    parts = split_amounts(amt[cust], bp, tiekey, starts.astype(np.int64), sizes.astype(np.int64))

    n_m = book.manager_ids.size
    n_b = book.branch_ids.size
    mtot = exact_group_sums(mgr, parts, n_m, what="manager")
    allocated = np.zeros(n, np.bool_)
    allocated[cust] = True
    un = ~allocated[present_cust]
    utot = exact_group_sums(
        present_branch[un], amt[present_cust[un]], n_b, what="branch unallocated"
    )
    btot_py = [int(v) for v in utot.tolist()]
    for m, b in enumerate(book.manager_branch.tolist()):
        btot_py[b] += int(mtot[m])
    for b, v in enumerate(btot_py):
        if not _INT64_MIN <= v <= _INT64_MAX:
            raise AttributionError(f"branch {str(book.branch_ids[b])!r} total overflows int64: {v}")
    total = sum(btot_py)
    return Attribution(
        as_of=as_of,
        manager_ids=book.manager_ids,
        manager_totals=_ro(mtot),
        branch_ids=book.branch_ids,
        branch_totals=_ro(np.array(btot_py, dtype=np.int64)),
        branch_unallocated=_ro(utot),
        customer_ids=book.customer_ids,
        part_customer=_ro(cust),
        part_manager=_ro(mgr),
        part_amount=_ro(parts),
        total=total,
    )
