"""Asset-fall alerts: the policy's ``[monitoring]`` alerts compiled to one COLLECT decision table."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from .._arrays import readonly
from ..money import format_yuan
from ..policy import MONITOR_MEASURES, AlertSpec, Policy
from ..rules import CompiledTable, DecisionTable, NullableColumn, compile_table, evaluate_table_scalar
from ._errors import AnalyticsError
from ._monitor import AssetMonitor
from ._table import Report, make_columns

__all__ = ["AlertResult", "alert_table", "evaluate_alerts", "reference_alerts"]


def alert_table(policy: Policy, alerts: tuple[AlertSpec, ...] | None = None) -> DecisionTable:
    """The COLLECT decision table of a policy's monitoring alerts (one rule per alert).

    Inputs are the measures the alerts test, in :data:`MONITOR_MEASURES`
    order; a rule has ``-`` for a measure its alert does not test.

    >>> from custvalue import default_policy
    >>> t = alert_table(default_policy())
    >>> [c.name for c in t.inputs], [r.id for r in t.rules]
    (['aum_change_mom', 'aum_change_mom_pct'], ['aum_fall_pct', 'aum_fall_amount'])
    """
    specs = policy.monitoring if alerts is None else alerts
    used = [m for m in MONITOR_MEASURES if any(m in a.measures for a in specs)]
    rules = [(a.id, [dict(a.when).get(m, "-") for m in used], [f'"{a.id}"']) for a in specs]
    return DecisionTable(f"monitoring alerts of {policy.name}", "COLLECT", used, ["alert"], rules)


@attrs.frozen(eq=False, repr=False, kw_only=True)
class AlertResult(Report):
    """The alerts that fired: one row per (customer, alert), in customer then policy order.

    Columns: ``customer_id``, ``branch_id``, ``alert_id``, ``aum``,
    ``aum_change_mom``, ``aum_change_mom_pct_bp`` (null when undefined).

    Attributes
    ----------
    monitor : AssetMonitor
        The measures the alerts were evaluated on.
    alert_ids : tuple of str
        The policy's alerts, in document order.
    fired : ndarray of bool, shape (n_alerts, n_customers)
        ``fired[k, i]``: alert ``alert_ids[k]`` holds for customer ``i``.

    Examples
    --------
    >>> import numpy as np
    >>> from custvalue import Portfolio
    >>> dep = np.array([[1_000_000_00, 600_000_00], [5_000_000_00, 3_900_000_00]])
    >>> p = Portfolio.from_arrays(customer_ids=["A", "B"], branch_ids=["X", "X"], start="2026-09",
    ...                           deposits=dep)
    >>> from custvalue.analytics import asset_monitor
    >>> alerts = evaluate_alerts(asset_monitor(p, "2026-10"))
    >>> alerts.column("alert_id").tolist()
    ['aum_fall_pct', 'aum_fall_amount']
    >>> print(alerts.explain("B"))
    customer B, as of 2026-10: 1 alert(s)
      aum_fall_pct not fired: aum_change_mom_pct = -22.00% vs <= -30
      aum_fall_amount fired: aum_change_mom = -1,100,000.00 vs <= -1000000
    """

    monitor: AssetMonitor
    alert_ids: tuple[str, ...]
    fired: NDArray[np.bool_]
    table: DecisionTable

    def counts(self) -> dict[str, int]:
        """Customers per alert, in policy order."""
        return dict(zip(self.alert_ids, self.fired.sum(axis=1).tolist(), strict=True))

    def any_fired(self) -> NDArray[np.bool_]:
        """Per customer: whether any alert fired."""
        return readonly(np.asarray(self.fired.any(axis=0), np.bool_))

    def alerts_of(self, customer_id: str) -> tuple[str, ...]:
        """The alerts that fired for a customer."""
        i = self.monitor.index_of(customer_id)
        return tuple(a for a, f in zip(self.alert_ids, self.fired[:, i].tolist(), strict=True) if f)

    def explain(self, customer_id: str) -> str:
        """Which alerts fired for a customer, each test with the measure's value."""
        i = self.monitor.index_of(customer_id)
        specs = {a.id: a for a in self.monitor.policy.monitoring}
        n_fired = int(self.fired[:, i].sum())
        lines = [f"customer {customer_id}, as of {self.monitor.as_of}: {n_fired} alert(s)"]
        if not bool(self.monitor.columns["has_data"][i]):
            lines.append("  no data at the as-of month: no alert is evaluated")
            return "\n".join(lines)
        for k, aid in enumerate(self.alert_ids):
            verdict = "fired" if bool(self.fired[k, i]) else "not fired"
            tests = []
            for measure, test in specs[aid].when:
                values, valid = self.monitor.measure(measure)
                tests.append(f"{measure} = {_show(measure, values[i], valid[i])} vs {test}")
            lines.append(f"  {aid} {verdict}: " + "; ".join(tests))
        return "\n".join(lines)


def _show(measure: str, value: Any, valid: Any) -> str:
    if not bool(valid):
        return "null"
    v = int(value)
    if measure.endswith("_pct"):
        sign = "-" if v < 0 else ""
        return f"{sign}{abs(v) // 100}.{abs(v) % 100:02d}%"
    return format_yuan(v)


def _columns(monitor: AssetMonitor, used: list[str]) -> dict[str, Any]:
    has = monitor.columns["has_data"]
    out: dict[str, Any] = {}
    for m in used:
        values, valid, _ = monitor.comparison_column(m)
        out[m] = NullableColumn(values, valid & has)
    return out


def evaluate_alerts(monitor: AssetMonitor, policy: Policy | None = None) -> AlertResult:
    """Evaluate the policy's monitoring alerts on every customer, vectorised.

    Parameters
    ----------
    monitor
        From :func:`asset_monitor`.
    policy
        Whose ``[monitoring]`` alerts to use (default: the monitor's policy);
        amounts are in its unit, percentages in percent.

    Returns
    -------
    AlertResult

    Raises
    ------
    AnalyticsError
        ``monitor`` is not an :class:`AssetMonitor`.

    Examples
    --------
    >>> from custvalue.synthetic import generate
    >>> from custvalue.analytics import asset_monitor
    >>> r = evaluate_alerts(asset_monitor(generate(50, seed=1)))
    >>> r.counts()
    {'aum_fall_pct': 0, 'aum_fall_amount': 0}
    """
    if not isinstance(monitor, AssetMonitor):
        raise AnalyticsError(f"evaluate_alerts needs an AssetMonitor, got {type(monitor).__name__}")
    pol = monitor.policy if policy is None else policy
    table = alert_table(pol)
    used = [c.name for c in table.inputs]
    n = len(monitor)
    if table.rules:
        scales = {m: monitor.comparison_column(m)[2] for m in used}
        compiled: CompiledTable = compile_table(table, scales=scales)
        fired = compiled.match_matrix(_columns(monitor, used), n_rows=n)
    else:
        fired = np.zeros((0, n), np.bool_)
    fired &= monitor.columns["has_data"][None, :]
    return _result(monitor, pol, table, fired)


def fired_rows(fired: NDArray[np.bool_]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """The (customer, alert) pairs of a fired matrix ``(alerts, customers)``, customer-major.

    Equal to ``np.nonzero(fired.T)``, but only the customers with an alert
    are transposed (a few, against every customer).
    """
    hit = np.flatnonzero(fired.any(axis=0))
    local, k = np.nonzero(fired[:, hit].T)
    return hit[local], k


def _result(
    monitor: AssetMonitor, pol: Policy, table: DecisionTable, fired: NDArray[np.bool_]
) -> AlertResult:
    ids = tuple(a.id for a in pol.monitoring)
    cust, k = fired_rows(fired)
    pick = monitor.columns
    cols = {
        "customer_id": pick["customer_id"][cust],
        "branch_id": pick["branch_id"][cust],
        "alert_id": np.asarray(ids, dtype=str)[k] if k.size else np.empty(0, "<U1"),
        "aum": pick["aum"][cust],
        "aum_change_mom": pick["aum_change_mom"][cust],
        "aum_change_mom_pct_bp": pick["aum_change_mom_pct_bp"][cust],
    }
    return AlertResult(
        title=f"asset alerts as of {monitor.as_of}",
        columns=make_columns(cols),
        valid={"aum_change_mom_pct_bp": readonly(monitor.valid["aum_change_mom_pct_bp"][cust])},
        money=("aum", "aum_change_mom"),
        monitor=monitor,
        alert_ids=ids,
        fired=readonly(fired),
        table=table,
    )


def reference_alerts(monitor: AssetMonitor, policy: Policy | None = None) -> NDArray[np.bool_]:
    """The fired matrix computed one customer at a time by the scalar rules interpreter (for tests).

    Measures are passed as exact decimals in the policy's unit (percent for
    ``*_pct``), ``None`` where null.
    """
    pol = monitor.policy if policy is None else policy
    table = alert_table(pol)
    used = [c.name for c in table.inputs]
    ids = [a.id for a in pol.monitoring]
    out = np.zeros((len(ids), len(monitor)), np.bool_)
    cols = {m: monitor.measure(m) for m in used}
    c = monitor.columns
    for i in range(len(monitor)):
        if not bool(c["has_data"][i]):
            continue
        inputs: dict[str, object] = {}
        for m in used:
            v, ok = cols[m]
            if not bool(ok[i]):
                inputs[m] = None
            elif m.endswith("_pct"):  # the exact percentage, from the amounts
                tag = "month" if "_mom" in m else "year"
                change = Decimal(int(c[m.replace("_pct", "")][i]))
                inputs[m] = change * 100 / Decimal(int(c[f"aum_prev_{tag}"][i]))
            else:
                inputs[m] = Decimal(int(v[i])) / pol.scale
        hit = evaluate_table_scalar(table, inputs).matched_rule_ids
        for k, aid in enumerate(ids):
            out[k, i] = aid in hit
    return out
