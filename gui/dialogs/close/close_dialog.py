"""The close dialog: how much, at what price, on what trigger — checked before anything is sent.

Opened with ``open()`` (never ``exec()``: that would nest a Qt loop under the asyncio loop).
Bad input is refused at the field that caused it and nothing is sent. The venue's
capabilities decide which controls are enabled, and a disabled control says why in its tooltip.

What the user sees is what is sent:

* a number that rounding to the venue's lot or tick changes shows "will send X" beside its
  field, and exactly X is sent (quantities round down; a limit rounds away from the book, so it
  is never worse than typed; a trigger rounds to the nearest tick);
* the wire request (redacted) updates live, and "Copy for ticket" puts it on the clipboard;
* at Send the position is re-read from the live book (the *freshness guard*): if its side
  changed, or it shrank below the quantity, or a full close would now close a different size,
  nothing is sent, the dialog says what changed and the user presses Send again; a quantity is
  clamped only when the user presses "Clamp to N";
* data older than the stale threshold, and the confirmation policy (always / large or live /
  never), ask for one more click in the buttons' place — never a nested dialog;
* the orders working on the position are listed, with "Cancel them first" (ticked for a full
  close): each cancel's exact request is in the preview, the cancels go one at a time, and the
  close is sent only once the venue has confirmed every one (see core.flatten.cancels).

The dialog composes its parts: the position summary, the guard and confirmation panels, the
form (fields, capabilities, trigger helper) and the preview. It owns the position and the send.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from decimal import Decimal

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from core.closing.form import Checked, one_line, preset_quantity, read
from core.closing.rules import FieldName
from core.closing.words import quantity_text
from core.desk import AlreadyPending, PositionChanged
from core.desk.coordination import CoordinationDown, Holder, LeaseHeld
from core.flatten import CancelFirst, Cancels, order_words
from core.model import (
    Capabilities,
    CloseRequest,
    Environment,
    Instrument,
    MarkUpdate,
    Position,
    TimeInForce,
    TriggerEvent,
    WorkingOrder,
    new_client_order_id,
)
from core.numbers import number_format
from core.settings import Preferences
from core.venue import CloseRejected
from gui.bridge import TaskTracker
from gui.dialogs.close.callbacks import DataAge, Guard, Override, Preview, Submit
from gui.dialogs.close.form import CloseForm
from gui.dialogs.close.freshness import Freshness
from gui.dialogs.close.lease import LeasePanel
from gui.dialogs.close.panels import ActionArea, GuardPanel
from gui.dialogs.close.preview import PreviewPanel
from gui.dialogs.close.summary import PositionSummary
from gui.dialogs.close.text import failure_text, refusal_text, ticket_text
from gui.dialogs.close.working import WorkingOrdersPanel
from gui.models import env_label
from gui.widgets import EnvChip

__all__ = ["SENDING_REDRAW_S", "CloseDialog"]

# One frame at 60 Hz: later than that a user could see the click go unanswered.
SENDING_REDRAW_S = 0.016

_PRESET_KEYS = {Qt.Key.Key_1: 25, Qt.Key.Key_2: 50, Qt.Key.Key_3: 75, Qt.Key.Key_4: 100}


class CloseDialog(QDialog):
    """Build one CloseRequest and hand it to ``submit``; stay open on refusal.

    ``guard`` is the freshness guard (``Desk.check``), ``data_age`` how old the row's venue
    data is, ``preferences`` the confirmation policy and stale threshold.
    """

    sendSettled = Signal(bool)  # True when submit returned, False when it raised
    alreadyPending = Signal(object)  # the CloseIntent a send joined (nothing new was sent)
    reported = Signal(str)  # what a send did, for the window to say once the dialog is gone

    def __init__(
        self,
        position: Position,
        capabilities: Capabilities,
        instrument: Instrument | None,
        submit: Submit,
        *,
        tracker: TaskTracker | None = None,
        preview: Preview | None = None,
        environment: Environment | None = None,
        preferences: Preferences | None = None,
        guard: Guard | None = None,
        data_age: DataAge | None = None,
        mark: MarkUpdate | None = None,
        cancel_first: CancelFirst | None = None,
        override: Override | None = None,
        elsewhere: Callable[[], str | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("closeDialog")
        self._override = override
        self._elsewhere = elsewhere
        self._clock = clock
        self.position = position
        self._freshness = Freshness(position, guard, data_age)
        self.environment = environment
        self.caps = capabilities
        self.instrument = instrument
        self.preferences = preferences if preferences is not None else Preferences()
        self._submit = submit
        self._mark = mark
        self._cancel_first = cancel_first
        self._tracker = tracker if tracker is not None else TaskTracker(self)
        self._busy = False
        self._flat = False
        self._confirming: CloseRequest | None = None
        self._last_request: CloseRequest | None = None
        self._task: asyncio.Task[None] | None = None
        self._result: asyncio.Future[int] | None = None
        # One id per attempt, so the preview shows the id that is sent; every send attempt
        # takes a fresh one afterwards (a new request is never a resend of the old id).
        self._client_order_id = new_client_order_id()
        key = position.key
        env = f" ({env_label(environment)})" if environment is not None else ""
        self.setWindowTitle(f"Close {key.symbol} — {key.account}{env}")
        self.setAccessibleName(f"Close {key.symbol} on {key.account}")
        self.setModal(True)
        self._build(preview)
        self.positionSummary.fill(position, instrument)
        self.workingPanel.show_orders(self._working_now(), position.key.symbol,
                                      number_format(instrument))
        if self.workingPanel.orders:  # each cancel's request shows above the close's
            self.preview.show_lines(16)
        self.quantityInput.setText(self._qty_text(position.quantity))
        self.form.edited.connect(self._on_edit)
        self.finished.connect(self._on_finished)
        self.validate()
        self.actionArea.polish_pages()
        width = max(600, self.sizeHint().width())
        # As tall as the rows need at that width (wrapped text measured there), no taller.
        height = self.heightForWidth(width) if self.hasHeightForWidth() else -1
        self.resize(width, height if height > 0 else self.sizeHint().height())

    # ------------------------------------------------------------------ layout
    def _build(self, preview: Preview | None) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(18, 16, 18, 14)
        root.setSpacing(10)

        title_row = QHBoxLayout()
        title_row.setSpacing(8)
        title = QLabel(f"Close {self.position.key.symbol}", self)
        title.setObjectName("dialogTitle")
        title_row.addWidget(title)
        # Which environment this close goes to, as everywhere else: LIVE red, and so on.
        self.envChip = EnvChip(self.environment, self)
        # Its own size, whatever the row around it does.
        self.envChip.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        title_row.addWidget(self.envChip, 0, Qt.AlignmentFlag.AlignVCenter)
        title_row.addStretch(1)
        root.addLayout(title_row)

        self.positionSummary = PositionSummary(self)
        root.addWidget(self.positionSummary)

        # The freshness guard's answer: what changed, and (for a shrunk partial) Clamp to N.
        self.guardPanel = GuardPanel(self)
        self.guardMessage = self.guardPanel.guardMessage
        self.clampButton = self.guardPanel.clampButton
        self.clampButton.clicked.connect(self.clamp)
        root.addWidget(self.guardPanel)

        # Another desk's lease (team mode): who holds it, Wait for it, Send anyway….
        self.leasePanel = LeasePanel(self._elsewhere, clock=self._clock,
                                     cancels=lambda: len(self._still_to_cancel()), parent=self)
        self.leasePanel.overrideButton.setEnabled(self._override is not None)
        self.leasePanel.overrideAsked.connect(self.send_anyway)
        self.leasePanel.waitChanged.connect(lambda _w: self.validate())
        root.addWidget(self.leasePanel)

        # What is resting on this position at the venue, and "Cancel them first".
        self.workingPanel = WorkingOrdersPanel(self)
        self.cancelFirstInput = self.workingPanel.cancelFirstInput
        self.workingPanel.toggled.connect(self._on_edit)
        root.addWidget(self.workingPanel)

        self.form = form = CloseForm(self.caps, self.instrument, self.position.key.venue.label,
                                     self)
        self.quantityInput = form.quantityInput
        self.quantityWillSend = form.quantityWillSend
        self.presetButtons = form.presetButtons
        self.dustPanel = form.dustPanel
        self.dustMessage = form.dustMessage
        self.closeAllButton = form.closeAllButton
        self.limitPriceInput = form.limitPriceInput
        self.limitWillSend = form.limitWillSend
        self.timeInForceInput = form.timeInForceInput
        self.triggerPriceInput = form.triggerPriceInput
        self.triggerWillSend = form.triggerWillSend
        self.triggerEventInput = form.triggerEventInput
        self.referencePrices = form.triggerHelper.referencePrices
        self.triggerHint = form.triggerHelper.triggerHint
        self.triggerWarning = form.triggerHelper.triggerWarning
        self.closeOnTriggerInput = form.closeOnTriggerInput
        self.closeOnTriggerNote = form.closeOnTriggerNote
        self.reasonInput = form.reasonInput
        form.presetChosen.connect(self.apply_preset)
        form.grew.connect(self._fit)
        root.addWidget(form)

        self.preview = PreviewPanel(preview, self.instrument, self)
        self.summaryLine = self.preview.summaryLine
        self.previewTitle = self.preview.previewTitle
        self.copyTicketButton = self.preview.copyTicketButton
        self.previewText = self.preview.previewText
        self.copyTicketButton.clicked.connect(self.copy_for_ticket)
        root.addWidget(self.preview)

        # The message line and the buttons; a confirmation takes their place, moving nothing.
        self.actionArea = actions = ActionArea(self)
        self.validationMessage = actions.validationMessage
        self.confirmPanel = actions.confirmPanel
        self.confirmMessage = self.confirmPanel.confirmMessage
        self.confirmBackButton = self.confirmPanel.confirmBackButton
        self.confirmButton = self.confirmPanel.confirmButton
        self.confirmBackButton.clicked.connect(self.cancel_confirmation)
        self.confirmButton.clicked.connect(self.confirm)
        self.shortcutHint = actions.shortcutHint
        self.cancelButton = actions.cancelButton
        self.cancelButton.clicked.connect(self.reject)
        self.sendButton = actions.sendButton
        self.sendButton.setDefault(True)
        self.sendButton.clicked.connect(self.send)
        root.addWidget(actions)

    def _fit(self) -> None:
        """Grow to fit a panel that just appeared, rather than squeeze the fields under it."""
        hint = self.sizeHint()
        if hint.height() > self.height() or hint.width() > self.width():
            self.resize(max(self.width(), hint.width()), max(self.height(), hint.height()))

    def _refresh_controls(self) -> None:
        self.form.update_dependent_controls(idle=not self._busy and not self._flat)

    # ------------------------------------------------------------------ live updates
    @property
    def seen(self) -> Position:
        """The position as the user last acknowledged it; the request carries it."""
        return self._freshness.seen

    @seen.setter
    def seen(self, position: Position) -> None:
        self._freshness.seen = position

    def update_position(self, position: Position | None) -> None:
        """The position moved while the dialog is open: show it; a flat one can't be sent."""
        if position is None:
            self._flat = True
            self.sendButton.setEnabled(False)
            self.cancel_confirmation()
            self._refresh_controls()
            self._show_message(
                f"{self.position.key.symbol} is now flat on {self.position.key.account}; "
                "there is nothing left to close."
            )
            return
        full_text = self._qty_text(self.position.quantity)
        untouched = self.quantityInput.text().strip() == full_text
        moved = position.side is not self.position.side or position.quantity != \
            self.position.quantity
        self.position = position
        self.positionSummary.fill(position, self.instrument)
        if untouched and full_text != self._qty_text(position.quantity):
            self.quantityInput.setText(self._qty_text(position.quantity))
        else:
            self.validate()
        if moved and self._freshness.moved(position):
            # Said at once; Send then stops once more to ask (the freshness guard).
            self.show_changed(self._freshness.changed(position), acknowledge=False)
        elif moved and not self._confirming:
            self.guardPanel.setVisible(False)

    def update_mark(self, mark: MarkUpdate) -> None:
        """A new mark (and index, last) for the trigger helper."""
        self._mark = mark
        self.form.show_trigger_hint(self.position, mark)

    def set_preferences(self, preferences: Preferences) -> None:
        self.preferences = preferences

    # ------------------------------------------------------------------ presets
    def apply_preset(self, percent: int) -> None:
        qty = preset_quantity(self.position.quantity, Decimal(percent), self.instrument)
        self.quantityInput.setText(self._qty_text(qty))

    def _qty_text(self, qty: Decimal) -> str:
        """A quantity as the table writes it: the lot's decimals (core.numbers)."""
        return quantity_text(qty, self.instrument)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Ctrl+1..4 also when the key reaches the dialog itself (the shortcuts normally take
        it first; synthetic key events skip the shortcut map)."""
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if mods == Qt.KeyboardModifier.ControlModifier and event.key() in _PRESET_KEYS:
            self.form.press_preset(_PRESET_KEYS[Qt.Key(event.key())])
            event.accept()
            return
        super().keyPressEvent(event)

    # ------------------------------------------------------------------ validation
    def check(self) -> Checked:
        """Read every field; the request, or the error of each bad field (core.closing.form,
        as ``closeout close`` reads its options)."""
        return read(self.form.fields(), self.position, self.caps, self.instrument,
                    seen=self.seen, client_order_id=self._client_order_id)

    def reason(self) -> str | None:
        """The reason or ticket typed, on one line; None when empty."""
        return one_line(self.reasonInput.text())

    def selected_trigger_event(self) -> TriggerEvent:
        return self.form.selected_trigger_event()

    def selected_time_in_force(self) -> TimeInForce | None:
        return self.form.selected_time_in_force()

    def validate(self) -> CloseRequest | None:
        """Re-check on every edit: mark bad fields red and say why; return the request if good."""
        self._refresh_controls()
        checked = self.check()
        self.form.show_check(checked, self.position)
        self.form.show_trigger_hint(self.position, self._mark)
        self._last_request = checked.request
        if self._flat:
            return None
        messages = checked.messages
        if messages:
            self._show_message(next(iter(messages.values())))  # the first, in the fields' order
        elif not self._busy:
            self._show_message("")
        self.sendButton.setEnabled(
            not self._busy and self._confirming is None and checked.request is not None
            and not self.leasePanel.waiting)
        if checked.request is not None and not self._busy:
            self.workingPanel.follow_default(checked.request.quantity is None)
        self.preview.show_request(checked.request, self._cancel_previews())
        return checked.request

    @property
    def errors(self) -> dict[FieldName, str]:
        return self.check().messages

    def ticket_text(self) -> str:
        """The text "Copy for ticket" puts on the clipboard ("" while the input is invalid)."""
        request = self._last_request
        if request is None:
            return ""
        return ticket_text(request, self.preview.wire_text(),
                           environment=self.environment, position=self.position,
                           instrument=self.instrument)

    def copy_for_ticket(self) -> None:
        text = self.ticket_text()
        if text:
            QApplication.clipboard().setText(text)
            self._show_message("Copied the close and its request for a ticket.", tone="info")

    def _show_message(self, text: str, tone: str = "error") -> None:
        if self.validationMessage.property("tone") != tone:
            self.validationMessage.setProperty("tone", tone)
            self.validationMessage.style().unpolish(self.validationMessage)
            self.validationMessage.style().polish(self.validationMessage)
        self.validationMessage.setText(text)
        self.validationMessage.setAccessibleDescription(text)

    # ------------------------------------------------------------------ sending
    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def confirming(self) -> bool:
        """The inline confirmation is up: only its button sends."""
        return self._confirming is not None

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    def _on_edit(self, *_: object) -> None:
        """The user changed something: any confirmation was for the old close."""
        self.cancel_confirmation()
        self.validate()

    def send(self) -> None:
        """Send (the button, Enter): check, then ask once more if the data is stale or the
        policy says so, else send."""
        if self._busy or self._flat or self._confirming is not None or self.leasePanel.waiting:
            return
        request = self.validate()
        if request is None:
            if self._freshness.moved(self.position):
                # The book moved and made the input wrong: say what changed.
                self.show_changed(self._freshness.changed(self.position))
            return
        if not self._fresh(request) or self._working_moved():
            return
        question = self._freshness.question(request, self.preferences, self.environment,
                                            self.instrument, self.position.mark_price)
        if question is not None:
            self._ask(request, *question)
            return
        self._dispatch(request)

    def send_anyway(self, reason: str) -> None:
        """The lease panel's override, with its typed reason: the freshness guard runs as for
        Send, then the ticked cancels (those not already done) and the close are sent once
        each, every one taking the other desk's lease with that reason. The typed reason and
        the button that names whose lease it takes are the confirmation."""
        if self._busy or self._flat or self._confirming is not None or self._override is None:
            return
        request = self.validate()
        if request is None or not self._fresh(request) or self._working_moved():
            return
        self._dispatch(request, override=reason)

    def elsewhere_changed(self, desk: str | None, holder: Holder | None = None) -> None:
        """Another desk started or stopped closing this position, or renewed its lease (the
        window forwards it)."""
        self.leasePanel.elsewhere_changed(desk, holder)
        self.validate()

    def confirm(self) -> None:
        """The confirmation panel's button: the guard runs again, then the close is sent.

        The fields are read and the book re-checked first, without redrawing anything; the
        close starts before the dialog repaints itself as busy, so the click reaches the wire
        without waiting for the dialog's own layout work."""
        if self._busy or self._flat or self._confirming is None:
            return
        request = self.check().request
        if request is None or self._freshness.check(request, self.position) is not None \
                or _idents(self._working_now()) != _idents(self.workingPanel.orders):
            # Something is wrong with it now: say what, as Send would, and send nothing.
            self.cancel_confirmation()
            request = self.validate()
            if request is not None and self._fresh(request):
                self._working_moved()
            return
        self._confirming = None  # answered; the panel is hidden with the rest of the redraw
        self._dispatch(request)

    def cancel_confirmation(self) -> None:
        self._confirming = None
        if not self.actionArea.asking:
            return
        self.actionArea.show_buttons()
        self.confirmButton.setDefault(False)
        self.sendButton.setDefault(True)
        self.sendButton.setEnabled(not self._busy and not self._flat
                                   and self._last_request is not None)

    def clamp(self) -> None:
        """"Clamp to N": the user's consent to close what is left instead of what was typed
        (and so to the position as it is now)."""
        text = self.guardPanel.clamp_quantity()
        if text is not None:
            self.seen = self.position
            self.quantityInput.setText(text)
        self.clampButton.setVisible(False)
        self.guardPanel.setVisible(False)
        self.positionSummary.fill(self.position, self.instrument)
        self._on_edit()

    def stale_age(self) -> float | None:
        """How old the row's venue data is, when it is past the stale threshold."""
        return self._freshness.stale_age(self.preferences)

    def _ask(self, request: CloseRequest, question: str, button: str) -> None:
        self._confirming = request
        self.actionArea.ask(question, button)  # in the buttons' place: nothing moves
        self.sendButton.setEnabled(False)
        self.sendButton.setDefault(False)
        self.confirmButton.setDefault(True)
        self.confirmButton.setFocus()

    def _fresh(self, request: CloseRequest) -> bool:
        """The freshness guard: re-read the position from the live book. False (and the
        dialog now shows what changed) when it no longer matches what the user saw."""
        changed = self._freshness.check(request, self.position)
        if changed is None:
            self.guardPanel.setVisible(False)
            return True
        self.show_changed(changed)
        return False

    def show_changed(self, exc: PositionChanged, *, acknowledge: bool = True) -> None:
        """Say what changed against the position the user saw (see Freshness.explain); at
        Send (``acknowledge``) show the position as it is now."""
        text, clamp = self._freshness.explain(exc, self.form.typed_quantity(),
                                              acknowledge=acknowledge)
        self.guardPanel.offer_clamp(clamp)
        if acknowledge:
            self.update_position(exc.current)
        self.guardPanel.say(text)
        self._fit()

    def _dispatch(self, request: CloseRequest, override: str | None = None) -> None:
        """Start the close, and show it as sending a frame later. Redrawn at once, the dialog
        would be laid out and painted between the click and the wire: before QFEX's first
        step writes the frame, and between the loop turns an Everstrike POST takes to leave.
        ``_busy`` is set at once, so a second click or Enter that arrives before the redraw
        finds the dialog busy and sends nothing."""
        self._busy = True
        self._client_order_id = new_client_order_id()
        self.leasePanel.clear()
        cancels = self._still_to_cancel()
        task = self._task = self._tracker.spawn(self._send(request, cancels, override),
                                                name=f"close {request.key}")
        task.get_loop().call_later(SENDING_REDRAW_S, self._show_sending, task)

    def _show_sending(self, task: asyncio.Task[None]) -> None:
        if task is not self._task or task.done() or not self._busy:
            return  # it already ended (and said how)
        if not shiboken6.isValid(self):
            return  # the window went away meanwhile
        self.guardPanel.setVisible(False)
        self.cancel_confirmation()
        self._set_busy(True)

    async def _send(self, request: CloseRequest, cancels: list[WorkingOrder],
                    override: str | None = None) -> None:
        done: Cancels | None = None
        if cancels and self._cancel_first is not None:
            done = await self._cancel_first.cancel(cancels, reason=self._cancel_reason(request),
                                                   override_reason=override)
            if done.refusal is not None:  # that cancel, those after it and the close: not sent
                self._lease_refused(done.refusal, done)
                return
            if not done.ok:  # the close is not sent: say so, plainly
                self._set_busy(False)
                self.refresh_working()
                self.validate()
                self._show_message(done.not_sent())
                self.sendSettled.emit(False)
                return
            if not self.isVisible():  # cancelled (Esc) while the cancels were out
                key = request.key
                self.reported.emit(f"{done.done_text()} on {key.symbol} on {key.account}; the "
                                   "close was not sent (the dialog was cancelled).")
                self._set_busy(False)
                self.sendSettled.emit(False)
                return
        try:
            if done is not None:
                self._recheck(request)  # a resting close may have filled meanwhile
            if override is not None and self._override is not None:
                await self._override(request, override)
            else:
                await self._submit(request)
        except PositionChanged as exc:  # the book moved between the guard and the send
            self._set_busy(False)
            self.show_changed(exc)
            if done is not None and done.cancelled:
                self.refresh_working()
                self._show_message(f"{done.done_text()} first; the close was not sent.",
                                   tone="info")
            self.sendSettled.emit(False)
            return
        except (LeaseHeld, CoordinationDown) as exc:
            self._lease_refused(exc)
            return
        except (CloseRejected, AlreadyPending) as exc:
            self._set_busy(False)
            self._show_message(refusal_text(exc))
            if isinstance(exc, AlreadyPending):
                self.alreadyPending.emit(exc.intent)
            self.sendSettled.emit(False)
            return
        except Exception as exc:
            self._set_busy(False)
            self._show_message(failure_text(exc))
            self.sendSettled.emit(False)
            raise
        self._set_busy(False)
        if done is not None:
            key = request.key
            said = f"{done.then_sent()} of {key.symbol} on {key.account}."
            self._show_message(said, tone="info")
            self.reported.emit(said)
        self.sendSettled.emit(True)
        if self.isVisible():
            self.accept()

    def _lease_refused(self, exc: LeaseHeld | CoordinationDown,
                       done: Cancels | None = None) -> None:
        """Another desk's lease, or no team database to ask: the close was not sent, nor the
        refused cancel (``done`` says which cancels went before it). Say who, and offer to wait
        or to send anyway (never an automatic send)."""
        self._set_busy(False)
        self.refresh_working()
        self.leasePanel.refused(exc)
        self.leasePanel.overrideButton.setEnabled(self._override is not None)
        why = ("another desk may be closing this position" if isinstance(exc, LeaseHeld) else
               "the team database cannot be reached")
        if done is not None and done.cancelled:
            self._show_message(f"{done.refused_text().rstrip('.')} ({why}).")
        else:
            self._show_message(f"Nothing was sent: {why}.")
        self._fit()
        self.sendSettled.emit(False)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.sendButton.setText("Sending…" if busy else "Send close")
        self.form.set_busy(busy)
        self.workingPanel.set_busy(busy)
        if busy:
            self.sendButton.setEnabled(False)
            n = len(self._still_to_cancel())
            self._show_message(
                f"Cancelling {n} working order{'s' if n != 1 else ''}, then sending the close…"
                if n and self._cancel_first is not None else "Sending…", tone="info")
        else:
            self.cancel_confirmation()  # it was answered by the send that just ended
            self.validate()

    # ------------------------------------------------------------------ working orders
    def _working_now(self) -> tuple[WorkingOrder, ...]:
        if self._cancel_first is None:
            return ()
        return tuple(self._cancel_first.orders())

    def refresh_working(self) -> None:
        """Show the orders working on the position now (the window calls this when they
        change; a send in flight keeps what it showed)."""
        if self._busy:
            return
        before = _idents(self.workingPanel.orders)
        self.workingPanel.show_orders(self._working_now(), self.position.key.symbol,
                                      number_format(self.instrument))
        if _idents(self.workingPanel.orders) != before:
            self.cancel_confirmation()  # it asked about the orders as they were
            self.validate()  # the preview's cancels, and the box's default

    def _working_moved(self) -> bool:
        """At Send: if the working orders changed since they were shown, show them as they are
        and ask for Send again (a cancel-first must cancel what the user saw)."""
        if _idents(self._working_now()) == _idents(self.workingPanel.orders):
            return False
        self.refresh_working()
        self.validate()
        self._show_message(f"The orders working on {self.position.key.symbol} changed; check "
                           "them and press Send again. Nothing was sent.")
        return True

    def _still_to_cancel(self) -> list[WorkingOrder]:
        """The ticked cancels a send would make: those this dialog already had confirmed (an
        earlier attempt that a lease then stopped) are not sent again."""
        if self._cancel_first is None:
            return []
        return [o for o in self.workingPanel.to_cancel()
                if not self._cancel_first.confirmed(o)]

    def _cancel_previews(self) -> list[tuple[str, str]]:
        """Each cancel a send would make first: (what it cancels, its exact request)."""
        if self._cancel_first is None:
            return []
        previews = []
        fmt = number_format(self.instrument)
        for order in self._still_to_cancel():
            try:
                text = self._cancel_first.preview(order)
            except Exception as exc:  # informative only; the cancel itself would say why
                text = f"(no preview: {exc})"
            previews.append((f"cancel order {order.order_id} ({order_words(order, fmt)})", text))
        return previews

    def _recheck(self, request: CloseRequest) -> None:
        """After the cancels, the freshness guard once more, against the live book (the row
        may not have caught up yet). Raises PositionChanged."""
        now = self._cancel_first.position() if self._cancel_first is not None else None
        if now is None:
            raise PositionChanged("the position is now flat", "flat", None)
        changed = self._freshness.check(request, now)
        if changed is not None:
            raise changed

    @staticmethod
    def _cancel_reason(request: CloseRequest) -> str:
        head = f"cancel first, before a close of {request.key.symbol} from the close dialog"
        return f"{head}: {request.reason}" if request.reason else head

    # ------------------------------------------------------------------ result
    def result_future(self) -> asyncio.Future[int]:
        """Resolves with the dialog's result code when it closes (accept or reject)."""
        if self._result is None:
            self._result = asyncio.get_running_loop().create_future()
        return self._result

    def _on_finished(self, code: int) -> None:
        if self._result is not None and not self._result.done():
            self._result.set_result(code)


def _idents(orders: Sequence[WorkingOrder]) -> list[tuple[str, str]]:
    return [o.ident for o in orders]
