"""The Close column's cells: the button's words, its look, its tooltip and what a screen reader
says, from the row's close intent, its working orders, a residual, a flash and another desk
closing it. Kept apart from the rest of the positions model: the one column whose cell is
worked out from several states rather than read from the row.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from PySide6.QtCore import Qt

from core.desk import IntentState
from core.desk.coordination import Holder
from core.model import PositionKey, WorkingOrder
from gui.models.position_rows import PositionRow
from gui.models.roles import BUTTON_ROLE, RESIDUAL_ROLE, SORT_ROLE
from gui.models.text import (
    action_text,
    describe_working,
    intent_label,
    intent_text,
    intent_tooltip,
)
from gui.theme.buttons import ELSEWHERE

__all__ = ["ActionCells", "elsewhere_tip", "open_now", "residual_of"]

_SORT = int(SORT_ROLE)
_BUTTON = int(BUTTON_ROLE)
_RESIDUAL = int(RESIDUAL_ROLE)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_ACCESSIBLE = int(Qt.ItemDataRole.AccessibleTextRole)


class ActionCells:
    """Mixed into the positions model, whose state it reads: the working orders and flashes
    by position, another desk closing a row, and why a row is stale."""

    _working: dict[PositionKey, tuple[WorkingOrder, ...]]
    _flash: dict[PositionKey, float]
    _elsewhere_tip: dict[PositionKey, str]

    def _shows_elsewhere(self, row: PositionRow) -> str | None:
        raise NotImplementedError

    def _stale_tip(self, key: PositionKey) -> str | None:
        raise NotImplementedError

    def _action_text(self, row: PositionRow) -> str:
        """The Close button's words, kept until the close, its working orders or the size
        change: every repaint of the row asks for them."""
        text = row.action
        if text is None:
            working = len(self._working.get(row.key, ()))
            desk = self._shows_elsewhere(row)
            if desk is not None:
                text = f"Closing by {desk}" + (f" · {working} working" if working else "")
            else:
                text = action_text(row.intent, working, residual_of(row), open_now(row),
                                   row.fmt.quantity)
            row.action = text
        return text

    def _action_data(self, row: PositionRow, role: int) -> Any:
        key = row.key
        intent = row.intent
        residual = residual_of(row)
        if role == _SORT:
            return self._action_text(row)
        if role == _BUTTON:
            if key in self._flash:
                return "Flash"
            return ELSEWHERE if self._shows_elsewhere(row) is not None else intent_label(intent)
        if role == _RESIDUAL:
            return f"residual {row.fmt.quantity(residual)}" if residual else None
        working = self._working.get(key, ())
        if role == _TOOLTIP:
            lines = [intent_tooltip(intent, residual)]
            if self._shows_elsewhere(row) is not None:
                lines.insert(0, self._elsewhere_tip[key])
            if working:
                n = len(working)
                lines.append(f"{n} working order{'s' if n != 1 else ''} at the venue:")
                lines.extend(f"  • {describe_working(o)}" for o in working)
            stale = self._stale_tip(key)
            if stale is not None:
                lines.append(stale)
            return "\n".join(lines)
        if role == _ACCESSIBLE:
            if residual:
                text = (f"Close residual {row.fmt.quantity(residual)} of {key.symbol} on "
                        f"{key.account}")
            else:
                text = f"Close {key.symbol} on {key.account}"
            shown = intent_text(intent, residual, open_now(row), row.fmt.quantity)
            if intent is not None and shown != "Close":
                text += f" (last close: {shown})"
            if working:
                text += f" ({len(working)} working)"
            if (desk := self._shows_elsewhere(row)) is not None:
                text += f" (closing by {desk})"
            return text
        return None


def elsewhere_tip(desk: str, holder: Holder | None, now: float) -> str:
    """Who else is closing this position, since when and until when its lease holds unless
    renewed (wall clock ``now``), and what a close from here does."""
    said = f"{desk} is closing this position"
    if holder is not None:
        who = f"{holder.desk_name} ({holder.operator})" if holder.operator else holder.desk_name
        said = (f"{who} has been closing this position since {_clock(now - holder.held_for_s)}; "
                f"its lease runs out at {_clock(now + holder.expires_in_s)} unless that desk "
                "renews it (it does while its close is working)")
    return f"{said}. A close from here is refused unless you send anyway with a reason."


def _clock(wall: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(wall))


def residual_of(row: PositionRow) -> Decimal | None:
    intent, pos = row.intent, row.position
    if intent is None or pos is None or intent.state is not IntentState.PARTIAL:
        return None
    return pos.quantity


def open_now(row: PositionRow) -> Decimal | None:
    """After a partial close that filled: the size open now, once the venue has reported a
    size other than the one the close was asked against (until then nobody knows)."""
    intent, pos = row.intent, row.position
    if intent is None or pos is None or intent.state is not IntentState.FILLED \
            or intent.request.is_full or pos.quantity == intent.request.position_quantity:
        return None
    return pos.quantity
