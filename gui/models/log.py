"""The order log as a table: append-only lines about orders, fills, closes, connections and
protocol errors, their text fixed when they arrive."""

from __future__ import annotations

import bisect
import enum
import operator
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
    Instrument,
    OrderStatus,
    OrderUpdate,
    PositionKey,
    ProtocolError,
    Venue,
)
from core.numbers import UNKNOWN, NumberFormat, number_format
from gui.models.columns import (
    COALESCE_MS,
    LEFT,
    LOG_PHASE,
    RIGHT,
    AnyIndex,
    ColumnsModel,
    next_slot_ms,
)
from gui.models.log_line import FIELDS, Line
from gui.models.style import LOSS, MUTED, PROFIT, WARN, brush, monospace
from gui.models.text import fmt_decimal, refusal_text

__all__ = ["Line", "LogColumn", "LogEntry", "LogModel", "fmt_time"]


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

    def to_line(self) -> Line:
        """The line as the log model holds it."""
        key = self.key
        where: str | tuple[str, str, str] | None = None
        if key is not None:
            where = key.venue.value
            if (key.account, key.symbol) != (self.account, self.symbol):
                where = (key.account, where, key.symbol)
        return (self.at, self.kind, self.venue, self.account, self.symbol, self.status,
                self.raw_status, self.quantity, self.remaining, self.price, self.message,
                self.tone, self.detail, where, None, None)

    @classmethod
    def from_line(cls, line: Line) -> LogEntry:
        return cls(at=line[_AT], kind=line[_KIND], venue=line[_VENUE], account=line[_ACCOUNT],
                   symbol=line[_SYMBOL], status=line[_STATUS], raw_status=line[_RAW],
                   quantity=_cell(line[_QTY]), remaining=_cell(line[_REMAINING]),
                   price=_cell(line[_PRICE]), message=line[_MESSAGE], tone=line[_TONE],
                   detail=_detail(line), key=_line_key(line))

    def tooltip(self) -> str:
        """The Message column's tooltip: the plain-language text, then the venue's own words."""
        return _tooltip(self.to_line())

    @classmethod
    def from_update(cls, u: OrderUpdate, fmt: NumberFormat = UNKNOWN) -> LogEntry:
        """The session's plain-language message goes in Message; the venue's own status text
        stays beside the normalised status, so support can match it to the venue's docs.
        ``fmt`` writes its numbers by its instrument (core.numbers), as every line does."""
        return cls.from_line(_order_line(u, fmt=fmt))

    @classmethod
    def from_fill(cls, f: Fill, fmt: NumberFormat = UNKNOWN) -> LogEntry:
        side = f.side.value if f.side is not None else ""
        return cls(
            at=f.received_at,
            kind="Fill",
            venue=f.venue.label,
            account=f.account,
            symbol=f.symbol,
            status="FILL",
            raw_status=side,
            quantity=fmt.quantity(f.quantity),
            price=fmt.price(f.price),
            message=f"fee {fmt_decimal(f.fee)}" if f.fee is not None else "",
            tone="good",
            key=PositionKey(f.account, f.venue, f.symbol),
        )

    @classmethod
    def from_intent(cls, intent: CloseIntent, what: str, *, at: float | None = None,
                    fmt: NumberFormat = UNKNOWN) -> LogEntry:
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
            quantity=fmt.quantity(req.quantity if req.quantity is not None
                                  else req.position_quantity),
            remaining=fmt.quantity(intent.remaining),
            price=fmt.price(req.limit_price),
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
    trigger price: a "0" in the Price column would read as a close at zero. A price of 0
    otherwise (a market close's ACK) means "no price": nothing is shown."""
    if u.price is None or u.price == 0:
        return u.trigger_price
    return u.price


def _ids(order_id: str | None, client_order_id: str | None) -> str:
    parts = []
    if order_id:
        parts.append(f"order {order_id}")
    if client_order_id:
        parts.append(f"client order {client_order_id}")
    return ", ".join(parts)


(_AT, _KIND, _VENUE, _ACCOUNT, _SYMBOL, _STATUS, _RAW, _QTY, _REMAINING, _PRICE, _MESSAGE,
 _TONE, _DETAIL, _WHERE, _ORDER_ID, _CLIENT_ID) = FIELDS  # a Line's, by position
_at = operator.itemgetter(_AT)  # a line's receive time, the log's order
_STATUS_LINE = {  # an order's status -> (its text, its tone)
    status: (status.value, {
        OrderStatus.FILLED: "good",
        OrderStatus.PARTIAL: "warn",
        OrderStatus.REJECTED: "bad",
        OrderStatus.UNKNOWN: "bad",
        OrderStatus.CANCELLED: "warn",
    }.get(status, ""))
    for status in OrderStatus
}


def _same(text: str) -> str:
    return text


def _order_line(u: OrderUpdate, share: Callable[[str], str] = _same,
                venue: tuple[str, str] | None = None, fmt: NumberFormat = UNKNOWN) -> Line:
    """An order update as a log line. ``fmt`` writes out its numbers (by its instrument),
    ``share`` returns one shared str per distinct text; ``venue`` is the venue's (label, plain
    id), looked up when not given."""
    label, venue_id = venue if venue is not None else (u.venue.label, u.venue.value)
    status, tone = _STATUS_LINE[u.status]
    return (u.received_at, "Order", label, u.account, u.symbol, status, u.raw_status,
            share(fmt.quantity(u.quantity)), share(fmt.quantity(u.remaining)),
            share(fmt.price(_shown_price(u))), u.message, tone, "",
            venue_id, u.order_id, u.client_order_id)


def _cell(value: object) -> str:
    return value if isinstance(value, str) else fmt_decimal(value)  # type: ignore[arg-type]


def _detail(line: Line) -> str:
    if line[_ORDER_ID] is None and line[_CLIENT_ID] is None:
        return str(line[_DETAIL])
    return _ids(line[_ORDER_ID], line[_CLIENT_ID])


def _line_key(line: Line) -> PositionKey | None:
    where = line[_WHERE]
    if where is None:
        return None
    if isinstance(where, str):
        return PositionKey(line[_ACCOUNT], Venue(where), line[_SYMBOL])
    account, venue, symbol = where
    return PositionKey(account, Venue(venue), symbol)


def _tooltip(line: Line) -> str:
    """The Message column's tooltip: the plain-language text, then the venue's own words."""
    lines = [line[_MESSAGE]] if line[_MESSAGE] else []
    if line[_RAW]:
        lines.append(f"Venue status: {line[_RAW]}")
    detail = _detail(line)
    if detail:
        lines.append(detail)
    return "\n".join(lines)


_TONES = {"good": PROFIT, "bad": LOSS, "warn": WARN}
_TEXTS_KEPT = 50_000  # distinct number texts shared at once; past it, sharing starts afresh


class LogModel(ColumnsModel):
    """Append-only log lines, appended in coalesced batches.

    Memory is capped at ``max_rows``. Past the cap the oldest lines are trimmed (10 % at a time,
    so trimming is rare) and a note row at the top says how many; nothing is dropped silently,
    and every line is in the journal anyway. A line is a plain tuple (see ``Line``), its text
    written out only when it is painted.
    """

    COLUMNS = LogColumn

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        max_rows: int = 200_000,
        coalesce_ms: int = COALESCE_MS,
        clock: Callable[[], float] = time.time,
        instruments: Callable[[PositionKey], Instrument | None] | None = None,
    ) -> None:
        super().__init__(parent)
        # Numbers are written by their instrument (core.numbers); known formats are kept.
        self._instruments = instruments
        self._formats: dict[tuple[str, Venue, str], NumberFormat] = {}
        if max_rows < 10:
            raise ValueError("max_rows must be at least 10")
        self.max_rows = max_rows
        self._lines: list[Line] = []
        self._pending: list[Line] = []
        self._trimmed = 0
        self._clock = clock
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._coalesce_ms = coalesce_ms
        self._timer.timeout.connect(self.flush)
        self._mono = monospace()
        self._venues: dict[Venue, tuple[str, str]] = {}  # venue -> (its label, its plain id)
        self._texts: dict[str, str] = {}  # numbers' texts, shared between lines
        self._brushes = {tone: brush(colour) for tone, colour in _TONES.items()}
        self._muted = brush(MUTED)

    @property
    def trimmed(self) -> int:
        return self._trimmed

    @property
    def entries(self) -> list[LogEntry]:
        """The lines held now, oldest first (without the note row)."""
        return [LogEntry.from_line(line) for line in self._lines]

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
        self._add(entry.to_line())

    def _add(self, line: Line) -> None:
        self._pending.append(line)
        if not self._timer.isActive():  # on the log's phase of the interval (see columns)
            self._timer.start(next_slot_ms(self._coalesce_ms, LOG_PHASE))

    def format_for(self, account: str, venue: Venue, symbol: str) -> NumberFormat:
        """How numbers about this instrument are written; asked again until it is known."""
        where = (account, venue, symbol)
        fmt = self._formats.get(where)
        if fmt is None:
            lookup = self._instruments
            fmt = UNKNOWN if lookup is None \
                else number_format(lookup(PositionKey(account, venue, symbol)))
            if fmt.known:
                self._formats[where] = fmt
        return fmt

    def append_event(self, event: object) -> None:
        if type(event) is OrderUpdate:  # nearly every line: no entry object on the way
            self._add(self._order_line(event))
            return
        if isinstance(event, Fill):
            fmt = self.format_for(event.account, event.venue, event.symbol)
            self._add(LogEntry.from_fill(event, fmt).to_line())
            return
        entry = self.entry_for(event)
        if entry is not None:
            self._add(entry.to_line())

    def _order_line(self, u: OrderUpdate) -> Line:
        """An order update's line, with the venue's names looked up once and the numbers'
        texts shared."""
        venue = self._venues.get(u.venue)
        if venue is None:
            venue = self._venues[u.venue] = (u.venue.label, u.venue.value)
        return _order_line(u, self._text, venue, self.format_for(u.account, u.venue, u.symbol))

    def _text(self, text: str) -> str:
        """One shared str per distinct number text: sizes and prices repeat, and a 50-byte
        str shared beats a 104-byte Decimal held by every line."""
        if not text:
            return ""
        texts = self._texts
        shared = texts.get(text)
        if shared is None:
            if len(texts) >= _TEXTS_KEPT:
                texts.clear()
            shared = texts[text] = text
        return shared

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
        """Insert the lines gathered since the last flush, in receive-time order.

        Lines nearly always arrive in time order and go at the end in one insert. One that
        was received before lines already shown (a venue's two channels, two accounts' events
        handled in another order than they came in) goes where its time puts it, after any
        line of the same time: the log reads by receive time, ties in the order they came.
        """
        self._timer.stop()
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        batch.sort(key=_at)  # stable: equal times keep their order of arrival
        total = len(self._lines) + len(batch)
        if total > self.max_rows:
            # Trimmed before the insert, so the table never holds more than the cap even for a
            # moment (a burst bigger than the cap is not inserted only to be removed): the
            # oldest lines shown go first, then the oldest of the batch.
            excess = total - (self.max_rows - self.max_rows // 10)
            shown = min(excess, len(self._lines))
            skipped = excess - shown
            del batch[:skipped]
            self._trim(shown, skipped)
        lines = self._lines
        if lines and batch and batch[0][_AT] < lines[-1][_AT]:
            # The few received before the newest line shown: one row insert each, in place.
            late = bisect.bisect_left(batch, lines[-1][_AT], key=_at)
            for line in batch[:late]:
                row = bisect.bisect_right(lines, line[_AT], key=_at)
                self.beginInsertRows(QModelIndex(), self._offset + row, self._offset + row)
                lines.insert(row, line)
                self.endInsertRows()
            del batch[:late]
        if not batch:
            return
        first = self._offset + len(lines)
        self.beginInsertRows(QModelIndex(), first, first + len(batch) - 1)
        lines.extend(batch)
        self.endInsertRows()

    def _trim(self, shown: int, skipped: int = 0) -> None:
        """Drop the ``shown`` oldest lines, count them and ``skipped`` (lines of a burst that
        never made it in) in the note row."""
        had_note = self._trimmed > 0
        if shown:
            off = self._offset
            self.beginRemoveRows(QModelIndex(), off, off + shown - 1)
            del self._lines[:shown]
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
        return 0 if parent.isValid() else self._offset + len(self._lines)

    def column_is_numeric(self, col: Any) -> bool:
        return col in _NUMERIC_LOG_COLUMNS

    def is_note(self, row: int) -> bool:
        return self._trimmed > 0 and row == 0

    def line_at(self, row: int) -> Line | None:
        """The line a row shows as held (None for the note row): what the log's filters read,
        one row at a time, without writing a cell out."""
        index = row - self._offset
        if self.is_note(row) or not 0 <= index < len(self._lines):
            return None
        return self._lines[index]

    def held_lines(self) -> list[Line]:
        """The lines held, oldest first, as held: for a filter's rescan, read only."""
        return self._lines

    @property
    def line_count(self) -> int:
        """The lines held, without the note row."""
        return len(self._lines)

    def key_at(self, row: int) -> PositionKey | None:
        """The position a line is about (None for the note, connection lines, ...)."""
        if self.is_note(row) or not 0 <= row - self._offset < len(self._lines):
            return None
        return _line_key(self._lines[row - self._offset])

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        return self.cell(index.row(), index.column(), role)

    def cell(self, row: int, column: int, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """``data`` by row and column: what the filtered log reads, without an index."""
        if not 0 <= row < self.rowCount():
            return None
        col = _LOG_COLUMNS[column]  # a tuple lookup: no enum call per cell
        if self.is_note(row):
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                if col is LogColumn.MESSAGE:
                    return self.note_text()
                return "…" if col is LogColumn.TIME else ""
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(WARN)
            return None
        line = self._lines[row - self._offset]
        if role == Qt.ItemDataRole.DisplayRole:
            if col is LogColumn.TIME:
                return fmt_time(line[_AT])
            return _cell(line[col])
        if role == Qt.ItemDataRole.ToolTipRole and col is LogColumn.MESSAGE:
            return _tooltip(line) or None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return RIGHT if col in _NUMERIC_LOG_COLUMNS else LEFT
        if role == Qt.ItemDataRole.ForegroundRole:
            tone = line[_TONE]
            if tone == "bad":  # a rejection or an error: the whole line is red
                return self._brushes["bad"]
            if col in (LogColumn.STATUS, LogColumn.KIND) and tone in self._brushes:
                return self._brushes[tone]
            if col is LogColumn.RAW_STATUS:
                return self._muted
            return None
        if role == Qt.ItemDataRole.FontRole and (
            col in _NUMERIC_LOG_COLUMNS or col is LogColumn.TIME
        ):
            return self._mono
        return None
