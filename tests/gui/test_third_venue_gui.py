"""A third venue, registered from its one folder (tests/helpers/thirdvenue), in the window: its
label in the rows and the venue filter, and a close dialog that offers exactly what it can do
and sends through it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
import pytest_asyncio
from PySide6.QtWidgets import QApplication

from core.desk import Desk, IntentState
from core.model import Environment, PositionKey
from core.settings import Preferences
from core.venue import AccountConfig, Credentials
from core.venues import register, unregister
from gui.dialogs.close import CloseDialog
from gui.main_window import MainWindow
from gui.models import PositionColumn
from tests.gui.conftest import until
from tests.helpers.thirdvenue import BOOK, INFO, THIRD, ThirdSession
from tests.helpers.windows import shut

D = Decimal
ACCOUNT = AccountConfig("t-1", THIRD, Environment.DEMO, "pub-third-1")
KEY = PositionKey("t-1", THIRD, "ALPHA-USD")  # 3 long, lot 0.5


@dataclass
class Rig:
    desk: Desk
    window: MainWindow


@pytest_asyncio.fixture
async def rig(qapp: QApplication) -> AsyncIterator[Rig]:
    register(INFO)
    ThirdSession.reset()
    desk = Desk()  # the default session factory: the registry's session class
    window = MainWindow(desk, preferences=Preferences(confirm="never"), coalesce_ms=5,
                        health_interval_ms=3_600_000)
    window.show()
    try:
        assert await desk.start([(ACCOUNT, Credentials(ACCOUNT.public_key, "sec"))]) == []
        window.positions_model.flush()
        yield Rig(desk, window)
    finally:
        await shut(window, desk)
        unregister(THIRD)
        ThirdSession.reset()


@pytest.mark.asyncio
async def test_its_rows_and_the_venue_filter_show_its_label(rig: Rig) -> None:
    model, w = rig.window.positions_model, rig.window
    assert model.rowCount() == len(BOOK)
    row = model.row_of(KEY)
    assert row is not None
    assert model.index(row, PositionColumn.VENUE).data() == "Third Venue"
    i = w.venueFilter.findData(THIRD.value)
    assert i >= 0 and w.venueFilter.itemText(i) == "Third Venue"


@pytest.mark.asyncio
async def test_the_close_dialog_offers_its_capabilities_and_sends_through_it(rig: Rig) -> None:
    dialog = rig.window.request_close(KEY)
    assert isinstance(dialog, CloseDialog)
    assert dialog.caps is INFO.capabilities
    assert dialog.positionSummary.labels["venue"].text() == "Third Venue"
    assert dialog.quantityInput.isEnabled()  # partial closes: yes
    for widget, why in ((dialog.limitPriceInput, "Third Venue closes at market only"),
                        (dialog.triggerPriceInput, "Third Venue has no trigger closes"),
                        (dialog.timeInForceInput, "Third Venue takes no time in force for closes")):
        assert not widget.isEnabled(), widget.objectName()
        assert widget.toolTip() == why
    dialog.quantityInput.setText("1")
    dialog.send()
    assert dialog.task is not None
    await dialog.task
    [session] = ThirdSession.started
    [prepared] = session.sent
    assert (prepared.request.key, prepared.request.quantity) == (KEY, D(1))
    [intent] = rig.desk.intents().values()
    assert intent.request is prepared.request and intent.state is IntentState.FILLED
    await until(lambda: rig.desk.positions[KEY].quantity == D(2), what="the position reduced")
