"""Position objects (``/active_positions``, a close reply, a position event) to positions;
a flat one is a removal."""

from __future__ import annotations

from core.model import Position, PositionKey, PositionRemoved, PositionSide
from core.venues.everstrike.protocol.envelope import _malformed
from core.venues.everstrike.protocol.facts import VENUE
from core.venues.everstrike.protocol.fields import _PARSE_ERRORS, _Bad, _dec, _obj, _opt_dec, _str


def parse_position(obj: object, account: str, pair: str) -> Position | PositionRemoved:
    """One position object; flat (size 0) becomes PositionRemoved. Raises MalformedReply."""
    try:
        return _position(obj, account, pair)
    except _PARSE_ERRORS as exc:
        raise _malformed("bad position", exc) from None


def _position(obj: object, account: str, pair: str) -> Position | PositionRemoved:
    """One position object; raises ``_Bad`` for its callers to turn into their own error.

    INFERRED: side from ``stats.direction``; ``size`` may be signed, so quantity is ``|size|``
    and a negative size with no direction means SHORT.
    """
    data = _obj(obj, "position")
    raw_stats = data.get("stats")
    stats = raw_stats if isinstance(raw_stats, dict) else {}
    size_raw = data.get("size", stats.get("size"))
    size = _dec(size_raw, "position size")
    key = PositionKey(account=account, venue=VENUE, symbol=pair)
    if size == 0:
        return PositionRemoved(key=key)
    direction = stats.get("direction", data.get("direction"))
    if direction == "BUY":
        side = PositionSide.LONG
    elif direction == "SELL" or (direction is None and size < 0):
        side = PositionSide.SHORT
    else:
        raise _Bad(f"position direction {direction!r} is neither BUY nor SELL")
    return Position(
        key=key,
        side=side,
        quantity=size.copy_abs(),
        entry_price=_opt_dec(stats.get("avg_entry"), "avg_entry"),
        mark_price=_opt_dec(stats.get("mark"), "mark"),
        unrealised_pnl=_opt_dec(stats.get("upnl"), "upnl"),
        liquidation_price=_opt_dec(stats.get("lp"), "lp"),
        leverage=_opt_dec(stats.get("leverage"), "leverage"),
        # ``stats.rpnl`` as documented; ``realized`` is the same figure at the top level.
        realised_pnl=_opt_dec(stats.get("rpnl", data.get("realized")), "rpnl"),
    )


def parse_active_positions(result: object, account: str) -> tuple[Position, ...]:
    """``GET /active_positions``: an object keyed by pair; flat entries are dropped."""
    try:
        data = _obj(result, "active_positions result")
        positions: list[Position] = []
        for pair, obj in data.items():
            parsed = _position(obj, account, _str(pair, "pair"))
            if isinstance(parsed, Position):
                positions.append(parsed)
        return tuple(positions)
    except _PARSE_ERRORS as exc:
        raise _malformed("bad /active_positions result", exc) from None
