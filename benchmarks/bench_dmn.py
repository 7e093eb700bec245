"""Benchmark a whole DMN model (a decision requirement graph) vectorised vs the scalar reference.

The model is ``tests/rules/models/drg_chain.dmn`` (two tables and two literal
expressions in a chain, one table with two outputs) and
``tests/rules/models/bkm.dmn`` (business knowledge models invoked and called
from FEEL).  Prints rows per second of :meth:`CompiledModel.evaluate` over
``--n`` rows and of :meth:`DmnModel.evaluate_scalar` over a sample, and their
ratio (same run).

Usage: python benchmarks/bench_dmn.py --n 1000000
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from custvalue.rules import read_dmn

MODELS = Path(__file__).resolve().parents[1] / "tests" / "rules" / "models"


def best(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def loan_columns(n: int, rng: np.random.Generator) -> dict[str, Any]:
    return {
        "Applicant Age": rng.integers(18, 90, n),
        "Monthly Income": rng.integers(500, 20_000, n),
        "Loan Amount": rng.integers(1_000, 500_000, n),
    }


def shop_columns(n: int, rng: np.random.Generator) -> dict[str, Any]:
    return {
        "Customer": np.array(["Business", "Private", "Other"], dtype=object)[rng.integers(0, 3, n)],
        "Quantity": rng.integers(1, 50, n),
        "Unit Price": rng.integers(1, 1_000, n),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--sample", type=int, default=2_000)
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    print(f"{'model':<12} {'vectorised rows/s':>18} {'scalar rows/s':>14} {'ratio':>8}")
    for file, make in (("drg_chain.dmn", loan_columns), ("bkm.dmn", shop_columns)):
        model = read_dmn(MODELS / file)
        compiled = model.compile()
        cols = make(args.n, rng)
        compiled.evaluate(cols)  # warm up (compiles the tables for this layout)
        t_vec = best(lambda c=compiled, x=cols: c.evaluate(x))
        k = min(args.sample, args.n)
        rows = [{name: np.asarray(c)[i : i + 1].tolist()[0] for name, c in cols.items()} for i in range(k)]
        t_sc = best(lambda m=model, rs=rows: [m.evaluate_scalar(r) for r in rs], repeat=1)
        vec, sc = args.n / t_vec, k / t_sc
        print(f"{file:<12} {vec:>18,.0f} {sc:>14,.0f} {vec / sc:>7,.0f}x")


if __name__ == "__main__":
    main()
