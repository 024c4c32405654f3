"""Table models of the flatten dialog: the plan (what would be sent) and the items of a run
(its live state, then its outcome).

Both are keyed by PositionKey. The run model changes one row at a time as core reports progress,
and says ``dataChanged`` over only the cells whose text changed, so a 500-row flatten repaints
what moved and nothing else.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontDatabase

from core.flatten import FlattenPlan, ItemState, Outcome, Phase, PlanItem
from core.model import Environment, PositionKey
from gui.models import (
    ENV_ROLE,
    KEY_ROLE,
    LOSS,
    MUTED,
    PROFIT,
    WARN,
    AnyIndex,
    env_label,
    fmt_decimal,
)
from gui.models.columns import ColumnsModel
from gui.models.style import UNKNOWN_INK

__all__ = [
    "OUTCOME_WORDS",
    "ItemColumn",
    "PlanColumn",
    "PlanModel",
    "RunModel",
    "outcome_tone",
    "short_mechanism",
    "state_text",
]

_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter

# How a total reads in the report: "3 closed and verified flat · 1 residual".
OUTCOME_WORDS: Mapping[Outcome, str] = {
    Outcome.CLOSED_VERIFIED_FLAT: "closed and verified flat",
    Outcome.ALREADY_FLAT: "already flat",
    Outcome.RESIDUAL: "residual",
    Outcome.REJECTED: "rejected",
    Outcome.UNKNOWN: "unknown",
    Outcome.SKIPPED: "skipped",
    Outcome.BLOCKED: "blocked",
    Outcome.CANCELLED_BEFORE_SEND: "not sent",
}
_PHASE_TEXT: Mapping[Phase, str] = {
    Phase.QUEUED: "Queued",
    Phase.CANCELLING: "Cancelling resting orders…",
    Phase.SENDING: "Sending…",
    Phase.SENT: "Awaiting the venue…",
    Phase.VERIFYING: "Verifying…",
    Phase.DONE: "Done",
}


def state_text(state: ItemState) -> str:
    """The State column: the phase while it runs, then the outcome in plain words."""
    o = state.outcome
    if o is None:
        return _PHASE_TEXT[state.phase]
    if o is Outcome.CLOSED_VERIFIED_FLAT:
        return "Closed, verified flat"
    if o is Outcome.RESIDUAL:
        return f"Residual {fmt_decimal(state.residual)}".rstrip()
    if o is Outcome.CANCELLED_BEFORE_SEND:
        return "Not sent (stopped)"
    return OUTCOME_WORDS[o].capitalize()


def outcome_tone(outcome: Outcome | None) -> QColor | None:
    if outcome is None:
        return None
    if outcome.flat:
        return PROFIT
    if outcome in (Outcome.REJECTED, Outcome.BLOCKED):
        return LOSS
    if outcome is Outcome.UNKNOWN:
        return UNKNOWN_INK
    return WARN  # residual, skipped, not sent: something is still open


def short_mechanism(mechanism: str) -> str:
    """"QFEX close_position (LIMIT IOC ...)" -> "QFEX close_position"; the rest is the tooltip."""
    return mechanism.split(" (", 1)[0]


def _mono() -> QFont:
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


def _missing_font() -> QFont:
    font = QFont()
    font.setItalic(True)
    return font


# ============================================================================ the plan


class PlanColumn(enum.IntEnum):
    VENUE = 0
    ACCOUNT = 1
    ENV = 2
    SYMBOL = 3
    SIDE = 4
    QUANTITY = 5
    MARK = 6
    PNL = 7
    CANCELS = 8
    MECHANISM = 9

    @property
    def title(self) -> str:
        return _PLAN_TITLES[self]

    @property
    def numeric(self) -> bool:
        return self in (PlanColumn.QUANTITY, PlanColumn.MARK, PlanColumn.PNL, PlanColumn.CANCELS)


_PLAN_TITLES = {
    PlanColumn.VENUE: "Venue",
    PlanColumn.ACCOUNT: "Account",
    PlanColumn.ENV: "Env",
    PlanColumn.SYMBOL: "Symbol",
    PlanColumn.SIDE: "Side",
    PlanColumn.QUANTITY: "Quantity",
    PlanColumn.MARK: "Mark",
    PlanColumn.PNL: "Unrealised P&L",
    PlanColumn.CANCELS: "Cancel first",
    PlanColumn.MECHANISM: "How it closes",
}


def _plan_texts(item: PlanItem) -> tuple[str, ...]:
    k = item.key
    cancels = str(len(item.cancels)) if item.cancels else ""
    mechanism = short_mechanism(item.mechanism)
    if item.warning:
        mechanism = "⚠ " + mechanism
    return (k.venue.label, k.account, env_label(item.environment), k.symbol,
            item.side.value.capitalize(), fmt_decimal(item.quantity), fmt_decimal(item.mark),
            fmt_decimal(item.unrealised_pnl, signed=True), cancels, mechanism)


def _missing_texts(key: PositionKey) -> tuple[str, ...]:
    return (key.venue.label, key.account, "", key.symbol, "", "", "", "", "",
            "Not open: nothing to send")


class PlanModel(ColumnsModel):
    """Every position a plan would close, then the selected keys it found no longer open.

    Read-only: a plan never changes once built, so a new plan is a model reset.
    """

    COLUMNS = PlanColumn

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._plan: FlattenPlan | None = None
        self._items: tuple[PlanItem, ...] = ()
        self._missing: tuple[PositionKey, ...] = ()
        self._texts: list[tuple[str, ...]] = []
        self._mono = _mono()
        self._italic = _missing_font()

    @property
    def plan(self) -> FlattenPlan | None:
        return self._plan

    def set_plan(self, plan: FlattenPlan | None) -> None:
        self.beginResetModel()
        self._plan = plan
        self._items = plan.items if plan is not None else ()
        self._missing = plan.missing if plan is not None else ()
        self._texts = [_plan_texts(i) for i in self._items] + \
            [_missing_texts(k) for k in self._missing]
        self.endResetModel()

    def item_at(self, row: int) -> PlanItem | None:
        """The plan item of a row; None for a missing key's row (or no such row)."""
        return self._items[row] if 0 <= row < len(self._items) else None

    def key_at(self, row: int) -> PositionKey | None:
        if 0 <= row < len(self._items):
            return self._items[row].key
        missing = row - len(self._items)
        return self._missing[missing] if 0 <= missing < len(self._missing) else None

    def is_missing(self, row: int) -> bool:
        return len(self._items) <= row < len(self._texts)

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._texts)

    def header_extra(self, col: Any, role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole and col is PlanColumn.CANCELS:
            return "Resting reduce-only closes and triggers cancelled before the close is sent"
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = index.row()
        if not index.isValid() or not 0 <= row < len(self._texts):
            return None
        col = PlanColumn(index.column())
        item = self.item_at(row)
        if role == KEY_ROLE:
            return self.key_at(row)
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._texts[row][col]
        if role == ENV_ROLE:
            return item.environment.value if item is not None and col is PlanColumn.ENV else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if col.numeric else _LEFT
        if item is None:  # a key that is no longer open
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(MUTED)
            if role == Qt.ItemDataRole.FontRole:
                return self._italic
            if role == Qt.ItemDataRole.ToolTipRole:
                return "Selected, but not open when the plan was built: nothing is sent for it"
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if col is PlanColumn.PNL and item.unrealised_pnl:
                return QBrush(PROFIT if item.unrealised_pnl > 0 else LOSS)
            if col is PlanColumn.ENV and item.environment is Environment.LIVE:
                return QBrush(LOSS)
            if col is PlanColumn.MECHANISM and item.warning:
                return QBrush(WARN)
            return None
        if role == Qt.ItemDataRole.FontRole:
            return self._mono if col.numeric else None
        if role == Qt.ItemDataRole.ToolTipRole:
            if col is PlanColumn.MECHANISM:
                tip = item.mechanism
                return f"{tip}\n⚠ {item.warning}" if item.warning else tip
            if col is PlanColumn.CANCELS and item.cancels:
                return "\n".join(f"Cancel {o.kind.value} order {o.order_id}"
                                 for o in item.cancels)
            return None
        return None


# ============================================================================ a run


class ItemColumn(enum.IntEnum):
    VENUE = 0
    ACCOUNT = 1
    ENV = 2
    SYMBOL = 3
    SIDE = 4
    QUANTITY = 5
    STATE = 6
    SENT = 7
    DETAIL = 8

    @property
    def title(self) -> str:
        return _ITEM_TITLES[self]


_ITEM_TITLES = {
    ItemColumn.VENUE: "Venue",
    ItemColumn.ACCOUNT: "Account",
    ItemColumn.ENV: "Env",
    ItemColumn.SYMBOL: "Symbol",
    ItemColumn.SIDE: "Side",
    ItemColumn.QUANTITY: "Quantity",
    ItemColumn.STATE: "State",
    ItemColumn.SENT: "Sent",
    ItemColumn.DETAIL: "Detail",
}
_ITEM_VALUE_ROLES = [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole]
_ITEM_ROLES: Mapping[ItemColumn, list[Qt.ItemDataRole]] = {
    ItemColumn.STATE: [*_ITEM_VALUE_ROLES, Qt.ItemDataRole.ForegroundRole],
    ItemColumn.DETAIL: [*_ITEM_VALUE_ROLES, Qt.ItemDataRole.ToolTipRole],
}


def _detail(state: ItemState) -> str:
    parts = [state.message] if state.message else []
    parts.extend(state.notes)
    return " · ".join(parts)


def _sent_text(state: ItemState) -> str:
    if state.joined:
        return "joined"
    return "sent" if state.sent else ""


def _item_texts(state: ItemState, env: Environment | None) -> tuple[str, ...]:
    k = state.key
    qty = state.quantity if state.quantity is not None else state.planned_quantity
    return (k.venue.label, k.account, env_label(env), k.symbol, state.side.value.capitalize(),
            fmt_decimal(qty), state_text(state), _sent_text(state), _detail(state))


class RunModel(ColumnsModel):
    """One row per plan item, in plan order: its phase while the plan runs, then its outcome.

    ``update`` takes core's ItemState as it arrives (on the loop thread) and emits
    ``dataChanged`` for the changed cells of that row only.
    """

    COLUMNS = ItemColumn

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._keys: list[PositionKey] = []
        self._rows: dict[PositionKey, int] = {}
        self._states: dict[PositionKey, ItemState] = {}
        self._envs: dict[PositionKey, Environment] = {}
        self._texts: dict[PositionKey, tuple[str, ...]] = {}
        self._done = 0
        self._sent = 0
        self._mono = _mono()

    def load(self, plan: FlattenPlan, states: Iterable[ItemState] | None = None) -> None:
        """Rows for every item of ``plan``: queued, or as ``states`` say (a finished report)."""
        given = {s.key: s for s in states or ()}
        self.beginResetModel()
        self._keys = [i.key for i in plan.items]
        self._rows = {k: n for n, k in enumerate(self._keys)}
        self._envs = {i.key: i.environment for i in plan.items}
        self._states = {i.key: given.get(i.key) or ItemState(i.key, i.side, i.quantity)
                        for i in plan.items}
        self._texts = {k: _item_texts(s, self._envs[k]) for k, s in self._states.items()}
        self._done = sum(s.done for s in self._states.values())
        self._sent = sum(s.sent for s in self._states.values())
        self.endResetModel()

    @property
    def done_count(self) -> int:
        return self._done

    @property
    def sent_count(self) -> int:
        return self._sent

    def state(self, key: PositionKey) -> ItemState | None:
        return self._states.get(key)

    def states(self) -> list[ItemState]:
        return [self._states[k] for k in self._keys]

    def row_of(self, key: PositionKey) -> int | None:
        return self._rows.get(key)

    def key_at(self, row: int) -> PositionKey | None:
        return self._keys[row] if 0 <= row < len(self._keys) else None

    def update(self, state: ItemState) -> None:
        row = self._rows.get(state.key)
        if row is None:
            return
        old_state = self._states[state.key]
        self._done += int(state.done) - int(old_state.done)
        self._sent += int(state.sent) - int(old_state.sent)
        old = self._texts[state.key]
        texts = _item_texts(state, self._envs.get(state.key))
        self._states[state.key] = state
        self._texts[state.key] = texts
        for col in ItemColumn:
            if old[col] != texts[col]:
                idx = self.index(row, col)
                self.dataChanged.emit(idx, idx, _ITEM_ROLES.get(col, _ITEM_VALUE_ROLES))

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._keys)

    def column_is_numeric(self, col: Any) -> bool:
        return col is ItemColumn.QUANTITY

    def header_extra(self, col: Any, role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole and col is ItemColumn.SENT:
            return ("sent: a close of this plan went to the venue; joined: a close already in "
                    "flight was followed instead")
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = index.row()
        if not index.isValid() or not 0 <= row < len(self._keys):
            return None
        key = self._keys[row]
        col = ItemColumn(index.column())
        if role == KEY_ROLE:
            return key
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._texts[key][col]
        if role == ENV_ROLE:
            env = self._envs.get(key)
            return env.value if env is not None and col is ItemColumn.ENV else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if col is ItemColumn.QUANTITY else _LEFT
        if role == Qt.ItemDataRole.ForegroundRole:
            if col is ItemColumn.STATE:
                tone = outcome_tone(self._states[key].outcome)
                return QBrush(tone) if tone is not None else QBrush(MUTED)
            return None
        if role == Qt.ItemDataRole.FontRole:
            return self._mono if col is ItemColumn.QUANTITY else None
        if role == Qt.ItemDataRole.ToolTipRole and col is ItemColumn.DETAIL:
            state = self._states[key]
            lines = [state.message] if state.message else []
            lines.extend(state.notes)
            return "\n".join(lines) or None  # changes exactly when the Detail text does
        return None
