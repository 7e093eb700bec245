"""Benchmark a whole DMN model (a decision requirement graph) vectorised vs the scalar reference,
and custvalue vs pyDMNrules on one DMN decision table, in the same run.

The models are ``tests/rules/models/drg_chain.dmn`` (two tables and two literal
expressions in a chain, one table with two outputs) and
``tests/rules/models/bkm.dmn`` (business knowledge models invoked and called
from FEEL).  Prints rows per second of :meth:`CompiledModel.evaluate` over
``--n`` rows and of :meth:`DmnModel.evaluate_scalar` over a sample, and their
ratio (same run).

Then, when pyDMNrules is installed (``pip install pyDMNrules``; it is not a
dependency), one DMN XML document - a FIRST table with three inputs (ranges,
string lists) and two outputs, written by :func:`write_dmn` - is loaded by
both engines (``pyDMNrules.DMN().useXML(text)`` and :func:`read_dmn`), and
the same ``--sample`` rows are decided by each: pyDMNrules row by row
(``DMN.decide``), custvalue vectorised (over ``--n`` rows, of which the
sample is the start) and through its scalar reference.  Every sampled row's
results are checked to agree before the rates (median of ``--repeat`` runs)
are printed.

Usage: python benchmarks/bench_dmn.py --n 1000000 --sample 2000
"""

from __future__ import annotations

import argparse
import importlib.metadata
import statistics
import time
from collections.abc import Callable
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


def best(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


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
        import pyDMNrules  # type: ignore[import-not-found]
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--sample", type=int, default=2_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    print(f"{'model':<12} {'vectorised rows/s':>18} {'scalar rows/s':>14} {'ratio':>8}")
    for file, make in (("drg_chain.dmn", loan_columns), ("bkm.dmn", shop_columns)):
        model = read_dmn(MODELS / file)
        compiled = model.compile()
        cols = make(args.n, rng)
        compiled.evaluate(cols)  # warm up (compiles the tables for this layout)
        t_vec = best(lambda c=compiled, x=cols: c.evaluate(x))
        k = min(args.sample, args.n)
        rows = [{name: np.asarray(c)[i : i + 1].tolist()[0] for name, c in cols.items()} for i in range(k)]
        t_sc = best(lambda m=model, rs=rows: [m.evaluate_scalar(r) for r in rs], repeat=1)
        vec, sc = args.n / t_vec, k / t_sc
        print(f"{file:<12} {vec:>18,.0f} {sc:>14,.0f} {vec / sc:>7,.0f}x")
    versus_pydmnrules(args.n, args.sample, args.repeat, rng)


if __name__ == "__main__":
    main()
