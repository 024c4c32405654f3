"""The Accounts dialog's "Test connection", against the simulator over real loopback sockets."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from dataclasses import dataclass
from decimal import Decimal

import pytest

from core.accounts import ConnectionReport, credentials_for
from core.accounts import test_connection as run_test_connection
from core.model import (
    CloseRequest,
    Environment,
    PositionKey,
    PositionSide,
    SessionEvent,
    TimeInForce,
    Venue,
    WorkingOrder,
)
from core.secrets import SecretStore
from core.sim import Simulator
from core.venue import AccountConfig, Credentials, EventSink, VenueSession
from core.venues import session_class
from core.venues.everstrike import EVERSTRIKE
from core.venues.everstrike.probe import PROBE_ORDER_ID
from core.venues.qfex import QFEX
from tests.helpers.keyrings import MemoryKeyring

D = Decimal
QFEX_POSITIONS = [("AAPL-USD", D(40), D(220)), ("TSLA-USD", D(-12), D(351)),
                  ("NVDA-USD", D(5), D(170))]
ES_POSITIONS = [("USD_ETH_PERP", D("-3.5"), D(4400)), ("USD_SOL_PERP", D(120), D(190))]


@dataclass
class Venues:
    sim: Simulator
    qfex: AccountConfig
    qfex_secret: str
    everstrike: AccountConfig
    everstrike_secret: str

    def pair(self, venue: Venue) -> tuple[AccountConfig, Credentials]:
        if venue is QFEX:
            return self.qfex, Credentials(self.qfex.public_key, self.qfex_secret)
        return self.everstrike, Credentials(self.everstrike.public_key, self.everstrike_secret)


@pytest.fixture
def venues(bare_sim: Simulator) -> Venues:
    sim = bare_sim
    q_pub, q_sec = sim.add_account("qfex", "acct-q", QFEX_POSITIONS)
    e_pub, e_sec = sim.add_account("everstrike", "acct-e", ES_POSITIONS)
    q, e = sim.info.qfex, sim.info.everstrike
    return Venues(
        sim,
        AccountConfig("acct-q", QFEX, Environment.TESTNET, q_pub,
                      {"trade_ws": q.trade_ws, "mds_ws": q.mds_ws, "rest": q.rest}),
        q_sec,
        AccountConfig("acct-e", EVERSTRIKE, Environment.TESTNET, e_pub,
                      {"rest": e.rest, "ws": e.ws}),
        e_sec,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _other_tasks() -> set[asyncio.Task[object]]:
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()}


async def _rest_a_limit_close(account: AccountConfig, credentials: Credentials,
                              symbol: str, side: PositionSide, qty: Decimal) -> None:
    """Leave one limit close resting far from the mark, with a session of its own."""
    seen: asyncio.Queue[SessionEvent] = asyncio.Queue()
    session = session_class(account.venue)(account, credentials, seen.put_nowait)
    await session.start()
    try:
        price = D(1000) if side is PositionSide.LONG else D(1)  # far from both marks
        await session.send(session.prepare_close(CloseRequest(
            PositionKey(account.name, account.venue, symbol), side, qty, quantity=qty,
            limit_price=price,
            time_in_force=TimeInForce.GTC if account.venue is QFEX else None)))
        async with asyncio.timeout(10):
            while not isinstance(await seen.get(), WorkingOrder):
                pass
    finally:
        await session.stop()


# ----------------------------------------------------------------------------- success
@pytest.mark.parametrize(("venue", "symbol", "side", "qty"), [
    (QFEX, "NVDA-USD", PositionSide.LONG, D(2)),
    (EVERSTRIKE, "USD_SOL_PERP", PositionSide.LONG, D(10)),
])
@pytest.mark.asyncio
async def test_a_good_account_reports_its_positions_and_working_orders(
    venues: Venues, venue: Venue, symbol: str, side: PositionSide, qty: Decimal
) -> None:
    account, credentials = venues.pair(venue)
    before = await run_test_connection(account, credentials)
    positions = len(QFEX_POSITIONS if venue is QFEX else ES_POSITIONS)
    assert before == ConnectionReport(
        True, positions, 0, f"Connected: {positions} open positions, 0 working orders")

    await _rest_a_limit_close(account, credentials, symbol, side, qty)
    after = await run_test_connection(account, credentials)
    assert after == ConnectionReport(
        True, positions, 1, f"Connected: {positions} open positions, 1 working order")
    assert not _other_tasks()  # the test session stopped everything it started
    assert credentials.secret not in after.message


@pytest.mark.asyncio
async def test_the_everstrike_secret_check_cancels_nothing(venues: Venues) -> None:
    """The signed probe names an id that cannot exist; the resting order survives it."""
    account, credentials = venues.pair(EVERSTRIKE)
    await _rest_a_limit_close(account, credentials, "USD_SOL_PERP", PositionSide.LONG, D(10))
    report = await run_test_connection(account, credentials)
    assert report.ok and report.working_orders == 1
    cancels = venues.sim.requests("everstrike", kind="cancel")
    assert len(cancels) == 1 and f"id={PROBE_ORDER_ID}" in cancels[0].body
    assert len(venues.sim.requests("everstrike", kind="close")) == 1  # the one we rested
    again = await run_test_connection(account, credentials)
    assert again.working_orders == 1


# ----------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("venue", [QFEX, EVERSTRIKE])
@pytest.mark.asyncio
async def test_a_wrong_secret_is_refused_in_plain_words(venues: Venues, venue: Venue) -> None:
    account, good = venues.pair(venue)
    wrong = Credentials(account.public_key, "wrong-" + good.secret[::-1])
    report = await run_test_connection(account, wrong)
    assert report == ConnectionReport(
        False, 0, 0,
        f"{venue.label} refused the API key or signature (check the key and secret, and this "
        "computer's clock)",
    )
    assert not _other_tasks()


@pytest.mark.parametrize("venue", [QFEX, EVERSTRIKE])
@pytest.mark.asyncio
async def test_a_wrong_public_key_is_refused_in_plain_words(
    venues: Venues, venue: Venue
) -> None:
    account, good = venues.pair(venue)
    stranger = dataclasses.replace(account, public_key="nobody-knows-this-key")
    report = await run_test_connection(
        stranger, Credentials(stranger.public_key, good.secret))
    assert not report.ok
    assert report.message.startswith(f"{venue.label} refused the API key or signature")
    assert "nobody-knows-this-key" not in report.message  # shown redacted, if at all


@pytest.mark.parametrize("venue", [QFEX, EVERSTRIKE])
@pytest.mark.asyncio
async def test_an_unreachable_port_is_reported_with_its_url(venues: Venues, venue: Venue) -> None:
    account, credentials = venues.pair(venue)
    port = _free_port()
    dead = {name: f"{url.split('://')[0]}://127.0.0.1:{port}/" for name, url in
            account.endpoints.items()}
    report = await run_test_connection(
        dataclasses.replace(account, endpoints=dead), credentials)
    assert not report.ok
    assert report.message.startswith("Could not reach ")
    assert report.message.endswith(f"127.0.0.1:{port}: connection refused") or \
        report.message.endswith(f"127.0.0.1:{port}/: connection refused")
    assert not _other_tasks()


@pytest.mark.parametrize(("venue", "endpoint"), [
    (QFEX, {"trade_ws": "ws://trade.example.com/"}),
    (EVERSTRIKE, {"rest": "http://api.example.com"}),
])
@pytest.mark.asyncio
async def test_a_non_tls_live_url_is_refused_before_anything_is_dialled(
    venues: Venues, venue: Venue, endpoint: dict[str, str]
) -> None:
    account, credentials = venues.pair(venue)
    live = dataclasses.replace(account, environment=Environment.LIVE,
                               endpoints={**account.endpoints, **endpoint})
    built: list[AccountConfig] = []

    def factory(a: AccountConfig, c: Credentials, sink: EventSink) -> VenueSession:
        built.append(a)
        return session_class(a.venue)(a, c, sink)

    report = await run_test_connection(live, credentials, session_factory=factory)
    assert not report.ok
    assert "is not encrypted; plain" in report.message
    assert "allowed only for loopback" in report.message
    assert built == []
    assert venues.sim.requests(venue.value) == []


@pytest.mark.asyncio
async def test_a_venue_that_never_answers_times_out_in_plain_words(venues: Venues) -> None:
    """A listener that accepts and then says nothing: only our deadline can end the test."""
    accepted = asyncio.Event()
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        accepted.set()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    account, credentials = venues.pair(QFEX)
    silent = {name: f"{url.split('://')[0]}://127.0.0.1:{port}/" for name, url in
              account.endpoints.items()}
    try:
        report = await run_test_connection(
            dataclasses.replace(account, endpoints=silent), credentials, timeout=2)
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
    assert accepted.is_set()
    assert report == ConnectionReport(False, 0, 0, "Timed out after 2 s")
    assert not _other_tasks()


@pytest.mark.asyncio
async def test_missing_secret_and_bad_options_are_reported_without_dialling(
    venues: Venues,
) -> None:
    account, credentials = venues.pair(EVERSTRIKE)
    empty = await run_test_connection(account, Credentials(account.public_key, ""))
    assert empty == ConnectionReport(False, 0, 0, "Enter the secret key to test the connection.")
    bad = dataclasses.replace(account, options={"recv_window": "soon"})
    report = await run_test_connection(bad, credentials)
    assert not report.ok and "recv_window='soon' is not a number" in report.message
    assert venues.sim.requests("everstrike") == []


# ----------------------------------------------------------------------------- keyring
def test_credentials_come_from_the_store_or_not_at_all(
    venues: Venues, memory_keyring: MemoryKeyring
) -> None:
    store = SecretStore()
    assert credentials_for(venues.qfex, store) is None
    store.set("acct-q", venues.qfex_secret)
    assert credentials_for(venues.qfex, store) == Credentials(
        venues.qfex.public_key, venues.qfex_secret)
    store.set("acct-e", venues.everstrike_secret, session_only=True)
    assert credentials_for(venues.everstrike, store) == Credentials(
        venues.everstrike.public_key, venues.everstrike_secret)
    assert set(memory_keyring.store.values()) == {venues.qfex_secret}

