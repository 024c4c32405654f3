"""Close latency: what Closeout adds between "send" and the frame reaching the venue.

Target (DESIGN.md): the app adds under 1 ms at p50. Baseline: a bare ``websockets`` client
sending the same ``add_order`` frame on an authenticated QFEX connection. Both run against the
simulator on loopback; the arrival time is the simulator's own receipt stamp.

    python -m bench.close_latency [-n 200]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import secrets
import statistics
import time
from decimal import Decimal

import websockets

from core.desk import Desk
from core.model import CloseRequest, Environment, PositionKey, PositionSide
from core.sim import Simulator
from core.venue import AccountConfig, Credentials
from core.venues.qfex import QFEX

SYMBOL = "AAPL-USD"
SIZE = Decimal(1_000_000)
TARGET_P50_MS = 1.0


def _arrival(sim: Simulator, needle: str) -> float:
    for r in reversed(sim.qfex.received):
        if needle in r.body:
            return r.time
    raise LookupError(needle)


async def baseline(sim: Simulator, public: str, secret: str, n: int) -> list[float]:
    info = sim.info.qfex
    out: list[float] = []
    async with websockets.connect(f"{info.trade_ws}?api_key={public}") as ws:
        nonce, ts = secrets.token_hex(16), int(time.time())
        sig = hmac.new(secret.encode(), f"{nonce}:{ts}".encode(), hashlib.sha256).hexdigest()
        await ws.send(json.dumps({"type": "auth", "params": {"hmac": {
            "public_key": public, "nonce": nonce, "unix_ts": ts, "signature": sig}}}))
        assert json.loads(await ws.recv()) == {"authenticated": True}
        await ws.send('{"type":"subscribe","params":{"channels":["order_responses"]}}')
        await ws.recv()
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


async def app(sim: Simulator, public: str, secret: str, n: int) -> list[float]:
    info = sim.info.qfex
    account = AccountConfig(
        name="bench", venue=QFEX, environment=Environment.DEMO, public_key=public,
        endpoints={"trade_ws": info.trade_ws, "mds_ws": info.mds_ws, "rest": info.rest},
    )
    desk = Desk()
    failed = await desk.start([(account, Credentials(public, secret))])
    assert not failed, failed
    key = PositionKey("bench", QFEX, SYMBOL)
    out: list[float] = []
    try:
        for _ in range(n):
            pos = desk.positions[key]
            request = CloseRequest(key, PositionSide.LONG, pos.quantity, quantity=Decimal(1))
            sent = time.time()
            intent = await desk.close(request)
            await intent.settled(timeout=5)
            # The next close may go as soon as this one is settled: one lot of a million is
            # always within the book's size, so the 1 s positions push need not be awaited.
            out.append((_arrival(sim, request.client_order_id) - sent) * 1000)
    finally:
        await desk.stop()
    return out


def _summary(name: str, xs: list[float]) -> str:
    q = statistics.quantiles(xs, n=100)
    return (f"{name:>9}: n={len(xs)} p50={statistics.median(xs):.3f} ms  p90={q[89]:.3f} ms  "
            f"p99={q[98]:.3f} ms")


async def main(n: int) -> None:
    with Simulator(tick_interval=None, demo=False) as sim:
        pub, sec = sim.add_account("qfex", "bench", [(SYMBOL, SIZE, Decimal(200))])
        base = await baseline(sim, pub, sec, n)
        mine = await app(sim, pub, sec, n)
    print(_summary("baseline", base))
    print(_summary("closeout", mine))
    added = statistics.median(mine) - statistics.median(base)
    verdict = "meets" if added < TARGET_P50_MS else "MISSES"
    print(f"added at p50: {added:.3f} ms ({verdict} the {TARGET_P50_MS} ms target)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=200)
    asyncio.run(main(parser.parse_args().n))
