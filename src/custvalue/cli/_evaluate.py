"""``custvalue evaluate``: a balances file and a policy to a result file, an events file and a summary.

The file is evaluated in customer batches (:func:`custvalue.tiering.evaluate_file`):
memory is bounded by ``--batch-customers`` whatever the file's size, and the
results are identical to an in-memory evaluation.  A progress bar (tqdm, the
``progress`` extra; else a one-line indicator) covers reading, evaluating and
writing, batch by batch, on a terminal only.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from typing import Any, TextIO

from .._optional import MissingDependencyError, import_optional
from ..io import ExtraColumnsWarning, check_output, file_format
from ..policy import default_policy, load_policy
from ..tiering import DEFAULT_BATCH, evaluate_file
from ._common import Progress, add_balances_options, column_mapping


def register(sub: Any) -> None:
    e = sub.add_parser(
        "evaluate",
        help="evaluate a balances file with a policy",
        description="Evaluate a balances file (CSV or Parquet, one row per "
        "customer-month, or a portfolio snapshot .arrow) and write one result row per customer "
        "and, with --events, one row per event with the policy's action codes.  The file is "
        "read in customer batches, so its size is not limited by memory; a summary (customers "
        "per tier and status, incomplete histories, customers without a tier, events) is "
        "printed on stderr.",
    )
    add_balances_options(e)
    e.add_argument(
        "--policy", metavar="FILE", help="policy document (.toml or .json); default policy if omitted"
    )
    e.add_argument("--as-of", metavar="YYYY-MM", help="month to evaluate (default: the file's last month)")
    e.add_argument("--out", metavar="FILE", help="result file (.csv or .parquet); optional")
    e.add_argument("--format", choices=("csv", "parquet"), help="output format (default: from --out suffix)")
    e.add_argument(
        "--events",
        metavar="FILE",
        help="events file (.csv or .parquet): customer_id, event, actions (the policy's action codes)",
    )
    e.add_argument(
        "--batch-customers",
        type=int,
        default=DEFAULT_BATCH,
        metavar="N",
        help=f"customers per batch; memory grows with it (default {DEFAULT_BATCH:,})",
    )
    e.add_argument("--quiet", action="store_true", help="no progress or summary on stderr")
    e.set_defaults(handler=run)


class _Bar:
    """A tqdm progress bar fed ``(done, total)`` calls; the total may grow once (partitioning)."""

    def __init__(self, tqdm: Any, stream: TextIO, unit: str) -> None:
        self._tqdm, self._stream, self._unit = tqdm, stream, unit
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            try:
                size = os.get_terminal_size(self._stream.fileno())
                width, height = size.columns, size.lines
            except (OSError, ValueError, AttributeError):
                width = height = 0
            self._bar = self._tqdm(
                total=total,
                unit=self._unit,
                unit_scale=True,
                file=self._stream,
                desc="evaluating",
                leave=True,
                # a terminal that does not tell its size (0 x 0) would hide the bar: 80 x 24
                ncols=width or 80,
                nrows=height or 24,
            )
        if total != self._bar.total:
            self._bar.total = total
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _unit(path: str) -> str:
    low = path.lower()
    if low.endswith((".arrow", ".feather")):
        return " customers"
    if low.endswith((".csv", ".txt")):
        return "B"
    return " rows"


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    # fail before any work on a bad output name, a missing directory, or an output that is an input
    inputs = [args.balances, args.policy]
    if args.out:
        file_format(args.out, args.format)
        check_output(args.out, inputs=inputs)
    if args.events:
        file_format(args.events)
        check_output(args.events, inputs=[*inputs, args.out])
    if args.batch_customers < 1:
        raise ValueError("--batch-customers must be a positive number")
    policy = load_policy(args.policy) if args.policy else default_policy()
    show = not args.quiet and err.isatty()
    bar: _Bar | None = None
    progress: Any = None
    if show:
        try:
            bar = _Bar(import_optional("tqdm", extra="progress").tqdm, err, _unit(args.balances))
            progress = bar
        except MissingDependencyError:
            progress = Progress("evaluating", err, True)
    mapping = column_mapping(args.columns)
    delimiter = "\t" if args.delimiter in ("tab", "\\t", "TAB") else args.delimiter
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ExtraColumnsWarning)
            s = evaluate_file(
                args.balances,
                policy,
                as_of=args.as_of,
                out=args.out,
                events=args.events,
                out_format=args.format,
                batch_customers=args.batch_customers,
                columns=mapping,
                delimiter=delimiter,
                encoding=args.encoding,
                progress=progress,
            )
    finally:
        if bar is not None:
            bar.close()
    for w in caught:
        if issubclass(w.category, ExtraColumnsWarning):
            err.write(f"custvalue: note: {w.message}\n")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    elapsed = time.perf_counter() - t0
    if not args.quiet:
        wrote = [f for f in (args.out, args.events) if f]
        err.write(
            s.summary()
            + "\n"
            + f"{s.n_events:,} events; {elapsed:.2f}s"
            + (f" -> {', '.join(wrote)}" if wrote else " (no --out: nothing written)")
            + "\n"
        )
    return 0
