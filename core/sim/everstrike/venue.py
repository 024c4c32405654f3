"""One simulated Everstrike: builds the parts of this package around one market and serves
them on one Starlette app."""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
import uuid
from decimal import Decimal

from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute

from core.sim import demo
from core.sim.common import Received, TransportRegistry
from core.sim.everstrike.orders import OrderCommands
from core.sim.everstrike.rest import Rest
from core.sim.everstrike.settings import EverstrikeAccount, EverstrikeSettings
from core.sim.everstrike.signing import Signer
from core.sim.everstrike.wire import WireObjects
from core.sim.everstrike.ws import EventSocket
from core.sim.faults import Faults
from core.sim.market import Market, MarketEvent

__all__ = ["EverstrikeVenue"]


class EverstrikeVenue:
    """One simulated Everstrike. All methods run on the simulator's event loop thread."""

    name = "everstrike"

    def __init__(self, *, seed: int = 7) -> None:
        self.faults = Faults()
        self.settings = EverstrikeSettings()
        self.received: list[Received] = []
        self._rng = random.Random(f"everstrike:{seed}")
        self.market = Market(
            demo.everstrike_instruments(), seed=seed, id_factory=self._new_id, clock=self.now
        )
        self.market.subscribe(self._on_market)
        self.market.trigger_veto = lambda _order: self.faults.take_trigger_failure()
        self.accounts: dict[str, EverstrikeAccount] = {}  # by api key
        self.registry = TransportRegistry()
        self.closing = asyncio.Event()
        self._wire = WireObjects(self.market)
        self._ws = EventSocket(self.name, self.market, self.faults, self.settings, self.accounts,
                               self.received, self._wire, self.now)
        commands = OrderCommands(self.market, self._wire, self._ws, self.now, self._new_id)
        signer = Signer(self.accounts, self.settings, self.now)
        self._rest = Rest(self.name, self.market, self.faults, self.accounts, signer, commands,
                          self._wire, self.registry, self.received, self.closing, self.now)

    def now(self) -> float:
        return time.time() + self.faults.clock_skew

    def _new_id(self) -> str:
        return f"{self._rng.getrandbits(128):032x}"

    def add_account(
        self,
        name: str,
        positions: list[tuple[str, Decimal, Decimal]],
        *,
        api_key: str | None = None,
        secret_key: str | None = None,
        customer_id: str | None = None,
    ) -> EverstrikeAccount:
        digest = hashlib.sha256(f"everstrike:{name}".encode()).hexdigest()
        account = EverstrikeAccount(
            name=name,
            api_key=api_key or f"es_key_{name}",
            secret_key=secret_key or f"es_secret_{digest[:32]}",
            customer_id=customer_id or str(uuid.UUID(digest[32:64], version=4)),
        )
        if account.api_key in self.accounts:
            raise ValueError(f"Everstrike API key {account.api_key!r} already exists")
        self.accounts[account.api_key] = account
        for pair, size, entry in positions:
            if pair not in self.market.instruments:
                raise ValueError(f"unknown Everstrike pair {pair!r}")
            self.market.set_position(account.customer_id, pair, Decimal(size), Decimal(entry))
        return account

    def app(self) -> Starlette:
        methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
        return Starlette(
            routes=[
                WebSocketRoute("/ws", self._ws.endpoint),
                Route("/{path:path}", self._rest.endpoint, methods=methods),
            ]
        )

    async def background(self) -> None:
        """Nothing periodic: ``index`` is pushed on each market step."""

    def _on_market(self, event: MarketEvent) -> None:
        self._wire.note(event)
        self._ws.on_market(event)
