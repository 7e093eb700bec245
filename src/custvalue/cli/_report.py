"""``custvalue report``: the analysts' reports of a balances file as an HTML page or an Excel workbook.

Every report at the as-of month (:func:`custvalue.analytics.write_report`):
tier × branch distribution, tier trend, tier migration from the month before,
churn, AUM concentration, asset monitoring by branch and the asset-fall
alerts; with ``--transactions`` the large-transaction alerts; with
``--book`` (an allocation book file, see ``custvalue allocate``) the
account-manager and branch performance and each alert's account manager.

``--out`` ends in ``.html`` (one self-contained page: tables and charts
embedded, works offline) or ``.xlsx`` (an Excel workbook: one sheet per
report, native charts, yuan formatting, frozen headers).  The output name is
checked before anything is read, and the file is written atomically: a failed
run leaves no file behind (and an existing one as it was).
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path
from typing import Any, TextIO

from ..analytics import read_transactions, write_report
from ..io import check_output
from ..months import Month
from ._allocate import load_book
from ._common import add_balances_options, policy_arg, read_balances_args

_SUFFIXES = (".html", ".htm", ".xlsx")


def register(sub: Any) -> None:
    r = sub.add_parser(
        "report",
        help="the analysts' reports as an HTML page or an Excel workbook",
        description=(__doc__ or "").split("\n", 2)[2].strip(),
        epilog="examples:\n"
        "  custvalue report --balances balances.csv --as-of 2026-10 --out report.html\n"
        "  custvalue report --balances b.parquet --as-of 2026-10 --transactions tx.csv \\\n"
        "      --book book.json --out report.xlsx",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_balances_options(r)
    r.add_argument("--as-of", metavar="YYYY-MM", help="month of the reports (default: the file's last month)")
    r.add_argument(
        "--policy", metavar="FILE", help="policy document (.toml or .json); default policy if omitted"
    )
    r.add_argument("--transactions", metavar="FILE", help="transaction file (.csv or .parquet) to monitor")
    r.add_argument("--book", metavar="FILE", help="allocation book (.json): manager performance and RMs")
    r.add_argument(
        "--months", type=int, default=12, metavar="N", help="months of the tier trend (default 12)"
    )
    r.add_argument(
        "--max-rows",
        type=int,
        default=1000,
        metavar="N",
        help="rows of each table shown in the HTML page (default 1000; 0 for all); the workbook has all",
    )
    r.add_argument("--out", required=True, metavar="FILE", help="report file: .html or .xlsx")
    r.add_argument("--quiet", action="store_true", help="no summary line")
    r.set_defaults(handler=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    suffix = Path(args.out).suffix.lower()
    if suffix not in _SUFFIXES:
        raise ValueError(
            f"--out {args.out}: a report is .html or .xlsx, not {suffix or 'a name without suffix'!r}"
        )
    inputs = [args.balances, args.policy, args.transactions, args.book]
    check_output(args.out, inputs=inputs)  # before any work
    if args.months < 1:
        raise ValueError("--months must be a positive number")
    if args.max_rows < 0:
        raise ValueError("--max-rows must be 0 (all rows) or more")
    as_of = Month.coerce(args.as_of) if args.as_of else None
    t0 = time.perf_counter()
    policy = policy_arg(args.policy)
    portfolio = read_balances_args(args, err, policy=policy)
    transactions = read_transactions(args.transactions, portfolio) if args.transactions else None
    book = load_book(Path(args.book)) if args.book else None
    rs = write_report(
        args.out,
        portfolio,
        as_of,
        policy,
        transactions=transactions,
        book=book,
        months=args.months,
        max_rows=args.max_rows or None,
        inputs=inputs,
    )
    html = str(args.out).lower().endswith((".html", ".htm"))
    if not args.quiet and html and importlib.util.find_spec("matplotlib") is None:
        err.write(
            "custvalue: note: the page has no charts: they need matplotlib "
            "(pip install 'custvalue[plot]'; in a source checkout: pip install -e '.[plot]')\n"
        )
    if not args.quiet:
        err.write(
            f"{portfolio.n_customers:,} customers as of {rs.as_of}: {len(rs.sections)} reports "
            f"({', '.join(rs.keys)}) in {time.perf_counter() - t0:.1f}s -> {args.out}\n"
        )
    return 0
