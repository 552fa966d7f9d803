"""A submission's Python source: a .py file, a notebook's code cells, or the file in a student's folder.

Also the *definitions-only* version of a file: its imports, functions, classes and simple constant
assignments, without the top-level code that trains, plots or loads data.  The check falls back to it
when importing the whole file fails (a data file that is not there, a module that is not installed,
a training loop that runs past the time limit), so that the functions can still be checked.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path

SOURCE_SUFFIXES = (".py", ".ipynb")
# Names the check looks for to pick a folder's main file.
_MAIN_FUNCTIONS = ("forward_prop", "back_prop", "fCE", "gradCE", "forward", "backward", "backprop")
# numpy calls that read files: an assignment calling one is top-level work, not a definition.
_LOADERS = {"load", "loadtxt", "genfromtxt", "fromfile", "open", "read_csv", "urlretrieve", "load_data",
            "read", "memmap"}
_SAFE_CALL_ROOTS = {"np", "numpy", "math", "int", "float", "list", "range", "len", "tuple", "dict", "set",
                    "str", "sorted", "sum", "min", "max", "abs", "round", "zip", "enumerate", "bool"}


class SubmissionError(ValueError):
    """The submission cannot be read as Python (not found, not a notebook, no Python file in a folder)."""


@dataclass
class Source:
    """A submission as Python text.

    name:  what the student calls it (hw3.py, hw3.ipynb, alice/hw3.py)
    text:  Python source (a notebook's code cells joined, magics and shell lines left out)
    origin: for a notebook, line number in text -> (cell number, line in cell); empty for a .py file
    """

    name: str
    text: str
    origin: dict = field(default_factory=dict)

    def where(self, line):
        """'hw3.py:12' or 'hw3.ipynb cell 4, line 2' for a line of text."""
        if line in self.origin:
            cell, inner = self.origin[line]
            return f"{self.name} cell {cell}, line {inner}"
        return f"{self.name}:{line}"


def find_main_file(folder):
    """The Python file or notebook in a student's folder that holds the functions to check."""
    folder = Path(folder)
    candidates = sorted(p for p in folder.rglob("*") if p.suffix in SOURCE_SUFFIXES and p.is_file()
                        and not any(part.startswith(".") or part == "__pycache__" for part in p.parts))
    if not candidates:
        raise SubmissionError(f"{folder}: no .py or .ipynb file in it")
    scored = []
    for p in candidates:
        try:
            text = read_source(p).text
        except SubmissionError:
            continue
        hits = sum(f"def {name}(" in text for name in _MAIN_FUNCTIONS)
        scored.append((-hits, len(p.parts), p.suffix != ".py", str(p), p))
    if not scored:
        raise SubmissionError(f"{folder}: none of its .py or .ipynb files can be read")
    return min(scored)[-1]


def read_source(path):
    """The Source of a .py file or a .ipynb notebook (code cells only, without IPython magics)."""
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"{path}: no such file")
    if path.suffix == ".ipynb":
        return notebook_source(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SubmissionError(f"{path.name}: not UTF-8 text") from None
    return Source(path.name, text)


def notebook_source(path):
    """A notebook's code cells as one Python text; %magics, !shell lines and non-Python cells left out."""
    try:
        import nbformat
    except ImportError:
        raise SubmissionError("reading a notebook needs nbformat: pip install nbformat") from None
    try:
        notebook = nbformat.read(str(path), as_version=4)
    except (OSError, ValueError, json.JSONDecodeError, nbformat.reader.NotJSONError) as exc:
        raise SubmissionError(f"{Path(path).name}: not a notebook nbformat can read ({exc})") from None
    lines, origin = [], {}
    for number, cell in enumerate((c for c in notebook.cells if c.cell_type == "code"), start=1):
        cell_lines = cell.source.splitlines()
        if cell_lines and cell_lines[0].startswith("%%") and not cell_lines[0].startswith(
                ("%%time", "%%timeit", "%%capture")):
            continue                      # %%bash, %%writefile, …: the cell is not Python
        lines.append(f"# --- cell {number}")
        for inner, line in enumerate(cell_lines, start=1):
            stripped = line.lstrip()
            if stripped.startswith(("%", "!")) or "get_ipython()" in stripped:
                line = line[: len(line) - len(stripped)] + "pass  # left out: " + stripped[:40]
            lines.append(line)
            origin[len(lines)] = (number, inner)
    return Source(Path(path).name, "\n".join(lines) + "\n", origin)


def definitions_only(text, filename):
    """Compiled code of text keeping imports (a missing module bound to a stand-in that says so when
    used), functions, classes and constant assignments; everything else at top level left out."""
    tree = ast.parse(text, filename=filename)
    kept = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            kept.append(_guarded_import(node))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            kept.append(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and _is_definition(node):
            kept.append(_guarded(node))
    tree.body = kept
    ast.fix_missing_locations(tree)
    return compile(tree, filename, "exec")


def left_out_lines(text):
    """The line numbers of top-level statements definitions_only leaves out (for the report)."""
    tree = ast.parse(text)
    out = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and _is_definition(node):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue                      # a docstring
        out.append(node.lineno)
    return out


def _is_definition(node):
    """An assignment whose value calls nothing but numpy/math/builtins, and no loader."""
    for sub in ast.walk(node.value if node.value is not None else ast.Constant(None)):
        if isinstance(sub, ast.Call):
            root, last = _call_names(sub.func)
            if root not in _SAFE_CALL_ROOTS or last in _LOADERS:
                return False
    return True


def _call_names(func):
    """('np', 'load') for np.load(…), ('range', 'range') for range(…), (None, None) otherwise."""
    last = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    while isinstance(func, ast.Attribute):
        func = func.value
    return getattr(func, "id", None), last


def _guarded(node):
    """try: <assignment> except Exception: pass -- a constant that fails (too large, a name left out) is skipped."""
    handler = ast.ExceptHandler(type=ast.Name("Exception", ast.Load()), name=None, body=[ast.Pass()])
    return ast.copy_location(ast.Try(body=[node], handlers=[handler], orelse=[], finalbody=[]), node)


def _guarded_import(node):
    """try: <import> except ImportError: <each name> = __netprop_missing__('module')."""
    module = node.module if isinstance(node, ast.ImportFrom) else None
    fallback = []
    for alias in node.names:
        bound = alias.asname or (alias.name if module is not None else alias.name.split(".")[0])
        if bound == "*":
            continue
        full = f"{module}.{alias.name}" if module else alias.name
        fallback.append(ast.Assign(targets=[ast.Name(bound, ast.Store())],
                                   value=ast.Call(ast.Name("__netprop_missing__", ast.Load()),
                                                  [ast.Constant(full)], [])))
    handler = ast.ExceptHandler(type=ast.Name("ImportError", ast.Load()), name=None,
                                body=fallback or [ast.Pass()])
    guarded = ast.Try(body=[node], handlers=[handler], orelse=[], finalbody=[])
    return ast.copy_location(guarded, node)


class MissingModule:
    """Stands in for a module the file imports but this machine lacks; using it raises, naming it."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attr):
        raise ModuleNotFoundError(f"{self._name} is not installed here (pip install {self._name.split('.')[0]}); "
                                  f"your functions use it")

    def __call__(self, *args, **kwargs):
        return self.__getattr__("__call__")
