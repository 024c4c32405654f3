"""The environment chip (LIVE red, TESTNET blue, DEMO amber): painted in a table cell, or as a
label beside an account's name."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QLabel, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from core.model import Environment
from gui.models.roles import ENV_ROLE
from gui.models.style import ENV_COLOURS
from gui.models.text import env_label

__all__ = ["EnvChip", "EnvChipDelegate"]

AnyIndex = QModelIndex | QPersistentModelIndex


class EnvChipDelegate(QStyledItemDelegate):
    """Paints the Env cell as a small coloured chip: LIVE red, TESTNET blue, DEMO amber.

    The chip's font and size are measured once per text and view font, not at every repaint.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._chips: dict[tuple[str, str], tuple[QFont, int, int]] = {}
        self._colours = {env: (QColor(fill), QColor(ink))
                         for env, (fill, ink) in ENV_COLOURS.items()}

    def _chip(self, base: QFont, text: str) -> tuple[QFont, int, int]:
        key = (base.key(), text)
        found = self._chips.get(key)
        if found is None:
            font = QFont(base)
            font.setBold(True)
            font.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
            metrics = QFontMetrics(font)
            found = self._chips[key] = (font, metrics.horizontalAdvance(text) + 14,
                                        metrics.height() + 4)
        return found

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
        fill, ink = self._colours[Environment(value)]
        font, width, natural = self._chip(opt.font, text)
        height = min(opt.rect.height() - 8, natural)
        chip = QRectF(
            opt.rect.left() + 6,
            opt.rect.top() + (opt.rect.height() - height) / 2,
            width,
            height,
        )
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        painter.drawRoundedRect(chip, height / 2, height / 2)
        painter.setFont(font)
        painter.setPen(ink)
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
