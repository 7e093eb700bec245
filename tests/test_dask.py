"""custvalue.dask on a real ``dask.distributed`` LocalCluster (2 worker processes, small data).

Results, the tier × branch distribution and attribution totals equal the
single-machine run exactly; partitions that cut customers are shuffled by
customer first; a bad row names its partition and customer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from custvalue import evaluate, read_balances, write_balances
from custvalue.allocation import AllocationBook, attribute
from custvalue.analytics import tier_distribution
from custvalue.synthetic import generate

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
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


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("dask")
    p = generate(2_400, seed=21)
    f = write_balances(p, d / "b.parquet")
    table = pq.read_table(f)
    order = np.random.default_rng(2).permutation(len(table))
    shuffled = d / "shuffled.parquet"
    pq.write_table(table.take(pa.array(order)), shuffled, row_group_size=4_000)
    return {"portfolio": p, "sorted": f, "shuffled": shuffled, "dir": d}


def _sorted(df: Any) -> Any:
    return df.sort_values("customer_id").reset_index(drop=True)


def _here(p: Any, as_of: str = "2026-10") -> Any:
    return evaluate(p, as_of=as_of)


@pytest.mark.parametrize("name", ["sorted", "shuffled"])
def test_results_equal_the_single_machine_run(client: Any, data: dict[str, Any], name: str) -> None:
    ddf = dd.read_parquet(data[name]).repartition(npartitions=5)  # partitions cut customers
    got = cvdask.evaluate(ddf, as_of="2026-10", npartitions=3)
    assert list(got.columns) == list(cvdask.RESULT_FIELDS)
    out = _sorted(got.compute())
    r = _here(read_balances(data[name]))
    want = _sorted(r.to_arrow().to_pandas())
    assert len(out) == len(want) == 2_400
    assert out.drop(columns="aum_fen").equals(want)
    assert out["aum_fen"].tolist() == [int(v) for v in np.asarray(r.aum_fen)[np.argsort(r.customer_ids)]]


def test_a_path_and_partitions_already_by_customer(client: Any, data: dict[str, Any]) -> None:
    by = cvdask.repartition_by_customer(dd.read_parquet(data["shuffled"]), 4).persist()
    # every customer's rows are in one partition
    parts = [set(part["customer_id"]) for part in by.to_delayed() for part in [part.compute()]]
    assert sum(len(s) for s in parts) == len(set().union(*parts)) == 2_400
    got = _sorted(cvdask.evaluate(by, as_of="2026-06", by_customer=True).compute())
    want = _sorted(_here(data["portfolio"], "2026-06").to_arrow().to_pandas())
    assert got.drop(columns="aum_fen").equals(want)
    from_path = _sorted(cvdask.evaluate(str(data["sorted"]), as_of="2026-06").compute())
    assert from_path.equals(got)


def test_the_distribution_and_attribution_reduce_exactly(client: Any, data: dict[str, Any]) -> None:
    p = data["portfolio"]
    results = cvdask.evaluate(dd.read_parquet(data["shuffled"]), as_of="2026-10", npartitions=3).persist()
    r = _here(p)
    dist = cvdask.tier_distribution(results, branches=["B999"])
    want = tier_distribution(r, branches=["B999"]).records()
    assert [(x["branch_id"], x["tier"], x["customers"], x["aum"]) for x in want] == list(
        dist.itertuples(index=False, name=None)
    )
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


@pytest.mark.spark
def test_spark_map_in_arrow_equals_the_single_machine_run(
    data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
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
    finally:
        spark.stop()
    out = _sorted(got.to_pandas())
    want = _sorted(_here(data["portfolio"]).to_arrow().to_pandas())
    assert out.drop(columns="aum_fen").equals(want)
