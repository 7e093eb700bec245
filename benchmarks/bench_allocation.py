"""Benchmark: single edits of a large allocation book in O(change), and columnar sales registration.

Builds a book of ``--n`` customers (default 1 million) in 50 branches with
10 managers each; customers of tier gold and above (60%) are allocated to
one to three managers of their branch with ``batch_allocate`` (a tenth of
them are left waiting in their branch's pool).  Then chains
``--edits`` single operations (default 10,000: 40% adjustments, 25%
allocations, 20% recalls, 15% transfers, valid by construction) on the
book and reports the median and total time per edit, the time of the one
compaction the first whole-column query then needs, and the amortised cost.

"Before" is the cost of the same edits when every edit rewrites the book's
columns (compaction thresholds 0: the behaviour before change logs), timed
on a sample of ``--before-sample`` edits and, during the check, on all of
the checked ones.  The check replays the first ``--check-edits`` edits
(default: all) that way and requires the book with the change log to be
identical: the same compacted columns, document (``to_dict``) and query
answers (``shares_of``, ``branch_of``, ``customers_of``, ``unallocated``,
attribution).  Checking all 10,000 edits on 1M customers takes minutes: it
*is* the old cost.

Sales: ``register_many`` of ``--sales`` sales (default 1 million, columns
as numpy arrays; best of 3), the first id lookup (which builds the id
index), 10,000 chained single ``register`` calls, a performance query, and a
check that a batch equals the same sales registered one by one.

Run::

    .venv/bin/python benchmarks/bench_allocation.py                    # full check (minutes)
    .venv/bin/python benchmarks/bench_allocation.py --check-edits 300  # quicker
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import resource
import statistics
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from custvalue.allocation import AllocationBook, SalesLedger, _delta, attribute

BRANCHES = 50
PER_BRANCH = 10
TIERS = np.array(["core", "growth", "platinum", "gold", "potential"])
TIER_P = [0.02, 0.08, 0.20, 0.30, 0.40]
#: (shares by manager offset within the branch, primary offset)
PATTERNS = (({0: 10000}, 0), ({0: 6000, 1: 4000}, 0), ({0: 5000, 1: 3000, 2: 2000}, 1))
START = dt.date(2026, 1, 1)
ALLOCATED_ON = dt.date(2026, 2, 1)

Edit = tuple[Any, ...]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextlib.contextmanager
def rewrite_every_edit() -> Iterator[None]:
    """Compaction thresholds 0: every edit rewrites the columns (the behaviour before change logs)."""
    old = (_delta._MIN_COMPACT, _delta._COMPACT_FRACTION)
    _delta._MIN_COMPACT, _delta._COMPACT_FRACTION = 0, 0.0
    try:
        yield
    finally:
        _delta._MIN_COMPACT, _delta._COMPACT_FRACTION = old


def manager(branch: int, k: int) -> str:
    return f"M{branch:02d}{k % PER_BRANCH}"


def build_book(n: int, rng: np.random.Generator) -> tuple[AllocationBook, dict[str, np.ndarray]]:
    managers = {manager(b, k): f"B{b:02d}" for b in range(BRANCHES) for k in range(PER_BRANCH)}
    book = AllocationBook.empty(managers)
    ids = np.char.add("C", np.char.zfill(np.arange(n).astype(str), 8))
    branch = rng.integers(0, BRANCHES, n)
    book, _ = book.add_customers(
        ids, np.char.add("B", np.char.zfill(branch.astype(str), 2)), effective=START, operator="core"
    )
    tier = rng.choice(len(TIERS), n, p=TIER_P)
    eligible = tier <= 3
    waiting = rng.random(n) < 0.1  # eligible customers still in their branch's pool
    pattern = np.where(eligible & ~waiting, rng.integers(0, len(PATTERNS), n), -1)
    team = rng.integers(0, PER_BRANCH, n)  # which managers of the branch
    group = (branch * len(PATTERNS) + np.maximum(pattern, 0)) * PER_BRANCH + team
    order = np.argsort(group, kind="stable")
    bounds = np.flatnonzero(np.diff(group[order])) + 1
    for rows in np.split(order, bounds):
        rows = rows[pattern[rows] >= 0]
        if rows.size == 0:
            continue
        c = rows[0]
        shares, primary = PATTERNS[pattern[c]]
        spec = {manager(branch[c], team[c] + k): bp for k, bp in shares.items()}
        book, _ = book.batch_allocate(
            ids[rows],
            manager(branch[c], team[c] + primary),
            spec,
            tiers=TIERS[tier[rows]],
            effective=ALLOCATED_ON,
            operator="bm",
        )
    book = _delta.compact(book)  # start the edits from plain columns
    state = {
        "ids": ids,
        "branch": branch,
        "eligible": eligible,
        "allocated": pattern >= 0,
        "pattern": pattern,
        "team": team,
    }
    return book, state


def make_edits(state: dict[str, np.ndarray], count: int, rng: np.random.Generator) -> list[Edit]:
    """``count`` single edits, valid by construction (a model of the customers' state)."""
    ids, branch, eligible = state["ids"], state["branch"].copy(), state["eligible"]
    allocated, pattern, team = state["allocated"].copy(), state["pattern"].copy(), state["team"]
    n = ids.size
    kinds = rng.choice(4, count, p=[0.40, 0.25, 0.20, 0.15])
    edits: list[Edit] = []
    for i, kind in enumerate(kinds.tolist()):
        day = ALLOCATED_ON + dt.timedelta(days=1 + i // 100)
        for _ in range(10_000):  # a customer the edit is valid for
            c = int(rng.integers(0, n))
            if (
                kind == 3
                or (kind == 1 and eligible[c] and not allocated[c])
                or (kind in (0, 2) and allocated[c])
            ):
                break
        else:
            kind, c = 3, int(rng.integers(0, n))  # none found: a transfer
        cid, b = str(ids[c]), int(branch[c])
        if kind in (0, 1):  # adjust or allocate: a pattern different from the current one
            p = (
                int((pattern[c] + 1 + rng.integers(0, 2)) % len(PATTERNS))
                if kind == 0
                else int(rng.integers(0, 3))
            )
            shares, primary = PATTERNS[p]
            spec = {manager(b, team[c] + k): bp for k, bp in shares.items()}
            edits.append(
                ("adjust" if kind == 0 else "allocate", cid, manager(b, team[c] + primary), spec, day)
            )
            allocated[c], pattern[c] = True, p
        elif kind == 2:
            edits.append(("recall", cid, day))
            allocated[c], pattern[c] = False, -1
        else:
            to = int((b + 1 + rng.integers(0, BRANCHES - 1)) % BRANCHES)
            edits.append(("transfer", cid, f"B{to:02d}", day))
            allocated[c], pattern[c], branch[c] = False, -1, to
    return edits


def apply(book: AllocationBook, e: Edit) -> AllocationBook:
    kind = e[0]
    if kind == "allocate":
        return book.allocate(e[1], e[2], e[3], tier="gold", effective=e[4], operator="bm").book
    if kind == "adjust":
        return book.adjust(
            e[1], primary=e[2], shares=e[3], tier="gold", effective=e[4], operator="bm", reason="dispute"
        ).book
    if kind == "recall":
        return book.recall(e[1], effective=e[2], operator="bm", reason="left").book
    return book.transfer(e[1], e[2], effective=e[3], operator="hq", reason="moved").book


COLUMNS = (
    "customer_ids",
    "branch_ids",
    "manager_ids",
    "manager_branch",
    "_sorter",
    "_cust_branch",
    "_cust_last",
    "_cust_allocated",
    "_sp_cust",
    "_sp_branch",
    "_sp_start",
    "_sp_end",
    "_as_cust",
    "_as_mgr",
    "_as_bp",
    "_as_primary",
    "_as_start",
    "_as_end",
)


def check_same(
    book: AllocationBook, ref: AllocationBook, edits: list[Edit], rng: np.random.Generator
) -> list[str]:
    """What differs between the book with a change log and the reference (nothing, hopefully)."""
    bad = []
    a, b = _delta.compact(book), _delta.compact(ref)
    for name in COLUMNS:
        x, y = getattr(a, name), getattr(b, name)
        if x.dtype != y.dtype or not np.array_equal(x, y):
            bad.append(f"column {name}")
    if book.to_dict() != ref.to_dict():
        bad.append("to_dict")
    last = max(e[-1] for e in edits)
    days = [ALLOCATED_ON, edits[len(edits) // 2][-1], last]
    touched = sorted({e[1] for e in edits})
    for c in touched:
        for d in days:
            if book.shares_of(c, d) != ref.shares_of(c, d) or book.branch_of(c, d) != ref.branch_of(c, d):
                bad.append(f"shares_of/branch_of {c} {d}")
    for c in rng.choice(touched, min(len(touched), 200), replace=False).tolist():  # history scans the log
        if [e.to_dict() for e in book.history(c)] != [e.to_dict() for e in ref.history(c)]:
            bad.append(f"history {c}")
        if len(bad) > 10:
            return bad
    for m in rng.choice(book.manager_ids, 25, replace=False).tolist():
        x, y = book.customers_of(m, last), ref.customers_of(m, last)
        if not (np.array_equal(x.customer_ids, y.customer_ids) and np.array_equal(x.shares_bp, y.shares_bp)):
            bad.append(f"customers_of {m}")
    for br in book.branch_ids[:5].tolist():
        if not np.array_equal(book.unallocated(br, last), ref.unallocated(br, last)):
            bad.append(f"unallocated {br}")
    amounts = rng.integers(-(10**9), 10**11, len(book), dtype=np.int64)
    x, y = attribute(book, amounts, last), attribute(ref, amounts, last)
    if not (np.array_equal(x.part_amount, y.part_amount) and np.array_equal(x.part_manager, y.part_manager)):
        bad.append("attribution parts")
    if x.by_branch() != y.by_branch():
        bad.append("attribution totals")
    return bad


def bench_book(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(args.seed)
    t = time.perf_counter()
    base, state = build_book(args.n, rng)
    print(
        f"book: {len(base):,} customers, {base._as_cust.size:,} assignment rows, "
        f"{base.manager_ids.size} managers; built in {time.perf_counter() - t:.1f} s"
    )
    edits = make_edits(state, args.edits, rng)
    mix = {k: sum(e[0] == k for e in edits) for k in ("adjust", "allocate", "recall", "transfer")}
    print(f"edits: {len(edits):,} ({', '.join(f'{v:,} {k}' for k, v in mix.items())})")

    times = []
    keep_at = {0: len(edits), -1: 0}.get(args.check_edits, min(args.check_edits, len(edits)))
    checkpoint = base
    book = base
    t0 = time.perf_counter()
    for i, e in enumerate(edits):
        t = time.perf_counter()
        book = apply(book, e)
        times.append(time.perf_counter() - t)
        if i + 1 == keep_at:
            checkpoint = book
    total = time.perf_counter() - t0
    t = time.perf_counter()
    _delta.compact(book)
    t_compact = time.perf_counter() - t
    t = time.perf_counter()
    book.customers_of(str(book.manager_ids[0]), edits[-1][-1])
    t_query = time.perf_counter() - t

    with rewrite_every_edit():
        before = []
        b = base
        for e in edits[: args.before_sample]:
            t = time.perf_counter()
            b = apply(b, e)
            before.append(time.perf_counter() - t)
    t_before = statistics.median(before)
    med = statistics.median(times)
    amortised = (total + t_compact) / len(edits)
    print()
    print(f"{'':34}{'per edit':>12}{f'{len(edits):,}-edit total':>18}")
    print(
        f"{'before: rewrite the columns':34}{t_before * 1e3:>9.2f} ms{t_before * len(edits):>14.1f} s"
        f"   (median of {len(before)})"
    )
    print(f"{'now: change log, median':34}{med * 1e3:>9.3f} ms{total:>14.2f} s")
    print(
        f"{'now: 90th percentile, max':34}{np.percentile(times, 90) * 1e3:>9.3f} ms"
        f"{max(times) * 1e3:>11.1f} ms max"
    )
    print(
        f"{'now: amortised with compaction':34}{amortised * 1e3:>9.3f} ms{total + t_compact:>14.2f} s"
        f"   (one compaction: {t_compact * 1e3:.0f} ms)"
    )
    print(
        f"speed-up per edit (median): {t_before / med:,.0f}x;  whole-column query after compaction: "
        f"{t_query * 1e3:.1f} ms;  change-log limit: {_delta.limit(base):,}"
    )

    if keep_at:
        print()
        print(
            f"check: replaying the first {keep_at:,} edits rewriting the columns every time ...", flush=True
        )
        t = time.perf_counter()
        with rewrite_every_edit():
            ref = base
            for e in edits[:keep_at]:
                ref = apply(ref, e)
        t_ref = time.perf_counter() - t
        print(f"  reference (before) took {t_ref:.1f} s = {t_ref / keep_at * 1e3:.2f} ms per edit (measured)")
        bad = check_same(checkpoint, ref, edits[:keep_at], rng)
        if bad:
            raise SystemExit(f"  MISMATCH: {bad[:10]}")
        print(
            f"  identical after {keep_at:,} edits: compacted columns, to_dict, shares_of/branch_of/history "
            "of every touched customer (history: 200 of them), customers_of, unallocated, attribution"
        )
    print(f"peak RSS {peak_rss_mb():,.0f} MiB")


def bench_sales(args: argparse.Namespace) -> None:
    n = args.sales
    rng = np.random.default_rng(args.seed + 7)
    managers = {manager(b, k): f"B{b:02d}" for b in range(BRANCHES) for k in range(PER_BRANCH)}
    mids = np.array(sorted(managers))
    cols = {
        "customer_ids": np.char.add("C", np.char.zfill(rng.integers(0, 10**6, n).astype(str), 8)),
        "products": np.array(["fund-A", "bond-B", "insurance-C", "deposit-3y"])[rng.integers(0, 4, n)],
        "amounts": rng.integers(100, 10**9, n, dtype=np.int64),
        "dates": np.datetime64("2026-01-01") + rng.integers(0, 365, n).astype("timedelta64[D]"),
        "sellers": mids[rng.integers(0, mids.size, n)],
        "referrers": np.where(rng.random(n) < 0.4, mids[rng.integers(0, mids.size, n)], ""),
    }
    sale_ids = np.char.add("S", np.char.zfill(np.arange(n).astype(str), 9))
    empty = SalesLedger.create(managers)
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        ledger = empty.register_many(sale_ids, **cols)  # type: ignore[arg-type]
        runs.append(time.perf_counter() - t)
    t = time.perf_counter()
    perf = ledger.performance("branch")
    t_perf = time.perf_counter() - t
    assert sum(perf.as_dict().values()) == int(cols["amounts"].sum())
    t = time.perf_counter()
    ledger.sale(str(sale_ids[n // 2]))
    t_index = time.perf_counter() - t
    singles = []
    one = ledger
    for i in range(10_000):
        t = time.perf_counter()
        one = one.register(
            f"X{i}",
            customer_id="C1",
            product="fund-A",
            amount=1000 + i,
            date=dt.date(2026, 6, 1),
            seller=str(mids[i % mids.size]),
            referrer=str(mids[(i * 7) % mids.size]),
        )
        singles.append(time.perf_counter() - t)
    # check: a batch equals the same sales one by one
    k = min(n, 20_000)
    batch = empty.register_many(sale_ids[:k], **{c: v[:k] for c, v in cols.items()})  # type: ignore[arg-type]
    seq = empty
    for i in range(k):
        ref = str(cols["referrers"][i])
        seq = seq.register(
            str(sale_ids[i]),
            customer_id=str(cols["customer_ids"][i]),
            product=str(cols["products"][i]),
            amount=int(cols["amounts"][i]),
            date=cols["dates"][i].item(),
            seller=str(cols["sellers"][i]),
            referrer=ref or None,
        )
    same = batch.sales == seq.sales and all(
        batch.performance(by).as_dict() == seq.performance(by).as_dict()
        for by in ("manager", "branch")  # type: ignore[arg-type]
    )
    if not same:
        raise SystemExit("  MISMATCH: register_many differs from register one by one")
    print()
    print(
        f"sales: register_many of {n:,} sales {min(runs):.2f} s "
        f"(best of 3; {', '.join(f'{r:.2f}' for r in runs)})"
    )
    print(
        f"  performance by branch {t_perf * 1e3:.0f} ms; "
        f"first sale() lookup (builds the id index) {t_index:.2f} s"
    )
    print(
        f"  10,000 single register calls on it: median {statistics.median(singles) * 1e6:.0f} us, "
        f"total {sum(singles):.2f} s"
    )
    print(f"  check: register_many of {k:,} sales == the same registered one by one (sales, performance)")
    print(f"peak RSS {peak_rss_mb():,.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="customers in the book")
    parser.add_argument("--edits", type=int, default=10_000, help="single edits chained on the book")
    parser.add_argument(
        "--check-edits",
        type=int,
        default=0,
        help="edits replayed with a rewrite every time for the check (0: all; -1: no check)",
    )
    parser.add_argument("--before-sample", type=int, default=30, help="edits timed with a rewrite every time")
    parser.add_argument("--sales", type=int, default=1_000_000, help="sales registered in one batch")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.check_edits = max(args.check_edits, -1)
    bench_book(args)
    bench_sales(args)


if __name__ == "__main__":
    main()
