"""The seed documents' own Python samples run unchanged against the simulator.

Only the URL and the keys are swapped in (for QFEX the sample's placeholder auth values are
"the keys": valid ones are computed here). The code comes from the documents at test time,
so a sample the simulator does not accept fails this test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import queue
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO

import httpx
import pytest

from core.sim import Simulator

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "docs" / "seeds"


def _env() -> dict[str, str]:
    """No proxy may intercept loopback traffic from the samples."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONUNBUFFERED"] = "1"  # the QFEX sample prints and never exits
    return env


def _replace(code: str, old: str, new: str) -> str:
    assert old in code, f"the seed sample no longer contains {old!r}"
    return code.replace(old, new)


def everstrike_sample() -> str:
    """The indented block after "Python example (Python3):" in everstrike-close.md."""
    lines = (SEEDS / "everstrike-close.md").read_text().splitlines()
    start = lines.index("Python example (Python3):") + 1
    block: list[str] = []
    for line in lines[start:]:
        if line and not line.startswith(" "):
            break
        block.append(line)
    code = "\n".join(line[2:] if line.startswith("  ") else line for line in block)
    assert "requests.post(" in code
    return code


def qfex_sample() -> str:
    """The fenced ```python block in qfex-close-position.md."""
    text = (SEEDS / "qfex-close-position.md").read_text()
    match = re.search(r"^\s*```python[^\n]*\n(.*?)^\s*```", text, re.S | re.M)
    assert match, "no python block in qfex-close-position.md"
    lines = match.group(1).splitlines()
    indent = min(len(x) - len(x.lstrip()) for x in lines if x.strip())
    code = "\n".join(x[indent:] for x in lines)
    assert "run_forever" in code
    return code


class LineReader:
    """Collects a subprocess's stdout lines on a thread, so waits can have deadlines."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)

    def wait_for(self, pred: Callable[[str], bool], timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching line; saw {self.seen!r}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append(line)
            if pred(line):
                return line


@pytest.fixture
def run_forever() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_everstrike_seed_sample_closes_0_001(sim: Simulator, tmp_path: Path) -> None:
    pair = "USD_BTCCALL_PERP"
    account = sim.account_id("everstrike", sim.info.everstrike.api_key)
    before = sim.call(lambda: sim.everstrike.market.position(account, pair).size)
    code = everstrike_sample()
    code = _replace(code, "https://api.testnet.everstrike.io", sim.info.everstrike.rest)
    code = _replace(code, "<YOUR_API_KEY>", sim.info.everstrike.api_key)
    code = _replace(code, "<YOUR_SECRET_KEY>", sim.info.everstrike.secret_key)
    script = tmp_path / "everstrike_close.py"
    script.write_text(code)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60, env=_env(), cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr
    body_line, status_line = proc.stdout.strip().splitlines()
    assert status_line == "200 OK"
    body = json.loads(body_line, parse_float=Decimal)
    assert body["code"] == 200
    assert body["result"]["order"]["pair"] == pair
    after = sim.call(lambda: sim.everstrike.market.position(account, pair).size)
    assert before - after == Decimal("0.001")


def test_qfex_seed_sample_authenticates_and_closes_aapl(
    sim: Simulator, tmp_path: Path, run_forever: list[subprocess.Popen[str]]
) -> None:
    q = sim.info.qfex
    nonce, unix_ts = secrets.token_hex(16), int(time.time())
    signature = hmac.new(q.secret_key.encode(), f"{nonce}:{unix_ts}".encode(),
                         hashlib.sha256).hexdigest()
    code = qfex_sample()
    code = _replace(code, "wss://trade.qfex.com?api_key=YOUR_API_KEY",
                    f"{q.trade_ws}?api_key={q.public_key}")
    code = _replace(code, '"YOUR_API_KEY"', json.dumps(q.public_key))
    code = _replace(code, '"qfex_pub_xxxxx"', json.dumps(q.public_key))
    code = _replace(code, '"c0ffee..."', json.dumps(nonce))
    code = _replace(code, "1760545414", str(unix_ts))
    code = _replace(code, '"5f2e..."', json.dumps(signature))
    script = tmp_path / "qfex_close.py"
    script.write_text(code)
    account = q.account_id
    assert sim.call(lambda: sim.qfex.market.position(account, "AAPL-USD").size) == 25

    proc = subprocess.Popen([sys.executable, "-u", str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(), cwd=tmp_path)
    run_forever.append(proc)
    assert proc.stdout is not None
    reader = LineReader(proc.stdout)
    reader.wait_for(lambda line: line.strip() == '{"authenticated": true}')

    deadline = time.monotonic() + 30
    while sim.call(lambda: sim.qfex.market.position(account, "AAPL-USD").size) != 0:
        assert time.monotonic() < deadline, "AAPL-USD never became flat"
        time.sleep(0.02)
    assert proc.poll() is None  # the sample runs forever by design; the fixture ends it


def test_python_m_core_sim_prints_json_and_exits_cleanly(
    run_forever: list[subprocess.Popen[str]],
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.sim", "--json", "--seed", "3", "--tick-interval", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT,
    )
    run_forever.append(proc)
    assert proc.stdout is not None
    reader = LineReader(proc.stdout)
    info = json.loads(reader.wait_for(lambda line: True))
    assert set(info) == {"qfex", "everstrike"}
    assert set(info["qfex"]) == {"trade_ws", "mds_ws", "rest", "public_key", "secret_key",
                                 "account_id"}
    assert set(info["everstrike"]) == {"rest", "ws", "api_key", "secret_key"}
    pong = httpx.get(info["everstrike"]["rest"] + "/ping", timeout=10)
    assert pong.json()["code"] == 200
    refdata = httpx.get(info["qfex"]["rest"] + "/refdata", timeout=10)
    assert refdata.json()["type"] == "refdata"
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0
    assert proc.stderr is not None
    assert "Traceback" not in proc.stderr.read()
