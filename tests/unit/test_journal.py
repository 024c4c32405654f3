from __future__ import annotations

import sqlite3
import stat
from decimal import Decimal
from pathlib import Path

import pytest

from core.journal import Journal


def test_records_chain_and_verify(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3", operator="op")
    for i in range(5):
        j.append("order_update", {"n": i, "px": Decimal("1.10")}, account="a", symbol="S")
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
    assert j2.append("b", {}) == 2
    assert j2.verify() is None
    j2.close()


def test_append_only_is_enforced(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    Journal(path).append("a", {"x": 1})
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
