"""Flatten over the real desk with hand-written venue fakes (no sockets).

The fakes answer each close the way a venue does (an order update, then the position push), or
refuse it, or leave a residual, or never answer, per symbol; a gate can hold every send so a
test can see how many are in flight at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio

from cli.flatten_text import plan_text, report_text
from core.desk import Desk
from core.desk.coordination import Coordinator
from core.flatten import (
    CONFIRM_WORD,
    CONFIRM_WORD_LIVE,
    EXIT_FLAT,
    EXIT_NOT_DONE,
    EXIT_REJECTED,
    EXIT_RESIDUAL,
    EXIT_UNKNOWN,
    FlattenPlan,
    FlattenReport,
    FlattenScope,
    ItemState,
    Outcome,
    Phase,
    PlanAlreadyRun,
    PlanError,
    ScopeKind,
    build_plan,
    execute,
    exit_code,
)
from core.journal import Journal
from core.model import (
    CloseRequest,
    Environment,
    OrderSide,
    Position,
    PositionKey,
    PositionRemoved,
    PositionSide,
    Venue,
    WorkingKind,
    WorkingOrder,
)
from core.venue import AccountConfig, Credentials, EventSink
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from tests.helpers.fakes import FlatSession, Reply, World

D = Decimal
LONG, SHORT = PositionSide.LONG, PositionSide.SHORT


def pos(account: str, symbol: str, qty: str, side: PositionSide = LONG, *,
        venue: Venue = QFEX, pnl: str | None = "-1") -> Position:
    return Position(PositionKey(account, venue, symbol), side, D(qty), entry_price=None,
                    mark_price=D(100), unrealised_pnl=None if pnl is None else D(pnl))


def resting(account: str, symbol: str, order_id: str, *, kind: WorkingKind = WorkingKind.LIMIT,
            reduce_only: bool = True, venue: Venue = QFEX) -> WorkingOrder:
    return WorkingOrder(venue, account, symbol, order_id, kind, OrderSide.SELL, D(1),
                        price=D(120), trigger_price=D(90) if kind is WorkingKind.TRIGGER else None,
                        reduce_only=reduce_only)


async def make_desk(world: World, journal: Journal | None, accounts: dict[str, list[Position]],
                    *, orders: dict[str, list[WorkingOrder]] | None = None,
                    environments: dict[str, Environment] | None = None,
                    venues: dict[str, Venue] | None = None,
                    coordinator: Coordinator | None = None) -> Desk:
    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> FlatSession:
        s = FlatSession(acct, creds, sink, world)
        s.initial = tuple(accounts[acct.name])
        s.working = tuple((orders or {}).get(acct.name, ()))
        world.sessions[acct.name] = s
        return s

    desk = Desk(journal=journal, session_factory=factory, coordinator=coordinator)
    configs = [
        (AccountConfig(name, (venues or {}).get(name, QFEX),
                       (environments or {}).get(name, Environment.DEMO), "pub"),
         Credentials("pub", "s3cr3t"))
        for name in accounts
    ]
    assert await desk.start(configs) == []
    return desk


@pytest_asyncio.fixture
async def two_accounts(world: World, journal: Journal) -> AsyncIterator[Desk]:
    """qa (QFEX): AAPL long 10 losing, TSLA short 3 winning, NVDA long 5 with no P&L yet;
    eb (Everstrike): ETH short 2 losing."""
    desk = await make_desk(world, journal, {
        "qa": [pos("qa", "AAPL-USD", "10"), pos("qa", "TSLA-USD", "3", SHORT, pnl="4"),
               pos("qa", "NVDA-USD", "5", pnl=None)],
        "eb": [pos("eb", "USD_ETH_PERP", "2", SHORT, venue=EVERSTRIKE)],
    }, venues={"eb": EVERSTRIKE})
    yield desk
    await desk.stop()


def keys(plan: FlattenPlan) -> set[str]:
    return {str(i.key) for i in plan.items}


def outcomes(report: FlattenReport) -> dict[str, Outcome | None]:
    return {i.key.symbol: i.outcome for i in report.items}


def records(journal: Journal) -> list[tuple[str, str | None, dict[str, Any]]]:
    journal.flush()  # the test reads the file: what was appended is written first
    out = []
    for r in journal.records(limit=10_000):
        payload = json.loads(r.payload) if r.payload.startswith("{") else {"text": r.payload}
        out.append((r.kind, r.reason, payload))
    return out


# ------------------------------------------------------------------------------ scope and plan
@pytest.mark.asyncio
async def test_scopes_and_filters_pick_the_right_positions(two_accounts: Desk) -> None:
    desk = two_accounts
    q = "qa/qfex/"
    everything = {q + "AAPL-USD", q + "TSLA-USD", q + "NVDA-USD", "eb/everstrike/USD_ETH_PERP"}
    assert keys(build_plan(desk, FlattenScope.everything(), reason=None)) == everything
    assert keys(build_plan(desk, FlattenScope.for_account("qa"), reason=None)) == {
        q + "AAPL-USD", q + "TSLA-USD", q + "NVDA-USD"}
    assert keys(build_plan(desk, FlattenScope.for_venue(EVERSTRIKE), reason=None)) == {
        "eb/everstrike/USD_ETH_PERP"}
    assert keys(build_plan(desk, FlattenScope.everything(side=SHORT), reason=None)) == {
        q + "TSLA-USD", "eb/everstrike/USD_ETH_PERP"}
    assert keys(build_plan(desk, FlattenScope.for_account("qa", side=LONG), reason=None)) == {
        q + "AAPL-USD", q + "NVDA-USD"}
    assert keys(build_plan(desk, FlattenScope.everything(symbol="TSLA-USD"), reason=None)) == {
        q + "TSLA-USD"}
    # Losing only: P&L below zero; a position whose P&L is not known yet is left out.
    assert keys(build_plan(desk, FlattenScope.everything(losing_only=True), reason=None)) == {
        q + "AAPL-USD", "eb/everstrike/USD_ETH_PERP"}
    gone = PositionKey("qa", QFEX, "MSFT-USD")
    aapl = PositionKey("qa", QFEX, "AAPL-USD")
    picked = build_plan(desk, FlattenScope.selected([aapl, gone]), reason=None)
    assert keys(picked) == {q + "AAPL-USD"}
    assert picked.missing == (gone,)


@pytest.mark.asyncio
async def test_a_scope_that_names_nothing_real_is_refused(two_accounts: Desk) -> None:
    with pytest.raises(PlanError, match="select at least one"):
        FlattenScope.selected([])
    with pytest.raises(PlanError, match="account"):
        FlattenScope.for_account("")
    with pytest.raises(PlanError, match="venue"):
        FlattenScope(ScopeKind.VENUE)
    with pytest.raises(PlanError, match="unknown account 'nope'"):
        build_plan(two_accounts, FlattenScope.for_account("nope"), reason=None)


@pytest.mark.asyncio
async def test_plan_lists_mechanism_request_and_the_resting_orders_it_cancels_first(
    world: World, journal: Journal
) -> None:
    desk = await make_desk(world, journal, {
        "qa": [pos("qa", "AAPL-USD", "10"), pos("qa", "TSLA-USD", "3")],
        "eb": [pos("eb", "USD_ETH_PERP", "2", SHORT, venue=EVERSTRIKE)],
    }, orders={"qa": [
        resting("qa", "AAPL-USD", "lim-1"),
        resting("qa", "AAPL-USD", "trg-1", kind=WorkingKind.TRIGGER, reduce_only=False),
        resting("qa", "AAPL-USD", "open-1", reduce_only=False),  # not a close: left alone
        resting("qa", "TSLA-USD", "lim-2"),
    ]}, venues={"eb": EVERSTRIKE})
    plan = build_plan(desk, FlattenScope.everything(), reason="TICKET-42")
    by = {i.key.symbol: i for i in plan.items}
    aapl = by["AAPL-USD"]
    assert [o.order_id for o in aapl.cancels] == ["lim-1", "trg-1"]
    assert aapl.cancel_previews == ("CANCEL lim-1", "CANCEL trg-1")
    assert aapl.preview == "CLOSE AAPL-USD ALL"  # the session's own redacted request
    assert aapl.request.is_full and aapl.request.limit_price is None
    assert aapl.request.position_side is LONG and aapl.request.position_quantity == D(10)
    assert aapl.request.reason == f"flatten {plan.id}: TICKET-42" == plan.journal_reason
    assert "close_position" in aapl.mechanism and "IOC" in aapl.mechanism
    assert "/auth/close" in by["USD_ETH_PERP"].mechanism
    assert (aapl.side, aapl.quantity, aapl.mark, aapl.unrealised_pnl, aapl.environment) == (
        LONG, D(10), D(100), D(-1), Environment.DEMO)
    assert [o.order_id for o in by["TSLA-USD"].cancels] == ["lim-2"]
    bare = build_plan(desk, FlattenScope.everything(), reason=None, cancel_resting=False)
    assert all(i.cancels == () for i in bare.items)
    assert bare.id != plan.id
    assert bare.journal_reason == f"flatten {bare.id}"

    (rec,) = [p for k, r, p in records(journal) if k == "flatten_plan" and p["plan_id"] == plan.id]
    assert rec["reason"] == "TICKET-42"
    assert rec["scope"]["kind"] == "everything"
    items = {i["symbol"]: i for i in rec["items"]}
    assert items["AAPL-USD"]["request"] == "CLOSE AAPL-USD ALL"
    assert [c["order_id"] for c in items["AAPL-USD"]["cancels"]] == ["lim-1", "trg-1"]
    assert items["AAPL-USD"]["quantity"] == "10"
    json.loads(plan.to_json())
    text = plan_text(plan)
    assert "CANCEL lim-1" in text and "CLOSE AAPL-USD ALL" in text and "TICKET-42" in text
    assert sent_nothing(world)
    await desk.stop()


def sent_nothing(world: World) -> bool:
    return world.log == []


@pytest.mark.asyncio
async def test_typed_confirmation_for_everything_and_for_live_accounts(world: World) -> None:
    desk = await make_desk(world, None, {
        "demo1": [pos("demo1", "AAPL-USD", "1")],
        "live1": [pos("live1", "TSLA-USD", "1")],
    }, environments={"live1": Environment.LIVE})
    small = build_plan(desk, FlattenScope.for_account("demo1"), reason=None)
    assert not small.requires_typed_confirmation
    assert small.confirmation_word == CONFIRM_WORD == "FLATTEN"
    demo_everything = build_plan(desk, FlattenScope.everything(), reason=None)
    assert demo_everything.requires_typed_confirmation  # everything, and live1 is in it
    assert demo_everything.confirmation_word == CONFIRM_WORD_LIVE == "FLATTEN LIVE"
    live = build_plan(desk, FlattenScope.for_account("live1"), reason=None)
    assert live.requires_typed_confirmation and live.confirmation_word == "FLATTEN LIVE"
    assert live.confirms("FLATTEN LIVE") and live.confirms("  FLATTEN LIVE\n")
    assert not live.confirms("FLATTEN") and not live.confirms("flatten live")
    only_demo = build_plan(desk, FlattenScope.everything(symbol="AAPL-USD"), reason=None)
    assert only_demo.requires_typed_confirmation and only_demo.confirmation_word == "FLATTEN"
    nothing = build_plan(desk, FlattenScope.everything(symbol="NONE"), reason=None)
    assert not nothing.requires_typed_confirmation  # nothing would be sent
    await desk.stop()


# ------------------------------------------------------------------------------ execution
@pytest.mark.asyncio
async def test_all_closes_are_in_flight_at_once_and_every_one_is_verified_flat(
    world: World, journal: Journal
) -> None:
    symbols = ["AAPL-USD", "TSLA-USD", "NVDA-USD", "MSFT-USD"]
    desk = await make_desk(world, journal, {
        "qa": [pos("qa", s, "2") for s in symbols],
        "qb": [pos("qb", s, "3", SHORT) for s in symbols],
        "eb": [pos("eb", s, "1", venue=EVERSTRIKE) for s in symbols],
    }, venues={"eb": EVERSTRIKE})
    plan = build_plan(desk, FlattenScope.everything(), reason="desk call")
    # Every send waits until all twelve are waiting: a serial flatten would never get there.
    world.hold(until_in_flight=12)
    async with asyncio.timeout(10):
        report = await execute(desk, plan, concurrency={}).wait()
    assert world.max_in_flight == 12
    assert report.all_flat and report.exit_code == EXIT_FLAT
    assert report.totals[Outcome.CLOSED_VERIFIED_FLAT] == 12
    assert desk.positions == {}
    for item in report.items:
        assert item.sent and item.intent_id and item.client_order_id
        assert item.label == "closed, verified flat"
        assert item.quantity == item.planned_quantity
    await desk.stop()


@pytest.mark.asyncio
async def test_a_per_venue_cap_bounds_requests_in_flight(world: World) -> None:
    desk = await make_desk(world, None, {
        "qa": [pos("qa", f"S{i}-USD", "1") for i in range(8)],
    })
    plan = build_plan(desk, FlattenScope.everything(), reason=None)
    world.yields = 5
    report = await execute(desk, plan, concurrency={QFEX: 3}).wait()
    assert world.max_in_flight == 3  # concurrent, but never more than the cap
    assert report.all_flat
    await desk.stop()


@pytest.mark.asyncio
async def test_resting_orders_are_cancelled_before_the_close(world: World,
                                                             journal: Journal) -> None:
    desk = await make_desk(world, journal, {
        "qa": [pos("qa", "AAPL-USD", "10"), pos("qa", "TSLA-USD", "3")],
    }, orders={"qa": [resting("qa", "AAPL-USD", "lim-1"),
                      resting("qa", "AAPL-USD", "trg-1", kind=WorkingKind.TRIGGER)]})
    plan = build_plan(desk, FlattenScope.for_account("qa"), reason="T-1")
    report = await execute(desk, plan).wait()
    aapl = [e for e in world.log if e[1] in ("lim-1", "trg-1", "qa/AAPL-USD")]
    assert aapl == [("cancel", "lim-1"), ("cancel", "trg-1"), ("close", "qa/AAPL-USD")]
    (item,) = [i for i in report.items if i.key.symbol == "AAPL-USD"]
    assert item.cancelled_orders == ("lim-1", "trg-1")
    assert item.outcome is Outcome.CLOSED_VERIFIED_FLAT
    assert desk.working_orders == {}
    # The plan id reaches every journal record the desk wrote for this execution.
    tagged = {k for k, r, _ in records(journal) if r == plan.journal_reason}
    assert {"flatten_plan", "flatten_start", "cancel_intent", "cancel_result", "intent",
            "request", "flatten_report"} <= tagged
    for kind, reason, _ in records(journal):
        if kind in ("cancel_intent", "cancel_result", "intent", "request"):
            assert reason is not None and plan.id in reason
    await desk.stop()


@pytest.mark.asyncio
async def test_a_failed_cancel_blocks_the_close(world: World) -> None:
    desk = await make_desk(world, None, {
        "qa": [pos("qa", "AAPL-USD", "10"), pos("qa", "TSLA-USD", "3")],
    }, orders={"qa": [resting("qa", "AAPL-USD", "lim-1"), resting("qa", "AAPL-USD", "lim-2")]})
    world.sessions["qa"].cancel_fail["lim-1"] = "the venue says no such order"
    plan = build_plan(desk, FlattenScope.everything(), reason=None)
    report = await execute(desk, plan).wait()
    by = {i.key.symbol: i for i in report.items}
    assert by["AAPL-USD"].outcome is Outcome.BLOCKED
    assert "lim-1" in by["AAPL-USD"].message and "no such order" in by["AAPL-USD"].message
    assert by["AAPL-USD"].label.startswith("blocked: ")
    assert not by["AAPL-USD"].sent
    assert ("close", "qa/AAPL-USD") not in world.log  # the close was never sent
    assert ("cancel", "lim-2") not in world.log  # nor anything after the failed cancel
    assert by["TSLA-USD"].outcome is Outcome.CLOSED_VERIFIED_FLAT  # the others go on
    assert report.exit_code == EXIT_REJECTED
    await desk.stop()


@pytest.mark.asyncio
async def test_freshness_guard_flat_side_changed_and_size_changed(world: World) -> None:
    desk = await make_desk(world, None, {
        "qa": [pos("qa", "AAPL-USD", "10"), pos("qa", "TSLA-USD", "3"),
               pos("qa", "NVDA-USD", "5")],
    })
    plan = build_plan(desk, FlattenScope.everything(), reason=None)
    s = world.sessions["qa"]
    s.sink(PositionRemoved(PositionKey("qa", QFEX, "AAPL-USD")))  # closed meanwhile
    flipped = pos("qa", "TSLA-USD", "2", SHORT)
    s.sink(flipped)
    s.book["TSLA-USD"] = flipped
    grown = pos("qa", "NVDA-USD", "7")
    s.sink(grown)
    s.book["NVDA-USD"] = grown
    report = await execute(desk, plan).wait()
    by = {i.key.symbol: i for i in report.items}
    assert by["AAPL-USD"].outcome is Outcome.ALREADY_FLAT and not by["AAPL-USD"].sent
    assert by["TSLA-USD"].outcome is Outcome.SKIPPED and not by["TSLA-USD"].sent
    assert "short 2" in by["TSLA-USD"].message and "long 3" in by["TSLA-USD"].message
    assert by["NVDA-USD"].outcome is Outcome.CLOSED_VERIFIED_FLAT
    assert by["NVDA-USD"].quantity == D(7) and by["NVDA-USD"].planned_quantity == D(5)
    assert any("current position" in n for n in by["NVDA-USD"].notes)
    (sent,) = s.sent
    assert sent.key.symbol == "NVDA-USD" and sent.position_quantity == D(7) and sent.is_full
    assert report.exit_code == EXIT_NOT_DONE  # the short TSLA is still open
    await desk.stop()


@pytest.mark.asyncio
async def test_a_close_already_in_flight_is_joined_not_doubled(world: World) -> None:
    desk = await make_desk(world, None, {"qa": [pos("qa", "AAPL-USD", "10")]})
    world.behaviour["AAPL-USD"] = Reply.SILENT
    first = await desk.close(CloseRequest(PositionKey("qa", QFEX, "AAPL-USD"), LONG, D(10)))
    plan = build_plan(desk, FlattenScope.everything(), reason=None)
    joined = asyncio.Event()
    run = execute(desk, plan, on_progress=lambda s: joined.set() if s.joined else None)
    session = world.sessions["qa"]
    async with asyncio.timeout(10):
        await joined.wait()
    # The venue answers the first close now; the flatten follows it to the end.
    session._answer(first.request, Reply.FILL)
    report = await run.wait()
    (item,) = report.items
    assert item.joined and not item.sent and item.intent_id == first.id
    assert item.outcome is Outcome.CLOSED_VERIFIED_FLAT
    assert any("joined the pending close" in n for n in item.notes)
    assert len(session.sent) == 1  # nothing new was sent
    await desk.stop()


@pytest.mark.asyncio
async def test_rejected_refused_residual_and_unknown_are_reported(world: World,
                                                                  journal: Journal) -> None:
    desk = await make_desk(world, journal, {
        "qa": [pos("qa", "AAPL-USD", "10"), pos("qa", "TSLA-USD", "3"),
               pos("qa", "NVDA-USD", "5"), pos("qa", "MSFT-USD", "4"),
               pos("qa", "PLTR-USD", "6")],
    })
    world.behaviour.update({"AAPL-USD": Reply.REJECT, "TSLA-USD": Reply.REFUSE,
                            "NVDA-USD": "residual:2", "MSFT-USD": Reply.SILENT})
    plan = build_plan(desk, FlattenScope.everything(), reason="T-9")
    report = await execute(desk, plan, settle_timeout=0.3, verify_timeout=0.3).wait()
    by = {i.key.symbol: i for i in report.items}
    assert outcomes(report) == {
        "AAPL-USD": Outcome.REJECTED, "TSLA-USD": Outcome.REJECTED,
        "NVDA-USD": Outcome.RESIDUAL, "MSFT-USD": Outcome.UNKNOWN,
        "PLTR-USD": Outcome.CLOSED_VERIFIED_FLAT,
    }
    assert "margin" in by["AAPL-USD"].message and by["AAPL-USD"].sent
    assert "market closed" in by["TSLA-USD"].message
    assert by["NVDA-USD"].residual == D(2) and by["NVDA-USD"].label == "residual 2"
    assert by["NVDA-USD"].filled == D(3)
    assert "still shows open" in by["MSFT-USD"].message
    assert "Nothing was resent" in by["MSFT-USD"].message
    assert world.sessions["qa"].refreshes >= 1  # asked the venue before calling it unknown
    assert report.exit_code == EXIT_UNKNOWN
    assert report.totals[Outcome.REJECTED] == 2
    assert [c for c in world.log if c[0] == "close"].count(("close", "qa/MSFT-USD")) == 1

    # The report: JSON that parses, text a human reads, and a journal record.
    parsed = json.loads(report.to_json())
    assert parsed["plan_id"] == plan.id and parsed["exit_code"] == EXIT_UNKNOWN
    assert parsed["totals"] == {"closed_verified_flat": 1, "residual": 1, "rejected": 2,
                                "unknown": 1}
    assert {i["symbol"]: i["outcome"] for i in parsed["items"]}["NVDA-USD"] == "residual"
    text = report_text(report)
    assert plan.id in text and "residual 2" in text and "rejected: " in text
    (saved,) = [p for k, r, p in records(journal) if k == "flatten_report"]
    assert saved["plan_id"] == plan.id and saved["totals"] == parsed["totals"]

    # Retry: only the residual and the rejections, from the live book, under a new id.
    retry = report.retry_plan(desk)
    assert retry.id != plan.id and retry.retry_of == plan.id
    assert {i.key.symbol: i.quantity for i in retry.items} == {
        "AAPL-USD": D(10), "TSLA-USD": D(3), "NVDA-USD": D(2)}
    assert retry.reason == "T-9"
    assert retry.journal_reason == f"flatten {retry.id} (retry of {plan.id}): T-9"
    assert retry.items[0].request.reason == retry.journal_reason
    assert any(k == "flatten_plan" and p["retry_of"] == plan.id for k, _, p in records(journal))
    await desk.stop()


@pytest.mark.parametrize("when", ["as_the_second_close_leaves", "while_the_rest_queue"])
@pytest.mark.asyncio
async def test_cancel_stops_new_requests_and_says_which_were_sent(
    world: World, journal: Journal, when: str
) -> None:
    """Either way, exactly the two closes that had left are sent; nothing queued behind the
    venue's cap (a resting cancel included) leaves after Cancel."""
    desk = await make_desk(world, journal, {
        "qa": [pos("qa", f"S{i}-USD", "1") for i in range(6)],
    }, orders={"qa": [resting("qa", "S5-USD", "lim-5")]})
    plan = build_plan(desk, FlattenScope.everything(), reason=None)
    seen: list[ItemState] = []
    already: list[PositionKey] = []

    def progress(state: ItemState) -> None:
        seen.append(state)
        if when == "as_the_second_close_leaves" and state.phase is Phase.SENDING \
                and sum(s.sent for s in run.states) == 2:
            already.extend(run.cancel())

    if when == "while_the_rest_queue":
        world.hold()  # the first two sends wait at the venue; the others wait for the cap
    run = execute(desk, plan, concurrency={QFEX: 2}, on_progress=progress)
    if when == "while_the_rest_queue":
        await world.until_in_flight(2)
        assert [s.phase for s in run.states] == [Phase.SENDING] * 2 + [Phase.QUEUED] * 3 + [
            Phase.CANCELLING]
        already.extend(run.cancel())
        world.gate.set()
    report = await run.wait()
    by = {i.key.symbol: i for i in report.items}
    assert {k.symbol for k in already} == {"S0-USD", "S1-USD"}
    assert report.cancelled and set(report.sent) == set(already)
    assert {s for s, i in by.items() if i.outcome is Outcome.CLOSED_VERIFIED_FLAT} == {
        "S0-USD", "S1-USD"}
    stopped = {s for s, i in by.items() if i.outcome is Outcome.CANCELLED_BEFORE_SEND}
    assert stopped == {"S2-USD", "S3-USD", "S4-USD", "S5-USD"}
    assert [c for c in world.log if c[0] == "close"] == [("close", "qa/S0-USD"),
                                                         ("close", "qa/S1-USD")]
    assert ("cancel", "lim-5") not in world.log  # a resting cancel is a new request too
    assert len(world.sessions["qa"].sent) == 2
    assert report.exit_code == EXIT_NOT_DONE
    assert "Stopped by the user" in report_text(report)
    (rec,) = [p for k, _, p in records(journal) if k == "flatten_cancel"]
    assert sorted(rec["sent"]) == ["qa/qfex/S0-USD", "qa/qfex/S1-USD"]
    assert run.cancel() == already  # a second cancel changes nothing
    # Progress went queued -> sending -> sent -> verifying -> done for a sent item.
    phases = [s.phase for s in seen if s.key.symbol == "S0-USD"]
    assert phases[0] is Phase.SENDING and phases[-1] is Phase.DONE
    assert Phase.VERIFYING in phases
    await desk.stop()


@pytest.mark.asyncio
async def test_a_plan_runs_once(world: World) -> None:
    desk = await make_desk(world, None, {"qa": [pos("qa", "AAPL-USD", "1")]})
    plan = build_plan(desk, FlattenScope.everything(), reason=None)
    await execute(desk, plan).wait()
    with pytest.raises(PlanAlreadyRun):
        execute(desk, plan)
    await desk.stop()


@pytest.mark.asyncio
async def test_an_empty_plan_reports_flat(world: World) -> None:
    desk = await make_desk(world, None, {"qa": [pos("qa", "AAPL-USD", "1")]})
    plan = build_plan(desk, FlattenScope.everything(symbol="NONE"), reason=None)
    report = await execute(desk, plan).wait()
    assert report.items == () and report.exit_code == EXIT_FLAT
    assert report.retry_plan(desk).items == ()
    await desk.stop()


def _state(symbol: str, outcome: Outcome) -> ItemState:
    return ItemState(PositionKey("a", QFEX, symbol), LONG, D(1), Phase.DONE, outcome)


@pytest.mark.parametrize(("present", "code"), [
    ([Outcome.CLOSED_VERIFIED_FLAT, Outcome.ALREADY_FLAT], EXIT_FLAT),
    ([Outcome.CLOSED_VERIFIED_FLAT, Outcome.SKIPPED], EXIT_NOT_DONE),
    ([Outcome.CANCELLED_BEFORE_SEND], EXIT_NOT_DONE),
    ([Outcome.RESIDUAL, Outcome.SKIPPED], EXIT_RESIDUAL),
    ([Outcome.RESIDUAL, Outcome.REJECTED], EXIT_REJECTED),
    ([Outcome.BLOCKED, Outcome.CLOSED_VERIFIED_FLAT], EXIT_REJECTED),
    ([Outcome.REJECTED, Outcome.UNKNOWN, Outcome.RESIDUAL], EXIT_UNKNOWN),
])
def test_exit_codes_follow_the_documented_table(present: list[Outcome], code: int) -> None:
    plan = FlattenPlan("fp-x", FlattenScope.everything(), None, True, (), 0.0)
    report = FlattenReport(plan, tuple(_state(f"S{i}", o) for i, o in enumerate(present)),
                           0.0, 1.0, 1000.0)
    assert exit_code(report) == report.exit_code == code


@pytest.mark.allow_error_logs
@pytest.mark.asyncio
async def test_a_broken_progress_listener_does_not_stop_the_run(
    world: World, fail_on_error_logs: Any
) -> None:
    desk = await make_desk(world, None, {"qa": [pos("qa", "AAPL-USD", "1"),
                                                pos("qa", "TSLA-USD", "1")]})
    plan = build_plan(desk, FlattenScope.everything(), reason=None)

    def broken(_state: ItemState) -> None:
        raise RuntimeError("the view is gone")

    report = await execute(desk, plan, on_progress=broken).wait()
    assert report.all_flat
    assert any("progress listener" in r.getMessage() for r in fail_on_error_logs.records)
    fail_on_error_logs.records.clear()
    await desk.stop()
