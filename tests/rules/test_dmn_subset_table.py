# ruff: noqa: E501  (XML fragments are kept on one line each)
"""The subset tables of ``docs/dmn.rst`` are exact.

Read from the page: every supported FEEL example runs on the scalar reference and
vectorised, giving the documented value on the first sample row and the same value on
both paths on every sample row (and a row of nulls); every refused FEEL example raises
the documented error on both paths.  Every error text in the "refused" column of the DMN
elements table has a document that must raise a DmnError containing it (``<the error>``
stands for any text, ``...`` for the rest of the message, and an element name alone in
the decision row for ``the decision is a <name>``).

A row added to, changed in or removed from the tables is checked the next time the tests
run, so the page cannot drift from the code.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from custvalue.rules import (
    DecisionTable,
    DmnDecision,
    DmnError,
    DmnModel,
    LiteralExpression,
    NullableColumn,
    YearsMonthsDuration,
    evaluate_expression,
    parse_expression,
    read_dmn,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "dmn.rst"
LITERAL = re.compile(r"``(.+?)``")
BOTH = "scalar, vectorised"


def list_table(name: str) -> list[list[str]]:
    """The body rows of the list-table with ``:name: name`` (cells as joined text)."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"   :name: {name}")
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line and not line.startswith(" "):
            break
        if line.startswith("   * - "):
            rows.append([line[len("   * - ") :]])
        elif line.startswith("     - "):
            rows[-1].append(line[len("     - ") :])
        elif line.startswith("       ") and rows:
            rows[-1][-1] += " " + line.strip()
    assert rows, name
    return rows[1:]  # the header row


def literal(cell: str) -> str:
    found = LITERAL.findall(cell)
    assert len(found) == 1, cell
    return str(found[0])


def feel_value(text: str) -> Any:
    return evaluate_expression(parse_expression(text), {})


@cache
def sample() -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Input types and the two sample rows, as the page lists them."""
    types: dict[str, str] = {}
    rows: list[dict[str, Any]] = [{}, {}]
    for cells in list_table("subset-sample"):
        name, type_ref, first, second = (literal(c) for c in cells)
        types[name] = type_ref
        rows[0][name] = feel_value(first)
        rows[1][name] = feel_value(second)
    return types, [*rows, dict.fromkeys(types)]


def columns(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Typed columns: integers as int64 with a validity mask, dates and date-times as
    datetime64 (NaT for null), durations and other values as object columns."""
    cols: dict[str, Any] = {}
    for key in rows[0]:
        values = [r[key] for r in rows]
        present = [v for v in values if v is not None]
        if present and all(isinstance(v, Decimal) and v == v.to_integral_value() for v in present):
            ints = np.array([0 if v is None else int(v) for v in values], dtype=np.int64)
            cols[key] = NullableColumn(ints, np.array([v is not None for v in values]))
        elif present and all(type(v) is dt.date for v in present):
            cols[key] = np.array(
                ["NaT" if v is None else v.isoformat() for v in values], dtype="datetime64[D]"
            )
        elif present and all(type(v) is dt.datetime for v in present):
            cols[key] = np.array(
                ["NaT" if v is None else v.isoformat() for v in values], dtype="datetime64[us]"
            )
        else:
            col = np.empty(len(values), dtype=object)
            col[:] = values
            cols[key] = col
    return cols


def same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, list) or isinstance(b, list):
        return (
            isinstance(a, list)
            and isinstance(b, list)
            and len(a) == len(b)
            and all(same(x, y) for x, y in zip(a, b, strict=True))
        )
    return type(a) is type(b) and a == b


def run_both(model: DmnModel, decision: str) -> tuple[list[Any], list[Any]]:
    """The decision's values on every sample row: scalar reference, then vectorised."""
    _, rows = sample()
    scalar = [model.evaluate_scalar(r)[decision] for r in rows]
    result = model.compile().evaluate(columns(rows))
    return scalar, [result.value(decision, i) for i in range(len(rows))]


def expression_model(text: str) -> DmnModel:
    types, _ = sample()
    return DmnModel("subset", [DmnDecision("E", None, list(types), literal=LiteralExpression(text))], types)


def table_model(input_name: str, entry: str) -> DmnModel:
    types, _ = sample()
    table = DecisionTable("T", "FIRST", [input_name], ["o"], [("r", [entry], ['"yes"'])])
    return DmnModel("subset", [DmnDecision("T", table, list(types))], types)


EXPRESSIONS = list_table("subset-expressions")
TESTS = list_table("subset-tests")


def test_the_tables_cover_the_new_constructs() -> None:
    """The tables name what the code supports (a guard against dropping rows)."""
    examples = " ".join(literal(r[1]) for r in EXPRESSIONS)
    for fragment in ("if ", "between", " in ", "[x, 2]", "count(", "time(", "Extra days case 1", "**"):
        assert fragment in examples, fragment
    assert {r[3] for r in EXPRESSIONS} == {BOTH, "refused"}
    assert {r[4] for r in TESTS} == {BOTH, "refused"}
    assert any("> limit" in r[2] for r in TESTS)


@pytest.mark.parametrize("row", EXPRESSIONS, ids=[literal(r[1]) for r in EXPRESSIONS])
def test_expression_rows(row: list[str]) -> None:
    _, example, value, paths = row
    text = literal(example)
    if paths == BOTH:
        scalar, vectorised = run_both(expression_model(text), "E")
        expected = feel_value(literal(value))
        assert same(expected, scalar[0]), (text, expected, scalar[0])
        for i, (s, v) in enumerate(zip(scalar, vectorised, strict=True)):
            assert same(s, v), (text, i, s, v)
    else:
        assert paths == "refused", paths
        message = literal(value)
        for path in ("scalar", "vectorised"):
            with pytest.raises(ValueError) as info:
                model = expression_model(text)
                if path == "scalar":
                    model.evaluate_scalar(sample()[1][0])
                else:
                    model.compile().evaluate(columns(sample()[1]))
            assert message in str(info.value), (path, str(info.value))


@pytest.mark.parametrize("row", TESTS, ids=[literal(r[2]) for r in TESTS])
def test_unary_test_rows(row: list[str]) -> None:
    _, input_cell, entry, matches, paths = row
    name, text = literal(input_cell), literal(entry)
    if paths == BOTH:
        scalar, vectorised = run_both(table_model(name, text), "T")
        assert matches in ("yes", "no"), matches
        assert scalar[0] == ("yes" if matches == "yes" else None), (text, scalar[0])
        for i, (s, v) in enumerate(zip(scalar, vectorised, strict=True)):
            assert same(s, v), (text, i, s, v)
    else:
        assert paths == "refused", paths
        with pytest.raises(ValueError, match=re.escape(literal(matches))):
            table_model(name, text)


def test_the_sample_rows_have_every_kind_of_column() -> None:
    types, rows = sample()
    cols = columns(rows)
    assert isinstance(cols["x"], np.ndarray) and cols["x"].dtype == object  # -2.5: decimals
    assert isinstance(cols["limit"], NullableColumn)
    assert cols["d"].dtype == np.dtype("datetime64[D]") and cols["ts"].dtype == np.dtype("datetime64[us]")
    assert isinstance(rows[0]["term"], YearsMonthsDuration) and rows[0]["L"] == [1, 2, 3]
    assert set(types) == set(rows[2])


# --------------------------------------------------------------------------- DMN elements

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<definitions xmlns="https://www.omg.org/spec/DMN/20230324/MODEL/" id="m" name="m" namespace="urn:t"{attrs}>\n'
)
IN = '<inputData id="in_x" name="x"><variable name="x" typeRef="number"/></inputData>\n'


def doc(body, attrs=""):
    return HEAD.format(attrs=attrs) + body + "</definitions>\n"


def lit(text, name="D", ident="d1", extra=""):
    return f'<decision id="{ident}" name="{name}">{extra}<literalExpression><text>{text}</text></literalExpression></decision>\n'


K = (
    '<businessKnowledgeModel id="k1" name="K"><encapsulatedLogic><formalParameter name="p" typeRef="number"/>'
    "<literalExpression><text>p * 2</text></literalExpression></encapsulatedLogic></businessKnowledgeModel>\n"
)


def inv(bindings, fn="K"):
    return (
        f'<decision id="d1" name="D"><knowledgeRequirement><requiredKnowledge href="#k1"/></knowledgeRequirement>'
        f"<invocation><literalExpression><text>{fn}</text></literalExpression>{bindings}</invocation></decision>\n"
    )


TABLE = (
    '<decision id="d1" name="D"><decisionTable id="t1"><input id="i1" label="Age"><inputExpression typeRef="number"><text>x</text></inputExpression></input>'
    '<output name="o"/><rule id="r1"><inputEntry><text>&gt;&gt; 1</text></inputEntry><outputEntry><text>1</text></outputEntry></rule></decisionTable></decision>\n'
)
CASES = {
    "not a DMN document: root element is 'x'": '<?xml version="1.0"?><x/>',
    "function item definitions are not supported": doc(
        '<itemDefinition name="tF"><functionItem/></itemDefinition>\n'
    ),
    "typeConstraint is not supported; use allowedValues": doc(
        '<itemDefinition name="tC"><typeRef>number</typeRef><typeConstraint><text>&gt; 1</text></typeConstraint></itemDefinition>\n'
    ),
    "input data 'x': unknown typeRef 'tX' (not a FEEL type nor an item definition)": doc(
        '<inputData id="in_x" name="x"><variable name="x" typeRef="tX"/></inputData>\n'
    ),
    "the decision is a context; custvalue imports decisionTable, literalExpression, invocation only": doc(
        '<decision id="d1" name="D"><context/></decision>\n'
    ),
    "conditional": doc('<decision id="d1" name="D"><conditional/></decision>\n'),
    "filter": doc('<decision id="d1" name="D"><filter/></decision>\n'),
    "for": doc('<decision id="d1" name="D"><for/></decision>\n'),
    "every": doc('<decision id="d1" name="D"><every/></decision>\n'),
    "some": doc('<decision id="d1" name="D"><some/></decision>\n'),
    "list": doc('<decision id="d1" name="D"><list/></decision>\n'),
    "relation": doc('<decision id="d1" name="D"><relation/></decision>\n'),
    "functionDefinition": doc('<decision id="d1" name="D"><functionDefinition/></decision>\n'),
    "the decision has no decisionTable or literalExpression or invocation": doc(
        '<decision id="d1" name="D"><variable name="D"/></decision>\n'
    ),
    "x elements are not supported inside a decision": doc(
        '<decision id="d1" name="D"><x/><literalExpression><text>1</text></literalExpression></decision>\n'
    ),
    "decision 'D', table 'D': <the error> (table 'D', rule 'r1', column 'Age')": doc(IN + TABLE),
    "importedValues are not supported": doc(
        '<decision id="d1" name="D"><literalExpression><importedValues/></literalExpression></decision>\n'
    ),
    "the literal expression has no text": doc('<decision id="d1" name="D"><literalExpression/></decision>\n'),
    "decision 'D': <the FEEL error>": doc(lit("1 +")),
    "binding 'p' of the invocation of decision 'D' (id d1) is a context; only literal expressions are supported": doc(
        K + inv('<binding><parameter name="p"/><context/></binding>')
    ),
    "the invocation of decision 'D' (id d1) calls 'K', which is not a business knowledge model of the document": doc(
        '<decision id="d1" name="D"><invocation><literalExpression><text>K</text></literalExpression></invocation></decision>\n'
    ),
    "the invocation of decision 'D' (id d1) names no business knowledge model": doc(
        '<decision id="d1" name="D"><invocation></invocation></decision>\n'
    ),
    "decision 'D' binds 'q', which is not a parameter of 'K'": doc(
        K
        + inv('<binding><parameter name="q"/><literalExpression><text>1</text></literalExpression></binding>')
    ),
    "the business knowledge model is a context; ...": doc(
        '<businessKnowledgeModel id="k1" name="K"><encapsulatedLogic><context/></encapsulatedLogic></businessKnowledgeModel>\n'
    ),
    "function kind 'Java' is not supported; custvalue reads FEEL functions only": doc(
        '<businessKnowledgeModel id="k1" name="K"><encapsulatedLogic kind="Java"><literalExpression><text>1</text></literalExpression></encapsulatedLogic></businessKnowledgeModel>\n'
    ),
    "function kind 'PMML' is not supported": doc(
        '<businessKnowledgeModel id="k1" name="K"><encapsulatedLogic kind="PMML"><literalExpression><text>1</text></literalExpression></encapsulatedLogic></businessKnowledgeModel>\n'
    ),
    "business knowledge model cycle: 'K' -> 'K'": doc(
        '<businessKnowledgeModel id="k1" name="K"><knowledgeRequirement><requiredKnowledge href="#k1"/></knowledgeRequirement><encapsulatedLogic><formalParameter name="p"/><literalExpression><text>K(p)</text></literalExpression></encapsulatedLogic></businessKnowledgeModel>\n'
    ),
    "decision 'D' (id d1) requires the decision '#x', which the document does not have": doc(
        lit("1", extra='<informationRequirement><requiredDecision href="#x"/></informationRequirement>')
    ),
    "... references into other documents (imports) are not supported": doc(
        lit(
            "1",
            extra='<informationRequirement><requiredDecision href="other.dmn#x"/></informationRequirement>',
        )
    ),
    "decision requirement cycle: 'A' -> 'B' -> 'A'": doc(
        lit("B", "A", "a", '<informationRequirement><requiredDecision href="#b"/></informationRequirement>')
        + lit("A", "B", "b", '<informationRequirement><requiredDecision href="#a"/></informationRequirement>')
    ),
    "decisionService elements are not supported; custvalue reads item definitions, input data, decisions and business knowledge models": doc(
        '<decisionService id="s1" name="S"/>\n'
    ),
    "import elements are not supported": doc('<import namespace="urn:o" name="o" importType="x"/>\n'),
    "elementCollection elements are not supported": doc('<elementCollection id="e1" name="E"/>\n'),
    "performanceIndicator elements are not supported": doc('<performanceIndicator id="p1" name="P"/>\n'),
    "organizationUnit elements are not supported": doc('<organizationUnit id="o1" name="O"/>\n'),
    "expression language 'x' is not supported; custvalue reads FEEL only": doc(
        lit("1"), ' expressionLanguage="x"'
    ),
    "type language 'x' is not supported; ...": doc(lit("1"), ' typeLanguage="x"'),
    "DMN documents with DOCTYPE or ENTITY declarations are not accepted": '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "x">]><definitions/>',
}


#: element names the decision row lists as refused in the same way as a context
DECISION_KINDS = {"list", "relation", "functionDefinition", "conditional", "filter", "for", "every", "some"}


def documented() -> list[str]:
    texts: list[str] = []
    for row in list_table("subset-elements"):
        if len(row) == 3:
            texts += LITERAL.findall(row[2])
    return texts


def parts(text: str) -> list[str]:
    """The fragments an error message must contain for a documented text."""
    if text in DECISION_KINDS:
        return [
            f"the decision is a {text}; custvalue imports decisionTable, literalExpression, invocation only"
        ]
    text = text.removeprefix("... ").removesuffix(" ...")
    return [p.strip() for p in re.split(r"<the (?:FEEL )?error>", text) if p.strip()]


def test_every_documented_refusal_has_a_document() -> None:
    texts = documented()
    assert len(texts) >= 25
    assert sorted(set(texts) - set(CASES)) == []


@pytest.mark.parametrize("text", sorted(CASES))
def test_the_document_raises_the_documented_error(text: str) -> None:
    with pytest.raises(DmnError) as info:
        read_dmn(CASES[text])
    for fragment in parts(text):
        assert fragment in str(info.value), (fragment, str(info.value))
