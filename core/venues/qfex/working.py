"""The QFEX orders resting at the venue (limit closes and stops), sans-IO.

Every (re)connect reads ``get_user_orders``; after that ``order_responses`` and ``stop_orders``
keep the map live. The listing and the live channels are separate streams, so a listing does
not overwrite an order that a live frame changed after the listing was asked for. Part of the
order machine (``orders.py``), which owns the event list this appends to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from core.model import (
    OrderUpdate,
    SessionEvent,
    WorkingKind,
    WorkingOrder,
    WorkingOrderRemoved,
    WorkingOrdersSnapshot,
)
from core.venues.qfex import protocol
from core.venues.qfex.protocol import OrdersList, StopOrder

__all__ = ["WorkingOrders"]

_STOP_TYPES = ("STOP_LOSS", "TAKE_PROFIT")


class WorkingOrders:
    """Working orders by venue id (order_id, or stop_order_id for stops), as last emitted."""

    venue = protocol.VENUE

    def __init__(
        self, account: str, events: list[SessionEvent], is_ours: Callable[[str | None], bool]
    ) -> None:
        self.account = account
        self._events = events
        self._is_ours = is_ours
        self._resting: dict[str, WorkingOrder] = {}
        # Ids changed by live frames since get_user_orders was sent: for these the live state
        # is at least as new as the listing, so the listing does not overwrite them.
        self._touched: set[str] | None = None

    def __contains__(self, order_id: str) -> bool:
        return order_id in self._resting

    def get(self, order_id: str) -> WorkingOrder | None:
        return self._resting.get(order_id)

    def listing_asked(self) -> None:
        self._touched = set()

    def listing_done(self) -> None:
        self._touched = None

    def track(self, update: OrderUpdate) -> None:
        """Keep the map live from one ``order_response``."""
        oid = update.order_id
        reason = protocol.removal_reason(update)
        if reason is not None:
            current = self._resting.get(oid) if oid else None
            if current is not None:
                if current.kind is WorkingKind.TRIGGER and update.order_type not in _STOP_TYPES:
                    reason = f"triggered; {reason}"
                self.drop(current.order_id, reason)
            self._drop_fired_stop(update)
            return
        working = protocol.working_order(update, reduce_only=self._is_ours(update.client_order_id))
        if working is not None:
            self._upsert(working)
        else:
            self._drop_fired_stop(update)

    def stop_pushed(self, stop: StopOrder) -> None:
        """A ``stop_orders`` push: the stop as it rests now."""
        working = protocol.working_stop(stop, self.account)
        cid = stop.client_order_id
        if cid is not None:
            # UNKNOWN #7: the listing may name this stop by another id; keep one row per stop.
            for other in list(self._resting.values()):
                if (
                    other.kind is WorkingKind.TRIGGER
                    and other.client_order_id == cid
                    and other.order_id != working.order_id
                ):
                    self.drop(other.order_id, "listed again under its stop_order_id")
        self._upsert(working)

    def drop(self, order_id: str, reason: str) -> None:
        if self._touched is not None:
            self._touched.add(order_id)
        if self._resting.pop(order_id, None) is not None:
            self._events.append(WorkingOrderRemoved(self.venue, self.account, order_id, reason))

    def apply_listing(self, listing: OrdersList) -> None:
        """Replace the map with the venue's listing, except for ids live frames changed after
        the listing was asked for: those frames are at least as new as the listing."""
        touched = self._touched or set()
        fresh: dict[str, WorkingOrder] = {}
        for update in listing.orders:
            working = protocol.working_order(
                update, reduce_only=self._is_ours(update.client_order_id)
            )
            if working is not None and working.order_id not in touched:
                fresh[working.order_id] = working
        for oid in touched:
            if oid in self._resting:
                fresh[oid] = self._resting[oid]
        self._resting = fresh
        self._events.append(WorkingOrdersSnapshot(self.venue, self.account, tuple(fresh.values())))

    def _drop_fired_stop(self, update: OrderUpdate) -> None:
        """INFERRED: a fired stop may trade as a new order with the stop's client_order_id.
        Our closes never attach stops to an order, so a non-stop order carrying the client id
        of a stop we placed means that stop has fired. (Orders placed elsewhere may share a
        client id with their attached stops, so for those this says nothing.)"""
        cid = update.client_order_id
        if not self._is_ours(cid) or update.order_type in _STOP_TYPES:
            return
        for other in list(self._resting.values()):
            if (
                other.kind is WorkingKind.TRIGGER
                and other.client_order_id == cid
                and other.order_id != update.order_id
            ):
                self.drop(other.order_id, "triggered")

    def _upsert(self, order: WorkingOrder) -> None:
        if self._touched is not None:
            self._touched.add(order.order_id)
        current = self._resting.get(order.order_id)
        if current is not None and replace(order, received_at=current.received_at) == current:
            return  # a duplicate frame changes nothing and is not re-emitted
        self._resting[order.order_id] = order
        self._events.append(order)
