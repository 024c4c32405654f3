"""One simulated Everstrike: builds the parts of this package around one market and serves
them on one Starlette app."""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute

from core.sim import demo
from core.sim.common import Received, TransportRegistry, loopback_url
from core.sim.contract import DemoAccess
from core.sim.everstrike.orders import OrderCommands
from core.sim.everstrike.rest import Rest
from core.sim.everstrike.settings import EverstrikeAccount, EverstrikeSettings
from core.sim.everstrike.signing import Signer
from core.sim.everstrike.wire import WireObjects
from core.sim.everstrike.ws import EventSocket
from core.sim.faults import Faults
from core.sim.market import Market, MarketEvent

__all__ = ["EverstrikeInfo", "EverstrikeVenue"]


@dataclass(frozen=True)
class EverstrikeInfo:
    rest: str
    ws: str
    api_key: str
    secret_key: str

    def demo_access(self) -> DemoAccess | None:
        if not self.api_key:
            return None
        return DemoAccess("everstrike", self.api_key, self.secret_key,
                          {"rest": self.rest, "ws": self.ws})


class EverstrikeVenue:
    """One simulated Everstrike. All methods run on the simulator's event loop thread."""

    name: ClassVar[str] = "everstrike"
    request_groups: ClassVar[Mapping[str, frozenset[str]]] = {
        "close": frozenset({"/auth/close"}),
        "cancel": frozenset({"/auth/cancel", "/auth/cancel/bulk"}),
    }

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
                          self._wire, self.registry, self.received, self.closing, self.now,
                          self.settings)

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

    # ------------------------------------------------------------------ hosting (contract.py)
    def ws_ping(self) -> tuple[float | None, float | None]:
        return None, None  # the client keeps the socket alive with {"op":"status"}

    def add_demo(self) -> None:
        d = demo.EVERSTRIKE_DEMO
        self.add_account(d.name, list(d.positions), api_key=d.public_key,
                         secret_key=d.secret_key, customer_id=d.account_id)

    def info(self, host: str, port: int, *, with_demo: bool) -> EverstrikeInfo:
        d = demo.EVERSTRIKE_DEMO if with_demo else demo.NO_DEMO
        return EverstrikeInfo(
            rest=loopback_url("http", host, port, ""),
            ws=loopback_url("ws", host, port, "/ws"),
            api_key=d.public_key,
            secret_key=d.secret_key,
        )

    def add_keys(
        self, name: str, positions: list[tuple[str, Decimal, Decimal]]
    ) -> tuple[str, str]:
        account = self.add_account(name, positions)
        return account.api_key, account.secret_key

    def account_key(self, public_key: str) -> str:
        return self.accounts[public_key].customer_id

    def is_request(self, received: Received) -> bool:
        return received.channel == "http" and received.method == "POST"

    def _on_market(self, event: MarketEvent) -> None:
        self._wire.note(event)
        self._ws.on_market(event)
