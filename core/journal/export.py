"""Exported records: CSV and JSONL, the formats of ``closeout journal export`` and the History
view's Export.

Columns are ``EXPORT_COLUMNS``. CSV has a header row; a missing value is an empty cell and
``payload`` is the stored text exactly. JSONL has one object per line; a missing value is null,
and ``payload`` is the stored JSON object/array itself (its exact text) or, for a payload that
is not one, that text as a string.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TextIO

from core.journal.records import JournalRecord

__all__ = ["EXPORT_COLUMNS", "write_records", "written_in_place"]

# Every column of a record, in export order. ``time_utc`` is derived from ``wall_time`` for
# people reading a spreadsheet; it is not stored or hashed.
EXPORT_COLUMNS: tuple[str, ...] = (
    "seq", "wall_time", "time_utc", "kind", "account", "venue", "symbol", "operator", "reason",
    "intent_id", "payload", "latency_ms", "prev_hash", "hash",
)

_JSON = json.JSONEncoder(ensure_ascii=False)  # one encoder for every exported line


def write_records(
    records: Iterable[JournalRecord], fmt: Literal["csv", "jsonl"], out: TextIO
) -> int:
    """Write ``records`` to ``out`` in ``fmt``; returns how many were written."""
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
    elif fmt != "jsonl":
        raise ValueError(f"unknown export format {fmt!r}: use 'csv' or 'jsonl'")
    n = 0
    for r in records:
        if fmt == "csv":
            writer.writerow((
                r.seq, repr(r.wall_time), _iso_utc(r.wall_time), r.kind, r.account,
                r.venue, r.symbol, r.operator, r.reason, r.intent_id, r.payload,
                "" if r.latency_ms is None else repr(r.latency_ms), r.prev_hash, r.hash,
            ))
        else:
            out.write(_jsonl_line(r))
        n += 1
    return n


@contextmanager
def written_in_place(path: Path) -> Iterator[TextIO]:
    """A text file to export into, renamed to ``path`` once the block ends without an error.

    It is written beside its final name (``.name.partial``), so a failed export never leaves
    half a file under the name the user chose, and removed on any error. It holds journal
    records, so it is created 0600 like the journal itself."""
    tmp = path.with_name(f".{path.name}.partial")
    try:
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with open(fd, "w", encoding="utf-8", newline="") as out:
            yield out
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
