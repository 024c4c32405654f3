"""Append-only audit journal in SQLite.

Every intent, request, venue reply, order update, fill, error and connection change is written
here *before* the UI hears of it, so a crash never loses something the user was shown. Each
record carries the hash of the previous one, so an edit or a deletion breaks the chain.

Records are encoded on the caller's thread and written by a writer thread with group commit
(``writer.py``); a caller learns a record is durable from its ticket's acknowledgement, and
whatever shows or acts on the record waits for it.

The chain cannot show records cut off the *end* of the file: ``verify`` proves every record up
to the last one left, not that nothing came after it.

The parts: ``chain`` (the hash chain), ``codec`` (payload encoding), ``store`` (the file and
its connections), ``writer`` (group commit), ``checkpoint`` (WAL checkpoints off the commit
path), ``reader`` (pages and counts), ``export`` (CSV and JSONL), ``identity`` (operator and
default path), ``journal`` (the ``Journal`` facade).
"""

from core.journal.chain import GENESIS, ChainReport
from core.journal.codec import to_jsonable
from core.journal.export import EXPORT_COLUMNS
from core.journal.identity import compose_operator, default_journal_path, default_operator
from core.journal.journal import Journal
from core.journal.records import JournalEntry, JournalError, JournalFilter, JournalRecord
from core.journal.writer import Backlog

__all__ = [
    "EXPORT_COLUMNS",
    "GENESIS",
    "Backlog",
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
