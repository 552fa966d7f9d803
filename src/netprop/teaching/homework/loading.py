"""Importing a student's file: the whole file first (it runs, as python would), and where that fails
on something outside the functions (a missing data file or module, an error in the top-level code),
the functions it defines without its top-level code, with what went wrong said in one line."""

from __future__ import annotations

import re
import sys
import traceback
import types
import zlib
from pathlib import Path

import numpy as np

from .source import MissingModule, definitions_only, left_out_lines
from .student import CheckError


def import_file(path, source, only_definitions=False):
    """The module made from source (its code compiled as the file at path, so tracebacks name it)."""
    path = Path(path)
    name = f"_netprop_student_{path.stem.replace('-', '_')}_{zlib.crc32(str(path).encode())}"
    module = types.ModuleType(name)
    module.__file__ = str(path)
    module.__dict__["__netprop_missing__"] = MissingModule
    code = definitions_only(source.text, str(path)) if only_definitions else compile(source.text, str(path), "exec")
    sys.modules[name] = module
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)             # so the file can import its neighbours
    try:
        exec(code, module.__dict__)
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    if removed_numpy_names(source.text):
        for name, value in list(vars(module).items()):
            if value is np:
                setattr(module, name, _NumpyWithOldNames(np.__name__))
    return module


# NumPy 1.24 removed these aliases of Python's types; code written for the course's NumPy still uses them
OLD_NUMPY_NAMES = {"int": int, "float": float, "complex": complex, "object": object, "str": str, "long": int,
                   "unicode": str}
_OLD_NAME_USE = re.compile(r"\bnp\.(int|float|complex|object|str|long|unicode)\b(?!\s*\()(?![\w.])")


def removed_numpy_names(text):
    """The removed NumPy aliases (np.int, np.float, …) the student's code uses, sorted."""
    return sorted({f"np.{m}" for m in _OLD_NAME_USE.findall(text)})


class _NumpyWithOldNames(types.ModuleType):
    """numpy as the student's module sees it: every name numpy has, and the aliases it removed."""

    def __getattr__(self, name):
        if name in OLD_NUMPY_NAMES:
            return OLD_NUMPY_NAMES[name]
        return getattr(np, name)


def import_with_fallback(path, source):
    """(module, notes): the whole file imported, else its definitions only with a note saying why."""
    try:
        compile(source.text, str(path), "exec")
    except SyntaxError as exc:
        raise CheckError(f"{source.name} is not valid Python: {exc.msg} ({source.where(exc.lineno or 0)})") from None
    old_names = removed_numpy_names(source.text)
    notes = [f"your code uses {', '.join(old_names)}, which NumPy 1.24 removed; checked with each meaning the "
             f"Python type, as it did (write int, float, … or np.int64, np.float64 to run on today's NumPy)"
             ] if old_names else []
    try:
        return import_file(path, source), notes
    except (Exception, SystemExit) as exc:   # the student's top-level code: whatever it raises is reported
        problem = import_problem(exc, path, source)
    module, more = definitions_import(path, source, problem)
    return module, notes + more


def definitions_import(path, source, problem):
    """(module, notes) importing only the definitions, the note saying why and what was left out."""
    skipped = left_out_lines(source.text)
    shown = ", ".join(source.where(n).split(":")[-1] if not source.origin else source.where(n) for n in skipped[:8])
    note = (f"{problem}; checked the functions {source.name} defines without running its top-level code"
            + (f" (left out the statements at lines {shown}{', …' if len(skipped) > 8 else ''})" if skipped else ""))
    try:
        return import_file(path, source, only_definitions=True), [note]
    except (Exception, SystemExit) as exc:
        raise CheckError(f"{problem}; and its definitions alone do not import either: "
                         f"{located(exc, path, source)}") from None


def import_problem(exc, path, source):
    """One line on why importing the whole file failed, with what to do."""
    where = located(exc, path, source)
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        return (f"{source.name} imports {exc.name}, which is not installed here ({where}): pip install "
                f"{exc.name.split('.')[0]}, or remove the import if you do not use it")
    if isinstance(exc, FileNotFoundError):
        return (f"importing {source.name} opened {exc.filename}, which is not there ({where}): put the code "
                f"that loads data under if __name__ == \"__main__\":, or the file next to {source.name}")
    if isinstance(exc, SystemExit):
        return f"importing {source.name} called sys.exit ({where})"
    if isinstance(exc, MemoryError):
        return f"importing {source.name} ran out of memory ({where}; the check's limit is set with --memory)"
    return f"importing {source.name} raised {where}"


def located(exc, path, source):
    """'KeyError: 3 (hw3.py:12)': the exception and the last line of the student's file it passed through."""
    text = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == Path(path)]
    return f"{text} ({source.where(lines[-1])})" if lines else text
