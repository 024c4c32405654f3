"""Typed fields to a ``CloseRequest``, or to the error of each field at fault: the close dialog
and ``closeout close`` both read a close here, so they refuse the same input with the same words.

Three steps, each usable alone: ``parse`` turns text into values (the CLI does it per option,
while parsing its arguments); ``check_values`` refuses fields that mean nothing without another,
before any position is known; ``check`` holds the values against the position, the venue's
capabilities and its reference data (``core.closing.rules``). ``read`` does all three.

The one difference between the front ends is ``exact``: the dialog rounds to the lot and tick
and shows "will send X" beside the field; the CLI shows no such thing before ``--yes``, so it
refuses a number off the lot or tick instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from core.closing.rules import (
    FieldError,
    FieldName,
    check_close_on_trigger,
    check_limit_close,
    check_limit_with_trigger,
    check_partial_close,
    check_price,
    check_quantity,
    check_time_in_force,
    check_trigger_close,
    check_trigger_event,
    default_time_in_force,
    leftover_dust,
    round_quantity,
)
from core.closing.words import plain, quantity_text
from core.model import (
    Capabilities,
    CloseRequest,
    Instrument,
    Position,
    TimeInForce,
    Trigger,
    TriggerEvent,
    new_client_order_id,
)

__all__ = [
    "DIGITS_MAX",
    "FIELD_ORDER",
    "PLAIN_RULE",
    "REASON_MAX",
    "Checked",
    "Fields",
    "Values",
    "check",
    "check_values",
    "one_line",
    "parse",
    "parse_plain_decimal",
    "preset_quantity",
    "read",
]

REASON_MAX = 200  # a reason or ticket id, journaled with every record of the close
# The order fields are reported in: the order they appear in the dialog.
FIELD_ORDER: tuple[FieldName, ...] = (
    "quantity", "percent", "limit_price", "time_in_force", "trigger_price", "trigger_event",
    "close_on_trigger",
)
_PLAIN_DECIMAL = re.compile(r"^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\Z")  # ASCII digits only
_BLANKS = " \t"  # dropped around a typed number, and nothing else
# The rule a typed number must meet, as every front end says it.
PLAIN_RULE = ("must be a plain decimal number such as 1.25 — digits and one point, no commas, "
              "signs, exponents or spaces inside it (spaces around it are ignored)")
# Digits a typed number may have: more than any venue's price or size, and few enough that
# every step of the checks (tick, lot, bounds) stays exact in Decimal's 28 digits.
DIGITS_MAX = 24
_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Fields:
    """A close as typed: the dialog's inputs or the CLI's options, as text. ``None`` is a field
    not given; an empty price is at market, or no trigger."""

    quantity: str | None = None  # None: the whole position ("" in the dialog: required)
    percent: str | None = None  # of the position, rounded down to the lot
    limit_price: str | None = None
    time_in_force: str | None = None  # GTC, IOC, FOK; None: the venue's default for a limit
    trigger_price: str | None = None
    trigger_event: str | None = None  # mark, index or last (or the wire names); None: mark
    close_on_trigger: bool = False
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Values:
    """A close as parsed, not yet held against a position."""

    quantity: Decimal | None = None
    percent: Decimal | None = None
    limit_price: Decimal | None = None
    time_in_force: TimeInForce | None = None
    trigger_price: Decimal | None = None
    trigger_event: TriggerEvent | None = None
    close_on_trigger: bool = False
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Checked:
    """The request, or why not. ``rounded``: field -> the number that will be sent instead of
    the typed one. ``dust``: what a partial close would leave open, below the venue minimum."""

    request: CloseRequest | None
    errors: Mapping[FieldName, FieldError] = field(default_factory=dict)
    rounded: Mapping[FieldName, Decimal] = field(default_factory=dict)
    dust: Decimal | None = None

    @property
    def messages(self) -> dict[FieldName, str]:
        """Field -> the dialog's sentence."""
        return {name: exc.message for name, exc in self.ordered()}

    def ordered(self) -> list[tuple[FieldName, FieldError]]:
        """The errors in the order the dialog shows its fields."""
        return [(name, self.errors[name]) for name in FIELD_ORDER if name in self.errors]


# ------------------------------------------------------------------------------- parsing
def parse_plain_decimal(text: str, field: FieldName) -> Decimal:
    """A positive plain decimal ("12", "0.5", "1200.25"); anything else is refused by name.

    No thousands separators, signs, exponents, NaN or Infinity: the number sent must be exactly
    the one the user read, and "1,000.5" could mean two different numbers. Spaces and tabs
    around the number are dropped (a paste brings them; they cannot change it), and the
    message says so; any other character, a space inside the number included, is refused.
    """
    text = text.strip(_BLANKS)
    if text.startswith("-") and _PLAIN_DECIMAL.fullmatch(text[1:]):
        raise FieldError(field, "must be greater than zero", rule="positive")
    if not _PLAIN_DECIMAL.fullmatch(text):
        raise FieldError(field, PLAIN_RULE, rule="plain")
    if sum(c.isdigit() for c in text) > DIGITS_MAX:
        raise FieldError(field, f"has more than {DIGITS_MAX} digits; no venue takes a number "
                         "that long", rule="digits")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid input
        raise FieldError(field, "is not a number", rule="plain") from exc
    if value <= 0:
        raise FieldError(field, "must be greater than zero", rule="positive")
    return value


def _choice(field: FieldName, text: str, names: Mapping[str, str], shown: str) -> str:
    key = text.strip().lower()
    if key not in names:
        raise FieldError(field, f"must be one of {shown}", value=text.strip(), rule="choice")
    return names[key]


_TIFS = {t.value.lower(): t.value for t in TimeInForce}
_TIFS_SHOWN = ", ".join(t.value for t in TimeInForce)
_EVENTS = {**{e.label.lower(): e.value for e in TriggerEvent},
           **{e.value.lower(): e.value for e in TriggerEvent}}
_EVENTS_SHOWN = ", ".join(e.label.lower() for e in TriggerEvent)


def one_line(text: str | None) -> str | None:
    """A reason as kept: one line, single spaces; None when empty."""
    line = " ".join((text or "").split())
    return line or None


def parse(fields: Fields) -> tuple[Values, dict[FieldName, FieldError]]:
    """Text to values; a field that cannot be read is left out of the values and reported."""
    errors: dict[FieldName, FieldError] = {}

    def number(name: FieldName, text: str | None, *, blank_is_none: bool) -> Decimal | None:
        if text is None or (blank_is_none and not text.strip()):
            return None
        try:
            if not text.strip():
                raise FieldError(name, "is required", rule="required")
            return parse_plain_decimal(text, name)
        except FieldError as exc:
            errors[name] = exc
            return None

    tif: TimeInForce | None = None
    event: TriggerEvent | None = None
    try:
        if fields.time_in_force is not None and fields.time_in_force.strip():
            tif = TimeInForce(_choice("time_in_force", fields.time_in_force, _TIFS, _TIFS_SHOWN))
    except FieldError as exc:
        errors[exc.field] = exc
    try:
        if fields.trigger_event is not None and fields.trigger_event.strip():
            event = TriggerEvent(
                _choice("trigger_event", fields.trigger_event, _EVENTS, _EVENTS_SHOWN))
    except FieldError as exc:
        errors[exc.field] = exc
    values = Values(
        quantity=number("quantity", fields.quantity, blank_is_none=False),
        percent=number("percent", fields.percent, blank_is_none=False),
        limit_price=number("limit_price", fields.limit_price, blank_is_none=True),
        time_in_force=tif,
        trigger_price=number("trigger_price", fields.trigger_price, blank_is_none=True),
        trigger_event=event,
        close_on_trigger=fields.close_on_trigger,
        reason=one_line(fields.reason),
    )
    return values, errors


def check_values(values: Values, *, limit: bool | None = None,
                 trigger: bool | None = None) -> dict[FieldName, FieldError]:
    """What is wrong before any position is known: a field that means nothing without another,
    a percent over 100. ``limit``/``trigger``: whether a limit or trigger price was given (by
    default: whether one was read)."""
    has_limit = values.limit_price is not None if limit is None else limit
    has_trigger = values.trigger_price is not None if trigger is None else trigger
    errors: dict[FieldName, FieldError] = {}
    if values.quantity is not None and values.percent is not None:
        errors["percent"] = FieldError("percent", "can't be given with {other}; give one of "
                                       "the two", other="quantity", rule="both")
    elif values.percent is not None and values.percent > _HUNDRED:
        errors["percent"] = FieldError("percent", "is more than 100",
                                       value=plain(values.percent), rule="percent")
    if values.time_in_force is not None and not has_limit:
        errors["time_in_force"] = FieldError(
            "time_in_force", "applies to a limit close only; give a limit price too",
            rule="needs_limit")
    if values.trigger_event is not None and not has_trigger:
        errors["trigger_event"] = FieldError(
            "trigger_event", "needs a trigger price", rule="needs_trigger")
    if values.close_on_trigger and not has_trigger:
        errors["close_on_trigger"] = FieldError(
            "close_on_trigger", "needs a trigger price", rule="needs_trigger")
    return errors


def preset_quantity(held: Decimal, percent: Decimal, inst: Instrument | None) -> Decimal:
    """``percent`` of the position, rounded down to the lot (all of it at 100)."""
    if percent >= _HUNDRED:
        return held
    return round_quantity(held * percent / _HUNDRED, inst)


# ------------------------------------------------------------------------------- checking
def _of_percent(exc: FieldError, percent: Decimal, share: Decimal,
                inst: Instrument | None) -> FieldError:
    """A refusal of the quantity a percent makes, said of the percent the user gave."""
    if exc.standalone:
        return FieldError("percent", exc.detail, standalone=True, rule=exc.rule)
    if share <= 0:
        detail = "of the position is less than one lot; nothing can be sent"
    else:
        detail = f"of the position ({quantity_text(share, inst)}) {exc.detail}"
    return FieldError("percent", detail, value=plain(percent), rule=exc.rule)


def check(values: Values, position: Position, caps: Capabilities, inst: Instrument | None, *,
          exact: bool = False, seen: Position | None = None,
          client_order_id: str | None = None, stop: bool | None = None) -> Checked:
    """The request the values make for ``position``, or the error of each field at fault.

    ``exact``: refuse a number off the lot or tick rather than round it. ``seen``: the position
    as the user last acknowledged it (the request carries it, so the desk refuses if the book
    moved away from it); by default ``position``. ``stop``: whether a trigger was asked for, even
    one that could not be read (its min/max exemption and stop-limit rule still apply).
    """
    errors: dict[FieldName, FieldError] = {}
    rounded: dict[FieldName, Decimal] = {}
    venue = position.key.venue.label
    key, side, held = position.key, position.side, position.quantity
    stop = values.trigger_price is not None if stop is None else stop
    dust: Decimal | None = None

    quantity: Decimal | None = None
    typed = values.quantity
    if values.percent is not None:
        typed = preset_quantity(held, values.percent, inst)
    try:
        asked = held if typed is None else typed  # nothing given: the whole position
        if asked < held:
            check_partial_close(caps, venue)
        priced = values.limit_price is not None or stop
        whole = asked == held and caps.full_close and (
            caps.full_close_unsized_with_price or not priced)
        quantity = check_quantity(asked, held, key, inst, sized=not whole, stop=stop,
                                  round_to_lot=not exact or values.percent is not None)
        if quantity != asked and values.quantity is not None:
            rounded["quantity"] = quantity
        dust = leftover_dust(held, quantity, inst)
    except FieldError as exc:
        quantity = None
        if values.percent is not None and typed is not None:
            exc = _of_percent(exc, values.percent, typed, inst)
        errors[exc.field] = exc
        # The size refused is the rounded one: show it beside the field too.
        if exc.rule in ("min", "max") and typed is not None and not exact:
            sent = round_quantity(typed, inst)
            if sent != typed:
                rounded["quantity"] = sent

    limit: Decimal | None = None
    if values.limit_price is not None:
        try:
            check_limit_close(caps, venue)
            limit = check_price("limit_price", values.limit_price, side, key, inst,
                                round_to_tick=not exact)
            if limit != values.limit_price:
                rounded["limit_price"] = limit
        except FieldError as exc:
            errors.setdefault(exc.field, exc)

    trigger: Trigger | None = None
    if values.trigger_price is not None:
        try:
            check_trigger_close(caps, venue)
            price = check_price("trigger_price", values.trigger_price, side, key, inst,
                                round_to_tick=not exact)
            if price != values.trigger_price:
                rounded["trigger_price"] = price
            event = values.trigger_event or TriggerEvent.MARK
            check_trigger_event(caps, venue, event)
            if values.close_on_trigger:
                check_close_on_trigger(caps, venue)
            trigger = Trigger(price, event, values.close_on_trigger)
        except FieldError as exc:
            errors.setdefault(exc.field, exc)
    if limit is not None and stop:
        try:
            check_limit_with_trigger(caps, venue)
        except FieldError as exc:
            errors.setdefault(exc.field, exc)

    tif: TimeInForce | None = None
    if limit is not None:
        try:
            if values.time_in_force is not None:
                check_time_in_force(caps, venue, values.time_in_force)
                tif = values.time_in_force
            else:
                tif = default_time_in_force(caps)
        except FieldError as exc:
            errors.setdefault(exc.field, exc)

    if errors or quantity is None:
        return Checked(None, errors, rounded, dust)
    was = seen if seen is not None else position
    request = CloseRequest(
        key=key,
        position_side=was.side,
        position_quantity=was.quantity,
        quantity=None if quantity == held and caps.full_close else quantity,
        limit_price=limit,
        trigger=trigger,
        time_in_force=tif,
        client_order_id=client_order_id or new_client_order_id(),
        reason=values.reason,
    )
    return Checked(request, {}, rounded, dust)


def read(fields: Fields, position: Position, caps: Capabilities, inst: Instrument | None, *,
         exact: bool = False, seen: Position | None = None,
         client_order_id: str | None = None) -> Checked:
    """``parse``, ``check_values`` and ``check`` in one: the dialog's every edit."""
    values, errors = parse(fields)
    limit = bool(fields.limit_price and fields.limit_price.strip())
    trigger = bool(fields.trigger_price and fields.trigger_price.strip())
    for name, exc in check_values(values, limit=limit, trigger=trigger).items():
        errors.setdefault(name, exc)
    checked = check(values, position, caps, inst, exact=exact, seen=seen,
                    client_order_id=client_order_id, stop=trigger)
    if not errors:
        return checked
    for name, exc in checked.errors.items():
        errors.setdefault(name, exc)
    return Checked(None, errors, checked.rounded, checked.dust)
