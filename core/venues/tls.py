"""The TLS context every venue's HTTP client verifies with, made once per process.

An ``httpx.AsyncClient`` left to make its own loads the whole CA bundle (tens of milliseconds
of CPU on the event loop), once per account at every connect, even for a loopback ``http://``
simulator that never uses it. One context, shared, verifies the same way: the system's
defaults, certifi's roots, ``SSL_CERT_FILE``/``SSL_CERT_DIR`` when set.
"""

from __future__ import annotations

import functools
import ssl

import httpx

__all__ = ["client_tls"]


@functools.cache
def client_tls() -> ssl.SSLContext:
    return httpx.create_ssl_context()
