"""What the bundle must carry that PyInstaller's scan of import statements cannot see.

Closeout imports some of its own modules by name at run time: the CLI subcommands
(``cli.main.SUBCOMMANDS``), the venue packages (``core.venues`` walks its folders) and the
simulated venues (``core.sim`` walks its modules). A bundle built from the import statements
alone misses them and fails only when one is used (``No module named 'cli.positions'``). So
every module of our own packages is collected, found by walking the source tree being built,
never an installed copy. Third-party packages that load by name are listed for the spec to
collect whole. This file needs no PyInstaller, so the normal test suite can check it.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["OWN_PACKAGES", "RESOURCES", "THIRD_PARTY", "own_modules"]

OWN_PACKAGES = ("cli", "core", "gui")

# Loaded by name: keyring picks its backend from entry points (SecretService, KWallet, ...);
# uvicorn's "auto" settings import their loop, HTTP and WebSocket protocols and lifespan by
# string; both embedded simulators run on uvicorn.
THIRD_PARTY = (
    "keyring.backends",
    "uvicorn.loops",
    "uvicorn.protocols",
    "uvicorn.lifespan",
)

# The style sheet, icons and desktop entry: ``gui.launch.resource_path`` looks for them in
# ``resources/`` at the top of a bundle.
RESOURCES = "resources"


def own_modules(root: Path) -> list[str]:
    """Every module and package under ``OWN_PACKAGES`` in the tree at ``root``, dotted and
    sorted. Only folders with an ``__init__.py`` are packages, as the import system sees it."""
    names: list[str] = []
    for top in OWN_PACKAGES:
        base = root / top
        if not (base / "__init__.py").is_file():
            raise FileNotFoundError(f"{base} is not a package: is {root} the repository?")
        for path in sorted(base.rglob("*.py")):
            relative = path.relative_to(root).with_suffix("")
            if not all((root / Path(*relative.parts[:i]) / "__init__.py").is_file()
                       for i in range(1, len(relative.parts))):
                continue  # inside a folder that is not a package (data, fixtures)
            parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
            names.append(".".join(parts))
    return sorted(set(names))
