"""Policy documents: the default policy, exact round trips, validation errors with
their document path, documents as inert data, and what-if comparisons.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from custvalue import Portfolio, default_policy, evaluate
from custvalue.policy import Policy, PolicyError, compile_policy, default_policy_text, load_policy
from custvalue.synthetic import generate
from custvalue.tiering import what_if

YUAN = 100


def doc() -> dict[str, Any]:
    """A fresh, mutable copy of the default policy document."""
    return copy.deepcopy(default_policy().to_dict())


# --------------------------------------------------------------------------- default


def test_default_policy_is_the_spec_table() -> None:
    p = default_policy()
    assert p.tier_order == ("core", "growth", "platinum", "gold", "potential")
    assert [(t.aum_floor, t.window) for t in p.tiers] == [
        (Decimal(10_000_000), 12),
        (Decimal(5_000_000), 12),
        (Decimal(500_000), 6),
        (Decimal(200_000), 6),
        (None, None),
    ]
    assert p.aum == ("deposits", "wealth", "investments")
    assert p.tier("potential").is_catch_all
    crit = {t.id: {c.id: dict(c.when) for c in t.criteria} for t in p.tiers}
    assert crit["growth"] == {
        "card_spend": {"card_spend_12m": ">= 500000"},
        "mortgage": {"mortgage_loan": ">= 5000000"},
        "diamond_card": {"card_level": '"diamond"'},
    }
    assert crit["platinum"] == {
        "card_spend": {"card_spend_12m": ">= 100000"},
        "mortgage": {"mortgage_loan": "[1500000..5000000)"},
        "credit_loan": {"credit_loan": ">= 600000"},
    }
    assert crit["gold"] == {"credit_loan": {"credit_loan": "[300000..600000)"}}
    spend = p.feature("card_spend_12m")
    assert (spend.op, spend.column, spend.window) == ("sum", "card_spend", 11)
    cp = compile_policy(p)
    assert cp.history_needed == 13
    # status of k = 0..W for each tier with an AUM criterion (0 normal, 1 observation, 2 attention)
    assert cp.status_lut[0, :13].tolist() == [0] + [1] * 6 + [2] * 6
    assert cp.status_lut[2, :7].tolist() == [0, 1, 1, 1, 2, 2, 2]
    assert cp.status_lut[3, :7].tolist() == [0, 1, 1, 1, 2, 2, 2]
    assert p.actions("churned") == ("management_churn_report", "start_retention_workflow")
    assert p.actions("tier_up") == ("notify_rm",)


def test_shipped_document_file_loads(tmp_path: Path) -> None:
    f = tmp_path / "default.toml"
    f.write_text(default_policy_text(), encoding="utf-8")
    assert load_policy(f) == default_policy()


# --------------------------------------------------------------------------- round trips


def _changed() -> Policy:
    """A policy with a fractional floor (exactness matters) and a changed window."""
    return (
        default_policy()
        .with_tier("gold", aum_floor=Decimal("123456.78"))
        .with_tier(
            "platinum",
            window=5,
            status_bands=(
                *default_policy().tier("platinum").status_bands[:1],
                attr_band("attention", "[4..5]"),
            ),
        )
    )


def attr_band(status: str, months: str) -> Any:
    from custvalue.policy import StatusBand

    return StatusBand(status, months)


@pytest.mark.parametrize("make", [default_policy, _changed])
def test_dict_round_trip_is_exact(make: Any) -> None:
    p = make()
    d = p.to_dict()
    q = Policy.from_dict(d)
    assert q == p
    assert q.to_dict() == d


@pytest.mark.parametrize("make", [default_policy, _changed])
@pytest.mark.parametrize("fmt", ["json", "toml"])
def test_file_round_trip_is_exact(make: Any, fmt: str, tmp_path: Path) -> None:
    p = make()
    f = tmp_path / f"policy.{fmt}"
    p.dump(f)
    q = load_policy(f)
    assert q == p
    assert q.to_dict() == p.to_dict()
    # the text form too
    text = p.to_json() if fmt == "json" else p.to_toml()
    g = tmp_path / f"again.{fmt}"
    g.write_text(text, encoding="utf-8")
    assert load_policy(g) == p


def test_json_amounts_are_exact_numbers() -> None:
    text = _changed().to_json()
    assert json.loads(text, parse_float=Decimal)["tiers"][3]["aum_floor"] == Decimal("123456.78")
    assert "123456.78" in text


# --------------------------------------------------------------------------- errors


def _set(path: list[Any], value: Any) -> dict[str, Any]:
    d = doc()
    target: Any = d
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    return d


def _bands(*specs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"status": s, "months_below": m} for s, m in specs]


def _no_catch_all() -> dict[str, Any]:
    d = doc()
    d["tiers"].pop()
    return d


def _catch_all_second() -> dict[str, Any]:
    d = doc()
    d["tiers"].insert(1, {"id": "everyone"})
    return d


INVALID = [
    ("unknown top-level key", _set(["colour"], "red"), "colour"),
    ("unknown tier key", _set(["tiers", 2, "floor"], 1), "tiers[2].floor"),
    ("unknown feature key", _set(["features", "credit_loan", "windw"], 2), "features.credit_loan.windw"),
    (
        "unknown feature in criterion",
        _set(["tiers", 3, "criteria", 0, "when"], {"nope": ">= 1"}),
        "tiers[3].criteria[0].when.nope",
    ),
    (
        "bad FEEL in criterion",
        _set(["tiers", 2, "criteria", 1, "when"], {"mortgage_loan": "[1..2"}),
        "tiers[2].criteria[1].when.mortgage_loan",
    ),
    (
        "bad FEEL in band",
        _set(["tiers", 2, "status_bands", 0, "months_below"], "[1..2"),
        "tiers[2].status_bands[0].months_below",
    ),
    (
        "band gap",
        _set(["tiers", 2, "status_bands"], _bands(("observation", "[1..2]"), ("attention", "[4..6]"))),
        "tiers[2].status_bands",
    ),
    (
        "band overlap",
        _set(["tiers", 2, "status_bands"], _bands(("observation", "[1..3]"), ("attention", "[3..6]"))),
        "tiers[2].status_bands[1].months_below",
    ),
    (
        "band covers k = 0",
        _set(["tiers", 3, "status_bands"], _bands(("observation", "[0..3]"), ("attention", "[4..6]"))),
        "tiers[3].status_bands[0].months_below",
    ),
    (
        "band covers k = W + 1",
        _set(["tiers", 0, "status_bands"], _bands(("observation", "[1..6]"), ("attention", "[7..13]"))),
        "tiers[0].status_bands[1].months_below",
    ),
    (
        "unknown status",
        _set(["tiers", 2, "status_bands", 0, "status"], "normal"),
        "tiers[2].status_bands[0].status",
    ),
    ("missing catch-all", _no_catch_all(), "tiers[3]"),
    ("catch-all not last", _catch_all_second(), "tiers[1]"),
    (
        "string test on a numeric feature",
        _set(["tiers", 3, "criteria", 0, "when"], {"credit_loan": '"high"'}),
        "tiers[3].criteria[0].when.credit_loan",
    ),
    (
        "unknown card level",
        _set(["tiers", 1, "criteria", 2, "when"], {"card_level": '"titanium"'}),
        "tiers[1].criteria[2].when.card_level",
    ),
    (
        "numeric test on card level",
        _set(["tiers", 1, "criteria", 2, "when"], {"card_level": ">= 4"}),
        "tiers[1].criteria[2].when.card_level",
    ),
    ("float amount", _set(["tiers", 2, "aum_floor"], 0.1), "tiers[2].aum_floor"),
    ("float amount, whole", _set(["tiers", 2, "aum_floor"], 500000.0), "tiers[2].aum_floor"),
    ("amount finer than a fen", _set(["tiers", 2, "aum_floor"], Decimal("0.001")), "tiers[2].aum_floor"),
    ("non-positive floor", _set(["tiers", 2, "aum_floor"], 0), "tiers[2].aum_floor"),
    ("fractional window", _set(["tiers", 2, "window"], Decimal("6.5")), "tiers[2].window"),
    ("unknown AUM column", _set(["aum"], ["deposits", "gold_bars"]), "aum[1]"),
    ("unknown event", _set(["events", "tier_sideways"], {"actions": []}), "events.tier_sideways"),
    ("duplicate tier id", _set(["tiers", 3, "id"], "platinum"), "tiers[3].id"),
    (
        "name in a criterion test",
        _set(["tiers", 3, "criteria", 0, "when"], {"credit_loan": "x"}),
        "tiers[3].criteria[0].when.credit_loan",
    ),
    (
        "name in a band test",
        _set(["tiers", 2, "status_bands", 0, "months_below"], "[1..x]"),
        "tiers[2].status_bands[0].months_below",
    ),
]


@pytest.mark.parametrize(("what", "document", "path"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_document_names_the_path(what: str, document: dict[str, Any], path: str) -> None:
    with pytest.raises(PolicyError) as info:
        Policy.from_dict(document)
    assert info.value.path == path, (what, str(info.value))
    assert isinstance(info.value, ValueError)


def test_error_from_a_file_names_file_and_path(tmp_path: Path) -> None:
    d = _set(["tiers", 2, "criteria", 1, "when"], {"mortgage_loan": "[1500000..5000000"})
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(d, default=str), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(f)
    assert info.value.path == "tiers[2].criteria[1].when.mortgage_loan"
    assert info.value.file == str(f)
    assert "bad.json" in str(info.value)


def test_with_tier_refuses_a_float_amount() -> None:
    with pytest.raises(PolicyError) as info:
        default_policy().with_tier("platinum", aum_floor=400000.5)
    assert "float" in str(info.value)


def test_valid_changes_are_accepted() -> None:
    """Guard for the error table: each base document is valid before the change."""
    assert Policy.from_dict(doc()) == default_policy()
    ok = _set(["tiers", 2, "status_bands"], _bands(("attention", "[1..2]"), ("observation", "[3..6]")))
    assert Policy.from_dict(ok).tier("platinum").status_bands[0].status == "attention"


# --------------------------------------------------------------------------- inert data


SENTINEL = "custvalue_policy_pwned"

HOSTILE_TESTS = [
    "__class__",
    "x.__class__",
    "__import__",
    f"__import__('os').system('touch {SENTINEL}')",
    f'__import__("os").system("touch {SENTINEL}")',
    "().__class__.__bases__[0].__subclasses__()",
    f"exec(\"open('{SENTINEL}', 'w')\")",
    "{{7*7}}",
    "${7*7}",
]


@pytest.mark.parametrize("text", HOSTILE_TESTS)
@pytest.mark.parametrize("where", ["criterion", "band", "run feature"])
def test_feel_text_cannot_execute(
    text: str, where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    if where == "criterion":
        d = _set(["tiers", 3, "criteria", 0, "when"], {"credit_loan": text})
    elif where == "band":
        d = _set(["tiers", 2, "status_bands", 0, "months_below"], text)
    else:
        d = _set(["features", "low_run"], {"op": "run", "column": "aum", "window": 3, "test": text})
    try:
        p = Policy.from_dict(d)
    except PolicyError:
        pass
    else:  # pragma: no cover - only if a text happens to be a valid S-FEEL test
        evaluate(
            Portfolio.from_arrays(
                customer_ids=["A"], branch_ids=["B"], start="2026-10", deposits=np.array([[1]])
            ),
            p,
        )
    assert not (tmp_path / SENTINEL).exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "path",
    [
        ["__import__"],
        ["__class__"],
        ["tiers", 2, "__init__"],
        ["features", "credit_loan", "__dict__"],
    ],
)
def test_dunder_keys_are_unknown_keys(path: list[Any]) -> None:
    d = _set(path, "os.system('echo hi')")
    with pytest.raises(PolicyError) as info:
        Policy.from_dict(d)
    assert info.value.path is not None and info.value.path.endswith(str(path[-1]))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["features", "credit_loan", "op"], "__import__"),
        (["features", "credit_loan", "column"], "__class__"),
        (["aum"], ["__import__('os')"]),
        (["tiers", 2, "id"], "__import__('os')"),
        (["tiers", 3, "criteria", 0, "id"], "os.system"),
    ],
)
def test_code_in_names_is_refused(path: list[Any], value: Any) -> None:
    with pytest.raises(PolicyError):
        Policy.from_dict(_set(path, value))


def test_document_text_with_code_is_only_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Descriptions and titles may say anything: they are never evaluated."""
    monkeypatch.chdir(tmp_path)
    d = _set(["title"], f"__import__('os').system('touch {SENTINEL}')")
    d["tiers"][2]["description"] = "{{7*7}} ${7*7} `touch x`"
    p = Policy.from_dict(d)
    f = tmp_path / "p.toml"
    p.dump(f)
    assert load_policy(f) == p
    assert sorted(x.name for x in tmp_path.iterdir()) == ["p.toml"]


# --------------------------------------------------------------------------- what-if


def _portfolio() -> Portfolio:
    """Customers around the platinum floor; 14 months of constant AUM unless noted."""
    aum = [450_000, 400_000, 399_999.99, 500_000, 100_000, 600_000, 1_000_000, 300_000]
    t = 14
    dep = np.array([[round(a * YUAN)] * t for a in aum], dtype=np.int64)
    dep[7, 3] = 420_000 * YUAN  # 10 months back: outside the 6-month window
    dep[7, 9] = 410_000 * YUAN  # 4 months back: inside it
    credit = np.zeros_like(dep)
    credit[4] = 600_000 * YUAN  # platinum by credit loan
    n = len(aum)
    return Portfolio.from_arrays(
        customer_ids=[f"W{i}" for i in range(n)],
        branch_ids=["B"] * n,
        start="2025-09",
        deposits=dep,
        credit_loan=credit,
    )


def test_what_if_lower_platinum_floor() -> None:
    p = _portfolio()
    cur = default_policy()
    new = cur.with_tier("platinum", aum_floor=Decimal(400000))
    before, after = evaluate(p, cur), evaluate(p, new)
    assert before.tiers().tolist() == [
        "gold",
        "gold",
        "gold",
        "platinum",
        "platinum",
        "platinum",
        "platinum",
        "gold",
    ]
    assert after.tiers().tolist() == [
        "platinum",
        "platinum",
        "gold",
        "platinum",
        "platinum",
        "platinum",
        "platinum",
        "platinum",
    ]
    # W7 qualifies through the 410,000 month, 4 months back: k = 4, attention
    assert after.row("W7")["status"] == "attention" and after.row("W7")["months_below"] == 4
    m = what_if(p, cur, new)
    names = list(m.labels)
    gi, pi = names.index("gold"), names.index("platinum")
    assert int(m.counts[gi, pi]) == 3
    assert int(m.counts[pi, pi]) == 4
    assert int(m.counts[gi, gi]) == 1
    assert int(m.counts.sum()) == p.n_customers
    as_of_aum = p.aum()[:, -1]
    assert int(m.aum.sum()) == int(as_of_aum.sum())
    assert int(m.aum[gi, pi]) == int(as_of_aum[[0, 1, 7]].sum())
    assert m.from_label == "default"


def test_what_if_matrix_matches_pairwise_evaluation() -> None:
    p = generate(500, seed=7)
    cur = default_policy()
    new = cur.with_tier("platinum", aum_floor=Decimal(400000)).with_tier(
        "core", window=6, status_bands=cur.tier("platinum").status_bands
    )
    m = what_if(p, cur, new)
    a, b = evaluate(p, cur), evaluate(p, new)
    k = len(cur.tier_order) + 1
    want = np.zeros((k, k), dtype=np.int64)
    want_aum = np.zeros((k, k), dtype=np.int64)
    aum = p.aum()[:, -1]
    for i in range(p.n_customers):
        want[a.tier_codes[i], b.tier_codes[i]] += 1
        want_aum[a.tier_codes[i], b.tier_codes[i]] += aum[i]
    assert m.counts.tolist() == want.tolist()
    assert m.aum.tolist() == want_aum.tolist()
    assert m.counts.sum(axis=1)[:-1].tolist() == list(a.counts()["tier"].values())
    assert m.counts.sum(axis=0)[:-1].tolist() == list(b.counts()["tier"].values())
    assert int(m.aum.sum()) == int(aum.sum())
    # lowering a floor only moves customers up
    assert np.all(b.tier_codes <= a.tier_codes)


def test_changing_a_number_in_the_document_changes_results(tmp_path: Path) -> None:
    p = _portfolio()
    d = doc()
    d["tiers"][2]["aum_floor"] = 400000
    f = tmp_path / "lower.json"
    f.write_text(json.dumps(d, default=str), encoding="utf-8")
    assert evaluate(p, load_policy(f)).row("W0")["tier"] == "platinum"
    assert evaluate(p, default_policy()).row("W0")["tier"] == "gold"
    # and the window: platinum over the as-of month and 2 before lapses W7's peak
    d = doc()
    d["tiers"][2]["window"] = 2
    d["tiers"][2]["status_bands"] = _bands(("observation", "[1..1]"), ("attention", "[2..2]"))
    d["tiers"][2]["aum_floor"] = 400000
    assert evaluate(p, load_policy(d)).row("W7")["tier"] == "gold"


def test_more_than_64_tier_rules_is_a_clear_error() -> None:
    from custvalue import compile_policy, default_policy
    from custvalue.policy import PolicyError

    doc = default_policy().to_dict()
    doc["tiers"][1]["criteria"] = [
        {"id": f"c{i}", "when": {"mortgage_loan": f">= {i + 1}"}} for i in range(60)
    ]
    with pytest.raises(PolicyError) as exc:
        compile_policy(load_policy(doc))
    assert exc.value.path == "tiers" and "64" in str(exc.value)


def test_policies_with_more_than_16_rules_agree_with_the_reference() -> None:
    """Above 16 rules the kernel takes its general path (argmax, 64-bit reasons)."""
    import numpy as np

    from custvalue import MONEY_COLUMNS
    from custvalue.tiering import reference_evaluate

    doc = default_policy().to_dict()
    doc["tiers"][2]["criteria"] = [
        {"id": f"m{i}", "when": {"mortgage_loan": f"[{1_000_000 + 100_000 * i}..{1_100_000 + 100_000 * i})"}}
        for i in range(12)
    ]
    policy = load_policy(doc)
    assert len(compile_policy(policy).rule_ids) > 16
    rng = np.random.default_rng(5)
    n, t = 200, 15
    arrays = {c: np.zeros((n, t), dtype=np.int64) for c in MONEY_COLUMNS}
    arrays["deposits"] = rng.integers(0, 900_000_00, (n, t))
    arrays["mortgage_loan"] = np.repeat(rng.integers(0, 2_500_000_00, (n, 1)), t, axis=1)
    p = Portfolio.from_arrays(
        customer_ids=[f"c{i}" for i in range(n)], branch_ids=["b"] * n, start="2025-08", **arrays
    )
    r = evaluate(p, policy)
    for i in range(n):
        cols = {c: p.column(c)[i].tolist() for c in (*MONEY_COLUMNS, "card_level")}
        ref = reference_evaluate(policy, cols, 0, t - 1)
        row = r.row(f"c{i}")
        assert (row["tier"], row["status"], row["months_below"], row["churned_tier"]) == (
            ref["tier"],
            ref["status"],
            ref["months_below"],
            ref["churned_tier"],
        ), i
        assert row["reasons"] and all(x.startswith(row["tier"] + ".") for x in row["reasons"])
