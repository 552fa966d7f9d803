"""The student check: a student's own forward and gradient functions against netprop, whatever
conventions they use, with the mistakes named; one file or a whole class.

    check("hw3.py")                     runs hw3.py in a limited child process; returns a CheckReport
    check(module, isolated=False)       an already imported module, in this process
    grade_folder("submissions/", "grades/", jobs=4)

Modules: source (a .py or a notebook as Python, definitions only), student (its functions, sizes,
calls), apart (functions taking each W and b apart), layouts (rows/columns, vector layouts), outputs
(reading what the functions return), cases, reference (netprop's numbers and one-mistake variants),
mistakes (the words and the lines), naming (which mistake reproduces a quantity), engine (detect,
compare), report, loading (import with fallback), child and runner (the limited
process), classroom (a folder of submissions).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from .engine import Options, check_module
from .report import CaseResult, CheckReport, Row
from .runner import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, check_isolated
from .student import CheckError


def check(module, forward=None, backward=None, l2=None, activation="relu", sizes=None, seed=0, tolerance=1e-6,
          images=True, data_dir=None, layout=None, order=None, isolated=True, timeout=DEFAULT_TIMEOUT,
          memory_mb=DEFAULT_MEMORY_MB, progress=None):
    """Compare a student's forward and gradient functions with netprop; returns a CheckReport.

    module:     a .py or .ipynb path, a student's folder, or an imported module
    forward, backward: function names when they are not found by their usual names or signatures
    l2:         the L2 strength the lecture's loss should have (default: the one the student's loss uses)
    sizes:      layer sizes [d, m, …, c] where the module does not say them
    layout, order: "rows"/"columns" and "weights-first"/"interleaved" to try only those (default: detected)
    isolated:   import and call the student's code in a child process with timeout (s) and memory_mb
    Conventions (rows/columns, label form, vector layout, hs/zs variants) are detected on each call.
    report.error holds one line (and report.exit_code is 2) when the file cannot be checked at all.
    """
    options = asdict(Options(forward, backward, list(sizes) if sizes is not None else None, l2, activation,
                             tolerance, seed=seed, images=images, data_dir=str(data_dir) if data_dir else None,
                             layout=layout, order=order))
    if isinstance(module, (str, Path)):
        if isolated:
            return check_isolated(module, options, timeout, memory_mb, progress)
        return _check_in_process(Path(module), options)
    return check_module(module, getattr(module, "__file__", None) or "<module>", None, Options(**options))


def _check_in_process(path, options):
    from .loading import import_with_fallback
    from .report import error_report
    from .source import SubmissionError, read_source

    try:
        source = read_source(path)
        module, notes = import_with_fallback(path, source)
    except (CheckError, SubmissionError) as exc:
        return error_report(path.name, str(exc))
    return check_module(module, path.name, source, Options(**options), notes)


__all__ = ["CaseResult", "CheckError", "CheckReport", "Options", "Row", "check", "check_isolated", "check_module"]
