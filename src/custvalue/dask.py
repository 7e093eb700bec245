"""The same compiled policy on the partitions of a Dask (or Spark) dataframe.

Needs the ``dask`` extra (``pip install 'custvalue[dask]'``: dask, distributed,
pyarrow, pandas).

A balances dataframe has the balances file's columns (one row per
customer-month, see :func:`custvalue.read_balances`).  Every partition must
hold all the months of its customers; :func:`repartition_by_customer`
shuffles rows by a stable hash of the customer id so that it does, and
:func:`evaluate` does it for you unless told the partitions already are by
customer.  Each partition is then read exactly as a balances table is (the
checks and errors of :func:`custvalue.io.read_table`; Parquet files given by
path and already by customer are read by :func:`~custvalue.read_balances`
itself, one partition per file) and evaluated with **one compiled policy**,
compiled once in the client and shipped to the workers as data (a
:class:`~custvalue.policy.CompiledPolicy` holds arrays and tables, no code).
The results are those of the single-machine run, customer for customer.

Result and event partitions are **Arrow-backed** pandas frames: text is
``string[pyarrow]``, ``aum`` is exact ``decimal128(18, 2)`` yuan
(:class:`pandas.ArrowDtype`), ``aum_fen`` int64 fen, ``months_below`` int16
and ``history_complete`` bool -- no Python objects, so a partition crosses
process boundaries and reaches ``to_parquet`` without a per-row conversion.

:func:`partition_results` is the partition function itself: Arrow table in,
Arrow table(s) out.  Spark runs it through ``mapInArrow``
(:func:`custvalue.spark.evaluate`).

Reports reduce exactly: :func:`tier_distribution` and
:func:`attribution_totals` map each partition to integer counts and sums and
add them up as Python integers, so the totals equal the in-memory ones to the
fen (and the shares, computed from those totals, to the basis point).
"""

from __future__ import annotations

import datetime as _dt
import glob
import operator
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal, overload

import numpy as np
from numpy.typing import NDArray

from ._arrays import exact_group_sums
from ._optional import import_optional
from .allocation import AllocationBook, attribute
from .io import read_balances, read_table
from .months import Month, MonthLike
from .policy import EVENT_TYPES, CompiledPolicy, Policy, PolicySet, compile_policy, default_policy
from .portfolio import PortfolioError
from .tiering import EVENT_COLUMNS, MOVEMENTS, RESULT_COLUMNS, STATUSES, TierResult, customer_partitions
from .tiering import evaluate as _evaluate_portfolio

__all__ = [
    "DISTRIBUTION_COLUMNS",
    "EVENT_FIELDS",
    "PARTITION_COLUMN",
    "RESULT_FIELDS",
    "attribution_totals",
    "evaluate",
    "event_schema",
    "events",
    "partition_results",
    "repartition_by_customer",
    "result_schema",
    "share_bp",
    "tier_distribution",
]

#: The columns of a result partition: the result file's, then ``aum_fen`` (int64 fen).
RESULT_FIELDS: Final[tuple[str, ...]] = (*RESULT_COLUMNS, "aum_fen")
#: The columns of an event partition: those of :func:`custvalue.tiering.write_events`.
EVENT_FIELDS: Final[tuple[str, ...]] = tuple(EVENT_COLUMNS)
#: The columns of :func:`tier_distribution` (those of :func:`custvalue.analytics.tier_distribution`).
DISTRIBUTION_COLUMNS: Final[tuple[str, ...]] = (
    "branch_id",
    "tier",
    "customers",
    "aum",
    "customer_share_bp",
    "aum_share_bp",
)
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


def event_schema() -> Any:
    """The :class:`pyarrow.Schema` of an event partition (three text columns)."""
    pa = import_optional("pyarrow", extra="dask")
    return pa.schema([(name, pa.string()) for name in EVENT_FIELDS])


def _plan(policy: Policy | CompiledPolicy | PolicySet | None) -> CompiledPolicy | PolicySet:
    """What the partitions run: a compiled policy (compiled here, once), or a policy set as data."""
    if policy is None:
        return compile_policy(default_policy())
    if isinstance(policy, Policy):
        return compile_policy(policy)
    if isinstance(policy, CompiledPolicy | PolicySet):
        return policy
    raise TypeError(f"expected a Policy, CompiledPolicy or PolicySet, got {type(policy).__name__}")


# --------------------------------------------------------------------------- partition function
def _names(pa: Any, codes: NDArray[Any], names: Sequence[str]) -> Any:
    """Names of codes (-1: ``""``) as an Arrow string array: one ``take``, no per-row strings."""
    idx = np.where(codes < 0, len(names), codes).astype(np.int64)
    return pa.array([*names, ""], type=pa.string()).take(pa.array(idx))


def _yuan(pa: Any, fen: NDArray[np.int64]) -> Any:
    """Exact ``decimal128(18, 2)`` yuan of int64 fen, in Arrow's kernels (no float, no objects).

    The fen become decimals of scale 0, are viewed as scale 2 (the same
    unscaled integers: fen / 100 yuan) and checked into precision 18; a
    value that does not fit is an error, never a truncation.
    """
    whole = pa.array(np.asarray(fen, dtype=np.int64), type=pa.int64()).cast(pa.decimal128(19, 0))
    return whole.view(pa.decimal128(19, 2)).cast(pa.decimal128(18, 2))


def _reasons(pa: Any, result: TierResult) -> Any:
    """The ``reasons`` column, joined once per distinct rule pattern (a handful), then taken."""
    bits = np.asarray(result.reason_bits)
    if bits.size == 0:
        return pa.array([], type=pa.string())
    _, first, inverse = np.unique(bits, return_index=True, return_inverse=True)
    texts = [";".join(result.reasons_at(int(i))) for i in first.tolist()]
    return pa.array(texts, type=pa.string()).take(pa.array(inverse.reshape(-1).astype(np.int64)))


def _result_tables(pa: Any, result: TierResult, events: bool) -> tuple[Any, Any]:
    """(results, events or ``None``) of one evaluation as Arrow tables (:func:`result_schema` order)."""
    n = len(result)
    ids = pa.array(result.customer_ids, type=pa.string())
    tiers = result.policy.tier_order
    cols = {
        "customer_id": ids,
        "branch_id": pa.array(result.portfolio.branch_ids, type=pa.string()),
        "as_of": pa.repeat(pa.scalar(str(result.as_of), type=pa.string()), n),
        "aum": _yuan(pa, result.aum_fen),
        "tier": _names(pa, result.tier_codes, tiers),
        "status": _names(pa, result.status_codes, STATUSES),
        "months_below": pa.array(np.asarray(result.months_below, dtype=np.int16)),
        "previous_tier": _names(pa, result.previous_tier_codes, tiers),
        "movement": _names(pa, result.movement_codes, MOVEMENTS),
        "churned_tier": _names(pa, result.churned_tier_codes, tiers),
        "history_complete": pa.array(np.asarray(result.history_complete, dtype=np.bool_)),
        "reasons": _reasons(pa, result),
        "aum_fen": pa.array(np.asarray(result.aum_fen, dtype=np.int64)),
    }
    table = pa.Table.from_arrays([cols[c] for c in RESULT_FIELDS], schema=result_schema())
    if not events:
        return table, None
    ev = result.events
    codes = np.asarray(ev.event_codes, dtype=np.int64)
    actions = [";".join(ev.policy.actions(e)) for e in EVENT_TYPES]
    event_table = pa.Table.from_arrays(
        [
            ids.take(pa.array(np.asarray(ev.customer_index, dtype=np.int64))),
            pa.array(list(EVENT_TYPES), type=pa.string()).take(pa.array(codes)),
            pa.array(actions, type=pa.string()).take(pa.array(codes)),
        ],
        schema=event_schema(),
    )
    return table, event_table


def _evaluate_portfolio_tables(
    portfolio: Any, plan: CompiledPolicy | PolicySet, month: Month, events: bool
) -> tuple[Any, Any]:
    pa = import_optional("pyarrow", extra="dask")
    return _result_tables(pa, _evaluate_portfolio(portfolio, plan, as_of=month), events)


def _empty(events: bool) -> tuple[Any, Any]:
    return result_schema().empty_table(), (event_schema().empty_table() if events else None)


@overload
def partition_results(
    table: Any,
    policy: Policy | CompiledPolicy | PolicySet | None,
    *,
    as_of: MonthLike,
    name: str = ...,
    events: Literal[False] = ...,
) -> Any: ...


@overload
def partition_results(
    table: Any,
    policy: Policy | CompiledPolicy | PolicySet | None,
    *,
    as_of: MonthLike,
    name: str = ...,
    events: Literal[True],
) -> tuple[Any, Any]: ...


def partition_results(
    table: Any,
    policy: Policy | CompiledPolicy | PolicySet | None,
    *,
    as_of: MonthLike,
    name: str = "partition",
    events: bool = False,
) -> Any:
    """Evaluate one partition of balances rows (whole customers) into a result table.

    Parameters
    ----------
    table
        A :class:`pyarrow.Table` or record batch (or a pandas frame) with
        the balances file's columns and every month of each of its
        customers.  It is read by :func:`custvalue.io.read_table` (zero
        copy for Arrow data): the checks and errors of a balances file,
        with ``name`` as the file and the 1-based row as the line.
    policy
        The policy (compile it once and pass the compiled policy when
        calling this for many partitions).
    as_of
        The month evaluated (the same for every partition).
    name
        How errors name the partition (in place of a file name).
    events
        Also return the events (:func:`event_schema`).

    Returns
    -------
    pyarrow.Table or (pyarrow.Table, pyarrow.Table)
        :func:`result_schema` columns, one row per customer in order of
        first appearance in ``table``; with ``events=True`` also the events,
        one row per (customer, event) as :func:`custvalue.tiering.write_events`
        writes them.

    Examples
    --------
    >>> import pyarrow.parquet as pq, pathlib, tempfile
    >>> from custvalue import write_balances
    >>> from custvalue.synthetic import generate
    >>> f = write_balances(generate(50, seed=1), pathlib.Path(tempfile.mkdtemp()) / "b.parquet")
    >>> r = partition_results(pq.read_table(f), None, as_of="2026-10")
    >>> r.num_rows, r.column_names[:4]
    (50, ['customer_id', 'branch_id', 'as_of', 'aum'])
    >>> r, ev = partition_results(pq.read_table(f), None, as_of="2026-10", events=True)
    >>> ev.column_names
    ['customer_id', 'event', 'actions']
    """
    pa = import_optional("pyarrow", extra="dask")
    month = Month.coerce(as_of)
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    if len(table) == 0:
        out = _empty(events)
    else:
        portfolio = read_table(table, source=name)
        out = _evaluate_portfolio_tables(portfolio, _plan(policy), month, events)
    return out if events else out[0]


# --------------------------------------------------------------------------- pandas side
def _dtype(pd: Any, pa: Any, t: Any) -> Any:
    """The pandas dtype of an Arrow type in a partition: Arrow-backed text and decimals."""
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return pd.StringDtype("pyarrow")
    if pa.types.is_decimal(t):
        return pd.ArrowDtype(t)
    return None  # integers and booleans without nulls: numpy, zero copy


def _to_pandas(table: Any) -> Any:
    pd = import_optional("pandas", extra="dask")
    pa = import_optional("pyarrow", extra="dask")
    return table.to_pandas(types_mapper=lambda t: _dtype(pd, pa, t))


def _meta() -> Any:
    return _to_pandas(result_schema().empty_table())


def _event_meta() -> Any:
    return _to_pandas(event_schema().empty_table())


def _frame_tables(
    df: Any, plan: CompiledPolicy | PolicySet, month: Month, number: int | None, events: bool
) -> tuple[Any, Any]:
    if len(df) == 0:
        return _empty(events)
    pa = import_optional("pyarrow", extra="dask")
    cols = [c for c in df.columns if c != PARTITION_COLUMN]
    name = "Dask partition" + (f" {number}" if number is not None else "")
    try:
        table = pa.Table.from_pandas(df[cols], preserve_index=False)  # zero copy for Arrow-backed columns
    except (pa.ArrowException, TypeError, ValueError):
        table = None
    if table is None:  # the reader converts column by column and names what it cannot convert
        try:
            read_table(df[cols], source=name)
        except PortfolioError as exc:
            raise PortfolioError(
                exc.message,
                file=name,
                line=exc.line,
                column=exc.column,
                customer_id=exc.customer_id,
                month=exc.month,
            ) from None
        table = pa.Table.from_pandas(df[cols], preserve_index=False)
    return _evaluate_portfolio_tables(read_table(table, source=name), plan, month, events)


def _file_tables(path: str, plan: CompiledPolicy | PolicySet, month: Month, events: bool) -> tuple[Any, Any]:
    pq = import_optional("pyarrow.parquet", extra="dask")
    if pq.ParquetFile(path).metadata.num_rows == 0:
        return _empty(events)
    return _evaluate_portfolio_tables(read_balances(path, format="parquet"), plan, month, events)


def _evaluate_pandas(
    df: Any, plan: CompiledPolicy | PolicySet, month: Month, partition_info: Mapping[str, Any] | None = None
) -> Any:
    number = partition_info.get("number") if partition_info else None
    return _to_pandas(_frame_tables(df, plan, month, number, False)[0])


class _EvaluateFile:
    """The ``from_map`` task of one Parquet file by customer (picklable: a plan and a month)."""

    def __init__(self, plan: CompiledPolicy | PolicySet, month: Month) -> None:
        self.plan, self.month = plan, month

    def __call__(self, path: str) -> Any:
        return _to_pandas(_file_tables(path, self.plan, self.month, False)[0])


def _both_pandas(df: Any, plan: CompiledPolicy | PolicySet, month: Month, number: int) -> tuple[Any, Any]:
    res, ev = _frame_tables(df, plan, month, number, True)
    return _to_pandas(res), _to_pandas(ev)


def _both_file(path: str, plan: CompiledPolicy | PolicySet, month: Month) -> tuple[Any, Any]:
    res, ev = _file_tables(path, plan, month, True)
    return _to_pandas(res), _to_pandas(ev)


def _ids(series: Any, n: int) -> Any:
    pd = import_optional("pandas", extra="dask")
    pa = import_optional("pyarrow", extra="dask")
    arr = pa.array(series, from_pandas=True)  # zero copy for string[pyarrow]
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.string())
    return pd.Series(customer_partitions(arr, n), index=series.index, name=PARTITION_COLUMN)


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


def _is_paths(data: Any) -> bool:
    return isinstance(data, str | os.PathLike) or (
        isinstance(data, list | tuple) and all(isinstance(x, str | os.PathLike) for x in data)
    )


def _local_files(data: Any) -> list[str] | None:
    """The Parquet files of local paths, globs and flat directories (as Dask lists them), else ``None``."""
    out: list[str] = []
    for item in [data] if isinstance(data, str | os.PathLike) else list(data):
        s = os.fspath(item)
        if "://" in s:
            return None
        p = Path(s)
        if p.is_dir():
            entries = sorted(p.iterdir())
            if any(e.is_dir() for e in entries):
                return None  # nested (hive) layouts: Dask's reader knows them
            out += [str(e) for e in entries if not e.name.startswith(("_", "."))]
        elif glob.has_magic(s):
            out += sorted(glob.glob(s))
        else:
            out.append(s)
    return out or None


def _source(data: Any, by_customer: bool, npartitions: int | None) -> tuple[list[str] | None, Any]:
    """(local files read one partition each, or ``None`` and the dataframe to evaluate)."""
    dd = import_optional("dask.dataframe", extra="dask", feature="custvalue.dask")
    if _is_paths(data):
        if by_customer:
            files = _local_files(data)
            if files is not None:
                return files, None
        paths = [os.fspath(x) for x in data] if isinstance(data, list | tuple) else os.fspath(data)
        ddf = dd.read_parquet(paths, split_row_groups=False)  # a file is whole customers
    else:
        ddf = data
    if not by_customer:
        ddf = repartition_by_customer(ddf, npartitions)
    return None, ddf


def evaluate(
    data: Any,
    policy: Policy | CompiledPolicy | PolicySet | None = None,
    *,
    as_of: MonthLike,
    by_customer: bool = False,
    npartitions: int | None = None,
    events: bool = False,
) -> Any:
    """Evaluate a policy over a Dask dataframe of balances rows (or Parquet files); lazily.

    Parameters
    ----------
    data
        A :class:`dask.dataframe.DataFrame` with the balances file's columns,
        or a path / glob / directory / list of Parquet balances files.
    policy
        The policy (the default policy when omitted); compiled once, here.
    as_of
        The month evaluated.
    by_customer
        ``True`` when every customer's rows already are in one partition
        (files written per customer range or hash: each file is then one
        partition, read by :func:`~custvalue.read_balances` itself);
        otherwise the rows are shuffled first
        (:func:`repartition_by_customer`).
    npartitions
        Partitions of the shuffle (default: as many as ``data`` has).
    events
        Also return the tier events: ``(results, events)``, two Dask
        dataframes computed from the **same** partition tasks -- compute or
        write them together (``dask.compute(results, events)``, or both
        ``to_parquet(..., compute=False)`` then one ``dask.compute``) and
        each partition is evaluated once.

    Returns
    -------
    dask.dataframe.DataFrame, or a pair of them with ``events=True``
        One row per customer with :data:`RESULT_FIELDS` (meta declared:
        :func:`result_schema` as Arrow-backed pandas dtypes: text
        ``string[pyarrow]``, ``aum`` ``decimal128(18, 2)[pyarrow]``,
        ``aum_fen`` int64); ``compute()`` it, write it with ``to_parquet``,
        or reduce it with :func:`tier_distribution` and
        :func:`attribution_totals`.  Sorted by ``customer_id`` it equals the
        single-machine result.  The events have :data:`EVENT_FIELDS`, the
        rows of :func:`custvalue.tiering.write_events` (each customer's
        events together, in event order).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import dask
    >>> import dask.dataframe as dd
    >>> import pyarrow as pa
    >>> from custvalue import evaluate as evaluate_here, read_balances, write_balances
    >>> from custvalue.synthetic import generate
    >>> f = write_balances(generate(300, seed=8), pathlib.Path(tempfile.mkdtemp()) / "b.parquet")
    >>> ddf = dd.read_parquet(f).repartition(npartitions=3)   # cuts customers: shuffled below
    >>> with dask.config.set(scheduler="synchronous"):
    ...     got = evaluate(ddf, as_of="2026-10").compute()
    >>> str(got["aum"].dtype), str(got["aum_fen"].dtype)
    ('decimal128(18, 2)[pyarrow]', 'int64')
    >>> here = evaluate_here(read_balances(f), as_of="2026-10").to_arrow()
    >>> got = got.sort_values("customer_id")
    >>> got = pa.Table.from_pandas(got, schema=result_schema(), preserve_index=False)
    >>> got.drop_columns("aum_fen").equals(here.sort_by("customer_id"))
    True
    """
    month = Month.coerce(as_of)
    plan = _plan(policy)
    files, ddf = _source(data, by_customer, npartitions)
    if not events:
        if files is not None:
            dd = import_optional("dask.dataframe", extra="dask")
            return dd.from_map(
                _EvaluateFile(plan, month), files, meta=_meta(), label="custvalue-evaluate-file"
            )
        return ddf.map_partitions(_evaluate_pandas, plan, month, meta=_meta(), enforce_metadata=False)
    return _evaluate_with_events(files, ddf, plan, month)


def _evaluate_with_events(
    files: list[str] | None, ddf: Any, plan: CompiledPolicy | PolicySet, month: Month
) -> tuple[Any, Any]:
    dask = import_optional("dask", extra="dask")
    dd = import_optional("dask.dataframe", extra="dask")
    shipped = dask.delayed(plan, pure=True)
    if files is not None:
        both = [dask.delayed(_both_file, pure=True)(f, shipped, month) for f in files]
    else:
        both = [
            dask.delayed(_both_pandas, pure=True)(part, shipped, month, k)
            for k, part in enumerate(ddf.to_delayed())
        ]
    pick = dask.delayed(operator.getitem, pure=True)
    results = dd.from_delayed([pick(b, 0) for b in both], meta=_meta(), verify_meta=False)
    events = dd.from_delayed([pick(b, 1) for b in both], meta=_event_meta(), verify_meta=False)
    return results, events


def events(
    data: Any,
    policy: Policy | CompiledPolicy | PolicySet | None = None,
    *,
    as_of: MonthLike,
    by_customer: bool = False,
    npartitions: int | None = None,
) -> Any:
    """The tier events of :func:`evaluate` alone, as a Dask dataframe (see ``evaluate(..., events=True)``).

    Returns
    -------
    dask.dataframe.DataFrame
        :data:`EVENT_FIELDS` (``customer_id``, ``event``, ``actions``;
        ``string[pyarrow]``): the rows :func:`custvalue.tiering.write_events`
        writes for the single-machine run.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import dask
    >>> from custvalue import evaluate as evaluate_here, write_balances
    >>> from custvalue.synthetic import generate
    >>> p = generate(300, seed=8)
    >>> f = write_balances(p, pathlib.Path(tempfile.mkdtemp()) / "b.parquet")
    >>> with dask.config.set(scheduler="synchronous"):
    ...     got = events(f, as_of="2026-10", by_customer=True).compute()
    >>> len(got) == len(evaluate_here(p, as_of="2026-10").events)
    True
    """
    return evaluate(data, policy, as_of=as_of, by_customer=by_customer, npartitions=npartitions, events=True)[
        1
    ]


# --------------------------------------------------------------------------- reports
_Cells = dict[tuple[str, str], tuple[int, int]]


def _distribution_part(df: Any) -> tuple[_Cells, set[str]]:
    """((branch, tier) -> (customers, AUM fen) of the customers with a tier, every branch seen)."""
    pd = import_optional("pandas", extra="dask")
    seen = {str(b) for b in pd.unique(df["branch_id"])}
    sub = df[df["tier"] != ""]
    if not len(sub):
        return {}, seen
    keys = pd.MultiIndex.from_arrays([sub["branch_id"], sub["tier"]])
    codes, uniq = pd.factorize(keys)
    codes = np.asarray(codes, dtype=np.intp)
    aum = np.asarray(sub["aum_fen"], dtype=np.int64)
    counts = np.bincount(codes, minlength=len(uniq))
    sums = exact_group_sums(codes, aum, len(uniq), what="AUM of a branch and tier")
    cells = {
        (str(b), str(t)): (int(c), int(s))
        for (b, t), c, s in zip(uniq.tolist(), counts.tolist(), sums.tolist(), strict=True)
    }
    return cells, seen


def _add_distributions(parts: Iterable[tuple[_Cells, set[str]]]) -> tuple[_Cells, set[str]]:
    total: dict[tuple[str, str], list[int]] = {}
    branches: set[str] = set()
    for cells, seen in parts:
        branches |= seen
        for key, (c, a) in cells.items():
            got = total.setdefault(key, [0, 0])
            got[0] += c
            got[1] += a
    return {k: (v[0], v[1]) for k, v in total.items()}, branches


def share_bp(part: int, whole: int) -> int | None:
    """``part / whole`` in basis points rounded half-to-even, exactly; ``None`` unless ``whole > 0``.

    The rounding of :func:`custvalue.analytics.ratio_bp` (the share columns
    of the in-memory reports), on Python integers of any size.

    >>> share_bp(1, 3), share_bp(1, 20_000), share_bp(3, 20_000), share_bp(5, 0)
    (3333, 0, 2, None)
    """
    if whole <= 0:
        return None
    q, r = divmod(part * 10_000, whole)
    return q + (1 if 2 * r > whole or (2 * r == whole and q % 2) else 0)


def tier_distribution(
    results: Any,
    policy: Policy | CompiledPolicy | None = None,
    *,
    branches: Iterable[str] | None = None,
) -> Any:
    """Customers, AUM (fen) and shares per branch × tier, reduced exactly over the partitions.

    The same rows and numbers as :func:`custvalue.analytics.tier_distribution`
    on the single-machine result: every branch of the results (sorted;
    ``branches`` adds ids with no customers) times every tier of ``policy``
    in policy order; customers without a tier are not counted.  Each
    partition is reduced to counts and exact sums; the sums are added as
    Python integers (never a wrapped int64); the shares are computed from
    the reduced totals (:func:`share_bp`), never averaged over partitions.

    Returns
    -------
    pandas.DataFrame
        :data:`DISTRIBUTION_COLUMNS`: ``branch_id``, ``tier``, ``customers``
        (int64), ``aum`` (Python ``int`` fen, object dtype: a bank's total
        may pass int64), ``customer_share_bp`` and ``aum_share_bp`` (of the
        branch's customers and AUM, half-to-even basis points; nullable
        ``Int64``, ``<NA>`` for a branch with no customers or no AUM, as the
        in-memory report's nulls).
    """
    dask = import_optional("dask", extra="dask")
    pd = import_optional("pandas", extra="dask")
    parts = [dask.delayed(_distribution_part)(p) for p in results.to_delayed()]
    merged, seen = dask.delayed(_add_distributions)(parts).compute()
    pol = policy.policy if isinstance(policy, CompiledPolicy) else (policy or default_policy())
    tiers = list(pol.tier_order)
    ids = sorted(seen | {str(b) for b in branches or ()})
    rows = [(b, t, *merged.get((b, t), (0, 0))) for b in ids for t in tiers]
    branch_customers: dict[str, int] = {}
    branch_aum: dict[str, int] = {}
    for b, _, c, a in rows:
        branch_customers[b] = branch_customers.get(b, 0) + c
        branch_aum[b] = branch_aum.get(b, 0) + a
    df = pd.DataFrame(rows, columns=["branch_id", "tier", "customers", "aum"])
    df["customers"] = df["customers"].astype("int64")
    df["aum"] = pd.Series([a for *_, a in rows], dtype=object)
    df["customer_share_bp"] = pd.array(
        [share_bp(c, branch_customers[b]) for b, _, c, _ in rows], dtype="Int64"
    )
    df["aum_share_bp"] = pd.array([share_bp(a, branch_aum[b]) for b, _, _, a in rows], dtype="Int64")
    return df


def _attribution_part(df: Any, book: AllocationBook, as_of: _dt.date, amount: str) -> tuple[Any, ...]:
    ids = np.asarray(df["customer_id"].to_numpy(dtype=object), dtype=str)
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
