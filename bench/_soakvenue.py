"""The soak's venues: the demo simulator at a chosen update rate, in a process of its own,
driven one JSON line at a time over stdin/stdout.

Its own process, so what the soak measures (RSS, tasks, sockets, descriptors) is the app's
alone: the simulator keeps a log of every request it received, which grows by design.

    python -m bench._soakvenue --tick 0.1   # prints {"demo": [...]}, then answers commands:
    {"op": "fault", "venue": "qfex", "kind": "drop"}   -> {"ok": true}
    {"op": "latency", "venue": "qfex", "seconds": 0.5} / {"op": "duplicate", ..., "on": true}
    {"op": "restore"}   every demo position back to its opening size
    {"op": "closes"}    -> {"qfex": n, "everstrike": n}: closes that reached each venue
    {"op": "clear"} / {"op": "stop"}
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bench._pipe import PipeProcess

# The fault kinds the soak cycles through, one every fault interval.
KINDS = ("drop", "latency", "malformed", "burst503", "duplicate")


def _faults(sim: Any, venue: str) -> Any:
    """The venue's fault knobs (``core.sim.faults.Faults``; not part of the venue contract)."""
    return sim.venue(venue).faults


def _fault(sim: Any, venue: str, kind: str) -> None:
    faults = _faults(sim, venue)
    if kind == "drop":  # the connection drops after the next close arrives; it still executes
        faults.drop_next(1, execute=True)
    elif kind == "malformed":
        faults.inject_malformed(3)
    elif kind == "burst503":
        if venue == "everstrike":
            faults.force_http(503, count=5)
        else:  # QFEX trades over WebSocket: its overloaded reply is an err frame
            faults.force_error("ServerError", count=3)
    else:
        raise ValueError(f"unknown fault {kind!r}")


def _restore(sim: Any) -> None:
    """Every demo position back to its opening size, so partial closes never run it dry."""
    from core.sim import demo

    for venue, account in (("qfex", demo.QFEX_DEMO), ("everstrike", demo.EVERSTRIKE_DEMO)):
        simulated = sim.venue(venue)
        key = sim.account_id(venue, account.public_key)

        def put(simulated: Any = simulated, key: str = key,
                positions: Any = account.positions) -> None:
            for symbol, size, entry in positions:
                if simulated.market.position(key, symbol).size != size:
                    simulated.market.set_position(key, symbol, size, entry)

        sim.call(put)


def serve(tick: float) -> int:
    from core.sim import Simulator

    sim = Simulator(tick_interval=tick, demo=True)
    # The QFEX pulses (positions, balances, market stats) at the same multiple of their 1 s.
    sim.qfex.settings.positions_interval = tick
    sim.qfex.settings.mds_interval = tick
    info = sim.start()
    out = sys.stdout
    demo = [{"venue": a.venue, "public_key": a.public_key, "secret_key": a.secret_key,
             "endpoints": dict(a.endpoints)} for a in info.demo_accounts()]
    out.write(json.dumps({"demo": demo}) + "\n")
    out.flush()
    try:
        for line in sys.stdin:
            cmd = json.loads(line)
            op = cmd.get("op")
            reply: dict[str, Any] = {"ok": True}
            try:
                if op == "fault":
                    _fault(sim, cmd["venue"], cmd["kind"])
                elif op == "latency":
                    _faults(sim, cmd["venue"]).latency = float(cmd["seconds"])
                elif op == "duplicate":
                    _faults(sim, cmd["venue"]).duplicate = bool(cmd["on"])
                elif op == "restore":
                    _restore(sim)
                elif op == "closes":
                    reply = {v: len(sim.requests(v, kind="close")) for v in sim.venues}
                elif op == "clear":
                    for name in sim.venues:
                        _faults(sim, name).reset()
                elif op == "stop":
                    break
                else:
                    reply = {"error": f"unknown op {op!r}"}
            except (KeyError, ValueError) as exc:
                reply = {"error": f"{op}: {exc}"}
            out.write(json.dumps(reply) + "\n")
            out.flush()
    finally:
        sim.stop()
    return 0


class SoakVenue(PipeProcess):
    """The soak's handle on the simulator process. Each call is one short round trip on
    pipes; the soak makes a few a minute, so it does not wait on the event loop's time."""

    def __init__(self, tick: float) -> None:
        super().__init__("bench._soakvenue", "--tick", str(tick))
        self.demo: list[dict[str, Any]] = self.read()["demo"]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the soak's simulator process")
    parser.add_argument("--tick", type=float, default=0.1,
                        help="seconds between market steps and QFEX pulses (demo mode: 1)")
    raise SystemExit(serve(parser.parse_args().tick))
