"""CSV for spreadsheets: cells that would run as formulas are made inert, numbers are not,
and a file is replaced whole or not at all."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest

from core.csv_out import csv_text, safe_cell, write_atomic


@pytest.mark.parametrize("text", [
    "=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("x")',
    "-", "+", "--1", "-1-1", "+1e", "=", "- 5",
])
def test_formula_starts_are_made_text(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("text", [
    "+364.00", "-4.05", "-0", "25", "0.001", "-.5", "+1E+3", "1e-7", "AAPL-USD", "Long", "",
    "USD_BTC_PERP", "a=b", "x@y", "15:40:04.790",
])
def test_numbers_and_ordinary_text_are_left_as_they_are(text: str) -> None:
    assert safe_cell(text) == text


def test_csv_text_guards_every_cell_header_included_and_quotes_as_rfc_4180() -> None:
    text = csv_text(["Symbol", "=P&L"], [["=A1", "-4.05"], ['say "hi", then', "+1"]])
    assert text.endswith("\r\n") and text.count("\r\n") == 3
    assert list(csv.reader(io.StringIO(text, newline=""))) == [
        ["Symbol", "'=P&L"], ["'=A1", "-4.05"], ['say "hi", then', "+1"]]


def test_write_atomic_replaces_the_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("old")
    write_atomic(path, "a,b\r\n")
    assert path.read_bytes() == b"a,b\r\n"
    assert os.listdir(tmp_path) == ["out.csv"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "out.csv"
    path.write_text("old")

    def broken(_src: str, _dst: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, "new")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.csv"]
