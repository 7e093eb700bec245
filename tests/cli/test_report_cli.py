"""``custvalue report``: real files in, an HTML page or an Excel workbook out, through a subprocess."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from custvalue.allocation import AllocationBook
from custvalue.analytics import synthetic_transactions
from custvalue.io import write_balances
from custvalue.synthetic import generate


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("report_cli")
    p = generate(400, seed=21, n_branches=2)
    balances = write_balances(p, d / "balances.csv")
    tx = synthetic_transactions(600, 400, seed=5, start="2026-10-01", days=30, customer_ids=p.customer_ids)
    tx.write(d / "transactions.csv")
    ids, br = p.customer_ids.tolist(), p.branch_ids.tolist()
    book = AllocationBook.empty({"RM1": "B001", "RM2": "B002"})
    book = book.add_customers(ids, br, effective=dt.date(2026, 1, 1), operator="ops").book
    for m, b in (("RM1", "B001"), ("RM2", "B002")):
        mine = [c for c, x in zip(ids, br, strict=True) if x == b][:30]
        book = book.batch_allocate(
            mine, m, {m: "100%"}, tiers="gold", effective=dt.date(2026, 9, 1), operator="ops"
        ).book
    (d / "book.json").write_text(json.dumps(book.to_dict()), encoding="utf-8")
    return {"dir": d, "balances": balances, "transactions": d / "transactions.csv", "book": d / "book.json"}


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "custvalue.cli", "report", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
    )


def _leftovers(d: Path) -> list[str]:
    return sorted(f.name for f in d.iterdir() if f.name.startswith("."))


def test_report_xlsx_with_transactions_and_book(data: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "report.xlsx"
    proc = _run(
        "--balances",
        data["balances"],
        "--as-of",
        "2026-10",
        "--transactions",
        data["transactions"],
        "--book",
        data["book"],
        "--out",
        out,
    )
    assert proc.returncode == 0, proc.stderr
    assert "400 customers as of 2026-10: 10 reports" in proc.stderr
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [
        "Summary",
        "Tier distribution",
        "Tier trend",
        "Tier migration",
        "Churn",
        "Concentration",
        "Branch assets",
        "Asset alerts",
        "Large transactions",
        "Manager performance",
        "Branch performance",
    ]
    ws = wb["Tier distribution"]
    total_row = next(r for r in ws.iter_rows(values_only=True) if r[0] == "Total")
    assert total_row[2] == 400  # every customer counted once
    managers = [
        r[0] for r in wb["Manager performance"].iter_rows(min_row=2, values_only=True) if r[0] != "Total"
    ]
    assert managers == ["RM1", "RM2"]
    assert _leftovers(tmp_path) == []


def test_report_html(data: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    proc = _run("--balances", data["balances"], "--out", out, "--months", "3", "--max-rows", "10", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert "Customer value report as of 2026-10" in text  # the file's last month
    assert text.count("<section") == 8  # summary and seven reports
    assert text.count("data:image/png;base64,") >= 7
    assert "<script" not in text


def test_a_bad_out_suffix_is_an_error_before_any_work(data: dict[str, Path], tmp_path: Path) -> None:
    proc = _run("--balances", tmp_path / "missing.csv", "--out", tmp_path / "report.pdf")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"custvalue: error: --out {tmp_path / 'report.pdf'}: a report is .html or .xlsx, not '.pdf'"
    ]
    proc = _run("--balances", data["balances"], "--out", tmp_path / "nowhere" / "report.xlsx")
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_failing_run_leaves_the_old_report_whole(data: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "report.xlsx"
    out.write_bytes(b"last month's report")
    bad = tmp_path / "bad_transactions.csv"
    bad.write_text(
        "customer_id,timestamp,amount,direction\nC0000001,2026-10-01,100.00,out\nC0000002,2026-10-02,5,sideways\n",
        encoding="utf-8",
    )
    proc = _run("--balances", data["balances"], "--transactions", bad, "--out", out)
    assert proc.returncode == 2
    assert (
        "line 3" in proc.stderr and "direction" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    )
    assert out.read_bytes() == b"last month's report"
    stranger = tmp_path / "stranger.csv"
    stranger.write_text(
        "customer_id,timestamp,amount,direction\nNOBODY,2026-10-01,100.00,out\n", encoding="utf-8"
    )
    proc = _run("--balances", data["balances"], "--transactions", stranger, "--out", out)
    assert proc.returncode == 2 and "NOBODY" in proc.stderr
    proc = _run("--balances", data["balances"], "--as-of", "2030-01", "--out", out)
    assert proc.returncode == 2 and "2030-01" in proc.stderr
    assert out.read_bytes() == b"last month's report"
    assert _leftovers(tmp_path) == []


def test_a_bad_book_file_is_named(data: dict[str, Path], tmp_path: Path) -> None:
    book = tmp_path / "book.json"
    book.write_text("{not json", encoding="utf-8")
    proc = _run("--balances", data["balances"], "--book", book, "--out", tmp_path / "r.xlsx")
    assert proc.returncode == 2
    assert "book" in proc.stderr and str(book) in proc.stderr
    assert not (tmp_path / "r.xlsx").exists()


def test_the_command_is_listed() -> None:
    proc = subprocess.run([sys.executable, "-m", "custvalue.cli", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "report" in proc.stdout
    proc = _run("--help")
    assert proc.returncode == 0 and "--transactions" in proc.stdout and "--book" in proc.stdout
