"""Tiers over time: :func:`evaluate_path`, migration matrices and :func:`what_if`."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from .._arrays import INT64_MAX, INT64_MIN, Scratch, exact_group_sums
from .._arrays import readonly as _ro
from .._errors import AmountOverflowError
from .._optional import import_optional
from ..money import format_yuan
from ..months import Month, MonthLike
from ..policy import STATUSES, CompiledPolicy, Policy, PolicySet
from ..portfolio import Portfolio
from ._codes import DEFAULT_CHUNK, NO_TIER
from ._evaluate import evaluate
from ._features import Block, compute_path
from ._kernel import as_compiled, compiled_at, month_state, path_index, path_tiers, tier_lut

__all__ = [
    "MigrationMatrix",
    "TierCounts",
    "TierPath",
    "add_tally",
    "evaluate_path",
    "evaluate_tiers",
    "migration_matrix",
    "tally_block",
    "tally_totals",
    "tier_migration",
    "what_if",
]


@attrs.frozen(eq=False, repr=False)
class TierPath:
    """Tier and status of every customer in every evaluated month.

    Attributes
    ----------
    months : tuple of Month
    tier_codes, status_codes : ndarray of int8, shape (n, len(months))
        Codes into ``policy.tier_order`` (-1: no data yet) and :data:`STATUSES`;
        :meth:`tiers` and :meth:`statuses` give the names.
    """

    policy: Policy
    customer_ids: NDArray[np.str_]
    months: tuple[Month, ...]
    tier_codes: NDArray[np.int8]
    status_codes: NDArray[np.int8]

    def tiers(self) -> NDArray[np.str_]:
        """Tier names, shape (n, len(months)); ``""`` where a customer has no data yet."""
        lut = np.asarray([*self.policy.tier_order, ""])
        return lut[np.where(self.tier_codes < 0, len(self.policy.tier_order), self.tier_codes)]

    def statuses(self) -> NDArray[np.str_]:
        """Status names, shape (n, len(months))."""
        return np.asarray(STATUSES)[self.status_codes]

    def column(self, month: MonthLike) -> int:
        """Column of a month."""
        m = Month.coerce(month)
        return self.months.index(m)

    def to_pandas(self) -> Any:
        """Long :class:`pandas.DataFrame`: one row per customer-month with data (needs pandas).

        Columns ``customer_id``, ``month``, ``tier``, ``status``; months before
        a customer's data starts are left out.
        """
        pd = import_optional("pandas", extra="pandas")
        n, t = self.tier_codes.shape
        have = (self.tier_codes >= 0).reshape(-1)
        codes = self.tier_codes.reshape(-1)[have].astype(np.int64)
        return pd.DataFrame(
            {
                "customer_id": np.repeat(self.customer_ids, t)[have],
                "month": np.tile(np.asarray([str(m) for m in self.months] or [""])[:t], n)[have],
                "tier": pd.Categorical.from_codes(codes, categories=list(self.policy.tier_order)),
                "status": pd.Categorical.from_codes(
                    self.status_codes.reshape(-1)[have].astype(np.int64), categories=list(STATUSES)
                ),
            }
        )

    def counts(self) -> NDArray[np.int64]:
        """Customers per tier (rows, ``policy.tier_order``) and month (columns)."""
        k = len(self.policy.tier_order)
        out = np.zeros((k, len(self.months)), dtype=np.int64)
        for j in range(len(self.months)):
            col = self.tier_codes[:, j]
            out[:, j] = np.bincount(col[col >= 0].astype(np.int64), minlength=k)
        return out

    def _repr_html_(self) -> str:
        counts = self.counts()
        head = "".join(f"<th>{html.escape(str(m))}</th>" for m in self.months)
        rows = "".join(
            f"<tr><th>{html.escape(t)}</th>" + "".join(f"<td>{int(v):,}</td>" for v in counts[i]) + "</tr>"
            for i, t in enumerate(self.policy.tier_order)
        )
        return (
            f"<div><b>TierPath</b>, {self.tier_codes.shape[0]:,} customers × {len(self.months)} months"
            f"<table><tr><th>tier</th>{head}</tr>{rows}</table></div>"
        )

    def __repr__(self) -> str:
        return (
            f"<TierPath: {self.tier_codes.shape[0]} customers × {len(self.months)} months "
            f"({self.months[0]}..{self.months[-1]})>"
            if self.months
            else "<TierPath: empty>"
        )


def evaluate_path(
    portfolio: Portfolio,
    policy: Policy | CompiledPolicy | PolicySet | None = None,
    *,
    first: MonthLike | None = None,
    last: MonthLike | None = None,
    chunk_size: int = DEFAULT_CHUNK,
) -> TierPath:
    """Tier and status of every customer for each month from ``first`` to ``last``.

    Loops over months and row blocks, vectorised over customers.  Months
    default to the whole portfolio.  With a :class:`~custvalue.policy.PolicySet`
    each month is evaluated under the version in force then.

    Examples
    --------
    >>> import numpy as np
    >>> from custvalue import Portfolio
    >>> aum = np.array([[100_000_00, 300_000_00, 600_000_00]])
    >>> p = Portfolio.from_arrays(customer_ids=["A"], branch_ids=["X"], start="2026-08", deposits=aum)
    >>> path = evaluate_path(p)
    >>> path.tiers().tolist()
    [['potential', 'gold', 'platinum']]
    >>> path.tier_codes.tolist()
    [[4, 3, 2]]
    """
    f = portfolio.months.start if first is None else Month.coerce(first)
    la = portfolio.months.stop if last is None else Month.coerce(last)
    i0, i1 = portfolio.months.index(f), portfolio.months.index(la)
    months = tuple(portfolio.months[j] for j in range(i0, i1 + 1))
    # the policy in force in each month (one for a plain policy)
    plans = [compiled_at(policy, m) for m in months]
    n = portfolio.n_customers
    # month-major, like the portfolio: each month's column is written contiguously
    tier = np.empty((n, len(months)), np.int8, order="F")
    status = np.empty((n, len(months)), np.int8, order="F")
    # runs of consecutive months under one policy version share their feature windows
    runs: list[tuple[CompiledPolicy, int, int]] = []
    for j, cp in enumerate(plans):
        if runs and runs[-1][0] is cp:
            runs[-1] = (cp, runs[-1][1], i0 + j)
        else:
            runs.append((cp, i0 + j, i0 + j))
    for start in range(0, n, chunk_size):
        rows = slice(start, min(n, start + chunk_size))
        hs = portfolio.history_start[rows].astype(np.int64)
        blocks: dict[int, Block] = {}  # one block (AUM summed once) per policy version
        for cp, r0, r1 in runs:
            block = blocks.get(id(cp))
            if block is None:
                lo = max(0, i0 - cp.history_needed)
                block = blocks[id(cp)] = Block(portfolio, rows, lo, i1, cp.policy.aum, cp.policy.scale)
            for a, values in zip(range(r0, r1 + 1), compute_path(block, cp.features, r0, r1), strict=True):
                m = month_state(cp, block, a, hs, reasons=False, values=values)
                j = a - i0
                tier[rows, j] = np.where(hs <= a, m.tier, NO_TIER)
                status[rows, j] = m.status
    base = policy.versions[0][1] if isinstance(policy, PolicySet) else as_compiled(policy).policy
    return TierPath(base, portfolio.customer_ids, months, _ro(tier), _ro(status))


#: Customers per row block of :func:`evaluate_tiers`: a block's months of levels and codes stay in cache.
PATH_CHUNK = 16384


@attrs.frozen(eq=False, repr=False)
class TierCounts:
    """Tier of every customer in every month of a range, and customers and AUM per tier and month.

    What :func:`evaluate_tiers` returns: the tiers of :func:`evaluate_path`
    without statuses (no status walk, no reasons, no events), tallied.

    Attributes
    ----------
    months : tuple of Month
    tier_codes : ndarray of int8, shape (n, len(months))
        Codes into ``policy.tier_order``; -1 where a customer has no data yet.
    counts : ndarray of int64, shape (len(policy.tier_order), len(months))
        Customers per tier and month (customers without data are not counted).
    aum : ndarray of int64, shape (len(policy.tier_order), len(months))
        Their AUM that month (fen, the AUM classes of the policy in force
        then), exact: a total beyond int64 is an
        :class:`~custvalue.AmountOverflowError`.
    """

    policy: Policy
    customer_ids: NDArray[np.str_]
    months: tuple[Month, ...]
    tier_codes: NDArray[np.int8]
    counts: NDArray[np.int64]
    aum: NDArray[np.int64]

    def tiers(self) -> NDArray[np.str_]:
        """Tier names, shape (n, len(months)); ``""`` where a customer has no data yet."""
        lut = np.asarray([*self.policy.tier_order, ""])
        return lut[np.where(self.tier_codes < 0, len(self.policy.tier_order), self.tier_codes)]

    def __repr__(self) -> str:
        return (
            f"<TierCounts: {self.tier_codes.shape[0]} customers × {len(self.months)} months "
            f"({self.months[0]}..{self.months[-1]})>"
            if self.months
            else "<TierCounts: empty>"
        )


def evaluate_tiers(
    portfolio: Portfolio,
    policy: Policy | CompiledPolicy | PolicySet | None = None,
    *,
    first: MonthLike | None = None,
    last: MonthLike | None = None,
    chunk_size: int = PATH_CHUNK,
) -> TierCounts:
    """Tiers only, of every customer in each month from ``first`` to ``last``, with per-tier totals.

    Equal, month by month, to the tiers of :func:`evaluate` and
    :func:`evaluate_path` (with a :class:`~custvalue.policy.PolicySet`, each
    month under the version in force then), but it computes nothing else:
    no status walk, no previous month, no reasons, no events.  Per row block
    the features of all the months are computed at once (sliding sums and
    maxima over the block's month-major columns, see
    :func:`~custvalue.tiering.compute_features`) and the tier table is
    matched once over all of them; the tally (customers and exact AUM per
    tier and month) is taken while the block is in cache.

    Examples
    --------
    >>> import numpy as np
    >>> from custvalue import Portfolio
    >>> aum = np.array([[100_000_00, 300_000_00, 600_000_00], [0, 0, 250_000_00]])
    >>> p = Portfolio.from_arrays(customer_ids=["A", "B"], branch_ids=["X", "X"], start="2026-08",
    ...                           deposits=aum, history_start=[0, 2])
    >>> t = evaluate_tiers(p)
    >>> t.tiers().tolist()
    [['potential', 'gold', 'platinum'], ['', '', 'gold']]
    >>> t.counts[:, 2].tolist(), t.aum[:, 2].tolist()
    ([0, 0, 1, 1, 0], [0, 0, 60000000, 25000000, 0])
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    f = portfolio.months.start if first is None else Month.coerce(first)
    la = portfolio.months.stop if last is None else Month.coerce(last)
    i0, i1 = portfolio.months.index(f), portfolio.months.index(la)
    months = tuple(portfolio.months[j] for j in range(i0, i1 + 1))
    plans = [compiled_at(policy, m) for m in months]
    base = policy.versions[0][1] if isinstance(policy, PolicySet) else as_compiled(policy).policy
    k = len(base.tier_order)
    n, n_months = portfolio.n_customers, len(months)
    tier = np.empty((n, n_months), np.int8, order="F")
    counts = np.zeros((n_months, k + 1), np.int64)
    sums = [[0] * (k + 1) for _ in range(n_months)]  # exact Python integers across blocks
    runs: list[tuple[CompiledPolicy, int, int]] = []
    for j, cp in enumerate(plans):
        if runs and runs[-1][0] is cp:
            runs[-1] = (cp, runs[-1][1], i0 + j)
        else:
            runs.append((cp, i0 + j, i0 + j))
    for start in range(0, n, chunk_size):
        rows = slice(start, min(n, start + chunk_size))
        hs = portfolio.history_start[rows].astype(np.int64)
        for cp, r0, r1 in runs:
            lo = max(0, r0 - cp.history_needed)
            block = Block(portfolio, rows, lo, r1, cp.policy.aum, cp.policy.scale)
            codes = path_tiers(cp, block, r0, r1)  # (months, rows), a fresh array
            m = r1 - r0 + 1
            if block.hs_max > r0:  # no data yet: no tier, never an invented one
                codes[hs[None, :] > np.arange(r0, r1 + 1)[:, None]] = NO_TIER
            j0 = r0 - i0
            tier[rows, j0 : j0 + m] = codes.T
            c, part = tally_block(block, r0, r1, k, codes=codes)
            counts[j0 : j0 + m] += c
            add_tally(sums, j0, part)
    total = tally_totals(sums, base.tier_order, months)
    return TierCounts(
        base,
        portfolio.customer_ids,
        months,
        _ro(tier),
        _ro(np.ascontiguousarray(counts[:, :k].T)),
        _ro(total),
    )


def tally_block(
    block: Block,
    r0: int,
    r1: int,
    k: int,
    *,
    codes: NDArray[np.int8] | None = None,
    cp: CompiledPolicy | None = None,
    scratch: Scratch | None = None,
    index: NDArray[np.integer[Any]] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Customers and exact AUM per tier of a block's rows in months ``r0..r1``, shape ``(months, k + 1)``.

    Bucket ``k``: no tier (no data yet).  From the block's tier ``codes``
    (``(months, rows)``, ``NO_TIER`` where a customer has no data), or, with
    ``cp`` instead, from :func:`~custvalue.tiering._kernel.path_index`: the
    customers are tallied per lookup-table cell and the cells folded into
    their tiers, so no tier code is written.  A block's total that leaves
    int64 is an :class:`~custvalue.AmountOverflowError` (amounts are
    non-negative: the whole total would too).  ``scratch``: work arrays kept
    from block to block.  ``index``: with ``cp``, the block's lookup-table
    cells of months ``r0..r1`` already found (:func:`~custvalue.tiering._kernel.path_index`).
    """
    m = r1 - r0 + 1
    rows = block.hs.shape[0]
    ws = Scratch() if scratch is None else scratch
    month_aum = block.column("aum")[r0 - block.lo : r1 - block.lo + 1].reshape(-1)
    got = None
    given = codes is not None  # the caller's codes mark no data already
    if codes is None:
        if cp is None:
            raise ValueError("tally_block needs the tier codes or the compiled policy")
        plan = tier_lut(cp) if index is not None else None
        if index is not None and plan is not None:
            got = (index, plan.lut)
        else:
            got = path_index(cp, block, r0, r1, ws)
        if got is None:  # no lookup table: the tiers themselves
            codes = path_tiers(cp, block, r0, r1)
    # a month at a time (its row of cells stays in cache): a tier code, or a lookup-table cell folded below
    width, none = (k + 1, k) if got is None else (got[1].size + 1, got[1].size)
    late = np.flatnonzero(block.hs > r0) if not given and block.hs_max > r0 else None
    cell = ws.array("tally_cell", (rows,), np.intp)
    counts: NDArray[np.int64] = np.zeros((m, width), np.int64)
    part: NDArray[np.int64] = np.zeros((m, width), np.int64)
    aum = month_aum.reshape(m, rows)
    # the overflow bound of every month's sums, found in one pass over the months (not two per month)
    top = int(aum.max()) if aum.size else 0  # amounts are >= 0
    for j in range(m):
        if got is None:
            assert codes is not None
            np.copyto(cell, codes[j], casting="unsafe")
            cell[codes[j] < 0] = none
        else:
            np.copyto(cell, got[0][j], casting="unsafe")
        if late is not None:  # no data yet: no tier (the few rows starting late)
            cell[late[block.hs[late] > r0 + j]] = none
        counts[j] = np.bincount(cell, minlength=width)
        part[j] = exact_group_sums(cell, aum[j], width, what="AUM of a tier and month", bound=top)
    counts = counts.reshape(-1)
    part = part.reshape(-1)
    if got is not None:  # cell c of month j is tier lut[c] (the last: bucket k)
        fold = (
            np.append(got[1].astype(np.intp), k)[None, :] + (np.arange(m, dtype=np.intp) * (k + 1))[:, None]
        )
        folded = np.zeros(m * (k + 1), np.int64)
        np.add.at(folded, fold.reshape(-1), counts)
        part = exact_group_sums(fold.reshape(-1), part, m * (k + 1), what="AUM of a tier and month")
        counts = folded
    return counts.reshape(m, k + 1), part.reshape(m, k + 1)


def add_tally(sums: list[list[int]], j0: int, part: NDArray[np.int64]) -> None:
    """Add a block's AUM tally (months from ``j0``) to the exact Python-integer ``sums``."""
    for j, row_part in enumerate(part.tolist()):
        row = sums[j0 + j]
        for t, v in enumerate(row_part):
            row[t] += v


def tally_totals(sums: list[list[int]], tiers: Sequence[str], months: Sequence[Month]) -> NDArray[np.int64]:
    """The exact totals, shape ``(tiers, months)``; :class:`AmountOverflowError` past int64."""
    total = np.zeros((len(tiers), len(months)), np.int64)
    for j in range(len(months)):
        for t in range(len(tiers)):
            v = sums[j][t]
            if not INT64_MIN <= v <= INT64_MAX:
                raise AmountOverflowError(f"AUM of tier {tiers[t]!r} in {months[j]} overflows int64 fen: {v}")
            total[t, j] = v
    return total


@attrs.frozen(eq=False, repr=False)
class MigrationMatrix:
    """From-tier × to-tier counts and AUM (fen).

    ``counts[i, j]`` customers went from ``tier_order[i]`` to ``tier_order[j]``;
    ``aum[i, j]`` is their AUM (fen) at the ``to`` side.  A last row/column
    ``"(none)"`` holds customers with no tier on one side (new customers).
    """

    labels: tuple[str, ...]
    counts: NDArray[np.int64]
    aum: NDArray[np.int64]
    from_label: str
    to_label: str

    def to_pandas(self) -> Any:
        """Counts as a :class:`pandas.DataFrame` (needs ``pandas``)."""

        pd = import_optional("pandas", extra="pandas")
        return pd.DataFrame(
            self.counts,
            index=pd.Index(self.labels, name=self.from_label),
            columns=pd.Index(self.labels, name=self.to_label),
        )

    def text(self, *, values: str = "counts") -> str:
        """A fixed-width table of counts (``values="counts"``) or AUM in yuan (``"aum"``)."""
        m = self.counts if values == "counts" else self.aum
        cells = [
            [f"{int(v):,}" if values == "counts" else format_yuan(int(v)) for v in row] for row in m.tolist()
        ]
        w = max([len(x) for x in self.labels] + [len(c) for r in cells for c in r] + [4])
        head = f"{self.from_label + ' → ' + self.to_label:<{w}} " + " ".join(
            f"{lab:>{w}}" for lab in self.labels
        )
        body = [
            f"{lab:<{w}} " + " ".join(f"{c:>{w}}" for c in row)
            for lab, row in zip(self.labels, cells, strict=True)
        ]
        return "\n".join([head, *body])

    def __repr__(self) -> str:
        return f"<MigrationMatrix {self.from_label} → {self.to_label}>\n{self.text()}"

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(lab)}</th>" for lab in self.labels)
        rows = "".join(
            f"<tr><th>{html.escape(lab)}</th>"
            + "".join(
                f"<td title='{format_yuan(int(a))} yuan'>{int(c):,}</td>"
                for c, a in zip(crow, arow, strict=True)
            )
            + "</tr>"
            for lab, crow, arow in zip(self.labels, self.counts.tolist(), self.aum.tolist(), strict=True)
        )
        return (
            f"<div><b>Migration</b> {html.escape(self.from_label)} → {html.escape(self.to_label)} "
            f"(customers; hover for AUM)<table><tr><th></th>{head}</tr>{rows}</table></div>"
        )


def migration_matrix(
    from_tier: NDArray[Any],
    to_tier: NDArray[Any],
    aum: NDArray[np.int64],
    tier_order: Sequence[str],
    *,
    from_label: str = "from",
    to_label: str = "to",
) -> MigrationMatrix:
    """Count customers (and sum AUM) by (from tier, to tier); -1 means no tier.

    Vectorised: one :func:`numpy.bincount` for the counts and an exact,
    overflow-checked integer sum for the AUM (an AUM total beyond int64 fen is
    an :class:`~custvalue.AmountOverflowError`, never a wrapped number).
    """
    k = len(tier_order) + 1
    f = np.where(from_tier < 0, k - 1, from_tier).astype(np.int64)
    t = np.where(to_tier < 0, k - 1, to_tier).astype(np.int64)
    cell = f * k + t
    counts = np.bincount(cell, minlength=k * k).reshape(k, k)
    total = exact_group_sums(cell, aum, k * k, what="migration AUM")
    return MigrationMatrix(
        (*tier_order, "(none)"), _ro(counts), _ro(total.reshape(k, k)), from_label, to_label
    )


def _month_aum(portfolio: Portfolio, classes: Sequence[str], a: int) -> NDArray[np.int64]:
    """AUM (fen) of every customer at absolute month ``a``: one month's columns, summed."""
    total = np.zeros(portfolio.n_customers, np.int64)
    for c in classes:  # each cell is at most MAX_AMOUNT: no overflow
        total += portfolio.column(c)[:, a]
    return total


def tier_migration(
    portfolio: Portfolio,
    policy: Policy | CompiledPolicy | PolicySet | None,
    from_month: MonthLike,
    to_month: MonthLike,
) -> MigrationMatrix:
    """Tier migration between two months of one portfolio (counts and AUM at ``to_month``).

    With a :class:`~custvalue.policy.PolicySet` each month is evaluated under
    the version in force then (AUM by the ``to_month`` version's classes).
    """
    f = Month.coerce(from_month)
    t = Month.coerce(to_month)
    cp = compiled_at(policy, t)
    path = evaluate_path(
        portfolio, policy if isinstance(policy, PolicySet) else cp, first=min(f, t), last=max(f, t)
    )
    aum = _month_aum(portfolio, cp.policy.aum, portfolio.months.index(t))
    return migration_matrix(
        path.tier_codes[:, path.column(f)],
        path.tier_codes[:, path.column(t)],
        aum,
        cp.policy.tier_order,
        from_label=str(f),
        to_label=str(t),
    )


def what_if(
    portfolio: Portfolio,
    current: Policy | CompiledPolicy,
    proposed: Policy | CompiledPolicy,
    *,
    as_of: MonthLike | None = None,
) -> MigrationMatrix:
    """Evaluate two policies on the same portfolio: the migration matrix between them.

    Both policies must have the same tier ids in the same order.  AUM is the
    as-of AUM under the proposed policy's AUM definition.

    Examples
    --------
    >>> import numpy as np
    >>> from decimal import Decimal
    >>> from custvalue import Portfolio, default_policy
    >>> p = Portfolio.from_arrays(customer_ids=["A", "B"], branch_ids=["X", "X"], start="2026-10",
    ...                           deposits=np.array([[450_000_00], [550_000_00]]))
    >>> cur = default_policy()
    >>> m = what_if(p, cur, cur.with_tier("platinum", aum_floor=Decimal(400000)))
    >>> int(m.counts[3, 2])          # gold -> platinum
    1
    """
    a, b = as_compiled(current), as_compiled(proposed)
    if a.policy.tier_order != b.policy.tier_order:
        raise ValueError(
            "what_if compares policies with the same tiers; got "
            f"{a.policy.tier_order} and {b.policy.tier_order}"
        )
    ra, rb = evaluate(portfolio, a, as_of=as_of), evaluate(portfolio, b, as_of=as_of)
    aum = _month_aum(portfolio, b.policy.aum, portfolio.months.index(ra.as_of))
    return migration_matrix(
        ra.tier_codes,
        rb.tier_codes,
        aum,
        a.policy.tier_order,
        from_label=a.policy.name,
        to_label=b.policy.name,
    )
