"""Sales registration and performance queries (销售登记, 营销业绩查询).

A product sale credits its seller (销售人员) and referrer (推荐人员) by a
configured :class:`SalesSplit` (default 70% / 30%, data not code).  Credits
are integer fen split with the same largest-remainder splitter as
attribution (ties: seller before referrer), so they always sum to the sale
amount.  A branch manager's adjustment (网点经理调整) re-splits one sale's credit
between managers; it is recorded as its own entry carrying the per-manager
deltas, dated on the adjustment date, and never mutates the sale.  A period's
performance therefore counts sales by sale date and adjustments by adjustment
date, so a closed period's figures are never rewritten.

Storage is columnar: a ledger sees the first ``n`` rows of an append-only
:class:`_SaleStore` (sale, customer and product ids; amount and credits as
int64 fen; the day as an ``int32`` ordinal; seller and referrer as indices
into the sorted manager registry) shared with the ledgers it was built from
and the ones built from it.  Registering appends past every existing
ledger's rows (amortised O(1) per sale; a ledger that is not the newest of
its store copies its rows to a new store first), so old ledgers never
change.  :class:`Sale` objects are built on demand.  The id index (a dict,
id -> row) is built on first use.  Adjustments are kept the same way in an
:class:`_AdjustmentLog`, with their per-manager deltas as columns.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs
import numpy as np
from numpy.typing import NDArray

from .._arrays import exact_group_sums, floor_divmod, readonly
from .._optional import import_optional
from ..money import INT64_MAX, INT64_MIN
from ._errors import AllocationError, DocumentError, InvalidShareError, NoChangeError, SalesError
from ._expect import expect_date, expect_dict, expect_list, expect_str
from ._log import Buffer, Memo, locked_state, unlocked_state
from ._shares import BP_WHOLE, SharesLike, parse_share, split_amounts
from ._views import html_table, text_table, yuan, yuan_series

__all__ = ["CreditAdjustment", "Performance", "Sale", "SalesLedger", "SalesSplit"]

LEDGER_FORMAT = "custvalue.sales_ledger"
LEDGER_VERSION = 1


Credits = tuple[tuple[str, int], ...]


def _split(amount: int, weights: list[int]) -> list[int]:
    """Largest-remainder split of one amount; ties go to the earlier weight."""
    k = len(weights)
    parts = split_amounts(
        np.full(k, amount, np.int64),
        np.array(weights, np.int64),
        np.arange(k, dtype=np.int64),
        np.array([0], np.int64),
        np.array([k], np.int64),
    )
    return [int(p) for p in parts.tolist()]


@attrs.frozen
class SalesSplit:
    """How a sale's credit is split between seller and referrer, in basis points.

    Defaults to 70% seller / 30% referrer.  A sale without a referrer (or
    whose referrer is the seller) credits the seller 100%.

    Examples
    --------
    >>> SalesSplit()
    SalesSplit(seller_bp=7000, referrer_bp=3000)
    >>> SalesSplit.from_dict({"seller": "80%", "referrer": "20%"})
    SalesSplit(seller_bp=8000, referrer_bp=2000)
    """

    seller_bp: int = 7000
    referrer_bp: int = 3000

    def __attrs_post_init__(self) -> None:
        for name in ("seller_bp", "referrer_bp"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise InvalidShareError(f"{name} must be a non-negative int, got {v!r}")
        if self.seller_bp == 0:
            raise InvalidShareError("seller_bp must be > 0")
        if self.seller_bp + self.referrer_bp != BP_WHOLE:
            raise InvalidShareError(
                f"seller_bp + referrer_bp = {self.seller_bp + self.referrer_bp}, not 10000"
            )

    def to_dict(self) -> dict[str, Any]:
        """``{"seller": bp, "referrer": bp}``."""
        return {"seller": self.seller_bp, "referrer": self.referrer_bp}

    @classmethod
    def from_dict(cls, data: object, path: str = "$") -> SalesSplit:
        """Inverse of :meth:`to_dict`; shares may be any exact share spelling."""
        d = expect_dict(data, path, {"seller", "referrer"})
        try:
            return cls(parse_share(d["seller"]), parse_share(d["referrer"]))
        except AllocationError as exc:
            raise DocumentError(exc.message, path=path) from exc


@attrs.frozen
class Sale:
    """A registered product sale and the credits it gave (fen, seller first)."""

    sale_id: str
    customer_id: str
    product: str
    amount: int
    date: _dt.date
    seller: str
    referrer: str | None
    credits: Credits


@attrs.frozen
class CreditAdjustment:
    """A branch manager's re-split of one sale's credit, as its own entry.

    ``credits`` is the sale's credit after the adjustment; ``deltas`` the
    change per manager (summing to zero), counted on ``date``.
    """

    sale_id: str
    date: _dt.date
    operator: str
    reason: str
    credits: Credits
    deltas: Credits


@attrs.frozen(eq=False, repr=False)
class Performance:
    """Performance per manager or branch over a period (inclusive dates).

    Views: :meth:`to_pandas`, :meth:`text` (yuan, ranked) and an HTML table
    in notebooks.

    Examples
    --------
    >>> import datetime
    >>> ledger = SalesLedger.create({"M1": "B1", "M2": "B1"})
    >>> ledger = ledger.register("S1", customer_id="C1", product="fund", amount=1_000_000_00,
    ...                          date=datetime.date(2026, 10, 3), seller="M1", referrer="M2")
    >>> perf = ledger.performance("manager", start=datetime.date(2026, 10, 1))
    >>> print(perf.text())
    sales performance per manager, 2026-10-01..: 1,000,000.00 yuan
    rank  manager      credit
       1  M1       700,000.00
       2  M2       300,000.00
    >>> perf.to_pandas()[["manager_id", "credit_fen", "rank"]].to_dict("list")
    {'manager_id': ['M1', 'M2'], 'credit_fen': [70000000, 30000000], 'rank': [1, 2]}
    """

    by: str
    start: _dt.date | None
    end: _dt.date | None
    ids: NDArray[np.str_]
    totals: NDArray[np.int64]

    def as_dict(self) -> dict[str, int]:
        """``{id: total fen}``."""
        return dict(zip(self.ids.tolist(), self.totals.tolist(), strict=True))

    def ranks(self) -> NDArray[np.int64]:
        """Rank of each id by credit (1 = highest; equal credits share a rank), aligned with ``ids``."""
        t = np.asarray(self.totals)
        order = np.sort(t)[::-1]
        ranks: NDArray[np.int64] = (np.searchsorted(-order, -t, side="left") + 1).astype(np.int64)
        return ranks

    def to_pandas(self) -> Any:
        """A :class:`pandas.DataFrame` ``{by}_id, credit, credit_fen, rank`` (needs ``pandas``).

        ``credit`` is exact yuan (an Arrow decimal column with pyarrow, else
        :class:`~decimal.Decimal` objects).
        """
        pd = import_optional("pandas", extra="pandas")
        return pd.DataFrame(
            {
                f"{self.by}_id": self.ids,
                "credit": yuan_series(pd, self.totals),
                "credit_fen": np.asarray(self.totals),
                "rank": self.ranks(),
            }
        )

    def _period(self) -> str:
        if self.start is None and self.end is None:
            return "all dates"
        a = "" if self.start is None else self.start.isoformat()
        b = "" if self.end is None else self.end.isoformat()
        return f"{a}..{b}"

    def _rows(self) -> tuple[str, list[str], list[list[str]]]:
        total = sum(int(v) for v in self.totals.tolist())
        title = f"sales performance per {self.by}, {self._period()}: {yuan(total)} yuan"
        ranks = self.ranks()
        order = np.argsort(ranks, kind="stable")
        rows = [[f"{int(ranks[i])}", str(self.ids[i]), yuan(int(self.totals[i]))] for i in order.tolist()]
        return title, ["rank", self.by, "credit"], rows

    def text(self, *, limit: int = 50) -> str:
        """Credits in yuan, highest first (the first ``limit`` rows)."""
        title, headers, rows = self._rows()
        out = text_table(title, headers, rows[:limit], right=1, also_right=(0,))
        more = f"\n... {len(rows) - limit:,} more" if len(rows) > limit else ""
        return out + more

    def __repr__(self) -> str:
        return f"<Performance per {self.by}, {self._period()}: {self.ids.size} {self.by}s>"

    def _repr_html_(self) -> str:
        title, headers, rows = self._rows()
        return html_table(title, headers, rows[:50], right=1)


def _str_column(values: object, name: str, n: int | None = None) -> NDArray[np.str_]:
    """A column of strings as a numpy ``str`` array, checked for type and length."""
    arr = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    if arr.ndim != 1 or (n is not None and arr.shape[0] != n):
        raise SalesError(f"{name} must be a sequence of {n if n is not None else 'n'} strings")
    if arr.dtype.kind == "O":
        items = arr.tolist()
        bad = next((i for i, v in enumerate(items) if not isinstance(v, str) or v.endswith("\0")), None)
        if bad is not None:
            if isinstance(items[bad], str):
                raise SalesError(
                    f"{name} must not end with a NUL character, got {items[bad]!r} at position {bad}"
                )
            raise SalesError(f"{name} must hold strings, got {items[bad]!r} at position {bad}")
        return np.array(items, dtype=str) if items else np.empty(0, "<U1")
    if arr.dtype.kind != "U":
        raise SalesError(f"{name} must hold strings, got dtype {arr.dtype}")
    return arr


def _check_amount(amount: object, sale_id: str) -> int:
    if not isinstance(amount, int | np.integer) or isinstance(amount, bool | np.bool_):
        raise SalesError(
            f"sale {sale_id!r}: amount must be int fen, got {amount!r}; convert money "
            "explicitly (custvalue.to_fen)"
        )
    value = int(amount)
    if not INT64_MIN <= value <= INT64_MAX:
        raise SalesError(f"sale {sale_id!r}: amount {value} is outside the int64 range")
    return value


def _split_two(
    amounts: NDArray[np.int64], first_bp: int, second_bp: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Largest-remainder split of each amount into two parts; ties go to the first.

    The same parts as :func:`~custvalue.allocation.split_amounts` with tie
    keys ``(0, 1)``, without its general grouping.
    """
    q, r = floor_divmod(amounts, BP_WHOLE)
    wa, ra = floor_divmod(r * first_bp, BP_WHOLE)
    wb, rb = floor_divmod(r * second_bp, BP_WHOLE)
    a = q * first_bp + wa
    b = q * second_bp + wb
    extra = (ra + rb) >= BP_WHOLE  # the deficit is 0 or 1 fen
    to_first = extra & (ra >= rb)
    a += to_first
    b += extra & ~to_first
    return a, b


#: The columns of a sale store and their dtypes.
_SALE_COLUMNS: dict[str, Any] = {
    "sale_id": "<U1",
    "customer_id": "<U1",
    "product": "<U1",
    "amount": np.int64,
    "day": np.int32,
    "seller": np.int32,  # index into the ledger's sorted manager ids
    "referrer": np.int32,  # -1: no referrer
    "seller_credit": np.int64,
    "referrer_credit": np.int64,
    "shared": np.bool_,  # the referrer is credited (a second credit)
}


class _SaleStore:
    """Append-only sale columns shared by a line of ledgers (see :mod:`._log`).

    Rows below ``size`` never change; a ledger sees its first ``n`` rows.
    ``index`` (sale id -> row, over the first ``indexed`` rows) is built on
    first use and then kept up to date by appends.
    """

    __slots__ = ("cols", "index", "lock", "size")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.size = 0
        self.cols = {name: Buffer(dtype) for name, dtype in _SALE_COLUMNS.items()}
        self.index: dict[str, int] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return locked_state(self)

    def __setstate__(self, state: dict[str, Any]) -> None:
        unlocked_state(self, state)

    def column(self, name: str, n: int) -> NDArray[Any]:
        """The first ``n`` rows of a column (a view: never hand it out)."""
        data: NDArray[Any] = self.cols[name].data
        return data[:n]

    def _index(self) -> dict[str, int]:
        """The id index over every row; under the lock."""
        if self.index is None:
            ids = self.cols["sale_id"].data[: self.size].tolist()
            self.index = dict(zip(ids, range(self.size), strict=True))
        return self.index

    def row(self, sale_id: str, n: int) -> int | None:
        """Row of ``sale_id`` among the first ``n``, if registered there."""
        with self.lock:
            row = self._index().get(sale_id)
        return row if row is not None and row < n else None

    def taken(self, ids: list[str], n: int) -> list[str]:
        """The ids of ``ids`` already registered among the first ``n`` rows."""
        if n == 0:
            return []
        with self.lock:
            index = self._index()
            if index.keys().isdisjoint(ids):
                return []
            return [s for s in ids if index.get(s, n) < n]

    def append(
        self, n: int, values: Mapping[str, NDArray[Any]], ids: list[str], owned: frozenset[str] = frozenset()
    ) -> _SaleStore:
        """The store of the first ``n`` rows plus ``values``: ``self`` if ``n`` is its size, else a copy.

        ``owned`` names the columns of ``values`` that are new arrays the
        store may keep instead of copying.
        """
        with self.lock:
            if n == self.size:
                self._write(values, ids, owned)
                return self
            fork = _SaleStore()
            for name, buf in self.cols.items():
                fork.cols[name].write(0, buf.data[:n])
            fork.size = n
        fork._write(values, ids, owned)
        return fork

    def _write(self, values: Mapping[str, NDArray[Any]], ids: list[str], owned: frozenset[str]) -> None:
        start = self.size
        for name, buf in self.cols.items():
            buf.write(start, values[name], own=name in owned)
        if self.index is not None:
            self.index.update(zip(ids, range(start, start + len(ids)), strict=True))
        self.size = start + len(ids)


class _AdjustmentLog:
    """Append-only credit adjustments shared by a line of ledgers.

    ``by_sale`` lists each sale's adjustment positions (ascending); the
    per-manager deltas are rows ``day``, ``manager``, ``amount``, the first
    ``rows_at[k]`` of which belong to the first ``k`` adjustments.
    """

    __slots__ = ("amount", "by_sale", "day", "items", "lock", "manager", "rows_at")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[CreditAdjustment] = []
        self.by_sale: dict[str, list[int]] = {}
        self.rows_at: list[int] = [0]
        self.day = Buffer(np.int32)
        self.manager = Buffer(np.int32)
        self.amount = Buffer(np.int64)

    def __getstate__(self) -> dict[str, Any]:
        return locked_state(self)

    def __setstate__(self, state: dict[str, Any]) -> None:
        unlocked_state(self, state)

    def latest(self, sale_id: str, n: int) -> CreditAdjustment | None:
        """The newest of the first ``n`` adjustments of ``sale_id``."""
        with self.lock:
            pos = self.by_sale.get(sale_id, [])
            k = bisect.bisect_left(pos, n)
            return self.items[pos[k - 1]] if k else None

    def prefix(self, n: int) -> tuple[CreditAdjustment, ...]:
        with self.lock:
            return tuple(self.items[:n])

    def rows(self, n: int) -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.int64]]:
        """Day, manager and amount of the deltas of the first ``n`` adjustments (views)."""
        with self.lock:
            r = self.rows_at[n]
            return self.day.data[:r], self.manager.data[:r], self.amount.data[:r]

    def append(self, n: int, adj: CreditAdjustment, managers: NDArray[np.int32]) -> _AdjustmentLog:
        """The log of the first ``n`` adjustments plus ``adj``: ``self`` or a fork."""
        with self.lock:
            if n == len(self.items):
                self._add(adj, managers)
                return self
            fork = _AdjustmentLog()
            r = self.rows_at[n]
            fork.items = self.items[:n]
            fork.rows_at = self.rows_at[: n + 1]
            fork.day.write(0, self.day.data[:r])
            fork.manager.write(0, self.manager.data[:r])
            fork.amount.write(0, self.amount.data[:r])
        for i, a in enumerate(fork.items):
            fork.by_sale.setdefault(a.sale_id, []).append(i)
        fork._add(adj, managers)
        return fork

    def _add(self, adj: CreditAdjustment, managers: NDArray[np.int32]) -> None:
        r = self.rows_at[-1]
        k = len(adj.deltas)
        self.day.write(r, np.full(k, adj.date.toordinal(), np.int32))
        self.manager.write(r, managers)
        self.amount.write(r, np.array([v for _, v in adj.deltas], np.int64))
        self.by_sale.setdefault(adj.sale_id, []).append(len(self.items))
        self.items.append(adj)
        self.rows_at.append(r + k)


@attrs.frozen(eq=False)
class _Registry:
    """A ledger's manager registry, indexed: sorted ids, their branches."""

    manager_ids: NDArray[np.str_]
    index: Mapping[str, int]
    branch_ids: NDArray[np.str_]
    manager_branch: NDArray[np.intp]  # per manager, index into branch_ids

    @classmethod
    def of(cls, managers: tuple[tuple[str, str], ...]) -> _Registry:
        registry = dict(managers)
        mids = sorted(registry)
        branches = sorted(set(registry.values()))
        manager_ids = np.array(mids, dtype=str) if mids else np.empty(0, "<U1")
        branch_ids = np.array(branches, dtype=str) if branches else np.empty(0, "<U1")
        mb = np.zeros(len(mids), np.intp)
        if mids:
            mb[:] = np.searchsorted(branch_ids, np.array([registry[m] for m in mids], dtype=str))
        return cls(
            readonly(manager_ids), {m: i for i, m in enumerate(mids)}, readonly(branch_ids), readonly(mb)
        )


def _no_nul(value: str, name: str) -> None:
    if value.endswith("\0"):
        raise SalesError(f"{name} must not end with a NUL character, got {value!r}")


_EPOCH = _dt.date(1970, 1, 1).toordinal()
_MAX_DAY = _dt.date.max.toordinal()


@attrs.frozen(eq=False)
class SalesLedger:
    """Immutable ledger of sales and credit adjustments.

    Sales are stored in columns; :attr:`sales` and :meth:`sale` build
    :class:`Sale` objects on demand.  :meth:`register` is amortised O(1) and
    :meth:`register_many` linear in the batch; neither copies the ledger.

    Examples
    --------
    >>> import datetime
    >>> ledger = SalesLedger.create({"M1": "B1", "M2": "B1", "M3": "B2"})
    >>> ledger = ledger.register("S1", customer_id="C1", product="fund", amount=100_001,
    ...                          date=datetime.date(2026, 10, 3), seller="M1", referrer="M3")
    >>> ledger.credits_of("S1")
    {'M1': 70001, 'M3': 30000}
    >>> ledger = ledger.adjust("S1", {"M1": "50%", "M2": "50%"}, date=datetime.date(2026, 11, 2),
    ...                        operator="BM1", reason="M2 did the follow-up")
    >>> ledger.performance("manager", end=datetime.date(2026, 10, 31)).as_dict()
    {'M1': 70001, 'M2': 0, 'M3': 30000}
    >>> ledger.performance("manager").as_dict()
    {'M1': 50001, 'M2': 50000, 'M3': 0}
    >>> ledger.performance("branch").as_dict()
    {'B1': 100001, 'B2': 0}
    """

    managers: tuple[tuple[str, str], ...]
    split: SalesSplit = SalesSplit()
    _store: _SaleStore = attrs.field(factory=_SaleStore, repr=False)
    _n: int = attrs.field(default=0, repr=False)
    _adj: _AdjustmentLog = attrs.field(factory=_AdjustmentLog, repr=False)
    _n_adj: int = attrs.field(default=0, repr=False)
    _registry: _Registry | None = attrs.field(default=None, repr=False)
    _memo: Memo = attrs.field(factory=Memo, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self._registry is None:
            object.__setattr__(self, "_registry", _Registry.of(self.managers))

    @classmethod
    def create(cls, managers: Mapping[str, str], split: SalesSplit | None = None) -> SalesLedger:
        """An empty ledger for a manager registry (manager id -> branch id)."""
        for m, b in managers.items():
            if not isinstance(m, str) or not isinstance(b, str):
                raise SalesError(f"manager registry entries must be str -> str: {m!r}: {b!r}")
        return cls(tuple(sorted(managers.items())), split if split is not None else SalesSplit())

    @property
    def _reg(self) -> _Registry:
        reg = self._registry
        assert reg is not None
        return reg

    @property
    def manager_branch(self) -> dict[str, str]:
        """``{manager_id: branch_id}``."""
        return dict(self.managers)

    @property
    def sales(self) -> tuple[Sale, ...]:
        """Every registered sale, in registration order (built on first use, then cached).

        One :class:`Sale` object per sale: for large ledgers prefer
        :meth:`sale`, :meth:`credits_of` and :meth:`performance`.
        """
        memo = self._memo
        with memo.lock:
            if "sales" not in memo.values:
                memo.values["sales"] = self._build_sales(0, self._n)
            out: tuple[Sale, ...] = memo.values["sales"]
        return out

    @property
    def adjustments(self) -> tuple[CreditAdjustment, ...]:
        """Every credit adjustment, oldest first."""
        memo = self._memo
        with memo.lock:
            if "adjustments" not in memo.values:
                memo.values["adjustments"] = self._adj.prefix(self._n_adj)
            out: tuple[CreditAdjustment, ...] = memo.values["adjustments"]
        return out

    def _build_sales(self, lo: int, hi: int) -> tuple[Sale, ...]:
        st, mids = self._store, self._reg.manager_ids.tolist()
        cols = {name: st.column(name, hi)[lo:].tolist() for name in _SALE_COLUMNS}
        out = []
        for sid, c, pr, a, d, sl, rf, sc, rc, two in zip(
            cols["sale_id"],
            cols["customer_id"],
            cols["product"],
            cols["amount"],
            cols["day"],
            cols["seller"],
            cols["referrer"],
            cols["seller_credit"],
            cols["referrer_credit"],
            cols["shared"],
            strict=True,
        ):
            seller = mids[sl]
            referrer = mids[rf] if rf >= 0 else None
            credits: Credits = ((seller, sc), (mids[rf], rc)) if two else ((seller, sc),)
            out.append(Sale(sid, c, pr, a, _dt.date.fromordinal(d), seller, referrer, credits))
        return tuple(out)

    def _known(self, manager_id: object, role: str, sale_id: str) -> str:
        if not isinstance(manager_id, str) or manager_id not in self._reg.index:
            raise SalesError(
                f"sale {sale_id!r}: {role} is not in the manager registry",
                manager_id=manager_id if isinstance(manager_id, str) else None,
            )
        return manager_id

    def _row(self, sale_id: str) -> int:
        row = self._store.row(sale_id, self._n) if isinstance(sale_id, str) else None
        if row is None:
            raise SalesError(f"sale {sale_id!r} is not registered")
        return row

    def register(
        self,
        sale_id: str,
        *,
        customer_id: str,
        product: str,
        amount: int,
        date: _dt.date,
        seller: str,
        referrer: str | None = None,
    ) -> SalesLedger:
        """Register a sale; returns a new ledger (amortised O(1): nothing is copied).

        Credits: seller ``split.seller_bp``, referrer ``split.referrer_bp``
        (seller 100% without a distinct referrer), largest remainder with the
        seller first on ties.
        """
        for name, v in (("sale_id", sale_id), ("customer_id", customer_id), ("product", product)):
            if not isinstance(v, str):
                raise SalesError(f"{name} must be a str, got {v!r}")
            _no_nul(v, name)
        if self._store.row(sale_id, self._n) is not None:
            raise SalesError(f"sale {sale_id!r} is already registered")
        if not isinstance(date, _dt.date) or isinstance(date, _dt.datetime):
            raise SalesError(f"sale {sale_id!r}: date must be a datetime.date, got {date!r}")
        value = _check_amount(amount, sale_id)
        self._known(seller, "seller", sale_id)
        if referrer is not None:
            self._known(referrer, "referrer", sale_id)
        index = self._reg.index
        shared = not (referrer is None or referrer == seller or self.split.referrer_bp == 0)
        if shared:
            a, b = _split(value, [self.split.seller_bp, self.split.referrer_bp])
        else:
            a, b = value, 0
        values = {
            "sale_id": np.array([sale_id]),
            "customer_id": np.array([customer_id]),
            "product": np.array([product]),
            "amount": np.array([value], np.int64),
            "day": np.array([date.toordinal()], np.int32),
            "seller": np.array([index[seller]], np.int32),
            "referrer": np.array([-1 if referrer is None else index[referrer]], np.int32),
            "seller_credit": np.array([a], np.int64),
            "referrer_credit": np.array([b], np.int64),
            "shared": np.array([shared]),
        }
        store = self._store.append(self._n, values, [sale_id])
        return attrs.evolve(self, store=store, n=self._n + 1)

    def register_many(
        self,
        sale_ids: Sequence[str] | NDArray[Any],
        *,
        customer_ids: Sequence[str] | NDArray[Any],
        products: Sequence[str] | NDArray[Any],
        amounts: Sequence[int] | NDArray[np.integer[Any]],
        dates: Sequence[_dt.date] | NDArray[np.datetime64],
        sellers: Sequence[str] | NDArray[Any],
        referrers: Sequence[str | None] | NDArray[Any] | None = None,
    ) -> SalesLedger:
        """Register many sales at once: all-or-nothing, linear in the batch.

        Validation and the seller/referrer credit split are vectorised (the
        same largest-remainder split as :meth:`register`, seller first on
        ties).  A referrer of ``None`` or ``""`` means no referrer.  Any bad
        sale raises :class:`SalesError` naming it and registers nothing.
        Columns given as numpy arrays (``str``, integer, ``datetime64``) are
        used without conversion: a million sales take about a second.

        Examples
        --------
        >>> import datetime
        >>> ledger = SalesLedger.create({"M1": "B1", "M2": "B1"})
        >>> ledger = ledger.register_many(
        ...     ["S1", "S2"], customer_ids=["C1", "C2"], products=["fund", "bond"],
        ...     amounts=[100_001, 5], dates=[datetime.date(2026, 10, 3)] * 2,
        ...     sellers=["M1", "M2"], referrers=["M2", None])
        >>> ledger.credits_of("S1"), ledger.credits_of("S2")
        ({'M1': 70001, 'M2': 30000}, {'M2': 5})
        """
        ids = _str_column(sale_ids, "sale_ids")
        n = ids.shape[0]
        if n == 0:
            return self
        cust = _str_column(customer_ids, "customer_ids", n)
        prod = _str_column(products, "products", n)
        sell = _str_column(sellers, "sellers", n)
        if referrers is None:
            ref = np.full(n, "", dtype="<U1")
        elif isinstance(referrers, np.ndarray) and referrers.dtype.kind == "U":
            ref = _str_column(referrers, "referrers", n)
        else:
            raw = np.asarray(referrers, dtype=object)
            if raw.shape != (n,):
                raise SalesError(f"referrers has {raw.size} entries, expected {n}")
            ref = _str_column(np.where(raw == np.array(None), "", raw), "referrers", n)
        amt_raw = np.asarray(amounts)
        if amt_raw.shape != (n,) or amt_raw.dtype.kind not in "iu":
            raise SalesError("amounts must be n integers of fen (convert money with custvalue.to_fen)")
        if amt_raw.dtype.kind == "u" and n and int(amt_raw.max()) > INT64_MAX:
            raise SalesError(f"sale {str(ids[int(np.argmax(amt_raw))])!r}: amount is outside the int64 range")
        amt = amt_raw.astype(np.int64)
        days = self._days(dates, ids, n)
        id_list = ids.tolist()
        if len(set(id_list)) != n:
            uniq, counts = np.unique(ids, return_counts=True)
            raise SalesError(f"sale {str(uniq[int(np.argmax(counts > 1))])!r} appears twice in the batch")
        taken = self._store.taken(id_list, self._n)
        if taken:
            raise SalesError(f"sale {sorted(taken)[0]!r} is already registered")
        mids = self._reg.manager_ids
        midx: dict[str, NDArray[np.int32]] = {}
        for role, col, optional in (("seller", sell, False), ("referrer", ref, True)):
            pos = np.searchsorted(mids, col)
            np.minimum(pos, max(mids.size - 1, 0), out=pos)
            known = mids[pos] == col if mids.size else np.zeros(n, np.bool_)
            none = (col == "") if optional else np.zeros(n, np.bool_)
            unknown = ~known & ~none
            if unknown.any():
                i = int(np.argmax(unknown))
                raise SalesError(
                    f"sale {str(ids[i])!r}: {role} is not in the manager registry", manager_id=str(col[i])
                )
            midx[role] = np.where(none, -1, pos).astype(np.int32)
        shared = (midx["referrer"] >= 0) & (midx["referrer"] != midx["seller"]) & (self.split.referrer_bp > 0)
        seller_part = amt.copy()
        referrer_part = np.zeros(n, dtype=np.int64)
        k = int(np.count_nonzero(shared))
        if k:
            seller_part[shared], referrer_part[shared] = _split_two(
                amt[shared], self.split.seller_bp, self.split.referrer_bp
            )
        values = {
            "sale_id": ids,
            "customer_id": cust,
            "product": prod,
            "amount": amt,
            "day": days,
            "seller": midx["seller"],
            "referrer": midx["referrer"],
            "seller_credit": seller_part,
            "referrer_credit": referrer_part,
            "shared": shared,
        }
        owned = frozenset(values) - {"sale_id", "customer_id", "product"}  # the caller's
        store = self._store.append(self._n, values, id_list, owned)
        return attrs.evolve(self, store=store, n=self._n + n)

    @staticmethod
    def _days(
        dates: Sequence[_dt.date] | NDArray[np.datetime64], ids: NDArray[np.str_], n: int
    ) -> NDArray[np.int32]:
        """Proleptic ordinals of the sale dates, checked."""
        if isinstance(dates, np.ndarray) and dates.dtype.kind == "M":
            if dates.shape != (n,):
                raise SalesError(f"dates has {dates.size} entries, expected {n}")
            d64 = dates.astype("datetime64[D]").astype(np.int64)
            bad = np.isnat(dates) | (d64 < 1 - _EPOCH) | (d64 > _MAX_DAY - _EPOCH)
            if bad.any():
                i = int(np.argmax(bad))
                raise SalesError(f"sale {str(ids[i])!r}: date must be a valid date, got {dates[i]!r}")
            return (d64 + _EPOCH).astype(np.int32)
        seq = list(dates)
        bad_i = next(
            (i for i, d in enumerate(seq) if not isinstance(d, _dt.date) or isinstance(d, _dt.datetime)),
            None,
        )
        if bad_i is not None:
            raise SalesError(f"sale {str(ids[bad_i])!r}: date must be a datetime.date, got {seq[bad_i]!r}")
        if len(seq) != n:
            raise SalesError(f"dates has {len(seq)} entries, expected {n}")
        return np.fromiter((d.toordinal() for d in seq), np.int32, n)

    def sale(self, sale_id: str) -> Sale:
        """The registered sale ``sale_id`` (a new :class:`Sale` built from the columns)."""
        row = self._row(sale_id)
        return self._build_sales(row, row + 1)[0]

    def credits_of(self, sale_id: str) -> dict[str, int]:
        """Current credits of a sale (after adjustments), ``{manager_id: fen}``."""
        sale = self.sale(sale_id)
        adj = self._adj.latest(sale_id, self._n_adj)
        return dict(sale.credits if adj is None else adj.credits)

    def _latest_date(self, sale: Sale) -> _dt.date:
        adj = self._adj.latest(sale.sale_id, self._n_adj)
        return sale.date if adj is None else max(sale.date, adj.date)

    def adjust(
        self,
        sale_id: str,
        shares: SharesLike,
        *,
        date: _dt.date,
        operator: str,
        reason: str,
    ) -> SalesLedger:
        """Branch-manager adjustment: re-split a sale's credit by new shares.

        ``shares`` maps managers to exact shares summing to 100%; the sale's
        amount is split by largest remainder (ties: manager id ascending).
        The adjustment is a new entry dated ``date`` (not before the sale or
        an earlier adjustment of it) carrying the per-manager deltas.
        """
        sale = self.sale(sale_id)
        if not isinstance(date, _dt.date) or isinstance(date, _dt.datetime):
            raise SalesError(f"sale {sale_id!r}: date must be a datetime.date, got {date!r}")
        if not isinstance(operator, str) or not isinstance(reason, str):
            raise SalesError("operator and reason must be str")
        latest = self._latest_date(sale)
        if date < latest:
            raise SalesError(
                f"sale {sale_id!r}: adjustment dated {date.isoformat()} is before the sale's "
                f"latest entry on {latest.isoformat()}",
                effective=date,
            )
        items = list(shares.items()) if isinstance(shares, Mapping) else list(shares)
        bps: dict[str, int] = {}
        for mid, raw in items:
            m = self._known(mid, "manager", sale_id)
            if m in bps:
                raise SalesError(f"sale {sale_id!r}: manager appears twice", manager_id=m)
            bp = parse_share(raw)
            if bp <= 0:
                raise SalesError(f"sale {sale_id!r}: share must be > 0", manager_id=m)
            bps[m] = bp
        if sum(bps.values()) != BP_WHOLE:
            raise SalesError(f"sale {sale_id!r}: shares sum to {sum(bps.values())} bp, not 10000")
        names = sorted(bps)
        parts = _split(sale.amount, [bps[m] for m in names])
        new = dict(zip(names, parts, strict=True))
        deltas = self._deltas(sale_id, new)
        if not deltas:
            raise NoChangeError(f"sale {sale_id!r}: adjustment does not change the credits")
        return self._with(CreditAdjustment(sale_id, date, operator, reason, tuple(new.items()), deltas))

    def _deltas(self, sale_id: str, new: Mapping[str, int]) -> Credits:
        old = self.credits_of(sale_id)
        return tuple(
            (m, new.get(m, 0) - old.get(m, 0))
            for m in sorted(set(new) | set(old))
            if new.get(m, 0) != old.get(m, 0)
        )

    def _with(self, adj: CreditAdjustment) -> SalesLedger:
        index = self._reg.index
        managers = np.array([index[m] for m, _ in adj.deltas], np.int32)
        log = self._adj.append(self._n_adj, adj, managers)
        return attrs.evolve(self, adj=log, n_adj=self._n_adj + 1)

    def performance(
        self,
        by: Literal["manager", "branch"] = "manager",
        start: _dt.date | None = None,
        end: _dt.date | None = None,
    ) -> Performance:
        """Credited performance per manager or branch over ``[start, end]`` (inclusive).

        Every registered manager (or branch) is listed, sorted, zero if it
        has no credit.  Sales count on their date, adjustments on theirs.
        Vectorised over the sale columns; a total that overflows int64 raises
        :class:`~custvalue.AmountOverflowError`.
        """
        if by not in ("manager", "branch"):
            raise SalesError(f"by must be 'manager' or 'branch', got {by!r}")
        st, n = self._store, self._n
        shared = st.column("shared", n)
        day = st.column("day", n)
        a_day, a_mgr, a_amt = self._adj.rows(self._n_adj)
        days = np.concatenate([day, day[shared], a_day])
        mgrs = np.concatenate([st.column("seller", n), st.column("referrer", n)[shared], a_mgr])
        amts = np.concatenate([st.column("seller_credit", n), st.column("referrer_credit", n)[shared], a_amt])
        keep = np.ones(days.size, np.bool_)
        if start is not None:
            keep &= days >= start.toordinal()
        if end is not None:
            keep &= days <= end.toordinal()
        reg = self._reg
        if by == "manager":
            totals = exact_group_sums(mgrs[keep], amts[keep], reg.manager_ids.size, what="manager")
            return Performance(by, start, end, reg.manager_ids, readonly(totals))
        groups = reg.manager_branch[mgrs[keep]]
        totals = exact_group_sums(groups, amts[keep], reg.branch_ids.size, what="branch")
        return Performance(by, start, end, reg.branch_ids, readonly(totals))

    # ----------------------------------------------------------------- serialisation

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-compatible data (dates ISO, amounts int fen).

        Examples
        --------
        >>> import datetime, json
        >>> ledger = SalesLedger.create({"M1": "B1"}).register(
        ...     "S1", customer_id="C1", product="bond", amount=5, date=datetime.date(2026, 1, 2),
        ...     seller="M1")
        >>> doc = json.loads(json.dumps(ledger.to_dict()))
        >>> SalesLedger.from_dict(doc).to_dict() == ledger.to_dict()
        True
        """
        st, n = self._store, self._n
        mids = self._reg.manager_ids.tolist()
        refs = st.column("referrer", n).tolist()
        return {
            "format": LEDGER_FORMAT,
            "version": LEDGER_VERSION,
            "managers": dict(self.managers),
            "split": self.split.to_dict(),
            "sales": [
                {
                    "sale_id": sid,
                    "customer_id": c,
                    "product": pr,
                    "amount": a,
                    "date": _dt.date.fromordinal(d).isoformat(),
                    "seller": mids[sl],
                    "referrer": mids[rf] if rf >= 0 else None,
                }
                for sid, c, pr, a, d, sl, rf in zip(
                    st.column("sale_id", n).tolist(),
                    st.column("customer_id", n).tolist(),
                    st.column("product", n).tolist(),
                    st.column("amount", n).tolist(),
                    st.column("day", n).tolist(),
                    st.column("seller", n).tolist(),
                    refs,
                    strict=True,
                )
            ],
            "adjustments": [
                {
                    "sale_id": a.sale_id,
                    "date": a.date.isoformat(),
                    "operator": a.operator,
                    "reason": a.reason,
                    "credits": [[m, v] for m, v in a.credits],
                }
                for a in self.adjustments
            ],
        }

    @classmethod
    def from_dict(cls, data: object) -> SalesLedger:
        """Inverse of :meth:`to_dict`; replays and validates; errors name the path."""
        d = expect_dict(data, "$", {"format", "version", "managers", "split", "sales", "adjustments"})
        if d["format"] != LEDGER_FORMAT:
            raise DocumentError(f"expected {LEDGER_FORMAT!r}", path="$.format")
        if d["version"] != LEDGER_VERSION:
            raise DocumentError(f"unsupported version {d['version']!r}", path="$.version")
        mgrs = expect_dict(d["managers"], "$.managers", set(), any_keys=True)
        for k, v in mgrs.items():
            expect_str(v, f"$.managers[{k!r}]")
        ledger = cls.create(mgrs, SalesSplit.from_dict(d["split"], "$.split"))
        sale_keys = {"sale_id", "customer_id", "product", "amount", "date", "seller", "referrer"}
        for i, raw in enumerate(expect_list(d["sales"], "$.sales")):
            p = f"$.sales[{i}]"
            s = expect_dict(raw, p, sale_keys)
            amount = s["amount"]
            if not isinstance(amount, int) or isinstance(amount, bool):
                raise DocumentError("expected int fen", path=f"{p}.amount")
            ref = s["referrer"]
            try:
                ledger = ledger.register(
                    expect_str(s["sale_id"], f"{p}.sale_id"),
                    customer_id=expect_str(s["customer_id"], f"{p}.customer_id"),
                    product=expect_str(s["product"], f"{p}.product"),
                    amount=amount,
                    date=expect_date(s["date"], f"{p}.date"),
                    seller=expect_str(s["seller"], f"{p}.seller"),
                    referrer=None if ref is None else expect_str(ref, f"{p}.referrer"),
                )
            except DocumentError:
                raise
            except AllocationError as exc:
                raise DocumentError(str(exc), path=p) from exc
        adj_keys = {"sale_id", "date", "operator", "reason", "credits"}
        for i, raw in enumerate(expect_list(d["adjustments"], "$.adjustments")):
            p = f"$.adjustments[{i}]"
            a = expect_dict(raw, p, adj_keys)
            sale_id = expect_str(a["sale_id"], f"{p}.sale_id")
            pairs: list[tuple[str, int]] = []
            for j, pair in enumerate(expect_list(a["credits"], f"{p}.credits")):
                pl = expect_list(pair, f"{p}.credits[{j}]")
                if len(pl) != 2 or not isinstance(pl[1], int) or isinstance(pl[1], bool):
                    raise DocumentError("expected [manager_id, int fen]", path=f"{p}.credits[{j}]")
                pairs.append((expect_str(pl[0], f"{p}.credits[{j}][0]"), pl[1]))
            try:
                ledger = ledger._adjust_exact(
                    sale_id,
                    tuple(pairs),
                    date=expect_date(a["date"], f"{p}.date"),
                    operator=expect_str(a["operator"], f"{p}.operator"),
                    reason=expect_str(a["reason"], f"{p}.reason"),
                )
            except DocumentError:
                raise
            except AllocationError as exc:
                raise DocumentError(str(exc), path=p) from exc
        return ledger

    def _adjust_exact(
        self, sale_id: str, credits: Credits, *, date: _dt.date, operator: str, reason: str
    ) -> SalesLedger:
        """Replay an adjustment given as exact credits (from a document)."""
        sale = self.sale(sale_id)
        for m, _ in credits:
            self._known(m, "manager", sale_id)
        if len({m for m, _ in credits}) != len(credits):
            raise SalesError(f"sale {sale_id!r}: a manager appears twice in the credits")
        if sum(v for _, v in credits) != sale.amount:
            raise SalesError(f"sale {sale_id!r}: credits do not sum to the sale amount")
        if date < self._latest_date(sale):
            raise SalesError(f"sale {sale_id!r}: adjustment is back-dated", effective=date)
        deltas = self._deltas(sale_id, dict(credits))
        return self._with(CreditAdjustment(sale_id, date, operator, reason, credits, deltas))
