"""The positions table's order as plain tuples, so sorting, inserting and finding a row is
``list.sort`` and ``bisect`` in C: no Python call per comparison.

A row's key is the clicked column's value, then Venue → Account → Symbol (case-insensitive),
then the row's identity, so no two rows ever tie. Grouped by account, the account comes first.
The tie-breaks and the account read A→Z whichever way the column is sorted, and a missing value
(no mark yet) goes to the bottom either way.

Decimals compare exactly: a number sorts on ``(float(v), v)``. Rounding to float never
reverses an order, so the float decides whenever the two floats differ (a fast C compare) and
the exact Decimal decides when they are equal. Descending negates both (``copy_negate`` never
rounds). Text descending becomes a tuple of negated code points.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from core.model import PositionKey, Venue
from gui.models.position_rows import PositionColumn, PositionRow
from gui.models.text import venue_label

__all__ = ["RowTies", "build_keys", "row_ties"]

# (account casefolded, symbol casefolded, plain tail, grouped tail, arrival number)
RowTies = tuple[str, str, tuple[str, ...], tuple[str, ...], int]

_TEXT = frozenset({PositionColumn.VENUE, PositionColumn.ACCOUNT, PositionColumn.SYMBOL,
                   PositionColumn.SIDE, PositionColumn.ACTION})
_PLAIN = frozenset({PositionColumn.ENV, PositionColumn.AGE})  # numbers that are not Decimals
_MISSING = (True, 0.0, 0)  # after every value; only ever compared with itself beyond [0]
# venue -> (its label casefolded, its id as a plain str). Plain strs only: a tuple holding
# nothing but atoms is dropped from the garbage collector's watch, and at 50,000 rows the
# keys would otherwise double what every full collection has to walk.
_VENUE_KEYS: dict[Venue, tuple[str, str]] = {}


def row_ties(key: PositionKey, seq: int) -> RowTies:
    """What never changes in a row's key: its tie-breaks, identity and arrival number."""
    found = _VENUE_KEYS.get(key.venue)
    if found is None:
        found = _VENUE_KEYS[key.venue] = (venue_label(key.venue).casefold(), key.venue.value)
    venue_cf, venue = found
    account, symbol = key.account, key.symbol
    account_cf, symbol_cf = account.casefold(), symbol.casefold()
    return (account_cf, symbol_cf, (venue_cf, account_cf, symbol_cf, venue, account, symbol),
            (venue_cf, symbol_cf, venue, account, symbol), seq)


def _text_down(text: str) -> tuple[int, ...]:
    """Orders like ``text`` reversed: "b" < "a", and "ab" < "a" (a prefix goes after)."""
    return (*map(operator.neg, map(ord, text)), 1)


def _heads(values: Iterable[Any], column: int, descending: bool) -> list[tuple[Any, ...]]:
    """The clicked column's part of each key: (missing, value...), ascending in the wanted
    order. One loop per kind of column, so no function call per row."""
    out: list[tuple[Any, ...]] = []
    add = out.append
    if column in _TEXT:
        for v in values:
            if v is None:
                add(_MISSING)
            else:
                add((False, _text_down(v.casefold()) if descending else v.casefold()))
    elif column in _PLAIN:  # an int rank, or a float (Data age's -received_at)
        for v in values:
            add(_MISSING if v is None else (False, -v if descending else v))
    elif descending:
        for v in values:
            if v is None or v.is_nan():
                add(_MISSING)
            else:
                add((False, -float(v), v.copy_negate()))
    else:
        for v in values:
            if v is None or v.is_nan():
                add(_MISSING)
            else:
                add((False, float(v), v))
    return out


def build_keys(
    rows: Iterable[PositionRow],
    column: int,
    descending: bool,
    grouped: bool,
    ties: Mapping[PositionRow, RowTies],
    action_of: Callable[[PositionRow], str],
) -> list[tuple[Any, ...]]:
    """Each row's sort key, in the order of ``rows``. ``column`` < 0 is the arrival order;
    ``action_of`` gives the Close column's value (its words)."""
    rows = list(rows)
    if column < 0:
        if grouped:
            return [(ties[r][0], ties[r][4]) for r in rows]
        return [(ties[r][4],) for r in rows]
    if column == PositionColumn.ACTION:
        values: Iterable[Any] = map(action_of, rows)
    else:
        values = [r.values[column] for r in rows]
    heads = _heads(values, column, descending)
    if grouped:
        return [(t[0], *h, *t[3]) for h, t in zip(heads, map(ties.__getitem__, rows),
                                                     strict=True)]
    return [h + t[2] for h, t in zip(heads, map(ties.__getitem__, rows), strict=True)]
