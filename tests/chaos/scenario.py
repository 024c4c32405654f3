"""One chaos scenario: fresh accounts on a shared simulator, the real desk and sessions, a close
or a flatten under drawn faults, then the checks, from the simulator's own record.

The seed decides everything drawn: the positions, the action and the faults. What the checks
read is the simulator's request log (``Simulator.requests``), its market (orders and positions
of the scenario's accounts) and the journal the desk wrote; never the desk's own words alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.desk import AlreadyPending, Desk, IntentState
from core.flatten import FlattenScope, build_plan, execute
from core.journal import Journal, JournalRecord
from core.model import CloseRequest, ConnectionState, Environment, PositionKey, Venue
from core.sim import Simulator
from core.venue import AccountConfig, CloseRejected, Credentials
from tests.chaos import faults as chaos_faults

D = Decimal
# symbol -> (smallest size, largest size, lot): liquid enough that a close fills in one pass.
QFEX_BOOK = {"AAPL-USD": (1, 40, D("0.01")), "TSLA-USD": (1, 30, D("0.01")),
             "NVDA-USD": (1, 60, D("0.01")), "MSFT-USD": (1, 20, D("0.01"))}
ES_BOOK = {"USD_ETH_PERP": (1, 30, D("0.1")), "USD_SOL_PERP": (1, 200, D(1)),
           "USD_XRP_PERP": (10, 900, D(1))}
# How long the faults stay on after the action before the venue heals, and how long the desk
# then has to reconcile; a slow venue keeps its latency through both.
FAULTY_S = 6.0
RECONCILE_S = 20.0
HOLD_S = 0.3  # how long the healed state must hold before it is judged
# An intent still in one of these once the venue healed and the desk reconciled is stuck: the
# UI would show it in flight with nothing on its way.
IN_FLIGHT = (IntentState.SENDING, IntentState.ACKNOWLEDGED)


@dataclass
class Result:
    seed: int
    action: str
    faults: list[str]
    kinds: list[str]
    closes: int = 0  # wire closes of the scenario, at the venues
    executed: int = 0  # venue orders they made
    duplicates: int = 0
    orphans: int = 0
    losses: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {**vars(self), "ok": self.ok}


@dataclass
class Accounts:
    configs: list[tuple[AccountConfig, Credentials]]
    market_ids: dict[str, str]  # account name -> the venue's account id
    venue_of: dict[str, str]


def _positions(rng: random.Random, book: dict[str, tuple[int, int, Decimal]]
               ) -> list[tuple[str, Decimal, Decimal]]:
    symbols = rng.sample(sorted(book), rng.randint(1, min(3, len(book))))
    out = []
    for symbol in symbols:
        lo, hi, lot = book[symbol]
        size = (D(rng.randint(lo * 10, hi * 10)) / 10).quantize(lot)
        out.append((symbol, size * rng.choice((1, -1)), D(100)))
    return out


def _accounts(sim: Simulator, rng: random.Random, tag: str) -> Accounts:
    q, e = sim.info.qfex, sim.info.everstrike
    configs: list[tuple[AccountConfig, Credentials]] = []
    ids: dict[str, str] = {}
    venue_of: dict[str, str] = {}
    for venue, book in (("qfex", QFEX_BOOK), ("everstrike", ES_BOOK)):
        name = f"{venue[0]}{tag}"
        pub, secret = sim.add_account(venue, name, _positions(rng, book))
        endpoints = ({"trade_ws": q.trade_ws, "mds_ws": q.mds_ws, "rest": q.rest}
                     if venue == "qfex" else {"rest": e.rest, "ws": e.ws})
        configs.append((AccountConfig(name, Venue(venue), Environment.DEMO, pub, endpoints),
                        Credentials(pub, secret)))
        ids[name] = sim.account_id(venue, pub)
        venue_of[name] = venue
    return Accounts(configs, ids, venue_of)


# ------------------------------------------------------------------------ the venue's record
@dataclass(frozen=True)
class VenueOrder:
    venue: str
    account: str  # the venue's account id
    symbol: str
    order_id: str
    client_order_id: str
    filled: Decimal


def venue_orders(sim: Simulator, market_ids: dict[str, str]) -> list[VenueOrder]:
    ids = set(market_ids.values())
    out: list[VenueOrder] = []
    for venue in chaos_faults.VENUES:
        market = sim.venue(venue).market  # type: ignore[attr-defined]
        out.extend(sim.call(lambda m=market, v=venue: [  # type: ignore[misc]
            VenueOrder(v, o.account, o.symbol, o.id, o.client_order_id, o.filled)
            for o in m.orders.values() if o.account in ids]))
    return out


def venue_book(sim: Simulator, accounts: Accounts) -> dict[tuple[str, str], Decimal]:
    """(account name, symbol) -> signed size, for every open position of the scenario."""
    out: dict[tuple[str, str], Decimal] = {}
    for name, account_id in accounts.market_ids.items():
        market = sim.venue(accounts.venue_of[name]).market  # type: ignore[attr-defined]
        sizes = sim.call(lambda m=market, a=account_id: {  # type: ignore[misc]
            s: p.size for (acc, s), p in m.positions.items() if acc == a and p.size})
        out.update({(name, s): size for s, size in sizes.items()})
    return out


def desk_book(desk: Desk) -> dict[tuple[str, str], Decimal]:
    return {(k.account, k.symbol): p.signed_quantity for k, p in desk.positions.items()}


def _wire_body(venue: str, text: str) -> str:
    """What identifies a close on the wire: QFEX's frame, Everstrike's signed form body (the
    journal's request record masks only the key and signature headers)."""
    return text if venue == "qfex" else text.partition("\n\n")[2]


# ------------------------------------------------------------------------ the scenario
Meddle = Callable[[Desk], Awaitable[None]]


async def run(sim: Simulator, seed: int, workdir: Path, *, enabled: frozenset[str],
              tag: str | None = None, keep: bool = False, meddle: Meddle | None = None
              ) -> Result:
    """Run scenario ``seed``; ``meddle`` (for the suite's own tests) acts after the close or
    flatten, to show that the checks catch what it did."""
    rng = random.Random(seed)
    faults = chaos_faults.draw(rng, enabled)
    action = rng.choice(("close", "close", "flatten"))
    result = Result(seed, action, [f.label() for f in faults],
                    sorted({f.kind for f in faults}))
    start = time.monotonic()
    accounts = _accounts(sim, rng, tag or str(seed))
    marks = {v: len(sim.requests(v, kind="close")) for v in chaos_faults.VENUES}
    path = workdir / f"chaos-{tag or seed}.sqlite3"
    journal = Journal(path, operator="chaos")
    desk = Desk(journal=journal)
    try:
        for fault in faults:
            if fault.before_connect:
                chaos_faults.apply(sim, fault)
        await desk.start(accounts.configs)
        with contextlib.suppress(TimeoutError):
            await _until(lambda: set(desk_book(desk)) == set(venue_book(sim, accounts)), 10)
        for fault in faults:
            if not fault.before_connect:
                chaos_faults.apply(sim, fault)
        await _act(desk, rng, action, {f.venue for f in faults})
        if meddle is not None:
            await meddle(desk)
        with contextlib.suppress(TimeoutError):
            await _until(lambda: not any(i.state in IN_FLIGHT
                                         for i in desk.intents().values()), FAULTY_S)
        chaos_faults.heal(sim, faults)
        with contextlib.suppress(TimeoutError):
            await _until(lambda: _reconciled(desk, sim, accounts), RECONCILE_S, hold=HOLD_S)
        _check(result, desk, sim, accounts, journal, marks)
    except Exception as exc:  # a crash of the scenario is a finding, never a silent skip
        result.problems.append(f"scenario raised {type(exc).__name__}: {exc}")
    finally:
        chaos_faults.heal(sim, [])
        await desk.stop()
        journal.close()
        result.seconds = round(time.monotonic() - start, 3)
        if result.ok and not keep:
            _remove(path)
    return result


def _remove(journal: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{journal}{suffix}").unlink(missing_ok=True)


async def _act(desk: Desk, rng: random.Random, action: str, faulty: set[str]) -> None:
    if action == "flatten":
        plan = build_plan(desk, FlattenScope.everything(), reason="chaos flatten")
        await execute(desk, plan, settle_timeout=FAULTY_S, verify_timeout=4).wait()
        return
    # A single close goes to a venue with a fault on it, where there is one.
    keys = sorted(desk.positions, key=str)
    keys = [k for k in keys if k.venue.value in faulty] or keys
    if not keys:
        return
    key = rng.choice(keys)
    pos = desk.positions[key]
    quantity = None
    if rng.random() < 0.4:
        half = (pos.quantity / 2).quantize(D("0.1") if key.venue.value == "everstrike"
                                           else D("0.01"))
        quantity = half if half > 0 else None
        if key.venue.value == "everstrike" and quantity is not None:
            quantity = max(D(1), quantity.to_integral_value()) if quantity >= 1 else quantity
    request = CloseRequest(key, pos.side, pos.quantity, quantity=quantity, reason="chaos close")
    with contextlib.suppress(CloseRejected, AlreadyPending):
        intent = await desk.close(request)
        with contextlib.suppress(TimeoutError):
            await intent.settled(timeout=FAULTY_S)


def _reconciled(desk: Desk, sim: Simulator, accounts: Accounts) -> bool:
    if any(i.state in (*IN_FLIGHT, IntentState.UNKNOWN) for i in desk.intents().values()):
        return False
    if any(desk.connection_state(c.name) is not ConnectionState.CONNECTED
           for c, _ in accounts.configs):
        return False
    return desk_book(desk) == venue_book(sim, accounts)


async def _until(predicate: Any, timeout: float, hold: float = 0.0) -> None:
    """Until ``predicate`` holds, and has held for ``hold`` seconds: a socket the venue just
    dropped still reads connected for a moment, until the client notices."""
    async with asyncio.timeout(timeout):
        since: float | None = None
        while True:
            if predicate():
                since = time.monotonic() if since is None else since
                if time.monotonic() - since >= hold:
                    return
            else:
                since = None
            await asyncio.sleep(0.05)


# ------------------------------------------------------------------------ the checks
def _records(journal: Journal) -> list[JournalRecord]:
    journal.flush(timeout=10)
    return list(journal.iter_all())


def _check(result: Result, desk: Desk, sim: Simulator, accounts: Accounts, journal: Journal,
           marks: dict[str, int]) -> None:
    records = _records(journal)
    problems = result.problems
    intents = {r.intent_id: json.loads(r.payload) for r in records if r.kind == "intent"}
    requests: dict[str, list[tuple[str, str]]] = {}  # wire body -> [(intent id, venue)]
    for r in records:
        if r.kind == "request" and r.intent_id and r.venue:
            body = _wire_body(r.venue, r.payload)
            requests.setdefault(body, []).append((r.intent_id, r.venue))

    # 1. Every close on the wire was journaled (intent and exact request) before it left, and
    #    no journaled request went out twice.
    seen: dict[str, int] = {}
    for venue in chaos_faults.VENUES:
        for received in sim.requests(venue, kind="close")[marks[venue]:]:
            result.closes += 1
            body = received.body
            seen[body] = seen.get(body, 0) + 1
            owners = requests.get(body)
            if not owners or owners[0][0] not in intents:
                result.orphans += 1
                problems.append(f"{venue} close on the wire without a journaled intent: "
                                f"{body[:120]}")
    for body, count in seen.items():
        if count > 1:
            result.duplicates += count - 1
            problems.append(f"the same close reached the venue {count} times: {body[:120]}")

    # 2. What the venue executed: at most one order per intent, every one of them journaled.
    orders = venue_orders(sim, accounts.market_ids)
    result.executed = len(orders)
    by_client = {p["client_order_id"]: iid for iid, p in intents.items()}
    name_of = {v: k for k, v in accounts.market_ids.items()}
    per_intent: dict[str, int] = {}
    journaled_ids = {json.loads(r.payload).get("order_id") for r in records
                     if r.kind == "order_update"}
    for order in orders:
        account = name_of[order.account]
        if order.venue == "qfex":
            owner = by_client.get(order.client_order_id)
        else:  # Everstrike carries no client id: the scenario's one intent for that position
            mine = [iid for iid, _ in _intents_for(records, account, order.symbol)]
            owner = mine[0] if len(mine) == 1 else None
        if owner is None:
            result.orphans += 1
            problems.append(f"venue order {order.order_id} ({account} {order.symbol}) "
                            "has no journaled intent")
            continue
        per_intent[owner] = per_intent.get(owner, 0) + 1
        if order.order_id not in journaled_ids and not _settled_in_journal(records, owner):
            result.losses += 1
            problems.append(f"venue order {order.order_id} ({account} {order.symbol}) is not "
                            "in the journal and its intent never settled there")
    for owner, count in per_intent.items():
        if count > 1:
            result.duplicates += count - 1
            problems.append(f"intent {owner} made {count} orders at the venue")

    # 3. The desk's book equals the venue's after reconciliation.
    ours, theirs = desk_book(desk), venue_book(sim, accounts)
    if ours != theirs:
        problems.append(f"book differs from the venue: desk {_fmt(ours)} venue {_fmt(theirs)}")

    for config, _ in accounts.configs:
        state = desk.connection_state(config.name)
        if state is not ConnectionState.CONNECTED:
            problems.append(f"{config.name} reads {state} after the venue healed")

    # 4. No intent is left in flight, and an unsettled one says Unknown.
    for intent in desk.intents().values():
        if intent.state in IN_FLIGHT:
            problems.append(f"intent {intent.id} ({intent.key.symbol}) still reads "
                            f"{intent.state.value} after the venue healed")
        elif intent.state is IntentState.UNKNOWN:
            problems.append(f"intent {intent.id} ({intent.key.symbol}) still Unknown "
                            f"{RECONCILE_S:g} s after the venue healed")
        filled = sum((o.filled for o in orders if _owns(o, intent, by_client, name_of)), D(0))
        if filled > 0 and intent.state in (IntentState.REJECTED, IntentState.CANCELLED):
            result.losses += 1
            problems.append(f"intent {intent.id} reads {intent.state.value} but the venue "
                            f"filled {filled}")

    # 5. The journal's chain verifies.
    report = journal.verify_chain()
    if not report.ok:
        problems.append(f"journal chain broken: {report}")


def _intents_for(records: list[JournalRecord], account: str, symbol: str
                 ) -> Iterator[tuple[str, JournalRecord]]:
    for r in records:
        if r.kind == "intent" and r.account == account and r.symbol == symbol and r.intent_id:
            yield r.intent_id, r


def _settled_in_journal(records: list[JournalRecord], intent_id: str) -> bool:
    return any(r.kind == "intent_state" and r.intent_id == intent_id for r in records)


def _owns(order: VenueOrder, intent: Any, by_client: dict[str, str],
          name_of: dict[str, str]) -> bool:
    if order.venue == "qfex":
        return bool(by_client.get(order.client_order_id) == intent.id)
    return bool(name_of[order.account] == intent.key.account
                and order.symbol == intent.key.symbol)


def _fmt(book: dict[tuple[str, str], Decimal]) -> str:
    return "{" + ", ".join(f"{a}/{s}={q}" for (a, s), q in sorted(book.items())) + "}"


def key_of(account: str, venue: str, symbol: str) -> PositionKey:
    return PositionKey(account, Venue(venue), symbol)
