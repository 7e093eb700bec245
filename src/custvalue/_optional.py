"""Lazy imports of optional dependencies with a clear message when missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from ._errors import CustvalueError

__all__ = ["MissingDependencyError", "import_optional"]


class MissingDependencyError(CustvalueError, ImportError):
    """An optional dependency needed by the called feature is not installed."""


def import_optional(module: str, *, extra: str, feature: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        what = feature or module
        raise MissingDependencyError(
            f"{what} needs the optional dependency {module!r}; install it with "
            f"`pip install 'custvalue[{extra}]'`"
        ) from exc
