"""Entry point of the `closeout` command.

``closeout [--demo] [--screenshot PATH] [--seed N]`` opens the window. Any subcommand runs
headless on the same core, journal and safety rules, and never imports Qt: the GUI module is
imported only when no subcommand is given.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

# Subcommand name -> module under cli/ with ``main(argv) -> int``.
SUBCOMMANDS: dict[str, str] = {
    "journal": "cli.journal",
    "positions": "cli.positions",
    "close": "cli.close",
    "flatten": "cli.flatten",
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in SUBCOMMANDS:
        import importlib

        module = importlib.import_module(SUBCOMMANDS[args[0]])
        run: Callable[[list[str]], int] = module.main
        return run(args[1:])
    from gui.app import main as gui_main

    return gui_main(args)


if __name__ == "__main__":
    sys.exit(main())
