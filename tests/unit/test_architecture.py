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


def test_protocol_modules_do_no_io() -> None:
    """Sans-IO: protocol modules import no sockets, HTTP clients, clocks or randomness."""
    banned = {"socket", "asyncio", "httpx", "websockets", "time", "random", "secrets", "ssl"}
    for path in sorted((ROOT / "core" / "venues").rglob("protocol.py")):
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
            names = _imports(path)
            used = {n.split(".")[0] for n in names} & banned
            assert not used, f"{path.relative_to(ROOT)} imports {sorted(used)}"
            for name in names:
                if name.startswith(package + "."):
                    todo.append(ROOT.joinpath(*name.split(".")).with_suffix(".py"))


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
