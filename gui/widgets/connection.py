"""The connection badges in the header: one per account, its state in colour and words, its
environment chip, and a button to enter a missing secret."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from core.desk.freshness import silent_for
from core.model import ConnectionState, Environment, SessionHealth, Venue
from gui.models.text import env_label
from gui.widgets.env import EnvChip
from gui.widgets.flow import FlowLayout
from gui.widgets.health import AMBER, GREEN, RED, SILENCE_RED_FACTOR, fmt_skew

__all__ = ["SKEW_NOTABLE_MS", "ConnectionBadge", "ConnectionStrip", "fmt_clock", "short_why"]

_STATE_COLOURS = {
    ConnectionState.CONNECTING: AMBER,
    ConnectionState.CONNECTED: GREEN,
    ConnectionState.DISCONNECTED: RED,
    ConnectionState.FAILED: RED,
}
_TONES = {GREEN: "good", AMBER: "warn", RED: "bad"}
SKEW_NOTABLE_MS = 50.0  # a smaller clock skew is noise: it stays in the tooltip, off the badge
_WHY_CHARS = 60  # the badge's share of a failure's reason; the tooltip has it whole


def short_why(message: str) -> str:
    """A failure's reason in a few words, for the badge: its first sentence or clause."""
    text = message.strip()
    for stop in (". ", "; ", " ("):
        text = text.split(stop, 1)[0]
    text = text.rstrip(".")
    return text if len(text) <= _WHY_CHARS else text[: _WHY_CHARS - 1].rstrip() + "…"


def fmt_clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).strftime("%H:%M:%S")


class ConnectionBadge(QWidget):
    """A coloured dot, "<account>: <state>" and the account's environment chip, plus the clock
    skew when it matters, and a refusal's reason in a few words ("failed · QFEX auth failed:
    permission denied"; it keeps retrying).

    Green is connected and talking; amber is connecting, or connected but silent for longer
    than the venue's keep-alive ("stale"); red is disconnected or failed, or stale for more
    than three keep-alive periods. An account whose
    secret is missing says "needs secret" and offers a button to enter it. The tooltip carries
    the venue's message and the session's health figures.
    """

    secretRequested = Signal(str)  # the account whose secret the user wants to enter

    def __init__(
        self,
        account: str,
        venue: Venue,
        parent: QWidget | None = None,
        environment: Environment | None = None,
    ) -> None:
        super().__init__(parent)
        self.account = account
        self.venue = venue
        self.environment = environment
        self.needs_secret = False
        self.state = ConnectionState.CONNECTING
        self.message = ""
        self.since: float | None = None  # wall time the outage began, while not connected
        self.health: SessionHealth | None = None
        self.silent_for: float | None = None  # seconds of silence, once past the limit
        self._health_now = 0.0
        self._tone = ""
        self.setObjectName("connectionBadge")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        layout.setSpacing(6)
        self.dot = QLabel(self)
        self.dot.setObjectName("connectionDot")
        self.dot.setFixedSize(10, 10)
        self.label = QLabel(self)
        self.label.setObjectName("connectionText")
        self.envChip = EnvChip(environment, self)
        self.secretButton = QPushButton("Enter secret…", self)
        self.secretButton.setObjectName("enterSecretButton")
        self.secretButton.setAccessibleName(f"Enter the secret key of {account}")
        self.secretButton.setVisible(False)
        self.secretButton.clicked.connect(lambda: self.secretRequested.emit(self.account))
        layout.addWidget(self.dot)
        layout.addWidget(self.label)
        layout.addWidget(self.envChip)
        layout.addWidget(self.secretButton)
        self.set_state(ConnectionState.CONNECTING, "")

    def set_environment(self, env: Environment | None) -> None:
        if env != self.environment:
            self.environment = env
            self.envChip.set_env(env)
            self._render()

    def set_needs_secret(self, needed: bool) -> None:
        """No secret is stored for this account, so it cannot connect until one is entered."""
        if needed != self.needs_secret:
            self.needs_secret = needed
            self.secretButton.setVisible(needed)
            self._render()

    @property
    def stale(self) -> bool:
        """Connected, but nothing heard for longer than the venue's keep-alive allows."""
        return self.state is ConnectionState.CONNECTED and self.silent_for is not None

    @property
    def word(self) -> str:
        if self.needs_secret:
            return "needs secret"
        return "stale" if self.stale else self.state.value

    def set_state(
        self, state: ConnectionState, message: str, since: float | None = None
    ) -> None:
        self.state = state
        self.message = message
        self.since = None if state is ConnectionState.CONNECTED else since
        self.needs_secret = False  # a connection attempt means a secret was found
        self.secretButton.setVisible(False)
        self._render()

    def set_health(self, health: SessionHealth, now: float) -> None:
        """Fresh health figures; ``now`` is time.monotonic(), the clock of last_message_at."""
        self.health = health
        self._health_now = now
        self.silent_for = silent_for(health, now)
        self._render()

    def health_lines(self) -> list[str]:
        h = self.health
        if h is None:
            return []
        lines = []
        if self.stale and self.silent_for is not None and h.keepalive_s is not None:
            lines.append(
                f"Nothing heard for {self.silent_for:.0f} s; the venue's keep-alive is "
                f"{h.keepalive_s:g} s, so its numbers may be out of date"
            )
        if h.last_message_at is not None:
            ago = max(0.0, self._health_now - h.last_message_at)
            lines.append(f"Last message: {ago:.0f} s ago")
        if h.rtt_ms is not None:
            lines.append(f"REST round trip: {h.rtt_ms:.0f} ms")
        if h.skew_ms is not None:
            lines.append(f"Clock skew: {fmt_skew(h.skew_ms)}")
        if h.rate_headroom is not None:
            lines.append(f"Rate headroom: {h.rate_headroom * 100:.0f} %")
        return lines

    def _render(self) -> None:
        colour = AMBER if self.stale or self.needs_secret else _STATE_COLOURS[self.state]
        keepalive = self.health.keepalive_s if self.health is not None else None
        if (self.stale and keepalive is not None and self.silent_for is not None
                and self.silent_for > keepalive * SILENCE_RED_FACTOR):
            colour = RED  # as the health strip: silent for 3 keep-alive periods is red
        tone = _TONES[colour]
        if tone != self._tone:
            self._tone = tone
            self.dot.setStyleSheet(f"background-color: {colour}; border-radius: 5px;")
            self.setProperty("tone", tone)
            self.style().unpolish(self)
            self.style().polish(self)
        text = f"{self.account}: {self.word}"
        if self.state is ConnectionState.FAILED and not self.needs_secret and self.message:
            text += f" · {short_why(self.message)}"  # refused, and why, at a glance
        skew = self.health.skew_ms if self.health is not None else None
        if skew is not None and abs(skew) >= SKEW_NOTABLE_MS:
            text += f" · skew {fmt_skew(skew)}"
        env = f" ({env_label(self.environment)})" if self.environment is not None else ""
        lines = [f"{self.venue.label} — {self.account}{env}: {self.word}"]
        if self.needs_secret:
            lines.append("No secret key is stored for this account; enter it to connect")
        if self.message:
            lines.append(self.message)
        if self.since is not None:
            lines.append(f"Disconnected since {fmt_clock(self.since)}")
        lines.extend(self.health_lines())
        tip = "\n".join(lines)
        if self.label.text() != text:
            self.label.setText(text)
        if self.toolTip() != tip:
            self.setToolTip(tip)
            self.setAccessibleName(f"{self.account} connection")
            self.setAccessibleDescription(". ".join([self.word, *lines[1:]]))


class ConnectionStrip(QWidget):
    """One badge per account, in the order accounts first appear."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("connectionStrip")
        # Badges wrap onto another row, right-aligned, rather than be cut at the window's edge.
        self._layout = FlowLayout(self, spacing=4, align_right=True)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.badges: dict[str, ConnectionBadge] = {}

    secretRequested = Signal(str)

    def badge(
        self, account: str, venue: Venue, environment: Environment | None = None
    ) -> ConnectionBadge:
        badge = self.badges.get(account)
        if badge is None:
            badge = ConnectionBadge(account, venue, self, environment)
            badge.secretRequested.connect(self.secretRequested)
            self.badges[account] = badge
            self._layout.addWidget(badge)
        elif environment is not None:
            badge.set_environment(environment)
        return badge

    def remove(self, account: str) -> None:
        badge = self.badges.pop(account, None)
        if badge is not None:
            self._layout.removeWidget(badge)
            badge.hide()
            badge.deleteLater()

    def set_state(
        self,
        account: str,
        venue: Venue,
        state: ConnectionState,
        message: str = "",
        since: float | None = None,
    ) -> None:
        self.badge(account, venue).set_state(state, message, since)


# ============================================================================ health strip
