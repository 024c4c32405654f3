"""Which position row is selected: the current row (what Enter and the Positions menu act on),
selecting a row by its key (a pending close brought into view), and a click on a log line
about a position selecting that position's row."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel, QModelIndex
from PySide6.QtWidgets import QAbstractItemView

from core.model import PositionKey
from gui.models.positions import PositionColumn

if TYPE_CHECKING:
    from gui.main_window import MainWindow

__all__ = ["Selection"]


class Selection:
    def __init__(self, window: MainWindow) -> None:
        self.window = window

    def selected_key(self) -> PositionKey | None:
        """The row the user chose (current and selected), if any; none after that row went."""
        return self.window.positionsView.chosen_key()

    def select_row(self, key: PositionKey) -> bool:
        """Select and scroll to a row; False when it is not shown (flat, or filtered out)."""
        proxy = self.window.positions_proxy
        if proxy.group_by_account and proxy.is_collapsed(key.account):
            proxy.set_collapsed(key.account, False)  # a folded account opens to show it
        row = proxy.proxy_row_of(key)
        if row is None or row < 0:
            return False
        view = self.window.positionsView
        index = proxy.index(row, PositionColumn.SYMBOL)
        flags = (QItemSelectionModel.SelectionFlag.ClearAndSelect
                 | QItemSelectionModel.SelectionFlag.Rows)
        view.selectionModel().setCurrentIndex(index, flags)
        view.scrollTo(index, QAbstractItemView.ScrollHint.EnsureVisible)
        return True

    def on_log_clicked(self, index: QModelIndex) -> None:
        """A log line about a position selects its row (when the row is still there)."""
        model = index.model()  # the log, or the log filtered: both know a row's key
        key = model.key_at(index.row()) if hasattr(model, "key_at") else None
        if key is not None and not self.select_row(key):
            self.window.statusBar().showMessage(
                f"{key.symbol} on {key.account} is not in the table (flat, or filtered out).",
                5000)
