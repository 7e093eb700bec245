"""The balances file's columns, and the one builder from cells to a Portfolio.

Every reader ends here.  A tokeniser (pyarrow's CSV reader, the standard
library's :mod:`csv`, a Parquet file) turns its file into *cells*, one
column at a time, and :func:`build_portfolio` validates them in one fixed
order and pivots the long rows (one per customer-month) into a
:class:`~custvalue.Portfolio`.  So all paths give the same portfolio and, for
a bad file, the same error naming file, line, column, customer and month.

Cells come in three kinds:

* :class:`TextCells`: a text column (ids, month, card level) encoded as the
  distinct cells in order of first appearance plus a code per row, so each
  distinct value is checked once and customers are pivoted by integer codes;
* :class:`AmountText`: a money column as text, read by the fast parser
  (:mod:`._fastmoney`) with the exact scalar parser for the cells it refuses;
* :class:`Fen`: a money column already converted exactly (Parquet decimal
  and integer columns).

Checks, in this order (the first failing row of a column is reported):
``customer_id``, ``month``, ``card_level``, ``branch_id``, ``household_id``,
then the money columns in :data:`~custvalue.portfolio.MONEY_COLUMNS` order,
then the portfolio's own checks (duplicate rows, gaps, branch changes...).
Within a text column: cells that are not text (a NUL character, bytes that
are not UTF-8), ids longer than :data:`MAX_ID_LENGTH` characters, missing
values, then values that do not parse.

:data:`MAX_ID_LENGTH` bounds ``customer_id``, ``branch_id`` and
``household_id`` cells (surrounding blanks included), checked on the distinct
cells before any fixed-width array is made: one 1 MB id would otherwise make
every row of the id array 4 MB wide.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, NoReturn, Protocol

import attrs
import numpy as np
from numpy.typing import NDArray

from .._errors import InputError
from ..money import MoneyError, quote_text, yuan_to_fen
from ..months import Month
from ..portfolio import CARD_LEVELS, MONEY_COLUMNS, Coded, Portfolio, PortfolioError
from ._fastmoney import parse_yuan_bytes

__all__ = [
    "BALANCE_COLUMNS",
    "KEY_COLUMNS",
    "KNOWN_COLUMNS",
    "MAX_ID_LENGTH",
    "NOT_UTF8",
    "OPTIONAL_COLUMNS",
    "AmountText",
    "ExtraColumnsWarning",
    "Fen",
    "Header",
    "Reader",
    "Rows",
    "TextCells",
    "Wanted",
    "build_portfolio",
    "card_code",
    "check_header",
    "file_columns",
    "long_blocks",
    "month_ordinal",
    "resolve_header",
    "text_flaw",
    "warn_ignored",
]

#: Required columns of the balances file, in the order they are written.
BALANCE_COLUMNS: Final[tuple[str, ...]] = (
    "customer_id",
    "branch_id",
    "month",
    *MONEY_COLUMNS,
    "card_level",
)
OPTIONAL_COLUMNS: Final = ("household_id",)
#: Longest ``customer_id``, ``branch_id`` or ``household_id`` cell, in characters.
MAX_ID_LENGTH: Final = 256
_CARD_CODE: Final = {name: i for i, name in enumerate(CARD_LEVELS)}
#: A month or card level longer than this cannot be valid (keeps messages short).
_LONGEST_CODE: Final = 64
_SURROGATE: Final = re.compile("[\ud800-\udfff]")


#: The columns every balances file needs, whatever the policy.
KEY_COLUMNS: Final[tuple[str, ...]] = ("customer_id", "branch_id", "month")
#: The columns a balances file may have (:data:`BALANCE_COLUMNS` and :data:`OPTIONAL_COLUMNS`).
KNOWN_COLUMNS: Final[tuple[str, ...]] = (*BALANCE_COLUMNS, *OPTIONAL_COLUMNS)
#: The message of a cell that is not valid text in the file's encoding (see :func:`text_flaw`).
NOT_UTF8: Final = "not valid UTF-8 text"


class ExtraColumnsWarning(UserWarning):
    """A balances file has columns custvalue does not read; they were ignored (the message names them)."""


@attrs.frozen
class Wanted:
    """What a reader is asked for: the column mapping and the columns that must be there.

    ``mapping`` maps custvalue's column names to the file's (``{"customer_id":
    "CUST_NO"}``); ``required`` are the custvalue names that must be present
    (the others of :data:`BALANCE_COLUMNS` are zero / ``none`` when absent).
    """

    mapping: tuple[tuple[str, str], ...] = ()
    required: frozenset[str] = frozenset(BALANCE_COLUMNS)

    @classmethod
    def of(cls, columns: Mapping[str, str] | None = None, needed: Iterable[str] | None = None) -> Wanted:
        """Check a column mapping and a set of needed columns (``None``: every column)."""
        mapping: list[tuple[str, str]] = []
        if columns is not None:
            if not isinstance(columns, Mapping):
                raise TypeError(
                    "columns must map custvalue's column names to the file's, e.g. "
                    '{"customer_id": "CUST_NO"}'
                )
            taken: dict[str, str] = {}
            for ours, theirs in columns.items():
                if ours not in KNOWN_COLUMNS:
                    raise PortfolioError(
                        f"unknown column {ours!r} in the column mapping; custvalue's columns are "
                        f"{', '.join(KNOWN_COLUMNS)} (the mapping goes custvalue name -> file name)"
                    )
                if not isinstance(theirs, str) or not theirs.strip():
                    raise PortfolioError(f"the column mapping gives {ours!r} no file column name")
                theirs = theirs.strip()
                if theirs in taken:
                    raise PortfolioError(
                        f"the column mapping maps both {taken[theirs]!r} and {ours!r} to the file "
                        f"column {theirs!r}"
                    )
                taken[theirs] = ours
                mapping.append((ours, theirs))
        if needed is None:
            required = frozenset(BALANCE_COLUMNS)
        else:
            extra = sorted(set(needed) - set(BALANCE_COLUMNS))
            if extra:
                raise PortfolioError(f"unknown needed column(s) {', '.join(extra)}")
            required = frozenset(KEY_COLUMNS) | frozenset(needed)
        return cls(tuple(mapping), required)


@attrs.frozen
class Header:
    """A file's header resolved: custvalue's name for each file column (``None``: ignored)."""

    canonical: tuple[str | None, ...]
    labels: Mapping[str, str]
    ignored: tuple[str, ...]

    @property
    def names(self) -> list[str]:
        """custvalue's names of the columns read, in file order."""
        return [c for c in self.canonical if c is not None]

    def index(self) -> dict[str, int]:
        """custvalue name -> position in the file."""
        return {c: k for k, c in enumerate(self.canonical) if c is not None}


def resolve_header(
    names: Sequence[str],
    source: str,
    wanted: Wanted | None = None,
    *,
    encoding: str = "UTF-8",
    warn: bool = True,
) -> Header:
    """Match a header against the columns custvalue reads (line 1 of the file).

    A duplicate column or a cell that is not text is an error; every missing
    required column is named in one error; columns custvalue does not read
    are ignored, with an :class:`ExtraColumnsWarning` naming them when
    ``warn`` (a reader that tries several tokenisers warns once itself, with
    :func:`warn_ignored`).
    """
    wanted = wanted or Wanted()
    seen: set[str] = set()
    for name in names:
        flaw = text_flaw(name)
        if flaw is not None:
            if flaw == NOT_UTF8:
                flaw = f"not valid {encoding} text"
            raise PortfolioError(flaw, file=source, line=1, column=_short(name))
        if name in seen:
            raise PortfolioError("duplicate column", file=source, line=1, column=_short(name))
        seen.add(name)
    theirs = dict(wanted.mapping)
    ours = {v: k for k, v in theirs.items()}
    canonical: list[str | None] = []
    for name in names:
        if name in ours:
            canonical.append(ours[name])
        elif name in KNOWN_COLUMNS and name not in theirs:
            canonical.append(name)
        else:
            canonical.append(None)
    present = {c for c in canonical if c is not None}
    ignored = tuple(n for n, c in zip(names, canonical, strict=True) if c is None)
    missing = [c for c in BALANCE_COLUMNS if c in wanted.required and c not in present]
    if missing:
        shown = [
            f"{c!r} (mapped to {theirs[c]!r}, which the file does not have)" if c in theirs else repr(c)
            for c in missing
        ]
        hint = ""
        seps = [d for d in (",", ";", "|", "\t") if len(names) == 1 and d in names[0]]
        if seps:
            hint = (
                f"; the header is one column holding {seps[0]!r}: is the file separated by {seps[0]!r}? "
                "(delimiter=, --delimiter on the command line)"
            )
        elif ignored:
            hint = (
                f"; the file also has {', '.join(repr(_short(n)) for n in ignored[:12])}"
                + (" ..." if len(ignored) > 12 else "")
                + ": map a column with columns={'deposits': 'DEP_BAL', ...} "
                "(--columns deposits=DEP_BAL,... on the command line)"
            )
        raise PortfolioError(
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(shown)}{hint}",
            file=source,
            line=1,
            column=", ".join(missing),
        )
    if ignored and warn:
        warn_ignored(ignored, source, stacklevel=5)
    labels = {c: n for n, c in zip(names, canonical, strict=True) if c is not None and c != n}
    return Header(tuple(canonical), labels, ignored)


def warn_ignored(ignored: Sequence[str], source: str, *, stacklevel: int) -> None:
    """The :class:`ExtraColumnsWarning` for columns a reader ignored."""
    warnings.warn(
        ExtraColumnsWarning(
            f"{source}: ignored column{'s' if len(ignored) > 1 else ''} "
            f"{', '.join(repr(_short(n)) for n in ignored)} (custvalue reads "
            f"{', '.join(KNOWN_COLUMNS)})"
        ),
        stacklevel=stacklevel,
    )


def check_header(names: Sequence[str], source: str) -> None:
    """Refuse a header with a duplicate or missing column (line 1); see :func:`resolve_header`."""
    resolve_header(names, source)


def _short(text: str) -> str:
    return text if len(text) <= _LONGEST_CODE else f"{text[:_LONGEST_CODE]}... ({len(text):,} characters)"


def text_flaw(text: str) -> str | None:
    """Why a cell is not text, or ``None``.

    A NUL character (fixed-width numpy strings cannot hold a trailing one) and
    bytes that are not UTF-8 (the standard-library reader decodes them as
    lone surrogates, ``errors="surrogateescape"``) are refused everywhere.
    """
    if "\x00" in text:
        return "NUL character in the cell"
    if not text.isascii() and _SURROGATE.search(text):
        return NOT_UTF8
    return None


class TextCells(Protocol):
    """A text column as its distinct cells (in order of first appearance) and a code per row."""

    @property
    def codes(self) -> NDArray[np.intp]:
        """``codes[row]`` is the index of the row's cell among the distinct cells."""
        ...

    def lengths(self) -> NDArray[np.int64]:
        """Characters of each distinct cell."""
        ...

    def flaws(self) -> dict[int, str]:
        """Distinct cells that are not text (see :func:`text_flaw`): index -> message."""
        ...

    def texts(self) -> list[str]:
        """The distinct cells."""
        ...

    def strings(self) -> NDArray[np.str_]:
        """The distinct cells as a numpy ``U`` array (asked only when lengths are bounded)."""
        ...


class AmountText(Protocol):
    """A money column as text."""

    def fixed(self) -> NDArray[np.bytes_]:
        """The cells as an ``S`` array for the fast parser.

        A cell it cannot hold exactly (longer than ``FAST_WIDTH`` bytes,
        non-ASCII, with a NUL) is replaced by ``b"?"``, which the fast parser
        refuses, so that :meth:`text` and the exact parser decide it.
        """
        ...

    def text(self, row: int) -> str:
        """The cell of ``row`` as it is in the file."""
        ...


@attrs.frozen
class Fen:
    """A money column already converted to exact fen; ``shown(row)`` is its cell for a message."""

    values: NDArray[np.int64]
    shown: Callable[[int], str]


class Rows:
    """Where each row came from, to name it in an error: file line, customer and month."""

    def __init__(
        self,
        source: str,
        lines: NDArray[np.int64],
        *,
        labels: Mapping[str, str] | None = None,
        encoding: str = "UTF-8",
    ) -> None:
        self.source = source
        self.lines = lines
        self.labels: Mapping[str, str] = labels or {}
        self.encoding = encoding
        self.ids: Coded | None = None
        self.months: NDArray[np.int64] | None = None

    def fail(self, row: int, message: str, column: str, *, with_id: bool = True) -> NoReturn:
        """Raise :class:`~custvalue.PortfolioError` for ``row`` of ``column`` (the file's name for it)."""
        cid = None
        if with_id and self.ids is not None:
            cid = str(self.ids.values[self.ids.codes[row]])
        month = None if self.months is None else str(Month.from_ordinal(int(self.months[row])))
        if message == NOT_UTF8:
            message = f"not valid {self.encoding} text"
        raise PortfolioError(
            message,
            file=self.source,
            line=int(self.lines[row]),
            column=self.labels.get(column, column),
            customer_id=cid,
            month=month,
        )

    def fail_cell(self, cells: TextCells, index: int, message: str, column: str) -> NoReturn:
        """Raise for the first row holding distinct cell ``index``."""
        self.fail(int(np.argmax(cells.codes == index)), message, column, with_id=column != "customer_id")


class Reader(Protocol):
    """What a tokeniser gives the builder: each column's cells, asked for once, in check order."""

    def text(self, name: str, rows: Rows) -> TextCells:
        """Cells of a text column (ids, ``month``, ``card_level``)."""
        ...

    def amounts(self, name: str, rows: Rows) -> AmountText | Fen:
        """Cells of a money column."""
        ...


def build_portfolio(
    reader: Reader,
    names: Sequence[str],
    lines: NDArray[np.int64],
    source: str,
    *,
    labels: Mapping[str, str] | None = None,
    encoding: str = "UTF-8",
) -> Portfolio:
    """Validate the columns of ``reader`` and build the portfolio.

    ``names`` are the columns the file has (custvalue's names, checked by
    :func:`resolve_header`) and ``lines[i]`` the line (CSV) or row number
    (Parquet) of row ``i``.  Each column is asked for once, in the order of
    the checks, so a reader can load one column at a time and let it go.  A
    money column the file does not have is zero, a missing ``card_level``
    is ``none`` (the header check decided that they may be absent).
    ``labels`` maps custvalue's names to the file's, for the errors.
    """
    if lines.shape[0] == 0:
        raise PortfolioError("no rows", file=source)
    labels = labels or {}
    rows = Rows(source, lines, labels=labels, encoding=encoding)
    present = set(names)
    ids = _id_column(reader.text("customer_id", rows), "customer_id", rows)
    rows.ids = ids
    month_ord = _coded_column(reader.text("month", rows), "month", month_ordinal, rows, np.int64)
    rows.months = month_ord
    n = lines.shape[0]
    if "card_level" in present:
        cards = _coded_column(reader.text("card_level", rows), "card_level", card_code, rows, np.int8)
    else:
        cards = np.zeros(n, dtype=np.int8)
    branches = _id_column(reader.text("branch_id", rows), "branch_id", rows)
    households = None
    if "household_id" in present:
        households = _id_column(reader.text("household_id", rows), "household_id", rows, allow_empty=True)
    money = {
        c: _amount_column(reader.amounts(c, rows), c, rows) if c in present else np.zeros(n, dtype=np.int64)
        for c in MONEY_COLUMNS
    }
    try:
        return Portfolio._from_long(ids, branches, households, month_ord, money, cards, lines, source)
    except PortfolioError as exc:
        if exc.column is None or exc.column not in labels:
            raise
        raise PortfolioError(
            exc.message,
            file=exc.file,
            line=exc.line,
            column=labels[exc.column],
            customer_id=exc.customer_id,
            month=exc.month,
        ) from None


def _check_text(cells: TextCells, name: str, rows: Rows) -> None:
    flaws = cells.flaws()
    if flaws:
        k = min(flaws)  # distinct cells are in order of first appearance
        rows.fail_cell(cells, k, flaws[k], name)


def _id_column(cells: TextCells, name: str, rows: Rows, *, allow_empty: bool = False) -> Coded:
    _check_text(cells, name, rows)
    lengths = cells.lengths()
    too_long = np.flatnonzero(lengths > MAX_ID_LENGTH)
    if too_long.size:
        k = int(too_long[0])
        rows.fail_cell(
            cells,
            k,
            f"{quote_text(cells.texts()[k])} is {int(lengths[k]):,} characters "
            f"long; an id may have at most {MAX_ID_LENGTH}",
            name,
        )
    raw_values = cells.strings()
    values: NDArray[np.str_] = np.strings.strip(raw_values)
    if not allow_empty:
        empty = np.flatnonzero(values == "")
        if empty.size:
            rows.fail_cell(cells, int(empty[0]), "missing value", name)
    codes = cells.codes
    if not np.array_equal(values, raw_values):  # stripping may merge values: renumber
        again = Coded.encode(values)
        codes, values = again.codes[codes], again.values
    return Coded(codes, values)


def _coded_column(
    cells: TextCells,
    name: str,
    convert: Callable[[str], int],
    rows: Rows,
    dtype: type[np.integer[Any]],
) -> NDArray[Any]:
    """Map a column with few distinct values (months, card levels) through ``convert``."""
    _check_text(cells, name, rows)
    texts = cells.texts()
    table = np.empty(len(texts), dtype=dtype)
    for k, text in enumerate(texts):
        try:
            table[k] = convert(text)
        except InputError as exc:
            rows.fail(int(np.argmax(cells.codes == k)), exc.message, name)
    result: NDArray[Any] = table[cells.codes]
    return result


def month_ordinal(text: str) -> int:
    """The ordinal of a ``month`` cell (:class:`~custvalue.InputError` if it is not a month)."""
    if text.strip() == "":
        raise InputError("missing value")
    if len(text) > _LONGEST_CODE:
        raise InputError(f"{quote_text(text)} is not a month; expected YYYY-MM")
    return Month.parse(text).ordinal


def card_code(text: str) -> int:
    """The code of a ``card_level`` cell (blank is ``none``; :class:`~custvalue.InputError` if unknown)."""
    level = text.strip() or "none"
    code = _CARD_CODE.get(level)
    if code is None:
        raise InputError(f"unknown card level {quote_text(level)}; expected one of {', '.join(CARD_LEVELS)}")
    return code


def _amount_column(cells: AmountText | Fen, name: str, rows: Rows) -> NDArray[np.int64]:
    """Exact fen of a money column; the error names the first bad cell."""
    if isinstance(cells, Fen):
        fen, shown = cells.values, cells.shown
    else:
        text = cells.text
        fen, ok = parse_yuan_bytes(cells.fixed())
        for i in np.flatnonzero(~ok).tolist():  # refused by the fast parser: decide exactly
            s = text(i)
            flaw = text_flaw(s)
            if flaw is not None:
                rows.fail(i, flaw, name)
            if s.strip() == "":
                rows.fail(i, "missing value", name)
            try:
                fen[i] = yuan_to_fen(s, thousands=False)
            except MoneyError as exc:
                rows.fail(i, exc.message, name)

        def shown(i: int) -> str:
            return _short(text(i).strip())

    neg = np.flatnonzero(fen < 0)
    if neg.size:
        i = int(neg[0])
        rows.fail(i, f"negative balance {shown(i)}", name)
    return fen


# --------------------------------------------------------------------- write
def file_columns(portfolio: Portfolio) -> list[str]:
    """The columns a writer puts in the file, in order."""
    names = ["customer_id", "branch_id"]
    if portfolio.household_ids is not None:
        names.append("household_id")
    return [*names, "month", *MONEY_COLUMNS, "card_level"]


def long_blocks(
    portfolio: Portfolio, block: int, progress: Callable[[int, int], None] | None = None
) -> Iterator[dict[str, NDArray[Any]]]:
    """Long rows (valid customer-months) in blocks of ``block`` customers, for the writers.

    Besides the file's columns, ``month_index`` is each row's position on the
    month axis and ``card_level`` holds the level codes.  ``progress(done,
    total)`` is called with the customers of the blocks taken so far.
    """
    t = portfolio.n_months
    month_text = np.array([str(m) for m in portfolio.months])
    cols = np.arange(t)
    for lo in range(0, portfolio.n_customers, block):
        part = portfolio.rows(lo, min(lo + block, portfolio.n_customers))
        n = part.n_customers
        valid = (cols[None, :] >= part.history_start[:, None]).ravel()
        out: dict[str, NDArray[Any]] = {
            "customer_id": np.repeat(part.customer_ids, t)[valid],
            "branch_id": np.repeat(part.branch_ids, t)[valid],
        }
        if part.household_ids is not None:
            out["household_id"] = np.repeat(part.household_ids, t)[valid]
        out["month"] = np.tile(month_text, n)[valid]
        out["month_index"] = np.tile(cols, n)[valid]
        for c in MONEY_COLUMNS:
            out[c] = np.asarray(getattr(part, c)).ravel()[valid]
        out["card_level"] = np.asarray(part.card_level).ravel()[valid]
        yield out
        if progress is not None:
            progress(lo + n, portfolio.n_customers)
    if progress is not None and portfolio.n_customers == 0:
        progress(0, 0)
