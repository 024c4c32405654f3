"""The hash chain: each record carries the hash of the one before it, so an edit, a deletion or
an insertion breaks the chain at the first record it touched.

The digest formula is fixed for good: journals written by every version, and ``closeout
journal verify``, depend on it. It is SHA-256 over the compact JSON array ``[prev_hash, seq,
wall_time, kind, account, venue, symbol, operator, reason, intent_id, payload, latency_ms]``
(``json.dumps`` with ``separators=(",", ":")`` and ``ensure_ascii=False``, UTF-8).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from core.journal.records import JournalRecord

__all__ = ["GENESIS", "ChainReport", "digest", "hashed_fields", "link_problem", "walk"]

GENESIS = "0" * 64

# Exactly the encoder ``json.dumps(..., separators=(",", ":"), ensure_ascii=False)`` builds on
# every call; built once, because the writer hashes every record.
_MATERIAL = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


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


def digest(prev_hash: str, fields: tuple[Any, ...]) -> str:
    """The hash of a record whose hashed fields are ``fields``, following ``prev_hash``."""
    material = _MATERIAL.encode([prev_hash, *fields])
    return hashlib.sha256(material.encode()).hexdigest()


def hashed_fields(r: JournalRecord) -> tuple[Any, ...]:
    return (r.seq, r.wall_time, r.kind, r.account, r.venue, r.symbol, r.operator, r.reason,
            r.intent_id, r.payload, r.latency_ms)


def link_problem(r: JournalRecord, expected: int, prev: str) -> str | None:
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
        found: str | None = digest(prev, hashed_fields(r))
    except (TypeError, ValueError):  # a column rewritten with a value of another type
        found = None
    if found != r.hash:
        return ("hash mismatch: its contents do not match its stored hash (changed after it "
                "was written)")
    return None


def walk(records: Iterable[JournalRecord]) -> ChainReport:
    """Follow the chain from the genesis value through ``records`` (oldest first) and say where
    and why it first breaks. A page SQLite cannot read (a damaged file) breaks the chain at the
    next record."""
    prev = GENESIS
    expected = 1
    try:
        for r in records:
            why = link_problem(r, expected, prev)
            if why is not None:
                return ChainReport(records=expected - 1, broken_at=r.seq, why=why)
            prev = r.hash
            expected += 1
    except sqlite3.DatabaseError as exc:
        return ChainReport(records=expected - 1, broken_at=expected,
                           why=f"unreadable: the file is damaged ({exc})")
    return ChainReport(records=expected - 1)
