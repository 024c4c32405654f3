"""Run every benchmark in turn: `python -m bench` (or `make bench`)."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from bench import close_latency

if __name__ == "__main__":
    print("== close latency (Send -> frame at the venue), target: app adds < 1 ms at p50")
    asyncio.run(close_latency.main(200))
    print("== journal history: paging a 1,000,000-record journal (History view, export)")
    subprocess.run([sys.executable, "-m", "bench.journal_history"], check=True)
