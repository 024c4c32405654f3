"""The team demo's keyring: the desks it starts read their simulator accounts' keys and the
throwaway database's password from here (``PYTHON_KEYRING_BACKEND``), because a headless box
has no OS keyring and the demo must run anywhere. It only ever holds what the demo made up for
its own simulator and its own temporary cluster, passed in ``CLOSEOUT_DEMO_SECRETS``; it is
read-only, and nothing but ``make team-demo`` points keyring at it.
"""

from __future__ import annotations

import json
import os
from typing import Final

import keyring.backend
import keyring.errors

__all__ = ["DEMO_SECRETS_ENV", "DemoKeyring"]

DEMO_SECRETS_ENV: Final = "CLOSEOUT_DEMO_SECRETS"


class DemoKeyring(keyring.backend.KeyringBackend):
    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        value = json.loads(os.environ.get(DEMO_SECRETS_ENV, "{}")).get(username)
        return value if isinstance(value, str) else None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("the team demo's keyring is read-only")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.PasswordDeleteError("the team demo's keyring is read-only")
