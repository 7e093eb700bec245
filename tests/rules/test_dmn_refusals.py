"""DMN import never drops or misreads silently.

What it cannot import exactly is an error naming the element.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custvalue.rules import DecisionTable, DmnError, TableError, read_dmn, write_dmn

NS = 'xmlns="https://www.omg.org/spec/DMN/20230324/MODEL/"'
TABLE = """<decisionTable id="dt1" hitPolicy="FIRST"{lang}>
  <input id="i1" label="x"><inputExpression typeRef="number"><text>x</text></inputExpression></input>
  <output id="o1" name="y" typeRef="string"/>
  <rule id="r1"><inputEntry{entry_lang}><text>&gt;= 10</text></inputEntry>
    <outputEntry><text>"big"</text></outputEntry></rule>
</decisionTable>"""


def _model(body: str, top: str = "") -> str:
    head = '<?xml version="1.0" encoding="UTF-8"?>'
    return f'{head}<definitions {NS} id="m" name="m"{top}>{body}</definitions>'


def _table(lang: str = "", entry_lang: str = "") -> str:
    return TABLE.format(lang=lang, entry_lang=entry_lang)


def test_a_plain_table_still_imports() -> None:
    m = read_dmn(_model(f'<decision id="d1" name="Size">{_table()}</decision>'))
    assert m.decision("Size").table.rules[0].input_entries == (">= 10",)


@pytest.mark.parametrize("kind", ["context", "relation", "list", "functionDefinition", "conditional"])
def test_decisions_that_are_not_tables_are_errors(kind: str) -> None:
    body = (
        f'<decision id="d1" name="Size">{_table()}</decision>'
        f'<decision id="d2" name="Bonus"><{kind} id="e2"><text>1</text></{kind}></decision>'
    )
    with pytest.raises(DmnError, match=f"is a {kind}") as info:
        read_dmn(_model(body))
    assert info.value.element == "decision 'Bonus' (id d2)"
    assert isinstance(info.value, TableError)


def test_a_decision_requiring_a_missing_decision_is_an_error() -> None:
    body = (
        f'<decision id="d1" name="Size">{_table()}</decision>'
        f'<decision id="d2" name="Label"><informationRequirement>'
        f'<requiredDecision href="#d9"/></informationRequirement>{_table()}</decision>'
    )
    with pytest.raises(
        DmnError, match="requires the decision '#d9', which the document does not have"
    ) as info:
        read_dmn(_model(body))
    assert info.value.element == "decision 'Label' (id d2)"


@pytest.mark.parametrize("where", ["top", "table", "entry"])
def test_other_expression_languages_are_errors(where: str) -> None:
    js = ' expressionLanguage="http://www.ecma-international.org/ecma-262/5.1"'
    table = _table(lang=js if where == "table" else "", entry_lang=js if where == "entry" else "")
    body = f'<decision id="d1" name="Size">{table}</decision>'
    with pytest.raises(DmnError, match=r"expression language .*ecma.* is not supported"):
        read_dmn(_model(body, top=js if where == "top" else ""))


def test_feel_languages_are_accepted() -> None:
    feel = ' expressionLanguage="https://www.omg.org/spec/DMN/20191111/FEEL/"'
    read_dmn(_model(f'<decision id="d1" name="Size">{_table(lang=feel)}</decision>', top=feel))


@pytest.mark.parametrize("name", ["decisionService", "import", "elementCollection"])
def test_unsupported_top_level_elements_are_errors(name: str) -> None:
    body = f'<{name} id="k1" name="Helper"/><decision id="d1" name="Size">{_table()}</decision>'
    with pytest.raises(DmnError, match=f"{name} elements are not supported") as info:
        read_dmn(_model(body))
    assert "'Helper'" in str(info.value)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8-sig"])
def test_files_in_other_encodings_are_read(tmp_path: Path, encoding: str) -> None:
    t = DecisionTable("类别", "FIRST", ["x"], ["y"], [("r1", [">= 10"], ['"大"'])])
    text = write_dmn([t])
    declared = "UTF-16" if encoding.startswith("utf-16") else "UTF-8"
    text = text.replace('encoding="UTF-8"', f'encoding="{declared}"', 1)
    raw = text.encode(encoding)
    if encoding == "utf-16-le":
        raw = b"\xff\xfe" + raw
    f = tmp_path / "m.dmn"
    f.write_bytes(raw)
    assert read_dmn(f).decision("类别").table == t


def test_doctype_is_refused_in_any_encoding(tmp_path: Path) -> None:
    evil = (
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY e "boom">]>'
        f"<definitions {NS}>&e;</definitions>"
    )
    f = tmp_path / "evil.dmn"
    f.write_bytes(evil.encode("utf-16"))
    with pytest.raises(DmnError, match="DOCTYPE") as info:
        read_dmn(f)
    assert info.value.file == str(f) and info.value.line == 1


def test_malformed_xml_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.dmn"
    f.write_text(_model("<decision>\n<oops></decision>"))
    with pytest.raises(DmnError, match="invalid DMN XML") as info:
        read_dmn(f)
    assert info.value.file == str(f) and info.value.line == 2


@given(st.binary(max_size=300) | st.text(max_size=300).map(lambda t: _model(t)))
def test_arbitrary_documents_raise_only_table_errors(doc: bytes | str) -> None:
    try:
        read_dmn(doc if isinstance(doc, str) else doc or b" ")
    except TableError:
        pass
