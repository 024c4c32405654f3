"""The open QFEX trade sockets, and how a reply or a push reaches them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocket

from core.sim.common import Outbox, dumps
from core.sim.faults import poisoned
from core.sim.qfex.settings import QfexAccount

__all__ = ["TradeConn", "TradeConns", "err", "reply_order", "send"]


@dataclass(eq=False)
class TradeConn:
    websocket: WebSocket
    outbox: Outbox
    account: QfexAccount | None = None
    channels: set[str] = field(default_factory=set)
    cancel_on_disconnect: bool = False
    positions_pushed: bool = False
    message_id: int = 0


def send(conn: TradeConn, payload: Any, *, update: bool = False) -> None:
    text = dumps(payload, float_style=True)
    number = conn.outbox.faults.take_poison() \
        if isinstance(payload, dict) and "order_response" in payload else None
    if number is not None:  # the poison_replies knob
        text = poisoned(text, "order_response", number)
    conn.outbox.push(text, update=update)


def err(conn: TradeConn, code: str, message: str | None, incoming: Any) -> None:
    send(conn, {"err": {"error_code": code, "message": message, "incoming_message": incoming}})


def reply_order(conn: TradeConn, body: dict[str, Any]) -> None:
    """order_responses are delivered only when subscribed (breaking change 2025-09-25)."""
    if "order_responses" in conn.channels:
        send(conn, {"order_response": body}, update=True)


class TradeConns:
    """Every connected trade socket, authenticated or not."""

    def __init__(self) -> None:
        self._conns: set[TradeConn] = set()

    def add(self, conn: TradeConn) -> None:
        self._conns.add(conn)

    def discard(self, conn: TradeConn) -> None:
        self._conns.discard(conn)

    def __iter__(self) -> Iterator[TradeConn]:
        return iter(list(self._conns))

    def subscribed(self, account_id: str, channel: str) -> list[TradeConn]:
        """The account's sockets that subscribed to ``channel``."""
        return [
            c
            for c in self._conns
            if c.account is not None
            and c.account.account_id == account_id
            and channel in c.channels
        ]
