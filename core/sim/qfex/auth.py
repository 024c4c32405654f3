"""QFEX authentication: the documented HMAC recipe, the timestamp window and nonce memory,
shared by the trade socket's ``auth`` message and the signed REST headers."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable

from core.sim.qfex.settings import QfexAccount, QfexSettings

__all__ = ["Authenticator"]

HEX = re.compile(r"[0-9a-fA-F]{1,100}")


class Authenticator:
    """Checks a signed ``nonce:unix_ts``; remembers each nonce that authenticated."""

    def __init__(
        self, accounts: dict[str, QfexAccount], settings: QfexSettings, now: Callable[[], float]
    ) -> None:
        self._accounts = accounts  # by public key, shared with the venue
        self._settings = settings
        self._now = now
        self._nonces: dict[tuple[str, str], float] = {}

    def verify(
        self, public_key: str, nonce: str, unix_ts: int, signature: str
    ) -> QfexAccount | str:
        """The documented HMAC recipe; returns the account or why it failed."""
        account = self._accounts.get(public_key)
        if account is None:
            return "unknown public key"
        if not HEX.fullmatch(nonce):
            return "nonce must be 1-100 hex characters"
        expected = hmac.new(
            account.secret_key.encode(), f"{nonce}:{unix_ts}".encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return "bad signature"
        now = self._now()
        if abs(now - unix_ts) > self._settings.auth_window:
            return "timestamp outside the allowed window"
        for key, seen in list(self._nonces.items()):
            if now - seen > self._settings.nonce_window:
                del self._nonces[key]
        if (public_key, nonce) in self._nonces:
            return "nonce already used"
        self._nonces[(public_key, nonce)] = now
        return account
