"""Segments and a five-campaign run against one ``evaluate()``, same portfolio, same run.

Parts (issue 12, item 8 and the speed target "a 5-campaign run on 1M
customers at most 3x one evaluate()"), on the shipped example sections
(:func:`custvalue.policy.marketing_policy`: two segment tables, five
campaigns with exclusions, caps and priorities):

* ``evaluate``       one ``evaluate()`` of the policy (the reference)
* ``segments``       :func:`custvalue.analytics.segment` on that result
                     (features, two compiled tables)
* ``campaigns``      :func:`custvalue.analytics.run_campaigns` on those
                     segments, with a contact history (``--contacts`` rows)
                     and no allocation book
* ``with_book``      the same run with an allocation book (one manager per
                     branch, its gold-and-above customers allocated): one
                     vectorised ``AllocationBook.primary_managers`` query
                     for the targets
* ``value_camps``    the five campaigns on a policy with a ``[value]``
                     section, two of them also testing ``clv`` and ``value``:
                     the run computes those value measures itself (margins,
                     CLV by tier, the value formula), nothing else

The ratio printed is (segments + campaigns) / evaluate and, separately, the
whole marketing path including its own evaluate (evaluate + segments +
campaigns) / evaluate.  Medians of ``--repeat`` runs, interleaved.

    python benchmarks/bench_campaigns.py --n 1000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import custvalue as cv
from custvalue import analytics as an
from custvalue.allocation import AllocationBook
from custvalue.policy import Policy
from custvalue.synthetic import generate


def value_marketing_policy() -> Policy:
    """The shipped marketing policy with a [value] section; two campaigns also test CLV and value."""
    doc = cv.marketing_policy().to_dict()
    doc["value"] = {
        "margins": {"deposits": "0.015", "wealth": "0.008", "investments": "0.008", "credit_loan": "0.02"},
        "retention": {
            "core": "0.95",
            "growth": "0.93",
            "platinum": "0.9",
            "gold": "0.88",
            "potential": "0.8",
        },
        "discount_rate": "0.08",
        "horizon": 5,
        "formula": {"explicit_value": "annual_margin", "implicit_cost": "max(10, aum * 0.0005)"},
    }
    doc["campaigns"][2]["when"]["clv"] = ">= 5000"
    doc["campaigns"][4]["when"]["value"] = ">= 500"
    return Policy.from_dict(doc)


def build_book(p: cv.Portfolio, result: cv.TierResult, day: dt.date) -> AllocationBook:
    branches = sorted(set(p.branch_ids.tolist()))
    managers = {f"M_{b}": b for b in branches}
    book, _ = AllocationBook.empty(managers).add_customers(
        p.customer_ids, p.branch_ids, effective=day, operator="b"
    )
    eligible = result.tier_codes <= result.policy.tier_order.index("gold")
    for b in branches:
        pick = p.customer_ids[(p.branch_ids == b) & eligible]
        if pick.size:
            book, _ = book.batch_allocate(pick, f"M_{b}", tiers="gold", effective=day, operator="b")
    return book


def contacts(p: cv.Portfolio, n: int, campaigns: list[str], day: dt.date, seed: int = 1) -> an.Contacts:
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, p.n_customers, size=n)
    back = rng.integers(0, 120, size=n)
    dates = np.datetime64(day, "D") - back.astype("timedelta64[D]")
    return an.Contacts.from_arrays(
        customer_ids=p.customer_ids[rows],
        campaign_ids=np.asarray(campaigns)[rng.integers(0, len(campaigns), size=n)],
        dates=dates,
    )


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--contacts", type=int, default=200_000)
    ap.add_argument("--no-book", action="store_true", help="skip the run with an allocation book")
    args = ap.parse_args()

    t0 = time.perf_counter()
    p = generate(args.n, seed=1)
    print(f"portfolio: {p!r} (generated in {time.perf_counter() - t0:.1f} s)")
    pol = cv.marketing_policy()
    cp = cv.compile_policy(pol)
    day = p.months.stop.last_day
    result = cv.evaluate(p, cp)  # warm-up and the result the parts read
    hist = contacts(p, args.contacts, [c.id for c in pol.campaigns], day)
    book = None if args.no_book else build_book(p, result, day)

    vpol = value_marketing_policy()
    times: dict[str, list[float]] = {
        "evaluate": [],
        "segments": [],
        "campaigns": [],
        "with_book": [],
        "value_camps": [],
    }
    run = None
    for _ in range(args.repeat):
        t, result = timed(lambda: cv.evaluate(p, cp))
        times["evaluate"].append(t)
        t, seg = timed(lambda r=result: an.segment(p, pol, result=r))
        times["segments"].append(t)
        t, run = timed(lambda s=seg: an.run_campaigns(p, pol, segments=s, contacts=hist))
        times["campaigns"].append(t)
        if book is not None:
            t, _ = timed(lambda s=seg: an.run_campaigns(p, pol, segments=s, contacts=hist, book=book))
            times["with_book"].append(t)
        vseg = an.segment(p, vpol, result=result)
        t, vrun = timed(lambda s=vseg: an.run_campaigns(p, vpol, segments=s, contacts=hist))
        times["value_camps"].append(t)
    med = {k: statistics.median(v) for k, v in times.items() if v}
    assert run is not None
    print(f"targets: {len(run):,} ({', '.join(f'{k} {v:,}' for k, v in run.counts().items())})")
    for k, v in med.items():
        print(f"{k:<12} {v * 1000:9.1f} ms   {v / med['evaluate']:5.2f}x evaluate")
    part = med["segments"] + med["campaigns"]
    print(f"segments + 5 campaigns          {part / med['evaluate']:5.2f}x evaluate (target <= 3)")
    print(f"evaluate + segments + campaigns {(part + med['evaluate']) / med['evaluate']:5.2f}x evaluate")
    print(
        f"segments + 5 campaigns testing clv/value (computed by the run) "
        f"{(med['segments'] + med['value_camps']) / med['evaluate']:5.2f}x evaluate (target <= 3); "
        f"targets {', '.join(f'{k} {v:,}' for k, v in vrun.counts().items())}"
    )
    if "with_book" in med:
        print(
            f"segments + campaigns with book  {(med['segments'] + med['with_book']) / med['evaluate']:5.2f}x"
        )


if __name__ == "__main__":
    main()
