"""The same compiled policy on a Spark dataframe, through ``mapInArrow``.

Needs the ``spark`` extra (``pip install 'custvalue[spark]'``: pyspark, pyarrow,
pandas) and a Java runtime (Java 17 or later for pyspark 4; Debian:
``apt-get install default-jre-headless``).

:func:`evaluate` runs :func:`custvalue.dask.partition_results` -- the
partition function the Dask integration runs -- on every partition of a
Spark dataframe of balances rows: rows are repartitioned by customer id
first (so every customer's months are in one partition, unless told they
already are), each partition's Arrow record batches become one Arrow table,
which is read as a balances file is and evaluated with the policy compiled
once on the driver.  The result is a Spark dataframe with the result file's
columns and ``aum_fen``; sorted by ``customer_id`` it equals the
single-machine result.

Example (runs where pyspark and Java are installed; ``pytest -m spark
tests/test_dask.py`` runs the same)::

    from pyspark.sql import SparkSession
    import custvalue.spark

    spark = SparkSession.builder.master("local[2]").getOrCreate()
    balances = spark.read.parquet("balances.parquet")
    results = custvalue.spark.evaluate(balances, as_of="2026-10")
    results.write.parquet("results.parquet")
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from ._optional import import_optional
from .dask import partition_results
from .months import Month, MonthLike
from .policy import CompiledPolicy, Policy, PolicySet, compile_policy, default_policy

__all__ = ["RESULT_DDL", "evaluate"]

#: The Spark schema of the result (as :func:`custvalue.dask.result_schema`).
RESULT_DDL: Final = (
    "customer_id string, branch_id string, as_of string, aum decimal(18,2), tier string, "
    "status string, months_below smallint, previous_tier string, movement string, "
    "churned_tier string, history_complete boolean, reasons string, aum_fen bigint"
)
_KEY: Final = "__custvalue_customer"


def evaluate(
    sdf: Any,
    policy: Policy | CompiledPolicy | PolicySet | None = None,
    *,
    as_of: MonthLike,
    by_customer: bool = False,
    npartitions: int | None = None,
) -> Any:
    """Evaluate a policy over a Spark dataframe of balances rows (lazily, as Spark does).

    Parameters
    ----------
    sdf
        A :class:`pyspark.sql.DataFrame` with the balances file's columns
        (money as ``decimal``, integer yuan or decimal text, as in a
        Parquet balances file).
    policy
        The policy (the default policy when omitted); compiled once, on the
        driver, and shipped to the executors as data.
    as_of
        The month evaluated.
    by_customer
        ``True`` when every customer's rows already are in one partition;
        otherwise the rows are hash-partitioned by ``trim(customer_id)``.
    npartitions
        Partitions of that repartition (default: as many as ``sdf`` has).

    Returns
    -------
    pyspark.sql.DataFrame
        :data:`RESULT_DDL` columns, one row per customer.
    """
    import_optional("pyspark", extra="spark", feature="custvalue.spark")
    functions = import_optional("pyspark.sql.functions", extra="spark")
    import_optional("pyarrow", extra="spark")
    month = Month.coerce(as_of)
    plan: CompiledPolicy | PolicySet
    if policy is None:
        plan = compile_policy(default_policy())
    elif isinstance(policy, Policy):
        plan = compile_policy(policy)
    else:
        plan = policy
    if not by_customer:
        n = int(npartitions or sdf.rdd.getNumPartitions())
        sdf = (
            sdf.withColumn(_KEY, functions.trim(functions.col("customer_id"))).repartition(n, _KEY).drop(_KEY)
        )

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        pa = import_optional("pyarrow", extra="spark")
        got = [b for b in batches if b.num_rows]
        if not got:
            return
        table = pa.Table.from_batches(got)
        yield from partition_results(table, plan, as_of=month, name="Spark partition").to_batches()

    return sdf.mapInArrow(run, RESULT_DDL)
