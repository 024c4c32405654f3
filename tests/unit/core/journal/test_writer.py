"""The writer thread: group commit, acknowledgements, order, draining, back-pressure, failure.

The writer is paused and counted through its ``before_commit`` hook (tests.helpers.journal.Gate),
never timed.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from core.journal import Backlog, Journal, JournalEntry, JournalError
from core.journal.checkpoint import Checkpointer
from tests.helpers.journal import Gate


def payloads(j: Journal, key: str = "i") -> list[object]:
    return [json.loads(r.payload)[key] for r in j.records(limit=100_000)]


def test_group_commit_writes_what_queued_meanwhile_in_one_transaction(tmp_path: Path) -> None:
    gate = Gate(opened=False)
    j = Journal(tmp_path / "j.sqlite3", operator="op", before_commit=gate)
    acks: list[tuple[int, BaseException | None]] = []
    j.on_durable(lambda ticket, error: acks.append((ticket, error)))
    assert j.append("a", {"i": 0}) == 1
    gate.wait_arrivals(1)  # the writer holds record 1 in an open transaction
    tickets = [j.append("a", {"i": i}) for i in range(1, 100)]
    assert tickets == list(range(2, 101))
    assert (j.durable, j.backlog.records) == (0, 100)
    assert j.records() == []  # nothing is shown as written before it is
    gate.open()
    j.flush()
    assert gate.batches == [1, 99]  # one transaction for everything that queued meanwhile
    assert j.transactions == 2
    assert acks == [(1, None), (100, None)]  # once per batch, in order
    assert payloads(j) == list(range(100))
    assert j.backlog == Backlog(0, 0.0)
    assert j.verify() is None
    j.close()


@pytest.mark.asyncio
async def test_records_keep_the_order_of_the_append_calls(tmp_path: Path) -> None:
    """Tasks on the loop and a thread beside them append at once: the file holds the records
    in the order the calls were made (their tickets), whatever the batches were."""
    j = Journal(tmp_path / "j.sqlite3", linger=0.0005)
    ticket_of: dict[str, int] = {}

    async def task(name: str) -> None:
        for i in range(300):
            tag = f"{name}{i}"
            ticket_of[tag] = j.append("x", {"tag": tag})
            if i % 7 == 0:
                await asyncio.sleep(0)

    def thread() -> None:
        for i in range(300):
            tag = f"t{i}"
            ticket_of[tag] = j.append("x", {"tag": tag})

    side = threading.Thread(target=thread)
    side.start()
    await asyncio.gather(*(task(name) for name in "abc"))
    await asyncio.to_thread(side.join)
    await asyncio.to_thread(j.flush)
    tags = payloads(j, "tag")
    assert len(tags) == 1200
    assert [ticket_of[t] for t in tags] == list(range(1, 1201))
    assert j.verify() is None
    j.close()


def test_flush_waits_for_everything_queued_and_close_drains(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    gate = Gate(opened=False)
    j = Journal(path, before_commit=gate)
    for i in range(50):
        j.append("a", {"i": i})
    gate.wait_arrivals(1)
    with pytest.raises(TimeoutError, match="did not write"):
        j.flush(timeout=0.05)  # paused: flush does not return while records wait
    gate.open()
    j.flush()
    assert j.durable == 50 and len(j.records()) == 50
    for i in range(50, 80):
        j.append("a", {"i": i})
    j.close()  # drains: nothing queued is lost
    with pytest.raises(JournalError, match="closed"):
        j.append("late", {})
    reader = Journal(path, read_only=True)
    assert payloads(reader) == list(range(80))
    assert reader.verify() is None
    reader.close()


def test_a_journal_nobody_closed_is_still_written(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    j = Journal(path)
    for i in range(10):
        j.append("a", {"i": i})
    del j
    gc.collect()
    reader = Journal(path, read_only=True)
    assert payloads(reader) == list(range(10))
    reader.close()


@pytest.mark.allow_error_logs
def test_a_write_error_surfaces_and_the_journal_refuses_further_writes(
    tmp_path: Path, fail_on_error_logs: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "j.sqlite3"
    gate = Gate()
    j = Journal(path, before_commit=gate)
    j.append_durable("kept", {})
    heard: list[tuple[int, BaseException | None]] = []
    j.on_durable(lambda ticket, error: heard.append((ticket, error)))
    gate.fail_with = sqlite3.OperationalError("database or disk is full")
    j.append("lost", {})
    with pytest.raises(JournalError, match="disk is full") as info:
        j.flush()
    assert isinstance(info.value.__cause__, sqlite3.OperationalError)
    assert heard and heard[-1][0] == 1 and isinstance(heard[-1][1], sqlite3.OperationalError)
    failure = j.failure()
    assert failure is not None and "nothing more is recorded" in str(failure)
    with pytest.raises(JournalError, match="stopped writing"):
        j.append("refused", {})  # loudly, at the caller
    j.close()  # closing a stopped journal does not raise
    reader = Journal(path, read_only=True)
    assert [r.kind for r in reader.iter_all()] == ["kept"]  # rolled back whole
    assert reader.verify() is None
    reader.close()
    assert any("could not write" in r.getMessage() for r in fail_on_error_logs.records)
    fail_on_error_logs.records.clear()


def test_two_journals_on_one_file_extend_one_chain_at_once(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    first, second = Journal(path, operator="one"), Journal(path, operator="two")

    def write(j: Journal) -> None:
        for i in range(300):
            j.append("x", {"i": i})
        j.flush()

    threads = [threading.Thread(target=write, args=(j,)) for j in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = first.records(limit=1000)
    assert [r.seq for r in records] == list(range(1, 601))
    for operator in ("one", "two"):
        mine = [json.loads(r.payload)["i"] for r in records if r.operator == operator]
        assert mine == list(range(300))
    assert first.verify() is None
    first.close()
    second.close()


def test_reads_do_not_wait_for_a_transaction_being_written(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    gate = Gate()
    j = Journal(path, before_commit=gate)
    j.append_durable("a", {})
    gate.close()
    j.append("b", {})
    gate.wait_arrivals(2)  # the writer is inside its transaction, holding the write lock
    assert [r.kind for r in j.records()] == ["a"]
    assert j.count() == 1 and j.last_seq() == 1
    assert j.query()[0].kind == "a"
    gate.open()
    j.flush()
    assert j.last_seq() == 2
    j.close()


@pytest.mark.parametrize(
    ("column", "value", "error"),
    [
        ("account", b"bytes", TypeError),
        ("latency_ms", True, TypeError),  # stored as 1, it would fail its own hash
        ("latency_ms", 2**64, OverflowError),
        ("symbol", "\ud800", UnicodeEncodeError),
        ("kind", None, TypeError),
    ],
)
def test_append_refuses_at_once_what_the_writer_could_not_store(
    tmp_path: Path, column: str, value: object, error: type[Exception]
) -> None:
    j = Journal(tmp_path / "j.sqlite3")
    fields: dict[str, object] = {"kind": "x", "payload": {}}
    fields[column] = value
    with pytest.raises(error):
        j.append(**fields)  # type: ignore[arg-type]
    with pytest.raises(UnicodeEncodeError):
        j.append("x", "text \ud800")
    assert j.append_durable("fine", {}) == 1  # the journal goes on
    assert j.failure() is None and j.verify() is None
    j.close()


def test_backlog_counts_and_ages_what_waits(tmp_path: Path) -> None:
    gate = Gate(opened=False)
    j = Journal(tmp_path / "j.sqlite3", before_commit=gate)
    assert j.backlog == Backlog(0, 0.0)
    for i in range(5):
        j.append("a", {"i": i})
    gate.wait_arrivals(1)
    first = j.backlog
    assert first.records == 5 and first.oldest_s >= 0
    assert j.backlog.oldest_s >= first.oldest_s  # the oldest keeps ageing while it waits
    gate.open()
    j.flush()
    assert j.backlog == Backlog(0, 0.0)
    j.close()


def test_a_read_only_journal_has_no_writer(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    Journal(path).close()
    reader = Journal(path, read_only=True)
    with pytest.raises(JournalError, match="read-only"):
        reader.append("a", {})
    reader.flush()  # nothing to wait for
    assert (reader.durable, reader.backlog, reader.failure()) == (0, Backlog(0, 0.0), None)
    reader.close()


def test_the_checkpointer_copies_the_wal_back_when_told(tmp_path: Path) -> None:
    """Commits leave the WAL alone (a checkpoint took milliseconds out of a click); the
    checkpointer copies it back on its own thread once told something was written."""
    path = tmp_path / "j.sqlite3"
    j = Journal(path)
    j.append_many(JournalEntry("x", {"i": i}) for i in range(3000))
    probe = sqlite3.connect(path)
    checkpointer = Checkpointer(path, interval=0.0)
    checkpointer.written()
    deadline = time.monotonic() + 10
    while checkpointer.checkpoints == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert checkpointer.checkpoints >= 1
    busy, frames, copied = probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert (busy, frames) != (0, -1) and copied == frames  # nothing was left to copy
    checkpointer.close()
    probe.close()
    j.close()


def _stream_into_wal(path: Path, restart_frames: int | None) -> tuple[int, int]:
    """Commit 300 small transactions one after another beside a checkpointer (None: none),
    as a storm of updates does; return (the WAL's size in pages at the end, checkpoints that
    restarted it)."""
    j = Journal(path)  # the schema, and a writer connection of its own below
    j.close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("CREATE TABLE t (i INTEGER PRIMARY KEY, pad TEXT)")
    db.execute("CREATE INDEX t_pad ON t (pad)")
    checkpointer = None if restart_frames is None else \
        Checkpointer(path, interval=0.005, restart_frames=restart_frames)
    for i in range(300):
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO t (pad) VALUES (?)", [(f"{i}-{n}" * 40,) for n in range(8)])
        db.execute("COMMIT")
        if checkpointer is not None:
            checkpointer.written()
        time.sleep(0.0005)  # a writer that pauses about as the app's does between batches
    if checkpointer is not None:
        checkpointer.close()
    page = db.execute("PRAGMA page_size").fetchone()[0]
    pages = path.with_name(path.name + "-wal").stat().st_size // page  # gone once closed
    db.close()
    return pages, 0 if checkpointer is None else checkpointer.restarts


def test_the_wal_starts_again_under_a_steady_stream_instead_of_growing(tmp_path: Path) -> None:
    """A checkpoint that copies while the writer keeps committing never catches up with the
    WAL's end, and only then does SQLite start the WAL again: under a steady stream it grew
    without bound (5 GB in 90 s at 5,000 records/s). Past its limit the WAL starts again."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    written, _ = _stream_into_wal(tmp_path / "a" / "j.sqlite3", restart_frames=None)
    kept, restarts = _stream_into_wal(tmp_path / "b" / "j.sqlite3", restart_frames=64)
    assert written > 8 * 64  # the pages the stream wrote: a WAL that never starts again
    # Measured on 2 cores, idle and beside two busy loops: 113-315 pages; with PASSIVE
    # checkpoints alone 586-2,081.
    assert kept < written // 4, (kept, written, restarts)


def test_a_journal_under_a_steady_stream_keeps_every_record_while_its_wal_restarts(
        tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    j = Journal(path, wal_restart_frames=16)
    for batch in range(200):
        j.append_many(JournalEntry("x", {"i": batch, "n": n}) for n in range(5))
        j.flush()
        time.sleep(0.002)
    j.close()
    j = Journal(path, read_only=True)
    assert [json.loads(r.payload)["i"] for r in j.records(limit=10_000)] == \
        [b for b in range(200) for _ in range(5)]
    assert j.verify() is None
    j.close()


def test_a_producer_far_ahead_of_the_writer_waits_for_it_to_catch_up(tmp_path: Path) -> None:
    """Back-pressure: an append that finds more than ``max_backlog`` records waiting blocks
    until half of them are written, so a loop that never pauses cannot starve the writer."""
    gate = Gate(opened=False)
    j = Journal(tmp_path / "j.sqlite3", operator="op", before_commit=gate, max_backlog=10,
                throttle_wait=60)
    assert j.append("a", {"i": 0}) == 1
    gate.wait_arrivals(1)  # the writer holds record 1 in an open transaction
    assert [j.append("a", {"i": i}) for i in range(1, 10)] == list(range(2, 11))  # 10 waiting
    done: list[int] = []
    producer = threading.Thread(target=lambda: done.append(j.append("a", {"i": 10})))
    producer.start()
    producer.join(0.2)
    assert producer.is_alive() and done == []  # the 11th waits for the writer
    gate.open()
    producer.join(30)
    assert not producer.is_alive() and done == [11]
    assert j.durable >= 6  # it went on once half the backlog was written
    j.flush()
    assert payloads(j) == list(range(11))
    assert j.verify() is None
    j.close()


def test_a_writer_that_keeps_up_never_makes_an_append_wait(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3", operator="op", max_backlog=10)
    for i in range(30):
        j.append("a", {"i": i})
        j.flush()
    assert j._writer is not None and j._writer.throttled == 0
    j.close()
