"""The close dialog's fields: quantity and presets, the dust offer, limit price and time in
force, trigger price, source and helper, close on trigger, and the reason.

The venue's capabilities decide which fields are enabled, and a disabled field says why in its
tooltip. The form reads its fields into :class:`core.closing.form.Fields` (as ``closeout close``
reads its options) and shows a check's result at the fields; the dialog owns the position and
decides what to send.
"""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from core.closing.form import REASON_MAX, Checked, Fields, parse_plain_decimal
from core.closing.rules import (
    EVENT_ORDER,
    FieldError,
    FieldName,
    capability_reason,
    round_quantity,
)
from core.closing.words import price_text, quantity_text
from core.model import (
    Capabilities,
    Instrument,
    MarkUpdate,
    Position,
    PositionSide,
    TimeInForce,
    TriggerEvent,
)
from gui.dialogs.close.text import CLOSE_ON_TRIGGER_NOTE
from gui.dialogs.close.trigger_helper import TriggerHelper
from gui.models import fmt_decimal

__all__ = ["PRESETS", "CloseForm"]

PRESETS = (25, 50, 75, 100)
_TIF_LABELS = {
    TimeInForce.GTC: "GTC — rest until filled",
    TimeInForce.IOC: "IOC — fill now, cancel the rest",
    TimeInForce.FOK: "FOK — fill all now or nothing",
}


class CloseForm(QWidget):
    """The fields of one close, in a form layout."""

    edited = Signal()  # any field changed
    presetChosen = Signal(int)  # a preset button, or "Close all instead" (100)
    grew = Signal()  # a row or a warning appeared: the dialog should make room for it

    def __init__(self, caps: Capabilities, instrument: Instrument | None, venue: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("closeForm")
        self.caps = caps
        self.instrument = instrument
        self.venue = venue  # its label, for the tooltips that say why a field is disabled
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self._base_tips: dict[QWidget, str] = {}
        self._busy = False
        self._build()
        self._apply_capabilities()
        for edit in (self.quantityInput, self.limitPriceInput, self.triggerPriceInput,
                     self.reasonInput):
            edit.textChanged.connect(self.edited)
        self.triggerEventInput.currentIndexChanged.connect(self.edited)
        self.timeInForceInput.currentIndexChanged.connect(self.edited)
        self.closeOnTriggerInput.toggled.connect(self.edited)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        form = QFormLayout(self)
        self._form = form
        form.setContentsMargins(0, 0, 0, 0)
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(7)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._build_quantity(form)
        self._build_prices(form)

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

    def _build_quantity(self, form: QFormLayout) -> None:
        self.quantityInput = self._number_input("quantityInput", "Quantity to close")
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
            button.clicked.connect(lambda _=False, p=pct: self.presetChosen.emit(p))
            qty_row.addWidget(button)
            self.presetButtons[pct] = button
            shortcut = QShortcut(QKeySequence(f"Ctrl+{n}"), self)
            shortcut.setObjectName(f"presetShortcut{pct}")
            shortcut.activated.connect(lambda p=pct: self.press_preset(p))
        label = QLabel("&Quantity", self)
        label.setBuddy(self.quantityInput)
        form.addRow(label, qty_row)

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
        self.closeAllButton.clicked.connect(lambda: self.presetChosen.emit(100))
        dl.addWidget(self.closeAllButton, 0, Qt.AlignmentFlag.AlignVCenter)
        form.addRow("", self.dustPanel)
        form.setRowVisible(self.dustPanel, False)

    def _build_prices(self, form: QFormLayout) -> None:
        self.limitPriceInput = self._number_input("limitPriceInput",
                                                  "Limit price (empty for market)")
        self.limitPriceInput.setPlaceholderText("Market")
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
        self.triggerPriceInput = self._number_input("triggerPriceInput",
                                                    "Trigger price (empty for no trigger)")
        self.triggerPriceInput.setPlaceholderText("None")
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
        self.triggerHelper = TriggerHelper(self.caps, self.instrument, self)
        self.triggerHelper.grew.connect(self.grew)
        form.addRow("", self.triggerHelper)

    def _number_input(self, name: str, accessible: str) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setObjectName(name)
        edit.setAccessibleName(accessible)
        edit.setFont(self._mono)
        edit.setAlignment(Qt.AlignmentFlag.AlignRight)
        return edit

    def _will_send_label(self, name: str) -> QLabel:
        label = QLabel(self)
        label.setObjectName(name)
        label.setProperty("role", "willSend")
        label.setAccessibleName("Will send")
        label.setFont(self._mono)
        label.setVisible(False)
        return label

    # ------------------------------------------------------------------ capabilities
    def _apply_capabilities(self) -> None:
        caps = self.caps
        venue = self.venue
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
        self.update_dependent_controls(idle=True)

    def update_dependent_controls(self, *, idle: bool) -> None:
        """Enable what the venue supports *and* what the other fields make meaningful; nothing
        while a send is in flight or the position is flat (not ``idle``)."""
        caps = self.caps
        venue = self.venue
        has_limit = bool(self.limitPriceInput.text().strip())
        has_trigger = bool(self.triggerPriceInput.text().strip())

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

    def press_preset(self, percent: int) -> None:
        """Ctrl+1..4: the preset, as its button would, unless it is disabled or busy."""
        if self.presetButtons[percent].isEnabled() and not self._busy:
            self.presetChosen.emit(percent)

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        for w in (self.quantityInput, self.limitPriceInput, self.triggerPriceInput,
                  self.reasonInput, *self.presetButtons.values()):
            w.setProperty("busy", busy)

    # ------------------------------------------------------------------ reading
    def fields(self) -> Fields:
        """The fields as typed; a disabled price field is not given."""

        def given(edit: QLineEdit) -> str | None:
            return edit.text() if edit.isEnabled() else None

        limit = given(self.limitPriceInput)
        trigger = given(self.triggerPriceInput)
        has_limit = bool(limit and limit.strip())
        has_trigger = bool(trigger and trigger.strip())
        tif = self.selected_time_in_force() if has_limit else None
        return Fields(
            quantity=self.quantityInput.text(),
            limit_price=limit,
            time_in_force=tif.value if tif is not None else None,
            trigger_price=trigger,
            trigger_event=self.selected_trigger_event().value if has_trigger else None,
            close_on_trigger=has_trigger and self.caps.close_on_trigger
            and self.closeOnTriggerInput.isChecked(),
            reason=self.reasonInput.text(),
        )

    def selected_trigger_event(self) -> TriggerEvent:
        data = self.triggerEventInput.currentData()
        return TriggerEvent(data) if data else TriggerEvent.MARK

    def selected_time_in_force(self) -> TimeInForce | None:
        data = self.timeInForceInput.currentData()
        return TimeInForce(data) if data else None

    def typed_quantity(self) -> Decimal | None:
        """The quantity typed, rounded down to the lot; None when it is not a number."""
        try:
            typed = parse_plain_decimal(self.quantityInput.text(), "quantity")
        except FieldError:
            return None
        return round_quantity(typed, self.instrument)

    # ------------------------------------------------------------------ showing a check
    def show_check(self, checked: Checked, pos: Position) -> None:
        """Mark bad fields red with their reason, and show what rounding and dust say."""
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
        self._show_rounding(checked, pos)
        self._show_dust(checked.dust if "quantity" not in messages else None, pos)

    def show_trigger_hint(self, pos: Position, mark: MarkUpdate | None) -> None:
        self.triggerHelper.show_for(pos, self.selected_trigger_event(),
                                    self.triggerPriceInput.text(), mark)

    def _show_rounding(self, checked: Checked, pos: Position) -> None:
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
                way = "up" if pos.side is PositionSide.LONG else "down"
                why = (f"Rounded {way} to the tick {fmt_decimal(inst.tick_size if inst else None)}"
                       ", so the limit is never worse than typed")
            else:
                why = (f"Rounded to the nearest tick "
                       f"{fmt_decimal(inst.tick_size if inst else None)}")
            label.setToolTip(f"{why}; exactly this number is sent.")
            label.setVisible(True)

    def _show_dust(self, dust: Decimal | None, pos: Position) -> None:
        inst = self.instrument
        if dust is None or inst is None:
            self._form.setRowVisible(self.dustPanel, False)
            return
        self.dustMessage.setText(
            f"This leaves {fmt_decimal(dust)} open, below {pos.key.venue.label}'s minimum order "
            f"size {fmt_decimal(inst.min_quantity)} for {pos.key.symbol}: no partial close "
            "could ever close it.")
        if self.dustPanel.isHidden():
            self._form.setRowVisible(self.dustPanel, True)
            self.grew.emit()
