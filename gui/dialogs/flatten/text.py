"""What the flatten dialog and its controller say: a row's exact requests, a position's story,
the report's headline and totals, and the report written to a file."""

from __future__ import annotations

from pathlib import Path

from cli.flatten_text import report_text
from core.flatten import FlattenReport, ItemState, Outcome, PlanItem
from core.model import PositionKey
from gui.dialogs.flatten.models import OUTCOME_WORDS, state_text
from gui.models import describe_working, env_label, fmt_decimal

__all__ = [
    "export_report",
    "item_story",
    "key_text",
    "plan_detail",
    "plural",
    "report_headline",
    "report_totals_text",
]


def plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def key_text(key: PositionKey) -> str:
    return f"{key.symbol} on {key.account}"


def _indented(text: str, pad: str = "     ") -> list[str]:
    return [pad + line for line in text.splitlines()] or [pad]


def plan_detail(item: PlanItem) -> str:
    """One row's exact requests, in the order they are sent: cancels first, then the close."""
    k = item.key
    lines = [f"{k.symbol} — {k.account} on {k.venue.label} ({env_label(item.environment)}): "
             f"{item.side.value.lower()} {fmt_decimal(item.quantity)}"]
    step = ""
    if item.cancels:
        lines.append(f"1. Cancel first ({plural(len(item.cancels), 'resting order')}):")
        for order, preview in zip(item.cancels, item.cancel_previews, strict=True):
            lines.append(f"   • {describe_working(order)} — order {order.order_id}")
            lines.extend(_indented(preview or "(no request could be built: see the warning)"))
        step = "2. Then close"
    else:
        step = "Close"
    lines.append(f"{step}: {item.mechanism}")
    lines.extend(_indented(item.preview or "(no request could be built: see the warning)"))
    if item.warning:
        lines.append(f"⚠ {item.warning}")
    return "\n".join(lines)


def item_story(state: ItemState) -> str:
    """Everything the report knows about one position, for the detail pane."""
    k = state.key
    lines = [f"{k.symbol} — {k.account} on {k.venue.label}: {state_text(state)}"]
    if state.message:
        lines.append(state.message)
    lines.extend(f"• {note}" for note in state.notes)
    facts = []
    if state.cancelled_orders:
        facts.append(f"cancelled first: {', '.join(state.cancelled_orders)}")
    if state.filled is not None:
        facts.append(f"filled {fmt_decimal(state.filled)}")
    if state.client_order_id:
        facts.append(f"client order {state.client_order_id}")
    if state.intent_id:
        facts.append(f"intent {state.intent_id}")
    if facts:
        lines.append("; ".join(facts))
    return "\n".join(lines)


def report_totals_text(report: FlattenReport) -> str:
    """"3 closed and verified flat · 1 residual · 1 rejected" (only the outcomes that occur)."""
    parts = [f"{count} {OUTCOME_WORDS[o]}" for o, count in report.totals.items() if count]
    return " · ".join(parts) or "Nothing to do"


def report_headline(report: FlattenReport) -> tuple[str, str]:
    """The report's first line and its tone ("good", "warn" or "bad")."""
    n = len(report.items)
    if n == 0:
        return "Nothing to flatten: the plan was empty.", "good"
    flat = sum(1 for i in report.items if i.outcome is not None and i.outcome.flat)
    if report.all_flat:
        return f"All {plural(n, 'position')} flat.", "good"
    totals = report.totals
    bad = totals[Outcome.REJECTED] + totals[Outcome.BLOCKED] + totals[Outcome.UNKNOWN]
    return (f"{flat} of {plural(n, 'position')} flat — {n - flat} still need attention.",
            "bad" if bad else "warn")


def export_report(report: FlattenReport, path: Path) -> Path:
    """Write the report to ``path``: JSON for a ``.json`` file, the text form otherwise."""
    text = report.to_json() if path.suffix.lower() == ".json" else report_text(report)
    path.write_text(text + "\n", encoding="utf-8")
    return path
