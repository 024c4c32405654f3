"""One simulated QFEX: builds the parts of this package around one market and serves them on
one Starlette app."""

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
from core.sim.faults import Faults
from core.sim.market import FillHappened, Market, MarketEvent, MarksMoved, OrderChanged
from core.sim.qfex.auth import Authenticator
from core.sim.qfex.limits import RateLimiter
from core.sim.qfex.market_data import MarketDataSocket
from core.sim.qfex.orders import OrderCommands
from core.sim.qfex.positions import AccountFeed
from core.sim.qfex.rest import Rest
from core.sim.qfex.session import TradeConns
from core.sim.qfex.settings import QfexAccount, QfexSettings
from core.sim.qfex.trade import TradeSocket
from core.sim.qfex.wire import OrderWire

__all__ = ["QfexInfo", "QfexVenue"]


@dataclass(frozen=True)
class QfexInfo:
    trade_ws: str
    mds_ws: str
    rest: str
    public_key: str
    secret_key: str
    account_id: str

    def demo_access(self) -> DemoAccess | None:
        if not self.public_key:
            return None
        return DemoAccess("qfex", self.public_key, self.secret_key,
                          {"trade_ws": self.trade_ws, "mds_ws": self.mds_ws, "rest": self.rest})


class QfexVenue:
    """One simulated QFEX. All methods run on the simulator's event loop thread."""

    name: ClassVar[str] = "qfex"
    request_groups: ClassVar[Mapping[str, frozenset[str]]] = {
        "close": frozenset({"close_position", "add_order"}),
        "cancel": frozenset({"cancel_order", "cancel_stop_order", "cancel_all_orders"}),
    }

    def __init__(self, *, seed: int = 7) -> None:
        self.faults = Faults()
        self.settings = QfexSettings()
        self.received: list[Received] = []
        self._rng = random.Random(f"qfex:{seed}")
        self.market = Market(
            demo.qfex_instruments(), seed=seed, id_factory=self._new_id, clock=self.now
        )
        self.market.subscribe(self._on_market)
        self.accounts: dict[str, QfexAccount] = {}  # by public key
        self.registry = TransportRegistry()
        self.closing = asyncio.Event()
        self.market.trigger_veto = lambda _order: self.faults.take_trigger_failure()
        conns = TradeConns()
        auth = Authenticator(self.accounts, self.settings, self.now)
        self._wire = OrderWire(self.market, self.now, self._new_id)
        self._feed = AccountFeed(self.market, self.faults, self.settings, conns, self.now)
        commands = OrderCommands(self.market, self.faults, self._wire, conns, self.registry,
                                 self.now)
        self._trade = TradeSocket(
            self.name, self.market, self.faults, self.settings, self.received, conns, auth,
            RateLimiter(self.settings), commands, self._feed, self._wire,
        )
        self._mds = MarketDataSocket(self.name, self.market, self.faults, self.settings,
                                     self.received, self.now)
        self._rest = Rest(self.name, self.market, self.faults, auth, self._feed, self.received,
                          self.closing)

    def now(self) -> float:
        return time.time() + self.faults.clock_skew

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def add_account(
        self,
        name: str,
        positions: list[tuple[str, Decimal, Decimal]],
        *,
        public_key: str | None = None,
        secret_key: str | None = None,
        account_id: str | None = None,
    ) -> QfexAccount:
        digest = hashlib.sha256(f"qfex:{name}".encode()).hexdigest()
        account = QfexAccount(
            name=name,
            public_key=public_key or f"qfex_pub_{name}",
            secret_key=secret_key or f"qfex_secret_{digest[:32]}",
            account_id=account_id or str(uuid.UUID(digest[32:64], version=4)),
        )
        if account.public_key in self.accounts:
            raise ValueError(f"QFEX public key {account.public_key!r} already exists")
        self.accounts[account.public_key] = account
        for symbol, size, entry in positions:
            if symbol not in self.market.instruments:
                raise ValueError(f"unknown QFEX symbol {symbol!r}")
            self.market.set_position(account.account_id, symbol, Decimal(size), Decimal(entry))
        return account

    def app(self) -> Starlette:
        methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
        return Starlette(
            routes=[
                WebSocketRoute("/", self._trade.endpoint),
                WebSocketRoute("/mds", self._mds.endpoint),
                Route("/{path:path}", self._rest.endpoint, methods=methods),
            ]
        )

    async def background(self) -> None:
        """Periodic pushes: positions and balances, and MDS market_stats."""
        await asyncio.gather(self._feed.run(), self._mds.run())

    def pulse(self) -> None:
        """A positions and balances pulse now, as the timer would send it: a test that changed
        a position need not wait for the next one. Call it on the simulator thread."""
        self._feed.pulse()

    # ------------------------------------------------------------------ hosting (contract.py)
    def ws_ping(self) -> tuple[float | None, float | None]:
        interval = self.settings.ping_interval
        return interval, self.settings.ping_timeout if interval else None

    def add_demo(self) -> None:
        d = demo.QFEX_DEMO
        self.add_account(d.name, list(d.positions), public_key=d.public_key,
                         secret_key=d.secret_key, account_id=d.account_id)

    def info(self, host: str, port: int, *, with_demo: bool) -> QfexInfo:
        d = demo.QFEX_DEMO if with_demo else demo.NO_DEMO
        return QfexInfo(
            trade_ws=loopback_url("ws", host, port, "/"),
            mds_ws=loopback_url("ws", host, port, "/mds"),
            rest=loopback_url("http", host, port, ""),
            public_key=d.public_key,
            secret_key=d.secret_key,
            account_id=d.account_id,
        )

    def add_keys(
        self, name: str, positions: list[tuple[str, Decimal, Decimal]]
    ) -> tuple[str, str]:
        account = self.add_account(name, positions)
        return account.public_key, account.secret_key

    def account_key(self, public_key: str) -> str:
        return self.accounts[public_key].account_id

    def is_request(self, received: Received) -> bool:
        return received.channel == "ws"

    def _on_market(self, event: MarketEvent) -> None:
        if isinstance(event, OrderChanged):
            self._wire.note(event)
            self._trade.on_order(event)
        elif isinstance(event, FillHappened):
            self._trade.on_fill(event)
            self._mds.on_fill(event.fill)
        elif isinstance(event, MarksMoved):
            self._mds.on_marks(event.symbols)
