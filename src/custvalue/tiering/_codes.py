"""Codes and column names shared by the tiering modules."""

from __future__ import annotations

from typing import Final

__all__ = ["DEFAULT_CHUNK", "DOWN", "MOVEMENTS", "NEW", "NO_TIER", "RESULT_COLUMNS", "SAME", "UP"]

#: Movement codes of :attr:`TierResult.movement`.
MOVEMENTS: Final[tuple[str, ...]] = ("new", "up", "down", "same")
NEW, UP, DOWN, SAME = 0, 1, 2, 3
NO_TIER: Final = -1
DEFAULT_CHUNK: Final = 65536

#: Result columns of a written result file, in order (SPEC section 7).
RESULT_COLUMNS: Final[tuple[str, ...]] = (
    "customer_id",
    "branch_id",
    "as_of",
    "aum",
    "tier",
    "status",
    "months_below",
    "previous_tier",
    "movement",
    "churned_tier",
    "history_complete",
    "reasons",
)
