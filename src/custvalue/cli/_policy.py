"""``custvalue policy``: show, check, export and diff policy documents."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from ..analytics import calibrate, parse_targets, policy_dmn
from ..io import atomic_write, check_output
from ..policy import (
    EVENT_TYPES,
    Policy,
    compile_policy,
    default_policy,
    default_policy_text,
    diff_policies,
    load_policy,
)
from ..rules import write_dmn
from ..tiering import what_if
from ._common import add_balances_options, read_balances_args


def register(sub: Any) -> None:
    po = sub.add_parser("policy", help="show, check, export, diff or calibrate policy documents")
    psub = po.add_subparsers(dest="policy_command", metavar="ACTION")
    sh = psub.add_parser("show", help="print a policy (the default policy if no file is given)")
    sh.add_argument("file", nargs="?", help="policy file (.toml or .json)")
    sh.add_argument("--format", choices=("summary", "toml", "json"), default="summary")
    ck = psub.add_parser("check", help="validate a policy file; exit 0 if valid, 2 if not")
    ck.add_argument("file", help="policy file (.toml or .json)")
    ex = psub.add_parser("export", help="write a policy (the default if --policy is omitted) to a file")
    ex.add_argument("--policy", metavar="FILE", help="policy to export (default policy if omitted)")
    ex.add_argument("--out", required=True, metavar="FILE", help="output .toml, .json or .dmn")
    ex.add_argument(
        "--format",
        choices=("toml", "json", "dmn"),
        help="default: from the --out suffix; dmn: the tier, segment and scoring tables as one DMN model",
    )
    df = psub.add_parser(
        "diff",
        help="print what changed between two policies (and, with --balances, the migration impact)",
    )
    df.add_argument("old", help="the policy in force (.toml or .json)")
    df.add_argument("new", help="the proposed or later policy")
    add_balances_options(df, required=False)
    df.add_argument("--as-of", metavar="YYYY-MM", help="month of the migration (default: the file's last)")
    ca = psub.add_parser(
        "calibrate",
        help="propose tier floors that give target shares of customers (or AUM) per tier",
        description="Propose AUM floors from target shares per tier (each tier's own share; "
        "exact quantiles rounded down to --round yuan so each tier and those above reach at "
        "least the cumulative target), or with --method natural-breaks at the Fisher-Jenks "
        "natural breaks of the AUM distribution (the jenks extra), print the proposal and its "
        "migration, and write the calibrated policy.",
    )
    add_balances_options(ca)
    ca.add_argument("--as-of", metavar="YYYY-MM", help="month (default: the file's last)")
    ca.add_argument(
        "--method",
        choices=("target-shares", "natural-breaks"),
        default="target-shares",
        help="floors from --targets (default) or from natural breaks (needs the jenks extra)",
    )
    ca.add_argument(
        "--targets", metavar="T=S,...", help="e.g. core=0.01,growth=0.04 (required for target-shares)"
    )
    ca.add_argument(
        "--tiers",
        metavar="T,...",
        help="natural breaks: tiers to calibrate (default: every tier with an AUM floor)",
    )
    ca.add_argument(
        "--sample",
        type=int,
        default=5000,
        metavar="N",
        help="natural breaks: Jenks classifies at most N order statistics (default 5000)",
    )
    ca.add_argument("--by", choices=("count", "aum"), default="count", help="share of customers or of AUM")
    ca.add_argument("--round", default="10000", metavar="YUAN", help="rounding step (default 10000)")
    ca.add_argument("--direction", choices=("down", "up"), default="down", help="rounding direction")
    ca.add_argument("--policy", metavar="FILE", help="policy to calibrate (default policy if omitted)")
    ca.add_argument("--out", required=True, metavar="FILE", help="proposed policy (.toml or .json)")
    po.set_defaults(handler=run, help_parser=po)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
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
        if fmt == "dmn":
            text = write_dmn(policy_dmn(pol))

            def write_model(tmp: Path) -> None:
                tmp.write_text(text, encoding="utf-8")

            atomic_write(args.out, write_model, inputs=[args.policy])
        elif not args.policy and fmt == "toml":
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
            portfolio = read_balances_args(args, err)
            month = args.as_of or str(portfolio.months.stop)
            m = what_if(portfolio, old, new, as_of=month)
            moved = int(m.counts.sum() - m.counts.trace())
            out.write(
                f"\nmigration at {month} ({portfolio.n_customers:,} customers, {moved:,} change tier); "
                f"rows: {args.old}, columns: {args.new}\n"
            )
            out.write(m.text() + "\n")
        return 0
    if args.policy_command == "calibrate":
        return _calibrate(args, out, err)
    args.help_parser.print_help(out)
    return 2


def _calibrate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    fmt = Path(args.out).suffix.lstrip(".").lower()
    if fmt not in ("toml", "json"):
        raise ValueError(f"--out {args.out!r}: the proposed policy is a .toml or .json file")
    breaks = args.method == "natural-breaks"
    if breaks and args.targets:
        raise ValueError("--targets is for --method target-shares; natural breaks take --tiers")
    if not breaks and not args.targets:
        raise ValueError("--targets is required (e.g. --targets core=0.01,growth=0.04)")
    if not breaks and args.tiers:
        raise ValueError("--tiers is for --method natural-breaks")
    check_output(args.out, inputs=[args.balances, args.policy])
    pol = load_policy(args.policy) if args.policy else default_policy()
    portfolio = read_balances_args(args, err)
    cal = calibrate(
        portfolio,
        pol,
        None if breaks else parse_targets(args.targets),
        as_of=args.as_of,
        by=args.by,
        step=args.round,
        direction=args.direction,
        method=args.method,
        tiers=[t.strip() for t in args.tiers.split(",") if t.strip()] if args.tiers else None,
        sample=args.sample,
    )
    cal.proposed.dump(args.out)
    out.write(cal.text() + "\n")
    out.write(f"wrote policy {cal.proposed.name!r} to {args.out}\n")
    return 0


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
