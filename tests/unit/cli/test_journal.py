"""``closeout journal verify|export``: exit codes, messages, filters, and no Qt."""

from __future__ import annotations

import argparse
import calendar
import csv
import io
import itertools
import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

import cli.main
from cli.journal import main, parse_time
from core.journal import EXPORT_COLUMNS, Journal

REPO = Path(__file__).resolve().parents[3]
DAY = 1_780_012_800.0  # 2026-05-29T00:00:00Z
QT = ("PySide6", "shiboken6", "qasync")


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    """Six records an hour apart from 2026-05-29T00:00Z, over two accounts."""
    path = tmp_path / "journal.sqlite3"
    hours = itertools.count()
    j = Journal(path, operator="alice", operator_name="Desk 3",
                clock=lambda: DAY + 3600 * next(hours))
    for i, kind in enumerate(["intent", "request", "order_update", "fill", "intent", "request"]):
        j.append(kind, {"i": i}, account="acc-1" if i < 4 else "acc-2", venue="QFEX",
                 symbol="AAPL-USD" if i % 2 else "TSLA-USD", intent_id=f"in-{i // 2}")
    j.close()
    return path


def _tamper(path: Path, seq: int) -> None:
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER records_no_update")
    db.execute("UPDATE records SET payload='{\"i\":999}' WHERE seq=?", (seq,))
    db.commit()
    db.close()


# ---------------------------------------------------------------------- times


def test_parse_time_accepts_iso_dates_local_and_utc_and_epoch_seconds() -> None:
    assert parse_time("2026-11-21") == datetime(2026, 11, 21).timestamp()  # local midnight
    assert parse_time("2026-11-21T09:00") == datetime(2026, 11, 21, 9).timestamp()
    assert parse_time("2026-11-21 09:00:30") == datetime(2026, 11, 21, 9, 0, 30).timestamp()
    assert parse_time("2026-11-21T09:00Z") == calendar.timegm((2026, 11, 21, 9, 0, 0))
    assert parse_time("2026-11-21T09:00+02:00") == calendar.timegm((2026, 11, 21, 7, 0, 0))
    assert parse_time("1780012800") == 1_780_012_800.0
    assert parse_time(" 1780012800.25 ") == 1_780_012_800.25


@pytest.fixture
def tokyo() -> Iterator[None]:
    """Local time UTC+9 (a POSIX TZ string: no zone database needed)."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "JST-9"
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


@pytest.mark.usefixtures("tokyo")
def test_parse_time_without_an_offset_is_local_time() -> None:
    assert parse_time("2026-11-21") == calendar.timegm((2026, 11, 20, 15, 0, 0))
    assert parse_time("2026-11-21T09:00") == calendar.timegm((2026, 11, 21, 0, 0, 0))
    assert parse_time("2026-11-21T09:00Z") == calendar.timegm((2026, 11, 21, 9, 0, 0))
    assert parse_time("1780012800") == 1_780_012_800.0


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("yesterday", "is not a time"),
        ("2026-13-01", "is not a time"),
        ("21/11/2026", "is not a time"),
        ("20261121", "for a date write 2026-11-21"),
        ("1780012800000", "milliseconds are not accepted"),
        ("-5", "is not a time"),
    ],
)
def test_parse_time_rejects_what_it_cannot_read_clearly(text: str, says: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=says):
        parse_time(text)


# ---------------------------------------------------------------------- verify


def test_verify_intact(journal_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--path", str(journal_path)]) == 0
    assert capsys.readouterr().out == "ok: 6 records, chain intact\n"


def test_verify_names_the_first_broken_record_and_why(
    journal_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _tamper(journal_path, 4)
    assert main(["verify", "--path", str(journal_path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("broken at record 4: hash mismatch")


def test_verify_without_a_journal_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.sqlite3"
    assert main(["verify", "--path", str(missing)]) == 2
    assert f"no journal at {missing}" in capsys.readouterr().err
    assert not missing.exists()  # looking never creates one

    text = tmp_path / "notes.txt"
    text.write_text("not a database " * 200)
    assert main(["verify", "--path", str(text)]) == 2
    assert "is not a journal" in capsys.readouterr().err


def test_demo_selects_the_demo_journal(capsys: pytest.CaptureFixture[str]) -> None:
    j = Journal.open_default(True)
    n = j.append_durable("connection", {"state": "CONNECTED"})
    j.close()
    assert main(["verify", "--demo"]) == 0
    assert capsys.readouterr().out == f"ok: {n} records, chain intact\n"


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["bogus"],
        ["verify", "--path", "a", "--demo"],
        ["export", "--path", "x"],
        ["export", "--format", "xml", "--path", "x"],
        ["export", "--format", "csv", "--since", "soon", "--path", "x"],
        ["export", "--format", "csv", "--since", "2026-06-02", "--until", "2026-06-01",
         "--path", "x"],
    ],
)
def test_usage_errors_exit_2_with_a_message(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert "error:" in capsys.readouterr().err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--help"]) == 0
    assert "--since" in capsys.readouterr().out


# ---------------------------------------------------------------------- export


def test_export_csv_to_stdout_with_filters(
    journal_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["export", "--format", "csv", "--path", str(journal_path), "--account", "acc-1",
               "--kind", "intent", "request", "--kind", "fill"])
    assert rc == 0
    captured = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(captured.out)))
    assert [r["seq"] for r in rows] == ["1", "2", "4"]
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert rows[0]["operator"] == "alice (Desk 3)"
    assert json.loads(rows[2]["payload"]) == {"i": 3}
    assert captured.err == "exported 3 records\n"


def test_export_time_range_in_utc_local_and_epoch(
    journal_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def seqs(*extra: str) -> list[int]:
        assert main(["export", "--format", "jsonl", "--path", str(journal_path), *extra]) == 0
        return [json.loads(line)["seq"] for line in capsys.readouterr().out.splitlines()]

    assert seqs("--since", "2026-05-29T01:00Z", "--until", "2026-05-29T03:00:00Z") == [2, 3]
    assert seqs("--since", str(int(DAY + 4 * 3600))) == [5, 6]
    local = datetime.fromtimestamp(DAY + 2 * 3600).isoformat(timespec="minutes")  # naive
    assert seqs("--until", local) == [1, 2]
    assert seqs("--symbol", "TSLA-USD", "--account", "acc-2") == [5]


def test_export_to_a_file_is_private_and_complete(
    journal_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "history.jsonl"
    assert main(["export", "--format", "jsonl", "--path", str(journal_path), "-o", str(out)]) == 0
    assert capsys.readouterr().err == f"exported 6 records to {out}\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["payload"] for x in lines] == [{"i": i} for i in range(6)]
    assert list(tmp_path.glob(".*partial")) == []


def test_export_to_an_unwritable_place_exits_2_and_leaves_nothing(
    journal_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "no-such-dir" / "x.csv"
    assert main(["export", "--format", "csv", "--path", str(journal_path), "-o", str(out)]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert not out.parent.exists()


def test_export_notes_a_kind_the_journal_never_had(
    journal_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "--format", "csv", "--path", str(journal_path),
                 "--kind", "fills"]) == 0
    captured = capsys.readouterr()
    assert "no record of kind 'fills'" in captured.err
    assert "fill, intent, order_update, request" in captured.err
    assert captured.out.splitlines() == [",".join(EXPORT_COLUMNS)]


# ---------------------------------------------------------------------- dispatch, no Qt


def test_closeout_dispatches_journal_to_the_cli(
    journal_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main.SUBCOMMANDS["journal"] == "cli.journal"
    assert cli.main.main(["journal", "verify", "--path", str(journal_path)]) == 0
    assert capsys.readouterr().out == "ok: 6 records, chain intact\n"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=60, check=False)


def test_the_cli_never_imports_qt() -> None:
    probe = _run("-c", "import cli.main, cli.journal, sys; "
                 f"assert not any(m.startswith({QT!r}) for m in sys.modules), "
                 "sorted(m for m in sys.modules if m.startswith(('PySide', 'shiboken', 'qasync')))")
    assert probe.returncode == 0, probe.stderr


def test_python_m_cli_main_runs_journal_verify_without_qt(journal_path: Path) -> None:
    ok = _run("-m", "cli.main", "journal", "verify", "--path", str(journal_path))
    assert (ok.returncode, ok.stdout) == (0, "ok: 6 records, chain intact\n"), ok.stderr
    # The same run in-process, to see which modules a real command loaded.
    probe = _run("-c", "import sys, cli.main; "
                 f"rc = cli.main.main(['journal', 'export', '--format', 'jsonl', '--path', "
                 f"{str(journal_path)!r}]); "
                 f"assert not any(m.startswith({QT!r}) for m in sys.modules); sys.exit(rc)")
    assert probe.returncode == 0, probe.stderr
    assert len(probe.stdout.splitlines()) == 6
