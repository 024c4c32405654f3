"""Smoke test of a built bundle: unpack the archive and run what a new user would run.

``python packaging/smoke.py dist/closeout-<version>-linux-x86_64.tar.gz`` (``make bundle`` runs
it). Run with the build venv's Python, which has closeout and PySide6 installed: it reads the
expected version, the venue ids and the DEMO banner's colour from there, and loads the
screenshot with QImage. The bundle itself runs in a bare environment: no Python on PATH, no
PYTHONPATH, and HOME and the XDG folders in a temporary directory, so it never touches the
user's settings or journal. Exits 1 at the first failed check, saying which.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import bundle_modules  # beside this file

TIMEOUT = 120  # seconds, per command: a generous bound for a busy machine, never a figure
ROOT = Path(__file__).resolve().parent.parent
# What the third-party packages load by name and the app needs: the Secret Service keyring
# backend, and the simulator's loop, HTTP and WebSocket protocols and lifespan under uvicorn.
LOADED_BY_NAME = frozenset({
    "keyring.backends.SecretService", "secretstorage", "uvicorn.loops.asyncio",
    "uvicorn.protocols.http.h11_impl", "uvicorn.protocols.websockets.websockets_impl",
    "uvicorn.lifespan.on",
})


class Failed(Exception):
    pass


def clean_env(scratch: Path) -> dict[str, str]:
    """A bare environment: nothing of Python, of this shell or of the user's folders."""
    folders = {name: scratch / name.lower() for name in (
        "HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME",
        "XDG_RUNTIME_DIR")}
    for path in folders.values():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    empty_bin = scratch / "bin"  # PATH with no python3 on it
    empty_bin.mkdir(exist_ok=True)
    env = {name: str(path) for name, path in folders.items()}
    env.update(PATH=str(empty_bin), LANG="C.UTF-8", QT_QPA_PLATFORM="offscreen")
    return env


def run(argv: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(argv), env=env, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)
    shown = " ".join(str(a) for a in argv)
    if done.returncode != 0:
        raise Failed(f"`{shown}` exited {done.returncode}:\n{done.stderr.strip()}")
    for bad in ("Traceback", " ERROR ", " CRITICAL "):
        if bad in done.stderr:
            raise Failed(f"`{shown}` logged {bad.strip()}:\n{done.stderr.strip()}")
    return done


def unpack(archive: Path, into: Path) -> Path:
    with tarfile.open(archive) as tar:
        tops = {Path(m.name).parts[0] for m in tar.getmembers()}
        if len(tops) != 1:
            raise Failed(f"{archive.name} should hold one folder, holds {sorted(tops)}")
        tar.extractall(into, filter="tar")
    binary = into / tops.pop() / "closeout"
    if not os.access(binary, os.X_OK):
        raise Failed(f"no executable closeout in {archive.name}")
    return binary


def check_libraries(bundle: Path) -> None:
    """Every shared library in the bundle finds what it links to (an exclusion too many, or a
    build machine without one of Qt's xcb libraries, shows here), and none links to a Python
    outside the bundle."""
    internal = bundle / "_internal"
    env = {"LD_LIBRARY_PATH": str(internal), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    problems = []
    for path in sorted([bundle / "closeout", *internal.rglob("*.so*")]):
        if path.is_symlink() or not path.is_file():
            continue
        out = subprocess.run(["ldd", str(path)], env=env, capture_output=True, text=True,
                             check=False).stdout
        for line in out.splitlines():
            name, _, where = line.strip().partition(" => ")
            if "not found" in where:
                problems.append(f"{path.relative_to(bundle)}: {name} not found")
            elif "libpython" in name and str(bundle) not in where:
                problems.append(f"{path.relative_to(bundle)}: {name} from outside: {where}")
    if problems:
        raise Failed("libraries that would not load:\n  " + "\n  ".join(problems))


def check_modules(binary: Path) -> int:
    """The bundle's module archive holds every module of ours (subcommands, venues and
    simulated venues are imported by name) and what third-party packages load by name."""
    viewer = Path(sys.executable).parent / "pyi-archive_viewer"
    listing = subprocess.run([str(viewer), "-r", "-b", str(binary)], capture_output=True,
                             text=True, timeout=TIMEOUT, check=True).stdout
    names = {line.strip() for line in listing.splitlines()}
    missing = (set(bundle_modules.own_modules(ROOT)) | LOADED_BY_NAME) - names
    if missing:
        raise Failed("modules missing from the bundle: " + ", ".join(sorted(missing)))
    return len(names)


def check_resources(bundle: Path) -> int:
    """Every file of the tree's resources/ is in the bundle, where a frozen app looks for it.
    (The banner check alone would not see a lost style sheet once the banners are also
    coloured in code.)"""
    source = ROOT / bundle_modules.RESOURCES
    wanted = sorted(p.relative_to(source) for p in source.rglob("*") if p.is_file())
    target = bundle / "_internal" / bundle_modules.RESOURCES
    missing = [str(name) for name in wanted if not (target / name).is_file()]
    if missing:
        raise Failed(f"resources missing from the bundle's {target.name}/: {', '.join(missing)}")
    return len(wanted)


def check_version(binary: Path, env: dict[str, str], expected: str) -> None:
    out = run([binary, "--version"], env).stdout.strip()
    if out != f"closeout {expected}":
        raise Failed(f"`closeout --version` printed {out!r}, expected 'closeout {expected}'")


def check_positions(binary: Path, env: dict[str, str], venues: set[str]) -> int:
    out = run([binary, "positions", "--demo", "--json"], env).stdout
    try:
        report = json.loads(out)
    except ValueError as exc:
        raise Failed(f"`closeout positions --demo --json` printed no JSON ({exc}):\n"
                     f"{out[:400]}") from exc
    shown = {p.get("venue") for p in report.get("positions", [])}
    if not venues <= shown:
        raise Failed(f"positions from {sorted(shown)}, expected every venue {sorted(venues)}")
    return len(report["positions"])


def banner_row(path: Path, fill: str) -> int:
    """The first row near the top whose left edge, quarter and right edge are all the DEMO
    banner's fill: the banner spans the window's width below the menu bar. -1 when none is."""
    from PySide6.QtGui import QColor, QImage

    image = QImage(str(path))
    if image.isNull():
        raise Failed(f"{path} is not an image Qt can read")
    want = QColor(fill)

    def near(colour: QColor) -> bool:
        return all(abs(a - b) <= 8 for a, b in zip(
            (colour.red(), colour.green(), colour.blue()),
            (want.red(), want.green(), want.blue()), strict=True))

    width = image.width()
    for y in range(image.height() // 4):
        if all(near(image.pixelColor(x, y)) for x in (4, width // 4, width - 5)):
            return y
    return -1


def check_screenshot(binary: Path, env: dict[str, str], scratch: Path, fill: str) -> int:
    shot = scratch / "shot.png"
    run([binary, "--demo", "--screenshot", shot], env)
    if not shot.is_file():
        raise Failed("`closeout --demo --screenshot` wrote no file")
    y = banner_row(shot, fill)
    if y < 0:
        raise Failed(f"no DEMO banner in {fill} at the top of the screenshot: the bundle lost "
                     "the banner's colour (is resources/style.qss in it?)")
    return y


def cold_starts(commands: dict[str, list[str]], env: dict[str, str], scratch: Path,
                runs: int) -> dict[str, list[float]]:
    """Wall seconds of a whole ``--demo --screenshot`` run, each command in turn (so a drift
    of the machine's speed touches both alike), after one unmeasured warm-up each."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(runs + 1):
        for name, argv in commands.items():
            start = time.perf_counter()
            run([*argv, "--demo", "--screenshot", str(scratch / f"cold-{name}.png")], env)
            if round_:
                times[name].append(time.perf_counter() - start)
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", type=Path)
    parser.add_argument("--runs", type=int, default=3,
                        help="cold starts timed per command (0: none)")
    parser.add_argument("--venv-closeout", default=str(Path(sys.executable).parent / "closeout"),
                        help="the venv's closeout, timed against the bundle's")
    args = parser.parse_args(argv)

    import core.venues
    from core.model import Environment
    from core.version import UNKNOWN, version
    from gui.models.style import ENV_COLOURS

    expected = version()
    if expected == UNKNOWN:
        print("smoke: closeout is not installed in this Python: run me with the build venv's",
              file=sys.stderr)
        return 1
    venues = {str(info.id) for info in core.venues.all_venues()}
    with tempfile.TemporaryDirectory(prefix="closeout-smoke-") as tmp:
        scratch = Path(tmp)
        env = clean_env(scratch)
        try:
            binary = unpack(args.archive, scratch / "unpacked")
            check_libraries(binary.parent)
            print("smoke: every library in the bundle resolves; no Python outside it")
            check_modules(binary)
            print("smoke: every module of ours and every module loaded by name is in it")
            count = check_resources(binary.parent)
            print(f"smoke: all {count} files of resources/ are in it")
            check_version(binary, env, expected)
            print(f"smoke: `closeout --version` prints closeout {expected}")
            count = check_positions(binary, env, venues)
            print(f"smoke: `closeout positions --demo --json`: {count} positions from "
                  f"{', '.join(sorted(venues))}")
            y = check_screenshot(binary, env, scratch, ENV_COLOURS[Environment.DEMO][0])
            print(f"smoke: `closeout --demo --screenshot`: the DEMO banner is coloured (row {y})")
            if args.runs:
                timed = cold_starts({"bundle": [str(binary)], "venv": [args.venv_closeout]},
                                    env, scratch, args.runs)
                for name, values in timed.items():
                    print(f"smoke: cold start to a saved demo screenshot, {name}: "
                          f"min {min(values):.2f} s, median {statistics.median(values):.2f} s "
                          f"({len(values)} runs)")
        except (Failed, subprocess.TimeoutExpired) as exc:
            print(f"smoke: FAILED: {exc}", file=sys.stderr)
            return 1
    print("smoke: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
