"""A cancelled GTC limit close is explained as what it was: taken off the book at the user's
request, never as an IOC remainder. Through the real window: the dialog rests the limit, the
Working orders tab's Cancel button cancels it, and the log line and the row's tooltip say why."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from core.model import PositionKey, WorkingKind
from gui.models import LogColumn, PositionColumn
from tests.gui.test_end_to_end import AAPL, ETH, Live, click_cancel, live, rest_a_close  # noqa: F401
from tests.helpers.polling import until

EXPLAINED = "Cancelled at your request: the GTC limit close is off the book"


def cancelled_lines(live: Live, key: PositionKey) -> list[str]:  # noqa: F811
    model = live.window.log_model
    return [model.data(model.index(r, LogColumn.MESSAGE)) for r in range(model.rowCount())
            if model.data(model.index(r, LogColumn.SYMBOL)) == key.symbol
            and model.data(model.index(r, LogColumn.STATUS)) == "CANCELLED"]


@pytest.mark.parametrize("key", [AAPL, ETH], ids=["qfex", "everstrike"])
@pytest.mark.asyncio
async def test_a_cancelled_gtc_limit_says_you_cancelled_it(
    qtbot: QtBot, live: Live, key: PositionKey  # noqa: F811 - the imported fixture
) -> None:
    w = live.window
    ident = await rest_a_close(qtbot, live, key, WorkingKind.LIMIT)
    click_cancel(qtbot, w, ident)
    await until(lambda: cancelled_lines(live, key), what="the CANCELLED log line")
    [message] = cancelled_lines(live, key)
    assert message.startswith(EXPLAINED)
    assert "IOC" not in message

    def tooltip() -> str:
        index = w.proxy_index(key, PositionColumn.ACTION)
        return str(index.data(Qt.ItemDataRole.ToolTipRole) or "")

    await until(lambda: EXPLAINED in tooltip(), what="the row's tooltip to say why")
    assert "IOC" not in tooltip()
