"""The health strip: every account's figures at a glance, each in its own tone.

Health thresholds (the strip under the header, one panel per account; amber, then red):

* last message: amber once a connected venue has said nothing for longer than its keep-alive
  allows (``core.desk.freshness.silence_limit``: 1.5 keep-alive periods, and at least 2 s over
  one, so a merely late ping does not flicker), red past 3 keep-alive periods; the state then
  reads "stale" even though the socket is open;
* REST round trip: amber from 500 ms, red from 2 s;
* clock skew (venue minus ours): amber beyond ±500 ms, red beyond ±2 s (Everstrike refuses a
  request whose timestamp is off by more than its receive window, 5 s by default);
* rate-limit headroom: amber below 25 %, red below 5 %.

The journal has one figure of its own, at the start of the strip, shown only when there is
something to say: back-pressure, amber once the oldest record waiting to be written has waited
0.5 s (what it describes reaches the window only once it is written, so the window lags by as
much), red past 2 s; red, for good, once a write failed (nothing more is recorded, so nothing
more is shown or sent).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QWidget

from core.desk.freshness import silence_limit
from core.journal import Backlog
from core.model import ConnectionState, SessionHealth, Venue
from gui.widgets.flow import FlowLayout

__all__ = [
    "AMBER",
    "GREEN",
    "HEADROOM_AMBER",
    "HEADROOM_RED",
    "JOURNAL_AMBER_S",
    "JOURNAL_RED_S",
    "RED",
    "RTT_AMBER_MS",
    "RTT_RED_MS",
    "RTT_SETTLED_SAMPLES",
    "SILENCE_RED_FACTOR",
    "SKEW_AMBER_MS",
    "SKEW_RED_MS",
    "HealthFigure",
    "HealthPanel",
    "HealthStrip",
    "fmt_age",
    "fmt_skew",
    "health_figures",
    "journal_figure",
]

GREEN, AMBER, RED = "#1b9e4b", "#d99a00", "#d32f2f"

# The health thresholds (this module's docstring says why each is where it is).
RTT_AMBER_MS, RTT_RED_MS = 500.0, 2000.0
RTT_SETTLED_SAMPLES = 3  # round trips measured before the RTT figure is coloured
SKEW_AMBER_MS, SKEW_RED_MS = 500.0, 2000.0
HEADROOM_AMBER, HEADROOM_RED = 0.25, 0.05
SILENCE_RED_FACTOR = 3.0  # silent for this many keep-alive periods: red
JOURNAL_AMBER_S, JOURNAL_RED_S = 0.5, 2.0  # age of the oldest record not yet written


def fmt_skew(ms: float) -> str:
    """Venue clock minus ours: "+120 ms" means the venue is ahead."""
    return f"{round(ms):+d} ms"



def fmt_age(seconds: float) -> str:
    """"0.4 s", "12 s", "3 min": the age of the last message, short enough for the strip."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


@dataclass(frozen=True, slots=True)
class HealthFigure:
    """One figure of an account's health: its name, what the strip shows, its tone ("good",
    "warn", "bad", or "" when unknown) and what its tooltip explains."""

    name: str  # state | last | rtt | skew | rate
    text: str
    tone: str
    tip: str


def _worse(*tones: str) -> str:
    order = {"": 0, "good": 1, "warn": 2, "bad": 3}
    return max(tones, key=lambda t: order[t]) if tones else ""


def health_figures(
    state: ConnectionState, health: SessionHealth | None, now: float
) -> list[HealthFigure]:
    """The strip's five figures for one account, with their tones by the thresholds in this
    module's docstring. ``now`` is time.monotonic(), the clock of ``last_message_at``."""
    h = health or SessionHealth(connected=False)
    keepalive = h.keepalive_s
    quiet = None if h.last_message_at is None else max(0.0, now - h.last_message_at)
    silence = ""
    if quiet is not None and keepalive is not None and state is ConnectionState.CONNECTED:
        if quiet > keepalive * SILENCE_RED_FACTOR:
            silence = "bad"
        elif quiet > silence_limit(keepalive):
            silence = "warn"

    if state is ConnectionState.CONNECTED and silence:
        state_fig = HealthFigure(
            "state", "stale", silence,
            f"Connected, but nothing heard for {quiet:.0f} s (keep-alive {keepalive:g} s): the "
            "socket looks open, yet its numbers may be out of date")
    else:
        tone = {ConnectionState.CONNECTED: "good", ConnectionState.CONNECTING: "warn"}.get(
            state, "bad")
        state_fig = HealthFigure("state", state.value, tone, f"Connection: {state.value}")

    if quiet is None:
        last = HealthFigure("last", "last msg —", "", "Nothing received yet")
    else:
        limit = f"keep-alive {keepalive:g} s" if keepalive is not None else "no keep-alive known"
        last = HealthFigure(
            "last", f"last msg {fmt_age(quiet)}", silence or "good",
            f"Last message from the venue {quiet:.1f} s ago ({limit}; amber past "
            f"{silence_limit(keepalive):g} s, red past {keepalive * SILENCE_RED_FACTOR:g} s)"
            if keepalive is not None else f"Last message from the venue {quiet:.1f} s ago")

    if h.rtt_ms is None:
        rtt = HealthFigure("rtt", "RTT —", "", "REST round trip: not measured yet")
    else:
        what = (f"Last REST round trip on the wire {h.rtt_ms:.0f} ms (from the request's write "
                "to the first byte of the reply; the app's own delays are not in it)")
        if h.rtt_samples is not None and h.rtt_samples < RTT_SETTLED_SAMPLES:
            # A connection's first trips (connect, warm-up) say little: shown, not judged.
            rtt = HealthFigure(
                "rtt", f"RTT {h.rtt_ms:.0f} ms", "",
                f"{what}. Not coloured until {RTT_SETTLED_SAMPLES} round trips are in "
                f"({h.rtt_samples} so far).")
        else:
            tone = ("bad" if h.rtt_ms >= RTT_RED_MS
                    else "warn" if h.rtt_ms >= RTT_AMBER_MS else "good")
            rtt = HealthFigure(
                "rtt", f"RTT {h.rtt_ms:.0f} ms", tone,
                f"{what}; amber from {RTT_AMBER_MS:.0f} ms, red from {RTT_RED_MS:.0f} ms.")

    if h.skew_ms is None:
        skew = HealthFigure("skew", "skew —", "",
                            "Clock skew: not measured (the venue has no time endpoint, or it "
                            "was not asked yet)")
    else:
        size = abs(h.skew_ms)
        tone = "bad" if size > SKEW_RED_MS else "warn" if size > SKEW_AMBER_MS else "good"
        skew = HealthFigure(
            "skew", f"skew {fmt_skew(h.skew_ms)}", tone,
            f"Venue clock minus ours: {fmt_skew(h.skew_ms)} (amber beyond ±{SKEW_AMBER_MS:.0f} "
            f"ms, red beyond ±{SKEW_RED_MS:.0f} ms)")

    if h.rate_headroom is None:
        rate = HealthFigure("rate", "rate —", "",
                            "Rate-limit headroom: unknown (the venue publishes no budget; it "
                            "shows 0 % while a rate-limit wait lasts)")
    else:
        pct = h.rate_headroom * 100
        tone = ("bad" if h.rate_headroom < HEADROOM_RED
                else "warn" if h.rate_headroom < HEADROOM_AMBER else "good")
        rate = HealthFigure(
            "rate", f"rate {pct:.0f} %", tone,
            f"Rate-limit budget left: {pct:.0f} % (amber below {HEADROOM_AMBER:.0%}, red below "
            f"{HEADROOM_RED:.0%})")
    return [state_fig, last, rtt, skew, rate]


def journal_figure(backlog: Backlog, failure: BaseException | None) -> HealthFigure | None:
    """The journal's figure by the thresholds in this module's docstring; None while the
    journal keeps up (nothing to say)."""
    if failure is not None:
        return HealthFigure(
            "journal", "journal stopped", "bad",
            f"The journal stopped writing: {failure}. Nothing more is recorded, so the window "
            "shows nothing new and no close is sent. Check the disk, then restart Closeout")
    if backlog.oldest_s < JOURNAL_AMBER_S:
        return None
    tone = "bad" if backlog.oldest_s >= JOURNAL_RED_S else "warn"
    return HealthFigure(
        "journal", f"journal {fmt_age(backlog.oldest_s)} behind", tone,
        f"The journal is behind: {backlog.records:,} records wait to be written, the oldest for "
        f"{backlog.oldest_s:.1f} s. Nothing is dropped; what they describe is shown once it is "
        f"written (amber from {JOURNAL_AMBER_S:g} s, red from {JOURNAL_RED_S:g} s)")


class HealthPanel(QFrame):
    """One account's health, visible at a glance: a dot in the worst tone, the account, and
    its five figures, each in its own tone; each figure's tooltip says what it means."""

    def __init__(self, account: str, venue: Venue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.account = account
        self.venue = venue
        self.tone = ""
        self.figures: list[HealthFigure] = []
        self.setObjectName("healthPanel")
        self.setAccessibleName(f"{account} health")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        layout.setSpacing(7)
        self.dot = QLabel(self)
        self.dot.setObjectName("healthDot")
        self.dot.setFixedSize(9, 9)
        self.name = QLabel(account, self)
        self.name.setObjectName("healthName")
        layout.addWidget(self.dot)
        layout.addWidget(self.name)
        self.labels: dict[str, QLabel] = {}
        for name in ("state", "last", "rtt", "skew", "rate"):
            label = QLabel(self)
            label.setObjectName(f"health_{name}")
            layout.addWidget(label)
            self.labels[name] = label

    def set_figures(self, figures: list[HealthFigure]) -> None:
        if figures == self.figures:
            return
        self.figures = figures
        for fig in figures:
            label = self.labels[fig.name]
            label.setText(fig.text)
            label.setToolTip(fig.tip)
            label.setAccessibleName(f"{self.account} {fig.name}")
            label.setAccessibleDescription(fig.tip)
            _set_tone(label, fig.tone)
        tone = _worse(*(f.tone for f in figures))
        if tone != self.tone:
            self.tone = tone
            colour = {"good": GREEN, "warn": AMBER, "bad": RED}.get(tone, "#9aa1ab")
            self.dot.setStyleSheet(f"background-color: {colour}; border-radius: 4px;")
            _set_tone(self, tone)
        self.setToolTip(f"{self.venue.label} — {self.account}\n"
                        + "\n".join(f.tip for f in figures))

    def text(self) -> str:
        """Everything the panel shows, in one line (tests, accessibility)."""
        return " · ".join([self.account, *(f.text for f in self.figures)])


def _set_tone(widget: QWidget, tone: str) -> None:
    if widget.property("tone") != tone:
        widget.setProperty("tone", tone)
        widget.style().unpolish(widget)
        widget.style().polish(widget)


class HealthStrip(QFrame):
    """The health of every account, in a strip under the header: not a tooltip, so frozen data
    is seen without hovering. Its panels wrap onto another row when the window is narrow, each
    shown whole (never cut mid-word at the edge)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("healthStrip")
        self.setAccessibleName("Venue health")
        self._layout = FlowLayout(self, spacing=6)
        self._layout.setContentsMargins(10, 3, 10, 3)
        caption = QLabel("Health", self)
        caption.setObjectName("healthCaption")
        self._layout.addWidget(caption)
        self.journal = QLabel(self)  # the journal's figure, shown only when it says something
        self.journal.setObjectName("healthJournal")
        self.journal.setAccessibleName("Journal")
        self.journal.hide()
        self.journal_figure: HealthFigure | None = None
        self._layout.addWidget(self.journal)
        self.panels: dict[str, HealthPanel] = {}

    def panel(self, account: str, venue: Venue) -> HealthPanel:
        panel = self.panels.get(account)
        if panel is None:
            panel = HealthPanel(account, venue, self)
            self.panels[account] = panel
            self._layout.addWidget(panel)
        return panel

    def update_account(
        self,
        account: str,
        venue: Venue,
        state: ConnectionState,
        health: SessionHealth | None,
        now: float,
    ) -> HealthPanel:
        panel = self.panel(account, venue)
        panel.set_figures(health_figures(state, health, now))
        return panel

    def update_journal(self, figure: HealthFigure | None) -> None:
        if figure == self.journal_figure:
            return
        self.journal_figure = figure
        if figure is None:
            self.journal.hide()
            return
        self.journal.setText(figure.text)
        self.journal.setToolTip(figure.tip)
        self.journal.setAccessibleDescription(figure.tip)
        _set_tone(self.journal, figure.tone)
        self.journal.show()

    def remove(self, account: str) -> None:
        panel = self.panels.pop(account, None)
        if panel is not None:
            self._layout.removeWidget(panel)
            panel.hide()
            panel.deleteLater()
