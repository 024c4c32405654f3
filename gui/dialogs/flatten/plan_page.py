"""The flatten dialog's first page: what to flatten, the plan, and its confirmation.

Building a plan journals it, so a plan is built only when the user asks ("Build plan" /
"Rebuild plan"), never on a filter change: a change only marks the shown plan out of date, and
it cannot be executed until rebuilt. What is confirmed is exactly what is shown. A plan on a
LIVE account, or of everything, needs ``plan.confirmation_word`` typed exactly; any other plan
needs one extra click ("Execute", then "Confirm — send N closes").
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from core.desk import Desk
from core.flatten import (
    FlattenPlan,
    FlattenReport,
    PlanError,
    ScopeKind,
    build_plan,
)
from core.model import Environment, PositionKey, Venue
from gui.dialogs.flatten.common import restyle, table
from gui.dialogs.flatten.elsewhere import ElsewhereBox
from gui.dialogs.flatten.models import PlanColumn, PlanModel
from gui.dialogs.flatten.setup import SetupFrame
from gui.dialogs.flatten.text import plan_detail, plural
from gui.widgets import EnvChipDelegate

__all__ = ["PlanPage"]

_PLAN_WIDTHS = {
    PlanColumn.VENUE: 84, PlanColumn.ACCOUNT: 132, PlanColumn.ENV: 66, PlanColumn.SYMBOL: 176,
    PlanColumn.SIDE: 52, PlanColumn.QUANTITY: 88, PlanColumn.MARK: 96, PlanColumn.PNL: 128,
    PlanColumn.CANCELS: 100,
}


class PlanPage(QWidget):
    """The setup, the plan it built, and the gate to Execute. The dialog connects Close and
    Execute, and freezes the page once the plan is handed over to run."""

    planShown = Signal(object)  # the FlattenPlan now shown, or None

    def __init__(
        self,
        desk: Desk,
        kind: ScopeKind,
        keys: tuple[PositionKey, ...],
        retry_of: FlattenReport | None,
        account: str | None,
        venue: Venue | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("flattenPlan")
        self.desk = desk
        self.retry_of = retry_of
        self.plan: FlattenPlan | None = None
        self.started = False  # handed over to run: the setup is frozen
        self._stale = False  # the setup changed since the shown plan was built
        self._armed = False  # Execute was clicked once; the next click sends
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        self.setupFrame = SetupFrame(desk, kind, keys, retry_of, account, venue, self)
        self.buildButton = self.setupFrame.buildButton
        self.buildButton.clicked.connect(self.build)
        layout.addWidget(self.setupFrame)
        self._build_plan(layout)
        self.setupFrame.changed.connect(self._on_setup_changed)

    # ------------------------------------------------------------------ layout
    def _build_plan(self, layout: QVBoxLayout) -> None:
        self.planSummary = QLabel(self)
        self.planSummary.setObjectName("planSummary")
        self.planSummary.setWordWrap(True)
        layout.addWidget(self.planSummary)

        # Positions another desk is closing (team mode): skipped, or included on request.
        self.elsewhereBox = ElsewhereBox(self)
        self.includeElsewhereInput = self.elsewhereBox.includeInput
        self.elsewhereBox.includeChanged.connect(self._on_include_elsewhere)
        layout.addWidget(self.elsewhereBox)

        self.planModel = PlanModel(self)
        self.planTable = table(self, "planTable", "Positions the plan closes", 28)
        self.planTable.setModel(self.planModel)
        self.planTable.setItemDelegateForColumn(PlanColumn.ENV, EnvChipDelegate(self.planTable))
        for col, width in _PLAN_WIDTHS.items():
            self.planTable.setColumnWidth(col, width)
        self.planTable.horizontalHeader().setStretchLastSection(True)
        self.planTable.selectionModel().selectionChanged.connect(self._show_detail)
        self.requestDetail = QPlainTextEdit(self)
        self.requestDetail.setObjectName("requestDetail")
        self.requestDetail.setAccessibleName("Exact requests of the selected row, redacted")
        self.requestDetail.setReadOnly(True)
        self.requestDetail.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.setObjectName("planSplitter")
        split.setChildrenCollapsible(False)
        split.addWidget(self.planTable)
        split.addWidget(self.requestDetail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([330, 200])
        layout.addWidget(split, 1)

        self.confirmBox = QFrame(self)
        self.confirmBox.setObjectName("confirmBox")
        cl = QHBoxLayout(self.confirmBox)
        cl.setContentsMargins(14, 10, 14, 10)
        cl.setSpacing(14)
        texts = QVBoxLayout()
        texts.setSpacing(2)
        self.confirmationPrompt = QLabel(self.confirmBox)
        self.confirmationPrompt.setObjectName("confirmationPrompt")
        self.confirmationWhy = QLabel(self.confirmBox)
        self.confirmationWhy.setObjectName("confirmationWhy")
        self.confirmationWhy.setWordWrap(True)
        texts.addWidget(self.confirmationPrompt)
        texts.addWidget(self.confirmationWhy)
        cl.addLayout(texts, 1)
        self.confirmationInput = QLineEdit(self.confirmBox)
        self.confirmationInput.setObjectName("confirmationInput")
        self.confirmationInput.setAccessibleName("Confirmation word")
        self.confirmationInput.textChanged.connect(self._on_confirmation_text)
        cl.addWidget(self.confirmationInput)
        layout.addWidget(self.confirmBox)

        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        self.planMessage = QLabel(self)
        self.planMessage.setObjectName("planMessage")
        self.planMessage.setWordWrap(True)
        buttons.addWidget(self.planMessage, 1)
        self.closeButton = QPushButton("Close", self)
        self.closeButton.setObjectName("closeButton")
        self.executeButton = QPushButton("Execute", self)
        self.executeButton.setObjectName("executeButton")
        for b in (self.buildButton, self.closeButton, self.executeButton):
            b.setAutoDefault(False)  # Enter in a field must never press Execute
            b.setDefault(False)
        buttons.addWidget(self.closeButton)
        buttons.addWidget(self.executeButton)
        layout.addLayout(buttons)

    # ------------------------------------------------------------------ setup
    def _on_setup_changed(self, *_: object) -> None:
        if self.plan is None or self.started:
            return
        self._stale = True
        self._disarm()
        restyle(self.planSummary, "stale", True)
        self.buildButton.setText("Rebuild plan")
        self.say("What to flatten changed: Rebuild plan to see the new plan before executing. "
                 "Nothing was sent.", "info")
        self._refresh_execute()

    def _on_include_elsewhere(self, _include: bool) -> None:
        """The box was ticked or unticked: the plan is rebuilt with (or without) them, as the
        user asked; nothing is sent."""
        if self.plan is not None and not self.started and self.retry_of is None:
            self.build()

    # ------------------------------------------------------------------ the plan
    def build(self) -> FlattenPlan | None:
        """Build (and journal) a plan from the setup now; it is shown, nothing is sent."""
        if self.started:
            return None
        try:
            if self.retry_of is not None:
                plan = self.retry_of.retry_plan(self.desk)
            else:
                setup = self.setupFrame
                plan = build_plan(self.desk, setup.current_scope(),
                                  reason=setup.reasonInput.text(),
                                  cancel_resting=setup.cancelRestingInput.isChecked(),
                                  include_elsewhere=self.elsewhereBox.include)
        except PlanError as exc:
            self.say(f"Cannot plan this: {exc}. Nothing was sent.")
            return None
        self.set_plan(plan)
        return plan

    def set_plan(self, plan: FlattenPlan | None) -> None:
        """Show ``plan`` (None: no plan yet) and reset the confirmation for it."""
        self.plan = plan
        self._stale = False
        self._armed = False
        self.planModel.set_plan(plan)
        self.elsewhereBox.show_plan(plan)
        restyle(self.planSummary, "stale", False)
        self.buildButton.setText("Build plan" if plan is None else "Rebuild plan")
        self.confirmationInput.blockSignals(True)
        self.confirmationInput.clear()
        self.confirmationInput.blockSignals(False)
        restyle(self.confirmationInput, "matches", False)
        self.say("")
        self.planShown.emit(plan)
        if plan is None:
            self.planSummary.setText("Choose what to flatten, then Build plan. Nothing is "
                                     "sent until you confirm.")
            self.requestDetail.setPlainText("")
            self.confirmBox.setVisible(False)
            self._refresh_execute()
            return
        self.planSummary.setText(self._summary(plan))
        if self.planModel.rowCount():
            self.planTable.selectRow(0)
        else:
            self.requestDetail.setPlainText("")
        self._configure_confirmation(plan)
        self._refresh_execute()

    def _summary(self, plan: FlattenPlan) -> str:
        n = len(plan.items)
        if n == 0:
            text = "Nothing to flatten: no open position matches."
        else:
            accounts = {i.key.account for i in plan.items}
            venues = {i.key.venue for i in plan.items}
            text = (f"{plural(n, 'position')} to close on {plural(len(accounts), 'account')}"
                    f" across {plural(len(venues), 'venue')}")
            if plan.cancel_resting:
                text += f" · {plural(plan.cancel_count, 'resting order')} to cancel first"
            else:
                text += " · resting orders are left alone"
        if plan.missing:
            text += f" · {len(plan.missing)} selected no longer open (nothing to do)"
        if plan.elsewhere and not self.elsewhereBox.include:
            text += f" · {len(plan.elsewhere)} skipped: another desk is closing them"
        warned = sum(1 for i in plan.items if i.warning)
        if warned:
            text += f" · ⚠ {plural(warned, 'warning')} (rows marked ⚠)"
        text += f"\nReason: {plan.reason}" if plan.reason else "\nNo reason given"
        return text

    def _configure_confirmation(self, plan: FlattenPlan) -> None:
        self.confirmBox.setVisible(bool(plan.items))
        typed = plan.requires_typed_confirmation
        restyle(self.confirmBox, "typed", typed)
        restyle(self.confirmationPrompt, "typed", typed)  # a child is not re-polished with it
        self.confirmationInput.setVisible(typed)
        n = len(plan.items)
        if typed:
            word = plan.confirmation_word
            self.confirmationPrompt.setText(f"Type {word} to confirm")
            live = sorted({i.key.account for i in plan.items
                           if i.environment is Environment.LIVE}, key=str.casefold)
            if live:
                why = (f"LIVE accounts are in this plan ({', '.join(live)}): real orders, real "
                       "money.")
            else:
                why = "Flattening everything closes every position on every account."
            self.confirmationWhy.setText(
                f"{why} Then Execute sends {plural(n, 'close')} at once.")
            self.confirmationInput.setPlaceholderText(word)
            self.confirmationInput.setAccessibleDescription(f"Type {word} to confirm")
            self.confirmationInput.setFocus()
        else:
            self.confirmationPrompt.setText("Check the plan, then Execute and confirm")
            self.confirmationWhy.setText(
                f"Execute asks once more before it sends {plural(n, 'close')}.")

    def _show_detail(self, *_: object) -> None:
        rows = self.planTable.selectionModel().selectedRows()
        if not rows:
            self.requestDetail.setPlainText("")
            return
        row = rows[0].row()
        item = self.planModel.item_at(row)
        key = self.planModel.key_at(row)
        if item is not None:
            self.requestDetail.setPlainText(plan_detail(item))
        elif key is not None:
            self.requestDetail.setPlainText(
                f"{key}: not open when the plan was built. Nothing is sent for it.")

    # ------------------------------------------------------------------ confirming
    @property
    def confirmed_text_ok(self) -> bool:
        plan = self.plan
        return plan is not None and (not plan.requires_typed_confirmation
                                     or plan.confirms(self.confirmationInput.text()))

    def _can_execute(self) -> bool:
        plan = self.plan
        return (plan is not None and bool(plan.items) and not self._stale and not self.started
                and self.confirmed_text_ok)

    def _refresh_execute(self) -> None:
        ok = self._can_execute()
        self.executeButton.setEnabled(ok)
        plan = self.plan
        if self._armed and plan is not None:
            self.executeButton.setText(f"Confirm — send {plural(len(plan.items), 'close')}")
        else:
            self.executeButton.setText("Execute")
        restyle(self.executeButton, "armed", self._armed)
        if plan is not None and plan.requires_typed_confirmation and not ok \
                and not self._stale and plan.items:
            self.executeButton.setToolTip(f"Type {plan.confirmation_word} to enable")
        else:
            self.executeButton.setToolTip("")

    def _disarm(self) -> None:
        if self._armed:
            self._armed = False
            self.say("")

    def _on_confirmation_text(self, _text: str) -> None:
        restyle(self.confirmationInput, "matches", self.confirmed_text_ok)
        self._refresh_execute()

    def confirmed_plan(self) -> FlattenPlan | None:
        """An Execute click: the plan to run now, or None. A typed plan runs at once (the word
        was the confirmation); any other arms the button for one more click first."""
        plan = self.plan
        if plan is None or not self._can_execute():
            return None
        if not plan.requires_typed_confirmation and not self._armed:
            self._armed = True
            self.say(f"Click “Confirm” to send {plural(len(plan.items), 'close')}; change "
                     "anything above to go back.", "info")
            self._refresh_execute()
            return None
        return plan

    def refuse(self, message: str) -> None:
        """The plan did not start: say why; Execute needs confirming again."""
        self._armed = False
        self.say(message)
        self._refresh_execute()

    # ------------------------------------------------------------------ handed over
    def freeze(self) -> None:
        """The plan runs: nothing here changes any more."""
        self.started = True
        self._armed = False
        self.setupFrame.setEnabled(False)
        self._refresh_execute()

    def thaw(self) -> None:
        """The run could not start: the setup is open again."""
        self.started = False
        self.setupFrame.setEnabled(True)

    def say(self, text: str, tone: str = "error") -> None:
        restyle(self.planMessage, "tone", tone)
        self.planMessage.setText(text)
        self.planMessage.setAccessibleDescription(text)
