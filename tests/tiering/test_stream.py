"""Streaming evaluation (:func:`custvalue.tiering.evaluate_file`) equals the in-memory run.

Files split into many small row groups and read in small record batches, so
customers straddle batch boundaries; sorted and unsorted (partitioned by
customer hash) files; CSV, Parquet and snapshot inputs; CSV and Parquet
outputs.  Results, events and the written files are compared exactly with
``evaluate(read_balances(...))``.  Bad input names the file, line / row group
and customer and writes nothing; an interrupted run leaves the old output and
no temporary partition behind.
"""

from __future__ import annotations

import filecmp
import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import custvalue.tiering._stream as stream
from _testing import without_pyarrow
from custvalue import PortfolioError, evaluate, read_balances, write_balances
from custvalue.synthetic import generate
from custvalue.tiering import customer_partitions, evaluate_file, write_events

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pacsv = pytest.importorskip("pyarrow.csv")


@pytest.fixture(autouse=True)
def _small_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Record batches of 97 rows and CSV pieces of 61 records: customers straddle every boundary."""
    monkeypatch.setattr(stream, "_READ_ROWS", 97)
    monkeypatch.setattr(stream, "_CSV_ROWS", 61)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One portfolio (some customers start late) as sorted and shuffled Parquet and CSV files."""
    d = tmp_path_factory.mktemp("stream")
    p = generate(1_500, seed=11, households=True)
    sorted_pq = write_balances(p, d / "sorted.parquet")
    table = pq.read_table(sorted_pq)
    pq.write_table(table, d / "sorted_small_groups.parquet", row_group_size=333)
    order = np.random.default_rng(3).permutation(len(table))
    shuffled = table.take(pa.array(order))
    pq.write_table(shuffled, d / "shuffled.parquet", row_group_size=500)
    # sorted at first, then not: found out mid-stream
    half = len(table) // 2
    late = pa.concat_tables(
        [table.slice(0, half), table.slice(half).take(pa.array(order[order < len(table) - half]))]
    )
    pq.write_table(late, d / "unsorted_late.parquet", row_group_size=250)
    write_balances(p, d / "sorted.csv")
    write_balances(read_balances(d / "shuffled.parquet"), d / "shuffled_by_first.csv")
    pacsv.write_csv(
        shuffled.cast(pa.schema([(f.name, pa.string()) for f in shuffled.schema])),
        d / "shuffled.csv",
        write_options=pacsv.WriteOptions(quoting_style="none"),
    )
    p.save(d / "snapshot.arrow")
    return {f.name: f for f in d.iterdir()}


def _same(d: Path, source: Path, fmt: str, *, as_of: str | None = "2026-10", batch: int = 100) -> object:
    mem = evaluate(read_balances(source), as_of=as_of)
    mem.write(d / f"mem.{fmt}")
    write_events(mem.events, d / f"mem_events.{fmt}")
    s = evaluate_file(
        source, as_of=as_of, out=d / f"st.{fmt}", events=d / f"st_events.{fmt}", batch_customers=batch
    )
    if fmt == "csv":
        assert filecmp.cmp(d / "mem.csv", d / "st.csv", shallow=False)
        assert filecmp.cmp(d / "mem_events.csv", d / "st_events.csv", shallow=False)
    else:
        assert pq.read_table(d / "st.parquet").equals(pq.read_table(d / "mem.parquet"))
        assert pq.read_table(d / "st_events.parquet").equals(pq.read_table(d / "mem_events.parquet"))
    assert s.n_customers == len(mem)
    c = mem.counts()
    assert dict(s.tiers) == c["tier"] and dict(s.statuses) == c["status"]
    assert dict(s.movements) == c["movement"] and dict(s.churned) == c["churned"]
    assert dict(s.events) == mem.events.counts()
    assert s.incomplete_history == int((~mem.history_complete).sum())
    assert s.without_tier == int((mem.tier_codes < 0).sum())
    assert s.as_of == mem.as_of
    assert [p.name for p in d.iterdir() if p.name.startswith(".")] == []  # no temporaries left
    return s


@pytest.mark.parametrize(
    ("name", "partitioned"),
    [
        ("sorted.parquet", False),
        ("sorted_small_groups.parquet", False),
        ("shuffled.parquet", True),
        ("unsorted_late.parquet", True),
        ("sorted.csv", False),
        ("shuffled.csv", True),
        ("shuffled_by_first.csv", True),
        ("snapshot.arrow", False),
    ],
)
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_streaming_equals_the_in_memory_run(
    files: dict[str, Path], tmp_path: Path, name: str, partitioned: bool, fmt: str
) -> None:
    source = files[name]
    s = _same(tmp_path, source, fmt)
    assert s.partitioned is partitioned
    assert s.batches >= 15  # 1,500 customers, 100 a batch


@pytest.mark.parametrize("batch", [7, 1_499, 1_500, 10_000])
def test_results_do_not_depend_on_the_batch_size(files: dict[str, Path], tmp_path: Path, batch: int) -> None:
    _same(tmp_path, files["sorted_small_groups.parquet"], "csv", batch=batch)
    _same(tmp_path, files["shuffled.parquet"], "csv", batch=max(batch, 50))


@pytest.mark.parametrize("as_of", [None, "2026-01", "2025-09"])
def test_an_earlier_as_of_month_and_customers_without_a_tier(
    files: dict[str, Path], tmp_path: Path, as_of: str | None
) -> None:
    s = _same(tmp_path, files["sorted.parquet"], "parquet", as_of=as_of, batch=40)
    _same(tmp_path, files["shuffled.parquet"], "csv", as_of=as_of, batch=40)
    if as_of == "2025-09":
        assert s.without_tier > 0  # customers who start later have no tier then


def test_a_month_outside_the_file_is_refused(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    for month in ("2026-11", "2025-08"):
        with pytest.raises(ValueError, match=f"month {month} is outside the range"):
            evaluate_file(files["sorted.parquet"], as_of=month, out=out, batch_customers=100)
        assert not out.exists() and list(tmp_path.iterdir()) == []


def _bad_parquet(files: dict[str, Path], d: Path, row: int) -> tuple[Path, str]:
    table = pq.read_table(files["sorted.parquet"])
    cust = table.column("customer_id")[row].as_py()
    deposits = table.column("deposits").to_pylist()
    cols = {n: table.column(n) for n in table.column_names}
    cols["deposits"] = pa.array([str(v) for v in deposits], type=pa.string())
    bad = pa.table(cols)
    dep = bad.column("deposits").to_pylist()
    dep[row] = "12.345"
    cols["deposits"] = pa.array(dep, type=pa.string())
    path = d / "bad.parquet"
    pq.write_table(pa.table(cols), path, row_group_size=1000)
    return path, cust


@pytest.mark.parametrize("shuffle", [False, True])
def test_a_bad_cell_names_the_file_row_group_and_customer_and_writes_nothing(
    files: dict[str, Path], tmp_path: Path, shuffle: bool
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    path, cust = _bad_parquet(files, src, 12_345)
    if shuffle:
        t = pq.read_table(path)
        order = np.random.default_rng(5).permutation(len(t))
        pq.write_table(t.take(pa.array(order)), path, row_group_size=1000)
        row = int(np.flatnonzero(order == 12_345)[0]) + 1
    else:
        row = 12_346
    out = tmp_path / "out"
    out.mkdir()
    (out / "r.parquet").write_bytes(b"old result")
    with pytest.raises(PortfolioError) as info:
        read_balances(path)
    mem = info.value
    with pytest.raises(PortfolioError) as info:
        evaluate_file(path, out=out / "r.parquet", events=out / "e.csv", batch_customers=50)
    err = info.value
    assert err.file == str(path) and err.customer_id == cust and err.column == "deposits"
    assert err.line == row == mem.line and f"row group {(row - 1) // 1000}" in str(err)
    assert "more than two decimals" in str(err)
    assert sorted(p.name for p in out.iterdir()) == ["r.parquet"]
    assert (out / "r.parquet").read_bytes() == b"old result"


@pytest.mark.parametrize("name", ["sorted.csv", "shuffled.csv"])
def test_a_bad_csv_line_is_named_as_the_in_memory_reader_names_it(
    files: dict[str, Path], tmp_path: Path, name: str
) -> None:
    lines = files[name].read_text().splitlines(keepends=True)
    k = 9_000
    cells = lines[k].split(",")
    cells[3] = "-5"
    lines[k] = ",".join(cells)
    lines.insert(400, "\n")  # a blank line: counted, skipped
    bad = tmp_path / "bad.csv"
    bad.write_text("".join(lines))
    with pytest.raises(PortfolioError) as info:
        read_balances(bad)
    mem = info.value
    with pytest.raises(PortfolioError) as info:
        evaluate_file(bad, out=tmp_path / "r.csv", batch_customers=30)
    err = info.value
    assert (err.file, err.line, err.column, err.customer_id) == (
        str(bad),
        mem.line,
        mem.column,
        mem.customer_id,
    )
    assert err.line == k + 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_a_customer_ending_early_in_another_batch_is_an_error(files: dict[str, Path], tmp_path: Path) -> None:
    table = pq.read_table(files["sorted.parquet"])
    ids = np.asarray(table.column("customer_id").to_pylist())
    months = np.asarray(table.column("month").to_pylist())
    last = max(months.tolist())
    first_ids = ids[: 14 * 10]
    keep = ~(np.isin(ids, first_ids) & (months == last))  # the first ten customers end a month early
    path = tmp_path / "short.parquet"
    pq.write_table(table.filter(pa.array(keep)), path)
    with pytest.raises(PortfolioError, match="ends before the portfolio's last month"):
        read_balances(path)
    with pytest.raises(PortfolioError, match="ends before the portfolio's last month") as info:
        evaluate_file(path, out=tmp_path / "r.csv", batch_customers=10)
    assert info.value.customer_id == str(ids[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["short.parquet"]


@pytest.mark.parametrize("name", ["sorted.parquet", "shuffled.parquet", "sorted.csv"])
def test_an_interrupted_run_leaves_the_old_output_and_no_partitions(
    files: dict[str, Path], tmp_path: Path, name: str
) -> None:
    source = files[name]
    out, ev = tmp_path / "r.csv", tmp_path / "e.parquet"
    out.write_text("old result")
    calls: list[tuple[int, int]] = []

    def interrupt(done: int, total: int) -> None:
        calls.append((done, total))
        if len(calls) == 4:
            assert any(p.name.startswith(".custvalue-stream-") for p in tmp_path.iterdir())
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        evaluate_file(source, out=out, events=ev, batch_customers=100, progress=interrupt)
    assert out.read_text() == "old result" and not ev.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]


def test_progress_reaches_its_total(files: dict[str, Path]) -> None:
    for name in ("sorted.parquet", "shuffled.parquet", "snapshot.arrow", "sorted.csv", "shuffled.csv"):
        seen: list[tuple[int, int]] = []
        evaluate_file(files[name], batch_customers=200, progress=lambda d, t, seen=seen: seen.append((d, t)))
        assert seen and seen[-1][0] == seen[-1][1]
        assert all(a[0] <= b[0] for a, b in itertools.pairwise(seen) if a[1] == b[1])


def test_bad_arguments(files: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="batch_customers"):
        evaluate_file(files["sorted.parquet"], batch_customers=0)
    with pytest.raises(ValueError, match="the output is the input"):
        evaluate_file(files["sorted.parquet"], out=files["sorted.parquet"])
    with pytest.raises(ValueError, match="the output is the input"):
        evaluate_file(files["sorted.parquet"], out=tmp_path / "a.csv", events=tmp_path / "a.csv")
    with pytest.raises(PortfolioError, match="no such file"):
        evaluate_file(tmp_path / "missing.parquet")


@settings(max_examples=60)
@given(
    ids=st.lists(st.text(alphabet="AB c1é", min_size=1, max_size=12), min_size=1, max_size=40),
    parts=st.integers(1, 9),
)
def test_the_customer_hash_is_stable_and_ignores_surrounding_blanks(ids: list[str], parts: int) -> None:
    got = customer_partitions(ids, parts)
    assert got.shape == (len(ids),) and ((0 <= got) & (got < parts)).all()
    one_by_one = [int(customer_partitions([i.strip() or i], parts)[0]) for i in ids]
    assert got.tolist() == one_by_one
    # Arrow arrays, sliced and dictionary-encoded, hash the same
    arr = pa.array(["x", *ids])
    assert customer_partitions(arr.slice(1), parts).tolist() == got.tolist()
    assert customer_partitions(arr.slice(1).dictionary_encode(), parts).tolist() == got.tolist()


def test_the_customer_hash_is_fixed() -> None:
    # the same in every process and release: partitioned files depend on it
    assert customer_partitions(["C0000001", "C0000002", "客户"], 1_000_003).tolist() == [
        915945,
        54815,
        377464,
    ]
    h = stream._hash(pa, pa.array(["", "a", "ab"]))
    assert len(set(h.tolist())) == 3


def test_a_csv_file_without_pyarrow_is_read_whole(
    files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = files["shuffled.csv"]
    mem = evaluate(read_balances(src), as_of="2026-10")
    mem.write(tmp_path / "mem.csv")
    write_events(mem.events, tmp_path / "mem_events.csv")
    with without_pyarrow(monkeypatch):
        s = evaluate_file(
            src, out=tmp_path / "st.csv", events=tmp_path / "st_events.csv", batch_customers=400
        )
    assert s.n_customers == len(mem) and s.batches == 4 and not s.partitioned
    assert filecmp.cmp(tmp_path / "mem.csv", tmp_path / "st.csv", shallow=False)
    assert filecmp.cmp(tmp_path / "mem_events.csv", tmp_path / "st_events.csv", shallow=False)
