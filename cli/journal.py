"""``closeout journal verify|export``: check and export the audit journal, headless.

The journal is opened read-only, so both commands can run while the app is writing to it.
Exit status: 0 done, 1 the chain is broken (verify), 2 bad arguments or no readable journal.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sqlite3
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal, TextIO

from core.journal import Journal, JournalError, JournalFilter, default_journal_path

__all__ = ["build_parser", "main", "parse_time"]

PROG = "closeout journal"
_EPOCH = re.compile(r"\d+(\.\d+)?")
# Epoch seconds outside this range are almost surely a typo: a compact date (20261121) or
# milliseconds. The journal cannot hold records from before 2001 or after 5138.
_EPOCH_MIN, _EPOCH_MAX = 1e9, 1e11

_TIME_HELP = (
    "ISO 8601 (2026-11-21, 2026-11-21T09:00, 2026-11-21T09:00:00Z, ...+02:00; without an "
    "offset it is local time) or epoch seconds"
)


def parse_time(text: str) -> float:
    """A ``--since``/``--until`` value as epoch seconds."""
    text = text.strip()
    if _EPOCH.fullmatch(text):
        value = float(text)
        if not _EPOCH_MIN <= value < _EPOCH_MAX:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a plausible time in epoch seconds; for a date write "
                "2026-11-21, for epoch seconds use 10 digits (milliseconds are not accepted)"
            )
        return value
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time: use {_TIME_HELP}") from None
    return moment.timestamp()  # a naive datetime is taken as local time


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Check or export the audit journal.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{verify,export}")

    verify = sub.add_parser(
        "verify", help="check the hash chain",
        description="Walk the hash chain and report the first broken link, if any. Exit 0 "
        "when intact, 1 when broken, 2 when there is no readable journal. Records cut off "
        "the end of the file cannot be detected by the chain.",
    )
    _add_location(verify)

    export = sub.add_parser(
        "export", help="export records as CSV or JSON Lines",
        description="Write the matching records, oldest first, with every column. Times "
        f"(--since inclusive, --until exclusive) are {_TIME_HELP}.",
    )
    export.add_argument("--format", required=True, choices=("csv", "jsonl"),
                        help="csv (payload as its JSON text) or jsonl (one object per line)")
    export.add_argument("--since", type=parse_time, metavar="TIME",
                        help="only records at or after TIME")
    export.add_argument("--until", type=parse_time, metavar="TIME",
                        help="only records before TIME")
    export.add_argument("--account", metavar="NAME", help="only this account")
    export.add_argument("--symbol", metavar="S", help="only this symbol")
    export.add_argument("--kind", metavar="K", nargs="+", action="extend",
                        help="only these kinds (intent, request, order_update, fill, ...)")
    export.add_argument("--output", "-o", type=Path, metavar="FILE",
                        help="write here (created 0600) instead of standard output")
    _add_location(export)
    return parser


def _add_location(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--team", action="store_true",
                        help="the shared journal of team mode (settings.toml's [team]): every "
                        "desk's records, with the desk on each")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--path", type=Path, metavar="P",
                       help=f"the journal file (default: {default_journal_path(False)})")
    where.add_argument("--demo", action="store_true",
                       help=f"the demo-mode journal ({default_journal_path(True)})")


def _open(ns: argparse.Namespace) -> Journal | None:
    path: Path = ns.path if ns.path is not None else default_journal_path(ns.demo)
    try:
        return Journal(path, read_only=True)
    except FileNotFoundError:
        hint = "" if ns.path is not None else " (the app creates it on first start; " \
            "--demo selects the demo journal, --path another file)"
        print(f"{PROG}: no journal at {path}{hint}", file=sys.stderr)
    except (JournalError, sqlite3.Error, OSError) as exc:
        print(f"{PROG}: cannot read {path}: {exc}", file=sys.stderr)
    return None


def _verify(journal: Journal) -> int:
    report = journal.verify_chain()
    if report.ok:
        print(f"ok: {report.records} records, chain intact")
        return 0
    print(f"broken at record {report.broken_at}: {report.why}")
    return 1


def _export(journal: Journal, ns: argparse.Namespace) -> int:
    where = JournalFilter(
        account=ns.account,
        symbol=ns.symbol,
        kinds=frozenset(ns.kind) if ns.kind else None,
        since=ns.since,
        until=ns.until,
    )
    fmt: Literal["csv", "jsonl"] = ns.format
    if ns.kind:
        known = set(journal.distinct("kind"))
        for kind in sorted(set(ns.kind) - known):
            print(f"{PROG}: note: no record of kind {kind!r} in this journal "
                  f"(kinds present: {', '.join(sorted(known)) or 'none'})", file=sys.stderr)
    if ns.output is None:
        if isinstance(sys.stdout, io.TextIOWrapper):  # csv writes its own \r\n
            with contextlib.suppress(ValueError, OSError):
                sys.stdout.reconfigure(newline="")
        try:
            n = journal.export(where, fmt, sys.stdout)
            sys.stdout.flush()
        except BrokenPipeError:  # `... | head`: the reader has what it wanted
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        print(f"exported {n} records", file=sys.stderr)
        return 0
    try:
        n = _export_to_file(journal, where, fmt, ns.output)
    except OSError as exc:
        print(f"{PROG}: cannot write {ns.output}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"exported {n} records to {ns.output}", file=sys.stderr)
    return 0


def _team(ns: argparse.Namespace) -> int:
    from cli.journal_team import export_team, verify_team_journal

    if ns.command == "export":
        if ns.output is not None:
            with open(os.open(ns.output, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600), "w",
                      encoding="utf-8", newline="") as out:
                return export_team(ns, out)
        return export_team(ns, sys.stdout)
    path: Path = ns.path if ns.path is not None else default_journal_path(ns.demo)
    local = None
    with contextlib.suppress(FileNotFoundError, JournalError, sqlite3.Error, OSError):
        local = Journal(path, read_only=True)
    try:
        return verify_team_journal(local)
    finally:
        if local is not None:
            local.close()


def _export_to_file(
    journal: Journal, where: JournalFilter, fmt: Literal["csv", "jsonl"], path: Path
) -> int:
    """Written beside the final name and renamed into place: an interrupted export never
    leaves half a file under the name asked for. 0600, as it holds the journal's contents."""
    tmp = path.with_name(f".{path.name}.partial")
    try:
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        out: TextIO
        with open(fd, "w", encoding="utf-8", newline="") as out:
            n = journal.export(where, fmt, out)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return n


def main(argv: Sequence[str]) -> int:
    parser = build_parser()
    try:
        ns = parser.parse_args(list(argv))
        if (ns.command == "export" and ns.since is not None and ns.until is not None
                and ns.since >= ns.until):
            parser.error("--since must be before --until")
    except SystemExit as exc:  # --help, or a usage error argparse has already printed
        return exc.code if isinstance(exc.code, int) else 2
    if ns.team:
        return _team(ns)
    journal = _open(ns)
    if journal is None:
        return 2
    try:
        return _verify(journal) if ns.command == "verify" else _export(journal, ns)
    finally:
        journal.close()
