"""How the History tab words a journal record: the detail pane's text and "Copy as ticket".

Plain text, no Qt: what support pastes into a ticket must read the same in any tool. A record is
shown whole (the operator's reason in full, the payload pretty-printed), with its place in the
hash chain, so whoever reads the ticket can find it again and check it with
``closeout journal verify``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from core.journal import JournalRecord
from core.model import Venue
from core.venues import label_of

__all__ = ["fmt_wall", "pretty_payload", "record_text", "ticket_text", "venue_text"]


def fmt_wall(epoch: float) -> str:
    """Local date and time with milliseconds: the journal is read across days."""
    dt = datetime.fromtimestamp(epoch)
    return dt.strftime("%Y-%m-%d %H:%M:%S.") + f"{dt.microsecond // 1000:03d}"


def venue_text(venue: str | None) -> str:
    """The venue's display name ("QFEX", "Everstrike"), as the positions table shows it; an
    id nothing registers (an old record) is shown as stored."""
    return label_of(Venue(venue)) if venue else ""


def pretty_payload(text: str) -> str:
    """The payload indented when it is JSON (it usually is), else as stored."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text



def record_text(r: JournalRecord) -> str:
    """Every field of one record, the reason in full and the payload pretty-printed: the
    detail pane, and the head of a ticket."""
    where = " · ".join(part for part in (
        r.account and f"account {r.account}",
        r.venue and f"venue {venue_text(r.venue)}",
        r.symbol and f"symbol {r.symbol}") if part)
    lines = [
        f"Record #{r.seq} · {r.kind}",
        f"Time:      {fmt_wall(r.wall_time)} local ({r.wall_time:.6f})",
        f"Where:     {where or '-'}",
        f"Operator:  {r.operator}",
        f"Reason:    {r.reason if r.reason else '-'}",
        f"Intent:    {r.intent_id or '-'}",
        f"Latency:   {'-' if r.latency_ms is None else f'{r.latency_ms:.1f} ms'}",
        f"Chain:     seq {r.seq}",
        f"Hash:      {r.hash}",
        f"Previous:  {r.prev_hash}",
        "Payload:",
        pretty_payload(r.payload),
    ]
    return "\n".join(lines)


def _story_line(r: JournalRecord, chosen: int) -> str:
    mark = "→" if r.seq == chosen else " "
    where = " ".join(p for p in (r.account, venue_text(r.venue), r.symbol) if p)
    latency = "" if r.latency_ms is None else f" · {r.latency_ms:.1f} ms"
    reason = f"    reason: {r.reason}\n" if r.reason else ""
    return (f"{mark} #{r.seq} {fmt_wall(r.wall_time)} {r.kind} · {where}{latency}\n"
            f"{reason}    {' '.join(r.payload.split())}\n"
            f"    hash {r.hash}")


def ticket_text(r: JournalRecord, story: Sequence[JournalRecord], last_seq: int) -> str:
    """What "Copy as ticket" puts on the clipboard: the record, every record of its intent in
    order (the chosen one marked), and where it sits in the journal's hash chain."""
    parts = ["Closeout audit journal record", "", record_text(r), ""]
    if r.intent_id:
        parts.append(f"Intent {r.intent_id}: {len(story)} record"
                     f"{'' if len(story) == 1 else 's'}, oldest first")
        parts.extend(_story_line(s, r.seq) for s in story)
    else:
        parts.append("Intent: none (this record belongs to no close)")
    parts += ["", f"Chain position: record #{r.seq} of {last_seq} in the journal; hash {r.hash}, "
                  f"previous {r.prev_hash}. Check the chain with `closeout journal verify`."]
    return "\n".join(parts) + "\n"
