"""Close latency at the desk: what ``Desk.close`` adds between "send" and the frame reaching
QFEX, without the window (``click_to_wire`` measures from the dialog's click).

Target (DESIGN.md): the app adds under 1 ms at p50. Baseline: a bare ``websockets`` client
sending the same ``add_order`` frame on an authenticated QFEX connection. Both run against the
simulator on loopback (on a thread of this process, as the tests run it); the arrival time is
the simulator's own receipt stamp. The two alternate in blocks of 20 closes, after one
unmeasured close each. No journal here: the desk's own path only.

Budget: about 20 s (200 closes each side); tiny: 5.

    python -m bench.close_latency [-n 200]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import secrets
import time
from decimal import Decimal

import websockets
from websockets.asyncio.client import ClientConnection

from bench.report import Metric, Report, distribution, load_average
from core.desk import Desk
from core.model import CloseRequest, Environment, PositionKey, PositionSide
from core.sim import Simulator
from core.venue import AccountConfig, Credentials
from core.venues.qfex import QFEX

TITLE = "Close latency at the desk: Desk.close to the frame at QFEX, vs a bare websockets client"
SYMBOL = "AAPL-USD"
SIZE = Decimal(1_000_000)
TARGET_P50_MS = 1.0
BLOCK = 20


def _arrival(sim: Simulator, needle: str) -> float:
    for r in reversed(sim.qfex.received):
        if needle in r.body:
            return r.time
    raise LookupError(needle)


async def bare_connect(sim: Simulator, public: str, secret: str) -> ClientConnection:
    ws = await websockets.connect(f"{sim.info.qfex.trade_ws}?api_key={public}")
    nonce, ts = secrets.token_hex(16), int(time.time())
    sig = hmac.new(secret.encode(), f"{nonce}:{ts}".encode(), hashlib.sha256).hexdigest()
    await ws.send(json.dumps({"type": "auth", "params": {"hmac": {
        "public_key": public, "nonce": nonce, "unix_ts": ts, "signature": sig}}}))
    if json.loads(await ws.recv()) != {"authenticated": True}:
        raise RuntimeError("QFEX auth refused")
    await ws.send('{"type":"subscribe","params":{"channels":["order_responses"]}}')
    await ws.recv()
    return ws


async def baseline(sim: Simulator, ws: ClientConnection, n: int) -> list[float]:
    out: list[float] = []
    for i in range(n):
        cid = f"bare-{i}-{secrets.token_hex(4)}"
        frame = json.dumps({"type": "add_order", "params": {
            "symbol": SYMBOL, "side": "SELL", "order_type": "MARKET",
            "order_time_in_force": "IOC", "quantity": 1, "price": 0,
            "reduce_only": True, "client_order_id": cid}}, separators=(",", ":"))
        sent = time.time()
        await ws.send(frame)
        while True:  # wait for the final reply, as the app does, before the next send
            reply = json.loads(await ws.recv())
            resp = reply.get("order_response", {})
            if resp.get("client_order_id") == cid and resp.get("status") != "ACK":
                break
        out.append((_arrival(sim, cid) - sent) * 1000)
    return out


async def start_desk(sim: Simulator, public: str, secret: str) -> Desk:
    info = sim.info.qfex
    account = AccountConfig(
        name="bench", venue=QFEX, environment=Environment.DEMO, public_key=public,
        endpoints={"trade_ws": info.trade_ws, "mds_ws": info.mds_ws, "rest": info.rest},
    )
    desk = Desk()
    failed = await desk.start([(account, Credentials(public, secret))])
    if failed:
        raise RuntimeError(f"the desk did not connect: {failed}")
    return desk


async def app(sim: Simulator, desk: Desk, n: int) -> list[float]:
    key = PositionKey("bench", QFEX, SYMBOL)
    out: list[float] = []
    for _ in range(n):
        pos = desk.positions[key]
        request = CloseRequest(key, PositionSide.LONG, pos.quantity, quantity=Decimal(1))
        sent = time.time()
        intent = await desk.close(request)
        await intent.settled(timeout=5)
        # The next close may go as soon as this one is settled: one lot of a million is
        # always within the book's size, so the 1 s positions push need not be awaited.
        out.append((_arrival(sim, request.client_order_id) - sent) * 1000)
    return out


async def measure(n: int) -> tuple[list[float], list[float]]:
    """(baseline ms, desk ms), ``n`` each, alternating in blocks."""
    base: list[float] = []
    mine: list[float] = []
    with Simulator(tick_interval=None, demo=False) as sim:
        bare_pub, bare_sec = sim.add_account("qfex", "bare", [(SYMBOL, SIZE, Decimal(200))])
        pub, sec = sim.add_account("qfex", "bench", [(SYMBOL, SIZE, Decimal(200))])
        ws = await bare_connect(sim, bare_pub, bare_sec)
        desk = await start_desk(sim, pub, sec)
        try:
            await baseline(sim, ws, 1)  # warm-up, not counted
            await app(sim, desk, 1)
            while len(base) < n:
                k = min(BLOCK, n - len(base))
                base += await baseline(sim, ws, k)
                mine += await app(sim, desk, k)
        finally:
            await desk.stop()
            await ws.close()
    return base, mine


def run(*, tiny: bool, n: int | None = None) -> Report:
    count = n if n is not None else (5 if tiny else 200)
    base, mine = asyncio.run(measure(count))
    b, m = distribution(base), distribution(mine)
    report = Report(TITLE, tiny=tiny)
    report.add(Metric("bare websockets client, send to receipt", b.p50, "ms", spread=b))
    report.add(Metric("Desk.close to receipt", m.p50, "ms", spread=m))
    added = m.p50 - b.p50
    report.add(Metric("added at p50", added, "ms", f"< {TARGET_P50_MS:g} ms",
                      added < TARGET_P50_MS))
    report.add(Metric("added at p99", m.p99 - b.p99, "ms", "< 5 ms", m.p99 - b.p99 < 5))
    report.notes.append(f"{count} closes each side, alternating in blocks of {BLOCK}; the "
                        "simulator runs on a thread of this process.")
    report.load_average = load_average()
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", type=int, default=200)
    from bench.__main__ import print_report

    print_report(run(tiny=False, n=parser.parse_args().n), "close_latency")
