"""Customer value measures (issue 12, items 1–5) against one ``evaluate()``, same portfolio, same run.

Value set, from the portfolio and a policy with a full ``[value]`` section:

* ``tiers``          the tier codes at the as-of month the value measures read
                     (one month of the tier path; counted in the set)
* ``margins``        monthly and annual margin by asset class (exact, half-even)
* ``clv``            explicit lifetime value, retention by tier, 5-year horizon
* ``formula``        value = explicit + implicit value − explicit − implicit cost
                     (``explicit_value`` and ``implicit_cost`` are S-FEEL
                     arithmetic expressions, evaluated exactly)
* ``aum_growth``     AUM change over 12 months
* ``matrix``         current (AUM) × potential (CLV) quadrants, counts, AUM sums
* ``scoring``        history and forecast score cards (COLLECT SUM), bonus (FIRST), grades
* ``markov_value``   Markov-chain value from an estimated chain (the estimation
                     is timed on its own)

and, separately, ``estimate_markov`` over 12 monthly transitions (target: at
most 15 × ``evaluate()``), and one expression component against the same
component as a table of coefficients.  Prints the median of ``--repeat`` runs of each part
and of one ``evaluate()``, and the ratios (target for the value set: at most 3).

    python benchmarks/bench_value.py --n 1000000
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np

import custvalue as cv
from custvalue import analytics as an
from custvalue.policy import Policy
from custvalue.synthetic import generate

VALUE: dict[str, Any] = {
    "margins": {
        "deposits": Decimal("0.015"),
        "wealth": Decimal("0.008"),
        "investments": Decimal("0.008"),
        "mortgage_loan": Decimal("0.02"),
        "credit_loan": Decimal("0.02"),
    },
    "period": "year",
    "discount_rate": Decimal("0.08"),
    "retention": {
        "core": Decimal("0.95"),
        "growth": Decimal("0.93"),
        "platinum": Decimal("0.9"),
        "gold": Decimal("0.88"),
        "potential": Decimal("0.8"),
    },
    "horizon": 5,
    "inputs": {"service_cost": "money", "sales_forecast": "money"},
    "formula": {
        "explicit_value": "annual_margin + 0.5 * wealth * 0.008",
        "implicit_value": {"card_spend_12m": Decimal("0.006")},
        "explicit_cost": "service_cost",
        "implicit_cost": "max(10, aum * 0.0005)",
    },
    "markov": {"churn_below": 100},
    "matrix": {
        "current": "aum",
        "potential": "clv",
        "current_cut": 500000,
        "potential_cut": 20000,
        "quadrants": [
            {"id": "star", "current": "high", "potential": "high", "label_zh": "重点经营"},
            {"id": "keep", "current": "high", "potential": "low", "label_zh": "维护巩固"},
            {"id": "grow", "current": "low", "potential": "high", "label_zh": "潜力培育"},
            {"id": "basic", "current": "low", "potential": "low", "label_zh": "基础服务"},
        ],
    },
    "scoring": {
        "weights": {"history": 50, "forecast": 50},
        "weights_total": 100,
        "history": [
            {"id": "aum_1m", "when": {"aum": ">= 1000000"}, "points": 60},
            {"id": "aum_200k", "when": {"aum": "[200000..1000000)"}, "points": 40},
            {"id": "card", "when": {"card_spend_12m": ">= 100000"}, "points": 30},
            {"id": "loan", "when": {"credit_loan": ">= 300000"}, "points": 10},
        ],
        "forecast": [
            {"id": "f_4m", "when": {"sales_forecast": ">= 4000000"}, "points": 70},
            {"id": "f_1m", "when": {"sales_forecast": "[1000000..4000000)"}, "points": 40},
            {"id": "f_100k", "when": {"sales_forecast": "[100000..1000000)"}, "points": 20},
        ],
        "bonus": [{"id": "sales_2y", "when": {"sales": ">= 1000000"}, "factor": "1.05"}],
        "grades": [
            {"id": "A", "score": ">= 80"},
            {"id": "B", "score": "[60..80)"},
            {"id": "C", "score": "[30..60)"},
            {"id": "D", "score": "< 30"},
        ],
    },
}


def value_policy(**formula: Any) -> Policy:
    doc = cv.default_policy().to_dict()
    doc["value"] = dict(VALUE, formula={**VALUE["formula"], **formula})
    return Policy.from_dict(doc)


def median(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    t0 = time.perf_counter()
    p = generate(args.n, seed=1)
    print(f"portfolio: {p!r} (generated in {time.perf_counter() - t0:.1f} s)")
    pol = value_policy()
    cp = cv.compile_policy(pol)
    rng = np.random.default_rng(0)
    inputs = {
        "service_cost": rng.integers(0, 500_00, p.n_customers),
        "sales_forecast": rng.integers(0, 5_000_000_00, p.n_customers),
        "sales": rng.integers(0, 2_000_000_00, p.n_customers),
    }
    chain = an.estimate_markov(p, pol)

    def value_set() -> dict[str, Any]:
        v = an.customer_value(p, pol, inputs=inputs, chain=chain)
        out: dict[str, Any] = {}
        parts: dict[str, Callable[[], Any]] = {
            "tiers": v.tiers,
            "margins": lambda: (v["monthly_margin"], v["annual_margin"]),
            "clv": lambda: v["clv"],
            "formula": lambda: v["value"],
            "aum_growth": lambda: v["aum_growth"],
            "matrix": lambda: an.value_matrix(v),
            "scoring": lambda: an.score_customers(v),
            "markov_value": lambda: v["markov_clv"],
        }
        for name, fn in parts.items():
            t = time.perf_counter()
            out[name] = fn()
            out["__" + name] = time.perf_counter() - t
        return out

    evaluate_times, value_times, markov_times = [], [], []
    part_times: dict[str, list[float]] = {}
    for _ in range(args.repeat):  # alternate so that both see the same machine
        t = time.perf_counter()
        cv.evaluate(p, cp)
        evaluate_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        res = value_set()
        value_times.append(time.perf_counter() - t)
        for k, x in res.items():
            if k.startswith("__"):
                part_times.setdefault(k[2:], []).append(x)
        t = time.perf_counter()
        an.estimate_markov(p, pol)
        markov_times.append(time.perf_counter() - t)
    ev = statistics.median(evaluate_times)
    vs = statistics.median(value_times)
    mk = statistics.median(markov_times)
    print(f"evaluate()                     {ev * 1000:9.1f} ms")
    for k, xs in part_times.items():
        print(f"  {k:<28} {statistics.median(xs) * 1000:9.1f} ms")
    print(f"value set                      {vs * 1000:9.1f} ms   ratio {vs / ev:5.2f} × evaluate() (≤ 3)")
    print(f"estimate_markov (12 months)    {mk * 1000:9.1f} ms   ratio {mk / ev:5.2f} × evaluate() (≤ 15)")
    # agreement with the exact scalar references on a sample (outside the timing)
    v = an.customer_value(p, pol, inputs=inputs)
    lv = v.lifetime()
    spec = pol.value
    assert spec is not None
    for i in rng.choice(p.n_customers, 200, replace=False).tolist():
        tier = pol.tier_order[int(v.tiers()[i])]
        want = an.reference_clv(int(lv.margin[i]), spec.retention_of(tier), spec.discount_rate, spec.horizon)
        assert abs(int(lv.clv[i]) - want) <= 1, (i, int(lv.clv[i]), float(want))
    print("CLV of 200 sampled customers agrees with the exact reference (within the fen rounding)")
    # one component: an expression against the same sum as a table of coefficients
    as_expr = value_policy(implicit_value="card_spend_12m * 0.006 + aum * 0.0005")
    as_table = value_policy(implicit_value={"card_spend_12m": Decimal("0.006"), "aum": Decimal("0.0005")})
    ve = an.customer_value(p, as_expr, inputs=inputs)
    vt = an.customer_value(p, as_table, inputs=inputs)
    ve.measures(["card_spend_12m", "aum"])
    vt.measures(["card_spend_12m", "aum"])
    te, ce = median(lambda: ve._compute("__implicit_value"), args.repeat)
    tt, ct = median(lambda: vt._compute("__implicit_value"), args.repeat)
    assert np.array_equal(ce, ct)
    print(
        f"component as expression {te * 1000:7.1f} ms, as coefficients {tt * 1000:7.1f} ms "
        f"(identical values; {te / ev:4.2f} × evaluate())"
    )
    m = res["matrix"]
    s = res["scoring"]
    print(f"matrix counts {dict(zip(m.quadrant_ids, m.counts.tolist(), strict=True))}; grades {s.counts()}")
    print(chain.text())


if __name__ == "__main__":
    main()
