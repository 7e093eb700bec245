"""Benchmark the compiled rules engine: one 5-rule FIRST tier table, 4 inputs.

Usage: python benchmarks/bench_rules.py --n 1000000
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from custvalue.rules import CodedColumn, DecisionTable, compile_table


def make_table() -> DecisionTable:
    return DecisionTable(
        "tier",
        "FIRST",
        ["max_aum_12", "max_aum_6", "mortgage", "card"],
        ["tier"],
        [
            ("core", [">= 10000000", "-", "-", "-"], ['"core"']),
            ("growth", [">= 5000000", "-", "-", "-"], ['"growth"']),
            ("growth.card", ["-", "-", "-", '"diamond"'], ['"growth"']),
            ("platinum", ["-", ">= 500000", "[1500000..5000000)", "-"], ['"platinum"']),
            ("potential", ["-", "-", "-", "-"], ['"potential"']),
        ],
    )


def make_columns(n: int, seed: int = 7) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    aum12 = (rng.lognormal(11, 2, n) * 100).astype(np.int64)  # fen
    aum6 = (aum12 * rng.uniform(0.5, 1.0, n)).astype(np.int64)
    mortgage = (rng.lognormal(13, 1.5, n) * 100).astype(np.int64)
    card = CodedColumn(
        rng.integers(0, 5, n).astype(np.int8), ("none", "standard", "gold", "platinum", "diamond")
    )
    return {"max_aum_12": aum12, "max_aum_6": aum6, "mortgage": mortgage, "card": card}


def timeit(fn: object, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    table = make_table()
    scales = {"max_aum_12": 100, "max_aum_6": 100, "mortgage": 100}
    compiled = compile_table(table, scales=scales)
    cols = make_columns(args.n)
    plan = compiled.plan(cols)
    print(plan)
    print(f"rows: {args.n:,}  passes: {plan.n_passes}")
    for block in (65536, 262144, None):
        t = timeit(lambda b=block: compiled.evaluate(cols, block_size=b), args.repeat)
        print(f"evaluate block_size={block}: median of {args.repeat} = {t * 1e3:.1f} ms")

    # alternative FIRST strategy for comparison: argmax over stacked rule masks
    def argmax_first() -> None:
        a12, a6, mo = cols["max_aum_12"], cols["max_aum_6"], cols["mortgage"]
        codes = cols["card"].codes  # type: ignore[attr-defined]
        masks = np.empty((5, args.n), dtype=bool)
        np.greater_equal(a12, 1000000000, out=masks[0])
        np.greater_equal(a12, 500000000, out=masks[1])
        np.equal(codes, 4, out=masks[2])
        np.logical_and(a6 >= 50000000, (mo >= 150000000) & (mo < 500000000), out=masks[3])
        masks[4] = True
        np.argmax(masks, axis=0)

    t = timeit(argmax_first, args.repeat)
    print(f"hand-written argmax-over-stacked-masks FIRST: median = {t * 1e3:.1f} ms")

    # end to end from a customers x 14 months portfolio: the 4 features, then the table
    from custvalue import CARD_LEVELS
    from custvalue.policy import FeatureSpec
    from custvalue.synthetic import generate
    from custvalue.tiering import compute_features

    portfolio = generate(args.n, seed=7)
    specs = [
        FeatureSpec("max_aum_12", "max", "aum", window=12),
        FeatureSpec("max_aum_6", "max", "aum", window=6),
        FeatureSpec("mortgage", "value", "mortgage_loan"),
        FeatureSpec("card", "value", "card_level"),
    ]

    def from_portfolio() -> None:
        for start in range(0, portfolio.n_customers, 65536):
            f = compute_features(portfolio, specs, portfolio.months.stop, rows=slice(start, start + 65536))
            columns = dict(f.values)
            columns["card"] = CodedColumn(columns["card"], CARD_LEVELS)
            compiled.evaluate(columns)

    t = timeit(from_portfolio, args.repeat)
    print(
        f"features + table from a {args.n:,} x {portfolio.n_months} portfolio "
        f"(64k-row blocks): median = {t * 1e3:.1f} ms"
    )


if __name__ == "__main__":
    main()
