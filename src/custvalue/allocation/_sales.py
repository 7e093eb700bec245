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
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs
import numpy as np
from numpy.typing import NDArray

from .._arrays import readonly
from ..money import INT64_MAX, INT64_MIN
from ._attribution import exact_group_sums
from ._errors import AllocationError, DocumentError, InvalidShareError, NoChangeError, SalesError
from ._expect import expect_date, expect_dict, expect_list, expect_str
from ._shares import BP_WHOLE, SharesLike, parse_share, split_amounts

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


@attrs.frozen(eq=False)
class Performance:
    """Performance per manager or branch over a period (inclusive dates)."""

    by: str
    start: _dt.date | None
    end: _dt.date | None
    ids: NDArray[np.str_]
    totals: NDArray[np.int64]

    def as_dict(self) -> dict[str, int]:
        """``{id: total fen}``."""
        return dict(zip(self.ids.tolist(), self.totals.tolist(), strict=True))


def _str_column(values: object, name: str, n: int | None = None) -> NDArray[np.str_]:
    """A column of strings as a numpy ``str`` array, checked for type and length."""
    arr = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    if arr.ndim != 1 or (n is not None and arr.shape[0] != n):
        raise SalesError(f"{name} must be a sequence of {n if n is not None else 'n'} strings")
    if arr.dtype.kind == "O":
        items = arr.tolist()
        bad = next((i for i, v in enumerate(items) if not isinstance(v, str)), None)
        if bad is not None:
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


@attrs.frozen(eq=False)
class SalesLedger:
    """Immutable ledger of sales and credit adjustments.

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
    sales: tuple[Sale, ...] = ()
    adjustments: tuple[CreditAdjustment, ...] = ()
    _index: Mapping[str, int] = attrs.field(factory=dict, repr=False)
    _rows: tuple[NDArray[np.int32], NDArray[np.str_], NDArray[np.int64]] | None = attrs.field(
        default=None, init=False, repr=False
    )

    @classmethod
    def create(cls, managers: Mapping[str, str], split: SalesSplit | None = None) -> SalesLedger:
        """An empty ledger for a manager registry (manager id -> branch id)."""
        for m, b in managers.items():
            if not isinstance(m, str) or not isinstance(b, str):
                raise SalesError(f"manager registry entries must be str -> str: {m!r}: {b!r}")
        return cls(tuple(sorted(managers.items())), split if split is not None else SalesSplit())

    @property
    def manager_branch(self) -> dict[str, str]:
        """``{manager_id: branch_id}``."""
        return dict(self.managers)

    def _known(self, manager_id: object, role: str, sale_id: str) -> str:
        if not isinstance(manager_id, str) or manager_id not in self.manager_branch:
            raise SalesError(
                f"sale {sale_id!r}: {role} is not in the manager registry",
                manager_id=manager_id if isinstance(manager_id, str) else None,
            )
        return manager_id

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
        """Register a sale; returns a new ledger.

        Credits: seller ``split.seller_bp``, referrer ``split.referrer_bp``
        (seller 100% without a distinct referrer), largest remainder with the
        seller first on ties.
        """
        for name, v in (("sale_id", sale_id), ("customer_id", customer_id), ("product", product)):
            if not isinstance(v, str):
                raise SalesError(f"{name} must be a str, got {v!r}")
        if sale_id in self._index:
            raise SalesError(f"sale {sale_id!r} is already registered")
        if not isinstance(date, _dt.date) or isinstance(date, _dt.datetime):
            raise SalesError(f"sale {sale_id!r}: date must be a datetime.date, got {date!r}")
        value = _check_amount(amount, sale_id)
        self._known(seller, "seller", sale_id)
        if referrer is not None:
            self._known(referrer, "referrer", sale_id)
        if referrer is None or referrer == seller or self.split.referrer_bp == 0:
            credits: Credits = ((seller, value),)
        else:
            a, b = _split(value, [self.split.seller_bp, self.split.referrer_bp])
            credits = ((seller, a), (referrer, b))
        sale = Sale(sale_id, customer_id, product, value, date, seller, referrer, credits)
        return attrs.evolve(
            self,
            sales=(*self.sales, sale),
            index={**self._index, sale_id: len(self.sales)},
        )

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
            ref = np.full(n, "", dtype=str)
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
        if isinstance(dates, np.ndarray) and dates.dtype.kind == "M":
            days = dates.astype("datetime64[D]")
        else:
            seq = list(dates)
            bad = next(
                (i for i, d in enumerate(seq) if not isinstance(d, _dt.date) or isinstance(d, _dt.datetime)),
                None,
            )
            if bad is not None:
                raise SalesError(f"sale {str(ids[bad])!r}: date must be a datetime.date, got {seq[bad]!r}")
            days = np.array(seq, dtype="datetime64[D]")
        if days.shape != (n,):
            raise SalesError(f"dates has {days.size} entries, expected {n}")
        uniq, counts = np.unique(ids, return_counts=True)
        if (counts > 1).any():
            raise SalesError(f"sale {str(uniq[int(np.argmax(counts > 1))])!r} appears twice in the batch")
        taken = self._index.keys() & set(ids.tolist())
        if taken:
            raise SalesError(f"sale {sorted(taken)[0]!r} is already registered")
        mids = np.array([m for m, _ in self.managers], dtype=str)
        for role, col, optional in (("seller", sell, False), ("referrer", ref, True)):
            unknown = ~np.isin(col, mids) & ~((col == "") if optional else False)
            if unknown.any():
                i = int(np.argmax(unknown))
                raise SalesError(
                    f"sale {str(ids[i])!r}: {role} is not in the manager registry", manager_id=str(col[i])
                )
        two = (ref != "") & (ref != sell) & (self.split.referrer_bp > 0)
        seller_part = amt.copy()
        referrer_part = np.zeros(n, dtype=np.int64)
        k = int(np.count_nonzero(two))
        if k:
            rows = np.repeat(amt[two], 2)
            bp = np.tile(np.array([self.split.seller_bp, self.split.referrer_bp], np.int64), k)
            parts = split_amounts(
                rows,
                bp,
                np.tile(np.array([0, 1], np.int64), k),
                np.arange(0, 2 * k, 2, dtype=np.int64),
                np.full(k, 2, np.int64),
            )
            seller_part[two] = parts[0::2]
            referrer_part[two] = parts[1::2]
        start = len(self.sales)
        new_sales = tuple(
            Sale(
                sid,
                c,
                pr,
                int(a),
                d,
                sl,
                rf or None,
                ((sl, int(sp)), (rf, int(rp))) if t else ((sl, int(sp)),),
            )
            for sid, c, pr, a, d, sl, rf, sp, rp, t in zip(
                ids.tolist(),
                cust.tolist(),
                prod.tolist(),
                amt.tolist(),
                days.tolist(),
                sell.tolist(),
                ref.tolist(),
                seller_part.tolist(),
                referrer_part.tolist(),
                two.tolist(),
                strict=True,
            )
        )
        index = dict(self._index)
        index.update(zip(ids.tolist(), range(start, start + n), strict=True))
        return attrs.evolve(self, sales=(*self.sales, *new_sales), index=index)

    def sale(self, sale_id: str) -> Sale:
        """The registered sale ``sale_id``."""
        if sale_id not in self._index:
            raise SalesError(f"sale {sale_id!r} is not registered")
        return self.sales[self._index[sale_id]]

    def credits_of(self, sale_id: str) -> dict[str, int]:
        """Current credits of a sale (after adjustments), ``{manager_id: fen}``."""
        out = dict(self.sale(sale_id).credits)
        for adj in self.adjustments:
            if adj.sale_id == sale_id:
                out = dict(adj.credits)
        return out

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
        latest = max([sale.date, *(a.date for a in self.adjustments if a.sale_id == sale_id)])
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
        old = self.credits_of(sale_id)
        deltas = tuple(
            (m, new.get(m, 0) - old.get(m, 0))
            for m in sorted(set(new) | set(old))
            if new.get(m, 0) != old.get(m, 0)
        )
        if not deltas:
            raise NoChangeError(f"sale {sale_id!r}: adjustment does not change the credits")
        adj = CreditAdjustment(sale_id, date, operator, reason, tuple(new.items()), deltas)
        return attrs.evolve(self, adjustments=(*self.adjustments, adj))

    def _credit_rows(self) -> tuple[NDArray[np.int32], NDArray[np.str_], NDArray[np.int64]]:
        if self._rows is not None:
            return self._rows
        rows = self._build_credit_rows()
        object.__setattr__(self, "_rows", rows)  # a cache on an immutable ledger
        return rows

    def _build_credit_rows(self) -> tuple[NDArray[np.int32], NDArray[np.str_], NDArray[np.int64]]:
        days: list[int] = []
        mgrs: list[str] = []
        amts: list[int] = []
        for s in self.sales:
            for m, a in s.credits:
                days.append(s.date.toordinal())
                mgrs.append(m)
                amts.append(a)
        for adj in self.adjustments:
            for m, a in adj.deltas:
                days.append(adj.date.toordinal())
                mgrs.append(m)
                amts.append(a)
        return (
            np.array(days, np.int32),
            np.array(mgrs, dtype=str) if mgrs else np.empty(0, "<U1"),
            np.array(amts, np.int64),
        )

    def performance(
        self,
        by: Literal["manager", "branch"] = "manager",
        start: _dt.date | None = None,
        end: _dt.date | None = None,
    ) -> Performance:
        """Credited performance per manager or branch over ``[start, end]`` (inclusive).

        Every registered manager (or branch) is listed, sorted, zero if it
        has no credit.  Sales count on their date, adjustments on theirs.
        """
        if by not in ("manager", "branch"):
            raise SalesError(f"by must be 'manager' or 'branch', got {by!r}")
        days, mgrs, amts = self._credit_rows()
        keep = np.ones(days.size, np.bool_)
        if start is not None:
            keep &= days >= start.toordinal()
        if end is not None:
            keep &= days <= end.toordinal()
        mids = np.array([m for m, _ in self.managers], dtype=str)
        midx = np.searchsorted(mids, mgrs[keep]) if mids.size else np.empty(0, np.intp)
        if by == "manager":
            totals = exact_group_sums(midx, amts[keep], mids.size, what="manager")
            return Performance(by, start, end, readonly(mids), readonly(totals))
        branches = np.array(sorted({b for _, b in self.managers}), dtype=str)
        mb = np.searchsorted(branches, np.array([b for _, b in self.managers], dtype=str))
        totals = exact_group_sums(mb[midx], amts[keep], branches.size, what="branch")
        return Performance(by, start, end, readonly(branches), readonly(totals))

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
        return {
            "format": LEDGER_FORMAT,
            "version": LEDGER_VERSION,
            "managers": dict(self.managers),
            "split": self.split.to_dict(),
            "sales": [
                {
                    "sale_id": s.sale_id,
                    "customer_id": s.customer_id,
                    "product": s.product,
                    "amount": s.amount,
                    "date": s.date.isoformat(),
                    "seller": s.seller,
                    "referrer": s.referrer,
                }
                for s in self.sales
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
        latest = max([sale.date, *(a.date for a in self.adjustments if a.sale_id == sale_id)])
        if date < latest:
            raise SalesError(f"sale {sale_id!r}: adjustment is back-dated", effective=date)
        new = dict(credits)
        old = self.credits_of(sale_id)
        deltas = tuple(
            (m, new.get(m, 0) - old.get(m, 0))
            for m in sorted(set(new) | set(old))
            if new.get(m, 0) != old.get(m, 0)
        )
        adj = CreditAdjustment(sale_id, date, operator, reason, credits, deltas)
        return attrs.evolve(self, adjustments=(*self.adjustments, adj))
