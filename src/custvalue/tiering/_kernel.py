"""The evaluation kernel: one as-of month for one row block, vectorised over customers.

Shared by :func:`~custvalue.tiering.evaluate` and
:func:`~custvalue.tiering.evaluate_path`; no per-customer Python loop.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from .._arrays import Scratch, readonly
from ..months import Month
from ..policy import CompiledPolicy, Policy, PolicySet, compile_policy, default_policy
from ..portfolio import CARD_LEVELS, Portfolio
from ..rules import CodedColumn
from ..rules import ast as feel
from ._codes import DOWN, NEW, NO_TIER, SAME, UP
from ._features import Block, compute, compute_months, window_maxima

__all__ = [
    "MonthState",
    "as_compiled",
    "block_lo",
    "compiled_at",
    "evaluate_block",
    "events_of",
    "month_state",
    "month_tiers",
    "path_index",
    "path_tiers",
    "reason_bits",
    "tier_lut",
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


def _decide(
    cp: CompiledPolicy, matches: NDArray[np.bool_], n: int, *, walks: bool
) -> tuple[NDArray[np.int8], list[tuple[int, NDArray[np.bool_]]]]:
    """Tier codes from the rule matches and, with ``walks``, each AUM-rule tier's holders.

    The tier table is FIRST and lists its rules tier by tier (highest first),
    so the decided tier is the count of "at least this tier" flags below the
    catch-all, one OR per rule; a tier's AUM rule decides when it holds and
    no higher tier's rule does.
    """
    groups = _tier_rules(cp)
    last = len(groups) - 1  # the catch-all tier (checked when the policy loads)
    tier = np.full(n, last, dtype=np.int8)
    at_least: NDArray[np.bool_] | None = None
    held_by: list[tuple[int, NDArray[np.bool_]]] = []
    for t in range(last):
        rules = groups[t]
        if not rules:
            continue
        ar = int(cp.aum_rule[t])
        if walks and ar >= 0:
            held_by.append((t, matches[ar] if at_least is None else matches[ar] & ~at_least))
        # a fresh array before any in-place OR: the rows of ``matches`` stay as they are
        hit = matches[rules[0]] if at_least is None else at_least | matches[rules[0]]
        if len(rules) > 1:
            hit = hit | matches[rules[1]]
            for r in rules[2:]:
                hit |= matches[r]
        at_least = hit
        tier -= at_least.view(np.int8)
    return tier, held_by


def month_tiers(cp: CompiledPolicy, values: Mapping[str, NDArray[Any]], n: int) -> NDArray[np.int8]:
    """Tier codes only (no status walk, no reasons) from feature values of ``n`` rows.

    The values may hold several months of a block, flattened month-major
    (:func:`~custvalue.tiering._features.compute_months`): the tier of a row
    depends on that row's features only.
    """
    return _decide(cp, _rule_matches(cp, values, n), n, walks=False)[0]


#: At most this many combinations of feature levels in a :class:`TierLut` (one engine pass over them).
_LUT_MAX = 1 << 18


@attrs.frozen(eq=False)
class TierLut:
    """The tier table as a lookup table over feature *levels* (see :func:`tier_lut`).

    ``bounds[f]``: ascending int64 boundaries of feature ``f`` in stored
    units; its level is the number of boundaries ``<=`` the value (coded
    features: the code itself, ``bounds`` is ``None``).  ``radix[f]``: its
    number of levels.  ``lut``: the tier code of every combination, the
    first feature most significant.
    """

    names: tuple[str, ...]
    bounds: tuple[NDArray[np.int64] | None, ...]
    radix: tuple[int, ...]
    lut: NDArray[np.int8]
    #: Per combination: whether the decided tier's AUM rule holds (the tier is "held", and can lapse).
    held: NDArray[np.bool_] | None = None


def _cuts(ut: feel.UnaryTests, scale: int) -> list[int] | None:
    """Integer boundaries at which a numeric entry's truth can change, or ``None`` if not that simple.

    For integer ``v`` and a number ``c`` (in stored units): ``v >= c`` and
    ``v < c`` change at ``ceil(c)``, ``v > c`` and ``v <= c`` at
    ``floor(c) + 1``, ``v = c`` and ``v != c`` at both; an interval at its
    two ends.  Between consecutive boundaries every such test is constant.
    """
    out: list[int] = []

    def num(e: Any) -> Decimal | None:
        return e.value * scale if isinstance(e, feel.NumberLit) else None

    def up(c: Decimal) -> int:
        return math.ceil(c)

    def past(c: Decimal) -> int:
        return math.floor(c) + 1

    for t in ut.tests:
        if isinstance(t, feel.CompareTest):
            c = num(t.endpoint)
            if c is None or t.op not in ("<", "<=", ">", ">=", "=", "!="):
                return None
            if t.op in (">=", "<"):
                out.append(up(c))
            elif t.op in (">", "<="):
                out.append(past(c))
            else:
                out += [up(c), past(c)]
        elif isinstance(t, feel.EqualTest):
            c = num(t.endpoint)
            if c is None:
                return None
            out += [up(c), past(c)]
        elif isinstance(t, feel.IntervalTest):
            low, high = num(t.low), num(t.high)
            if low is None or high is None:
                return None
            out.append(up(low) if t.low_closed else past(low))
            out.append(past(high) if t.high_closed else up(high))
        else:
            return None
    return out


@functools.lru_cache(maxsize=16)
def tier_lut(cp: CompiledPolicy) -> TierLut | None:
    """The tier table of ``cp`` as a lookup table over feature levels, or ``None`` when it is not simple.

    Simple: every entry of a numeric input is ``-`` or comparisons,
    equalities and intervals against number literals (possibly negated);
    coded inputs (``card_level``) are read as their codes.  Each numeric
    feature's boundaries then cut the integers into levels on which every
    entry is constant, so the tier is a function of the levels.  The table
    is evaluated once by the rules engine itself (:func:`_rule_matches`,
    :func:`_decide`) on one representative per combination of levels (the
    lowest value of each level), and checked on a second (the highest):
    the two tables must agree, or the lookup table is refused.  Boundaries
    the tier does not depend on are dropped.  ``None`` also when the
    combinations exceed ``_LUT_MAX``.
    """
    table = cp.compiled_table.table
    names = tuple(i.name for i in table.inputs)
    feats = {f.name: f for f in cp.features}
    if not names or set(names) - set(feats) or cp.compiled_table.constants:
        return None
    bounds: list[NDArray[np.int64] | None] = []
    for j, name in enumerate(names):
        if name in cp.coded_features:
            bounds.append(None)
            continue
        cuts: set[int] = set()
        for r in range(len(table.rules)):
            ut = table.rule_tests(r)[j]
            got = _cuts(ut, int(cp.compiled_table.scales.get(name, 1)))
            if got is None:
                return None
            cuts.update(got)
        if any(not -(2**62) < c < 2**62 for c in cuts):
            return None
        bounds.append(np.asarray(sorted(cuts), np.int64))

    def radix_of(b: NDArray[np.int64] | None) -> int:
        return len(CARD_LEVELS) if b is None else int(b.size) + 1

    def evaluate_on(
        bs: list[NDArray[np.int64] | None], high: bool
    ) -> tuple[NDArray[np.int8], NDArray[np.bool_]] | None:
        radix = [radix_of(b) for b in bs]
        total = math.prod(radix)
        if total > _LUT_MAX:
            return None
        grid = np.indices(radix).reshape(len(radix), -1)
        cols: dict[str, NDArray[Any]] = {}
        for name, b, lev in zip(names, bs, grid, strict=True):
            if b is None:
                cols[name] = lev.astype(np.int8)
                continue
            # one value of each level: its lowest, or its highest (the top level: a large value)
            if high:
                rep = np.append(b - 1, max(int(b[-1]) if b.size else 0, 2**62))
            else:
                rep = np.insert(b, 0, min(int(b[0]) - 1 if b.size else 0, 0))
            cols[name] = rep.astype(np.int64)[lev]
        tier, held_by = _decide(cp, _rule_matches(cp, cols, total), total, walks=True)
        held = np.zeros(total, np.bool_)
        for _, by_aum in held_by:
            held |= by_aum
        return tier.reshape(radix), held.reshape(radix)

    tables = evaluate_on(bounds, high=False)
    if tables is None:
        return None
    lut, held = tables
    # drop the boundaries neither the tier nor its holding by AUM depends on: equal on both sides
    for j, b in enumerate(bounds):
        if b is None or b.size == 0:
            continue
        keep = [
            i
            for i in range(b.size)
            if not np.array_equal(lut.take(i, axis=j), lut.take(i + 1, axis=j))
            or not np.array_equal(held.take(i, axis=j), held.take(i + 1, axis=j))
        ]
        if len(keep) < b.size:
            levels = [0, *(i + 1 for i in keep)]  # the lowest level of each merged run
            lut, held = lut.take(levels, axis=j), held.take(levels, axis=j)
            bounds[j] = b[keep]
    check = evaluate_on(bounds, high=True)
    if check is None or not np.array_equal(check[0], lut) or not np.array_equal(check[1], held):
        return None
    radix = tuple(radix_of(b) for b in bounds)
    return TierLut(
        names,
        tuple(bounds),
        radix,
        readonly(np.ascontiguousarray(lut).reshape(-1)),
        readonly(np.ascontiguousarray(held).reshape(-1)),
    )


#: The lookup-table month states' work arrays (one set per thread).
_STATE_SCRATCH = Scratch()


def lut_states(cp: CompiledPolicy, block: Block, a0: int, a1: int) -> list[MonthState] | None:
    """Tier and holding by AUM of a block's rows at months ``a0..a1`` from the lookup table, or ``None``.

    What :func:`month_state` gives with no status walk and no reasons (k
    and status 0), from the feature levels (:func:`path_index`) instead of
    the rules engine: the same tiers and holders, exactly (the table is the
    engine's own answer on every combination of levels).  ``None`` when the
    policy has no lookup table.
    """
    plan = tier_lut(cp)
    if plan is None or plan.held is None:
        return None
    shared = block.index
    if shared is not None and shared[0] is cp and shared[1] <= a0 and a1 < shared[1] + shared[2].shape[0]:
        idx = shared[2][a0 - shared[1] :]  # computed once for the block's other work too
    else:
        got = path_index(cp, block, a0, a1, _STATE_SCRATCH)
        if got is None:  # pragma: no cover - a table was found above
            return None
        idx = got[0]
    rows = block.hs.shape[0]
    out = []
    for j in range(a1 - a0 + 1):
        out.append(
            MonthState(
                np.take(plan.lut, idx[j]),
                np.take(plan.held, idx[j]),
                np.zeros(rows, np.int16),
                np.zeros(rows, np.int8),
                None,
            )
        )
    return out


def _levels(
    x: NDArray[Any], b: NDArray[np.int64] | None, out: NDArray[np.int8], hit: NDArray[np.bool_] | None = None
) -> NDArray[np.int8]:
    """Level of every value into ``out``: the number of boundaries ``<=`` it (coded values: the code).

    ``hit``: a work array of ``x``'s shape (a fresh one when not given).
    """
    if b is None:
        np.copyto(out, x, casting="unsafe")
        return out
    cuts = b.tolist()
    if not cuts:
        out[...] = 0
        return out
    np.greater_equal(x, cuts[0], out=out.view(np.bool_))  # 0 or 1, written as the int8 level
    if len(cuts) > 1:
        if hit is None:
            hit = np.empty(x.shape, np.bool_)
        for c in cuts[1:]:
            np.greater_equal(x, c, out=hit)
            out += hit.view(np.int8)
    return out


def path_tiers(cp: CompiledPolicy, block: Block, a0: int, a1: int) -> NDArray[np.int8]:
    """Tier codes of a block's rows at every absolute month ``a0..a1``: shape ``(months, rows)``.

    Equal to :func:`month_tiers` of each month's features.  With a
    :func:`tier_lut`, the features become levels and the tier one lookup
    per month: a ``max`` feature's level is the sliding maximum of its
    months' levels (a level is a non-decreasing function of the value), so
    AUM maxima are taken over ``int8`` levels; a ``sum`` slides (the month
    that enters added, the one that leaves subtracted); a ``value`` is read;
    other features are computed (:func:`compute_months`).  Temporaries are
    one row block wide (they stay in cache).  No absent-data masking (the
    caller's).
    """
    m, rows = a1 - a0 + 1, block.hs.shape[0]
    got = path_index(cp, block, a0, a1)
    if got is None:
        values = {k: v.reshape(-1) for k, v in compute_months(block, cp.features, a0, a1).items()}
        return month_tiers(cp, values, m * rows).reshape(m, rows)
    idx, lut = got
    out = np.empty((m, rows), np.int8)
    for j in range(m):
        np.take(lut, idx[j], out=out[j])
    return out


def path_index(
    cp: CompiledPolicy, block: Block, a0: int, a1: int, scratch: Scratch | None = None
) -> tuple[NDArray[np.integer[Any]], NDArray[np.int8]] | None:
    """The :func:`tier_lut` cell of a block's rows at months ``a0..a1`` and the table, or ``None``.

    ``lut[idx[j, i]]`` is the tier code of row ``i`` at month ``a0 + j``
    (what :func:`path_tiers` returns); ``None`` when the policy has no
    lookup table.  ``scratch``: work arrays kept from block to block (the
    returned ``idx`` is one of them: read it before the next block).
    """
    m, rows = a1 - a0 + 1, block.hs.shape[0]
    plan = tier_lut(cp)
    if plan is None:
        return None
    ws = Scratch() if scratch is None else scratch
    feats = {f.name: f for f in cp.features}
    lo = block.lo
    idx = ws.array("path_idx", (m, rows), np.int16 if plan.lut.size <= np.iinfo(np.int16).max else np.int32)
    levs = (ws.array("path_lev", (m, rows), np.int8), ws.array("path_lev2", (m, rows), np.int8))
    hit = ws.array("path_hit", (m, rows), np.bool_)
    raw: dict[tuple[str, bytes | None], tuple[int, NDArray[np.int8]]] = {}
    # Consecutive features' levels are packed into one int8 digit while their radices' product
    # fits (3 × 3 × 3 × 3 = 81), so the int16 index is multiplied and added once per digit, not
    # once per feature.  ``pend``: the digit being packed (its buffer) and its radix.
    pend: tuple[int, int] | None = None
    started = False

    def flush(buf: int, r: int) -> None:
        nonlocal started
        if started:
            np.multiply(idx, r, out=idx)
            np.add(idx, levs[buf], out=idx)
        else:
            np.copyto(idx, levs[buf], casting="unsafe")
            started = True

    for name, b, radix in zip(plan.names, plan.bounds, plan.radix, strict=True):
        if radix == 1:
            continue  # one level: the tier does not depend on this feature
        lev = levs[1 if pend is not None and pend[0] == 0 else 0]  # not the pending digit's buffer
        f = feats[name]
        back_first, back_last = (f.lag + f.window, f.lag) if f.op != "value" else (f.lag, f.lag)
        lasts = [a - back_last for a in range(a0, a1 + 1)]
        firsts = [max(a - back_first, 0) for a in range(a0, a1 + 1)]
        live = [j for j in range(m) if lasts[j] >= 0]
        if live and (firsts[live[0]] < lo or lasts[-1] > block.hi):
            raise ValueError(f"feature {name!r} needs months outside the block")
        j0 = live[0] if live else m
        if j0:  # months before the axis starts: the feature is 0
            _levels(np.zeros((j0, 1), np.int8 if b is None else np.int64), b, lev[:j0, :1])
            lev[:j0] = lev[:j0, :1]
        if f.op == "max" and live:
            # the levels of the months the windows read (firsts rise with the month)
            key = (f.column, None if b is None else b.tobytes())
            got = raw.get(key)
            if got is None or got[0] > firsts[j0]:
                x = block.column(f.column)[firsts[j0] - lo : lasts[-1] - lo + 1]
                buf = ws.array(f"path_raw {name}", x.shape, np.int8)  # this feature's own
                wide = ws.array("path_rawhit", x.shape, np.bool_)
                for i in range(x.shape[0]):  # a month at a time: the second comparison reads from cache
                    _levels(x[i], b, buf[i], wide[i])
                got = raw[key] = (firsts[j0], buf)
            window_maxima(got[1], got[0], f.window + 1, firsts[j0:], lasts[j0:], lev[j0:], scratch=ws)
        elif f.op == "value" and live:  # consecutive month rows of the column, a month at a time (in cache)
            x = block.column(f.column)
            for j in range(j0, m):
                _levels(x[lasts[j] - lo], b, lev[j], hit[j])
        elif f.op == "sum" and live:
            x = block.column(f.column)
            total = ws.array("path_sum", (rows,), np.int64)
            np.add.reduce(x[firsts[j0] - lo : lasts[j0] - lo + 1], axis=0, dtype=np.int64, out=total)
            _levels(total, b, lev[j0], hit[j0])
            for j in range(j0 + 1, m):  # cells are at most MAX_AMOUNT: window sums fit int64
                total += x[lasts[j] - lo]  # the month entering the window
                if firsts[j] > firsts[j - 1]:
                    total -= x[firsts[j - 1] - lo]  # the month leaving it
                _levels(total, b, lev[j], hit[j])
        elif live:
            _levels(compute_months(block, [f], a0, a1)[name], b, lev, hit)
        mine = 1 if lev is levs[1] else 0
        if pend is None:
            pend = (mine, radix)
        elif pend[1] * radix <= np.iinfo(np.int8).max:  # pack into the pending digit
            digit = levs[pend[0]]
            digit *= np.int8(radix)
            digit += lev
            pend = (pend[0], pend[1] * radix)
        else:
            flush(*pend)
            pend = (mine, radix)
    if pend is not None:
        flush(*pend)
    if not started:  # no feature with more than one level: every row is cell 0
        idx[...] = 0
    return idx, plan.lut


def month_state(
    cp: CompiledPolicy,
    block: Block,
    a: int,
    hs: NDArray[np.int64],
    *,
    reasons: bool = True,
    values: Mapping[str, NDArray[Any]] | None = None,
    walk: bool = True,
) -> MonthState:
    """Evaluate one as-of month (absolute index ``a``) for a block of rows.

    The tier table is FIRST and lists its rules tier by tier (highest first),
    so the decided tier is the count of "at least this tier" flags below the
    catch-all, one OR per rule; a tier's AUM rule decides when it holds and
    no higher tier's rule does.  Only customers held by an AUM rule and below
    its floor now walk back through their months.  ``values``: the features
    at ``a`` when already computed (:func:`compute_path`).  Without ``walk``
    no one walks: the months below and the status are left 0 (the tier and
    who is held by an AUM rule are exact).
    """
    if values is None:
        values = compute(block, cp.features, a, None, with_complete=False).values
    n = hs.shape[0]
    matches = _rule_matches(cp, values, n)
    tier, walks = _decide(cp, matches, n, walks=True)
    held = np.zeros(n, dtype=bool)
    k = np.zeros(n, dtype=np.int16)
    status = np.zeros(n, dtype=np.int8)
    aum = block.column("aum")  # month-major (months, rows)
    col = a - block.lo
    now = aum[col]
    for t, by_aum in walks:
        held |= by_aum
        if not walk:
            continue
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


def block_lo(cp: CompiledPolicy, a: int, previous: bool, prev_cp: CompiledPolicy | None = None) -> int:
    """The first month :func:`evaluate_block` reads for as-of month ``a``."""
    other = prev_cp is not None and prev_cp is not cp
    # the month before needs one month more than the as-of month alone
    return max(0, a - cp.history_needed + (0 if previous and not other else 1))


def evaluate_block(
    cp: CompiledPolicy,
    portfolio: Portfolio,
    rows: slice,
    a: int,
    previous: bool,
    reasons: bool = True,
    prev_cp: CompiledPolicy | None = None,
    block: Block | None = None,
    status: bool = True,
) -> dict[str, NDArray[Any]]:
    """Evaluate month ``a`` (and with ``previous`` the month before, under ``prev_cp`` when given).

    ``block``: the rows' :class:`Block` when the caller shares it with other
    work (:func:`block_lo` months or more, ending at ``a``, under ``cp``'s AUM
    classes); a block of its own otherwise.  Without ``status``: no status,
    months below or previous status (the tiers, movement and churn only).
    """
    hs = portfolio.history_start[rows].astype(np.int64)
    other = prev_cp is not None and prev_cp is not cp
    if block is None:
        block = Block(portfolio, rows, block_lo(cp, a, previous, prev_cp), a, cp.policy.aum, cp.policy.scale)
    elif block.lo > block_lo(cp, a, previous, prev_cp) or block.hi != a or block.rows != rows:
        raise ValueError("the shared block does not cover the months the evaluation reads")
    both = previous and a >= 1 and not other
    # no reasons and no status: only the tiers and who holds one by AUM, from the lookup table
    quick = None if status or reasons else lut_states(cp, block, a - 1 if both else a, a)
    cur = quick[-1] if quick is not None else month_state(cp, block, a, hs, reasons=reasons, walk=status)
    n = hs.shape[0]
    out: dict[str, NDArray[Any]] = {}
    if previous and a >= 1:
        if prev_cp is not None and other:  # another policy version was in force the month before
            p_lo = max(0, a - prev_cp.history_needed)
            p_block = Block(portfolio, rows, p_lo, a - 1, prev_cp.policy.aum, prev_cp.policy.scale)
            prv = month_state(prev_cp, p_block, a - 1, hs, reasons=False, walk=status)
        elif quick is not None:
            prv = quick[0]
        else:
            prv = month_state(cp, block, a - 1, hs, reasons=False, walk=status)
        if block.hs_max > a - 1:
            has_prev = hs <= a - 1
            prev_tier = np.where(has_prev, prv.tier, NO_TIER).astype(np.int8)
            prev_status = np.where(has_prev, prv.status, -1).astype(np.int8) if status else prv.status
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
    tier, k, st, bits = cur.tier, cur.k, cur.status, cur.reasons
    if block.hs_max > a:
        absent = hs > a  # no data at the as-of month: no tier, never an invented one
        tier = np.where(absent, NO_TIER, tier).astype(np.int8)
        if status:
            k = np.where(absent, 0, k).astype(np.int16)
            st = np.where(absent, 0, st).astype(np.int8)
        if bits is not None:
            bits = np.where(absent, np.uint64(0), bits)
    out.update(tier=tier, history_complete=complete)
    if status:
        out.update(status=st, months_below=k)
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
