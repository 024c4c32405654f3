"""Safety banners coloured in code: DEMO, LIVE, TESTNET, a settings file that did not load,
confirmations off, and the dismissible notices.

Each gets its own widget style sheet, built from ``gui.models.style``. A widget's sheet takes
precedence over the application's, and it is there whether or not ``style.qss`` loaded, so the
cue survives a broken install and any later theme.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from core.model import Environment
from gui.models.style import BannerLook, env_banner_look

__all__ = ["banner_sheet", "colour_banner", "colour_env_banner", "colour_notice"]


def banner_sheet(selector: str, look: BannerLook) -> str:
    weight = "bold" if look.bold else "normal"
    return (f"{selector} {{ background: {look.fill}; color: {look.ink}; "
            f"font-weight: {weight}; letter-spacing: {look.letter_spacing}px; "
            f"padding: {look.padding}; border: none; border-bottom: 1px solid {look.edge}; }}")


def colour_banner(label: QLabel, look: BannerLook) -> None:
    label.setStyleSheet(banner_sheet(f"QLabel#{label.objectName()}", look))


def colour_env_banner(label: QLabel, env: Environment) -> None:
    colour_banner(label, env_banner_look(env))


def colour_notice(frame: QWidget, text: QLabel, look: BannerLook) -> None:
    """A strip holding a label and buttons: the strip's fill and edge, the label's ink."""
    frame.setStyleSheet(
        f"#{frame.objectName()} {{ background: {look.fill}; "
        f"border: none; border-bottom: 1px solid {look.edge}; }}\n"
        f"QLabel#{text.objectName()} {{ color: {look.ink}; background: transparent; }}")
