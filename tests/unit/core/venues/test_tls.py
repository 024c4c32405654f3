"""The shared TLS context of the venues' HTTP clients: made once, and it verifies."""

from __future__ import annotations

import ssl

from core.venues.tls import client_tls


def test_one_context_that_verifies_certificates_and_host_names() -> None:
    ctx = client_tls()
    assert ctx is client_tls()  # made once: the CA bundle is loaded once per process
    assert ctx.verify_mode is ssl.CERT_REQUIRED
    assert ctx.check_hostname
    assert ctx.cert_store_stats()["x509_ca"] > 0  # the roots are loaded
