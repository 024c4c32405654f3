"""The flatten dialog's setup: what to flatten (the selected rows, an account, a venue or
everything), its filters, a reason, and whether to cancel resting reduce-only closes and
triggers first. A retry keeps the first plan's filters, reason and cancels."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from core.desk import Desk
from core.flatten import FlattenReport, FlattenScope, PlanError, ScopeKind
from core.model import PositionKey, PositionSide, Venue
from gui.dialogs.flatten.text import plural

__all__ = ["SetupFrame"]

_SIDE_CHOICES: tuple[tuple[str, PositionSide | None], ...] = (
    ("Long and short", None),
    ("Long only", PositionSide.LONG),
    ("Short only", PositionSide.SHORT),
)
_ALL_SYMBOLS = "All symbols"


class SetupFrame(QFrame):
    """The scope and filters of a plan, and Build plan (which the plan page connects)."""

    changed = Signal()  # the scope, a filter, the reason or the cancel choice changed

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
        self.setObjectName("flattenSetup")
        self.desk = desk
        self.kind = kind
        self.keys = keys
        self.retry_of = retry_of
        self._build(account, venue)
        self._refresh_symbols()
        self.accountInput.currentIndexChanged.connect(self._on_scope_changed)
        self.venueInput.currentIndexChanged.connect(self._on_scope_changed)
        self.sideFilter.currentIndexChanged.connect(self.changed)
        self.symbolFilter.currentIndexChanged.connect(self.changed)
        self.losingOnly.toggled.connect(self.changed)
        self.reasonInput.textChanged.connect(self.changed)
        self.cancelRestingInput.toggled.connect(self.changed)

    def _caption(self, text: str, buddy: QWidget, parent: QWidget) -> QLabel:
        label = QLabel(text, parent)
        label.setObjectName("setupCaption")
        label.setBuddy(buddy)
        return label

    def _build(self, account: str | None, venue: Venue | None) -> None:
        grid = QGridLayout(self)
        grid.setContentsMargins(12, 10, 12, 10)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(8)

        self.accountInput = QComboBox(self)
        self.accountInput.setObjectName("accountInput")
        self.accountInput.setAccessibleName("Account to flatten")
        for name in sorted(self.desk.accounts, key=str.casefold):
            self.accountInput.addItem(name, name)
        if account is not None and (i := self.accountInput.findData(account)) >= 0:
            self.accountInput.setCurrentIndex(i)
        self.venueInput = QComboBox(self)
        self.venueInput.setObjectName("venueInput")
        self.venueInput.setAccessibleName("Venue to flatten")
        configured = {a.venue for a in self.desk.accounts.values()}
        for v in sorted(configured, key=lambda v: (v.label.lower(), v.value)):
            self.venueInput.addItem(v.label, v.value)
        if venue is not None and (i := self.venueInput.findData(venue.value)) >= 0:
            self.venueInput.setCurrentIndex(i)
        self.scopeText = QLabel(self._scope_text(), self)
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

        self.sideFilter = QComboBox(self)
        self.sideFilter.setObjectName("sideFilter")
        self.sideFilter.setAccessibleName("Side")
        for text, side in _SIDE_CHOICES:
            self.sideFilter.addItem(text, side.value if side is not None else None)
        self.symbolFilter = QComboBox(self)
        self.symbolFilter.setObjectName("symbolFilter")
        self.symbolFilter.setAccessibleName("Symbol")
        self.symbolFilter.setMinimumContentsLength(14)
        self.symbolFilter.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.losingOnly = QCheckBox("Losing only", self)
        self.losingOnly.setObjectName("losingOnly")
        self.losingOnly.setToolTip("Only positions whose unrealised P&L is below zero; a position "
                                   "with no P&L shown is left out")
        self.reasonInput = QLineEdit(self)
        self.reasonInput.setObjectName("reasonInput")
        self.reasonInput.setAccessibleName("Reason or ticket")
        self.reasonInput.setPlaceholderText("Reason or ticket id (optional; journaled with "
                                            "every record of the flatten)")
        self.reasonInput.setMaxLength(200)
        self.cancelRestingInput = QCheckBox(
            "Cancel resting reduce-only closes and triggers first", self)
        self.cancelRestingInput.setObjectName("cancelRestingInput")
        self.cancelRestingInput.setChecked(True)
        self.cancelRestingInput.setToolTip(
            "A resting reduce-only close or trigger on a symbol can block a new reduce-only "
            "close; the plan cancels them, and a failed cancel stops that position's close")
        self.buildButton = QPushButton("Build plan", self)
        self.buildButton.setObjectName("buildButton")
        self.buildButton.setToolTip("List what would be sent (nothing is sent; the plan is "
                                    "journaled)")

        what = QHBoxLayout()
        what.setSpacing(8)
        what.addWidget(scope_widget, 1 if scope_widget is not self.scopeText else 0)
        what.addSpacing(10)
        what.addWidget(self._caption("Side", self.sideFilter, self))
        what.addWidget(self.sideFilter)
        what.addWidget(self._caption("Symbol", self.symbolFilter, self))
        what.addWidget(self.symbolFilter)
        what.addWidget(self.losingOnly)
        what.addStretch(1)
        grid.addWidget(self._caption("Flatten", scope_widget, self), 0, 0)
        grid.addLayout(what, 0, 1)
        why = QHBoxLayout()
        why.setSpacing(10)
        why.addWidget(self.reasonInput, 1)
        why.addWidget(self.cancelRestingInput)
        why.addWidget(self.buildButton)
        grid.addWidget(self._caption("Reason", self.reasonInput, self), 1, 0)
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

    # ------------------------------------------------------------------ the scope
    def _scope_text(self) -> str:
        if self.retry_of is not None:
            n = len(self.retry_of.retry_keys)
            return (f"The residuals and rejections of {self.retry_of.plan_id} "
                    f"({plural(n, 'position')})")
        if self.kind is ScopeKind.SELECTED:
            return plural(len(self.keys), "selected position")
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
        self.changed.emit()
