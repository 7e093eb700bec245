"""Analysts' reports (营销数据分析): distribution, trend, migration, churn, performance, concentration.

Every report is an immutable :class:`~custvalue.analytics.Report` of exact
integer columns: money in fen summed with overflow checks
(:func:`custvalue._arrays.exact_group_sums`), shares and rates in basis
points rounded half-to-even from those exact sums (null when the base is 0).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from .._arrays import INT64_MAX, exact_group_sums, exact_sum, python_sum, readonly, sort_int64
from .._memo import memo_on
from ..allocation import Attribution, SalesLedger
from ..months import Month
from ..policy import CompiledPolicy, Policy, PolicySet, compile_policy, default_policy
from ..portfolio import Portfolio
from ..tiering import MigrationMatrix, TierPath, TierResult, evaluate_tiers, tier_migration
from ._errors import AnalyticsError
from ._monitor import AssetMonitor, as_month, month_index
from ._table import Report, group_codes, make_columns, ratio_bp

__all__ = [
    "ConcentrationReport",
    "MigrationReport",
    "churn_report",
    "concentration",
    "migration_report",
    "performance_report",
    "tier_distribution",
    "tier_trend",
]


def _check_result(result: Any, what: str) -> TierResult:
    if not isinstance(result, TierResult):
        raise AnalyticsError(
            f"{what} needs a TierResult (from custvalue.evaluate), got {type(result).__name__}"
        )
    return result


def _branches(
    result: TierResult, branches: Iterable[str] | None
) -> tuple[NDArray[np.str_], NDArray[np.intp]]:
    """Sorted branch ids (the portfolio's, plus any named) and each customer's index into them."""
    own = result.portfolio.branch_ids
    ids, inv = group_codes(own)
    if branches is None:
        return ids, inv
    extra = np.asarray([str(b) for b in branches], dtype=str)
    if extra.size == 0:
        return ids, inv
    ids = np.unique(np.concatenate([ids.astype(str), extra]))
    return ids, np.searchsorted(ids, own).astype(np.intp)


def as_of_aum(result: TierResult, known: NDArray[np.int64] | None = None) -> NDArray[np.int64]:
    """Each customer's AUM at the result's month (0 without data), computed once per result.

    ``known``: those amounts when the caller has them already (the report
    set's asset monitor, whose ``aum`` column is exactly this), kept for the
    result's other reports.
    """
    if known is not None:
        return memo_on(result, "as_of_aum", lambda: readonly(np.asarray(known, np.int64)))
    return memo_on(result, "as_of_aum", lambda: readonly(_compute_as_of_aum(result)))


def _compute_as_of_aum(result: TierResult) -> NDArray[np.int64]:
    p = result.portfolio
    a = p.months.index(result.as_of)
    has = p.history_start.astype(np.int64) <= a
    return np.where(has, _month_aum(p, result.policy.aum, a), 0)


def tier_cube(result: TierResult) -> tuple[NDArray[np.str_], NDArray[np.int64], NDArray[np.int64]]:
    """Customers and exact AUM per (branch, previous tier, tier, lapsed) cell, computed once per result.

    Shape ``(branches, k + 1, k + 1, 2)`` over the portfolio's sorted branch
    ids: previous tier ``+ 1`` (0: none), the tier (``k``: none), whether the
    previous tier lapsed this month (the churned tier is then the previous
    one).  The distribution, migration, churn and the set's trend month all
    fold it: one count and one exact sum over the customers for the four.
    """
    return memo_on(result, "tier cube", lambda: _compute_cube(result))


def _compute_cube(result: TierResult) -> tuple[NDArray[np.str_], NDArray[np.int64], NDArray[np.int64]]:
    ids, b = group_codes(result.portfolio.branch_ids)
    k = len(result.policy.tier_order)
    prev, tier, churned = result.previous_tier_codes, result.tier_codes, result.churned_tier_codes
    lapsed = churned >= 0
    if bool(np.any(lapsed & (churned != prev))):  # the kernel's own rule: a lapse is of the previous tier
        raise AssertionError("a churned tier differs from the previous tier")
    side = 2 * (k + 1)
    # small cell in int16 (k + 1 <= 128 tiers): (previous + 1) × 2 (k + 1) + tier (none: k) × 2 + lapsed
    small = prev.astype(np.int16)
    small += 1
    small *= side
    t = np.remainder(tier, k + 1, dtype=np.int16)  # -1 (no tier) is k
    t *= 2
    small += t
    small += lapsed
    cell = np.multiply(b, (k + 1) * side, dtype=np.intp)
    cell += small
    width = ids.size * (k + 1) * side
    counts = np.bincount(cell, minlength=width).astype(np.int64)
    sums = exact_group_sums(cell, as_of_aum(result), width, what="AUM of a branch, tier and previous tier")
    shape = (ids.size, k + 1, k + 1, 2)
    return ids, readonly(counts.reshape(shape)), readonly(sums.reshape(shape))


def exact_fold(a: NDArray[np.int64], keep: tuple[int, ...], *, what: str) -> NDArray[np.int64]:
    """Exact sums of ``a`` over every axis not in ``keep``, shape ``a.shape[keep]``.

    A sum beyond int64 is an :class:`~custvalue.AmountOverflowError`
    (:func:`custvalue._arrays.exact_group_sums`), never a wrapped number.

    >>> import numpy as np
    >>> exact_fold(np.arange(12).reshape(2, 3, 2), (1,), what="x").tolist()
    [14, 22, 30]
    """
    rest = tuple(i for i in range(a.ndim) if i not in keep)
    shape = tuple(a.shape[i] for i in keep)
    g = int(np.prod(shape, dtype=np.int64))
    m = int(np.prod([a.shape[i] for i in rest], dtype=np.int64))
    flat = np.transpose(a, keep + rest).reshape(-1)
    return exact_group_sums(np.repeat(np.arange(g, dtype=np.intp), m), flat, g, what=what).reshape(shape)


def _spread(
    result: TierResult, ids: NDArray[np.str_], branches: Iterable[str] | None, *parts: NDArray[np.int64]
) -> tuple[NDArray[np.str_], list[NDArray[np.int64]]]:
    """The report's branch ids (the cube's, plus any named) and each part (a row per cube branch) in them."""
    if branches is None:
        return ids, list(parts)
    every, _ = _branches(result, branches)
    at = np.searchsorted(every, ids).astype(np.intp)
    out = []
    for x in parts:
        full = np.zeros((every.size, *x.shape[1:]), np.int64)
        full[at] = x
        out.append(full)
    return every, out


def tier_distribution(result: TierResult, *, branches: Iterable[str] | None = None) -> Report:
    """Customers and AUM per branch × tier at the result's month.

    One row per (branch, tier), every branch (sorted; ``branches`` adds ids
    with no customers) times every tier in policy order.  Columns:
    ``branch_id``, ``tier``, ``customers``, ``aum`` (fen, at the as-of month),
    ``customer_share_bp`` and ``aum_share_bp`` (of the branch's customers and
    AUM; null for a branch with no customers or no AUM).  Customers without
    data at the as-of month have no tier and are not counted.

    Examples
    --------
    >>> import numpy as np
    >>> from custvalue import Portfolio, evaluate
    >>> p = Portfolio.from_arrays(customer_ids=["A", "B", "C"], branch_ids=["X", "X", "Y"],
    ...                           start="2026-10", deposits=np.array([[600_000_00], [100_00], [300_00]]))
    >>> d = tier_distribution(evaluate(p))
    >>> [(r["branch_id"], r["tier"], r["customers"], r["aum_share_bp"]) for r in d.records()
    ...  if r["customers"]]
    [('X', 'platinum', 1, 9998), ('X', 'potential', 1, 2), ('Y', 'potential', 1, 10000)]
    """
    res = _check_result(result, "tier_distribution")
    tiers = res.policy.tier_order
    k = len(tiers)
    own, c, s = tier_cube(res)
    # customers with a tier (not bucket k: no data at the month, and AUM 0), per branch and tier
    ids, (every, cells) = _spread(
        res,
        own,
        branches,
        c[:, :, :k, :].sum(axis=(1, 3)),
        exact_fold(s[:, :, :k, :], (0, 2), what="AUM of a branch and tier"),
    )
    counts = every.reshape(-1)
    sums = cells.reshape(-1)
    branch_counts = counts.reshape(-1, k).sum(axis=1) if ids.size else np.zeros(0, np.int64)
    branch_aum = exact_group_sums(
        np.repeat(np.arange(ids.size, dtype=np.intp), k), sums, ids.size, what="AUM of a branch"
    )
    cs, cv = ratio_bp(counts, np.repeat(branch_counts, k))
    as_, av = ratio_bp(sums, np.repeat(branch_aum, k))
    cols = {
        "branch_id": np.repeat(ids, k),
        "tier": np.tile(np.asarray(tiers), ids.size),
        "customers": counts,
        "aum": sums,
        "customer_share_bp": cs,
        "aum_share_bp": as_,
    }
    return Report(
        title=f"tier × branch distribution as of {res.as_of}",
        columns=make_columns(cols),
        valid={"customer_share_bp": cv, "aum_share_bp": av},
        money=("aum",),
    )


def tier_trend(
    portfolio: Portfolio,
    policy: Policy | CompiledPolicy | PolicySet | None = None,
    *,
    months: int = 12,
    as_of: Month | str | None = None,
    path: TierPath | None = None,
) -> Report:
    """Customers and AUM per tier in each of the last ``months`` months up to ``as_of``.

    Fewer months when the portfolio is shorter.  One row per (month, tier):
    ``month``, ``tier``, ``customers``, ``aum`` (fen, that month),
    ``customer_share_bp`` (of that month's customers with a tier).  With a
    :class:`~custvalue.policy.PolicySet` each month is tiered under the
    version in force then (and its AUM classes).  ``path``: a
    :func:`~custvalue.evaluate_path` of this portfolio that covers the months
    (computed once, shared with other reports); otherwise the tiers alone
    are computed (:func:`~custvalue.tiering.evaluate_tiers`: no statuses,
    reasons or events) and tallied block by block.

    Examples
    --------
    >>> import numpy as np
    >>> from custvalue import Portfolio
    >>> p = Portfolio.from_arrays(customer_ids=["A"], branch_ids=["X"], start="2026-09",
    ...                           deposits=np.array([[100_00, 300_000_00]]))
    >>> t = tier_trend(p, months=2)
    >>> [(r["month"], r["tier"]) for r in t.records() if r["customers"]]
    [('2026-09', 'potential'), ('2026-10', 'gold')]
    """
    plan: CompiledPolicy | PolicySet = (
        policy
        if isinstance(policy, CompiledPolicy | PolicySet)
        else compile_policy(policy or default_policy())
    )
    return trend_of(portfolio, plan, months, portfolio.months.stop if as_of is None else as_of, path)


def _month_aum(portfolio: Portfolio, classes: Sequence[str], j: int) -> NDArray[np.int64]:
    """Every customer's AUM (the given classes) at month column ``j``."""
    aum = np.zeros(portfolio.n_customers, np.int64)
    for c in classes:  # per customer: bounded by the portfolio's checks, no overflow
        aum += portfolio.column(c)[:, j]
    return aum


def _tally_month(
    codes: NDArray[np.int8], aum: NDArray[np.int64], k: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Customers and exact AUM per tier of one month's tier codes (-1: no tier, not counted)."""
    cell = codes.astype(np.intp)
    cell[codes < 0] = k  # bucket k: no tier (no data yet)
    counts = np.bincount(cell, minlength=k + 1)[:k].astype(np.int64)
    return counts, exact_group_sums(cell, aum, k + 1, what="AUM of a tier and month")[:k]


def path_columns(portfolio: Portfolio, path: object, wanted: Sequence[Month]) -> list[int]:
    """The columns of ``path`` holding the months ``wanted``, after checking it is this portfolio's.

    :class:`AnalyticsError` when ``path`` is not a :class:`~custvalue.TierPath`,
    its customers differ from the portfolio's, or it misses a wanted month.
    """
    if not isinstance(path, TierPath):
        raise AnalyticsError(f"path must be a TierPath, got {type(path).__name__}")
    if path.customer_ids.shape != portfolio.customer_ids.shape or not np.array_equal(
        path.customer_ids, portfolio.customer_ids
    ):
        raise AnalyticsError("path is not a path of this portfolio (its customers differ)")
    missing = [str(m) for m in wanted if m not in path.months]
    if missing:
        raise AnalyticsError(f"path does not cover the months {', '.join(missing)}")
    return [path.column(m) for m in wanted]


def check_months(months: object) -> int:
    """``months`` of a trend: a whole number >= 1; :class:`AnalyticsError` otherwise."""
    if isinstance(months, bool) or not isinstance(months, int) or months < 1:
        raise AnalyticsError(f"months must be a whole number >= 1, got {months!r}")
    return months


def trend_of(
    portfolio: Portfolio,
    plan: CompiledPolicy | PolicySet,
    months: int,
    as_of: Month | str,
    path: TierPath | None = None,
    tallied: tuple[NDArray[np.int64], NDArray[np.int64]] | None = None,
) -> Report:
    """:func:`tier_trend` of a compiled plan.

    ``tallied``: the customers and AUM per tier of every month of the trend,
    shape ``(months, tiers)``, when the caller has them already (the report
    set tallies them in the evaluation's pass over the row blocks).
    """
    check_months(months)
    last, a = month_index(portfolio, as_of)
    i0 = max(0, a - months + 1)
    if tallied is not None:
        tiers = (plan.versions[0][1] if isinstance(plan, PolicySet) else plan.policy).tier_order
        shape = (a + 1 - i0, len(tiers))
        if tallied[0].shape != shape or tallied[1].shape != shape:
            raise ValueError("the tally does not match the trend's months and tiers")
        wanted = [portfolio.months[j] for j in range(i0, a + 1)]
        return _trend_report(wanted, tiers, tallied[0].reshape(-1), tallied[1].reshape(-1))
    return _trend_computed(portfolio, plan, last, a, i0, path)


def _trend_computed(
    portfolio: Portfolio,
    plan: CompiledPolicy | PolicySet,
    last: Month,
    a: int,
    i0: int,
    path: TierPath | None,
) -> Report:
    wanted = [portfolio.months[j] for j in range(i0, a + 1)]
    tiers = (plan.versions[0][1] if isinstance(plan, PolicySet) else plan.policy).tier_order
    k = len(tiers)
    n_months = len(wanted)
    if path is None:
        # tiers only, tallied per row block: no statuses, reasons or events
        tally = evaluate_tiers(portfolio, plan, first=wanted[0], last=last)
        counts = np.ascontiguousarray(tally.counts.T).reshape(-1)
        sums = np.ascontiguousarray(tally.aum.T).reshape(-1)
    else:
        columns = path_columns(portfolio, path, wanted)
        counts = np.zeros(n_months * k, np.int64)
        sums = np.zeros(n_months * k, np.int64)
        for j, (m, col) in enumerate(
            zip(wanted, columns, strict=True)
        ):  # a month at a time: no (n, months) temporaries
            classes = plan.at(m).aum if isinstance(plan, PolicySet) else plan.policy.aum
            counts[j * k : (j + 1) * k], sums[j * k : (j + 1) * k] = _tally_month(
                path.tier_codes[:, col], _month_aum(portfolio, classes, i0 + j), k
            )
    return _trend_report(wanted, tiers, counts, sums)


def _trend_report(
    wanted: Sequence[Month], tiers: Sequence[str], counts: NDArray[np.int64], sums: NDArray[np.int64]
) -> Report:
    k, n_months = len(tiers), len(wanted)
    month_counts = np.repeat(counts.reshape(-1, k).sum(axis=1), k)
    share, ok = ratio_bp(counts, month_counts)
    cols = {
        "month": np.repeat(np.asarray([str(m) for m in wanted]), k),
        "tier": np.tile(np.asarray(tiers), n_months),
        "customers": counts,
        "aum": sums,
        "customer_share_bp": share,
    }
    return Report(
        title=f"tier trend {wanted[0]}..{wanted[-1]}",
        columns=make_columns(cols),
        valid={"customer_share_bp": ok},
        money=("aum",),
    )


@attrs.frozen(eq=False, repr=False, kw_only=True)
class MigrationReport(Report):
    """Tier migration between two months, long form; :attr:`matrix` is the square form.

    Columns: ``from_tier``, ``to_tier`` (``"(none)"``: no tier on that side),
    ``customers``, ``aum`` (fen at the later month), ``customer_share_bp``
    (of the customers in ``from_tier``; null when it has none).
    """

    matrix: MigrationMatrix


def migration_report(
    source: Portfolio | TierResult,
    policy: Policy | CompiledPolicy | PolicySet | None = None,
    from_month: Month | str | None = None,
    to_month: Month | str | None = None,
) -> MigrationReport:
    """Tier migration between two months (wraps :func:`custvalue.tier_migration`).

    ``source`` is a portfolio (both months are evaluated, under ``policy``:
    a policy, a compiled policy or a :class:`~custvalue.policy.PolicySet`)
    or a :class:`~custvalue.TierResult`, whose previous and current tiers give
    the migration from the month before its as-of month to that month with
    no evaluation at all (``policy`` must then be ``None`` and the months
    omitted or equal to those two).

    Examples
    --------
    >>> import numpy as np
    >>> from custvalue import Portfolio, evaluate
    >>> p = Portfolio.from_arrays(customer_ids=["A"], branch_ids=["X"], start="2026-09",
    ...                           deposits=np.array([[100_00, 300_000_00]]))
    >>> r = migration_report(p, None, "2026-09", "2026-10")
    >>> [(x["from_tier"], x["to_tier"], x["customers"]) for x in r.records() if x["customers"]]
    [('potential', 'gold', 1)]
    >>> int(r.matrix.counts[4, 3])
    1
    >>> migration_report(evaluate(p, as_of="2026-10")).matrix.counts.tolist() == r.matrix.counts.tolist()
    True
    """
    if isinstance(source, TierResult):
        res = source
        before, now = res.as_of - 1, res.as_of
        if policy is not None:
            raise AnalyticsError("migration_report of a TierResult uses the result's policy; omit policy")
        for given, want, what in ((from_month, before, "from month"), (to_month, now, "to month")):
            if given is not None and as_month(given, what) != want:
                raise AnalyticsError(
                    f"a TierResult as of {now} holds the migration {before} → {now}; "
                    f"{what} {given} is another month (pass the portfolio instead)"
                )
        _, c, a = tier_cube(res)
        # previous tier + 1 (0: none) → the matrix's order, none last on both sides
        order = np.r_[np.arange(1, c.shape[1]), 0]
        mm = MigrationMatrix(
            (*res.policy.tier_order, "(none)"),
            readonly(np.ascontiguousarray(c.sum(axis=(0, 3))[order])),
            readonly(np.ascontiguousarray(exact_fold(a, (1, 2), what="migration AUM")[order])),
            str(before),
            str(now),
        )
        f, t = before, now
    else:
        if from_month is None or to_month is None:
            raise AnalyticsError("migration_report of a portfolio needs from_month and to_month")
        f, _ = month_index(source, from_month, "from month")
        t, _ = month_index(source, to_month, "to month")
        mm = tier_migration(source, policy, f, t)
    k = len(mm.labels)
    counts = mm.counts.reshape(-1).astype(np.int64)
    share, ok = ratio_bp(counts, np.repeat(mm.counts.sum(axis=1), k))
    cols = {
        "from_tier": np.repeat(np.asarray(mm.labels), k),
        "to_tier": np.tile(np.asarray(mm.labels), k),
        "customers": counts,
        "aum": mm.aum.reshape(-1),
        "customer_share_bp": share,
    }
    return MigrationReport(
        title=f"tier migration {f} → {t}",
        columns=make_columns(cols),
        valid={"customer_share_bp": ok},
        money=("aum",),
        matrix=mm,
    )


def churn_report(result: TierResult, *, branches: Iterable[str] | None = None) -> Report:
    """Churn (流失) by branch × tier at the result's month.

    One row per (branch, tier) for every tier with an AUM floor (only those
    can lapse).  Columns: ``branch_id``, ``tier``, ``held_before``
    (customers holding the tier the month before), ``churned`` (lost it
    through lapse this month), ``aum_lost`` (fen: the churned customers' AUM
    at the as-of month), ``churn_rate_bp`` (``churned / held_before``; null
    when nobody held the tier).

    Examples
    --------
    >>> import numpy as np
    >>> from custvalue import Portfolio, evaluate
    >>> aum = np.full((1, 14), 100_000_00); aum[0, 0] = 600_000_00
    >>> p = Portfolio.from_arrays(customer_ids=["A"], branch_ids=["X"], start="2025-09", deposits=aum)
    >>> [(r["tier"], r["held_before"], r["churned"], r["churn_rate_bp"])
    ...  for r in churn_report(evaluate(p, as_of="2026-04")).records()]
    [('core', 0, 0, None), ('growth', 0, 0, None), ('platinum', 1, 1, 10000), ('gold', 0, 0, None)]
    """
    res = _check_result(result, "churn_report")
    pol = res.policy
    lapsing = [i for i, t in enumerate(pol.tiers) if t.aum_floor is not None]
    k = len(pol.tiers)
    own, c, a = tier_cube(res)
    # previous tier p is cube row p + 1; a churned customer lapsed from its previous tier
    ids, (held_b, churned_b, lost_b) = _spread(
        res,
        own,
        branches,
        c[:, 1:].sum(axis=(2, 3)),
        c[:, 1:, :, 1].sum(axis=2),
        exact_fold(a[:, 1:, :, 1], (0, 1), what="churned AUM"),
    )
    held, churned, lost = held_b.reshape(-1), churned_b.reshape(-1), lost_b.reshape(-1)
    keep = (np.arange(ids.size)[:, None] * k + np.asarray(lapsing, np.intp)[None, :]).reshape(-1)
    rate, ok = ratio_bp(churned[keep], held[keep])
    cols = {
        "branch_id": np.repeat(ids, len(lapsing)),
        "tier": np.tile(np.asarray([pol.tiers[i].id for i in lapsing]), ids.size),
        "held_before": held[keep],
        "churned": churned[keep],
        "aum_lost": lost[keep],
        "churn_rate_bp": rate,
    }
    return Report(
        title=f"churn by branch and tier as of {res.as_of}",
        columns=make_columns(cols),
        valid={"churn_rate_bp": ok},
        money=("aum_lost",),
    )


def _rank_within(
    groups: NDArray[np.str_], values: NDArray[np.int64], ids: NDArray[np.str_]
) -> NDArray[np.int64]:
    """1-based rank by value (highest first) within each group; ties by id ascending."""
    n = values.size
    order = np.lexsort((ids, -values, groups))
    rank = np.empty(n, np.int64)
    if n:
        g = groups[order]
        start = np.r_[True, g[1:] != g[:-1]]
        first = np.maximum.accumulate(np.where(start, np.arange(n), 0))
        rank[order] = np.arange(n) - first + 1
    return rank


def _align(ids: NDArray[np.str_], other_ids: NDArray[np.str_], other: NDArray[np.int64]) -> tuple[Any, Any]:
    """Values of ``other`` (indexed by sorted ``other_ids``) for ``ids``, and where present."""
    if other_ids.size == 0:
        return np.zeros(ids.size, np.int64), np.zeros(ids.size, np.bool_)
    pos = np.clip(np.searchsorted(other_ids, ids), 0, other_ids.size - 1)
    found = other_ids[pos] == ids
    return np.where(found, other[pos], 0).astype(np.int64), found


def performance_report(
    aum: Attribution,
    *,
    previous: Attribution | None = None,
    ledger: SalesLedger | None = None,
    start: _dt.date | None = None,
    end: _dt.date | None = None,
    manager_branch: Mapping[str, str] | None = None,
    by: str = "manager",
) -> Report:
    """Account-manager (or branch) performance: AUM under management, growth, sales credit, rank.

    Parameters
    ----------
    aum
        :func:`custvalue.allocation.attribute` of the as-of AUM (fen per customer).
    previous
        The same attribution at an earlier date: ``aum_growth = aum - previous``
        (null for a manager or branch it does not list; all null without it).
    ledger
        Sales credited over ``[start, end]`` (:meth:`SalesLedger.performance`);
        ``sales_credit`` is null without a ledger, 0 for a manager with no credit.
    manager_branch
        ``{manager_id: branch_id}``; default: the ledger's registry.
    by
        ``"manager"`` (rank within branch) or ``"branch"`` (rank among branches;
        a branch's AUM includes its unallocated customers).

    Columns (``by="manager"``): ``manager_id``, ``branch_id``, ``aum``,
    ``aum_growth``, ``sales_credit``, ``rank_in_branch`` (1 = most AUM; ties by
    id).  ``by="branch"``: ``branch_id``, ``aum``, ``unallocated``,
    ``aum_growth``, ``sales_credit``, ``rank``.

    Examples
    --------
    >>> import datetime as dt
    >>> from custvalue.allocation import AllocationBook
    >>> day = dt.date(2026, 10, 31)
    >>> book = AllocationBook.empty({"m1": "B1", "m2": "B1"})
    >>> book = book.add_customers(["c1", "c2"], ["B1", "B1"], effective=day, operator="ops").book
    >>> book = book.allocate("c1", "m1", tier="gold", effective=day, operator="ops").book
    >>> book = book.allocate("c2", "m2", tier="gold", effective=day, operator="ops").book
    >>> r = performance_report(book.attribute([500_00, 900_00], day), manager_branch=book.managers)
    >>> [(x["manager_id"], x["aum"], x["rank_in_branch"]) for x in r.records()]
    [('m1', 50000, 2), ('m2', 90000, 1)]
    """
    if not isinstance(aum, Attribution):
        raise AnalyticsError(f"performance_report needs an Attribution, got {type(aum).__name__}")
    if previous is not None and not isinstance(previous, Attribution):
        raise AnalyticsError(f"previous must be an Attribution, got {type(previous).__name__}")
    if ledger is not None and not isinstance(ledger, SalesLedger):
        raise AnalyticsError(f"ledger must be a SalesLedger, got {type(ledger).__name__}")
    if by not in ("manager", "branch"):
        raise AnalyticsError(f"by must be 'manager' or 'branch', got {by!r}")
    if by == "manager":
        ids, values = aum.manager_ids, aum.manager_totals
        p_ids, p_vals = (
            (previous.manager_ids, previous.manager_totals) if previous is not None else (ids[:0], values[:0])
        )
    else:
        ids, values = aum.branch_ids, aum.branch_totals
        p_ids, p_vals = (
            (previous.branch_ids, previous.branch_totals) if previous is not None else (ids[:0], values[:0])
        )
    ids = np.asarray(ids).astype(str)
    before, found = _align(ids, np.asarray(p_ids).astype(str), np.asarray(p_vals))
    growth = np.where(found, values - before, 0)  # |values|, |before| < 2**63 / 2 in any real book
    if ledger is not None:
        perf = ledger.performance(by, start, end)  # type: ignore[arg-type]
        credit, _ = _align(ids, np.asarray(perf.ids).astype(str), np.asarray(perf.totals))
        credit_ok = np.ones(ids.size, np.bool_)
    else:
        credit, credit_ok = np.zeros(ids.size, np.int64), np.zeros(ids.size, np.bool_)
    cols: dict[str, Any]
    if by == "manager":
        mb = dict(manager_branch) if manager_branch is not None else (ledger.manager_branch if ledger else {})
        branch = (
            np.asarray([mb.get(m, "") for m in ids.tolist()], dtype=str) if ids.size else np.empty(0, "<U1")
        )
        cols = {
            "manager_id": ids,
            "branch_id": branch,
            "aum": values,
            "aum_growth": growth,
            "sales_credit": credit,
            "rank_in_branch": _rank_within(branch, np.asarray(values, np.int64), ids),
        }
    else:
        cols = {
            "branch_id": ids,
            "aum": values,
            "unallocated": aum.branch_unallocated,
            "aum_growth": growth,
            "sales_credit": credit,
            "rank": _rank_within(np.full(ids.size, ""), np.asarray(values, np.int64), ids),
        }
    return Report(
        title=f"{by} performance as of {aum.as_of}",
        columns=make_columns(cols),
        valid={"aum_growth": readonly(found), "sales_credit": readonly(credit_ok)},
        money=("aum", "unallocated", "aum_growth", "sales_credit"),
    )


@attrs.frozen(eq=False, repr=False, kw_only=True)
class ConcentrationReport(Report):
    """AUM concentration: the share held by the top customers, the Gini coefficient, the Lorenz curve.

    Columns: ``top_pct`` (the top p % of customers by AUM, ``ceil(p × n / 100)``
    of them), ``customers``, ``aum`` (fen), ``aum_share_bp`` (null when the
    total AUM is 0).

    Attributes
    ----------
    gini_exact : fractions.Fraction
        ``1 - (2 S + T) / (n T)`` from exact integer sums (``T`` the total,
        ``S`` the sum of the prefix sums of the ascending AUM); 0 when
        ``n = 0`` or ``T = 0`` (everybody holds the same: nothing).
    gini : float
        ``gini_exact`` as the nearest float.
    lorenz_x, lorenz_y : ndarray of float
        Lorenz curve points from (0, 0) to (1, 1): share of customers
        (poorest first) and the share of AUM they hold (exact ratios rounded
        to floats; the diagonal when ``T = 0``).
    n_customers, total_aum : int
    """

    gini_exact: Fraction
    gini: float
    lorenz_x: NDArray[np.float64]
    lorenz_y: NDArray[np.float64]
    n_customers: int
    total_aum: int


def _with_data(aum: NDArray[np.int64], has: NDArray[np.bool_]) -> NDArray[np.int64]:
    """The AUM of the customers with data at the month (no copy when every customer has)."""
    return aum if bool(has.all()) else aum[has]


def concentration(
    source: TierResult | AssetMonitor, *, top: Sequence[int | Decimal] = (1, 2, 5, 20), points: int = 100
) -> ConcentrationReport:
    """AUM concentration among the customers with data at the as-of month.

    Examples
    --------
    >>> import numpy as np
    >>> from custvalue import Portfolio
    >>> from custvalue.analytics import asset_monitor
    >>> p = Portfolio.from_arrays(customer_ids=list("ABCD"), branch_ids=["X"] * 4, start="2026-10",
    ...                           deposits=np.array([[0], [0], [0], [100]]))
    >>> c = concentration(asset_monitor(p), top=(25, 50), points=4)
    >>> c.gini_exact, c.column("aum_share_bp").tolist()
    (Fraction(3, 4), [10000, 10000])
    >>> c.lorenz_y.tolist()
    [0.0, 0.0, 0.0, 0.0, 1.0]
    """
    if isinstance(source, TierResult):
        values = _with_data(as_of_aum(source), source.tier_codes >= 0)
        as_of = source.as_of
    elif isinstance(source, AssetMonitor):
        values = _with_data(np.asarray(source.columns["aum"]), source.columns["has_data"])
        as_of = source.as_of
    else:
        raise AnalyticsError(f"concentration needs a TierResult or AssetMonitor, got {type(source).__name__}")
    if isinstance(points, bool) or not isinstance(points, int) or points < 1:
        raise AnalyticsError(f"points must be a whole number >= 1, got {points!r}")
    pcts = []
    for p in top:
        d = Decimal(p) if isinstance(p, int | Decimal) and not isinstance(p, bool) else None
        if d is None or not d.is_finite() or not 0 < d <= 100:
            raise AnalyticsError(f"top percentages must be numbers in (0, 100], got {p!r}")
        pcts.append(d)
    x = sort_int64(np.asarray(values, np.int64))
    n = int(x.size)
    # amounts are >= 0: the largest is the last, and no prefix sum passes the total
    if (int(x[-1]) if n else 0) * n > INT64_MAX:
        exact_sum(x, what="AUM")  # the total must fit int64 (then every prefix sum does)
    prefix = np.zeros(n + 1, np.int64)
    np.cumsum(x, out=prefix[1:])
    total = int(prefix[-1])
    ks = [min(n, int(-((-d * n) // 100))) for d in pcts]
    top_sum = np.asarray([total - int(prefix[n - k]) for k in ks], np.int64)
    share, ok = ratio_bp(top_sum, np.full(len(ks), total, np.int64))
    if n == 0 or total == 0:
        g = Fraction(0)
    else:
        s = python_sum(prefix[1:n], bound=total)  # every prefix sum is at most the total
        g = Fraction(n * total - 2 * s - total, n * total)
    m = min(points, n) if n else 1
    idx = np.unique(np.round(np.linspace(0, n, m + 1)).astype(np.int64)) if n else np.array([0, 0])
    lx = idx / n if n else np.array([0.0, 1.0])
    if n and total:
        ly = np.asarray([float(Fraction(int(prefix[i]), total)) for i in idx.tolist()])
    else:
        ly = lx.copy()
    cols = {
        "top_pct": np.asarray([str(d) for d in pcts], dtype=str) if pcts else np.empty(0, "<U1"),
        "customers": np.asarray(ks, np.int64),
        "aum": top_sum,
        "aum_share_bp": share,
    }
    return ConcentrationReport(
        title=f"AUM concentration as of {as_of}",
        columns=make_columns(cols),
        valid={"aum_share_bp": ok},
        money=("aum",),
        gini_exact=g,
        gini=float(g),
        lorenz_x=readonly(np.asarray(lx, np.float64)),
        lorenz_y=readonly(np.asarray(ly, np.float64)),
        n_customers=n,
        total_aum=total,
    )
