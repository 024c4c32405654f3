"""The fuzz runner: mutated seeds, then hypothesis examples, through every parser of each
venue; prints the counts and frames per second and writes them as JSON.

``python -m tests.fuzz --frames N --seed S --hypothesis H --out PATH``; ``make fuzz`` runs a
million frames per venue and writes ``bench/fuzz-results.json``. The seed is printed, and the
same seed replays the same mutated frames.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed

from core.bounds import MAX_EXPONENT
from tests.fuzz.corpus import VENUES, seeds
from tests.fuzz.mutate import Mutator
from tests.fuzz.strategies import frames
from tests.fuzz.targets import Checker, everstrike, qfex

_STATUSES = (200, 200, 200, 200, 201, 401, 404, 408, 429, 500, 503)


def feed(check: Checker, venue: str, frame: str | bytes, rng: random.Random) -> None:
    check.frames[venue] += 1
    if venue == "everstrike":
        everstrike(check, frame, rng.choice(_STATUSES))
    else:
        qfex(check, frame)


def mutation_phase(check: Checker, venue: str, count: int, seed: int,
                   progress: Callable[[str], None] | None = None) -> Counter[str]:
    """``count`` mutated seeds of ``venue`` through its parsers; the mutations used, counted."""
    rng = random.Random(f"{seed}:{venue}")
    mutator = Mutator(venue, rng)
    used: Counter[str] = Counter()
    started = time.perf_counter()
    for i in range(1, count + 1):
        frame, names = mutator.frame()
        used.update(names)
        check.mutations = names
        feed(check, venue, frame, rng)
        if progress is not None and i % 100_000 == 0:
            rate = i / (time.perf_counter() - started)
            progress(f"  {venue}: {i:,} frames, {rate:,.0f}/s, {check.failure_count} failures")
    return used


def hypothesis_phase(check: Checker, venue: str, examples: int, seed: int) -> int:
    """``examples`` hypothesis frames of ``venue`` through its parsers; how many ran."""
    ran = 0
    rng = random.Random(seed)

    @hypothesis_seed(seed)
    @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(frame=frames(venue))
    def one(frame: str | bytes) -> None:
        nonlocal ran
        ran += 1
        check.mutations = ["hypothesis"]
        feed(check, venue, frame, rng)

    one()
    return ran


def run(frames_per_venue: int, seed: int, hypothesis_examples: int,
        progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The whole job; returns the report (see ``main`` for where it goes)."""
    check = Checker()
    mutations: Counter[str] = Counter()
    hypothesis_frames: dict[str, int] = {}
    started = time.perf_counter()
    for venue in VENUES:
        if progress is not None:
            progress(f"{venue}: {len(seeds(venue))} seeds, {frames_per_venue:,} mutated frames, "
                     f"{hypothesis_examples:,} hypothesis frames")
        mutations += mutation_phase(check, venue, frames_per_venue, seed, progress)
        hypothesis_frames[venue] = hypothesis_phase(check, venue, hypothesis_examples, seed)
    elapsed = time.perf_counter() - started
    total = sum(check.frames.values())
    return {
        "command": "make fuzz",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "seed": seed,
        "bound": f"finite, |exponent| <= {MAX_EXPONENT}",
        "frames": total,
        "frames_by_venue": dict(check.frames),
        "hypothesis_frames": hypothesis_frames,
        "seeds": {venue: len(seeds(venue)) for venue in VENUES},
        "elapsed_s": round(elapsed, 1),
        "frames_per_s": round(total / elapsed) if elapsed else None,
        "parser_calls": sum(t.calls for t in check.tallies.values()),
        "parsers": {name: dataclasses.asdict(t) for name, t in sorted(check.tallies.items())},
        "mutations": dict(mutations.most_common()),
        "failure_count": check.failure_count,
        "failures": [dataclasses.asdict(f) for f in check.failures],
    }


def summary(report: dict[str, Any]) -> str:
    lines = [
        f"fuzz: {report['frames']:,} frames in {report['elapsed_s']} s "
        f"({report['frames_per_s']:,} frames/s), {report['parser_calls']:,} parser calls, "
        f"seed {report['seed']}",
        f"{'parser':<36}{'calls':>12}{'accepted':>12}{'refused':>12}{'failures':>10}",
    ]
    for name, t in report["parsers"].items():
        lines.append(f"{name:<36}{t['calls']:>12,}{t['accepted']:>12,}{t['refused']:>12,}"
                     f"{t['failures']:>10,}")
    lines.append(f"failures: {report['failure_count']}")
    for failure in report["failures"][:5]:
        lines.append(f"  {failure['parser']}: {failure['error']} <- {failure['frame'][:120]!r} "
                     f"({', '.join(failure['mutations'])})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    parser.add_argument("--frames", type=int, default=1_000_000,
                        help="mutated frames per venue (default 1,000,000)")
    parser.add_argument("--hypothesis", type=int, default=5_000,
                        help="hypothesis frames per venue (default 5,000)")
    parser.add_argument("--seed", type=int, default=None, help="replay a run (default: random)")
    parser.add_argument("--out", type=Path, default=Path("bench/fuzz-results.json"))
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    print(f"fuzz: seed {seed} (replay: make fuzz SEED={seed})", flush=True)
    report = run(args.frames, seed, args.hypothesis,
                 progress=lambda line: print(line, flush=True))
    print(summary(report))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"fuzz: written to {args.out}")
    return 1 if report["failure_count"] else 0


if __name__ == "__main__":
    sys.exit(main())
