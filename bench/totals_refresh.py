"""Totals strip: what keeping the positions' totals costs the GUI thread at 10,000 rows.

Method: a fresh ``MainWindow`` over a fresh ``Desk`` (as ``table_scale``), 10,000 rows on 10
accounts. Once every row is shown and the strip counts them all: (1) every row is repriced
(a new mark, so notional and P&L change) through the model's own path, and the totals
controller's refreshes are timed, each turn of the loop apart, until the strip shows the new
sums; (2) a filter is set and cleared, each time timing the refreshes that sum every row
through the filters afresh. A refresh swaps the marked rows in within a budget per turn, so
the figure that matters for the window is the longest single turn; the whole is the CPU it
costs. Repricing every row at once is the worst case: live, the model's coalesced flushes
mark a few thousand rows per refresh.
"""

from __future__ import annotations

import time
from collections import defaultdict
from decimal import Decimal

from bench._feed import book
from bench._window import Stack, close_stack, connect, open_stack, run_on_qt, until
from bench.report import Metric, Report, distribution, load_average

TITLE = "Totals strip: running sums at 10,000 rows (per turn and in all)"
SIZE, TINY = 10_000, 300
PER_ACCOUNT = 1_000
TURN_TARGET_MS = 8.0  # half a frame: a refresh turn never makes the window late


def _drain(stack: Stack) -> list[float]:
    """Run the totals' refresh turn by turn until it is done; each turn's seconds."""
    totals = stack.window.totals
    turns = []
    while True:
        totals.timer.stop()
        t0 = time.perf_counter()
        totals.refresh()
        turns.append(time.perf_counter() - t0)
        if not totals.timer.isActive():  # a refresh that yields restarts its timer
            return turns


async def _one(size: int, out: dict[str, list[float]]) -> None:
    from core.venue import Credentials

    load = book(size, per_account=PER_ACCOUNT, symbols=PER_ACCOUNT)
    stack = await open_stack(load=load.rows)
    try:
        w = stack.window
        pairs = [(a, Credentials(a.public_key, "bench-secret")) for a in load.accounts]
        if await connect(stack, pairs):
            raise RuntimeError("accounts failed to connect")
        await until(lambda: stack.rows_shown == size, 60, f"{size} rows in the view")
        await until(lambda: w.totals.running.totals.overall.positions == size, 60,
                    "the strip counting every row")
        model = w.positions_model
        repriced = [r.position.with_mark(r.position.mark_price + Decimal("0.5"))
                    for r in model.records() if r.position is not None
                    and r.position.mark_price is not None]
        model.upsert_many(repriced)  # marks the rows; the strip sums them on its refresh
        turns = _drain(stack)
        out["reprice turn"] += turns
        out["reprice all"].append(sum(turns))
        for text in ("S00042", ""):
            w.symbolFilter.setText(text)
            turns = _drain(stack)
            out["refilter turn"] += turns
            out["refilter all"].append(sum(turns))
        if w.totals.running.totals.overall.positions != size:
            raise RuntimeError("the strip lost rows")
    finally:
        await close_stack(stack)


def run(*, tiny: bool, repeat: int = 3) -> Report:
    size = TINY if tiny else SIZE
    out: dict[str, list[float]] = defaultdict(list)

    async def main() -> None:
        for _ in range(max(1, repeat)):
            await _one(size, out)

    run_on_qt(main, style=not tiny)
    report = Report(TITLE, tiny=tiny)
    for name in ("reprice turn", "reprice all", "refilter turn", "refilter all"):
        spread = distribution([s * 1000 for s in out[name]])
        turn = name.endswith("turn")
        report.add(Metric(
            f"{name}, {size:,} rows", spread.max if turn else spread.p50, "ms",
            f"<= {TURN_TARGET_MS:g} ms (max)" if turn else None,
            spread.max <= TURN_TARGET_MS if turn else None, spread))
    report.notes.append(
        "reprice: every row gets a new mark at once, then the totals' refresh turns are timed "
        "until the strip shows the new sums; refilter: a symbol filter set and cleared, each "
        "summing every row through the filters afresh. 'turn' is one loop turn (its max is "
        "the figure), 'all' every turn of one refresh (CPU).")
    report.load_average = load_average()
    return report


if __name__ == "__main__":
    from bench.__main__ import print_report

    print_report(run(tiny=False), "totals_refresh")
