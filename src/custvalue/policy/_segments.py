"""The ``[segments]`` section of a policy: activity and lifecycle stages as decision tables.

A policy may carry **segment features** (named inputs computed from the
portfolio: months since the last balance change, number of changes in the
last N months, tenure, AUM growth, and — when a transaction list is given —
months since the last transaction and transactions per period) and
**segment tables**: decision tables (hit policy FIRST by default) whose rules
test those features, the tier result (``tier``, ``status``, ``movement``,
...), the policy's own ``[features]`` and the outputs of earlier segment
tables, each rule giving one output label::

    [segments.features]
    months_since_change = { op = "since_change", lookback = 24, min_change = 1000 }
    changes_6m = { op = "changes", months = 6, min_change = 1000 }

    [[segments.tables]]
    name = "activity"
    default = "dormant"
    rules = [
      { id = "recent_change", when = { months_since_change = "<= 2" }, output = "active" },
    ]

Feature operations (amounts in the policy's unit):

``since_change``
    trailing months without a balance change, ending at the as-of month
    (0: the balances changed in the as-of month), at most ``lookback``
    (default 24).  Month ``j`` *changed* when any of ``columns`` (default:
    the policy's AUM classes) moved by at least ``min_change`` (default one
    fen) from month ``j - 1``.  A customer's first month changed when its
    balances differ from zero by that much; the portfolio's first month has
    no month before it and never counts as a change (nor as "unchanged": the
    run stops there, so a run that reaches it is a lower bound; at the
    portfolio's first month the feature is null).
``changes``
    the number of changed months among the last ``months`` months (the
    as-of month and the ``months - 1`` before it; null at the portfolio's first month).
``tenure``
    whole months from the start of the relationship (the portfolio's
    ``opened`` date when known, else the customer's first month with data)
    to the as-of month.
``growth``, ``growth_pct``
    AUM (or ``column``) at the as-of month minus ``months`` months before, in
    the policy's unit or in percent (null when the earlier month is not in
    the customer's history, and for the percentage also when it was 0).
``since_transaction``, ``transactions``
    months since the month of the customer's last transaction (at most
    ``lookback``, which also stands for "none in that time"), and the number
    of transactions in the last ``months`` months; null when no transaction
    list is given, so rules on them do not fire.

This module only parses, checks and writes the section back out; the
evaluation (vectorised, through :func:`custvalue.rules.compile_table`) is
:func:`custvalue.analytics.segment`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import attrs

from ..portfolio import CARD_LEVELS, MONEY_COLUMNS
from ..rules import FeelSyntaxError, HitPolicy, evaluate_expression, parse_unary_tests
from ..rules import tests_names as names_in_tests  # (not ``test*``: pytest would collect it)
from ..rules.ast import CompareTest, EqualTest, IntervalTest, UnaryTests
from ._schema import IDENT, STATUSES, PolicyError

__all__ = [
    "MOVEMENT_NAMES",
    "SEGMENT_BUILTINS",
    "SEGMENT_FEATURE_OPS",
    "SegmentFeature",
    "SegmentRule",
    "SegmentTable",
    "Segments",
    "Vocabulary",
    "check_segments",
    "check_tests",
    "parse_segments",
    "segments_dict",
]

#: Operations of segment features (see the module notes).
SEGMENT_FEATURE_OPS: Final[tuple[str, ...]] = (
    "since_change",
    "changes",
    "tenure",
    "growth",
    "growth_pct",
    "since_transaction",
    "transactions",
)
#: Inputs every segment table and campaign may test, from the tier result at the as-of month.
SEGMENT_BUILTINS: Final[tuple[str, ...]] = (
    "tier",
    "status",
    "movement",
    "previous_tier",
    "churned_tier",
    "months_below",
    "aum",
)
#: Movement names of a tier result (the same as :data:`custvalue.tiering.MOVEMENTS`).
MOVEMENT_NAMES: Final[tuple[str, ...]] = ("new", "up", "down", "same")
_TIER_INPUTS: Final = ("tier", "previous_tier", "churned_tier")
_PARAMS: Final[dict[str, tuple[str, ...]]] = {
    "since_change": ("lookback", "columns", "min_change"),
    "changes": ("months", "columns", "min_change"),
    "tenure": (),
    "growth": ("months", "column"),
    "growth_pct": ("months", "column"),
    "since_transaction": ("lookback",),
    "transactions": ("months",),
}
_NEEDS_MONTHS: Final = ("changes", "growth", "growth_pct", "transactions")
#: Longest window or lookback (months): a century, like a portfolio's month axis.
_MAX_MONTHS: Final = 1200


@attrs.frozen
class SegmentFeature:
    """A segment feature: a named input computed from the portfolio (see the module notes).

    Examples
    --------
    >>> SegmentFeature("changes_6m", "changes", months=6).op
    'changes'
    """

    name: str
    op: str
    months: int | None = None
    lookback: int | None = None
    columns: tuple[str, ...] | None = None
    column: str | None = None
    min_change: Decimal | None = None
    description: str | None = None

    @property
    def lookback_months(self) -> int:
        """The lookback of ``since_*`` features (24 when not given)."""
        return 24 if self.lookback is None else self.lookback


@attrs.frozen
class SegmentRule:
    """One rule of a segment table: every ``when`` test holds -> ``output``."""

    id: str
    when: tuple[tuple[str, str], ...]
    output: str
    description: str | None = None


@attrs.frozen
class SegmentTable:
    """A segment decision table: rules in order, a hit policy and a default label.

    ``labels_zh`` gives Chinese labels of the outputs for reports.
    """

    name: str
    rules: tuple[SegmentRule, ...]
    hit_policy: str = "FIRST"
    default: str | None = None
    labels_zh: tuple[tuple[str, str], ...] = ()
    description: str | None = None

    @property
    def outputs(self) -> tuple[str, ...]:
        """The distinct output labels, in rule order, then the default."""
        seen: dict[str, None] = {}
        for r in self.rules:
            seen.setdefault(r.output, None)
        if self.default is not None:
            seen.setdefault(self.default, None)
        return tuple(seen)

    @property
    def inputs(self) -> tuple[str, ...]:
        """The names the rules test, in first-use order."""
        seen: dict[str, None] = {}
        for r in self.rules:
            for name, _ in r.when:
                seen.setdefault(name, None)
        return tuple(seen)


@attrs.frozen
class Segments:
    """The ``[segments]`` section: features and tables (evaluated in order)."""

    features: tuple[SegmentFeature, ...] = ()
    tables: tuple[SegmentTable, ...] = ()

    def feature(self, name: str) -> SegmentFeature:
        """The segment feature called ``name``."""
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(f"no segment feature {name!r}")

    def table(self, name: str) -> SegmentTable:
        """The segment table called ``name``."""
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(f"no segment table {name!r}; tables: {', '.join(t.name for t in self.tables)}")


# --------------------------------------------------------------------------- vocabulary


@attrs.frozen
class Vocabulary:
    """What a segment table or campaign may test: names, their kind and their categories.

    ``categories`` maps a categorical name to its values (for tier-valued and
    card-level names lowest first, ordered); every other known name is a number.
    """

    numbers: frozenset[str]
    categories: Mapping[str, tuple[str, ...]]
    ordered: frozenset[str]

    def known(self) -> tuple[str, ...]:
        """Every known name, sorted."""
        return tuple(sorted(self.numbers | set(self.categories)))

    def with_categories(self, name: str, values: Iterable[str]) -> Vocabulary:
        """A copy that also knows ``name`` with unordered categories ``values``."""
        cats = dict(self.categories)
        cats[name] = tuple(values)
        return attrs.evolve(self, categories=cats)

    def with_numbers(self, names: Iterable[str]) -> Vocabulary:
        """A copy that also knows the numbers ``names``."""
        return attrs.evolve(self, numbers=self.numbers | frozenset(names))

    @classmethod
    def base(
        cls,
        tier_order: Sequence[str],
        policy_features: Iterable[tuple[str, bool]],
        segments: Segments | None,
    ) -> Vocabulary:
        """Builtins, the policy's features (``(name, is_card_level)``) and the segment features."""
        lowest_first = tuple(reversed(tuple(tier_order)))
        cats: dict[str, tuple[str, ...]] = {n: lowest_first for n in _TIER_INPUTS}
        cats["status"] = STATUSES
        cats["movement"] = MOVEMENT_NAMES
        numbers = {"months_below", "aum"}
        ordered = set(_TIER_INPUTS)
        for name, is_card in policy_features:
            if is_card:
                cats[name] = CARD_LEVELS
                ordered.add(name)
            else:
                numbers.add(name)
        if segments is not None:
            numbers.update(f.name for f in segments.features)
        return cls(frozenset(numbers), cats, frozenset(ordered))


def _err(path: str, message: str, source: str | None = None) -> PolicyError:
    return PolicyError(f"{path}: {message}", path=path, file=source)


def check_tests(
    when: Iterable[tuple[str, str]], vocab: Vocabulary, path: str, source: str | None = None
) -> None:
    """Check ``(name, S-FEEL unary test)`` pairs against a vocabulary; errors name ``path.name``.

    A test must parse, must not name other values, and must compare like with
    like: numbers for numeric inputs, known labels for categorical ones
    (comparisons and intervals only on ordered ones: tiers and card levels).

    Examples
    --------
    >>> v = Vocabulary.base(("core", "gold", "potential"), (), None)
    >>> check_tests([("tier", '>= "gold"'), ("aum", ">= 1000")], v, "x.when")
    >>> check_tests([("tier", '"silver"')], v, "x.when")
    Traceback (most recent call last):
    ...
    custvalue.policy.PolicyError: x.when.tier: unknown value 'silver'; known: potential, gold, core ...
    """
    for name, text in when:
        p = f"{path}.{name}"
        if name not in vocab.numbers and name not in vocab.categories:
            raise _err(p, f"unknown input; known: {', '.join(vocab.known())}", source)
        if not isinstance(text, str):
            raise _err(p, f"expected an S-FEEL test string, got {type(text).__name__} {text!r}", source)
        try:
            ut = parse_unary_tests(text)
        except FeelSyntaxError as exc:
            raise _err(p, f"invalid S-FEEL test {text!r}: {exc}", source) from None
        if names_in_tests(ut):
            raise _err(p, f"test {text!r} names other values; write literals", source)
        _check_literals(ut, name, vocab, p, source)


def _check_literals(ut: UnaryTests, name: str, vocab: Vocabulary, p: str, source: str | None) -> None:
    cats = vocab.categories.get(name)
    for t in ut.tests:
        if not isinstance(t, CompareTest | EqualTest | IntervalTest):
            raise _err(
                p, f"write comparisons, intervals or values, not the expression {t.to_feel()!r}", source
            )
        ends = (t.low, t.high) if isinstance(t, IntervalTest) else (t.endpoint,)
        if cats is not None and not isinstance(t, EqualTest) and name not in vocab.ordered:
            raise _err(p, f"{name} has no order: test it with labels, not comparisons", source)
        for e in ends:
            v = evaluate_expression(e, {})
            if cats is not None:
                if v is None and isinstance(t, EqualTest):
                    continue  # null: no tier, no label
                if not isinstance(v, str):
                    raise _err(p, f"{name} is a label; write a quoted label, not {v!r}", source)
                if v not in cats:
                    raise _err(p, f"unknown value {v!r}; known: {', '.join(cats)}", source)
            elif v is not None and not isinstance(v, Decimal):
                raise _err(p, f"{name} is a number; got {v!r}", source)


# --------------------------------------------------------------------------- parse


def _text(v: Any, path: str, source: str | None, *, ident: bool = False) -> str:
    if not isinstance(v, str):
        raise _err(path, f"expected a string, got {type(v).__name__} {v!r}", source)
    if ident and not IDENT.match(v):
        raise _err(
            path, f"{v!r} is not an identifier (letters, digits, _; not starting with a digit)", source
        )
    return v


def _keys(d: Any, allowed: Sequence[str], required: Sequence[str], path: str, source: str | None) -> None:
    if not isinstance(d, Mapping):
        raise _err(path, f"expected a table, got {type(d).__name__}", source)
    for k in d:
        if k not in allowed:
            raise _err(f"{path}.{k}", f"unknown key; allowed: {', '.join(allowed)}", source)
    for k in required:
        if k not in d:
            raise _err(f"{path}.{k}", "missing", source)


def _whole(v: Any, path: str, source: str | None, lo: int, hi: int) -> int:
    if isinstance(v, Decimal) and v == v.to_integral_value():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise _err(path, f"expected a whole number, got {v!r}", source)
    if not lo <= v <= hi:
        raise _err(path, f"must be in {lo}..{hi}, got {v}", source)
    return int(v)


def _amount(v: Any, path: str, source: str | None) -> Decimal:
    if isinstance(v, bool) or isinstance(v, float):
        raise _err(path, f"{v!r} is not an exact amount; write a decimal string", source)
    try:
        d = Decimal(v.strip()) if isinstance(v, str) else Decimal(v) if isinstance(v, int | Decimal) else None
    except ArithmeticError:
        d = None
    if d is None or not d.is_finite():
        raise _err(path, f"{v!r} is not a decimal amount", source)
    exp = d.as_tuple().exponent
    if d <= 0 or d.adjusted() > 16 or (isinstance(exp, int) and exp < -2):
        raise _err(path, f"must be a positive amount below 10**17 with at most 2 decimals, got {v!r}", source)
    return d


def _when(v: Any, path: str, source: str | None) -> tuple[tuple[str, str], ...]:
    if not isinstance(v, Mapping) or not v:
        raise _err(path, "expected a non-empty table of input = S-FEEL test", source)
    return tuple((str(k), _text(t, f"{path}.{k}", source)) for k, t in v.items())


def _feature(name: str, fd: Any, path: str, source: str | None) -> SegmentFeature:
    if not IDENT.match(name):
        raise _err(path, f"{name!r} is not an identifier", source)
    _keys(
        fd, ("op", *sorted({k for ks in _PARAMS.values() for k in ks}), "description"), ("op",), path, source
    )
    op = _text(fd["op"], f"{path}.op", source)
    if op not in SEGMENT_FEATURE_OPS:
        raise _err(f"{path}.op", f"unknown op {op!r}; known: {', '.join(SEGMENT_FEATURE_OPS)}", source)
    for k in fd:
        if k not in ("op", "description") and k not in _PARAMS[op]:
            allowed = ", ".join(_PARAMS[op]) or "no parameters"
            raise _err(f"{path}.{k}", f"op {op} takes {allowed}", source)
    if op in _NEEDS_MONTHS and "months" not in fd:
        raise _err(f"{path}.months", f"op {op} needs months", source)
    months = None if "months" not in fd else _whole(fd["months"], f"{path}.months", source, 1, _MAX_MONTHS)
    lookback = (
        None if "lookback" not in fd else _whole(fd["lookback"], f"{path}.lookback", source, 1, _MAX_MONTHS)
    )
    columns = None
    if "columns" in fd:
        raw = fd["columns"]
        if not isinstance(raw, list) or not raw:
            raise _err(f"{path}.columns", "expected a non-empty list of balance columns", source)
        columns = tuple(_text(c, f"{path}.columns[{i}]", source) for i, c in enumerate(raw))
        for i, c in enumerate(columns):
            if c not in MONEY_COLUMNS:
                raise _err(
                    f"{path}.columns[{i}]", f"unknown column {c!r}; known: {', '.join(MONEY_COLUMNS)}", source
                )
    column = None
    if "column" in fd:
        column = _text(fd["column"], f"{path}.column", source)
        if column not in (*MONEY_COLUMNS, "aum"):
            raise _err(
                f"{path}.column", f"unknown column {column!r}; known: aum, {', '.join(MONEY_COLUMNS)}", source
            )
    min_change = None if "min_change" not in fd else _amount(fd["min_change"], f"{path}.min_change", source)
    desc = fd.get("description")
    return SegmentFeature(
        name=name,
        op=op,
        months=months,
        lookback=lookback,
        columns=columns,
        column=column,
        min_change=min_change,
        description=None if desc is None else _text(desc, f"{path}.description", source),
    )


def _table(td: Any, path: str, source: str | None) -> SegmentTable:
    _keys(
        td,
        ("name", "hit_policy", "default", "labels_zh", "description", "rules"),
        ("name", "rules"),
        path,
        source,
    )
    name = _text(td["name"], f"{path}.name", source, ident=True)
    hp = _text(td.get("hit_policy", "FIRST"), f"{path}.hit_policy", source)
    try:
        hit = HitPolicy.parse(hp)
    except ValueError:
        hit = None
    if hit is None or not hit.single_hit:
        raise _err(
            f"{path}.hit_policy",
            f"{hp!r}: a segment table has one label per customer; use FIRST, UNIQUE, PRIORITY or ANY",
            source,
        )
    rules_raw = td["rules"]
    if not isinstance(rules_raw, list) or not rules_raw:
        raise _err(f"{path}.rules", "expected a non-empty list of rules", source)
    rules: list[SegmentRule] = []
    seen: set[str] = set()
    for j, rd in enumerate(rules_raw):
        rp = f"{path}.rules[{j}]"
        _keys(rd, ("id", "when", "output", "description"), ("id", "when", "output"), rp, source)
        rid = _text(rd["id"], f"{rp}.id", source, ident=True)
        if rid in seen:
            raise _err(f"{rp}.id", f"duplicate rule id {rid!r}", source)
        seen.add(rid)
        when = rd["when"]
        if not isinstance(when, Mapping):
            raise _err(f"{rp}.when", "expected a table of input = S-FEEL test ({} matches everyone)", source)
        desc = rd.get("description")
        rules.append(
            SegmentRule(
                id=rid,
                when=tuple((str(k), _text(t, f"{rp}.when.{k}", source)) for k, t in when.items()),
                output=_text(rd["output"], f"{rp}.output", source, ident=True),
                description=None if desc is None else _text(desc, f"{rp}.description", source),
            )
        )
    default = None if "default" not in td else _text(td["default"], f"{path}.default", source, ident=True)
    labels_raw = td.get("labels_zh", {})
    if not isinstance(labels_raw, Mapping):
        raise _err(f"{path}.labels_zh", "expected a table of label = Chinese label", source)
    labels = tuple((str(k), _text(v, f"{path}.labels_zh.{k}", source)) for k, v in labels_raw.items())
    desc = td.get("description")
    table = SegmentTable(
        name=name,
        rules=tuple(rules),
        hit_policy=hit.value,
        default=default,
        labels_zh=labels,
        description=None if desc is None else _text(desc, f"{path}.description", source),
    )
    for k, _ in labels:
        if k not in table.outputs:
            raise _err(
                f"{path}.labels_zh.{k}",
                f"not an output of table {name!r}; outputs: {', '.join(table.outputs)}",
                source,
            )
    return table


def parse_segments(raw: Any, source: str | None = None) -> Segments:
    """Parse a ``segments`` table: ``{"features": {...}, "tables": [...]}`` (inputs are checked later).

    Raises
    ------
    PolicyError
        With the document path of the problem (``segments.tables[0].rules[1].output``).

    Examples
    --------
    >>> s = parse_segments({"features": {"quiet": {"op": "since_change"}},
    ...     "tables": [{"name": "activity", "default": "dormant",
    ...                 "rules": [{"id": "a", "when": {"quiet": "<= 2"}, "output": "active"}]}]})
    >>> s.tables[0].outputs, s.features[0].lookback_months
    (('active', 'dormant'), 24)
    >>> parse_segments({"features": {"x": {"op": "changes"}}})
    Traceback (most recent call last):
    ...
    custvalue.policy.PolicyError: segments.features.x.months: op changes needs months ...
    """
    _keys(raw, ("features", "tables"), (), "segments", source)
    feats_raw = raw.get("features", {})
    if not isinstance(feats_raw, Mapping):
        raise _err("segments.features", "expected a table of named features", source)
    features = tuple(_feature(str(k), v, f"segments.features.{k}", source) for k, v in feats_raw.items())
    tables_raw = raw.get("tables", [])
    if not isinstance(tables_raw, list):
        raise _err("segments.tables", "expected a list of tables", source)
    tables = tuple(_table(td, f"segments.tables[{i}]", source) for i, td in enumerate(tables_raw))
    return Segments(features, tables)


def check_segments(segments: Segments, vocab: Vocabulary, source: str | None = None) -> Vocabulary:
    """Check the tables' inputs (each may also test earlier tables' outputs); the extended vocabulary.

    Names must be unique across builtins, features and table names.
    """
    for f in segments.features:
        if f.name in vocab.categories or f.name in ("months_below", "aum"):
            raise _err(f"segments.features.{f.name}", "name is taken by a builtin input", source)
    v = vocab
    for i, t in enumerate(segments.tables):
        p = f"segments.tables[{i}]"
        if t.name in v.numbers or t.name in v.categories:
            raise _err(f"{p}.name", f"{t.name!r} is already an input name", source)
        for j, r in enumerate(t.rules):
            check_tests(r.when, v, f"{p}.rules[{j}].when", source)
        v = v.with_categories(t.name, t.outputs)
    return v


def segments_dict(segments: Segments) -> dict[str, Any]:
    """The ``segments`` table of a document (inverse of :func:`parse_segments`).

    >>> s = parse_segments({"tables": [{"name": "t", "rules": [
    ...     {"id": "r", "when": {"aum": ">= 1"}, "output": "rich"}]}]})
    >>> segments_dict(s)["tables"]
    [{'name': 't', 'rules': [{'id': 'r', 'when': {'aum': '>= 1'}, 'output': 'rich'}]}]
    """
    feats: dict[str, Any] = {}
    for f in segments.features:
        d: dict[str, Any] = {"op": f.op}
        for k in ("months", "lookback", "column", "min_change", "description"):
            v = getattr(f, k)
            if v is not None:
                d[k] = v
        if f.columns is not None:
            d["columns"] = list(f.columns)
        feats[f.name] = d
    tables: list[dict[str, Any]] = []
    for t in segments.tables:
        td: dict[str, Any] = {"name": t.name}
        if t.hit_policy != "FIRST":
            td["hit_policy"] = t.hit_policy
        if t.default is not None:
            td["default"] = t.default
        if t.labels_zh:
            td["labels_zh"] = dict(t.labels_zh)
        if t.description is not None:
            td["description"] = t.description
        rules = []
        for r in t.rules:
            rd: dict[str, Any] = {"id": r.id, "when": dict(r.when), "output": r.output}
            if r.description is not None:
                rd["description"] = r.description
            rules.append(rd)
        td["rules"] = rules
        tables.append(td)
    return {"features": feats, "tables": tables}
