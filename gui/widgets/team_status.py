"""The team link in the status bar (team mode only): one line saying whether the shared
database is reachable and what waits for it, coloured by the style sheet through its ``tone``
("good" shared, "info" catching up or connecting, "bad" unreachable), and a tooltip with the
rest a support engineer asks for: where the database is (never a password), this desk, the
last record stored against the newest local one, the last error, the leases held now, and
since when the link is as it is.

The words are pure functions of a ``LinkState`` (core.team.link), so they are tested without
a window.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlsplit

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from core.model import PositionKey
from core.team.link import LinkPhase, LinkState

__all__ = ["LEASES_LISTED", "TeamIndicator", "database_place", "indicator_text", "records",
           "tooltip_text"]

LEASES_LISTED = 8  # leases named in the tooltip; the rest are counted
UNREACHABLE = "Team database unreachable"


def records(n: int) -> str:
    return f"{n:,} record{'' if n == 1 else 's'}"


def indicator_text(state: LinkState, desk_name: str) -> tuple[str, str]:
    """(text, tone) of the status bar's team line."""
    if state.phase is LinkPhase.DOWN:
        waiting = f" · {records(state.queued)} waiting locally" if state.queued else ""
        return f"{UNREACHABLE}{waiting} · closes need an override", "bad"
    if state.phase is LinkPhase.STARTING:
        return f"Team · {desk_name} · connecting…", "info"
    if state.queued:
        return f"Team · {records(state.queued)} waiting", "info"
    return f"Team · {desk_name} · shared", "good"


def database_place(address: str) -> str:
    """Where the team database is, from its address: host, port, database and user. Built from
    the parts, never the address as written, so no password can come along."""
    parts = urlsplit(address)
    host = parts.hostname or "?"
    try:
        port = parts.port or 5432
    except ValueError:
        port = 5432
    dbname = parts.path.lstrip("/") or "(the user's)"
    tls = dict(parse_qsl(parts.query)).get("sslmode")
    user = f", user {parts.username}" if parts.username else ""
    return f"{host}:{port}, database {dbname}{user}" + (f", sslmode {tls}" if tls else "")


def _position(key: PositionKey) -> str:
    return f"{key.symbol} on {key.account} ({key.venue.label})"


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


def tooltip_text(state: LinkState, *, address: str, desk_id: str, desk_name: str,
                 since: float | None) -> str:
    """The indicator's tooltip, one fact per line."""
    phase = {
        LinkPhase.UP: "Reachable: closes take a lease; records are shared",
        LinkPhase.DOWN: "Unreachable: closes are refused unless overridden; records wait "
                        "locally and go out when it is back",
        LinkPhase.STARTING: "Connecting…",
    }[state.phase]
    lines = [
        f"Team database: {database_place(address)}",
        f"This desk: {desk_name} (id {desk_id})",
        phase + (f" (since {_clock(since)})" if since is not None else ""),
        f"Last record stored: {state.remote_seq:,} · newest local: {state.local_seq:,}"
        + (f" · {records(state.queued)} waiting" if state.queued else " · none waiting"),
    ]
    if state.last_error:
        lines.append(f"Last error: {state.last_error}")
    if state.held:
        named = [_position(k) for k in state.held[:LEASES_LISTED]]
        more = len(state.held) - LEASES_LISTED
        if more > 0:
            named.append(f"… and {more} more")
        lines.append(f"Leases held now: {len(state.held)}")
        lines.extend(f"  • {line}" for line in named)
    else:
        lines.append("Leases held now: none")
    return "\n".join(lines)


class TeamIndicator(QLabel):
    """The status bar's team line. ``show_state`` changes only what changed (a tooltip or a
    re-polish costs nothing when the link stays as it is)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("teamStatus")
        self.setAccessibleName("Team link")
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.tone = ""

    def show_state(self, text: str, tone: str, tip: str) -> None:
        if text != self.text():
            self.setText(text)
        if tip != self.toolTip():
            self.setToolTip(tip)
            self.setAccessibleDescription(tip)
        if tone != self.tone:
            self.tone = tone
            self.setProperty("tone", tone)
            self.style().unpolish(self)
            self.style().polish(self)
