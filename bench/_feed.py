"""A venue with no wire for the benchmarks: sessions that deliver typed events through the
desk's sink exactly as a venue session does, and a feeder that plays a venue's traffic.

Only the stable surfaces are used (``VenueSession``, the model's events, ``Desk``), so the same
benchmark runs against the code before and after a change.

What a venue does, read from the simulator (``core/sim/qfex/positions.py``): QFEX pushes every
open position of an account once a second, one frame per account, each position a ``Position``
event with the venue's mark and P&L. The feeder does exactly that, each account's pulse at its
own offset in the second (accounts are separate connections). Order updates arrive as a steady
stream; when the loop is late, those that came due meanwhile are delivered in a burst, as frames
waiting in a socket's buffer would be.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from core.model import (
    Capabilities,
    ConnectionEvent,
    ConnectionState,
    Environment,
    Instrument,
    OrderSide,
    OrderStatus,
    OrderUpdate,
    Position,
    PositionKey,
    PositionSide,
    PositionsSnapshot,
    SessionHealth,
    Venue,
    WorkingOrdersSnapshot,
)
from core.venue import (
    AccountConfig,
    Credentials,
    EventSink,
    PreparedCancel,
    PreparedClose,
    Restamped,
    SessionClosed,
    VenueSession,
)

__all__ = ["BenchSession", "Book", "Feeder", "book", "load_accounts"]

QFEX, EVERSTRIKE = Venue("qfex"), Venue("everstrike")
CENT = Decimal("0.01")
# Closes never go through a load session: these reasons are what a refused close would say.
_NO_WIRE = "benchmark load account: nothing is sent"


class BenchSession(VenueSession):
    """A connected account whose events come from the benchmark, not from a socket.

    ``start`` delivers what a venue session delivers on connect: the positions snapshot, the
    working orders (none) and then "connected". ``health`` vouches for the rows as long as the
    feeder keeps delivering (``heard``), as a live connection's frames would.
    """

    capabilities = Capabilities(partial_close=True)

    def __init__(self, account: AccountConfig, credentials: Credentials, sink: EventSink,
                 initial: Sequence[Position] = ()) -> None:
        super().__init__(account, credentials, sink)
        self.venue = account.venue
        self.initial = tuple(initial)
        self._connected = False
        self.last_message_at = time.monotonic()

    def heard(self) -> None:
        self.last_message_at = time.monotonic()

    async def start(self) -> None:
        self._connected = True
        self.heard()
        self.sink(PositionsSnapshot(self.venue, self.name, self.initial))
        self.sink(WorkingOrdersSnapshot(self.venue, self.name, ()))
        self.sink(ConnectionEvent(self.venue, self.name, ConnectionState.CONNECTED))

    async def stop(self) -> None:
        self._connected = False

    def prepare_close(self, request: Any) -> PreparedClose:
        text = f"CLOSE {request.key.symbol}"
        return PreparedClose(redacted=text, wire=text.encode(), request=request)

    async def send(self, prepared: PreparedClose, *, restamped: Restamped | None = None) -> None:
        raise SessionClosed(_NO_WIRE)

    def prepare_cancel(self, order: Any) -> PreparedCancel:
        text = f"CANCEL {order.order_id}"
        return PreparedCancel(redacted=text, wire=text.encode(), order=order)

    async def cancel(self, prepared: PreparedCancel, *, restamped: Restamped | None = None) -> None:
        raise SessionClosed(_NO_WIRE)

    async def refresh_orders(self) -> None:
        self.sink(WorkingOrdersSnapshot(self.venue, self.name, ()))

    def health(self) -> SessionHealth:
        return SessionHealth(connected=self._connected, last_message_at=self.last_message_at,
                             keepalive_s=5.0)

    async def refresh_positions(self) -> None:
        self.sink(PositionsSnapshot(self.venue, self.name, self.initial))

    @property
    def instruments(self) -> Mapping[str, Instrument]:
        return {}

    @property
    def connected(self) -> bool:
        return self._connected


# A method the session contract gains later must not stop the benchmark running against the
# code before that change: the benchmark never calls it.
BenchSession.__abstractmethods__ = frozenset()


@dataclass
class Book:
    """The load: accounts and their positions, with marks that move once a second."""

    accounts: list[AccountConfig]
    rows: dict[str, list[Position]]  # account -> its positions, in feed order
    marks: dict[str, Decimal]  # symbol -> mark now
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.rows.values())

    def all_keys(self) -> list[PositionKey]:
        return [p.key for rows in self.rows.values() for p in rows]

    def step_marks(self) -> None:
        """One random-walk step per symbol (about 0.1 %), as a second of market would."""
        for symbol, mark in self.marks.items():
            move = Decimal(self.rng.randint(-10, 10)) / 10_000
            self.marks[symbol] = max(CENT, (mark * (1 + move)).quantize(CENT))

    def repriced(self, account: str) -> list[Position]:
        """The account's positions at today's marks, as the venue's 1 s positions pulse."""
        out = []
        marks = self.marks
        for pos in self.rows[account]:
            mark = marks[pos.key.symbol]
            entry = pos.entry_price if pos.entry_price is not None else mark
            out.append(Position(pos.key, pos.side, pos.quantity, entry, mark,
                                (mark - entry) * pos.signed_quantity))
        return out


def load_accounts(count: int, prefix: str = "client") -> list[AccountConfig]:
    """``count`` accounts, alternately on QFEX and Everstrike, all DEMO."""
    return [AccountConfig(name=f"{prefix}-{i:03d}", venue=QFEX if i % 2 == 0 else EVERSTRIKE,
                          environment=Environment.DEMO, public_key=f"bench-{i}")
            for i in range(count)]


def book(rows: int, *, per_account: int = 500, symbols: int = 500, seed: int = 7,
         prefix: str = "client") -> Book:
    """``rows`` positions over ``ceil(rows / per_account)`` accounts; every account holds the
    first ``per_account`` of ``symbols`` shared symbols (a desk's clients trade the same names).

    Each row's P&L is distinct (entries differ by row), so a sort by P&L has one right answer.
    """
    n_accounts = max(1, -(-rows // per_account))
    accounts = load_accounts(n_accounts, prefix)
    rng = random.Random(seed)
    marks = {f"S{i:05d}-USD": Decimal(rng.randint(1_000, 500_000)) / 100 for i in range(symbols)}
    names = list(marks)
    out: dict[str, list[Position]] = {}
    made = 0
    serial = itertools.count(1)
    for account in accounts:
        take = min(per_account, rows - made)
        positions = []
        for symbol in names[:take]:
            n = next(serial)
            mark = marks[symbol]
            side = PositionSide.LONG if n % 3 else PositionSide.SHORT
            qty = Decimal(1 + n % 37)
            # Entries spread by row so no two rows share a P&L (the sort check needs that).
            entry = (mark * (1 + Decimal(rng.randint(-500, 500)) / 10_000)).quantize(CENT) \
                + Decimal(n) / 1_000_000
            pnl = (mark - entry) * (qty if side is PositionSide.LONG else -qty)
            positions.append(Position(PositionKey(account.name, account.venue, symbol), side,
                                      qty, entry, mark, pnl))
        out[account.name] = positions
        made += take
    return Book(accounts, out, marks, rng)


def order_updates(accounts: Sequence[AccountConfig], symbols: Sequence[str],
                  seed: int = 11) -> Iterable[OrderUpdate]:
    """An endless stream of order updates as a busy desk's venues send them: orders going
    ACK -> PARTIAL -> FILLED, each update carrying the venue's own status text. None belongs to
    a close of ours, so each is journaled and logged, never matched."""
    rng = random.Random(seed)
    steps = ((OrderStatus.ACK, "ACK", False), (OrderStatus.PARTIAL, "PARTIALLY_FILLED", False),
             (OrderStatus.FILLED, "FILLED", True))
    for n in itertools.count():
        account = accounts[n % len(accounts)]
        symbol = symbols[rng.randrange(len(symbols))]
        order = n // 3
        status, raw, final = steps[n % 3]
        qty = Decimal(1 + order % 40)
        filled = (Decimal(0), qty / 2, qty)[n % 3]
        yield OrderUpdate(account.venue, account.name, symbol, status, raw, final,
                          order_id=f"o-{order}", client_order_id=f"ext-{order:09d}",
                          side=OrderSide.SELL if order % 2 else OrderSide.BUY,
                          order_type="LIMIT", time_in_force="GTC", quantity=qty,
                          remaining=qty - filled, filled=filled,
                          price=Decimal(100 + order % 900) + CENT)


@dataclass
class FeedCounts:
    """What the venue sent (on schedule) and what reached the desk's sink, per kind."""

    orders_due: int = 0
    orders_delivered: int = 0
    positions_due: int = 0
    positions_delivered: int = 0


class Feeder:
    """Plays the venue: each account's positions pulse once a second at its offset, and
    ``order_rate`` order updates a second, through each account's session sink.

    It runs as callbacks on the event loop, like a session's socket reader. ``due`` counts what
    the venue sent by now; ``delivered`` what reached the sink. ``latest`` remembers, for each
    row, the last two marks delivered and when (to check what the table shows).
    """

    TICK = 0.002  # how often the reader looks for frames that came due
    CHUNK = 100  # updates handed over per loop turn when a backlog is drained

    def __init__(self, book_: Book, sessions: Mapping[str, BenchSession], *,
                 order_rate: float = 0.0, reprice: bool = True,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.book = book_
        self.sessions = sessions
        self.order_rate = order_rate
        self.reprice = reprice
        self.clock = clock
        self.counts = FeedCounts()
        self.latest: dict[PositionKey, tuple[tuple[Decimal, float], ...]] = {}
        symbols = list(book_.marks)
        self._updates = iter(order_updates(book_.accounts, symbols))
        self._accounts = [a.name for a in book_.accounts]
        self._started = 0.0
        self._until: float | None = None
        self._pulses_done = 0  # account pulses delivered, over all seconds
        self._handle: asyncio.TimerHandle | asyncio.Handle | None = None
        self._stepped_second = 0
        sizes = [len(book_.rows[a]) for a in self._accounts]
        self._prefix = list(itertools.accumulate(sizes, initial=0))  # rows in the first k pulses
        self.running = False

    def start(self) -> None:
        self._started = self.clock()
        self.running = True
        self._schedule(0.0)

    def stop(self) -> None:
        self.running = False
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _schedule(self, delay: float) -> None:
        loop = asyncio.get_running_loop()
        self._handle = loop.call_later(delay, self._tick) if delay else loop.call_soon(self._tick)

    def _pulses_due(self, elapsed: float) -> int:
        n = len(self._accounts)
        return 0 if not self.reprice or not n else int(elapsed * n) + 1

    def _tick(self) -> None:
        """Hand over what came due, oldest first (a socket's frames arrive in order), at most
        ``CHUNK`` updates per loop turn; come back at once while behind."""
        if not self.running:
            return
        elapsed = self.clock() - self._started
        c = self.counts
        n = len(self._accounts)
        c.orders_due = due_orders = int(elapsed * self.order_rate)
        due_pulses = self._pulses_due(elapsed)
        if n:
            rounds, part = divmod(due_pulses, n)
            c.positions_due = rounds * self._prefix[-1] + self._prefix[part]
        budget = self.CHUNK
        inf = float("inf")
        while budget > 0:
            order_at = c.orders_delivered / self.order_rate \
                if c.orders_delivered < due_orders else inf
            pulse_at = self._pulses_done / n if self._pulses_done < due_pulses else inf
            if order_at == pulse_at == inf:
                break
            if order_at <= pulse_at:
                self._order()
                budget -= 1
            else:
                budget -= self._pulse()
        behind = c.orders_delivered < due_orders or self._pulses_done < due_pulses
        self._schedule(0.0 if behind else self.TICK)

    def _order(self) -> None:
        update = next(self._updates)
        session = self.sessions[update.account]
        session.heard()
        session.sink(update)
        self.counts.orders_delivered += 1

    def _pulse(self) -> int:
        """One account's positions pulse; returns its cost in budget units."""
        second, index = divmod(self._pulses_done, len(self._accounts))
        if second >= self._stepped_second:  # a new second of market: marks move
            self.book.step_marks()
            self._stepped_second = second + 1
        name = self._accounts[index]
        session = self.sessions[name]
        now = self.clock()
        session.heard()
        latest = self.latest
        for pos in self.book.repriced(name):
            session.sink(pos)
            assert pos.mark_price is not None
            latest[pos.key] = ((pos.mark_price, now), *latest.get(pos.key, ())[:1])
        rows = len(self.book.rows[name])
        self.counts.positions_delivered += rows
        self._pulses_done += 1
        return max(1, rows // 10)
