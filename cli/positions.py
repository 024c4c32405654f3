"""``closeout positions``: every open position of the accounts asked for, as a table, JSON or
CSV, with their totals (``core.totals``: count, notional and unrealised P&L, overall, per venue
and per account, per quote currency) as the window's totals strip shows them.

Connects only those accounts, waits for each one's first positions snapshot, prints and exits.
Exit 0; 7 when an account could not connect (the others are still printed, the reasons go to
standard error); 2 for bad arguments.
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
from core.model import Instrument, Position, PositionKey
from core.numbers import number_format
from core.tables import POSITION_TITLES, position_texts, totals_rows
from core.totals import Totals, breakdown, sums_text, totals, totals_document
from core.venue import AccountConfig

__all__ = ["build_parser", "csv_table", "main", "position_dict", "table", "totals_of",
           "totals_text"]

PROG = "closeout positions"
COLUMNS = ("venue", "account", "env", "symbol", "side", "qty", "entry", "mark", "uPnL")
_NUMERIC = frozenset({"qty", "entry", "mark", "uPnL"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="List open positions. Connects only the accounts asked for (all of them "
        "by default), waits for their positions, prints them and exits.",
    )
    parser.add_argument("--account", metavar="NAME", action="append", default=[],
                        help="only this account (repeat for several)")
    parser.add_argument("--venue", type=venue_arg, metavar="V",
                        help=f"only accounts on this venue ({venue_ids()})")
    add_output_options(parser)
    add_csv_option(parser)  # the totals rows come below the positions
    return parser


def _sorted(positions: Sequence[Position]) -> list[Position]:
    return sorted(positions, key=lambda p: (p.key.venue.value, p.key.account, p.key.symbol))


def position_dict(position: Position, account: AccountConfig | None) -> dict[str, Any]:
    key = position.key
    return {
        "venue": key.venue.value,
        "account": key.account,
        "environment": None if account is None else account.environment.value,
        "symbol": key.symbol,
        "side": position.side.value,
        "quantity": dec(position.quantity),
        "entry_price": dec(position.entry_price),
        "mark_price": dec(position.mark_price),
        "unrealised_pnl": dec(position.unrealised_pnl),
        "liquidation_price": dec(position.liquidation_price),
        "leverage": dec(position.leverage),
    }


def table(positions: Sequence[Position], accounts: dict[str, AccountConfig],
          instrument: Callable[[PositionKey], Instrument | None] = lambda _key: None) -> str:
    """A plain-text table; numbers right-aligned, written as the GUI writes them
    (core.numbers: the lot's and tick's decimals, P&L to its currency's; "-" for none)."""
    rows: list[tuple[str, ...]] = []
    for p in _sorted(positions):
        account = accounts.get(p.key.account)
        nf = number_format(instrument(p.key))
        rows.append((
            p.key.venue.label,
            p.key.account,
            account.environment.value.upper() if account else "?",
            p.key.symbol,
            p.side.value,
            nf.quantity(p.quantity) or "-",
            nf.price(p.entry_price) or "-",
            nf.price(p.mark_price) or "-",
            nf.pnl(p.unrealised_pnl) or "-",
        ))
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(COLUMNS)]

    def line(cells: Sequence[str]) -> str:
        out = [cell.rjust(w) if name in _NUMERIC else cell.ljust(w)
               for cell, w, name in zip(cells, widths, COLUMNS, strict=True)]
        return "  ".join(out).rstrip()

    return "\n".join([line(COLUMNS), *(line(r) for r in rows)])


def totals_of(positions: Sequence[Position],
              instrument: Callable[[PositionKey], Instrument | None] = lambda _key: None
              ) -> Totals:
    """The positions' totals, each in its instrument's quote currency."""
    return totals((p, number_format(instrument(p.key)).quote) for p in positions)


def totals_text(t: Totals) -> str:
    """The totals under the table: all venues, each venue, each account, one line each."""
    return "\n".join(["totals:", *(f"  {label}: {sums_text(s)}" for _k, label, s in breakdown(t))])


def csv_table(positions: Sequence[Position], accounts: dict[str, AccountConfig],
              instrument: Callable[[PositionKey], Instrument | None] = lambda _key: None) -> str:
    """The window's export of the same positions (its columns, texts and totals rows), in the
    CLI's order (venue, account, symbol)."""
    rows: list[Sequence[str]] = []
    for p in _sorted(positions):
        account = accounts.get(p.key.account)
        rows.append(position_texts(p, account.environment if account else None,
                                   number_format(instrument(p.key))))
    rows += totals_rows(POSITION_TITLES, totals_of(positions, instrument))
    return csv_text(POSITION_TITLES, rows)


async def _list(ns: argparse.Namespace, deps: Deps, interrupt: Interrupt) -> int:
    def select(accounts: list[AccountConfig]) -> list[AccountConfig]:
        return select_accounts(accounts, names=ns.account, venue=ns.venue)

    async with connected(ns, deps, select, allow_partial=True) as conn:
        return _print(ns, conn)


def _print(ns: argparse.Namespace, conn: Connection) -> int:
    accounts = {a.name: a for a in conn.accounts}
    positions = [p for p in conn.desk.positions.values() if p.key.account in accounts]
    for name, why in conn.failures.items():
        err(f"{PROG}: {name}: could not connect: {why}")
    if ns.json:
        emit_json({
            "demo": conn.demo,
            "accounts": [
                {"name": a.name, "venue": a.venue.value, "environment": a.environment.value,
                 "connected": a.name not in conn.failures, "error": conn.failures.get(a.name)}
                for a in conn.accounts
            ],
            "positions": [position_dict(p, accounts.get(p.key.account))
                          for p in _sorted(positions)],
            "totals": totals_document(totals_of(positions, conn.desk.instrument)),
        })
    elif ns.csv:
        sys.stdout.write(csv_table(positions, accounts, conn.desk.instrument))
        sys.stdout.flush()
    else:
        print(table(positions, accounts, conn.desk.instrument))
        print(totals_text(totals_of(positions, conn.desk.instrument)))
        n = len(positions)
        ok = len(conn.accounts) - len(conn.failures)
        summary = (f"{n} open position{'s' if n != 1 else ''} on {ok} account"
                   f"{'s' if ok != 1 else ''}")
        if conn.failures:
            summary += f"; {len(conn.failures)} account(s) could not connect"
        print(summary)
        sys.stdout.flush()
    return EXIT_CONNECTION_FAILED if conn.failures else EXIT_FLAT


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
