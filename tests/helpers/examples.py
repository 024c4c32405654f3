"""How many examples a property test of typed input runs: a few inside ``make test``, many
under ``make fuzz-settings`` / ``make fuzz-input``, which set ``CLOSEOUT_EXAMPLES``."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

__all__ = ["examples"]


def examples(small: int, *, most: int | None = None) -> settings:
    """Hypothesis settings: ``small`` examples, or ``CLOSEOUT_EXAMPLES`` when it is set (at
    most ``most``: a test that drives a window is a hundred times slower than one that
    does not)."""
    count = int(os.environ.get("CLOSEOUT_EXAMPLES") or small)
    if most is not None:
        count = min(count, max(small, most))
    return settings(max_examples=count, deadline=None, derandomize=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])
