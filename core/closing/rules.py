"""The rules a close must pass before it is sent: quantity, price, tick, lot, the venue's bounds
and its capabilities. This is their only home. The form (the dialog and ``closeout close``)
and both venue protocols call these checks, so what the user is told and what the venue layer
refuses cannot drift apart; a protocol adds only what its wire format cannot carry.

Each check raises :class:`FieldError` naming the field at fault; ``core.closing.words`` says it
in the dialog's or the CLI's words. Rounding is explicit: the dialog rounds (and shows "will
send X"); the CLI asks for exact numbers, so it refuses what is off the lot or tick instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Literal

from core.closing.words import FIELD_LABELS, FieldName, plain, refusal
from core.model import (
    Capabilities,
    CloseRequest,
    Instrument,
    PositionKey,
    PositionSide,
    TimeInForce,
    TriggerEvent,
)

__all__ = [
    "EVENT_ORDER",
    "FieldError",
    "FieldName",
    "PriceField",
    "capability_reason",
    "check_amounts",
    "check_close_on_trigger",
    "check_limit_close",
    "check_limit_with_trigger",
    "check_partial_close",
    "check_price",
    "check_quantity",
    "check_request",
    "check_time_in_force",
    "check_trigger_close",
    "check_trigger_event",
    "default_time_in_force",
    "leftover_dust",
    "round_limit_price",
    "round_quantity",
    "round_trigger_price",
]

PriceField = Literal["limit_price", "trigger_price"]
EVENT_ORDER = (TriggerEvent.MARK, TriggerEvent.INDEX, TriggerEvent.LAST)
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
    """One refused field. ``detail`` says what is wrong with it; ``value`` is the number or
    choice as typed ("" when the sentence does not repeat it). ``standalone``: the detail is a
    sentence of its own (the venue cannot do this at all), said without the field's name first.
    ``other``: the field this one clashes with, written "{other}" in the detail. ``rule`` names
    the check. ``message`` is the dialog's sentence; ``said`` words it for any front end."""

    def __init__(self, field: FieldName, detail: str, *, value: str = "",
                 standalone: bool = False, other: FieldName | None = None,
                 rule: str = "") -> None:
        self.field: FieldName = field
        self.detail = detail
        self.value = value
        self.standalone = standalone
        self.other = other
        self.rule = rule
        super().__init__(self.message)

    def said(self, names: Mapping[FieldName, str], *, sentence: bool) -> str:
        """In a front end's words: ``names`` are its names for the fields (the dialog's labels,
        the CLI's options); ``sentence`` for the dialog, a clause for the CLI."""
        return refusal(names[self.field], self.value, self.detail, standalone=self.standalone,
                       sentence=sentence, other=names[self.other] if self.other else "")

    @property
    def message(self) -> str:
        return self.said(FIELD_LABELS, sentence=True)


def _bad(field: FieldName, value: Decimal | None, detail: str, rule: str) -> FieldError:
    return FieldError(field, detail, value=plain(value), rule=rule)


def _cannot(field: FieldName, why: str, rule: str, value: str = "") -> FieldError:
    return FieldError(field, why, value=value, standalone=True, rule=rule)


def capability_reason(caps: Capabilities, control: str, venue: str) -> str:
    """Why the venue can't do ``control``: its own reason, or a plain default. For
    "trigger_event", the events it does take."""
    if control == "trigger_event" and not caps.reasons.get(control):
        listed = " or ".join(e.label.lower() for e in EVENT_ORDER if e in caps.trigger_events)
        if listed:
            return f"{venue} triggers on the {listed} price only"
        control = "trigger"
    return caps.reasons.get(control) or _DEFAULT_REASONS.get(control, "").format(venue=venue)


# ------------------------------------------------------------------------------- rounding
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


# ------------------------------------------------------------------------------- numbers
def _positive(field: FieldName, value: Decimal) -> None:
    if not value.is_finite():
        raise _bad(field, None, "must be a finite number", "finite")
    if value <= 0:
        raise _bad(field, None, "must be greater than zero", "positive")


def _on_step(field: FieldName, value: Decimal, inst: Instrument) -> bool:
    """Whether ``value`` is a whole number of lots (a quantity) or ticks (a price). A value so
    many steps long that Decimal's 28 digits cannot hold the count (1e40 at a tick of 0.01)
    can be neither checked nor sent exactly: it is refused, never rounded by accident."""
    try:
        return inst.on_lot(value) if field == "quantity" else inst.on_tick(value)
    except InvalidOperation:
        step, unit = (inst.lot_size, "a lot") if field == "quantity" else (inst.tick_size,
                                                                          "a tick")
        raise _bad(field, None, f"has more digits than {unit} of {plain(step)} allows",
                   "digits") from None


def check_amounts(request: CloseRequest) -> None:
    """Every number the request would put on the wire is finite and above zero: what must
    hold before any bound means anything (the desk and both encoders rely on it)."""
    if request.quantity is not None:
        _positive("quantity", request.quantity)
    if request.limit_price is not None:
        _positive("limit_price", request.limit_price)
    if request.trigger is not None:
        _positive("trigger_price", request.trigger.price)


def check_quantity(typed: Decimal, held: Decimal, key: PositionKey, inst: Instrument | None,
                   *, sized: bool, stop: bool, round_to_lot: bool = True) -> Decimal:
    """The quantity that will be sent, or FieldError. ``held`` is the position's size.

    ``sized``: the quantity goes on the wire (a full close the venue sizes itself does not, so
    it is held to neither the lot nor the bounds). Off the lot it is rounded down, or refused
    when ``round_to_lot`` is False. ``stop``: a trigger close, exempt from the venue's min/max
    (QFEX order-types docs; unknown for Everstrike, whose simulator skips them too).
    """
    venue, symbol = key.venue.label, key.symbol
    _positive("quantity", typed)
    if typed > held:
        raise _bad("quantity", typed, f"is more than the position size {plain(held)}", "size")
    quantity = typed
    if inst is None or not sized:
        return quantity
    if not _on_step("quantity", typed, inst):
        if not round_to_lot:
            raise _bad("quantity", typed,
                       f"must be a multiple of the lot size {plain(inst.lot_size)}", "lot")
        quantity = round_quantity(typed, inst)
        if quantity <= 0:
            raise _bad("quantity", typed, f"is less than one lot ({plain(inst.lot_size)}); "
                       "nothing can be sent", "lot")
        if not _on_step("quantity", quantity, inst):  # rounded inexactly
            raise _bad("quantity", None, f"has more digits than a lot of "
                       f"{plain(inst.lot_size)} allows", "digits")
    if stop:
        return quantity
    if inst.min_quantity is not None and quantity < inst.min_quantity:
        raise _bad("quantity", quantity,
                   f"is below {venue}'s minimum {plain(inst.min_quantity)} for {symbol}; "
                   "close more, or close all", "min")
    if inst.max_quantity is not None and quantity > inst.max_quantity:
        raise _bad("quantity", quantity,
                   f"is above {venue}'s maximum {plain(inst.max_quantity)} per order for "
                   f"{symbol}", "max")
    return quantity


def leftover_dust(held: Decimal, quantity: Decimal, inst: Instrument | None) -> Decimal | None:
    """What a partial close would leave open when that is below the venue's minimum order
    size (no partial close could ever close it); None otherwise."""
    left = held - quantity
    if inst is not None and inst.min_quantity is not None and 0 < left < inst.min_quantity:
        return left
    return None


def check_price(field: PriceField, typed: Decimal, side: PositionSide, key: PositionKey,
                inst: Instrument | None, *, round_to_tick: bool = True) -> Decimal:
    """The limit or trigger price that will be sent (rounded to the tick, or refused off the
    tick when ``round_to_tick`` is False), within the venue's price bounds, or FieldError.
    ``side`` is the position's: a limit rounds away from the book."""
    venue = key.venue.label
    _positive(field, typed)
    value = typed
    if inst is None:
        return value
    if not _on_step(field, typed, inst):
        if not round_to_tick:
            raise _bad(field, typed,
                       f"must be a multiple of the tick size {plain(inst.tick_size)}", "tick")
        value = round_limit_price(typed, side, inst) if field == "limit_price" \
            else round_trigger_price(typed, inst)
        if value <= 0:
            raise _bad(field, typed, f"is less than one tick ({plain(inst.tick_size)})", "tick")
        if not _on_step(field, value, inst):  # rounded inexactly
            raise _bad(field, None, f"has more digits than a tick of "
                       f"{plain(inst.tick_size)} allows", "digits")
    if inst.min_price is not None and value < inst.min_price:
        raise _bad(field, value, f"is below {venue}'s minimum price {plain(inst.min_price)}",
                   "min_price")
    if inst.max_price is not None and value > inst.max_price:
        raise _bad(field, value, f"is above {venue}'s maximum price {plain(inst.max_price)}",
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
        raise _cannot("trigger_event", capability_reason(caps, "trigger_event", venue),
                      "trigger_event", event.label.lower())


def check_close_on_trigger(caps: Capabilities, venue: str) -> None:
    if not caps.close_on_trigger:
        raise _cannot("close_on_trigger", capability_reason(caps, "close_on_trigger", venue),
                      "close_on_trigger")


def check_limit_with_trigger(caps: Capabilities, venue: str) -> None:
    """A limit and a trigger together (a stop-limit) only where the venue takes one."""
    if not caps.limit_with_trigger:
        why = capability_reason(caps, "limit_with_trigger", venue)
        raise FieldError("limit_price",
                         f"and {{other}} can't be combined on {venue}: {why}; clear one of "
                         "the two", other="trigger_price", rule="limit_with_trigger")


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


# ------------------------------------------------------------------------------- a whole request
def check_request(request: CloseRequest, caps: Capabilities, inst: Instrument | None, *,
                  sized: bool) -> None:
    """The last check before the wire: what the venue's capabilities and reference data say it
    would refuse, on a request already built (nothing is rounded here). Raises FieldError.

    ``sized``: the venue's wire request carries a quantity (the request's, or the whole
    position's when it has none). The time in force is not checked here: each encoder knows
    which ones its wire format can carry, and the form offers only the venue's listed ones.
    """
    venue = request.key.venue.label
    held = request.position_quantity
    if not held.is_finite() or held <= 0:
        raise _cannot("quantity", "The position is flat; there is nothing to close", "flat")
    check_amounts(request)
    if request.quantity is not None:
        check_partial_close(caps, venue)
    if request.limit_price is not None:
        check_limit_close(caps, venue)
    trigger = request.trigger
    if trigger is not None:
        check_trigger_close(caps, venue)
        check_trigger_event(caps, venue, trigger.event)
        if trigger.close_on_trigger:
            check_close_on_trigger(caps, venue)
        if request.limit_price is not None:
            check_limit_with_trigger(caps, venue)
    qty = held if request.quantity is None else request.quantity
    check_quantity(qty, held, request.key, inst, sized=sized, stop=trigger is not None,
                   round_to_lot=False)
    side = request.position_side
    if request.limit_price is not None:
        check_price("limit_price", request.limit_price, side, request.key, inst,
                    round_to_tick=False)
    if trigger is not None:
        check_price("trigger_price", trigger.price, side, request.key, inst, round_to_tick=False)
