"""Differential property test: vectorised compiler == scalar reference, row by row."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custvalue.rules import (
    CodedColumn,
    DecisionTable,
    HitPolicyViolation,
    NullableColumn,
    OutputClause,
    compile_table,
    evaluate_table_scalar,
)

KINDS = ("int", "money", "float", "str", "coded", "bool")
FLOATS = [-1.5, -1.0, 0.0, 0.1, 0.5, 1.0, 2.25, 0.30000000000000004]
STRINGS = ["a", "b", "c", "d"]


def deep_equal(a: Any, b: Any) -> bool:
    if isinstance(a, list) or isinstance(b, list):
        return (
            isinstance(a, list)
            and isinstance(b, list)
            and len(a) == len(b)
            and all(deep_equal(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, dict) or isinstance(b, dict):
        return (
            isinstance(a, dict)
            and isinstance(b, dict)
            and a.keys() == b.keys()
            and all(deep_equal(a[k], b[k]) for k in a)
        )
    if a is None or b is None:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return type(a) is type(b) and a == b
    return bool(a == b)


@st.composite
def endpoint(draw: st.DrawFn, kind: str) -> str:
    r = draw(st.integers(0, 19))
    if r == 0:
        return "null"
    if r == 1:  # type mismatch
        return '"a"' if kind in ("int", "money", "float", "bool") else "1"
    if r == 2:
        return "k"  # named constant
    if kind == "int":
        return str(
            draw(st.integers(-4, 4))
            + draw(st.sampled_from([Decimal(0), Decimal(0), Decimal("0.5"), Decimal("-0.25")]))
        )
    if kind == "money":
        # thresholds on a 0.50-yuan grid, sometimes off by half a fen
        base = Decimal(50 * draw(st.integers(-8, 8))) / 100
        off = draw(st.sampled_from(["0", "0", "0.005", "-0.005", "0.01", "-0.0049"]))
        return str(base + Decimal(off))
    if kind == "float":
        return draw(
            st.sampled_from(["-1.5", "-1", "0", "0.1", "0.5", "1", "2.25", "0.3", "0.30000000000000004"])
        )
    if kind in ("str", "coded"):
        return '"' + draw(st.sampled_from(STRINGS)) + '"'
    return draw(st.sampled_from(["true", "false"]))


@st.composite
def simple_test(draw: st.DrawFn, kind: str) -> str:
    form = draw(st.integers(0, 2))
    if form == 0:
        return draw(endpoint(kind))
    if form == 1:
        op = draw(st.sampled_from(["<", "<=", ">", ">=", "=", "!="]))
        return f"{op} {draw(endpoint(kind))}"
    lb = draw(st.sampled_from(["[", "(", "]"]))
    hb = draw(st.sampled_from(["]", ")", "["]))
    return f"{lb}{draw(endpoint(kind))}..{draw(endpoint(kind))}{hb}"


@st.composite
def unary_tests(draw: st.DrawFn, kind: str) -> str:
    r = draw(st.integers(0, 9))
    if r <= 2:
        return "-"
    tests = draw(st.lists(simple_test(kind), min_size=1, max_size=3))
    body = ", ".join(tests)
    return f"not({body})" if r == 9 else body


@st.composite
def column(draw: st.DrawFn, kind: str, n: int) -> tuple[Any, list[Any], int | None]:
    """(column for the compiler, row values for the reference, scale)."""
    nulls = draw(st.booleans())
    valid = [not (nulls and draw(st.integers(0, 4)) == 0) for _ in range(n)]
    scale = None
    if kind in ("int", "money"):
        if kind == "int":
            raw = [draw(st.integers(-5, 5)) for _ in range(n)]
        else:  # fen values at and next to the threshold grid
            raw = [50 * draw(st.integers(-8, 8)) + draw(st.integers(-1, 1)) for _ in range(n)]
        scale = 1 if kind == "int" else 100
        arr = np.array(raw, dtype=np.int64)
        ref = [Decimal(v) / scale if ok else None for v, ok in zip(raw, valid, strict=True)]
        col: Any = (
            arr
            if not nulls
            else draw(
                st.sampled_from(
                    [NullableColumn(arr, np.array(valid)), np.ma.MaskedArray(arr, mask=~np.array(valid))]
                )
            )
        )
        return col, ref, (scale if kind == "money" else None)
    if kind == "float":
        raw_f = [draw(st.sampled_from(FLOATS)) if ok else float("nan") for ok in valid]
        return (np.array(raw_f), [Decimal(v) if v == v else None for v in raw_f], None)
    if kind == "bool":
        raw_b = [draw(st.booleans()) for _ in range(n)]
        ref = [v if ok else None for v, ok in zip(raw_b, valid, strict=True)]
        arr_b = np.array(raw_b, dtype=bool)
        return ((np.ma.MaskedArray(arr_b, mask=~np.array(valid)) if nulls else arr_b), ref, None)
    raw_s = [draw(st.sampled_from(STRINGS)) for _ in range(n)]
    ref = [v if ok else None for v, ok in zip(raw_s, valid, strict=True)]
    if kind == "coded":
        cats = tuple(draw(st.permutations(STRINGS)))[: draw(st.integers(1, 4))]
        ref = [v if v in cats else None for v in ref]
        codes = np.array([cats.index(v) if v is not None else -1 for v in ref], dtype=np.int8)
        return CodedColumn(codes, cats), ref, None
    if nulls and draw(st.booleans()):
        return np.array(ref, dtype=object), ref, None
    arr_s = np.array(raw_s)
    return (NullableColumn(arr_s, np.array(valid)) if nulls else arr_s), ref, None


@st.composite
def scenario(
    draw: st.DrawFn,
) -> tuple[DecisionTable, dict[str, Any], list[dict[str, Any]], dict[str, int], dict[str, Any]]:
    n_inputs = draw(st.integers(1, 4))
    n_rules = draw(st.integers(1, 8))
    n_rows = draw(st.integers(1, 40))
    kinds = [draw(st.sampled_from(KINDS)) for _ in range(n_inputs)]
    names = [f"c{i}" for i in range(n_inputs)]
    policy = draw(
        st.sampled_from(["UNIQUE", "FIRST", "PRIORITY", "ANY", "COLLECT", "RULE ORDER", "OUTPUT ORDER"])
    )
    aggregation = None
    if policy == "COLLECT":
        aggregation = draw(st.sampled_from([None, "SUM", "MIN", "MAX", "COUNT"]))
    n_out = 1 if aggregation else draw(st.integers(1, 2))
    out_pool = ['"x"', '"y"', '"z"'] if not aggregation else ["1", "2.5", "-3", "10.25"]
    if not aggregation and draw(st.booleans()):
        out_pool = ["1", "2", "3.5"]
    outputs = []
    for j in range(n_out):
        values = [draw(st.sampled_from(out_pool)) for _ in range(2)]
        default = draw(st.sampled_from([None, out_pool[0]])) if not aggregation else None
        outputs.append(
            OutputClause(
                f"o{j}",
                output_values=", ".join(values) if policy in ("PRIORITY", "OUTPUT ORDER") else None,
                default=default,
            )
        )
    rules = []
    for r in range(n_rules):
        ins = [draw(unary_tests(k)) for k in kinds]
        outs = [draw(st.sampled_from(out_pool)) for _ in range(n_out)]
        rules.append((f"r{r}", ins, outs))
    table = DecisionTable("t", policy, names, outputs, rules, aggregation=aggregation)
    columns: dict[str, Any] = {}
    scales: dict[str, int] = {}
    refs: dict[str, list[Any]] = {}
    for name, kind in zip(names, kinds, strict=True):
        col, ref, scale = draw(column(kind, n_rows))
        columns[name] = col
        refs[name] = ref
        if scale:
            scales[name] = scale
    rows = [{name: refs[name][i] for name in names} for i in range(n_rows)]
    # the named constant "k" takes a value of the first column's kind
    k_value = {
        "int": Decimal(1),
        "money": Decimal("0.5"),
        "float": Decimal("0.5"),
        "str": "b",
        "coded": "b",
        "bool": True,
    }[kinds[0]]
    return table, columns, rows, scales, {"k": k_value}


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(scenario(), st.sampled_from([None, 3, 7]))
def test_vectorised_equals_reference(data: Any, block_size: int | None) -> None:
    table, columns, rows, scales, constants = data
    compiled = compile_table(table, constants=constants, scales=scales)
    result = compiled.evaluate(columns, block_size=block_size, raise_on_violation=False)
    for i, row in enumerate(rows):
        try:
            expected = evaluate_table_scalar(table, row, constants)
        except HitPolicyViolation:
            assert result.violations is not None and bool(result.violations[i]), i
            with pytest.raises(HitPolicyViolation):
                result.value(i)
            continue
        if result.violations is not None:
            assert not bool(result.violations[i]), i
        got = result.value(i)
        assert deep_equal(expected.value, got), (i, row, expected, got)
        assert result.matched_rule_ids(i) == expected.matched_rule_ids, (i, row)
        if result.rule_index is not None:
            idx = int(result.rule_index[i])
            hit = table.rule_ids[idx] if idx >= 0 else None
            assert (expected.hit_rule_ids or (None,))[0] == hit
    # raise_on_violation=True raises iff some row violates
    any_violation = result.violations is not None and bool(result.violations.any())
    if any_violation:
        with pytest.raises(HitPolicyViolation):
            compiled.evaluate(columns, block_size=block_size)
