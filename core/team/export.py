"""The shared journal's export format, one for ``closeout journal export --team`` and History's
Export on "All desks": the desk's id and name, then the record's stored columns.

CSV has a header row, a missing value is an empty cell and ``payload`` is the stored text;
JSONL is one object per line with ``payload`` as a string. Like the local journal's export, a
cell is written exactly as stored (no spreadsheet guard): the export is the audit copy, and
``hash`` covers the text as it is.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, TextIO

if TYPE_CHECKING:  # the CLI imports this without psycopg until it connects
    from core.team.store import TeamRecord

__all__ = ["TEAM_EXPORT_FIELDS", "TeamExportWriter", "team_row"]

TEAM_EXPORT_FIELDS: Final = (
    "desk_id", "desk_name", "seq", "wall_time", "kind", "account", "venue", "symbol",
    "operator", "reason", "intent_id", "payload", "latency_ms", "prev_hash", "hash")


def team_row(t: TeamRecord) -> tuple[Any, ...]:
    """``t`` as a row in ``TEAM_EXPORT_FIELDS`` order."""
    r = t.record
    return (t.desk_id, t.desk_name, r.seq, r.wall_time, r.kind, r.account, r.venue, r.symbol,
            r.operator, r.reason, r.intent_id, r.payload, r.latency_ms, r.prev_hash, r.hash)


class TeamExportWriter:
    """Writes rows (in ``TEAM_EXPORT_FIELDS`` order) to ``out``; the CSV header at once."""

    def __init__(self, fmt: Literal["csv", "jsonl"], out: TextIO) -> None:
        if fmt not in ("csv", "jsonl"):
            raise ValueError(f"unknown export format {fmt!r}: use 'csv' or 'jsonl'")
        self._out = out
        self._csv: csv.DictWriter[str] | None = None
        if fmt == "csv":
            self._csv = csv.DictWriter(out, fieldnames=TEAM_EXPORT_FIELDS)
            self._csv.writeheader()

    def write(self, rows: Iterable[Sequence[Any]]) -> int:
        """Write ``rows``; returns how many."""
        n = 0
        for row in rows:
            d = dict(zip(TEAM_EXPORT_FIELDS, row, strict=True))
            if self._csv is not None:
                self._csv.writerow(d)
            else:
                self._out.write(json.dumps(d, ensure_ascii=False) + "\n")
            n += 1
        return n
