"""The colours of each theme, by role. No Qt here: the contrast test and the style sheet both
read these tables.

``SHEET`` roles fill the ``$name`` placeholders of ``resources/style.qss``. ``TABLE`` roles are
what the models paint with (P&L, muted and stale text, the grouped rows' fills); they replace
the values of the QColors in ``gui.models.style``. Fills that carry an environment's or an
action's meaning (LIVE and Send red, TESTNET and Save blue, DEMO amber) are the same in both
themes, with the same ink on them: a LIVE banner must look like one whatever the desktop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

__all__ = ["DARK", "LIGHT", "PALETTES", "SHEET_ROLES", "Palette", "ThemeName"]

ThemeName = Literal["light", "dark"]
Palette = Mapping[str, str]

# Shared by both themes: strong fills and the ink on them.
_FILLS: Final = {
    "danger_fill": "#c62828", "danger_fill_hover": "#b42323", "danger_fill_border": "#a61f1f",
    "live_border": "#9f1d1d", "info_fill": "#1d5fc4", "info_fill_border": "#164a99",
    "demo_fill": "#f5b301", "demo_ink": "#3d2c00", "demo_border": "#d69a00",
    "on_fill": "#ffffff",
}

LIGHT: Final[Palette] = {
    **_FILLS,
    # surfaces
    "window": "#f6f7f9", "surface": "#ffffff", "surface_alt": "#f9fafb",
    "health_strip": "#fbfbfc", "control": "#f3f4f6", "control_pressed": "#e5e7eb",
    "control_disabled": "#f0f1f3", "splitter": "#eceef1", "splitter_hover": "#c9d3e0",
    "selection": "#dbe8fb",
    # lines
    "border": "#dde1e6", "border_soft": "#e1e4e8", "health_strip_border": "#e6e8eb",
    "header_divider": "#eceef1", "grid": "#eef0f3", "input_border": "#c4cad3",
    "pinned_border": "#c9ced6", "focus": "#3b82f6", "table_focus": "#9ab8e6",
    # text
    "text": "#1f2933", "text_strong": "#111827", "text_2": "#374151", "text_3": "#4b5563",
    "muted": "#6b7280", "disabled_text": "#9aa1ab",
    # refused, bad, danger
    "bad_text": "#c62828", "bad_bg": "#fdecec", "bad_border": "#f1b5b5",
    "invalid_border": "#d32f2f", "invalid_bg": "#fff5f5", "settings_error_text": "#8f1d1d",
    "confirm_text": "#3b1111", "confirm_border": "#e8a0a0",
    "danger_disabled": "#e8b4b4", "danger_disabled_border": "#e0a5a5",
    "danger_disabled_ink": "#fff8f8",
    # warnings
    "warn_text": "#8a4b00", "warn_bg": "#fff7e6", "warn_border": "#f0c37a",
    "guard_bg": "#fff4e0", "guard_border": "#f0b45b", "notice_bg": "#fff1d6",
    "notice_text": "#6b3a00", "secret_button_text": "#8a5300", "dust_bg": "#fffaf0",
    "dust_border": "#e0a84a", "warn_button_border": "#d98a00", "warn_button_text": "#7a4100",
    "warn_button_hover": "#ffefcc",
    # good, information
    "good_text": "#1b6b3a", "ok_text": "#1b7f3b", "will_send_text": "#1d4f9c",
    "will_send_bg": "#eaf2ff", "will_send_border": "#b9cff3", "working_bg": "#f5f8ff",
    "working_border": "#b9c7e6", "info_fill_disabled": "#a9c0e6",
    # the tables (gui.models.style)
    "profit": "#17703a", "loss": "#b91c1c", "table_muted": "#545b69", "table_warn": "#9a4a0b",
    "stale": "#9aa1ab", "mismatch_row": "#fde2e2", "group_header": "#e9eef5",
    "group_totals": "#dde3ec", "unknown_ink": "#5b2a9c",
}

DARK: Final[Palette] = {
    **_FILLS,
    "window": "#16181c", "surface": "#1f2227", "surface_alt": "#24282e",
    "health_strip": "#1b1e22", "control": "#2b3037", "control_pressed": "#363c45",
    "control_disabled": "#25292f", "splitter": "#2b3037", "splitter_hover": "#4a5361",
    "selection": "#1e3a5f",
    "border": "#353a42", "border_soft": "#30353c", "health_strip_border": "#2b3037",
    "header_divider": "#30353c", "grid": "#2b3037", "input_border": "#4b5360",
    "pinned_border": "#4b5360", "focus": "#60a5fa", "table_focus": "#3b6fb6",
    "text": "#e3e6ea", "text_strong": "#f3f4f6", "text_2": "#d1d5db", "text_3": "#b7bec8",
    "muted": "#9ca3af", "disabled_text": "#6b7280",
    "bad_text": "#ff8a80", "bad_bg": "#3a1f22", "bad_border": "#7a3a3a",
    "invalid_border": "#ef5350", "invalid_bg": "#33201f", "settings_error_text": "#ffb4ab",
    "confirm_text": "#f8d7d7", "confirm_border": "#8a4040",
    "danger_disabled": "#5a2b2b", "danger_disabled_border": "#6b3333",
    "danger_disabled_ink": "#c9a3a3",
    "warn_text": "#f5c46b", "warn_bg": "#362a17", "warn_border": "#8a6a2a",
    "guard_bg": "#33291a", "guard_border": "#9a7030", "notice_bg": "#3d2f18",
    "notice_text": "#f7d38f", "secret_button_text": "#f5c46b", "dust_bg": "#2c271d",
    "dust_border": "#8a6a2a", "warn_button_border": "#b07a20", "warn_button_text": "#f7c77e",
    "warn_button_hover": "#4a3a1e",
    "good_text": "#6ee7a0", "ok_text": "#6ee7a0", "will_send_text": "#a5c8ff",
    "will_send_bg": "#1c2c45", "will_send_border": "#35517a", "working_bg": "#1d2430",
    "working_border": "#3a4a66", "info_fill_disabled": "#2f4566",
    "profit": "#5ee394", "loss": "#ff8a80", "table_muted": "#a0a8b4", "table_warn": "#f5b453",
    "stale": "#6f7782", "mismatch_row": "#4a2326", "group_header": "#2a303a",
    "group_totals": "#323a46", "unknown_ink": "#d0b8ff",
}

PALETTES: Final[Mapping[ThemeName, Palette]] = {"light": LIGHT, "dark": DARK}
SHEET_ROLES: Final = frozenset(LIGHT)
