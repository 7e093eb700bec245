"""Transactions: construction, validation, sorting, and the transaction files (CSV and Parquet)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from custvalue import Portfolio
from custvalue.analytics import TransactionError, Transactions, read_transactions, synthetic_transactions
from custvalue.io import TransactionFileError, read_transaction_file

HEADER = "customer_id,timestamp,amount,direction,channel\n"


def _csv(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    f = tmp_path / "tx.csv"
    f.write_text(header + body, encoding="utf-8")
    return f


def test_sorted_once_by_customer_then_time_ties_in_input_order() -> None:
    t = Transactions.from_arrays(
        customer_ids=["B", "A", "B", "A", "A"],
        timestamps=np.array([30, 20, 10, 20, 5], dtype="datetime64[s]"),
        amounts=[1, 2, 3, 4, 5],
        directions=["in", "out", "in", "out", "in"],
        channels=["x", "y", "x", "z", "y"],
    )
    assert t.customer_ids.tolist() == ["A", "B"]
    assert t.row_customer_ids().tolist() == ["A", "A", "A", "B", "B"]
    assert t.amounts.tolist() == [5, 2, 4, 3, 1]
    assert t.source_rows.tolist() == [4, 1, 3, 2, 0]
    assert t.channel_names().tolist() == ["y", "y", "z", "x", "x"]
    for a in (t.amounts, t.timestamps, t.customer_codes, t.direction_codes, t.channel_codes):
        assert not a.flags.writeable
        with pytest.raises(ValueError):
            a.setflags(write=True)


def test_from_codes_equals_from_arrays() -> None:
    t = synthetic_transactions(500, 30, seed=4)
    u = Transactions.from_arrays(
        customer_ids=t.row_customer_ids()[::-1],
        timestamps=t.timestamps[::-1],
        amounts=t.amounts[::-1],
        directions=t.directions()[::-1],
        channels=t.channel_names()[::-1],
    )
    assert u == t


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"amounts": [0]}, "row 0: amount 0 is not positive"),
        ({"amounts": [-5]}, "not positive"),
        ({"amounts": np.array([1.5])}, "integer fen"),
        ({"directions": ["sideways"]}, "unknown direction"),
        ({"directions": [2]}, "unknown direction"),
        ({"customer_ids": [""]}, "missing customer id"),
        ({"timestamps": ["2026-13-01"]}, "is not an ISO timestamp"),
        ({"timestamps": np.array(["NaT"], dtype="datetime64[s]")}, "missing timestamp"),
        ({"timestamps": np.array([1500], dtype="datetime64[ms]")}, "fraction of a second"),
        ({"amounts": [1, 2]}, "amounts for 1 transactions"),
        ({"timestamps": np.array(["10000-01-01"], dtype="datetime64[s]")}, "outside the years 1..9999"),
    ],
)
def test_from_arrays_refuses_bad_columns(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "customer_ids": ["C1"],
        "timestamps": [0],
        "amounts": [1],
        "directions": ["out"],
    }
    args.update(kwargs)
    with pytest.raises(TransactionError, match=message):
        Transactions.from_arrays(**args)  # type: ignore[arg-type]


def test_empty() -> None:
    t = Transactions.from_arrays(customer_ids=[], timestamps=[], amounts=[], directions=[])
    assert len(t) == 0 and t.n_customers == 0
    assert repr(t) == "<Transactions: empty>"


def test_csv_any_order_and_formats(tmp_path: Path) -> None:
    f = _csv(
        tmp_path,
        "C2,2026-10-02T10:00:00,100.00,out,atm\n"
        "\n"
        "C1,2026/10/01 09:30,0.01,IN,counter\n"
        'C1," 2026-09-30 ",00012,Out,\n'
        "C1,01 Oct 2026 09:30:05,99999999.99,out,mobile\n",
    )
    t = read_transactions(f)
    assert t.row_customer_ids().tolist() == ["C1", "C1", "C1", "C2"]
    assert [str(x) for x in t.timestamps] == [
        "2026-09-30T00:00:00",
        "2026-10-01T09:30:00",
        "2026-10-01T09:30:05",
        "2026-10-02T10:00:00",
    ]
    assert t.amounts.tolist() == [1200, 1, 9999999999, 10000]
    assert t.directions().tolist() == ["out", "in", "out", "out"]
    assert t.channel_names().tolist() == ["", "counter", "mobile", "atm"]
    raw = read_transaction_file(f)
    assert raw.lines.tolist() == [2, 4, 5, 6]  # the blank line 3 is skipped but counted


@pytest.mark.parametrize(
    ("body", "line", "column", "message"),
    [
        ("C1,2026-10-01,1.234,out,x\n", 2, "amount", "more than two decimals"),
        ("C1,2026-10-01,1e3,out,x\n", 2, "amount", "not a decimal"),
        ("C1,2026-10-01,,out,x\n", 2, "amount", "missing value"),
        ("C1,2026-10-01,1,out,x\nC1,2026-10-01,-1,out,x\n", 3, "amount", "not positive"),
        ("C1,2026-10-01,0,out,x\n", 2, "amount", "not positive"),
        ("C1,2026-10-01,1,o,x\n", 2, "direction", "unknown direction 'o'"),
        ("C1,2026-10-01,1,out,x\nC2,yesterday-ish,1,out,x\n", 3, "timestamp", "is not a timestamp"),
        ("C1,,1,out,x\n", 2, "timestamp", "missing value"),
        ("C1,2026-10-01T10:00:00+08:00,1,out,x\n", 2, "timestamp", "time zone"),
        ("C1,2026-10-01T10:00:00.5,1,out,x\n", 2, "timestamp", "fraction of a second"),
        ("C1,2026-02-30,1,out,x\n", 2, "timestamp", "is not a timestamp"),
        (" ,2026-10-01,1,out,x\n", 2, "customer_id", "missing value"),
        ("C1,2026-10-01,1,out\n", 2, None, "expected 5 fields"),
        ("C1,2026-10-01,99999999999999999999,out,x\n", 2, "amount", "overflow"),
    ],
)
def test_csv_errors_name_line_and_column(
    tmp_path: Path, body: str, line: int, column: str | None, message: str
) -> None:
    f = _csv(tmp_path, body)
    with pytest.raises(TransactionFileError, match=message) as info:
        read_transactions(f)
    err = info.value
    assert err.file == str(f) and err.line == line and err.column == column


def test_csv_unknown_customer_needs_portfolio(tmp_path: Path) -> None:
    f = _csv(tmp_path, "C1,2026-10-01,1,out,x\nC9,2026-10-01,1,out,x\n")
    p = Portfolio.from_arrays(
        customer_ids=["C1"], branch_ids=["B"], start="2026-10", deposits=np.array([[1]])
    )
    assert len(read_transactions(f)) == 2
    with pytest.raises(TransactionFileError, match="unknown customer 'C9'") as info:
        read_transactions(f, p)
    assert (info.value.line, info.value.column) == (3, "customer_id")


@pytest.mark.parametrize(
    ("header", "column", "message"),
    [
        ("customer_id,timestamp,amount\n", "direction", "missing column"),
        ("customer_id,timestamp,amount,direction,colour\n", "colour", "unknown column"),
        ("customer_id,timestamp,amount,direction,amount\n", "amount", "duplicate column"),
    ],
)
def test_csv_header_errors(tmp_path: Path, header: str, column: str, message: str) -> None:
    f = _csv(tmp_path, "", header=header)
    with pytest.raises(TransactionFileError, match=message) as info:
        read_transactions(f)
    assert (info.value.line, info.value.column) == (1, column)


def test_channel_column_is_optional(tmp_path: Path) -> None:
    f = _csv(tmp_path, "C1,2026-10-01,1,out\n", header="customer_id,timestamp,amount,direction\n")
    assert read_transactions(f).channel_names().tolist() == [""]


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    pytest.importorskip("pyarrow")
    t = synthetic_transactions(2000, 100, seed=9)
    assert read_transactions(t.write(tmp_path / f"t.{suffix}")) == t


def test_parquet_types_and_errors(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from decimal import Decimal

    def write(**cols: object) -> Path:
        base: dict[str, object] = {
            "customer_id": pa.array(["C2", "C1"]),
            "timestamp": pa.array(["2026-10-02 10:00:00", "2026-10-01"]),
            "amount": pa.array([Decimal("1.50"), Decimal("2")], type=pa.decimal128(10, 3)),
            "direction": pa.array(["out", "in"]),
        }
        base.update(cols)
        f = tmp_path / f"t{len(list(tmp_path.iterdir()))}.parquet"
        pq.write_table(pa.table(base), f)
        return f

    t = read_transactions(write())
    assert t.amounts.tolist() == [200, 150]
    t = read_transactions(write(amount=pa.array([3, 4], type=pa.int32())))
    assert t.amounts.tolist() == [400, 300]
    ts = pa.array([10**6, 2 * 10**6], type=pa.timestamp("ms"))
    assert read_transactions(write(timestamp=ts)).timestamps.astype(np.int64).tolist() == [2000, 1000]
    cases = [
        (write(amount=pa.array([1.5, 2.0])), None, "amount", "never float"),
        (
            write(amount=pa.array([Decimal("1.005"), Decimal("1")], type=pa.decimal128(10, 3))),
            1,
            "amount",
            "decimals",
        ),
        (write(amount=pa.array([1, -1], type=pa.int64())), 2, "amount", "not positive"),
        (write(direction=pa.array(["out", None])), 2, "direction", "missing value"),
        (write(timestamp=pa.array([1500, 0], type=pa.timestamp("ms"))), 1, "timestamp", "fraction"),
        (write(timestamp=pa.array([0, 0], type=pa.timestamp("s", tz="UTC"))), None, "timestamp", "time zone"),
    ]
    for f, line, column, message in cases:
        with pytest.raises(TransactionFileError, match=message) as info:
            read_transactions(f)
        assert (info.value.line, info.value.column) == (line, column)
