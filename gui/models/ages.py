"""How long a working order has been resting, as the Age column writes it. No Qt: the words
and the start time are pure, so they are tested without a window."""

from __future__ import annotations

from core.model import WorkingOrder

__all__ = ["age_text", "started_at"]


def started_at(order: WorkingOrder, seen: float | None) -> float:
    """When the order started resting, on our wall clock: the venue's own time when it gave
    one, else when we first saw the order (``seen``, kept across its updates, since
    ``received_at`` moves with each one). Whichever is earlier wins, so an update's newer
    venue time never makes an order look younger than it has been on screen."""
    first = order.received_at if seen is None else seen
    venue = order.venue_time
    return first if venue is None else min(first, venue)


def age_text(seconds: float) -> str:
    """Whole seconds under a minute, then the two largest units: "42 s", "3 m 05 s",
    "2 h 04 m", "3 d 07 h". Never negative: a venue clock ahead of ours reads "0 s"."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m} m {s:02d} s"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h} h {m:02d} m"
    d, h = divmod(h, 24)
    return f"{d} d {h:02d} h"
