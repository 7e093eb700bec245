"""Benchmark: attribute one int64 amount column over a large allocation book.

Builds a book of ``--n`` customers (default 10 million) spread over
``--branches`` branches, each customer with 1-3 managers of its branch, using
only vectorised batch operations (one ``add_customers`` call and one
``batch_allocate`` call per branch and manager pattern), then times
:func:`custvalue.allocation.attribute` on one random int64 column (median of
``--repeat`` runs) and prints it with the peak resident memory.  The first call
on a (book, date) also derives and caches the book's layout on that date, so
its time is printed separately as the cold time.

Run::

    .venv/bin/python benchmarks/bench_attribution.py --n 10_000_000
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import statistics
import time

import numpy as np

from custvalue.allocation import AllocationBook, attribute

PATTERNS = (
    ({"a": 10000}, "a"),
    ({"a": 6000, "b": 4000}, "b"),
    ({"a": 3334, "b": 3333, "c": 3333}, "a"),
)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(n: int, n_branches: int, seed: int) -> AllocationBook:
    rng = np.random.default_rng(seed)
    managers = {f"M{b:03d}{x}": f"B{b:03d}" for b in range(n_branches) for x in "abc"}
    book = AllocationBook.empty(managers)
    ids = np.char.add("C", np.char.zfill(np.arange(n).astype(str), 9))
    branch_no = rng.integers(0, n_branches, n)
    branches = np.char.add("B", np.char.zfill(branch_no.astype(str), 3))
    start = dt.date(2026, 1, 1)
    book, _ = book.add_customers(ids, branches, effective=start, operator="bench")
    pattern = rng.integers(0, len(PATTERNS), n)
    for b in range(n_branches):
        for p, (shares, primary) in enumerate(PATTERNS):
            pick = ids[(branch_no == b) & (pattern == p)]
            spec = {f"M{b:03d}{k}": bp for k, bp in shares.items()}
            book, _ = book.batch_allocate(
                pick, f"M{b:03d}{primary}", spec, tiers="gold", effective=start, operator="bench"
            )
    return book


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="number of customers")
    parser.add_argument("--branches", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    t0 = time.perf_counter()
    book = build(args.n, args.branches, args.seed)
    t_build = time.perf_counter() - t0
    rng = np.random.default_rng(args.seed + 1)
    amounts = rng.integers(-(10**10), 10**12, args.n, dtype=np.int64)
    as_of = dt.date(2026, 10, 31)
    rss_before = peak_rss_mb()
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        res = attribute(book, amounts, as_of)
        times.append(time.perf_counter() - t)
    assert res.total == int(amounts.sum(dtype=object))
    n_parts = res.part_amount.size
    print(f"customers            {args.n:,}")
    print(f"assignment rows      {n_parts:,} in force")
    print(f"build (vectorised)   {t_build:.1f} s")
    print(
        f"attribute median     {statistics.median(times) * 1000:.0f} ms "
        f"(min {min(times) * 1000:.0f} ms, {args.repeat} runs)"
    )
    print(f"attribute cold       {times[0] * 1000:.0f} ms (first call: builds the day layout)")
    print(f"peak RSS             {peak_rss_mb():,.0f} MB (after build {rss_before:,.0f} MB)")


if __name__ == "__main__":
    main()
