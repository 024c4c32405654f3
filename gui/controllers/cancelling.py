"""Cancelling a working order from its row's Cancel button: sent once, and the button follows
the cancel (Cancelling…, Cancelled, or Cancel again with the reason it was refused)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from core.desk import CancelPending
from core.model import WorkingOrder
from core.venue import CancelRejected
from gui.models.working import CancelState

if TYPE_CHECKING:
    from gui.main_window import MainWindow

__all__ = ["Cancelling"]


class Cancelling:
    """The cancels a window has sent: at most one per order."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self._cancels: dict[tuple[str, str], asyncio.Task[None]] = {}  # one per order, at most

    def request_cancel(self, ident: tuple[str, str],
                       reason: str = "Cancel clicked in Working orders") -> None:
        """Cancel a resting order (its button, or Delete after a confirmation), once.

        A second click while this window's cancel is out sends nothing and says so. The check
        is here, not only in the desk: a second task could otherwise start just after the first
        one finished and send again. The desk's own CancelPending covers cancels started
        elsewhere.
        """
        model = self.window.working_model
        order = model.order(ident)
        if order is None:
            return
        if ident in self._cancels:
            self._say_pending(order)
            return
        if model.cancel_state(ident) is CancelState.CONFIRMED:
            self.window.statusBar().showMessage(
                f"The venue already confirmed the cancel of {_order_name(order)}.", 8000
            )
            return
        model.set_cancelling(ident)
        task = self.window.tracker.spawn(self._cancel(order, reason),
                                         name=f"cancel {order.order_id}")
        self._cancels[ident] = task
        task.add_done_callback(lambda t: self._forget(ident, t))

    def _forget(self, ident: tuple[str, str], task: asyncio.Future[Any] | None) -> None:
        """This cancel is over; a newer one of the same order is left alone."""
        if task is not None and self._cancels.get(ident) is task:
            del self._cancels[ident]

    def _say_pending(self, order: WorkingOrder) -> None:
        self.window.statusBar().showMessage(
            f"A cancel of {_order_name(order)} is already on its way; nothing new was sent.",
            8000,
        )

    async def _cancel(self, order: WorkingOrder, reason: str) -> None:
        ident = order.ident
        model = self.window.working_model
        try:
            try:
                await self.window.desk.cancel(order, reason=reason)
            finally:
                # Over before its outcome is shown, so a click on what is shown starts a new
                # cancel instead of hearing that this one is still on its way.
                self._forget(ident, asyncio.current_task())
        except CancelPending:
            # Someone else's cancel is out; this click sent nothing. The button goes back to
            # Cancel rather than claim a cancel this window cannot follow.
            model.set_cancel_idle(ident)
            self._say_pending(order)
            return
        except CancelRejected as exc:
            model.set_cancel_refused(ident, str(exc))
            self.window.statusBar().showMessage(
                f"Cancel of {_order_name(order)} refused: {exc}", 15000
            )
            return
        except BaseException as exc:
            # Never leave the button on "Cancelling…": the order may well still be working.
            model.set_cancel_refused(ident, f"{type(exc).__name__}: {exc}")
            raise
        model.set_cancel_confirmed(ident)
        self.window.statusBar().showMessage(f"Cancel of {_order_name(order)} confirmed.", 8000)


def _order_name(order: WorkingOrder) -> str:
    return f"order {order.order_id} ({order.symbol} on {order.account})"
