"""The window's start in team mode: a [team] table gives its desk the team stack (the leases
and the shared journal), with the password from the keyring; none gives a desk alone."""

from __future__ import annotations

import logging
from pathlib import Path

import keyring
import pytest

import gui.launch
from core.journal import Journal
from core.secrets import SERVICE, SecretStore
from core.settings import Settings
from core.team.config import TeamConfig, keyring_user

CONFIG = TeamConfig("postgresql://closeout_app@127.0.0.1:5433/closeout", "Desk 3", 20.0)


def test_no_team_table_is_a_desk_alone(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3", operator="maria")
    try:
        assert gui.launch._team(Settings(), SecretStore(), journal) is None
    finally:
        journal.close()


def test_a_team_table_gives_the_desk_the_team_stack_with_the_keyrings_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keyring.set_password(SERVICE, keyring_user(CONFIG), "from-the-keyring")
    journal = Journal(tmp_path / "j.sqlite3", operator="maria")
    try:
        caplog.set_level(logging.WARNING)
        stack = gui.launch._team(Settings(team=CONFIG), SecretStore(), journal)
        assert stack is not None and stack.config == CONFIG
        assert stack.coordinator.desk_name == "Desk 3" and stack.coordinator.ttl_s == 20.0
        assert "from-the-keyring" in stack._dsn
        assert not [r for r in caplog.records if "password" in r.getMessage()]
    finally:
        journal.close()


def test_without_a_password_it_says_so_and_still_tries(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = Journal(tmp_path / "j.sqlite3", operator="maria")
    try:
        caplog.set_level(logging.WARNING)
        stack = gui.launch._team(Settings(team=CONFIG), SecretStore(), journal)
        assert stack is not None and "password" not in stack._dsn
        assert any("no password for the team database" in r.getMessage()
                   for r in caplog.records)
    finally:
        journal.close()
