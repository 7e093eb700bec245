"""The ``custvalue`` command line.

Run ``custvalue --help`` or ``custvalue COMMAND --help``.  Errors print one
line naming the file, line, column, customer or policy path, exit with status
2, and leave no output file behind.

Each command lives in its own module (``_demo``, ``_evaluate``, ``_policy``,
...) with a ``register(subparsers)`` function that adds its parser and sets
``handler`` — a function ``(args, stdout, stderr) -> exit status``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from .. import __version__
from .._atomic import recording_replacements, replaced
from .._errors import CustvalueError
from . import (
    _allocate,
    _attribute,
    _campaigns,
    _demo,
    _evaluate,
    _explain,
    _migration,
    _policy,
    _report,
    _whatif,
)

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
  custvalue explain --balances balances.csv --as-of 2026-10 C0000042
  custvalue what-if --balances balances.csv --as-of 2026-10 --policy my_policy.toml
  custvalue migration --balances balances.csv --from 2025-10 --to 2026-10
  custvalue allocate --roster roster.csv --book book.json
  custvalue attribute --book book.json --balances balances.csv --as-of 2026-10 --out by_rm.csv
  custvalue explain --balances export.csv --columns mapping.toml --encoding gb18030 --as-of 2026-10 C001
"""


#: The command modules, in the order ``custvalue --help`` lists them.
_COMMANDS = (
    _demo,
    _evaluate,
    _explain,
    _whatif,
    _migration,
    _policy,
    _allocate,
    _attribute,
    _campaigns,
    _report,
)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="custvalue",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"custvalue {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for command in _COMMANDS:
        command.register(sub)
    return p


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
    with recording_replacements() as notes:
        try:
            # inside the try: a Ctrl-C right after the handler is in place is still caught here
            if in_main:
                signal.signal(signal.SIGTERM, _on_sigterm)
            return _run(parser, args, out, err)
        except KeyboardInterrupt:
            err.write(f"\ncustvalue: interrupted; {_outputs(notes)}\n")
            return 130
        except _Terminated:
            err.write(f"custvalue: terminated; {_outputs(notes)}\n")
            return 143
        finally:
            if in_main:
                signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _outputs(notes: list[tuple[Path, int, int]]) -> str:
    """What an interrupted command had written: the outputs already in place, or none."""
    done = replaced(notes)
    if not done:
        return "no output was written or replaced"
    names = ", ".join(str(p) for p in done)
    verb = "was" if len(done) == 1 else "were"
    return f"{names} {verb} written before it; no other output was written or replaced"


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        handler = getattr(args, "handler", None)
        if handler is None:
            parser.print_help(out)
            return 0
        status: int = handler(args, out, err)
        return status
    except BrokenPipeError:
        # the reader went away (e.g. `custvalue demo | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (CustvalueError, ValueError, OSError, KeyError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        err.write(f"custvalue: error: {msg}\n")
        return 2
