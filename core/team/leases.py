"""Cross-desk close leases: before a desk sends a close or a cancel on (account, venue,
symbol), it holds that position's lease in the team database, until the intent is final.

A lease is one row under a primary key, so the database decides every race: of two desks
asking at the same moment, exactly one gets it, and the other is told who has it and since
when. A desk renews its leases while their intents live; a desk that vanished stops renewing,
and its lease can be taken once it has expired. Every time is the database server's clock, so
desks with skewed clocks agree on who holds what and when it ends. Nothing here ever sends or
resends an order: a lease only says who may.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import psycopg

from core.desk.coordination import Holder

__all__ = ["Granted", "LeaseKey", "Leases"]

DEFAULT_TTL_S: Final = 30.0

_TAKE: Final = """
INSERT INTO leases AS l (account, venue, symbol, desk_id, operator, intent_id, expires_at)
VALUES (%(account)s, %(venue)s, %(symbol)s, %(desk)s, %(operator)s, %(intent)s,
        clock_timestamp() + make_interval(secs => %(ttl)s))
ON CONFLICT (account, venue, symbol) DO UPDATE
   SET desk_id = EXCLUDED.desk_id, operator = EXCLUDED.operator,
       intent_id = EXCLUDED.intent_id, taken_at = clock_timestamp(),
       expires_at = EXCLUDED.expires_at
 WHERE l.expires_at <= clock_timestamp()
    OR (l.desk_id = EXCLUDED.desk_id AND l.intent_id = EXCLUDED.intent_id)
RETURNING extract(epoch FROM l.expires_at - clock_timestamp())
"""

_HOLDER: Final = """
SELECT l.desk_id, coalesce(d.name, l.desk_id), l.operator, l.intent_id,
       extract(epoch FROM clock_timestamp() - l.taken_at),
       extract(epoch FROM l.expires_at - clock_timestamp())
  FROM leases l LEFT JOIN desks d ON d.desk_id = l.desk_id
 WHERE l.account = %(account)s AND l.venue = %(venue)s AND l.symbol = %(symbol)s
"""

_BEFORE_OVERRIDE: Final = """
SELECT desk_id, operator, intent_id FROM leases
 WHERE account = %(account)s AND venue = %(venue)s AND symbol = %(symbol)s FOR UPDATE
"""

_OVERRIDE: Final = """
INSERT INTO leases AS l (account, venue, symbol, desk_id, operator, intent_id, expires_at)
VALUES (%(account)s, %(venue)s, %(symbol)s, %(desk)s, %(operator)s, %(intent)s,
        clock_timestamp() + make_interval(secs => %(ttl)s))
ON CONFLICT (account, venue, symbol) DO UPDATE
   SET desk_id = EXCLUDED.desk_id, operator = EXCLUDED.operator,
       intent_id = EXCLUDED.intent_id, taken_at = clock_timestamp(),
       expires_at = EXCLUDED.expires_at
"""

_RENEW: Final = """
UPDATE leases SET expires_at = clock_timestamp() + make_interval(secs => %(ttl)s)
 WHERE account = %(account)s AND venue = %(venue)s AND symbol = %(symbol)s
   AND desk_id = %(desk)s AND intent_id = %(intent)s
RETURNING 1
"""

_RELEASE: Final = """
DELETE FROM leases
 WHERE account = %(account)s AND venue = %(venue)s AND symbol = %(symbol)s
   AND desk_id = %(desk)s AND intent_id = %(intent)s
RETURNING 1
"""


@dataclass(frozen=True, slots=True)
class LeaseKey:
    account: str
    venue: str
    symbol: str


@dataclass(frozen=True, slots=True)
class Granted:
    """This desk holds the lease, for ``expires_in_s`` more seconds unless renewed.
    ``overrode`` names the desk whose lease an override took, if any."""

    key: LeaseKey
    intent_id: str
    expires_in_s: float
    overrode: tuple[str, str, str] | None = None  # (desk_id, operator, intent_id)


class Leases:
    """This desk's view of the lease table, over one connection (autocommit: every call is
    its own transaction, decided by the database)."""

    def __init__(self, db: psycopg.AsyncConnection[Any], desk_id: str, operator: str, *,
                 ttl_s: float = DEFAULT_TTL_S) -> None:
        if ttl_s <= 0:
            raise ValueError("a lease's time to live must be above 0 seconds")
        self._db = db
        self.desk_id = desk_id
        self.operator = operator
        self.ttl_s = ttl_s

    def _params(self, key: LeaseKey, intent_id: str) -> dict[str, Any]:
        return {"account": key.account, "venue": key.venue, "symbol": key.symbol,
                "desk": self.desk_id, "operator": self.operator, "intent": intent_id,
                "ttl": self.ttl_s}

    async def take(self, key: LeaseKey, intent_id: str) -> Granted | Holder:
        params = self._params(key, intent_id)
        async with self._db.transaction():
            cur = await self._db.execute(_TAKE, params)
            row = await cur.fetchone()
            if row is not None:
                return Granted(key, intent_id, float(row[0]))
            cur = await self._db.execute(_HOLDER, params)
            held = await cur.fetchone()
        if held is None:  # released between the two statements: ask again
            return await self.take(key, intent_id)
        return _holder(held)

    async def override(self, key: LeaseKey, intent_id: str) -> Granted:
        """Take the lease whoever holds it (the user typed a reason; the caller journals it)."""
        params = self._params(key, intent_id)
        async with self._db.transaction():
            cur = await self._db.execute(_BEFORE_OVERRIDE, params)
            row = await cur.fetchone()
            await self._db.execute(_OVERRIDE, params)
        before = None if row is None else (str(row[0]), str(row[1]), str(row[2]))
        return Granted(key, intent_id, self.ttl_s, overrode=before)

    async def renew(self, key: LeaseKey, intent_id: str) -> bool:
        """Push the expiry out again; False when the lease is no longer this intent's (it
        expired and another desk took it)."""
        cur = await self._db.execute(_RENEW, self._params(key, intent_id))
        return await cur.fetchone() is not None

    async def release(self, key: LeaseKey, intent_id: str) -> bool:
        """Give the lease up once the intent is final; False when it was not held."""
        cur = await self._db.execute(_RELEASE, self._params(key, intent_id))
        return await cur.fetchone() is not None

    async def holder(self, key: LeaseKey) -> Holder | None:
        cur = await self._db.execute(_HOLDER, self._params(key, ""))
        held = await cur.fetchone()
        if held is None:
            return None
        return _holder(held)


def _holder(row: tuple[Any, ...]) -> Holder:
    return Holder(str(row[0]), str(row[1]), str(row[2]), str(row[3]), float(row[4]),
                  float(row[5]))
