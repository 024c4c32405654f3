"""What a desk has heard of the other desks' leases, on a clock the test turns: a lease names
its desk until it is given up or runs out unrenewed, and a fresh read replaces what was heard."""

from __future__ import annotations

import pytest

from core.team.awareness import LeaseChanged
from core.team.heard import HeardLeases
from core.team.leases import LeaseKey

A = LeaseKey("client-7", "qfex", "BTC-USD")
B = LeaseKey("client-7", "everstrike", "ETH-PERP")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def taken(key: LeaseKey = A, desk: str = "d3", *, held_for: float | None = 4.0,
          expires_in: float | None = 26.0, intent: str = "i1") -> LeaseChanged:
    return LeaseChanged(key, desk, intent, held=True, operator="maria", held_for_s=held_for,
                        expires_in_s=expires_in)


def test_a_lease_is_timed_from_what_the_server_said_on_this_desks_clock() -> None:
    clock = Clock()
    heard = HeardLeases(clock)
    assert heard.observe(taken())
    clock.now += 6
    holder = heard.holder(A, {"d3": "Desk 3"})
    assert holder is not None
    assert (holder.desk_name, holder.operator, holder.intent_id) == ("Desk 3", "maria", "i1")
    assert holder.held_for_s == pytest.approx(10.0)
    assert holder.expires_in_s == pytest.approx(20.0)
    assert heard.holder(B, {}) is None
    assert heard.next_deadline() == pytest.approx(1026.0)


def test_an_unrenewed_lease_runs_out_and_a_renewed_one_does_not() -> None:
    clock = Clock()
    heard = HeardLeases(clock)
    heard.observe(taken(A))
    heard.observe(taken(B, "d4", expires_in=10.0))
    clock.now += 9
    assert heard.observe(taken(B, "d4", held_for=13.0, expires_in=30.0))  # B renewed
    clock.now += 17  # A's 26 s are up; B has 13 s left
    assert heard.desk_id(A) is None  # expired even before the sweep
    assert heard.holder(A, {}) is None
    assert heard.expire() == [(A, "d3")]
    assert heard.held() == [B] and heard.desk_id(B) == "d4"
    assert heard.expire() == []


def test_a_release_counts_only_from_the_desk_holding_it() -> None:
    heard = HeardLeases(Clock())
    heard.observe(taken(A, "d3"))
    assert not heard.observe(LeaseChanged(A, "d4", "i9", held=False))
    assert heard.desk_id(A) == "d3"
    assert heard.observe(LeaseChanged(A, "d3", "i1", held=False))
    assert heard.desk_id(A) is None and heard.next_deadline() is None


def test_times_unknown_name_the_desk_but_never_expire_by_themselves() -> None:
    clock = Clock()
    heard = HeardLeases(clock)
    heard.observe(taken(held_for=None, expires_in=None))  # a database with the older schema
    clock.now += 10_000
    assert heard.desk_id(A) == "d3"
    assert heard.holder(A, {}) is None  # no times to show
    assert heard.expire() == [] and heard.next_deadline() is None


def test_a_fresh_read_replaces_what_was_heard_and_says_what_changed() -> None:
    clock = Clock()
    heard = HeardLeases(clock)
    heard.observe(taken(A, "d3"))
    heard.observe(taken(B, "d4"))
    # While this desk was away, d3 gave A up (no word reached it) and d5 took B over.
    changed = heard.replace([taken(B, "d5")])
    assert changed == {A, B}
    assert heard.desk_id(A) is None and heard.desk_id(B) == "d5"
    assert heard.replace([taken(B, "d5")]) == set()  # the same read again: nothing changed
