"""The close dialog holds still when it asks for confirmation: the question takes the buttons'
place, the dialog keeps its size, nothing above moves, the environment chip keeps its size; and
the wire preview wraps between tokens, never inside one."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from core.model import CloseRequest, Environment
from core.settings import Preferences
from gui.dialogs.close import CloseDialog
from gui.theme.sheet import style_sheet
from tests.gui.test_close_dialog import INSTRUMENT, QFEX_LIKE, position
from tests.helpers.fakes import FakeSubmit

ALWAYS = Preferences(confirm="always", stale_after_s=5.0)


@pytest.fixture(params=[False, True], ids=["plain", "styled"])
def styled(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[bool]:
    """With and without the app's style sheet (set before the dialog is made, as the app
    does): the style changes every size, and a page styled late would grow when shown."""
    if request.param:
        qapp.setStyleSheet(style_sheet("light"))
    try:
        yield request.param
    finally:
        if request.param:
            qapp.setStyleSheet("")


def qfex_frame(request: CloseRequest) -> str:
    """A frame as long as a real QFEX add_order, with no spaces to break at."""
    return json.dumps({"type": "add_order", "params": {
        "symbol": request.key.symbol, "side": "SELL", "order_type": "LIMIT",
        "order_time_in_force": "GTC", "quantity": "3.5", "price": "61000.5",
        "client_order_id": request.client_order_id, "reduce_only": True,
        "take_profit": None, "stop_loss": None}}, separators=(",", ":"))


def everstrike_form(request: CloseRequest) -> str:
    return ("POST /auth/close\nx-api-key: abcd…***\nx-signature: ***\n\n"
            f"pair={request.key.symbol}&timestamp=1733300000000&recv_window=5000&qty=3.50"
            f"&price=61000.5&trigger_price=59000.0&trigger_event=MARK_PRICE"
            f"&close_on_trigger=true&client_order_id={request.client_order_id}")


def make(qtbot: QtBot, **kw: Any) -> CloseDialog:
    kw.setdefault("preferences", ALWAYS)
    kw.setdefault("environment", Environment.LIVE)
    kw.setdefault("preview", qfex_frame)
    dialog = CloseDialog(position(), QFEX_LIKE, INSTRUMENT, FakeSubmit(), **kw)
    qtbot.addWidget(dialog)
    dialog.open()
    settle(dialog)
    return dialog


def settle(dialog: CloseDialog) -> None:
    """Let the layouts apply what changed (a sync test: no loop is running)."""
    QApplication.processEvents()
    layout = dialog.layout()
    assert layout is not None
    layout.activate()
    QApplication.processEvents()


def geometries(dialog: CloseDialog) -> dict[str, QRect]:
    """Where everything above the buttons is, in the dialog's coordinates, and the dialog's
    own size."""
    shown: dict[str, QWidget] = {
        "title chip": dialog.envChip,
        "summary": dialog.positionSummary,
        "form": dialog.form,
        "quantity": dialog.quantityInput,
        "reason": dialog.reasonInput,
        "preview": dialog.preview,
        "preview text": dialog.previewText,
        "copy for ticket": dialog.copyTicketButton,
        "message line": dialog.validationMessage,
    }
    found = {name: QRect(w.mapTo(dialog, QPoint(0, 0)), w.size()) for name, w in shown.items()}
    found["dialog"] = QRect(QPoint(0, 0), dialog.size())
    return found


@pytest.mark.parametrize("stale", [False, True], ids=["confirm", "stale-and-confirm"])
def test_asking_for_confirmation_moves_nothing(qtbot: QtBot, stale: bool, styled: bool) -> None:
    age = 42.0 if stale else 0.5
    dialog = make(qtbot, data_age=lambda: age)
    before = geometries(dialog)
    chip = dialog.envChip.size()
    send_rect = QRect(dialog.sendButton.mapTo(dialog, QPoint(0, 0)), dialog.sendButton.size())

    qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)
    settle(dialog)
    assert dialog.confirming and dialog.confirmPanel.isVisible()
    if stale:
        assert "42 s old" in dialog.confirmMessage.text()
    after = geometries(dialog)
    assert after == before
    assert not dialog.sendButton.isVisible()  # the question took the buttons' place
    assert dialog.envChip.size() == chip == dialog.envChip.sizeHint()
    # The whole question is readable in the space kept for it.
    message = dialog.confirmMessage
    assert message.height() >= message.heightForWidth(message.width())
    # Back sits where Send was: a second click of a double click cannot confirm.
    back = QRect(dialog.confirmBackButton.mapTo(dialog, QPoint(0, 0)),
                 dialog.confirmBackButton.size())
    assert back.contains(send_rect.center())

    qtbot.mouseClick(dialog.confirmBackButton, Qt.MouseButton.LeftButton)
    settle(dialog)
    assert not dialog.confirming and dialog.sendButton.isVisible()
    assert geometries(dialog) == before


def test_a_double_click_on_send_asks_and_sends_nothing(qtbot: QtBot) -> None:
    submit = FakeSubmit()
    dialog = CloseDialog(position(), QFEX_LIKE, INSTRUMENT, submit, preferences=ALWAYS,
                         environment=Environment.DEMO, preview=qfex_frame)
    qtbot.addWidget(dialog)
    dialog.open()
    settle(dialog)
    spot = dialog.sendButton.mapTo(dialog, dialog.sendButton.rect().center())
    qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)
    settle(dialog)
    second = dialog.childAt(spot)
    assert second is dialog.confirmBackButton
    qtbot.mouseClick(second, Qt.MouseButton.LeftButton)
    assert not dialog.confirming and dialog.task is None and submit.requests == []


def visual_lines(dialog: CloseDialog) -> list[list[str]]:
    """The preview's lines as drawn, block by block, without the break marks."""
    out: list[list[str]] = []
    block = dialog.previewText.document().begin()
    while block.isValid():
        layout = block.layout()
        text = block.text()
        lines = []
        for i in range(layout.lineCount()):
            line = layout.lineAt(i)
            lines.append(text[line.textStart():line.textStart() + line.textLength()]
                         .replace("\u200b", ""))
        out.append(lines)
        block = block.next()
    return out


@pytest.mark.parametrize("preview", [qfex_frame, everstrike_form], ids=["qfex", "everstrike"])
def test_the_preview_wraps_between_tokens(qtbot: QtBot, preview: Any) -> None:
    dialog = make(qtbot, preview=preview)
    request = dialog.check().request
    assert request is not None
    wire = preview(request)
    blocks = visual_lines(dialog)
    assert any(len(lines) > 2 for lines in blocks)  # it does wrap
    for lines in blocks:
        for line, following in itertools.pairwise(lines):
            # A wrapped line ends a token: a JSON separator, a form field, or before an object.
            assert line.endswith((",", "&", ":", " ")), (line, following)
            if line.endswith(":"):
                assert following.startswith(("{", "["))
    # What is read, and what is copied, is the request exactly.
    assert dialog.previewText.toPlainText() == wire
    dialog.previewText.selectAll()
    dialog.previewText.copy()
    assert QApplication.clipboard().text() == wire
    assert dialog.ticket_text().endswith(wire)
