"""Sales registration, adjustments and performance queries."""

from __future__ import annotations

import datetime as dt
import json

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from custvalue.allocation import (
    AllocationError,
    DocumentError,
    InvalidShareError,
    NoChangeError,
    SalesError,
    SalesLedger,
    SalesSplit,
)

MGRS = {"M1": "B1", "M2": "B1", "M3": "B2"}
D = dt.date(2026, 10, 5)


def test_split_config_is_data() -> None:
    assert SalesSplit.from_dict({"seller": 6000, "referrer": "40%"}).to_dict() == {
        "seller": 6000,
        "referrer": 4000,
    }
    with pytest.raises(DocumentError, match=r"\$\.split"):
        SalesSplit.from_dict({"seller": 6000, "referrer": 3000}, "$.split")
    with pytest.raises(InvalidShareError):
        SalesSplit(0, 10000)


@given(amount=st.integers(-(2**63), 2**63 - 1), seller=st.integers(1, 10000))
def test_credits_sum_exactly(amount: int, seller: int) -> None:
    ledger = SalesLedger.create(MGRS, SalesSplit(seller, 10000 - seller))
    ledger = ledger.register(
        "S", customer_id="C", product="p", amount=amount, date=D, seller="M1", referrer="M3"
    )
    credits = ledger.credits_of("S")
    assert sum(credits.values()) == amount
    assert abs(credits["M1"] * 10000 - amount * seller) < 10000
    try:
        ledger = ledger.adjust("S", {"M1": 1, "M2": 4999, "M3": "50%"}, date=D, operator="BM", reason="r")
    except NoChangeError:
        pass
    assert sum(ledger.credits_of("S").values()) == amount
    perf = ledger.performance("manager").as_dict()
    assert sum(perf.values()) == amount
    assert ledger.performance("branch").as_dict() == {
        "B1": perf["M1"] + perf["M2"],
        "B2": perf["M3"],
    }


def test_register_adjust_and_periods() -> None:
    ledger = SalesLedger.create(MGRS)
    ledger = ledger.register(
        "S1", customer_id="C1", product="fund", amount=1001, date=D, seller="M1", referrer="M2"
    )
    ledger = ledger.register(
        "S2", customer_id="C2", product="bond", amount=500, date=dt.date(2026, 11, 3), seller="M3"
    )
    ledger = ledger.register(
        "S3", customer_id="C2", product="ins", amount=10, date=D, seller="M2", referrer="M2"
    )
    assert ledger.credits_of("S1") == {"M1": 701, "M2": 300}
    assert ledger.credits_of("S3") == {"M2": 10}
    oct_ = ledger.performance("manager", dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    assert oct_.as_dict() == {"M1": 701, "M2": 310, "M3": 0}
    adj = ledger.adjust(
        "S1", {"M3": "100%"}, date=dt.date(2026, 11, 10), operator="BM1", reason="wrong seller"
    )
    assert ledger.credits_of("S1") == {"M1": 701, "M2": 300}  # original untouched
    assert adj.sales == ledger.sales
    assert adj.adjustments[-1].deltas == (("M1", -701), ("M2", -300), ("M3", 1001))
    assert adj.performance("manager", dt.date(2026, 10, 1), dt.date(2026, 10, 31)).as_dict() == oct_.as_dict()
    assert adj.performance("branch", start=dt.date(2026, 11, 1)).as_dict() == {
        "B1": -1001,
        "B2": 1501,
    }
    with pytest.raises(SalesError, match="already registered"):
        ledger.register("S1", customer_id="C", product="p", amount=1, date=D, seller="M1")
    with pytest.raises(SalesError, match="int fen"):
        ledger.register(
            "S9",
            customer_id="C",
            product="p",
            amount=1.5,
            date=D,  # type: ignore[arg-type]
            seller="M1",
        )
    with pytest.raises(SalesError, match="registry"):
        ledger.register("S9", customer_id="C", product="p", amount=1, date=D, seller="MX")
    with pytest.raises(SalesError, match="before"):
        adj.adjust("S1", {"M1": "100%"}, date=D, operator="BM", reason="r")
    with pytest.raises(NoChangeError):
        adj.adjust("S1", {"M3": "100%"}, date=dt.date(2026, 12, 1), operator="BM", reason="r")
    with pytest.raises(SalesError, match="10000"):
        adj.adjust("S1", {"M3": "90%"}, date=dt.date(2026, 12, 1), operator="BM", reason="r")


def test_ledger_round_trip_and_paths() -> None:
    ledger = SalesLedger.create(MGRS)
    ledger = ledger.register(
        "S1", customer_id="C1", product="fund", amount=1001, date=D, seller="M1", referrer="M2"
    )
    ledger = ledger.adjust("S1", {"M1": "50%", "M3": "50%"}, date=D, operator="BM", reason="r")
    doc = json.loads(json.dumps(ledger.to_dict()))
    again = SalesLedger.from_dict(doc)
    assert again.to_dict() == ledger.to_dict()
    assert again.performance().as_dict() == ledger.performance().as_dict()
    bad = json.loads(json.dumps(doc))
    bad["sales"][0]["date"] = "2026-13-01"
    with pytest.raises(DocumentError, match=r"\$\.sales\[0\]\.date"):
        SalesLedger.from_dict(bad)
    bad = json.loads(json.dumps(doc))
    bad["adjustments"][0]["credits"][0][1] += 1
    with pytest.raises(DocumentError, match=r"\$\.adjustments\[0\]"):
        SalesLedger.from_dict(bad)


# --------------------------------------------------------------------------- batch registration


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(-(2**58), 2**58),
            st.sampled_from(["M1", "M2", "M3"]),
            st.sampled_from(["M1", "M2", "M3", None]),
            st.integers(0, 40),
        ),
        max_size=25,
    ),
    st.sampled_from([(7000, 3000), (10000, 0), (3333, 6667), (5000, 5000)]),
)
def test_register_many_equals_register_one_by_one(
    rows: list[tuple[int, str, str | None, int]], split: tuple[int, int]
) -> None:
    from custvalue.allocation import SalesLedger, SalesSplit

    base = SalesLedger.create(
        {"M1": "B1", "M2": "B1", "M3": "B2"}, SalesSplit(seller_bp=split[0], referrer_bp=split[1])
    )
    one = base
    for i, (amount, seller, referrer, day) in enumerate(rows):
        one = one.register(
            f"S{i}",
            customer_id=f"C{i}",
            product="fund",
            amount=amount,
            date=dt.date(2026, 1, 1) + dt.timedelta(days=day),
            seller=seller,
            referrer=referrer,
        )
    many = base.register_many(
        [f"S{i}" for i in range(len(rows))],
        customer_ids=[f"C{i}" for i in range(len(rows))],
        products=["fund"] * len(rows),
        amounts=[r[0] for r in rows],
        dates=[dt.date(2026, 1, 1) + dt.timedelta(days=r[3]) for r in rows],
        sellers=[r[1] for r in rows],
        referrers=[r[2] for r in rows],
    )
    assert many.sales == one.sales
    for by in ("manager", "branch"):
        assert many.performance(by).as_dict() == one.performance(by).as_dict()  # type: ignore[arg-type]


def test_register_many_is_all_or_nothing() -> None:
    from custvalue.allocation import SalesError, SalesLedger

    ledger = SalesLedger.create({"M1": "B1"}).register(
        "S0", customer_id="C0", product="p", amount=1, date=dt.date(2026, 1, 1), seller="M1"
    )
    kw = {
        "customer_ids": ["C1", "C2"],
        "products": ["p", "p"],
        "amounts": [1, 2],
        "dates": [dt.date(2026, 1, 2)] * 2,
    }
    with pytest.raises(SalesError, match="'S2': seller is not in the manager registry"):
        ledger.register_many(["S1", "S2"], sellers=["M1", "MX"], **kw)  # type: ignore[arg-type]
    with pytest.raises(SalesError, match="'S0' is already registered"):
        ledger.register_many(["S0", "S2"], sellers=["M1", "M1"], **kw)  # type: ignore[arg-type]
    with pytest.raises(SalesError, match="appears twice"):
        ledger.register_many(["S1", "S1"], sellers=["M1", "M1"], **kw)  # type: ignore[arg-type]
    with pytest.raises(SalesError, match="amounts must be"):
        ledger.register_many(
            ["S1", "S2"],
            sellers=["M1", "M1"],
            customer_ids=["C1", "C2"],
            products=["p", "p"],
            amounts=[1.5, 2.0],
            dates=[dt.date(2026, 1, 2)] * 2,
        )
    assert len(ledger.sales) == 1


def test_register_many_scales_linearly() -> None:
    """100k sales in one batch (the one-by-one path would copy the ledger 100k times)."""
    import numpy as np

    from custvalue.allocation import SalesLedger

    n = 100_000
    ledger = SalesLedger.create({"M1": "B1", "M2": "B2"}).register_many(
        np.char.add("S", np.arange(n).astype(str)),
        customer_ids=np.full(n, "C"),
        products=np.full(n, "fund"),
        amounts=np.arange(n, dtype=np.int64),
        dates=np.full(n, np.datetime64("2026-10-01")),
        sellers=np.full(n, "M1"),
        referrers=np.full(n, "M2"),
    )
    perf = ledger.performance("branch").as_dict()
    assert sum(perf.values()) == n * (n - 1) // 2


# --------------------------------------------------------------------------- columnar storage


def _reference_credits(
    amount: int, seller: str, referrer: str | None, split: tuple[int, int]
) -> dict[str, int]:
    from custvalue.allocation._reference import reference_split

    if referrer is None or referrer == seller or split[1] == 0:
        return {seller: amount}
    return reference_split(amount, [(seller, split[0], True), (referrer, split[1], False)])


def _changes(old: dict[str, int], new: dict[str, int]) -> bool:
    return any(old.get(m, 0) != new.get(m, 0) for m in {*old, *new})


def _ledger_answers(ledger: SalesLedger, ids: list[str]) -> dict[str, object]:
    out: dict[str, object] = {"doc": ledger.to_dict(), "sales": ledger.sales, "adj": ledger.adjustments}
    for by in ("manager", "branch"):
        out[by] = ledger.performance(by).as_dict()  # type: ignore[arg-type]
        out[f"{by} oct"] = ledger.performance(by, end=dt.date(2026, 10, 31)).as_dict()  # type: ignore[arg-type]
    for s in ids:
        try:
            out[s] = (ledger.sale(s), ledger.credits_of(s))
        except SalesError:
            out[s] = None
    return out


@settings(max_examples=80, deadline=None)
@given(st.data(), st.sampled_from([(7000, 3000), (5000, 5000), (10000, 0)]))
def test_ledgers_agree_with_a_model_and_old_ledgers_never_change(
    data: st.DataObject, split: tuple[int, int]
) -> None:
    """Registers, batches and adjustments, sometimes from an older ledger (a fork of its store)."""
    mgrs = ["M1", "M2", "M3"]
    ids = [f"S{i}" for i in range(12)]
    ledger = SalesLedger.create(MGRS, SalesSplit(*split))
    # per ledger: the model (sale_id -> (amount, day, credits after adjustments, latest day))
    line: list[tuple[SalesLedger, dict[str, tuple[int, dt.date, dict[str, int], dt.date]]]] = [(ledger, {})]
    answers = [_ledger_answers(ledger, ids)]
    model: dict[str, tuple[int, dt.date, dict[str, int], dt.date]] = {}
    for _ in range(data.draw(st.integers(1, 15))):
        if data.draw(st.integers(0, 5)) == 0:
            ledger, model = data.draw(st.sampled_from(line))
        model = dict(model)
        kind = data.draw(st.sampled_from(["register", "register", "many", "adjust"]))
        day = dt.date(2026, 10, 1) + dt.timedelta(days=data.draw(st.integers(0, 60)))
        try:
            if kind == "register":
                sid = data.draw(st.sampled_from(ids))
                amount = data.draw(st.integers(-(10**12), 10**12))
                seller, ref = data.draw(st.sampled_from(mgrs)), data.draw(st.sampled_from([*mgrs, None]))
                ok = sid not in model
                ledger = ledger.register(
                    sid, customer_id="C", product="p", amount=amount, date=day, seller=seller, referrer=ref
                )
                model[sid] = (amount, day, _reference_credits(amount, seller, ref, split), day)
            elif kind == "many":
                batch = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=4))
                amounts = data.draw(st.lists(st.integers(0, 10**9), min_size=len(batch), max_size=len(batch)))
                sellers = data.draw(st.lists(st.sampled_from(mgrs), min_size=len(batch), max_size=len(batch)))
                as_array = data.draw(st.booleans())
                ok = len(set(batch)) == len(batch) and not set(batch) & set(model)
                ledger = ledger.register_many(
                    np.array(batch) if as_array else batch,
                    customer_ids=["C"] * len(batch),
                    products=["p"] * len(batch),
                    amounts=np.array(amounts) if as_array else amounts,
                    dates=np.array([day] * len(batch), "datetime64[D]") if as_array else [day] * len(batch),
                    sellers=sellers,
                    referrers=np.array(["M2"] * len(batch)) if as_array else ["M2"] * len(batch),
                )
                for sid, a, sl in zip(batch, amounts, sellers, strict=True):
                    model[sid] = (a, day, _reference_credits(a, sl, "M2", split), day)
            else:
                sid = data.draw(st.sampled_from(ids))
                to = data.draw(st.sampled_from(mgrs))
                ok = sid in model and day >= model[sid][3] and _changes(model[sid][2], {to: model[sid][0]})
                ledger = ledger.adjust(sid, {to: "100%"}, date=day, operator="BM", reason="r")
                amount, sday, _, _ = model[sid]
                model[sid] = (amount, sday, {to: amount}, day)
        except AllocationError:
            assert not ok, "a valid operation was refused"
            continue
        assert ok, "an invalid operation was accepted"
        line.append((ledger, model))
        answers.append(_ledger_answers(ledger, ids))
        for sid, (amount, sday, credits, _) in model.items():
            assert ledger.credits_of(sid) == credits
            assert ledger.sale(sid).amount == amount and ledger.sale(sid).date == sday
        assert sum(ledger.performance().as_dict().values()) == sum(a for a, *_ in model.values())
    for (old, _), seen in zip(line, answers, strict=True):
        assert _ledger_answers(old, ids) == seen
        assert SalesLedger.from_dict(old.to_dict()).to_dict() == old.to_dict()


@given(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=30), st.integers(1, 10000))
def test_two_way_split_equals_the_general_splitter(amounts: list[int], seller: int) -> None:
    from custvalue.allocation import split_amounts
    from custvalue.allocation._sales import _split_two

    a = np.array(amounts, np.int64)
    k = a.size
    parts = split_amounts(
        np.repeat(a, 2),
        np.tile(np.array([seller, 10000 - seller], np.int64), k),
        np.tile(np.array([0, 1], np.int64), k),
        np.arange(0, 2 * k, 2, dtype=np.int64),
        np.full(k, 2, np.int64),
    )
    first, second = _split_two(a, seller, 10000 - seller)
    assert first.tolist() == parts[0::2].tolist() and second.tolist() == parts[1::2].tolist()


def test_registering_appends_in_place_and_forks_from_an_older_ledger() -> None:
    base = SalesLedger.create(MGRS).register(
        "S0", customer_id="C", product="p", amount=5, date=D, seller="M1"
    )
    one = base.register("S1", customer_id="C", product="p", amount=7, date=D, seller="M2", referrer="M3")
    two = one.register("S2", customer_id="C", product="p", amount=9, date=D, seller="M3")
    assert base._store is one._store is two._store  # nothing copied
    other = one.register("S2", customer_id="D", product="q", amount=1, date=D, seller="M1")
    assert other._store is not two._store
    assert two.sale("S2").amount == 9 and other.sale("S2").amount == 1
    with pytest.raises(SalesError, match="not registered"):
        base.sale("S1")
    assert [s.sale_id for s in one.sales] == ["S0", "S1"]
    adj = two.adjust("S1", {"M1": "100%"}, date=D, operator="BM", reason="r")
    adj2 = two.adjust("S1", {"M2": "100%"}, date=D, operator="BM", reason="r")  # a fork of the adjustments
    assert adj.credits_of("S1") == {"M1": 7} and adj2.credits_of("S1") == {"M2": 7}
    assert two.credits_of("S1") == {"M2": 5, "M3": 2} and two.adjustments == ()
    assert adj.performance().as_dict() == {"M1": 12, "M2": 0, "M3": 9}
    assert adj2.performance().as_dict() == {"M1": 5, "M2": 7, "M3": 9}


def test_performance_totals_never_wrap() -> None:
    from custvalue import AmountOverflowError

    big = 2**62
    ledger = SalesLedger.create(MGRS).register_many(
        ["S1", "S2"],
        customer_ids=["C", "C"],
        products=["p", "p"],
        amounts=[big, big],
        dates=[D, D],
        sellers=["M1", "M1"],
    )
    with pytest.raises(AmountOverflowError, match="overflows int64"):
        ledger.performance("manager")
    assert ledger.performance("manager", end=D - dt.timedelta(days=1)).as_dict() == {
        "M1": 0,
        "M2": 0,
        "M3": 0,
    }


def test_register_many_checks_numpy_columns() -> None:
    ledger = SalesLedger.create(MGRS)
    kw = {
        "customer_ids": np.array(["C", "C"]),
        "products": np.array(["p", "p"]),
        "sellers": np.array(["M1", "M2"]),
    }
    amounts = np.array([1, 2], np.int64)
    for bad in (
        np.array(["2026-01-01", "NaT"], "datetime64[D]"),
        np.array(["2026-01-01", "10000-01-01"], "datetime64[D]"),
    ):
        with pytest.raises(SalesError, match="'S2': date must be a valid date"):
            ledger.register_many(np.array(["S1", "S2"]), amounts=amounts, dates=bad, **kw)  # type: ignore[arg-type]
    ok = ledger.register_many(
        np.array(["S1", "S2"]),
        amounts=amounts,
        dates=np.array(["2026-01-01", "2026-01-02T13:00"], "datetime64[m]"),
        referrers=np.array(["", "M3"]),
        **kw,  # type: ignore[arg-type]
    )
    assert ok.sale("S2") == ok.sales[1]
    assert ok.sale("S2").date == dt.date(2026, 1, 2) and ok.sale("S2").referrer == "M3"
    assert ok.sale("S1").referrer is None and ok.credits_of("S2") == {"M2": 1, "M3": 1}
    with pytest.raises(SalesError, match="'S3': referrer is not in the manager registry"):
        ok.register_many(
            ["S3"], amounts=[1], dates=[D], referrers=np.array(["MX"]), **{k: v[:1] for k, v in kw.items()}
        )  # type: ignore[arg-type]


def test_ids_with_a_trailing_nul_are_refused() -> None:
    """numpy str arrays drop trailing NULs: such ids could not be stored exactly."""
    ledger = SalesLedger.create(MGRS)
    with pytest.raises(SalesError, match="NUL"):
        ledger.register("S\0", customer_id="C", product="p", amount=1, date=D, seller="M1")
    with pytest.raises(SalesError, match="NUL"):
        ledger.register_many(
            ["S1"], customer_ids=["C\0"], products=["p"], amounts=[1], dates=[D], sellers=["M1"]
        )
