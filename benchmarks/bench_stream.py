"""Streaming evaluation of big balances files: time, throughput and peak memory.

    python benchmarks/bench_stream.py --customers 1000000 2000000 5000000
    python benchmarks/bench_stream.py --customers 1000000 --batches 125000 250000 500000 1000000
    python benchmarks/bench_stream.py --customers 1000000 --in-memory      # the in-memory run beside it

For each size N it writes an N-customer × 14-month Parquet balances file (in
chunks of ``--chunk`` customers, each a synthetic portfolio with its own
customer ids, so N is never held in memory; the file is sorted by customer,
as ``write_balances`` writes it), then evaluates it with
:func:`custvalue.tiering.evaluate_file` in a **child process** writing a
Parquet result file and a Parquet events file, and reports the child's wall
time, throughput and peak RSS (``VmHWM`` of ``/proc/self/status``, else
``ru_maxrss``; the file is generated in another child, so the parent stays
small).  ``--unsorted`` shuffles rows
within each chunk and the chunks' order (the file is then partitioned by
customer first).  Big files are deleted afterwards unless ``--keep``; check
free disk first (about 19 bytes a customer-month).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = r"""
import json, resource, sys, time
from custvalue.tiering import evaluate_file
src, out, events, batch, in_memory = sys.argv[1:6]
t0 = time.perf_counter()
if in_memory == "1":
    from custvalue import evaluate, read_balances
    from custvalue.tiering import write_events
    r = evaluate(read_balances(src), as_of="2026-10")
    r.write(out)
    write_events(r.events, events)
    n, batches = len(r), 1
else:
    s = evaluate_file(src, as_of="2026-10", out=out, events=events, batch_customers=int(batch))
    n, batches = s.n_customers, s.batches
dt = time.perf_counter() - t0
try:  # this process's own peak (ru_maxrss may carry the forking parent's over exec)
    with open("/proc/self/status") as fh:
        rss = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": dt, "customers": n, "batches": batches, "peak_rss": rss}))
"""


def write_file(path: Path, n: int, chunk: int, *, unsorted: bool = False) -> float:
    """An ``n``-customer × 14-month balances file written chunk by chunk; returns seconds."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from custvalue import Portfolio, write_balances
    from custvalue.synthetic import generate

    t0 = time.perf_counter()
    writer = None
    tmp = Path(tempfile.mkdtemp(dir=path.parent))
    order = list(range(0, n, chunk))
    if unsorted:
        np.random.default_rng(7).shuffle(order)
    try:
        for k, lo in enumerate(order):
            m = min(chunk, n - lo)
            p = generate(m, seed=1000 + lo // chunk)
            ids = np.char.add(f"K{lo // chunk:05d}", p.customer_ids)  # distinct and sorted
            p = Portfolio.from_arrays(
                customer_ids=ids,
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
            part = write_balances(p, tmp / f"chunk{k}.parquet")
            del p
            table = pq.read_table(part)
            part.unlink()
            if unsorted:
                table = table.take(pa.array(np.random.default_rng(k).permutation(len(table))))
            if writer is None:
                writer = pq.ParquetWriter(
                    path,
                    table.schema,
                    compression="snappy",
                    store_decimal_as_integer=True,
                    write_statistics=["customer_id", "month"],
                )
            writer.write_table(table, row_group_size=1 << 20)
            del table
    finally:
        if writer is not None:
            writer.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return time.perf_counter() - t0


def run_child(src: Path, out_dir: Path, batch: int, in_memory: bool) -> dict[str, float]:
    out = out_dir / "result.parquet"
    events = out_dir / "events.parquet"
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(src), str(out), str(events), str(batch), "1" if in_memory else "0"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        raise SystemExit(proc.stderr)
    got: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    for f in (out, events):
        f.unlink(missing_ok=True)
    return got


def main() -> None:
    if sys.argv[1:2] == ["--generate"]:  # the child that writes a file
        path, n, chunk = Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        write_file(path, n, chunk, unsorted="--unsorted" in sys.argv)
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--batches", type=int, nargs="+", default=[500_000], help="batch_customers values")
    ap.add_argument("--chunk", type=int, default=1_000_000, help="customers per generated chunk")
    ap.add_argument("--dir", type=Path, default=Path("benchmarks/.stream"), help="where the files go")
    ap.add_argument("--unsorted", action="store_true", help="rows in no order (partitioned run)")
    ap.add_argument("--in-memory", action="store_true", help="also run evaluate(read_balances(...))")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(args.dir).free
    print(f"free disk at {args.dir}: {free / 2**30:.1f} GiB", flush=True)
    print(
        f"{'customers':>11} {'file MB':>8} {'batch':>9} {'run':>10} {'seconds':>8} "
        f"{'cust/s':>10} {'peak RSS MB':>11}",
        flush=True,
    )
    for n in args.customers:
        need = n * 14 * 25
        if need > 0.8 * shutil.disk_usage(args.dir).free:
            print(f"{n:>11,} skipped: needs about {need / 2**30:.1f} GiB of disk", flush=True)
            continue
        src = args.dir / f"balances_{n}{'_unsorted' if args.unsorted else ''}.parquet"
        if not src.exists():
            t0 = time.perf_counter()
            flags = ["--unsorted"] if args.unsorted else []
            cmd = [sys.executable, __file__, "--generate", str(src), str(n), str(args.chunk), *flags]
            subprocess.run(cmd, check=True)
            print(f"# wrote {src} in {time.perf_counter() - t0:.0f}s", flush=True)
        size = os.path.getsize(src) / 1e6
        runs = [(b, False) for b in args.batches] + ([(n, True)] if args.in_memory else [])
        for batch, mem in runs:
            got = run_child(src, args.dir, batch, mem)
            label = "in-memory" if mem else ("partitioned" if args.unsorted else "streaming")
            print(
                f"{n:>11,} {size:>8.0f} {batch:>9,} {label:>10} {got['seconds']:>8.1f} "
                f"{n / got['seconds']:>10,.0f} {got['peak_rss'] / 2**20:>11,.0f}",
                flush=True,
            )
        if not args.keep:
            src.unlink()


if __name__ == "__main__":
    main()
