"""The columns of an allocation book: the state every job module of the package reads.

:class:`~custvalue.allocation.AllocationBook` adds the operations and
queries on top of it.  The job modules (validation, changes, queries,
documents, attribution) take a :class:`BookState`, so none of them needs the
book class and the package has no import cycle.

Customers (``customer_ids``, sorted through ``_sorter``) have branch spells
(``_sp_*``: customer, branch, start and end day) and assignment rows
(``_as_*``: customer, manager, basis points, primary flag, start and end
day); ``OPEN`` ends a row that still holds.

These *base* columns are immutable.  Changes made since they were built sit
beside them in a shared, append-only change log (``_delta``, of which the
book sees the first ``_n_delta`` entries; see
:mod:`~custvalue.allocation._delta`), so a single operation does not copy
the book; ``_delta.compact`` folds the log into fresh base columns.  The
audit log is shared the same way (``_log``, first ``_n_log`` entries).
Never read the per-customer (``_cust_*``) or row (``_sp_*``, ``_as_*``)
columns of a book with a change log directly: go through ``_delta``.
"""

from __future__ import annotations

from typing import TypeVar

import attrs
import numpy as np
from numpy.typing import NDArray

from ._log import ChangeLog, Memo, SharedList
from ._types import AllocationPolicy, AuditEntry, IdArray

__all__ = ["Book", "BookState"]


@attrs.frozen(eq=False)
class BookState:
    """Immutable, read-only columns of an allocation book."""

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
    _log: SharedList[AuditEntry] = attrs.field(repr=False)
    _n_log: int = attrs.field(repr=False)
    _delta: ChangeLog | None = attrs.field(default=None, repr=False)
    _n_delta: int = attrs.field(default=0, repr=False)
    _memo: Memo = attrs.field(factory=Memo, init=False, repr=False)

    @property
    def audit(self) -> tuple[AuditEntry, ...]:
        """The audit log, oldest first (entry ``i`` has ``seq == i``)."""
        memo = self._memo
        if memo.audit is None:
            memo.audit = self._log.prefix(self._n_log)
        audit: tuple[AuditEntry, ...] = memo.audit
        return audit


#: Any book type (the functions that return a changed book keep its class).
Book = TypeVar("Book", bound=BookState)
