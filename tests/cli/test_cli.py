"""The ``custvalue`` command: worked examples end to end, policy tools, errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from custvalue import Month, __version__
from custvalue.cli import main

START = Month(2025, 8)
AS_OF = Month(2026, 10)
MONTHS = [START + i for i in range(AS_OF - START + 1)]
HEADER = [
    "customer_id",
    "branch_id",
    "month",
    "deposits",
    "wealth",
    "investments",
    "mortgage_loan",
    "credit_loan",
    "card_spend",
    "card_level",
]


def _aum_until(before: Month, high: str, low: str) -> list[str]:
    return [high if m <= before else low for m in MONTHS]


# SPEC section 8: (customer, monthly AUM, mortgage, credit loan, card level, expected)
EXAMPLES = [
    ("E1", ["500000.00"] * len(MONTHS), "0", "0", "none", ("platinum", "normal", "", "")),
    ("E2", ["499999.99"] * len(MONTHS), "0", "0", "none", ("gold", "normal", "", "")),
    (
        "E3",
        _aum_until(Month(2026, 6), "600000", "300000"),
        "0",
        "0",
        "none",
        ("platinum", "attention", "same", ""),
    ),
    (
        "E4",
        _aum_until(Month(2026, 3), "600000", "300000"),
        "0",
        "0",
        "none",
        ("gold", "normal", "down", "platinum"),
    ),
    ("E5", ["50000"] * len(MONTHS), "5000000", "0", "none", ("growth", "normal", "", "")),
    ("E6a", ["50000"] * len(MONTHS), "0", "600000", "none", ("platinum", "normal", "", "")),
    ("E6b", ["50000"] * len(MONTHS), "0", "599999.99", "none", ("gold", "normal", "", "")),
    (
        "E7",
        _aum_until(Month(2025, 10), "12000000", "9000000"),
        "0",
        "0",
        "none",
        ("core", "attention", "same", ""),
    ),
    ("E8", ["10000"] * len(MONTHS), "0", "0", "diamond", ("growth", "normal", "", "")),
]


def _write_balances(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(rows)


def _example_rows() -> list[list[str]]:
    rows = []
    for cid, aum, mort, cred, card, _ in EXAMPLES:
        for m, a in zip(MONTHS, aum, strict=True):
            rows.append([cid, "B01", str(m), a, "0", "0", mort, cred, "0", card])
    return rows


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _read_result(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == [
            "customer_id",
            "branch_id",
            "as_of",
            "aum",
            "tier",
            "status",
            "months_below",
            "previous_tier",
            "movement",
            "churned_tier",
            "history_complete",
            "reasons",
        ]
        return {row["customer_id"]: row for row in reader}


@pytest.mark.parametrize("out_suffix", ["csv", "parquet"])
@pytest.mark.parametrize("in_suffix", ["csv", "parquet"])
def test_worked_examples_through_the_command_line(tmp_path: Path, in_suffix: str, out_suffix: str) -> None:
    balances = tmp_path / "balances.csv"
    _write_balances(balances, _example_rows())
    if in_suffix == "parquet":
        from custvalue.io import read_balances, write_balances

        write_balances(read_balances(balances), tmp_path / "balances.parquet")
        balances = tmp_path / "balances.parquet"
    out = tmp_path / f"result.{out_suffix}"
    code, _, err = _run("evaluate", "--balances", str(balances), "--as-of", "2026-10", "--out", str(out))
    assert code == 0, err
    if out_suffix == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(out).to_pylist()
        rows = {
            r["customer_id"]: {k: str(v) if not isinstance(v, bool) else str(v).lower() for k, v in r.items()}
            for r in table
        }
    else:
        rows = _read_result(out)
    for cid, *_, (tier, status, movement, churned) in EXAMPLES:
        row = rows[cid]
        assert (row["tier"], row["status"]) == (tier, status), cid
        if movement:
            assert row["movement"] == movement, cid
        assert row["churned_tier"] == churned, cid
        assert row["as_of"] == "2026-10"
        assert row["history_complete"] == "true"
    assert rows["E3"]["months_below"] == "4"
    assert rows["E7"]["months_below"] == "12"
    assert rows["E5"]["reasons"] == "growth.mortgage"
    assert rows["E1"]["reasons"] == "platinum.aum"
    # the SPEC's result columns: branch and AUM at the as-of month, exact yuan
    assert rows["E1"]["branch_id"] == "B01"
    assert rows["E1"]["aum"] == "500000.00" and rows["E2"]["aum"] == "499999.99"


def test_example_7_one_month_later_churns_core(tmp_path: Path) -> None:
    rows = [r for r in _example_rows() if r[0] == "E7"]
    rows.append(["E7", "B01", "2026-11", "9000000", "0", "0", "0", "0", "0", "none"])
    balances = tmp_path / "b.csv"
    _write_balances(balances, rows)
    out = tmp_path / "r.csv"
    code, _, err = _run("evaluate", "--balances", str(balances), "--as-of", "2026-11", "--out", str(out))
    assert code == 0, err
    row = _read_result(out)["E7"]
    assert (row["tier"], row["movement"], row["churned_tier"]) == ("growth", "down", "core")


def test_custom_policy_changes_results(tmp_path: Path) -> None:
    balances = tmp_path / "b.csv"
    _write_balances(balances, _example_rows())
    pol = tmp_path / "policy.json"
    assert _run("policy", "export", "--out", str(pol))[0] == 0
    doc = json.loads(pol.read_text())
    doc["tiers"][2]["aum_floor"] = "499999.99"
    pol.write_text(json.dumps(doc))
    assert _run("policy", "check", str(pol))[0] == 0
    out = tmp_path / "r.csv"
    code, _, err = _run(
        "evaluate", "--balances", str(balances), "--policy", str(pol), "--as-of", "2026-10", "--out", str(out)
    )
    assert code == 0, err
    assert _read_result(out)["E2"]["tier"] == "platinum"


def test_bad_row_names_file_line_column_and_writes_nothing(tmp_path: Path) -> None:
    rows = _example_rows()
    rows[5][3] = "12.345"
    balances = tmp_path / "bad.csv"
    _write_balances(balances, rows)
    out = tmp_path / "r.csv"
    code, _, err = _run("evaluate", "--balances", str(balances), "--as-of", "2026-10", "--out", str(out))
    assert code == 2
    assert "bad.csv" in err and "line 7" in err and "deposits" in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [balances]


def test_bad_policy_and_output_format(tmp_path: Path) -> None:
    balances = tmp_path / "b.csv"
    _write_balances(balances, _example_rows())
    pol = tmp_path / "p.json"
    pol.write_text(
        json.dumps(
            {
                "name": "x",
                "tiers": [{"id": "a", "criteria": [{"id": "c", "when": {"nope": ">= 1"}}]}, {"id": "rest"}],
            }
        )
    )
    code, _, err = _run("policy", "check", str(pol))
    assert code == 2 and "tiers[0].criteria[0].when.nope" in err
    code, _, err = _run(
        "evaluate", "--balances", str(balances), "--as-of", "2026-10", "--out", str(tmp_path / "r.xlsx")
    )
    assert code == 2 and "unknown file format" in err
    code, _, err = _run(
        "evaluate", "--balances", str(balances), "--as-of", "2030-01", "--out", str(tmp_path / "r.csv")
    )
    assert code == 2 and "2030-01" in err
    assert not (tmp_path / "r.csv").exists()


def test_policy_show_and_export_round_trip(tmp_path: Path) -> None:
    code, out, _ = _run("policy", "show")
    assert code == 0 and "platinum.mortgage" in out and "[1500000..5000000)" in out
    code, out, _ = _run("policy", "show", "--format", "toml")
    assert code == 0 and "aum_floor = 500000" in out
    for suffix in ("toml", "json"):
        path = tmp_path / f"p.{suffix}"
        assert _run("policy", "export", "--out", str(path))[0] == 0
        code, out, _ = _run("policy", "check", str(path))
        assert code == 0 and "valid policy 'default'" in out
        from custvalue import default_policy, load_policy

        assert load_policy(path) == default_policy()


def test_demo_runs_and_summarises() -> None:
    code, out, _ = _run("demo", "--customers", "5000", "--seed", "7")
    assert code == 0
    for word in ("platinum", "status:", "movement:", "churned:", "events:", "entered_attention"):
        assert word in out
    assert "because rule" in out


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert __version__ in capsys.readouterr().out
    code, out, _ = _run()
    assert code == 0 and "evaluate" in out


def test_policy_check_warns_about_a_shadowed_criterion(tmp_path: Path) -> None:
    pol = tmp_path / "p.json"
    assert _run("policy", "export", "--out", str(pol))[0] == 0
    doc = json.loads(pol.read_text())
    doc["tiers"][1]["criteria"][0]["when"] = {"card_spend_12m": ">= 50000"}  # below platinum's 100,000
    pol.write_text(json.dumps(doc))
    code, out, _ = _run("policy", "check", str(pol))
    assert code == 0
    assert "warning: tiers[2].criteria[0] (rule platinum.card_spend): rule can never fire" in out
    code, out, _ = _run("policy", "show")
    assert "warning" not in out


def test_exporting_the_default_policy_as_toml_keeps_its_comments(tmp_path: Path) -> None:
    from custvalue.policy import default_policy_text

    path = tmp_path / "p.toml"
    assert _run("policy", "export", "--out", str(path))[0] == 0
    assert path.read_text(encoding="utf-8") == default_policy_text()
    assert path.read_text(encoding="utf-8").startswith("# custvalue default tier policy")


def test_broken_pipe_exits_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    from custvalue.cli import _demo

    def boom(args: object, out: object, err: object) -> int:
        raise BrokenPipeError

    monkeypatch.setattr(_demo, "run", boom)
    out, err = io.StringIO(), io.StringIO()
    import os
    import sys

    saved = os.dup(sys.stdout.fileno()) if hasattr(sys.stdout, "fileno") else None
    try:
        assert main(["demo"], stdout=out, stderr=err) == 0
    except io.UnsupportedOperation:  # pytest's captured stdout has no file descriptor
        pass
    finally:
        if saved is not None:
            os.dup2(saved, sys.stdout.fileno())
            os.close(saved)
    assert err.getvalue() == ""


def test_policy_diff_prints_changes_and_the_migration(tmp_path: Path) -> None:
    from custvalue import default_policy

    old, new = tmp_path / "old.toml", tmp_path / "new.toml"
    default_policy().dump(old)
    default_policy().with_tier("platinum", aum_floor=400000).dump(new)
    code, text, err = _run("policy", "diff", str(old), str(new))
    assert code == 0, err
    assert "tiers.platinum.aum_floor: 500000 -> 400000" in text and "1 change(s)" in text
    code, same, _ = _run("policy", "diff", str(old), str(old))
    assert code == 0 and "no changes" in same
    balances = tmp_path / "b.csv"
    _write_balances(balances, _example_rows())
    code, text, err = _run(
        "policy", "diff", str(old), str(new), "--balances", str(balances), "--as-of", "2026-10"
    )
    assert code == 0, err
    assert "migration at 2026-10" in text and "change tier" in text
    # E2 (499,999.99 yuan) is gold under the old floor and platinum under 400,000
    gold_row = next(line for line in text.splitlines() if line.startswith("gold "))
    assert gold_row.split()[3] != "0"
    code, _, err = _run("policy", "diff", str(old), str(tmp_path / "missing.toml"))
    assert code == 2 and "missing.toml" in err
