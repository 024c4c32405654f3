"""Team desk on PostgreSQL: the lease round trip, and how fast a desk's journal reaches the
shared database, next to the local SQLite journal's own writer on the same machine.

Targets (the team-desk issue): journal records into PostgreSQL at >= 20,000 records/s with
group commit. The lease round trip (take, then release) is reported as p50/p99 on loopback.

* lease round trip: one desk takes and releases a lease on a rotating set of positions, one
  after the other, on one connection (the desk's own pattern: one close, one lease);
* replication: a local journal of N records is copied into an empty team database by the
  desk's replicator (batches of 5,000, one transaction each, every record checked against its
  desk's chain by the database's trigger); records/s from start to the last commit;
* SQLite: the same N records written by the local journal's writer, for comparison.

A throwaway cluster (initdb + pg_ctl, fsync on) is started for the run and removed after.

    python -m bench.team_db [--tiny]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from bench.journal_writer import FIELDS, order_update, print_report
from bench.report import Metric, Report, distribution, load_average
from core.journal import Journal, JournalEntry
from core.team.cluster import LocalCluster
from core.team.leases import LeaseKey, Leases
from core.team.replica import Replicator
from core.team.setup import APP_ROLE, prepare

TITLE = "Team desk on PostgreSQL: lease round trip, journal throughput"

REPLICA_TARGET_PER_S = 20_000.0
_PASSWORD = "bench-only"


def _journal(path: Path, n: int) -> tuple[Journal, float]:
    """A local journal of ``n`` order updates, and its writer's records/s."""
    journal = Journal(path, operator="bench")
    entries = [JournalEntry("order_update", order_update(i), account=FIELDS["account"],
                            venue=FIELDS["venue"], symbol=FIELDS["symbol"],
                            intent_id=FIELDS["intent_id"]) for i in range(n)]
    started = time.perf_counter()
    journal.append_many(entries)
    journal.flush(timeout=300)
    return journal, n / (time.perf_counter() - started)


async def _replicate(journal: Journal, dsn: str, n: int) -> float:
    async def connect() -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(dsn)

    replicator = Replicator(journal, connect, "bench-desk", desk_name="Bench", operator="bench")
    started = time.perf_counter()
    task = asyncio.create_task(replicator.run())
    try:
        while replicator.status.remote_seq < n:
            if task.done():
                task.result()
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - started
    finally:
        task.cancel()  # and wait for it: its connection is closed on the way out
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return n / elapsed


async def _leases(dsn: str, rounds: int) -> list[float]:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as db:
        await db.execute("INSERT INTO desks (desk_id, name, operator) VALUES "
                         "('lease-desk', 'Bench', 'bench') ON CONFLICT DO NOTHING")
        leases = Leases(db, "lease-desk", "bench")
        samples = []
        for i in range(rounds):
            key = LeaseKey(f"acct-{i % 50}", "qfex", f"SYM-{i % 7}")
            started = time.perf_counter()
            await leases.take(key, f"intent-{i}")
            await leases.release(key, f"intent-{i}")
            samples.append((time.perf_counter() - started) * 1000)
        return samples


def run(*, tiny: bool) -> Report:
    n, rounds = (5_000, 200) if tiny else (100_000, 2_000)
    report = Report(TITLE, tiny=tiny)
    # A tiny run (the suite's smoke test) skips initdb's flush: its figures are not kept.
    with tempfile.TemporaryDirectory(prefix="closeout-bench-") as d, \
            LocalCluster(sync_initdb=not tiny) as cluster:
        prepare(cluster.dsn(), app_password=_PASSWORD)
        dsn = cluster.dsn(user=APP_ROLE, password=_PASSWORD, dbname="closeout")
        journal, sqlite_rate = _journal(Path(d) / "local.sqlite3", n)
        try:
            rate = asyncio.run(_replicate(journal, dsn, n))
        finally:
            journal.close()
        samples = asyncio.run(_leases(dsn, rounds))
    report.load_average = load_average()
    spread = distribution(samples)
    report.add(Metric("lease round trip, take + release on loopback (p50)", spread.p50, "ms",
                      spread=spread))
    report.add(Metric("lease round trip (p99)", spread.p99, "ms"))
    report.add(Metric(f"journal into PostgreSQL, {n:,} records: records/s", rate, "records/s",
                      f">= {REPLICA_TARGET_PER_S:,.0f} records/s", rate >= REPLICA_TARGET_PER_S))
    report.add(Metric(f"local SQLite journal writer, the same {n:,} records: records/s",
                      sqlite_rate, "records/s"))
    report.notes.append("PostgreSQL 15 on loopback with fsync on, started for the run; the "
                        "database checks every record against its desk's chain on insert")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tiny", action="store_true")
    print_report(run(tiny=parser.parse_args().tiny))


if __name__ == "__main__":
    main()
