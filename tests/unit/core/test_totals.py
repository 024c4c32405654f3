"""Totals: exact per-currency sums, incomplete totals flagged, running sums equal fresh ones."""

from __future__ import annotations

import random
from decimal import Decimal as D

from core.model import Position, PositionKey, PositionSide, Venue
from core.totals import RunningTotals, Sums, amounts_text, sums_text, totals

QFEX, EVER = Venue("qfex"), Venue("everstrike")


def pos(account: str, symbol: str, qty: str, mark: str | None, pnl: str | None,
        venue: Venue = QFEX) -> Position:
    return Position(PositionKey(account, venue, symbol), PositionSide.LONG, D(qty),
                    mark_price=None if mark is None else D(mark),
                    unrealised_pnl=None if pnl is None else D(pnl))


def test_sums_are_exact_per_venue_and_per_account() -> None:
    t = totals([
        (pos("a", "BTC", "0.1", "64000.5", "10.10"), "USD"),
        (pos("a", "ETH", "2", "3000", "-0.30"), "USD"),
        (pos("b", "BTC", "1", "0.1", "0.2", EVER), "USD"),
    ])
    assert t.overall.positions == 3
    assert t.overall.notional == {"USD": D("12400.15")}
    assert t.overall.pnl == {"USD": D("10.00")}
    assert t.venues[QFEX].notional == {"USD": D("12400.05")}
    assert t.venues[EVER].pnl == {"USD": D("0.2")}
    assert t.accounts[(QFEX, "a")].positions == 2
    assert set(t.accounts) == {(QFEX, "a"), (EVER, "b")}
    assert not t.overall.mixed


def test_currencies_are_never_added_together_and_unknown_is_its_own() -> None:
    t = totals([
        (pos("a", "X", "1", "100", "5"), "USD"),
        (pos("a", "Y", "1", "100", "7"), "USDT"),
        (pos("a", "Z", "1", "100", "1"), None),
    ])
    s = t.overall
    assert s.pnl == {"USD": D(5), "USDT": D(7), None: D(1)}
    assert s.mixed and s.single(s.pnl) is None
    assert amounts_text(s.pnl, signed=True) == "+5.00 USD · +7.00 USDT · +1.00 ?"


def test_positions_without_mark_or_pnl_count_but_are_flagged() -> None:
    s = totals([
        (pos("a", "X", "1", "100", "5"), "USD"),
        (pos("a", "Y", "3", None, None), "USD"),
        (pos("a", "Z", "1", "10", None), "USD"),
    ]).overall
    assert (s.positions, s.without_mark, s.without_pnl) == (3, 1, 2)
    assert sums_text(s) == ("3 positions · notional 110.00 USD (of 2 of 3) · "
                            "uP&L +5.00 USD (P&L of 1 of 3)")


def test_a_total_of_nothing_reads_zero() -> None:
    assert sums_text(Sums()) == "0 positions · notional 0 · uP&L 0"


def test_running_totals_equal_totals_done_afresh_through_many_changes() -> None:
    rng = random.Random(7)
    running = RunningTotals()
    live: dict[int, tuple[Position, str | None]] = {}
    for _ in range(3000):
        row = rng.randrange(60)
        if rng.random() < 0.2:
            running.discard(row)
            live.pop(row, None)
            continue
        mark = None if rng.random() < 0.1 else f"{rng.randrange(1, 10**6)}.{rng.randrange(100)}"
        pnl = None if rng.random() < 0.1 else f"-{rng.randrange(10**5)}.{rng.randrange(10)}"
        p = pos(f"acct{row % 5}", f"S{row}", f"{rng.randrange(1, 999)}.5", mark, pnl,
                QFEX if row % 2 else EVER)
        cur = rng.choice(["USD", "USDT", None])
        running.put(row, p, cur)
        live[row] = (p, cur)
    assert running.totals == totals(live.values())
    assert len(running) == len(live)
    for row in list(live):
        running.discard(row)
    assert running.totals == totals(())  # every currency and group left with its last row


def test_merge_equals_summing_together() -> None:
    a = [(pos("a", "X", "1", "100", "5"), "USD"), (pos("a", "Y", "2", None, "1"), "EUR")]
    b = [(pos("b", "X", "1", "3", None), "USD")]
    merged = totals(a).overall
    merged.merge(totals(b).overall)
    assert merged == totals(a + b).overall
