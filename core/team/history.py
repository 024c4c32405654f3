"""The shared journal paged for History: every desk's records, newest first, with the desk.

Pages are keyset queries on ``stored_id`` (never OFFSET), the order the records were stored in
the shared journal. Why not (wall_time, desk_id, desk_seq): a desk that replays its queue
after an outage stores records with old wall times; a reader following the newest by time
would never see them arrive (they land below the window) unless it kept a watermark per desk
and merged. By ``stored_id`` they arrive at the top, once, as what is new to the shared
journal. ``stored_id`` is commit-ordered (the insert trigger's advisory lock, see
``core.team.schema``), so "``stored_id`` > the newest seen" can never skip a record whose
transaction committed late.

Every call runs on the asyncio loop (psycopg async): the window never waits on the network.
When the database cannot be reached, a call raises ``TeamUnreachable`` and drops its
connection; the next call connects again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final, Literal, TextIO

import psycopg

from core.journal.export import written_in_place
from core.journal.records import JournalFilter, JournalRecord
from core.team.export import TeamExportWriter, team_row
from core.team.store import TeamRecord

__all__ = ["EXPORT_PAGE", "QUERY_TIMEOUT_S", "TeamHistory", "TeamUnreachable"]

QUERY_TIMEOUT_S: Final = 10.0
EXPORT_PAGE: Final = 2000
_COLUMNS: Final = ("r.stored_id, r.desk_id, coalesce(d.name, r.desk_id), r.desk_seq, "
                   "r.wall_time, r.kind, r.account, r.venue, r.symbol, r.operator, r.reason, "
                   "r.intent_id, r.payload, r.latency_ms, r.prev_hash, r.hash")
_DISTINCT: Final = ("account", "symbol", "kind")

Connect = Callable[[], Awaitable[psycopg.AsyncConnection[Any]]]


class TeamUnreachable(RuntimeError):
    """The shared journal cannot be reached (connection refused, lost, or too slow)."""


def _row(row: tuple[Any, ...]) -> TeamRecord:
    return TeamRecord(str(row[1]), str(row[2]), JournalRecord(*row[3:]), stored_id=int(row[0]))


class TeamHistory:
    """Pages, counts and filter choices of the shared journal, on one connection of its own
    (one query at a time). ``desk`` narrows any of them to one desk's records."""

    def __init__(self, connect: Connect, *, timeout_s: float = QUERY_TIMEOUT_S) -> None:
        self._connect = connect
        self._timeout = timeout_s
        self._db: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()
        # (since, until) -> (newest stored_id considered, lowest and highest stored_id of a
        # record in that time range, or None); see ``_bounds``.
        self._windows: dict[tuple[float | None, float | None],
                            tuple[int, int | None, int | None]] = {}

    async def _fetch(self, sql: str, params: tuple[Any, ...] | list[Any]) -> list[Any]:
        async with self._lock:
            try:
                async with asyncio.timeout(self._timeout):
                    if self._db is None or self._db.closed:
                        self._db = await self._connect()
                        await self._db.set_autocommit(True)
                        await self._db.set_read_only(True)
                    cur = await self._db.execute(sql, params)
                    return await cur.fetchall()
            except (psycopg.OperationalError, psycopg.InterfaceError, OSError,
                    TimeoutError) as exc:
                await self._drop()
                text = str(exc).strip().splitlines()
                raise TeamUnreachable(text[0] if text else type(exc).__name__) from exc

    async def _drop(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await db.close()

    async def close(self) -> None:
        async with self._lock:
            await self._drop()

    async def _where(self, where: JournalFilter, desk: str | None) -> tuple[str, list[Any]]:
        clauses: list[str] = ["TRUE"]
        params: list[Any] = []
        for column, value in (("r.account", where.account), ("r.symbol", where.symbol),
                              ("r.desk_id", desk)):
            if value is not None:
                clauses.append(f"{column} = %s")
                params.append(value)
        if where.kinds is not None:
            clauses.append("r.kind = ANY(%s)")
            params.append(sorted(where.kinds))
        if where.since is not None or where.until is not None:
            clauses.append("r.stored_id BETWEEN %s AND %s")
            params.extend(await self._bounds(where.since, where.until))
        if where.since is not None:
            clauses.append("r.wall_time >= %s")
            params.append(where.since)
        if where.until is not None:
            clauses.append("r.wall_time < %s")
            params.append(where.until)
        return " AND ".join(clauses), params

    async def _bounds(self, since: float | None, until: float | None) -> tuple[int, int]:
        """The stored_id range holding every record whose wall time is in [since, until).

        Why: a time filter ordered by ``stored_id`` would otherwise read back from the
        newest record to the range (a third of a million index entries for a day ten days
        back in a million, measured), and past its start to the first record. The range is
        read once from the (wall_time, stored_id) index; afterwards only the records stored
        since are looked at, in the same statement as the newest id, and since ids are
        commit-ordered nothing can appear below one already considered."""
        key = (since, until)
        time_sql = " AND ".join(c for c, v in (("wall_time >= %s", since),
                                               ("wall_time < %s", until)) if v is not None)
        time_params = [v for v in (since, until) if v is not None]
        cached = self._windows.get(key)
        if cached is None:
            rows = await self._fetch(
                "SELECT (SELECT coalesce(max(stored_id), 0) FROM records), min(stored_id), "
                f"max(stored_id) FROM records WHERE {time_sql}", time_params)
            at, lo, hi = int(rows[0][0]), rows[0][1], rows[0][2]
        else:
            at, lo, hi = cached
            rows = await self._fetch(
                "SELECT (SELECT coalesce(max(stored_id), 0) FROM records), min(stored_id), "
                f"max(stored_id) FROM records WHERE stored_id > %s AND {time_sql}",
                [at, *time_params])
            if rows[0][1] is not None:
                lo = rows[0][1] if lo is None else lo
                hi = rows[0][2]
            at = max(at, int(rows[0][0]))
        self._windows[key] = (at, lo, hi)
        return (1, 0) if lo is None or hi is None else (int(lo), int(hi))

    async def page(self, where: JournalFilter, *, desk: str | None = None,
                   before: int | None = None, after: int | None = None, limit: int = 500,
                   newest_first: bool = True) -> list[TeamRecord]:
        """Up to ``limit`` matching records with ``after`` < stored_id < ``before``, newest or
        oldest first."""
        clause, params = await self._where(where, desk)
        if before is not None:
            clause += " AND r.stored_id < %s"
            params.append(before)
        if after is not None:
            clause += " AND r.stored_id > %s"
            params.append(after)
        order = "DESC" if newest_first else "ASC"
        rows = await self._fetch(
            f"SELECT {_COLUMNS} FROM records r LEFT JOIN desks d ON d.desk_id = r.desk_id "
            f"WHERE {clause} ORDER BY r.stored_id {order} LIMIT %s", [*params, limit])
        return [_row(r) for r in rows]

    async def export(self, where: JournalFilter, desk: str | None,
                     fmt: Literal["csv", "jsonl"], out: TextIO, *,
                     page_size: int = EXPORT_PAGE) -> int:
        """Write every record matching the filters to ``out``, oldest first (by
        ``stored_id``), in the format of ``closeout journal export --team``; returns how many.

        Read a page at a time by keyset, up to the newest record stored when the export
        began (records stored meanwhile are left for the next export, so it ends). Each page
        is written on a worker thread, the loop only waits on the database. A database lost
        on the way raises ``TeamUnreachable``; what was written is then incomplete."""
        writer = TeamExportWriter(fmt, out)
        rows = await self._fetch("SELECT coalesce(max(stored_id), 0) FROM records", ())
        top = int(rows[0][0])
        after, n = 0, 0
        while after < top:
            page = await self.page(where, desk=desk, after=after, before=top + 1,
                                   limit=page_size, newest_first=False)
            if not page:
                break
            n += await asyncio.to_thread(writer.write, [team_row(t) for t in page])
            if len(page) < page_size:
                break
            after = page[-1].stored_id
        return n

    async def export_file(self, where: JournalFilter, desk: str | None, path: Path,
                          fmt: Literal["csv", "jsonl"], *, page_size: int = EXPORT_PAGE) -> int:
        """``export`` into ``path``: written to ``.name.partial`` (0600) and renamed into
        place when complete; on any failure no file is left."""
        with written_in_place(path) as out:
            return await self.export(where, desk, fmt, out, page_size=page_size)

    async def count_after(self, where: JournalFilter, after: int, *, desk: str | None = None,
                          cap: int = 5000) -> tuple[int, int]:
        """How many matching records were stored after ``after`` (at most ``cap``), and the
        stored_id of the newest of them counted (``after`` when none)."""
        clause, params = await self._where(where, desk)
        rows = await self._fetch(
            f"SELECT count(*), coalesce(max(s), %s) FROM (SELECT r.stored_id AS s FROM records r"
            f" WHERE {clause} AND r.stored_id > %s ORDER BY r.stored_id LIMIT %s) n",
            [after, *params, after, cap])
        return int(rows[0][0]), int(rows[0][1])

    async def explain(self, where: JournalFilter, *, desk: str | None = None,
                      before: int | None = None, after: int | None = None) -> str:
        """The plan of a page query (with its run time): the check that a page reads an
        index range, not the table."""
        clause, params = await self._where(where, desk)
        if before is not None:
            clause += " AND r.stored_id < %s"
            params.append(before)
        if after is not None:
            clause += " AND r.stored_id > %s"
            params.append(after)
        rows = await self._fetch(
            f"EXPLAIN (ANALYZE, BUFFERS) SELECT {_COLUMNS} FROM records r LEFT JOIN desks d "
            f"ON d.desk_id = r.desk_id WHERE {clause} ORDER BY r.stored_id DESC LIMIT 500",
            params)
        return "\n".join(str(r[0]) for r in rows)

    async def distinct(self, column: str) -> list[str]:
        """The values of ``account``, ``symbol`` or ``kind`` in the shared journal, read by
        skipping from one value to the next along its index (not a scan of every record)."""
        if column not in _DISTINCT:
            raise ValueError(f"not a filterable column: {column}")
        rows = await self._fetch(
            f"WITH RECURSIVE v(x) AS (SELECT min({column}) FROM records UNION ALL "
            f"SELECT (SELECT min({column}) FROM records WHERE {column} > v.x) FROM v "
            "WHERE v.x IS NOT NULL) SELECT x FROM v WHERE x IS NOT NULL", ())
        return [str(r[0]) for r in rows]

    async def desks(self) -> list[tuple[str, str]]:
        """Every desk that ever joined: (id, name), by name."""
        rows = await self._fetch("SELECT desk_id, name FROM desks ORDER BY name, desk_id", ())
        return [(str(d), str(n)) for d, n in rows]
