"""A theme put on the application: the style sheet filled from its palette, a QPalette for
what the sheet does not colour (menus, scroll bars, tool tips, check boxes), and the tables'
colours. Setting the application's style sheet restyles every widget there is, at once."""

from __future__ import annotations

from functools import lru_cache
from string import Template

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from gui.bundled import resource_path
from gui.models.style import use_palette
from gui.theme.palettes import PALETTES, ThemeName
from gui.widgets.delegates import use_theme as use_buttons

__all__ = ["applied_theme", "apply_theme", "qt_palette", "style_sheet", "use_template"]

_applied: list[ThemeName] = ["light"]  # the theme on the app now (light until one is put on)


def applied_theme() -> ThemeName:
    """The theme on the app now: for what sets its own style sheet when it is made."""
    return _applied[0]


# The style sheet's text as the app found it at start (gui.appearance reads it, and reports it
# when it is missing); until then, read from the bundled file on first use.
_source: list[Template | None] = []


def use_template(text: str | None) -> None:
    """The style sheet every theme fills in from now on (None: there is none)."""
    _source[:] = [None if text is None else Template(text)]
    style_sheet.cache_clear()


def _template() -> Template | None:
    if not _source:
        path = resource_path("style.qss")
        use_template(None if path is None else path.read_text(encoding="utf-8"))
    return _source[0]


@lru_cache(maxsize=2)
def style_sheet(theme: ThemeName) -> str:
    """The app's style sheet in ``theme``; "" when the sheet is not bundled (the widgets then
    keep Qt's look in the theme's QPalette, and the banners their colours set in code)."""
    template = _template()
    return "" if template is None else template.substitute(PALETTES[theme])


def qt_palette(theme: ThemeName) -> QPalette:
    c = PALETTES[theme]
    palette = QPalette()
    role = QPalette.ColorRole
    for which, name in ((role.Window, "window"), (role.WindowText, "text"),
                        (role.Base, "surface"), (role.AlternateBase, "surface_alt"),
                        (role.Text, "text"), (role.Button, "control"),
                        (role.ButtonText, "text"), (role.Highlight, "selection"),
                        (role.HighlightedText, "text_strong"), (role.ToolTipBase, "surface"),
                        (role.ToolTipText, "text"), (role.PlaceholderText, "muted"),
                        (role.Mid, "border"), (role.Light, "surface"), (role.Dark, "border"),
                        (role.Link, "focus"), (role.BrightText, "on_fill")):
        palette.setColor(which, QColor(c[name]))
    disabled = QPalette.ColorGroup.Disabled
    for which in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(disabled, which, QColor(c["disabled_text"]))
    return palette


def apply_theme(app: QApplication, theme: ThemeName) -> None:
    """Put ``theme`` on ``app``: the tables' colours first, so the repaint that the new style
    sheet causes already paints with them."""
    use_palette(PALETTES[theme])
    use_buttons(theme)
    _applied[0] = theme
    app.setPalette(qt_palette(theme))
    app.setStyleSheet(style_sheet(theme))
