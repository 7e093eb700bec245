"""CI regression guard: custvalue against the hand-written numpy peer, same run.

Not a timed test: the absolute times depend on the machine, the ratio does
not (much).  Evaluates the default policy over a synthetic portfolio
(200,000 customers by default) with custvalue and with the hand-written
numpy of ``bench_tiering.py``, alternating the two so that both see the same
machine, checks that they agree, prints the medians and the ratios, and
exits non-zero only when a ratio is past a generous bound (2x by default).

    python benchmarks/ratio_guard.py
    python benchmarks/ratio_guard.py --n 1000000 --bound 1.5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_tiering import numpy_hand

import custvalue as cv
from custvalue.policy import compile_policy
from custvalue.synthetic import generate


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--bound", type=float, default=2.0)
    args = ap.parse_args()
    p = generate(args.n, seed=3)
    cp = compile_policy(cv.default_policy())
    pairs = {
        "tier + status": (
            lambda: numpy_hand(p, full=False),
            lambda: cv.evaluate(p, cp, previous=False),
        ),
        "full evaluation": (
            lambda: numpy_hand(p, full=True),
            lambda: cv.evaluate(p, cp),
        ),
    }
    ref = cv.evaluate(p, cp)
    failed = False
    print(f"ratio guard: {args.n:,} customers × {p.n_months} months, median of {args.repeat}")
    for what, (hand, ours) in pairs.items():
        got = hand()
        assert np.array_equal(got["tier"], ref.tier_codes) and np.array_equal(got["status"], ref.status_codes)
        ours()
        t_hand, t_ours = [], []
        for _ in range(args.repeat):  # alternate: both see the same machine
            t0 = time.perf_counter()
            hand()
            t_hand.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            ours()
            t_ours.append(time.perf_counter() - t0)
        h, o = statistics.median(t_hand), statistics.median(t_ours)
        ratio = o / h
        verdict = "ok" if ratio <= args.bound else f"FAILED (bound {args.bound:.1f}×)"
        times = f"hand numpy {h * 1e3:7.1f} ms   custvalue {o * 1e3:7.1f} ms"
        print(f"  {what:<16} {times}   {ratio:5.2f}×  {verdict}")
        failed |= ratio > args.bound
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
