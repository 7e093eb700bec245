"""Campaign runs (营销自动化): the policy's ``[[campaigns]]`` over every customer at once.

:func:`run_campaigns` compiles every campaign's selection (its tier and
status lists and ``when`` tests) and every exclusion into **one** COLLECT
decision table, evaluates it once over all customers (one boolean row per
rule), then walks the campaigns in priority order — a loop over campaigns,
vectorised over customers:

1. *matched*: the selection holds (and the customer has data at the as-of month);
2. *excluded*: an exclusion of the campaign matches — exclusions win;
3. *capped*: the contact cap has no room: contacts in the ``days`` days ending
   on the run date (this campaign's, or every campaign's for
   ``scope = "all"``, counting the contacts this run made before) already reach ``contacts``;
4. *preempted*: an exclusive campaign run before it took the customer
   (a customer gets at most one exclusive campaign per run; non-exclusive
   campaigns neither take nor skip customers);
5. *targeted*: everything else that matched.

Each target carries its manager from an :class:`~custvalue.allocation.AllocationBook`:
the primary manager on the run date, or the branch whose unallocated pool
holds the customer.

When the policy has a ``[value]`` section, the value outputs a campaign tests
(``clv``, ``annual_margin``, ``markov_clv``, ``value`` and its components,
``score``, ``grade`` ...; see :func:`custvalue.policy.value_outputs`) are
computed by the run — only those tested, once, from one
:class:`~custvalue.analytics.CustomerValue` — unless the caller supplies them
in ``measures``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs
import numpy as np
from numpy.typing import NDArray

from .._arrays import readonly
from .._ids import IdLookup
from ..allocation import AllocationBook
from ..months import Month
from ..policy import FORMULA_COMPONENTS, STATUSES, CampaignSpec, Policy, default_policy
from ..portfolio import Portfolio
from ..rules import (
    CodedColumn,
    DecisionTable,
    NullableColumn,
    compile_table,
    evaluate_expression,
    explain_columns,
    parse_unary_tests,
)
from ..rules.ast import EqualTest
from ..tiering import TierResult
from ._contacts import Contacts
from ._errors import AnalyticsError
from ._measures import CustomerValue, customer_value
from ._monitor import as_month
from ._scoring import ScoreResult, score_customers
from ._segments import SegmentResult, evaluate_segments, input_frame
from ._table import Report, make_columns
from ._transactions import Transactions

__all__ = ["OUTCOMES", "TARGET_COLUMNS", "CampaignRun", "campaign_order", "campaign_table", "run_campaigns"]

#: What happened to a customer in a campaign (codes of :attr:`CampaignRun.outcomes`).
OUTCOMES: Final[tuple[str, ...]] = ("not_matched", "excluded", "capped", "preempted", "targeted")
NOT_MATCHED, EXCLUDED, CAPPED, PREEMPTED, TARGETED = range(5)
#: Columns of a target list, in order.
TARGET_COLUMNS: Final[tuple[str, ...]] = (
    "campaign_id",
    "campaign_name",
    "rank",
    "customer_id",
    "branch_id",
    "tier",
    "status",
    "aum",
    "manager_id",
    "allocation",
    "pool_branch_id",
    "actions",
    "reasons",
)


def campaign_order(campaigns: Sequence[CampaignSpec]) -> list[int]:
    """Indices of the enabled campaigns in run order.

    By priority (lower first, unnumbered last), then document order.

    >>> from custvalue.policy import CampaignSpec
    >>> campaign_order([CampaignSpec("a"), CampaignSpec("b", priority=2), CampaignSpec("c", priority=1)])
    [2, 1, 0]
    """
    live = [i for i, c in enumerate(campaigns) if c.enabled]
    return sorted(live, key=lambda i: (campaigns[i].priority is None, campaigns[i].priority or 0, i))


def _selection(c: CampaignSpec) -> dict[str, str]:
    sel: dict[str, str] = {}
    if c.tiers:
        sel["tier"] = ", ".join(f'"{t}"' for t in c.tiers)
    if c.statuses:
        sel["status"] = ", ".join(f'"{s}"' for s in c.statuses)
    for k, v in c.when:
        sel[k] = v if k not in sel else sel[k]  # tier/status lists and a when test: both must hold
    return sel


def campaign_table(campaigns: Sequence[CampaignSpec]) -> DecisionTable:
    """The COLLECT table of a run: per campaign a rule ``<id>`` (its selection) and ``<id>.exclude<j>``.

    A campaign that lists tiers *and* tests ``tier`` in ``when`` gets a second
    rule ``<id>.when`` for the ``when`` test (both must hold).

    >>> from custvalue.policy import marketing_policy
    >>> t = campaign_table(marketing_policy().campaigns)
    >>> t.rule_ids[:4]
    ('retain_at_risk', 'upgrade_near_floor', 'wake_dormant', 'wake_dormant.exclude0')
    """
    names: dict[str, None] = {}
    for c in campaigns:
        for n in c.inputs:
            names.setdefault(n, None)
    inputs = list(names)
    rules: list[tuple[str, list[str], list[str]]] = []
    for c in campaigns:
        sel = _selection(c)
        rules.append((c.id, [sel.get(n, "-") for n in inputs], [f'"{c.id}"']))
        clash = {k: v for k, v in c.when if (k == "tier" and c.tiers) or (k == "status" and c.statuses)}
        if clash:
            rules.append((f"{c.id}.when", [clash.get(n, "-") for n in inputs], [f'"{c.id}"']))
        for j, ex in enumerate(c.exclude):
            d = dict(ex)
            rules.append((f"{c.id}.exclude{j}", [d.get(n, "-") for n in inputs], [f'"{c.id}"']))
    return DecisionTable("campaigns", "COLLECT", inputs, ["campaign"], rules)


def _show(name: str, test: str) -> str:
    """A test for people: ``tier in (gold, platinum)``, ``activity = dormant``, ``aum >= 100000``."""
    ut = parse_unary_tests(test)
    if not ut.negated and ut.tests and all(isinstance(t, EqualTest) for t in ut.tests):
        values = [evaluate_expression(t.endpoint, {}) for t in ut.tests]  # type: ignore[union-attr]
        if all(isinstance(v, str) for v in values):
            return (
                f"{name} = {values[0]}" if len(values) == 1 else f"{name} in ({', '.join(map(str, values))})"
            )
    return f"{name} {test}"


def _reason(c: CampaignSpec) -> str:
    parts = [_show(k, v) for k, v in _selection(c).items()]
    parts += [_show(k, v) for k, v in c.when if (k == "tier" and c.tiers) or (k == "status" and c.statuses)]
    return f"{c.id}: " + ("; ".join(parts) if parts else "everyone")


@attrs.frozen(eq=False, repr=False, kw_only=True)
class CampaignRun(Report):
    """A campaign run's target list: one row per (campaign, customer) target, campaign by campaign.

    Columns (:data:`TARGET_COLUMNS`): ``campaign_id``, ``campaign_name``,
    ``rank`` (1 = the campaign that ran first), ``customer_id``,
    ``branch_id``, ``tier``, ``status``, ``aum`` (fen at the as-of month),
    ``manager_id`` (the primary manager on the run date, ``""`` if none),
    ``allocation`` (``allocated``, ``pool`` — in its branch's unallocated
    pool, ``not_in_book``, or ``no_book`` when no book was given),
    ``pool_branch_id`` (the branch that serves an unallocated customer),
    ``actions`` (the campaign's action codes, ``;``-joined) and ``reasons``
    (the campaign's tests that admitted the customer).

    Attributes
    ----------
    campaign_ids : tuple of str
        Enabled campaigns in run order.
    outcomes : ndarray of int8, shape (n_campaigns, n_customers)
        Per campaign (run order) and customer, the index into :data:`OUTCOMES`.
    segments : SegmentResult
        The labels and inputs the campaigns read.
    run_date : datetime.date
    """

    policy: Policy
    as_of: Month
    run_date: _dt.date
    campaign_ids: tuple[str, ...]
    outcomes: NDArray[np.int8]
    segments: SegmentResult
    table: DecisionTable

    def stats(self) -> Report:
        """Per campaign: customers matched, excluded, capped, preempted and targeted."""
        counts = (
            np.stack([(self.outcomes == k).sum(axis=1) for k in range(len(OUTCOMES))])
            if len(self.campaign_ids)
            else np.zeros((len(OUTCOMES), 0), np.int64)
        )
        cols: dict[str, Any] = {"campaign_id": list(self.campaign_ids)}
        cols["matched"] = counts[1:].sum(axis=0)
        for k, name in enumerate(OUTCOMES[1:], start=1):
            cols[name] = counts[k]
        return Report(title=f"campaign run of {self.run_date}", columns=make_columns(cols))

    def counts(self) -> dict[str, int]:
        """Targets per campaign, in run order."""
        return {c: int((self.outcomes[k] == TARGETED).sum()) for k, c in enumerate(self.campaign_ids)}

    def targets_of(self, campaign_id: str) -> NDArray[np.str_]:
        """The customer ids a campaign targets, in portfolio order."""
        k = self.campaign_ids.index(campaign_id)
        ids: NDArray[np.str_] = self.segments.customer_ids[self.outcomes[k] == TARGETED]
        return ids

    def outcome(self, campaign_id: str, customer_id: str) -> str:
        """What happened to a customer in a campaign (one of :data:`OUTCOMES`)."""
        k = self.campaign_ids.index(campaign_id)
        i = int(self.segments.result.index_of(customer_id))
        return OUTCOMES[int(self.outcomes[k, i])]

    def explain(self, customer_id: str) -> str:
        """Each campaign's outcome for a customer, with the tests and the values they read.

        >>> from custvalue.synthetic import generate
        >>> from custvalue.policy import marketing_policy
        >>> run = run_campaigns(generate(300, seed=3), marketing_policy())
        >>> print(run.explain(run.targets_of("wake_dormant")[0]))  # doctest: +ELLIPSIS
        customer C0000033, as of 2026-10, run 2026-10-31
          retain_at_risk: not_matched — rule retain_at_risk did not match: lifecycle = "mature" = "at_risk"
          upgrade_near_floor: not_matched — rule upgrade_near_floor did not match: ...
          wake_dormant: targeted — rule wake_dormant matched: tier = "platinum" in ("platinum", "gold"); ...
          welcome_new: not_matched — rule welcome_new did not match: lifecycle = "mature" = "new"
          wealth_cross_sell: not_matched — ...
        """
        i = int(self.segments.result.index_of(customer_id))
        frame = self.segments.inputs
        cols = frame.need(self.table.input_names)
        scales = {k: v for k, v in frame.scales.items() if k in cols}
        e = explain_columns(self.table, cols, i, scales=scales)
        by_rule = {r.rule_id: r for r in e.rules}
        lines = [f"customer {customer_id}, as of {self.as_of}, run {self.run_date}"]
        for k, cid in enumerate(self.campaign_ids):
            o = OUTCOMES[int(self.outcomes[k, i])]
            detail = str(by_rule[cid])
            if o == "excluded":
                detail = "; ".join(
                    str(r) for rid, r in by_rule.items() if rid.startswith(f"{cid}.exclude") and r.matched
                )
            lines.append(f"  {cid}: {o} — {detail}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        c = ", ".join(f"{k}={v:,}" for k, v in self.counts().items())
        return f"<CampaignRun {self.run_date}: {len(self):,} targets ({c})>"


@attrs.frozen(eq=False)
class _ContactIndex:
    """A contact history mapped once onto the portfolio: row, campaign code and day of each contact."""

    rows: NDArray[np.intp]
    campaign_ids: NDArray[np.str_]
    days: NDArray[np.int64]

    @classmethod
    def build(
        cls, contacts: Contacts | None, ids: NDArray[np.str_], run_date: _dt.date, days: int
    ) -> _ContactIndex | None:
        """The contacts of the ``days`` days ending on ``run_date`` (the widest cap window) only."""
        if contacts is None or len(contacts) == 0 or days <= 0:
            return None
        end = int(np.datetime64(run_date, "D").astype(np.int64))
        day = contacts.dates.astype("datetime64[D]").astype(np.int64)
        window = (day <= end) & (day > end - days)
        rows, keep = IdLookup(ids).rows(contacts.customer_ids[window])
        # other customers' contacts do not count here
        return cls(rows=rows[keep], campaign_ids=contacts.campaign_ids[window][keep], days=day[window][keep])

    def counts(self, campaign_id: str | None, days: int, run_date: _dt.date, n: int) -> NDArray[np.int64]:
        """Per customer (portfolio row), contacts in the ``days`` days ending on ``run_date``."""
        end = int(np.datetime64(run_date, "D").astype(np.int64))
        pick = (self.days <= end) & (self.days > end - days)
        if campaign_id is not None:
            pick &= self.campaign_ids == campaign_id
        return np.bincount(self.rows[pick], minlength=n).astype(np.int64, copy=False)


def _rm_columns(
    book: AllocationBook | None, portfolio: Portfolio, run_date: _dt.date, cust: NDArray[np.intp]
) -> tuple[NDArray[np.str_], NDArray[np.str_], NDArray[np.str_]]:
    """``manager_id``, ``allocation`` and ``pool_branch_id`` of the target rows ``cust``.

    One vectorised book query (:meth:`AllocationBook.primary_managers`) for
    the targets on the run date.
    """
    k = cust.size
    if book is None:
        return np.full(k, ""), np.full(k, "no_book"), portfolio.branch_ids[cust]
    if not isinstance(book, AllocationBook):
        raise AnalyticsError(f"book must be an AllocationBook, got {type(book).__name__}")
    pm = book.primary_managers(portfolio.customer_ids[cust], run_date)
    state = np.where(pm.is_allocated, "allocated", np.where(pm.in_book, "pool", "not_in_book"))
    branch = np.where(
        state == "pool", pm.branch_ids, np.where(state == "not_in_book", portfolio.branch_ids[cust], "")
    )
    return pm.primary.astype(str), state.astype(str), branch.astype(str)


#: Value measures a run computes itself (policy with a [value] section), as CustomerValue names them.
_AUTO_NUMBERS: Final[tuple[str, ...]] = ("monthly_margin", "annual_margin", "clv", "markov_clv", "aum_growth")


def _auto_names(pol: Policy) -> dict[str, str]:
    """Campaign name -> how to compute it (a CustomerValue measure, ``"score"`` or ``"grade"``)."""
    v = pol.value
    if v is None:
        return {}
    out = {n: n for n in _AUTO_NUMBERS}
    if any(not c.empty for c in v.formula):
        out["value"] = "value"
        out.update({c: f"__{c}" for c in FORMULA_COMPONENTS})
    if v.scoring is not None:
        out["score"] = "score"
        if v.scoring.grades:
            out["grade"] = "grade"
    return out


def _measures(
    frame: Any,
    measures: Mapping[str, Any] | None,
    campaigns: Sequence[CampaignSpec],
    values: Any,
) -> tuple[str, ...]:
    """Add the supplied measures and the value outputs the campaigns test; the names computed here."""
    supplied = dict(measures or {})
    n = frame.n
    pol: Policy = frame.policy
    auto = _auto_names(pol)
    inputs_known = {f.name for f in pol.features}
    if pol.segments is not None:
        inputs_known |= {f.name for f in pol.segments.features}
    wanted: dict[str, None] = {}
    for c in campaigns:
        for m in (*c.inputs, *c.measures):
            if m in supplied or m in frame.columns or m in inputs_known:
                continue
            if m in auto:
                wanted.setdefault(m, None)
            elif m in c.measures:
                raise AnalyticsError(
                    f"campaign {c.id!r} tests the measure {m!r}: pass measures={{{m!r}: values}}",
                    path=f"campaigns[{c.id}].measures",
                )
    for name, value in supplied.items():
        scale = 1
        if isinstance(value, tuple):
            value, scale = value
        col = value if isinstance(value, NullableColumn) else np.asarray(value)
        if len(col) != n:
            raise AnalyticsError(f"measure {name!r} has {len(col)} values for {n} customers")
        if isinstance(col, np.ndarray) and col.dtype.kind not in "iuf":
            raise AnalyticsError(f"measure {name!r} must be numbers, got dtype {col.dtype}")
        frame.add(name, col, int(scale))
    if not wanted:
        return ()
    cv = values() if callable(values) else values
    scores: ScoreResult | None = None
    for name in wanted:
        how = auto[name]
        if how in ("score", "grade"):
            if scores is None:
                scores = score_customers(cv)
            if how == "score":
                frame.add(name, scores.score, 10**scores.spec.places)
            else:
                ids = tuple(g.id for g in scores.spec.grades)
                frame.add(name, CodedColumn(scores.grade_codes, ids))
        else:
            frame.add(name, cv.measure(how), pol.scale)
    return tuple(wanted)


def run_campaigns(
    portfolio: Portfolio,
    policy: Policy | None = None,
    as_of: Month | str | None = None,
    *,
    result: TierResult | None = None,
    segments: SegmentResult | None = None,
    book: AllocationBook | None = None,
    contacts: Contacts | None = None,
    transactions: Transactions | None = None,
    measures: Mapping[str, Any] | None = None,
    values: CustomerValue | None = None,
    run_date: _dt.date | None = None,
) -> CampaignRun:
    """Run the policy's campaigns: the target list with reasons and each target's manager.

    Parameters
    ----------
    portfolio
        The customers.
    policy
        A policy with ``[[campaigns]]`` (e.g. :func:`custvalue.policy.marketing_policy`).
    as_of
        The month (default: the portfolio's last).
    result, segments
        The tier result and segment labels to use (computed when omitted).
    book
        Allocation book: each target's primary manager (or branch pool) on the run date.
    contacts
        Contact history for the contact caps.
    transactions
        For the transaction segment features (when ``segments`` is omitted).
    measures
        Values of names the campaigns test (e.g. a CLV of the caller's own
        model): an array per name (compared as is, in the policy's unit) or
        ``(array, scale)`` with ``scale`` stored units per unit (100: fen vs
        yuan).  Needed for names declared in a campaign's ``measures``; with a
        ``[value]`` section the value outputs (``clv``, ``annual_margin``,
        ``value``, ``grade`` ...) are computed when not given here.
    values
        The :class:`CustomerValue` to read value outputs from (to reuse one,
        or to give its ``inputs``, sales ledger or Markov chain); default one
        built from the portfolio, the policy and the tier result.
    run_date
        The day of the run (caps count the contacts up to it; the book is
        read on it); default the last day of the as-of month.

    Returns
    -------
    CampaignRun

    Examples
    --------
    >>> from custvalue.synthetic import generate
    >>> from custvalue.policy import marketing_policy
    >>> run = run_campaigns(generate(2000, seed=5), marketing_policy())
    >>> run.counts()  # doctest: +NORMALIZE_WHITESPACE
    {'retain_at_risk': 32, 'upgrade_near_floor': 9, 'wake_dormant': 78,
     'welcome_new': 13, 'wealth_cross_sell': 67}
    >>> run.column_names[:4]
    ('campaign_id', 'campaign_name', 'rank', 'customer_id')
    """
    pol = default_policy() if policy is None else policy
    if not isinstance(pol, Policy):
        raise AnalyticsError(f"policy must be a Policy, got {type(pol).__name__}")
    if not pol.campaigns:
        raise AnalyticsError(f"policy {pol.name!r} has no [[campaigns]]")
    month = portfolio.months.stop if as_of is None else as_month(as_of, "as-of month")
    if segments is None:
        seg = evaluate_segments(input_frame(portfolio, pol, month, result, transactions))
    else:
        if not isinstance(segments, SegmentResult):
            raise AnalyticsError(f"segments must be a SegmentResult, got {type(segments).__name__}")
        same = segments.customer_ids is portfolio.customer_ids or np.array_equal(
            segments.customer_ids, portfolio.customer_ids
        )
        if segments.as_of != month or not same:
            raise AnalyticsError("the segment result is of another portfolio or month")
        seg = segments
    if contacts is not None and not isinstance(contacts, Contacts):
        raise AnalyticsError(f"contacts must be Contacts, got {type(contacts).__name__}")
    day = run_date if run_date is not None else month.last_day
    if not isinstance(day, _dt.date):
        raise AnalyticsError(f"run_date must be a datetime.date, got {type(day).__name__}")
    frame = seg.inputs
    live = [pol.campaigns[i] for i in campaign_order(pol.campaigns)]
    if values is not None:
        if not isinstance(values, CustomerValue):
            raise AnalyticsError(f"values must be a CustomerValue, got {type(values).__name__}")
        if values.as_of != month or not np.array_equal(values.customer_ids, portfolio.customer_ids):
            raise AnalyticsError("the customer values are of another portfolio or month")

    def build() -> CustomerValue:
        if values is not None:
            return values
        return customer_value(portfolio, pol, as_of=month, tier_codes=seg.result.tier_codes)

    _measures(frame, measures, live, build)
    n = portfolio.n_customers
    table = campaign_table(live)
    cols = frame.need(table.input_names)
    scales = {k: v for k, v in frame.scales.items() if k in cols}
    matches = compile_table(table, scales=scales).match_matrix(cols, n_rows=n)
    rule_of = {rid: r for r, rid in enumerate(table.rule_ids)}
    has = seg.result.tier_codes >= 0
    ids = portfolio.customer_ids
    widest = max((c.cap.days for c in live if c.cap is not None), default=0)
    history = _ContactIndex.build(contacts, ids, day, widest)
    outcomes = np.zeros((len(live), n), dtype=np.int8)
    run_all = np.zeros(n, np.int64)  # contacts this run made so far
    taken = np.zeros(n, bool)  # customers an exclusive campaign took
    for k, c in enumerate(live):
        ok = matches[rule_of[c.id]] & has
        if f"{c.id}.when" in rule_of:
            ok &= matches[rule_of[f"{c.id}.when"]]
        excluded = np.zeros(n, bool)
        for j in range(len(c.exclude)):
            excluded |= matches[rule_of[f"{c.id}.exclude{j}"]]
        excluded &= ok
        left = ok & ~excluded
        capped = np.zeros(n, bool)
        if c.cap is not None:
            scope_all = c.cap.scope == "all"
            prior = (
                np.zeros(n, np.int64)
                if history is None
                else history.counts(None if scope_all else c.id, c.cap.days, day, n)
            )
            if scope_all:
                prior = prior + run_all
            capped = left & (prior >= c.cap.contacts)
        left &= ~capped
        pre = left & taken if c.exclusive else np.zeros(n, bool)
        target = left & ~pre
        # codes rise with each step passed: matched 1 (excluded), 2 (capped), 3 (preempted), 4 (targeted)
        out = outcomes[k]
        np.add(ok.view(np.int8), (ok & ~excluded).view(np.int8), out=out)
        out += (ok & ~excluded & ~capped).view(np.int8)
        out += target.view(np.int8)
        run_all += target
        if c.exclusive:
            taken |= target
    if book is not None and not isinstance(book, AllocationBook):
        raise AnalyticsError(f"book must be an AllocationBook, got {type(book).__name__}")
    camp_k, cust = np.nonzero(outcomes == TARGETED)  # campaign-major, customers in portfolio order
    manager, state, pool = _rm_columns(book, portfolio, day, cust)
    tier_lut = np.asarray([*pol.tier_order, ""])
    status_lut = np.asarray([*STATUSES, ""])
    tcodes = seg.result.tier_codes[cust]
    tiers_t = tier_lut[np.where(tcodes < 0, len(pol.tier_order), tcodes)]
    statuses_t = status_lut[seg.result.status_codes[cust]]
    names = np.asarray([c.name or "" for c in live] or [""])
    acts = np.asarray([";".join(c.actions) for c in live] or [""])
    reasons = np.asarray([_reason(c) for c in live] or [""])
    empty = cust.size == 0
    cols_out = {
        "campaign_id": np.asarray([c.id for c in live] or [""])[camp_k] if not empty else np.zeros(0, "<U1"),
        "campaign_name": names[camp_k] if not empty else np.zeros(0, "<U1"),
        "rank": (camp_k + 1).astype(np.int64),
        "customer_id": ids[cust],
        "branch_id": portfolio.branch_ids[cust],
        "tier": tiers_t,
        "status": statuses_t,
        "aum": frame.get("aum").values[cust],
        "manager_id": manager,
        "allocation": state,
        "pool_branch_id": pool,
        "actions": acts[camp_k] if not empty else np.zeros(0, "<U1"),
        "reasons": reasons[camp_k] if not empty else np.zeros(0, "<U1"),
    }
    return CampaignRun(
        title=f"campaign targets of {pol.name} as of {month} (run {day})",
        columns=make_columns(cols_out),
        money=("aum",),
        policy=pol,
        as_of=month,
        run_date=day,
        campaign_ids=tuple(c.id for c in live),
        outcomes=readonly(outcomes),
        segments=seg,
        table=table,
    )
