"""Environments always visible (Env chips, LIVE title and strip, badge chips), the positions
filter bar and grouping, the "needs secret" badge, and the close dialog's reason field."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from decimal import Decimal

import pytest
import pytest_asyncio
import shiboken6
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from core.desk import Desk
from core.journal import Journal, JournalFilter
from core.model import Environment, Position, PositionKey, Venue
from core.secrets import SecretStore
from core.settings import Preferences
from core.venue import AccountConfig, Credentials, EventSink
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.dialogs.close import CloseDialog
from gui.main_window import DEMO_BANNER, MainWindow, live_banner_text, window_title
from gui.models import ENV_COLOURS, ENV_ROLE, PositionColumn, PositionsModel, PositionsProxy
from tests.gui.conftest import until
from tests.helpers.fakes import FakeSession, position
from tests.helpers.windows import shut

D = Decimal
LIVE_Q = AccountConfig("Zeta live", QFEX, Environment.LIVE, "pub")
TEST_E = AccountConfig("Alpha testnet", EVERSTRIKE, Environment.TESTNET, "pub")
DEMO_Q = AccountConfig("Mid demo", QFEX, Environment.DEMO, "pub")


@dataclass
class Rig:
    desk: Desk
    window: MainWindow
    journal: Journal


def _positions(acct: AccountConfig) -> tuple[Position, ...]:
    if acct is TEST_E:
        return (position("USD_ETH_PERP", acct=acct.name, venue=EVERSTRIKE),
                position("USD_BTC_PERP", "2", acct=acct.name, venue=EVERSTRIKE))
    return (position("AAPL-USD", "3", acct=acct.name), position("MSFT-USD", "1", acct=acct.name))


@pytest_asyncio.fixture
async def rig(qapp: QApplication) -> AsyncIterator[Rig]:
    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> FakeSession:
        s = FakeSession(acct, creds, sink)
        s.initial = _positions(next(a for a in (LIVE_Q, TEST_E, DEMO_Q) if a.name == acct.name))
        return s

    journal = Journal(":memory:")
    desk = Desk(journal=journal, session_factory=factory)
    window = MainWindow(desk, coalesce_ms=5, health_interval_ms=3_600_000,
                        history_poll_ms=3_600_000, secret_store=SecretStore())
    window.resize(1280, 800)
    window.show()
    try:
        window.expect_accounts([LIVE_Q, TEST_E, DEMO_Q])
        assert await desk.start([(a, Credentials("pub", "sec")) for a in (LIVE_Q, TEST_E, DEMO_Q)]
                                ) == []
        window.positions_model.flush()
        assert window.positions_model.rowCount() == 6
        yield Rig(desk, window, journal)
    finally:
        await shut(window, desk)
        journal.close()


def shown_rows(window: MainWindow) -> list[tuple[str, str, str]]:
    """(venue, account, symbol) of each visible position, top to bottom (grouped, the header
    and totals rows are left out)."""
    px = window.positions_proxy
    return [(px.index(r, PositionColumn.VENUE).data(), px.index(r, PositionColumn.ACCOUNT).data(),
             px.index(r, PositionColumn.SYMBOL).data()) for r in range(px.rowCount())
            if px.key_at(r) is not None]


def env_cell(window: MainWindow, account: str, venue: Venue, symbol: str) -> str:
    return window.proxy_index(PositionKey(account, venue, symbol), PositionColumn.ENV).data()


# ============================================================================ environments


@pytest.mark.asyncio
async def test_mixed_environments_each_row_says_which_and_live_is_in_the_title(rig: Rig) -> None:
    w = rig.window
    assert "LIVE" in w.windowTitle()
    assert w.windowTitle() == "LIVE · TESTNET · DEMO — Closeout"
    assert w.liveBanner.isVisible()
    assert w.liveBanner.text() == live_banner_text(["Zeta live"])
    assert not w.demoBanner.isVisible()  # not every account is a simulated one
    assert not w.testnetBanner.isVisible()  # the LIVE strip outranks it
    assert env_cell(w, "Zeta live", QFEX, "AAPL-USD") == "LIVE"
    assert env_cell(w, "Alpha testnet", EVERSTRIKE, "USD_ETH_PERP") == "TESTNET"
    assert env_cell(w, "Mid demo", QFEX, "MSFT-USD") == "DEMO"
    index = w.proxy_index(PositionKey("Zeta live", QFEX, "AAPL-USD"), PositionColumn.ENV)
    assert index.data(ENV_ROLE) == Environment.LIVE.value
    assert "real money" in index.data(Qt.ItemDataRole.ToolTipRole)
    badges = w.connectionStrip.badges
    assert {n: b.envChip.text() for n, b in badges.items()} == {
        "Zeta live": "LIVE", "Alpha testnet": "TESTNET", "Mid demo": "DEMO"}
    assert "(LIVE)" in badges["Zeta live"].toolTip()


@pytest.mark.asyncio
async def test_env_chips_are_painted_in_their_colours(rig: Rig) -> None:
    w = rig.window
    view = w.positionsView
    image = view.viewport().grab().toImage()
    for acct, venue, symbol in (("Zeta live", QFEX, "AAPL-USD"),
                                ("Alpha testnet", EVERSTRIKE, "USD_BTC_PERP"),
                                ("Mid demo", QFEX, "MSFT-USD")):
        index = w.proxy_index(PositionKey(acct, venue, symbol), PositionColumn.ENV)
        rect = view.visualRect(index)
        # Inside the chip, left of its text: the fill colour.
        point = QPoint(rect.left() + 9, rect.center().y())
        env = Environment(index.data(ENV_ROLE))
        assert QColor(image.pixel(point)).name() == ENV_COLOURS[env][0], (acct, env)


@pytest.mark.asyncio
async def test_demo_only_shows_the_demo_banner_and_testnet_its_own(qapp: QApplication) -> None:
    window = MainWindow(Desk(), demo=True, history_poll_ms=3_600_000)
    try:
        assert window.windowTitle() == "DEMO — Closeout"
        window.set_account_environment("a", Environment.DEMO)
        assert not window.demoBanner.isHidden() and window.demoBanner.text() == DEMO_BANNER
        window.set_account_environment("b", Environment.TESTNET)
        assert window.demoBanner.isHidden()
        assert not window.testnetBanner.isHidden()
        assert window.liveBanner.isHidden()
        assert window.windowTitle() == "TESTNET · DEMO — Closeout"
        window.set_account_environment("c", Environment.LIVE)
        assert window.testnetBanner.isHidden() and not window.liveBanner.isHidden()
        window.set_account_environment("c", None)  # removed
        assert window.liveBanner.isHidden()
        assert "LIVE" not in window.windowTitle()
    finally:
        await shut(window)


def _as_shown_by_the_window_manager(title: str, display_name: str) -> str:
    """What Qt's xcb and Windows plugins put in the title bar (QPlatformWindow::
    formatWindowTitle): the application display name is appended unless the title already
    ends with it. Checked by hand under Xvfb with xprop's _NET_WM_NAME."""
    if display_name and not title.endswith(display_name):
        return f"{title} — {display_name}" if title else display_name
    return title


@pytest.mark.asyncio
async def test_the_title_bar_names_the_app_once(qapp: QApplication) -> None:
    old = qapp.applicationDisplayName()
    qapp.setApplicationDisplayName("Closeout")  # as the app sets it (gui.launch)
    window = MainWindow(Desk(), demo=True, history_poll_ms=3_600_000)
    try:
        shown = _as_shown_by_the_window_manager(window.windowTitle(), "Closeout")
        assert shown == "DEMO — Closeout"
        window.set_account_environment("z", Environment.LIVE)
        shown = _as_shown_by_the_window_manager(window.windowTitle(), "Closeout")
        assert shown == "LIVE — Closeout"
        assert shown.count("Closeout") == 1
    finally:
        qapp.setApplicationDisplayName(old)
        await shut(window)


def test_window_title_orders_by_risk() -> None:
    assert window_title([]) == "Closeout"
    assert window_title([], demo=True) == "DEMO — Closeout"
    assert window_title([Environment.DEMO, Environment.LIVE]) == "LIVE · DEMO — Closeout"


def test_environment_set_after_the_rows_changes_only_their_env_cells(
    qapp: QApplication, qtmodeltester: ModelTester
) -> None:
    model = PositionsModel(coalesce_ms=5)
    model.upsert_many([position("A", acct="one"), position("B", acct="two"),
                       position("C", acct="one")])
    assert model.data(model.index(0, PositionColumn.ENV)) == ""
    changed: list[tuple[int, int, int, int]] = []
    model.dataChanged.connect(lambda a, b, _roles: changed.append(
        (a.row(), a.column(), b.row(), b.column())))
    model.set_environment("one", Environment.LIVE)
    env = int(PositionColumn.ENV)
    assert changed == [(0, env, 0, env), (2, env, 2, env)]
    assert model.data(model.index(2, PositionColumn.ENV)) == "LIVE"
    model.set_environment("one", Environment.LIVE)  # unchanged: no signal
    assert len(changed) == 2
    qtmodeltester.check(model, force_py=True)


# ============================================================================ filters


@pytest.mark.asyncio
async def test_default_sort_is_venue_then_account_then_symbol(rig: Rig) -> None:
    assert shown_rows(rig.window) == [
        ("Everstrike", "Alpha testnet", "USD_BTC_PERP"),
        ("Everstrike", "Alpha testnet", "USD_ETH_PERP"),
        ("QFEX", "Mid demo", "AAPL-USD"),
        ("QFEX", "Mid demo", "MSFT-USD"),
        ("QFEX", "Zeta live", "AAPL-USD"),
        ("QFEX", "Zeta live", "MSFT-USD"),
    ]


@pytest.mark.asyncio
async def test_venue_account_and_symbol_filters(rig: Rig, qtbot: QtBot) -> None:
    w = rig.window
    assert [w.accountFilter.itemText(i) for i in range(w.accountFilter.count())] == [
        "All", "Alpha testnet", "Mid demo", "Zeta live"]
    w.venueFilter.setCurrentIndex(w.venueFilter.findData("qfex"))
    assert {r[0] for r in shown_rows(w)} == {"QFEX"}
    assert w.positionsTitle.text() == "Open positions (4 of 6)"
    w.accountFilter.setCurrentIndex(w.accountFilter.findData("Zeta live"))
    assert shown_rows(w) == [("QFEX", "Zeta live", "AAPL-USD"), ("QFEX", "Zeta live", "MSFT-USD")]
    qtbot.keyClicks(w.symbolFilter, "ms")  # case-insensitive, part of the symbol
    assert shown_rows(w) == [("QFEX", "Zeta live", "MSFT-USD")]
    assert w.positionsTitle.text() == "Open positions (1 of 6)"
    w.symbolFilter.clear()
    w.accountFilter.setCurrentIndex(0)
    w.venueFilter.setCurrentIndex(0)
    assert len(shown_rows(w)) == 6
    assert w.positionsTitle.text() == "Open positions (6)"


@pytest.mark.asyncio
async def test_filtered_view_follows_new_rows(rig: Rig) -> None:
    w = rig.window
    w.accountFilter.setCurrentIndex(w.accountFilter.findData("Mid demo"))
    w.positions_model.upsert(position("NVDA-USD", acct="Zeta live"))
    w.positions_model.upsert(position("AMZN-USD", acct="Mid demo"))
    assert [r[2] for r in shown_rows(w)] == ["AAPL-USD", "AMZN-USD", "MSFT-USD"]


@pytest.mark.asyncio
async def test_group_by_account_keeps_accounts_together_whichever_way_sorted(rig: Rig) -> None:
    w = rig.window
    w.groupByAccount.setChecked(True)
    w.positionsView.sortByColumn(PositionColumn.QUANTITY, Qt.SortOrder.DescendingOrder)
    rows = shown_rows(w)
    assert [r[1] for r in rows] == ["Alpha testnet", "Alpha testnet", "Mid demo", "Mid demo",
                                    "Zeta live", "Zeta live"]
    # Inside each account, by quantity descending (3 before 1; 10 before 2).
    assert [r[2] for r in rows] == ["USD_ETH_PERP", "USD_BTC_PERP", "AAPL-USD", "MSFT-USD",
                                    "AAPL-USD", "MSFT-USD"]
    w.groupByAccount.setChecked(False)
    rows = shown_rows(w)
    # Not grouped: quantity first (10, 3, 3, 2, 1, 1), ties by venue, account, symbol.
    assert rows == [
        ("Everstrike", "Alpha testnet", "USD_ETH_PERP"),
        ("QFEX", "Mid demo", "AAPL-USD"),
        ("QFEX", "Zeta live", "AAPL-USD"),
        ("Everstrike", "Alpha testnet", "USD_BTC_PERP"),
        ("QFEX", "Mid demo", "MSFT-USD"),
        ("QFEX", "Zeta live", "MSFT-USD"),
    ]


def test_proxy_filters_pass_qtmodeltester(
    qapp: QApplication, qtmodeltester: ModelTester
) -> None:
    model = PositionsModel()
    proxy = PositionsProxy()
    proxy.setSourceModel(model)
    model.upsert_many([position("A", acct="one"), position("B", acct="two"),
                       position("C", acct="one", venue=EVERSTRIKE)])
    proxy.set_group_by_account(True)
    proxy.sort(PositionColumn.SYMBOL, Qt.SortOrder.DescendingOrder)
    proxy.set_account_filter("one")
    assert proxy.position_count == 2
    assert proxy.rowCount() == 2 + 1 + 3  # its header, a total for each venue and for all
    proxy.set_venue_filter(EVERSTRIKE)
    assert proxy.position_count == 1
    qtmodeltester.check(proxy, force_py=True)


# ============================================================================ needs secret


@pytest.mark.asyncio
async def test_missing_secret_badge_offers_to_enter_it(
    qapp: QApplication, qtbot: QtBot, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    path = tmp_path / "config" / "closeout" / "settings.toml"
    from core.settings import Settings, add_account, save_settings

    save_settings(add_account(Settings(), LIVE_Q), path)
    window = MainWindow(Desk(), secret_store=SecretStore(), settings_path=path,
                        history_poll_ms=3_600_000)
    window.show()
    try:
        window.mark_needs_secret(LIVE_Q)
        badge = window.connectionStrip.badges["Zeta live"]
        assert badge.label.text() == "Zeta live: needs secret"
        assert not badge.secretButton.isHidden()
        assert badge.envChip.text() == "LIVE"
        assert "LIVE" in window.windowTitle()
        assert window.secretsMenuAction.isVisible()
        qtbot.mouseClick(badge.secretButton, Qt.MouseButton.LeftButton)
        dialog = window.accountsDialog
        assert dialog is not None and dialog.isVisible()
        assert dialog.editing == LIVE_Q
        assert dialog.focusWidget() is dialog.form.secretKeyInput
        assert dialog.form.secretKeyInput.placeholderText() == \
            "No secret is stored: enter it to connect"
    finally:
        await shut(window)


# ============================================================================ reason


def _dialog(submit: Callable[..., object]) -> CloseDialog:
    pos = replace(position("AAPL-USD", "5"), mark_price=D("101"))
    return CloseDialog(pos, FakeSession.capabilities, None, submit,  # type: ignore[arg-type]
                       preferences=Preferences(confirm="never"))


@pytest.mark.asyncio
async def test_close_dialog_reason_is_carried_in_the_request(qapp: QApplication) -> None:
    sent: list[object] = []

    async def submit(request: object) -> None:
        sent.append(request)

    dialog = _dialog(submit)
    try:
        assert dialog.check().request is not None
        assert dialog.check().request.reason is None  # type: ignore[union-attr]
        dialog.reasonInput.setText("  TICKET-42:\tclient asked  ")
        dialog.send()
        assert dialog.task is not None
        await dialog.task
        assert [r.reason for r in sent] == ["TICKET-42: client asked"]  # type: ignore[attr-defined]
        assert dialog.reasonInput.maxLength() == 200
    finally:
        shiboken6.delete(dialog)


@pytest.mark.asyncio
async def test_reason_reaches_the_journal_and_the_history_tab(rig: Rig, qtbot: QtBot) -> None:
    w = rig.window
    key = PositionKey("Zeta live", QFEX, "AAPL-USD")
    dialog = w.request_close(key)
    assert dialog is not None
    assert dialog.envChip.text() == "LIVE"  # the dialog says where the close goes
    assert dialog.windowTitle().endswith("(LIVE)")
    dialog.reasonInput.setText("INC-7 flatten before news")
    qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)
    assert dialog.task is None  # confirmations default to "always": one more click
    assert dialog.confirmPanel.isVisible()
    assert "on Zeta live (LIVE)?" in dialog.confirmMessage.text()
    qtbot.mouseClick(dialog.confirmButton, Qt.MouseButton.LeftButton)
    assert dialog.task is not None
    await dialog.task
    records = rig.journal.query(JournalFilter(kinds=frozenset({"intent"})))
    assert [r.reason for r in records] == ["INC-7 flatten before news"]
    w.historyAction.trigger()  # File > History: the tab shows, and loads the newest records
    await until(lambda: any(r.reason == "INC-7 flatten before news"
                            for r in w.historyView.model.records))


@pytest.mark.asyncio
async def test_entering_a_missing_secret_connects_the_account(
    qapp: QApplication, qtbot: QtBot, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    from core.settings import Settings, add_account, save_settings

    assert isinstance(tmp_path, Path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    path = tmp_path / "config" / "closeout" / "settings.toml"
    save_settings(add_account(Settings(), TEST_E), path)
    used: list[Credentials] = []

    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> FakeSession:
        used.append(creds)
        s = FakeSession(acct, creds, sink)
        s.initial = _positions(TEST_E)
        return s

    desk = Desk(session_factory=factory)
    window = MainWindow(desk, secret_store=SecretStore(), settings_path=path,
                        history_poll_ms=3_600_000, coalesce_ms=5)
    try:
        window.mark_needs_secret(TEST_E)
        window.request_secret(TEST_E.name)
        dialog = window.accountsDialog
        assert dialog is not None
        qtbot.keyClicks(dialog.form.secretKeyInput, "the-secret")
        assert dialog.save()
        await window.tracker.join(timeout=10)
        assert used == [Credentials("pub", "the-secret")]
        assert TEST_E.name in desk.accounts
        badge = window.connectionStrip.badges[TEST_E.name]
        assert not badge.needs_secret and badge.label.text() == "Alpha testnet: connected"
        assert not window.secretsMenuAction.isVisible()
        await until(lambda: window.positions_model.rowCount() == 2)
    finally:
        await shut(window, desk)
