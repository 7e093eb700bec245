"""Portfolio snapshots: a wide Arrow IPC (Feather v2) file that is memory-mapped when read.

A snapshot holds a :class:`~custvalue.Portfolio` as it is in memory, so that a
notebook re-opens millions of customers without parsing anything.  The file
is a plain, uncompressed Arrow IPC file (Feather v2) with **one record batch**
and these columns, in this order:

* ``customer_id`` (``string``), ``branch_id`` (``dictionary<int32, string>``),
  ``household_id`` (``string``, only when the portfolio has household ids);
* ``history_start`` (``int16``) and ``opened`` (``date32``, only when the
  portfolio has opening dates; a missing date is null);
* one column per field and month, named ``field@YYYY-MM``, field by field and
  months oldest first: ``deposits@2025-09``, ..., ``deposits@2026-10``,
  ``wealth@2025-09``, ...  Money columns are ``int64`` **fen**, card levels
  ``int8`` codes.

The schema metadata names the format (``custvalue.format =
custvalue.portfolio``, ``custvalue.format_version``), the month axis
(``custvalue.months_start``, ``custvalue.months_length``), the fields in order
(``custvalue.fields``) and the custvalue version that wrote it.  Any Arrow
reader opens it (``pyarrow.feather.read_table``, ``polars.read_ipc``, ...).

Reading maps the file (``pyarrow.memory_map``): a field's month columns lie
one after the other in the file, so together they *are* the field's
month-major ``(n, T)`` array, and the portfolio's arrays are read-only views
of the mapped file, without a copy.  Columns laid out otherwise (a file
rewritten by another tool: several record batches, compression, padding) are
copied once.  The mapping lives as long as the arrays do; a file must not be
changed in place meanwhile (replace it, as :func:`write_snapshot` does).

Reading validates what a portfolio guarantees, in one pass over each column
(``x.view(np.uint64).max() <= bound`` for amounts): amounts in
``0..MAX_AMOUNT`` fen, card codes in ``0..4``, zero cells before each
customer's ``history_start``, non-empty and unique customer ids.  A file that
is not a snapshot, is truncated, or breaks a guarantee is an error naming the
file (and the column, customer and month where one is to blame).

The module is generic over the monthly fields (the portfolio passes their
names, dtypes and bounds); it also holds the fast conversions between numpy
``str_`` arrays and Arrow string arrays used by the file readers and writers.
"""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final

import attrs
import numpy as np
from numpy.typing import NDArray

from ._arrays import readonly
from ._atomic import atomic_write
from ._errors import InputError
from ._optional import import_optional
from .months import Month, MonthRange

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "SUFFIXES",
    "Snapshot",
    "is_snapshot_path",
    "month_column",
    "read_snapshot",
    "to_arrow_strings",
    "to_numpy_strings",
    "write_snapshot",
]

#: The format name in the schema metadata.
FORMAT_NAME: Final = "custvalue.portfolio"
#: The version of the layout this module writes (and the newest it reads).
FORMAT_VERSION: Final = 1
#: File name suffixes of snapshots.
SUFFIXES: Final = (".arrow", ".feather")
_ID_COLUMNS: Final = ("customer_id", "branch_id", "household_id")


def is_snapshot_path(path: str | os.PathLike[str]) -> bool:
    """Whether the file name says snapshot (``.arrow`` or ``.feather``)."""
    return Path(path).suffix.lower() in SUFFIXES


def month_column(field: str, month: Month) -> str:
    """The snapshot column of one field and month: ``deposits@2026-10``."""
    return f"{field}@{month}"


def _version() -> str:
    try:
        return importlib.metadata.version("custvalue")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - not installed
        return "unknown"


@attrs.frozen(eq=False)
class Snapshot:
    """The validated content of a snapshot file (read-only arrays)."""

    months: MonthRange
    customer_ids: NDArray[np.str_]
    branch_ids: NDArray[np.str_]
    household_ids: NDArray[np.str_] | None
    history_start: NDArray[np.int16]
    opened: NDArray[np.datetime64] | None
    monthly: dict[str, NDArray[Any]]
    #: Fields whose array is a view of the mapped file (the others were copied).
    mapped: frozenset[str]
    #: The custvalue version that wrote the file.
    written_by: str


# ------------------------------------------------------------------ strings
def to_arrow_strings(pa: Any, values: NDArray[np.str_]) -> Any:
    """A numpy ``str_`` array as an Arrow ``string`` array.

    ASCII text is converted with numpy operations on the fixed-width code
    units (no Python objects); other text through pyarrow's own conversion.
    """
    n = int(values.shape[0])
    width = values.dtype.itemsize // 4
    if n == 0 or width == 0:
        return pa.array([""] * n, type=pa.string())
    units = np.ascontiguousarray(values).view(np.uint32).reshape(n, width)
    if int(units.max()) >= 128:
        return pa.array(values, type=pa.string())
    lengths = np.strings.str_len(values).astype(np.int64)
    narrow = units.astype(np.uint8)
    if bool(np.all(lengths == width)):
        data = narrow.reshape(-1)
    else:
        data = narrow[np.arange(width)[None, :] < lengths[:, None]]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if int(offsets[-1]) < 2**31:
        return pa.Array.from_buffers(
            pa.string(), n, [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)]
        )
    return pa.Array.from_buffers(pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def to_numpy_strings(pa: Any, arr: Any) -> NDArray[np.str_]:
    """An Arrow ``string``/``large_string`` array without nulls as a numpy ``str_`` array.

    ASCII text becomes the fixed-width array straight from the Arrow buffers
    (no Python objects); other text goes through Python strings.  A NUL
    character would vanish at the end of a numpy string, so it is refused
    (:class:`ValueError`).
    """
    return _decode(pa, arr).values


@attrs.frozen(eq=False)
class _Text:
    values: NDArray[np.str_]
    #: The shortest cell, in bytes.
    shortest: int
    #: ASCII text: the cells as an ``(n, width)`` byte matrix, NUL-padded.
    matrix: NDArray[np.uint8] | None


def _decode(pa: Any, arr: Any) -> _Text:
    n = len(arr)
    if n == 0:
        return _Text(np.zeros(0, dtype="U1"), 0, None)
    if pa.types.is_large_string(arr.type):
        off_dtype: Any = np.int64
    elif pa.types.is_string(arr.type):
        off_dtype = np.int32
    else:
        raise TypeError(f"not a string array: {arr.type}")
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=off_dtype)[arr.offset : arr.offset + n + 1].astype(np.int64)
    lengths = np.diff(offsets)
    first, last = int(offsets[0]), int(offsets[-1])
    width, shortest = int(lengths.max()), int(lengths.min())
    if data_buf is None or width == 0:
        return _Text(np.full(n, "", dtype="U1"), 0, None)
    data = np.frombuffer(data_buf, dtype=np.uint8)[first:last]
    if int(data.min()) == 0:
        raise ValueError("NUL character in a text cell")
    if int(data.max()) >= 128:
        decoded: NDArray[np.str_] = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object).astype(str)
        return _Text(decoded, shortest, None)
    if shortest == width:
        matrix = data.reshape(n, width)
    else:
        matrix = np.zeros((n, width), dtype=np.uint8)
        matrix[np.arange(width)[None, :] < lengths[:, None]] = data
    values: NDArray[np.str_] = matrix.astype(np.uint32).view(f"<U{width}").reshape(n)
    return _Text(values, shortest, matrix)


def _strictly_increasing(text: _Text) -> bool:
    """Whether the strings are in strictly increasing order (so all different)."""
    values, matrix = text.values, text.matrix
    if values.shape[0] < 2:
        return True
    if matrix is None or matrix.shape[1] > 16:
        return bool(np.all(values[1:] > values[:-1]))
    # ASCII without NUL: byte order is string order; compare as two big-endian words
    n, width = matrix.shape
    keys = np.zeros((n, 16), dtype=np.uint8)
    keys[:, :width] = matrix
    words = keys.view(">u8")
    hi, lo = words[:, 0], words[:, 1]
    up = hi[1:] > hi[:-1]
    return bool(np.all(up | ((hi[1:] == hi[:-1]) & (lo[1:] > lo[:-1]))))


# -------------------------------------------------------------------- write
def write_snapshot(
    path: str | os.PathLike[str],
    *,
    months: MonthRange,
    customer_ids: NDArray[np.str_],
    branch_ids: NDArray[np.str_],
    household_ids: NDArray[np.str_] | None,
    history_start: NDArray[np.int16],
    opened: NDArray[np.datetime64] | None,
    monthly: Mapping[str, NDArray[Any]],
) -> Path:
    """Write a snapshot atomically (a temporary file renamed into place); returns the path.

    ``monthly`` maps each field to its ``(n, T)`` array, in file order.  The
    arrays are written without a copy when each month's values are
    contiguous (the portfolio's month-major layout).
    """
    pa = import_optional("pyarrow", extra="parquet", feature="portfolio snapshots")
    n = int(customer_ids.shape[0])
    fields: list[Any] = []
    arrays: list[Any] = []

    def add(name: str, arr: Any) -> None:
        fields.append(pa.field(name, arr.type, nullable=arr.null_count > 0))
        arrays.append(arr)

    add("customer_id", to_arrow_strings(pa, customer_ids))
    add("branch_id", _dictionary_strings(pa, branch_ids))
    if household_ids is not None:
        add("household_id", to_arrow_strings(pa, household_ids))
    add("history_start", pa.array(np.ascontiguousarray(history_start, dtype=np.int16)))
    if opened is not None:
        add("opened", _dates(pa, opened, str(path)))
    for field, values in monthly.items():
        if values.shape != (n, months.length):
            raise ValueError(f"{field} has shape {values.shape}, expected {(n, months.length)}")
        for j, month in enumerate(months):
            add(month_column(field, month), pa.array(np.ascontiguousarray(values[:, j])))
    metadata = {
        "custvalue.format": FORMAT_NAME,
        "custvalue.format_version": str(FORMAT_VERSION),
        "custvalue.months_start": str(months.start),
        "custvalue.months_length": str(months.length),
        "custvalue.fields": ",".join(monthly),
        "custvalue.version": _version(),
    }
    schema = pa.schema(fields, metadata=metadata)
    batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
    options = pa.ipc.IpcWriteOptions(compression=None)

    def write(tmp: Path) -> None:
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, schema, options=options) as writer:
            writer.write_batch(batch)

    return atomic_write(path, write)


def _dictionary_strings(pa: Any, values: NDArray[np.str_]) -> Any:
    encoded = to_arrow_strings(pa, values).dictionary_encode()
    if not pa.types.is_int32(encoded.type.index_type):  # pragma: no cover - pyarrow's default
        encoded = encoded.cast(pa.dictionary(pa.int32(), encoded.type.value_type))
    return encoded


def _dates(pa: Any, opened: NDArray[np.datetime64], source: str) -> Any:
    days = np.asarray(opened, dtype="datetime64[D]").view(np.int64)
    missing = days == np.iinfo(np.int64).min  # NaT
    present = days[~missing]
    if present.size and (int(present.min()) < -(2**31) or int(present.max()) >= 2**31):
        raise InputError("an opening date is outside the date32 range", file=source, column="opened")
    values = np.where(missing, 0, days).astype(np.int32)
    mask = pa.py_buffer(np.packbits(~missing, bitorder="little")) if missing.any() else None
    return pa.Array.from_buffers(pa.date32(), days.shape[0], [mask, pa.py_buffer(values)])


# --------------------------------------------------------------------- read
class _Reader:
    """One snapshot file being read: its name for errors and the mapped buffer."""

    def __init__(self, pa: Any, path: Path, error: type[InputError]) -> None:
        self.pa, self.source, self.error = pa, str(path), error
        try:
            mapped = pa.memory_map(self.source, "r")
            self.whole = mapped.read_buffer(mapped.size())
        except (OSError, pa.ArrowException) as exc:
            raise error(f"cannot open snapshot: {exc}", file=self.source) from None
        self.base = np.frombuffer(memoryview(self.whole), dtype=np.uint8)

    def fail(self, message: str, **where: Any) -> InputError:
        return self.error(message, file=self.source, **where)


def read_snapshot(
    path: str | os.PathLike[str],
    *,
    fields: Mapping[str, tuple[Any, int]],
    error: type[InputError] = InputError,
) -> Snapshot:
    """Read and validate a snapshot (see the module notes).

    ``fields`` maps each monthly field, in file order, to its dtype and its
    largest valid value (the smallest is 0).  Errors are ``error`` instances
    naming the file.  The text columns and the monthly columns are checked
    in two threads (numpy and Arrow release the GIL); when both are bad, the
    text column's error is the one raised.
    """
    pa = import_optional("pyarrow", extra="parquet", feature="portfolio snapshots")
    r = _Reader(pa, Path(path), error)
    try:
        ipc = pa.ipc.open_file(r.whole)
        schema = ipc.schema
        names = list(schema.names)
    except (OSError, pa.ArrowException, UnicodeDecodeError) as exc:
        raise r.fail(f"not an Arrow IPC (Feather v2) file, or truncated: {exc}") from None
    months = _check_metadata(r, schema, fields)
    wanted = ["customer_id", "branch_id"]
    wanted += [c for c in ("household_id",) if c in names]
    wanted.append("history_start")
    wanted += [c for c in ("opened",) if c in names]
    for field in fields:
        wanted += [month_column(field, m) for m in months]
    if names != wanted:
        missing = [c for c in wanted if c not in names]
        extra = [c for c in names if c not in wanted]
        what = f"missing column {missing[0]!r}" if missing else f"unexpected column {extra[0]!r}"
        raise r.fail(f"not a custvalue snapshot: {what}" if missing or extra else "columns out of order")
    try:
        if ipc.num_record_batches == 1:
            batch = ipc.get_batch(0)
            batch.validate()
            columns = {name: batch.column(k) for k, name in enumerate(names)}
            n = batch.num_rows
        else:  # several batches (another tool rewrote the file): one copy per column
            table = ipc.read_all()
            table.validate()
            columns = {name: table.column(k).combine_chunks() for k, name in enumerate(names)}
            n = table.num_rows
    except (OSError, pa.ArrowException, UnicodeDecodeError) as exc:
        raise r.fail(f"damaged snapshot: {exc}") from None

    def texts() -> tuple[NDArray[np.str_], NDArray[np.str_], NDArray[np.str_] | None]:
        text = _id_text(r, columns["customer_id"], "customer_id")
        ids = readonly(text.values)
        branches = _id_column(r, columns["branch_id"], "branch_id", n, ids)
        households = None
        if "household_id" in columns:
            households = _id_column(r, columns["household_id"], "household_id", n, ids)
        _check_unique(r, text)
        return ids, branches, households

    history_start = _history_start(r, columns["history_start"])
    late = _Late(history_start)

    def monthly(field: str) -> tuple[NDArray[Any], bool, bool, bool]:
        dtype, bound = fields[field]
        cols = [columns[month_column(field, m)] for m in months]
        arr, is_view = _monthly(r, cols, np.dtype(dtype), n, field, months)
        return arr, is_view, _within(arr, bound), late.zero_before(arr)

    with ThreadPoolExecutor(2) as pool:  # the text and the monthly columns in parallel
        text_job = pool.submit(texts)
        field_jobs = {field: pool.submit(monthly, field) for field in fields}
        customer_ids, branch_ids, households = text_job.result()
        arrays = {field: job.result() for field, job in field_jobs.items()}
    _check_history_start(r, history_start, months, customer_ids)
    opened = _opened(r, columns["opened"]) if "opened" in columns else None
    for field, (arr, _, within, zero_before) in arrays.items():
        if not within:
            _locate_bounds(r, arr, fields[field][1], field, months, customer_ids)
        if not zero_before:
            late.locate(r, arr, field, months, customer_ids)
    return Snapshot(
        months=months,
        customer_ids=customer_ids,
        branch_ids=branch_ids,
        household_ids=households,
        history_start=history_start,
        opened=opened,
        monthly={field: job[0] for field, job in arrays.items()},
        mapped=frozenset(field for field, job in arrays.items() if job[1]),
        written_by=(schema.metadata or {}).get(b"custvalue.version", b"unknown").decode("utf-8", "replace"),
    )


def _check_metadata(r: _Reader, schema: Any, fields: Mapping[str, Any]) -> MonthRange:
    raw = schema.metadata or {}
    meta = {k.decode("utf-8", "replace"): v.decode("utf-8", "replace") for k, v in raw.items()}
    if meta.get("custvalue.format") != FORMAT_NAME:
        raise r.fail("not a custvalue snapshot: the schema does not name the format custvalue.portfolio")
    try:
        version = int(meta.get("custvalue.format_version", ""))
    except ValueError:
        raise r.fail("damaged snapshot: bad custvalue.format_version") from None
    if version > FORMAT_VERSION or version < 1:
        raise r.fail(
            f"snapshot format version {version} is not supported (this custvalue reads "
            f"1..{FORMAT_VERSION}); upgrade custvalue"
        )
    try:
        start = Month.parse(meta.get("custvalue.months_start", ""))
        months = MonthRange(start, int(meta.get("custvalue.months_length", "")))
    except (InputError, ValueError):
        raise r.fail("damaged snapshot: bad month axis in the metadata") from None
    if meta.get("custvalue.fields") != ",".join(fields):
        raise r.fail(
            f"not a custvalue snapshot of this layout: fields {meta.get('custvalue.fields')!r}, "
            f"expected {','.join(fields)!r}"
        )
    return months


def _id_text(r: _Reader, arr: Any, name: str) -> _Text:
    """A plain string column of ids (no nulls, no empty cell), decoded."""
    pa = r.pa
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        raise r.fail(f"must be a string column, got {arr.type}", column=name)
    if arr.null_count:
        i = int(np.flatnonzero(np.asarray(arr.is_null()))[0])
        raise r.fail(f"missing value in row {i}", column=name)
    text = _checked_text(r, arr, name)
    if len(arr) and text.shortest == 0:
        i = int(np.flatnonzero(text.values == "")[0])
        raise r.fail(f"empty id in row {i}", column=name)
    return text


def _checked_text(r: _Reader, arr: Any, name: str) -> _Text:
    """A plain string column validated in full and decoded; a damaged one is an error naming it."""
    try:
        arr.validate(full=True)
        return _decode(r.pa, arr)
    except r.pa.ArrowException as exc:
        raise r.fail(f"damaged text column: {exc}", column=name) from None
    except ValueError as exc:
        raise r.fail(str(exc), column=name) from None


def _id_column(r: _Reader, arr: Any, name: str, n: int, ids: NDArray[np.str_]) -> NDArray[np.str_]:
    """A (dictionary-encoded or plain) string column of ids as a numpy array; errors name the customer."""
    pa = r.pa
    if arr.null_count:
        i = int(np.flatnonzero(np.asarray(arr.is_null()))[0])
        raise r.fail("missing value", column=name, customer_id=str(ids[i]))
    if not pa.types.is_dictionary(arr.type):
        if arr.null_count == 0 and (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            text = _checked_text(r, arr, name)
            if len(arr) and text.shortest == 0:
                i = int(np.flatnonzero(text.values == "")[0])
                raise r.fail("missing value", column=name, customer_id=str(ids[i]))
            return readonly(text.values)
        raise r.fail(f"must be a string column, got {arr.type}", column=name)
    value_type = arr.type.value_type
    if not (pa.types.is_string(value_type) or pa.types.is_large_string(value_type)):
        raise r.fail(f"must be a string column, got {arr.type}", column=name)
    try:
        arr.validate(full=True)
        values = _decode(pa, arr.dictionary).values
    except pa.ArrowException as exc:
        raise r.fail(f"damaged text column: {exc}", column=name) from None
    except ValueError as exc:
        raise r.fail(str(exc), column=name) from None
    codes = np.asarray(arr.indices.to_numpy(zero_copy_only=False))
    empty = np.flatnonzero(values == "")
    if empty.size:
        used = np.isin(codes, empty)
        if used.any():
            raise r.fail("missing value", column=name, customer_id=str(ids[int(np.argmax(used))]))
    if not values.size:
        return readonly(np.full(n, "", dtype="U1"))
    return readonly(values[codes])


def _check_unique(r: _Reader, text: _Text) -> None:
    if _strictly_increasing(text):  # sorted ids: one pass
        return
    srt = np.sort(text.values)
    d = srt[1:] == srt[:-1]
    if d.any():
        raise r.fail("duplicate customer id", column="customer_id", customer_id=str(srt[int(np.argmax(d))]))


def _history_start(r: _Reader, arr: Any) -> NDArray[np.int16]:
    if not r.pa.types.is_int16(arr.type):
        raise r.fail(f"must be int16, got {arr.type}", column="history_start")
    if arr.null_count:
        raise r.fail("missing value", column="history_start")
    return readonly(np.asarray(arr.to_numpy(zero_copy_only=False)))


def _check_history_start(
    r: _Reader, hs: NDArray[np.int16], months: MonthRange, ids: NDArray[np.str_]
) -> None:
    top = max(months.length, 1)
    if hs.size and (int(hs.min()) < 0 or int(hs.max()) >= top):
        i = int(np.flatnonzero((hs < 0) | (hs >= top))[0])
        raise r.fail(
            f"history_start {int(hs[i])} is outside 0..{months.length - 1}",
            column="history_start",
            customer_id=str(ids[i]),
        )


def _opened(r: _Reader, arr: Any) -> NDArray[np.datetime64]:
    if not r.pa.types.is_date32(arr.type):
        raise r.fail(f"must be date32, got {arr.type}", column="opened")
    days = np.asarray(arr.cast(r.pa.int32()).fill_null(0).to_numpy(zero_copy_only=False)).astype(np.int64)
    out = days.astype("datetime64[D]")
    if arr.null_count:
        out[np.asarray(arr.is_null())] = np.datetime64("NaT")
    return readonly(out)


def _monthly(
    r: _Reader, cols: Sequence[Any], dtype: np.dtype[Any], n: int, field: str, months: MonthRange
) -> tuple[NDArray[Any], bool]:
    """A field's ``(n, T)`` month-major array: a view of the mapped file when its columns are adjacent."""
    pa = r.pa
    t = len(cols)
    expected = pa.from_numpy_dtype(dtype)
    for j, col in enumerate(cols):
        if not col.type.equals(expected):
            raise r.fail(f"must be {expected}, got {col.type}", column=field, month=str(months[j]))
        if col.null_count:
            raise r.fail("missing value", column=month_column(field, months[j]))
    item = dtype.itemsize
    if n and t:
        starts: list[int] = []
        for col in cols:
            buf = col.buffers()[1]
            if buf is None or col.offset or buf.size < n * item:
                break
            starts.append(int(buf.address) - int(r.whole.address))
        spaced = len(starts) == t and all(s - starts[0] == j * n * item for j, s in enumerate(starts))
        if spaced and 0 <= starts[0] and starts[0] + t * n * item <= r.base.shape[0]:
            view = np.ndarray((n, t), dtype=dtype, buffer=r.base, offset=starts[0], strides=(item, n * item))
            return readonly(view), True
    out = np.empty((n, t), dtype=dtype, order="F")
    for j, col in enumerate(cols):
        out[:, j] = np.asarray(col.to_numpy(zero_copy_only=False))
    return readonly(out), False


def _within(arr: NDArray[Any], bound: int) -> bool:
    """Whether every value is in ``0..bound``: one pass (an OR, then a max only if needed)."""
    if not arr.size:
        return True
    flat = arr.T.reshape(-1) if arr.flags.f_contiguous else arr.reshape(-1)
    unsigned = flat.view(np.dtype(f"u{arr.dtype.itemsize}"))  # negative values are huge
    below = 1 << ((bound + 1).bit_length() - 1)  # a power of two <= bound + 1
    if int(np.bitwise_or.reduce(unsigned)) < below:
        return True
    return int(unsigned.max()) <= bound


def _locate_bounds(
    r: _Reader, arr: NDArray[Any], bound: int, field: str, months: MonthRange, ids: NDArray[np.str_]
) -> None:
    bad = (arr < 0) | (arr > bound)
    i, j = (int(x) for x in np.argwhere(bad)[0])
    value = int(arr[i, j])
    if arr.dtype == np.int8:
        message = f"unknown card level code {value}; codes are 0..{bound}"
    elif value < 0:
        message = f"negative balance {value} fen"
    else:
        message = f"amount {value} fen is above the largest supported cell {bound:,} fen (10 trillion yuan)"
    raise r.fail(message, column=field, customer_id=str(ids[i]), month=str(months[j]))


class _Late:
    """Customers whose history starts late, by month: their cells there must be zero."""

    def __init__(self, history_start: NDArray[np.int16]) -> None:
        self.history_start = history_start
        late = np.flatnonzero(history_start > 0)
        starts = history_start[late]
        self.late = late
        # a history_start outside the month axis is reported later; do not index past it here
        self.by_month = [late[starts > j] for j in range(int(starts.max(initial=0)))]

    def zero_before(self, arr: NDArray[Any]) -> bool:
        """Whether every cell before its customer's history start is zero."""
        rows = arr.T  # month j's values are one contiguous row
        return not any(rows[j][who].any() for j, who in enumerate(self.by_month[: arr.shape[1]]))

    def locate(
        self, r: _Reader, arr: NDArray[Any], field: str, months: MonthRange, ids: NDArray[np.str_]
    ) -> None:
        late = self.late
        cells = np.take(arr, late, axis=0)
        before = np.arange(months.length)[None, :] < self.history_start[late][:, None]
        k, j = (int(x) for x in np.argwhere(before & (cells != 0))[0])
        raise r.fail(
            "value before the customer's history start (cells before history_start must be zero: "
            "they are not data)",
            column=field,
            customer_id=str(ids[int(late[k])]),
            month=str(months[j]),
        )
