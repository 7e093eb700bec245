"""Performance attribution: split per-customer amounts across managers, exactly.

Vectorised over customers, on the compacted book (its change log folded into
its columns, see :mod:`~custvalue.allocation._delta`).  The structure of a
book on a date does not depend on the amounts, so it is derived once and
cached per (book, date) (books are immutable; the cache holds them weakly): the assignments in force (stored
sorted by customer, so each customer's managers are a contiguous run) are
grouped by number of managers, with one column per manager in tie-break order.
Each call then splits the amounts with the largest-remainder method of
:func:`~custvalue.allocation._shares.split_amounts` (same results; ranks of at
most three remainders by comparisons instead of sorts), in cache-sized chunks.

Totals: every part has the sign of its amount and ``|part| <= |amount|``, so if
``sum(|amount|)`` is safely below 2**63 no partial sum can overflow and int64
accumulation is exact; otherwise totals are accumulated in two 31-bit halves
and recombined with Python integers, so an int64 overflow of a total is
detected and reported instead of wrapping.
"""

from __future__ import annotations

import datetime as _dt
import html
import itertools
import threading
import weakref
from collections.abc import Sequence
from typing import Any, Literal

import attrs
import numpy as np
from numpy.typing import NDArray

from .._arrays import exact_group_sums as _exact_group_sums
from .._arrays import python_sum, readonly
from .._errors import AmountOverflowError
from .._optional import import_optional
from ..money import INT64_MAX, INT64_MIN
from ._coerce import day_of, id_array
from ._delta import compact
from ._errors import AttributionError
from ._queries import lookup, present
from ._shares import split_amounts
from ._state import BookState
from ._types import IdsLike
from ._views import html_table, text_table, yuan, yuan_series

__all__ = ["Attribution", "attribute", "exact_group_sums", "in_book"]


def exact_group_sums(
    groups: NDArray[np.integer[Any]], values: NDArray[np.int64], n_groups: int, *, what: str
) -> NDArray[np.int64]:
    """Per-group int64 sums of int64 values, exact, raising :class:`AttributionError` on overflow.

    The ground helper ``custvalue._arrays.exact_group_sums`` with the
    allocation package's error type.

    Examples
    --------
    >>> import numpy as np
    >>> exact_group_sums(np.array([0, 1, 0]), np.array([5, 7, -2]), 2, what="x").tolist()
    [3, 7]
    """
    try:
        return _exact_group_sums(groups, values, n_groups, what=what)
    except AmountOverflowError as exc:
        raise AttributionError(str(exc)) from None


@attrs.frozen(eq=False, repr=False)
class Attribution:
    """Result of :func:`attribute`.

    Views: :meth:`to_pandas` (per manager, per branch or per part), :meth:`text`
    (amounts in yuan) and an HTML table in notebooks.

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
    manager_branch
        Each manager's branch (index into ``branch_ids``).
    excluded, excluded_total
        With ``absent="exclude"``: the customers (indices into
        ``customer_ids``) not in the book on ``as_of`` whose non-zero amounts
        were left out, and the sum of those amounts (not in ``total``).
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
    manager_branch: NDArray[np.int32] | None = None
    excluded: NDArray[np.int64] | None = None
    excluded_total: int = 0

    def by_manager(self) -> dict[str, int]:
        """``{manager_id: total fen}`` for every registered manager."""
        return dict(zip(self.manager_ids.tolist(), self.manager_totals.tolist(), strict=True))

    def by_branch(self) -> dict[str, int]:
        """``{branch_id: total fen}`` for every registered branch."""
        return dict(zip(self.branch_ids.tolist(), self.branch_totals.tolist(), strict=True))

    def parts(self) -> dict[tuple[str, str], int]:
        """Every part as ``{(customer_id, manager_id): fen}`` (for inspection and small books).

        Use the ``part_*`` columns for large results.
        """
        return dict(
            zip(
                zip(
                    self.customer_ids[self.part_customer].tolist(),
                    self.manager_ids[self.part_manager].tolist(),
                    strict=True,
                ),
                self.part_amount.tolist(),
                strict=True,
            )
        )

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

    # ------------------------------------------------------------ views
    def manager_customers(self) -> NDArray[np.int64]:
        """Customers with a part, per manager (aligned with ``manager_ids``)."""
        counts: NDArray[np.int64] = np.bincount(self.part_manager, minlength=self.manager_ids.size).astype(
            np.int64
        )
        return counts

    def manager_branch_ids(self) -> NDArray[np.str_]:
        """Each manager's branch id (aligned with ``manager_ids``; ``""`` when not recorded)."""
        if self.manager_branch is None:
            return np.full(self.manager_ids.size, "", dtype=str)
        out: NDArray[np.str_] = self.branch_ids[self.manager_branch]
        return out

    def to_pandas(self, by: Literal["manager", "branch", "part"] = "manager") -> Any:
        """A :class:`pandas.DataFrame` (needs ``pandas``); amounts in exact yuan and in fen.

        ``by="manager"``: ``manager_id, branch_id, customers, amount,
        amount_fen``; ``"branch"``: ``branch_id, managers_amount,
        unallocated_amount, amount`` (and their ``*_fen``); ``"part"``: one
        row per (customer, manager), ``customer_id, manager_id, amount,
        amount_fen``.

        Examples
        --------
        >>> import datetime
        >>> from custvalue.allocation import AllocationBook
        >>> d = datetime.date(2026, 10, 1)
        >>> book = AllocationBook.empty({"M1": "B1", "M2": "B1"})
        >>> book, _ = book.add_customers(["C1", "C2"], "B1", effective=d, operator="sys")
        >>> book, _ = book.allocate("C1", "M1", {"M1": "60%", "M2": "40%"}, tier="gold",
        ...                         effective=d, operator="BM1")
        >>> res = attribute(book, [100_000_01, 5_000_00], d)
        >>> res.to_pandas()[["manager_id", "customers", "amount_fen"]].to_dict("list")
        {'manager_id': ['M1', 'M2'], 'customers': [1, 1], 'amount_fen': [6000001, 4000000]}
        >>> print(res.text())
        attribution as of 2026-10-01: 105,000.01 yuan in total
        manager  branch  customers      amount
        M1       B1              1   60,000.01
        M2       B1              1   40,000.00
        branch   managers  unallocated       total
        B1     100,000.01     5,000.00  105,000.01
        """
        pd = import_optional("pandas", extra="pandas")
        if by == "manager":
            return pd.DataFrame(
                {
                    "manager_id": self.manager_ids,
                    "branch_id": self.manager_branch_ids(),
                    "customers": self.manager_customers(),
                    "amount": yuan_series(pd, self.manager_totals),
                    "amount_fen": np.asarray(self.manager_totals),
                }
            )
        if by == "branch":
            managed = np.asarray(self.branch_totals) - np.asarray(self.branch_unallocated)
            return pd.DataFrame(
                {
                    "branch_id": self.branch_ids,
                    "managers_amount": yuan_series(pd, managed),
                    "unallocated_amount": yuan_series(pd, self.branch_unallocated),
                    "amount": yuan_series(pd, self.branch_totals),
                    "managers_amount_fen": managed,
                    "unallocated_amount_fen": np.asarray(self.branch_unallocated),
                    "amount_fen": np.asarray(self.branch_totals),
                }
            )
        if by == "part":
            return pd.DataFrame(
                {
                    "customer_id": self.customer_ids[self.part_customer],
                    "manager_id": self.manager_ids[self.part_manager],
                    "amount": yuan_series(pd, self.part_amount),
                    "amount_fen": np.asarray(self.part_amount),
                }
            )
        raise ValueError(f"by must be 'manager', 'branch' or 'part', got {by!r}")

    def _tables(self) -> tuple[str, list[tuple[str, list[str], list[list[str]], int]]]:
        title = f"attribution as of {self.as_of.isoformat()}: {yuan(self.total)} yuan in total"
        branches = self.manager_branch_ids()
        counts = self.manager_customers().tolist()
        mrows = [
            [m, b, f"{c:,}", yuan(v)]
            for m, b, c, v in zip(
                self.manager_ids.tolist(),
                branches.tolist(),
                counts,
                self.manager_totals.tolist(),
                strict=True,
            )
        ]
        managed = (np.asarray(self.branch_totals) - np.asarray(self.branch_unallocated)).tolist()
        brows = [
            [b, yuan(m), yuan(u), yuan(t)]
            for b, m, u, t in zip(
                self.branch_ids.tolist(),
                managed,
                self.branch_unallocated.tolist(),
                self.branch_totals.tolist(),
                strict=True,
            )
        ]
        return title, [
            ("managers", ["manager", "branch", "customers", "amount"], mrows, 2),
            ("branches", ["branch", "managers", "unallocated", "total"], brows, 3),
        ]

    def text(self, *, limit: int = 50) -> str:
        """The per-manager and per-branch totals in yuan (the first ``limit`` rows of each)."""
        title, tables = self._tables()
        parts = [title]
        for _, headers, rows, right in tables:
            shown = rows[:limit]
            body = text_table("", headers, shown, right=right).split("\n", 1)[1]
            parts.append(body + (f"\n... {len(rows) - limit:,} more" if len(rows) > limit else ""))
        return "\n".join(parts)

    def __repr__(self) -> str:
        return (
            f"<Attribution as of {self.as_of.isoformat()}: {yuan(self.total)} yuan over "
            f"{self.manager_ids.size} managers and {self.branch_ids.size} branches>"
        )

    def _repr_html_(self) -> str:
        title, tables = self._tables()
        body = "".join(
            html_table(name, headers, rows[:50], right=right) for name, headers, rows, right in tables
        )
        return f"<div><b>{html.escape(title)}</b>{body}</div>"


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
    if arr.dtype.kind == "u" and arr.size and int(arr.max()) > INT64_MAX:
        raise AttributionError("amounts exceed the int64 range")
    try:
        out = arr.astype(np.int64, copy=False) if arr.dtype != object else np.array(arr.tolist(), np.int64)
    except OverflowError:
        raise AttributionError("amounts exceed the int64 range") from None
    if out.shape != (n,):
        raise AttributionError(f"amounts have {out.size} values for {n} customers")
    return out


def _all_ints(arr: NDArray[Any]) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in arr.tolist())


# ------------------------------------------------------------------ fast path

_BP = 10_000
#: Above this sum of |amount| a total might overflow int64: sum exactly instead.
#: (2**63 is about 9.223e18; the margin dwarfs the float64 summation error.)
_SAFE_ABS_SUM = 9.0e18
#: Day layouts kept per book (each holds O(rows) index arrays).
_LAYOUTS_PER_BOOK = 2
#: Customers per chunk in :func:`_split` (temporaries of a few hundred KiB).
_CHUNK = 1 << 15


@attrs.frozen(eq=False)
class _SizeClass:
    """The customers with exactly ``size`` managers in force (``size`` <= 3).

    ``rows[k]`` is the row (index into the day's rows) of each customer's
    ``k``-th manager in tie-break order (primary first, then manager id
    ascending), ``bp[k]`` its share; column 0 wins equal remainders.
    """

    size: int
    cust: NDArray[np.intp]
    rows: tuple[NDArray[np.intp], ...]
    bp: tuple[NDArray[np.int16], ...]


@attrs.frozen(eq=False)
class _Layout:
    """Static structure of a book on one day, independent of the amounts."""

    cust: NDArray[np.int64]  # per row in force, sorted by customer
    mgr: NDArray[np.int32]  # per row
    absent: NDArray[np.intp]  # customers not in the book on the day
    un_cust: NDArray[np.intp]  # present but unallocated customers ...
    un_branch: NDArray[np.int32]  # ... and their branch
    classes: tuple[_SizeClass, ...]
    # customers with more than three managers: generic split_amounts
    big_rows: NDArray[np.intp]
    big_bp: NDArray[np.int64]
    big_tiekey: NDArray[np.int64]
    big_starts: NDArray[np.int64]
    big_sizes: NDArray[np.int64]


_layout_cache: weakref.WeakKeyDictionary[BookState, dict[int, _Layout]] = weakref.WeakKeyDictionary()
_layout_lock = threading.Lock()


def _layout(book: BookState, day: int) -> _Layout:
    """The cached layout of ``book`` on ``day`` (the book is immutable).

    Built from the compacted columns; cached under ``book`` itself.
    """
    with _layout_lock:
        per_book = _layout_cache.get(book)
        if per_book is not None and day in per_book:
            lay = per_book.pop(day)
            per_book[day] = lay  # most recently used last
            return lay
    lay = _build_layout(compact(book), day)
    with _layout_lock:
        per_book = _layout_cache.setdefault(book, {})
        per_book[day] = lay
        while len(per_book) > _LAYOUTS_PER_BOOK:
            del per_book[next(iter(per_book))]
    return lay


def _order3_table() -> NDArray[np.int8]:
    """Row offsets in tie-break order of a 3-row customer, by comparison code.

    The code is ``k1 < k0 | (k2 < k1) << 1 | (k2 < k0) << 2`` for the tie keys
    ``k0, k1, k2`` of the customer's rows in storage order (all distinct).
    """
    table = np.zeros((8, 3), np.int8)
    for ranks in itertools.permutations(range(3)):  # ranks[i]: sort position of row i
        code = (ranks[1] < ranks[0]) | (ranks[2] < ranks[1]) << 1 | (ranks[2] < ranks[0]) << 2
        for row, pos in enumerate(ranks):
            table[code, pos] = row
    return table


_ORDER3 = _order3_table()


def _build_layout(book: BookState, day: int) -> _Layout:
    n = book.customer_ids.size
    present_cust, present_branch = present(book, day)
    is_present = np.zeros(n, np.bool_)
    is_present[present_cust] = True
    absent = np.flatnonzero(~is_present)
    del is_present

    active = book._as_start <= day
    active &= book._as_end > day
    if active.all():
        cust, mgr, bp, primary = book._as_cust, book._as_mgr, book._as_bp, book._as_primary
    else:
        rows = np.flatnonzero(active)
        cust, mgr = readonly(book._as_cust[rows]), readonly(book._as_mgr[rows])
        bp, primary = book._as_bp[rows], book._as_primary[rows]
        del rows
    del active

    # Rows are sorted by customer: each customer's rows are a contiguous run.
    n_rows = cust.size
    change = np.empty(n_rows, np.bool_)
    if n_rows:
        change[0] = True
        np.not_equal(cust[1:], cust[:-1], out=change[1:])
    starts = np.flatnonzero(change)
    del change
    sizes = np.empty(starts.size, np.intp)
    np.subtract(starts[1:], starts[:-1], out=sizes[:-1])
    sizes[-1:] = n_rows - starts[-1:]
    start_cust = cust[starts]
    allocated = np.zeros(n, np.bool_)
    allocated[start_cust] = True
    un = np.flatnonzero(~allocated[present_cust])  # (flatnonzero + take beats masks)
    del allocated

    # Tie-break key (unique within a customer): primary before secondary, then
    # manager id ascending (manager indices follow the sorted manager ids).
    key = np.left_shift(~primary, 31, dtype=np.uint32)
    key |= mgr.view(np.uint32)
    next_lt = key[1:] < key[:-1]  # next_lt[i]: row i + 1 comes before row i
    classes = []
    for g in (1, 2, 3):
        sel = np.flatnonzero(sizes == g)
        first = starts[sel]
        if g == 1:
            cols: tuple[NDArray[np.intp], ...] = (first,)
        elif g == 2:
            later = next_lt[first].view(np.int8)  # 1 if the second row comes first
            cols = (first + later, first + 1 - later)
        else:
            code = next_lt[first].view(np.int8) | next_lt[first + 1].view(np.int8) << 1
            code |= (key[first + 2] < key[first]).view(np.int8) << 2
            cols = tuple(first + _ORDER3[:, k].take(code) for k in range(3))
        if first.size:
            classes.append(
                _SizeClass(
                    size=g, cust=start_cust[sel], rows=cols, bp=tuple(bp[c] for c in cols) if g > 1 else ()
                )
            )
    del key, next_lt

    # Customers with more than three managers: rows concatenated, group i is
    # big_rows[big_starts[i]:][:big_sizes[i]].
    sel = np.flatnonzero(sizes > 3)
    big_first, big_sizes = starts[sel], sizes[sel]
    big_starts = np.cumsum(big_sizes) - big_sizes
    big_rows = np.repeat(big_first - big_starts, big_sizes) + np.arange(int(big_sizes.sum()), dtype=np.intp)
    big_key = (~primary[big_rows]).astype(np.int64) << 32
    big_key |= mgr[big_rows]
    return _Layout(
        cust=readonly(cust),
        mgr=readonly(mgr),
        absent=absent,
        un_cust=present_cust[un].astype(np.intp, copy=False),
        un_branch=present_branch[un],
        classes=tuple(sc for sc in classes if sc.cust.size),
        big_rows=big_rows,
        big_bp=bp[big_rows].astype(np.int64),
        big_tiekey=big_key,
        big_starts=big_starts.astype(np.int64),
        big_sizes=big_sizes.astype(np.int64),
    )


def _split(lay: _Layout, amt: NDArray[np.int64]) -> NDArray[np.int64]:
    """Largest-remainder parts of every row of ``lay`` (see :func:`split_amounts`).

    Per customer ``q, r = divmod(amount, 10000)``; a row's floor part is
    ``q * bp + (r * bp) // 10000`` and its remainder ``(r * bp) % 10000``
    (``r * bp < 1e8``: int32), the deficit ``r - sum((r * bp) // 10000)``.
    Customers are handled by number of managers, one column per manager in
    tie-break order, so the rank of a remainder is found with at most two
    comparisons instead of a sort; in chunks small enough for the temporaries
    to stay in cache.
    """
    out = np.empty(lay.cust.size, np.int64)
    for sc in lay.classes:
        n_g = sc.cust.size
        for lo in range(0, n_g, _CHUNK):
            hi = min(lo + _CHUNK, n_g)
            a = amt[sc.cust[lo:hi]]
            if sc.size == 1:
                out[sc.rows[0][lo:hi]] = a
                continue
            q = a // _BP
            a -= q * _BP
            r = a.astype(np.int32)
            deficit = r.copy()
            parts: list[NDArray[np.int64]] = []
            rems: list[NDArray[np.int32]] = []
            for bp in sc.bp:
                bpc = bp[lo:hi]
                rbp = r * bpc
                fl = rbp // _BP
                rbp -= fl * _BP  # now the remainder
                part = q * bpc
                part += fl
                deficit -= fl
                parts.append(part)
                rems.append(rbp)
            # The rank of column k is the number of columns beating it: a larger
            # remainder, or an equal one in an earlier column.
            if sc.size == 2:
                r0, r1 = rems
                has = deficit > 0  # the deficit is 0 or 1
                first = r0 >= r1
                parts[0] += has & first
                parts[1] += has & ~first
            else:
                r0, r1, r2 = rems
                b01 = r0 >= r1  # column 0 beats column 1
                b02 = r0 >= r2
                b12 = r1 >= r2
                rank0 = (~b01).view(np.int8) + (~b02).view(np.int8)
                rank1 = b01.view(np.int8) + (~b12).view(np.int8)
                rank2 = b02.view(np.int8) + b12.view(np.int8)
                d8 = deficit.astype(np.int8)  # 0, 1 or 2
                parts[0] += rank0 < d8
                parts[1] += rank1 < d8
                parts[2] += rank2 < d8
            for rows, part in zip(sc.rows, parts, strict=True):
                out[rows[lo:hi]] = part
    if lay.big_rows.size:
        out[lay.big_rows] = split_amounts(
            amt[lay.cust[lay.big_rows]], lay.big_bp, lay.big_tiekey, lay.big_starts, lay.big_sizes
        )
    return out


def _sums_fit(amt: NDArray[np.int64]) -> bool:
    """True if no partial sum of any parts of ``amt`` can overflow int64.

    Every part has the sign of its amount and ``|part| <= |amount|``, so every
    partial sum of parts (and of unallocated amounts) is bounded by
    ``sum(|amount|)``.
    """
    if amt.size == 0:
        return True
    bound = max(-int(amt.min()), int(amt.max()))
    if bound * amt.size <= INT64_MAX:
        return True
    total = 0.0
    for lo in range(0, amt.size, _CHUNK):
        # |INT64_MIN| = 2**63 is exact as uint64
        total += float(np.abs(amt[lo : lo + _CHUNK]).view(np.uint64).sum(dtype=np.float64))
    return total < _SAFE_ABS_SUM


def in_book(book: BookState, as_of: _dt.date) -> NDArray[np.bool_]:
    """See :meth:`AllocationBook.in_book`: each book customer's presence on ``as_of``."""
    lay = _layout(book, day_of(as_of, "as_of"))
    present = np.ones(book.customer_ids.size, np.bool_)
    present[lay.absent] = False
    return readonly(present)


def attribute(
    book: BookState,
    amounts: NDArray[np.int64] | Sequence[int],
    as_of: _dt.date,
    *,
    customer_ids: IdsLike | None = None,
    absent: Literal["error", "exclude"] = "error",
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
    absent
        A non-zero amount of a customer not in the book on ``as_of`` (added
        later, or gone) is an error (``"error"``), or is left out and
        reported in :attr:`Attribution.excluded` (``"exclude"``).

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
    >>> from custvalue.allocation import AllocationBook
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
    day = day_of(as_of, "as_of")
    n = book.customer_ids.size
    if customer_ids is None:
        amt = _amount_column(amounts, n)
    else:
        ids = id_array(customer_ids, "customer_ids")
        col = _amount_column(amounts, ids.size)
        idx, found = lookup(book, ids)
        if not found.all():
            bad = ids[~found][:5].tolist()
            raise AttributionError(f"{int((~found).sum())} customer(s) not in the book: {bad}")
        if np.unique(idx).size != idx.size:
            raise AttributionError("customer_ids has duplicates")
        amt = np.zeros(n, np.int64)
        amt[idx] = col
    if absent not in ("error", "exclude"):
        raise ValueError(f"absent must be 'error' or 'exclude', got {absent!r}")
    lay = _layout(book, day)
    excluded = np.zeros(0, np.int64)
    excluded_total = 0
    if lay.absent.size:
        # gathered once: tested, listed and summed (every row absent: the amounts as they are)
        away = amt if lay.absent.size == n else amt[lay.absent]
        nonzero = away != 0
        if nonzero.any() and absent == "exclude":
            excluded = np.asarray(lay.absent[nonzero], dtype=np.int64)
            excluded_total = python_sum(away)  # the zeros add nothing
            if lay.absent.size == n:  # nobody is in the book on the day: every amount is set aside
                amt = np.zeros(n, np.int64)
            else:
                amt = amt.copy()
                amt[lay.absent] = 0  # the excluded, and the absent zeros again
        elif nonzero.any():
            bad = book.customer_ids[lay.absent[nonzero]][:5].tolist()
            raise AttributionError(
                f"{int(nonzero.sum())} customer(s) with non-zero amounts are not in the book on "
                f"{as_of.isoformat()}: {bad}"
            )
    parts = _split(lay, amt)
    cust, mgr = lay.cust, lay.mgr

    n_m = book.manager_ids.size
    n_b = book.branch_ids.size
    un_amt = amt[lay.un_cust]
    if _sums_fit(amt):
        # No partial sum can overflow: plain int64 accumulation is exact.
        mtot = np.zeros(n_m, np.int64)
        np.add.at(mtot, mgr, parts)
        utot = np.zeros(n_b, np.int64)
        np.add.at(utot, lay.un_branch, un_amt)
    else:
        mtot = exact_group_sums(mgr, parts, n_m, what="manager")
        utot = exact_group_sums(lay.un_branch, un_amt, n_b, what="branch unallocated")
    btot_py = [int(v) for v in utot.tolist()]
    for m, b in enumerate(book.manager_branch.tolist()):
        btot_py[b] += int(mtot[m])
    for b, v in enumerate(btot_py):
        if not INT64_MIN <= v <= INT64_MAX:
            raise AttributionError(f"branch {str(book.branch_ids[b])!r} total overflows int64: {v}")
    total = sum(btot_py)
    return Attribution(
        as_of=as_of,
        manager_ids=book.manager_ids,
        manager_totals=readonly(mtot),
        branch_ids=book.branch_ids,
        branch_totals=readonly(np.array(btot_py, dtype=np.int64)),
        branch_unallocated=readonly(utot),
        customer_ids=book.customer_ids,
        part_customer=readonly(cust),
        part_manager=readonly(mgr),
        part_amount=readonly(parts),
        total=total,
        manager_branch=book.manager_branch,
        excluded=readonly(excluded),
        excluded_total=excluded_total,
    )
