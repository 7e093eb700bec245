"""custvalue.dask on a 2-worker LocalCluster against the same work in one process.

    python benchmarks/bench_dask.py --customers 1000000 --files 8
    python benchmarks/bench_dask.py --customers 10000000 --files 40 --shuffle

Writes an N-customer × 14-month balances dataset as ``--files`` Parquet files
(each a synthetic portfolio with its own customer ids, so each file holds
whole customers), then evaluates it with :func:`custvalue.dask.evaluate`
(``by_customer=True``: one partition per file; ``--shuffle`` repartitions by
customer hash instead, the cost for panels that are not by customer) and
writes the results with ``to_parquet``:

* one process: Dask's synchronous scheduler (the same tasks, one after the
  other, in this process);
* a ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)``.

Reports wall time, throughput and the ratio.  The dataset is deleted
afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np


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


def run(d: Path, out: Path, shuffle: bool) -> float:
    import dask.dataframe as dd

    import custvalue.dask

    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    ddf = dd.read_parquet(str(d), split_row_groups=False)
    res = custvalue.dask.evaluate(ddf, as_of="2026-10", by_customer=not shuffle)
    res.to_parquet(str(out), write_index=False, schema=custvalue.dask.result_schema())
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--dir", type=Path, default=Path("benchmarks/.dask"))
    ap.add_argument("--shuffle", action="store_true", help="repartition by customer hash first")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    import dask
    import distributed

    data = args.dir / f"balances_{args.customers}"
    out = args.dir / "results"
    if not data.exists():
        t0 = time.perf_counter()
        write_dataset(data, args.customers, args.files)
        print(f"# wrote {data} ({args.files} files) in {time.perf_counter() - t0:.0f}s", flush=True)
    n = args.customers
    with dask.config.set(scheduler="synchronous"):
        one = run(data, out, args.shuffle)
    print(f"one process       {n:>12,} customers {one:8.1f}s {n / one:>10,.0f} customers/s", flush=True)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, memory_limit="10GiB"
        ) as cluster,
        distributed.Client(cluster),
    ):
        two = run(data, out, args.shuffle)
    print(f"2-worker cluster  {n:>12,} customers {two:8.1f}s {n / two:>10,.0f} customers/s", flush=True)
    print(f"speed-up {one / two:.2f}x", flush=True)
    shutil.rmtree(out, ignore_errors=True)
    if not args.keep:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
