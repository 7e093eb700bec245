"""Contact history: which customer was contacted by which campaign on which day.

A contacts file (CSV or Parquet) has the columns ``customer_id``,
``campaign_id`` and ``date`` (``YYYY-MM-DD``; in Parquet also a ``date32``
column), in any order and any row order; another column is an error.  Every
bad cell is a :class:`ContactsError` naming the file, line (CSV: the header
is line 1; Parquet: 1-based row), column and, when known, the customer.
Nothing is dropped: blank CSV lines are skipped, every other line is a
contact or an error.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, NoReturn

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._arrays import readonly
from .._errors import InputError
from .._optional import import_optional
from ..io import atomic_write, file_format

__all__ = ["CONTACT_COLUMNS", "Contacts", "ContactsError", "read_contacts"]

#: The columns of a contacts file, in the order they are written.
CONTACT_COLUMNS: Final[tuple[str, ...]] = ("customer_id", "campaign_id", "date")
_MAX_TEXT: Final = 64


class ContactsError(InputError):
    """A bad contacts file or cell, naming file, line, column and customer."""


@attrs.frozen(eq=False, repr=False)
class Contacts:
    """Contacts of customers by campaigns, one per row (immutable, columnar).

    Attributes
    ----------
    customer_ids, campaign_ids : ndarray of str
    dates : ndarray of datetime64[D]
    lines : ndarray of int64
        Line (CSV) or row (Parquet) of each contact in its file; 1-based row numbers when built from arrays.
    source : str or None
        The file read, if any.

    Examples
    --------
    >>> c = Contacts.from_arrays(customer_ids=["C1", "C2"], campaign_ids=["vip", "vip"],
    ...                          dates=["2026-10-03", "2026-09-30"])
    >>> len(c), c.dates.tolist()
    (2, [datetime.date(2026, 10, 3), datetime.date(2026, 9, 30)])
    >>> Contacts.from_arrays(customer_ids=["C1"], campaign_ids=[""], dates=["2026-10-03"])
    Traceback (most recent call last):
    ...
    custvalue.analytics.ContactsError: missing value (line 1, column 'campaign_id', customer 'C1')
    """

    customer_ids: NDArray[np.str_]
    campaign_ids: NDArray[np.str_]
    dates: NDArray[np.datetime64]
    lines: NDArray[np.int64]
    source: str | None = None

    @classmethod
    def from_arrays(
        cls, *, customer_ids: ArrayLike, campaign_ids: ArrayLike, dates: ArrayLike, source: str | None = None
    ) -> Contacts:
        """Validate per-contact columns (dates as ``datetime64``, :class:`datetime.date` or ISO text)."""
        cells = {
            "customer_id": [str(x) for x in np.asarray(customer_ids, dtype=object).reshape(-1).tolist()],
            "campaign_id": [str(x) for x in np.asarray(campaign_ids, dtype=object).reshape(-1).tolist()],
        }
        raw_dates = np.asarray(dates)
        n = len(cells["customer_id"])
        lines = np.arange(1, n + 1, dtype=np.int64)
        if len(cells["campaign_id"]) != n or raw_dates.reshape(-1).shape[0] != n:
            raise ContactsError(
                f"customer_ids, campaign_ids and dates must have the same length, got {n}, "
                f"{len(cells['campaign_id'])}, {raw_dates.reshape(-1).shape[0]}"
            )
        if raw_dates.dtype.kind == "M":
            d = raw_dates.reshape(-1).astype("datetime64[D]")
            where = _Where(source, lines)
            ids = _ids(cells["customer_id"], "customer_id", where)
            where.ids = ids
            camp = _ids(cells["campaign_id"], "campaign_id", where)
            if (d.astype(raw_dates.dtype) != raw_dates.reshape(-1)).any():
                i = int(np.flatnonzero(d.astype(raw_dates.dtype) != raw_dates.reshape(-1))[0])
                where.fail(i, "a date has a time of day", "date")
            bad = np.flatnonzero(np.isnat(d))
            if bad.size:
                where.fail(int(bad[0]), "missing value", "date")
            return cls(readonly(ids), readonly(camp), readonly(d), readonly(lines), source)
        texts = [str(x) for x in raw_dates.reshape(-1).tolist()]
        return _build({**cells, "date": texts}, lines, source)

    def __len__(self) -> int:
        return int(self.dates.shape[0])

    def to_pandas(self) -> Any:
        """A :class:`pandas.DataFrame` with the file's columns (needs pandas)."""
        pd = import_optional("pandas", extra="pandas")
        return pd.DataFrame(
            {"customer_id": self.customer_ids, "campaign_id": self.campaign_ids, "date": self.dates}
        )

    def write(self, path: str | os.PathLike[str], *, format: str | None = None) -> Path:
        """Write a contacts file (CSV or Parquet) atomically; :func:`read_contacts` reads it back.

        >>> import pathlib, tempfile
        >>> c = Contacts.from_arrays(customer_ids=["C1"], campaign_ids=["vip"], dates=["2026-10-03"])
        >>> back = read_contacts(c.write(pathlib.Path(tempfile.mkdtemp()) / "contacts.csv"))
        >>> back.customer_ids.tolist(), back.campaign_ids.tolist(), str(back.dates[0])
        (['C1'], ['vip'], '2026-10-03')
        """
        fmt = file_format(path, format)

        def write_csv(tmp: Path) -> None:
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh, lineterminator="\n")
                w.writerow(CONTACT_COLUMNS)
                days = np.datetime_as_string(self.dates, unit="D").tolist()
                for row in zip(self.customer_ids.tolist(), self.campaign_ids.tolist(), days, strict=True):
                    w.writerow(row)

        def write_parquet(tmp: Path) -> None:
            pa = import_optional("pyarrow", extra="parquet", feature="writing Parquet")
            pq = import_optional("pyarrow.parquet", extra="parquet", feature="writing Parquet")
            table = pa.table(
                {
                    "customer_id": pa.array(self.customer_ids.tolist(), type=pa.string()),
                    "campaign_id": pa.array(self.campaign_ids.tolist(), type=pa.string()),
                    "date": pa.array(self.dates.astype("datetime64[D]")),
                }
            )
            pq.write_table(table, tmp)

        return atomic_write(path, write_csv if fmt == "csv" else write_parquet)

    def __repr__(self) -> str:
        if len(self) == 0:
            return "<Contacts: empty>"
        return (
            f"<Contacts: {len(self):,} contacts of {np.unique(self.customer_ids).size:,} customers, "
            f"{self.dates.min()} .. {self.dates.max()}>"
        )


class _Where:
    def __init__(self, source: str | None, lines: NDArray[np.int64]) -> None:
        self.source, self.lines = source, lines
        self.ids: NDArray[np.str_] | None = None

    def fail(self, row: int, message: str, column: str) -> NoReturn:
        cid = None if self.ids is None or column == "customer_id" else str(self.ids[row])
        raise ContactsError(
            message, file=self.source, line=int(self.lines[row]), column=column, customer_id=cid
        )


def _ids(cells: Sequence[str], column: str, where: _Where) -> NDArray[np.str_]:
    for i, c in enumerate(cells):
        s = c.strip()
        if not s:
            where.fail(i, "missing value", column)
        if len(s) > _MAX_TEXT:
            where.fail(i, f"an id may have at most {_MAX_TEXT} characters", column)
        if not s.isprintable():
            where.fail(i, "an id may not hold control characters", column)
    return np.array([c.strip() for c in cells], dtype=str) if cells else np.zeros(0, dtype="U1")


def _dates(cells: Sequence[str], where: _Where) -> NDArray[np.datetime64]:
    out = np.empty(len(cells), dtype="datetime64[D]")
    cache: dict[str, np.datetime64] = {}
    for i, c in enumerate(cells):
        got = cache.get(c)
        if got is None:
            s = c.strip()
            if not s:
                where.fail(i, "missing value", "date")
            if len(s) != 10 or s[4] != "-" or s[7] != "-" or not (s[:4] + s[5:7] + s[8:]).isdigit():
                shown = s if len(s) <= _MAX_TEXT else s[:_MAX_TEXT] + "..."
                where.fail(i, f"{shown!r} is not a date (YYYY-MM-DD)", "date")
            try:
                got = cache[c] = np.datetime64(s, "D")
            except ValueError:
                where.fail(i, f"{s!r} is not a date (YYYY-MM-DD)", "date")
        out[i] = got
    return out


def _build(columns: dict[str, list[str]], lines: NDArray[np.int64], source: str | None) -> Contacts:
    where = _Where(source, lines)
    ids = _ids(columns["customer_id"], "customer_id", where)
    where.ids = ids
    camp = _ids(columns["campaign_id"], "campaign_id", where)
    dates = _dates(columns["date"], where)
    return Contacts(readonly(ids), readonly(camp), readonly(dates), readonly(lines), source)


def _check_header(names: Sequence[str], source: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ContactsError("duplicate column", file=source, line=1, column=name[:_MAX_TEXT])
        seen.add(name)
        if name not in CONTACT_COLUMNS:
            raise ContactsError(
                f"unknown column; expected {', '.join(CONTACT_COLUMNS)}",
                file=source,
                line=1,
                column=name[:_MAX_TEXT],
            )
    for name in CONTACT_COLUMNS:
        if name not in seen:
            raise ContactsError("missing column", file=source, line=1, column=name)


def read_contacts(path: str | os.PathLike[str], *, format: str | None = None) -> Contacts:
    """Read a contacts file (see the module notes).

    Raises
    ------
    ContactsError
        A bad header or cell, naming file, line and column.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "contacts.csv"
    >>> _ = f.write_text("customer_id,campaign_id,date\\nC1,vip,2026-10-03\\nC2,vip,2026-13-01\\n")
    >>> read_contacts(f)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    custvalue.analytics.ContactsError: '2026-13-01' is not a date (YYYY-MM-DD) (file ..., line 3, ...)
    """
    p = Path(path)
    source = str(p)
    if file_format(p, format) == "parquet":
        return _read_parquet(p, source)
    try:
        f = open(p, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ContactsError(f"cannot open contacts file: {exc.strerror}", file=source) from None
    try:
        with f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise ContactsError("empty file: a header line is needed", file=source, line=1)
            names = [h.strip() for h in header]
            _check_header(names, source)
            cells: list[list[str]] = [[] for _ in names]
            lines: list[int] = []
            prev = reader.line_num
            for row in reader:
                start, prev = prev + 1, reader.line_num
                if not row:
                    continue
                if len(row) != len(names):
                    raise ContactsError(
                        f"expected {len(names)} fields as in the header, got {len(row)}",
                        file=source,
                        line=start,
                    )
                lines.append(start)
                for k, c in enumerate(row):
                    cells[k].append(c)
    except UnicodeDecodeError:
        raise ContactsError("contacts file is not UTF-8", file=source) from None
    except csv.Error as exc:
        raise ContactsError(f"malformed CSV: {exc}", file=source) from None
    return _build(dict(zip(names, cells, strict=True)), np.array(lines, dtype=np.int64), source)


def _read_parquet(path: Path, source: str) -> Contacts:
    pq = import_optional("pyarrow.parquet", extra="parquet", feature="reading Parquet")
    pa = import_optional("pyarrow", extra="parquet")
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise ContactsError(f"cannot read Parquet file: {exc}", file=source) from None
    names = [str(n) for n in table.column_names]
    _check_header(names, source)
    lines = np.arange(1, table.num_rows + 1, dtype=np.int64)
    columns: dict[str, list[str]] = {}
    for name in names:
        col = table.column(name).combine_chunks()
        if col.null_count:
            i = int(np.flatnonzero(np.asarray(col.is_null().to_numpy(zero_copy_only=False)))[0])
            raise ContactsError("missing value", file=source, line=int(lines[i]), column=name)
        if pa.types.is_dictionary(col.type):
            col = col.dictionary_decode()
        if name == "date" and pa.types.is_date(col.type):
            columns[name] = [str(d) for d in col.to_pylist()]
        elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            columns[name] = col.to_pylist()
        else:
            raise ContactsError(f"unsupported Parquet type {col.type}", file=source, column=name)
    return _build(columns, lines, source)
