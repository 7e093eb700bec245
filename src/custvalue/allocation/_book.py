"""The allocation book: its state and the operations that change it (客户归属分配).

Storage is columnar.  Customers are numbered in the order they were added
(``customer_ids[i]``); a sorted permutation finds them by id with
:func:`numpy.searchsorted`.  Managers and branches are small sorted
registries.  History is kept as two tables of half-open date intervals
``[start, end)`` (dates as ``int32`` proleptic ordinals, ``end`` of an open
interval is ``OPEN``), both sorted by customer index:

* branch spans: ``(customer, branch, start, end)``;
* assignments: ``(customer, manager, bp, primary, start, end)``.

An operation effective on day ``d`` closes the customer's open intervals at
``d`` and opens new ones at ``d``, so queries "as of" any date select the rows
with ``start <= day < end`` in one vectorised comparison.  Changes may not be
back-dated: ``d`` must be on or after the customer's latest recorded change.

Cost model: these columns are the book's immutable *base*; allocations,
adjustments, recalls and transfers are appended to a change log shared by
the books built from one another (:mod:`~custvalue.allocation._delta`), so
a single operation costs O(customers it changes) instead of a copy of the
book, and books built earlier never see later entries.  The log is folded
into new base columns (compacted, O(book)) when it grows past a fraction of
the book, and lazily, once per book, for queries over whole columns
(``customers_of``, ``unallocated``, attribution).  Adding customers and
registering managers rewrite the columns.

:class:`AllocationBook` holds the state and every public method.  The work
is done by one module per job, each reading the columns above: validation
(``_validation``), writing changes (``_changes``), queries (``_queries``),
the JSON document (``_documents``) and attribution (``_attribution``); none
of them imports this module at run time.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, NamedTuple

import attrs
import numpy as np
from numpy.typing import NDArray

from .._arrays import readonly
from ._attribution import attribute, in_book
from ._changes import add_rows, apply_change, log_only, make_entry
from ._coerce import day_of, empty_ids, id_array, operation_ids, text
from ._delta import compact, customer_state
from ._documents import read_document
from ._errors import AllocationError, DocumentError, NoChangeError, NotAllocatedError
from ._log import SharedList
from ._queries import (
    branch_index,
    branch_of,
    customer_index,
    customers_of,
    history,
    lookup,
    open_shares,
    primary_managers,
    shares_of,
    unallocated,
)
from ._shares import SharesLike
from ._state import BookState
from ._types import (
    BOOK_FORMAT,
    BOOK_VERSION,
    AllocationPolicy,
    AuditEntry,
    CustomerAllocation,
    IdArray,
    IdsLike,
    ManagerCustomers,
    PrimaryManagers,
    TiersLike,
)
from ._validation import (
    check_customers,
    check_new_customers,
    check_registry,
    parse_spec,
    raise_problems,
)

__all__ = ["AllocationBook", "BookChange"]


class BookChange(NamedTuple):
    """Result of a book operation: the new book and the audit entry it recorded."""

    book: AllocationBook
    entry: AuditEntry


@attrs.frozen(eq=False)
class AllocationBook(BookState):
    """Immutable, effective-dated allocation of customers to account managers.

    Build one with :meth:`empty`, add customers with :meth:`add_customers`,
    then allocate, adjust, recall and transfer.  Every operation returns a
    :class:`BookChange` ``(book, entry)``; an invalid one raises an
    :class:`~custvalue.allocation.AllocationError` subclass and, the book being
    immutable, changes nothing.

    Notes
    -----
    An operation costs O(customers it changes), not a copy of the book: the
    new book shares the old one's columns and appends the change to a log
    shared by both (the old book never sees it).  The log is folded into
    fresh columns (compacted, linear in the book) when it outgrows an eighth
    of the book, and at most once per book for queries over whole columns
    (:meth:`customers_of`, :meth:`unallocated`, :func:`attribute`); queries
    of one customer read the log directly.  :meth:`add_customers` and
    :meth:`with_managers` rewrite the columns.

    Examples
    --------
    >>> import datetime
    >>> book = AllocationBook.empty(managers={"M1": "B1", "M2": "B1"})
    >>> book, _ = book.add_customers(["C1", "C2"], "B1", effective=datetime.date(2026, 1, 1),
    ...                              operator="sys")
    >>> book, entry = book.allocate("C1", "M1", {"M1": "60%", "M2": "40%"}, tier="gold",
    ...                             effective=datetime.date(2026, 10, 1), operator="BM1")
    >>> book.shares_of("C1", datetime.date(2026, 10, 31)).as_dict()
    {'M1': 6000, 'M2': 4000}
    >>> book.unallocated("B1", datetime.date(2026, 10, 31)).tolist()
    ['C2']
    """

    # ----------------------------------------------------------------- construction

    @classmethod
    def empty(
        cls,
        managers: Mapping[str, str],
        *,
        branches: Iterable[str] | None = None,
        policy: AllocationPolicy | None = None,
        min_tier: str | None = None,
        tier_order: tuple[str, ...] | None = None,
        allow_cross_branch: bool | None = None,
    ) -> AllocationBook:
        """A book with no customers.

        Parameters
        ----------
        managers
            Manager registry: manager id -> branch id.
        branches
            Branch registry; defaults to the managers' branches.  Must contain
            every manager's branch.
        policy
            Allocation policy; ``min_tier``, ``tier_order`` and
            ``allow_cross_branch`` override its fields.

        Examples
        --------
        >>> book = AllocationBook.empty({"M1": "B1"}, branches=["B1", "B2"], min_tier="platinum")
        >>> book.branch_ids.tolist(), book.policy.min_tier
        (['B1', 'B2'], 'platinum')
        """
        pol = policy if policy is not None else AllocationPolicy()
        overrides: dict[str, Any] = {}
        if min_tier is not None:
            overrides["min_tier"] = min_tier
        if tier_order is not None:
            overrides["tier_order"] = tier_order
        if allow_cross_branch is not None:
            overrides["allow_cross_branch"] = allow_cross_branch
        if overrides:
            pol = attrs.evolve(pol, **overrides)
        branch_set = check_registry(managers, branches)
        branch_ids = np.array(sorted(branch_set), dtype=str) if branch_set else empty_ids()
        mids = sorted(managers)
        manager_ids = np.array(mids, dtype=str) if mids else empty_ids()
        mbranch = np.searchsorted(branch_ids, [managers[m] for m in mids]).astype(np.int32)
        i64 = np.empty(0, np.int64)
        i32 = np.empty(0, np.int32)
        return cls(
            policy=pol,
            branch_ids=readonly(branch_ids),
            manager_ids=readonly(manager_ids),
            manager_branch=readonly(mbranch),
            customer_ids=readonly(empty_ids()),
            sorter=readonly(i64.copy()),
            cust_branch=readonly(i32.copy()),
            cust_last=readonly(i32.copy()),
            cust_allocated=readonly(np.empty(0, np.bool_)),
            sp_cust=readonly(i64.copy()),
            sp_branch=readonly(i32.copy()),
            sp_start=readonly(i32.copy()),
            sp_end=readonly(i32.copy()),
            as_cust=readonly(i64.copy()),
            as_mgr=readonly(i32.copy()),
            as_bp=readonly(np.empty(0, np.int16)),
            as_primary=readonly(np.empty(0, np.bool_)),
            as_start=readonly(i32.copy()),
            as_end=readonly(i32.copy()),
            log=SharedList(),
            n_log=0,
        )

    def with_managers(self, managers: Mapping[str, str], *, branches: Iterable[str] = ()) -> AllocationBook:
        """Register more managers (and branches); existing entries must not change.

        Examples
        --------
        >>> book = AllocationBook.empty({"M1": "B1"}).with_managers({"M2": "B2"}, branches=["B2"])
        >>> book.managers
        {'M1': 'B1', 'M2': 'B2'}
        """
        current = self.managers
        for m, b in managers.items():
            text(m, "manager id")
            text(b, f"branch of manager {m!r}")
            if m in current and current[m] != b:
                raise AllocationError(
                    f"manager is registered at branch {current[m]!r}; a manager's branch "
                    f"cannot be changed to {b!r} (it would rewrite history)",
                    manager_id=m,
                )
        merged = {**current, **managers}
        new = AllocationBook.empty(
            merged, branches=set(self.branch_ids.tolist()) | set(branches), policy=self.policy
        )
        # Re-number managers and branches in existing records.
        book = compact(self)
        mmap = np.searchsorted(new.manager_ids, book.manager_ids).astype(np.int32)
        bmap = np.searchsorted(new.branch_ids, book.branch_ids).astype(np.int32)
        return attrs.evolve(
            book,
            branch_ids=new.branch_ids,
            manager_ids=new.manager_ids,
            manager_branch=new.manager_branch,
            cust_branch=readonly(bmap[book._cust_branch]),
            sp_branch=readonly(bmap[book._sp_branch]),
            as_mgr=readonly(mmap[book._as_mgr]),
        )

    # ----------------------------------------------------------------- properties

    @property
    def managers(self) -> dict[str, str]:
        """Manager registry as a new dict ``{manager_id: branch_id}``."""
        return dict(
            zip(
                self.manager_ids.tolist(),
                self.branch_ids[self.manager_branch].tolist(),
                strict=True,
            )
        )

    def __len__(self) -> int:
        return int(self.customer_ids.size)

    def __contains__(self, customer_id: object) -> bool:
        if not isinstance(customer_id, str):
            return False
        _, found = lookup(self, np.array([customer_id]))
        return bool(found[0])

    # ----------------------------------------------------------------- operations

    def add_customers(
        self,
        customer_ids: IdsLike,
        branch_ids: IdsLike,
        *,
        effective: _dt.date,
        operator: str,
        reason: str = "",
    ) -> BookChange:
        """Add customers to their branches' unallocated pools (vectorised).

        Parameters
        ----------
        customer_ids
            One id or a sequence/array of new, unique ids.
        branch_ids
            One branch for all, or one per customer.
        effective
            From this date the customers exist in the book.

        Raises
        ------
        DuplicateCustomerError, UnknownBranchError
            For a single id; :class:`BatchAllocationError` for a sequence.

        Examples
        --------
        >>> import datetime
        >>> book = AllocationBook.empty({"M1": "B1"})
        >>> book, entry = book.add_customers(["C1", "C2"], "B1",
        ...                                  effective=datetime.date(2026, 1, 1), operator="sys")
        >>> len(book), entry.operation
        (2, 'add_customers')
        """
        day = day_of(effective)
        single = isinstance(customer_ids, str)
        ids = operation_ids(customer_ids, "add_customers")
        if isinstance(branch_ids, str):
            br = np.full(ids.size, branch_ids)
        else:
            br = id_array(branch_ids, "branch_ids")
            if br.shape != ids.shape:
                raise AllocationError(
                    f"branch_ids must be one id or align with customer_ids ({br.shape} != {ids.shape})"
                )
        order, bpos, problems = check_new_customers(self, ids, br, effective)
        raise_problems(problems, ids, single, effective)
        entry = make_entry(self, "add_customers", effective, operator, reason, ids, branch_ids=br)
        return BookChange(add_rows(self, ids, order, bpos, day, entry), entry)

    def allocate(
        self,
        customer_id: str,
        primary: str,
        shares: SharesLike | None = None,
        *,
        tier: str,
        effective: _dt.date,
        operator: str,
        reason: str = "",
        _check_tier: bool = True,
    ) -> BookChange:
        """Single allocation (单一客户分配): give an unallocated customer its managers.

        Parameters
        ----------
        customer_id
            A customer in its branch's unallocated pool.
        primary
            The primary manager (主客户经理); must have a share.
        shares
            ``{manager_id: share}`` or ``[(manager_id, share), ...]`` for the
            primary and any secondaries, summing to exactly 100%; ``None``
            means 100% to the primary.  Shares: ``"60%"``, ``Decimal("0.6")``,
            ``Fraction(3, 5)`` or ``6000`` (int = basis points).
        tier
            The customer's current tier; must be at or above the policy's
            ``min_tier``.
        effective, operator, reason
            Effective date (not before the customer's latest change), who,
            and why.

        Examples
        --------
        >>> import datetime
        >>> from fractions import Fraction
        >>> book = AllocationBook.empty({"M1": "B1", "M2": "B1"})
        >>> book, _ = book.add_customers("C1", "B1", effective=datetime.date(2026, 1, 1),
        ...                              operator="sys")
        >>> book, _ = book.allocate("C1", "M2", {"M2": Fraction(3, 5), "M1": 4000},
        ...                         tier="platinum", effective=datetime.date(2026, 2, 1),
        ...                         operator="BM1", reason="new account")
        >>> book.shares_of("C1", datetime.date(2026, 2, 1)).shares
        (('M2', 6000), ('M1', 4000))
        """
        text(customer_id, "customer id")
        return self._assign(
            "allocate",
            np.array([customer_id]),
            primary,
            shares,
            tiers=tier,
            effective=effective,
            operator=operator,
            reason=reason,
            single=True,
            state="unallocated",
            check_tier=_check_tier,
        )

    def batch_allocate(
        self,
        customer_ids: IdsLike,
        primary: str,
        shares: SharesLike | None = None,
        *,
        tiers: TiersLike,
        effective: _dt.date,
        operator: str,
        reason: str = "",
        _check_tier: bool = True,
    ) -> BookChange:
        """Batch allocation (批量客户分配): same managers and shares for many customers.

        All-or-nothing: if any customer fails a check, nothing is applied and
        :class:`BatchAllocationError` lists every ``(customer_id, message)``.
        Validation is vectorised over the customers (no per-customer Python
        loop except to word the errors).

        Parameters
        ----------
        customer_ids
            Unallocated customers (a sequence or a numpy ``str`` array).
        primary, shares
            As for :meth:`allocate`.
        tiers
            One tier for all, an array aligned with ``customer_ids`` (fast),
            or a mapping ``customer_id -> tier``.

        Examples
        --------
        >>> import datetime
        >>> from custvalue.allocation import BatchAllocationError
        >>> book = AllocationBook.empty({"M1": "B1", "M2": "B1"})
        >>> book, _ = book.add_customers(["C1", "C2", "C3"], "B1",
        ...                              effective=datetime.date(2026, 1, 1), operator="sys")
        >>> try:
        ...     book.batch_allocate(["C1", "C2", "C3"], "M1", tiers=["gold", "potential", "core"],
        ...                         effective=datetime.date(2026, 2, 1), operator="BM1")
        ... except BatchAllocationError as exc:
        ...     print(exc.errors)  # doctest: +ELLIPSIS
        [('C2', "tier 'potential' is below the minimum allocatable tier 'gold'; ...")]
        >>> book, entry = book.batch_allocate(["C1", "C3"], "M1", {"M1": "50%", "M2": "50%"},
        ...                                   tiers="gold", effective=datetime.date(2026, 2, 1),
        ...                                   operator="BM1")
        >>> entry.customer_ids.tolist()
        ['C1', 'C3']
        """
        return self._assign(
            "batch_allocate",
            operation_ids(customer_ids, "batch_allocate"),
            primary,
            shares,
            tiers=tiers,
            effective=effective,
            operator=operator,
            reason=reason,
            single=False,
            state="unallocated",
            check_tier=_check_tier,
        )

    def adjust(
        self,
        customer_id: str,
        *,
        primary: str | None = None,
        shares: SharesLike | None = None,
        tier: str,
        effective: _dt.date,
        operator: str,
        reason: str,
        _check_tier: bool = True,
    ) -> BookChange:
        """Adjustment (分配调整): change an allocated customer's managers and/or shares.

        ``primary`` defaults to the current primary and ``shares`` to the
        current shares; the result is validated like an allocation and must
        differ from the current allocation.

        Examples
        --------
        >>> import datetime
        >>> book = AllocationBook.empty({"M1": "B1", "M2": "B1"})
        >>> book, _ = book.add_customers("C1", "B1", effective=datetime.date(2026, 1, 1),
        ...                              operator="sys")
        >>> book, _ = book.allocate("C1", "M1", tier="gold", effective=datetime.date(2026, 2, 1),
        ...                         operator="BM1")
        >>> book, _ = book.adjust("C1", shares={"M1": "70%", "M2": "30%"}, tier="gold",
        ...                       effective=datetime.date(2026, 11, 1), operator="BM1",
        ...                       reason="dispute settled")
        >>> book.shares_of("C1", datetime.date(2026, 10, 31)).as_dict()
        {'M1': 10000}
        >>> book.shares_of("C1", datetime.date(2026, 11, 1)).as_dict()
        {'M1': 7000, 'M2': 3000}
        """
        text(customer_id, "customer id")
        ci = customer_index(self, customer_id, effective)
        if not customer_state(self, np.array([ci], np.int64))[1][0]:
            raise NotAllocatedError(
                "customer has no managers (it is in its branch's unallocated pool)",
                customer_id=customer_id,
                effective=effective,
            )
        cur_primary, cur = open_shares(self, ci)
        new_primary = cur_primary if primary is None else primary
        new_shares: SharesLike = cur if shares is None else shares
        spec = parse_spec(self, new_primary, new_shares, customer_id=customer_id, effective=effective)
        names = self.manager_ids[spec[0]].tolist()
        if new_primary == cur_primary and dict(zip(names, spec[1].tolist(), strict=True)) == cur:
            raise NoChangeError(
                "adjustment does not change the managers or shares",
                customer_id=customer_id,
                effective=effective,
            )
        return self._assign(
            "adjust",
            np.array([customer_id]),
            new_primary,
            new_shares,
            tiers=tier,
            effective=effective,
            operator=operator,
            reason=reason,
            single=True,
            state="allocated",
            check_tier=_check_tier,
        )

    def _assign(
        self,
        operation: str,
        ids: IdArray,
        primary: str,
        shares: SharesLike | None,
        *,
        tiers: object,
        effective: _dt.date,
        operator: str,
        reason: str,
        single: bool,
        state: Literal["unallocated", "allocated"],
        check_tier: bool,
    ) -> BookChange:
        """Validate and apply an allocation or an adjustment of ``ids``."""
        day = day_of(effective)
        text(operator, "operator")
        text(reason, "reason")
        spec = parse_spec(
            self, primary, shares, customer_id=str(ids[0]) if single else None, effective=effective
        )
        ci, problems = check_customers(
            self, ids, day, state=state, tiers=tiers, check_tier=check_tier, spec_mgr=spec[0]
        )
        raise_problems(problems, ids, single, effective)
        entry = make_entry(self, operation, effective, operator, reason, ids, spec=spec)
        return BookChange(apply_change(self, ci, day, entry, spec=spec), entry)

    def recall(
        self,
        customer_ids: IdsLike,
        *,
        effective: _dt.date,
        operator: str,
        reason: str = "",
    ) -> BookChange:
        """Recall (客户回收): customers return to their branch's unallocated pool.

        A single id raises the specific error; a sequence is all-or-nothing
        with :class:`BatchAllocationError`.

        Examples
        --------
        >>> import datetime
        >>> book = AllocationBook.empty({"M1": "B1"})
        >>> book, _ = book.add_customers("C1", "B1", effective=datetime.date(2026, 1, 1),
        ...                              operator="sys")
        >>> book, _ = book.allocate("C1", "M1", tier="gold", effective=datetime.date(2026, 2, 1),
        ...                         operator="BM1")
        >>> book, _ = book.recall("C1", effective=datetime.date(2026, 6, 1), operator="BM1",
        ...                       reason="manager left")
        >>> book.unallocated("B1", datetime.date(2026, 6, 1)).tolist()
        ['C1']
        """
        day = day_of(effective)
        single = isinstance(customer_ids, str)
        ids = operation_ids(customer_ids, "recall")
        text(operator, "operator")
        text(reason, "reason")
        ci, problems = check_customers(self, ids, day, state="allocated")
        raise_problems(problems, ids, single, effective)
        entry = make_entry(self, "recall", effective, operator, reason, ids)
        return BookChange(apply_change(self, ci, day, entry, spec=None), entry)

    def transfer(
        self,
        customer_ids: IdsLike,
        to_branch: str,
        *,
        effective: _dt.date,
        operator: str,
        reason: str = "",
    ) -> BookChange:
        """Transfer customers to another branch; their managers are recalled.

        The customers land in the target branch's unallocated pool.

        Examples
        --------
        >>> import datetime
        >>> book = AllocationBook.empty({"M1": "B1", "M2": "B2"})
        >>> book, _ = book.add_customers("C1", "B1", effective=datetime.date(2026, 1, 1),
        ...                              operator="sys")
        >>> book, _ = book.transfer("C1", "B2", effective=datetime.date(2026, 3, 1),
        ...                         operator="HQ", reason="moved city")
        >>> [book.branch_of("C1", datetime.date(2026, m, 1)) for m in (2, 3)]
        ['B1', 'B2']
        """
        day = day_of(effective)
        single = isinstance(customer_ids, str)
        ids = operation_ids(customer_ids, "transfer")
        text(operator, "operator")
        text(reason, "reason")
        b = branch_index(self, to_branch, str(ids[0]) if single else None)
        ci, problems = check_customers(self, ids, day, state="any", to_branch=b)
        raise_problems(problems, ids, single, effective)
        entry = make_entry(
            self, "transfer", effective, operator, reason, ids, branch_ids=np.full(ids.size, to_branch)
        )
        return BookChange(apply_change(self, ci, day, entry, spec=None, to_branch=b), entry)

    # ----------------------------------------------------------------- queries

    def branch_of(self, customer_id: str, as_of: _dt.date) -> str:
        """The customer's branch as of a date.

        Raises :class:`UnknownCustomerError` if the customer is not in the
        book on that date.
        """
        return branch_of(self, customer_id, as_of)

    def shares_of(self, customer_id: str, as_of: _dt.date) -> CustomerAllocation:
        """A customer's branch, primary and shares as of a date (分配客户查询).

        Examples
        --------
        >>> import datetime
        >>> book = AllocationBook.empty({"M1": "B1"})
        >>> book, _ = book.add_customers("C1", "B1", effective=datetime.date(2026, 1, 1),
        ...                              operator="sys")
        >>> book.shares_of("C1", datetime.date(2026, 1, 1)).is_allocated
        False
        """
        return shares_of(self, customer_id, as_of)

    def primary_managers(self, customer_ids: IdsLike, as_of: Any) -> PrimaryManagers:
        """Many customers' branch and primary manager at once, vectorised.

        ``as_of`` is one ``datetime.date`` for all, or one date per customer
        (a sequence of dates or a ``datetime64`` array).  Customers not in
        the book on their date get ``""`` for branch and primary (no error:
        this answers for large lists such as alerts or campaign targets).

        Examples
        --------
        >>> import datetime
        >>> book = AllocationBook.empty({"M1": "B1"})
        >>> day = datetime.date(2026, 1, 1)
        >>> book, _ = book.add_customers(["C1", "C2"], "B1", effective=day, operator="sys")
        >>> book, _ = book.allocate("C1", "M1", {"M1": "100%"}, tier="gold", effective=day, operator="BM")
        >>> pm = book.primary_managers(["C1", "C2", "C9"], day)
        >>> pm.primary.tolist(), pm.branch_ids.tolist(), pm.in_book.tolist()
        (['M1', '', ''], ['B1', 'B1', ''], [True, True, False])
        """
        ids = id_array(customer_ids, "customer ids")
        if isinstance(as_of, _dt.date) and not isinstance(as_of, _dt.datetime):
            days = np.full(ids.shape[0], as_of.toordinal(), np.int64)
        else:
            d = np.asarray(as_of)
            if d.dtype.kind != "M":
                d = (
                    np.asarray([day_of(x, "as_of") for x in as_of], np.int64)
                    - _dt.date(1970, 1, 1).toordinal()
                )
                d = d.astype("datetime64[D]")
            d = d.astype("datetime64[D]").reshape(-1)
            if d.shape[0] != ids.shape[0]:
                raise AllocationError(f"as_of has {d.shape[0]} dates for {ids.shape[0]} customers")
            days = d.astype(np.int64) + _dt.date(1970, 1, 1).toordinal()
        return primary_managers(self, ids, days)

    def customers_of(self, manager_id: str, as_of: _dt.date) -> ManagerCustomers:
        """The customers a manager serves as of a date and the manager's shares.

        Examples
        --------
        >>> import datetime
        >>> book = AllocationBook.empty({"M1": "B1", "M2": "B1"})
        >>> book, _ = book.add_customers(["C1", "C2"], "B1", effective=datetime.date(2026, 1, 1),
        ...                              operator="sys")
        >>> book, _ = book.batch_allocate(["C1", "C2"], "M2", {"M1": "25%", "M2": "75%"},
        ...                               tiers="gold", effective=datetime.date(2026, 1, 1),
        ...                               operator="BM1")
        >>> mc = book.customers_of("M1", datetime.date(2026, 1, 1))
        >>> mc.customer_ids.tolist(), mc.total_bp, mc.total_share
        (['C1', 'C2'], 5000, Fraction(1, 2))
        """
        return customers_of(self, manager_id, as_of)

    def unallocated(self, branch_id: str, as_of: _dt.date) -> IdArray:
        """A branch's unallocated customers (待分配客户列表) as of a date, sorted by id."""
        return unallocated(self, branch_id, as_of)

    def history(self, customer_id: str) -> tuple[AuditEntry, ...]:
        """Audit entries concerning a customer, oldest first.

        Examples
        --------
        >>> import datetime
        >>> book = AllocationBook.empty({"M1": "B1"})
        >>> book, _ = book.add_customers("C1", "B1", effective=datetime.date(2026, 1, 1),
        ...                              operator="sys")
        >>> [e.operation for e in book.history("C1")]
        ['add_customers']
        """
        return history(self, customer_id)

    def in_book(self, as_of: _dt.date) -> NDArray[np.bool_]:
        """Whether each of the book's customers (:attr:`customer_ids` order) is in the book on a date.

        A customer is in the book from the day it was added until the day it
        left; the same test :meth:`attribute` applies to its amounts.  One
        read-only boolean array, from the date's cached layout.

        Examples
        --------
        >>> import datetime
        >>> book = AllocationBook.empty({"M1": "B1"})
        >>> book, _ = book.add_customers(["C1"], "B1", effective=datetime.date(2026, 1, 1), operator="sys")
        >>> book, _ = book.add_customers(["C2"], "B1", effective=datetime.date(2026, 3, 1), operator="sys")
        >>> book.customer_ids.tolist(), book.in_book(datetime.date(2026, 2, 1)).tolist()
        (['C1', 'C2'], [True, False])
        """
        return in_book(self, as_of)

    def attribute(
        self,
        amounts: NDArray[np.int64] | Sequence[int],
        as_of: _dt.date,
        *,
        customer_ids: IdsLike | None = None,
    ) -> Any:
        """Shortcut for :func:`custvalue.allocation.attribute` (returns an ``Attribution``)."""
        return attribute(self, amounts, as_of, customer_ids=customer_ids)

    # ----------------------------------------------------------------- serialisation

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-compatible data: registries, policy and the audit log.

        The state is fully determined by the audit log, which
        :meth:`from_dict` replays (validating every entry), so
        ``AllocationBook.from_dict(book.to_dict()).to_dict() == book.to_dict()``.

        Examples
        --------
        >>> import datetime, json
        >>> book = AllocationBook.empty({"M1": "B1"})
        >>> book, _ = book.add_customers("C1", "B1", effective=datetime.date(2026, 1, 1),
        ...                              operator="sys")
        >>> doc = json.loads(json.dumps(book.to_dict()))
        >>> AllocationBook.from_dict(doc).to_dict() == book.to_dict()
        True
        """
        return {
            "format": BOOK_FORMAT,
            "version": BOOK_VERSION,
            "policy": self.policy.to_dict(),
            "branches": self.branch_ids.tolist(),
            "managers": self.managers,
            "audit": [e.to_dict() for e in self.audit],
        }

    @classmethod
    def from_dict(cls, data: object) -> AllocationBook:
        """Rebuild a book from :meth:`to_dict` data, replaying and validating its log.

        Tier eligibility is not re-checked (tiers are not part of the log);
        everything else is.  Errors are :class:`DocumentError` naming the path.
        """
        policy, branches, managers, entries = read_document(data)
        try:
            book = cls.empty(managers, branches=branches, policy=policy)
        except AllocationError as exc:
            raise DocumentError(exc.message, path="$.managers") from exc
        for i, e in enumerate(entries):
            try:
                book = book._replay(e)
            except AllocationError as exc:
                raise DocumentError(f"entry cannot be replayed: {exc}", path=f"$.audit[{i}]") from exc
        return book

    def _replay(self, e: AuditEntry) -> AllocationBook:
        """The book after re-applying the operation recorded by ``e``.

        Tiers are not part of the log, so tier eligibility is not re-checked.
        """
        kw: dict[str, Any] = {"effective": e.effective, "operator": e.operator, "reason": e.reason}
        ids = e.customer_ids
        if ids.size == 0 and e.operation in ("add_customers", "batch_allocate", "recall", "transfer"):
            return log_only(self, e)  # 0.1.0 logged operations on no customers; they changed nothing
        if e.operation == "add_customers":
            assert e.branch_ids is not None
            return self.add_customers(ids, e.branch_ids, **kw).book
        if e.operation == "recall":
            return self.recall(ids, **kw).book
        if e.operation == "transfer":
            assert e.branch_ids is not None
            if bool(np.any(e.branch_ids != e.branch_ids[0])):
                raise AllocationError("a transfer has one target branch")
            return self.transfer(ids, str(e.branch_ids[0]), **kw).book
        assert e.primary is not None
        if e.operation == "batch_allocate":
            return self.batch_allocate(ids, e.primary, list(e.shares), tiers="", _check_tier=False, **kw).book
        if ids.size != 1:
            raise AllocationError(f"{e.operation} concerns exactly one customer")
        if e.operation == "allocate":
            return self.allocate(
                str(ids[0]), e.primary, list(e.shares), tier="", _check_tier=False, **kw
            ).book
        return self.adjust(
            str(ids[0]), primary=e.primary, shares=list(e.shares), tier="", _check_tier=False, **kw
        ).book
