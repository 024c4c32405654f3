"""The Alerts page: which events raise a desktop notification, and whether a sound plays."""

from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import QCheckBox, QWidget

from core.settings import Alerts
from gui.dialogs.accounts.field_errors import camel
from gui.dialogs.preferences.page import Page

__all__ = ["ALERT_WORDS", "AlertsPage"]

ALERT_WORDS = {
    "close_filled": "A close &fills",
    "trigger_fired": "A &trigger fires",
    "order_rejected": "An order is &rejected",
    "connection_lost": "A &connection drops",
    "flat_check_failed": "A &verified-flat check fails",
    "sound": "&Play a sound with each notification",
}


class AlertsPage(Page):
    table = "alerts"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("alertsPage", "Notify me when…  (during a flatten, one summary "
                         "instead of one notification per position)", parent)
        self.boxes: dict[str, QCheckBox] = {}
        for field in dataclasses.fields(Alerts):
            box = QCheckBox(ALERT_WORDS[field.name], self)
            box.setObjectName(f"{camel(field.name)}Alert")
            box.toggled.connect(lambda _: self.edited.emit())
            self.boxes[field.name] = box
            self.form.addRow(box)
            self.form.addRow(self.errors.label(field.name, self))
            self.errors.bind(field.name, box)

    def load(self, alerts: Alerts) -> None:
        for key, box in self.boxes.items():
            box.setChecked(bool(getattr(alerts, key)))

    def values(self) -> dict[str, object]:
        return {key: box.isChecked() for key, box in self.boxes.items()}
