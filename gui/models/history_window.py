"""The bounded window both History tables keep (this desk's journal and the shared one): its
size, the filter, whether it is shown, whether the reader follows the newest records, whether
more lies above or below it, and how many new records wait above it. Each table pages its own
journal into it; this is only the state they share and how it is read.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QFont, QFontDatabase

from core.journal import JournalFilter

__all__ = ["MAX_PAGES", "PAGE_SIZE", "HistoryWindow"]

PAGE_SIZE = 500
MAX_PAGES = 4  # the window: this many pages around what the reader sees


class HistoryWindow:
    """Mixed into a History table model, which declares ``pendingChanged = Signal(int)``."""

    pendingChanged: Any  # the model's Signal(int): how many new records wait above

    def _init_window(self, page_size: int, max_rows: int | None) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.page_size = page_size
        self.max_rows = max(max_rows if max_rows is not None else MAX_PAGES * page_size,
                            2 * page_size)
        self._filter = JournalFilter()
        self._active = False
        self._older = False  # matching records exist below the window
        self._newer = False  # matching records exist above the window
        self._following = True  # the reader is at the top: new records come in
        self._pending = 0
        self.pages_fetched = 0
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

    @property
    def mono_font(self) -> QFont:
        return self._mono

    @property
    def filter(self) -> JournalFilter:
        return self._filter

    @property
    def active(self) -> bool:
        return self._active

    @property
    def following(self) -> bool:
        """True while new records are put at the top (the reader is at the newest)."""
        return self._following and not self._newer

    @property
    def more_newer(self) -> bool:
        return self._newer

    @property
    def more_older(self) -> bool:
        return self._older

    @property
    def pending(self) -> int:
        return self._pending

    def set_following(self, following: bool) -> None:
        """The view says whether the reader is at the top (following the newest records)."""
        self._following = following

    def _set_pending(self, n: int) -> None:
        if n != self._pending:
            self._pending = n
            self.pendingChanged.emit(n)
