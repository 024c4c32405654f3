"""Strict defaults for every test.

* Nothing writes into the real home directory: config/data/state go to a temporary tree.
* keyring uses an in-memory backend (never keyrings.alt, which stores plaintext).
* An unexpected log record at ERROR or above fails the test.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from tests.helpers.keyrings import MemoryKeyring

_HOME = Path(tempfile.mkdtemp(prefix="closeout-test-home-"))
for _var, _sub in (
    ("XDG_CONFIG_HOME", "config"),
    ("XDG_DATA_HOME", "data"),
    ("XDG_STATE_HOME", "state"),
    ("XDG_CACHE_HOME", "cache"),
):
    os.environ[_var] = str(_HOME / _sub)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    backend = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


class _ErrorCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def fail_on_error_logs(request: pytest.FixtureRequest) -> Iterator[_ErrorCollector]:
    """Tests that expect an ERROR record take this fixture and clear ``records``."""
    collector = _ErrorCollector()
    root = logging.getLogger()
    root.addHandler(collector)
    yield collector
    root.removeHandler(collector)
    if collector.records and not request.node.get_closest_marker("allow_error_logs"):
        lines = "\n".join(
            f"{r.name}: {r.getMessage()}" for r in collector.records
        )
        pytest.fail(f"unexpected ERROR log records:\n{lines}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "allow_error_logs: the test expects ERROR log records")
