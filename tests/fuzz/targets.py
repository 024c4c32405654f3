"""Every parser of both venues, and the rule each call is checked against.

The rule: a parser returns, or raises only its own typed error (``EverstrikeError``,
``QfexProtocolError``; the WebSocket parsers and ``parse_problem`` never raise, a bad frame is a
``ProtocolError`` event). What it returns holds no number outside the bound of
``core.bounds`` (Decimals in bounds; floats and ints finite and below 1E+61 in size).

A frame goes through every parser of its venue. Parsers that take a parsed object rather than
text (the Everstrike REST results, the QFEX working-order views) are fed what the text-level
parsers accepted, and the JSON value of the frame itself, so mutations reach them too.
"""

from __future__ import annotations

import dataclasses
import enum
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from core import bounds
from core.model import CloseRequest, OrderUpdate, PositionKey, PositionSide
from core.venues.everstrike import EVERSTRIKE
from core.venues.everstrike import protocol as ev
from core.venues.qfex import protocol as qf
from core.venues.qfex.protocol import StopOrder

ACCOUNT = "fuzz"
PAIR = "USD_BTC_PERP"
_LIMIT = 10**61
_CLOSE = CloseRequest(PositionKey(ACCOUNT, EVERSTRIKE, PAIR), PositionSide.LONG, Decimal(2),
                      quantity=Decimal(1))
NEVER: tuple[type[BaseException], ...] = ()


@dataclass
class Tally:
    """What one parser did with the frames it was fed."""

    calls: int = 0
    accepted: int = 0
    refused: int = 0  # its typed error, or a ProtocolError event
    failures: int = 0


@dataclass
class Failure:
    parser: str
    frame: str
    error: str
    mutations: list[str]


@dataclass
class Checker:
    """Feeds frames to the parsers, keeps the tallies and the first failures."""

    tallies: dict[str, Tally] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    failure_count: int = 0
    keep: int = 25
    mutations: list[str] = field(default_factory=list)
    frames: Counter[str] = field(default_factory=Counter)

    def call(self, name: str, typed: tuple[type[BaseException], ...], frame: object,
             parser: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``parser(*args, **kwargs)`` and check it; returns what it returned (None if it
        raised). ``frame`` is what the report shows of a failure."""
        tally = self.tallies.setdefault(name, Tally())
        tally.calls += 1
        try:
            result = parser(*args, **kwargs)
        except typed:
            tally.refused += 1
            return None
        except BaseException as exc:  # the rule is broken: record it, go on
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            self._fail(tally, name, frame, f"{type(exc).__name__}: {str(exc)[:200]}")
            return None
        bad = next((n for n in numbers_in(result) if not _bounded(n)), None)
        if bad is not None:
            self._fail(tally, name, frame, f"accepted a number outside the bound: {bad!s:.80}")
            return None
        if _refusal(result):
            tally.refused += 1
        else:
            tally.accepted += 1
        return result

    def _fail(self, tally: Tally, name: str, frame: object, error: str) -> None:
        tally.failures += 1
        self.failure_count += 1
        if len(self.failures) < self.keep:
            shown = frame if isinstance(frame, str) else repr(frame)
            self.failures.append(Failure(name, shown[:300], error, list(self.mutations)))


def _refusal(result: object) -> bool:
    return isinstance(result, list) and bool(result) and all(
        type(e).__name__ == "ProtocolError" for e in result)


def _bounded(number: Decimal | float | int) -> bool:
    if isinstance(number, Decimal):
        return bounds.in_bounds(number)
    if isinstance(number, float):
        return number == number and abs(number) < 1e61
    return abs(number) < _LIMIT


def numbers_in(value: Any, depth: int = 0) -> Iterator[Decimal | float | int]:
    """Every number in a parser's result: events, their fields, containers, raw results."""
    if depth > 200 or value is None or isinstance(value, str | bytes | bool | enum.Enum):
        return
    if isinstance(value, Decimal | float | int):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from numbers_in(k, depth + 1)
            yield from numbers_in(v, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            yield from numbers_in(v, depth + 1)
    elif dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            yield from numbers_in(getattr(value, f.name), depth + 1)


def _loaded(frame: str | bytes) -> list[object]:
    """The frame's JSON value, and its ``result`` when it is an envelope, for the parsers that
    take objects; nothing when it is not readable JSON."""
    try:
        value = bounds.loads(frame)
    except bounds.UnreadableJson:
        return []
    if isinstance(value, dict) and "result" in value:
        return [value, value["result"]]
    return [value]


EVERSTRIKE_PARSERS = (
    "parse_ws", "received_text", "parse_envelope", "parse_close_reply", "parse_active_positions",
    "parse_position", "parse_pairs", "parse_time", "parse_order", "parse_order_list",
    "parse_working_orders", "working_order", "match_close",
)
QFEX_PARSERS = (
    "parse", "parse_mds", "parse_refdata", "parse_positions_rest", "parse_problem",
    "received_text", "retry_after", "working_order", "working_stop", "removal_reason",
)


def everstrike(check: Checker, frame: str | bytes, status: int = 200) -> None:
    """``frame`` through every Everstrike parser."""
    name = "everstrike."
    typed = (ev.EverstrikeError,)
    check.call(name + "parse_ws", NEVER, frame, ev.parse_ws, frame, ACCOUNT)
    check.call(name + "received_text", NEVER, frame, ev.received_text, frame)
    results = _loaded(frame)
    result = check.call(name + "parse_envelope", typed, frame,
                        ev.parse_envelope, status, frame)
    if result is not None:
        results.append(result)
    for obj in results:
        check.call(name + "parse_close_reply", typed, obj,
                   ev.parse_close_reply, obj, ACCOUNT, PAIR)
        check.call(name + "parse_active_positions", typed, obj,
                   ev.parse_active_positions, obj, ACCOUNT)
        check.call(name + "parse_position", typed, obj,
                   ev.parse_position, obj, ACCOUNT, PAIR)
        check.call(name + "parse_pairs", typed, obj, ev.parse_pairs, obj)
        check.call(name + "parse_time", typed, obj, ev.parse_time, obj)
        check.call(name + "parse_order", typed, obj, ev.parse_order, obj, ACCOUNT, PAIR)
        check.call(name + "working_order", typed, obj,
                   ev.working_order, obj, ACCOUNT, PAIR, fresh=True)
        check.call(name + "parse_working_orders", typed, obj,
                   ev.parse_working_orders, obj, obj, ACCOUNT)
        orders = check.call(name + "parse_order_list", typed, obj,
                            ev.parse_order_list, obj, ACCOUNT)
        if orders:
            check.call(name + "match_close", NEVER, obj,
                       ev.match_close, orders, _CLOSE, 1_551_137_070_000)


def qfex(check: Checker, frame: str | bytes) -> None:
    """``frame`` through every QFEX parser."""
    name = "qfex."
    typed = (qf.QfexProtocolError,)
    events = check.call(name + "parse", NEVER, frame, qf.parse, frame, ACCOUNT) or []
    check.call(name + "parse_mds", NEVER, frame, qf.parse_mds, frame, ACCOUNT)
    check.call(name + "parse_refdata", typed, frame, qf.parse_refdata, frame)
    check.call(name + "parse_positions_rest", typed, frame,
               qf.parse_positions_rest, frame, ACCOUNT)
    check.call(name + "parse_problem", NEVER, frame, qf.parse_problem, frame)
    check.call(name + "received_text", NEVER, frame, qf.received_text, frame)
    for obj in _loaded(frame):
        err = obj.get("err") if isinstance(obj, dict) else None
        if isinstance(err, dict):
            check.call(name + "retry_after", NEVER, obj, qf.retry_after, err)
    for event in events:
        updates = event.orders if isinstance(event, qf.OrdersList) else (event,)
        for update in updates:
            if isinstance(update, OrderUpdate):
                check.call(name + "working_order", NEVER, update,
                           qf.working_order, update, reduce_only=True)
                check.call(name + "removal_reason", NEVER, update,
                           qf.removal_reason, update)
        if isinstance(event, StopOrder):
            check.call(name + "working_stop", NEVER, event,
                       qf.working_stop, event, ACCOUNT)


FEED: dict[str, Callable[[Checker, str | bytes], None]] = {
    "everstrike": everstrike,
    "qfex": qfex,
}
