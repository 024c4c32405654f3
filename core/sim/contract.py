"""What one simulated venue module provides, so the Simulator can host any number of them.

A module in ``core/sim/`` that exports ``SIMULATED_VENUE`` (a class with this shape) is a
simulated venue: the Simulator finds it, serves it on its own loopback port, steps its market
and hands out its demo account. Nothing else in ``core/sim`` names it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar, Protocol

from starlette.applications import Starlette

from core.sim.common import Received, TransportRegistry
from core.sim.market import Market

__all__ = ["DemoAccess", "SimulatedVenue", "SimulatedVenueInfo"]


@dataclass(frozen=True)
class DemoAccess:
    """How a client reaches a simulated venue's demo account: the venue id its client code is
    registered under, the keys, and the endpoint URLs by the client's endpoint names."""

    venue: str
    public_key: str
    secret_key: str
    endpoints: Mapping[str, str]


class SimulatedVenueInfo(Protocol):
    """A started venue's URLs and demo keys (a dataclass; ``python -m core.sim`` prints it)."""

    def demo_access(self) -> DemoAccess | None:
        """The demo account's access, or None when the simulator runs without demo accounts."""


class SimulatedVenue(Protocol):
    name: ClassVar[str]  # the venue id, as the client's registry knows it
    # Request kinds by group, for ``Simulator.requests(venue, kind=group)``.
    request_groups: ClassVar[Mapping[str, frozenset[str]]]
    received: list[Received]
    closing: asyncio.Event
    market: Market
    registry: TransportRegistry

    def __init__(self, *, seed: int = 7) -> None: ...

    def app(self) -> Starlette: ...

    async def background(self) -> None:
        """Periodic pushes, run until the simulator stops."""

    def ws_ping(self) -> tuple[float | None, float | None]:
        """The server's WebSocket ping interval and timeout, read at start."""

    def add_demo(self) -> None:
        """Add the documented demo account (``core.sim.demo``)."""

    def info(self, host: str, port: int, *, with_demo: bool) -> SimulatedVenueInfo:
        """URLs for a server on ``host:port``, with the demo keys when ``with_demo``."""

    def add_keys(
        self, name: str, positions: list[tuple[str, Decimal, Decimal]]
    ) -> tuple[str, str]:
        """Add an account with positions; returns its (public/API key, secret)."""

    def account_key(self, public_key: str) -> str:
        """The market account key behind a public/API key."""

    def is_request(self, received: Received) -> bool:
        """Whether ``received`` is a request on the trading channel (what groups count)."""
