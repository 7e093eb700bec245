"""Reading and writing custvalue's files.

* :func:`read_balances` / :func:`write_balances`: the balances file of SPEC
  section 7 (one row per customer-month), CSV or Parquet, exact money.

Writers are atomic: a file is written completely or not at all
(:func:`atomic_write` is the one way custvalue replaces a file).
"""

from __future__ import annotations

from .._errors import publish
from ..money import MoneyError
from ..portfolio import PortfolioError
from ._atomic import OutputError, atomic_write, check_output
from ._balances import BALANCE_COLUMNS, read_balances, write_balances
from ._formats import FORMATS, file_format

__all__ = [
    "BALANCE_COLUMNS",
    "FORMATS",
    "MoneyError",
    "OutputError",
    "PortfolioError",
    "atomic_write",
    "check_output",
    "file_format",
    "read_balances",
    "write_balances",
]

publish(__name__, globals())
