"""Benchmark vectorised FEEL expressions against the scalar reference interpreter.

Measures rows per second of :func:`custvalue.rules._vexpr.evaluate_columns` for
arithmetic on the int64 fast path, on the decimal path (division by 3),
date arithmetic, a string function, ``if``/``between``, ``in`` with several
tests, list functions, ``in`` on strings, and a table whose output entry is an
expression; the scalar reference runs on a sample of rows.  Medians of
``--repeat`` runs.

Usage: python benchmarks/bench_feel.py --n 1000000 --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from decimal import Decimal

import numpy as np

from custvalue.rules import (
    DecisionTable,
    compile_table,
    evaluate_expression,
    evaluate_table_scalar,
    parse_expression,
)
from custvalue.rules._vexpr import evaluate_columns, evaluate_vector, to_vector

CASES = {
    "int64 arithmetic": "Monthly Salary * 12 + bonus - 100",
    "decimal division": "Monthly Salary / 3",
    "power and decimal()": "decimal(Monthly Salary ** 2 / 100, 2)",
    "dates": 'years and months duration(opened, date("2026-10-31")) > duration("P6M")',
    "string function": 'upper case(name) = "LI"',
    "if / between": "if Monthly Salary between 10000 and 30000 then Monthly Salary * 2 else bonus",
    "in tests": "bonus in (1, 2, 3, [100..200), > 900)",
    "list functions": "max([Monthly Salary, bonus * 100]) + count([bonus, 1])",
    "string in list": 'name in ("Li", "Wang")',
}


def make_columns(n: int, seed: int = 7) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    return {
        "Monthly Salary": rng.integers(100_000, 5_000_000, n),  # fen
        "bonus": rng.integers(0, 1_000, n),
        "opened": np.datetime64("2020-01-01") + rng.integers(0, 2500, n).astype("timedelta64[D]"),
        "name": np.array(["Li", "Wang", "Zhang"], dtype=object)[rng.integers(0, 3, n)],
    }


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--sample", type=int, default=2_000)
    ap.add_argument("--repeat", type=int, default=5, help="runs per measurement (median reported)")
    args = ap.parse_args()
    n, k, rep = args.n, args.sample, args.repeat
    cols = make_columns(n)
    scales = {"Monthly Salary": 100}
    rows = [
        {name: to_vector(c, scale=scales.get(name)).item(i) for name, c in cols.items()} for i in range(k)
    ]
    print(f"{n:,} rows; scalar reference timed on {k:,} rows; medians of {rep} runs")
    for label, text in CASES.items():
        expr = parse_expression(text)
        tt = median_time(lambda expr=expr: evaluate_vector(expr, cols, n, scales=scales), rep)
        tv = median_time(lambda expr=expr: evaluate_columns(expr, cols, n, scales=scales), rep)
        ts = median_time(lambda expr=expr: [evaluate_expression(expr, r) for r in rows], rep)
        typed_rate, vec_rate, ref_rate = n / tt, n / tv, k / ts
        print(
            f"{label:22s} typed {typed_rate:13,.0f} rows/s  as FEEL values {vec_rate:12,.0f} rows/s"
            f"  reference {ref_rate:9,.0f} rows/s  ratio {typed_rate / ref_rate:7.1f}x"
        )
    table = DecisionTable(
        "pay",
        "FIRST",
        ["Monthly Salary"],
        ["yearly"],
        [("high", [">= 30000"], ["Monthly Salary * 12 + bonus"]), ("rest", ["-"], ["Monthly Salary * 13"])],
    )
    ct = compile_table(table, scales=scales)
    tv = median_time(lambda: ct.evaluate(cols), rep)
    trows = [{**r, "Monthly Salary": Decimal(r["Monthly Salary"])} for r in rows]  # type: ignore[arg-type]
    ts = median_time(lambda: [evaluate_table_scalar(table, r) for r in trows], rep)
    print(
        f"{'table, computed output':22s} compiled {n / tv:10,.0f} rows/s  reference {k / ts:9,.0f} rows/s"
        f"  ratio {(n / tv) / (k / ts):7.1f}x"
    )


if __name__ == "__main__":
    main()
