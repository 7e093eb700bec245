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
  :func:`concentration`; ``.plot()`` on each draws it (matplotlib, the
  ``plot`` extra), :func:`plot_migration` draws a migration heatmap.
* Report files: :func:`write_report` (:func:`report_set` then
  :meth:`ReportSet.write`) writes every report as a self-contained HTML page
  or an Excel workbook with native charts.
* Customer value (客户价值): :func:`customer_value` (margins by asset class,
  explicit CLV, the value formula, AUM growth, all on demand),
  :func:`lifetime_value`, :func:`estimate_markov` and :func:`markov_value`
  (the customer-migration Markov model), :func:`value_matrix` (current ×
  potential quadrants) and :func:`score_customers` (the seeds' weighted
  scoring grade) — the policy's ``[value]`` section.

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
from ._calibrate import CALIBRATE_BY, Calibration, calibrate, parse_targets
from ._campaigns import OUTCOMES, TARGET_COLUMNS, CampaignRun, campaign_table, run_campaigns
from ._contacts import CONTACT_COLUMNS, Contacts, ContactsError, read_contacts
from ._errors import AnalyticsError
from ._large import ALERT_COLUMNS, LargeTransactionAlerts, large_transactions, reference_large_transactions
from ._markov import (
    CHURNED,
    MarkovChain,
    MarkovValue,
    churn_mask,
    estimate_markov,
    markov_value,
    monthly_discount,
    reference_transition_counts,
)
from ._matrix import ValueMatrix, value_matrix
from ._measures import CustomerValue, customer_value, sales_totals
from ._monitor import AVERAGE_WINDOWS, MEASURE_COLUMNS, AssetMonitor, asset_monitor
from ._plot import plot_migration
from ._policy_dmn import policy_dmn
from ._reportfile import (
    EXACT_FEN_LIMIT,
    ChartSpec,
    ReportSection,
    ReportSet,
    report_set,
    write_report,
)
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
from ._scoring import ScoreResult, combine_score, reference_score, score_customers, score_tables
from ._segments import SegmentResult, segment, segment_table
from ._table import Report, half_even_div, ratio_bp
from ._transactions import (
    DIRECTIONS,
    TransactionError,
    Transactions,
    read_transactions,
    synthetic_transactions,
)
from ._value import (
    ROUNDING,
    LifetimeValue,
    customer_margin,
    exact_linear,
    geometric_clv,
    lifetime_value,
    reference_clv,
    round_fen,
)

__all__ = [
    "ALERT_COLUMNS",
    "AVERAGE_WINDOWS",
    "CALIBRATE_BY",
    "CHURNED",
    "CONTACT_COLUMNS",
    "DIRECTIONS",
    "EXACT_FEN_LIMIT",
    "MEASURE_COLUMNS",
    "OUTCOMES",
    "ROUNDING",
    "TARGET_COLUMNS",
    "AlertResult",
    "AnalyticsError",
    "AssetMonitor",
    "Calibration",
    "CampaignRun",
    "ChartSpec",
    "ConcentrationReport",
    "Contacts",
    "ContactsError",
    "CustomerValue",
    "LargeTransactionAlerts",
    "LifetimeValue",
    "MarkovChain",
    "MarkovValue",
    "MigrationReport",
    "Report",
    "ReportSection",
    "ReportSet",
    "ScoreResult",
    "SegmentResult",
    "TransactionError",
    "Transactions",
    "ValueMatrix",
    "alert_table",
    "asset_monitor",
    "calibrate",
    "campaign_table",
    "churn_mask",
    "churn_report",
    "combine_score",
    "concentration",
    "customer_margin",
    "customer_value",
    "estimate_markov",
    "evaluate_alerts",
    "exact_linear",
    "geometric_clv",
    "half_even_div",
    "large_transactions",
    "lifetime_value",
    "markov_value",
    "migration_report",
    "monthly_discount",
    "parse_targets",
    "performance_report",
    "plot_migration",
    "policy_dmn",
    "ratio_bp",
    "read_contacts",
    "read_transactions",
    "reference_alerts",
    "reference_clv",
    "reference_large_transactions",
    "reference_score",
    "reference_transition_counts",
    "report_set",
    "round_fen",
    "run_campaigns",
    "sales_totals",
    "score_customers",
    "score_tables",
    "segment",
    "segment_table",
    "synthetic_transactions",
    "tier_distribution",
    "tier_trend",
    "value_matrix",
    "write_report",
]

publish(__name__, globals())
