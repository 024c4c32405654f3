"""The QFEX REST calls the session makes: public reference data and the signed positions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from core.model import Instrument, Position
from core.venues.clock import VenueClock, http_date
from core.venues.qfex import protocol
from core.venues.qfex.errors import QfexAuthError, QfexRequestFailed, QfexUnreadableReply
from core.venues.qfex.protocol import QfexProtocolError
from core.venues.tls import client_tls
from core.venues.wire import HttpWire

__all__ = ["QfexRest"]


class QfexRest:
    """One HTTP client per started session; ``rtt_ms`` and ``answered_at`` feed health."""

    def __init__(
        self,
        base_url: str,
        account: str,
        *,
        signed_headers: Callable[[], Mapping[str, str]],
        monotonic: Callable[[], float],
        clock: Callable[[], float],
        venue_clock: VenueClock,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.account = account
        self._http = httpx.AsyncClient(base_url=base_url, transport=transport, timeout=10.0,
                                       verify=client_tls())
        self._signed_headers = signed_headers
        self._monotonic = monotonic
        self._clock = clock
        self.venue_clock = venue_clock
        self.rtt_ms: float | None = None
        self.rtt_samples = 0
        self.answered_at: float | None = None

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _get(self, path: str, **kw: Any) -> httpx.Response:
        """One GET; its reply's ``Date`` header measures the venue's clock (whatever its
        status). ASSUMPTION (VENUES.md names no time endpoint for QFEX): the ``Date`` QFEX's
        REST answers with is the clock its signatures are checked against."""
        before = self._clock()
        response = await self._http.get(path, **kw)
        after = self._clock()
        self.answered_at = self._monotonic()
        venue_time = http_date(response.headers.get("date"))
        if venue_time is not None:
            self.venue_clock.observe(before, after, venue_time, resolution=1.0)
        return response

    async def measure_clock(self, symbol: str | None) -> None:
        """Read the venue's clock from a small public reply. Raises ``httpx.HTTPError``."""
        await self._get("/refdata", params={"ticker": symbol} if symbol else None)

    async def refdata(self) -> dict[str, Instrument]:
        """Raises ``httpx.HTTPError``, ``QfexRequestFailed`` or ``QfexProtocolError``."""
        response = await self._get("/refdata")
        if response.status_code != 200:
            raise QfexRequestFailed(protocol.parse_problem(response.content))
        return protocol.parse_refdata(response.content)

    async def positions(self) -> tuple[Position, ...]:
        started = self._monotonic()
        wire = HttpWire(self._monotonic)
        response = await self._get("/user/positions", headers=dict(self._signed_headers()),
                                   extensions={"trace": wire.trace})
        # The wire time (core.venues.wire); a mock transport without httpcore's trace gets
        # the time around the call.
        measured = wire.wire_ms(response)
        answered = self._monotonic() if self.answered_at is None else self.answered_at
        self.rtt_ms = measured if measured is not None else (answered - started) * 1000
        self.rtt_samples += 1
        if response.status_code in (401, 403):
            raise QfexAuthError(
                f"QFEX refused the API key for {self.account}: "
                f"{protocol.parse_problem(response.content)}"
            )
        if response.status_code != 200:
            raise QfexRequestFailed(
                f"QFEX positions request failed: {protocol.parse_problem(response.content)}"
            )
        try:
            return protocol.parse_positions_rest(response.content, self.account)
        except QfexProtocolError as exc:
            raise QfexUnreadableReply(f"QFEX positions response unreadable: {exc}") from None
