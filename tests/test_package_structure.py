"""The package's shape, checked from its source: no import cycle, modules of a readable size,
no test hook in production code, every public function documented with its parameters."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "qsense"

#: Subpackages and modules whose public functions and classes are checked.
PUBLIC = (
    "qsense.signal",
    "qsense.noise",
    "qsense.quantities",
    "qsense.seeding",
    "qsense.stability",
    "qsense.spectral",
    "qsense.denoise",
    "qsense.fusion",
    "qsense.io",
    "qsense.plot",
    "qsense.report",
    "qsense.sensors",
    "qsense.environment",
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def import_graph() -> dict[str, set[str]]:
    """Module -> the qsense modules it imports anywhere in its source (an import deferred
    into a function still ties the two modules together: it only hides the cycle), except
    under ``if TYPE_CHECKING``. An import of ``a.b.c`` also names ``a.b``, which runs first."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        deps: set[str] = set()

        def visit(body, deps=deps, name=name, path=path):
            for node in body:
                if isinstance(node, ast.If):
                    test = ast.unparse(node.test)
                    if "TYPE_CHECKING" not in test:
                        visit(node.body)
                    visit(node.orelse)
                elif isinstance(node, ast.Import):
                    deps.update(a.name for a in node.names)
                elif isinstance(node, ast.ImportFrom):
                    target = _resolve(name, path.name == "__init__.py", node)
                    deps.add(target)
                    deps.update(f"{target}.{a.name}" for a in node.names)
                else:
                    for field in ("body", "orelse", "finalbody", "handlers"):
                        visit(getattr(node, field, []))

        visit(tree.body)
        resolved = set()
        for dep in deps:
            parts = dep.split(".")
            for i in range(1, len(parts) + 1):
                candidate = ".".join(parts[:i])
                if candidate in modules and candidate != name:
                    resolved.add(candidate)
        # a package's __init__ runs before its submodules: that edge is not a cycle
        graph[name] = {d for d in resolved if not name.startswith(d + ".")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the directed graph as a list of nodes, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = dfs(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = dfs(node)
            if found:
                return found
    return None


def test_cycle_finder_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_in_qsense():
    graph = import_graph()
    assert "qsense.stability" in graph and graph["qsense.noise"], "the graph was not built"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_no_module_over_600_lines():
    sizes = {
        str(p.relative_to(PACKAGE.parent)): len(p.read_text().splitlines())
        for p in PACKAGE.rglob("*.py")
    }
    assert len(sizes) > 30, "the package was not found"
    long = {path: n for path, n in sizes.items() if n > 600}
    assert not long, f"modules over 600 lines: {long}"


def _public_callables():
    for module_name in PUBLIC:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                yield f"{module_name}.{name}", obj


@pytest.mark.parametrize(
    # ids by name only: an object's repr holds its address, which differs between the
    # processes of a parallel (pytest-xdist) run, and they must collect the same ids
    ("name", "obj"),
    [pytest.param(name, obj, id=name) for name, obj in _public_callables()],
)
def test_public_docstrings_document_every_parameter(name, obj):
    doc = inspect.getdoc(obj) or ""
    assert doc, f"{name} has no docstring"
    assert "{params}" not in doc and "{" + "returns}" not in doc, f"{name}: template left in"
    if inspect.isclass(obj):
        return
    params = [
        p.name
        for p in inspect.signature(obj).parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name not in ("self", "cls")
    ]
    # numpydoc parameter lines: "name : type", "a, b : type", "*args", or a bare "name"
    documented = set()
    for line in doc.splitlines():
        head, sep, _ = line.partition(" : ")
        if sep or line.strip() in params:
            documented.update(n.strip().lstrip("*") for n in (head if sep else line).split(","))
    missing = [p for p in params if p not in documented]
    assert not missing, f"{name}: parameters not documented: {missing}"
