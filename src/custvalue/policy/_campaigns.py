"""The ``[[campaigns]]`` section of a policy: marketing campaigns as rules (营销自动化).

A campaign selects customers with S-FEEL unary tests over the same inputs a
segment table may test (the tier result, the policy's features, the segment
features and segment labels; see :mod:`custvalue.policy._segments`), the
outputs of the policy's ``[value]`` section when it has one
(:func:`value_outputs`: margins, ``clv``, ``markov_clv``, ``aum_growth``, the
value formula's ``value`` and components, ``score`` and ``grade``; computed by
the run, only those a campaign tests) plus measures the caller supplies by
name (``measures``)::

    [[campaigns]]
    id = "wake_dormant"
    name = "Wake up dormant gold customers"
    name_zh = "沉睡客户唤醒"
    priority = 1                 # lower runs first; ties keep document order
    tiers = ["gold", "platinum"] # targets by tier (any of them)
    statuses = ["normal"]        # and by status (any of them)
    when = { activity = '"dormant"', aum = ">= 100000" }
    exclude = [ { status = '"attention"' } ]   # any matching exclusion removes the customer
    cap = { contacts = 1, days = 30, scope = "campaign" }
    exclusive = true             # a customer gets at most one exclusive campaign per run
    actions = ["call_rm"]

A customer is a **target** of a campaign when every ``when`` test holds, its
tier and status are listed (when lists are given), no ``exclude`` table
matches (exclusions win), its contact cap still has room, and — for an
exclusive campaign — no campaign run before it (by priority) took the
customer.  ``cap``: at most ``contacts`` contacts in the ``days`` days ending
on the run date, counting the contact history (``scope = "campaign"``: this
campaign's contacts; ``"all"``: every campaign's) and the contacts of this run.

This module parses, checks and writes the section; a run is
:func:`custvalue.analytics.run_campaigns`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import attrs

from ._schema import IDENT, STATUSES, PolicyError
from ._segments import Segments, Vocabulary, check_segments, check_tests
from ._value import FORMULA_COMPONENTS, ValueSpec

__all__ = [
    "CAP_SCOPES",
    "CampaignSpec",
    "ContactCap",
    "campaigns_list",
    "check_marketing",
    "parse_campaigns",
    "value_outputs",
]

#: Value measures a campaign may test whenever the policy has a ``[value]`` section.
VALUE_NUMBERS: Final[tuple[str, ...]] = ("monthly_margin", "annual_margin", "clv", "markov_clv", "aum_growth")

#: What a contact cap counts: this campaign's contacts or every campaign's.
CAP_SCOPES: Final[tuple[str, ...]] = ("campaign", "all")
_MAX_DAYS: Final = 3660
_FIELDS: Final = (
    "id",
    "name",
    "name_zh",
    "description",
    "priority",
    "tiers",
    "statuses",
    "when",
    "exclude",
    "cap",
    "exclusive",
    "enabled",
    "measures",
    "actions",
)


@attrs.frozen
class ContactCap:
    """At most ``contacts`` contacts per customer in the ``days`` days ending on the run date.

    Examples
    --------
    >>> ContactCap(2, 30).scope
    'campaign'
    """

    contacts: int
    days: int
    scope: str = "campaign"


@attrs.frozen
class CampaignSpec:
    """One campaign of a policy (see the module notes).

    ``priority`` orders campaigns (lower first; ``None`` after every numbered
    one; ties keep document order); ``measures`` are the names the caller
    supplies to :func:`~custvalue.analytics.run_campaigns`.
    """

    id: str
    name: str | None = None
    name_zh: str | None = None
    description: str | None = None
    priority: int | None = None
    tiers: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    when: tuple[tuple[str, str], ...] = ()
    exclude: tuple[tuple[tuple[str, str], ...], ...] = ()
    cap: ContactCap | None = None
    exclusive: bool = True
    enabled: bool = True
    measures: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()

    @property
    def inputs(self) -> tuple[str, ...]:
        """The names the campaign tests (``when``, exclusions, tier and status lists)."""
        seen: dict[str, None] = {}
        if self.tiers:
            seen["tier"] = None
        if self.statuses:
            seen["status"] = None
        for n, _ in self.when:
            seen.setdefault(n, None)
        for ex in self.exclude:
            for n, _ in ex:
                seen.setdefault(n, None)
        return tuple(seen)


def _err(path: str, message: str, source: str | None = None) -> PolicyError:
    return PolicyError(f"{path}: {message}", path=path, file=source)


def _text(v: Any, path: str, source: str | None, *, ident: bool = False) -> str:
    if not isinstance(v, str):
        raise _err(path, f"expected a string, got {type(v).__name__} {v!r}", source)
    if ident and not IDENT.match(v):
        raise _err(
            path, f"{v!r} is not an identifier (letters, digits, _; not starting with a digit)", source
        )
    return v


def _whole(v: Any, path: str, source: str | None, lo: int, hi: int) -> int:
    if isinstance(v, Decimal) and v == v.to_integral_value():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise _err(path, f"expected a whole number, got {v!r}", source)
    if not lo <= v <= hi:
        raise _err(path, f"must be in {lo}..{hi}, got {v}", source)
    return int(v)


def _names(v: Any, path: str, source: str | None) -> tuple[str, ...]:
    if not isinstance(v, list):
        raise _err(path, "expected a list of names", source)
    out = tuple(_text(x, f"{path}[{i}]", source, ident=True) for i, x in enumerate(v))
    for i, x in enumerate(out):
        if x in out[:i]:
            raise _err(f"{path}[{i}]", f"duplicate {x!r}", source)
    return out


def _when(v: Any, path: str, source: str | None) -> tuple[tuple[str, str], ...]:
    if not isinstance(v, Mapping) or not v:
        raise _err(path, "expected a non-empty table of input = S-FEEL test", source)
    return tuple((str(k), _text(t, f"{path}.{k}", source)) for k, t in v.items())


def _bool(v: Any, path: str, source: str | None) -> bool:
    if not isinstance(v, bool):
        raise _err(path, f"expected true or false, got {v!r}", source)
    return v


def _campaign(cd: Any, p: str, source: str | None) -> CampaignSpec:
    if not isinstance(cd, Mapping):
        raise _err(p, f"expected a table, got {type(cd).__name__}", source)
    for k in cd:
        if k not in _FIELDS:
            raise _err(f"{p}.{k}", f"unknown key; allowed: {', '.join(_FIELDS)}", source)
    if "id" not in cd:
        raise _err(f"{p}.id", "missing", source)
    cap = None
    if "cap" in cd:
        cp = f"{p}.cap"
        raw = cd["cap"]
        if not isinstance(raw, Mapping):
            raise _err(cp, "expected a table {contacts, days, scope}", source)
        for k in raw:
            if k not in ("contacts", "days", "scope"):
                raise _err(f"{cp}.{k}", "unknown key; allowed: contacts, days, scope", source)
        for k in ("contacts", "days"):
            if k not in raw:
                raise _err(f"{cp}.{k}", "missing", source)
        scope = _text(raw.get("scope", "campaign"), f"{cp}.scope", source)
        if scope not in CAP_SCOPES:
            raise _err(f"{cp}.scope", f"unknown scope {scope!r}; known: {', '.join(CAP_SCOPES)}", source)
        cap = ContactCap(
            contacts=_whole(raw["contacts"], f"{cp}.contacts", source, 0, 10_000),
            days=_whole(raw["days"], f"{cp}.days", source, 1, _MAX_DAYS),
            scope=scope,
        )
    excl_raw = cd.get("exclude", [])
    if not isinstance(excl_raw, list):
        raise _err(f"{p}.exclude", "expected a list of tables of input = S-FEEL test", source)

    def opt(key: str) -> str | None:
        return None if key not in cd else _text(cd[key], f"{p}.{key}", source)

    return CampaignSpec(
        id=_text(cd["id"], f"{p}.id", source, ident=True),
        name=opt("name"),
        name_zh=opt("name_zh"),
        description=opt("description"),
        priority=None if "priority" not in cd else _whole(cd["priority"], f"{p}.priority", source, 0, 10**6),
        tiers=_names(cd["tiers"], f"{p}.tiers", source) if "tiers" in cd else (),
        statuses=_names(cd["statuses"], f"{p}.statuses", source) if "statuses" in cd else (),
        when=_when(cd["when"], f"{p}.when", source) if "when" in cd else (),
        exclude=tuple(_when(e, f"{p}.exclude[{i}]", source) for i, e in enumerate(excl_raw)),
        cap=cap,
        exclusive=_bool(cd.get("exclusive", True), f"{p}.exclusive", source),
        enabled=_bool(cd.get("enabled", True), f"{p}.enabled", source),
        measures=_names(cd["measures"], f"{p}.measures", source) if "measures" in cd else (),
        actions=_names(cd["actions"], f"{p}.actions", source) if "actions" in cd else (),
    )


def parse_campaigns(raw: Any, source: str | None = None) -> tuple[CampaignSpec, ...]:
    """Parse a ``campaigns`` list (inputs, tiers and statuses are checked with the whole policy).

    Examples
    --------
    >>> c = parse_campaigns([{"id": "vip", "tiers": ["core"], "cap": {"contacts": 1, "days": 30}}])
    >>> c[0].cap, c[0].exclusive
    (ContactCap(contacts=1, days=30, scope='campaign'), True)
    >>> parse_campaigns([{"id": "x", "cap": {"contacts": 1}}])
    Traceback (most recent call last):
    ...
    custvalue.policy.PolicyError: campaigns[0].cap.days: missing ...
    """
    if not isinstance(raw, list):
        raise _err("campaigns", "expected a list of campaigns ([[campaigns]])", source)
    out: list[CampaignSpec] = []
    for i, cd in enumerate(raw):
        c = _campaign(cd, f"campaigns[{i}]", source)
        if any(o.id == c.id for o in out):
            raise _err(f"campaigns[{i}].id", f"duplicate campaign id {c.id!r}", source)
        out.append(c)
    return tuple(out)


def value_outputs(value: ValueSpec | None) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """The ``[value]`` outputs a campaign may test without declaring them: ``(numbers, categories)``.

    Numbers: the margins, ``clv``, ``markov_clv`` and ``aum_growth``; with a
    value formula ``value`` and its four components; with a scoring grade
    ``score``.  Categories: ``grade`` (the grade ids) with grade bands.
    Nothing without a ``[value]`` section.  (``sales`` and the section's
    ``inputs`` need data from the caller: declare them in ``measures``.)

    Examples
    --------
    >>> from custvalue.policy import ValueSpec
    >>> value_outputs(ValueSpec(margins=(("deposits", Decimal("0.015")),)))[0]
    ('monthly_margin', 'annual_margin', 'clv', 'markov_clv', 'aum_growth')
    >>> value_outputs(None)
    ((), {})
    """
    if value is None:
        return (), {}
    numbers = list(VALUE_NUMBERS)
    cats: dict[str, tuple[str, ...]] = {}
    if any(not c.empty for c in value.formula):
        numbers += ["value", *FORMULA_COMPONENTS]
    if value.scoring is not None:
        numbers.append("score")
        if value.scoring.grades:
            cats["grade"] = tuple(g.id for g in value.scoring.grades)
    return tuple(numbers), cats


def _with_value(vocab: Vocabulary, value: ValueSpec | None) -> Vocabulary:
    """``vocab`` and the value outputs (an input of the same name keeps its meaning)."""
    numbers, cats = value_outputs(value)
    taken = set(vocab.numbers) | set(vocab.categories)
    out = vocab.with_numbers(n for n in numbers if n not in taken)
    for name, values in cats.items():
        if name not in taken:
            out = out.with_categories(name, values)
    return out


def check_marketing(
    tier_order: Sequence[str],
    policy_features: Sequence[tuple[str, bool]],
    segments: Segments | None,
    campaigns: Sequence[CampaignSpec],
    source: str | None = None,
    *,
    value: ValueSpec | None = None,
) -> None:
    """Check segment tables and campaigns against the policy: inputs, tiers, statuses, labels.

    ``policy_features`` are the policy's ``[features]`` as ``(name, is_card_level)``;
    ``value`` the policy's ``[value]`` section, whose outputs campaigns may
    test (:func:`value_outputs`).

    Raises
    ------
    PolicyError
        Naming the document path (``campaigns[1].tiers[0]``, ``segments.tables[0].rules[2].when.x``).
    """
    if segments is not None:
        names = {n for n, _ in policy_features}
        for f in segments.features:
            if f.name in names:
                raise _err(f"segments.features.{f.name}", "name is taken by a policy feature", source)
    vocab = Vocabulary.base(tier_order, policy_features, segments)
    if segments is not None:
        vocab = check_segments(segments, vocab, source)
    with_value = _with_value(vocab, value)
    for i, c in enumerate(campaigns):
        p = f"campaigns[{i}]"
        for j, t in enumerate(c.tiers):
            if t not in tier_order:
                raise _err(f"{p}.tiers[{j}]", f"unknown tier {t!r}; tiers: {', '.join(tier_order)}", source)
        for j, s in enumerate(c.statuses):
            if s not in STATUSES:
                raise _err(
                    f"{p}.statuses[{j}]", f"unknown status {s!r}; statuses: {', '.join(STATUSES)}", source
                )
        v = vocab
        for j, m in enumerate(c.measures):
            if m in vocab.numbers or m in vocab.categories:
                raise _err(
                    f"{p}.measures[{j}]", f"{m!r} is already an input; measures are supplied names", source
                )
        v = with_value.with_numbers(c.measures)
        check_tests(c.when, v, f"{p}.when", source)
        for j, ex in enumerate(c.exclude):
            check_tests(ex, v, f"{p}.exclude[{j}]", source)


def campaigns_list(campaigns: Sequence[CampaignSpec]) -> list[dict[str, Any]]:
    """The ``campaigns`` list of a document (inverse of :func:`parse_campaigns`).

    >>> campaigns_list(parse_campaigns([{"id": "a", "tiers": ["gold"], "exclusive": False}]))
    [{'id': 'a', 'tiers': ['gold'], 'exclusive': False}]
    """
    out: list[dict[str, Any]] = []
    for c in campaigns:
        d: dict[str, Any] = {"id": c.id}
        for k in ("name", "name_zh", "description", "priority"):
            v = getattr(c, k)
            if v is not None:
                d[k] = v
        for k in ("tiers", "statuses"):
            if getattr(c, k):
                d[k] = list(getattr(c, k))
        if c.when:
            d["when"] = dict(c.when)
        if c.exclude:
            d["exclude"] = [dict(e) for e in c.exclude]
        if c.cap is not None:
            d["cap"] = {"contacts": c.cap.contacts, "days": c.cap.days, "scope": c.cap.scope}
        if not c.exclusive:
            d["exclusive"] = False
        if not c.enabled:
            d["enabled"] = False
        for k in ("measures", "actions"):
            if getattr(c, k):
                d[k] = list(getattr(c, k))
        out.append(d)
    return out
