"""Layers import one way: a module imports only from its own layer and the layers below it, and
no modules import each other in a circle.

The order is declared here, lowest first. Every import counts: at the top of a module, inside a
function, or for type checking only."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "src"

#: The layers, lowest first, each with the modules and packages it holds. A module belongs to the
#: layer of its longest listed prefix.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "core",
        (
            "memstrata.types",
            "memstrata.errors",
            "memstrata.settings",
            "memstrata.text",
            "memstrata.parts",
            "memstrata.terms",
            "memstrata.people",
            "memstrata.timeexpr",
            "memstrata.where",
            "memstrata.ports",
            "memstrata.api",
            "memstrata.options",
            "memstrata.results",
            "memstrata.version",
        ),
    ),
    ("models", ("memstrata.embedders", "memstrata.llms", "memstrata.prompts")),
    ("stores", ("memstrata.stores",)),
    ("lifecycle", ("memstrata.lifecycle",)),
    ("read", ("memstrata.read",)),
    ("write", ("memstrata.write",)),
    ("facade", ("memstrata.memory",)),
    ("built on the facade", ("memstrata.working", "memstrata.graph")),
    ("faces", ("memstrata.cli", "memstrata.server", "memstrata.remote")),
    (
        "tools",
        (
            "memstrata.bench",
            "memstrata.evals",
            "memstrata.reembed",
            "memstrata.relearn",
            "memstrata.integrations",
            "memstrata.testing",
            "memstrata.stores.cli",
            "memstrata.stores.migrate",
        ),
    ),
    ("public API", ("memstrata",)),
]


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / "memstrata").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def layer_of(module: str) -> int:
    best, index = "", -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best):
                best, index = prefix, i
    assert index >= 0, f"{module} is in no layer: add it to LAYERS"
    return index


def imports(module: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    """The memstrata modules ``module`` imports (a name imported from a package counts as its
    submodule when there is one)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.split(".")[0] == "memstrata")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            if base.split(".")[0] != "memstrata":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield sub if sub in known else base


def edges() -> dict[str, set[str]]:
    known = modules()
    return {
        module: {target for target in imports(module, path, known) if target != module}
        for module, path in known.items()
    }


def test_every_module_is_in_a_layer() -> None:
    for module in modules():
        layer_of(module)


def test_no_import_runs_up_a_layer() -> None:
    upward = [
        f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for module, targets in edges().items()
        for target in sorted(targets)
        if layer_of(target) > layer_of(module)
    ]
    assert upward == []


def test_no_modules_import_each_other_in_a_circle() -> None:
    graph = edges()
    circles = [c for c in strongly_connected(graph) if len(c) > 1]
    assert circles == []


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of ``graph``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            out.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out
