"""Features: named inputs computed from a portfolio at an as-of month.

A feature reduces one monthly column (or AUM) over the month axis, for every
customer at once:

* ``value`` — the value at the as-of month (or ``lag`` months before it);
* ``max``, ``min``, ``sum``, ``mean`` — over a window of the as-of month and
  the ``window`` months before it (``window + 1`` values, the SPEC's
  convention);
* ``run`` — the length of the trailing run of months, ending at the as-of
  month, in which an S-FEEL unary test holds (``"< 500000"``), walking back at
  most ``window + 1`` months when a window is given.

Months a customer has no data for (before the portfolio starts, or before the
customer's ``history_start``) are never invented: the window shrinks to what
exists and the customer's ``complete`` flag for that feature is ``False``.

Everything is vectorised over customers; the only Python loops are over
features.  :func:`compute_features` returns a :class:`FeatureFrame`;
:func:`reference_feature` is the scalar reference used by the tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from .._arrays import Scratch, floor_divmod
from .._arrays import readonly as _ro
from ..months import Month, MonthLike
from ..policy import FEATURE_OPS, FeatureSpec
from ..portfolio import CARD_LEVELS, MAX_AMOUNT, Portfolio
from ..rules import CodedColumn, DecisionTable, compile_table

__all__ = [
    "Block",
    "FeatureFrame",
    "Test",
    "compute",
    "compute_features",
    "compute_months",
    "compute_path",
    "reference_feature",
    "window_maxima",
]

Test = Callable[[NDArray[Any]], NDArray[np.bool_]]


@attrs.frozen(eq=False)
class FeatureFrame:
    """Feature values for every customer of a portfolio at one as-of month.

    Attributes
    ----------
    as_of : Month
    values : mapping of name to ndarray, shape (n,)
        ``int64`` fen for money features, ``int8`` codes for ``card_level``,
        ``int64`` month counts for ``run``.
    complete : mapping of name to ndarray of bool, shape (n,)
        Whether every month the feature needs exists for the customer.
    """

    as_of: Month
    values: Mapping[str, NDArray[Any]]
    complete: Mapping[str, NDArray[np.bool_]]

    def __getitem__(self, name: str) -> NDArray[Any]:
        return self.values[name]


def _span(spec: FeatureSpec) -> tuple[int, int]:
    """Months back from the as-of month: (first, last) offsets, first >= last."""
    if spec.op == "value":
        return spec.lag, spec.lag
    return spec.lag + spec.window, spec.lag


class Block:
    """Month-major column slices of a row block; AUM computed once and shared.

    A portfolio stores its columns month-major, so a block's slice of a
    column, ``(months lo..hi, rows)``, is a view whose month rows are
    contiguous: reductions over the month axis run as a few contiguous
    element-wise passes and nothing is transposed or copied.
    """

    def __init__(
        self, portfolio: Portfolio, rows: slice, lo: int, hi: int, aum: Sequence[str], amount_scale: int = 100
    ) -> None:
        self.p, self.rows, self.lo, self.hi, self.aum_cols = portfolio, rows, lo, hi, aum
        self.hs = portfolio.history_start[rows].astype(np.int64)
        self.hs_max = int(self.hs.max()) if self.hs.size else 0
        self.amount_scale = amount_scale
        self._cache: dict[str, NDArray[Any]] = {}
        #: A lookup-table index of these rows shared by the work on the block (the report set's
        #: trend and evaluation): ``(compiled policy, first month, index)``, the index's row ``j``
        #: being month ``first + j`` (see :func:`~custvalue.tiering._kernel.path_index`).
        self.index: tuple[Any, int, NDArray[Any]] | None = None

    def column(self, name: str) -> NDArray[Any]:
        """``(months lo..hi, rows)`` slice of a column (or ``aum``), month rows contiguous."""
        got = self._cache.get(name)
        if got is None:
            sl = (slice(self.lo, self.hi + 1), self.rows)
            if name == "aum":
                parts = [getattr(self.p, c).T[sl] for c in self.aum_cols]
                if not parts:
                    got = np.zeros_like(self.p.deposits.T[sl])
                else:
                    got = parts[0] + parts[1] if len(parts) > 1 else parts[0].copy()
                    for part in parts[2:]:
                        got += part
            else:
                got = self.p.column(name).T[sl]
            self._cache[name] = got
        return got

    def at(self, name: str, j: int) -> NDArray[Any]:
        """One month (absolute index ``j``) of a column: a contiguous view."""
        whole = self._cache.get(name)
        if whole is not None:
            row: NDArray[Any] = whole[j - self.lo]
            return row
        if name == "aum":
            aum: NDArray[Any] = self.column("aum")[j - self.lo]
            return aum
        month: NDArray[Any] = self.p.column(name).T[j, self.rows]
        return month


def compute_features(
    portfolio: Portfolio,
    features: Sequence[FeatureSpec],
    as_of: MonthLike,
    *,
    aum: Sequence[str] = ("deposits", "wealth", "investments"),
    tests: Mapping[str, Test] | None = None,
    rows: slice | None = None,
    amount_scale: int = 100,
) -> FeatureFrame:
    """Compute features for every customer at ``as_of``.

    Parameters
    ----------
    portfolio
        The customers and their months.
    features
        Feature specifications (see :class:`custvalue.policy.FeatureSpec`).
    as_of
        The as-of month; it must be on the portfolio's month axis.
    aum
        The columns summed into ``aum``.
    tests
        For ``run`` features: a vectorised predicate per feature name, mapping
        a ``(n, m)`` array of monthly values to a boolean array.  When absent,
        the feature's S-FEEL ``test`` is compiled with the rules engine.
    rows
        Evaluate only a block of customers (``slice``), for chunked evaluation.
    amount_scale
        Fen per unit of the amounts in ``run`` tests (100: tests are in yuan).

    Examples
    --------
    >>> import numpy as np
    >>> from custvalue import Portfolio
    >>> from custvalue.policy import FeatureSpec
    >>> p = Portfolio.from_arrays(customer_ids=["a"], branch_ids=["b"], start="2026-07",
    ...                           deposits=np.array([[5, 9, 1, 2]]))
    >>> f = compute_features(p, [FeatureSpec("m", "max", "deposits", window=2),
    ...                          FeatureSpec("low", "run", "deposits", window=3, test="< 0.05")],
    ...                    "2026-10")
    >>> int(f["m"][0]), int(f["low"][0]), bool(f.complete["m"][0])
    (9, 2, True)
    """
    month = Month.coerce(as_of)
    a = portfolio.months.index(month)
    rows = rows if rows is not None else slice(0, portfolio.n_customers)
    if not features:
        return FeatureFrame(month, {}, {})
    first = max(0, a - max(_span(f)[0] for f in features))
    block = Block(portfolio, rows, first, a, aum, amount_scale)
    return compute(block, features, a, tests)


def compute(
    block: Block,
    features: Sequence[FeatureSpec],
    a: int,
    tests: Mapping[str, Test] | None,
    *,
    with_complete: bool = True,
) -> FeatureFrame:
    """Features at absolute month index ``a`` from a block's column slices.

    Every portfolio column is non-negative and zero before a customer's
    history start, so ``value``, ``max`` and ``sum`` need no masking (a
    ``value`` is a view of the block's month row); ``min``, ``mean`` and
    ``run`` mask the months that are not data.  Maxima of one column over
    nested windows share their work: the longer window extends the shorter
    one's maximum by the months it adds.  ``with_complete=False`` skips the
    completeness flags (the kernel computes history completeness once).
    """
    month = block.p.months[a] if with_complete else block.p.months.start
    hs = block.hs
    n = hs.shape[0]
    values: dict[str, NDArray[Any]] = {}
    complete: dict[str, NDArray[np.bool_]] = {}
    lo = block.lo
    # (column, last month) -> (first month, max over first..last), for nested windows
    maxima: dict[tuple[str, int], tuple[int, NDArray[np.int64]]] = {}
    order = sorted(range(len(features)), key=lambda i: (features[i].op != "max", features[i].window))
    for i in order:
        f = features[i]
        if f.op not in FEATURE_OPS:
            raise ValueError(f"unknown feature op {f.op!r}")
        back_first, back_last = _span(f)
        first, last = a - back_first, a - back_last
        if last < 0:
            dtype = np.int8 if f.column == "card_level" and f.op != "run" else np.int64
            values[f.name] = _ro(np.zeros(n, dtype=dtype))
            if with_complete:
                complete[f.name] = _ro(np.zeros(n, dtype=bool))
            continue
        start = max(first, 0)
        if start < lo or last > block.hi:
            raise ValueError(f"feature {f.name!r} needs months outside the block")
        if with_complete:
            ok = hs <= first if first >= 0 else np.zeros(n, dtype=bool)
            complete[f.name] = _ro(ok & (hs <= last)) if f.op != "value" else _ro(ok)
        if f.op == "value":
            values[f.name] = block.at(f.column, last)  # zero before history start: no mask
            continue
        x = block.column(f.column)[start - lo : last - lo + 1]
        if f.op == "max":
            key = (f.column, last)
            have = maxima.get(key)
            if have is not None and have[0] >= start:
                # extend the shorter window's maximum by the older months only
                older = x[: have[0] - start]
                top = (
                    have[1] if older.shape[0] == 0 else np.maximum(have[1], np.maximum.reduce(older, axis=0))
                )
            else:
                top = np.maximum.reduce(x, axis=0)
            maxima[key] = (start, top)
            values[f.name] = top
            continue
        # cells before a customer's history start are zero and are not data
        partial = bool(n) and block.hs_max > start and f.op in ("min", "mean", "run")
        valid = (np.arange(start, last + 1)[:, None] >= hs[None, :]) if partial else None
        values[f.name] = _reduce(f, x, valid, tests, block.amount_scale)
    return FeatureFrame(month, {f.name: _ro(values[f.name]) for f in features}, complete)


#: ``value`` and ``sum`` features over consecutive months share their work in :func:`compute_path`.
_PATH_OPS = frozenset({"value", "sum"})


def compute_path(
    block: Block, features: Sequence[FeatureSpec], a0: int, a1: int
) -> list[dict[str, NDArray[Any]]]:
    """Feature values at every absolute month ``a0..a1`` of a block, one dict per month.

    Equal, month by month, to ``compute(block, features, a, None).values``.
    A ``sum`` slides over consecutive months (the month that enters is
    added, the one that leaves subtracted: three row passes a month instead
    of one per month in the window) and a ``value`` is a view.  Maxima and
    the other operations are computed month by month (a maximum cannot
    slide, and the nested windows of :func:`compute` already share their
    work).  Money cells are at most ``MAX_AMOUNT`` (10**15 fen), so window
    totals cannot overflow int64.
    """
    months = range(a0, a1 + 1)
    out: list[dict[str, NDArray[Any]]] = [{} for _ in months]
    n = block.hs.shape[0]
    rest = [f for f in features if f.op not in _PATH_OPS]
    for f in features:
        if f.op not in _PATH_OPS:
            continue
        back_first, back_last = _span(f)
        if f.op == "value":
            for j, a in enumerate(months):
                last = a - back_last
                if last < 0:
                    dtype = np.int8 if f.column == "card_level" else np.int64
                    out[j][f.name] = _ro(np.zeros(n, dtype=dtype))
                else:
                    out[j][f.name] = block.at(f.column, last)
            continue
        x = block.column(f.column)
        lo = block.lo
        total: NDArray[np.int64] | None = None
        prev_first = 0
        for j, a in enumerate(months):
            first, last = max(a - back_first, 0), a - back_last
            if last < 0:
                out[j][f.name] = _ro(np.zeros(n, np.int64))
                continue
            if first < lo or last > block.hi:
                raise ValueError(f"feature {f.name!r} needs months outside the block")
            if total is None:
                total = np.add.reduce(x[first - lo : last - lo + 1].astype(np.int64, copy=False), axis=0)
            else:
                total = total + x[last - lo]  # the month entering the window
                if first > prev_first:
                    total -= x[prev_first - lo]  # the month leaving it
            prev_first = first
            out[j][f.name] = total
    if rest:
        for j, a in enumerate(months):
            out[j].update(compute(block, rest, a, None, with_complete=False).values)
    return out


def compute_months(
    block: Block, features: Sequence[FeatureSpec], a0: int, a1: int
) -> dict[str, NDArray[Any]]:
    """Feature values at every absolute month ``a0..a1`` of a block, stacked month-major.

    Each value is a C-contiguous ``(a1 - a0 + 1, rows)`` array whose row
    ``j`` equals ``compute(block, features, a0 + j, None).values[name]``, so
    a rule table can read all the months as one flat column.  Few numpy
    calls, none of them per customer:

    * ``value``: a view of the block's month rows (zeros before month 0);
    * ``sum``: differences of the month-wise cumulative sum (money cells are
      at most ``MAX_AMOUNT`` fen, so a block's cumulative sum cannot overflow;
      checked);
    * ``max``: sliding maxima by the van Herk / Gil-Werman scheme: the month
      axis is cut into spans of the window's length starting at month 0;
      a window either starts a span (its maximum is the span's running
      maximum at its last month, which also covers a window cut short at
      month 0) or straddles two spans (the larger of the first span's
      maximum from the window's start to the span's end and the second
      span's running maximum).  About three row passes a month, whatever
      the window;
    * ``min``, ``mean``, ``run``: month by month through :func:`compute`.
    """
    months = a1 - a0 + 1
    n = block.hs.shape[0]
    lo = block.lo
    out: dict[str, NDArray[Any]] = {}
    rest = []
    for f in features:
        if f.op not in ("value", "sum", "max"):
            rest.append(f)
            continue
        back_first, back_last = _span(f)
        lasts = [a - back_last for a in range(a0, a1 + 1)]
        firsts = [max(a - back_first, 0) for a in range(a0, a1 + 1)]
        live = [j for j in range(months) if lasts[j] >= 0]  # the months the feature has data for
        if live and (firsts[live[0]] < lo or lasts[-1] > block.hi):
            raise ValueError(f"feature {f.name!r} needs months outside the block")
        x = block.column(f.column) if live else None
        cells = max(1, len(block.aum_cols)) if f.column == "aum" else 1
        zero_dtype = np.int8 if f.column == "card_level" and f.op != "sum" else np.int64
        dtype = (np.int64 if f.op == "sum" else x.dtype) if x is not None else zero_dtype
        if f.op == "value" and x is not None and len(live) == months:
            out[f.name] = x[lasts[0] - lo : lasts[-1] - lo + 1]  # a view: consecutive month rows
            continue
        res = np.zeros((months, n), dtype=dtype)
        if x is None:
            out[f.name] = res
            continue
        j0 = live[0]
        if f.op == "value":
            res[j0:] = x[lasts[j0] - lo : lasts[-1] - lo + 1]
        elif f.op == "sum":
            _window_sums(x, lo, cells, firsts[j0:], lasts[j0:], res[j0:])
        else:
            window_maxima(x, lo, f.window + 1, firsts[j0:], lasts[j0:], res[j0:])
        out[f.name] = res
    if rest:
        per_month = [compute(block, rest, a, None, with_complete=False).values for a in range(a0, a1 + 1)]
        for f in rest:
            out[f.name] = np.stack([v[f.name] for v in per_month]) if per_month else np.zeros((0, n))
    return {f.name: out[f.name] for f in features}


def _window_sums(
    x: NDArray[Any], lo: int, cells: int, firsts: list[int], lasts: list[int], out: NDArray[np.int64]
) -> None:
    """``out[j] = x[firsts[j]..lasts[j]].sum(axis=0)`` (absolute months; ``x`` row 0 is month ``lo``).

    ``cells``: portfolio columns summed into one cell of ``x`` (each at most
    ``MAX_AMOUNT``), which bounds the cumulative sums.
    """
    top = lasts[-1] - lo + 1
    if top * cells * MAX_AMOUNT > np.iinfo(np.int64).max:  # pragma: no cover - centuries of months
        for j, (f, la) in enumerate(zip(firsts, lasts, strict=True)):
            out[j] = np.add.reduce(x[f - lo : la - lo + 1].astype(np.int64, copy=False), axis=0)
        return
    # cum[i] = sum of rows 0..i-1 (cum[0] = 0): a window sum is one subtraction
    cum = np.empty((top + 1, x.shape[1]), np.int64)
    cum[0] = 0
    for i in range(top):
        np.add(cum[i], x[i], out=cum[i + 1])
    np.subtract(cum[lasts[0] - lo + 1 : top + 1], cum[np.asarray(firsts) - lo], out=out)


def window_maxima(
    x: NDArray[Any],
    lo: int,
    length: int,
    firsts: list[int],
    lasts: list[int],
    out: NDArray[Any],
    scratch: Scratch | None = None,
) -> None:
    """``out[j] = x[firsts[j]..lasts[j]].max(axis=0)`` for windows of ``length`` months cut at month 0.

    Spans ``[s·length, (s+1)·length)`` of absolute months; ``run[m]``: the
    maximum from the start of ``m``'s span (or from ``lo``) to ``m``;
    ``back[m]``: from ``m`` to the end of its span.  A window that starts a
    span, or starts at month 0, lies in one span: ``run[last]``.  Otherwise it
    straddles two: ``max(back[first], run[last])``, both parts inside the
    window (so never read before ``lo``, and ``run[last]`` starts at a span
    start after ``first >= lo``).
    """
    top = lasts[-1]
    run = np.empty((top - lo + 1, x.shape[1]), x.dtype)
    for m in range(lo, top + 1):
        i = m - lo
        if m == lo or m % length == 0:
            run[i] = x[i]
        else:
            np.maximum(run[i - 1], x[i], out=run[i])
    # back[first] for the windows that straddle two spans, walking each span from its end
    need: dict[int, set[int]] = {}
    for f, la in zip(firsts, lasts, strict=True):
        if f // length != la // length:
            need.setdefault(f // length, set()).add(f)
    back: dict[int, NDArray[Any]] = {}
    for span, starts in need.items():
        end = (span + 1) * length - 1  # inside every such window: its last month is in the next span
        acc = x[end - lo].copy()
        for m in range(end, min(starts) - 1, -1):
            if m < end:
                np.maximum(acc, x[m - lo], out=acc)
            if m in starts:
                back[m] = acc.copy()
    for j, (f, la) in enumerate(zip(firsts, lasts, strict=True)):
        if f // length == la // length:
            out[j] = run[la - lo]
        else:
            np.maximum(back[f], run[la - lo], out=out[j])


def _reduce(
    f: FeatureSpec,
    x: NDArray[Any],
    valid: NDArray[np.bool_] | None,
    tests: Mapping[str, Test] | None,
    amount_scale: int = 100,
) -> NDArray[Any]:
    """Reduce a month-major ``(m, n)`` slice (oldest month first) to one value per row."""
    if f.op == "value":
        return np.array(x[-1])
    if f.op == "run":
        test = (tests or {}).get(f.name) or _compile_test(f, amount_scale)
        hit = test(x)
        if valid is not None:
            hit &= valid
        # length of the trailing run of True, from the as-of month backwards
        alive = hit[-1].copy()
        run: NDArray[np.int64] = alive.astype(np.int64)
        for j in range(x.shape[0] - 2, -1, -1):
            alive &= hit[j]
            run += alive
        return run
    xx = x.astype(np.int64, copy=False)
    if f.op == "max":
        top: NDArray[np.int64] = np.maximum.reduce(xx, axis=0)
        return top
    if f.op == "min":
        if valid is None:
            low: NDArray[np.int64] = np.minimum.reduce(xx, axis=0)
            return low
        m = np.minimum.reduce(np.where(valid, xx, np.iinfo(np.int64).max), axis=0)
        return np.where(valid.any(axis=0), m, 0)
    total: NDArray[np.int64] = np.add.reduce(xx, axis=0)
    if f.op == "sum":
        return total
    count = np.full(xx.shape[1], xx.shape[0], dtype=np.int64) if valid is None else valid.sum(axis=0)
    return _mean_half_even(total, count)


def _mean_half_even(total: NDArray[np.int64], count: NDArray[np.int64]) -> NDArray[np.int64]:
    """``total / count`` rounded half-to-even, in integers (0 where count is 0)."""
    c = np.maximum(count, 1)
    q, r = floor_divmod(total, c)
    twice = 2 * r
    up = (twice > c) | ((twice == c) & (q % 2 == 1))
    return np.where(count > 0, q + up, 0)


def _compile_test(f: FeatureSpec, amount_scale: int = 100) -> Test:
    """Compile a run feature's S-FEEL test into a vectorised predicate (rules engine)."""
    assert f.test is not None
    table = DecisionTable(f"feature {f.name}", "FIRST", ["x"], ["hit"], [("test", [f.test], ["true"])])
    card = f.column == "card_level"
    compiled = compile_table(table, scales=None if card else {"x": amount_scale})

    def test(x: NDArray[Any]) -> NDArray[np.bool_]:
        flat = x.reshape(-1)
        col: Any = CodedColumn(flat, CARD_LEVELS, ordered=True) if card else flat
        hit: NDArray[np.bool_] = compiled.match_matrix({"x": col})[0]
        return hit.reshape(x.shape)

    return test


# --------------------------------------------------------------------------- reference


def reference_feature(
    monthly: Sequence[int],
    history_start: int,
    as_of_index: int,
    spec: FeatureSpec,
    test: Callable[[int], bool] | None = None,
) -> tuple[int, bool]:
    """Scalar reference: one customer's feature value and completeness.

    ``monthly`` is the customer's column over the whole month axis.  Written
    straight from the definitions, for differential tests.
    """
    first, last = (
        as_of_index - spec.lag - (0 if spec.op == "value" else spec.window),
        as_of_index - spec.lag,
    )
    have = [j for j in range(max(first, 0), last + 1) if j >= history_start]
    complete = first >= 0 and history_start <= first
    vals = [int(monthly[j]) for j in have]
    if spec.op == "value":
        return (vals[-1] if have and have[-1] == last else 0), complete
    if spec.op == "run":
        assert test is not None
        k = 0
        for v in reversed(vals):
            if not test(v):
                break
            k += 1
        if have and have[-1] != last:
            k = 0
        return k, complete
    if not vals:
        return 0, complete
    if spec.op == "max":
        return max(vals), complete
    if spec.op == "min":
        return min(vals), complete
    if spec.op == "sum":
        return sum(vals), complete
    mean = Decimal(sum(vals)) / Decimal(len(vals))
    return int(mean.to_integral_value(rounding="ROUND_HALF_EVEN")), complete
