"""Small widgets: the painted-button delegates, the table views, connection badges and the
health strip.

Health thresholds (the strip under the header, one panel per account; amber, then red):

* last message: amber once a connected venue has said nothing for longer than its keep-alive
  allows (``core.desk.freshness.silence_limit``: 1.5 keep-alive periods, and at least 2 s over
  one, so a merely late ping does not flicker), red past 3 keep-alive periods; the state then
  reads "stale" even though the socket is open;
* REST round trip: amber from 500 ms, red from 2 s;
* clock skew (venue minus ours): amber beyond ±500 ms, red beyond ±2 s (Everstrike refuses a
  request whose timestamp is off by more than its receive window, 5 s by default);
* rate-limit headroom: amber below 25 %, red below 5 %.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from core.desk.freshness import silence_limit, silent_for
from core.model import ConnectionState, Environment, PositionKey, SessionHealth, Venue
from gui.models import (
    BUTTON_ROLE,
    ENV_COLOURS,
    ENV_ROLE,
    KEY_ROLE,
    RESIDUAL_ROLE,
    PositionColumn,
    WorkingColumn,
    env_label,
)

__all__ = [
    "HEADROOM_AMBER",
    "HEADROOM_RED",
    "RTT_AMBER_MS",
    "RTT_RED_MS",
    "SILENCE_RED_FACTOR",
    "SKEW_AMBER_MS",
    "SKEW_NOTABLE_MS",
    "SKEW_RED_MS",
    "ButtonDelegate",
    "CancelButtonDelegate",
    "CloseButtonDelegate",
    "ConnectionBadge",
    "ConnectionStrip",
    "EnvChip",
    "EnvChipDelegate",
    "HealthFigure",
    "HealthPanel",
    "HealthStrip",
    "LogView",
    "PositionsView",
    "WorkingOrdersView",
    "button_rect",
    "fmt_age",
    "fmt_skew",
    "health_figures",
    "residual_button_rect",
    "silence_limit",
]

AnyIndex = QModelIndex | QPersistentModelIndex

# (fill, border, text) per button label; the state is readable from colour and text alike.
_BUTTON_COLOURS: dict[str, tuple[str, str, str]] = {
    "Close": ("#ffffff", "#c9ced6", "#b42318"),
    "Sending…": ("#fff7e6", "#f0b45b", "#8a5300"),
    "Acknowledged": ("#fff7e6", "#f0b45b", "#8a5300"),
    "Resting": ("#eaf2ff", "#8fb3ee", "#1d4f9c"),
    "Partly filled": ("#fff1d6", "#d98a00", "#7a4100"),
    "Rejected": ("#fdecec", "#e8a0a0", "#a31515"),
    "Unknown": ("#f3e8ff", "#b99ae6", "#5b2a9c"),
    "Filled": ("#ecf7ef", "#9fd3b0", "#1b6b3a"),
    "Verified flat": ("#ecf7ef", "#6cbf86", "#1b6b3a"),
    "Not filled": ("#f3f4f6", "#c9ced6", "#8a5300"),
    "Cancelled": ("#f3f4f6", "#dde1e6", "#4b5563"),
    "Mismatch": ("#c62828", "#8e1b1b", "#ffffff"),  # the red banner: the venue disagrees
    "Flash": ("#ffe066", "#d99a00", "#4a3500"),  # "this is the close you already sent"
}
_BADGE_COLOURS = ("#fff1d6", "#f0b45b", "#7a4100")  # the "residual N" badge
_RESIDUAL_SPLIT = 0.42  # the badge takes this share of a residual row's Close cell
_CANCEL_COLOURS: dict[str, tuple[str, str, str]] = {
    "Cancel": ("#ffffff", "#c9ced6", "#374151"),
    "Cancelling…": ("#fff7e6", "#f0b45b", "#8a5300"),
    "Cancelled": ("#f3f4f6", "#dde1e6", "#6b7280"),
    "Refused": ("#fdecec", "#e8a0a0", "#a31515"),  # the last cancel was refused; try again
}
_PADDING_X = 8
_PADDING_Y = 3


def button_rect(cell: QRect) -> QRect:
    """Where the Close button sits inside its cell; tests click its centre."""
    return cell.adjusted(_PADDING_X, _PADDING_Y, -_PADDING_X, -_PADDING_Y)


def _split(cell: QRect) -> tuple[QRect, QRect]:
    inner = button_rect(cell)
    badge_w = int(inner.width() * _RESIDUAL_SPLIT)
    badge = QRect(inner.left(), inner.top(), badge_w - 3, inner.height())
    button = QRect(inner.left() + badge_w + 3, inner.top(), inner.width() - badge_w - 3,
                   inner.height())
    return badge, button


def residual_button_rect(cell: QRect) -> QRect:
    """Where "Close residual" sits in a residual row's Close cell (the badge is left of it)."""
    return _split(cell)[1]


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
        opt, text = self._background(painter, option, index)
        state = index.data(BUTTON_ROLE)
        label = state if isinstance(state, str) else text
        hovered = bool(opt.state & QStyle.StateFlag.State_MouseOver)
        pressed = self._pressed is not None and self._pressed == index
        self._draw_button(painter, QRectF(button_rect(opt.rect)), opt.font, label, text,
                          hovered=hovered, pressed=pressed)

    def _background(
        self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex
    ) -> tuple[QStyleOptionViewItem, str]:
        """Paint the cell's own background (selection, alternate rows, a row banner) and
        return its options and text."""
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text = opt.text
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        return opt, text

    def _draw_button(
        self,
        painter: QPainter,
        rect: QRectF,
        font: QFont,
        label: str,
        text: str,
        *,
        hovered: bool = False,
        pressed: bool = False,
        colours: tuple[str, str, str] | None = None,
    ) -> None:
        """A rounded button: the head of ``text`` bold in the state's ink, anything after
        " · " (a reason, "2 working") in the same ink, plain, elided to fit."""
        fill, border, ink = colours or self.colours.get(label, self.colours[self.default])
        fill_c, border_c = QColor(fill), QColor(border)
        if pressed:
            fill_c = fill_c.darker(112)
        elif hovered:
            fill_c = fill_c.darker(104)
            border_c = border_c.darker(115)
        rect = rect.adjusted(0.5, 0.5, -0.5, -0.5)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(border_c, 1))
        painter.setBrush(fill_c)
        painter.drawRoundedRect(rect, 4, 4)
        head, sep, rest = text.partition(" · ")
        marker = " · " + rest if sep else ""
        bold = QFont(font)
        bold.setBold(True)
        plain = QFont(font)
        plain.setBold(False)
        room = rect.width() - 10
        w_head = QFontMetrics(bold).horizontalAdvance(head)
        if w_head > room:
            head = QFontMetrics(bold).elidedText(head, Qt.TextElideMode.ElideRight, int(room))
            w_head = QFontMetrics(bold).horizontalAdvance(head)
            marker = ""
        if marker:
            marker = QFontMetrics(plain).elidedText(
                marker, Qt.TextElideMode.ElideRight, int(room - w_head))
        w_marker = QFontMetrics(plain).horizontalAdvance(marker) if marker else 0
        left = rect.left() + max(5.0, (rect.width() - w_head - w_marker) / 2)
        centre_v = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        painter.setFont(bold)
        painter.setPen(QColor(ink))
        painter.drawText(QRectF(left, rect.top(), w_head + 1, rect.height()), centre_v, head)
        if marker:
            painter.setFont(plain)
            painter.drawText(
                QRectF(left + w_head, rect.top(), rect.right() - left - w_head, rect.height()),
                centre_v, marker)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        size = super().sizeHint(option, index)
        if index.column() == self.column:
            size.setWidth(max(size.width() + 2 * _PADDING_X + 16, 120))
        return size

    def hit_rect(self, cell: QRect, index: AnyIndex) -> QRect:
        """The clickable part of the cell."""
        return button_rect(cell)

    def _emit_click(self, index: AnyIndex, key: object) -> None:
        self.clicked.emit(key)

    def editorEvent(
        self, event: QEvent, model: Any, option: QStyleOptionViewItem, index: AnyIndex
    ) -> bool:
        if index.column() != self.column or not isinstance(event, QMouseEvent):
            return super().editorEvent(event, model, option, index)
        if event.button() is not Qt.MouseButton.LeftButton:
            return False
        inside = self.hit_rect(option.rect, index).contains(event.position().toPoint())
        if event.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick):
            # A double click's second press arrives as a DblClick: treated as a press, it gets
            # its own release and so its own click, exactly like two single clicks. The window
            # decides what a second click means (it never sends twice).
            self._pressed = QPersistentModelIndex(index) if inside else None
            return inside
        if event.type() == QEvent.Type.MouseButtonRelease:
            was = self._pressed
            self._pressed = None
            if inside and was is not None and was == index:
                key = index.data(KEY_ROLE)
                if key is not None:
                    self._emit_click(index, key)
                return True
        return False


class CloseButtonDelegate(ButtonDelegate):
    """The positions table's Close button; its label follows the latest close of the row.

    After a partly filled IOC close the cell shows a "residual N" badge and a Close residual
    button instead; a click on that button is ``residualClicked``.
    """

    residualClicked = Signal(object)  # the row's PositionKey

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(PositionColumn.ACTION, _BUTTON_COLOURS, "Close", parent)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        residual = index.data(RESIDUAL_ROLE) if index.column() == self.column else None
        if not isinstance(residual, str):
            super().paint(painter, option, index)
            return
        opt, _text = self._background(painter, option, index)
        badge, button = _split(opt.rect)
        fill, border, ink = _BADGE_COLOURS
        font = QFont(opt.font)
        font.setBold(True)
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.9))
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(QColor(border), 1))
        painter.setBrush(QColor(fill))
        rect = QRectF(badge).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.drawRoundedRect(rect, rect.height() / 2, rect.height() / 2)
        painter.setFont(font)
        painter.setPen(QColor(ink))
        shown = QFontMetrics(font).elidedText(residual, Qt.TextElideMode.ElideRight,
                                              max(0, badge.width() - 8))
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), shown)
        painter.restore()
        state = index.data(BUTTON_ROLE)
        hovered = bool(opt.state & QStyle.StateFlag.State_MouseOver)
        pressed = self._pressed is not None and self._pressed == index
        self._draw_button(painter, QRectF(button), opt.font,
                          "Flash" if state == "Flash" else "Partly filled", "Close residual",
                          hovered=hovered, pressed=pressed)

    def hit_rect(self, cell: QRect, index: AnyIndex) -> QRect:
        if isinstance(index.data(RESIDUAL_ROLE), str):
            return residual_button_rect(cell)
        return button_rect(cell)

    def _emit_click(self, index: AnyIndex, key: object) -> None:
        if isinstance(index.data(RESIDUAL_ROLE), str):
            self.residualClicked.emit(key)
        else:
            self.clicked.emit(key)


class CancelButtonDelegate(ButtonDelegate):
    """The working-orders table's Cancel button ("Cancelling…" while the cancel is out)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(WorkingColumn.ACTION, _CANCEL_COLOURS, "Cancel", parent)


class EnvChipDelegate(QStyledItemDelegate):
    """Paints the Env cell as a small coloured chip: LIVE red, TESTNET blue, DEMO amber."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text = opt.text
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else None
        if style is not None:  # selection / alternate background of the cell
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        value = index.data(ENV_ROLE)
        if not value or not text:
            return
        env = Environment(value)
        fill, ink = ENV_COLOURS[env]
        font = QFont(opt.font)
        font.setBold(True)
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        metrics = QFontMetrics(font)
        width = metrics.horizontalAdvance(text) + 14
        height = min(opt.rect.height() - 8, metrics.height() + 4)
        chip = QRectF(
            opt.rect.left() + 6,
            opt.rect.top() + (opt.rect.height() - height) / 2,
            width,
            height,
        )
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(fill))
        painter.drawRoundedRect(chip, height / 2, height / 2)
        painter.setFont(font)
        painter.setPen(QColor(ink))
        painter.drawText(chip, int(Qt.AlignmentFlag.AlignCenter), text)
        painter.restore()


class EnvChip(QLabel):
    """The environment as a label chip (connection badges, the Accounts list)."""

    def __init__(self, env: Environment | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("envChip")
        self.env: Environment | None = None
        self.set_env(env)

    def set_env(self, env: Environment | None) -> None:
        self.env = env
        self.setVisible(env is not None)
        if env is None:
            self.setText("")
            return
        fill, ink = ENV_COLOURS[env]
        self.setText(env_label(env))
        self.setStyleSheet(
            f"QLabel#envChip {{ background: {fill}; color: {ink}; border-radius: 7px;"
            " padding: 0px 6px; font-weight: bold; font-size: 8pt; }"
        )
        self.setAccessibleName(f"Environment {env_label(env)}")


class PositionsView(QTableView):
    """The positions table. Enter on a selected row asks to close it, like its button."""

    closeRequested = Signal(object)  # PositionKey
    residualRequested = Signal(object)  # PositionKey: its Close residual button
    quickCloseRequested = Signal(object)  # PositionKey: Ctrl+Shift+C on it

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
        self.delegate.residualClicked.connect(self.residualRequested)
        self.envDelegate = EnvChipDelegate(self)
        self.setItemDelegateForColumn(PositionColumn.ENV, self.envDelegate)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        index = self.currentIndex()
        key = index.data(KEY_ROLE) if index.isValid() else None
        if isinstance(key, PositionKey):
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not mods:
                self.closeRequested.emit(key)
                event.accept()
                return
            # The window's Ctrl+Shift+C action normally takes this first; a key event that
            # skips the shortcut map (a synthetic one) still gets here.
            quick = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
            if event.key() == Qt.Key.Key_C and mods == quick:
                self.quickCloseRequested.emit(key)
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

# The health thresholds (this module's docstring says why each is where it is).
RTT_AMBER_MS, RTT_RED_MS = 500.0, 2000.0
SKEW_AMBER_MS, SKEW_RED_MS = 500.0, 2000.0
HEADROOM_AMBER, HEADROOM_RED = 0.25, 0.05
SILENCE_RED_FACTOR = 3.0  # silent for this many keep-alive periods: red
SKEW_NOTABLE_MS = 50.0  # a smaller clock skew is noise: it stays in the tooltip, off the badge


def fmt_skew(ms: float) -> str:
    """Venue clock minus ours: "+120 ms" means the venue is ahead."""
    return f"{round(ms):+d} ms"


def fmt_clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).strftime("%H:%M:%S")


class ConnectionBadge(QWidget):
    """A coloured dot, "<account>: <state>" and the account's environment chip, plus the clock
    skew when it matters.

    Green is connected and talking; amber is connecting, or connected but silent for longer
    than the venue's keep-alive ("stale"); red is disconnected or failed, or stale for more
    than three keep-alive periods. An account whose
    secret is missing says "needs secret" and offers a button to enter it. The tooltip carries
    the venue's message and the session's health figures.
    """

    secretRequested = Signal(str)  # the account whose secret the user wants to enter

    def __init__(
        self,
        account: str,
        venue: Venue,
        parent: QWidget | None = None,
        environment: Environment | None = None,
    ) -> None:
        super().__init__(parent)
        self.account = account
        self.venue = venue
        self.environment = environment
        self.needs_secret = False
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
        self.envChip = EnvChip(environment, self)
        self.secretButton = QPushButton("Enter secret…", self)
        self.secretButton.setObjectName("enterSecretButton")
        self.secretButton.setAccessibleName(f"Enter the secret key of {account}")
        self.secretButton.setVisible(False)
        self.secretButton.clicked.connect(lambda: self.secretRequested.emit(self.account))
        layout.addWidget(self.dot)
        layout.addWidget(self.label)
        layout.addWidget(self.envChip)
        layout.addWidget(self.secretButton)
        self.set_state(ConnectionState.CONNECTING, "")

    def set_environment(self, env: Environment | None) -> None:
        if env != self.environment:
            self.environment = env
            self.envChip.set_env(env)
            self._render()

    def set_needs_secret(self, needed: bool) -> None:
        """No secret is stored for this account, so it cannot connect until one is entered."""
        if needed != self.needs_secret:
            self.needs_secret = needed
            self.secretButton.setVisible(needed)
            self._render()

    @property
    def stale(self) -> bool:
        """Connected, but nothing heard for longer than the venue's keep-alive allows."""
        return self.state is ConnectionState.CONNECTED and self.silent_for is not None

    @property
    def word(self) -> str:
        if self.needs_secret:
            return "needs secret"
        return "stale" if self.stale else self.state.value

    def set_state(
        self, state: ConnectionState, message: str, since: float | None = None
    ) -> None:
        self.state = state
        self.message = message
        self.since = None if state is ConnectionState.CONNECTED else since
        self.needs_secret = False  # a connection attempt means a secret was found
        self.secretButton.setVisible(False)
        self._render()

    def set_health(self, health: SessionHealth, now: float) -> None:
        """Fresh health figures; ``now`` is time.monotonic(), the clock of last_message_at."""
        self.health = health
        self._health_now = now
        self.silent_for = silent_for(health, now)
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
        colour = _AMBER if self.stale or self.needs_secret else _STATE_COLOURS[self.state]
        keepalive = self.health.keepalive_s if self.health is not None else None
        if (self.stale and keepalive is not None and self.silent_for is not None
                and self.silent_for > keepalive * SILENCE_RED_FACTOR):
            colour = _RED  # as the health strip: silent for 3 keep-alive periods is red
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
        env = f" ({env_label(self.environment)})" if self.environment is not None else ""
        lines = [f"{self.venue.label} — {self.account}{env}: {self.word}"]
        if self.needs_secret:
            lines.append("No secret key is stored for this account; enter it to connect")
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

    secretRequested = Signal(str)

    def badge(
        self, account: str, venue: Venue, environment: Environment | None = None
    ) -> ConnectionBadge:
        badge = self.badges.get(account)
        if badge is None:
            badge = ConnectionBadge(account, venue, self, environment)
            badge.secretRequested.connect(self.secretRequested)
            self.badges[account] = badge
            self._layout.insertWidget(self._layout.count() - 1, badge)
        elif environment is not None:
            badge.set_environment(environment)
        return badge

    def remove(self, account: str) -> None:
        badge = self.badges.pop(account, None)
        if badge is not None:
            self._layout.removeWidget(badge)
            badge.hide()
            badge.deleteLater()

    def set_state(
        self,
        account: str,
        venue: Venue,
        state: ConnectionState,
        message: str = "",
        since: float | None = None,
    ) -> None:
        self.badge(account, venue).set_state(state, message, since)


# ============================================================================ health strip




def fmt_age(seconds: float) -> str:
    """"0.4 s", "12 s", "3 min": the age of the last message, short enough for the strip."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


@dataclass(frozen=True, slots=True)
class HealthFigure:
    """One figure of an account's health: its name, what the strip shows, its tone ("good",
    "warn", "bad", or "" when unknown) and what its tooltip explains."""

    name: str  # state | last | rtt | skew | rate
    text: str
    tone: str
    tip: str


def _worse(*tones: str) -> str:
    order = {"": 0, "good": 1, "warn": 2, "bad": 3}
    return max(tones, key=lambda t: order[t]) if tones else ""


def health_figures(
    state: ConnectionState, health: SessionHealth | None, now: float
) -> list[HealthFigure]:
    """The strip's five figures for one account, with their tones by the thresholds in this
    module's docstring. ``now`` is time.monotonic(), the clock of ``last_message_at``."""
    h = health or SessionHealth(connected=False)
    keepalive = h.keepalive_s
    quiet = None if h.last_message_at is None else max(0.0, now - h.last_message_at)
    silence = ""
    if quiet is not None and keepalive is not None and state is ConnectionState.CONNECTED:
        if quiet > keepalive * SILENCE_RED_FACTOR:
            silence = "bad"
        elif quiet > silence_limit(keepalive):
            silence = "warn"

    if state is ConnectionState.CONNECTED and silence:
        state_fig = HealthFigure(
            "state", "stale", silence,
            f"Connected, but nothing heard for {quiet:.0f} s (keep-alive {keepalive:g} s): the "
            "socket looks open, yet its numbers may be out of date")
    else:
        tone = {ConnectionState.CONNECTED: "good", ConnectionState.CONNECTING: "warn"}.get(
            state, "bad")
        state_fig = HealthFigure("state", state.value, tone, f"Connection: {state.value}")

    if quiet is None:
        last = HealthFigure("last", "last msg —", "", "Nothing received yet")
    else:
        limit = f"keep-alive {keepalive:g} s" if keepalive is not None else "no keep-alive known"
        last = HealthFigure(
            "last", f"last msg {fmt_age(quiet)}", silence or "good",
            f"Last message from the venue {quiet:.1f} s ago ({limit}; amber past "
            f"{silence_limit(keepalive):g} s, red past {keepalive * SILENCE_RED_FACTOR:g} s)"
            if keepalive is not None else f"Last message from the venue {quiet:.1f} s ago")

    if h.rtt_ms is None:
        rtt = HealthFigure("rtt", "RTT —", "", "REST round trip: not measured yet")
    else:
        tone = "bad" if h.rtt_ms >= RTT_RED_MS else "warn" if h.rtt_ms >= RTT_AMBER_MS else "good"
        rtt = HealthFigure(
            "rtt", f"RTT {h.rtt_ms:.0f} ms", tone,
            f"Last REST round trip {h.rtt_ms:.0f} ms (amber from {RTT_AMBER_MS:.0f} ms, red from "
            f"{RTT_RED_MS:.0f} ms)")

    if h.skew_ms is None:
        skew = HealthFigure("skew", "skew —", "",
                            "Clock skew: not measured (the venue has no time endpoint, or it "
                            "was not asked yet)")
    else:
        size = abs(h.skew_ms)
        tone = "bad" if size > SKEW_RED_MS else "warn" if size > SKEW_AMBER_MS else "good"
        skew = HealthFigure(
            "skew", f"skew {fmt_skew(h.skew_ms)}", tone,
            f"Venue clock minus ours: {fmt_skew(h.skew_ms)} (amber beyond ±{SKEW_AMBER_MS:.0f} "
            f"ms, red beyond ±{SKEW_RED_MS:.0f} ms)")

    if h.rate_headroom is None:
        rate = HealthFigure("rate", "rate —", "",
                            "Rate-limit headroom: unknown (the venue publishes no budget; it "
                            "shows 0 % while a rate-limit wait lasts)")
    else:
        pct = h.rate_headroom * 100
        tone = ("bad" if h.rate_headroom < HEADROOM_RED
                else "warn" if h.rate_headroom < HEADROOM_AMBER else "good")
        rate = HealthFigure(
            "rate", f"rate {pct:.0f} %", tone,
            f"Rate-limit budget left: {pct:.0f} % (amber below {HEADROOM_AMBER:.0%}, red below "
            f"{HEADROOM_RED:.0%})")
    return [state_fig, last, rtt, skew, rate]


class HealthPanel(QFrame):
    """One account's health, visible at a glance: a dot in the worst tone, the account, and
    its five figures, each in its own tone; each figure's tooltip says what it means."""

    def __init__(self, account: str, venue: Venue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.account = account
        self.venue = venue
        self.tone = ""
        self.figures: list[HealthFigure] = []
        self.setObjectName("healthPanel")
        self.setAccessibleName(f"{account} health")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        layout.setSpacing(7)
        self.dot = QLabel(self)
        self.dot.setObjectName("healthDot")
        self.dot.setFixedSize(9, 9)
        self.name = QLabel(account, self)
        self.name.setObjectName("healthName")
        layout.addWidget(self.dot)
        layout.addWidget(self.name)
        self.labels: dict[str, QLabel] = {}
        for name in ("state", "last", "rtt", "skew", "rate"):
            label = QLabel(self)
            label.setObjectName(f"health_{name}")
            layout.addWidget(label)
            self.labels[name] = label

    def set_figures(self, figures: list[HealthFigure]) -> None:
        if figures == self.figures:
            return
        self.figures = figures
        for fig in figures:
            label = self.labels[fig.name]
            label.setText(fig.text)
            label.setToolTip(fig.tip)
            label.setAccessibleName(f"{self.account} {fig.name}")
            label.setAccessibleDescription(fig.tip)
            _set_tone(label, fig.tone)
        tone = _worse(*(f.tone for f in figures))
        if tone != self.tone:
            self.tone = tone
            colour = {"good": _GREEN, "warn": _AMBER, "bad": _RED}.get(tone, "#9aa1ab")
            self.dot.setStyleSheet(f"background-color: {colour}; border-radius: 4px;")
            _set_tone(self, tone)
        self.setToolTip(f"{self.venue.label} — {self.account}\n"
                        + "\n".join(f.tip for f in figures))

    def text(self) -> str:
        """Everything the panel shows, in one line (tests, accessibility)."""
        return " · ".join([self.account, *(f.text for f in self.figures)])


def _set_tone(widget: QWidget, tone: str) -> None:
    if widget.property("tone") != tone:
        widget.setProperty("tone", tone)
        widget.style().unpolish(widget)
        widget.style().polish(widget)


class HealthStrip(QFrame):
    """The health of every account, in a strip under the header: not a tooltip, so frozen data
    is seen without hovering."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("healthStrip")
        self.setAccessibleName("Venue health")
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(10, 3, 10, 3)
        self._layout.setSpacing(6)
        caption = QLabel("Health", self)
        caption.setObjectName("healthCaption")
        self._layout.addWidget(caption)
        self._layout.addStretch(1)
        self.panels: dict[str, HealthPanel] = {}

    def panel(self, account: str, venue: Venue) -> HealthPanel:
        panel = self.panels.get(account)
        if panel is None:
            panel = HealthPanel(account, venue, self)
            self.panels[account] = panel
            self._layout.insertWidget(self._layout.count() - 1, panel)
        return panel

    def update_account(
        self,
        account: str,
        venue: Venue,
        state: ConnectionState,
        health: SessionHealth | None,
        now: float,
    ) -> HealthPanel:
        panel = self.panel(account, venue)
        panel.set_figures(health_figures(state, health, now))
        return panel

    def remove(self, account: str) -> None:
        panel = self.panels.pop(account, None)
        if panel is not None:
            self._layout.removeWidget(panel)
            panel.hide()
            panel.deleteLater()
