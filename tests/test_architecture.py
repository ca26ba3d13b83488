"""Imports point down the layers and never form a circle (DESIGN.md: foundation ← areas ← shop protocols ← app).

The graph is grimp's (every import statement, also those inside functions). A module's layer is the first
entry of ``LAYERS`` that names it; a package of ``backend`` that no entry names is an area. Views, blueprints
and CLI commands are the app's entry points, so they sit with the app whatever package holds them. Circles are
looked for between modules and between the packages of ``backend`` (entry points left out).

Measure the structure (cycles, upward imports, largest modules) with ``python scripts/structure.py``.
"""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import pytest

from scripts.structure import (
    KNOWN_CYCLES,
    KNOWN_PACKAGE_CYCLES,
    KNOWN_UPWARD_IMPORTS,
    import_cycles,
    import_graph,
    layer_of,
    package_cycles,
    upward_imports,
)


@pytest.fixture(scope="module")
def graph():
    return import_graph()


def test_no_module_imports_another_in_a_circle(graph):
    assert [tuple(cycle) for cycle in import_cycles(graph)] == list(KNOWN_CYCLES)


def test_no_area_imports_another_in_a_circle(graph):
    """Views, blueprints and CLI commands are left out: as entry points they may import any area."""
    assert [tuple(cycle) for cycle in package_cycles(graph)] == list(KNOWN_PACKAGE_CYCLES)


def test_imports_point_down_the_layers(graph):
    new = [edge for edge in upward_imports(graph) if edge not in KNOWN_UPWARD_IMPORTS]
    assert new == [], "an import points up the layers (see LAYERS in scripts/structure.py)"


def test_known_upward_imports_are_still_there(graph):
    """Once one is fixed, strike it from KNOWN_UPWARD_IMPORTS so it cannot come back."""
    assert sorted(set(KNOWN_UPWARD_IMPORTS) - set(upward_imports(graph))) == []


class TestTheCheckItself:
    def test_layers_of_typical_modules(self):
        assert [
            layer_of(name)
            for name in (
                "backend.extensions",
                "backend.merchants.shop_outbox",
                "backend.dunning.evaluation",
                "backend.console.pages",
                "backend.shopware.services",
                "backend.shopware.views",
                "backend.orders.cli",
                "backend.jobs",
            )
        ] == [
            "foundation",
            "tenant foundation",
            "areas",
            "areas",
            "shop protocols",
            "app and CLI",
            "app and CLI",
            "app and CLI",
        ]

    def test_finds_a_circle_and_an_upward_import(self, graph):
        graph = copy.deepcopy(graph)
        graph.add_import(importer="backend.extensions", imported="backend.dunning.evaluation")
        assert ("backend.extensions", "backend.dunning.evaluation") in upward_imports(graph)
        assert any("backend.extensions" in cycle for cycle in import_cycles(graph))

    def test_finds_a_circle_between_areas_but_not_through_an_entry_point(self, graph):
        graph = copy.deepcopy(graph)
        graph.add_import(importer="backend.receivables.views", imported="backend.dunning.receivable_claims")
        assert package_cycles(graph) == []

        graph.add_import(importer="backend.receivables.ledger", imported="backend.dunning.claims")
        assert any(
            {"backend.dunning", "backend.receivables"} <= set(cycle) for cycle in package_cycles(graph)
        )


def _calls(predicate) -> list[str]:
    """Return ``path:line`` of every call in backend/ and connectors/ (migrations are frozen) that ``predicate`` picks."""
    found = []
    root = Path(__file__).resolve().parent.parent
    for path in sorted([*root.glob("backend/**/*.py"), *root.glob("connectors/**/*.py")]):
        relative = path.relative_to(root).as_posix()
        if relative.startswith("backend/migrations/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and predicate(node):
                found.append(f"{relative}:{node.lineno}")
    return found


def test_the_berlin_calendar_and_the_dialect_insert_have_one_home_each():
    def berlin(call: ast.Call) -> bool:
        return ast.unparse(call.func).endswith("ZoneInfo") and any(
            isinstance(arg, ast.Constant) and arg.value == "Europe/Berlin" for arg in call.args
        )

    def dialect_insert(call: ast.Call) -> bool:
        return ast.unparse(call.func) in ("postgresql.insert", "sqlite.insert", "pg_insert", "sqlite_insert")

    assert [place.split(":")[0] for place in _calls(berlin)] == ["backend/dates.py"]
    assert {place.split(":")[0] for place in _calls(dialect_insert)} == {"backend/extensions.py"}
