"""The portfolio: customers × months of balances, columnar and immutable.

A :class:`Portfolio` holds ``n`` customers over ``T`` consecutive months.  The
monthly columns are ``(n, T)`` read-only ``int64`` arrays of fen (card level is
``int8`` codes, see :data:`CARD_LEVELS`).  Row ``i`` of every array belongs to
``customer_ids[i]``; column ``j`` to ``months[j]``.

The arrays are stored month-major (Fortran order): ``deposits[:, j]``, one
month for every customer, is contiguous in memory, and ``deposits.T`` is a
C-contiguous ``(T, n)`` view.  Evaluation reduces over months for blocks of
customers, so this layout lets it read month rows directly instead of
transposing every block (measured in ``docs/performance.rst``).

Customers with a shorter history
--------------------------------
A customer may start later than the portfolio's first month (a new customer):
``history_start[i]`` is the index of its first month with data, and its cells
before that hold zero and are *not* data: features and evaluations treat them
as missing (``history_complete = False``), they never invent values.  Every
customer must have data up to the portfolio's last month and no gaps in
between; anything else is an error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._arrays import check_memory
from ._arrays import readonly as _readonly
from ._errors import InputError
from ._optional import import_optional
from ._snapshot import read_snapshot, write_snapshot
from .money import INT64_MAX, MoneyError, format_yuan, to_fen
from .months import Month, MonthLike, MonthRange

__all__ = [
    "ASSET_CLASSES",
    "CARD_LEVELS",
    "MAX_AMOUNT",
    "MAX_MONTHS",
    "MONEY_COLUMNS",
    "Portfolio",
    "PortfolioError",
    "register_table_reader",
]

#: Credit-card levels, lowest first; the code of a level is its index.
CARD_LEVELS: Final[tuple[str, ...]] = ("none", "standard", "gold", "platinum", "diamond")
#: The monthly money columns, in file order.
MONEY_COLUMNS: Final[tuple[str, ...]] = (
    "deposits",
    "wealth",
    "investments",
    "mortgage_loan",
    "credit_loan",
    "card_spend",
)
#: Monthly money columns whose values are balances and must not be negative.
_NON_NEGATIVE: Final[frozenset[str]] = frozenset(MONEY_COLUMNS)
#: Asset classes of the seed taxonomy and the portfolio columns they map to.
ASSET_CLASSES: Final[Mapping[str, tuple[str, ...]]] = {
    "deposit": ("deposits",),
    "wealth": ("wealth",),
    "investment": ("investments",),
    "loan": ("mortgage_loan", "credit_loan"),
    "card": ("card_spend",),
}
_CARD_CODE: Final = {name: i for i, name in enumerate(CARD_LEVELS)}
#: Largest amount (fen) of one customer-month cell: 10 trillion yuan.  With at
#: most :data:`MAX_MONTHS` months, every sum of one customer's cells over all
#: six money columns and all months (6 × 1200 × 10**15 < 2**63) fits int64, so
#: AUM and window sums can never overflow; sums across customers are checked.
MAX_AMOUNT: Final = 10**15
#: Most months a portfolio may span (a century).
MAX_MONTHS: Final = 1200
#: Dense arrays above this size are refused when the rows would fill less than
#: 1/64 of them (a few customers with very long histories among many short ones).
_DENSE_LIMIT: Final = 4 * 2**30


class PortfolioError(InputError):
    """A portfolio that cannot be built as given; the message says where."""


#: The reader of data frames behind :meth:`Portfolio.from_pandas` and friends.  It lives in
#: :mod:`custvalue.io` (the readers' checks and errors), which builds on this module and so
#: cannot be imported here: :mod:`custvalue.io` registers it when it is imported (always,
#: since importing any ``custvalue`` module imports the package, and with it ``io``).
_table_readers: list[Callable[..., Portfolio]] = []


def register_table_reader(reader: Callable[..., Portfolio]) -> None:
    """Install the data-frame reader (called once by :mod:`custvalue.io`; not for users)."""
    _table_readers[:] = [reader]


def _read_table(data: Any, **options: Any) -> Portfolio:
    if not _table_readers:  # pragma: no cover - custvalue.io is imported with the package
        raise RuntimeError("custvalue.io is not imported; import custvalue first")
    return _table_readers[0](data, **options)


@attrs.frozen(eq=False)
class Coded:
    """A dictionary-encoded string column: ``values[codes]`` are the strings.

    ``values`` are in order of first appearance (private helper for readers).
    """

    codes: NDArray[np.intp]
    values: NDArray[np.str_]

    @classmethod
    def encode(cls, strings: NDArray[np.str_]) -> Coded:
        """Encode strings, numbering distinct values by first appearance."""
        uniq, first, inverse = np.unique(strings, return_index=True, return_inverse=True)
        by_first = np.argsort(first, kind="stable")
        rank = np.empty_like(by_first)
        rank[by_first] = np.arange(by_first.shape[0])
        return cls(rank[inverse.reshape(-1)], uniq[by_first])


def _ids(values: ArrayLike, name: str) -> NDArray[np.str_]:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise PortfolioError(f"{name} must be one-dimensional, got shape {arr.shape}", column=name)
    if arr.dtype.kind == "O":
        for i, v in enumerate(arr.tolist()):
            if v is None or (isinstance(v, float) and v != v):
                raise PortfolioError(f"missing value in row {i}", column=name)
        arr = arr.astype(str)
    elif arr.dtype.kind not in "U":
        arr = arr.astype(str)
    if arr.size and np.any(arr == ""):
        i = int(np.flatnonzero(arr == "")[0])
        raise PortfolioError(f"empty id in row {i}", column=name)
    return _readonly(arr)


@attrs.frozen(eq=False, repr=False)
class Portfolio:
    """Customers × months of balances.

    Build one with :meth:`from_arrays`, :meth:`from_records`,
    :meth:`from_pandas`, :meth:`from_arrow`, :meth:`from_polars`,
    :func:`custvalue.read_balances` or :func:`custvalue.synthetic.generate`.

    Attributes
    ----------
    customer_ids, branch_ids : ndarray of str, shape (n,)
    household_ids : ndarray of str, shape (n,), or None
    months : MonthRange
        The month axis (``T`` months).
    deposits, wealth, investments, mortgage_loan, credit_loan, card_spend : ndarray of int64, shape (n, T)
        Fen.  Balances are end-of-month; ``card_spend`` is spend within the month.
    card_level : ndarray of int8, shape (n, T)
        Index into :data:`CARD_LEVELS`; an invalid card counts as ``none``.
    history_start : ndarray of int16, shape (n,)
        Index of each customer's first month with data (0 for a full history).
    opened : ndarray of datetime64[D], shape (n,), or None
        Date the customer relationship started, when known.

    Examples
    --------
    >>> import numpy as np
    >>> p = Portfolio.from_arrays(
    ...     customer_ids=["C1", "C2"], branch_ids=["B1", "B1"], start="2026-09",
    ...     deposits=np.array([[100, 200], [300, 400]]))
    >>> p
    <Portfolio: 2 customers × 2 months (2026-09..2026-10), 2 complete histories>
    >>> p.aum().tolist()
    [[100, 200], [300, 400]]
    """

    customer_ids: NDArray[np.str_]
    branch_ids: NDArray[np.str_]
    months: MonthRange
    deposits: NDArray[np.int64]
    wealth: NDArray[np.int64]
    investments: NDArray[np.int64]
    mortgage_loan: NDArray[np.int64]
    credit_loan: NDArray[np.int64]
    card_spend: NDArray[np.int64]
    card_level: NDArray[np.int8]
    history_start: NDArray[np.int16]
    household_ids: NDArray[np.str_] | None = None
    opened: NDArray[np.datetime64] | None = None
    _index: dict[str, int] | None = attrs.field(default=None, alias="_index")

    # ------------------------------------------------------------------ build
    @classmethod
    def from_arrays(
        cls,
        *,
        customer_ids: ArrayLike,
        branch_ids: ArrayLike,
        start: MonthLike,
        deposits: ArrayLike | None = None,
        wealth: ArrayLike | None = None,
        investments: ArrayLike | None = None,
        mortgage_loan: ArrayLike | None = None,
        credit_loan: ArrayLike | None = None,
        card_spend: ArrayLike | None = None,
        card_level: ArrayLike | None = None,
        history_start: ArrayLike | None = None,
        household_ids: ArrayLike | None = None,
        opened: ArrayLike | None = None,
        copy: bool = False,
    ) -> Portfolio:
        """Build a portfolio from ``(n, T)`` arrays.

        Money arrays must be integer fen (any integer dtype; converted to
        ``int64``); a float array is refused (convert it with
        :func:`custvalue.money.from_float` first).  A masked array with masked
        cells is refused as missing data.  Omitted money columns are zero;
        an omitted ``card_level`` is ``none``.  ``card_level`` may hold codes
        or level names.  At least one monthly column must be given.

        The portfolio stores every monthly column month-major: an ``(n, T)``
        array in Fortran order, so that each month's values for all customers
        are contiguous (the evaluation kernel reduces over months).  Arrays
        that already are ``int64`` (``int8`` for card codes) in Fortran order
        are not copied (pass ``copy=True`` to detach from the caller's
        buffers); others are copied once.  The portfolio's views are
        read-only either way.
        """
        ids = _ids(customer_ids, "customer_id")
        branches = _ids(branch_ids, "branch_id")
        n = ids.shape[0]
        if branches.shape[0] != n:
            raise PortfolioError(
                f"branch_id has {branches.shape[0]} rows but customer_id has {n}", column="branch_id"
            )
        households = None if household_ids is None else _ids(household_ids, "household_id")
        if households is not None and households.shape[0] != n:
            raise PortfolioError(
                f"household_id has {households.shape[0]} rows but customer_id has {n}",
                column="household_id",
            )
        given = {
            "deposits": deposits,
            "wealth": wealth,
            "investments": investments,
            "mortgage_loan": mortgage_loan,
            "credit_loan": credit_loan,
            "card_spend": card_spend,
        }
        shape: tuple[int, int] | None = None
        arrays: dict[str, NDArray[Any]] = {}
        for name, value in [*given.items(), ("card_level", card_level)]:
            if value is None:
                continue
            if np.ma.isMaskedArray(value) and np.ma.getmaskarray(value).any():
                r, c = np.argwhere(np.ma.getmaskarray(value))[0]
                raise PortfolioError(
                    "missing value",
                    column=name,
                    customer_id=str(ids[r]) if r < n else None,
                    month=str(Month.coerce(start) + int(c)),
                )
            arr = np.asarray(np.ma.getdata(value) if np.ma.isMaskedArray(value) else value)
            if arr.ndim != 2:
                raise PortfolioError(
                    f"must be two-dimensional (customers × months), got shape {arr.shape}",
                    column=name,
                )
            if shape is None:
                shape = (int(arr.shape[0]), int(arr.shape[1]))
            elif arr.shape != shape:
                raise PortfolioError(
                    f"shape {arr.shape} does not match {shape} of the other columns", column=name
                )
            arrays[name] = arr
        if shape is None:
            raise PortfolioError("at least one monthly column is needed")
        if shape[0] != n:
            raise PortfolioError(f"monthly columns have {shape[0]} rows but customer_id has {n}")
        if shape[1] > MAX_MONTHS:
            raise PortfolioError(
                f"the portfolio spans {shape[1]:,} months; at most {MAX_MONTHS:,} (a century) are supported"
            )
        months = MonthRange(Month.coerce(start), shape[1])
        hs = np.zeros(n, dtype=np.int16) if history_start is None else np.asarray(history_start)
        if hs.shape != (n,) or hs.dtype.kind not in "iu":
            raise PortfolioError(
                "history_start must be an integer array of shape (n,)", column="history_start"
            )
        if n and (hs.min() < 0 or hs.max() >= max(shape[1], 1)):
            i = int(np.flatnonzero((hs < 0) | (hs >= shape[1]))[0])
            raise PortfolioError(
                f"history_start {int(hs[i])} is outside 0..{shape[1] - 1}",
                column="history_start",
                customer_id=str(ids[i]),
            )
        cols: dict[str, Any] = {}
        for name in MONEY_COLUMNS:
            if name not in arrays:
                cols[name] = _readonly(np.zeros(shape, dtype=np.int64, order="F"))
                continue
            arr = arrays[name]
            if arr.dtype.kind == "b" or arr.dtype.kind not in "iu":
                raise PortfolioError(
                    f"must hold integer fen, got dtype {arr.dtype}; convert floats with "
                    "custvalue.money.from_float and decimal strings with parse_yuan_array",
                    column=name,
                )
            if arr.dtype.kind == "u" and arr.dtype.itemsize == 8 and arr.size and arr.max() > INT64_MAX:
                raise PortfolioError("amount overflows int64 fen", column=name)
            if arr.size and int(arr.max()) > MAX_AMOUNT:
                r, c = np.argwhere(arr > MAX_AMOUNT)[0]
                raise PortfolioError(
                    f"amount {int(arr[r, c])} fen is above the largest supported cell "
                    f"{MAX_AMOUNT:,} fen (10 trillion yuan)",
                    column=name,
                    customer_id=str(ids[r]),
                    month=str(months[int(c)]),
                )
            cols[name] = _readonly(np.array(arr, dtype=np.int64, order="F", copy=copy or None))
        if "card_level" in arrays:
            cols["card_level"] = _readonly(_card_codes(arrays["card_level"], ids, months, copy))
        else:
            cols["card_level"] = _readonly(np.zeros(shape, dtype=np.int8, order="F"))
        opened_arr = None
        if opened is not None:
            opened_arr = np.asarray(opened, dtype="datetime64[D]")
            if opened_arr.shape != (n,):
                raise PortfolioError("opened must have shape (n,)", column="opened")
            opened_arr = _readonly(opened_arr)
        p = cls(
            customer_ids=ids,
            branch_ids=branches,
            months=months,
            history_start=_readonly(hs.astype(np.int16, copy=False)),
            household_ids=households,
            opened=opened_arr,
            **cols,
        )
        p._validate()
        return p

    @classmethod
    def from_records(
        cls,
        records: Iterable[Mapping[str, Any]],
        *,
        source: str | None = None,
        first_line: int = 2,
    ) -> Portfolio:
        """Build a portfolio from row records, one per customer-month.

        Each record has the columns of the balances file (SPEC section 7):
        ``customer_id, branch_id, month, deposits, wealth, investments,
        mortgage_loan, credit_loan, card_spend, card_level``; money values are
        yuan (``str``/``Decimal``) or fen (``int``), converted exactly by
        :func:`custvalue.money.to_fen`.  ``household_id`` is optional.
        Errors name the record (as a line number counted from ``first_line``,
        so file readers can pass through file positions), the column, the
        customer and the month.  Rows may come in any order.

        Examples
        --------
        >>> rows = [
        ...     {"customer_id": "C1", "branch_id": "B1", "month": "2026-10", "deposits": "500000.00"},
        ...     {"customer_id": "C1", "branch_id": "B1", "month": "2026-09", "deposits": "499999.99"},
        ... ]
        >>> Portfolio.from_records(rows).deposits.tolist()
        [[49999999, 50000000]]
        """
        ids: list[str] = []
        branches: list[str] = []
        households: list[str | None] = []
        month_ord: list[int] = []
        money: dict[str, list[int]] = {c: [] for c in MONEY_COLUMNS}
        cards: list[int] = []
        lines: list[int] = []
        for k, rec in enumerate(records):
            line = first_line + k
            cid = rec.get("customer_id")
            if cid is None or str(cid).strip() == "":
                raise PortfolioError("missing value", file=source, line=line, column="customer_id")
            cid = str(cid).strip()
            b = rec.get("branch_id")
            if b is None or str(b).strip() == "":
                raise PortfolioError(
                    "missing value", file=source, line=line, column="branch_id", customer_id=cid
                )
            mtext = rec.get("month")
            if mtext is None or str(mtext).strip() == "":
                raise PortfolioError("missing value", file=source, line=line, column="month", customer_id=cid)
            try:
                m = mtext if isinstance(mtext, Month) else Month.parse(str(mtext))
            except InputError as exc:
                raise PortfolioError(
                    exc.message, file=source, line=line, column="month", customer_id=cid
                ) from None
            for col in MONEY_COLUMNS:
                v = rec.get(col, 0)
                if v is None or (isinstance(v, str) and v.strip() == ""):
                    raise PortfolioError(
                        "missing value", file=source, line=line, column=col, customer_id=cid, month=str(m)
                    )
                try:
                    fen = to_fen(v)
                except MoneyError as exc:
                    raise PortfolioError(
                        exc.message, file=source, line=line, column=col, customer_id=cid, month=str(m)
                    ) from None
                if fen < 0 and col in _NON_NEGATIVE:
                    raise PortfolioError(
                        f"negative balance {v}",
                        file=source,
                        line=line,
                        column=col,
                        customer_id=cid,
                        month=str(m),
                    )
                money[col].append(fen)
            level = rec.get("card_level", "none")
            level = "none" if level is None or str(level).strip() == "" else str(level).strip()
            if level not in _CARD_CODE:
                raise PortfolioError(
                    f"unknown card level {level!r}; expected one of {', '.join(CARD_LEVELS)}",
                    file=source,
                    line=line,
                    column="card_level",
                    customer_id=cid,
                    month=str(m),
                )
            cards.append(_CARD_CODE[level])
            hh = rec.get("household_id")
            households.append(None if hh is None or str(hh).strip() == "" else str(hh).strip())
            ids.append(cid)
            branches.append(str(b).strip())
            month_ord.append(m.ordinal)
            lines.append(line)
        return cls._from_long(
            np.array(ids, dtype=str),
            np.array(branches, dtype=str),
            households,
            np.array(month_ord, dtype=np.int64),
            {c: np.array(v, dtype=np.int64) for c, v in money.items()},
            np.array(cards, dtype=np.int8),
            np.array(lines, dtype=np.int64),
            source,
        )

    @classmethod
    def from_pandas(
        cls,
        df: Any,
        *,
        layout: Literal["long", "wide"] = "long",
        columns: Mapping[str, str] | None = None,
        policy: Any = None,
        floats: str | None = None,
    ) -> Portfolio:
        """Build a portfolio from a :class:`pandas.DataFrame` (needs pandas and pyarrow).

        Parameters
        ----------
        df
            The frame, in the layout ``layout`` names.
        layout
            ``"long"``: one row per customer-month with the balances file's
            columns (:func:`custvalue.read_balances`); ``"wide"``: one row
            per customer, ``customer_id``, ``branch_id`` and
            ``FIELD@YYYY-MM`` columns (``deposits@2026-10``).
        columns
            A column mapping, custvalue's name -> the frame's
            (``{"customer_id": "CUST_NO"}``), as for
            :func:`~custvalue.read_balances`.
        policy
            Require only the columns this policy reads; others are zero
            (``card_level``: ``none``).
        floats
            Money is exact: ``Decimal`` objects (yuan), integers (whole yuan),
            decimal text, or Arrow decimals.  A float column is an error
            unless a rounding is named (``"half_even"``, ``"half_up"``,
            ``"down"``, ``"floor"``, ``"ceiling"``; see
            :func:`custvalue.money.from_float`).

        Notes
        -----
        The checks and errors are :func:`~custvalue.read_balances`'s ("line"
        is the 1-based row number); columns not read are ignored with a
        :class:`~custvalue.io.ExtraColumnsWarning`.  See :doc:`/bank_files`.

        Examples
        --------
        >>> import pandas as pd
        >>> from decimal import Decimal
        >>> df = pd.DataFrame({"customer_id": ["C1", "C1"], "branch_id": "B1",
        ...                    "month": ["2026-09", "2026-10"],
        ...                    "deposits": [Decimal("499999.99"), Decimal("500000")]})
        >>> from custvalue import Policy
        >>> aum_only = Policy.from_dict({"name": "aum_only", "tiers": [
        ...     {"id": "platinum", "aum_floor": 500000, "window": 3}, {"id": "rest"}],
        ...     "aum": ["deposits"]})
        >>> Portfolio.from_pandas(df, policy=aum_only).deposits.tolist()
        [[49999999, 50000000]]
        >>> Portfolio.from_pandas(df.assign(deposits=[499999.99, 500000.0]), policy=aum_only)
        Traceback (most recent call last):
        ...
        custvalue.portfolio.PortfolioError: floating-point column (double) cannot hold exact amounts; ...
        >>> Portfolio.from_pandas(df.assign(deposits=[499999.99, 500000.0]), policy=aum_only,
        ...                       floats="half_even").deposits.tolist()
        [[49999999, 50000000]]
        """
        return _read_table(df, layout=layout, columns=columns, policy=policy, floats=floats)

    @classmethod
    def from_arrow(
        cls,
        table: Any,
        *,
        layout: Literal["long", "wide"] = "long",
        columns: Mapping[str, str] | None = None,
        policy: Any = None,
        floats: str | None = None,
    ) -> Portfolio:
        """Build a portfolio from a :class:`pyarrow.Table` (or a polars DataFrame, through its Arrow data).

        The options are :meth:`from_pandas`'s.

        Examples
        --------
        >>> import pyarrow as pa
        >>> t = pa.table({"CUST_NO": ["C1"], "ORG": ["B1"], "deposits@2026-10": [500000]})
        >>> from custvalue import Policy
        >>> aum_only = Policy.from_dict({"name": "aum_only", "tiers": [
        ...     {"id": "platinum", "aum_floor": 500000, "window": 3}, {"id": "rest"}],
        ...     "aum": ["deposits"]})
        >>> p = Portfolio.from_arrow(t, layout="wide", policy=aum_only,
        ...                          columns={"customer_id": "CUST_NO", "branch_id": "ORG"})
        >>> p.customer_ids.tolist(), p.deposits.tolist(), str(p.months)
        (['C1'], [[50000000]], '2026-10..2026-10')
        """
        return _read_table(table, layout=layout, columns=columns, policy=policy, floats=floats)

    @classmethod
    def from_polars(
        cls,
        df: Any,
        *,
        layout: Literal["long", "wide"] = "long",
        columns: Mapping[str, str] | None = None,
        policy: Any = None,
        floats: str | None = None,
    ) -> Portfolio:
        """Build a portfolio from a :class:`polars.DataFrame` (through its Arrow data; needs pyarrow).

        The options are :meth:`from_pandas`'s; polars ``Decimal`` columns are
        exact yuan.
        """
        return _read_table(df, layout=layout, columns=columns, policy=policy, floats=floats)

    @classmethod
    def _from_long(
        cls,
        ids: NDArray[np.str_] | Coded,
        branches: NDArray[np.str_] | Coded,
        households: Sequence[str | None] | NDArray[Any] | Coded | None,
        month_ord: NDArray[np.int64],
        money: Mapping[str, NDArray[np.int64]],
        cards: NDArray[np.int8],
        lines: NDArray[np.int64] | None,
        source: str | None,
    ) -> Portfolio:
        """Pivot validated long rows (one per customer-month) into a portfolio.

        Vectorised: integer sorting and scattering, no per-row Python work.
        ``ids``, ``branches`` and ``households`` may be string arrays or
        :class:`Coded` (dictionary-encoded) columns, which file readers get
        cheaply from Arrow.  Rows already in (customer, month) order are not
        sorted again.  Reports duplicate rows, gaps, ragged ends and branch
        changes with the file line of the offending row.
        """
        n_rows = int(month_ord.shape[0])
        if n_rows == 0:
            raise PortfolioError("no rows", file=source)
        cid = ids if isinstance(ids, Coded) else Coded.encode(ids)
        cust = cid.codes
        id_values = cid.values

        def where(row: int) -> dict[str, Any]:
            return {
                "file": source,
                "line": int(lines[row]) if lines is not None else None,
                "customer_id": str(id_values[cust[row]]),
                "month": str(Month.from_ordinal(int(month_ord[row]))),
            }

        n = int(id_values.shape[0])
        first_m, last_m = int(month_ord.min()), int(month_ord.max())
        t_len = last_m - first_m + 1
        if t_len > MAX_MONTHS:
            r = int(np.argmax(month_ord)) if int(month_ord[0]) == first_m else int(np.argmin(month_ord))
            raise PortfolioError(
                f"the file spans {t_len:,} months ({Month.from_ordinal(first_m)}.."
                f"{Month.from_ordinal(last_m)}); at most {MAX_MONTHS:,} (a century) are supported",
                **where(r),
            )
        for name, values in money.items():
            if values.size and int(values.max()) > MAX_AMOUNT:
                r = int(np.argmax(values > MAX_AMOUNT))
                raise PortfolioError(
                    f"amount {int(values[r])} fen is above the largest supported cell "
                    f"{MAX_AMOUNT:,} fen (10 trillion yuan)",
                    column=name,
                    **where(r),
                )
        dense = n * t_len * (8 * len(money) + 1)
        if n_rows * 64 < dense and dense > _DENSE_LIMIT:
            raise PortfolioError(
                f"{n:,} customers × {t_len:,} months would need {dense / 2**30:.1f} GiB of dense "
                f"arrays for {n_rows:,} rows: the months of the file are too far apart "
                f"({Month.from_ordinal(first_m)}..{Month.from_ordinal(last_m)})",
                file=source,
            )
        check_memory(2 * dense, f"a portfolio of {n:,} customers × {t_len:,} months")
        col = month_ord - first_m
        key = cust.astype(np.int64) * t_len + col
        if n_rows > 1 and bool(np.all(key[1:] > key[:-1])):
            order: NDArray[np.intp] = np.arange(n_rows)
            cs, ms, ks = cust, col, key
        else:
            order = np.argsort(key, kind="stable")
            cs, ms, ks = cust[order], col[order], key[order]
        dup = ks[1:] == ks[:-1]
        if dup.any():
            r = int(order[int(np.flatnonzero(dup)[0]) + 1])
            raise PortfolioError("duplicate row for this customer and month", **where(r))
        # per-customer first/last month and count
        start_idx = np.flatnonzero(np.r_[True, cs[1:] != cs[:-1]])
        end_idx = np.r_[start_idx[1:], cs.shape[0]] - 1
        first_col = ms[start_idx]
        last_col = ms[end_idx]
        counts = end_idx - start_idx + 1
        cust_of_run = cs[start_idx]
        if cust_of_run.shape[0] != n:
            missing = np.setdiff1d(np.arange(n), cust_of_run)
            raise PortfolioError("customer has no rows", customer_id=str(id_values[missing[0]]), file=source)
        gaps = counts != (last_col - first_col + 1)
        if gaps.any():
            j = int(np.flatnonzero(gaps)[0])
            seg = ms[start_idx[j] : end_idx[j] + 1]
            hole = int(np.flatnonzero(np.diff(seg) > 1)[0])
            miss = Month.from_ordinal(first_m + int(seg[hole]) + 1)
            r = int(order[start_idx[j] + hole + 1])
            raise PortfolioError(
                f"gap in monthly data: no row for {miss}",
                file=source,
                line=int(lines[r]) if lines is not None else None,
                customer_id=str(id_values[cust[r]]),
                month=str(miss),
            )
        short = last_col != t_len - 1
        if short.any():
            j = int(np.flatnonzero(short)[0])
            r = int(order[end_idx[j]])
            end = Month.from_ordinal(last_m)
            raise PortfolioError(
                f"customer's data ends before the portfolio's last month {end}; every customer "
                "needs rows up to the last month (a customer may start later, not end earlier)",
                **where(r),
            )
        # one branch (and household) per customer
        br = branches if isinstance(branches, Coded) else Coded.encode(branches)
        bcodes = br.codes[order]
        change = (cs[1:] == cs[:-1]) & (bcodes[1:] != bcodes[:-1])
        if change.any():
            r = int(order[int(np.flatnonzero(change)[0]) + 1])
            raise PortfolioError(
                "branch_id differs from this customer's earlier rows; a portfolio holds one "
                "branch per customer (use the as-of month's branch)",
                column="branch_id",
                **where(r),
            )
        branch_ids = br.values[bcodes[start_idx]]
        hist = np.zeros(n, dtype=np.int16)
        hist[cust_of_run] = first_col.astype(np.int16)
        out: dict[str, Any] = {}
        # month-major scatter: the portfolio's own layout, so from_arrays copies nothing
        flat = col.astype(np.int64) * n + cust
        for name, values in money.items():
            a = np.zeros(n * t_len, dtype=np.int64)
            a[flat] = values
            out[name] = a.reshape(t_len, n).T
        c = np.zeros(n * t_len, dtype=np.int8)
        c[flat] = cards
        out["card_level"] = c.reshape(t_len, n).T
        hh_arr = None
        if households is not None:
            if isinstance(households, Coded):
                hh = households
            else:
                raw = np.asarray(households, dtype=object)
                raw = np.where(raw == np.array(None), "", raw).astype(str)
                hh = Coded.encode(raw)
            if not bool(np.all(hh.values == "")):
                hcodes = hh.codes[order]
                hchange = (cs[1:] == cs[:-1]) & (hcodes[1:] != hcodes[:-1])
                if hchange.any():
                    r = int(order[int(np.flatnonzero(hchange)[0]) + 1])
                    raise PortfolioError(
                        "household_id differs from this customer's earlier rows",
                        column="household_id",
                        **where(r),
                    )
                hh_arr = hh.values[hcodes[start_idx]]
                if np.any(hh_arr == ""):
                    i = int(np.flatnonzero(hh_arr == "")[0])
                    raise PortfolioError(
                        "missing value", column="household_id", **where(int(order[start_idx[i]]))
                    )
        return cls.from_arrays(
            customer_ids=id_values,
            branch_ids=branch_ids,
            household_ids=hh_arr,
            start=Month.from_ordinal(first_m),
            history_start=hist,
            **out,
        )

    def _validate(self) -> None:
        n = self.customer_ids.shape[0]
        if n and int(self.history_start.max()) > 0:
            before = np.arange(self.n_months)[None, :] < self.history_start[:, None]
            for name in (*MONEY_COLUMNS, "card_level"):
                arr: NDArray[Any] = getattr(self, name)
                bad = before & (arr != 0)
                if bad.any():
                    r, c = np.argwhere(bad)[0]
                    raise PortfolioError(
                        "value before the customer's history start (cells before history_start "
                        "must be zero: they are not data)",
                        column=name,
                        customer_id=str(self.customer_ids[r]),
                        month=str(self.months[int(c)]),
                    )
        if n > 1:
            srt = np.sort(self.customer_ids)
            d = srt[1:] == srt[:-1]
            if d.any():
                raise PortfolioError(
                    "duplicate customer id",
                    column="customer_id",
                    customer_id=str(srt[int(np.flatnonzero(d)[0])]),
                )
        for name in _NON_NEGATIVE:
            a: NDArray[np.int64] = getattr(self, name)
            if a.size and a.min() < 0:
                r, c = np.argwhere(a < 0)[0]
                raise PortfolioError(
                    f"negative balance {int(a[r, c])} fen",
                    column=name,
                    customer_id=str(self.customer_ids[r]),
                    month=str(self.months[int(c)]),
                )

    # --------------------------------------------------------------- access
    @property
    def n_customers(self) -> int:
        """Number of customers ``n``."""
        return int(self.customer_ids.shape[0])

    @property
    def n_months(self) -> int:
        """Number of months ``T``."""
        return self.months.length

    def __len__(self) -> int:
        return self.n_customers

    def column(self, name: str) -> NDArray[Any]:
        """A monthly column by name (``"deposits"``, ..., ``"card_level"``, ``"aum"``)."""
        if name == "aum":
            return self.aum()
        if name in MONEY_COLUMNS or name == "card_level":
            arr: NDArray[Any] = getattr(self, name)
            return arr
        raise KeyError(
            f"unknown portfolio column {name!r}; known: {', '.join((*MONEY_COLUMNS, 'card_level', 'aum'))}"
        )

    def aum(self, classes: Sequence[str] = ("deposits", "wealth", "investments")) -> NDArray[np.int64]:
        """Assets under management: the sum of the named columns, ``(n, T)`` fen.

        The sum cannot overflow: every cell is at most :data:`MAX_AMOUNT`.
        """
        unknown = [c for c in classes if c not in MONEY_COLUMNS]
        if unknown:
            raise KeyError(f"unknown AUM column(s) {unknown}; known: {', '.join(MONEY_COLUMNS)}")
        total = np.zeros((self.n_customers, self.n_months), dtype=np.int64, order="F")  # month-major
        for c in classes:
            total += getattr(self, c)
        return _readonly(total)

    def index_of(self, customer_ids: str | Sequence[str] | NDArray[np.str_]) -> NDArray[np.intp]:
        """Row positions of customer ids; an unknown id is an error naming it."""
        index = self._lookup()
        one = isinstance(customer_ids, str)
        wanted = [customer_ids] if one else list(np.asarray(customer_ids).tolist())
        out = np.empty(len(wanted), dtype=np.intp)
        for k, cid in enumerate(wanted):
            pos = index.get(str(cid))
            if pos is None:
                raise PortfolioError("unknown customer", customer_id=str(cid))
            out[k] = pos
        return out

    def _lookup(self) -> dict[str, int]:
        if self._index is None:
            object.__setattr__(self, "_index", {c: i for i, c in enumerate(self.customer_ids.tolist())})
        assert self._index is not None
        return self._index

    # -------------------------------------------------------------- derive
    def select(self, rows: ArrayLike) -> Portfolio:
        """A portfolio of some customers: ids, positions or a boolean mask.

        >>> import numpy as np
        >>> p = Portfolio.from_arrays(customer_ids=["a", "b", "c"], branch_ids=["x"] * 3,
        ...                           start="2026-10", deposits=np.array([[1], [2], [3]]))
        >>> p.select(["c", "a"]).customer_ids.tolist()
        ['c', 'a']
        >>> p.select(np.array([False, True, False])).deposits.tolist()
        [[2]]
        """
        sel = np.asarray(rows)
        if sel.dtype.kind in "UO" or isinstance(rows, str):
            idx: NDArray[Any] = self.index_of(np.atleast_1d(sel))
        elif sel.dtype.kind == "b":
            if sel.shape != (self.n_customers,):
                raise PortfolioError(f"mask has shape {sel.shape}, expected ({self.n_customers},)")
            idx = np.flatnonzero(sel)
        else:
            idx = sel.astype(np.intp)
        if idx.size != np.unique(idx).size:
            raise PortfolioError("a customer is selected more than once")
        return self._take(idx)

    def _take(self, idx: NDArray[Any] | slice) -> Portfolio:
        def t(a: NDArray[Any]) -> NDArray[Any]:
            return _readonly(a[idx])

        def monthly(a: NDArray[Any]) -> NDArray[Any]:
            # gather within each month's contiguous row: the result stays month-major
            return _readonly(np.take(a.T, idx, axis=1).T if not isinstance(idx, slice) else a[idx])

        columns: dict[str, Any] = {c: monthly(getattr(self, c)) for c in (*MONEY_COLUMNS, "card_level")}
        return attrs.evolve(
            self,
            customer_ids=t(self.customer_ids),
            branch_ids=t(self.branch_ids),
            household_ids=None if self.household_ids is None else t(self.household_ids),
            opened=None if self.opened is None else t(self.opened),
            history_start=t(self.history_start),
            _index=None,
            **columns,
        )

    def rows(self, start: int, stop: int) -> Portfolio:
        """Customers ``start:stop`` as a zero-copy view (for chunked evaluation)."""
        return self._take(slice(start, stop))

    def window(self, first: MonthLike, last: MonthLike) -> Portfolio:
        """The months ``first..last`` (both included), as zero-copy views.

        Customers whose history starts after ``last`` are an error: they
        would have no data in the window.
        """
        f = Month.coerce(first)
        la = Month.coerce(last)
        i, j = self.months.index(f), self.months.index(la)
        if j < i:
            raise PortfolioError(f"window ends ({la}) before it starts ({f})")
        hs = np.maximum(self.history_start.astype(np.int32) - i, 0)
        if hs.size and int(hs.max()) > j - i:
            k = int(np.argmax(hs))
            raise PortfolioError("customer has no data in the window", customer_id=str(self.customer_ids[k]))
        sl = (slice(None), slice(i, j + 1))
        columns: dict[str, Any] = {c: _readonly(getattr(self, c)[sl]) for c in (*MONEY_COLUMNS, "card_level")}
        return attrs.evolve(
            self,
            months=MonthRange(f, j - i + 1),
            history_start=_readonly(hs.astype(np.int16)),
            **columns,
        )

    # ------------------------------------------------------------ convert
    def to_records(self) -> list[dict[str, Any]]:
        """Long rows (customer-month) with yuan strings, as in the balances file.

        Months before a customer's ``history_start`` are omitted.  Meant for
        small portfolios and tests; use :meth:`to_pandas` for large ones.
        """
        out: list[dict[str, Any]] = []
        for i, cid in enumerate(self.customer_ids.tolist()):
            for j in range(int(self.history_start[i]), self.n_months):
                row: dict[str, Any] = {
                    "customer_id": cid,
                    "branch_id": str(self.branch_ids[i]),
                    "month": str(self.months[j]),
                }
                for c in MONEY_COLUMNS:
                    row[c] = format_yuan(int(getattr(self, c)[i, j]), thousands=False)
                row["card_level"] = CARD_LEVELS[int(self.card_level[i, j])]
                out.append(row)
        return out

    def to_pandas(self) -> Any:
        """Long :class:`pandas.DataFrame`, one row per customer-month (money in fen).

        Requires the ``pandas`` extra (``pip install custvalue[pandas]``).
        """
        pd = import_optional("pandas", extra="pandas")
        n, t = self.n_customers, self.n_months
        valid = (np.arange(t)[None, :] >= self.history_start[:, None]).ravel()
        data: dict[str, Any] = {
            "customer_id": np.repeat(self.customer_ids, t)[valid],
            "branch_id": np.repeat(self.branch_ids, t)[valid],
            "month": np.tile(np.array([str(m) for m in self.months]), n)[valid],
        }
        for c in MONEY_COLUMNS:
            data[c] = getattr(self, c).ravel()[valid]
        data["card_level"] = pd.Categorical.from_codes(
            self.card_level.ravel()[valid].astype(np.int8), categories=list(CARD_LEVELS)
        )
        return pd.DataFrame(data)

    # ------------------------------------------------------------ snapshots
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the portfolio as a snapshot file (Arrow IPC / Feather v2, wide), atomically.

        One column per field and month (``deposits@2026-10``, int64 fen;
        ``card_level@2026-10``, int8 codes) beside ``customer_id``,
        ``branch_id``, ``household_id``, ``history_start`` and ``opened``;
        any Arrow reader opens it (``pyarrow.feather.read_table``,
        ``polars.read_ipc``).  :meth:`load` maps it back without a copy.  The
        file is written to a temporary file beside ``path`` and renamed into
        place, so an existing file survives any failure.  Needs the
        ``parquet`` extra (pyarrow).  Returns the path.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> from custvalue.synthetic import generate
        >>> p = generate(1_000, seed=1)
        >>> f = p.save(pathlib.Path(tempfile.mkdtemp()) / "book.arrow")
        >>> q = Portfolio.load(f)
        >>> q == p, q.deposits.flags.writeable, q.deposits.flags.f_contiguous
        (True, False, True)
        """
        return write_snapshot(
            path,
            months=self.months,
            customer_ids=self.customer_ids,
            branch_ids=self.branch_ids,
            household_ids=self.household_ids,
            history_start=self.history_start,
            opened=self.opened,
            monthly={c: getattr(self, c) for c in (*MONEY_COLUMNS, "card_level")},
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Portfolio:
        """Open a snapshot written by :meth:`save`, memory-mapped.

        The monthly arrays are read-only views of the mapped file (month-major,
        no copy; a layout rewritten by another tool is copied once), and the
        portfolio's guarantees are checked in one pass over each column:
        amounts in ``0..MAX_AMOUNT`` fen, card codes ``0..4``, zero cells
        before ``history_start``, non-empty unique ids.  A file that is not a
        snapshot, is truncated or breaks a guarantee is a
        :class:`PortfolioError` naming the file (and column, customer and
        month).  Keep the file unchanged while the portfolio is in use
        (replace it, as :meth:`save` does, rather than writing into it).
        """
        fields: dict[str, tuple[Any, int]] = {c: (np.int64, MAX_AMOUNT) for c in MONEY_COLUMNS}
        fields["card_level"] = (np.int8, len(CARD_LEVELS) - 1)
        snap = read_snapshot(path, fields=fields, error=PortfolioError)
        if snap.months.length > MAX_MONTHS:
            raise PortfolioError(
                f"the snapshot spans {snap.months.length:,} months; at most {MAX_MONTHS:,} are supported",
                file=str(path),
            )
        return cls(
            customer_ids=snap.customer_ids,
            branch_ids=snap.branch_ids,
            months=snap.months,
            history_start=snap.history_start,
            household_ids=snap.household_ids,
            opened=snap.opened,
            deposits=snap.monthly["deposits"],
            wealth=snap.monthly["wealth"],
            investments=snap.monthly["investments"],
            mortgage_loan=snap.monthly["mortgage_loan"],
            credit_loan=snap.monthly["credit_loan"],
            card_spend=snap.monthly["card_spend"],
            card_level=snap.monthly["card_level"],
        )

    def __repr__(self) -> str:
        complete = int(np.count_nonzero(self.history_start == 0))
        span = str(self.months) if self.n_months else "no months"
        return (
            f"<Portfolio: {self.n_customers} customers × {self.n_months} months ({span}), "
            f"{complete} complete histories>"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Portfolio):
            return NotImplemented
        same = self.months == other.months and all(
            np.array_equal(getattr(self, c), getattr(other, c))
            for c in ("customer_ids", "branch_ids", "history_start", *MONEY_COLUMNS, "card_level")
        )
        for c in ("household_ids", "opened"):
            a, b = getattr(self, c), getattr(other, c)
            same = same and (
                (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))
            )
        return bool(same)

    __hash__ = None  # type: ignore[assignment]


def _card_codes(arr: NDArray[Any], ids: NDArray[np.str_], months: MonthRange, copy: bool) -> NDArray[np.int8]:
    if arr.dtype.kind in "iu":
        bad = (arr < 0) | (arr >= len(CARD_LEVELS))
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise PortfolioError(
                f"unknown card level code {int(arr[r, c])}; codes are 0..4",
                column="card_level",
                customer_id=str(ids[r]),
                month=str(months[int(c)]),
            )
        return np.array(arr, dtype=np.int8, order="F", copy=copy or None)
    if arr.dtype.kind in "UO":
        s = arr.astype(str)
        codes = np.full(s.shape, -1, dtype=np.int8)
        for code, name in enumerate(CARD_LEVELS):
            codes[s == name] = code
        if (codes < 0).any():
            r, c = np.argwhere(codes < 0)[0]
            raise PortfolioError(
                f"unknown card level {s[r, c]!r}; expected one of {', '.join(CARD_LEVELS)}",
                column="card_level",
                customer_id=str(ids[r]),
                month=str(months[int(c)]),
            )
        return np.asfortranarray(codes)
    raise PortfolioError(f"card levels must be codes or names, got dtype {arr.dtype}", column="card_level")
