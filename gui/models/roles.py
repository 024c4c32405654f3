"""The item-data roles beyond Qt's own: what the models answer and the delegates, views and
dialogs ask for. ``dataChanged`` names the roles a change touches, so they are listed here too."""

from __future__ import annotations

from PySide6.QtCore import Qt

__all__ = [
    "BUTTON_ROLE",
    "ENV_ROLE",
    "KEY_ROLE",
    "RESIDUAL_ROLE",
    "SORT_ROLE",
    "STALE_ROLES",
    "VALUE_ROLES",
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

# Roles whose value can change when a cell's content changes; dataChanged names exactly these.
VALUE_ROLES = [
    Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.AccessibleTextRole,
    SORT_ROLE,
]
# Roles a row's staleness changes (grey italics and the tooltip saying why).
STALE_ROLES = [
    Qt.ItemDataRole.ForegroundRole,
    Qt.ItemDataRole.FontRole,
    Qt.ItemDataRole.ToolTipRole,
]
