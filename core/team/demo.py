"""``make team-demo``: two desks on one team database, closing the same client accounts.

It starts, all on loopback and all thrown away at the end:

- a PostgreSQL cluster in a temporary folder (``core.team.cluster``), prepared with the app's
  role and a made-up password;
- the venue simulator, with its demo account on each venue (eight positions each);
- two Closeout windows, "Desk 1" and "Desk 2", each with its own home folder (settings,
  journal, desk id) whose settings.toml names those accounts and the team database.

Close a position in one window and the other shows who is closing it; close it in both at once
and one close reaches the venue while the other desk is told who won. Ctrl-C stops everything.
``--screenshot DIR`` instead starts both desks offscreen, saves each window to DIR and exits
(the test of this demo does that).

The secrets (the simulator's keys, the database password) are made up here and handed to the
desks through the demo's own read-only keyring (``core.team.demo_keyring``): a headless box has
no OS keyring, and nothing real is ever in it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from core.demo import demo_accounts
from core.settings import Preferences, Settings, dump_settings
from core.sim import Simulator
from core.team.cluster import LocalCluster
from core.team.config import TeamConfig, keyring_user
from core.team.demo_keyring import DEMO_SECRETS_ENV
from core.team.setup import APP_ROLE, DATABASE, prepare
from core.venue import AccountConfig

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[2]


def _accounts(sim: Simulator) -> tuple[list[AccountConfig], dict[str, str]]:
    """The simulator's own demo accounts (one per venue, eight positions each), shared by every
    desk, and their keys for the demo's keyring."""
    pairs = demo_accounts(sim.info)
    return [a for a, _ in pairs], {f"account:{a.name}": c.secret for a, c in pairs}


def _desk_env(home: Path, secrets_: dict[str, str], offscreen: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    for var in ("CONFIG", "DATA", "STATE", "CACHE"):
        env[f"XDG_{var}_HOME"] = str(home / var.lower())
    env["PYTHON_KEYRING_BACKEND"] = "core.team.demo_keyring.DemoKeyring"
    env[DEMO_SECRETS_ENV] = json.dumps(secrets_)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    if offscreen:
        env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make team-demo", description=__doc__.split("\n")[0])
    parser.add_argument("--desks", type=int, default=2, choices=range(2, 5), metavar="N",
                        help="how many desks (2 to 4)")
    parser.add_argument("--screenshot", type=Path, metavar="DIR",
                        help="start the desks offscreen, save each window to DIR, and exit")
    parser.add_argument("--seed", type=int, default=7, help="the simulator's seed")
    ns = parser.parse_args(argv)
    password = secrets.token_urlsafe(18)
    with tempfile.TemporaryDirectory(prefix="closeout-team-demo-") as tmp, \
            LocalCluster(sync_initdb=False) as cluster:
        prepare(cluster.dsn(), app_password=password)
        sim = Simulator(seed=ns.seed, tick_interval=1.0)
        sim.start()
        procs: list[subprocess.Popen[bytes]] = []
        try:
            accounts, keys = _accounts(sim)
            config = TeamConfig(f"postgresql://{APP_ROLE}@127.0.0.1:{cluster.port}/{DATABASE}")
            print(f"team database: {config.database} (a throwaway cluster in {cluster.root})")
            for i in range(1, ns.desks + 1):
                home = Path(tmp) / f"desk{i}"
                team = TeamConfig(config.database, f"Desk {i}", 15.0)
                path = home / "config" / "closeout" / "settings.toml"
                path.parent.mkdir(parents=True)
                path.write_text(dump_settings(Settings(
                    accounts=accounts, team=team,
                    preferences=Preferences(operator_name=f"operator {i}"))), encoding="utf-8")
                args = [sys.executable, "-m", "gui.app"]
                if ns.screenshot is not None:
                    args += ["--screenshot", str(ns.screenshot.resolve() / f"desk{i}.png")]
                env = _desk_env(home, {**keys, keyring_user(team): password},
                                offscreen=ns.screenshot is not None)
                procs.append(subprocess.Popen(args, cwd=ROOT, env=env))
                print(f"Desk {i}: started (home {home})")
            if ns.screenshot is not None:
                codes = [p.wait(timeout=120) for p in procs]
                _say_shared(cluster.dsn(dbname=DATABASE))
                return max(codes)
            print("Close a position in one window and watch the other. Ctrl-C stops it all.")
            with contextlib.suppress(KeyboardInterrupt):
                while all(p.poll() is None for p in procs):  # until a window is closed
                    time.sleep(0.5)
            return 0
        finally:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGINT)
            for p in procs:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(timeout=30)
                if p.poll() is None:
                    p.kill()
            sim.stop()


def _say_shared(dsn: str) -> None:
    """What the shared journal holds now: each desk and its records (the desks' proof)."""
    import psycopg

    with psycopg.connect(dsn) as db:
        rows = db.execute("SELECT d.name, count(r.desk_seq) FROM desks d LEFT JOIN records r "
                          "ON r.desk_id = d.desk_id GROUP BY d.name ORDER BY d.name").fetchall()
    for name, count in rows:
        print(f"shared journal: {name}: {count} records")


if __name__ == "__main__":
    sys.exit(main())
