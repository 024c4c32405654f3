"""Why an order ended cancelled, from what the desk knows: which cancels it asked for, the
order itself (from the update, else from the close that placed it) and the positions book.

The venues say only "cancelled"; the same word covers a GTC limit the user took off the book,
a reduce-only order dropped because its position closed, and the unfilled rest of an IOC.
``core.explain.explain_cancel`` words each; this module gathers its ``OrderContext``.
"""

from __future__ import annotations

from collections import OrderedDict
from decimal import Decimal
from typing import Final

from core.explain import OrderContext
from core.model import CloseRequest, OrderUpdate

__all__ = ["CancelsAsked", "order_context"]

MEMORY: Final = 10_000  # cancels remembered, oldest forgotten first
_STOP_TYPES: Final = frozenset({"STOP_LOSS", "TAKE_PROFIT", "TRIGGER"})


class CancelsAsked:
    """The orders the desk asked a venue to cancel, by (account, order id), bounded."""

    def __init__(self, memory: int = MEMORY) -> None:
        self._asked: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._memory = memory

    def add(self, account: str, order_id: str) -> None:
        self._asked[(account, order_id)] = None
        self._asked.move_to_end((account, order_id))
        while len(self._asked) > self._memory:
            self._asked.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        return key in self._asked


def order_context(update: OrderUpdate, request: CloseRequest | None, *,
                  cancel_requested: bool, position_open: bool) -> OrderContext:
    """The cancelled order as ``explain_cancel`` needs it. The update's own type and time in
    force win (QFEX's full close is a LIMIT IOC the venue chose); the close's request fills
    in what the update leaves out."""
    order_type = (update.order_type or "").upper()
    tif = (update.time_in_force or "").upper()
    trigger = update.trigger_price is not None or order_type in _STOP_TYPES
    if request is not None:
        trigger = trigger or request.trigger is not None
        if not order_type:
            order_type = "LIMIT" if request.limit_price is not None else "MARKET"
        if not tif and request.time_in_force is not None:
            tif = str(request.time_in_force).upper()
    filled = update.filled if update.filled is not None else Decimal(0)
    return OrderContext(order_type=order_type, time_in_force=tif, trigger=trigger,
                        filled=filled, cancel_requested=cancel_requested,
                        position_open=position_open)
