"""Tiering: evaluate a tier policy over a portfolio.

:func:`evaluate` assigns every customer its tier at the as-of month, the
status of that tier (normal / observation / attention and ``months_below``),
its previous tier and movement, churn of a lapsed tier, and the events that
follow — all vectorised over customers, in row blocks that fit the CPU cache.

The policy is data (:func:`custvalue.default_policy` ships the SPEC's
default); it is compiled once (:func:`custvalue.policy.compile_policy`) into a
FIRST decision table plus per-tier lookup arrays, and evaluation never loops
over customers in Python.

Modules, top-down along the data path: ``_features`` (temporal features of a
portfolio), ``_kernel`` (one month of one row block), ``_evaluate``
(:func:`evaluate`), ``_state`` and ``_result`` (:class:`TierResult`), ``_explain`` and
``_files`` (explanations, summaries, result files), ``_stream``
(:func:`evaluate_file`: a file larger than memory, in customer batches), ``_path`` (tiers over
time, migration, what-if) and ``_reference`` (the scalar reference the tests
compare against).
"""

from __future__ import annotations

from ..policy import STATUSES
from ._codes import DEFAULT_CHUNK as DEFAULT_CHUNK
from ._codes import MOVEMENTS, RESULT_COLUMNS
from ._evaluate import BlockVisitor as BlockVisitor
from ._evaluate import evaluate, evaluate_chunks
from ._evaluate import evaluate_visiting as evaluate_visiting
from ._explain import RuleCheck, RuleTrace, TierExplanation
from ._features import Block as Block
from ._features import FeatureFrame, compute_features, reference_feature
from ._kernel import path_index as path_index
from ._kernel import tier_lut as tier_lut
from ._path import (
    MigrationMatrix,
    TierCounts,
    TierPath,
    evaluate_path,
    evaluate_tiers,
    migration_matrix,
    tier_migration,
    what_if,
)
from ._path import (
    add_tally as add_tally,
)
from ._path import (
    tally_block as tally_block,
)
from ._path import (
    tally_totals as tally_totals,
)
from ._reference import reference_evaluate
from ._result import TierResult
from ._state import EventTable
from ._stream import (
    DEFAULT_BATCH,
    EVENT_COLUMNS,
    FileEvaluation,
    customer_partitions,
    evaluate_file,
    write_events,
)

# Shared with custvalue.analytics (the report set's one pass over the row blocks); not public API:
# Block, BlockVisitor, DEFAULT_CHUNK, evaluate_visiting, tally_block, add_tally, tally_totals,
# path_index, tier_lut (not in __all__).

__all__ = [
    "DEFAULT_BATCH",
    "EVENT_COLUMNS",
    "MOVEMENTS",
    "RESULT_COLUMNS",
    "STATUSES",
    "EventTable",
    "FeatureFrame",
    "FileEvaluation",
    "MigrationMatrix",
    "RuleCheck",
    "RuleTrace",
    "TierCounts",
    "TierExplanation",
    "TierPath",
    "TierResult",
    "compute_features",
    "customer_partitions",
    "evaluate",
    "evaluate_chunks",
    "evaluate_file",
    "evaluate_path",
    "evaluate_tiers",
    "migration_matrix",
    "reference_evaluate",
    "reference_feature",
    "tier_migration",
    "what_if",
    "write_events",
]
