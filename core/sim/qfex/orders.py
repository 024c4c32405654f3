"""The QFEX trade socket's order commands: ``close_position``, ``add_order`` and its checks,
cancels, modifies, order lookups and standalone stops."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from core.sim.common import TransportRegistry, close_quietly
from core.sim.faults import Faults
from core.sim.market import (
    ACTIVE,
    BUY,
    PARTIAL,
    SELL,
    UNTRIGGERED,
    ZERO,
    Market,
    Rejected,
    SimOrder,
)
from core.sim.qfex.params import BadParam, dec_param, flag_param, str_param
from core.sim.qfex.session import TradeConn, TradeConns, err, reply_order, send
from core.sim.qfex.settings import ORDER_TYPES, STOP_TYPES, TIFS, QfexAccount
from core.sim.qfex.wire import OrderWire

__all__ = ["Handler", "OrderCommands"]

Handler = Callable[[TradeConn, dict[str, Any], Any], None]


class OrderCommands:
    """Runs an authenticated socket's order messages against the market."""

    def __init__(
        self, market: Market, faults: Faults, wire: OrderWire, conns: TradeConns,
        registry: TransportRegistry, now: Callable[[], float],
    ) -> None:
        self._market = market
        self._faults = faults
        self._wire = wire
        self._conns = conns
        self._registry = registry
        self._now = now

    def handlers(self) -> dict[str, Handler]:
        """The message types this answers, by ``type``."""
        return {
            "close_position": self._close_position,
            "add_order": self._add_order,
            "cancel_order": self._cancel_order,
            "cancel_all_orders": self._cancel_all,
            "modify_order": self._modify_order,
            "get_order": self._get_order,
            "get_user_orders": self._get_user_orders,
            "cancel_stop_order": self._cancel_stop,
            "modify_stop_order": self._modify_stop,
        }

    def _reply_rejection(self, conn: TradeConn, body: dict[str, Any]) -> None:
        """Answer a refused add_order/close_position, and remember it for ``get_order``."""
        self._wire.remember_rejection(body)
        reply_order(conn, body)

    def _maybe_drop(self, conn: TradeConn) -> tuple[bool, bool]:
        drop, execute = self._faults.take_drop()
        if drop:
            conn.outbox.closed = True  # nothing more reaches this socket, not even the ACK
        return drop, execute

    def _abort(self, conn: TradeConn) -> None:
        if not self._registry.abort(conn.websocket.scope):
            asyncio.get_running_loop().create_task(close_quietly(conn.websocket, 1011))

    def _close_position(self, conn: TradeConn, params: dict[str, Any], msg: Any) -> None:
        assert conn.account is not None
        symbol = str_param(params, "symbol")
        cid = str_param(params, "client_order_id", "")
        forced = self._faults.take_status(symbol)
        if forced is not None:
            self._force_close_status(conn, conn.account, symbol, params, forced)
            return
        drop, execute = self._maybe_drop(conn)
        if not drop or execute:
            self._do_close(conn, conn.account, symbol, cid, params)
        if drop:
            self._abort(conn)

    def _force_close_status(
        self, conn: TradeConn, account: QfexAccount, symbol: str, params: dict[str, Any],
        status: str,
    ) -> None:
        """The order close_position would have sent, answered with a forced status."""
        pos = self._market.position(account.account_id, symbol)
        side = BUY if pos.size < 0 else SELL
        body = self._wire.reject_body(account.account_id, params, status, order_type="LIMIT",
                                      tif="IOC", side=side)
        inst = self._market.instruments.get(symbol)
        if inst is not None:
            body["price"] = inst.bid if side == SELL else inst.ask
        body["quantity"] = body["quantity_remaining"] = abs(pos.size)
        self._reply_rejection(conn, body)

    def _do_close(
        self, conn: TradeConn, account: QfexAccount, symbol: str, cid: str,
        params: dict[str, Any],
    ) -> None:
        inst = self._market.instruments.get(symbol)
        if inst is None:
            self._reply_rejection(conn, self._wire.reject_body(
                account.account_id, params, "BAD_SYMBOL", order_type="LIMIT", tif="IOC",
                side=SELL))
            return
        pos = self._market.position(account.account_id, symbol)
        side = SELL if pos.size > 0 else BUY
        try:
            self._wire.submit(
                ("LIMIT", "IOC"),
                account=account.account_id,
                symbol=symbol,
                side=side,
                order_type="LIMIT",
                tif="IOC",
                quantity=None,
                price=inst.bid if side == SELL else inst.ask,
                reduce_only=True,
                client_order_id=cid,
                is_close=True,
            )
        except Rejected:
            # ASSUMPTION (docs: "the command is rejected"): an order_response with REJECTED.
            self._reply_rejection(conn, self._wire.reject_body(
                account.account_id, params, "REJECTED", order_type="LIMIT", tif="IOC",
                side=SELL))

    def _add_order(self, conn: TradeConn, params: dict[str, Any], msg: Any) -> None:
        assert conn.account is not None
        account = conn.account
        symbol = str_param(params, "symbol")
        side = str_param(params, "side")
        if side not in (BUY, SELL):
            raise BadParam("side must be BUY or SELL")
        order_type = str_param(params, "order_type")
        tif = str_param(params, "order_time_in_force")
        quantity = dec_param(params, "quantity")
        price = dec_param(params, "price", ZERO)
        tp = dec_param(params, "take_profit", ZERO)
        sl = dec_param(params, "stop_loss", ZERO)
        reduce_only = flag_param(params, "reduce_only")  # CLI-only field (VENUES.md 1.6)
        cid = str_param(params, "client_order_id", "")
        forced = self._faults.take_status(symbol)
        if forced is not None:
            self._reply_rejection(conn, self._wire.reject_body(
                account.account_id, params, forced, order_type=order_type, tif=tif, side=side))
            return
        drop, execute = self._maybe_drop(conn)
        if not drop or execute:
            status = self._validate(account, symbol, side, order_type, tif, quantity, price, tp,
                                    sl)
            if status is not None:
                self._reply_rejection(conn, self._wire.reject_body(
                    account.account_id, params, status, order_type=order_type, tif=tif,
                    side=side))
            else:
                self._place(conn, account, params, symbol, side, order_type, tif, quantity,
                            price, reduce_only, cid, tp, sl)
        if drop:
            self._abort(conn)

    def _validate(
        self, account: QfexAccount, symbol: str, side: str, order_type: str, tif: str,
        quantity: Decimal, price: Decimal, tp: Decimal, sl: Decimal,
    ) -> str | None:
        """The documented up-front checks, in the order a client most likely trips them."""
        inst = self._market.instruments.get(symbol)
        if inst is None:
            return "BAD_SYMBOL"
        if order_type not in ORDER_TYPES:
            return "INVALID_ORDER_TYPE"
        if tif not in TIFS:
            return "INVALID_TIME_IN_FORCE"
        if (order_type == "MARKET" and tif != "IOC") or (order_type == "ALO" and tif != "GTC"):
            return "INVALID_TIME_IN_FORCE"
        stop = order_type in STOP_TYPES
        if quantity <= 0:
            return "QUANTITY_LESS_THAN_MIN_QUANTITY"
        if quantity % inst.lot != 0:
            return "INVALID_TICK_SIZE_PRECISION_QUANTITY"
        if not stop:  # stops respect the lot size but not the min/max (documented)
            if quantity < inst.min_qty:
                return "QUANTITY_LESS_THAN_MIN_QUANTITY"
            if quantity > inst.max_qty:
                return "QUANTITY_GREATER_THAN_MAX_QUANTITY"
        if order_type != "MARKET":
            if price % inst.tick != 0:
                return "INVALID_TICK_SIZE_PRECISION_PRICE"
            if price < inst.min_price:
                return "PRICE_LESS_THAN_MIN_PRICE"
            if price > inst.max_price:
                return "PRICE_GREATER_THAN_MAX_PRICE"
        if tp and (tp < 0 or tp % inst.tick != 0):
            return "INVALID_TAKEPROFIT_PRICE"
        if sl and (sl < 0 or sl % inst.tick != 0):
            return "INVALID_STOPLOSS_PRICE"
        if stop:
            # TAKE_PROFIT closes a long above the mark / a short below it; STOP_LOSS the reverse.
            above = (order_type == "TAKE_PROFIT") == (side == SELL)
            if (price <= inst.mark) if above else (price >= inst.mark):
                return "INVALID_TAKEPROFIT_PRICE" if order_type == "TAKE_PROFIT" else \
                    "INVALID_STOPLOSS_PRICE"
        if order_type == "ALO":
            crosses = price >= inst.ask if side == BUY else price <= inst.bid
            if crosses:
                return "REJECTED"
        return None

    def _place(
        self, conn: TradeConn, account: QfexAccount, params: dict[str, Any], symbol: str,
        side: str, order_type: str, tif: str, quantity: Decimal, price: Decimal,
        reduce_only: bool, cid: str, tp: Decimal, sl: Decimal,
    ) -> None:
        stop = order_type in STOP_TYPES
        try:
            if stop:
                # The stop becomes a market order when the mark reaches the trigger; stops only
                # reduce (documented), so reduce_only is forced.
                self._wire.submit(
                    (order_type, tif),
                    account=account.account_id, symbol=symbol, side=side,
                    order_type="MARKET", tif="IOC", quantity=quantity, price=ZERO,
                    reduce_only=True, client_order_id=cid, trigger_price=price,
                    trigger_event="MARK_PRICE",
                )
                return
            order = self._wire.submit(
                (order_type, tif),
                account=account.account_id, symbol=symbol, side=side,
                order_type="MARKET" if order_type == "MARKET" else "LIMIT",
                tif=tif, quantity=quantity, price=ZERO if order_type == "MARKET" else price,
                reduce_only=reduce_only, client_order_id=cid,
            )
        except Rejected as exc:
            status = "BAD_SYMBOL" if exc.reason == "BAD_SYMBOL" else "REJECTED"
            self._reply_rejection(conn, self._wire.reject_body(
                account.account_id, params, status, order_type=order_type, tif=tif, side=side))
            return
        if tp or sl:
            self._wire.attach(order.id, tp, sl)
            self._stage_attached(account, order, tp, sl)

    def _stage_attached(
        self, account: QfexAccount, parent: SimOrder, tp: Decimal, sl: Decimal
    ) -> None:
        """Attached TP/SL become reduce-only stops on the closing side, if there is something
        to close once the parent has matched (simplification: otherwise they are dropped)."""
        closing = SELL if parent.side == BUY else BUY
        for kind, trigger in (("TAKE_PROFIT", tp), ("STOP_LOSS", sl)):
            if not trigger:
                continue
            with contextlib.suppress(Rejected):
                self._wire.submit(
                    (kind, "GTC"), account=account.account_id, symbol=parent.symbol,
                    side=closing, order_type="MARKET", tif="IOC", quantity=parent.quantity,
                    price=ZERO, reduce_only=True, client_order_id=parent.client_order_id,
                    trigger_price=trigger, trigger_event="MARK_PRICE",
                )

    def _find_order(self, account: QfexAccount, params: dict[str, Any]) -> SimOrder | None:
        id_type = str_param(params, "cancel_order_id_type", "order_id")
        if id_type not in ("order_id", "client_order_id", "twap_id", "client_twap_id"):
            raise BadParam("cancel_order_id_type is invalid")
        key = str_param(params, id_type if id_type in params else "order_id")
        if id_type == "client_order_id":
            matches = [
                o for o in self._market.open_orders(account.account_id)
                if o.client_order_id == key
            ]
            return matches[-1] if matches else None
        order = self._market.orders.get(key)
        return order if order is not None and order.account == account.account_id else None

    def _cancel_order(self, conn: TradeConn, params: dict[str, Any], msg: Any) -> None:
        assert conn.account is not None
        order = self._find_order(conn.account, params)
        if order is None or order.status not in (ACTIVE, PARTIAL, UNTRIGGERED):
            body = self._wire.reject_body(conn.account.account_id, params, "NO_SUCH_ORDER",
                                          order_type="LIMIT", tif="GTC", side=BUY)
            oid = params.get("order_id")
            if order is not None:
                body = self._wire.order_body(order, "NO_SUCH_ORDER")
            elif isinstance(oid, str):
                body["order_id"] = oid
            reply_order(conn, body)
            return
        was_stop = order.status == UNTRIGGERED
        self._market.cancel(order.account, order.id)
        if was_stop:  # trigger_cancelled is silent on order_responses; answer this caller
            reply_order(conn, self._wire.order_body(order, "CANCELLED"))

    def _cancel_all(self, conn: TradeConn, params: dict[str, Any], msg: Any) -> None:
        assert conn.account is not None
        for order in self._market.open_orders(conn.account.account_id):
            if order.status != UNTRIGGERED:
                self._market.cancel(order.account, order.id)
        send(conn, {"ack": {"incoming_message": msg}})

    def _modify_order(self, conn: TradeConn, params: dict[str, Any], msg: Any) -> None:
        assert conn.account is not None
        str_param(params, "symbol")
        str_param(params, "side")
        str_param(params, "order_type")  # required since 2025-10-13
        order = self._market.orders.get(str_param(params, "order_id"))
        if (
            order is None
            or order.account != conn.account.account_id
            or order.status not in (ACTIVE, PARTIAL)
        ):
            body = self._wire.reject_body(conn.account.account_id, params,
                                          "CANNOT_MODIFY_NO_SUCH_ORDER", order_type="LIMIT",
                                          tif="GTC", side=BUY)
            reply_order(conn, body)
            return
        if order.filled > 0:
            reply_order(conn, self._wire.order_body(order, "CANNOT_MODIFY_PARTIAL_FILL"))
            return
        inst = self._market.instruments[order.symbol]
        price = dec_param(params, "price", order.price)
        quantity = dec_param(params, "quantity", order.quantity)
        if price % inst.tick or not inst.min_price <= price <= inst.max_price:
            reply_order(conn, self._wire.order_body(order, "INVALID_TICK_SIZE_PRECISION_PRICE"))
            return
        if quantity <= 0 or quantity % inst.lot:
            reply_order(conn, self._wire.order_body(order,
                                                    "INVALID_TICK_SIZE_PRECISION_QUANTITY"))
            return
        order.price, order.quantity, order.updated = price, quantity, self._now()
        body = self._wire.order_body(order, "MODIFIED")
        for c in self._conns.subscribed(order.account, "order_responses"):
            send(c, {"order_response": body}, update=True)
        self._market.match_resting()

    def _get_order(self, conn: TradeConn, params: dict[str, Any], msg: Any) -> None:
        assert conn.account is not None
        oid = str_param(params, "order_id")
        order = self._market.orders.get(oid)
        rejected = self._wire.rejection(oid)
        if order is None and rejected is not None and \
                rejected["user_id"] == conn.account.account_id:
            reply_order(conn, dict(rejected))
            return
        if order is None or order.account != conn.account.account_id:
            body = self._wire.reject_body(conn.account.account_id, params, "NO_SUCH_ORDER",
                                          order_type="LIMIT", tif="GTC", side=BUY)
            body["order_id"] = oid
            reply_order(conn, body)
            return
        reply_order(conn, self._wire.order_body(order, self._wire.status_of(order)))

    def _get_user_orders(self, conn: TradeConn, params: dict[str, Any], msg: Any) -> None:
        assert conn.account is not None
        limit = int(dec_param(params, "limit", Decimal(1000)))
        offset = int(dec_param(params, "offset", ZERO))
        symbol = params.get("symbol")
        orders = [
            self._wire.order_body(o, self._wire.status_of(o))
            for o in sorted(self._market.open_orders(conn.account.account_id),
                            key=lambda o: o.created)
            if symbol in (None, "", o.symbol)
        ]
        send(conn, {"all_orders_response": {"orders": orders[offset:offset + limit],
                                            "twaps": []}})

    def _stop_of(self, conn: TradeConn, params: dict[str, Any]) -> SimOrder | None:
        assert conn.account is not None
        order = self._market.orders.get(str_param(params, "stop_order_id"))
        if order is None or order.account != conn.account.account_id:
            return None
        return order if order.status == UNTRIGGERED else None

    def _cancel_stop(self, conn: TradeConn, params: dict[str, Any], msg: Any) -> None:
        order = self._stop_of(conn, params)
        if order is None:
            err(conn, "InvalidOrder", "no such stop order", msg)
            return
        self._market.cancel(order.account, order.id)
        send(conn, {"ack": {"incoming_message": msg}})

    def _modify_stop(self, conn: TradeConn, params: dict[str, Any], msg: Any) -> None:
        order = self._stop_of(conn, params)
        if order is None:
            err(conn, "InvalidOrder", "no such stop order", msg)
            return
        inst = self._market.instruments[order.symbol]
        price = dec_param(params, "price", order.trigger_price)
        quantity = dec_param(params, "quantity", order.quantity)
        if price % inst.tick or quantity <= 0 or quantity % inst.lot:
            err(conn, "InvalidOrder", "price or quantity off the tick/lot", msg)
            return
        order.trigger_price, order.quantity, order.updated = price, quantity, self._now()
        order.full_close = False
        send(conn, {"ack": {"incoming_message": msg}})
        for c in self._conns.subscribed(order.account, "stop_orders"):
            send(c, {"stop_order_response": self._wire.stop_body(order)})
