"""Books with change logs behave exactly like books that rewrite their columns on every edit.

The reference of every check is the same operations applied with the
compaction thresholds at 0 (every edit rewrites the columns: the behaviour
before change logs).  The book under test keeps a change log with random
small thresholds, so it compacts at random points, and sometimes carries on
from an older book (a fork of the shared log).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
from _book_testing import arrays, columns, compaction, fingerprint, replay, storage
from hypothesis import HealthCheck, event, given, settings

from custvalue.allocation import AllocationBook, AllocationError, NotAllocatedError, _delta, attribute

D0 = dt.date(2026, 1, 1)
MANAGERS = {"M1": "B1", "M2": "B1", "M3": "B1", "M4": "B2", "M5": "B2"}
BY_BRANCH = {"B1": ["M1", "M2", "M3"], "B2": ["M4", "M5"], "B3": []}


def small_book(n: int) -> AllocationBook:
    book = AllocationBook.empty(MANAGERS, branches=["B1", "B2", "B3"])
    ids = [f"C{i}" for i in range(n)]
    branches = ["B1" if i % 3 else "B2" for i in range(n)]
    book, _ = book.add_customers(ids, branches, effective=D0, operator="sys")
    return book


def day(k: int) -> dt.date:
    return D0 + dt.timedelta(days=k)


# --------------------------------------------------------------------------- differential


@st.composite
def edit(draw: st.DrawFn, ref: AllocationBook, clock: int) -> tuple[str, Any]:
    """One edit, valid for ``ref`` most of the time: (description, function of a book)."""
    ids = ref.customer_ids.tolist()
    k = clock + draw(st.sampled_from([0, 0, 1, 2, 5, -1]))
    when = day(max(k, 0))
    if draw(st.integers(0, 9)) == 0:  # a batch
        group = draw(st.lists(st.sampled_from(ids), min_size=1, max_size=5, unique=True))
        kind = draw(st.sampled_from(["batch_allocate", "recall", "transfer"]))
        if kind == "recall":
            return kind, lambda b: b.recall(group, effective=when, operator="o")
        if kind == "transfer":
            to = draw(st.sampled_from(["B1", "B2", "B3"]))
            return kind, lambda b: b.transfer(group, to, effective=when, operator="o")
        branch = ref.branch_of(group[0], when) if clock >= 0 else "B1"
        mgrs = BY_BRANCH[branch] or ["M1"]
        return kind, lambda b: b.batch_allocate(
            group,
            mgrs[0],
            {m: 10000 // len(mgrs) + (10000 % len(mgrs) if i == 0 else 0) for i, m in enumerate(mgrs)},
            tiers="gold",
            effective=when,
            operator="o",
        )
    c = draw(st.sampled_from(ids))
    try:
        cur = ref.shares_of(c, day(max(clock, 0)))
    except AllocationError:
        cur = None
    branch = cur.branch_id if cur is not None else "B1"
    pool = BY_BRANCH[branch] or ["M4"]
    mgrs = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=len(pool), unique=True))
    cuts = sorted(
        draw(st.lists(st.integers(1, 9999), min_size=len(mgrs) - 1, max_size=len(mgrs) - 1, unique=True))
    )
    shares = {m: b - a for m, a, b in zip(mgrs, [0, *cuts], [*cuts, 10000], strict=True)}
    allocated = cur is not None and cur.is_allocated
    choice = draw(st.integers(0, 9))
    if choice == 0:
        to = draw(st.sampled_from(["B1", "B2", "B3"]))
        return "transfer", lambda b: b.transfer(c, to, effective=when, operator="o")
    if allocated and choice <= 3:
        return "recall", lambda b: b.recall(c, effective=when, operator="o")
    if allocated or choice == 9:
        return "adjust", lambda b: b.adjust(
            c, primary=mgrs[0], shares=shares, tier="gold", effective=when, operator="o", reason="r"
        )
    return "allocate", lambda b: b.allocate(c, mgrs[0], shares, tier="gold", effective=when, operator="o")


def apply(book: AllocationBook, op: Any, limits: tuple[int, float]) -> tuple[Any, Any]:
    with compaction(*limits):
        try:
            return op(book), None
        except AllocationError as exc:
            return None, exc


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    data=st.data(),
    n=st.integers(1, 9),
    limits=st.sampled_from([(1, 0.0), (2, 0.0), (3, 0.0), (7, 0.0), (1, 0.3), (1024, 0.125)]),
)
def test_edit_sequences_equal_rewriting_every_time(
    data: st.DataObject, n: int, limits: tuple[int, float]
) -> None:
    start = small_book(n)
    # (book under test, reference, clock), every one kept to check and to go back to
    line = [(start, replay(start), 0)]
    answers = [fingerprint(start, [D0.toordinal()])]
    book, ref, clock = line[0]
    changed = {D0.toordinal()}
    for _ in range(data.draw(st.integers(1, 25))):
        if len(line) > 1 and data.draw(st.integers(0, 7)) == 0:
            book, ref, clock = line[data.draw(st.integers(0, len(line) - 1))]  # carry on from an older book
            event("went back")
        kind, op = data.draw(edit(ref, clock))
        stored = storage(book)
        got, err = apply(book, op, limits)
        want, want_err = apply(ref, op, (0, 0.0))
        event(f"{kind} {'refused' if want_err else 'done'}")
        if want_err is not None:
            assert type(err) is type(want_err) and str(err) == str(want_err), (kind, err, want_err)
            assert storage(book) == stored  # a failed operation appends nothing
            continue
        assert err is None, (kind, err)
        if got[0]._delta is None:
            event("columns rewritten")
        elif got[0]._delta is not book._delta:
            event("new log (compacted, or a fork)")
        else:
            event("appended to the log")
        book, ref = got[0], want[0]
        clock = max(clock, got[1].effective.toordinal() - D0.toordinal())
        assert got[1].to_dict() == want[1].to_dict()
        line.append((book, ref, clock))
        changed.add(got[1].effective.toordinal())
        days = sorted({d + k for d in sorted(changed)[-3:] for k in (-1, 0)})
        answers.append(fingerprint(book, days))
        assert answers[-1] == fingerprint(ref, days)
    for (b, r, _), seen in zip(line, answers, strict=True):
        # every book of the line, after all the later appends: unchanged and equal to its reference
        assert fingerprint(b, list(seen["days"])) == seen
        assert columns(b) == columns(r)
        assert b.to_dict() == r.to_dict()
        for d in seen["days"][::3]:
            as_of = dt.date.fromordinal(d)
            for m in MANAGERS:
                got_m, want_m = b.customers_of(m, as_of), r.customers_of(m, as_of)
                assert got_m.customer_ids.tolist() == want_m.customer_ids.tolist()
                assert got_m.shares_bp.tolist() == want_m.shares_bp.tolist()
                assert got_m.is_primary.tolist() == want_m.is_primary.tolist()
            for br in BY_BRANCH:
                assert b.unallocated(br, as_of).tolist() == r.unallocated(br, as_of).tolist()
            amounts = np.arange(1, n + 1, dtype=np.int64) * 1001
            present = [c for c in b.customer_ids.tolist() if seen[f"{c} {d}"] is not None]
            mask = np.isin(b.customer_ids, present)
            ga, wa = attribute(b, amounts * mask, as_of), attribute(r, amounts * mask, as_of)
            assert ga.part_customer.tolist() == wa.part_customer.tolist()
            assert ga.part_manager.tolist() == wa.part_manager.tolist()
            assert ga.part_amount.tolist() == wa.part_amount.tolist()
            assert ga.by_branch() == wa.by_branch()
    assert replay(book).to_dict() == book.to_dict()


# --------------------------------------------------------------------------- cost model


def allocated_book(n: int = 50) -> AllocationBook:
    book = small_book(n)
    ids = [c for c in book.customer_ids.tolist() if book.branch_of(c, D0) == "B1"]
    book, _ = book.batch_allocate(
        ids, "M1", {"M1": 6000, "M2": 4000}, tiers="gold", effective=D0, operator="o"
    )
    return book


def test_a_single_edit_copies_nothing() -> None:
    base = _delta.compact(allocated_book())
    b1, _ = base.adjust(
        "C1", shares={"M1": 5000, "M2": 5000}, tier="gold", effective=day(1), operator="o", reason="r"
    )
    b2, _ = b1.recall("C2", effective=day(1), operator="o")
    b3, _ = b2.transfer("C4", "B2", effective=day(2), operator="o")
    for b in (b1, b2, b3):
        for name in ("customer_ids", "_cust_last", "_cust_allocated", "_as_cust", "_as_end", "_sp_end"):
            assert getattr(b, name) is getattr(base, name)  # shared, not copied
    assert b1._delta is b2._delta is b3._delta
    assert (b1._n_delta, b2._n_delta, b3._n_delta) == (1, 2, 3)
    assert b3._log is base._log and len(b3.audit) == len(base.audit) + 3
    assert b1._delta is not None and b1._delta.weight == 1 + 2 + 1 + 1
    assert b3.shares_of("C1", day(1)).as_dict() == {"M1": 5000, "M2": 5000}
    assert not b3.shares_of("C2", day(1)).is_allocated
    assert b3.branch_of("C4", day(1)) == "B1" and b3.branch_of("C4", day(2)) == "B2"
    assert columns(b3) == columns(replay(b3))


def test_the_log_is_compacted_at_its_limit() -> None:
    book = _delta.compact(allocated_book())
    weights = []
    with compaction(7):  # an adjustment to two managers weighs 3
        for k in range(5):
            shares = {"M1": 5000 + k, "M2": 5000 - k}
            book, _ = book.adjust(
                "C1", shares=shares, tier="gold", effective=day(k + 1), operator="o", reason="r"
            )
            assert book._delta is not None
            weights.append(book._delta.weight)
    assert weights == [3, 6, 3, 6, 3]  # the third edit found the log full: compacted, new log
    assert columns(book) == columns(replay(book))
    with compaction(2):  # the change itself is over the limit: the columns are rewritten
        book2, _ = book.adjust(
            "C1", shares={"M1": 1, "M2": 9999}, tier="gold", effective=day(9), operator="o", reason="r"
        )
    assert book2._delta is None
    assert columns(book2) == columns(replay(book2))


def test_default_limit_is_a_fraction_of_the_book() -> None:
    book = allocated_book(50)
    assert _delta.limit(book) == 1024
    with compaction(0, 0.5):
        assert _delta.limit(book) == (book.customer_ids.size + book._as_cust.size) // 2


def test_whole_column_queries_compact_once_and_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    book, _ = allocated_book().recall("C1", effective=day(1), operator="o")
    calls = []
    real = _delta._compact

    def counting(b: Any) -> Any:
        calls.append(b)
        return real(b)

    monkeypatch.setattr(_delta, "_compact", counting)
    for _ in range(3):
        book.customers_of("M1", day(1))
        book.unallocated("B1", day(1))
        attribute(book, np.ones(len(book), np.int64), day(1))
    assert len(calls) == 1
    assert _delta.compact(book) is _delta.compact(book)
    book.shares_of("C2", day(1))  # per-customer queries never compact
    book2, _ = book.recall("C2", effective=day(1), operator="o")
    book2.shares_of("C1", day(1))
    book2.branch_of("C1", day(1))
    assert len(calls) == 1


def test_compacting_concurrently_gives_one_answer() -> None:
    book, _ = allocated_book().recall("C1", effective=day(1), operator="o")
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(_delta.compact(book))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r is results[0] for r in results)


def test_threads_editing_and_querying_one_line_of_books() -> None:
    """Threads carry on from the same books at once: each one's line equals its sequential replay."""
    base = allocated_book(60)
    ids = [c for c in base.customer_ids.tolist() if base.branch_of(c, D0) == "B1"]
    out: dict[int, AllocationBook] = {}
    failures: list[BaseException] = []

    def work(t: int) -> None:
        try:
            b = base
            for k, c in enumerate(ids[t::4]):
                b, _ = b.adjust(
                    c,
                    shares={"M1": 5000, "M3": 5000},
                    tier="gold",
                    effective=day(k + 1),
                    operator=f"t{t}",
                    reason="r",
                )
                assert b.shares_of(c, day(k + 1)).as_dict() == {"M1": 5000, "M3": 5000}
                b.customers_of("M3", day(k + 1))
            out[t] = b
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    with compaction(5):
        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    assert not failures
    for b in out.values():
        assert columns(b) == columns(replay(b))
    assert columns(base) == columns(replay(base))


# --------------------------------------------------------------------------- immutability and atomicity


def test_every_reachable_array_is_read_only() -> None:
    book, _ = allocated_book().recall("C1", effective=day(1), operator="o")
    book, _ = book.transfer("C2", "B2", effective=day(1), operator="o")
    mc = book.customers_of("M1", day(1))
    res = attribute(book, np.ones(len(book), np.int64), day(1))
    reachable = [
        *arrays(book),
        *arrays(_delta.compact(book)),
        mc.customer_ids,
        mc.shares_bp,
        mc.is_primary,
        book.unallocated("B1", day(1)),
        res.part_amount,
        res.part_customer,
        *(e.customer_ids for e in book.audit),
    ]
    for arr in reachable:
        assert not arr.flags.writeable
        with pytest.raises(ValueError):
            arr.setflags(write=True)


def test_old_books_never_change_and_a_fork_has_its_own_future() -> None:
    b0 = allocated_book()
    b1, _ = b0.adjust(
        "C1", shares={"M1": 5000, "M2": 5000}, tier="gold", effective=day(1), operator="o", reason="r"
    )
    days = [day(k).toordinal() for k in range(-1, 4)]
    seen0, seen1 = fingerprint(b0, days), fingerprint(b1, days)
    b2, _ = b1.recall("C1", effective=day(2), operator="o")
    fork, _ = b1.transfer("C1", "B2", effective=day(3), operator="o")  # b1 is no longer the newest
    assert fork._delta is not b2._delta
    assert fingerprint(b0, days) == seen0 and fingerprint(b1, days) == seen1
    assert not b2.shares_of("C1", day(3)).is_allocated and b2.branch_of("C1", day(3)) == "B1"
    assert fork.branch_of("C1", day(3)) == "B2" and fork.shares_of("C1", day(2)).as_dict() == {
        "M1": 5000,
        "M2": 5000,
    }
    assert [e.operation for e in b2.history("C1")][-1] == "recall"
    assert [e.operation for e in fork.history("C1")][-1] == "transfer"
    for b in (b0, b1, b2, fork):
        assert columns(b) == columns(replay(b))


def test_a_failed_operation_appends_nothing_and_the_book_stays_the_newest() -> None:
    book, _ = allocated_book().recall("C1", effective=day(2), operator="o")
    stored = storage(book)
    for bad in (
        lambda: book.recall("C1", effective=day(3), operator="o"),  # not allocated
        lambda: book.adjust("C2", shares={"M1": 1}, tier="gold", effective=day(3), operator="o", reason="r"),
        lambda: book.adjust(
            "C2", shares={"M4": 10000}, tier="gold", effective=day(3), operator="o", reason="r"
        ),
        lambda: book.recall(["C2", "C1"], effective=day(3), operator="o"),
        lambda: book.transfer("C2", "B1", effective=day(3), operator="o"),
        lambda: book.allocate("C1", "M1", tier="gold", effective=day(1), operator="o"),  # back-dated
    ):
        with pytest.raises(AllocationError):
            bad()
        assert storage(book) == stored
    with pytest.raises(NotAllocatedError):
        book.adjust("C1", shares={"M1": 10000}, tier="gold", effective=day(3), operator="o", reason="r")
    nxt, _ = book.recall("C2", effective=day(3), operator="o")
    assert nxt._delta is book._delta  # still appended in place


def test_large_batches_rewrite_the_columns_vectorised() -> None:
    n = 5000
    book = AllocationBook.empty({"M1": "B1", "M2": "B1"})
    ids = np.char.add("C", np.arange(n).astype(str))
    book, _ = book.add_customers(ids, "B1", effective=D0, operator="sys")
    book, _ = book.batch_allocate(ids, "M1", tiers="gold", effective=D0, operator="o")
    assert book._delta is None  # 5000 entries > 1024: rewritten
    small, _ = book.recall(ids[:10], effective=day(1), operator="o")
    assert small._delta is not None and small._delta.size == 10
    both, _ = small.batch_allocate(ids[:10], "M2", tiers="gold", effective=day(2), operator="o")
    assert both.customers_of("M2", day(2)).customer_ids.tolist() == sorted(ids[:10].tolist())
    assert columns(both) == columns(replay(both))


def test_books_and_ledgers_pickle_and_copy() -> None:
    import copy
    import pickle

    from custvalue.allocation import SalesLedger

    book, _ = allocated_book().recall("C1", effective=day(1), operator="o")
    _delta.compact(book)  # a filled cache is not copied
    for again in (pickle.loads(pickle.dumps(book)), copy.deepcopy(book), copy.copy(book)):
        assert again.to_dict() == book.to_dict() and columns(again) == columns(book)
        later, _ = again.recall("C2", effective=day(2), operator="o")
        assert not later.shares_of("C2", day(2)).is_allocated
        assert book.shares_of("C2", day(2)).is_allocated
    ledger = SalesLedger.create({"M1": "B1", "M2": "B1"}).register(
        "S1", customer_id="C", product="p", amount=10, date=D0, seller="M1", referrer="M2"
    )
    ledger = ledger.adjust("S1", {"M2": "100%"}, date=D0, operator="BM", reason="r")
    again_l = pickle.loads(pickle.dumps(ledger))
    assert again_l.to_dict() == ledger.to_dict() and again_l.credits_of("S1") == {"M2": 10}
    assert (
        again_l.register("S2", customer_id="C", product="p", amount=1, date=D0, seller="M1").sale("S2").amount
        == 1
    )
