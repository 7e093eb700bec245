"""Helpers shared by several test modules (importable because ``tests/`` holds the conftest)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import pytest


@contextlib.contextmanager
def without_pyarrow(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As if pyarrow were not installed: every ``import pyarrow...`` fails."""
    with monkeypatch.context() as m:
        for name in [k for k in sys.modules if k == "pyarrow" or k.startswith("pyarrow.")]:
            m.setitem(sys.modules, name, None)
        m.setitem(sys.modules, "pyarrow", None)
        yield
