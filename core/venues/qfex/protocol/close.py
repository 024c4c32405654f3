"""A ``CloseRequest`` to the one frame that carries it, after the close rules allow it."""

from __future__ import annotations

from decimal import Decimal

from core.closing.rules import FieldError, check_request
from core.model import CloseRequest, Instrument, PositionSide, TimeInForce
from core.venues.qfex.protocol.facts import CAPABILITIES
from core.venues.qfex.protocol.frames import build_add_order, build_close_position


class InvalidClose(ValueError):
    """A ``CloseRequest`` QFEX cannot take as asked; ``field`` names the dialog field at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def _check(request: CloseRequest, instrument: Instrument | None) -> None:
    """The close rules (core.closing.rules), as QFEX sizes its orders: every close but a full
    one at market is an ``add_order`` carrying a quantity."""
    sized = not (request.is_full and request.limit_price is None and request.trigger is None)
    try:
        check_request(request, CAPABILITIES, instrument, sized=sized)
    except FieldError as exc:
        raise InvalidClose(exc.message, field=exc.field) from None


def stop_type(position_side: PositionSide, trigger: Decimal, mark: Decimal) -> str:
    """A trigger on the losing side of the mark is a stop-loss, on the winning side a
    take-profit. QFEX needs the type; it has no generic "trigger" order."""
    losing = trigger < mark if position_side is PositionSide.LONG else trigger > mark
    return "STOP_LOSS" if losing else "TAKE_PROFIT"


def build_close(request: CloseRequest, mark: Decimal | None, instrument: Instrument | None) -> str:
    """The one frame for a close (DESIGN.md "Closing: what goes on the wire")."""
    _check(request, instrument)
    symbol = request.key.symbol
    cid = request.client_order_id
    qty = request.position_quantity if request.quantity is None else request.quantity
    tif = request.time_in_force

    if request.trigger is not None:
        trigger = request.trigger
        # QFEX has no generic trigger: the stop's type says which side of the mark it is on.
        if mark is None:
            raise InvalidClose(
                f"No mark price for {symbol} yet, so stop-loss and take-profit cannot be told "
                "apart; wait for market data",
                field="trigger_price",
            )
        if trigger.price == mark:
            raise InvalidClose(
                f"The trigger {trigger.price} equals the mark price; it would fire at once",
                field="trigger_price",
            )
        return build_add_order(
            symbol=symbol,
            side=request.order_side,
            order_type=stop_type(request.position_side, trigger.price, mark),
            time_in_force="GTC",  # required by the venue, ignored for stops
            quantity=qty,
            price=trigger.price,
            client_order_id=cid,
        )

    if request.limit_price is not None:
        return build_add_order(
            symbol=symbol,
            side=request.order_side,
            order_type="LIMIT",
            time_in_force=(tif or TimeInForce.GTC).value,
            quantity=qty,
            price=request.limit_price,
            client_order_id=cid,
        )

    if tif not in (None, TimeInForce.IOC):
        raise InvalidClose(
            "A close at market is always immediate-or-cancel on QFEX; set a limit price for "
            f"{tif.value}",
            field="time_in_force",
        )
    if request.is_full:
        # The venue sends LIMIT IOC reduce-only near the mark, sized to the whole position.
        return build_close_position(symbol, cid)
    return build_add_order(
        symbol=symbol,
        side=request.order_side,
        order_type="MARKET",
        time_in_force="IOC",
        quantity=qty,
        price=Decimal(0),  # the CLI sends 0; a real price can be refused for MARKET
        client_order_id=cid,
    )
