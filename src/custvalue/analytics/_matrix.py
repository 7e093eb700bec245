"""The value matrix: current value × potential value quadrants (SPEC section 6).

A customer is ``high`` on an axis when its measure is at least the policy's
cut (``[value.matrix]``: e.g. current = AUM with a cut of 500,000 yuan,
potential = CLV with a cut of 20,000 yuan).  The four quadrants carry the
policy's ids and (Chinese) labels; per quadrant the matrix gives the number
of customers, their AUM (exact fen sums) and the customer list.
"""

from __future__ import annotations

from decimal import ROUND_CEILING
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from .._arrays import exact_group_sums, exact_sum, readonly
from .._optional import import_optional
from ..money import format_yuan
from ..months import Month
from ..policy import ValueMatrixSpec
from ._errors import AnalyticsError
from ._measures import CustomerValue
from ._table import Report, make_columns, ratio_bp

__all__ = ["ValueMatrix", "value_matrix"]

#: Fonts with Chinese glyphs :meth:`ValueMatrix.plot` uses for the Chinese labels, when installed.
_CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
    "Arial Unicode MS",
)


@attrs.frozen(eq=False, repr=False)
class ValueMatrix:
    """Customers by value quadrant.

    Attributes
    ----------
    spec : ValueMatrixSpec
    as_of : Month
    customer_ids : ndarray of str
    codes : ndarray of int8
        Each customer's quadrant: an index into ``spec.quadrants``.
    current, potential : ndarray of int64
        The two measures (fen for money measures).
    current_cut, potential_cut : int
        The cuts in the measures' units (fen): ``high`` is ``>= cut``.
    counts : ndarray of int64
        Customers per quadrant.
    aum : ndarray of int64
        AUM per quadrant (fen, exact).
    """

    spec: ValueMatrixSpec
    as_of: Month
    customer_ids: NDArray[np.str_]
    codes: NDArray[np.int8]
    current: NDArray[np.int64]
    potential: NDArray[np.int64]
    current_cut: int
    potential_cut: int
    counts: NDArray[np.int64]
    aum: NDArray[np.int64]

    @property
    def quadrant_ids(self) -> tuple[str, ...]:
        """Quadrant ids in policy order."""
        return tuple(q.id for q in self.spec.quadrants)

    def _index(self, quadrant: str) -> int:
        try:
            return self.quadrant_ids.index(quadrant)
        except ValueError:
            raise AnalyticsError(
                f"unknown quadrant {quadrant!r}; quadrants: {', '.join(self.quadrant_ids)}"
            ) from None

    def customers(self, quadrant: str) -> NDArray[np.str_]:
        """The ids of a quadrant's customers, in portfolio order."""
        return readonly(self.customer_ids[self.codes == self._index(quadrant)])

    def quadrants(self) -> NDArray[np.str_]:
        """Each customer's quadrant id."""
        return np.asarray(self.quadrant_ids)[self.codes]

    def report(self) -> Report:
        """One row per quadrant: labels, customers, AUM and their shares (basis points)."""
        total_n = int(self.counts.sum())
        total_aum = exact_sum(self.aum, what="value-matrix AUM")
        n_bp, n_ok = ratio_bp(self.counts, np.full(4, total_n))
        a_bp, a_ok = ratio_bp(self.aum, np.full(4, total_aum))
        qs = self.spec.quadrants
        return Report(
            title=(
                f"Value matrix at {self.as_of}: current {self.spec.current} ≥ {format_yuan(self.current_cut)}"
                f" × potential {self.spec.potential} ≥ {format_yuan(self.potential_cut)}"
            ),
            columns=make_columns(
                {
                    "quadrant": [q.id for q in qs],
                    "label_zh": [q.label_zh or "" for q in qs],
                    "current": [q.current for q in qs],
                    "potential": [q.potential for q in qs],
                    "customers": self.counts,
                    "customers_bp": n_bp,
                    "aum": self.aum,
                    "aum_bp": a_bp,
                }
            ),
            valid={"customers_bp": n_ok, "aum_bp": a_ok},
            money=("aum",),
        )

    def text(self) -> str:
        """The report as text."""
        return self.report().text()

    def plot(self, ax: Any = None) -> Any:
        """The 2 × 2 matrix as a picture (needs matplotlib): customers and AUM per quadrant.

        The Chinese quadrant labels are drawn when a font with Chinese glyphs
        (Noto Sans CJK, WenQuanYi, SimHei, ...) is installed.

        Returns the :class:`matplotlib.axes.Axes` drawn on.
        """
        plt = import_optional("matplotlib.pyplot", extra="plot", feature="value-matrix plots")
        fm = import_optional("matplotlib.font_manager", extra="plot", feature="value-matrix plots")
        installed = {f.name for f in fm.fontManager.ttflist}
        cjk = next((f for f in _CJK_FONTS if f in installed), None)
        if ax is None:
            _, ax = plt.subplots(figsize=(6.4, 5.2))
        grid = np.zeros((2, 2))
        labels = [["", ""], ["", ""]]
        total = max(int(self.counts.sum()), 1)
        for i, q in enumerate(self.spec.quadrants):
            r = 0 if q.potential == "high" else 1
            c = 0 if q.current == "low" else 1
            grid[r, c] = int(self.counts[i]) / total
            name = q.label or q.id
            if q.label_zh and cjk is not None:  # without a CJK font the Chinese labels would be boxes
                name = f"{name}\n{q.label_zh}"
            labels[r][c] = (
                f"{name}\n{int(self.counts[i]):,} customers ({grid[r, c]:.1%})"
                f"\nAUM {format_yuan(int(self.aum[i]))}"
            )
        ax.imshow(grid, cmap="Blues", vmin=0, vmax=max(float(grid.max()) * 1.4, 1e-9))
        for r in range(2):
            for c in range(2):
                ax.text(
                    c, r, labels[r][c], ha="center", va="center", fontsize=9, fontfamily=cjk or "sans-serif"
                )
        ax.set_xticks([0, 1], [f"< {format_yuan(self.current_cut)}", f"≥ {format_yuan(self.current_cut)}"])
        ax.set_yticks(
            [0, 1], [f"≥ {format_yuan(self.potential_cut)}", f"< {format_yuan(self.potential_cut)}"]
        )
        ax.set_xlabel(f"current value: {self.spec.current} (yuan)")
        ax.set_ylabel(f"potential value: {self.spec.potential} (yuan)")
        ax.set_title(f"Value matrix at {self.as_of}")
        return ax

    def _repr_html_(self) -> str:
        return self.report()._repr_html_()

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{q} {int(c):,}" for q, c in zip(self.quadrant_ids, self.counts.tolist(), strict=True)
        )
        return f"<ValueMatrix at {self.as_of}: {parts}>"


def _cut(values: CustomerValue, name: str, cut: Any) -> int:
    scale = values.policy.scale if values.kinds[name] == "money" else 1
    return int((cut * scale).to_integral_value(rounding=ROUND_CEILING))


def value_matrix(values: CustomerValue) -> ValueMatrix:
    """Place every customer in a quadrant of the policy's ``[value.matrix]`` (vectorised).

    Examples
    --------
    >>> import numpy as np
    >>> from custvalue import Portfolio, default_policy
    >>> from custvalue.policy import Policy
    >>> from custvalue.analytics import customer_value
    >>> doc = default_policy().to_dict()
    >>> doc["value"] = {"margins": {"deposits": "0.015"}, "retention": "0.9", "horizon": 5,
    ...   "matrix": {"current": "aum", "potential": "clv", "current_cut": 500000, "potential_cut": 20000,
    ...     "quadrants": [
    ...       {"id": "star", "current": "high", "potential": "high", "label_zh": "明星客户"},
    ...       {"id": "keep", "current": "high", "potential": "low", "label_zh": "维护客户"},
    ...       {"id": "grow", "current": "low", "potential": "high", "label_zh": "潜力客户"},
    ...       {"id": "basic", "current": "low", "potential": "low", "label_zh": "一般客户"}]}}
    >>> p = Portfolio.from_arrays(customer_ids=["A", "B"], branch_ids=["X"] * 2, start="2026-10",
    ...                           deposits=np.array([[600_000_00], [100_000_00]]))
    >>> m = value_matrix(customer_value(p, Policy.from_dict(doc)))
    >>> m.quadrants().tolist(), m.customers("star").tolist(), m.counts.tolist()
    (['star', 'basic'], ['A'], [1, 0, 0, 1])
    """
    spec = values.spec.matrix
    if spec is None:
        raise AnalyticsError("the policy's [value] section has no [value.matrix]")
    cur = values.measure(spec.current).astype(np.int64)
    pot = values.measure(spec.potential).astype(np.int64)
    cc, pc = _cut(values, spec.current, spec.current_cut), _cut(values, spec.potential, spec.potential_cut)
    hi_c, hi_p = cur >= cc, pot >= pc
    lut = np.zeros(4, np.int8)  # index = 2 * (current low) + (potential low)
    for i, q in enumerate(spec.quadrants):
        lut[2 * (q.current == "low") + (q.potential == "low")] = i
    codes = lut[2 * (~hi_c).astype(np.int64) + (~hi_p).astype(np.int64)]
    counts = np.bincount(codes.astype(np.int64), minlength=4)
    aum = exact_group_sums(codes, values.measure("aum"), 4, what="value-matrix AUM")
    return ValueMatrix(
        spec=spec,
        as_of=values.as_of,
        customer_ids=values.customer_ids,
        codes=readonly(codes),
        current=readonly(cur),
        potential=readonly(pot),
        current_cut=cc,
        potential_cut=pc,
        counts=readonly(counts),
        aum=readonly(aum),
    )
