"""``closeout journal verify|export --team``: the shared journal of team mode (PostgreSQL).

``verify --team`` walks every desk's hash chain in the shared journal and holds this desk's
copy against the local journal (the shared copy may lag, never differ). ``export --team``
writes every desk's records, oldest first per desk, with the desk's id and name on each.
The database's address comes from settings.toml's ``[team]``; its password from the keyring.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from core.journal import Journal
from core.team.export import TeamExportWriter

__all__ = ["export_team", "verify_team_journal"]

PROG = "closeout journal"
_PAGE = 5000


def _connect() -> Any:
    """A connection to the team database, or None (the reason printed)."""
    import psycopg

    from core.secrets import SecretStore
    from core.settings import SettingsError, load_settings
    from core.team.config import keyring_user, with_password

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"{PROG}: the settings cannot be used: {exc}", file=sys.stderr)
        return None
    if settings.team is None:
        print(f"{PROG}: --team needs a [team] table in settings.toml", file=sys.stderr)
        return None
    password = SecretStore().get_user(keyring_user(settings.team))
    try:
        return psycopg.connect(with_password(settings.team, password), connect_timeout=10)
    except psycopg.Error as exc:
        lines = str(exc).strip().splitlines()
        print(f"{PROG}: cannot reach the team database: {lines[0] if lines else exc}",
              file=sys.stderr)
        return None


def verify_team_journal(local: Journal | None) -> int:
    """0 every chain intact (and this desk's copy matches), 1 broken, 2 unreachable."""
    from core.team.stack import desk_id
    from core.team.store import compare_with_local, verify_team

    db = _connect()
    if db is None:
        return 2
    with db:
        reports = verify_team(db)
        names = dict(db.execute("SELECT desk_id, name FROM desks").fetchall())
        broken = 0
        for desk, report in sorted(reports.items()):
            name = names.get(desk, desk)
            if report.ok:
                print(f"ok: {name} ({desk}): {report.records} records, chain intact")
            else:
                broken += 1
                print(f"broken: {name} ({desk}) at record {report.broken_at}: {report.why}")
        if local is not None:
            mine = desk_id()
            problem = compare_with_local(db, mine, local.iter_all())
            if problem is None:
                print(f"ok: this desk ({mine}): the shared copy matches the local journal")
            else:
                broken += 1
                print(f"differs: this desk ({mine}): {problem}")
    return 1 if broken else 0


def _where(ns: argparse.Namespace) -> tuple[str, list[Any]]:
    """The export's filters (the same options as the local journal's) as SQL."""
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (("r.account", ns.account), ("r.symbol", ns.symbol)):
        if value is not None:
            clauses.append(f"{column} = %s")
            params.append(value)
    if ns.kind:
        clauses.append("r.kind = ANY(%s)")
        params.append(sorted(set(ns.kind)))
    if ns.since is not None:
        clauses.append("r.wall_time >= %s")
        params.append(ns.since)
    if ns.until is not None:
        clauses.append("r.wall_time < %s")
        params.append(ns.until)
    return "".join(f" AND {c}" for c in clauses), params


def _rows(db: Any, ns: argparse.Namespace) -> Iterator[tuple[Any, ...]]:
    last: tuple[str, int] = ("", 0)
    where, params = _where(ns)
    while True:
        rows = db.execute(
            "SELECT r.desk_id, coalesce(d.name, r.desk_id), r.desk_seq, r.wall_time, r.kind, "
            "r.account, r.venue, r.symbol, r.operator, r.reason, r.intent_id, r.payload, "
            "r.latency_ms, r.prev_hash, r.hash FROM records r LEFT JOIN desks d "
            f"ON d.desk_id = r.desk_id WHERE (r.desk_id, r.desk_seq) > (%s, %s){where} "
            "ORDER BY r.desk_id, r.desk_seq LIMIT %s", (*last, *params, _PAGE)).fetchall()
        yield from rows
        if len(rows) < _PAGE:
            return
        last = (rows[-1][0], rows[-1][2])


def export_team(ns: argparse.Namespace, out: TextIO) -> int:
    db = _connect()
    if db is None:
        return 2
    with db:
        n = TeamExportWriter(ns.format, out).write(_rows(db, ns))
    print(f"exported {n} records of the shared journal", file=sys.stderr)
    return 0
