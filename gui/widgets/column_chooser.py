"""Which columns a table shows, in what order and how wide: a right-click on its header opens
a menu with a check mark per column, "Move left" / "Move right" for the clicked one, and
"Reset columns"; the sections can also be dragged.

Locked columns (the Close or Cancel button, the symbol) cannot be hidden: a row with no button,
or a button with no symbol beside it, would be a close aimed blind. The button column also
stays last, where the pinned copy of it (gui/widgets/pinned.py) sits over the viewport's edge.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from PySide6.QtCore import QObject, QPoint, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHeaderView, QMenu, QTableView

from gui.layout_state import ColumnState

__all__ = ["ColumnChooser", "column_title"]

_INTERACTIVE = QHeaderView.ResizeMode.Interactive


def column_title(col: Any) -> str:
    """A column's name in menus: its header title, and "Close"/"Cancel" for the button one."""
    title = str(col.title)
    return title or ("Close" if col.name == "ACTION" else col.name.title())


def _menu_text(text: str) -> str:
    """A menu item's text: "&" is a mnemonic there, so "P&L" is written "P&&L"."""
    return text.replace("&", "&&")


class ColumnChooser(QObject):
    """Show, hide and reorder the columns of ``view`` (``columns`` is its column enum).

    ``changed`` fires when a column is shown or hidden, or the set is applied again.
    ``menu`` is the last menu opened from the header (tests trigger its actions).
    """

    changed = Signal()

    def __init__(self, view: QTableView, columns: type[enum.IntEnum], *,
                 widths: Mapping[Any, int], hidden: Collection[Any] = (),
                 locked: Collection[Any] = (), last: Any = None,
                 button_title: str | None = None) -> None:
        super().__init__(view)
        self.view = view
        self.columns: tuple[Any, ...] = tuple(columns)
        self.locked = frozenset(int(c) for c in locked)
        self.last = None if last is None else int(last)
        self._button_title = button_title
        self.defaults = [ColumnState(c.name, c not in hidden, widths.get(c, 100))
                         for c in self.columns]
        self._by_name = {c.name: c for c in self.columns}
        self._widths: dict[int, int] = {}  # hidden columns: their width when shown again
        self.menu: QMenu | None = None
        header = view.horizontalHeader()
        header.setSectionsMovable(True)
        header.setFirstSectionMovable(True)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._popup)
        header.sectionMoved.connect(self._keep_last)

    @property
    def header(self) -> QHeaderView:
        return self.view.horizontalHeader()

    def title(self, col: Any) -> str:
        if self._button_title is not None and int(col) == self.last:
            return self._button_title
        return column_title(col)

    # ------------------------------------------------------------------ state
    def shown(self, col: int) -> bool:
        return not self.view.isColumnHidden(col)

    def visual_order(self) -> list[int]:
        header = self.header
        return [header.logicalIndex(v) for v in range(header.count())]

    def width(self, col: int) -> int:
        """A column's width as the user set it (a stretched or fixed one: its default)."""
        header = self.header
        if header.sectionResizeMode(col) != _INTERACTIVE \
                or (header.stretchLastSection() and col == self.last):
            return self.defaults[col].width
        if self.view.isColumnHidden(col):
            return self._widths.get(col, self.defaults[col].width)
        return self.header.sectionSize(col)

    def state(self) -> list[ColumnState]:
        """Every column in the order shown: name, shown, width (a hidden one's last width)."""
        return [ColumnState(self.columns[c].name, self.shown(c), self.width(c))
                for c in self.visual_order()]

    def apply(self, columns: Sequence[ColumnState]) -> None:
        """Order, show and size the columns as listed (names unknown here are skipped)."""
        header = self.header
        view = self.view
        for at, state in enumerate(c for c in columns if c.name in self._by_name):
            col = int(self._by_name[state.name])
            header.moveSection(header.visualIndex(col), at)
            if header.sectionResizeMode(col) == _INTERACTIVE:
                if state.shown:
                    view.setColumnWidth(col, state.width)
                else:
                    self._widths[col] = state.width
            view.setColumnHidden(col, not state.shown and col not in self.locked)
        self._keep_last()
        self.changed.emit()

    def reset(self) -> None:
        """Every column back where, as wide and as shown as when the window first opened."""
        self._widths.clear()
        self.apply(self.defaults)

    def set_shown(self, col: int, shown: bool) -> None:
        if col in self.locked or shown == self.shown(col):
            return
        if not shown:
            self._widths[col] = self.header.sectionSize(col)
        self.view.setColumnHidden(col, not shown)
        if shown and col in self._widths and self.header.sectionResizeMode(col) == _INTERACTIVE:
            self.view.setColumnWidth(col, self._widths.pop(col))
        self.changed.emit()

    def can_move(self, col: int, step: int) -> bool:
        return self._neighbour(col, step) is not None

    def move(self, col: int, step: int) -> None:
        """Swap ``col`` with the next shown column left (-1) or right (+1) of it."""
        other = self._neighbour(col, step)
        if other is not None:
            header = self.header
            header.moveSection(header.visualIndex(col), header.visualIndex(other))

    def _neighbour(self, col: int, step: int) -> int | None:
        if col == self.last:
            return None
        order = [c for c in self.visual_order() if self.shown(c)]
        if col not in order:
            return None
        at = order.index(col) + step
        if not 0 <= at < len(order) or order[at] == self.last:
            return None
        return order[at]

    def _keep_last(self, *_: object) -> None:
        """The button column goes back to the right end whenever a drag moves it or past it."""
        if self.last is None:
            return
        header = self.header
        end = header.count() - 1
        if header.visualIndex(self.last) != end:
            header.moveSection(header.visualIndex(self.last), end)

    # ------------------------------------------------------------------ menu
    def fill(self, menu: QMenu, clicked: int | None = None) -> None:
        """A check mark per column in the order shown; with ``clicked`` (a header section),
        "Move left" and "Move right" for it; then "Reset columns"."""
        menu.clear()
        for col in self.visual_order():
            action = QAction(_menu_text(self.title(self.columns[col])), menu)
            action.setObjectName(f"column_{self.columns[col].name}")
            action.setCheckable(True)
            action.setChecked(self.shown(col))
            if col in self.locked:
                action.setEnabled(False)
                action.setToolTip("Always shown")
            action.toggled.connect(lambda on, c=col: self.set_shown(c, on))
            menu.addAction(action)
        menu.setToolTipsVisible(True)
        menu.addSeparator()
        if clicked is not None and 0 <= clicked < len(self.columns):
            name = self.title(self.columns[clicked])
            for text, step, object_name in (("left", -1, "moveLeft"), ("right", 1, "moveRight")):
                move = QAction(_menu_text(f"Move “{name}” {text}"), menu)
                move.setObjectName(object_name)
                move.setEnabled(self.can_move(clicked, step))
                move.triggered.connect(lambda _=False, c=clicked, s=step: self.move(c, s))
                menu.addAction(move)
            menu.addSeparator()
        reset = QAction("Reset columns", menu)
        reset.setObjectName("resetColumns")
        reset.triggered.connect(self.reset)
        menu.addAction(reset)

    def _popup(self, pos: QPoint) -> None:
        header = self.header
        clicked = header.logicalIndexAt(pos)
        if self.menu is not None:
            self.menu.deleteLater()
        self.menu = QMenu(header)
        self.menu.setObjectName(f"{self.view.objectName()}Columns")
        self.fill(self.menu, clicked if clicked >= 0 else None)
        self.menu.popup(header.mapToGlobal(pos))
