"""Another desk's lease, in a close dialog (team mode): who holds it, since when and when it
runs out; "Wait for it", and "Send anyway…" with a typed reason.

Nothing here ever sends by itself. Waiting only watches: when the other desk is done, the panel
says so and the user presses Send again. An override needs a reason typed and one click on a
button that says whose lease it takes; the dialog then sends once, with that reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.closing.form import REASON_MAX, one_line
from core.desk.coordination import CoordinationDown, Holder, LeaseHeld

__all__ = ["OVERRIDE_REASON_MIN", "LeasePanel", "holder_now", "override_reason_error"]

# Long enough to say something a colleague can act on ("dup of desk 3"), short enough to type.
OVERRIDE_REASON_MIN = 5


def holder_now(holder: Holder, elapsed: float) -> str:
    """The holder's line ``elapsed`` seconds after the refusal that reported it: held that much
    longer, and that much closer to running out (as far as this desk knows)."""
    return replace(holder, held_for_s=holder.held_for_s + elapsed,
                   expires_in_s=holder.expires_in_s - elapsed).text()


def override_reason_error(text: str) -> str | None:
    """Why a typed override reason cannot be used, or None when it can."""
    reason = one_line(text) or ""
    if len(reason) < OVERRIDE_REASON_MIN:
        return f"Type why you send anyway (at least {OVERRIDE_REASON_MIN} characters)."
    if len(reason) > REASON_MAX:
        return f"The reason is too long (at most {REASON_MAX} characters)."
    return None


class _ReasonInput(QLineEdit):
    """Enter here answers the override only: it never reaches the dialog's Send button."""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        super().keyPressEvent(event)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()


class LeasePanel(QFrame):
    """Shown when a close was refused by another desk's lease or by an unreachable team
    database. ``elsewhere`` says which desk is closing the position now (None: nobody);
    ``clock`` times the countdown (tests move it by hand)."""

    waitChanged = Signal(bool)  # True while waiting for the other desk
    overrideAsked = Signal(str)  # the typed reason: send once, overriding

    def __init__(self, elsewhere: Callable[[], str | None] | None = None, *,
                 clock: Callable[[], float] = time.monotonic,
                 cancels: Callable[[], int] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("leasePanel")
        self.setAccessibleName("Another desk may be closing this")
        self._elsewhere = elsewhere or (lambda: None)
        # How many cancels an override would send before the close (the close dialog's
        # "Cancel them first"); each takes the lease with the same reason.
        self._cancels = cancels or (lambda: 0)
        self.clock = clock
        self.holder: Holder | None = None
        self._since = 0.0
        self.waiting = False
        root = QVBoxLayout(self)
        root.setContentsMargins(10, 8, 10, 8)
        root.setSpacing(6)
        self.leaseMessage = QLabel(self)
        self.leaseMessage.setObjectName("leaseMessage")
        self.leaseMessage.setWordWrap(True)
        root.addWidget(self.leaseMessage)
        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        buttons.addStretch(1)
        self.waitButton = QPushButton("Wait for it", self)
        self.waitButton.setObjectName("leaseWaitButton")
        self.waitButton.setAutoDefault(False)
        self.waitButton.setToolTip("Send nothing; say when the other desk is done")
        self.waitButton.clicked.connect(self.wait)
        buttons.addWidget(self.waitButton)
        self.overrideButton = QPushButton("Send anyway…", self)
        self.overrideButton.setObjectName("leaseOverrideButton")
        self.overrideButton.setAutoDefault(False)
        self.overrideButton.clicked.connect(self.ask_reason)
        buttons.addWidget(self.overrideButton)
        root.addLayout(buttons)
        # The override: a typed reason, then one button that says whose lease it takes.
        self.overrideBox = QWidget(self)
        box = QVBoxLayout(self.overrideBox)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(4)
        row = QHBoxLayout()
        row.setSpacing(8)
        self.reasonInput = _ReasonInput(self.overrideBox)
        self.reasonInput.setObjectName("overrideReasonInput")
        self.reasonInput.setAccessibleName("Why send anyway")
        self.reasonInput.setPlaceholderText("Why send anyway (journaled with the close)")
        self.reasonInput.setMaxLength(REASON_MAX)
        self.reasonInput.textChanged.connect(self._reason_edited)
        self.reasonInput.returnPressed.connect(self.confirm_override)
        row.addWidget(self.reasonInput, 1)
        self.confirmOverrideButton = QPushButton(self.overrideBox)
        self.confirmOverrideButton.setObjectName("confirmOverrideButton")
        self.confirmOverrideButton.setAutoDefault(False)
        self.confirmOverrideButton.clicked.connect(self.confirm_override)
        row.addWidget(self.confirmOverrideButton)
        box.addLayout(row)
        self.overrideNote = QLabel(self.overrideBox)
        self.overrideNote.setObjectName("overrideNote")
        self.overrideNote.setWordWrap(True)
        box.addWidget(self.overrideNote)
        self.reasonError = QLabel(self.overrideBox)
        self.reasonError.setObjectName("overrideReasonError")
        self.reasonError.setWordWrap(True)
        box.addWidget(self.reasonError)
        root.addWidget(self.overrideBox)
        self.overrideBox.setVisible(False)
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.tick)
        self.setVisible(False)

    # ------------------------------------------------------------------ refusals
    def refused(self, exc: LeaseHeld | CoordinationDown) -> None:
        """A close was refused before anything was sent: say by whom (or that nobody could be
        asked), and offer to wait or to send anyway."""
        self.holder = exc.holder if isinstance(exc, LeaseHeld) else None
        self._since = self.clock()
        self._set_waiting(False)
        self.overrideBox.setVisible(False)
        self.reasonInput.clear()
        self.waitButton.setVisible(self.holder is not None)
        self.overrideButton.setVisible(True)
        self.overrideButton.setEnabled(True)
        if self.holder is not None:
            self._timer.start()
        else:
            self._timer.stop()
        self._name_override()
        self.tick()
        self.setVisible(True)

    def message(self) -> str:
        if self.holder is None:
            return ("The team database cannot be reached, so no other desk could be asked "
                    "whether it is closing this. Nothing was sent.")
        line = holder_now(self.holder, self.clock() - self._since)
        if self.waiting:
            return f"{line}. Waiting for {self.holder.desk_name} to finish; nothing is sent."
        return f"{line}. Nothing was sent."

    def tick(self) -> None:
        """Redraw the countdown (once a second while shown)."""
        self.leaseMessage.setText(self.message())
        self.leaseMessage.setAccessibleDescription(self.leaseMessage.text())

    # ------------------------------------------------------------------ waiting
    def wait(self) -> None:
        """Send nothing; watch for the other desk to be done (``elsewhere_changed``)."""
        if self.holder is None:
            return
        self.overrideBox.setVisible(False)
        self._set_waiting(True)
        self.tick()
        if self._elsewhere() is None:  # done already, before the wait began
            self.elsewhere_changed(None)

    def elsewhere_changed(self, desk: str | None, holder: Holder | None = None) -> None:
        """The desk heard that another desk started or stopped closing this position, or
        renewed its lease (``holder``: the countdown starts again from its new figures)."""
        if holder is not None and self.holder is not None \
                and holder.desk_id == self.holder.desk_id:
            self.holder, self._since = holder, self.clock()
            self.tick()
        if not self.waiting or desk is not None:
            return
        name = self.holder.desk_name if self.holder is not None else "The other desk"
        self._timer.stop()
        self._set_waiting(False)
        self.holder = None
        self.waitButton.setVisible(False)
        self.overrideButton.setVisible(False)
        self.overrideBox.setVisible(False)
        text = (f"{name} is done with this position. Nothing was sent: check it and press "
                "Send to close what is left.")
        self.leaseMessage.setText(text)
        self.leaseMessage.setAccessibleDescription(text)

    def _set_waiting(self, waiting: bool) -> None:
        if waiting != self.waiting:
            self.waiting = waiting
            self.waitChanged.emit(waiting)
        self.waitButton.setEnabled(not waiting)
        self.waitButton.setText("Waiting…" if waiting else "Wait for it")

    # ------------------------------------------------------------------ override
    def _name_override(self) -> None:
        """The override button says what it sends and whose lease it takes."""
        n = self._cancels()
        what = f"cancel {n}, then close" if n else "send"
        if self.holder is not None:
            text = f"Override {self.holder.desk_name}'s lease and {what}"
        else:
            text = f"{what[0].upper()}{what[1:]} without a lease"
        self.confirmOverrideButton.setText(text)
        self.confirmOverrideButton.setAccessibleName(text)

    def ask_reason(self) -> None:
        """"Send anyway…": the reason field and the button that says whose lease it takes."""
        self._set_waiting(False)
        self.tick()
        self._name_override()
        self.overrideNote.setText(self._override_note())
        self.overrideBox.setVisible(True)
        self._reason_edited(self.reasonInput.text())
        self.reasonInput.setFocus()

    def _reason_edited(self, text: str) -> None:
        error = override_reason_error(text)
        self.confirmOverrideButton.setEnabled(error is None)
        self.reasonError.setText(error or "")
        self.reasonError.setVisible(error is not None)

    def _override_note(self) -> str:
        n = self._cancels()
        orders = f"the {n} working order{'s' if n != 1 else ''}"
        if self.holder is None:
            if n:
                return (f"The cancels of {orders} and the close are sent without a lease: "
                        "another desk could send a close of it too. Each is journaled with "
                        "your reason.")
            return "Sent without a lease: another desk could send a close of it too."
        name = self.holder.desk_name
        if n:
            return (f"The cancels of {orders} and then the close each override {name}'s "
                    f"lease: {name} may be closing this position too. Each override is "
                    "journaled with your reason.")
        return (f"This overrides {name}'s lease: {name} may be closing this position too. The "
                "override is journaled with your reason.")

    def confirm_override(self) -> None:
        if not self.overrideBox.isVisible() or override_reason_error(self.reasonInput.text()):
            return
        reason = one_line(self.reasonInput.text())
        assert reason is not None
        self.overrideAsked.emit(reason)

    def clear(self) -> None:
        """The refusal is over (sent, or a new attempt): hide the panel."""
        self._timer.stop()
        self._set_waiting(False)
        self.holder = None
        self.overrideBox.setVisible(False)
        self.setVisible(False)
