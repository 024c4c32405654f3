"""The positions table's columns and its row records: what one row holds, computed once per
update of the row rather than once per painted cell."""

from __future__ import annotations

import enum
from typing import Any

from core.desk import CloseIntent
from core.model import Environment, Position, PositionKey, PositionSide
from core.numbers import UNKNOWN, NumberFormat
from gui.models.text import env_label, venue_label

__all__ = [
    "BASE_COLUMNS", "OPTIONAL_COLUMNS", "PositionColumn", "PositionRow", "env_cell",
    "position_cells",
]

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
    # Optional columns, hidden until the user shows them (the header's menu): their texts are
    # written when painted, so a hidden one costs a repricing nothing but its value.
    NOTIONAL = 9
    REALISED = 10
    LEVERAGE = 11
    LIQUIDATION = 12
    AGE = 13
    ACTION = 14  # always last: the Close column

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
    PositionColumn.NOTIONAL: "Notional",
    PositionColumn.REALISED: "Realised P&L",
    PositionColumn.LEVERAGE: "Leverage",
    PositionColumn.LIQUIDATION: "Liq. price",
    PositionColumn.AGE: "Data age",
    PositionColumn.ACTION: "",
}
OPTIONAL_COLUMNS = (PositionColumn.NOTIONAL, PositionColumn.REALISED, PositionColumn.LEVERAGE,
                    PositionColumn.LIQUIDATION, PositionColumn.AGE)
# The columns whose texts a row keeps (written once per update, not per paint).
BASE_COLUMNS = tuple(c for c in PositionColumn
                     if c not in OPTIONAL_COLUMNS and c is not PositionColumn.ACTION)
_NUMERIC_POSITION_COLUMNS = frozenset(
    {PositionColumn.QUANTITY, PositionColumn.ENTRY, PositionColumn.MARK, PositionColumn.PNL,
     *OPTIONAL_COLUMNS}
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
        self.values: tuple[Any, ...] = ()  # per value column (optional ones too), for sorting
        self.texts: tuple[str, ...] = ()  # per base column, as shown
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
    """A row's Python values (for sorting; every column but Close) and texts (for showing;
    the base columns), in column order; ``env`` is its account's ``env_cell``, ``fmt`` its
    instrument's number format (core.numbers). Data age sorts on ``-received_at``: the older
    the data, the larger the value, and it needs no clock.

    Written out rather than looped over columns: it runs for every repricing of every row.
    (Enum members hash in Python, so the side is told apart by identity first.)
    """
    k = pos.key
    venue = venue_label(k.venue)
    side = "Long" if pos.side is _LONG else "Short" if pos.side is _SHORT \
        else _SIDE_LABELS[pos.side]
    env_text, rank = env
    q, e, m, p = pos.quantity, pos.entry_price, pos.mark_price, pos.unrealised_pnl
    values = (venue, k.account, rank, k.symbol, side, q, e, m, p,
              pos.notional, pos.realised_pnl, pos.leverage,
              pos.liquidation_price, -pos.received_at)
    texts = (venue, k.account, env_text, k.symbol, side, fmt.quantity(q), fmt.price(e),
             fmt.price(m), fmt.pnl(p))
    return values, texts
