"""Tier + status over a synthetic portfolio: custvalue against its peers, in one run.

Implementations (all compute the default policy's tier and status at the
as-of month from the same Portfolio arrays):

* ``floor``        one numpy pass reading every input column once (a lower bound)
* ``numpy-hand``   hand-written numpy as a performance engineer writes it: one
                   thread over the portfolio's month-major arrays (no transposes),
                   cache-sized row blocks chosen by a sweep in the same run, one
                   AUM block per row block, strided maxima over it (the 12-month
                   maximum extends the 6-month one), exact int64 window sums,
                   "at least this tier" flags, and walking back through months
                   only for the few customers held by AUM and below their floor
* ``numpy-hand-full``  the same plus the previous month, movement, churn,
                   events and reason bits (every column checked against custvalue)
* ``polars``       polars lazy expressions on a wide frame of the raw monthly
                   columns built beforehand (AUM summed in the query; needs polars)
* ``duckdb``       one DuckDB SQL query over a wide Arrow table, 2 threads (needs duckdb)
* ``pandas``       pandas, wide frame, whole-column operations (needs pandas)

DuckDB and pandas are handed the wide columns (AUM already summed per month)
built outside the timing, which favours them; custvalue and numpy start
from the Portfolio arrays.
* ``custvalue``    ``evaluate(..., previous=False)``: tier + status
* ``custvalue-full``  ``evaluate(...)``: + previous tier, movement, churn, events, reasons
* ``custvalue-2threads`` (and ``-full-``) the same with ``threads=2``

Every implementation's tiers and statuses are checked against custvalue's.
Reports the median of ``--repeat`` runs and the ratio to ``numpy-hand``, plus
custvalue's peak traced memory as a multiple of the input arrays.

    python benchmarks/bench_tiering.py --n 1000000
    python benchmarks/bench_tiering.py --n 1000000 10000000     # both tables, one run
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


# rule order of custvalue's default tier table (for the reason bits of the full peer)
_BIT = {
    "core.aum": 0,
    "growth.aum": 1,
    "growth.card_spend": 2,
    "growth.mortgage": 3,
    "growth.diamond_card": 4,
    "platinum.aum": 5,
    "platinum.card_spend": 6,
    "platinum.mortgage": 7,
    "platinum.credit_loan": 8,
    "gold.aum": 9,
    "gold.credit_loan": 10,
    "potential.default": 11,
}
_TIER_BITS = np.array([0b1, 0b11110, 0b111100000, 0b11000000000, 0b100000000000], dtype=np.uint16)
_FLOORS = ((0, F_CORE, 12), (1, F_GROWTH, 12), (2, F_PLAT, 6), (3, F_GOLD, 6))
_HALF = np.array([6, 6, 3, 3, 0])  # observation up to this many months below, attention beyond


def _hand_month(
    aum: np.ndarray,
    spend_months: np.ndarray,
    mort: np.ndarray,
    cred: np.ndarray,
    card: np.ndarray,
    hs: np.ndarray,
    hs_max: int,
    a: int,
    c: int,
    reasons: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Tier (0=core..4), held-by-AUM flag, status and reason bits at block month ``c`` (absolute ``a``).

    ``aum`` and ``spend_months`` are month-major ``(months, rows)`` blocks (cache resident).
    """
    w6 = np.maximum.reduce(aum[c - 6 : c + 1], axis=0)
    w12 = np.maximum(w6, np.maximum.reduce(aum[max(0, c - 12) : c - 6], axis=0))
    spend = np.add.reduce(spend_months, axis=0)
    a_core = w12 >= F_CORE
    a_growth = w12 >= F_GROWTH
    a_plat = w6 >= F_PLAT
    a_gold = w6 >= F_GOLD
    s_growth, m_growth, diamond = spend >= 500_000 * Y, mort >= 5_000_000 * Y, card == 4
    s_plat = spend >= 100_000 * Y
    m_plat = (mort >= 1_500_000 * Y) & (mort < 5_000_000 * Y)
    c_plat = cred >= 600_000 * Y
    c_gold = (cred >= 300_000 * Y) & (cred < 600_000 * Y)
    # "at least this tier" flags
    ge_growth = a_core | a_growth | s_growth | m_growth | diamond
    ge_plat = ge_growth | a_plat | s_plat | m_plat | c_plat
    ge_gold = ge_plat | a_gold | c_gold
    tier = 4 - a_core.view(np.int8) - ge_growth.view(np.int8) - ge_plat.view(np.int8) - ge_gold.view(np.int8)
    # held through a tier's AUM rule: it holds and no higher tier's rule does
    held = (a_core, a_growth & ~a_core, a_plat & ~ge_growth, a_gold & ~ge_plat)
    k = np.zeros(tier.shape, np.int16)
    now = aum[c]
    for t, floor, w in _FLOORS:
        sel = np.flatnonzero(held[t] & (now < floor))
        if sel.size == 0:
            continue
        alive = np.ones(sel.size, bool)
        ks = np.zeros(sel.size, np.int16)
        hsel = hs[sel]
        for back in range(w + 1):
            if c - back < 0:
                break
            alive &= aum[c - back, sel] < floor
            if hs_max > a - back:
                alive &= hsel <= a - back
            ks += alive
        k[sel] = ks
    status = (k > 0).view(np.int8) + (k > _HALF[tier]).view(np.int8)
    by_aum = held[0] | held[1] | held[2] | held[3]
    bits = None
    if reasons:
        flags = (
            a_core,
            a_growth,
            s_growth,
            m_growth,
            diamond,
            a_plat,
            s_plat,
            m_plat,
            c_plat,
            a_gold,
            c_gold,
        )
        b16 = np.full(tier.shape, 1 << 11, np.uint16)
        for r, f in enumerate(flags):
            b16 |= f.view(np.uint8).astype(np.uint16) << np.uint16(r)
        bits = (b16 & _TIER_BITS[tier]).astype(np.uint64)
    return tier, by_aum, status, bits


def numpy_hand(p: cv.Portfolio, full: bool, block: int = 32768) -> dict[str, np.ndarray]:
    """Hand-written numpy over the portfolio's month-major arrays, one thread, cache-sized blocks.

    Tier + status, or (``full``) also previous tier, movement, churn, events and reasons.
    """
    n, t = p.n_customers, p.n_months
    a = t - 1
    lo = max(0, a - (13 if full else 12))
    dep, wea, inv, spd = p.deposits.T, p.wealth.T, p.investments.T, p.card_spend.T  # (months, n) views
    mort, cred, card = p.mortgage_loan.T, p.credit_loan.T, p.card_level.T
    hs_all = p.history_start
    out = {"tier": np.empty(n, np.int8), "status": np.empty(n, np.int8)}
    if full:
        for name in ("previous_tier", "movement", "churned_tier"):
            out[name] = np.empty(n, np.int8)
        out["reason_bits"] = np.empty(n, np.uint64)
        ev_c, ev_t = [], []
    for s in range(0, n, block):
        e = min(n, s + block)
        aum = dep[lo:, s:e] + wea[lo:, s:e]
        aum += inv[lo:, s:e]
        hs = hs_all[s:e]
        hs_max = int(hs.max())
        c = a - lo
        tier, _, status, bits = _hand_month(
            aum, spd[a - 11 : a + 1, s:e], mort[a, s:e], cred[a, s:e], card[a, s:e], hs, hs_max, a, c, full
        )
        if hs_max > a:
            absent = hs > a
            tier[absent], status[absent] = -1, 0
            if bits is not None:
                bits[absent] = 0
        out["tier"][s:e] = tier
        out["status"][s:e] = status
        if not full:
            continue
        ptier, pheld, pstatus, _ = _hand_month(
            aum,
            spd[a - 12 : a, s:e],
            mort[a - 1, s:e],
            cred[a - 1, s:e],
            card[a - 1, s:e],
            hs,
            hs_max,
            a - 1,
            c - 1,
            False,
        )
        has_prev = hs <= a - 1
        up, down = (tier < ptier) & has_prev, (tier > ptier) & has_prev
        movement = np.where(has_prev, 3, 0).astype(np.int8)
        movement[up], movement[down] = 1, 2
        churned = np.where(down & pheld, ptier, -1).astype(np.int8)
        pstatus = np.where(has_prev, pstatus, -1)
        out["previous_tier"][s:e] = np.where(has_prev, ptier, -1)
        out["movement"][s:e] = movement
        out["churned_tier"][s:e] = churned
        out["reason_bits"][s:e] = bits
        conds = (up, down, (status == 1) & (pstatus != 1), (status == 2) & (pstatus != 2), churned >= 0)
        idx = [np.flatnonzero(x) for x in conds]
        cust = np.concatenate(idx) + s
        code = np.concatenate([np.full(i.size, k, np.int8) for k, i in enumerate(idx)])
        order = np.lexsort((code, cust))
        ev_c.append(cust[order])
        ev_t.append(code[order])
    if full:
        out["event_customer"] = np.concatenate(ev_c)
        out["event_code"] = np.concatenate(ev_t)
    return out


def polars_frame(p: cv.Portfolio) -> Any:
    """The wide polars frame the polars peer starts from (built outside the timing)."""
    import polars as pl

    a = p.n_months - 1
    cols: dict[str, Any] = {}
    for j in range(max(0, a - 12), a + 1):
        for name in ("deposits", "wealth", "investments"):
            cols[f"{name[0]}{j}"] = p.column(name)[:, j]
    for j in range(max(0, a - 11), a + 1):
        cols[f"s{j}"] = p.card_spend[:, j]
    cols["mort"], cols["cred"], cols["card"] = p.mortgage_loan[:, a], p.credit_loan[:, a], p.card_level[:, a]
    cols["hs"] = p.history_start
    return pl.DataFrame(cols)


def polars_impl(df: Any, a: int) -> tuple[np.ndarray, np.ndarray]:
    """Tier + status with polars lazy expressions over the wide frame.

    Written the way a polars user would: AUM per month computed once as
    columns, then the window features, then the tier and the months below
    the floor (all in one lazy query; polars runs the columns in parallel).
    """
    import polars as pl

    months = range(max(0, a - 12), a + 1)
    aum = [(pl.col(f"d{j}") + pl.col(f"w{j}") + pl.col(f"i{j}")).alias(f"a{j}") for j in months]
    A = [pl.col(f"a{j}") for j in months]
    feats = [
        pl.max_horizontal(A[-7:]).alias("w6"),
        pl.max_horizontal(A).alias("w12"),
        pl.sum_horizontal([pl.col(f"s{j}") for j in range(max(0, a - 11), a + 1)]).alias("spend"),
    ]
    w6, w12, spend = pl.col("w6"), pl.col("w12"), pl.col("spend")
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
        # trailing months below floor (and in the customer's history): nested "still below" flags
        acc = pl.lit(0)
        alive = pl.lit(True)
        for back in range(w + 1):
            if back < len(A):
                alive = alive & (A[-1 - back] < floor) & (pl.col("hs") <= a - back)
            else:
                alive = alive & pl.lit(False)
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
    out = (
        df.lazy()
        .with_columns(aum)
        .with_columns(feats)
        .with_columns(tier)
        .with_columns(k.alias("k"))
        .select(["tier", status])
        .collect()
    )
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


def _agree(name: str, got: dict[str, np.ndarray], ref: cv.TierResult) -> None:
    """Assert a peer's columns equal custvalue's (full peers: every column and the events)."""
    fields = {
        "tier": ref.tier_codes,
        "status": ref.status_codes,
        "previous_tier": ref.previous_tier_codes,
        "movement": ref.movement_codes,
        "churned_tier": ref.churned_tier_codes,
        "reason_bits": ref.reason_bits,
        "event_customer": ref.events.customer_index,
        "event_code": ref.events.event_codes,
    }
    for key, value in got.items():
        assert np.array_equal(value, fields[key]), f"{name}: {key} differs from custvalue"


def sweep_blocks(p: cv.Portfolio, repeat: int) -> int:
    """The hand-written peer's fastest block size on this machine (the peer is tuned, not guessed)."""
    best = (float("inf"), 0)
    for block in (4096, 8192, 16384, 32768, 65536, 131072):
        med, _ = timed(lambda block=block: numpy_hand(p, full=False, block=block), repeat)
        print(f"  numpy-hand block {block:>7,}: {med * 1e3:7.1f} ms")
        best = min(best, (med, block))
    return best[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[1_000_000], help="portfolio sizes, one table each")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip", nargs="*", default=[], help="implementations to skip")
    ap.add_argument(
        "--block", type=int, default=0, help="hand-written block size (0: sweep and take the best)"
    )
    ap.add_argument("--threads", type=int, default=2, help="threads for the custvalue-threads rows")
    args = ap.parse_args()
    for n in args.n:
        run(n, args)


def run(n: int, args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    p = generate(n, seed=args.seed)
    input_bytes = sum(getattr(p, c).nbytes for c in (*cv.MONEY_COLUMNS, "card_level"))
    print(
        f"portfolio: {p.n_customers:,} customers × {p.n_months} months, input arrays "
        f"{input_bytes / 2**30:.2f} GiB, generated in {time.perf_counter() - t0:.1f}s"
    )
    cp = compile_policy(cv.default_policy())
    ref = cv.evaluate(p, cp)
    block = args.block or sweep_blocks(p, args.repeat)
    wide = _wide(p) if {"duckdb", "pandas"} - set(args.skip) else {}
    frame = polars_frame(p) if "polars" not in args.skip else None
    a = p.n_months - 1
    th = args.threads
    impls: dict[str, Callable[[], Any]] = {
        "floor": lambda: floor_pass(p),
        "numpy-hand": lambda: numpy_hand(p, full=False, block=block),
        "numpy-hand-full": lambda: numpy_hand(p, full=True, block=block),
        "polars": lambda: polars_impl(frame, a),
        "duckdb": lambda: duckdb_sql(wide),
        "pandas": lambda: pandas_wide(wide),
        "custvalue": lambda: cv.evaluate(p, cp, previous=False),
        "custvalue-full": lambda: cv.evaluate(p, cp),
        f"custvalue-{th}threads": lambda: cv.evaluate(p, cp, previous=False, threads=th),
        f"custvalue-full-{th}threads": lambda: cv.evaluate(p, cp, threads=th),
    }
    results: dict[str, float] = {}
    for name, fn in impls.items():
        if name in args.skip:
            continue
        med, out = timed(fn, args.repeat)
        results[name] = med
        if isinstance(out, dict):
            _agree(name, out, ref)
        elif isinstance(out, tuple):
            _agree(name, {"tier": out[0], "status": out[1]}, ref)
        elif isinstance(out, cv.TierResult):
            assert np.array_equal(out.tier_codes, ref.tier_codes) and np.array_equal(
                out.status_codes, ref.status_codes
            ), f"{name}: differs from custvalue"
    base, base_full = results.get("numpy-hand"), results.get("numpy-hand-full")
    print(f"\n{'implementation':<26}{'median':>10}{'vs numpy-hand':>15}{'vs numpy-hand-full':>20}")
    for name, med in results.items():
        ratio = f"{med / base:.2f}×" if base else "-"
        ratio_full = f"{med / base_full:.2f}×" if base_full else "-"
        print(f"{name:<26}{med * 1e3:>8.0f}ms{ratio:>15}{ratio_full:>20}")
    if "floor" in results and base:
        print(f"\nnumpy-hand is {base / results['floor']:.2f}× the one-pass floor (block {block:,} rows)")
    tracemalloc.start()
    cv.evaluate(p, cp)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"custvalue-full peak traced memory: {peak / 2**20:.0f} MiB = "
        f"{peak / input_bytes:.3f}× the input arrays (beyond them)"
    )


if __name__ == "__main__":
    main()
