"""Small widgets: the Close-button delegate, the table views, connection badges, banners."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from core.model import ConnectionState, PositionKey, Venue
from gui.models import KEY_ROLE, PositionColumn

__all__ = [
    "CloseButtonDelegate",
    "ConnectionBadge",
    "ConnectionStrip",
    "LogView",
    "PositionsView",
    "button_rect",
]

AnyIndex = QModelIndex | QPersistentModelIndex

# (fill, border, text) per button label; the state is readable from colour and text alike.
_BUTTON_COLOURS: dict[str, tuple[str, str, str]] = {
    "Close": ("#ffffff", "#c9ced6", "#b42318"),
    "Sending…": ("#fff7e6", "#f0b45b", "#8a5300"),
    "Acknowledged": ("#fff7e6", "#f0b45b", "#8a5300"),
    "Resting": ("#eaf2ff", "#8fb3ee", "#1d4f9c"),
    "Partly filled": ("#fff7e6", "#f0b45b", "#8a5300"),
    "Rejected": ("#fdecec", "#e8a0a0", "#a31515"),
    "Unknown": ("#f3e8ff", "#b99ae6", "#5b2a9c"),
}
_PADDING_X = 8
_PADDING_Y = 3


def button_rect(cell: QRect) -> QRect:
    """Where the Close button sits inside its cell; tests click its centre."""
    return cell.adjusted(_PADDING_X, _PADDING_Y, -_PADDING_X, -_PADDING_Y)


class CloseButtonDelegate(QStyledItemDelegate):
    """Paints a push button in the action column and reports clicks on it.

    A painted button costs nothing per row, so the table scales to 10,000 positions where
    ``setIndexWidget`` would create 10,000 widgets.
    """

    clicked = Signal(object)  # PositionKey

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pressed: QPersistentModelIndex | None = None

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        if index.column() != PositionColumn.ACTION:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text = opt.text
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else None
        if style is not None:  # selection / alternate background of the cell
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        fill, border, ink = _BUTTON_COLOURS.get(text, _BUTTON_COLOURS["Unknown"])
        fill_c, border_c = QColor(fill), QColor(border)
        hovered = bool(opt.state & QStyle.StateFlag.State_MouseOver)
        pressed = self._pressed is not None and self._pressed == index
        if pressed:
            fill_c = fill_c.darker(112)
        elif hovered:
            fill_c = fill_c.darker(104)
            border_c = border_c.darker(115)
        rect = QRectF(button_rect(opt.rect)).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(border_c, 1))
        painter.setBrush(fill_c)
        painter.drawRoundedRect(rect, 4, 4)
        font = opt.font
        font.setBold(text == "Close")
        painter.setFont(font)
        painter.setPen(QColor(ink))
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), text)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        size = super().sizeHint(option, index)
        if index.column() == PositionColumn.ACTION:
            size.setWidth(max(size.width() + 2 * _PADDING_X + 16, 120))
        return size

    def editorEvent(
        self, event: QEvent, model: Any, option: QStyleOptionViewItem, index: AnyIndex
    ) -> bool:
        if index.column() != PositionColumn.ACTION or not isinstance(event, QMouseEvent):
            return super().editorEvent(event, model, option, index)
        if event.button() is not Qt.MouseButton.LeftButton:
            return False
        inside = button_rect(option.rect).contains(event.position().toPoint())
        if event.type() == QEvent.Type.MouseButtonPress:
            self._pressed = QPersistentModelIndex(index) if inside else None
            return inside
        if event.type() == QEvent.Type.MouseButtonRelease:
            was = self._pressed
            self._pressed = None
            if inside and was is not None and was == index:
                key = index.data(KEY_ROLE)
                if isinstance(key, PositionKey):
                    self.clicked.emit(key)
                return True
        return False


class PositionsView(QTableView):
    """The positions table. Enter on a selected row asks to close it, like its button."""

    closeRequested = Signal(object)  # PositionKey

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("positionsView")
        self.setAccessibleName("Open positions")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setSortingEnabled(True)
        self.setMouseTracking(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setCornerButtonEnabled(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(30)
        self.horizontalHeader().setHighlightSections(False)
        self.horizontalHeader().setStretchLastSection(False)
        self.delegate = CloseButtonDelegate(self)
        self.setItemDelegate(self.delegate)
        self.delegate.clicked.connect(self.closeRequested)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            index = self.currentIndex()
            key = index.data(KEY_ROLE) if index.isValid() else None
            if isinstance(key, PositionKey):
                self.closeRequested.emit(key)
                event.accept()
                return
        super().keyPressEvent(event)


class LogView(QTableView):
    """The order log. Follows new lines while the user is at the bottom, and stays put when
    they have scrolled up to read."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("logView")
        self.setAccessibleName("Order and connection log")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setCornerButtonEnabled(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(22)
        self.horizontalHeader().setHighlightSections(False)
        self.horizontalHeader().setStretchLastSection(True)
        self._follow = True

    def setModel(self, model: Any) -> None:
        old = self.model()
        if old is not None:
            old.rowsAboutToBeInserted.disconnect(self._before_insert)
            old.rowsInserted.disconnect(self._after_insert)
        super().setModel(model)
        if model is not None:
            model.rowsAboutToBeInserted.connect(self._before_insert)
            model.rowsInserted.connect(self._after_insert)

    def at_bottom(self) -> bool:
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum() - 2

    def _before_insert(self, *_: object) -> None:
        self._follow = self.at_bottom()

    def _after_insert(self, *_: object) -> None:
        if self._follow:
            self.scrollToBottom()


_STATE_COLOURS = {
    ConnectionState.CONNECTING: "#d99a00",
    ConnectionState.CONNECTED: "#1b9e4b",
    ConnectionState.DISCONNECTED: "#8a8f98",
    ConnectionState.FAILED: "#d32f2f",
}


class ConnectionBadge(QWidget):
    """A coloured dot and "<account>: <state>"; the venue's message is the tooltip."""

    def __init__(self, account: str, venue: Venue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.account = account
        self.venue = venue
        self.state = ConnectionState.CONNECTING
        self.message = ""
        self.setObjectName("connectionBadge")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        layout.setSpacing(6)
        self.dot = QLabel(self)
        self.dot.setObjectName("connectionDot")
        self.dot.setFixedSize(10, 10)
        self.label = QLabel(self)
        self.label.setObjectName("connectionText")
        layout.addWidget(self.dot)
        layout.addWidget(self.label)
        self.set_state(ConnectionState.CONNECTING, "")

    def set_state(self, state: ConnectionState, message: str) -> None:
        self.state = state
        self.message = message
        self.dot.setStyleSheet(
            f"background-color: {_STATE_COLOURS[state]}; border-radius: 5px;"
        )
        self.label.setText(f"{self.account}: {state.value}")
        tip = f"{self.venue.label} — {self.account}: {state.value}"
        if message:
            tip += f"\n{message}"
        self.setToolTip(tip)
        self.setAccessibleName(f"{self.account} connection")
        self.setAccessibleDescription(f"{state.value}. {message}".strip())


class ConnectionStrip(QWidget):
    """One badge per account, in the order accounts first appear."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("connectionStrip")
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self._layout.addStretch(1)
        self.badges: dict[str, ConnectionBadge] = {}

    def badge(self, account: str, venue: Venue) -> ConnectionBadge:
        badge = self.badges.get(account)
        if badge is None:
            badge = ConnectionBadge(account, venue, self)
            self.badges[account] = badge
            self._layout.insertWidget(self._layout.count() - 1, badge)
        return badge

    def set_state(
        self, account: str, venue: Venue, state: ConnectionState, message: str = ""
    ) -> None:
        self.badge(account, venue).set_state(state, message)
