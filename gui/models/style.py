"""The colours and fonts the tables paint with: profit and loss, muted and stale text, the
mismatch banner, the grouped rows' fills, each environment's chip colours, and the safety
banners' looks.

The QColors here are the current theme's: :func:`use_palette` sets them in place (with the
brushes that :func:`brush` shares), so a model that paints with them needs nothing more than
a repaint when the theme changes. ``ENV_COLOURS`` and the banners' looks are the same in every
theme, and live here and nowhere else (not in the style sheet): they are set on each banner in
code, so a missing or broken style sheet can never leave DEMO and LIVE uncoloured."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from PySide6.QtGui import QBrush, QColor, QFont, QFontDatabase

from core.model import Environment

__all__ = [
    "CONFIRMATIONS_OFF_LOOK",
    "ENV_COLOURS",
    "GROUP_HEADER",
    "GROUP_TOTALS",
    "LOSS",
    "MISMATCH_ROW",
    "MUTED",
    "NOTICE_LOOK",
    "PROFIT",
    "SETTINGS_ERROR_LOOK",
    "STALE",
    "UNKNOWN_INK",
    "WARN",
    "BannerLook",
    "brush",
    "env_banner_look",
    "italic",
    "monospace",
    "use_palette",
]

PROFIT = QColor("#17703a")
LOSS = QColor("#b91c1c")
MUTED = QColor("#545b69")
WARN = QColor("#9a4a0b")
STALE = QColor("#9aa1ab")
MISMATCH_ROW = QColor("#fde2e2")  # a full close the venue still shows open: the whole row
GROUP_HEADER = QColor("#e9eef5")  # an account's header row when rows are grouped
GROUP_TOTALS = QColor("#dde3ec")  # its subtotal row
UNKNOWN_INK = QColor("#5b2a9c")  # neither good nor refused: an outcome not known yet

# Palette role (gui.theme.palettes) -> the colour it sets, with one brush shared by the models.
_ROLES: dict[str, tuple[QColor, QBrush]] = {
    role: (colour, QBrush(colour)) for role, colour in (
        ("profit", PROFIT), ("loss", LOSS), ("table_muted", MUTED), ("table_warn", WARN),
        ("stale", STALE), ("mismatch_row", MISMATCH_ROW), ("group_header", GROUP_HEADER),
        ("group_totals", GROUP_TOTALS), ("unknown_ink", UNKNOWN_INK))
}

# (fill, ink) of each environment's chip, banner and badge: LIVE red, TESTNET blue, DEMO amber.
ENV_COLOURS: dict[Environment, tuple[str, str]] = {
    Environment.LIVE: ("#c62828", "#ffffff"),
    Environment.TESTNET: ("#1d5fc4", "#ffffff"),
    Environment.DEMO: ("#f5b301", "#3d2c00"),
}


@dataclass(frozen=True, slots=True)
class BannerLook:
    """A strip across the top of the window: its fill, its ink, the line under it, and how loud
    its text is."""

    fill: str
    ink: str
    edge: str
    bold: bool = True
    padding: str = "5px 12px"
    letter_spacing: int = 1


def env_banner_look(env: Environment) -> BannerLook:
    """The LIVE / TESTNET / DEMO banner: the environment's chip colours, a darker edge."""
    fill, ink = ENV_COLOURS[env]
    return BannerLook(fill, ink, QColor(fill).darker(125).name())


# A settings file that did not load: the user is in demo mode, not looking at their accounts.
SETTINGS_ERROR_LOOK = BannerLook("#fdecec", "#8f1d1d", "#f1b5b5", bold=False,
                                 padding="6px 12px", letter_spacing=0)
# Every close goes on the first click.
CONFIRMATIONS_OFF_LOOK = BannerLook("#fff1d6", "#6b3a00", "#f0c37a", padding="4px 12px",
                                    letter_spacing=0)
# A notice that can be dismissed: secrets kept in memory only, a resource that did not load.
NOTICE_LOOK = BannerLook("#fff4e0", "#8a4b00", "#f0c37a", bold=False, padding="0px",
                         letter_spacing=0)


def brush(colour: QColor) -> QBrush:
    """The shared brush of one of this module's colours: it follows the theme in place."""
    for known, shared in _ROLES.values():
        if known is colour:
            return shared
    return QBrush(colour)


def use_palette(palette: Mapping[str, str]) -> None:
    """Give every colour here (and its shared brush) the value of its role in ``palette``."""
    for role, (colour, shared) in _ROLES.items():
        colour.setRgba(QColor(palette[role]).rgba())
        shared.setColor(colour)


def monospace() -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    return font


def italic(base: QFont | None = None) -> QFont:
    """Italic on top of ``base``; from nothing, a font that sets only italic, so the view's own
    family and size (from the style sheet) still apply: the delegate resolves it against them."""
    font = QFont(base) if base is not None else QFont()
    font.setItalic(True)
    return font
