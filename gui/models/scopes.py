"""Which working orders a "Cancel all" covers: every one, one venue's, one account's, or one
position's. No Qt: the choices, their words and each order's line are pure, and tested so."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from core.model import PositionKey, Venue, WorkingKind, WorkingOrder
from core.numbers import UNKNOWN, NumberFormat

__all__ = ["ORDER_FIELDS", "Scope", "choice_text", "order_fields", "scopes_for"]


@dataclass(frozen=True, slots=True)
class Scope:
    """A set of working orders, named by what they share (nothing, for every order)."""

    venue: Venue | None = None
    account: str | None = None
    symbol: str | None = None

    @classmethod
    def of_position(cls, key: PositionKey) -> Scope:
        return cls(venue=key.venue, account=key.account, symbol=key.symbol)

    def matches(self, order: WorkingOrder) -> bool:
        return ((self.venue is None or order.venue is self.venue)
                and (self.account is None or order.account == self.account)
                and (self.symbol is None or order.symbol == self.symbol))

    def pick(self, orders: Iterable[WorkingOrder]) -> list[WorkingOrder]:
        return [o for o in orders if self.matches(o)]

    @property
    def label(self) -> str:
        """What the menu and the question call it: "every account", "account Alpha", ..."""
        if self.symbol is not None:
            return f"{self.symbol} on {self.account}"
        if self.account is not None:
            return f"account {self.account}"
        if self.venue is not None:
            return f"every {self.venue.label} account"
        return "every account"


def scopes_for(orders: Iterable[WorkingOrder]) -> list[tuple[Scope, int]]:
    """The Cancel all choices with their counts: everything, then each venue, then each
    account (by name). A venue or account with no working order is not offered."""
    venues: Counter[Venue] = Counter()
    accounts: Counter[tuple[str, Venue]] = Counter()
    total = 0
    for o in orders:
        total += 1
        venues[o.venue] += 1
        accounts[(o.account, o.venue)] += 1
    if not total:
        return []
    found: list[tuple[Scope, int]] = [(Scope(), total)]
    found += [(Scope(venue=v), n) for v, n in sorted(venues.items(), key=lambda i: i[0].label)]
    found += [(Scope(venue=v, account=a), n)
              for (a, v), n in sorted(accounts.items(), key=lambda i: i[0][0].casefold())]
    return found


def choice_text(scope: Scope, n: int) -> str:
    """A Cancel all menu entry: "Every account (3)…", "Account Alpha (2)…"."""
    label = scope.label
    return f"{label[0].upper()}{label[1:]} ({n})…"


ORDER_FIELDS = ("Account", "Symbol", "Side", "Size", "Price", "Type")
_KINDS = {WorkingKind.LIMIT: "Limit", WorkingKind.TRIGGER: "Trigger"}


def order_fields(order: WorkingOrder, fmt: NumberFormat = UNKNOWN) -> tuple[str, ...]:
    """One order as the confirmation lists it (``ORDER_FIELDS``), numbers to its instrument:
    the size still resting, the limit price or the trigger (and what it watches)."""
    size = order.remaining if order.remaining is not None else order.quantity
    if order.kind is WorkingKind.TRIGGER and order.trigger_price is not None:
        event = f" {order.trigger_event.label}" if order.trigger_event is not None else ""
        price = f"trigger {fmt.price(order.trigger_price)}{event}"
        if order.price is not None:
            price += f", limit {fmt.price(order.price)}"
    else:
        price = fmt.price(order.price) if order.price is not None else "Market"
    kind = _KINDS.get(order.kind, order.kind.value)
    kind_text = f"{kind} ({order.order_type})" if order.order_type else kind
    return (
        order.account,
        order.symbol,
        order.side.value.capitalize() if order.side is not None else "",
        fmt.quantity(size) or "All",
        price,
        kind_text,
    )
