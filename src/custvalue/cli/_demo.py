"""``custvalue demo``: a synthetic portfolio, evaluated and explained."""

from __future__ import annotations

import argparse
import time
from typing import Any, TextIO

import numpy as np

from .. import __version__
from ..io import check_output, file_format, write_balances
from ..synthetic import generate
from ..tiering import evaluate


def register(sub: Any) -> None:
    d = sub.add_parser(
        "demo",
        help="evaluate a synthetic bank portfolio and print a summary",
        description="Build a deterministic synthetic portfolio, evaluate the default "
        "policy and print tier distribution, statuses, movements, "
        "churns, events and a few explained customers. Needs no input.",
    )
    d.add_argument("--customers", type=int, default=200_000, help="portfolio size (default 200,000)")
    d.add_argument("--seed", type=int, default=20261024, help="random seed (default 20261024)")
    d.add_argument("--as-of", default="2026-10", help="as-of month YYYY-MM (default 2026-10)")
    d.add_argument(
        "--explain", type=int, default=3, metavar="N", help="explain N customers with events (default 3)"
    )
    d.add_argument(
        "--write",
        metavar="FILE",
        help="also write the synthetic portfolio as a balances file (.csv or .parquet), "
        "e.g. to try `custvalue evaluate` on it",
    )
    d.set_defaults(handler=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.write:
        file_format(args.write)
        check_output(args.write)
    t0 = time.perf_counter()
    portfolio = generate(args.customers, seed=args.seed, end=args.as_of)
    t1 = time.perf_counter()
    result = evaluate(portfolio, as_of=args.as_of)
    t2 = time.perf_counter()
    out.write(
        f"custvalue {__version__} demo: synthetic portfolio of {portfolio.n_customers:,} "
        f"customers × {portfolio.n_months} months ({portfolio.months}), seed {args.seed}\n"
    )
    out.write(f"generated in {t1 - t0:.2f}s, evaluated in {t2 - t1:.2f}s\n")
    if args.write:
        write_balances(portfolio, args.write)
        out.write(f"wrote the portfolio's balances to {args.write}\n")
    out.write("\n")
    out.write(result.summary() + "\n")
    shown = 0
    picks = []
    for code in (4, 3, 2, 1):  # churned, attention, observation, down
        idx = np.unique(result.events.customer_index[result.events.event_codes == code])
        if idx.size:
            picks.append(int(idx[0]))
    for i in dict.fromkeys(picks):
        if shown >= args.explain:
            break
        out.write("\n" + result.explain(str(result.customer_ids[i])).text + "\n")
        shown += 1
    return 0
