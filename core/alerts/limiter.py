"""How many alerts reach the user: a few at once, never five hundred pop-ups.

At most ``max_alerts`` pop up within any ``window_s`` seconds; the ones after that are folded
into one summary, shown when the burst is over (``settle_s`` without a new one, or at most
``hold_s`` after it began, so a steady trickle still gets its summary). A flatten's alerts all
fold into that flatten's summary ("Flatten fp-…: 498 closed, 2 rejected"), shown when the
caller says the flatten ended (``end_group``), or after ``group_settle_s`` of silence should
that never come. Quiet alerts pass straight through. Nothing folded is ever dropped: ``flush``
hands every summary over. The clock is injected; nothing here waits.
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from core.alerts.kinds import Alert, AlertKind

__all__ = ["AlertLimiter", "summary_parts"]

# How a summary names each kind, in this order: (one, several).
_WORDS: Final = (
    (AlertKind.CLOSE_FILLED, "closed", "closed"),
    (AlertKind.FLAT_CHECK_FAILED, "not flat", "not flat"),
    (AlertKind.ORDER_REJECTED, "rejected", "rejected"),
    (AlertKind.TRIGGER_FIRED, "trigger fired", "triggers fired"),
    (AlertKind.CONNECTION_LOST, "connection lost", "connections lost"),
    (AlertKind.CONNECTION_RESTORED, "connection restored", "connections restored"),
)
_ENDED_KEPT: Final = 1000  # flatten ids remembered as ended


def summary_parts(counts: Counter[AlertKind]) -> list[str]:
    """"498 closed", "2 rejected": each kind folded, in a fixed order."""
    return [f"{counts[kind]} {one if counts[kind] == 1 else many}"
            for kind, one, many in _WORDS if counts[kind]]


@dataclass
class _Fold:
    """Alerts set aside for one summary."""

    first_at: float
    last_at: float
    counts: Counter[AlertKind] = field(default_factory=Counter)
    sound: bool = False

    def add(self, alert: Alert, now: float) -> None:
        self.counts[alert.kind] += 1
        self.sound = self.sound or alert.sound
        self.last_at = now

    def summary(self, title: str, lead: str, group: str | None) -> Alert:
        counts = tuple((kind, self.counts[kind]) for kind, _, _ in _WORDS if self.counts[kind])
        return Alert(AlertKind.SUMMARY, title,
                     f"{lead}: {', '.join(summary_parts(self.counts))}.",
                     sound=self.sound, group=group, counts=counts)


class AlertLimiter:
    """Lets a few alerts through at once and folds the rest into summaries."""

    def __init__(
        self,
        *,
        max_alerts: int = 3,
        window_s: float = 10.0,
        settle_s: float = 5.0,
        hold_s: float = 30.0,
        group_settle_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_alerts = max_alerts
        self.window_s = window_s
        self.settle_s = settle_s
        self.hold_s = hold_s
        self.group_settle_s = group_settle_s
        self.clock = clock
        self._shown: deque[float] = deque()  # when the last pop-ups were shown
        self._burst: _Fold | None = None
        self._groups: dict[str, _Fold] = {}
        self._ended: OrderedDict[str, None] = OrderedDict()

    @property
    def pending(self) -> bool:
        """Something is folded and waits for its summary."""
        return self._burst is not None or bool(self._groups)

    def offer(self, alert: Alert) -> list[Alert]:
        """What to show now for ``alert``: itself, or nothing (it was folded)."""
        now = self.clock()
        if alert.quiet:
            return [alert]
        group = alert.group
        if group is not None and group not in self._ended:
            fold = self._groups.get(group)
            if fold is None:
                fold = self._groups[group] = _Fold(now, now)
            fold.add(alert, now)
            return []
        shown = self._shown
        while shown and now - shown[0] >= self.window_s:
            shown.popleft()
        if len(shown) < self.max_alerts and self._burst is None:
            shown.append(now)
            return [alert]
        if self._burst is None:
            self._burst = _Fold(now, now)
        self._burst.add(alert, now)
        return []

    def end_group(self, group: str) -> list[Alert]:
        """The flatten ``group`` is over: its summary now (none if nothing was folded). Its
        later alerts, should any come, are shown like any other."""
        self._ended[group] = None
        while len(self._ended) > _ENDED_KEPT:
            self._ended.popitem(last=False)
        fold = self._groups.pop(group, None)
        return [] if fold is None else [self._group_summary(group, fold)]

    def due(self) -> list[Alert]:
        """Summaries whose burst is over by the clock; call it now and then."""
        now = self.clock()
        out = []
        for group, fold in list(self._groups.items()):
            if now - fold.last_at >= self.group_settle_s:
                del self._groups[group]
                out.append(self._group_summary(group, fold))
        burst = self._burst
        if burst is not None and (now - burst.last_at >= self.settle_s
                                  or now - burst.first_at >= self.hold_s):
            out.append(self._burst_summary())
        return out

    def flush(self) -> list[Alert]:
        """Every summary still pending, now (the window is closing)."""
        out = [self._group_summary(g, f) for g, f in self._groups.items()]
        self._groups.clear()
        if self._burst is not None:
            out.append(self._burst_summary())
        return out

    def _group_summary(self, group: str, fold: _Fold) -> Alert:
        return fold.summary(f"Flatten {group}", f"Flatten {group}", group)

    def _burst_summary(self) -> Alert:
        burst = self._burst
        assert burst is not None
        self._burst = None
        n = sum(burst.counts.values())
        lead = f"{n} more alert{'' if n == 1 else 's'}"
        return burst.summary(lead[0].upper() + lead[1:], lead, None)
