"""Cancelling resting orders before a close: which orders block a close, each cancel's exact
request, and cancelling them one at a time until the venue confirms each (or one fails).

Flatten cancels a position's resting orders before its close (``run.py``); the close dialog
offers the same before a single close (:class:`CancelFirst`). Both go through the desk's one
cancel path (``Desk.cancel``: journaled, durable before the wire, sent once, never resent), and
both stop at the first cancel that fails: the close is then not sent.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from core.desk import CancelPending, Desk, DeskEvent
from core.desk.coordination import CoordinationDown, LeaseHeld
from core.model import Position, PositionKey, WorkingKind, WorkingOrder, WorkingOrderRemoved
from core.numbers import NumberFormat
from core.venue import CancelRejected

__all__ = [
    "CANCEL_WAIT_S",
    "CancelFirst",
    "CancelOutcome",
    "CancelResult",
    "Cancels",
    "blocks_close",
    "cancel_one",
    "order_words",
]

# How long to wait for another cancel of the same order (already on its way) to take it off
# the book. Each cancel's own answer is bounded by its session (QFEX ``cancel_timeout``, the
# Everstrike REST timeout).
CANCEL_WAIT_S = 30.0


def blocks_close(order: WorkingOrder) -> bool:
    """Resting reduce-only closes and triggers can block a new reduce-only close."""
    return order.reduce_only or order.kind is WorkingKind.TRIGGER


def order_words(order: WorkingOrder, fmt: NumberFormat | None = None) -> str:
    """An order in a few words: "limit SELL 5 @ 120.5", "trigger BUY all at 4500". With the
    instrument's ``fmt``, sizes and prices are written to its lot and tick, as the table does;
    without, as the venue wrote them."""
    size: Callable[[Decimal], str] = fmt.quantity if fmt is not None else str
    price: Callable[[Decimal], str] = fmt.price if fmt is not None else str
    side = order.side.value if order.side is not None else ""
    if order.remaining is not None:
        qty = size(order.remaining)
    else:
        qty = size(order.quantity) if order.quantity else "all"
    if order.kind is WorkingKind.TRIGGER:
        at = f" at {price(order.trigger_price)}" if order.trigger_price is not None else ""
        limit = f", limit {price(order.price)}" if order.price is not None else ""
        return f"trigger {side} {qty}{at}{limit}".replace("  ", " ")
    at = f" @ {price(order.price)}" if order.price is not None else ""
    return f"limit {side} {qty}{at}".replace("  ", " ")


class CancelOutcome(enum.StrEnum):
    CANCELLED = "cancelled"  # the venue confirmed it
    ALREADY_GONE = "already gone"  # no longer working when we came to it: nothing was sent
    FAILED = "failed"  # refused, or no answer: it may still be working


@dataclass(frozen=True, slots=True)
class CancelResult:
    order: WorkingOrder
    outcome: CancelOutcome
    message: str = ""  # why it failed, in the venue's or the session's words
    # Team mode: the lease refusal (another desk, or no database to ask) that stopped it.
    refusal: LeaseHeld | CoordinationDown | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is not CancelOutcome.FAILED


async def cancel_one(desk: Desk, order: WorkingOrder, *, reason: str | None,
                     wait: float = CANCEL_WAIT_S,
                     override_reason: str | None = None) -> CancelResult:
    """Cancel one resting order through the desk, once, and say how it ended. An order no
    longer on the book is not cancelled again; one whose cancel someone else already sent is
    waited for (up to ``wait`` seconds) rather than cancelled twice. ``override_reason`` (typed
    by the user) takes another desk's lease on the position (team mode)."""
    if order.ident not in desk.working_orders:
        return CancelResult(order, CancelOutcome.ALREADY_GONE)
    try:
        await desk.cancel(order, reason=reason, override_reason=override_reason)
    except CancelPending:
        if await _gone(desk, order, wait):
            return CancelResult(order, CancelOutcome.CANCELLED)
        return CancelResult(order, CancelOutcome.FAILED,
                            "it is still working (another cancel of it got no answer)")
    except CancelRejected as exc:
        await desk.journaled()  # its cancel_result is durable before anyone is told
        return CancelResult(order, CancelOutcome.FAILED, str(exc) or type(exc).__name__)
    except (LeaseHeld, CoordinationDown) as exc:  # team mode: another desk, or nobody to ask
        await desk.journaled()
        return CancelResult(order, CancelOutcome.FAILED, str(exc), refusal=exc)
    return CancelResult(order, CancelOutcome.CANCELLED)


async def _gone(desk: Desk, order: WorkingOrder, timeout: float) -> bool:
    """Wait until the order is off the desk's book; False if it is still there after
    ``timeout``."""
    removed = asyncio.Event()

    def hear(event: DeskEvent) -> None:
        if isinstance(event, WorkingOrderRemoved) and \
                (event.account, event.order_id) == order.ident:
            removed.set()

    unsubscribe = desk.subscribe(hear)
    try:
        async with asyncio.timeout(timeout):
            while order.ident in desk.working_orders:
                removed.clear()
                await removed.wait()
    except TimeoutError:
        pass
    finally:
        unsubscribe()
    await desk.journaled()
    return order.ident not in desk.working_orders


@dataclass(frozen=True, slots=True)
class Cancels:
    """How a cancel-first ended: every cancel in order, up to and including the first that
    failed (the orders after it were not touched)."""

    results: tuple[CancelResult, ...]
    asked: int  # how many orders there were to cancel

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results) and len(self.results) == self.asked

    @property
    def cancelled(self) -> tuple[WorkingOrder, ...]:
        return tuple(r.order for r in self.results if r.outcome is CancelOutcome.CANCELLED)

    @property
    def gone(self) -> tuple[WorkingOrder, ...]:
        return tuple(r.order for r in self.results if r.outcome is CancelOutcome.ALREADY_GONE)

    @property
    def failed(self) -> CancelResult | None:
        return next((r for r in self.results if not r.ok), None)

    @property
    def refusal(self) -> LeaseHeld | CoordinationDown | None:
        """Team mode: the lease refusal that stopped the cancels (nothing was sent for that
        order, nor after it), or None."""
        failed = self.failed
        return None if failed is None else failed.refusal

    def refused_text(self) -> str:
        """After a lease refusal: which cancels had gone, and that the close was not sent."""
        failed = self.failed
        if failed is None:
            return ""
        done = self.done_text()
        went = f"{done} first. " if self.cancelled else (f"{done}. " if done else "")
        return (f"{went}Cancelling order {failed.order.order_id} was refused by the lease, so "
                "it and the close were NOT sent.")

    def done_text(self) -> str:
        """What the cancels did: "Cancelled 1 working order" ("" when there were none)."""
        n, gone = len(self.cancelled), len(self.gone)
        was = "was" if gone == 1 else "were"
        if n and gone:
            return f"Cancelled {_orders(n)} ({gone} more {was} already gone)"
        if n:
            return f"Cancelled {_orders(n)}"
        if gone:
            return f"The {_orders(gone)} {was} already gone"
        return ""

    def then_sent(self) -> str:
        """What was done, once the close went: "Cancelled 1 working order, then sent the
        close"."""
        done = self.done_text()
        if not done:
            return "Sent the close"
        return f"{done}, then sent the close" if self.cancelled else f"{done}; sent the close"

    def not_sent(self) -> str:
        """Why the close was not sent, plainly."""
        failed = self.failed
        if failed is None:
            return "The close was not sent."
        before = len(self.cancelled)
        head = (f"Cancelling working order {failed.order.order_id} "
                f"({order_words(failed.order)}) failed: {failed.message.rstrip('.')}. "
                "The close was NOT sent")
        if before:
            head += f"; {_orders(before)} had been cancelled before it"
        return head + ". Check the working orders, then try again."


def _orders(n: int) -> str:
    return f"{n} working order{'s' if n != 1 else ''}"


class CancelFirst:
    """Cancel-first for one position's close, over the desk: the working orders on the
    (account, venue, symbol), each one's exact cancel request, and cancelling them in order.

    The close itself is the caller's to send, and only when ``cancel`` says ``ok``: it is never
    sent from here, so it cannot be sent twice from here either.
    """

    def __init__(self, desk: Desk, key: PositionKey, *, wait: float = CANCEL_WAIT_S) -> None:
        self.desk = desk
        self.key = key
        self.wait = wait
        self._confirmed: set[tuple[str, str]] = set()  # cancels the venue confirmed

    def confirmed(self, order: WorkingOrder) -> bool:
        """This cancel-first already had the venue confirm the order's cancel (the book may
        not show it gone yet): it is never cancelled again from here."""
        return order.ident in self._confirmed

    def orders(self) -> list[WorkingOrder]:
        """Every order working on the position now, in a stable order."""
        return sorted(self.desk.working_for(self.key), key=lambda o: o.order_id)

    def position(self) -> Position | None:
        """The position as the live book has it now (None: flat). A close that follows the
        cancels is checked against it: a resting close may have filled part of it meanwhile."""
        return self.desk.positions.get(self.key)

    def blocking(self) -> list[WorkingOrder]:
        """The ones a cancel-first cancels (the others cannot block a reduce-only close)."""
        return [o for o in self.orders() if blocks_close(o)]

    def preview(self, order: WorkingOrder) -> str:
        """The cancel's exact request, redacted, as the journal will record it. Raises
        CancelRejected (or KeyError for an account with no session) if it cannot be built."""
        return self.desk.session(order.account).prepare_cancel(order).redacted

    async def cancel(self, orders: Sequence[WorkingOrder], *, reason: str | None,
                     on_result: Callable[[CancelResult], None] | None = None,
                     override_reason: str | None = None) -> Cancels:
        """Cancel ``orders`` one at a time, each once, stopping at the first that fails. A
        lease refusal (team mode) stops them too, with the cancels that went before it
        (``Cancels.refusal``): the dialog offers its override. ``override_reason`` takes
        another desk's lease for each cancel (an order already gone is not cancelled again)."""
        results: list[CancelResult] = []
        for order in orders:
            if self.confirmed(order):
                result = CancelResult(order, CancelOutcome.ALREADY_GONE)
            else:
                result = await cancel_one(self.desk, order, reason=reason, wait=self.wait,
                                          override_reason=override_reason)
            if result.outcome is CancelOutcome.CANCELLED:
                self._confirmed.add(order.ident)
            results.append(result)
            if on_result is not None:
                on_result(result)
            if not result.ok:
                break
        return Cancels(tuple(results), len(orders))
