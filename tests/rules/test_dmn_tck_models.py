"""The DMN TCK subset through the model API: ``DmnModel.evaluate_scalar`` and
``CompiledModel.evaluate`` (all cases of a folder batched) give the expected values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_dmn_tck import FOLDERS, _column, _load_cases, _same

from custvalue.rules import read_dmn


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_tck_folder_through_the_model(folder: Path) -> None:
    model = read_dmn(next(folder.glob("*.dmn")))
    cases = _load_cases(folder)
    for case_id, inputs, decision, expected in cases:
        got = model.evaluate_scalar(inputs, decision=decision)[decision]
        assert _same(expected, got), (folder.name, case_id, expected, got)
    columns: dict[str, Any] = {}
    scales: dict[str, int] = {}
    for name, type_ref in model.input_data.items():
        col, scale = _column([inputs.get(name) for _, inputs, _, _ in cases], type_ref)
        columns[name] = col
        if scale is not None and scale != 1:
            scales[name] = scale
    result = model.compile(scales=scales).evaluate(columns)
    for row, (case_id, _, decision, expected) in enumerate(cases):
        got = result.value(decision, row)
        assert _same(expected, got), (folder.name, case_id, "vectorised", expected, got)
