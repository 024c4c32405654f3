"""How the tables word things: numbers exactly as the venue sent them, environments, working
orders, and the Close button's story of a close (its state, a refusal in plain words, the
tooltip). Dialogs and the flatten window use the same words."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from core.desk import CloseIntent, IntentState
from core.explain import NO_REASON, explain
from core.model import Environment, TriggerEvent, Venue, WorkingKind, WorkingOrder

__all__ = [
    "ENV_TIPS",
    "NO_REASON_NEXT_STEP",
    "action_text",
    "closed_quantity",
    "describe_working",
    "env_label",
    "fmt_decimal",
    "fmt_trigger",
    "intent_label",
    "intent_text",
    "intent_tooltip",
    "refusal_text",
    "refusal_words",
    "stale_age_text",
    "venue_label",
]

# Labels come from the venue registry, complete before the first row exists; cached because
# every repricing of every row reads one.
_VENUE_LABELS: dict[Venue, str] = {}


def venue_label(venue: Venue) -> str:
    label = _VENUE_LABELS.get(venue)
    if label is None:
        label = _VENUE_LABELS[venue] = venue.label
    return label


ENV_TIPS = {
    Environment.LIVE: "LIVE — real orders, real money",
    Environment.TESTNET: "TESTNET — the venue's test environment; no real money",
    Environment.DEMO: "DEMO — the embedded simulator; no real orders",
}


def env_label(env: Environment | None) -> str:
    """How an environment is written everywhere it is shown: LIVE, TESTNET, DEMO."""
    return env.value.upper() if env is not None else ""


def fmt_decimal(value: Decimal | None, *, signed: bool = False) -> str:
    """Exactly the digits the venue sent (no float, no exponent), optionally with a + sign."""
    if value is None:
        return ""
    text = str(value)  # the same digits, ten times faster than format(); but it may use an
    if "E" in text:  # exponent ("1E+2", "1E-7"), which format(, "f") writes out
        text = format(value, "f")
    if text.startswith("-") and value == 0:
        text = text[1:]
    if signed and value > 0:
        text = "+" + text
    return text


def fmt_trigger(price: Decimal | None, event: TriggerEvent | None) -> str:
    """A trigger as the user reads it: "4400 Mark"."""
    if price is None:
        return ""
    text = fmt_decimal(price)
    return f"{text} {event.label}" if event is not None else text


def describe_working(order: WorkingOrder) -> str:
    """One line for a tooltip or a message: "Limit sell 5 @ 120.5", "Trigger sell 5 at 4400
    Mark"."""
    side = order.side.value.lower() if order.side is not None else ""
    qty = fmt_decimal(order.remaining if order.remaining is not None else order.quantity)
    head = " ".join(p for p in (order.kind.value.capitalize(), side, qty or "all") if p)
    if order.kind is WorkingKind.TRIGGER:
        text = f"{head} at {fmt_trigger(order.trigger_price, order.trigger_event)}"
        if order.price is not None:
            text += f", limit {fmt_decimal(order.price)}"
        return text
    return f"{head} @ {fmt_decimal(order.price)}" if order.price is not None else head


# Short words for a refusal, after "Rejected · " on the row's button (the full cause and next
# step are its tooltip, the log line and the status bar). Keys are core.explain categories.
_REFUSAL_WORDS = {
    "already_flat": "already flat",
    "would_increase": "would increase",
    "below_minimum": "below minimum",
    "above_maximum": "above maximum",
    "tick_precision": "tick size",
    "lot_precision": "lot size",
    "price_band": "price band",
    "clock_skew": "clock skew",
    "rate_limited": "rate limited",
    "market_closed": "market closed",
    "margin": "margin check",
    "auth": "key refused",
    "venue_generic": "no reason given",
    "no_reason": "no reason given",
    "venue_error": "venue error",
    "trigger_side": "trigger side",
    "self_trade": "self-trade",
    "too_many_orders": "too many orders",
    "account_blocked": "account blocked",
}
# QFEX answers some refusals with a bare REJECTED and no text (VENUES.md 1.8), so there is no
# cause to give; core.explain says so, and what to check (one wording for GUI, CLI, journal).
NO_REASON_NEXT_STEP = NO_REASON.next_step


def refusal_words(intent: CloseIntent) -> str:
    """"margin check", "already flat", ...: the refusal's category in two words ("" if none)."""
    found = explain(intent.raw_status, intent.message)
    if found is None:
        return "no reason given" if not intent.next_step else ""
    return _REFUSAL_WORDS.get(found.category, "")


def refusal_text(intent: CloseIntent) -> str:
    """The refusal in plain words: the desk's cause and next step, or what to check when the
    venue gave no reason at all."""
    message = intent.message or "Rejected by the venue"
    if intent.next_step:
        return message
    found = explain(intent.raw_status, intent.message) or NO_REASON
    if found.next_step in message:
        return message
    return f"{message.rstrip('.')}. {found.next_step}"


def _rests_as(intent: CloseIntent) -> str:
    return "trigger" if intent.request.trigger is not None else "limit"


def intent_label(intent: CloseIntent | None) -> str:
    """The state word of the latest close of a row: it names the Close button's colours and is
    the head of its text. "Close" when there is nothing to say."""
    if intent is None:
        return "Close"
    state = intent.state
    if state is IntentState.SENDING:
        return "Sending…"
    if state is IntentState.FILLED:
        if intent.verified_flat is False:
            return "Mismatch"
        if intent.verified_flat is True:
            return "Verified flat"
        # Filled is said only of a whole position verified flat: until then (and always after
        # a partial close) the close is "Closed", with how much and what is left.
        return "Closed"
    if state is IntentState.CANCELLED:
        # Nothing filled and nothing rests: the venue let the close go (an IOC with no
        # liquidity, say). A resting close cancelled by the user is simply Cancelled.
        if intent.filled == 0 and intent.request.limit_price is None \
                and intent.request.trigger is None:
            return "Not filled"
        return "Cancelled"
    return state.value


def closed_quantity(intent: CloseIntent) -> Decimal:
    """What a filled close closed: the venue's filled quantity, else what was asked."""
    if intent.filled:
        return intent.filled
    req = intent.request
    return req.quantity if req.quantity is not None else req.position_quantity


Quantity = Callable[[Decimal | None], str]  # writes a size, by the row's instrument


def intent_text(intent: CloseIntent | None, residual: Decimal | None = None,
                open_now: Decimal | None = None, qty: Quantity | None = None) -> str:
    """The Close button's words: its state, then what matters about it.

    "Sending…", "Acknowledged", "Closed 25 · verifying", "✓ Verified flat", "Resting limit",
    "Closed 12.5 · 12.5 open", "Partly filled (residual 3)", "Rejected · margin check",
    "Unknown · connection lost", "Unknown · checking (attempt 3)", "Mismatch — check venue".
    ``open_now``: after a partial close, the size the venue shows open now (None until it has
    reported the new size).
    """
    label = intent_label(intent)
    if intent is None:
        return label
    q = qty or fmt_decimal
    state = intent.state
    if label == "Mismatch":
        return "Mismatch — check venue"
    if label == "Verified flat":
        return "✓ Verified flat"
    if label == "Closed":
        done = f"Closed {q(closed_quantity(intent))}"
        if intent.request.is_full:
            return f"{done} · verifying"
        return f"{done} · {q(open_now)} open" if open_now is not None else done
    if state is IntentState.RESTING:
        return f"Resting {_rests_as(intent)}"
    if state is IntentState.PARTIAL:
        return f"Partly filled (residual {q(residual)})" if residual else label
    if state is IntentState.REJECTED:
        words = refusal_words(intent)
        return f"{label} · {words}" if words else label
    if state is IntentState.UNKNOWN:
        if intent.checks:  # counted by the desk's reconciler, never guessed here
            return f"Unknown · checking (attempt {intent.checks})"
        return "Unknown · connection lost"
    return label


def intent_tooltip(intent: CloseIntent | None, residual: Decimal | None = None) -> str:
    if intent is None:
        return "Close this position"
    state = intent.state
    if state is IntentState.REJECTED:
        return f"Last close: Rejected — {refusal_text(intent)}\nClick to close again."
    if intent.verified_flat is False:
        return f"{intent.message}\nClick to close again (a new close; nothing was resent)."
    text = f"Last close: {intent_label(intent)}"
    if text == "Last close: Closed":
        text = f"Last close: closed {fmt_decimal(closed_quantity(intent))}" + (
            ", verifying that the position is flat" if intent.request.is_full
            else " (part of the position; the rest stays open)")
    if state is IntentState.RESTING:
        text = f"Last close: Resting at the venue as a {_rests_as(intent)} order"
    if intent.message and intent.message != state.value:
        text += f" — {intent.message}"
    if state is IntentState.PARTIAL and residual:
        text += (f"\nResidual {fmt_decimal(residual)} is still open. Close residual sends a new "
                 "close of it (with the usual confirmation); nothing is ever resent on its own.")
    elif state.in_flight:
        text += "\nClicking again sends nothing new: it shows this close."
        if state is IntentState.UNKNOWN and intent.checks:
            last = (f"; attempt {intent.checks} got {intent.check_failed}"
                    if intent.check_failed else "")
            text += (f"\nAsking the venue what became of it (attempt {intent.checks}{last}); "
                     "it was not resent.")
    elif state is IntentState.UNKNOWN:
        text += "\nIt was not resent; it is reconciled when the venue is back."
    return text


def action_text(intent: CloseIntent | None, working: int, residual: Decimal | None = None,
                open_now: Decimal | None = None, qty: Quantity | None = None) -> str:
    """The Close button's full text: its state, plus a marker when orders rest for the row."""
    label = intent_text(intent, residual, open_now, qty)
    return f"{label} · {working} working" if working else label


def stale_age_text(age: float) -> str:
    """A row's own staleness, first line of its tooltip: "stale 12 s — ..."."""
    seconds = int(age)
    return (f"stale {seconds} s — no venue data for this row for {seconds} s; its numbers may be "
            "out of date")
