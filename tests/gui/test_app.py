"""The ``closeout`` entry point, run for real in a subprocess (its own QApplication and loop)."""

from __future__ import annotations

import os
import signal
import sqlite3
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

import gui.launch
from core.desk import Desk
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.app import build_parser
from gui.main_window import MainWindow
from tests.helpers.windows import shut

ROOT = Path(__file__).resolve().parents[2]
# The offscreen platform plugin says this when any top-level window with a layout is shown;
# it is Qt's, not ours, and no real platform prints it.
PLATFORM_NOISE = "This plugin does not support propagateSizeHints()"


def app_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        PYTHONPATH=str(ROOT),
    )
    return env


def significant(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip() and line != PLATFORM_NOISE]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_parser_options() -> None:
    args = build_parser().parse_args(["--demo", "--screenshot", "x.png", "--seed", "11"])
    assert args.demo
    assert args.screenshot == Path("x.png")
    assert args.seed == 11
    assert build_parser().parse_args([]).screenshot is None


def test_screenshot_writes_a_png_of_the_window(tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    proc = subprocess.run(
        [sys.executable, "-m", "gui.app", "--screenshot", str(shot)],
        cwd=ROOT, env=app_env(tmp_path), capture_output=True, text=True, timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert significant(proc.stderr) == []
    width, height = png_size(shot)
    assert (width, height) == (1280, 800)
    assert shot.stat().st_size > 20_000  # a real picture, not a blank frame
    journal = tmp_path / "data" / "closeout" / "demo-journal.sqlite3"
    assert journal.is_file()


def _connected_accounts(journal: Path) -> int:
    if not journal.is_file():
        return 0
    try:
        with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as db:
            rows = db.execute(
                "SELECT DISTINCT account FROM records WHERE kind = 'connection' "
                "AND payload LIKE '%\"connected\"%'"
            ).fetchall()
    except sqlite3.OperationalError:  # created but the schema is not there yet
        return 0
    return len(rows)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX-only")
def test_ctrl_c_quits_cleanly(tmp_path: Path) -> None:
    journal = tmp_path / "data" / "closeout" / "demo-journal.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gui.app", "--demo"],
        cwd=ROOT, env=app_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        # Poll the app's own audit journal: both demo accounts connected means it is up.
        while _connected_accounts(journal) < 2:
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the app did not connect within 30 s"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert significant(stderr) == []


@pytest.mark.asyncio
async def test_screenshot_gives_up_with_a_message_and_exit_2(
    qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(gui.launch, "SCREENSHOT_TIMEOUT", 0.2)
    window = MainWindow(Desk())  # no accounts: no positions will ever come
    window.show()
    try:
        rc = await gui.launch._take_screenshot(window, tmp_path / "never.png",
                                               {QFEX, EVERSTRIKE})
    finally:
        await shut(window)
    assert rc == 2
    assert not (tmp_path / "never.png").exists()
    err = capsys.readouterr().err
    assert "no positions from every venue" in err
    assert "no screenshot was saved" in err


@pytest.mark.asyncio
async def test_a_screenshot_shows_the_totals_of_the_rows_it_shows(
    qapp: QApplication, tmp_path: Path,
) -> None:
    """The totals strip refreshes on a timer; the picture must not catch it a refresh behind
    the rows (it once read "0 positions" over sixteen)."""
    from decimal import Decimal

    from core.model import Position, PositionKey, PositionSide

    window = MainWindow(Desk())
    window.show()
    try:
        for venue, symbol in ((QFEX, "AAPL-USD"), (EVERSTRIKE, "USD_ETH_PERP")):
            window.positions_model.upsert(Position(
                PositionKey("acct", venue, symbol), PositionSide.LONG, Decimal(2),
                entry_price=Decimal(10), mark_price=Decimal(11), unrealised_pnl=Decimal(2)))
        rc = await gui.launch._take_screenshot(window, tmp_path / "shot.png", {QFEX, EVERSTRIKE})
        assert rc == 0 and (tmp_path / "shot.png").is_file()
        assert window.totals.strip.scope.text().startswith("Totals · 2 positions")
    finally:
        await shut(window)


def _modules_after(code: str, tmp_path: Path) -> set[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    proc = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        cwd=ROOT, env=app_env(tmp_path), capture_output=True, text=True, timeout=60,
        check=True,
    )
    return set(proc.stdout.split())


ACCOUNT_SETTINGS = ('version = 2\n[[accounts]]\nname = "a"\nvenue = "qfex"\n'
                    'environment = "live"\npublic_key = "k"\n')

BOOT = """
import concurrent.futures, gui.app
args = gui.app.build_parser().parse_args({argv!r})
with concurrent.futures.ThreadPoolExecutor(2) as pool:
    boot = gui.app.boot(args, pool)
    print("store", boot.store is not None)
    print("sim", boot.sim is not None)
    if boot.store is not None:
        boot.store.result()
    if boot.sim is not None:
        boot.sim.result().stop()
"""


def test_the_slow_work_starts_and_the_core_loads_before_qt(tmp_path: Path) -> None:
    """gui.app starts the simulator, and imports the core and the venue clients, before
    PySide6 is loaded (its import hook makes every later import dearer). Demo mode reads no
    secret, so the keyring is not probed (nor imported) at the start."""
    loaded = _modules_after(BOOT.format(argv=["--demo"]), tmp_path)
    assert {m.split(".")[0] for m in loaded} & {"PySide6", "shiboken6", "qasync"} == set()
    assert {"core.desk", "core.journal", "core.sim", "httpx", "websockets"} <= loaded
    assert {"store", "False", "sim", "True"} <= loaded  # the printed lines
    assert not {m for m in loaded if m.split(".")[0] == "keyring"}


def test_with_accounts_configured_the_keyring_is_probed_at_the_start(tmp_path: Path) -> None:
    settings = tmp_path / "config" / "closeout" / "settings.toml"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(ACCOUNT_SETTINGS, encoding="utf-8")
    loaded = _modules_after(BOOT.format(argv=[]), tmp_path)
    assert {"store", "True", "sim", "False"} <= loaded
    assert "keyring" in loaded and "core.sim" not in loaded


def test_the_window_leaves_the_keyring_and_the_accounts_dialog_unimported(
    tmp_path: Path,
) -> None:
    """Both load when first needed: the keyring when a secret is read or kept (or, in demo
    mode, once the accounts are up), the Accounts dialog when it opens."""
    loaded = _modules_after("import gui.launch", tmp_path)
    assert "gui.main_window" in loaded
    assert not {m for m in loaded if m.split(".")[0] == "keyring"}
    assert not {m for m in loaded if m.startswith("gui.dialogs.accounts")}


def test_the_first_window_leaves_the_flatten_dialogs_unimported(tmp_path: Path) -> None:
    """The Flatten menu is there at once; its dialogs are imported when one opens."""
    loaded = _modules_after("import gui.launch, gui.controllers.flatten", tmp_path)
    assert "gui.main_window" in loaded
    assert not {m for m in loaded if m.startswith("gui.dialogs.flatten")}


def test_the_demo_accounts_are_known_before_the_simulator_starts() -> None:
    """The window shows each demo account as connecting while the simulator starts; the
    names it shows are the ones the simulator then offers."""
    import core.demo

    expected = core.demo.expected_demo_accounts()
    sim = core.demo.start_simulator(tick_interval=None)
    try:
        offered = [(a.name, a.venue) for a, _ in core.demo.demo_accounts(sim.info)]
    finally:
        sim.stop()
    assert expected == offered
    assert {venue for _, venue in expected} == {QFEX, EVERSTRIKE}


def test_settling_memory_freezes_what_exists_and_makes_full_collections_rare() -> None:
    """Run in its own process: it changes the collector for the whole process."""
    code = (
        "import gc\n"
        "from gui.app import FULL_COLLECTION_EVERY, settle_memory\n"
        "young, middle, _ = gc.get_threshold()\n"
        "settle_memory()\n"
        "assert gc.get_freeze_count() > 10_000, gc.get_freeze_count()\n"
        "assert gc.get_threshold() == (young, middle, FULL_COLLECTION_EVERY)\n"
        "assert FULL_COLLECTION_EVERY > 10\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
