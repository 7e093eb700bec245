"""The immutable, effective-dated allocation book (客户归属分配).

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
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any, Literal, NamedTuple, TypeAlias

import attrs
import numpy as np
from numpy.typing import NDArray

from ._errors import (
    AllocationError,
    AlreadyAllocatedError,
    BackdatedOperationError,
    BatchAllocationError,
    CrossBranchError,
    DocumentError,
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
    UnknownManagerError,
    UnknownTierError,
)
from ._shares import BP_WHOLE, ShareLike, SharesLike, parse_share

__all__ = [
    "DEFAULT_TIER_ORDER",
    "AllocationBook",
    "AllocationPolicy",
    "AuditEntry",
    "BookChange",
    "CustomerAllocation",
    "ManagerCustomers",
]

#: Tier names, highest first (core 核心级 > growth 成长级 > platinum 白金级 >
#: gold 金级 > potential 潜力级).
DEFAULT_TIER_ORDER: tuple[str, ...] = ("core", "growth", "platinum", "gold", "potential")

OPEN = int(np.iinfo(np.int32).max)
BOOK_FORMAT = "custvalue.allocation_book"
BOOK_VERSION = 1

Operation: TypeAlias = Literal[
    "add_customers", "allocate", "batch_allocate", "adjust", "recall", "transfer"
]
OPERATIONS: tuple[str, ...] = (
    "add_customers",
    "allocate",
    "batch_allocate",
    "adjust",
    "recall",
    "transfer",
)

IdArray: TypeAlias = NDArray[np.str_]
TiersLike: TypeAlias = "str | Sequence[str] | NDArray[np.str_] | Mapping[str, str]"
IdsLike: TypeAlias = "str | Sequence[str] | NDArray[np.str_]"


# --------------------------------------------------------------------------- helpers


def _ro(arr: NDArray[Any]) -> NDArray[Any]:
    arr.setflags(write=False)
    return arr


def _ids(values: object, what: str) -> IdArray:
    """Coerce ids to a 1-d unicode array; every element must be a ``str``."""
    if isinstance(values, str):
        return np.array([values])
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise AllocationError(f"{what} must be a 1-d sequence of str, got shape {arr.shape}")
    if arr.size == 0:
        return np.empty(0, dtype="<U1")
    if arr.dtype.kind == "U":
        return arr
    if arr.dtype == object and all(isinstance(v, str) for v in arr.tolist()):
        return arr.astype(str)
    raise AllocationError(f"{what} must be str, got dtype {arr.dtype}")


def _day(value: object, what: str = "effective") -> int:
    if not isinstance(value, _dt.date) or isinstance(value, _dt.datetime):
        raise AllocationError(f"{what} must be a datetime.date, got {value!r}")
    return value.toordinal()


def _date(day: int) -> _dt.date:
    return _dt.date.fromordinal(int(day))


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise AllocationError(f"{what} must be a str, got {value!r}")
    return value


def _merge_sorted(
    old_key: NDArray[np.int64],
    new_key: NDArray[np.int64],
    old_cols: Sequence[NDArray[Any]],
    new_cols: Sequence[NDArray[Any]],
) -> list[NDArray[Any]]:
    """Merge new rows into rows sorted by ``key``; new rows go after equal keys."""
    pos = np.searchsorted(old_key, new_key, side="right")
    out = [np.insert(old_key, pos, new_key)]
    out.extend(np.insert(o, pos, n) for o, n in zip(old_cols, new_cols, strict=True))
    return [_ro(a) for a in out]


# --------------------------------------------------------------------------- value types


@attrs.frozen
class AllocationPolicy:
    """Policy parameters of allocation (级别参数: 分配范围).

    Parameters
    ----------
    min_tier
        Lowest tier that may be allocated to managers (default ``"gold"``);
        customers below it stay with their branch.
    tier_order
        Tier names, highest first.
    allow_cross_branch
        Whether a customer may be served by managers of another branch.

    Examples
    --------
    >>> p = AllocationPolicy()
    >>> p.eligible_tiers
    ('core', 'growth', 'platinum', 'gold')
    >>> AllocationPolicy(min_tier="platinum").is_eligible("gold")
    False
    """

    min_tier: str = "gold"
    tier_order: tuple[str, ...] = attrs.field(default=DEFAULT_TIER_ORDER, converter=tuple)
    allow_cross_branch: bool = False

    def __attrs_post_init__(self) -> None:
        if not self.tier_order or not all(isinstance(t, str) for t in self.tier_order):
            raise AllocationError(f"tier_order must be non-empty str names: {self.tier_order!r}")
        if len(set(self.tier_order)) != len(self.tier_order):
            raise AllocationError(f"tier_order has duplicates: {self.tier_order!r}")
        if self.min_tier not in self.tier_order:
            raise UnknownTierError(
                f"min_tier {self.min_tier!r} is not in tier_order {self.tier_order!r}"
            )
        if not isinstance(self.allow_cross_branch, bool):
            raise AllocationError("allow_cross_branch must be a bool")

    @classmethod
    def from_tier_policy(cls, policy: Any, *, allow_cross_branch: bool = False) -> AllocationPolicy:
        """Take the minimum tier and tier order from a tier policy document.

        ``policy`` is a :class:`custvalue.Policy`; its ``minimum_allocation_tier``
        (default ``"gold"`` in the shipped policy) and ``tier_order`` are used.

        >>> from custvalue import default_policy
        >>> AllocationPolicy.from_tier_policy(default_policy()).eligible_tiers
        ('core', 'growth', 'platinum', 'gold')
        """
        order = tuple(policy.tier_order)
        minimum = policy.minimum_allocation_tier or order[-1]
        return cls(min_tier=minimum, tier_order=order, allow_cross_branch=allow_cross_branch)

    @property
    def eligible_tiers(self) -> tuple[str, ...]:
        """Tiers at or above :attr:`min_tier`."""
        return self.tier_order[: self.tier_order.index(self.min_tier) + 1]

    def is_eligible(self, tier: str) -> bool:
        """Whether ``tier`` may be allocated; unknown tiers raise."""
        if tier not in self.tier_order:
            raise UnknownTierError(f"unknown tier {tier!r}; known: {self.tier_order!r}")
        return tier in self.eligible_tiers

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-compatible data."""
        return {
            "min_tier": self.min_tier,
            "tier_order": list(self.tier_order),
            "allow_cross_branch": self.allow_cross_branch,
        }

    @classmethod
    def from_dict(cls, data: object, path: str = "$") -> AllocationPolicy:
        """Inverse of :meth:`to_dict`; errors name the document path."""
        d = _expect_dict(data, path, {"min_tier", "tier_order", "allow_cross_branch"})
        tiers = _expect_list(d["tier_order"], f"{path}.tier_order")
        for i, t in enumerate(tiers):
            _expect_str(t, f"{path}.tier_order[{i}]")
        cross = d["allow_cross_branch"]
        if not isinstance(cross, bool):
            raise DocumentError("expected true or false", path=f"{path}.allow_cross_branch")
        try:
            return cls(
                min_tier=_expect_str(d["min_tier"], f"{path}.min_tier"),
                tier_order=tuple(tiers),
                allow_cross_branch=cross,
            )
        except AllocationError as exc:
            raise DocumentError(str(exc), path=path) from exc


@attrs.frozen(eq=False)
class AuditEntry:
    """One recorded operation: who, effective when, why, on which customers.

    Attributes
    ----------
    seq
        Position in the book's audit log (0-based).
    operation
        ``"add_customers"``, ``"allocate"``, ``"batch_allocate"``,
        ``"adjust"``, ``"recall"`` or ``"transfer"``.
    effective, operator, reason
        When the change takes effect, who made it, why.
    customer_ids
        Read-only array of the customers concerned.
    branch_ids
        For ``add_customers`` the branch of each customer; for ``transfer``
        the target branch of each customer; otherwise ``None``.
    primary, shares
        For allocations and adjustments: the primary manager and every
        manager's share in basis points, primary first.
    """

    seq: int
    operation: str
    effective: _dt.date
    operator: str
    reason: str
    customer_ids: IdArray
    branch_ids: IdArray | None = None
    primary: str | None = None
    shares: tuple[tuple[str, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-compatible data (dates as ISO strings, shares as int bp)."""
        out: dict[str, Any] = {
            "seq": self.seq,
            "operation": self.operation,
            "effective": self.effective.isoformat(),
            "operator": self.operator,
            "reason": self.reason,
            "customer_ids": self.customer_ids.tolist(),
        }
        if self.branch_ids is not None:
            out["branch_ids"] = self.branch_ids.tolist()
        if self.primary is not None:
            out["primary"] = self.primary
            out["shares"] = [[m, bp] for m, bp in self.shares]
        return out

    @classmethod
    def from_dict(cls, data: object, path: str = "$") -> AuditEntry:
        """Inverse of :meth:`to_dict`; errors name the document path."""
        d = _expect_dict(
            data,
            path,
            {"seq", "operation", "effective", "operator", "reason", "customer_ids"},
            optional={"branch_ids", "primary", "shares"},
        )
        seq = d["seq"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise DocumentError("expected a non-negative int", path=f"{path}.seq")
        op = _expect_str(d["operation"], f"{path}.operation")
        if op not in OPERATIONS:
            raise DocumentError(f"unknown operation {op!r}", path=f"{path}.operation")
        eff = _expect_date(d["effective"], f"{path}.effective")
        cust = _expect_str_list(d["customer_ids"], f"{path}.customer_ids")
        branches: IdArray | None = None
        if "branch_ids" in d:
            branches = _expect_str_list(d["branch_ids"], f"{path}.branch_ids")
            if branches.shape != cust.shape:
                raise DocumentError(
                    "branch_ids must align with customer_ids", path=f"{path}.branch_ids"
                )
        needs_branch = op in ("add_customers", "transfer")
        if needs_branch != (branches is not None):
            raise DocumentError(
                f"branch_ids is {'required' if needs_branch else 'not allowed'} for {op}",
                path=path,
            )
        primary: str | None = None
        shares: tuple[tuple[str, int], ...] = ()
        needs_shares = op in ("allocate", "batch_allocate", "adjust")
        if needs_shares != ("primary" in d) or ("primary" in d) != ("shares" in d):
            raise DocumentError(
                f"primary and shares are {'required' if needs_shares else 'not allowed'} for {op}",
                path=path,
            )
        if needs_shares:
            primary = _expect_str(d["primary"], f"{path}.primary")
            raw = _expect_list(d["shares"], f"{path}.shares")
            items: list[tuple[str, int]] = []
            for i, pair in enumerate(raw):
                p = f"{path}.shares[{i}]"
                pl = _expect_list(pair, p)
                if len(pl) != 2:
                    raise DocumentError("expected [manager_id, basis_points]", path=p)
                bp = pl[1]
                if not isinstance(bp, int) or isinstance(bp, bool):
                    raise DocumentError("expected int basis points", path=f"{p}[1]")
                items.append((_expect_str(pl[0], f"{p}[0]"), bp))
            shares = tuple(items)
        return cls(
            seq=seq,
            operation=op,
            effective=eff,
            operator=_expect_str(d["operator"], f"{path}.operator"),
            reason=_expect_str(d["reason"], f"{path}.reason"),
            customer_ids=_ro(cust),
            branch_ids=None if branches is None else _ro(branches),
            primary=primary,
            shares=shares,
        )


class BookChange(NamedTuple):
    """Result of a book operation: the new book and the audit entry it recorded."""

    book: AllocationBook
    entry: AuditEntry


@attrs.frozen
class CustomerAllocation:
    """A customer's branch and managers as of a date.

    ``primary`` is ``None`` and ``shares`` empty when the customer is in its
    branch's unallocated pool.  ``shares`` lists ``(manager_id, bp)``, primary
    first, then by manager id.
    """

    customer_id: str
    as_of: _dt.date
    branch_id: str
    primary: str | None
    shares: tuple[tuple[str, int], ...]

    @property
    def is_allocated(self) -> bool:
        """Whether the customer has managers as of :attr:`as_of`."""
        return self.primary is not None

    def as_dict(self) -> dict[str, int]:
        """``{manager_id: basis_points}``."""
        return dict(self.shares)


@attrs.frozen(eq=False)
class ManagerCustomers:
    """The customers a manager serves as of a date, with the manager's shares."""

    manager_id: str
    branch_id: str
    as_of: _dt.date
    customer_ids: IdArray
    shares_bp: NDArray[np.int64]
    is_primary: NDArray[np.bool_]

    @property
    def total_bp(self) -> int:
        """Sum of the manager's shares, in basis points (10000 = one customer)."""
        return int(self.shares_bp.sum())

    @property
    def total_share(self) -> Fraction:
        """Sum of the manager's shares as a number of whole customers."""
        return Fraction(self.total_bp, BP_WHOLE)


# --------------------------------------------------------------------------- the book


@attrs.frozen(eq=False)
class AllocationBook:
    """Immutable, effective-dated allocation of customers to account managers.

    Build one with :meth:`empty`, add customers with :meth:`add_customers`,
    then allocate, adjust, recall and transfer.  Every operation returns a
    :class:`BookChange` ``(book, entry)``; an invalid one raises an
    :class:`~custvalue.allocation.AllocationError` subclass and, the book being
    immutable, changes nothing.

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

    policy: AllocationPolicy
    branch_ids: IdArray
    manager_ids: IdArray
    manager_branch: NDArray[np.int32]
    customer_ids: IdArray
    _sorter: NDArray[np.int64] = attrs.field(repr=False)
    _cust_branch: NDArray[np.int32] = attrs.field(repr=False)
    _cust_last: NDArray[np.int32] = attrs.field(repr=False)
    _cust_allocated: NDArray[np.bool_] = attrs.field(repr=False)
    _sp_cust: NDArray[np.int64] = attrs.field(repr=False)
    _sp_branch: NDArray[np.int32] = attrs.field(repr=False)
    _sp_start: NDArray[np.int32] = attrs.field(repr=False)
    _sp_end: NDArray[np.int32] = attrs.field(repr=False)
    _as_cust: NDArray[np.int64] = attrs.field(repr=False)
    _as_mgr: NDArray[np.int32] = attrs.field(repr=False)
    _as_bp: NDArray[np.int16] = attrs.field(repr=False)
    _as_primary: NDArray[np.bool_] = attrs.field(repr=False)
    _as_start: NDArray[np.int32] = attrs.field(repr=False)
    _as_end: NDArray[np.int32] = attrs.field(repr=False)
    audit: tuple[AuditEntry, ...] = attrs.field(repr=False)

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
        if not isinstance(managers, Mapping):
            raise AllocationError("managers must be a mapping manager_id -> branch_id")
        for m, b in managers.items():
            _text(m, "manager id")
            _text(b, f"branch of manager {m!r}")
        branch_set = set(managers.values()) if branches is None else set(branches)
        for b in branch_set:
            _text(b, "branch id")
        for m, b in managers.items():
            if b not in branch_set:
                raise UnknownBranchError(
                    f"manager's branch {b!r} is not in the branch registry",
                    manager_id=m,
                    branch_id=b,
                )
        branch_ids = np.array(sorted(branch_set), dtype=str) if branch_set else _empty_ids()
        mids = sorted(managers)
        manager_ids = np.array(mids, dtype=str) if mids else _empty_ids()
        mbranch = np.searchsorted(branch_ids, [managers[m] for m in mids]).astype(np.int32)
        i64 = np.empty(0, np.int64)
        i32 = np.empty(0, np.int32)
        return cls(
            policy=pol,
            branch_ids=_ro(branch_ids),
            manager_ids=_ro(manager_ids),
            manager_branch=_ro(mbranch),
            customer_ids=_ro(_empty_ids()),
            sorter=_ro(i64.copy()),
            cust_branch=_ro(i32.copy()),
            cust_last=_ro(i32.copy()),
            cust_allocated=_ro(np.empty(0, np.bool_)),
            sp_cust=_ro(i64.copy()),
            sp_branch=_ro(i32.copy()),
            sp_start=_ro(i32.copy()),
            sp_end=_ro(i32.copy()),
            as_cust=_ro(i64.copy()),
            as_mgr=_ro(i32.copy()),
            as_bp=_ro(np.empty(0, np.int16)),
            as_primary=_ro(np.empty(0, np.bool_)),
            as_start=_ro(i32.copy()),
            as_end=_ro(i32.copy()),
            audit=(),
        )

    def with_managers(
        self, managers: Mapping[str, str], *, branches: Iterable[str] = ()
    ) -> AllocationBook:
        """Register more managers (and branches); existing entries must not change.

        Examples
        --------
        >>> book = AllocationBook.empty({"M1": "B1"}).with_managers({"M2": "B2"}, branches=["B2"])
        >>> book.managers
        {'M1': 'B1', 'M2': 'B2'}
        """
        current = self.managers
        for m, b in managers.items():
            _text(m, "manager id")
            _text(b, f"branch of manager {m!r}")
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
        mmap = np.searchsorted(new.manager_ids, self.manager_ids).astype(np.int32)
        bmap = np.searchsorted(new.branch_ids, self.branch_ids).astype(np.int32)
        return attrs.evolve(
            self,
            branch_ids=new.branch_ids,
            manager_ids=new.manager_ids,
            manager_branch=new.manager_branch,
            cust_branch=_ro(bmap[self._cust_branch]),
            sp_branch=_ro(bmap[self._sp_branch]),
            as_mgr=_ro(mmap[self._as_mgr]),
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
        _, found = self._lookup(np.array([customer_id]))
        return bool(found[0])

    # ----------------------------------------------------------------- lookups

    def _lookup(self, ids: IdArray) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        n = self.customer_ids.size
        if n == 0 or ids.size == 0:
            return np.zeros(ids.size, np.int64), np.zeros(ids.size, np.bool_)
        pos = np.searchsorted(self.customer_ids, ids, sorter=self._sorter)
        np.minimum(pos, n - 1, out=pos)
        idx = self._sorter[pos]
        found = self.customer_ids[idx] == ids
        return idx.astype(np.int64), np.asarray(found, dtype=np.bool_)

    def _customer_index(self, customer_id: str, effective: _dt.date | None = None) -> int:
        _text(customer_id, "customer id")
        idx, found = self._lookup(np.array([customer_id]))
        if not found[0]:
            raise UnknownCustomerError(
                "customer is not in the book", customer_id=customer_id, effective=effective
            )
        return int(idx[0])

    def _manager_index(
        self,
        manager_id: str,
        customer_id: str | None = None,
        effective: _dt.date | None = None,
    ) -> int:
        _text(manager_id, "manager id")
        pos = int(np.searchsorted(self.manager_ids, manager_id))
        if pos >= self.manager_ids.size or self.manager_ids[pos] != manager_id:
            raise UnknownManagerError(
                "manager is not in the manager registry",
                manager_id=manager_id,
                customer_id=customer_id,
                effective=effective,
            )
        return pos

    def _branch_index(self, branch_id: str, customer_id: str | None = None) -> int:
        _text(branch_id, "branch id")
        pos = int(np.searchsorted(self.branch_ids, branch_id))
        if pos >= self.branch_ids.size or self.branch_ids[pos] != branch_id:
            raise UnknownBranchError(
                "branch is not in the branch registry", branch_id=branch_id, customer_id=customer_id
            )
        return pos

    def _parse_spec(
        self,
        primary: str,
        shares: SharesLike | None,
        *,
        customer_id: str | None,
        effective: _dt.date,
    ) -> tuple[NDArray[np.int32], NDArray[np.int16], NDArray[np.bool_]]:
        """Validate a manager/share specification; primary first, then by id."""
        _text(primary, "primary manager id")
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
                    raise AllocationError(
                        f"shares entry {pair!r} is not a (manager_id, share) pair", **ctx
                    )
                items.append((pair[0], pair[1]))
        if not items:
            raise ShareSumError("no managers given", **ctx)
        seen: dict[str, int] = {}
        for mid, raw in items:
            m = _text(mid, "manager id")
            if m in seen:
                raise DuplicateManagerError("manager appears more than once", manager_id=m, **ctx)
            try:
                bp = parse_share(raw)
            except InvalidShareError as exc:
                raise InvalidShareError(exc.message, manager_id=m, **ctx) from None
            if bp <= 0:
                raise InvalidShareError(f"share must be > 0, got {bp} bp", manager_id=m, **ctx)
            if bp > BP_WHOLE:
                raise InvalidShareError(
                    f"share {bp} bp exceeds 100% (10000 bp)", manager_id=m, **ctx
                )
            seen[m] = bp
        total = sum(seen.values())
        if total != BP_WHOLE:
            listing = ", ".join(f"{m}={bp}" for m, bp in seen.items())
            raise ShareSumError(
                f"shares sum to {total} bp, not exactly 10000 bp (100%): {listing}", **ctx
            )
        if primary not in seen:
            raise PrimaryManagerError(
                "the primary manager must be one of the managers with a share",
                manager_id=primary,
                **ctx,
            )
        order = [primary, *sorted(m for m in seen if m != primary)]
        mgr = np.array(
            [self._manager_index(m, customer_id, effective) for m in order], dtype=np.int32
        )
        bps = np.array([seen[m] for m in order], dtype=np.int16)
        prim = np.zeros(len(order), dtype=np.bool_)
        prim[0] = True
        return mgr, bps, prim

    def _tier_ranks(self, tiers: object, ids: IdArray) -> NDArray[np.int64]:
        """Rank of each customer's tier in the tier order (-1 for unknown)."""
        order = np.array(self.policy.tier_order, dtype=str)
        if isinstance(tiers, str):
            t = np.full(ids.size, tiers)
        elif isinstance(tiers, Mapping):
            t = np.array([tiers.get(c, "") for c in ids.tolist()], dtype=str)
        else:
            t = np.asarray(tiers)
            if t.shape != ids.shape:
                raise AllocationError(
                    f"tiers must align with customer_ids: shape {t.shape} != {ids.shape}"
                )
            if t.size and t.dtype.kind != "U":
                t = _ids(t, "tiers")
        sorter = np.argsort(order)
        pos = np.searchsorted(order, t, sorter=sorter)
        np.minimum(pos, order.size - 1, out=pos)
        ranks = sorter[pos].astype(np.int64)
        ranks[order[ranks] != t] = -1
        return ranks

    # ----------------------------------------------------------------- validation

    def _check_customers(
        self,
        ids: IdArray,
        day: int,
        *,
        state: Literal["unallocated", "allocated", "any"],
        tiers: object | None = None,
        check_tier: bool = True,
        spec_mgr: NDArray[np.int32] | None = None,
        to_branch: int | None = None,
    ) -> tuple[NDArray[np.int64], list[tuple[int, AllocationError]]]:
        """Vectorised per-customer checks; returns indices and problems by position."""
        eff = _date(day)
        idx, found = self._lookup(ids)
        problems: list[tuple[int, AllocationError]] = []

        def report(mask: NDArray[np.bool_], make: Any) -> None:
            for p in np.flatnonzero(mask).tolist():
                problems.append((p, make(p)))

        report(
            ~found,
            lambda p: UnknownCustomerError(
                "customer is not in the book", customer_id=str(ids[p]), effective=eff
            ),
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
        if self.customer_ids.size == 0:
            return idx, sorted(problems, key=lambda e: e[0])
        last = self._cust_last[idx]
        report(
            found & (last > day),
            lambda p: BackdatedOperationError(
                f"effective date is before the customer's latest recorded change on "
                f"{_date(int(last[p])).isoformat()} (no back-dated rewrites)",
                customer_id=str(ids[p]),
                effective=eff,
            ),
        )
        alloc = self._cust_allocated[idx]
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
        cbranch = self._cust_branch[idx]
        if to_branch is not None:
            report(
                found & (cbranch == to_branch),
                lambda p: NoChangeError(
                    "customer already belongs to the target branch",
                    customer_id=str(ids[p]),
                    branch_id=str(self.branch_ids[to_branch]),
                    effective=eff,
                ),
            )
        if tiers is not None and check_tier:
            ranks = self._tier_ranks(tiers, ids)
            report(
                found & (ranks < 0),
                lambda p: UnknownTierError(
                    f"tier is not one of {self.policy.tier_order!r}",
                    customer_id=str(ids[p]),
                    effective=eff,
                ),
            )
            limit = self.policy.tier_order.index(self.policy.min_tier)
            report(
                found & (ranks > limit),
                lambda p: IneligibleTierError(
                    f"tier {self.policy.tier_order[int(ranks[p])]!r} is below the minimum "
                    f"allocatable tier {self.policy.min_tier!r}; the customer stays with its "
                    "branch",
                    customer_id=str(ids[p]),
                    effective=eff,
                ),
            )
        if spec_mgr is not None and not self.policy.allow_cross_branch:
            for m in spec_mgr.tolist():
                mb = int(self.manager_branch[m])
                report(
                    found & (cbranch != mb),
                    lambda p, m=m, mb=mb: CrossBranchError(
                        f"manager belongs to branch {str(self.branch_ids[mb])!r}, not the "
                        f"customer's branch {str(self.branch_ids[int(cbranch[p])])!r}",
                        customer_id=str(ids[p]),
                        manager_id=str(self.manager_ids[m]),
                        effective=eff,
                    ),
                )
        return idx, sorted(problems, key=lambda e: e[0])

    @staticmethod
    def _raise(
        problems: list[tuple[int, AllocationError]], ids: IdArray, single: bool, eff: _dt.date
    ) -> None:
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

    # ----------------------------------------------------------------- mutation core

    def _entry(
        self,
        operation: str,
        effective: _dt.date,
        operator: str,
        reason: str,
        ids: IdArray,
        *,
        branch_ids: IdArray | None = None,
        spec: tuple[NDArray[np.int32], NDArray[np.int16], NDArray[np.bool_]] | None = None,
    ) -> AuditEntry:
        _text(operator, "operator")
        _text(reason, "reason")
        primary = None
        shares: tuple[tuple[str, int], ...] = ()
        if spec is not None:
            mgr, bps, _ = spec
            names = self.manager_ids[mgr].tolist()
            primary = names[0]
            shares = tuple(zip(names, (int(b) for b in bps.tolist()), strict=True))
        return AuditEntry(
            seq=len(self.audit),
            operation=operation,
            effective=effective,
            operator=operator,
            reason=reason,
            customer_ids=_ro(ids.copy()),
            branch_ids=None if branch_ids is None else _ro(branch_ids.copy()),
            primary=primary,
            shares=shares,
        )

    def _close_assignments(self, sel: NDArray[np.bool_], day: int) -> dict[str, NDArray[Any]]:
        end = self._as_end.copy()
        close = (end == OPEN) & sel[self._as_cust]
        end[close] = day
        keep = self._as_start < end
        return {
            "cust": self._as_cust[keep],
            "mgr": self._as_mgr[keep],
            "bp": self._as_bp[keep],
            "primary": self._as_primary[keep],
            "start": self._as_start[keep],
            "end": end[keep],
        }

    def _apply(
        self,
        ci: NDArray[np.int64],
        day: int,
        entry: AuditEntry,
        *,
        spec: tuple[NDArray[np.int32], NDArray[np.int16], NDArray[np.bool_]] | None,
        to_branch: int | None = None,
    ) -> BookChange:
        """Close the customers' open assignments at ``day`` and open ``spec``."""
        ci = np.sort(ci)
        n = self.customer_ids.size
        sel = np.zeros(n, np.bool_)
        sel[ci] = True
        a = self._close_assignments(sel, day)
        allocated = self._cust_allocated.copy()
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
            cust, mg, bp, pr, st, en = _merge_sorted(
                a["cust"],
                np.repeat(ci, k),
                [a["mgr"], a["bp"], a["primary"], a["start"], a["end"]],
                list(new_cols),
            )
            allocated[ci] = True
        else:
            cust, mg, bp, pr, st, en = (
                _ro(a[c]) for c in ("cust", "mgr", "bp", "primary", "start", "end")
            )
            allocated[ci] = False
        last = self._cust_last.copy()
        last[ci] = day
        changes: dict[str, Any] = {
            "as_cust": cust,
            "as_mgr": mg,
            "as_bp": bp,
            "as_primary": pr,
            "as_start": st,
            "as_end": en,
            "cust_last": _ro(last),
            "cust_allocated": _ro(allocated),
            "audit": (*self.audit, entry),
        }
        if to_branch is not None:
            send = self._sp_end.copy()
            close = (send == OPEN) & sel[self._sp_cust]
            send[close] = day
            keep = self._sp_start < send
            sc, sb, ss, se = _merge_sorted(
                self._sp_cust[keep],
                ci,
                [self._sp_branch[keep], self._sp_start[keep], send[keep]],
                [
                    np.full(ci.size, to_branch, np.int32),
                    np.full(ci.size, day, np.int32),
                    np.full(ci.size, OPEN, np.int32),
                ],
            )
            cb = self._cust_branch.copy()
            cb[ci] = to_branch
            changes.update(sp_cust=sc, sp_branch=sb, sp_start=ss, sp_end=se, cust_branch=_ro(cb))
        return BookChange(attrs.evolve(self, **changes), entry)

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
        day = _day(effective)
        single = isinstance(customer_ids, str)
        ids = _ids(customer_ids, "customer_ids")
        if isinstance(branch_ids, str):
            br = np.full(ids.size, branch_ids)
        else:
            br = _ids(branch_ids, "branch_ids")
            if br.shape != ids.shape:
                raise AllocationError(
                    f"branch_ids must be one id or align with customer_ids "
                    f"({br.shape} != {ids.shape})"
                )
        problems: list[tuple[int, AllocationError]] = []
        _, found = self._lookup(ids)
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
        bpos = np.searchsorted(self.branch_ids, br)
        bpos = np.minimum(bpos, max(self.branch_ids.size - 1, 0))
        known = (
            self.branch_ids[bpos] == br if self.branch_ids.size else np.zeros(ids.size, np.bool_)
        )
        for p in np.flatnonzero(~known).tolist():
            problems.append(
                (
                    p,
                    UnknownBranchError(
                        "branch is not in the branch registry",
                        customer_id=str(ids[p]),
                        branch_id=str(br[p]),
                        effective=effective,
                    ),
                )
            )
        problems.sort(key=lambda e: e[0])
        self._raise(problems, ids, single, effective)
        entry = self._entry("add_customers", effective, operator, reason, ids, branch_ids=br)
        n0 = self.customer_ids.size
        new_idx = np.arange(n0, n0 + ids.size, dtype=np.int64)
        all_ids = np.concatenate([self.customer_ids, ids])
        runs = np.concatenate([self._sorter, n0 + order.astype(np.int64)])
        sorter = runs[np.argsort(all_ids[runs], kind="stable")]
        b32 = bpos.astype(np.int32)
        book = attrs.evolve(
            self,
            customer_ids=_ro(all_ids),
            sorter=_ro(sorter.astype(np.int64)),
            cust_branch=_ro(np.concatenate([self._cust_branch, b32])),
            cust_last=_ro(np.concatenate([self._cust_last, np.full(ids.size, day, np.int32)])),
            cust_allocated=_ro(np.concatenate([self._cust_allocated, np.zeros(ids.size, bool)])),
            sp_cust=_ro(np.concatenate([self._sp_cust, new_idx])),
            sp_branch=_ro(np.concatenate([self._sp_branch, b32])),
            sp_start=_ro(np.concatenate([self._sp_start, np.full(ids.size, day, np.int32)])),
            sp_end=_ro(np.concatenate([self._sp_end, np.full(ids.size, OPEN, np.int32)])),
            audit=(*self.audit, entry),
        )
        return BookChange(book, entry)

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
        _text(customer_id, "customer id")
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
            _ids(customer_ids, "customer_ids"),
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
        _text(customer_id, "customer id")
        ci = self._customer_index(customer_id, effective)
        if not self._cust_allocated[ci]:
            raise NotAllocatedError(
                "customer has no managers (it is in its branch's unallocated pool)",
                customer_id=customer_id,
                effective=effective,
            )
        lo, hi = np.searchsorted(self._as_cust, [ci, ci + 1])
        rows = np.arange(lo, hi)[self._as_end[lo:hi] == OPEN]
        cur = {
            str(self.manager_ids[m]): int(b)
            for m, b in zip(self._as_mgr[rows].tolist(), self._as_bp[rows].tolist(), strict=True)
        }
        cur_primary = str(self.manager_ids[self._as_mgr[rows][self._as_primary[rows]][0]])
        new_primary = cur_primary if primary is None else primary
        new_shares: SharesLike = cur if shares is None else shares
        spec = self._parse_spec(
            new_primary, new_shares, customer_id=customer_id, effective=effective
        )
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
        day = _day(effective)
        _text(operator, "operator")
        _text(reason, "reason")
        spec = self._parse_spec(
            primary, shares, customer_id=str(ids[0]) if single else None, effective=effective
        )
        ci, problems = self._check_customers(
            ids, day, state=state, tiers=tiers, check_tier=check_tier, spec_mgr=spec[0]
        )
        self._raise(problems, ids, single, effective)
        entry = self._entry(operation, effective, operator, reason, ids, spec=spec)
        return self._apply(ci, day, entry, spec=spec)

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
        day = _day(effective)
        single = isinstance(customer_ids, str)
        ids = _ids(customer_ids, "customer_ids")
        _text(operator, "operator")
        _text(reason, "reason")
        ci, problems = self._check_customers(ids, day, state="allocated")
        self._raise(problems, ids, single, effective)
        entry = self._entry("recall", effective, operator, reason, ids)
        return self._apply(ci, day, entry, spec=None)

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
        day = _day(effective)
        single = isinstance(customer_ids, str)
        ids = _ids(customer_ids, "customer_ids")
        _text(operator, "operator")
        _text(reason, "reason")
        b = self._branch_index(to_branch, str(ids[0]) if single else None)
        ci, problems = self._check_customers(ids, day, state="any", to_branch=b)
        self._raise(problems, ids, single, effective)
        entry = self._entry(
            "transfer", effective, operator, reason, ids, branch_ids=np.full(ids.size, to_branch)
        )
        return self._apply(ci, day, entry, spec=None, to_branch=b)

    # ----------------------------------------------------------------- queries

    def _present(self, day: int) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
        """Customers in the book on ``day`` and their branch (by customer index)."""
        m = (self._sp_start <= day) & (self._sp_end > day)
        return self._sp_cust[m], self._sp_branch[m]

    def _active(self, day: int) -> NDArray[np.intp]:
        """Row numbers of the assignments in force on ``day`` (sorted by customer)."""
        return np.flatnonzero((self._as_start <= day) & (self._as_end > day))

    def branch_of(self, customer_id: str, as_of: _dt.date) -> str:
        """The customer's branch as of a date.

        Raises :class:`UnknownCustomerError` if the customer is not in the
        book on that date.
        """
        day = _day(as_of, "as_of")
        ci = self._customer_index(customer_id, as_of)
        lo, hi = np.searchsorted(self._sp_cust, [ci, ci + 1])
        rows = np.arange(lo, hi)
        rows = rows[(self._sp_start[rows] <= day) & (self._sp_end[rows] > day)]
        if rows.size == 0:
            raise UnknownCustomerError(
                "customer is not in the book on this date", customer_id=customer_id, effective=as_of
            )
        return str(self.branch_ids[self._sp_branch[rows[0]]])

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
        day = _day(as_of, "as_of")
        branch = self.branch_of(customer_id, as_of)
        ci = self._customer_index(customer_id, as_of)
        lo, hi = np.searchsorted(self._as_cust, [ci, ci + 1])
        rows = np.arange(lo, hi)
        rows = rows[(self._as_start[rows] <= day) & (self._as_end[rows] > day)]
        if rows.size == 0:
            return CustomerAllocation(customer_id, as_of, branch, None, ())
        names = self.manager_ids[self._as_mgr[rows]].tolist()
        bps = self._as_bp[rows].tolist()
        prim = self._as_primary[rows].tolist()
        pairs = sorted(zip(prim, names, bps, strict=True), key=lambda t: (not t[0], t[1]))
        return CustomerAllocation(
            customer_id,
            as_of,
            branch,
            pairs[0][1],
            tuple((n, int(b)) for _, n, b in pairs),
        )

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
        day = _day(as_of, "as_of")
        m = self._manager_index(manager_id)
        rows = self._active(day)
        rows = rows[self._as_mgr[rows] == m]
        ids = self.customer_ids[self._as_cust[rows]]
        order = np.argsort(ids, kind="stable")
        return ManagerCustomers(
            manager_id=manager_id,
            branch_id=str(self.branch_ids[self.manager_branch[m]]),
            as_of=as_of,
            customer_ids=_ro(ids[order]),
            shares_bp=_ro(self._as_bp[rows][order].astype(np.int64)),
            is_primary=_ro(self._as_primary[rows][order]),
        )

    def unallocated(self, branch_id: str, as_of: _dt.date) -> IdArray:
        """A branch's unallocated customers (待分配客户列表) as of a date, sorted by id."""
        day = _day(as_of, "as_of")
        b = self._branch_index(branch_id)
        cust, branch = self._present(day)
        allocated = np.zeros(self.customer_ids.size, np.bool_)
        allocated[self._as_cust[self._active(day)]] = True
        pick = cust[(branch == b) & ~allocated[cust]]
        return _ro(np.sort(self.customer_ids[pick]))

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
        self._customer_index(customer_id)
        return tuple(e for e in self.audit if bool(np.any(e.customer_ids == customer_id)))

    def attribute(
        self,
        amounts: NDArray[np.int64] | Sequence[int],
        as_of: _dt.date,
        *,
        customer_ids: IdsLike | None = None,
    ) -> Any:
        """Shortcut for :func:`custvalue.allocation.attribute` (returns an ``Attribution``)."""
        from ._attribution import attribute

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
        d = _expect_dict(
            data, "$", {"format", "version", "policy", "branches", "managers", "audit"}
        )
        if d["format"] != BOOK_FORMAT:
            raise DocumentError(f"expected {BOOK_FORMAT!r}", path="$.format")
        if d["version"] != BOOK_VERSION:
            raise DocumentError(f"unsupported version {d['version']!r}", path="$.version")
        policy = AllocationPolicy.from_dict(d["policy"], "$.policy")
        branches = _expect_str_list(d["branches"], "$.branches").tolist()
        mgrs = _expect_dict(d["managers"], "$.managers", set(), any_keys=True)
        for k, v in mgrs.items():
            _expect_str(v, f"$.managers[{k!r}]")
        try:
            book = cls.empty(mgrs, branches=branches, policy=policy)
        except AllocationError as exc:
            raise DocumentError(exc.message, path="$.managers") from exc
        for i, raw in enumerate(_expect_list(d["audit"], "$.audit")):
            path = f"$.audit[{i}]"
            e = AuditEntry.from_dict(raw, path)
            if e.seq != i:
                raise DocumentError(f"seq {e.seq} != position {i}", path=f"{path}.seq")
            try:
                book = book._replay(e)
            except AllocationError as exc:
                raise DocumentError(f"entry cannot be replayed: {exc}", path=path) from exc
        return book

    def _replay(self, e: AuditEntry) -> AllocationBook:
        kw: dict[str, Any] = {"effective": e.effective, "operator": e.operator, "reason": e.reason}
        ids = e.customer_ids
        if e.operation == "add_customers":
            assert e.branch_ids is not None
            return self.add_customers(ids, e.branch_ids, **kw).book
        if e.operation == "recall":
            return self.recall(ids, **kw).book
        if e.operation == "transfer":
            assert e.branch_ids is not None
            if ids.size and bool(np.any(e.branch_ids != e.branch_ids[0])):
                raise AllocationError("a transfer has one target branch")
            target = str(e.branch_ids[0]) if ids.size else ""
            return self.transfer(ids, target, **kw).book
        assert e.primary is not None
        if e.operation == "batch_allocate":
            return self.batch_allocate(
                ids, e.primary, list(e.shares), tiers="", _check_tier=False, **kw
            ).book
        if ids.size != 1:
            raise AllocationError(f"{e.operation} concerns exactly one customer")
        if e.operation == "allocate":
            return self.allocate(
                str(ids[0]), e.primary, list(e.shares), tier="", _check_tier=False, **kw
            ).book
        return self.adjust(
            str(ids[0]), primary=e.primary, shares=list(e.shares), tier="", _check_tier=False, **kw
        ).book


# --------------------------------------------------------------------------- document helpers


def _empty_ids() -> IdArray:
    return np.empty(0, dtype="<U1")


def _expect_dict(
    data: object,
    path: str,
    required: set[str],
    optional: set[str] = frozenset(),  # type: ignore[assignment]
    *,
    any_keys: bool = False,
) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise DocumentError(f"expected an object, got {type(data).__name__}", path=path)
    for k in data:
        if not isinstance(k, str):
            raise DocumentError(f"key {k!r} is not a string", path=path)
    if not any_keys:
        missing = sorted(required - data.keys())
        if missing:
            raise DocumentError(f"missing key(s) {missing}", path=path)
        extra = sorted(data.keys() - required - optional)
        if extra:
            raise DocumentError(f"unexpected key(s) {extra}", path=path)
    return data


def _expect_list(data: object, path: str) -> list[Any]:
    if not isinstance(data, list):
        raise DocumentError(f"expected a list, got {type(data).__name__}", path=path)
    return data


def _expect_str(data: object, path: str) -> str:
    if not isinstance(data, str):
        raise DocumentError(f"expected a string, got {data!r}", path=path)
    return data


def _expect_str_list(data: object, path: str) -> IdArray:
    items = _expect_list(data, path)
    for i, v in enumerate(items):
        _expect_str(v, f"{path}[{i}]")
    return np.array(items, dtype=str) if items else _empty_ids()


def _expect_date(data: object, path: str) -> _dt.date:
    text = _expect_str(data, path)
    try:
        value = _dt.date.fromisoformat(text)
    except ValueError:
        raise DocumentError(f"expected an ISO date 'YYYY-MM-DD', got {text!r}", path=path) from None
    if value.isoformat() != text:
        raise DocumentError(f"expected an ISO date 'YYYY-MM-DD', got {text!r}", path=path)
    return value


# Silence "imported but unused" for names used only in type aliases.
_ = ShareLike
