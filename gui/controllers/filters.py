"""The positions table's filters (venue, account, symbol text), the account choices they offer,
the count in its title ("Open positions (3 of 16)") and the live sort hint beside it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.model import Venue
from gui.widgets.positions_bar import ALL, LIVE_SORT_TIP

if TYPE_CHECKING:
    from gui.main_window import MainWindow

__all__ = ["Filters"]


class Filters:
    def __init__(self, window: MainWindow) -> None:
        self.window = window

    def on_venue_filter(self, *_: object) -> None:
        data = self.window.venueFilter.currentData()
        self.window.positions_proxy.set_venue_filter(Venue(data) if data else None)

    def on_account_filter(self, *_: object) -> None:
        self.window.positions_proxy.set_account_filter(self.window.accountFilter.currentData())

    def refresh_account_choices(self, *_: object) -> None:
        w = self.window
        names = set(w.desk.accounts) | set(w.positions_model.accounts()) \
            | set(w.accounts.needs_secret) | set(w.connectionStrip.badges)
        ordered = sorted(names, key=str.casefold)
        combo = w.accountFilter
        have = [combo.itemData(i) for i in range(combo.count())]
        if have == [None, *ordered]:
            return
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(ALL, None)
        for name in ordered:
            combo.addItem(name, name)
        index = combo.findData(current) if current is not None else 0
        combo.setCurrentIndex(max(index, 0))
        combo.blockSignals(False)
        if index < 0:  # the filtered account went away: show all again
            self.on_account_filter()

    def show_sort_hint(self, text: str) -> None:
        """"sorted by Venue", or "sorted by P&L · live" and why a due re-sort waits; the
        tooltip explains the live sort only when there is one."""
        hint = self.window.sortHint
        hint.setText(text)
        hint.setToolTip(LIVE_SORT_TIP if " · live" in text else
                        "Click a column header to sort by it; click again to reverse.")
        hint.setVisible(bool(text))

    def update_count(self, *_: object) -> None:
        w = self.window
        n = w.positions_model.rowCount()
        if w.positions_proxy.filtering:
            shown = w.positions_proxy.position_count
            w.positionsTitle.setText(f"Open positions ({shown} of {n})")
        else:
            w.positionsTitle.setText(f"Open positions ({n})")
