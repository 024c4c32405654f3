"""The rows the front ends write as text, where the window and the CLI mean the same thing:
positions and working orders, each a tuple of column titles and a function from one item to
its cells, numbers written by the item's instrument (``core.numbers``).

The working-orders table of the window is built from ``working_texts``; the window's positions
table keeps its own faster cell code (it runs on every repricing of every row), which a test
holds equal to ``position_texts``. The CLI's ``--csv`` output and the window's CSV export use
these titles, so a spreadsheet made from either reads the same; both end a positions table
with ``totals_rows``.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.model import Environment, OrderSide, Position, PositionSide, WorkingKind, WorkingOrder
from core.numbers import UNKNOWN, NumberFormat, fixed, pnl_places
from core.totals import Sums, Totals

__all__ = [
    "POSITION_TITLES",
    "WORKING_TITLES",
    "env_text",
    "position_texts",
    "totals_rows",
    "trigger_text",
    "working_texts",
]

POSITION_TITLES: tuple[str, ...] = (
    "Venue", "Account", "Env", "Symbol", "Side", "Quantity", "Entry", "Mark", "Unrealised P&L")
WORKING_TITLES: tuple[str, ...] = (
    "Venue", "Account", "Symbol", "Kind", "Side", "Quantity", "Remaining", "Price", "Trigger",
    "Venue status")

_KIND_LABELS = {WorkingKind.LIMIT: "Limit", WorkingKind.TRIGGER: "Trigger"}
_ORDER_SIDE_LABELS = {s: s.value.capitalize() for s in OrderSide}
_POSITION_SIDE_LABELS = {s: s.value.capitalize() for s in PositionSide}


def env_text(env: Environment | None) -> str:
    """How an environment is written everywhere it is shown: LIVE, TESTNET, DEMO."""
    return env.value.upper() if env is not None else ""


def position_texts(pos: Position, env: Environment | None,
                   fmt: NumberFormat = UNKNOWN) -> tuple[str, ...]:
    """One position's cells under ``POSITION_TITLES``."""
    k = pos.key
    return (k.venue.label, k.account, env_text(env), k.symbol, _POSITION_SIDE_LABELS[pos.side],
            fmt.quantity(pos.quantity), fmt.price(pos.entry_price), fmt.price(pos.mark_price),
            fmt.pnl(pos.unrealised_pnl))


def trigger_text(o: WorkingOrder, fmt: NumberFormat) -> str:
    """"4400.00 Mark": the trigger price to the tick, then what it watches."""
    if o.trigger_price is None:
        return ""
    text = fmt.price(o.trigger_price)
    return f"{text} {o.trigger_event.label}" if o.trigger_event is not None else text


def working_texts(o: WorkingOrder, fmt: NumberFormat = UNKNOWN) -> tuple[str, ...]:
    """One working order's cells under ``WORKING_TITLES``."""
    if o.price is not None:
        price = fmt.price(o.price)
    else:
        price = "Market" if o.kind is WorkingKind.TRIGGER else ""
    return (
        o.venue.label,
        o.account,
        o.symbol,
        _KIND_LABELS.get(o.kind, o.kind.value),
        _ORDER_SIDE_LABELS[o.side] if o.side is not None else "",
        fmt.quantity(o.quantity) or "All",
        fmt.quantity(o.remaining),
        price,
        trigger_text(o, fmt),
        o.raw_status,
    )


def totals_rows(header: Sequence[str], totals: Totals) -> list[list[str]]:
    """The totals under a positions export, in its columns (by title): all venues, then each
    venue, then each account, one row per quote currency. The Entry column says "notional"
    and its currency, as the table's own totals rows do."""
    scopes: list[tuple[str, str, Sums]] = [("All venues", "Total", totals.overall)]
    scopes += sorted(((v.label, "Total", s) for v, s in totals.venues.items()),
                     key=lambda x: x[0].casefold())
    scopes += sorted(((v.label, f"{a} total", s) for (v, a), s in totals.accounts.items()),
                     key=lambda x: (x[1].casefold(), x[0]))
    rows = []
    for venue, account, s in scopes:
        n = s.positions
        what = f"{n} position{'s' if n != 1 else ''}"
        if s.without_pnl:
            what += f" · P&L of {s.with_pnl} of {n}"
        if s.without_mark:
            what += f" · notional of {s.with_mark} of {n}"
        currencies = sorted(set(s.notional) | set(s.pnl), key=lambda c: (c is None, c or ""))
        for cur in currencies or [None]:
            places = pnl_places(cur)
            cells = {
                "Venue": venue, "Account": account, "Symbol": what,
                "Entry": f"notional {cur or '?'}" if currencies else "notional",
                "Mark": fixed(s.notional.get(cur), places),
                "Unrealised P&L": fixed(s.pnl.get(cur), places, signed=True),
            }
            rows.append([cells.get(title, "") for title in header])
    return rows
