"""Error types shared across custvalue.

Every error raised for bad input says *where* it is: the file, line and
column of a file, the customer and month of a portfolio, or the path inside a
policy document.  They subclass :class:`ValueError` so that generic callers
that catch ``ValueError`` keep working.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = [
    "AmountOverflowError",
    "CustvalueError",
    "InputError",
    "InsufficientMemoryError",
    "publish",
    "with_location",
]


def publish(module: str, namespace: Mapping[str, object]) -> None:
    """Show the exception classes a package exports under its public ``module`` name.

    Called at the end of each package's ``__init__`` with ``globals()``: every
    exception class named in its ``__all__`` that is defined in a private module
    (``custvalue.policy._schema.PolicyError``) is shown as the package's
    (``custvalue.policy.PolicyError``) in tracebacks, reprs and the docs.
    """
    for name in namespace.get("__all__", ()):  # type: ignore[attr-defined]
        obj = namespace.get(name)
        if (
            isinstance(obj, type)
            and issubclass(obj, BaseException)
            and any(part.startswith("_") for part in obj.__module__.split("."))
        ):
            obj.__module__ = module


def with_location(message: str, where: Iterable[tuple[str, object]]) -> str:
    """``message (label value, ...)`` for the parts of ``where`` whose value is not None.

    >>> with_location("bad", [("file", "a.csv"), ("line", 3), ("column", None)])
    'bad (file a.csv, line 3)'
    """
    parts = [f"{label} {value}" for label, value in where if value is not None]
    return f"{message} ({', '.join(parts)})" if parts else message


class CustvalueError(Exception):
    """Base class of every error custvalue raises on purpose."""


class AmountOverflowError(CustvalueError, ArithmeticError):
    """A sum of amounts would leave int64 fen: an error, never a wrapped-around result."""


class InsufficientMemoryError(CustvalueError, MemoryError):
    """An operation would need more memory than the machine has; refused before allocating."""


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
        return with_location(
            self.message,
            [
                ("file", self.file),
                ("line", self.line),
                ("column", None if self.column is None else repr(self.column)),
                ("customer", None if self.customer_id is None else repr(self.customer_id)),
                ("month", self.month),
                ("at", self.path),
            ],
        )
