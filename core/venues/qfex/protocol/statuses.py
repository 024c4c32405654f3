"""The order statuses QFEX sends: plain words for each, and the sets that classify them."""

from __future__ import annotations

from core.model import OrderStatus

# Plain words for every order status in VENUES.md §1.8, for the log pane.
STATUS_TEXT: dict[str, str] = {
    "ACK": "Accepted by the venue",
    "FILLED": "Filled",
    "MODIFIED": "Order was modified",
    # Why it was cancelled depends on the order and on who asked: core.explain says that.
    "CANCELLED": "Cancelled",
    "CANCELLED_STP": "Cancelled by self-trade prevention: it would have traded with your own order",
    "REJECTED": "Rejected by the venue",
    "NO_SUCH_ORDER": "The venue has no such order (already done, cancelled, or never placed)",
    "INVALID_ORDER_TYPE": "The venue does not accept this order type here",
    "BAD_SYMBOL": "The venue does not know this symbol or it is not tradeable",
    "PRICE_LESS_THAN_MIN_PRICE": "Price is below the symbol's minimum price",
    "PRICE_GREATER_THAN_MAX_PRICE": "Price is above the symbol's maximum price",
    "CANNOT_MODIFY_PARTIAL_FILL": "A partly filled order cannot be modified",
    "FAILED_MARGIN_CHECK": "Not enough margin for this order",
    "INVALID_TICK_SIZE_PRECISION_PRICE": "Price is not a multiple of the tick size",
    "INVALID_TICK_SIZE_PRECISION_QUANTITY": "Quantity is not a multiple of the lot size",
    "QUANTITY_LESS_THAN_MIN_QUANTITY": "Quantity is below the symbol's minimum quantity",
    "QUANTITY_GREATER_THAN_MAX_QUANTITY": "Quantity is above the symbol's maximum quantity",
    "INVALID_TIME_IN_FORCE": "Time in force not allowed for this order type (market is IOC only)",
    "REJECTED_WOULD_BREACH_MAX_NOTIONAL": "The order would exceed the maximum notional value",
    "CANNOT_MODIFY_NO_SUCH_ORDER": "Cannot modify: the venue has no such order",
    "REJECTED_MARKET_CLOSED": "The market is closed",
    "REJECTED_FAILED_TO_PROCESS": "The venue failed to process the order; check before retrying",
    "INVALID_TAKEPROFIT_PRICE": "Take-profit price is invalid or on the wrong side of the mark",
    "INVALID_STOPLOSS_PRICE": "Stop-loss price is invalid or on the wrong side of the mark",
    "RATE_LIMITED": "Rate limited by the venue; wait before sending more",
    "REJECTED_TOO_MANY_OPEN_ORDERS": "The account has too many open orders",
    "REJECTED_OPEN_INTEREST_LIMIT": "The order would breach the open-interest limit",
}


_WORKING = {"ACK": OrderStatus.ACK, "MODIFIED": OrderStatus.ACK}
_CANCELLED = {"CANCELLED", "CANCELLED_STP"}
_STOP_TYPES = {"STOP_LOSS", "TAKE_PROFIT"}
_IMMEDIATE = {"IOC", "FOK"}
