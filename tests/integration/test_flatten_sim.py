"""Flatten end to end: the real desk and both real sessions against the simulator on loopback.

Evidence comes from the simulator's own request log (what arrived, and when), never from how
fast our side ran.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cli.flatten_text import report_text
from core.desk import Desk
from core.flatten import (
    EXIT_FLAT,
    EXIT_NOT_DONE,
    EXIT_REJECTED,
    FlattenScope,
    ItemState,
    Outcome,
    Phase,
    build_plan,
    execute,
)
from core.journal import Journal
from core.model import (
    CloseRequest,
    Environment,
    PositionKey,
    PositionSide,
    TimeInForce,
    Trigger,
    Venue,
)
from core.sim import Received, Simulator
from core.sim.market import Market
from core.venue import AccountConfig, Credentials
from core.venues import venue_info
from core.venues.everstrike import EVERSTRIKE
from core.venues.everstrike import protocol as es_protocol
from core.venues.qfex import QFEX
from tests.helpers.polling import market_data, until

D = Decimal
LATENCY = 0.02  # seconds the simulator adds before every reply and push
# The scale test counts requests that arrived within one reply latency: long enough that a
# loaded machine, slow to put 200 closes on the wire, still lands many in one window.
SCALE_LATENCY = 0.2
QFEX_SYMBOLS = ["AAPL-USD", "TSLA-USD", "NVDA-USD", "MSFT-USD", "US100-USD"]
ES_PAIRS = ["USD_BTC_PERP", "USD_ETH_PERP", "USD_SOL_PERP", "USD_BTCCALL_PERP",
            "USD_ETHPUT90_PERP"]

Spec = dict[str, tuple[str, list[tuple[str, Decimal, Decimal]]]]  # name -> (venue, positions)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal(tmp_path / "journal.sqlite3", operator="tester")
    yield j
    j.close()


@contextlib.asynccontextmanager
async def desk_for(sim: Simulator, spec: Spec, journal: Journal | None = None, *,
                   options: dict[str, dict[str, str]] | None = None,
                   ) -> AsyncIterator[tuple[Desk, dict[str, str]]]:
    """A desk connected to every account in ``spec`` (with its ``options``, by account name);
    yields it and account -> public key."""
    q, e = sim.info.qfex, sim.info.everstrike
    accounts: list[tuple[AccountConfig, Credentials]] = []
    keys: dict[str, str] = {}
    for name, (venue, positions) in spec.items():
        pub, secret = sim.add_account(venue, name, positions)
        keys[name] = pub
        endpoints = ({"trade_ws": q.trade_ws, "mds_ws": q.mds_ws, "rest": q.rest}
                     if venue == "qfex" else {"rest": e.rest, "ws": e.ws})
        accounts.append((AccountConfig(name, Venue(venue), Environment.DEMO, pub, endpoints,
                                       (options or {}).get(name, {})),
                         Credentials(pub, secret)))
    desk = Desk(journal=journal)
    try:
        assert await desk.start(accounts) == []
        await market_data(desk)
        yield desk, keys
    finally:
        await desk.stop()


def market(sim: Simulator, venue: str) -> Market:
    return sim.qfex.market if venue == "qfex" else sim.everstrike.market


def open_at_sim(sim: Simulator, venue: str) -> dict[str, Decimal]:
    """Every non-flat position at the venue, as "<market account>/<symbol>" -> signed size."""
    m = market(sim, venue)
    return sim.call(lambda: {f"{a}/{s}": p.size for (a, s), p in m.positions.items() if p.size})


def max_overlap(arrivals: list[float], latency: float) -> int:
    """The most requests that arrived within one latency period of each other.

    The simulator holds every reply for ``latency``, so a client that waited for each answer
    before sending the next could never land two requests in one such window: this is 1 for
    a serial client, and it counts requests that were in flight together otherwise.
    """
    times = sorted(arrivals)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - latency:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def es_account(r: Received, keys: dict[str, str]) -> str:
    by_key = {v: k for k, v in keys.items()}
    return by_key[r.headers["x-api-key"]]


def set_liquidity(sim: Simulator, venue: str, symbol: str, amount: Decimal) -> None:
    m = market(sim, venue)
    sim.call(lambda: setattr(m.instruments[symbol], "liquidity", amount))


# ------------------------------------------------------------------------------------ scale
@pytest.mark.asyncio
async def test_flatten_200_positions_across_both_venues_concurrently(bare_sim: Simulator) -> None:
    """No journal here: its synchronous writes are the desk's cost, measured in bench/, and
    this test is about what reaches the venues."""
    sim = bare_sim
    spec: Spec = {}
    for i in range(20):
        side = D(1) if i % 2 else D(-1)
        spec[f"q{i:02}"] = ("qfex", [(s, side * (1 + n % 3), D(100))
                                     for n, s in enumerate(QFEX_SYMBOLS)])
        spec[f"e{i:02}"] = ("everstrike", [(s, side * (1 + n % 3), D(100))
                                           for n, s in enumerate(ES_PAIRS)])
    async with desk_for(sim, spec) as (desk, keys):
        assert len(desk.positions) == 200
        sim.qfex.faults.latency = SCALE_LATENCY
        sim.everstrike.faults.latency = SCALE_LATENCY
        plan = build_plan(desk, FlattenScope.everything(), reason="load test")
        assert len(plan.items) == 200 and plan.requires_typed_confirmation
        report = await execute(desk, plan).wait()

        assert report.all_flat and report.exit_code == EXIT_FLAT, report_text(report)
        assert report.totals[Outcome.CLOSED_VERIFIED_FLAT] == 200
        assert desk.positions == {}
    assert open_at_sim(sim, "qfex") == {} and open_at_sim(sim, "everstrike") == {}

    q_closes = sim.requests("qfex", kind="close")
    e_closes = sim.requests("everstrike", kind="close")
    assert len(q_closes) == len(e_closes) == 100  # one each: nothing doubled, nothing resent
    assert {json.loads(r.body)["params"]["client_order_id"] for r in q_closes} == {
        i.client_order_id for i in report.items if i.key.venue is QFEX}
    # At the venues, from arrival times alone: many closes arrived within one reply latency,
    # which a client waiting for each answer could never do (it would score 1).
    cap = venue_info(EVERSTRIKE).flatten_concurrency
    assert max_overlap([r.time for r in q_closes], SCALE_LATENCY) >= 10
    es_overlap = max_overlap([r.time for r in e_closes], SCALE_LATENCY)
    assert 4 <= es_overlap <= cap  # concurrent, and never more in flight than the cap
    first_window = sorted(e_closes, key=lambda r: r.time)[:es_overlap]
    assert len({es_account(r, keys) for r in first_window}) > 1  # across accounts
    # On our side: closes sent before the first answer came back (a serial client: 1).
    q_items = [i for i in report.items if i.key.venue is QFEX]
    e_items = [i for i in report.items if i.key.venue is EVERSTRIKE]
    assert sent_before_first_reply(q_items) >= 20
    assert 4 <= sent_before_first_reply(e_items) <= cap
    # Across venues: neither venue waited for the other to finish.
    assert min(i.sent_ms or 0 for i in e_items) < max(i.done_ms or 0 for i in q_items)
    assert min(i.sent_ms or 0 for i in q_items) < max(i.done_ms or 0 for i in e_items)


@pytest.mark.asyncio
async def test_each_everstrike_account_keeps_to_its_limit_at_the_venue_and_signs_once(
    bare_sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted by the simulator: closes of one account that arrived within one reply latency
    were in flight together. A close waits for its slot before it is signed, so even a
    timestamp window shorter than that wait never makes one be signed again."""
    sim = bare_sim
    spec: Spec = {"l1": ("everstrike", [(s, D(1), D(100)) for s in ES_PAIRS[:4]]),
                  "l3": ("everstrike", [(s, D(-1), D(100)) for s in ES_PAIRS])}
    # Signed more than 150 ms (half the window) before it leaves, a close is signed again.
    options = {"l1": {"max_in_flight": "1", "recv_window": "300"},
               "l3": {"max_in_flight": "3", "recv_window": "300"}}
    async with desk_for(sim, spec, options=options) as (desk, keys):
        sim.everstrike.faults.latency = SCALE_LATENCY
        plan = build_plan(desk, FlattenScope.everything(), reason="limits")
        signed = Counted(es_protocol.build_signed_post)
        monkeypatch.setattr(es_protocol, "build_signed_post", signed)
        report = await execute(desk, plan).wait()
        assert report.all_flat, report_text(report)
    closes = sim.requests("everstrike", kind="close")
    assert len(closes) == 9 == signed.calls  # one signature per close, none signed again
    arrivals = {name: [r.time for r in closes if es_account(r, keys) == name] for name in spec}
    assert max_overlap(arrivals["l1"], SCALE_LATENCY) == 1
    assert max_overlap(arrivals["l3"], SCALE_LATENCY) == 3


class Counted:
    """A function that counts its calls."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.fn(*args, **kwargs)


def sent_before_first_reply(items: list[ItemState]) -> int:
    """How many closes had been sent before the earliest answer to any of them arrived."""
    first = min((i.sent_ms or 0) + (i.first_reply_ms or 0) for i in items)
    return sum(1 for i in items if i.sent_ms is not None and i.sent_ms < first)


# ------------------------------------------------------------------------------ resting orders
@pytest.mark.asyncio
async def test_resting_orders_are_cancelled_before_the_close_reaches_the_venue(
    bare_sim: Simulator, journal: Journal
) -> None:
    sim = bare_sim
    spec: Spec = {
        "rq": ("qfex", [("AAPL-USD", D(40), D(220)), ("TSLA-USD", D(10), D(340))]),
        "re": ("everstrike", [("USD_ETH_PERP", D("-3.5"), D(4400)),
                              ("USD_SOL_PERP", D(120), D(188))]),
    }
    async with desk_for(sim, spec, journal) as (desk, keys):
        aapl = PositionKey("rq", QFEX, "AAPL-USD")
        eth = PositionKey("re", EVERSTRIKE, "USD_ETH_PERP")
        for request in (
            CloseRequest(aapl, PositionSide.LONG, D(40), trigger=Trigger(D(225))),
            CloseRequest(aapl, PositionSide.LONG, D(40), quantity=D(5), limit_price=D(260),
                         time_in_force=TimeInForce.GTC),
            CloseRequest(eth, PositionSide.SHORT, D("3.5"), trigger=Trigger(D(4500))),
            CloseRequest(eth, PositionSide.SHORT, D("3.5"), quantity=D(1),
                         limit_price=D(4000)),
        ):
            await (await desk.close(request)).settled(timeout=10)
        await until(lambda: len(desk.working_for(aapl)) == 2 and len(desk.working_for(eth)) == 2,
                    10, "both resting orders on each venue")
        resting = {o.order_id: o for o in [*desk.working_for(aapl), *desk.working_for(eth)]}

        sim.qfex.faults.latency = LATENCY
        sim.everstrike.faults.latency = LATENCY
        q_before = len(sim.requests("qfex", kind="close"))
        e_before = len(sim.requests("everstrike", kind="close"))
        plan = build_plan(desk, FlattenScope.everything(), reason="INC-7")
        by = {i.key: i for i in plan.items}
        assert {o.order_id for o in by[aapl].cancels} | {o.order_id for o in by[eth].cancels} \
            == set(resting)
        assert by[PositionKey("rq", QFEX, "TSLA-USD")].cancels == ()
        report = await execute(desk, plan).wait()

        assert report.all_flat, report_text(report)
        assert desk.working_orders == {}
        items = {i.key: i for i in report.items}
        assert set(items[aapl].cancelled_orders) | set(items[eth].cancelled_orders) == \
            set(resting)

    # What the venues saw: each cancel arrived, and was answered, before that position's close.
    log_q = sim.requests("qfex")
    cancels_q = sim.requests("qfex", kind="cancel")
    (close_q,) = [r for r in sim.requests("qfex", kind="close")[q_before:]
                  if str(items[aapl].client_order_id) in r.body]
    for order_id in items[aapl].cancelled_orders:
        (cancel,) = [r for r in cancels_q if order_id in r.body]
        assert log_q.index(cancel) < log_q.index(close_q)
        assert cancel.time + LATENCY <= close_q.time  # the answer came back first
    log_e = sim.requests("everstrike")
    cancels_e = sim.requests("everstrike", kind="cancel")
    (close_e,) = [r for r in sim.requests("everstrike", kind="close")[e_before:]
                  if r.form()["pair"] == "USD_ETH_PERP"]
    assert es_account(close_e, keys) == "re"
    for order_id in items[eth].cancelled_orders:
        (cancel,) = [r for r in cancels_e if r.form().get("id") == order_id]
        assert log_e.index(cancel) < log_e.index(close_e)
        assert cancel.time + LATENCY <= close_e.time
    # The plan id is on every journal record the desk wrote for the cancels and closes.
    tagged = [r.kind for r in journal.records(limit=100_000) if r.reason == plan.journal_reason]
    assert tagged.count("cancel_intent") == tagged.count("cancel_result") == 4
    assert tagged.count("intent") == 4  # one close per position
    assert {"flatten_plan", "flatten_start", "request", "flatten_report"} <= set(tagged)
    assert all(r.reason == plan.journal_reason for r in journal.records(limit=100_000)
               if r.kind in ("cancel_intent", "cancel_result"))


# -------------------------------------------------------------------- rejection and residual
@pytest.mark.asyncio
async def test_a_rejection_and_residuals_are_reported_and_retried(bare_sim: Simulator) -> None:
    sim = bare_sim
    spec: Spec = {
        "xq": ("qfex", [("AAPL-USD", D(40), D(220)), ("TSLA-USD", D(12), D(340)),
                        ("NVDA-USD", D(10), D(170))]),
        "xe": ("everstrike", [("USD_ETH_PERP", D("-3.5"), D(4400)),
                              ("USD_SOL_PERP", D(120), D(188))]),
    }
    async with desk_for(sim, spec) as (desk, _):
        sim.qfex.faults.force_status("FAILED_MARGIN_CHECK", symbol="AAPL-USD")
        set_liquidity(sim, "qfex", "TSLA-USD", D(5))
        set_liquidity(sim, "everstrike", "USD_ETH_PERP", D(1))
        plan = build_plan(desk, FlattenScope.everything(), reason="T-100")
        report = await execute(desk, plan).wait()

        by = {i.key.symbol: i for i in report.items}
        assert {s: i.outcome for s, i in by.items()} == {
            "AAPL-USD": Outcome.REJECTED,
            "TSLA-USD": Outcome.RESIDUAL,
            "NVDA-USD": Outcome.CLOSED_VERIFIED_FLAT,
            "USD_ETH_PERP": Outcome.RESIDUAL,
            "USD_SOL_PERP": Outcome.CLOSED_VERIFIED_FLAT,
        }, report_text(report)
        assert "margin" in by["AAPL-USD"].message.lower()
        assert by["TSLA-USD"].residual == D(7) and by["TSLA-USD"].filled == D(5)
        assert by["USD_ETH_PERP"].residual == D("2.5") and by["USD_ETH_PERP"].filled == D(1)
        assert report.exit_code == EXIT_REJECTED
        parsed = json.loads(report.to_json())
        assert parsed["totals"] == {"closed_verified_flat": 2, "residual": 2, "rejected": 1}
        assert "residual 7" in report_text(report) and "2 can be retried" not in report_text(report)
        assert "3 can be retried as a new plan" in report_text(report)

        retry = report.retry_plan(desk)
        assert retry.id != plan.id and retry.retry_of == plan.id
        assert {str(i.key): i.quantity for i in retry.items} == {
            "xq/qfex/AAPL-USD": D(40), "xq/qfex/TSLA-USD": D(7),
            "xe/everstrike/USD_ETH_PERP": D("2.5")}
        assert retry.items[0].request.reason == f"flatten {retry.id} (retry of {plan.id}): T-100"

        set_liquidity(sim, "qfex", "TSLA-USD", D(500))
        set_liquidity(sim, "everstrike", "USD_ETH_PERP", D(100))
        again = await execute(desk, retry).wait()
        assert again.all_flat and again.exit_code == EXIT_FLAT, report_text(again)
        assert desk.positions == {}
    assert open_at_sim(sim, "qfex") == {} and open_at_sim(sim, "everstrike") == {}


# --------------------------------------------------------------------------------- cancelling
@pytest.mark.asyncio
async def test_cancel_in_the_middle_of_a_plan(bare_sim: Simulator, journal: Journal) -> None:
    sim = bare_sim
    spec: Spec = {
        "cq1": ("qfex", [(s, D(2), D(100)) for s in QFEX_SYMBOLS]),
        "cq2": ("qfex", [(s, D(-2), D(100)) for s in QFEX_SYMBOLS]),
        "ce1": ("everstrike", [(s, D(1), D(100)) for s in ES_PAIRS]),
        "ce2": ("everstrike", [(s, D(-1), D(100)) for s in ES_PAIRS]),
    }
    async with desk_for(sim, spec, journal) as (desk, keys):
        sim.qfex.faults.latency = LATENCY
        sim.everstrike.faults.latency = LATENCY
        plan = build_plan(desk, FlattenScope.everything(), reason=None)
        stopped_with: list[PositionKey] = []

        def progress(state: ItemState) -> None:
            # The user presses Cancel as the fourth close leaves (the first are in flight).
            if state.phase is Phase.SENDING and sum(s.sent for s in run.states) == 4:
                stopped_with.extend(run.cancel())

        run = execute(desk, plan, on_progress=progress,
                      concurrency={QFEX: 2, EVERSTRIKE: 2})
        report = await run.wait()

        sent = {i.key for i in report.items if i.sent}
        assert report.cancelled and len(sent) == 4 and set(stopped_with) == sent
        assert {k.venue for k in sent} == {QFEX, EVERSTRIKE}
        for item in report.items:
            if item.sent:
                assert item.outcome is Outcome.CLOSED_VERIFIED_FLAT, item
            else:
                assert item.outcome is Outcome.CANCELLED_BEFORE_SEND, item
                assert item.key in desk.positions  # untouched
        assert report.exit_code == EXIT_NOT_DONE
        assert "Stopped by the user: 4 close(s) had been sent" in report_text(report)
        assert len(desk.positions) == 20 - 4

    # Only the sent closes ever reached the simulator.
    q_sent = {i.client_order_id for i in report.items if i.sent and i.key.venue is QFEX}
    assert {json.loads(r.body)["params"]["client_order_id"]
            for r in sim.requests("qfex", kind="close")} == q_sent
    e_sent = {(k.account, k.symbol) for k in sent if k.venue is EVERSTRIKE}
    e_seen = [(es_account(r, keys), r.form()["pair"]) for r in sim.requests("everstrike",
                                                                             kind="close")]
    assert sorted(e_seen) == sorted(e_sent)
    assert len(open_at_sim(sim, "qfex")) + len(open_at_sim(sim, "everstrike")) == 16
    (cancel,) = [r for r in journal.records(limit=100_000) if r.kind == "flatten_cancel"]
    assert sorted(json.loads(cancel.payload)["sent"]) == sorted(str(k) for k in sent)
