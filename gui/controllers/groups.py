"""Group by account: a click on an account's header row (or Enter on it) folds or unfolds its
rows. The rows, subtotals and totals are the sorted view's (gui.models.grouped_rows)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QPersistentModelIndex
from PySide6.QtWidgets import QStyle

if TYPE_CHECKING:
    from gui.main_window import MainWindow

__all__ = ["AccountGroupsToggle"]


class AccountGroupsToggle:
    def __init__(self, window: MainWindow) -> None:
        self.window = window

    def connect(self) -> None:
        view = self.window.positionsView
        # Enter on a header row is "activated"; a style that activates on a single click
        # would then toggle twice, so the click is listened to only where it does not.
        view.activated.connect(self.toggle_at)
        if not view.style().styleHint(QStyle.StyleHint.SH_ItemView_ActivateItemOnSingleClick,
                                      None, view):
            view.clicked.connect(self.toggle_at)

    def toggle_at(self, index: QModelIndex | QPersistentModelIndex) -> None:
        proxy = self.window.positions_proxy
        account = proxy.group_at(index.row()) if index.isValid() else None
        if account is not None:
            proxy.toggle_collapsed(account)
