"""What a close's progress says beyond its row's Close cell: a log line and the status bar for
what no venue line says (verified flat, a mismatch, a refusal in plain words, a partial fill,
a close whose fate is unknown). Each is said once per close."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.desk import CloseIntent, IntentState
from core.model import OrderStatus
from gui.models.log import LogEntry
from gui.models.text import fmt_decimal, refusal_text

if TYPE_CHECKING:
    from gui.main_window import MainWindow

__all__ = ["CloseProgress", "sent_text"]


def _what(intent: CloseIntent) -> str:
    req = intent.request
    kind = "Trigger close" if req.trigger is not None else (
        "Limit close" if req.limit_price is not None else "Close")
    return f"{kind} of {req.key.symbol} on {req.key.account}"


def sent_text(intent: CloseIntent) -> str | None:
    """What the status bar says once a close has left, by how far it got: "sent; waiting for
    the venue" or "acknowledged". None once it rests or settled: its progress (resting at the
    venue, verified flat, refused, partly filled) says that in its own words, once."""
    if intent.state is IntentState.SENDING:
        return f"{_what(intent)} sent; waiting for the venue's reply."
    if intent.state is IntentState.ACKNOWLEDGED:
        return f"{_what(intent)} acknowledged by the venue."
    return None


def resting_text(intent: CloseIntent) -> str:
    if intent.request.trigger is not None:
        return (f"{_what(intent)} acknowledged: resting at the venue until it triggers "
                "(Working orders).")
    return f"{_what(intent)} acknowledged: resting at the venue (Working orders)."


class CloseProgress:
    """Follows every close of the desk on the window."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self._notes: dict[str, set[str]] = {}  # intent id -> what the log already said

    def on_intent(self, intent: CloseIntent) -> None:
        """A close moved on: its row's Close cell, and a log line and the status bar for what
        no venue line says (verified flat, a mismatch, a refusal in plain words)."""
        self.window.positions_model.set_intent(intent)
        log_model = self.window.log_model
        status = self.window.statusBar()
        key = intent.key
        notes = self._notes.setdefault(intent.id, set())
        where = f"{key.symbol} on {key.account}"
        fmt = log_model.format_for(key.account, key.venue, key.symbol)

        def note(what: str) -> bool:
            if what in notes:
                return False
            notes.add(what)
            return True

        if intent.verified_flat is True and note("flat"):
            log_model.append(LogEntry.from_intent(intent, "VERIFIED FLAT", fmt=fmt))
            status.showMessage(f"{where}: closed and verified flat.", 10000)
        elif intent.verified_flat is False and note("mismatch"):
            log_model.append(LogEntry.from_intent(intent, "MISMATCH", fmt=fmt))
            status.showMessage(f"{where}: {intent.message}", 30000)
        elif intent.state is IntentState.REJECTED and note("rejected"):
            text = refusal_text(intent)
            said = [u.message for u in intent.updates if u.status is OrderStatus.REJECTED]
            if text not in said:  # no venue line says it in these words
                log_model.append(LogEntry.from_intent(intent, "REJECTED", fmt=fmt))
            status.showMessage(f"Close of {where} rejected: {text}", 20000)
        elif intent.state is IntentState.PARTIAL and note("partial"):
            req = intent.request
            asked = req.quantity if req.quantity is not None else req.position_quantity
            status.showMessage(
                f"Close of {where} partly filled: {fmt_decimal(intent.filled)} of "
                f"{fmt_decimal(asked)} closed. The residual is still open — Close residual is "
                "on its row; nothing is resent on its own.", 20000)
        elif intent.state is IntentState.UNKNOWN and note("unknown"):
            status.showMessage(f"Close of {where}: {intent.message}", 20000)
        elif intent.state is IntentState.RESTING and note("resting"):
            status.showMessage(resting_text(intent), 10000)
