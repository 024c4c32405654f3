"""The Confirmations page: when a close asks before it is sent, and what counts as large."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QLineEdit, QWidget

from core.settings import Preferences
from gui.dialogs.preferences.page import Page

__all__ = ["POLICY_WORDS", "ConfirmPage"]

POLICY_WORDS = {
    "always": "Always ask before sending a close",
    "large_or_live": "Ask for large closes and on LIVE accounts",
    "never": "Never ask (stale rows still ask)",
}


class ConfirmPage(Page):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("confirmPage", "Whether a close asks once more before it is sent. "
                         "With confirmations off every close goes on the first click.", parent)
        self.policy = QComboBox(self)
        self.policy.setObjectName("confirmPolicy")
        for value, words in POLICY_WORDS.items():
            self.policy.addItem(words, value)
        self.add("confirm", "&Confirm", self.policy, "settings.toml: confirm")
        self.largeNotional = QLineEdit(self)
        self.largeNotional.setObjectName("largeCloseNotional")
        self.largeNotional.setPlaceholderText("none (e.g. 25000)")
        self.add("large_close_notional", "&Large close from", self.largeNotional,
                 "A close of at least this notional (size × mark, quote currency) is large")
        self.policy.currentIndexChanged.connect(self._follow)
        self.largeNotional.textEdited.connect(lambda _: self.edited.emit())

    def _follow(self) -> None:
        self.largeNotional.setEnabled(self.policy.currentData() == "large_or_live")
        self.edited.emit()

    def load(self, prefs: Preferences) -> None:
        self.policy.setCurrentIndex(max(0, self.policy.findData(prefs.confirm)))
        notional = prefs.large_close_notional
        self.largeNotional.setText("" if notional is None else format(notional, "f"))
        self.largeNotional.setEnabled(prefs.confirm == "large_or_live")

    def values(self) -> dict[str, object]:
        values: dict[str, object] = {"confirm": self.policy.currentData()}
        text = self.largeNotional.text().strip()
        if text:  # the file's reader takes the amount as text, as a TOML string would be
            values["large_close_notional"] = text
        return values
