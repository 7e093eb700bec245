"""The columns of a tier result and the data access every tiering module reads.

:class:`~custvalue.tiering.TierResult` adds conversions, files, explanations
and displays on top of :class:`ResultState`; the modules that implement those
(``_explain``, ``_files``) take a :class:`ResultState`, so they never import
the result class and the package has no import cycle.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from .._arrays import readonly
from .._optional import import_optional
from ..money import format_yuan_array
from ..months import Month
from ..policy import EVENT_TYPES, STATUSES, CompiledPolicy, Policy
from ..portfolio import Portfolio
from ._codes import MOVEMENTS

__all__ = ["EventTable", "ResultState", "StatusPart"]


@attrs.frozen(eq=False, repr=False)
class EventTable:
    """Events of an evaluation, columnar: one row per (customer, event).

    Attributes
    ----------
    customer_index : ndarray of int64
        Row of the customer in the evaluated portfolio.
    event_codes : ndarray of int8
        Index into :data:`custvalue.policy.EVENT_TYPES`.
    """

    customer_index: NDArray[np.int64]
    event_codes: NDArray[np.int8]
    policy: Policy
    #: Ids of the evaluated portfolio's customers (for :meth:`to_pandas`), when known.
    customer_ids: NDArray[np.str_] | None = None

    def __len__(self) -> int:
        return int(self.event_codes.shape[0])

    def to_pandas(self) -> Any:
        """One row per (customer, event): ``customer_id``, ``event`` and its ``actions`` (needs pandas).

        ``actions`` are the policy's action codes joined by ``;``.  Without
        customer ids (a table built by hand) the rows carry ``customer_index``.
        """
        pd = import_optional("pandas", extra="pandas")
        codes = np.asarray(self.event_codes, dtype=np.int64)
        joined = np.asarray([";".join(self.policy.actions(e)) for e in EVENT_TYPES] or [""])
        data: dict[str, Any] = {}
        if self.customer_ids is not None:
            data["customer_id"] = self.customer_ids[self.customer_index]
        else:
            data["customer_index"] = self.customer_index
        data["event"] = pd.Categorical.from_codes(codes, categories=list(EVENT_TYPES))
        data["actions"] = joined[codes] if codes.size else np.zeros(0, dtype=str)
        return pd.DataFrame(data)

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={v:,}" for k, v in self.counts().items() if v)
        return f"<EventTable: {len(self):,} events" + (f" ({counts})>" if counts else ">")

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{v:,}</td>"
            f"<td>{html.escape(', '.join(self.policy.actions(k)))}</td></tr>"
            for k, v in self.counts().items()
        )
        return (
            f"<div><b>EventTable</b>, {len(self):,} events"
            f"<table><tr><th>event</th><th>count</th><th>actions</th></tr>{rows}</table></div>"
        )

    def counts(self) -> dict[str, int]:
        """Number of events of each type."""
        c = np.bincount(self.event_codes, minlength=len(EVENT_TYPES))
        return {name: int(c[i]) for i, name in enumerate(EVENT_TYPES)}

    def names(self) -> NDArray[np.str_]:
        """Event type names, one per row."""
        return np.asarray(EVENT_TYPES)[self.event_codes]

    def actions(self, event: str) -> tuple[str, ...]:
        """The policy's action codes for an event type."""
        return self.policy.actions(event)

    def names_at(self, index: int) -> tuple[str, ...]:
        """Event names of the customer at row ``index`` of the evaluated portfolio."""
        lo, hi = np.searchsorted(self.customer_index, [index, index + 1])
        return tuple(EVENT_TYPES[int(e)] for e in self.event_codes[lo:hi])


#: A result's status codes, months below the floor and events, computed together.
StatusPart = tuple[NDArray[np.int8], NDArray[np.int16], EventTable]


@attrs.frozen(eq=False, repr=False)
class ResultState:
    """The columns of a tier result (see :class:`~custvalue.tiering.TierResult`) and their access."""

    compiled: CompiledPolicy
    portfolio: Portfolio
    as_of: Month
    customer_ids: NDArray[np.str_]
    tier_codes: NDArray[np.int8]
    _status: NDArray[np.int8] | Callable[[], StatusPart] = attrs.field(alias="status_codes")
    _below: NDArray[np.int16] | Callable[[], StatusPart] = attrs.field(alias="months_below")
    previous_tier_codes: NDArray[np.int8]
    movement_codes: NDArray[np.int8]
    churned_tier_codes: NDArray[np.int8]
    history_complete: NDArray[np.bool_]
    _reasons: NDArray[np.uint64] | Callable[[], NDArray[np.uint64]] = attrs.field(alias="reason_bits")
    _events: EventTable | Callable[[], StatusPart] = attrs.field(alias="events")

    def _walked(self) -> None:
        """Compute the deferred status part (status codes, months below, events) once."""
        got = self._status
        if callable(got):
            status, below, events = got()
            object.__setattr__(self, "_status", status)
            object.__setattr__(self, "_below", below)
            object.__setattr__(self, "_events", events)

    @property
    def status_codes(self) -> NDArray[np.int8]:
        """Status codes (see :data:`~custvalue.tiering.STATUSES`).

        An evaluation that shares its pass with reports that never read the
        status (the report set) computes the status part on first use, from
        the same portfolio and policy: identical to a full evaluation's.
        """
        self._walked()
        assert not callable(self._status)
        return self._status

    @property
    def months_below(self) -> NDArray[np.int16]:
        """Months in a row with AUM below the tier's floor, ending at the as-of month."""
        self._walked()
        assert not callable(self._below)
        return self._below

    @property
    def events(self) -> EventTable:
        """The events of the month (tier and status changes, churn)."""
        self._walked()
        assert not callable(self._events)
        return self._events

    @property
    def reason_bits(self) -> NDArray[np.uint64]:
        """Per customer, the bit set of the tier-table rules that decided its tier.

        A tier + status evaluation (``previous=False``) computes these on
        first use, from the same portfolio and compiled policy: identical to
        a full evaluation's, and computed once.
        """
        got = self._reasons
        if callable(got):
            got = got()
            object.__setattr__(self, "_reasons", got)
        return got

    # ------------------------------------------------------------- access
    @property
    def policy(self) -> Policy:
        """The evaluated policy."""
        return self.compiled.policy

    def __len__(self) -> int:
        return int(self.tier_codes.shape[0])

    def _names(self, codes: NDArray[Any], names: Sequence[str], none: str = "") -> NDArray[np.str_]:
        lut = np.asarray([*names, none])
        return lut[np.where(codes < 0, len(names), codes)]

    def tiers(self) -> NDArray[np.str_]:
        """Tier names."""
        return self._names(self.tier_codes, self.policy.tier_order)

    def statuses(self) -> NDArray[np.str_]:
        """Status names."""
        return self._names(self.status_codes, STATUSES)

    def movements(self) -> NDArray[np.str_]:
        """Movement names."""
        return self._names(self.movement_codes, MOVEMENTS)

    def previous_tiers(self) -> NDArray[np.str_]:
        """Previous tier names ('' where there was no previous month)."""
        return self._names(self.previous_tier_codes, self.policy.tier_order)

    def churned_tiers(self) -> NDArray[np.str_]:
        """Churned tier names ('' where none)."""
        return self._names(self.churned_tier_codes, self.policy.tier_order)

    def reasons(self, customer_id: str) -> tuple[str, ...]:
        """Ids of the rules that decided the tier of a customer (by id)."""
        return self.reasons_at(self.index_of(customer_id))

    def reasons_at(self, index: int) -> tuple[str, ...]:
        """Ids of the rules that decided the tier of the customer at row ``index``."""
        bits = int(self.reason_bits[index])
        return tuple(rid for r, rid in enumerate(self.compiled.rule_ids) if bits >> r & 1)

    def reason_strings(self) -> NDArray[np.str_]:
        """The ``reasons`` column: rule ids joined by ``;``, per customer.

        Vectorised over the distinct bit patterns (a handful), not customers.
        """
        uniq, inv = np.unique(self.reason_bits, return_inverse=True)
        texts = np.asarray(
            [
                ";".join(rid for r, rid in enumerate(self.compiled.rule_ids) if int(b) >> r & 1)
                for b in uniq.tolist()
            ]
            or [""]
        )
        return texts[inv.reshape(-1)] if uniq.size else np.zeros(0, dtype=str)

    def index_of(self, customer_id: str) -> int:
        """Row of a customer id."""
        return int(self.portfolio.index_of(customer_id)[0])

    def row(self, customer_id: str) -> dict[str, Any]:
        """One customer's result as a dict (the result-file columns, plus events), by id."""
        return self.row_at(self.index_of(customer_id))

    def row_at(self, index: int) -> dict[str, Any]:
        """The result of the customer at row ``index`` as a dict (see :meth:`row`)."""
        i = int(index)
        names = self.policy.tier_order
        return {
            "customer_id": str(self.customer_ids[i]),
            "as_of": str(self.as_of),
            "tier": names[self.tier_codes[i]] if self.tier_codes[i] >= 0 else None,
            "status": STATUSES[self.status_codes[i]],
            "months_below": int(self.months_below[i]),
            "previous_tier": names[self.previous_tier_codes[i]] if self.previous_tier_codes[i] >= 0 else None,
            "movement": MOVEMENTS[self.movement_codes[i]],
            "churned_tier": names[self.churned_tier_codes[i]] if self.churned_tier_codes[i] >= 0 else None,
            "history_complete": bool(self.history_complete[i]),
            "reasons": list(self.reasons_at(i)),
            "events": list(self.events.names_at(i)),
        }

    def counts(self) -> dict[str, dict[str, int]]:
        """Counts by tier, status, movement and churned tier."""

        def count(codes: NDArray[Any], names: Sequence[str]) -> dict[str, int]:
            c = np.bincount(codes[codes >= 0].astype(np.int64), minlength=len(names))
            return {nm: int(c[i]) for i, nm in enumerate(names)}

        return {
            "tier": count(self.tier_codes, self.policy.tier_order),
            "status": count(self.status_codes, STATUSES),
            "movement": count(self.movement_codes, MOVEMENTS),
            "churned": count(self.churned_tier_codes, self.policy.tier_order),
        }

    @property
    def aum_fen(self) -> NDArray[np.int64]:
        """AUM at the as-of month (fen): the policy's AUM classes summed (0 before a history start)."""
        p = self.portfolio
        a = p.months.index(self.as_of)
        total = np.zeros(p.n_customers, dtype=np.int64)
        for c in self.policy.aum:  # bounded cells: a customer's sum cannot overflow
            total += p.column(c)[:, a]
        return readonly(total)

    def columns(self) -> dict[str, NDArray[Any]]:
        """The result-file columns (SPEC section 7) as arrays of names and values.

        ``aum`` is yuan text with two decimals (exact); :attr:`aum_fen` has the
        integers.
        """
        n = len(self)
        return {
            "customer_id": self.customer_ids,
            "branch_id": self.portfolio.branch_ids,
            "as_of": np.full(n, str(self.as_of)),
            "aum": format_yuan_array(self.aum_fen),
            "tier": self.tiers(),
            "status": self.statuses(),
            "months_below": self.months_below,
            "previous_tier": self.previous_tiers(),
            "movement": self.movements(),
            "churned_tier": self.churned_tiers(),
            "history_complete": self.history_complete,
            "reasons": self.reason_strings(),
        }
