"""Who writes the journal, and where the app keeps it.

Operator: one ``operator`` column holds the OS user, followed by the optional operator name
from settings in parentheses (``"alice (Desk 3)"``). One column, so the hashed fields and the
schema of existing journals stay as they were.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

__all__ = ["compose_operator", "default_journal_path", "default_operator"]


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
