"""The Qt half of the entry point (``gui.app`` is the other): the application, the qasync loop,
the window, and ``--screenshot``.

The window shows at once, with a "connecting" badge per account, and rows are painted as each
venue delivers them. What is slow and needs no window started on worker threads before Qt was
loaded (``gui.app.boot``): the keyring probe (with configured accounts) or the simulator (in
demo mode). This awaits them only where they are needed. Demo mode reads no secret, so it does not
touch the keyring at all until the Accounts dialog needs it (and only then says whether secrets
can be saved).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

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
from PySide6.QtWidgets import QApplication

from core.desk import Desk
from core.journal import Journal
from core.model import ConnectionState, Environment, Venue
from core.settings import Settings, Theme
from core.venue import AccountConfig
from gui.app import Accounts, Boot, _configured_accounts, settle_memory
from gui.appearance import (
    DESKTOP_FILE_NAME,
    Appearance,
    ResourceLookup,
    apply_appearance,
    missing_text,
)
from gui.bundled import resource_path
from gui.controllers.flatten import install_flatten
from gui.controllers.layout import default_layout_path
from gui.main_window import MainWindow
from gui.theme.follower import theme_follower

if TYPE_CHECKING:
    from core.secrets import SecretStore
    from core.team.awareness import OtherRecords
    from core.team.stack import TeamStack

__all__ = ["SCREENSHOT_TIMEOUT", "launch", "resource_path", "run"]

SCREENSHOT_TIMEOUT = 20.0
MARKS_GRACE = 2.0  # how long --screenshot waits for the rows' marks once the rows are in


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


def _apply_style(app: QApplication, theme: Theme = "system",
                 lookup: ResourceLookup | None = None) -> Appearance:
    """Name, icon and style sheet, the sheet in the theme chosen (or the system's); what did
    not load is logged and returned for the window."""
    appearance = apply_appearance(app, lookup)
    theme_follower(app, theme)
    return appearance


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


def _all_priced(window: MainWindow) -> bool:
    """Every row shown has a mark (QFEX's come over their own stream, after the rows)."""
    model = window.positions_model
    return all((p := model.position(key)) is not None and p.mark_price is not None
               for key in model.all_keys())


async def _team_settled(window: MainWindow) -> None:
    """In team mode, give the team link up to ``MARKS_GRACE`` seconds to be heard from (the
    other desks' leases read) and show it as it is then: the status bar reads once a second,
    so a picture taken at the start would show the link a reading behind."""
    team = window.team_status
    if team is None:
        return
    await team.stack.caught_up(MARKS_GRACE)
    team.refresh()


async def _take_screenshot(
    window: MainWindow, path: Path, want: set[Venue],
    connected: asyncio.Future[Any] | None = None,
) -> int:
    """Wait for rows from every venue in ``want`` and for ``connected`` (the desk's start: a
    venue's rows can come before its event stream is up), then for their first paint, and save
    the window. Rows still without a mark get up to ``MARKS_GRACE`` seconds for one.

    What is still coalescing (log lines, the health figures, the totals) is brought in first, so the
    picture shows what the window would show a moment later; ``grab`` paints every widget.
    """
    painted = asyncio.Event()
    watch = _PaintWatch(painted)
    viewport = window.positionsView.viewport()
    viewport.installEventFilter(watch)
    model = window.positions_model
    ready = asyncio.Event()
    priced = asyncio.Event()

    def check(*_: object) -> None:
        if want <= _venues_shown(window):
            ready.set()
            if _all_priced(window):
                priced.set()

    model.rowsInserted.connect(check)
    model.dataChanged.connect(check)
    check()
    try:
        async with asyncio.timeout(SCREENSHOT_TIMEOUT):
            await ready.wait()
            if connected is not None:
                await asyncio.shield(connected)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(MARKS_GRACE):
                await priced.wait()
        await _team_settled(window)
        window.log_model.flush()
        window.refresh_health()
        await window.totals.settled()  # the strip sums the rows shown, not a refresh ago
        painted.clear()
        viewport.update()
        async with asyncio.timeout(SCREENSHOT_TIMEOUT):
            await painted.wait()
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
        model.rowsInserted.disconnect(check)
        model.dataChanged.disconnect(check)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(path), "PNG"):
        print(f"closeout: could not write {path}", file=sys.stderr)
        return 2
    return 0


def _show_connecting(window: MainWindow, accounts: list[tuple[str, Venue]]) -> None:
    """Each account about to connect, as connecting: a badge in the header and a panel in the
    health strip, before its session (or, in demo mode, the simulator) is even up."""
    window.expect_accounts(accounts)
    now = time.monotonic()
    for name, venue in accounts:
        window.healthStrip.update_account(name, venue, ConnectionState.CONNECTING, None, now)


def _expected_demo_accounts() -> list[tuple[str, Venue]]:
    """The demo accounts the simulator will offer, known before it is up (for the badges)."""
    import core.demo

    return core.demo.expected_demo_accounts()


SETTLE_AFTER_MS = 2000  # after the accounts connected: the collector's settling (app.py)


async def run(app: QApplication, boot: Boot, appearance: Appearance | None = None) -> int:
    args, settings, demo = boot.args, boot.settings, boot.demo
    loop = asyncio.get_running_loop()
    journal = Journal.open_default(demo, operator_name=settings.preferences.operator_name)
    store = None
    pairs: Accounts = []
    missing: list[AccountConfig] = []
    if boot.store is not None:
        store = await asyncio.wrap_future(boot.store)  # probed on a worker since the start
        pairs, missing = _configured_accounts(settings.accounts, store)
    team = _team(settings, store, journal) if not demo else None
    desk = Desk(journal=journal, coordinator=None if team is None else team.coordinator)
    if team is not None:
        await team.start()
    window = MainWindow(desk, demo=demo, demo_journal=demo,
                        secrets_problem=None if store is None else store.problem,
                        secret_store=store, preferences=settings.preferences,
                        # A screenshot shows the defaults, never this user's layout.
                        layout_path=None if args.screenshot is not None
                        else default_layout_path())
    window.prefs.apply(settings)  # as a save from the Preferences dialog does
    if team is not None:  # the other desks' closes, cancels and overrides, in the log
        team.on_records = lambda desk_name, event: _log_other_desk(window, desk_name, event)
        window.set_team(team)  # the team link in the status bar
        window.historyView.set_team(team.history)  # History: "All desks" (the shared journal)
    window.show_settings_error(boot.settings_error)
    if appearance is not None:
        window.resourceWarning.say(missing_text(appearance.missing))
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
        window.quitting.confirmed = True  # Ctrl+C in the terminal: quit, asking nothing
        QTimer.singleShot(0, window.close)

    previous = signal.signal(signal.SIGINT, on_sigint)
    # Python runs signal handlers only between bytecodes; this tick gives it the chance.
    ticker = QTimer()
    ticker.timeout.connect(lambda: None)
    ticker.start(200)

    expected = (_expected_demo_accounts() if demo
                else [(a.name, a.venue) for a, _ in pairs])
    _show_connecting(window, expected)
    install_flatten(window)
    window.show()  # first, so the user sees the app while the venues connect
    start: asyncio.Future[list[str]] | None = None
    rc = 0
    try:
        if boot.sim is not None:
            if not boot.sim.done():
                window.statusBar().showMessage("Starting the simulated venues…", 5000)
            sim = await asyncio.wrap_future(boot.sim)
            window.statusBar().clearMessage()
            import core.demo

            pairs = core.demo.demo_accounts(sim.info)
        window.expect_accounts(a for a, _ in pairs)  # with their environments now
        window.set_demo(demo or (bool(pairs) and all(a.environment is Environment.DEMO
                                                     for a, _ in pairs)))
        start = asyncio.ensure_future(desk.start(pairs))
        # After the first rows are painted, not in their way: it is for the long run.
        start.add_done_callback(lambda _: QTimer.singleShot(SETTLE_AFTER_MS, settle_memory))
        if args.screenshot is not None:
            want = {a.venue for a, _ in pairs}
            rc = await _take_screenshot(window, args.screenshot, want, start)
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
        if team is not None:  # what is not copied in a few seconds goes out at the next start
            from gui.controllers.team_status import stop_team

            await stop_team(team)
        window.hide()
        # Destroy it here, on the GUI thread: left to the cyclic GC it could be finalised on
        # whichever thread collects next (the simulator's), and Qt objects must die at home.
        shiboken6.delete(window)
        journal.close()
        if desk.journal is not None and desk.journal is not journal:
            desk.journal.close()  # the real journal, after "Switch to your accounts"
        if boot.sim is not None:
            await _stop_simulator(boot.sim)
    return rc


def _log_other_desk(window: MainWindow, desk_name: str, event: OtherRecords) -> None:
    from gui.models.other_desks import other_desk_entries

    for entry in other_desk_entries(desk_name, event.records):
        window.log_model.append(entry)
    window.historyView.poll()  # their records in History now, not at the next poll


def _team(settings: Settings, store: SecretStore | None, journal: Journal) -> TeamStack | None:
    """Team mode when settings.toml has a [team] table (core.team; psycopg is imported only
    then): the close leases and the shared journal for this window's desk."""
    if settings.team is None:
        return None
    from core.team.stack import open_team

    return open_team(settings.team, store, journal)


async def _stop_simulator(future: concurrent.futures.Future[Any]) -> None:
    """Stop the simulator once it is up (it may still be starting if the window failed)."""
    try:
        sim = await asyncio.wrap_future(future)
    except Exception:  # it never started; its error was raised where it was awaited
        return
    await asyncio.to_thread(sim.stop)


def launch(boot: Boot) -> int:
    """Create the application and the qasync loop, and run until the window closes."""
    _install_qt_message_filter()
    existing = QApplication.instance()
    # argv[0] is the X11 instance name (WM_CLASS), which the desktop entry's StartupWMClass
    # matches, however the app was started (``closeout``, ``python -m gui.app``, the bundle).
    app = existing if isinstance(existing, QApplication) else QApplication([DESKTOP_FILE_NAME])
    app.setQuitOnLastWindowClosed(False)
    appearance = _apply_style(app, boot.settings.preferences.theme)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop:
            return int(loop.run_until_complete(run(app, boot, appearance)))
    finally:
        asyncio.set_event_loop(None)
