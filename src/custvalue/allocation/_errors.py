"""Errors raised by the allocation book, attribution and the sales ledger.

Every error names what it is about: the customer, the manager, the effective
date and what is wrong.  They all derive from :class:`AllocationError`, a
:class:`ValueError`, so generic callers that catch ``ValueError`` keep
working.
"""

from __future__ import annotations

import datetime as _dt

from .._errors import CustvalueError, with_location

__all__ = [
    "AllocationError",
    "AlreadyAllocatedError",
    "AttributionError",
    "BackdatedOperationError",
    "BatchAllocationError",
    "CrossBranchError",
    "DocumentError",
    "DuplicateCustomerError",
    "DuplicateManagerError",
    "IneligibleTierError",
    "InvalidShareError",
    "NoChangeError",
    "NotAllocatedError",
    "PrimaryManagerError",
    "SalesError",
    "ShareSumError",
    "UnknownBranchError",
    "UnknownCustomerError",
    "UnknownManagerError",
    "UnknownTierError",
]


class AllocationError(CustvalueError, ValueError):
    """An allocation operation or query is invalid.

    Parameters
    ----------
    message
        What is wrong.
    customer_id, manager_id, branch_id, effective
        What it is about; any subset may be given and is rendered after the
        message and kept as attributes.

    Examples
    --------
    >>> import datetime
    >>> err = AllocationError("share must be > 0", customer_id="C1", manager_id="M1",
    ...                       effective=datetime.date(2026, 10, 1))
    >>> str(err)
    "share must be > 0 (customer 'C1', manager 'M1', effective 2026-10-01)"
    >>> isinstance(err, ValueError)
    True
    """

    def __init__(
        self,
        message: str,
        *,
        customer_id: str | None = None,
        manager_id: str | None = None,
        branch_id: str | None = None,
        effective: _dt.date | None = None,
    ) -> None:
        self.message = message
        self.customer_id = customer_id
        self.manager_id = manager_id
        self.branch_id = branch_id
        self.effective = effective
        super().__init__(self._render())

    def _render(self) -> str:
        return with_location(
            self.message,
            [
                ("customer", None if self.customer_id is None else repr(self.customer_id)),
                ("manager", None if self.manager_id is None else repr(self.manager_id)),
                ("branch", None if self.branch_id is None else repr(self.branch_id)),
                ("effective", None if self.effective is None else self.effective.isoformat()),
            ],
        )


class InvalidShareError(AllocationError):
    """A share is not exactly representable in basis points, or is <= 0."""


class ShareSumError(AllocationError):
    """The shares of one customer do not sum to exactly 100% (10000 bp)."""


class PrimaryManagerError(AllocationError):
    """The primary manager is missing from the shares or not unique."""


class DuplicateManagerError(AllocationError):
    """A manager appears more than once for one customer."""


class UnknownManagerError(AllocationError):
    """A manager id is not in the book's manager registry."""


class UnknownCustomerError(AllocationError):
    """A customer id is not in the book."""


class UnknownBranchError(AllocationError):
    """A branch id is not in the book's branch registry."""


class UnknownTierError(AllocationError):
    """A tier name is not in the policy's tier order."""


class DuplicateCustomerError(AllocationError):
    """A customer id appears twice in one operation, or is already in the book."""


class CrossBranchError(AllocationError):
    """A manager does not belong to the customer's branch."""


class IneligibleTierError(AllocationError):
    """The customer's tier is below the policy's minimum allocatable tier."""


class BackdatedOperationError(AllocationError):
    """The effective date is before the customer's latest recorded change."""


class AlreadyAllocatedError(AllocationError):
    """The customer already has managers; use an adjustment instead."""


class NotAllocatedError(AllocationError):
    """The customer has no managers, so it cannot be adjusted or recalled."""


class NoChangeError(AllocationError):
    """The operation would not change anything (e.g. a transfer to the same branch)."""


class AttributionError(AllocationError):
    """An amount column cannot be attributed (bad shape, unknown customer, overflow)."""


class BatchAllocationError(AllocationError):
    """A batch operation failed for some customers; nothing was applied.

    Attributes
    ----------
    errors : list of (customer_id, message)
        One entry per failing check and customer, in batch order.

    Examples
    --------
    >>> err = BatchAllocationError([("C1", "tier 'potential' is below 'gold'")])
    >>> err.errors
    [('C1', "tier 'potential' is below 'gold'")]
    >>> str(err)
    "batch rejected, 1 customer error(s); first: C1: tier 'potential' is below 'gold'"
    """

    def __init__(
        self,
        errors: list[tuple[str, str]],
        *,
        effective: _dt.date | None = None,
        causes: list[AllocationError] | None = None,
    ) -> None:
        self.errors = list(errors)
        #: The individual errors, one per entry of :attr:`errors`.
        self.causes = list(causes) if causes is not None else []
        first = f"; first: {errors[0][0]}: {errors[0][1]}" if errors else ""
        super().__init__(f"batch rejected, {len(errors)} customer error(s){first}", effective=effective)


class SalesError(AllocationError):
    """A sale registration, adjustment or performance query is invalid."""


class DocumentError(AllocationError):
    """A serialised document (``from_dict``) is malformed; ``path`` says where.

    Examples
    --------
    >>> str(DocumentError("expected an ISO date string", path="$.audit[0].effective"))
    'expected an ISO date string (at $.audit[0].effective)'
    """

    def __init__(self, message: str, *, path: str) -> None:
        self.path = path
        super().__init__(f"{message} (at {path})")
