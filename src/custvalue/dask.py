"""The same compiled policy on the partitions of a Dask (or Spark) dataframe.

Needs the ``dask`` extra (``pip install 'custvalue[dask]'``: dask, distributed,
pyarrow, pandas).

A balances dataframe has the balances file's columns (one row per
customer-month, see :func:`custvalue.read_balances`).  Every partition must
hold all the months of its customers; :func:`repartition_by_customer`
shuffles rows by a stable hash of the customer id so that it does, and
:func:`evaluate` does it for you unless told the partitions already are by
customer.  Each partition is then read exactly as a balances file is (the
same validation and errors) and evaluated with **one compiled policy**,
compiled once in the client and shipped to the workers as data (a
:class:`~custvalue.policy.CompiledPolicy` holds arrays and tables, no code).
The results are those of the single-machine run, customer for customer.

:func:`partition_results` is the partition function itself: Arrow table in,
Arrow table out.  Spark runs it through ``mapInArrow``
(:func:`custvalue.spark.evaluate`).

Reports reduce exactly: :func:`tier_distribution` and
:func:`attribution_totals` map each partition to integer counts and sums and
add them up as Python integers, so the totals equal the in-memory ones to the
fen.
"""

from __future__ import annotations

import datetime as _dt
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np

from ._optional import import_optional
from .allocation import AllocationBook, attribute
from .io import read_balances
from .months import Month, MonthLike
from .policy import CompiledPolicy, Policy, PolicySet, compile_policy, default_policy
from .portfolio import PortfolioError
from .tiering import RESULT_COLUMNS, TierResult, customer_partitions
from .tiering import evaluate as _evaluate_portfolio

__all__ = [
    "PARTITION_COLUMN",
    "RESULT_FIELDS",
    "attribution_totals",
    "evaluate",
    "partition_results",
    "repartition_by_customer",
    "result_schema",
    "tier_distribution",
]

#: The columns of a result partition: the result file's, then ``aum_fen`` (int64 fen).
RESULT_FIELDS: Final[tuple[str, ...]] = (*RESULT_COLUMNS, "aum_fen")
#: The helper column :func:`repartition_by_customer` shuffles on (dropped afterwards).
PARTITION_COLUMN: Final = "__custvalue_partition"


def result_schema() -> Any:
    """The :class:`pyarrow.Schema` of a result partition (``aum`` exact ``decimal128(18, 2)`` yuan)."""
    pa = import_optional("pyarrow", extra="dask")
    types = {
        "aum": pa.decimal128(18, 2),
        "months_below": pa.int16(),
        "history_complete": pa.bool_(),
        "aum_fen": pa.int64(),
    }
    return pa.schema([(name, types.get(name, pa.string())) for name in RESULT_FIELDS])


def _plan(policy: Policy | CompiledPolicy | PolicySet | None) -> CompiledPolicy | PolicySet:
    """What the partitions run: a compiled policy (compiled here, once), or a policy set as data."""
    if policy is None:
        return compile_policy(default_policy())
    if isinstance(policy, Policy):
        return compile_policy(policy)
    if isinstance(policy, CompiledPolicy | PolicySet):
        return policy
    raise TypeError(f"expected a Policy, CompiledPolicy or PolicySet, got {type(policy).__name__}")


def _result_table(pa: Any, result: TierResult) -> Any:
    table = result.to_arrow()
    return table.append_column("aum_fen", pa.array(np.asarray(result.aum_fen), type=pa.int64()))


def partition_results(
    table: Any,
    policy: Policy | CompiledPolicy | PolicySet | None,
    *,
    as_of: MonthLike,
    name: str = "partition",
) -> Any:
    """Evaluate one partition of balances rows (whole customers) into a result table.

    Parameters
    ----------
    table
        A :class:`pyarrow.Table` (or record batch) with the balances file's
        columns and every month of each of its customers.
    policy
        The policy (compile it once and pass the compiled policy when
        calling this for many partitions).
    as_of
        The month evaluated (the same for every partition).
    name
        How errors name the partition (in place of a file name).

    Returns
    -------
    pyarrow.Table
        :func:`result_schema` columns, one row per customer in order of
        first appearance in ``table``.

    Examples
    --------
    >>> import pyarrow.parquet as pq, pathlib, tempfile
    >>> from custvalue import write_balances
    >>> from custvalue.synthetic import generate
    >>> f = write_balances(generate(50, seed=1), pathlib.Path(tempfile.mkdtemp()) / "b.parquet")
    >>> r = partition_results(pq.read_table(f), None, as_of="2026-10")
    >>> r.num_rows, r.column_names[:4]
    (50, ['customer_id', 'branch_id', 'as_of', 'aum'])
    """
    pa = import_optional("pyarrow", extra="dask")
    pq = import_optional("pyarrow.parquet", extra="dask")
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    month = Month.coerce(as_of)
    if table.num_rows == 0:
        return result_schema().empty_table()
    with tempfile.TemporaryDirectory(prefix="custvalue-partition-") as d:
        path = Path(d) / "balances.parquet"
        pq.write_table(table, path, compression="none")
        try:
            portfolio = read_balances(path, format="parquet")
        except PortfolioError as exc:
            raise PortfolioError(
                exc.message,
                file=name,
                line=exc.line,
                column=exc.column,
                customer_id=exc.customer_id,
                month=exc.month,
            ) from None
    plan = _plan(policy)
    return _result_table(pa, _evaluate_portfolio(portfolio, plan, as_of=month))


def _meta() -> Any:
    return result_schema().empty_table().to_pandas()


def _evaluate_pandas(
    df: Any, plan: CompiledPolicy | PolicySet, month: Month, partition_info: Mapping[str, Any] | None = None
) -> Any:
    pa = import_optional("pyarrow", extra="dask")
    number = partition_info.get("number") if partition_info else None
    cols = [c for c in df.columns if c != PARTITION_COLUMN]
    table = pa.Table.from_pandas(df[cols], preserve_index=False)
    name = "Dask partition" + (f" {number}" if number is not None else "")
    return partition_results(table, plan, as_of=month, name=name).to_pandas()


def _ids(series: Any, n: int) -> Any:
    pd = import_optional("pandas", extra="dask")
    pa = import_optional("pyarrow", extra="dask")
    ids = pa.array(series.astype(str).to_numpy(dtype=object), type=pa.string())
    return pd.Series(customer_partitions(ids, n), index=series.index, name=PARTITION_COLUMN)


def repartition_by_customer(ddf: Any, npartitions: int | None = None) -> Any:
    """Shuffle a balances dataframe so that every customer's months are in one partition.

    Rows go to partition ``hash(customer_id) % npartitions`` (a stable hash
    of the id without surrounding blanks, the same in every process:
    :func:`custvalue.tiering.customer_partitions`).

    Parameters
    ----------
    ddf
        A :class:`dask.dataframe.DataFrame` of balances rows.
    npartitions
        Partitions of the result (default: as many as ``ddf`` has).
    """
    n = int(npartitions or ddf.npartitions)
    if n < 1:
        raise ValueError("npartitions must be positive")
    part = ddf["customer_id"].map_partitions(_ids, n, meta=(PARTITION_COLUMN, "int64"))
    shuffled = ddf.assign(**{PARTITION_COLUMN: part}).shuffle(PARTITION_COLUMN, npartitions=n)
    return shuffled.drop(columns=[PARTITION_COLUMN])


def evaluate(
    data: Any,
    policy: Policy | CompiledPolicy | PolicySet | None = None,
    *,
    as_of: MonthLike,
    by_customer: bool = False,
    npartitions: int | None = None,
) -> Any:
    """Evaluate a policy over a Dask dataframe of balances rows (or Parquet files); lazily.

    Parameters
    ----------
    data
        A :class:`dask.dataframe.DataFrame` with the balances file's columns,
        or a path / glob / list of Parquet balances files
        (:func:`dask.dataframe.read_parquet`).
    policy
        The policy (the default policy when omitted); compiled once, here.
    as_of
        The month evaluated.
    by_customer
        ``True`` when every customer's rows already are in one partition
        (files written per customer range or hash); otherwise the rows are
        shuffled first (:func:`repartition_by_customer`).
    npartitions
        Partitions of the shuffle (default: as many as ``data`` has).

    Returns
    -------
    dask.dataframe.DataFrame
        One row per customer with :data:`RESULT_FIELDS` (meta declared:
        :func:`result_schema` as pandas); ``compute()`` it, write it with
        ``to_parquet``, or reduce it with :func:`tier_distribution` and
        :func:`attribution_totals`.  Sorted by ``customer_id`` it equals the
        single-machine result.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import dask
    >>> import dask.dataframe as dd
    >>> from custvalue import evaluate as evaluate_here, read_balances, write_balances
    >>> from custvalue.synthetic import generate
    >>> f = write_balances(generate(300, seed=8), pathlib.Path(tempfile.mkdtemp()) / "b.parquet")
    >>> ddf = dd.read_parquet(f).repartition(npartitions=3)   # cuts customers: shuffled below
    >>> with dask.config.set(scheduler="synchronous"):
    ...     got = evaluate(ddf, as_of="2026-10").compute()
    >>> here = evaluate_here(read_balances(f), as_of="2026-10").to_arrow().to_pandas()
    >>> got = got.sort_values("customer_id").reset_index(drop=True)
    >>> got.drop(columns="aum_fen").equals(here.sort_values("customer_id").reset_index(drop=True))
    True
    """
    dd = import_optional("dask.dataframe", extra="dask", feature="custvalue.dask")
    month = Month.coerce(as_of)
    plan = _plan(policy)
    if isinstance(data, str | os.PathLike) or (
        isinstance(data, list | tuple) and all(isinstance(x, str | os.PathLike) for x in data)
    ):
        paths = [str(x) for x in data] if isinstance(data, list | tuple) else str(data)
        ddf = dd.read_parquet(paths)
    else:
        ddf = data
    if not by_customer:
        ddf = repartition_by_customer(ddf, npartitions)
    return ddf.map_partitions(_evaluate_pandas, plan, month, meta=_meta(), enforce_metadata=False)


# --------------------------------------------------------------------------- reports
def _distribution_part(df: Any) -> dict[tuple[str, str], tuple[int, int]]:
    """(branch, tier) -> (customers, AUM fen) of one result partition (customers with a tier)."""
    pd = import_optional("pandas", extra="dask")
    has = df["tier"].astype(str) != ""
    sub = df[has]
    if not len(sub):
        return {}
    keys = pd.MultiIndex.from_arrays([sub["branch_id"].astype(str), sub["tier"].astype(str)])
    codes, uniq = pd.factorize(keys)
    codes = np.asarray(codes, dtype=np.int64)
    aum = np.asarray(sub["aum_fen"], dtype=np.int64)
    counts = np.bincount(codes, minlength=len(uniq))
    out: dict[tuple[str, str], tuple[int, int]] = {}
    # per group: exact Python sums of int64 (no wrap), vectorised by sorting
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniq) + 1))
    sorted_aum = aum[order]
    for g, key in enumerate(uniq.tolist()):
        lo, hi = int(bounds[g]), int(bounds[g + 1])
        total = int(sorted_aum[lo:hi].sum(dtype=object))
        out[(str(key[0]), str(key[1]))] = (int(counts[g]), total)
    return out


def _add_distributions(parts: Iterable[dict[tuple[str, str], tuple[int, int]]]) -> dict[Any, Any]:
    total: dict[tuple[str, str], list[int]] = {}
    for part in parts:
        for key, (c, a) in part.items():
            got = total.setdefault(key, [0, 0])
            got[0] += c
            got[1] += a
    return {k: (v[0], v[1]) for k, v in total.items()}


def tier_distribution(
    results: Any,
    policy: Policy | CompiledPolicy | None = None,
    *,
    branches: Iterable[str] | None = None,
) -> Any:
    """Customers and AUM (fen) per branch × tier, reduced exactly over the partitions.

    The same numbers as :func:`custvalue.analytics.tier_distribution` on the
    single-machine result: every branch (sorted, ``branches`` adds ids with
    no customers) times every tier of ``policy`` in policy order; customers
    without a tier are not counted.  Each partition is reduced to counts and
    exact sums; the sums are added as Python integers (never a wrapped
    int64).

    Returns
    -------
    pandas.DataFrame
        ``branch_id``, ``tier``, ``customers`` (int64), ``aum`` (Python
        ``int`` fen, object dtype: a bank's total may pass int64).
    """
    dask = import_optional("dask", extra="dask")
    pd = import_optional("pandas", extra="dask")
    parts = [dask.delayed(_distribution_part)(p) for p in results.to_delayed()]
    merged: dict[tuple[str, str], tuple[int, int]] = dask.delayed(_add_distributions)(parts).compute()
    pol = policy.policy if isinstance(policy, CompiledPolicy) else (policy or default_policy())
    tiers = list(pol.tier_order)
    ids = sorted({b for b, _ in merged} | set(branches or ()))
    rows = [(b, t, *merged.get((b, t), (0, 0))) for b in ids for t in tiers]
    df = pd.DataFrame(rows, columns=["branch_id", "tier", "customers", "aum"])
    df["customers"] = df["customers"].astype("int64")
    df["aum"] = df["aum"].astype(object)
    return df


def _attribution_part(df: Any, book: AllocationBook, as_of: _dt.date, amount: str) -> tuple[Any, ...]:
    ids = np.asarray(df["customer_id"].astype(str).to_numpy(dtype=object), dtype=str)
    amounts = np.asarray(df[amount], dtype=np.int64)
    res = attribute(book, amounts, as_of, customer_ids=ids)
    return (
        [int(v) for v in res.manager_totals.tolist()],
        [int(v) for v in res.branch_totals.tolist()],
        [int(v) for v in res.branch_unallocated.tolist()],
        int(res.total),
    )


def _add_attributions(parts: Iterable[tuple[Any, ...]]) -> tuple[Any, ...]:
    m: list[int] | None = None
    b: list[int] | None = None
    u: list[int] | None = None
    total = 0
    for pm, pb, pu, pt in parts:
        m = list(pm) if m is None else [x + y for x, y in zip(m, pm, strict=True)]
        b = list(pb) if b is None else [x + y for x, y in zip(b, pb, strict=True)]
        u = list(pu) if u is None else [x + y for x, y in zip(u, pu, strict=True)]
        total += pt
    return m or [], b or [], u or [], total


def attribution_totals(
    results: Any, book: AllocationBook, as_of: _dt.date, *, amount: str = "aum_fen"
) -> dict[str, Any]:
    """Attribute a per-customer amount of the results to managers, reduced exactly over partitions.

    Each partition runs :func:`custvalue.allocation.attribute` on its
    customers (the book is shipped once); the per-manager and per-branch
    totals are added as Python integers.  They equal the single-machine
    ``attribute(book, amounts, as_of, customer_ids=...)`` totals exactly
    (each customer's parts depend on that customer alone).

    Returns
    -------
    dict
        ``by_manager`` and ``by_branch`` (``{id: fen}`` as
        :meth:`Attribution.by_manager <custvalue.allocation.Attribution.by_manager>`
        and ``by_branch``), ``unallocated_by_branch`` and ``total``.
    """
    dask = import_optional("dask", extra="dask")
    shipped = dask.delayed(book, pure=True)
    parts = [dask.delayed(_attribution_part)(p, shipped, as_of, amount) for p in results.to_delayed()]
    m, b, u, total = dask.delayed(_add_attributions)(parts).compute()
    managers, branch_ids = book.manager_ids.tolist(), book.branch_ids.tolist()
    zero = [0] * len(branch_ids)
    return {
        "by_manager": dict(zip(managers, m or [0] * len(managers), strict=True)),
        "by_branch": dict(zip(branch_ids, b or zero, strict=True)),
        "unallocated_by_branch": dict(zip(branch_ids, u or zero, strict=True)),
        "total": int(total),
    }
