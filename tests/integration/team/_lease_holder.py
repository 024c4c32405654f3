"""A desk in its own process for the kill test: connects to the simulator account, takes the
position's lease with a resting limit close, prints "holding", then waits to be killed."""

from __future__ import annotations

import asyncio
import json
import sys
from decimal import Decimal
from typing import Any

import psycopg

from core.desk import Desk
from core.model import CloseRequest, Environment, PositionKey
from core.team.coordinator import TeamCoordinator
from core.venue import AccountConfig, Credentials
from core.venues.qfex import QFEX
from tests.helpers.polling import until


async def main(spec: dict[str, Any]) -> None:
    async def connect() -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(spec["dsn"], autocommit=True)

    coordinator = TeamCoordinator(connect, "d1", "maria", desk_name="Desk 1", ttl_s=spec["ttl"])
    desk = Desk(coordinator=coordinator)
    account = AccountConfig(spec["account"], QFEX, Environment.DEMO, spec["public"],
                            spec["endpoints"])
    assert await desk.start([(account, Credentials(spec["public"], spec["secret"]))]) == []
    key = PositionKey(spec["account"], QFEX, spec["symbol"])
    await until(lambda: key in desk.positions, timeout=60)
    pos = desk.positions[key]
    await desk.close(CloseRequest(key, pos.side, pos.quantity,
                                  limit_price=Decimal(spec["limit"])))
    print("holding", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
