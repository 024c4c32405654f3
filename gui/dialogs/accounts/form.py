"""One account's fields: name, venue, environment, public key, secret key, the venue's
endpoints and options. Bad input is shown at the field that caused it."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from core.model import Environment, Venue
from core.secrets import SecretStore
from core.settings import Settings, known_options
from core.venue import AccountConfig
from core.venues import all_venues, venue_info
from gui.dialogs.accounts.endpoints import EndpointsBox
from gui.dialogs.accounts.field_errors import FieldErrors
from gui.dialogs.accounts.options_box import OptionsBox
from gui.dialogs.accounts.secret import KeyringWarning, secret_input, secret_placeholder
from gui.dialogs.accounts.text import ENV_ORDER, ENV_TEXT, environment_note
from gui.dialogs.accounts.validation import Checked, check_account

__all__ = ["AccountForm"]


class AccountForm(QWidget):
    """One account's fields. ``editing`` is the account being edited (None: a new one)."""

    def __init__(self, store: SecretStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("accountForm")
        self.store = store
        self.editing: AccountConfig | None = None
        self._errors = FieldErrors()
        self._build()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 14, 0)  # room for the scroll bar beside the fields
        root.setSpacing(10)
        form = QFormLayout()
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(4)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self.nameInput = QLineEdit(self)
        self.nameInput.setObjectName("nameInput")
        self.nameInput.setAccessibleName("Account name")
        self.nameInput.setPlaceholderText("e.g. client-7")
        self._add_row(form, "&Name", self.nameInput, "name")

        self.venueInput = QComboBox(self)
        self.venueInput.setObjectName("venueInput")
        self.venueInput.setAccessibleName("Venue")
        for info in all_venues():
            self.venueInput.addItem(info.label, info.id.value)
        self._add_row(form, "&Venue", self.venueInput, "venue")

        self.environmentInput = QComboBox(self)
        self.environmentInput.setObjectName("environmentInput")
        self.environmentInput.setAccessibleName("Environment")
        for env in ENV_ORDER:
            self.environmentInput.addItem(ENV_TEXT[env], env.value)
        self._add_row(form, "&Environment", self.environmentInput, "environment")
        self.environmentNote = QLabel(self)
        self.environmentNote.setObjectName("environmentNote")
        self.environmentNote.setWordWrap(True)
        form.addRow("", self.environmentNote)
        self._environment_chosen = False  # by the user, on this form: a venue change keeps it
        self.environmentInput.activated.connect(self._on_environment_chosen)

        self.publicKeyInput = QLineEdit(self)
        self.publicKeyInput.setObjectName("publicKeyInput")
        self.publicKeyInput.setAccessibleName("Public API key")
        self._add_row(form, "&Public key", self.publicKeyInput, "public_key")

        self.secretKeyInput = secret_input(self)
        self._add_row(form, "&Secret key", self.secretKeyInput, "secret")
        root.addLayout(form)

        self.keyringWarning = KeyringWarning(self.store, self._errors, self)
        self.keyringWarningText = self.keyringWarning.text
        self.sessionOnlyCheck = self.keyringWarning.check
        root.addWidget(self.keyringWarning)

        self.endpointsBox = EndpointsBox(self._errors, self)
        root.addWidget(self.endpointsBox)

        self.optionsBox = OptionsBox(self._errors, self)
        self.options_model = self.optionsBox.model
        self.optionsTable = self.optionsBox.table
        root.addWidget(self.optionsBox)

        self.venueInput.currentIndexChanged.connect(self._on_venue_changed)
        self.environmentInput.currentIndexChanged.connect(self._update_placeholders)
        self.environmentInput.currentIndexChanged.connect(self._update_environment_note)
        self._on_venue_changed()

    def _add_row(self, form: QFormLayout, label: str, widget: QWidget, key: str) -> None:
        caption = QLabel(label, self)
        caption.setBuddy(widget)
        box = QVBoxLayout()
        box.setSpacing(2)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(widget)
        box.addWidget(self._errors.label(key, self))
        form.addRow(caption, box)
        self._errors.bind(key, widget)

    @property
    def endpointInputs(self) -> dict[str, QLineEdit]:
        """The endpoint fields of the venue shown, by endpoint name."""
        return self.endpointsBox.inputs

    def _on_environment_chosen(self, *_: object) -> None:
        self._environment_chosen = True

    def default_environment(self, venue: Venue) -> Environment:
        """Where a new account starts: the venue's testnet if it runs one, else live (the
        note under the picker says which, and why)."""
        if venue_info(venue).has_environment(Environment.TESTNET):
            return Environment.TESTNET
        return Environment.LIVE

    def _set_environment(self, environment: Environment) -> None:
        self.environmentInput.setCurrentIndex(self.environmentInput.findData(environment.value))

    def _update_environment_note(self, *_: object) -> None:
        note = environment_note(venue_info(self.venue()), self.environment(),
                                new=self.editing is None)
        self.environmentNote.setText(note)
        self.environmentNote.setVisible(bool(note))

    def _on_venue_changed(self, *_: object) -> None:
        """Rebuild the endpoint fields and the options table for the chosen venue; a new
        account whose environment the user has not picked follows the venue's default."""
        venue = self.venue()
        if self.editing is None and not self._environment_chosen:
            self._set_environment(self.default_environment(venue))
        self.endpointsBox.rebuild(venue)
        current = self.editing.options if self.editing and self.editing.venue is venue else {}
        self.options_model.set_options(known_options(venue), current,
                                       venue_info(venue).option_details)
        self._update_placeholders()
        self._update_environment_note()

    def _update_placeholders(self, *_: object) -> None:
        self.endpointsBox.update_placeholders(self.venue(), self.environment())

    # ------------------------------------------------------------------ values
    def venue(self) -> Venue:
        return Venue(self.venueInput.currentData())

    def environment(self) -> Environment:
        return Environment(self.environmentInput.currentData())

    def load(self, account: AccountConfig | None) -> None:
        """Show an account to edit, or empty fields for a new one."""
        self.editing = account
        self.clear_errors()
        self.secretKeyInput.clear()
        self.sessionOnlyCheck.setChecked(False)
        if account is None:
            self.nameInput.clear()
            self.publicKeyInput.clear()
            self._environment_chosen = False
            self.venueInput.setCurrentIndex(0)
            self._set_environment(self.default_environment(self.venue()))
            self.endpointsBox.clear()
            self._on_venue_changed()
            self.secretKeyInput.setPlaceholderText(secret_placeholder(self.store, None))
            return
        self.nameInput.setText(account.name)
        self.publicKeyInput.setText(account.public_key)
        self.venueInput.blockSignals(True)
        self.venueInput.setCurrentIndex(self.venueInput.findData(account.venue.value))
        self.venueInput.blockSignals(False)
        self.environmentInput.blockSignals(True)
        self.environmentInput.setCurrentIndex(
            self.environmentInput.findData(account.environment.value))
        self.environmentInput.blockSignals(False)
        self.endpointsBox.clear()
        self._on_venue_changed()
        self.endpointsBox.set_urls(account.endpoints)
        self.secretKeyInput.setPlaceholderText(secret_placeholder(self.store, account))

    def account(self) -> AccountConfig:
        """The account as typed (unchecked)."""
        return AccountConfig(
            name=self.nameInput.text().strip(),
            venue=self.venue(),
            environment=self.environment(),
            public_key=self.publicKeyInput.text().strip(),
            endpoints=self.endpointsBox.values(),
            options=self.options_model.values(),
        )

    def secret(self) -> str:
        return self.secretKeyInput.text()

    # ------------------------------------------------------------------ checking
    def check(self, settings: Settings, *, for_save: bool) -> Checked:
        """Every field's problem at once (see ``check_account``)."""
        return check_account(
            self.account(), self.secret(), settings=settings, editing=self.editing,
            endpoint_fields=tuple(self.endpointInputs), for_save=for_save,
            persistent=self.store.persistent, session_only=self.sessionOnlyCheck.isChecked(),
        )

    def show_errors(self, errors: Mapping[str, str]) -> None:
        self._errors.show(errors)

    def clear_errors(self) -> None:
        self.show_errors({})

    def errors_shown(self) -> dict[str, str]:
        """The messages now visible at the fields (for tests and accessibility checks)."""
        return self._errors.shown()
