"""A close's latency is its time on the wire, measured at the transport: from its request's write
returning to the first byte of the reply. What the app does meanwhile (here: the event loop
deliberately blocked, as a window busy painting blocks it) is not in the figure.

Real sessions against the simulator over loopback. The simulator holds every reply and push
back by a known delay (its ``latency`` knob, on its own thread, so the blocked loop does not
hold it up too) and says when it wrote each (``Faults.on_sent``). The test blocks the event
loop from before the reply is written until well after, and checks the figure against those
moments, never against a duration: a busy machine makes every span longer, not the checks
false.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from core.desk import CloseIntent
from core.model import CloseRequest, PositionKey, PositionSide
from core.venues.wire import received_ago
from tests.helpers.polling import until
from tests.integration.test_one_state_change_once import Rig, rig  # noqa: F401

D = Decimal
DELAY = 0.3  # the simulator's added delay on every reply: a lower bound for the wire
BLOCK = 1.0  # how long the loop stays blocked after the reply was written
JIFFY_MS = 10  # the kernel's "last received" age counts in scheduler ticks (1-10 ms)
ATTEMPTS = 3  # a run where the loop got to the reply before it was blocked proves nothing

pytestmark = pytest.mark.skipif(
    sys.platform != "linux",
    reason="the kernel's receive time (TCP_INFO) is read on Linux; elsewhere the figure "
    "starts after the write but ends when the loop reads the reply")


@dataclass
class Sent:
    """What the simulator wrote, on its own thread, with when (``time.monotonic``)."""

    log: list[tuple[float, str, str]] = field(default_factory=list)

    def __call__(self, channel: str, text: str) -> None:
        self.log.append((time.monotonic(), channel, text))

    def first(self, channel: str, needle: str) -> float | None:
        return next((t for t, c, text in list(self.log) if c == channel and needle in text),
                    None)

    def last(self, channel: str, before: float) -> float:
        return max(t for t, c, _ in list(self.log) if c == channel and t <= before)


@dataclass
class Run:
    started: float  # before the close was asked for
    reply_sent: float  # the simulator wrote the close's first reply
    unblocked: float  # the loop was given back
    intent: CloseIntent


def block_across(sent: Sent, reply: tuple[str, str]) -> tuple[float, float]:
    """Block the calling loop, on purpose, until the venue has written ``reply`` and BLOCK
    longer; return (when the reply was written, when the loop is given back)."""
    deadline = time.monotonic() + 30
    while (reply_sent := sent.first(*reply)) is None:
        assert time.monotonic() < deadline, "the venue never replied"
        time.sleep(0.005)
    time.sleep(BLOCK)
    return reply_sent, time.monotonic()


async def close_while_blocked(world: Rig, venue: str, request: CloseRequest, sent: Sent,
                              reply: tuple[str, str]) -> Run | None:
    """Send ``request`` with the venue slowed by DELAY; once the simulator has the request,
    block the loop until the venue has written its reply, and BLOCK longer (as a window busy
    painting would). None when the reply was out before the loop could be blocked."""
    before = len(world.sim.requests(venue, kind="close"))
    started = time.monotonic()
    task = asyncio.create_task(world.desk.close(request))
    await until(lambda: len(world.sim.requests(venue, kind="close")) > before or task.done(),
                what="the venue to have the close")
    reply_sent = unblocked = 0.0
    if sent.first(*reply) is None:  # not out yet: block the loop across it
        reply_sent, unblocked = block_across(sent, reply)
    intent = await task
    await intent.settled(timeout=10)
    return Run(started, reply_sent, unblocked, intent) if unblocked else None


@pytest.mark.parametrize("venue", ["qfex", "everstrike"])
@pytest.mark.asyncio
async def test_the_latency_is_the_wire_not_a_blocked_loop(rig: Rig, venue: str) -> None:  # noqa: F811
    key: PositionKey = rig.qfex if venue == "qfex" else rig.everstrike
    side = PositionSide.LONG if venue == "qfex" else PositionSide.SHORT
    simulated = rig.sim.qfex if venue == "qfex" else rig.sim.everstrike
    sent = Sent()
    simulated.faults.on_sent = sent
    simulated.faults.latency = DELAY
    if venue == "qfex":  # no 1 s position pulses on the trade socket while it is blocked
        simulated.settings.positions_interval = 3600.0
    run: Run | None = None
    try:
        for _ in range(ATTEMPTS):
            position = rig.desk.positions[key]
            request = CloseRequest(key, side, position.quantity, quantity=D(1))
            # QFEX: the first frame naming the close; Everstrike: the reply to POST /auth/close.
            reply = (("ws /", request.client_order_id) if venue == "qfex"
                     else ("http /auth/close", ""))
            run = await close_while_blocked(rig, venue, request, sent, reply)
            if run is not None:
                break
    finally:
        simulated.faults.latency = 0.0
        simulated.faults.on_sent = None
        if venue == "qfex":
            simulated.settings.positions_interval = 1.0
    assert run is not None, "the reply was out before the loop could be blocked, every time"
    intent = run.intent
    assert intent.first_reply_ms is not None and intent.wire_ms is not None
    assert intent.app_ms is not None
    wire_ms = intent.first_reply_ms
    # The desk's own span did include the block: the reply was read only after it.
    assert intent.wire_ms + intent.app_ms >= (run.unblocked - run.reply_sent) * 1000 - JIFFY_MS
    # The figure ends when the bytes reached the socket: no later than the last thing the
    # venue wrote on that connection before the loop was given back (less the kernel's
    # tick), not when the loop read them.
    last = sent.last(reply[0], run.unblocked)
    assert wire_ms <= (last - run.started) * 1000 + JIFFY_MS
    # And the reply really was on the wire at least the venue's delay.
    assert wire_ms >= DELAY * 1000 - JIFFY_MS
    # The journal records the same figure with the close's updates.
    await rig.desk.journaled()
    latencies = {r.latency_ms for r in rig.journal.records(limit=10_000)
                 if r.kind == "order_update" and r.intent_id == intent.id}
    assert latencies and all(ms == pytest.approx(wire_ms) for ms in latencies)


def test_the_kernel_says_how_long_ago_data_arrived() -> None:
    """The clock the figure ends on: a socket that received data DELAY ago says so."""
    with (socket.create_server(("127.0.0.1", 0)) as server,
          socket.create_connection(server.getsockname()) as client):
        peer, _ = server.accept()
        with peer:
            before_send = time.monotonic()
            peer.sendall(b"x")  # on loopback the bytes are in the client's socket on return
            sent = time.monotonic()
            time.sleep(DELAY)
            before_ask = time.monotonic()
            ago = received_ago(client)
            asked = time.monotonic()
    # Between the two spans the clocks allow, give or take the kernel's tick.
    jiffy = JIFFY_MS / 1000
    assert ago is not None and before_ask - sent - jiffy <= ago <= asked - before_send + jiffy
    assert received_ago(object()) is None  # not a socket: nothing to say
