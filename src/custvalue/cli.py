"""The ``custvalue`` command: demo, evaluate and policy tools.

Run ``custvalue --help`` or ``custvalue COMMAND --help``.  Errors print one
line naming the file, line, column, customer or policy path, exit with status
2, and leave no output file behind.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

import numpy as np

from . import __version__
from ._errors import CustvalueError
from .io import atomic_write, check_output, file_format, read_balances, write_balances
from .policy import (
    EVENT_TYPES,
    Policy,
    compile_policy,
    default_policy,
    default_policy_text,
    diff_policies,
    load_policy,
)
from .synthetic import generate
from .tiering import evaluate, what_if

__all__ = ["main"]

_DESCRIPTION = """\
Personal customer value management for retail banking.

Sort customers into value tiers (core, growth, platinum, gold, potential) from
their monthly assets, track whose value is slipping (observation, attention,
churn) and emit the events a bank acts on.  Money is exact (integer fen) and
policies are data.
"""

_EPILOG = """\
examples:
  custvalue demo
  custvalue demo --customers 10000 --write balances.csv
  custvalue evaluate --balances balances.csv --as-of 2026-10 --out result.parquet
  custvalue policy export --out my_policy.toml      (then edit a threshold)
  custvalue evaluate --balances b.parquet --policy my_policy.toml --as-of 2026-10 --out r.csv
  custvalue policy check my_policy.toml
"""


class _Progress:
    """A one-line progress indicator on stderr (only when stderr is a terminal)."""

    def __init__(self, label: str, stream: TextIO, enabled: bool) -> None:
        self.label, self.stream, self.enabled = label, stream, enabled
        self.t0 = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        if self.enabled and total:
            pct = 100 * done // total
            self.stream.write(f"\r{self.label}: {done:,}/{total:,} customers ({pct}%)")
            if done >= total:
                self.stream.write(f" in {time.perf_counter() - self.t0:.1f}s\n")
            self.stream.flush()


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="custvalue",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"custvalue {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

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

    po = sub.add_parser("policy", help="show, check, export or diff policy documents")
    psub = po.add_subparsers(dest="policy_command", metavar="ACTION")
    sh = psub.add_parser("show", help="print a policy (the default policy if no file is given)")
    sh.add_argument("file", nargs="?", help="policy file (.toml or .json)")
    sh.add_argument("--format", choices=("summary", "toml", "json"), default="summary")
    ck = psub.add_parser("check", help="validate a policy file; exit 0 if valid, 2 if not")
    ck.add_argument("file", help="policy file (.toml or .json)")
    ex = psub.add_parser("export", help="write a policy (the default if --policy is omitted) to a file")
    ex.add_argument("--policy", metavar="FILE", help="policy to export (default policy if omitted)")
    ex.add_argument("--out", required=True, metavar="FILE", help="output .toml or .json")
    ex.add_argument("--format", choices=("toml", "json"), help="default: from the --out suffix")
    df = psub.add_parser(
        "diff",
        help="print what changed between two policies (and, with --balances, the migration impact)",
    )
    df.add_argument("old", help="the policy in force (.toml or .json)")
    df.add_argument("new", help="the proposed or later policy")
    df.add_argument(
        "--balances", metavar="FILE", help="balances file: also print the tier migration old → new"
    )
    df.add_argument("--as-of", metavar="YYYY-MM", help="month of the migration (default: the file's last)")
    return p


def _demo(args: argparse.Namespace, out: TextIO) -> int:
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


def _evaluate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    # fail before any work on a bad output name, a missing directory, or an output that is an input
    file_format(args.out, args.format)
    check_output(args.out, inputs=[args.balances, args.policy])
    policy = load_policy(args.policy) if args.policy else default_policy()
    t0 = time.perf_counter()
    portfolio = read_balances(args.balances)
    t1 = time.perf_counter()
    show = not args.quiet and err.isatty()
    result = evaluate(portfolio, policy, as_of=args.as_of, progress=_Progress("evaluating", err, show))
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


def _policy(args: argparse.Namespace, out: TextIO, parser: Callable[[], object]) -> int:
    if args.policy_command == "show":
        if args.format == "toml" and not args.file:
            out.write(default_policy_text())
            return 0
        pol = load_policy(args.file) if args.file else default_policy()
        if args.format == "json":
            out.write(pol.to_json())
        elif args.format == "toml":
            out.write(pol.to_toml())
        else:
            out.write(_policy_summary(pol))
        return 0
    if args.policy_command == "check":
        pol = load_policy(args.file)
        cp = compile_policy(pol)
        out.write(
            f"{args.file}: valid policy {pol.name!r} — {len(pol.tiers)} tiers, "
            f"{len(cp.rule_ids)} rules, needs {cp.history_needed + 1} months of history\n"
        )
        for warning in cp.warnings():
            out.write(f"warning: {warning}\n")
        return 0
    if args.policy_command == "export":
        pol = load_policy(args.policy) if args.policy else default_policy()
        fmt = args.format or Path(args.out).suffix.lstrip(".").lower()
        if not args.policy and fmt == "toml":
            # the shipped document itself, with its comments: the best start for an edit
            def write(tmp: Path) -> None:
                tmp.write_text(default_policy_text(), encoding="utf-8")

            atomic_write(args.out, write, inputs=[args.policy])
        else:
            check_output(args.out, inputs=[args.policy])
            pol.dump(args.out, format=args.format)
        out.write(f"wrote policy {pol.name!r} to {args.out}\n")
        return 0
    if args.policy_command == "diff":
        old, new = load_policy(args.old), load_policy(args.new)
        out.write(diff_policies(old, new).text() + "\n")
        if args.balances:
            if old.tier_order != new.tier_order:
                out.write("(no migration: the two policies have different tiers)\n")
                return 0
            portfolio = read_balances(args.balances)
            month = args.as_of or str(portfolio.months.stop)
            m = what_if(portfolio, old, new, as_of=month)
            moved = int(m.counts.sum() - m.counts.trace())
            out.write(
                f"\nmigration at {month} ({portfolio.n_customers:,} customers, {moved:,} change tier); "
                f"rows: {args.old}, columns: {args.new}\n"
            )
            out.write(m.text() + "\n")
        return 0
    parser()
    return 2


def _policy_summary(pol: object) -> str:
    assert isinstance(pol, Policy)
    cp = compile_policy(pol)
    lines = [
        f"policy {pol.name!r}" + (f" — {pol.title}" if pol.title else ""),
        f"AUM = {' + '.join(pol.aum)}; amounts in {pol.amount_unit}",
        "",
        "tier rules (FIRST hit, highest tier first):",
    ]
    for rule in cp.table.rules:
        tests = [
            f"{clause.name} {ut.to_feel()}"
            for clause, ut in zip(
                cp.table.inputs, cp.table.rule_tests(cp.table.rules.index(rule)), strict=True
            )
            if not ut.is_any
        ]
        lines.append(f"  {rule.id:<24} {' and '.join(tests) or '(everyone else)'}")
    lines += ["", "status bands (k = months in a row below the AUM floor):"]
    for t in pol.tiers:
        if t.aum_floor is not None:
            bands = ", ".join(f"{b.status} {b.months_below}" for b in t.status_bands)
            lines.append(
                f"  {t.id:<10} floor {t.aum_floor}, window {t.window}: normal k = 0, {bands}, "
                f"lost at k = {(t.window or 0) + 1}"
            )
    lines += ["", "events:"]
    for e in EVENT_TYPES:
        lines.append(f"  {e:<20} -> {', '.join(pol.actions(e)) or 'no action'}")
    return "\n".join(lines) + "\n"


class _Terminated(BaseException):
    """SIGTERM, raised where the process is, so that partial output is cleaned up."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated(signum)


def main(
    argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run the command line; returns the exit status.

    Errors print one line and return 2; Ctrl-C returns 130 and SIGTERM 143,
    each with one line and no partial output file (an existing output is
    left as it was).
    """
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = _parser()
    args = parser.parse_args(argv)
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if in_main else None
    if in_main:
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _run(parser, args, out, err)
    except KeyboardInterrupt:
        err.write("\ncustvalue: interrupted; no output was written or replaced\n")
        return 130
    except _Terminated:
        err.write("custvalue: terminated; no output was written or replaced\n")
        return 143
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        if args.command == "demo":
            return _demo(args, out)
        if args.command == "evaluate":
            return _evaluate(args, out, err)
        if args.command == "policy":
            return _policy(args, out, lambda: parser.parse_args(["policy", "--help"]))
        parser.print_help(out)
        return 0
    except BrokenPipeError:
        # the reader went away (e.g. `custvalue demo | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (CustvalueError, ValueError, OSError, KeyError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        err.write(f"custvalue: error: {msg}\n")
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
