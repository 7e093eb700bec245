"""Every value measure of a portfolio at one month, computed once and on demand: :class:`CustomerValue`.

The measures a ``[value]`` section may name (see
:func:`custvalue.policy.value_measure_kinds`):

* the monthly columns at the as-of month and ``aum`` (fen), ``card_level`` (codes);
* the policy's ``[features]`` at the as-of month;
* ``monthly_margin``, ``annual_margin`` (exact, half-even to fen), ``clv``
  (:func:`lifetime_value`), ``markov_clv`` (:func:`markov_value`),
  ``aum_growth`` (AUM change over ``[value.matrix].growth_months``) and
  ``sales`` (cumulative sales over ``[value.scoring].sales_months``, from a
  :class:`~custvalue.allocation.SalesLedger`);
* ``value``: the seeds' value formula, explicit value + implicit value −
  explicit cost − implicit cost, each component an exact linear combination
  of measures with decimal coefficients or an S-FEEL arithmetic expression
  over measures (evaluated exactly, :func:`evaluate_formula`), in fen rounded
  half-even;
* the caller's ``[value.inputs]``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._arrays import exact_group_sums, readonly
from ..allocation import SalesLedger
from ..months import Month, MonthLike
from ..policy import FORMULA_COMPONENTS, Policy, ValueSpec, default_policy, value_measure_kinds
from ..portfolio import MONEY_COLUMNS, Portfolio
from ..tiering import compute_features, evaluate_path
from ._errors import AnalyticsError
from ._formula import evaluate_formula
from ._markov import MarkovChain, MarkovValue, markov_value
from ._table import Report, make_columns
from ._value import (
    ROUNDING,
    LifetimeValue,
    customer_margins,
    exact_linear,
    lifetime_value,
    resolve_as_of,
    value_spec,
)

__all__ = ["CustomerValue", "customer_value", "sales_totals"]


def sales_totals(
    ledger: SalesLedger, customer_ids: NDArray[np.str_], first_day: _dt.date, last_day: _dt.date
) -> NDArray[np.int64]:
    """Per customer, the exact sum of the ledger's sale amounts dated ``first_day..last_day`` (fen).

    Sales of customers outside ``customer_ids`` are not counted.
    """
    index = {c: i for i, c in enumerate(customer_ids.tolist())}
    lo, hi = first_day.toordinal(), last_day.toordinal()
    rows: list[int] = []
    amounts: list[int] = []
    for s in ledger.sales:
        i = index.get(s.customer_id)
        if i is not None and lo <= s.date.toordinal() <= hi:
            rows.append(i)
            amounts.append(int(s.amount))
    out = np.zeros(len(customer_ids), np.int64)
    if rows:
        out = exact_group_sums(
            np.asarray(rows), np.asarray(amounts, np.int64), len(customer_ids), what="sales"
        )
    return out


def _month_days(first: Month, last: Month) -> tuple[_dt.date, _dt.date]:
    start = _dt.date(first.year, first.month, 1)
    nxt = last + 1
    return start, _dt.date(nxt.year, nxt.month, 1) - _dt.timedelta(days=1)


@attrs.frozen(eq=False, repr=False)
class CustomerValue:
    """Value measures of every customer at one month, computed on first use and kept.

    Build it with :func:`customer_value`; read a measure with ``values["clv"]``
    (read-only int64 fen, or int64 counts for ``number`` measures and int8
    codes for ``card_level``).  Float estimates are rounded :data:`ROUNDING`.
    """

    portfolio: Portfolio
    policy: Policy
    as_of: Month
    tier_codes: NDArray[np.int8] | None
    inputs: Mapping[str, NDArray[np.int64]]
    sales_ledger: SalesLedger | None = None
    chain: MarkovChain | None = None
    _cache: dict[str, Any] = attrs.field(factory=dict, alias="_cache")

    @property
    def spec(self) -> ValueSpec:
        """The policy's ``[value]`` section."""
        return value_spec(self.policy)

    @property
    def kinds(self) -> dict[str, str]:
        """Measure name → ``"money"``, ``"number"`` or ``"coded"``."""
        return value_measure_kinds(self.policy.features, self.spec.inputs)

    @property
    def customer_ids(self) -> NDArray[np.str_]:
        return self.portfolio.customer_ids

    @property
    def rounding(self) -> str:
        """How estimates are rounded to fen."""
        return ROUNDING

    def __len__(self) -> int:
        return self.portfolio.n_customers

    # ------------------------------------------------------------ measures
    def __getitem__(self, name: str) -> NDArray[Any]:
        return self.measure(name)

    def measure(self, name: str) -> NDArray[Any]:
        """One measure for every customer (computed once)."""
        got = self._cache.get(name)
        if got is None:
            got = readonly(np.asarray(self._compute(name)))
            self._cache[name] = got
        return got

    def measures(self, names: Sequence[str]) -> dict[str, NDArray[Any]]:
        """Several measures by name."""
        return {n: self.measure(n) for n in names}

    def _a(self) -> int:
        return self.portfolio.months.index(self.as_of)

    def tiers(self) -> NDArray[np.int8]:
        """Tier codes at the as-of month (evaluated once when not given)."""
        if self.tier_codes is not None:
            return self.tier_codes
        got = self._cache.get("__tiers")
        if got is None:
            path = evaluate_path(self.portfolio, self.policy, first=self.as_of, last=self.as_of)
            got = self._cache["__tiers"] = path.tier_codes[:, 0]
        return got

    def lifetime(self) -> LifetimeValue:
        """The explicit-input lifetime value (:func:`lifetime_value`)."""
        got = self._cache.get("__lifetime")
        if got is None:
            codes = self.tiers() if self.spec.retention is None else None
            margin = self.measure("annual_margin" if self.spec.period == "year" else "monthly_margin")
            got = self._cache["__lifetime"] = lifetime_value(
                self.portfolio, self.policy, as_of=self.as_of, tier_codes=codes, margin=margin
            )
        return got

    def markov(self) -> MarkovValue:
        """The Markov-chain lifetime value (:func:`markov_value`)."""
        got = self._cache.get("__markov")
        if got is None:
            got = self._cache["__markov"] = markov_value(
                self.portfolio,
                self.policy,
                as_of=self.as_of,
                chain=self.chain,
                tier_codes=self.tiers(),
                monthly_margin=self.measure("monthly_margin"),
            )
        return got

    def components(self) -> dict[str, NDArray[np.int64]]:
        """The four components of the value formula (fen), by name."""
        return {c: self.measure(f"__{c}") for c in FORMULA_COMPONENTS}

    def _compute(self, name: str) -> NDArray[Any]:
        p, pol, a = self.portfolio, self.policy, self._a()
        if name.startswith("__"):
            comp = self.spec.component(name[2:])
            if comp.expr is not None:
                kinds = self.kinds
                return evaluate_formula(
                    comp.expr,
                    self.measures(comp.names),
                    [m for m in comp.names if kinds.get(m) == "money"],
                    pol.scale,
                    len(self),
                    what=f"value.formula.{name[2:]}",
                    customer_ids=p.customer_ids,
                )
            return exact_linear(
                [self.measure(n) for n in comp.names], [k for _, k in comp.terms], n=len(self), what=name[2:]
            )
        if name in self.inputs:
            return self.inputs[name]
        feats = {f.name: f for f in pol.features}
        if name in feats:
            ff = compute_features(p, [feats[name]], self.as_of, aum=pol.aum, amount_scale=pol.scale)
            return ff[name]
        if name in MONEY_COLUMNS or name == "card_level":
            col: NDArray[Any] = getattr(p, name)
            return col[:, a]
        if name == "aum":
            total = np.zeros(p.n_customers, np.int64)
            for c in pol.aum:
                total += getattr(p, c)[:, a]
            return total
        if name in ("monthly_margin", "annual_margin"):
            monthly, annual = customer_margins(p, pol, as_of=self.as_of)
            self._cache["monthly_margin"], self._cache["annual_margin"] = monthly, annual
            return monthly if name == "monthly_margin" else annual
        if name == "clv":
            return self.lifetime().clv
        if name == "markov_clv":
            return self.markov().clv
        if name == "aum_growth":
            months = self.spec.matrix.growth_months if self.spec.matrix is not None else 12
            base = max(a - months, 0)
            hs = p.history_start.astype(np.int64)
            late = np.flatnonzero(hs > base)  # joined later: growth since their first month
            then = np.zeros(p.n_customers, np.int64)
            for c in pol.aum:
                col = getattr(p, c)
                then += col[:, base]
                if late.size:
                    then[late] += col[late, hs[late]] - col[late, base]
            growth: NDArray[np.int64] = self.measure("aum") - then
            return growth
        if name == "value":
            comps = self.components()
            signs = [Decimal(1), Decimal(1), Decimal(-1), Decimal(-1)]
            return exact_linear([comps[c] for c in FORMULA_COMPONENTS], signs, what="value")
        if name == "sales":
            if self.sales_ledger is None:
                raise AnalyticsError(
                    "measure 'sales' needs a SalesLedger (sales=...) or an input array "
                    "(inputs={'sales': ...})"
                )
            months = self.spec.scoring.sales_months if self.spec.scoring is not None else 24
            first = self.as_of - (months - 1)
            lo, hi = _month_days(first, self.as_of)
            return sales_totals(self.sales_ledger, p.customer_ids, lo, hi)
        if name in self.kinds:
            raise AnalyticsError(f"measure {name!r} is a declared input; pass inputs={{{name!r}: array}}")
        raise AnalyticsError(f"unknown measure {name!r}; known: {', '.join(sorted(self.kinds))}")

    # ------------------------------------------------------------ output
    def report(self, names: Sequence[str] | None = None) -> Report:
        """A :class:`Report` of measures per customer (default: margins, CLV, value when defined)."""
        if names is None:
            names = ["aum", "monthly_margin", "annual_margin", "clv"]
            if any(not c.empty for c in self.spec.formula):
                names.append("value")
        kinds = self.kinds
        cols: dict[str, Any] = {"customer_id": self.customer_ids}
        cols.update(self.measures(names))
        return Report(
            title=f"Customer value at {self.as_of} ({ROUNDING})",
            columns=make_columns(cols),
            money=tuple(n for n in names if kinds.get(n) == "money"),
        )

    def __repr__(self) -> str:
        done = sorted(k for k in self._cache if not k.startswith("__"))
        return (
            f"<CustomerValue at {self.as_of}: {len(self):,} customers; computed: {', '.join(done) or 'none'}>"
        )


def _check_inputs(
    spec: ValueSpec, inputs: Mapping[str, ArrayLike] | None, n: int
) -> dict[str, NDArray[np.int64]]:
    declared = dict(spec.inputs)
    out: dict[str, NDArray[np.int64]] = {}
    for name, values in (inputs or {}).items():
        if name not in declared and name != "sales":
            raise AnalyticsError(
                f"input {name!r} is not declared in the policy's [value.inputs]"
                + (f" (declared: {', '.join(declared)})" if declared else "")
            )
        arr = np.asarray(values)
        if arr.shape != (n,):
            raise AnalyticsError(f"input {name!r} must have shape ({n},), got {arr.shape}")
        if arr.dtype.kind not in "iu" and not (arr.dtype.kind == "b"):
            raise AnalyticsError(
                f"input {name!r} must be integers (fen for money); got {arr.dtype} — convert floats "
                "with custvalue.money.from_float(..., rounding=...)"
            )
        if arr.dtype.kind == "u" and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
            raise AnalyticsError(f"input {name!r} exceeds int64")
        out[name] = readonly(arr.astype(np.int64))
    return out


def customer_value(
    portfolio: Portfolio,
    policy: Policy | None = None,
    *,
    as_of: MonthLike | None = None,
    tier_codes: ArrayLike | None = None,
    inputs: Mapping[str, ArrayLike] | None = None,
    sales: SalesLedger | None = None,
    chain: MarkovChain | None = None,
) -> CustomerValue:
    """The value measures of every customer at the as-of month (computed on demand).

    Parameters
    ----------
    portfolio, policy
        Customers and a policy with a ``[value]`` section.
    as_of
        Default: the portfolio's last month.
    tier_codes
        Tiers at the as-of month (``evaluate(...).tier_codes``), to reuse.
    inputs
        Arrays (int64, fen for money) of the policy's ``[value.inputs]``.
    sales
        A :class:`~custvalue.allocation.SalesLedger` for the ``sales`` measure.
    chain
        A :class:`MarkovChain` for ``markov_clv`` (estimated when needed otherwise).

    Examples
    --------
    >>> import numpy as np
    >>> from custvalue import Portfolio, default_policy
    >>> from custvalue.policy import Policy
    >>> doc = default_policy().to_dict()
    >>> doc["value"] = {"margins": {"deposits": "0.015", "credit_loan": "0.02"},
    ...                 "inputs": {"service_cost": "money"},
    ...                 "formula": {"explicit_value": "annual_margin",
    ...                             "implicit_value": {"card_spend_12m": "0.006"},
    ...                             "explicit_cost": "service_cost"}}
    >>> p = Portfolio.from_arrays(customer_ids=["A"], branch_ids=["X"], start="2026-10",
    ...     deposits=np.array([[1_000_000_00]]), credit_loan=np.array([[100_000_00]]),
    ...     card_spend=np.array([[50_000_00]]))
    >>> v = customer_value(p, Policy.from_dict(doc), inputs={"service_cost": np.array([2_000_00])})
    >>> v["annual_margin"].tolist()                    # 1,000,000 × 1.5 % + 100,000 × 2 %
    [1700000]
    >>> {k: x.tolist() for k, x in v.components().items()}     # doctest: +NORMALIZE_WHITESPACE
    {'explicit_value': [1700000], 'implicit_value': [30000],
     'explicit_cost': [200000], 'implicit_cost': [0]}
    >>> v["value"].tolist()          # 17,000 + 300 − 2,000 yuan
    [1530000]
    """
    pol = default_policy() if policy is None else policy
    spec = value_spec(pol)
    month, _ = resolve_as_of(portfolio, as_of)
    codes = None if tier_codes is None else readonly(np.asarray(tier_codes, dtype=np.int8))
    if codes is not None and codes.shape != (portfolio.n_customers,):
        raise AnalyticsError(f"tier_codes must have shape ({portfolio.n_customers},), got {codes.shape}")
    return CustomerValue(
        portfolio=portfolio,
        policy=pol,
        as_of=month,
        tier_codes=codes,
        inputs=_check_inputs(spec, inputs, portfolio.n_customers),
        sales_ledger=sales,
        chain=chain,
    )
