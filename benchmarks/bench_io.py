"""Read/write time of balances files (CSV and Parquet).

python benchmarks/bench_io.py --n 1000000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import attrs

from custvalue.io import read_balances, write_balances
from custvalue.synthetic import generate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--months", type=int, default=14)
    ap.add_argument("--dir", default=None, help="directory for the files (default: a temp dir)")
    args = ap.parse_args()
    for n in args.n:
        p = attrs.evolve(generate(n, months=args.months, seed=0), opened=None)
        with tempfile.TemporaryDirectory(dir=args.dir) as d:
            for fmt in ("parquet", "csv"):
                f = Path(d) / f"balances.{fmt}"
                t0 = time.perf_counter()
                write_balances(p, f)
                w = time.perf_counter() - t0
                t0 = time.perf_counter()
                q = read_balances(f)
                r = time.perf_counter() - t0
                assert q == p
                print(
                    f"{n:>10,} × {args.months} {fmt:8s}: write {w:6.2f} s, read {r:6.2f} s, "
                    f"{f.stat().st_size / 1e6:8.1f} MB"
                )
                del q


if __name__ == "__main__":
    main()
