"""Entry point of the `closeout` command.

``closeout [--demo] [--screenshot PATH] [--seed N]`` opens the window; ``closeout --version``
prints the version. Any subcommand runs
headless on the same core, journal and safety rules, and never imports Qt: the GUI module is
imported only when no subcommand is given (``gui.app`` itself loads no Qt, so ``--help`` stays
headless too).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

# Subcommand name -> module under cli/ with ``main(argv) -> int``. Imported only when run, so
# one command never pays for another's imports.
SUBCOMMANDS: dict[str, str] = {
    "journal": "cli.journal",
    "positions": "cli.positions",
    "orders": "cli.orders",
    "close": "cli.close",
    "flatten": "cli.flatten",
    "install-desktop": "cli.desktop",
}

# One line per subcommand for ``closeout --help``: kept here, beside the registry, so the help
# never has to import every command to describe it. A test checks the two name the same set.
SUMMARIES: dict[str, str] = {
    "journal": "verify the audit journal's hash chain, or export it as CSV or JSON lines",
    "positions": "list the open positions of every (or the chosen) account, then exit",
    "orders": "list the working orders (resting limit closes and triggers), then exit",
    "close": "close one position (all, part, at a limit or on a trigger), sent exactly once",
    "flatten": "close many positions as one confirmed plan, and report each outcome",
    "install-desktop": "add Closeout to this user's application menu (--uninstall removes it)",
}

HELP_FLAGS = frozenset({"-h", "--help"})
VERSION_FLAGS = frozenset({"-V", "--version"})


def commands_text() -> str:
    """The subcommand list that ``closeout --help`` ends with: one line each, in the
    registry's order."""
    width = max(map(len, SUBCOMMANDS))
    lines = [f"  {name.ljust(width)}  {SUMMARIES.get(name, '')}".rstrip() for name in SUBCOMMANDS]
    return ("commands (run without a window; `closeout COMMAND --help` for each one's options):\n"
            + "\n".join(lines))


def help_text() -> str:
    """The window's options (from the GUI's own parser, which loads no Qt) followed by every
    subcommand with its one line."""
    from gui.app import build_parser

    parser = build_parser()
    parser.usage = (f"{parser.prog} [-h] [-V] [--demo] [--screenshot PATH] [--seed SEED]\n"
                    f"       {parser.prog} {{{','.join(SUBCOMMANDS)}}} ...")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = commands_text()
    return parser.format_help()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in SUBCOMMANDS:
        import importlib

        module = importlib.import_module(SUBCOMMANDS[args[0]])
        run: Callable[[list[str]], int] = module.main
        return run(args[1:])
    if HELP_FLAGS & set(args):
        sys.stdout.write(help_text())
        return 0
    if VERSION_FLAGS & set(args):
        from core.version import version

        sys.stdout.write(f"closeout {version()}\n")
        return 0
    from gui.app import main as gui_main

    return gui_main(args)


if __name__ == "__main__":
    sys.exit(main())
