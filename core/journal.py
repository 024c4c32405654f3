"""Append-only audit journal in SQLite.

Every intent, request, venue reply, order update, fill, error and connection change is written
here *before* the UI hears of it, so a crash never loses something the user was shown. Each
record carries the hash of the previous one, so an edit or a deletion breaks the chain.

Operator: one ``operator`` column holds the OS user, followed by the optional operator name
from settings in parentheses (``"alice (Desk 3)"``). One column, so the hashed fields and the
schema of existing journals stay as they were.

The chain cannot show records cut off the *end* of the file: ``verify`` proves every record up
to the last one left, not that nothing came after it.
"""

from __future__ import annotations

import contextlib
import csv
import getpass
import hashlib
import itertools
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TextIO

__all__ = [
    "EXPORT_COLUMNS",
    "GENESIS",
    "ChainReport",
    "Journal",
    "JournalEntry",
    "JournalError",
    "JournalFilter",
    "JournalRecord",
    "compose_operator",
    "default_journal_path",
    "default_operator",
    "to_jsonable",
]

GENESIS = "0" * 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    seq        INTEGER PRIMARY KEY,
    wall_time  REAL    NOT NULL,
    kind       TEXT    NOT NULL,
    account    TEXT,
    venue      TEXT,
    symbol     TEXT,
    operator   TEXT    NOT NULL,
    reason     TEXT,
    intent_id  TEXT,
    payload    TEXT    NOT NULL,
    latency_ms REAL,
    prev_hash  TEXT    NOT NULL,
    hash       TEXT    NOT NULL
);
-- Every index ends, implicitly, in seq (the rowid): an equality filter on its columns pages
-- in seq order with no sort. records_time only finds the seq range of a time range.
CREATE INDEX IF NOT EXISTS records_time ON records(wall_time);
CREATE INDEX IF NOT EXISTS records_account ON records(account, symbol);
CREATE INDEX IF NOT EXISTS records_account_only ON records(account);
CREATE INDEX IF NOT EXISTS records_kind ON records(kind);
CREATE INDEX IF NOT EXISTS records_symbol ON records(symbol);
CREATE INDEX IF NOT EXISTS records_account_kind ON records(account, kind);
CREATE TRIGGER IF NOT EXISTS records_no_update BEFORE UPDATE ON records
    BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS records_no_delete BEFORE DELETE ON records
    BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
"""

# Every column of a record, in export order. ``time_utc`` is derived from ``wall_time`` for
# people reading a spreadsheet; it is not stored or hashed.
EXPORT_COLUMNS: tuple[str, ...] = (
    "seq", "wall_time", "time_utc", "kind", "account", "venue", "symbol", "operator", "reason",
    "intent_id", "payload", "latency_ms", "prev_hash", "hash",
)

_JSON = json.JSONEncoder(ensure_ascii=False)  # one encoder for every exported line
_BULK_CHUNK = 10_000
_WINDOW_CACHE = 16  # time ranges whose seq bounds are remembered (History view filters)


class JournalError(Exception):
    """The file is not a journal this version can read, or the journal cannot do that."""


def to_jsonable(value: Any) -> Any:
    """Decimals become strings so no precision is lost in the journal."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "value") and isinstance(value.value, str):  # enums
        return value.value
    return value


@dataclass(frozen=True, slots=True)
class JournalRecord:
    seq: int
    wall_time: float
    kind: str
    account: str | None
    venue: str | None
    symbol: str | None
    operator: str
    reason: str | None
    intent_id: str | None
    payload: str
    latency_ms: float | None
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One record to write with ``append_many``: the arguments of ``append``."""

    kind: str
    payload: Mapping[str, Any] | str
    account: str | None = None
    venue: str | None = None
    symbol: str | None = None
    reason: str | None = None
    intent_id: str | None = None
    latency_ms: float | None = None


@dataclass(frozen=True, slots=True)
class JournalFilter:
    """What the History view and ``closeout journal export`` select. None means any."""

    account: str | None = None
    symbol: str | None = None
    kinds: frozenset[str] | None = None
    since: float | None = None  # wall time, inclusive
    until: float | None = None  # wall time, exclusive

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.account is not None:
            clauses.append("account = ?")
            params.append(self.account)
        if self.symbol is not None:
            clauses.append("symbol = ?")
            params.append(self.symbol)
        if self.kinds is not None:
            if not self.kinds:
                clauses.append("0")
            else:
                clauses.append(f"kind IN ({','.join('?' * len(self.kinds))})")
                params.extend(sorted(self.kinds))
        if self.since is not None:
            clauses.append("wall_time >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append("wall_time < ?")
            params.append(self.until)
        return (" AND ".join(clauses) or "1"), params


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The outcome of walking the hash chain. ``records`` counts the intact records read
    before the break (all of them when intact)."""

    records: int
    broken_at: int | None = None
    why: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def _digest(prev_hash: str, fields: tuple[Any, ...]) -> str:
    material = json.dumps([prev_hash, *fields], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()


def _hashed_fields(r: JournalRecord) -> tuple[Any, ...]:
    return (r.seq, r.wall_time, r.kind, r.account, r.venue, r.symbol, r.operator, r.reason,
            r.intent_id, r.payload, r.latency_ms)


def _link_problem(r: JournalRecord, expected: int, prev: str) -> str | None:
    """Why record ``r`` does not continue a chain that ended at ``expected - 1`` with hash
    ``prev``, or None if it does."""
    if r.seq != expected:
        missing = (f"record {expected} is missing" if r.seq == expected + 1
                   else f"records {expected} to {r.seq - 1} are missing")
        return f"sequence gap: {missing}"
    if r.prev_hash != prev:
        before = "the genesis value" if r.seq == 1 else f"the hash of record {r.seq - 1}"
        return (f"prev link mismatch: its prev_hash {r.prev_hash[:16]}… is not {before} "
                f"({prev[:16]}…)")
    try:
        digest = _digest(prev, _hashed_fields(r))
    except (TypeError, ValueError):  # a column rewritten with a value of another type
        digest = None
    if digest != r.hash:
        return ("hash mismatch: its contents do not match its stored hash (changed after it "
                "was written)")
    return None


def _payload_text(payload: Mapping[str, Any] | str) -> str:
    if isinstance(payload, str):
        return payload
    return json.dumps(to_jsonable(payload), separators=(",", ":"), ensure_ascii=False)


def default_operator() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name on some service accounts
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def compose_operator(os_user: str, operator_name: str = "") -> str:
    """``"alice (Desk 3)"``: the OS user always, the name from settings when there is one.
    Whitespace (newlines included) in the name is collapsed so a record stays one line."""
    name = " ".join(operator_name.split())
    return f"{os_user} ({name})" if name else os_user


def default_journal_path(demo: bool) -> Path:
    """Where the app keeps its journal: demo mode writes a separate file, so practice never
    mixes with the record of real accounts."""
    import platformdirs

    name = "demo-journal.sqlite3" if demo else "journal.sqlite3"
    return Path(platformdirs.user_data_path("closeout")) / name


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


def _iso_utc(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).isoformat(timespec="microseconds").replace(
        "+00:00", "Z")


def _inline_json(text: str) -> bool:
    """A payload that is a one-line JSON object or array goes into JSONL as itself, byte for
    byte; anything else (form-encoded previews, plain text) goes in as a JSON string."""
    if text[:1] not in ("{", "[") or "\n" in text or "\r" in text:
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


class Journal:
    """Writes are synchronous and small (WAL, one commit per record), so a record is committed
    before ``append`` returns and survives the process being killed.

    ``operator`` replaces the OS user (tests, service accounts); ``operator_name`` is the
    optional name from settings. ``read_only`` opens an existing journal for ``verify``,
    ``query`` and ``export`` without creating or changing anything (the CLI uses it, so it can
    run beside the app). ``clock`` gives each record's wall time (a benchmark spreads a
    synthetic history over weeks with it).
    """

    def __init__(
        self,
        path: Path | str,
        *,
        operator: str | None = None,
        operator_name: str = "",
        read_only: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self.read_only = read_only
        self.os_user = operator or default_operator()
        self.operator_name = " ".join(operator_name.split())
        self.operator = compose_operator(self.os_user, self.operator_name)
        self._lock = threading.Lock()
        # (since, until) -> (newest seq considered, first seq in range, last seq in range)
        self._windows: dict[tuple[float | None, float | None],
                            tuple[int, int | None, int | None]] = {}
        memory = str(path) == ":memory:"
        if read_only:
            if memory or not self.path.is_file():
                raise FileNotFoundError(f"no journal at {self.path}")
            uri = self.path.resolve().as_uri() + "?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False,
                                       isolation_level=None)
            try:
                row = self._db.execute(
                    "SELECT 1 FROM sqlite_master WHERE type='table' AND name='records'"
                ).fetchone()
            except sqlite3.DatabaseError as exc:
                self._db.close()
                raise JournalError(f"{self.path} is not a journal: {exc}") from exc
            if row is None:
                self._db.close()
                raise JournalError(f"{self.path} is not a journal: it has no records table")
        else:
            if not memory:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
                os.close(fd)
                os.chmod(self.path, 0o600)
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a committed record survives the process being killed (it is in the
            # OS's hands once the commit returns); only an OS crash or power cut can lose the
            # last commits. FULL would fsync on every record, ~1 ms on the event loop per
            # intent, reply and update, which a 500-position flatten cannot afford.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        if not memory:
            self._restrict_sidecars()
        # Columns that lead an index: a journal written by an older version, opened read-only,
        # may lack some, and skipping through values without an index would scan per value.
        self._leading: set[str] = set()
        for index in self._db.execute("PRAGMA index_list(records)").fetchall():
            quoted = str(index[1]).replace('"', '""')
            first = self._db.execute(f'PRAGMA index_info("{quoted}")').fetchone()
            if first is not None:
                self._leading.add(str(first[2]))
        row = self._db.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        self._seq: int = int(row[0]) if row else 0
        self._last_hash: str = str(row[1]) if row else GENESIS

    def _restrict_sidecars(self) -> None:
        """SQLite creates ``-wal``/``-shm`` with the database's mode, but one that already
        exists (left by an older version, or made while the file had another mode) keeps its
        own. They hold records too, so make them 0600 whatever happened before."""
        for suffix in ("-wal", "-shm"):
            side = self.path.with_name(self.path.name + suffix)
            with contextlib.suppress(OSError):  # absent (no reader yet), or not ours
                os.chmod(side, 0o600)

    @classmethod
    def open_default(
        cls, demo: bool, *, operator: str | None = None, operator_name: str = ""
    ) -> Journal:
        """The app's journal under the user data directory (see ``default_journal_path``)."""
        return cls(default_journal_path(demo), operator=operator, operator_name=operator_name)

    # ------------------------------------------------------------------ writing
    def append(
        self,
        kind: str,
        payload: Mapping[str, Any] | str,
        *,
        account: str | None = None,
        venue: str | None = None,
        symbol: str | None = None,
        reason: str | None = None,
        intent_id: str | None = None,
        latency_ms: float | None = None,
    ) -> int:
        return self.append_many([JournalEntry(kind, payload, account, venue, symbol, reason,
                                              intent_id, latency_ms)])

    def append_many(self, entries: Iterable[JournalEntry]) -> int:
        """Write records chained exactly as ``append`` would, a few thousand per transaction
        (bulk import, benchmarks). Returns the last sequence number written.

        Each transaction re-reads the head of the chain under SQLite's write lock, so a second
        Closeout writing the same file (launched twice) extends the one chain instead of
        failing or forking it."""
        if self.read_only:
            raise JournalError(f"{self.path} was opened read-only")
        it = iter(entries)
        with self._lock:
            while chunk := list(itertools.islice(it, _BULK_CHUNK)):
                texts = [_payload_text(e.payload) for e in chunk]  # fails before any write
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    head = self._db.execute(
                        "SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
                    seq, prev = (int(head[0]), str(head[1])) if head else (0, GENESIS)
                    rows: list[tuple[Any, ...]] = []
                    for e, text in zip(chunk, texts, strict=True):
                        seq += 1
                        fields = (seq, self._clock(), e.kind, e.account, e.venue, e.symbol,
                                  self.operator, e.reason, e.intent_id, text, e.latency_ms)
                        digest = _digest(prev, fields)
                        rows.append((*fields, prev, digest))
                        prev = digest
                    self._db.executemany(
                        "INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
                    self._db.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                    raise
                self._seq, self._last_hash = seq, prev
            return self._seq

    # ------------------------------------------------------------------ reading
    def records(self, *, after: int = 0, limit: int = 1000) -> list[JournalRecord]:
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
        where: JournalFilter = JournalFilter(),
        *,
        before_seq: int | None = None,
        after_seq: int | None = None,
        limit: int = 500,
        newest_first: bool = True,
    ) -> list[JournalRecord]:
        """One page, by keyset on ``seq`` (never OFFSET), so paging a million records stays
        as fast on the last page as on the first."""
        with self._lock:
            sql, params = self._page_sql(where, before_seq, after_seq, newest_first)
            rows = self._db.execute(sql, (*params, limit)).fetchall()
        return [JournalRecord(*r) for r in rows]

    def explain_query(
        self,
        where: JournalFilter = JournalFilter(),
        *,
        before_seq: int | None = None,
        after_seq: int | None = None,
        newest_first: bool = True,
    ) -> tuple[str, list[str]]:
        """The SQL ``query`` runs for these arguments and SQLite's plan for it, one line per
        step: how tests and the benchmark show that paging is keyset paging on an index."""
        with self._lock:
            sql, params = self._page_sql(where, before_seq, after_seq, newest_first)
            rows = self._db.execute(f"EXPLAIN QUERY PLAN {sql}", (*params, 500)).fetchall()
        return sql, [str(r[-1]) for r in rows]

    def count(self, where: JournalFilter = JournalFilter()) -> int:
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

    def last_seq(self) -> int:
        """The newest sequence number in the file (another process may have appended)."""
        with self._lock:
            row = self._db.execute("SELECT MAX(seq) FROM records").fetchone()
        return int(row[0] or 0)

    def iter_all(self, page: int = 5000) -> Iterator[JournalRecord]:
        after = 0
        while batch := self.records(after=after, limit=page):
            yield from batch
            after = batch[-1].seq

    def iter_filtered(
        self, where: JournalFilter = JournalFilter(), *, page: int = 5000
    ) -> Iterator[JournalRecord]:
        """Matching records oldest first, a keyset page at a time, up to the newest record
        present when the walk starts (so a busy writer cannot make it run forever)."""
        upto = self.last_seq()
        after = 0
        while batch := self.query(where, after_seq=after, before_seq=upto + 1, limit=page,
                                  newest_first=False):
            yield from batch
            after = batch[-1].seq

    # ------------------------------------------------------------------ export
    def export(
        self,
        where: JournalFilter,
        fmt: Literal["csv", "jsonl"],
        out: TextIO,
        *,
        page: int = 5000,
    ) -> int:
        """Write the matching records to ``out``, oldest first, streaming page by page.
        Returns how many were written.

        Columns are ``EXPORT_COLUMNS``. CSV has a header row; a missing value is an empty cell
        and ``payload`` is the stored text exactly. JSONL has one object per line; a missing
        value is null, and ``payload`` is the stored JSON object/array itself (its exact text)
        or, for a payload that is not one, that text as a string.
        """
        if fmt == "csv":
            writer = csv.writer(out)
            writer.writerow(EXPORT_COLUMNS)
        elif fmt != "jsonl":
            raise ValueError(f"unknown export format {fmt!r}: use 'csv' or 'jsonl'")
        n = 0
        for r in self.iter_filtered(where, page=page):
            if fmt == "csv":
                writer.writerow((
                    r.seq, repr(r.wall_time), _iso_utc(r.wall_time), r.kind, r.account,
                    r.venue, r.symbol, r.operator, r.reason, r.intent_id, r.payload,
                    "" if r.latency_ms is None else repr(r.latency_ms), r.prev_hash, r.hash,
                ))
            else:
                out.write(self._jsonl_line(r))
            n += 1
        return n

    @staticmethod
    def _jsonl_line(r: JournalRecord) -> str:
        head = _JSON.encode({
            "seq": r.seq, "wall_time": r.wall_time, "time_utc": _iso_utc(r.wall_time),
            "kind": r.kind, "account": r.account, "venue": r.venue, "symbol": r.symbol,
            "operator": r.operator, "reason": r.reason, "intent_id": r.intent_id,
        })
        tail = _JSON.encode({"latency_ms": r.latency_ms, "prev_hash": r.prev_hash,
                             "hash": r.hash})
        payload = r.payload if _inline_json(r.payload) else _JSON.encode(r.payload)
        return f'{head[:-1]},"payload":{payload},{tail[1:]}\n'

    # ------------------------------------------------------------------ verification
    def verify_chain(self) -> ChainReport:
        """Walk the whole chain, a page at a time, and say where and why it first breaks.
        A page SQLite cannot read (a damaged file) breaks the chain at the next record."""
        prev = GENESIS
        expected = 1
        try:
            for r in self.iter_all():
                why = _link_problem(r, expected, prev)
                if why is not None:
                    return ChainReport(records=expected - 1, broken_at=r.seq, why=why)
                prev = r.hash
                expected += 1
        except sqlite3.DatabaseError as exc:
            return ChainReport(records=expected - 1, broken_at=expected,
                               why=f"unreadable: the file is damaged ({exc})")
        return ChainReport(records=expected - 1)

    def verify(self) -> int | None:
        """The sequence number of the first record whose link is broken, or None if intact."""
        return self.verify_chain().broken_at

    def close(self) -> None:
        with self._lock:
            self._db.close()
