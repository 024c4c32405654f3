"""The headless CLI end to end: ``python -m cli.main positions|close|flatten`` in subprocesses.

Each run gets its own XDG directories. Most runs use accounts configured (settings.toml plus a
keyring the subprocess reads, ``EnvKeyring``) against a simulator this test owns, so the
simulator's own request log says what reached the venue, and fault knobs can be set; some use
``--demo``, where the subprocess starts its own simulator. Evidence that nothing was sent comes
from that log and from the journal, never from the CLI's own words alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import selectors
import signal
import sqlite3
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import cli.close as cli_close
import cli.flatten as cli_flatten
from cli.common import EXIT_CONNECTION_FAILED, Deps
from core.journal import Journal
from core.model import Environment
from core.settings import Settings, dump_settings
from core.sim import Simulator
from core.venue import AccountConfig
from core.venues import venue_info
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from tests.helpers.keyrings import SECRETS_ENV, EnvKeyring

REPO = Path(__file__).resolve().parents[2]
QT = ("PySide6", "shiboken6", "qasync")
D = Decimal
RUN_TIMEOUT = 90
NO_TTY = "refusing to act without --yes: standard input is not a terminal"
ACTIONS = ("intent", "request", "cancel_intent")  # journal kinds that mean "sent or about to"


# ------------------------------------------------------------------------------- harness
@dataclass
class Cli:
    """One isolated home for CLI runs: XDG directories, settings, keyring contents."""

    home: Path
    secrets: dict[str, str]
    accounts: list[AccountConfig]

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "PYTHON"))}
        for var in ("CONFIG", "DATA", "STATE", "CACHE"):
            env[f"XDG_{var}_HOME"] = str(self.home / var.lower())
        env["PYTHON_KEYRING_BACKEND"] = f"{EnvKeyring.__module__}.EnvKeyring"
        env[SECRETS_ENV] = json.dumps({f"account:{k}": v for k, v in self.secrets.items()})
        env["PYTHONPATH"] = str(REPO)
        env.pop("QT_QPA_PLATFORM", None)  # nothing here may need Qt
        return env

    def add(self, account: AccountConfig, secret: str) -> None:
        self.accounts.append(account)
        self.secrets[account.name] = secret
        path = self.home / "config" / "closeout" / "settings.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_settings(Settings(accounts=list(self.accounts))), encoding="utf-8")

    def run(self, *args: str, stdin: Any = subprocess.DEVNULL) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=REPO, env=self.env,
                              stdin=stdin, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                              check=False)

    def popen(self, *args: str, stdin: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "cli.main", *args], cwd=REPO,
                                env=self.env, stdin=stdin, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)

    def journal_path(self, demo: bool) -> Path:
        name = "demo-journal.sqlite3" if demo else "journal.sqlite3"
        return self.home / "data" / "closeout" / name

    def journal(self, demo: bool = False) -> list[dict[str, Any]]:
        path = self.journal_path(demo)
        if not path.exists():
            return []
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        db.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in db.execute("SELECT * FROM records ORDER BY seq")]
        finally:
            db.close()

    def kinds(self, demo: bool = False) -> list[str]:
        return [r["kind"] for r in self.journal(demo)]


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "home", {}, [])


def qfex_account(sim: Simulator, cli: Cli, name: str, positions: list[tuple[str, Decimal, Decimal]],
                 environment: Environment = Environment.DEMO) -> AccountConfig:
    pub, secret = sim.add_account("qfex", name, positions)
    q = sim.info.qfex
    account = AccountConfig(name, QFEX, environment, pub,
                            {"trade_ws": q.trade_ws, "mds_ws": q.mds_ws, "rest": q.rest})
    cli.add(account, secret)
    return account


def es_account(sim: Simulator, cli: Cli, name: str, positions: list[tuple[str, Decimal, Decimal]],
               environment: Environment = Environment.DEMO,
               options: dict[str, str] | None = None) -> AccountConfig:
    pub, secret = sim.add_account("everstrike", name, positions)
    e = sim.info.everstrike
    account = AccountConfig(name, EVERSTRIKE, environment, pub,
                            {"rest": e.rest, "ws": e.ws}, options or {})
    cli.add(account, secret)
    return account


@pytest.fixture
def desk_sim(bare_sim: Simulator, cli: Cli) -> Simulator:
    """Two configured accounts on the test's simulator: "q" (QFEX) long 40 AAPL-USD and short
    10 TSLA-USD; "e" (Everstrike) short 3.5 USD_ETH_PERP and long 120 USD_SOL_PERP."""
    qfex_account(bare_sim, cli, "q", [("AAPL-USD", D(40), D(220)), ("TSLA-USD", D(-10), D(350))])
    es_account(bare_sim, cli, "e", [("USD_ETH_PERP", D("-3.5"), D(4400)),
                                    ("USD_SOL_PERP", D(120), D(188))])
    return bare_sim


def closes(sim: Simulator) -> int:
    return len(sim.requests("qfex", kind="close")) + len(sim.requests("everstrike", kind="close"))


def cancels(sim: Simulator) -> int:
    return (len(sim.requests("qfex", kind="cancel"))
            + len(sim.requests("everstrike", kind="cancel")))


def open_at(sim: Simulator, venue: str) -> dict[str, Decimal]:
    market = sim.qfex.market if venue == "qfex" else sim.everstrike.market
    return sim.call(lambda: {s: p.size for (_, s), p in market.positions.items() if p.size})


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------------------- no Qt
def test_every_cli_module_imports_without_qt() -> None:
    modules = sorted(f"cli.{p.stem}" for p in (REPO / "cli").glob("*.py") if p.stem != "__init__")
    assert {"cli.close", "cli.common", "cli.flatten", "cli.positions"} <= set(modules)
    code = ("import importlib, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {QT!r})\n"
            "print(bad); sys.exit(1 if bad else 0)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_real_flatten_run_loads_no_qt(cli: Cli) -> None:
    """The whole path (simulator, sessions, desk, journal, plan, execution), in one process."""
    code = ("import sys, cli.main\n"
            "rc = cli.main.main(['flatten', '--account', 'Everstrike demo', '--yes', '--demo',"
            " '--json'])\n"
            f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {QT!r})\n"
            "assert not bad, bad\n"
            "sys.exit(rc)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=cli.env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["report"]["all_flat"] is True


# ------------------------------------------------------------------------------- positions
def test_positions_demo_table_and_json(cli: Cli) -> None:
    text = cli.run("positions", "--demo")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].split() == ["venue", "account", "env", "symbol", "side", "qty", "entry",
                                "mark", "uPnL"]
    aapl = next(line for line in lines if " AAPL-USD " in line).split()
    assert aapl[:7] == ["QFEX", "QFEX", "demo", "DEMO", "AAPL-USD", "LONG", "25.00"]
    assert lines[-1] == "16 open positions on 2 accounts"

    doc = cli.run("positions", "--demo", "--json", "--venue", "everstrike")
    assert doc.returncode == 0, doc.stderr
    data = json.loads(doc.stdout)
    assert [a["name"] for a in data["accounts"]] == ["Everstrike demo"]
    assert {p["venue"] for p in data["positions"]} == {"everstrike"}
    eth = next(p for p in data["positions"] if p["symbol"] == "USD_ETH_PERP")
    assert (eth["side"], eth["quantity"], eth["entry_price"]) == ("SHORT", "3.5", "4420.1")
    assert all(isinstance(p["mark_price"], str) for p in data["positions"])


def test_positions_group_thousands_when_the_settings_say_so_but_json_never(cli: Cli) -> None:
    path = cli.home / "config" / "closeout" / "settings.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("version = 2\n[preferences]\nthousands_separator = true\n",
                    encoding="utf-8")
    text = cli.run("positions", "--demo", "--venue", "everstrike")
    assert text.returncode == 0, text.stderr
    eth = next(line for line in text.stdout.splitlines() if " USD_ETH_PERP " in line).split()
    assert eth[5:8] == ["SHORT", "3.500", "4,420.10"]
    doc = cli.run("positions", "--demo", "--json", "--venue", "everstrike")
    data = json.loads(doc.stdout)
    eth_doc = next(p for p in data["positions"] if p["symbol"] == "USD_ETH_PERP")
    assert eth_doc["entry_price"] == "4420.1"  # data for programs: plain digits


def test_positions_connects_only_the_accounts_asked_for(desk_sim: Simulator, cli: Cli) -> None:
    proc = cli.run("positions", "--account", "e", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert sorted(p["symbol"] for p in data["positions"]) == ["USD_ETH_PERP", "USD_SOL_PERP"]
    assert desk_sim.requests("qfex") == []  # the QFEX account was never dialled
    connected_accounts = {r["account"] for r in cli.journal() if r["kind"] == "connection"}
    assert connected_accounts == {"e"}


def test_positions_unknown_account_is_a_usage_error(desk_sim: Simulator, cli: Cli) -> None:
    proc = cli.run("positions", "--account", "nope")
    assert proc.returncode == 2
    assert "unknown account 'nope'" in proc.stderr and "'q'" in proc.stderr


def test_connection_failure_exits_7_with_the_reason(desk_sim: Simulator, cli: Cli) -> None:
    port = free_port()
    dead = AccountConfig("dead", QFEX, Environment.DEMO, "qfex_pub_dead",
                         {"trade_ws": f"ws://127.0.0.1:{port}/",
                          "mds_ws": f"ws://127.0.0.1:{port}/mds",
                          "rest": f"http://127.0.0.1:{port}"})
    cli.add(dead, "dead-secret")
    listing = cli.run("positions", "--json")
    assert listing.returncode == 7
    assert "dead: could not connect" in listing.stderr
    assert "refused" in listing.stderr.lower() or "connect call failed" in listing.stderr.lower()
    data = json.loads(listing.stdout)  # the accounts that did connect are still listed
    assert {a["name"]: a["connected"] for a in data["accounts"]} == \
        {"q": True, "e": True, "dead": False}
    assert len(data["positions"]) == 4

    flatten = cli.run("flatten", "--all", "--yes")
    assert flatten.returncode == 7
    assert "dead: could not connect" in flatten.stderr and "nothing was sent" in flatten.stderr
    assert closes(desk_sim) == 0
    assert not set(ACTIONS) & set(cli.kinds())
    assert "dead-secret" not in listing.stderr + listing.stdout + flatten.stderr


def test_an_account_without_a_secret_is_a_connection_failure(bare_sim: Simulator,
                                                              cli: Cli) -> None:
    qfex_account(bare_sim, cli, "q", [("AAPL-USD", D(1), D(220))])
    cli.secrets.clear()
    proc = cli.run("close", "q", "AAPL-USD", "--yes")
    assert proc.returncode == 7
    assert "q: no secret is stored for it in the keyring" in proc.stderr
    assert bare_sim.requests("qfex") == []


# ------------------------------------------------------------------------------- dry run
def test_close_dry_run_prints_the_exact_request_and_sends_nothing(desk_sim: Simulator,
                                                                  cli: Cli) -> None:
    proc = cli.run("close", "q", "AAPL-USD", "--qty", "10", "--price", "250.5", "--tif", "ioc",
                   "--reason", "ticket 7", "--dry-run", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["dry_run"] is True and doc["outcome"] == "dry_run"
    assert json.loads(doc["request"]) == {"type": "add_order", "params": {
        "symbol": "AAPL-USD", "side": "SELL", "order_type": "LIMIT",
        "order_time_in_force": "IOC", "quantity": 10, "price": 250.5, "reduce_only": True,
        "client_order_id": doc["client_order_id"]}}
    # Shown to the lot (0.01) and the tick (0.01), as the close dialog shows it.
    assert doc["order"] == "SELL 10.00 AAPL-USD (part) at limit 250.50 IOC, reduce-only."
    assert desk_sim.requests("qfex", kind="close") == []
    assert not set(ACTIONS) & set(cli.kinds())

    text = cli.run("close", "e", "USD_ETH_PERP", "--trigger-price", "4500",
                   "--trigger-event", "index", "--close-on-trigger", "--dry-run")
    assert text.returncode == 0, text.stderr
    assert "Order:    BUY 3.500 USD_ETH_PERP (full position) when the index price reaches " \
        "4500.00 (close on trigger), then at market, reduce-only." in text.stdout
    shown = text.stdout.split("Request (keys and signatures redacted):\n", 1)[1].splitlines()
    assert shown[:2] == ["  POST /auth/close", "  content-type: application/x-www-form-urlencoded"]
    assert re.fullmatch(r"  x-api-key: (\S{4}…)?\*\*\*", shown[2])  # redacted
    assert re.fullmatch(r"  x-signature: \S{4}…\*\*\*", shown[3])
    assert re.fullmatch(r"  pair=USD_ETH_PERP&trigger_price=4500&trigger_event=INDEX_PRICE"
                        r"&close_on_trigger=true&timestamp=\d{13}&recv_window=5000", shown[5])
    assert cli.secrets["e"] not in text.stdout
    assert cli.accounts[1].public_key not in text.stdout
    assert text.stdout.rstrip().endswith("Dry run: nothing was sent")
    assert closes(desk_sim) == 0


def test_flatten_dry_run_lists_every_request_and_sends_nothing(desk_sim: Simulator,
                                                               cli: Cli) -> None:
    proc = cli.run("flatten", "--all", "--reason", "INC-1", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("Flatten plan fp-") and "Reason: INC-1" in out
    assert "4 positions to close" in out
    for symbol in ("AAPL-USD", "TSLA-USD"):
        assert f'{{"type":"close_position","params":{{"symbol":"{symbol}","client_order_id":' \
            in out
    assert out.count("POST /auth/close") >= 2 and "pair=USD_SOL_PERP&timestamp=" in out
    assert out.rstrip().endswith("Dry run: nothing was sent.")
    assert closes(desk_sim) == 0 and cancels(desk_sim) == 0
    kinds = cli.kinds()
    assert "flatten_plan" in kinds and not set(ACTIONS) & set(kinds)
    assert "flatten_start" not in kinds

    doc = cli.run("flatten", "--venue", "qfex", "--side", "short", "--dry-run", "--json")
    assert doc.returncode == 0, doc.stderr
    plan = json.loads(doc.stdout)["plan"]
    assert [i["symbol"] for i in plan["items"]] == ["TSLA-USD"]
    item = plan["items"][0]
    assert json.loads(item["request"]) == {"type": "close_position", "params": {
        "symbol": "TSLA-USD", "client_order_id": item["client_order_id"]}}
    assert plan["scope"]["description"] == "venue QFEX, short only"
    assert closes(desk_sim) == 0


# ------------------------------------------------------------------------------- exit codes
def test_flatten_demo_account_exits_0_when_everything_is_flat(cli: Cli) -> None:
    proc = cli.run("flatten", "--account", "Everstrike demo", "--reason", "eod", "--yes",
                   "--demo")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "8 closed and verified flat" in proc.stdout
    progress = proc.stderr.splitlines()
    assert sum("closed, verified flat" in line for line in progress) == 8
    assert progress[-1].startswith("[8/8] ")
    records = cli.journal(demo=True)
    intents = [r for r in records if r["kind"] == "intent"]
    assert len(intents) == 8
    assert all(r["reason"].startswith("flatten fp-") and r["reason"].endswith(": eod")
               for r in intents)
    import getpass

    assert {r["operator"] for r in records} == {getpass.getuser()}
    assert not cli.journal_path(demo=False).exists()  # demo never writes the real journal


def test_flatten_residual_exits_3(cli: Cli) -> None:
    """The demo CL-USD short is larger than its symbol's liquidity: QFEX's IOC close leaves a
    residual (core/sim/demo.py)."""
    proc = cli.run("flatten", "--account", "QFEX demo", "--yes", "--demo", "--json")
    assert proc.returncode == 3, proc.stderr
    report = json.loads(proc.stdout)["report"]
    assert report["exit_code"] == 3 and report["totals"] == {"closed_verified_flat": 7,
                                                             "residual": 1}
    cl = next(i for i in report["items"] if i["symbol"] == "CL-USD")
    assert (cl["outcome"], cl["residual"]) == ("residual", "20.0")


def test_close_outcomes_and_exit_codes(desk_sim: Simulator, cli: Cli) -> None:
    sim = desk_sim
    partial = cli.run("close", "q", "AAPL-USD", "--qty", "15", "--yes", "--json")
    assert partial.returncode == 0, partial.stderr
    doc = json.loads(partial.stdout)
    assert (doc["outcome"], doc["filled"], doc["position_after"]) == \
        ("filled", "15.0", {"side": "LONG", "quantity": "25.0"})
    # The latency is the wire's, measured at the transport; the app's own share is apart.
    assert doc["first_reply_ms"] >= 0 and doc["app_ms"] >= 0

    sim.qfex.faults.force_status("FAILED_MARGIN_CHECK", symbol="AAPL-USD")
    rejected = cli.run("close", "q", "AAPL-USD", "--yes", "--json", "--reason", "INC-9")
    assert rejected.returncode == 4, rejected.stderr
    doc = json.loads(rejected.stdout)
    assert doc["outcome"] == "rejected" and doc["state"] == "Rejected"
    assert doc["raw_status"] == "FAILED_MARGIN_CHECK" and doc["message"]
    assert open_at(sim, "qfex")["AAPL-USD"] == D(25)

    full = cli.run("close", "q", "AAPL-USD", "--yes")
    assert full.returncode == 0, full.stderr
    assert "Closed, verified flat: filled 25.00; venue data shows the position flat" in \
        full.stdout
    assert "AAPL-USD" not in open_at(sim, "qfex")
    flat = cli.run("close", "q", "AAPL-USD", "--yes")
    assert flat.returncode == 0 and "Already flat: no open AAPL-USD position on q; nothing " \
        "to close, nothing was sent" in flat.stdout

    resting = cli.run("close", "e", "USD_SOL_PERP", "--qty", "20", "--price", "400", "--yes",
                      "--json")
    assert resting.returncode == 8, resting.stderr
    doc = json.loads(resting.stdout)
    assert doc["outcome"] == "resting" and doc["order_id"]
    assert len(sim.requests("qfex", kind="close")) == 3  # one per run that sent; none resent
    assert len(sim.requests("everstrike", kind="close")) == 1
    intents = [r for r in cli.journal() if r["kind"] == "intent"]
    assert [r["reason"] for r in intents] == [None, "INC-9", None, None]


def test_flatten_cancels_a_resting_close_before_closing(desk_sim: Simulator, cli: Cli) -> None:
    resting = cli.run("close", "e", "USD_SOL_PERP", "--qty", "20", "--price", "400", "--yes",
                      "--json")
    assert resting.returncode == 8, resting.stderr
    order_id = json.loads(resting.stdout)["order_id"]
    scope = ("flatten", "--account", "e", "--symbol", "USD_SOL_PERP")
    kept = cli.run(*scope, "--keep-resting", "--dry-run", "--json")
    assert json.loads(kept.stdout)["plan"]["items"][0]["cancels"] == []
    shown = cli.run(*scope, "--dry-run")
    assert f"cancel limit order {order_id}: POST /auth/cancel" in shown.stdout
    assert cancels(desk_sim) == 0

    proc = cli.run(*scope, "--yes", "--json")
    assert proc.returncode == 0, proc.stderr
    item = json.loads(proc.stdout)["report"]["items"][0]
    assert (item["outcome"], item["cancelled_orders"]) == ("closed_verified_flat", [order_id])
    posts = [r.kind for r in desk_sim.requests("everstrike")
             if r.channel == "http" and r.method == "POST"]
    assert posts == ["/auth/close", "/auth/cancel", "/auth/close"]


def test_flatten_with_a_forced_rejection_exits_4(desk_sim: Simulator, cli: Cli) -> None:
    desk_sim.qfex.faults.force_status("REJECTED", symbol="TSLA-USD")
    proc = cli.run("flatten", "--venue", "qfex", "--yes", "--json")
    assert proc.returncode == 4, proc.stderr
    report = json.loads(proc.stdout)["report"]
    outcomes = {i["symbol"]: i["outcome"] for i in report["items"]}
    assert outcomes == {"AAPL-USD": "closed_verified_flat", "TSLA-USD": "rejected"}
    assert open_at(desk_sim, "qfex") == {"TSLA-USD": D(-10)}


def test_a_close_without_an_answer_exits_5_and_is_not_resent(desk_sim: Simulator,
                                                             cli: Cli) -> None:
    """Once connected, the simulator holds every reply 1 s; the CLI waits 0.2 s for one."""

    def slow_venue(proc: subprocess.Popen[bytes], err: Stream) -> None:
        desk_sim.qfex.faults.latency = 1.0

    rc, out, err = converse(cli, ("close", "q", "TSLA-USD", "--timeout", "0.2", "--json"),
                            "[y/N]", "y", slow_venue)
    assert rc == 5, err
    doc = json.loads(out)
    assert doc["outcome"] == "unknown" and "Nothing was resent" in doc["message"]
    assert len(desk_sim.requests("qfex", kind="close")) == 1


# ------------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize(("args", "message"), [
    (("close", "q", "AAPL-USD", "--qty", "1,5"), "--qty must be a plain decimal number"),
    (("close", "q", "AAPL-USD", "--qty", "-3"), "--qty must be greater than zero"),
    (("close", "q", "AAPL-USD", "--price", "1e3"), "--price must be a plain decimal"),
    (("close", "q", "AAPL-USD", "--tif", "IOC"), "--tif applies to a limit close"),
    (("close", "q", "AAPL-USD", "--close-on-trigger"), "--close-on-trigger needs"),
    (("close", "q", "AAPL-USD", "--qty", "1", "--percent", "50"),
     "--percent can't be given with --qty"),
    (("close", "q", "AAPL-USD", "--percent", "120"), "--percent 120 is more than 100"),
    (("close", "q", "AAPL-USD", "--reason", "x" * 201), "at most 200"),
    (("flatten", "--side", "long"), "one of the arguments --account --venue --all"),
    (("flatten", "--account", "q", "--all"), "not allowed with argument"),
    (("flatten", "--venue", "binance", "--dry-run"), "unknown venue 'binance'"),
    (("positions", "--venue", "x"), "unknown venue 'x'"),
])
def test_argument_errors_exit_2_before_connecting(desk_sim: Simulator, cli: Cli,
                                                  args: tuple[str, ...], message: str) -> None:
    proc = cli.run(*args, "--yes") if args[0] != "positions" else cli.run(*args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert desk_sim.requests("qfex") == [] and desk_sim.requests("everstrike") == []


@pytest.mark.parametrize(("args", "message"), [
    (("close", "q", "AAPL-USD", "--qty", "41"), "--qty 41 is more than the position size 40"),
    (("close", "q", "AAPL-USD", "--qty", "1.005"), "multiple of the lot size 0.01"),
    (("close", "q", "AAPL-USD", "--price", "250.001"), "multiple of the tick size 0.01"),
    (("close", "q", "AAPL-USD", "--price", "99999"), "above QFEX's maximum price"),
    (("close", "q", "AAPL-USD", "--trigger-price", "200", "--trigger-event", "index"),
     "QFEX triggers on the mark price only"),
    (("close", "q", "AAPL-USD", "--trigger-price", "200", "--close-on-trigger"),
     "QFEX has no close-on-trigger option"),
    (("close", "q", "AAPL-USD", "--trigger-price", "200", "--price", "199"),
     "--price and --trigger-price can't be combined on QFEX"),
    (("close", "e", "USD_ETH_PERP", "--price", "4000", "--tif", "GTC"),
     "Everstrike's close endpoint takes no time in force"),
    (("close", "q", "NOPE-USD"), "no open position in 'NOPE-USD' on q"),
    (("close", "nobody", "AAPL-USD"), "unknown account 'nobody'"),
    (("flatten", "--account", "nobody"), "unknown account 'nobody'"),
])
def test_checks_against_the_venue_exit_2_and_send_nothing(
    desk_sim: Simulator, cli: Cli, args: tuple[str, ...], message: str
) -> None:
    proc = cli.run(*args, "--yes", "--json")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert json.loads(proc.stdout) == {"error": proc.stderr.split(": ", 1)[1].strip(),
                                       "exit_code": 2}
    assert closes(desk_sim) == 0
    assert not set(ACTIONS) & set(cli.kinds())


# ------------------------------------------------------------------------------- confirmation
@pytest.mark.parametrize("command", [("close", "q", "AAPL-USD"), ("flatten", "--account", "q")])
def test_without_yes_and_without_a_terminal_it_refuses(desk_sim: Simulator, cli: Cli,
                                                       command: tuple[str, ...]) -> None:
    proc = cli.run(*command)  # stdin is /dev/null
    assert proc.returncode == 2
    assert NO_TTY in proc.stderr
    assert desk_sim.requests("qfex") == []  # refused before anything was dialled
    assert cli.kinds() == []


@contextlib.contextmanager
def child_on_terminal(cli: Cli, *args: str) -> Iterator[tuple[subprocess.Popen[bytes], int,
                                                             Stream, Stream]]:
    """The CLI with a pseudo-terminal on stdin (echo off, so nothing typed comes back) and
    pipes for stdout and stderr; yields (process, terminal master, stdout, stderr)."""
    master, slave = pty.openpty()
    try:
        attrs = termios.tcgetattr(slave)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        proc = cli.popen(*args, stdin=slave)
    finally:
        os.close(slave)  # the child holds its own copy
    assert proc.stdout is not None and proc.stderr is not None
    out, err = Stream(proc.stdout), Stream(proc.stderr)
    try:
        yield proc, master, out, err
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        out.close()
        err.close()
        proc.stdout.close()
        proc.stderr.close()
        os.close(master)


class Stream:
    """Read a child's pipe as it arrives, waiting for a given text with a deadline."""

    def __init__(self, pipe: Any) -> None:
        self.fd = pipe.fileno()
        os.set_blocking(self.fd, False)
        self.text = ""
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.fd, selectors.EVENT_READ)

    def close(self) -> None:
        self._sel.close()

    def _pump(self, timeout: float) -> bool:
        if not self._sel.select(timeout):
            return True
        chunk = os.read(self.fd, 65536)
        self.text += chunk.decode("utf-8", "replace")
        return bool(chunk)

    def wait_for(self, needle: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text:
            left = deadline - time.monotonic()
            if left <= 0 or not self._pump(left):
                raise AssertionError(f"no {needle!r} in: {self.text}")

    def rest(self) -> str:
        """Everything up to end of file (the child exited or closed it)."""
        deadline = time.monotonic() + RUN_TIMEOUT
        while self._pump(max(0.0, deadline - time.monotonic())):
            if time.monotonic() >= deadline:
                raise AssertionError(f"the stream never ended: {self.text}")
        return self.text


Hook = Callable[[subprocess.Popen[bytes], Stream], None]


def converse(cli: Cli, args: tuple[str, ...], prompt: str, answer: str,
             before_answer: Hook | None = None) -> tuple[int, str, str]:
    """Run with a terminal on stdin, wait for ``prompt`` on stderr, type ``answer``."""
    with child_on_terminal(cli, *args) as (proc, master, out, err):
        err.wait_for(prompt)
        if before_answer is not None:
            before_answer(proc, err)
        if answer:
            os.write(master, answer.encode() + b"\n")
        rc = proc.wait(timeout=RUN_TIMEOUT)
        return rc, out.rest(), err.rest()


def test_close_confirmed_with_y_on_a_terminal(desk_sim: Simulator, cli: Cli) -> None:
    rc, out, err = converse(cli, ("close", "q", "TSLA-USD"), "Send this close? [y/N]", "y")
    assert rc == 0, out + err
    assert "Request (keys and signatures redacted):" in out  # shown before the question
    assert "Closed, verified flat: " in out
    assert len(desk_sim.requests("qfex", kind="close")) == 1


def test_close_not_confirmed_sends_nothing(desk_sim: Simulator, cli: Cli) -> None:
    rc, out, err = converse(cli, ("close", "q", "TSLA-USD"), "[y/N]", "n")
    assert rc == 6, out + err
    assert "Not confirmed: nothing was sent" in out
    assert closes(desk_sim) == 0 and not set(ACTIONS) & set(cli.kinds())


def test_live_close_needs_the_typed_word(bare_sim: Simulator, cli: Cli) -> None:
    qfex_account(bare_sim, cli, "prod", [("AAPL-USD", D(5), D(220))], Environment.LIVE)
    rc, out, err = converse(cli, ("close", "prod", "AAPL-USD"), 'Type "CLOSE LIVE"', "y")
    assert rc == 6 and "This is a LIVE account" in err
    assert closes(bare_sim) == 0
    rc, out, err = converse(cli, ("close", "prod", "AAPL-USD"), 'Type "CLOSE LIVE"',
                            "CLOSE LIVE")
    assert rc == 0, out + err
    assert len(bare_sim.requests("qfex", kind="close")) == 1


def test_flatten_asks_for_the_plan_word(desk_sim: Simulator, cli: Cli) -> None:
    wrong = converse(cli, ("flatten", "--all"), 'Type "FLATTEN" to confirm', "flatten")
    assert wrong[0] == 6 and "Not confirmed: nothing was sent." in wrong[1]
    assert closes(desk_sim) == 0 and "intent" not in cli.kinds()

    rc, out, err = converse(cli, ("flatten", "--all", "--json"), 'Type "FLATTEN" to confirm',
                            "FLATTEN")
    assert rc == 0, err
    assert "Flatten plan fp-" in err  # with --json the plan is shown on stderr to confirm
    doc = json.loads(out)
    assert doc["report"]["all_flat"] is True and doc["plan"]["plan_id"] == \
        doc["report"]["plan_id"]
    assert closes(desk_sim) == 4


def test_a_plan_with_a_live_account_asks_for_flatten_live(bare_sim: Simulator,
                                                           cli: Cli) -> None:
    es_account(bare_sim, cli, "prod", [("USD_SOL_PERP", D(3), D(190))], Environment.LIVE)
    rc, out, _err = converse(cli, ("flatten", "--account", "prod"),
                            'Type "FLATTEN LIVE" to confirm', "FLATTEN")
    assert rc == 6 and closes(bare_sim) == 0
    assert "[LIVE]" in out


def test_ctrl_c_at_the_prompt_sends_nothing(desk_sim: Simulator, cli: Cli) -> None:
    def interrupt(proc: subprocess.Popen[bytes], err: Stream) -> None:
        proc.send_signal(signal.SIGINT)

    rc, _out, err = converse(cli, ("flatten", "--all"), "to confirm", "", interrupt)
    assert rc == 130
    assert "interrupted; nothing was sent" in err
    assert closes(desk_sim) == 0 and "intent" not in cli.kinds()


def test_ctrl_c_during_a_flatten_stops_sending_and_names_what_was_sent(
    bare_sim: Simulator, cli: Cli
) -> None:
    """24 Everstrike positions, fewer closes in flight at a time (its flatten_concurrency),
    replies held 1 s: the interrupt lands while the first ones are in flight."""
    pairs = ["USD_BTC_PERP", "USD_ETH_PERP", "USD_SOL_PERP", "USD_XRP_PERP", "USD_DOGE_PERP",
             "USD_BTCCALL_PERP"]
    for n in range(4):
        es_account(bare_sim, cli, f"e{n}", [(p, D(1), D(2)) for p in pairs])

    with child_on_terminal(cli, "flatten", "--all", "--json") as (proc, master, out, err):
        err.wait_for('Type "FLATTEN" to confirm')
        bare_sim.everstrike.faults.latency = 1.0
        os.write(master, b"FLATTEN\n")
        err.wait_for(": sending (")
        proc.send_signal(signal.SIGINT)
        err.wait_for("stopping: nothing new will be sent")
        rc = proc.wait(timeout=RUN_TIMEOUT)
        stdout, stderr = out.rest(), err.rest()
    assert rc == 130, stderr
    doc = json.loads(stdout)
    assert doc["interrupted"] is True and doc["report"]["cancelled"] is True
    items = doc["report"]["items"]
    sent = [i for i in items if i["sent"]]
    assert len(bare_sim.requests("everstrike", kind="close")) == len(sent)
    assert all(i["outcome"] == "cancelled_before_send" for i in items if not i["sent"])
    cap = venue_info(EVERSTRIKE).flatten_concurrency
    assert cap is not None and cap < len(items)  # so some had to wait for a slot
    assert len(sent) < len(items)  # some in flight, the others waiting for a slot
    assert all(i["outcome"] == "closed_verified_flat" for i in sent)  # followed to the end
    stop_line = next(line for line in stderr.splitlines() if "stopping:" in line)
    named = stop_line.split("followed to the end: ", 1)[1]
    assert all(f"{i['account']}/everstrike/{i['symbol']}" in named for i in sent)


def test_flatten_keeps_each_everstrike_account_to_its_in_flight_option(
    bare_sim: Simulator, cli: Cli
) -> None:
    """``max_in_flight`` in an account's settings holds in a CLI flatten. The simulator holds
    every reply 0.2 s, so closes of one account that arrived within 0.2 s of each other were in
    flight together: never more than its option allows."""
    pairs = ["USD_BTC_PERP", "USD_ETH_PERP", "USD_SOL_PERP", "USD_XRP_PERP"]
    one = es_account(bare_sim, cli, "one", [(p, D(1), D(2)) for p in pairs[:3]],
                     options={"max_in_flight": "1"})
    two = es_account(bare_sim, cli, "two", [(p, D(-1), D(2)) for p in pairs],
                     options={"max_in_flight": "2"})
    bare_sim.everstrike.faults.latency = 0.2
    proc = cli.run("flatten", "--venue", "everstrike", "--yes", "--json")
    assert proc.returncode == 0, proc.stderr
    assert open_at(bare_sim, "everstrike") == {}
    arrivals: dict[str, list[float]] = {one.public_key: [], two.public_key: []}
    for r in bare_sim.requests("everstrike", kind="close"):
        arrivals[r.headers["x-api-key"]].append(r.time)
    assert [len(a) for a in arrivals.values()] == [3, 4]  # one each, nothing resent
    assert most_within(arrivals[one.public_key], 0.2) == 1
    assert most_within(arrivals[two.public_key], 0.2) == 2
    (start,) = [r for r in cli.journal() if r["kind"] == "flatten_start"]
    assert json.loads(start["payload"])["in_flight"]["accounts"] == {"one": 1, "two": 2}


def test_a_refused_in_flight_option_is_named_and_nothing_is_sent(bare_sim: Simulator,
                                                                cli: Cli) -> None:
    es_account(bare_sim, cli, "e", [("USD_ETH_PERP", D(1), D(2))],
               options={"max_in_flight": "0"})
    proc = cli.run("flatten", "--account", "e", "--yes")
    assert proc.returncode == EXIT_CONNECTION_FAILED
    assert "e: could not connect: option max_in_flight='0' must be a whole number from 1 to " \
        "64" in proc.stderr
    assert closes(bare_sim) == 0


def most_within(times: list[float], window: float) -> int:
    """The most arrivals within ``window`` seconds of each other."""
    ordered = sorted(times)
    return max(sum(1 for t in ordered if start <= t < start + window) for start in ordered)


# ------------------------------------------------------------------------------- in process
def test_in_process_against_a_simulator_the_test_controls(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``Deps.simulator``: ``--demo`` runs on the test's simulator (demo accounts) and leaves it
    running; a forced rejection gives exit 4 and a report whose retry covers just that one."""
    sim.everstrike.faults.force_order_status("REJECTED", "Insufficient margin",
                                             pair="USD_ETH_PERP")
    path = tmp_path / "journal.sqlite3"
    deps = Deps(simulator=sim, load_settings=Settings,
                open_journal=lambda demo, name: Journal(path, operator="tester"))
    rc = cli_flatten.main(["--account", "Everstrike demo", "--reason", "INC-5", "--yes",
                           "--demo", "--json"], deps=deps)
    captured = capsys.readouterr()
    assert rc == 4, captured.err
    report = json.loads(captured.out)["report"]
    assert report["totals"] == {"closed_verified_flat": 7, "rejected": 1}
    eth = next(i for i in report["items"] if i["symbol"] == "USD_ETH_PERP")
    assert eth["outcome"] == "rejected" and "Insufficient margin" in eth["message"]
    assert open_at(sim, "everstrike") == {"USD_ETH_PERP": D("-3.5")}
    assert len(sim.requests("everstrike", kind="close")) == 8  # the simulator still answers

    rc = cli_close.main(["Everstrike demo", "USD_ETH_PERP", "--yes", "--demo"], deps=deps)
    assert rc == 0, capsys.readouterr().err
    assert open_at(sim, "everstrike") == {}
    journal = Journal(path, read_only=True)
    try:
        assert journal.verify_chain().ok
        kinds = [r.kind for r in journal.iter_all()]
        assert kinds.count("flatten_report") == 1 and kinds.count("intent") == 9
    finally:
        journal.close()


def test_the_cli_can_journal_beside_the_running_app(desk_sim: Simulator, cli: Cli) -> None:
    """The app keeps its journal open while support staff run the CLI on the same file: both
    extend one chain."""
    app = Journal(cli.journal_path(demo=False), operator="app")  # what the open app holds
    try:
        app.append_durable("note", {"n": 1})
        proc = cli.run("flatten", "--account", "e", "--yes")
        assert proc.returncode == 0, proc.stderr
        app.append_durable("note", {"n": 2})  # the app goes on journaling after the CLI wrote
        assert app.verify_chain().ok
        records = cli.journal()
        assert records[0]["kind"] == records[-1]["kind"] == "note"
        assert {"intent", "flatten_report"} <= {r["kind"] for r in records}
    finally:
        app.close()
