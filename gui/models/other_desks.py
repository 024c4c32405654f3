"""Log lines for what the other desks did (team mode): their closes, cancels and overrides, as
their journal records say, each marked with the desk. The records are the other desk's own
(read back from the shared journal), so a line says only what that desk recorded; a payload
this version cannot read gives a plain line rather than none.

No Qt here beyond the log's own entry type: it is a mapping from records to lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from core.journal.records import JournalRecord
from core.model import PositionKey
from core.venues import UnknownVenue, venue_named
from gui.models.log import LogEntry

__all__ = ["SHOWN_KINDS", "other_desk_entries"]

# The records a trader watching another desk wants to see; the rest (order updates, fills,
# snapshots) repeat the venue's own data, which this desk's sessions show anyway.
SHOWN_KINDS = frozenset({"intent", "intent_state", "verify_flat", "lease_override",
                         "cancel_intent", "cancel_result", "flatten_plan"})


def _payload(record: JournalRecord) -> dict[str, Any]:
    try:
        value = json.loads(record.payload)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _line(desk: str, record: JournalRecord) -> tuple[str, str, str]:
    """(status, message, tone) of one record."""
    p = _payload(record)
    who = record.operator
    if not p:
        return record.kind.upper(), f"{desk} ({who}): {record.kind} (its details could not be " \
            "read)", ""
    if record.kind == "intent":
        qty = p.get("quantity") or p.get("position_quantity")
        what = "all" if p.get("quantity") is None else _text(qty)
        limit = f" at {p['limit_price']}" if p.get("limit_price") else ""
        return "CLOSING", f"{desk} ({who}) sent a close of {what}{limit}", ""
    if record.kind == "intent_state":
        state = _text(p.get("state")).upper()
        tone = {"FILLED": "good", "REJECTED": "bad", "UNKNOWN": "bad"}.get(state, "")
        return state, f"{desk}: {_text(p.get('message')) or state.lower()}", tone
    if record.kind == "verify_flat":
        flat = p.get("flat") is True
        return ("VERIFIED FLAT" if flat else "MISMATCH",
                f"{desk}: the venue shows the position " + ("flat" if flat else
                                                            f"still open ({p.get('position')})"),
                "good" if flat else "bad")
    if record.kind == "lease_override":
        took = p.get("took_from") or {}
        whose = (f" from {took.get('desk_name')}" if isinstance(took, dict) and took else
                 " (no other desk held it)")
        intent = _text(p.get("intent"))
        what = f" to cancel order {intent[7:]}" if intent.startswith("cancel:") else ""
        return "OVERRIDE", (f"{desk} ({who}) overrode the lease{whose}{what}: "
                            f"{_text(p.get('reason'))}"), "warn"
    if record.kind == "cancel_intent":
        return "CANCELLING", f"{desk} ({who}) cancels order {_text(p.get('order_id'))}", ""
    if record.kind == "cancel_result":
        ok = p.get("ok") is True
        return ("CANCELLED" if ok else "CANCEL REFUSED",
                f"{desk}: " + ("cancelled" if ok else _text(p.get("message"))),
                "" if ok else "warn")
    return record.kind.upper(), f"{desk} ({who}): {record.reason or record.kind}", ""


def other_desk_entries(desk: str, records: Iterable[JournalRecord]) -> list[LogEntry]:
    """The log lines for another desk's new records (those worth showing), oldest first."""
    entries = []
    for record in records:
        if record.kind not in SHOWN_KINDS:
            continue
        status, message, tone = _line(desk, record)
        key = None
        label = record.venue or ""
        if record.venue:
            try:
                venue = venue_named(record.venue)
                label = venue.label
                if record.account and record.symbol:
                    key = PositionKey(record.account, venue, record.symbol)
            except UnknownVenue:
                pass
        entries.append(LogEntry(
            at=record.wall_time, kind=desk, venue=label, account=record.account or "",
            symbol=record.symbol or "", status=status, message=message, tone=tone,
            detail=f"{desk}'s record {record.seq}" + (
                f", intent {record.intent_id}" if record.intent_id else ""),
            key=key))
    return entries
