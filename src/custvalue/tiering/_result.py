"""The result of an evaluation: :class:`TierResult` (its columns and events live in ``_state``)."""

from __future__ import annotations

import html
import os
from decimal import Decimal
from typing import Any

import attrs
import numpy as np

from .._arrays import exact_group_sums
from .._optional import MissingDependencyError, import_optional
from ..money import format_yuan
from ._explain import TierExplanation, explain_customer, summary_text
from ._files import arrow_table, decimal_yuan, write_result
from ._state import EventTable, ResultState

__all__ = ["EventTable", "TierResult"]


@attrs.frozen(eq=False, repr=False)
class TierResult(ResultState):
    """The evaluation of a policy over a portfolio at one month; immutable, columnar.

    Arrays are indexed like the portfolio's customers.  Code columns have
    name helpers: :meth:`tiers`, :meth:`statuses`, :meth:`movements`,
    :meth:`previous_tiers`, :meth:`churned_tiers`.

    Attributes
    ----------
    tier_codes : ndarray of int8
        Index into ``policy.tier_order``; -1 for a customer with no data at
        the as-of month (it joined later), whose name is ``""``.
    status_codes : ndarray of int8
        Index into :data:`STATUSES` (normal, observation, attention).
    months_below : ndarray of int16
        ``k``, months in a row below the tier's AUM floor (0 unless the tier
        is held through its AUM criterion).
    previous_tier_codes : ndarray of int8
        Tier in the month before, or -1 (no data).
    movement_codes : ndarray of int8
        Index into :data:`MOVEMENTS`.
    churned_tier_codes : ndarray of int8
        Tier lost through lapse this month, or -1.
    history_complete : ndarray of bool
        Whether every month a full evaluation reads exists for the customer.
    reason_bits : ndarray of uint64
        Bit ``r`` is set when tier-table rule ``r`` holds and belongs to the
        assigned tier (see :meth:`reasons`).
    events : EventTable
    """

    # ------------------------------------------------------------ convert
    def to_pandas(self) -> Any:
        """A :class:`pandas.DataFrame` with the result-file columns (needs ``pandas``).

        ``aum`` holds exact yuan: an Arrow ``decimal128(18, 2)`` column when
        pyarrow is installed, else :class:`~decimal.Decimal` objects; the
        ``aum_fen`` column has the integers.
        """

        pd = import_optional("pandas", extra="pandas")
        cols: dict[str, Any] = dict(self.columns())
        try:
            pa = import_optional("pyarrow", extra="parquet")
        except MissingDependencyError:
            cols["aum"] = np.array([Decimal(v) for v in cols["aum"].tolist()], dtype=object)
        else:
            cols["aum"] = pd.Series(decimal_yuan(pa, self.aum_fen), dtype=pd.ArrowDtype(pa.decimal128(18, 2)))
        cols["aum_fen"] = self.aum_fen
        df = pd.DataFrame(cols)
        for c in ("tier", "previous_tier", "churned_tier"):
            df[c] = pd.Categorical(cols[c], categories=[*self.policy.tier_order, ""])
        return df

    def to_arrow(self) -> Any:
        """A :class:`pyarrow.Table` with the result-file columns (needs ``pyarrow``), ``aum`` exact."""

        pa = import_optional("pyarrow", extra="parquet")
        return arrow_table(self, pa)

    def write(self, path: str | os.PathLike[str], *, format: str | None = None) -> None:
        """Write the result file (CSV or Parquet), atomically."""

        write_result(self, path, format=format)

    # ------------------------------------------------------------ explain
    def explain(self, customer_id: str) -> TierExplanation:
        """Why a customer got its tier: the rules, the feature values and the tests.

        Examples
        --------
        >>> import numpy as np
        >>> from custvalue import Portfolio, evaluate
        >>> aum = np.full((1, 14), 612_345_00)
        >>> aum[0, -4:] = 300_000_00
        >>> p = Portfolio.from_arrays(customer_ids=["A"], branch_ids=["X"], start="2025-09",
        ...                           deposits=aum)
        >>> print(evaluate(p).explain("A"))
        customer A, as of 2026-10: platinum (白金级), status attention
          platinum because rule platinum.aum holds: max AUM in 6+1 months = 612,345.00 >= 500,000.00
          attention: AUM below the platinum floor 500,000.00 for 4 month(s) in a row (k = 4)
          movement same from platinum
          events: entered_attention -> sms_rm, workstation_alert, ...
        """

        return explain_customer(self, customer_id)

    # ------------------------------------------------------------ display
    def summary(self) -> str:
        """A text summary: tier distribution with AUM share, statuses, movements, churns, events."""

        return summary_text(self)

    def __repr__(self) -> str:
        c = self.counts()["tier"]
        tiers = ", ".join(f"{k}={v}" for k, v in c.items())
        return (
            f"<TierResult as of {self.as_of}: {len(self)} customers "
            f"({tiers}); {len(self.events)} events; policy {self.policy.name!r}>"
        )

    def _repr_html_(self) -> str:
        c = self.counts()
        k = len(self.policy.tier_order)
        have = self.tier_codes >= 0
        aum = exact_group_sums(self.tier_codes[have], self.aum_fen[have], k, what="AUM by tier")
        total = int(aum.sum(dtype=object))
        n = max(len(self), 1)

        def share(part: int, whole: int) -> str:
            return f"{100 * part / whole:.1f}%" if whole else "-"

        rows = "".join(
            f"<tr><td>{html.escape(t)}</td><td>{v:,}</td><td>{share(v, n)}</td>"
            f"<td>{format_yuan(int(aum[i]))}</td><td>{share(int(aum[i]), total)}</td></tr>"
            for i, (t, v) in enumerate(c["tier"].items())
        )
        st = ", ".join(f"{k}: {v:,}" for k, v in c["status"].items())
        mv = ", ".join(f"{k}: {v:,}" for k, v in c["movement"].items())
        return (
            f"<div><b>TierResult</b> as of {self.as_of}, policy "
            f"{html.escape(self.policy.name)}, {len(self):,} customers"
            "<table><tr><th>tier</th><th>customers</th><th>share</th><th>AUM (yuan)</th>"
            f"<th>AUM share</th></tr>{rows}</table>"
            f"<p>status — {html.escape(st)}<br>movement — {html.escape(mv)}<br>"
            f"events — {len(self.events):,}</p></div>"
        )


# --------------------------------------------------------------------------- over time
