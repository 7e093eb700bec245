"""File formats of custvalue's tables (CSV and Parquet), named or told by the file name."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final, Literal

from .._errors import InputError

__all__ = ["FORMATS", "Format", "file_format"]

Format = Literal["csv", "parquet"]
#: Table file formats custvalue reads and writes.
FORMATS: Final[tuple[Format, ...]] = ("csv", "parquet")
_SUFFIXES: Final[dict[str, Format]] = {".csv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}


def file_format(path: str | os.PathLike[str], format: str | None = None) -> Format:
    """The format named by ``format``, or else by the file's suffix.

    Raises :class:`~custvalue.InputError` naming the file when neither tells.

    Examples
    --------
    >>> file_format("result.pq"), file_format("out.data", "CSV")
    ('parquet', 'csv')
    >>> file_format("result.xlsx")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    custvalue.InputError: unknown file format 'xlsx'; use a .csv or .parquet name, ...
    """
    if format is not None:
        f = format.lower()
        if f == "pq":
            f = "parquet"
        if f not in FORMATS:
            raise InputError(f"unknown file format {format!r}; use csv or parquet", file=str(path))
        return "csv" if f == "csv" else "parquet"
    fmt = _SUFFIXES.get(Path(path).suffix.lower())
    if fmt is None:
        suffix = Path(path).suffix.lstrip(".")
        raise InputError(
            f"unknown file format {suffix!r}; use a .csv or .parquet name, or name the "
            "format (csv or parquet)",
            file=str(path),
        )
    return fmt
