"""Rules engine: S-FEEL expressions, DMN decision tables, vectorised evaluation.

The engine knows nothing of banking: it evaluates decision tables over
columns.  The S-FEEL syntax tree lives in :mod:`custvalue.rules.ast`.

See :doc:`/rules` for the user guide.
"""

from __future__ import annotations

from .._errors import publish
from . import ast
from ._columns import CodedColumn, NullableColumn
from ._compile import CompiledTable, Plan, TableResult, compile_table
from ._dmn import read_dmn, table_from_dmn, write_dmn
from ._drg import CompiledModel, DecisionExplanation, DmnModel, ModelExplanation, ModelResult
from ._explain import (
    ColumnCheck,
    RuleExplanation,
    TableExplanation,
    explain_columns,
    explain_row,
    format_number,
)
from ._feel import (
    CategoryError,
    FeelSyntaxError,
    Value,
    compare_values,
    evaluate_expression,
    match_unary_tests,
    parse_expression,
    parse_unary_tests,
    rank_tests,
    tests_names,
)
from ._items import ItemDefinition, ItemError
from ._model import (
    Binding,
    BusinessKnowledgeModel,
    DmnDecision,
    DmnError,
    Invocation,
    LiteralExpression,
    Parameter,
)
from ._reference import DecisionResult, ResultValue, evaluate_table_scalar
from ._table import (
    Aggregation,
    DecisionTable,
    HitPolicy,
    HitPolicyViolation,
    InputClause,
    OutputClause,
    Rule,
    TableError,
)
from ._temporal import YearsMonthsDuration
from ._validate import Finding, validate_table

__all__ = [
    "Aggregation",
    "Binding",
    "BusinessKnowledgeModel",
    "CategoryError",
    "CodedColumn",
    "ColumnCheck",
    "CompiledModel",
    "CompiledTable",
    "DecisionExplanation",
    "DecisionResult",
    "DecisionTable",
    "DmnDecision",
    "DmnError",
    "DmnModel",
    "FeelSyntaxError",
    "Finding",
    "HitPolicy",
    "HitPolicyViolation",
    "InputClause",
    "Invocation",
    "ItemDefinition",
    "ItemError",
    "LiteralExpression",
    "ModelExplanation",
    "ModelResult",
    "NullableColumn",
    "OutputClause",
    "Parameter",
    "Plan",
    "ResultValue",
    "Rule",
    "RuleExplanation",
    "TableError",
    "TableExplanation",
    "TableResult",
    "Value",
    "YearsMonthsDuration",
    "ast",
    "compare_values",
    "compile_table",
    "evaluate_expression",
    "evaluate_table_scalar",
    "explain_columns",
    "explain_row",
    "format_number",
    "match_unary_tests",
    "parse_expression",
    "parse_unary_tests",
    "rank_tests",
    "read_dmn",
    "table_from_dmn",
    "tests_names",
    "validate_table",
    "write_dmn",
]

publish(__name__, globals())
