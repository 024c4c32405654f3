"""A new filter worked out a slice at a time over a list of lines that changes meanwhile:
lines added ahead of the pass or behind it, the oldest trimmed; the result is always the
lines of the list as it is now that pass, each once."""

from __future__ import annotations

from gui.models.log_filter import LogFilter
from gui.models.log_line import FIELDS, Line
from gui.models.log_rescan import Rescan

WANTED = LogFilter(text="keep")


def line(message: str) -> Line:
    held = (1.0, "Order", "QFEX", "Alpha", "AAPL-USD", "ACK", "NEW", "5", "", "1", message, "",
            "", None, None, None)
    assert len(held) == len(FIELDS)
    return held


def messages(lines: list[Line], indices: list[int]) -> list[str]:
    return [lines[i][10] for i in indices]


def expected(lines: list[Line]) -> list[str]:
    accepts = WANTED.predicate()
    return [held[10] for held in lines if accepts(held)]


def log(n: int) -> list[Line]:
    return [line(f"{'keep' if i % 3 == 0 else 'drop'} {i}") for i in range(n)]


def test_each_step_reads_one_slice_until_every_line_is_read() -> None:
    lines = log(25)
    rescan = Rescan(WANTED, lines)
    steps = 1
    while not rescan.step(10):
        steps += 1
        assert 0 < rescan.progress < 1
    assert steps == 3 and rescan.done and rescan.progress == 1
    assert messages(lines, rescan.passing) == expected(lines)


def test_lines_inserted_behind_the_pass_are_read_when_they_come_and_ahead_when_reached() -> None:
    lines = log(30)
    rescan = Rescan(WANTED, lines)
    rescan.step(10)
    lines[4:4] = [line("keep late"), line("drop late")]  # behind the pass
    rescan.inserted(4, 2)
    lines[20:20] = [line("keep ahead")]  # ahead of it
    rescan.inserted(20, 1)
    lines.extend([line("keep newest"), line("drop newest")])  # at the end
    rescan.inserted(len(lines) - 2, 2)
    while not rescan.step(10):
        pass
    assert messages(lines, rescan.passing) == expected(lines)
    assert messages(lines, rescan.passing).count("keep late") == 1


def test_the_oldest_lines_trimmed_during_the_pass_leave_the_result() -> None:
    lines = log(30)
    rescan = Rescan(WANTED, lines)
    rescan.step(10)
    del lines[:7]  # within what was read
    rescan.removed(0, 7)
    rescan.step(10)
    del lines[:15]  # past the point reached
    rescan.removed(0, 15)
    while not rescan.step(10):
        pass
    assert messages(lines, rescan.passing) == expected(lines)


def test_an_empty_log_is_done_at_once() -> None:
    rescan = Rescan(WANTED, [])
    assert rescan.done and rescan.progress == 1 and rescan.step(10) and rescan.passing == []
