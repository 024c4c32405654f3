"""Journal writer: what a record costs the event loop, how fast the writer thread writes, and
what waiting for a close's request record adds before it goes to the wire.

Targets (DESIGN.md): at most 20 µs of event-loop CPU per record; at least 50,000 records/s
sustained by the writer (a file on disk, WAL, synchronous=NORMAL); the app adds < 1 ms at p50
and < 5 ms at p99 from a click to the wire, of which the wait for the request record is this
part.

* old path: the journal as it was, one synchronous transaction per record on the caller's
  thread (to_jsonable, json.dumps, SHA-256, the inserts), rebuilt here so both run on the same
  machine in the same process, interleaved with the new one;
* loop CPU: ``time.thread_time`` on the event-loop thread over appends of a desk order-update
  payload through the desk's outbox (one record and one event each, acknowledgements handled
  on the loop as the desk handles them), the writer running beside it;
* writer: records queued while the writer is held, then released: records/s until all are
  durable; and streaming, the loop appending as fast as it can while the writer keeps up;
* close wait: ``intent`` + ``request`` appended, then awaited durable, with an idle writer and
  with 5,000 order updates/s being journaled alongside.

    python -m bench.journal_writer [--tiny]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.report import Metric, Report, distribution, load_average
from core.desk.desk import _update_payload
from core.desk.outbox import Outbox
from core.journal import Journal, JournalEntry, to_jsonable
from core.journal.store import open_writer
from core.model import OrderSide, OrderStatus, OrderUpdate
from core.venues.qfex import QFEX

TITLE = "Journal writer: event-loop CPU per record, writer throughput, close wait"

LOOP_CPU_TARGET_US = 20.0
WRITER_TARGET_PER_S = 50_000.0
WAIT_P50_TARGET_MS, WAIT_P99_TARGET_MS = 1.0, 5.0
FIELDS = {"account": "acct-1", "venue": "qfex", "symbol": "AAPL-USD", "intent_id": "intent-1",
          "reason": "desk call", "latency_ms": 3.25}


def order_update(i: int) -> dict[str, Any]:
    """What the desk journals for one order update."""
    return _update_payload(OrderUpdate(
        QFEX, "acct-1", "AAPL-USD", OrderStatus.PARTIAL, "PARTIALLY_FILLED", False,
        order_id=f"o-{i}", client_order_id=f"co-{i:016x}", side=OrderSide.SELL,
        order_type="LIMIT", time_in_force="GTC", quantity=Decimal("10"),
        remaining=Decimal("2.50"), filled=Decimal("7.50"), price=Decimal("220.15"),
        message="partly filled", venue_time=1_780_000_000.123))


@contextlib.contextmanager
def _tmp() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="closeout-bench-") as d:
        yield Path(d)


# ---------------------------------------------------------------------- the old path


def _old_append(db: sqlite3.Connection, payload: dict[str, Any]) -> None:
    """One record as the synchronous journal wrote it, on the caller's thread."""
    text = json.dumps(to_jsonable(payload), separators=(",", ":"), ensure_ascii=False)
    db.execute("BEGIN IMMEDIATE")
    head = db.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (int(head[0]), str(head[1])) if head else (0, "0" * 64)
    fields = (seq + 1, time.time(), "order_update", FIELDS["account"], FIELDS["venue"],
              FIELDS["symbol"], "bench", FIELDS["reason"], FIELDS["intent_id"], text,
              FIELDS["latency_ms"])
    material = json.dumps([prev, *fields], separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(material.encode()).hexdigest()
    db.executemany("INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   [(*fields, prev, digest)])
    db.execute("COMMIT")


def old_path(n: int) -> tuple[float, float]:
    """(CPU µs per record on the caller's thread, records/s) of the synchronous journal."""
    with _tmp() as d:
        db = open_writer(d / "old.sqlite3")
        payloads = [order_update(i) for i in range(n)]
        wall, cpu = time.perf_counter(), time.thread_time()
        for p in payloads:
            _old_append(db, p)
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        db.close()
    return cpu / n * 1e6, n / wall


# ---------------------------------------------------------------------- the new path


async def loop_cpu(n: int, burst: int = 100) -> tuple[float, float, int]:
    """(loop CPU µs per record, records/s until durable, transactions) for ``n`` order
    updates appended through the desk's outbox on this loop."""
    with _tmp() as d:
        journal = Journal(d / "new.sqlite3", operator="bench")
        delivered = 0

        def deliver(_: object) -> None:
            nonlocal delivered
            delivered += 1

        outbox: Outbox[object] = Outbox(journal, deliver)
        payloads = [order_update(i) for i in range(n)]
        event = object()
        wall, cpu = time.perf_counter(), time.thread_time()
        for i, p in enumerate(payloads):
            outbox.record("order_update", p, **FIELDS)
            outbox.emit(event)
            if i % burst == burst - 1:
                await asyncio.sleep(0)  # the loop runs other work (and the acks) in between
        await outbox.durable()
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        assert delivered == n, (delivered, n)
        transactions = journal.transactions
        journal.close()
    return cpu / n * 1e6, n / wall, transactions


def _history(n: int) -> Iterator[JournalEntry]:
    """A desk's mix: 12 accounts, 40 symbols, the usual kinds."""
    kinds = ["order_update", "order_update", "fill", "intent", "request", "intent_state"]
    for i in range(n):
        yield JournalEntry(kinds[i % 6], order_update(i), account=f"client-{i % 12:02d}",
                           venue="qfex", symbol=f"SYM{(i * 7) % 40:02d}-USD",
                           intent_id=f"intent-{i // 5:08x}", latency_ms=1.5)


def writer_rate(n: int, prefill: int = 0) -> tuple[float, float | None, int]:
    """(records/s, records per CPU-second of the writer thread, transactions) for ``n``
    records queued while the writer was held, into a journal already holding ``prefill``:
    what the writer sustains with work always waiting. The second figure is what it sustains
    with a core to itself; the first depends on what else the machine runs. A bigger journal
    costs more per record: each record goes into six indexes (the History view's filters)."""
    held, release = threading.Event(), threading.Event()

    def gate(_: int) -> None:
        if not held.is_set():
            held.set()
            release.wait()

    with _tmp() as d:
        if prefill:
            with contextlib.closing(Journal(d / "new.sqlite3", operator="bench")) as bulk:
                bulk.append_many(_history(prefill))
        journal = Journal(d / "new.sqlite3", operator="bench", before_commit=gate)
        journal.append("order_update", order_update(0), **FIELDS)
        held.wait()
        for i in range(1, n):
            journal.append("order_update", order_update(i), **FIELDS)
        cpu_start = journal.writer_cpu_time()
        start = time.perf_counter()
        release.set()
        journal.flush()
        elapsed = time.perf_counter() - start
        cpu_end = journal.writer_cpu_time()
        transactions = journal.transactions
        journal.close()
    per_cpu = None if cpu_start is None or cpu_end is None else n / (cpu_end - cpu_start)
    return n / elapsed, per_cpu, transactions


async def close_wait(samples: int, *, busy: bool) -> list[float]:
    """Milliseconds from appending a close's ``intent`` and ``request`` until they are durable
    (the wait before the wire), idle or beside 5,000 order updates/s."""
    out: list[float] = []
    with _tmp() as d:
        journal = Journal(d / "new.sqlite3", operator="bench")
        outbox: Outbox[object] = Outbox(journal, lambda _: None)
        stop = asyncio.Event()

        async def updates() -> None:  # 5,000/s: 10 every 2 ms
            i = 0
            while not stop.is_set():
                for _ in range(10):
                    outbox.record("order_update", order_update(i), **FIELDS)
                    i += 1
                await asyncio.sleep(0.002)

        background = asyncio.ensure_future(updates()) if busy else None
        try:
            for i in range(samples):
                await asyncio.sleep(0.005 if not busy else 0.003)  # idle: past the linger
                started = time.perf_counter()
                outbox.record("intent", {"client_order_id": f"c-{i}", "quantity": Decimal(1)},
                              **FIELDS)
                outbox.record("request", '{"type":"add_order","params":{}}', **FIELDS)
                await outbox.durable()
                out.append((time.perf_counter() - started) * 1000)
        finally:
            stop.set()
            if background is not None:
                await background
            journal.close()
    return out


# ---------------------------------------------------------------------- the report


def run(*, tiny: bool) -> Report:
    n_old, n_loop, n_writer, n_wait, n_big = (200, 500, 2_000, 20, 2_000) if tiny else \
        (5_000, 50_000, 50_000, 400, 300_000)
    report = Report(TITLE, tiny=tiny)
    old_cpu, old_rate = old_path(n_old)
    new_cpu, new_rate, loop_tx = asyncio.run(loop_cpu(n_loop))
    old_cpu_2, _ = old_path(n_old)  # interleaved: old, new, old
    rate, per_cpu, writer_tx = writer_rate(n_writer)
    big_rate, big_per_cpu, _ = writer_rate(n_writer, prefill=n_big)
    idle = asyncio.run(close_wait(n_wait, busy=False))
    busy = asyncio.run(close_wait(n_wait, busy=True))
    report.load_average = load_average()
    old_mean = (old_cpu + old_cpu_2) / 2
    report.add(Metric("old path: caller CPU per record (synchronous, one commit each)",
                      old_mean, "µs"))
    report.add(Metric("old path: records/s on the caller's thread", old_rate, "records/s"))
    report.add(Metric("event-loop CPU per record (append + event + acks)", new_cpu, "µs",
                      f"<= {LOOP_CPU_TARGET_US:g} µs", new_cpu <= LOOP_CPU_TARGET_US))
    report.add(Metric("streaming: records/s appended and durable", new_rate, "records/s"))
    report.add(Metric("streaming: records per transaction", n_loop / max(1, loop_tx),
                      "records"))
    report.add(Metric("writer: records/s sustained (queue never empty)", rate, "records/s",
                      f">= {WRITER_TARGET_PER_S:,.0f} records/s", rate >= WRITER_TARGET_PER_S))
    report.add(Metric("writer: records per CPU-second of its thread (a core to itself)",
                      per_cpu, "records/s", f">= {WRITER_TARGET_PER_S:,.0f} records/s",
                      None if per_cpu is None else per_cpu >= WRITER_TARGET_PER_S))
    report.add(Metric("writer: records per transaction", n_writer / max(1, writer_tx),
                      "records"))
    report.add(Metric(f"writer, into a journal of {n_big:,} records: records/s", big_rate,
                      "records/s"))
    report.add(Metric(f"writer, into a journal of {n_big:,} records: records per CPU-second",
                      big_per_cpu, "records/s", f">= {WRITER_TARGET_PER_S:,.0f} records/s",
                      None if big_per_cpu is None else big_per_cpu >= WRITER_TARGET_PER_S))
    for name, xs in (("idle writer", idle), ("5,000 updates/s", busy)):
        spread = distribution(xs)
        report.add(Metric(f"close wait for the request record, {name} (p50)", spread.p50,
                          "ms", f"p50 < {WAIT_P50_TARGET_MS:g} ms, p99 < {WAIT_P99_TARGET_MS:g} "
                          "ms", spread.p50 < WAIT_P50_TARGET_MS
                          and spread.p99 < WAIT_P99_TARGET_MS, spread))
    report.notes.append(f"event-loop CPU per record: {old_mean:.1f} µs before, {new_cpu:.1f} µs "
                        f"after ({old_mean / new_cpu:.0f}x less)")
    report.notes.append("timings from a shared machine: compare A and B of the same run only")
    return report


def print_report(report: Report) -> None:
    print(f"== {report.title}{' (tiny)' if report.tiny else ''}")
    for m in report.metrics:
        value = "—" if m.value is None else f"{m.value:,.2f}"
        target = "" if m.target is None else f"  target {m.target}: " + (
            "met" if m.met else "MISSED")
        spread = "" if m.spread is None else (
            f"  (n={m.spread.n} p50={m.spread.p50:.3f} p99={m.spread.p99:.3f} "
            f"max={m.spread.max:.3f})")
        print(f"  {m.name}: {value} {m.unit}{target}{spread}")
    for note in report.notes:
        print(f"  note: {note}")
    print(f"  load average: {report.load_average}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tiny", action="store_true")
    print_report(run(tiny=parser.parse_args().tiny))
