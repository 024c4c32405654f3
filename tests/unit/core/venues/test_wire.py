"""Wire time at the transport, without a network: the arithmetic and what is left unsaid."""

from __future__ import annotations

import asyncio
from collections import OrderedDict

import httpx
import pytest

from core.venues import wire
from core.venues.wire import HttpWire, arrived_at, remember_wire


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_reply_is_dated_when_the_kernel_got_it_never_later_than_seen(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(wire, "received_ago", lambda sock: 0.4)
    assert arrived_at(object(), seen_at=10.5, now=10.5) == pytest.approx(10.1)  # in the socket
    monkeypatch.setattr(wire, "received_ago", lambda sock: 0.0)
    assert arrived_at(object(), seen_at=10.0, now=10.5) == 10.0  # later data: seen time caps
    monkeypatch.setattr(wire, "received_ago", lambda sock: None)
    assert arrived_at(None, seen_at=10.0, now=10.5) == 10.0  # nothing known: when it was seen


def test_http_wire_runs_from_the_write_to_the_reply_headers(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(wire, "received_ago", lambda sock: None)
    clock = Clock()
    timing = HttpWire(clock)

    async def trace() -> None:
        await timing.trace("http11.send_request_headers.complete", {})
        clock.now = 100.2  # the body's write returns: the wire starts here
        await timing.trace("http11.send_request_body.complete", {})
        clock.now = 100.45
        await timing.trace("http11.receive_response_headers.complete", {})
        clock.now = 101.0  # the app reading the body, parsing, ...: not the wire's

    asyncio.run(trace())
    assert timing.wire_ms(httpx.Response(200)) == pytest.approx(250.0)


def test_a_transport_without_a_trace_reports_nothing() -> None:
    assert HttpWire(Clock()).wire_ms(httpx.Response(200)) is None


def test_remembered_wire_times_are_bounded(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(wire, "WIRE_MEMORY", 2)
    table: OrderedDict[str, float] = OrderedDict()
    for i, cid in enumerate(("a", "b", "c")):
        remember_wire(table, cid, float(i))
    remember_wire(table, "d", None)  # nothing measured: nothing kept
    assert list(table) == ["b", "c"]
