"""Flatten, step 4: the report, as data. What happened to each position, the totals, what can
be retried, and the exit status a command returns. Text for people is rendered elsewhere (the
CLI's and the window's own words).

Exit codes (``exit_code(report)``; the CLI adds its own two). The first row that applies wins:

====  =====================================================================
code  meaning
====  =====================================================================
5     unknown: a close was sent and its outcome could not be established
4     rejected: a close was refused, or blocked because a cancel failed
3     residual: a close ran but part of the position is still open
6     not done: stopped by the user before sending, or skipped (side changed, or
      refused by another desk's lease in team mode)
0     flat: every position in the plan was closed and verified flat (or was
      already flat); an empty plan is 0 too
2     bad arguments (CLI)
7     connection failure: an account could not connect (CLI)
====  =====================================================================
"""

from __future__ import annotations

import enum
import json
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.desk import Desk
from core.flatten.plan import FlattenPlan, FlattenScope, _build, _iso, _new_plan_id, _s
from core.journal import to_jsonable
from core.model import PositionKey, PositionSide

__all__ = [
    "EXIT_BAD_ARGUMENTS",
    "EXIT_CONNECTION_FAILED",
    "EXIT_FLAT",
    "EXIT_NOT_DONE",
    "EXIT_REJECTED",
    "EXIT_RESIDUAL",
    "EXIT_UNKNOWN",
    "FlattenReport",
    "ItemState",
    "Outcome",
    "Phase",
    "exit_code",
]

EXIT_FLAT = 0
EXIT_BAD_ARGUMENTS = 2
EXIT_RESIDUAL = 3
EXIT_REJECTED = 4
EXIT_UNKNOWN = 5
EXIT_NOT_DONE = 6
EXIT_CONNECTION_FAILED = 7


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
    # Refused before anything was sent: the freshness guard (the side changed), or another
    # desk's lease (team mode; a flatten never overrides one).
    SKIPPED = "skipped"
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
            desk.record("flatten_plan", plan.to_dict(), reason=plan.journal_reason)
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


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
