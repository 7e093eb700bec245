"""``custvalue campaigns``: run a policy's campaigns over a balances file and write the target list."""

from __future__ import annotations

import argparse
import datetime as _dt
import json
from pathlib import Path
from typing import Any, TextIO

from .._errors import InputError
from ..allocation import AllocationBook
from ..analytics import read_contacts, read_transactions, run_campaigns
from ..io import check_output, file_format, read_balances
from ..policy import load_policy, marketing_policy


def register(sub: Any) -> None:
    c = sub.add_parser(
        "campaigns",
        help="run a policy's campaigns and write the target list",
        description="Evaluate a balances file, its segments and the policy's [[campaigns]] "
        "and write one row per (campaign, target customer) with the reasons and the "
        "customer's account manager (CSV or Parquet).",
    )
    c.add_argument(
        "--balances", required=True, metavar="FILE", help="balances file (.csv, .parquet or .arrow)"
    )
    c.add_argument("--as-of", required=True, metavar="YYYY-MM", help="month to evaluate")
    c.add_argument(
        "--policy",
        metavar="FILE",
        help="policy with [segments] and [[campaigns]] (default: the default policy with the "
        "shipped example segments and campaigns)",
    )
    c.add_argument("--book", metavar="FILE", help="allocation book (JSON of AllocationBook.to_dict())")
    c.add_argument("--contacts", metavar="FILE", help="contact history (customer_id, campaign_id, date)")
    c.add_argument("--transactions", metavar="FILE", help="transactions for the transaction segment features")
    c.add_argument("--run-date", metavar="YYYY-MM-DD", help="day of the run (default: last day of --as-of)")
    c.add_argument("--out", required=True, metavar="FILE", help="target list (.csv or .parquet)")
    c.add_argument("--format", choices=("csv", "parquet"), help="output format (default: from --out suffix)")
    c.add_argument("--quiet", action="store_true", help="no summary on stderr")
    c.set_defaults(handler=run)


def _book(path: str) -> AllocationBook:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read allocation book: {exc.strerror}", file=path) from None
    except UnicodeDecodeError:
        raise InputError("allocation book is not UTF-8", file=path) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"allocation book is not valid JSON: {exc.msg}", file=path, line=exc.lineno
        ) from None
    try:
        return AllocationBook.from_dict(doc)
    except InputError:
        raise
    except ValueError as exc:
        raise InputError(f"bad allocation book: {exc}", file=path) from None


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    file_format(args.out, args.format)
    inputs = [args.balances, args.policy, args.book, args.contacts, args.transactions]
    check_output(args.out, inputs=inputs)
    policy = load_policy(args.policy) if args.policy else marketing_policy()
    day = None
    if args.run_date:
        try:
            day = _dt.date.fromisoformat(args.run_date)
        except ValueError:
            raise InputError(f"--run-date {args.run_date!r} is not a date (YYYY-MM-DD)") from None
    book = _book(args.book) if args.book else None
    contacts = read_contacts(args.contacts) if args.contacts else None
    portfolio = read_balances(args.balances)
    transactions = read_transactions(args.transactions, portfolio) if args.transactions else None
    result = run_campaigns(
        portfolio, policy, args.as_of, book=book, contacts=contacts, transactions=transactions, run_date=day
    )
    result.write(args.out, format=args.format)
    if not args.quiet:
        counts = ", ".join(f"{k} {v:,}" for k, v in result.counts().items())
        err.write(
            f"{len(result):,} targets from {portfolio.n_customers:,} customers as of {result.as_of} "
            f"(run {result.run_date}, policy {policy.name!r}): {counts} -> {args.out}\n"
        )
    return 0
