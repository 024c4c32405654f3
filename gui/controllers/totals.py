"""The positions' totals under the table: keeps running sums (``core.totals.RunningTotals``)
of the rows the filters let through and shows them in the totals strip.

Never a pass over every row per repricing: a changed row is only marked, and at most once per
``WINDOW_REFRESH_MS`` the marked rows' figures are swapped in (a few additions each), in
slices within a small budget of one loop turn. Only a change of filter, or a reset of the
model, sums every row again (once, on that refresh).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPersistentModelIndex, QTimer
from PySide6.QtWidgets import QSplitter

from core.model import Venue
from core.totals import RunningTotals, Sums, Totals, amounts_text, breakdown, sums_text
from gui.models import WINDOW_REFRESH_MS, PositionColumn
from gui.models.position_rows import PositionRow
from gui.widgets.totals_strip import TotalsStrip

if TYPE_CHECKING:
    from gui.main_window import MainWindow

__all__ = ["SLICE", "SLICE_BUDGET", "PositionTotals"]

SLICE = 64  # rows swapped in between budget checks (about half a millisecond)
SLICE_BUDGET = 0.002  # seconds of one loop turn a refresh may use before it yields
_FIRST, _LAST = int(PositionColumn.QUANTITY), int(PositionColumn.PNL)
_Filters = tuple[Venue | None, str | None, str]


class PositionTotals(QObject):
    """Made by the window, after its table: puts the strip under the positions table."""

    def __init__(self, window: MainWindow, *, refresh_ms: int = WINDOW_REFRESH_MS) -> None:
        super().__init__(window)
        self._model = window.positions_model
        self._proxy = window.positions_proxy
        panel = window.positionsView.parentWidget()
        assert panel is not None
        self.strip = TotalsStrip(panel)
        layout = panel.layout()
        assert layout is not None
        layout.addWidget(self.strip)
        # The strip's height comes out of the panes below, not out of the table's rows: once,
        # when the splitter is first laid out (before that it has no sizes to share).
        self._splitter: QSplitter | None = window.splitter
        window.splitter.installEventFilter(self)
        self.running = RunningTotals()
        self._dirty: dict[PositionRow, None] = {}  # rows marked since the last refresh
        self._work: list[PositionRow] = []  # rows this refresh still has to swap in
        self._gone: set[PositionRow] = set()  # rows removed while still in ``_work``
        self._everything = True  # sum every row afresh on the next refresh
        self._filters: _Filters = self._filter_state()
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(refresh_ms)
        self.timer.timeout.connect(self.refresh)
        m = self._model
        m.add_cells_listener(self._on_cells)
        m.rowsInserted.connect(self._on_inserted)
        m.rowsAboutToBeRemoved.connect(self._on_removing)
        m.modelReset.connect(self._on_reset)
        p = self._proxy
        for signal in (p.rowsInserted, p.rowsRemoved, p.modelReset, p.layoutChanged):
            signal.connect(self._schedule)
        self.refresh()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        splitter = self._splitter
        if watched is splitter and splitter is not None and event.type() is QEvent.Type.Resize:
            sizes = splitter.sizes()
            if len(sizes) == 2 and sum(sizes) > 4 * self.strip.sizeHint().height():
                self._splitter = None
                splitter.removeEventFilter(self)
                extra = min(self.strip.sizeHint().height(), sizes[1] // 4)
                splitter.setSizes([sizes[0] + extra, sizes[1] - extra])
        return False

    # ------------------------------------------------------------------ changes
    def _schedule(self, *_args: object) -> None:
        if not self.timer.isActive():
            self.timer.start()

    def _on_cells(self, rows: Sequence[PositionRow], first: int, last: int,
                  _roles: Sequence[int]) -> None:
        if first <= _LAST and last >= _FIRST:
            self._dirty.update(dict.fromkeys(rows))
            self._schedule()

    def _on_inserted(self, _parent: QModelIndex | QPersistentModelIndex, first: int,
                     last: int) -> None:
        self._dirty.update(dict.fromkeys(self._model.records()[first:last + 1]))
        self._schedule()

    def _on_removing(self, _parent: QModelIndex | QPersistentModelIndex, first: int,
                     last: int) -> None:
        for row in self._model.records()[first:last + 1]:
            self.running.discard(row)
            self._dirty.pop(row, None)
            if self._work:
                self._gone.add(row)
        self._schedule()

    def _on_reset(self) -> None:
        self._everything = True
        self._schedule()

    def _filter_state(self) -> _Filters:
        p = self._proxy
        return (p.venue_filter, p.account_filter, p.symbol_filter)

    # ------------------------------------------------------------------ refresh
    def refresh(self) -> None:
        """Swap the marked rows in (all rows, after a filter change), within a budget per
        turn; show the totals once every marked row is in."""
        filters = self._filter_state()
        if filters != self._filters or self._everything:
            self._filters = filters
            self._everything = False
            self.running.clear()
            self._dirty.clear()
            self._work = list(self._model.records())
            self._gone.clear()
        elif self._dirty:
            self._work.extend(self._dirty)
            self._dirty.clear()
        work, gone, running = self._work, self._gone, self.running
        deadline = time.perf_counter() + SLICE_BUDGET
        while work:
            rows = work[-SLICE:]
            del work[-SLICE:]
            if gone:
                rows = [r for r in rows if r not in gone]
            passing = set(self._proxy.passing(rows))
            for r in rows:
                pos = r.position
                if pos is not None and r in passing:
                    running.put(r, pos, r.fmt.quote)
                else:
                    running.discard(r)
            if work and time.perf_counter() >= deadline:
                self.timer.start(0)  # the rest on the next turn; the strip waits for it
                return
        gone.clear()
        self._show()

    async def settled(self) -> None:
        """Every marked row swapped in now (an export sums exactly the rows it read)."""
        while True:
            self.timer.stop()
            self.refresh()
            if not self._work:
                return
            await asyncio.sleep(0)

    @property
    def totals(self) -> Totals:
        return self.running.totals

    def _show(self) -> None:
        t = self.running.totals
        s = t.overall
        total = self._model.rowCount()
        if self._proxy.filtering:
            scope = f"filtered: {s.positions} of {total}"
        else:
            scope = f"Totals · {s.positions} position{'s' if s.positions != 1 else ''}"
        pnl = s.single(s.pnl)
        lines = breakdown(t)
        venues = [f"{label}: {_compact(v)}" for kind, label, v in lines if kind == "venue"]
        accounts = [f"{label}: {_compact(v)}" for kind, label, v in lines if kind == "account"]
        details = "\n".join(f"{label}: {sums_text(v)}" for _kind, label, v in lines)
        self.strip.show_totals(
            scope, f"notional {amounts_text(s.notional)}",
            f"uP&L {amounts_text(s.pnl, signed=True)}",
            0 if pnl is None else (pnl > 0) - (pnl < 0),
            _incomplete(s), "   │   ".join(venues), "   │   ".join(accounts), details)


def _compact(s: Sums) -> str:
    """One venue's or account's figures, short: "3 · 9807.15 USD · +505.55 USD"."""
    text = f"{s.positions} · {amounts_text(s.notional)} · {amounts_text(s.pnl, signed=True)}"
    flag = _incomplete(s)
    return f"{text} ({flag})" if flag else text


def _incomplete(s: Sums) -> str:
    """What the sums leave out, or ""."""
    parts = []
    if s.without_pnl:
        parts.append(f"P&L of {s.with_pnl} of {s.positions}")
    if s.without_mark:
        parts.append(f"notional of {s.with_mark} of {s.positions}")
    return " · ".join(parts)
