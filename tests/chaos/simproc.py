"""The simulator in a process of its own, for the kill -9 runs: the process killed must never be
the venue. Driven one JSON line at a time over stdin/stdout, like ``bench/_simproc.py``, with
what the crash checks read: every close as it arrived, and the orders and positions of an
account, from the simulator's own record.

    python -m tests.chaos.simproc     # prints {"info": ...}, then answers:
    {"op": "add_account", "venue": "qfex", "name": "a", "positions": [["AAPL-USD", "10", "200"]]}
    {"op": "closes"}                  -> {"closes": [[venue, body], ...]}
    {"op": "orders", "venue": "qfex", "key": "<public key>"}
                                      -> {"orders": [[order id, symbol, client id, filled]]}
    {"op": "open", "venue": "qfex", "key": "<public key>"}  -> {"open": {symbol: size}}
    {"op": "latency", "seconds": 0.1}
    {"op": "stop"}
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from typing import Any

from bench._pipe import PipeProcess

VENUES = ("qfex", "everstrike")


def serve() -> int:
    from core.sim import Simulator

    sim = Simulator(seed=13, tick_interval=None, demo=False)
    info = sim.start()
    out = sys.stdout
    out.write(json.dumps({"info": info.as_json()}) + "\n")
    out.flush()
    try:
        for line in sys.stdin:
            cmd = json.loads(line)
            op = cmd.get("op")
            if op == "stop":
                break
            out.write(json.dumps(_answer(sim, op, cmd)) + "\n")
            out.flush()
    finally:
        sim.stop()
    return 0


def _answer(sim: Any, op: str, cmd: dict[str, Any]) -> dict[str, Any]:
    if op == "add_account":
        positions = [(s, Decimal(q), Decimal(p)) for s, q, p in cmd["positions"]]
        key, secret = sim.add_account(cmd["venue"], cmd["name"], positions)
        return {"key": key, "secret": secret}
    if op == "closes":
        return {"closes": [[v, r.body] for v in VENUES for r in sim.requests(v, kind="close")]}
    if op in ("orders", "open"):
        account = sim.account_id(cmd["venue"], cmd["key"])
        market = sim.venue(cmd["venue"]).market
        if op == "orders":
            return {"orders": sim.call(lambda: [
                [o.id, o.symbol, o.client_order_id, str(o.filled)]
                for o in market.orders.values() if o.account == account])}
        return {"open": sim.call(lambda: {
            s: str(p.size) for (a, s), p in market.positions.items() if a == account and p.size})}
    if op == "latency":
        for venue in VENUES:
            sim.venue(venue).faults.latency = float(cmd["seconds"])
        return {"latency": cmd["seconds"]}
    return {"error": f"unknown op {op!r}"}


class SimProcess(PipeProcess):
    """The parent's handle: start, ask, stop."""

    def __init__(self, cwd: str) -> None:
        super().__init__("tests.chaos.simproc", cwd=cwd)
        self.info: dict[str, dict[str, str]] = self.read()["info"]


if __name__ == "__main__":
    raise SystemExit(serve())
