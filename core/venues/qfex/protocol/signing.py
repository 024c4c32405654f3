"""The HMAC signature QFEX checks on the trade socket, the REST calls and the handshake."""

from __future__ import annotations

import hashlib
import hmac


def sign(secret: str, nonce: str, unix_ts: int) -> str:
    """Lower-case hex HMAC-SHA256 of ``nonce:unix_ts``, keyed by the secret's UTF-8 bytes."""
    message = f"{nonce}:{unix_ts}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def rest_auth_headers(
    public_key: str, secret: str, nonce: str, unix_ts: int, account_id: str | None = None
) -> dict[str, str]:
    """REST (and WebSocket handshake) HMAC headers. Method, path and body are not signed."""
    headers = {
        "x-qfex-public-key": public_key,
        "x-qfex-hmac-signature": sign(secret, nonce, unix_ts),
        "x-qfex-nonce": nonce,
        "x-qfex-timestamp": str(unix_ts),
    }
    if account_id:
        headers["x-qfex-requested-account-id"] = account_id
    return headers
