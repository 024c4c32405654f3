"""Journal history at scale: paging, filtering, counting and exporting a large journal.

Target: the History view stays fast with 1,000,000 records because every page is a keyset
query on an index, never OFFSET and never the whole table. This builds such a journal in a
temporary directory (chained, through ``Journal.append_many``), reopens it as the app would,
and reports how long each kind of page takes, with SQLite's plan, then verifies the chain.
Figures only; nothing is asserted. A fake clock spreads the records over 30 days so time ranges
select something.

Budget: ``make bench`` builds 200,000 records (about 20 s on a 2-core machine, building is 15 s
of it); ``-n 1000000`` gives the million-record figures (about 2 minutes).

    python -m bench.journal_history [-n 1000000] [--repeat 5] [--verify]
"""

from __future__ import annotations

import argparse
import io
import itertools
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Literal, TypeVar

from bench.report import Metric, Report, distribution, load_average
from core.journal import Journal, JournalEntry, JournalFilter

TITLE = "Journal history: paging, counting, exporting and verifying a large journal"
FULL_N = 200_000  # make bench's budget; -n 1000000 by hand for the million
TINY_N = 2_000

START = 1_780_000_000.0  # 2026-05-28, an arbitrary fixed origin
DAYS = 30
ACCOUNTS = [f"client-{i:02d}" for i in range(12)]
SYMBOLS = [f"SYM{i:02d}-USD" for i in range(40)]
# Roughly the mix a desk writes: replies and updates dominate, intents are a minority.
KINDS = (["order_update"] * 40 + ["fill"] * 15 + ["intent"] * 8 + ["request"] * 8
         + ["intent_state"] * 8 + ["working_order"] * 8 + ["connection"] * 5
         + ["working_order_removed"] * 4 + ["cancel_result"] * 2 + ["cancel_intent"]
         + ["protocol_error"])
ACCOUNT, KIND = "client-03", "fill"
FORMATS: tuple[Literal["csv", "jsonl"], ...] = ("csv", "jsonl")
T = TypeVar("T")


def entries(n: int, seed: int = 1) -> Iterator[JournalEntry]:
    rng = random.Random(seed)
    for i in range(n):
        account = rng.choice(ACCOUNTS)
        yield JournalEntry(
            rng.choice(KINDS),
            {"status": "ACK", "raw_status": "ACK", "final": False, "order_id": f"o{i}",
             "client_order_id": f"co-{i:016x}", "side": "SELL", "type": "LIMIT",
             "tif": "GTC", "quantity": "1.25", "remaining": "1.25", "price": "220.15",
             "message": "order accepted"},
            account=account,
            venue="QFEX" if account < "client-06" else "EVERSTRIKE",
            symbol=rng.choice(SYMBOLS),
            intent_id=f"intent-{i // 5:08x}",
            latency_ms=round(rng.uniform(0.4, 30.0), 3),
        )


def fake_clock(n: int) -> Callable[[], float]:
    ticks = itertools.count()
    step = DAYS * 86_400 / n
    return lambda: START + next(ticks) * step


def timed(fn: Callable[[], T], repeat: int) -> tuple[float, list[float], T]:
    """(first call ms, the next ``repeat`` calls in ms, first result)."""
    t = time.perf_counter()
    result = fn()
    first = (time.perf_counter() - t) * 1000
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t) * 1000)
    return first, runs or [first], result


def _ms(report: Report, name: str, first: float, runs: list[float], note: str = "") -> None:
    spread = distribution(runs)
    report.add(Metric(name, spread.p50, "ms", None, None, spread,
                      note=f"first call {first:.1f} ms" + (f"; {note}" if note else "")))


def measure(n: int, repeat: int, verify: bool, tiny: bool = False) -> Report:
    report = Report(TITLE, tiny=tiny)
    with tempfile.TemporaryDirectory(prefix="closeout-bench-journal-") as tmp:
        path = Path(tmp) / "journal.sqlite3"
        writer = Journal(path, operator="bench", operator_name="Desk 1", clock=fake_clock(n))
        t = time.perf_counter()
        last = writer.append_many(entries(n))
        build = time.perf_counter() - t
        flush = getattr(writer, "flush", None)
        if flush is not None:  # a writer that commits in the background: wait for it
            flush()
            build = time.perf_counter() - t
        writer.close()
        size_mb = path.stat().st_size / 1e6
        report.add(Metric("build: chained records written through append_many", n / build,
                          "records/s", None, None,
                          note=f"{last:,} records in {build:.1f} s, file {size_mb:,.0f} MB"))

        t = time.perf_counter()
        j = Journal(path, operator="bench")
        report.add(Metric("reopen", (time.perf_counter() - t) * 1000, "ms"))

        week = JournalFilter(since=START + 10 * 86_400, until=START + 17 * 86_400)
        one_day = JournalFilter(since=START + 3 * 86_400, until=START + 4 * 86_400)
        acct_kind = JournalFilter(account=ACCOUNT, kinds=frozenset({KIND}))
        pages: list[tuple[str, JournalFilter, int | None]] = [
            ("first page (newest 500)", JournalFilter(), None),
            ("deep page (before_seq=1000)", JournalFilter(), 1000),
            (f"filtered page: {ACCOUNT} + {KIND}", acct_kind, None),
            ("filtered page, deep (before_seq=20000)", acct_kind, 20_000),
            (f"filtered page: {ACCOUNT} only", JournalFilter(account=ACCOUNT), None),
            ("filtered page: 3 kinds", JournalFilter(kinds=frozenset(
                {"intent", "request", "fill"})), None),
            ("time range: one day, 26 days back", one_day, None),
            ("time range: whole history", JournalFilter(since=START - 1), None),
        ]
        for name, where, before in pages:
            first, runs, rows = timed(partial(j.query, where, before_seq=before, limit=500),
                                      repeat)
            _, plan = j.explain_query(where, before_seq=before)
            _ms(report, f"query, {name}", first, runs,
                f"{len(rows)} rows; plan: {'; '.join(plan)}")

        for name, where in [("all", JournalFilter()), (f"{ACCOUNT} + {KIND}", acct_kind),
                            ("one day", one_day)]:
            first, runs, c = timed(partial(j.count, where), repeat)
            _ms(report, f"count, {name}", first, runs, f"{c:,} records")
        for column in ("account", "symbol", "kind"):
            first, runs, values = timed(partial(j.distinct, column), repeat)
            _ms(report, f"distinct {column}", first, runs, f"{len(values)} values")

        slice_ = JournalFilter(account=ACCOUNT, kinds=frozenset({KIND, "intent"}),
                               since=week.since, until=week.until)
        for fmt in FORMATS:
            for name, where in [(f"{ACCOUNT} + {KIND},intent, one week", slice_),
                                ("one week, all accounts", week)]:
                sink = io.StringIO()
                t = time.perf_counter()
                count = j.export(where, fmt, sink)
                ms = (time.perf_counter() - t) * 1000
                report.add(Metric(f"export {fmt}: {name}", ms, "ms",
                                  note=f"{count:,} records, streamed in keyset pages"))

        if verify:
            t = time.perf_counter()
            chain = j.verify_chain()
            report.add(Metric("verify the whole chain", time.perf_counter() - t, "s",
                              note=f"{chain.records:,} records, ok={chain.ok}"))
        j.close()
    report.notes.append(f"{n:,} records over {DAYS} days (fake clock); query, count and "
                        f"distinct: medians of {repeat} calls after the first; pages of 500.")
    report.notes.append("target: every page is a keyset query on an index, never OFFSET and "
                        "never the whole table; the plan is in each query's notes.")
    report.load_average = load_average()
    return report


def run(*, tiny: bool) -> Report:
    if tiny:
        return measure(TINY_N, 1, True, tiny=True)
    return measure(FULL_N, 5, True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", type=int, default=1_000_000, help="records to write")
    parser.add_argument("--repeat", type=int, default=5, help="timed repeats after the first")
    parser.add_argument("--verify", action="store_true", help="also time a full verify")
    args = parser.parse_args(argv)
    from bench.__main__ import print_report

    print_report(measure(args.n, args.repeat, args.verify), "journal_history")


if __name__ == "__main__":
    main()
