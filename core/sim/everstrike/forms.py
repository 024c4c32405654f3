"""Reading Everstrike form fields and query parameters: a bad value raises ``Invalid``."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from core.sim.everstrike.replies import Invalid

__all__ = ["bool_field", "decimal_field", "int_query", "trigger_fields"]

TRIGGER_EVENTS = ("MARK_PRICE", "INDEX_PRICE", "LAST_PRICE")


def decimal_field(form: dict[str, str], key: str) -> Decimal:
    try:
        value = Decimal(form[key])
    except (InvalidOperation, ValueError) as exc:
        raise Invalid(f"{key} must be a number") from exc
    if not value.is_finite() or value < 0:
        raise Invalid(f"{key} must be a non-negative number")
    return value


def bool_field(form: dict[str, str], key: str) -> bool:
    value = form.get(key, "false").lower()
    if value not in ("true", "false"):
        raise Invalid(f"{key} must be true or false")
    return value == "true"


def trigger_fields(form: dict[str, str]) -> tuple[Decimal | None, str | None, bool]:
    trigger = decimal_field(form, "trigger_price") if "trigger_price" in form else None
    if trigger is not None and trigger <= 0:
        raise Invalid("trigger_price must be positive")
    event = form.get("trigger_event", "MARK_PRICE")
    if event not in TRIGGER_EVENTS:
        raise Invalid("trigger_event must be MARK_PRICE, INDEX_PRICE or LAST_PRICE")
    close_on_trigger = bool_field(form, "close_on_trigger")
    return trigger, (event if trigger is not None else None), close_on_trigger


def int_query(q: dict[str, str], key: str) -> int | None:
    value = q.get(key)
    if value is None:
        return None
    try:
        return int(Decimal(value))
    except (InvalidOperation, ValueError) as exc:
        raise Invalid(f"{key} must be a number") from exc
