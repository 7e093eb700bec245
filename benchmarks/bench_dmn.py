"""Benchmark whole DMN models (decision requirement graphs) vectorised vs the scalar reference,
and against pyDMNrules on the same models, in the same run.

Models: ``tests/rules/models/drg_chain.dmn`` (three tables and two literal
expressions in a chain, one table with two outputs), ``bkm.dmn`` (business
knowledge models invoked and called from FEEL), ``limits.dmn`` (tests against
other inputs, ``if``/``between``/``in``, lists and list functions),
``multi_hit.dmn`` (multi-hit lists feeding other decisions) and ``times.dmn``
(times of day, dates vs date-times).  For each: rows per second of
:meth:`CompiledModel.evaluate` over ``--n`` rows and of
:meth:`DmnModel.evaluate_scalar` over ``--sample`` rows (the start of the same
columns), medians of ``--repeat`` runs, and their ratio.

pyDMNrules (``pip install pyDMNrules``; not a dependency) is run on every
model it loads (``pyDMNrules.DMN().useXML(text)``), on the same sampled rows,
row by row (``DMN.decide``).  Its rate is reported only where it decides every
sampled row without an error status and agrees with custvalue on every
decision; otherwise the line says what went wrong (rows with errors, the
first disagreement).  Last, one FIRST table with three inputs (ranges, string
lists) and two outputs, written by :func:`write_dmn`, which pyDMNrules
evaluates correctly, gives the same-run ratios against pyDMNrules.

Usage: python benchmarks/bench_dmn.py --n 1000000 --sample 2000 --repeat 5
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import importlib.metadata
import statistics
import time
import warnings
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from custvalue.rules import (
    DecisionTable,
    DmnDecision,
    DmnModel,
    InputClause,
    OutputClause,
    read_dmn,
    write_dmn,
)

MODELS = Path(__file__).resolve().parents[1] / "tests" / "rules" / "models"


def loan_columns(n: int, rng: np.random.Generator) -> dict[str, Any]:
    return {
        "Applicant Age": rng.integers(18, 90, n),
        "Monthly Income": rng.integers(500, 20_000, n),
        "Loan Amount": rng.integers(1_000, 500_000, n),
    }


def shop_columns(n: int, rng: np.random.Generator) -> dict[str, Any]:
    return {
        "Customer": np.array(["Business", "Private", "Other"], dtype=object)[rng.integers(0, 3, n)],
        "Quantity": rng.integers(1, 50, n),
        "Unit Price": rng.integers(1, 1_000, n),
    }


def limits_columns(n: int, rng: np.random.Generator) -> dict[str, Any]:
    countries = np.array(["CN", "HK", "MO", "XX", "US"], dtype=object)
    return {
        "Amount": rng.integers(0, 20_000, n),
        "Credit Limit": rng.integers(5_000, 15_000, n),
        "Floor": rng.integers(500, 2_000, n),
        "Country": countries[rng.integers(0, 5, n)],
        "Home Country": countries[rng.integers(0, 2, n)],
        "Score": rng.integers(0, 1_000, n),
    }


def multi_hit_columns(n: int, rng: np.random.Generator) -> dict[str, Any]:
    return {"Balance": rng.integers(0, 200_000, n), "Years": rng.integers(0, 30, n)}


def times_columns(n: int, rng: np.random.Generator) -> dict[str, Any]:
    minutes = rng.integers(0, 24 * 60, n)
    arrival = np.array([None] + [dt.time(int(m) // 60, int(m) % 60) for m in minutes], dtype=object)[1:]
    opened = np.datetime64("2026-01-01") + rng.integers(0, 365, n).astype("timedelta64[D]")
    checked = np.datetime64("2026-01-01T00:00", "us") + rng.integers(0, 365 * 24 * 60, n).astype(
        "timedelta64[m]"
    )
    return {"Arrival": arrival, "Opened": opened, "Checked": checked}


MODEL_FILES: tuple[tuple[str, Callable[[int, np.random.Generator], dict[str, Any]]], ...] = (
    ("drg_chain.dmn", loan_columns),
    ("bkm.dmn", shop_columns),
    ("limits.dmn", limits_columns),
    ("multi_hit.dmn", multi_hit_columns),
    ("times.dmn", times_columns),
)


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def risk_model() -> DmnModel:
    """One FIRST table both engines read: ranges, string lists, two outputs."""
    rules = [
        ("minor", ["< 18", "-", "-"], ['"Declined"', "0"]),
        ("young-low", ["[18..25)", "< 2000", "-"], ['"High"', "1000"]),
        ("young-emp", ["[18..25)", ">= 2000", '"employed", "self-employed"'], ['"Medium"', "5000"]),
        ("prime-rich", ["[25..60]", ">= 5000", '"employed"'], ['"Low"', "20000"]),
        ("prime-mid", ["[25..60]", "[2000..5000)", "-"], ['"Medium"', "5000"]),
        ("retired", ["> 60", "-", '"retired"'], ['"Medium"', "2500"]),
        ("other", ["-", "-", "-"], ['"High"', "500"]),
    ]
    inputs = [
        InputClause("Applicant Age", type_ref="number"),
        InputClause("Monthly Income", type_ref="number"),
        InputClause("Employment", type_ref="string"),
    ]
    outputs = [OutputClause("Risk Category", type_ref="string"), OutputClause("Limit", type_ref="number")]
    table = DecisionTable("Risk", "FIRST", inputs, outputs, rules)
    types = {"Applicant Age": "number", "Monthly Income": "number", "Employment": "string"}
    return DmnModel("Risk model", [DmnDecision("Risk", table, list(types))], types)


def risk_columns(n: int, rng: np.random.Generator) -> dict[str, Any]:
    jobs = np.array(["employed", "self-employed", "retired", "student"], dtype=object)
    return {
        "Applicant Age": rng.integers(14, 90, n),
        "Monthly Income": rng.integers(0, 12_000, n),
        "Employment": jobs[rng.integers(0, 4, n)],
    }


def versus_pydmnrules(n: int, sample: int, repeat: int, rng: np.random.Generator) -> None:
    try:
        import pyDMNrules  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        print("\npyDMNrules is not installed (pip install pyDMNrules): comparison skipped")
        return
    text = write_dmn(risk_model())
    engine = pyDMNrules.DMN()
    status = engine.useXML(text)
    if status.get("errors"):
        raise SystemExit(f"pyDMNrules cannot load the model: {status['errors']}")
    model = read_dmn(text)  # the very document pyDMNrules read
    compiled = model.compile()
    cols = risk_columns(max(n, sample), rng)
    k = sample
    rows = [{name: np.asarray(c)[i : i + 1].tolist()[0] for name, c in cols.items()} for i in range(k)]

    def run_pydmn() -> list[dict[str, Any]]:
        out = []
        for r in rows:
            st, res = engine.decide(r)
            if st.get("errors"):
                raise SystemExit(f"pyDMNrules failed on {r}: {st['errors']}")
            out.append(res["Result"])
        return out

    result = compiled.evaluate(cols)
    theirs = run_pydmn()
    for i, (r, t) in enumerate(zip(rows, theirs, strict=True)):
        ours = result.value("Risk", i)
        assert ours == model.evaluate_scalar(r)["Risk"], (i, r)
        other = {"Risk Category": t["Risk Category"], "Limit": t["Limit"]}
        if ours["Risk Category"] != other["Risk Category"] or float(ours["Limit"]) != float(other["Limit"]):
            raise SystemExit(f"row {i} {r}: custvalue {ours} != pyDMNrules {other}")
    t_theirs = median_time(run_pydmn, repeat)
    t_vec = median_time(lambda: compiled.evaluate(cols), repeat)
    t_sc = median_time(lambda: [model.evaluate_scalar(r) for r in rows], repeat)
    nv = len(cols["Employment"])
    vec, sc, py = nv / t_vec, k / t_sc, k / t_theirs
    print(f"\none DMN table (FIRST, 3 inputs, 2 outputs, 7 rules); results agree on all {k} sampled rows")
    print(f"{'engine':<34} {'rows':>10} {'rows/s':>14} {'vs pyDMNrules':>14}")
    version = importlib.metadata.version("pyDMNrules")
    print(f"{'pyDMNrules ' + version + ' DMN.decide':<34} {k:>10,} {py:>14,.0f} {1:>13,.0f}x")
    print(f"{'custvalue evaluate_scalar':<34} {k:>10,} {sc:>14,.0f} {sc / py:>13,.0f}x")
    print(f"{'custvalue compile().evaluate':<34} {nv:>10,} {vec:>14,.0f} {vec / py:>13,.0f}x")


def scalar_pass(model: DmnModel, rows: list[dict[str, Any]]) -> None:
    for r in rows:
        model.evaluate_scalar(r)


def sample_rows(cols: dict[str, Any], k: int) -> list[dict[str, Any]]:
    """The first ``k`` rows as plain Python values (what a row-by-row engine is given)."""
    out: list[dict[str, Any]] = []
    for i in range(k):
        row = {}
        for name, c in cols.items():
            v = np.asarray(c)[i]
            row[name] = v.item() if isinstance(v, np.generic) else v
        out.append(row)
    return out


def _same(ours: Any, theirs: Any) -> bool:
    """custvalue's FEEL value vs pyDMNrules' Python value (floats for numbers)."""
    if isinstance(ours, Decimal):
        return (
            isinstance(theirs, int | float | Decimal)
            and not isinstance(theirs, bool)
            and (abs(float(ours) - float(theirs)) <= 1e-9 * max(1.0, abs(float(ours))))
        )
    if isinstance(ours, dict):
        return isinstance(theirs, dict) and all(_same(v, theirs.get(k)) for k, v in ours.items())
    if isinstance(ours, list):
        return isinstance(theirs, list) and len(ours) == len(theirs) and all(map(_same, ours, theirs))
    return bool(ours == theirs)


def _pydmn_results(res: Any) -> dict[str, Any]:
    """pyDMNrules' decided values by decision name (the last result of a chain)."""
    last = (res[-1] if res else {}) if isinstance(res, list) else res
    out = dict(last.get("Result", {})) if isinstance(last, dict) else {}
    for key, value in list(out.items()):  # a table's output is also keyed "Decision.Output"
        if "." in key and value is not None:
            out.setdefault(key.split(".")[0], value)
    return out


def pydmn_on_model(
    text: str, model: DmnModel, rows: list[dict[str, Any]], scalar: list[dict[str, Any]], repeat: int
) -> str:
    """pyDMNrules on a model's sampled rows: its rate, or why there is none."""
    try:
        import pyDMNrules  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        return "not installed"
    engine = pyDMNrules.DMN()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            status = engine.useXML(text)
        except Exception as exc:  # any failure to load is reported, not raised
            return f"cannot load: {type(exc).__name__}: {exc}"[:120]
        if status.get("errors"):
            return f"cannot load: {status['errors'][0]}"[:120]

        def run() -> tuple[int, str | None, list[dict[str, Any]]]:
            errors, first, out = 0, None, []
            for r in rows:
                try:
                    st, res = engine.decide(r)
                except Exception as exc:
                    st, res = {"errors": [f"{type(exc).__name__}: {exc}"]}, {}
                if st.get("errors"):
                    errors += 1
                    first = first or str(st["errors"][0])
                out.append(_pydmn_results(res))
            return errors, first, out

        errors, first, theirs = run()
        if errors:
            return f"errors on {errors}/{len(rows)} rows, e.g. {first}"[:120]
        for i, (ours, t) in enumerate(zip(scalar, theirs, strict=True)):
            for name, value in ours.items():
                if not _same(value, t.get(name)):
                    return f"disagrees: row {i} {name}: custvalue {value!r}, pyDMNrules {t.get(name)!r}"[:120]
        t_py = median_time(run, repeat)
    return f"{len(rows) / t_py:,.0f} rows/s, agrees on all {len(rows)} rows"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="rows for the vectorised path")
    ap.add_argument("--sample", type=int, default=2_000, help="rows for the scalar path and pyDMNrules")
    ap.add_argument("--repeat", type=int, default=5, help="runs per measurement (median reported)")
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    k = min(args.sample, args.n)
    print(f"medians of {args.repeat} runs; vectorised over {args.n:,} rows, scalar and pyDMNrules over {k:,}")
    head = f"{'model':<14} {'vectorised rows/s':>18} {'scalar rows/s':>14} {'vec/scalar':>11}"
    print(head + "  pyDMNrules (same rows)")
    for file, make in MODEL_FILES:
        text = (MODELS / file).read_text(encoding="utf-8")
        model = read_dmn(text)
        compiled = model.compile()
        cols = make(args.n, rng)
        result = compiled.evaluate(cols)  # warm up (compiles the tables for this layout)
        rows = sample_rows(cols, k)
        scalar = [model.evaluate_scalar(r) for r in rows]
        for i in range(min(k, 200)):  # the two paths agree (the tests check this exhaustively)
            for name in model.order:
                if result.value(name, i) != scalar[i][name]:
                    raise SystemExit(
                        f"{file} row {i} {name}: vectorised {result.value(name, i)!r} != {scalar[i][name]!r}"
                    )
        t_vec = median_time(functools.partial(compiled.evaluate, cols), args.repeat)
        t_sc = median_time(functools.partial(scalar_pass, model, rows), args.repeat)
        vec, sc = args.n / t_vec, k / t_sc
        peer = pydmn_on_model(text, model, rows, scalar, args.repeat)
        print(f"{file:<14} {vec:>18,.0f} {sc:>14,.0f} {vec / sc:>10,.0f}x  {peer}")
    versus_pydmnrules(args.n, args.sample, args.repeat, rng)


if __name__ == "__main__":
    main()
