"""The one controllable clock: injected time that moves only when a test or a sleep moves it."""

from __future__ import annotations

import asyncio
import time


class FakeClock:
    """Monotonic time for ``clock=``/``monotonic=``, its ``sleep`` and a matching wall time.

    ``sleep`` advances ``now`` and records each delay in ``slept`` instead of waiting, so no test
    waits out a backoff or a penalty. With ``yields`` it also lets other tasks run once, as a
    real sleep would (the rate limiter's waiters need that); without it a sleep is one step.
    """

    def __init__(self, start: float = 1000.0, *, yields: bool = False) -> None:
        self.start = start
        self.now = start
        self.yields = yields
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        """Real wall time plus every fake wait, so a waited-out request really is older."""
        return time.time() + (self.now - self.start)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        if self.yields:
            await asyncio.sleep(0)
