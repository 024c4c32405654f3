"""Signing a form body and the request that carries it, and the redacted text shown and
journaled in its place: the key and signature never leave in the clear."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from core.venue import redact
from core.venues.everstrike.protocol.facts import FORM_CONTENT_TYPE


def sign(secret: str, body: str) -> str:
    """x-signature: standard base64 (padded) of HMAC-SHA256(secret, body), both UTF-8."""
    digest = hmac.new(secret.encode("utf-8"), body.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True, slots=True)
class SignedRequest:
    method: str
    path: str
    body: str
    headers: Mapping[str, str] = field(default_factory=dict)


def build_signed_post(path: str, body: str, api_key: str, secret: str) -> SignedRequest:
    return SignedRequest(
        method="POST",
        path=path,
        body=body,
        headers=MappingProxyType(
            {
                "content-type": FORM_CONTENT_TYPE,
                "x-api-key": api_key,
                "x-signature": sign(secret, body),
            }
        ),
    )


_SENSITIVE_HEADERS: Final = frozenset({"x-api-key", "x-signature"})


def redacted(signed: SignedRequest) -> str:
    """What the dialog previews and the journal stores: key and signature redacted."""
    lines = [f"{signed.method} {signed.path}"]
    for name, value in signed.headers.items():
        shown = redact(value) if name.lower() in _SENSITIVE_HEADERS else value
        lines.append(f"{name}: {shown}")
    lines.append("")
    lines.append(signed.body)
    return "\n".join(lines)
