"""The one reconnecting loop every venue connection runs under.

A session opens its first connection itself (so ``start()`` can fail loudly), then hands it to
:func:`reconnecting` and reads each connection the loop yields until it ends::

    async with contextlib.aclosing(reconnecting(open_ws, policy, classify, clock=clock,
                                                first=ws)) as links:
        async for ws in links:
            await read_until_closed(ws)

When the body returns, the loop waits out the next backoff delay and opens again. ``classify``
decides whether a failed open is worth retrying; a fatal one ends the loop by raising
:class:`LinkFailed`. Backoff restarts from ``policy.initial`` after a connection that stayed up
for ``policy.healthy_after`` seconds of the injected clock, so one flap after hours of health
does not inherit the last outage's long delay. ``aclosing`` ends the loop in the task that
stops the session, instead of whenever the generator is collected.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from typing import TypeVar

from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

from core.venue import ReconnectPolicy

__all__ = ["LinkFailed", "Verdict", "frame_too_big", "reconnecting"]

log = logging.getLogger(__name__)

C = TypeVar("C")


class Verdict(enum.Enum):
    RETRY = "retry"
    FATAL = "fatal"


class LinkFailed(Exception):
    """Opening failed in a way retrying cannot fix (for example refused credentials)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause) or type(cause).__name__)
        self.cause = cause


async def reconnecting(
    open_connection: Callable[[], Awaitable[C]],
    policy: ReconnectPolicy,
    classify: Callable[[BaseException], Verdict],
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    first: C | None = None,
    on_attempt: Callable[[], None] | None = None,
    on_retry: Callable[[BaseException, float], None] | None = None,
) -> AsyncGenerator[C, None]:
    """Yield one open connection after another, forever, until cancelled or fatal.

    ``on_attempt`` runs before each reconnect attempt; ``on_retry(exc, delay)`` after each
    failed one that will be retried. If ``classify`` itself raises, that bug is logged with
    its traceback and the attempt is retried, so reconnecting never stops silently.
    """
    delays = policy.delays()
    connection = first
    while True:
        if connection is None:
            connection = await _open_with_backoff(
                open_connection, delays, classify, sleep, on_attempt, on_retry
            )
        opened_at = clock()
        yield connection
        connection = None
        if clock() - opened_at >= policy.healthy_after:
            delays = policy.delays()


async def _open_with_backoff(
    open_connection: Callable[[], Awaitable[C]],
    delays: Iterator[float],
    classify: Callable[[BaseException], Verdict],
    sleep: Callable[[float], Awaitable[None]],
    on_attempt: Callable[[], None] | None,
    on_retry: Callable[[BaseException, float], None] | None,
) -> C:
    delay = next(delays)
    while True:
        await sleep(delay)
        if on_attempt is not None:
            on_attempt()
        try:
            return await open_connection()
        except Exception as exc:
            try:
                verdict = classify(exc)
            except Exception:
                log.exception("reconnect: classifying %r failed", exc)
                verdict = Verdict.RETRY
            if verdict is Verdict.FATAL:
                raise LinkFailed(exc) from exc
            delay = next(delays)
            if on_retry is not None:
                on_retry(exc, delay)



def frame_too_big(exc: ConnectionClosed) -> str | None:
    """What to report when ``exc`` ended a connection because a frame was over our size limit
    (we closed with 1009): that frame was venue data we could not read, lost with the
    connection. None for any other ending."""
    sent = exc.sent
    if sent is None or sent.code != CloseCode.MESSAGE_TOO_BIG:
        return None
    detail = f" ({sent.reason})" if sent.reason else ""
    return f"The venue sent a frame over the size limit{detail}; reconnecting"
