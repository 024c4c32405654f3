"""The endpoint fields of the chosen venue: one URL per endpoint name, empty meaning the
environment's default (shown as the placeholder)."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtWidgets import QFormLayout, QGroupBox, QLineEdit, QVBoxLayout, QWidget

from core.model import Environment, Venue
from core.settings import known_endpoints
from core.venues import default_endpoints
from gui.dialogs.accounts.field_errors import FieldErrors

__all__ = ["EndpointsBox", "endpoint_names"]


def endpoint_names(venue: Venue) -> list[str]:
    """The venue's endpoint names in a stable order: the live defaults' order, then the rest."""
    ordered = list(default_endpoints(venue, Environment.LIVE))
    return ordered + sorted(known_endpoints(venue) - set(ordered))


class EndpointsBox(QGroupBox):
    """One line edit per endpoint name, rebuilt when the venue changes; each field's error
    label goes into the form's ``errors`` under ``endpoints.<name>``."""

    def __init__(self, errors: FieldErrors, parent: QWidget | None = None) -> None:
        super().__init__("Endpoints (optional: empty uses the environment's)", parent)
        self.setObjectName("endpointsBox")
        self._errors = errors
        self.inputs: dict[str, QLineEdit] = {}
        self._form = QFormLayout(self)
        self._form.setHorizontalSpacing(12)
        self._form.setVerticalSpacing(4)
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

    def rebuild(self, venue: Venue) -> None:
        """The venue's endpoint fields; a URL already typed under the same name stays."""
        keep = {name: edit.text() for name, edit in self.inputs.items()}
        while self._form.rowCount():
            self._form.removeRow(0)
        self._errors.drop("endpoints.")
        self.inputs = {}
        for name in endpoint_names(venue):
            edit = QLineEdit(self)
            edit.setObjectName(f"endpoint_{name}")
            edit.setAccessibleName(f"{name} endpoint")
            edit.setText(keep.get(name, ""))
            key = f"endpoints.{name}"
            box = QVBoxLayout()
            box.setSpacing(2)
            box.addWidget(edit)
            label = self._errors.label(key, self, f"endpoint_{name}Error")
            self._errors.bind(key, edit)
            box.addWidget(label)
            self._form.addRow(name, box)
            self.inputs[name] = edit

    def update_placeholders(self, venue: Venue, environment: Environment) -> None:
        defaults = default_endpoints(venue, environment)
        for name, edit in self.inputs.items():
            default = defaults.get(name)
            edit.setPlaceholderText(default or "Required: this environment has no default URL")
            edit.setToolTip(f"Default: {default}" if default else
                            "Demo has no default URL: enter the simulator's "
                            "(python -m core.sim prints them)")

    def clear(self) -> None:
        for edit in self.inputs.values():
            edit.clear()

    def set_urls(self, urls: Mapping[str, str]) -> None:
        """Fill the fields of the names shown; other names are ignored."""
        for name, url in urls.items():
            if name in self.inputs:
                self.inputs[name].setText(url)

    def values(self) -> dict[str, str]:
        """The URLs typed (stripped); an empty field is left out (the default applies)."""
        return {n: e.text().strip() for n, e in self.inputs.items() if e.text().strip()}
