"""What every page of the Preferences dialog shares: a form whose fields each have an error
label (the file reader's message, shown at the field), and the values as the file holds them."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget

from gui.dialogs.accounts.field_errors import FieldErrors

__all__ = ["Page"]


class Page(QWidget):
    """One tab: fields in a form, each with its error label under it."""

    edited = Signal()
    table = "preferences"  # the settings.toml table the page's keys belong to

    def __init__(self, object_name: str, intro: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.errors = FieldErrors()
        root = QVBoxLayout(self)
        note = QLabel(intro, self)
        note.setObjectName("pageIntro")
        note.setWordWrap(True)
        root.addWidget(note)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        root.addLayout(self.form)
        root.addStretch(1)

    def add(self, key: str, label: str, field: QWidget, tip: str) -> None:
        """A row: the field under its label, its error label below it."""
        field.setToolTip(tip)
        field.setAccessibleName(label.replace("&", ""))
        self.form.addRow(label, field)
        self.form.addRow("", self.errors.label(key, self))
        self.errors.bind(key, field)
        label_widget = self.form.labelForField(field)
        if isinstance(label_widget, QLabel):
            label_widget.setBuddy(field)

    def values(self) -> dict[str, object]:
        """The page's fields as settings.toml would hold them (what the reader checks)."""
        raise NotImplementedError

    def show_errors(self, errors: Mapping[str, str]) -> None:
        self.errors.show(errors)
