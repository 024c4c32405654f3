"""``python -m core.sim``: run every simulated venue in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from types import FrameType

from core.sim import demo
from core.sim.simulator import Simulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--qfex-port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--everstrike-port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=7, help="random-walk seed")
    parser.add_argument("--tick-interval", type=float, default=1.0,
                        help="seconds between mark steps (0 disables)")
    parser.add_argument("--latency", type=float, default=0.0, metavar="SECONDS",
                        help="delay added before every reply and push, on every venue "
                        "(default 0)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object with the URLs and demo keys, then run")
    args = parser.parse_args(argv)

    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    sim = Simulator(seed=args.seed, host=args.host, qfex_port=args.qfex_port,
                    everstrike_port=args.everstrike_port,
                    tick_interval=args.tick_interval or None)
    if args.latency < 0:
        parser.error("--latency must not be negative")
    for venue in sim.venues.values():
        faults = getattr(venue, "faults", None)  # not part of the venue contract
        if faults is not None:
            faults.latency = args.latency
    info = sim.start()
    try:
        if args.json:
            print(json.dumps(info.as_json()), flush=True)
        else:
            lines = ["Closeout venue simulator (demo keys are simulator-only)"]
            for name, fields in info.as_json().items():
                for n, (field, value) in enumerate(fields.items()):
                    lines.append(f"{name if n == 0 else '':<12}{field:<12}{value}")
            lines.append(f"QFEX {demo.QFEX_RESIDUAL_SYMBOL} is thinner than its demo position: "
                         "closing it leaves an IOC residual.")
            lines.append("Press Ctrl-C to stop.")
            print("\n".join(lines), flush=True)
        while not done.wait(0.5):
            pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
