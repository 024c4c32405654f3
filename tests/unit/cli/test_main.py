"""``closeout --help``: the window's options, then every registered subcommand with one line,
without loading Qt; and every registered subcommand still imports on demand."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

import cli.main

REPO = Path(__file__).resolve().parents[3]


def _command_lines(text: str) -> dict[str, str]:
    """Subcommand name -> its line, from the block after "commands"."""
    block = text.split("\ncommands", 1)[1].splitlines()[1:]
    found = {}
    for line in block:
        match = re.match(r"^  (\S+)\s{2,}(\S.*)$", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def test_every_registered_subcommand_has_a_summary() -> None:
    assert set(cli.main.SUMMARIES) == set(cli.main.SUBCOMMANDS)
    assert all(line.strip() for line in cli.main.SUMMARIES.values())


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_lists_every_subcommand_with_one_line(
    flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main.main([flag]) == 0
    text = capsys.readouterr().out
    assert "--screenshot PATH" in text  # the window's own options are still there
    assert _command_lines(text) == cli.main.SUMMARIES
    assert list(_command_lines(text)) == list(cli.main.SUBCOMMANDS)  # the registry's order


@pytest.mark.parametrize("name", sorted(cli.main.SUBCOMMANDS))
def test_each_registered_subcommand_imports_with_a_main(name: str) -> None:
    module = importlib.import_module(cli.main.SUBCOMMANDS[name])
    assert callable(module.main)


def test_help_from_the_command_line_loads_no_qt() -> None:
    probe = ("import sys, io, contextlib, cli.main\n"
             "out = io.StringIO()\n"
             "with contextlib.redirect_stdout(out):\n"
             "    rc = cli.main.main(['--help'])\n"
             "print(rc, 'PySide6' in sys.modules, 'flatten' in out.getvalue())\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout.split() == ["0", "False", "True"]


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_prints_the_installed_metadata_version(
    flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from importlib import metadata

    assert cli.main.main([flag]) == 0
    assert capsys.readouterr().out == f"closeout {metadata.version('closeout')}\n"


def test_version_is_unknown_without_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib import metadata

    import core.version

    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    assert core.version.version() == core.version.UNKNOWN


def test_version_loads_no_qt() -> None:
    code = ("import sys, cli.main; cli.main.main(['--version']); "
            "assert not any(m.startswith('PySide6') for m in sys.modules), 'Qt loaded'")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("closeout ")
