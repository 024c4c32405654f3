"""QFEX's request weights, charged per user over a sliding window (off unless a budget is
set in the settings)."""

from __future__ import annotations

import math
import time
from collections import deque
from decimal import Decimal

from core.sim.faults import RATE_LIMITED_MESSAGE
from core.sim.market import ZERO
from core.sim.qfex.settings import QfexAccount, QfexSettings

__all__ = ["RateLimiter"]

CANCEL_BUCKET = frozenset({"cancel_order", "cancel_all_orders", "cancel_stop_order"})


class RateLimiter:
    """Two buckets per user (cancels; everything else), each with the whole budget."""

    def __init__(self, settings: QfexSettings) -> None:
        self._settings = settings
        self._spent: dict[tuple[str, str], deque[tuple[float, Decimal]]] = {}

    def charge(self, account: QfexAccount, kind: str) -> str | None:
        """Charge ``kind``'s weight to the user's bucket; the RateLimited message if over."""
        budget = self._settings.rate_limit_budget
        if budget is None:
            return None
        weight = Decimal(str(self._settings.rate_limit_weights.get(
            kind, self._settings.rate_limit_default_weight)))
        bucket = "cancel" if kind in CANCEL_BUCKET else "general"
        spent = self._spent.setdefault((account.account_id, bucket), deque())
        now, window = time.monotonic(), self._settings.rate_limit_window
        while spent and now - spent[0][0] >= window:
            spent.popleft()
        used = sum((w for _, w in spent), ZERO)
        excess = used + weight - Decimal(str(budget))
        if excess <= 0:
            spent.append((now, weight))
            return None
        wait, freed = window, ZERO
        for at, w in spent:  # retry once enough weight has left the window
            freed += w
            if freed >= excess:
                wait = at + window - now
                break
        return RATE_LIMITED_MESSAGE.format(ms=max(1, math.ceil(wait * 1000)))
