from __future__ import annotations

import csv
import io
import itertools
import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import platformdirs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import core.journal
import core.journal.chain
import core.journal.identity
import core.journal.journal
from core.journal import (
    EXPORT_COLUMNS,
    GENESIS,
    Journal,
    JournalEntry,
    JournalError,
    JournalFilter,
    JournalRecord,
    compose_operator,
    default_journal_path,
)


def test_records_chain_and_verify(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3", operator="op")
    for i in range(5):
        j.append("order_update", {"n": i, "px": Decimal("1.10")}, account="a", symbol="S")
    j.flush()
    recs = j.records()
    assert [r.seq for r in recs] == [1, 2, 3, 4, 5]
    assert recs[1].prev_hash == recs[0].hash
    assert '"px":"1.10"' in recs[0].payload  # Decimal kept exactly
    assert j.verify() is None
    j.close()
    assert stat.S_IMODE((tmp_path / "j.sqlite3").stat().st_mode) == 0o600


def test_reopen_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    j = Journal(path)
    j.append("a", {})
    j.close()
    j2 = Journal(path)
    assert j2.append_durable("b", {}) == 2
    assert j2.verify() is None
    j2.close()


def test_append_only_is_enforced(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    j = Journal(path)
    j.append("a", {"x": 1})
    j.close()
    db = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE records SET payload='{}'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM records")


def test_tampering_is_found_at_the_first_broken_link(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    j = Journal(path)
    for i in range(4):
        j.append("x", {"i": i})
    j.close()
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER records_no_update")
    db.execute("UPDATE records SET payload='{\"i\":99}' WHERE seq=3")
    db.commit()
    db.close()
    assert Journal(path).verify() == 3


def test_query_pages_by_keyset_with_filters(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3")
    for i in range(10):
        j.append("fill" if i % 2 else "intent", {"i": i}, account=f"a{i % 3}", symbol="S")
    j.flush()
    page1 = j.query(JournalFilter(kinds=frozenset({"fill"})), limit=3)
    assert [r.seq for r in page1] == [10, 8, 6]
    page2 = j.query(JournalFilter(kinds=frozenset({"fill"})), before_seq=page1[-1].seq, limit=3)
    assert [r.seq for r in page2] == [4, 2]
    assert j.count(JournalFilter(account="a0")) == 4
    assert j.distinct("account") == ["a0", "a1", "a2"]
    assert j.query(JournalFilter(kinds=frozenset())) == []
    oldest = j.query(newest_first=False, limit=2)
    assert [r.seq for r in oldest] == [1, 2]


# ---------------------------------------------------------------------- operator


def test_operator_is_the_os_user_plus_the_name_from_settings(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3", operator="alice", operator_name="  Desk\n 3 ")
    j.append("intent", {})
    j.flush()
    assert (j.os_user, j.operator_name, j.operator) == ("alice", "Desk 3", "alice (Desk 3)")
    assert j.records()[0].operator == "alice (Desk 3)"
    assert compose_operator("bob") == "bob"
    assert compose_operator("bob", " \t") == "bob"


def test_operator_defaults_to_the_login_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(core.journal.identity.getpass, "getuser", lambda: "carol")
    j = Journal(tmp_path / "j.sqlite3", operator_name="Support")
    j.append("intent", {})
    j.flush()
    assert j.records()[0].operator == "carol (Support)"


# ---------------------------------------------------------------------- files


def test_wal_and_shm_are_private_even_if_left_behind_loose(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    for suffix in ("-wal", "-shm"):  # stale, world-readable sidecars from some earlier run
        side = tmp_path / f"j.sqlite3{suffix}"
        side.touch()
        os.chmod(side, 0o644)
    j = Journal(path)
    j.append("intent", {"x": 1})
    j.flush()
    for suffix in ("", "-wal", "-shm"):
        side = tmp_path / f"j.sqlite3{suffix}"
        assert side.exists(), suffix
        assert stat.S_IMODE(side.stat().st_mode) == 0o600, suffix
    assert j.verify() is None


def test_open_default_uses_the_user_data_directory() -> None:
    base = Path(platformdirs.user_data_path("closeout"))
    assert default_journal_path(True) == base / "demo-journal.sqlite3"
    assert default_journal_path(False) == base / "journal.sqlite3"
    j = Journal.open_default(True, operator="dave", operator_name="Desk 9")
    try:
        assert j.path == base / "demo-journal.sqlite3"
        seq = j.append_durable("connection", {"state": "CONNECTED"})
        assert j.records(after=seq - 1)[0].operator == "dave (Desk 9)"
        assert stat.S_IMODE(j.path.stat().st_mode) == 0o600
    finally:
        j.close()


def test_read_only_opens_nothing_new_and_refuses_to_write(tmp_path: Path) -> None:
    missing = tmp_path / "missing.sqlite3"
    with pytest.raises(FileNotFoundError):
        Journal(missing, read_only=True)
    assert not missing.exists()

    not_db = tmp_path / "notes.txt"
    not_db.write_text("hello, this is not a database at all " * 100)
    with pytest.raises(JournalError, match="not a journal"):
        Journal(not_db, read_only=True)

    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE t(x)").connection.close()
    with pytest.raises(JournalError, match="no records table"):
        Journal(other, read_only=True)

    path = tmp_path / "j.sqlite3"
    writer = Journal(path)
    writer.append("a", {})
    reader = Journal(path, read_only=True)
    with pytest.raises(JournalError, match="read-only"):
        reader.append("b", {})
    writer.append("b", {})  # a reader never blocks the app
    writer.flush()
    assert reader.last_seq() == 2
    assert [r.kind for r in reader.iter_all()] == ["a", "b"]
    assert reader.verify() is None


# ---------------------------------------------------------------------- bulk writes


def test_append_many_chains_like_append_across_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(core.journal.journal, "_BULK_CHUNK", 3)
    path = tmp_path / "j.sqlite3"
    j = Journal(path, operator="op")
    j.append("first", {"i": 0})
    last = j.append_many(JournalEntry("bulk", {"i": i}, account="a", symbol="S",
                                      intent_id=f"in-{i}", latency_ms=1.5) for i in range(1, 8))
    assert last == 8
    assert j.append_durable("after", {}) == 9
    recs = j.records()
    assert [r.seq for r in recs] == list(range(1, 10))
    assert [json.loads(r.payload).get("i") for r in recs[:8]] == list(range(8))
    assert all(r.prev_hash == p.hash for p, r in itertools.pairwise(recs))
    assert Journal(path, read_only=True).verify() is None
    assert j.append_many([]) == 9


def test_append_many_failure_keeps_the_chain_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(core.journal.journal, "_BULK_CHUNK", 3)
    j = Journal(tmp_path / "j.sqlite3")

    def entries() -> Iterator[JournalEntry]:
        for i in range(5):
            yield JournalEntry("bulk", {"i": i})
        yield JournalEntry("bad", {"x": object()})  # not JSON-serialisable

    with pytest.raises(TypeError):
        j.append_many(entries())
    # The first chunk (1-3) was committed; 4-5 shared a chunk with the bad one and were not.
    assert [r.seq for r in j.records()] == [1, 2, 3]
    assert j.append_durable("next", {}) == 4
    assert j.verify() is None


def test_two_writers_on_one_file_extend_one_chain(tmp_path: Path) -> None:
    """Closeout launched twice writes the same journal: neither fails nor forks the chain."""
    path = tmp_path / "j.sqlite3"
    first, second = Journal(path, operator="one"), Journal(path, operator="two")
    seqs = []
    for i in range(3):
        seqs.append(first.append_durable("a", {"i": i}))
        seqs.append(second.append_durable("b", {"i": i}))
    seqs.append(first.append_many([JournalEntry("c", {}), JournalEntry("c", {})]))
    assert seqs == [1, 2, 3, 4, 5, 6, 8]
    assert [r.operator for r in first.records()] == ["one", "two"] * 3 + ["one"] * 2
    assert first.verify() is None


def test_clock_sets_the_wall_time(tmp_path: Path) -> None:
    times = iter([100.0, 50.0])
    j = Journal(tmp_path / "j.sqlite3", clock=lambda: next(times))
    j.append("a", {})
    j.append("b", {})
    j.flush()
    assert [r.wall_time for r in j.records()] == [100.0, 50.0]
    assert j.verify() is None  # a clock stepping back is not a broken chain


# ---------------------------------------------------------------------- verify: why


def _tampered(tmp_path: Path, n: int, *sql: str) -> Journal:
    path = tmp_path / "j.sqlite3"
    j = Journal(path)
    for i in range(n):
        j.append("x", {"i": i}, account="a")
    j.close()
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER records_no_update")
    db.execute("DROP TRIGGER records_no_delete")
    for statement in sql:
        db.execute(statement)
    db.commit()
    db.close()
    return Journal(path, read_only=True)


def test_verify_reports_an_edited_record_as_a_hash_mismatch(tmp_path: Path) -> None:
    report = _tampered(tmp_path, 5, "UPDATE records SET account='b' WHERE seq=3").verify_chain()
    assert (report.ok, report.broken_at, report.records) == (False, 3, 2)
    assert report.why is not None and report.why.startswith("hash mismatch")


def test_verify_reports_a_rehashed_record_at_the_next_link(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    j = Journal(path)
    for i in range(5):
        j.append("x", {"i": i})
    j.flush()
    r3 = j.records()[2]
    j.close()
    forged = JournalRecord(**{**{f: getattr(r3, f) for f in JournalRecord.__slots__},
                              "payload": '{"i":99}'})
    new_hash = core.journal.chain.digest(r3.prev_hash, core.journal.chain.hashed_fields(forged))
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER records_no_update")
    db.execute("UPDATE records SET payload=?, hash=? WHERE seq=3", (forged.payload, new_hash))
    db.commit()
    db.close()
    report = Journal(path, read_only=True).verify_chain()
    assert (report.broken_at, report.records) == (4, 3)
    assert report.why is not None and report.why.startswith("prev link mismatch")
    assert "record 3" in report.why


def test_verify_reports_deleted_records_as_a_sequence_gap(tmp_path: Path) -> None:
    one = _tampered(tmp_path / "a", 5, "DELETE FROM records WHERE seq=3").verify_chain()
    assert (one.broken_at, one.records, one.why) == (4, 2, "sequence gap: record 3 is missing")
    two = _tampered(tmp_path / "b", 6, "DELETE FROM records WHERE seq IN (2, 3, 4)")
    report = two.verify_chain()
    assert (report.broken_at, report.why) == (5, "sequence gap: records 2 to 4 are missing")
    first = _tampered(tmp_path / "c", 3, "DELETE FROM records WHERE seq=1").verify_chain()
    assert (first.broken_at, first.why) == (2, "sequence gap: record 1 is missing")


def test_verify_reports_a_changed_prev_hash_and_an_intact_count(tmp_path: Path) -> None:
    bad = _tampered(tmp_path / "a", 3, f"UPDATE records SET prev_hash='{'f' * 64}' WHERE seq=1")
    report = bad.verify_chain()
    assert report.broken_at == 1
    assert report.why is not None and "genesis" in report.why
    good = _tampered(tmp_path / "b", 7).verify_chain()
    assert (good.ok, good.records, good.why) == (True, 7, None)
    assert _tampered(tmp_path / "c", 0).verify_chain().records == 0
    assert GENESIS == "0" * 64


def test_verify_reports_a_column_of_the_wrong_type(tmp_path: Path) -> None:
    j = _tampered(tmp_path, 3, "UPDATE records SET payload=X'00ff' WHERE seq=2")
    report = j.verify_chain()
    assert report.broken_at == 2
    assert report.why is not None and report.why.startswith("hash mismatch")


# ---------------------------------------------------------------------- export


def _sample(tmp_path: Path) -> Journal:
    times = itertools.count(1_780_000_000, 60)
    j = Journal(tmp_path / "j.sqlite3", operator="op", operator_name="Desk 1",
                clock=lambda: float(next(times)))
    j.append("intent", {"qty": Decimal("1.50"), "note": "é, \"quoted\"\nline"}, account="acc-1",
             venue="QFEX", symbol="AAPL-USD", reason="ticket 42", intent_id="in-1")
    j.append("request", "POST /auth/close pair=USD_ETH_PERP&signature=<redacted>",
             account="acc-2", venue="EVERSTRIKE", symbol="USD_ETH_PERP", intent_id="in-2")
    j.append("order_update", {"status": "ACK"}, account="acc-1", venue="QFEX",
             symbol="AAPL-USD", intent_id="in-1", latency_ms=3.25)
    j.append("request", '{\n  "type": "add_order"\n}', account="acc-1")  # multi-line JSON text
    j.append("connection", ["a", 1], account="acc-1")
    j.flush()
    return j


def test_export_csv_has_every_column_and_the_exact_payload(tmp_path: Path) -> None:
    j = _sample(tmp_path)
    out = io.StringIO()
    assert j.export(JournalFilter(), "csv", out) == 5
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    recs = j.records()
    for row, rec in zip(rows, recs, strict=True):
        for column in EXPORT_COLUMNS:
            if column == "time_utc":
                continue
            value = getattr(rec, column)
            assert row[column] == ("" if value is None else str(value)), column
    assert rows[0]["time_utc"] == "2026-05-28T20:26:40.000000Z"
    assert rows[0]["operator"] == "op (Desk 1)"
    assert rows[2]["latency_ms"] == "3.25"
    assert json.loads(rows[0]["payload"]) == {"qty": "1.50", "note": "é, \"quoted\"\nline"}


def test_export_jsonl_nests_json_payloads_verbatim_and_keeps_others_as_text(
    tmp_path: Path,
) -> None:
    j = _sample(tmp_path)
    out = io.StringIO()
    assert j.export(JournalFilter(), "jsonl", out) == 5
    lines = out.getvalue().splitlines()
    assert len(lines) == 5
    recs = j.records()
    objs = [json.loads(line) for line in lines]
    for obj, rec in zip(objs, recs, strict=True):
        assert list(obj) == list(EXPORT_COLUMNS)
        assert (obj["seq"], obj["kind"], obj["account"], obj["hash"], obj["prev_hash"]) == (
            rec.seq, rec.kind, rec.account, rec.hash, rec.prev_hash)
        assert obj["wall_time"] == rec.wall_time
        assert obj["latency_ms"] == rec.latency_ms
    assert f'"payload":{recs[0].payload},' in lines[0]  # byte for byte
    assert objs[0]["payload"] == {"qty": "1.50", "note": "é, \"quoted\"\nline"}
    assert objs[1]["payload"] == recs[1].payload  # form text stays a string
    assert objs[3]["payload"] == recs[3].payload  # multi-line JSON text too
    assert objs[4]["payload"] == ["a", 1]
    assert objs[1]["reason"] is None


def test_export_filters_and_orders_oldest_first(tmp_path: Path) -> None:
    j = _sample(tmp_path)
    out = io.StringIO()
    where = JournalFilter(account="acc-1", kinds=frozenset({"intent", "order_update"}))
    assert j.export(where, "jsonl", out) == 2
    assert [json.loads(x)["seq"] for x in out.getvalue().splitlines()] == [1, 3]
    empty = io.StringIO()
    assert j.export(JournalFilter(account="nobody"), "csv", empty) == 0
    assert empty.getvalue().splitlines() == [",".join(EXPORT_COLUMNS)]
    with pytest.raises(ValueError, match="unknown export format"):
        j.export(JournalFilter(), "xml", io.StringIO())  # type: ignore[arg-type]


class CountingJournal(Journal):
    """Records every page the export asks for."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.pages: list[dict[str, Any]] = []

    def query(self, *args: Any, **kw: Any) -> list[JournalRecord]:
        page = super().query(*args, **kw)
        self.pages.append({**kw, "rows": len(page)})
        return page


def test_export_streams_in_keyset_pages(tmp_path: Path) -> None:
    j = CountingJournal(tmp_path / "j.sqlite3")
    for i in range(7):
        j.append("fill", {"i": i})
    j.flush()
    out = io.StringIO()
    assert j.export(JournalFilter(), "jsonl", out, page=3) == 7
    assert [p["rows"] for p in j.pages] == [3, 3, 1, 0]
    assert [p["after_seq"] for p in j.pages] == [0, 3, 6, 7]
    assert all(p["limit"] == 3 and p["before_seq"] == 8 for p in j.pages)


def test_export_is_a_snapshot_of_the_journal_when_it_starts(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3")
    for i in range(4):
        j.append("fill", {"i": i})
    j.flush()

    class Appending(io.StringIO):
        """A slow reader while the app keeps writing: a record lands with every line."""

        def write(self, s: str) -> int:
            j.append("fill", {"late": True})
            return super().write(s)

    out = Appending()
    assert j.export(JournalFilter(), "jsonl", out, page=2) == 4
    j.flush()
    assert j.last_seq() == 8


# ---------------------------------------------------------------------- paging plans


def _plan_journal(tmp_path: Path) -> Journal:
    times = itertools.count(1_780_000_000, 10)
    j = Journal(tmp_path / "j.sqlite3", clock=lambda: float(next(times)))
    kinds = ["order_update", "fill", "intent", "request"]
    j.append_many(JournalEntry(kinds[i % 4], {"i": i}, account=f"a{i % 5}", symbol=f"S{i % 7}")
                  for i in range(300))
    return j


@pytest.mark.parametrize(
    ("where", "kw"),
    [
        (JournalFilter(), {}),
        (JournalFilter(), {"before_seq": 50}),
        (JournalFilter(), {"after_seq": 50, "newest_first": False}),
        (JournalFilter(account="a1"), {"before_seq": 100}),
        (JournalFilter(account="a1", kinds=frozenset({"fill"})), {"before_seq": 100}),
        (JournalFilter(symbol="S3"), {}),
        (JournalFilter(account="a1", symbol="S3"), {}),
        (JournalFilter(kinds=frozenset({"intent"})), {"after_seq": 10, "newest_first": False}),
        (JournalFilter(since=1_780_000_500.0, until=1_780_001_000.0), {}),
        (JournalFilter(account="a2", since=1_780_000_500.0), {"before_seq": 200}),
    ],
)
def test_paging_is_keyset_on_an_index_never_offset_or_a_sort(
    tmp_path: Path, where: JournalFilter, kw: dict[str, Any]
) -> None:
    j = _plan_journal(tmp_path)
    sql, plan = j.explain_query(where, **kw)
    assert "OFFSET" not in sql.upper()
    assert "ORDER BY seq" in sql and sql.endswith("LIMIT ?")
    assert not any("TEMP B-TREE" in step for step in plan), plan
    assert "records_time" not in " ".join(plan)  # a time range pages by seq, not by time
    if where == JournalFilter() and not kw:
        assert plan == ["SCAN records"]  # rowid order, stopped by LIMIT
    else:
        assert len(plan) == 1 and plan[0].startswith("SEARCH records USING "), plan
        assert "INTEGER PRIMARY KEY" in plan[0] or "INDEX records_" in plan[0]
    if "before_seq" in kw or "after_seq" in kw:
        assert "rowid" in plan[0]


def test_several_kinds_merge_only_one_page_per_kind(tmp_path: Path) -> None:
    """kind IN (...) reads each kind from its index in seq order; SQLite's sorter then merges
    at most LIMIT rows per kind, never the whole table."""
    j = _plan_journal(tmp_path)
    _, plan = j.explain_query(JournalFilter(kinds=frozenset({"fill", "intent"})), before_seq=99)
    assert plan[0] == "SEARCH records USING INDEX records_kind (kind=? AND rowid<?)"
    page = j.query(JournalFilter(kinds=frozenset({"fill", "intent"})), before_seq=99, limit=4)
    assert [r.seq for r in page] == [98, 95, 94, 91]


def test_distinct_skips_through_the_index(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3")
    for account, venue, symbol in [("b", "QFEX", None), ("a", "QFEX", "X"), (None, None, "Y"),
                                   ("b", "EVERSTRIKE", "X")]:
        j.append("k2" if symbol else "k1", {}, account=account, venue=venue, symbol=symbol)
    j.flush()
    assert j.distinct("account") == ["a", "b"]
    assert j.distinct("symbol") == ["X", "Y"]
    assert j.distinct("kind") == ["k1", "k2"]
    assert j.distinct("venue") == ["EVERSTRIKE", "QFEX"]
    with pytest.raises(ValueError, match="not a filterable column"):
        j.distinct("payload")


# ---------------------------------------------------------------------- time ranges


def _brute(records: list[JournalRecord], where: JournalFilter) -> list[int]:
    return [
        r.seq for r in records
        if (where.account is None or r.account == where.account)
        and (where.kinds is None or r.kind in where.kinds)
        and (where.since is None or r.wall_time >= where.since)
        and (where.until is None or r.wall_time < where.until)
    ]


def test_time_range_is_exact_when_the_clock_steps_back(tmp_path: Path) -> None:
    times = iter([100.0, 200.0, 150.0, 300.0, 120.0, 160.0])
    j = Journal(tmp_path / "j.sqlite3", clock=lambda: next(times))
    for _ in range(4):
        j.append("x", {})
    j.flush()
    where = JournalFilter(since=140.0, until=250.0)
    assert [r.seq for r in j.query(where)] == [3, 2]
    assert j.count(where) == 2
    # Appended after the range's bounds were worked out: one outside it, one inside.
    j.append("x", {})
    j.append("x", {})
    j.flush()
    assert [r.seq for r in j.query(where)] == [6, 3, 2]
    assert [r.seq for r in j.query(where, before_seq=6, limit=1)] == [3]
    assert j.count(where) == 3
    empty = JournalFilter(since=400.0)
    assert j.query(empty) == [] and j.count(empty) == 0


@settings(max_examples=60, deadline=None)
@given(
    times=st.lists(st.integers(0, 40), min_size=0, max_size=30),
    later=st.lists(st.integers(0, 40), max_size=10),
    since=st.none() | st.integers(0, 40),
    until=st.none() | st.integers(0, 41),
    account=st.none() | st.sampled_from(["a0", "a1"]),
    kinds=st.none() | st.frozensets(st.sampled_from(["k0", "k1", "k2"])),
    limit=st.integers(1, 7),
)
def test_filtered_paging_matches_a_plain_filter(
    times: list[int], later: list[int], since: int | None, until: int | None,
    account: str | None, kinds: frozenset[str] | None, limit: int,
) -> None:
    clock = iter([float(t) for t in times + later])
    j = Journal(":memory:", clock=lambda: next(clock))
    try:
        for i in range(len(times)):
            j.append(f"k{i % 3}", {}, account=f"a{i % 2}")
        j.flush()
        where = JournalFilter(account=account, kinds=kinds,
                              since=None if since is None else float(since),
                              until=None if until is None else float(until))
        for _round in range(2):  # before and after more records (the range's bounds change)
            expected = _brute(j.records(limit=1000), where)
            got: list[int] = []
            before: int | None = None
            while page := j.query(where, before_seq=before, limit=limit):
                got.extend(r.seq for r in page)
                before = page[-1].seq
            assert got == expected[::-1]
            assert j.count(where) == len(expected)
            forward = [r.seq for r in j.query(where, after_seq=0, limit=1000, newest_first=False)]
            assert forward == expected
            for i in range(len(later) if _round == 0 else 0):
                j.append(f"k{i % 3}", {}, account=f"a{(i + 1) % 2}")
            j.flush()
    finally:
        j.close()
