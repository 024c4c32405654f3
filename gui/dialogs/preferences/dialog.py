"""The Preferences dialog. It checks what is typed with the same code that reads settings.toml
(``core.settings.preferences_from`` / ``alerts_from``), shows that code's message at the field,
and keeps OK disabled while anything is refused. OK saves through the file's round-trip save
(comments and key order kept, the old file as ``settings.toml.bak``).

A file that does not load is never saved over: the dialog says so and OK stays disabled, as
``save_settings`` itself would refuse."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.settings import (
    Settings,
    SettingsError,
    alerts_from,
    load_settings,
    preferences_from,
    save_settings,
    settings_path,
)
from gui.dialogs.preferences.alerts import AlertsPage
from gui.dialogs.preferences.appearance import AppearancePage
from gui.dialogs.preferences.confirm import ConfirmPage
from gui.dialogs.preferences.general import GeneralPage
from gui.dialogs.preferences.page import Page

__all__ = ["PreferencesDialog", "refusal_text"]


def refusal_text(problem: str) -> str:
    return (f"Not saved: the settings file does not load ({problem}). Saving now would "
            "overwrite it. Fix the file or move it aside, then open Preferences again.")


class PreferencesDialog(QDialog):
    """Edit the preferences and alerts of settings.toml; ``saved`` carries what was written."""

    saved = Signal(object)  # Settings, as saved

    def __init__(self, path: Path | None, current: Settings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preferencesDialog")
        self.setWindowTitle("Preferences")
        self.path = path or settings_path()
        self.problem: str | None = None
        try:
            self.base = load_settings(self.path)  # what is on disk now: the save edits that
        except SettingsError as exc:
            self.base, self.problem = current, exc.message
        root = QVBoxLayout(self)
        self.loadProblem = QLabel(self)
        self.loadProblem.setObjectName("preferencesProblem")
        self.loadProblem.setProperty("role", "fieldError")
        self.loadProblem.setWordWrap(True)
        self.loadProblem.setVisible(self.problem is not None)
        if self.problem is not None:
            self.loadProblem.setText(refusal_text(self.problem))
        root.addWidget(self.loadProblem)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("preferencesTabs")
        self.general, self.confirm = GeneralPage(self.tabs), ConfirmPage(self.tabs)
        self.alerts, self.appearance = AlertsPage(self.tabs), AppearancePage(self.tabs)
        self.pages: tuple[Page, ...] = (self.general, self.confirm, self.alerts,
                                        self.appearance)
        for page, title in zip(self.pages, ("&General", "&Confirmations", "A&lerts",
                                            "A&ppearance"), strict=True):
            self.tabs.addTab(page, title)
        root.addWidget(self.tabs, 1)
        self.saveError = QLabel(self)
        self.saveError.setObjectName("saveError")
        self.saveError.setProperty("role", "fieldError")
        self.saveError.setWordWrap(True)
        self.saveError.setVisible(False)
        root.addWidget(self.saveError)
        where = QLabel(f"Saved to {self.path}", self)
        where.setObjectName("settingsPath")
        where.setWordWrap(True)
        root.addWidget(where)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        root.addWidget(self.buttons)
        prefs = self.base.preferences
        self.general.load(prefs)
        self.confirm.load(prefs)
        self.appearance.load(prefs)
        self.alerts.load(self.base.alerts)
        for page in self.pages:
            page.edited.connect(self.validate)
        self.resize(max(520, self.sizeHint().width()), self.sizeHint().height())
        self.validate()

    @property
    def okButton(self) -> QPushButton:
        button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert button is not None
        return button

    def validate(self) -> Settings | None:
        """The settings the form says, or None; each refusal shown at its field."""
        errors: dict[str, str] = {}
        raw: dict[str, object] = {}
        for form in (self.general, self.confirm, self.appearance):
            raw.update(form.values())
        wanted: Settings | None = None
        try:
            prefs = preferences_from(raw, self.path)
            alerts = alerts_from(self.alerts.values(), self.path)
            wanted = dataclasses.replace(self.base, preferences=prefs, alerts=alerts)
        except SettingsError as exc:
            errors[exc.key or ""] = exc.message
        for page in self.pages:
            page.show_errors({k: m for k, m in errors.items() if k in page.errors.labels})
        shown = {k for page in self.pages for k in page.errors.labels}
        stray = [m for k, m in errors.items() if k not in shown]
        self.saveError.setText(" ".join(stray))
        self.saveError.setVisible(bool(stray))
        for i, page in enumerate(self.pages):  # the first page with a problem comes forward
            if any(k in page.errors.labels for k in errors):
                self.tabs.setCurrentIndex(i)
                break
        self.okButton.setEnabled(wanted is not None and self.problem is None)
        self.okButton.setToolTip(refusal_text(self.problem) if self.problem else
                                 "" if wanted is not None else "Fix the field shown in red")
        return wanted

    def accept(self) -> None:
        wanted = self.validate()
        if wanted is None or self.problem is not None:
            return
        try:
            save_settings(wanted, self.path)
        except SettingsError as exc:  # the file broke while the dialog was open
            self.problem = exc.message
            self.loadProblem.setText(refusal_text(exc.message))
            self.loadProblem.setVisible(True)
            self.okButton.setEnabled(False)
            return
        except (OSError, ValueError) as exc:
            self.saveError.setText(f"Not saved: {exc}")
            self.saveError.setVisible(True)
            return
        self.base = wanted
        self.saved.emit(wanted)
        super().accept()
