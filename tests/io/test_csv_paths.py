"""One CSV reading path, two tokenisers: pyarrow's CSV reader and the standard library's csv.

Both feed the same builder, so every file gives the same portfolio or the
same error (message, file, line, column, customer, month) with and without
pyarrow.  Also here: class (b) CR-only line endings, and class (c) bounded id
lengths (CSV both paths and Parquet).
"""

from __future__ import annotations

import contextlib
import csv
import io
import tracemalloc
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _testing import without_pyarrow
from custvalue import InputError, Portfolio, PortfolioError
from custvalue.io import _csv as csv_reader
from custvalue.io import read_balances, write_balances
from custvalue.io._columns import MAX_ID_LENGTH
from custvalue.synthetic import generate

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

HEADER = (
    "customer_id,branch_id,month,deposits,wealth,investments,mortgage_loan,credit_loan,card_spend,card_level"
)
ROWS = [
    "C1,B1,2026-09,1.00,0,0,0,0,0,none",
    "C1,B1,2026-10,2.00,0,0,0,0,0,gold",
    "C2,B1,2026-10,3.50,0,0,0,0,0,diamond",
]


def outcome(path: Path) -> Portfolio | tuple[Any, ...]:
    try:
        return read_balances(path)
    except InputError as exc:
        assert exc.file == str(path)
        return (type(exc).__name__, exc.message, exc.line, exc.column, exc.customer_id, exc.month)


def both(
    path: Path, monkeypatch: pytest.MonkeyPatch, *, arrow: bool | None = None
) -> Portfolio | tuple[Any, ...]:
    """The outcome with and without pyarrow (asserted equal); ``arrow``: whether Arrow must tokenise."""
    calls: list[Path] = []
    real = csv_reader._read_with_csv_module
    with monkeypatch.context() as m:
        m.setattr(csv_reader, "_read_with_csv_module", lambda p, s, *a: calls.append(p) or real(p, s, *a))
        with_arrow = outcome(path)
    if arrow is not None:
        assert (not calls) == arrow, "tokeniser"
    with without_pyarrow(monkeypatch):
        without = outcome(path)
    assert with_arrow == without
    return with_arrow


def _write(path: Path, lines: list[str], end: str = "\n") -> Path:
    path.write_bytes((end.join(lines) + end).encode("utf-8", "surrogateescape"))
    return path


# ------------------------------------------------------- same portfolio, same lines
def test_plain_file_is_tokenised_by_arrow_and_both_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = attrs.evolve(generate(400, seed=4, households=True), opened=None)
    f = write_balances(p, tmp_path / "b.csv")
    assert both(f, monkeypatch, arrow=True) == p


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_cr_only_and_crlf_files_read_like_lf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, end: str
) -> None:
    """Class (b): old-Mac CR-only files are read, with the same lines, on both paths."""
    good = _write(tmp_path / "good.csv", [HEADER, *ROWS], end)
    assert both(good, monkeypatch, arrow=True) == read_balances(_write(tmp_path / "lf.csv", [HEADER, *ROWS]))
    bad = _write(tmp_path / "bad.csv", [HEADER, *ROWS[:2], ROWS[2].replace("3.50", "3.505")], end)
    assert both(bad, monkeypatch, arrow=True) == (
        "PortfolioError",
        "'3.505' has more than two decimals",
        4,
        "deposits",
        "C2",
        "2026-10",
    )


def test_mixed_line_endings_count_every_break(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "mixed.csv"
    f.write_bytes(
        (
            "\r".join([HEADER, ROWS[0]])
            + "\r\n"
            + ROWS[1]
            + "\n"
            + ROWS[2]
            + "\r"
            + "C3,B1,2026-10,x,0,0,0,0,0,none"
        ).encode()
    )
    assert both(f, monkeypatch, arrow=True)[1:4] == ("'x' is not a decimal yuan amount", 5, "deposits")


def test_blank_lines_are_skipped_and_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = _write(
        tmp_path / "b.csv", [HEADER, "", ROWS[0], "", "", ROWS[1], "C2,B1,2026-10,-1,0,0,0,0,0,none", ""]
    )
    assert both(f, monkeypatch, arrow=False)[1:4] == ("negative balance -1", 7, "deposits")
    f = _write(tmp_path / "b.csv", [HEADER, *ROWS, "", "  ", *ROWS])
    assert both(f, monkeypatch)[1:3] == ("expected 10 fields as in the header, got 1", 6)


def test_quoted_line_breaks_keep_physical_line_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = ["客户\n1", "q\r\n2", 'a"\r"b', "plain"]
    p = Portfolio.from_arrays(
        customer_ids=ids,
        branch_ids=["B\n1", "B", "B", "B"],
        start="2026-09",
        deposits=np.arange(8).reshape(4, 2) * 100,
    )
    f = write_balances(p, tmp_path / "b.csv")
    assert both(f, monkeypatch, arrow=False) == p  # Arrow's rows would not be lines: csv reads it
    text = f.read_bytes().replace(b"plain,B,2026-10,7.00", b"plain,B,2026-10,7.001")
    f.write_bytes(text)
    physical = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    line = next(k + 1 for k, t in enumerate(physical) if b"7.001" in t)
    assert line == 17  # 1 header, 2 × 3, 2 × 2, 2 × 2 lines, then the 2nd plain row
    assert both(f, monkeypatch)[1:4] == ("'7.001' has more than two decimals", line, "deposits")


def test_header_with_blanks_and_reordered_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = HEADER.split(",")
    order = list(reversed(range(len(names))))
    header = ", ".join(f" {names[k]}" for k in order)
    rows = [",".join(r.split(",")[k] for k in order) for r in ROWS]
    f = _write(tmp_path / "b.csv", [header, *rows])
    assert both(f, monkeypatch, arrow=True) == read_balances(_write(tmp_path / "p.csv", [HEADER, *ROWS]))
    f = _write(tmp_path / "q.csv", ['"customer_id",' + HEADER.split(",", 1)[1], *ROWS])
    assert isinstance(both(f, monkeypatch, arrow=False), Portfolio)  # quoted header: csv module


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("C2,B1,2026-10,0,0,0,0,0,0,none,extra", ("expected 10 fields as in the header, got 11", 4, None)),
        ("C2\x00,B1,2026-10,0,0,0,0,0,0,none", ("NUL character in the cell", 4, "customer_id")),
        ("C2,B1\x00,2026-10,0,0,0,0,0,0,none", ("NUL character in the cell", 4, "branch_id")),
        ("C2,B1,2026-10,1\x00,0,0,0,0,0,none", ("NUL character in the cell", 4, "deposits")),
        ("C2,B1,2026-10\x00,0,0,0,0,0,0,none", ("NUL character in the cell", 4, "month")),
        ("C2,B1,2026-10,0,\udcff,0,0,0,0,none", ("not valid UTF-8 text", 4, "wealth")),
        ("C2,B1,2026-10,0,0,0,0,0,0,gold\udce9", ("not valid UTF-8 text", 4, "card_level")),
        ("C2,B1,2026-10,0,0,0,0,0,0,", None),
        ("C2,B1,2026-10, 1.5 ,0,0,0,0,0,none", None),
        ("C2,B1,2026-10,\uff11,0,0,0,0,0,none", None),  # a full-width digit is a digit
        ("C2,B1,2026-10,1 2,0,0,0,0,0,none", ("'1 2' is not a decimal yuan amount", 4, "deposits")),
        ("C2,B1,2026-10,0,0,0,0,0,-0.01,none", ("negative balance -0.01", 4, "card_spend")),
        (
            "C2,B1,2026-10,0,0," + "9" * 5000 + ",0,0,0,none",  # class (b): no int-conversion limit error
            ("amount '99999999999999999999...' (5,000 characters) overflows int64 fen", 4, "investments"),
        ),
        ("C2,B1,2026-10,0,0," + "0" * 5000 + "1.25,0,0,0,none", None),
        (
            "C2,B1,2026-10,0,0,0,0,0,0," + "x" * 5000,
            (
                "unknown card level 'xxxxxxxxxxxxxxxxxxxx...' (5,000 characters); expected one of none, "
                "standard, gold, platinum, diamond",
                4,
                "card_level",
            ),
        ),
        ("C2,,2026-10,0,0,0,0,0,0,none", ("missing value", 4, "branch_id")),
        ("C1,B2,2026-10,0,0,0,0,0,0,none", ("duplicate row for this customer and month", 4, None)),
    ],
)
def test_cells_both_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, row: str, expected: tuple[Any, ...] | None
) -> None:
    f = _write(tmp_path / "b.csv", [HEADER, *ROWS[:2], row])
    got = both(f, monkeypatch)
    if expected is None:
        assert isinstance(got, Portfolio)
    else:
        assert isinstance(got, tuple) and got[0] == "PortfolioError"
        assert (got[1], got[2], got[3]) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            pa.array(["1", "9" * 5000, "2"]),
            "amount '99999999999999999999...' (5,000 characters) overflows int64 fen",
        ),
        (pa.array(["1", "2", "1\x00"]), "NUL character in the cell"),
        (pa.array([1, 2, 3], type=pa.decimal256(76, 0)), None),
        (pa.array([1, 10**70, 3], type=pa.decimal256(76, 0)), "overflows int64 fen"),
        (pa.array([-(2**63), 0, 0], type=pa.decimal128(19, 0)), "overflows int64 fen"),  # not 0
    ],
)
def test_parquet_long_and_odd_amounts(tmp_path: Path, value: Any, message: str | None) -> None:
    f = tmp_path / "b.parquet"
    cols = {
        "customer_id": ["C1", "C1", "C2"],
        "branch_id": ["B1"] * 3,
        "month": ["2026-09", "2026-10", "2026-10"],
        "deposits": value,
    }
    cols.update({c: pa.array(["0"] * 3) for c in HEADER.split(",")[4:-1]})
    cols["card_level"] = ["none"] * 3
    pq.write_table(pa.table(cols), f)
    if message is None:
        assert read_balances(f).deposits.tolist() == [[100, 200], [0, 300]]
        return
    with pytest.raises(PortfolioError) as exc:
        read_balances(f)
    assert message in exc.value.message and exc.value.column == "deposits"
    assert exc.value.file == str(f) and exc.value.line in (1, 2, 3)


def test_nul_is_never_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A trailing NUL would vanish in a numpy string array: 'C1\\x00' must not become 'C1'."""
    f = _write(tmp_path / "b.csv", [HEADER, ROWS[0], "C1\x00,B1,2026-10,2.00,0,0,0,0,0,gold"])
    assert both(f, monkeypatch)[1:4] == ("NUL character in the cell", 3, "customer_id")


def test_errors_come_in_the_same_order_on_both_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Several bad cells: the builder's column order decides, whatever the tokeniser."""
    rows = [
        ROWS[0],
        "C1,B1,2026-10,2.00,0,0,0,0,0,black",
        "C2,B1,2026-10,x,0,0,0,0,0,none",
        "C3,,2026-10,1,0,0,0,0,0,none",
    ]
    f = _write(tmp_path / "b.csv", [HEADER, *rows])
    assert both(f, monkeypatch, arrow=True)[1:4] == (
        "unknown card level 'black'; expected one of none, standard, gold, platinum, diamond",
        3,
        "card_level",
    )


# ------------------------------------------------------------ record line numbers
records = st.lists(
    st.lists(st.text(alphabet='ab,"\r\n ', max_size=6), min_size=0, max_size=3), min_size=1, max_size=12
)


@settings(max_examples=300)
@given(records, st.sampled_from(["\n", "\r\n", "\r"]))
def test_record_lines_match_the_readers_own_count(rows: list[list[str]], end: str) -> None:
    """The first line of each record, from the cells' line breaks, as a per-record count gives."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator=end).writerows(rows)
    text = buf.getvalue()
    reader = csv.reader(io.StringIO(text, newline=""))
    expected, prev = [], 0
    records_ = []
    for rec in reader:
        records_.append(rec)
        expected.append(prev + 1)
        prev = reader.line_num
    starts = csv_reader._record_lines(records_, 0, prev)
    assert starts.tolist() == expected


# ---------------------------------------------------------------- class (c): ids
@pytest.mark.parametrize("column", ["customer_id", "branch_id", "household_id"])
def test_ids_longer_than_the_bound_are_refused_on_every_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, column: str
) -> None:
    def rows(long: str) -> list[list[str]]:
        base = [["C1", "B1", "H1", "2026-09"], ["C1", "B1", "H1", "2026-10"], ["C2", "B1", "H2", "2026-10"]]
        k = ["customer_id", "branch_id", "household_id"].index(column)
        base[2][k] = long
        return [[*r, "1", "0", "0", "0", "0", "0", "none"] for r in base]

    header = ["customer_id", "branch_id", "household_id", "month", *HEADER.split(",")[3:]]
    ok = tmp_path / "ok.csv"
    _write(ok, [",".join(header), *[",".join(r) for r in rows("x" * MAX_ID_LENGTH)]])
    assert isinstance(both(ok, monkeypatch), Portfolio)  # exactly at the bound: fine
    for length in (MAX_ID_LENGTH + 1, 1 << 20):
        f = tmp_path / "long.csv"
        _write(f, [",".join(header), *[",".join(r) for r in rows("y" * length)]])
        got = both(f, monkeypatch)
        assert isinstance(got, tuple)
        assert got[2:4] == (4, column)
        assert f"is {length:,} characters long; an id may have at most {MAX_ID_LENGTH}" in got[1]
        assert len(got[1]) < 200
        table = pa.table(
            {name: pa.array([r[k] for r in rows("y" * length)]) for k, name in enumerate(header)}
        )
        pf = tmp_path / "long.parquet"
        pq.write_table(table, pf)
        with pytest.raises(PortfolioError) as exc:
            read_balances(pf)
        assert (exc.value.file, exc.value.line, exc.value.column) == (str(pf), 3, column)


def test_a_one_megabyte_id_allocates_no_big_array(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One 1 MB customer_id once made fixed-width id arrays of 7.45 GiB."""
    f = tmp_path / "b.csv"
    rows = [f"C{k},B1,2026-10,1,0,0,0,0,0,none" for k in range(2000)]
    rows[1000] = "C" + "9" * (1 << 20) + rows[1000][rows[1000].index(",") :]
    _write(f, [HEADER, *rows])
    for arrow in (True, False):
        with contextlib.ExitStack() as stack:
            if not arrow:
                stack.enter_context(without_pyarrow(monkeypatch))
            tracemalloc.start()
            try:
                with pytest.raises(PortfolioError) as exc:
                    read_balances(f)
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
        assert (exc.value.line, exc.value.column) == (1002, "customer_id")
        assert peak < 64 * 2**20, (arrow, peak)


def test_csv_field_limit_is_lifted_only_while_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = csv.field_size_limit()
    f = _write(tmp_path / "b.csv", [HEADER, ROWS[0], "C1,B1,2026-10," + "0" * 200_000 + "1,0,0,0,0,0,none"])
    with without_pyarrow(monkeypatch):
        assert read_balances(f).deposits.tolist() == [[100, 100]]
    assert csv.field_size_limit() == before
