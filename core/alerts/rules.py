"""Which desk events deserve an alert, each said once.

The desk announces a close every time it moves (``IntentChanged`` carries the live intent, so
several events may show the same state); the rules remember what they already said per close,
as the log does. A full close is announced once venue data verified it flat, or as a failed
check when it did not; a close that left a residual is a failed check too. A connection is
"lost" only when it was up, and "restored" (quietly) only after a loss was announced.
Duplicates from the venue never reach here: the order machine sets them aside.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Final

from core.alerts.kinds import Alert, AlertKind, enabled
from core.desk import CloseIntent, IntentChanged, IntentState
from core.model import ConnectionEvent, ConnectionState, OrderStatus
from core.numbers import trimmed
from core.settings import Alerts

__all__ = ["MEMORY", "AlertRules", "flatten_group"]

MEMORY: Final = 50_000  # closes remembered for "already said", oldest forgotten first
RECONCILED: Final = "RECONCILED"  # the raw status of a close settled from the positions
_DOWN: Final = frozenset({ConnectionState.DISCONNECTED, ConnectionState.FAILED})
_FIRED: Final = frozenset({IntentState.ACKNOWLEDGED, IntentState.FILLED, IntentState.PARTIAL})
_Words = Callable[[CloseIntent], tuple[str, str]]  # an alert's title and text


def flatten_group(reason: str | None) -> str | None:
    """The flatten plan id in a close's reason ("flatten fp-… (retry of …): why"), else None."""
    if not reason or not reason.startswith("flatten "):
        return None
    words = reason[len("flatten "):].split()
    return words[0].rstrip(":") if words else None


class AlertRules:
    """Turns desk events into alerts, respecting the ``[alerts]`` settings."""

    def __init__(self, settings: Alerts | None = None, *, memory: int = MEMORY) -> None:
        self.settings = settings if settings is not None else Alerts()
        self._said: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._memory = memory
        self._states: dict[str, ConnectionState] = {}
        self._lost: set[str] = set()  # accounts whose loss was announced

    def on_event(self, event: object) -> list[Alert]:
        if isinstance(event, IntentChanged):
            return self.on_intent(event.intent)
        if isinstance(event, ConnectionEvent):
            return self.on_connection(event)
        return []

    # ------------------------------------------------------------------ closes
    def on_intent(self, intent: CloseIntent) -> list[Alert]:
        out: list[Alert] = []
        if intent.request.trigger is not None and _fired(intent):
            self._once(out, intent, AlertKind.TRIGGER_FIRED, _trigger_fired)
        state = intent.state
        if state is IntentState.REJECTED:
            self._once(out, intent, AlertKind.ORDER_REJECTED, _rejected)
        elif state is IntentState.PARTIAL:
            self._once(out, intent, AlertKind.FLAT_CHECK_FAILED, _residual)
        elif intent.verified_flat is False:
            self._once(out, intent, AlertKind.FLAT_CHECK_FAILED, _not_flat)
        elif state is IntentState.FILLED and (
            intent.verified_flat is True or not intent.request.is_full
            or intent.raw_status == RECONCILED  # settled from the book: nothing verifies it
        ):
            self._once(out, intent, AlertKind.CLOSE_FILLED, _filled)
        return out

    def _once(self, out: list[Alert], intent: CloseIntent, kind: AlertKind,
              words: _Words) -> None:
        said = (intent.id, kind.value)
        if said in self._said:
            return
        self._said[said] = None
        while len(self._said) > self._memory:
            self._said.popitem(last=False)
        if enabled(kind, self.settings):
            title, text = words(intent)
            out.append(Alert(kind, title, text, sound=self.settings.sound,
                             group=flatten_group(intent.request.reason)))

    # ------------------------------------------------------------------ connections
    def know(self, account: str, state: ConnectionState) -> None:
        """An account's state from before these rules listened (a window opened late)."""
        self._states[account] = state

    def on_connection(self, event: ConnectionEvent) -> list[Alert]:
        name = event.account
        before = self._states.get(name)
        self._states[name] = event.state
        if event.state in _DOWN and before is ConnectionState.CONNECTED:
            self._lost.add(name)
            if enabled(AlertKind.CONNECTION_LOST, self.settings):
                why = f": {event.message}" if event.message else ""
                return [Alert(AlertKind.CONNECTION_LOST, f"Connection lost: {name}",
                              f"{event.venue.label} account {name} disconnected{why}. Its rows "
                              "are stale until it is back; closes in flight are reconciled "
                              "then, never resent.", sound=self.settings.sound)]
        elif event.state is ConnectionState.CONNECTED and name in self._lost:
            self._lost.discard(name)
            if enabled(AlertKind.CONNECTION_RESTORED, self.settings):
                return [Alert(AlertKind.CONNECTION_RESTORED, f"Connection restored: {name}",
                              f"{event.venue.label} account {name} is connected again.",
                              quiet=True)]
        return []


def _where(intent: CloseIntent) -> str:
    return f"{intent.key.symbol} on {intent.key.account}"


def _fired(intent: CloseIntent) -> bool:
    """A trigger close fired: the venue said so, or it rested as a trigger and has since been
    acknowledged as a live order or filled."""
    statuses = {u.status for u in intent.updates}
    if OrderStatus.TRIGGERED in statuses:
        return True
    return intent.state in _FIRED and OrderStatus.TRIGGER_ACK in statuses


def _trigger_fired(intent: CloseIntent) -> tuple[str, str]:
    trigger = intent.request.trigger
    at = f" at {trimmed(trigger.price)}" if trigger is not None else ""
    return (f"Trigger fired: {intent.key.symbol}",
            f"The trigger close of {_where(intent)} fired{at}.")


def _rejected(intent: CloseIntent) -> tuple[str, str]:
    why = intent.message or intent.raw_status or "no reason given"
    return (f"Rejected: {intent.key.symbol}", f"Close of {_where(intent)} rejected: {why}")


def _residual(intent: CloseIntent) -> tuple[str, str]:
    req = intent.request
    asked = req.quantity if req.quantity is not None else req.position_quantity
    return (f"Not flat: {intent.key.symbol}",
            f"Close of {_where(intent)} partly filled: {trimmed(intent.filled)} of "
            f"{trimmed(asked)} closed; the rest is still open.")


def _not_flat(intent: CloseIntent) -> tuple[str, str]:
    return (f"Not flat: {intent.key.symbol}", f"{_where(intent)}: {intent.message}")


def _filled(intent: CloseIntent) -> tuple[str, str]:
    req = intent.request
    if req.is_full:
        how = ("reconciled from the venue's positions" if intent.raw_status == RECONCILED
               else "verified flat")
        return (f"Closed: {intent.key.symbol}",
                f"Close of {_where(intent)} filled: "
                f"{trimmed(intent.filled or req.position_quantity)} closed, "
                f"{how}.")
    return (f"Closed: {intent.key.symbol}",
            f"Close of {trimmed(req.quantity)} {_where(intent)} filled: "
            f"{trimmed(intent.filled)} closed.")
