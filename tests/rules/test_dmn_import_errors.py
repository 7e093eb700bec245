# ruff: noqa: E501  (XML fragments are kept on one line each, so that line numbers are easy to count)
"""Nothing is dropped silently: every DMN element outside the supported subset, and
every malformed piece, is a DmnError naming the element, its id or name, and its line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from custvalue.rules import DmnError, read_dmn

MODELS = Path(__file__).parent / "models"
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<definitions xmlns="https://www.omg.org/spec/DMN/20230324/MODEL/" id="m" name="m" namespace="urn:t">\n'
)
INPUT = '<inputData id="in_x" name="x"><variable name="x" typeRef="number"/></inputData>\n'
NEEDS_X = '<informationRequirement><requiredInput href="#in_x"/></informationRequirement>\n'


def doc(*lines: str) -> str:
    """A document whose body lines start at line 3."""
    return HEAD + "".join(lines) + "</definitions>\n"


def literal(name: str, text: str, ident: str = "d1", extra: str = "") -> str:
    return (
        f'<decision id="{ident}" name="{name}">\n{extra}'
        f"<literalExpression><text>{text}</text></literalExpression>\n</decision>\n"
    )


def test_a_boxed_context_decision_names_element_and_line() -> None:
    with pytest.raises(DmnError) as info:
        read_dmn(MODELS / "refused_context.dmn")
    err = info.value
    assert err.reason.startswith(
        "the decision is a context; custvalue imports decisionTable, literalExpression"
    )
    assert err.line == 8 and err.element == "decision 'Boxed' (id d_ctx)"
    assert err.file == str(MODELS / "refused_context.dmn")


def test_a_decision_service_names_element_and_line() -> None:
    with pytest.raises(DmnError, match="decisionService elements are not supported") as info:
        read_dmn(MODELS / "refused_service.dmn")
    assert info.value.line == 9 and info.value.element == "decisionService 'Doubler' (id ds1)"


@pytest.mark.parametrize(
    ("body", "message", "line", "element"),
    [
        (
            INPUT
            + '<decision id="d1" name="L">\n<list id="l1"><literalExpression><text>1</text></literalExpression></list>\n</decision>\n',
            "the decision is a list",
            5,
            "decision 'L' (id d1)",
        ),
        (
            INPUT + '<decision id="d1" name="R">\n<relation id="r1"/>\n</decision>\n',
            "the decision is a relation",
            5,
            "decision 'R' (id d1)",
        ),
        (
            INPUT + '<decision id="d1" name="F">\n<functionDefinition id="f1"/>\n</decision>\n',
            "the decision is a functionDefinition",
            5,
            "decision 'F' (id d1)",
        ),
        (
            '<import namespace="urn:other" name="other" importType="x"/>\n',
            "import elements are not supported",
            3,
            "import 'other'",
        ),
        (
            INPUT + '<decision id="d1" name="Empty">\n<variable name="Empty"/>\n</decision>\n',
            "the decision has no decisionTable or literalExpression or invocation",
            4,
            "decision 'Empty' (id d1)",
        ),
        (
            INPUT
            + '<decision id="d1" name="Odd">\n<gadget id="g"/>\n'
            + "<literalExpression><text>1</text></literalExpression></decision>\n",
            "gadget elements are not supported inside a decision",
            5,
            "decision 'Odd' (id d1)",
        ),
        (
            literal(
                "A",
                "B + 1",
                "dA",
                '<informationRequirement><requiredDecision href="#dB"/></informationRequirement>\n',
            )
            + literal(
                "B",
                "A + 1",
                "dB",
                '<informationRequirement><requiredDecision href="#dA"/></informationRequirement>\n',
            ),
            "decision requirement cycle: 'A' -> 'B' -> 'A'",
            3,
            "decision 'A' (id dA)",
        ),
        (
            INPUT
            + literal(
                "A",
                "x",
                extra='<informationRequirement>\n<requiredDecision href="#nope"/></informationRequirement>\n',
            ),
            "decision 'A' (id d1) requires the decision '#nope', which the document does not have",
            6,
            "decision 'A' (id d1)",
        ),
        (
            INPUT
            + literal(
                "A",
                "x",
                extra='<informationRequirement>\n<requiredInput href="other.dmn#in_x"/></informationRequirement>\n',
            ),
            "references into other documents (imports) are not supported",
            6,
            "decision 'A' (id d1)",
        ),
        (
            INPUT + literal("A", "x +", extra=NEEDS_X),
            "decision 'A': expected an expression",
            6,
            "decision 'A' (id d1)",
        ),
        (
            INPUT
            + '<businessKnowledgeModel id="k1" name="J">\n<encapsulatedLogic kind="Java">\n'
            + "<literalExpression><text>1</text></literalExpression></encapsulatedLogic>\n</businessKnowledgeModel>\n",
            "function kind 'Java' is not supported",
            5,
            "encapsulatedLogic",
        ),
        (
            '<businessKnowledgeModel id="k1" name="K">\n<encapsulatedLogic>\n<context id="c9"/>\n'
            "</encapsulatedLogic>\n</businessKnowledgeModel>\n",
            "the business knowledge model is a context",
            5,
            "businessKnowledgeModel 'K' (id k1)",
        ),
        (
            '<businessKnowledgeModel id="k1" name="Loop">\n<encapsulatedLogic><formalParameter name="n"/>\n'
            "<literalExpression><text>Loop(n - 1)</text></literalExpression></encapsulatedLogic>\n</businessKnowledgeModel>\n",
            "business knowledge model cycle: 'Loop' -> 'Loop'",
            3,
            "businessKnowledgeModel 'Loop' (id k1)",
        ),
        (
            INPUT
            + '<businessKnowledgeModel id="k1" name="K"><encapsulatedLogic><formalParameter name="a"/>'
            + "<literalExpression><text>a</text></literalExpression></encapsulatedLogic></businessKnowledgeModel>\n"
            + '<decision id="d1" name="D">\n<invocation>\n<literalExpression><text>K</text></literalExpression>\n'
            + '<binding><parameter name="a"/>\n<context id="c2"/></binding></invocation></decision>\n',
            "binding 'a' of the invocation of decision 'D' (id d1) is a context",
            9,
            "decision 'D' (id d1)",
        ),
        (
            INPUT
            + '<decision id="d1" name="D">\n<invocation>\n<literalExpression><text>Nobody</text></literalExpression>\n'
            + "</invocation></decision>\n",
            "calls 'Nobody', which is not a business knowledge model of the document",
            5,
            "decision 'D' (id d1)",
        ),
        (
            '<itemDefinition id="t1" name="tFn">\n<functionItem/>\n</itemDefinition>\n',
            "function item definitions are not supported",
            4,
            "itemDefinition 'tFn' (id t1)",
        ),
        (
            '<itemDefinition id="t1" name="tX" typeLanguage="http://www.w3.org/2001/XMLSchema">\n'
            "<typeRef>xsd:int</typeRef></itemDefinition>\n",
            "type language 'http://www.w3.org/2001/XMLSchema' is not supported",
            3,
            "itemDefinition 'tX' (id t1)",
        ),
        (
            '<inputData id="in_x" name="x">\n<variable name="x" typeRef="tMissing"/></inputData>\n',
            "input data 'x': unknown typeRef 'tMissing'",
            3,
            "inputData 'x' (id in_x)",
        ),
    ],
)
def test_refused_and_broken_elements(body: str, message: str, line: int | None, element: str | None) -> None:
    with pytest.raises(DmnError, match=re.escape(message)) as info:
        read_dmn(doc(body))
    assert info.value.line == line, str(info.value)
    assert info.value.element == element, str(info.value)


def test_a_table_error_names_decision_table_rule_and_line() -> None:
    body = (
        INPUT
        + '<decision id="d1" name="Grade">\n'
        + NEEDS_X
        + '<decisionTable id="dt1" hitPolicy="FIRST">\n'
        + '<input label="x"><inputExpression><text>x</text></inputExpression></input>\n'
        + '<output name="g"/>\n'
        + '<rule id="ok"><inputEntry><text>&gt;= 1</text></inputEntry><outputEntry><text>"A"</text></outputEntry></rule>\n'
        + '<rule id="bad"><inputEntry><text>&gt;= 1 2</text></inputEntry><outputEntry><text>"B"</text></outputEntry></rule>\n'
        + "</decisionTable></decision>\n"
    )
    with pytest.raises(DmnError) as info:
        read_dmn(doc(body))
    err = info.value
    assert "decision 'Grade', table 'Grade'" in str(err)
    assert "rule 'bad'" in str(err) and "column 'x'" in str(err)
    assert err.line == 10 and err.element == "decision 'Grade' (id d1)"


def test_an_invocation_binding_an_unknown_parameter_is_an_error() -> None:
    body = (
        INPUT
        + '<businessKnowledgeModel id="k1" name="K"><encapsulatedLogic><formalParameter name="a"/>'
        + "<literalExpression><text>a</text></literalExpression></encapsulatedLogic></businessKnowledgeModel>\n"
        + '<decision id="d1" name="D">'
        + NEEDS_X
        + "<invocation>"
        + "<literalExpression><text>K</text></literalExpression>"
        + '<binding><parameter name="b"/><literalExpression><text>x</text></literalExpression></binding>'
        + "</invocation></decision>\n"
    )
    with pytest.raises(
        DmnError, match=re.escape("binds 'b', which is not a parameter of 'K' (parameters: a)")
    ) as info:
        read_dmn(doc(body))
    assert info.value.element == "decision 'D' (id d1)" and info.value.line == 5


def test_documents_without_decisions_are_fine_and_empty() -> None:
    model = read_dmn(doc(INPUT))
    assert model.decisions == () and model.input_data == {"x": "number"}
