"""The flatten tests' shared fixtures: a fresh fake venue world and a journal per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.journal import Journal
from tests.helpers.fakes import World


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal(tmp_path / "j.sqlite3", operator="tester")
    yield j
    j.close()


@pytest.fixture
def world() -> World:
    return World()
