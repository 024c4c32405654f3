"""Quitting (Ctrl+Q, File → Quit, the window's close button): while orders are working at the
venues, ask first and list them. They keep working after Closeout quits, and nothing here
would show their fills until it runs again. In team mode the question also says how many of
this desk's records have not reached the shared journal yet: the quit gives them a few
seconds, and what is left goes out at the next start."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox

from core.model import WorkingOrder
from gui.models.text import describe_working
from gui.widgets.ask import ask

if TYPE_CHECKING:
    from gui.main_window import MainWindow

__all__ = ["QUIT_FLUSH_S", "Quitting", "order_line", "quit_question", "team_waiting_line"]

LISTED = 15  # orders listed by name; the rest are counted
QUIT_FLUSH_S = 5.0  # how long a quit lets the team journal's copy catch up (TeamStack.stop)


def order_line(order: WorkingOrder) -> str:
    return (f"{order.symbol} on {order.account}: {describe_working(order)} "
            f"(order {order.order_id})")


def team_waiting_line(waiting: int, flush_s: float = QUIT_FLUSH_S) -> str:
    """What the quit question says of this desk's records still waiting for the team
    database (empty when none wait)."""
    if waiting <= 0:
        return ""
    return (f"{waiting:,} record{'s' if waiting != 1 else ''} of this desk "
            f"{'have' if waiting != 1 else 'has'} not reached the team database yet: Closeout "
            f"tries for up to {flush_s:g} s as it quits; what is left waits in the local "
            "journal and goes out at the next start.")


def quit_question(orders: list[WorkingOrder], waiting: int = 0) -> str:
    lines = [f"• {order_line(o)}" for o in orders[:LISTED]]
    if len(orders) > LISTED:
        lines.append(f"• … and {len(orders) - LISTED} more")
    n = len(orders)
    team = team_waiting_line(waiting)
    return (f"{n} order{'s are' if n != 1 else ' is'} still working at the venues:\n\n"
            + "\n".join(lines)
            + "\n\nThey stay working after Closeout quits."
            + (f"\n\n{team}\n\n" if team else " ") + "Quit anyway?")


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
        def forget() -> None:
            self.question = None

        def quit_anyway() -> None:
            self.confirmed = True
            self.window.close()

        team = self.window.team_status
        waiting = 0 if team is None else team.waiting
        return ask(self.window, name="quitConfirm", icon=QMessageBox.Icon.Warning,
                   title="Quit Closeout", text=quit_question(orders, waiting),
                   act="Quit anyway",
                   keep="Keep running", on_done=forget, on_act=quit_anyway)
