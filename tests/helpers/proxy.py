"""A recording TCP proxy on loopback: what a client really wrote, decoded after the fact.

The proxy forwards bytes both ways untouched and keeps every byte the client sent. Tests then
decode that stream as the server would (HTTP/1.1 requests, or a WebSocket handshake and its
frames, compression included), so a check against it is a check against the wire itself,
not against anything our client reports about itself.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from websockets.extensions.permessage_deflate import enable_server_permessage_deflate
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol


@dataclass
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class RecordingProxy:
    """Forward ``127.0.0.1:<port>`` to ``target_host:target_port`` and record client bytes."""

    target_host: str
    target_port: int
    streams: list[bytearray] = field(default_factory=list)
    # Seconds each chunk of the server's answer is held before the client gets it: a slow
    # link one way, so what the server pushes on another connection arrives first.
    reply_delay: float = 0.0
    _server: asyncio.Server | None = None
    _pipes: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def url_for(self, url: str) -> str:
        """``url`` with its host and port replaced by the proxy's."""
        parts = urlsplit(url)
        return urlunsplit(parts._replace(netloc=f"127.0.0.1:{self.port}"))

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._pipes):
            task.cancel()
        for task in list(self._pipes):
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await task
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        record = bytearray()
        self.streams.append(record)
        up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        for task in (
            asyncio.create_task(_pipe(reader, up_writer, record)),
            asyncio.create_task(_pipe(up_reader, writer, None, lambda: self.reply_delay)),
        ):
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    def http_requests(self) -> list[HttpRequest]:
        """Every HTTP/1.1 request the client wrote, in order, per connection in order."""
        requests: list[HttpRequest] = []
        for stream in self.streams:
            if b"upgrade: websocket" in bytes(stream[:4096]).lower():
                continue
            requests.extend(_parse_http(bytes(stream)))
        return requests

    def ws_texts(self) -> list[str]:
        """Every text message the client sent on any WebSocket, decoded (and inflated)."""
        texts: list[str] = []
        for stream in self.streams:
            if b"upgrade: websocket" not in bytes(stream[:4096]).lower():
                continue
            texts.extend(_parse_ws(bytes(stream)))
        return texts


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, record: bytearray | None,
    delay: Callable[[], float] | None = None,
) -> None:
    try:
        while data := await reader.read(65536):
            if record is not None:
                record.extend(data)
            if delay is not None and (seconds := delay()) > 0:
                await asyncio.sleep(seconds)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(ConnectionError, OSError):
            writer.close()


def _parse_http(data: bytes) -> list[HttpRequest]:
    requests: list[HttpRequest] = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, "an HTTP request was cut short"
        start, *lines = head.decode("latin-1").split("\r\n")
        method, path, _version = start.split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        assert "chunked" not in headers.get("transfer-encoding", ""), "chunked body not parsed"
        length = int(headers.get("content-length", "0"))
        requests.append(HttpRequest(method, path, headers, rest[:length]))
        data = rest[length:]
    return requests


def _parse_ws(data: bytes) -> list[str]:
    """Decode the client side of one WebSocket connection as a server would."""
    head, sep, frames = data.partition(b"\r\n\r\n")
    assert sep, "a WebSocket handshake was cut short"
    protocol = ServerProtocol(extensions=enable_server_permessage_deflate(None))
    protocol.receive_data(head + sep)
    (request,) = protocol.events_received()
    assert isinstance(request, Request)
    # Accepting negotiates the same extensions the real server did, so frames inflate.
    protocol.send_response(protocol.accept(request))
    protocol.receive_data(frames)
    texts: list[str] = []
    for frame in protocol.events_received():
        assert isinstance(frame, Frame)
        assert frame.opcode is not Opcode.CONT, "fragmented messages are not decoded here"
        if frame.opcode is Opcode.TEXT:
            texts.append(frame.data.decode("utf-8"))
    return texts
