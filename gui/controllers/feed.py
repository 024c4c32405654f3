"""The desk's events onto the window: positions and their removal, marks for open close
dialogs, working orders (with the marker on their position's Close button and the tab's
count), another desk closing a position, close progress, connections, and the log's lines."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from core.desk import DeskEvent, IntentChanged, PositionUpserted
from core.desk.coordination import ElsewhereChanged
from core.model import (
    ConnectionEvent,
    Fill,
    MarkUpdate,
    OrderUpdate,
    Position,
    PositionKey,
    PositionRemoved,
    ProtocolError,
    WorkingOrder,
    WorkingOrderRemoved,
)

if TYPE_CHECKING:
    from gui.main_window import MainWindow

log = logging.getLogger(__name__)

__all__ = ["DeskFeed"]


class DeskFeed:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.desk = window.desk
        self._routes: dict[type, Callable[[Any], None]] = {}

    def route(self) -> None:
        """Where each kind of desk event goes (once the window's parts exist)."""
        w = self.window
        log = w.log_model.append_event

        def connection(e: ConnectionEvent) -> None:
            w.health.on_connection(e)
            log(e)

        self._routes = {
            PositionUpserted: lambda e: self.on_position(e.position),
            PositionRemoved: lambda e: self.on_removed(e.key),
            IntentChanged: lambda e: w.progress.on_intent(e.intent),
            MarkUpdate: self.on_mark,
            OrderUpdate: log,
            Fill: log,
            ConnectionEvent: connection,
            ProtocolError: log,
            WorkingOrder: self.on_working,
            WorkingOrderRemoved: self.on_working_removed,
            ElsewhereChanged: self.on_elsewhere,
        }

    def on_events(self, events: Sequence[DeskEvent]) -> None:
        """A turn's desk events, in order: a dict lookup and a call each. A handler that
        fails is logged and the turn goes on: the events after it still reach the window."""
        routes = self._routes
        for event in events:
            handler = routes.get(type(event)) or self._subclass_route(type(event))
            if handler is None:
                continue
            try:
                handler(event)
            except Exception:
                log.exception("the window failed to show %s", type(event).__name__)

    def _subclass_route(self, kind: type) -> Callable[[Any], None] | None:
        """The route of the nearest routed base class (remembered for the next one)."""
        for base in kind.__mro__[1:]:
            handler = self._routes.get(base)
            if handler is not None:
                self._routes[kind] = handler
                return handler
        return None

    def load_current(self) -> None:
        """Show whatever the desk already knows (the window may open after it started)."""
        w = self.window
        health = w.health
        for name, account in self.desk.accounts.items():
            w.envs.set_account_environment(name, account.environment)
            state = self.desk.connection_state(name)
            health.freshness.connection(name, state, health.wall())
            w.connectionStrip.set_state(
                name, account.venue, state, since=health.freshness.outage_since(name)
            )
        w.positions_model.upsert_many(self.desk.positions.values())
        for key in self.desk.positions:
            if (desk := self.desk.elsewhere(key)) is not None:
                w.positions_model.set_elsewhere(key, desk, self.desk.elsewhere_holder(key))
        for order in self.desk.working_orders.values():
            self.on_working(order)
        for name in self.desk.accounts:
            health.refresh_stale(name)
        health.refresh_health()

    def on_position(self, position: Position) -> None:
        self.window.positions_model.queue_upsert(position)
        dialog = self.window.closing.dialogs.get(position.key)
        if dialog is not None:
            dialog.update_position(position)

    def on_removed(self, key: PositionKey) -> None:
        self.window.positions_model.remove(key)
        dialog = self.window.closing.dialogs.get(key)
        if dialog is not None and not dialog.busy:
            dialog.update_position(None)
        quick = self.window.closing.quick_dialogs.get(key)
        if quick is not None and not quick.busy:
            quick.update_position(None)

    def on_elsewhere(self, event: ElsewhereChanged) -> None:
        """Another desk started or stopped closing a position (team mode): its row's Close
        button, and an open close dialog of it (which may be waiting for that desk)."""
        self.window.positions_model.set_elsewhere(event.key, event.desk, event.holder)
        self.window.closing.on_elsewhere(event.key, event.desk, event.holder)

    def on_mark(self, mark: MarkUpdate) -> None:
        for key, dialog in self.window.closing.dialogs.items():
            if key.venue is mark.venue and key.symbol == mark.symbol:
                dialog.update_mark(mark)

    def on_working(self, order: WorkingOrder) -> None:
        self.window.working_model.upsert(order)
        self._refresh_marker(PositionKey(order.account, order.venue, order.symbol))

    def on_working_removed(self, event: WorkingOrderRemoved) -> None:
        order = self.window.working_model.remove((event.account, event.order_id))
        if order is not None:
            self._refresh_marker(PositionKey(order.account, order.venue, order.symbol))

    def _refresh_marker(self, key: PositionKey) -> None:
        self.window.positions_model.set_working(key, self.window.working_model.orders_for(key))
        dialog = self.window.closing.dialogs.get(key)
        if dialog is not None:  # its list of working orders (and "Cancel them first")
            dialog.refresh_working()

    def update_working_count(self, *_: object) -> None:
        w = self.window
        n = w.working_model.rowCount()
        w.bottomTabs.setTabText(w.bottomTabs.indexOf(w.workingOrdersView), f"Working orders ({n})")
