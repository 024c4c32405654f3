"""Asking the venue about Unknown closes until it answers.

A close whose reply was lost is Unknown and never resent. What it became is read from the
venue: its positions (REST, so a trade socket that cannot reconnect does not stop it) and, on
a live connection, its order listing, which the session's order machine matches to the close.
One check per account at a time; a check that times out or fails is tried again with backoff,
and every attempt is counted on the intents it is about (``CloseIntent.checks``), so the row
can say "checking (attempt 3)". It stops once none of the account's closes is Unknown, and
when the desk stops or the account goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from core.desk.intents import CloseIntent
from core.venue import ReconnectPolicy, SessionClosed, VenueSession

__all__ = ["DEFAULT_CHECK_TIMEOUT", "Reconciler"]

log = logging.getLogger(__name__)

DEFAULT_CHECK_TIMEOUT = 10.0  # seconds one check may take before it counts as unanswered


class Reconciler:
    """``unknown(account)`` lists the account's Unknown intents; ``attempt(intents, n, why)``
    is told before each check and after one that got no answer (the desk journals and shows
    it); ``answered(account)`` once the venue's positions were just read, live even while the
    trade socket is down, so the intents can be settled from them."""

    def __init__(
        self,
        *,
        session: Callable[[str], VenueSession | None],
        connected: Callable[[str], bool],
        unknown: Callable[[str], list[CloseIntent]],
        attempt: Callable[[list[CloseIntent], int, str], None],
        answered: Callable[[str], None],
        policy: ReconnectPolicy,
        timeout: float = DEFAULT_CHECK_TIMEOUT,
    ) -> None:
        self._session = session
        self._connected = connected
        self._unknown = unknown
        self._attempt = attempt
        self._answered = answered
        self.policy = policy
        self.timeout = timeout
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._closed = False  # the desk stopped: what its sessions say while stopping is moot

    def kick(self, account: str) -> None:
        """Start checking the account's Unknown closes, unless a check is already running."""
        task = self._tasks.get(account)
        if self._closed or (task is not None and not task.done()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a synchronous caller): nothing can be asked now
            return
        self._tasks[account] = loop.create_task(self._run(account),
                                                name=f"reconcile-{account}")

    def active(self) -> set[str]:
        """The accounts being checked now."""
        return {name for name, task in self._tasks.items() if not task.done()}

    async def stop(self, account: str | None = None) -> None:
        """Stop checking one account (or all of them, for good)."""
        if account is None:
            self._closed = True
        names = list(self._tasks) if account is None else [account]
        tasks = [t for n in names if (t := self._tasks.pop(n, None)) is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self, account: str) -> None:
        delays = self.policy.delays()
        attempt = 0
        try:
            while True:
                # The first wait gives the session's own resync after a reconnect its turn.
                await asyncio.sleep(next(delays))
                intents = self._unknown(account)
                session = self._session(account)
                if not intents or session is None:
                    return
                attempt += 1
                self._attempt(intents, attempt, "")
                why = await self._check(session, account)
                if why is None:  # the session was stopped: nobody is left to ask
                    return
                if why and self._unknown(account):
                    self._attempt(self._unknown(account), attempt, why)
        finally:
            if self._tasks.get(account) is asyncio.current_task():
                del self._tasks[account]

    async def _check(self, session: VenueSession, account: str) -> str | None:
        """One look at the venue; why it gave no answer, "" when it answered, None when the
        session was stopped."""
        try:
            async with asyncio.timeout(self.timeout):
                await session.refresh_positions()
                self._answered(account)
                if self._connected(account) and self._unknown(account):
                    await session.refresh_orders()
        except TimeoutError:
            return f"no answer within {self.timeout:g} s"
        except SessionClosed as exc:
            if self._closed or self._session(account) is not session:
                return None
            return str(exc) or "not connected"
        except Exception as exc:  # the venue or the connection failed: try again later
            log.info("reconcile %s: check failed: %s", account, exc)
            return str(exc) or type(exc).__name__
        return ""
