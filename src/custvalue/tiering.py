"""Tiering: evaluate a tier policy over a portfolio.

:func:`evaluate` assigns every customer its tier at the as-of month, the
status of that tier (normal / observation / attention and ``months_below``),
its previous tier and movement, churn of a lapsed tier, and the events that
follow — all vectorised over customers, in row blocks that fit the CPU cache.

The policy is data (:func:`custvalue.default_policy` ships the SPEC's
default); it is compiled once (:func:`custvalue.policy.compile_policy`) into a
FIRST decision table plus per-tier lookup arrays, and evaluation never loops
over customers in Python.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final

import attrs
import numpy as np
from numpy.typing import NDArray

from ._arrays import readonly as _ro
from .features import _Block, _compute
from .money import format_yuan
from .months import Month
from .policy import CompiledPolicy, Policy, compile_policy, default_policy
from .policy._document import EVENT_TYPES, STATUSES
from .portfolio import Portfolio

__all__ = [
    "MOVEMENTS",
    "STATUSES",
    "EventTable",
    "Explanation",
    "MigrationMatrix",
    "TierPath",
    "TierResult",
    "evaluate",
    "evaluate_chunks",
    "evaluate_path",
    "migration_matrix",
    "tier_migration",
    "what_if",
]

#: Movement codes of :attr:`TierResult.movement`.
MOVEMENTS: Final[tuple[str, ...]] = ("new", "up", "down", "same")
NEW, UP, DOWN, SAME = 0, 1, 2, 3
NO_TIER: Final = -1
DEFAULT_CHUNK: Final = 65536

#: Result columns of a written result file, in order (SPEC section 7).
RESULT_COLUMNS: Final[tuple[str, ...]] = (
    "customer_id", "as_of", "tier", "status", "months_below", "previous_tier", "movement",
    "churned_tier", "history_complete", "reasons",
)


@functools.lru_cache(maxsize=16)
def _compiled_for(policy: Policy) -> CompiledPolicy:
    """Compilation is pure and policies are immutable values: reuse recent compilations."""
    return compile_policy(policy)


def _as_compiled(policy: Policy | CompiledPolicy | None) -> CompiledPolicy:
    if policy is None:
        return _compiled_for(default_policy())
    if isinstance(policy, CompiledPolicy):
        return policy
    if isinstance(policy, Policy):
        return _compiled_for(policy)
    raise TypeError(f"expected a Policy or CompiledPolicy, got {type(policy).__name__}")


# --------------------------------------------------------------------------- kernel


@attrs.frozen
class _Month:
    """Tier, decisive rule, k, status and reason bits of one month for a block."""

    tier: NDArray[np.int8]
    first_rule: NDArray[np.int16]
    k: NDArray[np.int16]
    status: NDArray[np.int8]
    reasons: NDArray[np.uint64]


def _rule_matches(cp: CompiledPolicy, values: Mapping[str, NDArray[Any]]) -> NDArray[np.bool_]:
    """Boolean matrix (n_rules, n) of which tier-table rules hold."""
    from .portfolio import CARD_LEVELS
    from .rules import CodedColumn

    cols: dict[str, Any] = dict(values)
    for name in cp.coded_features:
        cols[name] = CodedColumn(values[name], CARD_LEVELS)
    m: NDArray[np.bool_] = cp.compiled_table.match_matrix(cols)
    return m


def _lowest_bit_table() -> NDArray[np.int16]:
    v = np.arange(1 << 16, dtype=np.int64)
    low = v & -v
    table = np.full(1 << 16, -1, dtype=np.int16)
    table[1:] = np.log2(low[1:]).astype(np.int16)  # exact: powers of two below 2**16
    table.setflags(write=False)
    return table


_LOWEST_BIT: Final = _lowest_bit_table()


def _first_and_bits(matches: NDArray[np.bool_]) -> tuple[NDArray[np.int16], NDArray[np.uint64]]:
    """First matching rule (FIRST hit policy) and the bit set of all matching rules.

    Up to 16 rules: OR the match rows into one ``uint16`` per customer and
    look the lowest set bit up in a table (faster than ``argmax`` over rules).
    """
    n_rules = matches.shape[0]
    if n_rules <= 16:
        bits16 = np.zeros(matches.shape[1], dtype=np.uint16)
        for r in range(n_rules):
            bits16 |= matches[r].view(np.uint8).astype(np.uint16) << np.uint16(r)
        return _LOWEST_BIT[bits16], bits16.astype(np.uint64)
    first = np.argmax(matches, axis=0).astype(np.int16)
    bits = np.zeros(matches.shape[1], dtype=np.uint64)
    for r in range(min(n_rules, 64)):
        bits |= matches[r].astype(np.uint64) << np.uint64(r)
    return first, bits


def _month(cp: CompiledPolicy, block: _Block, a: int, hs: NDArray[np.int64]) -> _Month:
    """Evaluate one as-of month (absolute index ``a``) for a block of rows."""
    feats = _compute(block, cp.features, a, None, with_complete=False)
    matches = _rule_matches(cp, feats.values)
    first, bits = _first_and_bits(matches)
    tier = cp.rule_tier[first]
    bits &= cp.tier_rule_bits[tier]
    k = np.zeros(first.shape[0], dtype=np.int16)
    aum = block.column("aum")  # month-major (months, rows)
    col = a - block.lo
    now = aum[col]
    for ti in np.flatnonzero(cp.aum_rule >= 0):
        floor = cp.floor_fen[ti]
        # only customers held through this tier's AUM rule and below the floor now
        sel = np.flatnonzero((now < floor) & (first == cp.aum_rule[ti]))
        if sel.size == 0:
            continue
        alive = np.ones(sel.size, dtype=bool)
        ks = np.zeros(sel.size, dtype=np.int16)
        for back in range(int(cp.window[ti]) + 1):
            c = col - back
            if c < 0:
                break
            alive &= (aum[c, sel] < floor) & (a - back >= hs[sel])
            if not alive.any():
                break
            ks += alive
        k[sel] = ks
    status = cp.status_lut.ravel()[tier.astype(np.intp) * cp.status_lut.shape[1] + k]
    return _Month(tier, first, k, status, bits)


def _evaluate_block(
    cp: CompiledPolicy, portfolio: Portfolio, rows: slice, a: int, previous: bool
) -> dict[str, NDArray[Any]]:
    hs = portfolio.history_start[rows].astype(np.int64)
    lo = max(0, a - cp.history_needed)
    block = _Block(portfolio, rows, lo, a, cp.policy.aum, cp.policy.scale)
    cur = _month(cp, block, a, hs)
    n = hs.shape[0]
    prev_tier = np.full(n, NO_TIER, dtype=np.int8)
    movement = np.full(n, NEW, dtype=np.int8)
    churned = np.full(n, NO_TIER, dtype=np.int8)
    prev_status = np.full(n, -1, dtype=np.int8)
    if previous and a >= 1:
        prv = _month(cp, block, a - 1, hs)
        has_prev = hs <= a - 1
        prev_tier = np.where(has_prev, prv.tier, NO_TIER).astype(np.int8)
        prev_status = np.where(has_prev, prv.status, -1).astype(np.int8)
        movement = np.select(
            [~has_prev, cur.tier < prv.tier, cur.tier > prv.tier], [NEW, UP, DOWN], SAME
        ).astype(np.int8)
        # the previous tier was held through its AUM rule and is gone now: it lapsed
        prev_by_aum = prv.first_rule == cp.aum_rule[prv.tier]
        churned = np.where((movement == DOWN) & prev_by_aum, prv.tier, NO_TIER).astype(np.int8)
    need = a - cp.history_needed
    complete = (hs <= need) if need >= 0 else np.zeros(n, dtype=bool)
    absent = hs > a  # no data at the as-of month: no tier, never an invented one
    if absent.any():
        cur = _Month(np.where(absent, NO_TIER, cur.tier).astype(np.int8), cur.first_rule,
                     np.where(absent, 0, cur.k).astype(np.int16),
                     np.where(absent, 0, cur.status).astype(np.int8),
                     np.where(absent, np.uint64(0), cur.reasons))
    return {
        "tier": cur.tier, "status": cur.status, "months_below": cur.k,
        "previous_tier": prev_tier, "movement": movement, "churned_tier": churned,
        "history_complete": complete, "reason_bits": cur.reasons, "_prev_status": prev_status,
    }


def _events(block: Mapping[str, NDArray[Any]], offset: int) -> tuple[NDArray[np.int64], NDArray[np.int8]]:
    mv, st, ps = block["movement"], block["status"], block["_prev_status"]
    conds = [
        mv == UP,
        mv == DOWN,
        (st == 1) & (ps != 1),
        (st == 2) & (ps != 2),
        block["churned_tier"] >= 0,
    ]
    idx = [np.flatnonzero(c) for c in conds]
    cust = np.concatenate(idx).astype(np.int64) + offset
    code = np.concatenate([np.full(i.size, e, dtype=np.int8) for e, i in enumerate(idx)])
    order = np.lexsort((code, cust))
    return cust[order], code[order]


# --------------------------------------------------------------------------- API


def evaluate(
    portfolio: Portfolio,
    policy: Policy | CompiledPolicy | None = None,
    *,
    as_of: Month | str | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Callable[[int, int], None] | None = None,
    previous: bool = True,
) -> TierResult:
    """Evaluate a tier policy for every customer at the as-of month.

    Parameters
    ----------
    portfolio
        Customers and their monthly balances.
    policy
        A :class:`~custvalue.policy.Policy` or a compiled one (compile once to
        evaluate many portfolios); the default policy when omitted.
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
    >>> r.reasons(0)
    ('platinum.aum',)
    """
    cp = _as_compiled(policy)
    month = portfolio.months.stop if as_of is None else (
        Month.parse(as_of) if isinstance(as_of, str) else as_of)
    a = portfolio.months.index(month)
    n = portfolio.n_customers
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    out: dict[str, NDArray[Any]] = {
        "tier": np.empty(n, np.int8), "status": np.empty(n, np.int8),
        "months_below": np.empty(n, np.int16), "previous_tier": np.empty(n, np.int8),
        "movement": np.empty(n, np.int8), "churned_tier": np.empty(n, np.int8),
        "history_complete": np.empty(n, bool), "reason_bits": np.empty(n, np.uint64),
    }
    ev_c: list[NDArray[np.int64]] = []
    ev_t: list[NDArray[np.int8]] = []
    for start in range(0, n, chunk_size):
        stop = min(n, start + chunk_size)
        res = _evaluate_block(cp, portfolio, slice(start, stop), a, previous)
        for key, arr in out.items():
            arr[start:stop] = res[key]
        c, t = _events(res, start)
        ev_c.append(c)
        ev_t.append(t)
        if progress is not None:
            progress(stop, n)
    events = EventTable(
        customer_index=_ro(np.concatenate(ev_c) if ev_c else np.zeros(0, np.int64)),
        event=_ro(np.concatenate(ev_t) if ev_t else np.zeros(0, np.int8)),
        policy=cp.policy,
    )
    return TierResult(
        compiled=cp, portfolio=portfolio, as_of=month, customer_ids=portfolio.customer_ids,
        events=events, **{k: _ro(v) for k, v in out.items()},
    )


def evaluate_chunks(
    portfolio: Portfolio, policy: Policy | CompiledPolicy | None = None, *,
    as_of: Month | str | None = None, chunk_size: int = 1_000_000,
) -> Iterator[TierResult]:
    """Evaluate a large portfolio in customer chunks, yielding one result per chunk.

    Each chunk's result is identical to the corresponding rows of the whole
    evaluation; memory is bounded by the chunk size.
    """
    cp = _as_compiled(policy)
    for start in range(0, portfolio.n_customers, chunk_size):
        yield evaluate(portfolio.rows(start, start + chunk_size), cp, as_of=as_of)


# --------------------------------------------------------------------------- result


@attrs.frozen(eq=False, repr=False)
class EventTable:
    """Events of an evaluation, columnar: one row per (customer, event).

    Attributes
    ----------
    customer_index : ndarray of int64
        Row of the customer in the evaluated portfolio.
    event : ndarray of int8
        Index into :data:`custvalue.policy.EVENT_TYPES`.
    """

    customer_index: NDArray[np.int64]
    event: NDArray[np.int8]
    policy: Policy

    def __len__(self) -> int:
        return int(self.event.shape[0])

    def counts(self) -> dict[str, int]:
        """Number of events of each type."""
        c = np.bincount(self.event, minlength=len(EVENT_TYPES))
        return {name: int(c[i]) for i, name in enumerate(EVENT_TYPES)}

    def names(self) -> NDArray[np.str_]:
        """Event type names, one per row."""
        return np.asarray(EVENT_TYPES)[self.event]

    def actions(self, event: str) -> tuple[str, ...]:
        """The policy's action codes for an event type."""
        return self.policy.actions(event)

    def for_customer(self, index: int) -> tuple[str, ...]:
        """Event names of one customer (by row)."""
        lo, hi = np.searchsorted(self.customer_index, [index, index + 1])
        return tuple(EVENT_TYPES[int(e)] for e in self.event[lo:hi])


@attrs.frozen
class RuleCheck:
    """One input test of a rule, with the customer's value."""

    feature: str
    value: str
    test: str
    passed: bool


@attrs.frozen
class RuleTrace:
    """One tier-table rule evaluated for a customer."""

    rule_id: str
    tier: str
    matched: bool
    checks: tuple[RuleCheck, ...]
    description: str | None


@attrs.frozen
class Explanation:
    """Why a customer got its tier, status and movement (data and text).

    Use ``str(explanation)`` or :attr:`text` for people, the fields for programs.
    """

    customer_id: str
    as_of: Month
    tier: str
    status: str
    months_below: int
    previous_tier: str | None
    movement: str
    churned_tier: str | None
    decided_by: tuple[RuleTrace, ...]
    rules: tuple[RuleTrace, ...]
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        """The explanation as text."""
        return "\n".join(self.lines)

    def __str__(self) -> str:
        return self.text


@attrs.frozen(eq=False, repr=False)
class TierResult:
    """The evaluation of a policy over a portfolio at one month; immutable, columnar.

    Arrays are indexed like the portfolio's customers.  Code columns have
    name helpers: :meth:`tiers`, :meth:`statuses`, :meth:`movements`,
    :meth:`previous_tiers`, :meth:`churned_tiers`.

    Attributes
    ----------
    tier : ndarray of int8
        Index into ``policy.tier_order``; -1 for a customer with no data at
        the as-of month (it joined later), whose name is ``""``.
    status : ndarray of int8
        Index into :data:`STATUSES` (normal, observation, attention).
    months_below : ndarray of int16
        ``k``, months in a row below the tier's AUM floor (0 unless the tier
        is held through its AUM criterion).
    previous_tier : ndarray of int8
        Tier in the month before, or -1 (no data).
    movement : ndarray of int8
        Index into :data:`MOVEMENTS`.
    churned_tier : ndarray of int8
        Tier lost through lapse this month, or -1.
    history_complete : ndarray of bool
        Whether every month a full evaluation reads exists for the customer.
    reason_bits : ndarray of uint64
        Bit ``r`` is set when tier-table rule ``r`` holds and belongs to the
        assigned tier (see :meth:`reasons`).
    events : EventTable
    """

    compiled: CompiledPolicy
    portfolio: Portfolio
    as_of: Month
    customer_ids: NDArray[np.str_]
    tier: NDArray[np.int8]
    status: NDArray[np.int8]
    months_below: NDArray[np.int16]
    previous_tier: NDArray[np.int8]
    movement: NDArray[np.int8]
    churned_tier: NDArray[np.int8]
    history_complete: NDArray[np.bool_]
    reason_bits: NDArray[np.uint64]
    events: EventTable

    # ------------------------------------------------------------- access
    @property
    def policy(self) -> Policy:
        """The evaluated policy."""
        return self.compiled.policy

    def __len__(self) -> int:
        return int(self.tier.shape[0])

    def _names(self, codes: NDArray[Any], names: Sequence[str], none: str = "") -> NDArray[np.str_]:
        lut = np.asarray([*names, none])
        return lut[np.where(codes < 0, len(names), codes)]

    def tiers(self) -> NDArray[np.str_]:
        """Tier names."""
        return self._names(self.tier, self.policy.tier_order)

    def statuses(self) -> NDArray[np.str_]:
        """Status names."""
        return self._names(self.status, STATUSES)

    def movements(self) -> NDArray[np.str_]:
        """Movement names."""
        return self._names(self.movement, MOVEMENTS)

    def previous_tiers(self) -> NDArray[np.str_]:
        """Previous tier names ('' where there was no previous month)."""
        return self._names(self.previous_tier, self.policy.tier_order)

    def churned_tiers(self) -> NDArray[np.str_]:
        """Churned tier names ('' where none)."""
        return self._names(self.churned_tier, self.policy.tier_order)

    def reasons(self, index: int) -> tuple[str, ...]:
        """Ids of the rules that decided the tier of the customer at row ``index``."""
        bits = int(self.reason_bits[index])
        return tuple(rid for r, rid in enumerate(self.compiled.rule_ids) if bits >> r & 1)

    def reason_strings(self) -> NDArray[np.str_]:
        """The ``reasons`` column: rule ids joined by ``;``, per customer.

        Vectorised over the distinct bit patterns (a handful), not customers.
        """
        uniq, inv = np.unique(self.reason_bits, return_inverse=True)
        texts = np.asarray([";".join(rid for r, rid in enumerate(self.compiled.rule_ids)
                                     if int(b) >> r & 1) for b in uniq.tolist()] or [""])
        return texts[inv.reshape(-1)] if uniq.size else np.zeros(0, dtype=str)

    def index_of(self, customer_id: str) -> int:
        """Row of a customer id."""
        return int(self.portfolio.index_of(customer_id)[0])

    def row(self, customer_id: str) -> dict[str, Any]:
        """One customer's result as a dict (the result-file columns)."""
        i = self.index_of(customer_id)
        names = self.policy.tier_order
        return {
            "customer_id": customer_id, "as_of": str(self.as_of),
            "tier": names[self.tier[i]] if self.tier[i] >= 0 else None,
            "status": STATUSES[self.status[i]],
            "months_below": int(self.months_below[i]),
            "previous_tier": names[self.previous_tier[i]] if self.previous_tier[i] >= 0 else None,
            "movement": MOVEMENTS[self.movement[i]],
            "churned_tier": names[self.churned_tier[i]] if self.churned_tier[i] >= 0 else None,
            "history_complete": bool(self.history_complete[i]),
            "reasons": list(self.reasons(i)),
            "events": list(self.events.for_customer(i)),
        }

    def counts(self) -> dict[str, dict[str, int]]:
        """Counts by tier, status, movement and churned tier."""
        def count(codes: NDArray[Any], names: Sequence[str]) -> dict[str, int]:
            c = np.bincount(codes[codes >= 0].astype(np.int64), minlength=len(names))
            return {nm: int(c[i]) for i, nm in enumerate(names)}

        return {
            "tier": count(self.tier, self.policy.tier_order),
            "status": count(self.status, STATUSES),
            "movement": count(self.movement, MOVEMENTS),
            "churned": count(self.churned_tier, self.policy.tier_order),
        }

    def columns(self) -> dict[str, NDArray[Any]]:
        """The result-file columns (SPEC section 7) as arrays of names and values."""
        n = len(self)
        return {
            "customer_id": self.customer_ids,
            "as_of": np.full(n, str(self.as_of)),
            "tier": self.tiers(),
            "status": self.statuses(),
            "months_below": self.months_below,
            "previous_tier": self.previous_tiers(),
            "movement": self.movements(),
            "churned_tier": self.churned_tiers(),
            "history_complete": self.history_complete,
            "reasons": self.reason_strings(),
        }

    # ------------------------------------------------------------ convert
    def to_pandas(self) -> Any:
        """A :class:`pandas.DataFrame` with the result-file columns (needs ``pandas``)."""
        from ._optional import import_optional

        pd = import_optional("pandas", extra="pandas")
        cols = self.columns()
        df = pd.DataFrame(cols)
        for c in ("tier", "previous_tier", "churned_tier"):
            df[c] = pd.Categorical(cols[c], categories=[*self.policy.tier_order, ""])
        return df

    def to_arrow(self) -> Any:
        """A :class:`pyarrow.Table` with the result-file columns (needs ``pyarrow``)."""
        from ._optional import import_optional

        pa = import_optional("pyarrow", extra="parquet")
        return pa.table({k: pa.array(v) for k, v in self.columns().items()})

    def write(self, path: str, *, format: str | None = None) -> None:
        """Write the result file (CSV or Parquet), atomically."""
        from ._result_file import write_result

        write_result(self, path, format=format)

    # ------------------------------------------------------------ explain
    def explain(self, customer_id: str) -> Explanation:
        """Why a customer got its tier: the rules, the feature values and the tests.

        Examples
        --------
        >>> import numpy as np
        >>> from custvalue import Portfolio, evaluate
        >>> aum = np.full((1, 14), 612_345_00)
        >>> aum[0, -4:] = 300_000_00
        >>> p = Portfolio.from_arrays(customer_ids=["A"], branch_ids=["X"], start="2025-09",
        ...                           deposits=aum)
        >>> print(evaluate(p).explain("A"))
        customer A, as of 2026-10: platinum (白金级), status attention
          platinum because rule platinum.aum holds: max AUM in 6+1 months = 612,345.00 >= 500,000.00
          attention: AUM below the platinum floor 500,000.00 for 4 month(s) in a row (k = 4)
          movement same from platinum
          events: entered_attention -> sms_rm, workstation_alert, ...
        """
        from ._explain import explain_customer

        return explain_customer(self, customer_id)

    # ------------------------------------------------------------ display
    def summary(self) -> str:
        """A text summary: tier distribution with AUM share, statuses, movements, churns, events."""
        from ._explain import summary_text

        return summary_text(self)

    def __repr__(self) -> str:
        c = self.counts()["tier"]
        tiers = ", ".join(f"{k}={v}" for k, v in c.items())
        return (f"<TierResult as of {self.as_of}: {len(self)} customers "
                f"({tiers}); {len(self.events)} events; policy {self.policy.name!r}>")

    def _repr_html_(self) -> str:
        c = self.counts()
        rows = "".join(
            f"<tr><td>{html.escape(t)}</td><td>{v:,}</td></tr>" for t, v in c["tier"].items())
        st = ", ".join(f"{k}: {v:,}" for k, v in c["status"].items())
        mv = ", ".join(f"{k}: {v:,}" for k, v in c["movement"].items())
        return (f"<div><b>TierResult</b> as of {self.as_of}, policy "
                f"{html.escape(self.policy.name)}, {len(self):,} customers"
                f"<table><tr><th>tier</th><th>customers</th></tr>{rows}</table>"
                f"<p>status — {html.escape(st)}<br>movement — {html.escape(mv)}<br>"
                f"events — {len(self.events):,}</p></div>")


# --------------------------------------------------------------------------- over time


@attrs.frozen(eq=False, repr=False)
class TierPath:
    """Tier and status of every customer in every evaluated month.

    Attributes
    ----------
    months : tuple of Month
    tier, status : ndarray of int8, shape (n, len(months))
    """

    policy: Policy
    customer_ids: NDArray[np.str_]
    months: tuple[Month, ...]
    tier: NDArray[np.int8]
    status: NDArray[np.int8]

    def column(self, month: Month | str) -> int:
        """Column of a month."""
        m = Month.parse(month) if isinstance(month, str) else month
        return self.months.index(m)

    def __repr__(self) -> str:
        return (f"<TierPath: {self.tier.shape[0]} customers × {len(self.months)} months "
                f"({self.months[0]}..{self.months[-1]})>" if self.months else "<TierPath: empty>")


def evaluate_path(
    portfolio: Portfolio,
    policy: Policy | CompiledPolicy | None = None,
    *,
    first: Month | str | None = None,
    last: Month | str | None = None,
    chunk_size: int = DEFAULT_CHUNK,
) -> TierPath:
    """Tier and status of every customer for each month from ``first`` to ``last``.

    Loops over months and row blocks, vectorised over customers.  Months
    default to the whole portfolio.

    Examples
    --------
    >>> import numpy as np
    >>> from custvalue import Portfolio
    >>> aum = np.array([[100_000_00, 300_000_00, 600_000_00]])
    >>> p = Portfolio.from_arrays(customer_ids=["A"], branch_ids=["X"], start="2026-08", deposits=aum)
    >>> path = evaluate_path(p)
    >>> path.tier.tolist()
    [[4, 3, 2]]
    """
    cp = _as_compiled(policy)
    f = portfolio.months.start if first is None else (Month.parse(first) if isinstance(first, str) else first)
    la = portfolio.months.stop if last is None else (Month.parse(last) if isinstance(last, str) else last)
    i0, i1 = portfolio.months.index(f), portfolio.months.index(la)
    months = tuple(portfolio.months[j] for j in range(i0, i1 + 1))
    n = portfolio.n_customers
    tier = np.empty((n, len(months)), np.int8)
    status = np.empty((n, len(months)), np.int8)
    for start in range(0, n, chunk_size):
        rows = slice(start, min(n, start + chunk_size))
        hs = portfolio.history_start[rows].astype(np.int64)
        block = _Block(portfolio, rows, max(0, i0 - cp.history_needed), i1, cp.policy.aum,
                       cp.policy.scale)
        for j, a in enumerate(range(i0, i1 + 1)):
            m = _month(cp, block, a, hs)
            tier[rows, j] = np.where(hs <= a, m.tier, NO_TIER)
            status[rows, j] = m.status
    return TierPath(cp.policy, portfolio.customer_ids, months, _ro(tier), _ro(status))


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
        from ._optional import import_optional

        pd = import_optional("pandas", extra="pandas")
        return pd.DataFrame(self.counts, index=pd.Index(self.labels, name=self.from_label),
                            columns=pd.Index(self.labels, name=self.to_label))

    def text(self, *, values: str = "counts") -> str:
        """A fixed-width table of counts (``values="counts"``) or AUM in yuan (``"aum"``)."""
        m = self.counts if values == "counts" else self.aum
        cells = [[f"{int(v):,}" if values == "counts" else format_yuan(int(v)) for v in row]
                 for row in m.tolist()]
        w = max([len(x) for x in self.labels] + [len(c) for r in cells for c in r] + [4])
        head = f"{self.from_label + ' → ' + self.to_label:<{w}} " + " ".join(
            f"{lab:>{w}}" for lab in self.labels)
        body = [f"{lab:<{w}} " + " ".join(f"{c:>{w}}" for c in row)
                for lab, row in zip(self.labels, cells, strict=True)]
        return "\n".join([head, *body])

    def __repr__(self) -> str:
        return f"<MigrationMatrix {self.from_label} → {self.to_label}>\n{self.text()}"

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(lab)}</th>" for lab in self.labels)
        rows = "".join(
            f"<tr><th>{html.escape(lab)}</th>"
            + "".join(f"<td title='{format_yuan(int(a))} yuan'>{int(c):,}</td>"
                      for c, a in zip(crow, arow, strict=True)) + "</tr>"
            for lab, crow, arow in zip(self.labels, self.counts.tolist(), self.aum.tolist(), strict=True))
        return (f"<div><b>Migration</b> {html.escape(self.from_label)} → {html.escape(self.to_label)} "
                f"(customers; hover for AUM)<table><tr><th></th>{head}</tr>{rows}</table></div>")


def migration_matrix(
    from_tier: NDArray[Any], to_tier: NDArray[Any], aum: NDArray[np.int64],
    tier_order: Sequence[str], *, from_label: str = "from", to_label: str = "to",
) -> MigrationMatrix:
    """Count customers (and sum AUM) by (from tier, to tier); -1 means no tier.

    Vectorised with one :func:`numpy.bincount` per matrix.
    """
    k = len(tier_order) + 1
    f = np.where(from_tier < 0, k - 1, from_tier).astype(np.int64)
    t = np.where(to_tier < 0, k - 1, to_tier).astype(np.int64)
    cell = f * k + t
    counts = np.bincount(cell, minlength=k * k).reshape(k, k)
    total = np.zeros(k * k, dtype=np.int64)
    np.add.at(total, cell, aum)  # exact int64 accumulation
    return MigrationMatrix((*tier_order, "(none)"), _ro(counts), _ro(total.reshape(k, k)),
                           from_label, to_label)


def tier_migration(
    portfolio: Portfolio, policy: Policy | CompiledPolicy | None, from_month: Month | str,
    to_month: Month | str,
) -> MigrationMatrix:
    """Tier migration between two months of one portfolio (counts and AUM at ``to_month``)."""
    cp = _as_compiled(policy)
    f = Month.parse(from_month) if isinstance(from_month, str) else from_month
    t = Month.parse(to_month) if isinstance(to_month, str) else to_month
    path = evaluate_path(portfolio, cp, first=min(f, t), last=max(f, t))
    aum = portfolio.aum(cp.policy.aum)[:, portfolio.months.index(t)]
    return migration_matrix(path.tier[:, path.column(f)], path.tier[:, path.column(t)], aum,
                            cp.policy.tier_order, from_label=str(f), to_label=str(t))


def what_if(
    portfolio: Portfolio, current: Policy | CompiledPolicy, proposed: Policy | CompiledPolicy,
    *, as_of: Month | str | None = None,
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
    a, b = _as_compiled(current), _as_compiled(proposed)
    if a.policy.tier_order != b.policy.tier_order:
        raise ValueError("what_if compares policies with the same tiers; got "
                         f"{a.policy.tier_order} and {b.policy.tier_order}")
    ra, rb = evaluate(portfolio, a, as_of=as_of), evaluate(portfolio, b, as_of=as_of)
    aum = portfolio.aum(b.policy.aum)[:, portfolio.months.index(ra.as_of)]
    return migration_matrix(ra.tier, rb.tier, aum, a.policy.tier_order,
                            from_label=a.policy.name, to_label=b.policy.name)
