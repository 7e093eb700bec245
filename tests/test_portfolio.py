"""Portfolio construction, validation and views."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from custvalue import Month, Portfolio, PortfolioError


def _rows(**over: Any) -> list[dict[str, Any]]:
    rows = []
    for cid in ("C1", "C2"):
        for m in ("2026-08", "2026-09", "2026-10"):
            rows.append(
                {
                    "customer_id": cid,
                    "branch_id": "B1",
                    "month": m,
                    "deposits": "100.00",
                    "wealth": "0",
                    "investments": "0",
                    "mortgage_loan": "0",
                    "credit_loan": "0",
                    "card_spend": "0",
                    "card_level": "none",
                }
            )
    return rows


def _small() -> Portfolio:
    return Portfolio.from_arrays(
        customer_ids=["a", "b", "c"],
        branch_ids=["x", "x", "y"],
        start="2026-08",
        deposits=np.arange(9).reshape(3, 3),
        card_level=np.array([["none"] * 3] * 3),
    )


def test_records_round_trip() -> None:
    p = Portfolio.from_records(_rows())
    assert p.n_customers == 2 and p.n_months == 3
    assert p.months.start == Month(2026, 8)
    assert p.deposits.tolist() == [[10000] * 3] * 2
    assert Portfolio.from_records(p.to_records()) == p


def _err(rows: list[dict[str, Any]]) -> PortfolioError:
    with pytest.raises(PortfolioError) as exc:
        Portfolio.from_records(rows, source="f.csv")
    return exc.value


def test_duplicate_row() -> None:
    rows = _rows()
    rows.append(dict(rows[1]))
    e = _err(rows)
    assert "duplicate row" in e.message
    assert (e.customer_id, e.month, e.line, e.file) == ("C1", "2026-09", 8, "f.csv")


def test_gap() -> None:
    rows = _rows()
    del rows[1]
    e = _err(rows)
    assert "gap" in e.message and (e.customer_id, e.month) == ("C1", "2026-09")


def test_ragged_end() -> None:
    rows = _rows()
    del rows[5]
    e = _err(rows)
    assert "ends before" in e.message and e.customer_id == "C2"


def test_negative_balance_record() -> None:
    rows = _rows()
    rows[4]["wealth"] = "-0.01"
    e = _err(rows)
    assert "negative" in e.message
    assert (e.column, e.customer_id, e.month, e.line) == ("wealth", "C2", "2026-09", 6)


def test_missing_value_record() -> None:
    rows = _rows()
    rows[2]["credit_loan"] = ""
    e = _err(rows)
    assert e.message == "missing value"
    assert (e.column, e.customer_id, e.month, e.line) == ("credit_loan", "C1", "2026-10", 4)


def test_unknown_card_level_record() -> None:
    rows = _rows()
    rows[0]["card_level"] = "black"
    e = _err(rows)
    assert "unknown card level" in e.message and e.column == "card_level" and e.line == 2


def test_bad_money_record() -> None:
    rows = _rows()
    rows[3]["deposits"] = "1.001"
    e = _err(rows)
    assert "more than two decimals" in e.message and e.column == "deposits" and e.line == 5


def test_duplicate_customer_arrays() -> None:
    with pytest.raises(PortfolioError) as exc:
        Portfolio.from_arrays(
            customer_ids=["a", "b", "a"],
            branch_ids=["x"] * 3,
            start="2026-10",
            deposits=np.zeros((3, 1), dtype=np.int64),
        )
    assert exc.value.column == "customer_id" and exc.value.customer_id == "a"


def test_negative_balance_arrays() -> None:
    d = np.zeros((2, 3), dtype=np.int64)
    d[1, 2] = -5
    with pytest.raises(PortfolioError) as exc:
        Portfolio.from_arrays(customer_ids=["a", "b"], branch_ids=["x"] * 2, start="2026-08", investments=d)
    e = exc.value
    assert (e.column, e.customer_id, e.month) == ("investments", "b", "2026-10")


def test_shape_mismatch() -> None:
    with pytest.raises(PortfolioError) as exc:
        Portfolio.from_arrays(
            customer_ids=["a", "b"],
            branch_ids=["x"] * 2,
            start="2026-08",
            deposits=np.zeros((2, 3), dtype=np.int64),
            wealth=np.zeros((2, 2), dtype=np.int64),
        )
    assert exc.value.column == "wealth" and "shape" in exc.value.message
    with pytest.raises(PortfolioError, match="rows"):
        Portfolio.from_arrays(
            customer_ids=["a", "b"],
            branch_ids=["x"] * 2,
            start="2026-08",
            deposits=np.zeros((3, 3), dtype=np.int64),
        )
    with pytest.raises(PortfolioError) as exc:
        Portfolio.from_arrays(
            customer_ids=["a", "b"],
            branch_ids=["x"],
            start="2026-08",
            deposits=np.zeros((2, 3), dtype=np.int64),
        )
    assert exc.value.column == "branch_id"


def test_float_array_refused() -> None:
    with pytest.raises(PortfolioError) as exc:
        Portfolio.from_arrays(
            customer_ids=["a"], branch_ids=["x"], start="2026-10", deposits=np.array([[1.5]])
        )
    assert exc.value.column == "deposits" and "from_float" in exc.value.message


def test_masked_array_refused() -> None:
    d = np.ma.array([[1, 2], [3, 4]], mask=[[False, False], [False, True]])
    with pytest.raises(PortfolioError) as exc:
        Portfolio.from_arrays(customer_ids=["a", "b"], branch_ids=["x"] * 2, start="2026-09", wealth=d)
    e = exc.value
    assert (e.message, e.column, e.customer_id, e.month) == ("missing value", "wealth", "b", "2026-10")


def test_unknown_card_level_arrays() -> None:
    with pytest.raises(PortfolioError) as exc:
        Portfolio.from_arrays(
            customer_ids=["a"], branch_ids=["x"], start="2026-10", card_level=np.array([["black"]])
        )
    assert exc.value.column == "card_level" and exc.value.customer_id == "a"
    with pytest.raises(PortfolioError):
        Portfolio.from_arrays(
            customer_ids=["a"], branch_ids=["x"], start="2026-10", card_level=np.array([[5]])
        )


def test_missing_id() -> None:
    with pytest.raises(PortfolioError) as exc:
        Portfolio.from_arrays(
            customer_ids=np.array(["a", None], dtype=object),
            branch_ids=["x"] * 2,
            start="2026-10",
            deposits=np.zeros((2, 1), dtype=np.int64),
        )
    assert exc.value.column == "customer_id"


def test_history_start() -> None:
    rows = [r for r in _rows() if not (r["customer_id"] == "C2" and r["month"] == "2026-08")]
    p = Portfolio.from_records(rows)
    assert p.history_start.tolist() == [0, 1]
    assert repr(p).endswith("1 complete histories>")
    assert Portfolio.from_records(p.to_records()) == p
    with pytest.raises(PortfolioError) as exc:
        Portfolio.from_arrays(
            customer_ids=["a"],
            branch_ids=["x"],
            start="2026-10",
            deposits=np.zeros((1, 1), dtype=np.int64),
            history_start=[1],
        )
    assert exc.value.column == "history_start"


def test_arrays_are_read_only_and_not_copied() -> None:
    d = np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3))  # the portfolio's layout
    p = Portfolio.from_arrays(customer_ids=["a", "b"], branch_ids=["x"] * 2, start="2026-08", deposits=d)
    assert np.shares_memory(p.deposits, d)
    c = np.ascontiguousarray(d)  # customer-major: copied once into the month-major layout
    pc = Portfolio.from_arrays(customer_ids=["a", "b"], branch_ids=["x"] * 2, start="2026-08", deposits=c)
    assert not np.shares_memory(pc.deposits, c) and pc.deposits.flags.f_contiguous
    assert np.array_equal(pc.deposits, c)
    for name in ("deposits", "wealth", "card_level", "customer_ids", "history_start"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(p, name)[0] = 0  # type: ignore[index]
    q = Portfolio.from_arrays(
        customer_ids=["a", "b"], branch_ids=["x"] * 2, start="2026-08", deposits=d, copy=True
    )
    assert not np.shares_memory(q.deposits, d)


def test_select() -> None:
    p = _small()
    s = p.select(["c", "a"])
    assert s.customer_ids.tolist() == ["c", "a"]
    assert s.deposits.tolist() == [[6, 7, 8], [0, 1, 2]]
    assert p.select(np.array([1])).customer_ids.tolist() == ["b"]
    assert p.select(np.array([True, False, True])).branch_ids.tolist() == ["x", "y"]
    assert not s.deposits.flags.writeable
    # every derived portfolio keeps the month-major layout
    for q in (s, p.rows(1, 3), p.select(np.array([True, False, True]))):
        for c in ("deposits", "card_level"):
            arr = getattr(q, c)
            assert arr.strides[0] == arr.itemsize  # customers adjacent within a month
    assert np.shares_memory(p.rows(1, 3).deposits, p.deposits)  # rows are a zero-copy view
    with pytest.raises(PortfolioError):
        p.select(["zz"])
    with pytest.raises(PortfolioError):
        p.select(["a", "a"])
    with pytest.raises(PortfolioError):
        p.select(np.array([True]))


def test_rows_and_window_are_views() -> None:
    p = _small()
    r = p.rows(1, 3)
    assert r.customer_ids.tolist() == ["b", "c"]
    assert np.shares_memory(r.deposits, p.deposits) and not r.deposits.flags.writeable
    w = p.window("2026-09", "2026-10")
    assert str(w.months) == "2026-09..2026-10"
    assert w.deposits.tolist() == [[1, 2], [4, 5], [7, 8]]
    assert np.shares_memory(w.deposits, p.deposits) and not w.deposits.flags.writeable
    with pytest.raises(PortfolioError):
        p.window("2026-10", "2026-09")


def test_window_history_start() -> None:
    rows = [r for r in _rows() if not (r["customer_id"] == "C2" and r["month"] != "2026-10")]
    p = Portfolio.from_records(rows)
    assert p.history_start.tolist() == [0, 2]
    assert p.window("2026-09", "2026-10").history_start.tolist() == [0, 1]
    with pytest.raises(PortfolioError) as exc:
        p.window("2026-08", "2026-09")
    assert exc.value.customer_id == "C2"


def test_aum_and_column() -> None:
    p = _small()
    assert p.aum().tolist() == p.deposits.tolist()
    assert p.column("aum").tolist() == p.deposits.tolist()
    with pytest.raises(KeyError):
        p.column("nope")
    with pytest.raises(KeyError):
        p.aum(["nope"])


def test_index_of() -> None:
    p = _small()
    assert p.index_of(["c", "a"]).tolist() == [2, 0]
    assert p.index_of("b").tolist() == [1]
