"""The close rules have one home, core/closing: no other module holds a number against an
instrument's tick, lot or bounds, and both venue protocols call the rules instead."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BOUNDS = frozenset({"tick_size", "lot_size", "min_quantity", "max_quantity", "min_price",
                    "max_price"})
ON_STEP = frozenset({"on_lot", "on_tick"})
# Allowed to hold the rules: their home; the Instrument's own primitives; the simulator, which
# plays the venue and must enforce its rules without our client code.
HOME = ROOT / "core" / "closing"
EXEMPT = (HOME, ROOT / "core" / "model.py", ROOT / "core" / "sim")


def _bound_names(tree: ast.AST) -> set[str]:
    """Names given an instrument bound: ``low = inst.min_quantity``, ``lo, hi = a.x, a.y``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign | ast.AnnAssign) or node.value is None:
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            pairs: list[tuple[ast.expr, ast.expr]] = [(target, node.value)]
            if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                pairs = list(zip(target.elts, node.value.elts, strict=False))
            for name, value in pairs:
                if isinstance(name, ast.Name) and isinstance(value, ast.Attribute) \
                        and value.attr in BOUNDS:
                    names.add(name.id)
    return names


def rule_sites(source: str) -> list[int]:
    """Lines where the code checks a number against an instrument: a comparison or a modulo
    with a tick, lot or bound (directly or through a name holding one), or on_lot/on_tick."""
    tree = ast.parse(source)
    held = _bound_names(tree)

    def is_bound(node: ast.expr) -> bool:
        return (isinstance(node, ast.Attribute) and node.attr in BOUNDS) or \
            (isinstance(node, ast.Name) and node.id in held)

    def checks(node: ast.expr) -> bool:
        if isinstance(node, ast.Compare):
            return any(is_bound(n) for n in (node.left, *node.comparators))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            return is_bound(node.left) or is_bound(node.right)
        return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
            node.func.attr in ON_STEP

    lines = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.expr) and checks(node)]
    return sorted(set(lines))


def _product_files() -> list[Path]:
    return sorted(p for top in ("core", "gui", "cli") for p in (ROOT / top).rglob("*.py")
                  if not any(p == e or e in p.parents for e in EXEMPT))


def test_the_detector_finds_each_way_of_writing_a_rule() -> None:
    """So the test below cannot pass because the detector went blind."""
    samples = {
        "if qty < inst.min_quantity: pass": 1,
        "ok = price % instrument.tick_size == 0": 1,
        "low, high = i.min_quantity, i.max_quantity\nif q > high: pass": 1,
        "if not instrument.on_lot(qty): pass": 1,
        "label = f'lot {inst.lot_size}'": 0,  # saying a bound is not checking against it
    }
    for source, found in samples.items():
        assert len(rule_sites(source)) == found, source
    home = rule_sites((HOME / "rules.py").read_text())
    assert len(home) >= 6, home  # lot, tick, min/max quantity, min/max price


def test_no_module_outside_core_closing_checks_against_tick_lot_or_bounds() -> None:
    files = _product_files()
    named = {str(p.relative_to(ROOT)) for p in files}
    protocols = sorted(n for n in named if n.startswith("core/venues/") and
                       (n.endswith("/protocol.py") or "/protocol/" in n))
    assert len({n.split("/")[2] for n in protocols}) >= 2, protocols
    assert {"cli/close.py"} <= named and any("close_dialog" in n for n in named)
    found = {str(p.relative_to(ROOT)): rule_sites(p.read_text()) for p in files}
    assert {name: lines for name, lines in found.items() if lines} == {}


def test_every_venue_protocol_calls_the_close_rules() -> None:
    """A venue's protocol is ``protocol.py`` or a ``protocol/`` package; one of its modules
    must import ``check_request`` and call it."""
    venues = sorted(p.parent for p in (ROOT / "core" / "venues").glob("*/__init__.py"))
    protocols = {venue: sorted(venue.glob("protocol.py")) + sorted(venue.glob("protocol/*.py"))
                 for venue in venues}
    protocols = {venue: files for venue, files in protocols.items() if files}
    assert len(protocols) >= 2
    for venue, files in protocols.items():
        assert any(_calls_check_request(path) for path in files), venue.relative_to(ROOT)


def _calls_check_request(path: Path) -> bool:
    tree = ast.parse(path.read_text())
    imported = {a.asname or a.name for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module == "core.closing.rules"
                for a in node.names}
    called = {node.func.id for node in ast.walk(tree)
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    return "check_request" in imported & called
