"""The Appearance page: the theme (or the system's), and how numbers are written."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QWidget

from core.settings import Preferences
from gui.dialogs.preferences.page import Page

__all__ = ["THEME_WORDS", "AppearancePage"]

THEME_WORDS = {"system": "System (follow the desktop)", "light": "Light", "dark": "Dark"}


class AppearancePage(Page):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("appearancePage", "How the window looks. LIVE stays red, TESTNET blue "
                         "and DEMO amber in every theme, and so do profit and loss.", parent)
        self.theme = QComboBox(self)
        self.theme.setObjectName("themeChoice")
        for value, words in THEME_WORDS.items():
            self.theme.addItem(words, value)
        self.add("theme", "&Theme", self.theme, "settings.toml: theme")
        self.thousands = QCheckBox("Thousands &separators (12,345.67)", self)
        self.thousands.setObjectName("thousandsSeparator")
        self.add("thousands_separator", "&Numbers", self.thousands,
                 "In the tables, the log, the dialogs and the CLI; never in a field you type "
                 "into, nor in what is sent")
        self.theme.currentIndexChanged.connect(lambda _: self.edited.emit())
        self.thousands.toggled.connect(lambda _: self.edited.emit())

    def load(self, prefs: Preferences) -> None:
        self.theme.setCurrentIndex(max(0, self.theme.findData(prefs.theme)))
        self.thousands.setChecked(prefs.thousands_separator)

    def values(self) -> dict[str, object]:
        return {"theme": self.theme.currentData(),
                "thousands_separator": self.thousands.isChecked()}
