"""The layering rules of DESIGN.md, checked."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QT_MODULES = ("PySide6", "shiboken6", "qasync", "PyQt5", "PyQt6")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_sources_import_no_qt() -> None:
    files = sorted((ROOT / "core").rglob("*.py"))
    assert len(files) > 5
    offenders = {
        str(f.relative_to(ROOT)): sorted(n for n in _imports(f) if n.split(".")[0] in QT_MODULES)
        for f in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_importing_all_of_core_loads_no_qt() -> None:
    """Catches indirect imports too: load every core module in a clean interpreter."""
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / "core").rglob("*.py")
        if p.name != "__main__.py"
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r}]\n"
        "print(len(sys.modules)); sys.exit(1 if bad else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _module_file(name: str) -> Path | None:
    """The source file of a dotted module name in this repository: ``x.py`` or ``x/__init__.py``."""
    base = ROOT.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _local_imports(path: Path) -> set[str]:
    """Like ``_imports``, plus ``package.name`` for ``from package import name``, so a module
    imported that way (``from core.venues.qfex import protocol``) is followed too."""
    names = _imports(path)
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def _protocol_files() -> dict[Path, list[Path]]:
    """Each venue's protocol: the module ``protocol.py`` or every module of the package
    ``protocol/``."""
    venues = sorted(p.parent for p in (ROOT / "core" / "venues").glob("*/__init__.py"))
    return {
        venue: sorted((venue / "protocol").rglob("*.py")) + sorted(venue.glob("protocol.py"))
        for venue in venues
    }


def test_protocol_modules_do_no_io() -> None:
    """Sans-IO: protocol modules import no sockets, HTTP clients, clocks or randomness."""
    banned = {"socket", "asyncio", "httpx", "websockets", "time", "random", "secrets", "ssl"}
    protocols = _protocol_files()
    assert len(protocols) >= 2
    for venue, files in protocols.items():
        assert files, f"{venue.relative_to(ROOT)} has no protocol module"
        for path in files:
            used = {n.split(".")[0] for n in _imports(path)} & banned
            assert not used, f"{path.relative_to(ROOT)} imports {sorted(used)}"


def test_simulator_is_independent_of_client_code() -> None:
    for path in sorted((ROOT / "core" / "sim").rglob("*.py")):
        bad = {n for n in _imports(path) if n.startswith(("core.venues", "core.model"))}
        assert not bad, f"{path.relative_to(ROOT)} imports client code {sorted(bad)}"


def test_order_machines_do_no_io() -> None:
    """Each venue's order machine (``orders.py``), and every module of its own venue it
    imports, is sans-IO: no sockets, HTTP clients, event loop, clock or randomness."""
    banned = {"socket", "asyncio", "httpx", "websockets", "time", "random", "secrets", "ssl"}
    machines = sorted((ROOT / "core" / "venues").glob("*/orders.py"))
    assert len(machines) >= 2, "every venue has an order machine"
    for machine in machines:
        package = ".".join(machine.parent.relative_to(ROOT).parts)
        todo, seen = [machine], set()
        while todo:
            path = todo.pop()
            if path in seen:
                continue
            seen.add(path)
            names = _local_imports(path)
            used = {n.split(".")[0] for n in names} & banned
            assert not used, f"{path.relative_to(ROOT)} imports {sorted(used)}"
            for name in names:
                found = _module_file(name) if name.startswith(package + ".") else None
                if found is not None:
                    todo.append(found)
        # The walk must reach what the machine builds and reads frames with.
        protocol = set(_protocol_files()[machine.parent])
        assert protocol and protocol <= seen, f"{machine.relative_to(ROOT)}: walk missed " + \
            ", ".join(str(p.relative_to(ROOT)) for p in sorted(protocol - seen))


def test_every_product_package_ships_in_the_wheel() -> None:
    """The wheel (pipx, the bundle) holds only the packages pyproject lists by name."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("core", "gui", "cli")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert len(found) > 5
    assert found - listed == set()


def _venue_folders() -> list[Path]:
    root = ROOT / "core" / "venues"
    return sorted(p for p in root.iterdir() if (p / "__init__.py").exists())


def test_only_a_venue_folder_names_its_venue() -> None:
    """A new venue is one folder: code outside it asks the registry (``core.venues``) and never
    imports a venue module, compares with a venue id or keys a table by one."""
    folders = _venue_folders()
    ids = {p.name for p in folders}
    assert {"qfex", "everstrike"} <= ids
    outside = [
        f for d in ("core", "cli", "gui") for f in sorted((ROOT / d).rglob("*.py"))
        if not any(f.is_relative_to(p) for p in folders)
        and not f.is_relative_to(ROOT / "core" / "sim")  # the simulator stands in for each
    ]
    assert len(outside) > 20
    offenders: dict[str, list[str]] = {}
    for path in outside:
        tree = ast.parse(path.read_text(), filename=str(path))
        found = sorted(
            {n for n in _imports(path) if n.split(".")[:3][-1] in ids and n.startswith("core.")}
            | {repr(node.value) for node in ast.walk(tree)
               if isinstance(node, ast.Constant) and isinstance(node.value, str)
               and node.value.lower() in ids}
            | {f"Venue.{node.attr}" for node in ast.walk(tree)
               if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
               and node.value.id == "Venue" and node.attr.lower() in ids}
        )
        if found:
            offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}
