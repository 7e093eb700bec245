"""The shape every analytics result shares: :class:`Report`, immutable named columns.

A report is a tuple of column names, a read-only numpy array per column and,
for columns that may be null, a read-only validity mask.  Money columns hold
int64 fen; ``*_bp`` columns hold basis points (1/100 of a percent) rounded
half-to-even from exact integer sums (:func:`ratio_bp`).

Conversions: :meth:`Report.to_pandas` (nullable columns become pandas'
``Int64``), :meth:`Report.to_arrow`, :meth:`Report.text`,
:meth:`Report._repr_html_` and :meth:`Report.write` (CSV or Parquet, atomic,
through :func:`custvalue.io.atomic_write`).
"""

from __future__ import annotations

import csv
import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from .._arrays import INT64_MAX, Scratch, floor_divmod, is_sealed, readonly
from .._errors import AmountOverflowError
from .._memo import memo_on
from .._optional import import_optional
from ..io import atomic_write, file_format
from ..money import format_yuan
from ._plot import plot_report

__all__ = [
    "Report",
    "floor_divmod",
    "group_codes",
    "half_even_div",
    "make_columns",
    "ratio_bp",
    "ratio_bp_code",
    "ratio_code",
]


def half_even_div(
    num: NDArray[np.int64],
    den: NDArray[np.int64],
    out: NDArray[np.int64] | None = None,
    scratch: Scratch | None = None,
) -> NDArray[np.int64]:
    """``num / den`` rounded half-to-even, in integers (``den > 0``; 0 where ``den <= 0``).

    ``out``: where to write the result; ``scratch``: the work arrays.

    >>> import numpy as np
    >>> half_even_div(np.array([5, 7, -5, 3]), np.array([2, 2, 2, 0])).tolist()
    [2, 4, -2, 0]
    """
    n = np.asarray(num, np.int64)
    r = None if scratch is None else scratch.array("half_even_r", n.shape, np.int64)
    tmp = None if scratch is None else scratch.array("half_even_t", n.shape, np.int64)
    if np.ndim(den) == 0 and int(den) > 0:  # one positive divisor: numpy's division by a constant
        k = int(den)
        q, r = floor_divmod(n, k, out=None if out is None else (out, r))  # type: ignore[arg-type]
        _round_half_even(q, r, k, tmp, scratch)
        return q
    dd = np.broadcast_to(np.asarray(den, np.int64), n.shape)
    positive = bool(dd.size == 0 or int(dd.min()) > 0)
    c = dd if positive else np.maximum(dd, 1)
    q, r = floor_divmod(n, c, out=None if out is None else (out, r))  # type: ignore[arg-type]
    _round_half_even(q, r, c, tmp, scratch)
    if not positive:
        q[dd <= 0] = 0
    return q


def _round_half_even(
    q: NDArray[np.int64],
    r: NDArray[np.int64],
    c: Any,
    tmp: NDArray[np.int64] | None = None,
    scratch: Scratch | None = None,
) -> None:
    """``q`` (a floor quotient, remainder ``r`` of divisor ``c > 0``) rounded half-to-even, in place.

    Up when ``r > c - r``, or ``r == c - r`` and ``q`` is odd: when
    ``r - (c - r) + (q & 1) > 0``.  No step overflows (``0 <= r < c``).
    ``tmp``: a work array of ``q``'s shape; ``scratch``: where the other two
    work arrays come from (fresh ones otherwise).
    """
    d = np.subtract(c, r, out=tmp)  # c - r
    np.subtract(r, d, out=d)  # r - (c - r), in (-c, c)
    odd = None if scratch is None else scratch.array("half_even_odd", q.shape, np.int64)
    d += np.bitwise_and(q, 1, out=odd)
    up = None if scratch is None else scratch.array("half_even_up", q.shape, np.bool_)
    q += np.greater(d, 0, out=up)


def ratio_bp(num: Any, den: Any) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """``num / den`` in basis points, half-even, exact; and where it is defined (``den > 0``).

    A ratio over a zero (or negative) base is undefined: its value is 0 and
    its validity ``False``.  Products beyond int64 are computed with Python
    integers, so the rounding is exact for every int64 input; a ratio whose
    basis points leave int64 is an :class:`~custvalue.AmountOverflowError`.

    Examples
    --------
    >>> import numpy as np
    >>> bp, ok = ratio_bp(np.array([-30, 1, 5]), np.array([100, 3, 0]))
    >>> bp.tolist(), ok.tolist()
    ([-3000, 3333, 0], [True, True, False])
    """
    bp, valid, _ = ratio_parts(num, den, code=False)
    return bp, valid


def ratio_code(num: Any, den: Any) -> NDArray[np.int64]:
    """An exact comparison code of ``q = num × 10000 / den``: ``2 × floor(q) + (q is not whole)``.

    For every whole number of basis points ``t``, ``q <= t`` exactly when
    ``code <= 2 t`` (and likewise for ``<``, ``>=``, ``>``, ``=``), so a rule
    over the codes (scale 200 per percent) decides percentage thresholds with
    up to two decimals exactly, with no rounding.  0 where ``den <= 0``.  A
    ratio beyond ±2**62 basis points has no code: an
    :class:`~custvalue.AmountOverflowError`.

    >>> import numpy as np
    >>> ratio_code(np.array([-29_999, -30_000, 1]), np.array([100_000, 100_000, 3])).tolist()
    [-5999, -6000, 6667]
    """
    return ratio_parts(num, den, code=True)[2]


def ratio_bp_code(num: Any, den: Any) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.int64]]:
    """:func:`ratio_bp` and :func:`ratio_code` of the same ratio, from one division.

    >>> import numpy as np
    >>> bp, ok, code = ratio_bp_code(np.array([-29_999, 1, 5]), np.array([100_000, 3, 0]))
    >>> bp.tolist(), ok.tolist(), code.tolist()
    ([-3000, 3333, 0], [True, True, False], [-5999, 6667, 0])
    """
    bp, valid, code = ratio_parts(num, den, code=True)
    return bp, valid, code


_CODE_LIMIT = 2**62  # |floor(q)| below this: 2 × floor(q) + 1 fits int64


def ratio_parts(
    num: Any,
    den: Any,
    *,
    code: bool,
    out: tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.int64]] | None = None,
    scratch: Scratch | None = None,
    bound: int | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.int64]]:
    """Basis points, validity and (with ``code``) the comparison code, from one exact division.

    ``out``: the three arrays to write (``num``'s size; returned as they
    are); read-only fresh arrays otherwise.  ``scratch``: the work arrays.
    ``bound``: a bound on every ``|num|`` the caller knows (it must hold),
    instead of finding the largest and smallest numerators.
    """
    n = np.asarray(num, dtype=np.int64).reshape(-1)
    d = np.asarray(den, dtype=np.int64).reshape(-1)
    ws = Scratch() if scratch is None else scratch
    valid = np.greater(d, 0, out=None if out is None else out[1])
    lim = INT64_MAX // 10_000
    big: NDArray[np.bool_] | None = None
    scaled = ws.array("ratio_scaled", n.shape, np.int64)
    if bound is not None:
        top, bottom = bound, -bound
    else:
        top, bottom = (int(n.max()), int(n.min())) if n.size else (0, 0)
    if top > lim or bottom < -lim:
        big = (n > lim) | (n < -lim)  # not np.abs: it wraps at the int64 minimum
        np.copyto(scaled, np.where(big, 0, n))
        scaled *= 10_000
    else:
        np.multiply(n, 10_000, out=scaled)
    every = bool(valid.all())
    if not every:
        np.multiply(scaled, valid, out=scaled)  # no ratio: 0, whatever the numerator
    c = np.maximum(d, 1, out=ws.array("ratio_c", d.shape, np.int64))
    # one pass for both (the divisors vary: no constant-divisor check)
    q, r = np.divmod(
        scaled,
        c,
        out=(np.empty(n.shape, np.int64) if out is None else out[0], ws.array("ratio_r", n.shape, np.int64)),
    )
    cd = np.zeros(0, np.int64)
    if code:
        # |q| <= |num| x 10000 (every divisor is >= 1): within the code's range when the numerators are
        if max(top, -bottom) * 10_000 >= _CODE_LIMIT and (
            int(q.max()) >= _CODE_LIMIT or int(q.min()) < -_CODE_LIMIT
        ):
            i = int(np.flatnonzero((q >= _CODE_LIMIT) | (q < -_CODE_LIMIT))[0])
            raise AmountOverflowError(
                f"the ratio {int(n[i])} / {int(d[i])} at row {i} is beyond ±2**62 basis points: "
                "no exact comparison code"
            )
        cd = np.multiply(q, 2, out=None if out is None else out[2])
        cd += np.not_equal(r, 0, out=ws.array("ratio_inexact", n.shape, np.bool_))
    _round_half_even(q, r, c, ws.array("ratio_t", n.shape, np.int64), ws)
    for i in np.flatnonzero(big & valid).tolist() if big is not None else ():
        qq, rr = divmod(int(n[i]) * 10_000, int(d[i]))
        v = _half_even_int(qq, rr, int(d[i]))
        if not -INT64_MAX - 1 <= v <= INT64_MAX or (code and not -_CODE_LIMIT <= qq < _CODE_LIMIT):
            raise AmountOverflowError(
                f"the ratio {int(n[i])} / {int(d[i])} at row {i} is beyond int64 basis points"
            )
        q[i] = v
        if code:
            cd[i] = 2 * qq + (1 if rr else 0)
    if out is not None:
        return q, valid, cd
    return readonly(q), readonly(valid), readonly(cd)


def _half_even_int(q: int, r: int, d: int) -> int:
    return q + (1 if 2 * r > d or (2 * r == d and q % 2) else 0)


#: Up to this many distinct keys, each key's group is found by binary search.
_FEW_GROUPS = 4096


def group_codes(keys: NDArray[np.str_]) -> tuple[NDArray[np.str_], NDArray[np.intp]]:
    """Sorted distinct strings and each key's index into them (like ``np.unique(..., return_inverse=True)``).

    Keys whose characters vary over few values at each position
    (``B001``..``B020``, numbered households) are ranked by a counting sort,
    with no sort at all.  Otherwise ASCII keys of up to 8 characters are read
    as one big-endian ``uint64`` each, which orders them as strings do, and
    grouped as integers: a sort, then a binary search into the few distinct
    keys, or a cumulative count over the sorted order when there are many.
    Several times faster than sorting strings; the same answer.

    >>> import numpy as np
    >>> ids, inv = group_codes(np.array(["B2", "B10", "B2", "A"]))
    >>> ids.tolist(), inv.tolist()
    (['A', 'B10', 'B2'], [2, 1, 2, 0])
    """
    if isinstance(keys, np.ndarray) and is_sealed(keys):  # immutable (a portfolio's ids): grouped once
        return memo_on(keys, "group_codes", lambda: _sealed_codes(keys))
    return _group_codes(keys)


def _sealed_codes(keys: NDArray[np.str_]) -> tuple[NDArray[np.str_], NDArray[np.intp]]:
    ids, inv = _group_codes(keys)
    return readonly(ids), readonly(inv)


def _group_codes(keys: NDArray[np.str_]) -> tuple[NDArray[np.str_], NDArray[np.intp]]:
    k = np.asarray(keys)
    if k.dtype.kind != "U" or k.size == 0:
        uniq, inv = np.unique(k.astype(str), return_inverse=True)
        return uniq, inv.reshape(-1).astype(np.intp)
    head = min(k.size, 4097)
    if k.size > 1 and bool(np.all(k[1:head] >= k[: head - 1])):
        # keys already in order (numbered households, files sorted by key): runs, no sort
        new = np.empty(k.size, np.bool_)
        new[0] = True
        np.not_equal(k[1:], k[:-1], out=new[1:])
        starts = np.flatnonzero(new)
        if starts.size == 1 or bool(np.all(k[starts[1:]] > k[starts[:-1]])):
            inv = np.cumsum(new, dtype=np.intp)
            inv -= 1
            return k[starts], inv
    width = k.dtype.itemsize // 4
    chars = np.ascontiguousarray(k).reshape(-1).view(np.uint32).reshape(k.size, width)
    counted = _counting_codes(chars, width)
    if counted is not None:
        return counted
    if width == 0 or width > 8 or int(chars.max()) >= 128:
        uniq, inv = np.unique(k, return_inverse=True)
        return uniq, inv.reshape(-1).astype(np.intp)
    buf = np.zeros((k.size, 8), np.uint8)
    buf[:, :width] = chars
    packed = buf.view(">u8").reshape(-1).astype(np.uint64)  # first character most significant
    packed >>= np.uint64(8 * (8 - width))  # drop the padding bytes: ids differing at the end lie close
    s = np.sort(packed)
    new = np.empty(s.size, np.bool_)
    new[0] = True
    np.not_equal(s[1:], s[:-1], out=new[1:])
    uniq_keys = s[new]
    if uniq_keys.size <= _FEW_GROUPS:
        inv = np.searchsorted(uniq_keys, packed).astype(np.intp)
    else:
        order = np.argsort(packed)
        first = np.empty(order.size, np.bool_)
        first[0] = True
        sp = packed[order]
        np.not_equal(sp[1:], sp[:-1], out=first[1:])
        inv = np.empty(order.size, np.intp)
        inv[order] = np.cumsum(first) - 1
    wide = (uniq_keys << np.uint64(8 * (8 - width))).astype(">u8")
    out = wide.view(np.uint8).reshape(-1, 8)[:, :width].astype(np.uint32)
    return np.ascontiguousarray(out).view(f"<U{width}").reshape(-1), inv


def _counting_codes(
    chars: NDArray[np.uint32], width: int
) -> tuple[NDArray[np.str_], NDArray[np.intp]] | None:
    """Group fixed-width strings without sorting, when their characters vary over few values.

    Each position's characters span ``lo..hi``; reading the positions as the
    digits of a mixed-radix number maps distinct strings to distinct integers
    in string order.  When those integers span at most a few times the number
    of keys, one table of which integers occur (a counting sort) ranks them.
    ``None`` when the span is too wide.
    """
    n = chars.shape[0]
    if width == 0:
        return None
    cols = np.ascontiguousarray(chars.T)  # one row per character position: contiguous reductions
    lo = cols.min(axis=1).astype(np.int64).tolist()
    radix = [int(h) - low + 1 for h, low in zip(cols.max(axis=1).tolist(), lo, strict=True)]
    span = 1
    for r in radix:
        span *= r
    if span > max(8 * n, 1 << 16):
        return None
    key = np.zeros(n, np.intp)
    for j in range(width):
        if radix[j] == 1:  # the same character everywhere: no digit
            continue
        key *= radix[j]
        key += cols[j]
        key -= lo[j]
    present = np.zeros(span, np.bool_)
    present[key] = True
    rank = np.cumsum(present, dtype=np.intp)
    rank -= 1
    inv = rank[key]
    code = np.flatnonzero(present)
    out = np.empty((code.size, width), np.uint32)
    for j in range(width - 1, -1, -1):
        code, digit = np.divmod(code, radix[j])
        out[:, j] = digit + lo[j]
    return out.reshape(-1).view(f"<U{width}"), inv


def make_columns(cols: Mapping[str, Any]) -> dict[str, NDArray[Any]]:
    """Read-only 1-d arrays from a mapping of column name to values."""
    out: dict[str, NDArray[Any]] = {}
    for k, v in cols.items():
        a = np.asarray(v)
        if a.dtype.kind == "U" and a.size == 0:
            a = a.astype("<U1")
        out[k] = readonly(a if a.ndim == 1 else a.reshape(-1))  # a sealed column stays the same object
    return out


def _fmt_bp(v: int) -> str:
    sign = "-" if v < 0 else ""
    a = abs(v)
    return f"{sign}{a // 100}.{a % 100:02d}%"


@attrs.frozen(eq=False, repr=False, kw_only=True)
class Report:
    """A table of named, read-only columns (the base of every analytics report).

    Attributes
    ----------
    title : str
        What the table shows.
    columns : dict of str to ndarray
        Column name to a read-only 1-d array; all the same length.
    valid : dict of str to ndarray of bool
        For nullable columns only: ``False`` where the value is null (the
        stored value there is 0).
    money : tuple of str
        Columns holding fen (shown in yuan by :meth:`text`).

    Examples
    --------
    >>> r = Report(title="demo", columns=make_columns({"branch": ["B1"], "aum": [123456]}),
    ...            money=("aum",))
    >>> print(r.text())
    demo
    branch      aum
    B1     1,234.56
    >>> len(r), r.column_names
    (1, ('branch', 'aum'))
    """

    title: str
    columns: dict[str, NDArray[Any]]
    valid: dict[str, NDArray[np.bool_]] = attrs.field(factory=dict)
    money: tuple[str, ...] = ()

    def __attrs_post_init__(self) -> None:
        lengths = {k: len(v) for k, v in self.columns.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"report columns differ in length: {lengths}")
        for k, m in self.valid.items():
            if k not in self.columns or len(m) != lengths[k]:
                raise ValueError(f"validity mask {k!r} does not match a column")

    @property
    def column_names(self) -> tuple[str, ...]:
        """Column names in order."""
        return tuple(self.columns)

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def column(self, name: str) -> NDArray[Any]:
        """One column (read-only); ``KeyError`` names the known columns."""
        try:
            return self.columns[name]
        except KeyError:
            raise KeyError(
                f"{name!r} is not a column of {self.title!r}; columns: {', '.join(self.columns)}"
            ) from None

    def records(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Rows as dicts of Python values (``None`` where null); the first ``limit`` rows if given."""
        stop = len(self) if limit is None else max(0, limit)
        lists = {k: v[:stop].tolist() for k, v in self.columns.items()}
        for k, m in self.valid.items():
            lists[k] = [x if ok else None for x, ok in zip(lists[k], m[:stop].tolist(), strict=True)]
        return [dict(zip(lists, row, strict=True)) for row in zip(*lists.values(), strict=True)]

    # ------------------------------------------------------------ convert
    def to_pandas(self) -> Any:
        """A :class:`pandas.DataFrame` (needs ``pandas``); nullable columns are ``Int64``."""
        pd = import_optional("pandas", extra="pandas")
        data: dict[str, Any] = {}
        for k, v in self.columns.items():
            if k in self.valid:
                data[k] = pd.array(np.asarray(v), dtype="Int64")
                data[k][~np.asarray(self.valid[k])] = pd.NA
            else:
                data[k] = np.asarray(v)
        return pd.DataFrame(data, columns=list(self.columns))

    def to_arrow(self) -> Any:
        """A :class:`pyarrow.Table` (needs ``pyarrow``); nulls where a column is not valid."""
        pa = import_optional("pyarrow", extra="parquet")
        arrays = [
            pa.array(np.asarray(v), mask=~np.asarray(self.valid[k]))
            if k in self.valid
            else pa.array(np.asarray(v))
            for k, v in self.columns.items()
        ]
        return pa.table(arrays, names=list(self.columns))

    def write(self, path: str | Path, *, format: str | None = None) -> None:
        """Write the report as CSV or Parquet, atomically (money in fen, shares in basis points)."""
        fmt = file_format(path, format)
        rows = self.records()
        names = list(self.columns)

        def write_csv(tmp: Path) -> None:
            with tmp.open("w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh, lineterminator="\n")
                w.writerow(names)
                for r in rows:
                    w.writerow(
                        [
                            ""
                            if r[k] is None
                            else ("true" if r[k] is True else "false" if r[k] is False else r[k])
                            for k in names
                        ]
                    )

        def write_parquet(tmp: Path) -> None:
            pq = import_optional("pyarrow.parquet", extra="parquet", feature="Parquet output")
            pq.write_table(self.to_arrow(), tmp)

        atomic_write(path, write_csv if fmt == "csv" else write_parquet)

    # ------------------------------------------------------------ display
    def _cells(self, limit: int | None = None) -> list[list[str]]:
        out: list[list[str]] = []
        for r in self.records(limit):
            row = []
            for k, v in r.items():
                if v is None:
                    row.append("—")
                elif k in self.money:
                    row.append(format_yuan(int(v)))
                elif k.endswith("_bp"):
                    row.append(_fmt_bp(int(v)))
                elif isinstance(v, bool):
                    row.append("yes" if v else "no")
                elif isinstance(v, int):
                    row.append(f"{v:,}")
                elif isinstance(v, float):
                    row.append(f"{v:.6f}")
                else:
                    row.append(str(v))
            out.append(row)
        return out

    def text(self, *, max_rows: int = 60) -> str:
        """A fixed-width text table (money in yuan, ``*_bp`` columns as percent)."""
        names = list(self.columns)
        cells = self._cells(max_rows)
        shown = cells[:max_rows]
        widths = [max([len(n)] + [len(r[i]) for r in shown]) for i, n in enumerate(names)]

        def line(vals: list[str]) -> str:
            first = f"{vals[0]:<{widths[0]}}" if vals else ""
            rest = [f"{v:>{w}}" for v, w in zip(vals[1:], widths[1:], strict=True)]
            return " ".join([first, *rest]).rstrip()

        body = [line(r) for r in shown]
        if len(self) > max_rows:
            body.append(f"... {len(self) - max_rows:,} more rows")
        return "\n".join([self.title, line(names), *body])

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.title!r}: {len(self):,} rows × {len(self.columns)} columns>"

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Draw the report with matplotlib (the ``plot`` extra), pandas-style; returns the ``Axes``.

        A new figure is made when ``ax`` is ``None``.  What is drawn depends
        on the report (money in scaled yuan; ``title=`` replaces the title,
        other keywords go to the matplotlib call that draws the data):

        * :func:`tier_distribution`: ``kind="mix"`` (bars per tier, labelled)
          or ``"branch"`` (bars per branch stacked by tier); ``value="customers"``
          or ``"aum"``; ``share=True`` for percentages.
        * :func:`tier_trend`: one line per tier; ``value="customers"``,
          ``"aum"`` or ``"share"``; ``logy=True`` for a log scale.
        * :func:`migration_report`: a heatmap with the counts in the cells
          (see :func:`plot_migration`).
        * :func:`concentration`: ``kind="lorenz"`` or ``"pareto"`` (with the
          top-share points labelled).
        * :func:`churn_report`: ``kind="tier"`` or ``"branch"``;
          ``value="churned"``, ``"aum_lost"`` or ``"rate"``.
        * :func:`performance_report`: bars per manager (coloured by branch;
          ``top=N`` keeps the N largest) or per branch; ``value="aum"``,
          ``"aum_growth"`` or ``"sales_credit"``.
        * :meth:`AssetMonitor.by_branch`: deposit, investment and loan bars
          per branch (``value="aum"`` and others for one series).
        * :func:`evaluate_alerts`: customers per alert.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from custvalue import evaluate
        >>> from custvalue.synthetic import generate
        >>> from custvalue.analytics import tier_distribution
        >>> ax = tier_distribution(evaluate(generate(200, seed=1))).plot()
        >>> len(ax.patches), [t.get_text() for t in ax.get_xticklabels()]
        (5, ['core', 'growth', 'platinum', 'gold', 'potential'])
        """
        return plot_report(self, ax, **kwargs)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(n)}</th>" for n in self.columns)
        rows = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in self._cells(200)
        )
        return (
            f"<div><b>{html.escape(self.title)}</b> ({len(self):,} rows)"
            f"<table><tr>{head}</tr>{rows}</table></div>"
        )
