"""Lazy imports of optional dependencies with a clear message when missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from ._errors import CustvalueError

__all__ = ["MissingDependencyError", "import_optional"]


class MissingDependencyError(CustvalueError, ImportError):
    """An optional dependency needed by the called feature is not installed."""


def import_optional(module: str, *, extra: str, feature: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the extra to install.

    The message gives both commands: ``pip install 'custvalue[EXTRA]'`` for an
    installed package and ``pip install -e '.[EXTRA]'`` in a source checkout.

    >>> try:
    ...     import_optional("no_such_module", extra="parquet", feature="reading Parquet")
    ... except MissingDependencyError as exc:
    ...     print(exc)
    reading Parquet needs the optional dependency 'no_such_module'; install it with
    `pip install 'custvalue[parquet]'` (in a source checkout: `pip install -e '.[parquet]'`)
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        what = feature or module
        raise MissingDependencyError(
            f"{what} needs the optional dependency {module!r}; install it with "
            f"`pip install 'custvalue[{extra}]'` (in a source checkout: `pip install -e '.[{extra}]'`)"
        ) from exc
