"""The quick close: one confirmation, then a full close at market.

Used for a full close from the keyboard (Ctrl+Shift+C on a row) and for Close residual. The
freshness guard applies as in the close dialog: if the position changed, it says what changed
and the user confirms again. Opened with ``open()``, never ``exec()``.

The confirmation names the symbol, the position's side and its size, and ignores Enter (and
Space) for ``ENTER_GUARD_S`` after it appears: a key pressed twice in a hurry, or still held
from the shortcut, must not confirm a close the user has not read.
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.closing.words import describe, quantity_text
from core.desk import AlreadyPending, PositionChanged
from core.desk.coordination import CoordinationDown, Holder, LeaseHeld
from core.model import CloseRequest, Environment, Instrument, Position, new_client_order_id
from core.venue import CloseRejected
from gui.bridge import TaskTracker
from gui.dialogs.close.callbacks import Guard, Override, Preview, Submit
from gui.dialogs.close.lease import LeasePanel
from gui.dialogs.close.text import changed_text, failure_text, refusal_text, stale_question
from gui.models import env_label
from gui.widgets import EnvChip

__all__ = ["ENTER_GUARD_S", "QuickCloseDialog"]

ENTER_GUARD_S = 0.3  # a fresh confirmation ignores Enter for this long
_ACCEPT_KEYS = frozenset({Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space})
_WIDTH = 440


class QuickCloseDialog(QDialog):
    """One confirmation, then a full close at market: Ctrl+Shift+C on a row, and Close
    residual. The freshness guard applies: if the position changed, it says what changed and
    the user confirms again."""

    sendSettled = Signal(bool)
    alreadyPending = Signal(object)

    def __init__(
        self,
        position: Position,
        submit: Submit,
        *,
        title: str,
        action: str,
        tracker: TaskTracker | None = None,
        preview: Preview | None = None,
        guard: Guard | None = None,
        environment: Environment | None = None,
        stale_age: float | None = None,
        note: str = "",
        reason: str | None = None,
        instrument: Instrument | None = None,
        clock: Callable[[], float] = time.monotonic,
        override: Override | None = None,
        elsewhere: Callable[[], str | None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("quickCloseDialog")
        self._override = override
        self._clock = clock
        self._armed_from: float | None = None  # when Enter starts to confirm (set when shown)
        self.reason = reason
        self.instrument = instrument
        self.position = position
        self.environment = environment
        self._submit = submit
        self._preview = preview
        self._guard = guard
        self._tracker = tracker if tracker is not None else TaskTracker(self)
        self._task: asyncio.Task[None] | None = None
        self._result: asyncio.Future[int] | None = None
        self._busy = False
        self._flat = False
        self.action = action
        key = position.key
        self.setWindowTitle(f"{title} — {key.account}")
        self.setAccessibleName(title)
        self.setModal(True)
        root = QVBoxLayout(self)
        root.setContentsMargins(16, 14, 16, 12)
        root.setSpacing(8)
        # The dialog is exactly as tall as what it shows: no empty band under the buttons,
        # and it grows when a message appears.
        root.setSizeConstraint(QLayout.SizeConstraint.SetFixedSize)
        head = QHBoxLayout()
        heading = QLabel(title, self)
        heading.setObjectName("dialogTitle")
        head.addWidget(heading)
        self.envChip = EnvChip(environment, self)
        head.addWidget(self.envChip)
        head.addStretch(1)
        root.addLayout(head)
        if stale_age is not None:
            self.staleMessage = QLabel(f"<b>{stale_question(stale_age)}</b>", self)
        else:
            self.staleMessage = QLabel(self)
        self.staleMessage.setObjectName("staleMessage")
        self.staleMessage.setVisible(stale_age is not None)
        root.addWidget(self.staleMessage)
        self.positionLine = QLabel(self)
        self.positionLine.setObjectName("quickPosition")
        self.positionLine.setWordWrap(True)
        self.positionLine.setFixedWidth(_WIDTH - 32)  # the wrapped labels' width sets the dialog's
        root.addWidget(self.positionLine)
        self.summaryLine = QLabel(self)
        self.summaryLine.setObjectName("orderSummary")
        self.summaryLine.setWordWrap(True)
        root.addWidget(self.summaryLine)
        self.noteLine = QLabel(note, self)
        self.noteLine.setObjectName("quickNote")
        self.noteLine.setWordWrap(True)
        self.noteLine.setVisible(bool(note))
        root.addWidget(self.noteLine)
        self.guardMessage = QLabel(self)
        self.guardMessage.setObjectName("guardMessage")
        self.guardMessage.setWordWrap(True)
        self.guardMessage.setVisible(False)
        root.addWidget(self.guardMessage)
        # Another desk's lease (team mode): who holds it, Wait for it, Send anyway….
        self.leasePanel = LeasePanel(elsewhere, clock=clock, parent=self)
        self.leasePanel.setFixedWidth(_WIDTH - 32)
        self.leasePanel.overrideAsked.connect(self.send_anyway)
        self.leasePanel.waitChanged.connect(lambda _w: self._follow_lease())
        root.addWidget(self.leasePanel)
        self.message = QLabel(self)
        self.message.setObjectName("validationMessage")
        self.message.setProperty("tone", "error")
        self.message.setWordWrap(True)
        self.message.setVisible(False)  # shown with its text: an empty label is a blank band
        root.addWidget(self.message)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancelButton = QPushButton("Cancel", self)
        self.cancelButton.setObjectName("cancelButton")
        self.cancelButton.setAutoDefault(False)
        self.cancelButton.clicked.connect(self.reject)
        self.confirmButton = QPushButton(action, self)
        self.confirmButton.setObjectName("confirmButton")
        self.confirmButton.setAccessibleName(action)
        self.confirmButton.setDefault(True)
        self.confirmButton.clicked.connect(self.confirm)
        buttons.addWidget(self.cancelButton)
        buttons.addWidget(self.confirmButton)
        root.addLayout(buttons)
        self.finished.connect(self._on_finished)
        for widget in (self, self.cancelButton, self.confirmButton):
            widget.installEventFilter(self)
        self._client_order_id = new_client_order_id()
        self._describe()

    @property
    def enter_armed(self) -> bool:
        """Enter confirms only once the confirmation has been on screen ``ENTER_GUARD_S``."""
        return self._armed_from is not None and self._clock() >= self._armed_from

    def _arm(self) -> None:
        self._armed_from = self._clock() + ENTER_GUARD_S

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._arm()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if isinstance(event, QKeyEvent) and event.type() == QEvent.Type.KeyPress \
                and event.key() in _ACCEPT_KEYS and not self.enter_armed:
            event.accept()
            return True  # too soon after the confirmation appeared: swallowed
        return super().eventFilter(watched, event)

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    @property
    def busy(self) -> bool:
        return self._busy

    def request(self) -> CloseRequest:
        pos = self.position
        return CloseRequest(key=pos.key, position_side=pos.side,
                            position_quantity=pos.quantity,
                            client_order_id=self._client_order_id,
                            reason=self.reason)

    def _describe(self) -> None:
        pos = self.position
        key = pos.key
        self.positionLine.setText(
            f"<b>{html.escape(pos.side.value.capitalize())} "
            f"{html.escape(quantity_text(pos.quantity, self.instrument))} "
            f"{html.escape(key.symbol)}</b> — the whole position")
        env = f" ({env_label(self.environment)})" if self.environment is not None else ""
        self.summaryLine.setText(
            f"{html.escape(describe(self.request(), self.instrument))}<br>"
            f"<span style='color:#6b7280'>{key.venue.label} · "
            f"{html.escape(key.account + env)}</span>")

    def update_position(self, position: Position | None) -> None:
        if position is None:
            self._flat = True
            self.confirmButton.setEnabled(False)
            self._say(f"{self.position.key.symbol} is now flat; nothing to close.")

    def confirm(self) -> None:
        if self._busy or self._flat or self.leasePanel.waiting:
            return
        self._start(None)

    def send_anyway(self, reason: str) -> None:
        """The lease panel's override with its typed reason: the guard, then one close."""
        if self._busy or self._flat or self._override is None:
            return
        self._start(reason)

    def elsewhere_changed(self, desk: str | None, holder: Holder | None = None) -> None:
        """Another desk started or stopped closing this position, or renewed its lease (the
        window forwards it)."""
        self.leasePanel.elsewhere_changed(desk, holder)
        self._follow_lease()

    def _follow_lease(self) -> None:
        """No confirming while waiting for the other desk; it says when it is done."""
        self.confirmButton.setEnabled(not self._busy and not self._flat
                                      and not self.leasePanel.waiting)

    def _start(self, override: str | None) -> None:
        request = self.request()
        if self._guard is not None:
            try:
                self._guard(request)
            except PositionChanged as exc:
                self._changed(exc)
                return
        self._busy = True
        self.leasePanel.clear()
        self.confirmButton.setEnabled(False)
        self.confirmButton.setText("Sending…")
        self._task = self._tracker.spawn(self._send(request, override),
                                         name=f"close {request.key}")

    def _changed(self, exc: PositionChanged) -> None:
        self.guardMessage.setText(
            changed_text(exc, self.position, "when you asked")
            + (" Nothing was sent." if exc.current is None
               else " Nothing was sent: confirm again to close what is there now."))
        self.guardMessage.setVisible(True)
        self._arm()  # a new question: Enter waits again before it can confirm it
        if exc.current is None:
            self.update_position(None)
            return
        self.position = exc.current
        self._describe()

    async def _send(self, request: CloseRequest, override: str | None = None) -> None:
        try:
            if override is not None and self._override is not None:
                await self._override(request, override)
            else:
                await self._submit(request)
        except PositionChanged as exc:
            self._idle()
            self._changed(exc)
            self.sendSettled.emit(False)
            return
        except (LeaseHeld, CoordinationDown) as exc:  # nothing was sent
            self._idle()
            self.leasePanel.refused(exc)
            self.leasePanel.overrideButton.setEnabled(self._override is not None)
            self._say("Nothing was sent: another desk may be closing this position."
                      if isinstance(exc, LeaseHeld) else
                      "Nothing was sent: the team database cannot be reached.")
            self.sendSettled.emit(False)
            return
        except (CloseRejected, AlreadyPending) as exc:
            self._idle()
            self._say(refusal_text(exc))
            if isinstance(exc, AlreadyPending):
                self.alreadyPending.emit(exc.intent)
            self.sendSettled.emit(False)
            return
        except Exception as exc:
            self._idle()
            self._say(failure_text(exc))
            self.sendSettled.emit(False)
            raise
        self._busy = False
        self.sendSettled.emit(True)
        if self.isVisible():
            self.accept()

    def _idle(self) -> None:
        self._busy = False
        self._client_order_id = new_client_order_id()  # a new attempt is a new request
        self.confirmButton.setText(self.action)
        self.confirmButton.setEnabled(not self._flat)
        self._describe()

    def result_future(self) -> asyncio.Future[int]:
        if self._result is None:
            self._result = asyncio.get_running_loop().create_future()
        return self._result

    def _on_finished(self, code: int) -> None:
        if self._result is not None and not self._result.done():
            self._result.set_result(code)
