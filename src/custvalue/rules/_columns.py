"""Column containers accepted by compiled tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from ._feel import Value

__all__ = ["CodedColumn", "NullableColumn"]


def _codes(value: Any) -> npt.NDArray[np.integer[Any]]:
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"codes must be an integer array, not {arr.dtype}")
    return arr


def _categories(values: Iterable[Value]) -> tuple[Value, ...]:
    return tuple(values)


@attrs.frozen(eq=False)
class CodedColumn:
    """An integer-coded categorical column (like a pandas ``Categorical``).

    ``codes[i]`` indexes ``categories``; ``-1`` means null.  Codes must lie in
    ``[-1, len(categories))``.

    ``ordered=True`` declares the categories' order (lowest first, like an
    ordered pandas ``Categorical``): ``<``, ``>=`` and intervals then compare
    positions (``>= "gold"`` on card levels holds for gold and above), and a
    test naming a category the column does not have is an error.  Unordered
    columns keep FEEL's value semantics (strings compare as text).

    Examples
    --------
    >>> col = CodedColumn(np.array([0, 2, -1], dtype=np.int8), ("none", "gold", "diamond"))
    >>> col.to_values().tolist()
    ['none', 'diamond', None]
    >>> CodedColumn.from_values(["b", "a", None, "b"]).categories
    ('a', 'b')
    """

    codes: npt.NDArray[np.integer[Any]] = attrs.field(converter=_codes)
    categories: tuple[Value, ...] = attrs.field(converter=_categories)
    ordered: bool = attrs.field(default=False, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self.ordered and not all(isinstance(c, str) for c in self.categories):
            raise TypeError("ordered categories must be strings")

    def __len__(self) -> int:
        return len(self.codes)

    def to_values(self) -> npt.NDArray[np.object_]:
        """Decode to an object array (null is ``None``)."""
        lut = np.empty(len(self.categories) + 1, dtype=object)
        lut[: len(self.categories)] = list(self.categories)
        lut[-1] = None
        return lut[self.codes]  # type: ignore[no-any-return]

    @classmethod
    def from_values(cls, values: Sequence[Value]) -> CodedColumn:
        """Code a sequence of values (``None`` is null); categories are sorted."""
        # typed keys: True, 1 and Decimal(1) are equal in Python but distinct FEEL values
        unique = {(_tag(v), v): v for v in values if v is not None}
        cats = sorted(unique.values(), key=lambda v: (str(type(v)), v))
        index = {(_tag(v), v): i for i, v in enumerate(cats)}
        dtype = np.int8 if len(cats) < 127 else np.int32
        codes = np.array([-1 if v is None else index[_tag(v), v] for v in values], dtype=dtype)
        return cls(codes, tuple(cats))


def _tag(v: object) -> str:
    """A value's kind for typed equality (booleans apart from numbers)."""
    if isinstance(v, bool):
        return "boolean"
    return "number" if isinstance(v, int | float | Decimal) else type(v).__name__


def _bool_array(value: Any) -> npt.NDArray[np.bool_]:
    return np.asarray(value, dtype=bool)


@attrs.frozen(eq=False)
class NullableColumn:
    """Values plus a ``valid`` mask (``False`` = null).

    Values at invalid positions are ignored.  A :class:`numpy.ma.MaskedArray`
    is accepted anywhere a ``NullableColumn`` is.

    Examples
    --------
    >>> c = NullableColumn(np.array([1, 2]), np.array([True, False]))
    >>> c.valid.tolist()
    [True, False]
    """

    values: npt.NDArray[Any] = attrs.field(converter=np.asarray)
    valid: npt.NDArray[np.bool_] = attrs.field(converter=_bool_array)

    def __attrs_post_init__(self) -> None:
        if self.values.shape != self.valid.shape:
            raise ValueError("values and valid must have the same shape")

    def __len__(self) -> int:
        return len(self.values)
