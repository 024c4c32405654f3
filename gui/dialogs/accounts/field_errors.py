"""Each form field's error label and input, kept in the order the form shows them, so a
check's messages land at their fields and the first problem takes the focus."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

__all__ = ["FieldErrors", "camel", "error_label"]


def camel(key: str) -> str:
    """A field key as an objectName stem: "public_key" -> "publicKey"."""
    head, *rest = key.replace(".", "_").split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def error_label(parent: QWidget, object_name: str) -> QLabel:
    """A hidden red message under a field, shown when the field has a problem."""
    label = QLabel(parent)
    label.setObjectName(object_name)
    label.setProperty("role", "fieldError")
    label.setWordWrap(True)
    label.setVisible(False)
    return label


class FieldErrors:
    """Field key ("name", "endpoints.rest") -> its error label and the input it marks."""

    def __init__(self) -> None:
        self.labels: dict[str, QLabel] = {}
        self.inputs: dict[str, QWidget] = {}

    def label(self, key: str, parent: QWidget, object_name: str | None = None) -> QLabel:
        """A new error label for ``key`` (named ``<camelKey>Error`` unless told)."""
        label = error_label(parent, object_name or f"{camel(key)}Error")
        self.labels[key] = label
        return label

    def bind(self, key: str, widget: QWidget) -> None:
        self.inputs[key] = widget

    def drop(self, prefix: str) -> None:
        """Forget the fields whose key starts with ``prefix`` (their rows were removed)."""
        for key in [k for k in self.labels if k.startswith(prefix)]:
            del self.labels[key]
            self.inputs.pop(key, None)

    def show(self, errors: Mapping[str, str]) -> None:
        """Each message at its field (the field marked invalid); the others cleared."""
        for key, label in self.labels.items():
            message = errors.get(key, "")
            label.setText(message)
            label.setVisible(bool(message))
            widget = self.inputs.get(key)
            if widget is not None and bool(widget.property("invalid")) != bool(message):
                widget.setProperty("invalid", bool(message))
                widget.style().unpolish(widget)
                widget.style().polish(widget)
            if widget is not None:
                widget.setAccessibleDescription(message)
        first = next((k for k in self.labels if k in errors), None)
        if first is not None and (widget := self.inputs.get(first)) is not None:
            widget.setFocus(Qt.FocusReason.OtherFocusReason)

    def shown(self) -> dict[str, str]:
        return {k: lbl.text() for k, lbl in self.labels.items() if lbl.text()}
