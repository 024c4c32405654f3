"""Saving from the Accounts dialog keeps the user's settings file as they wrote it: comments,
key order and blank lines survive, the previous file is kept as settings.toml.bak, and the
secret goes to the keyring only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QPushButton
from pytestqt.qtbot import QtBot

from core.model import Environment
from core.secrets import SERVICE, SecretStore
from core.settings import load_settings
from gui.dialogs.accounts import AccountsDialog
from tests.helpers.keyrings import MemoryKeyring
from tests.helpers.windows import kept

SECRET = "s3cr3t-Layout-Value-4c2a"

# Written by hand: a comment on top and on lines, keys in the user's own order (public_key
# before venue), blank lines, a number option, and a preference left out (its default).
HAND_WRITTEN = """\
# Desk 3's settings. Ask Sam before changing the live account.

version = 2   # do not touch

[preferences]
operator_name = "Desk 3"      # journaled beside the OS user
confirm = "always"            # always | large_or_live | never

# The client's live account.
[[accounts]]
name = "desk-1"
public_key = "qfex_pub_old"   # rotated every quarter
venue = "qfex"
environment = "live"

[accounts.options]            # tuned with the venue
rate_budget = 12000

# A test account.
[[accounts]]
name = "sandbox"
venue = "everstrike"
environment = "testnet"
public_key = "ev_pub_1"
"""


@pytest.fixture
def settings_path(settings_path: Path) -> Path:
    """The shared per-test path, holding a file written by hand."""
    settings_path.parent.mkdir(parents=True, mode=0o700)
    settings_path.write_text(HAND_WRITTEN, encoding="utf-8")
    return settings_path


@pytest.fixture
def dialog(qapp: QApplication, settings_path: Path,
           memory_keyring: MemoryKeyring) -> Iterator[AccountsDialog]:
    memory_keyring.set_password(SERVICE, "account:desk-1", "stored-secret")
    memory_keyring.set_password(SERVICE, "account:sandbox", "stored-secret-2")
    d = AccountsDialog(SecretStore(), settings_path=settings_path)
    d.open()
    with kept(d, AccountsDialog.reject):
        yield d


def click(button: QPushButton) -> None:
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def retype(qtbot: QtBot, widget: object, text: str) -> None:
    """Select all and type over it, as a user does."""
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)  # type: ignore[arg-type]
    qtbot.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)  # type: ignore[arg-type]
    qtbot.keyClicks(widget, text)  # type: ignore[arg-type]


def open_row(d: AccountsDialog, name: str) -> None:
    """Click the account's row in the list, then Edit."""
    row = d.list_model.row_of(name)
    assert row is not None
    view = d.accountsList
    rect = view.visualRect(d.list_model.index(row, 0))
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(rect.center()))
    assert d.selected_name() == name
    click(d.editButton)
    assert d.form.editing is not None and d.form.editing.name == name


def test_editing_an_account_changes_only_its_line_and_keeps_a_backup(
    dialog: AccountsDialog, qtbot: QtBot, settings_path: Path
) -> None:
    open_row(dialog, "desk-1")
    retype(qtbot, dialog.form.publicKeyInput, "qfex_pub_new")
    qtbot.keyClicks(dialog.form.secretKeyInput, SECRET)
    click(dialog.saveButton)
    assert dialog.form.errors_shown() == {}

    text = settings_path.read_text(encoding="utf-8")
    # Exactly one line changed, its value only: its comment, every other comment, the key
    # order and the blank lines are the user's.
    assert text == HAND_WRITTEN.replace('"qfex_pub_old"', '"qfex_pub_new"')
    assert load_settings(settings_path).account("desk-1").public_key == "qfex_pub_new"  # type: ignore[union-attr]
    backup = settings_path.with_name("settings.toml.bak")
    assert backup.read_text(encoding="utf-8") == HAND_WRITTEN
    for path in (settings_path, backup):
        assert SECRET not in path.read_text(encoding="utf-8")
        assert path.stat().st_mode & 0o777 == 0o600


def test_adding_an_account_appends_it_and_keeps_everything_above(
    dialog: AccountsDialog, qtbot: QtBot, settings_path: Path, memory_keyring: MemoryKeyring
) -> None:
    click(dialog.addButton)
    f = dialog.form
    qtbot.keyClicks(f.nameInput, "client-7")
    f.environmentInput.setCurrentIndex(f.environmentInput.findData(Environment.TESTNET.value))
    qtbot.keyClicks(f.publicKeyInput, "pub-7")
    qtbot.keyClicks(f.secretKeyInput, SECRET)
    click(dialog.saveButton)
    assert f.errors_shown() == {}

    text = settings_path.read_text(encoding="utf-8")
    assert text.startswith(HAND_WRITTEN)  # every line of the user's file, unchanged
    assert "\n\n[[accounts]]\nname = \"client-7\"\n" in text[len(HAND_WRITTEN) - 1:]
    assert [a.name for a in load_settings(settings_path).accounts] == [
        "desk-1", "sandbox", "client-7"]
    assert settings_path.with_name("settings.toml.bak").read_text(encoding="utf-8") \
        == HAND_WRITTEN
    assert memory_keyring.store[(SERVICE, "account:client-7")] == SECRET
    assert SECRET not in text

    # A second save keeps the file as it was just before it (not the first one).
    before = text
    open_row(dialog, "sandbox")
    retype(qtbot, f.publicKeyInput, "ev_pub_2")
    click(dialog.saveButton)
    assert settings_path.with_name("settings.toml.bak").read_text(encoding="utf-8") == before
    assert settings_path.read_text(encoding="utf-8") == before.replace('"ev_pub_1"', '"ev_pub_2"')


def test_removing_an_account_keeps_the_other_accounts_comments(
    dialog: AccountsDialog, qtbot: QtBot, settings_path: Path
) -> None:
    dialog.select("sandbox")
    click(dialog.removeButton)
    click(dialog.confirmRemoveButton)
    text = settings_path.read_text(encoding="utf-8")
    assert text == HAND_WRITTEN.split("# A test account.")[0]
    assert [a.name for a in load_settings(settings_path).accounts] == ["desk-1"]


def test_removing_the_first_account_keeps_the_next_ones_comment(
    dialog: AccountsDialog, qtbot: QtBot, settings_path: Path
) -> None:
    dialog.select("desk-1")
    click(dialog.removeButton)
    click(dialog.confirmRemoveButton)
    head, tail = HAND_WRITTEN.split("# The client's live account.\n")
    assert settings_path.read_text(encoding="utf-8") == head + "# A test account." + \
        tail.split("# A test account.")[1]
