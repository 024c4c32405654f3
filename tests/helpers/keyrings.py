"""Fake keyring backends: real ``keyring`` backends that keep secrets away from the OS keyring."""

from __future__ import annotations

import json
import os

import keyring.backend
import keyring.errors

SECRETS_ENV = "CLOSEOUT_TEST_SECRETS"


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A real keyring backend that keeps secrets in a dict; tests can inspect it.

    ``locked``: every save fails as a locked keyring's does, so nothing is stored.
    """

    priority = 1  # type: ignore[assignment]

    def __init__(self, *, locked: bool = False) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}
        self.locked = locked

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.locked:
            raise keyring.errors.KeyringLocked("locked")
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.store.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError(username)


class EnvKeyring(keyring.backend.KeyringBackend):
    """A subprocess's keyring (``PYTHON_KEYRING_BACKEND``): the secrets of simulator accounts,
    read from the ``SECRETS_ENV`` environment variable. Read-only; test use only."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        value = json.loads(os.environ.get(SECRETS_ENV, "{}")).get(username)
        return value if isinstance(value, str) else None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("the test keyring is read-only")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.PasswordDeleteError("the test keyring is read-only")
