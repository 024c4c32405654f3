"""A third venue is one folder (``tests/helpers/thirdvenue``) registered with the registry, and
it works everywhere a venue shows: settings, the desk, Test connection, flatten and the CLI.
Nothing outside its folder names it. (The close dialog's part is in tests/gui.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

import cli.close
import cli.flatten
import cli.positions
from cli.common import Deps
from cli.flatten_text import plan_text
from core.accounts import test_connection as run_test_connection
from core.demo import demo_account
from core.desk import Desk, IntentState
from core.flatten import FlattenScope, build_plan, default_concurrency, execute
from core.journal import Journal
from core.model import CloseRequest, Environment, PositionKey, PositionSide
from core.secrets import SecretStore
from core.settings import AccountError, Settings, parse_settings, validate_account
from core.sim import DemoAccess
from core.venue import AccountConfig, Credentials
from core.venues import (
    UnknownVenue,
    VenueInfo,
    all_venues,
    register,
    unregister,
    venue_info,
    venue_named,
)
from tests.helpers import thirdvenue
from tests.helpers.thirdvenue import BOOK, INFO, THIRD, ThirdSession

D = Decimal
ACCOUNT = AccountConfig("t-1", THIRD, Environment.DEMO, "pub-third-1",
                        options={"region": "us"})
SECRET = "third-secret-1"


@pytest.fixture(autouse=True)
def third() -> Iterator[None]:
    register(INFO)
    ThirdSession.reset()
    yield
    unregister(THIRD)
    ThirdSession.reset()


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal(tmp_path / "j.sqlite3", operator="tester")
    yield j
    j.close()


async def started_desk(journal: Journal | None, *accounts: AccountConfig) -> Desk:
    desk = Desk(journal=journal)  # the default session factory: the registry's session class
    failed = await desk.start([(a, Credentials(a.public_key, SECRET)) for a in accounts])
    assert failed == []
    return desk


# ------------------------------------------------------------------------------ registry


def test_the_registry_knows_it_by_its_record() -> None:
    assert venue_info(THIRD) is INFO
    assert THIRD in {i.id for i in all_venues()}
    assert THIRD.label == "Third Venue"
    assert venue_named(" ThirdVenue ") is THIRD
    with pytest.raises(ValueError, match="already registered"):
        register(VenueInfo(id=THIRD, label="Other", capabilities=INFO.capabilities,
                           session=ThirdSession))


def test_once_removed_it_is_unknown_and_the_message_lists_the_known_venues() -> None:
    unregister(THIRD)
    with pytest.raises(UnknownVenue) as info:
        venue_named("thirdvenue")
    assert "unknown venue 'thirdvenue' (known: everstrike, qfex)" in str(info.value)
    assert THIRD.label == "thirdvenue"  # an old journal record still reads


def test_settings_take_it_and_check_its_endpoints_and_options() -> None:
    text = (
        'version = 2\n[[accounts]]\nname = "t"\nvenue = "thirdvenue"\nenvironment = "testnet"\n'
        'public_key = "k"\n[accounts.endpoints]\napi = "https://eu.thirdvenue.example"\n'
        '[accounts.options]\nregion = "eu"\n'
    )
    settings, _ = parse_settings(text, Path("settings.toml"))
    [account] = settings.accounts
    assert account.venue is THIRD
    with pytest.raises(AccountError, match=r"Third Venue has no endpoint called 'rest' "
                                           r"\(known: api\)"):
        validate_account(AccountConfig("t", THIRD, Environment.LIVE, "k",
                                       endpoints={"rest": "https://x.example"}))
    with pytest.raises(AccountError, match=r"Unknown Third Venue option 'speed' "
                                           r"\(known: region\)"):
        validate_account(AccountConfig("t", THIRD, Environment.LIVE, "k",
                                       options={"speed": "1"}))


def test_demo_mode_wires_a_simulated_venue_it_has_client_code_for() -> None:
    access = DemoAccess("thirdvenue", "pub-demo", "sec-demo", {"api": "http://127.0.0.1:1"})
    pair = demo_account(access)
    assert pair is not None
    account, credentials = pair
    assert (account.name, account.venue, account.environment) == \
        ("Third Venue demo", THIRD, Environment.DEMO)
    assert dict(account.endpoints) == {"api": "http://127.0.0.1:1"}
    assert credentials == Credentials("pub-demo", "sec-demo")
    assert demo_account(DemoAccess("fourth", "k", "s", {})) is None  # no client code for it


# ------------------------------------------------------------------------------ the desk


@pytest.mark.asyncio
async def test_the_desk_connects_it_books_its_positions_and_sends_a_close(
    journal: Journal
) -> None:
    desk = await started_desk(journal, ACCOUNT)
    try:
        assert {k.symbol for k in desk.positions} == set(BOOK)
        key = PositionKey("t-1", THIRD, "ALPHA-USD")
        assert desk.positions[key].quantity == D(3)
        assert desk.capabilities(key) is INFO.capabilities
        intent = await desk.close(CloseRequest(key, PositionSide.LONG, D(3), quantity=D("1.5")))
        [session] = ThirdSession.started
        [prepared] = session.sent
        assert intent.state is IntentState.FILLED
        assert desk.positions[key].quantity == D("1.5")
        requests = [r for r in journal.iter_all() if r.kind == "request"]
        assert [json.loads(r.payload) for r in requests] == [json.loads(prepared.redacted)]
        assert "pub-third-1" not in prepared.redacted  # the key is redacted in the record
        await desk.close(CloseRequest(key, PositionSide.LONG, D("1.5")))
        assert key not in desk.positions
    finally:
        await desk.stop()


@pytest.mark.asyncio
async def test_test_connection_counts_its_book_and_names_it_when_the_key_is_refused() -> None:
    report = await run_test_connection(ACCOUNT, Credentials(ACCOUNT.public_key, SECRET))
    assert (report.ok, report.message) == (True, "Connected: 3 open positions, 0 working orders")
    refused = AccountConfig("t-2", THIRD, Environment.DEMO, thirdvenue.REFUSED_KEY)
    report = await run_test_connection(refused, Credentials(refused.public_key, SECRET))
    assert not report.ok
    assert report.message.startswith("Third Venue refused the API key or signature")


# ------------------------------------------------------------------------------ flatten


@pytest.mark.asyncio
async def test_flatten_plans_with_its_mechanism_and_runs_at_its_concurrency(
    journal: Journal
) -> None:
    assert default_concurrency()[THIRD] == thirdvenue.CONCURRENCY == 2
    second = AccountConfig("t-2", THIRD, Environment.DEMO, "pub-third-2")
    desk = await started_desk(journal, ACCOUNT, second)
    try:
        plan = build_plan(desk, FlattenScope.for_venue(THIRD), reason="drill")
        assert len(plan.items) == 2 * len(BOOK)
        assert {i.mechanism for i in plan.items} == {thirdvenue.MECHANISM}
        assert f"{thirdvenue.MECHANISM}: " in plan_text(plan)
        report = await execute(desk, plan).wait()
        assert [p for p in desk.positions if p.venue is THIRD] == []
        assert len(report.items) == 2 * len(BOOK)
        assert sum(len(s.sent) for s in ThirdSession.started) == 2 * len(BOOK)
        # The cap is per venue, across its accounts: 2 closes in flight at once, never more
        # (without it, all 6 would be).
        assert ThirdSession.most_in_flight == 2
    finally:
        await desk.stop()


# ------------------------------------------------------------------------------ the CLI


@pytest.fixture
def deps(tmp_path: Path) -> Deps:
    store = SecretStore()
    store.set(ACCOUNT.name, SECRET)
    return Deps(
        load_settings=lambda: Settings(accounts=[ACCOUNT]),
        secret_store=lambda: store,
        open_journal=lambda demo, operator: Journal(tmp_path / "cli.sqlite3",
                                                    operator=operator),
    )


def test_the_cli_takes_its_id_and_prints_its_label(
    deps: Deps, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.positions.main(["--venue", "thirdvenue"], deps=deps) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("Third Venue")]
    assert len(rows) == len(BOOK)
    assert "3 open positions on 1 account" in out

    assert cli.flatten.main(["--venue", "ThirdVenue", "--dry-run"], deps=deps) == 0
    out = capsys.readouterr().out
    assert thirdvenue.MECHANISM in out and "Dry run: nothing was sent." in out
    assert all(s.sent == [] for s in ThirdSession.started)

    assert cli.close.main(["t-1", "BETA-USD", "--qty", "2", "--yes"], deps=deps) == 0
    [*_, session] = ThirdSession.started
    [prepared] = session.sent
    assert prepared.request.quantity == D(2)
    assert "on t-1 (Third Venue, DEMO)" in capsys.readouterr().out


def test_the_cli_help_lists_it_and_refuses_an_unknown_venue_by_name(
    capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.positions.main(["--help"]) == 0
    assert "(everstrike, qfex, thirdvenue)" in capsys.readouterr().out
    assert cli.positions.main(["--venue", "fourth"]) == 2
    assert "unknown venue 'fourth' (known: everstrike, qfex, thirdvenue)" in \
        capsys.readouterr().err
