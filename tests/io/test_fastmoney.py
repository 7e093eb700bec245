"""Class (a): the fast yuan parser reads any length of digit string exactly or refuses it.

The property: for every cell of the shape ``[+-]digits[.digits]`` — any
length, leading zeros, signs, lengths around the old 8-bit counters (255,
256, 257) and 2**16 — :func:`parse_yuan_bytes` gives the value of
:func:`custvalue.money.yuan_to_fen`, or refuses the cell exactly when
``yuan_to_fen`` refuses it.  Then the reader's refusal comes with file, line
and column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from custvalue import PortfolioError
from custvalue.io import read_balances
from custvalue.io._fastmoney import parse_yuan_bytes
from custvalue.money import MoneyError, yuan_to_fen

HEADER = (
    "customer_id,branch_id,month,deposits,wealth,investments,mortgage_loan,credit_loan,card_spend,card_level"
)
EDGE = [0, 1, 2, 3, 16, 17, 18, 19, 20, 127, 128, 255, 256, 257, 511, 512]


def _exact(text: str) -> int | None:
    try:
        return yuan_to_fen(text, thousands=False)
    except MoneyError:
        return None


def _agree(cells: list[str]) -> None:
    fen, ok = parse_yuan_bytes(np.array([c.encode() for c in cells], dtype="S"))
    for cell, f, read in zip(cells, fen.tolist(), ok.tolist(), strict=True):
        exact = _exact(cell)
        assert (f if read else None) == exact, (cell[:40], len(cell), f, read, exact)


def _digits(lengths: st.SearchStrategy[int]) -> st.SearchStrategy[str]:
    """Digit strings of the given lengths, with runs of zeros and nines (the edges)."""
    return lengths.flatmap(
        lambda n: st.one_of(
            st.text(alphabet="0123456789", min_size=n, max_size=n),
            st.tuples(st.sampled_from("0123456789"), st.sampled_from("0123456789"), st.integers(0, n)).map(
                lambda t: (t[0] * t[2] + t[1] * n)[:n]
            ),
        )
    )


lengths = st.sampled_from(EDGE) | st.integers(0, 600)
cells = st.builds(
    lambda sign, lead, whole, dot, frac: f"{sign}{lead}{whole}{dot}{frac}",
    st.sampled_from(["", "", "+", "-", "--", "+-"]),
    st.sampled_from(["", "0", "00", "0" * 255, "0" * 256, "0" * 257]),
    _digits(lengths),
    st.sampled_from(["", ".", ".", "..", ".."]),
    _digits(st.sampled_from([0, 1, 2, 3, 254, 255, 256, 257]) | st.integers(0, 5)),
)


@settings(max_examples=200)
@given(st.lists(cells, min_size=1, max_size=8))
@example(["1" + "0" * 256])  # read as 0.00 with 8-bit counters
@example(["0." + "0" * 256 + "12"])  # accepted as 0.12 with 8-bit counters
@example(
    [
        "0" * 256 + "1",
        "1" + "0" * 16,
        "1" + "0" * 17,
        "92233720368547758.07",
        "92233720368547758.08",
        "-92233720368547758.08",
        "-92233720368547758.09",
        "9" * 19,
        "18446744073709551616",
        "1844674407370955161.6",
    ]
)
def test_fast_parser_agrees_with_exact_parser(values: list[str]) -> None:
    _agree(values)


@pytest.mark.parametrize("n", [2**16 - 1, 2**16, 2**16 + 1])
def test_fast_parser_at_two_to_the_sixteen(n: int) -> None:
    _agree(
        [
            "0" * n,
            "0" * (n - 1) + "5",
            "1" + "0" * (n - 1),
            "0." + "0" * n + "1",
            "-" + "0" * (n - 4) + "1.50",
            "0" * (n - 3) + "1.5.",
            ".",
        ]
    )


@given(st.lists(st.text(alphabet="0123456789.-+ ,e\x00\xff", max_size=30), min_size=1, max_size=10))
def test_fast_parser_is_right_whenever_it_reads(values: list[str]) -> None:
    """For any cell (blanks, NUL inside, non-ASCII...) a read value is the exact value.

    The cell is what the ``S`` array holds: numpy drops trailing NULs, so the
    readers replace a cell with a NUL before the array is made (tested with
    the readers).
    """
    arr = np.array([v.encode("latin-1") for v in values], dtype="S")
    fen, ok = parse_yuan_bytes(arr)
    for cell, f, read in zip(arr.tolist(), fen.tolist(), ok.tolist(), strict=True):
        if read:
            assert f == yuan_to_fen(cell.decode("latin-1"), thousands=False)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("1" + "0" * 256, "overflows int64 fen"),
        ("0." + "0" * 256 + "12", "more than two decimals"),
        ("9" * 5000, "overflows int64 fen"),
    ],
)
def test_readers_refuse_long_amounts_with_file_line_and_column(
    tmp_path: Path, amount: str, message: str
) -> None:
    f = tmp_path / "b.csv"
    f.write_text(f"{HEADER}\nC1,B1,2026-09,1,0,0,0,0,0,none\nC1,B1,2026-10,1,0,0,{amount},0,0,none\n")
    with pytest.raises(PortfolioError) as exc:
        read_balances(f)
    e = exc.value
    assert (e.file, e.line, e.column, e.customer_id, e.month) == (str(f), 3, "mortgage_loan", "C1", "2026-10")
    assert message in e.message and len(e.message) < 120


def test_readers_read_long_amounts_exactly(tmp_path: Path) -> None:
    f = tmp_path / "b.csv"
    f.write_text(f"{HEADER}\nC1,B1,2026-10,{'0' * 5000}12.5,0,0,0,0,0,none\n")
    assert read_balances(f).deposits.tolist() == [[1250]]


# ------------------------------------------------ the 8-bytes-at-a-time plain parser
def _plain(cells: list[bytes]) -> tuple[list[int], list[bool]]:
    """The plain parser on cells padded as the readers pad them (pyarrow's ascii_lpad, '0', 16)."""
    from custvalue.io._fastmoney import PLAIN_WIDTH, parse_plain_yuan

    padded = b"".join(
        c.rjust(PLAIN_WIDTH, b"0") if len(c) <= PLAIN_WIDTH else b"?".rjust(16, b"0") for c in cells
    )
    words = np.frombuffer(padded, dtype="<u8").reshape(-1, 2)
    fen, ok = parse_plain_yuan(words, np.array([len(c) for c in cells], dtype=np.int32))
    return fen.tolist(), ok.tolist()


def test_the_readers_padding_matches_the_parsers_expectation() -> None:
    pa = pytest.importorskip("pyarrow")
    pc = pytest.importorskip("pyarrow.compute")
    cells = ["1", "2.5", "", "123456789012.34", "x"]
    padded = pc.ascii_lpad(pa.array(cells), width=16, padding="0")
    assert padded.to_pylist() == [c.rjust(16, "0") for c in cells]


def _plain_agrees(cells: list[bytes]) -> None:
    """Never a wrong value: what the plain parser reads, yuan_to_fen reads the same."""
    fen, ok = _plain(cells)
    for cell, f, read in zip(cells, fen, ok, strict=True):
        text = cell.decode("utf-8", "surrogateescape")
        if read:
            assert _exact(text) == f, (cell, f)
            assert text and all(ch in "0123456789." for ch in text)
        elif text and len(cell) <= 16 and all(ch in "0123456789." for ch in text) and text.count(".") <= 1:
            # a plain cell it refuses must have no digit or more than two decimals
            assert _exact(text) is None, cell


plain_cells = (
    st.builds(
        lambda whole, dot, frac: f"{whole}{dot}{frac}".encode(),
        st.text(alphabet="0123456789", max_size=17),
        st.sampled_from(["", ".", "."]),
        st.text(alphabet="0123456789", max_size=4),
    )
    | st.binary(max_size=18)
    | st.text(alphabet="0123456789.+- ,e", max_size=18).map(str.encode)
)


@settings(max_examples=500)
@given(st.lists(plain_cells, min_size=1, max_size=40))
@example([b"0", b"0.00", b"9999999999999.99", b"10000000000000.0", b"9999999999999999", b"99999999999999.9"])
@example([b".", b"..", b"1..", b".1.", b"1.2.", b"00", b".00", b"0000000000000000"])
@example([b"12.345", b"1.2345", b"123.", b"\x001", b"1\x00", b"\xff1", b"1 ", b" 1"])
def test_the_plain_parser_reads_exactly_or_refuses(cells: list[bytes]) -> None:
    _plain_agrees(cells)


def test_the_plain_parser_reads_every_plain_shape() -> None:
    cells = [b"0", b"7", b"7.", b".7", b"7.5", b"7.50", b".05", b"0.00", b"1234567890123.45"]
    cells += [b"9" * 16, b"9" * 15 + b".", b"9" * 14 + b".9", b"9" * 13 + b".99", b"1" + b"0" * 15]
    fen, ok = _plain(cells)
    assert all(ok)
    assert fen == [yuan_to_fen(c.decode()) for c in cells]
    _, ok = _plain([b"9" * 17, b"9" * 14 + b".99", b"-1", b"+1", b"1e5", b""])
    assert not any(ok)
