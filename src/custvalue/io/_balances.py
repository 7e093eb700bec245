"""The balances file (SPEC section 7): one row per customer-month, CSV or Parquet.

Columns (any order, matched by name in the header):

``customer_id, branch_id, month, deposits, wealth, investments,
mortgage_loan, credit_loan, card_spend, card_level`` and optionally
``household_id``.  A column mapping (``columns=``) reads files whose columns
have other names; a policy (``policy=``) makes only the columns it reads
required.  Every missing column is named in one error; any other column is
ignored with an :class:`~custvalue.io.ExtraColumnsWarning` naming it, so a
misspelt column is never silently dropped.  CSV files may have another
delimiter and encoding (``delimiter=``, ``encoding=``).

Money columns are yuan with at most two decimals, read exactly, never through
``float``:

* CSV: plain decimal text (``"123456.78"``, ``"-0.5"``, ``"12"``, any number
  of leading zeros); no thousands separators (a comma in a CSV cell is almost
  always a quoting mistake).
* Parquet: ``decimal`` (yuan; a scale above 2 is accepted only when every
  value is a whole number of fen), integer columns (whole **yuan**), or
  string columns (decimal yuan text as in CSV).  Floating-point columns are
  an error naming the column.

``month`` is ``"YYYY-MM"`` text; ``card_level`` one of ``none, standard,
gold, platinum, diamond`` (an empty cell is ``none``).  ``customer_id``,
``branch_id`` and ``household_id`` cells may have at most
:data:`~custvalue.io._columns.MAX_ID_LENGTH` (256) characters.

Errors are :class:`~custvalue.PortfolioError` and name the file, the line
(CSV: the 1-based physical line, the header being line 1; Parquet: the
1-based row number), the column, and where known the customer and month.

The modules behind this one, by job:

* :mod:`._csv`: CSV reading (pyarrow's CSV reader or the :mod:`csv` module
  as tokeniser; line endings, blank lines, encodings) and writing;
* :mod:`._parquet`: Parquet reading (column types) and writing;
* :mod:`._columns`: the column names and the one builder from cells to a
  validated :class:`~custvalue.Portfolio` that every reader shares (the
  order of the checks is documented there);
* :mod:`._arrow`: Arrow arrays as the builder's cells;
* :mod:`._fastmoney`: the vectorised exact parser of yuan text.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal, Protocol

from .._atomic import atomic_write
from .._optional import import_optional
from .._snapshot import is_snapshot_path
from ..portfolio import Portfolio
from ._columns import BALANCE_COLUMNS, Wanted
from ._csv import CsvOptions, read_csv, write_csv
from ._formats import file_format
from ._parquet import read_parquet, write_parquet

__all__ = ["BALANCE_COLUMNS", "UsesColumns", "read_balances", "write_balances"]


class UsesColumns(Protocol):
    """What ``read_balances(policy=...)`` needs of a policy: the columns it reads.

    :class:`~custvalue.policy.Policy` and
    :class:`~custvalue.policy.CompiledPolicy` have it.
    """

    @property
    def input_columns(self) -> tuple[str, ...]:
        """Money columns (and ``card_level``) an evaluation reads."""
        ...


def read_balances(
    path: str | os.PathLike[str],
    *,
    format: Literal["csv", "parquet", "arrow"] | None = None,
    columns: Mapping[str, str] | None = None,
    policy: UsesColumns | None = None,
    delimiter: str = ",",
    encoding: str = "utf-8",
    progress: Callable[[int, int], None] | None = None,
) -> Portfolio:
    """Read a balances file (CSV or Parquet) or a snapshot into a :class:`~custvalue.Portfolio`.

    Parameters
    ----------
    path
        The file.  ``*.csv``/``*.txt`` is CSV, ``*.parquet``/``*.pq`` Parquet,
        ``*.arrow``/``*.feather`` a portfolio snapshot
        (:meth:`~custvalue.Portfolio.save`, read by
        :meth:`~custvalue.Portfolio.load`, memory-mapped).
    format
        ``"csv"``, ``"parquet"`` or ``"arrow"`` (a snapshot), overriding the
        file name.
    columns
        A column mapping from custvalue's names to the file's, for files
        from other systems: ``{"customer_id": "CUST_NO", "deposits":
        "DEP_BAL"}``.  Unmapped columns are matched by custvalue's name.
        Errors name the file's column.
    policy
        Read only what this policy needs (its :attr:`~custvalue.Policy.input_columns`):
        the other money columns may be absent (they are zero) and so may
        ``card_level`` (``none``).  Without a policy every column of
        :data:`BALANCE_COLUMNS` is required.  ``customer_id``, ``branch_id``
        and ``month`` are always required.
    delimiter
        The CSV field separator (``","``; ``";"``, ``"|"`` and ``"\\t"`` are
        common in exports).
    encoding
        The CSV file's text encoding: ``"utf-8"`` (a byte-order mark is
        skipped), ``"gb18030"``, ``"gbk"`` or any ASCII-compatible Python
        codec.  Bytes that are not valid in it are an error naming line and
        column.
    progress
        Called as ``progress(done, total)`` while the file is read, ending
        with ``done == total`` (units are the reader's: bytes of a CSV file,
        column chunks of a Parquet file; use ``done / total``).

    Returns
    -------
    Portfolio
        Customers in order of first appearance; months from the earliest to
        the latest month in the file.  A customer whose rows start later has
        ``history_start > 0``; every customer needs rows up to the last month
        and no gaps.

    Raises
    ------
    PortfolioError
        A bad header, cell or row, naming file, line, column, customer and
        month (see the module notes); every missing column at once.
    MissingDependencyError
        Parquet without ``pyarrow`` installed.

    Warns
    -----
    ExtraColumnsWarning
        The file has columns custvalue does not read; they are ignored, and
        the warning names them.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "balances.csv"
    >>> _ = f.write_text(
    ...     "customer_id,branch_id,month,deposits,wealth,investments,"
    ...     "mortgage_loan,credit_loan,card_spend,card_level\\n"
    ...     "C1,B001,2026-09,499999.99,0,0,0,0,0,none\\n"
    ...     "C1,B001,2026-10,500000,0,0,0,0,1234.5,gold\\n")
    >>> p = read_balances(f)
    >>> p.deposits.tolist(), p.card_spend.tolist()
    ([[49999999, 50000000]], [[0, 123450]])
    >>> _ = f.write_text(f.read_text().replace("1234.5", "1234.567"))
    >>> read_balances(f)
    Traceback (most recent call last):
    ...
    custvalue.portfolio.PortfolioError: '1234.567' has more than two decimals (file ...,
    line 3, column 'card_spend', customer 'C1', month 2026-10)

    A file from another system, with its own column names, semicolons and
    only the columns an AUM-only policy reads:

    >>> from custvalue import Policy
    >>> aum_only = Policy.from_dict({"name": "aum_only", "tiers": [
    ...     {"id": "platinum", "aum_floor": 500000, "window": 3}, {"id": "rest"}]})
    >>> _ = f.write_text("CUST_NO;ORG;MONTH;DEP_BAL;WM_BAL;INV_BAL;REMARK\\n"
    ...                  "C1;B001;2026-10;500000;0;0;vip\\n")
    >>> mapping = {"customer_id": "CUST_NO", "branch_id": "ORG", "month": "MONTH",
    ...            "deposits": "DEP_BAL", "wealth": "WM_BAL", "investments": "INV_BAL"}
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as notes:
    ...     warnings.simplefilter("always")
    ...     p = read_balances(f, columns=mapping, delimiter=";", policy=aum_only)
    >>> p.deposits.tolist(), p.card_spend.tolist()
    ([[50000000]], [[0]])
    >>> str(notes[0].message).endswith("balances.csv: ignored column 'REMARK' (custvalue reads "
    ...     "customer_id, branch_id, month, deposits, wealth, investments, mortgage_loan, "
    ...     "credit_loan, card_spend, card_level, household_id)")
    True
    >>> read_balances(f, columns=mapping, delimiter=";")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    custvalue.portfolio.PortfolioError: missing columns 'mortgage_loan', 'credit_loan', ...;
    the file also has 'REMARK': map a column ...
    """
    p = Path(path)
    wanted = Wanted.of(columns, None if policy is None else policy.input_columns)
    if _is_snapshot(p, format):
        if (
            columns is not None
            or delimiter != ","
            or encoding.lower().replace("_", "-") not in ("utf-8", "utf8")
        ):
            raise ValueError(
                "a portfolio snapshot (.arrow) has custvalue's own columns: columns=, delimiter= "
                "and encoding= apply to CSV files (columns= to Parquet files too)"
            )
        portfolio = Portfolio.load(p)
        if progress is not None:
            progress(1, 1)
        return portfolio
    if file_format(p, format) == "csv":
        opts = CsvOptions(wanted=wanted, delimiter=delimiter, encoding=encoding, progress=progress)
        return read_csv(p, opts)
    if delimiter != ",":
        raise ValueError("delimiter= applies to CSV files, not Parquet")
    if encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise ValueError("encoding= applies to CSV files; Parquet text is always UTF-8")
    return read_parquet(p, wanted, progress)


def _is_snapshot(path: Path, format: str | None) -> bool:
    if format is not None:
        return format.lower() in ("arrow", "feather", "ipc")
    return is_snapshot_path(path)


def write_balances(
    portfolio: Portfolio,
    path: str | os.PathLike[str],
    *,
    format: Literal["csv", "parquet", "arrow"] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write a portfolio as a balances file, atomically.

    ``progress(done, total)`` is called with customers written (a snapshot
    reports once, at the end).

    A ``*.arrow``/``*.feather`` name (or ``format="arrow"``) writes a
    snapshot instead (:meth:`~custvalue.Portfolio.save`).

    One row per customer-month, customers in portfolio order, months oldest
    first; months before a customer's ``history_start`` are not written, so
    :func:`read_balances` gives back an equal portfolio.  Money is yuan: text
    with two decimals in CSV (``"500000.00"``), ``DECIMAL(18, 2)`` in
    Parquet (stored as ``INT64``; every reader sees ``decimal(18, 2)``).
    ``household_id`` is written when the portfolio has household ids.

    The file is written to a temporary file in the same directory and moved
    into place only when complete: on any error nothing is left behind and an
    existing file is untouched.

    Returns
    -------
    pathlib.Path
        The written file.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import attrs
    >>> from custvalue.synthetic import generate
    >>> p = generate(50, seed=3)
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> q = read_balances(write_balances(p, d / "b.csv"))
    >>> q == attrs.evolve(p, opened=None)  # opening dates are not in the file
    True
    >>> read_balances(write_balances(p, d / "b.parquet")) == q
    True
    """
    p = Path(path)
    if _is_snapshot(p, format):
        out = portfolio.save(p)
        if progress is not None:
            progress(portfolio.n_customers, portfolio.n_customers)
        return out
    fmt = file_format(p, format)
    if fmt == "csv":
        writer: Callable[[Path], None] = lambda tmp: write_csv(portfolio, tmp, progress)  # noqa: E731
    else:
        pa = import_optional("pyarrow", extra="parquet", feature="writing Parquet")
        pq = import_optional("pyarrow.parquet", extra="parquet", feature="writing Parquet")
        writer = lambda tmp: write_parquet(pa, pq, portfolio, tmp, progress)  # noqa: E731
    return atomic_write(p, writer)
