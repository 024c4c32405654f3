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
  never), ask for one more click in an inline panel — never a nested dialog.

:class:`QuickCloseDialog` is the small confirmation used for a full close from the keyboard
(Ctrl+Shift+C) and for Close residual; it applies the same guard.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Awaitable, Callable
from decimal import Decimal

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import (
    QFontDatabase,
    QFontMetrics,
    QKeyEvent,
    QKeySequence,
    QShortcut,
    QTextOption,
)
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.closing.form import (
    REASON_MAX,
    Checked,
    Fields,
    one_line,
    parse_plain_decimal,
    preset_quantity,
    read,
)
from core.closing.rules import (
    EVENT_ORDER,
    FieldError,
    FieldName,
    capability_reason,
    round_quantity,
    round_trigger_price,
)
from core.closing.words import describe, price_text, quantity_text
from core.closing.words import pending_text as _pending_text
from core.desk import AlreadyPending, PositionChanged
from core.model import (
    Capabilities,
    CloseRequest,
    Environment,
    Instrument,
    MarkUpdate,
    Position,
    PositionSide,
    TimeInForce,
    TriggerEvent,
    new_client_order_id,
)
from core.settings import Preferences
from core.venue import CloseRejected
from gui.bridge import TaskTracker
from gui.models import env_label, fmt_decimal
from gui.widgets import EnvChip

__all__ = [
    "CLOSE_ON_TRIGGER_NOTE",
    "PRESETS",
    "CloseDialog",
    "FieldError",
    "QuickCloseDialog",
    "changed_text",
    "confirmation_reason",
    "parse_plain_decimal",
    "pending_text",
    "stale_question",
    "ticket_text",
]

Submit = Callable[[CloseRequest], Awaitable[object]]
Preview = Callable[[CloseRequest], str]
Guard = Callable[[CloseRequest], None]  # raises PositionChanged (Desk.check)
DataAge = Callable[[], float | None]  # seconds since venue data vouched for the row

PRESETS = (25, 50, 75, 100)
_TIF_LABELS = {
    TimeInForce.GTC: "GTC — rest until filled",
    TimeInForce.IOC: "IOC — fill now, cancel the rest",
    TimeInForce.FOK: "FOK — fill all now or nothing",
}
CLOSE_ON_TRIGGER_NOTE = (
    "Close on Trigger cancels your open reduce-only orders when it fires, to free margin so the "
    "close is less likely to fail."
)
# A trigger this close to its reference price may fire as soon as it reaches the venue: the
# price we show is a moment old. Two ticks, or 0.05 % of the price, whichever is wider.
_NEAR_TICKS = 2
_NEAR_FRACTION = Decimal("0.0005")


def _side_size(pos: Position) -> str:
    return f"{pos.side.value} {fmt_decimal(pos.quantity)}"


def changed_text(exc: PositionChanged, was: Position, since: str) -> str:
    """What the freshness guard found, in one sentence: "The position is now SHORT 3 — it was
    LONG 5 when you opened this dialog."."""
    if exc.current is None:
        return f"The position is now flat — it was {_side_size(was)} {since}."
    return f"The position is now {_side_size(exc.current)} — it was {_side_size(was)} {since}."


def stale_question(age: float) -> str:
    return f"This position's data is {age:.0f} s old. Close anyway?"


def pending_text(exc: AlreadyPending) -> str:
    return _pending_text(exc.intent.key, exc.intent.state.value)


def _notional(request: CloseRequest, mark: Decimal | None) -> Decimal | None:
    qty = request.quantity if request.quantity is not None else request.position_quantity
    price = request.limit_price
    if price is None and request.trigger is not None:
        price = request.trigger.price
    if price is None:
        price = mark
    return None if price is None else abs(qty * price)


def confirmation_reason(
    request: CloseRequest,
    preferences: Preferences,
    environment: Environment | None,
    mark: Decimal | None,
) -> str | None:
    """Why the confirmation policy asks for one more click, or None when it does not."""
    policy = preferences.confirm
    if policy == "never":
        return None
    if policy == "always":
        return "confirmations are set to always"
    if environment is Environment.LIVE:
        return "this is a LIVE account"
    limit = preferences.large_close_notional
    if limit is None:
        return None
    notional = _notional(request, mark)
    if notional is None:
        return "no price is known to tell whether it is large"
    if notional >= limit:
        return f"it is large: notional {fmt_decimal(notional)} ≥ {fmt_decimal(limit)}"
    return None


def ticket_text(
    request: CloseRequest,
    preview: str,
    *,
    environment: Environment | None,
    position: Position,
    instrument: Instrument | None = None,
) -> str:
    """What "Copy for ticket" puts on the clipboard: enough for support to find the close."""
    key = request.key
    env = f" ({env_label(environment)})" if environment is not None else ""
    lines = [
        f"Account: {key.account}{env}",
        f"Venue: {key.venue.label}",
        f"Symbol: {key.symbol}",
        f"Position: {_side_size(position)}",
        f"Close: {describe(request, instrument)}",
        f"Client order id: {request.client_order_id}",
    ]
    if request.reason:
        lines.append(f"Reason: {request.reason}")
    lines += ["Request (keys and signatures redacted):", preview]
    return "\n".join(lines)


def _set_tone(widget: QWidget, tone: str) -> None:
    if widget.property("tone") != tone:
        widget.setProperty("tone", tone)
        widget.style().unpolish(widget)
        widget.style().polish(widget)


class CloseDialog(QDialog):
    """Build one CloseRequest and hand it to ``submit``; stay open on refusal.

    ``guard`` is the freshness guard (``Desk.check``), ``data_age`` how old the row's venue
    data is, ``preferences`` the confirmation policy and stale threshold.
    """

    sendSettled = Signal(bool)  # True when submit returned, False when it raised
    alreadyPending = Signal(object)  # the CloseIntent a send joined (nothing new was sent)

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
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("closeDialog")
        self.position = position
        # The position as the user last acknowledged it (at opening, or when the guard asked
        # again): the request carries it, so the desk refuses if the book moved away from it.
        self.seen = position
        self._guard_asked = False
        self.environment = environment
        self.caps = capabilities
        self.instrument = instrument
        self.preferences = preferences if preferences is not None else Preferences()
        self._submit = submit
        self._preview = preview
        self._guard = guard
        self._data_age = data_age
        self._mark = mark
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
        self._base_tips: dict[QWidget, str] = {}
        self._build()
        self._apply_capabilities()
        self._fill_position()
        self.quantityInput.setText(fmt_decimal(position.quantity))
        for edit in (self.quantityInput, self.limitPriceInput, self.triggerPriceInput,
                     self.reasonInput):
            edit.textChanged.connect(self._on_edit)
        self.triggerEventInput.currentIndexChanged.connect(self._on_edit)
        self.timeInForceInput.currentIndexChanged.connect(self._on_edit)
        self.closeOnTriggerInput.toggled.connect(self._on_edit)
        self.finished.connect(self._on_finished)
        self.validate()
        self.resize(max(600, self.sizeHint().width()), self.sizeHint().height())

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
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
        title_row.addWidget(self.envChip)
        title_row.addStretch(1)
        root.addLayout(title_row)

        summary = QFrame(self)
        summary.setObjectName("positionSummary")
        summary.setAccessibleName("Position")
        grid = QGridLayout(summary)
        grid.setContentsMargins(12, 10, 12, 10)
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(4)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self._mono = mono
        self._summary: dict[str, QLabel] = {}
        fields = [("Account", "account"), ("Venue", "venue"), ("Symbol", "symbol"),
                  ("Side", "side"), ("Size", "size"), ("Entry", "entry"), ("Mark", "mark"),
                  ("Unrealised P&L", "pnl")]
        for i, (caption_text, name) in enumerate(fields):
            row, col = divmod(i, 2)
            caption = QLabel(caption_text, summary)
            caption.setObjectName("summaryCaption")
            value = QLabel(summary)
            value.setObjectName(f"summary_{name}")
            value.setAccessibleName(caption_text)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            if name in ("size", "entry", "mark", "pnl"):
                value.setFont(mono)
            grid.addWidget(caption, row, col * 2)
            grid.addWidget(value, row, col * 2 + 1)
            self._summary[name] = value
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        root.addWidget(summary)

        # The freshness guard's answer: what changed, and (for a shrunk partial) Clamp to N.
        self.guardPanel = QFrame(self)
        self.guardPanel.setObjectName("guardPanel")
        self.guardPanel.setAccessibleName("Position changed before sending")
        gl = QHBoxLayout(self.guardPanel)
        gl.setContentsMargins(10, 8, 10, 8)
        gl.setSpacing(8)
        self.guardMessage = QLabel(self.guardPanel)
        self.guardMessage.setObjectName("guardMessage")
        self.guardMessage.setWordWrap(True)
        gl.addWidget(self.guardMessage, 1)
        self.clampButton = QPushButton(self.guardPanel)
        self.clampButton.setObjectName("clampButton")
        self.clampButton.setAutoDefault(False)
        self.clampButton.setVisible(False)
        self.clampButton.clicked.connect(self.clamp)
        gl.addWidget(self.clampButton, 0, Qt.AlignmentFlag.AlignVCenter)
        self.guardPanel.setVisible(False)
        root.addWidget(self.guardPanel)

        form = QFormLayout()
        self._form = form
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(7)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        # Quantity + presets
        self.quantityInput = QLineEdit(self)
        self.quantityInput.setObjectName("quantityInput")
        self.quantityInput.setAccessibleName("Quantity to close")
        self.quantityInput.setFont(mono)
        self.quantityInput.setAlignment(Qt.AlignmentFlag.AlignRight)
        qty_row = QHBoxLayout()
        qty_row.setSpacing(4)
        qty_row.addWidget(self.quantityInput, 1)
        self.quantityWillSend = self._will_send_label("quantityWillSend")
        qty_row.addWidget(self.quantityWillSend)
        self.presetButtons: dict[int, QPushButton] = {}
        for n, pct in enumerate(PRESETS, start=1):
            button = QPushButton(f"{pct}%", self)
            button.setObjectName(f"preset{pct}")
            button.setAccessibleName(f"Close {pct} percent")
            button.setToolTip(f"{pct} % of the position, rounded down to the lot (Ctrl+{n})")
            button.setAutoDefault(False)
            button.setFixedWidth(52)
            button.clicked.connect(lambda _=False, p=pct: self.apply_preset(p))
            qty_row.addWidget(button)
            self.presetButtons[pct] = button
            shortcut = QShortcut(QKeySequence(f"Ctrl+{n}"), self)
            shortcut.setObjectName(f"presetShortcut{pct}")
            shortcut.activated.connect(lambda p=pct: self._shortcut_preset(p))
        self._label_quantity = QLabel("&Quantity", self)
        self._label_quantity.setBuddy(self.quantityInput)
        form.addRow(self._label_quantity, qty_row)

        # The dust offer: a partial close that would leave less than the venue's minimum.
        self.dustPanel = QFrame(self)
        self.dustPanel.setObjectName("dustPanel")
        self.dustPanel.setAccessibleName("Remainder below the venue minimum")
        dl = QHBoxLayout(self.dustPanel)
        dl.setContentsMargins(8, 4, 8, 4)
        dl.setSpacing(8)
        self.dustMessage = QLabel(self.dustPanel)
        self.dustMessage.setObjectName("dustMessage")
        self.dustMessage.setWordWrap(True)
        dl.addWidget(self.dustMessage, 1)
        self.closeAllButton = QPushButton("Close all instead", self.dustPanel)
        self.closeAllButton.setObjectName("closeAllButton")
        self.closeAllButton.setAccessibleName("Close all instead")
        self.closeAllButton.setAutoDefault(False)
        self.closeAllButton.clicked.connect(lambda: self.apply_preset(100))
        dl.addWidget(self.closeAllButton, 0, Qt.AlignmentFlag.AlignVCenter)
        form.addRow("", self.dustPanel)
        form.setRowVisible(self.dustPanel, False)

        # Limit price + time in force
        self.limitPriceInput = QLineEdit(self)
        self.limitPriceInput.setObjectName("limitPriceInput")
        self.limitPriceInput.setAccessibleName("Limit price (empty for market)")
        self.limitPriceInput.setPlaceholderText("Market")
        self.limitPriceInput.setFont(mono)
        self.limitPriceInput.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.timeInForceInput = QComboBox(self)
        self.timeInForceInput.setObjectName("timeInForceInput")
        self.timeInForceInput.setAccessibleName("Time in force")
        limit_row = QHBoxLayout()
        limit_row.setSpacing(4)
        limit_row.addWidget(self.limitPriceInput, 1)
        self.limitWillSend = self._will_send_label("limitWillSend")
        limit_row.addWidget(self.limitWillSend)
        limit_row.addWidget(self.timeInForceInput)
        label = QLabel("&Limit price", self)
        label.setBuddy(self.limitPriceInput)
        form.addRow(label, limit_row)

        # Trigger, with the reference prices beside it
        self.triggerPriceInput = QLineEdit(self)
        self.triggerPriceInput.setObjectName("triggerPriceInput")
        self.triggerPriceInput.setAccessibleName("Trigger price (empty for no trigger)")
        self.triggerPriceInput.setPlaceholderText("None")
        self.triggerPriceInput.setFont(mono)
        self.triggerPriceInput.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.triggerEventInput = QComboBox(self)
        self.triggerEventInput.setObjectName("triggerEventInput")
        self.triggerEventInput.setAccessibleName("Trigger price source")
        trig_row = QHBoxLayout()
        trig_row.setSpacing(4)
        trig_row.addWidget(self.triggerPriceInput, 1)
        self.triggerWillSend = self._will_send_label("triggerWillSend")
        trig_row.addWidget(self.triggerWillSend)
        trig_row.addWidget(self.triggerEventInput)
        label = QLabel("&Trigger price", self)
        label.setBuddy(self.triggerPriceInput)
        form.addRow(label, trig_row)
        # The trigger helper: the prices a trigger can watch, now; which kind of stop the
        # typed price makes; and a warning when it would fire at once.
        helper = QWidget(self)
        helper.setObjectName("triggerHelper")
        hl = QVBoxLayout(helper)
        hl.setContentsMargins(0, 0, 0, 0)
        hl.setSpacing(2)
        self.referencePrices = QLabel(helper)
        self.referencePrices.setObjectName("referencePrices")
        self.referencePrices.setAccessibleName("Reference prices")
        self.referencePrices.setFont(mono)
        self.referencePrices.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        hl.addWidget(self.referencePrices)
        self.triggerHint = QLabel(helper)
        self.triggerHint.setObjectName("triggerHint")
        self.triggerHint.setAccessibleName("Trigger hint")
        self.triggerHint.setWordWrap(True)
        hl.addWidget(self.triggerHint)
        self.triggerWarning = QLabel(helper)
        self.triggerWarning.setObjectName("triggerWarning")
        self.triggerWarning.setAccessibleName("Trigger warning")
        self.triggerWarning.setWordWrap(True)
        self.triggerWarning.setVisible(False)
        hl.addWidget(self.triggerWarning)
        form.addRow("", helper)

        self.closeOnTriggerInput = QCheckBox("Close on trigger", self)
        self.closeOnTriggerInput.setObjectName("closeOnTriggerInput")
        self.closeOnTriggerInput.setAccessibleName("Close on trigger")
        form.addRow("", self.closeOnTriggerInput)
        self.closeOnTriggerNote = QLabel(CLOSE_ON_TRIGGER_NOTE, self)
        self.closeOnTriggerNote.setObjectName("closeOnTriggerNote")
        self.closeOnTriggerNote.setWordWrap(True)
        form.addRow("", self.closeOnTriggerNote)
        form.setRowVisible(self.closeOnTriggerNote, self.caps.close_on_trigger)

        # Optional: why, or a ticket id. It goes to the journal with the close, for support.
        self.reasonInput = QLineEdit(self)
        self.reasonInput.setObjectName("reasonInput")
        self.reasonInput.setAccessibleName("Reason or ticket (optional)")
        self.reasonInput.setPlaceholderText("Optional: why, or a ticket id — kept in the journal")
        self.reasonInput.setMaxLength(REASON_MAX)
        self.reasonInput.setToolTip("Recorded in the audit journal with this close")
        label = QLabel("&Reason / ticket", self)
        label.setBuddy(self.reasonInput)
        form.addRow(label, self.reasonInput)
        root.addLayout(form)

        self.summaryLine = QLabel(self)
        self.summaryLine.setObjectName("orderSummary")
        self.summaryLine.setAccessibleName("What will be sent")
        self.summaryLine.setWordWrap(True)
        root.addWidget(self.summaryLine)

        preview_bar = QHBoxLayout()
        preview_bar.setSpacing(6)
        self.previewTitle = QLabel("Wire request — keys and signatures redacted", self)
        self.previewTitle.setObjectName("previewTitle")
        preview_bar.addWidget(self.previewTitle)
        preview_bar.addStretch(1)
        self.copyTicketButton = QPushButton("Copy for ticket", self)
        self.copyTicketButton.setObjectName("copyTicketButton")
        self.copyTicketButton.setAccessibleName("Copy for ticket")
        self.copyTicketButton.setToolTip(
            "Copy the account, venue, symbol, the close in words and the redacted request, "
            "to paste into a support ticket")
        self.copyTicketButton.setAutoDefault(False)
        self.copyTicketButton.clicked.connect(self.copy_for_ticket)
        preview_bar.addWidget(self.copyTicketButton)
        root.addLayout(preview_bar)
        # A read-only editor, not a label: wire payloads have long unbroken lines that must
        # wrap anywhere instead of widening the dialog.
        self.previewText = QPlainTextEdit(self)
        self.previewText.setObjectName("requestPreview")
        self.previewText.setAccessibleName("Request preview (keys and signatures redacted)")
        self.previewText.setToolTip("What will go on the wire; keys and signatures redacted")
        self.previewText.setReadOnly(True)
        self.previewText.setFont(mono)
        self.previewText.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.previewText.setFrameShape(QFrame.Shape.NoFrame)
        self.previewText.setFixedHeight(QFontMetrics(mono).lineSpacing() * 8 + 16)
        self.previewText.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.previewText.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.previewText.setPlaceholderText("Nothing can be sent until the input is valid.")
        for w in (self.previewText, self.previewTitle, self.copyTicketButton):
            w.setVisible(self._preview is not None)
        root.addWidget(self.previewText)

        self.validationMessage = QLabel(self)
        self.validationMessage.setObjectName("validationMessage")
        self.validationMessage.setAccessibleName("Validation message")
        self.validationMessage.setProperty("tone", "error")
        self.validationMessage.setWordWrap(True)
        self.validationMessage.setMinimumHeight(self.fontMetrics().height() * 2 + 4)
        self.validationMessage.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        root.addWidget(self.validationMessage)

        # One more click, inline: the stale question and the confirmation policy. Its button
        # sits apart from Send, so a double click on Send can never confirm by itself.
        self.confirmPanel = QFrame(self)
        self.confirmPanel.setObjectName("confirmPanel")
        self.confirmPanel.setAccessibleName("Confirm the close")
        cl = QHBoxLayout(self.confirmPanel)
        cl.setContentsMargins(10, 8, 10, 8)
        cl.setSpacing(8)
        self.confirmMessage = QLabel(self.confirmPanel)
        self.confirmMessage.setObjectName("confirmMessage")
        self.confirmMessage.setWordWrap(True)
        cl.addWidget(self.confirmMessage, 1)
        self.confirmBackButton = QPushButton("Back", self.confirmPanel)
        self.confirmBackButton.setObjectName("confirmBackButton")
        self.confirmBackButton.setAutoDefault(False)
        self.confirmBackButton.clicked.connect(self.cancel_confirmation)
        cl.addWidget(self.confirmBackButton, 0, Qt.AlignmentFlag.AlignVCenter)
        self.confirmButton = QPushButton("Confirm close", self.confirmPanel)
        self.confirmButton.setObjectName("confirmButton")
        self.confirmButton.setAccessibleName("Confirm close")
        self.confirmButton.clicked.connect(self.confirm)
        cl.addWidget(self.confirmButton, 0, Qt.AlignmentFlag.AlignVCenter)
        self.confirmPanel.setVisible(False)
        root.addWidget(self.confirmPanel)

        buttons = QHBoxLayout()
        self.shortcutHint = QLabel("Ctrl+1…4: 25/50/75/100 %  ·  Esc: cancel", self)
        self.shortcutHint.setObjectName("shortcutHint")
        buttons.addWidget(self.shortcutHint)
        buttons.addStretch(1)
        self.cancelButton = QPushButton("Cancel", self)
        self.cancelButton.setObjectName("cancelButton")
        self.cancelButton.setAccessibleName("Cancel")
        self.cancelButton.setAutoDefault(False)
        self.cancelButton.clicked.connect(self.reject)
        self.sendButton = QPushButton("Send close", self)
        self.sendButton.setObjectName("sendButton")
        self.sendButton.setAccessibleName("Send close")
        self.sendButton.setDefault(True)
        self.sendButton.clicked.connect(self.send)
        buttons.addWidget(self.cancelButton)
        buttons.addWidget(self.sendButton)
        root.addLayout(buttons)

    def _fit(self) -> None:
        """Grow to fit a panel that just appeared, rather than squeeze the fields under it."""
        hint = self.sizeHint()
        if hint.height() > self.height() or hint.width() > self.width():
            self.resize(max(self.width(), hint.width()), max(self.height(), hint.height()))

    def _will_send_label(self, name: str) -> QLabel:
        label = QLabel(self)
        label.setObjectName(name)
        label.setProperty("role", "willSend")
        label.setAccessibleName("Will send")
        label.setFont(self._mono)
        label.setVisible(False)
        return label

    def _apply_capabilities(self) -> None:
        caps = self.caps
        venue = self.position.key.venue.label
        if not caps.partial_close:
            why = capability_reason(caps, "quantity", venue)
            for w in (self.quantityInput, *self.presetButtons.values()):
                w.setEnabled(False)
                w.setToolTip(why)
            self._base_tips[self.quantityInput] = why
        if not caps.limit_close:
            self.limitPriceInput.setEnabled(False)
            why = capability_reason(caps, "limit_price", venue)
            self.limitPriceInput.setToolTip(why)
            self._base_tips[self.limitPriceInput] = why
        for tif in caps.time_in_force:
            # Store the plain value: PySide turns a StrEnum into a QString on the way in.
            self.timeInForceInput.addItem(_TIF_LABELS.get(tif, tif.value), tif.value)
        if TimeInForce.GTC in caps.time_in_force:
            self.timeInForceInput.setCurrentIndex(caps.time_in_force.index(TimeInForce.GTC))
        if not caps.time_in_force:
            self.timeInForceInput.addItem("Venue default")
        if not caps.trigger_close:
            self.triggerPriceInput.setEnabled(False)
            why = capability_reason(caps, "trigger", venue)
            self.triggerPriceInput.setToolTip(why)
            self._base_tips[self.triggerPriceInput] = why
        for event in EVENT_ORDER:
            if event in caps.trigger_events:
                self.triggerEventInput.addItem(f"{event.label} price", event.value)
        if not caps.close_on_trigger:
            self.closeOnTriggerInput.setToolTip(
                capability_reason(caps, "close_on_trigger", venue)
            )
        self._update_dependent_controls()

    def _update_dependent_controls(self) -> None:
        """Enable what the venue supports *and* what the other fields make meaningful."""
        caps = self.caps
        venue = self.position.key.venue.label
        has_limit = bool(self.limitPriceInput.text().strip())
        has_trigger = bool(self.triggerPriceInput.text().strip())
        idle = not self._busy and not self._flat

        if not caps.time_in_force:
            tif_ok, tif_tip = False, capability_reason(caps, "time_in_force", venue)
        elif not has_limit:
            tif_ok, tif_tip = False, "Time in force applies to limit closes only"
        else:
            tif_ok, tif_tip = True, "GTC rests until filled; IOC fills what it can now"
        self.timeInForceInput.setEnabled(tif_ok and idle)
        self.timeInForceInput.setToolTip(tif_tip)

        events = self.triggerEventInput.count()
        if not caps.trigger_close:
            ev_ok, ev_tip = False, capability_reason(caps, "trigger", venue)
        elif events <= 1:
            ev_ok, ev_tip = False, capability_reason(caps, "trigger_event", venue)
        elif not has_trigger:
            ev_ok, ev_tip = False, "Set a trigger price first"
        else:
            ev_ok, ev_tip = True, "Which price the trigger watches"
        self.triggerEventInput.setEnabled(ev_ok and idle)
        self.triggerEventInput.setToolTip(ev_tip)

        if not caps.close_on_trigger:
            cot_ok = False
            cot_tip = capability_reason(caps, "close_on_trigger", venue)
        elif not has_trigger:
            cot_ok, cot_tip = False, "Set a trigger price first"
        else:
            cot_ok = True
            cot_tip = CLOSE_ON_TRIGGER_NOTE
        self.closeOnTriggerInput.setEnabled(cot_ok and idle)
        self.closeOnTriggerInput.setToolTip(cot_tip)

    def _fill_position(self) -> None:
        pos = self.position
        inst = self.instrument
        s = self._summary
        s["account"].setText(pos.key.account)
        s["venue"].setText(pos.key.venue.label)
        s["symbol"].setText(pos.key.symbol)
        s["side"].setText(pos.side.value.capitalize())
        size = fmt_decimal(pos.quantity)
        if inst is not None and inst.lot_size:
            size += f"  (lot {fmt_decimal(inst.lot_size)})"
        s["size"].setText(size)
        s["entry"].setText(fmt_decimal(pos.entry_price) or "—")
        mark = fmt_decimal(pos.mark_price) or "—"
        if inst is not None and inst.tick_size:
            mark += f"  (tick {fmt_decimal(inst.tick_size)})"
        s["mark"].setText(mark)
        pnl = pos.unrealised_pnl
        s["pnl"].setText(fmt_decimal(pnl, signed=True) or "—")
        colour = "#1b7f3b" if pnl is not None and pnl > 0 else (
            "#c62828" if pnl is not None and pnl < 0 else "")
        s["pnl"].setStyleSheet(f"color: {colour};" if colour else "")

    # ------------------------------------------------------------------ live updates
    def update_position(self, position: Position | None) -> None:
        """The position moved while the dialog is open: show it; a flat one can't be sent."""
        if position is None:
            self._flat = True
            self.sendButton.setEnabled(False)
            self.cancel_confirmation()
            self._update_dependent_controls()
            self._show_message(
                f"{self.position.key.symbol} is now flat on {self.position.key.account}; "
                "there is nothing left to close."
            )
            return
        full_text = fmt_decimal(self.position.quantity)
        untouched = self.quantityInput.text().strip() == full_text
        moved = position.side is not self.position.side or position.quantity != \
            self.position.quantity
        self.position = position
        self._fill_position()
        if untouched and full_text != fmt_decimal(position.quantity):
            self.quantityInput.setText(fmt_decimal(position.quantity))
        else:
            self.validate()
        if moved and self._moved():
            # Said at once; Send then stops once more to ask (the freshness guard).
            self.show_changed(self._changed_exc(), acknowledge=False)
        elif moved and not self._confirming:
            self.guardPanel.setVisible(False)

    def update_mark(self, mark: MarkUpdate) -> None:
        """A new mark (and index, last) for the trigger helper."""
        self._mark = mark
        self._update_trigger_hint()

    def set_preferences(self, preferences: Preferences) -> None:
        self.preferences = preferences

    # ------------------------------------------------------------------ presets
    def apply_preset(self, percent: int) -> None:
        qty = preset_quantity(self.position.quantity, Decimal(percent), self.instrument)
        self.quantityInput.setText(fmt_decimal(qty))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Ctrl+1..4 also when the key reaches the dialog itself (the shortcuts normally take
        it first; synthetic key events skip the shortcut map)."""
        digits = {Qt.Key.Key_1: 25, Qt.Key.Key_2: 50, Qt.Key.Key_3: 75, Qt.Key.Key_4: 100}
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if mods == Qt.KeyboardModifier.ControlModifier and event.key() in digits:
            self._shortcut_preset(digits[Qt.Key(event.key())])
            event.accept()
            return
        super().keyPressEvent(event)

    def _shortcut_preset(self, percent: int) -> None:
        if self.presetButtons[percent].isEnabled() and not self._busy:
            self.apply_preset(percent)

    # ------------------------------------------------------------------ validation
    def check(self) -> Checked:
        """Read every field; the request, or the error of each bad field (core.closing.form,
        as ``closeout close`` reads its options)."""

        def given(edit: QLineEdit) -> str | None:
            return edit.text() if edit.isEnabled() else None

        limit = given(self.limitPriceInput)
        trigger = given(self.triggerPriceInput)
        has_limit = bool(limit and limit.strip())
        has_trigger = bool(trigger and trigger.strip())
        tif = self.selected_time_in_force() if has_limit else None
        fields = Fields(
            quantity=self.quantityInput.text(),
            limit_price=limit,
            time_in_force=tif.value if tif is not None else None,
            trigger_price=trigger,
            trigger_event=self.selected_trigger_event().value if has_trigger else None,
            close_on_trigger=has_trigger and self.caps.close_on_trigger
            and self.closeOnTriggerInput.isChecked(),
            reason=self.reasonInput.text(),
        )
        return read(fields, self.position, self.caps, self.instrument, seen=self.seen,
                    client_order_id=self._client_order_id)

    def reason(self) -> str | None:
        """The reason or ticket typed, on one line; None when empty."""
        return one_line(self.reasonInput.text())

    def selected_trigger_event(self) -> TriggerEvent:
        data = self.triggerEventInput.currentData()
        return TriggerEvent(data) if data else TriggerEvent.MARK

    def selected_time_in_force(self) -> TimeInForce | None:
        data = self.timeInForceInput.currentData()
        return TimeInForce(data) if data else None

    def validate(self) -> CloseRequest | None:
        """Re-check on every edit: mark bad fields red and say why; return the request if good."""
        self._update_dependent_controls()
        checked = self.check()
        edits: dict[FieldName, QLineEdit] = {
            "quantity": self.quantityInput,
            "limit_price": self.limitPriceInput,
            "trigger_price": self.triggerPriceInput,
        }
        messages = checked.messages
        for name, edit in edits.items():
            bad = name in messages
            if bool(edit.property("invalid")) != bad:
                edit.setProperty("invalid", bad)
                edit.style().unpolish(edit)
                edit.style().polish(edit)
            tip = messages[name] if bad else self._base_tips.get(edit, "")
            edit.setToolTip(tip)
            edit.setAccessibleDescription(tip)
        self._show_rounding(checked)
        self._show_dust(checked.dust if "quantity" not in messages else None)
        self._update_trigger_hint()
        self._last_request = checked.request
        if self._flat:
            return None
        if messages:
            self._show_message(next(iter(messages.values())))  # the first, in the fields' order
        elif not self._busy:
            self._show_message("")
        self.sendButton.setEnabled(
            not self._busy and self._confirming is None and checked.request is not None)
        self._describe(checked.request)
        return checked.request

    @property
    def errors(self) -> dict[FieldName, str]:
        return self.check().messages

    def _show_rounding(self, checked: Checked) -> None:
        inst = self.instrument
        labels: dict[FieldName, QLabel] = {
            "quantity": self.quantityWillSend,
            "limit_price": self.limitWillSend,
            "trigger_price": self.triggerWillSend,
        }
        for name, label in labels.items():
            value = checked.rounded.get(name)
            if value is None:
                label.setVisible(False)
                label.setText("")
                continue
            shown = quantity_text(value, inst) if name == "quantity" else price_text(value, inst)
            label.setText(f"will send {shown}")
            if name == "quantity":
                why = f"Rounded down to the lot {fmt_decimal(inst.lot_size if inst else None)}"
            elif name == "limit_price":
                way = "up" if self.position.side is PositionSide.LONG else "down"
                why = (f"Rounded {way} to the tick {fmt_decimal(inst.tick_size if inst else None)}"
                       ", so the limit is never worse than typed")
            else:
                why = (f"Rounded to the nearest tick "
                       f"{fmt_decimal(inst.tick_size if inst else None)}")
            label.setToolTip(f"{why}; exactly this number is sent.")
            label.setVisible(True)

    def _show_dust(self, dust: Decimal | None) -> None:
        inst = self.instrument
        if dust is None or inst is None:
            self._form.setRowVisible(self.dustPanel, False)
            return
        pos = self.position
        self.dustMessage.setText(
            f"This leaves {fmt_decimal(dust)} open, below {pos.key.venue.label}'s minimum order "
            f"size {fmt_decimal(inst.min_quantity)} for {pos.key.symbol}: no partial close "
            "could ever close it.")
        if self.dustPanel.isHidden():
            self._form.setRowVisible(self.dustPanel, True)
            self._fit()

    # ------------------------------------------------------------------ trigger helper
    def _reference(self, event: TriggerEvent) -> Decimal | None:
        mark = self._mark
        if event is TriggerEvent.INDEX:
            return mark.index if mark is not None else None
        if event is TriggerEvent.LAST:
            return mark.last if mark is not None else None
        if mark is not None:
            return mark.mark
        return self.position.mark_price

    def _update_trigger_hint(self) -> None:
        long = self.position.side is PositionSide.LONG
        if not self.caps.trigger_close:
            self.triggerHint.setText("")
            self.referencePrices.setText("")
            self.triggerWarning.setVisible(False)
            return
        parts = []
        for event in EVENT_ORDER:
            if event in self.caps.trigger_events or event is TriggerEvent.MARK:
                ref = self._reference(event)
                parts.append(f"{event.label} {fmt_decimal(ref) or '—'}")
        self.referencePrices.setText("now: " + " · ".join(parts))
        event = self.selected_trigger_event()
        name = "mark" if event is TriggerEvent.MARK else f"{event.label.lower()} price"
        base = (
            f"Below the {name} → stop-loss; above → take-profit."
            if long
            else f"Above the {name} → stop-loss; below → take-profit."
        )
        ref = self._reference(event)
        text = self.triggerPriceInput.text().strip()
        try:
            price = parse_plain_decimal(text, "trigger_price") if text else None
        except FieldError:
            price = None
        if price is not None and self.instrument is not None:
            price = round_trigger_price(price, self.instrument)
        warning, tone = "", ""
        if price is None:
            self.triggerHint.setText(base)
        elif ref is None:
            self.triggerHint.setText(base)
            warning, tone = (f"The {name} is not known yet, so the direction can't be checked; "
                             "it is decided at the venue."), "warn"
        elif price == ref:
            self.triggerHint.setText(base)
            warning, tone = (f"⚠ {fmt_decimal(price)} is the current {name}: the trigger would "
                             "fire at once."), "bad"
        else:
            below = price < ref
            kind = "stop-loss" if below == long else "take-profit"
            where = "below" if below else "above"
            self.triggerHint.setText(
                f"{fmt_decimal(price)} is {where} the {name} {fmt_decimal(ref)} → {kind}.")
            tick = self.instrument.tick_size if self.instrument is not None else None
            near = max((tick or Decimal(0)) * _NEAR_TICKS, abs(ref) * _NEAR_FRACTION)
            if abs(price - ref) <= near:
                warning, tone = (f"⚠ Only {fmt_decimal(abs(price - ref))} from the {name}: it may "
                                 "fire as soon as it reaches the venue."), "warn"
        self.triggerWarning.setText(warning)
        _set_tone(self.triggerWarning, tone)
        if self.triggerWarning.isHidden() == bool(warning):
            self.triggerWarning.setVisible(bool(warning))
            if warning:
                self._fit()

    def _describe(self, request: CloseRequest | None) -> None:
        if request is None:
            self.summaryLine.setText("")
            self.previewText.setPlainText("")
            return
        self.summaryLine.setText(describe(request, self.instrument))
        if self._preview is not None:
            try:
                self.previewText.setPlainText(self._preview(request))
            except Exception as exc:  # a preview is informative only; say why it is missing
                self.previewText.setPlainText(f"(no preview: {exc})")

    def ticket_text(self) -> str:
        """The text "Copy for ticket" puts on the clipboard ("" while the input is invalid)."""
        request = self._last_request
        if request is None:
            return ""
        return ticket_text(request, self.previewText.toPlainText(),
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
        if self._busy or self._flat or self._confirming is not None:
            return
        request = self.validate()
        if request is None:
            if self._moved():  # the book moved and made the input wrong: say what changed
                self.show_changed(self._changed_exc())
            return
        if not self._fresh(request):
            return
        question = self._question(request)
        if question is not None:
            self._ask(request, *question)
            return
        self._dispatch(request)

    def confirm(self) -> None:
        """The confirmation panel's button: the guard runs again, then the close is sent."""
        if self._busy or self._flat or self._confirming is None:
            return
        self.cancel_confirmation()
        request = self.validate()
        if request is None or not self._fresh(request):
            return
        self._dispatch(request)

    def cancel_confirmation(self) -> None:
        if self._confirming is None:
            return
        self._confirming = None
        self.confirmPanel.setVisible(False)
        self.confirmButton.setDefault(False)
        self.sendButton.setDefault(True)
        self.sendButton.setEnabled(not self._busy and not self._flat
                                   and self._last_request is not None)

    def clamp(self) -> None:
        """"Clamp to N": the user's consent to close what is left instead of what was typed
        (and so to the position as it is now)."""
        text = self.clampButton.property("quantity")
        if isinstance(text, str) and text:
            self.seen = self.position
            self.quantityInput.setText(text)
        self.clampButton.setVisible(False)
        self.guardPanel.setVisible(False)
        self._fill_position()
        self._on_edit()

    def stale_age(self) -> float | None:
        """How old the row's venue data is, when it is past the stale threshold."""
        age = self._data_age() if self._data_age is not None else None
        if age is None or age <= self.preferences.stale_after_s:
            return None
        return age

    def _question(self, request: CloseRequest) -> tuple[str, str] | None:
        """(the question, its button's text) when one more click is needed."""
        age = self.stale_age()
        reason = confirmation_reason(request, self.preferences, self.environment,
                                     self.position.mark_price)
        if age is None and reason is None:
            return None
        key = request.key
        env = f" ({env_label(self.environment)})" if self.environment is not None else ""
        lines = []
        if age is not None:
            lines.append(f"<b>{stale_question(age)}</b>")
        what = describe(request, self.instrument).rstrip(".")
        lines.append(html.escape(f"Send {what} on {key.account}{env}?"))
        if reason is not None:
            lines.append(f"<span style='color:#6b7280'>Asked because "
                         f"{html.escape(reason)}.</span>")
        return "<br>".join(lines), "Close anyway" if age is not None else "Confirm close"

    def _ask(self, request: CloseRequest, question: str, button: str) -> None:
        self._confirming = request
        self.confirmMessage.setText(question)
        self.confirmButton.setText(button)
        self.confirmButton.setAccessibleName(button)
        self.confirmPanel.setVisible(True)
        self._fit()
        self.sendButton.setEnabled(False)
        self.sendButton.setDefault(False)
        self.confirmButton.setDefault(True)
        self.confirmButton.setFocus()

    def _moved(self) -> bool:
        now, seen = self.position, self.seen
        return now.side is not seen.side or now.quantity != seen.quantity

    def _changed_exc(self) -> PositionChanged:
        now, seen = self.position, self.seen
        reason = "side" if now.side is not seen.side else (
            "shrank" if now.quantity < seen.quantity else "grew")
        return PositionChanged("the position changed", reason, now)

    def _typed_quantity(self) -> Decimal | None:
        try:
            typed = parse_plain_decimal(self.quantityInput.text(), "quantity")
        except FieldError:
            return None
        return round_quantity(typed, self.instrument)

    def _fresh(self, request: CloseRequest) -> bool:
        """The freshness guard: re-read the position from the live book. False (and the
        dialog now shows what changed) when it no longer matches what the user saw."""
        changed: PositionChanged | None = None
        if self._guard is not None:
            try:
                self._guard(request)
            except PositionChanged as exc:
                changed = exc
        if changed is None and request.is_full and self._moved():
            # The desk lets a full close of a changed position through (it closes what is
            # there), but the user confirmed a size: show the new one first.
            changed = self._changed_exc()
        if changed is None:
            self.guardPanel.setVisible(False)
            return True
        self.show_changed(changed)
        return False

    def show_changed(self, exc: PositionChanged, *, acknowledge: bool = True) -> None:
        """Say what changed against the position the user saw. At Send (``acknowledge``) the
        current position becomes the one seen, and the user must press Send again; while the
        dialog merely watches the book it is only said. A shrunk partial close is offered
        "Clamp to N", never clamped silently."""
        since = ("when you last pressed Send" if self._guard_asked
                 else "when you opened this dialog")
        text = changed_text(exc, self.seen, since)
        current = exc.current
        asked = self._typed_quantity()
        self.clampButton.setVisible(False)
        if acknowledge:
            self._guard_asked = True
        if current is None:
            text += " Nothing was sent."
            if acknowledge:
                self.update_position(None)
        else:
            if acknowledge:
                self.seen = current
            if exc.reason == "shrank" and asked is not None and asked > current.quantity:
                text += (f" You asked to close {fmt_decimal(asked)}; only "
                         f"{fmt_decimal(current.quantity)} is left. Nothing was sent.")
                clamp = fmt_decimal(current.quantity)
                self.clampButton.setText(f"Clamp to {clamp}")
                self.clampButton.setAccessibleName(f"Clamp to {clamp}")
                self.clampButton.setProperty("quantity", clamp)
                self.clampButton.setVisible(True)
            elif acknowledge:
                text += " Nothing was sent: check the close below and press Send again."
            else:
                text += " Send will ask again before anything goes out."
            if acknowledge:
                self.update_position(current)
        self.guardMessage.setText(text)
        self.guardPanel.setVisible(True)
        self._fit()

    def _dispatch(self, request: CloseRequest) -> None:
        self.guardPanel.setVisible(False)
        self._client_order_id = new_client_order_id()
        self._set_busy(True)
        self._task = self._tracker.spawn(self._send(request), name=f"close {request.key}")

    async def _send(self, request: CloseRequest) -> None:
        try:
            await self._submit(request)
        except PositionChanged as exc:  # the book moved between the guard and the send
            self._set_busy(False)
            self.show_changed(exc)
            self.sendSettled.emit(False)
            return
        except (CloseRejected, AlreadyPending) as exc:
            self._set_busy(False)
            if isinstance(exc, AlreadyPending):
                self._show_message(pending_text(exc))
                self.alreadyPending.emit(exc.intent)
            else:
                text = str(exc)
                self._show_message(text[:1].upper() + text[1:])
            self.sendSettled.emit(False)
            return
        except Exception as exc:
            self._set_busy(False)
            self._show_message(f"The close failed: {type(exc).__name__}: {exc}")
            self.sendSettled.emit(False)
            raise
        self._set_busy(False)
        self.sendSettled.emit(True)
        if self.isVisible():
            self.accept()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.sendButton.setText("Sending…" if busy else "Send close")
        for w in (self.quantityInput, self.limitPriceInput, self.triggerPriceInput,
                  self.reasonInput, *self.presetButtons.values()):
            w.setProperty("busy", busy)
        if busy:
            self.sendButton.setEnabled(False)
            self._show_message("Sending…", tone="info")
        else:
            self.validate()

    # ------------------------------------------------------------------ result
    def result_future(self) -> asyncio.Future[int]:
        """Resolves with the dialog's result code when it closes (accept or reject)."""
        if self._result is None:
            self._result = asyncio.get_running_loop().create_future()
        return self._result

    def _on_finished(self, code: int) -> None:
        if self._result is not None and not self._result.done():
            self._result.set_result(code)


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
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("quickCloseDialog")
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
        self.message = QLabel(self)
        self.message.setObjectName("validationMessage")
        self.message.setProperty("tone", "error")
        self.message.setWordWrap(True)
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
        self._client_order_id = new_client_order_id()
        self._describe()
        self.resize(max(440, self.sizeHint().width()), self.sizeHint().height())

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
        key = self.position.key
        env = f" ({env_label(self.environment)})" if self.environment is not None else ""
        self.summaryLine.setText(
            f"{html.escape(describe(self.request(), self.instrument))}<br>"
            f"<span style='color:#6b7280'>{key.venue.label} · "
            f"{html.escape(key.account + env)}</span>")

    def update_position(self, position: Position | None) -> None:
        if position is None:
            self._flat = True
            self.confirmButton.setEnabled(False)
            self.message.setText(f"{self.position.key.symbol} is now flat; nothing to close.")

    def confirm(self) -> None:
        if self._busy or self._flat:
            return
        request = self.request()
        if self._guard is not None:
            try:
                self._guard(request)
            except PositionChanged as exc:
                self._changed(exc)
                return
        self._busy = True
        self.confirmButton.setEnabled(False)
        self.confirmButton.setText("Sending…")
        self._task = self._tracker.spawn(self._send(request), name=f"close {request.key}")

    def _changed(self, exc: PositionChanged) -> None:
        self.guardMessage.setText(
            changed_text(exc, self.position, "when you asked")
            + (" Nothing was sent." if exc.current is None
               else " Nothing was sent: confirm again to close what is there now."))
        self.guardMessage.setVisible(True)
        if exc.current is None:
            self.update_position(None)
            return
        self.position = exc.current
        self._describe()

    async def _send(self, request: CloseRequest) -> None:
        try:
            await self._submit(request)
        except PositionChanged as exc:
            self._idle()
            self._changed(exc)
            self.sendSettled.emit(False)
            return
        except (CloseRejected, AlreadyPending) as exc:
            self._idle()
            if isinstance(exc, AlreadyPending):
                self.message.setText(pending_text(exc))
                self.alreadyPending.emit(exc.intent)
            else:
                text = str(exc)
                self.message.setText(text[:1].upper() + text[1:])
            self.sendSettled.emit(False)
            return
        except Exception as exc:
            self._idle()
            self.message.setText(f"The close failed: {type(exc).__name__}: {exc}")
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
