"""custvalue: personal customer value management (个人客户价值管理) for retail banking.

Sort bank customers into value tiers (core, growth, platinum, gold,
potential) from their monthly assets, track whose value is slipping
(observation, attention, churn), allocate customers to account managers with
exact participation shares and attribute performance to them.  Money is exact
integer fen, every domain object is immutable, policies are data (S-FEEL
decision tables, never code), and a vectorised numpy core evaluates whole
portfolios at once.

Quick start
-----------
>>> import custvalue as cv
>>> from custvalue.synthetic import generate
>>> portfolio = generate(1_000, seed=7)              # or cv.read_balances("balances.csv")
>>> result = cv.evaluate(portfolio, cv.default_policy(), as_of="2026-10")
>>> result.tiers()[:3].tolist()                      # tier names, one per customer
['potential', 'potential', 'potential']
>>> sorted(result.counts()["tier"])
['core', 'gold', 'growth', 'platinum', 'potential']
>>> print(result.explain(result.customer_ids[0]))    # doctest: +ELLIPSIS
customer ..., as of 2026-10: potential (潜力级), status normal
...

Packages, along the data path
-----------------------------
``money``, ``months``
    Exact fen amounts and the month value type.
``portfolio``, ``io``, ``synthetic``
    The columnar customer × month input, its files, a synthetic generator.
``rules``
    The S-FEEL rules engine and DMN decision tables (knows nothing of banking).
``policy``
    Tier policy documents (TOML/JSON), validation and compilation.
``tiering``
    Evaluation, results, explanations, tiers over time, migration, what-if.
``allocation``
    Account-manager allocation books, attribution and sales credit.

``help(custvalue.tiering)`` and the others say more; the user guide and the
API reference are in ``docs/``.
"""

from __future__ import annotations

from . import allocation, analytics, io, money, months, policy, portfolio, rules, synthetic, tiering
from ._errors import AmountOverflowError, CustvalueError, InputError, InsufficientMemoryError, publish
from ._optional import MissingDependencyError
from .analytics import (
    calibrate,
    customer_value,
    estimate_markov,
    lifetime_value,
    markov_value,
    run_campaigns,
    score_customers,
    segment,
    value_matrix,
    write_report,
)
from .io import read_balances, write_balances
from .money import MoneyError, format_yuan, from_float, parse_yuan_array, to_fen
from .months import Month, MonthRange
from .policy import (
    CompiledPolicy,
    Policy,
    PolicyError,
    compile_policy,
    default_policy,
    load_policy,
    marketing_policy,
)
from .portfolio import CARD_LEVELS, MONEY_COLUMNS, Portfolio, PortfolioError
from .tiering import (
    MOVEMENTS,
    EventTable,
    FileEvaluation,
    MigrationMatrix,
    TierExplanation,
    TierPath,
    TierResult,
    evaluate,
    evaluate_chunks,
    evaluate_file,
    evaluate_path,
    migration_matrix,
    tier_migration,
    what_if,
    write_events,
)

__version__ = "0.1.0"


__all__ = [
    "CARD_LEVELS",
    "MONEY_COLUMNS",
    "MOVEMENTS",
    "AmountOverflowError",
    "CompiledPolicy",
    "CustvalueError",
    "EventTable",
    "FileEvaluation",
    "InputError",
    "InsufficientMemoryError",
    "MigrationMatrix",
    "MissingDependencyError",
    "MoneyError",
    "Month",
    "MonthRange",
    "Policy",
    "PolicyError",
    "Portfolio",
    "PortfolioError",
    "TierExplanation",
    "TierPath",
    "TierResult",
    "__version__",
    "allocation",
    "analytics",
    "calibrate",
    "compile_policy",
    "customer_value",
    "default_policy",
    "estimate_markov",
    "evaluate",
    "evaluate_chunks",
    "evaluate_file",
    "evaluate_path",
    "format_yuan",
    "from_float",
    "io",
    "lifetime_value",
    "load_policy",
    "marketing_policy",
    "markov_value",
    "migration_matrix",
    "money",
    "months",
    "parse_yuan_array",
    "policy",
    "portfolio",
    "read_balances",
    "rules",
    "run_campaigns",
    "score_customers",
    "segment",
    "synthetic",
    "tier_migration",
    "tiering",
    "to_fen",
    "value_matrix",
    "what_if",
    "write_balances",
    "write_events",
    "write_report",
]

publish(__name__, globals())
