"""What the close dialog and ``closeout close`` both say about a close: the close in one line,
a refused field, the outcome words, and numbers shown to the instrument's tick and lot.

One home, so the two front ends can never describe the same close differently. Nothing here
decides anything: the rules are in ``core.closing.rules``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Literal

from core.model import CloseRequest, Instrument, PositionKey
from core.numbers import number_format, plain, to_step

__all__ = [
    "FIELD_LABELS",
    "OUTCOME_LABELS",
    "FieldName",
    "describe",
    "pending_text",
    "plain",
    "pnl_text",
    "price_text",
    "quantity_text",
    "refusal",
    "to_step",
]

# The fields of a close, and what the dialog calls them (the CLI names its options itself).
FieldName = Literal[
    "quantity", "percent", "limit_price", "time_in_force", "trigger_price", "trigger_event",
    "close_on_trigger",
]
FIELD_LABELS: Mapping[FieldName, str] = {
    "quantity": "Quantity",
    "percent": "Percent",
    "limit_price": "Limit price",
    "time_in_force": "Time in force",
    "trigger_price": "Trigger price",
    "trigger_event": "Trigger event",
    "close_on_trigger": "Close on trigger",
}

# How each outcome of a close reads at the start of the line that reports it.
OUTCOME_LABELS: Mapping[str, str] = {
    "closed_verified_flat": "Closed, verified flat", "filled": "Filled",
    "already_flat": "Already flat", "residual": "Residual", "rejected": "Rejected",
    "unknown": "Unknown", "resting": "Resting", "not_sent": "Not sent",
    "not_confirmed": "Not confirmed", "dry_run": "Dry run",
}


# ------------------------------------------------------------------------------- numbers
# The rules live in core.numbers (shared with the tables and the CLI's positions list).
def quantity_text(value: Decimal | None, instrument: Instrument | None) -> str:
    """A quantity with the lot's decimals, never with thousands separators: it fills the
    dialog's fields and says what is sent, which must read back as the same number."""
    return to_step(value, instrument.lot_size if instrument is not None else None)


def price_text(value: Decimal | None, instrument: Instrument | None) -> str:
    """A price with the tick's decimals (no separators either: see :func:`quantity_text`)."""
    return to_step(value, instrument.tick_size if instrument is not None else None)


def pnl_text(value: Decimal | None, instrument: Instrument | None) -> str:
    """P&L, signed, with the quote currency's fixed decimals."""
    return number_format(instrument).pnl(value)


# ------------------------------------------------------------------------------- a close
def describe(request: CloseRequest, instrument: Instrument | None = None) -> str:
    """The close in one line, as the dialog and the CLI both show it:
    "SELL 10.00 AAPL-USD (part) at limit 250.50 IOC, reduce-only."."""
    qty = request.position_quantity if request.quantity is None else request.quantity
    what = "full position" if request.is_full else "part"
    text = (f"{request.order_side.value} {quantity_text(qty, instrument)} "
            f"{request.key.symbol} ({what}) ")
    trigger = request.trigger
    if trigger is not None:
        text += (f"when the {trigger.event.label.lower()} price reaches "
                 f"{price_text(trigger.price, instrument)}")
        if trigger.close_on_trigger:
            text += " (close on trigger)"
        text += ", then "
    if request.limit_price is not None:
        text += f"at limit {price_text(request.limit_price, instrument)}"
        if request.time_in_force is not None:
            text += f" {request.time_in_force.value}"
    else:
        text += "at market"
    return text + ", reduce-only."


def refusal(subject: str, value: str, detail: str, *, standalone: bool, sentence: bool,
            other: str = "") -> str:
    """A refused field, said with the front end's name for it (``subject``: "Quantity" in the
    dialog, "--qty" on the command line). The dialog speaks in sentences; the CLI in a clause
    after its program name. ``other`` names the field this one clashes with ("{other}" in
    ``detail``).

    "Quantity 41 is more than the position size 40." / "--qty 41 is more than the position
    size 40". A ``standalone`` detail (what the venue cannot do at all) is a sentence of its own,
    which the CLI prefixes with its option: "--close-on-trigger: QFEX has no close-on-trigger
    option".
    """
    if other:
        detail = detail.replace("{other}", other[:1].lower() + other[1:] if sentence else other)
    if standalone:
        text = detail if sentence else f"{subject}{' ' + value if value else ''}: {detail}"
    else:
        text = f"{subject} {value} {detail}" if value else f"{subject} {detail}"
    if sentence:
        text = text[:1].upper() + text[1:]
        if not text.endswith("."):
            text += "."
    return text


def pending_text(key: PositionKey, state: str) -> str:
    """A second close of a position whose close is still in flight."""
    return (f"A close of {key.symbol} on {key.account} is already {state.lower()} — nothing new "
            "was sent.")
