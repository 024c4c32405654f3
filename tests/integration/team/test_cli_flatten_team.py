"""``closeout flatten`` (and ``close --dry-run``) in team mode, as processes against the
simulator and a real PostgreSQL, while another desk holds the lease on one of the positions: the
flatten plans after it has heard the lease, lists that position as skipped with who is closing
it (text and ``--json``) and sends nothing for it; ``--include-elsewhere`` plans it, and its
close is refused by the lease (a flatten never overrides one), with the holder and exit 6."""

from __future__ import annotations

import asyncio
import json
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from core.flatten import EXIT_NOT_DONE
from core.model import PositionKey
from core.settings import Settings, dump_settings
from core.sim import Simulator
from core.team.config import TeamConfig
from core.team.coordinator import TeamCoordinator
from core.venues.qfex import QFEX
from tests.helpers.postgres import TeamDatabase
from tests.integration.team.test_cli_team import _run
from tests.integration.test_cli import Cli, qfex_account

AAPL = PositionKey("client-7", QFEX, "AAPL-USD")


def _closes(sim: Simulator, symbol: str) -> int:
    return sum(symbol in r.body for r in sim.requests("qfex", kind="close"))


@pytest.mark.asyncio
@pytest.mark.timeout(300)
async def test_the_cli_flatten_skips_what_another_desk_is_closing_and_never_overrides_it(
    bare_sim: Simulator, team_db: TeamDatabase, tmp_path: Path,
) -> None:
    cli = Cli(tmp_path / "home", {}, [])
    account = qfex_account(bare_sim, cli, "client-7", [("AAPL-USD", Decimal(40), Decimal(220)),
                                                       ("TSLA-USD", Decimal(-10), Decimal(350))])
    config = TeamConfig(f"postgresql://closeout_app@127.0.0.1:{team_db.cluster.port}/"
                        f"{team_db.name}", "CLI desk", 10.0)
    path = cli.home / "config" / "closeout" / "settings.toml"
    path.write_text(dump_settings(Settings(accounts=[account], team=config)), encoding="utf-8")

    async def connect() -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(team_db.app_dsn, autocommit=True)

    async def run(*args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(_run, cli, config, *args)

    other = TeamCoordinator(connect, "desk-other", "maria", desk_name="Desk 3", ttl_s=120)
    try:
        await other.acquire(AAPL, "their-intent")

        # A dry run's JSON lists the skipped position with who is closing it.
        dry = await run("flatten", "--account", "client-7", "--dry-run", "--json")
        assert dry.returncode == 0, dry.stderr + dry.stdout
        doc = json.loads(dry.stdout)
        assert [i["symbol"] for i in doc["plan"]["items"]] == ["TSLA-USD"]
        (skipped,) = doc["skipped"]
        assert (skipped["position"], skipped["desk"], skipped["operator"]) == \
            (str(AAPL), "Desk 3", "maria")
        assert skipped["text"].startswith("Desk 3 (maria) is closing it")
        assert doc["elsewhere"] == doc["skipped"] and not doc["included_elsewhere"]

        # The flatten closes the rest, lists the skipped one, sends nothing for it: exit 6,
        # since that position is not known to be flat.
        done = await run("flatten", "--account", "client-7", "--yes")
        assert done.returncode == EXIT_NOT_DONE, done.stderr + done.stdout
        assert f"- {AAPL}: skipped: Desk 3 (maria) is closing it" in done.stdout
        assert "Not flattened: 1 position another desk is closing" in done.stdout
        assert (_closes(bare_sim, "AAPL-USD"), _closes(bare_sim, "TSLA-USD")) == (0, 1)

        # Included, it is refused by the lease: reported with the holder, never overridden.
        included = await run("flatten", "--account", "client-7", "--yes",
                             "--include-elsewhere", "--json")
        assert included.returncode == EXIT_NOT_DONE, included.stderr + included.stdout
        doc = json.loads(included.stdout)
        assert doc["skipped"] == [] and doc["included_elsewhere"]
        assert doc["elsewhere"][0]["position"] == str(AAPL)
        (item,) = doc["report"]["items"]
        assert item["outcome"] == "skipped" and not item["sent"]
        assert "Desk 3 (maria) is closing this" in item["message"]
        assert doc["exit_code"] == EXIT_NOT_DONE
        assert _closes(bare_sim, "AAPL-USD") == 0
        kinds = cli.kinds()
        assert "lease_held" in kinds and "lease_override" not in kinds

        # A close's dry run says who holds the lease.
        close = await run("close", "client-7", "AAPL-USD", "--dry-run")
        assert close.returncode == 0, close.stderr + close.stdout
        assert "Lease:    Desk 3 (maria) is closing this" in close.stdout
        assert "a send is refused; --override-reason sends anyway" in close.stdout
        assert _closes(bare_sim, "AAPL-USD") == 0
    finally:
        await other.close()
