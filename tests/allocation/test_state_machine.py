"""Stateful tests: random sequences of valid and invalid book operations.

A plain-Python model replays every successful operation as a timeline of
snapshots per customer; after every step the book must agree with the model
as of every recorded date (and the day before), satisfy the allocation
invariants, and failed operations must leave the book exactly as it was.

Every operation also runs on a reference book that rewrites its columns on
every edit (compaction thresholds 0, the behaviour before change logs) while
the book under test keeps a change log with small random thresholds (so it
compacts often, at random points).  Both must accept and refuse the same
operations with the same errors, and the compacted columns, the documents
and every query must be identical.  Books left behind must never change as
later books append to the log they share, and the machine sometimes goes
back to one of them and carries on from there (a fork of the log).
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
from decimal import Decimal
from fractions import Fraction
from typing import Any

import hypothesis.strategies as st
import numpy as np
from _book_testing import columns, compaction, fingerprint, storage
from hypothesis import HealthCheck, event, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from custvalue.allocation import (
    AllocationBook,
    AllocationError,
    BatchAllocationError,
    UnknownCustomerError,
    attribute,
)
from custvalue.allocation._reference import reference_attribution

MANAGERS = {"M1": "B1", "M2": "B1", "M3": "B1", "M4": "B2", "M5": "B2"}
BRANCHES = ["B1", "B2", "B3"]
CUSTOMERS = [f"C{i}" for i in range(8)]
TIERS = ["core", "growth", "platinum", "gold", "potential"]
ELIGIBLE = set(TIERS[:4])
BASE = dt.date(2026, 1, 1)
#: Offsets from the machine's clock (the latest effective date so far); negative
#: offsets produce back-dated operations.
STEP = st.integers(-3, 6)

Snapshot = tuple[int, str, str | None, dict[str, int]]  # day, branch, primary, shares


def spell(bp: int, how: int) -> Any:
    """Write a basis-point share in one of the accepted exact spellings."""
    if how == 0:
        return bp
    if how == 1:
        return f"{bp / 100:.2f}%" if bp % 1 == 0 else bp
    if how == 2:
        return Fraction(bp, 10000)
    return Decimal(bp) / Decimal(10000)


@st.composite
def share_specs(draw: st.DrawFn, hint: str | None = None) -> tuple[str, dict[str, Any], dict[str, int]]:
    """(primary, shares as passed, shares in bp); sometimes invalid.

    Mostly managers of branch ``hint`` (the customer's branch) so that many
    operations are valid; sometimes any managers (often cross-branch).
    """
    if hint not in ("B1", "B2") or draw(st.integers(0, 4)) == 0:
        hint = draw(st.sampled_from(["B1", "B2", None]))
    pool = sorted(m for m, b in MANAGERS.items() if hint is None or b == hint)
    mgrs = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
    if draw(st.integers(0, 3)) > 0 or len(mgrs) == 1:
        cuts = sorted(
            draw(
                st.lists(
                    st.integers(1, 9999),
                    min_size=len(mgrs) - 1,
                    max_size=len(mgrs) - 1,
                    unique=True,
                )
            )
        )
        edges = [0, *cuts, 10000]
        bps = [b - a for a, b in itertools.pairwise(edges)]
    else:  # arbitrary, usually not summing to 10000, may contain 0 or negatives
        bps = draw(st.lists(st.integers(-10, 10000), min_size=len(mgrs), max_size=len(mgrs)))
    if draw(st.integers(0, 9)) == 0:
        primary = draw(st.sampled_from(sorted(MANAGERS)))
    else:
        primary = mgrs[0]
    how = draw(st.integers(0, 3))
    passed = {m: spell(bp, how) if bp > 0 else bp for m, bp in zip(mgrs, bps, strict=True)}
    return primary, passed, dict(zip(mgrs, bps, strict=True))


def spec_valid(primary: str, bps: dict[str, int]) -> bool:
    return all(b > 0 for b in bps.values()) and sum(bps.values()) == 10000 and primary in bps


class BookMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.book = AllocationBook.empty(MANAGERS, branches=BRANCHES)
        #: the same operations, columns rewritten on every edit
        self.ref = AllocationBook.empty(MANAGERS, branches=BRANCHES)
        self.thresholds = (1024, 0.125)
        self.timeline: dict[str, list[Snapshot]] = {}
        self.n_audit = 0
        self.clock = 0
        #: books left behind: (book, its reference's columns, its query answers, model state)
        self.kept: list[tuple[AllocationBook, Any, Any, Any]] = []

    def run(self, op: Any) -> Any:
        """``op`` on the book under test (its thresholds) and on the reference (thresholds 0)."""
        results = []
        for book, limits in ((self.book, self.thresholds), (self.ref, (0, 0.0))):
            with compaction(*limits):
                try:
                    results.append(op(book))
                except AllocationError as exc:
                    results.append(exc)
        got, want = results
        if isinstance(want, AllocationError):
            assert type(got) is type(want) and str(got) == str(want), (got, want)
            if isinstance(want, BatchAllocationError):
                assert isinstance(got, BatchAllocationError) and got.errors == want.errors
            raise got
        assert not isinstance(got, AllocationError), got
        self.ref = want[0]
        return got

    def keep(self) -> None:
        """Remember the current book (after every step) to check later that it never changes."""
        if self.kept and self.kept[-1][0] is self.book:
            return
        changes = sorted({s[0] for snaps in self.timeline.values() for s in snaps})[-3:]
        days = sorted({d + k for d in changes for k in (-1, 0)})
        state = (copy.deepcopy(self.timeline), self.n_audit, self.clock, self.ref)
        self.kept.append((self.book, columns(self.ref), fingerprint(self.book, days), state))
        del self.kept[:-5]

    def day(self, offset: int) -> dt.date:
        return BASE + dt.timedelta(days=max(self.clock + offset, 0))

    # ----------------------------------------------------------------- model helpers

    def current(self, c: str) -> Snapshot:
        return self.timeline[c][-1]

    def model_as_of(self, c: str, day: int) -> Snapshot | None:
        snap = None
        for s in self.timeline[c]:
            if s[0] <= day:
                snap = s
        return snap

    def customer_ok(self, c: str, day: int) -> bool:
        return c in self.timeline and day >= self.current(c)[0]

    def attempt(self, valid: bool, op: Any, kind: str = "op") -> None:
        event(f"{kind} {'valid' if valid else 'invalid'}")
        before = self.book.to_dict()
        stored = storage(self.book)
        try:
            book, entry = self.run(op)
        except AllocationError as exc:
            assert not valid, f"valid operation rejected: {exc!r}"
            assert self.book.to_dict() == before
            assert storage(self.book) == stored  # nothing appended to the shared logs
            return
        assert valid, "invalid operation accepted"
        self.clock = max(self.clock, entry.effective.toordinal() - BASE.toordinal())
        assert entry is book.audit[-1]
        assert entry.seq == len(self.book.audit)
        self.book = book
        self.n_audit += 1

    # ----------------------------------------------------------------- rules

    @initialize(
        ids=st.lists(st.sampled_from(CUSTOMERS), min_size=3, max_size=6, unique=True),
        branch=st.sampled_from(BRANCHES[:2]),
        thresholds=st.sampled_from(
            [(0, 0.0), (1, 0.0), (2, 0.0), (3, 0.0), (5, 0.0), (1, 0.5), (1024, 0.125)]
        ),
    )
    def seed(self, ids: list[str], branch: str, thresholds: tuple[int, float]) -> None:
        self.thresholds = thresholds
        event(f"thresholds {thresholds}")
        self.book, _ = self.run(lambda b: b.add_customers(ids, branch, effective=BASE, operator="sys"))
        for c in ids:
            self.timeline[c] = [(BASE.toordinal(), branch, None, {})]
        self.n_audit = 1

    @rule(
        ids=st.lists(st.sampled_from(CUSTOMERS), min_size=1, max_size=3),
        branch=st.sampled_from([*BRANCHES, "B9"]),
        days=STEP,
    )
    def add_customers(self, ids: list[str], branch: str, days: int) -> None:
        day = self.day(days)
        valid = len(set(ids)) == len(ids) and not any(c in self.timeline for c in ids) and branch in BRANCHES
        self.attempt(
            valid,
            lambda b: b.add_customers(ids, branch, effective=day, operator="sys"),
        )
        if valid:
            for c in ids:
                self.timeline[c] = [(day.toordinal(), branch, None, {})]

    def _alloc_valid(
        self,
        c: str,
        primary: str,
        bps: dict[str, int],
        tier: str,
        day: int,
        *,
        want_allocated: bool,
    ) -> bool:
        if not spec_valid(primary, bps) or not self.customer_ok(c, day):
            return False
        _, branch, cur_primary, _ = self.current(c)
        if (cur_primary is not None) != want_allocated:
            return False
        return tier in ELIGIBLE and all(MANAGERS[m] == branch for m in bps)

    def _record(
        self, c: str, day: int, primary: str | None, bps: dict[str, int], branch: str | None = None
    ) -> None:
        _, cur_branch, _, _ = self.current(c)
        self.timeline[c].append((day, branch or cur_branch, primary, dict(bps)))

    def pick(self, data: st.DataObject) -> str:
        return data.draw(st.sampled_from([*sorted(self.timeline), "X"]))

    def spec_for(self, data: st.DataObject, c: str) -> tuple[str, dict[str, Any], dict[str, int]]:
        hint = self.current(c)[1] if c in self.timeline else None
        return data.draw(share_specs(hint))

    @rule(data=st.data(), tier=st.sampled_from(TIERS), days=STEP)
    def allocate(self, data: st.DataObject, tier: str, days: int) -> None:
        c = self.pick(data)
        primary, passed, bps = self.spec_for(data, c)
        day = self.day(days)
        valid = self._alloc_valid(c, primary, bps, tier, day.toordinal(), want_allocated=False)
        self.attempt(
            valid,
            lambda b: b.allocate(c, primary, passed, tier=tier, effective=day, operator="BM"),
            kind="allocate",
        )
        if valid:
            self._record(c, day.toordinal(), primary, bps)

    @rule(data=st.data(), tier=st.sampled_from(TIERS), days=STEP)
    def batch_allocate(self, data: st.DataObject, tier: str, days: int) -> None:
        ids = data.draw(st.lists(st.sampled_from([*sorted(self.timeline), "X"]), min_size=1, max_size=4))
        primary, passed, bps = self.spec_for(data, ids[0])
        day = self.day(days)
        valid = len(set(ids)) == len(ids) and all(
            self._alloc_valid(c, primary, bps, tier, day.toordinal(), want_allocated=False) for c in ids
        )
        event("valid batch" if valid else "invalid batch")
        before = self.book.to_dict()
        stored = storage(self.book)
        try:
            book, _ = self.run(
                lambda b: b.batch_allocate(
                    ids, primary, passed, tiers=[tier] * len(ids), effective=day, operator="BM"
                )
            )
        except BatchAllocationError as exc:
            assert not valid
            assert exc.errors and all(cid in ids for cid, _ in exc.errors)
            assert self.book.to_dict() == before
            assert storage(self.book) == stored
            return
        except AllocationError:
            assert not valid and not spec_valid(primary, bps)
            assert self.book.to_dict() == before
            assert storage(self.book) == stored
            return
        assert valid, "valid batch rejected"
        self.book = book
        self.n_audit += 1
        self.clock = max(self.clock, day.toordinal() - BASE.toordinal())
        for c in ids:
            self._record(c, day.toordinal(), primary, bps)

    @precondition(lambda self: bool(self.kept))
    @rule(data=st.data())
    def go_back(self, data: st.DataObject) -> None:
        """Carry on from a book left behind (its later books keep their own entries)."""
        book, _, _, state = data.draw(st.sampled_from(self.kept))
        event("go back" + (" (same book)" if book is self.book else ""))
        timeline, self.n_audit, self.clock, self.ref = state
        self.timeline = copy.deepcopy(timeline)
        self.book = book

    @rule(data=st.data(), keep_shares=st.booleans(), tier=st.sampled_from(TIERS), days=STEP)
    def adjust(self, data: st.DataObject, keep_shares: bool, tier: str, days: int) -> None:
        c = self.pick(data)
        primary, passed, bps = self.spec_for(data, c)
        day = self.day(days)
        if keep_shares and c in self.timeline and self.current(c)[2] is not None:
            bps = dict(self.current(c)[3])
            passed_arg = None
        else:
            passed_arg = passed
        valid = self._alloc_valid(c, primary, bps, tier, day.toordinal(), want_allocated=True)
        if valid and (primary, bps) == (self.current(c)[2], self.current(c)[3]):
            valid = False  # no change
        self.attempt(
            valid,
            lambda b: b.adjust(
                c,
                primary=primary,
                shares=passed_arg,
                tier=tier,
                effective=day,
                operator="BM",
                reason="dispute",
            ),
            kind="adjust",
        )
        if valid:
            self._record(c, day.toordinal(), primary, bps)

    @rule(data=st.data(), single=st.booleans(), days=STEP)
    def recall(self, data: st.DataObject, single: bool, days: int) -> None:
        ids = data.draw(st.lists(st.sampled_from([*sorted(self.timeline), "X"]), min_size=1, max_size=3))
        day = self.day(days)
        valid = len(set(ids)) == len(ids) and all(
            self.customer_ok(c, day.toordinal()) and self.current(c)[2] is not None for c in ids
        )
        arg: Any = ids[0] if single and len(ids) == 1 else ids
        self.attempt(valid, lambda b: b.recall(arg, effective=day, operator="BM"), kind="recall")
        if valid:
            for c in ids:
                self._record(c, day.toordinal(), None, {})

    @rule(data=st.data(), branch=st.sampled_from([*BRANCHES, "B9"]), days=STEP)
    def transfer(self, data: st.DataObject, branch: str, days: int) -> None:
        c = self.pick(data)
        day = self.day(days)
        valid = branch in BRANCHES and self.customer_ok(c, day.toordinal()) and self.current(c)[1] != branch
        self.attempt(
            valid,
            lambda b: b.transfer(c, branch, effective=day, operator="HQ", reason="move"),
            kind="transfer",
        )
        if valid:
            self._record(c, day.toordinal(), None, {}, branch=branch)

    @rule(data=st.data(), days=STEP)
    def attribution_matches_reference(self, data: st.DataObject, days: int) -> None:
        day = self.day(days)
        ids = self.book.customer_ids.tolist()
        big = st.integers(-(2**63), 2**63 - 1)
        amounts = data.draw(
            st.lists(
                st.one_of(st.integers(-5, 5), st.integers(-(10**12), 10**12), big),
                min_size=len(ids),
                max_size=len(ids),
            )
        )
        state: dict[str, tuple[str, dict[str, int], str | None]] = {}
        for c in ids:
            snap = self.model_as_of(c, day.toordinal())
            if snap is None:
                amounts[ids.index(c)] = 0
                continue
            state[c] = (snap[1], snap[3], snap[2])
        amap = dict(zip(ids, amounts, strict=True))
        parts, mtot, btot = reference_attribution(state, MANAGERS, amap)
        # the result also reports each branch's unallocated subtotal as int64
        unalloc: dict[str, int] = {}
        for c, (branch, shares, _primary) in state.items():
            if not shares:
                unalloc[branch] = unalloc.get(branch, 0) + amap[c]
        fits = all(-(2**63) <= v < 2**63 for v in [*mtot.values(), *btot.values(), *unalloc.values()])
        try:
            res = attribute(self.book, np.array(amounts, dtype=np.int64), day)
        except AllocationError as exc:
            assert not fits, exc
            return
        assert fits
        assert res.parts() == parts
        assert res.by_manager() == mtot
        assert {b: v for b, v in res.by_branch().items() if b in btot} == btot
        got_unalloc = dict(zip(res.branch_ids.tolist(), res.branch_unallocated.tolist(), strict=True))
        assert {b: got_unalloc[b] for b in unalloc} == unalloc
        assert res.total == sum(amap.values())

    @rule()
    def round_trip(self) -> None:
        doc = json.loads(json.dumps(self.book.to_dict()))
        again = AllocationBook.from_dict(doc)
        assert again.to_dict() == self.book.to_dict()
        for c in self.timeline:
            assert again.history(c)[-1].to_dict() == self.book.history(c)[-1].to_dict()

    # ----------------------------------------------------------------- invariants

    @invariant()
    def agrees_with_model(self) -> None:
        book = self.book
        assert len(book.audit) == self.n_audit
        ids = book.customer_ids.tolist()
        assert sorted(ids) == sorted(self.timeline), "customer lost or duplicated"
        assert len(set(ids)) == len(ids)
        days = sorted({s[0] for snaps in self.timeline.values() for s in snaps})
        check_days = sorted({d + k for d in days for k in (-1, 0)})
        for day_ord in check_days:
            day = dt.date.fromordinal(day_ord)
            pools: dict[str, list[str]] = {b: [] for b in BRANCHES}
            per_manager: dict[str, dict[str, int]] = {m: {} for m in MANAGERS}
            present = dict(zip(ids, book.in_book(day).tolist(), strict=True))
            for c in self.timeline:
                snap = self.model_as_of(c, day_ord)
                assert present[c] == (snap is not None), f"in_book of {c} on {day}"
                if snap is None:
                    try:
                        book.shares_of(c, day)
                    except UnknownCustomerError:
                        continue
                    raise AssertionError(f"{c} should not exist on {day}")
                got = book.shares_of(c, day)
                _, branch, primary, shares = snap
                assert got.branch_id == branch
                assert got.primary == primary
                assert got.as_dict() == shares
                if primary is None:
                    pools[branch].append(c)
                    continue
                # item-1 invariants
                assert sum(bp for _, bp in got.shares) == 10000
                assert all(bp > 0 for _, bp in got.shares)
                assert got.shares[0][0] == primary
                assert len({m for m, _ in got.shares}) == len(got.shares)
                assert all(MANAGERS[m] == branch for m, _ in got.shares)
                for m, bp in shares.items():
                    per_manager[m][c] = bp
            for b in BRANCHES:
                assert book.unallocated(b, day).tolist() == sorted(pools[b])
            for m in MANAGERS:
                mc = book.customers_of(m, day)
                assert (
                    dict(zip(mc.customer_ids.tolist(), mc.shares_bp.tolist(), strict=True)) == per_manager[m]
                )
                assert mc.total_bp == sum(per_manager[m].values())

    @invariant()
    def remember(self) -> None:
        self.keep()

    @invariant()
    def same_as_rewriting_every_time(self) -> None:
        assert columns(self.book) == columns(self.ref)
        assert self.book.to_dict() == self.ref.to_dict()

    @invariant()
    def books_left_behind_never_change(self) -> None:
        for book, ref_columns, answers, _ in self.kept:
            assert columns(book) == ref_columns
            assert fingerprint(book, list(answers["days"])) == answers

    @invariant()
    def history_matches_audit(self) -> None:
        for c in self.timeline:
            hist = self.book.history(c)
            assert hist[0].operation == "add_customers"
            assert all(c in e.customer_ids.tolist() for e in hist)
            assert [e.seq for e in hist] == sorted(e.seq for e in hist)


BookMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TestBookMachine = BookMachine.TestCase
