"""Reference data is an aid: a /refdata failure, whatever its body, never stops an account
connecting through the desk."""

from __future__ import annotations

import pytest

from core.desk import Desk
from core.model import ConnectionState, ProtocolError
from core.venue import AccountConfig, Credentials, EventSink
from core.venues.qfex.session import QfexSession
from tests.helpers.fakes import Recorder
from tests.helpers.venues import FakeVenue
from tests.unit.core.venues.qfex.test_session import PUB, SECRET, make_session
from tests.unit.core.venues.qfex.test_session import venue as venue  # the fixture

HUGE = b"1e99999999999999999999"  # valid JSON; no Decimal can hold it


@pytest.mark.asyncio
@pytest.mark.parametrize("body", [
    b'{"title": "Internal Server Error", "status": 1e61}',
    b'{"title": "Internal Server Error", "status": ' + HUGE + b"}",
    b'{"title": "Internal Server Error", "detail": ' + HUGE + b"}",
    b"<html>" + HUGE + b"</html>",
])
async def test_a_500_from_refdata_with_a_hostile_body_does_not_fail_connect(
    venue: FakeVenue, body: bytes,
) -> None:
    venue.refdata_reply = (500, body)
    sinks: list[Recorder] = []

    def factory(account: AccountConfig, creds: Credentials, sink: EventSink) -> QfexSession:
        recorder = Recorder()
        sinks.append(recorder)
        session = make_session(venue, recorder)
        session.sink = lambda event: (recorder(event), sink(event))  # type: ignore[method-assign]
        return session

    desk = Desk(session_factory=factory)
    account = make_session(venue, Recorder()).account
    try:
        await desk.connect(account, Credentials(PUB, SECRET))
        (recorder,) = sinks
        assert ConnectionState.CONNECTED in recorder.states()
        (error,) = [e for e in recorder.events if isinstance(e, ProtocolError)]
        assert error.message.startswith("Reference data unavailable")
        assert not desk.session(account.name).instruments  # type: ignore[attr-defined]
    finally:
        await desk.stop()
