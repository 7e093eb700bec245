"""Tier + status: custvalue against a rules engine and a long-panel pandas, in one run.

Two more peers for ``benchmarks/bench_tiering.py``; both compute the default
policy's tier and status at the as-of month (the portfolio's last month) and
must agree exactly with ``cv.evaluate(p, cp, previous=False)``: every run
asserts equal ``tier_codes`` and ``status_codes`` (zen: on the sample rows).

``zen`` -- GoRules' ZEN decision engine (PyPI ``zen-engine``), the way a bank
calls a rules engine: features come from the warehouse, one engine call per
customer.

* The decision graph (JDM, :func:`zen_decision_graph`) is ``inputNode`` ->
  ``decisionTableNode`` "tier" -> ``decisionTableNode`` "status" ->
  ``outputNode`` (the input node also feeds the status table; the engine
  merges the two).  Both tables are FIRST hit policy and are generated from
  the policy document ``cv.default_policy()`` itself, rule for rule and in
  custvalue's order: for each tier, highest first, its AUM rule
  (``max_aum_W >= floor``) and then its other criteria (the same S-FEEL tests,
  which ZEN's unary syntax reads unchanged: ``>= x``, ``[a..b)``,
  ``"diamond"``); a catch-all rule gives ``potential``.  The tier table also
  outputs the rule that decided (``basis``).  The status table maps
  (tier, basis = "aum", months below that tier's floor) through the policy's
  status bands (``[1..6]`` ...); anything else is ``normal``.
* Features are computed in numpy beforehand (vectorised over the sample,
  from the public ``Portfolio`` arrays) and passed per customer as the input
  context: ``max_aum_12`` / ``max_aum_6`` (max AUM over the as-of month and
  the 12 / 6 before), the policy's features ``card_spend_12m``,
  ``mortgage_loan``, ``credit_loan``, ``card_level`` (a level name), and
  ``months_below_<tier>`` (the trailing run of months with AUM below each
  tier's floor, stopping at the customer's history start, at most W+1).  The
  engine does only the decision: computing windows over monthly arrays inside
  a per-customer expression would be slower and is not how a rules engine is
  fed.  Building the contexts (numpy features + one ``dict`` per customer) is
  timed and reported separately.
* Exactness: ZEN's numbers are decimals (``rust_decimal``), not floats, and
  Python ``int`` context values arrive exactly.  Amounts are passed as integer
  fen and the thresholds are the policy's yuan amounts converted exactly to
  fen (``Decimal(yuan) * 100``, refused unless integral); every value is below
  2**53 anyway.
* Calls: the graph is parsed once (``zen.ZenDecisionContent(json)``), the
  engine is ``zen.ZenEngine({"loader": lambda key: content})`` and the timed
  loop calls ``engine.evaluate("tiers", ctx)`` once per customer: the fastest
  of the engine's ways in zen-engine 2.1.3, so it is the ``zen`` figure.
  Also timed, for the record: ``engine.evaluate_batch`` (one Python call for
  the sample, one evaluation per request inside the engine) and
  ``decision.evaluate(ctx)`` on ``engine.create_decision(content)``, which
  starts a new async runtime (two threads, seen with ``strace``) on every
  call.  (A loader returning the JSON text instead of the parsed content
  makes the engine re-parse the graph on every call, about 10x slower; not
  used.)  A random ``--sample`` of customers (default 20,000) is timed and
  scaled linearly to ``--n`` (marked ``extrapolated``); every way's tiers and
  statuses are checked on the sample rows.

``pandas-long`` -- the code a data team writes from a long table (one row per
customer-month, as in the balances file: ``customer_id, month, deposits,
wealth, investments, card_spend, mortgage_loan, credit_loan, card_level``;
months before a customer's history are absent, as in ``Portfolio.to_pandas``).
The frame is built beforehand, not timed (:func:`long_frame`), the way a
notebook would hold it after reading the file well: ``customer_id`` and
``month`` are categoricals (months ordered), ``card_level`` a categorical,
money int64 fen, sorted once by customer and month.  The timed function
(:func:`pandas_long_tier_status`) sums AUM, adds the window columns as masks
(AUM where ``month >= as_of - 12`` / ``- 6`` else 0, spend where ``month >=
as_of - 11`` else 0; amounts are never negative, so 0 is neutral) and, per
tier floor, the month where AUM is at or above the floor (else -1); then
*one* ``groupby`` on the sorted integer customer codes reduces them all
(``max`` / ``sum``; pandas reduces contiguous groups without hashing), the
as-of rows give loans and card, ``np.select`` picks the tier in FIRST order,
and the months-below run of the tier held through AUM is ``as_of -`` that
last month at or above its floor.  Everything stays int64 (no NaN, no
float); there is no Python loop over customers; ``assign`` shares the
frame's columns (copy-on-write) instead of copying them.  Its thresholds are
written in the code (fen), as a data team would.  (Measured and rejected:
one ``groupby`` per feature re-factorises the keys each time, about 1.7x
slower; filtering rows per window copies the frame, 2-4x slower.)

``custvalue``: ``cv.evaluate(p, cp, previous=False)`` on the whole portfolio,
the policy compiled once beforehand.

Before the timing, both peers are checked against custvalue on
:func:`edge_portfolio` (``--edges`` customers whose every input sits on or
next to a rule edge, over 14, 8 and 1 months of history): the synthetic book
rarely lands on an edge exactly.  The table shows each implementation's
median over ``--repeat`` runs and the ratio to custvalue; zen's figures are
the sample time scaled to ``--n``.  All of it runs in one process, one
thread (zen's ``evaluate_batch`` may use the engine's own worker threads).

    python benchmarks/bench_peers.py --n 1000000
    python benchmarks/bench_peers.py --n 200000 --sample 20000 --repeat 3
"""

from __future__ import annotations

import argparse
import functools
import importlib.metadata as md
import json
import re
import sys
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_tiering import timed  # the same median timer as the main benchmark

import custvalue as cv
from custvalue.policy import STATUSES, compile_policy
from custvalue.synthetic import generate

Codes = tuple[NDArray[np.int8], NDArray[np.int8]]

# --------------------------------------------------------------------------- zen


def _fen(yuan: Decimal | str, scale: int) -> int:
    """A yuan amount of the policy document as integer fen, exactly (or an error)."""
    value = Decimal(yuan) * scale
    if value != value.to_integral_value():
        raise ValueError(f"{yuan} yuan is not a whole number of fen")
    return int(value)


def _fen_test(test: str, scale: int) -> str:
    """An S-FEEL unary test on yuan amounts with its numbers in fen (``-``, any, is empty)."""

    def fen(m: re.Match[str]) -> str:  # a quoted string literal stays as it is
        return m.group(0) if m.group(1) is None else str(_fen(m.group(1), scale))

    return "" if test.strip() == "-" else re.sub(r'"[^"]*"|(\d+(?:\.\d+)?)', fen, test)


def _node(node_id: str, kind: str, content: dict[str, Any] | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"id": node_id, "type": kind, "name": node_id, "position": {"x": 0, "y": 0}}
    if content is not None:
        node["content"] = content
    return node


def _table(inputs: Sequence[str], outputs: Sequence[str], rules: Sequence[dict[str, str]]) -> dict[str, Any]:
    """A FIRST-hit JDM decision table; a rule maps input/output field names to cells."""
    cols = [*inputs, *outputs]
    return {
        "hitPolicy": "first",
        "inputs": [{"id": f"in.{f}", "name": f, "field": f} for f in inputs],
        "outputs": [{"id": f"out.{f}", "name": f, "field": f} for f in outputs],
        "rules": [
            {
                "_id": f"r{i}",
                **{(f"in.{c}" if c in inputs else f"out.{c}"): rule.get(c, "") for c in cols},
            }
            for i, rule in enumerate(rules)
        ],
    }


def zen_decision_graph(policy: cv.Policy) -> dict[str, Any]:
    """The policy's tier and status decisions as a GoRules JDM graph (amounts in fen)."""
    scale = int(policy.scale)
    money = {
        f.name for f in policy.features if f.column in cv.MONEY_COLUMNS and f.op in ("value", "max", "sum")
    }
    held = [t for t in policy.tiers if t.aum_floor is not None]
    windows = sorted({int(t.window) for t in held if t.window is not None}, reverse=True)
    criteria = [
        f.name
        for f in policy.features
        if any(f.name in dict(c.when) for t in policy.tiers for c in t.criteria)
    ]
    tier_rules: list[dict[str, str]] = []
    for t in policy.tiers:
        if t.aum_floor is not None:
            floor = _fen(t.aum_floor, scale)
            tier_rules.append({f"max_aum_{t.window}": f">= {floor}", "tier": f'"{t.id}"', "basis": '"aum"'})
        for c in t.criteria:
            cells = {k: _fen_test(v, scale) if k in money else v for k, v in dict(c.when).items()}
            tier_rules.append({**cells, "tier": f'"{t.id}"', "basis": f'"{c.id}"'})
        if t.is_catch_all:
            tier_rules.append({"tier": f'"{t.id}"', "basis": '"default"'})
    status_rules = [
        {
            "tier": f'"{t.id}"',
            "basis": '"aum"',
            f"months_below_{t.id}": b.months_below,
            "status": f'"{b.status}"',
        }
        for t in held
        for b in t.status_bands
    ]
    status_rules.append({"status": '"normal"'})
    tier_table = _table([f"max_aum_{w}" for w in windows] + criteria, ["tier", "basis"], tier_rules)
    status_table = _table(
        ["tier", "basis"] + [f"months_below_{t.id}" for t in held], ["status"], status_rules
    )
    edges = [
        ("input", "tier"),
        ("tier", "status"),
        ("input", "status"),
        ("tier", "output"),
        ("status", "output"),
    ]
    return {
        "contentType": "application/vnd.gorules.decision",
        "nodes": [
            _node("input", "inputNode"),
            _node("tier", "decisionTableNode", tier_table),
            _node("status", "decisionTableNode", status_table),
            _node("output", "outputNode"),
        ],
        "edges": [{"id": f"{s}->{d}", "sourceId": s, "targetId": d, "type": "edge"} for s, d in edges],
    }


def zen_features(p: cv.Portfolio, rows: ArrayLike, policy: cv.Policy) -> dict[str, NDArray[Any]]:
    """The decision's input features for ``rows`` at the last month, vectorised (int64 fen)."""
    idx = np.asarray(rows, dtype=np.intp)
    a = p.n_months - 1
    held = [t for t in policy.tiers if t.aum_floor is not None]
    lo = max(0, a - max(int(t.window or 0) for t in held))
    aum = sum((getattr(p, c)[idx, lo:] for c in policy.aum[1:]), getattr(p, policy.aum[0])[idx, lo:])
    hs = p.history_start[idx].astype(np.int64)
    out: dict[str, NDArray[Any]] = {}
    for w in sorted({int(t.window or 0) for t in held}, reverse=True):
        out[f"max_aum_{w}"] = aum[:, max(0, a - w) - lo :].max(axis=1)
    for f in policy.features:
        last = a - f.lag
        col = getattr(p, f.column)
        if f.op == "value":
            v = col[idx, last]
            out[f.name] = np.asarray(cv.CARD_LEVELS)[v] if f.column == "card_level" else v
        elif f.op in ("sum", "max"):  # cells before a customer's history are zero: no effect
            win = col[idx, max(0, last - f.window) : last + 1]
            out[f.name] = win.sum(axis=1) if f.op == "sum" else win.max(axis=1)
        else:  # pragma: no cover - not used by the default policy
            raise NotImplementedError(f"feature op {f.op!r}")
    for t in held:
        assert t.aum_floor is not None
        floor = _fen(t.aum_floor, int(policy.scale))
        alive = np.ones(idx.size, bool)
        k = np.zeros(idx.size, np.int64)
        for back in range(int(t.window or 0) + 1):
            j = a - back
            if j < 0:
                break
            alive &= (aum[:, j - lo] < floor) & (j >= hs)
            k += alive
        out[f"months_below_{t.id}"] = k
    return out


def zen_contexts(p: cv.Portfolio, rows: ArrayLike, policy: cv.Policy) -> list[dict[str, Any]]:
    """One input context (a dict of Python ``int`` / ``str``) per customer in ``rows``."""
    feats = zen_features(p, rows, policy)
    names = list(feats)
    columns = [feats[n].tolist() for n in names]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


class Zen:
    """The policy's decision in a ZEN engine, parsed once.

    ``ZenEngine({"loader": ...})`` with a loader that returns the same
    :class:`zen.ZenDecisionContent` (the graph parsed once) and
    ``engine.evaluate(key, ctx)`` per customer is the fastest way found in
    zen-engine 2.1.3 (15-25 µs per call on the 2-core machine); a loader
    returning the JSON text re-parses the graph on every call (130-150 µs),
    ``decision.evaluate`` of ``engine.create_decision(...)`` starts a new
    async runtime (two threads) on every call (about 220 µs), and
    ``evaluate_batch`` costs 40-75 µs per request.
    """

    KEY = "tiers"

    def __init__(self, policy: cv.Policy) -> None:
        import zen

        self.policy = policy
        self.content = zen.ZenDecisionContent(json.dumps(zen_decision_graph(policy)))
        self.engine = zen.ZenEngine({"loader": lambda key: self.content})
        self.decision = self.engine.create_decision(self.content)
        self._tier = {name: i for i, name in enumerate(policy.tier_order)}
        self._status = {name: i for i, name in enumerate(STATUSES)}

    def _codes(self, results: Sequence[dict[str, Any]]) -> Codes:
        tier = np.fromiter((self._tier[r["tier"]] for r in results), np.int8, len(results))
        status = np.fromiter((self._status[r["status"]] for r in results), np.int8, len(results))
        return tier, status

    def evaluate(self, contexts: Sequence[dict[str, Any]]) -> Codes:
        """``engine.evaluate(key, ctx)`` once per customer (the fastest)."""
        ev, key = self.engine.evaluate, self.KEY
        return self._codes([ev(key, ctx)["result"] for ctx in contexts])

    def evaluate_decision(self, contexts: Sequence[dict[str, Any]]) -> Codes:
        """``decision.evaluate(ctx)`` once per customer, the decision created once."""
        ev = self.decision.evaluate
        return self._codes([ev(ctx)["result"] for ctx in contexts])

    def evaluate_batch(self, contexts: Sequence[dict[str, Any]]) -> Codes:
        """``engine.evaluate_batch`` over all contexts (one evaluation per customer inside)."""
        out = self.engine.evaluate_batch([{"key": self.KEY, "context": ctx} for ctx in contexts])
        bad = [r.get("error") for r in out if not r.get("success")]
        if bad:
            raise RuntimeError(f"zen evaluate_batch: {len(bad)} failed, first: {bad[0]}")
        return self._codes([r["data"]["result"] for r in out])


def zen_tier_status(p: cv.Portfolio, rows: ArrayLike, policy: cv.Policy | None = None) -> Codes:
    """Tier and status codes of ``rows`` from ZEN, one ``engine.evaluate`` call per customer."""
    pol = policy or cv.default_policy()
    return Zen(pol).evaluate(zen_contexts(p, rows, pol))


# --------------------------------------------------------------------------- pandas, long panel

Y = 100  # fen per yuan
F_CORE, F_GROWTH, F_PLAT, F_GOLD = 10_000_000 * Y, 5_000_000 * Y, 500_000 * Y, 200_000 * Y


def long_frame(p: cv.Portfolio) -> Any:
    """The portfolio as a long pandas table, one row per customer-month (not timed).

    The rows and columns of ``p.to_pandas()`` (months before a customer's
    history omitted, sorted by customer then month), with ``customer_id``
    and ``month`` as categoricals instead of strings: what a data team holds
    after reading the balances file with sensible dtypes.
    """
    import pandas as pd

    n, t = p.n_customers, p.n_months
    valid = (np.arange(t)[None, :] >= p.history_start[:, None]).ravel()
    cust = np.repeat(np.arange(n, dtype=np.int32), t)[valid]
    month = np.tile(np.arange(t, dtype=np.int8), n)[valid]
    data: dict[str, Any] = {
        "customer_id": pd.Categorical.from_codes(cust, categories=pd.Index(p.customer_ids)),
        "month": pd.Categorical.from_codes(month, categories=[str(m) for m in p.months], ordered=True),
    }
    for c in ("deposits", "wealth", "investments", "card_spend", "mortgage_loan", "credit_loan"):
        data[c] = np.ascontiguousarray(getattr(p, c)).ravel()[valid]
    data["card_level"] = pd.Categorical.from_codes(
        np.ascontiguousarray(p.card_level).ravel()[valid], categories=list(cv.CARD_LEVELS)
    )
    return pd.DataFrame(data)


def pandas_long_tier_status(long: Any) -> Codes:
    """Tier and status codes per customer (in ``customer_id`` category order) from a long frame."""
    import pandas as pd

    mc = long["month"].cat.codes.to_numpy()
    a = int(mc.max())  # the as-of month
    cust = long["customer_id"].cat.codes.to_numpy()  # sorted: pandas reduces contiguous groups
    aum = long["deposits"] + long["wealth"] + long["investments"]
    month = pd.Series(mc.astype(np.int64), index=long.index)
    in12 = mc >= a - 12
    # Window features as masked columns (AUM and spend are >= 0, so 0 is neutral),
    # and for each floor the last month in the 12+1 window with AUM at or above it.
    # assign() shares the existing columns (copy-on-write); one groupby, grouped once.
    floors = {"core": F_CORE, "growth": F_GROWTH, "platinum": F_PLAT, "gold": F_GOLD}
    derived = long.assign(
        aum_12=aum.where(in12, 0),
        aum_6=aum.where(mc >= a - 6, 0),
        spend_12m=long["card_spend"].where(mc >= a - 11, 0),
        **{f"last_{t}": month.where((aum >= f) & in12, -1) for t, f in floors.items()},
    )
    by = derived.groupby(cust, sort=True)
    mx = by[["aum_12", "aum_6", *(f"last_{t}" for t in floors)]].max()
    spend = by["spend_12m"].sum().to_numpy()
    now = long.loc[mc == a, ["mortgage_loan", "credit_loan", "card_level"]]  # one row per customer
    mort = now["mortgage_loan"].to_numpy()
    cred = now["credit_loan"].to_numpy()
    diamond = (now["card_level"] == "diamond").to_numpy()
    max12 = mx["aum_12"].to_numpy()
    max6 = mx["aum_6"].to_numpy()

    aum_hits = [max12 >= F_CORE, max12 >= F_GROWTH, max6 >= F_PLAT, max6 >= F_GOLD]
    conds = [
        aum_hits[0],
        aum_hits[1] | (spend >= 500_000 * Y) | (mort >= 5_000_000 * Y) | diamond,
        aum_hits[2]
        | (spend >= 100_000 * Y)
        | ((mort >= 1_500_000 * Y) & (mort < 5_000_000 * Y))
        | (cred >= 600_000 * Y),
        aum_hits[3] | ((cred >= 300_000 * Y) & (cred < 600_000 * Y)),
    ]
    tier = np.select(conds, [0, 1, 2, 3], 4).astype(np.int8)
    # k: months in a row below the held tier's floor up to the as-of month; held
    # through AUM means that tier's AUM rule matched (it is tested first).
    by_aum = np.select([tier == t for t in range(4)], aum_hits, False)
    last = np.choose(np.minimum(tier, 3), [mx[f"last_{t}"].to_numpy() for t in floors])
    k = np.where(by_aum, a - last, 0)
    half = np.where(tier <= 1, 6, 3)
    status = np.select([k == 0, k <= half], [0, 1], 2).astype(np.int8)
    return tier, status


# --------------------------------------------------------------------------- edges


def edge_portfolio(n: int, seed: int) -> cv.Portfolio:
    """Customers whose every input sits on or next to a rule edge (floors, bands, runs).

    AUM, spend, loans and card levels are drawn from each threshold minus one
    fen, the threshold and plus one fen; AUM drops below a floor at a random
    month; a fifth of the customers start late.  The synthetic book rarely
    lands exactly on an edge, this one always does.
    """
    rng = np.random.default_rng(seed)
    t = 14
    floors = np.array([F_CORE, F_GROWTH, F_PLAT, F_GOLD])
    aum_v = np.concatenate([floors - 1, floors, floors + 1, [0, 1]])
    aum = np.where(rng.random((n, t)) < 0.3, rng.choice(aum_v, (n, t)), rng.choice(aum_v, (n, 1)))
    drop = rng.integers(0, t + 3, n)
    aum = np.where(np.arange(t) >= drop[:, None], rng.choice(aum_v, n)[:, None], aum)
    deposits = aum // 2
    wealth = (aum - deposits) // 3
    m12 = [100_000 * Y, 500_000 * Y]
    spend_v = np.array([0, 1, *(x // 12 for x in m12), *(x // 12 + 1 for x in m12), *m12])
    spend = np.where(rng.random((n, t)) < 0.5, rng.choice(spend_v, (n, 1)), rng.choice(spend_v, (n, t)))
    mort_v = np.array([0, *(b * Y + d for b in (1_500_000, 5_000_000) for d in (-1, 0, 1))])
    cred_v = np.array([0, *(b * Y + d for b in (300_000, 600_000) for d in (-1, 0, 1))])
    hs = np.where(rng.random(n) < 0.2, rng.integers(0, t, n), 0)
    keep = np.arange(t) >= hs[:, None]  # cells before a customer's history are zero
    cols = {
        "deposits": deposits,
        "wealth": wealth,
        "investments": aum - deposits - wealth,
        "card_spend": spend,
        "mortgage_loan": rng.choice(mort_v, (n, t)) * (rng.random((n, 1)) < 0.3),
        "credit_loan": rng.choice(cred_v, (n, t)) * (rng.random((n, 1)) < 0.3),
        "card_level": rng.choice(5, (n, t), p=[0.5, 0.2, 0.1, 0.1, 0.1]),
    }
    monthly: dict[str, Any] = {c: np.where(keep, v, 0) for c, v in cols.items()}
    return cv.Portfolio.from_arrays(
        customer_ids=[f"E{i:07d}" for i in range(n)],
        branch_ids=["B001"] * n,
        start="2025-09",
        history_start=hs,
        **monthly,
    )


def check_edges(n: int, seed: int, skip: Sequence[str] = ()) -> None:
    """Both peers agree with custvalue on :func:`edge_portfolio`, also over shorter histories."""
    q = edge_portfolio(n, seed)
    for first in (q.months[0], q.months[-8], q.months[-1]):
        e = q.window(first, q.months[-1])
        ref = cv.evaluate(e, previous=False)
        if "pandas-long" not in skip:
            _check(
                "pandas-long (edges)",
                pandas_long_tier_status(long_frame(e)),
                ref.tier_codes,
                ref.status_codes,
            )
        if "zen" not in skip:
            _check(
                "zen (edges)", zen_tier_status(e, np.arange(e.n_customers)), ref.tier_codes, ref.status_codes
            )
    print(f"edge portfolio: {n:,} customers on rule edges, 14/8/1 months: peers agree with custvalue")


# --------------------------------------------------------------------------- run


def _check(name: str, got: Codes, tier: NDArray[np.int8], status: NDArray[np.int8]) -> None:
    assert np.array_equal(got[0], tier), f"{name}: tiers differ from custvalue"
    assert np.array_equal(got[1], status), f"{name}: statuses differ from custvalue"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="customers")
    ap.add_argument("--sample", type=int, default=20_000, help="customers timed through zen")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip", nargs="*", default=[], help="peers to skip: zen, pandas-long")
    ap.add_argument("--edges", type=int, default=5_000, help="customers of the edge check (0: none)")
    args = ap.parse_args()

    if args.edges:
        check_edges(args.edges, args.seed, args.skip)

    t0 = time.perf_counter()
    p = generate(args.n, seed=args.seed)
    print(
        f"portfolio: {p.n_customers:,} customers × {p.n_months} months, "
        f"generated in {time.perf_counter() - t0:.1f}s"
    )
    policy = cv.default_policy()
    cp = compile_policy(policy)
    ref = cv.evaluate(p, cp, previous=False)
    rows: list[tuple[str, float, str]] = []
    med, _ = timed(lambda: cv.evaluate(p, cp, previous=False), args.repeat)
    base = med
    rows.append(("custvalue tier+status", med, ""))

    if "pandas-long" not in args.skip:
        t0 = time.perf_counter()
        long = long_frame(p)
        print(f"pandas long frame: {len(long):,} rows, built in {time.perf_counter() - t0:.1f}s (not timed)")
        med, got = timed(lambda: pandas_long_tier_status(long), args.repeat)
        _check("pandas-long", got, ref.tier_codes, ref.status_codes)
        rows.append(("pandas-long", med, ""))
        del long

    if "zen" not in args.skip:
        rng = np.random.default_rng(args.seed)
        sample = np.sort(rng.choice(p.n_customers, min(args.sample, p.n_customers), replace=False))
        scale = p.n_customers / sample.size
        z = Zen(policy)
        t_ctx, ctxs = timed(lambda: zen_contexts(p, sample, policy), args.repeat)
        want = (ref.tier_codes[sample], ref.status_codes[sample])
        per: dict[str, float] = {}
        for how, fn in (
            ("engine.evaluate", z.evaluate),
            ("engine.evaluate_batch", z.evaluate_batch),
            ("decision.evaluate", z.evaluate_decision),
        ):
            per[how], got = timed(functools.partial(fn, ctxs), args.repeat)
            _check(f"zen {how}", got, *want)
        print(
            f"zen-engine {md.version('zen-engine')}, {sample.size:,} customers sampled, µs per customer: "
            + ", ".join(f"{how} {sec * 1e6 / sample.size:.1f}" for how, sec in per.items())
            + f"; contexts {t_ctx * 1e6 / sample.size:.1f}"
        )
        for how, sec in per.items():
            rows.append((f"zen {how}", sec * scale, f"extrapolated from {sample.size:,}"))
        rows.append(("zen contexts (numpy + dicts)", t_ctx * scale, f"extrapolated from {sample.size:,}"))
        fast = min(per.values())
        rows.append(("zen fastest + contexts", (fast + t_ctx) * scale, f"extrapolated from {sample.size:,}"))

    print(f"\n{'implementation':<32}{'median':>12}{'vs custvalue':>14}")
    for name, sec, note in rows:
        fig = f"{sec * 1e3:,.0f}ms" if sec < 10 else f"{sec:,.1f}s"
        print(f"{name:<32}{fig:>12}{sec / base:>13.1f}×  {note}")


if __name__ == "__main__":
    main()
