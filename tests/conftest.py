"""Test-suite settings.

Hypothesis: no per-example deadlines (timing is for ``benchmarks/``, never for
tests, and a loaded 2-core CI machine must not turn slow examples into
failures).  Under ``CI`` the run is derandomized so that a CI result can be
reproduced exactly; locally every run explores new examples.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
