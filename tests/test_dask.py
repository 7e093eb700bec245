"""custvalue.dask on a real ``dask.distributed`` LocalCluster (2 worker processes, small data).

Results, events, the tier × branch distribution (with its shares) and
attribution totals equal the single-machine run exactly; partitions that cut
customers are shuffled by customer first; result partitions are Arrow-backed
(no Python objects); a bad row names its partition (or file) and customer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custvalue import Portfolio, evaluate, read_balances, write_balances
from custvalue.allocation import AllocationBook, attribute
from custvalue.analytics import ratio_bp, tier_distribution
from custvalue.policy import EVENT_TYPES
from custvalue.synthetic import generate
from custvalue.tiering import write_events

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
cvdask = pytest.importorskip("custvalue.dask")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    )
    c = distributed.Client(cluster, timeout="30s")
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def _with_prefix(p: Portfolio, prefix: str) -> Portfolio:
    return Portfolio.from_arrays(
        customer_ids=np.char.add(prefix, p.customer_ids),
        branch_ids=p.branch_ids,
        start=p.months.start,
        history_start=p.history_start,
        card_level=p.card_level,
        deposits=p.deposits,
        wealth=p.wealth,
        investments=p.investments,
        mortgage_loan=p.mortgage_loan,
        credit_loan=p.credit_loan,
        card_spend=p.card_spend,
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("dask")
    p = generate(2_400, seed=21)
    f = write_balances(p, d / "b.parquet")
    table = pq.read_table(f)
    order = np.random.default_rng(2).permutation(len(table))
    shuffled = d / "shuffled.parquet"
    pq.write_table(table.take(pa.array(order)), shuffled, row_group_size=4_000)
    # three files of whole customers (own ids each), in a directory
    files = d / "by_customer"
    files.mkdir()
    parts = [_with_prefix(generate(400 + 100 * k, seed=60 + k), f"F{k}") for k in range(3)]
    for k, part in enumerate(parts):
        write_balances(part, files / f"part-{k}.parquet")
    tables = [pq.read_table(files / f"part-{k}.parquet") for k in range(3)]
    all_rows = d / "all_rows.parquet"
    pq.write_table(pa.concat_tables(tables), all_rows)
    return {"portfolio": p, "sorted": f, "shuffled": shuffled, "dir": d, "files": files, "all_rows": all_rows}


def _arrow(df: Any, schema: Any) -> Any:
    """A computed partition frame as Arrow with the declared schema, sorted by customer (stable)."""
    return pa.Table.from_pandas(df, schema=schema, preserve_index=False).sort_by("customer_id")


def _want_results(r: Any) -> Any:
    t = r.to_arrow()
    t = t.append_column("aum_fen", pa.array(np.asarray(r.aum_fen), type=pa.int64()))
    return t.sort_by("customer_id")


def _want_events(r: Any, d: Path) -> Any:
    f = write_events(r.events, d / "want_events.parquet")
    return pq.read_table(f).sort_by("customer_id")


def _arrow_backed(df: Any) -> None:
    """No Python-object columns: text string[pyarrow], aum a decimal ArrowDtype, numbers numpy."""
    assert not any(df[c].dtype == object for c in df.columns), df.dtypes
    assert str(df["aum"].dtype) == "decimal128(18, 2)[pyarrow]"
    assert df["customer_id"].dtype == pd.StringDtype("pyarrow")
    assert str(df["aum_fen"].dtype) == "int64" and str(df["months_below"].dtype) == "int16"


@pytest.mark.parametrize("name", ["sorted", "shuffled"])
def test_results_equal_the_single_machine_run(client: Any, data: dict[str, Any], name: str) -> None:
    ddf = dd.read_parquet(data[name]).repartition(npartitions=5)  # partitions cut customers
    got = cvdask.evaluate(ddf, as_of="2026-10", npartitions=3)
    assert list(got.columns) == list(cvdask.RESULT_FIELDS)
    _arrow_backed(got._meta)
    out = got.compute()
    _arrow_backed(out)
    assert out.dtypes.equals(got._meta.dtypes)
    r = _here(read_balances(data[name]))
    assert len(out) == len(r) == 2_400
    assert _arrow(out, cvdask.result_schema()).equals(_want_results(r))


def _here(p: Any, as_of: str = "2026-10") -> Any:
    return evaluate(p, as_of=as_of)


def test_a_path_and_partitions_already_by_customer(client: Any, data: dict[str, Any]) -> None:
    by = cvdask.repartition_by_customer(dd.read_parquet(data["shuffled"]), 4).persist()
    # every customer's rows are in one partition
    parts = [set(part["customer_id"]) for part in by.to_delayed() for part in [part.compute()]]
    assert sum(len(s) for s in parts) == len(set().union(*parts)) == 2_400
    got = cvdask.evaluate(by, as_of="2026-06", by_customer=True).compute()
    want = _want_results(_here(data["portfolio"], "2026-06"))
    assert _arrow(got, cvdask.result_schema()).equals(want)
    from_path = cvdask.evaluate(str(data["sorted"]), as_of="2026-06").compute()
    assert _arrow(from_path, cvdask.result_schema()).equals(want)


def test_files_by_customer_are_one_partition_each(client: Any, data: dict[str, Any]) -> None:
    """A directory (or glob, or list) of files of whole customers: read_balances per file, no shuffle."""
    files = data["files"]
    want = _want_results(_here(read_balances(data["all_rows"])))
    for given_as in (files, str(files / "part-*.parquet"), sorted(files.glob("*.parquet"))):
        got = cvdask.evaluate(given_as, as_of="2026-10", by_customer=True)
        assert got.npartitions == 3
        out = got.compute()
        _arrow_backed(out)
        assert _arrow(out, cvdask.result_schema()).equals(want)
    # a Dask dataframe of the same files, one partition per file, gives the same
    ddf = dd.read_parquet(str(files), split_row_groups=False)
    out = cvdask.evaluate(ddf, as_of="2026-10", by_customer=True).compute()
    assert _arrow(out, cvdask.result_schema()).equals(want)


def test_events_equal_the_in_memory_events(client: Any, data: dict[str, Any], tmp_path: Path) -> None:
    r = _here(read_balances(data["shuffled"]))
    want_events = _want_events(r, tmp_path)
    assert len(want_events) >= 20  # the data have events of every kind
    assert set(want_events.column("event").to_pylist()) == set(EVENT_TYPES)
    ddf = dd.read_parquet(data["shuffled"]).repartition(npartitions=4)
    results, events = cvdask.evaluate(ddf, as_of="2026-10", npartitions=3, events=True)
    assert list(events.columns) == list(cvdask.EVENT_FIELDS) == ["customer_id", "event", "actions"]
    got_results, got_events = dask.compute(results, events)
    assert _arrow(got_results, cvdask.result_schema()).equals(_want_results(r))
    assert _arrow(got_events, cvdask.event_schema()).equals(want_events)
    assert all(got_events[c].dtype == pd.StringDtype("pyarrow") for c in got_events.columns)
    only = cvdask.events(str(data["files"]), as_of="2026-10", by_customer=True).compute()
    mem = _here(read_balances(data["all_rows"]))
    assert _arrow(only, cvdask.event_schema()).equals(_want_events(mem, tmp_path))


def test_results_and_events_share_the_partition_tasks(
    data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = cvdask._evaluate_portfolio_tables

    def counted(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(cvdask, "_evaluate_portfolio_tables", counted)
    with dask.config.set(scheduler="synchronous"):
        results, events = cvdask.evaluate(str(data["files"]), as_of="2026-10", by_customer=True, events=True)
        dask.compute(results, events)
    assert len(calls) == 3


def test_the_distribution_and_attribution_reduce_exactly(client: Any, data: dict[str, Any]) -> None:
    p = data["portfolio"]
    results = cvdask.evaluate(dd.read_parquet(data["shuffled"]), as_of="2026-10", npartitions=3).persist()
    r = _here(p)
    dist = cvdask.tier_distribution(results, branches=["B999"])
    assert list(dist.columns) == list(cvdask.DISTRIBUTION_COLUMNS)
    want = tier_distribution(r, branches=["B999"])
    assert list(want.columns) == list(cvdask.DISTRIBUTION_COLUMNS)
    rows = [tuple(None if v is pd.NA else v for v in row) for row in dist.itertuples(index=False, name=None)]
    assert rows == [tuple(x.values()) for x in want.records()]
    assert any(x["customer_share_bp"] is None for x in want.records())  # B999: null shares
    assert str(dist["customer_share_bp"].dtype) == "Int64"
    day = dt.date(2026, 10, 31)
    book = AllocationBook.empty({"M1": "B001", "M2": "B001", "M3": "B001"}, branches=set(p.branch_ids))
    book, _ = book.add_customers(p.customer_ids, p.branch_ids, effective=day, operator="sys")
    for k, cid in enumerate(p.customer_ids[p.branch_ids == "B001"][:60].tolist()):
        shares = {"M1": 3333, "M2": 3334, "M3": 3333} if k % 3 else {"M2": 10000}
        book, _ = book.allocate(cid, "M2", shares, tier="gold", effective=day, operator="bm")
    got = cvdask.attribution_totals(results, book, day)
    mem = attribute(book, np.asarray(r.aum_fen), day, customer_ids=r.customer_ids)
    assert got["by_manager"] == mem.by_manager() and got["by_branch"] == mem.by_branch()
    assert got["total"] == mem.total and sum(got["by_branch"].values()) == mem.total


def test_a_branch_whose_customers_have_no_tier_yet_is_listed(tmp_path: Path) -> None:
    """Customers without data at the as-of month count nowhere, but their branch is a row."""
    months = 10
    dep = np.full((3, months), 600_000_00, dtype=np.int64)
    dep[2, :8] = 0  # C joins in 2026-09
    p = Portfolio.from_arrays(
        customer_ids=["A", "B", "C"],
        branch_ids=["B1", "B1", "BX"],
        start="2026-01",
        deposits=dep,
        history_start=np.array([0, 0, 8]),
    )
    f = write_balances(p, tmp_path / "late.parquet")
    r = evaluate(read_balances(f), as_of="2026-06")
    assert r.tiers().tolist()[2] == ""
    want = [tuple(x.values()) for x in tier_distribution(r).records()]
    with dask.config.set(scheduler="synchronous"):
        results = cvdask.evaluate(str(f), as_of="2026-06", by_customer=True)
        dist = cvdask.tier_distribution(results)
    rows = [tuple(None if v is pd.NA else v for v in row) for row in dist.itertuples(index=False, name=None)]
    assert rows == want
    assert {b for b, *_ in rows} == {"B1", "BX"}


@st.composite
def _share(draw: st.DrawFn) -> tuple[int, int]:
    """A part and a whole (of any sign), the part at most 100 wholes (ratio_bp's results fit int64)."""
    whole = draw(st.integers(-(2**40), 2**62))
    bound = min(100 * max(abs(whole), 1), 2**63 - 1)
    return draw(st.integers(-bound, bound)), whole


@given(st.lists(_share(), min_size=1, max_size=30))
def test_share_bp_rounds_as_the_in_memory_reports(pairs: list[tuple[int, int]]) -> None:
    num = np.array([n for n, _ in pairs], dtype=np.int64)
    den = np.array([d for _, d in pairs], dtype=np.int64)
    bp, ok = ratio_bp(num, den)
    got = [cvdask.share_bp(int(n), int(d)) for n, d in pairs]
    assert got == [int(v) if k else None for v, k in zip(bp.tolist(), ok.tolist(), strict=True)]


def test_share_bp_is_exact_past_int64() -> None:
    big = 3 * 2**70
    assert cvdask.share_bp(big, 2 * big) == 5_000
    assert cvdask.share_bp(1, 2 * 10_000) == 0  # 0.5 bp: half to even
    assert cvdask.share_bp(3, 2 * 10_000) == 2  # 1.5 bp


def test_the_customer_hash_takes_arrow_and_object_text(data: dict[str, Any]) -> None:
    ids = ["C1", " C2 ", "C3", "C1"]
    a = cvdask._ids(pd.Series(ids, dtype=pd.StringDtype("pyarrow")), 7)
    b = cvdask._ids(pd.Series(ids, dtype=object), 7)
    assert a.tolist() == b.tolist() and a.iloc[0] == a.iloc[3]
    from custvalue.tiering import customer_partitions

    assert a.tolist() == customer_partitions(ids, 7).tolist()


def test_a_bad_row_names_its_partition_and_customer(client: Any, data: dict[str, Any]) -> None:
    table = pq.read_table(data["sorted"])
    dep = [str(v) for v in table.column("deposits").to_pylist()]
    dep[100] = "-1"
    bad = table.set_column(table.column_names.index("deposits"), "deposits", pa.array(dep))
    path: Path = data["dir"] / "bad.parquet"
    pq.write_table(bad, path)
    cust = table.column("customer_id")[100].as_py()
    with pytest.raises(ValueError, match=f"Dask partition .*customer '{cust}'"):
        cvdask.evaluate(str(path), as_of="2026-10", npartitions=2).compute()
    # a file read by customer names the file
    with pytest.raises(ValueError, match=f"bad.parquet.*customer '{cust}'"):
        cvdask.evaluate(str(path), as_of="2026-10", by_customer=True).compute()


@pytest.mark.spark
def test_spark_map_in_arrow_equals_the_single_machine_run(
    data: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Needs pyspark and Java: ``pip install 'custvalue[spark]'``; ``pytest -m spark tests/test_dask.py``."""
    import shutil
    import sys

    pyspark_sql = pytest.importorskip("pyspark.sql")
    if shutil.which("java") is None:
        pytest.skip("needs a Java runtime (apt-get install default-jre-headless)")
    import custvalue.spark

    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)  # the workers run this interpreter
    spark = (
        pyspark_sql.SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "3")
        .getOrCreate()
    )
    try:
        sdf = spark.read.parquet(str(data["shuffled"]))
        got = custvalue.spark.evaluate(sdf, as_of="2026-10", npartitions=3).toArrow()
        got_events = custvalue.spark.events(sdf, as_of="2026-10", npartitions=3).toArrow()
    finally:
        spark.stop()
    r = _here(data["portfolio"])
    assert got.cast(cvdask.result_schema()).sort_by("customer_id").equals(_want_results(r))
    assert got_events.cast(cvdask.event_schema()).sort_by("customer_id").equals(_want_events(r, tmp_path))
