"""Value types and constants of allocation: policy, audit entries, query results.

:class:`AllocationPolicy` (who may be allocated), :class:`AuditEntry` (one
recorded operation, with its JSON form), the query results
:class:`CustomerAllocation` and :class:`ManagerCustomers`, the tier order, the
book's document format and the type aliases of operation arguments.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any, Literal, TypeAlias

import attrs
import numpy as np
from numpy.typing import NDArray

from .._arrays import readonly
from ._errors import AllocationError, DocumentError, UnknownTierError
from ._expect import expect_date, expect_dict, expect_list, expect_str, expect_str_list
from ._shares import BP_WHOLE

__all__ = [
    "BOOK_FORMAT",
    "BOOK_VERSION",
    "DEFAULT_TIER_ORDER",
    "OPEN",
    "OPERATIONS",
    "AllocationPolicy",
    "AuditEntry",
    "CustomerAllocation",
    "IdArray",
    "IdsLike",
    "ManagerCustomers",
    "Operation",
    "PrimaryManagers",
    "ShareSpec",
    "TiersLike",
]

#: Tier names, highest first (core 核心级 > growth 成长级 > platinum 白金级 >
#: gold 金级 > potential 潜力级).
DEFAULT_TIER_ORDER: tuple[str, ...] = ("core", "growth", "platinum", "gold", "potential")

OPEN = int(np.iinfo(np.int32).max)
BOOK_FORMAT = "custvalue.allocation_book"
BOOK_VERSION = 1

Operation: TypeAlias = Literal["add_customers", "allocate", "batch_allocate", "adjust", "recall", "transfer"]
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
#: A validated manager/share specification: manager indices, basis points and
#: primary flags, primary first, then by manager id.
ShareSpec: TypeAlias = tuple[NDArray[np.int32], NDArray[np.int16], NDArray[np.bool_]]


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
            raise UnknownTierError(f"min_tier {self.min_tier!r} is not in tier_order {self.tier_order!r}")
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
        d = expect_dict(data, path, {"min_tier", "tier_order", "allow_cross_branch"})
        tiers = expect_list(d["tier_order"], f"{path}.tier_order")
        for i, t in enumerate(tiers):
            expect_str(t, f"{path}.tier_order[{i}]")
        cross = d["allow_cross_branch"]
        if not isinstance(cross, bool):
            raise DocumentError("expected true or false", path=f"{path}.allow_cross_branch")
        try:
            return cls(
                min_tier=expect_str(d["min_tier"], f"{path}.min_tier"),
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
        d = expect_dict(
            data,
            path,
            {"seq", "operation", "effective", "operator", "reason", "customer_ids"},
            optional={"branch_ids", "primary", "shares"},
        )
        seq = d["seq"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise DocumentError("expected a non-negative int", path=f"{path}.seq")
        op = expect_str(d["operation"], f"{path}.operation")
        if op not in OPERATIONS:
            raise DocumentError(f"unknown operation {op!r}", path=f"{path}.operation")
        eff = expect_date(d["effective"], f"{path}.effective")
        cust = expect_str_list(d["customer_ids"], f"{path}.customer_ids")
        branches: IdArray | None = None
        if "branch_ids" in d:
            branches = expect_str_list(d["branch_ids"], f"{path}.branch_ids")
            if branches.shape != cust.shape:
                raise DocumentError("branch_ids must align with customer_ids", path=f"{path}.branch_ids")
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
            primary = expect_str(d["primary"], f"{path}.primary")
            raw = expect_list(d["shares"], f"{path}.shares")
            items: list[tuple[str, int]] = []
            for i, pair in enumerate(raw):
                p = f"{path}.shares[{i}]"
                pl = expect_list(pair, p)
                if len(pl) != 2:
                    raise DocumentError("expected [manager_id, basis_points]", path=p)
                bp = pl[1]
                if not isinstance(bp, int) or isinstance(bp, bool):
                    raise DocumentError("expected int basis points", path=f"{p}[1]")
                items.append((expect_str(pl[0], f"{p}[0]"), bp))
            shares = tuple(items)
        return cls(
            seq=seq,
            operation=op,
            effective=eff,
            operator=expect_str(d["operator"], f"{path}.operator"),
            reason=expect_str(d["reason"], f"{path}.reason"),
            customer_ids=readonly(cust),
            branch_ids=None if branches is None else readonly(branches),
            primary=primary,
            shares=shares,
        )


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
class PrimaryManagers:
    """Many customers' branch and primary manager, each as of its own date (vectorised).

    ``primary[i]`` is ``""`` when customer ``i`` is in its branch's
    unallocated pool on ``as_of[i]``; ``branch_ids[i]`` is ``""`` (and
    ``in_book[i]`` false) when the customer is not in the book on that date.
    """

    customer_ids: IdArray
    as_of: NDArray[np.datetime64]
    branch_ids: IdArray
    primary: IdArray
    in_book: NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.customer_ids.shape[0])

    @property
    def is_allocated(self) -> NDArray[np.bool_]:
        """Whether each customer has a primary manager on its date."""
        allocated: NDArray[np.bool_] = self.primary != ""
        return allocated


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
