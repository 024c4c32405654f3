"""What the close dialogs say: what changed, the stale question, why a confirmation is asked,
why a send did not go, and what "Copy for ticket" copies. Plain functions of their inputs."""

from __future__ import annotations

from decimal import Decimal

from core.closing.words import describe
from core.closing.words import pending_text as _pending_text
from core.desk import AlreadyPending, PositionChanged
from core.model import CloseRequest, Environment, Instrument, Position
from core.settings import Preferences
from core.venue import CloseRejected
from gui.models import env_label, fmt_decimal

__all__ = [
    "CLOSE_ON_TRIGGER_NOTE",
    "changed_text",
    "confirmation_reason",
    "failure_text",
    "pending_text",
    "refusal_text",
    "side_size",
    "stale_question",
    "ticket_text",
]

CLOSE_ON_TRIGGER_NOTE = (
    "Close on Trigger cancels your open reduce-only orders when it fires, to free margin so the "
    "close is less likely to fail."
)


def side_size(pos: Position) -> str:
    return f"{pos.side.value} {fmt_decimal(pos.quantity)}"


def changed_text(exc: PositionChanged, was: Position, since: str) -> str:
    """What the freshness guard found, in one sentence: "The position is now SHORT 3 — it was
    LONG 5 when you opened this dialog."."""
    if exc.current is None:
        return f"The position is now flat — it was {side_size(was)} {since}."
    return f"The position is now {side_size(exc.current)} — it was {side_size(was)} {since}."


def stale_question(age: float) -> str:
    return f"This position's data is {age:.0f} s old. Close anyway?"


def pending_text(exc: AlreadyPending) -> str:
    return _pending_text(exc.intent.key, exc.intent.state.value)


def refusal_text(exc: CloseRejected | AlreadyPending) -> str:
    """Why nothing new was sent: the close in flight it joined, or the refusal, capitalised."""
    if isinstance(exc, AlreadyPending):
        return pending_text(exc)
    text = str(exc)
    return text[:1].upper() + text[1:]


def failure_text(exc: Exception) -> str:
    return f"The close failed: {type(exc).__name__}: {exc}"


def _notional(request: CloseRequest, mark: Decimal | None) -> Decimal | None:
    qty = request.quantity if request.quantity is not None else request.position_quantity
    price = request.limit_price
    if price is None and request.trigger is not None:
        price = request.trigger.price
    if price is None:
        price = mark
    return None if price is None else abs(qty * price)


def confirmation_reason(
    request: CloseRequest,
    preferences: Preferences,
    environment: Environment | None,
    mark: Decimal | None,
) -> str | None:
    """Why the confirmation policy asks for one more click, or None when it does not."""
    policy = preferences.confirm
    if policy == "never":
        return None
    if policy == "always":
        return "confirmations are set to always"
    if environment is Environment.LIVE:
        return "this is a LIVE account"
    limit = preferences.large_close_notional
    if limit is None:
        return None
    notional = _notional(request, mark)
    if notional is None:
        return "no price is known to tell whether it is large"
    if notional >= limit:
        return f"it is large: notional {fmt_decimal(notional)} ≥ {fmt_decimal(limit)}"
    return None


def ticket_text(
    request: CloseRequest,
    preview: str,
    *,
    environment: Environment | None,
    position: Position,
    instrument: Instrument | None = None,
) -> str:
    """What "Copy for ticket" puts on the clipboard: enough for support to find the close."""
    key = request.key
    env = f" ({env_label(environment)})" if environment is not None else ""
    lines = [
        f"Account: {key.account}{env}",
        f"Venue: {key.venue.label}",
        f"Symbol: {key.symbol}",
        f"Position: {side_size(position)}",
        f"Close: {describe(request, instrument)}",
        f"Client order id: {request.client_order_id}",
    ]
    if request.reason:
        lines.append(f"Reason: {request.reason}")
    lines += ["Request (keys and signatures redacted):", preview]
    return "\n".join(lines)
