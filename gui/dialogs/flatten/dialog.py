"""Flatten in the window: a plan that is previewed, confirmed once, run concurrently and
reported.

One :class:`FlattenPlanDialog` (opened with ``open()``, never ``exec()``) walks through three
pages:

1. **Plan** (:mod:`.plan_page`). What to flatten and its filters, a reason, and whether to
   cancel resting reduce-only closes and triggers first; the plan, and its confirmation.
2. **Progress** (:mod:`.progress_page`). Every item's state as core reports it; "Stop sending"
   stops new requests and says which closes had already gone.
3. **Report** (:mod:`.report_page`). Each position's outcome, the totals, "Retry the residuals
   and rejections" (a new plan, confirmed again) and "Export…".

The dialog holds the run and moves between the pages; the window's FlattenController
(gui.controllers.flatten) opens it and runs the plan. One controller never runs two plans over
the same position at once (and the desk joins a close already in flight anyway).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from core.flatten import (
    FlattenPlan,
    FlattenReport,
    FlattenRun,
    FlattenScope,
    ItemState,
    ScopeKind,
)
from core.model import PositionKey, Venue
from gui.dialogs.flatten.common import flatten_style
from gui.dialogs.flatten.plan_page import PlanPage
from gui.dialogs.flatten.progress_page import ProgressPage
from gui.dialogs.flatten.report_page import ReportPage

if TYPE_CHECKING:
    from gui.controllers.flatten import FlattenController

__all__ = ["FlattenPlanDialog"]

_TITLES = {
    ScopeKind.SELECTED: "Flatten selected positions",
    ScopeKind.ACCOUNT: "Flatten an account",
    ScopeKind.VENUE: "Flatten a venue",
    ScopeKind.EVERYTHING: "Flatten everything",
}


class FlattenPlanDialog(QDialog):
    """Plan, confirm, watch and report one flatten. Opened with ``open()``."""

    def __init__(
        self,
        controller: FlattenController,
        kind: ScopeKind,
        *,
        keys: Iterable[PositionKey] = (),
        account: str | None = None,
        venue: Venue | None = None,
        retry_of: FlattenReport | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("flattenPlanDialog")
        self.setStyleSheet(flatten_style())
        self.setModal(True)
        self.controller = controller
        self.desk = controller.desk
        self.kind = kind
        self.keys = tuple(dict.fromkeys(keys))
        self.retry_of = retry_of
        self.run: FlattenRun | None = None
        self.report: FlattenReport | None = None
        self.task: asyncio.Task[None] | None = None
        self.stopped_sent: list[PositionKey] | None = None  # what run.cancel() said
        self._stop_requested = False
        self._result: asyncio.Future[int] | None = None
        title = "Retry a flatten" if retry_of is not None else _TITLES[kind]
        self.setWindowTitle(f"{title} — Closeout")
        self.setAccessibleName(title)
        self._build(title, account, venue)
        self.finished.connect(self._on_finished)
        self.set_plan(None)
        self.resize(1200, 760)

    # ------------------------------------------------------------------ layout
    def _build(self, title: str, account: str | None, venue: Venue | None) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(18, 14, 18, 14)
        root.setSpacing(10)
        head = QHBoxLayout()
        self.titleLabel = QLabel(title, self)
        self.titleLabel.setObjectName("flattenTitle")
        head.addWidget(self.titleLabel)
        head.addStretch(1)
        self.planIdLabel = QLabel(self)
        self.planIdLabel.setObjectName("planIdLabel")
        self.planIdLabel.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        head.addWidget(self.planIdLabel)
        root.addLayout(head)

        self.pages = QStackedWidget(self)
        self.pages.setObjectName("flattenPages")
        self.planPage = PlanPage(self.desk, self.kind, self.keys, self.retry_of, account, venue,
                                 self)
        self.progressPage = ProgressPage(self)
        self.reportPage = ReportPage(self)
        for page in (self.planPage, self.progressPage, self.reportPage):
            self.pages.addWidget(page)
        root.addWidget(self.pages, 1)

        # Each page's widgets, by the names they always had on the dialog.
        p = self.planPage
        p.planShown.connect(self._show_plan_id)
        p.closeButton.clicked.connect(self.reject)
        p.executeButton.clicked.connect(self.execute_clicked)
        self.setupFrame = s = p.setupFrame
        self.accountInput = s.accountInput
        self.venueInput = s.venueInput
        self.scopeText = s.scopeText
        self.sideFilter = s.sideFilter
        self.symbolFilter = s.symbolFilter
        self.losingOnly = s.losingOnly
        self.reasonInput = s.reasonInput
        self.cancelRestingInput = s.cancelRestingInput
        self.buildButton = s.buildButton
        self.planSummary = p.planSummary
        self.planModel = p.planModel
        self.planTable = p.planTable
        self.requestDetail = p.requestDetail
        self.confirmBox = p.confirmBox
        self.confirmationPrompt = p.confirmationPrompt
        self.confirmationWhy = p.confirmationWhy
        self.confirmationInput = p.confirmationInput
        self.planMessage = p.planMessage
        self.closeButton = p.closeButton
        self.executeButton = p.executeButton

        g = self.progressPage
        g.stopButton.clicked.connect(self.stop)
        self.progressBar = g.progressBar
        self.progressStatus = g.progressStatus
        self.runModel = g.runModel
        self.progressTable = g.progressTable
        self.progressSent = g.progressSent
        self.stopButton = g.stopButton

        r = self.reportPage
        r.retryButton.clicked.connect(self.retry)
        r.reportCloseButton.clicked.connect(self.accept)
        self.reportHeadline = r.reportHeadline
        self.reportTotals = r.reportTotals
        self.reportNote = r.reportNote
        self.reportModel = r.reportModel
        self.reportTable = r.reportTable
        self.reportDetail = r.reportDetail
        self.reportMessage = r.reportMessage
        self.exportButton = r.exportButton
        self.retryButton = r.retryButton
        self.reportCloseButton = r.reportCloseButton

    # ------------------------------------------------------------------ the plan
    @property
    def plan(self) -> FlattenPlan | None:
        """The plan shown (and, once started, the one running)."""
        return self.planPage.plan

    def current_scope(self) -> FlattenScope:
        """The scope and filters the setup shows now; raises PlanError."""
        return self.setupFrame.current_scope()

    def build(self) -> FlattenPlan | None:
        """Build (and journal) a plan from the setup now; it is shown, nothing is sent."""
        return self.planPage.build()

    def set_plan(self, plan: FlattenPlan | None) -> None:
        """Show ``plan`` (None: no plan yet) and reset the confirmation for it."""
        self.planPage.set_plan(plan)

    def _show_plan_id(self, plan: FlattenPlan | None) -> None:
        if plan is None:
            self.planIdLabel.setText("")
            return
        ident = f"Plan {plan.id}"
        if plan.retry_of:
            ident += f" · retry of {plan.retry_of}"
        self.planIdLabel.setText(ident)

    @property
    def confirmed_text_ok(self) -> bool:
        return self.planPage.confirmed_text_ok

    def execute_clicked(self) -> None:
        """Execute: typed plans run now (the word was the confirmation); others ask once."""
        plan = self.planPage.confirmed_plan()
        if plan is None:
            return
        refusal = self.controller.start(self, plan)
        if refusal is not None:
            self.planPage.refuse(refusal)

    # ------------------------------------------------------------------ running
    @property
    def running(self) -> bool:
        return self.planPage.started and self.report is None

    def begin(self, plan: FlattenPlan) -> None:
        """The controller accepted the plan: show the progress page."""
        self.planPage.freeze()
        self.progressPage.begin(plan)
        self.pages.setCurrentWidget(self.progressPage)
        self.stopButton.setFocus()

    def attach(self, run: FlattenRun) -> None:
        self.run = run
        if self._stop_requested:
            self.stop()

    def on_progress(self, state: ItemState) -> None:
        """core's progress callback (loop thread): one item changed."""
        if not shiboken6.isValid(self.runModel):
            return  # the window went away mid-run; the run goes on and reports to the journal
        self.progressPage.show_progress(state, stopped=self.stopped_sent is not None)

    def stop(self) -> None:
        """Stop sending; say which closes had already gone (they are followed to the end)."""
        if self.report is not None or self.stopped_sent is not None:
            return
        run = self.run
        if run is None:
            self._stop_requested = True
            self.progressPage.stopping()
            return
        sent = run.cancel()
        self.stopped_sent = sent
        self.progressPage.show_stopped(sent, len(run.plan.items))

    def fail(self, message: str) -> None:
        """The run could not start (the plan had already run): back to the plan page."""
        self.planPage.thaw()
        self.pages.setCurrentWidget(self.planPage)
        self.planPage.refuse(message)

    def show_report(self, report: FlattenReport) -> None:
        self.report = report
        self.reportPage.show_report(report)
        self.pages.setCurrentWidget(self.reportPage)
        self.reportPage.select_worst()
        self.reportCloseButton.setFocus()
        if not self.isVisible():
            self.open()

    # ------------------------------------------------------------------ the report
    def retry(self) -> FlattenPlanDialog | None:
        report = self.report
        if report is None or not report.retry_keys:
            return None
        return self.controller.open_retry(report, self)

    def choose_export(self) -> None:
        self.reportPage.choose_export()

    def export_to(self, path: Path) -> bool:
        return self.reportPage.export_to(path)

    # ------------------------------------------------------------------ closing
    def reject(self) -> None:
        if self.running:
            # Sent closes cannot be taken back: the run goes on, the report reopens this.
            self.hide()
            assert self.plan is not None
            self.controller.say(f"Flatten {self.plan.id} is still running; its report opens "
                                "when it ends.")
            return
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.running:
            event.ignore()
            self.reject()
            return
        super().closeEvent(event)

    def result_future(self) -> asyncio.Future[int]:
        """Resolves with the result code when the dialog closes."""
        if self._result is None:
            self._result = asyncio.get_running_loop().create_future()
        return self._result

    def _on_finished(self, code: int) -> None:
        if self._result is not None and not self._result.done():
            self._result.set_result(code)
        self.controller.forget(self)
