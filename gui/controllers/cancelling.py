"""Cancelling a working order from its row's Cancel button: sent once, and the button follows
the cancel (Cancelling…, Cancelled, or Cancel again with the reason it was refused)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from core.desk import CancelPending
from core.desk.coordination import CoordinationDown, LeaseHeld
from core.model import WorkingOrder
from core.venue import CancelRejected
from gui.models.working import CancelState

if TYPE_CHECKING:
    from gui.main_window import MainWindow

__all__ = ["Cancelling", "order_name"]


class Cancelling:
    """The cancels a window has sent: at most one per order."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self._cancels: dict[tuple[str, str], asyncio.Task[str | None]] = {}  # one per order

    def in_flight(self, ident: tuple[str, str]) -> bool:
        """True while this window's cancel of the order is on its way."""
        return ident in self._cancels

    def request_cancel(self, ident: tuple[str, str],
                       reason: str = "Cancel clicked in Working orders", *,
                       quiet: bool = False) -> asyncio.Task[str | None] | None:
        """Cancel a resting order (its button, or Delete after a confirmation), once.

        A second click while this window's cancel is out sends nothing and says so. The check
        is here, not only in the desk: a second task could otherwise start just after the first
        one finished and send again. The desk's own CancelPending covers cancels started
        elsewhere.

        Returns the cancel's task, whose result is None once the venue confirmed it, else why
        it was not (None when nothing was started). ``quiet``: the caller reports the outcome
        (Cancel all says how many went, not each one in turn).
        """
        model = self.window.working_model
        order = model.order(ident)
        if order is None:
            return None
        if ident in self._cancels:
            self._say_pending(order)
            return None
        if model.cancel_state(ident) is CancelState.CONFIRMED:
            self.window.statusBar().showMessage(
                f"The venue already confirmed the cancel of {order_name(order)}.", 8000
            )
            return None
        model.set_cancelling(ident)
        task = self.window.tracker.spawn(self._cancel(order, reason, quiet),
                                         name=f"cancel {order.order_id}")
        self._cancels[ident] = task
        task.add_done_callback(lambda t: self._forget(ident, t))
        return task

    def _forget(self, ident: tuple[str, str], task: asyncio.Future[Any] | None) -> None:
        """This cancel is over; a newer one of the same order is left alone."""
        if task is not None and self._cancels.get(ident) is task:
            del self._cancels[ident]

    def _say_pending(self, order: WorkingOrder) -> None:
        self.window.statusBar().showMessage(
            f"A cancel of {order_name(order)} is already on its way; nothing new was sent.",
            8000,
        )

    async def _cancel(self, order: WorkingOrder, reason: str, quiet: bool) -> str | None:
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
            if not quiet:
                self._say_pending(order)
            return "a cancel started elsewhere is already on its way; nothing new was sent"
        except (CancelRejected, LeaseHeld, CoordinationDown) as exc:
            # Another desk's lease, or no team database to ask, sends nothing: said per order
            # with who holds it; never resent on its own.
            model.set_cancel_refused(ident, str(exc))
            if not quiet:
                self.window.statusBar().showMessage(
                    f"Cancel of {order_name(order)} refused: {exc}", 15000
                )
            return f"refused: {exc}"
        except BaseException as exc:
            # Never leave the button on "Cancelling…": the order may well still be working.
            model.set_cancel_refused(ident, f"{type(exc).__name__}: {exc}")
            raise
        model.set_cancel_confirmed(ident)
        if not quiet:
            self.window.statusBar().showMessage(f"Cancel of {order_name(order)} confirmed.",
                                                8000)
        return None


def order_name(order: WorkingOrder) -> str:
    return f"order {order.order_id} ({order.symbol} on {order.account})"
