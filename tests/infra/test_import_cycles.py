"""No import circle among the project's own modules: infra/, caseline/ and the shared package.

The graph is read from the source files with `ast` (nothing is imported, so it takes milliseconds): an edge for
every `import` and `from ... import` anywhere in a module, inside functions too (a deferred import still ties the
two modules together), except under `if TYPE_CHECKING:`, which never runs. `from package import name` points at
the submodule `name` when there is one, else at the package.
"""

import ast
from pathlib import Path

from caseline.paths import COMMON_DIR, ROOT

ROOTS = {"infra": ROOT / "infra", "caseline": ROOT / "caseline", "caseline_common": COMMON_DIR / "caseline_common"}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package, directory in ROOTS.items():
        for path in directory.rglob("*.py"):
            relative = path.relative_to(directory).with_suffix("")
            parts = [package, *relative.parts]
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)
        for inner in ast.iter_child_nodes(node):
            visit(inner)

    visit(tree)
    return names


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        imported = _imported(ast.parse(path.read_text(), str(path)), module, path.name == "__init__.py")
        graph[module] = {name for name in imported if name in modules and name != module}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as the list of modules around it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for imported in sorted(graph.get(module, ())):
            if state.get(imported) == 1:
                return [*path[path.index(imported) :], imported]
            if imported not in state and (cycle := visit(imported)) is not None:
                return cycle
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)) is not None:
            return cycle
    return None


def test_no_import_circle_in_infra_caseline_or_the_shared_package() -> None:
    graph = import_graph()
    assert {"infra.functions", "infra.sizing", "caseline.local.stack", "caseline_common.resources"} <= set(graph)
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_deferred_import_and_ignores_type_checking_ones() -> None:
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from p import b\ndef f():\n    from p import c\n"
    assert _imported(ast.parse(source), "p.a", False) == {"typing", "typing.TYPE_CHECKING", "p", "p.c"}
    assert find_cycle({"p.a": {"p.c"}, "p.c": {"p.d"}, "p.d": {"p.a"}}) == ["p.a", "p.c", "p.d", "p.a"]
    assert find_cycle({"p.a": {"p.c"}, "p.c": set()}) is None
