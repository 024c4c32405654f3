"""``closeout close`` in team mode, as a process against the simulator and a real PostgreSQL:
refused with the other desk's name while it holds the lease (nothing sent), sent once with
``--override-reason`` (journaled as an override), and its records in the shared journal."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from core.flatten import EXIT_NOT_DONE
from core.model import PositionKey
from core.settings import Settings, dump_settings
from core.sim import Simulator
from core.team.config import TeamConfig, keyring_user
from core.team.coordinator import TeamCoordinator
from core.team.store import verify_team
from core.venues.qfex import QFEX
from tests.helpers.keyrings import SECRETS_ENV
from tests.helpers.postgres import APP_PASSWORD, TeamDatabase
from tests.integration.test_cli import REPO, Cli, qfex_account

KEY = PositionKey("client-7", QFEX, "AAPL-USD")


def _run(cli: Cli, config: TeamConfig, *args: str) -> subprocess.CompletedProcess[str]:
    env = cli.env
    secrets = json.loads(env[SECRETS_ENV])
    secrets[keyring_user(config)] = APP_PASSWORD
    env[SECRETS_ENV] = json.dumps(secrets)
    return subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=REPO, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.mark.asyncio
@pytest.mark.timeout(300)
async def test_the_cli_is_refused_by_another_desks_lease_then_overrides_it_once(
    bare_sim: Simulator, team_db: TeamDatabase, tmp_path: Path,
) -> None:
    cli = Cli(tmp_path / "home", {}, [])
    account = qfex_account(bare_sim, cli, "client-7", [("AAPL-USD", Decimal(40), Decimal(220))])
    config = TeamConfig(f"postgresql://closeout_app@127.0.0.1:{team_db.cluster.port}/"
                        f"{team_db.name}", "CLI desk", 10.0)
    path = cli.home / "config" / "closeout" / "settings.toml"
    path.write_text(dump_settings(Settings(accounts=[account], team=config)), encoding="utf-8")

    async def connect() -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(team_db.app_dsn, autocommit=True)

    other = TeamCoordinator(connect, "desk-other", "maria", desk_name="Desk 3", ttl_s=60)
    try:
        await other.acquire(KEY, "their-intent")
        refused = await asyncio.to_thread(_run, cli, config, "close", "client-7", "AAPL-USD",
                                          "--yes")
        assert refused.returncode == EXIT_NOT_DONE, refused.stderr + refused.stdout
        said = refused.stdout + refused.stderr
        assert "Desk 3 (maria) is closing this" in said and "--override-reason" in said
        assert bare_sim.requests("qfex", kind="close") == []
        assert "lease_held" in cli.kinds() and "request" not in cli.kinds()

        sent = await asyncio.to_thread(_run, cli, config, "close", "client-7", "AAPL-USD",
                                       "--yes", "--override-reason", "incident 9: desk 3 froze")
        assert sent.returncode == 0, sent.stderr + sent.stdout
        assert len(bare_sim.requests("qfex", kind="close")) == 1
        overrides = [r for r in cli.journal() if r["kind"] == "lease_override"]
        assert len(overrides) == 1
        assert json.loads(overrides[0]["payload"])["reason"] == "incident 9: desk 3 froze"
        assert json.loads(overrides[0]["payload"])["took_from"]["desk_name"] == "Desk 3"
    finally:
        await other.close()
    local = cli.journal()
    with psycopg.connect(team_db.admin_dsn) as db:
        desks = dict(db.execute("SELECT desk_id, name FROM desks").fetchall())
        (cli_desk,) = [d for d, n in desks.items() if n == "CLI desk"]
        count = db.execute("SELECT count(*) FROM records WHERE desk_id = %s",
                           (cli_desk,)).fetchone()
        report = verify_team(db)

    assert count is not None and count[0] == len(local)  # every record, once
    assert report[cli_desk].ok

    verified = await asyncio.to_thread(_run, cli, config, "journal", "verify", "--team")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"ok: CLI desk ({cli_desk}): {len(local)} records, chain intact" in verified.stdout
    assert f"ok: this desk ({cli_desk}): the shared copy matches" in verified.stdout
    exported = await asyncio.to_thread(_run, cli, config, "journal", "export", "--team",
                                       "--format", "jsonl", "--kind", "lease_override")
    assert exported.returncode == 0, exported.stderr
    (line,) = exported.stdout.splitlines()
    row = json.loads(line)
    assert (row["desk_name"], row["kind"]) == ("CLI desk", "lease_override")
