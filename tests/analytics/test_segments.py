"""Segments and lifecycle stages: the [segments] section, its features and tables."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custvalue import Portfolio, default_policy, evaluate, load_policy
from custvalue.analytics import AnalyticsError, SegmentResult, Transactions, segment, segment_table
from custvalue.policy import MOVEMENT_NAMES, Policy, PolicyError, marketing_policy
from custvalue.rules import evaluate_table_scalar
from custvalue.synthetic import generate
from custvalue.tiering import MOVEMENTS

# ------------------------------------------------------------------ a small test policy

SECTION: dict[str, Any] = {
    "features": {
        "sc": {"op": "since_change", "lookback": 4, "min_change": "0.05"},
        "ch": {"op": "changes", "months": 3, "min_change": "0.05", "columns": ["deposits", "wealth"]},
        "ten": {"op": "tenure"},
        "g": {"op": "growth", "months": 2},
        "gp": {"op": "growth_pct", "months": 2},
        "tx_since": {"op": "since_transaction", "lookback": 3},
        "tx_n": {"op": "transactions", "months": 2},
    },
    "tables": [
        {
            "name": "t",
            "default": "z",
            "rules": [
                {"id": "r_sc", "when": {"sc": ">= 2"}, "output": "a"},
                {"id": "r_ch", "when": {"ch": ">= 2"}, "output": "b"},
                {"id": "r_gp", "when": {"gp": "<= -50"}, "output": "c"},
                {"id": "r_g", "when": {"g": ">= 0.1"}, "output": "d"},
                {"id": "r_ten", "when": {"ten": "< 3"}, "output": "e"},
                {"id": "r_tx", "when": {"tx_since": "<= 1", "tx_n": ">= 1"}, "output": "f"},
            ],
        },
        {
            "name": "u",
            "rules": [
                {"id": "u_a", "when": {"t": '"a"', "aum": ">= 0.1"}, "output": "x"},
                {"id": "u_tier", "when": {"tier": '>= "gold"'}, "output": "y"},
            ],
        },
    ],
}


def policy_with(section: dict[str, Any] | None = None, **extra: Any) -> Policy:
    doc = default_policy().to_dict()
    doc["segments"] = SECTION if section is None else section
    doc.update(extra)
    return load_policy(doc)


# ------------------------------------------------------------------ document


def test_section_round_trips_through_dict_json_and_toml(tmp_path: Path) -> None:
    p = policy_with()
    assert Policy.from_dict(p.to_dict()) == p
    for suffix in ("json", "toml"):
        p.dump(tmp_path / f"p.{suffix}")
        back = load_policy(tmp_path / f"p.{suffix}")
        assert attrs.evolve(back, name=p.name) == p  # (the loader may mark the name as edited)
    m = marketing_policy()
    m.dump(tmp_path / "m.toml")
    assert attrs.evolve(load_policy(tmp_path / "m.toml"), name=m.name) == m


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (("tables", 0, "rules", 0, "when", "scc"), "segments.tables[0].rules[0].when.scc", "unknown input"),
        (
            ("tables", 1, "rules", 1, "when", "tier"),
            "segments.tables[1].rules[1].when.tier",
            "unknown value 'silver'",
        ),
        (("tables", 1, "rules", 0, "when", "t"), "segments.tables[1].rules[0].when.t", "unknown value 'q'"),
        (("features", "sc", "op"), "segments.features.sc.op", "unknown op"),
        (("features", "g", "months"), "segments.features.g.months", "must be in 1..1200"),
        (("tables", 0, "hit_policy"), "segments.tables[0].hit_policy", "one label per customer"),
    ],
)
def test_bad_sections_name_the_document_path(change: tuple[Any, ...], path: str, message: str) -> None:
    import copy

    sec = copy.deepcopy(SECTION)
    node: Any = sec
    for key in change[:-1]:
        node = node[key]
    last = change[-1]
    values = {
        "scc": ">= 1",
        "tier": '"silver"',
        "t": '"q"',
        "op": "sinse",
        "months": 0,
        "hit_policy": "COLLECT",
    }
    if last in ("scc",):
        node[last] = values[last]
    else:
        node[last] = values[last]
    with pytest.raises(PolicyError) as exc:
        policy_with(sec)
    assert exc.value.path == path
    assert message in str(exc.value)


def test_numbers_and_labels_are_not_mixed() -> None:
    import copy

    sec = copy.deepcopy(SECTION)
    sec["tables"][0]["rules"][0]["when"] = {"sc": '"a"'}
    with pytest.raises(PolicyError, match=r"sc is a number"):
        policy_with(sec)
    sec["tables"][0]["rules"][0]["when"] = {"status": '>= "normal"'}
    with pytest.raises(PolicyError, match=r"status has no order"):
        policy_with(sec)
    sec["tables"][0]["rules"][0]["when"] = {"sc": ">= x"}
    with pytest.raises(PolicyError, match=r"names other values"):
        policy_with(sec)


def test_a_segment_feature_may_not_shadow_a_policy_feature() -> None:
    sec = {"features": {"credit_loan": {"op": "tenure"}}, "tables": []}
    with pytest.raises(PolicyError, match="taken by a policy feature") as exc:
        policy_with(sec)
    assert exc.value.path == "segments.features.credit_loan"


def test_movement_names_match_the_tiering_codes() -> None:
    assert MOVEMENT_NAMES == MOVEMENTS


# ------------------------------------------------------------------ features vs a scalar reference


def _ref_inputs(p: Portfolio, i: int, a: int, tx: list[tuple[int, int]] | None) -> dict[str, object]:
    """One customer's inputs, straight from the definitions (policy units: yuan, percent)."""
    hs = int(p.history_start[i])
    dep, wea, inv = (np.asarray(getattr(p, c))[i].tolist() for c in ("deposits", "wealth", "investments"))
    aum = [x + y + z for x, y, z in zip(dep, wea, inv, strict=True)]

    def changed(j: int, cols: list[list[int]]) -> bool:
        return j >= 1 and any(abs(c[j] - c[j - 1]) >= 5 for c in cols)

    all_cols = [dep, wea, inv]
    sc = 0
    for back in range(4):
        j = a - back
        if j < 1 or j < hs or changed(j, all_cols):
            break
        sc += 1
    ch = sum(1 for j in range(max(1, a - 2), a + 1) if j >= hs and changed(j, [dep, wea]))
    b = a - 2
    g = gp = None
    if b >= 0 and hs <= b:
        g = Decimal(aum[a] - aum[b]) / 100
        gp = None if aum[b] == 0 else Decimal(aum[a] - aum[b]) * 100 / Decimal(aum[b])
    opened = p.opened
    assert opened is not None
    om = opened[i].astype("datetime64[M]").astype(int)
    now = (p.months.stop.year - 1970) * 12 + p.months.stop.month - 1
    ten = max(now - int(om), 0)
    if a == 0:
        sc = ch = None  # type: ignore[assignment]
    out: dict[str, object] = {"sc": sc, "ch": ch, "ten": ten, "g": g, "gp": gp, "aum": Decimal(aum[a]) / 100}
    if tx is None:
        out["tx_since"] = out["tx_n"] = None
    else:
        months = [m for c, m in tx if c == i and m <= a]
        out["tx_since"] = min(a - max(months), 3) if months else 3
        out["tx_n"] = sum(1 for m in months if m > a - 2)
    return out


@st.composite
def portfolios(draw: Any) -> tuple[Portfolio, list[tuple[int, int]] | None]:
    n = draw(st.integers(1, 6))
    t = draw(st.integers(1, 7))
    cells = st.integers(0, 30)
    dep = np.array(draw(st.lists(st.lists(cells, min_size=t, max_size=t), min_size=n, max_size=n)), np.int64)
    wea = np.array(draw(st.lists(st.lists(cells, min_size=t, max_size=t), min_size=n, max_size=n)), np.int64)
    hs = np.array(draw(st.lists(st.integers(0, t - 1), min_size=n, max_size=n)), np.int16)
    for i in range(n):
        dep[i, : hs[i]] = 0
        wea[i, : hs[i]] = 0
    opened_back = draw(st.lists(st.integers(0, 400), min_size=n, max_size=n))
    start = np.datetime64("2026-10-31") - np.timedelta64(31 * (t - 1), "D")
    opened = np.array([start - np.timedelta64(d, "D") for d in opened_back], dtype="datetime64[D]")
    p = Portfolio.from_arrays(
        customer_ids=[f"C{i}" for i in range(n)],
        branch_ids=["B"] * n,
        start=f"2026-{11 - t:02d}" if t < 11 else "2025-12",
        deposits=dep,
        wealth=wea,
        history_start=hs,
        opened=opened,
    )
    tx = None
    if draw(st.booleans()):
        tx = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, t - 1)), max_size=8))
    return p, tx


def _transactions(p: Portfolio, tx: list[tuple[int, int]]) -> Transactions:
    months = [p.months[m] for _, m in tx]
    return Transactions.from_arrays(
        customer_ids=[str(p.customer_ids[c]) for c, _ in tx],
        timestamps=[f"{m}-15T10:00:00" for m in months],
        amounts=[100] * len(tx),
        directions=["in"] * len(tx),
    )


@settings(max_examples=60, deadline=None)
@given(portfolios())
def test_vectorised_segments_agree_with_the_scalar_reference(case: Any) -> None:
    p, tx = case
    pol = policy_with()
    a = p.n_months - 1
    txs = None if tx is None or not tx else _transactions(p, tx)
    s = segment(p, pol, transactions=txs)
    table = segment_table(pol.segments.table("t"))  # type: ignore[union-attr]
    result = evaluate(p, pol)
    for i in range(p.n_customers):
        inputs = _ref_inputs(p, i, a, tx if txs is not None else None)
        ref = evaluate_table_scalar(table, inputs)
        assert s.labels("t")[i] == ref.value, (i, inputs, s.explain(str(p.customer_ids[i])))
        assert s.rules("t")[i] == (ref.matched_rule_ids[0] if ref.matched_rule_ids else "")
        tier_low = {t: k for k, t in enumerate(reversed(pol.tier_order))}
        want_u = (
            "x"
            if ref.value == "a" and inputs["aum"] >= Decimal("0.1")  # type: ignore[operator]
            else "y"
            if tier_low[result.tiers()[i]] >= tier_low["gold"]
            else ""
        )
        assert s.labels("u")[i] == want_u


def test_hand_computed_features_and_explain() -> None:
    # months 2026-05..2026-10; deposits change by >= 1000 yuan only in 2026-07
    dep = np.array([[500_000_00, 500_000_00, 600_000_00, 600_000_50, 600_000_50, 600_000_50]])
    p = Portfolio.from_arrays(customer_ids=["A"], branch_ids=["X"], start="2026-05", deposits=dep)
    pol = marketing_policy()
    s = segment(p, pol, "2026-10")
    f = s.inputs
    assert int(f.get("months_since_change").values[0]) == 3  # Aug, Sep, Oct unchanged
    assert int(f.get("changes_6m").values[0]) == 1
    assert s.labels("activity").tolist() == ["dormant"]
    text = s.explain("A")
    assert "activity = dormant: no rule matched; the default" in text
    assert s.labels_zh("activity").tolist() == ["沉睡"]


def test_transactions_make_a_quiet_customer_active() -> None:
    dep = np.full((2, 6), 300_000_00)
    p = Portfolio.from_arrays(customer_ids=["A", "B"], branch_ids=["X", "X"], start="2026-05", deposits=dep)
    tx = Transactions.from_arrays(
        customer_ids=["A", "B"],
        timestamps=["2026-09-02T10:00:00", "2026-11-02T10:00:00"],  # B's is after the as-of month
        amounts=[100, 100],
        directions=["in", "out"],
    )
    pol = marketing_policy()
    without = segment(p, pol)
    assert without.labels("activity").tolist() == ["dormant", "dormant"]
    with_tx = segment(p, pol, transactions=tx)
    assert with_tx.labels("activity").tolist() == ["active", "dormant"]
    assert with_tx.rules("activity").tolist() == ["recent_transaction", ""]
    assert "months_since_transaction = 1 <= 2" in with_tx.explain("A")
    unknown = Transactions.from_arrays(
        customer_ids=["Z"], timestamps=["2026-09-02T10:00:00"], amounts=[1], directions=["in"]
    )
    with pytest.raises(AnalyticsError, match="not in the portfolio"):
        segment(p, pol, transactions=unknown)


# ------------------------------------------------------------------ results


def test_result_columns_join_the_tier_result(tmp_path: Path) -> None:
    p = generate(300, seed=4)
    pol = marketing_policy()
    r = evaluate(p, pol)
    s = segment(p, pol, result=r)
    assert isinstance(s, SegmentResult)
    cols = s.result_columns()
    assert list(cols)[: len(r.columns())] == list(r.columns())
    assert list(cols)[-2:] == ["activity", "lifecycle"]
    assert sum(s.counts("lifecycle").values()) == 300
    df = s.to_pandas(with_result=True)
    assert list(df["lifecycle"].astype(str)) == s.labels("lifecycle").tolist()
    assert list(df.columns[:3]) == ["customer_id", "branch_id", "as_of"]
    s.write(tmp_path / "seg.csv")
    head = (tmp_path / "seg.csv").read_text().splitlines()[0]
    assert head == "customer_id,activity,activity_rule,lifecycle,lifecycle_rule"


def test_customers_without_data_get_no_label() -> None:
    dep = np.array([[100_00, 100_00], [0, 0]])
    p = Portfolio.from_arrays(
        customer_ids=["A", "B"],
        branch_ids=["X", "X"],
        start="2026-09",
        deposits=dep,
        history_start=np.array([0, 1]),
    )
    s = segment(p, marketing_policy(), "2026-09")
    assert s.labels("activity").tolist() == ["dormant", ""]  # nothing is known of changes yet
    assert "no data at the as-of month" in s.explain("B")


def test_a_result_of_another_month_is_refused() -> None:
    p = generate(20, seed=1)
    pol = marketing_policy()
    r = evaluate(p, pol, as_of="2026-09")
    with pytest.raises(AnalyticsError, match="as of 2026-09"):
        segment(p, pol, "2026-10", result=r)
    with pytest.raises(AnalyticsError, match="outside"):
        segment(p, pol, "2030-01")


def test_a_policy_without_segments_gives_no_tables() -> None:
    s = segment(generate(10, seed=1))
    assert s.table_names == ()
    assert list(s.columns()) == ["customer_id"]


def test_tenure_without_opening_dates_counts_months_of_data() -> None:
    dep = np.full((2, 8), 1_000_00)
    dep[1, :5] = 0
    p = Portfolio.from_arrays(
        customer_ids=["A", "B"],
        branch_ids=["X", "X"],
        start="2026-03",
        deposits=dep,
        history_start=np.array([0, 5]),
    )
    s = segment(p, marketing_policy())
    assert s.inputs.get("tenure_months").values.tolist() == [7, 2]
    assert s.labels("lifecycle").tolist() == ["mature", "new"]
    # B's balance appeared in 2026-08 (a change from nothing); A never changed
    assert s.inputs.get("months_since_change").values.tolist() == [7, 2]
