"""Freshness: row ages, quiet sessions, since when an account is stale, and the guard that
compares a close with the live book. Plain values in, plain values out: no desk, no clock."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from core.desk.freshness import (
    AccountFreshness,
    PositionChanged,
    Stale,
    check,
    data_age,
    silence_limit,
    silent_for,
    stale_age,
    stale_rows,
    vouches,
)
from core.model import CloseRequest, ConnectionState, PositionKey, PositionSide, SessionHealth
from tests.helpers.fakes import position

D = Decimal
ROW = replace(position(qty="10"), received_at=100.0)
BOOK = {ROW.key: ROW}


def close(qty: str | None = None, side: PositionSide = PositionSide.LONG) -> CloseRequest:
    return CloseRequest(ROW.key, side, D(10), quantity=None if qty is None else D(qty))


# ============================================================================ the guard


def test_a_close_that_matches_the_book_passes() -> None:
    check(BOOK, close())
    check(BOOK, close("10"))


def test_a_flat_position_is_refused_with_nothing_to_show() -> None:
    with pytest.raises(PositionChanged) as caught:
        check({}, close())
    assert caught.value.reason == "flat" and caught.value.current is None
    assert caught.value.code == "POSITION_CHANGED"
    assert "already flat" in str(caught.value)


def test_a_side_change_is_refused_with_the_position_now() -> None:
    with pytest.raises(PositionChanged) as caught:
        check(BOOK, close(side=PositionSide.SHORT))
    assert caught.value.reason == "side" and caught.value.current == ROW
    assert str(caught.value).startswith("the position is now long 10, not short")


def test_asking_for_more_than_is_left_is_refused_as_shrank() -> None:
    with pytest.raises(PositionChanged) as caught:
        check(BOOK, close("11"))
    assert caught.value.reason == "shrank" and caught.value.current == ROW


# ============================================================================ rows


def test_a_row_is_as_old_as_its_own_update_without_a_live_session() -> None:
    assert data_age(ROW, None, 130.0) == 30.0
    talking_but_down = SessionHealth(connected=False, last_message_at=129.0)
    assert data_age(ROW, talking_but_down, 130.0) == 30.0


def test_a_connected_session_that_spoke_later_vouches_for_the_row() -> None:
    assert data_age(ROW, SessionHealth(connected=True, last_message_at=125.0), 130.0) == 5.0
    older = SessionHealth(connected=True, last_message_at=90.0)
    assert data_age(ROW, older, 130.0) == 30.0  # the row's own update is newer


def test_an_age_is_never_negative() -> None:
    assert data_age(ROW, None, 99.0) == 0.0


@pytest.mark.parametrize(("age", "expected"), [(None, None), (4.9, None), (5.0, None),
                                               (5.1, 5.1)])
def test_stale_age_is_past_the_threshold_only(age: float | None, expected: float | None) -> None:
    assert stale_age(age, 5.0) == expected


def test_only_a_connected_session_that_spoke_within_the_threshold_vouches() -> None:
    assert vouches(SessionHealth(True, last_message_at=96.0), 5.0, 100.0)
    assert not vouches(SessionHealth(True, last_message_at=94.0), 5.0, 100.0)
    assert not vouches(SessionHealth(False, last_message_at=99.0), 5.0, 100.0)
    assert not vouches(SessionHealth(True), 5.0, 100.0)
    assert not vouches(None, 5.0, 100.0)


def test_stale_rows_looks_only_at_accounts_nobody_vouches_for() -> None:
    quiet_old = PositionKey("quiet", ROW.key.venue, "OLD")
    quiet_new = PositionKey("quiet", ROW.key.venue, "NEW")
    live = PositionKey("live", ROW.key.venue, "ANY")
    unknown = PositionKey("unread", ROW.key.venue, "ANY")  # no health reading: quiet
    ages = {quiet_old: 12.0, quiet_new: 2.0, live: 99.0, unknown: 7.0}
    asked: list[PositionKey] = []

    def age_of(key: PositionKey, now: float) -> float | None:
        assert now == 100.0
        asked.append(key)
        return ages[key]

    healths = {"quiet": SessionHealth(True, last_message_at=80.0),
               "live": SessionHealth(True, last_message_at=99.0)}
    rows = stale_rows(ages, ["quiet", "live", "unread"], healths, age_of, 5.0, 100.0)
    assert rows == {quiet_old: 12.0, unknown: 7.0}
    assert live not in asked


def test_stale_rows_asks_nothing_when_every_account_is_vouched_for() -> None:
    def age_of(key: PositionKey, now: float) -> float | None:
        raise AssertionError("no row should be looked at")

    assert stale_rows([ROW.key], ["acct"], {"acct": SessionHealth(True, last_message_at=99.0)},
                      age_of, 5.0, 100.0) == {}


# ============================================================================ sessions


def test_silence_limit_is_one_and_a_half_periods_and_two_seconds_over_one() -> None:
    assert silence_limit(10.0) == 15.0
    assert silence_limit(1.0) == 3.0


def test_a_session_is_silent_only_past_its_limit() -> None:
    health = SessionHealth(True, last_message_at=100.0, keepalive_s=10.0)
    assert silent_for(health, 100.0 + silence_limit(10.0)) is None
    assert silent_for(health, 116.0) == 16.0
    assert silent_for(SessionHealth(True, last_message_at=100.0), 500.0) is None  # no keep-alive
    assert silent_for(SessionHealth(True, keepalive_s=10.0), 500.0) is None  # nothing heard


def test_an_outage_counts_from_its_first_event_until_connected() -> None:
    fresh = AccountFreshness()
    assert fresh.stale("a") is None
    fresh.connection("a", ConnectionState.DISCONNECTED, 1000.0)
    fresh.connection("a", ConnectionState.CONNECTING, 1005.0)  # a retry does not restart it
    assert fresh.outage_since("a") == 1000.0
    assert fresh.stale("a") == Stale("disconnected", 1000.0)
    fresh.connection("a", ConnectionState.CONNECTED, 1010.0)
    assert fresh.stale("a") is None and fresh.outage_since("a") is None


def test_a_silence_counts_from_the_last_message_heard() -> None:
    fresh = AccountFreshness()
    health = SessionHealth(True, last_message_at=100.0, keepalive_s=10.0)
    fresh.health("a", ConnectionState.CONNECTED, health, 110.0, 5_010.0)
    assert fresh.stale("a") is None  # within the limit
    fresh.health("a", ConnectionState.CONNECTED, health, 120.0, 5_020.0)
    assert fresh.stale("a") == Stale("silent", 5_000.0)  # wall time of the last message
    fresh.health("a", ConnectionState.CONNECTED, health, 130.0, 5_031.0)
    assert fresh.stale("a") == Stale("silent", 5_000.0)  # the first judgement stands
    spoke = SessionHealth(True, last_message_at=129.0, keepalive_s=10.0)
    fresh.health("a", ConnectionState.CONNECTED, spoke, 130.0, 5_031.0)
    assert fresh.stale("a") is None


def test_only_a_connected_session_can_be_silent_and_an_outage_says_more() -> None:
    fresh = AccountFreshness()
    quiet = SessionHealth(True, last_message_at=100.0, keepalive_s=10.0)
    fresh.health("a", ConnectionState.CONNECTING, quiet, 200.0, 9_000.0)
    assert fresh.stale("a") is None
    fresh.health("a", ConnectionState.CONNECTED, quiet, 200.0, 9_000.0)
    fresh.connection("a", ConnectionState.DISCONNECTED, 9_001.0)
    assert fresh.stale("a") == Stale("disconnected", 9_001.0)
    fresh.forget("a")
    assert fresh.stale("a") is None
