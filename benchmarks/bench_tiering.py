"""Tier + status over a synthetic portfolio: custvalue against its peers, in one run.

Implementations (all compute the default policy's tier and status at the
as-of month from the same Portfolio arrays):

* ``floor``        one numpy pass reading every input column once (a lower bound)
* ``numpy-hand``   hand-written numpy, single thread, 64k-row blocks, "at least
                   this tier" flags, walking back only for customers below a floor
* ``numpy-hand-full``  the same plus the previous month, movement and churn
* ``polars``       polars lazy expressions on a wide frame (needs polars)
* ``duckdb``       one DuckDB SQL query over a wide Arrow table, 2 threads (needs duckdb)
* ``pandas``       pandas, wide frame, whole-column operations (needs pandas)

DuckDB and pandas are handed the wide columns (AUM already summed per month)
built outside the timing, which favours them; polars and custvalue start
from the Portfolio arrays.
* ``custvalue``    ``evaluate(..., previous=False)``: tier + status
* ``custvalue-full``  ``evaluate(...)``: + previous tier, movement, churn, events, reasons

Every implementation's tiers and statuses are checked against custvalue's.
Reports the median of ``--repeat`` runs and the ratio to ``numpy-hand``, plus
custvalue's peak traced memory as a multiple of the input arrays.

    python benchmarks/bench_tiering.py --n 1000000
    python benchmarks/bench_tiering.py --n 10000000 --skip polars
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

import custvalue as cv
from custvalue.policy import compile_policy
from custvalue.synthetic import generate

Y = 100  # fen per yuan
F_CORE, F_GROWTH, F_PLAT, F_GOLD = 10_000_000 * Y, 5_000_000 * Y, 500_000 * Y, 200_000 * Y


def floor_pass(p: cv.Portfolio) -> Any:
    total = np.int64(0)
    for name in ("deposits", "wealth", "investments", "card_spend", "mortgage_loan", "credit_loan"):
        total += np.add.reduce(getattr(p, name), axis=None)
    total += np.add.reduce(p.card_level, axis=None, dtype=np.int64)
    return total


def _hand_month(
    aumT: np.ndarray, spendT: np.ndarray, mort: np.ndarray, cred: np.ndarray, card: np.ndarray, c: int
) -> tuple[np.ndarray, ...]:
    """Tier (0=core..4), held-by-AUM flag and status at month-major column ``c``."""
    w6 = np.maximum.reduce(aumT[max(0, c - 6) : c + 1], axis=0)
    w12 = np.maximum.reduce(aumT[max(0, c - 12) : c + 1], axis=0)
    spend = np.add.reduce(spendT[max(0, c - 11) : c + 1], axis=0)
    a_core = w12 >= F_CORE
    a_growth = w12 >= F_GROWTH
    a_plat = w6 >= F_PLAT
    a_gold = w6 >= F_GOLD
    ge_growth = a_growth | (spend >= 500_000 * Y) | (mort >= 5_000_000 * Y) | (card == 4)
    ge_plat = (
        ge_growth
        | a_plat
        | (spend >= 100_000 * Y)
        | ((mort >= 1_500_000 * Y) & (mort < 5_000_000 * Y))
        | (cred >= 600_000 * Y)
    )
    ge_gold = ge_plat | a_gold | ((cred >= 300_000 * Y) & (cred < 600_000 * Y))
    tier = 4 - a_core.view(np.int8) - ge_growth.view(np.int8) - ge_plat.view(np.int8) - ge_gold.view(np.int8)
    # held through the AUM rule: the tier's AUM criterion holds (it is tested first)
    by_aum = np.select(
        [tier == 0, tier == 1, tier == 2, tier == 3], [a_core, a_growth, a_plat, a_gold], False
    )
    k = np.zeros(tier.shape, np.int16)
    now = aumT[c]
    for t, floor, w in ((0, F_CORE, 12), (1, F_GROWTH, 12), (2, F_PLAT, 6), (3, F_GOLD, 6)):
        sel = np.flatnonzero((now < floor) & (tier == t) & by_aum)
        alive = np.ones(sel.size, bool)
        ks = np.zeros(sel.size, np.int16)
        for back in range(w + 1):
            if c - back < 0:
                break
            alive &= aumT[c - back, sel] < floor
            ks += alive
        k[sel] = ks
    half = np.where(tier <= 1, 6, 3)
    status = np.where(k == 0, 0, np.where(k <= half, 1, 2)).astype(np.int8)
    return tier, by_aum, k, status


def numpy_hand(p: cv.Portfolio, full: bool, block: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    n, t = p.n_customers, p.n_months
    a = t - 1
    lo = max(0, a - 13)
    tier_out = np.empty(n, np.int8)
    status_out = np.empty(n, np.int8)
    churn_out = np.empty(n, np.int8) if full else None
    for s in range(0, n, block):
        e = min(n, s + block)
        aum = p.deposits[s:e, lo:] + p.wealth[s:e, lo:]
        aum += p.investments[s:e, lo:]
        aumT = np.ascontiguousarray(aum.T)
        spendT = np.ascontiguousarray(p.card_spend[s:e, lo:].T)
        c = a - lo
        tier, _, _, status = _hand_month(
            aumT, spendT, p.mortgage_loan[s:e, a], p.credit_loan[s:e, a], p.card_level[s:e, a], c
        )
        tier_out[s:e] = tier
        status_out[s:e] = status
        if full and churn_out is not None:
            ptier, pby, _, _ = _hand_month(
                aumT,
                spendT,
                p.mortgage_loan[s:e, a - 1],
                p.credit_loan[s:e, a - 1],
                p.card_level[s:e, a - 1],
                c - 1,
            )
            down = tier > ptier
            churn_out[s:e] = np.where(down & pby, ptier, -1)
    return tier_out, status_out


def polars_impl(p: cv.Portfolio) -> tuple[np.ndarray, np.ndarray]:
    import polars as pl

    a = p.n_months - 1
    cols: dict[str, Any] = {}
    for j in range(max(0, a - 12), a + 1):
        cols[f"a{j}"] = p.deposits[:, j] + p.wealth[:, j] + p.investments[:, j]
    for j in range(max(0, a - 11), a + 1):
        cols[f"s{j}"] = p.card_spend[:, j]
    cols["mort"], cols["cred"], cols["card"] = p.mortgage_loan[:, a], p.credit_loan[:, a], p.card_level[:, a]
    df = pl.DataFrame(cols)
    A = [pl.col(f"a{j}") for j in range(max(0, a - 12), a + 1)]
    w6 = pl.max_horizontal(A[-7:])
    w12 = pl.max_horizontal(A)
    spend = pl.sum_horizontal([pl.col(f"s{j}") for j in range(max(0, a - 11), a + 1)])
    mort, cred, card = pl.col("mort"), pl.col("cred"), pl.col("card")
    tier = (
        pl.when(w12 >= F_CORE)
        .then(0)
        .when((w12 >= F_GROWTH) | (spend >= 500_000 * Y) | (mort >= 5_000_000 * Y) | (card == 4))
        .then(1)
        .when(
            (w6 >= F_PLAT)
            | (spend >= 100_000 * Y)
            | mort.is_between(1_500_000 * Y, 5_000_000 * Y, closed="left")
            | (cred >= 600_000 * Y)
        )
        .then(2)
        .when((w6 >= F_GOLD) | cred.is_between(300_000 * Y, 600_000 * Y, closed="left"))
        .then(3)
        .otherwise(4)
    ).alias("tier")

    def run_below(floor: int, w: int) -> pl.Expr:
        # trailing months below floor: nested "still below" flags summed
        acc = pl.lit(0)
        alive = pl.lit(True)
        for back in range(w + 1):
            alive = alive & (A[-1 - back] < floor) if back < len(A) else alive & pl.lit(False)
            acc = acc + alive.cast(pl.Int16)
        return acc

    by = {
        0: (w12 >= F_CORE, F_CORE, 12),
        1: (w12 >= F_GROWTH, F_GROWTH, 12),
        2: (w6 >= F_PLAT, F_PLAT, 6),
        3: (w6 >= F_GOLD, F_GOLD, 6),
    }
    k = pl.lit(0)
    for t, (hit, floor, w) in by.items():
        k = pl.when((pl.col("tier") == t) & hit).then(run_below(floor, w)).otherwise(k)
    half = pl.when(pl.col("tier") <= 1).then(6).otherwise(3)
    status = (pl.when(pl.col("k") == 0).then(0).when(pl.col("k") <= half).then(1).otherwise(2)).alias(
        "status"
    )
    out = df.lazy().with_columns(tier).with_columns(k.alias("k")).select(["tier", status]).collect()
    return out["tier"].to_numpy(), out["status"].to_numpy()


def _wide(p: cv.Portfolio) -> dict[str, Any]:
    """The inputs as wide columns: AUM per month (13), spend per month (12), as-of loans and card."""
    a = p.n_months - 1
    cols: dict[str, Any] = {}
    for j in range(max(0, a - 12), a + 1):
        cols[f"a{a - j}"] = p.deposits[:, j] + p.wealth[:, j] + p.investments[:, j]
    for j in range(max(0, a - 11), a + 1):
        cols[f"s{a - j}"] = p.card_spend[:, j]
    cols["mort"], cols["cred"] = p.mortgage_loan[:, a], p.credit_loan[:, a]
    cols["card"] = p.card_level[:, a]
    return cols


_FLOORS = ((0, F_CORE, 12), (1, F_GROWTH, 12), (2, F_PLAT, 6), (3, F_GOLD, 6))


def duckdb_sql(wide: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Tier and status in one DuckDB SQL query over a wide table (a{k} = AUM k months back)."""
    import duckdb
    import pyarrow as pa

    table = pa.table(wide)
    w12 = "greatest(" + ", ".join(f"a{k}" for k in range(13)) + ")"
    w6 = "greatest(" + ", ".join(f"a{k}" for k in range(7)) + ")"
    spend = " + ".join(f"s{k}" for k in range(12))
    tier = f"""CASE WHEN {w12} >= {F_CORE} THEN 0
        WHEN {w12} >= {F_GROWTH} OR {spend} >= {500_000 * Y} OR mort >= {5_000_000 * Y} OR card = 4 THEN 1
        WHEN {w6} >= {F_PLAT} OR {spend} >= {100_000 * Y}
             OR (mort >= {1_500_000 * Y} AND mort < {5_000_000 * Y}) OR cred >= {600_000 * Y} THEN 2
        WHEN {w6} >= {F_GOLD} OR (cred >= {300_000 * Y} AND cred < {600_000 * Y}) THEN 3 ELSE 4 END"""
    by_aum = {
        0: f"{w12} >= {F_CORE}",
        1: f"{w12} >= {F_GROWTH}",
        2: f"{w6} >= {F_PLAT}",
        3: f"{w6} >= {F_GOLD}",
    }

    def run(floor: int, w: int) -> str:  # months in a row below the floor, from the as-of month back
        cases = " ".join(f"WHEN a{k} >= {floor} THEN {k}" for k in range(w + 1))
        return f"CASE {cases} ELSE {w + 1} END"

    k = (
        "CASE "
        + " ".join(f"WHEN tier = {t} AND {by_aum[t]} THEN {run(f, w)}" for t, f, w in _FLOORS)
        + " ELSE 0 END"
    )
    sql = f"""WITH t AS (SELECT *, {tier} AS tier FROM wide), u AS (SELECT tier, {k} AS k FROM t)
        SELECT tier, CASE WHEN k = 0 THEN 0 WHEN k <= (CASE WHEN tier <= 1 THEN 6 ELSE 3 END) THEN 1
                          ELSE 2 END AS status FROM u"""
    con = duckdb.connect()
    con.execute("PRAGMA threads=2")
    con.register("wide", table)
    out = con.execute(sql).fetchnumpy()
    return np.asarray(out["tier"], dtype=np.int8), np.asarray(out["status"], dtype=np.int8)


def pandas_wide(wide: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Tier and status with a pandas wide frame (whole-column operations, no blocks)."""
    import pandas as pd

    df = pd.DataFrame(wide, copy=False)
    w12 = df[[f"a{k}" for k in range(13)]].max(axis=1)
    w6 = df[[f"a{k}" for k in range(7)]].max(axis=1)
    spend = df[[f"s{k}" for k in range(12)]].sum(axis=1)
    mort, cred, card = df["mort"], df["cred"], df["card"]
    a_core, a_growth, a_plat, a_gold = w12 >= F_CORE, w12 >= F_GROWTH, w6 >= F_PLAT, w6 >= F_GOLD
    ge_growth = a_core | a_growth | (spend >= 500_000 * Y) | (mort >= 5_000_000 * Y) | (card == 4)
    ge_plat = (
        ge_growth
        | a_plat
        | (spend >= 100_000 * Y)
        | mort.between(1_500_000 * Y, 5_000_000 * Y, inclusive="left")
        | (cred >= 600_000 * Y)
    )
    ge_gold = ge_plat | a_gold | cred.between(300_000 * Y, 600_000 * Y, inclusive="left")
    tier = 4 - a_core.astype(int) - ge_growth.astype(int) - ge_plat.astype(int) - ge_gold.astype(int)
    k = pd.Series(0, index=df.index)
    for t, floor, w in _FLOORS:
        held = (tier == t) & {0: a_core, 1: a_growth, 2: a_plat, 3: a_gold}[t]
        alive = pd.Series(True, index=df.index)
        run = pd.Series(0, index=df.index)
        for back in range(w + 1):
            alive &= df[f"a{back}"] < floor
            run += alive.astype(int)
        k = k.where(~held, run)
    half = tier.where(tier > 1, 6).where(tier <= 1, 3)
    status = (k > 0).astype(int) + (k > half).astype(int)
    return tier.to_numpy(np.int8), status.to_numpy(np.int8)


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip", nargs="*", default=[], help="implementations to skip")
    args = ap.parse_args()
    t0 = time.perf_counter()
    p = generate(args.n, seed=args.seed)
    input_bytes = sum(getattr(p, c).nbytes for c in (*cv.MONEY_COLUMNS, "card_level"))
    print(
        f"portfolio: {p.n_customers:,} customers × {p.n_months} months, input arrays "
        f"{input_bytes / 2**30:.2f} GiB, generated in {time.perf_counter() - t0:.1f}s"
    )
    cp = compile_policy(cv.default_policy())
    ref = cv.evaluate(p, cp, previous=False)
    wide = _wide(p) if {"duckdb", "pandas"} - set(args.skip) else {}
    impls: dict[str, Callable[[], Any]] = {
        "floor": lambda: floor_pass(p),
        "numpy-hand": lambda: numpy_hand(p, full=False),
        "numpy-hand-full": lambda: numpy_hand(p, full=True),
        "polars": lambda: polars_impl(p),
        "duckdb": lambda: duckdb_sql(wide),
        "pandas": lambda: pandas_wide(wide),
        "custvalue": lambda: cv.evaluate(p, cp, previous=False),
        "custvalue-full": lambda: cv.evaluate(p, cp),
    }
    results: dict[str, float] = {}
    for name, fn in impls.items():
        if name in args.skip:
            continue
        med, out = timed(fn, args.repeat)
        results[name] = med
        if name in ("numpy-hand", "polars", "duckdb", "pandas"):
            tier, status = out
            assert np.array_equal(tier, ref.tier_codes), f"{name}: tiers differ from custvalue"
            assert np.array_equal(status, ref.status_codes), f"{name}: statuses differ from custvalue"
    base = results.get("numpy-hand")
    print(f"\n{'implementation':<18}{'median':>10}{'vs numpy-hand':>15}")
    for name, med in results.items():
        ratio = f"{med / base:.2f}×" if base else "-"
        print(f"{name:<18}{med * 1e3:>8.0f}ms{ratio:>15}")
    tracemalloc.start()
    cv.evaluate(p, cp)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"\ncustvalue-full peak traced memory: {peak / 2**20:.0f} MiB = "
        f"{peak / input_bytes:.3f}× the input arrays"
    )


if __name__ == "__main__":
    main()
