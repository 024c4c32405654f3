"""``closeout flatten``: the flatten engine (``core.flatten``) from a terminal or a script.

Build the plan from the live book, print it with every exact (redacted) request, confirm once
by typing the plan's word (``FLATTEN``, or ``FLATTEN LIVE`` when a LIVE account is in it), run
it concurrently with one progress line per item change on standard error, print the report and
exit with its code (the table in ``core.flatten.report``; 130 after Ctrl-C). The text is
``cli.flatten_text``'s.

Ctrl-C while it runs stops sending (``FlattenRun.cancel``), names the closes already sent and
follows them to the end; a second Ctrl-C quits at once, naming what was sent.

Team mode: it plans once the desk has heard the other desks' current leases (``cli.leases``),
lists the positions another desk is closing as skipped, and takes them in only with
``--include-elsewhere``. A flatten never overrides a lease: an included position's close is
refused while the other desk holds it, and reported as such.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

from cli.common import (
    EXIT_FLAT,
    EXIT_INTERRUPTED,
    EXIT_NOT_DONE,
    JOURNAL_ERRORS,
    MAX_TIMEOUT_S,
    ConnectFailed,
    Deps,
    Interrupt,
    Refused,
    UsageError,
    add_action_options,
    ask,
    connected,
    emit_json,
    err,
    fail,
    normalise_reason,
    parse_args,
    refuse_without_tty,
    run,
    seconds,
    select_accounts,
    venue_arg,
    venue_ids,
)
from cli.flatten_text import plan_text, report_text
from cli.leases import LeaseView, lease_views, wait_for_team
from core.flatten import (
    FlattenPlan,
    FlattenRun,
    FlattenScope,
    ItemState,
    Phase,
    PlanError,
    build_plan,
    execute,
)
from core.model import PositionKey, PositionSide
from core.venue import AccountConfig

__all__ = ["build_parser", "main", "scope_of"]

PROG = "closeout flatten"
DEFAULT_TIMEOUT = 30.0
_SIDES = {"long": PositionSide.LONG, "short": PositionSide.SHORT}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Close many positions at once as one plan: printed with every exact "
        "request, confirmed once, run concurrently across venues and accounts, and "
        "reported. Resting reduce-only closes and triggers on those symbols are cancelled "
        "first (they can block a new reduce-only close). Team mode: positions another desk "
        "is closing are skipped and listed (--include-elsewhere plans them); a flatten never "
        "overrides a lease.",
    )
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--account", metavar="NAME", help="every position of this account")
    what.add_argument("--venue", type=venue_arg, metavar="V",
                      help=f"every position on this venue ({venue_ids()}), all accounts")
    what.add_argument("--all", action="store_true", help="every position everywhere")
    parser.add_argument("--side", type=str.lower, choices=tuple(_SIDES),
                        help="only long or only short positions")
    parser.add_argument("--symbol", metavar="S", help="only this symbol")
    parser.add_argument("--losing", action="store_true",
                        help="only positions with a negative unrealised P&L")
    parser.add_argument("--keep-resting", action="store_true",
                        help="do not cancel resting closes and triggers first")
    parser.add_argument("--include-elsewhere", action="store_true",
                        help="team mode: also plan the positions another desk is closing "
                        "(skipped and listed by default). A flatten never overrides a lease: "
                        "their closes are refused while that desk holds it (exit 6); "
                        "`closeout close --override-reason` overrides one position")
    parser.add_argument("--timeout", type=seconds("--timeout"), default=DEFAULT_TIMEOUT,
                        metavar="SECONDS",
                        help=f"how long to wait for each close's outcome (default "
                        f"{DEFAULT_TIMEOUT:g}, at most {MAX_TIMEOUT_S}); nothing is ever resent")
    add_action_options(parser)
    return parser


def scope_of(ns: argparse.Namespace) -> FlattenScope:
    side = _SIDES[ns.side] if ns.side else None
    if ns.account is not None:
        return FlattenScope.for_account(ns.account, side=side, symbol=ns.symbol,
                                        losing_only=ns.losing)
    if ns.venue is not None:
        return FlattenScope.for_venue(ns.venue, side=side, symbol=ns.symbol,
                                      losing_only=ns.losing)
    return FlattenScope.everything(side=side, symbol=ns.symbol, losing_only=ns.losing)


class _Progress:
    """One line on standard error per item change (phase or outcome), plus each new note."""

    def __init__(self, plan: FlattenPlan) -> None:
        self.total = len(plan.items)
        self._seen: dict[PositionKey, tuple[Phase, object, int]] = {}
        self._done: set[PositionKey] = set()

    def __call__(self, state: ItemState) -> None:
        before = self._seen.get(state.key)
        now = (state.phase, state.outcome, len(state.notes))
        self._seen[state.key] = now
        if state.done:
            self._done.add(state.key)
        if before is None or before[:2] != now[:2]:
            extra = f" ({state.client_order_id})" if state.phase is Phase.SENDING and \
                state.client_order_id else ""
            err(f"[{len(self._done)}/{self.total}] {state.key}: {state.label}{extra}")
        for note in state.notes[before[2] if before else 0:]:
            err(f"    {state.key}: {note}")


def _sent_lines(run_: FlattenRun) -> list[str]:
    lines = []
    for s in run_.states:
        if s.sent:
            outcome = s.label if s.done else "outcome not followed"
            lines.append(f"  {s.key} (client order id {s.client_order_id}): {outcome}")
    return lines


async def _flatten(ns: argparse.Namespace, deps: Deps, interrupt: Interrupt) -> int:
    reason = normalise_reason(ns.reason)
    scope = scope_of(ns)

    def select(accounts: list[AccountConfig]) -> list[AccountConfig]:
        if ns.account is not None:
            return select_accounts(accounts, names=[ns.account])
        return select_accounts(accounts, venue=ns.venue)

    async with connected(ns, deps, select) as conn:
        desk = conn.desk
        await wait_for_team(conn)  # what the other desks are closing, before planning
        try:
            plan = build_plan(desk, scope, reason=reason, cancel_resting=not ns.keep_resting,
                              include_elsewhere=ns.include_elsewhere)
        except PlanError as exc:
            raise UsageError(str(exc)) from None
        elsewhere = await lease_views(conn, plan.elsewhere)
        skipped = [] if ns.include_elsewhere else elsewhere
        doc: dict[str, Any] = {"dry_run": bool(ns.dry_run), "plan": plan.to_dict(),
                               "report": None,
                               "elsewhere": [v.to_dict() for v in elsewhere],
                               "included_elsewhere": bool(ns.include_elsewhere),
                               "skipped": [v.to_dict() for v in skipped]}
        asking = not (ns.yes or ns.dry_run) and bool(plan.items)
        text = plan_text(plan, elsewhere=elsewhere, included=ns.include_elsewhere)
        if not ns.json:
            print(text, flush=True)
        elif asking:
            err(text)

        def finish(code: int, message: str, **extra: Any) -> int:
            doc.update(extra)
            doc["exit_code"] = code
            if ns.json:
                emit_json(doc)
            elif message:
                print(message, flush=True)
            return code

        if not plan.items and skipped:
            return finish(EXIT_NOT_DONE, _skipped_text(skipped, sent_any=False))
        if not plan.items:
            return finish(EXIT_FLAT, "Nothing to flatten: no open position matches.")
        if ns.dry_run:
            return finish(EXIT_FLAT, "Dry run: nothing was sent.")
        if asking:
            word = plan.confirmation_word
            try:
                ok = await ask(f"Flatten {len(plan.items)} position(s) ({plan.id})?", word)
            except asyncio.CancelledError:
                interrupt.interrupted(PROG)
                raise
            if not ok:
                return finish(EXIT_NOT_DONE, "Not confirmed: nothing was sent.")
        run_ = execute(desk, plan, on_progress=_Progress(plan), settle_timeout=ns.timeout)

        def stop() -> None:
            sent = run_.cancel()
            names = ", ".join(str(k) for k in sent)
            err(f"{PROG}: stopping: nothing new will be sent. "
                + (f"Already sent, followed to the end: {names}." if sent
                   else "No close had been sent.")
                + " Press Ctrl-C again to quit without waiting.")

        interrupt.handler = stop
        try:
            report = await run_.wait()
        except asyncio.CancelledError:
            interrupt.said = True
            lines = _sent_lines(run_)
            err(f"{PROG}: quit before the plan finished. "
                + ("These closes had been handed to the venue sessions:" if lines
                   else "No close had been sent."))
            for line in lines:
                err(line)
            if lines:
                err("Check them with `closeout positions` and in the journal "
                    f"(plan {plan.id}); nothing is ever resent.")
            tasks = [t for t in asyncio.all_tasks()
                     if t.get_name().startswith(f"flatten-{plan.id}-")]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            interrupt.handler = None
        interrupted = run_.cancelled and interrupt.presses > 0
        code = EXIT_INTERRUPTED if interrupted else report.exit_code
        if skipped and code == EXIT_FLAT:  # what was skipped is not known to be flat
            code = EXIT_NOT_DONE
        if not ns.json:
            print(report_text(report), flush=True)
            if skipped:
                print(_skipped_text(skipped, sent_any=True))
            if report.retry_keys and not interrupted:
                print("Run the same command again to flatten what is left: a new plan, built "
                      "from the live book.")
            if interrupted:
                print(f"Interrupted: exit {EXIT_INTERRUPTED} (the report's own code is "
                      f"{report.exit_code}).")
            sys.stdout.flush()
        return finish(code, "", report=report.to_dict(), interrupted=interrupted)


def _skipped_text(skipped: Sequence[LeaseView], *, sent_any: bool) -> str:
    n = len(skipped)
    which = "it" if n == 1 else "them"
    head = (f"Not flattened: {n} position{'s' if n != 1 else ''} another desk is closing "
            f"(listed above; --include-elsewhere takes {which} in, and a flatten never "
            "overrides a lease).")
    return head if sent_any else f"Nothing else to flatten. {head}"


def main(argv: Sequence[str], *, deps: Deps | None = None) -> int:
    parser = build_parser()
    ns = parse_args(parser, argv)
    if isinstance(ns, int):
        return ns
    try:
        normalise_reason(ns.reason)
        scope_of(ns)
        refuse_without_tty(ns)
    except (UsageError, Refused, PlanError) as exc:
        return fail(PROG, exc, ns.json)
    d = deps or Deps()

    async def command(interrupt: Interrupt) -> int:
        try:
            return await _flatten(ns, d, interrupt)
        except (UsageError, ConnectFailed, *JOURNAL_ERRORS) as exc:
            return fail(PROG, exc, ns.json)
        except asyncio.CancelledError:
            interrupt.interrupted(PROG)
            raise

    return run(command)
