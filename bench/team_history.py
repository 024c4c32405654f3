"""History's reads of the shared journal at scale: each page and poll query on a table of a
million records, with its plan (EXPLAIN ANALYZE), so a filter that falls back to reading the
whole table shows up as a "Seq Scan" and a long time.

The records are made in SQL (two desks, accounts, symbols and kinds spread over a month),
with the chain check switched off for the load only: what is measured is reading.

    python -m bench.team_history [--rows N] [--plans]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from typing import Any

import psycopg

from core.journal import JournalFilter
from core.team.cluster import LocalCluster
from core.team.history import TeamHistory
from core.team.setup import APP_ROLE, prepare

_PASSWORD = "bench-only"
_LOAD = """
ALTER TABLE records DISABLE TRIGGER records_chain;
INSERT INTO desks (desk_id, name, operator) VALUES ('d1', 'Desk 1', 'maria'),
    ('d2', 'Desk 2', 'li'), ('d3', 'Desk 3', 'sam');
INSERT INTO records (desk_id, desk_seq, wall_time, kind, account, venue, symbol, operator,
                     payload, prev_hash, hash)
SELECT 'd' || (1 + i % 3), 1 + i / 3, 1767225600 + i * (2592000.0 / %(n)s),
       CASE WHEN i % 1000 = 0 THEN 'override' ELSE (ARRAY['order_update', 'order_update',
            'order_update', 'fill', 'request', 'intent'])[1 + i % 6] END,
       'client-' || (i * 31 % 200), 'qfex', 'SYM' || (i * 17 % 50), 'op',
       '{"i":' || i || '}', repeat('0', 64), repeat('0', 64)
  FROM generate_series(0, %(n)s - 1) AS i;
ALTER TABLE records ENABLE TRIGGER records_chain;
"""


async def _measure(dsn: str, n: int, plans: bool) -> None:
    async def connect() -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(dsn)

    h = TeamHistory(connect, timeout_s=120)
    newest = (await h.page(JournalFilter(), limit=1))[0].stored_id
    mid = newest // 2
    t0 = 1767225600.0
    cases: list[tuple[str, JournalFilter, str | None, int | None, int | None]] = [
        ("first page, no filter", JournalFilter(), None, None, None),
        ("a page half way down", JournalFilter(), None, mid, None),
        ("poll: newer than the top", JournalFilter(), None, None, newest - 10),
        ("account", JournalFilter(account="client-7"), None, mid, None),
        ("symbol", JournalFilter(symbol="SYM3"), None, mid, None),
        ("rare kind (1 in 1000)", JournalFilter(kinds=frozenset({"override"})), None, mid,
         None),
        ("desk", JournalFilter(), "d2", mid, None),
        ("account + symbol + desk", JournalFilter(account="client-7", symbol="SYM3"), "d2",
         None, None),
        ("one day, ten days back", JournalFilter(since=t0 + 19 * 86400,
                                                 until=t0 + 20 * 86400), None, None, None),
        ("poll under a filter", JournalFilter(symbol="SYM3"), None, None, newest - 10),
    ]
    print(f"== History on the shared journal: {n:,} records")
    for name, where, desk, before, after in cases:
        started = time.perf_counter()
        page = await h.page(where, desk=desk, before=before, after=after)
        wall = (time.perf_counter() - started) * 1000
        plan = await h.explain(where, desk=desk, before=before, after=after)
        executed = re.search(r"Execution Time: ([\d.]+) ms", plan)
        scans = sorted(set(re.findall(r"(Seq Scan|Index Only Scan|Index Scan Backward|"
                                      r"Index Scan|Bitmap Index Scan)(?: using (\w+))? on",
                                      plan)))
        print(f"  {name:28} {len(page):4} rows  {wall:7.2f} ms round trip  "
              f"{executed.group(1) if executed else '?':>8} ms in the server  "
              f"{', '.join(f'{s} {i}'.strip() for s, i in scans)}")
        if plans:
            print("    " + plan.replace("\n", "\n    "))
    started = time.perf_counter()
    count = await h.count_after(JournalFilter(), mid, cap=5000)
    print(f"  count of new records (capped at 5,000): {count[0]:,} in "
          f"{(time.perf_counter() - started) * 1000:.2f} ms")
    await h.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--plans", action="store_true")
    args = parser.parse_args()
    with LocalCluster() as cluster:
        prepare(cluster.dsn(), app_password=_PASSWORD)
        with psycopg.connect(cluster.dsn(dbname="closeout"), autocommit=True) as admin:
            started = time.perf_counter()
            admin.execute(_LOAD.replace("%(n)s", str(int(args.rows))))
            admin.execute("VACUUM ANALYZE records")
            print(f"loaded {args.rows:,} records in {time.perf_counter() - started:.1f} s")
        asyncio.run(_measure(cluster.dsn(user=APP_ROLE, password=_PASSWORD, dbname="closeout"),
                             args.rows, args.plans))


if __name__ == "__main__":
    main()
