"""Quitting (Ctrl+Q, File → Quit, the window's close button): while orders are working at the
venues, ask first and list them. They keep working after Closeout quits, and nothing here
would show their fills until it runs again."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox

from core.model import WorkingOrder
from gui.models.text import fmt_decimal

if TYPE_CHECKING:
    from gui.main_window import MainWindow

__all__ = ["Quitting", "order_line", "quit_question"]

LISTED = 15  # orders listed by name; the rest are counted


def order_line(order: WorkingOrder) -> str:
    price = (f" trigger {fmt_decimal(order.trigger_price)}" if order.trigger_price is not None
             else f" @ {fmt_decimal(order.price)}" if order.price is not None else "")
    size = order.remaining if order.remaining is not None else order.quantity
    side = f" {order.side.value}" if order.side is not None else ""
    return (f"{order.symbol} on {order.account}: {order.kind.value}{side} "
            f"{fmt_decimal(size)}{price} (order {order.order_id})")


def quit_question(orders: list[WorkingOrder]) -> str:
    lines = [f"• {order_line(o)}" for o in orders[:LISTED]]
    if len(orders) > LISTED:
        lines.append(f"• … and {len(orders) - LISTED} more")
    n = len(orders)
    return (f"{n} order{'s are' if n != 1 else ' is'} still working at the venues:\n\n"
            + "\n".join(lines)
            + "\n\nThey stay working after Closeout quits. Quit anyway?")


class Quitting:
    """Whether the window may close now, asking first while orders are working."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.confirmed = False  # the user said "Quit anyway", or nothing needs asking
        self.question: QMessageBox | None = None

    def may_close(self) -> bool:
        """True to close now; False when a question was opened (its answer closes or not)."""
        orders = self.window.working_model.orders()
        if self.confirmed or not orders:
            return True
        if self.question is None:
            self.question = self._ask(orders)
        else:
            self.question.raise_()
        return False

    def _ask(self, orders: list[WorkingOrder]) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Warning, "Quit Closeout", quit_question(orders),
                          QMessageBox.StandardButton.NoButton, self.window)
        box.setObjectName("quitConfirm")
        quit_button = box.addButton("Quit anyway", QMessageBox.ButtonRole.AcceptRole)
        stay = box.addButton("Keep running", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(stay)
        box.setEscapeButton(stay)

        def done(_: int) -> None:
            self.question = None
            box.deleteLater()
            if box.clickedButton() is quit_button:
                self.confirmed = True
                self.window.close()

        box.finished.connect(done)
        box.open()
        return box
