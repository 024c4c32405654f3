"""Reading the journal: keyset pages, counts and distinct values, on a connection of their
own so a History page never waits for the writer's commit (WAL lets both run at once).

Every page is a keyset query on ``seq`` (never OFFSET), so the last page of a million records
costs what the first does.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

from core.journal.records import JournalFilter, JournalRecord

__all__ = ["Reader"]

_WINDOW_CACHE = 16  # time ranges whose seq bounds are remembered (History view filters)


def _time_clause(
    since: float | None, until: float | None, column: str = "wall_time"
) -> tuple[str, list[float]]:
    clauses, params = [], []
    if since is not None:
        clauses.append(f"{column} >= ?")
        params.append(since)
    if until is not None:
        clauses.append(f"{column} < ?")
        params.append(until)
    return " AND ".join(clauses), params


class Reader:
    """Queries on ``db``, one at a time under ``lock`` (the connection is shared by whichever
    threads read: the GUI, an export worker)."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db = db
        self._lock = lock
        # (since, until) -> (newest seq considered, first seq in range, last seq in range)
        self._windows: dict[tuple[float | None, float | None],
                            tuple[int, int | None, int | None]] = {}
        # Columns that lead an index: a journal written by an older version, opened read-only,
        # may lack some, and skipping through values without an index would scan per value.
        self._leading: set[str] = set()
        with lock:
            for index in db.execute("PRAGMA index_list(records)").fetchall():
                quoted = str(index[1]).replace('"', '""')
                first = db.execute(f'PRAGMA index_info("{quoted}")').fetchone()
                if first is not None:
                    self._leading.add(str(first[2]))

    def records(self, after: int, limit: int) -> list[JournalRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM records WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
            ).fetchall()
        return [JournalRecord(*r) for r in rows]

    def _window(self, since: float | None, until: float | None) -> tuple[int, int] | None:
        """The exact seq range holding every record whose wall time is in [since, until), or
        None if there is none. Caller holds the lock.

        Why: ordering a time range by ``seq`` through the wall-time index sorts the whole
        range (seconds for a month of a million records), and scanning by ``seq`` with the
        time as a plain filter never knows where to stop. A seq range is cheap to page and
        right even if the clock once went backwards. The first computation reads the range's
        index entries only; afterwards only records appended since are read.
        """
        key = (since, until)
        time_sql, time_params = _time_clause(since, until)
        unindexed_sql, _ = _time_clause(since, until, "+wall_time")
        cached = self._windows.pop(key, None)
        if cached is None:
            row = self._db.execute(
                "SELECT (SELECT MAX(seq) FROM records), MIN(seq), MAX(seq) "
                f"FROM records INDEXED BY records_time WHERE {time_sql}", time_params
            ).fetchone()
            at, lo, hi = int(row[0] or 0), row[1], row[2]
        else:
            at, lo, hi = cached
            newest = int(self._db.execute("SELECT MAX(seq) FROM records").fetchone()[0] or 0)
            if newest > at:
                row = self._db.execute(
                    "SELECT MIN(seq), MAX(seq) FROM records WHERE seq > ? AND seq <= ? "
                    f"AND {unindexed_sql}",
                    (at, newest, *time_params),
                ).fetchone()
                if row[0] is not None:
                    lo = row[0] if lo is None else lo
                    hi = row[1]
                at = newest
        self._windows[key] = (at, lo, hi)
        while len(self._windows) > _WINDOW_CACHE:
            del self._windows[next(iter(self._windows))]
        return None if lo is None else (int(lo), int(hi))

    def _where_sql(self, where: JournalFilter) -> tuple[str, list[Any]]:
        """``where.where()`` plus, for a time range, its seq range; the wall time is compared
        as ``+wall_time`` so SQLite pages by ``seq`` instead of sorting the range. Caller
        holds the lock."""
        clause, params = JournalFilter(where.account, where.symbol, where.kinds).where()
        if where.since is None and where.until is None:
            return clause, params
        window = self._window(where.since, where.until)
        if window is None:
            return "0", []
        time_sql, time_params = _time_clause(where.since, where.until, "+wall_time")
        clause += f" AND seq >= ? AND seq <= ? AND {time_sql}"
        return clause, [*params, *window, *time_params]

    def _page_sql(
        self,
        where: JournalFilter,
        before_seq: int | None,
        after_seq: int | None,
        newest_first: bool,
    ) -> tuple[str, list[Any]]:
        clause, params = self._where_sql(where)
        if before_seq is not None:
            clause += " AND seq < ?"
            params.append(before_seq)
        if after_seq is not None:
            clause += " AND seq > ?"
            params.append(after_seq)
        order = "DESC" if newest_first else "ASC"
        return f"SELECT * FROM records WHERE {clause} ORDER BY seq {order} LIMIT ?", params

    def query(
        self,
        where: JournalFilter,
        before_seq: int | None,
        after_seq: int | None,
        limit: int,
        newest_first: bool,
    ) -> list[JournalRecord]:
        with self._lock:
            sql, params = self._page_sql(where, before_seq, after_seq, newest_first)
            rows = self._db.execute(sql, (*params, limit)).fetchall()
        return [JournalRecord(*r) for r in rows]

    def explain_query(
        self,
        where: JournalFilter,
        before_seq: int | None,
        after_seq: int | None,
        newest_first: bool,
    ) -> tuple[str, list[str]]:
        with self._lock:
            sql, params = self._page_sql(where, before_seq, after_seq, newest_first)
            rows = self._db.execute(f"EXPLAIN QUERY PLAN {sql}", (*params, 500)).fetchall()
        return sql, [str(r[-1]) for r in rows]

    def count(self, where: JournalFilter) -> int:
        with self._lock:
            clause, params = self._where_sql(where)
            row = self._db.execute(f"SELECT COUNT(*) FROM records WHERE {clause}",
                                   params).fetchone()
        return int(row[0])

    def distinct(self, column: str) -> list[str]:
        """Values seen in ``account``, ``symbol``, ``venue`` or ``kind``, for filter pickers.

        An indexed column is read by skipping from one value to the next (a few index
        seeks per value) rather than by visiting a million index entries."""
        if column not in ("account", "symbol", "venue", "kind"):
            raise ValueError(f"not a filterable column: {column}")
        if column not in self._leading:  # venue: not indexed, it follows from the account
            sql = ("SELECT DISTINCT venue FROM records WHERE venue IS NOT NULL "
                   "ORDER BY venue")
        else:
            sql = (
                f"WITH RECURSIVE v(x) AS (SELECT MIN({column}) FROM records UNION ALL "
                f"SELECT (SELECT MIN({column}) FROM records WHERE {column} > v.x) FROM v "
                f"WHERE v.x IS NOT NULL) SELECT x FROM v WHERE x IS NOT NULL"
            )
        with self._lock:
            rows = self._db.execute(sql).fetchall()
        return [str(r[0]) for r in rows]

    def intent(self, intent_id: str, limit: int) -> list[JournalRecord]:
        """Every record of one intent, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM records WHERE intent_id = ? ORDER BY seq LIMIT ?",
                (intent_id, limit)).fetchall()
        return [JournalRecord(*r) for r in rows]

    def last_seq(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT MAX(seq) FROM records").fetchone()
        return int(row[0] or 0)

    def close(self) -> None:
        with self._lock:
            self._db.close()
