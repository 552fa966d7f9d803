"""Small rooms: no function in src/netprop over 80 lines, and a docstring on every one over 20.

ruff's C901 (max-complexity 15 in pyproject.toml) keeps the branching down; this keeps the length
down and the long ones explained.  Every offender is listed at once, with its file and line.
"""

import ast
import functools
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "src" / "netprop"
MAX_LINES = 80
DOCSTRING_FROM = 21          # lines: a function longer than 20 lines says what it does


@functools.lru_cache(maxsize=None)      # the sources parsed once for the three tests, which only read the list
def functions():
    """(path relative to src/netprop, line, qualified name, length in lines, has a docstring) of every
    function and method, nested ones included."""
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

        def visit(node, prefix, path=path):
            for child in ast.iter_child_nodes(node):
                name = prefix
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    name = f"{prefix}{child.name}."
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    length = child.end_lineno - child.lineno + 1
                    found.append((str(path.relative_to(SOURCE)), child.lineno, name[:-1], length,
                                  ast.get_docstring(child) is not None))
                visit(child, name, path)

        visit(tree, "")
    return found


def test_the_walk_sees_every_function():
    """The walk is not vacuous: it finds the lecture's forward and backward, methods and nested functions."""
    names = {(path, name) for path, _, name, _, _ in functions()}
    assert ("core/network.py", "Network.forward") in names
    assert ("core/network.py", "Network.backward") in names
    assert any("." in name and name.split(".")[-2].islower() for _, name in names)   # a nested function


def test_no_function_over_80_lines():
    long = [f"{path}:{line} {name} ({length} lines)" for path, line, name, length, _ in functions()
            if length > MAX_LINES]
    assert not long, f"{len(long)} function(s) over {MAX_LINES} lines:\n" + "\n".join(long)


def test_every_function_over_20_lines_has_a_docstring():
    bare = [f"{path}:{line} {name} ({length} lines)" for path, line, name, length, doc in functions()
            if length >= DOCSTRING_FROM and not doc]
    assert not bare, f"{len(bare)} function(s) over 20 lines without a docstring:\n" + "\n".join(bare)
