"""custvalue: personal customer value management for retail banking.

Exact money (integer fen), immutable domain objects and a vectorised numpy
core: tier customers, track status and churn, allocate them to account
managers with exact shares and attribute performance.
"""

from __future__ import annotations

from . import allocation, features, io, rules, synthetic
from ._errors import CustvalueError, InputError
from ._optional import MissingDependencyError
from .io import read_balances, write_balances
from .money import MoneyError, format_yuan, from_float, parse_yuan_array, to_fen
from .months import Month, MonthRange
from .policy import CompiledPolicy, Policy, PolicyError, compile_policy, default_policy, load_policy
from .portfolio import CARD_LEVELS, MONEY_COLUMNS, Portfolio, PortfolioError
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
    "MONEY_COLUMNS",
    "MOVEMENTS",
    "CompiledPolicy",
    "CustvalueError",
    "EventTable",
    "Explanation",
    "InputError",
    "MigrationMatrix",
    "MissingDependencyError",
    "MoneyError",
    "Month",
    "MonthRange",
    "Policy",
    "PolicyError",
    "Portfolio",
    "PortfolioError",
    "TierPath",
    "TierResult",
    "__version__",
    "allocation",
    "compile_policy",
    "default_policy",
    "evaluate",
    "evaluate_chunks",
    "evaluate_path",
    "features",
    "format_yuan",
    "from_float",
    "io",
    "load_policy",
    "migration_matrix",
    "parse_yuan_array",
    "read_balances",
    "rules",
    "synthetic",
    "tier_migration",
    "to_fen",
    "what_if",
    "write_balances",
]
