"""Run every benchmark in turn: `python -m bench` (or `make bench`)."""

from __future__ import annotations

import asyncio

from bench import close_latency

if __name__ == "__main__":
    print("== close latency (Send -> frame at the venue), target: app adds < 1 ms at p50")
    asyncio.run(close_latency.main(200))
