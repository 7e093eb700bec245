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
columns and ``aum_fen`` (the columns and types of
:func:`custvalue.dask.result_schema`: exact ``decimal(18,2)`` yuan, ``bigint``
fen); sorted by ``customer_id`` it equals the single-machine result.
:func:`events` gives the tier events the same way (the rows of
:func:`custvalue.tiering.write_events`).

Example (runs where pyspark and Java are installed; ``pytest -m spark
tests/test_dask.py`` runs the same)::

    from pyspark.sql import SparkSession
    import custvalue.spark

    spark = SparkSession.builder.master("local[2]").getOrCreate()
    balances = spark.read.parquet("balances.parquet")
    results = custvalue.spark.evaluate(balances, as_of="2026-10")
    results.write.parquet("results.parquet")
    custvalue.spark.events(balances, as_of="2026-10").write.parquet("events.parquet")
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from ._optional import import_optional
from .dask import partition_results
from .months import Month, MonthLike
from .policy import CompiledPolicy, Policy, PolicySet, compile_policy, default_policy

__all__ = ["EVENT_DDL", "RESULT_DDL", "evaluate", "events"]

#: The Spark schema of the result (as :func:`custvalue.dask.result_schema`).
RESULT_DDL: Final = (
    "customer_id string, branch_id string, as_of string, aum decimal(18,2), tier string, "
    "status string, months_below smallint, previous_tier string, movement string, "
    "churned_tier string, history_complete boolean, reasons string, aum_fen bigint"
)
#: The Spark schema of the events (as :func:`custvalue.dask.event_schema`).
EVENT_DDL: Final = "customer_id string, event string, actions string"
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
    return _map(sdf, policy, as_of, by_customer, npartitions, events=False)


def events(
    sdf: Any,
    policy: Policy | CompiledPolicy | PolicySet | None = None,
    *,
    as_of: MonthLike,
    by_customer: bool = False,
    npartitions: int | None = None,
) -> Any:
    """The tier events over a Spark dataframe of balances rows (the options are :func:`evaluate`'s).

    Each partition is evaluated as by :func:`evaluate` (so a job that
    needs both evaluates twice; cache ``sdf`` repartitioned by customer
    and pass ``by_customer=True`` to shuffle once).

    Returns
    -------
    pyspark.sql.DataFrame
        :data:`EVENT_DDL` columns, one row per (customer, event): the rows
        of :func:`custvalue.tiering.write_events` for the single-machine run.
    """
    return _map(sdf, policy, as_of, by_customer, npartitions, events=True)


def _map(
    sdf: Any,
    policy: Policy | CompiledPolicy | PolicySet | None,
    as_of: MonthLike,
    by_customer: bool,
    npartitions: int | None,
    *,
    events: bool,
) -> Any:
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
        if events:
            out = partition_results(table, plan, as_of=month, name="Spark partition", events=True)[1]
        else:
            out = partition_results(table, plan, as_of=month, name="Spark partition")
        yield from out.to_batches()

    return sdf.mapInArrow(run, EVENT_DDL if events else RESULT_DDL)
