"""Demo mode: the embedded simulator stands in for both venues.

A new user with no accounts gets this; tests and benchmarks use it too.
"""

from __future__ import annotations

from core.model import Environment, Venue
from core.sim import SimInfo, Simulator
from core.venue import AccountConfig, Credentials

__all__ = ["demo_accounts", "start_simulator"]

QFEX_DEMO_ACCOUNT = "QFEX demo"
EVERSTRIKE_DEMO_ACCOUNT = "Everstrike demo"


def demo_accounts(info: SimInfo) -> list[tuple[AccountConfig, Credentials]]:
    """Accounts wired to a running simulator. Demo keys are public, so no keyring is involved."""
    q, e = info.qfex, info.everstrike
    return [
        (
            AccountConfig(
                name=QFEX_DEMO_ACCOUNT,
                venue=Venue.QFEX,
                environment=Environment.DEMO,
                public_key=q.public_key,
                endpoints={"trade_ws": q.trade_ws, "mds_ws": q.mds_ws, "rest": q.rest},
            ),
            Credentials(q.public_key, q.secret_key),
        ),
        (
            AccountConfig(
                name=EVERSTRIKE_DEMO_ACCOUNT,
                venue=Venue.EVERSTRIKE,
                environment=Environment.DEMO,
                public_key=e.api_key,
                endpoints={"rest": e.rest, "ws": e.ws},
            ),
            Credentials(e.api_key, e.secret_key),
        ),
    ]


def start_simulator(*, seed: int = 7, tick_interval: float | None = 1.0) -> Simulator:
    sim = Simulator(seed=seed, tick_interval=tick_interval)
    sim.start()
    return sim
