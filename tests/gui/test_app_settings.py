"""gui.app and settings: a broken file is shown and left alone (demo mode), the operator name
reaches the journal, and configured accounts take their secrets from the keyring."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

import gui.app
from core.desk import Desk
from core.model import Environment
from core.secrets import SecretStore
from core.venue import AccountConfig, Credentials
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.main_window import MainWindow
from tests.gui.test_app import ROOT, app_env, significant
from tests.helpers.windows import shut

BROKEN = 'version = 2\n\n[[accounts]]\nname = "x"\nvenue = "qfex"\nenvironment = "live"\n' \
         'public_key = "p"\n[accounts.endpoints]\nrest = "http://api.qfex.com"\n'


def _settings(tmp_path: Path) -> Path:
    path = tmp_path / "config" / "closeout" / "settings.toml"
    path.parent.mkdir(parents=True)
    return path


def _operators(journal: Path) -> set[str]:
    with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as db:
        return {r[0] for r in db.execute("SELECT DISTINCT operator FROM records")}


def test_broken_settings_start_demo_mode_and_the_file_is_untouched(tmp_path: Path) -> None:
    path = _settings(tmp_path)
    path.write_text(BROKEN, encoding="utf-8")
    before = path.read_bytes()
    shot = tmp_path / "shot.png"
    proc = subprocess.run(
        [sys.executable, "-m", "gui.app", "--screenshot", str(shot)],
        cwd=ROOT, env=app_env(tmp_path), capture_output=True, text=True, timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = significant(proc.stderr)
    assert len(lines) == 1
    assert lines[0].startswith(f"closeout: {path}, line 9: ")
    assert "not encrypted" in lines[0]
    assert path.read_bytes() == before
    data = tmp_path / "data" / "closeout"
    assert (data / "demo-journal.sqlite3").is_file()
    assert not (data / "journal.sqlite3").exists()  # demo never writes the real journal


def test_operator_name_from_preferences_reaches_the_journal(tmp_path: Path) -> None:
    path = _settings(tmp_path)
    path.write_text('version = 2\n[preferences]\noperator_name = "Desk 3"\n', encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "gui.app", "--screenshot", str(tmp_path / "s.png")],
        cwd=ROOT, env=app_env(tmp_path), capture_output=True, text=True, timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    operators = _operators(tmp_path / "data" / "closeout" / "demo-journal.sqlite3")
    assert len(operators) == 1
    assert next(iter(operators)).endswith(" (Desk 3)")


def test_load_settings_reports_instead_of_raising(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    path = _settings(tmp_path)
    path.write_text("version = 99\n", encoding="utf-8")
    settings, error = gui.app._load_settings()
    assert settings.accounts == []
    assert error is not None and str(path) in error and "newer Closeout" in error
    assert str(path) in capsys.readouterr().err


def test_configured_accounts_take_secrets_from_the_store(qapp: QApplication) -> None:
    store = SecretStore()
    a = AccountConfig("a", QFEX, Environment.LIVE, "pub-a")
    b = AccountConfig("b", EVERSTRIKE, Environment.TESTNET, "pub-b")
    store.set("a", "secret-a")
    pairs, missing = gui.app._configured_accounts([a, b], store)
    assert pairs == [(a, Credentials("pub-a", "secret-a"))]
    assert missing == [b]


@pytest.mark.asyncio
async def test_settings_error_banner_shows_path_and_line(qapp: QApplication) -> None:
    window = MainWindow(Desk(), demo=True, history_poll_ms=3_600_000)
    try:
        assert window.settingsErrorBanner.isHidden()
        window.show_settings_error("/x/settings.toml, line 3: not valid TOML")
        assert not window.settingsErrorBanner.isHidden()
        text = window.settingsErrorBanner.text()
        assert "/x/settings.toml, line 3" in text and "demo mode" in text
    finally:
        await shut(window)
