"""Long rows (one per customer-month) as Arrow arrays, block by block, for the writers.

The portfolio is month-major; the balances file is long, customer by
customer, months oldest first.  A block of customers becomes Arrow arrays
without Python objects: the block's distinct ids are converted once and
gathered (``take``) onto their rows, months and card levels are dictionary
indices, and money is ``decimal128(p, 2)`` from the fen words (:func:`csv_fen` for CSV).
Blocks are built in the calling thread while earlier blocks are encoded in
other threads (:func:`write_pipelined` for one Parquet writer,
:func:`write_ordered` for CSV, whose blocks encode independently): pyarrow's
encoders run without the GIL.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._snapshot import to_arrow_strings
from ..portfolio import CARD_LEVELS, Portfolio
from ._columns import file_columns

__all__ = [
    "arrow_blocks",
    "csv_fen",
    "decimal_fen",
    "lazy_blocks",
    "narrow_decimal",
    "repeated_strings",
    "write_ordered",
    "write_pipelined",
]


def arrow_blocks(
    pa: Any,
    portfolio: Portfolio,
    block: int,
    money: Callable[[NDArray[np.int64]], Any],
    *,
    coded_ids: bool = False,
    coded: dict[str, tuple[NDArray[np.int32], Any]] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[list[Any]]:
    """The file's columns (:func:`~custvalue.io._columns.file_columns` order) for each block of customers.

    ``money(fen)`` makes the Arrow array of one money column of a block.
    With ``coded_ids``, ``customer_id`` is a dictionary array (the block's
    customers, each once, and a code per row), which a Parquet writer
    writes as its dictionary page without hashing the rows.
    """
    for build in lazy_blocks(
        pa, portfolio, block, money, coded_ids=coded_ids, coded=coded, progress=progress
    ):
        yield build()


def lazy_blocks(
    pa: Any,
    portfolio: Portfolio,
    block: int,
    money: Callable[[NDArray[np.int64]], Any],
    *,
    coded_ids: bool = False,
    coded: dict[str, tuple[NDArray[np.int32], Any]] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[Callable[[], list[Any]]]:
    """As :func:`arrow_blocks`, but each block as a function that builds it (in any thread).

    ``coded`` maps an id column to a portfolio-wide dictionary (a code per
    customer and the distinct values): its rows become dictionary arrays.
    ``progress(done, total)`` is called with the customers of the blocks
    taken so far.
    """
    coded = coded or {}
    names = file_columns(portfolio)
    t = portfolio.n_months
    month_dict = pa.array([str(m) for m in portfolio.months], type=pa.string())
    level_dict = pa.array(list(CARD_LEVELS), type=pa.string())
    full_rows: dict[int, tuple[Any, Any]] = {}
    for lo in range(0, portfolio.n_customers, block):
        hi = min(lo + block, portfolio.n_customers)
        nb = hi - lo
        hs = portfolio.history_start[lo:hi]
        valid: NDArray[np.bool_] | None = None
        if int(hs.max(initial=0)) == 0:
            if nb not in full_rows:
                full_rows[nb] = (
                    pa.array(np.repeat(np.arange(nb, dtype=np.int32), t)),
                    pa.array(np.tile(np.arange(t, dtype=np.int16), nb)),
                )
            rows, month_idx = full_rows[nb]
        else:
            valid = (np.arange(t)[None, :] >= hs[:, None]).reshape(-1)
            rows = pa.array(np.repeat(np.arange(nb, dtype=np.int32), t)[valid])
            month_idx = pa.array(np.tile(np.arange(t, dtype=np.int16), nb)[valid])

        def build(
            lo: int = lo, hi: int = hi, rows: Any = rows, month_idx: Any = month_idx, valid: Any = valid
        ) -> list[Any]:
            out: list[Any] = []
            for name in names:
                if name in coded:
                    per_customer, dictionary = coded[name]
                    row_codes = np.repeat(per_customer[lo:hi], t - portfolio.history_start[lo:hi])
                    out.append(pa.DictionaryArray.from_arrays(pa.array(row_codes), dictionary))
                elif name in ("customer_id", "branch_id", "household_id"):
                    values = getattr(portfolio, name.replace("_id", "_ids"))[lo:hi]
                    if coded_ids and name == "customer_id":
                        out.append(pa.DictionaryArray.from_arrays(rows, to_arrow_strings(pa, values)))
                    else:
                        out.append(repeated_strings(pa, values, rows, t - portfolio.history_start[lo:hi]))
                elif name == "month":
                    out.append(pa.DictionaryArray.from_arrays(month_idx, month_dict))
                elif name == "card_level":
                    codes = _long(portfolio.card_level[lo:hi], valid).astype(np.int16)
                    out.append(pa.DictionaryArray.from_arrays(pa.array(codes), level_dict))
                else:
                    out.append(money(_long(getattr(portfolio, name)[lo:hi], valid)))
            return out

        yield build
        if progress is not None:
            progress(hi, portfolio.n_customers)


def repeated_strings(pa: Any, values: NDArray[np.str_], rows: Any, counts: NDArray[np.integer[Any]]) -> Any:
    """``values[k]`` ``counts[k]`` times in a row, as an Arrow ``string`` array (``rows`` are the codes).

    Plain ASCII ids of one width (the usual case) are repeated as a byte
    matrix; others are gathered by Arrow (``take``).
    """
    n = values.shape[0]
    width = values.dtype.itemsize // 4
    total = int(counts.sum())
    if n and width and total * width < 2**31:
        units = np.ascontiguousarray(values).view(np.uint32).reshape(n, width)
        if int(units.max()) < 128 and bool(units[:, -1].all()) and bool(units.all()):
            data = np.repeat(units.astype(np.uint8), counts, axis=0).reshape(-1)
            offsets = np.arange(0, (total + 1) * width, width, dtype=np.int32)
            return pa.Array.from_buffers(
                pa.string(), total, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
            )
    return to_arrow_strings(pa, values).take(rows)


def _long(block: NDArray[Any], valid: NDArray[np.bool_] | None) -> NDArray[Any]:
    """A block's ``(nb, T)`` cells in long order (customer by customer), valid months only."""
    flat = np.ascontiguousarray(block).reshape(-1)
    return flat if valid is None else flat[valid]


def decimal_fen(pa: Any, fen: NDArray[np.int64], precision: int) -> Any:
    """``decimal128(precision, 2)`` yuan from fen, through the buffer (two words per value)."""
    words = np.empty((fen.shape[0], 2), dtype=np.int64)
    words[:, 0] = fen
    words[:, 1] = fen >> 63
    return pa.Array.from_buffers(pa.decimal128(precision, 2), fen.shape[0], [None, pa.py_buffer(words)])


def narrow_decimal(pa: Any, fen: NDArray[np.int64]) -> Any:
    """``decimal64(18, 2)`` yuan straight from the fen buffer (``decimal128`` before pyarrow 18)."""
    if not hasattr(pa, "decimal64"):
        return decimal_fen(pa, fen, 18)
    fen = np.ascontiguousarray(fen, dtype=np.int64)
    return pa.Array.from_buffers(pa.decimal64(18, 2), fen.shape[0], [None, pa.py_buffer(fen)])


def csv_fen(pa: Any, fen: NDArray[np.int64], *, sparse: bool = True) -> Any:
    """A money column for Arrow's CSV writer: a ``decimal64(18, 2)`` (yuan text with two decimals).

    With ``sparse``, a column that is mostly zero (loans, card spend) is given
    as text instead: ``"0.00"`` and the nonzero amounts formatted once each,
    gathered onto the rows, so no zero cell is formatted.  The bytes written
    are the same either way.
    """
    n = fen.shape[0]
    at = np.flatnonzero(fen)
    if not sparse or 2 * at.shape[0] >= n:
        return narrow_decimal(pa, fen)
    texts = narrow_decimal(pa, fen[at]).cast(pa.string())
    _, text_offsets_buf, text_data_buf = texts.buffers()
    text_offsets = np.frombuffer(text_offsets_buf, dtype=np.int32)[: at.shape[0] + 1]
    text_lengths = np.diff(text_offsets)
    lengths = np.full(n, 4, dtype=np.int64)  # "0.00"
    lengths[at] = text_lengths
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if int(offsets[-1]) >= 2**31:
        return narrow_decimal(pa, fen)
    data = np.zeros(int(offsets[-1]) + 8, dtype=np.uint8)
    # every cell is written exactly once, at its own bytes: the zero cells as one 4-byte word each
    cells4 = np.ndarray((data.shape[0] - 3,), dtype="<u4", buffer=data, strides=(1,))
    cells4[offsets[:-1][fen == 0]] = int.from_bytes(b"0.00", "little")
    if at.size:
        first = int(text_offsets[0])
        body = np.frombuffer(text_data_buf, dtype=np.uint8)[first : int(text_offsets[-1])]
        shift = np.repeat(offsets[at] - (text_offsets[:-1] - first), text_lengths)
        data[shift + np.arange(body.shape[0])] = body
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data[: int(offsets[-1])])]
    )


# ------------------------------------------------------------- pipelining
def write_pipelined(blocks: Iterable[Any], write: Callable[[Any], None]) -> None:
    """``write(block)`` for every block, in order, in a writer thread while the next block is built.

    At most one block waits; an exception in either thread stops both and is
    raised here.
    """
    pending: list[Any] = []
    ready = threading.Condition()
    failure: list[BaseException] = []
    done = [False]

    def writer() -> None:
        while True:
            with ready:
                while not pending and not done[0] and not failure:
                    ready.wait()
                if failure or (done[0] and not pending):
                    return
                item = pending.pop(0)
                ready.notify_all()
            try:
                write(item)
            except BaseException as exc:  # handed to the caller
                with ready:
                    failure.append(exc)
                    ready.notify_all()
                return

    thread = threading.Thread(target=writer, name="custvalue-writer", daemon=True)
    thread.start()
    try:
        for item in blocks:
            with ready:
                while pending and not failure:
                    ready.wait()
                if failure:
                    break
                pending.append(item)
                ready.notify_all()
    except BaseException as exc:
        with ready:
            failure.append(exc)
            ready.notify_all()
        thread.join()
        raise
    with ready:
        done[0] = True
        ready.notify_all()
    thread.join()
    if failure:
        raise failure[0]


def write_ordered(
    blocks: Iterable[Any], encode: Callable[[Any], Any], write: Callable[[Any], None], workers: int = 2
) -> None:
    """``write(encode(block))`` for every block, in order, ``encode`` running in ``workers`` threads.

    At most ``workers + 1`` encoded blocks wait; an exception in any thread
    stops the work and is raised here.
    """
    with ThreadPoolExecutor(workers, thread_name_prefix="custvalue-encode") as pool:
        pending: deque[Future[Any]] = deque()
        try:
            for item in blocks:
                pending.append(pool.submit(encode, item))
                while len(pending) > workers:
                    write(pending.popleft().result())
            while pending:
                write(pending.popleft().result())
        except BaseException:
            for job in pending:
                job.cancel()
            raise
