"""Flatten plans and reports as plain text: what ``closeout flatten`` prints, and what the
window's Export… writes to a text file. The same words in both, so a report pasted into a
ticket reads the same wherever it came from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from core.flatten import FlattenPlan, FlattenReport, Outcome
from core.model import Environment

if TYPE_CHECKING:  # the window's Export… uses this module too, without the CLI's connection
    from cli.leases import LeaseView

__all__ = ["TOTAL_WORDS", "plan_text", "report_text"]

# How a total reads in the report's second line: "3 closed and verified flat, 1 residual".
TOTAL_WORDS: Mapping[Outcome, str] = {
    Outcome.CLOSED_VERIFIED_FLAT: "closed and verified flat",
    Outcome.ALREADY_FLAT: "already flat",
    Outcome.RESIDUAL: "residual",
    Outcome.REJECTED: "rejected",
    Outcome.UNKNOWN: "unknown",
    Outcome.SKIPPED: "skipped",
    Outcome.BLOCKED: "blocked",
    Outcome.CANCELLED_BEFORE_SEND: "not sent (stopped)",
}


def plan_text(plan: FlattenPlan, *, elsewhere: Sequence[LeaseView] = (),
              included: bool = False) -> str:
    """The plan as a human reads it before confirming, with every exact request. Team mode:
    ``elsewhere`` are the positions other desks are closing, skipped unless ``included``."""
    n = len(plan.items)
    views = {v.key: v for v in elsewhere}
    lines = [f"Flatten plan {plan.id}: {plan.scope.describe()}"]
    if plan.retry_of:
        lines.append(f"Retry of {plan.retry_of}")
    if plan.reason:
        lines.append(f"Reason: {plan.reason}")
    lines.append(f"{n} position{'s' if n != 1 else ''} to close, "
                 f"{plan.cancel_count} resting order(s) to cancel first")
    for item in plan.items:
        env = f" [{item.environment.value.upper()}]" if item.environment is not \
            Environment.DEMO else ""
        lines.append(f"- {item.key}{env}: {item.side.value} {item.quantity}"
                     f" mark {_s(item.mark) or '?'} uPnL {_s(item.unrealised_pnl) or '?'}")
        for order, preview in zip(item.cancels, item.cancel_previews, strict=True):
            lines.append(f"    cancel {order.kind.value} order {order.order_id}: {preview}")
        lines.append(f"    {item.mechanism}: {item.preview}")
        if item.warning:
            lines.append(f"    warning: {item.warning}")
        if included and (view := views.get(item.key)) is not None:
            lines.append(f"    warning: {view.text()}; its close is refused while that desk "
                         "holds the lease (a flatten never overrides one)")
    for key in plan.missing:
        lines.append(f"- {key}: not open, nothing to do")
    if not included:
        for view in elsewhere:
            lines.append(f"- {view.key}: skipped: {view.text()}")
    if plan.requires_typed_confirmation:
        lines.append(f'Type "{plan.confirmation_word}" to confirm.')
    return "\n".join(lines)


def report_text(report: FlattenReport) -> str:
    """The report: the totals, then one line per position with its notes under it."""
    n = len(report.items)
    lines = [f"Flatten {report.plan.id}: {report.plan.scope.describe()}"
             + (f" (reason: {report.plan.reason})" if report.plan.reason else "")]
    parts = [f"{count} {TOTAL_WORDS[o]}" for o, count in report.totals.items() if count]
    lines.append(f"{n} position{'s' if n != 1 else ''} in {report.elapsed_ms / 1000:.1f} s: "
                 + (", ".join(parts) or "nothing to do"))
    if report.cancelled:
        lines.append(f"Stopped by the user: {len(report.sent)} close(s) had been sent and "
                     "were followed to the end; the rest were not sent.")
    width = max((len(i.label) for i in report.items), default=0)
    for item in report.items:
        label = item.label if len(item.label) <= 60 else item.label[:57] + "..."
        lines.append(f"  {label:<{min(width, 60)}}  {item.key}  {item.side.value} "
                     f"{item.quantity or item.planned_quantity}"
                     + ("  (sent)" if report.cancelled and item.sent else ""))
        lines.extend(f"      {note}" for note in item.notes)
    if report.retry_keys:
        lines.append(f"{len(report.retry_keys)} can be retried as a new plan.")
    return "\n".join(lines)


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
