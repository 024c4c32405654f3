"""Flatten: close many positions at once, as a plan that is previewed, confirmed, run
concurrently and reported.

Support staff are asked to "flatten this account" or "everything on this venue, now". Forty
clicks are too slow and a panic button is a fat-finger hazard, so flatten is four steps, each an
API the GUI and the CLI share:

1. ``build_plan(desk, scope, reason=...)`` lists every position it would close, with the
   mechanism, the exact redacted request and the resting orders it cancels first. The plan has
   an id (journaled as a ``flatten_plan`` record) that every journal record of its execution
   carries in ``reason`` ("flatten <plan id>: <reason>"); order updates and fills link to it
   through their ``intent_id``.
2. Confirmation. ``plan.requires_typed_confirmation`` is True for an "everything" scope or when
   any position is on a LIVE account; the user must then type ``plan.confirmation_word``
   exactly (``plan.confirms(text)``): ``"FLATTEN LIVE"`` when a LIVE account is in the plan,
   otherwise ``"FLATTEN"``. Other plans take one ordinary confirmation.
3. ``execute(desk, plan)`` returns a :class:`FlattenRun` at once and runs every item as its own
   task, concurrently across venues and accounts, never one after another. Per item: cancel the
   planned resting orders (a failure blocks the item: its close is not sent), re-check the live
   book (the freshness guard), send one full close through ``desk.close`` (so the desk's rules
   hold: one close in flight per position, nothing ever resent), wait for it to settle, then
   verify from venue data that the position is gone. ``run.cancel()`` stops sending new
   requests; what was already sent is followed to the end and reported as sent.
4. ``await run.wait()`` gives a :class:`FlattenReport` (also journaled as ``flatten_report``);
   ``report.retry_plan(desk)`` is a new plan for the residuals and rejections only.

Rate limits: the QFEX session paces itself with its own limiter. Everstrike publishes no REST
budget (VENUES.md 2.7, UNKNOWN), so flatten keeps at most ``DEFAULT_CONCURRENCY[EVERSTRIKE]``
requests in flight on that venue at once (across its accounts, since limits may be per IP);
``execute(..., concurrency=...)`` overrides the caps per venue (None or absent: no cap).

Exit codes (``exit_code(report)``; the CLI adds its own two). The first row that applies wins:

====  =====================================================================
code  meaning
====  =====================================================================
5     unknown: a close was sent and its outcome could not be established
4     rejected: a close was refused, or blocked because a cancel failed
3     residual: a close ran but part of the position is still open
6     not done: stopped by the user before sending, or skipped (side changed)
0     flat: every position in the plan was closed and verified flat (or was
      already flat); an empty plan is 0 too
2     bad arguments (CLI)
7     connection failure: an account could not connect (CLI)
====  =====================================================================
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from core.desk import (
    AlreadyPending,
    CancelPending,
    CloseIntent,
    Desk,
    DeskEvent,
    IntentChanged,
    IntentState,
    PositionUpserted,
)
from core.journal import to_jsonable
from core.model import (
    CloseRequest,
    Environment,
    Position,
    PositionKey,
    PositionRemoved,
    PositionSide,
    Venue,
    WorkingKind,
    WorkingOrder,
    WorkingOrderRemoved,
)
from core.venue import CancelRejected, CloseRejected

__all__ = [
    "CONFIRM_WORD",
    "CONFIRM_WORD_LIVE",
    "DEFAULT_CONCURRENCY",
    "EXIT_BAD_ARGUMENTS",
    "EXIT_CONNECTION_FAILED",
    "EXIT_FLAT",
    "EXIT_NOT_DONE",
    "EXIT_REJECTED",
    "EXIT_RESIDUAL",
    "EXIT_UNKNOWN",
    "FlattenPlan",
    "FlattenReport",
    "FlattenRun",
    "FlattenScope",
    "ItemState",
    "Outcome",
    "Phase",
    "PlanAlreadyRun",
    "PlanError",
    "PlanItem",
    "ScopeKind",
    "build_plan",
    "execute",
    "exit_code",
]

log = logging.getLogger(__name__)

CONFIRM_WORD = "FLATTEN"
CONFIRM_WORD_LIVE = "FLATTEN LIVE"

EXIT_FLAT = 0
EXIT_BAD_ARGUMENTS = 2
EXIT_RESIDUAL = 3
EXIT_REJECTED = 4
EXIT_UNKNOWN = 5
EXIT_NOT_DONE = 6
EXIT_CONNECTION_FAILED = 7

# ASSUMPTION (VENUES.md 2.7: Everstrike's REST limit is UNKNOWN): 8 requests in flight at once
# is concurrent enough to flatten hundreds of positions in seconds, and gentle enough that a
# venue limiting per IP is unlikely to answer 429 (which would refuse, never resend, a close).
DEFAULT_CONCURRENCY: Mapping[Venue, int] = {Venue.EVERSTRIKE: 8}

# How each venue closes a whole position at market (DESIGN.md, "Closing: what goes on the wire").
_MECHANISMS: Mapping[Venue, str] = {
    Venue.QFEX: "QFEX close_position (LIMIT IOC reduce-only near mark; may leave a residual)",
    Venue.EVERSTRIKE: "Everstrike POST /auth/close (market, the whole position)",
}


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
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def to_text(self) -> str:
        """The plan as a human reads it before confirming, with every exact request."""
        n = len(self.items)
        lines = [f"Flatten plan {self.id}: {self.scope.describe()}"]
        if self.retry_of:
            lines.append(f"Retry of {self.retry_of}")
        if self.reason:
            lines.append(f"Reason: {self.reason}")
        lines.append(f"{n} position{'s' if n != 1 else ''} to close, "
                     f"{self.cancel_count} resting order(s) to cancel first")
        for item in self.items:
            env = f" [{item.environment.value.upper()}]" if item.environment is not \
                Environment.DEMO else ""
            lines.append(f"- {item.key}{env}: {item.side.value} {item.quantity}"
                         f" mark {_s(item.mark) or '?'} uPnL {_s(item.unrealised_pnl) or '?'}")
            for order, preview in zip(item.cancels, item.cancel_previews, strict=True):
                lines.append(f"    cancel {order.kind.value} order {order.order_id}: {preview}")
            lines.append(f"    {item.mechanism}: {item.preview}")
            if item.warning:
                lines.append(f"    warning: {item.warning}")
        for key in self.missing:
            lines.append(f"- {key}: not open, nothing to do")
        if self.requires_typed_confirmation:
            lines.append(f'Type "{self.confirmation_word}" to confirm.')
        return "\n".join(lines)


def _new_plan_id() -> str:
    """Short enough to quote in a ticket, sortable by time, unique per process run."""
    return f"fp-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def _cancellable(order: WorkingOrder) -> bool:
    """Resting reduce-only closes and triggers can block a new reduce-only close."""
    return order.reduce_only or order.kind is WorkingKind.TRIGGER


def build_plan(desk: Desk, scope: FlattenScope, *, reason: str | None,
               cancel_resting: bool = True) -> FlattenPlan:
    """Plan a flatten from the live book; sends nothing. Raises PlanError for a scope that
    names an account or venue that is not configured."""
    return _build(desk, scope, reason=reason, cancel_resting=cancel_resting, retry_of=None)


def _build(desk: Desk, scope: FlattenScope, *, reason: str | None, cancel_resting: bool,
           retry_of: str | None) -> FlattenPlan:
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
    items = [_plan_item(desk, pos, tag, cancel_resting) for pos in positions]
    missing = tuple(sorted((k for k in scope.keys if k not in desk.positions), key=str))
    plan.items = tuple(items)
    plan.missing = missing
    if desk.journal is not None:
        desk.journal.append("flatten_plan", plan.to_dict(), reason=tag)
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
            if not _cancellable(order):
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
        mechanism=_MECHANISMS.get(key.venue, f"{key.venue.label} full close at market"),
        request=request,
        preview=preview,
        cancels=tuple(cancels),
        cancel_previews=tuple(previews),
        warning="; ".join(warnings),
    )


# ---------------------------------------------------------------------------------- run
class Phase(enum.StrEnum):
    QUEUED = "queued"
    CANCELLING = "cancelling resting orders"
    SENDING = "sending"
    SENT = "sent"
    VERIFYING = "verifying"
    DONE = "done"


class Outcome(enum.StrEnum):
    CLOSED_VERIFIED_FLAT = "closed_verified_flat"
    ALREADY_FLAT = "already_flat"  # gone before its close was sent; nothing sent
    RESIDUAL = "residual"
    REJECTED = "rejected"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"  # the freshness guard refused it (the side changed); nothing sent
    BLOCKED = "blocked"  # a resting order could not be cancelled; the close was not sent
    CANCELLED_BEFORE_SEND = "cancelled_before_send"  # the user stopped the run first

    @property
    def flat(self) -> bool:
        return self in (Outcome.CLOSED_VERIFIED_FLAT, Outcome.ALREADY_FLAT)


_RETRYABLE = frozenset({Outcome.RESIDUAL, Outcome.REJECTED})


@dataclass(frozen=True, slots=True)
class ItemState:
    """One item's progress; a fresh value on every change (safe to hand to another thread)."""

    key: PositionKey
    side: PositionSide
    planned_quantity: Decimal
    phase: Phase = Phase.QUEUED
    outcome: Outcome | None = None
    message: str = ""  # the plain reason for a rejection, block, skip or unknown
    notes: tuple[str, ...] = ()  # what else happened: size changed, joined a pending close...
    sent: bool = False  # a close of ours went to the venue session (it may be at the venue)
    joined: bool = False  # a close already in flight was followed instead of sending one
    quantity: Decimal | None = None  # the size closed (the current size when it was sent)
    client_order_id: str | None = None
    intent_id: str | None = None
    cancelled_orders: tuple[str, ...] = ()  # resting orders cancelled first (order ids)
    residual: Decimal | None = None
    filled: Decimal | None = None
    sent_ms: float | None = None  # since the run started
    first_reply_ms: float | None = None  # from sending to the venue's first answer
    done_ms: float | None = None  # since the run started

    @property
    def done(self) -> bool:
        return self.outcome is not None

    @property
    def label(self) -> str:
        """How the item reads in a list: "closed, verified flat", "residual 3", ..."""
        o = self.outcome
        if o is None:
            return self.phase.value
        if o is Outcome.CLOSED_VERIFIED_FLAT:
            return "closed, verified flat"
        if o is Outcome.ALREADY_FLAT:
            return "already flat"
        if o is Outcome.RESIDUAL:
            return f"residual {self.residual}"
        if o is Outcome.CANCELLED_BEFORE_SEND:
            return "not sent (stopped)"
        return f"{o.value}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "account": self.key.account,
            "venue": self.key.venue.value,
            "symbol": self.key.symbol,
            "side": self.side.value,
            "planned_quantity": str(self.planned_quantity),
            "quantity": _s(self.quantity),
            "phase": self.phase.value,
            "outcome": None if self.outcome is None else self.outcome.value,
            "label": self.label,
            "message": self.message,
            "notes": list(self.notes),
            "sent": self.sent,
            "joined": self.joined,
            "client_order_id": self.client_order_id,
            "intent_id": self.intent_id,
            "cancelled_orders": list(self.cancelled_orders),
            "residual": _s(self.residual),
            "filled": _s(self.filled),
            "sent_ms": _ms(self.sent_ms),
            "first_reply_ms": _ms(self.first_reply_ms),
            "done_ms": _ms(self.done_ms),
        }


def execute(
    desk: Desk,
    plan: FlattenPlan,
    *,
    on_progress: Callable[[ItemState], None] | None = None,
    concurrency: Mapping[Venue, int] | None = None,
    settle_timeout: float = 30.0,
    verify_timeout: float = 10.0,
) -> FlattenRun:
    """Start running ``plan`` (call from the event loop) and return its handle at once.

    ``on_progress`` hears every item change on the loop thread. ``concurrency`` caps requests
    in flight per venue (default ``DEFAULT_CONCURRENCY``). ``settle_timeout``: how long to wait
    for a sent close's outcome; ``verify_timeout``: how long venue data may take to show the
    position gone before the account's positions are re-read once and the item is judged.
    Raises PlanAlreadyRun if the plan was run before.
    """
    asyncio.get_running_loop()  # raises before anything is marked or sent without a loop
    if plan._started:
        raise PlanAlreadyRun(f"plan {plan.id} was already run; build a new plan to try again")
    plan._started = True
    return FlattenRun(
        desk, plan, on_progress,
        DEFAULT_CONCURRENCY if concurrency is None else concurrency,
        settle_timeout, verify_timeout,
    )


class FlattenRun:
    """A running plan. ``cancel()`` stops new requests; ``await wait()`` gives the report."""

    def __init__(
        self,
        desk: Desk,
        plan: FlattenPlan,
        on_progress: Callable[[ItemState], None] | None,
        concurrency: Mapping[Venue, int],
        settle_timeout: float,
        verify_timeout: float,
    ) -> None:
        self.plan = plan
        self._desk = desk
        self._on_progress = on_progress
        self._settle_timeout = settle_timeout
        self._verify_timeout = verify_timeout
        self._slots = {v: asyncio.Semaphore(n) for v, n in concurrency.items() if n > 0}
        self._states: dict[PositionKey, ItemState] = {
            i.key: ItemState(i.key, i.side, i.quantity) for i in plan.items
        }
        self._wake: dict[PositionKey, asyncio.Event] = {k: asyncio.Event() for k in self._states}
        self._refreshing: dict[str, asyncio.Task[bool]] = {}
        self._cancelled = False
        self._cancelled_at: float | None = None
        self.started_at = time.time()
        self._t0 = time.perf_counter()
        self._report: FlattenReport | None = None
        self._unsubscribe = desk.subscribe(self._on_desk_event)
        self._journal("flatten_start", {"plan_id": plan.id, "items": len(plan.items)})
        self._tasks = [
            asyncio.create_task(self._run_item(item), name=f"flatten-{plan.id}-{item.key}")
            for item in plan.items
        ]
        self._finished = asyncio.ensure_future(self._finish())

    # ------------------------------------------------------------------ public
    @property
    def states(self) -> list[ItemState]:
        """Every item's latest state, in plan order."""
        return [self._states[i.key] for i in self.plan.items]

    @property
    def progress(self) -> tuple[int, int]:
        """(items done, items in the plan)."""
        return sum(s.done for s in self._states.values()), len(self._states)

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    @property
    def done(self) -> bool:
        return self._report is not None

    @property
    def report(self) -> FlattenReport | None:
        return self._report

    def cancel(self) -> list[PositionKey]:
        """Stop sending: no new cancel or close leaves after this. Returns the positions whose
        close was already sent (they are followed to the end and reported). A close handed to
        the session counts as sent even while the session's own rate limiter holds it: it is
        committed and cannot be taken back without making its outcome unknown."""
        sent = [s.key for s in self.states if s.sent]
        if self._cancelled or self.done:
            return sent
        self._cancelled = True
        self._cancelled_at = self._elapsed_ms()
        self._journal("flatten_cancel", {
            "plan_id": self.plan.id,
            "sent": [str(k) for k in sent],
            "not_sent": [str(s.key) for s in self.states if not s.sent and not s.done],
        })
        return sent

    async def wait(self) -> FlattenReport:
        return await asyncio.shield(self._finished)

    # ------------------------------------------------------------------ plumbing
    def _elapsed_ms(self) -> float:
        return (time.perf_counter() - self._t0) * 1000

    def _journal(self, kind: str, payload: Mapping[str, Any]) -> None:
        if self._desk.journal is not None:
            self._desk.journal.append(kind, payload, reason=self.plan.journal_reason)

    def _on_desk_event(self, event: DeskEvent) -> None:
        key: PositionKey | None = None
        if isinstance(event, PositionUpserted):
            key = event.position.key
        elif isinstance(event, PositionRemoved):
            key = event.key
        elif isinstance(event, IntentChanged):
            key = event.intent.key
        elif isinstance(event, WorkingOrderRemoved):
            for k in self._states:
                if k.account == event.account:
                    self._wake[k].set()
            return
        if key is not None and (wake := self._wake.get(key)) is not None:
            wake.set()

    async def _until(self, key: PositionKey, predicate: Callable[[], bool],
                     timeout: float) -> bool:
        """Wait for ``predicate`` to hold, woken by desk events about ``key``."""
        wake = self._wake[key]
        try:
            async with asyncio.timeout(timeout):
                while True:
                    wake.clear()
                    if predicate():
                        return True
                    await wake.wait()
        except TimeoutError:
            return predicate()

    def _set(self, key: PositionKey, **changes: Any) -> ItemState:
        state = replace(self._states[key], **changes)
        self._states[key] = state
        if self._on_progress is not None:
            try:
                self._on_progress(state)
            except Exception:  # a broken view must not break the run
                log.exception("flatten progress listener failed")
        return state

    def _end(self, key: PositionKey, outcome: Outcome, message: str = "",
             **changes: Any) -> None:
        self._set(key, phase=Phase.DONE, outcome=outcome, message=message,
                  done_ms=self._elapsed_ms(), **changes)

    def _note(self, key: PositionKey, note: str) -> None:
        self._set(key, notes=(*self._states[key].notes, note))

    def _slot(self, venue: Venue) -> contextlib.AbstractAsyncContextManager[Any]:
        """One request in flight on a capped venue (no wait on an uncapped one)."""
        return self._slots.get(venue) or contextlib.nullcontext()

    # ------------------------------------------------------------------ one item
    async def _run_item(self, item: PlanItem) -> None:
        try:
            await self._item(item)
        except Exception as exc:  # a bug must not leave the run hanging or hide the state
            log.exception("flatten %s: %s failed", self.plan.id, item.key)
            state = self._states[item.key]
            if not state.done:
                outcome = Outcome.UNKNOWN if state.sent else Outcome.REJECTED
                self._end(item.key, outcome, f"internal error: {_plain(exc)}")

    async def _item(self, item: PlanItem) -> None:
        key, desk = item.key, self._desk
        if self._cancelled:
            self._end(key, Outcome.CANCELLED_BEFORE_SEND, "stopped before it was sent")
            return
        if not await self._cancel_resting(item):
            return
        # The freshness guard: close what is there now, never what the plan remembered.
        pos = desk.positions.get(key)
        if pos is None:
            self._end(key, Outcome.ALREADY_FLAT, "the position was already flat; nothing sent")
            return
        if pos.side is not item.side:
            self._end(key, Outcome.SKIPPED,
                      f"the position is now {pos.side.value.lower()} {pos.quantity}, not "
                      f"{item.side.value.lower()} {item.quantity} as planned; review it and "
                      "flatten again")
            return
        request = item.request
        if pos.quantity != item.quantity:
            request = replace(request, position_quantity=pos.quantity)
            self._note(key, f"the size changed from {item.quantity} to {pos.quantity} since the "
                            "plan; a full close closes the current position")
        planned = {c.order_id for c in item.cancels}
        unplanned = [o for o in desk.working_for(key)
                     if _cancellable(o) and o.order_id not in planned]
        if self.plan.cancel_resting and unplanned:
            self._note(key, f"{len(unplanned)} resting order(s) appeared after the plan and "
                            "were left alone: the plan did not list them")
        intent = await self._send(item, request)
        if intent is None:
            return
        await self._follow(item, intent)

    async def _cancel_resting(self, item: PlanItem) -> bool:
        """Cancel the planned resting orders, one at a time. False: the item ended here."""
        key, desk = item.key, self._desk
        if not item.cancels:
            return True
        self._set(key, phase=Phase.CANCELLING)
        done: list[str] = []
        for order in item.cancels:
            if order.ident not in desk.working_orders:
                self._note(key, f"resting order {order.order_id} was already gone")
                continue
            async with self._slot(key.venue):
                if self._cancelled:
                    self._stopped(key, done)
                    return False
                try:
                    await desk.cancel(order, reason=self.plan.journal_reason)
                except CancelPending:
                    # Someone else's cancel of it is on its way: its removal is what we need.
                    if not await self._until(key, _gone(desk, order), self._settle_timeout):
                        self._end(key, Outcome.BLOCKED,
                                  f"resting order {order.order_id} is still working (another "
                                  "cancel of it got no answer); the close was not sent",
                                  cancelled_orders=tuple(done))
                        return False
                except CancelRejected as exc:
                    self._end(key, Outcome.BLOCKED,
                              f"cancelling resting order {order.order_id} failed: "
                              f"{_plain(exc)}; the close was not sent",
                              cancelled_orders=tuple(done))
                    return False
            done.append(order.order_id)
            self._set(key, cancelled_orders=tuple(done))
        return True

    def _stopped(self, key: PositionKey, cancelled: list[str]) -> None:
        extra = (f"; {len(cancelled)} resting order(s) had been cancelled"
                 if cancelled else "")
        self._end(key, Outcome.CANCELLED_BEFORE_SEND, f"stopped before it was sent{extra}",
                  cancelled_orders=tuple(cancelled))

    async def _send(self, item: PlanItem, request: CloseRequest) -> CloseIntent | None:
        key, desk = item.key, self._desk
        async with self._slot(key.venue):
            if self._cancelled:
                self._stopped(key, list(self._states[key].cancelled_orders))
                return None
            self._set(key, phase=Phase.SENDING, sent=True, quantity=request.position_quantity,
                      client_order_id=request.client_order_id, sent_ms=self._elapsed_ms())
            try:
                intent = await desk.close(request)
            except AlreadyPending as exc:
                self._set(key, sent=False, joined=True, client_order_id=None,
                          intent_id=exc.intent.id,
                          notes=(*self._states[key].notes,
                                 f"joined the pending close {exc.intent.id} "
                                 f"({exc.intent.state.value.lower()}); nothing new was sent"))
                return exc.intent
            except CloseRejected as exc:
                latest = desk.latest_intent(key)
                ours = latest is not None and \
                    latest.request.client_order_id == request.client_order_id
                pos = desk.positions.get(key)
                if not ours and pos is None:
                    self._end(key, Outcome.ALREADY_FLAT, f"already flat: {_plain(exc)}",
                              sent=False)
                elif not ours and pos is not None and pos.side is not item.side:
                    self._end(key, Outcome.SKIPPED, _plain(exc), sent=False)
                else:
                    self._end(key, Outcome.REJECTED, _plain(exc), sent=ours,
                              intent_id=latest.id if ours and latest else None)
                return None
        self._set(key, phase=Phase.SENT, intent_id=intent.id)
        return intent

    async def _follow(self, item: PlanItem, intent: CloseIntent) -> None:
        """Wait for the close to settle, then verify from venue data."""
        key, desk = item.key, self._desk

        def settled() -> bool:
            s = intent.state
            return (s.settled or s is IntentState.RESTING or key not in desk.positions
                    or (s is IntentState.UNKNOWN and intent.lookup_done))

        await self._until(key, settled, self._settle_timeout)
        self._set(key, phase=Phase.VERIFYING, first_reply_ms=intent.first_reply_ms,
                  filled=intent.filled or None)
        req = intent.request

        def judged() -> bool:
            pos = desk.positions.get(key)
            if pos is None:
                return True
            s = intent.state
            if s is IntentState.FILLED or not s.settled:
                return False  # venue data should show it flat (or the outcome is unknown)
            # A partial, cancelled or rejected close: done once the book shows what it left.
            return pos.side is not req.position_side or \
                pos.quantity <= req.position_quantity - intent.filled

        if not await self._until(key, judged, self._verify_timeout):
            await self._refresh(key.account)  # ask the venue once; never resend anything
        self._judge(key, intent)

    def _judge(self, key: PositionKey, intent: CloseIntent) -> None:
        pos = self._desk.positions.get(key)
        s = intent.state
        filled = intent.filled or None
        if pos is None:
            note = ""
            if s is IntentState.REJECTED:
                note = f"the venue refused the close ({intent.message}), but the position is flat"
            self._end(key, Outcome.CLOSED_VERIFIED_FLAT, note, filled=filled)
        elif s is IntentState.REJECTED:
            self._end(key, Outcome.REJECTED, intent.message or "the venue refused the close",
                      filled=filled)
        elif not s.settled and s is not IntentState.RESTING:
            why = intent.message or f"no outcome from the venue within {self._settle_timeout:g} s"
            self._end(key, Outcome.UNKNOWN,
                      f"{why}; {pos.side.value.lower()} {pos.quantity} still shows open. "
                      "Nothing was resent", filled=filled)
        else:
            side = "" if pos.side is intent.request.position_side else \
                f" (now {pos.side.value.lower()})"
            message = f"{pos.quantity} still open{side}"
            if intent.message:
                message += f": {intent.message}"
            self._end(key, Outcome.RESIDUAL, message, residual=pos.quantity, filled=filled)

    async def _refresh(self, account: str) -> bool:
        """Re-read one account's positions; shared by the items waiting on it at the time."""
        task = self._refreshing.get(account)
        if task is None or task.done():
            task = asyncio.create_task(self._do_refresh(account))
            self._refreshing[account] = task
        return await asyncio.shield(task)

    async def _do_refresh(self, account: str) -> bool:
        try:
            await self._desk.session(account).refresh_positions()
        except Exception as exc:  # verification then goes on what the book already shows
            log.warning("flatten %s: could not re-read %s positions: %s",
                        self.plan.id, account, exc)
            return False
        return True

    async def _finish(self) -> FlattenReport:
        try:
            await asyncio.gather(*self._tasks)
        finally:
            self._unsubscribe()
        report = FlattenReport(
            plan=self.plan,
            items=tuple(self.states),
            started_at=self.started_at,
            finished_at=time.time(),
            elapsed_ms=self._elapsed_ms(),
            cancelled=self._cancelled,
            cancelled_at_ms=self._cancelled_at,
        )
        self._report = report
        self._journal("flatten_report", report.to_dict())
        return report


# ---------------------------------------------------------------------------------- report
@dataclass(frozen=True, slots=True)
class FlattenReport:
    plan: FlattenPlan
    items: tuple[ItemState, ...]
    started_at: float  # wall time
    finished_at: float
    elapsed_ms: float
    cancelled: bool = False
    cancelled_at_ms: float | None = None

    @property
    def plan_id(self) -> str:
        return self.plan.id

    @property
    def totals(self) -> dict[Outcome, int]:
        counts = dict.fromkeys(Outcome, 0)
        for item in self.items:
            if item.outcome is not None:
                counts[item.outcome] += 1
        return counts

    @property
    def all_flat(self) -> bool:
        return all(i.outcome is not None and i.outcome.flat for i in self.items)

    @property
    def sent(self) -> list[PositionKey]:
        return [i.key for i in self.items if i.sent]

    @property
    def retry_keys(self) -> list[PositionKey]:
        return [i.key for i in self.items if i.outcome in _RETRYABLE]

    @property
    def exit_code(self) -> int:
        return exit_code(self)

    def retry_plan(self, desk: Desk) -> FlattenPlan:
        """A new plan (new id, ``retry_of`` this one) for the residuals and rejections only,
        sized from the live book now. Empty when there is nothing to retry."""
        keys = self.retry_keys
        if not keys:
            plan = FlattenPlan(id=_new_plan_id(), scope=self.plan.scope, reason=self.plan.reason,
                               cancel_resting=self.plan.cancel_resting, items=(),
                               created_at=time.time(), retry_of=self.plan.id)
            if desk.journal is not None:
                desk.journal.append("flatten_plan", plan.to_dict(), reason=plan.journal_reason)
            return plan
        return _build(desk, FlattenScope.selected(keys), reason=self.plan.reason,
                      cancel_resting=self.plan.cancel_resting, retry_of=self.plan.id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan.id,
            "retry_of": self.plan.retry_of,
            "scope": self.plan.scope.to_dict(),
            "reason": self.plan.reason,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "elapsed_ms": _ms(self.elapsed_ms),
            "cancelled": self.cancelled,
            "cancelled_at_ms": _ms(self.cancelled_at_ms),
            "all_flat": self.all_flat,
            "exit_code": self.exit_code,
            "totals": {o.value: n for o, n in self.totals.items() if n},
            "items": [i.to_dict() for i in self.items],
        }

    def to_json(self) -> str:
        return json.dumps(to_jsonable(self.to_dict()), indent=2, ensure_ascii=False)

    def to_text(self) -> str:
        n = len(self.items)
        lines = [f"Flatten {self.plan.id}: {self.plan.scope.describe()}"
                 + (f" (reason: {self.plan.reason})" if self.plan.reason else "")]
        parts = [f"{count} {_TOTAL_WORDS[o]}" for o, count in self.totals.items() if count]
        lines.append(f"{n} position{'s' if n != 1 else ''} in {self.elapsed_ms / 1000:.1f} s: "
                     + (", ".join(parts) or "nothing to do"))
        if self.cancelled:
            lines.append(f"Stopped by the user: {len(self.sent)} close(s) had been sent and "
                         "were followed to the end; the rest were not sent.")
        width = max((len(i.label) for i in self.items), default=0)
        for item in self.items:
            label = item.label if len(item.label) <= 60 else item.label[:57] + "..."
            lines.append(f"  {label:<{min(width, 60)}}  {item.key}  {item.side.value} "
                         f"{item.quantity or item.planned_quantity}"
                         + ("  (sent)" if self.cancelled and item.sent else ""))
            lines.extend(f"      {note}" for note in item.notes)
        if self.retry_keys:
            lines.append(f"{len(self.retry_keys)} can be retried as a new plan.")
        return "\n".join(lines)


_TOTAL_WORDS: Mapping[Outcome, str] = {
    Outcome.CLOSED_VERIFIED_FLAT: "closed and verified flat",
    Outcome.ALREADY_FLAT: "already flat",
    Outcome.RESIDUAL: "residual",
    Outcome.REJECTED: "rejected",
    Outcome.UNKNOWN: "unknown",
    Outcome.SKIPPED: "skipped",
    Outcome.BLOCKED: "blocked",
    Outcome.CANCELLED_BEFORE_SEND: "not sent (stopped)",
}


def exit_code(report: FlattenReport) -> int:
    """The CLI's exit status for a finished flatten (table in the module docstring)."""
    outcomes = {i.outcome for i in report.items}
    if Outcome.UNKNOWN in outcomes or None in outcomes:
        return EXIT_UNKNOWN
    if outcomes & {Outcome.REJECTED, Outcome.BLOCKED}:
        return EXIT_REJECTED
    if Outcome.RESIDUAL in outcomes:
        return EXIT_RESIDUAL
    if outcomes & {Outcome.SKIPPED, Outcome.CANCELLED_BEFORE_SEND}:
        return EXIT_NOT_DONE
    return EXIT_FLAT


# ---------------------------------------------------------------------------------- helpers
def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _iso(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).isoformat(timespec="milliseconds")


def _gone(desk: Desk, order: WorkingOrder) -> Callable[[], bool]:
    return lambda: order.ident not in desk.working_orders


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
