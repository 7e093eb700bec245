"""Policy documents: tier policies as plain data.

A policy is a plain ``dict`` (loaded from JSON or TOML) that is validated on
load into immutable objects and written back out exactly.  Documents are data
only: they name features, thresholds and S-FEEL tests; nothing in them is ever
executed as code.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

import attrs

from .._atomic import atomic_write
from .._optional import import_optional
from ..portfolio import MONEY_COLUMNS
from ._campaigns import CampaignSpec, campaigns_list, check_marketing, parse_campaigns
from ._checks import check_policy
from ._monitoring import AlertSpec, monitoring_dict, parse_monitoring
from ._schema import (
    EVENT_TYPES,
    IDENT,
    SCHEMA,
    PolicyError,
)
from ._segments import Segments, parse_segments, segments_dict
from ._specs import Criterion, EventSpec, FeatureSpec, StatusBand, TierSpec
from ._transactions import TransactionRule, parse_transaction_rules, transaction_rules_dict
from ._value import ValueSpec, check_value, parse_value, value_dict

__all__ = ["Policy", "load_policy"]


def _err(path: str, message: str, source: str | None = None) -> PolicyError:
    return PolicyError(f"{path}: {message}" if path else message, path=path or None, file=source)


# --------------------------------------------------------------------------- model


@attrs.frozen(repr=False)
class Policy:
    """A validated, immutable tier policy.

    Build it with :func:`load_policy`, :meth:`from_dict` or
    :func:`custvalue.default_policy`; change it with :meth:`with_tier` or
    :func:`attrs.evolve`; write it out with :meth:`to_dict`, :meth:`to_json`
    or :meth:`to_toml`.

    Examples
    --------
    >>> from custvalue import default_policy
    >>> p = default_policy()
    >>> p.tier_order
    ('core', 'growth', 'platinum', 'gold', 'potential')
    >>> p.tier("platinum").aum_floor, p.tier("platinum").window
    (Decimal('500000'), 6)
    >>> Policy.from_dict(p.to_dict()) == p
    True
    """

    name: str
    tiers: tuple[TierSpec, ...]
    features: tuple[FeatureSpec, ...] = ()
    events: tuple[EventSpec, ...] = ()
    aum: tuple[str, ...] = ("deposits", "wealth", "investments")
    amount_unit: str = "yuan"
    minimum_allocation_tier: str | None = None
    title: str | None = None
    title_zh: str | None = None
    monitoring: tuple[AlertSpec, ...] = ()
    transactions: tuple[TransactionRule, ...] = ()
    value: ValueSpec | None = None
    segments: Segments | None = None
    campaigns: tuple[CampaignSpec, ...] = ()

    def __attrs_post_init__(self) -> None:
        _validate(self, "")

    # ---------------------------------------------------------------- access
    @property
    def tier_order(self) -> tuple[str, ...]:
        """Tier ids, highest first."""
        return tuple(t.id for t in self.tiers)

    def tier(self, tier_id: str) -> TierSpec:
        """The tier called ``tier_id``."""
        for t in self.tiers:
            if t.id == tier_id:
                return t
        raise KeyError(f"policy {self.name!r} has no tier {tier_id!r}; tiers: {', '.join(self.tier_order)}")

    def feature(self, name: str) -> FeatureSpec:
        """The feature called ``name``."""
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(f"policy {self.name!r} has no feature {name!r}")

    def actions(self, event: str) -> tuple[str, ...]:
        """Action codes of an event type (empty when the policy names none)."""
        for e in self.events:
            if e.name == event:
                return e.actions
        if event not in EVENT_TYPES:
            raise KeyError(f"unknown event type {event!r}; known: {', '.join(EVENT_TYPES)}")
        return ()

    @property
    def input_columns(self) -> tuple[str, ...]:
        """The portfolio columns an evaluation of this policy reads (AUM classes, feature columns).

        A balances file needs only these (and the id and month columns):
        ``read_balances(path, policy=p)``.

        >>> from custvalue import default_policy
        >>> default_policy().with_tier("core", aum_floor=Decimal("10000000")).input_columns[:3]
        ('deposits', 'wealth', 'investments')
        """
        used = set(self.aum) | {f.column for f in self.features if f.column != "aum"}
        return tuple(c for c in (*MONEY_COLUMNS, "card_level") if c in used)

    @property
    def scale(self) -> int:
        """Fen per policy amount unit (100 for yuan, 1 for fen)."""
        return 100 if self.amount_unit == "yuan" else 1

    # ---------------------------------------------------------------- change
    def with_tier(self, tier_id: str, **changes: Any) -> Policy:
        """A copy with one tier's fields changed (validated again).

        A policy that changes is named ``"<name> (edited)"`` (once), so that
        comparisons (:func:`~custvalue.what_if`, ``policy diff``) tell the two
        apart; rename it with ``attrs.evolve(p, name=...)``.

        >>> from custvalue import default_policy
        >>> p = default_policy().with_tier("platinum", aum_floor=Decimal("400000"))
        >>> p.tier("platinum").aum_floor, p.name
        (Decimal('400000'), 'default (edited)')
        """
        self.tier(tier_id)
        if "aum_floor" in changes and changes["aum_floor"] is not None:
            changes["aum_floor"] = _decimal(changes["aum_floor"], f"tiers[{tier_id}].aum_floor")
        tiers = tuple(attrs.evolve(t, **changes) if t.id == tier_id else t for t in self.tiers)
        if tiers == self.tiers:
            return self
        return attrs.evolve(self, tiers=tiers, name=edited_name(self.name))

    # ------------------------------------------------------------ serialise
    def to_dict(self) -> dict[str, Any]:
        """The policy as a plain document (JSON/TOML-ready; amounts are :class:`~decimal.Decimal`)."""
        d: dict[str, Any] = {"schema": SCHEMA, "name": self.name}
        _put(d, "title", self.title)
        _put(d, "title_zh", self.title_zh)
        d["amount_unit"] = self.amount_unit
        d["aum"] = list(self.aum)
        _put(d, "minimum_allocation_tier", self.minimum_allocation_tier)
        d["features"] = {f.name: _feature_dict(f) for f in self.features}
        d["tiers"] = [_tier_dict(t) for t in self.tiers]
        d["events"] = {e.name: _event_dict(e) for e in self.events}
        if self.monitoring:
            d["monitoring"] = monitoring_dict(self.monitoring)
        if self.transactions:
            d["transactions"] = transaction_rules_dict(self.transactions)
        if self.value is not None:
            d["value"] = value_dict(self.value)
        if self.segments is not None:
            d["segments"] = segments_dict(self.segments)
        if self.campaigns:
            d["campaigns"] = campaigns_list(self.campaigns)
        return d

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], *, source: str | None = None) -> Policy:
        """Validate a plain document into a policy; errors carry the document path."""
        return _parse(doc, source)

    def to_json(self, *, indent: int | None = 2) -> str:
        """JSON text; amounts are written as exact JSON numbers."""
        return _dump_json(self.to_dict(), indent)

    def to_toml(self) -> str:
        """TOML text (needs the ``toml`` extra: ``pip install 'custvalue[toml]'``)."""
        tomli_w = import_optional("tomli_w", extra="toml", feature="TOML export")
        text: str = tomli_w.dumps(self.to_dict(), multiline_strings=False)
        return text

    def dump(self, path: str | Path, *, format: str | None = None) -> None:
        """Write the policy to ``path`` (``.json`` or ``.toml``) atomically.

        The file is written completely or left as it was, and keeps its
        permissions (see :func:`custvalue.io.atomic_write`).
        """
        path = Path(path)
        fmt = format or path.suffix.lstrip(".").lower()
        if fmt not in ("json", "toml"):
            raise ValueError(f"unknown policy format {fmt!r}; use json or toml")
        text = self.to_json() if fmt == "json" else self.to_toml()

        def write(tmp: Path) -> None:
            tmp.write_text(text, encoding="utf-8")

        atomic_write(path, write)

    def __repr__(self) -> str:
        tiers = ", ".join(
            f"{t.id}"
            + (
                f"(AUM >= {t.aum_floor} in {t.window}+1 months"
                + (f", +{len(t.criteria)} criteria" if t.criteria else "")
                + ")"
                if t.aum_floor is not None
                else (f"({len(t.criteria)} criteria)" if t.criteria else "(rest)")
            )
            for t in self.tiers
        )
        return f"<Policy {self.name!r}: {tiers}>"


def _put(d: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        d[key] = value


def _feature_dict(f: FeatureSpec) -> dict[str, Any]:
    d: dict[str, Any] = {"op": f.op, "column": f.column}
    if f.window:
        d["window"] = f.window
    if f.lag:
        d["lag"] = f.lag
    _put(d, "test", f.test)
    _put(d, "description", f.description)
    return d


def _tier_dict(t: TierSpec) -> dict[str, Any]:
    d: dict[str, Any] = {"id": t.id}
    _put(d, "label", t.label)
    _put(d, "label_zh", t.label_zh)
    _put(d, "description", t.description)
    if t.aum_floor is not None:
        d["aum_floor"] = _plain_number(t.aum_floor)
        d["window"] = t.window
        d["status_bands"] = [{"status": b.status, "months_below": b.months_below} for b in t.status_bands]
    crits = []
    for c in t.criteria:
        cd: dict[str, Any] = {"id": c.id, "when": dict(c.when)}
        _put(cd, "description", c.description)
        crits.append(cd)
    d["criteria"] = crits
    return d


def _event_dict(e: EventSpec) -> dict[str, Any]:
    d: dict[str, Any] = {}
    _put(d, "description", e.description)
    d["actions"] = list(e.actions)
    return d


def _plain_number(x: Decimal) -> int | Decimal:
    return int(x) if x == x.to_integral_value() else x


def _dump_json(doc: Any, indent: int | None) -> str:
    # json cannot write Decimal; write it through a sentinel string, then unquote.
    marks: dict[str, str] = {}

    def conv(x: Any) -> Any:
        if isinstance(x, Decimal):
            key = f"\x00dec{len(marks)}\x00"
            marks[key] = str(x)
            return key
        if isinstance(x, dict):
            return {k: conv(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [conv(v) for v in x]
        return x

    text = json.dumps(conv(doc), indent=indent, ensure_ascii=False)
    for key, val in marks.items():
        text = text.replace(json.dumps(key), val)
    return text + "\n"


#: What :meth:`Policy.with_tier` appends to the name of a policy it changes.
EDITED: Final = " (edited)"
#: The shipped default policy's name.
DEFAULT_NAME: Final = "default"


def edited_name(name: str) -> str:
    """``name`` marked as edited (once): ``"default"`` -> ``"default (edited)"``."""
    return name if name.endswith(EDITED) or "(edited" in name else f"{name}{EDITED}"


@lru_cache(maxsize=1)
def _shipped_default() -> Policy:
    text = resources.files(__package__).joinpath("default.toml").read_text(encoding="utf-8")
    return _parse(tomllib.loads(text, parse_float=Decimal), None, shipped=True)


# --------------------------------------------------------------------------- parse


#: Largest policy file read (a policy is a few kilobytes).
_MAX_DOCUMENT: Final = 16 * 2**20


def load_policy(source: str | Path | Mapping[str, Any]) -> Policy:
    """Load and validate a policy from a ``.json``/``.toml`` file or a dict.

    Numbers are read exactly (JSON and TOML floats become
    :class:`~decimal.Decimal`, never binary floats).  A document that calls
    itself ``"default"`` but differs from the shipped default policy (an
    exported default, edited) is named ``"default (edited: FILE)"`` (from a
    file) or ``"default (edited)"``.

    Examples
    --------
    >>> from custvalue import default_policy
    >>> doc = default_policy().to_dict()
    >>> doc["tiers"][2]["aum_floor"] = 400000
    >>> load_policy(doc).tier("platinum").aum_floor
    Decimal('400000')
    >>> doc["tiers"][2]["criteria"][1]["when"] = {"mortgage_loan": "[1500000..5000000"}
    >>> load_policy(doc)
    Traceback (most recent call last):
    ...
    custvalue.policy.PolicyError: tiers[2].criteria[1].when.mortgage_loan: ...
    """
    if isinstance(source, Mapping):
        return _parse(source, None)
    path = Path(source)
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"cannot read policy file: {exc.strerror}", file=name) from None
    suffix = path.suffix.lower()
    try:
        if len(raw) > _MAX_DOCUMENT:
            raise PolicyError(
                f"policy file is {len(raw):,} bytes; at most {_MAX_DOCUMENT:,} are read", file=name
            )
        if suffix == ".toml":
            doc = tomllib.loads(raw.decode("utf-8"), parse_float=Decimal)
        elif suffix == ".json":
            doc = json.loads(raw.decode("utf-8"), parse_float=Decimal)
        else:
            raise PolicyError(f"unknown policy file type {suffix!r}; use .json or .toml", file=name)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"not valid TOML: {exc}", file=name) from None
    except json.JSONDecodeError as exc:
        raise PolicyError(f"not valid JSON: {exc.msg}", file=name, line=exc.lineno) from None
    except UnicodeDecodeError:
        raise PolicyError("policy file is not UTF-8", file=name) from None
    except RecursionError:
        raise PolicyError("policy document nested too deeply", file=name) from None
    if not isinstance(doc, dict):
        raise PolicyError("a policy document must be an object", file=name)
    return _parse(doc, name, file_name=path.name)


def _check_keys(
    d: Mapping[str, Any], allowed: Sequence[str], required: Sequence[str], path: str, source: str | None
) -> None:
    if not isinstance(d, Mapping):
        raise _err(path, f"expected a table/object, got {type(d).__name__}", source)
    for k in d:
        if k not in allowed:
            raise _err(
                f"{path}.{k}" if path else str(k), f"unknown key; allowed: {', '.join(allowed)}", source
            )
    for k in required:
        if k not in d:
            raise _err(f"{path}.{k}" if path else k, "missing", source)


def _str(v: Any, path: str, source: str | None, *, ident: bool = False) -> str:
    if not isinstance(v, str):
        raise _err(path, f"expected a string, got {type(v).__name__} {v!r}", source)
    if ident and not IDENT.match(v):
        raise _err(
            path, f"{v!r} is not an identifier (letters, digits, _; not starting with a digit)", source
        )
    return v


def _int(v: Any, path: str, source: str | None, *, minimum: int = 0) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        if isinstance(v, Decimal) and v == v.to_integral_value():
            v = int(v)
        else:
            raise _err(path, f"expected a whole number, got {v!r}", source)
    if v < minimum:
        raise _err(path, f"must be >= {minimum}, got {v}", source)
    return int(v)


def _bounded(d: Decimal, v: object, path: str, source: str | None) -> Decimal:
    """Refuse non-finite amounts and amounts no portfolio can hold or compare exactly."""
    if not d.is_finite():
        raise _err(path, f"{v!r} is not a finite amount", source)
    if d and (d.adjusted() > _MAX_AMOUNT_DIGITS or d.as_tuple().exponent < -_MAX_PLACES):  # type: ignore[operator]
        raise _err(
            path,
            f"{v!r} is out of range: amounts are below 10**{_MAX_AMOUNT_DIGITS + 1} with at "
            f"most {_MAX_PLACES} decimals",
            source,
        )
    return d


#: Policy amounts are below 10**17 (in yuan that is 10**19 fen: above any portfolio cell, and
#: a threshold compiles onto int64 fen exactly) with at most 6 decimals.
_MAX_AMOUNT_DIGITS: Final = 16
_MAX_PLACES: Final = 6


def _decimal(v: Any, path: str, source: str | None = None) -> Decimal:
    if isinstance(v, bool):
        raise _err(path, f"expected an amount, got {v!r}", source)
    if isinstance(v, int):
        if abs(v) >= 10 ** (_MAX_AMOUNT_DIGITS + 1):
            raise _err(path, f"{v!r} is out of range: amounts are below 10**{_MAX_AMOUNT_DIGITS + 1}", source)
        return Decimal(v)
    if isinstance(v, Decimal):
        return _bounded(v, v, path, source)
    if isinstance(v, str):
        text = v.strip()
        if len(text) > 64:
            raise _err(path, f"{v[:20]!r}... is not a decimal amount (too long)", source)
        try:
            d = Decimal(text)
        except ArithmeticError:
            raise _err(path, f"{v!r} is not a decimal amount", source) from None
        return _bounded(d, v, path, source)
    if isinstance(v, float):
        raise _err(path, f"float {v!r} is not exact; write the amount as a decimal string", source)
    raise _err(path, f"expected an amount, got {type(v).__name__}", source)


def _opt_str(d: Mapping[str, Any], key: str, path: str, source: str | None) -> str | None:
    return None if key not in d else _str(d[key], f"{path}.{key}" if path else key, source)


def _parse(
    doc: Mapping[str, Any], source: str | None, *, file_name: str | None = None, shipped: bool = False
) -> Policy:
    """The policy of a document.

    A document that calls itself ``"default"`` but is not the shipped default
    policy (an exported default, edited) is named ``"default (edited)"``, or
    ``"default (edited: FILE)"`` when read from a file, so that comparisons
    tell the two apart; the name is written out as it is, so documents
    round-trip.
    """
    policy = _parse_document(doc, source)
    if not shipped and policy.name == DEFAULT_NAME and policy != _shipped_default():
        edited = f"{DEFAULT_NAME} (edited: {file_name})" if file_name else edited_name(DEFAULT_NAME)
        policy = attrs.evolve(policy, name=edited)
    return policy


def _parse_document(doc: Mapping[str, Any], source: str | None) -> Policy:
    _check_keys(
        doc,
        (
            "schema",
            "name",
            "title",
            "title_zh",
            "amount_unit",
            "aum",
            "minimum_allocation_tier",
            "features",
            "tiers",
            "events",
            "monitoring",
            "transactions",
            "value",
            "segments",
            "campaigns",
        ),
        ("name", "tiers"),
        "",
        source,
    )
    if "schema" in doc and doc["schema"] != SCHEMA:
        raise _err("schema", f"unsupported schema {doc['schema']!r}; this version reads {SCHEMA!r}", source)
    name = _str(doc["name"], "name", source)
    unit = _str(doc.get("amount_unit", "yuan"), "amount_unit", source)
    aum_raw = doc.get("aum", ["deposits", "wealth", "investments"])
    if not isinstance(aum_raw, list):
        raise _err("aum", "expected a list of columns", source)
    aum = tuple(_str(c, f"aum[{i}]", source) for i, c in enumerate(aum_raw))
    feats_raw = doc.get("features", {})
    if not isinstance(feats_raw, Mapping):
        raise _err("features", "expected a table of named features", source)
    features = []
    for fname, fd in feats_raw.items():
        p = f"features.{fname}"
        _check_keys(fd, ("op", "column", "window", "lag", "test", "description"), ("op", "column"), p, source)
        features.append(
            FeatureSpec(
                name=str(fname),
                op=_str(fd["op"], f"{p}.op", source),
                column=_str(fd["column"], f"{p}.column", source),
                window=_int(fd.get("window", 0), f"{p}.window", source),
                lag=_int(fd.get("lag", 0), f"{p}.lag", source),
                test=_opt_str(fd, "test", p, source),
                description=_opt_str(fd, "description", p, source),
            )
        )
    tiers_raw = doc["tiers"]
    if not isinstance(tiers_raw, list) or not tiers_raw:
        raise _err("tiers", "expected a non-empty list of tiers, highest first", source)
    tiers = []
    for i, td in enumerate(tiers_raw):
        p = f"tiers[{i}]"
        _check_keys(
            td,
            ("id", "label", "label_zh", "description", "aum_floor", "window", "status_bands", "criteria"),
            ("id",),
            p,
            source,
        )
        floor = None if "aum_floor" not in td else _decimal(td["aum_floor"], f"{p}.aum_floor", source)
        window = None if "window" not in td else _int(td["window"], f"{p}.window", source)
        bands_raw = td.get("status_bands", [])
        if not isinstance(bands_raw, list):
            raise _err(f"{p}.status_bands", "expected a list", source)
        bands = []
        for j, bd in enumerate(bands_raw):
            bp = f"{p}.status_bands[{j}]"
            _check_keys(bd, ("status", "months_below"), ("status", "months_below"), bp, source)
            bands.append(
                StatusBand(
                    _str(bd["status"], f"{bp}.status", source),
                    _str(bd["months_below"], f"{bp}.months_below", source),
                )
            )
        crit_raw = td.get("criteria", [])
        if not isinstance(crit_raw, list):
            raise _err(f"{p}.criteria", "expected a list", source)
        crits = []
        for j, cd in enumerate(crit_raw):
            cp = f"{p}.criteria[{j}]"
            _check_keys(cd, ("id", "when", "description"), ("id", "when"), cp, source)
            when = cd["when"]
            if not isinstance(when, Mapping) or not when:
                raise _err(f"{cp}.when", "expected a non-empty table of feature = test", source)
            crits.append(
                Criterion(
                    id=_str(cd["id"], f"{cp}.id", source, ident=True),
                    when=tuple((str(k), _str(v, f"{cp}.when.{k}", source)) for k, v in when.items()),
                    description=_opt_str(cd, "description", cp, source),
                )
            )
        tiers.append(
            TierSpec(
                id=_str(td["id"], f"{p}.id", source, ident=True),
                aum_floor=floor,
                window=window,
                status_bands=tuple(bands),
                criteria=tuple(crits),
                label=_opt_str(td, "label", p, source),
                label_zh=_opt_str(td, "label_zh", p, source),
                description=_opt_str(td, "description", p, source),
            )
        )
    ev_raw = doc.get("events", {})
    if not isinstance(ev_raw, Mapping):
        raise _err("events", "expected a table of event types", source)
    events = []
    for ename, ed in ev_raw.items():
        p = f"events.{ename}"
        if ename not in EVENT_TYPES:
            raise _err(p, f"unknown event type; known: {', '.join(EVENT_TYPES)}", source)
        _check_keys(ed, ("actions", "description"), ("actions",), p, source)
        acts = ed["actions"]
        if not isinstance(acts, list):
            raise _err(f"{p}.actions", "expected a list of action codes", source)
        events.append(
            EventSpec(
                name=str(ename),
                actions=tuple(_str(a, f"{p}.actions[{k}]", source, ident=True) for k, a in enumerate(acts)),
                description=_opt_str(ed, "description", p, source),
            )
        )
    try:
        return Policy(
            name=name,
            tiers=tuple(tiers),
            features=tuple(features),
            events=tuple(events),
            aum=aum,
            amount_unit=unit,
            minimum_allocation_tier=_opt_str(doc, "minimum_allocation_tier", "", source),
            title=_opt_str(doc, "title", "", source),
            title_zh=_opt_str(doc, "title_zh", "", source),
            monitoring=parse_monitoring(doc["monitoring"], source) if "monitoring" in doc else (),
            transactions=(
                parse_transaction_rules(doc["transactions"], source) if "transactions" in doc else ()
            ),
            value=parse_value(doc["value"], source) if "value" in doc else None,
            segments=parse_segments(doc["segments"], source) if "segments" in doc else None,
            campaigns=parse_campaigns(doc["campaigns"], source) if "campaigns" in doc else (),
        )
    except PolicyError as exc:
        if source is not None and exc.file is None:
            raise PolicyError(exc.message, path=exc.path, file=source) from None
        raise


# --------------------------------------------------------------------------- validate


def _validate(p: Policy, _: str) -> None:
    check_policy(
        aum=p.aum,
        amount_unit=p.amount_unit,
        features=p.features,
        tiers=p.tiers,
        events=p.events,
        minimum_allocation_tier=p.minimum_allocation_tier,
    )
    if p.value is not None:
        check_value(p.value, tiers=p.tier_order, features=p.features)
    if p.segments is not None or p.campaigns:
        check_marketing(
            p.tier_order,
            [(f.name, f.column == "card_level" and f.op != "run") for f in p.features],
            p.segments,
            p.campaigns,
            value=p.value,
        )
