"""Text, HTML and pandas views of allocation results (attribution, sales performance).

Amounts are integer fen; the views show yuan with two decimals
(:func:`~custvalue.money.format_yuan`), and pandas columns hold exact yuan
(an Arrow ``decimal128(18, 2)`` column with pyarrow, else
:class:`~decimal.Decimal` objects) beside the ``*_fen`` integers.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._optional import MissingDependencyError, import_optional
from ..money import format_yuan

__all__ = ["html_table", "text_table", "yuan", "yuan_series"]


def yuan_series(pd: Any, fen: NDArray[np.int64]) -> Any:
    """Exact yuan as a pandas column: Arrow ``decimal128(38, 2)`` when pyarrow is there, else Decimals."""
    fen = np.ascontiguousarray(fen, dtype=np.int64)
    try:
        pa = import_optional("pyarrow", extra="parquet")
    except MissingDependencyError:
        return pd.Series([Decimal(int(v)).scaleb(-2) for v in fen.tolist()], dtype=object)
    words = np.empty((fen.shape[0], 2), dtype=np.int64)
    words[:, 0] = fen
    words[:, 1] = fen >> 63
    arr = pa.Array.from_buffers(pa.decimal128(38, 2), fen.shape[0], [None, pa.py_buffer(words)])
    return pd.Series(arr, dtype=pd.ArrowDtype(pa.decimal128(38, 2)))


def text_table(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    right: int = 1,
    also_right: Sequence[int] = (),
) -> str:
    """A fixed-width table; the last ``right`` columns and ``also_right`` are right-aligned (numbers)."""
    cols = len(headers)
    widths = [max([len(headers[k])] + [len(r[k]) for r in rows]) for k in range(cols)]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(widths[k]) if k >= cols - right or k in also_right else c.ljust(widths[k])
            for k, c in enumerate(cells)
        ).rstrip()

    return "\n".join([title, fmt(headers), *(fmt(r) for r in rows)])


def html_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: int = 1) -> str:
    """The same table as HTML (numbers right-aligned)."""
    cols = len(headers)

    def cell(k: int, text: str, tag: str) -> str:
        style = " style='text-align:right'" if k >= cols - right else ""
        return f"<{tag}{style}>{html.escape(text)}</{tag}>"

    head = "".join(cell(k, h, "th") for k, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell(k, c, "td") for k, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<div><b>{html.escape(title)}</b><table><tr>{head}</tr>{body}</table></div>"


def yuan(fen: int) -> str:
    """``1,234.50``: fen as yuan text."""
    return format_yuan(int(fen))
