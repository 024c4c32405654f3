"""The bundle's list of modules loaded by name (packaging/bundle_modules.py, which the PyInstaller
spec imports) covers every subcommand, venue and simulated venue, so a new one cannot be left
out of the bundle; and the spec really builds from that list."""

from __future__ import annotations

import ast
import importlib.util
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest

import cli.main
import core.sim
import core.venues

ROOT = Path(__file__).resolve().parents[3]
SPEC = ROOT / "packaging" / "closeout.spec"


def _bundle_modules() -> ModuleType:
    # Loaded from its file: packaging/ is not a Python package (that name is taken by another).
    spec = importlib.util.spec_from_file_location("bundle_modules",
                                                  ROOT / "packaging" / "bundle_modules.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bundle_modules = _bundle_modules()


def _walked(package: ModuleType) -> set[str]:
    """The package and every module and subpackage under it, as the import system finds them."""
    found = {package.__name__}
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
        found.add(info.name)
    return found


def test_every_subcommand_is_collected() -> None:
    collected = set(bundle_modules.own_modules(ROOT))
    missing = set(cli.main.SUBCOMMANDS.values()) - collected
    assert not missing


def test_every_venue_package_and_its_modules_are_collected() -> None:
    collected = set(bundle_modules.own_modules(ROOT))
    venues = {info.name for info in pkgutil.iter_modules(core.venues.__path__,
                                                         prefix="core.venues.") if info.ispkg}
    assert {f"core.venues.{info.id}" for info in core.venues.all_venues()} <= venues
    assert venues <= collected
    assert not _walked(core.venues) - collected


def test_every_simulated_venue_is_collected() -> None:
    collected = set(bundle_modules.own_modules(ROOT))
    assert not _walked(core.sim) - collected


def test_only_our_packages_are_collected() -> None:
    names = bundle_modules.own_modules(ROOT)
    assert names == sorted(set(names))
    assert {name.split(".")[0] for name in names} == set(bundle_modules.OWN_PACKAGES)


def test_a_folder_that_is_not_a_package_is_left_out(tmp_path: Path) -> None:
    for top in bundle_modules.OWN_PACKAGES:
        (tmp_path / top / "inner").mkdir(parents=True)
        (tmp_path / top / "__init__.py").write_text("")
        (tmp_path / top / "inner" / "__init__.py").write_text("")
        (tmp_path / top / "inner" / "leaf.py").write_text("")
        (tmp_path / top / "fixtures").mkdir()
        (tmp_path / top / "fixtures" / "sample.py").write_text("")
    assert bundle_modules.own_modules(tmp_path) == sorted(
        name for top in bundle_modules.OWN_PACKAGES
        for name in (top, f"{top}.inner", f"{top}.inner.leaf"))


def test_a_folder_that_is_not_the_repository_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="is not a package"):
        bundle_modules.own_modules(tmp_path)


def test_the_spec_builds_from_this_list_and_the_resources() -> None:
    tree = ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))
    used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name) and node.value.id == "bundle_modules"}
    assert {"own_modules", "THIRD_PARTY", "RESOURCES", "OWN_PACKAGES"} <= used
    analysis = next(node for node in ast.walk(tree) if isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name) and node.func.id == "Analysis")
    assert {"hiddenimports", "datas", "pathex"} <= {k.arg for k in analysis.keywords}
    assert (ROOT / bundle_modules.RESOURCES / "style.qss").is_file()
