"""Plain-language causes and next steps for venue refusals and for orders that ended cancelled.

A trader reads "FAILED_MARGIN_CHECK" or "code 414" and has to guess. Every refusal the venues
document maps here to a category, a cause in plain words, and what to do next. The venue's own
status text is always kept beside it (``OrderUpdate.raw_status``), never replaced.

A cancellation means different things for different orders: a GTC limit the user took off the
book, a reduce-only order the venue dropped because the position closed, the unfilled rest of
an IOC. ``explain_cancel`` says which, from the order's type, time in force and what the desk
knows about how it ended (``OrderContext``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal

__all__ = ["NO_REASON", "Explanation", "OrderContext", "explain", "explain_cancel"]


@dataclass(frozen=True, slots=True)
class Explanation:
    category: str
    cause: str
    next_step: str

    def text(self) -> str:
        return f"{self.cause} {self.next_step}"


def _x(category: str, cause: str, next_step: str) -> Explanation:
    return Explanation(category, cause, next_step)


ALREADY_FLAT = _x(
    "already_flat",
    "There is no position left to close: it is already flat at the venue.",
    "Nothing to do; the row goes when the venue confirms.",
)
WOULD_INCREASE = _x(
    "would_increase",
    "Reduce-only refused it: this order would have increased the position (it may have "
    "flipped side or been closed meanwhile).",
    "Refresh and check the position's side and size before closing again.",
)
BELOW_MINIMUM = _x(
    "below_minimum",
    "The quantity is below the venue's minimum order size for this symbol.",
    "Close a larger quantity, or close the whole position.",
)
ABOVE_MAXIMUM = _x(
    "above_maximum",
    "The quantity is above the venue's maximum order size for this symbol.",
    "Close it in parts no larger than the maximum.",
)
TICK = _x(
    "tick_precision",
    "The price is not a multiple of the venue's tick size.",
    "Round the price to the tick shown in the dialog and send again.",
)
LOT = _x(
    "lot_precision",
    "The quantity is not a multiple of the venue's lot size.",
    "Round the quantity to the lot shown in the dialog and send again.",
)
PRICE_BAND = _x(
    "price_band",
    "The price is outside the venue's allowed band for this symbol.",
    "Use a price nearer the mark, or close at market.",
)
CLOCK = _x(
    "clock_skew",
    "The venue refused the request as too old: this computer's clock is off from the "
    "venue's.",
    "Closeout has re-synchronised with the venue; send again. If it repeats, fix the system "
    "clock (enable NTP).",
)
RATE = _x(
    "rate_limited",
    "The venue is rate-limiting this account.",
    "Closeout has slowed down and resent nothing; wait a moment, then send again if still "
    "needed.",
)
MARKET_CLOSED = _x(
    "market_closed",
    "The market is closed.",
    "Wait for the open, or leave a limit close resting until then.",
)
MARGIN = _x(
    "margin",
    "The venue's margin check failed for this order.",
    "Cancel resting orders that hold margin (Working orders tab), or close a smaller "
    "quantity first.",
)
AUTH = _x(
    "auth",
    "The venue refused the API key or its signature.",
    "Check the key and secret in Accounts; the key may lack trading permission.",
)
GENERIC = _x(
    "venue_generic",
    "The venue refused the request without giving a reason (its generic failure).",
    "Check the position and Working orders, then try again.",
)
VENUE_ERROR = _x(
    "venue_error",
    "The venue had an internal error.",
    "Check the position and Working orders before sending again: it may have run.",
)
TRIGGER_SIDE = _x(
    "trigger_side",
    "The trigger price is on the wrong side of the mark for this kind of stop.",
    "Check the trigger against the mark shown in the dialog.",
)
SELF_TRADE = _x(
    "self_trade",
    "Cancelled by self-trade prevention: it would have traded against your own order.",
    "Cancel your own resting order on the other side, then close again.",
)
OPEN_ORDERS = _x(
    "too_many_orders",
    "The account has too many open orders at the venue.",
    "Cancel some resting orders (Working orders tab), then close again.",
)
NO_REASON = _x(
    "no_reason",
    "The venue refused the close without giving a reason.",
    "Check the position's side and size (it may have changed or closed), then close again.",
)
KYC = _x(
    "account_blocked",
    "The venue account is not cleared to trade (KYC or terms not completed).",
    "Complete the venue's account checks on its website.",
)

# Venue status or error code -> explanation (QFEX statuses and err codes, Everstrike codes).
_BY_CODE: dict[str, Explanation] = {
    "QUANTITY_LESS_THAN_MIN_QUANTITY": BELOW_MINIMUM,
    "QUANTITY_GREATER_THAN_MAX_QUANTITY": ABOVE_MAXIMUM,
    "INVALID_TICK_SIZE_PRECISION_PRICE": TICK,
    "INVALID_TICK_SIZE_PRECISION_QUANTITY": LOT,
    "PRICE_LESS_THAN_MIN_PRICE": PRICE_BAND,
    "PRICE_GREATER_THAN_MAX_PRICE": PRICE_BAND,
    "RATE_LIMITED": RATE,
    "RateLimited": RATE,
    "429": RATE,
    "REJECTED_MARKET_CLOSED": MARKET_CLOSED,
    "FAILED_MARGIN_CHECK": MARGIN,
    "REJECTED_WOULD_BREACH_MAX_NOTIONAL": MARGIN,
    "414": CLOCK,
    "408": CLOCK,
    "401": AUTH,
    "PermissionDenied": AUTH,
    "503": GENERIC,
    "500": VENUE_ERROR,
    "ServerError": VENUE_ERROR,
    "REJECTED_FAILED_TO_PROCESS": VENUE_ERROR,
    "INVALID_TAKEPROFIT_PRICE": TRIGGER_SIDE,
    "INVALID_STOPLOSS_PRICE": TRIGGER_SIDE,
    "CANCELLED_STP": SELF_TRADE,
    "REJECTED_TOO_MANY_OPEN_ORDERS": OPEN_ORDERS,
    "KycRequired": KYC,
    "TncRequired": KYC,
}

# Messages venues send with a bare REJECTED / generic failure, by what they say.
_BY_TEXT: list[tuple[re.Pattern[str], Explanation]] = [
    (re.compile(r"no (open )?position|position is flat|already flat|nothing to close",
                re.IGNORECASE), ALREADY_FLAT),
    (re.compile(r"would increase|reduce.only", re.IGNORECASE), WOULD_INCREASE),
    (re.compile(r"insufficient (balance|margin)|margin", re.IGNORECASE), MARGIN),
    (re.compile(r"timestamp is too old|clock", re.IGNORECASE), CLOCK),
    (re.compile(r"too much recently|rate.limit", re.IGNORECASE), RATE),
]


# Codes that say only "refused": the venue's text, when it has one, is more specific.
_VAGUE = {"REJECTED", "503", "InvalidOrder", "InvalidParameter", "trigger_failed"}


def explain(raw_status: str, message: str = "") -> Explanation | None:
    """The explanation for a venue refusal, or None when there is nothing to add."""
    code = raw_status.strip()
    if code not in _VAGUE and (found := _BY_CODE.get(code)) is not None:
        return found
    for pattern, explanation in _BY_TEXT:
        if pattern.search(message):
            return explanation
    if code == "REJECTED" and message.strip().rstrip(".").lower() in ("", "rejected by the venue"):
        return NO_REASON
    return _BY_CODE.get(code)


# --------------------------------------------------------------------------- cancellations

# ``{order}`` is the order in words ("GTC limit close", "trigger close", ...); ``{filled}``
# what filled before the end ("nothing filled", "2 filled").
CANCELLED_BY_YOU = _x(
    "cancelled_by_you",
    "Cancelled at your request: the {order} is off the book and will not fill.",
    "Nothing more to do; send a new close if you still want out.",
)
CANCELLED_POSITION_CLOSED = _x(
    "cancelled_position_closed",
    "Cancelled by the venue because the position is closed: the reduce-only {order} had "
    "nothing left to reduce.",
    "Nothing to do; the position is flat.",
)
CANCELLED_BY_VENUE = _x(
    "cancelled_by_venue",
    "Cancelled by the venue, not by you: the {order} is off the book ({filled}).",
    "Check the position and Working orders; place the close again if you still need it.",
)
IOC_REMAINDER = _x(
    "ioc_remainder",
    "This {order} takes what it can at once and the venue cancels the rest: {filled}, the "
    "remainder was cancelled.",
    "Close the residual if any position is left, or use a limit close that rests.",
)
_IMMEDIATE = frozenset({"IOC", "FOK"})


@dataclass(frozen=True, slots=True)
class OrderContext:
    """What is known about an order that ended cancelled: enough to say why, in its terms."""

    order_type: str = ""  # the venue's type: LIMIT, MARKET, STOP_LOSS, ... ("" unknown)
    time_in_force: str = ""  # GTC, IOC, FOK ("" when not said)
    trigger: bool = False  # a trigger (stop) close
    filled: Decimal = Decimal(0)  # filled before it ended
    cancel_requested: bool = False  # we asked the venue to cancel it
    position_open: bool = True  # the position it reduces was still open when it ended

    @property
    def immediate(self) -> bool:
        """An order that never rests: IOC, FOK or at market."""
        return (self.time_in_force.upper() in _IMMEDIATE
                or (self.order_type.upper() == "MARKET" and not self.trigger))

    def words(self) -> str:
        """The order in words: "GTC limit close", "IOC market close", "trigger close"."""
        if self.trigger:
            return "trigger close"
        kind = {"LIMIT": "limit", "MARKET": "market"}.get(self.order_type.upper(), "")
        parts = [self.time_in_force.upper(), kind, "close"]
        return " ".join(p for p in parts if p)


def explain_cancel(raw_status: str, message: str, order: OrderContext) -> Explanation:
    """Why an order ended cancelled, for this order: self-trade prevention (the venue says
    so), cancelled by you, the rest of an immediate order, the position gone, or the venue."""
    found = explain(raw_status, message)
    if found is not None and found.category == "self_trade":
        return found
    if order.cancel_requested:
        chosen = CANCELLED_BY_YOU
    elif order.immediate and not (order.trigger and order.filled <= 0):
        chosen = IOC_REMAINDER
    elif not order.position_open:
        chosen = CANCELLED_POSITION_CLOSED
    else:
        chosen = CANCELLED_BY_VENUE
    filled = "nothing filled" if order.filled <= 0 else f"{order.filled:f} filled"
    if chosen is IOC_REMAINDER and order.filled <= 0:
        filled = "nothing filled at once"
    return replace(chosen, cause=chosen.cause.format(order=order.words(), filled=filled))
