"""``python -m custvalue.cli``."""

import sys

from . import main

sys.exit(main())
