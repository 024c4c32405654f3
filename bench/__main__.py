"""Run the benchmarks: ``python -m bench [names...] [--tiny] [--repeat N]`` (``make bench``).

A benchmark is any module of this package that defines ``TITLE`` and ``run(*, tiny)``; they are
found by reading the modules' source, so finding them imports nothing. Each runs in a fresh
subprocess, so Qt state, memory and imports never carry from one to the next. One that fails is
reported as failed and the run goes on; the exit status is non-zero at the end.

The results go to ``bench/results.json`` (every report, with the machine: CPUs, Python,
PySide6, the git commit, the date and the load average) and ``bench/results.md`` (one table
per benchmark). Naming benchmarks updates only their entries; ``--tiny`` writes to a temporary
directory unless ``--out`` says where.

Budget of ``make bench`` on a 2-core machine, 15 minutes in all (each module's docstring has
its own; measured on the code before the performance work, load average about 2): table scale
45 s (a few seconds once it meets its targets), responsiveness and memory 10 min 30 s, click to
wire 30 s, close latency 20 s, journal history 20 s: about 12 minutes, which leaves about 3 for
flatten, cold start and the journal writer, and a second or two per benchmark to start its
process. The soak adds 3 min 20 s (18 minutes in all); ``make soak`` runs it for 30 minutes.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import datetime as dt
import importlib
import inspect
import json
import os
import pkgutil
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

from bench.report import Report, finite_json, load_average

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# The order; anything else found runs after these, by name.
PREFERRED = ("table_scale", "responsiveness", "flatten", "click_to_wire", "cold_start")
TIMEOUT = 30 * 60  # seconds one benchmark may take before it is stopped and marked failed
NOISE = ("This plugin does not support propagateSizeHints()",)  # Qt offscreen chatter


@dataclass(frozen=True)
class Found:
    name: str
    title: str


@dataclass
class Outcome:
    name: str
    title: str
    ok: bool
    seconds: float
    report: Report | None = None
    error: str = ""
    machine: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "status": "ok" if self.ok else "failed",
                "seconds": round(self.seconds, 1), "error": self.error,
                "machine": self.machine,
                "report": None if self.report is None else self.report.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outcome:
        report = data.get("report")
        return cls(data["name"], data["title"], data.get("status") == "ok",
                   float(data.get("seconds") or 0), None if report is None
                   else Report.from_json(report), data.get("error", ""),
                   dict(data.get("machine") or {}))


# --------------------------------------------------------------------------- discovery
def title_of(path: Path) -> str | None:
    """The module's ``TITLE`` if it also defines ``run``; None if it is not a benchmark."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    title: str | None = None
    has_run = False
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "run":
            has_run = True
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == "TITLE" for t in targets):
            try:
                title = str(ast.literal_eval(value))
            except ValueError:  # built from parts: the module's name will do here
                title = path.stem
    return title if has_run and title is not None else None


def discover() -> list[Found]:
    """Every benchmark module of this package, in the issue's order."""
    found = []
    for info in pkgutil.iter_modules([str(HERE)]):
        if info.ispkg or info.name.startswith("_") or info.name == "report":
            continue
        title = title_of(HERE / f"{info.name}.py")
        if title is not None:
            found.append(Found(info.name, title))

    def order(f: Found) -> tuple[int, str]:
        return (PREFERRED.index(f.name) if f.name in PREFERRED else len(PREFERRED), f.name)

    return sorted(found, key=order)


# --------------------------------------------------------------------------- the machine
def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def _version(*dists: str) -> str:
    for dist in dists:
        with contextlib.suppress(metadata.PackageNotFoundError):
            return metadata.version(dist)
    return "not installed"


def machine() -> dict[str, Any]:
    """What the figures depend on besides the code."""
    commit = _git("rev-parse", "HEAD")
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "pyside6": _version("PySide6-Essentials", "PySide6"),
        "qasync": _version("qasync"),
        "git_commit": commit,
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "load_average": load_average(),
        "qpa_platform": os.environ.get("QT_QPA_PLATFORM", ""),
    }


# --------------------------------------------------------------------------- running
def _tee(stream: TextIO, sink: TextIO, tail: deque[str]) -> None:
    for line in stream:
        if line.strip() in NOISE:
            continue
        tail.append(line)
        sink.write(line)
        sink.flush()


def run_one(found: Found, *, tiny: bool, repeat: int, timeout: float) -> Outcome:
    """One benchmark in a fresh interpreter; its report comes back through a file."""
    started = time.perf_counter()
    facts = machine()
    with tempfile.TemporaryDirectory(prefix="closeout-bench-run-") as tmp:
        out = Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "bench", "--child", found.name, "--report", str(out),
               "--repeat", str(repeat)] + (["--tiny"] if tiny else [])
        env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
               "PYTHONPATH": os.pathsep.join(
                   p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
        tail: deque[str] = deque(maxlen=30)
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        reader = threading.Thread(target=_tee, args=(proc.stdout, sys.stdout, tail),
                                  daemon=True)
        reader.start()
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            rc = None
        reader.join(timeout=10)
        proc.stdout.close()
        seconds = time.perf_counter() - started
        facts["load_average_after"] = load_average()
        if rc is None:
            return Outcome(found.name, found.title, False, seconds,
                           error=f"stopped after {timeout:g} s", machine=facts)
        if rc != 0 or not out.exists():
            return Outcome(found.name, found.title, False, seconds,
                           error=f"exit status {rc}: " + "".join(tail)[-2000:].strip(),
                           machine=facts)
        report = Report.from_json(json.loads(out.read_text()))
        return Outcome(found.name, report.title, True, seconds, report, machine=facts)


def child(name: str, report_path: Path, *, tiny: bool, repeat: int) -> int:
    """Inside the subprocess: run one benchmark and write its report."""
    module = importlib.import_module(f"bench.{name}")
    kwargs: dict[str, Any] = {"tiny": tiny}
    if "repeat" in inspect.signature(module.run).parameters:
        kwargs["repeat"] = repeat
    reports = [module.run(**kwargs)]
    if "repeat" not in kwargs:  # the module does not repeat itself: run it again, in turn
        reports += [module.run(**kwargs) for _ in range(repeat - 1)]
    report = reports[0] if len(reports) == 1 else _merge(reports)
    report_path.write_text(json.dumps(finite_json(report.to_json()), allow_nan=False))
    return 0


def _merge(reports: Sequence[Report]) -> Report:
    """Repeated runs of a module that does not repeat itself: every run's metrics, in turn."""
    merged = Report(reports[0].title, tiny=reports[0].tiny)
    for i, r in enumerate(reports, 1):
        for m in r.metrics:
            m.name = f"run {i}: {m.name}"
            merged.add(m)
        merged.notes.extend(f"run {i}: {n}" for n in r.notes)
        merged.load_average = r.load_average
    return merged


# --------------------------------------------------------------------------- writing
def _num(value: float | None) -> str:
    if value is None or value != value:  # NaN
        return "–"
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if size >= 1 else f"{value:.3f}"


def _load(load: Any) -> str:
    return " / ".join(f"{x:.2f}" for x in load) if load else "–"


def markdown(outcomes: Sequence[Outcome], facts: dict[str, Any], *, tiny: bool) -> str:
    lines = ["# Benchmark results", ""]
    if tiny:
        lines += ["**Tiny sizes** (what `make test` runs): these figures mean nothing.", ""]
    commit = facts.get("git_commit", "")[:10] + (" (dirty)" if facts.get("git_dirty") else "")
    lines += [f"{facts['date']} · commit {commit or '?'} · {facts['cpus']} CPUs · "
              f"Python {facts['python']} · PySide6 {facts['pyside6']} · "
              f"load average at start {_load(facts.get('load_average'))}", ""]
    lines += ["The machine is shared: compare figures only with runs taken beside them. "
              "`bench/results.json` has the same with full precision.", ""]
    for o in outcomes:
        lines += [f"## {o.title}", ""]
        load = o.report.load_average if o.report else o.machine.get("load_average_after")
        status = "ok" if o.ok else "**FAILED**"
        took = f" in {o.seconds:.0f} s" if o.seconds else ""
        lines += [f"{status}{took} · `bench/{o.name}.py` · load average "
                  f"{_load(load)} · {o.machine.get('date', '')}", ""]
        if not o.ok:
            lines += ["```", o.error or "(no output)", "```", ""]
            continue
        assert o.report is not None
        lines += ["| metric | value | p50 / p99 / max (n) | target | met | notes |",
                  "| --- | ---: | --- | --- | :-: | --- |"]
        for m in o.report.metrics:
            spread = "–" if m.spread is None else (
                f"{_num(m.spread.p50)} / {_num(m.spread.p99)} / {_num(m.spread.max)} "
                f"({m.spread.n})")
            met = {True: "✓", False: "✗", None: ""}[m.met]
            unit = f" {m.unit}" if m.unit else ""
            lines.append(f"| {m.name} | {_num(m.value)}{unit} | {spread} | {m.target or ''} | "
                         f"{met} | {m.note} |")
        lines.append("")
        lines += [f"- {n}" for n in o.report.notes]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write(out_dir: Path, outcomes: Sequence[Outcome], *, tiny: bool, merge: bool) -> None:
    """results.json and results.md in ``out_dir``; ``merge`` keeps other benchmarks' entries."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "results.json"
    facts = machine()
    kept: list[Outcome] = []
    if merge and path.exists():
        with contextlib.suppress(ValueError, KeyError, TypeError):
            old = json.loads(path.read_text())
            if bool(old.get("tiny")) == tiny:
                kept = [Outcome.from_json(b) for b in old.get("benchmarks", [])]
    by_name = {o.name: o for o in kept}
    by_name.update({o.name: o for o in outcomes})
    order = [f.name for f in discover()]
    ordered = sorted(by_name.values(), key=lambda o: (
        order.index(o.name) if o.name in order else len(order), o.name))
    data = {"tiny": tiny, "machine": facts, "benchmarks": [o.to_json() for o in ordered]}
    path.write_text(json.dumps(finite_json(data), indent=1, allow_nan=False) + "\n")
    (out_dir / "results.md").write_text(markdown(ordered, facts, tiny=tiny))


def print_report(report: Report, name: str = "") -> None:
    """A module run on its own (``python -m bench.<name>``) prints its table."""
    outcome = Outcome(name or "?", report.title, True, 0.0, report, machine=machine())
    sys.stdout.write(markdown([outcome], machine(), tiny=report.tiny))


# --------------------------------------------------------------------------- entry point
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0]
                                     if __doc__ else None)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--tiny", action="store_true",
                        help="the tiny sizes make test runs (checks they work; figures mean "
                             "nothing)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each, interleaved "
                        "where the benchmark compares things")
    parser.add_argument("--out", type=Path, default=None,
                        help="where results.json and results.md go (default: bench/, or a "
                             "temporary directory with --tiny)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT,
                        help="seconds one benchmark may take")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--report", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.report, tiny=args.tiny, repeat=max(1, args.repeat))
    found = discover()
    if args.list:
        for f in found:
            print(f"{f.name:20} {f.title}")
        return 0
    unknown = sorted(set(args.names) - {f.name for f in found})
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)}; "
                     f"there are: {', '.join(f.name for f in found)}")
    chosen = [f for f in found if not args.names or f.name in args.names]
    out_dir = args.out or (Path(tempfile.mkdtemp(prefix="closeout-bench-tiny-")) if args.tiny
                           else HERE)
    outcomes: list[Outcome] = []
    started = time.perf_counter()
    for f in chosen:
        print(f"== {f.name}: {f.title}", flush=True)
        outcome = run_one(f, tiny=args.tiny, repeat=max(1, args.repeat), timeout=args.timeout)
        outcomes.append(outcome)
        print(f"== {f.name}: {'ok' if outcome.ok else 'FAILED'} in {outcome.seconds:.0f} s",
              flush=True)
        # Written after each one, so an interrupted run keeps what it measured.
        write(out_dir, outcomes, tiny=args.tiny, merge=bool(args.names))
    failed = [o.name for o in outcomes if not o.ok]
    print(f"== {len(outcomes)} benchmark(s) in {time.perf_counter() - started:.0f} s; results "
          f"in {out_dir / 'results.md'}" + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
