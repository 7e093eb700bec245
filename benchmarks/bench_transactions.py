"""Benchmark: large-transaction rules on 10M transactions over 1M customers, against polars.

Builds ``--n`` synthetic transactions (default 10 million) over
``--customers`` customers (default 1 million) with
:func:`custvalue.analytics.synthetic_transactions` (sorted once by customer
and timestamp when built; that time is printed apart), then times, median of
``--repeat`` runs in the same process:

* custvalue: :func:`~custvalue.analytics.large_transactions` with the
  default policy's ``single``, ``window_sum`` (outflows within 30 days) and
  ``structuring`` (3 within 7 days just below 50,000 yuan) rules;
* polars: the same rules on a frame built beforehand from the same sorted
  columns: filters, ``rolling_sum_by(..., closed="right").over(customer)``
  for the 30-day outflow sums and the 7-day counts, the last row of each
  (customer, second) as the window end.

Both results are checked to agree exactly (every alert: rule, customer,
window end, sum, count) before any time is printed.  The ``aum_share`` rule
needs a portfolio and is left out here (polars has no peer for it).

Run::

    .venv/bin/python benchmarks/bench_transactions.py            # 10M x 1M
    .venv/bin/python benchmarks/bench_transactions.py --n 1_000_000 --customers 100_000
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from custvalue import default_policy
from custvalue.analytics import large_transactions, synthetic_transactions
from custvalue.policy import Policy

DAY = 86_400


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def rules_policy() -> Policy:
    pol = default_policy()
    return attrs.evolve(pol, transactions=tuple(r for r in pol.transactions if r.kind != "aum_share"))


def polars_rules(pl: Any, df: Any, pol: Policy) -> dict[str, Any]:
    """The same rules in polars: one lazy query per rule, collected together."""
    scale = pol.scale
    out = {}
    lazy = df.lazy()
    for rule in pol.transactions:
        q = lazy
        if rule.direction != "any":
            q = q.filter(pl.col("direction") == (1 if rule.direction == "out" else 0))
        if rule.kind == "single":
            assert rule.threshold is not None
            out[rule.id] = q.filter(pl.col("amount") >= int(rule.threshold * scale)).select(
                "customer", "ts", pl.col("amount").alias("sum"), pl.lit(1, dtype=pl.Int64).alias("count")
            )
            continue
        assert rule.days is not None and rule.threshold is not None
        if rule.kind == "structuring":
            assert rule.margin is not None
            hi, lo = int(rule.threshold * scale), int((rule.threshold - rule.margin) * scale)
            q = q.filter((pl.col("amount") >= lo) & (pl.col("amount") < hi))
        window = f"{rule.days}d"
        q = q.with_columns(
            pl.col("amount")
            .rolling_sum_by("ts", window_size=window, closed="right")
            .over("customer")
            .alias("sum"),
            (pl.col("amount") > 0)
            .cast(pl.Int64)
            .rolling_sum_by("ts", window_size=window, closed="right")
            .over("customer")
            .alias("count"),
        )
        # one window end per (customer, second): the last row at that second
        q = q.filter(~(pl.struct("customer", "ts") == pl.struct("customer", "ts").shift(-1)).fill_null(False))
        if rule.kind == "window_sum":
            q = q.filter(pl.col("sum") >= int(rule.threshold * scale))
        else:
            assert rule.count is not None
            q = q.filter(pl.col("count") >= rule.count)
        out[rule.id] = q.select("customer", "ts", "sum", "count")
    frames = pl.collect_all(list(out.values()))
    return dict(zip(out, frames, strict=True))


def polars_alerts(frames: dict[str, Any]) -> set[tuple[str, int, int, int, int]]:
    result = set()
    for rule, f in frames.items():
        ts = f["ts"].dt.epoch("s").to_numpy() if f.height else np.zeros(0, np.int64)
        result.update(
            zip(
                [rule] * f.height,
                f["customer"].to_list(),
                ts.tolist(),
                f["sum"].to_list(),
                f["count"].to_list(),
                strict=True,
            )
        )
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=lambda s: int(s.replace("_", "")), default=10_000_000)
    ap.add_argument("--customers", type=lambda s: int(s.replace("_", "")), default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import polars as pl

    t0 = time.perf_counter()
    t = synthetic_transactions(args.n, args.customers, seed=args.seed)
    built = time.perf_counter() - t0
    pol = rules_policy()
    df = pl.DataFrame(
        {
            "customer": t.customer_codes,
            "ts": pl.Series(t.timestamps.view(np.int64) * 1000).cast(pl.Datetime("ms")),
            "amount": t.amounts,
            "direction": t.direction_codes,
        }
    )
    print(f"{len(t):,} transactions over {t.n_customers:,} customers; built and sorted in {built:.2f} s")
    rule_ids = ", ".join(r.id for r in pol.transactions)
    print(f"rules: {rule_ids}; polars {pl.__version__}, {pl.thread_pool_size()} threads")

    cv_time, cv = timed(lambda: large_transactions(t, pol), args.repeat)
    pl_time, frames = timed(lambda: polars_rules(pl, df, pol), args.repeat)

    code = np.searchsorted(t.customer_ids, cv.customer_ids)
    ours = set(
        zip(
            cv.rules().tolist(),
            code.tolist(),
            cv.window_end.astype(np.int64).tolist(),
            cv.amount.tolist(),
            cv.count.tolist(),
            strict=True,
        )
    )
    theirs = polars_alerts(frames)
    if ours != theirs or len(ours) != len(cv):
        raise SystemExit(
            f"disagreement: custvalue {len(ours):,} alerts, polars {len(theirs):,}; "
            f"only custvalue {sorted(ours - theirs)[:5]}, only polars {sorted(theirs - ours)[:5]}"
        )
    per_rule = np.bincount(cv.rule_codes, minlength=len(cv.rule_ids)).tolist()
    counts = dict(zip(cv.rule_ids, per_rule, strict=True))
    print(f"agree exactly: {len(cv):,} alerts {counts}")
    print(f"custvalue large_transactions   {cv_time * 1000:9.1f} ms  (median of {args.repeat})")
    print(f"polars rolling_sum_by + over   {pl_time * 1000:9.1f} ms  (median of {args.repeat})")
    print(f"ratio custvalue / polars       {cv_time / pl_time:9.2f}x  (target <= 2x)")
    print(f"peak RSS {peak_rss_mb():,.0f} MiB")


if __name__ == "__main__":
    main()
