"""A close's latency is its time on the wire, measured at the transport: from its request's write
returning to the first byte of the reply. What the app does meanwhile (here: the event loop
deliberately blocked, as a window busy painting blocks it) is not in the figure.

Real sessions against the simulator over loopback. The simulator holds every reply and push
back by a known delay (its ``latency`` knob, on its own thread, so the blocked loop does not
hold it up too); the test blocks the event loop while that reply is on its way.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from decimal import Decimal

import pytest

from core.desk import Desk
from core.model import CloseRequest, PositionKey, PositionSide
from core.sim import Simulator
from core.venues.wire import received_ago
from tests.integration.test_one_state_change_once import Rig, rig  # noqa: F401

D = Decimal
DELAY = 0.3  # the simulator's added delay on every reply: a lower bound for the wire
BLOCK = 1.0  # how long the loop is blocked while the reply is on the wire
JIFFY_MS = 10  # the kernel's "last received" age counts in scheduler ticks (1-10 ms)

pytestmark = pytest.mark.skipif(
    sys.platform != "linux",
    reason="the kernel's receive time (TCP_INFO) is read on Linux; elsewhere the figure "
    "starts after the write but ends when the loop reads the reply")


async def close_while_blocked(desk: Desk, sim: Simulator, venue: str,
                              request: CloseRequest) -> float:
    """Send ``request`` with the venue slowed by DELAY, block the loop for BLOCK while its
    reply is on the way; return the close's latency as the desk recorded it."""
    faults = sim.qfex.faults if venue == "qfex" else sim.everstrike.faults
    faults.latency = DELAY
    loop = asyncio.get_running_loop()
    blocked = loop.call_later(0.1, time.sleep, BLOCK)  # the window "painting", say
    try:
        intent = await desk.close(request)
        await intent.settled(timeout=10)
    finally:
        blocked.cancel()
        faults.latency = 0.0
    assert intent.first_reply_ms is not None and intent.wire_ms is not None
    assert intent.app_ms is not None
    # The desk's own figure did include the block: the test blocked what it meant to.
    assert intent.wire_ms + intent.app_ms >= BLOCK * 1000 * 0.8
    return intent.first_reply_ms


@pytest.mark.parametrize("venue", ["qfex", "everstrike"])
@pytest.mark.asyncio
async def test_the_latency_is_the_wire_not_a_blocked_loop(rig: Rig, venue: str) -> None:  # noqa: F811
    key: PositionKey = rig.qfex if venue == "qfex" else rig.everstrike
    side = PositionSide.LONG if venue == "qfex" else PositionSide.SHORT
    size = D(40) if venue == "qfex" else D("3.5")
    request = CloseRequest(key, side, size, quantity=D(1))
    wire_ms = await close_while_blocked(rig.desk, rig.sim, venue, request)
    # The reply really was on the wire that long (less the kernel clock's tick: it counts
    # whole jiffies), and the blocked loop is not in the figure.
    assert wire_ms >= DELAY * 1000 - JIFFY_MS
    assert wire_ms < (DELAY + BLOCK / 2) * 1000
    # The journal records the same figure with the close's updates.
    await rig.desk.journaled()
    latencies = {r.latency_ms for r in rig.journal.records(limit=10_000)
                 if r.kind == "order_update" and r.symbol == key.symbol}
    assert latencies and all(ms == pytest.approx(wire_ms) for ms in latencies)


def test_the_kernel_says_how_long_ago_data_arrived() -> None:
    """The clock the figure ends on: a socket that received data DELAY ago says so."""
    with (socket.create_server(("127.0.0.1", 0)) as server,
          socket.create_connection(server.getsockname()) as client):
        peer, _ = server.accept()
        with peer:
            peer.sendall(b"x")
            time.sleep(DELAY)
            ago = received_ago(client)
    assert ago is not None and DELAY - JIFFY_MS / 1000 <= ago < DELAY + BLOCK
    assert received_ago(object()) is None  # not a socket: nothing to say
