"""Asset monitoring (客户资产监测): per-customer measures at an as-of month and their roll-ups."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from .._arrays import Scratch, exact_group_sums, peak, readonly
from ..months import Month
from ..policy import MONITOR_MEASURES, CompiledPolicy, Policy, default_policy
from ..portfolio import Portfolio
from ..tiering import Block
from ._errors import AnalyticsError
from ._table import Report, group_codes, half_even_div, make_columns, ratio_bp, ratio_parts

__all__ = ["AVERAGE_WINDOWS", "MEASURE_COLUMNS", "AssetMonitor", "MonitorBuild", "as_month", "asset_monitor"]

#: Months averaged by ``aum_avg_3m``, ``aum_avg_6m``, ``aum_avg_12m`` (the as-of month and the ones before).
AVERAGE_WINDOWS = (3, 6, 12)

#: The monitor column holding each policy measure (percent measures are stored in basis points).
MEASURE_COLUMNS: dict[str, str] = {
    m: (m.replace("_pct", "_pct_bp") if m.endswith("_pct") else m) for m in MONITOR_MEASURES
}

_MONEY = (
    "aum",
    "deposit_total",
    "investment_total",
    "loan_total",
    "aum_prev_month",
    "aum_change_mom",
    "aum_prev_year",
    "aum_change_yoy",
    "aum_avg_3m",
    "aum_avg_6m",
    "aum_avg_12m",
)


def as_month(month: Month | str, what: str = "month") -> Month:
    """A :class:`Month` from a month or ``"YYYY-MM"``; :class:`AnalyticsError` otherwise."""
    if isinstance(month, Month):
        return month
    if isinstance(month, str):
        try:
            return Month.parse(month)
        except ValueError as exc:
            raise AnalyticsError(f"{what} {month!r} is not a month (YYYY-MM): {exc}") from None
    raise AnalyticsError(f"{what} must be a Month or 'YYYY-MM', got {type(month).__name__}")


def month_index(portfolio: Portfolio, month: Month | str, what: str = "as-of month") -> tuple[Month, int]:
    """The month and its column in the portfolio; :class:`AnalyticsError` when it is outside."""
    m = as_month(month, what)
    if m not in portfolio.months:
        raise AnalyticsError(f"{what} {m} is outside the portfolio's months {portfolio.months}", month=str(m))
    return m, portfolio.months.index(m)


@attrs.frozen(eq=False, repr=False, kw_only=True)
class AssetMonitor(Report):
    """Per-customer asset measures at one month (SPEC section 6); immutable, columnar.

    One row per customer of the portfolio, in its order.  Money columns are
    int64 fen.  Columns:

    ``customer_id``, ``branch_id``, ``household_id`` (``""`` when the portfolio has none),
    ``has_data`` (the customer has data at the as-of month),
    ``aum`` (the policy's AUM classes), ``deposit_total``, ``investment_total``
    (wealth + investments), ``loan_total`` (mortgage + credit),
    ``aum_prev_month``, ``aum_change_mom``, ``aum_change_mom_pct_bp``,
    ``aum_prev_year``, ``aum_change_yoy``, ``aum_change_yoy_pct_bp``,
    ``aum_avg_3m`` / ``_6m`` / ``_12m`` and ``aum_avg_*_complete``.

    **Nulls.**  A change is null (see :attr:`valid`) when the earlier month is
    not in the customer's history; a percent change is also null when the
    earlier AUM is 0 (a change from nothing has no percentage).  Null values
    are stored as 0.

    **Rounding.**  Percent changes are basis points (``-3000`` is -30.00 %),
    ``change × 10000 / base`` rounded half-to-even in exact integers.
    Averages are integer fen, the exact sum over the months divided by their
    number, rounded half-to-even; over the months that exist when the history
    is shorter than the window (``aum_avg_*_complete`` is then ``False``).

    Examples
    --------
    >>> import numpy as np
    >>> from custvalue import Portfolio
    >>> p = Portfolio.from_arrays(customer_ids=["A", "B"], branch_ids=["X", "X"], start="2026-09",
    ...                           deposits=np.array([[1_000_000_00, 600_000_00], [0, 5_00]]))
    >>> m = asset_monitor(p, "2026-10")
    >>> m.column("aum_change_mom").tolist(), m.column("aum_change_mom_pct_bp").tolist()
    ([-40000000, 500], [-4000, 0])
    >>> m.valid["aum_change_mom_pct_bp"].tolist()     # B's base is 0: no percentage
    [True, False]
    >>> m.row("A")["aum_avg_3m"], m.row("A")["aum_avg_3m_complete"]
    (80000000, False)
    """

    as_of: Month
    policy: Policy
    portfolio: Portfolio
    pct_codes: dict[str, NDArray[np.int64]]

    def comparison_column(self, name: str) -> tuple[NDArray[np.int64], NDArray[np.bool_], int]:
        """What the alert table compares for a measure: values, validity and stored units per policy unit.

        Amounts are fen (``policy.scale`` per unit).  Percentages are the exact
        codes of :func:`ratio_code` (200 per percent), so a threshold such as
        ``<= -30`` is decided on the exact ratio, not on the rounded basis points.
        """
        values, valid = self.measure(name)
        if name in self.pct_codes:
            return self.pct_codes[name], valid, 200
        return values, valid, self.policy.scale

    def row(self, customer_id: str) -> dict[str, Any]:
        """All measures of one customer (``None`` where null)."""
        i = self.index_of(customer_id)
        out: dict[str, Any] = {}
        for k, v in self.columns.items():
            val = v[i].item()
            out[k] = None if k in self.valid and not bool(self.valid[k][i]) else val
        return out

    def index_of(self, customer_id: str) -> int:
        """Row of a customer; :class:`AnalyticsError` when unknown."""
        try:
            return int(self.portfolio.index_of(customer_id)[0])
        except (KeyError, ValueError):
            raise AnalyticsError("unknown customer", customer_id=customer_id) from None

    def by_branch(self) -> Report:
        """The measures summed per branch (exact; an overflowing total raises).

        Percent changes are recomputed from the summed changes and bases of
        the customers whose change is defined.
        """
        return _rollup(self, self.columns["branch_id"], "branch_id", "asset monitoring by branch")

    def by_household(self) -> Report:
        """The measures summed per household (the portfolio's ``household_ids``)."""
        if self.portfolio.household_ids is None:
            raise AnalyticsError(
                "the portfolio has no household ids; by_household needs them", column="household_id"
            )
        return _rollup(self, self.columns["household_id"], "household_id", "asset monitoring by household")

    def measure(self, name: str) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """Values (fen or basis points) and validity of a policy measure (:data:`MONITOR_MEASURES`)."""
        if name not in MEASURE_COLUMNS:
            raise AnalyticsError(f"unknown measure {name!r}; known: {', '.join(MEASURE_COLUMNS)}")
        col = MEASURE_COLUMNS[name]
        valid = self.valid.get(col, self.columns["has_data"])
        return self.columns[col], valid


def _window_means(
    aum_months: NDArray[np.int64],
    lo: int,
    hs: NDArray[np.int64],
    latest: int,
    a: int,
    cols: dict[str, Any],
    rows: slice,
    scratch: Scratch | None = None,
) -> None:
    """Mean AUM over each of :data:`AVERAGE_WINDOWS` ending at ``a``, and whether the window is complete.

    ``aum_months[j - lo]``: the block's AUM at month ``j``.  The windows are
    nested: each longer sum extends the shorter one by the months it adds.
    Within a customer the sums cannot overflow (each cell is bounded by the
    portfolio's checks).  A history starting inside a window: only its
    months count; no data at ``a``: mean 0.  Written into ``cols`` at ``rows``.
    """
    ws = Scratch() if scratch is None else scratch
    total = ws.array("means_total", aum_months[a - lo].shape, np.int64)
    np.copyto(total, aum_months[a - lo])
    done = a  # months done..a are summed
    for w in AVERAGE_WINDOWS:
        first = max(0, a - w + 1)
        for j in range(done - 1, first - 1, -1):
            total += aum_months[j - lo]
        done = min(done, first)
        count = a + 1 - first
        mean = cols[f"aum_avg_{w}m"][rows]
        half_even_div(total, count, out=mean, scratch=ws)  # type: ignore[arg-type]  # one divisor: the fast division
        if latest > first:  # histories starting inside the window: only their months count
            short = np.flatnonzero(hs > first)
            mean[short] = half_even_div(total[short], np.maximum(a + 1 - hs[short], 0))
        complete = cols[f"aum_avg_{w}m_complete"][rows]
        if a - w + 1 >= 0:
            np.less_equal(hs, a - w + 1, out=complete)
        else:
            complete[...] = False


def asset_monitor(
    portfolio: Portfolio, as_of: Month | str | None = None, policy: Policy | CompiledPolicy | None = None
) -> AssetMonitor:
    """Asset measures of every customer at ``as_of`` (default: the portfolio's last month).

    Parameters
    ----------
    portfolio
        The customers × months balances.
    as_of
        The month (``Month`` or ``"YYYY-MM"``), inside the portfolio.
    policy
        Whose AUM classes define ``aum`` (default: :func:`custvalue.default_policy`).

    Returns
    -------
    AssetMonitor

    Raises
    ------
    AnalyticsError
        ``as_of`` is not a month or is outside the portfolio.

    Examples
    --------
    >>> from custvalue.synthetic import generate
    >>> m = asset_monitor(generate(100, seed=1), "2026-10")
    >>> len(m), m.as_of
    (100, Month(2026, 10))
    """
    pol: Any = default_policy() if policy is None else policy
    if isinstance(pol, CompiledPolicy):
        pol = pol.policy
    if not isinstance(pol, Policy):
        raise AnalyticsError(f"policy must be a Policy, got {type(pol).__name__}")
    if not isinstance(portfolio, Portfolio):
        raise AnalyticsError(f"portfolio must be a Portfolio, got {type(portfolio).__name__}")
    m, a = month_index(portfolio, portfolio.months.stop if as_of is None else as_of)
    build = MonitorBuild(portfolio, pol, m, a)
    # row blocks: a block's months of AUM stay in cache while every measure is taken from them
    n = portfolio.n_customers
    for start in range(0, n, _MONITOR_CHUNK):
        rows = slice(start, min(n, start + _MONITOR_CHUNK))
        build.block(Block(portfolio, rows, build.first_month, a, pol.aum, pol.scale))
    return build.result()


#: Customers per row block of :func:`asset_monitor`.
_MONITOR_CHUNK = 32768


class MonitorBuild:
    """An :class:`AssetMonitor` filled row block by row block (:meth:`block`), then sealed (:meth:`result`).

    A block is a :class:`~custvalue.tiering.Block` of the policy's AUM
    classes from :attr:`first_month` (or earlier) to the as-of month: the
    report set shares the evaluation's blocks, whose AUM is computed once.
    """

    def __init__(self, portfolio: Portfolio, policy: Policy, month: Month, a: int) -> None:
        n = portfolio.n_customers
        self.portfolio, self.policy, self.month, self.a = portfolio, policy, month, a
        #: The first month a block must hold: the year-over-year base.
        self.first_month = max(0, min(a - 12, a - max(AVERAGE_WINDOWS) + 1))
        self.hs_all = portfolio.history_start.astype(np.int64)
        self.latest = int(self.hs_all.max()) if n else 0  # the latest history start
        self.aum_classes = tuple(policy.aum)
        cols: dict[str, Any] = {
            "customer_id": portfolio.customer_ids,
            "branch_id": portfolio.branch_ids,
            "household_id": portfolio.household_ids
            if portfolio.household_ids is not None
            else np.full(n, "", "<U1"),
            "has_data": self.hs_all <= a,
        }
        # the columns, in report order
        valid: dict[str, Any] = {}
        codes: dict[str, NDArray[np.int64]] = {}
        for c in ("aum", "deposit_total", "investment_total", "loan_total"):
            cols[c] = np.empty(n, np.int64)
        for tag, short in (("month", "mom"), ("year", "yoy")):
            for c in (f"aum_prev_{tag}", f"aum_change_{short}", f"aum_change_{short}_pct_bp"):
                cols[c] = np.empty(n, np.int64)
                valid[c] = np.empty(n, np.bool_)
            codes[f"aum_change_{short}_pct"] = np.empty(n, np.int64)
        for w in AVERAGE_WINDOWS:
            cols[f"aum_avg_{w}m"] = np.empty(n, np.int64)
            cols[f"aum_avg_{w}m_complete"] = np.empty(n, np.bool_)
        self.cols, self.valid, self.codes = cols, valid, codes
        self.scratch = Scratch()  # the blocks' work arrays, the same memory every block
        #: The largest value so far of each rolled-up amount column (the roll-ups' overflow bound).
        self.peaks = dict.fromkeys(_SUMMED, 0)

    def block(self, block: Block) -> None:
        """The measures of one row block, written into the monitor's columns at its rows."""
        if block.lo > self.first_month or block.hi != self.a or tuple(block.aum_cols) != self.aum_classes:
            raise ValueError("the block does not hold the months and AUM classes the monitor reads")
        portfolio, a, rows = self.portfolio, self.a, block.rows
        cols, valid, codes = self.cols, self.valid, self.codes
        hs, lo = block.hs, block.lo
        size = rows.stop - rows.start
        aum_months = block.column("aum")  # (months lo..a, rows): cells before a history start are 0
        aum = aum_months[a - lo]
        cols["aum"][rows] = aum
        peaks = self.peaks
        # every amount is >= 0 (a portfolio's cells are): the largest is the peak
        top = int(aum.max()) if size else 0
        peaks["aum"] = max(peaks["aum"], top)
        cols["deposit_total"][rows] = portfolio.deposits[rows, a]
        np.add(portfolio.wealth[rows, a], portfolio.investments[rows, a], out=cols["investment_total"][rows])
        np.add(portfolio.mortgage_loan[rows, a], portfolio.credit_loan[rows, a], out=cols["loan_total"][rows])
        for tag, lag in (("month", 1), ("year", 12)):
            short = "mom" if lag == 1 else "yoy"
            b = a - lag
            ok = valid[f"aum_prev_{tag}"][rows]
            change = cols[f"aum_change_{short}"][rows]
            if b >= 0:
                np.less_equal(hs, b, out=ok)
                base = aum_months[b - lo]
                np.subtract(aum, base, out=change)
                if self.latest > b:  # a customer without data at b has no change (its base is 0 already)
                    np.multiply(change, ok, out=change)  # 0 where not ok (no temporary mask)
            else:
                ok[...] = False
                base = np.zeros(size, np.int64)
                change[...] = 0
            # a positive base has data at b, so the percent is defined exactly where it is positive
            out = (
                cols[f"aum_change_{short}_pct_bp"][rows],
                valid[f"aum_change_{short}_pct_bp"][rows],
                codes[f"aum_change_{short}_pct"][rows],
            )
            below = int(base.max()) if size else 0
            peaks[f"aum_prev_{tag}"] = max(peaks[f"aum_prev_{tag}"], below)
            # |AUM - base| is at most the larger of the two (both are >= 0)
            ratio_parts(change, base, code=True, out=out, scratch=self.scratch, bound=max(top, below))
            cols[f"aum_prev_{tag}"][rows] = base
            valid[f"aum_change_{short}"][rows] = ok
        _window_means(aum_months, lo, hs, self.latest, a, cols, rows, self.scratch)
        if size:
            for c in _SUMMED[1:7]:  # the AUM and its bases are recorded above
                peaks[c] = max(peaks[c], int(cols[c][rows].max()))

    def result(self) -> AssetMonitor:
        """The monitor (every block written)."""
        columns = make_columns(self.cols)
        for c, v in self.peaks.items():  # the roll-ups' overflow bound, found while each block was in cache
            peak(columns[c], v)
        return AssetMonitor(
            title=f"asset monitoring as of {self.month}",
            columns=columns,
            valid={k: readonly(np.asarray(v, np.bool_)) for k, v in self.valid.items()},
            money=_MONEY,
            as_of=self.month,
            policy=self.policy,
            portfolio=self.portfolio,
            pct_codes={k: readonly(v) for k, v in self.codes.items()},
        )


#: The amount columns a roll-up sums (the first seven as they are; the bases for the changes).
_SUMMED = (
    "aum",
    "deposit_total",
    "investment_total",
    "loan_total",
    "aum_avg_3m",
    "aum_avg_6m",
    "aum_avg_12m",
    "aum_prev_month",
    "aum_prev_year",
)


def _rollup(mon: AssetMonitor, keys: NDArray[np.str_], key: str, title: str) -> Report:
    ids, inv = group_codes(keys)
    g = ids.size
    cols: dict[str, Any] = {key: ids, "customers": np.bincount(inv, minlength=g).astype(np.int64)}
    valid: dict[str, Any] = {}
    for c in _SUMMED[:7]:
        cols[c] = exact_group_sums(inv, mon.columns[c], g, what=f"{c} of a {key[:-3]}")
    aum = np.asarray(mon.columns["aum"], np.int64)
    for tag, short in (("month", "mom"), ("year", "yoy")):
        # both are 0 where the change is not defined (the monitor stores nulls as 0)
        base = exact_group_sums(inv, mon.columns[f"aum_prev_{tag}"], g, what="AUM base")
        # a change is the AUM less its base where defined: the group's AUM, less the AUM of its
        # customers with no base (the few with data from later on), less its bases; no step leaves
        # int64 (every amount is >= 0 and each total fits)
        none = np.flatnonzero(~np.asarray(mon.valid[f"aum_change_{short}"], np.bool_))
        change = cols["aum"] - exact_group_sums(inv[none], aum[none], g, what="AUM") - base
        bp, defined = ratio_bp(change, base)
        cols[f"aum_prev_{tag}"] = base
        cols[f"aum_change_{short}"] = change
        cols[f"aum_change_{short}_pct_bp"] = bp
        valid[f"aum_change_{short}_pct_bp"] = defined
    return Report(
        title=f"{title} as of {mon.as_of}",
        columns=make_columns(cols),
        valid={k: readonly(np.asarray(v, np.bool_)) for k, v in valid.items()},
        money=tuple(c for c in cols if c in _MONEY),
    )
