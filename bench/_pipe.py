"""A helper process driven one JSON line at a time over its stdin and stdout.

The benchmarks, the soak and the crash runs keep the simulator (or a bare client) in a
process of its own, so that what is measured, or killed, is never the venue. Every such
process speaks the same little protocol: one JSON object per line each way, a reply with
``"error"`` is a failure, and ``{"op": "stop"}`` ends it. This is the parent's side of it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

__all__ = ["PipeProcess"]


class PipeProcess:
    """Start ``python -m <module> <args>``; ``ask`` sends one command and waits for its reply.
    Each call blocks for one round trip: use it only outside a timed span."""

    def __init__(self, module: str, *args: str, cwd: str | None = None) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", module, *args], cwd=cwd,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def read(self) -> dict[str, Any]:
        """The next line the process wrote; a RuntimeError if it ended or reported an error."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the helper process ended (status {self.proc.poll()})")
        data: dict[str, Any] = json.loads(line)
        if "error" in data:
            raise RuntimeError(data["error"])
        return data

    def ask(self, **cmd: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self.read()

    def stop(self) -> None:
        """Ask it to stop; kill it if it will not within 30 s."""
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write(json.dumps({"op": "stop"}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
