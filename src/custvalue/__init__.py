"""custvalue: personal customer value management for retail banking.

Exact money (integer fen), immutable domain objects and a vectorised numpy
core: tier customers, track status and churn, allocate them to account
managers with exact shares and attribute performance.
"""

from __future__ import annotations

from ._errors import CustvalueError, InputError
from ._optional import MissingDependencyError
from .money import MoneyError, format_yuan, from_float, parse_yuan_array, to_fen
from .months import Month, MonthRange
from .portfolio import CARD_LEVELS, MONEY_COLUMNS, Portfolio, PortfolioError
from .policy import CompiledPolicy, Policy, PolicyError, compile_policy, default_policy, load_policy
from .tiering import (
    MOVEMENTS,
    EventTable,
    Explanation,
    MigrationMatrix,
    TierPath,
    TierResult,
    evaluate,
    evaluate_chunks,
    evaluate_path,
    migration_matrix,
    tier_migration,
    what_if,
)

__version__ = "0.1.0"

__all__ = [
    "CARD_LEVELS",
    "MOVEMENTS",
    "CompiledPolicy",
    "EventTable",
    "Explanation",
    "MigrationMatrix",
    "Policy",
    "PolicyError",
    "TierPath",
    "TierResult",
    "compile_policy",
    "default_policy",
    "evaluate",
    "evaluate_chunks",
    "evaluate_path",
    "load_policy",
    "migration_matrix",
    "tier_migration",
    "what_if",
    "MONEY_COLUMNS",
    "CustvalueError",
    "InputError",
    "MissingDependencyError",
    "MoneyError",
    "Month",
    "MonthRange",
    "Portfolio",
    "PortfolioError",
    "__version__",
    "format_yuan",
    "from_float",
    "parse_yuan_array",
    "to_fen",
]
