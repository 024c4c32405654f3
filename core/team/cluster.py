"""A throwaway PostgreSQL cluster: ``initdb`` into a temporary folder, ``pg_ctl`` on a free
loopback port, removed when stopped. Tests, ``make team-demo`` and the benchmarks start one of
their own, so nothing ever touches a system database.

The server binaries are the distribution's (``pg_config --bindir``, or Debian's
``/usr/lib/postgresql/<N>/bin``). PostgreSQL refuses to run as root; as root, the cluster runs
as the distribution's ``postgres`` account instead (``runuser``), in a folder given to it.

It listens on 127.0.0.1 only, with password (SCRAM) authentication for every TCP connection:
the app's role logs in exactly as it would against a real server.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["ClusterError", "LocalCluster", "server_bin_dir"]

SUPERUSER: Final = "closeout_admin"
_START_TIMEOUT_S: Final = 60
_RUN_AS: Final = "postgres"  # the distribution's account, when we are root


class ClusterError(RuntimeError):
    """The cluster could not be set up, started or stopped; the message says which step."""


def server_bin_dir() -> Path:
    """The folder of ``initdb``/``pg_ctl``: from ``pg_config``, else the newest Debian one."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    config = shutil.which("pg_config")
    if config:
        out = subprocess.run([config, "--bindir"], capture_output=True, text=True, check=False,
                             timeout=30).stdout.strip()
        if out and (Path(out) / "initdb").is_file():
            return Path(out)
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                      else 0)
    if versions:
        return versions[-1].parent
    raise ClusterError("PostgreSQL's server programs (initdb, pg_ctl) are not installed: "
                       "install the distribution's postgresql package")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalCluster:
    """One throwaway cluster. ``start`` creates and starts it; ``stop`` stops it and deletes
    its folder. ``dsn`` connects as the superuser (the tests' and demo's setup only).

    ``sync_initdb=False`` skips initdb's flush of the new folder to disk: seconds on a busy
    disk, and as long again to delete the folder while the flush is still being written, for a
    cluster that lives only for a test run or a demo. The server runs with fsync on either way;
    the benchmarks keep the flush, so their disk is quiet when they measure."""

    root: Path | None = None
    port: int = 0
    password: str = ""
    sync_initdb: bool = True

    def __post_init__(self) -> None:
        self._owned_root = self.root is None
        self._bin = server_bin_dir()
        self._as_root = os.geteuid() == 0
        self._running = False

    @property
    def data(self) -> Path:
        assert self.root is not None, "start() first"
        return self.root / "data"

    def dsn(self, user: str = SUPERUSER, password: str | None = None,
            dbname: str = "postgres") -> str:
        pw = self.password if password is None else password
        return (f"host=127.0.0.1 port={self.port} user={user} password={pw} "
                f"dbname={dbname} sslmode=disable connect_timeout=5")

    def _run(self, *args: str, timeout: float = _START_TIMEOUT_S) -> str:
        command = [str(self._bin / args[0]), *args[1:]]
        if self._as_root:
            command = ["runuser", "-u", _RUN_AS, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              timeout=timeout, cwd="/")
        if done.returncode != 0:
            raise ClusterError(f"{args[0]} failed ({done.returncode}): "
                               f"{(done.stderr or done.stdout).strip()[-2000:]}")
        return done.stdout

    def _check_reachable(self, path: Path) -> None:
        """As root the server runs as another account, which must be able to walk down to its
        folder: say so plainly rather than let initdb fail on a file it cannot open."""
        for parent in path.resolve().parents:
            if not parent.stat().st_mode & 0o001:
                raise ClusterError(f"{parent} is not searchable by others, so the "
                                   f"{_RUN_AS!r} account cannot reach {path}: choose a "
                                   "cluster folder under a world-searchable one (/tmp is 1777)")

    def _give_folder(self, path: Path) -> None:
        if self._as_root:
            account = pwd.getpwnam(_RUN_AS)
            os.chown(path, account.pw_uid, account.pw_gid)

    def start(self) -> LocalCluster:
        if self.root is None:
            # As root, inside the server account's own home: the account must reach the
            # folder, and /tmp is not always searchable by it (seen here: left 0700 by some
            # other program while the tests ran).
            home = Path(pwd.getpwnam(_RUN_AS).pw_dir) if self._as_root else None
            where = str(home) if home is not None and home.is_dir() else None
            self.root = Path(tempfile.mkdtemp(prefix="closeout-pg-", dir=where))
        self.root.mkdir(parents=True, exist_ok=True)
        if self._as_root:
            self._check_reachable(self.root)
        os.chmod(self.root, 0o700)
        self._give_folder(self.root)
        self.port = self.port or _free_port()
        self.password = self.password or secrets.token_urlsafe(18)
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        self._give_folder(pwfile)
        self.data.mkdir(mode=0o700, exist_ok=True)
        self._give_folder(self.data)
        try:
            self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--pwfile", str(pwfile),
                      "--auth-local=scram-sha-256", "--auth-host=scram-sha-256",
                      "-E", "UTF8", "--no-instructions", "--locale=C",
                      *(() if self.sync_initdb else ("--no-sync",)))
        finally:
            pwfile.unlink()
        self._pg_start()
        self._running = True
        return self

    def kill(self) -> None:
        """Stop the server at once (``immediate``: as a crash would, no clean shutdown),
        keeping its data, so ``restart`` can bring the same database back."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        self._running = False

    def restart(self) -> None:
        """Start the server again on the same port and data after ``kill``."""
        self._pg_start()
        self._running = True

    def _pg_start(self) -> None:
        assert self.root is not None, "start() first"
        # Loopback only, its socket file in its own folder, fsync on (the durability
        # figures would mean nothing without it).
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                   f"-c unix_socket_directories={self.root} -c max_connections=200 "
                   "-c shared_buffers=64MB -c log_min_messages=warning")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                  str(self.root / "server.log"), "-w", "-t", str(_START_TIMEOUT_S), "start")

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete the folder, if it made it."""
        try:
            if self._running:
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            self._running = False
            if self._owned_root and self.root is not None:
                with contextlib.suppress(OSError):
                    shutil.rmtree(self.root)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
