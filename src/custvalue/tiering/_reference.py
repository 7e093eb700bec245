"""Scalar reference evaluation of a tier policy for one customer.

Written straight from SPEC section 3, one customer at a time, in plain
Python: the vectorised engine in :mod:`custvalue.tiering` is tested against it.
It shares nothing with the engine it checks: policy tests (criteria, status
bands, run tests) are matched by the small hand-written matcher below, not by
the rules engine, so a bug in the engine's matching cannot hide on both sides.
Card levels compare by their order (none < standard < gold < platinum <
diamond).  Not for production use (it is slow by design).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from ..policy import STATUSES, Policy
from ..portfolio import CARD_LEVELS
from ._features import reference_feature

__all__ = ["reference_evaluate"]


def _split(text: str) -> list[str]:
    """Top-level comma-separated parts of a unary-tests text."""
    parts, depth, quoted, cur = [], 0, False, ""
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "[(":
            depth += 1
        elif not quoted and ch in "])":
            depth -= 1
        if ch == "," and depth == 0 and not quoted:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return parts


def _literal(text: str, card: bool) -> Decimal:
    """A number, or a card level's rank for card tests."""
    text = text.strip()
    if text.startswith('"'):
        assert card, f"string literal {text} in a numeric test"
        return Decimal(CARD_LEVELS.index(text[1:-1]))
    return Decimal(text)


def _holds(text: str, value: Decimal, card: bool = False) -> bool:
    """Whether ``value`` passes the S-FEEL unary tests ``text`` (the subset policies use)."""
    text = text.strip()
    if text == "-":
        return True
    if text.startswith("not(") and text.endswith(")"):
        return not _holds(text[4:-1], value, card)
    for part in _split(text):
        if part[0] in "[(]" and ".." in part:
            lo_text, hi_text = part[1:-1].split("..")
            lo, hi = _literal(lo_text, card), _literal(hi_text, card)
            lo_ok = value >= lo if part[0] == "[" else value > lo
            hi_ok = value <= hi if part[-1] == "]" else value < hi
            if lo_ok and hi_ok:
                return True
            continue
        for op in ("<=", ">=", "!=", "<", ">", "="):
            if part.startswith(op):
                x = _literal(part[len(op) :], card)
                ok = {
                    "<=": value <= x,
                    ">=": value >= x,
                    "!=": value != x,
                    "<": value < x,
                    ">": value > x,
                    "=": value == x,
                }[op]
                break
        else:
            ok = value == _literal(part, card)
        if ok:
            return True
    return False


def _tier_at(policy: Policy, cols: Mapping[str, Sequence[int]], hs: int, m: int) -> tuple[int, str]:
    aum = cols["aum"]
    for ti, t in enumerate(policy.tiers):
        if t.aum_floor is not None and t.window is not None:
            floor = int(t.aum_floor * policy.scale)
            months = [j for j in range(m - t.window, m + 1) if j >= 0 and j >= hs]
            if any(aum[j] >= floor for j in months):
                return ti, "aum"
        for c in t.criteria:
            ok = True
            for fname, test in c.when:
                spec = policy.feature(fname)
                unit_test = None
                if spec.op == "run":
                    assert spec.test is not None
                    card = spec.column == "card_level"
                    scale = 1 if card else policy.scale

                    def unit_test(v: int, _t: str = spec.test, _s: int = scale, _c: bool = card) -> bool:
                        return _holds(_t, Decimal(v) / _s, _c)

                raw, _ = reference_feature(cols[spec.column], hs, m, spec, unit_test)
                is_card = spec.column == "card_level" and spec.op != "run"
                value = Decimal(raw) if is_card or spec.op == "run" else Decimal(raw) / policy.scale
                if not _holds(test, value, is_card):
                    ok = False
                    break
            if ok:
                return ti, c.id
        if t.is_catch_all:
            return ti, "default"
    raise AssertionError("policy without catch-all")  # pragma: no cover


def _k(policy: Policy, aum: Sequence[int], hs: int, m: int, ti: int) -> int:
    t = policy.tiers[ti]
    assert t.aum_floor is not None
    floor = int(t.aum_floor * policy.scale)
    k = 0
    j = m
    while j >= 0 and j >= hs and aum[j] < floor:
        k += 1
        j -= 1
    return k


def _status(policy: Policy, ti: int, k: int) -> str:
    if k == 0:
        return "normal"
    for b in policy.tiers[ti].status_bands:
        if _holds(b.months_below, Decimal(k)):
            return b.status
    return "normal"


def reference_evaluate(
    policy: Policy, columns: Mapping[str, Sequence[int]], history_start: int, as_of_index: int
) -> dict[str, Any]:
    """Evaluate one customer (columns over the whole month axis) at ``as_of_index``."""
    cols = dict(columns)
    cols["aum"] = [sum(int(columns[c][j]) for c in policy.aum) for j in range(len(columns["deposits"]))]
    names = policy.tier_order
    m = as_of_index
    if m < history_start:  # no data at the as-of month: no tier
        return {
            "tier": None,
            "status": "normal",
            "months_below": 0,
            "previous_tier": None,
            "movement": "new",
            "churned_tier": None,
            "events": [],
        }
    ti, why = _tier_at(policy, cols, history_start, m)
    k = _k(policy, cols["aum"], history_start, m, ti) if why == "aum" else 0
    status = _status(policy, ti, k) if why == "aum" else "normal"
    out: dict[str, Any] = {
        "tier": names[ti],
        "status": status,
        "months_below": k,
        "previous_tier": None,
        "movement": "new",
        "churned_tier": None,
    }
    if m - 1 >= 0 and m - 1 >= history_start:
        pi, pwhy = _tier_at(policy, cols, history_start, m - 1)
        pk = _k(policy, cols["aum"], history_start, m - 1, pi) if pwhy == "aum" else 0
        out["_prev_status"] = _status(policy, pi, pk) if pwhy == "aum" else "normal"
        out["previous_tier"] = names[pi]
        out["movement"] = "up" if ti < pi else "down" if ti > pi else "same"
        if ti > pi:
            # SPEC: the as-of month is the (W+1)-th consecutive month below the
            # previous tier's floor, and the month before that run held it.
            t = policy.tiers[pi]
            if t.aum_floor is not None and t.window is not None:
                run = _k(policy, cols["aum"], history_start, m, pi)
                before = m - t.window - 1
                floor = int(t.aum_floor * policy.scale)
                if run == t.window + 1 and before >= max(0, history_start) and cols["aum"][before] >= floor:
                    out["churned_tier"] = names[pi]
    events = []
    if out["movement"] == "up":
        events.append("tier_up")
    if out["movement"] == "down":
        events.append("tier_down")
    prev_status = out.pop("_prev_status", None)
    for s in STATUSES[1:]:
        if status == s and prev_status != s:
            events.append(f"entered_{s}")
    if out["churned_tier"]:
        events.append("churned")
    out["events"] = events
    return out
