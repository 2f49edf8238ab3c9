"""The engine's import graph: no circle, and the folders' arrows one way.

Read from the source (ast, every import statement at any depth, also those inside functions), so a
lazy import that hides a circle from Python does not hide it from here. The old flat paths
(grading/_moved.py's shims) are left out: nothing of the engine imports them.
"""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# the folders from the bottom up: a module may import its own folder, the top level and folders below its own
LAYERS = ["", "step", "batch", "reports", "pages", "hosting"]


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_shim(tree: ast.Module) -> bool:
    return any(isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "MOVED_TO" for t in node.targets)
               for node in tree.body)


def _targets(node: ast.AST, here: str, is_package: bool, modules: set[str]) -> set[str]:
    """The modules of the package an import statement names (``from a import b``: a.b if b is a module)."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name.split(".")[0] == "grading"}
    if not isinstance(node, ast.ImportFrom):
        return set()
    base = node.module or ""
    if node.level:  # relative: from the module's package, up level - 1 more
        package = here.split(".") if is_package else here.split(".")[:-1]
        package = package[:len(package) - (node.level - 1)]
        base = ".".join(package + ([base] if base else []))
    if base.split(".")[0] != "grading":
        return set()
    return {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}


def import_graph(root: Path) -> dict[str, set[str]]:
    """{module: the grading modules it imports}, shims left out, for the package under ``root``."""
    paths = {_module_name(p, root): p for p in sorted((root / "grading").rglob("*.py"))}
    trees = {name: ast.parse(p.read_text(encoding="utf-8")) for name, p in paths.items()}
    trees = {name: tree for name, tree in trees.items() if not _is_shim(tree)}
    modules = set(trees)
    return {name: {t for node in ast.walk(tree)
                   for t in _targets(node, name, paths[name].name == "__init__.py", modules) if t != name}
            for name, tree in trees.items()}


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS) else 0


def circle(graph: dict[str, set[str]]) -> list[str]:
    """One circle of the graph (its modules in order, the first again at the end), or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return []


def upward(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Imports of a folder above the importer's own (e.g. step importing reports)."""
    return sorted((a, b) for a, targets in graph.items() for b in targets if layer(b) > layer(a))


def test_the_engine_has_no_circle_and_its_folders_import_one_way():
    graph = import_graph(REPO)
    # every folder is there and read (the graph holds what we think it holds)
    assert {"grading.step.execute", "grading.reports.report", "grading.reports.page", "grading.hosting.lti",
            "grading.batch.runner", "grading.pages.feedback", "grading.settings"} <= set(graph)
    assert "grading.reports.page" in graph["grading.reports.report"]
    assert not any(name.split(".")[-1] == "execute" and name != "grading.step.execute" for name in graph)  # no shim
    assert circle(graph) == [], circle(graph)
    assert upward(graph) == []
    # the grading step, what nbgrader autograde runs, imports nothing of the other folders
    step = {t for a, targets in graph.items() if a.startswith("grading.step.") for t in targets}
    assert all(layer(t) <= LAYERS.index("step") for t in step), sorted(step)


def test_the_checks_find_a_circle_a_lazy_import_and_an_arrow_upward(tmp_path):
    """A copy of the package with one import added inside a function (as the report's circle was):
    the graph sees it, and both checks fail on it."""
    for path in (REPO / "grading").rglob("*.py"):
        copy = tmp_path / path.relative_to(REPO)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    page = tmp_path / "grading" / "reports" / "page.py"
    page.write_text(page.read_text() + "\n\ndef _late() -> None:\n    from grading.reports import report\n")
    sandbox = tmp_path / "grading" / "step" / "sandbox.py"
    sandbox.write_text(sandbox.read_text() + "\n\ndef _up() -> None:\n    from ..pages.sanitize import clean_html\n")
    graph = import_graph(tmp_path)
    found = circle(graph)
    assert found[0] == found[-1] and {"grading.reports.page", "grading.reports.report"} <= set(found)
    assert ("grading.step.sandbox", "grading.pages.sanitize") in upward(graph)
