"""Reading a saved layout back: whatever the file holds, the result is every known column
once, the locked ones shown, the button column last, and nothing invented."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gui.layout_state import (
    MAX_WIDTH,
    ColumnState,
    FilterState,
    SortState,
    columns_text,
    filters_text,
    read_columns,
    read_filters,
    read_sort,
    sort_text,
)

DEFAULTS = [ColumnState("A", True, 100), ColumnState("B", True, 110),
            ColumnState("C", False, 120), ColumnState("SYM", True, 130),
            ColumnState("CLOSE", True, 250)]
LOCKED = {"SYM", "CLOSE"}


def read(text: object) -> list[ColumnState]:
    return read_columns(text, DEFAULTS, locked=LOCKED, last="CLOSE")


def test_round_trip() -> None:
    cols = [ColumnState("B", False, 90), ColumnState("SYM", True, 60),
            ColumnState("A", True, 300), ColumnState("C", True, 45),
            ColumnState("CLOSE", True, 250)]
    assert read(columns_text(cols)) == cols


@pytest.mark.parametrize("text", [None, 7, "", "not json", "{}", "[1, 2]", "1e999999",
                                  json.dumps([{"name": 5}]), b"[]"])
def test_unreadable_gives_the_defaults(text: object) -> None:
    assert read(text) == DEFAULTS


def test_added_columns_go_after_their_default_neighbour() -> None:
    saved = [{"name": "SYM", "shown": True, "width": 140}, {"name": "A", "shown": False,
                                                           "width": 99},
             {"name": "GONE", "shown": True, "width": 80}, {"name": "CLOSE", "shown": True,
                                                            "width": 250}]
    assert read(json.dumps(saved)) == [
        ColumnState("SYM", True, 140), ColumnState("A", False, 99),
        ColumnState("B", True, 110), ColumnState("C", False, 120),
        ColumnState("CLOSE", True, 250)]


def test_locked_shown_last_last_bad_widths_default() -> None:
    saved = [{"name": "CLOSE", "shown": False, "width": 10},
             {"name": "SYM", "shown": False, "width": MAX_WIDTH + 1},
             {"name": "A", "shown": "yes", "width": True},
             {"name": "A", "shown": False, "width": 50}]  # a repeat: the first one counts
    out = read(json.dumps(saved))
    assert out[-1] == ColumnState("CLOSE", True, 250)
    assert ColumnState("SYM", True, 130) in out
    assert ColumnState("A", True, 100) in out


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=6),
                    lambda inner: st.lists(inner, max_size=6)
                    | st.dictionaries(st.sampled_from(["name", "shown", "width", "x"]), inner,
                                      max_size=4), max_leaves=30))
def test_any_json_gives_every_column_once(data: object) -> None:
    out = read(json.dumps(data))
    assert sorted(c.name for c in out) == sorted(c.name for c in DEFAULTS)
    assert out[-1].name == "CLOSE"
    assert all(c.shown for c in out if c.name in LOCKED)


def test_sort() -> None:
    known = {"A", "B"}
    assert read_sort(sort_text(SortState("B", True)), known) == SortState("B", True)
    assert read_sort(sort_text(SortState("GONE", True)), known) is None
    assert read_sort('{"column": "A", "descending": 1}', known) is None
    assert read_sort("[]", known) is None and read_sort(None, known) is None


def test_filters() -> None:
    f = FilterState("qfex", "Alpha", "AA", True)
    assert read_filters(filters_text(f)) == f
    assert read_filters('{"venue": 3, "account": "", "symbol": 5, "group_by_account": "y"}') \
        == FilterState()
    assert read_filters("garbage") == FilterState()
