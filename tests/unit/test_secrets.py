from __future__ import annotations

import keyring
import keyring.backends.fail

from core.secrets import SERVICE, SecretStore
from tests.conftest import MemoryKeyring


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
