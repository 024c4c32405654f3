"""Flatten, step 1 and 2: build a plan from the live book, and confirm it.

``build_plan(desk, scope, reason=...)`` lists every position it would close, with the
mechanism, the exact redacted request and the resting orders it cancels first. The plan has an
id (journaled as a ``flatten_plan`` record) that every journal record of its execution carries
in ``reason`` ("flatten <plan id>: <reason>"); order updates and fills link to it through their
``intent_id``. Building sends nothing.

Confirmation: ``plan.requires_typed_confirmation`` is True for an "everything" scope or when any
position is on a LIVE account; the user must then type ``plan.confirmation_word`` exactly
(``plan.confirms(text)``): ``"FLATTEN LIVE"`` when a LIVE account is in the plan, otherwise
``"FLATTEN"``. Other plans take one ordinary confirmation.
"""

from __future__ import annotations

import enum
import json
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from core.desk import Desk
from core.flatten.cancels import blocks_close
from core.model import (
    CloseRequest,
    Environment,
    Position,
    PositionKey,
    PositionSide,
    Venue,
    WorkingOrder,
)
from core.venue import AccountConfig, CancelRejected, CloseRejected
from core.venues import UnknownVenue, all_venues, venue_info

__all__ = [
    "CONFIRM_WORD",
    "CONFIRM_WORD_LIVE",
    "FlattenPlan",
    "FlattenScope",
    "PlanAlreadyRun",
    "PlanError",
    "PlanItem",
    "ScopeKind",
    "account_concurrency",
    "build_plan",
    "default_concurrency",
]

CONFIRM_WORD = "FLATTEN"
CONFIRM_WORD_LIVE = "FLATTEN LIVE"

# ---------------------------------------------------------------------------------- per venue
# The per-venue facts flatten needs come from each venue's VenueInfo (its own folder).


def default_concurrency() -> Mapping[Venue, int]:
    """Closes in flight at once per venue, from each venue's ``flatten_concurrency``."""
    return {i.id: i.flatten_concurrency for i in all_venues() if i.flatten_concurrency}


def account_concurrency(account: AccountConfig) -> int | None:
    """Closes in flight at once on this account, from its venue's ``account_concurrency`` and
    the account's options (None: no per-account cap). An option the venue refuses counts as 1:
    that account's session refused it too, so nothing can be sent there anyway."""
    try:
        read = venue_info(account.venue).account_concurrency
    except UnknownVenue:
        return None
    if read is None:
        return None
    try:
        return read(account)
    except ValueError:
        return 1


def _mechanism(venue: Venue) -> str:
    """How the venue closes a whole position at market, in words for the plan."""
    try:
        return venue_info(venue).close_mechanism
    except UnknownVenue:
        return f"{venue.label} full close at market"


class PlanError(ValueError):
    """The scope cannot be planned (unknown account, missing argument); nothing was sent."""


class PlanAlreadyRun(RuntimeError):
    """A plan runs once: its requests carry client order ids that must never be sent twice."""


# ---------------------------------------------------------------------------------- scope
class ScopeKind(enum.StrEnum):
    SELECTED = "selected"
    ACCOUNT = "account"
    VENUE = "venue"
    EVERYTHING = "everything"


@dataclass(frozen=True, slots=True)
class FlattenScope:
    """What to flatten, and the filters on it. Build one with the class methods."""

    kind: ScopeKind
    keys: frozenset[PositionKey] = frozenset()
    account: str | None = None
    venue: Venue | None = None
    side: PositionSide | None = None
    symbol: str | None = None
    losing_only: bool = False  # unrealised P&L < 0; a position with unknown P&L is left out

    def __post_init__(self) -> None:
        if self.kind is ScopeKind.SELECTED and not self.keys:
            raise PlanError("select at least one position to flatten")
        if self.kind is ScopeKind.ACCOUNT and not self.account:
            raise PlanError("name the account to flatten")
        if self.kind is ScopeKind.VENUE and self.venue is None:
            raise PlanError("name the venue to flatten")

    @classmethod
    def selected(cls, keys: Iterable[PositionKey], *, side: PositionSide | None = None,
                 symbol: str | None = None, losing_only: bool = False) -> FlattenScope:
        return cls(ScopeKind.SELECTED, keys=frozenset(keys), side=side, symbol=symbol,
                   losing_only=losing_only)

    @classmethod
    def for_account(cls, account: str, *, side: PositionSide | None = None,
                    symbol: str | None = None, losing_only: bool = False) -> FlattenScope:
        return cls(ScopeKind.ACCOUNT, account=account, side=side, symbol=symbol,
                   losing_only=losing_only)

    @classmethod
    def for_venue(cls, venue: Venue, *, side: PositionSide | None = None,
                  symbol: str | None = None, losing_only: bool = False) -> FlattenScope:
        return cls(ScopeKind.VENUE, venue=venue, side=side, symbol=symbol,
                   losing_only=losing_only)

    @classmethod
    def everything(cls, *, side: PositionSide | None = None, symbol: str | None = None,
                   losing_only: bool = False) -> FlattenScope:
        return cls(ScopeKind.EVERYTHING, side=side, symbol=symbol, losing_only=losing_only)

    def covers(self, key: PositionKey) -> bool:
        """Whether the key is in the scope before filters."""
        if self.kind is ScopeKind.SELECTED:
            return key in self.keys
        if self.kind is ScopeKind.ACCOUNT:
            return key.account == self.account
        if self.kind is ScopeKind.VENUE:
            return key.venue is self.venue
        return True

    def matches(self, position: Position) -> bool:
        if not self.covers(position.key):
            return False
        if self.side is not None and position.side is not self.side:
            return False
        if self.symbol is not None and position.key.symbol != self.symbol:
            return False
        if self.losing_only:
            pnl = position.unrealised_pnl
            return pnl is not None and pnl < 0
        return True

    def describe(self) -> str:
        if self.kind is ScopeKind.SELECTED:
            n = len(self.keys)
            what = f"{n} selected position{'s' if n != 1 else ''}"
        elif self.kind is ScopeKind.ACCOUNT:
            what = f"account {self.account}"
        elif self.kind is ScopeKind.VENUE:
            assert self.venue is not None
            what = f"venue {self.venue.label}"
        else:
            what = "everything"
        filters = []
        if self.side is not None:
            filters.append(f"{self.side.value.lower()} only")
        if self.symbol is not None:
            filters.append(f"symbol {self.symbol}")
        if self.losing_only:
            filters.append("losing only")
        return ", ".join([what, *filters])

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "keys": sorted(str(k) for k in self.keys),
            "account": self.account,
            "venue": None if self.venue is None else self.venue.value,
            "side": None if self.side is None else self.side.value,
            "symbol": self.symbol,
            "losing_only": self.losing_only,
            "description": self.describe(),
        }


# ---------------------------------------------------------------------------------- plan
@dataclass(frozen=True, slots=True)
class PlanItem:
    """One position the plan closes, as it was when planned."""

    position: Position
    environment: Environment
    mechanism: str
    request: CloseRequest  # full close at market; reason carries the plan id
    preview: str  # the exact request, redacted
    cancels: tuple[WorkingOrder, ...] = ()  # resting orders cancelled first, in this order
    cancel_previews: tuple[str, ...] = ()
    warning: str = ""  # something the user should know before confirming

    @property
    def key(self) -> PositionKey:
        return self.position.key

    @property
    def side(self) -> PositionSide:
        return self.position.side

    @property
    def quantity(self) -> Decimal:
        return self.position.quantity

    @property
    def mark(self) -> Decimal | None:
        return self.position.mark_price

    @property
    def unrealised_pnl(self) -> Decimal | None:
        return self.position.unrealised_pnl

    def to_dict(self) -> dict[str, Any]:
        return {
            "account": self.key.account,
            "venue": self.key.venue.value,
            "symbol": self.key.symbol,
            "environment": self.environment.value,
            "side": self.side.value,
            "quantity": str(self.quantity),
            "mark": _s(self.mark),
            "unrealised_pnl": _s(self.unrealised_pnl),
            "mechanism": self.mechanism,
            "client_order_id": self.request.client_order_id,
            "request": self.preview,
            "cancels": [
                {**_order_dict(o), "request": p}
                for o, p in zip(self.cancels, self.cancel_previews, strict=True)
            ],
            "warning": self.warning,
        }


@dataclass(eq=False)
class FlattenPlan:
    """What a flatten will do. Immutable once built, and run at most once."""

    id: str
    scope: FlattenScope
    reason: str | None
    cancel_resting: bool
    items: tuple[PlanItem, ...]
    created_at: float  # wall time
    retry_of: str | None = None
    # Selected keys that were not open when the plan was built (nothing to do for them).
    missing: tuple[PositionKey, ...] = ()
    # Open positions another desk was closing when the plan was built, left out unless the
    # plan was built with them (team mode): (position, the desk closing it).
    elsewhere: tuple[tuple[PositionKey, str], ...] = ()
    _started: bool = field(default=False, init=False, repr=False)

    @property
    def journal_reason(self) -> str:
        """The ``reason`` every journal record of this plan carries."""
        head = f"flatten {self.id}"
        if self.retry_of:
            head += f" (retry of {self.retry_of})"
        return f"{head}: {self.reason}" if self.reason else head

    @property
    def has_live(self) -> bool:
        return any(i.environment is Environment.LIVE for i in self.items)

    @property
    def requires_typed_confirmation(self) -> bool:
        return bool(self.items) and (self.scope.kind is ScopeKind.EVERYTHING or self.has_live)

    @property
    def confirmation_word(self) -> str:
        return CONFIRM_WORD_LIVE if self.has_live else CONFIRM_WORD

    def confirms(self, typed: str) -> bool:
        """Exact match (case and inner spaces count); surrounding whitespace is ignored."""
        return typed.strip() == self.confirmation_word

    @property
    def cancel_count(self) -> int:
        return sum(len(i.cancels) for i in self.items)

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan_id": self.id,
            "created_at": _iso(self.created_at),
            "scope": self.scope.to_dict(),
            "reason": self.reason,
            "retry_of": self.retry_of,
            "cancel_resting": self.cancel_resting,
            "requires_typed_confirmation": self.requires_typed_confirmation,
            "confirmation_word": self.confirmation_word,
            "items": [i.to_dict() for i in self.items],
            "missing": [str(k) for k in self.missing],
            "elsewhere": [{"position": str(k), "desk": d} for k, d in self.elsewhere],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


def _new_plan_id() -> str:
    """Short enough to quote in a ticket, sortable by time, unique per process run."""
    return f"fp-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def build_plan(desk: Desk, scope: FlattenScope, *, reason: str | None,
               cancel_resting: bool = True, include_elsewhere: bool = False) -> FlattenPlan:
    """Plan a flatten from the live book; sends nothing. Raises PlanError for a scope that
    names an account or venue that is not configured. Positions another desk is closing are
    left out (and listed in ``elsewhere``) unless ``include_elsewhere``: their closes would be
    refused by the lease anyway."""
    return _build(desk, scope, reason=reason, cancel_resting=cancel_resting, retry_of=None,
                  include_elsewhere=include_elsewhere)


def _build(desk: Desk, scope: FlattenScope, *, reason: str | None, cancel_resting: bool,
           retry_of: str | None, include_elsewhere: bool = False) -> FlattenPlan:
    if scope.kind is ScopeKind.ACCOUNT and scope.account not in desk.accounts:
        known = ", ".join(sorted(desk.accounts)) or "none"
        raise PlanError(f"unknown account {scope.account!r} (configured: {known})")
    if scope.kind is ScopeKind.VENUE and not any(
        a.venue is scope.venue for a in desk.accounts.values()
    ):
        raise PlanError(f"no account is configured on {scope.venue}")
    reason = (reason or "").strip() or None
    plan = FlattenPlan(id=_new_plan_id(), scope=scope, reason=reason,
                       cancel_resting=cancel_resting, items=(), created_at=time.time(),
                       retry_of=retry_of)
    tag = plan.journal_reason
    positions = sorted(
        (p for p in desk.positions.values() if scope.matches(p)),
        key=lambda p: (p.key.venue.value, p.key.account, p.key.symbol),
    )
    elsewhere = tuple((p.key, d) for p in positions if (d := desk.elsewhere(p.key)))
    if elsewhere and not include_elsewhere:
        skipped = {k for k, _ in elsewhere}
        positions = [p for p in positions if p.key not in skipped]
    plan.elsewhere = elsewhere
    items = [_plan_item(desk, pos, tag, cancel_resting) for pos in positions]
    missing = tuple(sorted((k for k in scope.keys if k not in desk.positions), key=str))
    plan.items = tuple(items)
    plan.missing = missing
    desk.record("flatten_plan", plan.to_dict(), reason=tag)
    return plan


def _plan_item(desk: Desk, pos: Position, tag: str, cancel_resting: bool) -> PlanItem:
    key = pos.key
    account = desk.accounts.get(key.account)
    environment = account.environment if account is not None else Environment.LIVE
    if pos.mark_price is None and (mark := desk.mark(key.venue, key.symbol)) is not None:
        pos = pos.with_mark(mark.mark)
    request = CloseRequest(key, pos.side, pos.quantity, reason=tag)
    warnings = []
    if account is None:
        warnings.append("the account is not configured; the close will be refused")
    elif desk.health(key.account).connected is False:
        warnings.append("the account is not connected now; its close will be refused "
                        "unless it reconnects first")
    try:
        preview = desk.preview(request)
    except (CloseRejected, KeyError) as exc:
        preview = ""
        warnings.append(f"cannot build the request: {_plain(exc)}")
    cancels: list[WorkingOrder] = []
    previews: list[str] = []
    if cancel_resting:
        for order in sorted(desk.working_for(key), key=lambda o: o.order_id):
            if not blocks_close(order):
                continue
            cancels.append(order)
            try:
                previews.append(desk.session(key.account).prepare_cancel(order).redacted)
            except (CancelRejected, KeyError) as exc:
                previews.append("")
                warnings.append(f"cannot build the cancel of {order.order_id}: {_plain(exc)}")
    return PlanItem(
        position=pos,
        environment=environment,
        mechanism=_mechanism(key.venue),
        request=request,
        preview=preview,
        cancels=tuple(cancels),
        cancel_previews=tuple(previews),
        warning="; ".join(warnings),
    )


# ---------------------------------------------------------------------------------- helpers
def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _iso(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).isoformat(timespec="milliseconds")


def _plain(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _order_dict(o: WorkingOrder) -> dict[str, Any]:
    return {
        "order_id": o.order_id,
        "kind": o.kind.value,
        "type": o.order_type,
        "side": None if o.side is None else o.side.value,
        "quantity": _s(o.quantity),
        "price": _s(o.price),
        "trigger_price": _s(o.trigger_price),
    }
