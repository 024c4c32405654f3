"""CSV for people to open in a spreadsheet: every cell written as text the venue or we wrote
it, guarded against formula injection, and the file written atomically.

A venue string (a symbol, a reject reason, an account name) that starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return would run as a formula in a spreadsheet; such a cell
gets a leading apostrophe, which spreadsheets read as "this is text". A plain number ("-4.05",
"+364.00") is left as it is: it starts with a sign but cannot run anything.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["csv_text", "safe_cell", "write_atomic"]

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def safe_cell(text: str) -> str:
    """``text`` as a spreadsheet shows it and never runs it."""
    if text.startswith(_TRIGGERS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A header row and the rows, every cell guarded (``safe_cell``), lines ending CRLF as
    RFC 4180 has them."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(c) for c in header])
    for row in rows:
        writer.writerow([safe_cell(c) for c in row])
    return out.getvalue()


def write_atomic(path: Path, text: str) -> None:
    """Written to a temporary file beside ``path``, synced, then renamed over it: an export
    that fails half-way never leaves half a file under the name asked for, nor clobbers the
    file that was there."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
