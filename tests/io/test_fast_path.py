"""The fast reading path (io/_wide.py) against the exact builder.

The fast path must (a) be taken for ordinary files -- a silent fallback would
only show as slowness -- and (b) never change an outcome: whatever file it
accepts gives exactly the portfolio the exact builder gives, and whatever it
does not accept goes to the exact builder (same portfolio or same error).
"""

from __future__ import annotations

import decimal
import json
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custvalue import InputError, Portfolio
from custvalue.io import _csv, _parquet, read_balances, write_balances
from custvalue.io._wide import Fallback
from custvalue.portfolio import MAX_AMOUNT, MONEY_COLUMNS
from custvalue.synthetic import generate


def _fuzz_module() -> Any:
    """tests/io/test_fuzz.py (its file mangler), loaded by path: tests/io is not a package."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_io_test_fuzz", Path(__file__).with_name("test_fuzz.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


mangled_csv = _fuzz_module().mangled_csv
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pc = pytest.importorskip("pyarrow.compute")

SETTINGS = settings(
    max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def fast(path: Path) -> Portfolio:
    """The fast path alone (raises Fallback, or an Arrow error, when it declines)."""
    if path.suffix == ".csv":
        out = _csv._read_fast(path, str(path))
        assert out is not None
        return out
    names = [str(n) for n in pq.ParquetFile(path).schema_arrow.names]
    return _parquet._read_fast(pa, pq, pc, path, names)


def outcome(path: Path) -> Portfolio | tuple[Any, ...]:
    try:
        return read_balances(path)
    except InputError as exc:
        return (type(exc).__name__, exc.message, exc.line, exc.column, exc.customer_id, exc.month)


def exact_outcome(path: Path, monkeypatch: pytest.MonkeyPatch) -> Portfolio | tuple[Any, ...]:
    def declined(*args: Any) -> Any:
        raise Fallback("forced")

    with monkeypatch.context() as m:
        m.setattr(_csv, "_read_fast", declined)
        m.setattr(_parquet, "_read_fast", declined)
        return outcome(path)


@pytest.mark.parametrize("ext", ["csv", "parquet"])
@pytest.mark.parametrize("households", [False, True])
def test_files_custvalue_writes_take_the_fast_path(tmp_path: Path, ext: str, households: bool) -> None:
    p = attrs.evolve(generate(5000, seed=3, households=households), opened=None)
    assert int(p.history_start.max()) > 0  # late starters are in the sample
    f = write_balances(p, tmp_path / f"b.{ext}")
    q = fast(f)
    assert q == p
    for name in (*MONEY_COLUMNS, "card_level"):
        assert getattr(q, name).flags.f_contiguous, name


def _table(p: Portfolio, money: str, *, order: str = "file", text: str = "string") -> Any:
    rows = p.to_records()
    if order == "shuffled":
        rows = [rows[k] for k in np.random.default_rng(0).permutation(len(rows))]
    elif order == "by month":
        rows = sorted(rows, key=lambda r: (r["month"], r["customer_id"]))
    cols: dict[str, Any] = {}
    for name in ("customer_id", "branch_id", "month", "card_level"):
        arr = pa.array([r[name] for r in rows], type=pa.large_string() if text == "large" else pa.string())
        cols[name] = arr.dictionary_encode() if text == "dictionary" else arr
    for c in MONEY_COLUMNS:
        yuan = [decimal.Decimal(r[c]) for r in rows]
        if money == "decimal":
            cols[c] = pa.array(yuan, type=pa.decimal128(20, 2))
        elif money == "decimal4":
            cols[c] = pa.array(yuan, type=pa.decimal128(22, 4))
        elif money == "text":
            cols[c] = pa.array([r[c] for r in rows])
        elif money == "integer":  # whole yuan: only for whole amounts
            cols[c] = pa.array([int(y) for y in yuan], type=pa.int64())
    return pa.table(cols)


@pytest.mark.parametrize("money", ["decimal", "decimal4", "text"])
@pytest.mark.parametrize("order", ["file", "shuffled", "by month"])
@pytest.mark.parametrize("text", ["string", "large", "dictionary"])
def test_parquet_files_of_other_writers_take_the_fast_path(
    tmp_path: Path, money: str, order: str, text: str
) -> None:
    p = attrs.evolve(generate(300, seed=4), opened=None)
    f = tmp_path / "other.parquet"
    pq.write_table(_table(p, money, order=order, text=text), f, row_group_size=700)
    got = fast(f)
    assert got == read_balances(f)
    if order == "file":
        assert got == p
    else:  # customers in order of first appearance: the same customers, reordered
        assert got == p.select(got.customer_ids)


def test_integer_yuan_parquet(tmp_path: Path) -> None:
    p = Portfolio.from_arrays(
        customer_ids=["a", "b"],
        branch_ids=["x", "y"],
        start="2026-09",
        deposits=np.array([[100, 200], [0, 5 * 10**14]]),
        history_start=[0, 1],
    )
    f = tmp_path / "int.parquet"
    pq.write_table(_table(p, "integer"), f)
    assert fast(f) == p == read_balances(f)


def _short_decimals(text: str) -> str:
    lines = text.splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        for k in range(3, 9):  # the money columns
            c = cells[k]
            cells[k] = c[:-3] if c.endswith(".00") else c[:-1] if c.endswith("0") else c
        out.append(",".join(cells))
    return "\n".join(out) + "\n"


def test_csv_variants_take_the_fast_path(tmp_path: Path) -> None:
    p = attrs.evolve(generate(500, seed=2), opened=None)
    text = write_balances(p, tmp_path / "b.csv").read_text()
    variants = {
        "crlf.csv": text.replace("\n", "\r\n"),
        "cr.csv": text.replace("\n", "\r"),
        "no_final_newline.csv": text.rstrip("\n"),
        "short_decimals.csv": _short_decimals(text),  # 12.50 -> 12.5, 3.00 -> 3
    }
    for name, body in variants.items():
        f = tmp_path / name
        f.write_text(body)
        assert fast(f) == exact_outcome(f, pytest.MonkeyPatch()) == p, name


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        (lambda t: t.replace("C0000002,", '"C0000002",'), "a quote"),
        (lambda t: t.replace("C0000002,", " C0000002,"), "blanks around an id"),
        (lambda t: t + "\n\n", "a blank line"),
        (lambda t: t.replace(",B0", ",b0", 1), "a branch change"),
    ],
)
def test_unusual_csv_files_go_to_the_exact_builder(tmp_path: Path, edit: Any, why: str) -> None:
    p = attrs.evolve(generate(50, seed=2), opened=None)
    f = write_balances(p, tmp_path / "b.csv")
    f.write_text(edit(f.read_text()))
    with pytest.raises((Fallback, pa.ArrowException)):
        fast(f)


@SETTINGS
@given(data=mangled_csv())
def test_mangled_csv_same_outcome_as_the_exact_builder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes
) -> None:
    f = tmp_path / "b.csv"
    f.write_bytes(data)
    assert outcome(f) == exact_outcome(f, monkeypatch)


amounts = st.integers(0, MAX_AMOUNT + 2) | st.sampled_from([0, 1, 99, MAX_AMOUNT, MAX_AMOUNT + 1, -1])
texts = st.sampled_from(["C1", "C2", "C3", " C1", "", "C1\x00", "x" * 300])


@SETTINGS
@given(
    ids=st.lists(texts, min_size=1, max_size=8),
    months=st.lists(
        st.sampled_from(["2026-09", "2026-10", "2026-08", "2026-13", "x", ""]), min_size=8, max_size=8
    ),
    fen=st.lists(amounts, min_size=8, max_size=8),
    money=st.sampled_from(["decimal", "text", "int", "float"]),
)
def test_mangled_parquet_same_outcome_as_the_exact_builder(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    ids: list[str],
    months: list[str],
    fen: list[int],
    money: str,
) -> None:
    n = len(ids)
    cols: dict[str, Any] = {
        "customer_id": pa.array(ids),
        "branch_id": pa.array(["B1"] * n),
        "month": pa.array(months[:n]),
        "card_level": pa.array(["none"] * n),
    }
    values = fen[:n]
    for c in MONEY_COLUMNS:
        if money == "decimal":
            cols[c] = pa.array([decimal.Decimal(v).scaleb(-2) for v in values], type=pa.decimal128(19, 2))
        elif money == "text":
            cols[c] = pa.array([f"{v / 100:.2f}" if v >= 0 else "-1" for v in values])
        elif money == "int":
            cols[c] = pa.array([v // 100 for v in values], type=pa.int64())
        else:
            cols[c] = pa.array([float(v) for v in values])
    f = tmp_path / "b.parquet"
    pq.write_table(pa.table(cols), f)
    assert outcome(f) == exact_outcome(f, monkeypatch)


# ---------------------------------------------------------------------- writers
def test_parquet_layout_is_plain_parquet(tmp_path: Path) -> None:
    """Required columns, INT64 decimals (delta-encoded), no Arrow schema: every reader sees plain types."""
    p = attrs.evolve(generate(2000, seed=6, households=True), opened=None)
    f = write_balances(p, tmp_path / "b.parquet")
    meta = pq.ParquetFile(f).metadata
    assert b"ARROW:schema" not in (meta.metadata or {})
    schema = pq.ParquetFile(f).schema
    for k in range(len(schema)):
        column = schema.column(k)
        assert column.max_definition_level == 0, column.name  # required
        if column.name in MONEY_COLUMNS:
            assert column.physical_type == "INT64"
            decimal_type = json.loads(column.logical_type.to_json())
            assert decimal_type == {"Type": "Decimal", "precision": 18, "scale": 2}
    chunk = meta.row_group(0).column(schema.names.index("deposits"))
    assert "DELTA_BINARY_PACKED" in chunk.encodings
    arrow = pq.read_schema(f)
    assert arrow.field("customer_id").type == pa.string() and arrow.field("wealth").type == pa.decimal128(
        18, 2
    )
    table = pq.read_table(f)
    assert table.column("customer_id").to_pylist()[:14] == [p.customer_ids[0]] * (
        14 - int(p.history_start[0])
    )
    pl = pytest.importorskip("polars")
    frame = pl.read_parquet(f)
    assert str(frame.schema["deposits"]).startswith("Decimal") and frame.height == table.num_rows


def test_csv_writers_write_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Arrow's CSV writer (with the sparse-column shortcut) and the numpy writer: byte for byte."""
    p = attrs.evolve(generate(4000, seed=7, households=True), opened=None)
    big = Portfolio.from_arrays(
        customer_ids=["a", "bb", "c"],
        branch_ids=["x", "y", "z"],
        start="2026-09",
        deposits=np.array([[0, MAX_AMOUNT], [1, 99], [0, 12345678901]]),
        credit_loan=np.array([[0, 0], [0, 5], [0, 0]]),  # mostly zero: the sparse path
        history_start=[0, 0, 1],
    )
    for k, q in enumerate((p, big)):
        fast_file = write_balances(q, tmp_path / f"arrow{k}.csv")
        with monkeypatch.context() as m:
            m.setattr(_csv, "_write_arrow_csv", None)  # as without pyarrow: the numpy writer
            m.setattr(_csv, "import_optional", lambda *a, **kw: (_ for _ in ()).throw(ImportError()))
            slow_file = write_balances(q, tmp_path / f"numpy{k}.csv")
        assert fast_file.read_bytes() == slow_file.read_bytes()
        assert read_balances(fast_file) == q
