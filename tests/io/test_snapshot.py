"""Portfolio snapshots (Portfolio.save / Portfolio.load): exact round trips, zero copy, bad files."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _testing import without_pyarrow
from custvalue import MissingDependencyError, Portfolio, PortfolioError
from custvalue._snapshot import month_column, read_snapshot
from custvalue.cli import main
from custvalue.io import OutputError, read_balances, write_balances
from custvalue.portfolio import MAX_AMOUNT, MONEY_COLUMNS
from custvalue.synthetic import generate

pa = pytest.importorskip("pyarrow")
feather = pytest.importorskip("pyarrow.feather")

FIELDS: dict[str, tuple[Any, int]] = {c: (np.int64, MAX_AMOUNT) for c in MONEY_COLUMNS}
FIELDS["card_level"] = (np.int8, 4)
MONTHLY = (*MONEY_COLUMNS, "card_level")


def _same(p: Portfolio, q: Portfolio) -> None:
    """Equal, opening dates included (NaT == NaT), and loaded the way load promises."""
    assert attrs.evolve(q, opened=None) == attrs.evolve(p, opened=None)
    if p.opened is None:
        assert q.opened is None
    else:
        assert q.opened is not None and np.array_equal(q.opened.view(np.int64), p.opened.view(np.int64))
    for name in MONTHLY:
        arr = getattr(q, name)
        assert arr.dtype == getattr(p, name).dtype and arr.flags.f_contiguous, name
        assert not arr.flags.writeable, name
        with pytest.raises(ValueError):
            arr.setflags(write=True)
    for name in ("customer_ids", "branch_ids", "history_start"):
        assert not getattr(q, name).flags.writeable


ids = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=6
) | st.from_regex(r"C[0-9]{1,7}", fullmatch=True)


@st.composite
def portfolios(draw: st.DrawFn) -> Portfolio:
    n = draw(st.integers(1, 12))
    t = draw(st.integers(1, 5))
    customer_ids = draw(st.lists(ids, min_size=n, max_size=n, unique=True))
    branch_ids = draw(st.lists(st.sampled_from(["B1", "B002", "支行", "b"]), min_size=n, max_size=n))
    households = draw(st.none() | st.lists(ids, min_size=n, max_size=n))
    history_start = np.array(draw(st.lists(st.integers(0, t - 1), min_size=n, max_size=n)), dtype=np.int16)
    before = np.arange(t)[None, :] < history_start[:, None]
    amounts = st.sampled_from([0, 1, 99, 100, 12345, MAX_AMOUNT - 1, MAX_AMOUNT]) | st.integers(0, MAX_AMOUNT)
    cols: dict[str, Any] = {}
    for name in MONEY_COLUMNS:
        values = np.array(draw(st.lists(amounts, min_size=n * t, max_size=n * t)), dtype=np.int64)
        cols[name] = np.where(before, 0, values.reshape(n, t))
    cards = np.array(draw(st.lists(st.integers(0, 4), min_size=n * t, max_size=n * t)), dtype=np.int8)
    cols["card_level"] = np.where(before, 0, cards.reshape(n, t))
    opened = draw(
        st.none()
        | st.lists(
            st.integers(-20_000, 30_000).map(lambda d: np.datetime64(d, "D")) | st.just(np.datetime64("NaT")),
            min_size=n,
            max_size=n,
        )
    )
    return Portfolio.from_arrays(
        customer_ids=customer_ids,
        branch_ids=branch_ids,
        household_ids=households,
        start=draw(st.sampled_from(["2026-10", "1999-01", "2025-12"])),
        history_start=history_start,
        opened=None if opened is None else np.array(opened, dtype="datetime64[D]"),
        **cols,
    )


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(p=portfolios())
def test_round_trip_is_exact(tmp_path: Path, p: Portfolio) -> None:
    f = p.save(tmp_path / "p.arrow")
    _same(p, Portfolio.load(f))
    assert sorted(x.name for x in tmp_path.iterdir()) == ["p.arrow"]  # no temporary file left


@pytest.mark.parametrize("n", [8, 9, 1000])
def test_monthly_arrays_are_views_of_the_mapped_file(tmp_path: Path, n: int) -> None:
    p = generate(n, seed=5, households=True)
    f = p.save(tmp_path / "p.arrow")
    snap = read_snapshot(f, fields=FIELDS)
    assert set(MONEY_COLUMNS) <= snap.mapped  # int64 months are adjacent in the file: no copy
    assert ("card_level" in snap.mapped) == (n % 8 == 0)  # int8 months are padded to 8 bytes
    q = Portfolio.load(f)
    _same(p, q)
    assert not q.deposits.flags.owndata
    assert read_balances(f) == q == read_balances(f, format="arrow")


def test_other_tools_read_the_wide_columns(tmp_path: Path) -> None:
    p = generate(50, seed=2, households=True)
    f = p.save(tmp_path / "p.feather")
    table = feather.read_table(f)
    months = list(p.months)
    assert table.column_names[:5] == ["customer_id", "branch_id", "household_id", "history_start", "opened"]
    assert table.column("customer_id").to_pylist() == p.customer_ids.tolist()
    assert table.column("branch_id").to_pylist() == p.branch_ids.tolist()
    assert table.column(month_column("deposits", months[-1])).to_pylist() == p.deposits[:, -1].tolist()
    assert table.column(month_column("card_level", months[0])).type == pa.int8()
    meta = table.schema.metadata
    assert meta[b"custvalue.format"] == b"custvalue.portfolio" and meta[b"custvalue.format_version"] == b"1"
    assert meta[b"custvalue.months_start"] == str(months[0]).encode()
    assert meta[b"custvalue.months_length"] == str(len(months)).encode()
    pl = pytest.importorskip("polars")
    frame = pl.read_ipc(f)
    assert frame.height == 50
    assert frame[month_column("wealth", months[3])].to_list() == p.wealth[:, 3].tolist()


def _rewrite(src: Path, dst: Path, change: Any = None, *, metadata: dict[bytes, bytes] | None = None) -> Path:
    """Copy a snapshot through pyarrow, changing its table and/or metadata (a tampered file)."""
    table = feather.read_table(src, memory_map=False)
    if change is not None:
        table = change(table)
    meta = dict(table.schema.metadata or {})
    meta.update(metadata or {})
    table = table.replace_schema_metadata(meta)
    with pa.OSFile(str(dst), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return dst


def _set(column: str, row: int, value: Any) -> Any:
    def change(table: Any) -> Any:
        k = table.column_names.index(column)
        values = table.column(k).to_pylist()
        values[row] = value
        return table.set_column(k, table.field(k), pa.array(values, type=table.field(k).type))

    return change


@pytest.fixture
def snapshot(tmp_path: Path) -> tuple[Portfolio, Path]:
    p = generate(40, seed=9, households=True)
    return p, p.save(tmp_path / "good.arrow")


def test_a_file_rewritten_in_another_layout_loads_with_one_copy(
    tmp_path: Path, snapshot: tuple[Portfolio, Path]
) -> None:
    p, f = snapshot
    table = feather.read_table(f)
    out = tmp_path / "batches.arrow"
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.OSFile(str(out), "wb") as sink, pa.ipc.new_file(sink, table.schema, options=options) as writer:
        for batch in table.to_batches(max_chunksize=7):
            writer.write_batch(batch)
    assert read_snapshot(out, fields=FIELDS).mapped == frozenset()
    _same(p, Portfolio.load(out))


@pytest.mark.parametrize(
    ("change", "message", "where"),
    [
        (_set("deposits@2026-10", 3, -5), "negative balance -5 fen", ("deposits", 3, "2026-10")),
        (
            _set("wealth@2026-01", 5, MAX_AMOUNT + 1),
            "is above the largest supported cell",
            ("wealth", 5, "2026-01"),
        ),
        (_set("card_level@2025-12", 0, 7), "unknown card level code 7", ("card_level", 0, "2025-12")),
        (_set("customer_id", 4, "C0000002"), "duplicate customer id", ("customer_id", 1, None)),
        (_set("customer_id", 4, ""), "empty id in row 4", ("customer_id", None, None)),
        (_set("customer_id", 4, "C\x00"), "NUL character", ("customer_id", None, None)),
        (_set("customer_id", 4, None), "missing value", ("customer_id", None, None)),
        (_set("history_start", 2, 14), "history_start 14 is outside 0..13", ("history_start", 2, None)),
        (_set("history_start", 2, -1), "history_start -1 is outside 0..13", ("history_start", 2, None)),
        (_set("branch_id", 6, None), "missing value", ("branch_id", 6, None)),
        (_set("household_id", 6, ""), "missing value", ("household_id", 6, None)),
        (lambda t: t.drop_columns(["deposits@2026-03"]), "missing column 'deposits@2026-03'", None),
        (
            lambda t: t.append_column("colour", pa.array(["red"] * t.num_rows)),
            "unexpected column 'colour'",
            None,
        ),
        (
            lambda t: t.set_column(
                t.column_names.index("wealth@2026-10"),
                "wealth@2026-10",
                t.column("wealth@2026-10").cast(pa.float64()),
            ),
            "must be int64, got double",
            ("wealth", None, "2026-10"),
        ),
    ],
)
def test_a_tampered_file_is_a_precise_error(
    tmp_path: Path, snapshot: tuple[Portfolio, Path], change: Any, message: str, where: Any
) -> None:
    p, f = snapshot
    bad = _rewrite(f, tmp_path / "bad.arrow", change)
    with pytest.raises(PortfolioError) as exc:
        Portfolio.load(bad)
    e = exc.value
    assert message in e.message and e.file == str(bad)
    if where is not None:
        column, row, month = where
        assert e.column == column
        assert e.customer_id == (None if row is None else str(p.customer_ids[row]))
        assert e.month == month


def test_a_cell_before_history_start_is_an_error(tmp_path: Path) -> None:
    p = Portfolio.from_arrays(
        customer_ids=["a", "b"],
        branch_ids=["x", "x"],
        start="2026-08",
        deposits=np.array([[1, 2, 3], [0, 0, 5]]),
        history_start=[0, 2],
    )
    f = p.save(tmp_path / "p.arrow")
    bad = _rewrite(f, tmp_path / "bad.arrow", _set("deposits@2026-09", 1, 7))
    with pytest.raises(PortfolioError) as exc:
        Portfolio.load(bad)
    assert "before the customer's history start" in exc.value.message
    assert (exc.value.column, exc.value.customer_id, exc.value.month) == ("deposits", "b", "2026-09")


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({b"custvalue.format": b"something.else"}, "not a custvalue snapshot"),
        ({b"custvalue.format_version": b"2"}, "format version 2 is not supported"),
        ({b"custvalue.format_version": b"x"}, "bad custvalue.format_version"),
        ({b"custvalue.months_start": b"2026-13"}, "bad month axis"),
        ({b"custvalue.months_length": b"13"}, "unexpected column .deposits@2026-10."),
        ({b"custvalue.fields": b"deposits"}, "not a custvalue snapshot of this layout"),
    ],
)
def test_bad_metadata(
    tmp_path: Path, snapshot: tuple[Portfolio, Path], metadata: dict[bytes, bytes], message: str
) -> None:
    _, f = snapshot
    bad = _rewrite(f, tmp_path / "bad.arrow", metadata=metadata)
    with pytest.raises(PortfolioError, match=message) as exc:
        Portfolio.load(bad)
    assert exc.value.file == str(bad)


def test_a_parquet_or_csv_file_named_arrow_is_refused(tmp_path: Path) -> None:
    p = attrs.evolve(generate(10, seed=1), opened=None)
    f = tmp_path / "b.arrow"
    write_balances(p, tmp_path / "b.csv").rename(f)
    with pytest.raises(PortfolioError, match="not an Arrow IPC") as exc:
        Portfolio.load(f)
    assert exc.value.file == str(f)
    with pytest.raises(PortfolioError, match="cannot open snapshot"):
        Portfolio.load(tmp_path / "missing.arrow")


def test_a_truncated_file_is_an_error_naming_it(tmp_path: Path, snapshot: tuple[Portfolio, Path]) -> None:
    _, f = snapshot
    data = f.read_bytes()
    for cut in (0, 7, 100, len(data) // 2, len(data) - 1, len(data) - 10):
        bad = tmp_path / f"cut{cut}.arrow"
        bad.write_bytes(data[:cut])
        with pytest.raises(PortfolioError) as exc:
            Portfolio.load(bad)
        assert exc.value.file == str(bad), cut


def test_corrupt_bytes_never_give_a_bad_portfolio(tmp_path: Path, snapshot: tuple[Portfolio, Path]) -> None:
    """Random byte flips: an error naming the file, or a portfolio that keeps every guarantee."""
    _, f = snapshot
    data = bytearray(f.read_bytes())
    rng = np.random.default_rng(0)
    for k in range(200):
        corrupt = bytearray(data)
        for pos in rng.integers(0, len(data), size=int(rng.integers(1, 4))):
            corrupt[int(pos)] = int(rng.integers(0, 256))
        bad = tmp_path / "bad.arrow"
        bad.write_bytes(bytes(corrupt))
        try:
            q = Portfolio.load(bad)
        except PortfolioError as exc:
            assert exc.file == str(bad), k
            continue
        again = Portfolio.from_arrays(  # the constructor's own checks accept what load accepted
            customer_ids=q.customer_ids,
            branch_ids=q.branch_ids,
            household_ids=q.household_ids,
            start=q.months.start,
            history_start=q.history_start,
            opened=q.opened,
            **{c: np.array(getattr(q, c)) for c in MONTHLY},
        )
        assert attrs.evolve(again, opened=None) == attrs.evolve(q, opened=None)


def test_save_is_atomic_and_refuses_a_bad_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = generate(30, seed=4)
    target = p.save(tmp_path / "p.arrow")
    before = target.read_bytes()
    with pytest.raises(OutputError, match="does not exist"):
        p.save(tmp_path / "missing" / "p.arrow")
    with pytest.raises(OutputError, match="is a directory"):
        p.save(tmp_path)

    class Boom(RuntimeError):
        pass

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise Boom("disk full")

    monkeypatch.setattr(pa.ipc, "new_file", fail)
    with pytest.raises(Boom):
        generate(31, seed=5).save(target)
    assert target.read_bytes() == before
    assert [x.name for x in tmp_path.iterdir()] == ["p.arrow"]


def test_write_balances_to_an_arrow_name_saves_a_snapshot(tmp_path: Path) -> None:
    p = generate(25, seed=8, households=True)
    f = write_balances(p, tmp_path / "p.arrow")
    _same(p, read_balances(f))
    g = write_balances(p, tmp_path / "p.data", format="arrow")
    _same(p, read_balances(g, format="arrow"))


def test_without_pyarrow_the_message_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = generate(5, seed=1)
    f = p.save(tmp_path / "p.arrow")
    with without_pyarrow(monkeypatch):
        with pytest.raises(MissingDependencyError, match=r"custvalue\[parquet\]"):
            p.save(tmp_path / "q.arrow")
        with pytest.raises(MissingDependencyError, match="snapshots"):
            Portfolio.load(f)
    assert [x.name for x in tmp_path.iterdir()] == ["p.arrow"]


def test_evaluate_a_snapshot_from_the_command_line(tmp_path: Path) -> None:
    p = generate(200, seed=3)
    snap = p.save(tmp_path / "book.arrow")
    csv_in = write_balances(attrs.evolve(p, opened=None), tmp_path / "book.csv")
    err = io.StringIO()
    for src, out in ((snap, "from_snapshot.csv"), (csv_in, "from_csv.csv")):
        status = main(
            ["evaluate", "--balances", str(src), "--as-of", "2026-10", "--out", str(tmp_path / out)],
            stdout=io.StringIO(),
            stderr=err,
        )
        assert status == 0, err.getvalue()
    assert (tmp_path / "from_snapshot.csv").read_bytes() == (tmp_path / "from_csv.csv").read_bytes()


def test_an_empty_portfolio_round_trips(tmp_path: Path) -> None:
    p = Portfolio.from_arrays(
        customer_ids=np.array([], dtype=str),
        branch_ids=np.array([], dtype=str),
        household_ids=np.array([], dtype=str),
        start="2026-10",
        deposits=np.zeros((0, 2), dtype=np.int64),
    )
    _same(p, Portfolio.load(p.save(tmp_path / "empty.arrow")))
