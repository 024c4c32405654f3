"""``python -m core.sim``: run both simulated venues in the foreground until Ctrl-C."""

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
    info = sim.start()
    try:
        if args.json:
            print(json.dumps(info.as_json()), flush=True)
        else:
            q, e = info.qfex, info.everstrike
            print(
                "Closeout venue simulator (demo keys are simulator-only)\n"
                f"QFEX        trade WS  {q.trade_ws}\n"
                f"            MDS WS    {q.mds_ws}\n"
                f"            REST      {q.rest}\n"
                f"            public key {q.public_key}\n"
                f"            secret key {q.secret_key}\n"
                f"            account   {q.account_id}\n"
                f"Everstrike  REST      {e.rest}\n"
                f"            WS        {e.ws}\n"
                f"            API key   {e.api_key}\n"
                f"            secret    {e.secret_key}\n"
                f"QFEX {demo.QFEX_RESIDUAL_SYMBOL} is thinner than its demo position: "
                "closing it leaves an IOC residual.\n"
                "Press Ctrl-C to stop.",
                flush=True,
            )
        while not done.wait(0.5):
            pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
