"""Balances files and snapshots: custvalue against polars, in one run.

    python benchmarks/bench_io.py --n 1000000 --repeat 3
    python benchmarks/bench_io.py --n 1000000 --formats parquet --repeat 5 --memory
    python benchmarks/bench_io.py --n 10000000 --formats snapshot --repeat 3

For each size, ``custvalue.synthetic.generate(n, seed=0)`` (``opened=None``:
opening dates are not in a balances file) and, for each format:

* **write**: ``write_balances`` against polars writing the *same long table*
  (one row per customer-month, money ``Decimal(18, 2)`` yuan, built
  beforehand and not timed) with ``write_csv`` / ``write_parquet`` (its
  defaults: zstd);
* **read**: ``read_balances`` of the file custvalue wrote (asserted equal to
  the portfolio) against polars reading **and pivoting the same file to the
  same exact arrays**: ``int64`` fen ``(n, T)`` month-major (Fortran order)
  money, ``int8`` card codes, customers in order of first appearance
  (asserted equal to custvalue's).  Money stays exact: Parquet decimals via
  ``to_physical()`` (the unscaled integer), CSV money read as
  ``Decimal(18, 2)`` by polars' CSV reader; never through float.  The pivot
  is what a strong polars user writes: customer codes from
  ``unique(maintain_order=True)`` joined back, month and card codes with
  ``replace_strict``, then one numpy scatter per column into ``np.zeros``
  Fortran arrays (polars' own ``pivot`` was 3× slower in this run's
  predecessor and is not used).  The peer checks nothing (no bad cells,
  gaps, duplicates): it is a floor for custvalue, which validates everything.
* **snapshot** (``--formats snapshot``): ``Portfolio.save`` and
  ``Portfolio.load`` (memory-mapped) with ``opened`` kept; the load time
  includes the validation pass.

Runs alternate (custvalue, polars, custvalue, polars, ...) so both see the
same machine load; the table shows medians over ``--repeat`` runs and the
ratio custvalue / polars (below 1: custvalue is faster).

``--memory`` adds custvalue's peak memory while reading, measured in a fresh
subprocess per format: the peak RSS (``VmHWM``) after reading minus the RSS before
(interpreter, numpy and pyarrow already loaded), as a multiple of the bytes
of the resulting arrays (6 × 8 × n × T money + n × T card codes), and the
tracemalloc peak (numpy's allocations; Arrow's own pool is not traced) as
the same multiple.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from custvalue import Portfolio
from custvalue.io import read_balances, write_balances
from custvalue.portfolio import CARD_LEVELS, MONEY_COLUMNS
from custvalue.synthetic import generate

LEVELS = list(CARD_LEVELS)
Row = tuple[str, str, float, float | None]


# ------------------------------------------------------------------ polars
def polars_long_frame(p: Portfolio) -> Any:
    """The long table of the balances file as a polars frame (money ``Decimal(18, 2)`` yuan)."""
    import polars as pl
    import pyarrow as pa

    t = p.n_months
    valid = (np.arange(t)[None, :] >= p.history_start[:, None]).reshape(-1)
    months = np.array([str(m) for m in p.months])

    def decimal(fen: np.ndarray) -> Any:
        words = np.zeros((fen.shape[0], 2), dtype=np.int64)
        words[:, 0] = fen
        return pa.Array.from_buffers(pa.decimal128(18, 2), fen.shape[0], [None, pa.py_buffer(words)])

    cols: dict[str, Any] = {
        "customer_id": pa.array(np.repeat(p.customer_ids, t)[valid]),
        "branch_id": pa.array(np.repeat(p.branch_ids, t)[valid]),
        "month": pa.array(np.tile(months, p.n_customers)[valid]),
    }
    for c in MONEY_COLUMNS:
        cols[c] = decimal(np.ascontiguousarray(getattr(p, c)).reshape(-1)[valid])
    cols["card_level"] = pa.array(np.array(LEVELS)[np.ascontiguousarray(p.card_level).reshape(-1)[valid]])
    return pl.from_arrow(pa.table(cols))


def _polars_pivot(df: Any) -> dict[str, np.ndarray]:
    """Dense month-major arrays from a long frame with exact int64 fen money columns."""
    import polars as pl

    months = sorted(df.get_column("month").unique().to_list())
    df = df.with_columns(
        pl.col("month").replace_strict(months, list(range(len(months))), return_dtype=pl.Int64).alias("_m"),
        pl.col("card_level").replace_strict(LEVELS, list(range(len(LEVELS))), return_dtype=pl.Int8),
    )
    uniq = df.select(pl.col("customer_id").unique(maintain_order=True)).with_row_index("_c")
    df = df.join(uniq, on="customer_id", how="left", maintain_order="left")
    n, t = uniq.height, len(months)
    flat = (df.get_column("_m") * n + df.get_column("_c").cast(pl.Int64)).to_numpy()
    out: dict[str, np.ndarray] = {"customer_ids": uniq.get_column("customer_id").to_numpy()}
    for c in MONEY_COLUMNS:
        a = np.zeros((n, t), dtype=np.int64, order="F")
        a.T.reshape(-1)[flat] = df.get_column(c).to_numpy()
        out[c] = a
    cards = np.zeros((n, t), dtype=np.int8, order="F")
    cards.T.reshape(-1)[flat] = df.get_column("card_level").to_numpy()
    out["card_level"] = cards
    return out


def polars_read_parquet(path: Path) -> dict[str, np.ndarray]:
    import polars as pl

    df = pl.read_parquet(path).with_columns(
        pl.col("month").cast(pl.String),
        pl.col("card_level").cast(pl.String),
        *[pl.col(c).to_physical().cast(pl.Int64) for c in MONEY_COLUMNS],  # unscaled decimal = fen
    )
    return _polars_pivot(df)


def polars_read_csv(path: Path) -> dict[str, np.ndarray]:
    import polars as pl

    df = pl.read_csv(
        path,
        schema_overrides={"month": pl.String, **{c: pl.Decimal(18, 2) for c in MONEY_COLUMNS}},
    ).with_columns(*[pl.col(c).to_physical().cast(pl.Int64) for c in MONEY_COLUMNS])
    return _polars_pivot(df)


def _same_arrays(p: Portfolio, arrays: dict[str, np.ndarray]) -> None:
    assert arrays["customer_ids"].tolist() == p.customer_ids.tolist()
    for c in (*MONEY_COLUMNS, "card_level"):
        assert np.array_equal(arrays[c], getattr(p, c)), c


# ------------------------------------------------------------------ memory
_MEMORY = r"""
import json, resource, sys, tracemalloc
import numpy as np, pyarrow, pyarrow.parquet, pyarrow.csv, pyarrow.compute
from custvalue.io import read_balances
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()
before = rss()
tracemalloc.start()
p = read_balances(sys.argv[1])
traced = tracemalloc.get_traced_memory()[1]
# the high-water mark of this process image (ru_maxrss would include the parent's, across exec)
with open("/proc/self/status") as f:
    peak = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM"))
arrays = sum(getattr(p, c).nbytes for c in ("deposits", "wealth", "investments", "mortgage_loan",
                                           "credit_loan", "card_spend", "card_level"))
print(json.dumps({"before": before, "peak": peak, "traced": traced, "arrays": arrays}))
"""


def read_memory(path: Path) -> dict[str, float]:
    cmd = [sys.executable, "-c", _MEMORY, str(path)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    m = json.loads(out.stdout)
    return {
        "rss_multiple": (m["peak"] - m["before"]) / m["arrays"],
        "traced_multiple": m["traced"] / m["arrays"],
        "peak_mb": m["peak"] / 2**20,
        "arrays_mb": m["arrays"] / 2**20,
    }


# -------------------------------------------------------------------- runs
def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def alternate(
    repeat: int, jobs: dict[str, Callable[[], Any]], check: Callable[[str, Any], None]
) -> dict[str, float]:
    """Median seconds of each job, the jobs run in turn ``repeat`` times; ``check`` sees each result."""
    times: dict[str, list[float]] = {k: [] for k in jobs}
    for _ in range(repeat):
        for name, job in jobs.items():
            seconds, result = timed(job)
            check(name, result)
            del result
            times[name].append(seconds)
    return {k: statistics.median(v) for k, v in times.items()}


def run_size(n: int, args: argparse.Namespace) -> tuple[list[Row], dict[str, dict[str, float]]]:
    """All measurements for one portfolio size."""
    rows: list[Row] = []
    memory: dict[str, dict[str, float]] = {}
    p = generate(n, months=args.months, seed=0)
    plain = attrs.evolve(p, opened=None)
    frame = None
    if not args.no_polars and {"csv", "parquet"} & set(args.formats):
        frame = polars_long_frame(plain)
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        for fmt in args.formats:
            label = f"{n:,} × {args.months} {fmt}"
            if fmt == "snapshot":
                rows += snapshot_rows(p, Path(d) / "portfolio.arrow", label, args.repeat)
                continue
            got, mem = file_rows(fmt, plain, frame, Path(d), label, args)
            rows += got
            memory.update(mem)
    return rows, memory


def file_rows(
    fmt: str, plain: Portfolio, frame: Any, d: Path, label: str, args: argparse.Namespace
) -> tuple[list[Row], dict[str, dict[str, float]]]:
    """Write and read one balances file format, custvalue against polars."""
    f = d / f"custvalue.{fmt}"
    g = d / f"polars.{fmt}"
    writers: dict[str, Callable[[], Any]] = {"custvalue": lambda: write_balances(plain, f)}
    readers: dict[str, Callable[[], Any]] = {"custvalue": lambda: read_balances(f)}
    if frame is not None:
        if fmt == "csv":
            writers["polars"] = lambda: frame.write_csv(g)
            readers["polars"] = lambda: polars_read_csv(f)
        else:
            writers["polars"] = lambda: frame.write_parquet(g)
            readers["polars"] = lambda: polars_read_parquet(f)
    w = alternate(args.repeat, writers, lambda k, r: None)

    def check(name: str, result: Any) -> None:
        if name == "custvalue":
            assert result == plain
        else:
            _same_arrays(plain, result)

    r = alternate(args.repeat, readers, check)
    rows: list[Row] = [
        (label, "write", w["custvalue"], w.get("polars")),
        (label, "read", r["custvalue"], r.get("polars")),
    ]
    print(
        f"{label}: write {w['custvalue']:.2f} s (polars {w.get('polars', float('nan')):.2f}), "
        f"read {r['custvalue']:.2f} s (polars {r.get('polars', float('nan')):.2f}), "
        f"{f.stat().st_size / 1e6:.1f} MB",
        flush=True,
    )
    memory: dict[str, dict[str, float]] = {}
    if args.memory:
        memory[label] = m = read_memory(f)
        print(
            f"{label}: read peak RSS {m['peak_mb']:.0f} MB, "
            f"{m['rss_multiple']:.2f}× the arrays ({m['arrays_mb']:.0f} MB) above the "
            f"interpreter; tracemalloc peak {m['traced_multiple']:.2f}×",
            flush=True,
        )
    return rows, memory


def snapshot_rows(p: Portfolio, f: Path, label: str, repeat: int) -> list[Row]:
    save = alternate(repeat, {"save": lambda: p.save(f)}, lambda k, r: None)["save"]

    def same(name: str, q: Any) -> None:
        assert q == attrs.evolve(p, opened=q.opened)

    load = alternate(repeat, {"load": lambda: Portfolio.load(f)}, same)["load"]
    size = f.stat().st_size / 2**30
    print(f"{label}: save {save:.3f} s, load {load:.3f} s (mapped, validated), {size:.2f} GiB", flush=True)
    return [(label, "save", save, None), (label, "load (mapped, validated)", load, None)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--months", type=int, default=14)
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    ap.add_argument("--formats", nargs="+", default=["parquet", "csv", "snapshot"])
    ap.add_argument("--memory", action="store_true", help="peak memory of read_balances (subprocess)")
    ap.add_argument("--no-polars", action="store_true", help="custvalue only")
    ap.add_argument("--dir", default=None, help="directory for the files (default: a temp dir)")
    args = ap.parse_args()
    rows: list[Row] = []
    memory: dict[str, dict[str, float]] = {}
    for n in args.n:
        more, mem = run_size(n, args)
        rows += more
        memory.update(mem)
    print()
    print(f"median of {args.repeat} runs, custvalue and polars alternating")
    print("| file | operation | custvalue | polars | custvalue / polars |")
    print("|---|---|---|---|---|")
    for label, op, cv, other in rows:
        ratio = f"{cv / other:.2f}" if other else ""
        shown = f"{other:.2f} s" if other else ""
        print(f"| {label} | {op} | {cv:.3f} s | {shown} | {ratio} |")
    for label, m in memory.items():
        print(
            f"| {label} | read peak memory | {m['rss_multiple']:.2f}× arrays (RSS above the interpreter), "
            f"tracemalloc {m['traced_multiple']:.2f}× | | |"
        )


if __name__ == "__main__":
    main()
