"""The window's log file: what support asks for first, kept where the OS keeps app logs.

Warnings and errors go to a size-bounded, rotating file (five files of 2 MB at most) as well as
to stderr, which nobody sees when the app was started from a desktop menu. Secrets never reach
logging at all (DESIGN.md), so the file holds none either. ``CLOSEOUT_LOG_DIR`` (or the
``folder`` argument) moves it, so tests never write into the real home.

No Qt here: ``gui.app`` sets it up before PySide6 is loaded.
"""

from __future__ import annotations

import logging
import os
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

__all__ = [
    "BACKUPS",
    "LOG_DIR_ENV",
    "LOG_FILE",
    "MAX_BYTES",
    "default_log_dir",
    "install_log_file",
    "log_dir",
]

LOG_DIR_ENV = "CLOSEOUT_LOG_DIR"
LOG_FILE = "closeout.log"
MAX_BYTES = 2 * 1024 * 1024
BACKUPS = 4  # closeout.log and closeout.log.1 … .4: 10 MB at most
_HANDLER_NAME = "closeout-log-file"
_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"


def default_log_dir() -> Path:
    """``$CLOSEOUT_LOG_DIR``, else the OS's place for this user's app logs."""
    override = os.environ.get(LOG_DIR_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_log_path("closeout"))


def _installed() -> RotatingFileHandler | None:
    for handler in logging.getLogger().handlers:
        if isinstance(handler, RotatingFileHandler) and handler.get_name() == _HANDLER_NAME:
            return handler
    return None


def log_dir() -> Path:
    """The folder of the log file in use, or where it would be (for the About dialog)."""
    handler = _installed()
    return Path(handler.baseFilename).parent if handler is not None else default_log_dir()


def install_log_file(
    folder: Path | None = None, *, max_bytes: int = MAX_BYTES, backups: int = BACKUPS,
    level: int = logging.WARNING,
) -> RotatingFileHandler | None:
    """Send records at ``level`` and above to ``folder/closeout.log`` as well; once only.

    A folder that cannot be made (read-only home) costs the file, not the app: it is said on
    stderr and the app runs on."""
    existing = _installed()
    if existing is not None:
        return existing
    folder = folder if folder is not None else default_log_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # delay: the file appears with its first record, not empty on every start.
        handler = RotatingFileHandler(folder / LOG_FILE, maxBytes=max_bytes,
                                      backupCount=backups, encoding="utf-8", delay=True)
    except OSError as exc:
        print(f"closeout: no log file in {folder}: {exc.strerror or exc}", file=sys.stderr)
        return None
    handler.set_name(_HANDLER_NAME)
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(_FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.getEffectiveLevel() > level:
        root.setLevel(level)
    return handler
