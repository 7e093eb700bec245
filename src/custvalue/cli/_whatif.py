"""``custvalue what-if``: the tier migration a policy change would cause."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from ..months import Month
from ..tiering import MigrationMatrix, what_if
from ._common import add_balances_options, policy_arg, read_balances_args, union_columns


def register(sub: Any) -> None:
    w = sub.add_parser(
        "what-if",
        help="the tier migration a policy change would cause",
        description="Evaluate a balances file under the policy in force (--against, the default "
        "policy if omitted) and a proposed one (--policy) at one month, and print the migration "
        "matrix (rows: in force, columns: proposed) and how many customers change tier.",
        epilog="example:\n  custvalue policy export --out new.toml   (edit a threshold)\n"
        "  custvalue what-if --balances balances.csv --as-of 2026-10 --policy new.toml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_balances_options(w)
    w.add_argument("--as-of", required=True, metavar="YYYY-MM", help="month to evaluate")
    w.add_argument("--policy", required=True, metavar="NEW", help="the proposed policy (.toml or .json)")
    w.add_argument(
        "--against", metavar="OLD", help="the policy in force (.toml or .json); default policy if omitted"
    )
    w.add_argument("--aum", action="store_true", help="also print the AUM (yuan) of each cell")
    w.set_defaults(handler=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    new = policy_arg(args.policy)
    old = policy_arg(args.against)
    if old.tier_order != new.tier_order:
        raise ValueError(
            f"what-if compares policies with the same tiers; {args.against or 'the default policy'} has "
            f"{', '.join(old.tier_order)} and {args.policy} has {', '.join(new.tier_order)}"
        )
    as_of = Month.coerce(args.as_of)
    portfolio = read_balances_args(args, err, policy=union_columns(old, new))
    m = what_if(portfolio, old, new, as_of=as_of)
    out.write(
        f"what-if at {as_of}: {portfolio.n_customers:,} customers; rows: {m.from_label} "
        f"({args.against or 'default policy'}), columns: {m.to_label} ({args.policy})\n\n"
    )
    out.write(m.text() + "\n\n")
    if args.aum:
        out.write("AUM (yuan):\n" + m.text(values="aum") + "\n\n")
    out.write(changes(m) + "\n")
    return 0


def changes(m: MigrationMatrix) -> str:
    """``N change tier: U up, D down`` for a migration matrix (tiers highest first)."""
    k = len(m.labels) - 1  # the last label is "(none)"
    c = m.counts[:k, :k]
    up = int(sum(int(c[i, j]) for i in range(k) for j in range(i)))
    down = int(sum(int(c[i, j]) for i in range(k) for j in range(i + 1, k)))
    same = int(c.trace())
    return f"{up + down:,} customers change tier ({up:,} up, {down:,} down); {same:,} keep their tier"
