"""Helpers shared by several test modules (importable because ``tests/`` holds the conftest)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import numpy as np
import pytest


@contextlib.contextmanager
def without_pyarrow(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As if pyarrow were not installed: every ``import pyarrow...`` fails."""
    with monkeypatch.context() as m:
        for name in [k for k in sys.modules if k == "pyarrow" or k.startswith("pyarrow.")]:
            m.setitem(sys.modules, name, None)
        m.setitem(sys.modules, "pyarrow", None)
        yield


def tier_tally(codes: np.ndarray, aum: np.ndarray, k: int) -> tuple[list[list[int]], list[list[int]]]:
    """Customers and AUM per tier (rows) and month (columns), one customer at a time; codes < 0 skipped."""
    counts = [[0] * codes.shape[1] for _ in range(k)]
    sums = [[0] * codes.shape[1] for _ in range(k)]
    for i in range(codes.shape[0]):
        for j in range(codes.shape[1]):
            t = int(codes[i, j])
            if t >= 0:
                counts[t][j] += 1
                sums[t][j] += int(aum[i, j])
    return counts, sums
