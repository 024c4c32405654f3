"""What a desk has heard of the other desks' leases: who is closing which position now."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core.model import PositionKey
from core.team.awareness import LeaseChanged
from core.team.coordinator import TeamCoordinator
from core.team.leases import LeaseKey
from core.venues.qfex import QFEX

KEY = PositionKey("client-7", QFEX, "BTC-USD")
LEASE = LeaseKey("client-7", "qfex", "BTC-USD")


async def _never() -> Any:
    raise AssertionError("no connection is made to follow what was heard")


def test_a_taken_lease_names_the_desk_until_that_desk_gives_it_up() -> None:
    coordinator = TeamCoordinator(_never, "d1", "maria")
    changed: list[PositionKey] = []
    coordinator.attach(changed.append)
    coordinator.desk_names["d3"] = "Desk 3"
    assert coordinator.elsewhere(KEY) is None
    coordinator.observe(LeaseChanged(LEASE, "d3", "i1", held=True))
    assert coordinator.elsewhere(KEY) == "Desk 3"
    coordinator.observe(LeaseChanged(LEASE, "d4", "i2", held=False))  # not d3's: stays
    assert coordinator.elsewhere(KEY) == "Desk 3"
    coordinator.observe(LeaseChanged(LEASE, "d4", "i2", held=True))  # d3's expired, d4 took it
    assert coordinator.elsewhere(KEY) == "d4"  # no name heard yet: its id
    coordinator.observe(LeaseChanged(LEASE, "d4", "i2", held=False))
    assert coordinator.elsewhere(KEY) is None
    assert changed == [KEY, KEY, KEY]  # taken, taken over, given up: not the no-op
    coordinator.observe(LeaseChanged(LeaseKey("a", "no-such-venue", "X"), "d4", "i", held=True))
    assert changed == [KEY, KEY, KEY]  # a venue this version does not know marks no row


def test_names_read_later_show_again_on_the_rows_already_marked() -> None:
    coordinator = TeamCoordinator(_never, "d1", "maria")
    changed: list[PositionKey] = []
    coordinator.attach(changed.append)
    coordinator.observe(LeaseChanged(LEASE, "d3", "i1", held=True))
    assert coordinator.elsewhere(KEY) == "d3"
    coordinator.desk_names["d3"] = "Desk 3"
    coordinator.names_changed()
    assert changed == [KEY, KEY] and coordinator.elsewhere(KEY) == "Desk 3"


async def _hangs() -> Any:
    await asyncio.Event().wait()  # a database that never answers
    raise AssertionError("unreachable")


@pytest.mark.asyncio
async def test_a_close_gives_up_its_leases_for_at_most_its_time_limit() -> None:
    coordinator = TeamCoordinator(_hangs, "d1", "maria", connect_timeout=3600.0)
    coordinator._hold(KEY, "i1")  # a lease taken before the database stopped answering
    async with asyncio.timeout(60):  # without the limit the release would wait an hour
        await coordinator.close(timeout=0.05)
    assert coordinator.held == []
