"""Helpers shared by the command modules."""

from __future__ import annotations

import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """A one-line progress indicator on stderr (only when stderr is a terminal)."""

    def __init__(self, label: str, stream: TextIO, enabled: bool) -> None:
        self.label, self.stream, self.enabled = label, stream, enabled
        self.t0 = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        if self.enabled and total:
            pct = 100 * done // total
            self.stream.write(f"\r{self.label}: {done:,}/{total:,} customers ({pct}%)")
            if done >= total:
                self.stream.write(f" in {time.perf_counter() - self.t0:.1f}s\n")
            self.stream.flush()
