"""``closeout install-desktop``: the entry, icons and metainfo land under the data folder, the
entry starts the right command however odd its path, and --uninstall removes only those."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import cli.desktop
from cli.desktop import data_home, desktop_entry, exec_quote, main, plan
from gui.resource_files import find_resource


def _command(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    command = folder / "closeout"
    command.write_text("#!/bin/sh\n")
    command.chmod(0o755)
    return command


def _entry_keys(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def test_install_puts_every_file_in_place_with_the_shipped_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "share"
    command = _command(tmp_path / "bin")
    assert main(["--data-home", str(home), "--exec", str(command)]) == 0
    printed = capsys.readouterr().out.split()
    files = plan(home)
    assert printed == [str(item.target) for item in files]
    for item in files:
        assert item.target.is_file(), item.target
        if item.target.suffix != ".desktop":
            source = find_resource(item.name)
            assert source is not None
            assert item.target.read_bytes() == source.read_bytes()
    names = {str(p.relative_to(home)) for p in home.rglob("*") if p.is_file()}
    assert "applications/closeout.desktop" in names
    assert "metainfo/io.github.closeout.Closeout.metainfo.xml" in names
    assert "icons/hicolor/scalable/apps/closeout.svg" in names
    assert {f"icons/hicolor/{n}x{n}/apps/closeout.png" for n in (16, 32, 48, 64, 128, 256)} <= names


def test_the_installed_entry_starts_the_given_command_and_passes_the_validator(
    tmp_path: Path,
) -> None:
    home = tmp_path / "share"
    command = _command(tmp_path / "my apps $HOME")
    assert main(["--data-home", str(home), "--exec", str(command)]) == 0
    entry = home / "applications" / "closeout.desktop"
    keys = _entry_keys(entry)
    assert keys["TryExec"] == str(command)
    assert keys["Exec"] == '"' + str(command).replace("$", "\\\\$") + '"'
    assert keys["Icon"] == "closeout"
    assert keys["StartupWMClass"] == "closeout"
    validator = shutil.which("desktop-file-validate")
    assert validator, "desktop-file-validate is missing: install desktop-file-utils"
    done = subprocess.run([validator, str(entry)], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def test_uninstall_removes_what_install_put_and_nothing_else(tmp_path: Path) -> None:
    home = tmp_path / "share"
    mine = home / "applications" / "other.desktop"
    mine.parent.mkdir(parents=True)
    mine.write_text("[Desktop Entry]\n")
    assert main(["--data-home", str(home), "--exec", str(_command(tmp_path / "bin"))]) == 0
    assert main(["--data-home", str(home), "--uninstall"]) == 0
    assert not any(item.target.exists() for item in plan(home))
    assert mine.read_text() == "[Desktop Entry]\n"


def test_a_missing_resource_is_named_and_nothing_is_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = cli.desktop.find_resource

    def without_svg(name: str, dirs: list[Path] | None = None) -> Path | None:
        return None if name.endswith(".svg") else real(name, dirs)

    monkeypatch.setattr(cli.desktop, "find_resource", without_svg)
    home = tmp_path / "share"
    assert main(["--data-home", str(home), "--exec", str(_command(tmp_path / "bin"))]) == 2
    assert "missing from this installation: closeout.svg" in capsys.readouterr().err
    assert not home.exists()


def test_an_exec_that_is_not_a_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data-home", str(tmp_path), "--exec", str(tmp_path / "nope")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert not (tmp_path / "applications").exists()


@pytest.mark.parametrize(("path", "quoted"), [
    ("/opt/closeout/closeout", "/opt/closeout/closeout"),
    ("/opt/my apps/closeout", '"/opt/my apps/closeout"'),
    ('/o/a"b/closeout', '"/o/a\\\\"b/closeout"'),
    ("/o/$x/closeout", '"/o/\\\\$x/closeout"'),
    ("/o/a\\b/closeout", '"/o/a\\\\\\\\b/closeout"'),
])
def test_exec_quoting_follows_the_desktop_entry_spec(path: str, quoted: str) -> None:
    assert exec_quote(Path(path)) == quoted


def test_the_entry_keeps_every_other_key_and_gets_one_exec() -> None:
    template = "[Desktop Entry]\nType=Application\nExec=closeout\nName=Closeout\n"
    text = desktop_entry(template, Path("/x/closeout"))
    assert text == ("[Desktop Entry]\nType=Application\nTryExec=/x/closeout\n"
                    "Exec=/x/closeout\nName=Closeout\n")


def test_data_home_follows_xdg_and_ignores_a_relative_value(tmp_path: Path) -> None:
    assert data_home({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path
    assert data_home({"XDG_DATA_HOME": "rel/share"}) == Path.home() / ".local/share"
    assert data_home({}) == Path.home() / ".local/share"


def test_install_desktop_loads_no_qt(tmp_path: Path) -> None:
    import sys

    command = _command(tmp_path / "bin")
    code = ("import sys, cli.main; "
            f"rc = cli.main.main(['install-desktop', '--data-home', {str(tmp_path)!r}, "
            f"'--exec', {str(command)!r}]); "
            "assert rc == 0, rc; "
            "assert not any(m.startswith('PySide6') for m in sys.modules), 'Qt loaded'")
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(cli.desktop.__file__).parents[1],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "applications" / "closeout.desktop").is_file()
