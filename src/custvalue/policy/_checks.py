"""Semantic checks of a policy, run whenever a :class:`Policy` is built.

Each problem raises :class:`PolicyError` with the document path of the field
(``tiers[2].criteria[1].when.mortgage_loan``), so a bank analyst editing a
policy file knows exactly where to look.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import attrs

from ..portfolio import CARD_LEVELS, MONEY_COLUMNS
from ..rules import FeelSyntaxError, match_unary_tests, parse_unary_tests, tests_names
from ..rules.ast import Call, CompareTest, EqualTest, IntervalTest, StringLit
from ._schema import FEATURE_COLUMNS, FEATURE_OPS, IDENT, RESERVED_PREFIX, STATUSES, PolicyError
from ._specs import EventSpec, FeatureSpec, TierSpec

__all__ = ["check_policy"]


def _fail(path: str, message: str) -> PolicyError:
    return PolicyError(f"{path}: {message}", path=path)


def _is_string_test(text: str) -> bool:

    ut = parse_unary_tests(text)
    for t in ut.tests:
        if isinstance(t, CompareTest | EqualTest) and isinstance(t.endpoint, StringLit):
            return True
        if isinstance(t, IntervalTest) and isinstance(t.low, StringLit):
            return True
    return False


def _calls(node: object) -> list[Call]:
    """Every function invocation in a parsed test (the AST is attrs classes and tuples)."""
    out: list[Call] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Call):
            out.append(n)
        if isinstance(n, tuple | list):
            stack.extend(n)
        elif attrs.has(type(n)):
            stack.extend(getattr(n, f.name) for f in attrs.fields(type(n)))  # type: ignore[arg-type]
    return out


def _parse(text: str, path: str, *, strings: Sequence[str] = ()) -> None:
    """Parse a test; ``strings`` are values the test may name as strings (card levels)."""
    try:
        ut = parse_unary_tests(text)
    except FeelSyntaxError as exc:
        raise _fail(path, str(exc).splitlines()[0]) from None
    calls = sorted({c.function for c in _calls(ut)})
    if calls:
        raise _fail(
            path,
            f"function call(s) {', '.join(f'{c}(...)' for c in calls)} in test {text!r}; policy tests "
            "compare with literal values only",
        )
    # a policy defines no constants: a name in a test could never be resolved
    names = tests_names(ut)
    if names:
        hint = ""
        quoted = sorted(n for n in names if n in strings)
        if quoted:
            field = path.rsplit(".", 1)[-1]
            hint = (
                f"; {quoted[0]!r} is a value: write it as an S-FEEL string, in TOML "
                f"""{field} = '"{quoted[0]}"' (single quotes around the double quotes)"""
            )
        raise _fail(
            path,
            f"unknown name(s) {', '.join(sorted(names))} in test {text!r}; "
            "policy tests compare with literal values only" + hint,
        )


def check_policy(
    *,
    aum: Sequence[str],
    amount_unit: str,
    features: Sequence[FeatureSpec],
    tiers: Sequence[TierSpec],
    events: Sequence[EventSpec],
    minimum_allocation_tier: str | None,
) -> None:
    """Raise :class:`PolicyError` for the first problem found in a policy's parts."""
    by_name = {f.name: f for f in features}

    if amount_unit not in ("yuan", "fen"):
        raise _fail("amount_unit", f"must be 'yuan' or 'fen', got {amount_unit!r}")
    if not aum:
        raise _fail("aum", "name at least one column")
    for i, col in enumerate(aum):
        if col not in MONEY_COLUMNS:
            raise _fail(f"aum[{i}]", f"unknown column {col!r}; known: {', '.join(MONEY_COLUMNS)}")
        if col in aum[:i]:
            raise _fail(f"aum[{i}]", f"column {col!r} listed twice")
    names: set[str] = set()
    for f in features:
        path = f"features.{f.name}"
        if not IDENT.match(f.name):
            raise _fail(path, "feature names are identifiers (letters, digits, _)")
        if f.name.startswith(RESERVED_PREFIX):
            raise _fail(path, f"names starting with {RESERVED_PREFIX!r} are reserved for AUM maxima")
        if f.op not in FEATURE_OPS:
            raise _fail(f"{path}.op", f"unknown op {f.op!r}; known: {', '.join(FEATURE_OPS)}")
        if f.column not in FEATURE_COLUMNS:
            raise _fail(f"{path}.column", f"unknown column {f.column!r}; known: {', '.join(FEATURE_COLUMNS)}")
        if f.column == "card_level" and f.op in ("sum", "mean"):
            raise _fail(f"{path}.op", "card levels are categories: use value, max, min or run")
        if f.op == "run":
            if f.test is None:
                raise _fail(f"{path}.test", 'a run feature needs a test, e.g. "< 500000"')
            _parse(f.test, f"{path}.test")
        elif f.test is not None:
            raise _fail(f"{path}.test", f"only run features take a test, not {f.op}")
        if f.op == "value" and f.window:
            raise _fail(f"{path}.window", "a value feature has no window (use lag)")
        names.add(f.name)
    seen: set[str] = set()
    n = len(tiers)
    for i, t in enumerate(tiers):
        path = f"tiers[{i}]"
        if t.id in seen:
            raise _fail(f"{path}.id", f"tier {t.id!r} appears twice")
        seen.add(t.id)
        if (t.aum_floor is None) != (t.window is None):
            raise _fail(path, "aum_floor and window go together")
        if t.aum_floor is not None:
            if t.aum_floor <= 0:
                raise _fail(f"{path}.aum_floor", "must be positive")
            fen = t.aum_floor * (100 if amount_unit == "yuan" else 1)
            if fen != fen.to_integral_value():
                raise _fail(f"{path}.aum_floor", f"{t.aum_floor} is not a whole number of fen")
            if t.window is not None and t.window > 120:
                raise _fail(f"{path}.window", "windows longer than 120 months are not supported")
            _check_bands(tiers[i], i)
        elif t.status_bands:
            raise _fail(f"{path}.status_bands", "only a tier with an AUM floor has statuses")
        crit_ids: set[str] = set()
        for j, c in enumerate(t.criteria):
            cp = f"{path}.criteria[{j}]"
            if c.id in crit_ids or c.id in ("aum", "default"):
                raise _fail(f"{cp}.id", f"criterion id {c.id!r} is taken in tier {t.id!r}")
            crit_ids.add(c.id)
            for fname, test in c.when:
                wp = f"{cp}.when.{fname}"
                if fname not in names:
                    raise _fail(
                        wp,
                        f"unknown feature {fname!r}; define it under [features]"
                        + (f" (known: {', '.join(sorted(names))})" if names else ""),
                    )
                feat = by_name[fname]
                is_card = feat.column == "card_level" and feat.op != "run"
                _parse(test, wp, strings=CARD_LEVELS if is_card else ())
                if _is_string_test(test) and not is_card:
                    raise _fail(wp, f"string test on the numeric feature {fname!r}")
                if is_card:
                    _check_card_test(test, wp, CARD_LEVELS)
        if t.is_catch_all and i != n - 1:
            raise _fail(
                path,
                f"tier {t.id!r} has no criteria, so every later tier is unreachable; "
                "only the last tier may be the catch-all",
            )
    if not tiers[-1].is_catch_all:
        raise _fail(
            f"tiers[{n - 1}]",
            "the last tier must be the catch-all (no aum_floor, no "
            "criteria) so that every customer gets a tier",
        )
    if minimum_allocation_tier is not None and minimum_allocation_tier not in seen:
        raise _fail("minimum_allocation_tier", f"unknown tier {minimum_allocation_tier!r}")
    ev_seen: set[str] = set()
    for e in events:
        if e.name in ev_seen:
            raise _fail(f"events.{e.name}", "listed twice")
        ev_seen.add(e.name)


def _check_card_test(text: str, path: str, levels: tuple[str, ...]) -> None:

    for t in parse_unary_tests(text).tests:
        ends = (
            [t.endpoint]
            if isinstance(t, CompareTest | EqualTest)
            else ([t.low, t.high] if isinstance(t, IntervalTest) else [])
        )
        for e in ends:
            if not isinstance(e, StringLit):
                raise _fail(path, f"card level tests compare with level names ({', '.join(levels)})")
            if e.value not in levels:
                raise _fail(path, f"unknown card level {e.value!r}; known: {', '.join(levels)}")


def _check_bands(t: TierSpec, i: int) -> None:
    assert t.window is not None
    path = f"tiers[{i}].status_bands"
    parsed = []
    for j, b in enumerate(t.status_bands):
        if b.status not in STATUSES[1:]:
            raise _fail(
                f"{path}[{j}].status",
                f"unknown status {b.status!r}; bands give {' or '.join(STATUSES[1:])} (normal is k = 0)",
            )
        _parse(b.months_below, f"{path}[{j}].months_below")
        parsed.append(parse_unary_tests(b.months_below))
    if not parsed:
        return
    w = t.window
    # the k each band covers (up to the longest supported window), to word the fixes
    covers = [[k for k in range(0, 122) if match_unary_tests(ut, Decimal(k))] for ut in parsed]

    def fix() -> str:
        """Which bands to change, and to what, for the window ``w`` (keeping their order)."""
        order = sorted(range(len(covers)), key=lambda j: min([k for k in covers[j] if k >= 1] or [999]))
        start, changes = 1, []
        for idx, j in enumerate(order):
            if start > w:
                changes.append(f"remove {path}[{j}] ({t.status_bands[j].status})")
                continue
            top = max(covers[j]) if covers[j] else start
            hi = w if idx == len(order) - 1 else max(start, min(top, w - (len(order) - idx - 1)))
            want = f"[{start}..{hi}]"
            if want != t.status_bands[j].months_below.replace(" ", ""):
                changes.append(f"{path}[{j}].months_below ({t.status_bands[j].status}) to '{want}'")
            start = hi + 1
        return (
            f"with window = {w} the status bands must cover k = 1..{w}: change " + " and ".join(changes)
            if changes
            else f"the status bands must cover k = 1..{w}"
        )

    for k in range(0, w + 2):
        hits = [j for j, c in enumerate(covers) if k in c]
        if k in (0, w + 1) and hits:
            if k == 0:
                raise _fail(f"{path}[{hits[0]}].months_below", "band covers k = 0, but k = 0 is normal")
            raise _fail(
                f"{path}[{hits[0]}].months_below",
                f"band covers k = {k}, but the window is {w}, so k = {k} = window + 1 loses the "
                f"tier; {fix()}",
            )
        if 1 <= k <= w:
            if not hits:
                raise _fail(path, f"no band covers k = {k} (the window is {w}); {fix()}")
            if len(hits) > 1:
                raise _fail(
                    f"{path}[{hits[1]}].months_below", f"bands {hits[0]} and {hits[1]} overlap at k = {k}"
                )
