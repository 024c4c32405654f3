"""In team mode a flatten plan leaves out the positions another desk is closing, says which and
who, and takes them in only when asked; the plan's journal record lists them."""

from __future__ import annotations

import json

import pytest

from core.desk.coordination import Holder
from core.flatten import FlattenScope, build_plan
from core.journal import Journal
from core.model import PositionKey
from core.venues.qfex import QFEX
from tests.helpers.coordination import FakeCoordinator
from tests.helpers.fakes import World
from tests.unit.core.flatten.test_flatten import make_desk, pos

AAPL = PositionKey("qa", QFEX, "AAPL-USD")
MARIA = Holder("d3", "Desk 3", "maria", "i-9", 2.0, 28.0)


@pytest.mark.asyncio
@pytest.mark.parametrize("include", [False, True])
async def test_positions_another_desk_is_closing_are_left_out_unless_asked(
    world: World, journal: Journal, include: bool
) -> None:
    coordinator = FakeCoordinator(holders={AAPL: MARIA})
    desk = await make_desk(world, journal, {
        "qa": [pos("qa", "AAPL-USD", "10"), pos("qa", "TSLA-USD", "3")]},
        coordinator=coordinator)
    try:
        plan = build_plan(desk, FlattenScope.for_account("qa"), reason="incident 7",
                          include_elsewhere=include)
        assert plan.elsewhere == ((AAPL, "Desk 3"),)
        tsla = PositionKey("qa", QFEX, "TSLA-USD")
        assert {i.key for i in plan.items} == ({AAPL, tsla} if include else {tsla})
        journal.flush()
        (record,) = [r for r in journal.iter_all() if r.kind == "flatten_plan"]
        assert json.loads(record.payload)["elsewhere"] == [
            {"position": str(AAPL), "desk": "Desk 3"}]
    finally:
        await desk.stop()


@pytest.mark.asyncio
async def test_alone_nothing_is_elsewhere(world: World, journal: Journal) -> None:
    desk = await make_desk(world, journal, {"qa": [pos("qa", "AAPL-USD", "10")]})
    try:
        plan = build_plan(desk, FlattenScope.for_account("qa"), reason=None)
        assert plan.elsewhere == () and len(plan.items) == 1
        assert desk.elsewhere(AAPL) is None
    finally:
        await desk.stop()
