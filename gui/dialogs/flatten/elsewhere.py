"""The positions another desk was closing when the plan was built (team mode): listed as
skipped, with a box that rebuilds the plan with them in it.

Included, their closes still need the other desk's lease: each is refused (nothing sent) while
that desk holds it. A flatten never overrides a lease; the close dialog's "Send anyway…" does,
one position at a time, with a typed reason.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QFrame, QLabel, QVBoxLayout, QWidget

from core.flatten import FlattenPlan
from gui.dialogs.flatten.text import plural

__all__ = ["ElsewhereBox", "elsewhere_lines"]

INCLUDE_TEXT = "Include positions other desks are closing"


def elsewhere_lines(plan: FlattenPlan, included: bool) -> str:
    """One line per position another desk is closing: skipped, or in the plan."""
    if included:
        n = plural(len(plan.elsewhere), "position")
        head = (f"In the plan although another desk is closing {n}: each of their closes is "
                "refused (nothing sent) while that desk holds its lease; a flatten never "
                "overrides a lease.")
        return "\n".join([head] + [f"• {k.symbol} on {k.account}: {d} is closing it"
                                   for k, d in plan.elsewhere])
    return "\n".join(f"skipped: {d} is closing it · {k.symbol} on {k.account}"
                     for k, d in plan.elsewhere)


class ElsewhereBox(QFrame):
    """Shown when the plan met positions another desk is closing (or they were included)."""

    includeChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("elsewhereBox")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.elsewhereList = QLabel(self)
        self.elsewhereList.setObjectName("elsewhereList")
        self.elsewhereList.setWordWrap(True)
        layout.addWidget(self.elsewhereList)
        self.includeInput = QCheckBox(INCLUDE_TEXT, self)
        self.includeInput.setObjectName("includeElsewhereInput")
        self.includeInput.setToolTip("Rebuild the plan with them; their closes are still "
                                     "refused while the other desk holds the lease")
        self.includeInput.toggled.connect(self.includeChanged)
        layout.addWidget(self.includeInput)
        self.setVisible(False)

    @property
    def include(self) -> bool:
        return self.includeInput.isChecked()

    def show_plan(self, plan: FlattenPlan | None) -> None:
        if plan is None or not plan.elsewhere:
            self.elsewhereList.setText("")
            self.setVisible(self.include)  # the box stays, to untick it
            return
        self.elsewhereList.setText(elsewhere_lines(plan, self.include))
        self.setVisible(True)
