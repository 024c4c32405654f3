"""What the order log's filters let through: venue, account, symbol, status, kind and a text
search, combined (all must match). Qt-free: a filter is a value, and its predicate is built
once per change, then called once per line (a new line, or each line on a rescan)."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields

from core.model import ConnectionState, OrderStatus
from gui.models.log_line import (
    ACCOUNT,
    CLIENT_ID,
    DETAIL,
    KIND,
    MESSAGE,
    ORDER_ID,
    PRICE,
    QTY,
    RAW,
    REMAINING,
    STATUS,
    SYMBOL,
    VENUE,
    Line,
)

__all__ = ["KINDS", "STATUSES", "LogFilter", "counts_text"]

# The Kind column's values, in the order the filter offers them.
KINDS = ("Order", "Fill", "Close", "Connection", "Protocol error")
# The Status column's values: an order's status, a fill, what the window says about a close
# (verified flat, a mismatch), a connection's state, and a protocol error.
STATUSES = (
    *(s.value for s in OrderStatus),
    "FILL",
    "VERIFIED FLAT",
    "MISMATCH",
    *(s.value.upper() for s in ConnectionState),
    "ERROR",
)
# The fields a text search reads: every column but the time (writing out 200,000 times to
# search them would make a rescan several times slower), and the order's ids, which are not
# columns but what support most often has in hand.
_SEARCHED = (KIND, VENUE, ACCOUNT, SYMBOL, STATUS, RAW, QTY, REMAINING, PRICE, MESSAGE, DETAIL,
             ORDER_ID, CLIENT_ID)
_searched = operator.itemgetter(*_SEARCHED)
_SEP = "\x1f"  # between fields, so a search never matches across two of them


@dataclass(frozen=True, slots=True)
class LogFilter:
    """Empty means "any". Venue, account, status and kind match the cell exactly (they come
    from lists); symbol and text match a part, ignoring case."""

    venue: str = ""  # the venue's label, as the Venue column shows it
    account: str = ""
    symbol: str = ""
    status: str = ""
    kind: str = ""
    text: str = ""

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def predicate(self) -> Callable[[Line], bool]:
        """One function that tests a line against every filter set, built once per change:
        only the tests in use run, the cheapest first, the text search last."""
        exact = tuple((column, value) for column, value in (
            (KIND, self.kind), (STATUS, self.status), (VENUE, self.venue),
            (ACCOUNT, self.account)) if value)
        symbol = self.symbol.strip().casefold()
        text = self.text.strip().casefold()

        def accepts(line: Line) -> bool:
            for column, value in exact:
                if line[column] != value:
                    return False
            if symbol and symbol not in line[SYMBOL].casefold():
                return False
            return not text or text in search_text(line)

        return accepts


    def passing(self, lines: Sequence[Line]) -> bytearray:
        """Which of ``lines`` pass, one flag each, as ``predicate`` says: for a rescan of the
        whole log. Each exact test runs over the lines left by the one before, in one tight
        loop; the text search, the dearest, reads only the lines every other test let by."""
        left: Iterable[int] = range(len(lines))
        for column, value in ((KIND, self.kind), (STATUS, self.status), (VENUE, self.venue),
                              (ACCOUNT, self.account)):
            if value:
                left = [i for i in left if lines[i][column] == value]
        symbol = self.symbol.strip().casefold()
        if symbol:
            left = [i for i in left if symbol in lines[i][SYMBOL].casefold()]
        text = self.text.strip().casefold()
        if text:
            left = [i for i in left if text in search_text(lines[i])]
        flags = bytearray(len(lines))
        for i in left:
            flags[i] = 1
        return flags


def search_text(line: Line) -> str:
    """The text a search looks in: the searched fields, case-folded, apart."""
    return _SEP.join([v if type(v) is str else _text(v) for v in _searched(line)]).casefold()


def _text(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def counts_text(shown: int, total: int) -> str:
    """"showing 120 of 4,512": the lines a filter lets through, of the lines held."""
    return f"showing {shown:,} of {total:,}"
