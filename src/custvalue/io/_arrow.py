"""Arrow arrays as the builder's cells (shared by the CSV and Parquet readers).

pyarrow is optional: the functions here are only called by readers that
already imported it (through :func:`custvalue._optional.import_optional`) and
get the module passed in, so importing this module never needs pyarrow.

* :class:`ArrowText`: a string column, dictionary-encoded by Arrow (hashing
  in C, in order of first appearance), so ids, months and card levels are
  checked once per distinct value.
* :class:`ArrowAmounts`: a string money column as a fixed-width bytes array
  for the fast parser, without Python objects.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..portfolio import PortfolioError
from ._columns import Rows, text_flaw
from ._fastmoney import FAST_WIDTH

__all__ = ["ArrowAmounts", "ArrowText", "one_array"]


def one_array(pa: Any, column: Any, name: str, rows: Rows) -> Any:
    """A (chunked) column as one array, dictionaries decoded; a null is a missing value."""
    col = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if col.null_count:
        i = int(np.flatnonzero(np.asarray(col.is_null()))[0])
        rows.fail(i, "missing value", name, with_id=name != "customer_id")
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    return col


def is_text(pa: Any, arr: Any) -> bool:
    """Whether an Arrow array holds strings."""
    return bool(pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type))


class ArrowText:
    """A string column as :class:`~custvalue.io._columns.TextCells`."""

    def __init__(self, pa: Any, pc: Any, arr: Any, name: str, source: str) -> None:
        if not is_text(pa, arr):
            raise PortfolioError(f"must be a string column, got type {arr.type}", file=source, column=name)
        self._pa, self._pc = pa, pc
        enc = pc.dictionary_encode(arr)
        self.codes: NDArray[np.intp] = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.intp)
        self._values = enc.dictionary

    def lengths(self) -> NDArray[np.int64]:
        out: NDArray[np.int64] = np.asarray(
            self._pc.utf8_length(self._values).to_numpy(zero_copy_only=False), dtype=np.int64
        )
        return out

    def flaws(self) -> dict[int, str]:
        # Arrow checked the UTF-8; only a NUL character can be wrong here
        if not len(self._values) or not self._pc.any(self._pc.match_substring(self._values, "\x00")).as_py():
            return {}
        return {k: flaw for k, v in enumerate(self.texts()) if (flaw := text_flaw(v)) is not None}

    def texts(self) -> list[str]:
        texts: list[str] = self._values.to_pylist()
        return texts

    def strings(self) -> NDArray[np.str_]:
        arr = self._values.cast(self._pa.large_string())
        n = len(arr)
        if n == 0:
            return np.zeros(0, dtype="U1")
        _, offsets_buf, data_buf = arr.buffers()
        offsets = np.frombuffer(offsets_buf, dtype=np.int64)[arr.offset : arr.offset + n + 1]
        lengths = np.diff(offsets)
        width = int(lengths[0])
        if width > 0 and np.all(lengths == width):  # one width, ASCII: view the data buffer
            data = np.frombuffer(data_buf, dtype=np.uint8)[int(offsets[0]) : int(offsets[-1])]
            if not np.any(data >= 128):
                fixed: NDArray[np.str_] = data.view(f"S{width}").astype(f"U{width}")
                return fixed
        return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object).astype(str)


class ArrowAmounts:
    """A string money column as :class:`~custvalue.io._columns.AmountText`."""

    def __init__(self, pa: Any, pc: Any, arr: Any) -> None:
        self._pa, self._pc, self._arr = pa, pc, arr

    def text(self, row: int) -> str:
        text: str = self._arr[row].as_py()
        return text

    def fixed(self) -> NDArray[np.bytes_]:
        pa, pc, arr = self._pa, self._pc, self._arr
        n = len(arr)
        if n == 0:
            return np.zeros(0, dtype="S1")
        width = int(pc.max(pc.binary_length(arr)).as_py() or 0)
        if width > FAST_WIDTH or not pc.all(pc.string_is_ascii(arr)).as_py():
            # long or non-ASCII cells go to the exact parser: one such cell must
            # not widen the whole column (nor misalign the padding below)
            odd = pc.or_(pc.greater(pc.binary_length(arr), FAST_WIDTH), pc.invert(pc.string_is_ascii(arr)))
            arr = pc.if_else(odd, "?", arr)
            width = int(pc.max(pc.binary_length(arr)).as_py() or 0)
        width = max(width, 1)
        # pad to one width in Arrow, then view the data buffer directly
        padded = pc.utf8_rpad(arr, width=width, padding=" ").cast(pa.large_string())
        _, _, data_buf = padded.buffers()
        start = padded.offset * width
        raw = np.frombuffer(data_buf, dtype=np.uint8)[start : start + n * width].copy()
        if raw.min() == 0:  # a NUL in a cell (the padding is blanks): the exact parser names it
            matrix = raw.reshape(n, width)
            bad = (matrix == 0).any(axis=1)
            matrix[bad] = 0
            matrix[bad, 0] = ord("?")
        raw[raw == 32] = 0  # padding (and any blank) becomes trailing NUL, as numpy pads bytes
        fixed: NDArray[np.bytes_] = raw.view(f"S{width}")
        return fixed
