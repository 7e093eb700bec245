"""The command line for the whole job, run as a user would: ``custvalue`` in a subprocess, real files.

explain, what-if, migration, allocate and attribute, and the options every command that
reads balances shares (--columns, --delimiter, --encoding).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import attrs
import numpy as np
import pytest

from custvalue import Portfolio, default_policy, evaluate, load_policy, tier_migration, what_if
from custvalue.allocation import AllocationBook, attribute
from custvalue.io import read_balances, write_balances
from custvalue.synthetic import generate

EXE = str(Path(sys.executable).parent / "custvalue")
AS_OF = "2026-10"


def run(*argv: str | Path, cwd: Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([EXE, *map(str, argv)], cwd=cwd, capture_output=True, text=True, timeout=300)
    if ok:
        assert done.returncode == 0, done.stderr
    else:
        assert done.returncode == 2, (done.stdout, done.stderr)
        assert done.stderr.count("custvalue: error:") == 1
    return done


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cli")
    p = attrs.evolve(generate(3000, seed=11), opened=None)
    write_balances(p, d / "b.csv")
    return d


@pytest.fixture(scope="module")
def portfolio(files: Path) -> Portfolio:
    return read_balances(files / "b.csv")


def test_every_command_is_listed_in_the_help(files: Path) -> None:
    out = run("--help", cwd=files).stdout
    for cmd in ("explain", "what-if", "migration", "allocate", "attribute"):
        assert f"    {cmd}" in out
        sub = run(cmd, "--help", cwd=files).stdout
        assert sub.startswith(f"usage: custvalue {cmd}")
    for cmd in ("explain", "what-if", "migration", "attribute"):
        sub = run(cmd, "--help", cwd=files).stdout
        assert "--columns" in sub and "--delimiter" in sub and "--encoding" in sub


# ------------------------------------------------------------------ explain
def test_explain_prints_each_customers_explanation(files: Path, portfolio: Portfolio) -> None:
    result = evaluate(portfolio, as_of=AS_OF)
    ids = [str(portfolio.customer_ids[i]) for i in (41, 7, 2999)]
    out = run("explain", "--balances", "b.csv", "--as-of", AS_OF, *ids, ids[0], cwd=files).stdout
    want = "\n\n".join(result.explain(c).text for c in ids) + "\n"
    assert out == want  # each once, in the order given


def test_explain_with_a_policy_file(files: Path, portfolio: Portfolio) -> None:
    pol = default_policy().with_tier("platinum", aum_floor=Decimal("300000"))
    pol.dump(files / "low.json")
    cid = str(portfolio.customer_ids[5])
    out = run("explain", "--balances", "b.csv", "--as-of", "2026-09", "--policy", "low.json", cid, cwd=files)
    assert out.stdout.strip() == evaluate(portfolio, pol, as_of="2026-09").explain(cid).text


def test_explain_names_an_unknown_customer_and_suggests_close_ids(files: Path) -> None:
    err = run("explain", "--balances", "b.csv", "--as-of", AS_OF, "C000042", cwd=files, ok=False).stderr
    assert "unknown customer 'C000042'; did you mean C0000042" in err and "b.csv" in err
    err = run("explain", "--balances", "b.csv", "--as-of", AS_OF, "zz-nobody", cwd=files, ok=False).stderr
    assert "unknown customer 'zz-nobody'" in err and "did you mean" not in err


# ------------------------------------------------------------------ what-if
def test_what_if_prints_the_matrix_and_the_counts_that_change(files: Path, portfolio: Portfolio) -> None:
    new = default_policy().with_tier("platinum", aum_floor=Decimal("400000"))
    new.dump(files / "new.toml")
    out = run("what-if", "--balances", "b.csv", "--as-of", AS_OF, "--policy", "new.toml", cwd=files).stdout
    m = what_if(portfolio, default_policy(), load_policy(files / "new.toml"), as_of=AS_OF)
    assert m.text() in out
    assert "default → default (edited)" in out  # the edited policy is not called default
    k = len(m.labels) - 1
    up = int(np.tril(m.counts[:k, :k], -1).sum())
    down = int(np.triu(m.counts[:k, :k], 1).sum())
    assert up > 0 and down == 0
    assert f"{up + down:,} customers change tier ({up:,} up, {down:,} down)" in out
    # --against names the policy in force; the same policy both sides changes nothing
    out = run(
        "what-if",
        "--balances",
        "b.csv",
        "--as-of",
        AS_OF,
        "--policy",
        "new.toml",
        "--against",
        "new.toml",
        cwd=files,
    ).stdout
    assert "0 customers change tier (0 up, 0 down)" in out


def test_what_if_refuses_policies_with_different_tiers(files: Path) -> None:
    doc = default_policy().to_dict()
    doc["tiers"] = doc["tiers"][2:]
    doc["minimum_allocation_tier"] = "gold"
    (files / "three.json").write_text(json.dumps(doc, default=str))
    err = run(
        "what-if", "--balances", "b.csv", "--as-of", AS_OF, "--policy", "three.json", cwd=files, ok=False
    ).stderr
    assert "same tiers" in err


# ------------------------------------------------------------------ migration
@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_migration_prints_and_writes_the_matrix(files: Path, portfolio: Portfolio, ext: str) -> None:
    out = run(
        "migration", "--balances", "b.csv", "--from", "2025-10", "--to", AS_OF, "--out", f"m.{ext}", cwd=files
    ).stdout
    m = tier_migration(portfolio, default_policy(), "2025-10", AS_OF)
    assert m.text() in out and "2025-10 → 2026-10" in out
    if ext == "csv":
        rows = list(csv.DictReader((files / "m.csv").open()))
        aum = [Decimal(r["aum"]) for r in rows]
    else:
        pq = pytest.importorskip("pyarrow.parquet")
        rows = pq.read_table(files / "m.parquet").to_pylist()
        aum = [r["aum"] for r in rows]
    k = len(m.labels)
    assert len(rows) == k * k
    assert [int(r["customers"]) for r in rows] == m.counts.reshape(-1).tolist()
    assert [int(a * 100) for a in aum] == m.aum.reshape(-1).tolist()
    assert (rows[k + 2]["from_tier"], rows[k + 2]["to_tier"]) == (m.labels[1], m.labels[2])


def test_migration_refuses_a_bad_output_before_any_work(files: Path) -> None:
    err = run(
        "migration",
        "--balances",
        "b.csv",
        "--from",
        "2025-10",
        "--to",
        AS_OF,
        "--out",
        "m.xlsx",
        cwd=files,
        ok=False,
    ).stderr
    assert "unknown file format 'xlsx'" in err
    err = run(
        "migration",
        "--balances",
        "b.csv",
        "--from",
        "2025-10",
        "--to",
        AS_OF,
        "--out",
        "b.csv",
        cwd=files,
        ok=False,
    ).stderr
    assert "input" in err  # the output would replace the balances file
    assert (files / "b.csv").stat().st_size > 0


# ------------------------------------------------------------------ bank files
def test_every_reading_command_takes_a_mapping_a_delimiter_and_an_encoding(
    files: Path, portfolio: Portfolio
) -> None:
    names = {
        "customer_id": "客户号",
        "branch_id": "机构",
        "month": "月份",
        "deposits": "存款",
        "wealth": "理财",
        "investments": "投资",
    }
    src = (files / "b.csv").read_text().splitlines()
    header = src[0].split(",")
    keep = [header.index(c) for c in names]
    lines = [";".join(names[header[k]] for k in keep) + ";备注"]
    lines += [";".join(r.split(",")[k] for k in keep) + ";-" for r in src[1:]]
    (files / "gb.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))
    mapping = ",".join(f"{k}={v}" for k, v in names.items())
    (files / "map.toml").write_text("[columns]\n" + "".join(f'{k} = "{v}"\n' for k, v in names.items()))
    aum_only = {
        "name": "aum_only",
        "tiers": [
            {
                "id": t.id,
                "aum_floor": str(t.aum_floor),
                "window": t.window,
                "status_bands": [
                    {"status": b.status, "months_below": b.months_below} for b in t.status_bands
                ],
            }
            for t in default_policy().tiers
            if t.aum_floor is not None
        ]
        + [{"id": "potential"}],
    }
    (files / "aum.json").write_text(json.dumps(aum_only))
    pol = load_policy(files / "aum.json")
    cid = str(portfolio.customer_ids[41])
    opts = ["--balances", "gb.csv", "--delimiter", ";", "--encoding", "gb18030", "--policy", "aum.json"]
    for columns in (mapping, "map.toml"):
        done = run("explain", *opts, "--columns", columns, "--as-of", AS_OF, cid, cwd=files)
        assert done.stdout.strip() == evaluate(portfolio, pol, as_of=AS_OF).explain(cid).text
        assert "custvalue: note:" in done.stderr and "ignored column '备注'" in done.stderr
    done = run("migration", *opts, "--columns", "map.toml", "--from", "2026-01", "--to", AS_OF, cwd=files)
    assert tier_migration(portfolio, pol, "2026-01", AS_OF).text() in done.stdout
    # without the policy that needs only AUM, the missing columns are named at once
    err = run(
        "explain", *opts[:6], "--columns", "map.toml", "--as-of", AS_OF, cid, cwd=files, ok=False
    ).stderr
    assert "missing columns 'mortgage_loan', 'credit_loan', 'card_spend', 'card_level'" in err
    err = run("explain", *opts, "--columns", "customer_id", "--as-of", AS_OF, cid, cwd=files, ok=False).stderr
    assert "--columns: 'customer_id' is not a pair" in err


# ------------------------------------------------------------------ allocate
ROSTER_HEADER = "customer_id,manager_id,share,primary,effective,branch_id,tier\n"


def _roster(path: Path, *rows: str) -> Path:
    path.write_text(ROSTER_HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def test_allocate_creates_a_book_then_adjusts_it(tmp_path: Path) -> None:
    _roster(
        tmp_path / "r1.csv",
        "C1,M1,60%,true,2026-10-01,B1,platinum",
        "C1,M2,40%,false,2026-10-01,B1,platinum",
        "C2,M2,100%,yes,2026-10-01,B1,gold",
        "C3,M3,0.5,主,2026-10-01,B2,core",
        "C3,M4,5000bp,副,2026-10-01,B2,core",
    )
    out = run(
        "allocate", "--roster", "r1.csv", "--book", "book.json", "--operator", "BM1", cwd=tmp_path
    ).stdout
    assert "3 customers from the roster: 3 allocated (3 new to the book)" in out
    book = AllocationBook.from_dict(json.loads((tmp_path / "book.json").read_text()))
    day = __import__("datetime").date(2026, 10, 1)
    assert book.shares_of("C1", day).as_dict() == {"M1": 6000, "M2": 4000}
    assert book.shares_of("C3", day).as_dict() == {"M3": 5000, "M4": 5000}
    assert book.managers == {"M1": "B1", "M2": "B1", "M3": "B2", "M4": "B2"}
    assert {e.operator for e in book.audit} == {"BM1"}
    # a second roster: C1 changes shares, C2 is unchanged, C4 is new (no tier column: it must be given)
    _roster(
        tmp_path / "r2.csv",
        "C1,M1,70%,true,2026-11-01,B1,platinum",
        "C1,M2,30%,false,2026-11-01,B1,platinum",
        "C2,M2,100%,true,2026-11-01,B1,gold",
        "C4,M1,100%,true,2026-11-01,B1,gold",
    )
    out = run("allocate", "--roster", "r2.csv", "--book", "book.json", cwd=tmp_path).stdout
    assert "1 allocated (1 new to the book), 1 adjusted, 1 unchanged" in out
    book = AllocationBook.from_dict(json.loads((tmp_path / "book.json").read_text()))
    nov = __import__("datetime").date(2026, 11, 1)
    assert book.shares_of("C1", nov).as_dict() == {"M1": 7000, "M2": 3000}
    assert book.shares_of("C1", day).as_dict() == {"M1": 6000, "M2": 4000}  # history kept


def test_allocate_is_all_or_nothing_with_every_problem_by_line(tmp_path: Path) -> None:
    _roster(tmp_path / "ok.csv", "C1,M1,100%,true,2026-10-01,B1,gold")
    run("allocate", "--roster", "ok.csv", "--book", "book.json", cwd=tmp_path)
    before = (tmp_path / "book.json").read_bytes()
    _roster(
        tmp_path / "bad.csv",
        "C2,M1,60%,true,2026-10-01,B1,gold",
        "C2,M2,30%,false,2026-10-01,B1,gold",  # sums to 90%
        "C3,M1,1.5,true,2026-10-01,B1,gold",  # a fraction above 1
        "C4,M1,100%,maybe,2026-10-01,B1,gold",  # not a flag
        "C5,M1,100%,true,2026-13-01,B1,gold",  # not a date
        "C6,M1,50%,true,2026-10-01,B1,gold",
        "C6,M1,50%,false,2026-10-01,B1,gold",  # a manager twice
        "C7,M1,50%,false,2026-10-01,B1,gold",
        "C7,M2,50%,false,2026-10-01,B1,gold",  # no primary
    )
    err = run("allocate", "--roster", "bad.csv", "--book", "book.json", cwd=tmp_path, ok=False).stderr
    assert "6 problems in the roster; nothing was changed" in err
    assert "line 4, column 'share'" in err  # C3
    assert "line 5, column 'primary': 'maybe' is not true or false" in err
    assert "line 6, column 'effective': '2026-13-01' is not a date" in err
    assert "lines 2, 3, column 'share': the shares of customer 'C2' sum to 90%" in err
    assert "line 8, column 'manager_id': manager 'M1' is listed twice" in err
    assert "lines 9, 10: customer 'C7' has 0 primary managers" in err
    assert (tmp_path / "book.json").read_bytes() == before
    # the book's own rules: an ineligible tier, an unknown tier, an unknown manager without a branch
    _roster(
        tmp_path / "rules.csv",
        "C8,M1,100%,true,2026-10-01,B1,potential",
        "C9,M1,100%,true,2026-10-01,B1,platnum",
    )
    err = run("allocate", "--roster", "rules.csv", "--book", "book.json", cwd=tmp_path, ok=False).stderr
    assert "line 2: customer 'C8': tier 'potential' is below the minimum allocatable tier 'gold'" in err
    assert (
        "line 3: customer 'C9': unknown tier 'platnum'; tiers: core, growth, platinum, gold, potential" in err
    )
    (tmp_path / "nobranch.csv").write_text(
        "customer_id,manager_id,share,primary,effective,tier\nC1,M9,100%,true,2026-12-01,gold\n"
    )
    err = run("allocate", "--roster", "nobranch.csv", "--book", "book.json", cwd=tmp_path, ok=False).stderr
    assert "line 2: manager 'M9' is not in the book; add a branch_id column" in err
    assert (tmp_path / "book.json").read_bytes() == before
    (tmp_path / "nocol.csv").write_text("customer_id,manager,share\nC1,M1,100%\n")
    err = run("allocate", "--roster", "nocol.csv", "--book", "book.json", cwd=tmp_path, ok=False).stderr
    assert "missing columns 'manager_id', 'primary', 'effective'" in err


def test_allocate_evaluates_tiers_when_the_roster_has_none(files: Path, portfolio: Portfolio) -> None:
    result = evaluate(portfolio, as_of=AS_OF, previous=False)
    tiers = result.tiers()
    rich = [str(portfolio.customer_ids[i]) for i in np.flatnonzero(tiers == "platinum")[:3]]
    poor = str(portfolio.customer_ids[int(np.flatnonzero(tiers == "potential")[0])])
    branch = {c: str(portfolio.branch_ids[portfolio.index_of(c)[0]]) for c in [*rich, poor]}
    lines = "".join(f"{c},RM_{branch[c]},100%,true,2026-11-01,{branch[c]}\n" for c in rich)
    (files / "roster.csv").write_text("customer_id,manager_id,share,primary,effective,branch_id\n" + lines)
    err = run("allocate", "--roster", "roster.csv", "--book", "tb.json", cwd=files, ok=False).stderr
    assert "have no tier" in err and "--balances and --as-of" in err
    run(
        "allocate",
        "--roster",
        "roster.csv",
        "--book",
        "tb.json",
        "--balances",
        "b.csv",
        "--as-of",
        AS_OF,
        cwd=files,
    )
    (files / "poor.csv").write_text(
        "customer_id,manager_id,share,primary,effective,branch_id\n"
        f"{poor},RM_{branch[poor]},100%,true,2026-11-01,{branch[poor]}\n"
    )
    err = run(
        "allocate",
        "--roster",
        "poor.csv",
        "--book",
        "tb.json",
        "--balances",
        "b.csv",
        "--as-of",
        AS_OF,
        cwd=files,
        ok=False,
    ).stderr
    assert "below the minimum allocatable tier" in err


# ------------------------------------------------------------------ attribute
@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_attribute_writes_each_managers_aum(files: Path, portfolio: Portfolio, ext: str) -> None:
    ids = [str(c) for c in portfolio.customer_ids[:6]]
    branches = [str(b) for b in portfolio.branch_ids[:6]]
    rows = []
    for k, (c, b) in enumerate(zip(ids, branches, strict=True)):
        if k % 3 == 2:
            continue  # not on the roster, so not in the book: its AUM is not attributed
        rows.append(f"{c},A_{b},60%,true,2026-10-01,{b},gold")
        rows.append(f"{c},B_{b},40%,false,2026-10-01,{b},gold")
    _roster(files / "attr_roster.csv", *rows)
    book_file = files / f"attr_book_{ext}.json"
    run("allocate", "--roster", "attr_roster.csv", "--book", book_file.name, cwd=files)
    book = AllocationBook.from_dict(json.loads(book_file.read_text()))
    done = run(
        "attribute",
        "--book",
        book_file.name,
        "--balances",
        "b.csv",
        "--as-of",
        AS_OF,
        "--out",
        f"a.{ext}",
        cwd=files,
    )
    assert "customers of the balances file are not in the book" in done.stderr
    aum = portfolio.aum()[:, -1]
    in_book = np.isin(portfolio.customer_ids, book.customer_ids)
    want = attribute(
        book,
        aum[in_book],
        __import__("datetime").date(2026, 10, 31),
        customer_ids=portfolio.customer_ids[in_book],
    )
    if ext == "csv":
        got = list(csv.DictReader((files / "a.csv").open()))
        amounts = [int(Decimal(r["aum"]) * 100) for r in got]
    else:
        pq = pytest.importorskip("pyarrow.parquet")
        got = pq.read_table(files / "a.parquet").to_pylist()
        amounts = [int(r["aum"] * 100) for r in got]
    assert [r["manager_id"] for r in got] == want.manager_ids.tolist()
    assert amounts == want.manager_totals.tolist() and sum(amounts) > 0
    assert [int(r["customers"]) for r in got] == want.manager_customers().tolist()
    assert want.text(limit=20) in done.stdout
    # money is conserved: the managers' parts add up to the AUM of the customers in the book
    assert set(book.customer_ids.tolist()) == {c for k, c in enumerate(ids) if k % 3 != 2}
    assert want.total == sum(amounts) == int(aum[in_book].sum())


def test_attribute_refuses_a_missing_book(files: Path) -> None:
    err = run(
        "attribute",
        "--book",
        "none.json",
        "--balances",
        "b.csv",
        "--as-of",
        AS_OF,
        "--out",
        "x.csv",
        cwd=files,
        ok=False,
    ).stderr
    assert "cannot read the book" in err and not (files / "x.csv").exists()
