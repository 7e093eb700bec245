"""Property: on random decision requirement graphs (tables of every hit policy and
aggregations, tests reading other inputs, list tests, default output entries that are
expressions, literal expressions with if/between/in and list functions, multi-hit tables
feeding other decisions as lists, knowledge-model invocations and FEEL calls, chained)
and random rows with nulls, the vectorised path gives exactly the scalar reference's
values, and raises a hit-policy violation exactly when the reference does."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custvalue.rules import (
    Binding,
    BusinessKnowledgeModel,
    DecisionTable,
    DmnDecision,
    DmnModel,
    HitPolicyViolation,
    Invocation,
    LiteralExpression,
    NullableColumn,
    OutputClause,
    Parameter,
    read_dmn,
    write_dmn,
)

INPUTS = ["a", "b value", "c"]
TESTS = [
    "-",
    "< 3",
    ">= 5",
    "[0..10)",
    "not(2)",
    "1, 4",
    "null",
    "> 0",
    "]-2..2]",
    # tests against other inputs, and lists
    "> c",
    "[a..b value]",
    "= a",
    "[1, 4, c]",
    "not(c, 2)",
]
OUTPUTS = ["0", "1", "2", "-3", "0.5", "7.25", "null"]
BKMS = [
    BusinessKnowledgeModel("Scale", [Parameter("x")], LiteralExpression("x * 3 + 1")),
    BusinessKnowledgeModel(
        "Band",
        [Parameter("x")],
        DecisionTable(
            "Band",
            "FIRST",
            ["x"],
            ["band"],
            [("lo", ["< 0"], ["-1"]), ("mid", ["[0..5]"], ["0"]), ("hi", ["> 5"], ["1"])],
        ),
    ),
]


@st.composite
def models(draw: st.DrawFn) -> DmnModel:
    decisions: list[DmnDecision] = []
    names = list(INPUTS)
    for k in range(draw(st.integers(1, 4))):
        name = f"D{k}"
        kind = draw(st.sampled_from(["table", "table", "literal", "feel", "invocation", "call"]))
        reads = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
        req_i = [r for r in reads if r in INPUTS]
        req_d = [r for r in reads if r not in INPUTS]
        if kind == "table":
            policy = draw(
                st.sampled_from(
                    [
                        "FIRST",
                        "UNIQUE",
                        "ANY",
                        "PRIORITY",
                        "C+",
                        "C<",
                        "C>",
                        "C#",
                        "COLLECT",
                        "RULE ORDER",
                        "OUTPUT ORDER",
                    ]
                )
            )
            agg = policy[1] if policy[:2] in ("C+", "C<", "C>", "C#") else None
            outs = [o for o in OUTPUTS if o != "null"] if agg else OUTPUTS
            rules = [
                (f"r{j}", [draw(st.sampled_from(TESTS)) for _ in reads], [draw(st.sampled_from(outs))])
                for j in range(draw(st.integers(0, 4)))
            ]
            out = OutputClause(
                name,
                output_values=["7.25", "2", "1", "0.5", "0", "-3"]
                if policy in ("PRIORITY", "OUTPUT ORDER")
                else (),
                default=None
                if agg
                else draw(st.sampled_from([None, "0", "-1", "a + 1", "if c > 2 then c else 0"])),
            )
            table = DecisionTable(name, "COLLECT" if agg else policy, reads, [out], rules, aggregation=agg)
            decisions.append(DmnDecision(name, table, req_i, required_decisions=req_d))
        elif kind == "literal":
            op = draw(st.sampled_from(["+", "-", "*"]))
            tail = draw(st.sampled_from(["", " / 4", " / 3", " * 2", " ** 2"]))
            text = f" {op} ".join(f"({r})" if " " in r else r for r in reads) + tail
            decisions.append(
                DmnDecision(name, None, req_i, required_decisions=req_d, literal=LiteralExpression(text))
            )
        elif kind == "feel":
            r = reads[0]
            text = draw(
                st.sampled_from(
                    [
                        f"count({r})",
                        f"sum({r})",
                        f"list contains({r}, 1)",
                        f"1 in ({r})",
                        f"if {r} > 2 then {r} else -1",
                        f"{r} between 0 and 5",
                        f"mean([{r}, 1])",
                        f"{r} in [0..4]",
                        f"max([{r}, a, 3])",
                    ]
                )
            )
            decisions.append(
                DmnDecision(name, None, req_i, required_decisions=req_d, literal=LiteralExpression(text))
            )
        elif kind == "invocation":
            bkm = draw(st.sampled_from(BKMS))
            inv = Invocation(bkm.name, [Binding("x", LiteralExpression(reads[0]))])
            decisions.append(
                DmnDecision(
                    name, None, req_i, required_decisions=req_d, required_knowledge=[bkm.name], invocation=inv
                )
            )
        else:
            bkm = draw(st.sampled_from(BKMS))
            text = f"{bkm.name}({reads[0]}) - 1"
            decisions.append(
                DmnDecision(
                    name,
                    None,
                    req_i,
                    required_decisions=req_d,
                    required_knowledge=[bkm.name],
                    literal=LiteralExpression(text),
                )
            )
        names.append(name)
    return DmnModel("random", decisions, {n: "number" for n in INPUTS}, BKMS)


ROWS = st.lists(
    st.fixed_dictionaries({n: st.none() | st.integers(-4, 12) for n in INPUTS}), min_size=1, max_size=8
)


def _columns(rows: list[dict[str, Any]]) -> dict[str, Any]:
    cols: dict[str, Any] = {}
    for n in INPUTS:
        vals = [r[n] for r in rows]
        valid = np.array([v is not None for v in vals])
        cols[n] = NullableColumn(np.array([v or 0 for v in vals], dtype=np.int64), valid)
    return cols


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, D):
        return isinstance(b, D) and a == b
    return bool(a == b)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models(), ROWS)
def test_vectorised_equals_scalar_on_random_graphs(model: DmnModel, rows: list[dict[str, Any]]) -> None:
    scalar: list[dict[str, Any]] = []
    violation = False
    for r in rows:
        try:
            scalar.append(model.evaluate_scalar(r))
        except HitPolicyViolation:
            violation = True
    compiled = model.compile()
    if violation:
        with pytest.raises(HitPolicyViolation):
            compiled.evaluate(_columns(rows))
        return
    result = compiled.evaluate(_columns(rows))
    for i, expected in enumerate(scalar):
        for decision, value in expected.items():
            assert _same(value, result.value(decision, i)), (
                decision,
                rows[i],
                value,
                result.value(decision, i),
            )
    # and the model survives its export
    assert read_dmn(write_dmn(model)) == model
