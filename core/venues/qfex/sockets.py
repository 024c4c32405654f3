"""Opening a QFEX WebSocket: limits, proxies and the frame observer that health relies on."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from websockets.asyncio.client import ClientConnection, connect
from websockets.frames import Frame
from websockets.protocol import Event

from core.venue import is_loopback_url

__all__ = ["ObservedConnection", "open_socket"]

# Frames larger than this are refused by the socket; market_stats for every symbol fits well.
MAX_FRAME = 8 * 1024 * 1024


class ObservedConnection(ClientConnection):
    """A client connection that reports every incoming frame, pings included, so health() can
    tell a quiet socket from a dead one and learn the venue's ping period. websockets (13+)
    hands every frame to ``process_event``; the library still answers the pings itself."""

    observer: Callable[[Frame], None] | None = None

    def process_event(self, event: Event) -> None:
        super().process_event(event)
        if self.observer is not None and isinstance(event, Frame):
            self.observer(event)


async def open_socket(
    url: str,
    *,
    timeout: float,
    observer: Callable[[Frame], None],
    headers: Mapping[str, str] | None = None,
) -> ClientConnection:
    ws = await connect(
        url,
        additional_headers=headers,
        proxy=None if is_loopback_url(url) else True,
        open_timeout=timeout,
        max_size=MAX_FRAME,
        create_connection=ObservedConnection,
    )
    if isinstance(ws, ObservedConnection):
        ws.observer = observer
    return ws

