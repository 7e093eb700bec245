"""``custvalue allocate``: load an allocation roster (CSV) into an allocation book file.

The roster has one row per (customer, manager) in force from a date:

``customer_id, manager_id, share, primary, effective`` and optionally
``branch_id`` (the customer's branch: needed for customers not yet in the
book, and new managers are registered there) and ``tier`` (the customer's
tier, for the eligibility rule; without it, ``--balances`` and ``--as-of``
evaluate the tiers).  ``share`` is ``60%``, ``0.6`` or ``6000bp``;
``primary`` is ``true``/``false`` (also ``yes``/``no``, ``1``/``0``, ``主``/``副``);
``effective`` a date ``YYYY-MM-DD``.  The rows of a customer are its whole
manager set: exactly one primary, shares summing to 100%, one effective date.

All or nothing: every cell and every customer is checked first and every
problem is reported by line and column; then the customers are allocated
(unallocated ones, in batches of the same managers and shares) or adjusted
(allocated ones) in a new book, and the book file (JSON,
:meth:`AllocationBook.to_dict <custvalue.allocation.AllocationBook.to_dict>`)
is replaced atomically.  A book file that does not exist is created.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import getpass
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final, TextIO

import attrs
import numpy as np

from .._errors import InputError
from ..allocation import (
    BP_WHOLE,
    AllocationBook,
    AllocationError,
    BatchAllocationError,
    NoChangeError,
    parse_share,
)
from ..io import atomic_write, check_output
from ..months import Month
from ..tiering import evaluate
from ._common import add_balances_options, policy_arg, read_balances_args

#: Columns a roster must have, and may have.
ROSTER_COLUMNS: Final = ("customer_id", "manager_id", "share", "primary", "effective")
ROSTER_OPTIONAL: Final = ("branch_id", "tier")
_TRUE: Final = frozenset({"true", "yes", "y", "1", "t", "主", "primary", "是"})
_FALSE: Final = frozenset({"false", "no", "n", "0", "f", "副", "secondary", "否", ""})
#: Problems listed in one error at most (the count of the rest is given).
_SHOWN: Final = 50
_MAX_BOOK: Final = 2**31


_DESCRIPTION = """\
Load an allocation roster into an allocation book file (JSON; created if missing).

The roster CSV has one row per (customer, manager): customer_id, manager_id,
share (60%, 0.6 or 6000bp), primary (true/false, yes/no, 1/0, 主/副) and
effective (YYYY-MM-DD); optionally branch_id (the customer's branch: needed for
customers new to the book, and new managers are registered there) and tier
(for the eligibility rule; without it, give --balances and --as-of and the
tiers are evaluated).  A customer's rows are its whole manager set: one
primary, shares summing to 100%, one effective date.

All or nothing: every problem is reported by line and column and nothing is
changed; otherwise unallocated customers are allocated and allocated ones
adjusted, and the book file is replaced atomically.
"""


@attrs.frozen
class _Row:
    line: int
    customer: str
    manager: str
    bp: int
    primary: bool
    effective: _dt.date
    branch: str | None
    tier: str | None


@attrs.frozen
class _Customer:
    """A customer's manager set from the roster."""

    customer: str
    line: int
    primary: str
    shares: tuple[tuple[str, int], ...]
    effective: _dt.date
    branch: str | None
    tier: str | None


def register(sub: Any) -> None:
    a = sub.add_parser(
        "allocate",
        help="load an allocation roster (customer, manager, share) into a book",
        description=_DESCRIPTION,
        epilog="example roster:\n"
        "  customer_id,manager_id,share,primary,effective,branch_id,tier\n"
        "  C0000042,RM007,60%,true,2026-11-01,B001,platinum\n"
        "  C0000042,RM011,40%,false,2026-11-01,B001,platinum\n\n"
        "  custvalue allocate --roster roster.csv --book book.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    a.add_argument("--roster", required=True, metavar="FILE", help="roster CSV (see above)")
    a.add_argument(
        "--book", required=True, metavar="FILE", help="allocation book (.json); created if missing"
    )
    a.add_argument("--operator", default=None, help="who makes the change (default: the login name)")
    a.add_argument("--reason", default=None, help="why (default: 'roster FILE')")
    a.add_argument(
        "--roster-encoding", default="utf-8", metavar="NAME", help="roster text encoding (default utf-8)"
    )
    add_balances_options(a, required=False)
    a.add_argument(
        "--as-of", metavar="YYYY-MM", help="with --balances: the month whose tiers decide eligibility"
    )
    a.add_argument("--policy", metavar="FILE", help="with --balances: the policy (default policy if omitted)")
    a.set_defaults(handler=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    book_path = Path(args.book)
    check_output(book_path, inputs=[args.roster, args.balances])
    rows, problems, flawed = read_roster(Path(args.roster), args.roster_encoding)
    customers = group_roster(rows, args.roster, problems=problems, flawed=flawed)
    book = load_book(book_path) if book_path.exists() else None
    tiers = _tiers(args, err, customers)
    operator = args.operator or _login()
    reason = args.reason or f"roster {Path(args.roster).name}"
    new_book, report = apply_roster(
        book, customers, tiers, operator=operator, reason=reason, roster=args.roster
    )
    save_book(new_book, book_path)
    out.write(f"{report}; wrote {args.book}\n")
    return 0


def _login() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "custvalue-cli"


# ------------------------------------------------------------------ roster
def read_roster(path: Path, encoding: str = "utf-8") -> tuple[list[_Row], list[str], set[str]]:
    """The roster's good rows, the problems of the others (by line and column) and their customers."""
    source = str(path)
    try:
        f = path.open(newline="", encoding="utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding)
    except OSError as exc:
        raise InputError(f"cannot open the roster: {exc.strerror}", file=source) from None
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r}") from None
    problems: list[str] = []
    rows: list[_Row] = []
    flawed: set[str] = set()
    try:
        with f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise InputError("empty roster: a header line is needed", file=source, line=1)
            names = [h.strip() for h in header]
            index = _roster_header(names, source)
            prev = reader.line_num
            for cells in reader:
                line = prev + 1
                prev = reader.line_num
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) != len(names):
                    problems.append(
                        f"line {line}: expected {len(names)} fields as in the header, got {len(cells)}"
                    )
                    continue
                row = _roster_row(cells, index, line, problems)
                if row is not None:
                    rows.append(row)
                else:
                    flawed.add(cells[index["customer_id"]].strip())
    except UnicodeDecodeError as exc:
        raise InputError(f"the roster is not {encoding} text: {exc.reason}", file=source) from None
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", file=source) from None
    if not rows and not problems:
        raise InputError("the roster has no rows", file=source)
    return rows, problems, flawed


def _roster_header(names: list[str], source: str) -> dict[str, int]:
    index: dict[str, int] = {}
    for k, name in enumerate(names):
        if name in index:
            raise InputError("duplicate column", file=source, line=1, column=name)
        if name in ROSTER_COLUMNS or name in ROSTER_OPTIONAL:
            index[name] = k
    missing = [c for c in ROSTER_COLUMNS if c not in index]
    if missing:
        raise InputError(
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}; a roster "
            f"has {', '.join(ROSTER_COLUMNS)} (and optionally {', '.join(ROSTER_OPTIONAL)})",
            file=source,
            line=1,
            column=", ".join(missing),
        )
    return index


def _roster_row(cells: list[str], index: dict[str, int], line: int, problems: list[str]) -> _Row | None:
    def cell(name: str) -> str | None:
        k = index.get(name)
        return None if k is None else cells[k].strip()

    def bad(name: str, message: str) -> None:
        problems.append(f"line {line}, column {name!r}: {message}")

    n0 = len(problems)
    customer, manager = cell("customer_id") or "", cell("manager_id") or ""
    for name, value in (("customer_id", customer), ("manager_id", manager)):
        if not value:
            bad(name, "missing value")
        elif len(value) > 256:
            bad(name, f"an id has at most 256 characters, got {len(value):,}")
    bp = 0
    try:
        bp = parse_share(cell("share") or "")
        if not 0 < bp <= BP_WHOLE:
            bad("share", f"share {cell('share')!r} must be above 0% and at most 100%")
    except AllocationError as exc:
        bad("share", exc.message)
    flag = (cell("primary") or "").lower()
    if flag not in _TRUE and flag not in _FALSE:
        bad("primary", f"{cell('primary')!r} is not true or false (yes/no, 1/0, 主/副)")
    day = _dt.date.min
    text = cell("effective") or ""
    try:
        day = _dt.date.fromisoformat(text)
        if len(text) != 10:
            raise ValueError
    except ValueError:
        bad("effective", f"{text!r} is not a date YYYY-MM-DD" if text else "missing value")
    if len(problems) > n0:
        return None
    return _Row(
        line, customer, manager, bp, flag in _TRUE, day, cell("branch_id") or None, cell("tier") or None
    )


def group_roster(
    rows: Iterable[_Row], source: str, *, problems: list[str] | None = None, flawed: set[str] | None = None
) -> list[_Customer]:
    """Each customer's manager set (rows in file order).

    Every problem -- ``problems`` of the cells so far and each inconsistency
    of a customer's rows (customers in ``flawed`` had a bad cell and are not
    checked again) -- is raised in one :class:`InputError`.
    """
    by: dict[str, list[_Row]] = {}
    for r in rows:
        if flawed is None or r.customer not in flawed:
            by.setdefault(r.customer, []).append(r)
    problems = [] if problems is None else problems
    out: list[_Customer] = []
    for cid, rs in by.items():
        first = rs[0].line
        lines = ", ".join(str(r.line) for r in rs)
        n0 = len(problems)
        for attr, what in (("effective", "effective date"), ("branch", "branch_id"), ("tier", "tier")):
            values = {getattr(r, attr) for r in rs}
            if len(values) > 1:
                shown = ", ".join(sorted(str(v) for v in values))
                problems.append(f"lines {lines}: customer {cid!r} has more than one {what} ({shown})")
        seen: dict[str, int] = {}
        for r in rs:
            if r.manager in seen:
                problems.append(
                    f"line {r.line}, column 'manager_id': manager {r.manager!r} is listed twice for "
                    f"customer {cid!r} (also line {seen[r.manager]})"
                )
            seen.setdefault(r.manager, r.line)
        primaries = [r for r in rs if r.primary]
        if len(primaries) != 1:
            problems.append(
                f"line{'s' if len(rs) > 1 else ''} {lines}: customer {cid!r} has {len(primaries)} primary "
                "managers; exactly one row of a customer has primary = true"
            )
        total = sum(r.bp for r in rs)
        if total != BP_WHOLE:
            problems.append(
                f"line{'s' if len(rs) > 1 else ''} {lines}, column 'share': the shares of customer "
                f"{cid!r} sum to {total / 100:g}%, not 100%"
            )
        if len(problems) == n0:
            out.append(
                _Customer(
                    cid,
                    first,
                    primaries[0].manager,
                    tuple((r.manager, r.bp) for r in rs),
                    rs[0].effective,
                    rs[0].branch,
                    rs[0].tier,
                )
            )
    _raise(problems, source)
    return out


def _raise(problems: list[str], source: str) -> None:
    if problems:
        shown = problems[:_SHOWN]
        more = f"\n  ... and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
        raise InputError(
            f"{len(problems)} problem{'s' if len(problems) > 1 else ''} in the roster; nothing was "
            "changed:\n  " + "\n  ".join(shown) + more,
            file=source,
        )


# ------------------------------------------------------------------ tiers
def _tiers(args: argparse.Namespace, err: TextIO, customers: list[_Customer]) -> dict[str, str]:
    have = {c.customer: c.tier for c in customers if c.tier is not None}
    if len(have) == len(customers):
        return have
    if not args.balances or not args.as_of:
        missing = [c for c in customers if c.tier is None]
        raise InputError(
            f"{len(missing):,} customer(s) have no tier (first: {missing[0].customer!r}, line "
            f"{missing[0].line}): add a tier column to the roster, or give --balances and --as-of so "
            "that the tiers are evaluated",
            file=args.roster,
        )
    policy = policy_arg(args.policy)
    portfolio = read_balances_args(args, err, policy=policy)
    wanted = [c.customer for c in customers if c.tier is None]
    index = {cid: i for i, cid in enumerate(portfolio.customer_ids.tolist())}
    absent = [c for c in wanted if c not in index]
    if absent:
        raise InputError(
            f"{len(absent):,} roster customer(s) are not in the balances file, so their tier is unknown "
            f"(first: {absent[0]!r}); add a tier column for them",
            file=args.roster,
        )
    result = evaluate(
        portfolio.select(np.array([index[c] for c in wanted], dtype=np.intp)),
        policy,
        as_of=Month.coerce(args.as_of),
        previous=False,
    )
    return {**have, **dict(zip(wanted, result.tiers().tolist(), strict=True))}


# ------------------------------------------------------------------ book
def load_book(path: Path) -> AllocationBook:
    """An allocation book file (JSON of :meth:`AllocationBook.to_dict`)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the book: {exc.strerror}", file=str(path)) from None
    if len(raw) > _MAX_BOOK:
        raise InputError(f"the book file is larger than {_MAX_BOOK:,} bytes", file=str(path))
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not an allocation book (JSON): {exc}", file=str(path)) from None
    try:
        return AllocationBook.from_dict(doc)
    except AllocationError as exc:
        raise InputError(f"not a valid allocation book: {exc}", file=str(path)) from None


def save_book(book: AllocationBook, path: Path) -> Path:
    """Write the book's document, atomically (an existing file survives any failure)."""
    text = json.dumps(book.to_dict(), ensure_ascii=False, indent=1) + "\n"

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    return atomic_write(path, write)


def apply_roster(
    book: AllocationBook | None,
    customers: list[_Customer],
    tiers: dict[str, str],
    *,
    operator: str,
    reason: str,
    roster: str,
) -> tuple[AllocationBook, str]:
    """The book with every customer's manager set applied, and a one-line report.

    All problems (by the customer's first roster line) in one :class:`InputError`.
    """
    line_of = {c.customer: c.line for c in customers}
    problems: list[str] = []
    managers = {} if book is None else book.managers
    new_managers: dict[str, str] = {}
    for c in customers:
        for m, _ in c.shares:
            if m in managers or m in new_managers:
                continue
            if c.branch is None:
                problems.append(
                    f"line {c.line}: manager {m!r} is not in the book; add a branch_id column (new "
                    "managers are registered at their customer's branch)"
                )
            else:
                new_managers[m] = c.branch
    _raise(problems, roster)
    if book is None:
        branches = {c.branch for c in customers if c.branch is not None}
        book = AllocationBook.empty(new_managers, branches=branches)
    else:
        branches = {c.branch for c in customers if c.branch is not None} - set(book.branch_ids.tolist())
        if new_managers or branches:
            book = book.with_managers(new_managers, branches=branches)
    # customers new to the book join their branch's pool on their effective date
    new = [c for c in customers if c.customer not in book]
    for c in new:
        if c.branch is None:
            problems.append(f"line {c.line}: customer {c.customer!r} is not in the book; give its branch_id")
    _raise(problems, roster)
    by_day: dict[_dt.date, list[_Customer]] = {}
    for c in new:
        by_day.setdefault(c.effective, []).append(c)
    for day in sorted(by_day):
        group = by_day[day]
        try:
            book = book.add_customers(
                [c.customer for c in group],
                [str(c.branch) for c in group],
                effective=day,
                operator=operator,
                reason=reason,
            ).book
        except BatchAllocationError as exc:
            problems += [f"line {line_of.get(cid, '?')}: customer {cid!r}: {msg}" for cid, msg in exc.errors]
        except AllocationError as exc:
            problems.append(f"{exc}")
    _raise(problems, roster)
    # unallocated customers: batches of one (date, primary, shares); allocated ones: adjustments
    pools: dict[tuple[str, _dt.date], set[str]] = {}
    batches: dict[tuple[_dt.date, str, tuple[tuple[str, int], ...]], list[_Customer]] = {}
    adjust: list[_Customer] = []
    for c in customers:
        try:
            branch = book.branch_of(c.customer, c.effective)
        except AllocationError as exc:
            problems.append(f"line {c.line}: {exc}")
            continue
        if c.branch is not None and c.branch != branch:
            problems.append(
                f"line {c.line}, column 'branch_id': customer {c.customer!r} is at branch {branch!r} in the "
                f"book on {c.effective}, not {c.branch!r} (transfer it first)"
            )
            continue
        key = (branch, c.effective)
        if key not in pools:
            pools[key] = set(book.unallocated(branch, c.effective).tolist())
        if c.customer in pools[key]:
            batches.setdefault((c.effective, c.primary, c.shares), []).append(c)
        else:
            adjust.append(c)
    _raise(problems, roster)
    allocated = adjusted = unchanged = 0
    for (day, primary, shares), group in sorted(batches.items(), key=lambda kv: kv[0][0]):
        ids = [c.customer for c in group]
        try:
            book = book.batch_allocate(
                ids,
                primary,
                list(shares),
                tiers=np.array([tiers[i] for i in ids]),
                effective=day,
                operator=operator,
                reason=reason,
            ).book
            allocated += len(ids)
        except BatchAllocationError as exc:
            problems += [f"line {line_of.get(cid, '?')}: customer {cid!r}: {msg}" for cid, msg in exc.errors]
        except AllocationError as exc:
            problems.append(f"line {group[0].line}: {exc}")
    for c in sorted(adjust, key=lambda c: c.effective):
        try:
            book = book.adjust(
                c.customer,
                primary=c.primary,
                shares=list(c.shares),
                tier=tiers[c.customer],
                effective=c.effective,
                operator=operator,
                reason=reason,
            ).book
            adjusted += 1
        except NoChangeError:
            unchanged += 1
        except AllocationError as exc:
            problems.append(f"line {c.line}: {exc}")
    _raise(problems, roster)
    report = (
        f"{len(customers):,} customers from the roster: {allocated:,} allocated "
        f"({len(new):,} new to the book), {adjusted:,} adjusted, {unchanged:,} unchanged"
    )
    if new_managers:
        report += f"; {len(new_managers):,} managers registered"
    return book, report
