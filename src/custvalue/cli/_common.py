"""Helpers shared by the command modules.

Every command that reads a balances file takes the same options, added by
:func:`add_balances_options` and read by :func:`read_balances_args`:

* ``--balances FILE`` (CSV, Parquet or a portfolio snapshot),
* ``--columns MAP``: a column mapping for files from other systems, either
  ``customer_id=CUST_NO,deposits=DEP_BAL,...`` (custvalue's name = the file's)
  or a ``.toml``/``.json`` file mapping custvalue's names to the file's
  (TOML: top-level keys or a ``[columns]`` table),
* ``--delimiter C`` (``,`` by default; ``tab`` or ``\\t`` for tabs),
* ``--encoding NAME`` (``utf-8`` by default; ``gb18030``/``gbk`` for many
  Chinese bank exports).

Columns the file has but custvalue does not read are ignored; the command
prints one ``custvalue: note:`` line naming them on stderr.
"""

from __future__ import annotations

import argparse
import json
import time
import tomllib
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from .._errors import InputError
from ..io import ExtraColumnsWarning, UsesColumns, read_balances
from ..policy import Policy, default_policy, load_policy
from ..portfolio import Portfolio

__all__ = [
    "Progress",
    "add_balances_options",
    "column_mapping",
    "policy_arg",
    "read_balances_args",
    "union_columns",
]

#: Largest mapping file read (a mapping is a few hundred bytes).
_MAX_MAPPING_FILE = 1 << 20


class Progress:
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


def add_balances_options(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """Add ``--balances``, ``--columns``, ``--delimiter`` and ``--encoding`` to a command."""
    parser.add_argument(
        "--balances",
        required=required,
        metavar="FILE",
        help="balances file (.csv or .parquet, one row per customer-month) or portfolio snapshot (.arrow)",
    )
    g = parser.add_argument_group("reading files from other systems")
    g.add_argument(
        "--columns",
        metavar="MAP",
        help="column mapping, custvalue's name=the file's: customer_id=CUST_NO,deposits=DEP_BAL,... "
        "or a .toml/.json file of such pairs",
    )
    g.add_argument(
        "--delimiter",
        default=",",
        metavar="C",
        help="CSV field separator (default ','; 'tab' or '\\t' for tabs)",
    )
    g.add_argument(
        "--encoding",
        default="utf-8",
        metavar="NAME",
        help="CSV text encoding (default utf-8; gb18030 or gbk for many bank exports)",
    )


def column_mapping(text: str | None) -> dict[str, str] | None:
    """The mapping of ``--columns``: ``a=B,c=D`` pairs or a ``.toml``/``.json`` file.

    Examples
    --------
    >>> column_mapping("customer_id=CUST_NO, deposits = DEP_BAL")
    {'customer_id': 'CUST_NO', 'deposits': 'DEP_BAL'}
    >>> column_mapping("customer_id")
    Traceback (most recent call last):
    ...
    custvalue.InputError: --columns: 'customer_id' is not a pair custvalue_name=FILE_NAME ...
    """
    if text is None:
        return None
    path = Path(text)
    if path.suffix.lower() in (".toml", ".json") and "=" not in text:
        return _mapping_file(path)
    mapping: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        ours, eq, theirs = part.partition("=")
        if not eq or not ours.strip() or not theirs.strip():
            raise InputError(
                f"--columns: {part.strip()!r} is not a pair custvalue_name=FILE_NAME "
                "(e.g. --columns customer_id=CUST_NO,deposits=DEP_BAL, or a .toml file)"
            )
        if ours.strip() in mapping:
            raise InputError(f"--columns: {ours.strip()!r} is mapped twice")
        mapping[ours.strip()] = theirs.strip()
    if not mapping:
        raise InputError("--columns: no pairs given")
    return mapping


def _mapping_file(path: Path) -> dict[str, str]:
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the column mapping: {exc.strerror}", file=name) from None
    if len(raw) > _MAX_MAPPING_FILE:
        raise InputError(f"a column mapping file has at most {_MAX_MAPPING_FILE:,} bytes", file=name)
    try:
        text = raw.decode("utf-8")
        doc: Any = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except UnicodeDecodeError:
        raise InputError("a column mapping file is UTF-8 text", file=name) from None
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not a valid mapping file: {exc}", file=name) from None
    if isinstance(doc, dict) and set(doc) == {"columns"} and isinstance(doc["columns"], dict):
        doc = doc["columns"]
    if not isinstance(doc, dict) or not doc:
        raise InputError('expected pairs custvalue_name = "FILE_NAME" (or a [columns] table)', file=name)
    for k, v in doc.items():
        if not isinstance(v, str):
            raise InputError(f"{k}: expected the file's column name as a string, got {v!r}", file=name)
    return {str(k): v for k, v in doc.items()}


def _delimiter(text: str) -> str:
    return "\t" if text in ("tab", "\\t", "TAB") else text


def read_balances_args(
    args: argparse.Namespace,
    err: TextIO,
    *,
    policy: UsesColumns | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Portfolio:
    """Read ``args.balances`` with the command's ``--columns``, ``--delimiter`` and ``--encoding``.

    With ``policy``, only the columns it reads are required.  Ignored
    columns are reported as one ``custvalue: note:`` line on ``err``.
    """
    mapping = column_mapping(getattr(args, "columns", None))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ExtraColumnsWarning)
        portfolio = read_balances(
            args.balances,
            columns=mapping,
            policy=policy,
            delimiter=_delimiter(getattr(args, "delimiter", ",")),
            encoding=getattr(args, "encoding", "utf-8"),
            progress=progress,
        )
    for w in caught:
        if issubclass(w.category, ExtraColumnsWarning):
            err.write(f"custvalue: note: {w.message}\n")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return portfolio


def policy_arg(path: str | None) -> Policy:
    """The policy of a ``--policy FILE`` option, or the default policy."""
    return load_policy(path) if path else default_policy()


class _Union:
    def __init__(self, columns: tuple[str, ...]) -> None:
        self.input_columns = columns


def union_columns(*policies: UsesColumns) -> UsesColumns:
    """The columns any of ``policies`` reads, as one ``policy=`` for :func:`read_balances_args`."""
    used = {c for p in policies for c in p.input_columns}
    order = ("deposits", "wealth", "investments", "mortgage_loan", "credit_loan", "card_spend", "card_level")
    return _Union(tuple(c for c in order if c in used))
