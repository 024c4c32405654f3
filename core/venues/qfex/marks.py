"""QFEX marks from the public market-data socket, on their own link and backoff.

They never block trading: only trigger closes need them (to tell stop-loss from take-profit).
A failure of any kind is reported and the feed reconnects; marks never stop for good.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame

from core.model import MarkUpdate, ProtocolError, SessionEvent
from core.venue import ReconnectPolicy
from core.venues.link import Verdict, frame_too_big, reconnecting
from core.venues.qfex import protocol
from core.venues.qfex.sockets import open_socket

__all__ = ["MarkFeed"]

log = logging.getLogger(__name__)


class MarkFeed:
    """Keeps ``marks`` (symbol -> mark price) current and emits every ``MarkUpdate``."""

    def __init__(
        self,
        url: str,
        account: str,
        policy: ReconnectPolicy,
        *,
        emit: Callable[[SessionEvent], None],
        observe: Callable[[Frame], None],
        monotonic: Callable[[], float],
        is_transient: Callable[[BaseException], bool],
        timeout: float,
    ) -> None:
        self.url = url
        self.account = account
        self.marks: dict[str, Decimal] = {}
        self._policy = policy
        self._emit = emit
        self._observe = observe
        self._monotonic = monotonic
        self._is_transient = is_transient
        self._timeout = timeout
        self._ws: ClientConnection | None = None

    async def run(self) -> None:
        """Until cancelled. The first connection is opened at once, the next ones after
        the policy's backoff."""
        first: ClientConnection | None = None
        try:
            first = await self._open()
        except Exception as exc:
            self._failed(exc, 0.0)
        links = reconnecting(self._open, self._policy, lambda exc: Verdict.RETRY,
                             clock=self._monotonic, first=first, on_retry=self._failed)
        try:
            async for ws in links:
                try:
                    await self._read(ws)
                except Exception as exc:
                    self._failed(exc, 0.0)
                finally:
                    self._ws = None
                    await ws.close()
        finally:
            await links.aclose()  # end the loop in this task, not when collected

    async def close(self) -> None:
        """Close the socket with a normal close before the task running ``run`` is cancelled."""
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()

    async def _open(self) -> ClientConnection:
        ws = await open_socket(self.url, timeout=self._timeout, observer=self._observe)
        self._ws = ws
        try:
            await ws.send(protocol.build_mds_subscribe())
        except BaseException:
            self._ws = None
            await ws.close()
            raise
        return ws

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for message in ws:
                try:
                    events = protocol.parse_mds(message, self.account)
                except Exception as exc:  # one bad frame costs that frame, not the connection
                    log.debug("QFEX market data frame not read", exc_info=True)
                    events = [ProtocolError(
                        protocol.VENUE, self.account,
                        f"QFEX market data frame could not be read ({type(exc).__name__})",
                        raw=protocol.received_text(message), code="unhandled_frame")]
                for event in events:
                    if isinstance(event, MarkUpdate):
                        self.marks[event.symbol] = event.mark
                    self._emit(event)
        except ConnectionClosed as exc:
            too_big = frame_too_big(exc)
            if too_big is not None:
                self._emit(ProtocolError(protocol.VENUE, self.account, too_big,
                                         code="frame_too_big"))

    def _failed(self, exc: BaseException, delay: float) -> None:
        if self._is_transient(exc):
            log.warning("QFEX market data for %s: %s", self.account, exc)
            return
        log.warning("QFEX market data for %s failed unexpectedly; reconnecting", self.account,
                    exc_info=exc)
        self._emit(ProtocolError(protocol.VENUE, self.account,
                                 f"market data stopped ({type(exc).__name__}); reconnecting"))
