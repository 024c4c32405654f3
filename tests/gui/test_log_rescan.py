"""A change of the order log's filter over many lines, through the real window: read in
slices across turns of the loop (a small slice size injected), shown once at the end, the
previous result on screen meanwhile with "filtering… N %"; lines arriving meanwhile end up
once; a further change or Clear filters drops the rescan under way."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from gui.main_window import MainWindow
from gui.models.log_filter import LogFilter
from gui.models.log_proxy import LogProxy
from tests.gui.test_log_filters import START, Feed, choose, shown
from tests.gui.test_window_fake_desk import ALPHA, Rig, rig  # noqa: F401
from tests.helpers.polling import until

SLICE = 10


def sliced(w: MainWindow) -> None:
    """One slice of SLICE lines per turn of the loop."""
    w.log_filters.slice_lines = SLICE
    w.log_filters.budget = 0.0


def keep_and_drop(on: Rig, n: int) -> Feed:
    """n lines, every third a "keep" line, after the rig's two connection lines."""
    feed = Feed(on)
    for i in range(n):
        feed.order(f"{'keep' if i % 3 == 0 else 'drop'} {i:03d}")
    feed.show()
    return feed


def slices(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of each slice read, in order."""
    read: list[int] = []
    passing = LogFilter.passing

    def counted(f: LogFilter, lines: Sequence[tuple[object, ...]]) -> bytearray:
        read.append(len(lines))
        return passing(f, lines)

    monkeypatch.setattr(LogFilter, "passing", counted)
    return read


def results(monkeypatch: pytest.MonkeyPatch) -> list[LogFilter]:
    """Each filter whose result the pane was given."""
    given: list[LogFilter] = []
    show = LogProxy.show

    def counted(proxy: LogProxy, new: LogFilter, passing: Sequence[int]) -> None:
        given.append(new)
        show(proxy, new, passing)

    monkeypatch.setattr(LogProxy, "show", counted)
    return given


def after_turns(w: MainWindow, turns: int, then: Callable[[], None]) -> None:
    """Run ``then`` once, after the rescan's ``turns``-th turn of the loop (between slices)."""
    done = [0]

    def tick() -> None:
        done[0] += 1
        if done[0] == turns:
            then()

    w.log_filters.turn.timeout.connect(tick)


def expected(w: MainWindow, f: LogFilter) -> list[str]:
    """What a filter lets through of the lines held now, worked out at once."""
    accepts = f.predicate()
    return [str(held[10]) for held in w.log_model.held_lines() if accepts(held)]


@pytest.mark.asyncio
async def test_a_filter_over_a_large_log_is_read_in_slices_and_shown_once_at_the_end(
        rig: Rig,  # noqa: F811 - the imported fixture
        monkeypatch: pytest.MonkeyPatch, qtmodeltester: ModelTester) -> None:
    w = rig.window
    sliced(w)
    keep_and_drop(rig, 98)  # 100 lines with the connection lines
    read, given = slices(monkeypatch), results(monkeypatch)
    bar = w.logPane.bar
    bar.search.setText("KEEP")
    bar.search.returnPressed.emit()
    # The first slice at once, then the pane still shows every line, and says it is filtering.
    assert read == [SLICE] and given == [] and w.log_filters.busy
    assert w.logView.model() is w.log_model and len(shown(w)) == 100
    assert bar.count.text() == "filtering… 10 %" and bar.clear.isVisible()
    await until(lambda: not w.log_filters.busy, what="the rescan")
    assert read == [SLICE] * 10  # ten slices, one per turn
    assert given == [LogFilter(text="KEEP")]  # shown once, at the end
    assert w.logView.model() is w.log_proxy
    assert shown(w) == [f"keep {i:03d}" for i in range(0, 98, 3)]
    assert bar.count.text() == "showing 33 of 100"
    qtmodeltester.check(w.log_proxy)
    # A filter for another: the previous result stays until the new one is whole.
    bar.search.setText("keep 05")
    bar.search.returnPressed.emit()
    assert w.log_filters.busy and len(shown(w)) == 33
    await until(lambda: not w.log_filters.busy, what="the second rescan")
    assert given == [LogFilter(text="KEEP"), LogFilter(text="keep 05")]
    assert shown(w) == ["keep 051", "keep 054", "keep 057"]
    assert bar.count.text() == "showing 3 of 100"
    qtmodeltester.check(w.log_proxy)


@pytest.mark.asyncio
async def test_lines_arriving_during_a_rescan_end_up_once_when_they_match(
        rig: Rig,  # noqa: F811 - the imported fixture
        monkeypatch: pytest.MonkeyPatch, qtmodeltester: ModelTester) -> None:
    """New lines at the end, a late line inserted among those already read, and the oldest
    trimmed past the cap: the result is the filter over the lines held at the end."""
    w = rig.window
    sliced(w)
    w.log_model.max_rows = 120
    feed = keep_and_drop(rig, 98)
    given = results(monkeypatch)

    def meanwhile() -> None:
        feed.order("keep late", at=START)  # received before all but the connection lines
        for i in range(25):  # 125 lines: the oldest are trimmed
            feed.order(f"{'keep' if i % 2 else 'drop'} new {i:02d}")
        feed.show()

    after_turns(w, 3, meanwhile)
    choose(w.logPane.bar.kind, "Order")
    w.logPane.bar.search.setText("keep")
    w.logPane.bar.search.returnPressed.emit()
    await until(lambda: not w.log_filters.busy and given, what="the rescan")
    f = LogFilter(kind="Order", text="keep")
    assert given[-1] == f and w.log_model.trimmed
    assert shown(w)[1:] == expected(w, f)  # after the note row
    assert shown(w).count("keep late") == 1 and shown(w).count("keep new 23") == 1
    assert w.logView.following and w.logView.at_bottom()
    # The result shown keeps up with the log: more trimmed, another late line, new lines.
    qtmodeltester.check(w.log_proxy)
    feed.order("keep later", at=START + 0.0005)
    for i in range(30):
        feed.order(f"keep newer {i:02d}" if i % 2 else f"drop newer {i:02d}")
    feed.show()
    assert w.log_model.is_note(w.log_proxy.source_row(0))
    assert shown(w)[1:] == expected(w, f) and shown(w)[-1] == "keep newer 29"


@pytest.mark.asyncio
async def test_a_further_change_drops_the_rescan_under_way(
        rig: Rig, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    w = rig.window
    sliced(w)
    keep_and_drop(rig, 98)
    given = results(monkeypatch)
    bar = w.logPane.bar
    choose(bar.kind, "Fill")  # none: the first rescan would show nothing
    assert w.log_filters.busy
    after_turns(w, 2, lambda: choose(bar.kind, "Order"))
    await until(lambda: given, what="a result")
    assert not w.log_filters.busy
    assert given == [LogFilter(kind="Order")]  # the first one's result never shown
    assert len(shown(w)) == 98
    # A key typed in the search box drops the rescan at once; the pause then starts another.
    bar.search.setText("keep")
    bar.search.returnPressed.emit()
    assert w.log_filters.busy
    qtbot.keyClicks(bar.search, " 00")
    assert not w.log_filters.busy and len(shown(w)) == 98
    assert bar.count.text() == "showing 98 of 100"
    await until(lambda: len(given) == 2 and not w.log_filters.busy, what="the typed search")
    assert given[-1] == LogFilter(kind="Order", text="keep 00")
    assert shown(w) == ["keep 000", "keep 003", "keep 006", "keep 009"]


@pytest.mark.asyncio
async def test_clear_filters_during_a_rescan_shows_every_line_at_once(
        rig: Rig, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    w = rig.window
    sliced(w)
    keep_and_drop(rig, 98)
    given = results(monkeypatch)
    bar = w.logPane.bar
    choose(bar.account, ALPHA)
    assert w.log_filters.busy and bar.clear.isVisible()
    qtbot.mouseClick(bar.clear, Qt.MouseButton.LeftButton)
    assert not w.log_filters.busy and not w.log_filters.turn.isActive()
    assert w.logView.model() is w.log_model and len(shown(w)) == 100
    assert not bar.count.isVisible() and not bar.clear.isVisible()
    assert given == []  # the rescan's result never came
    # With a filter shown: Clear during the next rescan drops it and shows the log itself.
    w.log_filters.slice_lines = 1000
    choose(bar.kind, "Order")
    assert given == [LogFilter(kind="Order")] and w.logView.model() is w.log_proxy
    w.log_filters.slice_lines = SLICE
    choose(bar.account, ALPHA)
    assert w.log_filters.busy
    qtbot.mouseClick(bar.clear, Qt.MouseButton.LeftButton)
    assert not w.log_filters.busy and w.logView.model() is w.log_model
    assert len(shown(w)) == 100 and given[-1] == LogFilter()


@pytest.mark.asyncio
async def test_the_line_read_stays_on_top_and_follow_stays_at_the_end_across_a_rescan(
        rig: Rig) -> None:  # noqa: F811
    w = rig.window
    sliced(w)
    feed = keep_and_drop(rig, 148)
    view = w.logView
    view.verticalScrollBar().setValue(62)  # "keep 060" on top, not following
    reading = str(view.model().index(view.rowAt(0), 10).data())
    assert reading == "keep 060" and not view.following
    w.logPane.bar.search.setText("keep")
    w.logPane.bar.search.returnPressed.emit()
    assert w.log_filters.busy
    await until(lambda: not w.log_filters.busy, what="the rescan")
    assert str(view.model().index(view.rowAt(0), 10).data()) == reading
    assert not view.following
    w.logPane.bar.follow.setChecked(True)  # following: a new filter stays at the newest line
    w.logPane.bar.search.setText("keep 1")
    w.logPane.bar.search.returnPressed.emit()
    feed.order("keep 1 newest")
    feed.show()
    await until(lambda: not w.log_filters.busy, what="the second rescan")
    assert shown(w)[-1] == "keep 1 newest" and view.following and view.at_bottom()
