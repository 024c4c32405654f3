"""Kill -9 in the middle of a flatten, then restart: the crash half of the chaos suite.

Each kill starts the simulator in a process of its own (``tests.chaos.simproc``), adds two
fresh accounts, and runs a flatten of everything in a process that is then killed with SIGKILL
after a random number of its progress lines:

* ``cli``: ``closeout flatten --all --yes`` (``python -m cli.main``), configured through its
  settings file and a keyring read from the environment, as ``tests/integration/test_cli.py``
  does; its restart runs the same flatten again.
* ``app``: the desk code the window runs (``Desk`` and ``core.flatten``) in a child process
  (``python -m tests.chaos.crash app ...``); its restart reopens the journal and connects, as
  the app does at start, and sends nothing.

After the kill and after the restart, from the simulator's record and the journal left on disk:
``closeout journal verify`` passes; every close that reached a venue has its journaled intent
and its exact request; no close reached a venue twice; no intent made two venue orders; and the
restart sent nothing for a position the killed run had closed.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.chaos.simproc import SimProcess

REPO = Path(__file__).resolve().parents[2]
D = Decimal
QFEX_SYMBOLS = ("AAPL-USD", "TSLA-USD", "NVDA-USD", "MSFT-USD", "PLTR-USD")
ES_PAIRS = ("USD_ETH_PERP", "USD_SOL_PERP", "USD_XRP_PERP", "USD_DOGE_PERP")
RUN_TIMEOUT = 90.0


# ---------------------------------------------------------------------------- the app child
async def _app(journal_path: str, accounts_file: str, mode: str) -> None:
    from core.desk import Desk
    from core.flatten import FlattenScope, ItemState, build_plan, execute
    from core.journal import Journal
    from core.model import Environment, Venue
    from core.venue import AccountConfig, Credentials

    with open(accounts_file, encoding="utf-8") as f:  # noqa: ASYNC230 - once, at start
        spec = json.load(f)
    accounts = [(AccountConfig(a["name"], Venue(a["venue"]), Environment.DEMO, a["key"],
                               a["endpoints"]), Credentials(a["key"], a["secret"]))
                for a in spec]
    journal = Journal(journal_path, operator="chaos-app")
    desk = Desk(journal=journal)
    if failed := await desk.start(accounts):
        raise SystemExit(f"could not connect {failed}")
    want = sum(len(a["positions"]) for a in spec)
    async with asyncio.timeout(20):
        while len(desk.positions) < want and mode == "flatten":  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    print(f"READY {len(desk.positions)}", flush=True)
    if mode == "restart":
        # The app running after a restart: anything it would resend by itself goes out here.
        await asyncio.sleep(2.0)
        await desk.stop()
        journal.close()
        print("IDLE", flush=True)
        return

    def progress(state: ItemState) -> None:
        print(f"[{state.key}] {state.label}", flush=True)

    plan = build_plan(desk, FlattenScope.everything(), reason="chaos kill")
    await execute(desk, plan, on_progress=progress).wait()
    print("DONE", flush=True)
    await desk.stop()
    journal.close()


# ---------------------------------------------------------------------------- the parent
def _pump(stream: Any, lines: queue.Queue[str]) -> threading.Thread:
    def run() -> None:
        for line in stream:
            lines.put(line)
        lines.put("")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


class _Home:
    """One kill's files: the CLI's XDG directories and keyring, the app's journal."""

    def __init__(self, root: Path, target: str) -> None:
        self.root = root
        self.target = target
        self.accounts: list[dict[str, Any]] = []

    @property
    def journal(self) -> Path:
        if self.target == "cli":
            return self.root / "data" / "closeout" / "journal.sqlite3"
        return self.root / "app-journal.sqlite3"

    def env(self) -> dict[str, str]:
        from tests.helpers.keyrings import SECRETS_ENV, EnvKeyring

        env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "PYTHON"))}
        for var in ("CONFIG", "DATA", "STATE", "CACHE"):
            env[f"XDG_{var}_HOME"] = str(self.root / var.lower())
        env["PYTHON_KEYRING_BACKEND"] = f"{EnvKeyring.__module__}.EnvKeyring"
        env[SECRETS_ENV] = json.dumps({f"account:{a['name']}": a["secret"]
                                       for a in self.accounts})
        env["PYTHONPATH"] = str(REPO)
        env["PYTHONUNBUFFERED"] = "1"
        env.pop("QT_QPA_PLATFORM", None)
        return env

    def write(self) -> None:
        from core.model import Environment, Venue
        from core.settings import Settings, dump_settings
        from core.venue import AccountConfig

        configs = [AccountConfig(a["name"], Venue(a["venue"]), Environment.DEMO, a["key"],
                                 a["endpoints"]) for a in self.accounts]
        path = self.root / "config" / "closeout" / "settings.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_settings(Settings(accounts=configs)), encoding="utf-8")
        (self.root / "accounts.json").write_text(json.dumps(self.accounts), encoding="utf-8")

    def command(self, restart: bool) -> list[str]:
        if self.target == "cli":
            return [sys.executable, "-m", "cli.main", "flatten", "--all", "--yes",
                    "--reason", "chaos kill" + (" restart" if restart else "")]
        return [sys.executable, "-m", "tests.chaos.crash", "app", str(self.journal),
                str(self.root / "accounts.json"), "restart" if restart else "flatten"]


def _add_accounts(sim: SimProcess, rng: random.Random, home: _Home, tag: str) -> None:
    q, e = sim.info["qfex"], sim.info["everstrike"]
    for venue, symbols in (("qfex", QFEX_SYMBOLS), ("everstrike", ES_PAIRS)):
        name = f"k{venue[0]}{tag}"
        positions = [[s, str(rng.randint(1, 40) * rng.choice((1, -1))), "100"]
                     for s in rng.sample(symbols, rng.randint(3, len(symbols)))]
        reply = sim.ask(op="add_account", venue=venue, name=name, positions=positions)
        endpoints = ({"trade_ws": q["trade_ws"], "mds_ws": q["mds_ws"], "rest": q["rest"]}
                     if venue == "qfex" else {"rest": e["rest"], "ws": e["ws"]})
        home.accounts.append({"name": name, "venue": venue, "key": reply["key"],
                              "secret": reply["secret"], "endpoints": endpoints,
                              "positions": positions})
    home.write()


def _run_and_kill(home: _Home, rng: random.Random) -> dict[str, Any]:
    """Start the flatten, kill it with SIGKILL after a random number of progress lines."""
    positions = sum(len(a["positions"]) for a in home.accounts)
    # Some kills land while it starts and connects (a time after the start), the rest after a
    # number of progress lines and a short pause: at most one per position, while each item
    # writes at least two, so the kill lands before the last line.
    by_time = rng.random() < 0.4
    after = -1 if by_time else rng.randint(0, positions)
    pause = rng.uniform(0.2, 2.5) if by_time else rng.uniform(0.0, 0.15)
    cli = home.target == "cli"
    proc = subprocess.Popen(home.command(False), cwd=REPO, env=home.env(),
                            stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL if cli else subprocess.PIPE,
                            stderr=subprocess.PIPE if cli else subprocess.DEVNULL, text=True)
    stream = proc.stderr if cli else proc.stdout
    lines: queue.Queue[str] = queue.Queue()
    reader = _pump(stream, lines)
    seen = 0
    deadline = time.monotonic() + RUN_TIMEOUT
    try:
        while seen < after + 1:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if not line:
                break
            if line.startswith("[") or line.startswith("READY"):
                seen += 1
        time.sleep(pause)
        finished_first = proc.poll() is not None
        if not finished_first:
            os.kill(proc.pid, signal.SIGKILL)
        status = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(timeout=30)
        assert stream is not None
        stream.close()
    return {"after_lines": after, "pause": round(pause, 3), "killed": status == -signal.SIGKILL,
            "status": status}


def _restart(home: _Home) -> int:
    proc = subprocess.run(home.command(True), cwd=REPO, env=home.env(), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)
    return proc.returncode


def _verify(home: _Home) -> tuple[bool, str]:
    if not home.journal.exists():
        return True, "no journal yet"
    proc = subprocess.run([sys.executable, "-m", "cli.main", "journal", "verify", "--path",
                           str(home.journal)], cwd=REPO, env=home.env(), capture_output=True,
                          text=True, timeout=60, check=False)
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()


def _journal(home: _Home) -> list[Any]:
    from core.journal import Journal

    if not home.journal.exists():
        return []
    reader = Journal(home.journal, read_only=True)
    try:
        return list(reader.iter_all())
    finally:
        reader.close()


def _mine(sim: SimProcess, home: _Home, start: int) -> list[tuple[str, str]]:
    """The closes that reached the venues since ``start`` (this kill's accounts only)."""
    return [(v, body) for v, body in sim.ask(op="closes")["closes"][start:]]


def _open(sim: SimProcess, home: _Home) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for a in home.accounts:
        for symbol, size in sim.ask(op="open", venue=a["venue"], key=a["key"])["open"].items():
            out[(a["name"], symbol)] = size
    return out


def _check(sim: SimProcess, home: _Home, start: int, problems: list[str],
           open_at_restart: dict[tuple[str, str], str] | None, before_restart: int) -> int:
    """The journal against the venues' record; returns how many closes reached the venues."""
    records = _journal(home)
    intents = {r.intent_id: json.loads(r.payload) for r in records if r.kind == "intent"}
    requests: dict[str, str] = {}
    for r in records:
        if r.kind == "request" and r.intent_id:
            body = r.payload if r.venue == "qfex" else r.payload.partition("\n\n")[2]
            requests[body] = r.intent_id
    closes = _mine(sim, home, start)
    bodies = [body for _, body in closes]
    for venue, body in closes:
        owner = requests.get(body)
        if owner is None or owner not in intents:
            problems.append(f"{venue} close without its journaled intent and request: "
                            f"{body[:120]}")
    if len(set(bodies)) != len(bodies):
        problems.append("a close reached a venue twice")
    by_client = {p["client_order_id"]: iid for iid, p in intents.items()}
    for a in home.accounts:
        orders = sim.ask(op="orders", venue=a["venue"], key=a["key"])["orders"]
        per_position: dict[str, int] = {}
        for _, symbol, client_id, _ in orders:
            per_position[symbol] = per_position.get(symbol, 0) + 1
            if a["venue"] == "qfex" and client_id not in by_client:
                problems.append(f"QFEX order {client_id} has no journaled intent")
        for symbol, count in per_position.items():
            mine = sum(1 for r in records if r.kind == "intent" and r.account == a["name"]
                       and r.symbol == symbol)
            if count > mine:
                problems.append(f"{a['name']} {symbol}: {count} venue orders for {mine} "
                                "intent(s)")
    if open_at_restart is not None:
        for _, body in closes[before_restart:]:
            owner = requests.get(body)
            record = next((r for r in records if r.kind == "intent" and r.intent_id == owner),
                          None)
            if record is None:
                continue
            if home.target == "app":
                problems.append(f"the app sent a close by itself after restarting: {body[:120]}")
            elif (record.account, record.symbol) not in open_at_restart:
                problems.append(f"the restart closed {record.symbol} again, which the killed "
                                "run had closed")
    return len(closes)


def kill_once(n: int, seed: int, work: Path) -> dict[str, Any]:
    rng = random.Random(seed)
    target = "cli" if n % 2 == 0 else "app"
    home = _Home(work / f"kill-{n}", target)
    home.root.mkdir(parents=True, exist_ok=True)
    sim = SimProcess(str(REPO))
    problems: list[str] = []
    try:
        latency = round(rng.uniform(0.02, 0.25), 3)
        sim.ask(op="latency", seconds=latency)
        _add_accounts(sim, rng, home, f"{seed}")
        start = len(sim.ask(op="closes")["closes"])
        run = _run_and_kill(home, rng)
        ok, text = _verify(home)
        if not ok:
            problems.append(f"journal verify after the kill: {text}")
        sent = _check(sim, home, start, problems, None, 0)
        open_now = _open(sim, home)
        rc = _restart(home)
        ok, text = _verify(home)
        if not ok:
            problems.append(f"journal verify after the restart: {text}")
        total = _check(sim, home, start, problems, open_now, sent)
        return {"kill": n, "seed": seed, "target": target, "latency": latency, **run,
                "closes_before_kill": sent, "closes": total, "resent": 0 if not problems else
                sum("again" in p or "twice" in p or "by itself" in p for p in problems),
                "restart_status": rc, "problems": problems, "ok": not problems}
    finally:
        sim.stop()


def run_kills(count: int, *, first_seed: int = 0, work: Path | None = None,
              verbose: bool = True) -> list[dict[str, Any]]:
    root = work or Path(tempfile.mkdtemp(prefix="closeout-kill-"))
    out = []
    for n in range(count):
        result = kill_once(n, first_seed + 7919 * (n + 1), root)
        out.append(result)
        if result["ok"] and work is None:
            shutil.rmtree(root / f"kill-{n}", ignore_errors=True)
        if verbose:
            verdict = "ok" if result["ok"] else "FAIL " + "; ".join(result["problems"])
            how = "killed" if result["killed"] else f"finished first ({result['status']})"
            when = (f"{result['pause']} s after the start" if result["after_lines"] < 0
                    else f"after {result['after_lines']} line(s)")
            print(f"kill {n:>2} seed {result['seed']} {result['target']:<3} {when}, {how}; "
                  f"{result['closes_before_kill']} "
                  f"close(s) before, {result['closes']} after restart: {verdict}", flush=True)
    if work is None and not any(root.iterdir()):  # a failed kill's files stay for a look
        root.rmdir()
    return out


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "app":
    asyncio.run(_app(sys.argv[2], sys.argv[3], sys.argv[4]))
