"""Balances files as they come from bank systems: column mappings, delimiters, encodings,
extra columns, AUM-only files, data frames (pandas, Arrow, polars) and progress callbacks."""

from __future__ import annotations

import contextlib
import tempfile
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _testing import without_pyarrow
from custvalue import Policy, Portfolio, PortfolioError, default_policy, evaluate
from custvalue.io import ExtraColumnsWarning, read_balances, write_balances
from custvalue.money import from_float
from custvalue.synthetic import generate

pa = pytest.importorskip("pyarrow")
pd = pytest.importorskip("pandas")

HEADER = (
    "customer_id,branch_id,month,deposits,wealth,investments,mortgage_loan,credit_loan,card_spend,card_level"
)
ROWS = [
    "C1,B001,2026-09,499999.99,0,0,0,0,0,none",
    "C1,B001,2026-10,500000.00,0,0,0,0,12.5,gold",
    "C2,B002,2026-10,10,1,2,0,0,0,none",
]
AUM_ONLY = Policy.from_dict(
    {
        "name": "aum_only",
        "tiers": [{"id": "platinum", "aum_floor": 500000, "window": 3}, {"id": "rest"}],
    }
)
DEPOSITS_ONLY = Policy.from_dict(
    {
        "name": "deposits_only",
        "aum": ["deposits"],
        "tiers": [{"id": "platinum", "aum_floor": 500000, "window": 3}, {"id": "rest"}],
    }
)
#: a bank export: its own names, in another order, with columns custvalue does not read
BANK_NAMES = {
    "customer_id": "CUST_NO",
    "branch_id": "ORG_NO",
    "month": "STAT_MONTH",
    "deposits": "DEP_BAL",
    "wealth": "WM_BAL",
    "investments": "INV_BAL",
    "mortgage_loan": "MORT_BAL",
    "credit_loan": "CRED_BAL",
    "card_spend": "CARD_AMT",
    "card_level": "CARD_LVL",
}


def _reference(tmp_path: Path) -> Portfolio:
    f = tmp_path / "plain.csv"
    f.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    return read_balances(f)


def _bank_file(path: Path, *, delimiter: str = ",", encoding: str = "utf-8", names: dict[str, str]) -> Path:
    """The reference rows with renamed columns, reversed column order and a remark column."""
    ours = HEADER.split(",")
    order = list(reversed(range(len(ours))))
    header = [names.get(ours[k], ours[k]) for k in order] + ["备注"]
    lines = [delimiter.join(header)]
    for r in ROWS:
        cells = r.split(",")
        lines.append(delimiter.join([cells[k] for k in order] + ["无"]))
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


@pytest.mark.parametrize("arrow", [True, False])
@pytest.mark.parametrize("delimiter", [",", ";", "|", "\t"])
def test_a_mapped_file_with_its_own_delimiter_reads_like_the_plain_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, delimiter: str, arrow: bool
) -> None:
    f = _bank_file(tmp_path / "bank.csv", delimiter=delimiter, names=BANK_NAMES)
    with contextlib.nullcontext() if arrow else without_pyarrow(monkeypatch):
        with pytest.warns(ExtraColumnsWarning, match="ignored column '备注'"):
            p = read_balances(f, columns=BANK_NAMES, delimiter=delimiter)
    assert p == _reference(tmp_path)


def test_a_mapped_parquet_file_reads_like_the_plain_one(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    p = attrs.evolve(generate(400, seed=8), opened=None)
    t = pq.read_table(write_balances(p, tmp_path / "b.parquet"))
    t = t.rename_columns([BANK_NAMES.get(n, n) for n in t.column_names])
    t = t.append_column("REMARK", pa.array(["x"] * t.num_rows))
    pq.write_table(t, tmp_path / "bank.parquet")
    with pytest.warns(ExtraColumnsWarning, match="'REMARK'"):
        assert read_balances(tmp_path / "bank.parquet", columns=BANK_NAMES) == p
    # a float column is refused under the file's name for it
    t = t.set_column(t.column_names.index("DEP_BAL"), "DEP_BAL", t.column("DEP_BAL").cast(pa.float64()))
    pq.write_table(t, tmp_path / "floats.parquet")
    with pytest.raises(PortfolioError) as exc, warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtraColumnsWarning)
        read_balances(tmp_path / "floats.parquet", columns=BANK_NAMES)
    assert exc.value.column == "DEP_BAL" and "floating-point" in exc.value.message
    with pytest.raises(ValueError, match="delimiter= applies to CSV"):
        read_balances(tmp_path / "bank.parquet", columns=BANK_NAMES, delimiter=";")


@pytest.mark.parametrize("encoding", ["gb18030", "gbk"])
@pytest.mark.parametrize("arrow", [True, False])
def test_a_gb18030_file_with_chinese_headers_and_branch_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encoding: str, arrow: bool
) -> None:
    names = {"customer_id": "客户号", "branch_id": "机构名称", "month": "月份", "deposits": "存款余额"}
    lines = ["客户号,机构名称,月份,存款余额,wealth,investments", "C1,北京分行营业部,2026-10,500000.00,0,0"]
    f = tmp_path / "export.csv"
    f.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    assert "北京".encode(encoding) != "北京".encode()  # really not UTF-8
    with contextlib.nullcontext() if arrow else without_pyarrow(monkeypatch):
        p = read_balances(f, columns=names, encoding=encoding, policy=AUM_ONLY)
    assert p.branch_ids.tolist() == ["北京分行营业部"] and p.deposits.tolist() == [[50000000]]
    assert evaluate(p, AUM_ONLY).tiers().tolist() == ["platinum"]
    # read as UTF-8 it is refused with the line and column of the first bad cell
    with pytest.raises(PortfolioError) as exc:
        read_balances(f, policy=AUM_ONLY)
    assert exc.value.line == 1 and "not valid UTF-8 text" in exc.value.message


def test_a_cell_that_is_not_valid_in_the_named_encoding_is_named(tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    body = "customer_id,branch_id,month,deposits,wealth,investments\nC1,B1,2026-10,1,0,0\n".encode("gb18030")
    f.write_bytes(body + b"C2,\x81\x20,2026-10,1,0,0\n")  # 0x81 0x20 is no GB18030 character
    with pytest.raises(PortfolioError) as exc:
        read_balances(f, encoding="gb18030", policy=AUM_ONLY)
    assert (exc.value.line, exc.value.column) == (3, "branch_id")
    assert "not valid GB18030 text" in exc.value.message


def test_bad_options_are_refused_before_reading(tmp_path: Path) -> None:
    f = tmp_path / "b.csv"
    f.write_text("\n".join([HEADER, *ROWS]) + "\n")
    with pytest.raises(ValueError, match="unknown encoding"):
        read_balances(f, encoding="no-such-codec")
    with pytest.raises(ValueError, match="not ASCII-compatible"):
        read_balances(f, encoding="utf-16")
    with pytest.raises(ValueError, match="delimiter"):
        read_balances(f, delimiter=";;")
    with pytest.raises(ValueError, match="delimiter"):
        read_balances(f, delimiter='"')
    with pytest.raises(PortfolioError, match="unknown column 'cust' in the column mapping"):
        read_balances(f, columns={"cust": "CUST_NO"})
    with pytest.raises(PortfolioError, match="maps both"):
        read_balances(f, columns={"deposits": "X", "wealth": "X"})


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_every_missing_column_is_named_in_one_error(tmp_path: Path, ext: str) -> None:
    p = generate(20, seed=2)
    full = write_balances(p, tmp_path / f"b.{ext}")
    t = pa.csv.read_csv(full) if ext == "csv" else pa.parquet.read_table(full)
    t = t.drop_columns(["wealth", "card_level", "credit_loan"]).rename_columns(
        [
            "CUST" if n == "customer_id" else n
            for n in t.drop_columns(["wealth", "card_level", "credit_loan"]).column_names
        ]
    )
    f = tmp_path / f"short.{ext}"
    if ext == "csv":
        pa.csv.write_csv(t, f)
    else:
        pa.parquet.write_table(t, f)
    with pytest.raises(PortfolioError) as exc:
        read_balances(f)
    e = exc.value
    assert e.line == 1 and e.column == "customer_id, wealth, credit_loan, card_level"
    assert "missing columns 'customer_id', 'wealth', 'credit_loan', 'card_level'" in e.message
    assert "the file also has 'CUST'" in e.message  # the likely rename is shown
    # a mapping that points at a column the file lacks says so
    with pytest.raises(PortfolioError, match="'wealth' \\(mapped to 'WM', which the file does not have\\)"):
        read_balances(f, columns={"customer_id": "CUST", "wealth": "WM"})


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_an_aum_only_file_works_with_an_aum_only_policy(tmp_path: Path, ext: str) -> None:
    p = attrs.evolve(generate(300, seed=5), opened=None)
    full = write_balances(p, tmp_path / f"b.{ext}")
    t = (
        pa.csv.read_csv(full, convert_options=pa.csv.ConvertOptions(strings_can_be_null=False))
        if ext == "csv"
        else pa.parquet.read_table(full)
    )
    t = t.select(["customer_id", "branch_id", "month", "deposits", "wealth", "investments"])
    f = tmp_path / f"aum.{ext}"
    if ext == "csv":
        f.write_text(
            "\n".join(
                [",".join(t.column_names)] + [",".join(str(v) for v in row.values()) for row in t.to_pylist()]
            )
            + "\n"
        )
    else:
        pa.parquet.write_table(t, f)
    q = read_balances(f, policy=AUM_ONLY)
    for c in ("deposits", "wealth", "investments", "customer_ids", "branch_ids", "history_start"):
        assert np.array_equal(getattr(q, c), getattr(p, c))
    assert not q.mortgage_loan.any() and not q.card_spend.any() and not q.card_level.any()
    assert evaluate(q, AUM_ONLY).tiers().tolist() == evaluate(p, AUM_ONLY).tiers().tolist()
    with pytest.raises(PortfolioError, match="missing columns 'mortgage_loan'"):
        read_balances(f)  # without a policy, every column is needed
    with pytest.raises(
        PortfolioError, match="missing columns 'mortgage_loan', 'credit_loan', 'card_spend', 'card_level'"
    ):
        read_balances(f, policy=default_policy())


def test_the_policy_names_the_columns_it_reads() -> None:
    assert AUM_ONLY.input_columns == ("deposits", "wealth", "investments")
    assert default_policy().input_columns == (
        "deposits",
        "wealth",
        "investments",
        "mortgage_loan",
        "credit_loan",
        "card_spend",
        "card_level",
    )


def test_a_wrong_delimiter_is_suggested(tmp_path: Path) -> None:
    f = tmp_path / "b.csv"
    f.write_text("\n".join([HEADER.replace(",", ";"), *(r.replace(",", ";") for r in ROWS)]) + "\n")
    with pytest.raises(PortfolioError, match="is the file separated by ';'"):
        read_balances(f)
    assert read_balances(f, delimiter=";") == _reference(tmp_path)


def test_errors_name_the_files_column_not_custvalues(tmp_path: Path) -> None:
    rows = [r.replace("12.5", "12.555") for r in ROWS]
    f = tmp_path / "b.csv"
    f.write_text("\n".join([HEADER.replace("card_spend", "CARD_AMT"), *rows]) + "\n")
    with pytest.raises(PortfolioError) as exc:
        read_balances(f, columns={"card_spend": "CARD_AMT"})
    assert (exc.value.line, exc.value.column, exc.value.customer_id) == (3, "CARD_AMT", "C1")
    f.write_text(
        "\n".join([HEADER.replace("branch_id", "ORG"), *ROWS, "C2,B009,2026-09,1,0,0,0,0,0,none"]) + "\n"
    )
    with pytest.raises(PortfolioError) as exc:
        read_balances(f, columns={"branch_id": "ORG"})
    assert exc.value.column == "ORG" and "branch_id differs" in exc.value.message


def test_read_progress_ends_at_the_total(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = generate(3000, seed=1)
    for ext in ("csv", "parquet"):
        f = write_balances(p, tmp_path / f"b.{ext}")
        calls: list[tuple[int, int]] = []
        read_balances(f, progress=lambda d, t, calls=calls: calls.append((d, t)))
        assert calls and calls[-1][0] == calls[-1][1] > 0
        assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    calls = []
    with without_pyarrow(monkeypatch):
        read_balances(tmp_path / "b.csv", progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (calls[-1][1], (tmp_path / "b.csv").stat().st_size)


def test_write_progress_counts_customers(tmp_path: Path) -> None:
    p = generate(70_000, seed=1)
    for ext in ("csv", "parquet", "arrow"):
        calls: list[tuple[int, int]] = []
        write_balances(p, tmp_path / f"w.{ext}", progress=lambda d, t, calls=calls: calls.append((d, t)))
        assert calls[-1] == (70_000, 70_000)
        assert [d for d, _ in calls] == sorted(d for d, _ in calls)


# ------------------------------------------------------------------ data frames
def _frame(p: Portfolio) -> Any:
    rows = p.to_records()
    df = pd.DataFrame(rows)
    for c in ("deposits", "wealth", "investments", "mortgage_loan", "credit_loan", "card_spend"):
        df[c] = [Decimal(v) for v in df[c]]
    return df


def test_pandas_long_frames_with_decimal_text_or_integer_money() -> None:
    p = attrs.evolve(generate(200, seed=9), opened=None)
    df = _frame(p)
    assert Portfolio.from_pandas(df) == p
    assert Portfolio.from_pandas(df.astype({"deposits": str})) == p
    assert Portfolio.from_arrow(pa.Table.from_pandas(df, preserve_index=False)) == p
    whole = df.assign(deposits=[int(v) for v in df["deposits"]])
    assert np.array_equal(Portfolio.from_pandas(whole).deposits, p.deposits // 100 * 100)
    # categorical card levels and a renamed, reordered frame with an extra column
    renamed = df.assign(card_level=df["card_level"].astype("category"), note="x").rename(
        columns={"customer_id": "CUST_NO"}
    )[::-1]
    with pytest.warns(ExtraColumnsWarning, match="'note'"):
        q = Portfolio.from_pandas(renamed, columns={"customer_id": "CUST_NO"})
    assert q == p.select(np.argsort(-np.arange(p.n_customers))) or set(q.customer_ids) == set(p.customer_ids)


def test_frames_are_checked_like_files() -> None:
    df = _frame(generate(5, seed=1))
    bad = df.copy()
    bad.loc[3, "deposits"] = Decimal("1.005")
    with pytest.raises(PortfolioError) as exc:
        Portfolio.from_pandas(bad)
    assert (exc.value.line, exc.value.column) == (
        4,
        "deposits",
    ) and "more than two decimals" in exc.value.message
    bad = df.copy()
    bad.loc[2, "month"] = None
    with pytest.raises(PortfolioError) as exc:
        Portfolio.from_pandas(bad)
    assert (exc.value.line, exc.value.column, exc.value.message) == (3, "month", "missing value")
    with pytest.raises(PortfolioError, match="missing columns 'wealth', 'card_level'"):
        Portfolio.from_pandas(df.drop(columns=["wealth", "card_level"]))
    with pytest.raises(PortfolioError, match="floating-point column"):
        Portfolio.from_pandas(df.assign(deposits=df["deposits"].astype(float)))
    with pytest.raises(TypeError, match="expected a pandas or polars DataFrame"):
        Portfolio.from_pandas([1, 2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="floats must be one of"):
        Portfolio.from_pandas(df, floats="nearest")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False), min_size=1, max_size=20
    ),
    st.sampled_from(["half_even", "half_up", "down", "floor", "ceiling"]),
)
def test_float_money_converts_as_from_float_does(values: list[float], rounding: str) -> None:
    n = len(values)
    df = pd.DataFrame(
        {"customer_id": [f"C{k}" for k in range(n)], "branch_id": "B", "month": "2026-10", "deposits": values}
    )
    p = Portfolio.from_pandas(df, policy=DEPOSITS_ONLY, floats=rounding)
    assert p.deposits[:, 0].tolist() == [from_float(v, rounding=rounding) for v in values]


def test_wide_frames() -> None:
    p = attrs.evolve(generate(50, seed=4, months=4, end="2026-10"), opened=None)
    wide: dict[str, Any] = {"customer_id": p.customer_ids.tolist(), "branch_id": p.branch_ids.tolist()}
    for j, m in enumerate(p.months):
        valid = np.arange(p.n_customers)
        for c in ("deposits", "wealth", "investments", "mortgage_loan", "credit_loan", "card_spend"):
            col = getattr(p, c)[:, j]
            wide[f"{c}@{m}"] = [
                None if j < int(p.history_start[i]) else Decimal(int(col[i])) / 100 for i in valid
            ]
        wide[f"card_level@{m}"] = [
            None
            if j < int(p.history_start[i])
            else ("none", "standard", "gold", "platinum", "diamond")[int(p.card_level[i, j])]
            for i in valid
        ]
    df = pd.DataFrame(wide)
    assert Portfolio.from_pandas(df, layout="wide") == p
    # a partly missing month is a missing value on the customer's row
    df.loc[7, f"wealth@{p.months[3]}"] = None
    with pytest.raises(PortfolioError) as exc:
        Portfolio.from_pandas(df, layout="wide")
    assert (exc.value.line, exc.value.column, exc.value.month) == (8, "wealth", str(p.months[3]))
    with pytest.raises(PortfolioError, match="is not a month"):
        Portfolio.from_pandas(df.rename(columns={f"wealth@{p.months[3]}": "wealth@Oct"}), layout="wide")
    with pytest.raises(PortfolioError, match="no FIELD@YYYY-MM columns"):
        Portfolio.from_pandas(_frame(p), layout="wide")


def test_polars_frames() -> None:
    pl = pytest.importorskip("polars")
    p = attrs.evolve(generate(100, seed=6), opened=None)
    df = pl.from_pandas(_frame(p).astype({c: str for c in ("deposits", "wealth")}))
    assert Portfolio.from_polars(df) == p
    assert Portfolio.from_arrow(df) == p  # a polars frame is Arrow data too
    decimals = df.with_columns(pl.col("deposits").cast(pl.Decimal(18, 2)))
    assert Portfolio.from_polars(decimals) == p


def test_month_columns_may_be_dates_or_periods() -> None:
    df = pd.DataFrame(
        {
            "customer_id": ["C1", "C1"],
            "branch_id": "B",
            "deposits": [Decimal(1), Decimal(2)],
            "month": pd.to_datetime(["2026-09-30", "2026-10-31"]),
        }
    )
    p = Portfolio.from_pandas(df, policy=DEPOSITS_ONLY)
    assert str(p.months) == "2026-09..2026-10"
    q = Portfolio.from_pandas(df.assign(month=df["month"].dt.to_period("M")), policy=DEPOSITS_ONLY)
    assert q == p


def test_no_warning_without_extra_columns(tmp_path: Path) -> None:
    f = tmp_path / "b.csv"
    f.write_text("\n".join([HEADER, *ROWS]) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_balances(f)


@settings(max_examples=25, deadline=None)
@given(
    st.permutations(list(range(10))),
    st.sets(st.sampled_from(list(BANK_NAMES)), max_size=10),
    st.sampled_from([",", ";", "|", "\t"]),
    st.lists(st.sampled_from(["备注", "REMARK", "x1", "FLAG"]), max_size=3, unique=True),
    st.sampled_from(["utf-8", "gb18030"]),
)
def test_any_layout_of_the_same_rows_reads_the_same(
    order: list[int], renamed: set[str], delimiter: str, extra: list[str], encoding: str
) -> None:
    ours = HEADER.split(",")
    names = {c: BANK_NAMES[c] for c in renamed}
    header = [names.get(ours[k], ours[k]) for k in order] + extra
    lines = [delimiter.join(header)]
    for r in ROWS:
        cells = r.split(",")
        lines.append(delimiter.join([cells[k] for k in order] + ["v"] * len(extra)))
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "b.csv"
        f.write_bytes(("\n".join(lines) + "\n").encode(encoding))
        plain = Path(tmp) / "plain.csv"
        plain.write_text("\n".join([HEADER, *ROWS]) + "\n")
        with warnings.catch_warnings(record=True) as notes:
            warnings.simplefilter("always")
            got = read_balances(f, columns=names or None, delimiter=delimiter, encoding=encoding)
        assert got == read_balances(plain)
        ignored = [n for n in notes if issubclass(n.category, ExtraColumnsWarning)]
        assert len(ignored) == (1 if extra else 0)
        for e in extra:
            assert repr(e) in str(ignored[0].message)
