"""What QFEX says about an order: its ``order_response``, ``stop_order_response`` and
``fill_response`` bodies, and the facts they need beyond the market (the type and time in
force it was placed as, attached TP/SL, stops that fired, rejections ``get_order`` still
answers for)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from core.sim.market import (
    ACTIVE,
    BUY,
    CANCELLED,
    FILLED,
    PARTIAL,
    SELL,
    UNTRIGGERED,
    ZERO,
    FillHappened,
    Market,
    OrderChanged,
    SimInstrument,
    SimOrder,
)
from core.sim.qfex.settings import STOP_TYPES
from core.sim.qfex.timing import secs

__all__ = ["OrderWire"]

REJECTIONS_KEPT = 1000  # rejected orders get_order can still answer for


class OrderWire:
    """Per-order wire facts, and the bodies built from them."""

    def __init__(
        self, market: Market, now: Callable[[], float], new_id: Callable[[], str]
    ) -> None:
        self._market = market
        self._now = now
        self._new_id = new_id
        self._wire: dict[str, tuple[str, str]] = {}  # order id -> (wire type, wire tif)
        self._next_wire: tuple[str, str] | None = None
        self._attached: dict[str, tuple[Decimal, Decimal]] = {}  # order id -> (tp, sl)
        self._taking = False  # True while a new order is being matched (taker fills)
        self._fired: set[str] = set()  # stops that triggered (their wire type is now MARKET)
        self._rejections: dict[str, dict[str, Any]] = {}  # order id -> rejected order_response

    # ------------------------------------------------------------------ bookkeeping
    def submit(self, wire: tuple[str, str], **kwargs: Any) -> SimOrder:
        """Place an order on the market, remembering the wire type and time in force it was
        sent as; fills while it matches are taker fills."""
        self._next_wire = wire
        self._taking = True
        try:
            return self._market.submit(**kwargs)
        finally:
            self._next_wire = None
            self._taking = False

    def attach(self, order_id: str, tp: Decimal, sl: Decimal) -> None:
        self._attached[order_id] = (tp, sl)

    def note(self, event: OrderChanged) -> None:
        """Record what a market event changes on the wire (before anything is pushed)."""
        order = event.order
        if event.kind in ("added", "trigger_added") and self._next_wire is not None:
            self._wire[order.id] = self._next_wire
        if event.kind == "triggered":
            self._fired.add(order.id)

    def remember_rejection(self, body: dict[str, Any]) -> None:
        self._rejections[body["order_id"]] = body
        while len(self._rejections) > REJECTIONS_KEPT:
            del self._rejections[next(iter(self._rejections))]

    def rejection(self, order_id: str) -> dict[str, Any] | None:
        return self._rejections.get(order_id)

    # ------------------------------------------------------------------ bodies
    def wire_of(self, order: SimOrder) -> tuple[str, str]:
        wire = self._wire.get(order.id)
        if wire and (wire[0] not in STOP_TYPES or order.id not in self._fired):
            return wire
        return order.order_type, order.tif

    @staticmethod
    def _vwap(order: SimOrder, inst: SimInstrument) -> Decimal:
        qty = sum((f.quantity for f in order.fills), ZERO)
        if not qty:
            return order.price
        return inst.q_price(sum((f.price * f.quantity for f in order.fills), ZERO) / qty)

    @staticmethod
    def status_of(order: SimOrder) -> str:
        if order.status in (ACTIVE, UNTRIGGERED):
            return "ACK"
        if order.status in (PARTIAL, FILLED):
            return "FILLED"
        if order.status == CANCELLED:
            ioc = order.tif in ("IOC", "FOK") or order.order_type == "MARKET"
            return "FILLED" if ioc and order.filled > 0 else "CANCELLED"
        return "REJECTED"

    def order_body(self, order: SimOrder, status: str) -> dict[str, Any]:
        inst = self._market.instruments[order.symbol]
        wire_type, wire_tif = self.wire_of(order)
        price = self._vwap(order, inst) if status == "FILLED" else order.price
        if wire_type in STOP_TYPES and order.trigger_price is not None:
            price = order.trigger_price
        tp, sl = self._attached.get(order.id, (ZERO, ZERO))
        return {
            "order_id": order.id,
            "symbol": order.symbol,
            "status": status,
            "quantity": order.quantity,
            "price": price,
            "take_profit": tp,
            "stop_loss": sl,
            "side": order.side,
            "type": wire_type,
            "time_in_force": wire_tif,
            "user_id": order.account,
            "client_order_id": order.client_order_id,
            "quantity_remaining": order.remaining,
            "update_time": secs(order.updated),
            "trade_id": order.fills[-1].trade_id if status == "FILLED" and order.fills else None,
        }

    def reject_body(
        self, account_id: str, params: dict[str, Any], status: str, *, order_type: str,
        tif: str, side: str,
    ) -> dict[str, Any]:
        def num(key: str) -> Decimal:
            v = params.get(key)
            return Decimal(v) if isinstance(v, int | Decimal) and not isinstance(v, bool) else ZERO

        cid = params.get("client_order_id")
        return {
            "order_id": self._new_id(),
            "symbol": str(params.get("symbol", "")),
            "status": status,
            "quantity": num("quantity"),
            "price": num("price"),
            "take_profit": num("take_profit"),
            "stop_loss": num("stop_loss"),
            "side": side,
            "type": order_type,
            "time_in_force": tif,
            "user_id": account_id,
            "client_order_id": cid if isinstance(cid, str) else "",
            "quantity_remaining": num("quantity"),  # nothing filled
            "update_time": secs(self._now()),
            "trade_id": None,
        }

    def stop_body(self, order: SimOrder) -> dict[str, Any]:
        wire_type, _ = self._wire.get(order.id, ("STOP_LOSS", "GTC"))
        return {
            "stop_order_id": order.id,
            "user_id": order.account,
            "symbol": order.symbol,
            "price": order.trigger_price,
            "quantity": order.quantity,
            "direction": order.side,
            "stop_order_type": wire_type,
            "client_order_id": order.client_order_id,
            "update_time": secs(order.updated),
        }

    def fill_body(self, event: FillHappened) -> dict[str, Any]:
        fill, order = event.fill, event.order
        wire_type, wire_tif = self.wire_of(order)
        tp, sl = self._attached.get(order.id, (ZERO, ZERO))
        # Taker: filled while being placed, or a market/IOC order (a fired stop); else maker.
        taker = self._taking or order.order_type == "MARKET" or order.tif in ("IOC", "FOK")
        return {
            "trade_id": fill.trade_id,
            "user_id": fill.account,
            "symbol": fill.symbol,
            "price": fill.price,
            "quantity": fill.quantity,
            "side": fill.side,
            "aggressor_side": fill.side if taker else (SELL if fill.side == BUY else BUY),
            "order_id": order.id,
            "fee": fill.fee,
            "order_type": wire_type,
            "tif": wire_tif,
            "order_price": order.price,
            "client_order_id": order.client_order_id,
            "remaining_quantity": order.remaining,
            "take_profit": tp,
            "stop_loss": sl,
            "execution_type": "TAKER" if taker else "MAKER",
            "timestamp": secs(fill.time),
            "realised_pnl": fill.realised,
        }
