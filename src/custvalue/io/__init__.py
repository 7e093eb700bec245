"""Reading and writing custvalue's files.

* :func:`read_balances` / :func:`write_balances`: the balances file of SPEC
  section 7 (one row per customer-month), CSV or Parquet, exact money; also
  portfolio snapshots (``.arrow``, :meth:`custvalue.Portfolio.save` /
  :meth:`~custvalue.Portfolio.load`).

Writers are atomic: a file is written completely or not at all
(:func:`atomic_write` is the one way custvalue replaces a file).
"""

from __future__ import annotations

from .._atomic import OutputError, atomic_write, check_output
from .._errors import publish
from ..money import MoneyError
from ..portfolio import PortfolioError
from ._balances import BALANCE_COLUMNS, UsesColumns, read_balances, write_balances
from ._columns import ExtraColumnsWarning
from ._columns import Header as Header  # for tiering's streaming reader (not in __all__)
from ._columns import Wanted as Wanted
from ._columns import resolve_header as resolve_header
from ._columns import warn_ignored as warn_ignored
from ._formats import FORMATS, file_format
from ._frames import FLOAT_ROUNDINGS, read_table
from ._parquet import read_arrow_table as read_arrow_table
from ._transactions import (
    DIRECTIONS,
    TRANSACTION_COLUMNS,
    TransactionFile,
    TransactionFileError,
    read_transaction_file,
    write_transaction_file,
)
from ._wide import prefetched as prefetched

__all__ = [
    "BALANCE_COLUMNS",
    "DIRECTIONS",
    "FLOAT_ROUNDINGS",
    "FORMATS",
    "TRANSACTION_COLUMNS",
    "ExtraColumnsWarning",
    "MoneyError",
    "OutputError",
    "PortfolioError",
    "TransactionFile",
    "TransactionFileError",
    "UsesColumns",
    "atomic_write",
    "check_output",
    "file_format",
    "read_balances",
    "read_table",
    "read_transaction_file",
    "write_balances",
    "write_transaction_file",
]

publish(__name__, globals())
