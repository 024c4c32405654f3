"""Which theme is on: the user's choice, or with "system" the desktop's colour scheme,
followed as it changes (Qt 6.5+: ``QStyleHints.colorScheme`` and ``colorSchemeChanged``).

One follower per application (:func:`theme_follower`): the app makes it at start with the
settings' choice, and the Preferences dialog changes the choice through it."""

from __future__ import annotations

from typing import Protocol, cast

from PySide6.QtCore import QObject, Qt, Signal, SignalInstance
from PySide6.QtWidgets import QApplication

from core.settings import Theme
from gui.theme.palettes import ThemeName
from gui.theme.sheet import apply_theme

__all__ = ["SchemeSource", "ThemeFollower", "drop_theme_follower", "has_theme_follower",
           "theme_follower"]


class SchemeSource(Protocol):
    """What tells the system's colour scheme: ``QStyleHints``, or a stand-in in a test."""

    @property
    def colorSchemeChanged(self) -> SignalInstance: ...

    def colorScheme(self) -> Qt.ColorScheme: ...


class ThemeFollower(QObject):
    """Puts the chosen theme on the app, and with "system" follows the desktop's scheme."""

    changed = Signal(str)  # the theme now on: "light" or "dark"

    def __init__(self, app: QApplication, choice: Theme = "system",
                 scheme: SchemeSource | None = None) -> None:
        super().__init__(app)
        self._app = app
        self._scheme: SchemeSource = scheme if scheme is not None else cast(
            SchemeSource, app.styleHints())
        self._scheme.colorSchemeChanged.connect(self._on_scheme)
        self.choice: Theme = choice
        self.applied: ThemeName | None = None
        self._apply()

    @property
    def resolved(self) -> ThemeName:
        if self.choice != "system":
            return self.choice
        dark = self._scheme.colorScheme() == Qt.ColorScheme.Dark
        return "dark" if dark else "light"  # Unknown (no desktop says): light

    def set_choice(self, choice: Theme) -> None:
        self.choice = choice
        self._apply()

    def _on_scheme(self, _scheme: Qt.ColorScheme) -> None:
        if self.choice == "system":
            self._apply()

    def _apply(self) -> None:
        theme = self.resolved
        if theme == self.applied:
            return  # restyling every widget is not free: only on a real change
        apply_theme(self._app, theme)
        self.applied = theme
        self.changed.emit(theme)

    def detach(self) -> None:
        self._scheme.colorSchemeChanged.disconnect(self._on_scheme)


_current: ThemeFollower | None = None


def theme_follower(app: QApplication, choice: Theme | None = None,
                   scheme: SchemeSource | None = None) -> ThemeFollower:
    """The app's follower, made on first use (with ``choice``, else "system"); a later call
    with a ``choice`` switches to it."""
    global _current
    if _current is None or _current._app is not app:
        _current = ThemeFollower(app, choice or "system", scheme)
    elif choice is not None:
        _current.set_choice(choice)
    return _current


def has_theme_follower() -> bool:
    return _current is not None


def drop_theme_follower() -> None:
    """Forget the follower (tests: the next app, or a fresh start, makes its own)."""
    global _current
    if _current is not None:
        _current.detach()
        _current.deleteLater()
        _current = None
