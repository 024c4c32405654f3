"""The team link's phase from its two connections, and its transitions told once each: down
once however many retries fail, back once the backlog is sent, with the count sent."""

from __future__ import annotations

import pytest

from core.team.link import LinkBack, LinkDown, LinkPhase, LinkState, LinkWatch, link_phase

UP, DOWN, STARTING = LinkPhase.UP, LinkPhase.DOWN, LinkPhase.STARTING


@pytest.mark.parametrize(("copy", "copy_error", "live", "live_error", "phase"), [
    (False, None, False, None, STARTING),  # neither has an answer yet
    (True, None, False, None, STARTING),  # the live updates still connecting
    (False, None, True, None, STARTING),
    (True, None, True, None, UP),
    (False, "refused", False, None, DOWN),  # the copy tried and failed
    (True, None, False, "server closed the connection", DOWN),  # heard first by the updates
    (False, "refused", True, None, DOWN),
    (True, "an old error", True, None, UP),  # connected again: an old error does not count
])
def test_the_phase_of_the_link(copy: bool, copy_error: str | None, live: bool,
                               live_error: str | None, phase: LinkPhase) -> None:
    assert link_phase(copy, copy_error, live, live_error) is phase


def state(phase: LinkPhase, remote: int, local: int, error: str | None = None) -> LinkState:
    return LinkState(phase, remote, local, error)


def test_queued_is_what_the_shared_journal_lacks_and_never_negative() -> None:
    assert state(UP, 10, 52).queued == 42
    assert state(UP, 52, 52).queued == 0
    assert state(UP, 60, 52).queued == 0  # a local read older than the copy's


def test_a_start_that_connects_tells_nothing() -> None:
    watch = LinkWatch()
    assert watch.observe(state(STARTING, 0, 0), 1.0) is None
    assert watch.observe(state(UP, 0, 5), 2.0) is None
    assert watch.observe(state(UP, 5, 5), 3.0) is None
    assert watch.phase is UP and watch.since == 2.0 and not watch.outage


def test_an_outage_is_told_once_and_its_end_once_with_the_records_sent() -> None:
    watch = LinkWatch()
    watch.observe(state(UP, 100, 100), 1.0)
    down = watch.observe(state(DOWN, 100, 103, "refused"), 2.0)
    assert down == LinkDown(2.0, 3, "refused")
    assert watch.outage and watch.since == 2.0
    for seq in range(104, 140):  # retries fail, records keep coming: nothing more to tell
        assert watch.observe(state(DOWN, 100, seq, "refused"), float(seq)) is None
    assert watch.since == 2.0
    assert watch.observe(state(UP, 100, 140), 200.0) is None  # up, not caught up yet
    assert watch.observe(state(UP, 130, 140), 201.0) is None
    back = watch.observe(state(UP, 140, 140), 202.0)
    assert back == LinkBack(202.0, 40)
    assert not watch.outage and watch.since == 200.0
    assert watch.observe(state(UP, 140, 140), 203.0) is None


def test_a_database_away_from_the_start_is_told_and_so_is_its_arrival() -> None:
    watch = LinkWatch()
    assert watch.observe(state(STARTING, 0, 0), 1.0) is None
    assert watch.observe(state(DOWN, 0, 7, "refused"), 2.0) == LinkDown(2.0, 7, "refused")
    assert watch.observe(state(STARTING, 0, 7), 3.0) is None  # one connection back so far
    assert watch.observe(state(UP, 7, 7), 4.0) == LinkBack(4.0, 7)


def test_a_blip_between_readings_of_down_is_still_one_outage() -> None:
    watch = LinkWatch()
    watch.observe(state(UP, 1, 1), 1.0)
    assert isinstance(watch.observe(state(DOWN, 1, 2, "x"), 2.0), LinkDown)
    assert watch.observe(state(UP, 1, 2), 3.0) is None  # up but not caught up
    assert watch.observe(state(DOWN, 1, 3, "x"), 4.0) is None  # the same outage, not told again
    assert watch.observe(state(UP, 3, 3), 5.0) == LinkBack(5.0, 2)
