"""The rules a close request must pass before it is sent, shared by the close dialog and
``closeout close`` so the two can never disagree about what is allowed.

Each check raises :class:`FieldError` keyed by the field at fault, with the sentence the dialog
shows. The CLI words the same error with its option name from ``value`` and ``detail``.
Rounding is explicit: the dialog rounds (and shows "will send X"); the CLI asks for exact
numbers, so it refuses what is off the lot or tick instead.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Literal

from core.model import Capabilities, Instrument, Position, PositionSide, TimeInForce, TriggerEvent

__all__ = [
    "EVENT_ORDER",
    "FIELD_LABELS",
    "FieldError",
    "FieldName",
    "PriceField",
    "capability_reason",
    "check_close_on_trigger",
    "check_limit_close",
    "check_limit_with_trigger",
    "check_partial_close",
    "check_price",
    "check_quantity",
    "check_time_in_force",
    "check_trigger_close",
    "check_trigger_event",
    "default_time_in_force",
    "leftover_dust",
    "parse_plain_decimal",
    "round_limit_price",
    "round_quantity",
    "round_trigger_price",
]

FieldName = Literal[
    "quantity", "limit_price", "trigger_price", "trigger_event", "close_on_trigger",
    "time_in_force",
]
PriceField = Literal["limit_price", "trigger_price"]
FIELD_LABELS: dict[FieldName, str] = {
    "quantity": "Quantity",
    "limit_price": "Limit price",
    "trigger_price": "Trigger price",
    "trigger_event": "Trigger event",
    "close_on_trigger": "Close on trigger",
    "time_in_force": "Time in force",
}
EVENT_ORDER = (TriggerEvent.MARK, TriggerEvent.INDEX, TriggerEvent.LAST)
_PLAIN_DECIMAL = re.compile(r"^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")  # ASCII digits only
# Said when the venue's capability table gives no reason of its own; keyed by ControlKind.
_DEFAULT_REASONS = {
    "quantity": "{venue} closes only the whole position",
    "limit_price": "{venue} closes at market only",
    "trigger": "{venue} has no trigger closes",
    "close_on_trigger": "{venue} has no close-on-trigger option",
    "time_in_force": "{venue} takes no time in force for closes",
    "limit_with_trigger": "a triggered close executes at market",
}


class FieldError(ValueError):
    """One refused field. ``message`` is the dialog's sentence; ``value`` (the number or
    choice as typed, may be "") and ``detail`` let the CLI say it with its option name:
    ``f"{option} {value} {detail}"``, or ``f"{option} {value}: {detail}"`` when ``capability``
    (the venue can't do it at all). ``rule`` names the check, for wording only one side needs."""

    def __init__(self, field: FieldName, message: str, *, detail: str | None = None,
                 value: str = "", capability: bool = False, rule: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.detail = message if detail is None else detail
        self.value = value
        self.capability = capability
        self.rule = rule


def _fmt(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = format(value, "f")
    return text[1:] if text.startswith("-") and value == 0 else text


def _bad(field: FieldName, value: Decimal | None, detail: str, rule: str) -> FieldError:
    """"Quantity 41 is more than the position size 40.": label, number, detail."""
    shown = _fmt(value)
    subject = f"{FIELD_LABELS[field]} {shown}" if shown else FIELD_LABELS[field]
    return FieldError(field, f"{subject} {detail}.", detail=detail, value=shown, rule=rule)


def _cannot(field: FieldName, why: str, rule: str, value: str = "") -> FieldError:
    message = why if why.endswith(".") else why + "."
    return FieldError(field, message, detail=why, value=value, capability=True, rule=rule)


def capability_reason(caps: Capabilities, control: str, venue: str) -> str:
    """Why the venue can't do ``control``: its own reason, or a plain default."""
    return caps.reasons.get(control) or _DEFAULT_REASONS.get(control, "").format(venue=venue)


# ------------------------------------------------------------------------------- numbers
def parse_plain_decimal(text: str, field: FieldName) -> Decimal:
    """A positive plain decimal ("12", "0.5", "1200.25"); anything else is refused by name.

    No thousands separators, signs, exponents, NaN or Infinity: the number sent must be exactly
    the one the user read, and "1,000.5" could mean two different numbers.
    """
    text = text.strip()
    if text.startswith("-") and _PLAIN_DECIMAL.fullmatch(text[1:]):
        raise _bad(field, None, "must be greater than zero", "positive")
    if not _PLAIN_DECIMAL.fullmatch(text):
        raise _bad(field, None, "must be a plain decimal number such as 1.25 — digits and one "
                   "point, no commas, spaces, signs or exponents", "plain")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid input
        raise _bad(field, None, "is not a number", "plain") from exc
    if value <= 0:
        raise _bad(field, None, "must be greater than zero", "positive")
    return value


def _to_tick(value: Decimal, tick: Decimal | None, rounding: str) -> Decimal:
    if tick is None or tick <= 0:
        return value
    return (value / tick).to_integral_value(rounding=rounding) * tick


def round_quantity(quantity: Decimal, inst: Instrument | None) -> Decimal:
    """Down to the lot: never close more than typed."""
    return quantity if inst is None else inst.round_quantity(quantity)


def round_limit_price(price: Decimal, side: PositionSide, inst: Instrument | None) -> Decimal:
    """Away from the book (closing a long sells: up; closing a short buys: down), so the limit
    sent is never worse than the one typed."""
    if inst is None:
        return price
    selling = side.closing_side.value == "SELL"
    return _to_tick(price, inst.tick_size, ROUND_CEILING if selling else ROUND_FLOOR)


def round_trigger_price(price: Decimal, inst: Instrument | None) -> Decimal:
    """To the nearest tick: a trigger is a level to watch, not a price to fill at."""
    return price if inst is None else inst.round_price(price)


# ------------------------------------------------------------------------------- quantity
def check_quantity(typed: Decimal, position: Position, inst: Instrument | None, *,
                   full_close: bool, stop: bool, round_to_lot: bool = True) -> Decimal:
    """The quantity that will be sent (rounded down to the lot, or refused off the lot when
    ``round_to_lot`` is False), or FieldError. ``full_close``: the venue closes the whole
    position without a quantity; ``stop``: a trigger close, exempt from min/max."""
    venue, symbol = position.key.venue.label, position.key.symbol
    if typed > position.quantity:
        raise _bad("quantity", typed,
                   f"is more than the position size {_fmt(position.quantity)}", "size")
    quantity = typed
    full = typed == position.quantity and full_close
    # A full close sends no quantity (the venue sizes it), so only a partial one meets the lot.
    if inst is not None and not full and not inst.on_lot(typed):
        if not round_to_lot:
            raise _bad("quantity", typed,
                       f"must be a multiple of the lot size {_fmt(inst.lot_size)}", "lot")
        quantity = round_quantity(typed, inst)
        if quantity <= 0:
            raise _bad("quantity", typed, f"is less than one lot ({_fmt(inst.lot_size)}); "
                       "nothing can be sent", "lot")
    # The venue's min/max bind a partial close; a full close is sized by the position itself,
    # and stops are exempt (QFEX order-types docs).
    if inst is not None and quantity < position.quantity and not stop:
        if inst.min_quantity is not None and quantity < inst.min_quantity:
            raise _bad("quantity", quantity,
                       f"is below {venue}'s minimum {_fmt(inst.min_quantity)} for {symbol}; "
                       "close more, or close all", "min")
        if inst.max_quantity is not None and quantity > inst.max_quantity:
            raise _bad("quantity", quantity,
                       f"is above {venue}'s maximum {_fmt(inst.max_quantity)} per order for "
                       f"{symbol}", "max")
    return quantity


def leftover_dust(position: Position, quantity: Decimal, inst: Instrument | None) -> Decimal | None:
    """What a partial close would leave open when that is below the venue's minimum order
    size (no partial close could ever close it); None otherwise."""
    left = position.quantity - quantity
    if inst is not None and inst.min_quantity is not None and 0 < left < inst.min_quantity:
        return left
    return None


# ------------------------------------------------------------------------------- prices
def check_price(field: PriceField, typed: Decimal, position: Position, inst: Instrument | None,
                *, round_to_tick: bool = True) -> Decimal:
    """The limit or trigger price that will be sent (rounded to the tick, or refused off the
    tick when ``round_to_tick`` is False), within the venue's price bounds, or FieldError."""
    venue = position.key.venue.label
    value = typed
    if inst is None:
        return value
    if not inst.on_tick(typed):
        if not round_to_tick:
            raise _bad(field, typed,
                       f"must be a multiple of the tick size {_fmt(inst.tick_size)}", "tick")
        value = round_limit_price(typed, position.side, inst) if field == "limit_price" \
            else round_trigger_price(typed, inst)
        if value <= 0:
            raise _bad(field, typed, f"is less than one tick ({_fmt(inst.tick_size)})", "tick")
    if inst.min_price is not None and value < inst.min_price:
        raise _bad(field, value, f"is below {venue}'s minimum price {_fmt(inst.min_price)}",
                   "min_price")
    if inst.max_price is not None and value > inst.max_price:
        raise _bad(field, value, f"is above {venue}'s maximum price {_fmt(inst.max_price)}",
                   "max_price")
    return value


# ------------------------------------------------------------------------------- capabilities
def check_partial_close(caps: Capabilities, venue: str) -> None:
    if not caps.partial_close:
        raise _cannot("quantity", capability_reason(caps, "quantity", venue), "partial_close")


def check_limit_close(caps: Capabilities, venue: str) -> None:
    if not caps.limit_close:
        raise _cannot("limit_price", capability_reason(caps, "limit_price", venue),
                      "limit_close")


def check_trigger_close(caps: Capabilities, venue: str) -> None:
    if not caps.trigger_close:
        raise _cannot("trigger_price", capability_reason(caps, "trigger", venue),
                      "trigger_close")


def check_trigger_event(caps: Capabilities, venue: str, event: TriggerEvent) -> None:
    if event not in caps.trigger_events:
        listed = " or ".join(e.label.lower() for e in EVENT_ORDER if e in caps.trigger_events)
        why = caps.reasons.get("trigger_event") or (
            f"{venue} triggers on the {listed} price only" if listed
            else capability_reason(caps, "trigger", venue))
        raise _cannot("trigger_event", why, "trigger_event", event.label.lower())


def check_close_on_trigger(caps: Capabilities, venue: str) -> None:
    if not caps.close_on_trigger:
        raise _cannot("close_on_trigger", capability_reason(caps, "close_on_trigger", venue),
                      "close_on_trigger")


def check_limit_with_trigger(caps: Capabilities, venue: str) -> None:
    """A limit and a trigger together (a stop-limit) only where the venue takes one."""
    if not caps.limit_with_trigger:
        why = capability_reason(caps, "limit_with_trigger", venue)
        raise FieldError(
            "limit_price",
            f"Limit price can't be combined with a trigger on {venue}: {why}. "
            "Clear one of the two.",
            detail=why, capability=True, rule="limit_with_trigger")


def check_time_in_force(caps: Capabilities, venue: str, tif: TimeInForce) -> None:
    if not caps.time_in_force:
        raise _cannot("time_in_force", capability_reason(caps, "time_in_force", venue),
                      "time_in_force")
    if tif not in caps.time_in_force:
        raise _cannot("time_in_force",
                      f"{venue} takes {' or '.join(t.value for t in caps.time_in_force)}",
                      "time_in_force", tif.value)


def default_time_in_force(caps: Capabilities) -> TimeInForce | None:
    """GTC where the venue takes it (a limit close rests until filled), else its first."""
    if not caps.time_in_force:
        return None
    return TimeInForce.GTC if TimeInForce.GTC in caps.time_in_force else caps.time_in_force[0]
