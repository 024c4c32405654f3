"""The venue's clock, as measured from ours: what signed timestamps are stamped with.

A venue refuses a signature whose timestamp is outside its window, so a session signs with
its own clock corrected by the venue's. Each measurement is one venue timestamp read from a
reply (Everstrike's ``GET /time``, QFEX's ``Date`` header) together with our clock just
before the request and just after the reply: the venue stamped it somewhere in between, to
its resolution. Of every offset that fits, the one nearest zero is kept, so a clock that is
already right is left alone (a ``Date`` header counts whole seconds) and a wrong one is
corrected as far as the measurement proves. Sans-IO: the caller reads the clocks.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass

__all__ = ["VenueClock", "http_date", "offset_between", "refusal_note"]


def offset_between(before: float, after: float, venue_time: float,
                   resolution: float = 0.0) -> float:
    """Venue clock minus ours, in seconds, from ``venue_time`` (truncated to ``resolution``)
    stamped between ``before`` and ``after`` on our clock."""
    low = venue_time - after
    high = venue_time + resolution - before
    if low > high:  # our clock went backwards meanwhile: the middle is the best guess
        return (low + high) / 2
    return min(max(0.0, low), high)


def http_date(value: str | None) -> float | None:
    """An HTTP ``Date`` header as epoch seconds; None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:  # RFC 9110 dates are GMT; a naive one is read as such
        return None
    try:
        return parsed.timestamp()
    except (OverflowError, ValueError, OSError):
        return None


@dataclass(slots=True)
class VenueClock:
    """The last measured offset (seconds, venue minus ours) and whether there is one."""

    offset: float = 0.0
    measured: bool = False

    def observe(self, before: float, after: float, venue_time: float,
                resolution: float = 0.0) -> None:
        self.offset = offset_between(before, after, venue_time, resolution)
        self.measured = True

    def corrected(self, ours: float) -> float:
        """``ours`` (our clock's reading) on the venue's clock."""
        return ours + self.offset


def refusal_note(clock: VenueClock) -> str:
    """What a refused signature may have to do with the clocks, for its message."""
    if not clock.measured:
        return "The venue's clock could not be read; check the computer's clock."
    if abs(clock.offset) < 1:
        return "The clocks agree, so check the key pair."
    side = "ahead of" if clock.offset > 0 else "behind"
    return (f"The venue's clock is {abs(clock.offset):.0f} s {side} this computer's; "
            "signatures already use the venue's time, so check the key pair.")
