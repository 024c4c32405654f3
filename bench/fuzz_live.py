"""Hostile frames down the live sockets of both venues, over loopback, through the simulator.

``python -m bench.fuzz_live [--frames N] [--seed S] [--out PATH]`` (``make fuzz-live``) runs the
real desk, journal and sessions of one QFEX and one Everstrike account against the simulator,
whose fault knob pushes the frames (``bench.hostile_frames``) between its own pushes, on the
QFEX trade and market-data sockets and the Everstrike socket. Then it checks:

* the process is alive and every frame was written by the simulator;
* every hostile frame is a journaled protocol error: the ``count`` of the journal's
  ``protocol_error`` records adds up to the frames injected (repeats are summarised, not
  dropped);
* the desk's book equals the venue's own positions (the simulator's market);
* no asyncio task exception went unretrieved, and nothing was logged at ERROR.

Frames go in bursts per socket, and the next burst waits until the desk has counted the last,
so a count that never arrives is a lost frame, not a race. Frames over the size limit end
their connection, so they go last, one at a time, each waiting for its socket to come back.
Not a benchmark of ``make bench`` (no ``TITLE``): a pass/fail job that also reports its rate.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.hostile_frames import KINDS, OVERSIZED, SOCKETS, hostile, oversized
from bench.report import load_average
from core.desk import Desk
from core.journal import Journal
from core.model import ConnectionEvent, ConnectionState, Environment
from core.sim import Simulator
from core.venue import AccountConfig, Credentials, EventSink, ReconnectPolicy, VenueSession
from core.venues import session_class
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from core.venues.qfex.sockets import MAX_FRAME as QFEX_MAX_FRAME

__all__ = ["Results", "fuzz_live", "main", "recording_task_exceptions"]

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "fuzz-live-results.json"
EVERSTRIKE_MAX_FRAME = 2**20  # the websockets client's default limit, which the session keeps
BURST = 2000  # frames per burst, over the sockets (the next waits until these are counted)
WAIT = 60.0  # seconds a burst may take to be counted before the run gives up on it

QFEX_POSITIONS = [("AAPL-USD", Decimal(40), Decimal(220)), ("TSLA-USD", Decimal(-7), Decimal(250))]
ES_POSITIONS = [("USD_ETH_PERP", Decimal("-3.5"), Decimal(4400)),
                ("USD_BTC_PERP", Decimal("0.25"), Decimal(60000))]


@dataclass
class Results:
    frames: int = 0
    by_socket: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)
    sent_by_simulator: int = 0
    seconds: float = 0.0  # the whole injection, oversized frames' reconnects included
    frames_per_second: float = 0.0
    plain_frames_per_second: float = 0.0  # the frames that keep their connection
    oversized_seconds: float = 0.0  # the oversized frames, each with its reconnect
    journaled_protocol_errors: int = 0  # the sum of the records' counts
    protocol_error_records: int = 0  # the rows they took
    reconnects: int = 0
    book_equal: bool = False
    book_differences: list[str] = field(default_factory=list)
    task_exceptions: list[str] = field(default_factory=list)
    error_logs: list[str] = field(default_factory=list)
    lost_bursts: int = 0

    @property
    def ok(self) -> bool:
        return (self.journaled_protocol_errors == self.frames == self.sent_by_simulator
                and self.book_equal and not self.task_exceptions and not self.error_logs
                and self.lost_bursts == 0)


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}"[:300])


def _plan(frames: int, rng: random.Random) -> tuple[list[tuple[str, str]], list[str]]:
    """(socket, kind) for every frame that keeps its connection, and the sockets of the
    oversized ones (about one in 500, at least one per socket type once there are enough)."""
    sockets = list(SOCKETS)
    n_big = max(len(sockets), frames // 500) if frames >= 100 else 0
    big = [sockets[i % len(sockets)] for i in range(n_big)]
    plain = [(rng.choice(sockets), rng.choice(KINDS)) for _ in range(frames - n_big)]
    return plain, big


async def _until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.005)
    return True


def _book(desk: Desk) -> dict[tuple[str, str], Decimal]:
    return {(k.account, k.symbol): p.signed_quantity for k, p in desk.positions.items()}


def _venue_book(sim: Simulator, accounts: dict[str, tuple[str, str]]
                ) -> dict[tuple[str, str], Decimal]:
    """From the simulator's own market: (our account name, symbol) -> signed size."""
    out: dict[tuple[str, str], Decimal] = {}
    for name, (venue, market_account) in accounts.items():
        market = sim.venue(venue).market
        for p in sim.call(lambda m=market, a=market_account: m.account_positions(a)):
            out[(name, p.symbol)] = p.size
    return out


async def fuzz_live(frames: int = 10_000, seed: int = 12, *, workdir: Path | None = None,
                    log: Callable[[str], None] = lambda _: None) -> Results:
    """Run the job; the caller's loop gets an exception handler for the duration."""
    rng = random.Random(seed)
    results = Results()
    recording = recording_task_exceptions(asyncio.get_running_loop(), results.task_exceptions)
    recording.__enter__()
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    sim = Simulator(seed=seed, tick_interval=None, demo=False)
    sim.start()
    tmp: tempfile.TemporaryDirectory[str] | None = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="fuzz-live-")
        workdir = Path(tmp.name)
    directory = workdir
    journal = Journal(directory / "journal.sqlite3", operator="fuzz-live")
    try:
        sim.qfex.settings.positions_interval = 0.05  # the trade socket's pushes carry bursts
        sim.qfex.settings.mds_interval = 0.05
        q_pub, q_sec = sim.add_account("qfex", "fz-q", QFEX_POSITIONS)
        e_pub, e_sec = sim.add_account("everstrike", "fz-e", ES_POSITIONS)
        q, e = sim.info.qfex, sim.info.everstrike
        accounts = [
            (AccountConfig("fz-q", QFEX, Environment.DEMO, q_pub,
                           {"trade_ws": q.trade_ws, "mds_ws": q.mds_ws, "rest": q.rest}),
             Credentials(q_pub, q_sec)),
            (AccountConfig("fz-e", EVERSTRIKE, Environment.DEMO, e_pub,
                           {"rest": e.rest, "ws": e.ws}),
             Credentials(e_pub, e_sec)),
        ]
        market_accounts = {"fz-q": ("qfex", sim.account_id("qfex", q_pub)),
                           "fz-e": ("everstrike", sim.account_id("everstrike", e_pub))}
        policy = ReconnectPolicy(initial=0.05, maximum=0.5)

        def factory(account: AccountConfig, creds: Credentials, sink: EventSink
                    ) -> VenueSession:
            return session_class(account.venue)(account, creds, sink, reconnect=policy)

        desk = Desk(journal=journal, session_factory=factory, protocol_error_window=2.0)
        connected: Counter[str] = Counter()
        desk.subscribe(lambda ev: connected.update([ev.account]) if isinstance(
            ev, ConnectionEvent) and ev.state is ConnectionState.CONNECTED else None)
        failed = await desk.start(accounts)
        if failed:
            raise RuntimeError(f"could not connect {failed}")
        await _until(lambda: len(desk.positions) == len(QFEX_POSITIONS) + len(ES_POSITIONS), 10)
        seen0 = desk.protocol_errors_seen
        plain, big = _plan(frames, rng)
        faults = {"qfex-trade": sim.qfex.faults, "qfex-mds": sim.qfex.faults,
                  "everstrike": sim.everstrike.faults}
        expected = 0
        started = time.perf_counter()
        for start in range(0, len(plain), BURST):
            batch = plain[start:start + BURST]
            for socket in SOCKETS:
                for kind in (kind for s, kind in batch if s == socket):
                    frame = hostile(socket, kind, rng)
                    faults[socket].inject_malformed(1, frame, path=SOCKETS[socket], burst=True)
                    results.by_socket[socket] = results.by_socket.get(socket, 0) + 1
                    results.by_kind[kind] = results.by_kind.get(kind, 0) + 1
            expected += len(batch)
            sim.step()  # marks move: pushes on every socket carry the bursts out
            want = seen0 + expected
            if not await _until(lambda w=want: desk.protocol_errors_seen >= w, WAIT):
                results.lost_bursts += 1
                log(f"burst at frame {start}: {desk.protocol_errors_seen - seen0} of "
                    f"{expected} counted")
            if start // BURST % 10 == 0:
                log(f"{expected} frames in {time.perf_counter() - started:.1f} s")
        plain_done = time.perf_counter()
        for socket in big:
            limit = EVERSTRIKE_MAX_FRAME if socket == "everstrike" else QFEX_MAX_FRAME
            before = _opened(sim, socket)
            faults[socket].inject_malformed(1, oversized(limit), path=SOCKETS[socket])
            results.by_socket[socket] = results.by_socket.get(socket, 0) + 1
            results.by_kind[OVERSIZED] = results.by_kind.get(OVERSIZED, 0) + 1
            expected += 1
            sim.step()
            want = seen0 + expected
            counted = await _until(lambda w=want: desk.protocol_errors_seen >= w, WAIT)
            back = await _until(lambda s=socket, b=before: _opened(sim, s) > b, WAIT)
            if not (counted and back):
                results.lost_bursts += 1
                log(f"oversized frame on {socket}: counted {counted}, reconnected {back}")
            results.reconnects += 1
        results.seconds = time.perf_counter() - started
        results.oversized_seconds = time.perf_counter() - plain_done
        if plain_done > started:
            results.plain_frames_per_second = len(plain) / (plain_done - started)
        results.frames = expected
        results.frames_per_second = expected / results.seconds if results.seconds else 0.0
        results.sent_by_simulator = sim.qfex.faults.malformed_sent + \
            sim.everstrike.faults.malformed_sent
        # The venue's pushes and the reconnects' snapshots bring the book back to the market.
        venue_book = _venue_book(sim, market_accounts)
        results.book_equal = await _until(lambda: _book(desk) == venue_book, 15)
        if not results.book_equal:
            mine = _book(desk)
            results.book_differences = [
                f"{k}: desk {mine.get(k)} venue {venue_book.get(k)}"
                for k in sorted(set(mine) | set(venue_book)) if mine.get(k) != venue_book.get(k)]
        await desk.stop()
        await desk.journaled()
        journal.flush()
        for record in journal.iter_all():
            if record.kind == "protocol_error":
                results.protocol_error_records += 1
                results.journaled_protocol_errors += int(json.loads(record.payload)["count"])
        gc.collect()  # a task that died unretrieved is reported when it is collected
        await asyncio.sleep(0)
    finally:
        journal.close()
        sim.stop()
        logging.getLogger().removeHandler(errors)
        recording.__exit__(None, None, None)
        if tmp is not None:
            tmp.cleanup()
    results.error_logs = errors.lines
    return results


@contextlib.contextmanager
def recording_task_exceptions(loop: asyncio.AbstractEventLoop, into: list[str]
                              ) -> Iterator[None]:
    """Every exception the loop would report (a task that died with nobody to retrieve its
    exception, a failing callback) goes into ``into`` while this is active."""
    previous = loop.get_exception_handler()
    loop.set_exception_handler(
        lambda _loop, ctx: into.append(f"{ctx.get('message')}: {ctx.get('exception')!r}"[:300]))
    try:
        yield
    finally:
        loop.set_exception_handler(previous)


def _opened(sim: Simulator, socket: str) -> int:
    """How many times the client has (re)opened ``socket``: its first message on each one."""
    venue, path, kind = {"qfex-trade": ("qfex", "/", "auth"), "qfex-mds": ("qfex", "/mds",
                                                                         "subscribe"),
                         "everstrike": ("everstrike", "/ws", "auth_api")}[socket]
    return sum(1 for r in sim.requests(venue) if r.channel == "ws" and r.kind == kind
               and r.path.partition("?")[0] == path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz_live", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    logging.getLogger().setLevel(logging.ERROR)  # the job collects and reports ERRORs itself
    results = asyncio.run(fuzz_live(args.frames, args.seed,
                                    log=lambda line: print(line, file=sys.stderr)))
    report: dict[str, Any] = {"ok": results.ok, "seed": args.seed, "command":
                              f"python -m bench.fuzz_live --frames {args.frames} --seed "
                              f"{args.seed}", "load_average": load_average(), **asdict(results)}
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    print(f"{'PASS' if results.ok else 'FAIL'}: {results.frames} hostile frames in "
          f"{results.seconds:.1f} s ({results.plain_frames_per_second:.0f} frames/s, and "
          f"{results.by_kind.get(OVERSIZED, 0)} oversized with their reconnects in "
          f"{results.oversized_seconds:.1f} s); {results.journaled_protocol_errors} "
          f"journaled as protocol errors in {results.protocol_error_records} records; "
          f"book equal: {results.book_equal}; written to {args.out}")
    return 0 if results.ok else 1


if __name__ == "__main__":
    sys.exit(main())
