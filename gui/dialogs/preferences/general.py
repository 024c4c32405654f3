"""The General page: who the operator is (recorded in the journal) and when a row is stale."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from PySide6.QtWidgets import QLineEdit, QWidget

from core.settings import STALE_AFTER_MAX_S, Preferences
from gui.dialogs.preferences.page import Page

__all__ = ["GeneralPage", "number_or_text"]


def number_or_text(text: str) -> object:
    """A typed number as the file would hold it (a number), anything else as the text it is:
    the file's reader then says what is wrong with it, in its own words."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return text
    return value if value.is_finite() else text


class GeneralPage(Page):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("generalPage", "Recorded with every action, and how long a row may go "
                         "without news before it is marked stale.", parent)
        self.operatorName = QLineEdit(self)
        self.operatorName.setObjectName("operatorName")
        self.operatorName.setPlaceholderText("e.g. j.doe")
        self.add("operator_name", "&Operator name", self.operatorName,
                 "Written in the journal beside the OS user for every action")
        self.staleAfter = QLineEdit(self)
        self.staleAfter.setObjectName("staleAfter")
        self.add("stale_after_s", "&Stale after (seconds)", self.staleAfter,
                 f"A row with no update for this long is marked stale (above 0, at most "
                 f"{STALE_AFTER_MAX_S:g})")
        for field in (self.operatorName, self.staleAfter):
            field.textEdited.connect(lambda _: self.edited.emit())

    def load(self, prefs: Preferences) -> None:
        self.operatorName.setText(prefs.operator_name)
        self.staleAfter.setText(f"{prefs.stale_after_s:g}")

    def values(self) -> dict[str, object]:
        return {"operator_name": self.operatorName.text(),
                "stale_after_s": number_or_text(self.staleAfter.text())}
