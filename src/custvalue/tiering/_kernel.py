"""The evaluation kernel: one as-of month for one row block, vectorised over customers.

Shared by :func:`~custvalue.tiering.evaluate` and
:func:`~custvalue.tiering.evaluate_path`; no per-customer Python loop.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Final

import attrs
import numpy as np
from numpy.typing import NDArray

from .._arrays import readonly
from ..policy import CompiledPolicy, Policy, compile_policy, default_policy
from ..portfolio import CARD_LEVELS, Portfolio
from ..rules import CodedColumn
from ._codes import DOWN, NEW, NO_TIER, SAME, UP
from ._features import Block, compute

__all__ = ["MonthState", "as_compiled", "evaluate_block", "events_of", "month_state"]


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
    raise TypeError(f"expected a Policy or CompiledPolicy, got {type(policy).__name__}")


# --------------------------------------------------------------------------- kernel


@attrs.frozen
class MonthState:
    """Tier, decisive rule, k, status and reason bits of one month for a block."""

    tier: NDArray[np.int8]
    first_rule: NDArray[np.int16]
    k: NDArray[np.int16]
    status: NDArray[np.int8]
    reasons: NDArray[np.uint64]


def _rule_matches(cp: CompiledPolicy, values: Mapping[str, NDArray[Any]], n: int) -> NDArray[np.bool_]:
    """Boolean matrix (n_rules, n) of which tier-table rules hold."""
    cols: dict[str, Any] = dict(values)
    for name in cp.coded_features:
        cols[name] = CodedColumn(values[name], CARD_LEVELS, ordered=True)
    m: NDArray[np.bool_] = cp.compiled_table.match_matrix(cols, n_rows=n)
    return m


def _lowest_bit_table() -> NDArray[np.int16]:
    v = np.arange(1 << 16, dtype=np.int64)
    low = v & -v
    table = np.full(1 << 16, -1, dtype=np.int16)
    table[1:] = np.log2(low[1:]).astype(np.int16)  # exact: powers of two below 2**16
    return readonly(table)


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


def month_state(cp: CompiledPolicy, block: Block, a: int, hs: NDArray[np.int64]) -> MonthState:
    """Evaluate one as-of month (absolute index ``a``) for a block of rows."""
    feats = compute(block, cp.features, a, None, with_complete=False)
    matches = _rule_matches(cp, feats.values, block.hs.shape[0])
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
    return MonthState(tier, first, k, status, bits)


def evaluate_block(
    cp: CompiledPolicy, portfolio: Portfolio, rows: slice, a: int, previous: bool
) -> dict[str, NDArray[Any]]:
    hs = portfolio.history_start[rows].astype(np.int64)
    lo = max(0, a - cp.history_needed)
    block = Block(portfolio, rows, lo, a, cp.policy.aum, cp.policy.scale)
    cur = month_state(cp, block, a, hs)
    n = hs.shape[0]
    prev_tier = np.full(n, NO_TIER, dtype=np.int8)
    movement = np.full(n, NEW, dtype=np.int8)
    churned = np.full(n, NO_TIER, dtype=np.int8)
    prev_status = np.full(n, -1, dtype=np.int8)
    if previous and a >= 1:
        prv = month_state(cp, block, a - 1, hs)
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
        cur = MonthState(
            np.where(absent, NO_TIER, cur.tier).astype(np.int8),
            cur.first_rule,
            np.where(absent, 0, cur.k).astype(np.int16),
            np.where(absent, 0, cur.status).astype(np.int8),
            np.where(absent, np.uint64(0), cur.reasons),
        )
    return {
        "tier": cur.tier,
        "status": cur.status,
        "months_below": cur.k,
        "previous_tier": prev_tier,
        "movement": movement,
        "churned_tier": churned,
        "history_complete": complete,
        "reason_bits": cur.reasons,
        "_prev_status": prev_status,
    }


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
