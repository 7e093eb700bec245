"""``custvalue explain``: why customers have their tier, from a balances file."""

from __future__ import annotations

import argparse
import difflib
from typing import Any, TextIO

import numpy as np

from .._errors import InputError
from ..months import Month
from ..portfolio import Portfolio
from ..tiering import evaluate
from ._common import add_balances_options, policy_arg, read_balances_args

#: Customer ids compared with an unknown one, at most (the closest by length first).
_SUGGEST_POOL = 200_000


def register(sub: Any) -> None:
    e = sub.add_parser(
        "explain",
        help="explain why customers have their tier",
        description="Evaluate the policy for the named customers of a balances file and print, "
        "for each, the rules and feature values that decided its tier, its status, movement and "
        "events.",
        epilog="example:\n  custvalue explain --balances balances.csv --as-of 2026-10 C0000042 C0000077",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_balances_options(e)
    e.add_argument("--as-of", required=True, metavar="YYYY-MM", help="month to evaluate")
    e.add_argument(
        "--policy", metavar="FILE", help="policy document (.toml or .json); default policy if omitted"
    )
    e.add_argument("customers", nargs="+", metavar="CUSTOMER", help="customer ids")
    e.set_defaults(handler=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    policy = policy_arg(args.policy)
    as_of = Month.coerce(args.as_of)
    portfolio = read_balances_args(args, err, policy=policy)
    rows = customer_rows(portfolio, args.customers, args.balances)
    # tiers are per customer: evaluating only the named ones gives their explanations
    result = evaluate(portfolio.select(rows), policy, as_of=as_of)
    texts = [result.explain(cid).text for cid in dict.fromkeys(args.customers)]
    out.write("\n\n".join(texts) + "\n")
    return 0


def customer_rows(
    portfolio: Portfolio, ids: list[str], source: str | None = None
) -> np.ndarray[Any, np.dtype[np.intp]]:
    """Rows of ``ids`` (each once); an unknown id is an error naming it, with close ids if any."""
    wanted = list(dict.fromkeys(ids))
    known = np.isin(np.array(wanted, dtype=str), portfolio.customer_ids)
    unknown = [c for c, k in zip(wanted, known.tolist(), strict=True) if not k]
    if unknown:
        first = unknown[0]
        close = suggestions(portfolio.customer_ids, first)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        more = f" ({len(unknown) - 1} more unknown: {', '.join(unknown[1:6])})" if len(unknown) > 1 else ""
        raise InputError(f"unknown customer {first!r}{hint}{more}", file=source)
    return portfolio.index_of(wanted)


def suggestions(ids: np.ndarray[Any, Any], wanted: str, n: int = 3) -> list[str]:
    """Up to ``n`` ids close to ``wanted``, closest first (vectorised preselection, then edit distance)."""
    if ids.size == 0:
        return []
    lengths = np.strings.str_len(ids)
    pool = ids[np.abs(lengths - len(wanted)) <= 2]
    if pool.size > _SUGGEST_POOL and wanted:
        same_start = pool[np.strings.startswith(pool, wanted[:1])]
        pool = same_start if same_start.size else pool
        pool = pool[:_SUGGEST_POOL]
    close = difflib.get_close_matches(wanted, pool.tolist(), n=50, cutoff=0.6)
    return sorted(close, key=lambda c: (_distance(wanted, c), c))[:n]


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (for the few candidates difflib found)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]
