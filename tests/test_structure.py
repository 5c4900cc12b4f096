"""The house's structure: imports run one way, down the layers, and never in a circle.

Every import statement of every module counts, the ones inside functions too (they are how nnlab keeps
`--help` light, but they are still arrows). Layers, from the bottom:

    0  nnlab.version, nnlab.registry   import nothing of nnlab (the registry names modules as strings)
    1  nnlab.core.errors
    2  nnlab.nn.*                      the formulas: numpy and torch only
    3  nnlab.core.*                    the kernel
    4  nnlab.data.*                    MNIST: loading, checksums, download
    5  nnlab.commands.*                one package per command; no command imports another
    6  nnlab.report, .sweep, .doctor, .tools
    7  nnlab (the package face), nnlab.api, nnlab.cli, nnlab.__main__
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "nnlab"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(name: str) -> int:
    if name in ("nnlab.version", "nnlab.registry"):
        return 0
    if name == "nnlab.core.errors":
        return 1
    for prefix, level in (("nnlab.nn", 2), ("nnlab.core", 3), ("nnlab.data", 4), ("nnlab.commands", 5),
                          ("nnlab.report", 6), ("nnlab.exercise", 6), ("nnlab.serve", 6), ("nnlab.sweep", 6),
                          ("nnlab.doctor", 6), ("nnlab.tools", 6)):
        if name == prefix or name.startswith(prefix + "."):
            return level
    return 7


def imports(name: str) -> set[str]:
    """The nnlab modules `name` imports (a `from pkg import sub` of a submodule counts as the submodule)."""
    found: set[str] = set()
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x (level 1 is this package)
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: imports(name) for name in MODULES}


def command_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "commands" else None


def test_no_arrow_runs_back_up():
    up = sorted(f"{a} -> {b}" for a, targets in GRAPH.items() for b in targets if layer(b) > layer(a))
    assert up == []


def test_no_command_imports_another():
    across = sorted(f"{a} -> {b}" for a, targets in GRAPH.items() for b in targets
                    if command_of(a) and command_of(b) and command_of(a) != command_of(b))
    assert across == []


def test_no_import_circle():
    """Tarjan's strongly connected components: every one must be a single module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
            if w not in index:
                visit(w)
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
                circles.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert circles == []


def test_the_graph_is_read_at_all():
    """The checks above would pass on an empty graph: the runner imports the spec, the CLI the registry."""
    assert "nnlab.core.command" in GRAPH["nnlab.core.runner"] and "nnlab.registry" in GRAPH["nnlab.cli"]
    assert layer("nnlab.commands.init.plots") == 5 and layer("nnlab.nn.layers") == 2
