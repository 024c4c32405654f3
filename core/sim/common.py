"""Plumbing shared by the two simulated venues: recording, JSON numbers, outbound queues with
fault injection, and a way to abort a connection abruptly."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from uvicorn.protocols.http.h11_impl import H11Protocol

from core.sim.faults import Faults

__all__ = [
    "Outbox",
    "Received",
    "TransportRegistry",
    "dated",
    "dumps",
    "headers_of",
    "loads",
    "loopback_url",
    "path_with_query",
]

log = logging.getLogger("core.sim")


@dataclass
class Received:
    """One thing a client sent: a WS frame or an HTTP request, exactly as it arrived."""

    time: float
    venue: str
    channel: str  # "ws" | "http"
    method: str
    path: str
    headers: dict[str, str]
    body: str

    @cached_property
    def kind(self) -> str:
        """What was asked: a WS frame's ``type`` (QFEX) or ``op`` (Everstrike), an HTTP path
        without its query; "" for a frame that is not a JSON object with either. Parsed once:
        ``Simulator.requests`` asks it of the whole log on every call."""
        if self.channel == "http":
            return self.path.partition("?")[0]
        try:
            frame = json.loads(self.body)
        except ValueError:
            return ""
        if not isinstance(frame, dict):
            return ""
        kind = frame.get("type", frame.get("op"))
        return kind if isinstance(kind, str) else ""

    def json(self) -> Any:
        """The body as JSON, numbers exact (raises ValueError when it is not JSON)."""
        return loads(self.body)

    def form(self) -> dict[str, str]:
        """An HTTP form body as a dict (first value of a repeated field wins)."""
        out: dict[str, str] = {}
        for key, value in parse_qsl(self.body, keep_blank_values=True):
            out.setdefault(key, value)
        return out


# ------------------------------------------------------------------------- JSON
def _num(d: Decimal, float_style: bool) -> str:
    if not d.is_finite():
        raise ValueError(f"cannot send {d} as a JSON number")
    if d == 0:
        return "0.0" if float_style else "0"
    n = d.normalize()
    text = format(n, "f")
    if float_style and "." not in text:
        text += ".0"
    return text


def dumps(obj: Any, *, float_style: bool = False) -> str:
    """JSON with Decimals written as exact JSON numbers.

    ``float_style`` writes integral values as ``2.0``, as a float64-based server (QFEX) does.
    Separators match ``json.dumps`` defaults so ``{"authenticated": true}`` looks as documented.
    """
    if isinstance(obj, Decimal):
        return _num(obj, float_style)
    if isinstance(obj, dict):
        return (
            "{"
            + ", ".join(
                json.dumps(str(k)) + ": " + dumps(v, float_style=float_style)
                for k, v in obj.items()
            )
            + "}"
        )
    if isinstance(obj, list | tuple):
        return "[" + ", ".join(dumps(v, float_style=float_style) for v in obj) + "]"
    return json.dumps(obj)


def loads(text: str) -> Any:
    """Parse client JSON with exact numbers (ints stay ints; callers convert)."""
    return json.loads(text, parse_float=Decimal)


# ------------------------------------------------------------------------- HTTP helpers
def loopback_url(scheme: str, host: str, port: int, path: str) -> str:
    h = f"[{host}]" if ":" in host else host
    return f"{scheme}://{h}:{port}{path}"


def headers_of(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in raw:
        key = k.decode("latin-1").lower()
        val = v.decode("latin-1")
        out[key] = f"{out[key]}, {val}" if key in out else val
    return out


def path_with_query(scope: Any) -> str:
    path: str = scope.get("path", "/")
    query: bytes = scope.get("query_string", b"")
    return f"{path}?{query.decode('latin-1')}" if query else path


def record_http(venue: str, request: Request, body: bytes) -> Received:
    return Received(
        time=time.time(),
        venue=venue,
        channel="http",
        method=request.method,
        path=path_with_query(request.scope),
        headers=headers_of(request.scope["headers"]),
        body=body.decode("utf-8", "replace"),
    )


def record_ws(venue: str, websocket: WebSocket, text: str) -> Received:
    return Received(
        time=time.time(),
        venue=venue,
        channel="ws",
        method="",
        path=path_with_query(websocket.scope),
        headers=headers_of(websocket.scope["headers"]),
        body=text,
    )


# ------------------------------------------------------------------------- abrupt drops
Peer = tuple[Any, Any]


class TransportRegistry:
    """Maps an ASGI scope's (server, client) to its asyncio transport.

    ASGI gives an app no way to drop a connection without answering, but a venue that crashes
    mid-request does exactly that. uvicorn's HTTP protocol class is pluggable, so ours records
    each transport and the app can ``abort()`` it (the same transport carries an upgraded
    WebSocket).
    """

    def __init__(self) -> None:
        self._transports: dict[Peer, asyncio.Transport] = {}

    def protocol_class(self) -> type[asyncio.Protocol]:
        registry = self

        class RecordingH11Protocol(H11Protocol):
            def connection_made(  # type: ignore[override]
                self, transport: asyncio.Transport
            ) -> None:
                registry.add(transport)
                super().connection_made(transport)

        return RecordingH11Protocol

    def add(self, transport: asyncio.Transport) -> None:
        for key, t in list(self._transports.items()):
            if t.is_closing():
                del self._transports[key]
        sock = transport.get_extra_info("sockname")
        peer = transport.get_extra_info("peername")
        if sock and peer:
            self._transports[(tuple(sock[:2]), tuple(peer[:2]))] = transport

    def abort(self, scope: Any) -> bool:
        server, client = scope.get("server"), scope.get("client")
        if not server or not client:
            return False
        transport = self._transports.pop((tuple(server[:2]), tuple(client[:2])), None)
        if transport is None:
            return False
        transport.abort()
        return True


# ------------------------------------------------------------------------- outbound frames
class Outbox:
    """One WebSocket's ordered outbound queue. Every push passes the fault knobs here, so the
    venues only decide *what* to send."""

    def __init__(self, websocket: WebSocket, faults: Faults) -> None:
        self.websocket = websocket
        self.faults = faults
        self.closed = False
        # (text, order update?, when it may leave: time.monotonic())
        self._queue: asyncio.Queue[tuple[str, bool, float]] = asyncio.Queue()

    def push(self, text: str, *, update: bool = False) -> None:
        """Queue a frame; ``update`` marks an order update (subject to duplicate/reorder).

        Frames produced while the venue is silent are discarded here (and again at send time
        for frames queued just before), so "silent" is decided when the event happens. The
        ``latency`` knob is read here too: the frame leaves that long after it was produced,
        like a network delay, so frames produced together arrive together (in order), instead
        of one latency apart each.
        """
        if self.closed:
            return
        if self.faults.silent:
            self.faults.count_silenced()
            return
        self._queue.put_nowait((text, update, time.monotonic() + self.faults.latency))

    async def run(self) -> None:
        held: str | None = None
        try:
            while True:
                if held is None:
                    text, update, due = await self._queue.get()
                else:
                    try:
                        text, update, due = await asyncio.wait_for(
                            self._queue.get(), self.faults.reorder_hold
                        )
                    except TimeoutError:
                        await self._send(held)
                        held = None
                        continue
                await _until(due)
                if update and self.faults.reorder:
                    if held is None:
                        held = text
                        continue
                    await self._send(text)
                    await self._send(held)
                    held = None
                    continue
                await self._send(text)
                if update and self.faults.duplicate:
                    await self._send(text)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the client went away mid-send; the reader notices too
            log.debug("outbox stopped: %r", exc)
            self.closed = True

    async def _send(self, text: str) -> None:
        if self.faults.silent:
            self.faults.count_silenced()
            return
        for bad in self.faults.take_malformed(self.websocket.url.path):
            if isinstance(bad, bytes):
                await self.websocket.send_bytes(bad)
            else:
                await self.websocket.send_text(bad)
            self.faults.count_malformed_sent()
        await self.websocket.send_text(text)
        self.faults.note_sent(f"ws {self.websocket.url.path}", text)


def _corrupted(message: Message, body: bytes) -> Message:
    """The reply's start with the length of ``body``, or its last body part as ``body``."""
    if message["type"] == "http.response.start":
        headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-length"]
        return {**message, "headers": [*headers, (b"content-length", b"%d" % len(body))]}
    if message["type"] == "http.response.body" and not message.get("more_body"):
        return {**message, "body": body}
    return message


def observed(app: ASGIApp, faults: Faults | None) -> ASGIApp:
    """``app`` telling ``faults.note_sent`` when an HTTP reply's last byte was written (the
    WebSocket outbox says so for its frames itself), with the body of a reply
    ``faults.corrupt_reply`` asked for replaced after the request was handled."""
    if faults is None:
        return app

    async def observing(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        bad = faults.take_corrupt_reply(scope["path"])

        async def sending(message: Message) -> None:
            if bad is not None:
                message = _corrupted(message, bad)
                if message["type"] == "http.response.body" and message.get("more_body"):
                    return  # the rest of the real body is replaced as a whole
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                faults.note_sent(f"http {scope['path']}")

        await app(scope, receive, sending)

    return observing


def dated(app: ASGIApp, now: Callable[[], float]) -> ASGIApp:
    """``app`` with a ``Date`` header on every HTTP reply, read from the venue's own clock
    (``now``, which the ``clock_skew`` knob moves), as an HTTP server with a clock must send
    one (RFC 9110 6.6.1). The server's own header, from the machine's clock, is turned off."""

    async def dating(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                stamp = email.utils.formatdate(now(), usegmt=True).encode()
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"date"]
                message = {**message, "headers": [*headers, (b"date", stamp)]}
            await send(message)

        await app(scope, receive, sending)

    return dating


async def _until(due: float) -> None:
    """Sleep until ``time.monotonic()`` reaches ``due`` (at once if it has)."""
    delay = due - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


async def run_connection(
    websocket: WebSocket,
    outbox: Outbox,
    on_text: Callable[[str], None],
    on_record: Callable[[str], None],
    *,
    timers: list[asyncio.Task[None]] | None = None,
) -> None:
    """Read frames until the client leaves, with the outbox writing concurrently.

    Never raises: a disconnect is normal, and uvicorn logs any escaping exception at ERROR.
    """
    writer = asyncio.create_task(outbox.run())
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None:
                text = (message.get("bytes") or b"").decode("utf-8", "replace")
            on_record(text)
            on_text(text)
    except Exception as exc:
        log.debug("connection ended: %r", exc)
    finally:
        outbox.closed = True
        for task in [writer, *(timers or [])]:
            task.cancel()
        for task in [writer, *(timers or [])]:
            with contextlib.suppress(BaseException):
                await task


async def close_quietly(websocket: WebSocket, code: int, reason: str = "") -> None:
    with contextlib.suppress(Exception):
        await websocket.close(code=code, reason=reason)


async def wait_while_silent(faults: Faults, closing: asyncio.Event, poll: float = 0.02) -> None:
    """Hold an HTTP reply while the venue is silent (the sim is stopping ends the hold)."""
    while faults.silent and not closing.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(closing.wait(), poll)
