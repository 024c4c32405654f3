"""The simulator in a process of its own, driven one JSON line at a time over stdin/stdout.

A benchmark that times the wire must not share a GIL with the venue: the simulator would stamp
its receipts late whenever the window under test keeps the interpreter busy, which a real venue
on another machine never does. Its receipt stamps are ``time.time()``, the same clock the
benchmark reads.

    python -m bench._simproc      # prints {"info": ...}, then answers commands:
    {"op": "add_account", "venue": "qfex", "name": "a", "positions": [["AAPL-USD", "10", "200"]]}
    {"op": "closes", "venue": "qfex", "after": 0}     -> {"count": n, "times": [...]}
    {"op": "stop"}
"""

from __future__ import annotations

import json
import sys
import time
from decimal import Decimal
from typing import Any

from bench._pipe import PipeProcess


def serve() -> int:
    from core.sim import Simulator

    sim = Simulator(tick_interval=None, demo=False)
    info = sim.start()
    out = sys.stdout
    out.write(json.dumps({"info": info.as_json()}) + "\n")
    out.flush()
    try:
        for line in sys.stdin:
            cmd = json.loads(line)
            op = cmd.get("op")
            reply: dict[str, Any]
            if op == "add_account":
                positions = [(s, Decimal(q), Decimal(p)) for s, q, p in cmd["positions"]]
                key, secret = sim.add_account(cmd["venue"], cmd["name"], positions)
                reply = {"key": key, "secret": secret}
            elif op == "closes":
                received = sim.requests(cmd["venue"], kind="close")
                reply = {"count": len(received),
                         "times": [r.time for r in received[int(cmd.get("after", 0)):]]}
            elif op == "stop":
                break
            else:
                reply = {"error": f"unknown op {op!r}"}
            out.write(json.dumps(reply) + "\n")
            out.flush()
    finally:
        sim.stop()
    return 0


class SimProcess(PipeProcess):
    """The parent's handle: start, ask, stop. Each call blocks for one short round trip, so
    call it only outside a timed span."""

    def __init__(self) -> None:
        super().__init__("bench._simproc")
        self.info: dict[str, dict[str, str]] = self.read()["info"]

    def add_account(self, venue: str, name: str,
                    positions: list[tuple[str, str, str]]) -> tuple[str, str]:
        reply = self.ask(op="add_account", venue=venue, name=name, positions=positions)
        return reply["key"], reply["secret"]

    def closes(self, venue: str, after: int = 0) -> tuple[int, list[float]]:
        reply = self.ask(op="closes", venue=venue, after=after)
        return int(reply["count"]), [float(t) for t in reply["times"]]

    def receipts(self, venue: str, after: int, count: int, timeout: float = 5.0) -> list[float]:
        """The arrival times of the ``count`` closes after the first ``after``, once there."""
        deadline = time.monotonic() + timeout
        while True:
            _, times = self.closes(venue, after)
            if len(times) >= count:
                return times[:count]
            if time.monotonic() > deadline:
                raise TimeoutError(f"{venue}: {len(times)} of {count} closes arrived")
            time.sleep(0.002)


if __name__ == "__main__":
    raise SystemExit(serve())
