"""Plumbing shared by ``closeout positions|close|flatten``: arguments, accounts and secrets,
the desk and its journal, the simulator for ``--demo``, confirmation on the terminal, Ctrl-C,
and how numbers are printed.

The exit codes are the flatten table (``core.flatten``), plus two that only a command can have:

====  =====================================================================
code  meaning
====  =====================================================================
0     done: flat (close: the quantity asked for was filled; a full close was
      verified flat), or nothing to do
2     bad arguments or settings, or refused: not confirmed on a terminal
3     residual: a close ran but part of what it should close is still open
4     rejected: a close (or a cancel it needed) was refused; nothing is working
5     unknown: a close was sent and its outcome could not be established
6     not done: nothing was sent (not confirmed, the position changed first, or
      the journal could not record it)
7     connection failure: an account could not connect (or has no secret)
8     resting (close only): the venue accepted a limit GTC or trigger close and
      it is working there; the position is not closed yet
130   interrupted (Ctrl-C); the command says what had already been sent
====  =====================================================================

Nothing here imports Qt: the CLI must run where no display or Qt library exists.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TextIO

from core.accounts import credentials_for
from core.closing.form import REASON_MAX, one_line, parse_plain_decimal
from core.closing.rules import FieldError
from core.closing.words import plain
from core.desk import Desk, DeskEvent
from core.flatten import (
    EXIT_BAD_ARGUMENTS,
    EXIT_CONNECTION_FAILED,
    EXIT_FLAT,
    EXIT_NOT_DONE,
    EXIT_REJECTED,
    EXIT_RESIDUAL,
    EXIT_UNKNOWN,
)
from core.journal import Journal, JournalError, to_jsonable
from core.model import Environment, Venue
from core.numbers import set_thousands_separator
from core.secrets import SecretStore
from core.settings import Settings, SettingsError, load_settings, settings_path
from core.venue import AccountConfig, Credentials, redact
from core.venues import UnknownVenue, all_venues, venue_named

if TYPE_CHECKING:  # the simulator (uvicorn, starlette) is imported for --demo alone
    from core.sim import Simulator
    from core.team.config import TeamConfig
    from core.team.stack import TeamStack

__all__ = [
    "EXIT_BAD_ARGUMENTS",
    "EXIT_CONNECTION_FAILED",
    "EXIT_FLAT",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_DONE",
    "EXIT_REJECTED",
    "EXIT_RESIDUAL",
    "EXIT_RESTING",
    "EXIT_UNKNOWN",
    "JOURNAL_ERRORS",
    "MAX_TIMEOUT_S",
    "REASON_MAX",
    "ConnectFailed",
    "Connection",
    "Deps",
    "Interrupt",
    "Refused",
    "UsageError",
    "add_action_options",
    "add_csv_option",
    "add_output_options",
    "ask",
    "connected",
    "dec",
    "emit_json",
    "environment_tag",
    "err",
    "fail",
    "fmt",
    "is_live",
    "normalise_reason",
    "output_clash",
    "parse_args",
    "plain_decimal",
    "refuse_without_tty",
    "run",
    "seconds",
    "select_accounts",
    "venue_arg",
    "venue_ids",
    "wait_for",
]

EXIT_RESTING = 8
EXIT_INTERRUPTED = 130

DEFAULT_CONNECT_TIMEOUT = 20.0
# Marks come on their own channel (QFEX MDS) a moment after the positions snapshot; a plan or
# a table without them reads "?" where the user expects a price. A venue that never sends one
# costs this much once.
MARKS_TIMEOUT = 2.0
NO_TTY = "refusing to act without --yes: standard input is not a terminal"


class UsageError(Exception):
    """Bad arguments or settings found after parsing; nothing was sent (exit 2)."""


class ConnectFailed(Exception):
    """An account needed by the command could not connect; nothing was sent (exit 7)."""

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = list(reasons)


class Refused(Exception):
    """The command will not act as asked (no terminal to confirm on); exit 2."""


# ------------------------------------------------------------------------------- numbers
def fmt(value: Decimal | None, *, none: str = "-") -> str:
    """Exactly the digits the venue sent: no float, no exponent."""
    return plain(value, none)


def dec(value: Decimal | None) -> str | None:
    """A Decimal for JSON: a string, so no reader turns it into a float."""
    return None if value is None else fmt(value)


def plain_decimal(option: str) -> Callable[[str], Decimal]:
    """An argparse type: a positive plain decimal ("12", "0.5"), exactly as the close dialog
    takes it (core.closing.form), refused in the dialog's words under the option's name."""

    def parse(text: str) -> Decimal:
        try:
            return parse_plain_decimal(text, "quantity")  # the field only names the message
        except FieldError as exc:
            raise argparse.ArgumentTypeError(f"{option} {exc.detail}") from None

    parse.__name__ = option  # argparse names the type in some messages
    return parse


# The longest --timeout: how long a command waits for a close's outcome. Venues answer in
# seconds and a lost reply is reconciled within a minute; a close still unknown after an hour
# needs a person (exit 5 says so; it is never resent), and "inf" would hold a script forever.
MAX_TIMEOUT_S = 3600


def seconds(option: str) -> Callable[[str], float]:
    """An argparse type for a wait: a plain decimal number of seconds (as every number option
    takes it), above zero and at most ``MAX_TIMEOUT_S``."""
    number = plain_decimal(option)

    def parse(text: str) -> float:
        value = number(text)
        if value > MAX_TIMEOUT_S:
            raise argparse.ArgumentTypeError(
                f"{option} must be at most {MAX_TIMEOUT_S} seconds; a close still unknown "
                "after that is never resent: check the position, the app or the journal")
        return float(value)

    parse.__name__ = option
    return parse


def venue_arg(text: str) -> Venue:
    try:
        return venue_named(text)
    except UnknownVenue as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def venue_ids() -> str:
    """The known venue ids for help texts: "everstrike, qfex"."""
    return ", ".join(i.id for i in all_venues())


def normalise_reason(text: str | None) -> str | None:
    """One line, as the dialog keeps it; None when empty. Raises UsageError when too long."""
    line = one_line(text)
    if line is not None and len(line) > REASON_MAX:
        raise UsageError(f"--reason is {len(line)} characters; at most {REASON_MAX} are kept")
    return line


# ------------------------------------------------------------------------------- arguments
def add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="print one JSON document on standard output (progress and "
                        "prompts go to standard error); numbers are strings")
    parser.add_argument("--demo", action="store_true",
                        help="run against the built-in simulator (its own demo accounts and "
                        "the demo journal) instead of the configured accounts")


def add_csv_option(parser: argparse.ArgumentParser) -> None:
    """``--csv`` beside ``--json``: the window's export format, on standard output."""
    parser.add_argument("--csv", action="store_true",
                        help="print CSV with the window's columns and texts (cells a "
                        "spreadsheet would run as formulas are made text)")


def output_clash(prog: str, ns: argparse.Namespace) -> int | None:
    """Exit 2 with a usage line when both ``--json`` and ``--csv`` are given, else None."""
    if ns.json and ns.csv:
        err(f"{prog}: error: --json and --csv cannot be used together")
        return EXIT_BAD_ARGUMENTS
    return None


def add_action_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reason", metavar="TEXT",
                        help=f"why, or a ticket id; kept in the journal with every record "
                        f"(one line, at most {REASON_MAX} characters)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the exact requests (keys and signatures redacted) and "
                        "send nothing; never asks")
    parser.add_argument("--yes", action="store_true",
                        help="do not ask for confirmation (required when standard input is "
                        "not a terminal)")
    add_output_options(parser)


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace | int:
    """The namespace, or the exit code argparse chose (--help: 0, a usage error: 2)."""
    try:
        return parser.parse_args(list(argv))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_ARGUMENTS


def emit_json(document: Any, out: TextIO | None = None) -> None:
    """One JSON document on standard output; Decimals as strings, enums as their values."""
    stream = out or sys.stdout
    stream.write(json.dumps(to_jsonable(document), indent=2, ensure_ascii=False) + "\n")
    stream.flush()


def err(text: str) -> None:
    """A line for the human watching: progress, prompts, warnings. Never on stdout."""
    print(text, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------- dependencies
def _open_journal(demo: bool, operator_name: str) -> Journal:
    return Journal.open_default(demo, operator_name=operator_name)


def _start_simulator() -> Simulator:
    from core.demo import start_simulator

    return start_simulator()


@dataclass
class Deps:
    """What a command reaches outside itself. Tests replace parts: a simulator they control
    (``simulator``: used for ``--demo`` and left running), settings, the secret store."""

    load_settings: Callable[[], Settings] = load_settings
    secret_store: Callable[[], SecretStore] = SecretStore
    open_journal: Callable[[bool, str], Journal] = _open_journal
    start_simulator: Callable[[], Simulator] = _start_simulator
    simulator: Simulator | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT


@dataclass
class Connection:
    """The desk with the accounts a command needs, connected, and what it runs on."""

    desk: Desk
    journal: Journal
    demo: bool
    accounts: list[AccountConfig]
    failures: dict[str, str] = field(default_factory=dict)  # account -> why it did not connect
    team: TeamStack | None = None  # team mode: the shared leases and what other desks do

    def account(self, name: str) -> AccountConfig:
        return next(a for a in self.accounts if a.name == name)


Select = Callable[[list[AccountConfig]], list[AccountConfig]]


def select_accounts(
    accounts: list[AccountConfig], *, names: Iterable[str] = (), venue: Venue | None = None
) -> list[AccountConfig]:
    """The accounts named (each must exist) and/or on ``venue``; all of them when neither."""
    wanted = list(dict.fromkeys(names))
    known = {a.name for a in accounts}
    for name in wanted:
        if name not in known:
            listing = ", ".join(repr(a.name) for a in accounts) or "none"
            raise UsageError(f"unknown account {name!r} (configured: {listing})")
    chosen = [a for a in accounts if not wanted or a.name in wanted]
    if venue is not None:
        chosen = [a for a in chosen if a.venue is venue]
        if not chosen:
            where = " among the accounts named" if wanted else ""
            raise UsageError(f"no account is configured on {venue.label}{where}")
    return chosen


def _scrub(text: str, credentials: Credentials) -> str:
    if credentials.secret:
        text = text.replace(credentials.secret, "***")
    key = credentials.public_key
    if key and len(key) > 4:
        text = text.replace(key, redact(key))
    return text


def _why(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    parts: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(parts) < 3:  # sessions often re-raise with a cause
        text = str(current) or type(current).__name__
        if text not in parts:
            parts.append(text)
        current = current.__cause__
    return ": ".join(parts)


async def _connect_all(
    desk: Desk, pairs: list[tuple[AccountConfig, Credentials]], timeout: float
) -> dict[str, str]:
    async def one(account: AccountConfig, credentials: Credentials) -> str | None:
        try:
            async with asyncio.timeout(timeout):
                await desk.connect(account, credentials)
        except Exception as exc:
            return _scrub(_why(exc, timeout), credentials)
        return None

    results = await asyncio.gather(*(one(a, c) for a, c in pairs))
    return {a.name: why for (a, _), why in zip(pairs, results, strict=True) if why is not None}


@contextlib.asynccontextmanager
async def connected(
    ns: argparse.Namespace,
    deps: Deps,
    select: Select,
    *,
    allow_partial: bool = False,
) -> AsyncIterator[Connection]:
    """Connect only the accounts ``select`` picks (demo accounts with ``--demo``) and yield the
    connection once each has sent its first positions snapshot.

    Raises UsageError (settings, unknown account), ConnectFailed (an account could not connect
    or has no secret; unless ``allow_partial``, where ``failures`` says which). Everything is
    stopped on the way out: sessions, the journal, and a simulator this started.
    """
    demo: bool = ns.demo
    try:
        settings = deps.load_settings()
    except SettingsError as exc:
        if not demo:
            raise UsageError(f"the settings cannot be used: {exc}") from None
        err(f"warning: the settings cannot be used ({exc}); demo mode goes on without them")
        settings = Settings()
    set_thousands_separator(settings.preferences.thousands_separator)
    sim: Simulator | None = None
    own_sim = False
    pairs: list[tuple[AccountConfig, Credentials]] = []
    missing: dict[str, str] = {}
    if demo:
        if deps.simulator is not None:
            sim = deps.simulator
        else:
            sim = await asyncio.to_thread(deps.start_simulator)
            own_sim = True
    try:
        if sim is not None:
            from core.demo import demo_accounts

            demo_pairs = demo_accounts(sim.info)
            chosen = select([a for a, _ in demo_pairs])
            pairs = [(a, c) for a, c in demo_pairs if a in chosen]
        else:
            if not settings.accounts:
                raise UsageError(
                    f"no accounts are configured (settings: {settings_path()}); add one in the "
                    "app's Accounts dialog, or try --demo")
            chosen = select(list(settings.accounts))
            store = await asyncio.to_thread(deps.secret_store)
            for account in chosen:
                credentials = credentials_for(account, store)
                if credentials is None:
                    where = f" ({store.problem})" if store.problem else ""
                    missing[account.name] = (
                        f"no secret is stored for it in the keyring{where}; enter it in the "
                        "app's Accounts dialog")
                else:
                    pairs.append((account, credentials))
        if missing and not allow_partial:
            raise ConnectFailed([f"{name}: {why}" for name, why in missing.items()])
        try:
            journal = deps.open_journal(demo, settings.preferences.operator_name)
        except (JournalError, OSError) as exc:
            raise UsageError(f"cannot open the journal, and nothing is done without one: {exc}")\
                from None
        team = None
        if settings.team is not None and not demo:
            team = _team_stack(settings.team, store, journal)
            await team.start()
        desk = Desk(journal=journal, coordinator=None if team is None else team.coordinator)
        try:
            failures = await _connect_all(desk, pairs, deps.connect_timeout)
            failures.update(missing)
            if failures and not allow_partial:
                raise ConnectFailed([f"{n}: could not connect: {w}" if n not in missing
                                     else f"{n}: {w}" for n, w in failures.items()])
            await wait_for(desk, lambda: all(p.mark_price is not None
                                             for p in desk.positions.values()), MARKS_TIMEOUT)
            yield Connection(desk, journal, demo, chosen, failures, team)
        finally:
            with contextlib.suppress(Exception):
                await desk.stop()
            if team is not None:
                await _stop_team(team)
            journal.close()
    finally:
        if own_sim and sim is not None:
            await asyncio.to_thread(sim.stop)


# How long a command waits at its end for the shared journal to take its last records; what is
# left waits in the local journal and goes out with the next start.
TEAM_FLUSH_S = 5.0


def _team_stack(config: TeamConfig, store: SecretStore, journal: Journal) -> TeamStack:
    """Team mode for this command: psycopg is imported only when a [team] table asks for it."""
    from core.team.stack import open_team

    return open_team(config, store, journal)


async def _stop_team(team: TeamStack) -> None:
    unsent = await team.stop(flush_s=TEAM_FLUSH_S)
    if unsent:
        why = team.replicator.status.last_error or "still sending"
        err(f"team: {unsent} journal record(s) are not in the shared journal yet ({why}); "
            "they go out with the next start")


async def wait_for(desk: Desk, predicate: Callable[[], bool], timeout: float) -> bool:
    """Wait until ``predicate`` holds, re-checked on every desk event; False on timeout."""
    wake = asyncio.Event()

    def on_event(_: DeskEvent) -> None:
        wake.set()

    unsubscribe = desk.subscribe(on_event)
    try:
        async with asyncio.timeout(timeout):
            while not predicate():
                wake.clear()
                await wake.wait()
        return True
    except TimeoutError:
        return predicate()
    finally:
        unsubscribe()


# ------------------------------------------------------------------------------- confirming
def refuse_without_tty(ns: argparse.Namespace) -> None:
    """Acting without ``--yes`` needs someone at a terminal to confirm; a script must say yes."""
    if ns.yes or ns.dry_run:
        return
    try:
        tty = sys.stdin is not None and os.isatty(sys.stdin.fileno())
    except (OSError, ValueError):  # closed, or a replaced stream with no descriptor
        tty = False
    if not tty:
        raise Refused(NO_TTY)


async def _read_line() -> str | None:
    """One line typed on standard input, without blocking the event loop (the sessions keep
    their connections alive meanwhile). None at end of input.

    A daemon thread reads the raw descriptor: it may be left blocked if the command is
    interrupted, and a raw ``os.read`` holds no lock that interpreter shutdown would need.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[bytes | None] = loop.create_future()
    fd = sys.stdin.fileno()

    def deliver(data: bytes | None) -> None:
        if not done.done():
            done.set_result(data)

    def reader() -> None:
        buf = b""
        result: bytes | None
        try:
            while not buf.endswith(b"\n"):
                chunk = os.read(fd, 1024)
                if not chunk:
                    break
                buf += chunk
            result = buf if buf else None
        except OSError:
            result = None
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
            loop.call_soon_threadsafe(deliver, result)

    threading.Thread(target=reader, name="closeout-confirm", daemon=True).start()
    data = await done
    return None if data is None else data.decode("utf-8", "replace").strip()


async def ask(prompt: str, word: str | None) -> bool:
    """Ask on the terminal: type ``word`` exactly (case and inner spaces count), or, when
    ``word`` is None, answer y/N."""
    if word is not None:
        sys.stderr.write(f'{prompt}\nType "{word}" to confirm, anything else to cancel: ')
    else:
        sys.stderr.write(f"{prompt} [y/N] ")
    sys.stderr.flush()
    answer = await _read_line()
    if answer is None:
        sys.stderr.write("\n")
        return False
    if word is not None:
        return answer == word
    return answer.lower() in ("y", "yes")


# ------------------------------------------------------------------------------- Ctrl-C
class Interrupt:
    """Ctrl-C during a command. The first press calls the command's handler, when it has set
    one (flatten: stop sending, follow what was sent); otherwise, and on a second press, the
    command's task is cancelled and it says what had already been sent."""

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self._task = task
        self.presses = 0
        self.handler: Callable[[], None] | None = None
        self.said = False  # the command already told the user what had been sent

    def interrupted(self, prog: str) -> None:
        """Called as the cancelled command unwinds: say so, unless it said more already."""
        if not self.said:
            self.said = True
            err(f"{prog}: interrupted; nothing was sent")

    def press(self) -> None:
        self.presses += 1
        if self.presses == 1 and self.handler is not None:
            self.handler()
            return
        self._task.cancel()


def run(command: Callable[[Interrupt], Awaitable[int]]) -> int:
    """Run one command on a fresh event loop; Ctrl-C ends it with exit 130 after it said what
    was already sent (``Interrupt``)."""

    async def main() -> int:
        task = asyncio.current_task()
        assert task is not None
        interrupt = Interrupt(task)
        loop = asyncio.get_running_loop()
        installed = False
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGINT, interrupt.press)  # not on Windows' loop
            installed = True
        try:
            return await command(interrupt)
        finally:
            if installed:
                loop.remove_signal_handler(signal.SIGINT)

    try:
        return asyncio.run(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        return EXIT_INTERRUPTED


JOURNAL_ERRORS = (JournalError, sqlite3.Error)


def fail(prog: str, exc: Exception, as_json: bool) -> int:
    """Report a UsageError, Refused, ConnectFailed or journal failure; returns its exit code.

    A journal that cannot be written stops the command before anything is sent: nothing is
    done without its audit record (exit 6, not done).
    """
    if isinstance(exc, ConnectFailed):
        code = EXIT_CONNECTION_FAILED
    elif isinstance(exc, JOURNAL_ERRORS):
        code = EXIT_NOT_DONE
        exc = UsageError(f"the journal could not be written ({type(exc).__name__}: {exc}); "
                         "nothing was sent")
    else:
        code = EXIT_BAD_ARGUMENTS
    if isinstance(exc, ConnectFailed):
        for reason in exc.reasons:
            err(f"{prog}: {reason}")
        err(f"{prog}: nothing was sent")
    else:
        err(f"{prog}: {exc}")
    if as_json:
        emit_json({"error": str(exc), "exit_code": code})
    return code


def environment_tag(account: AccountConfig) -> str:
    return account.environment.value.upper()


def is_live(account: AccountConfig) -> bool:
    return account.environment is Environment.LIVE
