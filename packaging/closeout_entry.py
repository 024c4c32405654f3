"""The bundle's entry point: the same ``cli.main:main`` the installed ``closeout`` command runs."""

import sys

from cli.main import main

if __name__ == "__main__":
    sys.exit(main())
