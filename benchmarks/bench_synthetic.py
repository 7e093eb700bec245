"""Time and peak memory of custvalue.synthetic.generate.

Each size runs in a fresh subprocess so that its peak RSS (``ru_maxrss``) is
its own::

    python benchmarks/bench_synthetic.py --n 1000000 10000000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = """
import json, resource, sys, time
from custvalue.synthetic import generate
n, months = int(sys.argv[1]), int(sys.argv[2])
t0 = time.perf_counter()
p = generate(n, months=months, seed=0)
el = time.perf_counter() - t0
money = sum(getattr(p, c).nbytes for c in ("deposits", "wealth", "investments",
            "mortgage_loan", "credit_loan", "card_spend")) + p.card_level.nbytes
print(json.dumps({"n": n, "months": months, "seconds": el,
                  "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
                  "arrays_gb": money / 1e9}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--months", type=int, default=14)
    args = ap.parse_args()
    for n in args.n:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(n), str(args.months)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        r = json.loads(out)
        print(
            f"{r['n']:>11,} × {r['months']} months: {r['seconds']:6.2f} s, "
            f"peak RSS {r['peak_rss_gb']:.2f} GB (monthly arrays {r['arrays_gb']:.2f} GB)"
        )


if __name__ == "__main__":
    main()
