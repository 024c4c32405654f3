"""Protocol errors are rate-limited, never dropped: the first of a kind is recorded whole, its
repeats inside the window become one summary carrying their count, and the counts of what is
recorded always add up to every error the venues caused."""

from __future__ import annotations

import pytest

from core.desk.protocol_errors import OTHER_KINDS, ErrorThrottle, ProtocolErrorLog, kind_of
from core.model import ProtocolError
from core.venues.qfex import QFEX
from tests.helpers.clock import FakeClock
from tests.helpers.polling import until


def err(message: str = "Unreadable QFEX message: not JSON", *, acct: str = "acct",
        code: str | None = None) -> ProtocolError:
    return ProtocolError(QFEX, acct, message, raw="{bad", code=code)


def total(records: list[ProtocolError]) -> int:
    return sum(r.count for r in records)


# --------------------------------------------------------------------------- the throttle


def test_the_first_goes_out_whole_and_its_repeats_become_one_summary() -> None:
    clock = FakeClock()
    throttle = ErrorThrottle(window=10, clock=clock)
    assert throttle.offer(err()) is True
    assert [throttle.offer(err("Unreadable QFEX message: other detail")) for _ in range(99)] \
        == [False] * 99
    clock.now += 9.9
    assert throttle.due() == []  # the window is still open
    clock.now += 0.1
    (summary,) = throttle.due()
    assert summary.count == 99
    assert summary.message.startswith("99 more like this in the last 10 s: Unreadable QFEX")
    assert summary.raw == ""
    assert 1 + summary.count == throttle.offered == 100


def test_a_quiet_kind_is_forgotten_and_shown_whole_again() -> None:
    clock = FakeClock()
    throttle = ErrorThrottle(window=5, clock=clock)
    assert throttle.offer(err())
    clock.now += 5
    assert throttle.due() == []  # nothing repeated: no summary line
    assert throttle.next_due() is None
    assert throttle.offer(err())  # a fresh window: whole again


def test_a_steady_flood_gives_one_summary_per_window_and_keeps_every_count() -> None:
    clock = FakeClock()
    throttle = ErrorThrottle(window=10, clock=clock)
    recorded: list[ProtocolError] = []
    for _ in range(6000):  # 100 errors a second for a minute
        error = err()
        if throttle.offer(error):
            recorded.append(error)
        clock.now += 0.01
        recorded.extend(throttle.due())
    recorded.extend(throttle.drain())
    assert len(recorded) <= 8  # one whole line, then about one summary per window
    assert total(recorded) == throttle.offered == 6000


def test_kinds_are_counted_apart_per_account() -> None:
    clock = FakeClock()
    throttle = ErrorThrottle(window=10, clock=clock)
    assert throttle.offer(err(code="frame_too_big"))
    assert throttle.offer(err(code="unknown_category"))
    assert throttle.offer(err(code="frame_too_big", acct="other"))
    assert not throttle.offer(err("QFEX said something else", code="frame_too_big"))
    clock.now += 10
    (summary,) = throttle.due()
    assert (summary.account, summary.code, summary.count) == ("acct", "frame_too_big", 1)


def test_many_kinds_at_once_fold_into_one_group_so_the_records_stay_bounded() -> None:
    clock = FakeClock()
    throttle = ErrorThrottle(window=10, kinds=5, clock=clock)
    shown = [throttle.offer(err(f"kind {i}: detail")) for i in range(1000)]
    assert sum(shown) == 6  # five kinds, then the first of the rest
    summaries = throttle.drain()
    (other,) = summaries
    assert other.code == OTHER_KINDS
    assert other.count == 994
    assert other.message.startswith("994 more protocol errors of other kinds in the last ")
    assert sum(shown) + total(summaries) == 1000


def test_kind_is_the_code_or_the_words_before_the_colon() -> None:
    assert kind_of(err(code="malformed")) == "malformed"
    assert kind_of(err("Everstrike sent a bad index event: 'mark' is not a number")) \
        == "Everstrike sent a bad index event"


# --------------------------------------------------------------------------- the desk's log


@pytest.mark.asyncio
async def test_the_summary_is_recorded_when_the_window_ends_even_if_nothing_follows() -> None:
    recorded: list[ProtocolError] = []
    errors = ProtocolErrorLog(recorded.append, window=0.05)
    for _ in range(10):
        errors.offer(err())
    assert total(recorded) == 1
    await until(lambda: total(recorded) == 10, 10, "the summary of the repeats")
    assert [r.count for r in recorded] == [1, 9]


def test_close_records_what_is_still_counted() -> None:
    recorded: list[ProtocolError] = []
    errors = ProtocolErrorLog(recorded.append, window=3600)
    for _ in range(5):
        errors.offer(err())
    errors.close()
    assert [r.count for r in recorded] == [1, 4]
