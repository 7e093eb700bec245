"""DMN XML interchange for whole models (standard library only).

:func:`read_dmn` reads a DMN document into a :class:`DmnModel`: item
definitions, input data, decisions (decision tables, literal expressions,
invocations), business knowledge models (a decision table or a literal
expression over formal parameters) and their requirements.  :func:`write_dmn`
writes one back; ``read_dmn(write_dmn(model)) == model``.

Documents containing a ``<!DOCTYPE`` or ``<!ENTITY`` declaration are
rejected while parsing (before any tree is built), so no entity is ever
expanded or fetched.  Elements are matched on their local names, so any DMN
namespace (or prefix) works.  Files are read as bytes, so the encoding the
XML declares (or its byte-order mark, e.g. UTF-16) is honoured.

Nothing is dropped silently: any element outside the supported subset (a
boxed context, a relation, a decision service, an import, ...) and any
expression or type language other than FEEL is a :class:`DmnError` naming the
element, its id or name and its line.  Diagram and documentation elements
(``DMNDI``, ``textAnnotation``, ``association``, ``knowledgeSource``,
``authorityRequirement``, ``description``, ``extensionElements``,
``question``, ``allowedAnswers``) carry no semantics: they are kept as XML
and written back unchanged, so a modeler's layout survives the round trip.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
import xml.parsers.expat as expat
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final

from ._drg import DmnModel
from ._feel import FeelSyntaxError
from ._items import ItemDefinition
from ._model import (
    Binding,
    BusinessKnowledgeModel,
    DmnDecision,
    DmnError,
    Invocation,
    LiteralExpression,
    Parameter,
)
from ._table import (
    DecisionTable,
    HitPolicy,
    InputClause,
    OutputClause,
    Rule,
    TableError,
    format_value,
)

__all__ = [
    "DMN_NAMESPACE",
    "KEPT_ELEMENTS",
    "REFUSED_LOGIC",
    "DmnDecision",
    "DmnError",
    "DmnModel",
    "read_dmn",
    "table_from_dmn",
    "write_dmn",
]

#: Namespace written by :func:`write_dmn` (DMN 1.5).
DMN_NAMESPACE: Final = "https://www.omg.org/spec/DMN/20230324/MODEL/"
_DMNDI: Final = "https://www.omg.org/spec/DMN/20191111/DMNDI/"
_DC: Final = "http://www.omg.org/spec/DMN/20180521/DC/"
_DI: Final = "http://www.omg.org/spec/DMN/20180521/DI/"

#: Boxed expressions a decision or knowledge model may hold that custvalue refuses.
REFUSED_LOGIC: Final = (
    "context",
    "list",
    "relation",
    "functionDefinition",
    "conditional",
    "filter",
    "for",
    "every",
    "some",
)
#: Elements without semantics, kept as XML and written back unchanged.
KEPT_ELEMENTS: Final = (
    "DMNDI",
    "textAnnotation",
    "association",
    "group",
    "knowledgeSource",
    "authorityRequirement",
    "description",
    "extensionElements",
    "question",
    "allowedAnswers",
)
_TOP: Final = ("itemDefinition", "inputData", "decision", "businessKnowledgeModel")


class _Refused(Exception):
    pass


def _refuse(*_: object) -> None:
    raise _Refused


# --------------------------------------------------------------------------- XML with lines


class _Doc:
    """The parsed tree and the line of every element."""

    def __init__(self, root: ET.Element, lines: Mapping[int, int], file: str | None) -> None:
        self.root, self._lines, self.file = root, lines, file

    def line(self, el: ET.Element) -> int | None:
        return self._lines.get(id(el))

    def error(self, message: str, at: ET.Element | None, owner: ET.Element | None = None) -> DmnError:
        """An error at the line of ``at``, naming ``owner`` (default: ``at``)."""
        named = owner if owner is not None else at
        return DmnError(
            message,
            file=self.file,
            line=None if at is None else self.line(at),
            element=None if named is None else _where(named),
        )


def _source(source: str | os.PathLike[str] | bytes) -> tuple[bytes | str, str | None]:
    if isinstance(source, bytes):
        return source, None
    if isinstance(source, os.PathLike) or ("<" not in source and Path(source).exists()):
        file = str(source)
        try:
            return Path(source).read_bytes(), file
        except OSError as exc:
            raise DmnError(f"cannot read DMN file: {exc.strerror}", file=file) from None
    return source, None


def _parse_xml(source: str | os.PathLike[str] | bytes) -> _Doc:
    """The tree, with the line of each element; DOCTYPE/ENTITY refused."""
    data, file = _source(source)
    builder = ET.TreeBuilder()
    lines: dict[int, int] = {}
    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    keep: list[ET.Element] = []

    def start(tag: str, attrib: dict[str, str]) -> None:
        tag = "{" + tag if "}" in tag else tag
        attrib = {("{" + k if "}" in k else k): v for k, v in attrib.items()}
        el = builder.start(tag, attrib)
        keep.append(el)
        lines[id(el)] = parser.CurrentLineNumber

    def end(tag: str) -> None:
        builder.end("{" + tag if "}" in tag else tag)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except _Refused:
        raise DmnError(
            "DMN documents with DOCTYPE or ENTITY declarations are not accepted",
            file=file,
            line=parser.CurrentLineNumber,
        ) from None
    except expat.ExpatError as err:
        raise DmnError(
            f"invalid DMN XML: {expat.ErrorString(err.code)}", file=file, line=err.lineno
        ) from None
    root = builder.close()
    return _Doc(root, lines, file)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if "}" in tag else tag.split(":")[-1]


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


def _child(el: ET.Element, name: str) -> ET.Element | None:
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def _text_of(el: ET.Element | None) -> str | None:
    if el is None:
        return None
    t = _child(el, "text")
    return None if t is None else (t.text or "")


def _where(el: ET.Element) -> str:
    name, ident = el.get("name"), el.get("id")
    text = _local(el.tag) + (f" {name!r}" if name else "")
    return text + (f" (id {ident})" if ident else "")


def _raw(el: ET.Element) -> str:
    return ET.tostring(el, encoding="unicode")


def _check_language(doc: _Doc) -> None:
    """Every expression and type language in the document must be FEEL."""
    root = doc.root
    for node in root.iter():
        for attr in ("expressionLanguage", "typeLanguage"):
            lang = node.get(attr)
            if lang and "feel" not in lang.lower():
                what = "expression language" if attr == "expressionLanguage" else "type language"
                raise doc.error(f"{what} {lang!r} is not supported; custvalue reads FEEL only", node)
        if _local(node.tag) in ("encapsulatedLogic", "functionDefinition"):
            kind = node.get("kind")
            if kind and kind.upper() not in ("F", "FEEL"):
                raise doc.error(
                    f"function kind {kind!r} is not supported; custvalue reads FEEL functions only", node
                )


def _unexpected(doc: _Doc, el: ET.Element, owner: ET.Element, allowed: Iterable[str]) -> None:
    for c in el:
        k = _local(c.tag)
        if k not in allowed and k not in KEPT_ELEMENTS:
            raise doc.error(f"{k} elements are not supported inside {_local(el.tag)}", c, owner)


# --------------------------------------------------------------------------- reading


def _item(doc: _Doc, el: ET.Element, depth: int = 0) -> ItemDefinition:
    if depth > 32:
        raise doc.error("item definitions nest too deeply", el)
    if _child(el, "functionItem") is not None:
        raise doc.error("function item definitions are not supported", _child(el, "functionItem"), el)
    _unexpected(doc, el, el, ("typeRef", "allowedValues", "itemComponent", "typeConstraint"))
    if _child(el, "typeConstraint") is not None:
        raise doc.error(
            "typeConstraint is not supported; use allowedValues", _child(el, "typeConstraint"), el
        )
    tr = _child(el, "typeRef")
    type_ref = None if tr is None else (tr.text or "").strip()
    components = tuple(_item(doc, c, depth + 1) for c in _children(el, "itemComponent"))
    coll = (el.get("isCollection") or "false").strip().lower() == "true"
    try:
        return ItemDefinition(
            el.get("name") or "",
            type_ref,
            _text_of(_child(el, "allowedValues")),
            components,
            coll,
            id=el.get("id"),
        )
    except TableError as err:
        raise doc.error(err.reason, el) from None


def _table(doc: _Doc, name: str, el: ET.Element, owner: ET.Element) -> DecisionTable:
    _unexpected(doc, el, owner, ("input", "output", "rule", "annotation"))
    inputs: list[InputClause] = []
    for i, inp in enumerate(_children(el, "input")):
        expr_el = _child(inp, "inputExpression")
        expr = _text_of(expr_el) or ""
        label = inp.get("label") or expr.strip() or f"input{i + 1}"
        try:
            inputs.append(
                InputClause(
                    name=label,
                    expression_text=expr.strip() or label,
                    type_ref=expr_el.get("typeRef") if expr_el is not None else None,
                    allowed_values=_text_of(_child(inp, "inputValues")),
                )
            )
        except (FeelSyntaxError, TableError) as err:
            raise doc.error(
                f"decision {name!r}, table {name!r}, input {label!r}: {err}", inp, owner
            ) from None
    outputs: list[OutputClause] = []
    out_els = _children(el, "output")
    for j, out in enumerate(out_els):
        oname = out.get("name") or (name if len(out_els) == 1 else f"output{j + 1}")
        try:
            outputs.append(
                OutputClause(
                    name=oname,
                    type_ref=out.get("typeRef"),
                    output_values=_text_of(_child(out, "outputValues")),
                    default=_text_of(_child(out, "defaultOutputEntry")),
                )
            )
        except (FeelSyntaxError, TableError, ValueError) as err:
            raise doc.error(
                f"decision {name!r}, table {name!r}, output {oname!r}: {err}", out, owner
            ) from None
    rules: list[Rule] = []
    rule_els: dict[str, ET.Element] = {}
    for k, rule in enumerate(_children(el, "rule")):
        rid = rule.get("id") or f"r{k + 1}"
        rule_els[rid] = rule
        rules.append(
            Rule(
                id=rid,
                input_entries=tuple((_text_of(e) or "-") for e in _children(rule, "inputEntry")),
                output_entries=tuple(_text_of(e) or "null" for e in _children(rule, "outputEntry")),
                annotation=next((_text_of(a) for a in _children(rule, "annotationEntry")), None),
            )
        )
    try:
        return DecisionTable(
            name=name,
            hit_policy=el.get("hitPolicy") or HitPolicy.UNIQUE,
            inputs=inputs,
            outputs=outputs,
            rules=rules,
            aggregation=el.get("aggregation"),
        )
    except TableError as err:
        at = rule_els.get(err.rule_id or "", el)
        raise doc.error(f"decision {name!r}, table {name!r}: {err}", at, owner) from None


def _literal(doc: _Doc, el: ET.Element, owner: ET.Element, what: str) -> LiteralExpression:
    if _child(el, "importedValues") is not None:
        raise doc.error("importedValues are not supported", el, owner)
    _unexpected(doc, el, owner, ("text",))
    text = _text_of(el)
    if text is None or not text.strip():
        raise doc.error(f"{what}: the literal expression has no text", el, owner)
    try:
        return LiteralExpression(text, el.get("typeRef"))
    except FeelSyntaxError as err:
        raise doc.error(f"{what}: {err}", el, owner) from None


def _logic_element(
    doc: _Doc, el: ET.Element, allowed: Sequence[str], what: str, owner: ET.Element | None = None
) -> ET.Element:
    owner = el if owner is None else owner
    found = [c for c in el if _local(c.tag) in allowed]
    refused = [c for c in el if _local(c.tag) in REFUSED_LOGIC]
    if refused:
        kind = _local(refused[0].tag)
        raise doc.error(
            f"the {what} is a {kind}; custvalue imports {', '.join(allowed)} only", refused[0], owner
        )
    if not found:
        raise doc.error(f"the {what} has no {' or '.join(allowed)}", el, owner)
    if len(found) > 1:
        raise doc.error(f"the {what} has more than one expression", found[1], owner)
    return found[0]


def _href(doc: _Doc, el: ET.Element, owner: ET.Element, table: Mapping[str, str], kind: str) -> str:
    href = el.get("href") or ""
    if not href.startswith("#"):
        raise doc.error(
            f"{_where(owner)} requires {href!r}: references into other documents (imports) are not supported",
            el,
            owner,
        )
    ident = href[1:]
    if ident not in table:
        raise doc.error(
            f"{_where(owner)} requires the {kind} {href!r}, which the document does not have", el, owner
        )
    return table[ident]


def _invocation(doc: _Doc, el: ET.Element, owner: ET.Element, bkms: Mapping[str, str]) -> Invocation:
    what = f"invocation of {_where(owner)}"
    _unexpected(doc, el, owner, ("literalExpression", "binding"))
    fn_el = _child(el, "literalExpression")
    fn = None if fn_el is None else (_text_of(fn_el) or "").strip()
    if not fn:
        raise doc.error(f"the {what} names no business knowledge model", el, owner)
    if fn not in bkms.values():
        raise doc.error(
            f"the {what} calls {fn!r}, which is not a business knowledge model of the document", el, owner
        )
    bindings: list[Binding] = []
    for b in _children(el, "binding"):
        p = _child(b, "parameter")
        pname = None if p is None else p.get("name")
        if not pname:
            raise doc.error(f"a binding of the {what} has no parameter name", b, owner)
        exprs = [c for c in b if _local(c.tag) != "parameter"]
        if not exprs:
            bindings.append(Binding(pname, None))
            continue
        if _local(exprs[0].tag) != "literalExpression":
            raise doc.error(
                f"binding {pname!r} of the {what} is a {_local(exprs[0].tag)}; "
                "only literal expressions are supported",
                exprs[0],
                owner,
            )
        bindings.append(Binding(pname, _literal(doc, exprs[0], owner, f"binding {pname!r} of the {what}")))
    return Invocation(fn, bindings)


def _extras(el: ET.Element) -> tuple[str, ...]:
    return tuple(_raw(c) for c in el if _local(c.tag) in KEPT_ELEMENTS)


def read_dmn(source: str | os.PathLike[str] | bytes) -> DmnModel:
    """Read a DMN document: decisions, input data, knowledge models, item definitions.

    Parameters
    ----------
    source
        A path, the XML text, or the XML bytes (their declared encoding is honoured).

    Returns
    -------
    DmnModel

    Raises
    ------
    DmnError
        Anything outside the supported subset, malformed XML, a dangling
        requirement or a cycle, naming the element, its id and its line.

    Examples
    --------
    >>> t = DecisionTable("size", "FIRST", ["x"], ["size"], [("big", [">= 10"], ['"big"'])])
    >>> read_dmn(write_dmn([t])).decision("size").table == t
    True
    """
    doc = _parse_xml(source)
    root = doc.root
    if _local(root.tag) != "definitions":
        raise DmnError(f"not a DMN document: root element is {_local(root.tag)!r}", file=doc.file)
    _check_language(doc)
    for c in root:
        k = _local(c.tag)
        if k not in _TOP and k not in KEPT_ELEMENTS:
            raise doc.error(
                f"{k} elements are not supported; custvalue reads item definitions, input data, "
                "decisions and business knowledge models",
                c,
            )
    decision_ids = {
        d.get("id") or "": d.get("name") or "" for d in _children(root, "decision") if d.get("id")
    }
    input_ids = {d.get("id") or "": d.get("name") or "" for d in _children(root, "inputData") if d.get("id")}
    bkm_ids = {
        d.get("id") or "": d.get("name") or ""
        for d in _children(root, "businessKnowledgeModel")
        if d.get("id")
    }
    items = tuple(_item(doc, el) for el in _children(root, "itemDefinition"))
    input_data: dict[str, str | None] = {}
    in_ids: dict[str, str] = {}
    for d in _children(root, "inputData"):
        name = d.get("name") or ""
        if not name:
            raise doc.error("input data without a name", d)
        _unexpected(doc, d, d, ("variable",))
        var = _child(d, "variable")
        input_data[name] = var.get("typeRef") if var is not None else None
        if d.get("id"):
            in_ids[name] = d.get("id") or ""
    knowledge: list[BusinessKnowledgeModel] = []
    for k_el in _children(root, "businessKnowledgeModel"):
        knowledge.append(_bkm(doc, k_el, bkm_ids))
    decisions: list[DmnDecision] = []
    for dec in _children(root, "decision"):
        decisions.append(_decision(doc, dec, decision_ids, input_ids, bkm_ids))
    extras = _extras(root)
    try:
        return DmnModel(
            root.get("name"),
            decisions,
            input_data,
            knowledge,
            items,
            namespace=root.get("namespace"),
            input_ids=in_ids,
            extras=extras,
        )
    except DmnError as err:
        # locate the first element the model check names
        named = {
            c.get("name"): c
            for c in root
            if _local(c.tag) in ("decision", "businessKnowledgeModel", "inputData") and c.get("name")
        }
        el = next((named[n] for n in re.findall(r"'([^']*)'", err.reason) if n in named), None)
        raise DmnError(
            err.reason,
            file=doc.file,
            line=None if el is None else doc.line(el),
            element=None if el is None else _where(el),
        ) from None


def _decision(
    doc: _Doc,
    dec: ET.Element,
    decision_ids: Mapping[str, str],
    input_ids: Mapping[str, str],
    bkm_ids: Mapping[str, str],
) -> DmnDecision:
    name = dec.get("name") or ""
    if not name:
        raise doc.error("a decision without a name", dec)
    for c in dec:
        k = _local(c.tag)
        if k not in (
            "variable",
            "informationRequirement",
            "knowledgeRequirement",
            "decisionTable",
            "literalExpression",
            "invocation",
            *REFUSED_LOGIC,
            *KEPT_ELEMENTS,
        ):
            raise doc.error(f"{k} elements are not supported inside a decision", c, dec)
    logic = _logic_element(doc, dec, ("decisionTable", "literalExpression", "invocation"), "decision")
    req_d: list[str] = []
    req_i: list[str] = []
    req_k: list[str] = []
    req_ids: dict[str, str] = {}
    for ir in _children(dec, "informationRequirement"):
        rd, ri = _child(ir, "requiredDecision"), _child(ir, "requiredInput")
        if rd is not None:
            target = _href(doc, rd, dec, decision_ids, "decision")
            req_d.append(target)
        elif ri is not None:
            target = _href(doc, ri, dec, input_ids, "input")
            req_i.append(target)
        else:
            raise doc.error("an information requirement without requiredDecision or requiredInput", ir, dec)
        if ir.get("id"):
            req_ids[target] = ir.get("id") or ""
    for kr in _children(dec, "knowledgeRequirement"):
        rk = _child(kr, "requiredKnowledge")
        if rk is None:
            raise doc.error("a knowledge requirement without requiredKnowledge", kr, dec)
        target = _href(doc, rk, dec, bkm_ids, "business knowledge model")
        req_k.append(target)
        if kr.get("id"):
            req_ids[target] = kr.get("id") or ""
    var = _child(dec, "variable")
    kind = _local(logic.tag)
    table = literal = invocation = None
    if kind == "decisionTable":
        table = _table(doc, name, logic, dec)
    elif kind == "literalExpression":
        literal = _literal(doc, logic, dec, f"decision {name!r}")
    else:
        invocation = _invocation(doc, logic, dec, bkm_ids)
    try:
        return DmnDecision(
            name,
            table,
            req_i,
            var.get("typeRef") if var is not None else None,
            required_decisions=req_d,
            required_knowledge=req_k,
            literal=literal,
            invocation=invocation,
            id=dec.get("id"),
            requirement_ids=req_ids,
            extras=_extras(dec),
        )
    except TableError as err:
        raise doc.error(err.reason, dec) from None


def _bkm(doc: _Doc, el: ET.Element, bkm_ids: Mapping[str, str]) -> BusinessKnowledgeModel:
    name = el.get("name") or ""
    if not name:
        raise doc.error("a business knowledge model without a name", el)
    _unexpected(doc, el, el, ("variable", "encapsulatedLogic", "knowledgeRequirement"))
    logic = _child(el, "encapsulatedLogic")
    if logic is None:
        raise doc.error("the business knowledge model has no encapsulatedLogic", el)
    _unexpected(
        doc,
        logic,
        el,
        ("formalParameter", "decisionTable", "literalExpression", *REFUSED_LOGIC, "invocation"),
    )
    body_el = _logic_element(
        doc, logic, ("decisionTable", "literalExpression"), "business knowledge model", el
    )
    params = tuple(
        Parameter(p.get("name") or "", p.get("typeRef")) for p in _children(logic, "formalParameter")
    )
    if any(not p.name for p in params):
        raise doc.error("a formal parameter without a name", logic, el)
    body: DecisionTable | LiteralExpression
    if _local(body_el.tag) == "decisionTable":
        body = _table(doc, name, body_el, el)
    else:
        body = _literal(doc, body_el, el, f"business knowledge model {name!r}")
    req: list[str] = []
    req_ids: dict[str, str] = {}
    for kr in _children(el, "knowledgeRequirement"):
        rk = _child(kr, "requiredKnowledge")
        if rk is None:
            raise doc.error("a knowledge requirement without requiredKnowledge", kr, el)
        target = _href(doc, rk, el, bkm_ids, "business knowledge model")
        req.append(target)
        if kr.get("id"):
            req_ids[target] = kr.get("id") or ""
    var = _child(el, "variable")
    try:
        return BusinessKnowledgeModel(
            name,
            params,
            body,
            var.get("typeRef") if var is not None else None,
            req,
            id=el.get("id"),
            requirement_ids=req_ids,
            extras=_extras(el),
        )
    except TableError as err:
        raise doc.error(err.reason, el) from None


def table_from_dmn(
    source: str | os.PathLike[str] | bytes | DmnModel, decision: str | None = None
) -> DecisionTable:
    """The decision table of ``decision`` (or of the only decision) in a DMN document."""
    model = source if isinstance(source, DmnModel) else read_dmn(source)
    table = model.decision(decision).table
    if table is None:
        raise TableError(f"decision {model.decision(decision).name!r} is not a decision table")
    return table


# --------------------------------------------------------------------------- writing


#: Characters XML 1.0 cannot carry (and ``\r``, which XML readers turn into ``\n``).
_NOT_XML: Final = re.compile("[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_safe(value: str, where: str) -> str:
    bad = _NOT_XML.search(value)
    if bad:
        raise DmnError(
            f"{where}: the character {bad.group()!r} cannot be written to DMN XML exactly "
            f"(at position {bad.start()} of {value!r})"
        )
    return value


def _sub(
    parent: ET.Element, tag: str, attrib: Mapping[str, str] | None = None, text: str | None = None
) -> ET.Element:
    for k, v in (attrib or {}).items():
        _xml_safe(v, f"{tag} {k}")
    el = ET.SubElement(parent, tag, dict(attrib or {}))
    if text is not None:
        ET.SubElement(el, "text").text = _xml_safe(text, f"{tag} {parent.get('name') or ''}".strip())
    return el


def _idsafe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


class _Ids:
    """Unique XML ids: the element's own, else ``prefix_name``."""

    def __init__(self, taken: Iterable[str]) -> None:
        self.used: set[str] = set(taken)

    def make(self, prefix: str, name: str) -> str:
        base = f"{prefix}_{_idsafe(name)}"
        ident, k = base, 1
        while ident in self.used:
            k += 1
            ident = f"{base}_{k}"
        self.used.add(ident)
        return ident


def _write_table(parent: ET.Element, t: DecisionTable, ident: str) -> None:
    attrs_ = {"id": ident, "hitPolicy": t.hit_policy.value}
    if t.aggregation is not None:
        attrs_["aggregation"] = t.aggregation.value
    dt = _sub(parent, "decisionTable", attrs_)
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
    if any(r.annotation is not None for r in t.rules):
        _sub(dt, "annotation", {"name": "annotation"})
    for rule in t.rules:
        r = _sub(dt, "rule", {"id": rule.id})
        for entry in rule.input_entries:
            _sub(r, "inputEntry", None, entry)
        for entry in rule.output_entries:
            _sub(r, "outputEntry", None, entry)
        if rule.annotation is not None:
            _sub(r, "annotationEntry", None, rule.annotation)


def _write_literal(parent: ET.Element, e: LiteralExpression, ident: str | None = None) -> None:
    a = {} if ident is None else {"id": ident}
    if e.type_ref:
        a["typeRef"] = e.type_ref
    _sub(parent, "literalExpression", a, e.text)


def _write_item(parent: ET.Element, it: ItemDefinition, tag: str, ids: _Ids) -> None:
    a = {"name": it.name, "id": it.id or ids.make("t", it.name)}
    if it.is_collection:
        a["isCollection"] = "true"
    el = _sub(parent, tag, a)
    if it.type_ref is not None:
        ET.SubElement(el, "typeRef").text = _xml_safe(it.type_ref, f"item definition {it.name!r}")
    if it.allowed_values is not None:
        _sub(el, "allowedValues", None, it.allowed_values)
    for c in it.components:
        _write_item(el, c, "itemComponent", ids)


def _put_extras(el: ET.Element, extras: Iterable[str], names: Sequence[str] | None = None) -> None:
    for raw in extras:
        x = ET.fromstring(raw)
        if names is None or _local(x.tag) in names:
            el.append(x)


def _legacy_model(
    tables: Iterable[DecisionTable], name: str, input_types: Mapping[str, str] | None
) -> DmnModel:
    tables = list(tables)
    types = dict(input_types or {})
    names = {t.name for t in tables}
    data: dict[str, str | None] = {}
    for t in tables:
        for clause in t.inputs:
            src = clause.source_name
            if src is not None and src not in names:
                data.setdefault(src, types.get(src, clause.type_ref))
    decisions = []
    for t in tables:
        srcs = sorted({c.source_name for c in t.inputs if c.source_name})
        decisions.append(
            DmnDecision(
                t.name,
                t,
                [s for s in srcs if s not in names],
                required_decisions=[s for s in srcs if s in names],
            )
        )
    return DmnModel(name, decisions, data)


def write_dmn(
    model: DmnModel | Iterable[DecisionTable],
    name: str = "custvalue",
    input_types: Mapping[str, str] | None = None,
    *,
    diagram: bool = True,
) -> str:
    """Export a DMN model (or decision tables) as a DMN 1.5 XML document.

    Parameters
    ----------
    model
        A :class:`DmnModel`, or decision tables (each becomes a decision
        requiring the input data its input names).
    name
        The document name when tables are given.
    input_types
        Type references of input data when tables are given.
    diagram
        Write a diagram (``DMNDI``: decisions in layers, inputs below) when
        the model has none, so that modelers show the graph.  A model read
        from a document keeps that document's diagram.

    Returns
    -------
    str
        The XML text; :func:`read_dmn` of it gives back an equal model.

    Examples
    --------
    >>> t = DecisionTable("size", "FIRST", ["x"], ["size"], [("big", [">= 10"], ['"big"'])])
    >>> 'hitPolicy="FIRST"' in write_dmn([t])
    True
    """
    if not isinstance(model, DmnModel):
        model = _legacy_model(model, name, input_types)
    mname = model.name or name
    root = ET.Element(
        "definitions",
        {
            "xmlns": DMN_NAMESPACE,
            "name": mname,
            "id": "m_" + _idsafe(mname),
            "namespace": model.namespace or "urn:custvalue",
        },
    )
    taken = [d.id for d in model.decisions if d.id] + list(model.input_ids.values())
    taken += [k.id for k in model.knowledge if k.id]
    ids = _Ids(t for t in taken if t)
    for it in model.item_definitions:
        _write_item(root, it, "itemDefinition", ids)
    dec_ids = {d.name: d.id or ids.make("d", d.name) for d in model.decisions}
    bkm_ids = {k.name: k.id or ids.make("k", k.name) for k in model.knowledge}
    in_ids = {n: model.input_ids.get(n) or ids.make("i", n) for n in model.input_data}
    edges: list[tuple[str, str, str]] = []  # (requirement id, source element id, target element id)
    for d in model.decisions:
        dec = _sub(root, "decision", {"name": d.name, "id": dec_ids[d.name]})
        _put_extras(dec, d.extras, ("description", "extensionElements", "question", "allowedAnswers"))
        v_attrs = {"name": d.name, "id": ids.make("v", d.name)}
        if d.type_ref:
            v_attrs["typeRef"] = d.type_ref
        _sub(dec, "variable", v_attrs)
        for kind, reqs, table in (
            ("requiredDecision", d.required_decisions, dec_ids),
            ("requiredInput", d.required_inputs, in_ids),
        ):
            for r in reqs:
                rid = d.requirement_ids.get(r) or ids.make("ir", f"{d.name}_{r}")
                ir = _sub(dec, "informationRequirement", {"id": rid})
                _sub(ir, kind, {"href": "#" + table[r]})
                edges.append((rid, table[r], dec_ids[d.name]))
        for r in d.required_knowledge:
            rid = d.requirement_ids.get(r) or ids.make("kr", f"{d.name}_{r}")
            kr = _sub(dec, "knowledgeRequirement", {"id": rid})
            _sub(kr, "requiredKnowledge", {"href": "#" + bkm_ids[r]})
            edges.append((rid, bkm_ids[r], dec_ids[d.name]))
        _put_extras(dec, d.extras, ("authorityRequirement",))
        logic = d.logic
        if isinstance(logic, DecisionTable):
            _write_table(dec, logic, ids.make("dt", d.name))
        elif isinstance(logic, LiteralExpression):
            _write_literal(dec, logic, ids.make("le", d.name))
        else:
            inv = _sub(dec, "invocation", {"id": ids.make("inv", d.name)})
            _write_literal(inv, LiteralExpression(logic.function))
            for b in logic.bindings:
                be = _sub(inv, "binding")
                _sub(be, "parameter", {"name": b.parameter})
                if b.expression is not None:
                    _write_literal(be, b.expression)
    for k in model.knowledge:
        ke = _sub(root, "businessKnowledgeModel", {"name": k.name, "id": bkm_ids[k.name]})
        _put_extras(ke, k.extras, ("description", "extensionElements"))
        v_attrs = {"name": k.name, "id": ids.make("v", k.name)}
        if k.type_ref:
            v_attrs["typeRef"] = k.type_ref
        _sub(ke, "variable", v_attrs)
        logic_el = _sub(ke, "encapsulatedLogic", {"id": ids.make("fd", k.name)})
        for p in k.parameters:
            p_attrs = {"name": p.name, "id": ids.make("p", f"{k.name}_{p.name}")}
            if p.type_ref:
                p_attrs["typeRef"] = p.type_ref
            _sub(logic_el, "formalParameter", p_attrs)
        if isinstance(k.body, DecisionTable):
            _write_table(logic_el, k.body, ids.make("dt", k.name))
        else:
            _write_literal(logic_el, k.body, ids.make("le", k.name))
        for r in k.required_knowledge:
            rid = k.requirement_ids.get(r) or ids.make("kr", f"{k.name}_{r}")
            kr = _sub(ke, "knowledgeRequirement", {"id": rid})
            _sub(kr, "requiredKnowledge", {"href": "#" + bkm_ids[r]})
            edges.append((rid, bkm_ids[r], bkm_ids[k.name]))
        _put_extras(ke, k.extras, ("authorityRequirement",))
    for src, type_ref in model.input_data.items():
        d_el = _sub(root, "inputData", {"name": src, "id": in_ids[src]})
        v_attrs = {"name": src, "id": ids.make("v", src)}
        if type_ref:
            v_attrs["typeRef"] = type_ref
        _sub(d_el, "variable", v_attrs)
    has_diagram = any(_local(ET.fromstring(x).tag) == "DMNDI" for x in model.extras)
    _put_extras(root, model.extras)
    if diagram and not has_diagram:
        _diagram(root, model, dec_ids, bkm_ids, in_ids, edges)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _diagram(
    root: ET.Element,
    model: DmnModel,
    dec_ids: Mapping[str, str],
    bkm_ids: Mapping[str, str],
    in_ids: Mapping[str, str],
    edges: Sequence[tuple[str, str, str]],
) -> None:
    """A DMNDI layout: decisions in layers by depth (top: the last), BKMs right, inputs at the bottom."""
    depth: dict[str, int] = {}
    for name in model.order:
        depth[name] = 1 + max((depth[r] for r in model.dependencies(name)), default=0)
    top = max(depth.values(), default=0)
    w, h, gx, gy = 180, 80, 60, 80
    pos: dict[str, tuple[int, int]] = {}
    layers: dict[int, list[str]] = {}
    for name in model.order:
        layers.setdefault(depth[name], []).append(dec_ids[name])
    for lv, members in layers.items():
        for i, ident in enumerate(members):
            pos[ident] = (i * (w + gx) + 40, (top - lv) * (h + gy) + 40)
    widest = max((len(v) for v in layers.values()), default=0)
    for i, ident in enumerate(bkm_ids.values()):
        pos[ident] = ((widest + 1) * (w + gx) + 40, i * (h + gy) + 40)
    for i, ident in enumerate(in_ids.values()):
        pos[ident] = (i * (w + gx) + 40, top * (h + gy) + 40)
    di = ET.SubElement(root, f"{{{_DMNDI}}}DMNDI")
    dia = ET.SubElement(di, f"{{{_DMNDI}}}DMNDiagram", {"id": "diagram_1"})
    for ident, (x, y) in pos.items():
        sh = ET.SubElement(dia, f"{{{_DMNDI}}}DMNShape", {"id": f"shape_{ident}", "dmnElementRef": ident})
        ET.SubElement(sh, f"{{{_DC}}}Bounds", {"x": str(x), "y": str(y), "width": str(w), "height": str(h)})
    for rid, src, dst in edges:
        if src not in pos or dst not in pos:
            continue
        e = ET.SubElement(dia, f"{{{_DMNDI}}}DMNEdge", {"id": f"edge_{rid}", "dmnElementRef": rid})
        (sx, sy), (tx, ty) = pos[src], pos[dst]
        ET.SubElement(e, f"{{{_DI}}}waypoint", {"x": str(sx + w // 2), "y": str(sy)})
        ET.SubElement(e, f"{{{_DI}}}waypoint", {"x": str(tx + w // 2), "y": str(ty + h)})
