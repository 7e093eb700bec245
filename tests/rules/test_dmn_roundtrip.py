"""DMN export round-trips exactly: ``read_dmn(write_dmn(model)) == model``.

Also: a modeler's diagram (DMNDI) and annotations survive the round trip, and a
model without a diagram gets one so that modelers show its graph.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custvalue.rules import (
    Binding,
    BusinessKnowledgeModel,
    DecisionTable,
    DmnDecision,
    DmnModel,
    InputClause,
    Invocation,
    ItemDefinition,
    LiteralExpression,
    OutputClause,
    Parameter,
    read_dmn,
    write_dmn,
)

MODELS = Path(__file__).parent / "models"
FILES = sorted(p.name for p in MODELS.glob("*.dmn") if not p.name.startswith("refused"))


@pytest.mark.parametrize("name", FILES)
def test_every_test_model_round_trips(name: str) -> None:
    model = read_dmn(MODELS / name)
    text = write_dmn(model)
    again = read_dmn(text)
    assert again == model
    assert write_dmn(again) == text
    # ids survive, so the modeler's diagram still points at the right elements
    assert [d.id for d in again.decisions] == [d.id for d in model.decisions]
    assert dict(again.input_ids) == dict(model.input_ids)


def test_the_modelers_diagram_and_annotations_are_kept() -> None:
    text = write_dmn(read_dmn(MODELS / "drg_chain.dmn"))
    root = ET.fromstring(text)
    shapes = [el.get("dmnElementRef") for el in root.iter() if el.tag.endswith("}DMNShape")]
    assert shapes == ["d_risk", "in_age"]  # the original two shapes, no generated diagram
    notes = [el for el in root.iter() if el.tag.endswith("textAnnotation")]
    assert len(notes) == 1
    edges = {el.get("id") for el in root.iter() if el.tag.endswith("informationRequirement")}
    assert {"ir_risk_age", "ir_ap_risk", "ir_in_amt"} <= edges


def test_a_model_without_a_diagram_gets_one() -> None:
    model = read_dmn(MODELS / "bkm.dmn")
    root = ET.fromstring(write_dmn(model))
    shapes = {el.get("dmnElementRef") for el in root.iter() if el.tag.endswith("}DMNShape")}
    ids = {
        el.get("id")
        for el in root
        if el.tag.split("}")[-1] in ("decision", "inputData", "businessKnowledgeModel")
    }
    assert shapes == ids
    edge_refs = {el.get("dmnElementRef") for el in root.iter() if el.tag.endswith("}DMNEdge")}
    req_ids = {
        el.get("id")
        for el in root.iter()
        if el.tag.split("}")[-1] in ("informationRequirement", "knowledgeRequirement")
    }
    assert edge_refs == req_ids
    assert "DMNDI" not in write_dmn(model, diagram=False)


def test_tables_still_export_as_before() -> None:
    t = DecisionTable("size", "FIRST", ["x"], ["size"], [("big", [">= 10"], ['"big"'])])
    model = read_dmn(write_dmn([t], name="sizes", input_types={"x": "number"}))
    assert model.decision("size").table == t
    assert model.input_data == {"x": "number"}
    assert model.name == "sizes"


# --------------------------------------------------------------------------- random models

NAMES = ["Age", "Monthly Salary", "Years of Service", "年龄", "risk_score"]
TEXT = st.characters(
    blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"
) | st.sampled_from("\n\t <>&\"'")
NUMBER_TESTS = ["-", "< 10", ">= 18", "[1..5)", "]0..100]", "not(3)", "1, 2, 3", "? > 5 and ? < 10"]


@st.composite
def models(draw: st.DrawFn) -> DmnModel:
    n_inputs = draw(st.integers(1, 3))
    inputs = NAMES[:n_inputs]
    items = [
        ItemDefinition("tAge", "number", allowed_values=draw(st.sampled_from([None, "[0..150]", ">= 0"]))),
        ItemDefinition(
            "tPerson",
            components=[
                ItemDefinition("age", "tAge"),
                ItemDefinition("name", "string", allowed_values='"a", "b"'),
            ],
        ),
        ItemDefinition("tScores", "number", is_collection=True),
    ]
    types = {n: draw(st.sampled_from([None, "number", "tAge", "string", "date", "tPerson"])) for n in inputs}
    knowledge = []
    if draw(st.booleans()):
        body = DecisionTable(
            "Lookup",
            "UNIQUE",
            [InputClause("k")],
            [OutputClause("v")],
            [("r1", ["< 0"], ["1"]), ("r2", [">= 0"], ["2"])],
        )
        knowledge.append(BusinessKnowledgeModel("Lookup", [Parameter("k", "number")], body, "number"))
    knowledge.append(
        BusinessKnowledgeModel(
            "Twice",
            [Parameter("x"), Parameter("y", "number")],
            LiteralExpression(draw(st.sampled_from(["x * 2", "x + y ** 2"]))),
        )
    )
    decisions: list[DmnDecision] = []
    for k in range(draw(st.integers(1, 4))):
        name = f"Decision {'ABCD'[k]}"
        earlier = [d.name for d in decisions]
        reads = draw(st.lists(st.sampled_from(inputs + earlier), min_size=1, max_size=3, unique=True))
        kind = draw(st.sampled_from(["table", "literal", "invocation"]))
        req_i = [r for r in reads if r in inputs]
        req_d = [r for r in reads if r in earlier]
        if kind == "table":
            n_rules = draw(st.integers(0, 4))
            rules = [
                (
                    f"r{j}",
                    [draw(st.sampled_from(NUMBER_TESTS)) for _ in reads],
                    [str(j), '"x"'],
                    draw(st.none() | st.text(TEXT, max_size=5)),
                )
                for j in range(n_rules)
            ]
            table = DecisionTable(
                name,
                draw(st.sampled_from(["FIRST", "UNIQUE", "RULE ORDER", "COLLECT", "PRIORITY"])),
                [InputClause(r, type_ref=draw(st.sampled_from([None, "number"]))) for r in reads],
                [
                    OutputClause("score", "number", default=draw(st.sampled_from([None, "0"]))),
                    OutputClause("label", output_values='"x", "y"'),
                ],
                rules,
            )
            decisions.append(DmnDecision(name, table, req_i, required_decisions=req_d))
        elif kind == "literal":
            text = " + ".join(reads) + draw(st.sampled_from(["", " * 2", " ** 2"]))
            lit = LiteralExpression(text, draw(st.sampled_from([None, "number"])))
            decisions.append(DmnDecision(name, None, req_i, "number", required_decisions=req_d, literal=lit))
        else:
            inv = Invocation("Twice", [Binding("x", LiteralExpression(reads[0])), Binding("y", None)])
            decisions.append(
                DmnDecision(
                    name, None, req_i, required_decisions=req_d, required_knowledge=["Twice"], invocation=inv
                )
            )
    return DmnModel(draw(st.sampled_from(["m", "模型 <1>"])), decisions, types, knowledge, items)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models())
def test_random_models_round_trip_exactly(model: DmnModel) -> None:
    text = write_dmn(model)
    assert read_dmn(text) == model
    assert read_dmn(text.encode("utf-8")) == model


@pytest.mark.parametrize("bad", ["a\x00b", "line\r\nbreak", "\x1b"])
def test_text_xml_cannot_carry_is_refused_on_export(bad: str) -> None:
    t = DecisionTable("t", "FIRST", ["x"], ["y"], [("r1", ["-"], ["1"], bad)])
    with pytest.raises(ValueError, match="cannot be written to DMN XML exactly"):
        write_dmn([t])
