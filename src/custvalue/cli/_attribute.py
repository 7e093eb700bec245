"""``custvalue attribute``: AUM attributed to account managers by the shares in an allocation book."""

from __future__ import annotations

import argparse
import calendar
import csv
import datetime as _dt
from pathlib import Path
from typing import Any, Final, TextIO

import numpy as np

from .._optional import import_optional
from ..allocation import Attribution, attribute
from ..io import atomic_write, check_output, file_format
from ..money import format_yuan
from ..months import Month
from ._allocate import load_book
from ._common import add_balances_options, policy_arg, read_balances_args

#: Columns of the ``--out`` file, one row per manager.
ATTRIBUTION_COLUMNS: Final = ("manager_id", "branch_id", "customers", "aum")


def register(sub: Any) -> None:
    a = sub.add_parser(
        "attribute",
        help="attribute AUM to account managers by their shares",
        description="Split each customer's AUM at the as-of month (the policy's AUM definition) "
        "across its managers by the shares in force at the end of that month (largest remainder, "
        "exact to the fen) and write one row per manager: "
        + ", ".join(ATTRIBUTION_COLUMNS)
        + " (AUM in yuan).  Unallocated customers' AUM counts towards their branch (printed).",
        epilog="example:\n  custvalue attribute --book book.json --balances balances.csv --as-of 2026-10 "
        "--out by_manager.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    a.add_argument("--book", required=True, metavar="FILE", help="allocation book (.json, see allocate)")
    add_balances_options(a)
    a.add_argument("--as-of", required=True, metavar="YYYY-MM", help="month of the AUM and the shares")
    a.add_argument("--out", required=True, metavar="FILE", help="result file (.csv or .parquet)")
    a.add_argument(
        "--policy", metavar="FILE", help="policy whose AUM definition is used (default policy if omitted)"
    )
    a.add_argument(
        "--date", metavar="YYYY-MM-DD", help="date of the shares (default: the last day of --as-of)"
    )
    a.set_defaults(handler=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    fmt = file_format(args.out)
    check_output(args.out, inputs=[args.book, args.balances, args.policy, args.columns])
    month = Month.coerce(args.as_of)
    day = _dt.date.fromisoformat(args.date) if args.date else _month_end(month)
    book = load_book(Path(args.book))
    policy = policy_arg(args.policy)

    class _Aum:  # only the AUM classes are needed
        input_columns = tuple(policy.aum)

    portfolio = read_balances_args(args, err, policy=_Aum())
    aum = portfolio.aum(policy.aum)[:, portfolio.months.index(month)]
    ids = portfolio.customer_ids
    in_book = np.isin(ids, book.customer_ids)
    outside = int(np.count_nonzero(~in_book))
    if outside:
        lost = int(aum[~in_book].sum(dtype=np.int64))
        err.write(
            f"custvalue: note: {outside:,} customers of the balances file are not in the book; their AUM "
            f"({format_yuan(lost)} yuan) is not attributed (first: {str(ids[~in_book][0])!r})\n"
        )
    result = attribute(book, aum[in_book], day, customer_ids=ids[in_book], absent="exclude")
    if result.excluded is not None and result.excluded.size:
        first = str(result.customer_ids[int(result.excluded[0])])
        err.write(
            f"custvalue: note: {result.excluded.size:,} customers are not (yet, or no longer) in the book on "
            f"{day.isoformat()}; their AUM ({format_yuan(result.excluded_total)} yuan) is not attributed "
            f"(first: {first!r})\n"
        )
    write_attribution(result, Path(args.out), fmt)
    out.write(result.text(limit=20) + "\n")
    out.write(f"wrote {result.manager_ids.size:,} managers to {args.out}\n")
    return 0


def _month_end(m: Month) -> _dt.date:
    return _dt.date(m.year, m.month, calendar.monthrange(m.year, m.month)[1])


def write_attribution(result: Attribution, path: Path, fmt: str) -> Path:
    """One row per manager: id, branch, customers with a part, AUM (yuan, exact); atomically."""
    m = result.manager_ids.tolist()
    b = result.manager_branch_ids().tolist()
    c = result.manager_customers().tolist()
    fen = np.asarray(result.manager_totals, dtype=np.int64)
    if fmt == "csv":

        def write(tmp: Path) -> None:
            with tmp.open("w", newline="", encoding="utf-8") as f:
                w = csv.writer(f, lineterminator="\n")
                w.writerow(ATTRIBUTION_COLUMNS)
                for row in zip(m, b, c, fen.tolist(), strict=True):
                    w.writerow([row[0], row[1], row[2], format_yuan(int(row[3]), thousands=False)])

        return atomic_write(path, write)
    pa = import_optional("pyarrow", extra="parquet", feature="writing Parquet")
    pq = import_optional("pyarrow.parquet", extra="parquet", feature="writing Parquet")
    words = np.empty((len(fen), 2), dtype=np.int64)
    words[:, 0] = fen
    words[:, 1] = fen >> 63
    table = pa.table(
        {
            "manager_id": pa.array(m, type=pa.string()),
            "branch_id": pa.array(b, type=pa.string()),
            "customers": pa.array(c, type=pa.int64()),
            "aum": pa.Array.from_buffers(pa.decimal128(38, 2), len(fen), [None, pa.py_buffer(words)]),
        }
    )
    return atomic_write(path, lambda tmp: pq.write_table(table, tmp))
