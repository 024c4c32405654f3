"""Table scale: 1k, 10k and 50k positions inserted, sorted by P&L and filtered, each until
painted, in the real window.

Method: for each size a fresh ``MainWindow`` over a fresh ``Desk`` and ``Journal`` (temporary
file), 1,000 rows per account (accounts alternate QFEX and Everstrike). The clock starts before
the accounts connect; each session delivers its positions snapshot through the desk's sink on
connect, as a venue session does, and the clock stops once the view holds every row and its
viewport has painted. Then two clicks on the P&L header (through the real header view: the
first sorts, the second reverses), each until the top rows are in the right order and painted;
then the symbol filter box is set (as a paste) to a symbol one row per account holds, and
cleared, each until the view holds the expected rows and has painted. The filter runs while
sorted by P&L, where a trader who just sorted would use it. P&L values are distinct, so each
sort has one right answer. With ``--repeat N`` the sizes run in N interleaved rounds.

Budget: 45 s on the code before the performance work (measured: 10k insert 1.5 s, 50k insert
11 s, 50k sort clicks 7–9 s each, 50k filter clear 10 s), a few seconds once the targets are met.
"""

from __future__ import annotations

import time
from collections import defaultdict
from decimal import Decimal
from functools import partial
from typing import Any

from bench._feed import book
from bench._window import (
    LoadWatch,
    Stack,
    cell,
    click_header,
    close_stack,
    column,
    connect,
    in_qt,
    number,
    open_stack,
    paint,
    run_on_qt,
    sort_order,
    until,
)
from bench.report import Metric, Report, distribution, load_average
from core.numbers import UNKNOWN

TITLE = "1. Table scale: insert, sort by P&L, filter and clear, until painted"

SIZES = (1_000, 10_000, 50_000)
TINY_SIZES = (300,)
PER_ACCOUNT = 1_000
TOP = 30  # rows checked after a sort: about what the window shows
FILTER = "S00042"
# (step, rows) -> target in seconds
TARGETS: dict[tuple[str, int], float] = {
    ("insert", 10_000): 0.3,
    ("insert", 50_000): 1.5,
    ("sort click", 10_000): 0.1,
    ("sort click", 50_000): 0.3,
    ("filter clear", 10_000): 0.1,
}
STEPS = ("insert", "sort click", "filter set", "filter clear")


def _click_sort(view: Any, col: int) -> tuple[int, bool]:
    click_header(view, col)
    return sort_order(view)


def _in_order(view: Any, col: int, want: list[Decimal]) -> bool:
    """The view's top rows show exactly these P&L values, in this order."""
    rows = min(len(want), view.model().rowCount())
    return [number(cell(view, r, col)) for r in range(rows)] == want


async def _one(size: int, out: dict[tuple[str, int], list[float]]) -> None:
    from core.venue import Credentials

    load = book(size, per_account=PER_ACCOUNT, symbols=PER_ACCOUNT)
    stack: Stack = await open_stack(load=load.rows)
    timeout = 60 + size / 250  # generous: the code before the work took 11 s for a 50k step
    try:
        view = stack.view
        pairs = [(a, Credentials(a.public_key, "bench-secret")) for a in load.accounts]
        t0 = time.perf_counter()
        failed = await connect(stack, pairs)
        if failed:
            raise RuntimeError(f"accounts failed to connect: {failed}")
        await until(lambda: stack.rows_shown == size, timeout, f"{size} rows in the view")
        paint(view.viewport())
        out["insert", size].append(time.perf_counter() - t0)

        pnl_col = column(view, "p&l")
        # As the window writes them: the bench's venues give no reference data, so P&L reads
        # at the default decimals (core.numbers); rounding keeps the sorted order.
        pnls = [Decimal(UNKNOWN.pnl(v)) for v in sorted(
            p.unrealised_pnl for rows in load.rows.values() for p in rows
            if p.unrealised_pnl is not None)]
        for _ in range(2):
            t0, (col, ascending) = await in_qt(partial(_click_sort, view, pnl_col))
            if col != pnl_col:
                raise RuntimeError(f"the header click sorted column {col}, not P&L")
            want = (pnls if ascending else pnls[::-1])[:TOP]
            await until(partial(_in_order, view, pnl_col, want), timeout,
                        "the rows in P&L order")
            paint(view.viewport())
            out["sort click", size].append(time.perf_counter() - t0)

        box = stack.window.symbolFilter
        matching = sum(1 for k in load.all_keys() if FILTER.casefold() in k.symbol.casefold())
        t0 = time.perf_counter()
        box.setText(FILTER)
        await until(lambda: stack.rows_shown == matching, timeout, "the filtered rows")
        paint(view.viewport())
        out["filter set", size].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        box.clear()
        await until(lambda: stack.rows_shown == size, timeout, "every row back")
        paint(view.viewport())
        out["filter clear", size].append(time.perf_counter() - t0)
    finally:
        await close_stack(stack)


def run(*, tiny: bool, repeat: int = 1) -> Report:
    sizes = TINY_SIZES if tiny else SIZES
    out: dict[tuple[str, int], list[float]] = defaultdict(list)
    watch = LoadWatch()

    async def main() -> None:
        for _ in range(max(1, repeat)):  # rounds: the sizes interleave
            for size in sizes:
                await _one(size, out)
                watch.sample()

    run_on_qt(main, style=not tiny)
    report = Report(TITLE, tiny=tiny)
    for size in sizes:
        for step in STEPS:
            samples = out.get((step, size), [])
            if not samples:
                continue
            unit, scale = ("s", 1.0) if step == "insert" else ("ms", 1000.0)
            spread = distribution([s * scale for s in samples])
            target = TARGETS.get((step, size))
            text = None if target is None else (
                f"<= {target:g} s" if unit == "s" else f"<= {target * 1000:g} ms")
            met = None if target is None else spread.p50 <= target * scale
            report.add(Metric(f"{step}, {size:,} rows", spread.p50, unit, text, met, spread))
    report.notes.append(
        f"{PER_ACCOUNT:,} rows per account, accounts alternating QFEX and Everstrike; every "
        "figure ends when the view holds the expected rows and its viewport has painted.")
    report.notes.append("sort click: two clicks on the P&L header (sort, then reverse); filter: "
                        f"'{FILTER}' pasted into the symbol box while sorted by P&L, then "
                        "cleared.")
    report.notes.append(watch.note())
    report.load_average = load_average()
    return report


if __name__ == "__main__":
    from bench.__main__ import print_report

    print_report(run(tiny=False), "table_scale")
