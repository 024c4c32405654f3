"""Checkpoints on a thread of their own: copying the WAL back into the database file (and its
fsync) never lands inside a commit, so no click waiting for its record pays for it.

SQLite would otherwise run a checkpoint inside whichever commit pushes the WAL past 1,000
pages: every second or so at 5,000 records/s, for several milliseconds. The writer's
connection turns that off (``wal_autocheckpoint=0``) and tells this thread after each commit;
it checkpoints at most every ``interval`` seconds with PASSIVE, which never blocks the writer
or a reader. A checkpoint that fails loses nothing (the records are in the WAL); it is logged,
and the next one tries again.

PASSIVE alone lets the WAL grow without bound under a steady stream: SQLite starts the WAL
again from its beginning only after a checkpoint has caught up with its end, and a writer
committing every few milliseconds never lets one. At 5,000 records a second the WAL reached
5 GB in 90 s, and its index, which every connection maps into memory, grew with it. So once
the WAL holds more than ``restart_frames`` pages, a RESTART checkpoint follows the PASSIVE
one. PASSIVE has copied nearly everything by then, so RESTART holds the writer only for the
pages written since, then the next commit starts the WAL from its beginning. It waits at most
``restart_wait`` seconds for readers (another process's long ``journal verify``, say), and
otherwise gives up until the next interval: the writer never waits on it for long.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

__all__ = ["Checkpointer"]

log = logging.getLogger(__name__)


RESTART_FRAMES = 4096  # 16 MB of 4 KiB pages
RESTART_WAIT_S = 0.05


class Checkpointer:
    def __init__(self, path: Path, *, interval: float = 0.5,
                 restart_frames: int = RESTART_FRAMES,
                 restart_wait: float = RESTART_WAIT_S) -> None:
        # The timeout is the busy handler's: only a RESTART waits (PASSIVE never does).
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None,
                                   timeout=restart_wait)
        self._interval = interval
        self._restart_frames = restart_frames
        self.restarts = 0  # RESTART checkpoints that completed
        self._wake = threading.Event()  # something was committed since the last checkpoint
        self._closing = threading.Event()
        self._warned = False
        self.checkpoints = 0
        self._thread = threading.Thread(target=self._run, name="journal-checkpoint",
                                        daemon=True)
        self._thread.start()

    def written(self) -> None:
        """Called by the writer after each commit."""
        if not self._wake.is_set():
            self._wake.set()

    def close(self) -> None:
        self._closing.set()
        self._wake.set()
        self._thread.join()
        self._db.close()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._closing.wait(self._interval):  # gather a while's commits into one
                return
            self._wake.clear()
            try:
                _, frames, _ = self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                self.checkpoints += 1
                if frames > self._restart_frames:
                    busy, _, _ = self._db.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
                    self.restarts += not busy
            except sqlite3.Error as exc:
                if not self._warned:
                    self._warned = True
                    log.warning("journal checkpoint failed (the records are safe in the "
                                "WAL; it will be tried again): %s", exc)
