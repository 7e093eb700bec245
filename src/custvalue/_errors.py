"""Error types shared across custvalue.

Every error raised for bad input says *where* it is: the file, line and
column of a file, the customer and month of a portfolio, or the path inside a
policy document.  They subclass :class:`ValueError` so that generic callers
that catch ``ValueError`` keep working.
"""

from __future__ import annotations

__all__ = ["CustvalueError", "InputError"]


class CustvalueError(Exception):
    """Base class of every error custvalue raises on purpose."""


class InputError(CustvalueError, ValueError):
    """Bad input data, with the place it was found.

    Parameters
    ----------
    message
        What is wrong.
    file, line, column, customer_id, month, path
        Where it is wrong; any subset may be given.  ``line`` is 1-based and
        counts the header line of a CSV file.

    Examples
    --------
    >>> err = InputError("negative balance", column="deposits", customer_id="C1", month="2026-10")
    >>> str(err)
    "negative balance (column 'deposits', customer 'C1', month 2026-10)"
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
        customer_id: str | None = None,
        month: str | None = None,
        path: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.customer_id = customer_id
        self.month = month
        self.path = path
        super().__init__(self._render())

    def _render(self) -> str:
        where: list[str] = []
        if self.file is not None:
            where.append(f"file {self.file}")
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.customer_id is not None:
            where.append(f"customer {self.customer_id!r}")
        if self.month is not None:
            where.append(f"month {self.month}")
        if self.path is not None:
            where.append(f"at {self.path}")
        return f"{self.message} ({', '.join(where)})" if where else self.message
