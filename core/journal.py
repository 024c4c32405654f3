"""Append-only audit journal in SQLite.

Every intent, request, venue reply, order update, fill, error and connection change is written
here *before* the UI hears of it, so a crash never loses something the user was shown. Each
record carries the hash of the previous one, so an edit or a deletion breaks the chain.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = ["GENESIS", "Journal", "JournalRecord", "to_jsonable"]

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
CREATE INDEX IF NOT EXISTS records_time ON records(wall_time);
CREATE INDEX IF NOT EXISTS records_account ON records(account, symbol);
CREATE TRIGGER IF NOT EXISTS records_no_update BEFORE UPDATE ON records
    BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS records_no_delete BEFORE DELETE ON records
    BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
"""


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


def _digest(prev_hash: str, fields: tuple[Any, ...]) -> str:
    material = json.dumps([prev_hash, *fields], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()


def default_operator() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name on some service accounts
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


class Journal:
    """One writer per file. Writes are synchronous and small (WAL, one commit per record), so a
    record is on disk before ``append`` returns."""

    def __init__(self, path: Path | str, *, operator: str | None = None) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
            os.close(fd)
            os.chmod(self.path, 0o600)
        self.operator = operator or default_operator()
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        row = self._db.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        self._seq: int = int(row[0]) if row else 0
        self._last_hash: str = str(row[1]) if row else GENESIS

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
        text = (
            payload
            if isinstance(payload, str)
            else json.dumps(to_jsonable(payload), separators=(",", ":"), ensure_ascii=False)
        )
        with self._lock:
            seq = self._seq + 1
            wall = time.time()
            fields = (seq, wall, kind, account, venue, symbol, self.operator, reason, intent_id,
                      text, latency_ms)
            digest = _digest(self._last_hash, fields)
            self._db.execute(
                "INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (*fields, self._last_hash, digest),
            )
            self._seq, self._last_hash = seq, digest
            return seq

    def records(self, *, after: int = 0, limit: int = 1000) -> list[JournalRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM records WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
            ).fetchall()
        return [JournalRecord(*r) for r in rows]

    def iter_all(self, page: int = 5000) -> Iterator[JournalRecord]:
        after = 0
        while batch := self.records(after=after, limit=page):
            yield from batch
            after = batch[-1].seq

    def verify(self) -> int | None:
        """The sequence number of the first record whose link is broken, or None if intact."""
        prev = GENESIS
        expected_seq = 1
        for r in self.iter_all():
            fields = (r.seq, r.wall_time, r.kind, r.account, r.venue, r.symbol, r.operator,
                      r.reason, r.intent_id, r.payload, r.latency_ms)
            if r.seq != expected_seq or r.prev_hash != prev or _digest(prev, fields) != r.hash:
                return r.seq
            prev = r.hash
            expected_seq += 1
        return None

    def close(self) -> None:
        with self._lock:
            self._db.close()
