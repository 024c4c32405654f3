"""The order log as a table: append-only lines about orders, fills, closes, connections and
protocol errors, their text fixed when they arrive."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt, QTimer
from PySide6.QtGui import QBrush

from core.desk import CloseIntent
from core.model import (
    ConnectionEvent,
    ConnectionState,
    Fill,
    OrderStatus,
    OrderUpdate,
    PositionKey,
    ProtocolError,
)
from gui.models.columns import COALESCE_MS, LEFT, RIGHT, AnyIndex, ColumnsModel
from gui.models.style import LOSS, MUTED, PROFIT, WARN, monospace
from gui.models.text import fmt_decimal, refusal_text

__all__ = ["LogColumn", "LogEntry", "LogModel", "fmt_time"]


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
_LOG_COLUMNS = tuple(LogColumn)


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
        self._mono = monospace()

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
        total = len(self._entries) + len(batch)
        if total > self.max_rows:
            # Trimmed before the insert, so the table never holds more than the cap even for a
            # moment (a burst bigger than the cap is not inserted only to be removed): the
            # oldest lines shown go first, then the oldest of the batch.
            excess = total - (self.max_rows - self.max_rows // 10)
            shown = min(excess, len(self._entries))
            skipped = excess - shown
            del batch[:skipped]
            self._trim(shown, skipped)
        first = self._offset + len(self._entries)
        self.beginInsertRows(QModelIndex(), first, first + len(batch) - 1)
        self._entries.extend(batch)
        self.endInsertRows()

    def _trim(self, shown: int, skipped: int = 0) -> None:
        """Drop the ``shown`` oldest lines, count them and ``skipped`` (lines of a burst that
        never made it in) in the note row."""
        had_note = self._trimmed > 0
        if shown:
            off = self._offset
            self.beginRemoveRows(QModelIndex(), off, off + shown - 1)
            del self._entries[:shown]
            self.endRemoveRows()
        if had_note:
            self._trimmed += shown + skipped
            idx = self.index(0, 0)
            last = self.index(0, len(LogColumn) - 1)
            self.dataChanged.emit(
                idx, last, [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole]
            )
        else:
            self.beginInsertRows(QModelIndex(), 0, 0)
            self._trimmed = shown + skipped
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
        col = _LOG_COLUMNS[index.column()]  # a tuple lookup: no enum call per cell
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
            return RIGHT if col in _NUMERIC_LOG_COLUMNS else LEFT
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
