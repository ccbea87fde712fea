"""The package layout holds: no import circles, small modules, leaf and lab boundaries.

Reads the source with ``ast`` (nothing is imported), so a circle hidden in a function-level
import counts too, and so does one through ``if TYPE_CHECKING:`` (a type that must be
imported both ways is a dependency both ways, even if Python never runs it). Importing
``a.b.c`` also runs ``a/__init__`` and ``a/b/__init__``, so those are edges too.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("runtime", "convert", "facemask")
MAX_LINES = 450
INFERENCE = ("runtime.engines", "runtime.photo", "runtime.video", "runtime.energy")


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Dotted names a module imports anywhere: module level, functions, TYPE_CHECKING blocks."""
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            names.add(source)
            names.update(f"{source}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def _graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports, parent packages included."""
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        targets: set[str] = set()
        for dotted in _imported_names(ast.parse(path.read_text()), name, path.name == "__init__.py"):
            while dotted and dotted not in MODULES:      # 'pkg.mod.Class' -> 'pkg.mod'
                dotted = dotted.rpartition(".")[0]
            while dotted:                                # importing a.b.c runs a and a.b first
                targets.add(dotted)
                dotted = dotted.rpartition(".")[0]
        targets.discard(name)
        targets -= {p for p in targets if name.startswith(p + ".")}   # a module's own parents are running
        graph[name] = targets
    return graph


def _folder(name: str) -> str:
    return name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]


def _folder_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Folder -> the folders it imports from. A package's ``__init__`` re-exporting its own
    subfolders (the public API) is not a loop; anything else between two folders is."""
    folders: dict[str, set[str]] = {_folder(m): set() for m in graph}
    for module, targets in graph.items():
        here = _folder(module)
        for target in targets:
            there = _folder(target)
            facade = MODULES[module].name == "__init__.py" and there.startswith(module + ".")
            if there != here and not facade:
                folders[here].add(there)
    return folders


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return found


def test_the_check_sees_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import x\n"
                     "def f():\n    from .y import z\n")
    assert _imported_names(tree, "p.m", False) == {"typing", "typing.TYPE_CHECKING", "x", "p.y", "p.y.z"}


def test_no_import_circles() -> None:
    graph = _graph()
    assert "runtime.video.frames" in graph["runtime.video.live"]     # the check does see our imports
    assert _cycles(graph) == []


def test_no_folder_loops() -> None:
    assert _cycles(_folder_graph(_graph())) == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_is_small(name: str) -> None:
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{MODULES[name].relative_to(ROOT)} has {lines} lines; split it by job"


def test_facemask_is_a_leaf() -> None:
    graph = _graph()
    outside = {m: sorted(t for t in graph[m] if not t.startswith("facemask")) for m in graph if m.startswith("facemask")}
    assert {m: t for m, t in outside.items() if t} == {}


def test_inference_never_imports_the_lab() -> None:
    graph = _graph()
    leaks = {m: sorted(t for t in graph[m] if t.startswith("runtime.lab"))
             for m in graph if m.startswith(INFERENCE)}
    assert {m: t for m, t in leaks.items() if t} == {}
