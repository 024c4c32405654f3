from __future__ import annotations

import keyring
import keyring.backends.fail

from core.secrets import NO_KEYRING, SERVICE, SecretStore
from tests.helpers.keyrings import MemoryKeyring


def test_secrets_go_to_the_keyring_under_the_closeout_service(
    memory_keyring: MemoryKeyring,
) -> None:
    store = SecretStore()
    assert store.problem is None
    assert store.set("desk-1", "s3cr3t-value") is True
    assert memory_keyring.store == {(SERVICE, "account:desk-1"): "s3cr3t-value"}
    assert SecretStore().get("desk-1") == "s3cr3t-value"
    store.delete("desk-1")
    assert memory_keyring.store == {}


def test_without_a_backend_secrets_stay_in_memory_and_the_store_says_so() -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    store = SecretStore()
    assert store.problem is not None and "no system keyring" in store.problem
    assert store.set("desk-1", "s3cr3t-value") is False
    assert store.get("desk-1") == "s3cr3t-value"
    assert SecretStore().get("desk-1") is None  # nothing persisted anywhere


def test_a_session_only_secret_never_reaches_the_keyring(memory_keyring: MemoryKeyring) -> None:
    store = SecretStore()
    assert store.set("desk-1", "s3cr3t-value", session_only=True) is False
    assert store.session_only("desk-1")
    assert store.get("desk-1") == "s3cr3t-value"
    assert memory_keyring.store == {}
    assert SecretStore().get("desk-1") is None


def test_the_no_keyring_wording_is_what_the_dialog_shows() -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    assert SecretStore().problem == NO_KEYRING == "no system keyring is available"


def test_rename_moves_the_keyring_entry(memory_keyring: MemoryKeyring) -> None:
    store = SecretStore()
    store.set("old name", "s3cr3t-value")
    assert store.rename("old name", "new name") is True
    assert memory_keyring.store == {(SERVICE, "account:new name"): "s3cr3t-value"}
    assert SecretStore().get("new name") == "s3cr3t-value"
    assert SecretStore().get("old name") is None


def test_rename_keeps_a_session_only_secret_in_memory(memory_keyring: MemoryKeyring) -> None:
    store = SecretStore()
    store.set("a", "s3cr3t-value", session_only=True)
    assert store.rename("a", "b") is True
    assert store.get("b") == "s3cr3t-value" and store.session_only("b")
    assert store.get("a") is None
    assert memory_keyring.store == {}


def test_rename_of_an_account_without_a_secret_changes_nothing(
    memory_keyring: MemoryKeyring,
) -> None:
    store = SecretStore()
    store.set("other", "x-value")
    assert store.rename("ghost", "new") is False
    assert memory_keyring.store == {(SERVICE, "account:other"): "x-value"}


def test_a_keyring_that_fails_to_save_keeps_the_secret_for_the_session_only() -> None:
    backend = MemoryKeyring(locked=True)
    keyring.set_keyring(backend)
    store = SecretStore()
    assert store.set("desk-1", "s3cr3t-value") is False
    assert store.problem is not None and "s3cr3t" not in store.problem
    assert store.get("desk-1") == "s3cr3t-value" and store.session_only("desk-1")
    assert backend.store == {}
