"""Flatten at scale: 500 positions, 250 per venue, 20 ms of venue latency.

The real :class:`~core.desk.Desk` with a real :class:`~core.journal.Journal` on a temporary
file, both real venue sessions, and the flatten run exactly as the app runs it
(``build_plan`` then ``execute(...).wait()``). The simulator runs in a child process: the venue
is not inside the app's process, so its CPU does not share the app's interpreter lock. Each
venue's time is measured from the run's start to its last item's verdict (verified flat).

The floors (what latency and the in-flight limit alone would allow):

* QFEX: latency + the positions pulse + latency. Every close goes over one authenticated
  WebSocket per account, so all can be in flight at once; the reply comes after one latency,
  and the position is gone on the simulator's next positions pulse, pushed one latency later.
* Everstrike: ceil(N / in-flight) x latency + latency. Closes are signed form POSTs with a
  bounded number in flight; the last position-closed event is pushed one latency after the
  last reply.

One by one is measured on a few positions and scaled to 500: each position is flattened alone
and verified flat before the next starts (what a flatten's report calls done), and, as a
stricter second figure, each close only waits for the venue's final answer before the next.

    python -m bench.flatten [--tiny] [--runs 3] [--thread-sim]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from bench.report import Metric, Report, load_average
from core.desk import Desk
from core.flatten import FlattenScope, Outcome, build_plan, execute
from core.journal import Journal
from core.model import CloseRequest, Environment, Venue
from core.venue import AccountConfig, Credentials
from core.venues import venue_info
from core.venues.everstrike import EVERSTRIKE

TITLE = "Flatten: 500 positions (250 per venue), 20 ms venue latency"

LATENCY = 0.02  # seconds the simulator adds before every reply and push
PER_ACCOUNT = 5  # positions per account (each venue's first five symbols)
QFEX_SYMBOLS = ("AAPL-USD", "TSLA-USD", "NVDA-USD", "MSFT-USD", "US100-USD")
ES_PAIRS = ("USD_BTC_PERP", "USD_ETH_PERP", "USD_SOL_PERP", "USD_BTCCALL_PERP",
            "USD_ETHPUT90_PERP")
TARGET_FLOOR_RATIO = 1.5
TARGET_SPEEDUP = 20.0
SEED = 11

D = Decimal
Spec = list[tuple[str, str, list[tuple[str, Decimal, Decimal]]]]  # (venue, name, positions)


# ------------------------------------------------------------------------------ the simulator
class Sim(Protocol):
    """What the benchmark asks of the simulator, wherever it runs."""

    urls: Mapping[str, Mapping[str, str]]
    pulse: float

    async def add_accounts(self, spec: Spec) -> dict[str, tuple[str, str]]: ...
    async def set_latency(self, seconds: float) -> None: ...
    async def open_positions(self) -> dict[str, int]: ...
    async def close_requests(self) -> dict[str, int]: ...
    async def cpu(self) -> float | None: ...


def _serve(sim: Any, command: Mapping[str, Any]) -> Any:
    """One command, run against an in-process Simulator (in the child, or on the thread)."""
    op = command["op"]
    if op == "accounts":
        return {name: sim.add_account(venue, name, [(s, D(q), D(e)) for s, q, e in positions])
                for venue, name, positions in command["spec"]}
    if op == "latency":
        sim.qfex.faults.latency = command["value"]
        sim.everstrike.faults.latency = command["value"]
        return None
    if op == "open":
        return {v: sim.call(lambda v=v: sum(1 for p in sim.venue(v).market.positions.values()
                                            if p.size))
                for v in ("qfex", "everstrike")}
    if op == "closes":
        return {v: len(sim.requests(v, kind="close")) for v in ("qfex", "everstrike")}
    if op == "cpu":
        return time.process_time()
    raise ValueError(f"unknown command {op!r}")


def _describe(sim: Any) -> dict[str, Any]:
    q, e = sim.info.qfex, sim.info.everstrike
    return {"urls": {"qfex": {"trade_ws": q.trade_ws, "mds_ws": q.mds_ws, "rest": q.rest},
                     "everstrike": {"rest": e.rest, "ws": e.ws}},
            "pulse": sim.qfex.settings.positions_interval}


def _jsonable(spec: Spec) -> list[Any]:
    return [[v, n, [[s, str(q), str(e)] for s, q, e in ps]] for v, n, ps in spec]


class ChildSim:
    """The simulator in a child process (``python -m bench.flatten --serve-sim``), driven by
    one JSON command per line on its standard input."""

    def __init__(self) -> None:
        root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "bench.flatten", "--serve-sim"], cwd=root, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        hello = self._read()
        self.urls, self.pulse = hello["urls"], hello["pulse"]

    def _read(self) -> Any:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the simulator process exited ({self._proc.wait()})")
        return json.loads(line)

    def _ask(self, command: Mapping[str, Any]) -> Any:
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(command) + "\n")
        self._proc.stdin.flush()
        answer = self._read()
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer["result"]

    async def add_accounts(self, spec: Spec) -> dict[str, tuple[str, str]]:
        found = await asyncio.to_thread(self._ask, {"op": "accounts", "spec": _jsonable(spec)})
        return {name: (pub, secret) for name, (pub, secret) in found.items()}

    async def set_latency(self, seconds: float) -> None:
        await asyncio.to_thread(self._ask, {"op": "latency", "value": seconds})

    async def open_positions(self) -> dict[str, int]:
        return dict(await asyncio.to_thread(self._ask, {"op": "open"}))

    async def close_requests(self) -> dict[str, int]:
        return dict(await asyncio.to_thread(self._ask, {"op": "closes"}))

    async def cpu(self) -> float | None:
        """The simulator process's CPU seconds so far."""
        return float(await asyncio.to_thread(self._ask, {"op": "cpu"}))

    def stop(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        finally:
            if self._proc.stdout is not None:
                self._proc.stdout.close()


class ThreadSim:
    """The simulator on a thread of this process, as demo mode runs it."""

    def __init__(self) -> None:
        from core.sim import Simulator

        self._sim = Simulator(seed=SEED, tick_interval=None, demo=False)
        self._sim.start()
        hello = _describe(self._sim)
        self.urls, self.pulse = hello["urls"], hello["pulse"]

    async def add_accounts(self, spec: Spec) -> dict[str, tuple[str, str]]:
        found = _serve(self._sim, {"op": "accounts", "spec": _jsonable(spec)})
        return dict(found)

    async def set_latency(self, seconds: float) -> None:
        _serve(self._sim, {"op": "latency", "value": seconds})

    async def open_positions(self) -> dict[str, int]:
        return dict(_serve(self._sim, {"op": "open"}))

    async def close_requests(self) -> dict[str, int]:
        return dict(_serve(self._sim, {"op": "closes"}))

    async def cpu(self) -> float | None:
        return None  # it shares this process

    def stop(self) -> None:
        self._sim.stop()


def serve_sim() -> None:
    """The child's side of :class:`ChildSim`."""
    from core.sim import Simulator

    with Simulator(seed=SEED, tick_interval=None, demo=False) as sim:
        print(json.dumps(_describe(sim)), flush=True)
        for line in sys.stdin:
            try:
                answer = {"result": _serve(sim, json.loads(line))}
            except Exception as exc:  # reported to the parent, which raises it
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(answer), flush=True)


# ------------------------------------------------------------------------------ one desk
def spec_for(prefix: str, per_venue: int) -> Spec:
    """``per_venue`` positions on each venue, PER_ACCOUNT to an account, sides alternating."""
    spec: Spec = []
    for venue, symbols in (("qfex", QFEX_SYMBOLS), ("everstrike", ES_PAIRS)):
        for a in range(math.ceil(per_venue / PER_ACCOUNT)):
            n = min(PER_ACCOUNT, per_venue - a * PER_ACCOUNT)
            side = D(1) if a % 2 else D(-1)
            spec.append((venue, f"{prefix}-{venue[0]}{a:03}",
                         [(s, side * (1 + i % 3), D(100)) for i, s in enumerate(symbols[:n])]))
    return spec


async def _marks(desk: Desk, timeout: float = 15.0) -> None:
    """Wait for a mark on every position, as the app's rows have before anyone flattens."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(desk.mark(k.venue, k.symbol) is not None for k in desk.positions):
            return
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def desk_for(sim: Sim, spec: Spec, journal: Journal | None,
                   options: Mapping[str, str] | None = None) -> AsyncIterator[Desk]:
    keys = await sim.add_accounts(spec)
    accounts = []
    for venue, name, _ in spec:
        pub, secret = keys[name]
        opts = dict(options or {}) if venue == "everstrike" else {}
        accounts.append((AccountConfig(name, Venue(venue), Environment.DEMO, pub,
                                       dict(sim.urls[venue]), opts),
                         Credentials(pub, secret)))
    desk = Desk(journal=journal)
    try:
        failed = await desk.start(accounts)
        if failed:
            raise RuntimeError(f"accounts failed to connect: {failed}")
        await _marks(desk)
        yield desk
    finally:
        await desk.stop()


@contextlib.contextmanager
def journal_file(on: bool) -> Iterator[Journal | None]:
    if not on:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="closeout-bench-") as tmp:
        journal = Journal(Path(tmp) / "journal.sqlite3", operator="bench")
        try:
            yield journal
        finally:
            journal.close()


# ------------------------------------------------------------------------------ in flight
def es_in_flight(desk: Desk, n: int) -> int:
    """How many Everstrike closes this build lets be in flight at once for ``n`` positions:
    the venue-wide flatten cap, and each account's own limit where the build has one."""
    cap = venue_info(EVERSTRIKE).flatten_concurrency or n
    per_account = 0
    counted = False
    for name, account in desk.accounts.items():
        if account.venue is not EVERSTRIKE:
            continue
        limit = getattr(desk.session(name), "max_in_flight", None)  # newer builds only
        if limit is None:
            continue
        counted = True
        held = sum(1 for k in desk.positions if k.account == name)
        per_account += min(int(limit), held)
    effective = min(cap, per_account) if counted else cap
    return max(1, min(effective, n))


# ------------------------------------------------------------------------------ measurements
@dataclass
class Run:
    journal: bool
    wall: float  # s, execute() to the report
    by_venue: dict[str, float]  # s, run start to the venue's last verdict
    loop_cpu: float  # s of this thread's CPU during the run
    sim_cpu: float | None  # s of the simulator process's CPU during the run
    es_round_trip: float  # ms, p50 of Everstrike closes' send to first reply
    flat: int
    items: int
    es_in_flight: int
    outcomes: dict[str, int] = field(default_factory=dict)


async def flatten_once(sim: Sim, prefix: str, per_venue: int, journal_on: bool,
                       options: Mapping[str, str] | None = None) -> Run:
    with journal_file(journal_on) as journal:
        async with desk_for(sim, spec_for(prefix, per_venue), journal, options) as desk:
            await sim.set_latency(LATENCY)
            try:
                plan = build_plan(desk, FlattenScope.everything(), reason="bench")
                in_flight = es_in_flight(desk, per_venue)
                sim0 = await sim.cpu()
                cpu0, t0 = time.thread_time(), time.perf_counter()
                report = await execute(desk, plan).wait()
                wall = time.perf_counter() - t0
                cpu = time.thread_time() - cpu0
                sim1 = await sim.cpu()
            finally:
                await sim.set_latency(0.0)
    by_venue: dict[str, float] = {}
    for item in report.items:
        v = item.key.venue.value
        by_venue[v] = max(by_venue.get(v, 0.0), (item.done_ms or 0.0) / 1000)
    outcomes: dict[str, int] = {}
    for item in report.items:
        name = item.outcome.value if item.outcome is not None else "none"
        outcomes[name] = outcomes.get(name, 0) + 1
    flat = sum(1 for i in report.items if i.outcome is Outcome.CLOSED_VERIFIED_FLAT)
    sim_cpu = None if sim0 is None or sim1 is None else sim1 - sim0
    trips = [i.first_reply_ms for i in report.items
             if i.key.venue is EVERSTRIKE and i.first_reply_ms is not None]
    es_trip = statistics.median(trips) if trips else float("nan")
    return Run(journal_on, wall, by_venue, cpu, sim_cpu, es_trip, flat, len(report.items),
               in_flight, outcomes)


async def one_by_one(sim: Sim, prefix: str, per_venue: int) -> tuple[float, float]:
    """Seconds per position, closed one after another, with the journal on: (each flattened
    alone and verified flat, each close only until the venue's final answer)."""
    with journal_file(True) as journal:
        async with desk_for(sim, spec_for(prefix + "v", per_venue), journal) as desk:
            await sim.set_latency(LATENCY)
            t0 = time.perf_counter()
            for key in sorted(desk.positions, key=str):
                plan = build_plan(desk, FlattenScope.selected([key]), reason="bench one")
                await execute(desk, plan).wait()
            verified = (time.perf_counter() - t0) / (2 * per_venue)
            await sim.set_latency(0.0)
        async with desk_for(sim, spec_for(prefix + "r", per_venue), journal) as desk:
            await sim.set_latency(LATENCY)
            t0 = time.perf_counter()
            for key in sorted(desk.positions, key=str):
                pos = desk.positions[key]
                intent = await desk.close(CloseRequest(key, pos.side, pos.quantity))
                await intent.settled(timeout=30)
            replied = (time.perf_counter() - t0) / (2 * per_venue)
            await sim.set_latency(0.0)
    return verified, replied


def qfex_floor(pulse: float) -> float:
    return LATENCY + pulse + LATENCY


def es_floor(n: int, in_flight: int) -> float:
    return math.ceil(n / in_flight) * LATENCY + LATENCY


async def measure(*, tiny: bool, runs: int | None = None, thread_sim: bool = False,
                  options: Mapping[str, str] | None = None) -> Report:
    per_venue = 2 if tiny else 250
    runs = runs or (1 if tiny else 3)
    obo_per_venue = 1 if tiny else 10
    report = Report(TITLE, tiny=tiny)
    results: list[Run] = []
    closes: dict[str, int] = {"qfex": 0, "everstrike": 0}
    still_open: dict[str, int] = {"qfex": 0, "everstrike": 0}

    @contextlib.asynccontextmanager
    async def fresh() -> AsyncIterator[ChildSim | ThreadSim]:
        """A new simulator for every run: its markets scan every account they hold on some
        requests, so accounts left over from earlier runs would slow later ones."""
        sim: ChildSim | ThreadSim = ThreadSim() if thread_sim else ChildSim()
        try:
            yield sim
            for counts, now in ((closes, await sim.close_requests()),
                                (still_open, await sim.open_positions())):
                for v, k in now.items():
                    counts[v] += k
        finally:
            sim.stop()

    for r in range(runs):  # interleaved: journal on, then off, in every round
        for journal_on in (True, False):
            async with fresh() as sim:
                pulse = sim.pulse
                results.append(await flatten_once(sim, f"r{r}{'j' if journal_on else 'n'}",
                                                  per_venue, journal_on, options))
    async with fresh() as sim:
        verified, replied = await one_by_one(sim, "obo", obo_per_venue)
    report.load_average = load_average()
    n = 2 * per_venue
    with_j = [r for r in results if r.journal]
    without = [r for r in results if not r.journal]

    def p50(xs: list[float]) -> float:
        return statistics.median(xs)

    q_floor = qfex_floor(pulse)
    in_flight = with_j[0].es_in_flight
    e_floor = es_floor(per_venue, in_flight)
    floor = max(q_floor, e_floor)
    wall = p50([r.wall for r in with_j])
    add = report.add
    add(Metric(f"flatten {n} positions, journal on (p50 of {len(with_j)})", wall, "s"))
    add(Metric(f"flatten {n} positions, journal off (p50 of {len(without)})",
               p50([r.wall for r in without]), "s"))
    add(Metric("floor (the slower venue's)", floor, "s"))
    ratio = wall / floor
    add(Metric("wall / floor, journal on", ratio, "x", f"<= {TARGET_FLOOR_RATIO}",
               ratio <= TARGET_FLOOR_RATIO))
    for venue, v_floor in (("qfex", q_floor), ("everstrike", e_floor)):
        for label, group in (("journal on", with_j), ("journal off", without)):
            t = p50([r.by_venue.get(venue, 0.0) for r in group])
            add(Metric(f"{venue}: last verdict, {label}", t, "s"))
            add(Metric(f"{venue}: / its floor {v_floor:.3f} s, {label}", t / v_floor, "x",
                       f"<= {TARGET_FLOOR_RATIO}", t / v_floor <= TARGET_FLOOR_RATIO))
    add(Metric("event-loop CPU per close, journal on",
               p50([r.loop_cpu for r in with_j]) / n * 1000, "ms"))
    add(Metric("event-loop CPU per close, journal off",
               p50([r.loop_cpu for r in without]) / n * 1000, "ms"))
    add(Metric("everstrike: close round trip p50 (send to first reply), journal off",
               p50([r.es_round_trip for r in without]), "ms"))
    sim_cpus = [r.sim_cpu for r in results if r.sim_cpu is not None]
    if sim_cpus:
        add(Metric("simulator CPU per close (its own process)", p50(sim_cpus) / n * 1000, "ms"))
    scaled = verified * n
    speedup = scaled / wall
    add(Metric(f"one by one, verified flat (scaled from {2 * obo_per_venue})", scaled, "s"))
    add(Metric("speed-up vs one by one, verified flat", speedup, "x",
               f">= {TARGET_SPEEDUP:g}", speedup >= TARGET_SPEEDUP))
    add(Metric(f"one by one, final answer only (scaled from {2 * obo_per_venue})",
               replied * n, "s"))
    add(Metric("speed-up vs one by one, final answer only", replied * n / wall, "x"))
    not_flat = sum(r.items - r.flat for r in results)
    # httpcore pays a failed import per lock without it (several per Everstrike request).
    sniffio = importlib.util.find_spec("sniffio") is not None
    report.notes += [
        f"QFEX floor = latency + positions pulse + latency = {LATENCY * 1000:g} + "
        f"{pulse * 1000:g} + {LATENCY * 1000:g} ms = {q_floor * 1000:.0f} ms "
        f"(pulse: the simulator's documented 1 s positions push, {pulse:g} s here).",
        f"Everstrike floor = ceil(N / in-flight) x latency + latency = ceil({per_venue} / "
        f"{in_flight}) x {LATENCY * 1000:g} + {LATENCY * 1000:g} ms = {e_floor * 1000:.0f} ms "
        f"(in-flight {in_flight}: this build's limit for these accounts).",
        f"{per_venue} positions per venue, {PER_ACCOUNT} per account "
        f"({math.ceil(per_venue / PER_ACCOUNT)} accounts per venue); simulator "
        f"{'on a thread of this process' if thread_sim else 'in a child process'}, a new one for "
        "every run; the journal "
        "is a real file in a temporary directory; journal-on and journal-off runs interleaved.",
        "Venue time: run start to that venue's last item verdict (verified flat). "
        f"sniffio installed: {'yes' if sniffio else 'no'}.",
        f"One by one: {2 * obo_per_venue} positions closed one after another with the journal "
        f"on, scaled linearly to {n}: 'verified flat' flattens each alone and waits for its "
        "verdict (the flatten's own definition of done); 'final answer only' waits for each "
        "close's final reply (Filled) and not for the position to leave the book.",
        f"Items not verified flat over all runs: {not_flat}; close requests the simulator "
        f"received: {closes}; positions still open there: {still_open}.",
        "Per-run walls (s): " + ", ".join(
            f"{'J' if r.journal else 'n'} {r.wall:.2f} (q {r.by_venue.get('qfex', 0):.2f} / "
            f"e {r.by_venue.get('everstrike', 0):.2f})" for r in results),
    ]
    return report


def run(*, tiny: bool) -> Report:
    return asyncio.run(measure(tiny=tiny))


def _print(report: Report) -> None:
    print(f"== {report.title}{' (tiny)' if report.tiny else ''}")
    for m in report.metrics:
        value = "n/a" if m.value is None else f"{m.value:.3f}"
        target = "" if m.target is None else f"   target {m.target}: " + \
            ("met" if m.met else "MISSED")
        print(f"  {m.name}: {value} {m.unit}{target}")
    for note in report.notes:
        print(f"  - {note}")
    print(f"  load average: {report.load_average}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--thread-sim", action="store_true",
                        help="run the simulator on a thread of this process (as demo mode)")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                        help="an Everstrike account option for every account (newer builds)")
    parser.add_argument("--serve-sim", action="store_true", help=argparse.SUPPRESS)
    ns = parser.parse_args()
    if ns.serve_sim:
        serve_sim()
    else:
        opts = dict(o.split("=", 1) for o in ns.option)
        _print(asyncio.run(measure(tiny=ns.tiny, runs=ns.runs, thread_sim=ns.thread_sim,
                                   options=opts)))
