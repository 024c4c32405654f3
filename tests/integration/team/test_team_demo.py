"""``make team-demo`` end to end, offscreen: a throwaway cluster, the simulator and two real
windows, each connected to the shared accounts and copying its journal into the shared one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.timeout(300)
def test_the_team_demo_starts_two_desks_that_share_one_journal(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run([sys.executable, "-m", "core.team.demo", "--screenshot",
                           str(tmp_path)], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=240, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "desk1.png").stat().st_size > 0
    assert (tmp_path / "desk2.png").stat().st_size > 0
    counts = dict(re.findall(r"shared journal: (Desk \d): (\d+) records", done.stdout))
    assert set(counts) == {"Desk 1", "Desk 2"}, done.stdout
    assert all(int(n) > 0 for n in counts.values()), done.stdout
