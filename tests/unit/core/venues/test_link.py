"""The one reconnecting loop: backoff, reset after health, retry versus fatal, injected time."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from core.venue import ReconnectPolicy
from core.venues.link import LinkFailed, Verdict, reconnecting
from tests.helpers.clock import FakeClock
from tests.helpers.fakes import Opener

pytestmark = pytest.mark.asyncio

POLICY = ReconnectPolicy(initial=1.0, maximum=8.0, factor=2.0, jitter=0.0, healthy_after=30.0)


def retry_os_errors(exc: BaseException) -> Verdict:
    return Verdict.RETRY if isinstance(exc, OSError) else Verdict.FATAL


async def take(
    n: int, opener: Opener, clock: FakeClock, *, lived: float = 0.0, first: int | None = None,
    on_retry: Callable[[BaseException, float], None] | None = None,
) -> list[int]:
    """Run the loop for ``n`` connections, each staying up ``lived`` seconds."""
    got: list[int] = []
    async for connection in reconnecting(
        opener, POLICY, retry_os_errors, clock=clock, sleep=clock.sleep, first=first,
        on_retry=on_retry,
    ):
        got.append(connection)
        clock.now += lived
        if len(got) == n:
            break
    return got


async def test_yields_the_first_connection_without_waiting_then_reopens_with_backoff() -> None:
    clock = FakeClock()
    got = await take(4, Opener(), clock, first=0)
    assert got == [0, 1, 2, 3]
    assert clock.slept == [1.0, 2.0, 4.0]


async def test_without_a_first_connection_it_waits_before_opening() -> None:
    clock = FakeClock()
    assert await take(1, Opener(), clock) == [1]
    assert clock.slept == [1.0]


async def test_failed_opens_are_retried_with_growing_delays_capped_at_the_maximum() -> None:
    clock = FakeClock()
    retries: list[tuple[str, float]] = []
    opener = Opener(*(OSError(f"refused {i}") for i in range(5)))
    got = await take(1, opener, clock, first=None,
                     on_retry=lambda exc, delay: retries.append((str(exc), delay)))
    assert got == [1]
    assert clock.slept == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert retries == [("refused 0", 2.0), ("refused 1", 4.0), ("refused 2", 8.0),
                       ("refused 3", 8.0), ("refused 4", 8.0)]


async def test_a_fatal_failure_ends_the_loop_with_its_cause() -> None:
    clock = FakeClock()
    refused = PermissionError("bad key")  # an OSError, so classify must see the real type
    refused_fatal = ValueError("auth refused")
    with pytest.raises(LinkFailed) as caught:
        await take(3, Opener(refused, refused_fatal), clock, first=0)
    assert caught.value.cause is refused_fatal
    assert clock.slept == [1.0, 2.0]


async def test_backoff_restarts_after_a_healthy_connection_only() -> None:
    clock = FakeClock()
    # Each connection lives 10 s, short of healthy_after: delays keep growing.
    await take(4, Opener(), clock, first=0, lived=10.0)
    assert clock.slept == [1.0, 2.0, 4.0]
    clock = FakeClock()
    # Each connection lives 30 s: every reconnect starts again from the initial delay.
    await take(4, Opener(), clock, first=0, lived=30.0)
    assert clock.slept == [1.0, 1.0, 1.0]


async def test_health_is_judged_by_the_injected_clock_not_the_real_one() -> None:
    clock = FakeClock()
    frozen = FakeClock()  # a clock that never moves: no connection ever looks healthy
    got: list[int] = []
    async for connection in reconnecting(
        Opener(), POLICY, retry_os_errors, clock=frozen, sleep=clock.sleep, first=0
    ):
        got.append(connection)
        if len(got) == 4:
            break
    assert clock.slept == [1.0, 2.0, 4.0]


@pytest.mark.allow_error_logs
async def test_a_classifier_bug_is_logged_and_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(exc: BaseException) -> Verdict:
        raise RuntimeError("classifier bug")

    clock = FakeClock()
    got: list[int] = []
    with caplog.at_level(logging.ERROR, logger="core.venues.link"):
        async for connection in reconnecting(
            Opener(OSError("down")), POLICY, broken, clock=clock, sleep=clock.sleep
        ):
            got.append(connection)
            break
    assert got == [1]
    assert clock.slept == [1.0, 2.0]
    assert any("classifying" in r.getMessage() for r in caplog.records)
