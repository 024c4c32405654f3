"""``python -m tests.chaos``: see ``tests/chaos/runner.py``."""

import sys

from tests.chaos.runner import main

sys.exit(main())
