"""``closeout close ACCOUNT SYMBOL``: one close, checked as the close dialog checks it, shown as
the exact (redacted) request, confirmed, sent once through the desk, and followed to its end.

Confirmation without ``--yes``: on a LIVE account type ``CLOSE LIVE``; otherwise answer y/N.
Exit codes (``cli.common``): 0 done (a full close verified flat, or a partial close filled, or
no position to close), 2 bad arguments (nothing sent), 3 residual (part of it is still open, or
the venue cancelled it unfilled), 4 rejected, 5 unknown (sent; no outcome within ``--timeout``),
6 not done (not confirmed, or the position changed first), 7 connection failure, 8 resting (a
limit GTC or trigger close is working at the venue; it outlives this command), 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import Any

from cli.common import (
    EXIT_BAD_ARGUMENTS,
    EXIT_FLAT,
    EXIT_NOT_DONE,
    EXIT_REJECTED,
    EXIT_RESIDUAL,
    EXIT_RESTING,
    EXIT_UNKNOWN,
    JOURNAL_ERRORS,
    MAX_TIMEOUT_S,
    ConnectFailed,
    Connection,
    Deps,
    Interrupt,
    Refused,
    UsageError,
    add_action_options,
    ask,
    connected,
    dec,
    emit_json,
    err,
    fail,
    is_live,
    normalise_reason,
    parse_args,
    plain_decimal,
    refuse_without_tty,
    run,
    seconds,
    select_accounts,
    wait_for,
)
from cli.leases import holder_of
from core.closing.form import FIELD_ORDER, Values, check, check_values
from core.closing.rules import FieldError, FieldName
from core.closing.words import OUTCOME_LABELS, describe, pending_text
from core.desk import (
    AlreadyPending,
    CloseIntent,
    Desk,
    DeskEvent,
    IntentChanged,
    IntentState,
    PositionChanged,
)
from core.desk.coordination import CoordinationDown, LeaseHeld
from core.journal import JournalError
from core.model import (
    Capabilities,
    CloseRequest,
    Instrument,
    Position,
    PositionKey,
    TimeInForce,
    TriggerEvent,
)
from core.numbers import number_format
from core.venue import AccountConfig, CloseRejected

__all__ = ["CONFIRM_WORD_LIVE", "CloseArgs", "build_parser", "build_request", "describe", "main"]

# ``describe`` is core.closing.words': the dialog says the same close in the same words.

PROG = "closeout close"
CONFIRM_WORD_LIVE = "CLOSE LIVE"
DEFAULT_TIMEOUT = 30.0
_EVENTS = {"mark": TriggerEvent.MARK, "index": TriggerEvent.INDEX, "last": TriggerEvent.LAST}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Close one position: all of it at market by default. The request is "
        "checked against the venue's rules and the live position, shown exactly (keys and "
        "signatures redacted), confirmed, sent once and followed until the venue answers.",
    )
    parser.add_argument("account", metavar="ACCOUNT", help="the account's name, as configured")
    parser.add_argument("symbol", metavar="SYMBOL", help="the venue's symbol, e.g. AAPL-USD")
    parser.add_argument("--qty", type=plain_decimal("--qty"), metavar="Q",
                        help="close this much (default: the whole position)")
    parser.add_argument("--percent", type=plain_decimal("--percent"), metavar="PCT",
                        help="close this percentage of the position, rounded down to the lot "
                        "(as the close dialog's 25/50/75/100 %% buttons)")
    parser.add_argument("--price", type=plain_decimal("--price"), metavar="P",
                        help="limit price (default: at market)")
    parser.add_argument("--tif", type=str.upper, choices=("GTC", "IOC"),
                        help="time in force of a limit close (default GTC where the venue "
                        "takes one)")
    parser.add_argument("--trigger-price", type=plain_decimal("--trigger-price"), metavar="T",
                        help="close when the trigger price is reached")
    parser.add_argument("--trigger-event", type=str.lower, choices=tuple(_EVENTS),
                        help="which price the trigger watches (default mark)")
    parser.add_argument("--close-on-trigger", action="store_true",
                        help="when the trigger fires, cancel open reduce-only orders "
                        "(venues that offer it)")
    parser.add_argument("--timeout", type=seconds("--timeout"), default=DEFAULT_TIMEOUT,
                        metavar="SECONDS",
                        help=f"how long to wait for the venue's outcome (default "
                        f"{DEFAULT_TIMEOUT:g}, at most {MAX_TIMEOUT_S}); a close is never resent")
    parser.add_argument("--override-reason", metavar="TEXT",
                        help="team mode: send even though another desk holds this position's "
                        "lease, or the team database cannot be asked; the reason is journaled "
                        "as an override (one line)")
    add_action_options(parser)
    return parser


@dataclass(frozen=True, slots=True)
class CloseArgs:
    """What the user asked for, parsed; checked against the position by ``build_request``."""

    quantity: Decimal | None = None
    percent: Decimal | None = None
    price: Decimal | None = None
    tif: TimeInForce | None = None
    trigger_price: Decimal | None = None
    trigger_event: TriggerEvent | None = None
    close_on_trigger: bool = False
    reason: str | None = None


# The options that carry each field: the CLI's names for them when it says a refusal.
_OPTIONS: dict[FieldName, str] = {
    "quantity": "--qty", "percent": "--percent", "limit_price": "--price",
    "trigger_price": "--trigger-price", "trigger_event": "--trigger-event",
    "close_on_trigger": "--close-on-trigger", "time_in_force": "--tif",
}


def _said(errors: list[tuple[FieldName, FieldError]]) -> str:
    """The dialog's refusals, said with the options' names ("--qty 41 is more than ...")."""
    return "; ".join(exc.said(_OPTIONS, sentence=False) for _, exc in errors)


def _values(args: CloseArgs) -> Values:
    return Values(quantity=args.quantity, percent=args.percent, limit_price=args.price,
                  time_in_force=args.tif, trigger_price=args.trigger_price,
                  trigger_event=args.trigger_event, close_on_trigger=args.close_on_trigger,
                  reason=args.reason)


def build_request(position: Position, caps: Capabilities, inst: Instrument | None,
                  args: CloseArgs) -> CloseRequest:
    """The request the close dialog would build from the same input (``core.closing.form``),
    or UsageError naming the options at fault. A number off the lot or tick is refused rather
    than rounded, since nobody sees "will send X" here. Sends nothing."""
    values = _values(args)
    errors = check_values(values)
    checked = check(values, position, caps, inst, exact=True)
    if errors or checked.request is None:
        errors = {**checked.errors, **errors}
        raise UsageError(_said([(name, errors[name]) for name in FIELD_ORDER if name in errors]))
    return checked.request


def _position_line(p: Position, inst: Instrument | None) -> str:
    """The position as the window's row writes it (core.numbers)."""
    nf = number_format(inst)
    return (f"{p.side.value} {nf.quantity(p.quantity)} {p.key.symbol}, entry "
            f"{nf.price(p.entry_price) or '-'}, mark {nf.price(p.mark_price) or '-'}, "
            f"uPnL {nf.pnl(p.unrealised_pnl) or '-'}")


def _args(ns: argparse.Namespace) -> CloseArgs:
    """The options as values (``--reason`` apart: ``normalise_reason`` may refuse it)."""
    return CloseArgs(
        quantity=ns.qty,
        percent=ns.percent,
        price=ns.price,
        tif=TimeInForce(ns.tif) if ns.tif else None,
        trigger_price=ns.trigger_price,
        trigger_event=_EVENTS[ns.trigger_event] if ns.trigger_event else None,
        close_on_trigger=ns.close_on_trigger,
    )


def _check_syntax(parser: argparse.ArgumentParser, ns: argparse.Namespace) -> None:
    """Options that mean nothing without another (the form's ``check_values``), before anything
    is dialled; argparse-style errors (exit 2)."""
    errors = check_values(_values(_args(ns)))
    if errors:
        parser.error(_said(list(errors.items())))


# ------------------------------------------------------------------------------- running
@dataclass
class _Result:
    code: int
    outcome: str
    message: str
    intent: CloseIntent | None = None


class _Report:
    """Collects the JSON document and prints the human lines."""

    def __init__(self, ns: argparse.Namespace) -> None:
        self.ns = ns
        self.doc: dict[str, Any] = {"dry_run": bool(ns.dry_run)}

    def out(self, text: str) -> None:
        """The plan of action: stdout as text; with --json on stderr only if someone is asked."""
        if not self.ns.json:
            print(text)
        elif not (self.ns.yes or self.ns.dry_run):
            err(text)

    def finish(self, result: _Result, conn: Connection | None, key: PositionKey | None) -> int:
        after = conn.desk.positions.get(key) if conn is not None and key is not None else None
        intent = result.intent
        self.doc.update({
            "outcome": result.outcome,
            "message": result.message,
            "exit_code": result.code,
            "intent_id": None,
        })
        if intent is not None:
            self.doc.update({
                "intent_id": intent.id,
                "state": intent.state.value,
                "raw_status": intent.raw_status,
                "order_id": intent.order_id,
                "filled": dec(intent.filled),
                "verified_flat": intent.verified_flat,
                "next_step": intent.next_step or None,
                # Wire time (core.venues.wire); app_ms is what Closeout itself added around it.
                "first_reply_ms": None if intent.first_reply_ms is None
                else round(intent.first_reply_ms, 1),
                "app_ms": None if intent.app_ms is None else round(intent.app_ms, 1),
            })
        if key is not None:
            self.doc["position_after"] = None if after is None else {
                "side": after.side.value, "quantity": dec(after.quantity)}
        if self.ns.json:
            emit_json(self.doc)
        else:
            print(f"{OUTCOME_LABELS.get(result.outcome, result.outcome)}: {result.message}")
            if intent is not None and intent.next_step:
                print(f"next step: {intent.next_step}")
            sys.stdout.flush()
        return result.code


async def _close(ns: argparse.Namespace, deps: Deps, interrupt: Interrupt) -> int:
    args = replace(_args(ns), reason=normalise_reason(ns.reason))
    report = _Report(ns)

    def select(accounts: list[AccountConfig]) -> list[AccountConfig]:
        return select_accounts(accounts, names=[ns.account])

    async with connected(ns, deps, select) as conn:
        desk = conn.desk
        account = conn.account(ns.account)
        key = PositionKey(account.name, account.venue, ns.symbol)
        report.doc.update({"account": account.name, "venue": account.venue.value,
                           "environment": account.environment.value, "symbol": ns.symbol})
        position = desk.positions.get(key)
        if position is None:
            open_here = sorted(k.symbol for k in desk.positions if k.account == account.name)
            if ns.symbol not in desk.session(account.name).instruments:
                raise UsageError(
                    f"no open position in {ns.symbol!r} on {account.name}, and "
                    f"{account.venue.label} lists no such symbol (open: "
                    f"{', '.join(open_here) or 'none'})")
            return report.finish(_Result(EXIT_FLAT, "already_flat",
                                         f"no open {ns.symbol} position on {account.name}; "
                                         "nothing to close, nothing was sent"), conn, key)
        inst = desk.instrument(key)
        request = build_request(position, desk.capabilities(key), inst, args)
        try:
            preview = desk.preview(request)
        except CloseRejected as exc:  # the venue layer's own checks refuse to build it
            raise UsageError(str(exc)) from None
        report.doc.update({
            "position": {"side": position.side.value, "quantity": dec(position.quantity),
                         "entry_price": dec(position.entry_price),
                         "mark_price": dec(position.mark_price),
                         "unrealised_pnl": dec(position.unrealised_pnl)},
            "order": describe(request, inst),
            "reason": request.reason,
            "client_order_id": request.client_order_id,
            "request": preview,
        })
        live = is_live(account)
        lease = await _lease_line(conn, key, report, normalise_reason(ns.override_reason))
        report.out(
            f"Close {ns.symbol} on {account.name} ({account.venue.label}, "
            f"{account.environment.value.upper()})\n"
            f"Position: {_position_line(position, inst)}\n"
            f"Order:    {describe(request, inst)}\n"
            + (f"Reason:   {request.reason}\n" if request.reason else "")
            + (f"Lease:    {lease}\n" if lease else "")
            + "Request (keys and signatures redacted):\n"
            + "\n".join(f"  {line}" if line else "" for line in preview.splitlines()))
        if ns.dry_run:
            return report.finish(_Result(EXIT_FLAT, "dry_run", "nothing was sent"), conn, key)
        if not ns.yes:
            word = CONFIRM_WORD_LIVE if live else None
            prompt = (f"This is a LIVE account: the close goes to {account.venue.label} for "
                      "real." if live else "Send this close?")
            try:
                confirmed = await ask(prompt, word)
            except asyncio.CancelledError:
                interrupt.interrupted(PROG)
                raise
            if not confirmed:
                return report.finish(_Result(EXIT_NOT_DONE, "not_confirmed",
                                             "nothing was sent"), conn, key)
        result = await _send_and_follow(desk, request, ns.timeout, interrupt,
                                        normalise_reason(ns.override_reason))
        return report.finish(result, conn, key)


async def _lease_line(conn: Connection, key: PositionKey, report: _Report,
                      override: str | None) -> str | None:
    """Team mode: who holds the position's lease now, as the plan of action (and a dry run)
    shows it; None alone. Showing only: the lease is asked for again at send time."""
    if conn.team is None:
        return None
    holder, down = await holder_of(conn, key)
    report.doc["lease"] = {"holder": None if holder is None else asdict(holder),
                           "unavailable": down}
    then = ("--override-reason takes it" if override else
            "a send is refused; --override-reason sends anyway")
    if down is not None:
        return f"unknown: {down.split('; nothing was sent')[0]} ({then})"
    if holder is None:
        return "free: no other desk is closing it"
    return f"{holder.text()} ({then})"


async def _send_and_follow(desk: Desk, request: CloseRequest, timeout: float,
                           interrupt: Interrupt, override: str | None = None) -> _Result:
    key = request.key
    send = asyncio.ensure_future(desk.close(request, override_reason=override))
    try:
        intent = await asyncio.shield(send)
    except asyncio.CancelledError:
        # A send is never torn in half: let it finish, then say what happened.
        done, _ = await asyncio.wait({send}, timeout=5)
        sent = bool(done) and not send.cancelled() and send.exception() is None
        interrupt.said = True
        err(f"{PROG}: interrupted; " + (
            f"the close was sent (client order id {request.client_order_id}) and its outcome "
            "was not followed: check the position and the journal" if sent else
            "the close was not sent" if done else
            f"the close (client order id {request.client_order_id}) may have been sent: "
            "check the position and the journal"))
        raise
    except AlreadyPending as exc:
        return _Result(EXIT_NOT_DONE, "not_sent",
                       pending_text(exc.intent.key, exc.intent.state.value))
    except PositionChanged as exc:
        if exc.reason == "flat":
            return _Result(EXIT_FLAT, "already_flat", str(exc))
        return _Result(EXIT_NOT_DONE, "not_sent", str(exc))
    except LeaseHeld as exc:  # another desk is closing it: nothing was sent
        return _Result(EXIT_NOT_DONE, "lease_held",
                       f"{exc}; --override-reason TEXT sends anyway, journaled as an override")
    except CoordinationDown as exc:
        return _Result(EXIT_NOT_DONE, "no_lease",
                       f"{exc}; --override-reason TEXT sends anyway, journaled as an override")
    except CloseRejected as exc:
        latest = desk.latest_intent(key)
        ours = latest if latest is not None and \
            latest.request.client_order_id == request.client_order_id else None
        return _Result(EXIT_REJECTED, "rejected", str(exc), ours)
    except Exception as exc:  # the journal or the session failed in an unexpected way
        latest = desk.latest_intent(key)
        ours = latest if latest is not None and \
            latest.request.client_order_id == request.client_order_id else None
        if ours is None or ours.sent_at is None:  # failed before the session was handed it
            return _Result(EXIT_NOT_DONE, "not_sent",
                           f"the close was not sent: {type(exc).__name__}: {exc}")
        return _Result(EXIT_UNKNOWN, "unknown",
                       f"the close may or may not have been sent ({type(exc).__name__}: {exc}); "
                       "check the position and the journal; nothing will be resent", ours)
    try:
        return await _follow(desk, intent, timeout)
    except asyncio.CancelledError:
        interrupt.said = True
        err(f"{PROG}: interrupted; the close was sent (client order id "
            f"{request.client_order_id}) and was {intent.state.value.lower()} when this "
            "command stopped following it: check the position and the journal; nothing will "
            "be resent")
        raise


async def _follow(desk: Desk, intent: CloseIntent, timeout: float) -> _Result:
    """Wait for the venue's outcome (and, after a full close, venue data showing it flat)."""
    request = intent.request
    last = [intent.state]
    err(f"sent {request.client_order_id} ({intent.state.value.lower()})")

    def on_event(event: DeskEvent) -> None:
        if isinstance(event, IntentChanged) and event.intent is intent \
                and intent.state is not last[0]:
            last[0] = intent.state
            extra = f": {intent.message}" if intent.message else ""
            err(f"{intent.state.value.lower()}{extra}")

    unsubscribe = desk.subscribe(on_event)
    try:
        with contextlib.suppress(TimeoutError):
            await intent.settled(timeout)
        state = intent.state
        if state is IntentState.FILLED and request.is_full:
            with contextlib.suppress(TimeoutError):
                await intent.wait(lambda i: i.verified_flat is not None, desk.verify_timeout + 5)
        elif state in (IntentState.FILLED, IntentState.PARTIAL, IntentState.CANCELLED):
            await wait_for(desk, lambda: _book_reflects(desk, intent), desk.verify_timeout)
    finally:
        unsubscribe()
    try:
        await desk.journaled()  # what is reported is what the journal holds
    except JournalError as exc:
        return _Result(EXIT_UNKNOWN, "unknown",
                       f"the close was sent, but the journal stopped writing ({exc}): its "
                       "outcome could not be recorded; check the position at the venue; "
                       "nothing will be resent", intent)
    return _judge(desk, intent, timeout)


def _book_reflects(desk: Desk, intent: CloseIntent) -> bool:
    pos = desk.positions.get(intent.key)
    req = intent.request
    return pos is None or pos.side is not req.position_side or \
        pos.quantity <= req.position_quantity - intent.filled


def _judge(desk: Desk, intent: CloseIntent, timeout: float) -> _Result:
    s, req = intent.state, intent.request
    pos = desk.positions.get(intent.key)
    nf = number_format(desk.instrument(intent.key))
    left = "flat" if pos is None else f"{pos.side.value.lower()} {nf.quantity(pos.quantity)} open"
    filled = nf.quantity(intent.filled)
    if s is IntentState.FILLED:
        if not req.is_full:
            return _Result(EXIT_FLAT, "filled", f"filled {filled}; the position is now {left}",
                           intent)
        if intent.verified_flat:
            return _Result(EXIT_FLAT, "closed_verified_flat",
                           f"filled {filled}; venue data shows the position flat", intent)
        if intent.verified_flat is False:
            return _Result(EXIT_RESIDUAL, "residual", intent.message, intent)
        return _Result(EXIT_UNKNOWN, "unknown",
                       f"the venue reported it filled, but its position data did not confirm it "
                       f"(now {left}); nothing was resent", intent)
    if s is IntentState.RESTING:
        oid = f" as order {intent.order_id}" if intent.order_id else ""
        return _Result(EXIT_RESTING, "resting",
                       f"working at the venue{oid}; it keeps working after this command "
                       "exits (cancel it in the app if needed)", intent)
    if s is IntentState.REJECTED:
        return _Result(EXIT_REJECTED, "rejected", intent.message or "the venue refused the close",
                       intent)
    if s in (IntentState.PARTIAL, IntentState.CANCELLED):
        if pos is None and req.is_full:
            return _Result(EXIT_FLAT, "closed_verified_flat",
                           f"filled {filled}; venue data shows the position flat", intent)
        wanted = nf.quantity(req.quantity if req.quantity is not None
                             else req.position_quantity)
        why = f" ({intent.message})" if intent.message else ""
        return _Result(EXIT_RESIDUAL, "residual",
                       f"filled {filled} of {wanted}{why}; the position is now {left}", intent)
    why = intent.message or f"no outcome from the venue within {timeout:g} s"
    return _Result(EXIT_UNKNOWN, "unknown",
                   f"{why}; the position shows {left}. Nothing was resent: check it at the "
                   "venue or in the app", intent)


def main(argv: Sequence[str], *, deps: Deps | None = None) -> int:
    parser = build_parser()
    ns = parse_args(parser, argv)
    if isinstance(ns, int):
        return ns
    try:
        _check_syntax(parser, ns)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_ARGUMENTS
    try:
        normalise_reason(ns.reason)
        refuse_without_tty(ns)
    except (UsageError, Refused) as exc:
        return fail(PROG, exc, ns.json)
    d = deps or Deps()

    async def command(interrupt: Interrupt) -> int:
        try:
            return await _close(ns, d, interrupt)
        except (UsageError, ConnectFailed, *JOURNAL_ERRORS) as exc:
            return fail(PROG, exc, ns.json)
        except asyncio.CancelledError:
            interrupt.interrupted(PROG)
            raise

    return run(command)
