"""Small array helpers shared across custvalue (private)."""

from __future__ import annotations

from typing import Any, TypeVar

from numpy.typing import NDArray

__all__ = ["readonly"]

A = TypeVar("A", bound=NDArray[Any])


def readonly(a: A) -> A:
    """A read-only view of ``a`` (``a`` itself is left writeable if it was).

    >>> import numpy as np
    >>> readonly(np.zeros(2)).flags.writeable
    False
    """
    if a.flags.writeable:
        a = a.view()
        a.setflags(write=False)
    return a
