"""The positions book: what every account holds and has resting now, as its venue last said.

Applies snapshots, upserts and removals of positions and working orders, and reprices rows
from marks. It keeps no history and makes no decisions: the desk journals, the intents react
to a position that is gone. Every change is announced through ``emit`` as it is made, so a
listener never sees the book ahead of the events it has heard.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.model import (
    MarkUpdate,
    Position,
    PositionKey,
    PositionRemoved,
    PositionsSnapshot,
    Venue,
    WorkingOrder,
    WorkingOrderRemoved,
    WorkingOrdersSnapshot,
)

__all__ = ["Book", "BookEvent", "PositionUpserted"]


@dataclass(frozen=True, slots=True)
class PositionUpserted:
    position: Position


BookEvent = PositionUpserted | PositionRemoved | MarkUpdate | WorkingOrder | WorkingOrderRemoved


class Book:
    """Positions by key, marks by (venue, symbol), working orders by (account, order id).

    ``on_removed`` hears every position that leaves the book, after its removal was emitted.
    """

    def __init__(self, emit: Callable[[BookEvent], None],
                 on_removed: Callable[[PositionKey], None]) -> None:
        self._emit = emit
        self._on_removed = on_removed
        self.positions: dict[PositionKey, Position] = {}
        self.working: dict[tuple[str, str], WorkingOrder] = {}
        self._by_symbol: dict[tuple[Venue, str], set[PositionKey]] = {}
        self._marks: dict[tuple[Venue, str], MarkUpdate] = {}

    # ------------------------------------------------------------------ queries
    def get(self, key: PositionKey) -> Position | None:
        return self.positions.get(key)

    def mark(self, venue: Venue, symbol: str) -> MarkUpdate | None:
        return self._marks.get((venue, symbol))

    def working_for(self, key: PositionKey) -> list[WorkingOrder]:
        return [
            o for o in self.working.values()
            if o.account == key.account and o.symbol == key.symbol and o.venue is key.venue
        ]

    # ------------------------------------------------------------------ positions
    def upsert(self, position: Position) -> None:
        vs = (position.key.venue, position.key.symbol)
        if position.mark_price is None and (mark := self._marks.get(vs)) is not None:
            position = position.with_mark(mark.mark)
        old = self.positions.get(position.key)
        self.positions[position.key] = position
        self._by_symbol.setdefault(vs, set()).add(position.key)
        if old != position:
            self._emit(PositionUpserted(position))

    def remove(self, key: PositionKey) -> None:
        if self.positions.pop(key, None) is not None:
            self._by_symbol.get((key.venue, key.symbol), set()).discard(key)
            self._emit(PositionRemoved(key))
            self._on_removed(key)

    def apply_snapshot(self, snap: PositionsSnapshot) -> None:
        """The account holds exactly these positions now: the others are removed."""
        seen = {p.key for p in snap.positions}
        for key in [k for k in self.positions if k.account == snap.account and k not in seen]:
            self.remove(key)
        for pos in snap.positions:
            self.upsert(pos)

    def apply_mark(self, update: MarkUpdate) -> None:
        vs = (update.venue, update.symbol)
        self._marks[vs] = update
        for key in self._by_symbol.get(vs, ()):
            pos = self.positions[key]
            if pos.mark_price != update.mark:
                self.positions[key] = repriced = pos.with_mark(update.mark)
                self._emit(PositionUpserted(repriced))
        self._emit(update)

    # ------------------------------------------------------------------ working orders
    def set_working(self, order: WorkingOrder) -> None:
        self.working[order.ident] = order
        self._emit(order)

    def pop_working(self, account: str, order_id: str) -> WorkingOrder | None:
        """Drop a resting order the venue no longer has; the caller announces it."""
        return self.working.pop((account, order_id), None)

    def apply_working_snapshot(self, snap: WorkingOrdersSnapshot) -> None:
        """The account has exactly these orders resting now: the others are removed."""
        seen = {o.ident for o in snap.orders}
        for ident in [i for i in self.working if i[0] == snap.account and i not in seen]:
            del self.working[ident]
            self._emit(WorkingOrderRemoved(snap.venue, snap.account, ident[1], "not at venue"))
        for order in snap.orders:
            if self.working.get(order.ident) != order:
                self.working[order.ident] = order
                self._emit(order)

    def drop_account(self, account: str) -> None:
        """An account is gone: its rows and resting orders leave the book."""
        for key in [k for k in self.positions if k.account == account]:
            self.remove(key)
        for ident in [i for i in self.working if i[0] == account]:
            order = self.working.pop(ident)
            self._emit(WorkingOrderRemoved(order.venue, account, order.order_id,
                                           "account removed"))
