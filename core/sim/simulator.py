"""Both simulated venues on loopback, on a daemon thread with its own asyncio loop.

The markets are single-threaded; everything that touches them runs on the simulator thread,
reached from outside through :meth:`Simulator.call` / :meth:`Simulator.acall`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

import uvicorn

from core.sim import demo
from core.sim.common import Received
from core.sim.everstrike import EverstrikeVenue
from core.sim.qfex import QfexVenue

__all__ = ["EverstrikeInfo", "QfexInfo", "SimInfo", "Simulator"]

T = TypeVar("T")
log = logging.getLogger("core.sim")

# Request groups for Simulator.requests: QFEX trade-WS frame types, Everstrike POST paths.
REQUEST_GROUPS: dict[str, dict[str, frozenset[str]]] = {
    "close": {"qfex": frozenset({"close_position", "add_order"}),
              "everstrike": frozenset({"/auth/close"})},
    "cancel": {"qfex": frozenset({"cancel_order", "cancel_stop_order", "cancel_all_orders"}),
               "everstrike": frozenset({"/auth/cancel", "/auth/cancel/bulk"})},
}


@dataclass(frozen=True)
class QfexInfo:
    trade_ws: str
    mds_ws: str
    rest: str
    public_key: str
    secret_key: str
    account_id: str


@dataclass(frozen=True)
class EverstrikeInfo:
    rest: str
    ws: str
    api_key: str
    secret_key: str


@dataclass(frozen=True)
class SimInfo:
    qfex: QfexInfo
    everstrike: EverstrikeInfo

    def as_json(self) -> dict[str, dict[str, str]]:
        return {
            "qfex": dict(vars(self.qfex)),
            "everstrike": dict(vars(self.everstrike)),
        }


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _url(scheme: str, host: str, port: int, path: str) -> str:
    h = f"[{host}]" if ":" in host else host
    return f"{scheme}://{h}:{port}{path}"


class Simulator:
    """QFEX and Everstrike stand-ins on loopback; see core/sim/__init__.py for the contract."""

    def __init__(
        self,
        *,
        seed: int = 7,
        host: str = "127.0.0.1",
        qfex_port: int = 0,
        everstrike_port: int = 0,
        tick_interval: float | None = 1.0,
        demo: bool = True,
    ) -> None:
        self.seed = seed
        self.host = host
        self.tick_interval = tick_interval
        self._ports = {"qfex": qfex_port, "everstrike": everstrike_port}
        self.qfex = QfexVenue(seed=seed)
        self.everstrike = EverstrikeVenue(seed=seed)
        self._demo = demo
        if demo:
            self._add_demo()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stopped = False
        self._info: SimInfo | None = None

    def _add_demo(self) -> None:
        q, e = demo.QFEX_DEMO, demo.EVERSTRIKE_DEMO
        self.qfex.add_account(q.name, list(q.positions), public_key=q.public_key,
                              secret_key=q.secret_key, account_id=q.account_id)
        self.everstrike.add_account(e.name, list(e.positions), api_key=e.public_key,
                                    secret_key=e.secret_key, customer_id=e.account_id)

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
            for name in ("qfex", "everstrike"):
                socks[name] = _bind(self.host, self._ports[name])
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
        qp = socks["qfex"].getsockname()[1]
        ep = socks["everstrike"].getsockname()[1]
        q, e = demo.QFEX_DEMO, demo.EVERSTRIKE_DEMO
        if not self._demo:  # no demo accounts: no keys to hand out
            q = e = demo.DemoAccount("", "", "", "", ())
        self._info = SimInfo(
            qfex=QfexInfo(
                trade_ws=_url("ws", self.host, qp, "/"),
                mds_ws=_url("ws", self.host, qp, "/mds"),
                rest=_url("http", self.host, qp, ""),
                public_key=q.public_key,
                secret_key=q.secret_key,
                account_id=q.account_id,
            ),
            everstrike=EverstrikeInfo(
                rest=_url("http", self.host, ep, ""),
                ws=_url("ws", self.host, ep, "/ws"),
                api_key=e.public_key,
                secret_key=e.secret_key,
            ),
        )
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
        venues: list[tuple[QfexVenue | EverstrikeVenue, socket.socket, float | None]] = [
            (self.qfex, socks["qfex"], self.qfex.settings.ping_interval),
            (self.everstrike, socks["everstrike"], None),
        ]
        servers: list[uvicorn.Server] = []
        serving: list[asyncio.Task[None]] = []
        for venue, sock, ping in venues:
            config = uvicorn.Config(
                venue.app(),
                lifespan="off",
                log_config=None,
                log_level="warning",
                access_log=False,
                http=venue.registry.protocol_class(),
                ws="websockets-sansio",
                ws_ping_interval=ping,
                ws_ping_timeout=self.qfex.settings.ping_timeout if ping else None,
                timeout_graceful_shutdown=2,
            )
            server = uvicorn.Server(config)
            servers.append(server)
            serving.append(asyncio.create_task(server.serve(sockets=[sock])))
        while not all(s.started for s in servers):
            failed = [t for t in serving if t.done()]
            if failed:
                await failed[0]  # raises the startup error
                raise RuntimeError("a simulator server exited during startup")
            await asyncio.sleep(0.005)
        if self._stopped:
            self._stop.set()
        background = [
            asyncio.create_task(self.qfex.background()),
            asyncio.create_task(self.everstrike.background()),
        ]
        if self.tick_interval:
            background.append(asyncio.create_task(self._ticker(self.tick_interval)))
        ready.set_result(None)
        await self._stop.wait()
        for venue, _, _ in venues:
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

        def add() -> tuple[str, str]:
            if venue == "qfex":
                q = self.qfex.add_account(name, positions)
                return q.public_key, q.secret_key
            if venue == "everstrike":
                e = self.everstrike.add_account(name, positions)
                return e.api_key, e.secret_key
            raise ValueError(f"unknown venue {venue!r}")

        return self.call(add)

    def account_id(self, venue: str, public_key: str) -> str:
        """The market account key behind a public/API key (QFEX user_id, Everstrike customer)."""
        if venue == "qfex":
            return self.qfex.accounts[public_key].account_id
        return self.everstrike.accounts[public_key].customer_id

    def requests(self, venue: str, *, kind: str | None = None) -> list[Received]:
        """What clients sent to ``venue`` ("qfex" or "everstrike"), oldest first, each with its
        arrival ``time``.

        ``kind`` filters: ``"close"`` (QFEX ``close_position``/``add_order`` frames, Everstrike
        ``POST /auth/close``), ``"cancel"`` (QFEX ``cancel_order``/``cancel_stop_order``/
        ``cancel_all_orders``, Everstrike ``POST /auth/cancel[/bulk]``), or anything else
        compared with ``Received.kind`` (a frame's type/op, an HTTP path such as
        ``"/active_positions"``; QFEX MDS frames are included, with path ``/mds``). Safe from
        any thread: it copies the log without waiting for
        the simulator thread.
        """
        if venue == "qfex":
            log_ = list(self.qfex.received)  # one C-level copy: atomic under the GIL
        elif venue == "everstrike":
            log_ = list(self.everstrike.received)
        else:
            raise ValueError(f"unknown venue {venue!r}")
        if kind is None:
            return log_
        group = REQUEST_GROUPS.get(kind, {}).get(venue)
        if group is None:
            return [r for r in log_ if r.kind == kind]
        if venue == "everstrike":
            return [r for r in log_ if r.channel == "http" and r.method == "POST"
                    and r.kind in group]
        return [r for r in log_ if r.channel == "ws" and r.kind in group]

    def step(self) -> None:
        """One market step on both venues."""
        self.call(self._step)

    def _step(self) -> None:
        self.qfex.market.step()
        self.everstrike.market.step()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else ("running" if self._thread else "new")
        return f"<Simulator seed={self.seed} {state}>"

