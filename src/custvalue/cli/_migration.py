"""``custvalue migration``: the tier migration between two months of a balances file."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from .._optional import import_optional
from ..io import atomic_write, check_output, file_format
from ..money import format_yuan
from ..months import Month
from ..tiering import MigrationMatrix, tier_migration
from ._common import add_balances_options, policy_arg, read_balances_args
from ._whatif import changes

#: Columns of the ``--out`` file: one row per (from, to) cell.
MIGRATION_COLUMNS = ("from_tier", "to_tier", "customers", "aum")


def register(sub: Any) -> None:
    m = sub.add_parser(
        "migration",
        help="the tier migration between two months",
        description="Evaluate a balances file at two months and print the tier migration matrix "
        "(rows: --from, columns: --to; '(none)' is no tier, e.g. a customer not there yet). "
        "--out also writes it, one row per cell: "
        + ", ".join(MIGRATION_COLUMNS)
        + " (AUM in yuan at the --to month).",
        epilog="example:\n  custvalue migration --balances balances.csv --from 2025-10 --to 2026-10",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_balances_options(m)
    m.add_argument("--from", dest="from_month", required=True, metavar="YYYY-MM", help="the earlier month")
    m.add_argument("--to", dest="to_month", required=True, metavar="YYYY-MM", help="the later month")
    m.add_argument(
        "--policy", metavar="FILE", help="policy document (.toml or .json); default policy if omitted"
    )
    m.add_argument("--out", metavar="FILE", help="also write the matrix (.csv or .parquet)")
    m.set_defaults(handler=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.out:
        fmt = file_format(args.out)
        check_output(args.out, inputs=[args.balances, args.policy, args.columns])
    policy = policy_arg(args.policy)
    first, last = Month.coerce(args.from_month), Month.coerce(args.to_month)
    portfolio = read_balances_args(args, err, policy=policy)
    m = tier_migration(portfolio, policy, first, last)
    out.write(f"tier migration {first} → {last}: {portfolio.n_customers:,} customers\n\n")
    out.write(m.text() + "\n\n" + changes(m) + "\n")
    if args.out:
        write_matrix(m, Path(args.out), fmt)
        out.write(f"wrote the migration matrix to {args.out}\n")
    return 0


def write_matrix(m: MigrationMatrix, path: Path, fmt: str) -> Path:
    """One row per cell: from tier, to tier, customers and AUM (yuan, exact), atomically."""
    labels = list(m.labels)
    k = len(labels)
    frm = np.repeat(np.array(labels), k)
    to = np.tile(np.array(labels), k)
    counts = m.counts.reshape(-1)
    aum = m.aum.reshape(-1)
    if fmt == "csv":

        def write(tmp: Path) -> None:
            with tmp.open("w", newline="", encoding="utf-8") as f:
                w = csv.writer(f, lineterminator="\n")
                w.writerow(MIGRATION_COLUMNS)
                for row in zip(frm.tolist(), to.tolist(), counts.tolist(), aum.tolist(), strict=True):
                    w.writerow([row[0], row[1], row[2], format_yuan(int(row[3]), thousands=False)])

        return atomic_write(path, write)
    pa = import_optional("pyarrow", extra="parquet", feature="writing Parquet")
    pq = import_optional("pyarrow.parquet", extra="parquet", feature="writing Parquet")
    words = np.empty((aum.shape[0], 2), dtype=np.int64)
    words[:, 0] = aum
    words[:, 1] = aum >> 63
    table = pa.table(
        {
            "from_tier": pa.array(frm.tolist(), type=pa.string()),
            "to_tier": pa.array(to.tolist(), type=pa.string()),
            "customers": pa.array(counts, type=pa.int64()),
            "aum": pa.Array.from_buffers(pa.decimal128(38, 2), aum.shape[0], [None, pa.py_buffer(words)]),
        }
    )
    return atomic_write(path, lambda tmp: pq.write_table(table, tmp))
