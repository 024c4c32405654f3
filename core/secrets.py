"""Credentials behind the OS keyring.

Secrets are stored only in the keyring (service ``closeout``, one user name per account). When
no keyring backend exists (a headless box without a Secret Service) we never fall back to a
file: secrets are held in memory for this session only, and ``problem`` says so for the UI.
"""

from __future__ import annotations

import keyring
import keyring.errors

__all__ = ["NO_KEYRING", "SERVICE", "SecretStore"]

SERVICE = "closeout"
NO_KEYRING = "no system keyring is available"


def _backend_problem() -> str | None:
    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # a broken keyring configuration must not stop the app
        return f"the keyring could not be opened ({type(exc).__name__})"
    priority = getattr(backend, "priority", 1)
    name = type(backend).__module__ + "." + type(backend).__name__
    if name.startswith("keyring.backends.fail") or priority <= 0:
        return NO_KEYRING
    return None


class SecretStore:
    """Reads and writes account secrets. Never logs or repeats a secret value."""

    def __init__(self) -> None:
        self._memory: dict[str, str] = {}
        self.problem: str | None = _backend_problem()

    @property
    def persistent(self) -> bool:
        return self.problem is None

    @staticmethod
    def user_name(account: str) -> str:
        return f"account:{account}"

    def get(self, account: str) -> str | None:
        if account in self._memory:
            return self._memory[account]
        if self.problem is not None:
            return None
        try:
            return keyring.get_password(SERVICE, self.user_name(account))
        except keyring.errors.KeyringError as exc:
            self.problem = f"the keyring failed to read ({type(exc).__name__})"
            return None

    def get_user(self, user: str) -> str | None:
        """A secret kept under a keyring user of its own (``team:<address>``: the team
        database's password), or None."""
        if self.problem is not None:
            return None
        try:
            return keyring.get_password(SERVICE, user)
        except keyring.errors.KeyringError as exc:
            self.problem = f"the keyring failed to read ({type(exc).__name__})"
            return None

    def set(self, account: str, secret: str, *, session_only: bool = False) -> bool:
        """Store a secret. Returns True when it was saved to the keyring, False when it is held
        in memory for this session only."""
        if session_only or self.problem is not None:
            self._memory[account] = secret
            return False
        try:
            keyring.set_password(SERVICE, self.user_name(account), secret)
        except keyring.errors.KeyringError as exc:
            self.problem = f"the keyring failed to save ({type(exc).__name__})"
            self._memory[account] = secret
            return False
        self._memory.pop(account, None)
        return True

    def session_only(self, account: str) -> bool:
        """True when the account's secret is held in memory for this session only."""
        return account in self._memory

    def rename(self, old: str, new: str) -> bool:
        """Move a secret to a renamed account. Returns True when one was moved.

        Written under the new name before the old entry is deleted, so a failure part-way
        leaves the secret under at least one of the two names. A session-only secret stays
        session-only.
        """
        if old == new:
            return self.get(old) is not None
        if old in self._memory:
            self._memory[new] = self._memory.pop(old)
            return True
        secret = self.get(old)
        if secret is None:
            return False
        self.set(new, secret)
        self.delete(old)
        return True

    def delete(self, account: str) -> None:
        self._memory.pop(account, None)
        if self.problem is None:
            try:
                keyring.delete_password(SERVICE, self.user_name(account))
            except keyring.errors.PasswordDeleteError:
                pass
            except keyring.errors.KeyringError as exc:
                self.problem = f"the keyring failed to delete ({type(exc).__name__})"
