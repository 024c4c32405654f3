"""Everstrike's signed POSTs: ``/auth/close``, ``/auth/order``, ``/auth/order/bulk``,
``/auth/cancel``, ``/auth/cancel/bulk`` and ``/leverage``, run against the market."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from core.sim.everstrike.bulk import order_forms
from core.sim.everstrike.forms import bool_field, decimal_field, trigger_fields
from core.sim.everstrike.replies import Invalid
from core.sim.everstrike.settings import EverstrikeAccount
from core.sim.everstrike.wire import WireObjects
from core.sim.everstrike.ws import EventSocket
from core.sim.market import ACTIVE, BUY, CANCELLED, PARTIAL, SELL, ZERO, Market, Rejected, SimOrder

__all__ = ["Handler", "OrderCommands"]

# (account, form, every field in order) -> the reply's ``result``
Handler = Callable[[EverstrikeAccount, dict[str, str], list[tuple[str, str]]], Any]

MAX_LEVERAGE = Decimal(100)  # ASSUMPTION: no documented cap; a bound keeps the maths sane


class OrderCommands:
    """The signed POST handlers; ``Invalid`` or ``Rejected`` when the venue would refuse."""

    def __init__(
        self, market: Market, wire: WireObjects, ws: EventSocket, now: Callable[[], float],
        new_id: Callable[[], str],
    ) -> None:
        self._market = market
        self._wire = wire
        self._ws = ws
        self._now = now
        self._new_id = new_id

    def handler(self, path: str) -> Handler | None:
        return {
            "/auth/close": self._close,
            "/auth/order": self._order,
            "/auth/order/bulk": self._order_bulk,
            "/leverage": self._set_leverage,
            "/auth/cancel": self._cancel,
            "/auth/cancel/bulk": self._cancel_bulk,
        }.get(path)

    def _pair(self, form: dict[str, str]) -> str:
        pair = form.get("pair")
        if not pair:
            raise Invalid("pair is required")
        if pair not in self._market.instruments:
            raise Invalid(f"unknown pair {pair}")
        return pair

    def forced_close(self, account: EverstrikeAccount, form: dict[str, str], status: str,
                     msg: str) -> Any:
        """The order /auth/close would have placed, ended in a forced status, unexecuted."""
        pair = self._pair(form)
        pos = self._market.position(account.customer_id, pair)
        qty = decimal_field(form, "qty") if "qty" in form else abs(pos.size)
        price = decimal_field(form, "price") if "price" in form else None
        trigger, event, close_on_trigger = trigger_fields(form)
        now = self._now()
        order = SimOrder(
            id=self._new_id(), account=account.customer_id, symbol=pair,
            side=BUY if pos.size < 0 else SELL,
            order_type="LIMIT" if price is not None else "MARKET",
            tif="GTC" if price is not None else "IOC", quantity=qty,
            price=price if price is not None else ZERO, reduce_only=True,
            trigger_price=trigger, trigger_event=event, close_on_trigger=close_on_trigger,
            is_close=True, full_close="qty" not in form, status=CANCELLED, message=msg,
            created=now, updated=now,
        )
        self._market.orders[order.id] = order
        self._wire.force_status(order.id, status)
        if status == "CANCELLED":  # as an unfilled immediate order: added, then cancelled
            final = self._wire.order_obj(order)
            self._ws.private(account.customer_id, "order_added", pair,
                             {"order": {**final, "status": "ACTIVE", "msg": None}}, update=True)
            self._ws.private(account.customer_id, "order_cancelled", pair, {"order": final},
                             update=True)
        return self._wire.result(account, order)

    def _close(self, account: EverstrikeAccount, form: dict[str, str],
               pairs: list[tuple[str, str]]) -> Any:
        pair = self._pair(form)
        pos = self._market.position(account.customer_id, pair)
        if pos.size == 0:
            raise Invalid(f"no open position in {pair}")
        qty = decimal_field(form, "qty") if "qty" in form else None
        if qty is not None and qty <= 0:
            raise Invalid("qty must be positive")
        price = decimal_field(form, "price") if "price" in form else None
        if price is not None and price <= 0:
            raise Invalid("price must be positive")
        trigger, event, close_on_trigger = trigger_fields(form)
        order = self._market.submit(
            account.customer_id,
            pair,
            SELL if pos.size > 0 else BUY,
            "LIMIT" if price is not None else "MARKET",
            "GTC" if price is not None else "IOC",
            qty,
            price if price is not None else ZERO,
            reduce_only=True,
            trigger_price=trigger,
            trigger_event=event,
            close_on_trigger=close_on_trigger,
            is_close=True,
        )
        return self._wire.result(account, order)

    def _order(self, account: EverstrikeAccount, form: dict[str, str],
               pairs: list[tuple[str, str]]) -> Any:
        args = self._order_args(form)
        order = self._market.submit(account.customer_id, **args)
        return self._wire.result(account, order)

    def _order_bulk(self, account: EverstrikeAccount, form: dict[str, str],
                    pairs: list[tuple[str, str]]) -> Any:
        """Documented: one market per request, no reduce-only orders, all or nothing. The
        reply's ``orders`` list is what the official market maker reads."""
        batch = [self._order_args(f) for f in order_forms(pairs)]
        if len({args["symbol"] for args in batch}) != 1:
            raise Invalid("bulk orders must all be for the same pair")
        if any(args["reduce_only"] for args in batch):
            raise Invalid("bulk orders cannot be reduce only")
        for args in batch:  # all or nothing: check every order before placing any
            self._market.check(
                account.customer_id, args["symbol"], args["side"], args["order_type"],
                args["quantity"], args["price"], reduce_only=False,
                trigger_price=args["trigger_price"])
        orders = [self._market.submit(account.customer_id, **args) for args in batch]
        return {"orders": [self._wire.order_obj(o) for o in orders]}

    def _set_leverage(self, account: EverstrikeAccount, form: dict[str, str],
                      pairs: list[tuple[str, str]]) -> Any:
        """Documented reply: the balances and the positions, keyed by pair."""
        pair = self._pair(form)
        if "leverage" not in form:
            raise Invalid("leverage is required")
        leverage = decimal_field(form, "leverage")
        if not 0 < leverage <= MAX_LEVERAGE:
            raise Invalid(f"leverage must be above 0 and at most {MAX_LEVERAGE}")
        self._wire.set_leverage(account.customer_id, pair, leverage)
        cid = account.customer_id
        return {"balances": self._wire.balances(cid),
                "positions": {p.symbol: self._wire.position_obj(p)
                              for p in self._market.account_positions(cid)}}

    def _order_args(self, form: dict[str, str]) -> dict[str, Any]:
        """``Market.submit``'s arguments for one ``/auth/order`` form, or ``Invalid``."""
        pair = self._pair(form)
        side = form.get("side", "")
        if side not in (BUY, SELL):
            raise Invalid("side must be BUY or SELL")
        if "qty" not in form:
            raise Invalid("qty is required")
        qty = decimal_field(form, "qty")
        price = decimal_field(form, "price") if "price" in form else None
        order_type = form.get("type", "LIMIT" if price is not None else "MARKET")
        if order_type not in ("LIMIT", "MARKET") or (order_type == "LIMIT") != (price is not None):
            raise Invalid("type must be LIMIT with a price or MARKET without one")
        tif = form.get("time_in_force", "GTC" if price is not None else "IOC")
        if tif not in ("GTC", "IOC", "FOK") or (order_type == "MARKET" and tif == "GTC"):
            raise Invalid("time_in_force must be GTC, IOC or FOK (not GTC at market)")
        trigger, event, close_on_trigger = trigger_fields(form)
        inst = self._market.instruments[pair]
        if bool_field(form, "post_only") and price is not None and (
            price >= inst.ask if side == BUY else price <= inst.bid
        ):
            raise Invalid("post-only order would take liquidity")
        return {
            "symbol": pair, "side": side, "order_type": order_type, "tif": tif,
            "quantity": qty, "price": price if price is not None else ZERO,
            "reduce_only": bool_field(form, "reduce_only"), "trigger_price": trigger,
            "trigger_event": event, "close_on_trigger": close_on_trigger,
        }

    def _cancel(self, account: EverstrikeAccount, form: dict[str, str],
                pairs: list[tuple[str, str]]) -> Any:
        oid = form.get("id")
        if not oid:
            raise Invalid("id is required")
        try:
            order = self._market.cancel(account.customer_id, oid)
        except Rejected as exc:
            raise Invalid("no such open order") from exc
        return self._wire.order_obj(order)

    def _cancel_bulk(self, account: EverstrikeAccount, form: dict[str, str],
                     pairs: list[tuple[str, str]]) -> Any:
        ids = [
            part
            for k, v in pairs
            if k == "ids" or k.startswith("ids[")
            for part in v.split(",")
            if part
        ]
        if len(ids) > 100:
            raise Invalid("at most 100 ids")
        open_orders = self._market.open_orders(account.customer_id)
        if ids:
            targets = [o for o in open_orders if o.id in ids]
        else:
            targets = [o for o in open_orders if o.status in (ACTIVE, PARTIAL)]
        return [self._wire.order_obj(self._market.cancel(account.customer_id, o.id))
                for o in targets]
