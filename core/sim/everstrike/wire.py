"""Everstrike's order, position and balance objects, and the facts they need beyond the
market: fees paid per position, a position's last direction, statuses forced by a fault
knob."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from core.sim.everstrike.settings import DEPOSIT, LEVERAGE, Q8, EverstrikeAccount
from core.sim.market import (
    ACTIVE,
    BUY,
    CANCELLED,
    FILLED,
    PARTIAL,
    REJECTED,
    SELL,
    UNTRIGGERED,
    ZERO,
    FillHappened,
    Market,
    MarketEvent,
    PositionChanged,
    SimFill,
    SimOrder,
    SimPosition,
)

__all__ = ["WireObjects", "ms"]


def ms(t: float) -> int:
    return int(t * 1000)


class WireObjects:
    """Builds the objects REST replies and WebSocket events carry."""

    def __init__(self, market: Market) -> None:
        self._market = market
        self._fees: dict[tuple[str, str], Decimal] = {}
        self._direction: dict[tuple[str, str], str] = {}
        self._status: dict[str, str] = {}  # order id -> forced wire status
        self._leverage: dict[tuple[str, str], Decimal] = {}  # set by POST /leverage

    def note(self, event: MarketEvent) -> None:
        """Record what a market event changes in the objects (before anything is pushed)."""
        if isinstance(event, FillHappened):
            key = (event.fill.account, event.fill.symbol)
            self._fees[key] = self._fees.get(key, ZERO) + event.fill.fee
        elif isinstance(event, PositionChanged):
            pos = event.position
            if pos.size:
                self._direction[(pos.account, pos.symbol)] = BUY if pos.size > 0 else SELL

    def leverage(self, account: str, pair: str) -> Decimal:
        return self._leverage.get((account, pair), LEVERAGE)

    def set_leverage(self, account: str, pair: str, leverage: Decimal) -> None:
        self._leverage[(account, pair)] = leverage

    def force_status(self, order_id: str, status: str) -> None:
        self._status[order_id] = status

    def status(self, order: SimOrder) -> str:
        """The order's status on the wire: the docs' names, or the one a fault knob forced."""
        status = {
            ACTIVE: "ACTIVE",
            PARTIAL: "ACTIVE",
            FILLED: "COMPLETED",
            CANCELLED: "CANCELLED",
            UNTRIGGERED: "UNTRIGGERED",
            REJECTED: "CANCELLED",
        }[order.status]
        return self._status.get(order.id, status)

    def order_obj(self, order: SimOrder) -> dict[str, Any]:
        status = self.status(order)
        inst = self._market.instruments[order.symbol]
        price = order.price
        if order.fills and order.order_type == "MARKET":
            qty = sum((f.quantity for f in order.fills), ZERO)
            price = inst.q_price(sum((f.price * f.quantity for f in order.fills), ZERO) / qty)
        return {
            "id": order.id,
            "pair": order.symbol,
            "side": order.side,
            "type": order.order_type,
            "status": status,
            "time": ms(order.updated),
            "price": price,
            "price_orig": order.price,
            "qty_orig": order.quantity,
            "qty_orig_usd": (order.quantity * inst.mark).quantize(Q8),
            "qty_remaining": order.remaining,
            "qty_filled": order.filled,
            "time_in_force": order.tif,
            "trigger_price": order.trigger_price,
            "trigger_event": order.trigger_event,
            "close_on_trigger": order.close_on_trigger,
            "reduce_only": order.reduce_only,
            "post_only": False,
            "hidden": False,
            "oco": False,
            "icebergs": None,
            "leverage": LEVERAGE,
            "customer_id": order.account,
            "fills": [self.fill_obj(f, order) for f in order.fills],
            "msg": order.message or None,
        }

    @staticmethod
    def fill_obj(fill: SimFill, order: SimOrder) -> dict[str, Any]:
        """A fill as ``GET /fills`` lists it; orders carry the same objects (the official
        adapter reads ``pair`` from every one). Every simulated fill takes liquidity, so the
        buyer is the maker exactly when the taker sold."""
        notional = (fill.price * fill.quantity).quantize(Q8)
        return {
            "id": fill.trade_id,
            "pair": fill.symbol,
            "side": fill.side,
            "type": order.order_type,
            "price": fill.price,
            "qty": fill.quantity,
            "qty_usd": notional,
            "cost": notional,
            "time": ms(fill.time),
            "is_buyer_maker": fill.side == SELL,
            "liquidation": False,
            "discount": ZERO,
            "gross_commission": fill.fee,
            "net_commission": fill.fee,
            "gross_commission_asset": "USD",
            "net_commission_asset": "USD",
        }

    def position_obj(self, pos: SimPosition) -> dict[str, Any]:
        inst = self._market.instruments[pos.symbol]
        key = (pos.account, pos.symbol)
        size = abs(pos.size)
        direction = self._direction.get(key, BUY if pos.size >= 0 else SELL)
        leverage = self.leverage(pos.account, pos.symbol)
        notional = (size * inst.mark).quantize(Q8)
        margin = (notional / leverage).quantize(Q8)
        upnl = self._market.unrealised(pos).quantize(Q8)
        locked = sum(
            (o.remaining for o in self._market.open_orders(pos.account, pos.symbol)
             if o.status != UNTRIGGERED and o.reduce_only), ZERO)
        locked = min(locked, size)
        sign = 1 if direction == BUY else -1
        lp = bankrupt = ZERO
        if size:
            bankrupt = inst.q_price(pos.entry * (1 - sign / leverage))
            lp = inst.q_price(pos.entry * (1 - sign * Decimal("0.9") / leverage))
        return {
            "pair": pos.symbol,
            "size": pos.size,
            "free": size - locked,
            "locked": locked,
            "realized": pos.realised,
            "funding": ZERO,
            "fees": self._fees.get(key, ZERO),
            "cum_pnl": pos.realised,
            "fills": [],
            "stats": {
                "size": size,
                "notional": notional,
                "notional_entry": (size * pos.entry).quantize(Q8),
                "margin": margin,
                "pnl": upnl + pos.realised,
                "upnl": upnl,
                "rpnl": pos.realised,
                "equity": margin + upnl,
                "roe": (upnl / margin).quantize(Q8) if margin else ZERO,
                "mark": inst.mark,
                "avg_entry": pos.entry,
                "leverage": leverage,
                "lp": lp,
                "bankrupt": bankrupt,
                "direction": direction,
            },
        }

    def balances(self, customer_id: str) -> dict[str, Any]:
        positions = self._market.account_positions(customer_id, include_flat=True)
        pnl = sum((p.realised for p in positions), ZERO)
        margin = sum(
            ((abs(p.size) * self._market.instruments[p.symbol].mark
              / self.leverage(customer_id, p.symbol)).quantize(Q8)
             for p in positions), ZERO)
        fees = sum((self._fees.get((customer_id, p.symbol), ZERO) for p in positions), ZERO)
        locked = sum(
            ((o.remaining * o.price / LEVERAGE).quantize(Q8)
             for o in self._market.open_orders(customer_id) if o.status != UNTRIGGERED), ZERO)
        return {
            "USD": {
                "free": DEPOSIT + pnl - fees - margin - locked,
                "locked": locked,
                "withdrawn": ZERO,
                "pnl": pnl,
                "margin": margin,
                "fees": fees,
            }
        }

    def result(self, account: EverstrikeAccount, order: SimOrder) -> dict[str, Any]:
        """What an order POST returns: the order, the balances and the pair's position."""
        return {
            "order": self.order_obj(order),
            "balances": self.balances(account.customer_id),
            "position": self.position_obj(
                self._market.position(account.customer_id, order.symbol)),
        }
