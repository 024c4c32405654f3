"""The Accounts dialog while the app runs: option fields say their defaults and units, a new
account starts on Testnet only where the venue has one (and the form says so), and in demo
mode "Switch to your accounts" leaves the demo for the configured accounts without a restart."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit
from pytestqt.qtbot import QtBot

import core.demo
from core.desk import Desk
from core.journal import Journal
from core.model import ConnectionState, Environment, PositionKey, Venue
from core.secrets import SecretStore
from core.settings import load_settings
from core.sim import Simulator
from core.venues import register, unregister, venue_info
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.dialogs.accounts import AccountsDialog
from gui.main_window import MainWindow
from tests.gui.conftest import until
from tests.gui.test_accounts_dialog import sim_window
from tests.helpers.keyrings import MemoryKeyring
from tests.helpers.thirdvenue import INFO as THIRD_INFO
from tests.helpers.windows import kept, shut

D = Decimal


@pytest.fixture
def dialog(qapp: QApplication, settings_path: Path) -> Iterator[AccountsDialog]:
    d = AccountsDialog(SecretStore(), settings_path=settings_path)
    d.open()
    with kept(d, AccountsDialog.reject):
        yield d


def pick(combo: object, data: str, qtbot: QtBot) -> None:
    """Choose an item with the keyboard, as a user does (so ``activated`` fires)."""
    from PySide6.QtWidgets import QComboBox

    assert isinstance(combo, QComboBox)
    combo.setFocus()
    target = combo.findData(data)
    assert target >= 0
    while combo.currentIndex() != target:
        key = Qt.Key.Key_Down if combo.currentIndex() < target else Qt.Key.Key_Up
        qtbot.keyClick(combo, key)


# ============================================================================ option fields


def test_empty_options_show_their_default_and_unit_and_the_editor_says_it(
    dialog: AccountsDialog, qtbot: QtBot
) -> None:
    dialog.start_add()
    form = dialog.form
    pick(form.venueInput, QFEX.value, qtbot)
    model, table = form.options_model, form.optionsTable
    row = model.row_of("rate_budget")
    assert row is not None
    assert model.headerData(2, Qt.Orientation.Horizontal) == "Unit"
    assert model.index(row, 1).data() == "default 12000 weight units"
    assert model.index(row, 2).data() == "weight units"
    assert model.index(model.row_of("cancel_timeout"), 2).data() == "s"  # type: ignore[arg-type]
    assert model.index(model.row_of("account_id"), 1).data() \
        == "default: the key's own account"  # type: ignore[arg-type]
    # Editing: the field is empty, and its placeholder says what empty means.
    rect = table.visualRect(model.index(row, 1))
    QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, QPoint(rect.center()))
    qtbot.keyClick(table, Qt.Key.Key_F2)
    editor = table.viewport().findChild(QLineEdit)
    assert isinstance(editor, QLineEdit)
    assert editor.text() == ""
    assert editor.placeholderText() == "default 12000 weight units"
    qtbot.keyClicks(editor, "9000")
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # the view commits it queued (a sync test)
    qtbot.waitUntil(lambda: model.values() == {"rate_budget": "9000"}, timeout=5000)
    assert model.index(row, 1).data() == "9000"
    # Everstrike's in milliseconds and seconds.
    pick(form.venueInput, EVERSTRIKE.value, qtbot)
    for name, shown, unit in (("recv_window", "default 5000 ms", "ms"),
                              ("keepalive", "default 5 s", "s"),
                              ("max_in_flight", "default 12 closes at once", "closes at once")):
        r = model.row_of(name)
        assert r is not None
        assert (model.index(r, 1).data(), model.index(r, 2).data()) == (shown, unit)


def test_every_venue_detail_names_an_option_it_has() -> None:
    for venue in (QFEX, EVERSTRIKE):
        info = venue_info(venue)
        assert set(info.option_details) == set(info.options)  # every option has its default
        assert all(d.default for d in info.option_details.values())


# ============================================================================ environment


@pytest.fixture
def no_testnet_venue() -> Iterator[Venue]:
    """The test venue, registered without a testnet of its own."""
    info = dataclasses.replace(THIRD_INFO, endpoints={
        Environment.LIVE: {"api": "https://api.thirdvenue.example"}})
    register(info)
    try:
        yield info.id
    finally:
        unregister(info.id)


def test_a_new_account_starts_on_testnet_only_where_the_venue_has_one(
    qapp: QApplication, qtbot: QtBot, settings_path: Path, no_testnet_venue: Venue
) -> None:
    d = AccountsDialog(SecretStore(), settings_path=settings_path)
    d.open()
    try:
        QTest.mouseClick(d.addButton, Qt.MouseButton.LeftButton)
        f = d.form
        pick(f.venueInput, QFEX.value, qtbot)
        assert f.environment() is Environment.TESTNET
        assert f.environmentNote.isVisible()
        assert f.environmentNote.text().startswith("New accounts start on Testnet: QFEX has")
        pick(f.venueInput, no_testnet_venue.value, qtbot)
        label = venue_info(no_testnet_venue).label
        assert f.environment() is Environment.LIVE
        assert f.environmentNote.text() == (f"{label} has no testnet, so a new account starts "
                                            "on Live: real orders, real money.")
        pick(f.venueInput, EVERSTRIKE.value, qtbot)
        assert f.environment() is Environment.TESTNET
        # What the user picks stays when the venue changes.
        pick(f.environmentInput, Environment.LIVE.value, qtbot)
        pick(f.venueInput, QFEX.value, qtbot)
        assert f.environment() is Environment.LIVE
        pick(f.environmentInput, Environment.TESTNET.value, qtbot)
        pick(f.venueInput, no_testnet_venue.value, qtbot)
        assert f.environment() is Environment.TESTNET
        assert "has no testnet of its own" in f.environmentNote.text()
    finally:
        d.reject()
        shiboken6.delete(d)
        gc.collect()


# ============================================================================ leaving the demo


@contextlib.asynccontextmanager
async def demo_window(
    settings_path: Path, tmp_path: Path
) -> AsyncIterator[tuple[Simulator, Desk, MainWindow, Journal]]:
    """The app in demo mode: the simulator's demo accounts on the demo journal."""
    sim = Simulator(tick_interval=None)
    await asyncio.to_thread(sim.start)
    demo_journal = Journal(tmp_path / "demo-journal.sqlite3")
    desk = Desk(journal=demo_journal)
    window = MainWindow(desk, demo=True, demo_journal=True, secret_store=SecretStore(),
                        settings_path=settings_path, coalesce_ms=10)
    window.show()
    try:
        pairs = core.demo.demo_accounts(sim.info)
        window.expect_accounts(a for a, _ in pairs)
        assert await desk.start(pairs) == []
        yield sim, desk, window, demo_journal
    finally:
        await shut(window, desk)
        await asyncio.to_thread(sim.stop)
        if desk.journal is not demo_journal and desk.journal is not None:
            desk.journal.close()
        demo_journal.close()


@pytest.mark.asyncio
async def test_switch_to_your_accounts_leaves_the_demo_without_a_restart(
    qapp: QApplication, qtbot: QtBot, settings_path: Path, tmp_path: Path,
    memory_keyring: MemoryKeyring,
) -> None:
    async with demo_window(settings_path, tmp_path) as (sim, desk, window, demo_journal):
        await _switch(sim, desk, window, demo_journal, qtbot, settings_path, tmp_path)


async def _switch(sim: Simulator, desk: Desk, window: MainWindow, demo_journal: Journal,
                  qtbot: QtBot, settings_path: Path, tmp_path: Path) -> None:
    demo_names = set(desk.accounts)
    assert demo_names and window.demoBanner.isVisible()
    public, secret = sim.add_account("qfex", "client-7", [("AAPL-USD", D(3), D(200))])
    q = sim.info.qfex
    window.accountsAction.trigger()
    d = window.accountsDialog
    assert d is not None
    assert not d.demoOffer.isVisible()  # nothing configured yet: nothing to switch to
    QTest.mouseClick(d.addButton, Qt.MouseButton.LeftButton)
    f = d.form
    pick(f.venueInput, QFEX.value, qtbot)
    assert f.environment() is Environment.TESTNET
    qtbot.keyClicks(f.nameInput, "client-7")
    qtbot.keyClicks(f.publicKeyInput, public)
    qtbot.keyClicks(f.secretKeyInput, secret)
    for name, url in (("trade_ws", q.trade_ws), ("mds_ws", q.mds_ws), ("rest", q.rest)):
        f.endpointInputs[name].setText(url)
    QTest.mouseClick(d.saveButton, Qt.MouseButton.LeftButton)
    assert f.errors_shown() == {}
    assert load_settings(settings_path).account("client-7") is not None
    await window.tracker.join(timeout=10)
    # Saved, but the demo journal must not get a real account's records: it is offered.
    assert "client-7" not in desk.accounts
    assert d.demoOffer.isVisible()
    assert "Switch to your accounts" in d.testConnectionResult.text()

    QTest.mouseClick(d.switchAccountsButton, Qt.MouseButton.LeftButton)
    task = window.accounts.leave_demo.task
    assert task is not None
    await task
    key = PositionKey("client-7", QFEX, "AAPL-USD")
    await until(lambda: key in window.positions_model.all_keys(), what="client-7's rows")
    assert set(desk.accounts) == {"client-7"}
    assert desk.connection_state("client-7") is ConnectionState.CONNECTED
    assert {k.account for k in window.positions_model.all_keys()} == {"client-7"}
    assert not set(window.connectionStrip.badges) & demo_names
    assert not window.demo and not window.demo_journal
    assert not window.demoBanner.isVisible()
    assert not d.demoOffer.isVisible()
    assert "Left the demo" in d.testConnectionResult.text()
    # From now on the real journal records; the demo's stays the practice record.
    real = desk.journal
    assert real is not None and real is not demo_journal
    assert real.path == tmp_path / "data" / "closeout" / "journal.sqlite3"
    assert window.historyView.model.journal is real
    await desk.journaled()
    real.flush()
    demo_journal.flush()
    assert any(r.account == "client-7" and r.kind == "connection" for r in real.iter_all())
    assert not any(r.account == "client-7" for r in demo_journal.iter_all())
    assert not any(r.account in demo_names for r in real.iter_all())


@pytest.mark.asyncio
async def test_an_edited_account_reconnects_at_once(
    qapp: QApplication, qtbot: QtBot, settings_path: Path, tmp_path: Path,
    memory_keyring: MemoryKeyring,
) -> None:
    """Outside the demo: a saved change reconnects the account, a rename moves its rows."""
    async with sim_window(settings_path) as (sim, desk, window):
        public, secret = sim.add_account("qfex", "client-8", [("MSFT-USD", D(-2), D(410))])
        q = sim.info.qfex
        d = window.open_accounts()
        QTest.mouseClick(d.addButton, Qt.MouseButton.LeftButton)
        f = d.form
        pick(f.venueInput, QFEX.value, qtbot)
        qtbot.keyClicks(f.nameInput, "client-8")
        pick(f.environmentInput, Environment.DEMO.value, qtbot)
        qtbot.keyClicks(f.publicKeyInput, public)
        qtbot.keyClicks(f.secretKeyInput, secret)
        for name, url in (("trade_ws", q.trade_ws), ("mds_ws", q.mds_ws), ("rest", q.rest)):
            f.endpointInputs[name].setText(url)
        QTest.mouseClick(d.saveButton, Qt.MouseButton.LeftButton)
        old = PositionKey("client-8", QFEX, "MSFT-USD")
        await until(lambda: old in window.positions_model.all_keys(), what="client-8's rows")
        f.nameInput.selectAll()
        qtbot.keyClicks(f.nameInput, "client-8b")
        QTest.mouseClick(d.saveButton, Qt.MouseButton.LeftButton)
        new = PositionKey("client-8b", QFEX, "MSFT-USD")
        await until(lambda: new in window.positions_model.all_keys(), what="renamed rows")
        assert old not in window.positions_model.all_keys()
        assert set(desk.accounts) == {"client-8b"}
        assert "client-8" not in window.connectionStrip.badges

