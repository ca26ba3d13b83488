"""Measure the code's structure: import cycles, imports that point up the layers, the largest modules.

    python scripts/structure.py [--top N]

``tests/test_architecture.py`` holds the code to these layers; this script prints what it sees.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("backend", "connectors")

# Top to bottom; a module may import its own layer and those below. Patterns are module names or fnmatch
# patterns; a package of ``backend`` named nowhere is an area.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "app and CLI",
        (
            "backend",
            "backend.app",
            "backend.cli",
            "backend.demo",
            "backend.doctor",
            "backend.gunicorn_conf",
            "backend.jobs",
            "backend.models",
            "backend.server",
            "backend.*.blueprint",
            "backend.*.cli",
            "backend.*.views",
        ),
    ),
    ("shop protocols", ("backend.shopware", "backend.woocommerce")),
    ("areas", ()),
    ("tenant foundation", ("backend.merchants", "backend.auth", "backend.audit")),
    (
        "foundation",
        (
            "backend.boundary",
            "backend.collector",
            "backend.config",
            "backend.crypto",
            "backend.dates",
            "backend.errors",
            "backend.extensions",
            "backend.health",
            "backend.logs",
            "backend.openapi",
            "backend.outbox",
            "backend.schemas",
            "backend.sqlite_writers",
            "backend.types",
            "backend.untrusted",
            "backend.worker",
            "connectors",
        ),
    ),
)

# Upward imports tolerated for now, each with what removing it takes (none today). The test fails on any other,
# and when one of these is gone (strike it then, so it cannot come back).
KNOWN_UPWARD_IMPORTS: dict[tuple[str, str], str] = {}

# Circles tolerated for now, each to be broken (none today); the test fails on any other and when one is gone.
KNOWN_CYCLES: tuple[tuple[str, ...], ...] = ()

# Circles between packages of ``backend`` tolerated for now (none today), held like ``KNOWN_CYCLES``: modules may
# import each other without a circle while their areas still do, and then neither area stands without the other.
KNOWN_PACKAGE_CYCLES: tuple[tuple[str, ...], ...] = ()


def _matches(module: str, pattern: str) -> bool:
    if "*" in pattern:
        return fnmatch.fnmatchcase(module, pattern)
    # "backend" stands for the package's own __init__ only; any other name for its whole subtree.
    return module == pattern or (pattern != "backend" and module.startswith(pattern + "."))


def layer_of(module: str) -> str:
    """Return the name of the layer a module belongs to (entry-point patterns win over packages)."""
    found = [
        ("*" in pattern, len(pattern), name)
        for name, patterns in LAYERS
        for pattern in patterns
        if _matches(module, pattern)
    ]
    return max(found)[2] if found else "areas"


def _rank(module: str) -> int:
    names = [name for name, _ in LAYERS]
    return len(names) - names.index(layer_of(module))


def import_graph() -> grimp.ImportGraph:
    """Return the import graph of the project's own packages."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return grimp.build_graph(*PACKAGES, include_external_packages=False, cache_dir=None)


def upward_imports(graph: grimp.ImportGraph) -> list[tuple[str, str]]:
    """Return every (importer, imported) where the imported module sits in a higher layer."""
    return sorted(
        (module, imported)
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if _rank(imported) > _rank(module)
    )


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Return the groups of modules that import each other in a circle (strongly connected, Tarjan)."""
    edges = {
        module: sorted(graph.find_modules_directly_imported_by(module) - {module}) for module in graph.modules
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    cycles.append(sorted(group))
    return sorted(cycles)


def package_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Return circles between packages of ``backend`` (entry points left out: they may import any area)."""
    packages = grimp.ImportGraph()
    for module in graph.modules:
        if layer_of(module) == "app and CLI":
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            if layer_of(imported) != "app and CLI" and _package(module) != _package(imported):
                packages.add_import(importer=_package(module), imported=_package(imported))
    return import_cycles(packages)


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def largest_modules(top: int) -> list[tuple[int, str]]:
    """Return the ``top`` longest Python modules of the project, by lines."""
    sizes = [
        (len(path.read_text(encoding="utf-8").splitlines()), path.relative_to(ROOT).as_posix())
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    ]
    return sorted(sizes, reverse=True)[:top]


def main() -> None:
    """Print the measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=10, help="how many of the largest modules to list")
    top = parser.parse_args().top
    graph = import_graph()
    cycles = import_cycles(graph)
    upward = upward_imports(graph)
    between_packages = package_cycles(graph)
    print(f"modules: {len(graph.modules)}")
    print(f"module import cycles: {len(cycles)}")
    for cycle in cycles:
        print("  " + " <-> ".join(cycle))
    print(f"package import cycles (entry points left out): {len(between_packages)}")
    for cycle in between_packages:
        print("  " + ", ".join(cycle))
    print(f"upward imports: {len(upward)}")
    for importer, imported in upward:
        print(f"  {importer} ({layer_of(importer)}) -> {imported} ({layer_of(imported)})")
    print(f"largest modules (lines, top {top}):")
    for lines, path in largest_modules(top):
        print(f"  {lines:>5}  {path}")


if __name__ == "__main__":
    main()
