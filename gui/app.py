"""Entry point: ``closeout`` (and ``python -m gui.app``).

One thread runs Qt and asyncio together (qasync). With no accounts configured the app runs in
demo mode against the embedded simulator, which runs in its own thread; ``--demo`` forces it.

Settings come from ``core.settings.load_settings``. A file that does not load is shown in a red
banner (path and line) and left untouched, and the app starts in demo mode. Configured accounts
connect with their secrets from the keyring; one without a secret gets a "needs secret" badge.

This module loads no Qt, on purpose: it starts what takes a while and needs no window (the
keyring probe, the simulator) on worker threads, and imports the core modules every start
needs, before PySide6 is loaded. Once PySide6 is in, its import hook reads the source of every
module imported after it, which made each import noticeably dearer. Then ``gui.launch`` (the
Qt half) shows the window.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gc
import importlib
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import core.venues
from core.settings import Settings, SettingsError, load_settings
from core.venue import AccountConfig, Credentials

if TYPE_CHECKING:
    from core.secrets import SecretStore

__all__ = ["Boot", "build_parser", "main"]

Accounts = list[tuple[AccountConfig, Credentials]]
# Imported before PySide6 (see the docstring): what every start loads anyway. The last two are
# the HTTP client's transport, which httpx imports on its first request.
PRELOAD = ("core.desk", "core.journal", "core.venues", "httpcore", "anyio._backends._asyncio")


# Full collections: one per this many collections of the middle generation (Python's own
# default is 10). See settle_memory.
FULL_COLLECTION_EVERY = 100


def settle_memory() -> None:
    """Once the window is up and the accounts have connected: collect, then move every object
    alive now (modules, classes, widgets, the first rows) out of the collector's view for
    good (``gc.freeze``), and make full collections ten times rarer.

    A full collection walks every object it watches while the window waits. The start's
    eighty thousand made each one a visible stall, and they live as long as the app does
    anyway. What is left at desk size (the rows, about 35,000 objects) still takes 10-30 ms
    to walk, and a venue repricing 10,000 rows a second set one off every two or three
    seconds, although they found nothing: the app's garbage is freed as it goes, by
    reference counts, and cycles are rare. Objects made later are collected as usual."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="closeout",
        description="See every open position on every venue and close it exactly once.",
    )
    parser.add_argument(
        "--demo", action="store_true",
        help="run against the embedded simulator even if accounts are configured",
    )
    parser.add_argument(
        "--screenshot", type=Path, metavar="PATH",
        help="start, wait for positions from every venue, save a PNG of the window and exit",
    )
    parser.add_argument("--seed", type=int, default=7, help="simulator seed (demo mode)")
    parser.add_argument("-V", "--version", action="store_true",
                        help="print the version and exit")
    return parser


def _load_settings() -> tuple[Settings, str | None]:
    """The settings, or defaults plus the error to show. A broken file is reported (path and
    line) and left untouched; the app then starts in demo mode rather than guess at accounts."""
    try:
        return load_settings(), None
    except SettingsError as exc:
        print(f"closeout: {exc}", file=sys.stderr)
        return Settings(), str(exc)


def _configured_accounts(
    accounts: Sequence[AccountConfig], store: SecretStore
) -> tuple[Accounts, list[AccountConfig]]:
    """Accounts with their secrets, and the accounts whose secret is missing."""
    from core.accounts import credentials_for

    pairs: Accounts = []
    missing: list[AccountConfig] = []
    for account in accounts:
        credentials = credentials_for(account, store)
        if credentials is None:
            missing.append(account)
        else:
            pairs.append((account, credentials))
    return pairs, missing


def _probe_secret_store() -> SecretStore:
    """Open the keyring (probing it takes a noticeable time: backends are discovered)."""
    from core.secrets import SecretStore

    return SecretStore()


def _start_demo(seed: int) -> Any:
    """Start the simulator (its servers come up on their own thread)."""
    import core.demo

    return core.demo.start_simulator(seed=seed)


@dataclass(frozen=True)
class Boot:
    """What the entry point found and started before the window: the settings (or why they did
    not load), whether this is demo mode, and the slow work already under way on threads."""

    args: argparse.Namespace
    settings: Settings
    settings_error: str | None
    demo: bool
    store: concurrent.futures.Future[SecretStore] | None  # None in demo mode
    sim: concurrent.futures.Future[Any] | None


def boot(args: argparse.Namespace, pool: concurrent.futures.Executor) -> Boot:
    """Load the settings, start the keyring probe and (demo mode) the simulator on ``pool``,
    and import what every start needs while PySide6 is not yet loaded."""
    settings, settings_error = _load_settings()
    demo = args.demo or not settings.accounts
    # Demo mode reads no secret: the keyring is probed once the window is up (launch.py),
    # not here, where its imports would compete with the window's for the interpreter.
    store = None if demo else pool.submit(_probe_secret_store)
    sim = None
    if demo:
        importlib.import_module("core.demo")  # here, not on the worker: see the docstring
        sim = pool.submit(_start_demo, args.seed)
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:  # a speed-up only; whatever needs it imports it later
            continue
    core.venues.all_venues()  # each venue's package: its session, HTTP and WebSocket clients
    return Boot(args, settings, settings_error, demo, store, sim)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.version:
        from core.version import version

        print(f"closeout {version()}")
        return 0
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from gui.logfile import install_log_file

    install_log_file()  # the window's warnings, kept for support (Help → About shows where)
    with concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="closeout-boot") as pool:
        started = boot(args, pool)
        from gui.launch import launch

        return launch(started)


if __name__ == "__main__":
    sys.exit(main())
