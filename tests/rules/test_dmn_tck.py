"""DMN TCK conformance: the decision-table subset of compliance level 2.

Every test case runs through the scalar reference interpreter *and* the
vectorised compiler (all cases of a folder batched into columns).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from custvalue.rules import NullableColumn, compile_table, evaluate_table_scalar, read_dmn

XSI = "{http://www.w3.org/2001/XMLSchema-instance}"


def _tck_root() -> Path:
    env = os.environ.get("CUSTVALUE_DMN_TCK")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "dmn-tck-subset"


def _folders() -> list[Path]:
    base = _tck_root() / "compliance-level-2"
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.is_dir())


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _decode(el: ET.Element) -> Any:
    """Decode a TCK valueType element (inputNode, expected, component, item)."""
    kids = [c for c in el if _local(c.tag) in ("value", "component", "list")]
    if not kids:
        return None
    first = kids[0]
    kind = _local(first.tag)
    if kind == "value":
        if first.get(XSI + "nil") == "true":
            return None
        xtype = (first.get(XSI + "type") or "").split(":")[-1]
        text = first.text or ""
        if xtype == "decimal":
            return Decimal(text)
        if xtype == "boolean":
            return text.strip() == "true"
        return text
    if kind == "component":
        return {c.get("name"): _decode(c) for c in kids if _local(c.tag) == "component"}
    return [_decode(item) for item in first if _local(item.tag) == "item"]


def _load_cases(folder: Path) -> list[tuple[str, dict[str, Any], str, Any]]:
    cases = []
    for test_file in sorted(folder.glob("*-test-01.xml")):
        root = ET.parse(test_file).getroot()
        for tc in root:
            if _local(tc.tag) != "testCase":
                continue
            inputs = {n.get("name"): _decode(n) for n in tc if _local(n.tag) == "inputNode"}
            for rn in tc:
                if _local(rn.tag) != "resultNode":
                    continue
                expected = next(c for c in rn if _local(c.tag) == "expected")
                cases.append((tc.get("id") or "", inputs, rn.get("name") or "", _decode(expected)))
    return cases


def _same(expected: Any, actual: Any) -> bool:
    """The README's comparison rules."""
    if expected is None:
        return actual is None
    if isinstance(expected, bool):
        return isinstance(actual, bool) and actual == expected
    if isinstance(expected, Decimal):
        return (
            isinstance(actual, Decimal | int | float)
            and not isinstance(actual, bool)
            and abs(Decimal(actual) - expected) < Decimal("1e-8")
        )
    if isinstance(expected, str):
        return isinstance(actual, str) and actual == expected
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(_same(e, a) for e, a in zip(expected, actual, strict=True))
        )
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and set(actual) == set(expected)
            and all(_same(v, actual[k]) for k, v in expected.items())
        )
    return False


def _column(values: list[Any], type_ref: str | None) -> tuple[Any, int | None]:
    """Build a numpy column (and its scale) from one input's values."""
    present = [v for v in values if v is not None]
    valid = np.array([v is not None for v in values], dtype=bool)
    if type_ref == "number" or (present and all(isinstance(v, Decimal) for v in present)):
        exp = max([-int(v.as_tuple().exponent) for v in present] + [0])
        scale = 10**exp
        arr = np.array([int(v * scale) if v is not None else 0 for v in values], dtype=np.int64)
        return (arr if valid.all() else NullableColumn(arr, valid)), scale
    if type_ref == "boolean" or (present and all(isinstance(v, bool) for v in present)):
        arr = np.array([bool(v) for v in values], dtype=bool)
        return (arr if valid.all() else np.ma.MaskedArray(arr, mask=~valid)), None
    arr = np.array([v if v is not None else "" for v in values], dtype=str)
    return (arr if valid.all() else NullableColumn(arr, valid)), None


FOLDERS = _folders()


def test_tck_subset_present() -> None:
    if not FOLDERS:
        msg = f"DMN TCK subset not found under {_tck_root()}"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    assert sum(len(_load_cases(f)) for f in FOLDERS) == 51


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_tck_folder(folder: Path) -> None:
    model = read_dmn(next(folder.glob("*.dmn")))
    cases = _load_cases(folder)
    assert cases
    by_decision: dict[str, list[int]] = {}
    for i, (_, _, decision, _) in enumerate(cases):
        by_decision.setdefault(decision, []).append(i)
    for decision, idxs in by_decision.items():
        table = model.decision(decision).table
        # scalar reference
        for i in idxs:
            case_id, inputs, _, expected = cases[i]
            got = evaluate_table_scalar(table, inputs).value
            assert _same(expected, got), (folder.name, case_id, expected, got)
        # vectorised, all cases of the decision batched
        columns: dict[str, Any] = {}
        scales: dict[str, int] = {}
        for clause in table.inputs:
            name = clause.source_name
            assert name is not None
            values = [cases[i][1].get(name) for i in idxs]
            col, scale = _column(values, model.input_data.get(name) or clause.type_ref)
            columns[name] = col
            if scale is not None and scale != 1:
                scales[name] = scale
        result = compile_table(table, scales=scales).evaluate(columns)
        for row, i in enumerate(idxs):
            case_id, _, _, expected = cases[i]
            got = result.value(row)
            assert _same(expected, got), (folder.name, case_id, "vectorised", expected, got)
