"""Large-transaction monitoring (大额交易监测): the policy's ``[transactions]`` rules.

:func:`large_transactions` evaluates every rule over a :class:`Transactions`
(sorted once by customer and timestamp when it was built) without a loop per
customer:

* ``single``: the transactions of the rule's direction with ``amount >=
  threshold``; one alert each.
* ``aum_share``: the transactions with ``amount * 100 >= percent * AUM`` of
  the customer at the transaction's month (exact integer comparison); one
  alert each.  Needs the portfolio: without one the rule is *skipped* and
  named in :attr:`LargeTransactionAlerts.skipped_rules`.
* ``window_sum`` and ``structuring``: a trailing window ends at each
  distinct timestamp of a customer's qualifying transactions and holds the
  qualifying transactions less than ``days * 86400`` seconds before it (the
  end timestamp included, with all transactions at that second).  Window
  starts come from one :func:`numpy.searchsorted` over the (customer,
  timestamp) key, sums from one cumulative sum (exact int64; an overflowing
  sum is an :class:`~custvalue.AmountOverflowError`, never a wrapped value).
  ``window_sum`` alerts where the sum is at least the threshold,
  ``structuring`` where at least ``count`` transactions, each in
  ``[threshold - margin, threshold)``, fall in the window.

Alerts are ordered by rule (policy order), customer, window end, then input
order.  :func:`reference_large_transactions` is the same definition written
as plain loops, for tests.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Final

import attrs
import numpy as np
from numpy.typing import NDArray

from .._arrays import INT64_MAX, exact_sum, readonly
from .._errors import AmountOverflowError
from .._optional import import_optional
from ..allocation import AllocationBook
from ..money import format_yuan
from ..months import Month
from ..policy import Policy, PolicyError, TransactionRule, default_policy
from ..portfolio import Portfolio
from ..tiering import TierResult
from ._transactions import TransactionError, Transactions

__all__ = ["ALERT_COLUMNS", "LargeTransactionAlerts", "large_transactions", "reference_large_transactions"]

#: Columns of :meth:`LargeTransactionAlerts.to_pandas`.
ALERT_COLUMNS: Final[tuple[str, ...]] = (
    "rule_id",
    "customer_id",
    "window_start",
    "window_end",
    "amount",
    "count",
    "aum",
    "tier",
    "rm",
)
_DAY: Final = 86_400
_EPOCH_MONTH: Final = 1970 * 12
_HALF: Final = 0xFFFFFFFF


@attrs.frozen(eq=False, repr=False)
class LargeTransactionAlerts:
    """Alerts of the large-transaction rules; immutable, columnar, one row per alert.

    Attributes
    ----------
    rule_ids : tuple of str
        The policy's transaction rules, in order; ``rule_codes`` index them.
    skipped_rules : tuple of str
        Rules not evaluated (``aum_share`` without a portfolio).
    rule_codes : ndarray of int16
    customer_ids : ndarray of str
    window_start, window_end : ndarray of datetime64[s]
        The first and last transaction of the window (equal for one transaction).
    amount : ndarray of int64
        Fen: the transaction's amount, or the window's sum.
    count : ndarray of int64
        Transactions in the window (1 for ``single`` and ``aum_share``).
    aum : ndarray of int64
        The customer's AUM at the month, fen (``aum_share``; 0 otherwise).
    tier, rm : ndarray of str
        The customer's tier (from ``tiers``) and primary account manager at
        the window end (from ``book``); ``""`` when not given or unknown.

    Examples
    --------
    >>> t = Transactions.from_arrays(customer_ids=["C1", "C1"],
    ...     timestamps=["2026-10-01T09:00:00", "2026-10-02T09:00:00"],
    ...     amounts=[6_000_000, 100], directions=["out", "out"])
    >>> a = large_transactions(t)
    >>> a.rules().tolist(), a.amount.tolist(), a.skipped_rules
    (['large_single'], [6000000], ('aum_outflow',))
    """

    rule_ids: tuple[str, ...]
    skipped_rules: tuple[str, ...]
    rule_codes: NDArray[np.int16]
    customer_ids: NDArray[np.str_]
    window_start: NDArray[np.datetime64]
    window_end: NDArray[np.datetime64]
    amount: NDArray[np.int64]
    count: NDArray[np.int64]
    aum: NDArray[np.int64]
    tier: NDArray[np.str_]
    rm: NDArray[np.str_]

    def __len__(self) -> int:
        return int(self.rule_codes.shape[0])

    def rules(self) -> NDArray[np.str_]:
        """Rule id per alert."""
        table = np.array(self.rule_ids) if self.rule_ids else np.zeros(0, dtype="U1")
        return table[self.rule_codes]

    def columns(self) -> dict[str, NDArray[Any]]:
        """The alert columns by name (:data:`ALERT_COLUMNS`)."""
        return {
            "rule_id": self.rules(),
            "customer_id": self.customer_ids,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "amount": self.amount,
            "count": self.count,
            "aum": self.aum,
            "tier": self.tier,
            "rm": self.rm,
        }

    def records(self) -> list[tuple[str, str, int, int, int, int, int]]:
        """``(rule_id, customer_id, start, end, amount, count, aum)`` per alert (epoch seconds)."""
        return list(
            zip(
                self.rules().tolist(),
                self.customer_ids.tolist(),
                self.window_start.astype(np.int64).tolist(),
                self.window_end.astype(np.int64).tolist(),
                self.amount.tolist(),
                self.count.tolist(),
                self.aum.tolist(),
                strict=True,
            )
        )

    def to_pandas(self) -> Any:
        """A :class:`pandas.DataFrame` with :data:`ALERT_COLUMNS` (money in fen; needs pandas)."""
        pd = import_optional("pandas", extra="pandas")
        return pd.DataFrame(self.columns())

    def text(self, *, max_rows: int = 40) -> str:
        """A plain-text table (amounts in yuan).

        >>> t = Transactions.from_arrays(customer_ids=["C1"], timestamps=["2026-10-01T09:00:00"],
        ...                              amounts=[6_000_000], directions=["in"])
        >>> print(large_transactions(t).text())
        rule_id       customer_id  window_start         window_end                  amount  count
        large_single  C1           2026-10-01T09:00:00  2026-10-01T09:00:00      60,000.00      1
        1 alert; skipped (no portfolio): aum_outflow
        """
        head = ["rule_id", "customer_id", "window_start", "window_end", "amount", "count"]
        extra = [c for c in ("tier", "rm") if np.any(getattr(self, c) != "")]
        head += extra
        n = min(len(self), max_rows)
        rows = [
            [
                str(self.rule_ids[self.rule_codes[i]]),
                str(self.customer_ids[i]),
                str(self.window_start[i]),
                str(self.window_end[i]),
                format_yuan(int(self.amount[i])),
                str(int(self.count[i])),
                *[str(getattr(self, c)[i]) for c in extra],
            ]
            for i in range(n)
        ]
        right = {"amount", "count"}
        widths = [max([len(h)] + [len(r[k]) for r in rows]) for k, h in enumerate(head)]
        widths[head.index("amount")] = max(widths[head.index("amount")], 14)

        def line(cells: list[str]) -> str:
            return "  ".join(
                c.rjust(w) if h in right else c.ljust(w) for c, w, h in zip(cells, widths, head, strict=True)
            ).rstrip()

        out = [line(head), *(line(r) for r in rows)]
        if len(self) > n:
            out.append(f"... {len(self) - n:,} more")
        tail = f"{len(self):,} alert" + ("" if len(self) == 1 else "s")
        if self.skipped_rules:
            tail += f"; skipped (no portfolio): {', '.join(self.skipped_rules)}"
        out.append(tail)
        return "\n".join(out)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LargeTransactionAlerts):
            return NotImplemented
        return (
            self.rule_ids == other.rule_ids
            and self.skipped_rules == other.skipped_rules
            and all(np.array_equal(a, b) for a, b in zip(self._arrays(), other._arrays(), strict=True))
        )

    __hash__ = None  # type: ignore[assignment]

    def _arrays(self) -> Iterator[NDArray[Any]]:
        yield from (self.rule_codes, self.customer_ids, self.window_start, self.window_end)
        yield from (self.amount, self.count, self.aum, self.tier, self.rm)

    def __repr__(self) -> str:
        counts = np.bincount(self.rule_codes, minlength=len(self.rule_ids)).tolist()
        per = ", ".join(f"{r}: {c}" for r, c in zip(self.rule_ids, counts, strict=True))
        return f"<LargeTransactionAlerts: {len(self):,} ({per})>"


# ------------------------------------------------------------------ rules
@attrs.frozen
class _Found:
    """Alerts of one rule: transaction rows (sorted order) or window end rows, with values."""

    rows: NDArray[np.intp]
    start: NDArray[np.int64]
    amount: NDArray[np.int64]
    count: NDArray[np.int64]
    aum: NDArray[np.int64]


def _fen(rule: TransactionRule, value: Decimal, scale: int, what: str) -> int:
    fen = value * scale
    if fen != fen.to_integral_value():
        raise PolicyError(
            f"transactions.rules[{rule.id}].{what}: {value} is not a whole number of fen",
            path=f"transactions.rules[{rule.id}].{what}",
        )
    return int(fen)


def _direction_mask(tx: Transactions, direction: str) -> NDArray[np.bool_] | None:
    if direction == "any":
        return None
    mask: NDArray[np.bool_] = tx.direction_codes == (1 if direction == "out" else 0)
    return mask


def _select(tx: Transactions, rule: TransactionRule, scale: int) -> NDArray[np.intp]:
    """Sorted rows the rule looks at (its direction; the amount band of ``structuring``)."""
    mask = _direction_mask(tx, rule.direction)
    if rule.kind == "structuring":
        assert rule.threshold is not None and rule.margin is not None
        hi = _fen(rule, rule.threshold, scale, "threshold")
        lo = hi - _fen(rule, rule.margin, scale, "margin")
        band = (tx.amounts >= lo) & (tx.amounts < hi)
        mask = band if mask is None else mask & band
    elif rule.kind == "single":
        assert rule.threshold is not None
        big = tx.amounts >= _fen(rule, rule.threshold, scale, "threshold")
        mask = big if mask is None else mask & big
    if mask is None:
        return np.arange(len(tx), dtype=np.intp)
    return np.flatnonzero(mask)


def window_bounds(
    codes: NDArray[np.int64], seconds: NDArray[np.int64], width: int
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """For rows sorted by (code, seconds): ``lo[j]``, ``hi[j]`` of the trailing window at ``j``.

    The window of row ``j`` is the rows ``lo[j]:hi[j]`` of the same code with
    ``seconds[j] - width < seconds <= seconds[j]``.

    >>> lo, hi = window_bounds(np.array([0, 0, 0, 1]), np.array([0, 10, 10, 5]), 10)
    >>> lo.tolist(), hi.tolist()
    ([0, 1, 1, 3], [1, 3, 3, 4])
    """
    n = codes.shape[0]
    lo = np.empty(n, dtype=np.intp)
    hi = np.empty(n, dtype=np.intp)
    if n == 0:
        return lo, hi
    base = int(seconds.min())
    span = int(seconds.max()) - base + width + 1
    per = max(1, INT64_MAX // span - 1)  # customers per chunk whose keys fit int64
    first, last = int(codes[0]), int(codes[-1])
    for c0 in range(first, last + 1, per):  # one chunk unless customers x span > 2**63
        a, b = np.searchsorted(codes, [c0, c0 + per])
        if a == b:
            continue
        key = (codes[a:b] - c0) * span + (seconds[a:b] - base)
        lo[a:b] = a + np.searchsorted(key, key - (width - 1), side="left")
        hi[a:b] = a + np.searchsorted(key, key, side="right")
    return lo, hi


def window_sums(
    values: NDArray[np.int64], lo: NDArray[np.intp], hi: NDArray[np.intp], *, what: str
) -> NDArray[np.int64]:
    """``values[lo[j]:hi[j]].sum()`` for every ``j``, exact; :class:`AmountOverflowError` otherwise.

    Non-negative ``values``.  One cumulative sum when the total fits int64,
    else cumulative sums of the 32-bit halves, recombined with a check.

    >>> window_sums(np.array([2**62, 2**62, 5]), np.array([0, 1, 2]), np.array([1, 2, 3]), what="x").tolist()
    [4611686018427387904, 4611686018427387904, 5]
    >>> window_sums(np.array([2**62, 2**62]), np.array([0]), np.array([2]), what="outflow")
    Traceback (most recent call last):
    ...
    custvalue.AmountOverflowError: outflow window sum overflows int64 fen
    """
    n = values.shape[0]
    try:
        exact_sum(values, what=what)  # every prefix sum fits int64 when the total does
        fits = True
    except AmountOverflowError:
        fits = False
    if fits:
        cs = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(values, out=cs[1:])
        out: NDArray[np.int64] = cs[hi] - cs[lo]
        return out
    cs_h = np.zeros(n + 1, dtype=np.int64)
    cs_l = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(values >> 32, out=cs_h[1:])
    np.cumsum(values & _HALF, out=cs_l[1:])
    high = cs_h[hi] - cs_h[lo]
    low = cs_l[hi] - cs_l[lo]
    over = high > (INT64_MAX >> 32)
    shifted = np.where(over, 0, high) << 32
    over |= low > INT64_MAX - shifted
    if over.any():
        raise AmountOverflowError(f"{what} window sum overflows int64 fen")
    result: NDArray[np.int64] = shifted + low
    return result


def _windowed(tx: Transactions, rows: NDArray[np.intp], rule: TransactionRule, scale: int) -> _Found:
    assert rule.days is not None
    codes = tx.customer_codes[rows]
    seconds = tx.timestamps.view(np.int64)[rows]
    values = tx.amounts[rows]
    lo, hi = window_bounds(codes, seconds, rule.days * _DAY)
    end = hi == np.arange(1, rows.shape[0] + 1)  # the last row of each distinct timestamp
    sums = window_sums(values, lo, hi, what=f"rule {rule.id}")
    count = (hi - lo).astype(np.int64)
    if rule.kind == "window_sum":
        assert rule.threshold is not None
        hit = end & (sums >= _fen(rule, rule.threshold, scale, "threshold"))
    else:
        assert rule.count is not None
        hit = end & (count >= rule.count)
    k = np.flatnonzero(hit)
    return _Found(rows[k], seconds[lo[k]], sums[k], count[k], np.zeros(k.shape[0], dtype=np.int64))


def _ge_products(a: NDArray[np.int64], ka: int, b: NDArray[np.int64], kb: int) -> NDArray[np.bool_]:
    """``a * ka >= b * kb`` exactly (non-negative ``a``, ``b``)."""
    peak_a = int(a.max()) if a.size else 0
    peak_b = int(b.max()) if b.size else 0
    if peak_a * ka <= INT64_MAX and peak_b * kb <= INT64_MAX:
        return a * ka >= b * kb
    wide: NDArray[np.bool_] = a.astype(object) * ka >= b.astype(object) * kb
    return wide.astype(bool)


def _aum_share(
    tx: Transactions, rows: NDArray[np.intp], rule: TransactionRule, portfolio: Portfolio, policy: Policy
) -> _Found:
    assert rule.percent is not None
    codes = tx.customer_codes[rows]
    seconds = tx.timestamps.view(np.int64)[rows]
    prow = _portfolio_rows(tx, portfolio)[codes]
    month = seconds.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64) + _EPOCH_MONTH
    mi = month - portfolio.months.start.ordinal
    outside = (mi < 0) | (mi >= portfolio.n_months)
    outside |= ~outside & (mi < portfolio.history_start[prow])
    if outside.any():
        j = int(np.flatnonzero(outside)[0])
        raise TransactionError(
            f"rule {rule.id} needs the customer's AUM, but the portfolio has no balances for that month "
            f"(it covers {portfolio.months})",
            customer_id=str(tx.customer_ids[codes[j]]),
            month=str(Month.from_ordinal(int(month[j]))),
        )
    aum = portfolio.aum(policy.aum)[prow, mi]
    num, den = rule.percent.as_integer_ratio()
    amounts = tx.amounts[rows]
    hit = np.flatnonzero(_ge_products(amounts, 100 * den, aum, num))
    ones = np.ones(hit.shape[0], dtype=np.int64)
    return _Found(rows[hit], seconds[hit], amounts[hit], ones, aum[hit].astype(np.int64))


def _portfolio_rows(tx: Transactions, portfolio: Portfolio) -> NDArray[np.intp]:
    """Portfolio row of each of ``tx.customer_ids``; a customer not in the portfolio is an error."""
    order = np.argsort(portfolio.customer_ids, kind="stable")
    ids = portfolio.customer_ids[order]
    pos = np.minimum(np.searchsorted(ids, tx.customer_ids), max(ids.shape[0] - 1, 0))
    found = ids[pos] == tx.customer_ids if ids.size else np.zeros(tx.n_customers, dtype=bool)
    if not found.all():
        k = int(np.flatnonzero(~found)[0])
        raise TransactionError("customer is not in the portfolio", customer_id=str(tx.customer_ids[k]))
    result: NDArray[np.intp] = order[pos]
    return result


def large_transactions(
    transactions: Transactions,
    policy: Policy | None = None,
    *,
    portfolio: Portfolio | None = None,
    tiers: TierResult | None = None,
    book: AllocationBook | None = None,
) -> LargeTransactionAlerts:
    """Evaluate the policy's large-transaction rules (see the module notes).

    Parameters
    ----------
    transactions
        The transactions.
    policy
        Its ``transactions`` rules are used (default: :func:`custvalue.default_policy`).
    portfolio
        Balances for the ``aum_share`` rules (AUM as the policy defines it);
        without it those rules are skipped (and named in ``skipped_rules``).
    tiers
        A :class:`~custvalue.TierResult`: each alert gets the customer's tier.
    book
        An :class:`~custvalue.allocation.AllocationBook`: each alert gets the
        customer's primary manager at the window end.

    Returns
    -------
    LargeTransactionAlerts

    Examples
    --------
    >>> t = Transactions.from_arrays(
    ...     customer_ids=["C1"] * 4,
    ...     timestamps=["2026-10-01T10:00:00", "2026-10-03T10:00:00", "2026-10-05T10:00:00",
    ...                 "2026-10-08T10:00:00"],
    ...     amounts=[4_900_000, 4_800_000, 4_990_000, 4_950_000], directions=["out"] * 4)
    >>> a = large_transactions(t)
    >>> a.rules().tolist(), a.count.tolist(), [str(s) for s in a.window_start]
    (['structuring', 'structuring'], [3, 3], ['2026-10-01T10:00:00', '2026-10-03T10:00:00'])
    """
    policy = default_policy() if policy is None else policy
    scale = policy.scale
    found: list[tuple[int, _Found]] = []
    skipped: list[str] = []
    for k, rule in enumerate(policy.transactions):
        tx = transactions
        rows = _select(tx, rule, scale)
        if rule.kind == "aum_share":
            if portfolio is None:
                skipped.append(rule.id)
                continue
            found.append((k, _aum_share(tx, rows, rule, portfolio, policy)))
        elif rule.kind == "single":
            n = rows.shape[0]
            seconds = tx.timestamps.view(np.int64)[rows]
            ones = np.ones(n, dtype=np.int64)
            found.append((k, _Found(rows, seconds, tx.amounts[rows], ones, np.zeros(n, dtype=np.int64))))
        else:
            found.append((k, _windowed(tx, rows, rule, scale)))
    return _alerts(transactions, policy, found, tuple(skipped), tiers, book)


def _alerts(
    tx: Transactions,
    policy: Policy,
    found: list[tuple[int, _Found]],
    skipped: tuple[str, ...],
    tiers: TierResult | None,
    book: AllocationBook | None,
) -> LargeTransactionAlerts:
    rule_codes = np.concatenate(
        [np.full(f.rows.shape[0], k, dtype=np.int16) for k, f in found] or [np.zeros(0, np.int16)]
    )
    rows = np.concatenate([f.rows for _, f in found] or [np.zeros(0, np.intp)])

    def cat(name: str) -> NDArray[np.int64]:
        return np.concatenate([getattr(f, name) for _, f in found] or [np.zeros(0, np.int64)])

    codes = tx.customer_codes[rows]
    ids = tx.customer_ids[codes] if rows.size else np.zeros(0, dtype="U1")
    end = tx.timestamps[rows]
    n = rows.shape[0]
    tier = np.full(n, "", dtype=object)
    if tiers is not None and n:
        order = np.argsort(tiers.customer_ids, kind="stable")
        sorted_ids = tiers.customer_ids[order]
        pos = np.minimum(np.searchsorted(sorted_ids, ids), max(sorted_ids.shape[0] - 1, 0))
        known = sorted_ids[pos] == ids if sorted_ids.size else np.zeros(n, dtype=bool)
        names = tiers.tiers()[order[pos]]
        tier = np.where(known, names, "")
    rm = np.full(n, "", dtype=object)
    if book is not None and n:  # one vectorised query: each alert's customer at its window end
        rm = book.primary_managers(ids, end.astype("datetime64[D]")).primary
    return LargeTransactionAlerts(
        rule_ids=tuple(r.id for r in policy.transactions),
        skipped_rules=skipped,
        rule_codes=readonly(rule_codes),
        customer_ids=readonly(np.asarray(ids, dtype=str) if n else np.zeros(0, dtype="U1")),
        window_start=readonly(cat("start").astype("datetime64[s]")),
        window_end=readonly(end.astype("datetime64[s]")),
        amount=readonly(cat("amount")),
        count=readonly(cat("count")),
        aum=readonly(cat("aum")),
        tier=readonly(np.asarray(tier, dtype=str) if n else np.zeros(0, dtype="U1")),
        rm=readonly(np.asarray(rm, dtype=str) if n else np.zeros(0, dtype="U1")),
    )


# ------------------------------------------------------------------ reference
def reference_large_transactions(
    transactions: Transactions, policy: Policy | None = None, *, portfolio: Portfolio | None = None
) -> list[tuple[str, str, int, int, int, int, int]]:
    """The alerts as plain loops over each customer's transactions (for tests; slow).

    Returns :meth:`LargeTransactionAlerts.records` of what
    :func:`large_transactions` must give (tiers and managers aside).  It
    re-sorts the transactions itself and compares amounts as Python integers.

    >>> from custvalue.analytics import synthetic_transactions
    >>> t = synthetic_transactions(300, 5, seed=2, days=20)
    >>> reference_large_transactions(t) == large_transactions(t).records()
    True
    """
    policy = default_policy() if policy is None else policy
    scale = policy.scale
    rows = sorted(
        zip(
            transactions.row_customer_ids().tolist(),
            transactions.timestamps.view(np.int64).tolist(),
            transactions.source_rows.tolist(),
            transactions.amounts.tolist(),
            transactions.direction_codes.tolist(),
            strict=True,
        )
    )
    by_customer: dict[str, list[tuple[int, int, int]]] = {}
    for cid, t, _, amount, d in rows:
        by_customer.setdefault(cid, []).append((t, amount, d))
    aum_of: dict[tuple[str, int], int] = {}
    if portfolio is not None:
        total = portfolio.aum(policy.aum)
        for i, cid in enumerate(portfolio.customer_ids.tolist()):
            for m in range(int(portfolio.history_start[i]), portfolio.n_months):
                aum_of[(cid, portfolio.months.start.ordinal + m)] = int(total[i, m])
    out: list[tuple[str, str, int, int, int, int, int]] = []
    for rule in policy.transactions:
        if rule.kind == "aum_share" and portfolio is None:
            continue
        want = {"in": (0,), "out": (1,), "any": (0, 1)}[rule.direction]
        for cid in sorted(by_customer):
            txs = [(t, a) for t, a, d in by_customer[cid] if d in want]
            if rule.kind == "single":
                assert rule.threshold is not None
                thr = int(rule.threshold * scale)
                out += [(rule.id, cid, t, t, a, 1, 0) for t, a in txs if a >= thr]
            elif rule.kind == "aum_share":
                assert rule.percent is not None
                for t, a in txs:
                    d = _dt.datetime(1970, 1, 1) + _dt.timedelta(seconds=t)
                    aum = aum_of[(cid, d.year * 12 + d.month - 1)]
                    if Decimal(a) * 100 >= rule.percent * aum:
                        out.append((rule.id, cid, t, t, a, 1, aum))
            else:
                assert rule.days is not None and rule.threshold is not None
                width = rule.days * _DAY
                if rule.kind == "structuring":
                    assert rule.margin is not None
                    hi, lo = rule.threshold * scale, (rule.threshold - rule.margin) * scale
                    txs = [(t, a) for t, a in txs if lo <= a < hi]
                for j, (t, _) in enumerate(txs):
                    if j + 1 < len(txs) and txs[j + 1][0] == t:
                        continue  # not the last transaction at this second
                    inside = [(u, a) for u, a in txs if t - width < u <= t]
                    total_in = sum(a for _, a in inside)
                    if rule.kind == "window_sum":
                        ok = total_in >= rule.threshold * scale
                    else:
                        assert rule.count is not None
                        ok = len(inside) >= rule.count
                    if ok:
                        out.append((rule.id, cid, inside[0][0], t, total_in, len(inside), 0))
    return out
