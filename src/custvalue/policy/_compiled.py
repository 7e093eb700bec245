"""Compile a tier policy into decision tables and lookup arrays.

A :class:`~custvalue.policy.Policy` compiles once into a :class:`CompiledPolicy`:

* the **tier table**, a FIRST decision table whose rules are, tier by tier
  (highest first), the AUM criterion ``<tier>.aum`` (``max_aum_w<W> >= floor``)
  and then the tier's other criteria ``<tier>.<criterion>``; the catch-all tier
  gets one rule ``<tier>.default`` matching everyone;
* the features those rules read (``max_aum_w<W>`` is added for every AUM
  window);
* per tier, the AUM floor in fen, the window, and a status lookup table
  ``k -> status`` built by evaluating the tier's status-band tests for every
  ``k`` in ``0..W`` (``k = 0`` is ``normal``).

Every number comes from the policy document; nothing here is a threshold.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from .._arrays import readonly as _ro
from ..rules import (
    DecisionTable,
    InputClause,
    OutputClause,
    Rule,
    compile_table,
    match_unary_tests,
    parse_unary_tests,
    validate_table,
)
from ._document import Policy
from ._schema import STATUSES, PolicyError
from ._specs import FeatureSpec

__all__ = ["CompiledPolicy", "compile_policy"]

NORMAL, OBSERVATION, ATTENTION = 0, 1, 2


def aum_feature_name(window: int) -> str:
    """Name of the automatic feature ``max AUM over window W``."""
    return f"max_aum_w{window}"


@attrs.frozen(eq=False, repr=False)
class CompiledPolicy:
    """A policy compiled for vectorised evaluation (see module docs).

    Attributes
    ----------
    policy : Policy
    table : custvalue.rules.DecisionTable
        The FIRST tier table.
    features : tuple of FeatureSpec
        Every feature the table reads, automatic AUM maxima first.
    rule_tier : ndarray of int8
        Tier index (into ``policy.tier_order``) of each rule.
    aum_rule : ndarray of int16
        Per tier, the index of its AUM rule, or -1.
    floor_fen : ndarray of int64
        Per tier, the AUM floor in fen (0 where there is none).
    window : ndarray of int16
        Per tier, the AUM window W (0 where there is none).
    status_lut : ndarray of int8, shape (n_tiers, max W + 1)
        Status code of ``k`` months below the floor.
    history_needed : int
        Months before the as-of month that a full evaluation reads
        (the longest feature span plus one for the previous month).
    """

    policy: Policy
    table: Any
    compiled_table: Any
    features: tuple[FeatureSpec, ...]
    rule_tier: NDArray[np.int8]
    aum_rule: NDArray[np.int16]
    floor_fen: NDArray[np.int64]
    window: NDArray[np.int16]
    status_lut: NDArray[np.int8]
    tier_rule_bits: NDArray[np.uint64]
    history_needed: int
    coded_features: tuple[str, ...] = ()
    _findings: tuple[Any, ...] | None = attrs.field(default=None, init=False, repr=False)

    @property
    def findings(self) -> tuple[Any, ...]:
        """The rules engine's static findings on the tier table (computed on first use).

        A FIRST table ending in a catch-all has no gaps; warnings and errors
        (e.g. a rule an earlier rule always covers) are kept.
        """
        if self._findings is None:
            found = tuple(f for f in validate_table(self.table) if f.severity != "info")
            object.__setattr__(self, "_findings", found)
        assert self._findings is not None
        return self._findings

    def warnings(self) -> tuple[str, ...]:
        """Static findings about the tier table, worded with document paths.

        The rules engine's validation runs at compile time: a criterion that
        can never decide a tier because an earlier (higher) rule always covers
        it is reported here (``custvalue policy check`` prints these).

        >>> from custvalue import default_policy, load_policy
        >>> compile_policy(default_policy()).warnings()
        ()
        >>> doc = default_policy().to_dict()
        >>> doc["tiers"][1]["criteria"][0]["when"] = {"card_spend_12m": ">= 50000"}
        >>> print(compile_policy(load_policy(doc)).warnings()[0])  # doctest: +ELLIPSIS
        tiers[2].criteria[0] (rule platinum.card_spend): rule can never fire: ...
        """
        paths = rule_paths(self.policy)
        floors = floor_order_warnings(self.policy)
        worded = {w.split("(rule ", 1)[1].split(")", 1)[0] for w in floors}  # rules with a floor warning
        out = []
        for f in self.findings:
            if f.rule_id in worded:
                continue  # the floor warning below says why, and what to change
            where = paths.get(f.rule_id or "", "tiers")
            out.append(f"{where} (rule {f.rule_id}): {f.message}" if f.rule_id else f"{where}: {f.message}")
        return tuple(out) + floors

    @property
    def input_columns(self) -> tuple[str, ...]:
        """The portfolio columns an evaluation reads (see :attr:`Policy.input_columns`)."""
        return self.policy.input_columns

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """Ids of the tier table's rules, in order."""
        ids: tuple[str, ...] = self.table.rule_ids
        return ids

    def __repr__(self) -> str:
        return (
            f"<CompiledPolicy {self.policy.name!r}: {len(self.rule_ids)} rules, "
            f"{len(self.features)} features, {self.history_needed + 1} months of history>"
        )


def floor_order_warnings(policy: Policy) -> tuple[str, ...]:
    """A lower tier whose AUM floor is at or above a higher tier's: its AUM rule never fires.

    Tiers are highest first and the table is FIRST hit: with a window no
    longer than the higher tier's, every customer the lower tier's AUM rule
    would take is taken by the higher tier first.

    >>> from decimal import Decimal
    >>> from custvalue import default_policy
    >>> p = default_policy().with_tier("gold", aum_floor=Decimal("500000"))
    >>> print(floor_order_warnings(p)[0])  # doctest: +ELLIPSIS
    tiers[3].aum_floor (rule gold.aum): gold's AUM floor 500000 is at or above platinum's 500000,
    so its AUM rule can never fire ...
    """
    out: list[str] = []
    tiers = policy.tiers
    for j, low in enumerate(tiers):
        if low.aum_floor is None or low.window is None:
            continue
        for high in tiers[:j]:
            if high.aum_floor is None or high.window is None or low.aum_floor < high.aum_floor:
                continue
            if low.window <= high.window:
                why = (
                    "so its AUM rule can never fire (every customer it would take has the higher "
                    "tier first); lower the floor below"
                )
            else:
                why = (
                    f"so its AUM rule fires only for AUM reached more than {high.window + 1} months ago "
                    f"(its window, {low.window}, is longer); lower the floor below"
                )
            out.append(
                f"tiers[{j}].aum_floor (rule {low.id}.aum): {low.id}'s AUM floor {_num(low.aum_floor)} "
                f"is at or above {high.id}'s {_num(high.aum_floor)}, {why} {_num(high.aum_floor)}"
            )
            break
    return tuple(out)


def _feature_span(f: FeatureSpec) -> int:
    return f.lag + (0 if f.op == "value" else f.window)


def rule_paths(policy: Policy) -> dict[str, str]:
    """Document path of each tier-table rule id (``platinum.card_spend`` -> ``tiers[2].criteria[0]``)."""
    paths: dict[str, str] = {}
    for i, t in enumerate(policy.tiers):
        if t.aum_floor is not None:
            paths[f"{t.id}.aum"] = f"tiers[{i}].aum_floor"
        for j, c in enumerate(t.criteria):
            paths[f"{t.id}.{c.id}"] = f"tiers[{i}].criteria[{j}]"
        if t.is_catch_all:
            paths[f"{t.id}.default"] = f"tiers[{i}]"
    return paths


def build_tier_table(policy: Policy) -> tuple[Any, tuple[FeatureSpec, ...], list[int]]:
    """The FIRST decision table of a policy, its features and the tier of each rule."""

    auto: dict[str, FeatureSpec] = {}
    for t in policy.tiers:
        if t.aum_floor is not None and t.window is not None:
            name = aum_feature_name(t.window)
            auto.setdefault(
                name,
                FeatureSpec(
                    name,
                    "max",
                    "aum",
                    window=t.window,
                    description=f"max AUM over the as-of month and the {t.window} months before it",
                ),
            )
    used: list[str] = list(auto)
    for t in policy.tiers:
        for c in t.criteria:
            for fname, _ in c.when:
                if fname not in used:
                    used.append(fname)
    feats = {**auto, **{f.name: f for f in policy.features}}
    features = tuple(feats[name] for name in used)
    unit = "fen" if policy.amount_unit == "fen" else "yuan"
    rules: list[Any] = []
    rule_tier: list[int] = []
    for ti, t in enumerate(policy.tiers):
        if t.aum_floor is not None and t.window is not None:
            entries = ["-"] * len(used)
            entries[used.index(aum_feature_name(t.window))] = f">= {_num(t.aum_floor)}"
            rules.append(
                Rule(
                    f"{t.id}.aum",
                    tuple(entries),
                    (f'"{t.id}"',),
                    f"max AUM in {t.window}+1 months >= {_num(t.aum_floor)} {unit}",
                )
            )
            rule_tier.append(ti)
        for c in t.criteria:
            entries = ["-"] * len(used)
            for fname, test in c.when:
                entries[used.index(fname)] = test
            rules.append(Rule(f"{t.id}.{c.id}", tuple(entries), (f'"{t.id}"',), c.description))
            rule_tier.append(ti)
        if t.is_catch_all:
            rules.append(
                Rule(f"{t.id}.default", tuple(["-"] * len(used)), (f'"{t.id}"',), "every other customer")
            )
            rule_tier.append(ti)
    inputs = [InputClause(name) for name in used]
    outputs = [OutputClause("tier", output_values=tuple(policy.tier_order))]
    table = DecisionTable(f"{policy.name}.tier", "FIRST", inputs, outputs, rules)
    return table, features, rule_tier


def _num(d: Decimal) -> str:
    return str(int(d)) if d == d.to_integral_value() else str(d)


def compile_policy(policy: Policy) -> CompiledPolicy:
    """Compile a policy once for evaluation over portfolios.

    Examples
    --------
    >>> from custvalue import default_policy
    >>> cp = compile_policy(default_policy())
    >>> cp.rule_ids[:4]
    ('core.aum', 'growth.aum', 'growth.card_spend', 'growth.mortgage')
    >>> cp.history_needed
    13
    """

    table, features, rule_tier = build_tier_table(policy)
    if len(rule_tier) > 64:
        raise PolicyError(
            f"tiers: the policy has {len(rule_tier)} tier rules; at most 64 are "
            "supported (each result records its deciding rules as a 64-bit set)",
            path="tiers",
        )
    scales = {f.name: (1 if f.column == "card_level" or f.op == "run" else policy.scale) for f in features}
    compiled_table = compile_table(table, scales=scales)
    coded = tuple(f.name for f in features if f.column == "card_level" and f.op != "run")
    n_tiers = len(policy.tiers)
    aum_rule = np.full(n_tiers, -1, dtype=np.int16)
    for r, rid in enumerate(table.rule_ids):
        if rid.endswith(".aum"):
            aum_rule[rule_tier[r]] = r
    floor = np.zeros(n_tiers, dtype=np.int64)
    window = np.zeros(n_tiers, dtype=np.int16)
    max_w = max([t.window or 0 for t in policy.tiers] + [0])
    lut = np.zeros((n_tiers, max_w + 2), dtype=np.int8)
    for ti, t in enumerate(policy.tiers):
        if t.aum_floor is None or t.window is None:
            continue
        floor[ti] = int(t.aum_floor * policy.scale)
        window[ti] = t.window
        tests = [(STATUSES.index(b.status), parse_unary_tests(b.months_below)) for b in t.status_bands]
        for k in range(1, t.window + 1):
            hits = [code for code, ut in tests if match_unary_tests(ut, Decimal(k))]
            lut[ti, k] = hits[0] if hits else NORMAL
    bits = np.zeros(n_tiers, dtype=np.uint64)
    for r, ti in enumerate(rule_tier):
        bits[ti] |= np.uint64(1) << np.uint64(r)
    spans = [_feature_span(f) for f in features]
    return CompiledPolicy(
        policy=policy,
        table=table,
        compiled_table=compiled_table,
        features=features,
        rule_tier=_ro(np.array(rule_tier, dtype=np.int8)),
        aum_rule=_ro(aum_rule),
        floor_fen=_ro(floor),
        window=_ro(window),
        status_lut=_ro(lut),
        tier_rule_bits=_ro(bits),
        history_needed=max([*spans, 0]) + 1,
        coded_features=coded,
    )
