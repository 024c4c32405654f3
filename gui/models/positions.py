"""The positions book as a table: one row per open position, repriced in coalesced batches,
with each row's environment, staleness, working orders and the state of its latest close."""

from __future__ import annotations

import copy
import itertools
import time
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QMetaMethod, QModelIndex, QObject, Qt, QTimer, Signal

from core.desk import CloseIntent
from core.desk.coordination import Holder
from core.model import Environment, Instrument, Position, PositionKey, WorkingOrder
from core.numbers import number_format, trimmed
from gui.models.columns import COALESCE_MS, LEFT, RIGHT, AnyIndex, ColumnsModel, runs
from gui.models.countdowns import Countdowns
from gui.models.position_action import ActionCells, elsewhere_tip, residual_of
from gui.models.position_rows import (
    BASE_COLUMNS,
    OPTIONAL_COLUMNS,
    PositionColumn,
    PositionRow,
    env_cell,
    position_cells,
)
from gui.models.roles import (
    BUTTON_ROLE,
    ENV_ROLE,
    KEY_ROLE,
    RESIDUAL_ROLE,
    SORT_ROLE,
    STALE_ROLES,
    VALUE_ROLES,
)
from gui.models.style import LOSS, MISMATCH_ROW, PROFIT, STALE, brush, italic, monospace
from gui.models.text import (
    ENV_TIPS,
    env_label,
    intent_label,
    stale_age_text,
)

__all__ = [
    "CLOSED_NOTE_MS", "FLASH_MS", "CellsListener", "InstrumentLookup", "PositionColumn",
    "PositionRow", "PositionsModel",
]

FLASH_MS = 1200  # how long a row's Close cell flashes when a second click joins its close
CLOSED_NOTE_MS = 5000  # how long "Closed 12.5 · 12.5 open" stays before the button says Close
NEW_ROW_MS = 50  # a new row waits at most this long to be shown (repricing: coalesce_ms)
FLUSH_SLICE = 256  # rows applied between budget checks
FLUSH_BUDGET = 0.004  # seconds of one loop turn a timed flush may use
# ... when it brings new rows: each turn that adds rows costs the table a relayout and a
# repaint (about 10 ms at any size), so a big first load goes in fewer, longer turns.
INSERT_BUDGET = 0.030

_VALUE_COLUMNS = tuple(int(c) for c in BASE_COLUMNS)  # a row keeps their texts
_OPTIONAL = tuple(int(c) for c in OPTIONAL_COLUMNS)  # written when painted
_FIRST_OPTIONAL = min(_OPTIONAL)
_ACTION = int(PositionColumn.ACTION)
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
_ENV_ROLES = [*VALUE_ROLES, ENV_ROLE, Qt.ItemDataRole.ToolTipRole]
_LAST = len(PositionColumn) - 1
_NUMERIC = tuple(c.numeric for c in PositionColumn)  # by column number: no enum call per cell
_PNL = int(PositionColumn.PNL)
_NOTIONAL = int(PositionColumn.NOTIONAL)
_REALISED = int(PositionColumn.REALISED)
_LEVERAGE = int(PositionColumn.LEVERAGE)
_LIQUIDATION = int(PositionColumn.LIQUIDATION)
_AGE = int(PositionColumn.AGE)
_MONEY_COLUMNS = (_PNL, _REALISED)  # coloured green or red by sign
NOT_REPORTED = "—"
NOT_REPORTED_TIP = "The venue does not report realised P&L for this position"
AGE_TIP = "Seconds since the venue last sent this position"
_ENV = int(PositionColumn.ENV)
_QUANTITY = int(PositionColumn.QUANTITY)
# Roles as plain ints: data() runs for every role of every painted cell.
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_FONT = int(Qt.ItemDataRole.FontRole)
_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_BACKGROUND = int(Qt.ItemDataRole.BackgroundRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_ACCESSIBLE = int(Qt.ItemDataRole.AccessibleTextRole)
_SORT = int(SORT_ROLE)
_KEY = int(KEY_ROLE)
_ENV_R = int(ENV_ROLE)
_BUTTON = int(BUTTON_ROLE)
_RESIDUAL = int(RESIDUAL_ROLE)
_CENTER = Qt.AlignmentFlag.AlignCenter

# Told of every batch of changed cells: (rows, first column, last column, roles). The sorted
# view listens here rather than to dataChanged, which comes once per run of consecutive rows.
CellsListener = Callable[[Sequence[PositionRow], int, int, Sequence[int]], None]
# Where a row's instrument (tick, lot, quote currency) is looked up: ``Desk.instrument``.
InstrumentLookup = Callable[[PositionKey], Instrument | None]


class PositionsModel(ActionCells, ColumnsModel):
    """One row per open position, keyed by PositionKey, in the order rows arrived (the table
    shows them through :class:`~gui.models.positions_proxy.PositionsProxy`, which sorts).

    ``queue_upsert`` is the high-rate path (every repricing): updates are coalesced per key and
    applied on a short timer. ``upsert`` applies at once. ``remove`` is immediate and drops any
    queued update of the same key, so a flat position never reappears.

    ``set_stale`` greys one account's rows while its venue is down or silent, ``set_row_ages``
    greys single rows whose venue data is older than the stale threshold ("stale 12 s"),
    ``set_working`` marks the rows that have orders resting at the venue, and
    ``set_environment`` says which environment (LIVE, TESTNET, DEMO) each account's rows are in.

    The Close cell follows the row's latest close (``set_intent``): its state, a "residual N"
    badge with a Close residual button after a partly filled IOC close, and a red mismatch
    banner over the whole row when a full close is still open at the venue. A partial close
    that filled says what it closed and what is open ("Closed 12.5 · 12.5 open") for
    ``closed_note_ms``, then the button reads Close again (``closedNotes`` times it).
    ``flash`` lights the Close cell for a moment, to show which close a second click joined.

    ``accountsChanged`` fires when an account gets its first row or loses its last one, so the
    account filter never scans the rows.
    """

    COLUMNS = PositionColumn
    accountsChanged = Signal()

    def __init__(self, parent: QObject | None = None, *, coalesce_ms: int = COALESCE_MS,
                 closed_note_ms: int = CLOSED_NOTE_MS,
                 instruments: InstrumentLookup | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(parent)
        self._clock = clock  # the Data age column's "now", on the clock of received_at
        self.wall: Callable[[], float] = time.time  # for the times shown in tooltips
        # The optional columns whose changes are reported (shown ones, or the sort column;
        # none until a view says): a hidden one costs a repricing no signal.
        self._watched: tuple[int, ...] = ()
        self.closedNotes = Countdowns(closed_note_ms, self._end_closed_notes, parent=self)
        self._notes_said: set[str] = set()  # intents whose "Closed N · M open" has ended
        # Numbers are written by the instrument (core.numbers); a row asks until its instrument
        # is known (reference data can come after the first positions), then keeps the format.
        self._instruments = instruments
        self._order: list[PositionRow] = []  # in row order
        self._data: dict[PositionKey, PositionRow] = {}
        # A row's ``index`` counts the rows removed since the last renumbering too; these
        # are their indexes, sorted, so a row is its index less the removed rows above it.
        # Renumbering every row at each removal would make a flatten O(rows) per close.
        self._removed: list[int] = []
        self._by_account: dict[str, dict[PositionRow, None]] = {}  # insertion-ordered sets
        self._intents: dict[PositionKey, CloseIntent] = {}
        self._pending: dict[PositionKey, Position] = {}
        # Kept apart from the rows: orders can rest before the position's row arrives.
        self._working: dict[PositionKey, tuple[WorkingOrder, ...]] = {}
        self._elsewhere: dict[PositionKey, str] = {}  # another desk closing it (team mode)
        self._elsewhere_tip: dict[PositionKey, str] = {}  # who, since when, until when
        self._stale: dict[str, str] = {}  # account -> why its numbers may be out of date
        self._envs: dict[str, Environment] = {}  # account -> its environment
        self._env_cells: dict[str, tuple[str, int]] = {}  # account -> its Env text and rank
        self._ages: dict[PositionKey, int] = {}  # stale rows: seconds since their venue data
        self._flash: dict[PositionKey, float] = {}  # key -> monotonic time its flash ends
        self._listeners: list[CellsListener] = []
        self._data_changed = QMetaMethod.fromSignal(self.dataChanged)
        self._flash_timer = QTimer(self)
        self._flash_timer.setSingleShot(True)
        self._flash_timer.timeout.connect(self._end_flashes)
        self._coalesce_ms = coalesce_ms
        self._new_row_ms = min(coalesce_ms, NEW_ROW_MS)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timer)
        self._mono = monospace()
        self._italic = italic()
        self._mono_italic = italic(self._mono)
        self._stale_brush = brush(STALE)
        self._profit_brush = brush(PROFIT)
        self._loss_brush = brush(LOSS)
        self._mismatch_brush = brush(MISMATCH_ROW)

    # ------------------------------------------------------------------ queries
    def position(self, key: PositionKey) -> Position | None:
        row = self._data.get(key)
        return None if row is None else row.position

    def key_at(self, row: int) -> PositionKey:
        return self._order[row].key

    def row_of(self, key: PositionKey) -> int | None:
        row = self._data.get(key)
        if row is None:
            return None
        removed = self._removed
        return row.index - bisect_left(removed, row.index) if removed else row.index

    def _renumber(self) -> None:
        for i, row in enumerate(self._order):
            row.index = i
        self._removed.clear()

    def _indexes(self, rows: Iterable[PositionRow]) -> list[int]:
        removed = self._removed
        if not removed:
            return [r.index for r in rows]
        return [r.index - bisect_left(removed, r.index) for r in rows]

    def all_keys(self) -> list[PositionKey]:
        return [r.key for r in self._order]

    def record(self, key: PositionKey) -> PositionRow | None:
        return self._data.get(key)

    def records(self) -> Sequence[PositionRow]:
        """Every row in row order, not copied: read it, never keep or change it."""
        return self._order

    def intent(self, key: PositionKey) -> CloseIntent | None:
        return self._intents.get(key)

    def residual(self, key: PositionKey) -> Decimal | None:
        """What a partly filled close left open: the row's size now (as ``Desk.residual``)."""
        row = self._data.get(key)
        return None if row is None else residual_of(row)

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

    def account_rows(self, account: str) -> Iterable[PositionRow]:
        """One account's rows (kept per account as rows come and go, never scanned)."""
        return self._by_account.get(account, {}).keys()

    def accounts(self) -> list[str]:
        """Accounts with at least one row, sorted (kept as rows come and go, never scanned)."""
        return sorted(self._by_account, key=str.casefold)

    def sort_value(self, row: int, column: int) -> Any:
        """The cell's Python value (Decimal, str or None) that the table sorts by."""
        return self.row_sort_value(self._order[row], column)

    def row_sort_value(self, row: PositionRow, column: int) -> Any:
        return self._action_text(row) if column == _ACTION else row.values[column]

    def watch_columns(self, columns: Iterable[int]) -> None:
        """Report changes of these optional columns (dataChanged, the cells listeners) and no
        others: the shown ones, and the sort column. The rest are still kept current, and a
        column shown later paints its value at once."""
        wanted = set(columns)
        self._watched = tuple(c for c in _OPTIONAL if c in wanted)

    @property
    def watched_columns(self) -> tuple[int, ...]:
        return self._watched

    def add_cells_listener(self, listener: CellsListener) -> None:
        self._listeners.append(listener)

    def remove_cells_listener(self, listener: CellsListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    # ------------------------------------------------------------------ updates
    def queue_upsert(self, position: Position) -> None:
        key = position.key
        self._pending[key] = position
        if key not in self._data:  # a new row shows within NEW_ROW_MS; repricing waits longer
            if not self._timer.isActive() or self._timer.remainingTime() > self._new_row_ms:
                self._timer.start(self._new_row_ms)
        elif not self._timer.isActive():
            self._timer.start(self._coalesce_ms)

    def flush(self, budget: float | None = None, insert_budget: float | None = None) -> None:
        """Apply queued updates: new rows as one insert, changed cells as dataChanged.

        With a ``budget`` (seconds) it stops after the slice that used it up and continues on
        the next loop turn, so 10,000 repricings never freeze the window in one go; the queue
        stays bounded because a newer update of the same row replaces the queued one. Once
        the turn has a slice's worth of new rows it may run to ``insert_budget`` instead.
        """
        self._timer.stop()
        start = time.perf_counter()
        deadline = insert_deadline = float("inf") if budget is None else start + budget
        if budget is not None and insert_budget is not None:
            insert_deadline = start + max(budget, insert_budget)
        pending = self._pending
        data = self._data
        new: list[PositionRow] = []  # inserted once, at the end: one range, one re-sort
        while pending:
            keys = list(itertools.islice(pending, FLUSH_SLICE))
            changed: list[tuple[PositionRow, list[int]]] = []
            for k in keys:
                pos = pending.pop(k)
                row = data.get(k)
                if row is None:
                    new.append(self._new_row(pos))
                else:
                    changed.append((row, self._update(row, pos)))
            self._emit_changes(changed)
            # A bulk load (a slice's worth of new rows) may use the longer budget; a new row
            # among repricings does not stretch the turn.
            if time.perf_counter() >= (insert_deadline if len(new) >= FLUSH_SLICE
                                       else deadline):
                break
        self._insert(new)
        if pending:
            self._timer.start(0)

    def _on_timer(self) -> None:
        self.flush(FLUSH_BUDGET, INSERT_BUDGET)

    def upsert(self, position: Position) -> None:
        self._pending.pop(position.key, None)
        row = self._data.get(position.key)
        if row is not None:
            self._emit_changes([(row, self._update(row, position))])
        else:
            self._insert([self._new_row(position)])

    def upsert_many(self, positions: Iterable[Position]) -> None:
        for pos in positions:
            self.queue_upsert(pos)
        self.flush()

    def remove(self, key: PositionKey) -> None:
        self.closedNotes.drop(key)
        self._pending.pop(key, None)
        self._intents.pop(key, None)
        self._ages.pop(key, None)
        self._flash.pop(key, None)
        row = self._data.get(key)
        if row is None:
            return
        index = self._indexes([row])[0]
        self.beginRemoveRows(QModelIndex(), index, index)
        del self._order[index]
        del self._data[key]
        insort(self._removed, row.index)
        if len(self._removed) > max(64, len(self._order) // 16):
            self._renumber()
        account = self._by_account[key.account]
        del account[row]
        gone = not account
        if gone:
            del self._by_account[key.account]
        self.endRemoveRows()
        if gone:
            self.accountsChanged.emit()

    def clear(self) -> None:
        had = bool(self._by_account)
        self.beginResetModel()
        self._order.clear()
        self._data.clear()
        self._removed.clear()
        self._by_account.clear()
        self._intents.clear()
        self._pending.clear()
        self._working.clear()
        self._elsewhere.clear()
        self._elsewhere_tip.clear()
        self._stale.clear()
        self._ages.clear()
        self._flash.clear()
        self.closedNotes.clear()
        self.endResetModel()
        if had:
            self.accountsChanged.emit()

    def set_working(self, key: PositionKey, orders: Sequence[WorkingOrder]) -> None:
        """The orders resting for this position; its Close button says how many."""
        new = tuple(orders)
        if self._working.get(key, ()) == new:
            return
        if new:
            self._working[key] = new
        else:
            self._working.pop(key, None)
        row = self._data.get(key)
        if row is not None:
            row.action = None
            self._emit_cells([row], _ACTION, _ACTION, _ACTION_ROLES)

    def set_elsewhere(self, key: PositionKey, desk: str | None,
                      holder: Holder | None = None) -> None:
        """Another desk started (``desk``, "Desk 3") or stopped (None) closing this position:
        its Close button says so, and its tooltip since when and when that desk's lease runs
        out (``holder``, when known; a renewal moves it). Only that row's cell is redrawn."""
        tip = None if desk is None else elsewhere_tip(desk, holder, self.wall())
        if self._elsewhere.get(key) == desk and self._elsewhere_tip.get(key) == tip:
            return
        if desk is None or tip is None:  # (no tip without a desk)
            self._elsewhere.pop(key, None)
            self._elsewhere_tip.pop(key, None)
        else:
            self._elsewhere[key] = desk
            self._elsewhere_tip[key] = tip
        row = self._data.get(key)
        if row is not None:
            row.action = None
            self._emit_cells([row], _ACTION, _ACTION, _ACTION_ROLES)

    def elsewhere(self, key: PositionKey) -> str | None:
        return self._elsewhere.get(key)

    def _shows_elsewhere(self, row: PositionRow) -> str | None:
        """The other desk to name on the button: not while this desk's own close is out."""
        if not self._elsewhere:
            return None
        desk = self._elsewhere.get(row.key)
        if desk is None or (row.intent is not None and row.intent.state.in_flight):
            return None
        return desk

    def set_environment(self, account: str, env: Environment | None) -> None:
        """The environment of one account's rows (its Env chip); rows may come before or after."""
        if self._envs.get(account) == env:
            return
        if env is None:
            del self._envs[account]
        else:
            self._envs[account] = env
        self._env_cells[account] = env_cell(env)
        rows = list(self._by_account.get(account, ()))
        for row in rows:
            assert row.position is not None
            self._store(row, row.position)
        self._emit_cells(rows, _ENV, _ENV, _ENV_ROLES)

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
        self._emit_cells(list(self._by_account.get(account, ())), 0, _LAST, STALE_ROLES)

    def set_intent(self, intent: CloseIntent) -> None:
        """Show a close's progress on its row's button; ignored once the row is gone.

        The row keeps a shallow copy as of this call: the desk's own object moves on before
        its journal record is durable, and a repaint in between must not show it early.
        """
        intent = copy.copy(intent)
        key = intent.key
        row = self._data.get(key)
        if row is None and key not in self._pending:
            return
        was_mismatch = self.mismatch(key)
        self._intents[key] = intent
        if row is None:
            return
        row.intent = intent
        row.action = None
        if intent_label(intent) == "Closed" and not intent.request.is_full:
            if intent.id in self._notes_said:  # said already: an echo does not say it again
                row.intent = None
            elif key not in self.closedNotes:
                self.closedNotes.start(key)
        else:
            self.closedNotes.drop(key)
        if self.mismatch(key) != was_mismatch:  # the red banner covers the whole row
            self._emit_cells([row], 0, _LAST, _ROW_ROLES)
        self._emit_cells([row], _ACTION, _ACTION, _ACTION_ROLES)

    def _end_closed_notes(self, keys: Sequence[PositionKey]) -> None:
        """A partial close has been said long enough: the row's button reads Close again."""
        for key in keys:
            row = self._data.get(key)
            if row is not None and row.intent is not None:
                self._notes_said.add(row.intent.id)
                row.intent = None
                row.action = None
                self._emit_cells([row], _ACTION, _ACTION, _ACTION_ROLES)

    def set_row_ages(self, ages: dict[PositionKey, float]) -> None:
        """The rows whose venue data is older than the stale threshold, with their age in
        seconds; every other row is fresh. Repaints only rows whose shown age changed."""
        data = self._data
        new = {k: int(a) for k, a in ages.items() if k in data}
        if new == self._ages:
            return
        keys = [k for k in set(new) | set(self._ages) if new.get(k) != self._ages.get(k)]
        self._ages = new
        self._emit_cells([data[k] for k in keys if k in data], 0, _LAST, STALE_ROLES)

    def flash(self, key: PositionKey, ms: int = FLASH_MS) -> None:
        """Light the row's Close cell for ``ms``: "this is the close you already sent"."""
        row = self._data.get(key)
        if row is None:
            return
        self._flash[key] = time.monotonic() + ms / 1000
        if not self._flash_timer.isActive() or self._flash_timer.remainingTime() > ms:
            self._flash_timer.start(ms)
        self._emit_cells([row], _ACTION, _ACTION, _ACTION_ROLES)

    def _end_flashes(self) -> None:
        now = time.monotonic()
        for key in [k for k, until in self._flash.items() if until <= now + 0.001]:
            del self._flash[key]
            row = self._data.get(key)
            if row is not None:
                self._emit_cells([row], _ACTION, _ACTION, _ACTION_ROLES)
        if self._flash:
            left = min(self._flash.values()) - now
            self._flash_timer.start(max(1, int(left * 1000)))

    def _new_row(self, pos: Position) -> PositionRow:
        """A row's record, filled in but not in the table yet (``_insert`` adds it)."""
        row = PositionRow(pos.key, -1)
        if self._intents:
            row.intent = self._intents.get(pos.key)
        self._store(row, pos)
        return row

    def _insert(self, rows: list[PositionRow]) -> None:
        if not rows:
            return
        first = len(self._order)
        new_accounts = False
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        for i, row in enumerate(rows, start=first + len(self._removed)):
            key = row.key
            row.index = i
            self._order.append(row)
            self._data[key] = row
            account = self._by_account.get(key.account)
            if account is None:
                account = self._by_account[key.account] = {}
                new_accounts = True
            account[row] = None
        self.endInsertRows()
        if new_accounts:
            self.accountsChanged.emit()

    def _store(self, row: PositionRow, pos: Position) -> tuple[str, ...]:
        account = pos.key.account
        env = self._env_cells.get(account)
        if env is None:
            env = self._env_cells[account] = env_cell(self._envs.get(account))
        fmt = row.fmt
        if not fmt.known and self._instruments is not None:
            fmt = row.fmt = number_format(self._instruments(pos.key))
        row.values, row.texts = position_cells(pos, env, fmt)
        row.position = pos
        if row.intent is not None:  # a residual's text follows the size
            row.action = None
        return row.texts

    def reformat(self) -> None:
        """Write every row's numbers again, once, after the way numbers are shown changed (the
        thousands separators): the same changed-cells signals as a repricing."""
        changed = [(row, cols) for row in self._order if row.position is not None
                   and (cols := self._update(row, row.position))]
        self._emit_changes(changed)

    def _update(self, row: PositionRow, new: Position) -> list[int]:
        """Store a new state; return the columns whose shown text changed (not emitted yet).

        Text, not value: 1.0 == 1.00 as Decimals, but the row must show what the venue sent.
        """
        old, old_values = row.texts, row.values
        texts = self._store(row, new)
        changed = [] if old == texts else [col for col in _VALUE_COLUMNS
                                           if old[col] != texts[col]]
        if self._watched:
            values = row.values
            changed.extend(col for col in self._watched if old_values[col] != values[col])
        return changed

    def _emit_changes(self, changed: list[tuple[PositionRow, list[int]]]) -> None:
        """One dataChanged per column per run of consecutive rows: exactly the changed cells,
        in as few signals as possible (10,000 repriced rows are two signals, not 20,000)."""
        by_col: dict[int, list[PositionRow]] = {}
        for row, cols in changed:
            for col in cols:
                by_col.setdefault(col, []).append(row)
            if _QUANTITY in cols and row.intent is not None:
                by_col.setdefault(_ACTION, []).append(row)  # "residual N", "12.5 open"
        for col in sorted(by_col):
            roles = _ACTION_ROLES if col == _ACTION else _PNL_ROLES \
                if col in _MONEY_COLUMNS else VALUE_ROLES
            self._emit_cells(by_col[col], col, col, roles)

    def _emit_cells(self, rows: Sequence[PositionRow], first: int, last: int,
                    roles: Sequence[int]) -> None:
        """dataChanged over ``rows`` x first..last, one signal per run of consecutive rows,
        then one call to each cells listener for the whole batch."""
        if not rows:
            return
        roles = list(roles)
        # Only when something listens: the table listens below, and a signal per run of
        # rows costs ~10 µs each, a lot when a repricing touches rows all over the model.
        if self.isSignalConnected(self._data_changed):
            for top, bottom in runs(self._indexes(rows)):
                self.dataChanged.emit(self.index(top, first), self.index(bottom, last), roles)
        for listener in self._listeners:
            listener(rows, first, last, roles)

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._order)

    def header_extra(self, col: Any, role: int) -> Any:
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return col.title or "Close"
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = index.row()
        if row >= len(self._order):
            return None
        return self.cell(self._order[row], index.column(), role)

    def cell(self, row: PositionRow, col: int, role: int) -> Any:
        """What one cell answers for one role; the sorted view asks this directly.

        The roles a painted cell asks for come first: this runs for every role of every cell
        on screen, at every repaint.
        """
        if role == _DISPLAY:
            if col < _FIRST_OPTIONAL:
                return row.texts[col]
            return self._action_text(row) if col == _ACTION else self.optional_text(row, col)
        if role == _BACKGROUND:
            intent = row.intent
            return self._mismatch_brush if intent is not None \
                and intent.verified_flat is False else None
        if col == _ACTION:
            if role == _KEY:
                return row.key
            if role in (_FONT, _FOREGROUND):
                return None
            if role == _ALIGN:
                return _CENTER
            return self._action_data(row, role)
        if role == _FONT:
            if self._is_stale(row.key):
                return self._mono_italic if _NUMERIC[col] else self._italic
            return self._mono if _NUMERIC[col] else None
        if role == _ALIGN:
            return RIGHT if _NUMERIC[col] else LEFT
        if role == _FOREGROUND:
            if self._is_stale(row.key):
                return self._stale_brush
            if col != _PNL and col != _REALISED:
                return None
            pnl = row.values[col]
            if pnl is not None and pnl > 0:
                return self._profit_brush
            if pnl is not None and pnl < 0:
                return self._loss_brush
            return None
        if role == _KEY:
            return row.key
        if role == _SORT:
            return row.values[col]
        if col == _ENV and role in (_ENV_R, _TOOLTIP, _ACCESSIBLE):
            return self._env_data(row.key, role)
        if role == _ACCESSIBLE:
            return row.texts[col] if col < _FIRST_OPTIONAL else self.optional_text(row, col)
        if role == _TOOLTIP:
            stale = self._stale_tip(row.key)
            own = self._optional_tip(row, col) if col >= _FIRST_OPTIONAL else None
            if own is None or stale is None:
                return own or stale
            return f"{own}\n{stale}"
        return None

    def optional_text(self, row: PositionRow, col: int) -> str:
        """An optional column's text, written as it is painted (only shown rows ask)."""
        value = row.values[col]
        fmt = row.fmt
        if col == _NOTIONAL:
            return fmt.money(value)
        if col == _REALISED:
            return NOT_REPORTED if value is None else fmt.pnl(value)
        if col == _LEVERAGE:
            return "" if value is None else f"{trimmed(value)}×"
        if col == _LIQUIDATION:
            return fmt.price(value)
        if col == _AGE:
            pos = row.position
            return "" if pos is None else f"{max(0, int(self._clock() - pos.received_at))} s"
        return ""

    @staticmethod
    def _optional_tip(row: PositionRow, col: int) -> str | None:
        if col == _REALISED and row.values[col] is None:
            return NOT_REPORTED_TIP
        if col == _AGE:
            return AGE_TIP
        return None

    def _is_stale(self, key: PositionKey) -> bool:
        return (bool(self._stale) and key.account in self._stale) \
            or (bool(self._ages) and key in self._ages)

    def _env_data(self, key: PositionKey, role: int) -> Any:
        env = self._envs.get(key.account)
        if role == _ENV_R:
            return env.value if env is not None else None
        if role == _TOOLTIP:
            tip = ENV_TIPS.get(env, "") if env is not None else "Environment not known yet"
            stale = self._stale_tip(key)
            return f"{tip}\n{stale}" if stale is not None else tip
        return f"Environment {env_label(env)}" if env is not None else "Environment unknown"

    def _stale_tip(self, key: PositionKey) -> str | None:
        """Why this row's numbers may be out of date (its own age, its account's state)."""
        account = self._stale.get(key.account)
        age = self._ages.get(key)
        if age is None:
            return account
        own = stale_age_text(age)
        return own if account is None else f"{own}\n{account}"
