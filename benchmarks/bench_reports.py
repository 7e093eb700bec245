"""The full analytics report set against one ``evaluate()``, same portfolio, same run.

Report set (issue 11, items 1 and 3), from the portfolio:

* ``evaluate``            the tier result the reports read (counted in the set)
* ``asset_monitor``       per-customer measures + branch and household roll-ups
* ``alerts``              the default policy's monitoring alerts
* ``distribution``        tier × branch
* ``trend``               tier trend over the last ``--trend-months`` months
* ``migration``           tier migration between the as-of month and the one before
                          (from the evaluated result: its previous and current tiers)
* ``churn``               churn by branch × tier
* ``performance``         RM performance: two attributions (as-of AUM and the
                          month before) + sales credit from a ledger
* ``concentration``       top shares, Gini, Lorenz

The allocation book (one manager per branch holding all its customers) and a
sales ledger are built outside the timing.  Prints the median of
``--repeat`` runs of each part and of one ``evaluate()``, and the ratio of
the whole set to ``evaluate()`` (target: at most 3).

The headline is one :func:`custvalue.analytics.report_set` call (every
section above, with the book and the ledger: what ``custvalue report``
computes before it writes files) against one ``evaluate()``, timed in
adjacent pairs (an evaluation, then a set): the medians of each side and
the median of the per-pair ratios, which cancels most of the drift of a
shared machine.  The parts one by one come after, in a loop of their own.
The set evaluates, fills the monitor and tallies the trend in one pass over
the row blocks, so its parts cannot be timed inside it; they are also timed
one by one, as a caller composing them would (the ``full set`` line).
A second headline gives the set with the trend months' tiers read from a
stored :func:`custvalue.evaluate_path` (``path=``), as a bank that keeps
each month's tiers would run it.

    python benchmarks/bench_reports.py --n 1000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import custvalue as cv
from custvalue import analytics as an
from custvalue.allocation import AllocationBook, SalesLedger
from custvalue.synthetic import generate


def build_book(p: cv.Portfolio, day: dt.date) -> tuple[AllocationBook, SalesLedger]:
    branches = sorted(set(p.branch_ids.tolist()))
    managers = {f"M_{b}": b for b in branches}
    book, _ = AllocationBook.empty(managers).add_customers(
        p.customer_ids, p.branch_ids, effective=day, operator="b"
    )
    for b in branches:
        pick = p.customer_ids[p.branch_ids == b]
        book, _ = book.batch_allocate(
            pick, f"M_{b}", {f"M_{b}": 10_000}, tiers="gold", effective=day, operator="b"
        )
    ledger = SalesLedger.create(managers)
    for k in range(min(1000, p.n_customers)):
        b = str(p.branch_ids[k])
        ledger = ledger.register(
            f"s{k}",
            customer_id=str(p.customer_ids[k]),
            product="fund",
            amount=1000_00,
            date=day,
            seller=f"M_{b}",
        )
    return book, ledger


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--trend-months", type=int, default=12)
    args = ap.parse_args()

    t0 = time.perf_counter()
    p = generate(args.n, seed=1, households=True)
    print(f"portfolio: {p!r} (generated in {time.perf_counter() - t0:.1f} s)")
    pol = cv.default_policy()
    cp = cv.compile_policy(pol)
    as_of = p.months.stop
    day = as_of.last_day
    t0 = time.perf_counter()
    book, ledger = build_book(p, day)
    print(f"book and ledger built in {time.perf_counter() - t0:.1f} s (not timed)")
    full_aum = p.aum(pol.aum)
    now_aum = np.ascontiguousarray(full_aum[:, -1])
    before_aum = np.ascontiguousarray(full_aum[:, -2])

    state: dict[str, Any] = {}

    def run_evaluate() -> None:
        state["result"] = cv.evaluate(p, cp, as_of=as_of)

    def run_monitor() -> None:
        m = an.asset_monitor(p, as_of, pol)
        m.by_branch()
        m.by_household()
        state["monitor"] = m

    parts: list[tuple[str, Callable[[], Any]]] = [
        ("evaluate", run_evaluate),
        ("asset_monitor", run_monitor),
        ("alerts", lambda: an.evaluate_alerts(state["monitor"])),
        ("distribution", lambda: an.tier_distribution(state["result"])),
        ("trend", lambda: an.tier_trend(p, cp, months=args.trend_months, as_of=as_of)),
        ("migration", lambda: an.migration_report(state["result"])),
        ("churn", lambda: an.churn_report(state["result"])),
        (
            "performance",
            lambda: an.performance_report(
                book.attribute(now_aum, day), previous=book.attribute(before_aum, day), ledger=ledger
            ),
        ),
        ("concentration", lambda: an.concentration(state["result"])),
    ]
    times: dict[str, list[float]] = {name: [] for name, _ in parts}
    single: list[float] = []
    whole: list[float] = []
    an.report_set(p, as_of, cp, book=book, ledger=ledger)  # warm: first-touch pages, imports
    # the months' tiers kept from earlier runs (a bank keeps each month's result): built outside the timing
    stored = cv.evaluate_path(p, cp, first=p.months[max(0, len(p.months) - args.trend_months)])
    from_path: list[float] = []
    single_p: list[float] = []
    # the headline: adjacent pairs of one evaluate() and one report_set, so that both sides of each
    # pair see the same machine state (this shared machine drifts by 20-30% within minutes); then
    # the same with the stored path; the parts one by one last (their allocations would otherwise
    # change what the allocator holds between the two sides of a pair)
    for _ in range(args.repeat):
        t = time.perf_counter()
        cv.evaluate(p, cp, as_of=as_of)
        single.append(time.perf_counter() - t)
        t = time.perf_counter()
        an.report_set(p, as_of, cp, book=book, ledger=ledger, months=args.trend_months)
        whole.append(time.perf_counter() - t)
    for _ in range(args.repeat):
        t = time.perf_counter()
        cv.evaluate(p, cp, as_of=as_of)
        single_p.append(time.perf_counter() - t)
        t = time.perf_counter()
        an.report_set(p, as_of, cp, book=book, ledger=ledger, months=args.trend_months, path=stored)
        from_path.append(time.perf_counter() - t)
    for _ in range(args.repeat):
        for name, fn in parts:
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    base = med["evaluate"]  # the parts' own loop
    totals = [sum(times[k][i] for k in times) for i in range(args.repeat)]
    total = statistics.median(totals)
    print(f"\n{'part':<16}{'median s':>10}{'× evaluate':>12}")
    for k, v in med.items():
        print(f"{k:<16}{v:>10.3f}{v / base:>12.2f}")
    print(f"{'full set':<16}{total:>10.3f}{total / base:>12.2f}")
    print(f"{'evaluate()':<16}{base:>10.3f}{1:>12.2f}")
    no_trend = statistics.median([totals[i] - times["trend"][i] for i in range(args.repeat)])
    print(
        f"\nfull set / evaluate = {total / base:.2f} (target <= 3); without the trend: {no_trend / base:.2f}"
    )
    for label, sets, evals in (
        ("report_set(...)", whole, single),
        ("report_set(..., path=stored months' tiers)", from_path, single_p),
    ):
        rs, ev = statistics.median(sets), statistics.median(evals)
        pairs = sorted(r / e for r, e in zip(sets, evals, strict=True))
        print(
            f"{label}: {rs:.3f} s against evaluate() {ev:.3f} s = {rs / ev:.2f} x (medians); "
            f"pairwise median {statistics.median(pairs):.2f} x "
            f"(pairs {pairs[0]:.2f}-{pairs[-1]:.2f}; target <= 3)"
        )
    per_month = statistics.median(times["trend"]) / args.trend_months
    print(f"the trend tiers every customer in {args.trend_months} months: {per_month * 1000:.0f} ms a month")


if __name__ == "__main__":
    main()
