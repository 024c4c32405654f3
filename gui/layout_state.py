"""What a saved window layout says about a table, read back defensively: the file is the user's
(or was written by an older version with other columns), so anything unreadable falls back to
the defaults, a column that no longer exists is dropped, a column added since goes where the
defaults put it, and a locked column (Close, Symbol) is always shown and never lost.

No Qt here: the window's layout controller (gui/controllers/layout.py) turns these into header
calls, and the values are stored as JSON text so a foreign or corrupt file can only ever fail
to parse.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_WIDTH",
    "MIN_WIDTH",
    "ColumnState",
    "FilterState",
    "SortState",
    "columns_text",
    "filters_text",
    "read_columns",
    "read_filters",
    "read_sort",
    "sort_text",
]

MIN_WIDTH = 24  # a narrower column could not be found again to widen it
MAX_WIDTH = 2000


@dataclass(frozen=True, slots=True)
class ColumnState:
    """One column of a table, in the order shown: its (enum) name, shown or hidden, width."""

    name: str
    shown: bool
    width: int


@dataclass(frozen=True, slots=True)
class SortState:
    column: str
    descending: bool


@dataclass(frozen=True, slots=True)
class FilterState:
    """The positions table's filters. "Freeze order" is not kept: it holds the order for a
    moment's reading, and a window that opened frozen would hide every re-sort unasked."""

    venue: str | None = None
    account: str | None = None
    symbol: str = ""
    group_by_account: bool = False


def _load(text: object) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:  # JSONDecodeError, and a number too large to read
        return None


def columns_text(columns: Sequence[ColumnState]) -> str:
    return json.dumps([{"name": c.name, "shown": c.shown, "width": c.width} for c in columns])


def read_columns(text: object, defaults: Sequence[ColumnState], *,
                 locked: Collection[str] = (), last: str | None = None) -> list[ColumnState]:
    """The saved columns merged into ``defaults`` (every known column, default order).

    Saved columns keep their order, visibility and width; unknown names and repeats are
    dropped; a known column missing from the save goes right after the column before it in
    the defaults, with its default visibility and width. ``locked`` columns are always shown,
    and ``last`` (the Close column) always goes last. Unreadable text gives the defaults.
    """
    by_name = {c.name: c for c in defaults}
    data = _load(text)
    saved: dict[str, ColumnState] = {}
    if isinstance(data, list):
        for item in data:
            if not isinstance(item, dict):
                continue
            name = item.get("name")
            if not isinstance(name, str) or name not in by_name or name in saved:
                continue
            default = by_name[name]
            shown = item.get("shown")
            width = item.get("width")
            ok_width = isinstance(width, int) and not isinstance(width, bool) \
                and MIN_WIDTH <= width <= MAX_WIDTH
            saved[name] = ColumnState(
                name,
                shown if isinstance(shown, bool) else default.shown,
                width if ok_width else default.width,  # type: ignore[arg-type]
            )
    order = list(saved.values())
    for i, default in enumerate(defaults):  # columns added since the layout was saved
        if default.name in saved:
            continue
        before = defaults[i - 1].name if i else None  # placed already: saved or added
        at = next((j + 1 for j, c in enumerate(order) if c.name == before), 0)
        order.insert(at, default)
        saved[default.name] = default
    out = [ColumnState(c.name, True, c.width) if c.name in locked else c for c in order]
    if last is not None:
        tail = [c for c in out if c.name == last]
        out = [c for c in out if c.name != last] + tail
    return out


def sort_text(sort: SortState) -> str:
    return json.dumps({"column": sort.column, "descending": sort.descending})


def read_sort(text: object, known: Collection[str]) -> SortState | None:
    """The saved sort, if it names a column that still exists."""
    data = _load(text)
    if not isinstance(data, dict):
        return None
    column, descending = data.get("column"), data.get("descending")
    if not isinstance(column, str) or column not in known or not isinstance(descending, bool):
        return None
    return SortState(column, descending)


def filters_text(filters: FilterState) -> str:
    return json.dumps({"venue": filters.venue, "account": filters.account,
                       "symbol": filters.symbol, "group_by_account": filters.group_by_account})


def read_filters(text: object) -> FilterState:
    """The saved filters; a value of the wrong type is left at its default."""
    data = _load(text)
    if not isinstance(data, dict):
        return FilterState()
    venue, account = data.get("venue"), data.get("account")
    symbol, group = data.get("symbol"), data.get("group_by_account")
    return FilterState(
        venue if isinstance(venue, str) and venue else None,
        account if isinstance(account, str) and account else None,
        symbol[:200] if isinstance(symbol, str) else "",
        group if isinstance(group, bool) else False,
    )
