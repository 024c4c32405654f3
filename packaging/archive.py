"""Pack the one-folder bundle into ``dist/closeout-<version>-<os>-<machine>.tar.gz``.

``python packaging/archive.py dist/closeout`` (``make bundle`` runs it with the build venv's
Python, where closeout is installed: the version comes from its package metadata, the one the
bundle reports). Prints the folder's and the archive's sizes on stderr and the archive's path
on stdout. The archive holds one folder, ``closeout-<version>/``, with the symbolic links
PyInstaller made kept as links.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import tarfile
from pathlib import Path

from core.version import UNKNOWN, version


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not (Path(argv[0]) / "closeout").is_file():
        print("usage: archive.py BUNDLE_FOLDER (the one holding the closeout executable)",
              file=sys.stderr)
        return 2
    bundle = Path(argv[0])
    release = version()
    if release == UNKNOWN:
        print("archive: closeout is not installed in this Python, so it has no version",
              file=sys.stderr)
        return 1
    top = f"closeout-{release}"
    archive = bundle.parent / f"{top}-{sys.platform}-{platform.machine()}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(bundle, arcname=top)
    unpacked = subprocess.run(["du", "-sm", str(bundle)], capture_output=True, text=True,
                              check=True).stdout.split()[0]
    print(f"archive: {bundle} is {unpacked} MB unpacked (du -sm); {archive.name} is "
          f"{archive.stat().st_size / 2**20:.1f} MB", file=sys.stderr)
    print(archive)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
