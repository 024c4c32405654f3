"""The trigger helper under the trigger price: the prices a trigger can watch, now; which kind
of stop the typed price makes; and a warning when it would fire at once."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from core.closing.form import parse_plain_decimal
from core.closing.rules import EVENT_ORDER, FieldError, round_trigger_price
from core.closing.words import price_text
from core.model import Capabilities, Instrument, MarkUpdate, Position, PositionSide, TriggerEvent

__all__ = ["TriggerHelper"]

# A trigger this close to its reference price may fire as soon as it reaches the venue: the
# price we show is a moment old. Two ticks, or 0.05 % of the price, whichever is wider.
_NEAR_TICKS = 2
_NEAR_FRACTION = Decimal("0.0005")


def _set_tone(widget: QWidget, tone: str) -> None:
    if widget.property("tone") != tone:
        widget.setProperty("tone", tone)
        widget.style().unpolish(widget)
        widget.style().polish(widget)


def _reference(event: TriggerEvent, mark: MarkUpdate | None, pos: Position) -> Decimal | None:
    if event is TriggerEvent.INDEX:
        return mark.index if mark is not None else None
    if event is TriggerEvent.LAST:
        return mark.last if mark is not None else None
    if mark is not None:
        return mark.mark
    return pos.mark_price


class TriggerHelper(QWidget):
    """Three lines under the trigger price; says nothing for a venue without triggers."""

    grew = Signal()  # the warning appeared: the dialog should make room for it

    def __init__(self, caps: Capabilities, instrument: Instrument | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("triggerHelper")
        self.caps = caps
        self.instrument = instrument
        hl = QVBoxLayout(self)
        hl.setContentsMargins(0, 0, 0, 0)
        hl.setSpacing(2)
        self.referencePrices = QLabel(self)
        self.referencePrices.setObjectName("referencePrices")
        self.referencePrices.setAccessibleName("Reference prices")
        self.referencePrices.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.referencePrices.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        hl.addWidget(self.referencePrices)
        self.triggerHint = QLabel(self)
        self.triggerHint.setObjectName("triggerHint")
        self.triggerHint.setAccessibleName("Trigger hint")
        self.triggerHint.setWordWrap(True)
        hl.addWidget(self.triggerHint)
        self.triggerWarning = QLabel(self)
        self.triggerWarning.setObjectName("triggerWarning")
        self.triggerWarning.setAccessibleName("Trigger warning")
        self.triggerWarning.setWordWrap(True)
        self.triggerWarning.setVisible(False)
        hl.addWidget(self.triggerWarning)

    def _price(self, value: Decimal | None) -> str:
        """A price as the table writes it: the tick's decimals (core.numbers)."""
        return price_text(value, self.instrument)

    def show_for(self, pos: Position, event: TriggerEvent, typed: str,
                 mark: MarkUpdate | None) -> None:
        """Say where ``typed`` (the trigger price field) lies against ``event``'s price."""
        long = pos.side is PositionSide.LONG
        if not self.caps.trigger_close:
            self.triggerHint.setText("")
            self.referencePrices.setText("")
            self.triggerWarning.setVisible(False)
            return
        parts = []
        for each in EVENT_ORDER:
            if each in self.caps.trigger_events or each is TriggerEvent.MARK:
                ref = _reference(each, mark, pos)
                parts.append(f"{each.label} {self._price(ref) or '—'}")
        self.referencePrices.setText("now: " + " · ".join(parts))
        name = "mark" if event is TriggerEvent.MARK else f"{event.label.lower()} price"
        base = (
            f"Below the {name} → stop-loss; above → take-profit."
            if long
            else f"Above the {name} → stop-loss; below → take-profit."
        )
        ref = _reference(event, mark, pos)
        text = typed.strip()
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
            warning, tone = (f"⚠ {self._price(price)} is the current {name}: the trigger would "
                             "fire at once."), "bad"
        else:
            below = price < ref
            kind = "stop-loss" if below == long else "take-profit"
            where = "below" if below else "above"
            self.triggerHint.setText(
                f"{self._price(price)} is {where} the {name} {self._price(ref)} → {kind}.")
            tick = self.instrument.tick_size if self.instrument is not None else None
            near = max((tick or Decimal(0)) * _NEAR_TICKS, abs(ref) * _NEAR_FRACTION)
            if abs(price - ref) <= near:
                warning, tone = (f"⚠ Only {self._price(abs(price - ref))} from the {name}: it may "
                                 "fire as soon as it reaches the venue."), "warn"
        self.triggerWarning.setText(warning)
        _set_tone(self.triggerWarning, tone)
        if self.triggerWarning.isHidden() == bool(warning):
            self.triggerWarning.setVisible(bool(warning))
            if warning:
                self.grew.emit()
