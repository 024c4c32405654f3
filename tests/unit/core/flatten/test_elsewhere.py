"""In team mode a flatten plan leaves out the positions another desk is closing, says which and
who, and takes them in only when asked; the plan's journal record lists them."""

from __future__ import annotations

import json

import pytest

from core.desk.coordination import Holder
from core.flatten import EXIT_NOT_DONE, FlattenScope, Outcome, build_plan, execute
from core.journal import Journal
from core.model import PositionKey
from core.venues.qfex import QFEX
from tests.helpers.coordination import FakeCoordinator
from tests.helpers.fakes import World
from tests.unit.core.flatten.test_flatten import make_desk, pos, resting

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


@pytest.mark.asyncio
async def test_an_included_position_is_refused_by_the_lease_skipped_and_never_overridden(
    world: World, journal: Journal
) -> None:
    """A flatten never overrides a lease: an included position's cancel (after the ones that
    went) or close is refused, nothing more is sent for it, and the run says "not done"."""
    tsla = PositionKey("qa", QFEX, "TSLA-USD")
    coordinator = FakeCoordinator()

    def desk_3_takes_tsla_at_its_second_cancel() -> None:
        if coordinator.calls[-1][1] == tsla and coordinator.calls[-1][2] == "cancel:w2":
            coordinator.holders[tsla] = MARIA

    coordinator.while_asked = desk_3_takes_tsla_at_its_second_cancel
    coordinator.holders[AAPL] = MARIA
    desk = await make_desk(world, journal, {
        "qa": [pos("qa", "AAPL-USD", "10"), pos("qa", "TSLA-USD", "3")]},
        orders={"qa": [resting("qa", "TSLA-USD", "w1"), resting("qa", "TSLA-USD", "w2")]},
        coordinator=coordinator)
    try:
        plan = build_plan(desk, FlattenScope.for_account("qa"), reason="incident 7",
                          include_elsewhere=True)
        report = await execute(desk, plan).wait()
        items = {i.key: i for i in report.items}
        assert {k: i.outcome for k, i in items.items()} == \
            {AAPL: Outcome.SKIPPED, tsla: Outcome.SKIPPED}
        assert "Desk 3 (maria) is closing this" in items[AAPL].message
        assert items[tsla].message.startswith("cancelling resting order w2 was refused: Desk 3")
        assert items[tsla].cancelled_orders == ("w1",)
        assert not any(i.sent for i in report.items)
        assert ("cancel", "w1") in world.log and ("cancel", "w2") not in world.log
        assert not [e for e in world.log if e[0] != "cancel"]  # no close at all
        assert "override" not in [c[0] for c in coordinator.calls]
        assert report.exit_code == EXIT_NOT_DONE  # as `closeout close` refused by a lease
    finally:
        await desk.stop()
