"""custvalue.dask on a 2-worker LocalCluster against the same work in one process.

    python benchmarks/bench_dask.py --customers 1000000 --files 8
    python benchmarks/bench_dask.py --customers 10000000 --files 40 --inputs path
    python benchmarks/bench_dask.py --customers 1000000 --files 8 --inputs shuffle --events

Writes an N-customer × 14-month balances dataset as ``--files`` Parquet files
(each a synthetic portfolio with its own customer ids, so each file holds
whole customers), then evaluates it with :func:`custvalue.dask.evaluate` and
writes the results (and with ``--events`` the events too, from the same
tasks) with ``to_parquet``.  ``--inputs`` names the ways the data are given
(comma-separated, each measured in the same run):

* ``path``: the directory, ``by_customer=True`` (one partition per file, read
  by :func:`custvalue.read_balances`);
* ``frame``: ``dd.read_parquet(dir, split_row_groups=False)``,
  ``by_customer=True`` (pandas partitions read by
  :func:`custvalue.io.read_table`);
* ``shuffle``: the dataframe repartitioned by customer hash first (the cost
  for panels that are not by customer).

Each is run ``--repeats`` times in one process (Dask's synchronous scheduler:
the same tasks one after the other) and on a
``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)``,
alternating; the medians, throughput and ratios are printed.  The dataset is
deleted afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

INPUTS = ("path", "frame", "shuffle")


def write_dataset(d: Path, n: int, files: int) -> None:
    from custvalue import Portfolio, write_balances
    from custvalue.synthetic import generate

    d.mkdir(parents=True, exist_ok=True)
    per = -(-n // files)
    for k in range(files):
        m = min(per, n - k * per)
        if m <= 0:
            break
        p = generate(m, seed=500 + k)
        p = Portfolio.from_arrays(
            customer_ids=np.char.add(f"D{k:05d}", p.customer_ids),
            branch_ids=p.branch_ids,
            start=p.months.start,
            history_start=p.history_start,
            card_level=p.card_level,
            deposits=p.deposits,
            wealth=p.wealth,
            investments=p.investments,
            mortgage_loan=p.mortgage_loan,
            credit_loan=p.credit_loan,
            card_spend=p.card_spend,
        )
        write_balances(p, d / f"part-{k:05d}.parquet")


def run(d: Path, out: Path, how: str, events: bool, scheduler: Any) -> float:
    import dask
    import dask.dataframe as dd

    import custvalue.dask

    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    data: Any = str(d) if how == "path" else dd.read_parquet(str(d), split_row_groups=False)
    got = custvalue.dask.evaluate(data, as_of="2026-10", by_customer=how != "shuffle", events=events)
    results, ev = got if events else (got, None)
    todo = [
        results.to_parquet(
            str(out / "results"), write_index=False, schema=custvalue.dask.result_schema(), compute=False
        )
    ]
    if ev is not None:
        todo.append(
            ev.to_parquet(
                str(out / "events"), write_index=False, schema=custvalue.dask.event_schema(), compute=False
            )
        )
    dask.compute(*todo, scheduler=scheduler)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--dir", type=Path, default=Path("benchmarks/.dask"))
    ap.add_argument("--inputs", default="path,frame", help=f"comma-separated, of {', '.join(INPUTS)}")
    ap.add_argument("--events", action="store_true", help="also write the events (same tasks)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    inputs = [s.strip() for s in args.inputs.split(",") if s.strip()]
    if not inputs or any(s not in INPUTS for s in inputs):
        ap.error(f"--inputs takes {', '.join(INPUTS)}")
    import distributed

    data = args.dir / f"balances_{args.customers}"
    out = args.dir / "results"
    if not data.exists():
        t0 = time.perf_counter()
        write_dataset(data, args.customers, args.files)
        print(f"# wrote {data} ({args.files} files) in {time.perf_counter() - t0:.0f}s", flush=True)
    n = args.customers
    times: dict[tuple[str, str], list[float]] = {}
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, memory_limit="10GiB"
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        client.run(importlib.import_module, "custvalue.dask")  # as imported in this process
        for rep in range(args.repeats):
            for how in inputs:
                t = run(data, out, how, args.events, "synchronous")
                times.setdefault((how, "one"), []).append(t)
                print(f"# {rep + 1}: {how:7s} one process {t:7.1f}s", flush=True)
                t = run(data, out, how, args.events, client)
                times.setdefault((how, "two"), []).append(t)
                print(f"# {rep + 1}: {how:7s} 2 workers   {t:7.1f}s", flush=True)
    ev = " + events" if args.events else ""
    print(f"\n{n:,} customers x 14 months, {args.files} files, results{ev} to_parquet", end="")
    print(f", median of {args.repeats}")
    for how in inputs:
        one = statistics.median(times[(how, "one")])
        two = statistics.median(times[(how, "two")])
        print(f"{how:8s} one process      {one:8.1f}s {n / one:>10,.0f} customers/s")
        print(f"{how:8s} 2-worker cluster {two:8.1f}s {n / two:>10,.0f} customers/s  ({one / two:.2f}x)")
    shutil.rmtree(out, ignore_errors=True)
    if not args.keep:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
