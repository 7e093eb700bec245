"""The evaluation kernel: one as-of month for one row block, vectorised over customers.

Shared by :func:`~custvalue.tiering.evaluate` and
:func:`~custvalue.tiering.evaluate_path`; no per-customer Python loop.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from .._arrays import readonly
from ..months import Month
from ..policy import CompiledPolicy, Policy, PolicySet, compile_policy, default_policy
from ..portfolio import CARD_LEVELS, Portfolio
from ..rules import CodedColumn
from ._codes import DOWN, NEW, NO_TIER, SAME, UP
from ._features import Block, compute

__all__ = [
    "MonthState",
    "as_compiled",
    "compiled_at",
    "evaluate_block",
    "events_of",
    "month_state",
    "reason_bits",
]


@functools.lru_cache(maxsize=16)
def _compiled_for(policy: Policy) -> CompiledPolicy:
    """Compilation is pure and policies are immutable values: reuse recent compilations."""
    return compile_policy(policy)


def as_compiled(policy: Policy | CompiledPolicy | None) -> CompiledPolicy:
    """The compiled form of ``policy`` (the default policy when ``None``), cached."""
    if policy is None:
        return _compiled_for(default_policy())
    if isinstance(policy, CompiledPolicy):
        return policy
    if isinstance(policy, Policy):
        return _compiled_for(policy)
    raise TypeError(f"expected a Policy, CompiledPolicy or PolicySet, got {type(policy).__name__}")


def compiled_at(policy: Policy | CompiledPolicy | PolicySet | None, month: Month) -> CompiledPolicy:
    """The compiled policy in force in ``month``: a set's version then, any other policy as it is."""
    if isinstance(policy, PolicySet):
        return _compiled_for(policy.at(month))
    return as_compiled(policy)


# --------------------------------------------------------------------------- kernel


@attrs.frozen
class MonthState:
    """Tier, whether its AUM rule decided it, k, status and reason bits of one month for a block."""

    tier: NDArray[np.int8]
    held: NDArray[np.bool_]
    k: NDArray[np.int16]
    status: NDArray[np.int8]
    reasons: NDArray[np.uint64] | None


def _rule_matches(cp: CompiledPolicy, values: Mapping[str, NDArray[Any]], n: int) -> NDArray[np.bool_]:
    """Boolean matrix (n_rules, n) of which tier-table rules hold."""
    cols: dict[str, Any] = dict(values)
    for name in cp.coded_features:
        cols[name] = CodedColumn(values[name], CARD_LEVELS, ordered=True)
    m: NDArray[np.bool_] = cp.compiled_table.match_matrix(cols, n_rows=n)
    return m


@functools.lru_cache(maxsize=16)
def _tier_rules(cp: CompiledPolicy) -> tuple[tuple[int, ...], ...]:
    """Rule indices of each tier (the tier table lists them tier by tier)."""
    return tuple(
        tuple(int(r) for r in np.flatnonzero(cp.rule_tier == t)) for t in range(len(cp.policy.tiers))
    )


def _reason_bits(
    cp: CompiledPolicy, matches: NDArray[np.bool_], tier: NDArray[np.int8]
) -> NDArray[np.uint64]:
    """The set of matching rules of each customer's decided tier, as bits."""
    n_rules = matches.shape[0]
    if n_rules <= 16:
        acc: NDArray[Any] = np.zeros(matches.shape[1], dtype=np.uint16)
        for r in range(n_rules):
            acc |= matches[r].view(np.uint8).astype(np.uint16) << np.uint16(r)
    else:
        acc = np.zeros(matches.shape[1], dtype=np.uint64)
        for r in range(n_rules):
            acc |= matches[r].astype(np.uint64) << np.uint64(r)
    bits: NDArray[np.uint64] = acc.astype(np.uint64) & cp.tier_rule_bits[tier]
    return bits


def month_state(
    cp: CompiledPolicy,
    block: Block,
    a: int,
    hs: NDArray[np.int64],
    *,
    reasons: bool = True,
    values: Mapping[str, NDArray[Any]] | None = None,
) -> MonthState:
    """Evaluate one as-of month (absolute index ``a``) for a block of rows.

    The tier table is FIRST and lists its rules tier by tier (highest first),
    so the decided tier is the count of "at least this tier" flags below the
    catch-all, one OR per rule; a tier's AUM rule decides when it holds and
    no higher tier's rule does.  Only customers held by an AUM rule and below
    its floor now walk back through their months.  ``values``: the features
    at ``a`` when already computed (:func:`compute_path`).
    """
    if values is None:
        values = compute(block, cp.features, a, None, with_complete=False).values
    n = hs.shape[0]
    matches = _rule_matches(cp, values, n)
    groups = _tier_rules(cp)
    last = len(groups) - 1  # the catch-all tier (checked when the policy loads)
    tier = np.full(n, last, dtype=np.int8)
    at_least: NDArray[np.bool_] | None = None
    walks: list[tuple[int, NDArray[np.bool_]]] = []
    for t in range(last):
        rules = groups[t]
        if not rules:
            continue
        ar = int(cp.aum_rule[t])
        if ar >= 0:
            walks.append((t, matches[ar] if at_least is None else matches[ar] & ~at_least))
        # a fresh array before any in-place OR: the rows of ``matches`` stay as they are
        hit = matches[rules[0]] if at_least is None else at_least | matches[rules[0]]
        if len(rules) > 1:
            hit = hit | matches[rules[1]]
            for r in rules[2:]:
                hit |= matches[r]
        at_least = hit
        tier -= at_least.view(np.int8)
    held = np.zeros(n, dtype=bool)
    k = np.zeros(n, dtype=np.int16)
    status = np.zeros(n, dtype=np.int8)
    aum = block.column("aum")  # month-major (months, rows)
    col = a - block.lo
    now = aum[col]
    for t, by_aum in walks:
        held |= by_aum
        floor = cp.floor_fen[t]
        # only customers held through this tier's AUM rule and below the floor now
        sel = np.flatnonzero(by_aum & (now < floor))
        if sel.size == 0:
            continue
        hs_sel = hs[sel]
        alive = np.ones(sel.size, dtype=bool)
        ks = np.zeros(sel.size, dtype=np.int16)
        for back in range(int(cp.window[t]) + 1):
            c = col - back
            if c < 0:
                break
            alive &= aum[c, sel] < floor
            if block.hs_max > a - back:  # months before a history start are not data
                alive &= a - back >= hs_sel
            if not alive.any():
                break
            ks += alive
        k[sel] = ks
        status[sel] = cp.status_lut[t, ks]
    bits = _reason_bits(cp, matches, tier) if reasons else None
    return MonthState(tier, held, k, status, bits)


def evaluate_block(
    cp: CompiledPolicy,
    portfolio: Portfolio,
    rows: slice,
    a: int,
    previous: bool,
    reasons: bool = True,
    prev_cp: CompiledPolicy | None = None,
) -> dict[str, NDArray[Any]]:
    """Evaluate month ``a`` (and with ``previous`` the month before, under ``prev_cp`` when given)."""
    hs = portfolio.history_start[rows].astype(np.int64)
    other = prev_cp is not None and prev_cp is not cp
    # the month before needs one month more than the as-of month alone
    lo = max(0, a - cp.history_needed + (0 if previous and not other else 1))
    block = Block(portfolio, rows, lo, a, cp.policy.aum, cp.policy.scale)
    cur = month_state(cp, block, a, hs, reasons=reasons)
    n = hs.shape[0]
    out: dict[str, NDArray[Any]] = {}
    if previous and a >= 1:
        if prev_cp is not None and other:  # another policy version was in force the month before
            p_lo = max(0, a - prev_cp.history_needed)
            p_block = Block(portfolio, rows, p_lo, a - 1, prev_cp.policy.aum, prev_cp.policy.scale)
            prv = month_state(prev_cp, p_block, a - 1, hs, reasons=False)
        else:
            prv = month_state(cp, block, a - 1, hs, reasons=False)
        if block.hs_max > a - 1:
            has_prev = hs <= a - 1
            prev_tier = np.where(has_prev, prv.tier, NO_TIER).astype(np.int8)
            prev_status = np.where(has_prev, prv.status, -1).astype(np.int8)
        else:
            has_prev, prev_tier, prev_status = None, prv.tier, prv.status
        # codes: UP when the tier code falls, DOWN when it rises, SAME otherwise
        movement = np.full(n, SAME, dtype=np.int8)
        movement[cur.tier < prv.tier] = UP
        down = cur.tier > prv.tier
        movement[down] = DOWN
        if has_prev is not None:
            movement[~has_prev] = NEW
            down &= has_prev
        # the previous tier was held through its AUM rule and is gone now: it lapsed
        churned = np.full(n, NO_TIER, dtype=np.int8)
        lapsed = down & prv.held
        churned[lapsed] = prv.tier[lapsed]
        out.update(previous_tier=prev_tier, movement=movement, churned_tier=churned, _prev_status=prev_status)
    else:
        out.update(
            previous_tier=np.full(n, NO_TIER, dtype=np.int8),
            movement=np.full(n, NEW, dtype=np.int8),
            churned_tier=np.full(n, NO_TIER, dtype=np.int8),
            _prev_status=np.full(n, -1, dtype=np.int8),
        )
    need = a - cp.history_needed
    complete = (hs <= need) if need >= 0 else np.zeros(n, dtype=bool)
    tier, k, status, bits = cur.tier, cur.k, cur.status, cur.reasons
    if block.hs_max > a:
        absent = hs > a  # no data at the as-of month: no tier, never an invented one
        tier = np.where(absent, NO_TIER, tier).astype(np.int8)
        k = np.where(absent, 0, k).astype(np.int16)
        status = np.where(absent, 0, status).astype(np.int8)
        if bits is not None:
            bits = np.where(absent, np.uint64(0), bits)
    out.update(tier=tier, status=status, months_below=k, history_complete=complete)
    if bits is not None:
        out["reason_bits"] = bits
    return out


def reason_bits(cp: CompiledPolicy, portfolio: Portfolio, a: int, chunk_size: int) -> NDArray[np.uint64]:
    """The reason bits of every customer at month index ``a`` (for results that defer them)."""
    n = portfolio.n_customers
    out = np.empty(n, dtype=np.uint64)
    for start in range(0, n, chunk_size):
        rows = slice(start, min(n, start + chunk_size))
        out[rows] = evaluate_block(cp, portfolio, rows, a, previous=False)["reason_bits"]
    return readonly(out)


def events_of(block: Mapping[str, NDArray[Any]], offset: int) -> tuple[NDArray[np.int64], NDArray[np.int8]]:
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
