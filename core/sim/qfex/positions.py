"""The QFEX positions and balances channels: their bodies, the legacy and ``v4_*`` shapes,
and the 1 s pulses (the REST ``/user/positions`` reuses the bodies)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from core.sim.faults import Faults
from core.sim.market import UNTRIGGERED, ZERO, Market, SimPosition
from core.sim.qfex.session import TradeConn, TradeConns, send
from core.sim.qfex.settings import (
    DEPOSIT,
    INITIAL_MARGIN,
    LEVERAGE,
    MAINTENANCE_MARGIN,
    QfexSettings,
)
from core.sim.qfex.timing import iso, pulses

__all__ = ["AccountFeed"]


class AccountFeed:
    """Positions and balances, pushed to the sockets that subscribed."""

    def __init__(
        self, market: Market, faults: Faults, settings: QfexSettings, conns: TradeConns,
        now: Callable[[], float],
    ) -> None:
        self._market = market
        self._faults = faults
        self._settings = settings
        self._conns = conns
        self._now = now

    def position_body(self, pos: SimPosition) -> dict[str, Any]:
        inst = self._market.instruments[pos.symbol]
        orders = [o for o in self._market.open_orders(pos.account, pos.symbol)
                  if o.status != UNTRIGGERED]
        return {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"qfex:{pos.account}:{pos.symbol}")),
            "symbol": pos.symbol,
            "position": pos.size,
            "margin_alloc": abs(pos.size) * inst.mark * INITIAL_MARGIN,
            "realised_pnl": pos.realised,
            "unrealised_pnl": self._market.unrealised(pos),
            "net_funding": ZERO,
            "open_orders": Decimal(len(orders)),
            "open_quantity": sum((o.remaining for o in orders), ZERO),
            "leverage": LEVERAGE,
            "initial_margin": INITIAL_MARGIN,
            "maintenance_margin": MAINTENANCE_MARGIN,
            "average_price": pos.entry,
        }

    def balance_body(self, account_id: str) -> dict[str, Any]:
        positions = self._market.account_positions(account_id, include_flat=True)
        realised = sum((p.realised for p in positions), ZERO)
        unrealised = sum((self._market.unrealised(p) for p in positions), ZERO)
        pos_margin = sum(
            (abs(p.size) * self._market.instruments[p.symbol].mark * INITIAL_MARGIN
             for p in positions), ZERO)
        order_margin = sum(
            (o.remaining * o.price * INITIAL_MARGIN for o in self._market.open_orders(account_id)
             if o.status != UNTRIGGERED), ZERO)
        return {
            "deposit": DEPOSIT,
            "realised_pnl": realised,
            "unrealised_pnl": unrealised,
            "order_margin": order_margin,
            "position_margin": pos_margin,
            "net_funding": ZERO,
            "available_balance": DEPOSIT + realised + unrealised - pos_margin - order_margin,
        }

    @staticmethod
    def _envelope(conn: TradeConn, channel: str, contents: list[Any]) -> dict[str, Any]:
        assert conn.account is not None
        conn.message_id += 1
        first = not conn.positions_pushed if channel == "v4_positions" else False
        return {
            "type": "subscribed" if first else (
                "position_update" if channel == "v4_positions" else "balance_update"),
            "connection_id": str(id(conn)),
            "message_id": conn.message_id,
            "id": conn.account.account_id,
            "channel": channel,
            "contents": contents,
        }

    def push_positions(self, conn: TradeConn) -> None:
        """One message per symbol ever held, flat ones included (as the venue does)."""
        if conn.account is None:
            return
        v4 = self._faults.positions_shape == "v4_positions"
        for pos in self._market.account_positions(conn.account.account_id, include_flat=True):
            body = self.position_body(pos)
            if v4:
                body.update(user_id=pos.account, timestamp=iso(self._now()))
                send(conn, self._envelope(conn, "v4_positions", [body]))
            else:
                send(conn, {"position_response": body})
        conn.positions_pushed = True

    def push_balance(self, conn: TradeConn) -> None:
        if conn.account is None:
            return
        body = self.balance_body(conn.account.account_id)
        if self._faults.positions_shape == "v4_positions":
            body.update(user_id=conn.account.account_id, timestamp=iso(self._now()))
            send(conn, self._envelope(conn, "v4_balances", [body]))
        else:
            send(conn, {"balance_response": body})

    def pulse(self) -> None:
        """One pulse: positions and balances to every socket that subscribed."""
        for conn in self._conns:
            if "positions" in conn.channels:
                self.push_positions(conn)
            if "balances" in conn.channels:
                self.push_balance(conn)

    async def run(self) -> None:
        """The periodic pushes, forever."""
        async for _ in pulses(lambda: self._settings.positions_interval):
            self.pulse()
