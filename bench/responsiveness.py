"""Responsiveness and memory under load: 10,000 rows repricing once a second and 5,000 order
updates a second, for 10 minutes, alternating a minute unsorted and a minute sorted by P&L.

This is benchmarks 2 and 3 of the performance work in one run: the memory benchmark is "10
minutes of the responsiveness load", and the responsiveness figures come from the same ten
minutes, five sorted and five unsorted, interleaved minute by minute so a drift of the shared
machine's load hits both alike.

Method: the real ``MainWindow`` over a real ``Desk`` and a real ``Journal`` (temporary file).
20 accounts (QFEX and Everstrike alternately) hold 500 symbols each. Each account's session
delivers all its positions through the desk's sink once a second (the QFEX positions pulse, one
frame per account, accounts spread over the second), and the desk's sink also gets 5,000 order
updates a second, none of them ours, each journaled and logged (see ``bench/_feed.py``). The
loop's lag is the delay of a 10 ms PreciseTimer against its expected time. Each minute starts
with a click on a header (P&L to sort, Venue to go back to the unsorted order), after which the
pointer moves to the log pane; the click and the next 3 s are left out of that minute's lag and
counted apart.

Reported: lag p50/p99/max per sorting, the share of wall time blocked > 100 ms, order updates
and positions delivered against what the venue sent, the order updates that reached the log
pane (its held lines plus the ones it trimmed past its cap), the share of rows showing the
latest mark (300 rows sampled at each minute's end; a row repriced in the last 0.5 s may still
show the mark before), and RSS every 10 s with the growth from minute 1 to minute 10.

Budget: 10 minutes of load plus about 20 s to set up, drain and tear down (``--minutes`` to
shorten a run by hand: ``python -m bench.responsiveness --minutes 2``).

``--log-search TEXT`` runs the same load with the order log filtered: ``TEXT`` typed in its
search box and its first account chosen, before the feed starts, so every burst of new lines
goes through the filter. After the drain it also times a change of search over the full log
(one rescan of every line held, to the view showing it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

from bench._feed import Feeder, book
from bench._window import (
    LagProbe,
    LagWindow,
    LoadWatch,
    Stack,
    cell,
    click_header,
    close_stack,
    column,
    connect,
    in_qt,
    lag_metrics,
    number,
    open_stack,
    paint,
    pointer_to,
    rss_mb,
    run_on_qt,
    until,
)
from bench.report import Metric, Report, distribution, load_average

TITLE = ("2+3. Responsiveness and memory: 10k rows repricing 1 Hz + 5,000 order updates/s, "
         "10 minutes, unsorted and sorted by P&L")


@dataclass(frozen=True)
class Plan:
    rows: int = 10_000
    per_account: int = 500
    order_rate: float = 5_000.0
    segment: float = 60.0  # seconds of each sorting before switching
    segments: int = 10
    warmup: float = 3.0  # seconds after each switch left out of the lag
    rss_every: float = 10.0
    sample_rows: int = 300
    grace: float = 0.5  # a row repriced this recently may still show the mark before
    drain: float = 30.0  # seconds allowed for the window to catch up after the feed stops
    catch_up: float = 2.0  # seconds a minute's last due updates may take to be handed over


FULL = Plan()
TINY = Plan(rows=300, per_account=100, order_rate=200.0, segment=1.0, segments=2, warmup=0.2,
            rss_every=0.25, sample_rows=50, drain=10.0)


@dataclass
class Mode:
    """What one sorting measured, over its minutes."""

    lag: LagWindow = field(default_factory=lambda: LagWindow([], 0.0, 0.0))
    orders_due: int = 0
    orders_delivered: int = 0
    positions_due: int = 0
    positions_delivered: int = 0
    rows_checked: int = 0
    rows_current: int = 0
    switches: list[float] = field(default_factory=list)  # seconds the header click took


@dataclass
class Totals:
    """Order updates over the whole run: sent, delivered, in the log (by the end, after the
    drain), held by the log, the drain's seconds and the run's."""

    due: int = 0
    delivered: int = 0
    in_run: int = 0
    eventually: int = 0
    held: int = 0
    drained: float | None = None
    ran: float = 0.0


def _log_model(window: Any) -> Any:
    return getattr(window, "log_model", None) or window.logView.model()


def _log_lines(model: Any) -> tuple[int, int]:
    """(lines held, lines trimmed past the cap) in the log pane."""
    trimmed = int(getattr(model, "trimmed", 0) or 0)
    held = int(model.rowCount()) - (1 if trimmed else 0)  # the "N lines trimmed" note row
    return held, trimmed


class Run:
    def __init__(self, plan: Plan, log_search: str | None = None) -> None:
        self.plan = plan
        self.log_search = log_search
        self.rescan: tuple[float, int, int] | None = None  # seconds, lines shown, lines held
        self.book = book(plan.rows, per_account=plan.per_account, symbols=plan.per_account)
        self.modes = {"unsorted": Mode(), "sorted by P&L": Mode()}
        self.rss: list[tuple[float, float]] = []  # (seconds since the load began, MB)
        self.watch = LoadWatch()
        self.notes: list[str] = []
        self.venue_of = {a.name: a.venue for a in self.book.accounts}
        self.rng = random.Random(3)
        self.totals = Totals()
        self.catch_up = 0.0  # the longest wait for a minute's last updates to be handed over

    async def main(self) -> None:
        from core.venue import Credentials

        plan = self.plan
        stack: Stack = await open_stack(load=self.book.rows)
        try:
            view = stack.view
            pairs = [(a, Credentials(a.public_key, "bench-secret")) for a in self.book.accounts]
            failed = await connect(stack, pairs)
            if failed:
                raise RuntimeError(f"accounts failed to connect: {failed}")
            await until(lambda: stack.rows_shown == plan.rows, 300, "every row in the view")
            paint(view.viewport())
            await asyncio.sleep(0.3)  # the connection lines reach the log
            log = _log_model(stack.window)
            base = sum(_log_lines(log))
            cols = {name: column(view, name) for name in ("p&l", "venue", "account", "symbol",
                                                         "mark")}
            if self.log_search is not None:
                await in_qt(partial(_filter_log, stack.window, self.log_search,
                                    self.book.accounts[0].name))
            feeder = Feeder(self.book, stack.sessions, order_rate=plan.order_rate)
            probe = LagProbe()
            t0 = time.perf_counter()
            rss_task = asyncio.ensure_future(self._sample_rss(t0))
            feeder.start()
            probe.start()
            current = "unsorted"
            for i in range(plan.segments):
                name = "unsorted" if i % 2 == 0 else "sorted by P&L"
                mode = self.modes[name]
                end = t0 + (i + 1) * plan.segment
                if name != current:
                    col = cols["p&l"] if name != "unsorted" else cols["venue"]
                    clicked, _ = await in_qt(partial(click_header, view, col))
                    mode.switches.append(time.perf_counter() - clicked)
                    await in_qt(partial(pointer_to, stack.window.logView.viewport()))
                    current = name
                await asyncio.sleep(max(0.0, t0 + i * plan.segment + plan.warmup
                                        - time.perf_counter()))
                probe.take()  # the switch and its warm-up are not this minute's lag
                c = feeder.counts
                first = (c.orders_due, c.positions_due)
                await asyncio.sleep(max(0.0, end - time.perf_counter()))
                mode.lag = mode.lag + probe.take()
                # What came due this minute, and how much of it the feeder handed to the desk:
                # updates are handed over in order, so the ones due in [first, last) are in
                # once the count of those handed over reaches last. At the very end of the
                # minute a loop turn's worth may still be on its way; wait for it (briefly).
                last = (c.orders_due, c.positions_due)
                waited = time.perf_counter()
                with contextlib.suppress(TimeoutError):
                    await until(partial(_handed_over, c, last), plan.catch_up,
                                "the minute's updates")
                self.catch_up = max(self.catch_up, time.perf_counter() - waited)
                mode.orders_due += last[0] - first[0]
                mode.orders_delivered += min(max(c.orders_delivered, first[0]), last[0]) - first[0]
                mode.positions_due += last[1] - first[1]
                mode.positions_delivered += \
                    min(max(c.positions_delivered, first[1]), last[1]) - first[1]
                checked, ok = self._check_rows(view, cols, feeder)
                mode.rows_checked += checked
                mode.rows_current += ok
                self.watch.sample()
            probe.stop()
            feeder.stop()
            ran = time.perf_counter() - t0
            held, trimmed = _log_lines(log)
            in_run = held + trimmed - base
            c = feeder.counts
            drained = await self._drain(log, base, c.orders_delivered)
            held, trimmed = _log_lines(log)
            if self.log_search is not None:
                self.rescan = await _rescan(stack.window, self.log_search)
            self.totals = Totals(c.orders_due, c.orders_delivered, in_run,
                                 held + trimmed - base, held, drained, ran)
            rss_task.cancel()
            self.rss.append((time.perf_counter() - t0, rss_mb()))
            self.notes.append(f"log pane: {held:,} lines held, {trimmed:,} trimmed past its cap "
                              f"({getattr(log, 'max_rows', '?')} rows)")
        finally:
            await close_stack(stack)

    async def _sample_rss(self, t0: float) -> None:
        while True:
            self.rss.append((time.perf_counter() - t0, rss_mb()))
            self.watch.sample()
            await asyncio.sleep(self.plan.rss_every)

    async def _drain(self, log: Any, base: int, delivered: int) -> float | None:
        """Seconds until the log shows every delivered update once the feed stopped."""
        start = time.perf_counter()
        try:
            await until(lambda: sum(_log_lines(log)) - base >= delivered, self.plan.drain,
                        "the log to catch up", poll=0.01)
        except TimeoutError:
            return None
        return time.perf_counter() - start

    def _check_rows(self, view: Any, cols: dict[str, int], feeder: Feeder) -> tuple[int, int]:
        """Sample rows of the view: does each show the latest mark the venue sent?"""
        rows = view.model().rowCount()
        if not rows:
            return 0, 0
        now = feeder.clock()
        ok = checked = 0
        from core.model import PositionKey

        for r in self.rng.sample(range(rows), min(rows, self.plan.sample_rows)):
            account = cell(view, r, cols["account"])
            venue = self.venue_of.get(account)
            if venue is None:
                continue
            key = PositionKey(account, venue, cell(view, r, cols["symbol"]))
            history = feeder.latest.get(key)
            if not history:
                continue  # not repriced yet: the snapshot's mark is what it shows
            shown = number(cell(view, r, cols["mark"]))
            (latest, at), *before = history
            allowed: set[Decimal] = {latest}
            if now - at < self.plan.grace and before:
                allowed.add(before[0][0])
            checked += 1
            ok += shown in allowed
        return checked, ok

    def report(self, tiny: bool) -> Report:
        plan = self.plan
        r = Report(TITLE, tiny=tiny)
        for name, mode in self.modes.items():
            if not mode.lag.samples:
                continue
            for metric in lag_metrics(name, mode.lag):
                r.add(metric)
            r.add(_share(f"{name}: order updates delivered / sent", mode.orders_delivered,
                         mode.orders_due))
            r.add(_share(f"{name}: position updates delivered / sent",
                         mode.positions_delivered, mode.positions_due))
            r.add(_share(f"{name}: rows showing the latest mark (sampled)", mode.rows_current,
                         mode.rows_checked))
            if mode.switches:
                d = distribution([s * 1000 for s in mode.switches])
                r.add(Metric(f"{name}: header click to switch to it", d.p50, "ms", None, None, d))
        t = self.totals
        due, delivered, in_run, eventually, held, drained, ran = (
            t.due, t.delivered, t.in_run, t.eventually, t.held, t.drained, t.ran)
        r.add(_share("order updates in the log by the end of the run / sent", in_run, due,
                     target=False))
        r.add(_share("order updates in the log after the feed stopped / sent", eventually, due))
        r.add(Metric("time for the log to catch up after the feed stopped",
                     drained if drained is not None else float("nan"), "s", None, None))
        self._memory(r)
        if self.log_search is not None:
            r.notes.append(f"order log filtered all along: search {self.log_search!r} and "
                           f"account {self.book.accounts[0].name!r}")
        if self.rescan is not None:
            took, shown, total = self.rescan
            r.add(Metric(f"log search change over {total:,} lines (one rescan)", took * 1000,
                         "ms", None, None))
            r.notes.append(f"after the search change the log showed {shown:,} of {total:,}")
        r.notes.append(
            f"{plan.rows:,} rows ({plan.rows // plan.per_account} accounts × {plan.per_account} "
            f"symbols), {plan.order_rate:,.0f} order updates/s, {plan.segments} segments of "
            f"{plan.segment:g} s alternating unsorted / sorted by P&L ({ran_text(ran)}); lag "
            f"leaves out each switch and the {plan.warmup:g} s after it.")
        r.notes.append(f"the venue sent {due:,} order updates, {delivered:,} reached the desk; "
                       f"the log held {held:,}"
                       + (f"; it caught up {drained:.1f} s after the feed stopped"
                          if drained is not None else
                          f"; it had not caught up {plan.drain:g} s after the feed stopped"))
        r.notes.append(
            "delivered / sent: the updates due in each measured minute that the feeder had "
            "handed to the desk, counted once it had handed over everything due by the "
            f"minute's end (at most {self.catch_up * 1000:.0f} ms later in this run, within "
            f"{plan.catch_up:g} s or counted as missing)")
        r.notes.extend(self.notes)
        r.notes.append("RSS (MB) every {:g} s: {}".format(
            plan.rss_every, " ".join(f"{mb:.0f}" for _, mb in self.rss)))
        r.notes.append(self.watch.note())
        r.load_average = load_average()
        return r

    def _memory(self, r: Report) -> None:
        if not self.rss:
            return
        plan = self.plan
        minute = plan.segment  # "minute 1" is the end of the first segment
        first = min(self.rss, key=lambda s: abs(s[0] - minute))
        last = self.rss[-1]
        growth = (last[1] - first[1]) / first[1] * 100 if first[1] else float("nan")
        peak = max(mb for _, mb in self.rss)
        r.add(Metric("RSS at the end", last[1], "MB", "< 300 MB", last[1] < 300))
        r.add(Metric("RSS peak", peak, "MB", None, None))
        r.add(Metric(f"RSS growth from {first[0]:.0f} s to {last[0]:.0f} s", growth, "%",
                     "< 5 %", growth < 5))
        span = last[0] - first[0]
        if span > 0:
            r.add(Metric("RSS growth rate", (last[1] - first[1]) / span, "MB/s", None, None))


def ran_text(seconds: float) -> str:
    return f"{seconds:.0f} s of load" if seconds >= 10 else f"{seconds:.1f} s of load"


def _handed_over(counts: Any, due: tuple[int, int]) -> bool:
    """The feeder has handed over every order and position update due by ``due``."""
    return bool(counts.orders_delivered >= due[0] and counts.positions_delivered >= due[1])


def _share(name: str, part: int, whole: int, *, target: bool = True) -> Metric:
    value = part / whole * 100 if whole else float("nan")
    if not target:  # the last coalescing interval is still on its way: a figure, not a goal
        return Metric(name, value, "%", None, None)
    return Metric(name, value, "%", "100 %", value >= 100 if whole else None)


def _filter_log(window: Any, text: str, account: str) -> None:
    """The log pane filtered as a user would: an account chosen and a search typed."""
    bar = window.logPane.bar
    bar.account.setCurrentIndex(max(bar.account.findData(account), 0))
    bar.search.setText(text)
    window.log_filters.apply()


async def _rescan(window: Any, text: str) -> tuple[float, int, int]:
    """Seconds to apply a new search over the whole log (the account filter dropped) until
    the view shows it (a rescan in slices takes several turns of the loop), and the lines it
    then shows of those held."""
    bar = window.logPane.bar
    bar.account.blockSignals(True)
    bar.account.setCurrentIndex(0)
    bar.account.blockSignals(False)
    bar.search.setText(text + "1")
    started = time.perf_counter()
    window.log_filters.apply()
    while getattr(window.log_filters, "busy", False):  # noqa: ASYNC110 - a turn each look
        await asyncio.sleep(0)
    window.logView.model().rowCount()
    took = time.perf_counter() - started
    return took, window.log_proxy.shown(), window.log_model.line_count


def run(*, tiny: bool, minutes: float | None = None, log_search: str | None = None) -> Report:
    plan = TINY if tiny else FULL
    if minutes is not None:
        segments = max(2, round(minutes * 60 / plan.segment))
        plan = Plan(**{**plan.__dict__, "segments": segments})
    bench = Run(plan, log_search)
    run_on_qt(bench.main, style=not tiny)
    return bench.report(tiny)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=None,
                        help="minutes of load (default 10; alternates every minute)")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--log-search", default=None,
                        help="filter the order log all along: this search and one account")
    args = parser.parse_args()
    from bench.__main__ import print_report

    print_report(run(tiny=args.tiny, minutes=args.minutes, log_search=args.log_search),
                 "responsiveness")
