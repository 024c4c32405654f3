"""A fresh simulator per test, on free loopback ports, with no automatic market ticking.

Tests move marks by hand (``sim.step()`` or ``market.set_mark`` through ``sim.call``), so
nothing depends on wall-clock timing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.sim import Simulator


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(seed=7, tick_interval=None)
    simulator.start()
    try:
        yield simulator
    finally:
        simulator.stop()
