"""Messages that lead to the fix: policy names, TOML strings, floors, windows, tiers, months, extras."""

from __future__ import annotations

import datetime
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custvalue import (
    MissingDependencyError,
    Month,
    PolicyError,
    Portfolio,
    compile_policy,
    default_policy,
    evaluate,
    load_policy,
    what_if,
)
from custvalue._optional import import_optional
from custvalue.allocation import AllocationBook, UnknownTierError
from custvalue.policy import default_policy_text

EXE = str(Path(sys.executable).parent / "custvalue")


def test_an_edited_policy_is_not_called_default(tmp_path: Path) -> None:
    cur = default_policy()
    new = cur.with_tier("platinum", aum_floor=Decimal("400000"))
    assert new.name == "default (edited)"
    assert new.with_tier("gold", aum_floor=Decimal("150000")).name == "default (edited)"  # once
    assert cur.with_tier("platinum", aum_floor=Decimal("500000")) is cur  # no change, no new name
    p = Portfolio.from_arrays(customer_ids=["A"], branch_ids=["X"], start="2026-10", deposits=np.array([[1]]))
    m = what_if(p, cur, new)
    assert (m.from_label, m.to_label) == ("default", "default (edited)")
    assert "default → default (edited)" in m.text()
    # an exported default, unchanged, is the default; edited, it is named after its file
    (tmp_path / "same.toml").write_text(default_policy_text())
    assert load_policy(tmp_path / "same.toml").name == "default"
    edited = default_policy_text().replace("aum_floor = 500000\n", "aum_floor = 400000\n")
    assert edited != default_policy_text()
    (tmp_path / "mine.toml").write_text(edited)
    mine = load_policy(tmp_path / "mine.toml")
    assert mine.name == "default (edited: mine.toml)" and mine.tier("platinum").aum_floor == 400000
    assert what_if(p, cur, mine).to_label == "default (edited: mine.toml)"


def test_a_card_level_written_without_feel_quotes_suggests_them(tmp_path: Path) -> None:
    text = default_policy_text()
    assert "card_level = '\"diamond\"'" in text
    (tmp_path / "p.toml").write_text(text.replace("card_level = '\"diamond\"'", 'card_level = "diamond"'))
    with pytest.raises(PolicyError) as exc:
        load_policy(tmp_path / "p.toml")
    msg = str(exc.value)
    assert "unknown name(s) diamond" in msg
    assert "card_level = '\"diamond\"'" in msg and "single quotes" in msg


def test_policy_check_warns_about_a_floor_that_can_never_fire(tmp_path: Path) -> None:
    p = default_policy().with_tier("gold", aum_floor=Decimal("500000"))
    warnings = compile_policy(p).warnings()
    assert any(
        w.startswith("tiers[3].aum_floor (rule gold.aum): gold's AUM floor 500000 is at or above platinum's")
        and "can never fire" in w
        for w in warnings
    )
    assert not any("aum_floor" in w for w in compile_policy(default_policy()).warnings())
    # a longer window still fires, for AUM reached long ago: the warning says so
    longer = default_policy().with_tier(
        "gold",
        aum_floor=Decimal("600000"),
        window=12,
        status_bands=default_policy().tier("core").status_bands,
    )
    w = [x for x in compile_policy(longer).warnings() if "gold.aum" in x]
    assert w and "more than 7 months ago" in w[0]
    p.dump(tmp_path / "bad.toml")
    done = subprocess.run([EXE, "policy", "check", "bad.toml"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0 and "warning: tiers[3].aum_floor (rule gold.aum)" in done.stdout


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 400_000), st.integers(0, 300_000))
def test_the_floor_warning_appears_exactly_when_a_floor_is_not_below_the_one_above(
    gold: int, delta: int
) -> None:
    plat = gold + delta - 150_000
    if plat <= 0:
        return
    p = (
        default_policy()
        .with_tier("gold", aum_floor=Decimal(gold))
        .with_tier("platinum", aum_floor=Decimal(plat))
    )
    if plat >= 5_000_000:
        return
    warned = any("gold.aum" in w for w in compile_policy(p).warnings())
    assert warned == (gold >= plat)


def test_changing_the_window_alone_says_which_bands_to_change() -> None:
    with pytest.raises(PolicyError) as exc:
        default_policy().with_tier("platinum", window=3)
    msg = exc.value.message
    assert "the window is 3" in msg
    assert "change tiers[2].status_bands[0].months_below (observation) to '[1..2]'" in msg
    assert "tiers[2].status_bands[1].months_below (attention) to '[3..3]'" in msg
    with pytest.raises(PolicyError) as exc:
        default_policy().with_tier("platinum", window=8)
    assert "no band covers k = 7" in exc.value.message
    assert "tiers[2].status_bands[1].months_below (attention) to '[4..8]'" in exc.value.message
    # the suggestion is right: applying it gives a valid policy
    from custvalue.policy import StatusBand

    fixed = default_policy().tier("platinum")
    ok = default_policy().with_tier(
        "platinum",
        window=3,
        status_bands=(StatusBand("observation", "[1..2]"), StatusBand("attention", "[3..3]")),
    )
    assert ok.tier("platinum").window == 3 and fixed.window == 6


def test_unknown_tier_values_are_echoed() -> None:
    with pytest.raises(KeyError, match="no tier 'platnum'"):
        default_policy().with_tier("platnum", aum_floor=1)
    book = AllocationBook.empty({"M1": "B1"})
    book, _ = book.add_customers(["C1"], "B1", effective=datetime.date(2026, 1, 1), operator="sys")
    with pytest.raises(UnknownTierError, match="unknown tier 'Gold'; tiers: core, growth, platinum, gold"):
        book.allocate("C1", "M1", tier="Gold", effective=datetime.date(2026, 2, 1), operator="BM1")
    doc = default_policy().to_dict()
    doc["minimum_allocation_tier"] = "silver"
    with pytest.raises(PolicyError, match="unknown tier 'silver'"):
        load_policy(doc)


@pytest.mark.parametrize(
    "as_of",
    [Month(2026, 10), "2026-10", datetime.date(2026, 10, 31), datetime.datetime(2026, 10, 1, 12, 30)],
)
def test_as_of_takes_a_month_text_a_date_or_a_datetime(as_of: object) -> None:
    p = Portfolio.from_arrays(
        customer_ids=["A"], branch_ids=["X"], start="2026-09", deposits=np.array([[1, 500_000_00]])
    )
    r = evaluate(p, as_of=as_of)  # type: ignore[arg-type]
    assert r.as_of == Month(2026, 10) and r.tiers().tolist() == ["platinum"]


@pytest.mark.parametrize("bad", [202610, 2026.10, None, ("2026", "10")])
def test_anything_else_as_as_of_is_a_clear_type_error(bad: object) -> None:
    p = Portfolio.from_arrays(customer_ids=["A"], branch_ids=["X"], start="2026-10", deposits=np.array([[1]]))
    if bad is None:
        assert evaluate(p, as_of=None).as_of == Month(2026, 10)  # None: the last month
        return
    with pytest.raises(TypeError, match=r'expected a month \(Month, "YYYY-MM", date or datetime\)'):
        evaluate(p, as_of=bad)  # type: ignore[arg-type]


def test_the_missing_extra_message_shows_both_install_commands() -> None:
    with pytest.raises(MissingDependencyError) as exc:
        import_optional("no_such_module_custvalue", extra="excel", feature="the Excel report")
    msg = str(exc.value)
    assert "`pip install 'custvalue[excel]'`" in msg
    assert "(in a source checkout: `pip install -e '.[excel]'`)" in msg


def test_a_function_call_in_a_policy_test_is_refused_with_its_path() -> None:
    doc = default_policy().to_dict()
    doc["tiers"][3]["criteria"][0]["when"] = {"credit_loan": 'exec("open(1)")'}
    with pytest.raises(PolicyError) as exc:
        load_policy(doc)
    assert exc.value.path == "tiers[3].criteria[0].when.credit_loan"
    assert "function call(s) exec(...)" in exc.value.message


def test_a_document_named_default_that_is_not_the_default_round_trips(tmp_path: Path) -> None:
    doc = default_policy().to_dict()
    doc["title"] = "our bank's policy"
    p = load_policy(doc)
    assert p.name == "default (edited)"
    p.dump(tmp_path / "p.json")
    assert load_policy(tmp_path / "p.json") == p
