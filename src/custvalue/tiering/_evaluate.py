"""Running a tier policy over a portfolio: :func:`evaluate` and :func:`evaluate_chunks`."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._arrays import readonly as _ro
from ..months import Month, MonthLike
from ..policy import CompiledPolicy, Policy, PolicySet
from ..portfolio import Portfolio
from ._codes import DEFAULT_CHUNK
from ._features import Block
from ._kernel import as_compiled, block_lo, compiled_at, evaluate_block, events_of, reason_bits
from ._result import TierResult
from ._state import EventTable, StatusPart

__all__ = ["BlockVisitor", "evaluate", "evaluate_chunks", "evaluate_visiting"]

#: Kernel column -> TierResult field (codes are named as codes).
_FIELD = {
    "tier": "tier_codes",
    "status": "status_codes",
    "movement": "movement_codes",
    "previous_tier": "previous_tier_codes",
    "churned_tier": "churned_tier_codes",
}


def evaluate(
    portfolio: Portfolio,
    policy: Policy | CompiledPolicy | PolicySet | None = None,
    *,
    as_of: MonthLike | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Callable[[int, int], None] | None = None,
    previous: bool = True,
    threads: int | None = None,
) -> TierResult:
    """Evaluate a tier policy for every customer at the as-of month.

    Parameters
    ----------
    portfolio
        Customers and their monthly balances.
    policy
        A :class:`~custvalue.policy.Policy` or a compiled one (compile once to
        evaluate many portfolios), or a :class:`~custvalue.policy.PolicySet`
        (the version in force at the as-of month decides; the month before,
        for movements and churn, is evaluated under the version in force
        then); the default policy when omitted.
    as_of
        The month to evaluate; the portfolio's last month when omitted.  A full
        evaluation reads ``history_needed + 1`` months (14 for the default
        policy); with less, ``history_complete`` is ``False`` and the
        evaluation uses the months that exist.
    chunk_size
        Customers per row block (the working set of one block should fit in
        the CPU cache).  Results do not depend on it.
    progress
        Called as ``progress(done, total)`` after each block.
    previous
        Evaluate the month before too (the default), for previous tier,
        movement, churn and events.  ``False`` computes tier and status only:
        every movement is ``new`` and no churn or events are reported.
    threads
        Evaluate row blocks on this many threads (numpy releases the GIL
        while it works on a block).  ``None`` or 1: the calling thread only.
        Results do not depend on it.

    Returns
    -------
    TierResult

    Examples
    --------
    >>> import numpy as np
    >>> from custvalue import Portfolio, evaluate
    >>> aum = np.full((2, 14), 500_000_00)
    >>> aum[1] -= 1                                  # 499,999.99 yuan
    >>> p = Portfolio.from_arrays(customer_ids=["A", "B"], branch_ids=["X", "X"],
    ...                           start="2025-09", deposits=aum)
    >>> r = evaluate(p, as_of="2026-10")
    >>> r.tiers().tolist(), r.statuses().tolist()
    (['platinum', 'gold'], ['normal', 'normal'])
    >>> r.reasons("A")
    ('platinum.aum',)
    """
    return evaluate_visiting(
        portfolio,
        policy,
        as_of=as_of,
        chunk_size=chunk_size,
        progress=progress,
        previous=previous,
        threads=threads,
    )[0]


#: ``visit(rows, block, columns)``: more work on a row block while it is in cache (see
#: :func:`evaluate_visiting`); ``columns``: the block's evaluated columns (``tier``, ``previous_tier``, ...).
BlockVisitor = Callable[[slice, Block, dict[str, NDArray[Any]]], Any]


def evaluate_visiting(
    portfolio: Portfolio,
    policy: Policy | CompiledPolicy | PolicySet | None = None,
    *,
    as_of: MonthLike | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Callable[[int, int], None] | None = None,
    previous: bool = True,
    threads: int | None = None,
    visit: BlockVisitor | None = None,
    first_month: int | None = None,
    defer_reasons: bool = False,
    defer_status: bool = False,
    prepare: Callable[[Block], None] | None = None,
) -> tuple[TierResult, list[Any]]:
    """:func:`evaluate`, and ``visit(rows, block, columns)`` on each row block's shared :class:`Block`.

    The block starts at absolute month ``first_month`` (or earlier, when the
    evaluation reads earlier months) and ends at the as-of month; its AUM is
    computed once for the evaluation and the visitor, which reads the block
    while it is still in cache.  Returns the result and the visitor's
    returns, in block order.  ``defer_reasons``: the reasons are computed on
    first use (identical to an evaluation's); ``defer_status``: likewise the
    status part (status, months below, events), by one full evaluation on
    first use.  The visitor sees the tier columns only then.  ``prepare(block)``
    runs on each block before the evaluation (to share work with it, such as
    a lookup-table index in :attr:`Block.index`).
    """
    month = portfolio.months.stop if as_of is None else Month.coerce(as_of)
    cp = compiled_at(policy, month)
    prev_cp: CompiledPolicy | None = None
    if isinstance(policy, PolicySet):
        # the month before is evaluated under the version in force then (or, before the
        # set's first version, under the as-of month's)
        prev_cp = compiled_at(policy, month - 1) if month - 1 >= policy.first else cp
    a = portfolio.months.index(month)
    n = portfolio.n_customers
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    out: dict[str, NDArray[Any]] = {
        "tier": np.empty(n, np.int8),
        "previous_tier": np.empty(n, np.int8),
        "movement": np.empty(n, np.int8),
        "churned_tier": np.empty(n, np.int8),
        "history_complete": np.empty(n, bool),
    }
    if not defer_status:
        out.update(status=np.empty(n, np.int8), months_below=np.empty(n, np.int16))
    reasons = previous and not defer_reasons
    if reasons:  # a tier + status evaluation computes its reasons on first use
        out["reason_bits"] = np.empty(n, np.uint64)
    ev_c: list[NDArray[np.int64]] = []
    ev_t: list[NDArray[np.int8]] = []
    visited: list[Any] = []
    lo = block_lo(cp, a, previous, prev_cp)
    if first_month is not None:
        lo = min(lo, max(0, first_month))

    def run(start: int) -> tuple[int, tuple[NDArray[np.int64], NDArray[np.int8]] | None, Any]:
        stop = min(n, start + chunk_size)
        rows = slice(start, stop)
        block = None if visit is None else Block(portfolio, rows, lo, a, cp.policy.aum, cp.policy.scale)
        if prepare is not None and block is not None:
            prepare(block)
        res = evaluate_block(
            cp, portfolio, rows, a, previous, reasons, prev_cp, block, status=not defer_status
        )
        for key, arr in out.items():
            arr[start:stop] = res[key]
        seen = None if visit is None or block is None else visit(rows, block, res)
        # events compare with the month before
        return stop, (events_of(res, start) if previous and not defer_status else None), seen

    starts = range(0, n, chunk_size)
    if threads is not None and threads < 1:
        raise ValueError("threads must be positive")
    pool = ThreadPoolExecutor(threads) if threads is not None and threads > 1 and len(starts) > 1 else None
    try:
        done = pool.map(run, starts) if pool is not None else map(run, starts)
        for stop, ev, seen in done:  # in block order: events stay sorted by customer
            if visit is not None:
                visited.append(seen)
            if ev is not None:
                ev_c.append(ev[0])
                ev_t.append(ev[1])
            if progress is not None:
                progress(stop, n)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    columns: dict[str, Any] = {_FIELD.get(k, k): _ro(v) for k, v in out.items()}
    if defer_status:  # one full evaluation on first use: the same status part
        part = functools.partial(_status_part, portfolio, policy, month, chunk_size, previous)
        columns.update(status_codes=part, months_below=part, events=part)
    else:
        columns["events"] = EventTable(
            customer_index=_ro(np.concatenate(ev_c) if ev_c else np.zeros(0, np.int64)),
            event_codes=_ro(np.concatenate(ev_t) if ev_t else np.zeros(0, np.int8)),
            policy=cp.policy,
            customer_ids=portfolio.customer_ids,
        )
    if not reasons:  # deferred: computed on first use, identical to a full evaluation's
        columns["reason_bits"] = functools.partial(reason_bits, cp, portfolio, a, chunk_size)
    result = TierResult(
        compiled=cp,
        portfolio=portfolio,
        as_of=month,
        customer_ids=portfolio.customer_ids,
        **columns,
    )
    return result, visited


def _status_part(
    portfolio: Portfolio,
    policy: Policy | CompiledPolicy | PolicySet | None,
    month: Month,
    chunk_size: int,
    previous: bool,
) -> StatusPart:
    """The status codes, months below and events of a full evaluation (a deferred status part)."""
    full, _ = evaluate_visiting(portfolio, policy, as_of=month, chunk_size=chunk_size, previous=previous)
    return full.status_codes, full.months_below, full.events


def evaluate_chunks(
    portfolio: Portfolio,
    policy: Policy | CompiledPolicy | None = None,
    *,
    as_of: MonthLike | None = None,
    chunk_size: int = 1_000_000,
) -> Iterator[TierResult]:
    """Evaluate a large portfolio in customer chunks, yielding one result per chunk.

    Each chunk's result is identical to the corresponding rows of the whole
    evaluation; memory is bounded by the chunk size.
    """
    cp = as_compiled(policy)
    for start in range(0, portfolio.n_customers, chunk_size):
        yield evaluate(portfolio.rows(start, start + chunk_size), cp, as_of=as_of)


# --------------------------------------------------------------------------- result
