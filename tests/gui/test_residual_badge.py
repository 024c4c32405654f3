"""The "residual N" badge exists to show N: however narrow the Close column, the number is
drawn whole (the word gives way first), and the Close residual button beside it still takes a
click."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter
from pytestqt.qtbot import QtBot

from core.desk import CloseIntent, IntentState
from core.model import CloseRequest, Position, PositionKey
from gui.models import RESIDUAL_ROLE, PositionColumn
from tests.gui.test_live_sort import Rig, rig  # noqa: F401 - the window fixture

D = Decimal
LEFT = D("12345.678")  # a residual with many digits


@pytest.mark.asyncio
async def test_the_residual_badge_never_elides_its_number(
    rig: Rig, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    w, view = rig.window, rig.window.positionsView
    key = rig.shown()[0]
    pos = rig.desk.positions[key]
    rig.sessions[key.account].sink(Position(key, pos.side, LEFT, pos.entry_price,
                                            pos.mark_price, pos.unrealised_pnl))
    w.bridge.flush()
    w.positions_model.flush()
    w.positions_model.set_intent(CloseIntent(
        id="partly", request=CloseRequest(key, pos.side, D(20000)),
        state=IntentState.PARTIAL, filled=D(20000) - LEFT))
    index = w.proxy_index(key, PositionColumn.ACTION)
    assert index.data(RESIDUAL_ROLE) == f"residual {LEFT}"
    clicked: list[PositionKey] = []
    view.residualRequested.connect(clicked.append)

    drawn: list[str] = []  # every text the Python delegates draw
    real = QPainter.drawText

    def spy(painter: QPainter, *args: Any) -> Any:
        drawn.extend(a for a in args if isinstance(a, str))
        return real(painter, *args)

    monkeypatch.setattr(QPainter, "drawText", spy)
    for width in (340, 250, 180, 140, 120):
        view.setColumnWidth(PositionColumn.ACTION, width)
        drawn.clear()
        view.viewport().repaint()
        badge = [t for t in drawn if t.endswith(str(LEFT))]
        assert badge, f"at {width} px the badge drew {drawn}"
        if width == 340:  # room enough: the badge grows to its whole text
            assert badge == [f"residual {LEFT}"]
        if width >= 250:  # ... as long as the button beside it keeps its words
            assert "Close residual" in drawn
        assert not [t for t in drawn if "1234" in t and str(LEFT) not in t], width
        # The button beside it still takes a real click.
        rect = view.visualRect(index)
        hit = view.delegate.hit_rect(rect, index)
        assert hit.width() > 0 and rect.contains(hit)
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=hit.center())
        assert clicked[-1:] == [key], width
        clicked.clear()
