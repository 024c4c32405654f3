"""Every simulated venue on loopback, on a daemon thread with its own asyncio loop.

The markets are single-threaded; everything that touches them runs on the simulator thread,
reached from outside through :meth:`Simulator.call` / :meth:`Simulator.acall`.

The simulated venues are the modules in ``core/sim/`` that export ``SIMULATED_VENUE`` (see
``core.sim.contract``); each is served on its own port.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import importlib
import logging
import pkgutil
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar, cast

import uvicorn

from core.sim.common import Received, dated, observed
from core.sim.contract import DemoAccess, SimulatedVenue, SimulatedVenueInfo
from core.sim.everstrike import EverstrikeInfo, EverstrikeVenue
from core.sim.qfex import QfexInfo, QfexVenue

__all__ = ["EverstrikeInfo", "QfexInfo", "SimInfo", "Simulator", "simulated_venues"]

T = TypeVar("T")
log = logging.getLogger("core.sim")


def simulated_venues() -> tuple[type[SimulatedVenue], ...]:
    """Every module in ``core/sim/`` that exports ``SIMULATED_VENUE``, ordered by venue id."""
    package = importlib.import_module(__name__.rpartition(".")[0])
    found: dict[str, type[SimulatedVenue]] = {}
    for module in pkgutil.iter_modules(package.__path__, prefix=f"{package.__name__}."):
        if module.name.rpartition(".")[2].startswith("_") or module.name == __name__:
            continue
        cls = getattr(importlib.import_module(module.name), "SIMULATED_VENUE", None)
        if cls is not None:
            found[cls.name] = cls
    return tuple(found[name] for name in sorted(found))


@dataclass(frozen=True)
class SimInfo:
    """Each started venue's URLs and demo keys, by venue id."""

    venues: Mapping[str, SimulatedVenueInfo]

    @property
    def qfex(self) -> QfexInfo:
        return cast(QfexInfo, self.venues["qfex"])

    @property
    def everstrike(self) -> EverstrikeInfo:
        return cast(EverstrikeInfo, self.venues["everstrike"])

    def as_json(self) -> dict[str, dict[str, str]]:
        return {name: dict(vars(info)) for name, info in self.venues.items()}

    def demo_accounts(self) -> tuple[DemoAccess, ...]:
        """How to reach each venue's demo account (none when started without demo accounts)."""
        return tuple(access for info in self.venues.values()
                     if (access := info.demo_access()) is not None)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not the default 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets
    # whose proto says TCP, and an accepted connection inherits this one's. With Nagle on, a
    # reply written in two pieces (headers, then body) waited for the client's delayed ACK:
    # about 40 ms on every request after a connection's first.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class Simulator:
    """Venue stand-ins on loopback; see core/sim/__init__.py for the contract.

    ``ports`` maps a venue id to the port to bind (absent or 0: a free one).
    """

    def __init__(
        self,
        *,
        seed: int = 7,
        host: str = "127.0.0.1",
        qfex_port: int = 0,
        everstrike_port: int = 0,
        ports: Mapping[str, int] | None = None,
        tick_interval: float | None = 1.0,
        demo: bool = True,
    ) -> None:
        self.seed = seed
        self.host = host
        self.tick_interval = tick_interval
        self._ports = {"qfex": qfex_port, "everstrike": everstrike_port, **(ports or {})}
        self.venues: dict[str, SimulatedVenue] = {
            cls.name: cls(seed=seed) for cls in simulated_venues()
        }
        self._demo = demo
        if demo:
            for venue in self.venues.values():
                venue.add_demo()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stopped = False
        self._info: SimInfo | None = None

    def venue(self, name: str) -> SimulatedVenue:
        try:
            return self.venues[name]
        except KeyError:
            raise ValueError(f"unknown venue {name!r}") from None

    @property
    def qfex(self) -> QfexVenue:
        return cast(QfexVenue, self.venues["qfex"])

    @property
    def everstrike(self) -> EverstrikeVenue:
        return cast(EverstrikeVenue, self.venues["everstrike"])

    @property
    def info(self) -> SimInfo:
        if self._info is None:
            raise RuntimeError("the simulator is not started")
        return self._info

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> SimInfo:
        if self._thread is not None:
            raise RuntimeError("the simulator was already started")
        socks: dict[str, socket.socket] = {}
        try:
            for name in self.venues:
                socks[name] = _bind(self.host, self._ports.get(name, 0))
        except OSError:
            for sock in socks.values():
                sock.close()
            raise
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._thread_main, args=(socks, ready), name="closeout-sim", daemon=True
        )
        self._thread.start()
        try:
            ready.result(timeout=30)
        except BaseException:
            self.stop()
            raise
        self._info = SimInfo({
            name: venue.info(self.host, socks[name].getsockname()[1], with_demo=self._demo)
            for name, venue in self.venues.items()
        })
        return self._info

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        loop, stop, thread = self._loop, self._stop, self._thread
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(stop.set)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _thread_main(
        self, socks: dict[str, socket.socket], ready: concurrent.futures.Future[None]
    ) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._main(socks, ready))
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            else:
                log.exception("simulator thread failed")
        finally:
            for sock in socks.values():
                sock.close()
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _main(
        self, socks: dict[str, socket.socket], ready: concurrent.futures.Future[None]
    ) -> None:
        self._stop = asyncio.Event()
        servers: list[uvicorn.Server] = []
        serving: list[asyncio.Task[None]] = []
        for name, venue in self.venues.items():
            ping, ping_timeout = venue.ws_ping()
            config = uvicorn.Config(
                dated(observed(venue.app(), getattr(venue, "faults", None)),
                      getattr(venue, "now", time.time)),
                date_header=False,  # each venue dates its replies by its own clock
                lifespan="off",
                log_config=None,
                log_level="warning",
                access_log=False,
                http=venue.registry.protocol_class(),
                ws="websockets-sansio",
                ws_ping_interval=ping,
                ws_ping_timeout=ping_timeout,
                timeout_graceful_shutdown=2,
            )
            server = uvicorn.Server(config)
            servers.append(server)
            serving.append(asyncio.create_task(server.serve(sockets=[socks[name]])))
        while not all(s.started for s in servers):
            failed = [t for t in serving if t.done()]
            if failed:
                await failed[0]  # raises the startup error
                raise RuntimeError("a simulator server exited during startup")
            await asyncio.sleep(0.005)
        if self._stopped:
            self._stop.set()
        background = [asyncio.create_task(v.background()) for v in self.venues.values()]
        if self.tick_interval:
            background.append(asyncio.create_task(self._ticker(self.tick_interval)))
        ready.set_result(None)
        await self._stop.wait()
        for venue in self.venues.values():
            venue.closing.set()
        for task in background:
            task.cancel()
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*background, *serving, return_exceptions=True)

    async def _ticker(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self._step()

    # ------------------------------------------------------------------ cross-thread calls
    def _in_sim_thread(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread

    def _running_loop(self) -> asyncio.AbstractEventLoop | None:
        loop = self._loop
        if loop is None or self._stopped or loop.is_closed():
            return None
        return loop

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the simulator thread and return its result (or raise its error)."""
        loop = self._running_loop()
        if loop is None or self._in_sim_thread():
            if self._thread is not None and not self._in_sim_thread():
                raise RuntimeError("the simulator is stopped")
            return fn()  # not started yet: nothing else touches the markets
        return asyncio.run_coroutine_threadsafe(self._invoke(fn), loop).result()

    async def acall(self, fn: Callable[[], T]) -> T:
        """Like :meth:`call`, awaitable from another event loop without blocking it."""
        loop = self._running_loop()
        if loop is None or self._in_sim_thread():
            if self._thread is not None and not self._in_sim_thread():
                raise RuntimeError("the simulator is stopped")
            return fn()
        future = asyncio.run_coroutine_threadsafe(self._invoke(fn), loop)
        return await asyncio.wrap_future(future)

    @staticmethod
    async def _invoke(fn: Callable[[], T]) -> T:
        return fn()

    # ------------------------------------------------------------------ conveniences
    def add_account(
        self, venue: str, name: str, positions: list[tuple[str, Decimal, Decimal]]
    ) -> tuple[str, str]:
        """Add an account with positions; returns (public/API key, secret)."""
        simulated = self.venue(venue)
        return self.call(lambda: simulated.add_keys(name, positions))

    def account_id(self, venue: str, public_key: str) -> str:
        """The market account key behind a public/API key (QFEX user_id, Everstrike customer)."""
        return self.venue(venue).account_key(public_key)

    def requests(self, venue: str, *, kind: str | None = None) -> list[Received]:
        """What clients sent to ``venue`` (a venue id such as "qfex"), oldest first, each with
        its arrival ``time``.

        ``kind`` filters: a group of the venue's ``request_groups`` (``"close"``: QFEX
        ``close_position``/``add_order`` frames, Everstrike ``POST /auth/close``; ``"cancel"``:
        QFEX ``cancel_order``/``cancel_stop_order``/``cancel_all_orders``, Everstrike
        ``POST /auth/cancel[/bulk]``), or anything else compared with ``Received.kind`` (a
        frame's type/op, an HTTP path such as ``"/active_positions"``; QFEX MDS frames are
        included, with path ``/mds``). Safe from any thread: it copies the log without waiting
        for the simulator thread.
        """
        simulated = self.venue(venue)
        log_ = list(simulated.received)  # one C-level copy: atomic under the GIL
        if kind is None:
            return log_
        group = simulated.request_groups.get(kind)
        if group is None:
            return [r for r in log_ if r.kind == kind]
        return [r for r in log_ if simulated.is_request(r) and r.kind in group]

    def step(self) -> None:
        """One market step on every venue."""
        self.call(self._step)

    def _step(self) -> None:
        for venue in self.venues.values():
            venue.market.step()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else ("running" if self._thread else "new")
        return f"<Simulator seed={self.seed} {state}>"

