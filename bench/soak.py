"""Soak: demo trading at 10× the normal update rate for a long run, with a fault every 30 s
and a partial close every 10 s, watching what a leak would move.

Method: the real ``MainWindow`` (offscreen) over a real ``Desk``, a real ``Journal`` and the
venues' real sessions, connected to the demo accounts of the simulator running in a process of
its own (``bench/_soakvenue.py``) with its market steps and QFEX pulses every 0.1 s instead of
1 s. Every ``close_every`` seconds one position (round robin, both venues) is closed in part at
market through ``Desk.close``; halfway between faults, with no close in flight, the
simulator's positions go back to their opening size (so the closes never run them dry, and no
position moves under a close the desk must reconcile from it); every ``fault_every`` seconds
one fault is set on one venue, in turn: the connection dropped after
a close arrives (the close still executes), a 0.5 s latency spike for 5 s, three malformed
frames, a 503 burst (QFEX: ServerError frames), and every order update duplicated for 5 s;
each fault is followed at once by a close on that venue, so the close path meets it.

Sampled every ``sample_every`` seconds: RSS, asyncio tasks, open sockets and file descriptors
(``/proc/self/fd``), threads, Qt objects under the window, and the journal's size on disk. The
loop lag is ``bench._window.LagProbe`` (a 10 ms PreciseTimer), from the end of the warm-up; each
tick over 50 ms late is reported with the fault before it, beside the collector's pauses.

Pass: RSS grows < 5 % from the end of the warm-up to the end; tasks, sockets and descriptors at
the end (after the faults stop and every close has settled, at most ``settle`` seconds) are no
more than at the end of the warm-up; loop lag p99 < 16 ms and max < 50 ms (the window's
targets, ``bench._window.lag_metrics``).

Budget: 3 minutes of load in ``make bench`` plus about 20 s to set up and settle;
``make soak`` runs 30 minutes (``make soak SOAK_MINUTES=5`` to shorten it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import sys
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench._soakvenue import KINDS, SoakVenue
from bench._window import (
    LagProbe,
    LagWindow,
    LoadWatch,
    Stack,
    close_stack,
    connect,
    lag_metrics,
    open_stack,
    rss_mb,
    run_on_qt,
    until,
)
from bench.report import Metric, Report, load_average

TITLE = ("Soak: demo trading at 10× the update rate, a fault every 30 s, a close every 10 s "
         "(3 minutes here; make soak runs 30)")

VENUES = ("qfex", "everstrike")


@dataclass(frozen=True)
class Plan:
    minutes: float = 3.0
    warmup: float = 30.0  # seconds before the baseline is taken
    tick: float = 0.1  # simulator steps and QFEX pulses (demo mode: 1 s)
    fault_every: float = 30.0
    close_every: float = 10.0
    sample_every: float = 10.0
    spike: float = 0.5  # seconds of latency in a spike
    fault_for: float = 5.0  # seconds a latency spike or duplicate updates last
    settle: float = 30.0  # seconds allowed at the end for closes and counts to settle
    kinds: tuple[str, ...] = KINDS


BENCH = Plan()
SOAK = Plan(minutes=30.0, warmup=120.0)
# Seconds, not minutes: what every benchmark's tiny run checks. Only the faults that log no
# ERROR (the test suite fails a test on one it did not expect).
TINY = Plan(minutes=0.1, warmup=1.5, fault_every=1.5, close_every=1.0, sample_every=0.5,
            fault_for=0.5, spike=0.2, settle=20.0, kinds=("latency", "duplicate"))
# The smoke run inside ``make test``: every fault kind once in about 21 s.
SMOKE = Plan(minutes=21 / 60, warmup=3.0, fault_every=3.5, close_every=2.0, sample_every=1.0,
             fault_for=1.5, spike=0.3, settle=30.0)


@dataclass(frozen=True)
class Sample:
    at: float  # seconds since the load began
    rss: float  # MB
    tasks: int
    sockets: int
    fds: int
    threads: int
    qobjects: int
    journal: int  # bytes on disk
    blocks: int = 0  # Python's allocated memory blocks: flat while RSS grows means native


def open_fds() -> tuple[int, int]:
    """(file descriptors, of which sockets) this process holds now."""
    fds = sockets = 0
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone already
            target = os.readlink(f"/proc/self/fd/{name}")
            fds += 1
            sockets += target.startswith("socket:")
    return fds, sockets


def threads() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


class Probe(LagProbe):
    """The window's lag probe, also noting when each tick over ``slow_ms`` late came, so a
    block can be put beside the fault before it.

    It keeps its samples in a packed array: 100 ticks a second for 30 minutes as a list of
    floats is 5 MB, which the soak's own RSS figure would count as the app's growth.
    """

    def __init__(self, t0: float, slow_ms: float = 50.0) -> None:
        super().__init__()
        self.t0 = t0
        self.slow_ms = slow_ms
        self.slow: list[tuple[float, float]] = []  # (seconds since the load began, ms late)

    def _reset(self, now: float) -> None:
        super()._reset(now)
        self.samples = array("d")  # type: ignore[assignment]  # a sequence of floats too

    def _gap(self, now: float) -> None:
        super()._gap(now)
        if self.samples and self.samples[-1] > self.slow_ms:
            self.slow.append((now - self.t0, self.samples[-1]))

    def stop(self) -> LagWindow:
        """As ``LagProbe.stop``, without copying the samples into a list."""
        self.timer.stop()
        now = time.perf_counter()
        if now - self._last > self.interval:
            self._gap(now)
        return LagWindow(self.samples, self.blocked, now - self._since)


class GcPauses:
    """How long each of the collector's runs held the interpreter, by generation."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}  # ms
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses[int(info["generation"])].append(
                (time.perf_counter() - self._started) * 1000)

    def note(self) -> str:
        return "garbage collector runs after warm-up (count, longest ms): " + ", ".join(
            f"gen {g} {len(p)}, {max(p, default=0):.1f}" for g, p in self.pauses.items())


class LogCounter(logging.Handler):
    """Counts the app's log records by level, so a long run reports them instead of printing
    thousands of lines."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.levels: Counter[str] = Counter()
        self.first: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.levels[record.levelname] += 1
        self.first.setdefault(record.levelname, f"{record.name}: {record.getMessage()}"[:200])


@dataclass
class Closes:
    sent: int = 0
    refused: Counter[str] = field(default_factory=Counter)  # why a close was not sent
    states: Counter[str] = field(default_factory=Counter)  # final states, at the end
    unsettled: int = 0  # still Sending or Unknown after the settle time


class Soak:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.samples: list[Sample] = []
        self.baseline: Sample | None = None
        self.final: Sample | None = None
        self.lag = LagWindow([], 0.0, 0.0)
        self.faults: Counter[str] = Counter()
        self.closes = Closes()
        self.intents: list[Any] = []
        self.watch = LoadWatch()
        self.logs = LogCounter()
        self.wire: dict[str, int] = {}
        self.settled_in: float | None = None
        self.slow: list[tuple[float, float]] = []  # ticks over 50 ms late: (at s, ms)
        self.fault_times: list[tuple[float, str]] = []
        self.gc = GcPauses()
        self.skipped_restores = 0
        self._next_key = 0
        self._turn = 0  # periodic closes alternate between the venues
        self._background: set[asyncio.Task[None]] = set()
        self._own: set[asyncio.Task[Any]] = set()  # the soak's run and its sampler
        self._t0 = 0.0

    # ------------------------------------------------------------------ measuring
    def sample(self, stack: Stack, t0: float) -> Sample:
        from PySide6.QtCore import QObject

        fds, sockets = open_fds()
        journal = sum(p.stat().st_size for p in Path(stack.tmp.name).glob("journal*")
                      if p.is_file())
        tasks = len(asyncio.all_tasks() - self._own - self._background)  # the app's alone
        s = Sample(time.perf_counter() - t0, rss_mb(), tasks, sockets, fds,
                   threads(), len(stack.window.findChildren(QObject)), journal)
        s = replace(s, blocks=sys.getallocatedblocks())
        self.samples.append(s)
        return s

    async def _sampler(self, stack: Stack, t0: float) -> None:
        while True:
            self.sample(stack, t0)
            self.watch.sample()
            await asyncio.sleep(self.plan.sample_every)

    # ------------------------------------------------------------------ trading
    def _candidates(self, desk: Any, venue: str | None) -> list[Any]:
        keys = sorted((k for k in desk.positions if venue is None or k.venue.value == venue),
                      key=lambda k: (k.venue.value, k.symbol))
        return [k for k in keys if desk.pending(k) is None]

    async def close_one(self, desk: Any, venue: str | None = None) -> None:
        """A partial close at market of one lot (or the smallest size) of the next position."""
        from core.desk.intents import AlreadyPending
        from core.model import CloseRequest
        from core.venue import CloseRejected

        keys = self._candidates(desk, venue)
        if not keys:
            self.closes.refused["no position free to close"] += 1
            return
        key = keys[self._next_key % len(keys)]
        self._next_key += 1
        pos = desk.positions[key]
        inst = desk.instrument(key)
        size = inst and (inst.min_quantity or inst.lot_size)
        if not size or size >= pos.quantity:
            self.closes.refused["position smaller than a lot"] += 1
            return
        request = CloseRequest(key, pos.side, pos.quantity, quantity=size, reason="soak")
        try:
            intent = await desk.close(request)
        except AlreadyPending:
            self.closes.refused["already pending"] += 1
        except CloseRejected as exc:  # refused before the wire, or by the venue
            self.closes.refused[f"rejected ({str(exc)[:60]})"] += 1
        else:
            self.closes.sent += 1
            self.intents.append(intent)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _for_a_while(self, venue: SoakVenue, on: dict[str, Any],
                           off: dict[str, Any]) -> None:
        venue.ask(**on)
        await asyncio.sleep(self.plan.fault_for)
        venue.ask(**off)

    async def fault(self, n: int, venue: SoakVenue, desk: Any) -> None:
        kind = self.plan.kinds[n % len(self.plan.kinds)]
        where = VENUES[n % 2 if len(self.plan.kinds) % 2 else (n // len(self.plan.kinds)) % 2]
        self.faults[f"{kind} ({where})"] += 1
        self.fault_times.append((time.perf_counter() - self._t0, f"{kind} ({where})"))
        if kind == "latency":
            self._spawn(self._for_a_while(
                venue, {"op": "latency", "venue": where, "seconds": self.plan.spike},
                {"op": "latency", "venue": where, "seconds": 0}))
        elif kind == "duplicate":
            self._spawn(self._for_a_while(venue, {"op": "duplicate", "venue": where, "on": True},
                                          {"op": "duplicate", "venue": where, "on": False}))
        else:
            venue.ask(op="fault", venue=where, kind=kind)
        await self.close_one(desk, where)

    async def restore(self, venue: SoakVenue, desk: Any) -> None:
        """The demo positions back to their opening sizes, so partial closes never run them
        dry; only with no close in flight, and the next close waits until the desk has seen
        it. A position that moved under a close in flight would leave the desk unable to tell
        from the position whether the close executed."""
        if any(i.state.in_flight for i in self.intents):
            self.skipped_restores += 1
            return
        venue.ask(op="restore")
        try:
            await until(lambda: _opening_sizes(desk), 5.0, "the restored positions", poll=0.05)
        except TimeoutError:
            self.skipped_restores += 1

    # ------------------------------------------------------------------ the run
    async def main(self) -> None:
        from core.demo import demo_account
        from core.sim.contract import DemoAccess

        plan = self.plan
        root = logging.getLogger()
        root.addHandler(self.logs)
        venue = SoakVenue(plan.tick)
        try:
            stack = await open_stack()
            try:
                pairs = [p for a in venue.demo if (p := demo_account(DemoAccess(**a)))]
                failed = await connect(stack, pairs)
                if failed:
                    raise RuntimeError(f"accounts failed to connect: {failed}")
                await until(lambda: len(stack.desk.positions) >= 16, 30, "the demo rows")
                await self._load(stack, venue)
            finally:
                await close_stack(stack)
            self.wire = {k: int(v) for k, v in venue.ask(op="closes").items()}
        finally:
            venue.stop()
            root.removeHandler(self.logs)

    async def _load(self, stack: Stack, venue: SoakVenue) -> None:
        plan = self.plan
        desk = stack.desk
        t0 = self._t0 = time.perf_counter()
        sampler = asyncio.ensure_future(self._sampler(stack, t0))
        self._own |= {sampler, *filter(None, [asyncio.current_task()])}
        probe = Probe(t0)
        end = t0 + plan.minutes * 60
        next_close = t0 + plan.close_every
        next_fault = t0 + plan.fault_every
        next_restore = t0 + plan.fault_every / 2
        faults = 0
        baseline_at = t0 + plan.warmup
        try:
            while (now := time.perf_counter()) < end:
                if self.baseline is None and now >= baseline_at:
                    self.baseline = self._baseline(self.sample(stack, t0))
                    probe.start()
                    gc.callbacks.append(self.gc)
                if now >= next_fault:
                    next_fault += plan.fault_every
                    await self.fault(faults, venue, desk)
                    faults += 1
                elif now >= next_restore:
                    next_restore += plan.fault_every
                    await self.restore(venue, desk)
                elif now >= next_close:
                    next_close += plan.close_every
                    self._turn += 1
                    await self.close_one(desk, VENUES[self._turn % 2])
                wake = min(next_close, next_fault, next_restore, end,
                           baseline_at if self.baseline is None else end)
                await asyncio.sleep(max(0.0, wake - time.perf_counter()))
            self.lag = probe.stop()
            self.slow = probe.slow
            with contextlib.suppress(ValueError):
                gc.callbacks.remove(self.gc)
            # The load stops: the faults end, and the run waits for every close to settle and
            # the counts to come back (a pooled connection closes when it has been idle).
            if self._background:
                await asyncio.gather(*self._background)
            venue.ask(op="clear")
            if self.baseline is None:
                self.baseline = self._baseline(self.sample(stack, t0))
            waited = time.perf_counter()
            with contextlib.suppress(TimeoutError):
                await until(lambda: self._settled(stack, t0), plan.settle, "the run to settle",
                            poll=0.25)
                self.settled_in = time.perf_counter() - waited
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
        self.final = self.sample(stack, t0)
        for intent in self.intents:
            self.closes.states[str(intent.state)] += 1
            self.closes.unsettled += intent.state.in_flight

    def _baseline(self, now: Sample) -> Sample:
        """The sample at the end of the warm-up, with the counts at their lowest over its
        second half: a request in flight at that moment must not hide a leak of one."""
        late = [s for s in self.samples if s.at >= self.plan.warmup / 2] or [now]
        return replace(now, tasks=min(s.tasks for s in late),
                       sockets=min(s.sockets for s in late), fds=min(s.fds for s in late))

    def _settled(self, stack: Stack, t0: float) -> bool:
        if any(i.state.in_flight for i in self.intents):
            return False
        now, base = self.sample(stack, t0), self.baseline
        assert base is not None
        return now.tasks <= base.tasks and now.sockets <= base.sockets and now.fds <= base.fds

    # ------------------------------------------------------------------ the report
    def _fault_before(self, at: float) -> str:
        before = [(t, kind) for t, kind in self.fault_times if t <= at]
        if not before:
            return "no fault yet"
        t, kind = before[-1]
        return f"{at - t:.1f} s after {kind}"

    def report(self, tiny: bool) -> Report:
        plan = self.plan
        r = Report(TITLE, tiny=tiny)
        base, end = self.baseline, self.final
        assert base is not None and end is not None
        span = f"from {base.at:.0f} s to {end.at:.0f} s"
        growth = (end.rss - base.rss) / base.rss * 100
        r.add(Metric(f"RSS growth {span}", growth, "%", "< 5 %", growth < 5))
        r.add(Metric("RSS at the end", end.rss, "MB", "< 300 MB", end.rss < 300))
        r.add(Metric("RSS peak", max(s.rss for s in self.samples), "MB", None, None))
        for name, unit in (("tasks", ""), ("sockets", ""), ("fds", "")):
            before, after = getattr(base, name), getattr(end, name)
            label = {"tasks": "asyncio tasks", "sockets": "open sockets",
                     "fds": "file descriptors"}[name]
            r.add(Metric(f"{label} at the end", after, unit, f"<= {before} (after warm-up)",
                         after <= before,
                         note=f"peak {max(getattr(s, name) for s in self.samples)}"))
        r.add(Metric("Python memory blocks growth", (end.blocks - base.blocks)
                     / max(1, base.blocks) * 100, "%", None, None,
                     note=f"{base.blocks:,} after warm-up, {end.blocks:,} at the end"))
        r.add(Metric("threads at the end", end.threads, "", None, None,
                     note=f"{base.threads} after warm-up"))
        r.add(Metric("Qt objects under the window at the end", end.qobjects, "", None, None,
                     note=f"{base.qobjects} after warm-up"))
        minutes = max(1e-9, (end.at - base.at) / 60)
        r.add(Metric("journal size at the end", end.journal / 1e6, "MB", None, None,
                     note=f"{(end.journal - base.journal) / 1e3 / minutes:,.0f} kB/min "
                          "after warm-up"))
        for metric in lag_metrics("whole run after warm-up", self.lag):
            r.add(metric)
        c = self.closes
        r.add(Metric("closes sent", c.sent, "", None, None,
                     note=f"{sum(c.refused.values())} more not sent or refused"))
        r.add(Metric("closes still Sending or Unknown at the end", c.unsettled, "", "0",
                     c.unsettled == 0))
        r.add(Metric("faults injected", sum(self.faults.values()), "", None, None))
        r.notes.append(
            f"{plan.minutes * 60:.0f} s of load at a {plan.tick:g} s tick (demo mode: 1 s), a "
            f"close every {plan.close_every:g} s, a fault every {plan.fault_every:g} s; baseline "
            f"after {plan.warmup:g} s of warm-up; the end is sampled after the load stopped and "
            + (f"everything settled ({self.settled_in:.1f} s)" if self.settled_in is not None
               else f"the settle time ran out ({plan.settle:g} s)"))
        r.notes.append(f"positions restored to their opening sizes every {plan.fault_every:g} s "
                       f"between faults; {self.skipped_restores} restores skipped (a close "
                       "in flight) or not seen within 5 s")
        r.notes.append("faults: " + ", ".join(f"{k} × {v}" for k, v in sorted(self.faults.items()))
                       if self.faults else "faults: none")
        r.notes.append("closes by final state: " + ", ".join(
            f"{k} {v}" for k, v in sorted(c.states.items())) + "; not sent: " + (", ".join(
                f"{k} {v}" for k, v in sorted(c.refused.items())) or "none")
            + "; closes the venues received: " + ", ".join(
                f"{k} {v}" for k, v in sorted(self.wire.items())))
        r.notes.append("ticks over 50 ms late (s: ms, after the last fault): " + (" ".join(
            f"{at:.0f}: {ms:.0f} ({self._fault_before(at)})" for at, ms in self.slow[:30])
            or "none"))
        r.notes.append(self.gc.note())
        r.notes.append("log records: " + (", ".join(
            f"{k} {v} (first: {self.logs.first[k]})" for k, v in sorted(self.logs.levels.items()))
            or "none at WARNING or above"))
        r.notes.append("samples (s: RSS MB / tasks / sockets / fds / Qt objects / journal kB / "
                       "Python blocks k): "
                       + " ".join(f"{s.at:.0f}:{s.rss:.0f}/{s.tasks}/{s.sockets}/{s.fds}/"
                                  f"{s.qobjects}/{s.journal // 1000}/{s.blocks // 1000}"
                                  for s in _thin(self.samples, 40)))
        r.notes.append(self.watch.note())
        r.load_average = load_average()
        return r


def _opening_sizes(desk: Any) -> bool:
    """Every demo position in the desk's book is at its opening size."""
    from core.sim import demo

    opening = {(venue, symbol): abs(size)
               for venue, account in (("qfex", demo.QFEX_DEMO),
                                      ("everstrike", demo.EVERSTRIKE_DEMO))
               for symbol, size, _ in account.positions}
    held = {(k.venue.value, k.symbol): p.quantity for k, p in desk.positions.items()}
    return all(held.get(k) == v for k, v in opening.items())


def _thin(samples: list[Sample], most: int) -> list[Sample]:
    step = max(1, -(-len(samples) // most))
    picked = samples[::step]
    return picked if picked[-1] is samples[-1] else [*picked, samples[-1]]


def run(*, tiny: bool, minutes: float | None = None, plan: Plan | None = None) -> Report:
    plan = plan or (TINY if tiny else BENCH)
    if minutes is not None:
        plan = replace(plan, minutes=minutes)
    soak = Soak(plan)
    run_on_qt(soak.main, style=not tiny)
    return soak.report(tiny)


def main(argv: list[str] | None = None) -> int:
    """``make soak``: the long run; its entry goes into bench/results.{md,json}."""
    from bench.__main__ import Outcome, machine, print_report, write

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=SOAK.minutes)
    parser.add_argument("--warmup", type=float, default=None,
                        help="seconds before the baseline (default 120; 30 under 10 minutes)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="where results.json and results.md go (default: bench/)")
    args = parser.parse_args(argv)
    warmup = args.warmup if args.warmup is not None else (
        SOAK.warmup if args.minutes >= 10 else BENCH.warmup)
    started = time.perf_counter()
    facts = machine()
    report = run(tiny=False, plan=replace(SOAK, minutes=args.minutes, warmup=warmup))
    print_report(report, "soak")
    outcome = Outcome("soak", TITLE, True, time.perf_counter() - started, report,
                      machine=facts)
    write(args.out, [outcome], tiny=False, merge=True)
    return 0 if all(m.met is not False for m in report.metrics) else 1


if __name__ == "__main__":
    raise SystemExit(main())
