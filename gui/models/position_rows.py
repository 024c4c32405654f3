"""The positions table's columns and its row records: what one row holds, computed once per
update of the row rather than once per painted cell."""

from __future__ import annotations

import enum
from typing import Any

from core.desk import CloseIntent
from core.model import Environment, Position, PositionKey, PositionSide
from core.numbers import UNKNOWN, NumberFormat
from gui.models.text import env_label, venue_label

__all__ = ["PositionColumn", "PositionRow", "env_cell", "position_cells"]

_ENV_RANK = {Environment.LIVE: 0, Environment.TESTNET: 1, Environment.DEMO: 2}


class PositionColumn(enum.IntEnum):
    VENUE = 0
    ACCOUNT = 1
    ENV = 2
    SYMBOL = 3
    SIDE = 4
    QUANTITY = 5
    ENTRY = 6
    MARK = 7
    PNL = 8
    ACTION = 9

    @property
    def title(self) -> str:
        return _POSITION_TITLES[self]

    @property
    def numeric(self) -> bool:
        return self in _NUMERIC_POSITION_COLUMNS


_POSITION_TITLES = {
    PositionColumn.VENUE: "Venue",
    PositionColumn.ACCOUNT: "Account",
    PositionColumn.ENV: "Env",
    PositionColumn.SYMBOL: "Symbol",
    PositionColumn.SIDE: "Side",
    PositionColumn.QUANTITY: "Quantity",
    PositionColumn.ENTRY: "Entry",
    PositionColumn.MARK: "Mark",
    PositionColumn.PNL: "Unrealised P&L",
    PositionColumn.ACTION: "",
}
_NUMERIC_POSITION_COLUMNS = frozenset(
    {PositionColumn.QUANTITY, PositionColumn.ENTRY, PositionColumn.MARK, PositionColumn.PNL}
)
_SIDE_LABELS = {s: s.value.capitalize() for s in PositionSide}
_LONG, _SHORT = PositionSide.LONG, PositionSide.SHORT


class PositionRow:
    """One row as the model keeps it, from its insert to its removal. Read it; only the model
    changes it.

    Views and the sorted view hold these rather than keys: an attribute read costs nothing,
    where a dict lookup by ``PositionKey`` runs its Python ``__hash__``. Rows hash by identity.
    """

    __slots__ = ("action", "fmt", "index", "intent", "key", "position", "texts", "values")

    def __init__(self, key: PositionKey, index: int) -> None:
        self.key = key
        self.index = index  # its row, counting rows removed since the model last renumbered
        self.position: Position | None = None
        self.values: tuple[Any, ...] = ()  # per value column, for sorting
        self.texts: tuple[str, ...] = ()  # per value column, as shown
        self.action: str | None = None  # the Close cell's words, until something changes them
        self.intent: CloseIntent | None = None  # the row's latest close
        self.fmt: NumberFormat = UNKNOWN  # how its numbers are written (its instrument)

    def __repr__(self) -> str:
        return f"PositionRow({self.key}, row {self.index})"


def env_cell(env: Environment | None) -> tuple[str, int]:
    """The Env column's text and sort rank. LIVE sorts first: it needs the most care."""
    return env_label(env), (_ENV_RANK.get(env, 3) if env is not None else 3)


def position_cells(
    pos: Position, env: tuple[str, int], fmt: NumberFormat = UNKNOWN
) -> tuple[tuple[Any, ...], tuple[str, ...]]:
    """A row's Python values (for sorting) and texts (for showing), in column order; ``env``
    is its account's ``env_cell``, ``fmt`` its instrument's number format (core.numbers).

    Written out rather than looped over columns: it runs for every repricing of every row.
    (Enum members hash in Python, so the side is told apart by identity first.)
    """
    k = pos.key
    venue = venue_label(k.venue)
    side = "Long" if pos.side is _LONG else "Short" if pos.side is _SHORT \
        else _SIDE_LABELS[pos.side]
    env_text, rank = env
    q, e, m, p = pos.quantity, pos.entry_price, pos.mark_price, pos.unrealised_pnl
    values = (venue, k.account, rank, k.symbol, side, q, e, m, p)
    texts = (venue, k.account, env_text, k.symbol, side, fmt.quantity(q), fmt.price(e),
             fmt.price(m), fmt.pnl(p))
    return values, texts
