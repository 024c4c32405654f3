"""The simulator's sockets: every accepted connection has Nagle off, as a real venue's would.

With Nagle on, a reply written in two pieces (headers, then body) waits for the client's
delayed ACK on every request after a connection's first, and every benchmark on the simulator
measures that wait instead of the code.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from core.sim.simulator import _bind


@pytest.mark.asyncio
async def test_accepted_connections_have_nagle_off() -> None:
    loop = asyncio.get_running_loop()
    seen: asyncio.Future[int] = loop.create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            if not seen.done():
                seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    listener = _bind("127.0.0.1", 0)
    server = await loop.create_server(Probe, sock=listener)
    try:
        port = listener.getsockname()[1]
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            assert await asyncio.wait_for(seen, 10) != 0
        finally:
            writer.close()
            await writer.wait_closed()
    finally:
        server.close()
        await server.wait_closed()
