"""A client-side rate limiter: a weight budget over a time window.

Venues publish limits as "so many weight units per window" (QFEX: 12,000 per 60 s, each message
type with its own weight). Staying under the limit ourselves is cheaper than being refused, and
a refused close is worse than a late one, so :meth:`RateLimiter.acquire` waits and never drops.

How the venue measures the window is often vague: QFEX says "an EMA" without its formula, and
other venues (and our simulator) count a sliding window. A token bucket, the usual
approximation, can overrun both: after a full burst it refills in one window while an EMA still
remembers a third of the burst, and a sliding window sees the burst plus the refill. So this
limiter keeps two meters and lets a request through only when it fits under both:

* an exponentially decaying sum of weights with time constant ``window`` (exactly what a venue
  EMA of that window allows: a full burst once, then ``budget / window`` per second); and
* the plain sum of weights sent within the last ``window`` seconds.

The sustained rate is the same ``budget / window`` either way; only bursts are shaped.
When the venue says we went too fast anyway, :meth:`RateLimiter.penalise` holds every sender
back for a while. Clock and sleep are injectable, so tests never sleep for real.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping

__all__ = ["RateLimiter", "parse_weights"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SLACK = 1e-9  # float rounding must not leave a sender a billionth of a unit short forever
_MIN_WAIT = 0.001  # a wait shorter than this can vanish in the clock's rounding


class RateLimiter:
    """Weight budget over a window; ``acquire`` waits for budget, senders served in order."""

    def __init__(
        self,
        budget: float,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if not (math.isfinite(budget) and budget > 0):
            raise ValueError(f"rate budget must be a positive number, not {budget!r}")
        if not (math.isfinite(window) and window > 0):
            raise ValueError(f"rate window must be a positive number of seconds, not {window!r}")
        self.budget = float(budget)
        self.window = float(window)
        self._clock = clock
        self._sleep = sleep
        self._stamp = clock()
        self._ema = 0.0  # decaying sum of weights, time constant ``window``
        self._sent: deque[tuple[float, float]] = deque()  # (time, weight) within the window
        self._in_window = 0.0
        self._penalty_until = -math.inf
        # asyncio.Lock wakes waiters in arrival order, so a heavy request cannot be starved
        # by a stream of light ones behind it.
        self._lock = asyncio.Lock()

    def _advance(self) -> float:
        now = self._clock()
        elapsed = now - self._stamp
        if elapsed > 0:
            self._ema *= math.exp(-elapsed / self.window)
            self._stamp = now
        while self._sent and self._sent[0][0] <= now - self.window:
            self._in_window -= self._sent.popleft()[1]
        if not self._sent:
            self._in_window = 0.0  # no drift from many float subtractions
        return now

    def _wait_needed(self, weight: float, now: float) -> float:
        """Seconds until ``weight`` fits under both meters (0 if it fits now)."""
        wait = 0.0
        if now < self._penalty_until:
            wait = self._penalty_until - now
        room = self.budget - weight
        if self._ema > room + _SLACK:
            # ema * exp(-t / window) <= room; a whole-budget request waits for near-empty.
            wait = max(wait, self.window * math.log(self._ema / max(room, _SLACK)))
        excess = self._in_window + weight - self.budget
        if excess > _SLACK:
            freed = 0.0
            for at, spent in self._sent:
                freed += spent
                if freed + _SLACK >= excess:
                    wait = max(wait, at + self.window - now)
                    break
        return wait

    async def acquire(self, weight: float = 1.0) -> None:
        """Wait until ``weight`` units fit in the budget (and any penalty has passed), then
        spend them. Cancelling the wait spends nothing."""
        if not (math.isfinite(weight) and weight >= 0):
            raise ValueError(f"weight must be a non-negative number, not {weight!r}")
        if weight > self.budget:
            raise ValueError(f"weight {weight} exceeds the whole budget of {self.budget}")
        async with self._lock:
            while True:
                now = self._advance()
                wait = self._wait_needed(weight, now)
                if wait <= 0:
                    break
                await self._sleep(max(_MIN_WAIT, wait))
            if weight > 0:
                self._ema += weight
                self._sent.append((now, weight))
                self._in_window += weight

    def headroom(self) -> float:
        """Fraction of the budget that could be sent now, 0..1; 0 while a penalty lasts."""
        now = self._advance()
        if now < self._penalty_until:
            return 0.0
        used = max(self._ema, self._in_window)
        return max(0.0, min(1.0, 1.0 - used / self.budget))

    def penalise(self, seconds: float) -> None:
        """The venue refused us for going too fast: send nothing for ``seconds``, then resume
        as if the budget had just been spent, so the rate after the pause starts slow."""
        if not math.isfinite(seconds) or seconds <= 0:
            return
        now = self._advance()
        self._penalty_until = max(self._penalty_until, now + seconds)
        self._ema = max(self._ema, self.budget)

    @property
    def penalised_until(self) -> float:
        """Clock time until which senders wait (``-inf`` when there has been no penalty)."""
        return self._penalty_until


def parse_weights(text: str, defaults: Mapping[str, float] | None = None) -> dict[str, float]:
    """``"add_order=1,get_order=2"`` over ``defaults``: the settings form of a weight table.

    Raises ``ValueError`` naming the entry at fault, so a settings dialog can show it.
    """
    weights = dict(defaults or {})
    for raw in text.replace(";", ",").split(","):
        entry = raw.strip()
        if not entry:
            continue
        name, sep, value = entry.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not _NAME.fullmatch(name):
            raise ValueError(f"rate weight {entry!r} is not of the form message_type=weight")
        try:
            weight = float(value)
        except ValueError:
            raise ValueError(f"rate weight for {name!r} is not a number: {value!r}") from None
        if not (math.isfinite(weight) and weight >= 0):
            raise ValueError(f"rate weight for {name!r} must be zero or more, not {value!r}")
        weights[name] = weight
    return weights
