"""Small widgets: the painted-button delegates, the table views, connection badges."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
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
from PySide6.QtGui import QColor, QFont, QFontMetrics, QKeyEvent, QMouseEvent, QPainter, QPen
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

from core.model import ConnectionState, PositionKey, SessionHealth, Venue
from gui.models import BUTTON_ROLE, KEY_ROLE, PositionColumn, WorkingColumn

__all__ = [
    "SKEW_NOTABLE_MS",
    "ButtonDelegate",
    "CancelButtonDelegate",
    "CloseButtonDelegate",
    "ConnectionBadge",
    "ConnectionStrip",
    "LogView",
    "PositionsView",
    "WorkingOrdersView",
    "button_rect",
    "fmt_skew",
    "silence_limit",
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
_CANCEL_COLOURS: dict[str, tuple[str, str, str]] = {
    "Cancel": ("#ffffff", "#c9ced6", "#374151"),
    "Cancelling…": ("#fff7e6", "#f0b45b", "#8a5300"),
    "Cancelled": ("#f3f4f6", "#dde1e6", "#6b7280"),
    "Refused": ("#fdecec", "#e8a0a0", "#a31515"),  # the last cancel was refused; try again
}
_MARKER_INK = "#1d4f9c"  # "· 2 working" after the Close label
_PADDING_X = 8
_PADDING_Y = 3


def button_rect(cell: QRect) -> QRect:
    """Where the Close button sits inside its cell; tests click its centre."""
    return cell.adjusted(_PADDING_X, _PADDING_Y, -_PADDING_X, -_PADDING_Y)


class ButtonDelegate(QStyledItemDelegate):
    """Paints a push button in one column and reports clicks on it with the row's KEY_ROLE.

    A painted button costs nothing per row, so a table scales to 10,000 rows where
    ``setIndexWidget`` would create 10,000 widgets. BUTTON_ROLE names the button's state, which
    picks its colours; any text after that label (a marker such as "· 2 working") is painted
    in a quieter ink.
    """

    clicked = Signal(object)  # the row's KEY_ROLE value

    def __init__(
        self,
        column: int,
        colours: Mapping[str, tuple[str, str, str]],
        default: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.column = column
        self.colours = colours
        self.default = default  # the idle label: painted bold, the colours of last resort
        self._pressed: QPersistentModelIndex | None = None

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        if index.column() != self.column:
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
        state = index.data(BUTTON_ROLE)
        label = state if isinstance(state, str) else text
        fill, border, ink = self.colours.get(label, self.colours[self.default])
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
        head, marker = (text, "")
        shown = text.partition(" · ")
        if shown[1]:
            head, marker = shown[0], " · " + shown[2]
        bold = QFont(opt.font)
        bold.setBold(head == self.default)
        plain = QFont(opt.font)
        plain.setBold(False)
        w_head = QFontMetrics(bold).horizontalAdvance(head)
        w_marker = QFontMetrics(plain).horizontalAdvance(marker) if marker else 0
        left = rect.left() + max(0.0, (rect.width() - w_head - w_marker) / 2)
        centre_v = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        painter.setFont(bold)
        painter.setPen(QColor(ink))
        head_rect = QRectF(left, rect.top(), w_head + 1, rect.height())
        painter.drawText(head_rect, centre_v, head)
        if marker:
            painter.setFont(plain)
            painter.setPen(QColor(_MARKER_INK))
            rest = QRectF(left + w_head, rect.top(), rect.right() - left - w_head, rect.height())
            painter.drawText(rest, centre_v, marker)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        size = super().sizeHint(option, index)
        if index.column() == self.column:
            size.setWidth(max(size.width() + 2 * _PADDING_X + 16, 120))
        return size

    def editorEvent(
        self, event: QEvent, model: Any, option: QStyleOptionViewItem, index: AnyIndex
    ) -> bool:
        if index.column() != self.column or not isinstance(event, QMouseEvent):
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
                if key is not None:
                    self.clicked.emit(key)
                return True
        return False


class CloseButtonDelegate(ButtonDelegate):
    """The positions table's Close button; its label follows the latest close of the row."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(PositionColumn.ACTION, _BUTTON_COLOURS, "Close", parent)


class CancelButtonDelegate(ButtonDelegate):
    """The working-orders table's Cancel button ("Cancelling…" while the cancel is out)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(WorkingColumn.ACTION, _CANCEL_COLOURS, "Cancel", parent)


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


class WorkingOrdersView(QTableView):
    """Orders resting at the venues, each with a Cancel button (one click, sent once)."""

    cancelRequested = Signal(object)  # (account, order id)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("workingOrdersView")
        self.setAccessibleName("Working orders")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setMouseTracking(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setCornerButtonEnabled(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(28)
        self.horizontalHeader().setHighlightSections(False)
        self.horizontalHeader().setStretchLastSection(False)
        self.delegate = CancelButtonDelegate(self)
        self.setItemDelegate(self.delegate)
        self.delegate.clicked.connect(self.cancelRequested)


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


_GREEN, _AMBER, _RED = "#1b9e4b", "#d99a00", "#d32f2f"
_STATE_COLOURS = {
    ConnectionState.CONNECTING: _AMBER,
    ConnectionState.CONNECTED: _GREEN,
    ConnectionState.DISCONNECTED: _RED,
    ConnectionState.FAILED: _RED,
}
_TONES = {_GREEN: "good", _AMBER: "warn", _RED: "bad"}

SKEW_NOTABLE_MS = 50.0  # a smaller clock skew is noise: it stays in the tooltip, off the badge


def silence_limit(keepalive_s: float) -> float:
    """How long a connected venue may say nothing before its numbers count as stale: one and a
    half keep-alive periods and at least two seconds over one, so a merely late ping does not
    make the badge flicker."""
    return max(keepalive_s * 1.5, keepalive_s + 2.0)


def fmt_skew(ms: float) -> str:
    """Venue clock minus ours: "+120 ms" means the venue is ahead."""
    return f"{round(ms):+d} ms"


def fmt_clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).strftime("%H:%M:%S")


class ConnectionBadge(QWidget):
    """A coloured dot and "<account>: <state>", plus the clock skew when it matters.

    Green is connected and talking; amber is connecting, or connected but silent for longer
    than the venue's keep-alive ("stale"); red is disconnected or failed. The tooltip carries
    the venue's message and the session's health figures.
    """

    def __init__(self, account: str, venue: Venue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.account = account
        self.venue = venue
        self.state = ConnectionState.CONNECTING
        self.message = ""
        self.since: float | None = None  # wall time the outage began, while not connected
        self.health: SessionHealth | None = None
        self.silent_for: float | None = None  # seconds of silence, once past the limit
        self._health_now = 0.0
        self._tone = ""
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

    @property
    def stale(self) -> bool:
        """Connected, but nothing heard for longer than the venue's keep-alive allows."""
        return self.state is ConnectionState.CONNECTED and self.silent_for is not None

    @property
    def word(self) -> str:
        return "stale" if self.stale else self.state.value

    def set_state(
        self, state: ConnectionState, message: str, since: float | None = None
    ) -> None:
        self.state = state
        self.message = message
        self.since = None if state is ConnectionState.CONNECTED else since
        self._render()

    def set_health(self, health: SessionHealth, now: float) -> None:
        """Fresh health figures; ``now`` is time.monotonic(), the clock of last_message_at."""
        self.health = health
        self._health_now = now
        self.silent_for = None
        if health.keepalive_s is not None and health.last_message_at is not None:
            quiet = now - health.last_message_at
            if quiet > silence_limit(health.keepalive_s):
                self.silent_for = quiet
        self._render()

    def health_lines(self) -> list[str]:
        h = self.health
        if h is None:
            return []
        lines = []
        if self.stale and self.silent_for is not None and h.keepalive_s is not None:
            lines.append(
                f"Nothing heard for {self.silent_for:.0f} s; the venue's keep-alive is "
                f"{h.keepalive_s:g} s, so its numbers may be out of date"
            )
        if h.last_message_at is not None:
            ago = max(0.0, self._health_now - h.last_message_at)
            lines.append(f"Last message: {ago:.0f} s ago")
        if h.rtt_ms is not None:
            lines.append(f"REST round trip: {h.rtt_ms:.0f} ms")
        if h.skew_ms is not None:
            lines.append(f"Clock skew: {fmt_skew(h.skew_ms)}")
        if h.rate_headroom is not None:
            lines.append(f"Rate headroom: {h.rate_headroom * 100:.0f} %")
        return lines

    def _render(self) -> None:
        colour = _AMBER if self.stale else _STATE_COLOURS[self.state]
        tone = _TONES[colour]
        if tone != self._tone:
            self._tone = tone
            self.dot.setStyleSheet(f"background-color: {colour}; border-radius: 5px;")
            self.setProperty("tone", tone)
            self.style().unpolish(self)
            self.style().polish(self)
        text = f"{self.account}: {self.word}"
        skew = self.health.skew_ms if self.health is not None else None
        if skew is not None and abs(skew) >= SKEW_NOTABLE_MS:
            text += f" · skew {fmt_skew(skew)}"
        lines = [f"{self.venue.label} — {self.account}: {self.word}"]
        if self.message:
            lines.append(self.message)
        if self.since is not None:
            lines.append(f"Disconnected since {fmt_clock(self.since)}")
        lines.extend(self.health_lines())
        tip = "\n".join(lines)
        if self.label.text() != text:
            self.label.setText(text)
        if self.toolTip() != tip:
            self.setToolTip(tip)
            self.setAccessibleName(f"{self.account} connection")
            self.setAccessibleDescription(". ".join([self.word, *lines[1:]]))


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
        self,
        account: str,
        venue: Venue,
        state: ConnectionState,
        message: str = "",
        since: float | None = None,
    ) -> None:
        self.badge(account, venue).set_state(state, message, since)
