"""The working orders as a table: limit closes and triggers resting at the venues, each with
its age and a Cancel button whose state this model keeps."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt, QTimer
from PySide6.QtGui import QBrush

from core.model import Instrument, PositionKey, WorkingOrder
from core.numbers import UNKNOWN, NumberFormat, number_format
from core.tables import working_texts as _working_texts
from gui.models.ages import age_text, started_at
from gui.models.columns import LEFT, RIGHT, AnyIndex, ColumnsModel, runs
from gui.models.roles import BUTTON_ROLE, KEY_ROLE, STALE_ROLES, VALUE_ROLES
from gui.models.style import MUTED, STALE, italic, monospace
from gui.models.text import describe_working

__all__ = ["AGE_INTERVAL_MS", "CancelState", "WorkingColumn", "WorkingIdent",
           "WorkingOrdersModel"]


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
    AGE = 10
    ACTION = 11

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
    WorkingColumn.AGE: "Age",
    WorkingColumn.ACTION: "",
}
_NUMERIC_WORKING_COLUMNS = frozenset(
    {WorkingColumn.QUANTITY, WorkingColumn.REMAINING, WorkingColumn.PRICE, WorkingColumn.TRIGGER,
     WorkingColumn.AGE}
)
# The columns written once per update (the age is written from the clock when painted).
_WORKING_VALUE_COLUMNS = tuple(c for c in WorkingColumn
                               if c not in (WorkingColumn.ACTION, WorkingColumn.AGE))
AGE_INTERVAL_MS = 1000  # the Age column moves once a second
_WORKING_COLUMNS = tuple(WorkingColumn)
_CANCEL_ROLES = [
    Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.ToolTipRole,
    BUTTON_ROLE,
]

_AGE_ROLES = [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole]

WorkingIdent = tuple[str, str]  # (account, order id), as WorkingOrder.ident


class CancelState(enum.StrEnum):
    """What the row's Cancel button says. The label is the state, so the two never disagree."""

    IDLE = "Cancel"
    CANCELLING = "Cancelling…"
    CONFIRMED = "Cancelled"  # the venue said yes; the row goes when the removal arrives


class WorkingOrdersModel(ColumnsModel):
    """Orders resting at the venues (limit closes and triggers), one row per (account, order id).

    Rows come and go with the desk's WorkingOrder / WorkingOrderRemoved events; the Cancel
    button's state (``set_cancelling`` ...) lives here because only the GUI knows a click
    happened before the desk's cancel task runs.

    The Age column is read from ``wall_clock`` when painted; a timer says once a second that
    the column changed (one signal for the whole column, so the view repaints only the cells
    on screen), and only while there are rows.
    """

    COLUMNS = WorkingColumn

    def __init__(self, parent: QObject | None = None, *,
                 instruments: Callable[[PositionKey], Instrument | None] | None = None,
                 wall_clock: Callable[[], float] = time.time) -> None:
        super().__init__(parent)
        self._instruments = instruments  # numbers are written by the instrument
        self.wall_clock = wall_clock
        self._started: dict[WorkingIdent, float] = {}  # when each order started resting
        self.ageTimer = QTimer(self)
        self.ageTimer.setInterval(AGE_INTERVAL_MS)
        self.ageTimer.timeout.connect(self.refresh_ages)
        self._idents: list[WorkingIdent] = []
        self._rows: dict[WorkingIdent, int] = {}
        self._orders: dict[WorkingIdent, WorkingOrder] = {}
        self._texts: dict[WorkingIdent, tuple[str, ...]] = {}
        self._cancel: dict[WorkingIdent, CancelState] = {}
        self._refused: dict[WorkingIdent, str] = {}  # the last refused cancel's reason
        self._stale: dict[str, str] = {}
        self._mono = monospace()
        self._italic = italic()
        self._mono_italic = italic(self._mono)

    def _format(self, o: WorkingOrder) -> NumberFormat:
        lookup = self._instruments
        return UNKNOWN if lookup is None \
            else number_format(lookup(PositionKey(o.account, o.venue, o.symbol)))

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

    def age(self, ident: WorkingIdent) -> float | None:
        """Seconds the order has been resting, by ``wall_clock``; None for no such row."""
        start = self._started.get(ident)
        return None if start is None else max(0.0, self.wall_clock() - start)

    def refresh_ages(self) -> None:
        """The Age column moved on: one dataChanged over the column, nothing computed here."""
        n = len(self._idents)
        if n:
            col = WorkingColumn.AGE
            self.dataChanged.emit(self.index(0, col), self.index(n - 1, col), _AGE_ROLES)

    def _follow_ages(self) -> None:
        if self._idents and not self.ageTimer.isActive():
            self.ageTimer.start()
        elif not self._idents:
            self.ageTimer.stop()

    # ------------------------------------------------------------------ updates
    def upsert(self, order: WorkingOrder) -> None:
        ident = order.ident
        texts = _working_texts(order, self._format(order))
        self._started[ident] = started_at(order, self._started.get(ident))
        row = self._rows.get(ident)
        if row is None:
            row = len(self._idents)
            self.beginInsertRows(QModelIndex(), row, row)
            self._idents.append(ident)
            self._rows[ident] = row
            self._orders[ident] = order
            self._texts[ident] = texts
            self.endInsertRows()
            self._follow_ages()
            return
        old = self._texts[ident]
        self._orders[ident] = order
        self._texts[ident] = texts
        changed = [c for c in _WORKING_VALUE_COLUMNS if old[c] != texts[c]]
        for first, last in runs(changed):
            self.dataChanged.emit(self.index(row, first), self.index(row, last), VALUE_ROLES)

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
        self._started.pop(ident, None)
        self._cancel.pop(ident, None)
        self._refused.pop(ident, None)
        for i in range(row, len(self._idents)):
            self._rows[self._idents[i]] = i
        self.endRemoveRows()
        self._follow_ages()
        return order

    def clear(self) -> None:
        self.beginResetModel()
        self._idents.clear()
        self._rows.clear()
        self._orders.clear()
        self._texts.clear()
        self._started.clear()
        self._cancel.clear()
        self._refused.clear()
        self._stale.clear()
        self.endResetModel()
        self._follow_ages()

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
        for first, end in runs(rows):
            self.dataChanged.emit(self.index(first, 0), self.index(end, last), STALE_ROLES)

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
        col = _WORKING_COLUMNS[index.column()]  # a tuple lookup: no enum call per cell
        if role == KEY_ROLE:
            return ident
        stale = self._stale.get(ident[0])
        if col is WorkingColumn.ACTION:
            return self._action_data(ident, role, stale)
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            if col is WorkingColumn.AGE:
                age = self.age(ident)
                return age_text(age) if age is not None else ""
            return self._texts[ident][col]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return RIGHT if col.numeric else LEFT
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
            if col is WorkingColumn.AGE:
                start = time.strftime("%H:%M:%S", time.localtime(self._started[ident]))
                return f"Working since {start} (the venue's time when it gave one)"
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
