"""The QFEX market-data socket (``/mds``, public): ``market_stats`` pulses, and ``mark_price``,
``bbo`` and ``trade`` pushes, in the shapes of the docs' MDS AsyncAPI examples (prices and sizes
as strings)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocket

from core.sim.common import Outbox, Received, dumps, loads, record_ws, run_connection
from core.sim.faults import Faults
from core.sim.market import Market, SimFill
from core.sim.qfex.settings import QfexSettings
from core.sim.qfex.timing import iso, pulses

__all__ = ["MarketDataSocket"]

MDS_CHANNELS = ("market_stats", "mark_price", "bbo", "trade")


@dataclass(eq=False)
class _MdsConn:
    websocket: WebSocket
    outbox: Outbox
    stats: bool = False
    marks: set[str] = field(default_factory=set)  # symbols, or "*"
    bbos: set[str] = field(default_factory=set)
    trades: set[str] = field(default_factory=set)
    sequence: int = 0


class MarketDataSocket:
    """Every connected ``/mds`` socket and what it subscribed to."""

    def __init__(
        self, name: str, market: Market, faults: Faults, settings: QfexSettings,
        received: list[Received], now: Callable[[], float],
    ) -> None:
        self._name = name
        self._market = market
        self._faults = faults
        self._settings = settings
        self._received = received
        self._now = now
        self._conns: set[_MdsConn] = set()

    async def endpoint(self, websocket: WebSocket) -> None:
        await websocket.accept()
        conn = _MdsConn(websocket, Outbox(websocket, self._faults))
        self._conns.add(conn)
        try:
            await run_connection(
                websocket,
                conn.outbox,
                lambda text: self._on_text(conn, text),
                lambda text: self._received.append(record_ws(self._name, websocket, text)),
            )
        finally:
            self._conns.discard(conn)

    @staticmethod
    def _send(conn: _MdsConn, payload: Any) -> None:
        conn.outbox.push(dumps(payload))

    def _on_text(self, conn: _MdsConn, text: str) -> None:
        try:
            msg = loads(text)
        except ValueError:
            self._send(conn, {"type": "error", "message": "invalid JSON"})
            return
        if not isinstance(msg, dict) or msg.get("type") not in ("subscribe", "unsubscribe"):
            self._send(conn, {"type": "error", "message": "unknown message type"})
            return
        channels, symbols = msg.get("channels"), msg.get("symbols")
        if not (isinstance(channels, list) and isinstance(symbols, list) and symbols):
            self._send(conn, {"type": "error", "message": "channels and symbols required"})
            return
        for ch in channels:
            if ch not in MDS_CHANNELS:
                self._send(conn, {"type": "error", "message": f"unsupported channel {ch!r}"})
                return
        for s in symbols:
            if s != "*" and s not in self._market.instruments:
                self._send(conn, {"type": "error", "message": f"unknown symbol {s!r}"})
                return
        subscribe = msg["type"] == "subscribe"
        if "market_stats" in channels:
            conn.stats = subscribe
            if subscribe:
                self._push_stats(conn)  # documented: immediate snapshot
        if "mark_price" in channels:
            if subscribe:
                conn.marks.update(symbols)
                self._push_marks(conn, self._mark_symbols(symbols))
            else:
                conn.marks.difference_update(symbols)
        if "bbo" in channels:
            if subscribe:  # ASSUMPTION: a snapshot at once, as market_stats documents
                conn.bbos.update(symbols)
                for s in self._mark_symbols(symbols):
                    self._push_bbo(conn, s)
            else:
                conn.bbos.difference_update(symbols)
        if "trade" in channels:  # trades are events: nothing to snapshot
            if subscribe:
                conn.trades.update(symbols)
            else:
                conn.trades.difference_update(symbols)

    def _mark_symbols(self, wanted: Any) -> list[str]:
        if "*" in wanted:
            return list(self._market.instruments)
        return [s for s in self._market.instruments if s in wanted]

    def _push_marks(self, conn: _MdsConn, symbols: list[str]) -> None:
        now = iso(self._now())
        for s in symbols:
            conn.sequence += 1
            self._send(conn, {
                "type": "mark_price", "sequence": conn.sequence, "symbol": s,
                "price": str(self._market.instruments[s].mark), "time": now,
            })

    def _bbo(self, symbol: str, now: str) -> dict[str, Any]:
        """The simulated book's top: one level each side, as deep as one matching pass."""
        inst = self._market.instruments[symbol]
        size = str(inst.liquidity)
        return {"time": now, "symbol": symbol, "bid": [[str(inst.bid), size]],
                "ask": [[str(inst.ask), size]]}

    def _push_bbo(self, conn: _MdsConn, symbol: str) -> None:
        conn.sequence += 1
        self._send(conn, {"type": "bbo", "sequence": conn.sequence,
                          **self._bbo(symbol, iso(self._now()))})

    def _push_stats(self, conn: _MdsConn) -> None:
        now = iso(self._now())
        conn.sequence += 1
        self._send(conn, {
            "type": "market_stats",
            "sequence": conn.sequence,
            "time": now,
            "symbol": "*",
            "bbos": [self._bbo(s, now) for s in self._market.instruments],
            "mark_prices": [
                {"time": now, "symbol": s, "price": str(i.mark)}
                for s, i in self._market.instruments.items()
            ],
            "open_interests": [],
            "daily_volumes": [],
        })

    def on_marks(self, symbols: tuple[str, ...]) -> None:
        """Push moved marks, and the book top that moves with them, to their watchers."""
        for conn in list(self._conns):
            if conn.marks:
                moved = [s for s in symbols if "*" in conn.marks or s in conn.marks]
                self._push_marks(conn, moved)
            for s in symbols:
                if "*" in conn.bbos or s in conn.bbos:
                    self._push_bbo(conn, s)

    def on_fill(self, fill: SimFill) -> None:
        """A public trade per fill; every simulated fill takes liquidity, so the fill's side is
        the aggressor's and the execution type is T (taker)."""
        for conn in list(self._conns):
            if "*" in conn.trades or fill.symbol in conn.trades:
                conn.sequence += 1
                self._send(conn, {
                    "type": "trade", "sequence": conn.sequence, "trade_id": fill.trade_id,
                    "time": iso(fill.time), "symbol": fill.symbol, "size": str(fill.quantity),
                    "price": str(fill.price), "side": fill.side, "execution_type": "T",
                })

    async def run(self) -> None:
        """The periodic ``market_stats`` pushes, forever."""
        async for _ in pulses(lambda: self._settings.mds_interval):
            for conn in list(self._conns):
                if conn.stats:
                    self._push_stats(conn)
