"""Report files (``write_report`` / ``ReportSet.write``): the Excel workbook and the HTML page.

The workbook is read back with openpyxl: sheet names, headers, every cell
against the in-memory report (money exact to the fen), totals, frozen
header rows, native charts.  The HTML page is parsed with ``html.parser``:
every section's heading and table, exact totals, embedded PNG charts, and
no reference to anything outside the page.
"""

from __future__ import annotations

import base64
import datetime as dt
import sys
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custvalue import MissingDependencyError, Month, Portfolio, format_yuan
from custvalue import io as cv_io
from custvalue.allocation import AllocationBook
from custvalue.analytics import (
    EXACT_FEN_LIMIT,
    AnalyticsError,
    Report,
    ReportSection,
    ReportSet,
    report_set,
    synthetic_transactions,
    write_report,
)
from custvalue.analytics._xlsx import EXCEL_MAX_ROWS, check_workbook, column_heading
from custvalue.policy import default_policy
from custvalue.synthetic import generate

AS_OF = "2026-10"


def _book(portfolio: Portfolio) -> AllocationBook:
    ids, br = portfolio.customer_ids.tolist(), portfolio.branch_ids.tolist()
    managers = {f"RM{b[-1]}{k}": b for b in sorted(set(br)) for k in range(3)}
    book = AllocationBook.empty(managers)
    # the last 50 customers are not in the book: the summary counts them
    book = book.add_customers(ids[:-50], br[:-50], effective=dt.date(2025, 1, 1), operator="ops").book
    for b in sorted(set(br)):
        mine = [c for c, x in zip(ids[:-50], br[:-50], strict=True) if x == b][:120]
        for k in range(3):
            m = f"RM{b[-1]}{k}"
            book = book.batch_allocate(
                mine[k::3], m, {m: "100%"}, tiers="gold", effective=dt.date(2026, 9, 1), operator="ops"
            ).book
    return book


@pytest.fixture(scope="module")
def inputs() -> dict[str, Any]:
    p = generate(800, seed=11, n_branches=3)
    tx = synthetic_transactions(1_500, 800, seed=3, start="2026-10-01", days=30, customer_ids=p.customer_ids)
    return {"portfolio": p, "transactions": tx, "book": _book(p)}


@pytest.fixture(scope="module")
def rs(inputs: dict[str, Any]) -> ReportSet:
    return report_set(inputs["portfolio"], AS_OF, transactions=inputs["transactions"], book=inputs["book"])


@pytest.fixture(scope="module")
def files(rs: ReportSet, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("reports")
    out = {"xlsx": d / "report.xlsx", "html": d / "report.html"}
    rs.write(out["xlsx"])
    rs.write(out["html"], max_rows=200)
    return out


def test_the_report_set_has_every_section(rs: ReportSet) -> None:
    assert rs.keys == (
        "distribution",
        "trend",
        "migration",
        "churn",
        "concentration",
        "assets",
        "alerts",
        "transactions",
        "managers",
        "branches",
    )
    summary = {label: value for label, value, _ in rs.summary}
    assert summary["customers"] == 800
    assert summary["customers not in the allocation book on 2026-10-31"] == 50
    assert summary["AUM"] == rs.section("distribution").total("aum")
    assert summary["asset-fall alerts"] == len(rs.section("alerts").table)
    with pytest.raises(KeyError, match="sections: distribution"):
        rs.section("nope")


def test_alerts_carry_the_primary_manager_from_the_book(rs: ReportSet, inputs: dict[str, Any]) -> None:
    t = rs.section("alerts").table
    assert "rm" in t.column_names
    pm = inputs["book"].primary_managers(t.column("customer_id"), dt.date(2026, 10, 31))
    assert t.column("rm").tolist() == pm.primary.tolist()
    tx = rs.section("transactions").table
    assert {"tier", "rm"} <= set(tx.column_names)


def test_performance_attributes_the_book_customers_aum_exactly(rs: ReportSet, inputs: dict[str, Any]) -> None:
    p = inputs["portfolio"]
    summary = {label: value for label, value, _ in rs.summary}
    in_book = np.isin(p.customer_ids, inputs["book"].customer_ids)
    assert int(np.count_nonzero(~in_book)) == 50
    aum = np.asarray(p.deposits[:, -1] + p.wealth[:, -1] + p.investments[:, -1], np.int64)
    assert summary["their AUM (not attributed)"] == int(aum[~in_book].sum())
    booked = summary["AUM"] - summary["their AUM (not attributed)"]
    assert rs.section("branches").total("aum") == booked == int(aum[in_book].sum())
    assert rs.section("managers").total("aum") + rs.section("branches").total("unallocated") == booked
    assert len(rs.section("branches").table) == 3
    assert rs.section("managers").total("aum_growth") is not None  # against the month before


def test_customers_added_to_the_book_after_the_day_are_not_attributed(inputs: dict[str, Any]) -> None:
    """A customer the book lists only from a later day counts as not in the book (its AUM aside)."""
    p = inputs["portfolio"]
    late = p.customer_ids[-50:].tolist()
    book = (
        inputs["book"]
        .add_customers(late, p.branch_ids[-50:].tolist(), effective=dt.date(2026, 11, 15), operator="ops")
        .book
    )
    assert book.in_book(dt.date(2026, 10, 31)).tolist() == [c not in late for c in book.customer_ids.tolist()]
    got = report_set(p, AS_OF, book=book)
    summary = {label: value for label, value, _ in got.summary}
    assert summary["customers not in the allocation book on 2026-10-31"] == 50
    aum = np.asarray(p.deposits[:, -1] + p.wealth[:, -1] + p.investments[:, -1], np.int64)
    assert summary["their AUM (not attributed)"] == int(aum[-50:].sum())
    assert got.section("branches").total("aum") == int(aum[:-50].sum())


# ------------------------------------------------------------------ workbook
def _fen(value: float) -> int:
    """The exact fen of a yuan cell (the decimal it reads as, times 100)."""
    d = Decimal(repr(value)) * 100
    assert d == d.to_integral_value(), value
    return int(d)


def _expected(report: Report, name: str, i: int) -> Any:
    valid = report.valid.get(name)
    if valid is not None and not bool(valid[i]):
        return None
    v = report.column(name)[i]
    if isinstance(v, np.datetime64):
        return v.astype("datetime64[s]").astype(dt.datetime)
    return v.item()


def test_workbook_sheets_headers_and_frozen_panes(rs: ReportSet, files: dict[str, Path]) -> None:
    wb = openpyxl.load_workbook(files["xlsx"])
    assert wb.sheetnames == ["Summary", *(s.sheet for s in rs.sections)]
    assert wb["Summary"].freeze_panes == "A2"
    for s in rs.sections:
        ws = wb[s.sheet]
        assert ws.freeze_panes == "A2", s.sheet
        names = s.table.column_names
        header = [c.value for c in ws[1][: len(names)]]
        assert header == [column_heading(s.table, n) for n in names]
        assert ws.auto_filter.ref is not None
        assert ws.column_dimensions["A"].width >= 8


def test_workbook_cells_equal_the_reports_exactly(rs: ReportSet, files: dict[str, Path]) -> None:
    wb = openpyxl.load_workbook(files["xlsx"])
    for s in rs.sections:
        ws = wb[s.sheet]
        t = s.table
        names = t.column_names
        rows = list(ws.iter_rows(min_row=2, max_row=len(t) + 1, max_col=len(names), values_only=True))
        assert len(rows) == len(t)
        for i, row in enumerate(rows):
            for j, name in enumerate(names):
                want, got = _expected(t, name, i), row[j]
                if want is None:
                    assert got is None, (s.sheet, name, i)
                elif name in t.money:
                    assert _fen(got) == want, (s.sheet, name, i)
                elif name.endswith("_bp"):
                    assert round(got * 10_000) == want and abs(got * 10_000 - want) < 1e-6
                else:
                    assert got == want, (s.sheet, name, i)


def test_workbook_totals_are_the_exact_sums(rs: ReportSet, files: dict[str, Path]) -> None:
    wb = openpyxl.load_workbook(files["xlsx"])
    checked = 0
    for s in rs.sections:
        if not s.totals or not len(s.table):
            continue
        ws = wb[s.sheet]
        row = [c.value for c in ws[len(s.table) + 2][: len(s.table.column_names)]]
        assert row[0] == "Total"
        for j, name in enumerate(s.table.column_names):
            if name not in s.totals:
                continue
            want = s.total(name)
            if want is None:
                assert row[j] is None
            elif name in s.table.money:
                assert _fen(row[j]) == want
                checked += 1
            else:
                assert row[j] == want
                checked += 1
    assert checked >= 15
    assert rs.section("distribution").total("customers") == 800


def test_workbook_summary_sheet(rs: ReportSet, files: dict[str, Path]) -> None:
    ws = openpyxl.load_workbook(files["xlsx"])["Summary"]
    values = {r[0]: r[1] for r in ws.iter_rows(min_row=2, max_col=2, values_only=True) if r[0]}
    for label, value, unit in rs.summary:
        if unit == "money":
            assert _fen(values[label]) == value
        elif unit == "bp":
            assert round(values[label] * 10_000) == value
        else:
            assert values[label] == value
    assert {s.sheet for s in rs.sections} <= set(values)  # the list of sheets


def test_workbook_has_native_charts_fed_by_the_sheet(rs: ReportSet, files: dict[str, Path]) -> None:
    wb = openpyxl.load_workbook(files["xlsx"])
    for s in rs.sections:
        charts = wb[s.sheet]._charts
        assert len(charts) == len(s.charts), s.sheet
        assert wb[s.sheet]._images == []  # charts are chart objects, not pictures
    kinds = {type(c).__name__ for s in rs.sections for c in wb[s.sheet]._charts}
    assert {"BarChart", "LineChart", "ScatterChart"} <= kinds
    # the distribution's first chart: customers per tier, from the chart-data block
    ws = wb["Tier distribution"]
    spec = rs.section("distribution").charts[0]
    c0 = len(rs.section("distribution").table.column_names) + 1
    block = list(
        ws.iter_rows(
            min_row=2, max_row=1 + len(spec.categories), min_col=c0 + 1, max_col=c0 + 2, values_only=True
        )
    )
    assert [r[0] for r in block] == list(spec.categories)
    assert [r[1] for r in block] == list(spec.series[0][1])
    assert sum(r[1] for r in block) == 800
    assert ws.conditional_formatting is not None
    assert len(wb["Tier migration"].conditional_formatting) == 1  # the heatmap block


@settings(max_examples=300)
@given(st.integers(-(EXACT_FEN_LIMIT - 1), EXACT_FEN_LIMIT - 1))
def test_yuan_doubles_are_exact_below_the_limit(fen: int) -> None:
    x = fen / 100  # what the workbook stores
    assert Decimal(repr(x)) * 100 == fen
    assert round(x * 100) == fen
    assert float(f"{x:.15g}") == x  # Excel's 15 significant digits show the same double


def _one_section(report: Report, totals: tuple[str, ...] = ()) -> ReportSet:
    sec = ReportSection(key="t", title="Test", sheet="Test", description="d", table=report, totals=totals)
    return ReportSet(as_of=Month(2026, 10), policy=default_policy(), summary=(), sections=(sec,))


def test_amounts_at_the_limit_are_exact_text_and_strings_stay_text(tmp_path: Path) -> None:
    big = [EXACT_FEN_LIMIT - 1, EXACT_FEN_LIMIT, -(2**63) + 1, 2**63 - 1]
    r = Report(
        title="edges",
        columns={"id": np.asarray(["=1+1", "http://x.test", "007", "@SUM(A1)"]), "amount": np.asarray(big)},
        money=("amount",),
    )
    out = tmp_path / "edges.xlsx"
    _one_section(r).write(out)
    ws = openpyxl.load_workbook(out)["Test"]
    cells = [ws.cell(row=i + 2, column=2) for i in range(4)]
    assert _fen(cells[0].value) == EXACT_FEN_LIMIT - 1 and cells[0].data_type == "n"
    assert [c.value for c in cells[1:]] == [format_yuan(v).replace(",", "") for v in big[1:]]
    assert all(c.data_type == "s" for c in cells[1:])
    ids = [ws.cell(row=i + 2, column=1) for i in range(4)]
    assert [c.value for c in ids] == ["=1+1", "http://x.test", "007", "@SUM(A1)"]
    assert all(c.data_type == "s" for c in ids)  # never a formula, a number or a link
    assert ws.cell(row=2, column=1).hyperlink is None and ws.cell(row=3, column=1).hyperlink is None


def test_a_sheet_too_long_for_excel_is_refused_before_writing(tmp_path: Path) -> None:
    r = Report(title="long", columns={"n": np.zeros(EXCEL_MAX_ROWS - 1, np.int64)})
    with pytest.raises(AnalyticsError, match="more than an Excel sheet holds"):
        check_workbook(_one_section(r))
    out = tmp_path / "long.xlsx"
    with pytest.raises(AnalyticsError, match="CSV or Parquet"):
        _one_section(r).write(out)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ HTML
class _Page(HTMLParser):
    """Sections (id → h2, tables) and every attribute and tag of the page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []
        self.sections: dict[str, dict[str, Any]] = {}
        self.h2: list[str] = []
        self.style = ""
        self._section: str | None = None
        self._text: list[str] | None = None
        self._where: str | None = None
        self._table: dict[str, Any] | None = None
        self._row: list[str] | None = None
        self._part = ""
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for k, v in attrs:
            self.attrs.append((tag, k, v or ""))
        a = dict(attrs)
        if tag == "style":
            self._in_style = True
        if tag == "section":
            self._section = a.get("id") or ""
            self.sections[self._section] = {"h2": None, "tables": [], "images": []}
        elif tag in ("h2", "caption", "td", "th"):
            self._text = []
        elif tag == "table" and self._section is not None:
            self._table = {"caption": None, "thead": [], "tbody": [], "tfoot": []}
        elif tag in ("thead", "tbody", "tfoot"):
            self._part = tag
        elif tag == "tr":
            self._row = []
        elif tag == "img" and self._section is not None:
            self.sections[self._section]["images"].append(a.get("src") or "")

    def handle_endtag(self, tag: str) -> None:
        text = "".join(self._text or [])
        if tag == "style":
            self._in_style = False
        if tag == "h2":
            self.h2.append(text)
            if self._section is not None:
                self.sections[self._section]["h2"] = text
            self._text = None
        elif tag == "caption" and self._table is not None:
            self._table["caption"] = text
            self._text = None
        elif tag in ("td", "th") and self._row is not None:
            self._row.append(text)
            self._text = None
        elif tag == "tr" and self._row is not None:
            if self._table is not None:
                self._table[self._part].append(self._row)
            self._row = None
        elif tag == "table" and self._table is not None and self._section is not None:
            self.sections[self._section]["tables"].append(self._table)
            self._table = None
        elif tag == "section":
            self._section = None

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style += data
        if self._text is not None:
            self._text.append(data)


@pytest.fixture(scope="module")
def page(files: dict[str, Path]) -> _Page:
    p = _Page()
    p.feed(files["html"].read_text(encoding="utf-8"))
    p.close()
    return p


def test_html_has_every_section_with_its_heading_and_table(rs: ReportSet, page: _Page) -> None:
    assert page.h2 == ["Contents", "Summary", *(s.title for s in rs.sections)]
    for s in rs.sections:
        got = page.sections[s.key]
        assert got["h2"] == s.title
        table = got["tables"][0]
        assert table["caption"] == s.table.title
        assert table["thead"] == [[column_heading(s.table, n) for n in s.table.column_names]]
        shown = min(len(s.table), 200)
        assert len(table["tbody"]) == shown
        assert table["tbody"] == s.table._cells(shown)  # the same text as Report.text()
        assert len(got["images"]) == len(s.plots) >= 1
    assert page.sections["migration"]["tables"][1]["thead"][0][0].startswith("2026-09")


def test_html_totals_and_the_summary(rs: ReportSet, page: _Page) -> None:
    for s in rs.sections:
        if not s.totals or not len(s.table):
            continue
        foot = page.sections[s.key]["tables"][0]["tfoot"][0]
        assert foot[0] == "Total"
        for j, name in enumerate(s.table.column_names):
            if name in s.totals:
                v = s.total(name)
                want = "" if v is None else format_yuan(v) if name in s.table.money else f"{v:,}"
                assert foot[j] == want, (s.key, name)
    rows = page.sections["summary"]["tables"][0]["tbody"]
    assert rows[0] == ["as-of month", AS_OF]
    assert ["AUM", f"{format_yuan(dict((a, b) for a, b, _ in rs.summary)['AUM'])} yuan"] in rows


def test_html_long_tables_are_cut_with_a_note(rs: ReportSet, files: dict[str, Path]) -> None:
    text = files["html"].read_text(encoding="utf-8")
    n = len(rs.section("transactions").table)
    assert n > 200
    assert f"The first 200 of {n:,} rows" in text


def test_html_is_self_contained(page: _Page, files: dict[str, Path]) -> None:
    forbidden = {"script", "link", "iframe", "object", "embed", "base", "frame", "audio", "video", "source"}
    assert forbidden.isdisjoint(page.tags)
    for tag, name, value in page.attrs:
        if name in ("src", "href", "action", "data", "poster", "srcset", "background"):
            assert value.startswith(("data:image/png;base64,", "#")), (tag, name, value[:40])
        assert not name.startswith("on"), (tag, name)  # no event handlers
    assert "url(" not in page.style and "@import" not in page.style and "@font-face" not in page.style
    text = files["html"].read_text(encoding="utf-8")
    for _, _, value in page.attrs:
        if value.startswith("data:"):
            text = text.replace(value, "")
    for needle in ("http:", "https:", "//", "file:/", "ftp:"):
        assert needle not in text, needle
    hrefs = {v[1:] for _, k, v in page.attrs if k == "href"}
    assert hrefs == {"summary", *page.sections} - {""}  # every link is to a section of the page
    for section in page.sections.values():
        for src in section["images"]:
            png = base64.b64decode(src.split(",", 1)[1], validate=True)
            assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000


# ------------------------------------------------------------------ files and errors
def test_write_report_in_both_formats_and_a_bad_suffix(inputs: dict[str, Any], tmp_path: Path) -> None:
    p = inputs["portfolio"]
    rs = write_report(tmp_path / "r.xlsx", p, AS_OF)
    assert rs.keys[-1] == "alerts"
    assert openpyxl.load_workbook(tmp_path / "r.xlsx").sheetnames[0] == "Summary"
    write_report(tmp_path / "r.htm", p, AS_OF, max_rows=3)
    assert (tmp_path / "r.htm").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    with pytest.raises(AnalyticsError, match=r"\.html or \.xlsx, not '\.pdf'"):
        write_report(tmp_path / "r.pdf", p, AS_OF)
    with pytest.raises(AnalyticsError, match="html or xlsx"):
        write_report(tmp_path / "r.xlsx", p, AS_OF, format="pdf")
    assert sorted(f.name for f in tmp_path.iterdir()) == ["r.htm", "r.xlsx"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    inputs: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import custvalue.analytics._reportfile as rf

    out = tmp_path / "r.xlsx"
    out.write_bytes(b"old report")

    def broken(rs: Any, path: Path) -> None:
        path.write_bytes(b"PK half a workbook")
        raise OSError("disk full")

    monkeypatch.setattr(rf, "write_workbook", broken)
    with pytest.raises(OSError, match="disk full"):
        write_report(out, inputs["portfolio"], AS_OF)
    assert out.read_bytes() == b"old report"
    assert [f.name for f in tmp_path.iterdir()] == ["r.xlsx"]


def test_missing_optional_writers_name_their_extras(
    inputs: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rs = report_set(inputs["portfolio"], AS_OF)
    monkeypatch.setitem(sys.modules, "xlsxwriter", None)
    with pytest.raises(MissingDependencyError, match=r"custvalue\[excel\]"):
        rs.write(tmp_path / "r.xlsx")
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(MissingDependencyError, match=r"custvalue\[plot\]"):
        rs.write(tmp_path / "r.html")
    assert list(tmp_path.iterdir()) == []


def test_an_empty_portfolio_gives_a_well_formed_report(tmp_path: Path) -> None:
    p = Portfolio.from_arrays(
        customer_ids=np.array([], dtype=str),
        branch_ids=np.array([], dtype=str),
        start="2026-09",
        deposits=np.zeros((0, 2), np.int64),
    )
    rs = write_report(tmp_path / "empty.xlsx", p, AS_OF)
    rs.write(tmp_path / "empty.html")
    wb = openpyxl.load_workbook(tmp_path / "empty.xlsx")
    assert wb.sheetnames == ["Summary", *(s.sheet for s in rs.sections)]
    ws = wb["Tier distribution"]
    assert [c.value for c in ws[1][:2]] == ["branch_id", "tier"] and ws["A2"].value is None  # header only
    assert ws._charts == []  # no chart of nothing
    page = _Page()
    page.feed((tmp_path / "empty.html").read_text(encoding="utf-8"))
    assert page.h2[2:] == [s.title for s in rs.sections]
    assert page.sections["distribution"]["tables"][0]["tbody"] == []


def test_bad_arguments(inputs: dict[str, Any]) -> None:
    p = inputs["portfolio"]
    with pytest.raises(AnalyticsError, match="outside the portfolio"):
        report_set(p, "2030-01")
    with pytest.raises(AnalyticsError, match="needs a Portfolio"):
        report_set("balances.csv", AS_OF)  # type: ignore[arg-type]
    with pytest.raises(AnalyticsError, match="AllocationBook"):
        report_set(p, AS_OF, book={"M1": "B1"})  # type: ignore[arg-type]
    with pytest.raises(AnalyticsError, match="max_rows"):
        report_set(p, AS_OF).write("x.html", max_rows=-1)


def test_the_first_month_has_no_growth_and_blank_growth_totals(
    inputs: dict[str, Any], tmp_path: Path
) -> None:
    rs = report_set(inputs["portfolio"], "2025-09", book=inputs["book"])
    managers = rs.section("managers")
    assert not bool(np.any(managers.table.valid["aum_growth"]))  # no month before
    assert managers.total("aum_growth") is None and managers.total("aum") is not None
    out = tmp_path / "first.xlsx"
    rs.write(out)
    ws = openpyxl.load_workbook(out)["Manager performance"]
    names = managers.table.column_names
    total = [c.value for c in ws[len(managers.table) + 2][: len(names)]]
    assert total[0] == "Total" and total[names.index("aum_growth")] is None
    assert _fen(total[names.index("aum")]) == managers.total("aum")


def test_a_missing_directory_or_an_input_as_output_fails_before_any_work(
    inputs: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import custvalue.analytics._reportfile as rf

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the reports were computed before the output was checked")

    monkeypatch.setattr(rf, "report_set", never)
    with pytest.raises(cv_io.OutputError, match="does not exist"):
        write_report(tmp_path / "missing" / "r.xlsx", inputs["portfolio"], AS_OF)
    same = tmp_path / "in.html"
    same.write_text("input", encoding="utf-8")
    with pytest.raises(cv_io.OutputError, match="input"):
        write_report(same, inputs["portfolio"], AS_OF, inputs=[same])
    assert same.read_text(encoding="utf-8") == "input"


def test_html_without_matplotlib_keeps_every_table_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    from custvalue.analytics import write_report
    from custvalue.synthetic import generate

    real = importlib.util.find_spec

    def no_matplotlib(name: str, *args: object, **kwargs: object) -> object:
        return None if name == "matplotlib" else real(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", no_matplotlib)
    p = generate(300, seed=2)
    write_report(tmp_path / "r.html", p, p.months.stop)
    text = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Charts need matplotlib" in text and "custvalue[plot]" in text
    assert "<img" not in text and text.count("<table") >= 7


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 50), st.integers(0, 999), st.integers(0, 13), st.integers(1, 14))
def test_the_sets_trend_reuses_the_evaluation_and_equals_the_trend_alone(
    n: int, seed: int, back: int, months: int
) -> None:
    """The set tiers only the earlier months; its last two come from the evaluation: the same table."""
    from custvalue.analytics import tier_trend

    p = generate(n, seed=seed, n_branches=2)
    as_of = p.months.stop - back
    rs = report_set(p, as_of, months=months)
    alone = tier_trend(p, months=months, as_of=as_of)
    assert rs.section("trend").table.records() == alone.records()


def test_the_sets_trend_from_a_stored_path_equals_tiering_the_months() -> None:
    from custvalue import default_policy, evaluate_path

    p = generate(120, seed=4, n_branches=2)
    path = evaluate_path(p)
    assert (
        report_set(p, path=path).section("trend").table.records()
        == report_set(p).section("trend").table.records()
    )
    short = evaluate_path(p, first=p.months.stop - 2)
    with pytest.raises(AnalyticsError, match="does not cover"):
        report_set(p, path=short)
    other = default_policy().with_tier("platinum", aum_floor=400_000)
    with pytest.raises(AnalyticsError, match="another policy"):
        report_set(p, path=evaluate_path(p, other))
