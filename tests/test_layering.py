"""The package's import graph has no cycle and only goes down the layers, counting imports inside functions too."""

import ast
import functools
from pathlib import Path

import netprop

PACKAGE = Path(netprop.__file__).parent


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path):
    """The netprop modules that path imports, anywhere in the file (module level or in a function)."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("netprop")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("netprop"):
                target = node.module
            else:
                continue
            # `from . import fast` names a module; `from .fast import x` names one too
            for a in node.names:
                candidate = f"{target}.{a.name}"
                found.add(candidate if candidate in MODULES else target)
    return {m for m in found if m in MODULES and m != here}


MODULES = {module_name(p) for p in PACKAGE.rglob("*.py")}


@functools.lru_cache(maxsize=None)      # the sources parsed once for the tests below, which only read it
def import_graph():
    return {module_name(p): imports_of(p) for p in PACKAGE.rglob("*.py")}


def find_cycle(graph):
    """One cycle as a list of modules, or None (depth-first search with colours)."""
    colour, stack = {}, []

    def visit(m):
        colour[m] = "grey"
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if colour.get(n) == "grey":
                return stack[stack.index(n):] + [n]
            if n not in colour:
                cycle = visit(n)
                if cycle:
                    return cycle
        colour[m] = "black"
        stack.pop()
        return None

    for m in sorted(graph):
        if m not in colour:
            cycle = visit(m)
            if cycle:
                return cycle
    return None


def test_the_finder_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_cycle_in_netprop():
    graph = import_graph()
    assert "netprop.core.network" in graph and "netprop.core.validation" in graph["netprop.core.network"]
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_network_is_the_lecture_alone():
    """network.py imports only NumPy, the activations, the losses, the initial weights and the input checks."""
    assert import_graph()["netprop.core.network"] == {
        "netprop.core.validation", "netprop.core.activations", "netprop.core.losses", "netprop.core.initialisation"}


# The layers, bottom to top (DESIGN.md): a folder may import its own modules and any folder of a
# lower layer, never one above.  The package root (netprop/__init__, __main__, _version) sits on
# top as the public face, except _version, which anyone may read.
LAYERS = [("core",), ("data",), ("storage",), ("training",), ("teaching",), ("explain", "sklearn"), ("cli",)]


def layer_of(module):
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in ("__main__",):
        return len(LAYERS)
    if parts[1] == "_version":
        return -1
    return next(rank for rank, folders in enumerate(LAYERS) if parts[1] in folders)


def upward_imports(graph):
    """(importer, imported) pairs where a module imports one of a higher layer or a sibling folder."""
    bad = []
    for m, targets in graph.items():
        for t in targets:
            if layer_of(t) > layer_of(m) or (layer_of(t) == layer_of(m) and t.split(".")[1] != m.split(".")[1]
                                               and layer_of(m) < len(LAYERS)):
                bad.append((m, t))
    return sorted(bad)


def test_the_layer_check_finds_a_planted_upward_import():
    graph = {"netprop.core.network": {"netprop.training.step"}, "netprop.training.step": {"netprop.core.network"},
             "netprop.explain.api": {"netprop.sklearn.estimators"}}
    assert upward_imports(graph) == [("netprop.core.network", "netprop.training.step"),
                                     ("netprop.explain.api", "netprop.sklearn.estimators")]


def test_every_module_lives_in_a_layer_folder():
    top = {p.name for p in PACKAGE.glob("*.py")}
    assert top == {"__init__.py", "__main__.py", "_version.py"}, sorted(top)


def test_imports_only_go_down_the_layers():
    assert upward_imports(import_graph()) == []
