"""``custvalue evaluate``: a balances file and a policy to a result file."""

from __future__ import annotations

import argparse
import time
from typing import Any, TextIO

from ..io import check_output, file_format, read_balances
from ..policy import default_policy, load_policy
from ..tiering import evaluate
from ._common import Progress


def register(sub: Any) -> None:
    e = sub.add_parser(
        "evaluate",
        help="evaluate a balances file with a policy",
        description="Evaluate a balances file (CSV or Parquet, one row per "
        "customer-month, or a portfolio snapshot .arrow) and write one result row per customer.",
    )
    e.add_argument(
        "--balances",
        required=True,
        metavar="FILE",
        help="balances file (.csv or .parquet) or portfolio snapshot (.arrow, see Portfolio.save)",
    )
    e.add_argument(
        "--policy", metavar="FILE", help="policy document (.toml or .json); default policy if omitted"
    )
    e.add_argument("--as-of", required=True, metavar="YYYY-MM", help="month to evaluate")
    e.add_argument("--out", required=True, metavar="FILE", help="result file (.csv or .parquet)")
    e.add_argument("--format", choices=("csv", "parquet"), help="output format (default: from --out suffix)")
    e.add_argument("--quiet", action="store_true", help="no progress or summary on stderr")
    e.set_defaults(handler=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    # fail before any work on a bad output name, a missing directory, or an output that is an input
    file_format(args.out, args.format)
    check_output(args.out, inputs=[args.balances, args.policy])
    policy = load_policy(args.policy) if args.policy else default_policy()
    t0 = time.perf_counter()
    portfolio = read_balances(args.balances)
    t1 = time.perf_counter()
    show = not args.quiet and err.isatty()
    result = evaluate(portfolio, policy, as_of=args.as_of, progress=Progress("evaluating", err, show))
    t2 = time.perf_counter()
    result.write(args.out, format=args.format)
    t3 = time.perf_counter()
    if not args.quiet:
        c = result.counts()["tier"]
        err.write(
            f"{portfolio.n_customers:,} customers evaluated as of {result.as_of} with policy "
            f"{policy.name!r}: "
            + ", ".join(f"{k} {v:,}" for k, v in c.items())
            + f"; {len(result.events):,} events\n"
            f"read {t1 - t0:.2f}s, evaluate {t2 - t1:.2f}s, write {t3 - t2:.2f}s -> {args.out}\n"
        )
    return 0
