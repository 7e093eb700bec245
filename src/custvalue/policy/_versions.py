"""Versioned policies: a :class:`PolicySet` of versions with the month each takes effect,
and :func:`diff_policies`, what changed between two versions.

A bank changes its tier policy over time and must reproduce last year's
tiers with last year's rules.  A policy set is data like a policy: a list of
``(effective_from, policy)`` pairs, or a set document (TOML or JSON) naming
policy files relative to itself::

    schema = "custvalue.policyset/1"
    [[versions]]
    effective_from = "2025-01"
    policy = "policy-2025.toml"
    [[versions]]
    effective_from = "2026-07"
    policy = "policy-2026h2.toml"

Every version must have the same tiers, in the same order (thresholds,
windows, bands and criteria may change), so that tier codes mean the same in
every month of an evaluation.
"""

from __future__ import annotations

import itertools
import json
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import attrs

from ..months import Month, MonthLike
from ._document import Policy, load_policy
from ._schema import PolicyError
from ._specs import TierSpec

__all__ = ["DIFF_SECTIONS", "PolicyChange", "PolicyDiff", "PolicySet", "diff_policies", "load_policy_set"]

SET_SCHEMA = "custvalue.policyset/1"


def _versions(items: Iterable[tuple[MonthLike, Policy]]) -> tuple[tuple[Month, Policy], ...]:
    out: list[tuple[Month, Policy]] = []
    for i, item in enumerate(items):
        try:
            month, policy = item
        except (TypeError, ValueError):
            raise PolicyError(
                "a version is an (effective_from, policy) pair", path=f"versions[{i}]"
            ) from None
        if not isinstance(policy, Policy):
            raise PolicyError(f"expected a Policy, got {type(policy).__name__}", path=f"versions[{i}].policy")
        try:
            m = Month.coerce(month)
        except (TypeError, ValueError) as exc:
            raise PolicyError(str(exc), path=f"versions[{i}].effective_from") from None
        out.append((m, policy))
    if not out:
        raise PolicyError("a policy set needs at least one version", path="versions")
    out.sort(key=lambda v: v[0])
    for (m0, _), (m1, _) in itertools.pairwise(out):
        if m0 == m1:
            raise PolicyError(f"two versions take effect in {m1}", path="versions")
    first = out[0][1].tier_order
    for m, p in out[1:]:
        if p.tier_order != first:
            raise PolicyError(
                f"the version effective from {m} has tiers {', '.join(p.tier_order)}; every version "
                f"must have the first version's tiers in the same order ({', '.join(first)})",
                path="versions",
            )
    return tuple(out)


@attrs.frozen(repr=False)
class PolicySet:
    """Policy versions, each in force from its ``effective_from`` month until the next one.

    Examples
    --------
    >>> from custvalue import default_policy
    >>> old = default_policy()
    >>> new = old.with_tier("platinum", aum_floor=400000)
    >>> ps = PolicySet([("2025-01", old), ("2026-07", new)])
    >>> ps.at("2026-06") is old, ps.at("2026-07") is new
    (True, True)
    >>> ps.at("2024-12")
    Traceback (most recent call last):
    ...
    custvalue.policy.PolicyError: no policy version is in force in 2024-12; the first takes effect in 2025-01
    """

    versions: tuple[tuple[Month, Policy], ...] = attrs.field(converter=_versions)

    @property
    def tier_order(self) -> tuple[str, ...]:
        """The tiers every version shares."""
        return self.versions[0][1].tier_order

    @property
    def first(self) -> Month:
        """The month the first version takes effect."""
        return self.versions[0][0]

    def at(self, month: MonthLike) -> Policy:
        """The version in force in ``month``."""
        m = Month.coerce(month)
        found: Policy | None = None
        for start, policy in self.versions:
            if start > m:
                break
            found = policy
        if found is None:
            raise PolicyError(f"no policy version is in force in {m}; the first takes effect in {self.first}")
        return found

    def __iter__(self) -> Iterator[tuple[Month, Policy]]:
        return iter(self.versions)

    def __len__(self) -> int:
        return len(self.versions)

    def __repr__(self) -> str:
        parts = ", ".join(f"{m}: {p.name!r}" for m, p in self.versions)
        return f"<PolicySet {parts}>"


def load_policy_set(source: str | Path | Mapping[str, Any]) -> PolicySet:
    """Load a policy set document (TOML or JSON); policy files are relative to it.

    A version may also hold its policy inline (``policy = { ... }``, a policy
    document).  Errors name the set file and the version.
    """
    base = Path(".")
    file: str | None = None
    if isinstance(source, Mapping):
        doc: Any = source
    else:
        path = Path(source)
        file, base = str(path), path.parent
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise PolicyError(f"cannot read policy set: {exc.strerror}", file=file) from None
        try:
            if path.suffix.lower() == ".json":
                doc = json.loads(raw, parse_float=Decimal)
            else:
                doc = tomllib.loads(raw.decode("utf-8"), parse_float=Decimal)
        except (ValueError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise PolicyError(f"not a policy set document: {exc}", file=file) from None
    if not isinstance(doc, Mapping) or doc.get("schema") != SET_SCHEMA:
        raise PolicyError(f'a policy set needs schema = "{SET_SCHEMA}"', file=file, path="schema")
    entries = doc.get("versions")
    if not isinstance(entries, list) or not entries:
        raise PolicyError("a policy set needs a non-empty [[versions]] list", file=file, path="versions")
    items: list[tuple[MonthLike, Policy]] = []
    for i, e in enumerate(entries):
        where = f"versions[{i}]"
        if not isinstance(e, Mapping) or set(e) - {"effective_from", "policy"} or "policy" not in e:
            raise PolicyError(
                "a version has effective_from and policy (and nothing else)", file=file, path=where
            )
        ref = e["policy"]
        if isinstance(ref, str):
            target = base / ref
            policy = load_policy(target)
        elif isinstance(ref, Mapping):
            policy = load_policy(ref)
        else:
            raise PolicyError("policy is a file name or a policy document", file=file, path=f"{where}.policy")
        month = e.get("effective_from")
        if not isinstance(month, str):
            raise PolicyError("effective_from is a YYYY-MM month", file=file, path=f"{where}.effective_from")
        items.append((month, policy))
    try:
        return PolicySet(items)
    except PolicyError as exc:
        if exc.file is None and file is not None:
            raise PolicyError(exc.message, file=file, path=exc.path) from None
        raise


# --------------------------------------------------------------------------- diff


@attrs.frozen
class PolicyChange:
    """One difference between two policy versions: where, what it was and what it is."""

    path: str
    old: str | None
    new: str | None

    def __str__(self) -> str:
        if self.old is None:
            return f"{self.path}: added {self.new}"
        if self.new is None:
            return f"{self.path}: removed (was {self.old})"
        return f"{self.path}: {self.old} -> {self.new}"


@attrs.frozen
class PolicyDiff:
    """The changes between two policies: tiers, features, AUM and every section of the document."""

    old: Policy
    new: Policy
    changes: tuple[PolicyChange, ...]

    def __bool__(self) -> bool:
        return bool(self.changes)

    def text(self) -> str:
        """One line per change, or a line saying there is none."""
        head = f"policy {self.old.name!r} -> {self.new.name!r}"
        if not self.changes:
            return f"{head}: no changes"
        return "\n".join([f"{head}: {len(self.changes)} change(s)", *(f"  {c}" for c in self.changes)])

    def __str__(self) -> str:
        return self.text()


def _num(d: Decimal | None) -> str | None:
    return None if d is None else (str(int(d)) if d == d.to_integral_value() else str(d))


def _tier_changes(t: str, a: TierSpec, b: TierSpec) -> list[PolicyChange]:
    out: list[PolicyChange] = []
    if a.aum_floor != b.aum_floor:
        out.append(PolicyChange(f"tiers.{t}.aum_floor", _num(a.aum_floor), _num(b.aum_floor)))
    if a.window != b.window:
        out.append(
            PolicyChange(
                f"tiers.{t}.window",
                None if a.window is None else str(a.window),
                None if b.window is None else str(b.window),
            )
        )
    bands_a = {s.status: s.months_below for s in a.status_bands}
    bands_b = {s.status: s.months_below for s in b.status_bands}
    for status in [*bands_a, *(s for s in bands_b if s not in bands_a)]:
        if bands_a.get(status) != bands_b.get(status):
            out.append(
                PolicyChange(f"tiers.{t}.status_bands.{status}", bands_a.get(status), bands_b.get(status))
            )
    crit_a = {c.id: c for c in a.criteria}
    crit_b = {c.id: c for c in b.criteria}
    for cid in [*crit_a, *(c for c in crit_b if c not in crit_a)]:
        ca, cb = crit_a.get(cid), crit_b.get(cid)
        if ca is not None and cb is not None and ca.when == cb.when:
            continue

        def when(c: Any) -> str | None:
            return None if c is None else ", ".join(f"{k} {v}" for k, v in c.when)

        out.append(PolicyChange(f"tiers.{t}.criteria.{cid}", when(ca), when(cb)))
    return out


#: Document sections compared key by key (after the tiers, features and AUM classes).
DIFF_SECTIONS: Final[tuple[str, ...]] = (
    "amount_unit",
    "minimum_allocation_tier",
    "events",
    "monitoring",
    "transactions",
    "value",
    "segments",
    "campaigns",
)
#: The key that names an item of a list of tables (campaigns, rules, quadrants, grades ...).
_ITEM_KEYS: Final = ("id", "name")


def _show(v: Any) -> str:
    """A document value as one short line (TOML-like)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return _num(v) or ""
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{k} = {_show(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_show(x) for x in v) + "]"
    return str(v)


def _item_key(items: list[Any]) -> str | None:
    """The key naming each table of a list (``id`` or ``name``), when every table has a distinct one."""
    if not items or not all(isinstance(x, Mapping) for x in items):
        return None
    for key in _ITEM_KEYS:
        names = [x.get(key) for x in items]
        if all(isinstance(n, str) for n in names) and len(set(names)) == len(names):
            return key
    return None


def _doc_changes(path: str, a: Any, b: Any, out: list[PolicyChange]) -> None:
    """Append the changes from document value ``a`` to ``b`` at ``path`` (leaf by leaf)."""
    if a is None and b is None:
        return
    if a is None or b is None:
        out.append(PolicyChange(path, None if a is None else _show(a), None if b is None else _show(b)))
        return
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for k in [*a, *(k for k in b if k not in a)]:
            _doc_changes(f"{path}.{k}", a.get(k), b.get(k), out)
        return
    if isinstance(a, list) and isinstance(b, list):
        key = _item_key(a) if a else _item_key(b)
        if key is not None and (not b or _item_key(b) == key) and (not a or _item_key(a) == key):
            ia = {x[key]: x for x in a}
            ib = {x[key]: x for x in b}
            for name in [*ia, *(n for n in ib if n not in ia)]:
                _doc_changes(f"{path}[{name}]", ia.get(name), ib.get(name), out)
            common_a = [n for n in ia if n in ib]
            common_b = [n for n in ib if n in ia]
            if common_a != common_b:
                out.append(PolicyChange(f"{path} (order)", ", ".join(common_a), ", ".join(common_b)))
            return
    if type(a) is not type(b) or a != b:
        if _show(a) != _show(b) or type(a) is not type(b):
            out.append(PolicyChange(path, _show(a), _show(b)))


def diff_policies(old: Policy, new: Policy) -> PolicyDiff:
    """What changed from ``old`` to ``new``, each change at its document path, old -> new.

    Tiers (floors, windows, status bands, criteria), features and AUM classes
    first, then every other section of :data:`DIFF_SECTIONS` value by value:
    ``[value]`` (rates, formula expressions, matrix, scoring), ``[segments]``,
    ``[[campaigns]]``, ``[monitoring]`` and ``[transactions]``.  Tables of a
    list that have an ``id`` (or a ``name``) are matched by it, so a path reads
    ``campaigns[wake_dormant].cap.days`` and a reordering is one change.

    Examples
    --------
    >>> from custvalue import default_policy
    >>> old = default_policy()
    >>> print(diff_policies(old, old.with_tier("platinum", aum_floor=400000)))
    policy 'default' -> 'default (edited)': 1 change(s)
      tiers.platinum.aum_floor: 500000 -> 400000
    >>> doc = old.to_dict()
    >>> doc["transactions"]["rules"][0]["threshold"] = "80000"
    >>> doc["value"] = {"margins": {"deposits": "0.015"}, "formula": {"implicit_cost": "aum * 0.0005"}}
    >>> doc["name"] = "2027"
    >>> print(diff_policies(old, Policy.from_dict(doc)))  # doctest: +NORMALIZE_WHITESPACE
    policy 'default' -> '2027': 2 change(s)
      transactions.rules[large_single].threshold: 50000 -> 80000
      value: added {margins = {deposits = 0.015}, period = year, discount_rate = 0.08, retention = 1,
                    formula = {implicit_cost = aum * 0.0005},
                    markov = {months = 12, churn_columns = [deposits, wealth, investments, mortgage_loan,
                    credit_loan], churn_below = 0.01}}
    """
    changes: list[PolicyChange] = []
    if old.aum != new.aum:
        changes.append(PolicyChange("aum", ", ".join(old.aum), ", ".join(new.aum)))
    tiers_a = {t.id: t for t in old.tiers}
    tiers_b = {t.id: t for t in new.tiers}
    for tid in [*tiers_a, *(t for t in tiers_b if t not in tiers_a)]:
        a, b = tiers_a.get(tid), tiers_b.get(tid)
        if a is None or b is None:
            changes.append(
                PolicyChange(f"tiers.{tid}", None if a is None else "tier", None if b is None else "tier")
            )
            continue
        changes.extend(_tier_changes(tid, a, b))
    if old.tier_order != new.tier_order and set(old.tier_order) == set(new.tier_order):
        changes.append(PolicyChange("tiers", " > ".join(old.tier_order), " > ".join(new.tier_order)))
    feats_a = {f.name: f for f in old.features}
    feats_b = {f.name: f for f in new.features}
    for name in [*feats_a, *(f for f in feats_b if f not in feats_a)]:
        fa, fb = feats_a.get(name), feats_b.get(name)
        if fa != fb:

            def show(f: Any) -> str | None:
                if f is None:
                    return None
                extra = f" test {f.test}" if f.test else ""
                return f"{f.op} {f.column} window {f.window} lag {f.lag}{extra}"

            changes.append(PolicyChange(f"features.{name}", show(fa), show(fb)))
    doc_a, doc_b = old.to_dict(), new.to_dict()
    for section in DIFF_SECTIONS:
        _doc_changes(section, doc_a.get(section), doc_b.get(section), changes)
    return PolicyDiff(old, new, tuple(changes))
