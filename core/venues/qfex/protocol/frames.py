"""Outgoing frames: each request as the exact JSON text the trade or market-data socket takes.

Nonces and timestamps are passed in; numbers go out as plain decimal text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from core.model import OrderSide
from core.venues.qfex.protocol.codec import _encode
from core.venues.qfex.protocol.signing import sign


def _frame(kind: str, params: Mapping[str, object]) -> str:
    return _encode({"type": kind, "params": params})


def build_auth(
    public_key: str, secret: str, nonce: str, unix_ts: int, account_id: str | None = None
) -> str:
    params: dict[str, object] = {
        "hmac": {
            "public_key": public_key,
            "nonce": nonce,
            "unix_ts": unix_ts,
            "signature": sign(secret, nonce, unix_ts),
        }
    }
    if account_id:
        params["account_id"] = account_id
    return _frame("auth", params)


def build_subscribe(channel: str) -> str:
    return _frame("subscribe", {"channels": [channel]})


def build_unsubscribe(channel: str) -> str:
    return _frame("unsubscribe", {"channels": [channel]})


def build_close_position(symbol: str, client_order_id: str) -> str:
    return _frame("close_position", {"symbol": symbol, "client_order_id": client_order_id})


def build_add_order(
    *,
    symbol: str,
    side: OrderSide,
    order_type: str,
    time_in_force: str,
    quantity: Decimal,
    price: Decimal,
    client_order_id: str,
    reduce_only: bool = True,
) -> str:
    """``reduce_only`` is sent by the official CLI but missing from the published schema."""
    return _frame(
        "add_order",
        {
            "symbol": symbol,
            "side": side.value,
            "order_type": order_type,
            "order_time_in_force": time_in_force,
            "quantity": quantity,
            "price": price,
            "reduce_only": reduce_only,
            "client_order_id": client_order_id,
        },
    )


def build_cancel_order(symbol: str, order_id: str, id_type: str = "order_id") -> str:
    return _frame(
        "cancel_order", {"symbol": symbol, "order_id": order_id, "cancel_order_id_type": id_type}
    )


def build_cancel_stop_order(stop_order_id: str) -> str:
    return _frame("cancel_stop_order", {"stop_order_id": stop_order_id})


def build_get_order(order_id: str, symbol: str) -> str:
    return _frame("get_order", {"order_id": order_id, "symbol": symbol})


def build_get_user_orders(symbol: str | None = None, *, limit: int = 1000, offset: int = 0) -> str:
    params: dict[str, object] = {"limit": limit, "offset": offset}
    if symbol:
        params["symbol"] = symbol
    return _frame("get_user_orders", params)


def build_mds_subscribe(
    channels: Sequence[str] = ("market_stats",), symbols: Sequence[str] = ("*",)
) -> str:
    """MDS puts its fields at the top level, unlike the trade socket's ``params``."""
    return _encode({"type": "subscribe", "channels": list(channels), "symbols": list(symbols)})
