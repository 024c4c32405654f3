"""Entry point: ``closeout`` (and ``python -m gui.app``).

One thread runs Qt and asyncio together (qasync). With no accounts configured the app runs in
demo mode against the embedded simulator, which runs in its own thread; ``--demo`` forces it.

Settings come from ``core.settings.load_settings``. A file that does not load is shown in a red
banner (path and line) and left untouched, and the app starts in demo mode. Configured accounts
connect with their secrets from the keyring; one without a secret gets a "needs secret" badge.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import qasync
import shiboken6
from PySide6.QtCore import (
    QEvent,
    QMessageLogContext,
    QObject,
    QTimer,
    QtMsgType,
    qInstallMessageHandler,
)
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from core.accounts import credentials_for
from core.desk import Desk
from core.journal import Journal
from core.model import Environment, Venue
from core.secrets import SecretStore
from core.settings import Settings, SettingsError, load_settings
from core.venue import AccountConfig, Credentials
from gui.controllers.flatten import install_flatten
from gui.main_window import MainWindow

__all__ = ["build_parser", "main", "resource_path"]

log = logging.getLogger("closeout")

SCREENSHOT_TIMEOUT = 20.0
Accounts = list[tuple[AccountConfig, Credentials]]


def resource_path(name: str) -> Path | None:
    """Find a bundled resource: in the package, the source tree, or a PyInstaller bundle."""
    here = Path(__file__).resolve().parent
    # Installed: gui/resources inside the package. Source tree (editable): resources/ beside gui/.
    candidates = [here / "resources" / name, here.parent / "resources" / name]
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.append(Path(bundle) / "resources" / name)
    return next((p for p in candidates if p.is_file()), None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="closeout",
        description="See every open position on every venue and close it exactly once.",
    )
    parser.add_argument(
        "--demo", action="store_true",
        help="run against the embedded simulator even if accounts are configured",
    )
    parser.add_argument(
        "--screenshot", type=Path, metavar="PATH",
        help="start, wait for positions from every venue, save a PNG of the window and exit",
    )
    parser.add_argument("--seed", type=int, default=7, help="simulator seed (demo mode)")
    return parser


def _load_settings() -> tuple[Settings, str | None]:
    """The settings, or defaults plus the error to show. A broken file is reported (path and
    line) and left untouched; the app then starts in demo mode rather than guess at accounts."""
    try:
        return load_settings(), None
    except SettingsError as exc:
        print(f"closeout: {exc}", file=sys.stderr)
        return Settings(), str(exc)


def _configured_accounts(
    accounts: Sequence[AccountConfig], store: SecretStore
) -> tuple[Accounts, list[AccountConfig]]:
    """Accounts with their secrets, and the accounts whose secret is missing."""
    pairs: Accounts = []
    missing: list[AccountConfig] = []
    for account in accounts:
        credentials = credentials_for(account, store)
        if credentials is None:
            missing.append(account)
        else:
            pairs.append((account, credentials))
    return pairs, missing


def _install_qt_message_filter() -> None:
    """Route Qt's messages to logging, minus one line of offscreen-platform noise
    ("This plugin does not support propagateSizeHints()", printed for every top-level window
    with a layout by QPlatformWindow's default implementation; no real platform prints it)."""
    qt_log = logging.getLogger("qt")
    levels = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.WARNING,
        QtMsgType.QtCriticalMsg: logging.ERROR,
        QtMsgType.QtFatalMsg: logging.CRITICAL,
    }

    def handler(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
        if "does not support propagateSizeHints" in message:
            return
        qt_log.log(levels.get(kind, logging.WARNING), "%s", message)

    qInstallMessageHandler(handler)


def _apply_style(app: QApplication) -> None:
    app.setApplicationName("Closeout")
    app.setApplicationDisplayName("Closeout")
    app.setOrganizationName("Closeout")
    app.setDesktopFileName("closeout")
    qss = resource_path("style.qss")
    if qss is not None:
        app.setStyleSheet(qss.read_text(encoding="utf-8"))
    for icon_name in ("closeout.png", "closeout.svg"):
        icon = resource_path(icon_name)
        if icon is not None:
            app.setWindowIcon(QIcon(str(icon)))
            break


class _PaintWatch(QObject):
    """Sets an asyncio event when the watched widget paints."""

    def __init__(self, event: asyncio.Event) -> None:
        super().__init__()
        self._event = event

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self._event.set()
        return False


def _venues_shown(window: MainWindow) -> set[Venue]:
    model = window.positions_model
    return {key.venue for key in model.all_keys()}


async def _take_screenshot(window: MainWindow, path: Path, want: set[Venue]) -> int:
    painted = asyncio.Event()
    watch = _PaintWatch(painted)
    viewport = window.positionsView.viewport()
    viewport.installEventFilter(watch)
    ready = asyncio.Event()

    def check(*_: object) -> None:
        if want <= _venues_shown(window):
            ready.set()

    window.positions_model.rowsInserted.connect(check)
    check()
    try:
        async with asyncio.timeout(SCREENSHOT_TIMEOUT):
            await ready.wait()
            painted.clear()
            viewport.update()
            await painted.wait()
            # One more turn so the log pane and header have painted their first lines too.
            await asyncio.sleep(0.3)
    except TimeoutError:
        shown = ", ".join(sorted(v.label for v in _venues_shown(window))) or "none"
        print(
            f"closeout: no positions from every venue within {SCREENSHOT_TIMEOUT:.0f} s "
            f"(venues shown: {shown}); no screenshot was saved",
            file=sys.stderr,
        )
        return 2
    finally:
        viewport.removeEventFilter(watch)
        window.positions_model.rowsInserted.disconnect(check)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(path), "PNG"):
        print(f"closeout: could not write {path}", file=sys.stderr)
        return 2
    return 0


def _start_demo(seed: int) -> Any:
    """Import and start the simulator; runs on a worker thread (both take a while)."""
    import core.demo

    return core.demo.start_simulator(seed=seed)


async def run(app: QApplication, args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    # Probing the keyring can take a noticeable time; keep the loop free meanwhile.
    store = await asyncio.to_thread(SecretStore)
    settings, settings_error = _load_settings()
    configured = [] if args.demo else settings.accounts
    pairs, missing = _configured_accounts(configured, store)
    demo = not configured
    journal = Journal.open_default(demo, operator_name=settings.preferences.operator_name)
    desk = Desk(journal=journal)
    window = MainWindow(desk, demo=demo, demo_journal=demo, secrets_problem=store.problem,
                        secret_store=store, preferences=settings.preferences)
    install_flatten(window)
    window.show_settings_error(settings_error)
    for account in missing:
        window.mark_needs_secret(account)
    if missing:
        names = ", ".join(a.name for a in missing)
        window.statusBar().showMessage(f"No secret stored for {names}: enter it to connect",
                                       15000)

    closed: asyncio.Future[None] = loop.create_future()

    def on_closed() -> None:
        if not closed.done():
            closed.set_result(None)

    window.closed.connect(on_closed)

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        QTimer.singleShot(0, window.close)

    previous = signal.signal(signal.SIGINT, on_sigint)
    # Python runs signal handlers only between bytecodes; this tick gives it the chance.
    ticker = QTimer()
    ticker.timeout.connect(lambda: None)
    ticker.start(200)

    window.resize(1280, 800)
    window.show()  # first, so the user sees the app while the venues connect
    sim: Any = None
    start: asyncio.Future[list[str]] | None = None
    rc = 0
    try:
        if demo:
            window.statusBar().showMessage("Starting the simulated venues…", 5000)
            sim = await asyncio.to_thread(_start_demo, args.seed)
            window.statusBar().clearMessage()
            import core.demo

            pairs = core.demo.demo_accounts(sim.info)
        window.set_demo(demo or (bool(pairs) and all(a.environment is Environment.DEMO
                                                     for a, _ in pairs)))
        window.expect_accounts(a for a, _ in pairs)
        start = asyncio.ensure_future(desk.start(pairs))
        if args.screenshot is not None:
            want = {a.venue for a, _ in pairs}
            rc = await _take_screenshot(window, args.screenshot, want)
        else:
            failed = await start
            if failed:
                window.statusBar().showMessage("Could not connect: " + ", ".join(failed), 15000)
            await closed
    finally:
        ticker.stop()
        signal.signal(signal.SIGINT, previous)
        if start is not None:
            if not start.done():
                start.cancel()
            await asyncio.gather(start, return_exceptions=True)
        await window.shutdown()
        await desk.stop()
        window.hide()
        # Destroy it here, on the GUI thread: left to the cyclic GC it could be finalised on
        # whichever thread collects next (the simulator's), and Qt objects must die at home.
        shiboken6.delete(window)
        journal.close()
        if sim is not None:
            await asyncio.to_thread(sim.stop)
    return rc


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    _install_qt_message_filter()
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([sys.argv[0]])
    app.setQuitOnLastWindowClosed(False)
    _apply_style(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop:
            return int(loop.run_until_complete(run(app, args)))
    finally:
        asyncio.set_event_loop(None)


if __name__ == "__main__":
    sys.exit(main())
