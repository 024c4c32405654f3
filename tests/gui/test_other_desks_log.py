"""The other desks' closes, cancels and overrides reach this window's log, each line marked
with the desk and saying what that desk's journal says; the rest of their records do not."""

from __future__ import annotations

import json

import pytest
from PySide6.QtWidgets import QApplication

import gui.launch
from core.desk import Desk
from core.journal.records import JournalRecord
from core.model import PositionKey
from core.team.awareness import OtherRecords
from core.venues.qfex import QFEX
from gui.main_window import MainWindow
from gui.models.log import LogColumn
from gui.models.other_desks import other_desk_entries
from tests.helpers.windows import shut


def _record(seq: int, kind: str, payload: object, **kw: object) -> JournalRecord:
    fields = {"account": "client-7", "venue": "qfex", "symbol": "AAPL-USD", "reason": None,
              "intent_id": "i-9", "latency_ms": None}
    fields.update(kw)
    return JournalRecord(seq, 1_790_000_000.0 + seq, kind, fields["account"], fields["venue"],
                         fields["symbol"], "maria (Desk 3)", fields["reason"],
                         fields["intent_id"], json.dumps(payload), fields["latency_ms"],
                         "0" * 64, "1" * 64)


RECORDS = (
    _record(1, "intent", {"quantity": None, "position_quantity": "40", "limit_price": None}),
    _record(2, "request", {"op": "close_position"}),  # the wire request: not a line
    _record(3, "order_update", {"status": "FILLED"}),  # the venue's own: this desk has it
    _record(4, "intent_state", {"state": "Filled", "message": "Filled"}),
    _record(5, "verify_flat", {"flat": True, "position": None}),
    _record(6, "lease_override", {"reason": "incident 9", "locked": True,
                                  "took_from": {"desk_name": "Desk 1"}}),
    _record(7, "cancel_result", {"ok": False, "message": "unknown order"}),
    _record(8, "intent_state", "not json at all {"),
)


def test_each_shown_record_becomes_one_line_marked_with_the_desk() -> None:
    entries = other_desk_entries("Desk 3", RECORDS)
    assert [(e.kind, e.status) for e in entries] == [
        ("Desk 3", "CLOSING"), ("Desk 3", "FILLED"), ("Desk 3", "VERIFIED FLAT"),
        ("Desk 3", "OVERRIDE"), ("Desk 3", "CANCEL REFUSED"), ("Desk 3", "INTENT_STATE")]
    assert entries[0].message == "Desk 3 (maria (Desk 3)) sent a close of all"
    assert entries[3].message.endswith("overrode the lease from Desk 1: incident 9")
    assert entries[4].message == "Desk 3: unknown order"
    assert entries[5].message.endswith("intent_state (its details could not be read)")
    assert all(e.key == PositionKey("client-7", QFEX, "AAPL-USD") for e in entries)
    assert entries[1].tone == "good" and entries[4].tone == "warn"


def test_an_override_says_what_it_was_for_and_when_no_other_desk_held_the_lease() -> None:
    """A cancel-first sent anyway overrides once per cancel, then once for its close: the
    lines say which was which, and that the later ones took nobody's lease."""
    cancel, close = other_desk_entries("Desk 3", (
        _record(1, "lease_override", {"reason": "incident 9", "locked": True,
                                      "took_from": {"desk_name": "Desk 1"},
                                      "intent": "cancel:w-2"}),
        _record(2, "lease_override", {"reason": "incident 9", "locked": True,
                                      "took_from": None, "intent": "intent-7"})))
    assert cancel.message.endswith("overrode the lease from Desk 1 to cancel order w-2: "
                                   "incident 9")
    assert close.message.endswith("overrode the lease (no other desk held it): incident 9")


@pytest.mark.asyncio
async def test_the_window_log_shows_the_other_desks_lines(qapp: QApplication) -> None:
    window = MainWindow(Desk())
    try:
        gui.launch._log_other_desk(window, "Desk 3", OtherRecords("desk-3", RECORDS[:5]))
        window.log_model.flush()
        rows = [(window.log_model.index(r, LogColumn.KIND).data(),
                 window.log_model.index(r, LogColumn.STATUS).data())
                for r in range(window.log_model.rowCount())]
        assert [r for r in rows if r[0] == "Desk 3"] == [
            ("Desk 3", "CLOSING"), ("Desk 3", "FILLED"), ("Desk 3", "VERIFIED FLAT")]
    finally:
        await shut(window)
