"""Account-manager allocation and performance attribution (客户归属分配, 销售业绩管理).

* :class:`AllocationBook` — immutable, effective-dated, columnar record of each
  customer's branch, primary and secondary managers and their exact shares
  (basis points), with an audit log; operations return a :class:`BookChange`.
* :func:`attribute` — split any per-customer int64 amount column across
  managers by the shares in force (largest remainder, exact to the fen),
  rolled up per manager and per branch.
* :class:`SalesLedger` — sale registration crediting seller and referrer,
  branch-manager adjustments and performance queries (营销业绩查询).

Money is integer fen throughout; shares are integer basis points.
"""

from __future__ import annotations

from .._errors import publish
from ._attribution import Attribution, attribute, exact_group_sums
from ._book import AllocationBook, BookChange
from ._errors import (
    AllocationError,
    AlreadyAllocatedError,
    AttributionError,
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
    SalesError,
    ShareSumError,
    UnknownBranchError,
    UnknownCustomerError,
    UnknownManagerError,
    UnknownTierError,
)
from ._queries import primary_managers_at as primary_managers_at  # shared with analytics, not public
from ._sales import CreditAdjustment, Performance, Sale, SalesLedger, SalesSplit
from ._shares import BP_WHOLE, ShareLike, SharesLike, parse_share, split_amounts
from ._types import (
    DEFAULT_TIER_ORDER,
    AllocationPolicy,
    AuditEntry,
    CustomerAllocation,
    ManagerCustomers,
    PrimaryManagers,
)

__all__ = [
    "BP_WHOLE",
    "DEFAULT_TIER_ORDER",
    "AllocationBook",
    "AllocationError",
    "AllocationPolicy",
    "AlreadyAllocatedError",
    "Attribution",
    "AttributionError",
    "AuditEntry",
    "BackdatedOperationError",
    "BatchAllocationError",
    "BookChange",
    "CreditAdjustment",
    "CrossBranchError",
    "CustomerAllocation",
    "DocumentError",
    "DuplicateCustomerError",
    "DuplicateManagerError",
    "IneligibleTierError",
    "InvalidShareError",
    "ManagerCustomers",
    "NoChangeError",
    "NotAllocatedError",
    "Performance",
    "PrimaryManagerError",
    "PrimaryManagers",
    "Sale",
    "SalesError",
    "SalesLedger",
    "SalesSplit",
    "ShareLike",
    "ShareSumError",
    "SharesLike",
    "UnknownBranchError",
    "UnknownCustomerError",
    "UnknownManagerError",
    "UnknownTierError",
    "attribute",
    "exact_group_sums",
    "parse_share",
    "split_amounts",
]

publish(__name__, globals())
