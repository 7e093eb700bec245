"""The fast reading path: Arrow batches straight into the portfolio's month-major arrays.

The exact builder (:func:`~custvalue.io._columns.build_portfolio`) validates
whole long columns and pivots them; it is the reference for every value and
every error message.  This module is the fast path in front of it, used by
the Parquet and the Arrow CSV readers:

* **Text columns** (``customer_id``, ``month``, ``card_level``,
  ``branch_id``, ``household_id``) arrive dictionary-encoded (Parquet
  dictionary pages, Arrow's CSV dictionary converter), chunk by chunk, and
  are unified into one code per row: every distinct value is checked once.
* **The layout** (months, history starts, one position per row in the
  month-major arrays) comes from the customer codes and month ordinals alone,
  without sorting: an occupancy map of the ``n × T`` cells finds duplicate
  rows, gaps and ragged ends.
* **Money** is converted batch by batch (Parquet decimals from their buffer
  words, integers, text through
  :func:`~custvalue.io._fastmoney.parse_plain_yuan` with the exact parsers
  for the cells it refuses) and scattered straight into the ``(n, T)``
  Fortran-order output: the whole long table is never held.

The fast path never reports an error itself.  Anything it does not accept
as plainly valid -- a bad or odd cell, a null, a type it does not read, a
duplicate row, a gap, surrounding blanks in an id (which the exact builder
strips and merges), a span of months too sparse or too long -- raises
:class:`Fallback`, and the reader then runs the exact builder, which gives
the portfolio or the precise error.  So the fast path only changes speed and
memory: it accepts a subset of what the exact builder accepts and builds the
same portfolio from it (``tests/io/test_fast_path.py`` checks both).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from .._arrays import INT64_MAX, physical_memory
from .._errors import InputError
from .._snapshot import to_numpy_strings
from ..money import MoneyError, yuan_to_fen
from ..months import Month
from ..portfolio import MAX_AMOUNT, MAX_MONTHS, MONEY_COLUMNS, Portfolio
from ._arrow import ArrowAmounts
from ._columns import MAX_ID_LENGTH, text_flaw
from ._fastmoney import PLAIN_WIDTH, parse_plain_yuan, parse_yuan_bytes

__all__ = [
    "TEXT_COLUMNS",
    "Compact",
    "Fallback",
    "Layout",
    "Money",
    "MonthMajor",
    "SmallCodes",
    "TextColumn",
    "coded_values",
    "customer_codes",
    "households",
    "id_values",
    "per_customer",
    "prefetched",
]

#: Dense arrays above this size, for rows filling under 1/64 of them, go to the exact builder.
_SPARSE_LIMIT: Final = 2**30
#: Rows per block of the occupancy and card scatters (bounded temporaries).
_BLOCK: Final = 1 << 20
#: The text columns of a balances file (read as dictionaries).
TEXT_COLUMNS: Final = ("customer_id", "branch_id", "household_id", "month", "card_level")


class Fallback(Exception):
    """The fast path cannot decide; the exact builder reads the file."""


def _is_text_type(pa: Any, t: Any) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


class TextColumn:
    """One text column of the file as dictionary-encoded Arrow chunks, unified on demand."""

    def __init__(self, pa: Any, pc: Any) -> None:
        self._pa, self._pc = pa, pc
        self.chunks: list[Any] = []

    def add(self, arr: Any) -> None:
        pa = self._pa
        if arr.null_count:
            raise Fallback("missing value")
        if pa.types.is_dictionary(arr.type):
            if not _is_text_type(pa, arr.type.value_type):
                raise Fallback("not text")
        elif _is_text_type(pa, arr.type):
            arr = self._pc.dictionary_encode(arr)
        else:
            raise Fallback("not text")
        if not pa.types.is_int32(arr.type.index_type) or not pa.types.is_string(arr.type.value_type):
            arr = arr.cast(pa.dictionary(pa.int32(), pa.string()))
        self.chunks.append(arr)

    def unify(self) -> tuple[list[NDArray[np.int32]], Any]:
        """The codes of each chunk into one dictionary, and that dictionary (Arrow strings)."""
        pa = self._pa
        if not self.chunks:
            return [], pa.array([], type=pa.string())
        unified = pa.chunked_array(self.chunks).unify_dictionaries()
        self.chunks = []
        values = unified.chunk(0).dictionary
        codes = [np.asarray(c.indices.to_numpy(zero_copy_only=False), dtype=np.int32) for c in unified.chunks]
        return codes, values


def _used(codes: Sequence[NDArray[np.int32]], size: int) -> NDArray[np.bool_]:
    seen = np.zeros(size, dtype=bool)
    for c in codes:
        seen[c] = True
    return seen


def id_values(pa: Any, pc: Any, values: Any, *, allow_empty: bool = False) -> NDArray[np.str_]:
    """Distinct ids as numpy strings, exactly as the exact builder would keep them, or Fallback."""
    if len(values):
        longest = pc.max(pc.utf8_length(values)).as_py() or 0
        if longest > MAX_ID_LENGTH:
            raise Fallback("long id")
    try:
        out = to_numpy_strings(pa, values)
    except ValueError:
        raise Fallback("NUL") from None
    if out.size and not np.array_equal(np.strings.strip(out), out):
        raise Fallback("blanks around an id")  # the exact builder strips and may merge values
    if not allow_empty and np.any(out == ""):
        raise Fallback("empty id")
    return out


def customer_codes(pa: Any, pc: Any, column: TextColumn) -> tuple[list[NDArray[np.int32]], NDArray[np.str_]]:
    """Customer codes in order of first appearance (as the exact builder numbers them) and the ids."""
    codes, values = column.unify()
    if not codes or sum(c.shape[0] for c in codes) == 0:
        raise Fallback("no rows")
    ids = id_values(pa, pc, values)
    n = ids.shape[0]
    top = -1
    in_order = True
    for c in codes:  # codes come in order of first appearance when each new code is max + 1
        if not c.size:
            continue
        running = np.maximum.accumulate(c)
        if int(running[0]) > top + 1 or bool(np.any(np.diff(running) > 1)):
            in_order = False
            break
        top = int(running[-1])
    if in_order and top == n - 1:
        return codes, ids
    flat = np.concatenate(codes)
    uniq, first = np.unique(flat, return_index=True)
    order = uniq[np.argsort(first, kind="stable")]
    remap = np.zeros(n, dtype=np.int32)
    remap[order] = np.arange(order.shape[0], dtype=np.int32)
    return [remap[c] for c in codes], ids[order]


def coded_values(
    pa: Any,
    column: TextColumn | tuple[list[NDArray[np.int32]], Any],
    convert: Callable[[str], int],
    dtype: type[np.integer[Any]],
) -> list[NDArray[Any]]:
    """Per-row values of a column with few distinct cells (months, card levels) through ``convert``."""
    codes, values = column.unify() if isinstance(column, TextColumn) else column
    texts: list[str] = values.to_pylist()
    table = np.empty(len(texts), dtype=dtype)
    for k, text in enumerate(texts):
        if text_flaw(text) is not None:
            raise Fallback("not text")
        try:
            table[k] = convert(text)
        except InputError:
            raise Fallback("bad cell") from None
    return [table[c] for c in codes]


class SmallCodes:
    """A column with few distinct cells, read batch by batch into compact per-row codes.

    Each batch's dictionary is mapped through ``convert`` (a cell's code, or
    :class:`~custvalue.InputError`, which is a Fallback) once per distinct
    cell seen; the rows keep ``dtype`` codes.
    """

    def __init__(self, convert: Callable[[str], int], dtype: type[np.integer[Any]]) -> None:
        self._convert, self._dtype = convert, dtype
        self.seen: dict[str, int] = {}
        self.chunks: list[NDArray[Any]] = []

    def add(self, cells: Any) -> None:
        if cells.null_count:
            raise Fallback("missing value")
        texts: list[str] = cells.dictionary.to_pylist()
        table = np.empty(len(texts), dtype=np.int64)
        for k, text in enumerate(texts):
            code = self.seen.get(text)
            if code is None:
                if text_flaw(text) is not None:
                    raise Fallback("not text")
                try:
                    code = self.seen[text] = self._convert(text)
                except InputError:
                    raise Fallback("bad cell") from None
            table[k] = code
        info = np.iinfo(self._dtype)
        if table.size and (int(table.min()) < info.min or int(table.max()) > info.max):
            raise Fallback("codes out of range")
        self.chunks.append(table.astype(self._dtype)[np.asarray(cells.indices)])


def per_customer(
    cust: Sequence[NDArray[np.int32]], codes: Sequence[NDArray[np.integer[Any]]], n: int
) -> NDArray[np.int32]:
    """The one code each customer has on all its rows (Fallback if a customer's rows differ)."""
    of = np.zeros(n, dtype=np.int32)
    for c, k in zip(cust, codes, strict=True):
        of[c] = k
    for c, k in zip(cust, codes, strict=True):
        if not np.array_equal(of[c], k):
            raise Fallback("changes within a customer")
    return of


class Layout:
    """Where each row goes in the month-major arrays, and what the rows say about history."""

    def __init__(
        self,
        cust: Sequence[NDArray[np.integer[Any]]],
        ordinal: Sequence[NDArray[np.integer[Any]]],
        n: int,
        *,
        base: int = 0,
    ) -> None:
        """``ordinal[k] + base`` are the month ordinals of chunk ``k``'s rows."""
        rows = sum(c.shape[0] for c in cust)
        present = [o for o in ordinal if o.size]
        low = min(int(o.min()) for o in present)
        first = low + base
        last = max(int(o.max()) for o in present) + base
        t = last - first + 1
        if t > MAX_MONTHS:
            raise Fallback("too many months")
        dense = n * t * (8 * len(MONEY_COLUMNS) + 1)
        total = physical_memory()
        # the exact builder refuses months too far apart above 4 GiB: decline well before
        if (rows * 64 < dense and dense > _SPARSE_LIMIT) or (total and 2 * dense > total):
            raise Fallback("sparse months or not enough memory")
        self.n, self.t, self.rows, self.start = n, t, rows, Month.from_ordinal(first)
        self.cust = list(cust)
        self.col = [(o - low).astype(np.int16) for o in ordinal]
        occupied = np.zeros(n * t, dtype=np.uint8)
        for k in range(len(self.cust)):
            for _, _, pos in self.blocks(k):
                occupied[pos] = 1
        if int(np.count_nonzero(occupied)) != rows:
            raise Fallback("duplicate row")
        by_month = occupied.reshape(t, n)
        if not bool(by_month[t - 1].all()):
            raise Fallback("data ends early")
        if t > 1 and bool(np.any(by_month[:-1] > by_month[1:])):
            raise Fallback("gap")
        months_held = by_month.sum(axis=0, dtype=np.int16)
        self.history_start: NDArray[np.int16] = (t - months_held).astype(np.int16)

    def blocks(self, k: int) -> Iterable[tuple[int, int, NDArray[np.int64]]]:
        """Rows ``lo:hi`` of chunk ``k`` in blocks, with their positions."""
        rows = self.cust[k].shape[0]
        for lo in range(0, rows, _BLOCK):
            hi = min(lo + _BLOCK, rows)
            yield lo, hi, self.positions(k, lo, hi)

    def positions(self, k: int, lo: int, hi: int) -> NDArray[np.int64]:
        """Positions of rows ``lo:hi`` of chunk ``k`` in the flat ``(T, n)`` (transposed) output."""
        pos = self.col[k][lo:hi].astype(np.int64)
        pos *= self.n
        pos += self.cust[k][lo:hi]
        return pos


class MonthMajor:
    """The output arrays, ``(n, T)`` in Fortran order, filled by scatters of row blocks."""

    def __init__(self, layout: Layout) -> None:
        shape = (layout.n, layout.t)
        self.layout = layout
        self.money = {c: np.zeros(shape, dtype=np.int64, order="F") for c in MONEY_COLUMNS}
        self.cards = np.zeros(shape, dtype=np.int8, order="F")
        self._flat = {c: a.T.reshape(-1) for c, a in self.money.items()}

    def put(self, name: str, pos: NDArray[np.int64], fen: NDArray[Any]) -> None:
        self._flat[name][pos] = fen

    def put_cards(self, cards: Sequence[NDArray[np.int8]]) -> None:
        flat = self.cards.T.reshape(-1)
        for k, codes in enumerate(cards):
            for lo, hi, pos in self.layout.blocks(k):
                flat[pos] = codes[lo:hi]

    def portfolio(
        self, ids: NDArray[np.str_], branches: NDArray[np.str_], households: NDArray[np.str_] | None
    ) -> Portfolio:
        return Portfolio.from_arrays(
            customer_ids=ids,
            branch_ids=branches,
            household_ids=households,
            start=self.layout.start,
            history_start=self.layout.history_start,
            card_level=self.cards,
            deposits=self.money["deposits"],
            wealth=self.money["wealth"],
            investments=self.money["investments"],
            mortgage_loan=self.money["mortgage_loan"],
            credit_loan=self.money["credit_loan"],
            card_spend=self.money["card_spend"],
        )


# --------------------------------------------------------------------- money
class Money:
    """Exact fen of Arrow money arrays (Fallback for anything the exact builder must judge)."""

    def __init__(self, pa: Any, pc: Any) -> None:
        self._pa, self._pc = pa, pc

    def fen(self, arr: Any) -> NDArray[np.int64]:
        pa = self._pa
        if arr.null_count:
            raise Fallback("missing value")
        t = arr.type
        if pa.types.is_decimal(t):
            fen = _decimal_fen(arr)
        elif pa.types.is_integer(t):
            raw = np.asarray(arr.to_numpy(zero_copy_only=False))
            if raw.size and (int(raw.min()) < 0 or int(raw.max()) > MAX_AMOUNT // 100):
                raise Fallback("amount out of range")
            fen = raw.astype(np.int64) * 100
        elif _is_text_type(pa, t):
            fen = self._text_fen(arr)
        else:
            raise Fallback("money type")
        if fen.size and int(fen.view(np.uint64).max()) > MAX_AMOUNT:  # negative values are huge
            raise Fallback("amount out of range")
        return fen

    def _text_fen(self, arr: Any) -> NDArray[np.int64]:
        pa, pc = self._pa, self._pc
        n = len(arr)
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        lengths = pc.binary_length(arr)
        plain = arr
        if (pc.max(lengths).as_py() or 0) > PLAIN_WIDTH:  # one width for all: long cells go below
            plain = pc.if_else(pc.greater(lengths, PLAIN_WIDTH), "?", arr)
        padded = pc.ascii_lpad(plain, width=PLAIN_WIDTH, padding="0").cast(pa.string())
        _, offsets_buf, data_buf = padded.buffers()
        offsets = np.frombuffer(offsets_buf, dtype=np.int32)[padded.offset : padded.offset + n + 1]
        first = int(offsets[0])
        if int(offsets[-1]) - first != PLAIN_WIDTH * n or first % 8:
            raise Fallback("cells of unexpected widths")
        words = np.frombuffer(data_buf, dtype="<u8", count=2 * n, offset=first).reshape(n, 2)
        fen, ok = parse_plain_yuan(words, np.asarray(lengths.to_numpy(zero_copy_only=False)))
        if bool(ok.all()):
            return fen
        rest = np.flatnonzero(~ok)
        odd = arr.take(pa.array(rest))
        more, read = parse_yuan_bytes(ArrowAmounts(pa, pc, odd).fixed())
        fen[rest[read]] = more[read]
        for k in np.flatnonzero(~read).tolist():  # the exact scalar parser for the rest
            text = odd[k].as_py()
            if text_flaw(text) is not None or text.strip() == "":
                raise Fallback("bad amount")
            try:
                fen[int(rest[k])] = yuan_to_fen(text, thousands=False)
            except MoneyError:
                raise Fallback("bad amount") from None
        return fen


_WORDS: Final = {32: np.int32, 64: np.int64, 128: np.int64, 256: np.int64}


def _decimal_fen(arr: Any) -> NDArray[np.int64]:
    """Fen from a decimal array's words: exact, no Python objects; Fallback when out of range."""
    t = arr.type
    n = len(arr)
    per_value = max(1, t.bit_width // 64)
    words = np.frombuffer(arr.buffers()[1], dtype=_WORDS[t.bit_width]).reshape(-1, per_value)
    words = words[arr.offset : arr.offset + n]
    low = words[:, 0].astype(np.int64)
    if per_value > 1 and n and bool(np.any(words[:, 1:])):  # non-negative values fitting int64
        raise Fallback("amount out of range")
    scale = int(t.scale)
    if scale == 2:
        return low
    if scale > 2:
        if scale - 2 > 18:
            raise Fallback("scale")
        q = 10 ** (scale - 2)
        if n and bool(np.any(low % q)):
            raise Fallback("more than two decimals")
        whole: NDArray[np.int64] = low // q
        return whole
    mult = 10 ** (2 - scale)
    if mult > INT64_MAX or (n and int(low.view(np.uint64).max()) > MAX_AMOUNT // mult):
        raise Fallback("amount out of range")
    scaled: NDArray[np.int64] = low * mult
    return scaled


class Compact:
    """Exact non-negative fen of a row block, held small until the output exists.

    A mostly-zero column (loans, card spend) keeps only its nonzero cells
    (row and amount); others keep 4 bytes a cell, amounts of 2**32 fen and
    more beside.
    """

    def __init__(self, fen: NDArray[np.int64]) -> None:
        nonzero = np.flatnonzero(fen)
        self.sparse = 2 * nonzero.shape[0] < fen.shape[0]
        if self.sparse:
            self.at = nonzero.astype(np.int32)
            self.values = fen[nonzero]
            return
        self.low = fen.astype(np.uint32)
        if fen.size and int(fen.max()) >> 32:
            self.at = np.flatnonzero(fen >> 32).astype(np.int32)
        else:
            self.at = np.zeros(0, dtype=np.int32)
        self.values = fen[self.at]

    def put(self, out: MonthMajor, name: str, pos: NDArray[np.int64], lo: int, hi: int) -> None:
        """Scatter rows ``lo:hi`` (at ``pos``) into ``out`` (whose cells are zero)."""
        if not self.sparse:
            out.put(name, pos, self.low[lo:hi].astype(np.int64))  # a same-dtype scatter is twice as fast
        if self.at.size:
            first, last = np.searchsorted(self.at, [lo, hi])
            if last > first:
                out.put(name, pos[self.at[first:last] - lo], self.values[first:last])


def households(
    pa: Any, pc: Any, column: TextColumn, cust: Sequence[NDArray[np.int32]], n: int
) -> NDArray[np.str_] | None:
    """Each customer's household id (``None`` when the column is all blank), or Fallback."""
    codes, values = column.unify()
    hv = id_values(pa, pc, values, allow_empty=True)
    used = _used(codes, hv.shape[0])
    blank = hv == ""
    if bool(np.any(used & blank)):
        if bool(np.all(blank[used])):
            return None
        raise Fallback("a customer without household")
    out: NDArray[np.str_] = hv[per_customer(cust, codes, n)]
    return out


def prefetched(items: Iterable[Any]) -> Iterator[Any]:
    """``items``, produced one ahead in a background thread (pyarrow decodes without the GIL).

    The consumer converts batch ``k`` while the next one is read and decoded;
    an exception in the producer is raised in the consumer.  Stopping early
    (an exception in the consumer) lets the producer finish its current item
    and end.
    """
    slot: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        slot.put((True, item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slot.put((False, None))
        except BaseException as exc:  # handed to the consumer
            slot.put((False, exc))

    worker = threading.Thread(target=produce, name="custvalue-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            more, item = slot.get()
            if not more:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            try:
                slot.get_nowait()
            except queue.Empty:
                worker.join(0.05)
