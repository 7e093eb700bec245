"""Writing tier results to CSV or Parquet (SPEC section 7), atomically."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._optional import import_optional
from ..io import atomic_write, file_format
from ._codes import RESULT_COLUMNS
from ._state import ResultState

__all__ = ["arrow_table", "write_result"]


def decimal_yuan(pa: Any, fen: NDArray[np.int64]) -> Any:
    """An exact ``decimal128(18, 2)`` Arrow array of yuan from int64 fen (no float, no objects)."""
    words = np.empty((fen.shape[0], 2), dtype=np.int64)  # little-endian 128-bit unscaled values
    words[:, 0] = fen
    words[:, 1] = fen >> 63  # sign extension
    return pa.Array.from_buffers(pa.decimal128(18, 2), fen.shape[0], [None, pa.py_buffer(words)])


def arrow_table(result: ResultState, pa: Any) -> Any:
    """The result-file columns as a :class:`pyarrow.Table`; ``aum`` exact decimal yuan."""
    cols = result.columns()
    arrays = {name: pa.array(cols[name]) for name in RESULT_COLUMNS if name != "aum"}
    arrays["aum"] = decimal_yuan(pa, result.aum_fen)
    return pa.table({name: arrays[name] for name in RESULT_COLUMNS})


def write_result(result: ResultState, path: str | os.PathLike[str], *, format: str | None = None) -> None:
    """Write one row per customer with the SPEC's result columns."""
    fmt = file_format(path, format)
    cols = result.columns()

    def write_csv(tmp: Path) -> None:
        out: list[Any] = []
        for name in RESULT_COLUMNS:
            col = cols[name]
            if name == "history_complete":
                out.append(["true" if v else "false" for v in col.tolist()])
            else:
                out.append(col.tolist())
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(RESULT_COLUMNS)
            w.writerows(zip(*out, strict=True))

    def write_parquet(tmp: Path) -> None:
        pa = import_optional("pyarrow", extra="parquet", feature="Parquet output")
        pq = import_optional("pyarrow.parquet", extra="parquet", feature="Parquet output")
        pq.write_table(arrow_table(result, pa), tmp)

    atomic_write(path, write_csv if fmt == "csv" else write_parquet)
