"""The totals strip under the positions table: how many positions, their notional and their
unrealised P&L over the rows the filters let through ("filtered: 12 of 40"), a line per venue,
and on demand a line per account. Each figure is per quote currency (``core.totals``).

Lines that could run past the window's width are elided, with the whole text in their tooltip:
at the minimum window size the strip never widens the window nor wraps under the table.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui.models.style import LOSS, PROFIT

__all__ = ["ElidedLabel", "TotalsStrip"]


class ElidedLabel(QLabel):
    """One line of plain text, cut with "…" when it does not fit; the whole of it is the
    tooltip. Asks for no width of its own."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())

    def set_line(self, text: str) -> None:
        if text != self.text():
            self.setText(text)
            self.setToolTip(text)
            self.setAccessibleDescription(text)

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = self.contentsRect()
        shown = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight,
                                              rect.width())
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                         shown)
        painter.end()


class TotalsStrip(QFrame):
    """Shows what it is given (``gui.controllers.totals`` works the figures out)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("totalsStrip")
        self.setAccessibleName("Totals")
        # Its colours are the theme's, in the app's style sheet (resources/style.qss).
        outer = QVBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 0)
        outer.setSpacing(2)
        top = QHBoxLayout()
        top.setSpacing(12)
        self.scope = QLabel(self)
        self.scope.setObjectName("totalsScope")
        font = self.scope.font()
        font.setBold(True)
        self.scope.setFont(font)
        self.notional = QLabel(self)
        self.notional.setObjectName("totalsNotional")
        self.pnl = QLabel(self)
        self.pnl.setObjectName("totalsPnl")
        self.pnl.setFont(font)
        self.incomplete = QLabel(self)
        self.incomplete.setObjectName("totalsIncomplete")
        self.incomplete.setToolTip("Positions without a mark or without P&L are counted but "
                                   "cannot be added: the total is incomplete")
        for label in (self.scope, self.notional, self.pnl, self.incomplete):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            top.addWidget(label)
        top.addStretch(1)
        self.accountsToggle = QToolButton(self)
        self.accountsToggle.setObjectName("totalsAccountsToggle")
        self.accountsToggle.setText("Per account")
        self.accountsToggle.setCheckable(True)
        self.accountsToggle.setAutoRaise(True)
        self.accountsToggle.setToolTip("Show a line of totals per account")
        self.accountsToggle.toggled.connect(self._show_accounts)
        top.addWidget(self.accountsToggle)
        outer.addLayout(top)
        self.venues = ElidedLabel(self)
        self.venues.setObjectName("totalsVenues")
        self.venues.setAccessibleName("Totals per venue")
        outer.addWidget(self.venues)
        self.accounts = ElidedLabel(self)
        self.accounts.setObjectName("totalsAccounts")
        self.accounts.setAccessibleName("Totals per account")
        self.accounts.setVisible(False)
        outer.addWidget(self.accounts)

    def _show_accounts(self, shown: bool) -> None:
        self.accounts.setVisible(shown)

    def show_totals(self, scope: str, notional: str, pnl: str, sign: int, incomplete: str,
                    venues: str, accounts: str, details: str) -> None:
        """``sign``: the P&L's sign when it is one figure (colours it), else 0."""
        _set(self.scope, scope)
        _set(self.notional, notional)
        _set(self.pnl, pnl)
        # Read at each use: the theme sets PROFIT and LOSS in place (gui.models.style).
        style = (f"color: {PROFIT.name()};" if sign > 0 else
                 f"color: {LOSS.name()};" if sign < 0 else "")
        if self.pnl.styleSheet() != style:
            self.pnl.setStyleSheet(style)
        _set(self.incomplete, incomplete)
        self.incomplete.setVisible(bool(incomplete))
        self.venues.set_line(venues)
        self.accounts.set_line(accounts)
        if self.toolTip() != details:
            self.setToolTip(details)
            self.scope.setToolTip(details)
            self.setAccessibleDescription(details)


def _set(label: QLabel, text: str) -> None:
    if label.text() != text:
        label.setText(text)
