"""Totals of a set of positions: how many, their notional (size × mark) and their unrealised
P&L, overall, per venue and per account. The window's totals strip, its group-by-account
subtotals and the CLI's ``positions`` all add through here, so they never disagree.

Money is summed **per quote currency**, never across currencies: 10 USD and 10 USDT are not
20 of anything (a stablecoin can de-peg, and an unknown currency could be anything), so a
total over instruments quoted in several currencies is one figure per currency, and a place
with room for one figure says "mixed". An instrument whose quote currency is not known is a
currency of its own (``None``, shown as "?"), never folded into USD.

A position without a mark has no notional and one without P&L adds no P&L: both still count
as positions, and the sums say how many they left out, so a trader sees that a total is
incomplete ("P&L of 38 of 40") instead of reading a partial sum as the whole.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from core.model import Position, Venue
from core.numbers import fixed, pnl_places, shown

__all__ = [
    "UNKNOWN_CURRENCY_LABEL",
    "Amounts",
    "RunningTotals",
    "Sums",
    "Totals",
    "amounts_text",
    "breakdown",
    "sums_document",
    "sums_text",
    "totals",
    "totals_document",
]

Amounts = dict[str | None, Decimal]  # quote currency (None: not known) -> exact sum
UNKNOWN_CURRENCY_LABEL = "?"
_ZERO = Decimal(0)


@dataclass(slots=True)
class Sums:
    """Exact sums over some positions, money per quote currency.

    ``add`` with ``step`` -1 takes a position's figures back out: Decimal addition is exact,
    so running sums kept by deltas equal sums done afresh. A currency leaves the sums when its
    last position goes (its count, not its amount, says so: a sum can be exactly zero).
    """

    positions: int = 0
    without_mark: int = 0  # positions left out of the notional
    without_pnl: int = 0  # positions left out of the P&L
    notional: Amounts = field(default_factory=dict)
    pnl: Amounts = field(default_factory=dict)
    _n_notional: dict[str | None, int] = field(default_factory=dict, repr=False)
    _n_pnl: dict[str | None, int] = field(default_factory=dict, repr=False)

    def add(self, position: Position, currency: str | None, step: int = 1) -> None:
        self.add_figures(position.notional, position.unrealised_pnl, currency, step)

    def add_figures(self, notional: Decimal | None, pnl: Decimal | None,
                    currency: str | None, step: int = 1) -> None:
        """One position's figures (None: not known), in or (``step`` -1) out."""
        self.positions += step
        if notional is None:
            self.without_mark += step
        else:
            _bump(self.notional, self._n_notional, currency, notional, step)
        if pnl is None:
            self.without_pnl += step
        else:
            _bump(self.pnl, self._n_pnl, currency, pnl, step)

    def merge(self, other: Sums) -> None:
        """Add another set's sums to these."""
        self.positions += other.positions
        self.without_mark += other.without_mark
        self.without_pnl += other.without_pnl
        for cur, amount in other.notional.items():
            _bump(self.notional, self._n_notional, cur, amount, other._n_notional[cur],
                  counted=True)
        for cur, amount in other.pnl.items():
            _bump(self.pnl, self._n_pnl, cur, amount, other._n_pnl[cur], counted=True)

    @property
    def with_pnl(self) -> int:
        return self.positions - self.without_pnl

    @property
    def with_mark(self) -> int:
        return self.positions - self.without_mark

    @property
    def mixed(self) -> bool:
        """More than one quote currency: no single figure is the total."""
        return len(set(self.notional) | set(self.pnl)) > 1

    def single(self, amounts: Amounts) -> Decimal | None:
        """The one figure of ``amounts`` when it is in one currency (0 when empty); None when
        mixed."""
        if len(amounts) > 1:
            return None
        return next(iter(amounts.values()), _ZERO)

    def decimals(self) -> int:
        """Decimals for a figure in one place: the most any of the currencies wants."""
        currencies = set(self.notional) | set(self.pnl)
        return max((pnl_places(c) for c in currencies), default=pnl_places(None))


def _bump(amounts: Amounts, counts: dict[str | None, int], currency: str | None,
          amount: Decimal, step: int, *, counted: bool = False) -> None:
    """Add ``amount`` (once, or ``step`` times when not ``counted``) and ``step`` positions."""
    left = counts.get(currency, 0) + step
    if left <= 0:
        counts.pop(currency, None)
        amounts.pop(currency, None)
        return
    counts[currency] = left
    add = amount if counted or step == 1 else amount * step
    amounts[currency] = amounts.get(currency, _ZERO) + add


@dataclass(slots=True)
class Totals:
    """Sums overall, per venue and per account (accounts are keyed by (venue, name))."""

    overall: Sums = field(default_factory=Sums)
    venues: dict[Venue, Sums] = field(default_factory=dict)
    accounts: dict[tuple[Venue, str], Sums] = field(default_factory=dict)

    def add(self, position: Position, currency: str | None, step: int = 1) -> None:
        key = position.key
        self.overall.add(position, currency, step)
        venue = self.venues.get(key.venue)
        if venue is None:
            venue = self.venues[key.venue] = Sums()
        venue.add(position, currency, step)
        if venue.positions <= 0:
            del self.venues[key.venue]
        where = (key.venue, key.account)
        account = self.accounts.get(where)
        if account is None:
            account = self.accounts[where] = Sums()
        account.add(position, currency, step)
        if account.positions <= 0:
            del self.accounts[where]


def totals(positions: Iterable[tuple[Position, str | None]]) -> Totals:
    """Totals of (position, its quote currency) pairs, summed afresh."""
    out = Totals()
    for position, currency in positions:
        out.add(position, currency)
    return out


Leaf = tuple[Venue, str, str | None]  # (venue, account, quote currency)
_Held = tuple[Leaf, Decimal | None, Decimal | None]  # a row's leaf, notional and P&L


class RunningTotals:
    """Totals kept up to date by deltas: ``put`` a row's latest position (its old figures come
    out, the new go in), ``discard`` a row that went. Each costs a few additions to one leaf
    (venue, account, currency), whatever the number of rows, so a repricing of some rows never
    re-adds all of them; ``totals`` adds the leaves up (there are few). Rows are any hashable
    identity (the window's row records)."""

    def __init__(self) -> None:
        self._held: dict[Hashable, _Held] = {}
        self._leaves: dict[Leaf, Sums] = {}

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, row: Hashable) -> bool:
        return row in self._held

    def put(self, row: Hashable, position: Position, currency: str | None) -> None:
        key = position.key
        new = ((key.venue, key.account, currency), position.notional, position.unrealised_pnl)
        held = self._held
        old = held.get(row)
        if old == new:
            return
        leaves = self._leaves
        if old is not None:
            self._take(old)
        held[row] = new
        leaf = leaves.get(new[0])
        if leaf is None:
            leaf = leaves[new[0]] = Sums()
        leaf.add_figures(new[1], new[2], currency)

    def discard(self, row: Hashable) -> None:
        old = self._held.pop(row, None)
        if old is not None:
            self._take(old)

    def _take(self, held: _Held) -> None:
        where = held[0]
        leaf = self._leaves[where]
        leaf.add_figures(held[1], held[2], where[2], -1)
        if leaf.positions <= 0:
            del self._leaves[where]

    def clear(self) -> None:
        self._held.clear()
        self._leaves.clear()

    @property
    def totals(self) -> Totals:
        """Overall, per venue and per account, added up from the leaves."""
        out = Totals()
        for (venue, account, _cur), leaf in self._leaves.items():
            out.overall.merge(leaf)
            v = out.venues.get(venue)
            if v is None:
                v = out.venues[venue] = Sums()
            v.merge(leaf)
            a = out.accounts.get((venue, account))
            if a is None:
                a = out.accounts[(venue, account)] = Sums()
            a.merge(leaf)
        return out


def amounts_text(amounts: Mapping[str | None, Decimal], *, signed: bool = False) -> str:
    """One figure per currency, each to its currency's decimals: "+12.00 USD · -3.10 USDT";
    "0" when there is none."""
    if not amounts:
        return "0"
    parts = []
    for cur in sorted(amounts, key=lambda c: (c is None, c or "")):
        text = shown(fixed(amounts[cur], pnl_places(cur), signed=signed))
        parts.append(f"{text} {cur if cur is not None else UNKNOWN_CURRENCY_LABEL}")
    return " · ".join(parts)


def sums_text(s: Sums) -> str:
    """A line a trader reads: "40 positions · notional 1250.00 USD · uP&L +12.00 USD", with
    "(P&L of 38 of 40)" and "(notional of 39 of 40)" when some positions could not be added."""
    n = s.positions
    text = f"{n} position{'s' if n != 1 else ''} · notional {amounts_text(s.notional)}"
    if s.without_mark:
        text += f" (of {s.with_mark} of {n})"
    text += f" · uP&L {amounts_text(s.pnl, signed=True)}"
    if s.without_pnl:
        text += f" (P&L of {s.with_pnl} of {n})"
    return text


def breakdown(t: Totals) -> list[tuple[str, str, Sums]]:
    """Every line of totals, as the window's strip, the CSV export and the CLI list them:
    ("all", "All venues", sums), then ("venue", its label, sums) by label, then
    ("account", "name · venue", sums) by name."""
    lines: list[tuple[str, str, Sums]] = [("all", "All venues", t.overall)]
    lines += sorted((("venue", v.label, s) for v, s in t.venues.items()),
                    key=lambda x: x[1].casefold())
    lines += sorted((("account", f"{a} · {v.label}", s) for (v, a), s in t.accounts.items()),
                    key=lambda x: x[1].casefold())
    return lines


def sums_document(s: Sums) -> dict[str, object]:
    """Sums for a JSON document: exact amounts (Decimals) keyed by currency ("?" for one not
    known), and how many positions each figure leaves out."""
    def amounts(a: Amounts) -> dict[str, Decimal]:
        return {UNKNOWN_CURRENCY_LABEL if c is None else c: a[c]
                for c in sorted(a, key=lambda c: (c is None, c or ""))}

    return {
        "positions": s.positions,
        "notional": amounts(s.notional),
        "unrealised_pnl": amounts(s.pnl),
        "without_mark": s.without_mark,
        "without_pnl": s.without_pnl,
    }


def totals_document(t: Totals) -> dict[str, object]:
    """``totals`` of ``closeout positions --json``: all, per venue (by id), per account."""
    return {
        "all": sums_document(t.overall),
        "venues": {v.value: sums_document(s)
                   for v, s in sorted(t.venues.items(), key=lambda x: x[0].value)},
        "accounts": [{"venue": v.value, "account": a, **sums_document(s)}
                     for (v, a), s in sorted(t.accounts.items(),
                                             key=lambda x: (x[0][1].casefold(), x[0][0].value))],
    }
