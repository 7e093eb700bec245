"""Campaign runs: selection, exclusions, contact caps, priority, managers, contacts files."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custvalue import Portfolio, default_policy, evaluate, load_policy
from custvalue.allocation import AllocationBook
from custvalue.analytics import (
    OUTCOMES,
    TARGET_COLUMNS,
    AnalyticsError,
    Contacts,
    ContactsError,
    read_contacts,
    run_campaigns,
    segment,
)
from custvalue.policy import PolicyError, marketing_policy
from custvalue.synthetic import generate

RUN = dt.date(2026, 10, 31)


def portfolio() -> Portfolio:
    # A core, B platinum, C gold (credit loan), D potential, E potential with 150k
    aum = np.array([[12_000_000_00], [600_000_00], [50_000_00], [10_000_00], [150_000_00]])
    credit = np.array([[0], [0], [400_000_00], [0], [0]])
    return Portfolio.from_arrays(
        customer_ids=["A", "B", "C", "D", "E"],
        branch_ids=["X", "X", "Y", "Y", "Y"],
        start="2026-10",
        deposits=aum,
        credit_loan=credit,
    )


def policy(campaigns: list[dict[str, Any]]) -> Any:
    doc = default_policy().to_dict()
    doc["campaigns"] = campaigns
    return load_policy(doc)


def test_priority_exclusions_and_caps_by_hand() -> None:
    pol = policy(
        [
            {"id": "vip", "priority": 1, "tiers": ["core", "platinum"], "exclude": [{"aum": ">= 10000000"}]},
            {"id": "all_tiers", "priority": 2, "when": {"aum": ">= 1"}},
            {
                "id": "extra",
                "priority": 3,
                "tiers": ["potential"],
                "exclusive": False,
                "cap": {"contacts": 1, "days": 30},
            },
            {"id": "off", "enabled": False},
        ]
    )
    contacts = Contacts.from_arrays(
        customer_ids=["E", "D", "D"],
        campaign_ids=["extra", "extra", "extra"],
        dates=["2026-10-15", "2026-09-01", "2026-10-31"],
    )
    run = run_campaigns(portfolio(), pol, "2026-10", contacts=contacts)
    assert run.campaign_ids == ("vip", "all_tiers", "extra")
    assert run.targets_of("vip").tolist() == ["B"]  # A is excluded: exclusions win
    assert run.outcome("vip", "A") == "excluded"
    assert run.targets_of("all_tiers").tolist() == ["A", "C", "D", "E"]  # B taken by vip
    assert run.outcome("all_tiers", "B") == "preempted"
    # extra is not exclusive; E and D were contacted within 30 days of the run (D on the run date)
    assert run.targets_of("extra").tolist() == []
    assert run.outcome("extra", "E") == "capped" and run.outcome("extra", "D") == "capped"
    later = run_campaigns(portfolio(), pol, "2026-10", contacts=contacts, run_date=dt.date(2026, 11, 20))
    # E's contact of 2026-10-15 is 36 days before; D's of 2026-10-31 is still within 30 days
    assert later.targets_of("extra").tolist() == ["E"]
    assert later.outcome("extra", "D") == "capped"
    stats = run.stats().records()
    assert stats[0] == {
        "campaign_id": "vip",
        "matched": 2,
        "excluded": 1,
        "capped": 0,
        "preempted": 0,
        "targeted": 1,
    }
    assert run.column_names == TARGET_COLUMNS
    rows = run.records()
    assert rows[0]["campaign_id"] == "vip" and rows[0]["rank"] == 1 and rows[0]["tier"] == "platinum"
    assert rows[0]["allocation"] == "no_book" and rows[0]["pool_branch_id"] == "X"
    assert rows[0]["reasons"] == "vip: tier in (core, platinum)"
    assert rows[-1]["reasons"] == "all_tiers: aum >= 1"


def test_scope_all_counts_this_runs_contacts() -> None:
    pol = policy(
        [
            {"id": "first", "priority": 1, "when": {"aum": ">= 0"}, "exclusive": False},
            {
                "id": "second",
                "priority": 2,
                "when": {"aum": ">= 0"},
                "exclusive": False,
                "cap": {"contacts": 1, "days": 7, "scope": "all"},
            },
        ]
    )
    run = run_campaigns(portfolio(), pol)
    assert run.counts() == {"first": 5, "second": 0}
    assert {run.outcome("second", c) for c in "ABCDE"} == {"capped"}


def test_managers_come_from_the_book() -> None:
    d = dt.date(2026, 1, 1)
    book = AllocationBook.empty({"M1": "X", "M2": "X"}, branches=["X", "Y"])
    book, _ = book.add_customers(["A", "B", "C"], ["X", "X", "Y"], effective=d, operator="sys")
    book, _ = book.allocate("A", "M2", {"M1": "40%", "M2": "60%"}, tier="core", effective=d, operator="bm")
    pol = policy([{"id": "everyone", "when": {"aum": ">= 0"}}])
    run = run_campaigns(portfolio(), pol, book=book, run_date=RUN)
    got = {r["customer_id"]: (r["manager_id"], r["allocation"], r["pool_branch_id"]) for r in run.records()}
    assert got == {
        "A": ("M2", "allocated", ""),
        "B": ("", "pool", "X"),
        "C": ("", "pool", "Y"),
        "D": ("", "not_in_book", "Y"),
        "E": ("", "not_in_book", "Y"),
    }
    before = run_campaigns(portfolio(), pol, book=book, run_date=dt.date(2025, 12, 31))
    assert {r["allocation"] for r in before.records()} == {"not_in_book"}


def test_bad_campaigns_name_the_document_path() -> None:
    cases = [
        ({"id": "x", "tiers": ["silver"]}, "campaigns[0].tiers[0]", "unknown tier 'silver'"),
        ({"id": "x", "statuses": ["sleepy"]}, "campaigns[0].statuses[0]", "unknown status"),
        ({"id": "x", "when": {"clv": ">= 1"}}, "campaigns[0].when.clv", "unknown input"),
        ({"id": "x", "exclude": [{"tier": '"silver"'}]}, "campaigns[0].exclude[0].tier", "unknown value"),
        ({"id": "x", "cap": {"contacts": 1, "days": 0}}, "campaigns[0].cap.days", "must be in 1..3660"),
        (
            {"id": "x", "cap": {"contacts": 1, "days": 3, "scope": "me"}},
            "campaigns[0].cap.scope",
            "unknown scope",
        ),
        ({"id": "x", "measures": ["aum"]}, "campaigns[0].measures[0]", "already an input"),
        ({"id": "x", "colour": 1}, "campaigns[0].colour", "unknown key"),
    ]
    for camp, path, message in cases:
        with pytest.raises(PolicyError) as exc:
            policy([camp])
        assert exc.value.path == path, camp
        assert message in str(exc.value)
    with pytest.raises(PolicyError, match="duplicate campaign id"):
        policy([{"id": "x"}, {"id": "x"}])


def test_supplied_measures() -> None:
    pol = policy([{"id": "valuable", "measures": ["clv"], "when": {"clv": ">= 1000.5"}}])
    clv = np.array([1000.5, 1000.49, 0.0, 2e6, np.nan])
    run = run_campaigns(portfolio(), pol, measures={"clv": clv})
    assert run.targets_of("valuable").tolist() == ["A", "D"]
    fen = np.array([100_050, 100_049, 0, 1, 2])
    assert run_campaigns(portfolio(), pol, measures={"clv": (fen, 100)}).targets_of("valuable").tolist() == [
        "A"
    ]
    with pytest.raises(AnalyticsError, match="measures="):
        run_campaigns(portfolio(), pol)
    with pytest.raises(AnalyticsError, match="has no"):
        run_campaigns(portfolio(), default_policy())


def test_marketing_run_and_files(tmp_path: Path) -> None:
    p = generate(1500, seed=8)
    pol = marketing_policy()
    seg = segment(p, pol)
    run = run_campaigns(p, pol, segments=seg)
    assert sum(run.counts().values()) == len(run)
    run.write(tmp_path / "t.csv")
    lines = (tmp_path / "t.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(TARGET_COLUMNS) and len(lines) == len(run) + 1
    run.write(tmp_path / "t.parquet")
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "t.parquet").num_rows == len(run)
    assert list(run.to_pandas().columns) == list(TARGET_COLUMNS)
    # an existing output survives a failing write
    (tmp_path / "keep.csv").write_text("old")
    with pytest.raises(ValueError, match="unknown file format"):
        run.write(tmp_path / "keep.csv", format="xlsx")
    assert (tmp_path / "keep.csv").read_text() == "old"


# ------------------------------------------------------------------ properties


@st.composite
def runs(draw: Any) -> tuple[Portfolio, list[dict[str, Any]], Contacts | None]:
    n = draw(st.integers(1, 12))
    # fen: typical levels, and every bound of the tests below at the bound and 1 fen either side
    typical = [v * 100 for v in (10_000, 150_000, 250_000, 600_000, 6_000_000, 12_000_000)]
    bounds = [
        v * 100 + d for v in (20_000, 100_000, 200_000, 500_000, 1_000_000, 7_000_000) for d in (-1, 0, 1)
    ]
    levels = draw(st.lists(st.sampled_from(typical + bounds), min_size=n, max_size=n))
    p = Portfolio.from_arrays(
        customer_ids=[f"C{i:02d}" for i in range(n)],
        branch_ids=["X"] * n,
        start="2026-10",
        deposits=np.array(levels, np.int64)[:, None],
    )
    tiers = ["core", "growth", "platinum", "gold", "potential"]
    camps = []
    for k in range(draw(st.integers(1, 5))):
        c: dict[str, Any] = {"id": f"c{k}", "exclusive": draw(st.booleans())}
        if draw(st.booleans()):
            c["priority"] = draw(st.integers(0, 3))
        if draw(st.booleans()):
            c["tiers"] = draw(st.lists(st.sampled_from(tiers), min_size=1, max_size=3, unique=True))
        if draw(st.booleans()):
            c["when"] = {"aum": draw(st.sampled_from([">= 100000", "< 500000", "[200000..7000000)"]))}
        if draw(st.booleans()):
            c["exclude"] = [{"aum": draw(st.sampled_from([">= 1000000", "< 20000"]))}]
        if draw(st.booleans()):
            c["cap"] = {
                "contacts": draw(st.integers(0, 3)),
                "days": draw(st.integers(1, 60)),
                "scope": draw(st.sampled_from(["campaign", "all"])),
            }
        camps.append(c)
    contacts = None
    if draw(st.booleans()):
        rows = draw(
            st.lists(
                st.tuples(st.integers(0, n - 1), st.integers(0, len(camps)), st.integers(-5, 70)), max_size=20
            )
        )
        contacts = Contacts.from_arrays(
            customer_ids=[f"C{i:02d}" for i, _, _ in rows],
            campaign_ids=[f"c{k}" for _, k, _ in rows],
            dates=[str(np.datetime64(RUN) - np.timedelta64(d, "D")) for _, _, d in rows],
        )
    return p, camps, contacts


def _scalar_test(text: str, value: Decimal) -> bool:
    from custvalue.rules import match_unary_tests, parse_unary_tests

    return bool(match_unary_tests(parse_unary_tests(text), value))


@settings(max_examples=80, deadline=None)
@given(runs())
def test_run_agrees_with_a_customer_by_customer_reference(case: Any) -> None:
    """Caps are never exceeded, priority is respected and exclusions win (reference walk)."""
    p, camps, contacts = case
    pol = policy(camps)
    run = run_campaigns(p, pol, contacts=contacts, run_date=RUN)
    tiers = evaluate(p, pol).tiers()
    aum = [Decimal(int(v)) / 100 for v in p.deposits[:, 0].tolist()]
    order = sorted(
        range(len(camps)), key=lambda i: (camps[i].get("priority") is None, camps[i].get("priority", 0), i)
    )
    assert run.campaign_ids == tuple(camps[i]["id"] for i in order)
    taken = [False] * p.n_customers
    run_count = [0] * p.n_customers
    for k, ci in enumerate(order):
        c = camps[ci]
        for i in range(p.n_customers):
            ok = (not c.get("tiers") or tiers[i] in c["tiers"]) and all(
                _scalar_test(t, aum[i]) for t in c.get("when", {}).values()
            )
            excluded = ok and any(_scalar_test(e["aum"], aum[i]) for e in c.get("exclude", []))
            capped = False
            if ok and not excluded and "cap" in c:
                cap = c["cap"]
                prior = 0
                if contacts is not None:
                    for cid, camp, day in zip(
                        contacts.customer_ids.tolist(),
                        contacts.campaign_ids.tolist(),
                        contacts.dates.astype(object).tolist(),
                        strict=True,
                    ):
                        if (
                            cid == p.customer_ids[i]
                            and 0 <= (RUN - day).days < cap["days"]
                            and (cap["scope"] == "all" or camp == c["id"])
                        ):
                            prior += 1
                if cap["scope"] == "all":
                    prior += run_count[i]
                capped = prior >= cap["contacts"]
            pre = ok and not excluded and not capped and c["exclusive"] and taken[i]
            want = (
                "not_matched"
                if not ok
                else "excluded"
                if excluded
                else "capped"
                if capped
                else "preempted"
                if pre
                else "targeted"
            )
            assert OUTCOMES[int(run.outcomes[k, i])] == want, (c, i)
            if want == "targeted":
                run_count[i] += 1
                if c["exclusive"]:
                    taken[i] = True
    # at most one exclusive campaign per customer
    exclusive = [k for k, ci in enumerate(order) if camps[ci]["exclusive"]]
    if exclusive:
        assert int((run.outcomes[exclusive] == OUTCOMES.index("targeted")).sum(axis=0).max()) <= 1


# ------------------------------------------------------------------ contacts files


def test_contacts_files_report_file_line_and_column(tmp_path: Path) -> None:
    f = tmp_path / "c.csv"
    f.write_text("customer_id,campaign_id,date\nC1,vip,2026-10-03\n\nC2,,2026-10-04\n", encoding="utf-8")
    with pytest.raises(ContactsError) as exc:
        read_contacts(f)
    assert (exc.value.line, exc.value.column, exc.value.customer_id) == (4, "campaign_id", "C2")
    f.write_text("customer_id,campaign,date\n", encoding="utf-8")
    with pytest.raises(ContactsError, match="unknown column") as exc:
        read_contacts(f)
    assert exc.value.line == 1
    f.write_text("customer_id,campaign_id,date\nC1,vip,03/10/2026\n", encoding="utf-8")
    with pytest.raises(ContactsError, match="is not a date") as exc:
        read_contacts(f)
    assert (exc.value.file, exc.value.line, exc.value.column) == (str(f), 2, "date")
    f.write_text("customer_id,campaign_id,date\nC1,vip\n", encoding="utf-8")
    with pytest.raises(ContactsError, match="expected 3 fields"):
        read_contacts(f)
    with pytest.raises(ContactsError, match="cannot open"):
        read_contacts(tmp_path / "missing.csv")
    good = Contacts.from_arrays(
        customer_ids=["C1", "C2"],
        campaign_ids=["a", "b"],
        dates=np.array(["2026-10-01", "2026-10-02"], dtype="datetime64[D]"),
    )
    for name in ("c.csv", "c.parquet"):
        back = read_contacts(good.write(tmp_path / name))
        assert back.customer_ids.tolist() == ["C1", "C2"] and back.dates.tolist() == good.dates.tolist()


@pytest.mark.parametrize(
    "ids",
    [
        ["C3", "C1", "C2"],  # unsorted short ASCII: packed integer keys
        ["客户2", "B", "A1234567890"],  # unsorted, non-ASCII and long: text keys
        ["A", "B", "C"],  # sorted: no sort at all
    ],
)
def test_contacts_and_books_find_customers_by_any_id(ids: list[str]) -> None:
    p = Portfolio.from_arrays(
        customer_ids=ids, branch_ids=["X"] * 3, start="2026-10", deposits=np.array([[1], [2], [3]])
    )
    pol = policy([{"id": "c", "when": {"aum": ">= 0"}, "cap": {"contacts": 1, "days": 10}}])
    contacts = Contacts.from_arrays(
        customer_ids=[ids[2], ids[0], "Z", "A12345678901234567"],
        campaign_ids=["c"] * 4,
        dates=["2026-10-30"] * 4,
    )
    book = AllocationBook.empty({"M": "X"})
    book, _ = book.add_customers(ids, "X", effective=dt.date(2026, 1, 1), operator="s")
    book, _ = book.allocate(ids[1], "M", tier="gold", effective=dt.date(2026, 1, 1), operator="s")
    run = run_campaigns(p, pol, contacts=contacts, book=book)
    assert [run.outcome("c", i) for i in ids] == ["capped", "targeted", "capped"]
    assert run.records()[0]["manager_id"] == "M"


def test_a_tier_list_and_a_tier_test_must_both_hold() -> None:
    pol = policy([{"id": "c", "tiers": ["platinum", "potential"], "when": {"tier": '>= "platinum"'}}])
    run = run_campaigns(portfolio(), pol)
    assert run.targets_of("c").tolist() == ["B"]  # platinum; A (core) is not listed, D/E fail the test
    assert run.records()[0]["reasons"] == 'c: tier in (platinum, potential); tier >= "platinum"'


_ID_CHARS = st.sampled_from(["A", "B", "C", "0", "1", "é", "客", "\x01", "Z"])
_IDS = st.text(alphabet=_ID_CHARS, min_size=1, max_size=10)


@settings(max_examples=200)
@given(st.lists(_IDS, max_size=30, unique=True), st.lists(_IDS, max_size=30), st.booleans())
def test_id_lookup_agrees_with_a_list_search(
    portfolio_ids: list[str], queried: list[str], ordered: bool
) -> None:
    """Packed keys (<= 8 Latin-1 characters) and text search, sorted or not, find exactly the ids."""
    from custvalue._ids import IdLookup as _Lookup
    from custvalue._ids import packed_keys as _packed_keys

    hay = sorted(portfolio_ids) if ordered else portfolio_ids
    ids = np.asarray(hay, dtype=str) if hay else np.zeros(0, "<U1")
    rows, found = _Lookup(ids).rows(np.asarray(queried, dtype=str) if queried else np.zeros(0, "<U1"))
    for k, x in enumerate(queried):
        assert bool(found[k]) == (x in hay)
        if x in hay:
            assert int(rows[k]) == hay.index(x)
    keys = _packed_keys(ids)
    if keys is not None:  # order-preserving: the keys sort as the ids do
        assert np.argsort(keys, kind="stable").tolist() == np.argsort(ids, kind="stable").tolist()
