"""DMN XML interchange for decision tables (standard library only).

Documents containing a ``<!DOCTYPE`` or ``<!ENTITY`` declaration are
rejected while parsing (before any tree is built), so no entity is ever
expanded or fetched.  Elements are matched on their local names, so any DMN
namespace (or prefix) works.  Files are read as bytes, so the encoding the
XML declares (or its byte-order mark, e.g. UTF-16) is honoured.

Nothing is dropped silently: a decision that is not a decision table (a
literal expression, a boxed context...), a decision that requires another
decision, a business knowledge model or decision service, and any expression
in a language other than FEEL are errors (:class:`DmnError`) naming the
element, its id and its line.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
import xml.parsers.expat as expat
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs

from ._table import (
    DecisionTable,
    HitPolicy,
    InputClause,
    OutputClause,
    Rule,
    TableError,
    format_value,
)

__all__ = ["DMN_NAMESPACE", "DmnDecision", "DmnError", "DmnModel", "read_dmn", "table_from_dmn", "write_dmn"]

#: Namespace written by :func:`write_dmn` (DMN 1.5).
DMN_NAMESPACE = "https://www.omg.org/spec/DMN/20230324/MODEL/"

#: Elements a decision may hold instead of a decision table, none of them imported yet.
_NOT_TABLES = (
    "literalExpression",
    "context",
    "invocation",
    "list",
    "relation",
    "functionDefinition",
    "conditional",
    "filter",
    "for",
    "every",
    "some",
)
#: Top-level elements whose content would be dropped by an import of tables only.
_UNSUPPORTED_TOP = ("businessKnowledgeModel", "decisionService")


class DmnError(TableError):
    """A DMN document custvalue cannot import exactly, naming the place.

    Attributes
    ----------
    file, line, element : str, int, str or None
        The file (when read from one), the 1-based line and the element
        (``decision 'Risk' (id d1)``) of the problem.
    """

    def __init__(
        self, message: str, *, file: str | None = None, line: int | None = None, element: str | None = None
    ) -> None:
        self.file, self.line, self.element = file, line, element
        where = ", ".join(
            p
            for p in (
                None if element is None else element,
                None if file is None else f"file {file}",
                None if line is None else f"line {line}",
            )
            if p
        )
        super().__init__(f"{message} ({where})" if where else message)


class _Refused(Exception):
    pass


def _refuse(*_: object) -> None:
    raise _Refused


@attrs.frozen
class DmnDecision:
    """One decision of a DMN model: its name, table and required inputs."""

    name: str
    table: DecisionTable
    required_inputs: tuple[str, ...] = ()
    type_ref: str | None = None


@attrs.frozen
class DmnModel:
    """The decision tables and input data of a DMN document."""

    name: str | None
    decisions: tuple[DmnDecision, ...]
    input_data: Mapping[str, str | None]

    def decision(self, name: str | None = None) -> DmnDecision:
        """The decision called ``name`` (or the only one)."""
        if name is None:
            if len(self.decisions) != 1:
                raise TableError(f"model has {len(self.decisions)} decisions; name one")
            return self.decisions[0]
        for d in self.decisions:
            if d.name == name:
                return d
        raise TableError(f"no decision named {name!r}")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if "}" in tag else tag.split(":")[-1]


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


def _child(el: ET.Element, name: str) -> ET.Element | None:
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def _text(el: ET.Element | None) -> str | None:
    if el is None:
        return None
    t = _child(el, "text")
    if t is None:
        return None
    return t.text or ""


def _parse_xml(source: str | os.PathLike[str] | bytes) -> tuple[ET.Element, str | None]:
    """The root element and the file name (None for text), refusing DOCTYPE/ENTITY."""
    file: str | None = None
    data: str | bytes
    if isinstance(source, bytes):
        data = source
    elif isinstance(source, os.PathLike) or ("<" not in source and Path(source).exists()):
        file = str(source)
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise DmnError(f"cannot read DMN file: {exc.strerror}", file=file) from None
    else:
        data = source
    scan = expat.ParserCreate()
    scan.StartDoctypeDeclHandler = _refuse
    scan.EntityDeclHandler = _refuse
    try:
        scan.Parse(data, True)
    except _Refused:
        raise DmnError(
            "DMN documents with DOCTYPE or ENTITY declarations are not accepted",
            file=file,
            line=scan.CurrentLineNumber,
        ) from None
    except expat.ExpatError as err:
        raise DmnError(
            f"invalid DMN XML: {expat.ErrorString(err.code)}", file=file, line=err.lineno
        ) from None
    return ET.fromstring(data), file


def _where(el: ET.Element) -> str:
    name, ident = el.get("name"), el.get("id")
    text = _local(el.tag) + (f" {name!r}" if name else "")
    return text + (f" (id {ident})" if ident else "")


def _check_language(el: ET.Element, default: str | None, file: str | None) -> None:
    """Every expression language in ``el``'s subtree must be FEEL."""
    for node in el.iter():
        lang = node.get("expressionLanguage") or (default if node is el else None)
        if lang and "feel" not in lang.lower():
            raise DmnError(
                f"expression language {lang!r} is not supported; custvalue reads FEEL only",
                file=file,
                element=_where(node),
            )


def _table(decision_name: str, el: ET.Element) -> DecisionTable:
    inputs: list[InputClause] = []
    for i, inp in enumerate(_children(el, "input")):
        expr_el = _child(inp, "inputExpression")
        expr = _text(expr_el) or ""
        label = inp.get("label") or expr.strip() or f"input{i + 1}"
        inputs.append(
            InputClause(
                name=label,
                expression_text=expr.strip() or label,
                type_ref=expr_el.get("typeRef") if expr_el is not None else None,
                allowed_values=_text(_child(inp, "inputValues")),
            )
        )
    outputs: list[OutputClause] = []
    out_els = _children(el, "output")
    for j, out in enumerate(out_els):
        name = out.get("name") or (decision_name if len(out_els) == 1 else f"output{j + 1}")
        outputs.append(
            OutputClause(
                name=name,
                type_ref=out.get("typeRef"),
                output_values=_text(_child(out, "outputValues")),
                default=_text(_child(out, "defaultOutputEntry")),
            )
        )
    rules: list[Rule] = []
    for k, rule in enumerate(_children(el, "rule")):
        rules.append(
            Rule(
                id=rule.get("id") or f"r{k + 1}",
                input_entries=tuple((_text_of(e) or "-") for e in _children(rule, "inputEntry")),
                output_entries=tuple(_text_of(e) or "null" for e in _children(rule, "outputEntry")),
                annotation=next((_text_of(a) for a in _children(rule, "annotationEntry")), None),
            )
        )
    return DecisionTable(
        name=decision_name,
        hit_policy=el.get("hitPolicy") or HitPolicy.UNIQUE,
        inputs=inputs,
        outputs=outputs,
        rules=rules,
        aggregation=el.get("aggregation"),
    )


def _text_of(el: ET.Element) -> str | None:
    t = _child(el, "text")
    return None if t is None else (t.text or "")


def read_dmn(source: str | os.PathLike[str] | bytes) -> DmnModel:
    """Read the decision tables of a DMN document.

    Parameters
    ----------
    source
        A path, the XML text, or the XML bytes (their declared encoding is honoured).

    Returns
    -------
    DmnModel

    Examples
    --------
    >>> t = DecisionTable("size", "FIRST", ["x"], ["size"], [("big", [">= 10"], ['"big"'])])
    >>> read_dmn(write_dmn([t])).decision("size").table == t
    True
    """
    root, file = _parse_xml(source)
    if _local(root.tag) != "definitions":
        raise DmnError(f"not a DMN document: root element is {_local(root.tag)!r}", file=file)
    _check_language(root, root.get("expressionLanguage"), file)
    for name in _UNSUPPORTED_TOP:
        for el in _children(root, name):
            raise DmnError(
                f"{name} elements are not supported yet; custvalue imports decision tables over input data",
                file=file,
                element=_where(el),
            )
    decision_ids = {d.get("id"): d.get("name") or "" for d in _children(root, "decision")}
    ids: dict[str, str] = {}
    input_data: dict[str, str | None] = {}
    for d in _children(root, "inputData"):
        name = d.get("name") or ""
        var = _child(d, "variable")
        input_data[name] = var.get("typeRef") if var is not None else None
        if d.get("id"):
            ids[d.get("id") or ""] = name
    decisions: list[DmnDecision] = []
    for dec in _children(root, "decision"):
        dt = _child(dec, "decisionTable")
        if dt is None:
            kind = next((_local(c.tag) for c in dec if _local(c.tag) in _NOT_TABLES), None)
            what = f"is a {kind}" if kind else "has no decision table"
            raise DmnError(
                f"the decision {what}; custvalue imports decision tables only", file=file, element=_where(dec)
            )
        name = dec.get("name") or ""
        req: list[str] = []
        for ir in _children(dec, "informationRequirement"):
            rd = _child(ir, "requiredDecision")
            if rd is not None:
                href = (rd.get("href") or "").lstrip("#")
                raise DmnError(
                    f"the decision requires the decision {decision_ids.get(href, href)!r}; "
                    "decision requirement graphs are not supported yet",
                    file=file,
                    element=_where(dec),
                )
            ri = _child(ir, "requiredInput")
            if ri is not None:
                href = (ri.get("href") or "").lstrip("#")
                req.append(ids.get(href, href))
        var = _child(dec, "variable")
        decisions.append(
            DmnDecision(
                name=name,
                table=_table(name, dt),
                required_inputs=tuple(req),
                type_ref=var.get("typeRef") if var is not None else None,
            )
        )
    return DmnModel(root.get("name"), tuple(decisions), input_data)


def table_from_dmn(
    source: str | os.PathLike[str] | bytes | DmnModel, decision: str | None = None
) -> DecisionTable:
    """The decision table of ``decision`` (or of the only decision) in a DMN document."""
    model = source if isinstance(source, DmnModel) else read_dmn(source)
    return model.decision(decision).table


def _sub(
    parent: ET.Element, tag: str, attrib: Mapping[str, str] | None = None, text: str | None = None
) -> ET.Element:
    el = ET.SubElement(parent, tag, dict(attrib or {}))
    if text is not None:
        ET.SubElement(el, "text").text = text
    return el


def _idsafe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


def write_dmn(
    tables: Iterable[DecisionTable], name: str = "custvalue", input_types: Mapping[str, str] | None = None
) -> str:
    """Export decision tables as a DMN 1.5 XML document.

    Each table becomes a decision with a decision table; each input name
    becomes an ``inputData``.  :func:`read_dmn` of the result gives back
    equal tables.

    Examples
    --------
    >>> t = DecisionTable("size", "FIRST", ["x"], ["size"], [("big", [">= 10"], ['"big"'])])
    >>> 'hitPolicy="FIRST"' in write_dmn([t])
    True
    """
    root = ET.Element(
        "definitions",
        {"xmlns": DMN_NAMESPACE, "name": name, "id": _idsafe(name), "namespace": "urn:custvalue"},
    )
    types = dict(input_types or {})
    data: dict[str, str | None] = {}
    for t in tables:
        for clause in t.inputs:
            src = clause.source_name
            if src is not None:
                data.setdefault(src, types.get(src, clause.type_ref))
    for t in tables:
        dec = _sub(root, "decision", {"name": t.name, "id": "d_" + _idsafe(t.name)})
        for src in sorted({c.source_name for c in t.inputs if c.source_name}):
            ir = _sub(dec, "informationRequirement")
            _sub(ir, "requiredInput", {"href": "#i_" + _idsafe(src)})
        attrs_ = {"hitPolicy": t.hit_policy.value}
        if t.aggregation is not None:
            attrs_["aggregation"] = t.aggregation.value
        dt = _sub(dec, "decisionTable", attrs_)
        for clause in t.inputs:
            inp = _sub(dt, "input", {"label": clause.name})
            ie_attrs = {"typeRef": clause.type_ref} if clause.type_ref else {}
            _sub(inp, "inputExpression", ie_attrs, clause.expression_text)
            if clause.allowed_values is not None:
                _sub(inp, "inputValues", None, clause.allowed_values)
        for out in t.outputs:
            o_attrs = {"name": out.name}
            if out.type_ref:
                o_attrs["typeRef"] = out.type_ref
            o = _sub(dt, "output", o_attrs)
            if out.output_values:
                _sub(o, "outputValues", None, ", ".join(format_value(v) for v in out.output_values))
            if out.default is not None:
                _sub(o, "defaultOutputEntry", None, out.default)
        for rule in t.rules:
            r = _sub(dt, "rule", {"id": rule.id})
            for entry in rule.input_entries:
                _sub(r, "inputEntry", None, entry)
            for entry in rule.output_entries:
                _sub(r, "outputEntry", None, entry)
            if rule.annotation is not None:
                _sub(r, "annotationEntry", None, rule.annotation)
    for src, type_ref in data.items():
        d = _sub(root, "inputData", {"name": src, "id": "i_" + _idsafe(src)})
        v_attrs = {"name": src}
        if type_ref:
            v_attrs["typeRef"] = type_ref
        _sub(d, "variable", v_attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
