"""``python -m custvalue.cli``."""

import contextlib
import os
import sys

from . import main

status = main()
if status == 130:
    # CPython (3.9 to 3.12) remembers a KeyboardInterrupt raised inside any
    # string ``exec`` (a namedtuple or dataclass made during a lazy import)
    # even after main() has caught it, and under ``python -m`` only turns the
    # exit into a death by SIGINT at shutdown.  Leave the way the console
    # script does: streams flushed, status 130.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)
sys.exit(status)
