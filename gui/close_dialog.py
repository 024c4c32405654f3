"""The close dialog: how much, at what price, on what trigger — checked before anything is sent.

Opened with ``open()`` (never ``exec()``: that would nest a Qt loop under the asyncio loop).
Bad input is refused at the field that caused it and nothing is sent. The venue's
capabilities decide which controls are enabled, and a disabled control says why in its tooltip.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QFontMetrics, QTextOption
from PySide6.QtWidgets import (
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

from core.desk import AlreadyPending
from core.model import (
    Capabilities,
    CloseRequest,
    Instrument,
    Position,
    PositionSide,
    TimeInForce,
    Trigger,
    TriggerEvent,
    new_client_order_id,
)
from core.venue import CloseRejected
from gui.bridge import TaskTracker
from gui.models import fmt_decimal

__all__ = ["PRESETS", "CloseDialog", "FieldError", "parse_plain_decimal"]

Submit = Callable[[CloseRequest], Awaitable[object]]
Preview = Callable[[CloseRequest], str]
FieldName = Literal["quantity", "limit_price", "trigger_price"]

PRESETS = (25, 50, 75, 100)
_PLAIN_DECIMAL = re.compile(r"^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")  # ASCII digits only
_FIELD_LABELS: dict[FieldName, str] = {
    "quantity": "Quantity",
    "limit_price": "Limit price",
    "trigger_price": "Trigger price",
}
_EVENT_ORDER = (TriggerEvent.MARK, TriggerEvent.INDEX, TriggerEvent.LAST)
_TIF_LABELS = {
    TimeInForce.GTC: "GTC — rest until filled",
    TimeInForce.IOC: "IOC — fill now, cancel the rest",
    TimeInForce.FOK: "FOK — fill all now or nothing",
}


class FieldError(ValueError):
    def __init__(self, field: FieldName, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def parse_plain_decimal(text: str, field: FieldName) -> Decimal:
    """A positive plain decimal ("12", "0.5", "1200.25"); anything else is refused by name.

    No thousands separators, signs, exponents, NaN or Infinity: the number sent must be exactly
    the one the user read, and "1,000.5" could mean two different numbers.
    """
    label = _FIELD_LABELS[field]
    text = text.strip()
    if text.startswith("-") and _PLAIN_DECIMAL.fullmatch(text[1:]):
        raise FieldError(field, f"{label} must be greater than zero.")
    if not _PLAIN_DECIMAL.fullmatch(text):
        raise FieldError(
            field,
            f"{label} must be a plain decimal number such as 1.25 — digits and one point, "
            "no commas, spaces, signs or exponents.",
        )
    try:
        value = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid input
        raise FieldError(field, f"{label} is not a number.") from exc
    if value <= 0:
        raise FieldError(field, f"{label} must be greater than zero.")
    return value


@dataclass(frozen=True, slots=True)
class _Checked:
    request: CloseRequest | None
    errors: dict[FieldName, str]


class CloseDialog(QDialog):
    """Build one CloseRequest and hand it to ``submit``; stay open on refusal."""

    sendSettled = Signal(bool)  # True when submit returned, False when it raised

    def __init__(
        self,
        position: Position,
        capabilities: Capabilities,
        instrument: Instrument | None,
        submit: Submit,
        *,
        tracker: TaskTracker | None = None,
        preview: Preview | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("closeDialog")
        self.position = position
        self.caps = capabilities
        self.instrument = instrument
        self._submit = submit
        self._preview = preview
        self._tracker = tracker if tracker is not None else TaskTracker(self)
        self._busy = False
        self._flat = False
        self._task: asyncio.Task[None] | None = None
        self._result: asyncio.Future[int] | None = None
        # One id per attempt, so the preview shows the id that is sent; every send attempt
        # takes a fresh one afterwards (a new request is never a resend of the old id).
        self._client_order_id = new_client_order_id()
        key = position.key
        self.setWindowTitle(f"Close {key.symbol} — {key.account}")
        self.setAccessibleName(f"Close {key.symbol} on {key.account}")
        self.setModal(True)
        self._base_tips: dict[QWidget, str] = {}
        self._build()
        self._apply_capabilities()
        self._fill_position()
        self.quantityInput.setText(fmt_decimal(position.quantity))
        for edit in (self.quantityInput, self.limitPriceInput, self.triggerPriceInput):
            edit.textChanged.connect(self.validate)
        self.triggerEventInput.currentIndexChanged.connect(self.validate)
        self.timeInForceInput.currentIndexChanged.connect(self.validate)
        self.closeOnTriggerInput.toggled.connect(self.validate)
        self.finished.connect(self._on_finished)
        self.validate()
        self.resize(max(560, self.sizeHint().width()), self.sizeHint().height())

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(18, 16, 18, 14)
        root.setSpacing(12)

        title = QLabel(f"Close {self.position.key.symbol}", self)
        title.setObjectName("dialogTitle")
        root.addWidget(title)

        summary = QFrame(self)
        summary.setObjectName("positionSummary")
        summary.setAccessibleName("Position")
        grid = QGridLayout(summary)
        grid.setContentsMargins(12, 10, 12, 10)
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(4)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
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

        form = QFormLayout()
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(8)
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
        self.presetButtons: dict[int, QPushButton] = {}
        for pct in PRESETS:
            button = QPushButton(f"{pct}%", self)
            button.setObjectName(f"preset{pct}")
            button.setAccessibleName(f"Close {pct} percent")
            button.setAutoDefault(False)
            button.setFixedWidth(52)
            button.clicked.connect(lambda _=False, p=pct: self.apply_preset(p))
            qty_row.addWidget(button)
            self.presetButtons[pct] = button
        self._label_quantity = QLabel("&Quantity", self)
        self._label_quantity.setBuddy(self.quantityInput)
        form.addRow(self._label_quantity, qty_row)

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
        limit_row.addWidget(self.timeInForceInput)
        label = QLabel("&Limit price", self)
        label.setBuddy(self.limitPriceInput)
        form.addRow(label, limit_row)

        # Trigger
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
        trig_row.addWidget(self.triggerEventInput)
        label = QLabel("&Trigger price", self)
        label.setBuddy(self.triggerPriceInput)
        form.addRow(label, trig_row)
        self.triggerHint = QLabel(self)
        self.triggerHint.setObjectName("triggerHint")
        self.triggerHint.setAccessibleName("Trigger hint")
        self.triggerHint.setWordWrap(True)
        form.addRow("", self.triggerHint)

        self.closeOnTriggerInput = QCheckBox("Close on trigger", self)
        self.closeOnTriggerInput.setObjectName("closeOnTriggerInput")
        self.closeOnTriggerInput.setAccessibleName("Close on trigger")
        form.addRow("", self.closeOnTriggerInput)
        root.addLayout(form)

        self.summaryLine = QLabel(self)
        self.summaryLine.setObjectName("orderSummary")
        self.summaryLine.setAccessibleName("What will be sent")
        self.summaryLine.setWordWrap(True)
        root.addWidget(self.summaryLine)

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
        self.previewText.setFixedHeight(QFontMetrics(mono).lineSpacing() * 9 + 16)
        self.previewText.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.previewText.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.previewText.setPlaceholderText("Nothing can be sent until the input is valid.")
        self.previewText.setVisible(self._preview is not None)
        root.addWidget(self.previewText)

        self.validationMessage = QLabel(self)
        self.validationMessage.setObjectName("validationMessage")
        self.validationMessage.setAccessibleName("Validation message")
        self.validationMessage.setProperty("tone", "error")
        self.validationMessage.setWordWrap(True)
        self.validationMessage.setMinimumHeight(self.fontMetrics().height() * 2 + 4)
        self.validationMessage.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        root.addWidget(self.validationMessage)

        buttons = QHBoxLayout()
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

    def _apply_capabilities(self) -> None:
        caps = self.caps
        venue = self.position.key.venue.label
        if not caps.partial_close:
            why = caps.why_not("quantity") or f"{venue} closes only the whole position"
            for w in (self.quantityInput, *self.presetButtons.values()):
                w.setEnabled(False)
                w.setToolTip(why)
            self._base_tips[self.quantityInput] = why
        if not caps.limit_close:
            self.limitPriceInput.setEnabled(False)
            why = caps.why_not("limit_price") or f"{venue} closes at market only"
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
            why = caps.why_not("trigger") or f"{venue} has no trigger closes"
            self.triggerPriceInput.setToolTip(why)
            self._base_tips[self.triggerPriceInput] = why
        for event in _EVENT_ORDER:
            if event in caps.trigger_events:
                self.triggerEventInput.addItem(f"{event.label} price", event.value)
        if not caps.close_on_trigger:
            self.closeOnTriggerInput.setToolTip(
                caps.why_not("close_on_trigger") or f"{venue} has no close-on-trigger option"
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
            tif_ok, tif_tip = False, caps.reasons.get(
                "time_in_force", f"{venue} takes no time in force for closes"
            )
        elif not has_limit:
            tif_ok, tif_tip = False, "Time in force applies to limit closes only"
        else:
            tif_ok, tif_tip = True, "GTC rests until filled; IOC fills what it can now"
        self.timeInForceInput.setEnabled(tif_ok and idle)
        self.timeInForceInput.setToolTip(tif_tip)

        events = self.triggerEventInput.count()
        if not caps.trigger_close:
            ev_ok, ev_tip = False, caps.why_not("trigger") or f"{venue} has no trigger closes"
        elif events <= 1:
            only = self.triggerEventInput.itemText(0).lower() if events else "no"
            ev_ok, ev_tip = False, caps.why_not("trigger_event") or (
                f"{venue} triggers on the {only} only"
            )
        elif not has_trigger:
            ev_ok, ev_tip = False, "Set a trigger price first"
        else:
            ev_ok, ev_tip = True, "Which price the trigger watches"
        self.triggerEventInput.setEnabled(ev_ok and idle)
        self.triggerEventInput.setToolTip(ev_tip)

        if not caps.close_on_trigger:
            cot_ok = False
            cot_tip = caps.why_not("close_on_trigger") or f"{venue} has no close-on-trigger option"
        elif not has_trigger:
            cot_ok, cot_tip = False, "Set a trigger price first"
        else:
            cot_ok = True
            cot_tip = "When the trigger fires, cancel open reduce-only orders to free margin"
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
            self._update_dependent_controls()
            self._show_message(
                f"{self.position.key.symbol} is now flat on {self.position.key.account}; "
                "there is nothing left to close."
            )
            return
        full_text = fmt_decimal(self.position.quantity)
        untouched = self.quantityInput.text().strip() == full_text
        self.position = position
        self._fill_position()
        if untouched and full_text != fmt_decimal(position.quantity):
            self.quantityInput.setText(fmt_decimal(position.quantity))
        else:
            self.validate()

    # ------------------------------------------------------------------ presets
    def apply_preset(self, percent: int) -> None:
        full = self.position.quantity
        if percent >= 100:
            qty = full
        else:
            qty = full * Decimal(percent) / Decimal(100)
            if self.instrument is not None:
                qty = self.instrument.round_quantity(qty)
        self.quantityInput.setText(fmt_decimal(qty))

    # ------------------------------------------------------------------ validation
    def check(self) -> _Checked:
        """Parse every field; return the request, or the error of each bad field."""
        errors: dict[FieldName, str] = {}
        pos = self.position
        inst = self.instrument
        venue = pos.key.venue.label

        quantity: Decimal | None = None
        try:
            quantity = parse_plain_decimal(self.quantityInput.text(), "quantity") \
                if self.quantityInput.text().strip() else None
            if quantity is None:
                raise FieldError("quantity", "Quantity is required.")
            if quantity > pos.quantity:
                raise FieldError(
                    "quantity",
                    f"Quantity {fmt_decimal(quantity)} is more than the position size "
                    f"{fmt_decimal(pos.quantity)}.",
                )
            if inst is not None and not inst.on_lot(quantity):
                raise FieldError(
                    "quantity",
                    f"Quantity must be a multiple of the lot size {fmt_decimal(inst.lot_size)}.",
                )
            # The venue's min/max quantity bind a partial close; a full close is sized by the
            # position itself, and stops are exempt (QFEX order-types docs).
            has_trigger = bool(self.triggerPriceInput.text().strip())
            if inst is not None and quantity < pos.quantity and not has_trigger:
                if inst.min_quantity is not None and quantity < inst.min_quantity:
                    raise FieldError(
                        "quantity",
                        f"Quantity {fmt_decimal(quantity)} is below {venue}'s minimum "
                        f"{fmt_decimal(inst.min_quantity)} for {pos.key.symbol}; close more, "
                        "or close all.",
                    )
                if inst.max_quantity is not None and quantity > inst.max_quantity:
                    raise FieldError(
                        "quantity",
                        f"Quantity {fmt_decimal(quantity)} is above {venue}'s maximum "
                        f"{fmt_decimal(inst.max_quantity)} per order for {pos.key.symbol}.",
                    )
        except FieldError as exc:
            errors[exc.field] = exc.message
            quantity = None

        limit: Decimal | None = None
        trigger_price: Decimal | None = None
        for name, edit in (("limit_price", self.limitPriceInput),
                           ("trigger_price", self.triggerPriceInput)):
            field: FieldName = "limit_price" if name == "limit_price" else "trigger_price"
            text = edit.text().strip()
            if not text or not edit.isEnabled():
                continue
            try:
                value = parse_plain_decimal(text, field)
                if inst is not None and not inst.on_tick(value):
                    raise FieldError(
                        field,
                        f"{_FIELD_LABELS[field]} must be a multiple of the tick size "
                        f"{fmt_decimal(inst.tick_size)}.",
                    )
                if inst is not None and inst.min_price is not None and value < inst.min_price:
                    raise FieldError(
                        field,
                        f"{_FIELD_LABELS[field]} {fmt_decimal(value)} is below {venue}'s "
                        f"minimum price {fmt_decimal(inst.min_price)}.",
                    )
                if inst is not None and inst.max_price is not None and value > inst.max_price:
                    raise FieldError(
                        field,
                        f"{_FIELD_LABELS[field]} {fmt_decimal(value)} is above {venue}'s "
                        f"maximum price {fmt_decimal(inst.max_price)}.",
                    )
            except FieldError as exc:
                errors[exc.field] = exc.message
                continue
            if field == "limit_price":
                limit = value
            else:
                trigger_price = value

        if (
            limit is not None
            and self.triggerPriceInput.text().strip()
            and not self.caps.limit_with_trigger
        ):
            why = self.caps.reasons.get(
                "limit_with_trigger", "a triggered close executes at market"
            )
            errors.setdefault(
                "limit_price",
                f"Limit price can't be combined with a trigger on {venue}: {why}. "
                "Clear one of the two.",
            )

        if errors or quantity is None:
            return _Checked(None, errors)

        trigger: Trigger | None = None
        if trigger_price is not None:
            trigger = Trigger(
                price=trigger_price,
                event=self.selected_trigger_event(),
                close_on_trigger=self.caps.close_on_trigger
                and self.closeOnTriggerInput.isChecked(),
            )
        tif: TimeInForce | None = None
        if limit is not None and self.caps.time_in_force:
            tif = self.selected_time_in_force()
        full = quantity == pos.quantity and self.caps.full_close
        request = CloseRequest(
            key=pos.key,
            position_side=pos.side,
            position_quantity=pos.quantity,
            quantity=None if full else quantity,
            limit_price=limit,
            trigger=trigger,
            time_in_force=tif,
            client_order_id=self._client_order_id,
            reason="closed from the positions window",
        )
        return _Checked(request, {})

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
        for name, edit in edits.items():
            bad = name in checked.errors
            if bool(edit.property("invalid")) != bad:
                edit.setProperty("invalid", bad)
                edit.style().unpolish(edit)
                edit.style().polish(edit)
            tip = checked.errors[name] if bad else self._base_tips.get(edit, "")
            edit.setToolTip(tip)
            edit.setAccessibleDescription(tip)
        self._update_trigger_hint()
        if self._flat:
            return None
        if checked.errors:
            first = next(n for n in edits if n in checked.errors)
            self._show_message(checked.errors[first])
        elif not self._busy:
            self._show_message("")
        self.sendButton.setEnabled(not self._busy and checked.request is not None)
        self._describe(checked.request)
        return checked.request

    @property
    def errors(self) -> dict[FieldName, str]:
        return self.check().errors

    def _update_trigger_hint(self) -> None:
        long = self.position.side is PositionSide.LONG
        base = (
            "Below the mark → stop-loss; above → take-profit."
            if long
            else "Above the mark → stop-loss; below → take-profit."
        )
        if not self.caps.trigger_close:
            self.triggerHint.setText("")
            return
        mark = self.position.mark_price
        text = self.triggerPriceInput.text().strip()
        try:
            price = parse_plain_decimal(text, "trigger_price") if text else None
        except FieldError:
            price = None
        if price is None or mark is None or price == mark:
            self.triggerHint.setText(base)
            return
        below = price < mark
        kind = "stop-loss" if below == long else "take-profit"
        where = "below" if below else "above"
        self.triggerHint.setText(
            f"{fmt_decimal(price)} is {where} the mark {fmt_decimal(mark)} → {kind}."
        )

    def _describe(self, request: CloseRequest | None) -> None:
        if request is None:
            self.summaryLine.setText("")
            self.previewText.setPlainText("")
            return
        qty = request.quantity if request.quantity is not None else request.position_quantity
        what = "full position" if request.quantity is None else "part"
        text = (
            f"{request.order_side.value} {fmt_decimal(qty)} {request.key.symbol} ({what}) "
        )
        if request.trigger is not None:
            text += f"when the {request.trigger.event.label.lower()} price reaches " \
                    f"{fmt_decimal(request.trigger.price)}, then "
        if request.limit_price is not None:
            text += f"at limit {fmt_decimal(request.limit_price)}"
            if request.time_in_force is not None:
                text += f" {request.time_in_force.value}"
        else:
            text += "at market"
        text += ", reduce-only."
        self.summaryLine.setText(text)
        if self._preview is not None:
            try:
                self.previewText.setPlainText(self._preview(request))
            except Exception as exc:  # a preview is informative only; say why it is missing
                self.previewText.setPlainText(f"(no preview: {exc})")

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
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    def send(self) -> None:
        if self._busy or self._flat:
            return
        request = self.validate()
        if request is None:
            return
        self._client_order_id = new_client_order_id()
        self._set_busy(True)
        self._task = self._tracker.spawn(self._send(request), name=f"close {request.key}")

    async def _send(self, request: CloseRequest) -> None:
        try:
            await self._submit(request)
        except (CloseRejected, AlreadyPending) as exc:
            self._set_busy(False)
            text = str(exc)
            if isinstance(exc, AlreadyPending):
                text += "; nothing new was sent."
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
                  *self.presetButtons.values()):
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
