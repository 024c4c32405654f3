"""History's export of the shared journal: two desks' records, filtered in SQL and paged by
keyset, written oldest first as CSV or JSONL with each record's desk (the columns of
``closeout journal export --team``); the database killed mid-export leaves no file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from core.journal import JournalFilter, JournalRecord
from core.team.export import TEAM_EXPORT_FIELDS
from core.team.history import TeamHistory, TeamUnreachable
from tests.helpers.postgres import TeamDatabase
from tests.helpers.team_records import history, journal, register, store, write

Stored = list[tuple[str, str, JournalRecord]]  # desk id, desk name, record: in stored order


def two_desks(team_db: TeamDatabase, tmp_path: Path) -> Stored:
    register(team_db, ("d1", "Desk 1"), ("d2", "Desk 2"))
    stored: Stored = []
    with journal(tmp_path / "1.db", "maria") as one, journal(tmp_path / "2.db", "li") as two:
        for round_ in range(3):  # batches of each desk in turn, as two replicators would
            batch = write(one, 8, start=round_ * 8)
            store(team_db, "d1", batch)
            stored += [("d1", "Desk 1", r) for r in batch]
            batch = write(two, 5, start=round_ * 5)
            store(team_db, "d2", batch)
            stored += [("d2", "Desk 2", r) for r in batch]
    return stored


def partials(folder: Path) -> list[Path]:
    return list(folder.glob(".*.partial"))


def matching(stored: Stored, where: JournalFilter, desk: str | None) -> Stored:
    return [(d, n, r) for d, n, r in stored if (desk is None or d == desk)
            and (where.account is None or r.account == where.account)
            and (where.symbol is None or r.symbol == where.symbol)
            and (where.kinds is None or r.kind in where.kinds)
            and (where.since is None or r.wall_time >= where.since)
            and (where.until is None or r.wall_time < where.until)]


def check_csv(text: str, want: Stored) -> None:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert tuple(reader.fieldnames or ()) == TEAM_EXPORT_FIELDS
    rows = list(reader)
    assert len(rows) == len(want)
    for row, (desk, name, r) in zip(rows, want, strict=True):
        assert (row["desk_id"], row["desk_name"]) == (desk, name)
        assert int(row["seq"]) == r.seq
        assert float(row["wall_time"]) == r.wall_time
        assert (row["kind"], row["account"], row["venue"], row["symbol"], row["operator"]) == (
            r.kind, r.account, r.venue, r.symbol, r.operator)
        assert row["reason"] == (r.reason or "") and row["intent_id"] == (r.intent_id or "")
        assert row["payload"] == r.payload and json.loads(row["payload"])["i"] >= 0
        assert row["latency_ms"] == ("" if r.latency_ms is None else str(r.latency_ms))
        assert (row["prev_hash"], row["hash"]) == (r.prev_hash, r.hash)


def check_jsonl(text: str, want: Stored) -> None:
    lines = text.splitlines()
    assert len(lines) == len(want)
    for line, (desk, name, r) in zip(lines, want, strict=True):
        got: dict[str, Any] = json.loads(line)
        assert tuple(got) == TEAM_EXPORT_FIELDS
        assert got == {"desk_id": desk, "desk_name": name, "seq": r.seq,
                       "wall_time": r.wall_time, "kind": r.kind, "account": r.account,
                       "venue": r.venue, "symbol": r.symbol, "operator": r.operator,
                       "reason": r.reason, "intent_id": r.intent_id, "payload": r.payload,
                       "latency_ms": r.latency_ms, "prev_hash": r.prev_hash, "hash": r.hash}


@pytest.mark.asyncio
async def test_export_writes_both_desks_filtered_records_oldest_first_in_csv_and_jsonl(
    team_db: TeamDatabase, tmp_path: Path
) -> None:
    stored = two_desks(team_db, tmp_path)
    walls = sorted(r.wall_time for _, _, r in stored)
    middle = walls[len(walls) // 2]
    cases: list[tuple[JournalFilter, str | None]] = [
        (JournalFilter(), None),
        (JournalFilter(account="beta"), None),
        (JournalFilter(symbol="ETH"), "d2"),
        (JournalFilter(kinds=frozenset({"fill", "intent"})), None),
        (JournalFilter(account="alpha", symbol="SOL"), "d1"),
        (JournalFilter(since=middle), None),
        (JournalFilter(until=middle, account="alpha"), None),
    ]
    h = history(team_db)
    try:
        for where, desk in cases:
            want = matching(stored, where, desk)
            assert want, where
            if desk is None:
                assert {d for d, _, _ in want} == {"d1", "d2"}, where
            for size in (4, 1000):  # many pages, and one
                out = io.StringIO(newline="")
                assert await h.export(where, desk, "csv", out, page_size=size) == len(want)
                check_csv(out.getvalue(), want)
                out = io.StringIO(newline="")
                assert await h.export(where, desk, "jsonl", out, page_size=size) == len(want)
                check_jsonl(out.getvalue(), want)
        out = io.StringIO(newline="")  # nothing matches: a CSV with its header alone
        assert await h.export(JournalFilter(account="nobody"), None, "csv", out) == 0
        assert out.getvalue() == ",".join(TEAM_EXPORT_FIELDS) + "\r\n"
    finally:
        await h.close()


@pytest.mark.asyncio
async def test_export_file_is_0600_and_renamed_into_place(
    team_db: TeamDatabase, tmp_path: Path
) -> None:
    stored = two_desks(team_db, tmp_path)
    h = history(team_db)
    target = tmp_path / "team.jsonl"
    try:
        where = JournalFilter(kinds=frozenset({"order_update"}))
        want = matching(stored, where, None)
        assert await h.export_file(where, None, target, "jsonl") == len(want)
    finally:
        await h.close()
    assert target.stat().st_mode & 0o777 == 0o600
    check_jsonl(target.read_text(encoding="utf-8"), want)
    assert not partials(tmp_path)


@pytest.mark.asyncio
async def test_records_stored_during_an_export_are_left_for_the_next(
    team_db: TeamDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The export ends at the newest record stored when it began, so a busy desk cannot keep
    it running; the next export has them."""
    stored = two_desks(team_db, tmp_path)
    h = history(team_db)
    real = h.page
    pages = 0

    async def page(*args: Any, **kwargs: Any) -> Any:
        nonlocal pages
        pages += 1
        if pages == 2:
            with journal(tmp_path / "1.db", "maria") as one:
                store(team_db, "d1", write(one, 3, start=100))
        return await real(*args, **kwargs)

    try:
        monkeypatch.setattr(h, "page", page)
        out = io.StringIO(newline="")
        assert await h.export(JournalFilter(), None, "jsonl", out, page_size=5) == len(stored)
        check_jsonl(out.getvalue(), stored)
        assert pages > 2
        out = io.StringIO(newline="")
        assert await h.export(JournalFilter(), None, "jsonl", out) == len(stored) + 3
    finally:
        await h.close()


@pytest.mark.asyncio
async def test_the_database_killed_mid_export_raises_and_leaves_no_file(
    team_db: TeamDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = two_desks(team_db, tmp_path)
    h: TeamHistory = history(team_db)
    real = h.page
    target = tmp_path / "team.csv"
    partial = tmp_path / ".team.csv.partial"
    seen: list[bool] = []

    async def page(*args: Any, **kwargs: Any) -> Any:
        if len(seen) == 2:  # two pages written: the database goes away
            assert partial.exists()
            team_db.cluster.kill()
        seen.append(True)
        return await real(*args, **kwargs)

    try:
        monkeypatch.setattr(h, "page", page)
        try:
            with pytest.raises(TeamUnreachable):
                await h.export_file(JournalFilter(), None, target, "csv", page_size=5)
        finally:
            team_db.cluster.restart()
        assert len(seen) == 3
        assert not target.exists() and not partial.exists()
        monkeypatch.setattr(h, "page", real)
        assert await h.export_file(JournalFilter(), None, target, "csv") == len(stored)
        check_csv(target.read_text(encoding="utf-8"), stored)
    finally:
        await h.close()
