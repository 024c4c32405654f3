"""The close dialog's position summary: account, venue, symbol, side, size, entry, mark and
unrealised P&L, as they are now."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QWidget

from core.model import Instrument, Position
from core.numbers import number_format
from gui.models import fmt_decimal
from gui.models.style import LOSS, PROFIT

__all__ = ["PositionSummary"]

_FIELDS = (("Account", "account"), ("Venue", "venue"), ("Symbol", "symbol"), ("Side", "side"),
           ("Size", "size"), ("Entry", "entry"), ("Mark", "mark"), ("Unrealised P&L", "pnl"))
_NUMERIC = ("size", "entry", "mark", "pnl")


class PositionSummary(QFrame):
    """Two columns of caption and value; ``labels`` holds the value labels by field name."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("positionSummary")
        self.setAccessibleName("Position")
        grid = QGridLayout(self)
        grid.setContentsMargins(12, 10, 12, 10)
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(4)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.labels: dict[str, QLabel] = {}
        for i, (caption_text, name) in enumerate(_FIELDS):
            row, col = divmod(i, 2)
            caption = QLabel(caption_text, self)
            caption.setObjectName("summaryCaption")
            value = QLabel(self)
            value.setObjectName(f"summary_{name}")
            value.setAccessibleName(caption_text)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            if name in _NUMERIC:
                value.setFont(mono)
            grid.addWidget(caption, row, col * 2)
            grid.addWidget(value, row, col * 2 + 1)
            self.labels[name] = value
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)

    def fill(self, pos: Position, inst: Instrument | None) -> None:
        s = self.labels
        s["account"].setText(pos.key.account)
        s["venue"].setText(pos.key.venue.label)
        s["symbol"].setText(pos.key.symbol)
        s["side"].setText(pos.side.value.capitalize())
        nf = number_format(inst)  # as the positions table writes them (core.numbers)
        size = nf.quantity(pos.quantity)
        if inst is not None and inst.lot_size:
            size += f"  (lot {fmt_decimal(inst.lot_size)})"
        s["size"].setText(size)
        s["entry"].setText(nf.price(pos.entry_price) or "—")
        mark = nf.price(pos.mark_price) or "—"
        if inst is not None and inst.tick_size:
            mark += f"  (tick {fmt_decimal(inst.tick_size)})"
        s["mark"].setText(mark)
        pnl = pos.unrealised_pnl
        s["pnl"].setText(nf.pnl(pnl) or "—")
        colour = PROFIT.name() if pnl is not None and pnl > 0 else (
            LOSS.name() if pnl is not None and pnl < 0 else "")  # the theme's, as the table's
        s["pnl"].setStyleSheet(f"color: {colour};" if colour else "")
