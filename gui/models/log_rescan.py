"""A change of the order log's filter worked out a slice at a time, so no single turn of the
event loop reads every line: a trader typing a search over 200,000 lines must never freeze
the window.

Qt-free: it reads the log's list of held lines (live: lines still come and go meanwhile) and is
told where lines came or went, by index in that list. It keeps the indices of the lines that
pass, right for the list as it is now, so the result can be shown in one step at the end:
nothing lost, nothing counted twice."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from gui.models.log_filter import LogFilter
from gui.models.log_line import Line

__all__ = ["Rescan"]


class Rescan:
    """One filter's pass over the held lines. ``step`` reads the next slice; lines inserted
    before the point reached are read when they come, lines after it when the pass gets
    there."""

    def __init__(self, new: LogFilter, lines: Sequence[Line]) -> None:
        self.filter = new
        self._lines = lines
        self._accepts = new.predicate()
        self._next = 0  # the first line not read yet
        self._passing: list[int] = []  # indices of the lines read that pass, ascending

    @property
    def done(self) -> bool:
        return self._next >= len(self._lines)

    @property
    def progress(self) -> float:
        """The share of the held lines read, 0 to 1."""
        total = len(self._lines)
        return min(self._next / total, 1.0) if total else 1.0

    @property
    def passing(self) -> list[int]:
        """The indices of the lines that pass, ascending: all of them once ``done``."""
        return self._passing

    def step(self, size: int) -> bool:
        """Read the next ``size`` lines (one ``LogFilter.passing`` call); True when done."""
        start = self._next
        stop = min(start + max(size, 1), len(self._lines))
        flags = self.filter.passing(self._lines[start:stop])
        self._passing.extend(start + i for i, flag in enumerate(flags) if flag)
        self._next = stop
        return self.done

    def inserted(self, index: int, count: int) -> None:
        """``count`` lines now held from ``index`` on: read now if the pass is past them."""
        if index >= self._next:
            return  # still ahead of the pass (new lines at the end): read when it gets there
        passing = self._passing
        at = bisect.bisect_left(passing, index)
        passing[at:] = [i + count for i in passing[at:]]
        new = [i for i in range(index, index + count) if self._accepts(self._lines[i])]
        passing[at:at] = new
        self._next += count

    def removed(self, index: int, count: int) -> None:
        """The ``count`` lines held from ``index`` on went (the oldest, trimmed)."""
        passing = self._passing
        low = bisect.bisect_left(passing, index)
        high = bisect.bisect_left(passing, index + count)
        passing[low:] = [i - count for i in passing[high:]]
        if self._next > index:
            self._next = max(index, self._next - count)
