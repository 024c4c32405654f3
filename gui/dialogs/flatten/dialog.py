"""Flatten in the window: a plan that is previewed, confirmed once, run concurrently and
reported.

``install_flatten(window)`` adds the Flatten menu to a MainWindow from outside. Every entry
opens one :class:`FlattenPlanDialog` (with ``open()``, never ``exec()``), which walks through
three pages:

1. **Plan.** What to flatten and its filters, a reason, and whether to cancel resting
   reduce-only closes and triggers first. Building a plan journals it, so a plan is built only
   when the user asks ("Build plan" / "Rebuild plan"), never on a filter change: a change only
   marks the shown plan out of date, and it cannot be executed until rebuilt. What is confirmed
   is exactly what is shown.
2. **Progress.** Every item's state as core reports it; "Stop sending" stops new requests and
   says which closes had already gone.
3. **Report.** Each position's outcome, the totals, "Retry the residuals and rejections" (a new
   plan, confirmed again) and "Export…".

Confirmation: a plan on a LIVE account, or of everything, needs ``plan.confirmation_word``
typed exactly; any other plan needs one extra click ("Execute", then "Confirm — send N
closes"). One controller never runs two plans over the same position at once (and the desk
joins a close already in flight anyway).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QItemSelection, QItemSelectionModel, QObject, Qt
from PySide6.QtGui import QAction, QCloseEvent, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from cli.flatten_text import report_text
from core.flatten import (
    FlattenPlan,
    FlattenReport,
    FlattenRun,
    FlattenScope,
    ItemState,
    Outcome,
    PlanAlreadyRun,
    PlanError,
    PlanItem,
    ScopeKind,
    build_plan,
    execute,
)
from core.model import Environment, PositionKey, PositionSide, Venue
from gui.dialogs.flatten.models import (
    OUTCOME_WORDS,
    ItemColumn,
    PlanColumn,
    PlanModel,
    RunModel,
    state_text,
)
from gui.models import KEY_ROLE, describe_working, env_label, fmt_decimal
from gui.widgets import EnvChipDelegate

if TYPE_CHECKING:
    from gui.main_window import MainWindow

__all__ = [
    "FLATTEN_STYLE",
    "FlattenController",
    "FlattenPlanDialog",
    "export_report",
    "install_flatten",
    "item_story",
    "plan_detail",
    "report_headline",
    "report_totals_text",
]

log = logging.getLogger(__name__)

# The dialog's own look, on top of the application style sheet (resources/style.qss): the red
# Execute button, the confirmation box, the report's headline.
FLATTEN_STYLE = """
QLabel#flattenTitle { font-size: 13pt; font-weight: bold; color: #111827; }
QLabel#planIdLabel { color: #6b7280; }
QFrame#flattenSetup { background: #ffffff; border: 1px solid #dde1e6; border-radius: 4px; }
QLabel#setupCaption { color: #6b7280; }
QLabel#scopeText { font-weight: bold; color: #111827; }
QLabel#planSummary { font-weight: bold; color: #374151; }
QLabel#planSummary[stale="true"] { color: #9aa1ab; }
QPlainTextEdit#requestDetail, QPlainTextEdit#reportDetail {
    color: #374151; background: #f0f1f3; border: none; border-radius: 3px; padding: 2px 4px;
}
QFrame#confirmBox { background: #fff7e6; border: 1px solid #f0c37a; border-radius: 4px; }
QFrame#confirmBox[typed="true"] { background: #fdecec; border: 1px solid #f1b5b5; }
QLabel#confirmationPrompt { font-size: 11pt; font-weight: bold; color: #8a5300; }
QLabel#confirmationPrompt[typed="true"] { font-size: 13pt; color: #8f1d1d; }
QLabel#confirmationWhy { color: #4b5563; }
QLineEdit#confirmationInput { font-size: 12pt; font-weight: bold; min-width: 220px; }
QLineEdit#confirmationInput[matches="true"] { border: 2px solid #1b7f3b; }
QPushButton#executeButton {
    background: #c62828; border: 1px solid #a61f1f; color: #ffffff; font-weight: bold;
    padding: 6px 20px;
}
QPushButton#executeButton:hover { background: #b42323; }
QPushButton#executeButton[armed="true"] { background: #8f1d1d; border: 1px solid #6f1414; }
QPushButton#executeButton:disabled {
    background: #e8b4b4; border: 1px solid #e0a5a5; color: #fff8f8;
}
QLabel#planMessage, QLabel#reportMessage { color: #c62828; }
QLabel#planMessage[tone="info"], QLabel#reportMessage[tone="info"] { color: #4b5563; }
QLabel#progressStatus { font-weight: bold; color: #374151; }
QLabel#progressSent { color: #4b5563; }
QProgressBar {
    background: #ffffff; border: 1px solid #c4cad3; border-radius: 4px; text-align: center;
    min-height: 18px;
}
QProgressBar::chunk { background: #3b82f6; border-radius: 3px; }
QLabel#reportHeadline { font-size: 13pt; font-weight: bold; }
QLabel#reportHeadline[tone="good"] { color: #1b7f3b; }
QLabel#reportHeadline[tone="bad"] { color: #c62828; }
QLabel#reportHeadline[tone="warn"] { color: #b45309; }
QLabel#reportTotals { color: #374151; }
QLabel#reportNote { color: #4b5563; }
QPushButton#retryButton { font-weight: bold; }
"""

_SIDE_CHOICES: tuple[tuple[str, PositionSide | None], ...] = (
    ("Long and short", None),
    ("Long only", PositionSide.LONG),
    ("Short only", PositionSide.SHORT),
)
_ALL_SYMBOLS = "All symbols"
_TITLES = {
    ScopeKind.SELECTED: "Flatten selected positions",
    ScopeKind.ACCOUNT: "Flatten an account",
    ScopeKind.VENUE: "Flatten a venue",
    ScopeKind.EVERYTHING: "Flatten everything",
}
_PLAN_WIDTHS = {
    PlanColumn.VENUE: 84, PlanColumn.ACCOUNT: 132, PlanColumn.ENV: 66, PlanColumn.SYMBOL: 176,
    PlanColumn.SIDE: 52, PlanColumn.QUANTITY: 88, PlanColumn.MARK: 96, PlanColumn.PNL: 128,
    PlanColumn.CANCELS: 100,
}
_ITEM_WIDTHS = {
    ItemColumn.VENUE: 84, ItemColumn.ACCOUNT: 132, ItemColumn.ENV: 66, ItemColumn.SYMBOL: 176,
    ItemColumn.SIDE: 52, ItemColumn.QUANTITY: 88, ItemColumn.STATE: 176, ItemColumn.SENT: 56,
}
_ATTENTION: Mapping[Outcome | None, int] = {
    None: 0, Outcome.UNKNOWN: 0, Outcome.REJECTED: 1, Outcome.BLOCKED: 1, Outcome.RESIDUAL: 2,
    Outcome.SKIPPED: 3, Outcome.CANCELLED_BEFORE_SEND: 4,
}
SENT_LISTED = 12  # sent keys named in the "Stopped" note; the table marks every one


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _restyle(widget: QWidget, name: str, value: object) -> None:
    """Set a dynamic property the style sheet reads, and re-apply the style if it changed."""
    if widget.property(name) != value:
        widget.setProperty(name, value)
        widget.style().unpolish(widget)
        widget.style().polish(widget)


def _key_text(key: PositionKey) -> str:
    return f"{key.symbol} on {key.account}"


def _indented(text: str, pad: str = "     ") -> list[str]:
    return [pad + line for line in text.splitlines()] or [pad]


def plan_detail(item: PlanItem) -> str:
    """One row's exact requests, in the order they are sent: cancels first, then the close."""
    k = item.key
    lines = [f"{k.symbol} — {k.account} on {k.venue.label} ({env_label(item.environment)}): "
             f"{item.side.value.lower()} {fmt_decimal(item.quantity)}"]
    step = ""
    if item.cancels:
        lines.append(f"1. Cancel first ({_plural(len(item.cancels), 'resting order')}):")
        for order, preview in zip(item.cancels, item.cancel_previews, strict=True):
            lines.append(f"   • {describe_working(order)} — order {order.order_id}")
            lines.extend(_indented(preview or "(no request could be built: see the warning)"))
        step = "2. Then close"
    else:
        step = "Close"
    lines.append(f"{step}: {item.mechanism}")
    lines.extend(_indented(item.preview or "(no request could be built: see the warning)"))
    if item.warning:
        lines.append(f"⚠ {item.warning}")
    return "\n".join(lines)


def item_story(state: ItemState) -> str:
    """Everything the report knows about one position, for the detail pane."""
    k = state.key
    lines = [f"{k.symbol} — {k.account} on {k.venue.label}: {state_text(state)}"]
    if state.message:
        lines.append(state.message)
    lines.extend(f"• {note}" for note in state.notes)
    facts = []
    if state.cancelled_orders:
        facts.append(f"cancelled first: {', '.join(state.cancelled_orders)}")
    if state.filled is not None:
        facts.append(f"filled {fmt_decimal(state.filled)}")
    if state.client_order_id:
        facts.append(f"client order {state.client_order_id}")
    if state.intent_id:
        facts.append(f"intent {state.intent_id}")
    if facts:
        lines.append("; ".join(facts))
    return "\n".join(lines)


def report_totals_text(report: FlattenReport) -> str:
    """"3 closed and verified flat · 1 residual · 1 rejected" (only the outcomes that occur)."""
    parts = [f"{count} {OUTCOME_WORDS[o]}" for o, count in report.totals.items() if count]
    return " · ".join(parts) or "Nothing to do"


def report_headline(report: FlattenReport) -> tuple[str, str]:
    """The report's first line and its tone ("good", "warn" or "bad")."""
    n = len(report.items)
    if n == 0:
        return "Nothing to flatten: the plan was empty.", "good"
    flat = sum(1 for i in report.items if i.outcome is not None and i.outcome.flat)
    if report.all_flat:
        return f"All {_plural(n, 'position')} flat.", "good"
    totals = report.totals
    bad = totals[Outcome.REJECTED] + totals[Outcome.BLOCKED] + totals[Outcome.UNKNOWN]
    return (f"{flat} of {_plural(n, 'position')} flat — {n - flat} still need attention.",
            "bad" if bad else "warn")


def export_report(report: FlattenReport, path: Path) -> Path:
    """Write the report to ``path``: JSON for a ``.json`` file, the text form otherwise."""
    text = report.to_json() if path.suffix.lower() == ".json" else report_text(report)
    path.write_text(text + "\n", encoding="utf-8")
    return path


# ============================================================================ the dialog


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
        self.setStyleSheet(FLATTEN_STYLE)
        self.setModal(True)
        self.controller = controller
        self.desk = controller.desk
        self.kind = kind
        self.keys = tuple(dict.fromkeys(keys))
        self.retry_of = retry_of
        self.plan: FlattenPlan | None = None
        self.run: FlattenRun | None = None
        self.report: FlattenReport | None = None
        self.task: asyncio.Task[None] | None = None
        self.fileDialog: QFileDialog | None = None
        self.stopped_sent: list[PositionKey] | None = None  # what run.cancel() said
        self._stale = False  # the setup changed since the shown plan was built
        self._armed = False  # Execute was clicked once; the next click sends
        self._started = False
        self._stop_requested = False
        self._result: asyncio.Future[int] | None = None
        title = "Retry a flatten" if retry_of is not None else _TITLES[kind]
        self.setWindowTitle(f"{title} — Closeout")
        self.setAccessibleName(title)
        self._build(title, account, venue)
        self._refresh_symbols()
        self._connect_setup()
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
        self.planPage = self._build_plan_page(account, venue)
        self.progressPage = self._build_progress_page()
        self.reportPage = self._build_report_page()
        for page in (self.planPage, self.progressPage, self.reportPage):
            self.pages.addWidget(page)
        root.addWidget(self.pages, 1)

    def _caption(self, text: str, buddy: QWidget, parent: QWidget) -> QLabel:
        label = QLabel(text, parent)
        label.setObjectName("setupCaption")
        label.setBuddy(buddy)
        return label

    def _build_plan_page(self, account: str | None, venue: Venue | None) -> QWidget:
        page = QWidget(self)
        page.setObjectName("flattenPlan")
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)

        setup = QFrame(page)
        setup.setObjectName("flattenSetup")
        grid = QGridLayout(setup)
        grid.setContentsMargins(12, 10, 12, 10)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(8)
        self.setupFrame = setup

        self.accountInput = QComboBox(setup)
        self.accountInput.setObjectName("accountInput")
        self.accountInput.setAccessibleName("Account to flatten")
        for name in sorted(self.desk.accounts, key=str.casefold):
            self.accountInput.addItem(name, name)
        if account is not None and (i := self.accountInput.findData(account)) >= 0:
            self.accountInput.setCurrentIndex(i)
        self.venueInput = QComboBox(setup)
        self.venueInput.setObjectName("venueInput")
        self.venueInput.setAccessibleName("Venue to flatten")
        configured = {a.venue for a in self.desk.accounts.values()}
        for v in Venue:
            if v in configured:
                self.venueInput.addItem(v.label, v.value)
        if venue is not None and (i := self.venueInput.findData(venue.value)) >= 0:
            self.venueInput.setCurrentIndex(i)
        self.scopeText = QLabel(self._scope_text(), setup)
        self.scopeText.setObjectName("scopeText")
        if self.kind is ScopeKind.SELECTED and self.retry_of is None:
            self.scopeText.setToolTip("\n".join(str(k) for k in self.keys))
        scope_widget: QWidget = self.scopeText
        if self.retry_of is None and self.kind is ScopeKind.ACCOUNT:
            scope_widget = self.accountInput
        elif self.retry_of is None and self.kind is ScopeKind.VENUE:
            scope_widget = self.venueInput
        for shown in (self.accountInput, self.venueInput, self.scopeText):
            shown.setVisible(shown is scope_widget)

        self.sideFilter = QComboBox(setup)
        self.sideFilter.setObjectName("sideFilter")
        self.sideFilter.setAccessibleName("Side")
        for text, side in _SIDE_CHOICES:
            self.sideFilter.addItem(text, side.value if side is not None else None)
        self.symbolFilter = QComboBox(setup)
        self.symbolFilter.setObjectName("symbolFilter")
        self.symbolFilter.setAccessibleName("Symbol")
        self.symbolFilter.setMinimumContentsLength(14)
        self.symbolFilter.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.losingOnly = QCheckBox("Losing only", setup)
        self.losingOnly.setObjectName("losingOnly")
        self.losingOnly.setToolTip("Only positions whose unrealised P&L is below zero; a position "
                                   "with no P&L shown is left out")
        self.reasonInput = QLineEdit(setup)
        self.reasonInput.setObjectName("reasonInput")
        self.reasonInput.setAccessibleName("Reason or ticket")
        self.reasonInput.setPlaceholderText("Reason or ticket id (optional; journaled with "
                                            "every record of the flatten)")
        self.reasonInput.setMaxLength(200)
        self.cancelRestingInput = QCheckBox(
            "Cancel resting reduce-only closes and triggers first", setup)
        self.cancelRestingInput.setObjectName("cancelRestingInput")
        self.cancelRestingInput.setChecked(True)
        self.cancelRestingInput.setToolTip(
            "A resting reduce-only close or trigger on a symbol can block a new reduce-only "
            "close; the plan cancels them, and a failed cancel stops that position's close")
        self.buildButton = QPushButton("Build plan", setup)
        self.buildButton.setObjectName("buildButton")
        self.buildButton.setToolTip("List what would be sent (nothing is sent; the plan is "
                                    "journaled)")
        self.buildButton.clicked.connect(self.build)

        what = QHBoxLayout()
        what.setSpacing(8)
        what.addWidget(scope_widget, 1 if scope_widget is not self.scopeText else 0)
        what.addSpacing(10)
        what.addWidget(self._caption("Side", self.sideFilter, setup))
        what.addWidget(self.sideFilter)
        what.addWidget(self._caption("Symbol", self.symbolFilter, setup))
        what.addWidget(self.symbolFilter)
        what.addWidget(self.losingOnly)
        what.addStretch(1)
        grid.addWidget(self._caption("Flatten", scope_widget, setup), 0, 0)
        grid.addLayout(what, 0, 1)
        why = QHBoxLayout()
        why.setSpacing(10)
        why.addWidget(self.reasonInput, 1)
        why.addWidget(self.cancelRestingInput)
        why.addWidget(self.buildButton)
        grid.addWidget(self._caption("Reason", self.reasonInput, setup), 1, 0)
        grid.addLayout(why, 1, 1)
        grid.setColumnStretch(1, 1)
        if self.retry_of is not None:  # a retry plan is the report's; only rebuilding is offered
            fixed: tuple[QWidget, ...] = (self.sideFilter, self.symbolFilter, self.losingOnly,
                                          self.reasonInput, self.cancelRestingInput)
            for w in fixed:
                w.setEnabled(False)
                w.setToolTip("A retry plan keeps the first plan's filters, reason and cancels")
            self.reasonInput.setText(self.retry_of.plan.reason or "")
            self.cancelRestingInput.setChecked(self.retry_of.plan.cancel_resting)
        layout.addWidget(setup)

        self.planSummary = QLabel(page)
        self.planSummary.setObjectName("planSummary")
        self.planSummary.setWordWrap(True)
        layout.addWidget(self.planSummary)

        self.planModel = PlanModel(self)
        self.planTable = _table(page, "planTable", "Positions the plan closes", 28)
        self.planTable.setModel(self.planModel)
        self.planTable.setItemDelegateForColumn(PlanColumn.ENV, EnvChipDelegate(self.planTable))
        for col, width in _PLAN_WIDTHS.items():
            self.planTable.setColumnWidth(col, width)
        self.planTable.horizontalHeader().setStretchLastSection(True)
        self.planTable.selectionModel().selectionChanged.connect(self._show_detail)
        self.requestDetail = QPlainTextEdit(page)
        self.requestDetail.setObjectName("requestDetail")
        self.requestDetail.setAccessibleName("Exact requests of the selected row, redacted")
        self.requestDetail.setReadOnly(True)
        self.requestDetail.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        split = QSplitter(Qt.Orientation.Vertical, page)
        split.setObjectName("planSplitter")
        split.setChildrenCollapsible(False)
        split.addWidget(self.planTable)
        split.addWidget(self.requestDetail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([330, 200])
        layout.addWidget(split, 1)

        self.confirmBox = QFrame(page)
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
        self.planMessage = QLabel(page)
        self.planMessage.setObjectName("planMessage")
        self.planMessage.setWordWrap(True)
        buttons.addWidget(self.planMessage, 1)
        self.closeButton = QPushButton("Close", page)
        self.closeButton.setObjectName("closeButton")
        self.closeButton.clicked.connect(self.reject)
        self.executeButton = QPushButton("Execute", page)
        self.executeButton.setObjectName("executeButton")
        self.executeButton.clicked.connect(self.execute_clicked)
        for b in (self.buildButton, self.closeButton, self.executeButton):
            b.setAutoDefault(False)  # Enter in a field must never press Execute
            b.setDefault(False)
        buttons.addWidget(self.closeButton)
        buttons.addWidget(self.executeButton)
        layout.addLayout(buttons)
        return page

    def _build_progress_page(self) -> QWidget:
        page = QWidget(self)
        page.setObjectName("flattenProgress")
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        self.progressBar = QProgressBar(page)
        self.progressBar.setObjectName("progressBar")
        self.progressBar.setFormat("%v of %m done")
        layout.addWidget(self.progressBar)
        self.progressStatus = QLabel(page)
        self.progressStatus.setObjectName("progressStatus")
        self.progressStatus.setWordWrap(True)
        layout.addWidget(self.progressStatus)
        self.runModel = RunModel(self)
        self.progressTable = _table(page, "progressTable", "Flatten progress", 26)
        self.progressTable.setModel(self.runModel)
        _item_columns(self.progressTable)
        layout.addWidget(self.progressTable, 1)
        self.progressSent = QLabel(page)
        self.progressSent.setObjectName("progressSent")
        self.progressSent.setWordWrap(True)
        self.progressSent.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progressSent.setVisible(False)
        layout.addWidget(self.progressSent)
        row = QHBoxLayout()
        row.addStretch(1)
        self.stopButton = QPushButton("Stop sending", page)
        self.stopButton.setObjectName("stopButton")
        self.stopButton.setAutoDefault(False)
        self.stopButton.setToolTip("Send no new cancel or close; what was already sent is "
                                   "followed to the end and reported")
        self.stopButton.clicked.connect(self.stop)
        row.addWidget(self.stopButton)
        layout.addLayout(row)
        return page

    def _build_report_page(self) -> QWidget:
        page = QWidget(self)
        page.setObjectName("flattenReport")
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.reportHeadline = QLabel(page)
        self.reportHeadline.setObjectName("reportHeadline")
        layout.addWidget(self.reportHeadline)
        self.reportTotals = QLabel(page)
        self.reportTotals.setObjectName("reportTotals")
        self.reportTotals.setWordWrap(True)
        layout.addWidget(self.reportTotals)
        self.reportNote = QLabel(page)
        self.reportNote.setObjectName("reportNote")
        self.reportNote.setWordWrap(True)
        self.reportNote.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.reportNote)
        self.reportModel = RunModel(self)
        self.reportTable = _table(page, "reportTable", "Flatten report", 26)
        self.reportTable.setModel(self.reportModel)
        _item_columns(self.reportTable)
        self.reportTable.selectionModel().selectionChanged.connect(self._show_report_detail)
        self.reportDetail = QPlainTextEdit(page)
        self.reportDetail.setObjectName("reportDetail")
        self.reportDetail.setAccessibleName("What happened to the selected position")
        self.reportDetail.setReadOnly(True)
        split = QSplitter(Qt.Orientation.Vertical, page)
        split.setObjectName("reportSplitter")
        split.setChildrenCollapsible(False)
        split.addWidget(self.reportTable)
        split.addWidget(self.reportDetail)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        split.setSizes([440, 110])
        layout.addWidget(split, 1)
        row = QHBoxLayout()
        row.setSpacing(8)
        self.reportMessage = QLabel(page)
        self.reportMessage.setObjectName("reportMessage")
        self.reportMessage.setWordWrap(True)
        row.addWidget(self.reportMessage, 1)
        self.exportButton = QPushButton("Export…", page)
        self.exportButton.setObjectName("exportButton")
        self.exportButton.setToolTip("Save this report as JSON or text (it is in the journal "
                                     "already)")
        self.exportButton.clicked.connect(self.choose_export)
        self.retryButton = QPushButton("Retry the residuals and rejections", page)
        self.retryButton.setObjectName("retryButton")
        self.retryButton.clicked.connect(self.retry)
        self.reportCloseButton = QPushButton("Close", page)
        self.reportCloseButton.setObjectName("reportCloseButton")
        self.reportCloseButton.clicked.connect(self.accept)
        for b in (self.exportButton, self.retryButton, self.reportCloseButton):
            b.setAutoDefault(False)
            row.addWidget(b)
        layout.addLayout(row)
        return page

    def _connect_setup(self) -> None:
        self.accountInput.currentIndexChanged.connect(self._on_scope_changed)
        self.venueInput.currentIndexChanged.connect(self._on_scope_changed)
        self.sideFilter.currentIndexChanged.connect(self._on_setup_changed)
        self.symbolFilter.currentIndexChanged.connect(self._on_setup_changed)
        self.losingOnly.toggled.connect(self._on_setup_changed)
        self.reasonInput.textChanged.connect(self._on_setup_changed)
        self.cancelRestingInput.toggled.connect(self._on_setup_changed)

    # ------------------------------------------------------------------ setup
    def _scope_text(self) -> str:
        if self.retry_of is not None:
            n = len(self.retry_of.retry_keys)
            return (f"The residuals and rejections of {self.retry_of.plan_id} "
                    f"({_plural(n, 'position')})")
        if self.kind is ScopeKind.SELECTED:
            return _plural(len(self.keys), "selected position")
        if self.kind is ScopeKind.EVERYTHING:
            return "Everything: every open position on every account"
        return ""

    def _base_scope(self) -> FlattenScope:
        """The scope without filters; raises PlanError when nothing is chosen."""
        if self.kind is ScopeKind.SELECTED:
            return FlattenScope.selected(self.keys)
        if self.kind is ScopeKind.ACCOUNT:
            return FlattenScope.for_account(self.accountInput.currentData() or "")
        if self.kind is ScopeKind.VENUE:
            value = self.venueInput.currentData()
            if not value:
                raise PlanError("no account is configured on any venue")
            return FlattenScope.for_venue(Venue(value))
        return FlattenScope.everything()

    def current_scope(self) -> FlattenScope:
        """The scope and filters the setup shows now; raises PlanError."""
        base = self._base_scope()
        side = self.sideFilter.currentData()
        return FlattenScope(
            base.kind, keys=base.keys, account=base.account, venue=base.venue,
            side=PositionSide(side) if side else None,
            symbol=self.symbolFilter.currentData() or None,
            losing_only=self.losingOnly.isChecked(),
        )

    def _refresh_symbols(self) -> None:
        """The symbol filter offers the symbols open in the scope now."""
        try:
            base = self._base_scope()
            symbols = sorted({k.symbol for k in self.desk.positions if base.covers(k)},
                             key=str.casefold)
        except PlanError:
            symbols = []
        current = self.symbolFilter.currentData()
        self.symbolFilter.blockSignals(True)
        self.symbolFilter.clear()
        self.symbolFilter.addItem(_ALL_SYMBOLS, None)
        for s in symbols:
            self.symbolFilter.addItem(s, s)
        index = self.symbolFilter.findData(current) if current else 0
        self.symbolFilter.setCurrentIndex(max(index, 0))
        self.symbolFilter.blockSignals(False)

    def _on_scope_changed(self, *_: object) -> None:
        self._refresh_symbols()
        self._on_setup_changed()

    def _on_setup_changed(self, *_: object) -> None:
        if self.plan is None or self._started:
            return
        self._stale = True
        self._disarm()
        _restyle(self.planSummary, "stale", True)
        self.buildButton.setText("Rebuild plan")
        self._say("What to flatten changed: Rebuild plan to see the new plan before executing. "
                  "Nothing was sent.", "info")
        self._refresh_execute()

    # ------------------------------------------------------------------ the plan
    def build(self) -> FlattenPlan | None:
        """Build (and journal) a plan from the setup now; it is shown, nothing is sent."""
        if self._started:
            return None
        try:
            if self.retry_of is not None:
                plan = self.retry_of.retry_plan(self.desk)
            else:
                plan = build_plan(self.desk, self.current_scope(),
                                  reason=self.reasonInput.text(),
                                  cancel_resting=self.cancelRestingInput.isChecked())
        except PlanError as exc:
            self._say(f"Cannot plan this: {exc}. Nothing was sent.")
            return None
        self.set_plan(plan)
        return plan

    def set_plan(self, plan: FlattenPlan | None) -> None:
        """Show ``plan`` (None: no plan yet) and reset the confirmation for it."""
        self.plan = plan
        self._stale = False
        self._armed = False
        self.planModel.set_plan(plan)
        _restyle(self.planSummary, "stale", False)
        self.buildButton.setText("Build plan" if plan is None else "Rebuild plan")
        self.confirmationInput.blockSignals(True)
        self.confirmationInput.clear()
        self.confirmationInput.blockSignals(False)
        _restyle(self.confirmationInput, "matches", False)
        self._say("")
        if plan is None:
            self.planIdLabel.setText("")
            self.planSummary.setText("Choose what to flatten, then Build plan. Nothing is "
                                     "sent until you confirm.")
            self.requestDetail.setPlainText("")
            self.confirmBox.setVisible(False)
            self._refresh_execute()
            return
        ident = f"Plan {plan.id}"
        if plan.retry_of:
            ident += f" · retry of {plan.retry_of}"
        self.planIdLabel.setText(ident)
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
            text = (f"{_plural(n, 'position')} to close on {_plural(len(accounts), 'account')}"
                    f" across {_plural(len(venues), 'venue')}")
            if plan.cancel_resting:
                text += f" · {_plural(plan.cancel_count, 'resting order')} to cancel first"
            else:
                text += " · resting orders are left alone"
        if plan.missing:
            text += f" · {len(plan.missing)} selected no longer open (nothing to do)"
        warned = sum(1 for i in plan.items if i.warning)
        if warned:
            text += f" · ⚠ {_plural(warned, 'warning')} (rows marked ⚠)"
        text += f"\nReason: {plan.reason}" if plan.reason else "\nNo reason given"
        return text

    def _configure_confirmation(self, plan: FlattenPlan) -> None:
        self.confirmBox.setVisible(bool(plan.items))
        typed = plan.requires_typed_confirmation
        _restyle(self.confirmBox, "typed", typed)
        _restyle(self.confirmationPrompt, "typed", typed)  # a child is not re-polished with it
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
                f"{why} Then Execute sends {_plural(n, 'close')} at once.")
            self.confirmationInput.setPlaceholderText(word)
            self.confirmationInput.setAccessibleDescription(f"Type {word} to confirm")
            self.confirmationInput.setFocus()
        else:
            self.confirmationPrompt.setText("Check the plan, then Execute and confirm")
            self.confirmationWhy.setText(
                f"Execute asks once more before it sends {_plural(n, 'close')}.")

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
        return (plan is not None and bool(plan.items) and not self._stale and not self._started
                and self.confirmed_text_ok)

    def _refresh_execute(self) -> None:
        ok = self._can_execute()
        self.executeButton.setEnabled(ok)
        plan = self.plan
        if self._armed and plan is not None:
            self.executeButton.setText(f"Confirm — send {_plural(len(plan.items), 'close')}")
        else:
            self.executeButton.setText("Execute")
        _restyle(self.executeButton, "armed", self._armed)
        if plan is not None and plan.requires_typed_confirmation and not ok \
                and not self._stale and plan.items:
            self.executeButton.setToolTip(f"Type {plan.confirmation_word} to enable")
        else:
            self.executeButton.setToolTip("")

    def _disarm(self) -> None:
        if self._armed:
            self._armed = False
            self._say("")

    def _on_confirmation_text(self, _text: str) -> None:
        _restyle(self.confirmationInput, "matches", self.confirmed_text_ok)
        self._refresh_execute()

    def execute_clicked(self) -> None:
        """Execute: typed plans run now (the word was the confirmation); others ask once."""
        plan = self.plan
        if plan is None or not self._can_execute():
            return
        if not plan.requires_typed_confirmation and not self._armed:
            self._armed = True
            self._say(f"Click “Confirm” to send {_plural(len(plan.items), 'close')}; change "
                      "anything above to go back.", "info")
            self._refresh_execute()
            return
        refusal = self.controller.start(self, plan)
        if refusal is not None:
            self._armed = False
            self._say(refusal)
            self._refresh_execute()

    # ------------------------------------------------------------------ running
    @property
    def running(self) -> bool:
        return self._started and self.report is None

    def begin(self, plan: FlattenPlan) -> None:
        """The controller accepted the plan: show the progress page."""
        self._started = True
        self._armed = False
        self.setupFrame.setEnabled(False)
        self._refresh_execute()
        self.runModel.load(plan)
        self.progressBar.setRange(0, len(plan.items))
        self.progressBar.setValue(0)
        self.progressStatus.setText(f"Flattening {_plural(len(plan.items), 'position')}…")
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
        self.runModel.update(state)
        done = self.runModel.done_count
        self.progressBar.setValue(done)
        if self.stopped_sent is None:
            sent = self.runModel.sent_count
            total = self.runModel.rowCount()
            self.progressStatus.setText(f"{done} of {total} done · {sent} sent")

    def stop(self) -> None:
        """Stop sending; say which closes had already gone (they are followed to the end)."""
        if self.report is not None or self.stopped_sent is not None:
            return
        run = self.run
        if run is None:
            self._stop_requested = True
            self.stopButton.setEnabled(False)
            return
        sent = run.cancel()
        self.stopped_sent = sent
        total = len(run.plan.items)
        self.stopButton.setEnabled(False)
        self.stopButton.setText("Stopped")
        self.progressStatus.setText(
            f"Stopped: {len(sent)} sent (listed), {total - len(sent)} not sent")
        names = ", ".join(_key_text(k) for k in sent[:SENT_LISTED])
        if len(sent) > SENT_LISTED:
            names += f", and {len(sent) - SENT_LISTED} more (marked “sent” above)"
        self.progressSent.setText(
            f"Already sent, followed to the end: {names}." if sent
            else "No close had been sent.")
        self.progressSent.setVisible(True)

    def fail(self, message: str) -> None:
        """The run could not start (the plan had already run): back to the plan page."""
        self._started = False
        self.setupFrame.setEnabled(True)
        self.pages.setCurrentWidget(self.planPage)
        self._say(message)
        self._refresh_execute()

    def show_report(self, report: FlattenReport) -> None:
        self.report = report
        self.reportModel.load(report.plan, report.items)
        headline, tone = report_headline(report)
        self.reportHeadline.setText(headline)
        _restyle(self.reportHeadline, "tone", tone)
        self.reportTotals.setText(report_totals_text(report))
        notes = []
        if report.cancelled:
            sent = len(report.sent)
            notes.append(f"Stopped by you: {_plural(sent, 'close')} had been sent and were "
                         f"followed to the end; {len(report.items) - sent} were not sent.")
        if report.plan.reason:
            notes.append(f"Reason: {report.plan.reason}.")
        notes.append(f"Took {report.elapsed_ms / 1000:.1f} s; the report is saved in the "
                     "journal.")
        self.reportNote.setText(" ".join(notes))
        retry = report.retry_keys
        self.retryButton.setEnabled(bool(retry))
        self.retryButton.setText(f"Retry the residuals and rejections ({len(retry)})"
                                 if retry else "Retry the residuals and rejections")
        self.retryButton.setToolTip(
            "Build a new plan for them from the live book; it needs confirming again"
            if retry else "Nothing to retry: no residual or rejection")
        self.pages.setCurrentWidget(self.reportPage)
        # The worst outcome first (unknown, then refused, then still open): its story shows.
        if report.items:
            worst = min(range(len(report.items)),
                        key=lambda n: _ATTENTION.get(report.items[n].outcome, 9))
            self.reportTable.selectRow(worst)
        self.reportCloseButton.setFocus()
        if not self.isVisible():
            self.open()

    def _show_report_detail(self, *_: object) -> None:
        rows = self.reportTable.selectionModel().selectedRows()
        key = self.reportModel.key_at(rows[0].row()) if rows else None
        state = self.reportModel.state(key) if key is not None else None
        self.reportDetail.setPlainText(item_story(state) if state is not None else "")

    # ------------------------------------------------------------------ the report
    def retry(self) -> FlattenPlanDialog | None:
        report = self.report
        if report is None or not report.retry_keys:
            return None
        return self.controller.open_retry(report, self)

    def choose_export(self) -> None:
        """Ask where to save (non-blocking: ``open()``, never ``exec()``)."""
        report = self.report
        if report is None:
            return
        dialog = QFileDialog(self, "Export flatten report")
        dialog.setObjectName("flattenExportDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters(["JSON (*.json)", "Text (*.txt)"])
        dialog.setDefaultSuffix("json")
        dialog.selectFile(f"{report.plan_id}.json")
        dialog.fileSelected.connect(lambda name: self.export_to(Path(name)))
        self.fileDialog = dialog
        dialog.open()

    def export_to(self, path: Path) -> bool:
        report = self.report
        if report is None:
            return False
        try:
            export_report(report, path)
        except OSError as exc:
            self._say_report(f"Could not save {path}: {exc.strerror or exc}")
            return False
        self._say_report(f"Saved {path}", "info")
        return True

    # ------------------------------------------------------------------ messages, closing
    def _say(self, text: str, tone: str = "error") -> None:
        _restyle(self.planMessage, "tone", tone)
        self.planMessage.setText(text)
        self.planMessage.setAccessibleDescription(text)

    def _say_report(self, text: str, tone: str = "error") -> None:
        _restyle(self.reportMessage, "tone", tone)
        self.reportMessage.setText(text)

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


def _table(parent: QWidget, name: str, accessible: str, row_height: int) -> QTableView:
    view = QTableView(parent)
    view.setObjectName(name)
    view.setAccessibleName(accessible)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.setCornerButtonEnabled(False)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    view.verticalHeader().setDefaultSectionSize(row_height)
    view.horizontalHeader().setHighlightSections(False)
    return view


def _item_columns(view: QTableView) -> None:
    view.setItemDelegateForColumn(ItemColumn.ENV, EnvChipDelegate(view))
    for col, width in _ITEM_WIDTHS.items():
        view.setColumnWidth(col, width)
    view.horizontalHeader().setStretchLastSection(True)


# ============================================================================ the controller


class FlattenController(QObject):
    """The Flatten menu of one window, its dialogs and its running plans. A child of the
    window, so it lives exactly as long as the window does."""

    def __init__(self, window: MainWindow, *,
                 concurrency: Mapping[Venue, int] | None = None) -> None:
        super().__init__(window)
        self.setObjectName("flattenController")
        self.window = window
        self.desk = window.desk
        self.concurrency = concurrency  # per-venue caps for execute(); None: core's defaults
        self.dialogs: list[FlattenPlanDialog] = []
        self._running: dict[str, frozenset[PositionKey]] = {}  # plan id -> its positions
        self.reports: list[FlattenReport] = []  # finished this session, oldest first
        self._build_menu()

    def _build_menu(self) -> None:
        bar = self.window.menuBar()
        menu = QMenu("Fla&tten", bar)
        menu.setObjectName("flattenMenu")
        menu.setToolTipsVisible(True)
        self.menu = menu

        def action(text: str, name: str, tip: str) -> QAction:
            a = QAction(text, menu)
            a.setObjectName(name)
            a.setStatusTip(tip)
            a.setToolTip(tip)
            menu.addAction(a)
            return a

        self.selectedAction = action(
            "Flatten &selected rows…", "flattenSelectedAction",
            "Plan closing the selected positions (Ctrl+click or Shift+click to pick several)")
        self.accountAction = action("Flatten &account…", "flattenAccountAction",
                                    "Plan closing every position of one account")
        self.venueAction = action("Flatten &venue…", "flattenVenueAction",
                                  "Plan closing every position on one venue")
        menu.addSeparator()
        self.everythingAction = action(
            "Flatten &everything…", "flattenEverythingAction",
            "Plan closing every position on every account (needs the word typed)")
        self.selectedAction.triggered.connect(lambda: self.flatten_selected())
        self.accountAction.triggered.connect(lambda: self.flatten_account())
        self.venueAction.triggered.connect(lambda: self.flatten_venue())
        self.everythingAction.triggered.connect(lambda: self.flatten_everything())
        menu.aboutToShow.connect(self._refresh_actions)
        help_menu = getattr(self.window, "helpMenu", None)
        if help_menu is not None:  # Help stays the last menu, by convention
            bar.insertMenu(help_menu.menuAction(), menu)
        else:
            bar.addMenu(menu)
        # Several rows at once: Ctrl+click and Shift+click pick the rows a plan starts from.
        self.window.positionsView.setSelectionMode(
            QAbstractItemView.SelectionMode.ExtendedSelection)

    def _refresh_actions(self) -> None:
        n = len(self.selected_keys())
        self.selectedAction.setText(
            f"Flatten &selected rows ({n})…" if n else "Flatten &selected rows…")
        has_accounts = bool(self.desk.accounts)
        for a in (self.accountAction, self.venueAction, self.everythingAction):
            a.setEnabled(has_accounts)

    # ------------------------------------------------------------------ what is selected
    def selected_keys(self) -> list[PositionKey]:
        """The positions of the rows selected in the window, in the order shown."""
        view = self.window.positionsView
        selection = view.selectionModel()
        if selection is None:
            return []
        indexes = sorted(selection.selectedIndexes(), key=lambda i: (i.row(), i.column()))
        keys: dict[PositionKey, None] = {}
        for index in indexes:
            key = index.data(KEY_ROLE)
            if isinstance(key, PositionKey):
                keys[key] = None
        return list(keys)

    def select(self, keys: Iterable[PositionKey]) -> None:
        """Select these rows in the window (tests, and a future context menu)."""
        view = self.window.positionsView
        selection = QItemSelection()
        for key in keys:
            row = self.window.positions_proxy.proxy_row_of(key)
            if row is not None:
                model = view.model()
                selection.select(model.index(row, 0), model.index(row, model.columnCount() - 1))
        view.selectionModel().select(
            selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)

    # ------------------------------------------------------------------ opening plans
    def say(self, text: str, ms: int = 12000) -> None:
        self.window.statusBar().showMessage(text, ms)

    def _open(self, dialog: FlattenPlanDialog, build: bool) -> FlattenPlanDialog:
        self.dialogs.append(dialog)
        dialog.open()
        if build:
            dialog.build()
        return dialog

    def flatten_selected(
        self, keys: Iterable[PositionKey] | None = None
    ) -> FlattenPlanDialog | None:
        chosen = list(keys) if keys is not None else self.selected_keys()
        if not chosen:
            self.say("Select the rows to flatten first (Ctrl+click or Shift+click picks "
                     "several).")
            return None
        dialog = FlattenPlanDialog(self, ScopeKind.SELECTED, keys=chosen, parent=self.window)
        return self._open(dialog, build=True)

    def flatten_account(self, account: str | None = None) -> FlattenPlanDialog | None:
        """With ``account``: plan it now. Without: the dialog opens on a guess (the account
        filter, or the current row's) and plans when the user says so."""
        if not self.desk.accounts:
            self.say("No account is connected.")
            return None
        guess = account or self.window.positions_proxy.account_filter or self._current_account()
        dialog = FlattenPlanDialog(self, ScopeKind.ACCOUNT, account=guess, parent=self.window)
        return self._open(dialog, build=account is not None)

    def flatten_venue(self, venue: Venue | None = None) -> FlattenPlanDialog | None:
        if not self.desk.accounts:
            self.say("No account is connected.")
            return None
        guess = venue or self.window.positions_proxy.venue_filter
        dialog = FlattenPlanDialog(self, ScopeKind.VENUE, venue=guess, parent=self.window)
        return self._open(dialog, build=venue is not None)

    def flatten_everything(self) -> FlattenPlanDialog | None:
        if not self.desk.accounts:
            self.say("No account is connected.")
            return None
        dialog = FlattenPlanDialog(self, ScopeKind.EVERYTHING, parent=self.window)
        return self._open(dialog, build=True)

    def open_retry(self, report: FlattenReport,
                   old: FlattenPlanDialog | None = None) -> FlattenPlanDialog:
        """A new plan for the residuals and rejections of ``report``, confirmed again."""
        if old is not None:
            old.accept()
        dialog = FlattenPlanDialog(self, ScopeKind.SELECTED, keys=report.retry_keys,
                                   retry_of=report, parent=self.window)
        return self._open(dialog, build=True)

    def _current_account(self) -> str | None:
        index = self.window.positionsView.currentIndex()
        key = index.data(KEY_ROLE) if index.isValid() else None
        return key.account if isinstance(key, PositionKey) else None

    def forget(self, dialog: FlattenPlanDialog) -> None:
        """A closed dialog (not running) goes."""
        if dialog.running:
            return
        if dialog in self.dialogs:
            self.dialogs.remove(dialog)
        dialog.deleteLater()

    # ------------------------------------------------------------------ running
    @property
    def busy_keys(self) -> frozenset[PositionKey]:
        """Positions in a plan of this window that is running now."""
        return frozenset().union(*self._running.values())

    def start(self, dialog: FlattenPlanDialog, plan: FlattenPlan) -> str | None:
        """Run ``plan`` for ``dialog``; returns why not (and sends nothing) when it cannot."""
        keys = frozenset(i.key for i in plan.items)
        overlap = keys & self.busy_keys
        if overlap:
            others = sorted(pid for pid, ks in self._running.items() if ks & overlap)
            return (f"{_plural(len(overlap), 'position')} of this plan "
                    f"{'is' if len(overlap) == 1 else 'are'} in a flatten still running "
                    f"({', '.join(others)}): wait for its report, then plan again. "
                    "Nothing was sent.")
        self._running[plan.id] = keys
        dialog.begin(plan)
        dialog.task = self.window.tracker.spawn(self._run(dialog, plan),
                                                name=f"flatten {plan.id}")
        return None

    async def _run(self, dialog: FlattenPlanDialog, plan: FlattenPlan) -> None:
        try:
            try:
                run = execute(self.desk, plan, on_progress=dialog.on_progress,
                              concurrency=self.concurrency)
            except PlanAlreadyRun as exc:
                if shiboken6.isValid(dialog):
                    dialog.fail(str(exc))
                return
            if shiboken6.isValid(dialog):
                dialog.attach(run)
            report = await run.wait()
        finally:
            self._running.pop(plan.id, None)
        self.reports.append(report)
        headline, _tone = report_headline(report)
        if shiboken6.isValid(self.window):
            self.say(f"Flatten {plan.id}: {headline} {report_totals_text(report)}.", 20000)
        if shiboken6.isValid(dialog):
            dialog.show_report(report)


def install_flatten(
    window: MainWindow, *, concurrency: Mapping[Venue, int] | None = None
) -> FlattenController:
    """Add the Flatten menu to ``window``; the controller is the window's child."""
    return FlattenController(window, concurrency=concurrency)
