"""The window's log file: warnings reach a rotating file under the user's log folder (or
``CLOSEOUT_LOG_DIR``), its size is bounded, and ``closeout`` (the window) sets it up."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

import platformdirs
import pytest

import gui.app
import gui.launch
from gui.logfile import (
    LOG_DIR_ENV,
    LOG_FILE,
    MAX_BYTES,
    default_log_dir,
    install_log_file,
    log_dir,
)


@pytest.fixture
def no_log_file() -> Iterator[None]:
    """Whatever a test installs on the root logger is taken off and closed afterwards."""
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in [h for h in root.handlers if h not in before]:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)


def test_a_warning_reaches_the_file(tmp_path: Path, no_log_file: None) -> None:
    handler = install_log_file(tmp_path / "logs")
    assert handler is not None
    logging.getLogger("core.venues.qfex").warning("reconnecting after %s", "a dropped socket")
    logging.getLogger("core.venues.qfex").info("too chatty for the file")
    handler.flush()
    text = (tmp_path / "logs" / LOG_FILE).read_text(encoding="utf-8")
    assert "WARNING core.venues.qfex" in text
    assert "reconnecting after a dropped socket" in text
    assert "too chatty" not in text
    assert log_dir() == tmp_path / "logs"
    assert install_log_file(tmp_path / "elsewhere") is handler  # once only


def test_the_file_rotates_and_stays_bounded(tmp_path: Path, no_log_file: None) -> None:
    handler = install_log_file(tmp_path, max_bytes=2_000, backups=2)
    assert handler is not None
    for i in range(200):
        logging.getLogger("bounded").warning("line %d %s", i, "x" * 60)
    handler.flush()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [LOG_FILE, f"{LOG_FILE}.1", f"{LOG_FILE}.2"]
    assert all((tmp_path / f).stat().st_size <= 2_000 for f in files)
    assert "line 199 " in (tmp_path / LOG_FILE).read_text(encoding="utf-8")


def test_by_default_it_keeps_five_files_of_two_megabytes(
    tmp_path: Path, no_log_file: None
) -> None:
    handler = install_log_file(tmp_path)
    assert handler is not None
    assert (handler.maxBytes, handler.backupCount + 1) == (MAX_BYTES, 5)
    assert MAX_BYTES == 2 * 1024 * 1024
    assert not (tmp_path / LOG_FILE).exists()  # made with its first record, not on every start


def test_the_folder_is_the_users_log_folder_unless_overridden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(LOG_DIR_ENV, raising=False)
    assert default_log_dir() == Path(platformdirs.user_log_path("closeout"))
    monkeypatch.setenv(LOG_DIR_ENV, str(tmp_path / "support"))
    assert default_log_dir() == tmp_path / "support"


def test_a_folder_that_cannot_be_made_costs_the_file_not_the_app(
    tmp_path: Path, no_log_file: None, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert install_log_file(blocker / "logs") is None
    assert "no log file" in capsys.readouterr().err


def test_the_window_entry_point_sets_up_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_log_file: None
) -> None:
    """``closeout`` (the window): the file is in place before the window starts."""
    monkeypatch.setenv(LOG_DIR_ENV, str(tmp_path))
    seen: list[Path] = []

    def fake_launch(boot: Any) -> int:
        seen.append(log_dir())
        logging.getLogger("gui").warning("from the window")
        return 0

    monkeypatch.setattr(gui.app, "boot", lambda args, pool: None)
    monkeypatch.setattr(gui.launch, "launch", fake_launch)
    assert gui.app.main(["--demo"]) == 0
    assert seen == [tmp_path]
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, RotatingFileHandler)]
    assert len(handlers) == 1
    handlers[0].flush()
    assert "from the window" in (tmp_path / LOG_FILE).read_text(encoding="utf-8")
