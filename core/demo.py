"""Demo mode: the embedded simulator stands in for every venue.

A new user with no accounts gets this; tests and benchmarks use it too. Each simulated venue
says how to reach its demo account (``SimInfo.demo_accounts``); this module only turns that
into accounts, so a new venue's demo needs nothing here.
"""

from __future__ import annotations

from core.model import Environment, Venue
from core.sim import DemoAccess, SimInfo, Simulator
from core.sim.simulator import simulated_venues
from core.venue import AccountConfig, Credentials
from core.venues import UnknownVenue, venue_named

__all__ = [
    "demo_account",
    "demo_account_name",
    "demo_accounts",
    "expected_demo_accounts",
    "start_simulator",
]


def demo_account_name(venue: Venue) -> str:
    """The demo account's name on ``venue``: "QFEX demo"."""
    return f"{venue.label} demo"


def demo_account(access: DemoAccess) -> tuple[AccountConfig, Credentials] | None:
    """The account a simulated venue's demo access describes; None when no client code is
    registered for that venue (a simulator ahead of its client)."""
    try:
        venue = venue_named(access.venue)
    except UnknownVenue:
        return None
    account = AccountConfig(
        name=demo_account_name(venue),
        venue=venue,
        environment=Environment.DEMO,
        public_key=access.public_key,
        endpoints=dict(access.endpoints),
    )
    return account, Credentials(access.public_key, access.secret_key)


def demo_accounts(info: SimInfo) -> list[tuple[AccountConfig, Credentials]]:
    """Accounts wired to a running simulator, ordered by venue label. Demo keys are public, so
    no keyring is involved."""
    pairs = [pair for access in info.demo_accounts() if (pair := demo_account(access))]
    return sorted(pairs, key=lambda pair: (pair[0].venue.label.lower(), pair[0].venue.value))


def start_simulator(*, seed: int = 7, tick_interval: float | None = 1.0) -> Simulator:
    sim = Simulator(seed=seed, tick_interval=tick_interval)
    sim.start()
    return sim


def expected_demo_accounts() -> list[tuple[str, Venue]]:
    """The demo accounts ``demo_accounts`` will give, by name and venue, known before the
    simulator is up: the window shows them as connecting while it starts."""
    named: list[Venue] = []
    for cls in simulated_venues():
        try:
            named.append(venue_named(cls.name))
        except UnknownVenue:
            continue
    named.sort(key=lambda v: (v.label.lower(), v.value))
    return [(demo_account_name(v), v) for v in named]
