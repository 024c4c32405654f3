"""The colours of the buttons painted in table cells (a row's Close, a working order's Cancel,
the "residual N" badge): (fill, border, ink) per label, per theme. No Qt: the contrast test
reads these too. A label's colour says its state in both themes (amber while sending, red
when refused, green once filled); "Mismatch" and "Flash" shout the same everywhere."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["BADGE", "CANCEL", "CLOSE", "ELSEWHERE"]

# The Close button's state while another desk holds the position's lease ("Closing by Desk 3").
ELSEWHERE: Final = "Closing elsewhere"

Colours = tuple[str, str, str]

CLOSE: Final[Mapping[str, Mapping[str, Colours]]] = {
    "light": {
        "Close": ("#ffffff", "#c9ced6", "#b42318"),
        "Sending…": ("#fff7e6", "#f0b45b", "#8a5300"),
        "Acknowledged": ("#fff7e6", "#f0b45b", "#8a5300"),
        "Resting": ("#eaf2ff", "#8fb3ee", "#1d4f9c"),
        "Partly filled": ("#fff1d6", "#d98a00", "#7a4100"),
        "Rejected": ("#fdecec", "#e8a0a0", "#a31515"),
        "Unknown": ("#f3e8ff", "#b99ae6", "#5b2a9c"),
        "Closed": ("#eef2f7", "#9aa8bb", "#1f3a5f"),  # filled, not (yet) verified flat
        "Filled": ("#ecf7ef", "#9fd3b0", "#1b6b3a"),
        "Verified flat": ("#ecf7ef", "#6cbf86", "#1b6b3a"),
        "Not filled": ("#f3f4f6", "#c9ced6", "#8a5300"),
        "Cancelled": ("#f3f4f6", "#dde1e6", "#4b5563"),
        "Mismatch": ("#c62828", "#8e1b1b", "#ffffff"),  # the red banner: the venue disagrees
        "Flash": ("#ffe066", "#d99a00", "#4a3500"),  # "this is the close you already sent"
        # Another desk is closing it (team mode): teal, unlike any state of this desk's own.
        ELSEWHERE: ("#e6f6f5", "#7cc4bd", "#0f5c55"),
    },
    "dark": {
        "Close": ("#2b3037", "#4b5360", "#ff8a80"),
        "Sending…": ("#362a17", "#8a6a2a", "#f5c46b"),
        "Acknowledged": ("#362a17", "#8a6a2a", "#f5c46b"),
        "Resting": ("#1c2c45", "#35517a", "#a5c8ff"),
        "Partly filled": ("#3d2f18", "#b07a20", "#f7c77e"),
        "Rejected": ("#3a1f22", "#8a4040", "#ff8a80"),
        "Unknown": ("#2e2240", "#6b4fa0", "#d0b8ff"),
        "Closed": ("#242c38", "#4a5a70", "#c6d4e8"),
        "Filled": ("#1b3326", "#2f6b45", "#6ee7a0"),
        "Verified flat": ("#1b3326", "#3d8a5a", "#6ee7a0"),
        "Not filled": ("#2b3037", "#4b5360", "#f5c46b"),
        "Cancelled": ("#2b3037", "#353a42", "#b7bec8"),
        "Mismatch": ("#c62828", "#8e1b1b", "#ffffff"),
        "Flash": ("#ffe066", "#d99a00", "#4a3500"),
        ELSEWHERE: ("#16312f", "#2f6f68", "#7fe0d4"),
    },
}
CANCEL: Final[Mapping[str, Mapping[str, Colours]]] = {
    "light": {
        "Cancel": ("#ffffff", "#c9ced6", "#374151"),
        "Cancelling…": ("#fff7e6", "#f0b45b", "#8a5300"),
        "Cancelled": ("#f3f4f6", "#dde1e6", "#4b5563"),
        "Refused": ("#fdecec", "#e8a0a0", "#a31515"),  # the last cancel was refused
    },
    "dark": {
        "Cancel": ("#2b3037", "#4b5360", "#d1d5db"),
        "Cancelling…": ("#362a17", "#8a6a2a", "#f5c46b"),
        "Cancelled": ("#2b3037", "#353a42", "#9ca3af"),
        "Refused": ("#3a1f22", "#8a4040", "#ff8a80"),
    },
}
BADGE: Final[Mapping[str, Colours]] = {
    "light": ("#fff1d6", "#f0b45b", "#7a4100"),
    "dark": ("#3d2f18", "#9a7030", "#f7c77e"),
}
