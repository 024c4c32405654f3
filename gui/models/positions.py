"""The positions book as a table: one row per open position, repriced in coalesced batches,
with each row's environment, staleness, working orders and the state of its latest close."""

from __future__ import annotations

import enum
import itertools
import time
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt, QTimer
from PySide6.QtGui import QBrush

from core.desk import CloseIntent, IntentState
from core.model import Environment, Position, PositionKey, PositionSide, WorkingOrder
from gui.models.columns import COALESCE_MS, LEFT, RIGHT, AnyIndex, ColumnsModel, runs
from gui.models.roles import (
    BUTTON_ROLE,
    ENV_ROLE,
    KEY_ROLE,
    RESIDUAL_ROLE,
    SORT_ROLE,
    STALE_ROLES,
    VALUE_ROLES,
)
from gui.models.style import LOSS, MISMATCH_ROW, PROFIT, STALE, italic, monospace
from gui.models.text import (
    ENV_TIPS,
    action_text,
    describe_working,
    env_label,
    fmt_decimal,
    intent_label,
    intent_text,
    intent_tooltip,
    stale_age_text,
    venue_label,
)

__all__ = ["FLASH_MS", "PositionColumn", "PositionsModel"]

FLASH_MS = 1200  # how long a row's Close cell flashes when a second click joins its close
FLUSH_SLICE = 256  # rows applied between budget checks
FLUSH_BUDGET = 0.008  # seconds of one loop turn a timed flush may use

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
_VALUE_COLUMNS = tuple(c for c in PositionColumn if c is not PositionColumn.ACTION)
_ACTION = int(PositionColumn.ACTION)
_NUMERIC_POSITION_COLUMNS = frozenset(
    {PositionColumn.QUANTITY, PositionColumn.ENTRY, PositionColumn.MARK, PositionColumn.PNL}
)
_PNL_ROLES = [*VALUE_ROLES, Qt.ItemDataRole.ForegroundRole]
_ACTION_ROLES = [
    Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.ToolTipRole,
    Qt.ItemDataRole.AccessibleTextRole,
    SORT_ROLE,
    BUTTON_ROLE,
    RESIDUAL_ROLE,
]
_ROW_ROLES = [Qt.ItemDataRole.BackgroundRole]

_SIDE_LABELS = {s: s.value.capitalize() for s in PositionSide}


def _position_cells(
    pos: Position, env: Environment | None
) -> tuple[tuple[Any, ...], tuple[str, ...]]:
    """A row's Python values (for sorting) and texts (for showing), in column order.

    Written out rather than looped over columns: it runs for every repricing of every row.
    LIVE sorts first: it is the environment that needs the most care.
    """
    k = pos.key
    venue = venue_label(k.venue)
    side = _SIDE_LABELS[pos.side]
    env_text = env_label(env)
    rank = _ENV_RANK.get(env, 3) if env is not None else 3
    q, e, m, p = pos.quantity, pos.entry_price, pos.mark_price, pos.unrealised_pnl
    values = (venue, k.account, rank, k.symbol, side, q, e, m, p)
    texts = (venue, k.account, env_text, k.symbol, side, fmt_decimal(q), fmt_decimal(e),
             fmt_decimal(m), fmt_decimal(p, signed=True))
    return values, texts


class PositionsModel(ColumnsModel):
    """One row per open position, keyed by PositionKey.

    ``queue_upsert`` is the high-rate path (every repricing): updates are coalesced per key and
    applied on a short timer. ``upsert`` applies at once. ``remove`` is immediate and drops any
    queued update of the same key, so a flat position never reappears.

    ``set_stale`` greys one account's rows while its venue is down or silent, ``set_row_ages``
    greys single rows whose venue data is older than the stale threshold ("stale 12 s"),
    ``set_working`` marks the rows that have orders resting at the venue, and
    ``set_environment`` says which environment (LIVE, TESTNET, DEMO) each account's rows are in.

    The Close cell follows the row's latest close (``set_intent``): its state, a "residual N"
    badge with a Close residual button after a partly filled IOC close, and a red mismatch
    banner over the whole row when a full close is still open at the venue. ``flash`` lights
    the Close cell for a moment, to show which close a second click joined.
    """

    COLUMNS = PositionColumn

    def __init__(self, parent: QObject | None = None, *, coalesce_ms: int = COALESCE_MS) -> None:
        super().__init__(parent)
        self._keys: list[PositionKey] = []
        self._rows: dict[PositionKey, int] = {}
        self._positions: dict[PositionKey, Position] = {}
        self._values: dict[PositionKey, tuple[Any, ...]] = {}  # per column, for sorting
        self._texts: dict[PositionKey, tuple[str, ...]] = {}  # per column, as shown
        self._intents: dict[PositionKey, CloseIntent] = {}
        self._pending: dict[PositionKey, Position] = {}
        # Kept apart from the rows: orders can rest before the position's row arrives.
        self._working: dict[PositionKey, tuple[WorkingOrder, ...]] = {}
        self._stale: dict[str, str] = {}  # account -> why its numbers may be out of date
        self._envs: dict[str, Environment] = {}  # account -> its environment
        self._ages: dict[PositionKey, int] = {}  # stale rows: seconds since their venue data
        self._flash: dict[PositionKey, float] = {}  # key -> monotonic time its flash ends
        self._flash_timer = QTimer(self)
        self._flash_timer.setSingleShot(True)
        self._flash_timer.timeout.connect(self._end_flashes)
        self._coalesce_ms = coalesce_ms
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timer)
        self._mono = monospace()
        self._italic = italic()
        self._mono_italic = italic(self._mono)

    # ------------------------------------------------------------------ queries
    def position(self, key: PositionKey) -> Position | None:
        return self._positions.get(key)

    def key_at(self, row: int) -> PositionKey:
        return self._keys[row]

    def row_of(self, key: PositionKey) -> int | None:
        return self._rows.get(key)

    def all_keys(self) -> list[PositionKey]:
        return list(self._keys)

    def intent(self, key: PositionKey) -> CloseIntent | None:
        return self._intents.get(key)

    def residual(self, key: PositionKey) -> Decimal | None:
        """What a partly filled close left open: the row's size now (as ``Desk.residual``)."""
        intent = self._intents.get(key)
        pos = self._positions.get(key)
        if intent is None or pos is None or intent.state is not IntentState.PARTIAL:
            return None
        return pos.quantity

    def mismatch(self, key: PositionKey) -> bool:
        """A full close the venue reported filled, yet the row is still open after the check."""
        intent = self._intents.get(key)
        return intent is not None and intent.verified_flat is False

    def row_age(self, key: PositionKey) -> int | None:
        """Seconds since venue data last vouched for a stale row; None while it is fresh."""
        return self._ages.get(key)

    def flashing(self, key: PositionKey) -> bool:
        return key in self._flash

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def working(self, key: PositionKey) -> tuple[WorkingOrder, ...]:
        return self._working.get(key, ())

    def stale_reason(self, account: str) -> str | None:
        return self._stale.get(account)

    def environment(self, account: str) -> Environment | None:
        return self._envs.get(account)

    def accounts(self) -> list[str]:
        """Accounts with at least one row, sorted."""
        return sorted({k.account for k in self._keys}, key=str.casefold)

    def sort_value(self, row: int, column: int) -> Any:
        """The cell's Python value (Decimal, str or None); the proxy sorts by it."""
        key = self._keys[row]
        if column == _ACTION:
            return action_text(self._intents.get(key), len(self._working.get(key, ())),
                               self.residual(key))
        return self._values[key][column]

    # ------------------------------------------------------------------ updates
    def queue_upsert(self, position: Position) -> None:
        self._pending[position.key] = position
        if not self._timer.isActive():
            self._timer.start(self._coalesce_ms)

    def flush(self, budget: float | None = None) -> None:
        """Apply queued updates: new rows as one insert, changed cells as dataChanged.

        With a ``budget`` (seconds) it stops after the slice that used it up and continues on
        the next loop turn, so 10,000 repricings never freeze the window in one go; the queue
        stays bounded because a newer update of the same row replaces the queued one.
        """
        self._timer.stop()
        deadline = None if budget is None else time.perf_counter() + budget
        pending = self._pending
        while pending:
            keys = list(itertools.islice(pending, FLUSH_SLICE))
            batch = [pending.pop(k) for k in keys]
            rows = self._rows
            new = [p for p in batch if p.key not in rows]
            changed = [(rows[p.key], self._update(p)) for p in batch if p.key in rows]
            self._emit_changes(changed)
            self._insert(new)
            if deadline is not None and time.perf_counter() >= deadline:
                break
        if pending:
            self._timer.start(0)

    def _on_timer(self) -> None:
        self.flush(FLUSH_BUDGET)

    def upsert(self, position: Position) -> None:
        self._pending.pop(position.key, None)
        if position.key in self._rows:
            self._emit_changes([(self._rows[position.key], self._update(position))])
        else:
            self._insert([position])

    def upsert_many(self, positions: Iterable[Position]) -> None:
        for pos in positions:
            self.queue_upsert(pos)
        self.flush()

    def remove(self, key: PositionKey) -> None:
        self._pending.pop(key, None)
        row = self._rows.get(key)
        self._intents.pop(key, None)
        self._ages.pop(key, None)
        self._flash.pop(key, None)
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._keys[row]
        del self._positions[key]
        del self._values[key]
        del self._texts[key]
        del self._rows[key]
        for i in range(row, len(self._keys)):
            self._rows[self._keys[i]] = i
        self.endRemoveRows()

    def clear(self) -> None:
        self.beginResetModel()
        self._keys.clear()
        self._rows.clear()
        self._positions.clear()
        self._values.clear()
        self._texts.clear()
        self._intents.clear()
        self._pending.clear()
        self._working.clear()
        self._stale.clear()
        self._ages.clear()
        self._flash.clear()
        self.endResetModel()

    def set_working(self, key: PositionKey, orders: Sequence[WorkingOrder]) -> None:
        """The orders resting for this position; its Close button says how many."""
        new = tuple(orders)
        if self._working.get(key, ()) == new:
            return
        if new:
            self._working[key] = new
        else:
            self._working.pop(key, None)
        row = self._rows.get(key)
        if row is not None:
            idx = self.index(row, PositionColumn.ACTION)
            self.dataChanged.emit(idx, idx, _ACTION_ROLES)

    def set_environment(self, account: str, env: Environment | None) -> None:
        """The environment of one account's rows (its Env chip); rows may come before or after."""
        if self._envs.get(account) == env:
            return
        if env is None:
            del self._envs[account]
        else:
            self._envs[account] = env
        rows = [i for i, k in enumerate(self._keys) if k.account == account]
        for row in rows:
            self._store(self._positions[self._keys[row]])
        col = PositionColumn.ENV
        roles = [*VALUE_ROLES, ENV_ROLE, Qt.ItemDataRole.ToolTipRole]
        for first, end in runs(rows):
            self.dataChanged.emit(self.index(first, col), self.index(end, col), roles)

    def set_stale(self, account: str, reason: str | None) -> None:
        """Grey one account's rows (``reason`` is their tooltip), or bring them back (None).

        dataChanged covers exactly that account's rows, in runs of consecutive rows.
        """
        if self._stale.get(account) == reason:
            return
        if reason is None:
            del self._stale[account]
        else:
            self._stale[account] = reason
        rows = [i for i, k in enumerate(self._keys) if k.account == account]
        last = len(PositionColumn) - 1
        for first, end in runs(rows):
            self.dataChanged.emit(self.index(first, 0), self.index(end, last), STALE_ROLES)

    def set_intent(self, intent: CloseIntent) -> None:
        """Show a close's progress on its row's button; ignored once the row is gone.

        The intent is the desk's own (mutable) object: call again whenever it changed.
        """
        key = intent.key
        if key not in self._rows and key not in self._pending:
            return
        was_mismatch = self.mismatch(key)
        self._intents[key] = intent
        row = self._rows.get(key)
        if row is None:
            return
        if self.mismatch(key) != was_mismatch:  # the red banner covers the whole row
            last = len(PositionColumn) - 1
            self.dataChanged.emit(self.index(row, 0), self.index(row, last), _ROW_ROLES)
        idx = self.index(row, PositionColumn.ACTION)
        self.dataChanged.emit(idx, idx, _ACTION_ROLES)

    def set_row_ages(self, ages: dict[PositionKey, float]) -> None:
        """The rows whose venue data is older than the stale threshold, with their age in
        seconds; every other row is fresh. Repaints only rows whose shown age changed."""
        new = {k: int(a) for k, a in ages.items() if k in self._rows}
        if new == self._ages:
            return
        changed = [self._rows[k] for k in set(new) | set(self._ages)
                   if new.get(k) != self._ages.get(k)]
        self._ages = new
        last = len(PositionColumn) - 1
        for first, end in runs(changed):
            self.dataChanged.emit(self.index(first, 0), self.index(end, last), STALE_ROLES)

    def flash(self, key: PositionKey, ms: int = FLASH_MS) -> None:
        """Light the row's Close cell for ``ms``: "this is the close you already sent"."""
        row = self._rows.get(key)
        if row is None:
            return
        self._flash[key] = time.monotonic() + ms / 1000
        if not self._flash_timer.isActive() or self._flash_timer.remainingTime() > ms:
            self._flash_timer.start(ms)
        idx = self.index(row, PositionColumn.ACTION)
        self.dataChanged.emit(idx, idx, _ACTION_ROLES)

    def _end_flashes(self) -> None:
        now = time.monotonic()
        for key in [k for k, until in self._flash.items() if until <= now + 0.001]:
            del self._flash[key]
            row = self._rows.get(key)
            if row is not None:
                idx = self.index(row, PositionColumn.ACTION)
                self.dataChanged.emit(idx, idx, _ACTION_ROLES)
        if self._flash:
            left = min(self._flash.values()) - now
            self._flash_timer.start(max(1, int(left * 1000)))

    def _insert(self, positions: list[Position]) -> None:
        if not positions:
            return
        first = len(self._keys)
        self.beginInsertRows(QModelIndex(), first, first + len(positions) - 1)
        for i, pos in enumerate(positions, start=first):
            self._keys.append(pos.key)
            self._rows[pos.key] = i
            self._store(pos)
        self.endInsertRows()

    def _store(self, pos: Position) -> tuple[str, ...]:
        values, texts = _position_cells(pos, self._envs.get(pos.key.account))
        self._positions[pos.key] = pos
        self._values[pos.key] = values
        self._texts[pos.key] = texts
        return texts

    def _update(self, new: Position) -> list[int]:
        """Store a new state; return the columns whose shown text changed (not emitted yet).

        Text, not value: 1.0 == 1.00 as Decimals, but the row must show what the venue sent.
        """
        old = self._texts[new.key]
        texts = self._store(new)
        if old == texts:
            return []
        return [col for col in _VALUE_COLUMNS if old[col] != texts[col]]

    def _emit_changes(self, changed: list[tuple[int, list[int]]]) -> None:
        """One dataChanged per column per run of consecutive rows: exactly the changed cells,
        in as few signals as possible (10,000 repriced rows are two signals, not 20,000)."""
        by_col: dict[int, list[int]] = {}
        for row, cols in changed:
            for col in cols:
                by_col.setdefault(col, []).append(row)
            if PositionColumn.QUANTITY in cols and self.residual(self._keys[row]) is not None:
                by_col.setdefault(_ACTION, []).append(row)  # "residual N" follows the size
        for col in sorted(by_col):
            if col == _ACTION:
                roles = _ACTION_ROLES
            else:
                roles = _PNL_ROLES if col == PositionColumn.PNL else VALUE_ROLES
            rows = sorted(by_col[col])
            start = prev = rows[0]
            for row in rows[1:]:
                if row != prev + 1:
                    self.dataChanged.emit(self.index(start, col), self.index(prev, col), roles)
                    start = row
                prev = row
            self.dataChanged.emit(self.index(start, col), self.index(prev, col), roles)

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._keys)

    def header_extra(self, col: Any, role: int) -> Any:
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return col.title or "Close"
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._keys):
            return None
        key = self._keys[index.row()]
        col = PositionColumn(index.column())
        if role == KEY_ROLE:
            return key
        if role == Qt.ItemDataRole.BackgroundRole:
            return QBrush(MISMATCH_ROW) if self.mismatch(key) else None
        stale = self._stale_tip(key)
        if col is PositionColumn.ACTION:
            return self._action_data(key, role, stale)
        if col is PositionColumn.ENV:
            env = self._envs.get(key.account)
            if role == ENV_ROLE:
                return env.value if env is not None else None
            if role == Qt.ItemDataRole.ToolTipRole:
                tip = ENV_TIPS.get(env, "") if env is not None else "Environment not known yet"
                return f"{tip}\n{stale}" if stale is not None else tip
            if role == Qt.ItemDataRole.AccessibleTextRole:
                return f"Environment {env_label(env)}" if env is not None else "Environment unknown"
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._texts[key][col]
        if role == SORT_ROLE:
            return self._values[key][col]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return RIGHT if col.numeric else LEFT
        if role == Qt.ItemDataRole.ForegroundRole:
            if stale is not None:
                return QBrush(STALE)
            if col is not PositionColumn.PNL:
                return None
            pnl = self._positions[key].unrealised_pnl
            if pnl is not None and pnl > 0:
                return QBrush(PROFIT)
            if pnl is not None and pnl < 0:
                return QBrush(LOSS)
            return None
        if role == Qt.ItemDataRole.FontRole:
            if stale is not None:
                return self._mono_italic if col.numeric else self._italic
            return self._mono if col.numeric else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return stale
        return None

    def _stale_tip(self, key: PositionKey) -> str | None:
        """Why this row's numbers may be out of date (its own age, its account's state)."""
        account = self._stale.get(key.account)
        age = self._ages.get(key)
        if age is None:
            return account
        own = stale_age_text(age)
        return own if account is None else f"{own}\n{account}"

    def _action_data(self, key: PositionKey, role: int, stale: str | None) -> Any:
        intent = self._intents.get(key)
        working = self._working.get(key, ())
        residual = self.residual(key)
        if role in (Qt.ItemDataRole.DisplayRole, SORT_ROLE):
            return action_text(intent, len(working), residual)
        if role == BUTTON_ROLE:
            return "Flash" if key in self._flash else intent_label(intent)
        if role == RESIDUAL_ROLE:
            return f"residual {fmt_decimal(residual)}" if residual else None
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [intent_tooltip(intent, residual)]
            if working:
                n = len(working)
                lines.append(f"{n} working order{'s' if n != 1 else ''} at the venue:")
                lines.extend(f"  • {describe_working(o)}" for o in working)
            if stale is not None:
                lines.append(stale)
            return "\n".join(lines)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            if residual:
                text = f"Close residual {fmt_decimal(residual)} of {key.symbol} on {key.account}"
            else:
                text = f"Close {key.symbol} on {key.account}"
            shown = intent_text(intent, residual)
            if intent is not None and shown != "Close":
                text += f" (last close: {shown})"
            if working:
                text += f" ({len(working)} working)"
            return text
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return Qt.AlignmentFlag.AlignCenter
        return None
