"""The painted buttons of the tables: Close (with its residual badge) and Cancel. A painted
button costs nothing per row, where a widget per row would not scale to 10,000 rows."""

from __future__ import annotations

from collections.abc import Mapping
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
from PySide6.QtGui import QColor, QFont, QFontMetrics, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from gui.models.positions import PositionColumn
from gui.models.roles import BUTTON_ROLE, KEY_ROLE, RESIDUAL_ROLE
from gui.models.working import WorkingColumn
from gui.theme import buttons

__all__ = [
    "ButtonDelegate",
    "CancelButtonDelegate",
    "CloseButtonDelegate",
    "badge_text",
    "button_rect",
    "residual_button_rect",
    "use_theme",
]

AnyIndex = QModelIndex | QPersistentModelIndex


def use_theme(theme: str) -> None:
    """Paint the cells' buttons in ``theme``'s colours from the next repaint on."""
    for shown, wanted in ((_BUTTON_COLOURS, buttons.CLOSE[theme]),
                          (_CANCEL_COLOURS, buttons.CANCEL[theme])):
        shown.clear()
        shown.update(wanted)
    _BADGE_COLOURS[:] = buttons.BADGE[theme]

# (fill, border, text) per button label, of the theme on (gui/theme/buttons.py): the dicts
# are changed in place by use_theme, and the delegates look their colours up at each paint.
_BUTTON_COLOURS: dict[str, tuple[str, str, str]] = dict(buttons.CLOSE["light"])
_BADGE_COLOURS = list(buttons.BADGE["light"])  # the "residual N" badge
_RESIDUAL_SPLIT = 0.42  # the badge takes at least this share of a residual row's Close cell
_BADGE_PAD = 12  # pixels around the badge's text
_MIN_BUTTON = 48  # the Close residual button keeps this much while the badge grows
_RESIDUAL_LABEL = "Close residual"
_CANCEL_COLOURS: dict[str, tuple[str, str, str]] = dict(buttons.CANCEL["light"])
_PADDING_X = 8
_PADDING_Y = 3
_LAYOUT_CACHE = 4096  # measured button texts kept; the cache starts over when full
_Layout = tuple[str, str, int, int]  # head, marker, their widths in pixels


def button_rect(cell: QRect) -> QRect:
    """Where the Close button sits inside its cell; tests click its centre."""
    return cell.adjusted(_PADDING_X, _PADDING_Y, -_PADDING_X, -_PADDING_Y)


def _split(cell: QRect, needed: int = 0) -> tuple[QRect, QRect]:
    """The badge and the Close residual button in a residual row's Close cell: the badge
    takes its share of the cell, or the ``needed`` pixels its text takes if that is more."""
    inner = button_rect(cell)
    badge_w = max(int(inner.width() * _RESIDUAL_SPLIT), needed + 3)
    badge = QRect(inner.left(), inner.top(), badge_w - 3, inner.height())
    button = QRect(inner.left() + badge_w + 3, inner.top(),
                   max(0, inner.width() - badge_w - 3), inner.height())
    return badge, button


def residual_button_rect(cell: QRect, needed: int = 0) -> QRect:
    """Where "Close residual" sits in a residual row's Close cell (the badge is left of it;
    ``needed``: the width the badge's text asks for, when more than its share)."""
    return _split(cell, needed)[1]


def badge_text(font: QFont, text: str, room: int) -> tuple[str, int]:
    """What a "residual N" badge shows in ``room`` pixels, and the width it needs for it.

    The number is what the badge exists to show, so it is never elided: the word gives way
    first ("resid… 25.0", then "25.0"), and the badge asks for more room (``needed`` above)
    when even the number does not fit its share."""
    metrics = QFontMetrics(font)
    word, _sep, number = text.rpartition(" ")
    if not number:
        number, word = text, ""
    full = metrics.horizontalAdvance(text) + _BADGE_PAD
    if full <= room or not word:
        return text, full
    bare = metrics.horizontalAdvance(number) + _BADGE_PAD
    left = room - bare - metrics.horizontalAdvance(" ")
    head = metrics.elidedText(word, Qt.TextElideMode.ElideRight, left) if left > 0 else ""
    if len(head) > 3:  # at least a few letters of the word and its "…"
        shown = f"{head} {number}"
        return shown, metrics.horizontalAdvance(shown) + _BADGE_PAD
    return number, bare


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
        self._qcolours: dict[tuple[str, str, str], tuple[QColor, QColor, QColor]] = {}
        # (font, text, room) -> the elided head and marker and their widths: a repaint of an
        # unchanged cell measures nothing again.
        self._layouts: dict[tuple[str, str, int], _Layout] = {}
        self._fonts: dict[str, tuple[QFont, QFont]] = {}

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
        names = colours or self.colours.get(label, self.colours[self.default])
        qcolours = self._qcolours.get(names)
        if qcolours is None:
            qcolours = self._qcolours[names] = (QColor(names[0]), QColor(names[1]),
                                                QColor(names[2]))
        fill_c, border_c, ink = qcolours
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
        bold, plain = self._bold_and_plain(font)
        head, marker, w_head, w_marker = self._layout(bold, plain, text, int(rect.width() - 10))
        left = rect.left() + max(5.0, (rect.width() - w_head - w_marker) / 2)
        centre_v = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        painter.setFont(bold)
        painter.setPen(ink)
        painter.drawText(QRectF(left, rect.top(), w_head + 1, rect.height()), centre_v, head)
        if marker:
            painter.setFont(plain)
            painter.drawText(
                QRectF(left + w_head, rect.top(), rect.right() - left - w_head, rect.height()),
                centre_v, marker)
        painter.restore()

    def _bold_and_plain(self, font: QFont) -> tuple[QFont, QFont]:
        key = font.key()
        fonts = self._fonts.get(key)
        if fonts is None:
            bold, plain = QFont(font), QFont(font)
            bold.setBold(True)
            plain.setBold(False)
            fonts = self._fonts[key] = (bold, plain)
        return fonts

    def _layout(self, bold: QFont, plain: QFont, text: str, room: int) -> _Layout:
        """The head of ``text`` (bold) and its marker after " · " (plain), elided to ``room``
        pixels, with their widths; measured once per text, font and width."""
        cache_key = (bold.key(), text, room)
        found = self._layouts.get(cache_key)
        if found is not None:
            return found
        head, sep, rest = text.partition(" · ")
        marker = " · " + rest if sep else ""
        bold_m, plain_m = QFontMetrics(bold), QFontMetrics(plain)
        w_head = bold_m.horizontalAdvance(head)
        if w_head > room:
            head = bold_m.elidedText(head, Qt.TextElideMode.ElideRight, room)
            w_head = bold_m.horizontalAdvance(head)
            marker = ""
        if marker:
            marker = plain_m.elidedText(marker, Qt.TextElideMode.ElideRight, room - w_head)
        w_marker = plain_m.horizontalAdvance(marker) if marker else 0
        if len(self._layouts) >= _LAYOUT_CACHE:
            self._layouts.clear()
        found = self._layouts[cache_key] = (head, marker, w_head, w_marker)
        return found

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
        if index.column() == self.column and index.data(KEY_ROLE) is None:
            # A group header or totals row (Group by account): no position, so no button.
            QStyledItemDelegate.paint(self, painter, option, index)
            return
        residual = index.data(RESIDUAL_ROLE) if index.column() == self.column else None
        if not isinstance(residual, str):
            super().paint(painter, option, index)
            return
        opt, _text = self._background(painter, option, index)
        font = self._badge_font(opt.font)
        shown, badge, button = self._badge_layout(opt.font, residual, opt.rect)
        fill, border, ink = _BADGE_COLOURS
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(QColor(border), 1))
        painter.setBrush(QColor(fill))
        rect = QRectF(badge).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.drawRoundedRect(rect, rect.height() / 2, rect.height() / 2)
        painter.setFont(font)
        painter.setPen(QColor(ink))
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), shown)
        painter.restore()
        state = index.data(BUTTON_ROLE)
        hovered = bool(opt.state & QStyle.StateFlag.State_MouseOver)
        pressed = self._pressed is not None and self._pressed == index
        # What is left is the whole row now: a narrow button may say just "Close".
        bold = self._bold_and_plain(opt.font)[0]
        words = _RESIDUAL_LABEL if QFontMetrics(bold).horizontalAdvance(_RESIDUAL_LABEL) \
            <= button.width() - 10 else "Close"
        self._draw_button(painter, QRectF(button), opt.font,
                          "Flash" if state == "Flash" else "Partly filled", words,
                          hovered=hovered, pressed=pressed)

    @staticmethod
    def _badge_font(font: QFont) -> QFont:
        badge = QFont(font)
        badge.setBold(True)
        badge.setPointSizeF(max(6.0, badge.pointSizeF() * 0.9))
        return badge

    def _badge_layout(self, font: QFont, residual: str, cell: QRect) -> tuple[str, QRect, QRect]:
        """The badge's text, the badge and the button (``font``: the cell's). The badge grows
        for its whole text only while "Close residual" still fits beside it, and for its
        number always."""
        bold = self._bold_and_plain(font)[0]
        label = QFontMetrics(bold).horizontalAdvance(_RESIDUAL_LABEL) + 12
        share = _split(cell)[0].width()
        room = max(share, button_rect(cell).width() - max(_MIN_BUTTON, label) - 6)
        shown, needed = badge_text(self._badge_font(font), residual, room)
        badge, button = _split(cell, needed)
        return shown, badge, button

    def hit_rect(self, cell: QRect, index: AnyIndex) -> QRect:
        residual = index.data(RESIDUAL_ROLE)
        if isinstance(residual, str):
            view = self.parent()
            font = view.font() if isinstance(view, QWidget) else QFont()
            return self._badge_layout(font, residual, cell)[2]
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
