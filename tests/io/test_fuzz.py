"""Class (d): fuzzing the readers.

Whatever bytes a balances file holds, :func:`read_balances` returns a
portfolio or raises one of the library's documented errors
(:class:`custvalue.InputError` subclasses, such as
:class:`custvalue.PortfolioError`) whose message names the file — never a
bare ``ValueError``, ``csv.Error``, ``UnicodeDecodeError``, ``IndexError``,
an Arrow exception...  For CSV, the pyarrow tokeniser and the standard-library
one give the same outcome (the same portfolio, or the same error with the same
message, line, column, customer and month).
"""

from __future__ import annotations

import decimal
import tempfile
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _testing import without_pyarrow
from custvalue import InputError, Portfolio
from custvalue.io import read_balances, write_balances
from custvalue.money import to_fen, yuan_to_fen
from custvalue.portfolio import MAX_AMOUNT, MONEY_COLUMNS
from custvalue.synthetic import generate

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

FUZZ = settings(
    max_examples=500, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def outcome(path: Path) -> Portfolio | tuple[Any, ...]:
    """The portfolio, or the error as comparable data; only documented errors are allowed."""
    try:
        return read_balances(path)
    except InputError as exc:
        assert str(path) in str(exc), str(exc)
        assert getattr(exc, "file", None) == str(path)
        return (type(exc).__name__, exc.message, exc.line, exc.column, exc.customer_id, exc.month)


def both(path: Path, monkeypatch: pytest.MonkeyPatch) -> Portfolio | tuple[Any, ...]:
    with_arrow = outcome(path)
    with without_pyarrow(monkeypatch):
        without = outcome(path)
    assert with_arrow == without
    return with_arrow


def _valid_text() -> str:
    p = attrs.evolve(generate(3, seed=5, months=3, households=True), opened=None)
    with tempfile.TemporaryDirectory() as d:
        return write_balances(p, Path(d) / "b.csv").read_text(encoding="utf-8")


VALID = _valid_text()
NOISE = st.sampled_from(
    [
        ",",
        '"',
        "\r",
        "\n",
        "\r\n",
        "\x00",
        "\ufeff",
        " ",
        "-",
        ".",
        "9",
        "0",
        "é",
        "\udcff",
        "a",
        "2026-13",
        "1e5",
        "nan",
        "0" * 300,
        "1" * 30,
        "x" * 300,
        '""',
        ",,",
        "\n\n",
        "diamond",
        "C0000001",
    ]
)


@st.composite
def mangled_csv(draw: st.DrawFn) -> bytes:
    """A valid balances file with a few edits: insertions, deletions, swapped lines."""
    text = VALID
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["insert", "delete", "replace", "swap", "dup", "cut"]))
        at = draw(st.integers(0, len(text)))
        if kind == "insert":
            text = text[:at] + draw(NOISE) + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 20)) :]
        elif kind == "replace":
            text = text[:at] + draw(NOISE) + text[at + 1 :]
        elif kind == "cut":
            text = text[:at]
        else:
            lines = text.split("\n")
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            if kind == "swap":
                lines[i], lines[j] = lines[j], lines[i]
            else:
                lines.insert(i, lines[j])
            text = "\n".join(lines)
    encoded = text.encode("utf-8", "surrogateescape")
    if draw(st.booleans()):
        encoded = encoded.replace(b"\n", draw(st.sampled_from([b"\r", b"\r\n", b"\n"])))
    return encoded


@FUZZ
@given(data=mangled_csv())
def test_mangled_csv_gives_a_portfolio_or_a_documented_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes
) -> None:
    f = tmp_path / "fuzz.csv"
    f.write_bytes(data)
    both(f, monkeypatch)


@FUZZ
@given(
    data=st.binary(max_size=400)
    | st.builds(
        lambda head, body: head + body,
        st.sampled_from([b"", VALID.split("\n")[0].encode() + b"\n", b"\xef\xbb\xbf"]),
        st.binary(max_size=300),
    )
)
def test_random_bytes_give_a_documented_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes
) -> None:
    f = tmp_path / "fuzz.csv"
    f.write_bytes(data)
    both(f, monkeypatch)


# ---------------------------------------------------------------- Parquet
def _good_columns() -> dict[str, Any]:
    return dict(_GOOD)


_GOOD: dict[str, Any] = {}


def _make_good() -> dict[str, Any]:
    return {
        "customer_id": pa.array(["C1", "C1", "C2"]),
        "branch_id": pa.array(["B1", "B1", "B1"]),
        "month": pa.array(["2026-09", "2026-10", "2026-10"]),
        "deposits": pa.array([decimal.Decimal("1.50")] * 3, type=pa.decimal128(18, 2)),
        "wealth": pa.array([1, 2, 3], type=pa.int32()),
        "investments": pa.array(["0.1", "0", "7"]),
        "mortgage_loan": pa.array([0, 0, 0], type=pa.int64()),
        "credit_loan": pa.array([decimal.Decimal("1.5000")] * 3, type=pa.decimal128(20, 4)),
        "card_spend": pa.array([0, 0, 0], type=pa.uint64()),
        "card_level": pa.array(["none", "gold", "diamond"]),
    }


_GOOD.update(_make_good())


@st.composite
def arrow_arrays(draw: st.DrawFn) -> Any:
    """Three values of a random Arrow type, with nulls, extremes and text."""
    kind = draw(
        st.sampled_from(
            [
                "str",
                "large_str",
                "dict",
                "binary",
                "int8",
                "int64",
                "uint64",
                "float",
                "bool",
                "null",
                "dec",
                "dec256",
                "date",
                "list",
            ]
        )
    )
    ints = st.integers(-(2**63), 2**63 - 1)
    texts = st.sampled_from(
        [
            "",
            " ",
            "C1",
            "2026-10",
            "gold",
            "1.5",
            "-1",
            "1e3",
            "\x00",
            "é",
            "9" * 40,
            "0" * 40 + "1",
            "x" * 300,
            "2026-13",
            "none",
        ]
    )
    vals = st.lists(st.none() | texts, min_size=3, max_size=3)
    if kind in ("str", "large_str", "dict"):
        arr = pa.array(draw(vals), type=pa.large_string() if kind == "large_str" else pa.string())
        return arr.dictionary_encode() if kind == "dict" else arr
    if kind == "binary":
        return pa.array([b"C1", b"\xff", None], type=pa.binary())
    if kind in ("int8", "int64"):
        lo, hi = (-128, 127) if kind == "int8" else (-(2**63), 2**63 - 1)
        return pa.array(
            draw(st.lists(st.none() | st.integers(lo, hi), min_size=3, max_size=3)), type=getattr(pa, kind)()
        )
    if kind == "uint64":
        return pa.array(draw(st.lists(st.integers(0, 2**64 - 1), min_size=3, max_size=3)), type=pa.uint64())
    if kind == "float":
        return pa.array([1.0, 2.5, None])
    if kind == "bool":
        return pa.array([True, False, True])
    if kind == "null":
        return pa.array([None, None, None], type=pa.null())
    if kind == "date":
        return pa.array([0, 1, 2], type=pa.date32())
    if kind == "list":
        return pa.array([[1], [], None], type=pa.list_(pa.int64()))
    scale = draw(st.integers(0, 6))  # Parquet has no negative scales
    precision = 76 if kind == "dec256" else 38
    extremes = st.sampled_from(
        [-(2**63), 2**63 - 1, -(2**63) // 100, 10**38 - 1, -(10**38) + 1, 0, 1, -1, 10**15, 10**15 + 1]
        + ([10**76 - 1, -(10**40)] if kind == "dec256" else [])
    )
    digits = draw(
        st.lists(st.none() | extremes | ints | st.integers(-(10**37), 10**37), min_size=3, max_size=3)
    )
    values = [None if d is None else decimal.Decimal(f"{d}e-{scale}") for d in digits]  # exact
    typ = pa.decimal256(precision, scale) if kind == "dec256" else pa.decimal128(precision, scale)
    return pa.array(values, type=typ)


@settings(FUZZ, max_examples=300)
@given(data=st.data())
def test_mangled_parquet_gives_a_portfolio_or_a_documented_error(tmp_path: Path, data: st.DataObject) -> None:
    cols = _good_columns()
    for name in data.draw(st.lists(st.sampled_from(sorted(cols)), min_size=1, max_size=3, unique=True)):
        cols[name] = data.draw(arrow_arrays())
    f = tmp_path / "fuzz.parquet"
    table = pa.table(cols)
    pq.write_table(table, f)
    result = outcome(f)
    if isinstance(result, Portfolio) and all(
        cols[c] is _GOOD[c] for c in ("customer_id", "month", "branch_id")
    ):
        # the rows are (C1, 2026-09), (C1, 2026-10), (C2, 2026-10): check every amount exactly
        cells = [(0, 0), (0, 1), (1, 1)]
        for c in MONEY_COLUMNS:
            for (i, j), v in zip(cells, table.column(c).to_pylist(), strict=True):
                assert getattr(result, c)[i, j] == _expected_fen(v), (c, v)


def _expected_fen(v: object) -> int:
    """The exact fen of a Parquet cell, by the scalar rules."""
    if isinstance(v, str):
        fen = yuan_to_fen(v, thousands=False)
    elif isinstance(v, int):
        fen = v * 100
    else:
        assert isinstance(v, decimal.Decimal)
        fen = to_fen(v)
    assert 0 <= fen <= MAX_AMOUNT
    return fen


@settings(max_examples=60)
@given(data=st.binary(min_size=0, max_size=200))
def test_corrupt_parquet_bytes_give_a_documented_error(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    f = tmp_path_factory.mktemp("pq") / "fuzz.parquet"
    good = tmp_path_factory.mktemp("good") / "good.parquet"
    pq.write_table(pa.table(_good_columns()), good)
    raw = good.read_bytes()
    cut = len(data) % max(len(raw), 1)
    f.write_bytes(raw[:cut] + data + raw[cut + len(data) :])
    outcome(f)
