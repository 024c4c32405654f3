"""The SQLite file: its schema, and the connections the writer and the readers open on it.

The file and its ``-wal``/``-shm`` sidecars are private (0600): they hold every record.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from core.journal.chain import GENESIS
from core.journal.records import JournalError

__all__ = ["SCHEMA", "head", "is_memory", "open_reader", "open_writer", "restrict_sidecars"]

SCHEMA = """
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
-- One intent's whole story (History's "Copy as ticket"); most records carry no intent.
CREATE INDEX IF NOT EXISTS records_intent ON records(intent_id) WHERE intent_id IS NOT NULL;
CREATE TRIGGER IF NOT EXISTS records_no_update BEFORE UPDATE ON records
    BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS records_no_delete BEFORE DELETE ON records
    BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
"""


def is_memory(path: Path | str) -> bool:
    return str(path) == ":memory:"


def open_writer(path: Path | str) -> sqlite3.Connection:
    """The one connection that writes: creates the file (0600) and the schema if needed.

    WAL + synchronous=NORMAL: a committed record survives the process being killed (it is in
    the OS's hands once the commit returns); only an OS crash or power cut can lose the last
    commits. FULL would fsync on every commit.
    """
    if not is_memory(path):
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
        os.chmod(p, 0o600)
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SCHEMA)
    except BaseException:
        db.close()
        raise
    if not is_memory(path):
        restrict_sidecars(Path(path))
    return db


def open_reader(path: Path, *, read_only: bool) -> sqlite3.Connection:
    """A connection for queries, beside the writer's: in WAL mode a reader sees the last
    commit and never waits for a transaction being written. ``read_only`` opens a file that
    must already be a journal, without creating or changing anything (``journal verify``)."""
    if read_only:
        if not path.is_file():
            raise FileNotFoundError(f"no journal at {path}")
        uri = path.resolve().as_uri() + "?mode=ro"
        db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
        try:
            row = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='records'"
            ).fetchone()
        except sqlite3.DatabaseError as exc:
            db.close()
            raise JournalError(f"{path} is not a journal: {exc}") from exc
        if row is None:
            db.close()
            raise JournalError(f"{path} is not a journal: it has no records table")
        restrict_sidecars(path)
        return db
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA query_only=1")
    return db


def restrict_sidecars(path: Path) -> None:
    """SQLite creates ``-wal``/``-shm`` with the database's mode, but one that already exists
    (left by an older version, or made while the file had another mode) keeps its own. They
    hold records too, so make them 0600 whatever happened before."""
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        with contextlib.suppress(OSError):  # absent (no reader yet), or not ours
            os.chmod(side, 0o600)


def head(db: sqlite3.Connection) -> tuple[int, str]:
    """The newest record's (seq, hash), or (0, GENESIS) for an empty journal."""
    row = db.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS)
