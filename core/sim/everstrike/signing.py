"""Everstrike request signing: the API key, the HMAC of the body, the form it signs, the
timestamp window and replay memory (Everstrike has no nonce)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from decimal import Decimal
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from core.sim.everstrike.forms import decimal_field
from core.sim.everstrike.replies import Invalid, envelope
from core.sim.everstrike.settings import EverstrikeAccount, EverstrikeSettings

__all__ = ["Signed", "Signer"]

# The account, the form (first value of a repeated field wins), and every field in order.
Signed = tuple[EverstrikeAccount, dict[str, str], list[tuple[str, str]]]


class Signer:
    """Checks a signed POST; remembers each signed body it accepted."""

    def __init__(
        self, accounts: dict[str, EverstrikeAccount], settings: EverstrikeSettings,
        now: Callable[[], float],
    ) -> None:
        self._accounts = accounts  # by API key, shared with the venue
        self._settings = settings
        self._now = now
        self._seen: dict[tuple[str, bytes], float] = {}

    def check(self, request: Request, body: bytes, *, settings_call: bool = False
              ) -> Signed | Response:
        """The signed request, or the 401/408 reply; raises ``Invalid`` for a 503.

        ``settings_call`` is ``POST /leverage``: its docs show no signature and the official
        adapter signs it without a timestamp, so a signature is checked only when sent, and an
        identical body may come again (setting the same leverage twice is no replay)."""
        account = self._accounts.get(request.headers.get("x-api-key", ""))
        if account is None:
            return envelope(401, "Invalid API key", None)
        expected = base64.b64encode(
            hmac.new(account.secret_key.encode(), body, hashlib.sha256).digest()
        ).decode()
        sent = request.headers.get("x-signature")
        if not (settings_call and sent is None) and not hmac.compare_digest(expected, sent or ""):
            return envelope(401, "Invalid signature", None)
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            raise Invalid("the body must be application/x-www-form-urlencoded")
        try:
            pairs = parse_qsl(
                body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body)
            )
        except (UnicodeDecodeError, ValueError) as exc:
            raise Invalid("the body is not a valid form") from exc
        form: dict[str, str] = {}
        for k, v in pairs:
            form.setdefault(k, v)
        stale = self.check_time(form)
        if stale is not None:
            return stale
        if settings_call:
            return account, form, pairs
        now = self._now()
        for key, seen in list(self._seen.items()):
            if now - seen > self._settings.replay_window:
                del self._seen[key]
        if (account.api_key, body) in self._seen:
            raise Invalid("this signed request was already received (replay)")
        self._seen[(account.api_key, body)] = now
        return account, form, pairs

    def check_time(self, form: dict[str, str]) -> Response | None:
        """The 408 reply for a stale or future ``timestamp`` in ``form``, else None."""
        raw = form.get("timestamp")
        if raw is None:
            if self._settings.require_timestamp:
                raise Invalid("timestamp is required")
            return None
        ts = decimal_field(form, "timestamp")
        window = Decimal(str(self._settings.default_recv_window_ms))
        if "recv_window" in form:
            window = decimal_field(form, "recv_window")
        now_ms = Decimal(repr(self._now() * 1000))
        if now_ms - ts > window:
            return envelope(414, "The timestamp is too old.", None, 408)
        if ts - now_ms > Decimal(str(self._settings.future_tolerance_ms)):
            return envelope(414, "The timestamp is too far in the future.", None, 408)
        return None
