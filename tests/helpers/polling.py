"""Async polling for state owned by another thread or by Qt, with a hard deadline.

Use it where no event exists to await; never as a sleep to "let things settle". For what a
``Desk`` owns (its book, its intents), ``desks_until`` wakes on the desks' own events instead."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.desk import Desk
    from core.model import PositionKey


async def until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> None:
    try:
        async with asyncio.timeout(timeout):
            while not predicate():  # noqa: ASYNC110 - the state has no event to await
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}") \
            from None


async def desks_until(desks: Iterable[Desk], predicate: Callable[[], Any],
                      timeout: float = 10.0, what: str = "") -> None:
    """Like ``until`` for state the desks own (their books and intents): the predicate is asked
    again on each event a desk emits, so the wait ends the moment it holds, with no polling."""
    woken = asyncio.Event()
    leave = [desk.subscribe(lambda _event: woken.set()) for desk in desks]
    try:
        async with asyncio.timeout(timeout):
            while not predicate():
                await woken.wait()
                woken.clear()
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}") \
            from None
    finally:
        for unsubscribe in leave:
            unsubscribe()


async def market_data(desk: Desk, keys: Iterable[PositionKey] | None = None,
                      timeout: float = 10.0) -> None:
    """Wait until the desk holds a venue mark for each position (all of them by default).

    ``Desk.start`` returns once the trading connections are up; QFEX's market-data socket and
    Everstrike's first tickers come after. A fixture that returned there would leave a connect
    in flight and hand its test a book without marks (a QFEX trigger close is then refused).
    """
    wanted = list(desk.positions if keys is None else keys)
    await until(lambda: all(desk.mark(k.venue, k.symbol) is not None for k in wanted),
                timeout, what="a mark for every position")
