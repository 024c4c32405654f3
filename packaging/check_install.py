"""`pipx install .` gives a working ``closeout`` on PATH.

``make check-install`` runs it with the build venv's Python, which has pipx. pipx's home and
its bin folder are a temporary directory (removed afterwards), so nothing is installed for the
user. From that PATH alone it runs ``closeout --version`` and ``closeout positions --demo
--json``, with HOME and the XDG folders in the same temporary directory. Exits 1 on a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from core.version import version

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 900  # seconds for the install (it builds a venv with PySide6): a bound, not a figure


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="closeout-pipx-") as tmp:
        scratch = Path(tmp)
        pipx_env = dict(os.environ, PIPX_HOME=str(scratch / "pipx"),
                        PIPX_BIN_DIR=str(scratch / "bin"), PIPX_MAN_DIR=str(scratch / "man"))
        for name in ("PYTHONPATH", "VIRTUAL_ENV"):
            pipx_env.pop(name, None)
        done = subprocess.run(
            [sys.executable, "-m", "pipx", "install", "--python", sys.executable, str(ROOT)],
            env=pipx_env, capture_output=True, text=True, timeout=TIMEOUT, check=False)
        if done.returncode != 0:
            print(f"check-install: FAILED: `pipx install .` exited {done.returncode}:\n"
                  f"{done.stdout}{done.stderr}", file=sys.stderr)
            return 1
        path = str(scratch / "bin") + os.pathsep + "/usr/bin:/bin"
        command = shutil.which("closeout", path=path)
        if command is None or not command.startswith(str(scratch / "bin")):
            print("check-install: FAILED: no closeout on PIPX_BIN_DIR after `pipx install .`",
                  file=sys.stderr)
            return 1
        home = scratch / "home"
        home.mkdir()
        env = {"PATH": path, "HOME": str(home), "LANG": "C.UTF-8",
               "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".data")}
        shown = subprocess.run(["closeout", "--version"], env=env, capture_output=True,
                               text=True, timeout=120, check=False).stdout.strip()
        if shown != f"closeout {version()}":
            print(f"check-install: FAILED: `closeout --version` printed {shown!r}",
                  file=sys.stderr)
            return 1
        listed = subprocess.run(["closeout", "positions", "--demo", "--json"], env=env,
                                capture_output=True, text=True, timeout=120, check=False)
        try:
            count = len(json.loads(listed.stdout)["positions"])
        except (ValueError, KeyError) as exc:
            print(f"check-install: FAILED: `closeout positions --demo --json` "
                  f"(exit {listed.returncode}): {exc}\n{listed.stderr}", file=sys.stderr)
            return 1
        if not count:
            print("check-install: FAILED: no demo positions listed", file=sys.stderr)
            return 1
    print(f"check-install: `pipx install .` gives {shown!r} on PATH; "
          f"`closeout positions --demo --json` lists {count} positions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
