"""The ``/auth/close`` reply to events: the order, the order as it rests, the position."""

from __future__ import annotations

from core.model import OrderUpdate, Position, PositionRemoved, WorkingOrder
from core.venues.everstrike.protocol.envelope import _malformed
from core.venues.everstrike.protocol.errors import MalformedReply
from core.venues.everstrike.protocol.fields import _PARSE_ERRORS, _Bad, _obj, _opt_str
from core.venues.everstrike.protocol.order import parse_order
from core.venues.everstrike.protocol.positions import _position
from core.venues.everstrike.protocol.working import working_order


def parse_close_reply(
    result: object, account: str, pair: str | None = None
) -> list[OrderUpdate | Position | PositionRemoved | WorkingOrder]:
    """The ``/auth/close`` result ``{order, balances, position}``: the order's state (and the
    order as a working order if it rests), then the position it left (the position object
    carries no pair, so the order's or ``pair`` is used)."""
    try:
        data = _obj(result, "close result")
        events: list[OrderUpdate | Position | PositionRemoved | WorkingOrder] = []
        symbol = pair
        order = data.get("order")
        if order is not None:
            update = parse_order(order, account, pair)
            events.append(update)
            symbol = update.symbol
            working = working_order(order, account, pair, fresh=True)
            if working is not None:
                events.append(working)
        position = data.get("position")
        if isinstance(position, dict) and position:
            where = _opt_str(position.get("pair")) or symbol
            if where is None:
                raise _Bad("position has no pair")
            events.append(_position(position, account, where))
        elif position is not None and not isinstance(position, dict):
            raise _Bad("position is not an object")
        return events
    except MalformedReply:
        raise
    except _PARSE_ERRORS as exc:
        raise _malformed("bad /auth/close result", exc) from None
