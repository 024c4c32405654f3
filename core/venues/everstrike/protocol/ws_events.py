"""What a WebSocket frame can become: control replies the session acts on, a refusal, or
the model's own events."""

from __future__ import annotations

from dataclasses import dataclass

from core.model import (
    MarkUpdate,
    OrderUpdate,
    Position,
    PositionRemoved,
    ProtocolError,
    WorkingOrder,
    WorkingOrderRemoved,
)


@dataclass(frozen=True, slots=True)
class ControlEvent:
    """A WS control message; the session acts on these and never shows them as trades."""

    msg: str = ""
    result: object = None


class Authenticated(ControlEvent):
    __slots__ = ()


class Subscribed(ControlEvent):
    __slots__ = ()


class Unsubscribed(ControlEvent):
    __slots__ = ()


class Subscriptions(ControlEvent):
    __slots__ = ()


class StatusOk(ControlEvent):
    """The reply to the ``status`` keep-alive."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class WsError:
    """Category ``error``: the venue refused something we sent (auth, a subscription)."""

    message: str
    code: int | None = None


WsEvent = (
    ControlEvent
    | WsError
    | OrderUpdate
    | Position
    | PositionRemoved
    | MarkUpdate
    | ProtocolError
    | WorkingOrder
    | WorkingOrderRemoved
)
