"""Protocol errors, rate-limited: a flood of bad venue data is counted, never dropped, and
never floods the journal or the log pane.

Errors are grouped by (account, kind), the kind being the error's code or the words before the
first colon of its message. The first error of a group is passed on whole and opens a window;
the ones after it inside the window are only counted. When the window ends, one summary
("N more like this in the last M s") carries the count and opens the next window, so a steady
flood gives one line per window, and a quiet group is forgotten. An account with many groups at
once folds the extra ones into one "other kinds" group, so the records per window are bounded.

Sans-IO: the caller passes the clock and asks what is due; the desk runs the timer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from core.model import ProtocolError

__all__ = ["ErrorThrottle", "ProtocolErrorLog"]

OTHER_KINDS = "other kinds"


@dataclass
class _Group:
    first: ProtocolError
    opened: float  # when the current window started
    counted: int = 0  # errors inside the window not passed on yet


def kind_of(error: ProtocolError) -> str:
    """What makes two errors "like" each other: the code, else the message's lead words."""
    if error.code:
        return error.code
    lead = error.message.split(":", 1)[0].strip()
    return lead[:80] or "protocol error"


class ErrorThrottle:
    """``offer`` says whether an error goes out whole; ``due`` gives the summaries whose
    window has ended; ``drain`` gives every pending summary now (at shutdown)."""

    def __init__(self, *, window: float = 10.0, kinds: int = 20,
                 clock: Callable[[], float], wall: Callable[[], float] = time.time) -> None:
        if window <= 0 or kinds < 1:
            raise ValueError("the window must be positive and at least one kind allowed")
        self.window = window
        self.kinds = kinds
        self._clock = clock
        self._wall = wall
        self._groups: dict[tuple[str, str], _Group] = {}
        self.offered = 0  # every error ever offered: what the records' counts add up to

    def offer(self, error: ProtocolError) -> bool:
        """True: record and show ``error``. False: it is counted into its group's summary."""
        self.offered += 1
        now = self._clock()
        kind = kind_of(error)
        key = (error.account, kind)
        group = self._groups.get(key)
        if group is None and self._open_kinds(error.account) >= self.kinds:
            key = (error.account, OTHER_KINDS)
            group = self._groups.get(key)
        if group is None:
            self._groups[key] = _Group(error, now)
            return True
        group.counted += 1
        return False

    def next_due(self) -> float | None:
        """When the earliest window ends (on the throttle's clock), or None when all are quiet."""
        return min((g.opened + self.window for g in self._groups.values()), default=None)

    def due(self) -> list[ProtocolError]:
        """Summaries of the windows that have ended; quiet groups are forgotten."""
        now = self._clock()
        out: list[ProtocolError] = []
        for key, group in list(self._groups.items()):
            if now - group.opened < self.window:
                continue
            if group.counted == 0:
                del self._groups[key]
                continue
            out.append(self._summary(key[1], group, now - group.opened))
            group.counted = 0
            group.opened = now
        return out

    def drain(self) -> list[ProtocolError]:
        """Every pending count as a summary, at once; the throttle starts afresh."""
        now = self._clock()
        out = [self._summary(key[1], g, now - g.opened)
               for key, g in self._groups.items() if g.counted]
        self._groups.clear()
        return out

    def _open_kinds(self, account: str) -> int:
        return sum(1 for (acct, kind) in self._groups if acct == account and kind != OTHER_KINDS)

    def _summary(self, kind: str, group: _Group, span: float) -> ProtocolError:
        first = group.first
        seconds = max(span, 0.0)
        like = "protocol errors of other kinds" if kind == OTHER_KINDS else "like this"
        message = (f"{group.counted} more {like} in the last {round(seconds, 1):g} s: "
                   f"{first.message}")
        return replace(first, message=message, raw="", count=group.counted, at=self._wall(),
                       code=first.code if kind != OTHER_KINDS else OTHER_KINDS)


class ProtocolErrorLog:
    """The desk's side of the throttle: records (and shows) what passes, and runs the timer that
    records each window's summary when it ends, even if no further error comes."""

    def __init__(self, record: Callable[[ProtocolError], None], *, window: float = 10.0,
                 kinds: int = 20, clock: Callable[[], float] = time.monotonic) -> None:
        self.throttle = ErrorThrottle(window=window, kinds=kinds, clock=clock)
        self._record = record
        self._clock = clock
        self._timer: asyncio.TimerHandle | None = None

    def offer(self, error: ProtocolError) -> None:
        self.flush()  # a window that ended with no timer running (no loop) is summed up first
        if self.throttle.offer(error):
            self._record(error)
        self._arm()

    def flush(self) -> None:
        """Record the summaries of every window that has ended."""
        for summary in self.throttle.due():
            self._record(summary)

    def close(self) -> None:
        """Record every pending count now; nothing is left behind at shutdown."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for summary in self.throttle.drain():
            self._record(summary)

    def _arm(self) -> None:
        if self._timer is not None:
            return
        due = self.throttle.next_due()
        if due is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a synchronous caller): the next offer or close sums up
            return
        self._timer = loop.call_later(max(0.0, due - self._clock()), self._fire)

    def _fire(self) -> None:
        self._timer = None
        self.flush()
        self._arm()
