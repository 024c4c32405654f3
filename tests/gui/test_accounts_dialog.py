"""The Accounts dialog: bad input at its field with nothing saved, secrets only in the keyring
(or, with no keyring, in memory by explicit choice), Test connection against the simulator,
and a saved account connecting in the main window."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from core.accounts import ConnectionReport
from core.desk import Desk
from core.journal import Journal
from core.model import ConnectionState, Environment, PositionKey, Venue
from core.secrets import SERVICE, SecretStore
from core.settings import Settings, add_account, load_settings, save_settings
from core.sim import Simulator
from core.venue import AccountConfig, Credentials
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.dialogs.accounts import (
    NO_KEYRING_WARNING,
    AccountsDialog,
    AccountsListModel,
    OptionsModel,
)
from gui.main_window import MainWindow
from gui.models import ENV_ROLE, PositionColumn
from tests.gui.conftest import until
from tests.helpers.keyrings import MemoryKeyring
from tests.helpers.windows import kept, shut

D = Decimal
SECRET = "s3cr3t-Known-Value-9f8e7d"  # searched for in everything written


@pytest.fixture
def dialog(qapp: QApplication, settings_path: Path) -> Iterator[AccountsDialog]:
    d = AccountsDialog(SecretStore(), settings_path=settings_path)
    d.open()
    with kept(d, AccountsDialog.reject):
        yield d


def fill(d: AccountsDialog, qtbot: QtBot, *, name: str = "client-7", venue: Venue = QFEX,
         env: Environment = Environment.TESTNET, public: str = "pub-key-123",
         secret: str = SECRET, endpoints: dict[str, str] | None = None) -> None:
    f = d.form
    f.venueInput.setCurrentIndex(f.venueInput.findData(venue.value))
    f.environmentInput.setCurrentIndex(f.environmentInput.findData(env.value))
    for widget, text in ((f.nameInput, name), (f.publicKeyInput, public),
                         (f.secretKeyInput, secret)):
        widget.clear()
        if text:
            qtbot.keyClicks(widget, text)
    for ep, edit in f.endpointInputs.items():
        edit.setText((endpoints or {}).get(ep, ""))


def click(qtbot: QtBot, button: object) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # type: ignore[arg-type]


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


# ============================================================================ validation


def test_every_bad_field_is_refused_at_the_field_and_nothing_is_saved(
    dialog: AccountsDialog, qtbot: QtBot, settings_path: Path, memory_keyring: MemoryKeyring
) -> None:
    click(qtbot, dialog.addButton)
    assert dialog.formTitle.text() == "New account"
    fill(dialog, qtbot, name="", public="", secret="",
         endpoints={"trade_ws": "ws://trade.example.com/", "rest": "ftp://api.example.com"})
    click(qtbot, dialog.saveButton)
    errors = dialog.form.errors_shown()
    assert errors["name"] == "The account needs a name."
    assert errors["public_key"] == "The public API key is required."
    assert errors["secret"].startswith("The secret key is required")
    assert "plain ws:// is allowed only for loopback" in errors["endpoints.trade_ws"]
    assert "unsupported scheme 'ftp'" in errors["endpoints.rest"]
    assert "endpoints.mds_ws" not in errors  # empty means the environment's default
    # Each message sits at its field, visible, and the field is marked.
    assert dialog.form.nameInput.property("invalid") is True
    assert dialog.findChild(object, "endpoint_trade_wsError").isVisible()  # type: ignore[union-attr]
    assert not settings_path.exists()
    assert memory_keyring.store == {}


def test_duplicate_name_spaces_in_secret_and_missing_demo_urls(
    dialog: AccountsDialog, qtbot: QtBot, settings_path: Path, memory_keyring: MemoryKeyring
) -> None:
    existing = AccountConfig("alpha", QFEX, Environment.LIVE, "pub-a")
    save_settings(add_account(Settings(), existing), settings_path)
    before = settings_path.read_bytes()
    dialog.reload()
    click(qtbot, dialog.addButton)
    fill(dialog, qtbot, name="alpha", env=Environment.DEMO, secret=" padded ")
    assert not dialog.save()
    errors = dialog.form.errors_shown()
    assert errors["name"] == "An account called “alpha” already exists; pick another name."
    assert errors["secret"].startswith("The secret key starts or ends with spaces")
    for ep in ("trade_ws", "mds_ws", "rest"):
        assert errors[f"endpoints.{ep}"] == f"DEMO has no default {ep} URL: enter one."
    # Fixing the fields clears their messages.
    fill(dialog, qtbot, name="beta", env=Environment.LIVE)
    assert dialog.save()
    assert dialog.form.errors_shown() == {}
    assert settings_path.read_bytes() != before
    assert [a.name for a in load_settings(settings_path).accounts] == ["alpha", "beta"]
    assert memory_keyring.store == {(SERVICE, "account:beta"): SECRET}


def test_live_plain_text_url_gives_the_check_endpoint_message(
    dialog: AccountsDialog, qtbot: QtBot, settings_path: Path
) -> None:
    click(qtbot, dialog.addButton)
    fill(dialog, qtbot, env=Environment.LIVE, endpoints={"rest": "http://api.qfex.com"})
    assert not dialog.save()
    assert dialog.form.errors_shown() == {
        "endpoints.rest": "'http://api.qfex.com' is not encrypted; plain http:// is allowed "
                          "only for loopback addresses. Use https://.",
    }
    assert not settings_path.exists()
    # Loopback is the simulator: allowed even for live.
    fill(dialog, qtbot, env=Environment.LIVE, endpoints={"rest": "http://127.0.0.1:9/"})
    assert dialog.save()


def test_unknown_option_value_from_core_lands_on_the_options_table(
    dialog: AccountsDialog, qtbot: QtBot, settings_path: Path
) -> None:
    click(qtbot, dialog.addButton)
    fill(dialog, qtbot, venue=EVERSTRIKE)
    model = dialog.form.options_model
    assert model.rowCount() > 0
    row = model.row_of("recv_window")
    assert row is not None
    # The option's description is the tooltip of its row.
    assert model.data(model.index(row, 0), Qt.ItemDataRole.ToolTipRole)
    model.set_value("recv_window", " 5000 ")
    assert dialog.save()
    saved = load_settings(settings_path).account("client-7")
    assert saved is not None and dict(saved.options) == {"recv_window": "5000"}


def test_placeholders_show_the_environment_defaults(dialog: AccountsDialog, qtbot: QtBot) -> None:
    click(qtbot, dialog.addButton)
    f = dialog.form
    fill(dialog, qtbot, env=Environment.LIVE)
    assert f.endpointInputs["trade_ws"].placeholderText() == "wss://trade.qfex.com/"
    f.environmentInput.setCurrentIndex(f.environmentInput.findData("testnet"))
    assert f.endpointInputs["trade_ws"].placeholderText() == "wss://trade.qfex.io/"
    f.venueInput.setCurrentIndex(f.venueInput.findData("everstrike"))
    assert set(f.endpointInputs) == {"rest", "ws"}
    assert f.endpointInputs["ws"].placeholderText() == "wss://wss.testnet.everstrike.io"
    assert f.secretKeyInput.echoMode() is f.secretKeyInput.EchoMode.Password


def test_broken_settings_file_locks_the_dialog_and_is_not_touched(
    qapp: QApplication, settings_path: Path
) -> None:
    settings_path.parent.mkdir(parents=True)
    settings_path.write_text("version = 2\n[[accounts]\nname = 'x'\n", encoding="utf-8")
    before = settings_path.read_bytes()
    d = AccountsDialog(SecretStore(), settings_path=settings_path)
    try:
        assert d.settings_error is not None
        text = d.settingsErrorBanner.text()
        assert str(settings_path) in text and "line 2" in text
        assert not d.addButton.isEnabled()
        d.start_add()
        assert not d.save()
        assert settings_path.read_bytes() == before
    finally:
        shiboken6.delete(d)


# ============================================================================ secrets


def test_no_keyring_warns_and_keeps_the_secret_for_this_session_only(
    qapp: QApplication, qtbot: QtBot, settings_path: Path, tmp_path: Path
) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())  # conftest restores the previous one
    store = SecretStore()
    assert store.problem is not None
    d = AccountsDialog(store, settings_path=settings_path)
    d.open()
    try:
        d.start_add()
        assert d.form.keyringWarning.isVisible()
        assert d.form.keyringWarningText.text() == NO_KEYRING_WARNING
        fill(d, qtbot)
        assert not d.save()
        assert "tick the box" in d.form.errors_shown()["session_only"]
        assert not settings_path.exists()
        assert store.get("client-7") is None
        click(qtbot, d.form.sessionOnlyCheck)
        assert d.save()
        assert store.get("client-7") == SECRET
        assert store.session_only("client-7")
        assert "this session only" in d.testConnectionResult.text()
        assert d.list_model.secret_state("client-7") == "this session"
        # No plaintext fallback: the secret is in no file at all.
        for path in files_under(tmp_path):
            assert SECRET.encode() not in path.read_bytes(), path
    finally:
        d.reject()
        shiboken6.delete(d)


def test_with_a_keyring_there_is_no_warning(dialog: AccountsDialog) -> None:
    dialog.start_add()
    assert not dialog.form.keyringWarning.isVisible()


def test_edit_keeps_the_stored_secret_and_a_rename_moves_it(
    dialog: AccountsDialog, qtbot: QtBot, settings_path: Path, memory_keyring: MemoryKeyring
) -> None:
    dialog.start_add()
    fill(dialog, qtbot)
    assert dialog.save()
    saved: list[tuple[str, str | None]] = []
    dialog.accountSaved.connect(lambda a, old: saved.append((a.name, old)))
    assert dialog.edit("client-7")
    f = dialog.form
    assert f.secretKeyInput.text() == ""
    assert f.secretKeyInput.placeholderText() == "Leave empty to keep the stored secret"
    f.nameInput.setText("client-7b")
    assert dialog.save()
    assert saved == [("client-7b", "client-7")]
    assert memory_keyring.store == {(SERVICE, "account:client-7b"): SECRET}
    assert [a.name for a in load_settings(settings_path).accounts] == ["client-7b"]


def test_remove_asks_first_then_deletes_settings_and_secret(
    dialog: AccountsDialog, qtbot: QtBot, settings_path: Path, memory_keyring: MemoryKeyring
) -> None:
    dialog.start_add()
    fill(dialog, qtbot)
    assert dialog.save()
    removed: list[str] = []
    dialog.accountRemoved.connect(removed.append)
    dialog.select("client-7")
    click(qtbot, dialog.removeButton)
    assert dialog.removeConfirm.isVisible()
    assert "client-7" in dialog.removeConfirmText.text()
    click(qtbot, dialog.keepButton)  # changed their mind: nothing happens
    assert load_settings(settings_path).account("client-7") is not None
    click(qtbot, dialog.removeButton)
    click(qtbot, dialog.confirmRemoveButton)
    assert removed == ["client-7"]
    assert load_settings(settings_path).accounts == []
    assert memory_keyring.store == {}


# ============================================================================ test connection


@pytest.mark.asyncio
async def test_test_connection_is_a_tracked_task_with_the_button_disabled(
    qapp: QApplication, qtbot: QtBot, settings_path: Path
) -> None:
    gate = asyncio.Event()
    seen: list[Credentials] = []

    async def tester(account: AccountConfig, credentials: Credentials) -> ConnectionReport:
        seen.append(credentials)
        await gate.wait()
        return ConnectionReport(False, message="Everstrike refused the API key")

    d = AccountsDialog(SecretStore(), settings_path=settings_path, tester=tester)
    d.open()
    try:
        d.start_add()
        fill(d, qtbot)
        click(qtbot, d.testConnectionButton)
        task = d.testTask
        assert task is not None and task in d.tracker.tasks
        assert not d.testConnectionButton.isEnabled()
        assert d.testConnectionButton.text() == "Testing…"
        assert d.start_test() is task  # a second click joins the running test
        gate.set()
        await task
        assert seen == [Credentials("pub-key-123", SECRET)]
        assert d.testConnectionButton.isEnabled()
        assert d.testConnectionButton.text() == "Test connection"
        assert d.testConnectionResult.text() == "Everstrike refused the API key"
        assert d.testConnectionResult.property("tone") == "error"
        assert not await asyncio.to_thread(settings_path.exists)  # testing saves nothing
    finally:
        d.reject()
        shiboken6.delete(d)


@pytest.mark.asyncio
async def test_test_connection_refuses_bad_fields_without_dialling(
    qapp: QApplication, qtbot: QtBot, settings_path: Path
) -> None:
    calls: list[AccountConfig] = []

    async def tester(account: AccountConfig, credentials: Credentials) -> ConnectionReport:
        calls.append(account)
        return ConnectionReport(True, message="Connected")

    d = AccountsDialog(SecretStore(), settings_path=settings_path, tester=tester)
    try:
        d.start_add()
        fill(d, qtbot, env=Environment.LIVE, endpoints={"rest": "http://api.qfex.com"})
        assert d.start_test() is None
        assert calls == []
        assert "nothing was sent" in d.testConnectionResult.text()
        assert "endpoints.rest" in d.form.errors_shown()
    finally:
        shiboken6.delete(d)


# ============================================================================ with the window


@contextlib.asynccontextmanager
async def sim_window(settings_path: Path) -> AsyncIterator[tuple[Simulator, Desk, MainWindow]]:
    """The simulator, a desk and the window, torn down inside the test's own loop run: a
    session still connecting when the test returns must be stopped while the loop runs (as the
    app does), not from pytest's teardown after the loop has stopped."""
    sim = Simulator(tick_interval=None)
    await asyncio.to_thread(sim.start)
    journal = Journal(":memory:")
    desk = Desk(journal=journal)
    window = MainWindow(desk, secret_store=SecretStore(), settings_path=settings_path,
                        coalesce_ms=10)
    window.show()
    try:
        yield sim, desk, window
    finally:
        await shut(window, desk)
        await asyncio.to_thread(sim.stop)
        journal.close()


@pytest.mark.asyncio
async def test_add_account_test_connection_save_and_its_positions_appear(
    qapp: QApplication, qtbot: QtBot, settings_path: Path, memory_keyring: MemoryKeyring,
    caplog: pytest.LogCaptureFixture, tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with sim_window(settings_path) as (sim, desk, window):
        await _add_test_save_and_see(sim, desk, window, qtbot, settings_path, memory_keyring,
                                     caplog, tmp_path)


async def _add_test_save_and_see(
    sim: Simulator, desk: Desk, window: MainWindow, qtbot: QtBot, settings_path: Path,
    memory_keyring: MemoryKeyring, caplog: pytest.LogCaptureFixture, tmp_path: Path,
) -> None:
    # Called directly: qasync logs a worker thread's result at DEBUG, and this one is the
    # secret (the simulator hands it out). The app never moves a secret through a thread.
    public, secret = sim.add_account("qfex", "client-7", [("AAPL-USD", D(3), D(200)),
                                                          ("MSFT-USD", D(-2), D(410))])
    q = sim.info.qfex
    window.accountsAction.trigger()
    d = window.accountsDialog
    assert d is not None and d.isVisible() and d.objectName() == "accountsDialog"
    click(qtbot, d.addButton)
    fill(d, qtbot, name="client-7", env=Environment.DEMO, public=public, secret=secret,
         endpoints={"trade_ws": q.trade_ws, "mds_ws": q.mds_ws, "rest": q.rest})

    click(qtbot, d.testConnectionButton)
    assert d.testConnectionButton.text() == "Testing…"
    assert d.testTask is not None
    await d.testTask
    assert d.testConnectionResult.text().startswith("Connected: 2 open positions")
    assert d.testConnectionResult.property("tone") == "ok"
    assert "client-7" not in desk.accounts  # testing connects nothing for good

    click(qtbot, d.saveButton)
    assert d.form.errors_shown() == {}
    saved = load_settings(settings_path).account("client-7")
    assert saved is not None and saved.public_key == public
    assert memory_keyring.store[(SERVICE, "account:client-7")] == secret

    aapl = PositionKey("client-7", QFEX, "AAPL-USD")
    msft = PositionKey("client-7", QFEX, "MSFT-USD")
    model = window.positions_model
    await until(lambda: {aapl, msft} <= set(model.all_keys()), what="client-7's positions")
    row = model.row_of(aapl)
    assert row is not None
    assert model.data(model.index(row, PositionColumn.ENV)) == "DEMO"
    assert model.data(model.index(row, PositionColumn.ENV), ENV_ROLE) == "demo"
    assert D(window.proxy_index(aapl, PositionColumn.QUANTITY).data()) == 3
    badge = window.connectionStrip.badges["client-7"]
    await until(lambda: badge.state is ConnectionState.CONNECTED)
    assert badge.envChip.text() == "DEMO"
    assert window.accountFilter.findData("client-7") >= 0

    # The secret is nowhere but the keyring: not in a file, not in a log record, not on screen.
    for path in files_under(tmp_path):
        assert secret.encode() not in path.read_bytes(), path
    assert secret not in caplog.text
    assert d.form.secretKeyInput.text() == ""  # not kept in the widget once saved
    for label in [*d.findChildren(QLabel), *window.findChildren(QLabel)]:
        assert secret not in label.text()


@pytest.mark.asyncio
async def test_wrong_secret_is_reported_in_red_and_nothing_connects(
    qapp: QApplication, qtbot: QtBot, settings_path: Path
) -> None:
    async with sim_window(settings_path) as (sim, desk, window):
        public, _ = sim.add_account("qfex", "client-8", [("AAPL-USD", D(1), D(200))])
        q = sim.info.qfex
        d = window.open_accounts()
        d.start_add()
        fill(d, qtbot, name="client-8", env=Environment.DEMO, public=public,
             secret="wrong-secret",
             endpoints={"trade_ws": q.trade_ws, "mds_ws": q.mds_ws, "rest": q.rest})
        task = d.start_test()
        assert task is not None
        await task
        assert d.testConnectionResult.property("tone") == "error"
        assert "refused the API key" in d.testConnectionResult.text()
        assert "wrong-secret" not in d.testConnectionResult.text()
        assert "client-8" not in desk.accounts


@pytest.mark.asyncio
async def test_removing_a_connected_account_disconnects_it_at_once(
    qapp: QApplication, qtbot: QtBot, settings_path: Path
) -> None:
    async with sim_window(settings_path) as (sim, desk, window):
        await _add_then_remove(sim, desk, window, qtbot, settings_path)


async def _add_then_remove(
    sim: Simulator, desk: Desk, window: MainWindow, qtbot: QtBot, settings_path: Path
) -> None:
    public, secret = sim.add_account("qfex", "client-9", [("AAPL-USD", D(1), D(200))])
    q = sim.info.qfex
    d = window.open_accounts()
    d.start_add()
    fill(d, qtbot, name="client-9", env=Environment.DEMO, public=public, secret=secret,
         endpoints={"trade_ws": q.trade_ws, "mds_ws": q.mds_ws, "rest": q.rest})
    assert d.save()
    key = PositionKey("client-9", QFEX, "AAPL-USD")
    await until(lambda: key in window.positions_model.all_keys())
    d.select("client-9")
    d.ask_remove()
    assert d.remove_selected()
    await until(lambda: "client-9" not in window.connectionStrip.badges, what="badge removed")
    assert "client-9" not in desk.accounts
    assert key not in window.positions_model.all_keys()
    assert window.accountFilter.findData("client-9") < 0
    assert load_settings(settings_path).accounts == []


@pytest.mark.asyncio
async def test_live_account_saved_in_a_demo_session_waits_for_the_switch(
    qapp: QApplication, qtbot: QtBot, settings_path: Path
) -> None:
    desk = Desk()
    window = MainWindow(desk, demo=True, demo_journal=True, secret_store=SecretStore(),
                        settings_path=settings_path)
    try:
        d = window.open_accounts()
        d.start_add()
        fill(d, qtbot, env=Environment.LIVE)
        assert d.save()
        await window.tracker.join(timeout=10)
        assert "client-7" not in desk.accounts
        assert "Switch to your accounts" in d.testConnectionResult.text()
        assert "Switch to your accounts" in window.statusBar().currentMessage()
        assert d.demoOffer.isVisible()
    finally:
        await shut(window)


# ============================================================================ models


def test_list_and_options_models_pass_qtmodeltester(
    qtmodeltester: ModelTester, qapp: QApplication
) -> None:
    store = SecretStore()
    store.set("a", "x")
    lm = AccountsListModel(store)
    lm.set_accounts([AccountConfig("a", QFEX, Environment.LIVE, "p"),
                     AccountConfig("b", EVERSTRIKE, Environment.DEMO, "p")])
    qtmodeltester.check(lm, force_py=True)
    assert lm.data(lm.index(0, 3)) == "keyring"
    assert lm.data(lm.index(1, 3)) == "missing"
    om = OptionsModel()
    om.set_options({"one": "the first", "two": "the second"}, {"two": "2"})
    qtmodeltester.check(om, force_py=True)
    assert om.values() == {"two": "2"}
    assert om.setData(om.index(0, 1), "1")
    assert not om.setData(om.index(0, 0), "renamed")  # names are fixed
    assert om.values() == {"one": "1", "two": "2"}
