"""Segments and lifecycle stages: the policy's ``[segments]`` tables, evaluated vectorised.

:func:`segment` computes the inputs the segment tables test — the tier
result's columns, the policy's features and the segment features of
:mod:`custvalue.policy` (``since_change``, ``changes``, ``tenure``,
``growth``, ``growth_pct``, ``since_transaction``, ``transactions``) — for
every customer at once (loops run over months and tables, never over
customers), compiles each table once with :func:`custvalue.rules.compile_table`
and evaluates it over all customers.  A table may test the labels of the
tables before it.  :class:`SegmentResult` holds the labels, the rule that
decided each one, and the inputs, and explains any customer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from .._arrays import readonly
from .._optional import import_optional
from ..months import Month
from ..policy import (
    MOVEMENT_NAMES,
    STATUSES,
    FeatureSpec,
    Policy,
    SegmentFeature,
    SegmentTable,
    default_policy,
)
from ..portfolio import CARD_LEVELS, Portfolio
from ..rules import (
    CodedColumn,
    DecisionTable,
    InputClause,
    NullableColumn,
    OutputClause,
    TableExplanation,
    compile_table,
    explain_columns,
    format_number,
)
from ..tiering import TierResult, compute_features, evaluate
from ._errors import AnalyticsError
from ._monitor import as_month
from ._table import Report, make_columns, ratio_code
from ._transactions import Transactions

__all__ = ["InputFrame", "SegmentResult", "evaluate_segments", "input_frame", "segment", "segment_table"]

#: Stored units per policy unit of a percentage code (see :func:`ratio_code`): 200 per percent.
_PCT_SCALE = 200


# --------------------------------------------------------------------------- inputs


@attrs.frozen(eq=False)
class InputFrame:
    """The inputs of segment tables and campaigns for every customer, computed on demand.

    ``columns[name]`` is what the rules engine reads (arrays, :class:`CodedColumn`,
    :class:`NullableColumn`); ``scales[name]`` the stored units per policy unit.
    """

    portfolio: Portfolio
    policy: Policy
    result: TierResult
    transactions: Transactions | None
    columns: dict[str, Any] = attrs.field(factory=dict)
    scales: dict[str, int] = attrs.field(factory=dict)
    _changes: dict[tuple[tuple[str, ...], int, int], NDArray[np.bool_]] = attrs.field(factory=dict)
    _tx: dict[str, Any] = attrs.field(factory=dict)
    _money_at: dict[tuple[str, int], NDArray[np.int64]] = attrs.field(factory=dict)

    @property
    def as_of(self) -> Month:
        """The as-of month."""
        return self.result.as_of

    @property
    def n(self) -> int:
        """Number of customers."""
        return self.portfolio.n_customers

    def get(self, name: str) -> Any:
        """The column of an input (computed once)."""
        got = self.columns.get(name)
        if got is None:
            got = self._compute(name)
            self.columns[name] = got
        return got

    def need(self, names: Sequence[str]) -> dict[str, Any]:
        """The columns of ``names``."""
        return {n: self.get(n) for n in names}

    def add(self, name: str, column: Any, scale: int = 1) -> None:
        """Add a computed column (a segment label or a supplied measure)."""
        self.columns[name] = column
        if scale != 1:
            self.scales[name] = scale

    # ---------------------------------------------------------------- builtins
    def _compute(self, name: str) -> Any:
        r, pol = self.result, self.policy
        if name in ("tier", "previous_tier", "churned_tier"):
            codes = {"tier": r.tier_codes, "previous_tier": r.previous_tier_codes}.get(
                name, r.churned_tier_codes
            )
            k = len(pol.tier_order)
            low_first = np.where(codes < 0, -1, k - 1 - codes.astype(np.int16)).astype(np.int8)
            return CodedColumn(low_first, tuple(reversed(pol.tier_order)), ordered=True)
        if name == "status":
            return CodedColumn(np.where(r.tier_codes < 0, -1, r.status_codes).astype(np.int8), STATUSES)
        if name == "movement":
            return CodedColumn(r.movement_codes, MOVEMENT_NAMES)
        if name == "months_below":
            return r.months_below
        if name == "aum":
            self.scales[name] = pol.scale
            return NullableColumn(r.aum_fen, r.tier_codes >= 0)
        specs = {f.name: f for f in pol.features}
        if name in specs:
            return self._policy_feature(specs[name])
        if pol.segments is not None:
            for f in pol.segments.features:
                if f.name == name:
                    return self._segment_feature(f)
        raise AnalyticsError(f"unknown input {name!r} for policy {pol.name!r}")

    def _policy_feature(self, spec: FeatureSpec) -> Any:
        pol = self.policy
        frame = compute_features(self.portfolio, [spec], self.as_of, aum=pol.aum, amount_scale=pol.scale)
        values = frame[spec.name]
        if spec.column == "card_level" and spec.op != "run":
            return CodedColumn(values, CARD_LEVELS, ordered=True)
        if spec.op != "run":
            self.scales[spec.name] = pol.scale
        return values

    # ---------------------------------------------------------------- segment features
    def _money(self, column: str, j: int) -> NDArray[np.int64]:
        got = self._money_at.get((column, j))
        if got is not None:
            return got
        p = self.portfolio
        if column != "aum":
            out: NDArray[np.int64] = np.asarray(p.column(column)[:, j], dtype=np.int64)
        else:
            out = np.zeros(p.n_customers, dtype=np.int64)
            for c in self.policy.aum:  # bounded cells: cannot overflow
                out += p.column(c)[:, j]
        self._money_at[(column, j)] = out
        return out

    def changed(self, columns: tuple[str, ...], min_fen: int, j: int) -> NDArray[np.bool_]:
        """Whether month ``j`` (absolute index, ``>= 1``) changed by ``min_fen`` in any of ``columns``."""
        key = (columns, min_fen, j)
        got = self._changes.get(key)
        if got is None:
            p = self.portfolio
            got = np.zeros(p.n_customers, dtype=bool)
            scratch = self._tx.get("scratch")
            if scratch is None:  # reused temporaries: fresh large arrays cost page faults
                scratch = self._tx["scratch"] = (
                    np.empty(p.n_customers, dtype=np.int64),
                    np.empty(p.n_customers, dtype=bool),
                )
            diff, hit = scratch
            for c in columns:
                col = p.column(c)
                if min_fen == 1:
                    np.not_equal(col[:, j], col[:, j - 1], out=hit)
                else:
                    # |d| >= m  exactly when  d + (m - 1), read unsigned, exceeds 2 (m - 1)
                    # (cells are bounded, so d and the sum stay far inside int64)
                    np.subtract(col[:, j], col[:, j - 1], out=diff)
                    diff += min_fen - 1
                    np.greater(diff.view(np.uint64), np.uint64(2 * (min_fen - 1)), out=hit)
                got |= hit
            self._changes[key] = got
        return got

    def _change_spec(self, f: SegmentFeature) -> tuple[tuple[str, ...], int]:
        pol = self.policy
        columns = f.columns if f.columns is not None else pol.aum
        if f.min_change is None:
            return columns, 1
        fen = f.min_change * pol.scale
        if fen != fen.to_integral_value():
            raise AnalyticsError(
                f"segments.features.{f.name}.min_change: {f.min_change} is not a whole number of fen"
            )
        return columns, int(fen)

    def _segment_feature(self, f: SegmentFeature) -> Any:
        p = self.portfolio
        a = p.months.index(self.as_of)
        hs = p.history_start
        has = hs <= a
        n = p.n_customers
        if f.op in ("since_change", "changes"):
            columns, min_fen = self._change_spec(f)
            if a == 0:  # no month before the as-of month: nothing is known of changes
                return NullableColumn(np.zeros(n, np.int64), np.zeros(n, bool))
            if f.op == "since_change":
                run = np.zeros(n, dtype=np.int64)
                alive = has.copy()
                hs16 = p.history_start
                hs_max = int(hs16.max()) if n else 0
                ok = np.empty(n, dtype=bool)
                for back in range(f.lookback_months):
                    j = a - back
                    if j < 1:
                        break
                    if hs_max > j:  # some customers have no data in month j
                        np.less_equal(hs16, j, out=ok)
                        alive &= ok
                    np.logical_not(self.changed(columns, min_fen, j), out=ok)
                    alive &= ok
                    if not alive.any():
                        break
                    np.add(run, alive, out=run, casting="unsafe")
                return NullableColumn(run, has)
            assert f.months is not None
            count = np.zeros(n, dtype=np.int64)
            for j in range(max(1, a - f.months + 1), a + 1):
                count += self.changed(columns, min_fen, j) & (j >= hs)
            return NullableColumn(count, has)
        if f.op == "tenure":
            if p.opened is not None:
                now = (self.as_of.year - 1970) * 12 + self.as_of.month - 1
                tenure = np.maximum(now - _months_of(p.opened), 0)
            else:
                tenure = a - hs
            return NullableColumn(np.where(has, tenure, 0).astype(np.int64), has)
        if f.op in ("growth", "growth_pct"):
            assert f.months is not None
            b = a - f.months
            column = f.column or "aum"
            if b < 0:  # the earlier month is before the portfolio
                return NullableColumn(np.zeros(n, np.int64), np.zeros(n, bool))
            later, before = self._money(column, a), self._money(column, b)
            change = later - before
            valid = hs <= b
            if f.op == "growth":
                self.scales[f.name] = self.policy.scale
                return NullableColumn(change, valid)
            self.scales[f.name] = _PCT_SCALE
            return NullableColumn(ratio_code(change, before), valid & (before > 0))
        return self._transaction_feature(f, a, has)

    def _transaction_feature(self, f: SegmentFeature, a: int, has: NDArray[np.bool_]) -> Any:
        n = self.n
        tx = self.transactions
        if tx is None:
            return NullableColumn(np.zeros(n, np.int64), np.zeros(n, bool))
        rows, months = self._tx_rows(tx)
        now = (self.as_of.year - 1970) * 12 + self.as_of.month - 1
        upto = months <= now  # transactions after the as-of month are not looked at
        if f.op == "since_transaction":
            last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
            np.maximum.at(last, rows[upto], months[upto])
            since = np.minimum(now - np.maximum(last, now - f.lookback_months), f.lookback_months)
            return NullableColumn(since.astype(np.int64), has)
        assert f.months is not None
        pick = upto & (months > now - f.months)
        return NullableColumn(np.bincount(rows[pick], minlength=n).astype(np.int64), has)

    def _tx_rows(self, tx: Transactions) -> tuple[NDArray[np.intp], NDArray[np.int64]]:
        got = self._tx.get("rows")
        if got is None:
            ids = self.portfolio.customer_ids
            order = np.argsort(ids, kind="stable")
            sorted_ids = ids[order]
            pos = np.searchsorted(sorted_ids, tx.customer_ids)
            pos = np.minimum(pos, max(len(ids) - 1, 0))
            found = sorted_ids[pos] == tx.customer_ids if len(ids) else np.zeros(len(tx.customer_ids), bool)
            if not np.all(found):
                bad = str(tx.customer_ids[np.flatnonzero(~found)[0]])
                raise AnalyticsError("a transaction's customer is not in the portfolio", customer_id=bad)
            table = order[pos]
            rows = table[tx.customer_codes].astype(np.intp)
            months = tx.timestamps.astype("datetime64[M]").astype(np.int64)
            got = self._tx["rows"] = (rows, months)
        out: tuple[NDArray[np.intp], NDArray[np.int64]] = got
        return out


def _months_of(dates: NDArray[np.datetime64]) -> NDArray[np.int64]:
    """Months since 1970-01 of dates: the calendar cast on the distinct days only, then a gather."""
    d = dates.astype("datetime64[D]").astype(np.int64)
    if d.size == 0:
        return d
    lo, hi = int(d.min()), int(d.max())
    if hi - lo > 4 * d.size:  # few dates far apart: cast them directly
        return dates.astype("datetime64[M]").astype(np.int64)
    table = np.arange(lo, hi + 1).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    out: NDArray[np.int64] = table[d - lo]
    return out


def input_frame(
    portfolio: Portfolio,
    policy: Policy,
    as_of: Month,
    result: TierResult | None,
    transactions: Transactions | None,
) -> InputFrame:
    """The input frame of a segment or campaign run (evaluating the policy when ``result`` is None)."""
    if not isinstance(portfolio, Portfolio):
        raise AnalyticsError(f"expected a Portfolio, got {type(portfolio).__name__}")
    if as_of not in portfolio.months:
        raise AnalyticsError(f"as-of month {as_of} is outside the portfolio's months {portfolio.months}")
    if result is None:
        result = evaluate(portfolio, policy, as_of=as_of)
    else:
        if not isinstance(result, TierResult):
            raise AnalyticsError(f"result must be a TierResult, got {type(result).__name__}")
        if result.as_of != as_of:
            raise AnalyticsError(f"the tier result is as of {result.as_of}, not {as_of}")
        if len(result) != portfolio.n_customers or not np.array_equal(
            result.customer_ids, portfolio.customer_ids
        ):
            raise AnalyticsError("the tier result is of another portfolio (customer ids differ)")
        if result.policy.tier_order != policy.tier_order:
            raise AnalyticsError(
                f"the tier result's tiers {result.policy.tier_order} are not the policy's {policy.tier_order}"
            )
    if transactions is not None and not isinstance(transactions, Transactions):
        raise AnalyticsError(f"transactions must be Transactions, got {type(transactions).__name__}")
    return InputFrame(portfolio, policy, result, transactions)


# --------------------------------------------------------------------------- tables


def segment_table(table: SegmentTable) -> DecisionTable:
    """The decision table of a segment table: one input per tested name, output ``table.name``.

    >>> from custvalue.policy import marketing_policy
    >>> t = segment_table(marketing_policy().segments.table("activity"))
    >>> t.hit_policy.value, t.input_names
    ('FIRST', ('months_since_change', 'changes_6m', 'months_since_transaction'))
    >>> t.rule_ids
    ('recent_change', 'frequent_change', 'recent_transaction')
    """
    names = table.inputs
    rules = [
        (r.id, [dict(r.when).get(n, "-") for n in names], [f'"{r.output}"'], r.description)
        for r in table.rules
    ]
    default = None if table.default is None else f'"{table.default}"'
    out = OutputClause(table.name, output_values=table.outputs, default=default)
    return DecisionTable(table.name, table.hit_policy, [InputClause(n) for n in names], [out], rules)


@attrs.frozen(eq=False, repr=False)
class SegmentResult:
    """The segment labels of every customer at one month; immutable, columnar.

    Attributes
    ----------
    policy : Policy
    as_of : Month
    result : TierResult
        The tier evaluation the tables read.
    customer_ids : ndarray of str
    tables : tuple of DecisionTable
        One per ``[[segments.tables]]`` entry, in order.
    label_codes : dict of str to ndarray of int16
        Per table, the index of each customer's label in :meth:`categories`
        (-1: no label — no rule matched and no default, or no data at the as-of month).
    rule_index : dict of str to ndarray of int32
        Per table, the rule that decided (-1: the default, or none).
    inputs : InputFrame
        The columns the tables were evaluated on (for :meth:`explain`).

    Examples
    --------
    >>> from custvalue.synthetic import generate
    >>> from custvalue.policy import marketing_policy
    >>> s = segment(generate(200, seed=3), marketing_policy())
    >>> s.table_names
    ('activity', 'lifecycle')
    >>> sorted(s.counts("activity").items())
    [('active', 51), ('dormant', 149)]
    """

    policy: Policy
    as_of: Month
    result: TierResult
    customer_ids: NDArray[np.str_]
    tables: tuple[DecisionTable, ...]
    label_codes: dict[str, NDArray[np.int16]]
    rule_index: dict[str, NDArray[np.int32]]
    inputs: InputFrame

    @property
    def table_names(self) -> tuple[str, ...]:
        """The segment tables, in evaluation order."""
        return tuple(t.name for t in self.tables)

    def __len__(self) -> int:
        return int(self.customer_ids.shape[0])

    def _spec(self, name: str) -> SegmentTable:
        if self.policy.segments is None or name not in self.table_names:
            raise KeyError(f"no segment table {name!r}; tables: {', '.join(self.table_names)}")
        return self.policy.segments.table(name)

    def categories(self, name: str) -> tuple[str, ...]:
        """The labels of a table, in rule order then the default."""
        return self._spec(name).outputs

    def labels(self, name: str) -> NDArray[np.str_]:
        """The label of every customer in table ``name`` (``""`` where none)."""
        cats = self.categories(name)
        lut = np.asarray([*cats, ""])
        codes = self.label_codes[name]
        return lut[np.where(codes < 0, len(cats), codes)]

    def labels_zh(self, name: str) -> NDArray[np.str_]:
        """The Chinese label of every customer (the label itself where the policy gives none)."""
        spec = self._spec(name)
        zh = dict(spec.labels_zh)
        lut = np.asarray([zh.get(c, c) for c in spec.outputs] + [""])
        codes = self.label_codes[name]
        return lut[np.where(codes < 0, len(spec.outputs), codes)]

    def rules(self, name: str) -> NDArray[np.str_]:
        """The id of the rule that decided each customer's label (``""``: the default or none)."""
        table = self.tables[self.table_names.index(name)]
        lut = np.asarray([*table.rule_ids, ""])
        idx = self.rule_index[name]
        return lut[np.where(idx < 0, len(table.rule_ids), idx)]

    def counts(self, name: str) -> dict[str, int]:
        """Customers per label of a table (customers with no label are left out)."""
        cats = self.categories(name)
        codes = self.label_codes[name]
        c = np.bincount(codes[codes >= 0].astype(np.int64), minlength=len(cats))
        return {k: int(c[i]) for i, k in enumerate(cats)}

    def columns(self) -> dict[str, NDArray[Any]]:
        """``customer_id`` and, per table, its label and ``<table>_rule`` (the deciding rule)."""
        out: dict[str, NDArray[Any]] = {"customer_id": self.customer_ids}
        for name in self.table_names:
            out[name] = self.labels(name)
            out[f"{name}_rule"] = self.rules(name)
        return out

    def result_columns(self) -> dict[str, NDArray[Any]]:
        """The tier result file's columns followed by the segment label columns.

        The tier result's own columns are unchanged; each table adds one
        column named after it (its labels).

        >>> from custvalue.synthetic import generate
        >>> from custvalue.policy import marketing_policy
        >>> s = segment(generate(20, seed=1), marketing_policy())
        >>> list(s.result_columns())[-3:]
        ['reasons', 'activity', 'lifecycle']
        """
        cols: dict[str, NDArray[Any]] = dict(self.result.columns())
        for name in self.table_names:
            if name in cols:
                raise AnalyticsError(f"segment table {name!r} has the name of a result column")
            cols[name] = self.labels(name)
        return cols

    def report(self) -> Report:
        """The labels as a :class:`Report` (CSV/Parquet :meth:`Report.write`, text, HTML)."""
        return Report(title=f"segments as of {self.as_of}", columns=make_columns(self.columns()))

    def to_pandas(self, *, with_result: bool = False) -> Any:
        """A :class:`pandas.DataFrame` of :meth:`columns` (needs pandas).

        ``with_result=True`` joins the labels to the tier result's
        :meth:`~custvalue.tiering.TierResult.to_pandas` frame (one column per table).
        """
        pd = import_optional("pandas", extra="pandas")
        if not with_result:
            return self.report().to_pandas()
        df = self.result.to_pandas()
        for name in self.table_names:
            df[name] = pd.Categorical(self.labels(name), categories=[*self.categories(name), ""])
        return df

    def write(self, path: str | os.PathLike[str], *, format: str | None = None) -> None:
        """Write :meth:`columns` as CSV or Parquet, atomically."""
        self.report().write(os.fspath(path), format=format)

    def explain_table(self, name: str, customer_id: str) -> TableExplanation:
        """The rules engine's explanation of one customer in table ``name`` (every rule, with values)."""
        table = self.tables[self.table_names.index(name)]
        i = int(self.result.index_of(customer_id))
        cols = self.inputs.need(table.input_names)
        scales = {k: v for k, v in self.inputs.scales.items() if k in cols}
        return explain_columns(table, cols, i, scales=scales, formatters=_formatters(scales))

    def explain(self, customer_id: str) -> str:
        """Which rule gave each label of a customer, with the values it tested.

        >>> from custvalue.synthetic import generate
        >>> from custvalue.policy import marketing_policy
        >>> s = segment(generate(200, seed=3), marketing_policy())
        >>> print(s.explain("C0000001"))
        customer C0000001, as of 2026-10
          activity = active: rule recent_change matched: months_since_change = 2 <= 2
          lifecycle = at_risk: rule at_risk_fall matched: aum_growth_12m_pct = -31.12% <= -30
        >>> print(s.explain("C0000002"))
        customer C0000002, as of 2026-10
          activity = dormant: no rule matched; the default
          lifecycle = mature: no rule matched; the default
        """
        i = int(self.result.index_of(customer_id))
        lines = [f"customer {customer_id}, as of {self.as_of}"]
        for name in self.table_names:
            label = self.labels(name)[i] or "(none)"
            r = int(self.rule_index[name][i])
            if r < 0:
                why = "no rule matched; the default" if self.label_codes[name][i] >= 0 else "no rule matched"
                if self.result.tier_codes[i] < 0:
                    why = "no data at the as-of month"
                lines.append(f"  {name} = {label}: {why}")
                continue
            e = self.explain_table(name, customer_id)
            lines.append(f"  {name} = {label}: {e.rules[r]}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        parts = "; ".join(
            f"{t}: " + ", ".join(f"{k}={v:,}" for k, v in self.counts(t).items()) for t in self.table_names
        )
        return f"<SegmentResult as of {self.as_of}: {len(self):,} customers ({parts})>"


def _formatters(scales: Mapping[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, s in scales.items():
        if s == _PCT_SCALE:

            def pct(v: Any) -> str:
                return format_number(v, 2) + "%" if v is not None else "null"

            out[k] = pct
    return out


def segment(
    portfolio: Portfolio,
    policy: Policy | None = None,
    as_of: Month | str | None = None,
    result: TierResult | None = None,
    transactions: Transactions | None = None,
) -> SegmentResult:
    """Evaluate the policy's segment tables (activity, lifecycle, ...) for every customer.

    Parameters
    ----------
    portfolio
        Customers and their months.
    policy
        A policy with a ``[segments]`` section (e.g. :func:`custvalue.policy.marketing_policy`);
        default: the default policy, which has none (no tables: an empty result).
    as_of
        The month (default: the portfolio's last).
    result
        The tier evaluation of ``portfolio`` at ``as_of`` under a policy with
        the same tiers (evaluated here when omitted).
    transactions
        For ``since_transaction`` and ``transactions`` features (null without it).

    Returns
    -------
    SegmentResult

    Raises
    ------
    AnalyticsError
        A month outside the portfolio, a result of another portfolio or month,
        transactions of customers not in the portfolio.

    Examples
    --------
    >>> from custvalue.synthetic import generate
    >>> from custvalue.policy import marketing_policy
    >>> s = segment(generate(500, seed=1), marketing_policy(), "2026-10")
    >>> s.counts("lifecycle")
    {'churned': 54, 'new': 4, 'at_risk': 49, 'growing': 92, 'mature': 301}
    """
    pol = default_policy() if policy is None else policy
    if not isinstance(pol, Policy):
        raise AnalyticsError(f"policy must be a Policy, got {type(pol).__name__}")
    month = portfolio.months.stop if as_of is None else as_month(as_of, "as-of month")
    frame = input_frame(portfolio, pol, month, result, transactions)
    return evaluate_segments(frame)


def evaluate_segments(frame: InputFrame) -> SegmentResult:
    """Evaluate every segment table on an input frame, adding each table's labels to it."""
    pol = frame.policy
    n = frame.n
    has = frame.result.tier_codes >= 0
    tables: list[DecisionTable] = []
    codes_out: dict[str, NDArray[np.int16]] = {}
    rules_out: dict[str, NDArray[np.int32]] = {}
    specs = () if pol.segments is None else pol.segments.tables
    for spec in specs:
        table = segment_table(spec)
        cols = frame.need(table.input_names)
        scales = {k: v for k, v in frame.scales.items() if k in cols}
        compiled = compile_table(table, scales=scales)
        res = compiled.evaluate(cols, n_rows=n)
        assert res.rule_index is not None
        out = res.outputs[spec.name]
        cats = spec.outputs
        lut = np.array([cats.index(str(c)) for c in out.categories] + [-1], dtype=np.int16)
        raw = np.asarray(out.codes, dtype=np.int64)
        codes = lut[np.where(raw < 0, len(out.categories), raw)]
        codes = np.where(has, codes, -1).astype(np.int16)
        rule = np.where(has, res.rule_index, -1).astype(np.int32)
        tables.append(table)
        codes_out[spec.name] = readonly(codes)
        rules_out[spec.name] = readonly(rule)
        frame.add(spec.name, CodedColumn(codes, cats))
    return SegmentResult(
        policy=pol,
        as_of=frame.as_of,
        result=frame.result,
        customer_ids=frame.portfolio.customer_ids,
        tables=tuple(tables),
        label_codes=codes_out,
        rule_index=rules_out,
        inputs=frame,
    )
