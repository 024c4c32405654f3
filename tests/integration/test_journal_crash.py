"""The journal survives a killed process, and a tampered journal is caught by the CLI.

The crash test runs the real desk and both real sessions against the simulator in a child
process (``python -m tests.integration.test_journal_crash JOURNAL``). The child sends several
closes, most of them resting limits or a trigger (open closes at the venue), and prints one
``ACKED`` line per close once the venue has acknowledged it. Then it floods the desk with venue
events and prints a ``SHOWN`` line for each one a listener (the window) hears, so the journal's
writer is busy, with records queued, when the parent kills the child with SIGKILL, mid-flight,
with the closes still open. The parent reads the journal it left: everything that was
acknowledged or shown is in it; what was only queued may be lost, never half-written.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from core.journal import Journal
from core.model import ConnectionEvent, ConnectionState
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX

REPO = Path(__file__).resolve().parents[2]
QFEX_SYMBOL = "AAPL-USD"
ES_PAIR = "USD_ETH_PERP"
# A venue reply that acknowledges a close (the order is working, or it filled).
ACK_STATUSES = {"ACK", "TRIGGER_ACK", "PARTIAL", "FILLED"}
FLOOD = "crash test flood"
SHOWN_BEFORE_KILL = 300  # flood events the parent sees shown before it kills the child


# ---------------------------------------------------------------------- the child process


async def _child(journal_path: str) -> None:
    from core.desk import Desk, IntentState
    from core.model import (
        CloseRequest,
        Environment,
        PositionKey,
        PositionSide,
        TimeInForce,
        Trigger,
        TriggerEvent,
    )
    from core.sim import Simulator
    from core.venue import AccountConfig, Credentials
    from tests.helpers.polling import market_data, until

    sim = Simulator(seed=5, tick_interval=None, demo=False)
    sim.start()
    q_pub, q_sec = sim.add_account("qfex", "crash-q",
                                   [(QFEX_SYMBOL, Decimal(40), Decimal(220))])
    e_pub, e_sec = sim.add_account("everstrike", "crash-e",
                                   [(ES_PAIR, Decimal("-3.5"), Decimal(4400))])
    q, e = sim.info.qfex, sim.info.everstrike
    accounts = [
        (AccountConfig("crash-q", QFEX, Environment.DEMO, q_pub,
                       {"trade_ws": q.trade_ws, "mds_ws": q.mds_ws, "rest": q.rest}),
         Credentials(q_pub, q_sec)),
        (AccountConfig("crash-e", EVERSTRIKE, Environment.DEMO, e_pub,
                       {"rest": e.rest, "ws": e.ws}),
         Credentials(e_pub, e_sec)),
    ]
    journal = Journal(journal_path, operator="crash-test", operator_name="Desk 7")
    desk = Desk(journal=journal)
    if failed := await desk.start(accounts):
        raise SystemExit(f"could not connect {failed}")
    qk = PositionKey("crash-q", QFEX, QFEX_SYMBOL)
    ek = PositionKey("crash-e", EVERSTRIKE, ES_PAIR)
    await until(lambda: qk in desk.positions and ek in desk.positions, 20, "positions")
    await market_data(desk, timeout=20)  # the trigger close needs QFEX's mark

    closes = [
        CloseRequest(qk, PositionSide.LONG, Decimal(40), quantity=Decimal(5),
                     limit_price=Decimal("300.05"), time_in_force=TimeInForce.GTC,
                     reason="crash test: resting limit 1"),
        CloseRequest(qk, PositionSide.LONG, Decimal(40), quantity=Decimal(5),
                     limit_price=Decimal("310.10"), time_in_force=TimeInForce.GTC,
                     reason="crash test: resting limit 2"),
        CloseRequest(qk, PositionSide.LONG, Decimal(40), quantity=Decimal(5),
                     trigger=Trigger(Decimal("320"), TriggerEvent.MARK),
                     reason="crash test: trigger"),
        CloseRequest(ek, PositionSide.SHORT, Decimal("3.5"), quantity=Decimal(1),
                     limit_price=Decimal(3000), reason="crash test: resting limit 3"),
        CloseRequest(qk, PositionSide.LONG, Decimal(40), quantity=Decimal(1),
                     reason="crash test: market"),
    ]
    for request in closes:
        intent = await desk.close(request, allow_concurrent=True)
        await intent.settled(timeout=20)
        if intent.state in (IntentState.REJECTED, IntentState.UNKNOWN, IntentState.CANCELLED):
            raise SystemExit(f"close {request.reason} ended {intent.state}: {intent.message}")
        # settled() returns only once the records that settled the intent are durable, so
        # this line is printed only once the ACK is in the journal.
        print(f"ACKED {intent.id} {request.client_order_id} {intent.state.name}", flush=True)
    print("READY", flush=True)

    def shown(event: object) -> None:  # what the window would show, as it is shown
        if isinstance(event, ConnectionEvent) and event.message.startswith(FLOOD):
            print(f"SHOWN {event.message.removeprefix(FLOOD).strip()}", flush=True)

    desk.subscribe(shown)
    sink = desk.session("crash-q").sink
    n = 0
    while True:  # venue events keep coming, with the open closes held, until killed
        for _ in range(50):
            n += 1
            # Journaled and shown one by one (protocol errors would be summed up).
            sink(ConnectionEvent(QFEX, "crash-q", ConnectionState.CONNECTED, f"{FLOOD} {n}"))
        await asyncio.sleep(0)


# ---------------------------------------------------------------------- the parent


def _start_reader(proc: subprocess.Popen[str]) -> tuple[queue.Queue[str], threading.Thread]:
    """The child's stdout lines, handed over a queue by a thread ("" at the end): select()
    on a buffered pipe would miss lines already pulled into the buffer."""
    assert proc.stdout is not None
    stdout = proc.stdout
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stdout:
            lines.put(line)
        lines.put("")

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return lines, thread


def _lines_until(
    done: str | int, lines_q: queue.Queue[str], proc: subprocess.Popen[str], deadline: float,
    stderr: Path,
) -> list[str]:
    """The lines before ``done`` (a line, or a count of lines). The deadline only turns a
    hang into a failure."""
    lines: list[str] = []
    while True:
        try:
            line = lines_q.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"the child stalled after {lines[-5:]}\n"
                                 f"{stderr.read_text()}") from None
        if not line:
            raise AssertionError(f"the child exited ({proc.wait()}) after {lines[-5:]}:\n"
                                 f"{stderr.read_text()}")
        if line.strip() == done:
            return lines
        lines.append(line.strip())
        if len(lines) == done:
            return lines


@pytest.mark.timeout(120)
def test_a_killed_process_loses_no_acknowledged_close(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    errors = tmp_path / "child-stderr.txt"
    with errors.open("w") as err:  # a file, so a chatty child can never block on a full pipe
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.test_journal_crash", str(path)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=err, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    lines_q, reader_thread = _start_reader(proc)
    try:
        lines = _lines_until("READY", lines_q, proc, time.monotonic() + 90, errors)
        shown = _lines_until(SHOWN_BEFORE_KILL, lines_q, proc, time.monotonic() + 60, errors)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader_thread.join(timeout=30)  # the pipe is at its end once the child is gone
        assert proc.stdout is not None
        proc.stdout.close()
    stderr = errors.read_text()
    while not lines_q.empty():  # the rest of what the child showed before it was killed
        if line := lines_q.get_nowait().strip():
            shown.append(line)

    acked = [line.split() for line in lines]
    assert len(acked) == 5, (lines, stderr)
    assert all(word == "ACKED" for word, *_ in acked)
    assert sum(state == "RESTING" for *_, state in acked) == 4  # open closes when killed
    assert (path.parent / f"{path.name}-wal").exists()  # killed: never checkpointed or closed

    reader = Journal(path, read_only=True)
    report = reader.verify_chain()
    assert report.ok, report
    records = list(reader.iter_all())
    assert len(records) == report.records
    for _, intent_id, client_order_id, _ in acked:
        mine = [r for r in records if r.intent_id == intent_id]
        kinds = [r.kind for r in mine]
        assert kinds[:2] == ["intent", "request"], kinds
        assert json.loads(mine[0].payload)["client_order_id"] == client_order_id
        # The exact (redacted) request: QFEX's frame carries our id, Everstrike's form none.
        request = mine[1].payload
        assert (client_order_id in request if mine[1].venue == "qfex"
                else request.startswith("POST /auth/close\n")), request
        replies = [json.loads(r.payload) for r in mine if r.kind == "order_update"]
        assert any(p["status"] in ACK_STATUSES for p in replies), replies
        assert all(r.operator == "crash-test (Desk 7)" for r in mine)
        assert mine[0].reason is not None and mine[0].reason.startswith("crash test")
        # The ACK is the first reply, so it carries the send-to-first-reply latency.
        assert next(r for r in mine if r.kind == "order_update").latency_ms is not None
    # Every event shown before the kill is in the journal, in the order it was shown.
    flood = [json.loads(r.payload)["message"].removeprefix(FLOOD).strip() for r in records
             if r.kind == "connection" and FLOOD in r.payload]
    shown_numbers = [line.removeprefix("SHOWN ") for line in shown]
    assert len(shown_numbers) >= SHOWN_BEFORE_KILL
    assert all(line.startswith("SHOWN ") for line in shown), shown[-3:]
    assert flood[:len(shown_numbers)] == shown_numbers
    assert flood == [str(i) for i in range(1, len(flood) + 1)]  # a prefix, with no gap
    reader.close()

    # The app starts again: the chain continues from the last record the killed run wrote.
    again = Journal(path, operator="crash-test")
    seq = again.append_durable("connection", {"state": "CONNECTING"})
    assert seq == records[-1].seq + 1
    assert again.records(after=seq - 1)[0].prev_hash == records[-1].hash
    assert again.verify() is None
    again.close()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli.main", "journal", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)


def test_tampering_is_named_by_closeout_journal_verify(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    j = Journal(path, operator="ops")
    for i in range(6):
        j.append("order_update", {"status": "ACK", "n": i}, account="acc", symbol="S")
    j.close()
    ok = _cli("verify", "--path", str(path))
    assert (ok.returncode, ok.stdout) == (0, "ok: 6 records, chain intact\n"), ok.stderr

    # Someone with the file rewrites a venue reply: the triggers are dropped first, since they
    # refuse any UPDATE.
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER records_no_update")
    db.execute("""UPDATE records SET payload='{"status":"REJECTED","n":4}' WHERE seq=5""")
    db.commit()
    db.close()
    broken = _cli("verify", "--path", str(path))
    assert broken.returncode == 1, broken.stderr
    assert broken.stdout.startswith("broken at record 5: hash mismatch"), broken.stdout


if __name__ == "__main__":
    asyncio.run(_child(sys.argv[1]))
