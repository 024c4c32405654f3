"""``closeout orders``: the working orders (limit closes and triggers resting at the venues) of
the accounts asked for, as a table, JSON or CSV, with the window's columns and texts
(``core.tables``).

Connects only those accounts, asks each one for its resting orders afresh, prints and exits.
Exit 0; 7 when an account could not connect (the others are still printed, the reasons go to
standard error); 2 for bad arguments. Nothing is sent but the venues' order listings.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from typing import Any

from cli.common import (
    EXIT_CONNECTION_FAILED,
    EXIT_FLAT,
    JOURNAL_ERRORS,
    ConnectFailed,
    Connection,
    Deps,
    Interrupt,
    UsageError,
    add_csv_option,
    add_output_options,
    connected,
    dec,
    emit_json,
    err,
    fail,
    output_clash,
    parse_args,
    run,
    select_accounts,
    venue_arg,
    venue_ids,
)
from core.csv_out import csv_text
from core.model import Instrument, PositionKey, WorkingOrder
from core.numbers import number_format
from core.tables import WORKING_TITLES, working_texts
from core.venue import AccountConfig

__all__ = ["build_parser", "csv_table", "main", "order_dict", "table"]

PROG = "closeout orders"
LISTING_TIMEOUT = 10.0  # seconds an account's fresh order listing may take
_NUMERIC = frozenset({"Quantity", "Remaining", "Price", "Trigger"})
Lookup = Callable[[PositionKey], Instrument | None]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="List working orders (limit closes and triggers resting at the venues). "
        "Connects only the accounts asked for (all of them by default), asks each for its "
        "resting orders, prints them and exits.",
    )
    parser.add_argument("--account", metavar="NAME", action="append", default=[],
                        help="only this account (repeat for several)")
    parser.add_argument("--venue", type=venue_arg, metavar="V",
                        help=f"only accounts on this venue ({venue_ids()})")
    add_output_options(parser)
    add_csv_option(parser)
    return parser


def _sorted(orders: Sequence[WorkingOrder]) -> list[WorkingOrder]:
    return sorted(orders, key=lambda o: (o.venue.value, o.account, o.symbol, o.order_id))


def _texts(orders: Sequence[WorkingOrder], instrument: Lookup) -> list[tuple[str, ...]]:
    return [working_texts(o, number_format(instrument(PositionKey(o.account, o.venue,
                                                                  o.symbol))))
            for o in _sorted(orders)]


def order_dict(o: WorkingOrder) -> dict[str, Any]:
    return {
        "venue": o.venue.value,
        "account": o.account,
        "symbol": o.symbol,
        "order_id": o.order_id,
        "client_order_id": o.client_order_id,
        "kind": o.kind.value,
        "side": None if o.side is None else o.side.value,
        "order_type": o.order_type,
        "quantity": dec(o.quantity),
        "remaining": dec(o.remaining),
        "price": dec(o.price),
        "trigger_price": dec(o.trigger_price),
        "trigger_event": None if o.trigger_event is None else o.trigger_event.value,
        "reduce_only": o.reduce_only,
        "close_on_trigger": o.close_on_trigger,
        "venue_status": o.raw_status,
    }


def table(orders: Sequence[WorkingOrder], instrument: Lookup = lambda _key: None) -> str:
    """A plain-text table with the window's columns; numbers right-aligned."""
    rows = _texts(orders, instrument)
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(WORKING_TITLES)]

    def line(cells: Sequence[str]) -> str:
        out = [cell.rjust(w) if name in _NUMERIC else cell.ljust(w)
               for cell, w, name in zip(cells, widths, WORKING_TITLES, strict=True)]
        return "  ".join(out).rstrip()

    return "\n".join([line(WORKING_TITLES), *(line(r) for r in rows)])


def csv_table(orders: Sequence[WorkingOrder], instrument: Lookup = lambda _key: None) -> str:
    """The window's export of the same orders, in the CLI's order."""
    return csv_text(WORKING_TITLES, _texts(orders, instrument))


async def _refresh(conn: Connection) -> dict[str, str]:
    """Each connected account's resting orders, asked afresh (a listing sent on connect may
    still be on its way). Returns the accounts that could not be listed, and why: their
    orders known so far are still printed, and the exit code says the list may be short."""
    names = [a.name for a in conn.accounts if a.name not in conn.failures]
    unlisted: dict[str, str] = {}

    async def one(name: str) -> None:
        try:
            async with asyncio.timeout(LISTING_TIMEOUT):
                await conn.desk.session(name).refresh_orders()
        except Exception as exc:
            unlisted[name] = (f"its working orders could not be listed "
                              f"({type(exc).__name__}{': ' + str(exc) if str(exc) else ''})")

    await asyncio.gather(*(one(n) for n in names))
    return unlisted


async def _list(ns: argparse.Namespace, deps: Deps, interrupt: Interrupt) -> int:
    def select(accounts: list[AccountConfig]) -> list[AccountConfig]:
        return select_accounts(accounts, names=ns.account, venue=ns.venue)

    async with connected(ns, deps, select, allow_partial=True) as conn:
        return _print(ns, conn, await _refresh(conn))


def _print(ns: argparse.Namespace, conn: Connection, unlisted: dict[str, str]) -> int:
    accounts = {a.name for a in conn.accounts}
    orders = [o for o in conn.desk.working_orders.values() if o.account in accounts]
    for name, why in conn.failures.items():
        err(f"{PROG}: {name}: could not connect: {why}")
    for name, why in unlisted.items():
        err(f"{PROG}: {name}: {why}")
    problems = {**conn.failures, **unlisted}
    if ns.json:
        emit_json({
            "demo": conn.demo,
            "accounts": [
                {"name": a.name, "venue": a.venue.value, "environment": a.environment.value,
                 "connected": a.name not in conn.failures, "error": problems.get(a.name)}
                for a in conn.accounts
            ],
            "orders": [order_dict(o) for o in _sorted(orders)],
        })
    elif ns.csv:
        sys.stdout.write(csv_table(orders, conn.desk.instrument))
        sys.stdout.flush()
    else:
        print(table(orders, conn.desk.instrument))
        n = len(orders)
        ok = len(conn.accounts) - len(problems)
        summary = (f"{n} working order{'s' if n != 1 else ''} on {ok} account"
                   f"{'s' if ok != 1 else ''}")
        if problems:
            summary += f"; {len(problems)} account(s) could not be listed"
        print(summary)
        sys.stdout.flush()
    return EXIT_CONNECTION_FAILED if problems else EXIT_FLAT


def main(argv: Sequence[str], *, deps: Deps | None = None) -> int:
    ns = parse_args(build_parser(), argv)
    if isinstance(ns, int):
        return ns
    clash = output_clash(PROG, ns)
    if clash is not None:
        return clash
    d = deps or Deps()

    async def command(interrupt: Interrupt) -> int:
        try:
            return await _list(ns, d, interrupt)
        except (UsageError, ConnectFailed, *JOURNAL_ERRORS) as exc:
            return fail(PROG, exc, ns.json)
        except asyncio.CancelledError:
            interrupt.interrupted(PROG)
            raise

    return run(command)
