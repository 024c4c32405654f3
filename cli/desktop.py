"""``closeout install-desktop``: put Closeout in the desktop's application menu, for this user.

It copies the desktop entry, the icons (every PNG size and the SVG) and the AppStream metainfo
into the user's data folder (``$XDG_DATA_HOME``, by default ``~/.local/share``), with the entry's
``Exec`` pointing at the ``closeout`` that runs this command: the bundle's binary, a pipx
install's, or a virtual environment's. ``--uninstall`` removes exactly those files. Nothing
outside the data folder is touched, and no root is needed.

Exit 0 when done; 2 for bad arguments, or when a file to install is missing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gui.resource_files import APP_ID, DESKTOP_ID, ICON_SIZES, find_resource, icon_png

__all__ = [
    "Install", "build_parser", "data_home", "desktop_entry", "exec_quote", "main", "plan",
    "running_command",
]

PROG = "closeout install-desktop"
EXIT_OK = 0
EXIT_BAD = 2
_ENTRY = f"{DESKTOP_ID}.desktop"
_METAINFO = f"{APP_ID}.metainfo.xml"
# Characters that make the Desktop Entry spec's Exec argument need double quotes, and the ones
# that must then be escaped inside them.
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")
_ESCAPED = set('"`$\\')


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Add Closeout to this user's application menu (desktop entry, icons and "
        "AppStream metainfo under $XDG_DATA_HOME, ~/.local/share by default).",
    )
    parser.add_argument("--uninstall", action="store_true",
                        help="remove what install-desktop installed")
    parser.add_argument("--exec", dest="command", type=Path, metavar="PATH",
                        help="the closeout command the menu entry starts (default: the one "
                        "running now)")
    parser.add_argument("--data-home", type=Path, metavar="DIR",
                        help="install under DIR instead of $XDG_DATA_HOME")
    return parser


def data_home(environ: dict[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME`` if it is an absolute path (the spec says to ignore a relative one),
    else ``~/.local/share``."""
    env = os.environ if environ is None else environ
    value = env.get("XDG_DATA_HOME", "")
    return Path(value) if value and Path(value).is_absolute() else Path.home() / ".local/share"


def running_command() -> Path | None:
    """The ``closeout`` the user ran: the bundle's binary when frozen, else the script beside
    this interpreter (a venv's or pipx's), else the first on PATH."""
    if getattr(sys, "frozen", False):
        return Path(sys.executable).resolve()
    beside = Path(sys.executable).parent / "closeout"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside.absolute()
    found = shutil.which("closeout")
    return Path(found).absolute() if found else None


def exec_quote(path: Path) -> str:
    """``path`` as one argument of an Exec key: quoted and escaped as the Desktop Entry spec
    asks, then with backslashes doubled, as every string value of the file is escaped."""
    text = str(path)
    if any(c in _RESERVED for c in text):
        text = '"' + "".join("\\" + c if c in _ESCAPED else c for c in text) + '"'
    return text.replace("\\", "\\\\")


def desktop_entry(template: str, command: Path) -> str:
    """The entry to install: the shipped one with Exec and TryExec set to ``command``."""
    lines = [line for line in template.splitlines()
             if not line.startswith(("Exec=", "TryExec="))]
    at = next((i + 1 for i, line in enumerate(lines) if line.startswith("Type=")), 1)
    try_exec = str(command).replace("\\", "\\\\")  # a plain path, not a command line
    lines[at:at] = [f"TryExec={try_exec}", f"Exec={exec_quote(command)}"]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Install:
    """One file to put in place: its resource name, and its place under the data folder."""

    name: str
    target: Path


def plan(home: Path) -> list[Install]:
    """Every file install-desktop puts under ``home`` (and uninstall removes)."""
    files = [Install(_ENTRY, home / "applications" / _ENTRY),
             Install(_METAINFO, home / "metainfo" / _METAINFO),
             Install(f"{DESKTOP_ID}.svg",
                     home / "icons/hicolor/scalable/apps" / f"{DESKTOP_ID}.svg")]
    return files + [Install(str(icon_png(Path(), size)), icon_png(home, size))
                    for size in ICON_SIZES]


def _refresh_caches(home: Path) -> None:
    """Tell the desktop about the change where its tools are installed; harmless without."""
    for tool, args in (("update-desktop-database", [str(home / "applications")]),
                       ("gtk-update-icon-cache", ["-q", "-t", str(home / "icons/hicolor")])):
        if shutil.which(tool):
            subprocess.run([tool, *args], check=False, capture_output=True, timeout=30)


def _install(files: list[tuple[Path, Path]], command: Path) -> None:
    for source, target in files:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.name == _ENTRY:
            target.write_text(desktop_entry(source.read_text(encoding="utf-8"), command),
                              encoding="utf-8")
        else:
            shutil.copyfile(source, target)
        print(target)


def main(argv: Sequence[str]) -> int:
    try:
        ns = build_parser().parse_args(list(argv))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_BAD
    home: Path = ns.data_home if ns.data_home is not None else data_home()
    files = plan(home)
    if ns.uninstall:
        for item in files:
            if item.target.exists():
                item.target.unlink()
                print(f"removed {item.target}")
        _refresh_caches(home)
        return EXIT_OK
    sources = [(find_resource(item.name), item.target) for item in files]
    missing = [item.name for item, (source, _) in zip(files, sources, strict=True) if not source]
    if missing:
        print(f"{PROG}: these files are missing from this installation: "
              f"{', '.join(missing)}", file=sys.stderr)
        return EXIT_BAD
    if ns.command is not None and not ns.command.is_file():
        print(f"{PROG}: --exec {ns.command}: no such file", file=sys.stderr)
        return EXIT_BAD
    command = ns.command if ns.command is not None else running_command()
    if command is None or not command.is_file():
        print(f"{PROG}: cannot tell which closeout to start from the menu; "
              "give it with --exec PATH", file=sys.stderr)
        return EXIT_BAD
    _install([(s, t) for s, t in sources if s is not None], command.absolute())
    _refresh_caches(home)
    return EXIT_OK
