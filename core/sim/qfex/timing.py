"""Time on the QFEX wire (ISO strings, epoch seconds) and the periodic pushes' pulse."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal

__all__ = ["iso", "pulses", "secs"]


async def pulses(interval: Callable[[], float]) -> AsyncIterator[None]:
    """Yield every ``interval()`` seconds, re-reading the setting so a test can shorten it
    while the simulator runs."""
    last = time.monotonic()
    while True:
        await asyncio.sleep(max(0.001, min(interval(), 0.05)))
        if time.monotonic() - last >= interval():
            last = time.monotonic()
            yield None


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def secs(t: float) -> Decimal:
    return Decimal(f"{t:.6f}")
