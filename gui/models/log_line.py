"""A log line's layout as the log model holds it: a plain tuple, its fields by position.

Qt-free, so what reads a line (the log's filters) can be tested and reasoned about without a
model. The first eleven fields are the columns, in ``LogColumn``'s order."""

from __future__ import annotations

from typing import Any

__all__ = ["FIELDS", "Line"]

# A plain tuple of str, float, Decimal and None, nothing else, so the garbage collector stops
# watching it after its first pass. 200,000 lines held as objects doubled what every full
# collection walks, and each such pause froze the window. The first eleven fields are the
# columns, in LogColumn's order (an entry's quantities and prices may still be Decimals, written
# out when the line is painted), then the tone, the detail text, where the line points (None; a
# venue id: its own account and symbol on that venue; or (account, venue id, symbol)), and an
# order's ids (its detail, built when read).
Line = tuple[Any, ...]
FIELDS = range(16)
(AT, KIND, VENUE, ACCOUNT, SYMBOL, STATUS, RAW, QTY, REMAINING, PRICE, MESSAGE,
 TONE, DETAIL, WHERE, ORDER_ID, CLIENT_ID) = FIELDS
