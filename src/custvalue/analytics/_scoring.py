"""The seeds' weighted scoring grade (seed 002), exact: :func:`score_customers`.

.. math::

    \\text{score} = \\frac{\\text{history} \\times w_1 + \\text{forecast} \\times w_2}{w_1 + w_2}
                   \\times \\text{bonus}

The history and forecast scores are score cards — COLLECT SUM decision tables
over value measures (points of every matching row add up); the bonus is a
FIRST table of factors (1 when no rule matches); the grade is the UNIQUE band
the score falls in.  The policy declares the weights' sum (``weights_total``)
and an error is raised when they do not add up to it.  Scores are exact
decimals held as scaled integers: the score is rounded half-even to
``places`` decimals and graded on that rounded value.

The seeds' example: history 90, forecast 70, weights 50 % / 50 %, bonus 1.05
→ (90 × 50 % + 70 × 50 %) × 1.05 = 84.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from .._arrays import readonly
from ..policy import BonusRule, ScoreRule, ScoringSpec, grade_table
from ..portfolio import CARD_LEVELS
from ..rules import CodedColumn, CompiledTable, DecisionTable, Value, compile_table, evaluate_table_scalar
from ._errors import AnalyticsError
from ._measures import CustomerValue
from ._table import Report, make_columns
from ._value import half_even_fraction, half_even_scalar

__all__ = ["ScoreResult", "combine_score", "reference_score", "score_customers", "score_tables"]

INT64_MAX = int(np.iinfo(np.int64).max)


def _exponent(values: Sequence[Decimal]) -> int:
    exp = 0
    for v in values:
        e = v.as_tuple().exponent
        if isinstance(e, int) and e < 0:
            exp = max(exp, -e)
    return exp


def _card(name: str, rules: Sequence[ScoreRule | BonusRule], *, bonus: bool) -> DecisionTable:
    names: dict[str, None] = {}
    for r in rules:
        for n, _ in r.when:
            names.setdefault(n, None)
    inputs = list(names)
    rows = []
    for r in rules:
        when = dict(r.when)
        out = r.factor if isinstance(r, BonusRule) else r.points
        rows.append((r.id, [when.get(n, "-") for n in inputs], [format(out, "f")]))
    if bonus:
        return DecisionTable(name, "FIRST", inputs, ["factor"], rows)
    return DecisionTable(name, "COLLECT", inputs, ["points"], rows, aggregation="SUM")


def score_tables(spec: ScoringSpec) -> dict[str, DecisionTable]:
    """The decision tables of a scoring spec.

    ``history`` and ``forecast`` are COLLECT SUM, ``bonus`` FIRST, ``grades`` UNIQUE.


    >>> from custvalue.policy import ScoreRule, ScoringSpec
    >>> spec = ScoringSpec(history=(ScoreRule("big", (("aum", ">= 1000000"),), Decimal(40)),),
    ...                    forecast=(), history_weight=Decimal(1), forecast_weight=Decimal(0))
    >>> t = score_tables(spec)["history"]
    >>> t.hit_policy.value, t.aggregation.value, t.input_names
    ('COLLECT', 'SUM', ('aum',))
    """
    return {
        "history": _card("history_score", spec.history, bonus=False),
        "forecast": _card("forecast_score", spec.forecast, bonus=False),
        "bonus": _card("bonus", spec.bonus, bonus=True),
        "grades": grade_table(spec.grades),
    }


@attrs.frozen
class _Compiled:
    tables: Mapping[str, DecisionTable]
    compiled: Mapping[str, CompiledTable]


@lru_cache(maxsize=32)
def _compiled(spec: ScoringSpec, kinds: tuple[tuple[str, str], ...], scale: int) -> _Compiled:
    kind = dict(kinds)
    tables = score_tables(spec)
    out: dict[str, CompiledTable] = {}
    for key in ("history", "forecast", "bonus"):
        t = tables[key]
        out[key] = compile_table(t, scales={n: scale for n in t.input_names if kind.get(n) == "money"})
    out["grades"] = compile_table(tables["grades"], scales={"score": 10**spec.places})
    return _Compiled(tables, out)


@attrs.frozen(eq=False, repr=False)
class ScoreResult:
    """Scores and grades of every customer.

    Attributes
    ----------
    spec : ScoringSpec
    customer_ids : ndarray of str
    history, forecast : ndarray of int64
        Score-card points times ``10**points_exponent``.
    bonus : ndarray of int64
        Bonus factor times ``10**bonus_exponent``.
    score : ndarray of int64
        The score times ``10**spec.places``, rounded half-even.
    grade_codes : ndarray of int8
        Index into ``spec.grades``; -1 when the score is in no band.
    history_matches, forecast_matches : ndarray of bool, shape (rules, n)
        Which score-card rows matched each customer.
    bonus_rule : ndarray of int32
        The bonus rule that applied (-1: none, factor 1).
    """

    spec: ScoringSpec
    customer_ids: NDArray[np.str_]
    history: NDArray[np.int64]
    forecast: NDArray[np.int64]
    points_exponent: int
    bonus: NDArray[np.int64]
    bonus_exponent: int
    score: NDArray[np.int64]
    grade_codes: NDArray[np.int8]
    history_matches: NDArray[np.bool_] | None = None
    forecast_matches: NDArray[np.bool_] | None = None
    bonus_rule: NDArray[np.int32] | None = None

    def grades(self) -> NDArray[np.str_]:
        """Grade ids (``""`` outside every band)."""
        lut = np.asarray([g.id for g in self.spec.grades] + [""])
        return lut[np.where(self.grade_codes < 0, len(self.spec.grades), self.grade_codes)]

    def scores(self) -> list[Decimal]:
        """The scores as exact decimals (``places`` decimals)."""
        p = self.spec.places
        return [Decimal(int(s)).scaleb(-p) for s in self.score.tolist()]

    def explain(self, customer: str | int) -> str:
        """Why a customer has its score: the matching score-card rows, the bonus and the arithmetic.

        ``customer`` is a customer id or a row number.
        """
        if isinstance(customer, str):
            hit = np.flatnonzero(self.customer_ids == customer)
            if not hit.size:
                raise AnalyticsError(f"unknown customer {customer!r}")
            i = int(hit[0])
        else:
            i = int(customer)
        s, e = self.spec, self.points_exponent

        def dec(v: int, places: int) -> str:
            return format(Decimal(int(v)).scaleb(-places), "f")

        lines = [f"customer {self.customer_ids[i]}"]
        for part, rules, hits, total in (
            ("history", s.history, self.history_matches, self.history),
            ("forecast", s.forecast, self.forecast_matches, self.forecast),
        ):
            rows = [] if hits is None or not len(rules) else np.flatnonzero(hits[:, i]).tolist()
            got = ", ".join(f"{rules[r].id} +{format(rules[r].points, 'f')}" for r in rows) or "no rule"
            lines.append(f"  {part} score {dec(int(total[i]), e)}: {got}")
        br = -1 if self.bonus_rule is None else int(self.bonus_rule[i])
        bonus = dec(int(self.bonus[i]), self.bonus_exponent)
        lines.append(f"  bonus × {bonus}: {s.bonus[br].id if br >= 0 else 'no rule (× 1)'}")
        lines.append(
            f"  score = ({dec(int(self.history[i]), e)} × {format(s.history_weight, 'f')} + "
            f"{dec(int(self.forecast[i]), e)} × {format(s.forecast_weight, 'f')}) / "
            f"{format(s.weights_total, 'f')} × {bonus} = {dec(int(self.score[i]), s.places)}"
            f" (half-even to {s.places} decimals)"
        )
        g = int(self.grade_codes[i])
        lines.append(
            f"  grade {s.grades[g].id} ({s.grades[g].score})" if g >= 0 else "  no grade band holds the score"
        )
        return "\n".join(lines)

    def counts(self) -> dict[str, int]:
        """Customers per grade (and ``""`` for no grade)."""
        ids, n = np.unique(self.grades(), return_counts=True)
        return dict(zip(ids.tolist(), n.tolist(), strict=True))

    def report(self) -> Report:
        """Per customer: history, forecast, bonus, score (exact decimal text) and grade."""

        def text(v: NDArray[np.int64], e: int) -> NDArray[np.str_]:
            return np.asarray([format(Decimal(int(x)).scaleb(-e), "f") for x in v.tolist()], dtype=str)

        labels = np.asarray([g.label_zh or g.label or g.id for g in self.spec.grades] + [""])
        codes = np.where(self.grade_codes < 0, len(self.spec.grades), self.grade_codes)
        return Report(
            title="Scoring grade",
            columns=make_columns(
                {
                    "customer_id": self.customer_ids,
                    "history": text(self.history, self.points_exponent),
                    "forecast": text(self.forecast, self.points_exponent),
                    "bonus": text(self.bonus, self.bonus_exponent),
                    "score": text(self.score, self.spec.places),
                    "grade": self.grades(),
                    "grade_label": labels[codes],
                }
            ),
        )

    def __repr__(self) -> str:
        return f"<ScoreResult: {self.score.size:,} customers; grades {self.counts()}>"


def _columns(values: CustomerValue, names: Sequence[str]) -> dict[str, Any]:
    kinds = values.kinds
    cols: dict[str, Any] = {}
    for n in names:
        if kinds.get(n) == "coded":
            cols[n] = CodedColumn(values.measure(n).astype(np.int64), CARD_LEVELS, ordered=True)
        else:
            cols[n] = values.measure(n)
    return cols


def _aggregate(
    ct: CompiledTable, values: CustomerValue, exp: int
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    n = len(values)
    if not ct.table.rules:
        return np.zeros(n, np.int64), np.zeros((0, n), bool)
    res = ct.evaluate(_columns(values, ct.table.input_names), n_rows=n)
    assert res.matches is not None
    assert res.aggregate is not None and res.aggregate_valid is not None
    agg = np.where(res.aggregate_valid, res.aggregate, 0)
    shift = exp - res.aggregate_exponent
    if shift:
        if float(np.abs(agg).max(initial=0)) * 10.0**shift >= 2.0**62:
            raise AnalyticsError(f"{ct.table.name}: points too large to score exactly")
        agg = agg * np.int64(10**shift)
    return np.asarray(agg, np.int64), res.matches


def _combine(
    h: NDArray[np.int64], f: NDArray[np.int64], b: NDArray[np.int64], e: int, eb: int, spec: ScoringSpec
) -> NDArray[np.int64]:
    ew = _exponent([spec.history_weight, spec.forecast_weight, spec.weights_total])
    w1, w2, wt = (int(x.scaleb(ew)) for x in (spec.history_weight, spec.forecast_weight, spec.weights_total))
    den = 10 ** (e + eb) * wt
    scale = 10**spec.places
    peak = (
        (int(np.abs(h).max(initial=0)) * w1 + int(np.abs(f).max(initial=0)) * w2)
        * int(np.abs(b).max(initial=0))
        * scale
    )
    if peak < 2**62 and den < 2**61:
        num = (h * np.int64(w1) + f * np.int64(w2)) * b * np.int64(scale)
        return half_even_scalar(num, den)
    out = np.empty(h.size, np.int64)
    for i, (hi, fi, bi) in enumerate(zip(h.tolist(), f.tolist(), b.tolist(), strict=True)):
        v = half_even_fraction(Fraction((hi * w1 + fi * w2) * bi * scale, den))
        if not -INT64_MAX - 1 <= v <= INT64_MAX:
            raise AnalyticsError(f"score of row {i} is out of range")
        out[i] = v
    return out


def score_customers(values: CustomerValue) -> ScoreResult:
    """Score and grade every customer with the policy's ``[value.scoring]`` (vectorised, exact).

    Examples
    --------
    The seeds' example: a customer with history score 90 and forecast score
    70, weights 50/50 and 2-year sales above the bonus threshold (× 1.05):

    >>> import numpy as np
    >>> from custvalue import Portfolio, default_policy
    >>> from custvalue.policy import Policy
    >>> from custvalue.analytics import customer_value
    >>> doc = default_policy().to_dict()
    >>> doc["value"] = {"margins": {}, "inputs": {"sales_forecast": "money"}, "scoring": {
    ...     "weights": {"history": 50, "forecast": 50}, "weights_total": 100,
    ...     "history": [{"id": "aum_1m", "when": {"aum": ">= 1000000"}, "points": 60},
    ...                 {"id": "card", "when": {"card_spend_12m": ">= 100000"}, "points": 30}],
    ...     "forecast": [{"id": "f_4m", "when": {"sales_forecast": ">= 4000000"}, "points": 70}],
    ...     "bonus": [{"id": "sales_2y", "when": {"sales": ">= 1000000"}, "factor": "1.05"}],
    ...     "grades": [{"id": "A", "score": ">= 80"}, {"id": "B", "score": "[60..80)"},
    ...                {"id": "C", "score": "< 60"}]}}
    >>> p = Portfolio.from_arrays(customer_ids=["K1"], branch_ids=["X"], start="2026-10",
    ...     deposits=np.array([[1_200_000_00]]), card_spend=np.array([[150_000_00]]))
    >>> v = customer_value(p, Policy.from_dict(doc), inputs={"sales_forecast": np.array([4_000_000_00]),
    ...                                                      "sales": np.array([1_500_000_00])})
    >>> r = score_customers(v)
    >>> r.scores(), r.grades().tolist()
    ([Decimal('84.00')], ['A'])
    >>> print(r.explain("K1"))
    customer K1
      history score 90: aum_1m +60, card +30
      forecast score 70: f_4m +70
      bonus × 1.05: sales_2y
      score = (90 × 50 + 70 × 50) / 100 × 1.05 = 84.00 (half-even to 2 decimals)
      grade A (>= 80)
    """
    spec = values.spec.scoring
    if spec is None:
        raise AnalyticsError("the policy's [value] section has no [value.scoring]")
    kinds = tuple(sorted(values.kinds.items()))
    comp = _compiled(spec, kinds, values.policy.scale)
    n = len(values)
    e = _exponent([r.points for r in (*spec.history, *spec.forecast)])
    h, h_hits = _aggregate(comp.compiled["history"], values, e)
    f, f_hits = _aggregate(comp.compiled["forecast"], values, e)
    factors = [r.factor for r in spec.bonus]
    eb = _exponent(factors)
    lut = np.asarray([int(x.scaleb(eb)) for x in factors] + [10**eb], dtype=np.int64)
    if spec.bonus:
        ct = comp.compiled["bonus"]
        res = ct.evaluate(_columns(values, ct.table.input_names), n_rows=n)
        assert res.rule_index is not None
        bonus_rule = res.rule_index
        b = lut[np.where(bonus_rule < 0, len(factors), bonus_rule)]
    else:
        bonus_rule = np.full(n, -1, np.int32)
        b = np.full(n, 10**eb, np.int64)
    score = _combine(h, f, b, e, eb, spec)
    if spec.grades:
        gres = comp.compiled["grades"].evaluate({"score": score}, raise_on_violation=True)
        assert gres.rule_index is not None
        grade = gres.rule_index.astype(np.int8)
    else:
        grade = np.full(n, -1, np.int8)
    return ScoreResult(
        spec=spec,
        customer_ids=values.customer_ids,
        history=readonly(h),
        forecast=readonly(f),
        points_exponent=e,
        bonus=readonly(b),
        bonus_exponent=eb,
        score=readonly(score),
        grade_codes=readonly(grade),
        history_matches=readonly(h_hits),
        forecast_matches=readonly(f_hits),
        bonus_rule=readonly(bonus_rule),
    )


def combine_score(history: Decimal, forecast: Decimal, bonus: Decimal, spec: ScoringSpec) -> Decimal:
    """The seeds' formula on exact decimals, rounded half-even to ``spec.places`` (scalar reference).

    >>> from custvalue.policy import ScoringSpec
    >>> spec = ScoringSpec((), (), Decimal(50), Decimal(50), weights_total=Decimal(100))
    >>> combine_score(Decimal(90), Decimal(70), Decimal("1.05"), spec)
    Decimal('84.00')
    """
    exact = (
        (
            Fraction(history) * Fraction(spec.history_weight)
            + Fraction(forecast) * Fraction(spec.forecast_weight)
        )
        / Fraction(spec.weights_total)
        * Fraction(bonus)
    )
    return Decimal(half_even_fraction(exact * 10**spec.places)).scaleb(-spec.places)


def reference_score(row: Mapping[str, Value], spec: ScoringSpec) -> tuple[Decimal, str | None]:
    """Score and grade of one customer with the scalar reference interpreter (tests).

    ``row`` holds measure values in the policy's units (yuan as Decimal,
    the card level as its name).
    """
    tables = score_tables(spec)
    pts = []
    for key in ("history", "forecast"):
        t = tables[key]
        v = evaluate_table_scalar(t, {n: row.get(n) for n in t.input_names}).value if t.rules else None
        pts.append(Decimal(0) if v is None else Decimal(str(v)))
    b = Decimal(1)
    if spec.bonus:
        t = tables["bonus"]
        bv = evaluate_table_scalar(t, {n: row.get(n) for n in t.input_names}).value
        b = Decimal(1) if bv is None else Decimal(str(bv))
    score = combine_score(pts[0], pts[1], b, spec)
    grade = None
    if spec.grades:
        gv = evaluate_table_scalar(tables["grades"], {"score": score}).value
        grade = None if gv is None else spec.grades[int(Decimal(str(gv)))].id
    return score, grade
