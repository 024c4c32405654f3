"""Table models for the positions book, the working orders and the order log.

All are keyed by identity, insert and remove rows properly, and report ``dataChanged`` over
only the cells that changed, so views repaint little and selection survives repricing. Numbers
sort in Python (``SORT_ROLE`` + :class:`PositionsProxy`): Qt would otherwise compare them as
strings or truncate them to 32 bits.
"""

from __future__ import annotations

import enum
import itertools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)
from PySide6.QtGui import QBrush, QColor, QFont, QFontDatabase

from core.desk import CloseIntent, IntentState
from core.explain import NO_REASON, explain
from core.model import (
    ConnectionEvent,
    ConnectionState,
    Environment,
    Fill,
    OrderSide,
    OrderStatus,
    OrderUpdate,
    Position,
    PositionKey,
    PositionSide,
    ProtocolError,
    TriggerEvent,
    Venue,
    WorkingKind,
    WorkingOrder,
)
from gui.models.columns import ColumnsModel

__all__ = [
    "BUTTON_ROLE",
    "COALESCE_MS",
    "ENV_COLOURS",
    "ENV_ROLE",
    "FLASH_MS",
    "KEY_ROLE",
    "MISMATCH_ROW",
    "NO_REASON_NEXT_STEP",
    "RESIDUAL_ROLE",
    "SORT_ROLE",
    "CancelState",
    "LogColumn",
    "LogEntry",
    "LogModel",
    "PositionColumn",
    "PositionsModel",
    "PositionsProxy",
    "WorkingColumn",
    "WorkingOrdersModel",
    "describe_working",
    "env_label",
    "fmt_decimal",
    "fmt_trigger",
    "intent_label",
    "intent_text",
    "refusal_text",
    "refusal_words",
    "stale_age_text",
]

SORT_ROLE = Qt.ItemDataRole.UserRole + 1  # a Python value to sort by (Decimal, str, float)
KEY_ROLE = Qt.ItemDataRole.UserRole + 2  # the row's identity: PositionKey, or (account, order id)
BUTTON_ROLE = Qt.ItemDataRole.UserRole + 3  # a painted button's state label (picks its colours)
# The row's environment as its plain value ("live"; None while unknown): its chip. A plain str,
# because PySide turns a StrEnum into a QString on its way through Qt anyway.
ENV_ROLE = Qt.ItemDataRole.UserRole + 4
# The Close cell of a row an IOC close left a remainder on: "residual 3" (its badge), else None.
# The cell then paints the badge and a "Close residual" button instead of the Close button.
RESIDUAL_ROLE = Qt.ItemDataRole.UserRole + 5
FLASH_MS = 1200  # how long a row's Close cell flashes when a second click joins its close
COALESCE_MS = 50
FLUSH_SLICE = 256  # rows applied between budget checks
FLUSH_BUDGET = 0.008  # seconds of one loop turn a timed flush may use

AnyIndex = QModelIndex | QPersistentModelIndex

PROFIT = QColor("#1b7f3b")
LOSS = QColor("#c62828")
MUTED = QColor("#6b7280")
WARN = QColor("#b45309")
STALE = QColor("#9aa1ab")
MISMATCH_ROW = QColor("#fde2e2")  # a full close the venue still shows open: the whole row

# (fill, ink) of each environment's chip, banner and badge: LIVE red, TESTNET blue, DEMO amber.
ENV_COLOURS: dict[Environment, tuple[str, str]] = {
    Environment.LIVE: ("#c62828", "#ffffff"),
    Environment.TESTNET: ("#1d5fc4", "#ffffff"),
    Environment.DEMO: ("#f5b301", "#3d2c00"),
}
_ENV_RANK = {Environment.LIVE: 0, Environment.TESTNET: 1, Environment.DEMO: 2}
_ENV_TIPS = {
    Environment.LIVE: "LIVE — real orders, real money",
    Environment.TESTNET: "TESTNET — the venue's test environment; no real money",
    Environment.DEMO: "DEMO — the embedded simulator; no real orders",
}


def env_label(env: Environment | None) -> str:
    """How an environment is written everywhere it is shown: LIVE, TESTNET, DEMO."""
    return env.value.upper() if env is not None else ""

_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter


def fmt_decimal(value: Decimal | None, *, signed: bool = False) -> str:
    """Exactly the digits the venue sent (no float, no exponent), optionally with a + sign."""
    if value is None:
        return ""
    text = format(value, "f")
    if text.startswith("-") and value == 0:
        text = text[1:]
    if signed and value > 0:
        text = "+" + text
    return text


def _monospace() -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    return font


def _italic(base: QFont | None = None) -> QFont:
    """Italic on top of ``base``; from nothing, a font that sets only italic, so the view's own
    family and size (from the style sheet) still apply: the delegate resolves it against them."""
    font = QFont(base) if base is not None else QFont()
    font.setItalic(True)
    return font


def _runs(rows: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted rows as (first, last) runs of consecutive rows: one dataChanged per run."""
    out: list[tuple[int, int]] = []
    for row in sorted(rows):
        if out and row == out[-1][1] + 1:
            out[-1] = (out[-1][0], row)
        else:
            out.append((row, row))
    return out


_STALE_ROLES = [
    Qt.ItemDataRole.ForegroundRole,
    Qt.ItemDataRole.FontRole,
    Qt.ItemDataRole.ToolTipRole,
]


def fmt_trigger(price: Decimal | None, event: TriggerEvent | None) -> str:
    """A trigger as the user reads it: "4400 Mark"."""
    if price is None:
        return ""
    text = fmt_decimal(price)
    return f"{text} {event.label}" if event is not None else text


def describe_working(order: WorkingOrder) -> str:
    """One line for a tooltip or a message: "Limit sell 5 @ 120.5", "Trigger sell 5 at 4400
    Mark"."""
    side = order.side.value.lower() if order.side is not None else ""
    qty = fmt_decimal(order.remaining if order.remaining is not None else order.quantity)
    head = " ".join(p for p in (order.kind.value.capitalize(), side, qty or "all") if p)
    if order.kind is WorkingKind.TRIGGER:
        text = f"{head} at {fmt_trigger(order.trigger_price, order.trigger_event)}"
        if order.price is not None:
            text += f", limit {fmt_decimal(order.price)}"
        return text
    return f"{head} @ {fmt_decimal(order.price)}" if order.price is not None else head


# Short words for a refusal, after "Rejected · " on the row's button (the full cause and next
# step are its tooltip, the log line and the status bar). Keys are core.explain categories.
_REFUSAL_WORDS = {
    "already_flat": "already flat",
    "would_increase": "would increase",
    "below_minimum": "below minimum",
    "above_maximum": "above maximum",
    "tick_precision": "tick size",
    "lot_precision": "lot size",
    "price_band": "price band",
    "clock_skew": "clock skew",
    "rate_limited": "rate limited",
    "market_closed": "market closed",
    "margin": "margin check",
    "auth": "key refused",
    "venue_generic": "no reason given",
    "no_reason": "no reason given",
    "venue_error": "venue error",
    "trigger_side": "trigger side",
    "self_trade": "self-trade",
    "too_many_orders": "too many orders",
    "account_blocked": "account blocked",
}
# QFEX answers some refusals with a bare REJECTED and no text (VENUES.md 1.8), so there is no
# cause to give; core.explain says so, and what to check (one wording for GUI, CLI, journal).
NO_REASON_NEXT_STEP = NO_REASON.next_step


def refusal_words(intent: CloseIntent) -> str:
    """"margin check", "already flat", ...: the refusal's category in two words ("" if none)."""
    found = explain(intent.raw_status, intent.message)
    if found is None:
        return "no reason given" if not intent.next_step else ""
    return _REFUSAL_WORDS.get(found.category, "")


def refusal_text(intent: CloseIntent) -> str:
    """The refusal in plain words: the desk's cause and next step, or what to check when the
    venue gave no reason at all."""
    message = intent.message or "Rejected by the venue"
    if intent.next_step:
        return message
    found = explain(intent.raw_status, intent.message) or NO_REASON
    if found.next_step in message:
        return message
    return f"{message.rstrip('.')}. {found.next_step}"


def _rests_as(intent: CloseIntent) -> str:
    return "trigger" if intent.request.trigger is not None else "limit"


def intent_label(intent: CloseIntent | None) -> str:
    """The state word of the latest close of a row: it names the Close button's colours and is
    the head of its text. "Close" when there is nothing to say."""
    if intent is None:
        return "Close"
    state = intent.state
    if state is IntentState.SENDING:
        return "Sending…"
    if state is IntentState.FILLED:
        if intent.verified_flat is False:
            return "Mismatch"
        if intent.verified_flat is True:
            return "Verified flat"
        return "Filled"
    if state is IntentState.CANCELLED:
        # Nothing filled and nothing rests: the venue let the close go (an IOC with no
        # liquidity, say). A resting close cancelled by the user is simply Cancelled.
        if intent.filled == 0 and intent.request.limit_price is None \
                and intent.request.trigger is None:
            return "Not filled"
        return "Cancelled"
    return state.value


def intent_text(intent: CloseIntent | None, residual: Decimal | None = None) -> str:
    """The Close button's words: its state, then what matters about it.

    "Sending…", "Acknowledged", "Filled · verifying", "✓ Verified flat", "Resting limit",
    "Partly filled (residual 3)", "Rejected · margin check", "Unknown · connection lost",
    "Mismatch — check venue".
    """
    label = intent_label(intent)
    if intent is None:
        return label
    state = intent.state
    if label == "Mismatch":
        return "Mismatch — check venue"
    if label == "Verified flat":
        return "✓ Verified flat"
    if label == "Filled" and intent.request.is_full:
        return "Filled · verifying"
    if state is IntentState.RESTING:
        return f"Resting {_rests_as(intent)}"
    if state is IntentState.PARTIAL:
        return f"Partly filled (residual {fmt_decimal(residual)})" if residual else label
    if state is IntentState.REJECTED:
        words = refusal_words(intent)
        return f"{label} · {words}" if words else label
    if state is IntentState.UNKNOWN:
        return "Unknown · connection lost"
    return label


def _intent_tooltip(intent: CloseIntent | None, residual: Decimal | None = None) -> str:
    if intent is None:
        return "Close this position"
    state = intent.state
    if state is IntentState.REJECTED:
        return f"Last close: Rejected — {refusal_text(intent)}\nClick to close again."
    if intent.verified_flat is False:
        return f"{intent.message}\nClick to close again (a new close; nothing was resent)."
    text = f"Last close: {intent_label(intent)}"
    if state is IntentState.RESTING:
        text = f"Last close: Resting at the venue as a {_rests_as(intent)} order"
    if intent.message and intent.message != state.value:
        text += f" — {intent.message}"
    if state is IntentState.PARTIAL and residual:
        text += (f"\nResidual {fmt_decimal(residual)} is still open. Close residual sends a new "
                 "close of it (with the usual confirmation); nothing is ever resent on its own.")
    elif state.in_flight:
        text += "\nClicking again sends nothing new: it shows this close."
    elif state is IntentState.UNKNOWN:
        text += "\nIt was not resent; it is reconciled when the venue is back."
    return text


def action_text(intent: CloseIntent | None, working: int, residual: Decimal | None = None) -> str:
    """The Close button's full text: its state, plus a marker when orders rest for the row."""
    label = intent_text(intent, residual)
    return f"{label} · {working} working" if working else label


def stale_age_text(age: float) -> str:
    """A row's own staleness, first line of its tooltip: "stale 12 s — ..."."""
    seconds = int(age)
    return (f"stale {seconds} s — no venue data for this row for {seconds} s; its numbers may be "
            "out of date")


# ============================================================================ positions


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
# Roles whose value can change when a cell's content changes; dataChanged names exactly these.
_VALUE_ROLES = [
    Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.AccessibleTextRole,
    SORT_ROLE,
]
_PNL_ROLES = [*_VALUE_ROLES, Qt.ItemDataRole.ForegroundRole]
_ACTION_ROLES = [
    Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.ToolTipRole,
    Qt.ItemDataRole.AccessibleTextRole,
    SORT_ROLE,
    BUTTON_ROLE,
    RESIDUAL_ROLE,
]
_ROW_ROLES = [Qt.ItemDataRole.BackgroundRole]


_VENUE_LABELS = {v: v.label for v in Venue}
_SIDE_LABELS = {s: s.value.capitalize() for s in PositionSide}


def _position_cells(
    pos: Position, env: Environment | None
) -> tuple[tuple[Any, ...], tuple[str, ...]]:
    """A row's Python values (for sorting) and texts (for showing), in column order.

    Written out rather than looped over columns: it runs for every repricing of every row.
    LIVE sorts first: it is the environment that needs the most care.
    """
    k = pos.key
    venue = _VENUE_LABELS[k.venue]
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
        self._mono = _monospace()
        self._italic = _italic()
        self._mono_italic = _italic(self._mono)

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
        roles = [*_VALUE_ROLES, ENV_ROLE, Qt.ItemDataRole.ToolTipRole]
        for first, end in _runs(rows):
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
        for first, end in _runs(rows):
            self.dataChanged.emit(self.index(first, 0), self.index(end, last), _STALE_ROLES)

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
        for first, end in _runs(changed):
            self.dataChanged.emit(self.index(first, 0), self.index(end, last), _STALE_ROLES)

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
                roles = _PNL_ROLES if col == PositionColumn.PNL else _VALUE_ROLES
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
                tip = _ENV_TIPS.get(env, "") if env is not None else "Environment not known yet"
                return f"{tip}\n{stale}" if stale is not None else tip
            if role == Qt.ItemDataRole.AccessibleTextRole:
                return f"Environment {env_label(env)}" if env is not None else "Environment unknown"
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._texts[key][col]
        if role == SORT_ROLE:
            return self._values[key][col]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if col.numeric else _LEFT
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
            lines = [_intent_tooltip(intent, residual)]
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


class PositionsProxy(QSortFilterProxyModel):
    """Sorts by the source's Python values, so Decimals compare exactly and numerically, and
    filters by venue, account and symbol text.

    Sorting is on several keys: the clicked column first, then Venue → Account → Symbol, so rows
    that tie stay in a fixed, readable order. With ``group_by_account`` the account comes before
    everything and stays ascending whichever way the column is sorted: each account's rows sit
    together, sorted by the column inside.
    """

    _TIE_BREAK = (PositionColumn.VENUE, PositionColumn.ACCOUNT, PositionColumn.SYMBOL)
    _GROUPED_TIE_BREAK = (PositionColumn.VENUE, PositionColumn.SYMBOL)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._positions: PositionsModel | None = None
        self._venue: Venue | None = None
        self._account: str | None = None
        self._symbol = ""
        self._group = False
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    def setSourceModel(self, model: QAbstractItemModel) -> None:
        # Kept on the Python side: lessThan runs O(n log n) times, and asking Qt for the
        # source model on every call would double its cost.
        self._positions = model if isinstance(model, PositionsModel) else None
        super().setSourceModel(model)

    # ------------------------------------------------------------------ filtering
    @property
    def venue_filter(self) -> Venue | None:
        return self._venue

    @property
    def account_filter(self) -> str | None:
        return self._account

    @property
    def symbol_filter(self) -> str:
        return self._symbol

    def set_venue_filter(self, venue: Venue | None) -> None:
        if venue != self._venue:
            self.beginFilterChange()
            self._venue = venue
            self.endFilterChange()

    def set_account_filter(self, account: str | None) -> None:
        if account != self._account:
            self.beginFilterChange()
            self._account = account
            self.endFilterChange()

    def set_symbol_filter(self, text: str) -> None:
        text = text.strip().casefold()
        if text != self._symbol:
            self.beginFilterChange()
            self._symbol = text
            self.endFilterChange()

    @property
    def filtering(self) -> bool:
        return self._venue is not None or self._account is not None or bool(self._symbol)

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        if not self.filtering:
            return True
        if self._positions is not None:
            key = self._positions.key_at(source_row)
        else:
            key = self.sourceModel().index(source_row, 0, source_parent).data(KEY_ROLE)
        if not isinstance(key, PositionKey):
            return True
        if self._venue is not None and key.venue is not self._venue:
            return False
        if self._account is not None and key.account != self._account:
            return False
        return not self._symbol or self._symbol in key.symbol.casefold()

    # ------------------------------------------------------------------ sorting
    @property
    def group_by_account(self) -> bool:
        return self._group

    def set_group_by_account(self, group: bool) -> None:
        if group != self._group:
            self._group = group
            self.invalidate()  # re-sort with the new keys (and re-filter, which is cheap)

    def _value(self, row: int, column: int, parent: AnyIndex) -> Any:
        if self._positions is not None:
            return self._positions.sort_value(row, column)
        return self.sourceModel().index(row, column, parent).data(self.sortRole())

    def _less(self, a: Any, b: Any) -> bool | None:
        """a < b, or None when they tie. Missing values (no mark yet) go to the bottom whichever
        way the column is sorted."""
        if a is None or b is None:
            if a is None and b is None:
                return None
            ascending = self.sortOrder() == Qt.SortOrder.AscendingOrder
            return (b is None) if ascending else (a is None)
        if isinstance(a, str) and isinstance(b, str):
            a, b = a.casefold(), b.casefold()
        try:
            if a == b:
                return None
            return bool(a < b)
        except TypeError:
            sa, sb = str(a), str(b)
            return None if sa == sb else sa < sb

    def lessThan(self, left: AnyIndex, right: AnyIndex) -> bool:
        lr, rr, col, parent = left.row(), right.row(), left.column(), left.parent()
        # Qt asks lessThan(right, left) for a descending sort. The group and tie-break keys
        # answer the other way round then, so they read A→Z whichever way the column is sorted.
        ascending = self.sortOrder() == Qt.SortOrder.AscendingOrder
        if self._group:
            acct = self._less(self._value(lr, PositionColumn.ACCOUNT, parent),
                              self._value(rr, PositionColumn.ACCOUNT, parent))
            if acct is not None:
                return acct if ascending else not acct
        first = self._less(self._value(lr, col, parent), self._value(rr, col, parent))
        if first is not None:
            return first
        for tie in self._GROUPED_TIE_BREAK if self._group else self._TIE_BREAK:
            if tie == col:
                continue
            result = self._less(self._value(lr, tie, parent), self._value(rr, tie, parent))
            if result is not None:
                return result if ascending else not result
        return False

    def key_at(self, row: int) -> PositionKey | None:
        source = self.sourceModel()
        if not isinstance(source, PositionsModel) or not 0 <= row < self.rowCount():
            return None
        return source.key_at(self.mapToSource(self.index(row, 0)).row())

    def proxy_row_of(self, key: PositionKey) -> int | None:
        source = self.sourceModel()
        if not isinstance(source, PositionsModel):
            return None
        row = source.row_of(key)
        if row is None:
            return None
        return self.mapFromSource(source.index(row, 0)).row()


# ============================================================================ working orders


class WorkingColumn(enum.IntEnum):
    VENUE = 0
    ACCOUNT = 1
    SYMBOL = 2
    KIND = 3
    SIDE = 4
    QUANTITY = 5
    REMAINING = 6
    PRICE = 7
    TRIGGER = 8
    STATUS = 9
    ACTION = 10

    @property
    def title(self) -> str:
        return _WORKING_TITLES[self]

    @property
    def numeric(self) -> bool:
        return self in _NUMERIC_WORKING_COLUMNS


_WORKING_TITLES = {
    WorkingColumn.VENUE: "Venue",
    WorkingColumn.ACCOUNT: "Account",
    WorkingColumn.SYMBOL: "Symbol",
    WorkingColumn.KIND: "Kind",
    WorkingColumn.SIDE: "Side",
    WorkingColumn.QUANTITY: "Quantity",
    WorkingColumn.REMAINING: "Remaining",
    WorkingColumn.PRICE: "Price",
    WorkingColumn.TRIGGER: "Trigger",
    WorkingColumn.STATUS: "Venue status",
    WorkingColumn.ACTION: "",
}
_NUMERIC_WORKING_COLUMNS = frozenset(
    {WorkingColumn.QUANTITY, WorkingColumn.REMAINING, WorkingColumn.PRICE, WorkingColumn.TRIGGER}
)
_WORKING_VALUE_COLUMNS = tuple(c for c in WorkingColumn if c is not WorkingColumn.ACTION)
_KIND_LABELS = {WorkingKind.LIMIT: "Limit", WorkingKind.TRIGGER: "Trigger"}
_ORDER_SIDE_LABELS = {s: s.value.capitalize() for s in OrderSide}
_CANCEL_ROLES = [
    Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.ToolTipRole,
    BUTTON_ROLE,
]

WorkingIdent = tuple[str, str]  # (account, order id), as WorkingOrder.ident


class CancelState(enum.StrEnum):
    """What the row's Cancel button says. The label is the state, so the two never disagree."""

    IDLE = "Cancel"
    CANCELLING = "Cancelling…"
    CONFIRMED = "Cancelled"  # the venue said yes; the row goes when the removal arrives


def _working_texts(o: WorkingOrder) -> tuple[str, ...]:
    if o.price is not None:
        price = fmt_decimal(o.price)
    else:
        price = "Market" if o.kind is WorkingKind.TRIGGER else ""
    return (
        _VENUE_LABELS[o.venue],
        o.account,
        o.symbol,
        _KIND_LABELS.get(o.kind, o.kind.value),
        _ORDER_SIDE_LABELS[o.side] if o.side is not None else "",
        fmt_decimal(o.quantity) or "All",
        fmt_decimal(o.remaining),
        price,
        fmt_trigger(o.trigger_price, o.trigger_event),
        o.raw_status,
    )


class WorkingOrdersModel(ColumnsModel):
    """Orders resting at the venues (limit closes and triggers), one row per (account, order id).

    Rows come and go with the desk's WorkingOrder / WorkingOrderRemoved events; the Cancel
    button's state (``set_cancelling`` ...) lives here because only the GUI knows a click
    happened before the desk's cancel task runs.
    """

    COLUMNS = WorkingColumn

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._idents: list[WorkingIdent] = []
        self._rows: dict[WorkingIdent, int] = {}
        self._orders: dict[WorkingIdent, WorkingOrder] = {}
        self._texts: dict[WorkingIdent, tuple[str, ...]] = {}
        self._cancel: dict[WorkingIdent, CancelState] = {}
        self._refused: dict[WorkingIdent, str] = {}  # the last refused cancel's reason
        self._stale: dict[str, str] = {}
        self._mono = _monospace()
        self._italic = _italic()
        self._mono_italic = _italic(self._mono)

    # ------------------------------------------------------------------ queries
    def order(self, ident: WorkingIdent) -> WorkingOrder | None:
        return self._orders.get(ident)

    def ident_at(self, row: int) -> WorkingIdent:
        return self._idents[row]

    def row_of(self, ident: WorkingIdent) -> int | None:
        return self._rows.get(ident)

    def orders(self) -> list[WorkingOrder]:
        return [self._orders[i] for i in self._idents]

    def orders_for(self, key: PositionKey) -> list[WorkingOrder]:
        return [
            o for o in self.orders()
            if o.account == key.account and o.venue is key.venue and o.symbol == key.symbol
        ]

    def cancel_state(self, ident: WorkingIdent) -> CancelState:
        return self._cancel.get(ident, CancelState.IDLE)

    def refused_reason(self, ident: WorkingIdent) -> str | None:
        return self._refused.get(ident)

    # ------------------------------------------------------------------ updates
    def upsert(self, order: WorkingOrder) -> None:
        ident = order.ident
        texts = _working_texts(order)
        row = self._rows.get(ident)
        if row is None:
            row = len(self._idents)
            self.beginInsertRows(QModelIndex(), row, row)
            self._idents.append(ident)
            self._rows[ident] = row
            self._orders[ident] = order
            self._texts[ident] = texts
            self.endInsertRows()
            return
        old = self._texts[ident]
        self._orders[ident] = order
        self._texts[ident] = texts
        changed = [c for c in _WORKING_VALUE_COLUMNS if old[c] != texts[c]]
        for first, last in _runs(changed):
            self.dataChanged.emit(self.index(row, first), self.index(row, last), _VALUE_ROLES)

    def remove(self, ident: WorkingIdent) -> WorkingOrder | None:
        """Drop the row; returns the order it showed (None if there was none)."""
        row = self._rows.get(ident)
        if row is None:
            return None
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._idents[row]
        del self._rows[ident]
        order = self._orders.pop(ident)
        del self._texts[ident]
        self._cancel.pop(ident, None)
        self._refused.pop(ident, None)
        for i in range(row, len(self._idents)):
            self._rows[self._idents[i]] = i
        self.endRemoveRows()
        return order

    def clear(self) -> None:
        self.beginResetModel()
        self._idents.clear()
        self._rows.clear()
        self._orders.clear()
        self._texts.clear()
        self._cancel.clear()
        self._refused.clear()
        self._stale.clear()
        self.endResetModel()

    def set_cancelling(self, ident: WorkingIdent) -> None:
        self._set_cancel(ident, CancelState.CANCELLING)

    def set_cancel_idle(self, ident: WorkingIdent) -> None:
        self._set_cancel(ident, CancelState.IDLE)

    def set_cancel_confirmed(self, ident: WorkingIdent) -> None:
        self._refused.pop(ident, None)
        self._set_cancel(ident, CancelState.CONFIRMED)

    def set_cancel_refused(self, ident: WorkingIdent, reason: str) -> None:
        """The cancel was refused: the order may still be working, so the row stays and its
        button offers Cancel again with the reason as its tooltip."""
        if ident not in self._rows:
            return
        self._refused[ident] = reason
        self._set_cancel(ident, CancelState.IDLE, force=True)

    def _set_cancel(self, ident: WorkingIdent, state: CancelState, force: bool = False) -> None:
        row = self._rows.get(ident)
        if row is None:
            return
        if not force and self._cancel.get(ident, CancelState.IDLE) is state:
            return
        if state is CancelState.IDLE:
            self._cancel.pop(ident, None)
        else:
            self._cancel[ident] = state
        idx = self.index(row, WorkingColumn.ACTION)
        self.dataChanged.emit(idx, idx, _CANCEL_ROLES)

    def set_stale(self, account: str, reason: str | None) -> None:
        """As PositionsModel.set_stale: the account's resting orders may have changed unseen."""
        if self._stale.get(account) == reason:
            return
        if reason is None:
            del self._stale[account]
        else:
            self._stale[account] = reason
        rows = [i for i, ident in enumerate(self._idents) if ident[0] == account]
        last = len(WorkingColumn) - 1
        for first, end in _runs(rows):
            self.dataChanged.emit(self.index(first, 0), self.index(end, last), _STALE_ROLES)

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._idents)

    def header_extra(self, col: Any, role: int) -> Any:
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return col.title or "Cancel"
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._idents):
            return None
        ident = self._idents[index.row()]
        col = WorkingColumn(index.column())
        if role == KEY_ROLE:
            return ident
        stale = self._stale.get(ident[0])
        if col is WorkingColumn.ACTION:
            return self._action_data(ident, role, stale)
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._texts[ident][col]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if col.numeric else _LEFT
        if role == Qt.ItemDataRole.ForegroundRole:
            if stale is not None:
                return QBrush(STALE)
            return QBrush(MUTED) if col is WorkingColumn.STATUS else None
        if role == Qt.ItemDataRole.FontRole:
            if stale is not None:
                return self._mono_italic if col.numeric else self._italic
            return self._mono if col.numeric else None
        if role == Qt.ItemDataRole.ToolTipRole:
            if stale is not None:
                return stale
            order = self._orders[ident]
            if col is WorkingColumn.KIND and order.order_type:
                return f"Venue order type: {order.order_type}"
            if col is WorkingColumn.SYMBOL:
                return f"Order {order.order_id}: {describe_working(order)}"
            return None
        return None

    def _action_data(self, ident: WorkingIdent, role: int, stale: str | None) -> Any:
        state = self._cancel.get(ident, CancelState.IDLE)
        if role == Qt.ItemDataRole.DisplayRole:
            return state.value
        if role == BUTTON_ROLE:
            was_refused = state is CancelState.IDLE and ident in self._refused
            return "Refused" if was_refused else state.value
        if role == Qt.ItemDataRole.ToolTipRole:
            refused = self._refused.get(ident)
            if state is CancelState.CANCELLING:
                tip = "A cancel is on its way to the venue; clicking again sends nothing new"
            elif state is CancelState.CONFIRMED:
                tip = "The venue confirmed the cancel; the row goes when the order leaves its book"
            elif refused is not None:
                tip = f"The last cancel was refused: {refused}"
            else:
                tip = "Cancel this order at the venue (sent once)"
            return tip if stale is None else f"{tip}\n{stale}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            order = self._orders[ident]
            return f"Cancel order {order.order_id} ({order.symbol} on {order.account})"
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return Qt.AlignmentFlag.AlignCenter
        return None


# ============================================================================ log


class LogColumn(enum.IntEnum):
    TIME = 0
    KIND = 1
    VENUE = 2
    ACCOUNT = 3
    SYMBOL = 4
    STATUS = 5
    RAW_STATUS = 6
    QUANTITY = 7
    REMAINING = 8
    PRICE = 9
    MESSAGE = 10

    @property
    def title(self) -> str:
        return _LOG_TITLES[self]


_LOG_TITLES = {
    LogColumn.TIME: "Time",
    LogColumn.KIND: "Kind",
    LogColumn.VENUE: "Venue",
    LogColumn.ACCOUNT: "Account",
    LogColumn.SYMBOL: "Symbol",
    LogColumn.STATUS: "Status",
    LogColumn.RAW_STATUS: "Venue status",
    LogColumn.QUANTITY: "Quantity",
    LogColumn.REMAINING: "Remaining",
    LogColumn.PRICE: "Price",
    LogColumn.MESSAGE: "Message",
}
_NUMERIC_LOG_COLUMNS = frozenset({LogColumn.QUANTITY, LogColumn.REMAINING, LogColumn.PRICE})


def fmt_time(epoch: float) -> str:
    """Local wall time with milliseconds: HH:MM:SS.mmm."""
    dt = datetime.fromtimestamp(epoch)
    return dt.strftime("%H:%M:%S.") + f"{dt.microsecond // 1000:03d}"


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One log line, its text fixed when it arrives (the log never changes a past line)."""

    at: float
    kind: str
    venue: str = ""
    account: str = ""
    symbol: str = ""
    status: str = ""
    raw_status: str = ""
    quantity: str = ""
    remaining: str = ""
    price: str = ""
    message: str = ""
    tone: str = ""  # "good", "bad", "warn" or "" — drives the colour; "bad" reddens the line
    detail: str = ""  # more than the Message column has room for (its tooltip)
    key: PositionKey | None = None  # the row a click on this line selects, if it is about one

    def text(self, column: LogColumn) -> str:
        if column is LogColumn.TIME:
            return fmt_time(self.at)
        return str(getattr(self, column.name.lower()))

    def tooltip(self) -> str:
        """The Message column's tooltip: the plain-language text, then the venue's own words."""
        lines = [self.message] if self.message else []
        if self.raw_status:
            lines.append(f"Venue status: {self.raw_status}")
        if self.detail:
            lines.append(self.detail)
        return "\n".join(lines)

    @classmethod
    def from_update(cls, u: OrderUpdate) -> LogEntry:
        """The session's plain-language message goes in Message; the venue's own status text
        stays beside the normalised status, so support can match it to the venue's docs."""
        tone = {
            OrderStatus.FILLED: "good",
            OrderStatus.PARTIAL: "warn",
            OrderStatus.REJECTED: "bad",
            OrderStatus.UNKNOWN: "bad",
            OrderStatus.CANCELLED: "warn",
        }.get(u.status, "")
        return cls(
            at=u.received_at,
            kind="Order",
            venue=u.venue.label,
            account=u.account,
            symbol=u.symbol,
            status=u.status.value,
            raw_status=u.raw_status,
            quantity=fmt_decimal(u.quantity),
            remaining=fmt_decimal(u.remaining),
            price=fmt_decimal(_shown_price(u)),
            message=u.message,
            tone=tone,
            detail=_ids(u.order_id, u.client_order_id),
            key=PositionKey(u.account, u.venue, u.symbol),
        )

    @classmethod
    def from_fill(cls, f: Fill) -> LogEntry:
        side = f.side.value if f.side is not None else ""
        return cls(
            at=f.received_at,
            kind="Fill",
            venue=f.venue.label,
            account=f.account,
            symbol=f.symbol,
            status="FILL",
            raw_status=side,
            quantity=fmt_decimal(f.quantity),
            price=fmt_decimal(f.price),
            message=f"fee {fmt_decimal(f.fee)}" if f.fee is not None else "",
            tone="good",
            key=PositionKey(f.account, f.venue, f.symbol),
        )

    @classmethod
    def from_intent(cls, intent: CloseIntent, what: str, *, at: float | None = None) -> LogEntry:
        """A line about a close itself, where no venue line says it: "verified flat", a
        mismatch, or a refusal that never reached the venue. ``what`` is its Status text."""
        key = intent.key
        req = intent.request
        tone = {"VERIFIED FLAT": "good", "MISMATCH": "bad", "REJECTED": "bad",
                "UNKNOWN": "bad", "PARTIAL": "warn"}.get(what, "")
        if what == "VERIFIED FLAT":
            message = (f"Verified flat: {key.venue.label} shows no {key.symbol} position on "
                       f"{key.account} after the close.")
        elif what == "REJECTED":
            message = refusal_text(intent)
        else:
            message = intent.message
        return cls(
            at=time.time() if at is None else at,
            kind="Close",
            venue=key.venue.label,
            account=key.account,
            symbol=key.symbol,
            status=what,
            raw_status=intent.raw_status,
            quantity=fmt_decimal(req.quantity if req.quantity is not None
                                 else req.position_quantity),
            remaining=fmt_decimal(intent.remaining),
            price=fmt_decimal(req.limit_price),
            message=message,
            tone=tone,
            detail=f"intent {intent.id}, client order {req.client_order_id}",
            key=key,
        )

    @classmethod
    def from_connection(cls, e: ConnectionEvent) -> LogEntry:
        tone = {
            ConnectionState.CONNECTED: "good",
            ConnectionState.DISCONNECTED: "warn",
            ConnectionState.FAILED: "bad",
        }.get(e.state, "")
        return cls(
            at=e.at,
            kind="Connection",
            venue=e.venue.label,
            account=e.account,
            status=e.state.value.upper(),
            message=e.message,
            tone=tone,
        )

    @classmethod
    def from_protocol_error(cls, e: ProtocolError) -> LogEntry:
        """Bad venue data or a venue error: its message, its code in the Venue status column,
        and the offending frame (already redacted by the session) after the message."""
        message = e.message if not e.raw else f"{e.message} — {e.raw[:200]}"
        return cls(
            at=e.at,
            kind="Protocol error",
            venue=e.venue.label,
            account=e.account,
            status="ERROR",
            raw_status=e.code or "",
            message=message,
            tone="bad",
            detail=f"Received: {e.raw[:1000]}" if e.raw else "",
        )


def _shown_price(u: OrderUpdate) -> Decimal | None:
    """The limit price, or for a market trigger (no price, or Everstrike's price 0) the
    trigger price: a "0" in the Price column would read as a close at zero."""
    if u.trigger_price is not None and (u.price is None or u.price == 0):
        return u.trigger_price
    return u.price


def _ids(order_id: str | None, client_order_id: str | None) -> str:
    parts = []
    if order_id:
        parts.append(f"order {order_id}")
    if client_order_id:
        parts.append(f"client order {client_order_id}")
    return ", ".join(parts)


_TONES = {"good": PROFIT, "bad": LOSS, "warn": WARN}


class LogModel(ColumnsModel):
    """Append-only log lines, appended in coalesced batches.

    Memory is capped at ``max_rows``. Past the cap the oldest lines are trimmed (10 % at a time,
    so trimming is rare) and a note row at the top says how many; nothing is dropped silently,
    and every line is in the journal anyway.
    """

    COLUMNS = LogColumn

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        max_rows: int = 200_000,
        coalesce_ms: int = COALESCE_MS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(parent)
        if max_rows < 10:
            raise ValueError("max_rows must be at least 10")
        self.max_rows = max_rows
        self._entries: list[LogEntry] = []
        self._pending: list[LogEntry] = []
        self._trimmed = 0
        self._clock = clock
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(coalesce_ms)
        self._timer.timeout.connect(self.flush)
        self._mono = _monospace()

    @property
    def trimmed(self) -> int:
        return self._trimmed

    @property
    def entries(self) -> list[LogEntry]:
        """The lines held now, oldest first (without the note row)."""
        return list(self._entries)

    @property
    def _offset(self) -> int:
        return 1 if self._trimmed else 0

    def note_text(self) -> str:
        return (
            f"{self._trimmed:,} older lines were trimmed from this view to save memory; "
            "every line is kept in the journal."
        )

    # ------------------------------------------------------------------ appending
    def append(self, entry: LogEntry) -> None:
        self._pending.append(entry)
        if not self._timer.isActive():
            self._timer.start()

    def append_event(self, event: object) -> None:
        entry = self.entry_for(event)
        if entry is not None:
            self.append(entry)

    @staticmethod
    def entry_for(event: object) -> LogEntry | None:
        if isinstance(event, OrderUpdate):
            return LogEntry.from_update(event)
        if isinstance(event, Fill):
            return LogEntry.from_fill(event)
        if isinstance(event, ConnectionEvent):
            return LogEntry.from_connection(event)
        if isinstance(event, ProtocolError):
            return LogEntry.from_protocol_error(event)
        return None

    def flush(self) -> None:
        self._timer.stop()
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        first = self._offset + len(self._entries)
        self.beginInsertRows(QModelIndex(), first, first + len(batch) - 1)
        self._entries.extend(batch)
        self.endInsertRows()
        if len(self._entries) > self.max_rows:
            self._trim(len(self._entries) - self.max_rows + self.max_rows // 10)

    def _trim(self, count: int) -> None:
        had_note = self._trimmed > 0
        off = self._offset
        self.beginRemoveRows(QModelIndex(), off, off + count - 1)
        del self._entries[:count]
        self.endRemoveRows()
        if had_note:
            self._trimmed += count
            idx = self.index(0, 0)
            last = self.index(0, len(LogColumn) - 1)
            self.dataChanged.emit(
                idx, last, [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole]
            )
        else:
            self.beginInsertRows(QModelIndex(), 0, 0)
            self._trimmed = count
            self.endInsertRows()

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._offset + len(self._entries)

    def column_is_numeric(self, col: Any) -> bool:
        return col in _NUMERIC_LOG_COLUMNS


    def is_note(self, row: int) -> bool:
        return self._trimmed > 0 and row == 0

    def key_at(self, row: int) -> PositionKey | None:
        """The position a line is about (None for the note, connection lines, ...)."""
        if self.is_note(row) or not 0 <= row - self._offset < len(self._entries):
            return None
        return self._entries[row - self._offset].key

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= self.rowCount():
            return None
        col = LogColumn(index.column())
        if self.is_note(index.row()):
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                if col is LogColumn.MESSAGE:
                    return self.note_text()
                return "…" if col is LogColumn.TIME else ""
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(WARN)
            return None
        entry = self._entries[index.row() - self._offset]
        if role == Qt.ItemDataRole.DisplayRole:
            return entry.text(col)
        if role == Qt.ItemDataRole.ToolTipRole and col is LogColumn.MESSAGE:
            return entry.tooltip() or None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if col in _NUMERIC_LOG_COLUMNS else _LEFT
        if role == Qt.ItemDataRole.ForegroundRole:
            if entry.tone == "bad":  # a rejection or an error: the whole line is red
                return QBrush(LOSS)
            if col in (LogColumn.STATUS, LogColumn.KIND) and entry.tone in _TONES:
                return QBrush(_TONES[entry.tone])
            if col is LogColumn.RAW_STATUS:
                return QBrush(MUTED)
            return None
        if role == Qt.ItemDataRole.FontRole and (
            col in _NUMERIC_LOG_COLUMNS or col is LogColumn.TIME
        ):
            return self._mono
        return None
