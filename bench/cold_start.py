"""Cold start: ``closeout --screenshot`` against a bare PySide6 window with a table.

Each run is a fresh process in a fresh temporary HOME (and XDG directories), so no settings,
keyring entry or journal of the user is read or touched, and the app starts as a new user's
does: in demo mode, on the embedded simulator. ``closeout`` must wait for rows from every venue
before it saves its screenshot; the bare window (``bench/bare_window.py``) shows a table of a
few rows and saves its own. Both write a PNG, so both are timed the same way from outside:
from spawning the process to the PNG appearing on disk ("painted"), and to the process exiting;
and the CPU time each process used, which a busy machine disturbs far less than the wall times.

Runs are interleaved (bare, closeout, bare, closeout, ...) so a busy machine slows both alike;
the figures are medians. Compiled bytecode goes to a temporary ``PYTHONPYCACHEPREFIX`` warmed by
one unmeasured run of each (a user's install has its bytecode), so no source tree gets a
``__pycache__``. Figures only: nothing is asserted.

    python -m bench.cold_start [--runs 5] [--repo PATH] [--tiny]

``--repo`` times another checkout's ``closeout`` (before/after figures); the bare window is
always this directory's ``bare_window.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.report import Metric, Report, distribution, load_average

TITLE = "Cold start: closeout --screenshot vs a bare PySide6 window with a table"
RUNS = 5
TARGET_S = 1.0
TARGET_RATIO = 3.0
TIMEOUT_S = 60.0
POLL_S = 0.002
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


@dataclass(frozen=True)
class Run:
    painted: float | None  # seconds from spawn to the PNG on disk; None if it never came
    exited: float
    rc: int
    stderr: str
    cpu: float  # seconds of CPU the process used, user + system, to its exit


def _env(home: Path, repo: Path, pycache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "PYTHON"))}
    for sub in ("config", "data", "cache", "state", "runtime"):
        (home / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_RUNTIME_DIR=str(home / "runtime"),
        QT_QPA_PLATFORM="offscreen",
        PYTHONPATH=str(repo),
        PYTHONPYCACHEPREFIX=str(pycache),
        PYTHONUNBUFFERED="1",
    )
    return env


def _time(argv: list[str], png: Path, env: dict[str, str], cwd: Path, log: Path) -> Run:
    """Spawn, then poll for the PNG every couple of milliseconds until the process exits. The
    child's CPU time comes from ``wait4`` (POSIX): unlike the wall times, it hardly depends on
    what else the machine is doing."""
    painted: float | None = None
    with log.open("w+", encoding="utf-8") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        deadline = start + TIMEOUT_S
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if painted is None and png.exists():
                painted = time.perf_counter() - start
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(POLL_S)
        exited = time.perf_counter() - start
        proc.returncode = rc = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read()
    if painted is None and png.exists():  # written in the last poll interval
        painted = exited
    return Run(painted, exited, rc, stderr, usage.ru_utime + usage.ru_stime)


def _closeout() -> list[str]:
    # What the ``closeout`` console script runs (cli.main:main), without needing it installed.
    return [sys.executable, "-m", "cli.main", "--screenshot"]


def _bare() -> list[str]:
    return [sys.executable, str(HERE / "bare_window.py")]


def measure(repo: Path, runs: int, *, warm: bool = True) -> tuple[list[Run], list[Run]]:
    """``runs`` interleaved pairs (bare first, then closeout); returns (bare, closeout)."""
    bare: list[Run] = []
    app: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="closeout-cold-") as tmp_name:
        tmp = Path(tmp_name)
        pycache = tmp / "pycache"
        for i in range(-1 if warm else 0, runs):
            for name, argv, out in (("bare", _bare(), bare), ("closeout", _closeout(), app)):
                home = tmp / f"{name}-{i}"
                png = home / "shot.png"
                run = _time([*argv, str(png)], png, _env(home, repo, pycache), repo,
                            tmp / f"{name}-{i}.stderr")
                if i >= 0:
                    out.append(run)
    return bare, app


def _median(values: list[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return statistics.median(got) if got else None


def _failures(name: str, runs: list[Run]) -> list[str]:
    notes = []
    for n, r in enumerate(runs):
        if r.rc != 0 or r.painted is None:
            tail = " | ".join(r.stderr.strip().splitlines()[-3:])
            notes.append(f"{name} run {n}: exit {r.rc}, PNG {'written' if r.painted else 'missing'}"
                         f"; stderr: {tail}")
    return notes


def run(*, tiny: bool, repo: Path | None = None, runs: int | None = None) -> Report:
    """``tiny``: one run of each, no warm-up run (bytecode is compiled during the timed run)."""
    repo = (repo or ROOT).resolve()
    n = runs if runs is not None else (1 if tiny else RUNS)
    before = load_average()
    bare, app = measure(repo, n, warm=not tiny)
    report = Report(TITLE, tiny=tiny, load_average=load_average())
    bare_painted = _median([r.painted for r in bare])
    app_painted = _median([r.painted for r in app])
    ratio = app_painted / bare_painted if app_painted and bare_painted else None
    report.add(Metric(
        "closeout --screenshot: spawn to PNG", app_painted, "s", f"< {TARGET_S:g} s",
        None if app_painted is None else app_painted < TARGET_S,
        distribution([r.painted for r in app if r.painted is not None]),
    ))
    report.add(Metric(
        "bare PySide6 table window: spawn to PNG", bare_painted, "s", None, None,
        distribution([r.painted for r in bare if r.painted is not None]),
    ))
    report.add(Metric("ratio closeout / bare (to PNG)", ratio, "x", f"<= {TARGET_RATIO:g}x",
                      None if ratio is None else ratio <= TARGET_RATIO))
    report.add(Metric("closeout --screenshot: spawn to exit", _median([r.exited for r in app]),
                      "s", spread=distribution([r.exited for r in app])))
    report.add(Metric("bare PySide6 table window: spawn to exit",
                      _median([r.exited for r in bare]), "s",
                      spread=distribution([r.exited for r in bare])))
    report.add(Metric("closeout --screenshot: CPU used (user + system, to exit)",
                      _median([r.cpu for r in app]), "s",
                      spread=distribution([r.cpu for r in app])))
    report.add(Metric("bare PySide6 table window: CPU used (user + system, to exit)",
                      _median([r.cpu for r in bare]), "s",
                      spread=distribution([r.cpu for r in bare])))
    report.notes.append(f"{n} interleaved run(s) of each; medians; repo {repo}; "
                        f"load average before {before}")
    report.notes.extend(_failures("closeout", app) + _failures("bare", bare))
    return report


def _print(report: Report) -> None:
    print(f"== {report.title}")
    for m in report.metrics:
        value = "n/a" if m.value is None else f"{m.value:.3f} {m.unit}"
        spread = "" if m.spread is None or not m.spread.n else (
            f"  (n={m.spread.n} p50={m.spread.p50:.3f} max={m.spread.max:.3f})")
        target = "" if m.target is None else f"  target {m.target}: {'met' if m.met else 'MISSED'}"
        print(f"{m.name:<60} {value}{spread}{target}")
    for note in report.notes:
        print(f"  {note}")
    print(f"  load average after: {report.load_average}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--repo", type=Path, default=None,
                        help="the checkout whose closeout is timed (default: this one)")
    parser.add_argument("--tiny", action="store_true")
    opts = parser.parse_args()
    _print(run(tiny=opts.tiny, repo=opts.repo, runs=opts.runs))
