"""Monitoring and analytics (客户资产监测, 营销数据分析; SPEC section 6).

* :func:`asset_monitor` — per-customer AUM, deposit, investment and loan
  totals at an as-of month, month-over-month and year-over-year changes
  (fen and basis points), 3/6/12-month averages; :meth:`AssetMonitor.by_branch`
  and :meth:`AssetMonitor.by_household` roll them up exactly.
* :func:`evaluate_alerts` — the policy's ``[monitoring]`` alerts (S-FEEL tests
  over those measures) compiled to one COLLECT decision table, evaluated
  vectorised, with :meth:`AlertResult.explain`.
* :class:`Transactions`, :func:`read_transactions` and :func:`large_transactions` —
  large-transaction monitoring (大额交易监测), the policy's ``[transactions]`` rules.
* Reports: :func:`tier_distribution`, :func:`tier_trend`,
  :func:`migration_report`, :func:`churn_report`, :func:`performance_report`,
  :func:`concentration`.

Every result is an immutable :class:`Report` (read-only columns) with
``to_pandas()``, ``to_arrow()``, ``text()``, ``_repr_html_()`` and
``write(path)`` (CSV or Parquet, atomic).  Money is int64 fen summed exactly
(an overflow raises :class:`~custvalue.AmountOverflowError`); shares, rates
and percent changes are basis points rounded half-to-even from the exact
sums, null (with a validity mask) when their base is zero.

Modules: ``_table`` (:class:`Report`, rounding), ``_monitor``, ``_alerts``,
``_reports``, ``_errors``.
"""

from __future__ import annotations

from .._errors import publish
from ._alerts import AlertResult, alert_table, evaluate_alerts, reference_alerts
from ._errors import AnalyticsError
from ._large import ALERT_COLUMNS, LargeTransactionAlerts, large_transactions, reference_large_transactions
from ._monitor import AVERAGE_WINDOWS, MEASURE_COLUMNS, AssetMonitor, asset_monitor
from ._reports import (
    ConcentrationReport,
    MigrationReport,
    churn_report,
    concentration,
    migration_report,
    performance_report,
    tier_distribution,
    tier_trend,
)
from ._table import Report, half_even_div, ratio_bp
from ._transactions import (
    DIRECTIONS,
    TransactionError,
    Transactions,
    read_transactions,
    synthetic_transactions,
)

__all__ = [
    "ALERT_COLUMNS",
    "AVERAGE_WINDOWS",
    "DIRECTIONS",
    "MEASURE_COLUMNS",
    "AlertResult",
    "AnalyticsError",
    "AssetMonitor",
    "ConcentrationReport",
    "LargeTransactionAlerts",
    "MigrationReport",
    "Report",
    "TransactionError",
    "Transactions",
    "alert_table",
    "asset_monitor",
    "churn_report",
    "concentration",
    "evaluate_alerts",
    "half_even_div",
    "large_transactions",
    "migration_report",
    "performance_report",
    "ratio_bp",
    "read_transactions",
    "reference_alerts",
    "reference_large_transactions",
    "synthetic_transactions",
    "tier_distribution",
    "tier_trend",
]

publish(__name__, globals())
