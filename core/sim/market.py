"""A small, reproducible market that both simulated venues trade against.

Venue-neutral: it knows instruments, marks, accounts, positions, orders, fills and triggers.
The venue servers (``core.sim.qfex``, ``core.sim.everstrike``) translate their documented wire
formats onto it. It is deliberately independent of the client code in ``core.venues``.

Semantics (documented assumptions where the venues are silent):

* The book is the mark +/- ``half_spread`` ticks. A SELL fills at the bid, a BUY at the ask.
* Each order matching pass can take at most ``liquidity`` of a symbol, so a large IOC close
  leaves a residual that is cancelled.
* Reduce-only orders that would not reduce (flat, or same side as the position) are rejected;
  a reduce-only quantity above the position fills only the position and the rest is cancelled.
* Resting limits fill when the mark moves through them. Triggers fire when their reference
  price (mark, index or last) crosses the trigger price from the side it was on at placement.
"""

from __future__ import annotations

import itertools
import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

ZERO = Decimal(0)

BUY = "BUY"
SELL = "SELL"

# Order states in the market's own vocabulary; each venue server maps them to its wire.
ACTIVE = "ACTIVE"  # resting limit order
UNTRIGGERED = "UNTRIGGERED"  # resting trigger
FILLED = "FILLED"  # fully filled
PARTIAL = "PARTIAL"  # some filled, still working (GTC)
CANCELLED = "CANCELLED"  # cancelled; may have filled partly before (IOC residual)
REJECTED = "REJECTED"


@dataclass
class SimInstrument:
    symbol: str
    mark: Decimal
    tick: Decimal
    lot: Decimal
    min_qty: Decimal
    max_qty: Decimal
    min_price: Decimal
    max_price: Decimal
    liquidity: Decimal  # how much one matching pass can fill
    half_spread_ticks: int = 2
    volatility: float = 0.0008  # per step, relative
    index: Decimal = ZERO
    last: Decimal = ZERO

    def __post_init__(self) -> None:
        if not self.index:
            self.index = self.mark
        if not self.last:
            self.last = self.mark

    def q_price(self, p: Decimal) -> Decimal:
        return (p / self.tick).to_integral_value(ROUND_HALF_EVEN) * self.tick

    def q_qty(self, q: Decimal) -> Decimal:
        return (q / self.lot).to_integral_value(ROUND_DOWN) * self.lot

    @property
    def bid(self) -> Decimal:
        return self.mark - self.tick * self.half_spread_ticks

    @property
    def ask(self) -> Decimal:
        return self.mark + self.tick * self.half_spread_ticks

    def ref_price(self, event: str) -> Decimal:
        return {"INDEX_PRICE": self.index, "LAST_PRICE": self.last}.get(event, self.mark)


@dataclass
class SimPosition:
    account: str
    symbol: str
    size: Decimal = ZERO  # signed: > 0 long
    entry: Decimal = ZERO
    realised: Decimal = ZERO

    @property
    def side(self) -> str:
        return BUY if self.size > 0 else SELL


@dataclass
class SimOrder:
    id: str
    account: str
    symbol: str
    side: str
    order_type: str  # MARKET, LIMIT, STOP_LOSS, TAKE_PROFIT
    tif: str  # GTC, IOC, FOK
    quantity: Decimal
    price: Decimal  # limit price; 0 for market
    reduce_only: bool = True
    client_order_id: str = ""
    trigger_price: Decimal | None = None
    trigger_event: str | None = None
    trigger_above: bool = False
    close_on_trigger: bool = False
    is_close: bool = False  # a close_position / auth/close order (sized at fill time if full)
    full_close: bool = False
    filled: Decimal = ZERO
    status: str = ACTIVE
    message: str = ""
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    fills: list[SimFill] = field(default_factory=list)

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled

    @property
    def is_trigger(self) -> bool:
        return self.trigger_price is not None


@dataclass
class SimFill:
    trade_id: str
    order_id: str
    account: str
    symbol: str
    side: str
    price: Decimal
    quantity: Decimal
    fee: Decimal
    realised: Decimal
    time: float = field(default_factory=time.time)


# Events the market publishes to the venue servers.
@dataclass(frozen=True)
class OrderChanged:
    order: SimOrder
    status: str  # the status at the moment of the event
    kind: str  # "added", "partial", "filled", "cancelled", "rejected", "trigger_added",
    #           "triggered", "trigger_failed", "trigger_cancelled"


@dataclass(frozen=True)
class FillHappened:
    fill: SimFill
    order: SimOrder


@dataclass(frozen=True)
class PositionChanged:
    position: SimPosition


@dataclass(frozen=True)
class MarksMoved:
    symbols: tuple[str, ...]


MarketEvent = OrderChanged | FillHappened | PositionChanged | MarksMoved
Listener = Callable[[MarketEvent], None]


class Rejected(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason  # machine-readable, e.g. "NO_POSITION", "WOULD_INCREASE"


class Market:
    """One venue's matching engine and ledger. Single-threaded: call it from one event loop."""

    fee_rate = Decimal("0.0002")

    def __init__(
        self,
        instruments: Iterable[SimInstrument],
        *,
        seed: int = 7,
        id_factory: Callable[[], str] = lambda: str(uuid.uuid4()),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.instruments = {i.symbol: i for i in instruments}
        self.rng = random.Random(seed)
        self.positions: dict[tuple[str, str], SimPosition] = {}
        self.orders: dict[str, SimOrder] = {}
        self.listeners: list[Listener] = []
        self._new_id = id_factory
        self._trade_ids = itertools.count(1)
        self.clock = clock
        # Test knob: (account, symbol) pairs whose closes are acknowledged but never reduce the
        # position, to exercise "verified flat" mismatch handling.
        self.stuck: set[tuple[str, str]] = set()
        # Fault hook: asked as a trigger fires; a returned text fails the trigger with that
        # message (as a venue does on, e.g., insufficient balance) instead of executing it.
        self.trigger_veto: Callable[[SimOrder], str | None] | None = None

    # ----------------------------------------------------------------- setup and queries
    def set_position(self, account: str, symbol: str, size: Decimal, entry: Decimal) -> None:
        pos = self.positions.setdefault((account, symbol), SimPosition(account, symbol))
        pos.size = size
        pos.entry = entry
        self._emit(PositionChanged(pos))

    def position(self, account: str, symbol: str) -> SimPosition:
        return self.positions.get((account, symbol)) or SimPosition(account, symbol)

    def account_positions(self, account: str, *, include_flat: bool = False) -> list[SimPosition]:
        return [
            p
            for (acc, _), p in sorted(self.positions.items())
            if acc == account and (include_flat or p.size != 0)
        ]

    def open_orders(self, account: str, symbol: str | None = None) -> list[SimOrder]:
        return [
            o
            for o in self.orders.values()
            if o.account == account
            and o.status in (ACTIVE, PARTIAL, UNTRIGGERED)
            and (symbol is None or o.symbol == symbol)
        ]

    def unrealised(self, pos: SimPosition) -> Decimal:
        inst = self.instruments[pos.symbol]
        return (inst.mark - pos.entry) * pos.size if pos.size else ZERO

    def subscribe(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def _emit(self, event: MarketEvent) -> None:
        for listener in list(self.listeners):
            listener(event)

    # ----------------------------------------------------------------- market moves
    def step(self) -> None:
        """Move every mark one seeded random-walk step, then match and trigger."""
        for inst in self.instruments.values():
            shock = Decimal(str(round(self.rng.gauss(0.0, inst.volatility), 8)))
            inst.mark = max(inst.tick, inst.q_price(inst.mark * (1 + shock)))
            drift = Decimal(str(round(self.rng.gauss(0.0, inst.volatility / 4), 8)))
            inst.index = max(inst.tick, inst.q_price(inst.mark * (1 + drift)))
            inst.last = inst.q_price(inst.mark + inst.tick * self.rng.randint(-2, 2))
        self._emit(MarksMoved(tuple(self.instruments)))
        self.match_resting()

    def set_mark(self, symbol: str, mark: Decimal, *, index: Decimal | None = None,
                 last: Decimal | None = None) -> None:
        inst = self.instruments[symbol]
        inst.mark = mark
        inst.index = index if index is not None else mark
        inst.last = last if last is not None else mark
        self._emit(MarksMoved((symbol,)))
        self.match_resting()

    def match_resting(self) -> None:
        for order in list(self.orders.values()):
            if order.status == UNTRIGGERED:
                self._maybe_trigger(order)
            elif order.status in (ACTIVE, PARTIAL) and order.order_type == "LIMIT":
                self._match(order)

    # ----------------------------------------------------------------- order entry
    def submit(
        self,
        account: str,
        symbol: str,
        side: str,
        order_type: str,
        tif: str,
        quantity: Decimal | None,
        price: Decimal = ZERO,
        *,
        reduce_only: bool = True,
        client_order_id: str = "",
        trigger_price: Decimal | None = None,
        trigger_event: str | None = None,
        close_on_trigger: bool = False,
        is_close: bool = False,
    ) -> SimOrder:
        """Validate and accept an order, then match it. ``quantity=None`` sizes a close to the
        whole position at the moment it executes.

        Raises ``Rejected`` for anything the venue would refuse up front.
        """
        qty = self.check(account, symbol, side, order_type, quantity, price,
                         reduce_only=reduce_only, trigger_price=trigger_price, is_close=is_close)
        full = quantity is None
        order = SimOrder(
            id=self._new_id(),
            account=account,
            symbol=symbol,
            side=side,
            order_type=order_type,
            tif=tif,
            quantity=qty,
            price=price,
            reduce_only=reduce_only or is_close,
            client_order_id=client_order_id,
            trigger_price=trigger_price,
            trigger_event=trigger_event,
            close_on_trigger=close_on_trigger,
            is_close=is_close,
            full_close=full,
        )
        self.orders[order.id] = order
        if trigger_price is not None:
            ref = self.instruments[symbol].ref_price(trigger_event or "MARK_PRICE")
            order.trigger_above = trigger_price > ref
            order.status = UNTRIGGERED
            self._emit(OrderChanged(order, UNTRIGGERED, "trigger_added"))
            return order
        order.status = ACTIVE
        self._emit(OrderChanged(order, ACTIVE, "added"))
        self._match(order)
        return order

    def check(
        self,
        account: str,
        symbol: str,
        side: str,
        order_type: str,
        quantity: Decimal | None,
        price: Decimal = ZERO,
        *,
        reduce_only: bool = True,
        trigger_price: Decimal | None = None,
        is_close: bool = False,
    ) -> Decimal:
        """The quantity ``submit`` would accept for this order, or ``Rejected``; changes
        nothing, so an all-or-nothing batch can check every order first."""
        inst = self.instruments.get(symbol)
        if inst is None:
            raise Rejected("BAD_SYMBOL", f"unknown symbol {symbol}")
        pos = self.position(account, symbol)
        full = quantity is None
        if reduce_only or is_close:
            if pos.size == 0:
                raise Rejected("NO_POSITION", f"no open position in {symbol}")
            if (pos.size > 0 and side == BUY) or (pos.size < 0 and side == SELL):
                raise Rejected("WOULD_INCREASE", "reduce-only order would increase the position")
        qty = abs(pos.size) if quantity is None else quantity
        if qty <= 0:
            raise Rejected("BAD_QUANTITY", "quantity must be positive")
        if qty % inst.lot != 0:
            raise Rejected("LOT", f"quantity {qty} is not a multiple of the lot {inst.lot}")
        if trigger_price is None and not full and not (inst.min_qty <= qty <= inst.max_qty):
            raise Rejected("QTY_RANGE", f"quantity {qty} outside [{inst.min_qty}, {inst.max_qty}]")
        for p in (price, trigger_price):
            if p is not None and p != 0:
                if p % inst.tick != 0:
                    raise Rejected("TICK", f"price {p} is not a multiple of the tick {inst.tick}")
                if not inst.min_price <= p <= inst.max_price:
                    raise Rejected("PRICE_RANGE", f"price {p} outside the allowed band")
        if order_type == "LIMIT" and price <= 0:
            raise Rejected("BAD_PRICE", "a limit order needs a positive price")
        return qty

    def cancel(self, account: str, order_id: str) -> SimOrder:
        order = self.orders.get(order_id)
        if order is None or order.account != account:
            raise Rejected("NO_SUCH_ORDER", f"no order {order_id}")
        if order.status not in (ACTIVE, PARTIAL, UNTRIGGERED):
            raise Rejected("NO_SUCH_ORDER", f"order {order_id} is not open")
        was_trigger = order.status == UNTRIGGERED
        order.status = CANCELLED
        order.updated = self.clock()
        self._emit(OrderChanged(order, CANCELLED, "trigger_cancelled" if was_trigger else
                                "cancelled"))
        return order

    # ----------------------------------------------------------------- matching
    def _maybe_trigger(self, order: SimOrder) -> None:
        inst = self.instruments[order.symbol]
        assert order.trigger_price is not None
        ref = inst.ref_price(order.trigger_event or "MARK_PRICE")
        hit = ref >= order.trigger_price if order.trigger_above else ref <= order.trigger_price
        if not hit:
            return
        veto = self.trigger_veto(order) if self.trigger_veto is not None else None
        if veto is not None:
            order.status = REJECTED
            order.message = veto
            order.updated = self.clock()
            self._emit(OrderChanged(order, REJECTED, "trigger_failed"))
            return
        pos = self.position(order.account, order.symbol)
        reduces = (pos.size > 0 and order.side == SELL) or (pos.size < 0 and order.side == BUY)
        if not reduces:
            order.status = REJECTED
            order.message = "Order was rejected: no position left to reduce"
            order.updated = self.clock()
            self._emit(OrderChanged(order, REJECTED, "trigger_failed"))
            return
        if order.close_on_trigger:
            for other in self.open_orders(order.account, order.symbol):
                if other is not order and other.reduce_only and other.status != UNTRIGGERED:
                    self.cancel(order.account, other.id)
        if order.full_close:
            order.quantity = abs(pos.size)
        order.order_type = "LIMIT" if order.price > 0 else "MARKET"
        order.tif = "GTC" if order.price > 0 else "IOC"
        order.status = ACTIVE
        order.updated = self.clock()
        self._emit(OrderChanged(order, ACTIVE, "triggered"))
        self._match(order)

    def _match(self, order: SimOrder) -> None:
        inst = self.instruments[order.symbol]
        pos = self.position(order.account, order.symbol)
        price = inst.bid if order.side == SELL else inst.ask
        marketable = order.order_type == "MARKET" or (
            order.price >= price if order.side == BUY else order.price <= price
        )
        if order.full_close and order.filled == 0 and pos.size != 0:
            # A full close is sized when it executes; with the position already gone it keeps
            # its size and is cancelled below instead of "filling" zero.
            order.quantity = abs(pos.size)
        qty = min(order.remaining, inst.liquidity) if marketable else ZERO
        if order.reduce_only:
            qty = min(qty, abs(pos.size))
        if (order.account, order.symbol) in self.stuck:
            qty = ZERO
        if order.tif == "FOK" and qty < order.remaining:
            qty = ZERO
        if qty > 0:
            self._fill(order, pos, inst, price, qty)
        if order.remaining == 0:
            order.status = FILLED
            order.updated = self.clock()
            self._emit(OrderChanged(order, FILLED, "filled"))
        elif order.tif in ("IOC", "FOK") or order.order_type == "MARKET":
            order.status = CANCELLED
            order.updated = self.clock()
            if order.reduce_only and abs(self.position(order.account, order.symbol).size) == 0:
                order.message = "remaining quantity cancelled: position is flat"
            else:
                order.message = "remaining quantity cancelled (IOC)"
            self._emit(OrderChanged(order, CANCELLED, "cancelled"))
        elif qty > 0:
            order.status = PARTIAL
            order.updated = self.clock()
            self._emit(OrderChanged(order, PARTIAL, "partial"))
        if order.reduce_only and pos.size == 0 and order.status in (ACTIVE, PARTIAL):
            # Nothing left to reduce: a resting reduce-only order dies with the position.
            order.status = CANCELLED
            order.message = "reduce-only order cancelled: position is flat"
            order.updated = self.clock()
            self._emit(OrderChanged(order, CANCELLED, "cancelled"))

    def _fill(self, order: SimOrder, pos: SimPosition, inst: SimInstrument, price: Decimal,
              qty: Decimal) -> None:
        signed = qty if order.side == BUY else -qty
        realised = ZERO
        if pos.size and (pos.size > 0) != (signed > 0):
            closing = min(abs(signed), abs(pos.size))
            realised = (price - pos.entry) * closing * (1 if pos.size > 0 else -1)
        new_size = pos.size + signed
        if pos.size == 0 or (pos.size > 0) == (signed > 0):
            total = abs(pos.size) + abs(signed)
            pos.entry = inst.q_price((pos.entry * abs(pos.size) + price * abs(signed)) / total)
        elif new_size != 0 and (new_size > 0) != (pos.size > 0):
            pos.entry = price
        pos.size = new_size
        if pos.size == 0:
            pos.entry = ZERO
        pos.realised += realised
        inst.last = price
        fee = (price * qty * self.fee_rate).quantize(Decimal("0.00000001"))
        fill = SimFill(
            trade_id=str(next(self._trade_ids)),
            order_id=order.id,
            account=order.account,
            symbol=order.symbol,
            side=order.side,
            price=price,
            quantity=qty,
            fee=fee,
            realised=realised,
            time=self.clock(),
        )
        order.filled += qty
        order.fills.append(fill)
        order.updated = fill.time
        self._emit(FillHappened(fill, order))
        self._emit(PositionChanged(pos))
