"""Balances files: round trips, bad files, atomic writes."""

from __future__ import annotations

import contextlib
import decimal
from pathlib import Path

import attrs
import numpy as np
import pytest

from _testing import without_pyarrow
from custvalue import Portfolio, PortfolioError
from custvalue.io import ExtraColumnsWarning, atomic_write, read_balances, write_balances
from custvalue.portfolio import MAX_AMOUNT
from custvalue.synthetic import generate

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

HEADER = (
    "customer_id,branch_id,month,deposits,wealth,investments,mortgage_loan,credit_loan,card_spend,card_level"
)


def _plain(p: Portfolio) -> Portfolio:
    return attrs.evolve(p, opened=None)


@pytest.mark.parametrize("ext", ["csv", "parquet"])
@pytest.mark.parametrize("households", [False, True])
def test_round_trip(tmp_path: Path, ext: str, households: bool) -> None:
    p = _plain(generate(3000, seed=11, households=households))
    out = write_balances(p, tmp_path / f"b.{ext}")
    assert read_balances(out) == p
    assert sorted(x.name for x in tmp_path.iterdir()) == [f"b.{ext}"]


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_round_trip_awkward_values(tmp_path: Path, ext: str) -> None:
    d = np.array([[0, 1, MAX_AMOUNT], [0, 100, 12345678901]], dtype=np.int64)
    p = Portfolio.from_arrays(
        customer_ids=["客户,1", 'q"2'],
        branch_ids=["B 1", "支行"],
        start="2026-08",
        deposits=d,
        card_spend=d[:, ::-1] * (d > 0),
        card_level=np.array([[0, 4, 2], [0, 3, 1]]),
        history_start=[0, 1],
    )
    q = read_balances(write_balances(p, tmp_path / f"b.{ext}"))
    assert q == p


def test_csv_module_path_matches_fast_path(tmp_path: Path) -> None:
    p = _plain(generate(500, seed=2))
    f = write_balances(p, tmp_path / "b.csv")
    text = f.read_text()
    (tmp_path / "crlf.csv").write_bytes(text.replace("\n", "\r\n").encode())
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    (tmp_path / "blank.csv").write_text(text + "\n\n")
    cols = text.splitlines()[0].split(",")
    order = [cols.index(c) for c in reversed(cols)]
    lines = [",".join(row.split(",")[k] for k in order) for row in text.splitlines()]
    (tmp_path / "reordered.csv").write_text("\n".join(lines))
    for name in ("crlf.csv", "bom.csv", "blank.csv", "reordered.csv"):
        assert read_balances(tmp_path / name) == p, name


def _csv(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    f = tmp_path / "bad.csv"
    f.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return f


GOOD = ["C1,B1,2026-09,1.00,0,0,0,0,0,none", "C1,B1,2026-10,2.00,0,0,0,0,0,gold"]


@pytest.mark.parametrize("quoted", [False, True])
@pytest.mark.parametrize(
    ("row", "column", "text"),
    [
        ("C2,B1,2026-10,1.001,0,0,0,0,0,none", "deposits", "more than two decimals"),
        ("C2,B1,2026-10,0,abc,0,0,0,0,none", "wealth", "not a decimal"),
        ("C2,B1,2026-10,0,0,-5,0,0,0,none", "investments", "negative"),
        ("C2,B1,2026-10,0,0,0,,0,0,none", "mortgage_loan", "missing value"),
        ("C2,B1,2026-10,0,0,0,0,1e5,0,none", "credit_loan", "not a decimal"),
        ("C2,B1,2026-10,0,0,0,0,0,NaN,none", "card_spend", "not a decimal"),
        ("C2,B1,2026-10,0,0,0,0,0,0,black", "card_level", "unknown card level"),
        ("C2,B1,2026-13,0,0,0,0,0,0,none", "month", "month must be in 1..12"),
        ("C2,,2026-10,0,0,0,0,0,0,none", "branch_id", "missing value"),
    ],
)
def test_bad_cell_names_line_and_column(
    tmp_path: Path, row: str, column: str, text: str, quoted: bool
) -> None:
    rows = [*GOOD, "C2,B1,2026-09,0,0,0,0,0,0,none", row]
    if quoted:  # forces the csv-module path
        rows = [f'"{r.split(",")[0]}",' + r.split(",", 1)[1] for r in rows]
    f = _csv(tmp_path, *rows)
    with pytest.raises(PortfolioError) as exc:
        read_balances(f)
    e = exc.value
    assert (e.file, e.line, e.column) == (str(f), 5, column)
    assert text in e.message
    assert e.customer_id == "C2"
    if column != "month":
        assert e.month == "2026-10"


def test_bad_structure(tmp_path: Path) -> None:
    with pytest.raises(PortfolioError) as exc:
        read_balances(_csv(tmp_path, *GOOD, "C2,B1,2026-10,0,0,0"))
    assert exc.value.line == 4 and "fields" in exc.value.message
    with pytest.raises(PortfolioError) as exc:
        read_balances(_csv(tmp_path, *GOOD, header=HEADER + ",colour"))
    assert exc.value.line == 2 and "expected 11 fields" in exc.value.message
    # an extra column is ignored with a note naming it (tests/io/test_bank_files.py has more)
    with pytest.warns(ExtraColumnsWarning, match="ignored column 'colour'"):
        read_balances(_csv(tmp_path, *[r + ",red" for r in GOOD], header=HEADER + ",colour"))
    with pytest.raises(PortfolioError) as exc:
        read_balances(_csv(tmp_path, *GOOD, header=HEADER.replace(",wealth", "")))
    assert exc.value.column == "wealth"
    with pytest.raises(PortfolioError) as exc:
        read_balances(_csv(tmp_path, GOOD[0], GOOD[1], GOOD[1]))
    assert exc.value.line == 4 and "duplicate" in exc.value.message
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(PortfolioError):
        read_balances(tmp_path / "empty.csv")
    with pytest.raises(PortfolioError, match="no rows"):
        read_balances(_csv(tmp_path))
    with pytest.raises(ValueError, match="format"):
        read_balances(tmp_path / "x.xlsx")


def _parquet(tmp_path: Path, **override: object) -> Path:
    cols: dict[str, object] = {
        "customer_id": pa.array(["C1", "C1", "C2"]),
        "branch_id": pa.array(["B1", "B1", "B1"]),
        "month": pa.array(["2026-09", "2026-10", "2026-10"]),
        "deposits": pa.array(
            [decimal.Decimal("1.50"), decimal.Decimal("2"), decimal.Decimal("3.01")],
            type=pa.decimal128(18, 2),
        ),
        "wealth": pa.array([1, 2, 3], type=pa.int32()),
        "investments": pa.array(["0.1", "0", "7"]),
        "mortgage_loan": pa.array([0, 0, 0], type=pa.int64()),
        "credit_loan": pa.array([decimal.Decimal("1.5000")] * 3, type=pa.decimal128(20, 4)),
        "card_spend": pa.array([0, 0, 0], type=pa.int64()),
        "card_level": pa.array(["none", "gold", "diamond"]),
    }
    cols.update(override)
    f = tmp_path / "b.parquet"
    pq.write_table(pa.table(cols), f)
    return f


def test_parquet_types(tmp_path: Path) -> None:
    p = read_balances(_parquet(tmp_path))
    assert p.deposits.tolist() == [[150, 200], [0, 301]]
    assert p.wealth.tolist() == [[100, 200], [0, 300]]  # integers are yuan
    assert p.investments.tolist() == [[10, 0], [0, 700]]
    assert p.credit_loan.tolist() == [[150, 150], [0, 150]]
    assert p.history_start.tolist() == [0, 1]


@pytest.mark.parametrize(
    ("column", "value", "text", "row"),
    [
        ("wealth", pa.array([1.0, 2.0, 3.0]), "floating-point", None),
        (
            "credit_loan",
            pa.array(
                [decimal.Decimal("1.5"), decimal.Decimal("1.001"), decimal.Decimal("0")],
                type=pa.decimal128(20, 4),
            ),
            "more than two decimals",
            2,
        ),
        ("investments", pa.array(["0", "1.234", "0"]), "more than two decimals", 2),
        (
            "deposits",
            pa.array([decimal.Decimal("1"), None, decimal.Decimal("1")], type=pa.decimal128(18, 2)),
            "missing value",
            2,
        ),
        ("mortgage_loan", pa.array([0, -1, 0]), "negative", 2),
        ("card_level", pa.array(["none", "none", "black"]), "unknown card level", 3),
    ],
)
def test_parquet_bad(tmp_path: Path, column: str, value: object, text: str, row: int | None) -> None:
    f = _parquet(tmp_path, **{column: value})
    with pytest.raises(PortfolioError) as exc:
        read_balances(f)
    e = exc.value
    assert text in e.message and e.column == column and e.file == str(f)
    assert e.line == row


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    p = _plain(generate(100, seed=1))
    target = tmp_path / "out.csv"

    def boom(tmp: Path) -> None:
        tmp.write_text("partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, boom)
    assert list(tmp_path.iterdir()) == []
    write_balances(p, target)
    before = target.read_bytes()
    with pytest.raises(OSError):
        atomic_write(target, boom)
    assert target.read_bytes() == before
    assert [x.name for x in tmp_path.iterdir()] == ["out.csv"]


def test_without_pyarrow_really_has_no_pyarrow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from custvalue.io import _csv

    path = write_balances(_plain(generate(20, seed=1)), tmp_path / "b.csv")
    assert _csv._arrow_columns(path, str(path)) is not None
    with without_pyarrow(monkeypatch):
        assert _csv._arrow_columns(path, str(path)) is None
        with pytest.raises(ImportError):
            read_balances(write_balances(_plain(generate(5, seed=1)), tmp_path / "b.parquet"))
    assert _csv._arrow_columns(path, str(path)) is not None


def test_arrow_and_standard_library_csv_readers_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pyarrow CSV path and the stdlib path read the same portfolio and report the same errors."""
    from custvalue import synthetic

    path = tmp_path / "b.csv"
    write_balances(synthetic.generate(300, seed=11, households=True), path)
    fast = read_balances(path)
    with without_pyarrow(monkeypatch):
        slow = read_balances(path)
    assert fast == slow
    lines = path.read_text(encoding="utf-8").splitlines()
    cells = lines[41].split(",")
    cells[lines[0].split(",").index("wealth")] = "1.234"  # three decimals, at file line 42
    lines[41] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    errors = []
    for arrow in (True, False):
        with contextlib.ExitStack() as stack:
            if not arrow:
                stack.enter_context(without_pyarrow(monkeypatch))
            with pytest.raises(PortfolioError) as exc:
                read_balances(path)
        errors.append((exc.value.line, exc.value.column, exc.value.customer_id, exc.value.message))
    assert errors[0] == errors[1] == (42, "wealth", cells[0], "'1.234' has more than two decimals")


def test_blank_line_keeps_physical_line_numbers(tmp_path: Path) -> None:
    from custvalue import synthetic

    path = tmp_path / "b.csv"
    write_balances(synthetic.generate(20, seed=3), path)
    lines = path.read_text(encoding="utf-8").splitlines()
    cells = lines[30].split(",")
    cells[lines[0].split(",").index("deposits")] = "-5"
    lines[30] = ",".join(cells)
    lines.insert(10, "")  # the bad row moves to physical line 32
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(PortfolioError) as exc:
        read_balances(path)
    assert (exc.value.line, exc.value.column) == (32, "deposits")


def test_invalid_utf8_is_an_error_on_every_csv_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bad bytes in an id are reported with their line, never replaced silently."""
    path = tmp_path / "b.csv"
    rows = [b"C1,B1,2026-09,1.00,0,0,0,0,0,none", b"C\xff2,B1,2026-09,1.00,0,0,0,0,0,none"]
    path.write_bytes(HEADER.encode() + b"\n" + b"\n".join(rows) + b"\n")
    for arrow in (True, False):
        with contextlib.ExitStack() as stack:
            if not arrow:
                stack.enter_context(without_pyarrow(monkeypatch))
            with pytest.raises(PortfolioError) as exc:
                read_balances(path)
        assert (exc.value.line, exc.value.column, exc.value.message) == (
            3,
            "customer_id",
            "not valid UTF-8 text",
        ), arrow
