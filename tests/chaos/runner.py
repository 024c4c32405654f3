"""``python -m tests.chaos`` (this runner, ``make chaos``): randomised close and flatten
scenarios against the simulator's fault knobs, then kill -9 crash runs of the CLI and of the
desk.

    python -m tests.chaos                      # 1,000 scenarios and 20 kills, 2 workers
    python -m tests.chaos --seed 4242          # replay one scenario (printed by every run)
    python -m tests.chaos --count 50 --kills 2 --with-known

Each worker process keeps one simulator; a scenario adds fresh accounts and resets the fault
knobs. Every scenario prints its seed, its faults and its verdict. The figures go to
``--out`` (default ``bench/chaos-results.json``). Exit status 1 when any scenario or kill
found a problem (known failures excepted, see ``tests/chaos/faults.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
BASE_SEED = 12_000


class _ErrorLogs(logging.Handler):
    """Counts ERROR log records (the first text kept): a scenario reports them, and they stay
    off the terminal, which shows one line per scenario."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.errors = 0
        self.first = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.errors += 1
            self.first = self.first or f"{record.name}: {record.getMessage()}"[:200]


def _worker(seeds: list[int], enabled: list[str], out: Any, keep: bool) -> None:
    """One process, one simulator, many scenarios; one JSON line per scenario on ``out``."""
    from core.sim import Simulator
    from tests.chaos import scenario

    logs = _ErrorLogs()
    logging.getLogger().addHandler(logs)
    sim = Simulator(seed=11, tick_interval=None, demo=False)
    sim.start()
    work = Path(tempfile.mkdtemp(prefix="closeout-chaos-"))
    try:
        for n, seed in enumerate(seeds):
            logs.errors, logs.first = 0, ""
            result = asyncio.run(scenario.run(sim, seed, work, enabled=frozenset(enabled),
                                              tag=f"{seed}_{os.getpid()}_{n}", keep=keep))
            out.put({**result.as_json(), "error_logs": logs.errors,
                     "first_error_log": logs.first})
    finally:
        sim.stop()
        if not any(work.iterdir()):  # the journals of failed scenarios stay for a look
            work.rmdir()
        out.put(None)


def run_scenarios(seeds: list[int], workers: int, enabled: frozenset[str],
                  keep: bool = False) -> list[dict[str, Any]]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    shares = [seeds[i::workers] for i in range(workers)]
    procs = [ctx.Process(target=_worker, args=(share, sorted(enabled), queue, keep))
             for share in shares if share]
    for proc in procs:
        proc.start()
    results: list[dict[str, Any]] = []
    done = 0
    while done < len(procs):
        item = queue.get()
        if item is None:
            done += 1
            continue
        results.append(item)
        verdict = "ok" if item["ok"] else "FAIL " + "; ".join(item["problems"])
        if item["error_logs"]:
            verdict += f" [{item['error_logs']} ERROR log(s): {item['first_error_log']}]"
        print(f"seed {item['seed']:>6} {item['action']:<7} {item['closes']} close(s) "
              f"{' '.join(item['faults']) or '-'} ({item['seconds']:.1f} s): {verdict}",
              flush=True)
    for proc in procs:
        proc.join()
        if proc.exitcode:
            raise SystemExit(f"a chaos worker died with status {proc.exitcode}")
    return sorted(results, key=lambda r: r["seed"])


def summary(results: list[dict[str, Any]], kills: list[dict[str, Any]], seconds: float,
            enabled: frozenset[str]) -> dict[str, Any]:
    from tests.chaos.faults import KINDS, KNOWN_FAILURES

    faults: Counter[str] = Counter()
    for r in results:
        faults.update(label.split("@")[0] for label in r["faults"])
    failed = [r for r in results if not r["ok"]]
    return {
        "scenarios": len(results),
        "closes": sum(r["closes"] for r in results),
        "executed": sum(r["executed"] for r in results),
        "faults": sum(faults.values()),
        "faults_by_kind": dict(sorted(faults.items())),
        "actions": dict(Counter(r["action"] for r in results)),
        "duplicates": sum(r["duplicates"] for r in results),
        "orphans": sum(r["orphans"] for r in results),
        "losses": sum(r["losses"] for r in results),
        "error_logs": sum(r["error_logs"] for r in results),
        "failed_seeds": [r["seed"] for r in failed],
        "failures": {str(r["seed"]): r["problems"] for r in failed},
        "kills": len(kills),
        "kills_failed": [k for k in kills if not k["ok"]],
        "kill_closes": sum(k.get("closes", 0) for k in kills),
        "kill_resent": sum(k.get("resent", 0) for k in kills),
        "known_failures_off": {k: v for k, v in KNOWN_FAILURES.items() if k not in enabled},
        "kinds_on": sorted(k for k in KINDS if k in enabled),
        "seconds": round(seconds, 1),
        "cpus": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    from tests.chaos.faults import KINDS, KNOWN_FAILURES

    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000, help="scenarios (default 1000)")
    parser.add_argument("--seed", type=int, help="replay this one scenario (no kills)")
    parser.add_argument("--first-seed", type=int, default=BASE_SEED)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kills", type=int, default=20, help="kill -9 runs (default 20)")
    parser.add_argument("--with-known", action="store_true",
                        help="also draw the fault kinds known to fail today")
    parser.add_argument("--keep", action="store_true", help="keep the journals of every run")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "chaos-results.json")
    args = parser.parse_args(argv)

    enabled = frozenset(k for k in KINDS if args.with_known or k not in KNOWN_FAILURES)
    if args.seed is not None:  # the same kinds on as the run that printed it: the same draw
        seeds, kills_wanted, workers = [args.seed], 0, 1
    else:
        seeds = list(range(args.first_seed, args.first_seed + args.count))
        kills_wanted, workers = args.kills, args.workers
    start = time.monotonic()
    results = run_scenarios(seeds, workers, enabled, keep=args.keep)
    kills: list[dict[str, Any]] = []
    if kills_wanted:
        from tests.chaos import crash

        kills = crash.run_kills(kills_wanted, first_seed=args.first_seed)
    report = summary(results, kills, time.monotonic() - start, enabled)
    if args.seed is None:
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nchaos: {report['scenarios']} scenarios, {report['faults']} faults "
          f"{report['faults_by_kind']}, {report['closes']} closes on the wire, "
          f"{report['duplicates']} duplicates, {report['orphans']} orphans, "
          f"{report['losses']} losses; {report['kills']} kills "
          f"({len(report['kills_failed'])} failed, {report['kill_resent']} resent); "
          f"failed seeds {report['failed_seeds'] or 'none'}; {report['seconds']} s")
    if report["known_failures_off"]:
        print("known failures left out: " + "; ".join(
            f"{k}: {v}" for k, v in report["known_failures_off"].items()))
    return 1 if report["failed_seeds"] or report["kills_failed"] else 0
