"""The layout the README promises, read from the source itself: GitPython and the opening
of a repository only inside ``duologue.git``, and no import cycle between modules (an
import inside a function counts too: it is a dependency all the same)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import duologue

PACKAGE = Path(duologue.__file__).parent
GIT_LIBRARIES = {"git", "gitdb"}


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ("duologue", *path.relative_to(PACKAGE).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text("utf-8"), str(path))
    return found


def _imported(tree: ast.Module) -> Iterator[str]:
    """Every module name an import statement in ``tree`` names, and, for ``from a import
    b``, ``a.b`` too (b may be a module)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _inside_git_boundary(name: str) -> bool:
    return name == "duologue.git" or name.startswith("duologue.git.")


def test_only_the_git_package_imports_gitpython() -> None:
    offenders = {
        name
        for name, tree in _modules().items()
        if not _inside_git_boundary(name)
        and any(imported.split(".")[0] in GIT_LIBRARIES for imported in _imported(tree))
    }
    assert not offenders


def test_only_the_git_package_opens_a_repository() -> None:
    offenders = {
        name
        for name, tree in _modules().items()
        if not _inside_git_boundary(name)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in {"Repository", "Repo"}
    }
    assert not offenders


def test_no_module_imports_itself_through_others() -> None:
    modules = _modules()
    graph = {
        name: {other for other in _imported(tree) if other in modules and other != name}
        for name, tree in modules.items()
    }
    cycles = []
    state: dict[str, str] = {}  # "open" while on the path, "done" after

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        for other in sorted(graph[name]):
            if state.get(other) == "open":
                cycles.append([*path[path.index(other) :], other])
            elif other not in state:
                visit(other, [*path, other])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles
