"""Writing tier results to CSV or Parquet (SPEC section 7), atomically."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from .._optional import import_optional
from ..io import atomic_write, file_format
from ._codes import RESULT_COLUMNS
from ._state import ResultState

__all__ = ["write_result"]


def write_result(result: ResultState, path: str | Path, *, format: str | None = None) -> None:
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
        table = pa.table({name: pa.array(cols[name]) for name in RESULT_COLUMNS})
        pq.write_table(table, tmp)

    atomic_write(path, write_csv if fmt == "csv" else write_parquet)
